//! The native test harness (`testing` feature) itself.
#![cfg(feature = "testing")]

use std::io::{Read, Write};
use std::time::Duration;

use serde_json::{Value, json};
use vetpay_sdk::prelude::*;
use vetpay_sdk::testing::{FakeHost, Reply, context, loopback};

#[test]
fn scripted_answers_come_in_order_and_the_last_repeats() {
    let host = FakeHost::install();
    let url = "https://psp.example/v1/thing";
    host.reply(http::Method::Get, url, Reply::status(404))
        .reply(http::Method::Get, url, Reply::json(200, &json!({ "n": 1 })));
    let statuses: Vec<u16> = (0..3)
        .map(|_| http::Request::get(url).send().unwrap().status)
        .collect();
    assert_eq!(statuses, [404, 200, 200]);
    let body: Value = http::Request::get(url).send().unwrap().json().unwrap();
    assert_eq!(body["n"], 1);
}

#[test]
fn an_answer_added_after_a_repeating_one_has_answered_replaces_it() {
    let host = FakeHost::install();
    let url = "https://psp.example/v1/last";
    host.reply(http::Method::Get, url, Reply::status(404));
    assert_eq!(http::Request::get(url).send().unwrap().status, 404);
    host.reply(http::Method::Get, url, Reply::status(200));
    assert_eq!(http::Request::get(url).send().unwrap().status, 200);
    host.forget(http::Method::Get, url)
        .reply(http::Method::Get, url, Reply::status(410));
    assert_eq!(http::Request::get(url).send().unwrap().status, 410);
}

#[test]
fn what_was_sent_is_recorded() {
    let host = FakeHost::install();
    let url = "https://psp.example/v1/charges";
    host.reply(http::Method::Post, url, Reply::status(201));
    let ctx = context("DK", &[("api-key", "ignored")]);
    http::Request::post(url)
        .bearer(ctx.secret("api-key"))
        .json(&json!({ "amount": 1250 }))
        .timeout(Duration::from_secs(3))
        .send()
        .unwrap();
    let sent = host.sent_to(http::Method::Post, url);
    assert_eq!(sent.len(), 1);
    assert_eq!(
        sent[0].header("authorization"),
        Some("Bearer {{secret:api-key}}")
    );
    assert_eq!(sent[0].json::<Value>()["amount"], 1250);
    assert_eq!(sent[0].timeout, Some(Duration::from_secs(3)));
}

#[test]
fn scripted_failures_become_the_sdk_errors() {
    let host = FakeHost::install();
    let url = "https://psp.example/v1/down";
    host.fail(
        http::Method::Get,
        url,
        http::Error::NotSent("refused".into()),
    );
    let error: PluginError = http::Request::get(url).send().unwrap_err().into();
    assert!(matches!(error, PluginError::NotSent(_)));
}

#[test]
fn sleep_moves_the_virtual_clock_and_the_wall_clock_follows() {
    let host = FakeHost::install();
    let start = vetpay_sdk::wall_clock_ms();
    assert_eq!(start, host.now_ms());
    vetpay_sdk::sleep(Duration::from_secs(180));
    assert_eq!(vetpay_sdk::wall_clock_ms() - start, 180_000);
    host.advance(Duration::from_millis(5));
    assert_eq!(vetpay_sdk::wall_clock_ms() - start, 180_005);
    assert_eq!(host.slept(), [Duration::from_secs(180)]);
}

#[test]
fn the_cache_expires_on_the_virtual_clock() {
    let host = FakeHost::install();
    cache::set("token", "abc", Duration::from_secs(10));
    assert_eq!(cache::get_string("token").as_deref(), Some("abc"));
    host.advance(Duration::from_secs(10));
    assert_eq!(cache::get("token"), None);
    host.cache_set("abort:r1", b"1", Duration::from_secs(60));
    assert!(cache::get("abort:r1").is_some());
    cache::delete("abort:r1");
    assert_eq!(host.cache_get("abort:r1"), None);
}

#[test]
fn progress_and_log_lines_are_captured() {
    let host = FakeHost::install();
    progress::report(Stage::WaitingForCard, Some("insert the card"));
    log::warn("polling failed, will poll again");
    let reports = host.progress();
    assert!(matches!(reports[0].stage, Stage::WaitingForCard));
    assert_eq!(reports[0].message.as_deref(), Some("insert the card"));
    assert_eq!(host.logs()[0].level, log::Level::Warn);
    assert_eq!(host.logs()[0].message, "polling failed, will poll again");
}

#[test]
fn a_handler_answers_what_is_not_scripted_and_may_call_the_host() {
    let host = FakeHost::install();
    host.handle(|sent| {
        // Plugin code inside an answer: a concurrent call leaving a flag.
        cache::set("seen", sent.url.as_bytes(), Duration::from_secs(1));
        Ok(Reply::text(200, "ok"))
    });
    let response = http::Request::get("https://psp.example/any")
        .send()
        .unwrap();
    assert_eq!(response.text(), "ok");
    assert_eq!(
        cache::get_string("seen").as_deref(),
        Some("https://psp.example/any")
    );
}

#[test]
fn a_host_call_without_a_fake_host_is_a_panic_not_an_abort() {
    let panic = std::panic::catch_unwind(|| cache::get("x")).unwrap_err();
    let message = panic.downcast_ref::<String>().cloned().unwrap_or_default();
    assert!(message.contains("no fake host"), "{message}");
}

#[test]
fn an_unscripted_request_is_a_panic_naming_it() {
    let _host = FakeHost::install();
    let panic = std::panic::catch_unwind(|| http::Request::get("https://psp.example/x").send())
        .unwrap_err();
    let message = panic.downcast_ref::<String>().cloned().unwrap_or_default();
    assert!(message.contains("GET https://psp.example/x"), "{message}");
}

#[test]
fn dropping_the_fake_host_uninstalls_it() {
    drop(FakeHost::install());
    assert!(std::panic::catch_unwind(vetpay_sdk::wall_clock_ms).is_err());
}

#[test]
fn loopback_forwards_to_a_real_server() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let server = std::thread::spawn(move || {
        let (mut stream, _) = listener.accept().unwrap();
        let mut buf = [0u8; 4096];
        let n = stream.read(&mut buf).unwrap();
        let head = String::from_utf8_lossy(&buf[..n]).into_owned();
        stream
            .write_all(b"HTTP/1.1 202 Accepted\r\ncontent-length: 2\r\nx-sim: yes\r\nconnection: close\r\n\r\nhi")
            .unwrap();
        head
    });
    let host = FakeHost::install();
    host.handle(loopback());
    let response = http::Request::post(format!("http://127.0.0.1:{port}/v1/go"))
        .header("x-test", "1")
        .send()
        .unwrap();
    assert_eq!(response.status, 202);
    assert_eq!(response.header("x-sim"), Some("yes"));
    assert_eq!(response.text(), "hi");
    let head = server.join().unwrap();
    assert!(head.starts_with("POST /v1/go HTTP/1.1"), "{head}");
    assert!(head.to_ascii_lowercase().contains("x-test: 1"), "{head}");
}

#[test]
fn loopback_to_a_closed_port_is_not_sent() {
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let host = FakeHost::install();
    host.handle(loopback());
    let error = http::Request::get(format!("http://127.0.0.1:{port}/"))
        .send()
        .unwrap_err();
    assert!(matches!(error, http::Error::NotSent(_)), "{error:?}");
}
