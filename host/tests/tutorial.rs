//! docs/TUTORIAL.md, run as written: every `$` line of its `console` blocks,
//! in order, through bash, with this build's `vetpay` first on the PATH. The
//! project it writes lives outside the workspace and builds from its own
//! folder and crates.io alone; it passes its own tests, `inspect` and
//! `conform`.
//!
//! Two liberties, both said here: a line ending in `&` (the simulator, which
//! the tutorial runs in a second terminal) runs beside the others until the
//! end and is waited for until it prints its URL; and its port, 7878 in the
//! text, is a free one here. The project's `target/` is kept between runs
//! (moved aside while `plugin new` writes the project) so that a local re-run
//! does not compile its dependencies again.

use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

const TUTORIAL: &str = include_str!("../../docs/TUTORIAL.md");
const PROJECT: &str = "tulip-pay";

/// The `$` lines of the tutorial's `console` blocks.
fn commands() -> Vec<String> {
    let mut inside = false;
    let mut out = Vec::new();
    for line in TUTORIAL.lines() {
        match line.trim() {
            "```console" => inside = true,
            "```" => inside = false,
            l if inside => {
                if let Some(command) = l.strip_prefix("$ ") {
                    out.push(command.to_owned());
                }
            }
            _ => {}
        }
    }
    out
}

/// Kills the simulator however the test ends.
struct Background(Vec<Child>);

impl Drop for Background {
    fn drop(&mut self) {
        for child in &mut self.0 {
            // The simulator is `cargo run`'s child: end the whole group.
            let _ = Command::new("kill")
                .args(["--", &format!("-{}", child.id())])
                .status();
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free loopback port")
}

fn bash(line: &str, cwd: &Path, path: &str) -> Command {
    let mut command = Command::new("bash");
    command
        .args(["-c", line])
        .current_dir(cwd)
        .env("PATH", path)
        // The project is its own workspace: nothing of this test's cargo run
        // (its target directory, its manifest) may leak into it.
        .env_remove("CARGO_TARGET_DIR")
        .env_remove("CARGO_MANIFEST_DIR")
        .env_remove("CARGO_PKG_NAME")
        .env_remove("RUSTFLAGS");
    command
}

#[test]
fn the_tutorial_runs_from_plugin_new_to_a_certified_plugin() {
    let commands = commands();
    assert!(
        commands.len() >= 8,
        "the tutorial lost its steps: {commands:?}"
    );
    let vetpay = PathBuf::from(env!("CARGO_BIN_EXE_vetpay"));
    let path = format!(
        "{}:{}",
        vetpay.parent().unwrap().display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let root = Path::new(env!("CARGO_TARGET_TMPDIR")).join("tutorial");
    let project = root.join(PROJECT);
    let kept = root.join(".kept-target");
    std::fs::create_dir_all(&root).unwrap();
    let port = free_port().to_string();
    let mut background = Background(Vec::new());
    let mut cwd = root.clone();
    let mut transcript = String::new();
    for command in commands {
        let line = command.replace("7878", &port);
        transcript.push_str(&format!("$ {line}\n"));
        if let Some(dir) = line.strip_prefix("cd ") {
            cwd = cwd.join(dir.trim());
            continue;
        }
        if line.starts_with("vetpay plugin new ") {
            // A fresh project, with the last run's build kept aside.
            let _ = std::fs::remove_dir_all(&kept);
            if project.join("target").is_dir() {
                std::fs::rename(project.join("target"), &kept).unwrap();
            }
            let _ = std::fs::remove_dir_all(&project);
        }
        if let Some(line) = line.strip_suffix('&') {
            let url = format!("http://127.0.0.1:{port}");
            background
                .0
                .push(serve(bash(line.trim(), &cwd, &path), &url, &mut transcript));
            continue;
        }
        let stdout = run(bash(&line, &cwd, &path), &mut transcript);
        if line.starts_with("vetpay plugin new ") && kept.is_dir() {
            std::fs::rename(&kept, project.join("target")).unwrap();
        }
        if line.starts_with("vetpay plugin inspect ") {
            assert!(stdout.contains(PROJECT), "{stdout}");
        }
        if line.starts_with("vetpay plugin conform ") {
            assert_eq!(
                stdout.lines().last(),
                Some("12 passed, 0 failed"),
                "{transcript}"
            );
            let junit = std::fs::read_to_string(cwd.join("conform.xml")).unwrap();
            assert!(junit.contains("purchase-approved"), "{junit}");
            assert!(!junit.contains("<failure"), "{junit}");
        }
    }
    // Written outside any vetpay checkout, and pointing at nothing of one.
    for manifest in [
        "Cargo.toml",
        "simulator/Cargo.toml",
        "vendor/vetpay-sdk/Cargo.toml",
    ] {
        let text = std::fs::read_to_string(project.join(manifest)).unwrap();
        assert!(!text.contains("workspace = true"), "{manifest}: {text}");
        for line in text.lines().filter(|l| l.contains("path =")) {
            assert!(
                line.contains("\"vendor/")
                    || line.contains("\"simulator\"")
                    || line.contains("\"../vetpay-money\""),
                "{manifest} points outside the project: {line}"
            );
        }
    }
    let wasm = project.join("target/wasm32-wasip2/release/tulip_pay.wasm");
    let size = std::fs::metadata(&wasm).unwrap().len();
    println!("figure tutorial_plugin_wasm_bytes {size} bytes");
    drop(background);

    // The other kind, the same way, on the tutorial project's build (its
    // dependencies are the same).
    let cards = root.join("tulip-cards");
    let _ = std::fs::remove_dir_all(&cards);
    let mut transcript = String::new();
    run(
        bash(
            "vetpay plugin new tulip-cards --kind card-on-file",
            &root,
            &path,
        ),
        &mut transcript,
    );
    let in_cards = |line: &str| {
        let mut command = bash(line, &cards, &path);
        command.env("CARGO_TARGET_DIR", project.join("target"));
        command
    };
    for line in [
        "cargo test",
        "cargo clippy --workspace --all-targets -- -D warnings",
        "cargo build --release --target wasm32-wasip2",
    ] {
        run(in_cards(line), &mut transcript);
    }
    let port = free_port();
    let url = format!("http://127.0.0.1:{port}");
    let _simulator = Background(vec![serve(
        in_cards(&format!(
            "cargo run -p tulip-cards-simulator -- --port {port}"
        )),
        &url,
        &mut transcript,
    )]);
    let wasm = project.join("target/wasm32-wasip2/release/tulip_cards.wasm");
    let table = run(
        in_cards(&format!(
            "vetpay plugin conform {} --config conform.toml --simulator {url}",
            wasm.display()
        )),
        &mut transcript,
    );
    assert_eq!(
        table.lines().last(),
        Some("12 passed, 0 failed"),
        "{transcript}"
    );
    let capabilities = table
        .lines()
        .find(|l| l.starts_with("capabilities"))
        .unwrap();
    for export in ["save-card", "charge-token", "refund-token"] {
        assert!(capabilities.contains(export), "{capabilities}");
    }
}

/// Runs a command to its end; its standard output. A failure fails the test
/// with everything run so far.
fn run(mut command: Command, transcript: &mut String) -> String {
    let out = command.output().expect("bash runs");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    transcript.push_str(&stdout);
    assert!(
        out.status.success(),
        "{command:?} failed:\n{transcript}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

/// Starts a simulator in a process group of its own and waits until it
/// prints `url`; it keeps serving until the returned child is killed.
fn serve(mut command: Command, url: &str, transcript: &mut String) -> Child {
    std::os::unix::process::CommandExt::process_group(&mut command, 0);
    let mut child = command
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("bash runs");
    let stdout = child.stdout.take().unwrap();
    let mut lines = BufReader::new(stdout).lines();
    let ready = lines.by_ref().map_while(Result::ok).find(|l| {
        transcript.push_str(l);
        transcript.push('\n');
        l.contains(url)
    });
    assert!(ready.is_some(), "the simulator never served:\n{transcript}");
    // Keep reading so that its writes never block.
    std::thread::spawn(move || lines.for_each(drop));
    child
}
