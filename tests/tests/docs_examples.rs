//! The plugin guide's code is the SDK's crate doctest (which `cargo test`
//! compiles), so what authors copy from the guide compiles too.

fn doctest() -> String {
    let lib = include_str!("../../sdk/src/lib.rs");
    let start = lib
        .find("//! ```no_run\n")
        .expect("the SDK has its doctest")
        + 14;
    let end = start + lib[start..].find("//! ```\n").unwrap();
    lib[start..end]
        .lines()
        .map(|l| {
            l.strip_prefix("//! ")
                .unwrap_or(l.trim_start_matches("//!"))
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn the_plugin_guide_shows_the_sdk_doctest() {
    let guide = include_str!("../../docs/PLUGIN-CONTRACT.md");
    let code = doctest();
    assert!(code.contains("impl Plugin for Acme"), "{code}");
    assert!(
        guide.contains(&code),
        "docs/PLUGIN-CONTRACT.md's example differs from vetpay-sdk's doctest:\n{code}"
    );
}
