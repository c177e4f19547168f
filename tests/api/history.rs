//! Concurrency is exact: hundreds of concurrent clients mix register, deregister, conflicting
//! PIN changes and control-API calls; afterwards the history must be explainable by some
//! serial order.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

use serde_json::{Value, json};

use crate::helpers::*;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Op {
    Register,
    Deregister,
    Inspect,
    SetPin,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_concurrent_history_is_serialisable_and_every_count_is_exact() {
    // No PIN lockout: mismatches caused by the conflicting PIN changes stay plain 133005s.
    let emu = Arc::new(
        TestEmulator::spawn_with(|builder| {
            builder.pin_lockout(wa_cloud_emulator::domain::PinLockoutPolicy {
                max_failures: 10_000,
                lock_for: chrono::TimeDelta::hours(1),
            })
        })
        .await,
    );
    // (number, its PIN, registered at start)
    let numbers = [
        (READY, "123456", false),
        (REGISTERED, "123456", true),
        (REGISTERED_DE, "654321", true),
        (WITH_PIN, "111111", false),
        (OTHER_WABA_NUMBER, "123456", false),
    ];
    let mut tasks = Vec::new();
    for i in 0..400usize {
        let emu = Arc::clone(&emu);
        let (id, pin, _) = numbers[i % numbers.len()];
        let op = match (i / numbers.len()) % 6 {
            0 | 2 => Op::Register,
            1 | 3 => Op::Deregister,
            4 => Op::SetPin,
            _ => Op::Inspect,
        };
        // Every PIN change writes a PIN of its own, so the final PIN tells which change the
        // number kept; a change lost to a concurrent write would leave an older one.
        let new_pin = format!("{:06}", 200_000 + i);
        tasks.push(tokio::spawn(async move {
            let started = Instant::now();
            let answer: (u16, Value) = match op {
                Op::Register => {
                    let response = emu.register_pin(id, pin).await;
                    (response.status().as_u16(), response.json().await.unwrap())
                }
                Op::Deregister => {
                    let response = emu.deregister(id).await;
                    (response.status().as_u16(), response.json().await.unwrap())
                }
                Op::SetPin => {
                    let response = emu
                        .post_json(&format!("/v23.0/{id}"), json!({"pin": new_pin}))
                        .await;
                    (response.status().as_u16(), response.json().await.unwrap())
                }
                Op::Inspect => {
                    let response = emu
                        .client
                        .get(emu.url(&format!("/__emulator/numbers/{id}")))
                        .send()
                        .await
                        .unwrap();
                    (response.status().as_u16(), response.json().await.unwrap())
                }
            };
            (id, op, answer, (new_pin, started, Instant::now()))
        }));
    }
    let mut history: HashMap<(&str, Op), Vec<(u16, Value)>> = HashMap::new();
    // Acknowledged PIN changes: (PIN, sent, answered).
    let mut pin_changes: HashMap<&str, Vec<(String, Instant, Instant)>> = HashMap::new();
    for task in tasks {
        let (id, op, answer, change) = task.await.unwrap();
        if op == Op::SetPin && answer.0 == 200 {
            pin_changes.entry(id).or_default().push(change);
        }
        history.entry((id, op)).or_default().push(answer);
    }

    for (id, _, registered_at_start) in numbers {
        let view = emu.emulator.control().get_number(id).unwrap();
        for (op, window) in [
            (Op::Register, &view.rate_limits.register),
            (Op::Deregister, &view.rate_limits.deregister),
        ] {
            let answers = &history[&(id, op)];
            let limited = answers
                .iter()
                .filter(|(_, body)| body["error"]["code"] == 133016)
                .count();
            // Every answer is one the contract allows.
            for (status, body) in answers {
                let code = body["error"]["code"].as_u64();
                let allowed = match op {
                    // 133005: a PIN change came first.
                    Op::Register => *status == 200 || code == Some(133016) || code == Some(133005),
                    _ => *status == 200 || code == Some(133016) || code == Some(100),
                };
                assert!(allowed, "{id} {op:?}: {status} {body}");
            }
            // The limiter counted exactly the requests that were not refused by it.
            assert_eq!(window.used, answers.len() - limited, "{id} {op:?}");
            assert_eq!(window.used, 10.min(answers.len()), "{id} {op:?}");
        }
        // The final state must follow from some serial order of the acknowledged requests.
        let successes = |op: Op| {
            history[&(id, op)]
                .iter()
                .filter(|(status, _)| *status == 200)
                .count()
        };
        let registers = successes(Op::Register);
        let deregisters = successes(Op::Deregister);
        assert!(
            deregisters <= registers + usize::from(registered_at_start),
            "{id}: {deregisters} deregisters acknowledged after {registers} registers"
        );
        if view.registered {
            assert!(
                registers > 0 || registered_at_start,
                "{id} registered from nowhere"
            );
        } else {
            assert!(
                deregisters > 0 || !registered_at_start,
                "{id} unregistered without a deregister"
            );
        }
        for (status, body) in &history[&(id, Op::SetPin)] {
            assert_eq!((*status, body), (200, &json!({"success": true})));
        }
        for (status, body) in &history[&(id, Op::Inspect)] {
            assert_eq!(*status, 200, "{body}");
            assert_eq!(body["id"], json!(id));
        }
        // No acknowledged change is lost: the final PIN is one written by a change that no
        // other acknowledged change followed in real time (was sent after it was answered).
        let changes = &pin_changes[id];
        let final_pin = emu.emulator.state().number(id).unwrap().pin.unwrap();
        let candidates: Vec<&str> = changes
            .iter()
            .filter(|(_, _, answered)| !changes.iter().any(|(_, sent, _)| sent > answered))
            .map(|(pin, _, _)| pin.as_str())
            .collect();
        assert!(
            candidates.contains(&final_pin.expose()),
            "{id}: final PIN {} is not among the last acknowledged changes {candidates:?}",
            final_pin.expose()
        );
    }
}
