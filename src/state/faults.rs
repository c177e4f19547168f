//! Fault injection: make matching Graph requests misbehave in the ways a network and a busy
//! server do, including the ones where the client cannot know the outcome.
//!
//! A fault is a small pipeline run on each request it matches, after authentication:
//!
//! 1. wait `latency_ms` before the request is handled (a client that gives up meanwhile leaves
//!    nothing applied: the request never runs);
//! 2. run the request against the state when `apply` is true, skip it otherwise;
//! 3. wait `delay_ms` (the change, if any, is already made);
//! 4. give the client the `answer`: the request's own (`normal`), a Graph error
//!    (`error`, `error_code`), the connection closed without an answer (`drop`), the
//!    connection reset (`reset`), or nothing at all until the client gives up (`hang`).
//!
//! Which requests it matches: `number`, `operation`, a time window on the clock the request is
//! judged by (`from`, `until`), and a seeded `probability`; `count` bounds how many it
//! shapes. A spec is checked here, when it is armed, whoever arms it (the HTTP control API or
//! a Rust test in library mode), so an invalid fault can never be armed.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::armed::{Armed, ArmedItem};

use super::ids::splitmix64;
use crate::domain::CATALOG_CODES;

/// What the client gets from a faulted request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FaultAnswer {
    /// The request's own answer (after `delay_ms`).
    Normal,
    /// A Graph error from the error table (`error_code`), with Meta's status and texts.
    Error,
    /// The connection closed without an answer (HTTP/2: the request's stream is reset).
    Drop,
    /// The connection reset (TCP RST), without an answer.
    Reset,
    /// No answer until the client gives up (or the emulator stops).
    Hang,
}

impl FaultAnswer {
    /// The name used in specs and in the documentation.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Normal => "normal",
            Self::Error => "error",
            Self::Drop => "drop",
            Self::Reset => "reset",
            Self::Hang => "hang",
        }
    }
}

/// An answer the server must not deliver, carried from the Graph layer to the server as an
/// extension of the (otherwise empty) response: the server closes, resets or holds the
/// connection instead of writing it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Withhold {
    /// Close without answering (HTTP/1: the connection; HTTP/2: the request's stream).
    Drop,
    /// Reset the TCP connection.
    Reset,
    /// Answer nothing until the client goes away or the emulator stops.
    Hang,
}

/// What a client asks to arm. Every field is optional; see the module documentation for what
/// the fields do together and [`FaultSpec::validate`] for the combinations refused.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct FaultSpec {
    /// Graph error code to answer (see `GraphError::catalog`); implies `answer: error`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_code: Option<u32>,
    /// Wait before the request is handled, in milliseconds (a client that gives up meanwhile
    /// leaves nothing applied).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub latency_ms: Option<u64>,
    /// How many matching requests it shapes; absent: until cleared.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub count: Option<u32>,
    /// Only requests on this node id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub number: Option<String>,
    /// Only this operation (`register`, `deregister`, …, `node` for the node itself).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub operation: Option<String>,
    /// Whether the request takes effect. Default: true for `answer: normal`, false for
    /// `answer: error` (the request is refused); required for `drop`, `reset` and `hang`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub apply: Option<bool>,
    /// What the client gets. Default: `error` with `error_code`, `normal` otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub answer: Option<FaultAnswer>,
    /// Wait between the request's effect and the answer, in milliseconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delay_ms: Option<u64>,
    /// HTTP status of the error answer instead of the table's (e.g. 500 for code 2, as a
    /// proxy in front of Graph may answer); 400–599, only with `answer: error`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub http_status: Option<u16>,
    /// Chance (0 to 1) that a matching request is shaped; absent: every one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub probability: Option<f64>,
    /// Seed of the draws behind `probability`: the same seed and the same sequence of
    /// matching requests give the same decisions. Absent: a random one, shown once armed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seed: Option<u64>,
    /// Only requests judged at or after this instant (the clock of the request's number).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<DateTime<Utc>>,
    /// Only requests judged before this instant.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub until: Option<DateTime<Utc>>,
}

/// An armed fault.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Fault {
    /// Id for deletion, and what the journal names as the fault that shaped an answer.
    pub id: u64,
    /// What it does, with `apply`, `answer` and (with `probability`) `seed` filled in.
    #[serde(flatten)]
    pub spec: FaultSpec,
    /// Matching requests left (`null`: unlimited).
    pub remaining: Option<u32>,
    /// State of the draws behind `probability`.
    #[serde(skip)]
    draws: u64,
}

/// The longest wait a fault may add, before or after the request runs (ten minutes).
pub const FAULT_MAX_LATENCY_MS: u64 = 600_000;

/// Why a fault spec cannot be armed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct FaultError(String);

fn refuse<T>(message: impl Into<String>) -> Result<T, FaultError> {
    Err(FaultError(message.into()))
}

impl FaultSpec {
    /// The answer the client gets: `answer`, else `error` when an error code is given.
    pub fn resolved_answer(&self) -> FaultAnswer {
        self.answer.unwrap_or(if self.error_code.is_some() {
            FaultAnswer::Error
        } else {
            FaultAnswer::Normal
        })
    }

    /// Checks the spec and returns whether the request takes effect. Refused: a spec that
    /// changes nothing; `answer: error` without a known `error_code` (or a code with another
    /// answer); `drop`, `reset` or `hang` without an explicit `apply` (whether the request
    /// takes effect is the point of those faults); `apply: false` with `answer: normal` (a
    /// request that did not run has no answer of its own); `delay_ms` with `hang` (it never
    /// answers); `http_status` outside 400–599 or without `answer: error`; a count of 0;
    /// waits over ten minutes; a probability outside 0–1; a seed without a probability; an
    /// empty window.
    pub fn validate(&self) -> Result<bool, FaultError> {
        let answer = self.resolved_answer();
        match (answer, self.error_code) {
            (FaultAnswer::Error, None) => {
                return refuse("answer \"error\" needs an error_code");
            }
            (FaultAnswer::Error, Some(code)) if !CATALOG_CODES.contains(&code) => {
                return refuse(format!(
                    "unknown error_code {code}; known: {CATALOG_CODES:?}"
                ));
            }
            (FaultAnswer::Error, Some(_)) | (_, None) => {}
            (other, Some(_)) => {
                return refuse(format!(
                    "error_code goes with answer \"error\", not \"{}\"",
                    other.as_str()
                ));
            }
        }
        let apply = match (self.apply, answer) {
            (Some(apply), _) => apply,
            (None, FaultAnswer::Normal) => true,
            (None, FaultAnswer::Error) => false,
            (None, other) => {
                return refuse(format!(
                    "answer \"{}\" needs \"apply\": true (the request takes effect, the client \
                     cannot see it) or false (it does not)",
                    other.as_str()
                ));
            }
        };
        if !apply && answer == FaultAnswer::Normal {
            return refuse(
                "\"apply\": false with answer \"normal\" has nothing to answer (the request did \
                 not run): choose answer error, drop, reset or hang, or use latency_ms for a \
                 request that waits and then runs",
            );
        }
        if let Some(status) = self.http_status {
            if answer != FaultAnswer::Error {
                return refuse("http_status goes with answer \"error\"");
            }
            if !(400..=599).contains(&status) {
                return refuse("http_status must be between 400 and 599");
            }
        }
        if answer == FaultAnswer::Hang && self.delay_ms.is_some() {
            return refuse("answer \"hang\" never answers, so it takes no delay_ms");
        }
        for (name, wait) in [("latency_ms", self.latency_ms), ("delay_ms", self.delay_ms)] {
            if wait.is_some_and(|ms| ms > FAULT_MAX_LATENCY_MS) {
                return refuse(format!("{name} must be at most {FAULT_MAX_LATENCY_MS}"));
            }
        }
        let waits = self.latency_ms.unwrap_or(0) + self.delay_ms.unwrap_or(0) > 0;
        if answer == FaultAnswer::Normal && !waits {
            return refuse(
                "this fault changes nothing: give error_code, an answer other than \"normal\", \
                 latency_ms or delay_ms",
            );
        }
        if self.count == Some(0) {
            return refuse("count must be at least 1 (leave it out for no limit)");
        }
        match self.probability {
            Some(p) if !(0.0..=1.0).contains(&p) => {
                return refuse("probability must be between 0 and 1");
            }
            None if self.seed.is_some() => {
                return refuse("seed goes with probability");
            }
            _ => {}
        }
        if let (Some(from), Some(until)) = (self.from, self.until)
            && from >= until
        {
            return refuse("from must be before until");
        }
        Ok(apply)
    }
}

impl Fault {
    /// Whether this fault shapes a request on `number` and `operation` judged at `now`. A
    /// request outside its filters or its window is not considered at all; one inside draws
    /// once (with a probability), so the decisions depend only on the seed and the sequence
    /// of matching requests.
    fn decides(&mut self, number: &str, operation: &str, now: DateTime<Utc>) -> bool {
        let spec = &self.spec;
        let considered = spec.number.as_deref().is_none_or(|n| n == number)
            && spec.operation.as_deref().is_none_or(|o| o == operation)
            && spec.from.is_none_or(|from| now >= from)
            && spec.until.is_none_or(|until| now < until);
        if !considered {
            return false;
        }
        match spec.probability {
            None => true,
            Some(p) => unit_draw(&mut self.draws) < p,
        }
    }

    fn triggered(&self) -> Triggered {
        let spec = &self.spec;
        Triggered {
            fault_id: self.id,
            apply: spec.apply.unwrap_or(false),
            answer: spec.resolved_answer(),
            error_code: spec.error_code,
            http_status: spec.http_status,
            latency_ms: spec.latency_ms.unwrap_or(0),
            delay_ms: spec.delay_ms.unwrap_or(0),
        }
    }
}

/// A draw in `[0, 1)` from SplitMix64 (53 bits, as many as an `f64` holds).
fn unit_draw(state: &mut u64) -> f64 {
    (splitmix64(state) >> 11) as f64 / (1u64 << 53) as f64
}

/// What a matching fault does to one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Triggered {
    /// The fault's id (for the journal).
    pub fault_id: u64,
    /// Whether the request runs against the state.
    pub apply: bool,
    /// What the client gets.
    pub answer: FaultAnswer,
    /// Error code to answer with (with [`FaultAnswer::Error`]).
    pub error_code: Option<u32>,
    /// Status of the error answer instead of the table's.
    pub http_status: Option<u16>,
    /// Wait before the request is handled, in milliseconds.
    pub latency_ms: u64,
    /// Wait between the effect and the answer, in milliseconds.
    pub delay_ms: u64,
}

/// The armed faults, first armed first matched.
#[derive(Debug, Default)]
pub struct Faults(Armed<Fault>);

impl ArmedItem for Fault {
    fn id(&self) -> u64 {
        self.id
    }

    fn remaining_mut(&mut self) -> &mut Option<u32> {
        &mut self.remaining
    }
}

impl Faults {
    /// Arms a fault and returns it, or says why the spec is invalid (nothing is armed then).
    pub fn arm(&self, mut spec: FaultSpec) -> Result<Fault, FaultError> {
        let apply = spec.validate()?;
        // Stored resolved, so the listing says exactly what the fault does and a random seed
        // can be reused to replay a run.
        spec.apply = Some(apply);
        spec.answer = Some(spec.resolved_answer());
        if spec.probability.is_some() && spec.seed.is_none() {
            spec.seed = Some(super::random_seed());
        }
        Ok(self.0.arm(|id| Fault {
            id,
            remaining: spec.count,
            draws: spec.seed.unwrap_or(0),
            spec,
        }))
    }

    /// The armed faults.
    pub fn list(&self) -> Vec<Fault> {
        self.0.list()
    }

    /// Removes one fault; false if unknown.
    pub fn remove(&self, id: u64) -> bool {
        self.0.remove(id)
    }

    /// Removes every fault.
    pub fn clear(&self) {
        self.0.clear();
    }

    /// Consumes one use of the first fault that shapes a request on `number` and `operation`
    /// judged at `now`, if any. Lock-free when none is armed (the common case): one atomic
    /// load.
    pub fn take(&self, number: &str, operation: &str, now: DateTime<Utc>) -> Option<Triggered> {
        self.0.take(
            |fault| fault.decides(number, operation, now),
            Fault::triggered,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text).unwrap().to_utc()
    }

    fn now() -> DateTime<Utc> {
        at("2026-11-25T12:00:00Z")
    }

    fn spec(value: serde_json::Value) -> FaultSpec {
        serde_json::from_value(value).unwrap()
    }

    #[test]
    fn counted_faults_expire_and_filters_apply() {
        let faults = Faults::default();
        faults
            .arm(spec(serde_json::json!({"error_code": 133000, "count": 2, "number": "1", "operation": "register"})))
            .unwrap();
        assert_eq!(faults.take("2", "register", now()), None);
        assert_eq!(faults.take("1", "deregister", now()), None);
        let triggered = faults.take("1", "register", now()).unwrap();
        assert_eq!(
            (triggered.error_code, triggered.answer, triggered.apply),
            (Some(133000), FaultAnswer::Error, false)
        );
        assert_eq!(faults.list()[0].remaining, Some(1));
        assert!(faults.take("1", "register", now()).is_some());
        assert!(faults.take("1", "register", now()).is_none());
        assert!(faults.list().is_empty());
    }

    #[test]
    fn unlimited_faults_stay_until_removed() {
        let faults = Faults::default();
        let fault = faults
            .arm(spec(serde_json::json!({"latency_ms": 5})))
            .unwrap();
        // Today's latency fault: wait, then run the request and answer normally.
        assert_eq!(
            (fault.spec.apply, fault.spec.answer),
            (Some(true), Some(FaultAnswer::Normal))
        );
        for _ in 0..3 {
            assert_eq!(faults.take("x", "y", now()).unwrap().latency_ms, 5);
        }
        assert!(faults.remove(fault.id));
        assert!(!faults.remove(fault.id));
        assert!(faults.take("x", "y", now()).is_none());
    }

    #[test]
    fn invalid_specs_are_refused_and_arm_nothing() {
        let faults = Faults::default();
        for (bad, why) in [
            (serde_json::json!({}), "does nothing"),
            (serde_json::json!({"apply": true}), "does nothing either"),
            (serde_json::json!({"error_code": 999_999}), "unknown code"),
            (serde_json::json!({"error_code": 2, "count": 0}), "count 0"),
            (
                serde_json::json!({"latency_ms": FAULT_MAX_LATENCY_MS + 1}),
                "delay too long",
            ),
            (
                serde_json::json!({"delay_ms": FAULT_MAX_LATENCY_MS + 1}),
                "delay too long",
            ),
            (
                serde_json::json!({"answer": "error"}),
                "error without a code",
            ),
            (
                serde_json::json!({"answer": "drop", "error_code": 2, "apply": true}),
                "a code with another answer",
            ),
            (serde_json::json!({"answer": "drop"}), "apply left implicit"),
            (
                serde_json::json!({"apply": false, "delay_ms": 10}),
                "not applied, normal answer",
            ),
            (
                serde_json::json!({"answer": "hang", "apply": true, "delay_ms": 10}),
                "a delay before nothing",
            ),
            (
                serde_json::json!({"error_code": 2, "http_status": 200}),
                "a success status for an error",
            ),
            (
                serde_json::json!({"delay_ms": 5, "http_status": 500}),
                "a status without an error",
            ),
            (
                serde_json::json!({"error_code": 2, "probability": 1.5}),
                "probability above 1",
            ),
            (
                serde_json::json!({"error_code": 2, "seed": 7}),
                "a seed alone",
            ),
            (
                serde_json::json!({"error_code": 2, "from": "2026-11-25T12:00:00Z", "until": "2026-11-25T12:00:00Z"}),
                "an empty window",
            ),
        ] {
            let parsed: Result<FaultSpec, _> = serde_json::from_value(bad.clone());
            if let Ok(parsed) = parsed {
                assert!(faults.arm(parsed).is_err(), "{why}: {bad}");
            }
        }
        let not_a_number = FaultSpec {
            error_code: Some(2),
            probability: Some(f64::NAN),
            ..FaultSpec::default()
        };
        assert!(
            faults.arm(not_a_number).is_err(),
            "probability not a number"
        );
        assert!(faults.list().is_empty());
        for good in [
            serde_json::json!({"error_code": 2, "latency_ms": 1, "count": 1}),
            serde_json::json!({"apply": true, "answer": "drop"}),
            serde_json::json!({"apply": false, "answer": "reset", "delay_ms": 1}),
            serde_json::json!({"apply": true, "answer": "hang"}),
            serde_json::json!({"apply": true, "error_code": 2, "http_status": 500}),
            serde_json::json!({"delay_ms": 1}),
            serde_json::json!({"error_code": 4, "probability": 0}),
        ] {
            assert!(faults.arm(spec(good.clone())).is_ok(), "{good}");
        }
    }

    #[test]
    fn seeded_probability_gives_the_same_decisions_for_the_same_seed() {
        let decisions = |seed: u64| {
            let faults = Faults::default();
            faults
                .arm(spec(serde_json::json!({"error_code": 1, "probability": 0.3, "seed": seed, "number": "1"})))
                .unwrap();
            (0..200)
                .map(|i| {
                    // Requests the fault does not consider do not move its draws.
                    assert!(faults.take("2", "register", now()).is_none());
                    faults
                        .take("1", if i % 2 == 0 { "register" } else { "node" }, now())
                        .is_some()
                })
                .collect::<Vec<_>>()
        };
        let first = decisions(42);
        assert_eq!(first, decisions(42), "same seed, same decisions");
        assert_ne!(first, decisions(43), "another seed, other decisions");
        let fired = first.iter().filter(|fired| **fired).count();
        assert!((30..=90).contains(&fired), "about 30 % of 200: {fired}");
    }

    #[test]
    fn probability_edges_and_random_seeds() {
        let faults = Faults::default();
        let never = faults
            .arm(spec(
                serde_json::json!({"error_code": 1, "probability": 0, "operation": "a"}),
            ))
            .unwrap();
        assert!(never.spec.seed.is_some(), "a seed is chosen and shown");
        faults
            .arm(spec(serde_json::json!({"error_code": 2, "probability": 1, "operation": "b", "count": 3})))
            .unwrap();
        assert!((0..50).all(|_| faults.take("1", "a", now()).is_none()));
        assert!((0..3).all(|_| faults.take("1", "b", now()).is_some()));
        assert!(
            faults.take("1", "b", now()).is_none(),
            "count spent on hits only"
        );
    }

    #[test]
    fn the_window_is_judged_by_the_request_clock() {
        let faults = Faults::default();
        faults
            .arm(spec(serde_json::json!({"error_code": 2, "from": "2026-11-25T12:00:00Z", "until": "2026-11-25T13:00:00Z", "count": 2})))
            .unwrap();
        assert!(
            faults
                .take("1", "register", at("2026-11-25T11:59:59Z"))
                .is_none()
        );
        assert!(
            faults
                .take("1", "register", at("2026-11-25T13:00:00Z"))
                .is_none(),
            "until is exclusive"
        );
        assert!(
            faults
                .take("1", "register", at("2026-11-25T12:00:00Z"))
                .is_some(),
            "from is inclusive"
        );
        assert_eq!(
            faults.list()[0].remaining,
            Some(1),
            "misses outside the window cost nothing"
        );
        assert!(
            faults
                .take("1", "register", at("2026-11-25T12:59:59Z"))
                .is_some()
        );
    }

    #[test]
    fn later_faults_are_considered_when_an_earlier_one_passes() {
        let faults = Faults::default();
        faults
            .arm(spec(serde_json::json!({"error_code": 1, "probability": 0})))
            .unwrap();
        let second = faults
            .arm(spec(serde_json::json!({"apply": true, "answer": "drop"})))
            .unwrap();
        let triggered = faults.take("1", "register", now()).unwrap();
        assert_eq!(
            (triggered.fault_id, triggered.answer, triggered.apply),
            (second.id, FaultAnswer::Drop, true)
        );
    }

    #[test]
    fn draws_are_uniform_enough() {
        let mut state = 1;
        let draws: Vec<f64> = (0..10_000).map(|_| unit_draw(&mut state)).collect();
        assert!(draws.iter().all(|d| (0.0..1.0).contains(d)));
        let below_half = draws.iter().filter(|d| **d < 0.5).count();
        assert!((4_700..=5_300).contains(&below_half), "{below_half}");
    }
}
