#![cfg(unix)]
//! The web console in a real browser: headless Chromium driven over WebDriver (chromedriver).
//!
//! Fails when `chromedriver` is absent (`.ci/run` installs Debian's `chromium` and
//! `chromium-driver`): a browser test that passes without a browser proves nothing. `CHROMEDRIVER` and
//! `CHROME_BIN` override the binaries. With `UPDATE_SCREENSHOT=1` the test writes
//! `docs/console.png`.
//!
//! The WebDriver client is a few plain HTTP calls over `reqwest` (no TLS, no extra crates).

use std::net::TcpListener;
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use reqwest::Client;
use serde_json::{Value, json};
use wa_cloud_emulator::webhooks::Receiver;
use wa_cloud_emulator::{Emulator, RunningEmulator};

mod common;
use common::{APP_ID, APP_SECRET, READY, REGISTERED, TOKEN, WABA, start_instant};

const FIXTURE_NUMBERS: [&str; 7] = [
    "106540352242922",
    "106540352242923",
    "106540352242924",
    "106540352242925",
    "106540352242926",
    "106540352242927",
    "106540352242930",
];
const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

fn find_chromedriver() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("CHROMEDRIVER") {
        return Some(PathBuf::from(path));
    }
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .chain([
            PathBuf::from("/usr/bin"),
            PathBuf::from("/usr/lib/chromium"),
        ])
        .map(|dir| dir.join("chromedriver"))
        .find(|candidate| candidate.is_file())
}

fn find_chrome() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("CHROME_BIN") {
        return Some(PathBuf::from(path));
    }
    [
        "/usr/bin/chromium",
        "/usr/bin/chromium-browser",
        "/usr/bin/google-chrome",
    ]
    .into_iter()
    .map(PathBuf::from)
    .find(|candidate| candidate.is_file())
}

/// chromedriver on a free port; killed on drop.
struct Driver {
    child: Child,
    url: String,
}

impl Drop for Driver {
    fn drop(&mut self) {
        // chromedriver leads its own process group, which the browsers it started share: end
        // the group, so no browser outlives the test (even one left open by a failed check).
        let group = format!("-{}", self.child.id());
        let _ = Command::new("kill")
            .args(["-TERM", "--", &group])
            .stderr(Stdio::null())
            .status();
        std::thread::sleep(Duration::from_millis(300));
        let _ = Command::new("kill")
            .args(["-KILL", "--", &group])
            .stderr(Stdio::null())
            .status();
        let _ = self.child.wait();
    }
}

async fn start_driver(binary: &PathBuf, client: &Client) -> Driver {
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let child = Command::new(binary)
        .arg(format!("--port={port}"))
        .process_group(0)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("chromedriver starts");
    let driver = Driver {
        child,
        url: format!("http://127.0.0.1:{port}"),
    };
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if let Ok(response) = client.get(format!("{}/status", driver.url)).send().await {
            let body: Value = response.json().await.unwrap_or_default();
            if body["value"]["ready"] == true {
                return driver;
            }
        }
        assert!(Instant::now() < deadline, "chromedriver did not get ready");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// One WebDriver session.
struct Browser {
    client: Client,
    session: String,
    profile: PathBuf,
}

impl Browser {
    async fn open(driver: &Driver, client: &Client) -> Self {
        static SESSIONS: AtomicUsize = AtomicUsize::new(0);
        let profile = std::env::temp_dir().join(format!(
            "wa-emu-chromium-{}-{}",
            std::process::id(),
            SESSIONS.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&profile);
        let mut options = json!({"args": [
            "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
            "--disable-quic", "--no-first-run", "--disable-background-networking",
            "--disable-component-update", "--disable-sync", "--window-size=1280,800",
            format!("--user-data-dir={}", profile.display()),
        ]});
        if let Some(chrome) = find_chrome() {
            options["binary"] = json!(chrome);
        }
        let body = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome", "goog:chromeOptions": options,
        }}});
        let response: Value = client
            .post(format!("{}/session", driver.url))
            .json(&body)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let session = response["value"]["sessionId"]
            .as_str()
            .unwrap_or_else(|| panic!("no WebDriver session: {response}"))
            .to_owned();
        Self {
            client: client.clone(),
            session: format!("{}/session/{session}", driver.url),
            profile,
        }
    }

    async fn call(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        let mut request = self
            .client
            .request(method, format!("{}{path}", self.session));
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response: Value = request.send().await.unwrap().json().await.unwrap();
        assert!(
            response["value"].get("error").is_none(),
            "WebDriver {path}: {response}"
        );
        response["value"].clone()
    }

    async fn goto(&self, url: &str) {
        self.call(reqwest::Method::POST, "/url", Some(json!({"url": url})))
            .await;
    }

    async fn script(&self, script: &str) -> Value {
        self.call(
            reqwest::Method::POST,
            "/execute/sync",
            Some(json!({"script": script, "args": []})),
        )
        .await
    }

    /// The page's first-contentful-paint time in ms, waiting for it (it may come after the
    /// load event WebDriver waits for); `None` if the browser reports none within 3 s.
    async fn first_contentful_paint(&self) -> Option<f64> {
        let script = "const done = arguments[0];
            new PerformanceObserver((list) => {
              const paint = list.getEntriesByName('first-contentful-paint')[0];
              if (paint) done(paint.startTime);
            }).observe({type: 'paint', buffered: true});
            setTimeout(() => done(null), 3000);";
        self.call(
            reqwest::Method::POST,
            "/execute/async",
            Some(json!({"script": script, "args": []})),
        )
        .await
        .as_f64()
    }

    /// The text of the first element matching `css` ("" when none).
    async fn text(&self, css: &str) -> String {
        let script = format!(
            "const e = document.querySelector({}); return e ? e.innerText : '';",
            json!(css)
        );
        self.script(&script)
            .await
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }

    /// How many elements match `css`.
    async fn count(&self, css: &str) -> u64 {
        let script = format!("return document.querySelectorAll({}).length;", json!(css));
        self.script(&script).await.as_u64().unwrap()
    }

    async fn element(&self, css: &str) -> String {
        let found = self
            .call(
                reqwest::Method::POST,
                "/element",
                Some(json!({"using": "css selector", "value": css})),
            )
            .await;
        found[ELEMENT]
            .as_str()
            .unwrap_or_else(|| panic!("no element {css}: {found}"))
            .to_owned()
    }

    /// An element command, retried when the console redrew the element in between.
    async fn on_element(&self, css: &str, command: &str, body: Value) {
        for _ in 0..5 {
            let id = self.element(css).await;
            let response: Value = self
                .client
                .post(format!("{}/element/{id}/{command}", self.session))
                .json(&body)
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            match response["value"]["error"].as_str() {
                None => return,
                Some("stale element reference") => continue,
                Some(_) => panic!("WebDriver {command} on {css}: {response}"),
            }
        }
        panic!("{css} kept being redrawn");
    }

    async fn click(&self, css: &str) {
        self.on_element(css, "click", json!({})).await;
    }

    async fn keys(&self, css: &str, text: &str) {
        self.on_element(css, "value", json!({"text": text})).await;
    }

    /// Waits (up to 10 s) until the text of `css` satisfies `check`; panics with what it saw.
    async fn wait_text(&self, css: &str, what: &str, check: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let text = self.text(css).await;
            if check(&text) {
                return text;
            }
            assert!(
                Instant::now() < deadline,
                "{css} should show {what}, but shows:\n{text}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    async fn screenshot(&self) -> Vec<u8> {
        let encoded = self.call(reqwest::Method::GET, "/screenshot", None).await;
        base64_decode(encoded.as_str().unwrap())
    }

    async fn close(self) {
        let _ = self.client.delete(&self.session).send().await;
        let _ = std::fs::remove_dir_all(&self.profile);
    }
}

fn base64_decode(text: &str) -> Vec<u8> {
    let value = |c: u8| -> u32 {
        match c {
            b'A'..=b'Z' => u32::from(c - b'A'),
            b'a'..=b'z' => u32::from(c - b'a') + 26,
            b'0'..=b'9' => u32::from(c - b'0') + 52,
            b'+' => 62,
            b'/' => 63,
            _ => panic!("not base64: {c}"),
        }
    };
    let clean: Vec<u8> = text
        .bytes()
        .filter(|c| !c.is_ascii_whitespace() && *c != b'=')
        .collect();
    let mut out = Vec::with_capacity(clean.len() * 3 / 4);
    for chunk in clean.chunks(4) {
        let mut bits = 0u32;
        for (i, c) in chunk.iter().enumerate() {
            bits |= value(*c) << (18 - 6 * i);
        }
        let bytes = bits.to_be_bytes();
        out.extend_from_slice(&bytes[1..chunk.len()]);
    }
    out
}

async fn register(client: &Client, emulator: &RunningEmulator) -> Value {
    client
        .post(format!("{}/v23.0/{REGISTERED}/register", emulator.uri()))
        .bearer_auth(TOKEN)
        .json(&json!({"messaging_product": "whatsapp", "pin": "123456"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_console_shows_and_steers_the_emulator_in_a_browser() {
    // A missing browser is a failure, not a skip: a test that passes without running proves
    // nothing (.ci/run installs both).
    let chromedriver = find_chromedriver().expect(
        "no chromedriver: apt-get install chromium chromium-driver (or set CHROMEDRIVER to its path)",
    );
    tokio::time::timeout(Duration::from_secs(120), scenario(chromedriver))
        .await
        .expect("the browser scenario finishes within 120 s");
}

async fn scenario(chromedriver: PathBuf) {
    let client = Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap();
    let driver = start_driver(&chromedriver, &client).await;
    let emulator = Emulator::builder()
        .manual_clock(start_instant())
        .start()
        .await
        .unwrap();
    let browser = Browser::open(&driver, &client).await;
    browser
        .goto(&format!("{}/__emulator/console", emulator.uri()))
        .await;

    // The numbers table lists every fixture number with its fields.
    let table = browser
        .wait_text("#numbers-body", "every fixture number", |text| {
            FIXTURE_NUMBERS.iter().all(|id| text.contains(id))
        })
        .await;
    assert!(table.contains("not verified"), "{table}");
    // First paint: the median over reloads (the first navigation also pays for starting the
    // renderer). Printed for the README; only a loose bound is asserted, since CI machines
    // are shared and slow and this is not a benchmark.
    let mut paints = Vec::new();
    for _ in 0..5 {
        browser
            .goto(&format!("{}/__emulator/console", emulator.uri()))
            .await;
        paints.extend(browser.first_contentful_paint().await);
    }
    paints.sort_by(f64::total_cmp);
    eprintln!("console first contentful paint over reloads (ms): {paints:?}");
    match paints.get(paints.len() / 2) {
        Some(median) => {
            eprintln!("console first contentful paint, median: {median} ms");
            assert!(*median < 2000.0, "first paint took {median} ms");
        }
        None => eprintln!("the browser reported no first-contentful-paint; not measured"),
    }
    browser
        .wait_text("#numbers-body", "every fixture number again", |text| {
            FIXTURE_NUMBERS.iter().all(|id| text.contains(id))
        })
        .await;
    browser
        .wait_text("#clock-now", "the emulator's clock", |text| {
            text == "2026-11-25 12:00:00Z"
        })
        .await;

    // Search filters rows.
    browser.keys("#filter-text", "242930").await;
    browser
        .wait_text("#numbers-body", "only the second WABA's number", |text| {
            text.contains("106540352242930") && !text.contains(REGISTERED)
        })
        .await;
    browser
        .script("const f = document.getElementById('filter-text'); f.value = ''; f.dispatchEvent(new Event('input'));")
        .await;

    // Select a number with the keyboard.
    browser
        .keys(&format!("tr[data-number=\"{REGISTERED}\"]"), "\u{E007}")
        .await;
    browser
        .wait_text("#limit-register .state", "a free window", |text| {
            text.contains("Not blocked") && text.contains("10 of 10 left")
        })
        .await;

    // Exhaust the register limit through the Graph API.
    for attempt in 1..=11 {
        let body = register(&client, &emulator).await;
        if attempt <= 10 {
            assert_eq!(body, json!({"success": true}), "attempt {attempt}");
        } else {
            assert_eq!(body["error"]["code"], 133016, "{body}");
        }
    }
    let blocked = browser
        .wait_text("#limit-register .state", "the 72-hour block", |text| {
            text.contains("Blocked until 2026-11-28 12:00:00Z")
        })
        .await;
    assert!(blocked.contains("ends in 72h 0m 0s"), "{blocked}");
    let marks = browser.count("#limit-register .mark").await;
    assert_eq!(marks, 10, "one mark per counted request");
    browser
        .wait_text(
            &format!("tr[data-number=\"{REGISTERED}\"]"),
            "the block in the numbers table",
            |text| text.contains("reg blocked\ndereg 0/10"),
        )
        .await;
    let slot = browser.text("#limit-register .slot-text").await;
    assert!(slot.contains("2026-11-28 12:00:00Z"), "{slot}");
    assert_eq!(
        browser.text("#limit-deregister .state").await,
        "Not blocked — 10 of 10 left"
    );

    // The journal shows the requests live, tokens masked.
    let journal = browser
        .wait_text("#journal-body", "the 11 register requests", |text| {
            text.contains("133016")
        })
        .await;
    assert_eq!(browser.count("#journal-body tr").await, 11, "{journal}");
    assert!(journal.contains("Account register deregister rate limit exceeded"));
    assert!(journal.contains("EAAEmu…"), "{journal}");
    assert!(journal.contains("******"), "PINs are masked: {journal}");
    browser.click("#journal-body tr").await;
    let details = browser
        .wait_text("#details-json", "the full request and response", |text| {
            text.contains("\"response\"") && text.contains("133016")
        })
        .await;
    assert!(details.contains("EAAEmu…"), "{details}");
    let page = browser.text("body").await;
    assert!(
        !page.contains(TOKEN),
        "the full token appears in the console"
    );
    if std::env::var_os("UPDATE_SCREENSHOT").is_some_and(|value| value == "1") {
        let png = browser.screenshot().await;
        assert!(png.starts_with(b"\x89PNG"));
        let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("docs/console.png");
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, png).unwrap();
    }

    // +72 h clears the block.
    browser.click("button[data-advance=\"72h\"]").await;
    browser
        .wait_text("#limit-register .state", "the block cleared", |text| {
            text == "Not blocked — 10 of 10 left"
        })
        .await;
    assert_eq!(browser.text("#clock-now").await, "2026-11-28 12:00:00Z");

    // Reset empties the journal; a new request shows up live with its token masked.
    browser.click("#reset").await;
    browser
        .wait_text("#status", "the reset", |text| text.contains("reset"))
        .await;
    assert_eq!(browser.text("#journal-body").await, "");
    assert_eq!(register(&client, &emulator).await, json!({"success": true}));
    let journal = browser
        .wait_text("#journal-body", "the new request", |text| {
            text.contains("POST register") && text.contains(REGISTERED)
        })
        .await;
    assert_eq!(browser.count("#journal-body tr").await, 1, "{journal}");
    assert!(journal.contains("EAAEmu… (19 chars)"), "{journal}");
    assert!(!browser.text("body").await.contains(TOKEN));

    // The free clock fields.
    browser
        .keys("#set-input", "2027-01-01T00:00:00Z\u{E007}")
        .await;
    browser
        .wait_text("#clock-now", "the clock set", |text| {
            text == "2027-01-01 00:00:00Z"
        })
        .await;
    browser.keys("#advance-input", "90m\u{E007}").await;
    browser
        .wait_text("#clock-now", "the clock advanced", |text| {
            text == "2027-01-01 01:30:00Z"
        })
        .await;

    // A fault armed in the console answers the next matching Graph request.
    browser.keys("#fault-count", "1").await;
    browser.keys("#fault-number", REGISTERED).await;
    browser
        .script("const o = document.getElementById('fault-operation'); o.value = 'register'; return o.value;")
        .await;
    browser.click("#fault-form button[type=submit]").await;
    browser
        .wait_text("#faults", "the armed fault", |text| {
            text.contains("error 133000") && text.contains(REGISTERED) && text.contains("1 left")
        })
        .await;
    let faulted = register(&client, &emulator).await;
    assert_eq!(faulted["error"]["code"], 133000, "{faulted}");
    browser
        .wait_text("#faults", "the fault used up", |text| {
            text.contains("No fault armed")
        })
        .await;

    // A fault the client cannot see through: applied, then the connection dropped. The
    // console lists it, and its journal row says what the client got.
    browser
        .script(
            "document.getElementById('fault-answer').value = 'drop';
             document.getElementById('fault-apply').value = 'true';
             return true;",
        )
        .await;
    browser.click("#fault-form button[type=submit]").await;
    browser
        .wait_text("#faults", "the drop fault", |text| {
            text.contains("drop") && text.contains("applied") && text.contains("1 left")
        })
        .await;
    let dropped = client
        .post(format!("{}/v23.0/{REGISTERED}/register", emulator.uri()))
        .bearer_auth(TOKEN)
        .json(&json!({"messaging_product": "whatsapp", "pin": "123456"}))
        .send()
        .await;
    assert!(dropped.is_err(), "no answer: {dropped:?}");
    browser
        .wait_text("#journal-body", "the dropped request", |text| {
            text.contains("dropped") && text.contains("applied")
        })
        .await;

    // Export downloads GET /__emulator/state as a file (the click on the download link is
    // recorded instead of saving to disk).
    browser
        .script(
            "window.__downloads = [];
             const create = URL.createObjectURL;
             URL.createObjectURL = (blob) => { window.__blob = blob; return create.call(URL, blob); };
             HTMLAnchorElement.prototype.click = function () {
               const name = this.download;
               window.__blob.text().then((text) => window.__downloads.push([name, text]));
             };",
        )
        .await;
    browser.click("#export").await;
    let deadline = Instant::now() + Duration::from_secs(10);
    let download = loop {
        let downloads = browser.script("return window.__downloads;").await;
        if let Some(first) = downloads.get(0) {
            break first.clone();
        }
        assert!(
            Instant::now() < deadline,
            "no export download; status: {}; {}",
            browser.text("#status").await,
            browser.script("return String(window.__downloads) + ' ' + String(HTMLAnchorElement.prototype.click);").await
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert!(
        download[0]
            .as_str()
            .unwrap()
            .starts_with("emulator-state-2027-01-01"),
        "{download}"
    );
    let exported: Value = serde_json::from_str(download[1].as_str().unwrap()).unwrap();
    assert!(exported["wabas"].to_string().contains(REGISTERED));

    // Import a state file through the file input (the same PUT /__emulator/state).
    let mut document: Value = client
        .get(format!("{}/__emulator/state", emulator.uri()))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    document["wabas"][0]["phone_numbers"][0]["display_phone_number"] = json!("+1 555-IMPORTED");
    let file = std::env::temp_dir().join(format!("wa-emu-state-{}.json", std::process::id()));
    std::fs::write(&file, document.to_string()).unwrap();
    browser
        .keys("#import-file", &file.display().to_string())
        .await;
    browser.click("#import-form button[type=submit]").await;
    browser
        .wait_text("#numbers-body", "the imported state", |text| {
            text.contains("+1 555-IMPORTED")
        })
        .await;
    let _ = std::fs::remove_file(&file);

    // A namespace: its ids and its own token are shown once.
    browser.click("#namespace-form button[type=submit]").await;
    let namespace = browser
        .wait_text("#namespace-out", "the new namespace", |text| {
            text.contains("namespace:") && text.contains("token:")
        })
        .await;
    assert!(namespace.contains("numbers:"), "{namespace}");

    // Partner onboarding: the app is listed with its secret masked until asked for.
    let apps = browser
        .wait_text("#apps-body", "the partner app", |text| {
            text.contains(APP_ID)
        })
        .await;
    assert!(apps.contains("0e1d2c… (32 chars)"), "{apps}");
    assert!(!apps.contains(APP_SECRET), "{apps}");
    browser
        .click(&format!("tr[data-app=\"{APP_ID}\"] button"))
        .await;
    browser
        .wait_text("#apps-body", "the revealed secret", |text| {
            text.contains(APP_SECRET)
        })
        .await;
    browser
        .click(&format!("tr[data-app=\"{APP_ID}\"] button"))
        .await;
    browser
        .wait_text("#apps-body", "the secret hidden again", |text| {
            !text.contains(APP_SECRET)
        })
        .await;
    // A signup run from the form shows its code and the popup's message; its number, whose
    // name is in review, is listed as such and chosen for the preset form.
    browser
        .script("document.getElementById('signup-preset').value = 'name_pending'; return true;")
        .await;
    browser.click("#signup-form button[type=submit]").await;
    let signup = browser
        .wait_text(
            "#signup-out",
            "the signup's code and session info",
            |text| text.contains("code:") && text.contains("WA_EMBEDDED_SIGNUP"),
        )
        .await;
    let number = signup
        .lines()
        .find_map(|line| line.strip_prefix("phone_number_id:"))
        .expect("the new number's id")
        .trim()
        .to_owned();
    let row = format!("tr[data-number=\"{number}\"]");
    browser
        .wait_text(&row, "the name in review", |text| {
            text.contains("name pending review")
        })
        .await;
    assert_eq!(
        browser
            .script("return document.getElementById('preset-number').value;")
            .await,
        json!(number)
    );
    browser.click("#name-approve").await;
    browser
        .wait_text(&row, "the approved name", |text| {
            !text.contains("name pending")
        })
        .await;
    // A preset through the form, then a held number is released by another.
    browser
        .script("document.getElementById('preset-choice').value = 'other_partner'; return true;")
        .await;
    browser.click("#preset-form button[type=submit]").await;
    browser
        .wait_text(&row, "the hold", |text| {
            text.contains("held: other partner")
        })
        .await;
    // A subscription made through Graph appears under its WABA.
    let subscribed = client
        .post(format!("{}/v23.0/{WABA}/subscribed_apps", emulator.uri()))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(subscribed.status(), 200);
    browser
        .wait_text("#subscriptions", "the subscribed app", |text| {
            text.contains(WABA) && text.contains("Emulator Partner App")
        })
        .await;
    // The preset form takes a typed id too.
    browser
        .script(&format!(
            "const n = document.getElementById('preset-number'); n.value = '{READY}';
             document.getElementById('preset-choice').value = 'smb'; return true;"
        ))
        .await;
    browser.click("#preset-form button[type=submit]").await;
    browser
        .wait_text("#status", "the preset applied", |text| {
            text.contains(READY) && text.contains("smb")
        })
        .await;

    // Webhooks: a callback set through the panel (the handshake runs against an in-test
    // receiver), an inbound message from the panel, the delivery's row, its exact body and
    // signature, a redelivery, delivery faults, and clearing.
    let hook = Receiver::start(APP_SECRET, "console-verify").await.unwrap();
    browser.keys("#callback-url", &hook.url()).await;
    browser.keys("#callback-token", "console-verify").await;
    browser.keys("#callback-fields", "messages").await;
    browser.click("#callback-form button[type=submit]").await;
    browser
        .wait_text("#callbacks-body", "the app's callback", |text| {
            text.contains(&hook.url()) && text.contains("messages")
        })
        .await;
    assert_eq!(hook.handshakes().len(), 1);
    browser
        .script(&format!(
            "document.getElementById('inbound-number').value = '{REGISTERED}';
             document.getElementById('inbound-text').value = 'Café / console'; return true;"
        ))
        .await;
    browser.click("#inbound-form button[type=submit]").await;
    let received = hook.wait_for(1, Duration::from_secs(10)).await.unwrap();
    assert!(received[0].signature_valid);
    let row = browser
        .wait_text("#deliveries-body", "the delivered row", |text| {
            text.contains("messages") && text.contains("delivered") && text.contains("200")
        })
        .await;
    assert!(row.contains(APP_ID) && row.contains(&hook.url()), "{row}");
    browser.click("#deliveries-body tr").await;
    let body = browser
        .wait_text("#delivery-body", "the exact body", |text| !text.is_empty())
        .await;
    assert_eq!(body.as_bytes(), &received[0].body[..]);
    assert!(body.contains(r"Caf\u00e9 \/ console"), "{body}");
    assert_eq!(
        browser.text("#delivery-signature").await,
        received[0].signature.clone().unwrap()
    );
    browser.click("#delivery-redeliver").await;
    hook.wait_for(2, Duration::from_secs(10)).await.unwrap();
    browser
        .wait_text("#deliveries-body .attempts", "two attempts", |text| {
            text == "2"
        })
        .await;
    browser
        .script("document.getElementById('delivery-fault-kind').value = 'drop'; return true;")
        .await;
    browser.keys("#delivery-fault-count", "1").await;
    browser
        .click("#delivery-fault-form button[type=submit]")
        .await;
    browser
        .wait_text("#delivery-faults", "the armed fault", |text| {
            text.contains("drop") && text.contains("1 left")
        })
        .await;
    browser.click("#delivery-faults button").await;
    browser
        .wait_text("#delivery-faults", "no fault", |text| {
            text.contains("No delivery fault armed")
        })
        .await;
    browser.click("#deliveries-clear").await;
    browser
        .wait_text("#deliveries-empty", "the empty log", |text| {
            text.contains("No deliveries yet")
        })
        .await;
    assert_eq!(browser.count("#deliveries-body tr").await, 0);
    browser.click("#callbacks-body button").await;
    browser
        .wait_text("#callbacks-body", "no callback", |text| {
            !text.contains(&hook.url())
        })
        .await;

    // Narrow window: one column.
    browser
        .call(
            reqwest::Method::POST,
            "/window/rect",
            Some(json!({"width": 600, "height": 800})),
        )
        .await;
    let columns = browser
        .script("return getComputedStyle(document.querySelector('.grid')).gridTemplateColumns.split(' ').length;")
        .await;
    assert_eq!(columns, 1, "stacked layout under 800px");
    browser.close().await;

    // Beyond loopback without an admin token, the page says the control API is off.
    let exposed = Emulator::builder()
        .listen(([0, 0, 0, 0], 0).into())
        .manual_clock(start_instant())
        .start()
        .await
        .unwrap();
    let browser = Browser::open(&driver, &client).await;
    browser
        .goto(&format!(
            "http://127.0.0.1:{}/__emulator/console",
            exposed.addr().port()
        ))
        .await;
    browser
        .wait_text("#banner", "the disabled message", |text| {
            text.contains("beyond loopback")
        })
        .await;
    browser.close().await;

    // With an admin token configured the page asks for it, then works.
    let guarded = Emulator::builder()
        .manual_clock(start_instant())
        .admin_token("console-s3cret")
        .start()
        .await
        .unwrap();
    let browser = Browser::open(&driver, &client).await;
    browser
        .goto(&format!("{}/__emulator/console", guarded.uri()))
        .await;
    browser
        .wait_text("#token-form", "the token prompt", |text| {
            text.contains("Admin token needed")
        })
        .await;
    assert!(!browser.text("#numbers-body").await.contains(REGISTERED));
    browser.keys("#token-input", "console-s3cret\u{E007}").await;
    browser
        .wait_text("#numbers-body", "the numbers once authorised", |text| {
            text.contains(REGISTERED)
        })
        .await;
    browser.close().await;
}
