//! `vetpay demo` through the real binary, driven by a script the way the
//! README describes: a fixed admin key and port, then real requests.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

#[tokio::test]
async fn the_demo_takes_a_payment_from_a_script() {
    const KEY: &str = "script-admin-key-0123456789";
    let port = free_port();
    let data = std::env::temp_dir().join(format!("vetpay-cli-demo-{port}"));
    let mut child = Command::new(env!("CARGO_BIN_EXE_vetpay"))
        .args([
            "demo",
            "--admin-key",
            KEY,
            "--port",
            &port.to_string(),
            "--data-dir",
        ])
        .arg(&data)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("vetpay demo starts");
    let stdout = child.stdout.take().unwrap();
    let _running = Running(child);
    // The walk-through names the key and ends with how to stop.
    let mut printed = String::new();
    for line in BufReader::new(stdout).lines() {
        let line = line.unwrap();
        printed.push_str(&line);
        printed.push('\n');
        if line.contains("stop with Ctrl-C") {
            break;
        }
    }
    assert!(printed.contains(KEY), "{printed}");
    assert!(printed.contains("/_sim/devices/"), "{printed}");
    assert!(printed.contains("/refunds"), "{printed}");

    let base = format!("http://127.0.0.1:{port}");
    let http = reqwest::Client::new();
    let get = |path: String| {
        let http = http.clone();
        let url = format!("{base}{path}");
        async move {
            let r = http.get(url).bearer_auth(KEY).send().await.unwrap();
            assert_eq!(r.status(), 200);
            r.json::<Value>().await.unwrap()
        }
    };
    let departments = get("/v1/departments".into()).await;
    let dk = departments
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["country"] == "DK")
        .unwrap()
        .clone();
    let terminals = get(format!(
        "/v1/departments/{}/terminals",
        dk["id"].as_str().unwrap()
    ))
    .await;
    assert!(
        terminals[0]["last_reconciled_at"].is_i64(),
        "terminals reconciled: {terminals}"
    );
    let invoices = get("/v1/invoices".into()).await;
    let invoice = invoices
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["currency"] == "DKK")
        .unwrap()
        .clone();
    let r = http
        .post(format!(
            "{base}/v1/invoices/{}/payments",
            invoice["id"].as_str().unwrap()
        ))
        .bearer_auth(KEY)
        .header("Idempotency-Key", "demo-script-1")
        .json(
            &json!({"method": "card", "amount": invoice["due"], "terminal_id": terminals[0]["id"]}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let payment: Value = r.json().await.unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let p = get(format!("/v1/payments/{}", payment["id"].as_str().unwrap())).await;
        if p["status"] == "succeeded" {
            break;
        }
        assert!(Instant::now() < deadline, "{p}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let paid = get(format!("/v1/invoices/{}", invoice["id"].as_str().unwrap())).await;
    assert_eq!(paid["status"], "paid");
    let _ = std::fs::remove_dir_all(&data);
}
