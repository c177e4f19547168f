//! Connection gauges the server keeps for the control API: how many connections are open and
//! how many requests are held without an answer (`hang` faults). A test reads them to check
//! that faulted connections are released, not leaked.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use serde::Serialize;

/// The gauges, shared by the listeners and the control API.
#[derive(Debug, Default)]
pub struct Gauges {
    open_connections: AtomicUsize,
    hung: AtomicUsize,
}

/// What the gauges read now.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct GaugeView {
    /// Connections open on every listener (each holds one of the connection permits).
    pub open_connections: usize,
    /// Requests held without an answer by a `hang` fault.
    pub hung: usize,
}

/// One unit of a gauge, given back when dropped (however the holder ends: finished,
/// cancelled or aborted).
#[derive(Debug)]
#[must_use = "the gauge goes down again when this is dropped"]
pub struct GaugeHold {
    gauges: Arc<Gauges>,
    hung: bool,
}

impl Drop for GaugeHold {
    fn drop(&mut self) {
        let gauge = if self.hung {
            &self.gauges.hung
        } else {
            &self.gauges.open_connections
        };
        gauge.fetch_sub(1, Ordering::Relaxed);
    }
}

impl Gauges {
    /// Counts an open connection until the hold is dropped.
    pub fn connection_opened(self: &Arc<Self>) -> GaugeHold {
        self.open_connections.fetch_add(1, Ordering::Relaxed);
        GaugeHold {
            gauges: Arc::clone(self),
            hung: false,
        }
    }

    /// Counts a request held without an answer until the hold is dropped.
    pub fn hang_started(self: &Arc<Self>) -> GaugeHold {
        self.hung.fetch_add(1, Ordering::Relaxed);
        GaugeHold {
            gauges: Arc::clone(self),
            hung: true,
        }
    }

    /// The present readings.
    pub fn view(&self) -> GaugeView {
        GaugeView {
            open_connections: self.open_connections.load(Ordering::Relaxed),
            hung: self.hung.load(Ordering::Relaxed),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn holds_go_down_when_dropped() {
        let gauges = Arc::new(Gauges::default());
        let connection = gauges.connection_opened();
        let hang = gauges.hang_started();
        assert_eq!(
            gauges.view(),
            GaugeView {
                open_connections: 1,
                hung: 1
            }
        );
        drop(hang);
        drop(connection);
        assert_eq!(
            gauges.view(),
            GaugeView {
                open_connections: 0,
                hung: 0
            }
        );
    }
}
