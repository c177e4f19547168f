use std::collections::VecDeque;

use chrono::{DateTime, TimeDelta, Utc};

/// Limits for one operation on one number: `limit` requests in a sliding `window`; the request
/// that finds the window full starts a block of `block`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimitPolicy {
    /// Requests allowed in the window (Meta: 10).
    pub limit: u32,
    /// Length of the sliding window (Meta: 72 hours).
    pub window: TimeDelta,
    /// How long the operation stays blocked once the limit is hit (Meta: 72 hours).
    pub block: TimeDelta,
}

impl Default for RateLimitPolicy {
    fn default() -> Self {
        Self {
            limit: 10,
            window: TimeDelta::hours(72),
            block: TimeDelta::hours(72),
        }
    }
}

/// A rejected request: the operation is blocked until `until`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimited {
    /// When the block ends.
    pub until: DateTime<Utc>,
    /// True when this request is the one that started the block.
    pub started_block: bool,
}

/// A sliding-window log of counted requests plus an optional block.
///
/// Memory is bounded: the log never holds more than `limit` instants. Each check first drops
/// the instants that left the window from the front, so a check is O(1) amortised.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SlidingWindow {
    requests: VecDeque<DateTime<Utc>>,
    blocked_until: Option<DateTime<Utc>>,
}

impl SlidingWindow {
    /// An empty window: nothing counted, no block.
    pub const fn new() -> Self {
        Self {
            requests: VecDeque::new(),
            blocked_until: None,
        }
    }

    /// Rebuilds a window from persisted or fixture data; instants are sorted and trimmed to the
    /// newest `limit` so the invariants hold whatever the input.
    pub fn from_parts(
        mut requests: Vec<DateTime<Utc>>,
        blocked_until: Option<DateTime<Utc>>,
        policy: &RateLimitPolicy,
    ) -> Self {
        requests.sort_unstable();
        let keep = policy.limit as usize;
        let skip = requests.len().saturating_sub(keep);
        Self {
            requests: requests.into_iter().skip(skip).collect(),
            blocked_until,
        }
    }

    /// Counts a request made at `now`, or rejects it.
    ///
    /// During a block the request is rejected and not counted. When the window already holds
    /// `limit` requests, this request is rejected, not counted, and starts a block.
    pub fn admit(
        &mut self,
        now: DateTime<Utc>,
        policy: &RateLimitPolicy,
    ) -> Result<(), RateLimited> {
        if let Some(until) = self.blocked_until {
            if now < until {
                return Err(RateLimited {
                    until,
                    started_block: false,
                });
            }
            self.blocked_until = None;
        }
        self.expire(now, policy.window);
        if self.requests.len() >= policy.limit as usize {
            let until = now + policy.block;
            self.blocked_until = Some(until);
            return Err(RateLimited {
                until,
                started_block: true,
            });
        }
        self.requests.push_back(now);
        Ok(())
    }

    /// Drops the requests that are no longer inside the window ending at `now`.
    pub fn expire(&mut self, now: DateTime<Utc>, window: TimeDelta) {
        while let Some(oldest) = self.requests.front() {
            if *oldest + window <= now {
                self.requests.pop_front();
            } else {
                break;
            }
        }
    }

    /// The counted requests still in the log (oldest first). Call [`SlidingWindow::expire`]
    /// first for a view at a given instant.
    pub fn requests(&self) -> impl ExactSizeIterator<Item = DateTime<Utc>> + '_ {
        self.requests.iter().copied()
    }

    /// The end of the active block, if one was started (it may lie in the past).
    pub fn blocked_until(&self) -> Option<DateTime<Utc>> {
        self.blocked_until
    }

    /// The block that is active at `now`, if any.
    pub fn active_block(&self, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        self.blocked_until.filter(|until| now < *until)
    }

    /// Forgets every counted request and any block.
    pub fn clear(&mut self) {
        self.requests.clear();
        self.blocked_until = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t0() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-03-01T12:00:00Z")
            .unwrap()
            .to_utc()
    }

    #[test]
    fn ten_requests_pass_then_the_eleventh_starts_a_block() {
        let policy = RateLimitPolicy::default();
        let mut window = SlidingWindow::default();
        for i in 0..10 {
            window
                .admit(t0() + TimeDelta::minutes(i), &policy)
                .expect("within the limit");
        }
        let at = t0() + TimeDelta::hours(1);
        let rejected = window.admit(at, &policy).unwrap_err();
        assert_eq!(
            rejected,
            RateLimited {
                until: at + TimeDelta::hours(72),
                started_block: true
            }
        );
        assert_eq!(
            window.requests().len(),
            10,
            "the rejected request is not counted"
        );
    }

    #[test]
    fn requests_during_a_block_are_rejected_and_not_counted() {
        let policy = RateLimitPolicy::default();
        let mut window = SlidingWindow::default();
        for _ in 0..10 {
            window.admit(t0(), &policy).unwrap();
        }
        let blocked_at = t0() + TimeDelta::hours(71);
        let until = window.admit(blocked_at, &policy).unwrap_err().until;
        // The original ten leave the window at t0 + 72h, but the block lasts until
        // blocked_at + 72h.
        let during = t0() + TimeDelta::hours(100);
        assert_eq!(
            window.admit(during, &policy),
            Err(RateLimited {
                until,
                started_block: false
            })
        );
        assert_eq!(window.active_block(during), Some(until));
        // One millisecond before the end: still blocked. At the end: admitted.
        assert!(
            window
                .admit(until - TimeDelta::milliseconds(1), &policy)
                .is_err()
        );
        assert_eq!(window.admit(until, &policy), Ok(()));
        assert_eq!(window.requests().len(), 1);
        assert_eq!(window.active_block(until), None);
    }

    #[test]
    fn the_window_slides_one_request_at_a_time() {
        let policy = RateLimitPolicy::default();
        let mut window = SlidingWindow::default();
        for i in 0..10 {
            window.admit(t0() + TimeDelta::hours(i), &policy).unwrap();
        }
        // At t0 + 72h the first request (made at t0) has left the window: one slot is free.
        let at = t0() + TimeDelta::hours(72);
        assert_eq!(window.admit(at, &policy), Ok(()));
        // The next slot frees at t0 + 73h; just before it the window is full again.
        let before = t0() + TimeDelta::hours(73) - TimeDelta::milliseconds(1);
        assert!(window.admit(before, &policy).unwrap_err().started_block);
    }

    #[test]
    fn memory_stays_bounded_by_the_limit() {
        let policy = RateLimitPolicy {
            limit: 3,
            window: TimeDelta::hours(1),
            block: TimeDelta::hours(1),
        };
        let mut window = SlidingWindow::default();
        let mut now = t0();
        for _ in 0..10_000 {
            let _ = window.admit(now, &policy);
            assert!(window.requests().len() <= 3);
            now += TimeDelta::minutes(7);
        }
    }

    #[test]
    fn from_parts_keeps_the_newest_instants() {
        let policy = RateLimitPolicy {
            limit: 2,
            ..RateLimitPolicy::default()
        };
        let window = SlidingWindow::from_parts(
            vec![t0() + TimeDelta::hours(2), t0(), t0() + TimeDelta::hours(1)],
            None,
            &policy,
        );
        let kept: Vec<_> = window.requests().collect();
        assert_eq!(
            kept,
            vec![t0() + TimeDelta::hours(1), t0() + TimeDelta::hours(2)]
        );
    }
}
