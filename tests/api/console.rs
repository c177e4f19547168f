//! The web console's assets: embedded, self-contained, small, and served even when the control
//! API needs a token (the page asks for it; its calls go through the guarded API).

use std::net::SocketAddr;

use crate::helpers::TestEmulator;

const ASSETS: [(&str, &str); 3] = [
    ("/__emulator/console", "text/html"),
    ("/__emulator/console/app.js", "text/javascript"),
    ("/__emulator/console/app.css", "text/css"),
];

#[tokio::test]
async fn the_console_is_served_from_the_binary_with_no_external_loads() {
    let emu = TestEmulator::spawn().await;
    let mut total = 0;
    for (path, content_type) in ASSETS {
        let response = emu.client.get(emu.url(path)).send().await.unwrap();
        assert_eq!(response.status(), 200, "{path}");
        let headers = response.headers().clone();
        assert!(
            headers["content-type"]
                .to_str()
                .unwrap()
                .starts_with(content_type),
            "{path}: {:?}",
            headers["content-type"]
        );
        assert!(
            headers["content-security-policy"]
                .to_str()
                .unwrap()
                .contains("default-src 'self'")
        );
        let body = response.text().await.unwrap();
        total += body.len();
        for external in ["http://", "https://", "//cdn", "@import"] {
            assert!(!body.contains(external), "{path} mentions {external}");
        }
    }
    assert!(total < 300 * 1024, "the console weighs {total} bytes");
    let page = emu
        .client
        .get(emu.url("/__emulator/console"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains(r#"src="/__emulator/console/app.js""#));
    // The style sheet is inlined (no second request before the first paint).
    assert!(page.contains("<style>") && !page.contains(r#"href="/__emulator/console/app.css""#));
    // Every form control has a label.
    for id in [
        "filter-text",
        "token-input",
        "advance-input",
        "fault-code",
        "import-file",
        "callback-url",
        "inbound-number",
        "delivery-fault-kind",
    ] {
        assert!(page.contains(&format!(r#"<label for="{id}">"#)), "{id}");
    }
}

#[tokio::test]
async fn the_console_page_is_served_when_the_control_api_needs_a_token() {
    let emulator = wa_cloud_emulator::Emulator::builder()
        .listen(SocketAddr::from(([0, 0, 0, 0], 0)))
        .admin_token("s3cret")
        .start()
        .await
        .unwrap();
    let base = format!("http://127.0.0.1:{}", emulator.addr().port());
    let client = reqwest::Client::new();
    for (path, _) in ASSETS {
        let response = client.get(format!("{base}{path}")).send().await.unwrap();
        assert_eq!(response.status(), 200, "{path}");
    }
    // What the page calls is still guarded.
    let response = client
        .get(format!("{base}/__emulator/numbers"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 401);
}
