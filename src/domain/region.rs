use std::fmt;

use super::DomainError;

/// A supported `data_localization_region` (Meta's local-storage list: 14 uppercase ISO 3166-1
/// alpha-2 codes; the US is the default storage, not a region).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Region(&'static str);

impl Region {
    /// Every supported code, in Meta's table order (APAC, Europe, LATAM, MEA, NORAM).
    pub const ALL: [&'static str; 14] = [
        "AU", "ID", "IN", "JP", "SG", "KR", "DE", "CH", "GB", "BR", "BH", "ZA", "AE", "CA",
    ];

    /// Parses a code; only the exact uppercase codes are accepted.
    pub fn parse(code: &str) -> Result<Self, DomainError> {
        Self::ALL
            .iter()
            .find(|known| **known == code)
            .map(|known| Self(known))
            .ok_or_else(|| DomainError::InvalidRegion(code.to_owned()))
    }

    /// The two-letter code.
    pub fn code(self) -> &'static str {
        self.0
    }
}

impl fmt::Display for Region {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0)
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
