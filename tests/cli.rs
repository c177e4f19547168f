//! The binary's client subcommands against an in-process emulator (port 0, one per test).

use std::process::Output;

use tokio::process::Command;
use wa_cloud_emulator::Emulator;

/// Runs the built binary with `args`, ignoring any `WA_EMU_*` settings of the caller.
async fn run(args: &[&str]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_wa-cloud-emulator"));
    for (name, _) in std::env::vars() {
        if name.starts_with("WA_EMU_") {
            command.env_remove(name);
        }
    }
    command
        .args(args)
        .kill_on_drop(true)
        .output()
        .await
        .expect("the binary runs")
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
async fn healthcheck_refuses_an_https_url_with_exit_1() {
    let output = run(&["healthcheck", "--url", "https://127.0.0.1:1"]).await;
    assert_eq!(output.status.code(), Some(1), "{}", describe(&output));
    assert!(
        String::from_utf8_lossy(&output.stderr).contains("only http://"),
        "{}",
        describe(&output)
    );
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
    let number = emulator
        .state()
        .world
        .numbers()
        .into_iter()
        .find(|number| number.id == "106540352242922")
        .unwrap();
    assert!(!number.registered, "the flow ends deregistered");
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
