//! The SDK and vetpay-money as the binary was built with them, with
//! standalone manifests: the workspace's inherited fields resolved, and the
//! path between them the only path left.

use toml::{Table, Value};

use super::NewError;

use super::sources;

const WORKSPACE: &str = include_str!("../../../Cargo.toml");
const SDK: &str = include_str!("../../../sdk/Cargo.toml");
const MONEY: &str = include_str!("../../../money/Cargo.toml");

/// Every vendored file, under `vendor/`.
pub fn files() -> Result<Vec<(String, String)>, NewError> {
    let workspace = parse("workspace Cargo.toml", WORKSPACE)?;
    let mut out = Vec::new();
    for (dir, manifest, sources) in [
        ("vetpay-sdk", SDK, sources::SDK_FILES),
        ("vetpay-money", MONEY, sources::MONEY_FILES),
    ] {
        let resolved = standalone(&workspace, &parse("crate Cargo.toml", manifest)?)?;
        out.push((format!("vendor/{dir}/Cargo.toml"), resolved));
        for (path, text) in sources {
            out.push((format!("vendor/{dir}/{path}"), (*text).to_owned()));
        }
    }
    Ok(out)
}

fn parse(what: &'static str, text: &str) -> Result<Table, NewError> {
    text.parse()
        .map_err(|e: toml::de::Error| NewError::Embedded {
            what,
            message: e.to_string(),
        })
}

fn embedded(message: impl Into<String>) -> NewError {
    NewError::Embedded {
        what: "crate manifest",
        message: message.into(),
    }
}

/// `manifest` with every `x.workspace = true` replaced by the workspace's value.
fn standalone(workspace: &Table, manifest: &Table) -> Result<String, NewError> {
    let ws = workspace
        .get("workspace")
        .and_then(Value::as_table)
        .ok_or_else(|| embedded("no [workspace]"))?;
    let empty = Table::new();
    let ws_package = ws
        .get("package")
        .and_then(Value::as_table)
        .unwrap_or(&empty);
    let ws_deps = ws
        .get("dependencies")
        .and_then(Value::as_table)
        .unwrap_or(&empty);
    let mut out = manifest.clone();
    if let Some(Value::Table(package)) = out.get_mut("package") {
        for (key, value) in package.iter_mut() {
            if inherits(value) {
                *value = ws_package
                    .get(key)
                    .cloned()
                    .ok_or_else(|| embedded(format!("the workspace has no package.{key}")))?;
            }
        }
    }
    // A package of its own: nothing of vetpay's tests comes along.
    out.remove("dev-dependencies");
    if let Some(Value::Table(deps)) = out.get_mut("dependencies") {
        for (name, value) in deps.iter_mut() {
            let mut dep = match value {
                Value::Table(t) if inherits(&Value::Table(t.clone())) => {
                    let mut own = t.clone();
                    own.remove("workspace");
                    let mut base = match ws_deps.get(name) {
                        Some(Value::String(v)) => {
                            Table::from_iter([("version".to_owned(), Value::String(v.clone()))])
                        }
                        Some(Value::Table(t)) => t.clone(),
                        _ => return Err(embedded(format!("the workspace has no {name}"))),
                    };
                    merge(&mut base, own);
                    base
                }
                _ => continue,
            };
            // The one path: the vendored sibling.
            if dep.remove("path").is_some() {
                dep.insert("path".into(), Value::String(format!("../{name}")));
            }
            *value = Value::Table(dep);
        }
    }
    let text = toml::to_string(&out).map_err(|e| embedded(e.to_string()))?;
    Ok(format!(
        "# Written by `vetpay plugin new` from vetpay's sources: the SDK until it is\n\
         # published on crates.io. Replace with `vetpay-sdk = \"0.2\"` then.\n{text}"
    ))
}

fn inherits(value: &Value) -> bool {
    value
        .as_table()
        .and_then(|t| t.get("workspace"))
        .and_then(Value::as_bool)
        == Some(true)
}

/// The member's own keys over the workspace's; `features` are added together.
fn merge(base: &mut Table, own: Table) {
    for (key, value) in own {
        match (key.as_str(), base.get_mut(&key), value) {
            ("features", Some(Value::Array(have)), Value::Array(more)) => {
                for f in more {
                    if !have.contains(&f) {
                        have.push(f);
                    }
                }
            }
            (_, _, value) => {
                base.insert(key, value);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_vendored_manifests_inherit_nothing_and_point_only_at_each_other() {
        let files = files().unwrap();
        let sdk = &files
            .iter()
            .find(|(p, _)| p == "vendor/vetpay-sdk/Cargo.toml")
            .unwrap()
            .1;
        assert!(!sdk.contains("workspace"), "{sdk}");
        let table: Table = sdk.parse().unwrap();
        assert_eq!(table["package"]["edition"].as_str(), Some("2024"));
        assert_eq!(table["package"]["rust-version"].as_str(), Some("1.95"));
        let deps = table["dependencies"].as_table().unwrap();
        assert_eq!(
            deps["vetpay-money"]["path"].as_str(),
            Some("../vetpay-money")
        );
        // The workspace's features and the member's own, together.
        let reqwest = deps["reqwest"]["features"].as_array().unwrap();
        assert!(reqwest.iter().any(|f| f.as_str() == Some("blocking")));
        assert!(reqwest.iter().any(|f| f.as_str() == Some("rustls-tls")));
        assert_eq!(deps["reqwest"]["optional"].as_bool(), Some(true));
        assert!(
            files
                .iter()
                .any(|(p, _)| p == "vendor/vetpay-sdk/src/testing/fake.rs")
        );
        assert!(
            files
                .iter()
                .any(|(p, _)| p == "vendor/vetpay-money/src/limits.rs")
        );
        assert!(
            !files.iter().any(|(p, _)| p.contains("since_v0.1.0")),
            "only the contract the SDK speaks travels"
        );
    }
}
