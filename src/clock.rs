//! The emulator's one clock.
//!
//! Every rule that depends on time (the 72-hour limiter, PIN lockouts, token expiry, version
//! availability) takes `now` as an argument; this module is the only place that reads the
//! system time. The clock is either the system clock shifted by an offset, or a manual clock
//! that only moves when told to. Both can be set and advanced at run time, so a test can walk
//! through 72 hours in milliseconds against an emulator running in the same process, another
//! process or a container.
//!
//! Code that waits for an instant on the emulator's time line (the webhook retries) cannot
//! sleep on a manual clock: it [subscribes](Clock::subscribe) to the clock's moves and looks
//! again whenever the clock is set or advanced.

use std::sync::atomic::{AtomicI64, Ordering};

use chrono::{DateTime, TimeDelta, Utc};
use tokio::sync::watch;

/// How the clock's "now" is produced.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClockMode {
    /// The system clock plus an adjustable offset (the default).
    System,
    /// A virtual instant that only changes through [`Clock::set`] and [`Clock::advance`].
    Manual,
}

/// The emulator's clock: system time plus an offset, or a manual instant.
///
/// Cheap to read from many threads at once: the state is one atomic integer of milliseconds.
#[derive(Debug)]
pub struct Clock {
    mode: ClockMode,
    /// System mode: offset from the system time. Manual mode: the instant itself. In ms.
    millis: AtomicI64,
    /// Counts the moves (`set`, `set_offset`, `advance`), so waiters on the emulator's time
    /// line wake when it jumps. Only the movers touch it: `now()` stays one atomic load.
    moves: watch::Sender<u64>,
}

impl Clock {
    /// A clock that follows the system time.
    pub fn system() -> Self {
        Self {
            mode: ClockMode::System,
            millis: AtomicI64::new(0),
            moves: watch::Sender::new(0),
        }
    }

    /// A manual clock frozen at `start`.
    pub fn manual(start: DateTime<Utc>) -> Self {
        Self {
            mode: ClockMode::Manual,
            millis: AtomicI64::new(start.timestamp_millis()),
            moves: watch::Sender::new(0),
        }
    }

    /// A clock of its own that reads what this one reads now and then moves on its own: a
    /// manual clock stays where it was set, a system clock keeps running with the same offset.
    pub fn detached_copy(&self) -> Self {
        match self.mode {
            ClockMode::Manual => Self::manual(self.now()),
            ClockMode::System => Self {
                mode: ClockMode::System,
                millis: AtomicI64::new(self.millis.load(Ordering::Acquire)),
                moves: watch::Sender::new(0),
            },
        }
    }

    /// A receiver that sees every later move of this clock (`set`, `set_offset`, `advance`)
    /// as a change: `changed().await` returns once the clock has jumped, so a task waiting
    /// for an instant on the emulator's time line can look again. The value is the number
    /// of moves so far; only its changes matter.
    pub fn subscribe(&self) -> watch::Receiver<u64> {
        self.moves.subscribe()
    }

    /// Which kind of clock this is.
    pub fn mode(&self) -> ClockMode {
        self.mode
    }

    /// The current instant on the emulator's time line.
    pub fn now(&self) -> DateTime<Utc> {
        let millis = self.millis.load(Ordering::Acquire);
        match self.mode {
            ClockMode::Manual => from_millis(millis),
            // Most runs never move a system clock; adding a zero offset still costs date
            // arithmetic on every request.
            ClockMode::System if millis == 0 => system_now(),
            ClockMode::System => system_now() + TimeDelta::milliseconds(millis),
        }
    }

    /// The offset from the system time (always zero-based for a manual clock's reading).
    pub fn offset(&self) -> TimeDelta {
        match self.mode {
            ClockMode::System => TimeDelta::milliseconds(self.millis.load(Ordering::Acquire)),
            ClockMode::Manual => self.now() - system_now(),
        }
    }

    /// Moves the clock so that [`Clock::now`] returns `instant` (in system mode, from now on
    /// it keeps running from there).
    pub fn set(&self, instant: DateTime<Utc>) {
        match self.mode {
            ClockMode::Manual => self
                .millis
                .store(instant.timestamp_millis(), Ordering::Release),
            ClockMode::System => {
                let offset = instant.timestamp_millis() - system_now().timestamp_millis();
                self.millis.store(offset, Ordering::Release);
            }
        }
        self.moved();
    }

    /// Sets the offset from system time directly (system mode) or, for a manual clock, sets
    /// the instant to system time plus `offset`. Used to restore a persisted clock.
    pub fn set_offset(&self, offset: TimeDelta) {
        match self.mode {
            ClockMode::System => {
                self.millis
                    .store(offset.num_milliseconds(), Ordering::Release);
                self.moved();
            }
            ClockMode::Manual => self.set(system_now() + offset),
        }
    }

    /// Moves the clock forward (or backward, for a negative delta).
    pub fn advance(&self, delta: TimeDelta) {
        self.millis
            .fetch_add(delta.num_milliseconds(), Ordering::AcqRel);
        self.moved();
    }

    /// Tells the subscribers the clock jumped (after the new value is stored, so a woken
    /// waiter reads it).
    fn moved(&self) {
        self.moves
            .send_modify(|count| *count = count.wrapping_add(1));
    }
}

impl Default for Clock {
    fn default() -> Self {
        Self::system()
    }
}

fn from_millis(millis: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_millis(millis).unwrap_or(DateTime::<Utc>::MAX_UTC)
}

/// The single place where the system time is read.
#[allow(clippy::disallowed_methods)]
fn system_now() -> DateTime<Utc> {
    Utc::now()
}

/// Parses a duration as the control API and the command line accept it: `"72h"`, `"90m"`,
/// `"30s"`, `"2d"`, `"1500ms"`, combinations such as `"1h30m"`, or a plain number of seconds.
/// A leading `-` makes it negative.
pub fn parse_duration(text: &str) -> Result<TimeDelta, String> {
    let trimmed = text.trim();
    let (negative, body) = match trimmed.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, trimmed),
    };
    if body.is_empty() {
        return Err(format!("empty duration {text:?}"));
    }
    let total = if body.bytes().all(|b| b.is_ascii_digit()) {
        let secs: i64 = body
            .parse()
            .map_err(|_| format!("duration {text:?} is too large"))?;
        TimeDelta::try_seconds(secs).ok_or_else(|| format!("duration {text:?} is too large"))?
    } else {
        let mut total = TimeDelta::zero();
        let mut rest = body;
        while !rest.is_empty() {
            let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
            if digits == 0 {
                return Err(format!(
                    "invalid duration {text:?}: expected a number before {rest:?} (use e.g. 72h, 90m, 30s, 2d, 1500ms)"
                ));
            }
            let value: i64 = rest[..digits]
                .parse()
                .map_err(|_| format!("duration {text:?} is too large"))?;
            rest = &rest[digits..];
            let unit_len = rest.bytes().take_while(u8::is_ascii_alphabetic).count();
            let unit = &rest[..unit_len];
            rest = &rest[unit_len..];
            let part = match unit {
                "ms" => TimeDelta::try_milliseconds(value),
                "s" | "" => TimeDelta::try_seconds(value),
                "m" => TimeDelta::try_minutes(value),
                "h" => TimeDelta::try_hours(value),
                "d" => TimeDelta::try_days(value),
                other => {
                    return Err(format!(
                        "invalid duration {text:?}: unknown unit {other:?} (use ms, s, m, h or d)"
                    ));
                }
            }
            .ok_or_else(|| format!("duration {text:?} is too large"))?;
            total = total
                .checked_add(&part)
                .ok_or_else(|| format!("duration {text:?} is too large"))?;
        }
        total
    };
    Ok(if negative { -total } else { total })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manual_clock_only_moves_when_told() {
        let start = DateTime::parse_from_rfc3339("2026-01-01T00:00:00Z")
            .unwrap()
            .to_utc();
        let clock = Clock::manual(start);
        assert_eq!(clock.now(), start);
        clock.advance(TimeDelta::hours(72));
        assert_eq!(clock.now(), start + TimeDelta::hours(72));
        clock.set(start);
        assert_eq!(clock.now(), start);
    }

    #[test]
    fn system_clock_applies_offset() {
        let clock = Clock::system();
        let before = clock.now();
        clock.advance(TimeDelta::hours(72));
        let after = clock.now();
        assert!(after - before >= TimeDelta::hours(72));
        assert!(after - before < TimeDelta::hours(73));
        assert_eq!(clock.offset(), TimeDelta::hours(72));
    }

    #[test]
    fn durations_parse_in_every_accepted_form() {
        assert_eq!(parse_duration("72h").unwrap(), TimeDelta::hours(72));
        assert_eq!(parse_duration("90m").unwrap(), TimeDelta::minutes(90));
        assert_eq!(parse_duration("3600").unwrap(), TimeDelta::hours(1));
        assert_eq!(parse_duration("1h30m").unwrap(), TimeDelta::minutes(90));
        assert_eq!(parse_duration("2d").unwrap(), TimeDelta::hours(48));
        assert_eq!(
            parse_duration("1500ms").unwrap(),
            TimeDelta::milliseconds(1500)
        );
        assert_eq!(parse_duration("-1h").unwrap(), TimeDelta::hours(-1));
        assert!(parse_duration("").is_err());
        assert!(parse_duration("h").is_err());
        assert!(parse_duration("5y").is_err());
        assert!(parse_duration("99999999999999999999").is_err());
    }

    #[tokio::test]
    async fn subscribers_see_every_move() {
        let clock = Clock::manual("2026-01-01T00:00:00Z".parse().unwrap());
        let mut moves = clock.subscribe();
        assert!(!moves.has_changed().unwrap());
        clock.advance(TimeDelta::minutes(1));
        moves.changed().await.unwrap();
        clock.set("2026-02-01T00:00:00Z".parse().unwrap());
        assert!(moves.has_changed().unwrap());
        moves.borrow_and_update();
        clock.set_offset(TimeDelta::zero());
        assert!(moves.has_changed().unwrap());
        let system = Clock::system();
        let mut moves = system.subscribe();
        system.set_offset(TimeDelta::hours(1));
        assert!(moves.has_changed().unwrap());
        moves.borrow_and_update();
        system.advance(TimeDelta::hours(1));
        assert!(moves.has_changed().unwrap());
    }

    #[test]
    fn a_detached_copy_reads_the_same_and_then_moves_alone() {
        let start = "2026-01-01T00:00:00Z".parse().unwrap();
        let clock = Clock::manual(start);
        let copy = clock.detached_copy();
        assert_eq!(copy.now(), start);
        copy.advance(TimeDelta::hours(72));
        assert_eq!(clock.now(), start);
        clock.advance(TimeDelta::hours(1));
        assert_eq!(copy.now(), start + TimeDelta::hours(72));
        let system = Clock::system();
        system.set_offset(TimeDelta::days(3));
        assert_eq!(system.detached_copy().offset(), TimeDelta::days(3));
    }
}
