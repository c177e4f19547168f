//! When a failed delivery is tried again: a pure function of the first attempt's time and
//! the attempt number, judged on the emulator's clock.
//!
//! Meta documents only the shape ("retried immediately, then with decreasing frequency over
//! the next 7 days", then dropped); the gaps are the emulator's choice. After a failure the
//! next attempt comes at once, then after 1 min, 5 min, 30 min, 2 h, 6 h and 12 h, then every
//! 24 h, while it stays within 7 days of the first attempt: 14 attempts in all, the last at
//! 6 d 20 h 36 min.

use chrono::{DateTime, TimeDelta, Utc};

/// How long after the first attempt retries go on.
pub const RETRY_WINDOW: TimeDelta = TimeDelta::days(7);

/// The gaps after the first failures, in seconds; later gaps are [`STEADY_GAP_SECS`].
const FIRST_GAPS_SECS: [i64; 7] = [0, 60, 5 * 60, 30 * 60, 2 * 3600, 6 * 3600, 12 * 3600];

/// The gap once the first ones are used up: a day.
const STEADY_GAP_SECS: i64 = 24 * 3600;

/// When attempt number `attempt` (1 is the first attempt, 2 the first retry, …) is due for
/// a delivery first attempted at `first_attempt`; `None` once it would fall more than
/// [`RETRY_WINDOW`] after the first attempt (the delivery is then given up).
pub fn attempt_due(first_attempt: DateTime<Utc>, attempt: u32) -> Option<DateTime<Utc>> {
    if attempt == 0 {
        return None;
    }
    let retries = i64::from(attempt - 1);
    let first = usize::try_from(retries)
        .unwrap_or(usize::MAX)
        .min(FIRST_GAPS_SECS.len());
    let steady = retries - first as i64;
    let seconds = FIRST_GAPS_SECS[..first].iter().sum::<i64>() + steady * STEADY_GAP_SECS;
    let offset = TimeDelta::try_seconds(seconds)?;
    (offset <= RETRY_WINDOW).then(|| first_attempt + offset)
}

/// The attempt to make after attempt `made` failed at `now`: its number and due time, or
/// `None` when the delivery is given up. Normally attempt `made + 1`; see [`catch_up`] for a
/// clock that jumped.
pub fn next_attempt(
    first_attempt: DateTime<Utc>,
    made: u32,
    now: DateTime<Utc>,
) -> Option<(u32, DateTime<Utc>)> {
    let next = catch_up(first_attempt, made.checked_add(1)?, now);
    Some((next, attempt_due(first_attempt, next)?))
}

/// The attempt to make now instead of `attempt`, due at or before `now`: when the clock
/// jumped past several due times at once (a manual clock advanced by days), the attempts
/// whose time has passed are not made one after another, only the latest of them is, and
/// the schedule goes on from there. The first attempt and the immediate retry share a due
/// time and are never merged.
pub fn catch_up(first_attempt: DateTime<Utc>, attempt: u32, now: DateTime<Utc>) -> u32 {
    let mut attempt = attempt;
    let Some(mut due) = attempt_due(first_attempt, attempt) else {
        return attempt;
    };
    while let Some(later) = attempt_due(first_attempt, attempt + 1)
        && later <= now
        && later > due
    {
        attempt += 1;
        due = later;
    }
    attempt
}

#[cfg(test)]
mod tests {
    use super::*;

    fn start() -> DateTime<Utc> {
        "2026-01-01T00:00:00Z".parse().unwrap()
    }

    #[test]
    fn retries_come_at_once_then_with_growing_gaps_for_seven_days() {
        let offsets: Vec<TimeDelta> = (1..)
            .map_while(|attempt| attempt_due(start(), attempt))
            .map(|due| due - start())
            .collect();
        let minutes = |m| TimeDelta::minutes(m);
        let at_36m = minutes(36);
        let at_20h36 = TimeDelta::hours(20) + at_36m;
        assert_eq!(
            offsets,
            vec![
                TimeDelta::zero(),
                TimeDelta::zero(),
                minutes(1),
                minutes(6),
                at_36m,
                TimeDelta::hours(2) + at_36m,
                TimeDelta::hours(8) + at_36m,
                at_20h36,
                at_20h36 + TimeDelta::days(1),
                at_20h36 + TimeDelta::days(2),
                at_20h36 + TimeDelta::days(3),
                at_20h36 + TimeDelta::days(4),
                at_20h36 + TimeDelta::days(5),
                at_20h36 + TimeDelta::days(6),
            ]
        );
        assert!(offsets.iter().all(|offset| *offset <= RETRY_WINDOW));
        assert_eq!(attempt_due(start(), 15), None);
        assert_eq!(attempt_due(start(), 0), None);
        assert_eq!(attempt_due(start(), u32::MAX), None);
    }

    #[test]
    fn the_next_attempt_follows_the_schedule() {
        assert_eq!(next_attempt(start(), 1, start()), Some((2, start())));
        assert_eq!(
            next_attempt(start(), 2, start()),
            Some((3, start() + TimeDelta::minutes(1)))
        );
        assert_eq!(next_attempt(start(), 14, start() + RETRY_WINDOW), None);
    }

    #[test]
    fn a_jump_over_several_due_times_makes_only_the_latest() {
        // Attempt 3 failed; the clock then jumped 3 hours: attempts 4 (6 min), 5 (36 min)
        // and 6 (2 h 36 min) are past, so 6 comes at once and 7 (8 h 36 min) after it.
        let now = start() + TimeDelta::hours(3);
        assert_eq!(
            next_attempt(start(), 3, now),
            Some((6, start() + TimeDelta::minutes(156)))
        );
        // Past the window: the last attempt is still made once, then nothing.
        let late = start() + TimeDelta::days(8);
        let (last, _) = next_attempt(start(), 2, late).unwrap();
        assert_eq!(last, 14);
        assert_eq!(next_attempt(start(), last, late), None);
        // An attempt already queued when the clock jumps is caught up the same way.
        assert_eq!(catch_up(start(), 3, late), 14);
        assert_eq!(catch_up(start(), 3, start() + TimeDelta::minutes(1)), 3);
        assert_eq!(catch_up(start(), 1, start()), 1);
    }
}
