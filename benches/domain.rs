//! Criterion micro-benchmarks of the domain's hot spots: the sliding-window limiter check
//! (`SlidingWindow::admit`) and the register rule (`domain::register`).
//!
//! Run with `cargo bench --bench domain` (or through `bench/run.sh`). These are
//! measurements, not tests: nothing here asserts on timings.

// `criterion_group!` generates an undocumented `pub fn benches`.
#![allow(missing_docs)]

use std::hint::black_box;

use chrono::{DateTime, TimeDelta, Utc};
use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use wa_cloud_emulator::domain::{
    self, CodeVerificationStatus, PhoneNumber, Pin, PinLockoutPolicy, RateLimitPolicy,
    RegisterRequest, SlidingWindow,
};

fn t0() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-06-01T09:00:00Z")
        .expect("valid instant")
        .to_utc()
}

fn limiter(c: &mut Criterion) {
    let mut group = c.benchmark_group("limiter");
    // Meta's default policy, window filling up: admitted requests (the common case).
    let policy = RateLimitPolicy::default();
    group.bench_function("admit_empty_window", |b| {
        b.iter_batched_ref(
            SlidingWindow::default,
            |window| window.admit(black_box(t0()), &policy),
            BatchSize::SmallInput,
        );
    });
    // A full window that keeps sliding: every check expires the oldest and admits the new
    // one (steady state under a large limit).
    let sliding = RateLimitPolicy {
        limit: 10,
        window: TimeDelta::seconds(10),
        block: TimeDelta::seconds(1),
    };
    group.bench_function("admit_sliding_full_window", |b| {
        let mut window = SlidingWindow::default();
        let mut now = t0();
        b.iter(|| {
            now += TimeDelta::seconds(1);
            black_box(window.admit(black_box(now), &sliding))
        });
    });
    // The rejected path: the block is active.
    group.bench_function("admit_blocked", |b| {
        let mut window = SlidingWindow::default();
        for _ in 0..=policy.limit {
            let _ = window.admit(t0(), &policy);
        }
        b.iter(|| black_box(window.admit(black_box(t0()), &policy)));
    });
    group.finish();
}

fn register(c: &mut Criterion) {
    let mut group = c.benchmark_group("register");
    let policy = PinLockoutPolicy::default();
    let request = RegisterRequest {
        pin: Pin::parse("123456").expect("valid pin"),
        region: None,
        backup: None,
    };
    let mut verified = PhoneNumber::new("106540352242922", "102290129340398");
    verified.verification = CodeVerificationStatus::Verified;
    group.bench_function("first_register", |b| {
        b.iter_batched_ref(
            || verified.clone(),
            |number| domain::register(number, &request, black_box(t0()), &policy),
            BatchSize::SmallInput,
        );
    });
    group.bench_function("register_deregister_cycle", |b| {
        let mut number = verified.clone();
        b.iter(|| {
            let registered = domain::register(&mut number, &request, black_box(t0()), &policy);
            black_box(registered).expect("registers");
            black_box(domain::deregister(&mut number)).expect("deregisters");
        });
    });
    let wrong = RegisterRequest {
        pin: Pin::parse("000000").expect("valid pin"),
        region: None,
        backup: None,
    };
    group.bench_function("pin_mismatch", |b| {
        let mut number = verified.clone();
        number.set_pin(request.pin);
        let no_lockout = PinLockoutPolicy {
            max_failures: 0,
            ..policy
        };
        b.iter(|| {
            black_box(domain::register(
                &mut number,
                &wrong,
                black_box(t0()),
                &no_lockout,
            ))
        });
    });
    group.finish();
}

criterion_group!(benches, limiter, register);
criterion_main!(benches);
