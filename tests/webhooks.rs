//! The webhook engine against a real receiver over real sockets: signatures over the exact
//! bytes, the handshake and each of its failures, retries on a manual clock, the 7-day
//! limit, the queue bound, delivery faults, redelivery and clearing.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use hmac::{Hmac, Mac};
use serde::Serialize;
use sha2::Sha256;
use wa_cloud_emulator::Clock;
use wa_cloud_emulator::webhooks::{
    DeliveryFaultKind, DeliveryFaultSpec, DeliveryFilter, DeliveryRecord, DeliveryState, Envelope,
    HandshakeAnswer, Receiver, RedeliverError, WebhookConfig, WebhookEngine,
};

const SECRET: &str = "app-secret-ü";
const TOKEN: &str = "verify+me/=ok now";
/// Generous: only reached when something is broken.
const PATIENCE: Duration = Duration::from_secs(20);

fn start() -> DateTime<Utc> {
    "2026-01-01T00:00:00Z".parse().unwrap()
}

fn manual_engine(config: WebhookConfig) -> (Arc<Clock>, WebhookEngine) {
    let clock = Arc::new(Clock::manual(start()));
    let engine = WebhookEngine::new(Arc::clone(&clock), config);
    (clock, engine)
}

async fn receiver() -> Receiver {
    Receiver::start(SECRET, TOKEN).await.unwrap()
}

#[derive(Serialize)]
struct Text<'a> {
    body: &'a str,
}

fn delivery(url: &str, field: &str, text: &str) -> wa_cloud_emulator::webhooks::Delivery {
    wa_cloud_emulator::webhooks::Delivery {
        app_id: "1".into(),
        url: url.to_owned(),
        secret: SECRET.into(),
        field: field.into(),
        number_id: Some("106540352242922".into()),
        waba_id: Some("102290129340398".into()),
        body: Envelope::single("102290129340398", field, Text { body: text }, start()).to_body(),
    }
}

fn all(engine: &WebhookEngine) -> Vec<DeliveryRecord> {
    engine.deliveries(&DeliveryFilter::default())
}

async fn settled(engine: &WebhookEngine) {
    tokio::time::timeout(PATIENCE, engine.settled())
        .await
        .expect("the engine settles");
}

/// A port nothing listens on.
async fn refused_port() -> u16 {
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0))
        .await
        .unwrap();
    listener.local_addr().unwrap().port()
}

#[tokio::test]
async fn the_exact_bytes_are_signed_with_the_app_secret_and_sent_with_metas_headers() {
    let receiver = receiver().await;
    let (_clock, engine) = manual_engine(WebhookConfig::default());
    let id = engine.enqueue(delivery(
        &receiver.url(),
        "messages",
        "Hola quiero un café 😀 image/jpeg",
    ));
    let got = receiver.wait_for(1, PATIENCE).await.unwrap();
    let text = got[0].text();
    assert_eq!(
        text,
        r#"{"object":"whatsapp_business_account","entry":[{"id":"102290129340398","changes":[{"value":{"body":"Hola quiero un caf\u00e9 \ud83d\ude00 image\/jpeg"},"field":"messages"}]}]}"#
    );
    // An HMAC of our own over the bytes as received, independent of the engine's signer.
    let mut mac = Hmac::<Sha256>::new_from_slice(SECRET.as_bytes()).unwrap();
    mac.update(&got[0].body);
    let expected = format!("sha256={}", hex::encode(mac.finalize().into_bytes()));
    assert_eq!(got[0].signature.as_deref(), Some(expected.as_str()));
    assert!(got[0].signature_valid);
    assert_eq!(got[0].user_agent.as_deref(), Some("facebookexternalua"));
    assert_eq!(got[0].content_type.as_deref(), Some("application/json"));
    assert_eq!(
        got[0].json.as_ref().unwrap()["entry"][0]["changes"][0]["value"]["body"],
        "Hola quiero un café 😀 image/jpeg"
    );

    settled(&engine).await;
    let record = engine.delivery(id).unwrap();
    assert_eq!(record.state, DeliveryState::Delivered);
    assert_eq!(record.body_text(), text);
    assert_eq!(record.signature, expected);
    assert_eq!(record.attempts.len(), 1);
    assert_eq!(record.attempts[0].status, Some(200));
    assert_eq!(record.attempts[0].at, start());
    assert_eq!(record.number_id.as_deref(), Some("106540352242922"));
    // The log never holds the secret.
    assert!(!serde_json::to_string(&record).unwrap().contains(SECRET));
}

#[tokio::test]
async fn the_handshake_passes_only_with_the_challenge_and_reports_each_failure_as_meta() {
    let receiver = receiver().await;
    let (_clock, engine) = manual_engine(WebhookConfig {
        handshake_timeout: Duration::from_millis(300),
        ..WebhookConfig::default()
    });
    engine
        .handshake(&receiver.url(), TOKEN, 1_158_201_444)
        .await
        .unwrap();
    let seen = receiver.handshakes();
    assert_eq!(seen[0].mode.as_deref(), Some("subscribe"));
    assert_eq!(seen[0].challenge.as_deref(), Some("1158201444"));
    // `+`, `/`, `=` and a space survive the query string.
    assert_eq!(seen[0].verify_token.as_deref(), Some(TOKEN));

    let detail = |result: Result<(), wa_cloud_emulator::webhooks::HandshakeFailure>| {
        result.expect_err("the handshake fails").detail
    };
    let missing = format!("http://{}/missing", receiver.addr());
    assert_eq!(
        detail(engine.handshake(&missing, TOKEN, 1).await),
        "HTTP Status Code = 404; HTTP Message = Not Found"
    );
    assert_eq!(
        detail(engine.handshake(&receiver.url(), "wrong", 1).await),
        "HTTP Status Code = 403; HTTP Message = Forbidden"
    );
    receiver.answer_handshakes_with(HandshakeAnswer::Body("hello".into()));
    assert_eq!(
        detail(engine.handshake(&receiver.url(), TOKEN, 42).await),
        r#"Response does not match challenge, expected value="42", received="hello""#
    );
    receiver.answer_handshakes_with(HandshakeAnswer::Stall(Duration::from_secs(10)));
    assert_eq!(
        detail(engine.handshake(&receiver.url(), TOKEN, 1).await),
        "curl_errno = 28; curl_error = Operation timed out after 300 milliseconds with 0 bytes received"
    );
    let port = refused_port().await;
    assert_eq!(
        detail(
            engine
                .handshake(&format!("http://127.0.0.1:{port}/webhook"), TOKEN, 1)
                .await
        ),
        format!(
            "curl_errno = 7; curl_error = Failed to connect to 127.0.0.1 port {port}: Connection refused"
        )
    );
}

#[tokio::test]
async fn failures_are_retried_at_once_then_only_when_the_clock_reaches_the_next_due_time() {
    let receiver = receiver().await;
    receiver.answer_next_posts_with([500, 503]);
    let (clock, engine) = manual_engine(WebhookConfig::default());
    let id = engine.enqueue(delivery(&receiver.url(), "messages", "retry me"));
    settled(&engine).await;
    assert_eq!(
        receiver.deliveries().len(),
        2,
        "first attempt and the immediate retry"
    );
    let record = engine.delivery(id).unwrap();
    assert_eq!(record.state, DeliveryState::Retrying);
    let statuses: Vec<_> = record.attempts.iter().map(|a| a.status).collect();
    assert_eq!(statuses, [Some(500), Some(503)]);
    assert_eq!(
        record.next_attempt_at,
        Some(start() + TimeDelta::minutes(1))
    );

    clock.advance(TimeDelta::seconds(59));
    settled(&engine).await;
    assert_eq!(receiver.deliveries().len(), 2, "not due yet");

    clock.advance(TimeDelta::seconds(1));
    settled(&engine).await;
    let got = receiver.deliveries();
    assert_eq!(got.len(), 3);
    assert!(
        got.iter()
            .all(|d| d.body == got[0].body && d.signature_valid)
    );
    let record = engine.delivery(id).unwrap();
    assert_eq!(record.state, DeliveryState::Delivered);
    assert_eq!(record.attempts[2].at, start() + TimeDelta::minutes(1));
    assert_eq!(record.attempts[2].status, Some(200));
    assert_eq!(record.next_attempt_at, None);
}

#[tokio::test]
async fn a_delivery_that_keeps_failing_is_given_up_after_seven_days() {
    let receiver = receiver().await;
    receiver.answer_posts_with(500);
    let (clock, engine) = manual_engine(WebhookConfig::default());
    let id = engine.enqueue(delivery(&receiver.url(), "account_update", "down"));
    settled(&engine).await;
    // Walk the week an hour at a time.
    let mut hours = 0;
    while engine.delivery(id).unwrap().state == DeliveryState::Retrying {
        clock.advance(TimeDelta::hours(1));
        hours += 1;
        settled(&engine).await;
        assert!(hours <= 7 * 24, "still retrying after 7 days");
    }
    let record = engine.delivery(id).unwrap();
    assert_eq!(record.state, DeliveryState::Failed);
    let last = record.attempts.last().unwrap().at;
    assert!(
        last <= start() + TimeDelta::days(7),
        "last attempt at {last}"
    );
    assert!(
        last >= start() + TimeDelta::days(6),
        "last attempt at {last}"
    );
    assert!(
        record.attempt_count >= 10,
        "{} attempts",
        record.attempt_count
    );
    assert_eq!(record.attempt_count as usize, receiver.deliveries().len());

    // Nothing more, however far the clock goes.
    clock.advance(TimeDelta::days(30));
    settled(&engine).await;
    assert_eq!(record.attempt_count as usize, receiver.deliveries().len());
}

#[tokio::test]
async fn a_jump_past_the_week_makes_the_due_attempt_once_and_gives_up() {
    let port = refused_port().await;
    let (clock, engine) = manual_engine(WebhookConfig::default());
    let id = engine.enqueue(delivery(
        &format!("http://127.0.0.1:{port}/"),
        "messages",
        "x",
    ));
    settled(&engine).await;
    let record = engine.delivery(id).unwrap();
    assert_eq!(record.attempt_count, 2);
    assert_eq!(
        record.attempts[0].error.as_deref(),
        Some(format!("curl_errno = 7; curl_error = Failed to connect to 127.0.0.1 port {port}: Connection refused").as_str())
    );
    clock.advance(TimeDelta::days(8));
    settled(&engine).await;
    let record = engine.delivery(id).unwrap();
    assert_eq!(record.state, DeliveryState::Failed);
    assert_eq!(record.attempt_count, 3);
    // The missed attempts are not made one by one: the last one of the week stands for them.
    assert_eq!(record.attempts[2].attempt, 14);
    assert_eq!(record.attempts[2].at, start() + TimeDelta::days(8));
}

#[tokio::test]
async fn a_callback_that_is_down_never_grows_the_queue_or_the_log_beyond_their_bounds() {
    let port = refused_port().await;
    let url = format!("http://127.0.0.1:{port}/");
    let (_clock, engine) = manual_engine(WebhookConfig {
        queue_capacity_per_callback: 5,
        log_capacity: 10,
        ..WebhookConfig::default()
    });
    // The worker runs on its own thread and may take one delivery at a time off the queue
    // meanwhile: whatever it does, enqueue never waits and the bounds hold.
    for n in 0..1000 {
        engine.enqueue(delivery(&url, "messages", &format!("n{n}")));
        assert!(engine.queued() <= 5);
    }
    let records = all(&engine);
    assert_eq!(records.len(), 10);
    assert_eq!(records[0].id, 991);
    // Of the ten newest, at most the five waiting and one in flight are not dropped.
    let dropped = records
        .iter()
        .filter(|r| r.state == DeliveryState::Dropped)
        .inspect(|r| assert_eq!(r.dropped_reason, Some("queue_full")))
        .count();
    assert!(dropped >= 4, "{records:?}");
    settled(&engine).await;
    assert!(engine.queued() <= 5);
    // Every delivery still in the log was either dropped from the full queue or tried and is
    // now waiting for its retry (the callback is down).
    let records = all(&engine);
    assert_eq!(records.len(), 10);
    assert!(records.iter().all(|r| r.state == DeliveryState::Retrying
        || (r.state == DeliveryState::Dropped && r.dropped_reason == Some("queue_full"))));
    let retrying = DeliveryFilter {
        state: Some(DeliveryState::Retrying),
        ..DeliveryFilter::default()
    };
    assert!((1..=6).contains(&engine.deliveries(&retrying).len()));
}

#[tokio::test]
async fn deliveries_to_one_callback_go_in_order_and_other_callbacks_do_not_wait_for_it() {
    let slow = receiver().await;
    slow.stall_posts(Duration::from_secs(60));
    let fast = receiver().await;
    let (_clock, engine) = manual_engine(WebhookConfig {
        delivery_timeout: Duration::from_secs(120),
        ..WebhookConfig::default()
    });
    engine.enqueue(delivery(&slow.url(), "messages", "stuck"));
    slow.wait_for(1, PATIENCE).await.unwrap();
    for n in 0..5 {
        engine.enqueue(delivery(&fast.url(), "messages", &format!("m{n}")));
    }
    let got = fast.wait_for(5, PATIENCE).await.unwrap();
    let texts: Vec<String> = got
        .iter()
        .map(|d| d.json.as_ref().unwrap()["entry"][0]["changes"][0]["value"]["body"].to_string())
        .collect();
    assert_eq!(texts, ["\"m0\"", "\"m1\"", "\"m2\"", "\"m3\"", "\"m4\""]);
    assert_eq!(
        slow.deliveries().len(),
        1,
        "one attempt in flight per callback"
    );
}

#[tokio::test]
async fn a_duplicate_fault_posts_the_same_bytes_twice() {
    let receiver = receiver().await;
    let (_clock, engine) = manual_engine(WebhookConfig::default());
    engine
        .arm_fault(DeliveryFaultSpec::once(DeliveryFaultKind::Duplicate))
        .unwrap();
    let id = engine.enqueue(delivery(&receiver.url(), "messages", "twice"));
    let got = receiver.wait_for(2, PATIENCE).await.unwrap();
    assert_eq!(got[0].body, got[1].body);
    assert_eq!(got[0].signature, got[1].signature);
    settled(&engine).await;
    let record = engine.delivery(id).unwrap();
    assert_eq!(record.state, DeliveryState::Delivered);
    let faults: Vec<_> = record.attempts.iter().map(|a| a.fault).collect();
    assert_eq!(faults, [None, Some(DeliveryFaultKind::Duplicate)]);
    assert!(engine.faults().is_empty(), "a count of one is spent");
    // Spent: the next delivery goes once.
    engine.enqueue(delivery(&receiver.url(), "messages", "once"));
    settled(&engine).await;
    assert_eq!(receiver.deliveries().len(), 3);
}

#[tokio::test]
async fn a_reorder_fault_sends_a_status_after_the_next_delivery_to_the_same_callback() {
    let receiver = receiver().await;
    let (_clock, engine) = manual_engine(WebhookConfig::default());
    engine
        .arm_fault(DeliveryFaultSpec {
            field: Some("messages".into()),
            ..DeliveryFaultSpec::once(DeliveryFaultKind::Reorder)
        })
        .unwrap();
    let delivered = engine.enqueue(delivery(&receiver.url(), "messages", "delivered"));
    let read = engine.enqueue(delivery(&receiver.url(), "messages", "read"));
    let got = receiver.wait_for(2, PATIENCE).await.unwrap();
    let body = |d: &wa_cloud_emulator::webhooks::ReceivedDelivery| {
        d.json.as_ref().unwrap()["entry"][0]["changes"][0]["value"]["body"].clone()
    };
    assert_eq!(body(&got[0]), "read");
    assert_eq!(body(&got[1]), "delivered");
    settled(&engine).await;
    assert_eq!(
        engine.delivery(read).unwrap().state,
        DeliveryState::Delivered
    );
    let held = engine.delivery(delivered).unwrap();
    assert_eq!(held.state, DeliveryState::Delivered);
    assert_eq!(held.attempts[0].fault, Some(DeliveryFaultKind::Reorder));
}

#[tokio::test]
async fn retry_after_ack_drop_and_delay_faults() {
    let receiver = receiver().await;
    let (_clock, engine) = manual_engine(WebhookConfig::default());

    engine
        .arm_fault(DeliveryFaultSpec::once(DeliveryFaultKind::RetryAfterAck))
        .unwrap();
    let acked = engine.enqueue(delivery(&receiver.url(), "messages", "acked"));
    settled(&engine).await;
    let record = engine.delivery(acked).unwrap();
    assert_eq!(record.state, DeliveryState::Delivered);
    let attempts: Vec<_> = record
        .attempts
        .iter()
        .map(|a| (a.status, a.fault))
        .collect();
    assert_eq!(
        attempts,
        [
            (Some(200), Some(DeliveryFaultKind::RetryAfterAck)),
            (Some(200), None)
        ]
    );
    assert_eq!(receiver.deliveries().len(), 2);

    engine
        .arm_fault(DeliveryFaultSpec {
            app_id: Some("1".into()),
            number_id: Some("106540352242922".into()),
            ..DeliveryFaultSpec::once(DeliveryFaultKind::Drop)
        })
        .unwrap();
    let lost = engine.enqueue(delivery(&receiver.url(), "messages", "lost"));
    settled(&engine).await;
    let record = engine.delivery(lost).unwrap();
    assert_eq!(record.state, DeliveryState::Dropped);
    assert_eq!(record.dropped_reason, Some("fault"));
    assert_eq!(receiver.deliveries().len(), 2, "never sent");

    engine
        .arm_fault(DeliveryFaultSpec {
            delay_ms: Some(50),
            ..DeliveryFaultSpec::once(DeliveryFaultKind::Delay)
        })
        .unwrap();
    let late = engine.enqueue(delivery(&receiver.url(), "messages", "late"));
    settled(&engine).await;
    let record = engine.delivery(late).unwrap();
    assert_eq!(record.state, DeliveryState::Delivered);
    assert_eq!(record.attempts[0].fault, Some(DeliveryFaultKind::Delay));

    let invalid = DeliveryFaultSpec::once(DeliveryFaultKind::Delay);
    assert!(engine.arm_fault(invalid).is_err());
    assert!(engine.faults().is_empty());
}

#[tokio::test]
async fn redeliver_sends_the_same_bytes_again_and_clear_cancels_everything() {
    let receiver = receiver().await;
    let (clock, engine) = manual_engine(WebhookConfig::default());
    let id = engine.enqueue(delivery(&receiver.url(), "messages", "again"));
    settled(&engine).await;
    clock.advance(TimeDelta::hours(1));
    engine.redeliver(id).unwrap();
    let got = receiver.wait_for(2, PATIENCE).await.unwrap();
    assert_eq!(got[0].body, got[1].body);
    assert_eq!(got[0].signature, got[1].signature);
    settled(&engine).await;
    let record = engine.delivery(id).unwrap();
    assert_eq!(record.state, DeliveryState::Delivered);
    assert_eq!(record.attempt_count, 2);
    assert_eq!(record.attempts[1].at, start() + TimeDelta::hours(1));
    assert_eq!(engine.redeliver(999), Err(RedeliverError::Unknown(999)));

    receiver.answer_posts_with(500);
    let failing = engine.enqueue(delivery(&receiver.url(), "messages", "failing"));
    settled(&engine).await;
    assert_eq!(
        engine.redeliver(failing),
        Err(RedeliverError::StillPending(failing))
    );
    let before = receiver.deliveries().len();
    engine.clear();
    assert!(all(&engine).is_empty());
    assert_eq!(engine.queued(), 0);
    clock.advance(TimeDelta::days(1));
    settled(&engine).await;
    assert_eq!(
        receiver.deliveries().len(),
        before,
        "cleared deliveries are not retried"
    );
}

#[tokio::test]
async fn a_delivery_without_an_answer_in_time_fails_with_curls_timeout() {
    let receiver = receiver().await;
    receiver.stall_posts(Duration::from_secs(30));
    let (_clock, engine) = manual_engine(WebhookConfig {
        delivery_timeout: Duration::from_millis(200),
        ..WebhookConfig::default()
    });
    let id = engine.enqueue(delivery(&receiver.url(), "messages", "slow"));
    settled(&engine).await;
    let record = engine.delivery(id).unwrap();
    assert_eq!(record.state, DeliveryState::Retrying);
    assert_eq!(
        record.attempts[0].error.as_deref(),
        Some(
            "curl_errno = 28; curl_error = Operation timed out after 200 milliseconds with 0 bytes received"
        )
    );
    assert_eq!(record.attempts[0].status, None);
}

#[tokio::test]
async fn on_a_system_clock_moving_the_offset_wakes_the_retries() {
    let receiver = receiver().await;
    receiver.answer_next_posts_with([500, 500]);
    let clock = Arc::new(Clock::system());
    let engine = WebhookEngine::new(Arc::clone(&clock), WebhookConfig::default());
    let id = engine.enqueue(delivery(&receiver.url(), "messages", "system"));
    settled(&engine).await;
    assert_eq!(engine.delivery(id).unwrap().state, DeliveryState::Retrying);
    clock.advance(TimeDelta::minutes(2));
    settled(&engine).await;
    assert_eq!(engine.delivery(id).unwrap().state, DeliveryState::Delivered);
    assert_eq!(receiver.deliveries().len(), 3);
}

#[tokio::test]
async fn after_shutdown_nothing_is_sent() {
    let receiver = receiver().await;
    let (_clock, engine) = manual_engine(WebhookConfig::default());
    engine.enqueue(delivery(&receiver.url(), "messages", "before"));
    settled(&engine).await;
    engine.shutdown().await;
    let id = engine.enqueue(delivery(&receiver.url(), "messages", "after"));
    settled(&engine).await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(receiver.deliveries().len(), 1);
    assert_eq!(engine.delivery(id).unwrap().state, DeliveryState::Pending);
}

#[test]
fn an_engine_built_outside_a_runtime_starts_its_worker_on_first_use_inside_one() {
    let (_clock, engine) = manual_engine(WebhookConfig::default());
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let receiver = receiver().await;
        engine.enqueue(delivery(&receiver.url(), "messages", "lazy"));
        receiver.wait_for(1, PATIENCE).await.unwrap();
    });
}
