//! Delivery faults: make matching webhook deliveries misbehave the way Meta's sometimes do
//! (duplicates, out of order, late, lost, retried although acknowledged).
//!
//! A spec is checked when it is armed, so an invalid fault can never be armed. The engine
//! asks [`DeliveryFaults::take`] once per attempt; the first armed fault that matches is
//! used (and one of its uses consumed).

use serde::{Deserialize, Serialize};

use crate::armed::{Armed, ArmedItem};

/// What a delivery fault does to the attempt it applies to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DeliveryFaultKind {
    /// The same bytes are POSTed twice in a row (both attempts are logged; the first one's
    /// answer decides the outcome).
    Duplicate,
    /// The delivery is held back and sent right after the next delivery to the same callback
    /// has been attempted (a `statuses` update arriving after a later one). It stays held
    /// until such a delivery comes.
    Reorder,
    /// The attempt waits `delay_ms` (real time) before it is sent.
    Delay,
    /// The delivery is never sent: logged as `dropped`, as if Meta lost it.
    Drop,
    /// An HTTP 200 is treated as a failure and retried on the schedule anyway ("the app
    /// acknowledged but the emulator retries").
    RetryAfterAck,
}

impl DeliveryFaultKind {
    /// The name used in specs and logs (`duplicate`, `retry_after_ack`, …).
    pub fn name(self) -> &'static str {
        match self {
            Self::Duplicate => "duplicate",
            Self::Reorder => "reorder",
            Self::Delay => "delay",
            Self::Drop => "drop",
            Self::RetryAfterAck => "retry_after_ack",
        }
    }
}

/// The longest delay a delivery fault may add (ten minutes, as for Graph faults).
pub const DELIVERY_FAULT_MAX_DELAY_MS: u64 = 600_000;

/// What a client asks to arm.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct DeliveryFaultSpec {
    /// What it does.
    pub kind: DeliveryFaultKind,
    /// For `delay` (required there, refused elsewhere): the delay in milliseconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delay_ms: Option<u64>,
    /// Only deliveries of this webhook field (`messages`, `account_update`, …).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// Only deliveries to this app.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub app_id: Option<String>,
    /// Only deliveries about this phone number id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub number_id: Option<String>,
    /// How many matching attempts it applies to; absent: until removed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub count: Option<u32>,
}

impl DeliveryFaultSpec {
    /// A spec of `kind` matching every delivery, once.
    pub fn once(kind: DeliveryFaultKind) -> Self {
        Self {
            kind,
            delay_ms: None,
            field: None,
            app_id: None,
            number_id: None,
            count: Some(1),
        }
    }

    /// Checks the spec: `delay_ms` exactly for `delay` and bounded, a count of at least one,
    /// no empty matcher.
    pub fn validate(&self) -> Result<(), DeliveryFaultError> {
        let fail = |message: String| Err(DeliveryFaultError(message));
        match (self.kind, self.delay_ms) {
            (DeliveryFaultKind::Delay, None) => {
                return fail("a delay fault needs delay_ms".to_owned());
            }
            (DeliveryFaultKind::Delay, Some(ms)) if ms > DELIVERY_FAULT_MAX_DELAY_MS => {
                return fail(format!(
                    "delay_ms must be at most {DELIVERY_FAULT_MAX_DELAY_MS}"
                ));
            }
            (kind, Some(_)) if kind != DeliveryFaultKind::Delay => {
                return fail(format!(
                    "delay_ms applies only to kind \"delay\", not {:?}",
                    kind.name()
                ));
            }
            _ => {}
        }
        if self.count == Some(0) {
            return fail("count must be at least 1 (leave it out for no limit)".to_owned());
        }
        for (name, value) in [
            ("field", &self.field),
            ("app_id", &self.app_id),
            ("number_id", &self.number_id),
        ] {
            if value.as_deref().is_some_and(|text| text.trim().is_empty()) {
                return fail(format!(
                    "{name} must not be empty (leave it out to match any)"
                ));
            }
        }
        Ok(())
    }

    fn matches(&self, target: &FaultTarget<'_>) -> bool {
        let matches = |wanted: &Option<String>, actual: Option<&str>| {
            wanted
                .as_deref()
                .is_none_or(|wanted| actual == Some(wanted))
        };
        matches(&self.field, Some(target.field))
            && matches(&self.app_id, Some(target.app_id))
            && matches(&self.number_id, target.number_id)
    }
}

/// An armed delivery fault.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ArmedDeliveryFault {
    /// Id for removal.
    pub id: u64,
    /// What it does and to which deliveries.
    #[serde(flatten)]
    pub spec: DeliveryFaultSpec,
    /// Matching attempts left (`null`: unlimited).
    pub remaining: Option<u32>,
}

/// Why a delivery fault spec cannot be armed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct DeliveryFaultError(String);

/// What an attempt is about, for matching.
#[derive(Debug, Clone, Copy)]
pub struct FaultTarget<'a> {
    /// The app the delivery is for.
    pub app_id: &'a str,
    /// The webhook field.
    pub field: &'a str,
    /// The phone number id, if the delivery is about one.
    pub number_id: Option<&'a str>,
}

/// What a matching fault does to one attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TriggeredDeliveryFault {
    /// The kind.
    pub kind: DeliveryFaultKind,
    /// For `delay`: how long, in milliseconds (0 otherwise).
    pub delay_ms: u64,
}

/// The armed delivery faults, first armed first matched.
#[derive(Debug, Default)]
pub struct DeliveryFaults(Armed<ArmedDeliveryFault>);

impl ArmedItem for ArmedDeliveryFault {
    fn id(&self) -> u64 {
        self.id
    }

    fn remaining_mut(&mut self) -> &mut Option<u32> {
        &mut self.remaining
    }
}

impl DeliveryFaults {
    /// Arms a fault and returns it, or says why the spec is invalid (nothing is armed then).
    pub fn arm(&self, spec: DeliveryFaultSpec) -> Result<ArmedDeliveryFault, DeliveryFaultError> {
        spec.validate()?;
        Ok(self.0.arm(|id| ArmedDeliveryFault {
            id,
            remaining: spec.count,
            spec,
        }))
    }

    /// The armed faults.
    pub fn list(&self) -> Vec<ArmedDeliveryFault> {
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

    /// Consumes one use of the first fault matching `target`, if any (one atomic load while
    /// none is armed).
    pub fn take(&self, target: &FaultTarget<'_>) -> Option<TriggeredDeliveryFault> {
        self.0.take(
            |fault| fault.spec.matches(target),
            |fault| TriggeredDeliveryFault {
                kind: fault.spec.kind,
                delay_ms: fault.spec.delay_ms.unwrap_or(0),
            },
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target<'a>(field: &'a str, number_id: Option<&'a str>) -> FaultTarget<'a> {
        FaultTarget {
            app_id: "app-1",
            field,
            number_id,
        }
    }

    #[test]
    fn invalid_specs_are_refused_with_a_reason() {
        let delay = DeliveryFaultSpec::once(DeliveryFaultKind::Delay);
        assert!(
            delay
                .validate()
                .unwrap_err()
                .to_string()
                .contains("delay_ms")
        );
        let too_long = DeliveryFaultSpec {
            delay_ms: Some(DELIVERY_FAULT_MAX_DELAY_MS + 1),
            ..delay.clone()
        };
        assert!(too_long.validate().is_err());
        let ok = DeliveryFaultSpec {
            delay_ms: Some(10),
            ..delay
        };
        assert_eq!(ok.validate(), Ok(()));
        let misplaced = DeliveryFaultSpec {
            delay_ms: Some(10),
            ..DeliveryFaultSpec::once(DeliveryFaultKind::Drop)
        };
        assert!(misplaced.validate().is_err());
        let zero = DeliveryFaultSpec {
            count: Some(0),
            ..DeliveryFaultSpec::once(DeliveryFaultKind::Drop)
        };
        assert!(zero.validate().is_err());
        let empty = DeliveryFaultSpec {
            field: Some(" ".into()),
            ..DeliveryFaultSpec::once(DeliveryFaultKind::Drop)
        };
        assert!(empty.validate().is_err());
        let faults = DeliveryFaults::default();
        assert!(faults.arm(empty).is_err());
        assert!(faults.list().is_empty());
    }

    #[test]
    fn specs_read_from_json_as_the_control_api_will_send_them() {
        let spec: DeliveryFaultSpec = serde_json::from_str(
            r#"{"kind":"retry_after_ack","field":"messages","number_id":"1","count":2}"#,
        )
        .unwrap();
        assert_eq!(spec.kind, DeliveryFaultKind::RetryAfterAck);
        assert!(serde_json::from_str::<DeliveryFaultSpec>(r#"{"kind":"drop","x":1}"#).is_err());
        assert!(serde_json::from_str::<DeliveryFaultSpec>(r#"{"kind":"lose"}"#).is_err());
    }

    #[test]
    fn the_first_matching_fault_is_used_and_spent() {
        let faults = DeliveryFaults::default();
        faults
            .arm(DeliveryFaultSpec {
                number_id: Some("1".into()),
                count: Some(2),
                ..DeliveryFaultSpec::once(DeliveryFaultKind::Duplicate)
            })
            .unwrap();
        let drop = faults
            .arm(DeliveryFaultSpec {
                field: Some("account_update".into()),
                count: None,
                ..DeliveryFaultSpec::once(DeliveryFaultKind::Drop)
            })
            .unwrap();
        assert_eq!(faults.take(&target("messages", Some("2"))), None);
        let duplicate = Some(TriggeredDeliveryFault {
            kind: DeliveryFaultKind::Duplicate,
            delay_ms: 0,
        });
        assert_eq!(faults.take(&target("messages", Some("1"))), duplicate);
        assert_eq!(faults.take(&target("messages", Some("1"))), duplicate);
        assert_eq!(faults.take(&target("messages", Some("1"))), None);
        for _ in 0..3 {
            assert_eq!(
                faults.take(&target("account_update", None)).map(|t| t.kind),
                Some(DeliveryFaultKind::Drop)
            );
        }
        assert!(faults.remove(drop.id));
        assert!(!faults.remove(drop.id));
        assert_eq!(faults.take(&target("account_update", None)), None);
    }
}
