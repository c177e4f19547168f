use std::fmt;
use std::num::NonZeroU8;

use super::DomainError;

/// A supported `data_localization_region` (Meta's local-storage list: 14 uppercase ISO 3166-1
/// alpha-2 codes; the US is the default storage, not a region).
///
/// Held as one plus its index into [`Region::ALL`]: one non-zero byte, so `Option<Region>`
/// costs a number one byte instead of sixteen.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Region(NonZeroU8);

impl Region {
    /// Every supported code, in Meta's table order (APAC, Europe, LATAM, MEA, NORAM).
    pub const ALL: [&'static str; 14] = [
        "AU", "ID", "IN", "JP", "SG", "KR", "DE", "CH", "GB", "BR", "BH", "ZA", "AE", "CA",
    ];

    /// Parses a code; only the exact uppercase codes are accepted.
    pub fn parse(code: &str) -> Result<Self, DomainError> {
        Self::ALL
            .iter()
            .position(|known| *known == code)
            .and_then(|index| u8::try_from(index + 1).ok())
            .and_then(NonZeroU8::new)
            .map(Self)
            .ok_or_else(|| DomainError::InvalidRegion(code.to_owned()))
    }

    /// The two-letter code.
    pub fn code(self) -> &'static str {
        Self::ALL[usize::from(self.0.get() - 1)]
    }
}

impl fmt::Debug for Region {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Region").field(&self.code()).finish()
    }
}

impl fmt::Display for Region {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_the_fourteen_codes_and_nothing_else() {
        for code in Region::ALL {
            assert_eq!(Region::parse(code).unwrap().code(), code);
        }
        for bad in ["US", "de", "EU", "", "DEU", "XX"] {
            assert_eq!(
                Region::parse(bad),
                Err(DomainError::InvalidRegion(bad.to_owned()))
            );
        }
    }
}
