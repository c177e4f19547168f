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
    /// The app that issued it (`None`: the emulator's first app).
    pub app_id: Option<Arc<str>>,
    /// A system-user token (`debug_token` type `SYSTEM_USER`), as code exchange issues.
    pub system_user: bool,
    /// The user or system user it belongs to.
    pub user_id: Option<String>,
    /// The `granular_scopes` shape `debug_token` answers (`None`: the emulator's setting).
    pub scopes_shape: Option<super::ScopesShape>,
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
    /// The app the token belongs to (`None`: the emulator's first app).
    pub app_id: Option<Arc<str>>,
    /// An app access token (`APP_ID|APP_SECRET`): it may call app endpoints (`debug_token`,
    /// `/{APP_ID}/subscriptions`) but holds no WhatsApp permission.
    pub app_token: bool,
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
    /// `currency`.
    pub currency: String,
    /// `timezone_id`.
    pub timezone_id: String,
    /// `message_template_namespace`.
    pub message_template_namespace: String,
    /// The customer's business portfolio, when known (signups set it).
    pub owner_business_id: Option<String>,
    /// Apps subscribed to its webhooks (`/subscribed_apps`), with their overrides.
    pub subscribed_apps: Vec<super::Subscription>,
}

impl Waba {
    /// A WABA with Meta's defaults for the fields a test rarely sets (`USD`, time zone 1, a
    /// template namespace derived elsewhere), no owner and no subscriptions.
    pub fn named(id: impl Into<String>, name: impl Into<String>, namespace: String) -> Self {
        Self {
            id: id.into(),
            name: name.into(),
            currency: "USD".to_owned(),
            timezone_id: "1".to_owned(),
            message_template_namespace: namespace,
            owner_business_id: None,
            subscribed_apps: Vec::new(),
        }
    }
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
