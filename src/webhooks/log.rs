//! The delivery log: every delivery with its attempts, as plain data, newest kept.
//!
//! Bounded twice: at most `capacity` deliveries (the oldest forgotten first) and at most
//! [`MAX_ATTEMPTS_KEPT`] attempts per delivery (redeliveries could add more), so a long run
//! never grows it without limit. Ids are consecutive, so a delivery is found by arithmetic.

use std::collections::VecDeque;

use bytes::Bytes;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize, Serializer};

use super::faults::DeliveryFaultKind;

/// Attempts kept per delivery (the oldest forgotten first; `attempt_count` still counts
/// them all).
pub const MAX_ATTEMPTS_KEPT: usize = 64;

/// Where a delivery stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DeliveryState {
    /// Queued, not attempted yet (or held back by a `reorder` fault).
    Pending,
    /// Attempted, failed, and due again later.
    Retrying,
    /// Answered with HTTP 200.
    Delivered,
    /// Given up: every attempt of the 7-day schedule failed.
    Failed,
    /// Never (or no longer) sent: pushed out of a full queue, cancelled by a clear, or lost
    /// by a `drop` fault (`dropped_reason` says which).
    Dropped,
}

impl DeliveryState {
    /// Whether the delivery may still be attempted without a redelivery.
    pub fn is_open(self) -> bool {
        matches!(self, Self::Pending | Self::Retrying)
    }
}

/// One attempt to deliver.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AttemptRecord {
    /// Its number in the retry schedule (1 is the first attempt).
    pub attempt: u32,
    /// When it was made, on the emulator's clock.
    pub at: DateTime<Utc>,
    /// The callback's HTTP status, if it answered.
    pub status: Option<u16>,
    /// Why there is no usable answer (curl's words), if so.
    pub error: Option<String>,
    /// How long the exchange took, in milliseconds of real time.
    pub latency_ms: u64,
    /// The delivery fault that shaped this attempt, if any.
    pub fault: Option<DeliveryFaultKind>,
}

/// A delivery and what became of it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DeliveryRecord {
    /// Its id, for [`redeliver`](super::WebhookEngine::redeliver).
    pub id: u64,
    /// Where it stands.
    pub state: DeliveryState,
    /// Why it was dropped, when `state` is `dropped`: `queue_full`, `cleared` or `fault`.
    pub dropped_reason: Option<&'static str>,
    /// The app it is for.
    pub app_id: String,
    /// The callback URL.
    pub url: String,
    /// The webhook field.
    pub field: String,
    /// The phone number id it is about, if any.
    pub number_id: Option<String>,
    /// The WABA id it is about, if any.
    pub waba_id: Option<String>,
    /// When it was queued (or queued again by a redelivery), on the emulator's clock.
    pub enqueued_at: DateTime<Utc>,
    /// When the next attempt is due, while it is `retrying`.
    pub next_attempt_at: Option<DateTime<Utc>>,
    /// The exact body sent, as text (always ASCII: Meta's escaping).
    #[serde(serialize_with = "body_as_text")]
    pub body: Bytes,
    /// The `X-Hub-Signature-256` value sent.
    pub signature: String,
    /// Attempts made, every redelivery's included (at most [`MAX_ATTEMPTS_KEPT`], the newest).
    pub attempts: Vec<AttemptRecord>,
    /// Attempts made in all, including those no longer kept.
    pub attempt_count: u32,
}

impl DeliveryRecord {
    /// The body as text.
    pub fn body_text(&self) -> &str {
        std::str::from_utf8(&self.body).unwrap_or("")
    }

    /// Adds an attempt, forgetting the oldest beyond [`MAX_ATTEMPTS_KEPT`].
    pub(super) fn push_attempt(&mut self, attempt: AttemptRecord) {
        if self.attempts.len() == MAX_ATTEMPTS_KEPT {
            self.attempts.remove(0);
        }
        self.attempts.push(attempt);
        self.attempt_count = self.attempt_count.saturating_add(1);
    }
}

fn body_as_text<S: Serializer>(body: &Bytes, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(&String::from_utf8_lossy(body))
}

/// Which deliveries a query returns; every given criterion must hold.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeliveryFilter {
    /// Only deliveries to this app.
    #[serde(default)]
    pub app_id: Option<String>,
    /// Only this webhook field.
    #[serde(default)]
    pub field: Option<String>,
    /// Only deliveries about this phone number id.
    #[serde(default)]
    pub number_id: Option<String>,
    /// Only deliveries about this WABA id.
    #[serde(default)]
    pub waba_id: Option<String>,
    /// Only deliveries in this state.
    #[serde(default)]
    pub state: Option<DeliveryState>,
    /// Only deliveries with an id greater than this (for polling).
    #[serde(default)]
    pub since: Option<u64>,
    /// At most this many (the newest).
    #[serde(default)]
    pub limit: Option<usize>,
}

impl DeliveryFilter {
    fn matches(&self, record: &DeliveryRecord) -> bool {
        let same = |wanted: &Option<String>, actual: Option<&str>| {
            wanted
                .as_deref()
                .is_none_or(|wanted| actual == Some(wanted))
        };
        same(&self.app_id, Some(&record.app_id))
            && same(&self.field, Some(&record.field))
            && same(&self.number_id, record.number_id.as_deref())
            && same(&self.waba_id, record.waba_id.as_deref())
            && self.state.is_none_or(|state| state == record.state)
            && self.since.is_none_or(|since| record.id > since)
    }
}

/// The deliveries, oldest first, at most `capacity` of them.
#[derive(Debug)]
pub(super) struct DeliveryLog {
    capacity: usize,
    records: VecDeque<DeliveryRecord>,
}

impl DeliveryLog {
    pub(super) fn new(capacity: usize) -> Self {
        Self {
            capacity,
            records: VecDeque::with_capacity(capacity.min(1024)),
        }
    }

    /// Adds a record (with the next id), forgetting the oldest beyond the capacity.
    pub(super) fn push(&mut self, record: DeliveryRecord) {
        if self.capacity == 0 {
            return;
        }
        if self.records.len() == self.capacity {
            self.records.pop_front();
        }
        self.records.push_back(record);
    }

    pub(super) fn get(&self, id: u64) -> Option<&DeliveryRecord> {
        let index = self.index_of(id)?;
        self.records.get(index)
    }

    pub(super) fn get_mut(&mut self, id: u64) -> Option<&mut DeliveryRecord> {
        let index = self.index_of(id)?;
        self.records.get_mut(index)
    }

    /// Ids are consecutive from the front's, so the index is a subtraction.
    fn index_of(&self, id: u64) -> Option<usize> {
        let front = self.records.front()?.id;
        let index = usize::try_from(id.checked_sub(front)?).ok()?;
        (self.records.get(index)?.id == id).then_some(index)
    }

    pub(super) fn query(&self, filter: &DeliveryFilter) -> Vec<DeliveryRecord> {
        let matching: Vec<&DeliveryRecord> =
            self.records.iter().filter(|r| filter.matches(r)).collect();
        let skip = filter
            .limit
            .map_or(0, |limit| matching.len().saturating_sub(limit));
        matching.into_iter().skip(skip).cloned().collect()
    }

    pub(super) fn clear(&mut self) {
        self.records.clear();
    }

    #[cfg(test)]
    pub(super) fn len(&self) -> usize {
        self.records.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(id: u64, field: &str) -> DeliveryRecord {
        DeliveryRecord {
            id,
            state: DeliveryState::Pending,
            dropped_reason: None,
            app_id: "app".into(),
            url: "http://h/".into(),
            field: field.into(),
            number_id: None,
            waba_id: Some("w".into()),
            enqueued_at: "2026-01-01T00:00:00Z".parse().unwrap(),
            next_attempt_at: None,
            body: Bytes::from_static(b"{}"),
            signature: "sha256=00".into(),
            attempts: Vec::new(),
            attempt_count: 0,
        }
    }

    #[test]
    fn the_log_keeps_the_newest_and_finds_by_id() {
        let mut log = DeliveryLog::new(3);
        for id in 1..=5 {
            log.push(record(
                id,
                if id % 2 == 0 {
                    "messages"
                } else {
                    "account_update"
                },
            ));
        }
        assert_eq!(log.len(), 3);
        assert!(log.get(2).is_none());
        assert_eq!(log.get(4).unwrap().id, 4);
        assert!(log.get(6).is_none());
        let messages = DeliveryFilter {
            field: Some("messages".into()),
            ..Default::default()
        };
        assert_eq!(
            log.query(&messages)
                .iter()
                .map(|r| r.id)
                .collect::<Vec<_>>(),
            [4]
        );
        let newest = DeliveryFilter {
            limit: Some(2),
            ..Default::default()
        };
        assert_eq!(
            log.query(&newest).iter().map(|r| r.id).collect::<Vec<_>>(),
            [4, 5]
        );
        let since = DeliveryFilter {
            since: Some(4),
            waba_id: Some("w".into()),
            ..Default::default()
        };
        assert_eq!(
            log.query(&since).iter().map(|r| r.id).collect::<Vec<_>>(),
            [5]
        );
        log.clear();
        assert!(log.get(5).is_none());
        let mut none = DeliveryLog::new(0);
        none.push(record(1, "messages"));
        assert_eq!(none.len(), 0);
    }

    #[test]
    fn attempts_are_bounded_and_counted() {
        let mut delivery = record(1, "messages");
        for attempt in 1..=(MAX_ATTEMPTS_KEPT as u32 + 5) {
            delivery.push_attempt(AttemptRecord {
                attempt,
                at: delivery.enqueued_at,
                status: Some(500),
                error: None,
                latency_ms: 1,
                fault: None,
            });
        }
        assert_eq!(delivery.attempts.len(), MAX_ATTEMPTS_KEPT);
        assert_eq!(delivery.attempts[0].attempt, 6);
        assert_eq!(delivery.attempt_count, MAX_ATTEMPTS_KEPT as u32 + 5);
        let json = serde_json::to_value(&delivery).unwrap();
        assert_eq!(json["body"], "{}");
        assert_eq!(json["state"], "pending");
    }
}
