use std::fmt;

use subtle::ConstantTimeEq;

use super::DomainError;

/// A two-step verification PIN: exactly six ASCII digits.
///
/// `Debug` and `Display` never show the digits, so a PIN cannot leak into logs by accident.
#[derive(Clone, Copy, Eq)]
pub struct Pin([u8; 6]);

impl Pin {
    /// Parses six ASCII digits.
    pub fn parse(text: &str) -> Result<Self, DomainError> {
        let bytes = text.as_bytes();
        if bytes.len() != 6 || !bytes.iter().all(u8::is_ascii_digit) {
            return Err(DomainError::InvalidPin);
        }
        let mut digits = [0u8; 6];
        digits.copy_from_slice(bytes);
        Ok(Self(digits))
    }

    /// The digits, for persistence and fixture export only.
    pub fn expose(&self) -> &str {
        // The constructor only admits ASCII digits.
        std::str::from_utf8(&self.0).unwrap_or("")
    }
}

impl PartialEq for Pin {
    /// Constant-time comparison: a PIN check must not reveal how many digits matched.
    fn eq(&self, other: &Self) -> bool {
        self.0.ct_eq(&other.0).into()
    }
}

impl fmt::Debug for Pin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Pin(******)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_exactly_six_ascii_digits() {
        assert_eq!(Pin::parse("123456").unwrap().expose(), "123456");
        assert_eq!(Pin::parse("000000").unwrap().expose(), "000000");
        for bad in [
            "12345",
            "1234567",
            "12345a",
            "",
            "١٢٣٤٥٦",
            " 12345",
            "12 456",
        ] {
            assert_eq!(Pin::parse(bad), Err(DomainError::InvalidPin), "{bad:?}");
        }
    }

    #[test]
    fn debug_masks_the_digits() {
        let pin = Pin::parse("123456").unwrap();
        assert!(!format!("{pin:?}").contains("123456"));
    }
}
