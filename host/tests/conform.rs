//! `vetpay plugin conform` and `vetpay simulator`, run as an author runs them:
//! both bundled plugins pass every check, the fault plugin fails with the
//! failed checks named, and the JUnit file says the same.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Output, Stdio};

/// Every check of the suite, in the order it runs.
const CHECKS: [&str; 12] = [
    "purchase-approved",
    "decline-with-code",
    "cancelled-by-client",
    "aborted-by-clinic",
    "refund",
    "same-request-id-once",
    "status-finds-approved",
    "closed-port-not-sent",
    "server-error-never-failed",
    "capabilities",
    "deadline-respected",
    "no-secret-leak",
];

fn vetpay(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_vetpay"))
        .args(args)
        .output()
        .expect("the vetpay binary runs")
}

/// The result column of `check` in the table.
fn result_of<'a>(table: &'a str, check: &str) -> Option<&'a str> {
    table
        .lines()
        .find(|l| l.split_whitespace().next() == Some(check))
        .and_then(|l| l.split_whitespace().nth(1))
}

fn assert_all_pass(provider: &str) {
    let junit = std::env::temp_dir().join(format!(
        "vetpay-conform-{provider}-{}.xml",
        std::process::id()
    ));
    let out = vetpay(&[
        "plugin",
        "conform",
        "--bundled",
        provider,
        "--junit",
        junit.to_str().unwrap(),
    ]);
    let table = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{table}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for check in CHECKS {
        assert_eq!(
            result_of(&table, check),
            Some("passed"),
            "{check}:\n{table}"
        );
    }
    assert_eq!(table.lines().last(), Some("12 passed, 0 failed"), "{table}");
    let xml = std::fs::read_to_string(&junit).unwrap();
    let _ = std::fs::remove_file(&junit);
    assert!(
        xml.contains(r#"tests="12""#) && xml.contains(r#"failures="0""#),
        "{xml}"
    );
    for check in CHECKS {
        assert!(
            xml.contains(&format!(r#"<testcase name="{check}""#)),
            "{check}: {xml}"
        );
    }
}

#[test]
fn the_bundled_gravity_plugin_passes_every_check() {
    assert_all_pass("gravity");
}

#[test]
fn the_bundled_nets_plugin_passes_every_check() {
    assert_all_pass("nets");
}

#[test]
fn the_fault_plugin_fails_with_the_failed_checks_named_in_the_table_and_the_junit_file() {
    let junit =
        std::env::temp_dir().join(format!("vetpay-conform-fault-{}.xml", std::process::id()));
    // It approves every request for 1.00 more than asked, and never reaches the provider.
    let out = vetpay(&[
        "plugin",
        "conform",
        vetpay_plugin_artifacts::FAULT_INJECTION,
        "--bundled",
        "gravity",
        "--setting",
        "mode=wrong-amount",
        "--junit",
        junit.to_str().unwrap(),
    ]);
    let table = String::from_utf8_lossy(&out.stdout);
    assert!(!out.status.success(), "{table}");
    let failed = [
        "purchase-approved",
        "decline-with-code",
        "cancelled-by-client",
        "aborted-by-clinic",
        "refund",
        "same-request-id-once",
        "status-finds-approved",
    ];
    for check in failed {
        assert_eq!(
            result_of(&table, check),
            Some("FAILED"),
            "{check}:\n{table}"
        );
    }
    // Checks that do not apply are skipped with the reason, never passed.
    assert_eq!(
        result_of(&table, "closed-port-not-sent"),
        Some("skipped"),
        "{table}"
    );
    assert!(
        table.contains("the manifest has no setting base-url"),
        "{table}"
    );
    assert_eq!(
        result_of(&table, "no-secret-leak"),
        Some("skipped"),
        "{table}"
    );
    assert_eq!(
        table.lines().last(),
        Some("3 passed, 7 failed (2 skipped)"),
        "{table}"
    );
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("7 conformance check(s) failed"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let xml = std::fs::read_to_string(&junit).unwrap();
    let _ = std::fs::remove_file(&junit);
    assert!(
        xml.contains(r#"tests="12""#) && xml.contains(r#"failures="7""#),
        "{xml}"
    );
    assert!(xml.contains("<skipped"), "{xml}");
    let case = xml
        .split("<testcase ")
        .find(|c| c.starts_with(r#"name="purchase-approved""#))
        .expect("a test case for purchase-approved");
    assert!(
        case.contains("<failure") && case.contains("amount-mismatch"),
        "{case}"
    );
}

/// Kills the simulator it started when the test ends, passing or not.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn a_simulator_started_on_its_own_certifies_a_plugin_file() {
    let child = Command::new(env!("CARGO_BIN_EXE_vetpay"))
        .args(["simulator", "nets"])
        .stdout(Stdio::piped())
        .spawn()
        .expect("the simulator starts");
    let mut running = Running(child);
    let stdout = running.0.stdout.take().unwrap();
    // It prints how to certify a plugin against it; take that line as given.
    let mut lines = BufReader::new(stdout).lines();
    let conform = lines
        .by_ref()
        .map_while(Result::ok)
        .find_map(|l| l.strip_prefix("conform").map(|c| c.trim().to_owned()))
        .expect("the simulator prints a conform command line");
    let args: Vec<String> = conform
        .split_whitespace()
        .skip(1) // "vetpay"
        .map(|a| {
            if a == "FILE.wasm" {
                vetpay_plugin_artifacts::NETS.to_owned()
            } else {
                a.to_owned()
            }
        })
        .collect();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    assert!(args.contains(&"--simulator"), "{conform}");
    let out = vetpay(&args);
    let table = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{table}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(table.lines().last(), Some("12 passed, 0 failed"), "{table}");
    drop(lines);
}

#[test]
fn a_card_on_file_plugin_has_its_terminal_checks_skipped_with_the_reason() {
    // The example (Acme Pay) declares charge-token, status and list-terminals.
    let out = vetpay(&[
        "plugin",
        "conform",
        vetpay_plugin_artifacts::EXAMPLE,
        "--bundled",
        "gravity",
        "--setting",
        "api-key=conform-acme-key",
    ]);
    let table = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{table}");
    for check in CHECKS {
        let expected = match check {
            "capabilities" | "no-secret-leak" => "passed",
            _ => "skipped",
        };
        assert_eq!(
            result_of(&table, check),
            Some(expected),
            "{check}:\n{table}"
        );
    }
    assert!(
        table.contains("the plugin does not declare process"),
        "{table}"
    );
    assert_eq!(
        table.lines().last(),
        Some("2 passed, 0 failed (10 skipped)"),
        "{table}"
    );
}
