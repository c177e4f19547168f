//! The binary's client subcommands against an in-process emulator (port 0, one per test).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Output;
use std::time::Duration;

use tokio::process::Command;
use wa_cloud_emulator::{Emulator, RunningEmulator};

/// The built binary with `args`, ignoring any `WA_EMU_*` settings and `SSL_CERT_FILE` of the
/// caller.
fn command(args: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_wa-cloud-emulator"));
    for (name, _) in std::env::vars() {
        if name.starts_with("WA_EMU_") || name == "SSL_CERT_FILE" {
            command.env_remove(name);
        }
    }
    command.args(args).kill_on_drop(true);
    command
}

/// Runs the built binary with `args` (see [`command`]).
async fn run(args: &[&str]) -> Output {
    command(args).output().await.expect("the binary runs")
}

/// Runs the built binary with `args` and `SSL_CERT_FILE=ca_file`, as an app given the CA.
async fn run_trusting(ca_file: &Path, args: &[&str]) -> Output {
    command(args)
        .env("SSL_CERT_FILE", ca_file)
        .output()
        .await
        .expect("the binary runs")
}

/// A fresh scratch directory for one test, removed afterwards.
struct Scratch(PathBuf);

impl Scratch {
    fn new(name: &str) -> Self {
        let dir = std::env::temp_dir().join(format!("wa-emu-cli-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        Self(dir)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// An emulator with HTTPS on `https` and its CA in `ca_dir`.
async fn https_emulator(https: SocketAddr, ca_dir: &Path) -> RunningEmulator {
    Emulator::builder()
        .https_listen(https)
        .ca_dir(ca_dir)
        .start()
        .await
        .unwrap()
}

fn loopback_any() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 0))
}

fn is_registered(emulator: &RunningEmulator, id: &str) -> bool {
    emulator
        .state()
        .world()
        .numbers()
        .into_iter()
        .find(|number| number.id == id)
        .unwrap()
        .registered
}

fn describe(output: &Output) -> String {
    format!(
        "status {:?}\nstdout: {}\nstderr: {}",
        output.status.code(),
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// A loopback port with nothing listening on it.
async fn closed_port() -> u16 {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    port
}

#[tokio::test]
async fn healthcheck_exits_0_against_a_running_emulator() {
    // Arrange
    let emulator = Emulator::builder().start().await.unwrap();

    // Act
    let by_base_url = run(&["healthcheck", "--url", &emulator.uri()]).await;
    let by_listen = run(&["--listen", &emulator.addr().to_string(), "healthcheck"]).await;

    // Assert
    assert_eq!(
        by_base_url.status.code(),
        Some(0),
        "{}",
        describe(&by_base_url)
    );
    assert_eq!(by_listen.status.code(), Some(0), "{}", describe(&by_listen));
}

#[tokio::test]
async fn healthcheck_exits_1_against_a_closed_port() {
    // Arrange
    let url = format!("http://127.0.0.1:{}", closed_port().await);

    // Act
    let output = run(&["healthcheck", "--url", &url, "--timeout", "2s"]).await;

    // Assert
    assert_eq!(output.status.code(), Some(1), "{}", describe(&output));
    assert!(
        String::from_utf8_lossy(&output.stderr).contains("unhealthy"),
        "{}",
        describe(&output)
    );
}

#[tokio::test]
async fn healthcheck_exits_1_when_the_answer_is_not_the_health_document() {
    // Arrange: a Graph path answers an error envelope, not {"status":"ok"}
    let emulator = Emulator::builder().start().await.unwrap();
    let url = format!("{}/v23.0/106540352242922", emulator.uri());

    // Act
    let output = run(&["healthcheck", "--url", &url]).await;

    // Assert
    assert_eq!(output.status.code(), Some(1), "{}", describe(&output));
}

#[tokio::test]
async fn healthcheck_refuses_an_https_url_without_a_ca_with_exit_1() {
    let output = run(&["healthcheck", "--url", "https://127.0.0.1:1"]).await;
    assert_eq!(output.status.code(), Some(1), "{}", describe(&output));
    assert!(
        String::from_utf8_lossy(&output.stderr).contains("SSL_CERT_FILE"),
        "{}",
        describe(&output)
    );
}

#[tokio::test]
async fn healthcheck_verifies_https_against_ssl_cert_file() {
    // Arrange
    let scratch = Scratch::new("health-https");
    let emulator = https_emulator(loopback_any(), &scratch.0).await;
    let url = format!(
        "https://localhost:{}",
        emulator.https_addr().unwrap().port()
    );

    // Act
    let output = run_trusting(&scratch.0.join("ca.pem"), &["healthcheck", "--url", &url]).await;

    // Assert
    assert_eq!(output.status.code(), Some(0), "{}", describe(&output));
}

#[tokio::test]
async fn demo_flow_passes_against_the_default_fixtures() {
    // Arrange
    let emulator = Emulator::builder().start().await.unwrap();

    // Act
    let output = run(&["demo-flow", "--base-url", &emulator.uri()]).await;

    // Assert
    assert_eq!(output.status.code(), Some(0), "{}", describe(&output));
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        stdout.contains("PASS demo flow complete"),
        "{}",
        describe(&output)
    );
    assert!(
        !is_registered(&emulator, "106540352242922"),
        "the flow ends deregistered"
    );
}

#[tokio::test]
async fn demo_flow_exits_1_on_an_unexpected_answer() {
    // Arrange: 106540352242923 is not verified, so register answers an error
    let emulator = Emulator::builder().start().await.unwrap();

    // Act
    let output = run(&[
        "demo-flow",
        "--base-url",
        &emulator.uri(),
        "--number",
        "106540352242923",
    ])
    .await;

    // Assert
    assert_eq!(output.status.code(), Some(1), "{}", describe(&output));
    assert!(
        String::from_utf8_lossy(&output.stdout).contains("FAIL register:"),
        "{}",
        describe(&output)
    );
}

#[tokio::test]
async fn demo_flow_exits_1_when_the_emulator_never_answers() {
    let url = format!("http://127.0.0.1:{}", closed_port().await);
    let output = run(&["demo-flow", "--base-url", &url, "--wait", "1s"]).await;
    assert_eq!(output.status.code(), Some(1), "{}", describe(&output));
    assert!(
        String::from_utf8_lossy(&output.stdout).contains("not healthy within"),
        "{}",
        describe(&output)
    );
}

#[tokio::test]
async fn demo_flow_over_https_by_name_trusts_ssl_cert_file_and_verifies() {
    // Arrange: HTTPS on a random port, the CA in a directory, as on the compose volume
    let scratch = Scratch::new("demo-https");
    let emulator = https_emulator(loopback_any(), &scratch.0).await;
    let pin = format!("graph.facebook.com:{}", emulator.https_addr().unwrap());

    // Act: the URL names graph.facebook.com; --resolve stands for the network alias
    let output = run_trusting(
        &scratch.0.join("ca.pem"),
        &[
            "demo-flow",
            "--base-url",
            "https://graph.facebook.com",
            "--api-version",
            "v21.0",
            "--resolve",
            &pin,
        ],
    )
    .await;

    // Assert
    assert_eq!(output.status.code(), Some(0), "{}", describe(&output));
    let stdout = String::from_utf8_lossy(&output.stdout);
    for line in [
        "PASS trusting 1 CA certificate(s) from ",
        "PASS emulator at https://graph.facebook.com is healthy (certificate verified)",
        "PASS register: POST https://graph.facebook.com/v21.0/106540352242922/register 200",
        "PASS send a message while registered: POST https://graph.facebook.com/v21.0/106540352242922/messages 200",
        "PASS send a message after deregistering: POST https://graph.facebook.com/v21.0/106540352242922/messages 400",
        "PASS demo flow complete",
    ] {
        assert!(
            stdout.contains(line),
            "missing {line:?}\n{}",
            describe(&output)
        );
    }
    assert!(stdout.contains("133010"), "{}", describe(&output));
    assert!(!is_registered(&emulator, "106540352242922"));
}

#[tokio::test]
async fn demo_flow_waits_for_the_ca_file_and_the_emulator() {
    // Arrange: the client starts first, as in compose where nothing orders the two
    let scratch = Scratch::new("demo-wait");
    let https = SocketAddr::from(([127, 0, 0, 1], closed_port().await));
    let pin = format!("graph.facebook.com:{https}");
    let ca_file = scratch.0.join("ca.pem");
    let client = command(&[
        "demo-flow",
        "--base-url",
        "https://graph.facebook.com",
        "--resolve",
        &pin,
        "--wait",
        "20s",
    ])
    .env("SSL_CERT_FILE", &ca_file)
    .output();
    let client = tokio::spawn(client);
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert!(!ca_file.exists());

    // Act
    let emulator = https_emulator(https, &scratch.0).await;
    let output = client.await.unwrap().unwrap();

    // Assert
    assert_eq!(output.status.code(), Some(0), "{}", describe(&output));
    assert!(!is_registered(&emulator, "106540352242922"));
}

#[tokio::test]
async fn demo_flow_fails_against_a_ca_it_does_not_trust() {
    // Arrange: the emulator's CA differs from the one in SSL_CERT_FILE
    let trusted = Scratch::new("demo-other-ca");
    let _other = https_emulator(loopback_any(), &trusted.0).await;
    let served = Scratch::new("demo-served-ca");
    let emulator = https_emulator(loopback_any(), &served.0).await;
    let pin = format!("graph.facebook.com:{}", emulator.https_addr().unwrap());

    // Act
    let output = run_trusting(
        &trusted.0.join("ca.pem"),
        &[
            "demo-flow",
            "--base-url",
            "https://graph.facebook.com",
            "--resolve",
            &pin,
            "--wait",
            "1s",
        ],
    )
    .await;

    // Assert: refused at the handshake (same CA name, other key: the signature fails);
    // nothing was registered
    assert_eq!(output.status.code(), Some(1), "{}", describe(&output));
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        stdout.contains("invalid peer certificate"),
        "{}",
        describe(&output)
    );
    assert!(!is_registered(&emulator, "106540352242922"));
}

#[tokio::test]
async fn demo_flow_fails_when_the_certificate_does_not_name_the_host() {
    // Arrange: the right CA, but example.com is not in the leaf certificate
    let scratch = Scratch::new("demo-wrong-name");
    let emulator = https_emulator(loopback_any(), &scratch.0).await;
    let pin = format!("example.com:{}", emulator.https_addr().unwrap());

    // Act
    let output = run_trusting(
        &scratch.0.join("ca.pem"),
        &[
            "demo-flow",
            "--base-url",
            "https://example.com",
            "--resolve",
            &pin,
            "--wait",
            "1s",
        ],
    )
    .await;

    // Assert
    assert_eq!(output.status.code(), Some(1), "{}", describe(&output));
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        stdout.contains("invalid peer certificate: certificate not valid for name"),
        "{}",
        describe(&output)
    );
}

#[tokio::test]
async fn demo_flow_over_https_needs_a_ca_file() {
    let output = run(&["demo-flow", "--base-url", "https://graph.facebook.com"]).await;
    assert_eq!(output.status.code(), Some(1), "{}", describe(&output));
    assert!(
        String::from_utf8_lossy(&output.stdout).contains("SSL_CERT_FILE"),
        "{}",
        describe(&output)
    );
}
