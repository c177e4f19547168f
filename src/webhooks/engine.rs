//! The delivery engine: a bounded queue per callback, one worker task, retries on the
//! emulator's clock, the delivery log and the delivery faults.
//!
//! [`WebhookEngine::enqueue`] signs the body, records it and queues it under one short lock,
//! then wakes the worker: it never waits for the network, so the Graph path never awaits a
//! delivery. The worker starts the attempts that are due (at most one in flight per callback,
//! oldest first; at most `max_concurrent_callbacks` callbacks at once), each in a task of its
//! own, and sleeps until the next due time: in real time on a system clock, until the clock
//! moves on a manual one ([`Clock::subscribe`]), and in both cases until a delivery is queued
//! or an attempt ends.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use chrono::{DateTime, Utc};
use hyper::header::{HeaderName, HeaderValue, USER_AGENT};
use parking_lot::Mutex;
use tokio::sync::{Notify, watch};
use tokio::task::JoinSet;

use super::faults::{
    ArmedDeliveryFault, DeliveryFaultError, DeliveryFaultKind, DeliveryFaultSpec, DeliveryFaults,
    FaultTarget,
};
use super::handshake::{
    DEFAULT_HANDSHAKE_TIMEOUT, HandshakeFailure, WEBHOOK_USER_AGENT, curl_error_text,
    verify_callback,
};
use super::log::{AttemptRecord, DeliveryFilter, DeliveryLog, DeliveryRecord, DeliveryState};
use super::schedule::{catch_up, next_attempt};
use super::signature::{SIGNATURE_HEADER, sign};
use crate::clock::{Clock, ClockMode};
use crate::probe::{HttpRequest, Transport};

/// How long a delivery POST may take before it counts as failed: 20 s. Meta documents no
/// limit; 20 s is the figure Messenger integrations report (inferred).
pub const DEFAULT_DELIVERY_TIMEOUT: Duration = Duration::from_secs(20);

/// Deliveries queued per callback URL before the oldest is dropped.
pub const DEFAULT_QUEUE_CAPACITY_PER_CALLBACK: usize = 1000;

/// Deliveries kept in the log.
pub const DEFAULT_LOG_CAPACITY: usize = 1000;

/// Callbacks attempted at the same time.
pub const DEFAULT_MAX_CONCURRENT_CALLBACKS: usize = 16;

/// The engine's settings.
#[derive(Debug, Clone)]
pub struct WebhookConfig {
    /// Longest a delivery POST may take ([`DEFAULT_DELIVERY_TIMEOUT`]).
    pub delivery_timeout: Duration,
    /// Longest a handshake GET may take ([`DEFAULT_HANDSHAKE_TIMEOUT`], 6 s).
    pub handshake_timeout: Duration,
    /// Deliveries waiting per callback URL; beyond it the oldest waiting one is dropped
    /// (logged as `dropped`, reason `queue_full`). At least 1.
    pub queue_capacity_per_callback: usize,
    /// Deliveries kept in the log (0: none).
    pub log_capacity: usize,
    /// Callbacks attempted at the same time. At least 1.
    pub max_concurrent_callbacks: usize,
    /// How `https://` callbacks are reached (which CAs they may present); `None`: plain
    /// `http://` only.
    pub transport: Option<Transport>,
}

impl Default for WebhookConfig {
    fn default() -> Self {
        Self {
            delivery_timeout: DEFAULT_DELIVERY_TIMEOUT,
            handshake_timeout: DEFAULT_HANDSHAKE_TIMEOUT,
            queue_capacity_per_callback: DEFAULT_QUEUE_CAPACITY_PER_CALLBACK,
            log_capacity: DEFAULT_LOG_CAPACITY,
            max_concurrent_callbacks: DEFAULT_MAX_CONCURRENT_CALLBACKS,
            transport: None,
        }
    }
}

/// One webhook to deliver.
#[derive(Clone)]
pub struct Delivery {
    /// The app it is for (routing is the caller's: this is who it is logged under).
    pub app_id: String,
    /// The callback URL to POST to.
    pub url: String,
    /// The app secret the body is signed with. Used once, at enqueue; never kept or logged.
    pub secret: String,
    /// The webhook field (`messages`, `account_update`, …).
    pub field: String,
    /// The phone number id it is about, if any.
    pub number_id: Option<String>,
    /// The WABA id it is about, if any.
    pub waba_id: Option<String>,
    /// The exact body, written by [`to_meta_json`](super::to_meta_json) (or
    /// [`Envelope::to_body`](super::Envelope::to_body)).
    pub body: String,
}

impl std::fmt::Debug for Delivery {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Delivery")
            .field("app_id", &self.app_id)
            .field("url", &self.url)
            .field("secret", &"<redacted>")
            .field("field", &self.field)
            .field("number_id", &self.number_id)
            .field("waba_id", &self.waba_id)
            .field("body_len", &self.body.len())
            .finish()
    }
}

/// Why a delivery cannot be sent again.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RedeliverError {
    /// No such delivery in the log (never made, or forgotten).
    #[error("no delivery {0} in the log")]
    Unknown(u64),
    /// It is still queued or being attempted.
    #[error(
        "delivery {0} is still pending; it can be sent again once it is delivered, failed or dropped"
    )]
    StillPending(u64),
}

/// What an attempt sends: fixed at enqueue, shared by every attempt.
#[derive(Debug)]
struct Outgoing {
    app_id: String,
    url: String,
    field: String,
    number_id: Option<String>,
    body: Bytes,
    signature: HeaderValue,
}

/// A delivery waiting in its callback's queue.
#[derive(Debug)]
struct Queued {
    id: u64,
    outgoing: Arc<Outgoing>,
    /// When the schedule started (the enqueue, or the redelivery).
    first_attempt: DateTime<Utc>,
    /// The number of the next attempt in the schedule.
    attempt: u32,
    /// When it is due.
    due: DateTime<Utc>,
    /// It was held back by a `reorder` fault and is now sent: not held again.
    reordered: bool,
    /// The [`Core::generation`] it was queued in: a clear cancels older ones.
    generation: u64,
}

/// One callback URL's deliveries.
#[derive(Debug, Default)]
struct CallbackQueue {
    /// Waiting deliveries by id, i.e. in enqueue order.
    waiting: BTreeMap<u64, Queued>,
    /// An attempt to this callback is in flight.
    busy: bool,
    /// Held back by a `reorder` fault until the next attempt to this callback ends.
    held: Option<Queued>,
}

impl CallbackQueue {
    fn is_idle(&self) -> bool {
        self.waiting.is_empty() && !self.busy && self.held.is_none()
    }
}

/// What the lock guards: the queues and the log, changed together.
#[derive(Debug)]
struct Core {
    next_id: u64,
    /// Bumped by every clear, so attempts in flight across it are not retried or logged.
    generation: u64,
    log: DeliveryLog,
    callbacks: HashMap<String, CallbackQueue>,
    in_flight: usize,
}

impl Core {
    fn set_state(&mut self, id: u64, state: DeliveryState, next: Option<DateTime<Utc>>) {
        if let Some(record) = self.log.get_mut(id) {
            record.state = state;
            record.next_attempt_at = next;
        }
    }

    fn drop_record(&mut self, id: u64, reason: &'static str) {
        if let Some(record) = self.log.get_mut(id) {
            record.state = DeliveryState::Dropped;
            record.dropped_reason = Some(reason);
            record.next_attempt_at = None;
        }
    }

    /// Queues `queued` on its callback, dropping the oldest waiting delivery when full.
    fn push(&mut self, queued: Queued, capacity: usize) {
        let queue = self
            .callbacks
            .entry(queued.outgoing.url.clone())
            .or_default();
        let evicted = if queue.waiting.len() >= capacity {
            queue.waiting.pop_first().map(|(id, _)| id)
        } else {
            None
        };
        queue.waiting.insert(queued.id, queued);
        if let Some(id) = evicted {
            tracing::debug!(delivery = id, "webhook queue full: oldest delivery dropped");
            self.drop_record(id, "queue_full");
        }
    }
}

#[derive(Debug)]
struct Inner {
    clock: Arc<Clock>,
    config: WebhookConfig,
    core: Mutex<Core>,
    faults: DeliveryFaults,
    /// Wakes the worker: a delivery was queued, an attempt ended, a delivery was released.
    wake: Notify,
    /// Counts the worker's passes and the attempts ended, for [`WebhookEngine::settled`].
    progress: watch::Sender<u64>,
    /// Set once by shutdown: the worker stops and is never started again.
    stopping: watch::Sender<bool>,
}

/// The worker, started on first use on a thread of its own (with a single-threaded Tokio
/// runtime): deliveries, their signing and the callbacks' connections then never take a turn
/// on the runtime that answers Graph requests (`bench/webhooks.sh` showed a send's answer
/// waiting behind delivery tasks on the shared runtime).
#[derive(Debug)]
enum Worker {
    NotStarted,
    Running(std::thread::JoinHandle<()>),
    Stopped,
}

/// The webhook delivery engine. Construct it once (it lives as long as the emulator's state)
/// with the emulator's clock; dropping it stops its worker.
#[derive(Debug)]
pub struct WebhookEngine {
    inner: Arc<Inner>,
    started: AtomicBool,
    worker: Mutex<Worker>,
}

impl WebhookEngine {
    /// An engine judging retries by `clock`. Nothing runs yet: the worker starts, on a thread
    /// of its own, on the first call that needs it, so an engine that is never used costs
    /// nothing.
    pub fn new(clock: Arc<Clock>, config: WebhookConfig) -> Self {
        let config = WebhookConfig {
            queue_capacity_per_callback: config.queue_capacity_per_callback.max(1),
            max_concurrent_callbacks: config.max_concurrent_callbacks.max(1),
            ..config
        };
        let log = DeliveryLog::new(config.log_capacity);
        Self {
            inner: Arc::new(Inner {
                clock,
                config,
                core: Mutex::new(Core {
                    next_id: 1,
                    generation: 0,
                    log,
                    callbacks: HashMap::new(),
                    in_flight: 0,
                }),
                faults: DeliveryFaults::default(),
                wake: Notify::new(),
                progress: watch::Sender::new(0),
                stopping: watch::Sender::new(false),
            }),
            started: AtomicBool::new(false),
            worker: Mutex::new(Worker::NotStarted),
        }
    }

    /// The settings in force.
    pub fn config(&self) -> &WebhookConfig {
        &self.inner.config
    }

    /// Queues a delivery and returns its id. Never waits: the body is signed with the secret
    /// (which is then forgotten), logged as `pending`, queued on its callback and the worker
    /// woken. When the callback already has `queue_capacity_per_callback` deliveries waiting,
    /// the oldest of them is dropped (logged as `dropped`, `queue_full`).
    pub fn enqueue(&self, delivery: Delivery) -> u64 {
        self.enqueue_at(delivery, None)
    }

    /// [`enqueue`](Self::enqueue), first attempted once the emulator's clock reaches `due`
    /// (`None`: at once). Paces events that follow each other in time, such as a message's
    /// `sent`, `delivered` and `read` statuses; the retry schedule starts at `due`.
    pub fn enqueue_at(&self, delivery: Delivery, due: Option<DateTime<Utc>>) -> u64 {
        let signature = sign(delivery.secret.as_bytes(), delivery.body.as_bytes());
        let body = Bytes::from(delivery.body);
        let now = self.inner.clock.now();
        let due = due.filter(|due| *due > now);
        let outgoing = Arc::new(Outgoing {
            app_id: delivery.app_id.clone(),
            url: delivery.url.clone(),
            field: delivery.field.clone(),
            number_id: delivery.number_id.clone(),
            body: body.clone(),
            signature: HeaderValue::from_str(&signature).expect("sha256=<hex> is a header value"),
        });
        let id = {
            let mut core = self.inner.core.lock();
            let id = core.next_id;
            core.next_id += 1;
            core.log.push(DeliveryRecord {
                id,
                state: DeliveryState::Pending,
                dropped_reason: None,
                app_id: delivery.app_id,
                url: delivery.url,
                field: delivery.field,
                number_id: delivery.number_id,
                waba_id: delivery.waba_id,
                enqueued_at: now,
                next_attempt_at: due,
                body,
                signature,
                attempts: Vec::new(),
                attempt_count: 0,
            });
            let capacity = self.inner.config.queue_capacity_per_callback;
            let generation = core.generation;
            core.push(
                Queued {
                    id,
                    outgoing,
                    first_attempt: due.unwrap_or(now),
                    attempt: 1,
                    due: due.unwrap_or(now),
                    reordered: false,
                    generation,
                },
                capacity,
            );
            id
        };
        self.inner.wake.notify_one();
        self.ensure_worker();
        id
    }

    /// Runs the verification handshake against `callback_url` with the configured timeout
    /// and transport (see [`verify_callback`]). `challenge` should come from the emulator's
    /// seeded ids, so runs are reproducible.
    pub async fn handshake(
        &self,
        callback_url: &str,
        verify_token: &str,
        challenge: u64,
    ) -> Result<(), HandshakeFailure> {
        verify_callback(
            callback_url,
            verify_token,
            challenge,
            self.inner.config.handshake_timeout,
            self.inner.config.transport.as_ref(),
        )
        .await
    }

    /// The logged deliveries matching `filter`, oldest first.
    pub fn deliveries(&self, filter: &DeliveryFilter) -> Vec<DeliveryRecord> {
        self.inner.core.lock().log.query(filter)
    }

    /// One logged delivery.
    pub fn delivery(&self, id: u64) -> Option<DeliveryRecord> {
        self.inner.core.lock().log.get(id).cloned()
    }

    /// How many deliveries wait in the queues (due now or later, held ones included; not
    /// those in flight). Never more than `queue_capacity_per_callback` per callback.
    pub fn queued(&self) -> usize {
        let core = self.inner.core.lock();
        core.callbacks
            .values()
            .map(|queue| queue.waiting.len() + usize::from(queue.held.is_some()))
            .sum()
    }

    /// Sends a finished delivery (delivered, failed or dropped) again: the same bytes and
    /// signature to the same URL, as new attempts of the same record, on a fresh retry
    /// schedule starting now.
    pub fn redeliver(&self, id: u64) -> Result<(), RedeliverError> {
        {
            let mut core = self.inner.core.lock();
            let record = core.log.get_mut(id).ok_or(RedeliverError::Unknown(id))?;
            if record.state.is_open() {
                return Err(RedeliverError::StillPending(id));
            }
            let now = self.inner.clock.now();
            record.state = DeliveryState::Pending;
            record.dropped_reason = None;
            record.enqueued_at = now;
            record.next_attempt_at = None;
            let outgoing = Arc::new(Outgoing {
                app_id: record.app_id.clone(),
                url: record.url.clone(),
                field: record.field.clone(),
                number_id: record.number_id.clone(),
                body: record.body.clone(),
                signature: HeaderValue::from_str(&record.signature)
                    .expect("a logged signature is a header value"),
            });
            let capacity = self.inner.config.queue_capacity_per_callback;
            let generation = core.generation;
            core.push(
                Queued {
                    id,
                    outgoing,
                    first_attempt: now,
                    attempt: 1,
                    due: now,
                    reordered: false,
                    generation,
                },
                capacity,
            );
        }
        self.inner.wake.notify_one();
        self.ensure_worker();
        Ok(())
    }

    /// Forgets every delivery: the log is emptied and whatever was queued, retrying or held
    /// is cancelled (attempts already in flight end, but are neither logged nor retried).
    /// Armed delivery faults stay.
    pub fn clear(&self) {
        let mut core = self.inner.core.lock();
        core.generation += 1;
        core.log.clear();
        for queue in core.callbacks.values_mut() {
            queue.waiting.clear();
            queue.held = None;
        }
        core.callbacks.retain(|_, queue| !queue.is_idle());
        drop(core);
        self.inner.progress.send_modify(|count| *count += 1);
    }

    /// Arms a delivery fault (checked first: an invalid spec arms nothing).
    pub fn arm_fault(
        &self,
        spec: DeliveryFaultSpec,
    ) -> Result<ArmedDeliveryFault, DeliveryFaultError> {
        self.inner.faults.arm(spec)
    }

    /// The armed delivery faults, first armed first.
    pub fn faults(&self) -> Vec<ArmedDeliveryFault> {
        self.inner.faults.list()
    }

    /// Removes one delivery fault; false if unknown.
    pub fn disarm_fault(&self, id: u64) -> bool {
        self.inner.faults.remove(id)
    }

    /// Removes every delivery fault.
    pub fn clear_faults(&self) {
        self.inner.faults.clear();
    }

    /// Returns once nothing is left to do at the clock's current time: no attempt in flight
    /// and no queued delivery due. Deliveries due later (on a manual clock: after the next
    /// advance) and deliveries held by a `reorder` fault do not count. For tests: "send
    /// everything that is due, then look at the log". Returns at once after shutdown.
    pub async fn settled(&self) {
        let mut progress = self.inner.progress.subscribe();
        let mut stopping = self.inner.stopping.subscribe();
        loop {
            if *stopping.borrow_and_update() || self.is_settled() {
                return;
            }
            self.ensure_worker();
            tokio::select! {
                _ = progress.changed() => {}
                _ = stopping.changed() => {}
            }
        }
    }

    fn is_settled(&self) -> bool {
        let now = self.inner.clock.now();
        let core = self.inner.core.lock();
        core.in_flight == 0
            && core
                .callbacks
                .values()
                .all(|queue| queue.waiting.values().all(|queued| queued.due > now))
    }

    /// Stops the worker and waits for it: attempts in flight are abandoned, queued
    /// deliveries stay in the log as they are. Later enqueues are logged but never sent.
    pub async fn shutdown(&self) {
        self.inner.stopping.send_replace(true);
        let worker = std::mem::replace(&mut *self.worker.lock(), Worker::Stopped);
        self.started.store(true, Ordering::Release);
        if let Worker::Running(handle) = worker {
            // The worker sees `stopping` at its next wake-up (at once) and returns.
            let _ = tokio::task::spawn_blocking(move || handle.join()).await;
        }
    }

    /// Starts the worker (its thread and runtime) if it is not running.
    fn ensure_worker(&self) {
        if self.started.load(Ordering::Acquire) {
            return;
        }
        let mut worker = self.worker.lock();
        if !matches!(*worker, Worker::NotStarted) {
            return;
        }
        let inner = Arc::clone(&self.inner);
        let spawned = std::thread::Builder::new()
            .name("webhooks".into())
            .spawn(move || {
                match tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                {
                    Ok(runtime) => runtime.block_on(run_worker(inner)),
                    Err(error) => tracing::error!(%error, "the webhook worker cannot start"),
                }
            });
        match spawned {
            Ok(handle) => {
                *worker = Worker::Running(handle);
                self.started.store(true, Ordering::Release);
            }
            Err(error) => tracing::error!(%error, "the webhook worker thread cannot start"),
        }
    }
}

impl Drop for WebhookEngine {
    fn drop(&mut self) {
        // The worker returns at its next wake-up, which this causes; its thread is not
        // joined here (a drop must not block).
        self.inner.stopping.send_replace(true);
    }
}

/// The worker: starts what is due, then waits for the next reason to look again.
async fn run_worker(inner: Arc<Inner>) {
    let mut clock_moves = inner.clock.subscribe();
    let mut stopping = inner.stopping.subscribe();
    // Dropped with the worker, which aborts the attempts still in flight.
    let mut attempts = JoinSet::new();
    loop {
        if *stopping.borrow_and_update() {
            return;
        }
        let next_due = start_due_attempts(&inner, &mut attempts);
        inner.progress.send_modify(|count| *count += 1);
        // A manual clock only moves when told, which `clock_moves` reports: no timer then.
        let sleep = match (inner.clock.mode(), next_due) {
            (ClockMode::System, Some(due)) => {
                (due - inner.clock.now()).to_std().unwrap_or(Duration::ZERO)
            }
            _ => Duration::from_secs(24 * 3600),
        };
        tokio::select! {
            _ = stopping.changed() => {}
            () = inner.wake.notified() => {}
            _ = clock_moves.changed() => {}
            () = tokio::time::sleep(sleep) => {}
            Some(_) = attempts.join_next(), if !attempts.is_empty() => {}
        }
    }
}

/// Takes every due delivery that may start now off its queue and starts its attempt;
/// returns the earliest due time of the deliveries left waiting.
fn start_due_attempts(inner: &Arc<Inner>, attempts: &mut JoinSet<()>) -> Option<DateTime<Utc>> {
    let now = inner.clock.now();
    let limit = inner.config.max_concurrent_callbacks;
    let mut core = inner.core.lock();
    let mut next_due: Option<DateTime<Utc>> = None;
    let mut started = Vec::new();
    let mut in_flight = core.in_flight;
    for queue in core.callbacks.values_mut() {
        if queue.busy {
            continue;
        }
        let ready = queue
            .waiting
            .values()
            .find(|queued| queued.due <= now)
            .map(|queued| queued.id);
        match ready {
            Some(id) if in_flight < limit => {
                let mut queued = queue.waiting.remove(&id).expect("found just now");
                queued.attempt = catch_up(queued.first_attempt, queued.attempt, now);
                queue.busy = true;
                in_flight += 1;
                started.push(queued);
            }
            // Due but over the concurrency limit: an ending attempt wakes the worker.
            Some(_) => {}
            None => {
                if let Some(due) = queue.waiting.values().map(|queued| queued.due).min() {
                    next_due = Some(next_due.map_or(due, |earliest| earliest.min(due)));
                }
            }
        }
    }
    core.in_flight = in_flight;
    core.callbacks.retain(|_, queue| !queue.is_idle());
    drop(core);
    for queued in started {
        attempts.spawn(attempt(Arc::clone(inner), queued));
    }
    next_due
}

/// What one POST produced.
struct Sent {
    at: DateTime<Utc>,
    status: Option<u16>,
    error: Option<String>,
    latency_ms: u64,
}

/// POSTs the delivery's exact bytes with Meta's headers.
async fn post(inner: &Inner, outgoing: &Outgoing) -> Sent {
    let at = inner.clock.now();
    let started = Instant::now();
    let mut request = HttpRequest::post_json_bytes(&outgoing.url, outgoing.body.clone())
        .header(
            HeaderName::from_static(SIGNATURE_HEADER),
            outgoing.signature.clone(),
        )
        .header(USER_AGENT, HeaderValue::from_static(WEBHOOK_USER_AGENT));
    if let Some(transport) = &inner.config.transport {
        request = request.via(transport);
    }
    let result = request.send(inner.config.delivery_timeout).await;
    let latency_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
    match result {
        Ok(response) => Sent {
            at,
            status: Some(response.status.as_u16()),
            error: None,
            latency_ms,
        },
        Err(error) => Sent {
            at,
            status: None,
            error: Some(curl_error_text(&error)),
            latency_ms,
        },
    }
}

/// One attempt of one delivery, faults applied, and its outcome recorded and scheduled.
async fn attempt(inner: Arc<Inner>, mut queued: Queued) {
    let outgoing = Arc::clone(&queued.outgoing);
    let fault = inner
        .faults
        .take(&FaultTarget {
            app_id: &outgoing.app_id,
            field: &outgoing.field,
            number_id: outgoing.number_id.as_deref(),
        })
        // A delivery released after a reorder is sent as it is.
        .filter(|fault| !(queued.reordered && fault.kind == DeliveryFaultKind::Reorder));
    let kind = fault.map(|fault| fault.kind);

    match kind {
        Some(DeliveryFaultKind::Reorder) => {
            queued.reordered = true;
            let mut core = inner.core.lock();
            if queued.generation != core.generation {
                return finish(&inner, core, &outgoing.url, false);
            }
            let queue = core.callbacks.entry(outgoing.url.clone()).or_default();
            // One held at a time: an earlier held delivery goes back to the queue first.
            if let Some(earlier) = queue.held.replace(queued) {
                queue.waiting.insert(earlier.id, earlier);
            }
            return finish(&inner, core, &outgoing.url, false);
        }
        Some(DeliveryFaultKind::Drop) => {
            let mut core = inner.core.lock();
            if let Some(record) = core.log.get_mut(queued.id) {
                record.push_attempt(AttemptRecord {
                    attempt: queued.attempt,
                    at: inner.clock.now(),
                    status: None,
                    error: Some("not sent: dropped by a delivery fault".to_owned()),
                    latency_ms: 0,
                    fault: kind,
                });
            }
            core.drop_record(queued.id, "fault");
            return finish(&inner, core, &outgoing.url, false);
        }
        Some(DeliveryFaultKind::Delay) => {
            let delay = fault.map_or(0, |fault| fault.delay_ms);
            tokio::time::sleep(Duration::from_millis(delay)).await;
        }
        _ => {}
    }

    let sent = post(&inner, &outgoing).await;
    let duplicate = if kind == Some(DeliveryFaultKind::Duplicate) {
        Some(post(&inner, &outgoing).await)
    } else {
        None
    };
    let acknowledged = sent.status == Some(200);
    let delivered = acknowledged && kind != Some(DeliveryFaultKind::RetryAfterAck);
    tracing::debug!(
        delivery = queued.id,
        url = %outgoing.url,
        status = ?sent.status,
        error = ?sent.error,
        "webhook attempt"
    );

    let now = inner.clock.now();
    let mut core = inner.core.lock();
    // A delivery cleared while in flight is neither logged nor retried (its id may already
    // be forgotten); one merely pushed out of the log is still retried.
    if queued.generation != core.generation {
        return finish(&inner, core, &outgoing.url, true);
    }
    if let Some(record) = core.log.get_mut(queued.id) {
        let shaped_by = match kind {
            Some(DeliveryFaultKind::Duplicate) => None,
            other => other,
        }
        .or(queued.reordered.then_some(DeliveryFaultKind::Reorder));
        for (sent, fault) in [(Some(sent), shaped_by), (duplicate, kind)] {
            if let Some(sent) = sent {
                record.push_attempt(AttemptRecord {
                    attempt: queued.attempt,
                    at: sent.at,
                    status: sent.status,
                    error: sent.error,
                    latency_ms: sent.latency_ms,
                    fault,
                });
            }
        }
    }
    if delivered {
        core.set_state(queued.id, DeliveryState::Delivered, None);
    } else {
        match next_attempt(queued.first_attempt, queued.attempt, now) {
            Some((attempt, due)) => {
                core.set_state(queued.id, DeliveryState::Retrying, Some(due));
                queued.attempt = attempt;
                queued.due = due;
                queued.reordered = false;
                let capacity = inner.config.queue_capacity_per_callback;
                core.push(queued, capacity);
            }
            None => core.set_state(queued.id, DeliveryState::Failed, None),
        }
    }
    finish(&inner, core, &outgoing.url, true);
}

/// Ends an attempt: the callback is free again, a delivery held for reordering goes back to
/// the front of its queue once another delivery was sent, and the worker looks again.
fn finish(
    inner: &Inner,
    mut core: parking_lot::MutexGuard<'_, Core>,
    url: &str,
    sent_something: bool,
) {
    core.in_flight -= 1;
    let now = inner.clock.now();
    if let Some(queue) = core.callbacks.get_mut(url) {
        queue.busy = false;
        if sent_something && let Some(mut held) = queue.held.take() {
            held.due = held.due.min(now);
            queue.waiting.insert(held.id, held);
        }
    }
    drop(core);
    inner.wake.notify_one();
    inner.progress.send_modify(|count| *count += 1);
}
