//! Concurrent requests on one number: no lost update, exactly `limit` counted.

use std::sync::Arc;

use crate::helpers::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_hundred_concurrent_registers_count_exactly_ten() {
    let emu = Arc::new(TestEmulator::spawn().await);
    let mut tasks = Vec::new();
    for _ in 0..200 {
        let emu = Arc::clone(&emu);
        tasks.push(tokio::spawn(async move {
            let response = emu.register_pin(REGISTERED, "123456").await;
            let status = response.status().as_u16();
            let body: serde_json::Value = response.json().await.unwrap();
            (status, body)
        }));
    }
    let mut successes = 0;
    let mut limited = 0;
    for task in tasks {
        let (status, body) = task.await.unwrap();
        match status {
            200 => {
                assert_eq!(body, serde_json::json!({"success": true}));
                successes += 1;
            }
            400 => {
                assert_eq!(body["error"]["code"], 133016, "{body}");
                limited += 1;
            }
            other => panic!("unexpected status {other}: {body}"),
        }
    }
    assert_eq!((successes, limited), (10, 190));
    let number = emu.emulator.state().number(REGISTERED).unwrap();
    assert_eq!(
        number
            .window(wa_cloud_emulator::domain::Operation::Register)
            .requests()
            .len(),
        10
    );
    assert!(
        number
            .window(wa_cloud_emulator::domain::Operation::Register)
            .blocked_until()
            .is_some()
    );
}
