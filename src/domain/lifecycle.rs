//! The lifecycle around registration: ownership verification codes, the two-step PIN, local
//! storage through `/settings`, adding numbers to a WABA, and the values the Graph node reads.
//!
//! Pure rules like the rest of `domain`: `now` is an argument, codes and ids are handed in.

use std::fmt;

use chrono::{DateTime, TimeDelta, Utc};
use serde::{Deserialize, Serialize};
use subtle::ConstantTimeEq;

use super::{DomainError, PhoneNumber, Region};

/// An enumeration whose values travel on the wire in Meta's spelling.
macro_rules! wire_enum {
    (
        $(#[$meta:meta])*
        $name:ident { $( $(#[$vmeta:meta])* $variant:ident = $wire:literal ),+ $(,)? }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
        pub enum $name {
            $( $(#[$vmeta])* #[serde(rename = $wire)] $variant ),+
        }

        impl $name {
            /// Every value, in declaration order.
            pub const ALL: &'static [Self] = &[$(Self::$variant),+];

            /// The wire spelling.
            pub fn as_str(self) -> &'static str {
                match self {
                    $( Self::$variant => $wire ),+
                }
            }

            /// Parses the wire spelling, ignoring ASCII case.
            pub fn parse_any_case(text: &str) -> Option<Self> {
                Self::ALL
                    .iter()
                    .copied()
                    .find(|value| value.as_str().eq_ignore_ascii_case(text))
            }
        }
    };
}

wire_enum! {
    /// `quality_rating` of a number.
    QualityRating {
        /// High quality.
        Green = "GREEN",
        /// Medium quality.
        Yellow = "YELLOW",
        /// Low quality.
        Red = "RED",
        /// Not yet rated (Meta's docs).
        Na = "NA",
        /// Not yet rated (seen in list examples).
        Unknown = "UNKNOWN",
    }
}

wire_enum! {
    /// `name_status`: where the display name is in review.
    NameStatus {
        /// Approved.
        Approved = "APPROVED",
        /// Usable without review.
        AvailableWithoutReview = "AVAILABLE_WITHOUT_REVIEW",
        /// Declined.
        Declined = "DECLINED",
        /// Expired.
        Expired = "EXPIRED",
        /// In review.
        PendingReview = "PENDING_REVIEW",
        /// No name.
        NoName = "NONE",
    }
}

wire_enum! {
    /// `account_mode`.
    AccountMode {
        /// A production number.
        Live = "LIVE",
        /// A sandbox (test) number.
        Sandbox = "SANDBOX",
    }
}

wire_enum! {
    /// `messaging_limit_tier`: business-initiated conversations per 24 hours.
    MessagingLimitTier {
        /// 50.
        Tier50 = "TIER_50",
        /// 250.
        Tier250 = "TIER_250",
        /// 1,000.
        Tier1K = "TIER_1K",
        /// 10,000.
        Tier10K = "TIER_10K",
        /// 100,000.
        Tier100K = "TIER_100K",
        /// Unlimited.
        TierUnlimited = "TIER_UNLIMITED",
    }
}

wire_enum! {
    /// How `request_code` delivers the code.
    CodeMethod {
        /// Text message.
        Sms = "SMS",
        /// Voice call.
        Voice = "VOICE",
    }
}

/// A six-digit ownership verification code. `Debug` never shows the digits.
#[derive(Clone, Copy, Eq)]
pub struct VerificationCode([u8; 6]);

impl VerificationCode {
    /// Parses six ASCII digits.
    pub fn parse(text: &str) -> Result<Self, DomainError> {
        let bytes = text.as_bytes();
        if bytes.len() != 6 || !bytes.iter().all(u8::is_ascii_digit) {
            return Err(DomainError::MalformedVerificationCode);
        }
        let mut digits = [0u8; 6];
        digits.copy_from_slice(bytes);
        Ok(Self(digits))
    }

    /// A code from a random draw (the caller's deterministic generator).
    pub fn from_draw(draw: u64) -> Self {
        let mut value = draw % 1_000_000;
        let mut digits = [b'0'; 6];
        for slot in digits.iter_mut().rev() {
            // `value % 10` is below 10, so the cast cannot truncate.
            *slot = b'0' + (value % 10) as u8;
            value /= 10;
        }
        Self(digits)
    }

    /// The digits, for the test that reads them in-process and for fixture export only.
    pub fn expose(&self) -> &str {
        std::str::from_utf8(&self.0).unwrap_or("")
    }
}

impl PartialEq for VerificationCode {
    /// Constant-time comparison.
    fn eq(&self, other: &Self) -> bool {
        self.0.ct_eq(&other.0).into()
    }
}

impl fmt::Debug for VerificationCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("VerificationCode(******)")
    }
}

/// A code sent by `request_code` and not yet used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingVerification {
    /// The code `verify_code` must receive.
    pub code: VerificationCode,
    /// How it was "sent".
    pub method: CodeMethod,
    /// The language the client asked for (as given).
    pub language: String,
    /// When it stops being accepted.
    pub expires_at: DateTime<Utc>,
}

/// Stores a freshly "sent" code, replacing any earlier one. Allowed in every state; the
/// verification status only changes on `verify_code`.
pub fn request_code(
    number: &mut PhoneNumber,
    code: VerificationCode,
    method: CodeMethod,
    language: &str,
    now: DateTime<Utc>,
    ttl: TimeDelta,
) {
    number.set_pending_verification(Some(PendingVerification {
        code,
        method,
        language: language.to_owned(),
        expires_at: now + ttl,
    }));
}

/// Checks a code: the pending, unexpired, matching code marks the number `VERIFIED` and is
/// used up. A wrong code leaves the pending code in place (no attempt limit).
pub fn verify_code(
    number: &mut PhoneNumber,
    presented: &str,
    now: DateTime<Utc>,
) -> Result<(), DomainError> {
    let presented = VerificationCode::parse(presented)?;
    let Some(pending) = number.pending_verification() else {
        return Err(DomainError::NoVerificationCodeRequested);
    };
    if now >= pending.expires_at {
        return Err(DomainError::VerificationCodeExpired {
            expired_at: pending.expires_at,
        });
    }
    if pending.code != presented {
        return Err(DomainError::WrongVerificationCode);
    }
    number.set_pending_verification(None);
    number.verification = super::CodeVerificationStatus::Verified;
    Ok(())
}

/// `language` for `request_code`: a language code as WhatsApp's supported-languages list
/// writes them: two or three lowercase letters (`en`, `fil`), optionally followed by `_` and a
/// region, either two uppercase letters (`en_US`, `prs_AF`) or three digits (`es_419`).
pub fn valid_language(language: &str) -> bool {
    let (language, region) = match language.split_once('_') {
        Some((language, region)) => (language, Some(region)),
        None => (language, None),
    };
    let language_ok =
        (2..=3).contains(&language.len()) && language.bytes().all(|b| b.is_ascii_lowercase());
    let region_ok = region.is_none_or(|region| {
        region.len() == 2 && region.bytes().all(|b| b.is_ascii_uppercase())
            || region.len() == 3 && region.bytes().all(|b| b.is_ascii_digit())
    });
    language_ok && region_ok
}

/// A local-storage change through `POST /{id}/settings`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StorageChange {
    /// `IN_COUNTRY_STORAGE_ENABLED` in a region.
    Enable(Region),
    /// `IN_COUNTRY_STORAGE_DISABLED`: back to default storage.
    Disable,
}

/// Changes local storage. Refused for coexistence numbers and while registered.
pub fn change_local_storage(
    number: &mut PhoneNumber,
    change: StorageChange,
) -> Result<(), DomainError> {
    if number.coexistence {
        return Err(DomainError::LocalStorageCoexistence);
    }
    if number.registered {
        return Err(DomainError::LocalStorageWhileRegistered);
    }
    number.region = match change {
        StorageChange::Enable(region) => Some(region),
        StorageChange::Disable => None,
    };
    Ok(())
}

/// A validated `POST /{WABA_ID}/phone_numbers` request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewNumber {
    /// Country calling code, digits only.
    pub cc: String,
    /// National number, digits only.
    pub phone_number: String,
    /// Display name.
    pub verified_name: String,
    /// Added for an On-Premises to Cloud migration.
    pub migrate: bool,
}

impl NewNumber {
    /// Validates the parameters: `cc` 1 to 3 digits (a leading `+` is allowed), `phone_number`
    /// digits (spaces, dashes, dots and parentheses are ignored) with at most 15 digits in all,
    /// `verified_name` 2 to 75 characters after trimming.
    pub fn parse(
        cc: &str,
        phone_number: &str,
        verified_name: &str,
        migrate: bool,
    ) -> Result<Self, DomainError> {
        let cc_digits = cc.trim().strip_prefix('+').unwrap_or(cc.trim());
        if !(1..=3).contains(&cc_digits.len())
            || !cc_digits.bytes().all(|b| b.is_ascii_digit())
            || cc_digits.starts_with('0')
        {
            return Err(DomainError::InvalidCountryCode(cc.to_owned()));
        }
        let national: String = phone_number
            .chars()
            .filter(|c| !matches!(c, ' ' | '-' | '.' | '(' | ')'))
            .collect();
        if national.len() < 4
            || cc_digits.len() + national.len() > 15
            || !national.bytes().all(|b| b.is_ascii_digit())
        {
            return Err(DomainError::InvalidPhoneNumber(phone_number.to_owned()));
        }
        let name = verified_name.trim();
        let chars = name.chars().count();
        if !(2..=75).contains(&chars) {
            return Err(DomainError::InvalidVerifiedName { chars });
        }
        Ok(Self {
            cc: cc_digits.to_owned(),
            phone_number: national,
            verified_name: name.to_owned(),
            migrate,
        })
    }

    /// All digits, country code first (how duplicates are recognised).
    pub fn digits(&self) -> String {
        format!("{}{}", self.cc, self.phone_number)
    }

    /// The number as it joins its WABA: unverified, unregistered, no PIN, not yet rated.
    pub fn into_number(self, id: String, waba_id: String, now: DateTime<Utc>) -> PhoneNumber {
        let mut number = PhoneNumber::new(id, waba_id);
        number.display_phone_number =
            compact_str::format_compact!("+{} {}", self.cc, self.phone_number);
        number.verified_name = self.verified_name.into();
        number.quality_rating = QualityRating::Unknown;
        number.name_status = NameStatus::AvailableWithoutReview;
        number.creation_time = Some(now);
        number.migration_pending = self.migrate;
        number
    }
}

/// The digits of a display number (`+1 555-010-0001` → `15550100001`).
pub fn digits_of(display: &str) -> String {
    display.chars().filter(char::is_ascii_digit).collect()
}

/// ISO 3166-1 alpha-2 for the calling codes of the countries WhatsApp business numbers most
/// often come from (a code shared by several countries gives its main one: 1 → US, 7 → RU).
pub fn country_of_dial_code(code: &str) -> Option<&'static str> {
    const TABLE: [(&str, &str); 48] = [
        ("1", "US"),
        ("7", "RU"),
        ("20", "EG"),
        ("27", "ZA"),
        ("30", "GR"),
        ("31", "NL"),
        ("32", "BE"),
        ("33", "FR"),
        ("34", "ES"),
        ("39", "IT"),
        ("41", "CH"),
        ("43", "AT"),
        ("44", "GB"),
        ("45", "DK"),
        ("46", "SE"),
        ("47", "NO"),
        ("48", "PL"),
        ("49", "DE"),
        ("51", "PE"),
        ("52", "MX"),
        ("54", "AR"),
        ("55", "BR"),
        ("56", "CL"),
        ("57", "CO"),
        ("60", "MY"),
        ("61", "AU"),
        ("62", "ID"),
        ("63", "PH"),
        ("64", "NZ"),
        ("65", "SG"),
        ("66", "TH"),
        ("81", "JP"),
        ("82", "KR"),
        ("84", "VN"),
        ("86", "CN"),
        ("90", "TR"),
        ("91", "IN"),
        ("92", "PK"),
        ("234", "NG"),
        ("254", "KE"),
        ("351", "PT"),
        ("353", "IE"),
        ("358", "FI"),
        ("880", "BD"),
        ("966", "SA"),
        ("971", "AE"),
        ("972", "IL"),
        ("973", "BH"),
    ];
    TABLE
        .iter()
        .find(|(dial, _)| *dial == code)
        .map(|(_, country)| *country)
}

/// The ISO 3166-1 alpha-2 country of a number written as digits with its calling code
/// (`491512345678` → `DE`), by the longest calling code of [`country_of_dial_code`]'s table.
pub fn country_of_digits(digits: &str) -> Option<&'static str> {
    (1..=3)
        .rev()
        .filter_map(|len| digits.get(..len))
        .find_map(country_of_dial_code)
}

/// The orders `GET /{WABA_ID}/phone_numbers` can list in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ListOrder {
    /// Newest onboarding first (Meta's default).
    #[default]
    LastOnboardedDescending,
    /// Oldest onboarding first.
    LastOnboardedAscending,
    /// Oldest first.
    CreationAscending,
    /// Newest first.
    CreationDescending,
}

impl ListOrder {
    /// Accepted spellings: the docs' `last_onboarded_time_ascending` style and the OpenAPI
    /// file's `last_onboarded_time.asc` style.
    pub const NAMES: [&'static str; 8] = [
        "last_onboarded_time_descending",
        "last_onboarded_time_ascending",
        "creation_time_ascending",
        "creation_time_descending",
        "last_onboarded_time.desc",
        "last_onboarded_time.asc",
        "creation_time.asc",
        "creation_time.desc",
    ];

    /// Parses one of [`ListOrder::NAMES`].
    pub fn parse(text: &str) -> Option<Self> {
        Some(match text {
            "last_onboarded_time_descending" | "last_onboarded_time.desc" => {
                Self::LastOnboardedDescending
            }
            "last_onboarded_time_ascending" | "last_onboarded_time.asc" => {
                Self::LastOnboardedAscending
            }
            "creation_time_ascending" | "creation_time.asc" => Self::CreationAscending,
            "creation_time_descending" | "creation_time.desc" => Self::CreationDescending,
            _ => return None,
        })
    }

    /// Sorts numbers. Missing times sort as the oldest; ties break on the id, so every order
    /// is total and stable between requests (cursors rely on that).
    pub fn sort(self, numbers: &mut [PhoneNumber]) {
        match self {
            Self::LastOnboardedDescending => numbers.sort_by(|a, b| {
                (b.last_onboarded_time, &b.id).cmp(&(a.last_onboarded_time, &a.id))
            }),
            Self::LastOnboardedAscending => numbers.sort_by(|a, b| {
                (a.last_onboarded_time, &a.id).cmp(&(b.last_onboarded_time, &b.id))
            }),
            Self::CreationAscending => {
                numbers.sort_by(|a, b| (a.creation_time, &a.id).cmp(&(b.creation_time, &b.id)))
            }
            Self::CreationDescending => {
                numbers.sort_by(|a, b| (b.creation_time, &b.id).cmp(&(a.creation_time, &a.id)))
            }
        }
    }
}

impl PhoneNumber {
    /// `status`: `CONNECTED` while registered on the Cloud API, else `PENDING`.
    pub fn status(&self) -> &'static str {
        if self.registered {
            "CONNECTED"
        } else {
            "PENDING"
        }
    }

    /// `platform_type`: `CLOUD_API` while registered, `ON_PREMISE` while a migration is
    /// pending, else `NOT_APPLICABLE`.
    pub fn platform_type(&self) -> &'static str {
        if self.registered {
            "CLOUD_API"
        } else if self.migration_pending {
            "ON_PREMISE"
        } else {
            "NOT_APPLICABLE"
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::CodeVerificationStatus;

    fn now() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-11-25T12:00:00Z")
            .unwrap()
            .to_utc()
    }

    fn with_code(code: &str) -> PhoneNumber {
        let mut n = PhoneNumber::new("1", "2");
        request_code(
            &mut n,
            VerificationCode::parse(code).unwrap(),
            CodeMethod::Sms,
            "en_US",
            now(),
            TimeDelta::minutes(10),
        );
        n
    }

    #[test]
    fn codes_are_six_digits_masked_and_derived_from_draws() {
        assert_eq!(VerificationCode::from_draw(42).expose(), "000042");
        assert_eq!(VerificationCode::from_draw(u64::MAX).expose(), "551615");
        assert!(!format!("{:?}", VerificationCode::from_draw(123_456)).contains("123456"));
        for bad in ["12345", "1234567", "12a456", "", " 12345"] {
            assert_eq!(
                VerificationCode::parse(bad),
                Err(DomainError::MalformedVerificationCode)
            );
        }
    }

    #[test]
    fn the_right_code_verifies_once() {
        let mut n = with_code("123456");
        assert_eq!(
            n.pending_verification().unwrap().expires_at,
            now() + TimeDelta::minutes(10)
        );
        verify_code(&mut n, "123456", now()).unwrap();
        assert_eq!(n.verification, CodeVerificationStatus::Verified);
        assert_eq!(n.pending_verification(), None);
        assert_eq!(
            verify_code(&mut n, "123456", now()),
            Err(DomainError::NoVerificationCodeRequested)
        );
    }

    #[test]
    fn wrong_expired_missing_and_malformed_codes_are_refused() {
        let mut n = PhoneNumber::new("1", "2");
        assert_eq!(
            verify_code(&mut n, "123456", now()),
            Err(DomainError::NoVerificationCodeRequested)
        );
        let mut n = with_code("123456");
        assert_eq!(
            verify_code(&mut n, "654321", now()),
            Err(DomainError::WrongVerificationCode)
        );
        assert_eq!(
            verify_code(&mut n, "12", now()),
            Err(DomainError::MalformedVerificationCode)
        );
        let expiry = now() + TimeDelta::minutes(10);
        assert_eq!(
            verify_code(&mut n, "123456", expiry),
            Err(DomainError::VerificationCodeExpired { expired_at: expiry })
        );
        assert_eq!(n.verification, CodeVerificationStatus::NotVerified);
        // One second before expiry it still works.
        verify_code(&mut n, "123456", expiry - TimeDelta::seconds(1)).unwrap();
    }

    #[test]
    fn a_new_code_replaces_the_old_one() {
        let mut n = with_code("111111");
        request_code(
            &mut n,
            VerificationCode::parse("222222").unwrap(),
            CodeMethod::Voice,
            "en",
            now(),
            TimeDelta::minutes(10),
        );
        assert_eq!(
            verify_code(&mut n, "111111", now()),
            Err(DomainError::WrongVerificationCode)
        );
        verify_code(&mut n, "222222", now()).unwrap();
    }

    #[test]
    fn languages_and_methods() {
        // Codes of WhatsApp's supported-languages list, including the ones that are not
        // `xx` or `xx_XX`.
        for ok in ["en", "en_US", "pt_BR", "fil", "es_419", "prs_AF", "zh_HK"] {
            assert!(valid_language(ok), "{ok}");
        }
        for bad in [
            "", "e", "EN", "en-US", "en_us", "english", "es_41", "en_", "_US", "en_US_x",
        ] {
            assert!(!valid_language(bad), "{bad}");
        }
        assert_eq!(CodeMethod::parse_any_case("sms"), Some(CodeMethod::Sms));
        assert_eq!(CodeMethod::parse_any_case("Voice"), Some(CodeMethod::Voice));
        assert_eq!(CodeMethod::parse_any_case("email"), None);
    }

    #[test]
    fn local_storage_changes_only_while_unregistered_and_never_for_coexistence() {
        let de = Region::parse("DE").unwrap();
        let mut n = PhoneNumber::new("1", "2");
        change_local_storage(&mut n, StorageChange::Enable(de)).unwrap();
        assert_eq!(n.region, Some(de));
        change_local_storage(&mut n, StorageChange::Disable).unwrap();
        assert_eq!(n.region, None);
        n.registered = true;
        assert_eq!(
            change_local_storage(&mut n, StorageChange::Enable(de)),
            Err(DomainError::LocalStorageWhileRegistered)
        );
        n.coexistence = true;
        n.registered = false;
        assert_eq!(
            change_local_storage(&mut n, StorageChange::Disable),
            Err(DomainError::LocalStorageCoexistence)
        );
    }

    #[test]
    fn new_numbers_are_validated() {
        let ok = NewNumber::parse("+1", "555-010 0099", " Acme ", true).unwrap();
        assert_eq!(ok.digits(), "15550100099");
        assert_eq!(ok.verified_name, "Acme");
        let number = ok.into_number("9".into(), "8".into(), now());
        assert_eq!(number.display_phone_number, "+1 5550100099");
        assert_eq!(number.verification, CodeVerificationStatus::NotVerified);
        assert!(number.migration_pending);
        assert_eq!(number.creation_time, Some(now()));
        assert_eq!(number.platform_type(), "ON_PREMISE");
        assert_eq!(number.status(), "PENDING");

        assert!(matches!(
            NewNumber::parse("", "5550100", "Acme", false),
            Err(DomainError::InvalidCountryCode(_))
        ));
        assert!(matches!(
            NewNumber::parse("1234", "5550100", "Acme", false),
            Err(DomainError::InvalidCountryCode(_))
        ));
        assert!(matches!(
            NewNumber::parse("01", "5550100", "Acme", false),
            Err(DomainError::InvalidCountryCode(_))
        ));
        assert!(matches!(
            NewNumber::parse("1", "55x0100", "Acme", false),
            Err(DomainError::InvalidPhoneNumber(_))
        ));
        assert!(matches!(
            NewNumber::parse("1", "123", "Acme", false),
            Err(DomainError::InvalidPhoneNumber(_))
        ));
        assert!(matches!(
            NewNumber::parse("1", "1234567890123456", "Acme", false),
            Err(DomainError::InvalidPhoneNumber(_))
        ));
        assert_eq!(
            NewNumber::parse("1", "5550100", "A", false),
            Err(DomainError::InvalidVerifiedName { chars: 1 })
        );
        assert_eq!(
            NewNumber::parse("1", "5550100", &"é".repeat(76), false),
            Err(DomainError::InvalidVerifiedName { chars: 76 })
        );
        assert!(NewNumber::parse("1", "5550100", &"é".repeat(75), false).is_ok());
        assert_eq!(digits_of("+1 555-010-0001"), "15550100001");
    }

    #[test]
    fn list_orders_are_total() {
        let at = |id: &str, onboarded: Option<i64>, created: Option<i64>| {
            let mut n = PhoneNumber::new(id, "w");
            n.last_onboarded_time = onboarded.map(|h| now() + TimeDelta::hours(h));
            n.creation_time = created.map(|h| now() + TimeDelta::hours(h));
            n
        };
        let mut numbers = vec![
            at("1", None, Some(2)),
            at("2", Some(1), None),
            at("3", Some(5), Some(1)),
            at("4", None, None),
        ];
        let ids = |numbers: &[PhoneNumber]| {
            numbers
                .iter()
                .map(|n| n.id.clone())
                .collect::<Vec<_>>()
                .join(",")
        };
        ListOrder::default().sort(&mut numbers);
        assert_eq!(ids(&numbers), "3,2,4,1");
        ListOrder::LastOnboardedAscending.sort(&mut numbers);
        assert_eq!(ids(&numbers), "1,4,2,3");
        ListOrder::CreationAscending.sort(&mut numbers);
        assert_eq!(ids(&numbers), "2,4,3,1");
        ListOrder::CreationDescending.sort(&mut numbers);
        assert_eq!(ids(&numbers), "1,3,4,2");
        for name in ListOrder::NAMES {
            assert!(ListOrder::parse(name).is_some(), "{name}");
        }
        assert_eq!(ListOrder::parse("name"), None);
    }
}
