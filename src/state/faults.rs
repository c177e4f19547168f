//! Fault injection: make matching Graph requests answer a chosen error, or answer late.
//!
//! A spec is checked here, when it is armed, whoever arms it (the HTTP control API or a Rust
//! test in library mode), so an invalid fault can never be armed.

use std::sync::atomic::{AtomicUsize, Ordering};

use parking_lot::Mutex;
use serde::{Deserialize, Serialize};

use crate::domain::CATALOG_CODES;

/// What a client asks to arm.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct FaultSpec {
    /// Graph error code to answer (see `GraphError::catalog`); absent: only latency.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_code: Option<u32>,
    /// Extra delay before answering, in milliseconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub latency_ms: Option<u64>,
    /// How many matching requests it applies to; absent: until cleared.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub count: Option<u32>,
    /// Only requests on this node id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub number: Option<String>,
    /// Only this operation (`register`, `deregister`, …).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub operation: Option<String>,
}

/// An armed fault.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Fault {
    /// Id for deletion.
    pub id: u64,
    /// What it does.
    #[serde(flatten)]
    pub spec: FaultSpec,
    /// Matching requests left (`null`: unlimited).
    pub remaining: Option<u32>,
}

/// The longest delay a fault may add (ten minutes).
pub const FAULT_MAX_LATENCY_MS: u64 = 600_000;

/// Why a fault spec cannot be armed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct FaultError(String);

impl FaultSpec {
    /// Checks the spec: it does something, its error code is one the emulator can answer,
    /// its count is at least one and its delay bounded.
    pub fn validate(&self) -> Result<(), FaultError> {
        if self.error_code.is_none() && self.latency_ms.is_none() {
            return Err(FaultError(
                "a fault needs error_code, latency_ms, or both".to_owned(),
            ));
        }
        if let Some(code) = self.error_code
            && !CATALOG_CODES.contains(&code)
        {
            return Err(FaultError(format!(
                "unknown error_code {code}; known: {CATALOG_CODES:?}"
            )));
        }
        if self.count == Some(0) {
            return Err(FaultError(
                "count must be at least 1 (leave it out for no limit)".to_owned(),
            ));
        }
        if self.latency_ms.is_some_and(|ms| ms > FAULT_MAX_LATENCY_MS) {
            return Err(FaultError(format!(
                "latency_ms must be at most {FAULT_MAX_LATENCY_MS}"
            )));
        }
        Ok(())
    }
}

/// What a matching fault does to one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Triggered {
    /// Error code to answer with.
    pub error_code: Option<u32>,
    /// Delay in milliseconds.
    pub latency_ms: u64,
}

/// The armed faults, first armed first matched.
#[derive(Debug, Default)]
pub struct Faults {
    armed: AtomicUsize,
    inner: Mutex<(u64, Vec<Fault>)>,
}

impl Faults {
    /// Arms a fault and returns it, or says why the spec is invalid (nothing is armed then).
    pub fn arm(&self, spec: FaultSpec) -> Result<Fault, FaultError> {
        spec.validate()?;
        let mut inner = self.inner.lock();
        inner.0 += 1;
        let fault = Fault {
            id: inner.0,
            remaining: spec.count,
            spec,
        };
        inner.1.push(fault.clone());
        self.armed.store(inner.1.len(), Ordering::Release);
        Ok(fault)
    }

    /// The armed faults.
    pub fn list(&self) -> Vec<Fault> {
        self.inner.lock().1.clone()
    }

    /// Removes one fault; false if unknown.
    pub fn remove(&self, id: u64) -> bool {
        let mut inner = self.inner.lock();
        let before = inner.1.len();
        inner.1.retain(|fault| fault.id != id);
        self.armed.store(inner.1.len(), Ordering::Release);
        inner.1.len() != before
    }

    /// Removes every fault.
    pub fn clear(&self) {
        let mut inner = self.inner.lock();
        inner.1.clear();
        self.armed.store(0, Ordering::Release);
    }

    /// Consumes one use of the first fault matching a request, if any. Lock-free when none
    /// is armed (the common case).
    pub fn take(&self, number: &str, operation: &str) -> Option<Triggered> {
        if self.armed.load(Ordering::Acquire) == 0 {
            return None;
        }
        let mut inner = self.inner.lock();
        let index = inner.1.iter().position(|fault| {
            fault.spec.number.as_deref().is_none_or(|n| n == number)
                && fault
                    .spec
                    .operation
                    .as_deref()
                    .is_none_or(|o| o == operation)
        })?;
        let fault = &mut inner.1[index];
        let triggered = Triggered {
            error_code: fault.spec.error_code,
            latency_ms: fault.spec.latency_ms.unwrap_or(0),
        };
        if let Some(remaining) = fault.remaining.as_mut() {
            *remaining = remaining.saturating_sub(1);
            if *remaining == 0 {
                inner.1.remove(index);
            }
        }
        self.armed.store(inner.1.len(), Ordering::Release);
        Some(triggered)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counted_faults_expire_and_filters_apply() {
        let faults = Faults::default();
        faults
            .arm(FaultSpec {
                error_code: Some(133000),
                latency_ms: None,
                count: Some(2),
                number: Some("1".into()),
                operation: Some("register".into()),
            })
            .unwrap();
        assert_eq!(faults.take("2", "register"), None);
        assert_eq!(faults.take("1", "deregister"), None);
        assert_eq!(
            faults.take("1", "register").unwrap().error_code,
            Some(133000)
        );
        assert_eq!(faults.list()[0].remaining, Some(1));
        assert!(faults.take("1", "register").is_some());
        assert!(faults.take("1", "register").is_none());
        assert!(faults.list().is_empty());
    }

    #[test]
    fn unlimited_faults_stay_until_removed() {
        let faults = Faults::default();
        let fault = faults
            .arm(FaultSpec {
                error_code: None,
                latency_ms: Some(5),
                count: None,
                number: None,
                operation: None,
            })
            .unwrap();
        for _ in 0..3 {
            assert_eq!(faults.take("x", "y").unwrap().latency_ms, 5);
        }
        assert!(faults.remove(fault.id));
        assert!(!faults.remove(fault.id));
        assert!(faults.take("x", "y").is_none());
    }

    #[test]
    fn invalid_specs_are_refused_and_arm_nothing() {
        let faults = Faults::default();
        let spec = |error_code, latency_ms, count| FaultSpec {
            error_code,
            latency_ms,
            count,
            number: None,
            operation: None,
        };
        for (bad, why) in [
            (spec(None, None, None), "does nothing"),
            (spec(Some(999_999), None, None), "unknown code"),
            (spec(Some(2), None, Some(0)), "count 0 would underflow"),
            (
                spec(None, Some(FAULT_MAX_LATENCY_MS + 1), None),
                "delay too long",
            ),
        ] {
            assert!(faults.arm(bad).is_err(), "{why}");
        }
        assert!(faults.list().is_empty());
        assert!(faults.arm(spec(Some(2), Some(1), Some(1))).is_ok());
    }
}
