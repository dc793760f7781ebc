//! The new project's Cargo.lock: the part of vetpay's own lock file that its
//! dependencies reach, so that its first build uses the crate versions this
//! binary was built and tested with. Cargo adds the project's own packages
//! and drops what the project's features do not need.

use std::collections::BTreeSet;

use toml::{Table, Value};

use super::NewError;

const VETPAY_LOCK: &str = include_str!("../../../Cargo.lock");

/// What the project depends on directly (plugin, simulator, vendored crates).
const ROOTS: &[&str] = &[
    "vetpay-sdk",
    "vetpay-money",
    "serde",
    "serde_json",
    "httparse",
];

pub fn for_project() -> Result<String, NewError> {
    subset(VETPAY_LOCK, ROOTS)
}

fn unreadable(message: impl Into<String>) -> NewError {
    NewError::Embedded {
        what: "Cargo.lock",
        message: message.into(),
    }
}

/// The packages of `lock` reachable from `roots`, in the lock's order.
fn subset(lock: &str, roots: &[&str]) -> Result<String, NewError> {
    let table: Table = lock
        .parse()
        .map_err(|e: toml::de::Error| unreadable(e.to_string()))?;
    let packages: Vec<&Table> = table
        .get("package")
        .and_then(Value::as_array)
        .ok_or_else(|| unreadable("no [[package]]"))?
        .iter()
        .filter_map(Value::as_table)
        .collect();
    let field = |p: &Table, key: &str| {
        p.get(key)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned()
    };
    // A dependency is "name" or "name version" (when several versions are locked).
    let matches = |p: &Table, dep: &str| {
        let mut parts = dep.split(' ');
        let name = parts.next().unwrap_or_default();
        field(p, "name") == name && parts.next().is_none_or(|v| field(p, "version") == v)
    };
    let mut keep = BTreeSet::new();
    let mut todo: Vec<String> = roots.iter().map(|r| (*r).to_owned()).collect();
    while let Some(dep) = todo.pop() {
        let found = packages
            .iter()
            .enumerate()
            .filter(|(_, p)| matches(p, &dep))
            .collect::<Vec<_>>();
        if found.is_empty() {
            return Err(unreadable(format!("{dep} is not locked")));
        }
        for (i, p) in found {
            if keep.insert(i) {
                let deps = p.get("dependencies").and_then(Value::as_array);
                todo.extend(
                    deps.into_iter()
                        .flatten()
                        .filter_map(Value::as_str)
                        .map(str::to_owned),
                );
            }
        }
    }
    let mut out = String::from(
        "# Pinned by `vetpay plugin new` to the versions vetpay itself was built with.\n\
         # Cargo adds this project's own packages to it on the first build.\nversion = 4\n",
    );
    for i in keep {
        let mut one = Table::new();
        one.insert(
            "package".into(),
            Value::Array(vec![Value::Table(packages[i].clone())]),
        );
        let text = toml::to_string(&one).map_err(|e| unreadable(e.to_string()))?;
        out.push('\n');
        out.push_str(&text);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_what_the_roots_reach_is_kept_at_vetpays_versions() {
        let lock = r#"
version = 4

[[package]]
name = "a"
version = "1.0.0"
dependencies = ["b 2.0.0"]

[[package]]
name = "b"
version = "1.0.0"

[[package]]
name = "b"
version = "2.0.0"

[[package]]
name = "unused"
version = "0.1.0"
"#;
        let out = subset(lock, &["a"]).unwrap();
        let table: Table = out.parse().unwrap();
        let names: Vec<String> = table["package"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| {
                format!(
                    "{} {}",
                    p["name"].as_str().unwrap(),
                    p["version"].as_str().unwrap()
                )
            })
            .collect();
        assert_eq!(names, ["a 1.0.0", "b 2.0.0"]);
        assert!(matches!(
            subset(lock, &["missing"]),
            Err(NewError::Embedded { .. })
        ));
    }

    #[test]
    fn vetpays_lock_reaches_the_sdk_and_not_the_host() {
        let out = for_project().unwrap();
        assert!(out.contains("name = \"wit-bindgen\""), "{out}");
        assert!(out.contains("name = \"httparse\""));
        assert!(!out.contains("name = \"wasmtime\""));
    }
}
