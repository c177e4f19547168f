//! Access tokens: where Graph looks for them and how they are checked.

use std::borrow::Cow;

use axum::http::{HeaderMap, header};
use chrono::{DateTime, Utc};

use super::error::GraphError;
use crate::domain::{ParamValue, Params, Principal, is_parseable_token};
use crate::state::AppState;

/// Where the token came from, already trimmed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PresentedToken<'a> {
    /// No token anywhere.
    Missing,
    /// An `Authorization` header Graph cannot use (unknown scheme).
    Unusable,
    /// A token string.
    Value(Cow<'a, str>),
}

/// Finds the token: the `access_token` parameter (query or body) wins, then the
/// `Authorization` header (`Bearer` or the older `OAuth` scheme). The parameter is removed from
/// `params` so it can never be echoed or journaled.
///
/// Why the parameter wins when both are sent: pywa, a widely used client, documents setting
/// the callback URL with `POST /{APP_ID}/subscriptions` by sending its client token in the
/// header and the app token in `access_token`, which works in production only if Graph takes
/// the parameter. No Meta page says so outright (README, known differences).
pub fn presented_token<'a>(headers: &'a HeaderMap, params: &mut Params) -> PresentedToken<'a> {
    match params.remove("access_token") {
        None | Some(ParamValue::Json(serde_json::Value::Null)) => {}
        Some(ParamValue::Text(token)) => {
            if !token.trim().is_empty() {
                return PresentedToken::Value(Cow::Owned(token.trim().to_owned()));
            }
        }
        Some(ParamValue::Json(_)) => return PresentedToken::Unusable,
    }
    let Some(value) = headers.get(header::AUTHORIZATION) else {
        return PresentedToken::Missing;
    };
    let Ok(text) = value.to_str() else {
        return PresentedToken::Unusable;
    };
    let text = text.trim();
    if text.is_empty() {
        return PresentedToken::Missing;
    }
    let (scheme, rest) = text.split_once(' ').unwrap_or((text, ""));
    if !(scheme.eq_ignore_ascii_case("bearer") || scheme.eq_ignore_ascii_case("oauth")) {
        return PresentedToken::Unusable;
    }
    match rest.trim() {
        "" => PresentedToken::Missing,
        token => PresentedToken::Value(Cow::Borrowed(token)),
    }
}

/// Checks a presented token against the world at `now`.
pub fn authenticate(
    app: &AppState,
    presented: &PresentedToken<'_>,
    now: DateTime<Utc>,
) -> Result<Principal, GraphError> {
    let token = match presented {
        PresentedToken::Missing => return Err(GraphError::missing_token()),
        PresentedToken::Unusable => return Err(GraphError::unparseable_token()),
        PresentedToken::Value(token) => token,
    };
    if !is_parseable_token(token) {
        return Err(GraphError::unparseable_token());
    }
    // App tokens (`APP_ID|APP_SECRET`) are looked up only when no access token matched, so
    // the common path costs nothing more.
    let principal = app
        .find_token(token)
        .or_else(|| app.find_app_token(token))
        .ok_or_else(GraphError::unknown_token)?;
    if let Some(expired_at) = principal.expires_at.filter(|at| *at <= now) {
        return Err(GraphError::expired_token(expired_at, now));
    }
    Ok(principal)
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn headers(auth: Option<&str>) -> HeaderMap {
        let mut headers = HeaderMap::new();
        if let Some(auth) = auth {
            headers.insert(header::AUTHORIZATION, HeaderValue::from_str(auth).unwrap());
        }
        headers
    }

    fn params(token: Option<&str>) -> Params {
        let mut params = Params::default();
        if let Some(token) = token {
            params.insert("access_token", serde_json::json!(token));
        }
        params
    }

    #[test]
    fn the_parameter_wins_over_the_header_and_is_removed() {
        let mut p = params(Some("from-query"));
        assert_eq!(
            presented_token(&headers(Some("Bearer from-header")), &mut p),
            PresentedToken::Value("from-query".into())
        );
        assert!(p.get("access_token").is_none());
        // An empty parameter leaves the header to speak.
        assert_eq!(
            presented_token(&headers(Some("Bearer from-header")), &mut params(Some(" "))),
            PresentedToken::Value("from-header".into())
        );
        let mut p = params(Some("from-query"));
        assert_eq!(
            presented_token(&headers(None), &mut p),
            PresentedToken::Value("from-query".into())
        );
        assert_eq!(
            presented_token(&headers(Some("OAuth old-style")), &mut params(None)),
            PresentedToken::Value("old-style".into())
        );
        assert_eq!(
            presented_token(&headers(Some("bearer lower")), &mut params(None)),
            PresentedToken::Value("lower".into())
        );
    }

    #[test]
    fn missing_and_unusable_tokens_are_told_apart() {
        assert_eq!(
            presented_token(&headers(None), &mut params(None)),
            PresentedToken::Missing
        );
        assert_eq!(
            presented_token(&headers(Some("Bearer ")), &mut params(None)),
            PresentedToken::Missing
        );
        assert_eq!(
            presented_token(&headers(Some("Basic dXNlcjpwYXNz")), &mut params(None)),
            PresentedToken::Unusable
        );
    }
}
