//! `vetpay plugin inspect FILE.wasm` and `vetpay plugin check plugin.toml`:
//! both check a manifest with the plugin layer's one validation and print it.

use std::fmt::Write;
use std::path::Path;

use vetpay::plugin::manifest::Manifest;
use vetpay::plugin::{self, PluginFileInfo, Runtime, RuntimeConfig};

pub fn inspect(file: &Path, json: bool, no_compile: bool) -> Result<(), String> {
    let shown = file.display();
    let bytes = std::fs::read(file).map_err(|e| format!("cannot read {shown}: {e}"))?;
    let info = plugin::inspect(&bytes)
        .map_err(|e| format!("{shown} is not a valid vetpay plugin: {e}"))?;
    if !no_compile {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| format!("cannot start: {e}"))?;
        runtime.block_on(async {
            let rt = Runtime::new(RuntimeConfig {
                prefer_pooling: false,
                ..RuntimeConfig::default()
            })
            .map_err(|e| e.to_string())?;
            rt.load(bytes)
                .await
                .map(|_| ())
                .map_err(|e| format!("{shown} is not a valid vetpay plugin: {e}"))
        })?;
    }
    if json {
        let text = serde_json::to_string_pretty(&info).map_err(|e| e.to_string())?;
        println!("{text}");
    } else {
        print!("{}", describe(&info));
    }
    // Warnings go to stderr, so that the description stays what it was.
    for warning in &info.import_warnings {
        let level = if warning.kind.std_imports_it() {
            "note"
        } else {
            "warning"
        };
        eprintln!("{level}: {warning}");
    }
    Ok(())
}

pub fn check(file: &Path, json: bool) -> Result<(), String> {
    let shown = file.display();
    let bytes = std::fs::read(file).map_err(|e| format!("cannot read {shown}: {e}"))?;
    let manifest = plugin::check_manifest(&bytes)
        .map_err(|e| format!("{shown} is not a valid vetpay manifest: {e}"))?;
    if json {
        let text = serde_json::to_string_pretty(&manifest).map_err(|e| e.to_string())?;
        println!("{text}");
    } else {
        print!("{}", describe_manifest(&manifest));
        println!("{shown}: a valid manifest for this host");
    }
    Ok(())
}

fn describe(info: &PluginFileInfo) -> String {
    let m = &info.manifest;
    let mut out = String::new();
    let _ = writeln!(out, "plugin      {} ({})", m.id, m.name);
    let _ = writeln!(out, "version     {}", m.version);
    let _ = writeln!(
        out,
        "contract    vetpay:terminal@{} (manifest {})",
        info.exported_contract, m.contract
    );
    out.push_str(&describe_body(m));
    let _ = writeln!(out, "sha256      {}", info.sha256);
    let _ = writeln!(out, "size        {} bytes", info.size);
    let _ = writeln!(out, "imports");
    for import in &info.imports {
        let denied = info.import_warnings.iter().find(|w| &w.import == import);
        match denied {
            Some(w) => {
                let _ = writeln!(out, "  {import}  (denied: {})", w.kind);
            }
            None => {
                let _ = writeln!(out, "  {import}");
            }
        }
    }
    out.push_str(&describe_settings(m));
    out
}

fn describe_manifest(m: &Manifest) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "plugin      {} ({})", m.id, m.name);
    let _ = writeln!(out, "version     {}", m.version);
    let _ = writeln!(out, "contract    vetpay:terminal@{}", m.contract);
    out.push_str(&describe_body(m));
    out.push_str(&describe_settings(m));
    out
}

/// Markets to terminal types: what a manifest and a file describe alike.
fn describe_body(m: &Manifest) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "markets     {}", m.markets.join(", "));
    let currencies: Vec<&str> = m.currencies.iter().map(|c| c.code()).collect();
    let _ = writeln!(out, "currencies  {}", currencies.join(", "));
    let caps: Vec<&str> = m.capabilities.iter().map(|c| c.export_name()).collect();
    let _ = writeln!(out, "exports     {}", caps.join(", "));
    let hosts: Vec<String> = m.allowed_hosts.iter().map(|h| h.to_string()).collect();
    let _ = writeln!(out, "hosts       {}", listed(&hosts, "(none)"));
    let _ = writeln!(
        out,
        "terminals   {}",
        listed(&m.terminal_types, "(any type)")
    );
    out
}

fn listed(items: &[String], when_empty: &str) -> String {
    if items.is_empty() {
        when_empty.to_owned()
    } else {
        items.join(", ")
    }
}

fn describe_settings(m: &Manifest) -> String {
    let mut out = String::new();
    if m.settings.is_empty() {
        return out;
    }
    let _ = writeln!(out, "settings");
    for s in &m.settings {
        let flags = [
            Some(format!("{:?}", s.scope).to_lowercase()),
            Some(format!("{:?}", s.kind).to_lowercase()),
            s.secret.then(|| "secret".to_owned()),
            s.required.then(|| "required".to_owned()),
            s.default.as_ref().map(|d| format!("default {d}")),
            s.min.map(|n| format!("min {n}")),
            s.max.map(|n| format!("max {n}")),
        ];
        let flags: Vec<String> = flags.into_iter().flatten().collect();
        let _ = writeln!(
            out,
            "  {:<24} {} [{}]",
            s.key,
            s.label.en(),
            flags.join(", ")
        );
        let others: Vec<String> = s
            .label
            .languages()
            .filter(|(tag, _)| !tag.eq_ignore_ascii_case("en"))
            .map(|(tag, text)| format!("{tag}: {text}"))
            .collect();
        if !others.is_empty() {
            let _ = writeln!(out, "  {:<24} {}", "", others.join(" | "));
        }
    }
    out
}
