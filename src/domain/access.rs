//! Who may do what: access tokens, the permissions they grant, the WABAs they reach, and the
//! syntax Graph accepts for a token at all.

use std::collections::HashSet;
use std::sync::Arc;

use chrono::{DateTime, Utc};

/// `whatsapp_business_management`.
pub const PERMISSION_MANAGEMENT: &str = "whatsapp_business_management";
/// `whatsapp_business_messaging`.
pub const PERMISSION_MESSAGING: &str = "whatsapp_business_messaging";

/// Which WABAs a token may act on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WabaScope {
    /// Every WABA (fixtures write `"*"`).
    All,
    /// Only these WABA ids.
    Only(HashSet<String>),
}

impl WabaScope {
    /// Whether the token may act on objects of `waba_id`.
    pub fn allows(&self, waba_id: &str) -> bool {
        match self {
            Self::All => true,
            Self::Only(ids) => ids.contains(waba_id),
        }
    }
}

/// An access token the emulator accepts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Token {
    /// The secret itself (kept for constant-time comparison and fixture export; never logged).
    pub value: String,
    /// Granted permission names (shared, so a request's principal copies no strings).
    pub permissions: Arc<Vec<String>>,
    /// WABAs the token may act on.
    pub scope: Arc<WabaScope>,
    /// When the token stops working.
    pub expires_at: Option<DateTime<Utc>>,
}

impl Token {
    /// Whether the token was granted `permission`.
    pub fn has_permission(&self, permission: &str) -> bool {
        self.permissions.iter().any(|granted| granted == permission)
    }
}

/// What a request may do once its token checked out.
#[derive(Debug, Clone)]
pub struct Principal {
    /// Granted permission names.
    pub permissions: Arc<Vec<String>>,
    /// WABAs it may act on.
    pub scope: Arc<WabaScope>,
    /// Expiry, if any.
    pub expires_at: Option<DateTime<Utc>>,
}

impl Principal {
    /// The first of `required` that the token lacks.
    pub fn missing_permission<'a>(&self, required: &[&'a str]) -> Option<&'a str> {
        required
            .iter()
            .find(|needed| !self.permissions.iter().any(|granted| granted == *needed))
            .copied()
    }
}

/// A WhatsApp Business Account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Waba {
    /// Graph id.
    pub id: String,
    /// Display name.
    pub name: String,
}

/// Whether a string could be a Graph access token at all: 1 to 512 characters of letters,
/// digits and `._~+/=|-` (real tokens are base64-like; anything else cannot be parsed).
pub fn is_parseable_token(token: &str) -> bool {
    (1..=512).contains(&token.len())
        && token
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._~+/=|-".contains(&b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_syntax() {
        assert!(is_parseable_token("EAAG1234abcd"));
        assert!(is_parseable_token("dev-token.v1|x"));
        assert!(!is_parseable_token(""));
        assert!(!is_parseable_token("has space"));
        assert!(!is_parseable_token("quote\""));
        assert!(!is_parseable_token(&"a".repeat(513)));
    }
}
