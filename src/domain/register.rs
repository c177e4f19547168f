use chrono::{DateTime, TimeDelta, Utc};

use super::{DomainError, PhoneNumber, Pin, RateLimitPolicy, Region, SlidingWindow};

/// The two rate-limited operations.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Operation {
    /// `POST /{number}/register`.
    Register,
    /// `POST /{number}/deregister`.
    Deregister,
}

impl Operation {
    /// The edge name in the Graph path.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Register => "register",
            Self::Deregister => "deregister",
        }
    }

    /// The number's sliding window for this operation.
    pub fn window(self, number: &mut PhoneNumber) -> &mut SlidingWindow {
        number.window_mut(self)
    }
}

/// After `max_failures` consecutive PIN mismatches, register answers "too many guesses" for
/// `lock_for`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PinLockoutPolicy {
    /// Consecutive mismatches that trigger the lock (0 disables the lockout).
    pub max_failures: u32,
    /// Length of the lock.
    pub lock_for: TimeDelta,
}

impl Default for PinLockoutPolicy {
    fn default() -> Self {
        Self {
            max_failures: 5,
            lock_for: TimeDelta::hours(1),
        }
    }
}

/// The configurable rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Policy {
    /// Register and deregister limits (each operation has its own window).
    pub rate_limit: RateLimitPolicy,
    /// PIN-guess lockout.
    pub pin_lockout: PinLockoutPolicy,
    /// How long a code from `request_code` is accepted by `verify_code`.
    pub verification_code_ttl: TimeDelta,
    /// The WhatsApp Business Management API budget per app and WABA.
    pub waba_budget: super::WabaBudgetPolicy,
}

impl Default for Policy {
    fn default() -> Self {
        Self {
            rate_limit: RateLimitPolicy::default(),
            pin_lockout: PinLockoutPolicy::default(),
            verification_code_ttl: TimeDelta::minutes(10),
            waba_budget: super::WabaBudgetPolicy::default(),
        }
    }
}

/// The On-Premises backup a migration register carries. `Debug` hides the password.
#[derive(Clone, PartialEq, Eq)]
pub struct Backup {
    /// The backup blob (`backup.data`).
    pub data: String,
    /// The password it was made with (`backup.password`).
    pub password: String,
}

impl std::fmt::Debug for Backup {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Backup")
            .field("data_len", &self.data.len())
            .field("password", &"******")
            .finish()
    }
}

/// A register request after wire parsing and validation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegisterRequest {
    /// The two-step PIN (sets it when none is enabled, must match when one is).
    pub pin: Pin,
    /// Optional local-storage region.
    pub region: Option<Region>,
    /// The On-Premises backup (read only for numbers awaiting migration).
    pub backup: Option<Backup>,
}

/// Counts a request against `operation`'s window, or rejects it with the block's end.
pub fn admit(
    number: &mut PhoneNumber,
    operation: Operation,
    now: DateTime<Utc>,
    policy: &RateLimitPolicy,
) -> Result<(), DomainError> {
    operation
        .window(number)
        .admit(now, policy)
        .map_err(|limited| DomainError::RateLimited {
            until: limited.until,
            window: policy.window,
        })
}

/// The answer [`admit`] gives while `operation` is blocked on the number, found without
/// changing anything (a request refused during a block leaves the number as it was, so it
/// need not be persisted). `Ok` when not blocked: [`admit`] then decides.
pub fn refuse_while_blocked(
    number: &PhoneNumber,
    operation: Operation,
    now: DateTime<Utc>,
    policy: &RateLimitPolicy,
) -> Result<(), DomainError> {
    match number.window(operation).active_block(now) {
        Some(until) => Err(DomainError::RateLimited {
            until,
            window: policy.window,
        }),
        None => Ok(()),
    }
}

/// Registers the number on the Cloud API.
///
/// Rules, in order: not a coexistence number; a number awaiting migration brings a backup;
/// ownership verified (test numbers need not be); no onboarding hold and a processed display
/// name; no active PIN lock; the PIN matches when one is set
/// (a mismatch counts toward the lock); a registered number keeps its region. On success the
/// PIN is set if there was none, the region is set when given, and the mismatch count resets.
/// Registering an already-registered number with its PIN succeeds and changes nothing else.
pub fn register(
    number: &mut PhoneNumber,
    request: &RegisterRequest,
    now: DateTime<Utc>,
    policy: &PinLockoutPolicy,
) -> Result<(), DomainError> {
    // Coexistence numbers cannot use the endpoint at all (captured: "Register endpoint is
    // not available for SMB businesses.").
    if number.coexistence {
        return Err(DomainError::SmbRegister);
    }
    if number.migration_pending && request.backup.is_none() {
        return Err(DomainError::BackupRequired);
    }
    // Meta's test numbers come registered and never verified; they register like any
    // registered number.
    if number.verification != super::CodeVerificationStatus::Verified && !number.is_test_number() {
        return Err(DomainError::NotVerified);
    }
    if let Some(refusal) = super::onboarding_refusal(number) {
        return Err(refusal);
    }
    if let Some(until) = number.pin_lockout().locked_until {
        if now < until {
            return Err(DomainError::PinLocked {
                until,
                remaining: until - now,
            });
        }
        number.clear_pin_lockout();
    }
    if let Some(existing) = number.pin {
        if existing != request.pin {
            let lockout = number.pin_lockout_mut();
            lockout.consecutive_failures += 1;
            if policy.max_failures > 0 && lockout.consecutive_failures >= policy.max_failures {
                lockout.locked_until = Some(now + policy.lock_for);
            }
            return Err(DomainError::PinMismatch);
        }
    }
    if let Some(requested) = request.region {
        if number.registered && number.region != Some(requested) {
            return Err(DomainError::RegionChangeWhileRegistered {
                current: number.region,
                requested,
            });
        }
    }
    if number.pin.is_none() {
        number.pin = Some(request.pin);
    }
    number.clear_pin_lockout();
    if request.region.is_some() {
        number.region = request.region;
    }
    if !number.registered {
        number.last_onboarded_time = Some(now);
    }
    number.migration_pending = false;
    number.registered = true;
    Ok(())
}

/// Deregisters the number: it stays in its WABA with its verification and PIN, and local
/// storage is switched off.
pub fn deregister(number: &mut PhoneNumber) -> Result<(), DomainError> {
    if number.coexistence {
        return Err(DomainError::CoexistenceDeregister);
    }
    if !number.registered {
        return Err(DomainError::NotRegistered);
    }
    number.registered = false;
    number.region = None;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::CodeVerificationStatus;

    fn now() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-06-01T09:00:00Z")
            .unwrap()
            .to_utc()
    }

    fn verified() -> PhoneNumber {
        let mut n = PhoneNumber::new("100", "200");
        n.verification = CodeVerificationStatus::Verified;
        n
    }

    fn req(pin: &str, region: Option<&str>) -> RegisterRequest {
        RegisterRequest {
            pin: Pin::parse(pin).unwrap(),
            region: region.map(|r| Region::parse(r).unwrap()),
            backup: None,
        }
    }

    #[test]
    fn unverified_numbers_cannot_register() {
        for status in [
            CodeVerificationStatus::NotVerified,
            CodeVerificationStatus::Expired,
        ] {
            let mut n = verified();
            n.verification = status;
            let before = n.clone();
            assert_eq!(
                register(&mut n, &req("123456", None), now(), &Default::default()),
                Err(DomainError::NotVerified)
            );
            assert_eq!(n, before);
        }
    }

    #[test]
    fn first_register_sets_the_pin_and_region() {
        let mut n = verified();
        register(
            &mut n,
            &req("123456", Some("DE")),
            now(),
            &Default::default(),
        )
        .unwrap();
        assert!(n.registered);
        assert_eq!(n.pin, Some(Pin::parse("123456").unwrap()));
        assert_eq!(n.region.map(Region::code), Some("DE"));
    }

    #[test]
    fn an_existing_pin_must_match() {
        let mut n = verified();
        n.pin = Some(Pin::parse("111111").unwrap());
        assert_eq!(
            register(&mut n, &req("222222", None), now(), &Default::default()),
            Err(DomainError::PinMismatch)
        );
        assert!(!n.registered);
        assert_eq!(n.pin_lockout().consecutive_failures, 1);
        register(&mut n, &req("111111", None), now(), &Default::default()).unwrap();
        assert!(n.registered);
        assert_eq!(n.pin_lockout().consecutive_failures, 0);
    }

    #[test]
    fn five_mismatches_lock_for_the_configured_time_then_it_clears() {
        let policy = PinLockoutPolicy::default();
        let mut n = verified();
        n.pin = Some(Pin::parse("111111").unwrap());
        for _ in 0..5 {
            assert_eq!(
                register(&mut n, &req("999999", None), now(), &policy),
                Err(DomainError::PinMismatch)
            );
        }
        let until = now() + TimeDelta::hours(1);
        // Even the right PIN is refused during the lock.
        let later = now() + TimeDelta::minutes(20);
        assert_eq!(
            register(&mut n, &req("111111", None), later, &policy),
            Err(DomainError::PinLocked {
                until,
                remaining: TimeDelta::minutes(40)
            })
        );
        assert!(!n.registered);
        register(&mut n, &req("111111", None), until, &policy).unwrap();
        assert!(n.registered);
        assert_eq!(n.pin_lockout(), Default::default());
    }

    #[test]
    fn a_success_resets_the_mismatch_count() {
        let policy = PinLockoutPolicy::default();
        let mut n = verified();
        n.pin = Some(Pin::parse("111111").unwrap());
        for _ in 0..4 {
            let _ = register(&mut n, &req("999999", None), now(), &policy);
        }
        register(&mut n, &req("111111", None), now(), &policy).unwrap();
        for _ in 0..4 {
            assert_eq!(
                register(&mut n, &req("999999", None), now(), &policy),
                Err(DomainError::PinMismatch)
            );
        }
        assert_eq!(n.pin_lockout().locked_until, None);
    }

    #[test]
    fn re_register_with_the_same_pin_changes_nothing_else() {
        let mut n = verified();
        register(
            &mut n,
            &req("123456", Some("DE")),
            now(),
            &Default::default(),
        )
        .unwrap();
        let before = n.clone();
        register(&mut n, &req("123456", None), now(), &Default::default()).unwrap();
        assert_eq!(n, before);
        register(
            &mut n,
            &req("123456", Some("DE")),
            now(),
            &Default::default(),
        )
        .unwrap();
        assert_eq!(n, before);
    }

    #[test]
    fn the_region_cannot_change_while_registered() {
        let mut n = verified();
        register(
            &mut n,
            &req("123456", Some("DE")),
            now(),
            &Default::default(),
        )
        .unwrap();
        let before = n.clone();
        assert_eq!(
            register(
                &mut n,
                &req("123456", Some("BR")),
                now(),
                &Default::default()
            ),
            Err(DomainError::RegionChangeWhileRegistered {
                current: Some(Region::parse("DE").unwrap()),
                requested: Region::parse("BR").unwrap()
            })
        );
        assert_eq!(n, before);
        // Default storage counts as a region too: enabling local storage needs a deregister.
        let mut plain = verified();
        register(&mut plain, &req("123456", None), now(), &Default::default()).unwrap();
        assert!(matches!(
            register(
                &mut plain,
                &req("123456", Some("BR")),
                now(),
                &Default::default()
            ),
            Err(DomainError::RegionChangeWhileRegistered { current: None, .. })
        ));
    }

    #[test]
    fn deregister_keeps_pin_and_verification_and_clears_the_region() {
        let mut n = verified();
        register(
            &mut n,
            &req("123456", Some("DE")),
            now(),
            &Default::default(),
        )
        .unwrap();
        deregister(&mut n).unwrap();
        assert!(!n.registered);
        assert_eq!(n.region, None);
        assert_eq!(n.pin, Some(Pin::parse("123456").unwrap()));
        assert_eq!(n.verification, CodeVerificationStatus::Verified);
        // The PIN outlives deregistration: a different one is now a mismatch.
        assert_eq!(
            register(&mut n, &req("654321", None), now(), &Default::default()),
            Err(DomainError::PinMismatch)
        );
        register(
            &mut n,
            &req("123456", Some("BR")),
            now(),
            &Default::default(),
        )
        .unwrap();
        assert_eq!(n.region.map(Region::code), Some("BR"));
    }

    #[test]
    fn deregister_refuses_unregistered_and_coexistence_numbers() {
        let mut n = verified();
        assert_eq!(deregister(&mut n), Err(DomainError::NotRegistered));
        n.registered = true;
        n.coexistence = true;
        assert_eq!(deregister(&mut n), Err(DomainError::CoexistenceDeregister));
        assert!(n.registered);
    }

    #[test]
    fn admit_uses_one_window_per_operation() {
        let policy = RateLimitPolicy::default();
        let mut n = verified();
        for _ in 0..10 {
            admit(&mut n, Operation::Register, now(), &policy).unwrap();
        }
        assert!(matches!(
            admit(&mut n, Operation::Register, now(), &policy),
            Err(DomainError::RateLimited { .. })
        ));
        admit(&mut n, Operation::Deregister, now(), &policy).unwrap();
    }

    #[test]
    fn a_block_is_refused_read_only_with_the_answer_admit_gives() {
        let policy = RateLimitPolicy::default();
        let mut n = verified();
        for _ in 0..10 {
            admit(&mut n, Operation::Register, now(), &policy).unwrap();
        }
        assert!(refuse_while_blocked(&n, Operation::Register, now(), &policy).is_ok());
        let started = admit(&mut n, Operation::Register, now(), &policy).unwrap_err();
        let later = now() + TimeDelta::hours(1);
        let read_only = refuse_while_blocked(&n, Operation::Register, later, &policy).unwrap_err();
        let before = n.clone();
        assert_eq!(
            admit(&mut n, Operation::Register, later, &policy).unwrap_err(),
            read_only
        );
        assert_eq!(n, before, "admit during a block changes nothing either");
        assert_eq!(started, read_only);
        assert!(refuse_while_blocked(&n, Operation::Deregister, later, &policy).is_ok());
    }

    #[test]
    fn a_72_hour_block_clears_after_72_hours() {
        let policy = RateLimitPolicy::default();
        let mut n = verified();
        for _ in 0..10 {
            admit(&mut n, Operation::Register, now(), &policy).unwrap();
        }
        let Err(DomainError::RateLimited { until, .. }) =
            admit(&mut n, Operation::Register, now(), &policy)
        else {
            panic!("expected a block");
        };
        assert_eq!(until, now() + TimeDelta::hours(72));
        assert!(
            admit(
                &mut n,
                Operation::Register,
                until - TimeDelta::seconds(1),
                &policy
            )
            .is_err()
        );
        admit(&mut n, Operation::Register, until, &policy).unwrap();
    }

    #[test]
    fn a_migrating_number_needs_a_backup_and_leaves_migration_on_success() {
        let mut n = verified();
        n.migration_pending = true;
        assert_eq!(
            register(&mut n, &req("123456", None), now(), &Default::default()),
            Err(DomainError::BackupRequired)
        );
        let mut with_backup = req("123456", None);
        with_backup.backup = Some(Backup {
            data: "blob".into(),
            password: "secret".into(),
        });
        assert!(!format!("{with_backup:?}").contains("secret"));
        register(&mut n, &with_backup, now(), &Default::default()).unwrap();
        assert!(n.registered && !n.migration_pending);
        assert_eq!(n.last_onboarded_time, Some(now()));
    }

    #[test]
    fn onboarding_time_moves_only_when_the_number_becomes_registered() {
        let mut n = verified();
        register(&mut n, &req("123456", None), now(), &Default::default()).unwrap();
        let later = now() + TimeDelta::hours(1);
        register(&mut n, &req("123456", None), later, &Default::default()).unwrap();
        assert_eq!(n.last_onboarded_time, Some(now()));
        deregister(&mut n).unwrap();
        register(&mut n, &req("123456", None), later, &Default::default()).unwrap();
        assert_eq!(n.last_onboarded_time, Some(later));
    }
}
