//! Persistence with `--data-dir`: restarts keep the state, SIGKILL loses no acknowledged
//! change, SIGTERM finishes in-flight requests and persists them, corrupt or foreign files are
//! refused and left untouched.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};
use wa_cloud_emulator::{Emulator, FixtureDocument, StartError};

mod common;
use common::TOKEN;

const NUMBERS: usize = 6;

/// A fresh, empty directory under the system temp dir, removed when dropped.
struct TempDir(PathBuf);

impl TempDir {
    fn new(name: &str) -> Self {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let path = std::env::temp_dir().join(format!(
            "wa-emu-persist-{}-{name}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&path);
        std::fs::create_dir_all(&path).unwrap();
        Self(path)
    }

    fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn number_id(index: usize) -> String {
    format!("1065403522430{index:02}")
}

/// A fixture with `NUMBERS` verified numbers (PIN 000000) and one all-powerful token.
fn fixture_json() -> Value {
    let numbers: Vec<Value> = (0..NUMBERS)
        .map(|index| {
            json!({
                "id": number_id(index),
                "display_phone_number": format!("+1 555-020-{index:04}"),
                "verified_name": format!("Crash {index}"),
                "code_verification_status": "VERIFIED",
                "pin": "000000",
            })
        })
        .collect();
    json!({
        "tokens": [{"value": TOKEN}],
        "wabas": [{"id": "102290129340501", "name": "Crash WABA", "phone_numbers": numbers}],
    })
}

/// The built binary, serving on a free port with `dir` as its data directory.
struct Server {
    child: Child,
    base: String,
}

async fn spawn_server(dir: &Path) -> Server {
    let fixtures = dir.join("fixtures.json");
    if !fixtures.exists() {
        std::fs::write(&fixtures, fixture_json().to_string()).unwrap();
    }
    let data = dir.join("data");
    let mut command = Command::new(env!("CARGO_BIN_EXE_wa-cloud-emulator"));
    for (name, _) in std::env::vars() {
        if name.starts_with("WA_EMU_") {
            command.env_remove(name);
        }
    }
    let mut child = command
        .args(["--listen", "127.0.0.1:0", "--rate-limit", "1000000"])
        .args(["--clock", "manual", "--clock-start", "2026-11-25T12:00:00Z"])
        .arg("--fixtures")
        .arg(&fixtures)
        .arg("--data-dir")
        .arg(&data)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .kill_on_drop(true)
        .spawn()
        .expect("the binary runs");
    let stdout = child.stdout.take().unwrap();
    let mut lines = BufReader::new(stdout).lines();
    let first = tokio::time::timeout(Duration::from_secs(20), lines.next_line())
        .await
        .expect("banner in time")
        .unwrap()
        .expect("a banner line");
    let base = first
        .split_whitespace()
        .find(|word| word.starts_with("http://"))
        .expect("listening address")
        .to_owned();
    // Keep draining stdout so the child never blocks on a full pipe.
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    Server { child, base }
}

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap()
}

async fn export(client: &reqwest::Client, base: &str) -> Value {
    let response = client
        .get(format!("{base}/__emulator/state"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    response.json().await.unwrap()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    Register,
    Deregister,
    SetPin(u32),
}

/// What the test knows about one number: acknowledged outcomes, and the one request (per
/// worker, requests are sequential) that was in flight when the server died.
#[derive(Debug, Clone)]
struct Model {
    registered: bool,
    pin: String,
    register_acked: usize,
    register_sent: usize,
    deregister_acked: usize,
    deregister_sent: usize,
    in_flight: Option<Op>,
}

impl Model {
    fn new() -> Self {
        Self {
            registered: false,
            pin: "000000".into(),
            register_acked: 0,
            register_sent: 0,
            deregister_acked: 0,
            deregister_sent: 0,
            in_flight: None,
        }
    }
}

/// xorshift64*: a tiny seeded generator, so every run kills at the same offsets.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// Drives one number with sequential requests until `stop` or a transport error.
async fn drive(
    client: reqwest::Client,
    base: String,
    index: usize,
    mut model: Model,
    mut rng: Rng,
    stop: Arc<AtomicBool>,
) -> Model {
    let id = number_id(index);
    while !stop.load(Ordering::Relaxed) {
        let op = match rng.below(5) {
            0 | 1 => Op::Register,
            2 | 3 => Op::Deregister,
            _ => Op::SetPin(rng.below(1_000_000) as u32),
        };
        let request = match op {
            Op::Register => {
                model.register_sent += 1;
                client
                    .post(format!("{base}/v23.0/{id}/register"))
                    .json(&json!({"messaging_product": "whatsapp", "pin": model.pin}))
            }
            Op::Deregister => {
                model.deregister_sent += 1;
                client.post(format!("{base}/v23.0/{id}/deregister"))
            }
            Op::SetPin(pin) => client
                .post(format!("{base}/v23.0/{id}"))
                .json(&json!({"pin": format!("{pin:06}")})),
        };
        model.in_flight = Some(op);
        let Ok(response) = request.bearer_auth(TOKEN).send().await else {
            return model;
        };
        let status = response.status();
        if response.bytes().await.is_err() {
            return model;
        }
        model.in_flight = None;
        if status == 200 {
            match op {
                Op::Register => {
                    model.register_acked += 1;
                    model.registered = true;
                }
                Op::Deregister => {
                    model.deregister_acked += 1;
                    model.registered = false;
                }
                Op::SetPin(pin) => model.pin = format!("{pin:06}"),
            }
        }
    }
    model
}

/// Checks the loaded state against every acknowledged change, then adopts it.
fn verify(state: &Value, models: &mut [Model]) {
    let numbers = state["wabas"][0]["phone_numbers"].as_array().unwrap();
    assert_eq!(numbers.len(), NUMBERS, "every number survives");
    for (index, model) in models.iter_mut().enumerate() {
        let id = number_id(index);
        let number = numbers
            .iter()
            .find(|number| number["id"] == id.as_str())
            .unwrap();
        let count = |op: &str| {
            number["rate_limits"][op]["requests"]
                .as_array()
                .map_or(0, Vec::len)
        };
        let (registers, deregisters) = (count("register"), count("deregister"));
        assert!(
            (model.register_acked..=model.register_sent).contains(&registers),
            "{id}: {registers} register requests counted, {} acknowledged, {} sent",
            model.register_acked,
            model.register_sent
        );
        assert!(
            (model.deregister_acked..=model.deregister_sent).contains(&deregisters),
            "{id}: {deregisters} deregister requests counted, {} acknowledged, {} sent",
            model.deregister_acked,
            model.deregister_sent
        );
        let registered = number["registered"].as_bool().unwrap();
        let pin = number["pin"].as_str().unwrap().to_owned();
        let registered_ok = registered == model.registered
            || matches!(
                (model.in_flight, registered),
                (Some(Op::Register), true) | (Some(Op::Deregister), false)
            );
        assert!(
            registered_ok,
            "{id}: registered {registered}, model {model:?}"
        );
        let pin_ok = pin == model.pin
            || matches!(model.in_flight, Some(Op::SetPin(p)) if format!("{p:06}") == pin);
        assert!(pin_ok, "{id}: pin differs from the acknowledged one");
        // The in-flight request may or may not have landed: adopt what did.
        model.registered = registered;
        model.pin = pin;
        model.register_sent = registers;
        model.register_acked = registers;
        model.deregister_sent = deregisters;
        model.deregister_acked = deregisters;
        model.in_flight = None;
    }
}

async fn run_traffic(
    base: &str,
    models: &[Model],
    rng: &mut Rng,
    stop: &Arc<AtomicBool>,
) -> Vec<tokio::task::JoinHandle<Model>> {
    (0..NUMBERS)
        .map(|index| {
            tokio::spawn(drive(
                client(),
                base.to_owned(),
                index,
                models[index].clone(),
                Rng(rng.next() | 1),
                Arc::clone(stop),
            ))
        })
        .collect()
}

/// Six numbers, each driven by its own sequential client (register, deregister, PIN change at
/// random), all at once; SIGKILL at seeded random offsets, five times, restarting on the same
/// directory. After each restart: every acknowledged counted request is in the limiter log
/// (and nothing beyond what was sent), registration and PIN match the last acknowledged
/// operation (or the one in flight). Checked to fail when responses skip the durability wait.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_at_random_moments_loses_no_acknowledged_change() {
    const KILLS: usize = 5;
    let dir = TempDir::new("sigkill");
    let mut rng = Rng(0x5EED_CAFE_F00D_0001);
    let mut models = vec![Model::new(); NUMBERS];
    let mut acknowledged = 0;
    let started = tokio::time::Instant::now();
    for _round in 0..KILLS {
        let mut server = spawn_server(dir.path()).await;
        verify(&export(&client(), &server.base).await, &mut models);
        let acked_before: usize = models
            .iter()
            .map(|model| model.register_acked + model.deregister_acked)
            .sum();
        let stop = Arc::new(AtomicBool::new(false));
        let workers = run_traffic(&server.base, &models, &mut rng, &stop).await;
        tokio::time::sleep(Duration::from_millis(150 + rng.below(450))).await;
        server.child.start_kill().unwrap(); // SIGKILL
        let status = server.child.wait().await.unwrap();
        assert!(!status.success(), "killed, not exited: {status:?}");
        stop.store(true, Ordering::Relaxed);
        for (index, worker) in workers.into_iter().enumerate() {
            models[index] = worker.await.unwrap();
        }
        acknowledged += models
            .iter()
            .map(|model| model.register_acked + model.deregister_acked)
            .sum::<usize>()
            - acked_before;
    }
    let mut server = spawn_server(dir.path()).await;
    verify(&export(&client(), &server.base).await, &mut models);
    server.child.start_kill().unwrap();
    let _ = server.child.wait().await;
    println!(
        "persistence crash test: {KILLS} SIGKILLs, every acknowledged change present \
         (acknowledged counted requests summed over rounds: {acknowledged}), {:?}",
        started.elapsed()
    );
    assert!(acknowledged > 0, "traffic was acknowledged between kills");
    assert!(started.elapsed() < Duration::from_secs(60));
}

#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_finishes_in_flight_requests_persists_and_exits_0() {
    let dir = TempDir::new("sigterm");
    let mut rng = Rng(0x7E57_0000_0000_0001);
    let mut models = vec![Model::new(); NUMBERS];
    let mut server = spawn_server(dir.path()).await;
    verify(&export(&client(), &server.base).await, &mut models);
    let stop = Arc::new(AtomicBool::new(false));
    let workers = run_traffic(&server.base, &models, &mut rng, &stop).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let pid = server.child.id().unwrap().to_string();
    let sent = std::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap();
    assert!(sent.success());
    let status = tokio::time::timeout(Duration::from_secs(15), server.child.wait())
        .await
        .expect("exits within the grace period")
        .unwrap();
    assert_eq!(status.code(), Some(0), "a graceful stop exits 0");
    stop.store(true, Ordering::Relaxed);
    for (index, worker) in workers.into_iter().enumerate() {
        models[index] = worker.await.unwrap();
    }
    let acknowledged: usize = models.iter().map(|model| model.register_acked).sum();
    assert!(acknowledged > 0);
    let mut server = spawn_server(dir.path()).await;
    verify(&export(&client(), &server.base).await, &mut models);
    server.child.start_kill().unwrap();
    let _ = server.child.wait().await;
}

#[tokio::test]
async fn export_restart_export_is_identical_and_reset_and_import_rewrite_the_store() {
    let dir = TempDir::new("roundtrip");
    let start = || {
        Emulator::builder()
            .manual_clock("2026-11-25T12:00:00Z".parse().unwrap())
            .data_dir(dir.path())
            .start()
    };
    let emulator = start().await.unwrap();
    let client = client();
    let register = client
        .post(format!("{}/v23.0/106540352242922/register", emulator.uri()))
        .bearer_auth(TOKEN)
        .json(&json!({"messaging_product": "whatsapp", "pin": "123456"}))
        .send()
        .await
        .unwrap();
    assert_eq!(register.status(), 200);
    emulator
        .control()
        .change_clock(serde_json::from_value(json!({"advance": "5h"})).unwrap())
        .unwrap();
    let namespace = emulator
        .control()
        .create_namespace(Default::default())
        .unwrap()
        .namespace;
    // The onboarding chain's state: an app, a signup's WABA, number and (used) code, the
    // business token, a subscription with an override, a name change.
    emulator
        .control()
        .create_app(
            serde_json::from_value(json!({"id": "990000000000001", "secret": "second"})).unwrap(),
        )
        .unwrap();
    let signup = emulator
        .control()
        .embedded_signup(serde_json::from_value(json!({"preset": "name_pending"})).unwrap())
        .unwrap();
    let code = signup.code.clone().unwrap();
    let exchange = |code: String| {
        client
            .get(format!("{}/v23.0/oauth/access_token", emulator.uri()))
            .query(&[
                ("client_id", common::APP_ID),
                ("client_secret", common::APP_SECRET),
                ("code", &code),
            ])
            .send()
    };
    let token: Value = exchange(code.clone()).await.unwrap().json().await.unwrap();
    let token = token["access_token"].as_str().unwrap().to_owned();
    let waba = signup.waba_id.clone().unwrap();
    let hook = wa_cloud_emulator::webhooks::Receiver::start(common::APP_SECRET, "v")
        .await
        .unwrap();
    for body in [
        json!({}),
        json!({"override_callback_uri": hook.url(), "verify_token": "v"}),
    ] {
        let subscribed = client
            .post(format!("{}/v23.0/{waba}/subscribed_apps", emulator.uri()))
            .bearer_auth(&token)
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(subscribed.status(), 200);
    }
    let before = export(&client, &emulator.uri()).await;
    assert_eq!(before["apps"].as_array().unwrap().len(), 2, "{before}");
    let now_before = emulator.clock().now();
    emulator.shutdown().await.unwrap();

    let emulator = start().await.unwrap();
    assert_eq!(export(&client, &emulator.uri()).await, before);
    assert_eq!(emulator.clock().now(), now_before, "the clock persists");
    let used = client
        .get(format!("{}/v23.0/oauth/access_token", emulator.uri()))
        .query(&[
            ("client_id", common::APP_ID),
            ("client_secret", common::APP_SECRET),
            ("code", &code),
        ])
        .send()
        .await
        .unwrap();
    let used: Value = used.json().await.unwrap();
    assert_eq!(
        used["error"]["error_subcode"], 36009,
        "a used code stays used"
    );
    let restored = emulator.control().reset_namespace(&namespace);
    assert!(restored.is_ok(), "namespaces persist: {restored:?}");

    // Import a smaller document, restart: the import is what was kept.
    let mut smaller: FixtureDocument = serde_json::from_value(before.clone()).unwrap();
    for waba in &mut smaller.wabas {
        waba.phone_numbers.truncate(1);
    }
    let imported = client
        .put(format!("{}/__emulator/state", emulator.uri()))
        .json(&smaller)
        .send()
        .await
        .unwrap();
    assert_eq!(imported.status(), 200);
    let after_import = export(&client, &emulator.uri()).await;
    emulator.shutdown().await.unwrap();
    let emulator = start().await.unwrap();
    assert_eq!(export(&client, &emulator.uri()).await, after_import);

    // Reset goes back to the fixtures, and that is what is kept.
    let reset = client
        .post(format!("{}/__emulator/reset", emulator.uri()))
        .send()
        .await
        .unwrap();
    assert_eq!(reset.status(), 200);
    let after_reset = export(&client, &emulator.uri()).await;
    assert_ne!(after_reset, after_import);
    emulator.shutdown().await.unwrap();
    let emulator = start().await.unwrap();
    assert_eq!(export(&client, &emulator.uri()).await, after_reset);
    emulator.shutdown().await.unwrap();
}

#[tokio::test]
async fn a_corrupt_file_is_refused_and_left_untouched() {
    let dir = TempDir::new("corrupt");
    let file = dir.path().join("emulator.redb");
    let garbage: Vec<u8> = (0..4096u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    std::fs::write(&file, &garbage).unwrap();

    let error = Emulator::builder()
        .data_dir(dir.path())
        .start()
        .await
        .unwrap_err();
    assert!(matches!(error, StartError::Store(_)), "{error:?}");
    assert!(
        error.to_string().contains(&file.display().to_string()),
        "{error}"
    );
    assert_eq!(std::fs::read(&file).unwrap(), garbage, "never overwritten");

    let output = Command::new(env!("CARGO_BIN_EXE_wa-cloud-emulator"))
        .args(["--listen", "127.0.0.1:0", "--data-dir"])
        .arg(dir.path())
        .output()
        .await
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("not a wa-cloud-emulator state database"),
        "{stderr}"
    );
    assert_eq!(std::fs::read(&file).unwrap(), garbage, "never overwritten");
}

#[tokio::test]
async fn a_foreign_redb_file_is_refused_and_keeps_its_data() {
    let dir = TempDir::new("foreign");
    let file = dir.path().join("emulator.redb");
    let table: redb::TableDefinition<&str, u64> = redb::TableDefinition::new("someone_elses");
    {
        let database = redb::Database::create(&file).unwrap();
        let txn = database.begin_write().unwrap();
        txn.open_table(table).unwrap().insert("answer", 42).unwrap();
        txn.commit().unwrap();
    }

    let error = Emulator::builder()
        .data_dir(dir.path())
        .start()
        .await
        .unwrap_err();
    assert!(matches!(error, StartError::Store(_)), "{error:?}");
    assert!(
        error.to_string().contains(&file.display().to_string()),
        "{error}"
    );

    let database = redb::Database::open(&file).unwrap();
    let txn = database.begin_read().unwrap();
    let kept = txn
        .open_table(table)
        .unwrap()
        .get("answer")
        .unwrap()
        .unwrap()
        .value();
    assert_eq!(kept, 42, "the foreign data is still there");
}
