//! A real Chromium, driven over WebDriver (chromedriver) with fantoccini,
//! against the real router on loopback. Debian's `chromium` and
//! `chromium-driver` are required (`.ci/run` installs them): without them the
//! suite fails, it never skips. Screenshots go to
//! `<target>/console-screenshots/<test>/`; every page visited is checked with
//! axe-core (vendored, pinned: `axe-4.11.0.min.js`).

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use fantoccini::elements::Element;
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{Value, json};

const AXE: &str = include_str!("axe-4.11.0.min.js");
/// A tablet held upright (iPad Air): the console must work at this width.
const WINDOW: (u32, u32) = (820, 1180);
const WAIT: Duration = Duration::from_secs(20);

fn program(var: &str, default: &str) -> String {
    let path = std::env::var(var).unwrap_or_else(|_| default.to_owned());
    assert!(
        std::path::Path::new(&path).exists(),
        "{path} is missing: the console's browser tests need Debian's chromium and \
         chromium-driver (apt-get install -y chromium chromium-driver), or {var} set"
    );
    path
}

/// Whether the browser tests run here. Where `VETPAY_TEST_BROWSER=required`
/// (CI sets it) or `CHROMIUM` is given, a missing Chromium fails them; on a
/// machine with neither and no Debian Chromium (a fresh one with only Rust, as
/// the README promises) they say so and pass nothing off as tested.
pub fn available() -> bool {
    let required = std::env::var("VETPAY_TEST_BROWSER").is_ok_and(|v| v == "required")
        || std::env::var_os("CHROMIUM").is_some();
    let present = ["/usr/bin/chromium", "/usr/bin/chromedriver"]
        .iter()
        .all(|p| std::path::Path::new(p).exists());
    if !required && !present {
        eprintln!(
            "note: no Chromium here: the console's browser tests did not run \
             (apt-get install chromium chromium-driver, or set VETPAY_TEST_BROWSER=required)"
        );
    }
    required || present
}

pub struct Browser {
    pub client: Client,
    driver: Child,
    base: String,
    shots: PathBuf,
    count: AtomicUsize,
    pub lang: &'static str,
}

impl Browser {
    /// Chromium asking for `lang` first (Accept-Language), at tablet width.
    pub async fn start(base: &str, lang: &'static str, test: &str) -> Browser {
        let chromium = program("CHROMIUM", "/usr/bin/chromium");
        let chromedriver = program("CHROMEDRIVER", "/usr/bin/chromedriver");
        let port = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            l.local_addr().unwrap().port()
        };
        let driver = Command::new(chromedriver)
            .arg(format!("--port={port}"))
            .arg("--allowed-ips=127.0.0.1")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver starts");
        let url = format!("http://127.0.0.1:{port}");
        let deadline = Instant::now() + WAIT;
        while reqwest::get(format!("{url}/status")).await.is_err() {
            assert!(Instant::now() < deadline, "chromedriver never answered");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let accept = match lang {
            "da" => "da-DK,da",
            _ => "en-US,en",
        };
        let mut caps = serde_json::Map::new();
        caps.insert(
            "goog:chromeOptions".into(),
            json!({
                "binary": chromium,
                "args": [
                    "--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                    format!("--window-size={},{}", WINDOW.0, WINDOW.1),
                    format!("--lang={accept}"),
                    // Browser traffic stays on loopback.
                    "--no-proxy-server", "--disable-background-networking",
                    "--disable-component-update", "--disable-sync",
                ],
                "prefs": { "intl.accept_languages": accept },
            }),
        );
        let client = ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
            .capabilities(caps)
            .connect(&url)
            .await
            .expect("chromium starts under chromedriver");
        let shots = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
            .parent()
            .expect("the target directory")
            .join("console-screenshots")
            .join(format!("{test}-{lang}"));
        let _ = std::fs::remove_dir_all(&shots);
        std::fs::create_dir_all(&shots).unwrap();
        Browser {
            client,
            driver,
            base: base.to_owned(),
            shots,
            count: AtomicUsize::new(0),
            lang,
        }
    }

    /// English or Danish, as the test speaks.
    pub fn pick<'a>(&self, en: &'a str, da: &'a str) -> &'a str {
        if self.lang == "da" { da } else { en }
    }

    pub async fn go(&self, path: &str) {
        self.client
            .goto(&format!("{}{path}", self.base))
            .await
            .unwrap();
    }

    pub async fn path(&self) -> String {
        let url = self.client.current_url().await.unwrap();
        match url.query() {
            Some(q) => format!("{}?{q}", url.path()),
            None => url.path().to_owned(),
        }
    }

    pub async fn el(&self, css: &str) -> Element {
        match self
            .client
            .wait()
            .at_most(WAIT)
            .for_element(Locator::Css(css))
            .await
        {
            Ok(e) => e,
            Err(e) => panic!("no {css} on {}: {e}", self.path().await),
        }
    }

    pub async fn exists(&self, css: &str) -> bool {
        !self
            .client
            .find_all(Locator::Css(css))
            .await
            .unwrap()
            .is_empty()
    }

    pub async fn click(&self, css: &str) {
        self.el(css).await.click().await.unwrap();
    }

    /// The element's text. A page that replaces the element between finding
    /// and reading it (a form answered by a new page) is read again.
    pub async fn text(&self, css: &str) -> String {
        self.text_until(css, "any text", |_| true).await
    }

    /// Waits until the element's text satisfies `check`: after a click the
    /// old page's element may still be there, with the old words.
    pub async fn text_until(&self, css: &str, what: &str, check: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + WAIT;
        loop {
            match self.el(css).await.text().await {
                Ok(t) if check(&t) => return t,
                Ok(t) => assert!(
                    Instant::now() < deadline,
                    "{css} never showed {what}: it says {t:?} on {}",
                    self.path().await
                ),
                // Chromedriver names an element that a navigation detached
                // between finding and reading either way: stale, or an
                // unknown error (its inspector no longer has the node).
                Err(e)
                    if (e.is_stale_element_reference() || e.is_unknown_error())
                        && Instant::now() < deadline => {}
                Err(e) => panic!("{css} on {}: {e}", self.path().await),
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    pub async fn value(&self, css: &str) -> String {
        self.el(css)
            .await
            .prop("value")
            .await
            .unwrap()
            .unwrap_or_default()
    }

    pub async fn fill(&self, css: &str, text: &str) {
        let e = self.el(css).await;
        e.clear().await.unwrap();
        e.send_keys(text).await.unwrap();
    }

    /// Waits until `check` holds for the page's script result.
    pub async fn until(&self, what: &str, script: &str) -> Value {
        let deadline = Instant::now() + WAIT;
        loop {
            let v = self.client.execute(script, vec![]).await.unwrap();
            if !(v.is_null() || v == json!(false)) {
                return v;
            }
            assert!(
                Instant::now() < deadline,
                "never: {what} ({})",
                self.path().await
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    pub async fn shot(&self, label: &str) -> PathBuf {
        let n = self.count.fetch_add(1, Ordering::Relaxed);
        let png = self.client.screenshot().await.unwrap();
        let path = self.shots.join(format!("{n:02}-{label}.png"));
        std::fs::write(&path, png).unwrap();
        path
    }

    /// axe-core over the page as it is: no serious or critical violation.
    /// axe is put in and run by one script: a page that navigates between
    /// two scripts (the dialog reloads when the payment ends) would lose it.
    /// A run the navigation breaks is run again on the page that came.
    pub async fn axe(&self, label: &str) {
        const RUN: &str = r#"const done = arguments[arguments.length - 1];
            if (typeof window.axe === "undefined") { (0, eval)(arguments[0]); }
            axe.run(document, { resultTypes: ["violations"] })
              .then(r => done(r.violations.map(v => ({ id: v.id, impact: v.impact, help: v.help,
                 nodes: v.nodes.map(n => n.target.join(" ")) }))))
              .catch(e => done([{ id: "axe-error", impact: "critical", help: String(e), nodes: [] }]));"#;
        let mut tries = 0;
        let result = loop {
            tries += 1;
            match self.client.execute_async(RUN, vec![json!(AXE)]).await {
                Ok(result) => break result,
                Err(e) if tries < 3 => {
                    eprintln!("axe on {label}: the page went away ({e}); again on the next one");
                    self.until("the next page", "return document.readyState === 'complete'")
                        .await;
                }
                Err(e) => panic!("axe on {label}: {e}"),
            }
        };
        let bad: Vec<&Value> = result
            .as_array()
            .unwrap()
            .iter()
            .filter(|v| matches!(v["impact"].as_str(), Some("serious" | "critical")))
            .collect();
        assert!(
            bad.is_empty(),
            "axe-core on {label} ({}): {}",
            self.path().await,
            serde_json::to_string_pretty(&bad).unwrap()
        );
    }

    /// Signs in with `key` from the sign-in page.
    pub async fn sign_in(&self, key: &str) {
        self.go("/").await;
        self.el("#key").await;
        self.axe("sign-in").await;
        self.fill("#key", key).await;
        self.click("#sign-in").await;
        // The sign-in page has a `main h1` too: wait for the page after it,
        // or a loaded machine reads the URL before the navigation ends.
        self.until(
            "the page after signing in",
            "return location.pathname !== '/sign-in' && document.readyState === 'complete' \
             && document.querySelector('main h1') !== null",
        )
        .await;
        assert_eq!(self.client.current_url().await.unwrap().path(), "/invoices");
    }

    /// Ends the browser session; the driver goes with the `Drop`.
    pub async fn close(self) {
        let _ = self.client.clone().close().await;
    }
}

/// A failing test leaves no chromedriver behind (a Chromium it was driving
/// may outlive it; a passing test closes its session first).
impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}
