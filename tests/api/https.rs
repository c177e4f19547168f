//! HTTPS beside HTTP: the local CA, `graph.facebook.com` with verification on, and start-up
//! errors.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde_json::{Value, json};
use wa_cloud_emulator::tls::TlsError;
use wa_cloud_emulator::{Emulator, EmulatorBuilder, RunningEmulator, StartError};

use crate::helpers::*;
use crate::messages::{assert_not_registered, assert_sent};

/// A fresh, empty scratch directory for one test.
struct Scratch(PathBuf);

impl Scratch {
    fn new(name: &str) -> Self {
        let dir = std::env::temp_dir().join(format!("wa-emu-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        Self(dir)
    }

    fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn https_builder() -> EmulatorBuilder {
    Emulator::builder()
        .manual_clock(start_instant())
        .https_listen(SocketAddr::from(([127, 0, 0, 1], 0)))
}

async fn start_error(builder: EmulatorBuilder) -> StartError {
    match builder.start().await {
        Ok(_) => panic!("the emulator started"),
        Err(error) => error,
    }
}

/// docs/guide/https.md "Rust (reqwest)": a client that calls `https://graph.facebook.com`
/// unmodified, with certificate verification on, reaching the emulator.
fn graph_client(emulator: &RunningEmulator) -> reqwest::Client {
    // --- docs/guide/https.md snippet (shown verbatim there; tests/docs checks it): begin ---
    let ca = reqwest::Certificate::from_pem(emulator.ca_pem().unwrap().as_bytes()).unwrap();
    let https_addr = emulator.https_addr().unwrap(); // e.g. 127.0.0.1:8443
    reqwest::Client::builder()
        .resolve("graph.facebook.com", https_addr) // the port here wins over :443
        .tls_built_in_root_certs(false)
        .add_root_certificate(ca)
        .https_only(true)
        .build()
        .unwrap()
    // --- docs/guide/https.md snippet: end ---
}

async fn call(
    client: &reqwest::Client,
    method: &str,
    path: &str,
    body: Value,
) -> reqwest::Response {
    let url = format!("https://graph.facebook.com{path}");
    let request = match method {
        "GET" => client.get(url),
        _ => client.post(url).json(&body),
    };
    request.bearer_auth(TOKEN).send().await.unwrap()
}

#[tokio::test]
async fn graph_facebook_com_verifies_and_sending_follows_registration() {
    let emulator = https_builder().start().await.unwrap();
    let client = graph_client(&emulator);
    let send =
        json!({"messaging_product": "whatsapp", "to": "15550001111", "text": {"body": "hi"}});
    let messages = format!("/v21.0/{READY}/messages");
    assert_not_registered(call(&client, "POST", &messages, send.clone()).await).await;
    assert_success(
        call(
            &client,
            "POST",
            &format!("/v21.0/{READY}/register"),
            json!({"messaging_product": "whatsapp", "pin": "123456"}),
        )
        .await,
    )
    .await;
    assert_sent(
        call(&client, "POST", &messages, send.clone()).await,
        "15550001111",
        "15550001111",
    )
    .await;
    assert_success(
        call(
            &client,
            "POST",
            &format!("/v21.0/{READY}/deregister"),
            json!({}),
        )
        .await,
    )
    .await;
    assert_not_registered(call(&client, "POST", &messages, send).await).await;
}

#[tokio::test]
async fn without_trusting_the_ca_verification_fails() {
    let emulator = https_builder().start().await.unwrap();
    let untrusting = reqwest::Client::builder()
        .resolve("graph.facebook.com", emulator.https_addr().unwrap())
        .build()
        .unwrap();
    let error = untrusting
        .post(format!("https://graph.facebook.com/v21.0/{READY}/register"))
        .send()
        .await
        .unwrap_err();
    assert!(error.is_connect(), "{error:?}");
    // A name the certificate does not cover fails even with the CA trusted.
    let ca = reqwest::Certificate::from_pem(emulator.ca_pem().unwrap().as_bytes()).unwrap();
    let wrong_name = reqwest::Client::builder()
        .resolve("example.com", emulator.https_addr().unwrap())
        .tls_built_in_root_certs(false)
        .add_root_certificate(ca)
        .build()
        .unwrap();
    let error = wrong_name
        .get("https://example.com/__emulator/health")
        .send()
        .await
        .unwrap_err();
    assert!(error.is_connect(), "{error:?}");
}

#[tokio::test]
async fn both_listeners_serve_the_same_state() {
    let emulator = https_builder()
        .tls_names(["emulator.test"])
        .start()
        .await
        .unwrap();
    assert_eq!(
        emulator.tls_names(),
        [
            "graph.facebook.com",
            "localhost",
            "127.0.0.1",
            "emulator.test"
        ]
    );
    let https = graph_client(&emulator);
    let plain = reqwest::Client::new();
    assert_success(
        call(
            &https,
            "POST",
            &format!("/v23.0/{READY}/register"),
            json!({"messaging_product": "whatsapp", "pin": "123456"}),
        )
        .await,
    )
    .await;
    assert!(emulator.state().number(READY).unwrap().registered);
    // The same journal, over plain HTTP.
    let journal: Value = plain
        .get(format!("{}/__emulator/journal", emulator.uri()))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(journal["data"][0]["operation"], "register");
    assert_eq!(journal["data"][0]["number"], READY);
    // Deregister over HTTP; HTTPS sees it.
    let response = plain
        .post(format!("{}/v23.0/{READY}/deregister", emulator.uri()))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap();
    assert_success(response).await;
    let send = json!({"messaging_product": "whatsapp", "to": "1555", "text": {"body": "hi"}});
    assert_not_registered(call(&https, "POST", &format!("/v23.0/{READY}/messages"), send).await)
        .await;
    // Every extra name and the IP are in the certificate.
    let ca = reqwest::Certificate::from_pem(emulator.ca_pem().unwrap().as_bytes()).unwrap();
    let by_ip = reqwest::Client::builder()
        .tls_built_in_root_certs(false)
        .add_root_certificate(ca.clone())
        .build()
        .unwrap();
    let health = by_ip
        .get(format!(
            "{}/__emulator/health",
            emulator.https_uri().unwrap()
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(health.status(), 200);
    let by_name = reqwest::Client::builder()
        .resolve("emulator.test", emulator.https_addr().unwrap())
        .tls_built_in_root_certs(false)
        .add_root_certificate(ca)
        .build()
        .unwrap();
    let health = by_name
        .get("https://emulator.test/__emulator/health")
        .send()
        .await
        .unwrap();
    assert_eq!(health.status(), 200);
    emulator.shutdown().await.unwrap();
}

#[tokio::test]
async fn the_ca_is_created_once_and_loaded_after_a_restart() {
    let scratch = Scratch::new("ca-restart");
    let dir = scratch.path().join("nested/ca");
    let first = https_builder().ca_dir(&dir).start().await.unwrap();
    let pem = first.ca_pem().unwrap().to_owned();
    assert!(pem.starts_with("-----BEGIN CERTIFICATE-----"), "{pem}");
    assert_eq!(std::fs::read_to_string(dir.join("ca.pem")).unwrap(), pem);
    let key = std::fs::read_to_string(dir.join("ca-key.pem")).unwrap();
    assert!(key.contains("PRIVATE KEY"));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(dir.join("ca-key.pem"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    // Served on the control API (both listeners), never the key.
    let served = reqwest::get(format!("{}/__emulator/ca.pem", first.uri()))
        .await
        .unwrap();
    assert_eq!(served.status(), 200);
    assert_eq!(served.headers()["content-type"], "application/x-pem-file");
    assert_eq!(served.text().await.unwrap(), pem);
    let served = graph_client(&first)
        .get("https://graph.facebook.com/__emulator/ca.pem")
        .send()
        .await
        .unwrap();
    assert_eq!(served.text().await.unwrap(), pem);
    first.shutdown().await.unwrap();

    let second = https_builder().ca_dir(&dir).start().await.unwrap();
    assert_eq!(second.ca_pem().unwrap(), pem, "same CA after a restart");
    assert_eq!(
        std::fs::read_to_string(dir.join("ca-key.pem")).unwrap(),
        key
    );
    // A client that trusted the first run's CA trusts the second run's leaf.
    let ca = reqwest::Certificate::from_pem(pem.as_bytes()).unwrap();
    let old_trust = reqwest::Client::builder()
        .resolve("graph.facebook.com", second.https_addr().unwrap())
        .tls_built_in_root_certs(false)
        .add_root_certificate(ca)
        .build()
        .unwrap();
    assert_success(
        old_trust
            .post(format!("https://graph.facebook.com/v21.0/{READY}/register"))
            .bearer_auth(TOKEN)
            .json(&json!({"messaging_product": "whatsapp", "pin": "123456"}))
            .send()
            .await
            .unwrap(),
    )
    .await;
}

#[tokio::test]
async fn without_a_ca_dir_each_run_has_its_own_ca_and_http_only_has_none() {
    let first = https_builder().start().await.unwrap();
    let second = https_builder().start().await.unwrap();
    assert_ne!(first.ca_pem(), second.ca_pem());
    let plain_only = Emulator::builder().start().await.unwrap();
    assert_eq!(plain_only.ca_pem(), None);
    assert_eq!(plain_only.https_uri(), None);
    let response = reqwest::get(format!("{}/__emulator/ca.pem", plain_only.uri()))
        .await
        .unwrap();
    assert_eq!(response.status(), 404);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["emulator_error"]["kind"], "not_found");
    assert!(
        body["emulator_error"]["message"]
            .as_str()
            .unwrap()
            .contains("--https-listen"),
        "{body}"
    );
}

#[tokio::test]
async fn mismatched_unreadable_and_incomplete_ca_files_are_clear_errors() {
    let scratch = Scratch::new("ca-errors");
    let a = scratch.path().join("a");
    let b = scratch.path().join("b");
    drop(https_builder().ca_dir(&a).start().await.unwrap());
    drop(https_builder().ca_dir(&b).start().await.unwrap());

    // Certificate of one CA, key of another.
    std::fs::copy(a.join("ca.pem"), b.join("ca.pem")).unwrap();
    let error = start_error(https_builder().ca_dir(&b)).await;
    assert!(
        matches!(error, StartError::Tls(TlsError::Mismatch { .. })),
        "{error:?}"
    );
    assert!(error.to_string().contains("do not match"), "{error}");

    // Garbage key, garbage certificate.
    std::fs::write(b.join("ca-key.pem"), "not a key").unwrap();
    let error = start_error(https_builder().ca_dir(&b)).await;
    assert!(
        matches!(error, StartError::Tls(TlsError::BadKey { .. })),
        "{error:?}"
    );
    assert!(error.to_string().contains("ca-key.pem"), "{error}");
    std::fs::copy(a.join("ca-key.pem"), b.join("ca-key.pem")).unwrap();
    std::fs::write(b.join("ca.pem"), "not a certificate").unwrap();
    let error = start_error(https_builder().ca_dir(&b)).await;
    assert!(
        matches!(error, StartError::Tls(TlsError::BadCertificate { .. })),
        "{error:?}"
    );

    // Only one of the two files.
    std::fs::remove_file(b.join("ca.pem")).unwrap();
    let error = start_error(https_builder().ca_dir(&b)).await;
    assert!(
        matches!(
            error,
            StartError::Tls(TlsError::Incomplete {
                present: "ca-key.pem",
                missing: "ca.pem",
                ..
            })
        ),
        "{error:?}"
    );

    // Unreadable: the key path is a directory.
    let c = scratch.path().join("c");
    std::fs::create_dir_all(c.join("ca-key.pem")).unwrap();
    std::fs::copy(a.join("ca.pem"), c.join("ca.pem")).unwrap();
    let error = start_error(https_builder().ca_dir(&c)).await;
    assert!(
        matches!(error, StartError::Tls(TlsError::Io { action: "read", .. })),
        "{error:?}"
    );
    assert!(error.to_string().contains("--ca-dir"), "{error}");

    // The CA directory cannot be created (a file is in the way).
    let file = scratch.path().join("file");
    std::fs::write(&file, "x").unwrap();
    let error = start_error(https_builder().ca_dir(file.join("ca"))).await;
    assert!(
        matches!(error, StartError::Tls(TlsError::Io { .. })),
        "{error:?}"
    );

    // The first CA still loads: nothing above touched it.
    drop(https_builder().ca_dir(&a).start().await.unwrap());
}

#[tokio::test]
async fn a_busy_port_and_a_bad_name_are_clear_errors() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap();
    let error = start_error(Emulator::builder().https_listen(addr)).await;
    assert!(
        matches!(&error, StartError::HttpsBind { addr: a, .. } if *a == addr),
        "{error:?}"
    );
    assert!(error.to_string().contains("--https-listen"), "{error}");
    for name in ["not a name", "bad_name!", ""] {
        let error = start_error(https_builder().tls_names([name])).await;
        assert!(
            matches!(&error, StartError::Tls(TlsError::InvalidName { name: n }) if n == name),
            "{error:?}"
        );
        assert!(error.to_string().contains("--tls-name"), "{error}");
    }
}
