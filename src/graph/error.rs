//! Graph's error envelope and the one table that maps every failure to Meta's codes.
//!
//! Every status, code, subcode, type and message the emulator sends is chosen in this file.
//! Wire-level failures (auth, paths, parameters) have named constructors; business-rule
//! failures come in through `From<DomainError>`.

use std::borrow::Cow;

use axum::http::StatusCode;
use chrono::{DateTime, Datelike, TimeDelta, Utc};
use serde::Serialize;

use crate::domain::{DomainError, Region};

/// Graph's `error.type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum ErrorType {
    /// Nearly every Graph and WhatsApp error.
    OAuthException,
    /// Unknown objects and unsupported methods.
    GraphMethodException,
}

/// What the `WWW-Authenticate` header says about the token (OAuth errors only).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthChallenge {
    /// The request was wrong (including "no token").
    InvalidRequest,
    /// The token was wrong.
    InvalidToken,
    /// The authorization code was wrong (code exchange).
    InvalidCode,
}

/// One Graph error, ready to be rendered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GraphError {
    /// HTTP status (Meta's error-code table).
    pub status: StatusCode,
    /// `error.code`.
    pub code: u32,
    /// `error.error_subcode`, only on the generic Graph errors that carry one.
    pub subcode: Option<u32>,
    /// `error.type`.
    pub kind: ErrorType,
    /// `error.message`.
    pub message: Cow<'static, str>,
    /// `error.error_data.details`; `None` leaves `error_data` out (as captured on the generic
    /// auth and path errors).
    pub details: Option<Cow<'static, str>>,
    /// `error.is_transient`, where Meta sets it.
    pub is_transient: Option<bool>,
    /// `error.error_user_title` and `error.error_user_msg`, where Meta sets them (the
    /// 2388xxx onboarding errors). Boxed: rare, and every error is moved around.
    pub user_text: Option<Box<(Cow<'static, str>, Cow<'static, str>)>>,
    /// The `WWW-Authenticate` error word when it is not the one the code implies
    /// (`invalid_code` on the code-exchange errors).
    pub challenge_override: Option<AuthChallenge>,
}

const GRAPH_DOCS: &str =
    "Please read the Graph API documentation at https://developers.facebook.com/docs/graph-api";

/// Longest user-supplied value echoed back in a message.
const ECHO_LIMIT: usize = 100;

/// One row of Meta's Cloud API error-codes table: the status, `(#code) title` and the
/// description Meta gives for the code. Fault injection answers the row as it is; the rules'
/// own errors for the same codes take their status and message from the same row, so each
/// text exists once.
#[derive(Debug)]
struct Listed {
    code: u32,
    status: StatusCode,
    message: &'static str,
    details: &'static str,
    /// Meta marks these codes `is_transient: true`.
    transient: bool,
}

/// `1`: An unknown error occurred.
const UNKNOWN: Listed = Listed {
    code: 1,
    status: StatusCode::BAD_REQUEST,
    message: "(#1) An unknown error occurred",
    details: "Invalid request or possible server error. Retry later.",
    transient: true,
};
/// `2`: Service temporarily unavailable.
const SERVICE: Listed = Listed {
    code: 2,
    status: StatusCode::SERVICE_UNAVAILABLE,
    message: "(#2) Service temporarily unavailable",
    details: "Temporary due to downtime or due to being overloaded. Retry later.",
    transient: true,
};
/// `3`: Capability or permissions issue..
const CAPABILITY: Listed = Listed {
    code: 3,
    status: StatusCode::INTERNAL_SERVER_ERROR,
    message: "(#3) Capability or permissions issue.",
    details: "Capability or permissions issue.",
    transient: false,
};
/// `4`: Application request limit reached.
const APP_LIMIT: Listed = Listed {
    code: 4,
    status: StatusCode::BAD_REQUEST,
    message: "(#4) Application request limit reached",
    details: "The app has reached its API call rate limit.",
    transient: true,
};
/// `10`: Permission Denied.
const PERMISSION_DENIED: Listed = Listed {
    code: 10,
    status: StatusCode::FORBIDDEN,
    message: "(#10) Permission Denied",
    details: "Permission is either not granted or has been removed.",
    transient: false,
};
/// `100`: Invalid parameter.
const INVALID_PARAMETER: Listed = Listed {
    code: 100,
    status: StatusCode::BAD_REQUEST,
    message: "(#100) Invalid parameter",
    details: "The request included one or more unsupported or misspelled parameters.",
    transient: false,
};
/// `200`: Permissions error.
const PERMISSIONS: Listed = Listed {
    code: 200,
    status: StatusCode::FORBIDDEN,
    message: "(#200) Permissions error",
    details: "Permission is either not granted or has been removed.",
    transient: false,
};
/// `368`: Temporarily blocked for policies violations.
const POLICY_BLOCK: Listed = Listed {
    code: 368,
    status: StatusCode::FORBIDDEN,
    message: "(#368) Temporarily blocked for policies violations",
    details: "The WhatsApp Business Account associated with the app has been restricted or disabled for violating a platform policy.",
    transient: false,
};
/// `80007`: Rate limit issues.
const WABA_RATE_LIMIT: Listed = Listed {
    code: 80007,
    status: StatusCode::BAD_REQUEST,
    message: "(#80007) Rate limit issues",
    details: "The WhatsApp Business Account has reached its rate limit.",
    transient: false,
};
/// `80008`: too many calls to this WhatsApp Business Account (the business-use-case rate
/// limit). Not in the Cloud API table the other rows come from; the message is Meta's text for
/// the code, the status 400 as for its neighbour 80007. No `is_transient`: API-FACTS sets it
/// only on 1, 2, 4 and 131000.
const WABA_BUDGET: Listed = Listed {
    code: 80008,
    status: StatusCode::BAD_REQUEST,
    message: "(#80008) There have been too many calls to this WhatsApp Business account. Wait a bit and try again. For more info, please refer to https://developers.facebook.com/docs/graph-api/overview/rate-limiting.",
    details: "Too many calls to this WhatsApp Business Account in a short time. Wait a bit and try again.",
    transient: false,
};
/// `130429`: Rate limit hit.
const THROUGHPUT: Listed = Listed {
    code: 130429,
    status: StatusCode::BAD_REQUEST,
    message: "(#130429) Rate limit hit",
    details: "Cloud API message throughput has been reached.",
    transient: false,
};
/// `131000`: Something went wrong.
const SOMETHING_WRONG: Listed = Listed {
    code: 131000,
    status: StatusCode::INTERNAL_SERVER_ERROR,
    message: "(#131000) Something went wrong",
    details: "Message failed to send due to an unknown error.",
    transient: true,
};
/// `131005`: Access denied.
const ACCESS_DENIED: Listed = Listed {
    code: 131005,
    status: StatusCode::FORBIDDEN,
    message: "(#131005) Access denied",
    details: "Permission is either not granted or has been removed.",
    transient: false,
};
/// `131031`: Account has been locked.
const ACCOUNT_LOCKED: Listed = Listed {
    code: 131031,
    status: StatusCode::FORBIDDEN,
    message: "(#131031) Account has been locked",
    details: "The WhatsApp Business Account associated with the app has been restricted or disabled.",
    transient: false,
};
/// `133000`: Incomplete Deregistration.
const INCOMPLETE_DEREGISTRATION: Listed = Listed {
    code: 133000,
    status: StatusCode::INTERNAL_SERVER_ERROR,
    message: "(#133000) Incomplete Deregistration",
    details: "A previous deregistration attempt failed. Deregister the number again before registering.",
    transient: false,
};
/// `133004`: Server Temporarily Unavailable.
const SERVER_UNAVAILABLE: Listed = Listed {
    code: 133004,
    status: StatusCode::SERVICE_UNAVAILABLE,
    message: "(#133004) Server Temporarily Unavailable",
    details: "Server is temporarily unavailable. Check the platform status page and try again later.",
    transient: false,
};
/// `133005`: Two step verification PIN Mismatch.
const PIN_MISMATCH: Listed = Listed {
    code: 133005,
    status: StatusCode::BAD_REQUEST,
    message: "(#133005) Two step verification PIN Mismatch",
    details: "The PIN does not match the two-step verification PIN set for this phone number.",
    transient: false,
};
/// `133006`: Phone number re-verification needed.
const REVERIFICATION_NEEDED: Listed = Listed {
    code: 133006,
    status: StatusCode::BAD_REQUEST,
    message: "(#133006) Phone number re-verification needed",
    details: "The phone number needs to be verified before registering.",
    transient: false,
};
/// `133008`: Too Many two step verification PIN Guesses.
const PIN_GUESSES: Listed = Listed {
    code: 133008,
    status: StatusCode::BAD_REQUEST,
    message: "(#133008) Too Many two step verification PIN Guesses",
    details: "Too many two-step verification PIN guesses for this phone number. Try again later.",
    transient: false,
};
/// `133009`: Two step verification PIN Guessed Too Fast.
const PIN_TOO_FAST: Listed = Listed {
    code: 133009,
    status: StatusCode::BAD_REQUEST,
    message: "(#133009) Two step verification PIN Guessed Too Fast",
    details: "Two-step verification PIN was entered too quickly. Try again later.",
    transient: false,
};
/// `133010`: Account not registered.
const ACCOUNT_NOT_REGISTERED: Listed = Listed {
    code: 133010,
    status: StatusCode::BAD_REQUEST,
    message: "(#133010) Account not registered",
    details: "The phone number is not registered on the WhatsApp Business Platform.",
    transient: false,
};
/// `133015`: Please wait a few minutes before attempting to register this phone number.
const RECENTLY_DELETED: Listed = Listed {
    code: 133015,
    status: StatusCode::BAD_REQUEST,
    message: "(#133015) Please wait a few minutes before attempting to register this phone number",
    details: "The phone number you are attempting to register was recently deleted, and deletion has not yet completed. Wait 5 minutes before re-trying the request.",
    transient: false,
};
/// `133016`: Account register deregister rate limit exceeded.
const REGISTER_RATE_LIMIT: Listed = Listed {
    code: 133016,
    status: StatusCode::BAD_REQUEST,
    message: "(#133016) Account register deregister rate limit exceeded",
    details: "Registration or deregistration failed because there were too many attempts for this phone number in a short period of time.",
    transient: false,
};

/// Every listed row (190, also answerable, is the unknown-token error).
const LISTED: [&Listed; 23] = [
    &UNKNOWN,
    &SERVICE,
    &CAPABILITY,
    &APP_LIMIT,
    &PERMISSION_DENIED,
    &INVALID_PARAMETER,
    &PERMISSIONS,
    &POLICY_BLOCK,
    &WABA_RATE_LIMIT,
    &WABA_BUDGET,
    &THROUGHPUT,
    &SOMETHING_WRONG,
    &ACCESS_DENIED,
    &ACCOUNT_LOCKED,
    &INCOMPLETE_DEREGISTRATION,
    &SERVER_UNAVAILABLE,
    &PIN_MISMATCH,
    &REVERIFICATION_NEEDED,
    &PIN_GUESSES,
    &PIN_TOO_FAST,
    &ACCOUNT_NOT_REGISTERED,
    &RECENTLY_DELETED,
    &REGISTER_RATE_LIMIT,
];

impl GraphError {
    fn new(status: StatusCode, code: u32, message: impl Into<Cow<'static, str>>) -> Self {
        Self {
            status,
            code,
            subcode: None,
            kind: ErrorType::OAuthException,
            message: message.into(),
            details: None,
            is_transient: None,
            user_text: None,
            challenge_override: None,
        }
    }

    fn with_details(mut self, details: impl Into<Cow<'static, str>>) -> Self {
        self.details = Some(details.into());
        self
    }

    fn with_subcode(mut self, subcode: u32) -> Self {
        self.subcode = Some(subcode);
        self
    }

    /// No token in the header, the query or the body: 400, code 104.
    pub fn missing_token() -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            104,
            "An access token is required to request this resource.",
        )
    }

    /// A token that cannot be parsed: 401, code 190, no subcode.
    pub fn unparseable_token() -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            190,
            "Invalid OAuth access token - Cannot parse access token",
        )
    }

    /// A well-formed token the emulator never issued: 401, code 190, subcode 467.
    pub fn unknown_token() -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            190,
            "Error validating access token: The session is invalid because the user logged out.",
        )
        .with_subcode(467)
    }

    /// An expired token: 401, code 190, subcode 463, with Meta's wording and date format.
    pub fn expired_token(expired_at: DateTime<Utc>, now: DateTime<Utc>) -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            190,
            format!(
                "Error validating access token: Session has expired on {}. The current time is {}.",
                pacific_time(expired_at),
                pacific_time(now)
            ),
        )
        .with_subcode(463)
    }

    /// An unknown version or edge: 400, code 2500.
    pub fn unknown_path(rest: &str) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            2500,
            format!("Unknown path components: {}", echo(rest)),
        )
    }

    /// A method the edge does not support (e.g. `GET /register`): 400, code 100, subcode 33.
    pub fn unsupported_method(method: &str) -> Self {
        let mut error = Self::new(
            StatusCode::BAD_REQUEST,
            100,
            format!("Unsupported {} request. {GRAPH_DOCS}", method_word(method)),
        )
        .with_subcode(33);
        error.kind = ErrorType::GraphMethodException;
        error
    }

    /// An object that does not exist or that the token may not act on: 400, code 100,
    /// subcode 33 (Graph deliberately does not say which).
    pub fn unknown_object(method: &str, id: &str) -> Self {
        let mut error = Self::new(
            StatusCode::BAD_REQUEST,
            100,
            format!(
                "Unsupported {} request. Object with ID '{}' does not exist, cannot be loaded due to missing permissions, or does not support this operation. {GRAPH_DOCS}",
                method_word(method),
                echo(id)
            ),
        )
        .with_subcode(33);
        error.kind = ErrorType::GraphMethodException;
        error
    }

    /// The token lacks a permission the operation needs: 403, code 200.
    ///
    /// Generic Graph errors carry no `error_data` in captured answers, so the missing
    /// permission is not named in the body (the journal and the log still say which).
    pub fn missing_permission(permission: &str) -> Self {
        tracing::debug!(permission, "the token lacks a permission");
        Self::new(StatusCode::FORBIDDEN, 200, "(#200) Permissions error")
    }

    /// A required parameter is absent: `(#100) The parameter NAME is required.`
    pub fn missing_parameter(name: &str) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            100,
            format!("(#100) The parameter {name} is required."),
        )
        .with_details(format!("Add the {name} parameter to the request."))
    }

    /// An enumerated parameter with another value:
    /// `(#100) Param NAME must be one of {A, B} - got "VALUE".`
    pub fn not_one_of(name: &str, allowed: &[&str], got: &str) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            100,
            format!(
                "(#100) Param {name} must be one of {{{}}} - got \"{}\".",
                allowed.join(", "),
                echo(got)
            ),
        )
        .with_details(format!("Use one of: {}.", allowed.join(", ")))
    }

    /// Any other invalid input: `(#100) Invalid parameter` with the reason in `details`.
    pub fn invalid_parameter(details: impl Into<Cow<'static, str>>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, 100, "(#100) Invalid parameter").with_details(details)
    }

    /// `data_localization_region` on register for v21.0+ when the emulator is told to follow
    /// Meta's newer pages: 400, code 12.
    pub fn deprecated_region_parameter() -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            12,
            "(#12) Deprecated for versions v21.0 or higher",
        )
        .with_details(
            "data_localization_region on register is deprecated for v21.0 and later: set local storage with POST /{PHONE_NUMBER_ID}/settings while the number is unregistered, then register without it.",
        )
    }

    /// Register before Meta could make the number's certificate: 400, 100/2388001 "Cannot
    /// Create Certificate" with `user_msg` (captured on register right after signup).
    fn certificate_error(user_msg: &'static str) -> Self {
        let mut error =
            Self::new(StatusCode::BAD_REQUEST, 100, "Invalid parameter").with_subcode(2388001);
        error.is_transient = Some(false);
        error.user_text = Some(Box::new((
            "Cannot Create Certificate".into(),
            user_msg.into(),
        )));
        error
    }

    /// A code-exchange refusal with its subcode and `WWW-Authenticate: ... "invalid_code"`.
    fn code_exchange_error(subcode: u32, message: &'static str) -> Self {
        let mut error = Self::new(StatusCode::BAD_REQUEST, 100, message).with_subcode(subcode);
        error.challenge_override = Some(AuthChallenge::InvalidCode);
        error
    }

    /// `oauth/access_token` with a code the emulator never issued (or issued to another
    /// app): 400, code 100, `Invalid verification code format.`
    pub fn unknown_auth_code() -> Self {
        let mut error = Self::new(
            StatusCode::BAD_REQUEST,
            100,
            "Invalid verification code format.",
        );
        error.challenge_override = Some(AuthChallenge::InvalidCode);
        error
    }

    /// `oauth/access_token` without `client_id`: 400, code 101.
    pub fn missing_client_id() -> Self {
        Self::new(StatusCode::BAD_REQUEST, 101, "Missing client_id parameter.")
    }

    /// `oauth/access_token` for an app the emulator does not know: 400, code 101.
    pub fn unknown_application() -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            101,
            "Error validating application. Invalid application ID.",
        )
    }

    /// `oauth/access_token` with a wrong (or missing) `client_secret`: 400, code 1.
    pub fn wrong_client_secret() -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            1,
            "Error validating client secret.",
        )
    }

    /// `oauth/access_token` with neither `code` nor a known `grant_type`: 400, code 100.
    pub fn missing_auth_code() -> Self {
        Self::new(StatusCode::BAD_REQUEST, 100, "Missing code parameter.")
    }

    /// A callback that failed the verification handshake: 400, code 2200, with the detail
    /// as captured (`HTTP Status Code = 404; HTTP Message = Not Found`, `curl_errno = 28; ...`).
    pub fn callback_verification_failed(detail: &str) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            2200,
            format!("(#2200) Callback verification failed with the following errors: {detail}"),
        )
    }

    /// `/{APP_ID}/subscriptions` without that app's token: 400, code 15.
    pub fn app_token_call_only() -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            15,
            "(#15) This method must be called with an app access_token.",
        )
    }

    /// `debug_token` called without an app token: 400, code 100 (captured).
    pub fn app_token_required() -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            100,
            "(#100) You must provide an app access token, or a user access token that is an owner or developer of the app",
        )
    }

    /// The WABA's hourly budget is spent: 400, code 80008 (Meta's rate-limiting page).
    pub fn waba_budget_spent() -> Self {
        Self::listed(&WABA_BUDGET)
    }

    /// A send from a number that is not registered: 400, code 133010, exactly as captured
    /// from the live API (no `error_data`, no subcode).
    pub fn account_not_registered() -> Self {
        Self::listed(&ACCOUNT_NOT_REGISTERED)
    }

    /// The error Meta sends for `code`, for fault injection; `None` for codes not in
    /// [`crate::domain::CATALOG_CODES`].
    pub fn catalog(code: u32) -> Option<Self> {
        if code == 190 {
            return Some(Self::unknown_token());
        }
        let row = LISTED.iter().find(|row| row.code == code)?;
        let mut error = Self::listed(row).with_details(row.details);
        if row.transient {
            error.is_transient = Some(true);
        }
        Some(error)
    }

    /// A row's status, code and message, without details: what a rule's error starts from.
    fn listed(row: &Listed) -> Self {
        Self::new(row.status, row.code, row.message)
    }

    /// A `fields` entry that is not a field of the node: 400, code 100.
    pub fn nonexisting_field(name: &str, node_type: &str) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            100,
            format!(
                "(#100) Tried accessing nonexisting field ({}) on node type ({node_type})",
                echo(name)
            ),
        )
    }

    /// The `WWW-Authenticate` challenge for this error, if it is an OAuth error.
    pub fn challenge(&self) -> Option<AuthChallenge> {
        if self.challenge_override.is_some() {
            return self.challenge_override;
        }
        match (self.kind, self.code) {
            (ErrorType::GraphMethodException, _) => None,
            (ErrorType::OAuthException, 190) => Some(AuthChallenge::InvalidToken),
            (ErrorType::OAuthException, _) => Some(AuthChallenge::InvalidRequest),
        }
    }

    /// The JSON body, with `fbtrace_id`, in Graph's field order. Written piece by piece (the
    /// strings escaped by serde_json) into one buffer sized for it: every error answer runs
    /// this, including the 133016 a rate-limited client hammers. A test checks it against the
    /// derived serialisation.
    pub fn body(&self, fbtrace_id: &str) -> Vec<u8> {
        let details = self.details.as_deref();
        let mut body = Vec::with_capacity(
            160 + self.message.len() + details.map_or(0, str::len) + fbtrace_id.len(),
        );
        body.extend_from_slice(br#"{"error":{"message":"#);
        push_json_string(&mut body, &self.message);
        body.extend_from_slice(br#","type":""#);
        body.extend_from_slice(self.kind.as_str().as_bytes());
        body.extend_from_slice(br#"","code":"#);
        body.extend_from_slice(itoa::Buffer::new().format(self.code).as_bytes());
        if let Some(subcode) = self.subcode {
            body.extend_from_slice(br#","error_subcode":"#);
            body.extend_from_slice(itoa::Buffer::new().format(subcode).as_bytes());
        }
        if let Some(transient) = self.is_transient {
            body.extend_from_slice(if transient {
                br#","is_transient":true"#
            } else {
                br#","is_transient":false"#
            });
        }
        if let Some((title, text)) = self.user_text.as_deref() {
            body.extend_from_slice(br#","error_user_title":"#);
            push_json_string(&mut body, title);
            body.extend_from_slice(br#","error_user_msg":"#);
            push_json_string(&mut body, text);
        }
        if let Some(details) = details {
            body.extend_from_slice(br#","error_data":{"messaging_product":"whatsapp","details":"#);
            push_json_string(&mut body, details);
            body.push(b'}');
        }
        body.extend_from_slice(br#","fbtrace_id":"#);
        push_json_string(&mut body, fbtrace_id);
        body.extend_from_slice(b"}}");
        body
    }
}

impl ErrorType {
    /// The name Graph writes in `error.type`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::OAuthException => "OAuthException",
            Self::GraphMethodException => "GraphMethodException",
        }
    }
}

/// Appends `text` as a JSON string (quoted and escaped).
fn push_json_string(out: &mut Vec<u8>, text: &str) {
    // Writing a &str into a Vec cannot fail.
    let _ = serde_json::to_writer(&mut *out, text);
}

/// The table: business-rule failures to Meta's codes.
impl From<DomainError> for GraphError {
    fn from(error: DomainError) -> Self {
        use StatusCode as S;
        match error {
            DomainError::InvalidPin => GraphError::invalid_parameter(
                "PIN must be exactly 6 digits (a string such as \"123456\").",
            ),
            DomainError::InvalidRegion(got) => GraphError::invalid_parameter(format!(
                "data_localization_region \"{}\" is not supported. Valid values: {}.",
                echo(&got),
                Region::ALL.join(", ")
            )),
            DomainError::NotVerified => {
                Self::listed(&REVERIFICATION_NEEDED)
                    .with_details(
                        "The phone number needs to be verified before registering: request a code with POST /{PHONE_NUMBER_ID}/request_code, then send it to /verify_code.",
                    )
            }
            DomainError::PinMismatch => Self::listed(&PIN_MISMATCH).with_details(PIN_MISMATCH.details),
            DomainError::PinLocked { until, remaining } => Self::listed(&PIN_GUESSES)
            .with_details(format!(
                "Too many two-step verification PIN guesses for this phone number. Try again in {} (after {}).",
                human_duration(remaining),
                utc_seconds(until)
            )),
            DomainError::RegionChangeWhileRegistered { current, requested } => {
                GraphError::invalid_parameter(format!(
                    "data_localization_region cannot change while the phone number is registered (current: {}, requested: {requested}). Deregister the phone number first, then register it with the new region.",
                    current.map_or("default storage", Region::code)
                ))
            }
            DomainError::NotRegistered => Self::new(
                S::BAD_REQUEST,
                100,
                "Phone number not registered on the WhatsApp Business Platform.",
            ),
            DomainError::CoexistenceDeregister => Self::new(
                S::BAD_REQUEST,
                100,
                "Deregister endpoint is not available for API solution for SMB businesses.",
            ),
            DomainError::RateLimited { until, window } => {
                Self::listed(&REGISTER_RATE_LIMIT).with_details(rate_limited_details(until, window))
            }
            DomainError::MalformedVerificationCode => GraphError::invalid_parameter(
                "code must be the 6-digit verification code (a string such as \"123456\").",
            ),
            DomainError::NoVerificationCodeRequested => GraphError::invalid_parameter(
                "No verification code is pending for this phone number: request one with POST /{PHONE_NUMBER_ID}/request_code.",
            ),
            DomainError::VerificationCodeExpired { expired_at } => {
                GraphError::invalid_parameter(format!(
                    "The verification code expired at {}: request a new one with POST /{{PHONE_NUMBER_ID}}/request_code.",
                    utc_seconds(expired_at)
                ))
            }
            DomainError::WrongVerificationCode => GraphError::invalid_parameter(
                "The verification code is incorrect: send the code from the latest request_code.",
            ),
            DomainError::LocalStorageWhileRegistered => GraphError::invalid_parameter(
                "Local storage can only be changed on an unregistered phone number",
            ),
            DomainError::LocalStorageCoexistence => GraphError::invalid_parameter(
                "Local storage is not available for phone numbers shared with the WhatsApp Business app (coexistence).",
            ),
            DomainError::InvalidCountryCode(got) => GraphError::invalid_parameter(format!(
                "cc \"{}\" is not a country calling code: send 1 to 3 digits, e.g. \"1\" or \"49\".",
                echo(&got)
            )),
            DomainError::InvalidPhoneNumber(got) => GraphError::invalid_parameter(format!(
                "phone_number \"{}\" is not a phone number: send the national number as digits (at most 15 digits with cc).",
                echo(&got)
            )),
            DomainError::InvalidVerifiedName { chars } => GraphError::invalid_parameter(format!(
                "verified_name must be 2 to 75 characters (got {chars})."
            )),
            DomainError::DuplicateNumber { display } => GraphError::invalid_parameter(format!(
                "The phone number {} already exists in a WhatsApp Business Account.",
                echo(&display)
            )),
            DomainError::BackupRequired => GraphError::missing_parameter("backup"),
            DomainError::SmbRegister => Self::new(
                S::BAD_REQUEST,
                100,
                "Register endpoint is not available for SMB businesses.",
            ),
            DomainError::DisplayNameNotProcessed => Self::certificate_error(
                "Your display name could not be processed. Please edit your display name and try again.",
            ),
            DomainError::OnConsumerAccount => Self::certificate_error(
                "This number is registered to an existing WhatsApp account. To use this number, disconnect it from the existing account.",
            ),
            DomainError::HeldByOtherPartner => {
                let mut error = Self::new(S::BAD_REQUEST, 100, "(#100) Invalid parameter")
                    .with_subcode(3441030);
                error.is_transient = Some(false);
                error.user_text = Some(Box::new((
                    "Phone number already registered".into(),
                    "The phone number you entered is already registered with another partner's WhatsApp Business Account. To use it here, the current partner must deregister it first.".into(),
                )));
                error
            }
            DomainError::AuthCodeUsed => {
                Self::code_exchange_error(36009, "This authorization code has been used.")
            }
            DomainError::AuthCodeExpired => {
                Self::code_exchange_error(36007, "This authorization code has expired.")
            }
            DomainError::OverrideBeforeSubscription => Self::new(
                S::BAD_REQUEST,
                100,
                "(#100) Before override the current callback uri, your app must be subscribed to receive messages for WhatsApp Business Account",
            ),
            DomainError::NoNameReview => GraphError::invalid_parameter(
                "No display-name review is pending for this phone number.",
            ),
            DomainError::InvalidLanguage(got) => GraphError::invalid_parameter(format!(
                "language \"{}\" is not a language code: send one of WhatsApp's supported languages, such as \"en\", \"en_US\", \"fil\" or \"es_419\".",
                echo(&got)
            )),
        }
    }
}

/// `post`, `get`, `delete`… as Graph writes the method in "Unsupported … request".
fn method_word(method: &str) -> String {
    echo(method).to_ascii_lowercase()
}

/// A user-supplied value, shortened so a hostile input cannot blow up a message or header.
fn echo(value: &str) -> Cow<'_, str> {
    match value.char_indices().nth(ECHO_LIMIT) {
        Some((cut, _)) => Cow::Owned(format!("{}...", &value[..cut])),
        None => Cow::Borrowed(value),
    }
}

/// An instant as Graph-style UTC text, `2026-12-04T17:18:30Z`. Not `format("%Y-…")`, which
/// parses its pattern on every call: the 133016 answer is on the rate limiter's hot path.
fn utc_seconds(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// "1 hour", "59 minutes", "30 seconds": the largest whole unit, rounded up.
pub fn human_duration(delta: TimeDelta) -> String {
    let mut text = String::new();
    push_human_duration(&mut text, delta);
    text
}

/// [`human_duration`] appended to `text`, without the formatting machinery: the 133016 a
/// rate-limited client hammers names its window this way on every answer.
fn push_human_duration(text: &mut String, delta: TimeDelta) {
    let secs = delta.num_seconds().max(0) + i64::from(delta.subsec_nanos() > 0);
    let (value, unit) = if secs >= 3600 && secs % 3600 == 0 {
        (secs / 3600, "hour")
    } else if secs >= 60 {
        ((secs + 59) / 60, "minute")
    } else {
        (secs, "second")
    };
    text.push_str(itoa::Buffer::new().format(value));
    text.push(' ');
    text.push_str(unit);
    if value != 1 {
        text.push('s');
    }
}

/// The 133016 details: the configured window and the end of the block.
fn rate_limited_details(until: DateTime<Utc>, window: TimeDelta) -> String {
    const BEFORE: &str =
        "Too many register or deregister requests for this phone number in the last ";
    const MIDDLE: &str = ". This operation is blocked until ";
    let until = utc_seconds(until);
    let mut text = String::with_capacity(BEFORE.len() + 16 + MIDDLE.len() + until.len() + 1);
    text.push_str(BEFORE);
    push_human_duration(&mut text, window);
    text.push_str(MIDDLE);
    text.push_str(&until);
    text.push('.');
    text
}

/// Meta's token-expiry wording: `Monday, 24-Oct-16 21:00:00 PDT` in US Pacific time.
fn pacific_time(instant: DateTime<Utc>) -> String {
    let (offset_hours, zone) = if in_us_daylight_time(instant) {
        (-7, "PDT")
    } else {
        (-8, "PST")
    };
    let local = instant.naive_utc() + TimeDelta::hours(offset_hours);
    format!("{} {zone}", local.format("%A, %d-%b-%y %H:%M:%S"))
}

/// US daylight time: from 02:00 local on the second Sunday of March to 02:00 local on the
/// first Sunday of November (10:00 and 09:00 UTC in Pacific time).
fn in_us_daylight_time(instant: DateTime<Utc>) -> bool {
    let year = instant.year();
    let nth_sunday = |month: u32, n: u32| {
        let first = chrono::NaiveDate::from_ymd_opt(year, month, 1).unwrap_or_default();
        let offset = (7 - first.weekday().num_days_from_sunday()) % 7;
        first + TimeDelta::days(i64::from(offset + 7 * (n - 1)))
    };
    let start = nth_sunday(3, 2).and_hms_opt(10, 0, 0).unwrap_or_default();
    let end = nth_sunday(11, 1).and_hms_opt(9, 0, 0).unwrap_or_default();
    let naive = instant.naive_utc();
    naive >= start && naive < end
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text).unwrap().to_utc()
    }

    /// The body as serde would derive it: the reference the hand-written one must match
    /// byte for byte.
    fn derived_body(error: &GraphError, fbtrace_id: &str) -> Vec<u8> {
        #[derive(Serialize)]
        struct Envelope<'a> {
            error: Body<'a>,
        }
        #[derive(Serialize)]
        struct Body<'a> {
            message: &'a str,
            #[serde(rename = "type")]
            kind: ErrorType,
            code: u32,
            #[serde(skip_serializing_if = "Option::is_none")]
            error_subcode: Option<u32>,
            #[serde(skip_serializing_if = "Option::is_none")]
            is_transient: Option<bool>,
            #[serde(skip_serializing_if = "Option::is_none")]
            error_user_title: Option<&'a str>,
            #[serde(skip_serializing_if = "Option::is_none")]
            error_user_msg: Option<&'a str>,
            #[serde(skip_serializing_if = "Option::is_none")]
            error_data: Option<ErrorData<'a>>,
            fbtrace_id: &'a str,
        }
        #[derive(Serialize)]
        struct ErrorData<'a> {
            messaging_product: &'static str,
            details: &'a str,
        }
        serde_json::to_vec(&Envelope {
            error: Body {
                message: &error.message,
                kind: error.kind,
                code: error.code,
                error_subcode: error.subcode,
                is_transient: error.is_transient,
                error_user_title: error.user_text.as_deref().map(|(title, _)| title.as_ref()),
                error_user_msg: error.user_text.as_deref().map(|(_, text)| text.as_ref()),
                error_data: error.details.as_deref().map(|details| ErrorData {
                    messaging_product: "whatsapp",
                    details,
                }),
                fbtrace_id,
            },
        })
        .unwrap()
    }

    #[test]
    fn the_written_body_matches_the_derived_serialisation() {
        let mut errors: Vec<GraphError> = crate::domain::CATALOG_CODES
            .iter()
            .filter_map(|code| GraphError::catalog(*code))
            .collect();
        errors.extend([
            GraphError::from(DomainError::RateLimited {
                until: parse("2026-12-04T17:18:30Z"),
                window: TimeDelta::hours(72),
            }),
            GraphError::unknown_object("POST", "12\"3\n\u{1}é"),
            GraphError::expired_token(parse("2016-10-25T04:00:00Z"), parse("2016-10-25T04:08:52Z")),
            GraphError::invalid_parameter("quote \" backslash \\ tab \t"),
            GraphError::from(DomainError::DisplayNameNotProcessed),
        ]);
        let mut transient = GraphError::missing_token();
        transient.is_transient = Some(false);
        errors.push(transient);
        assert!(errors.iter().any(|error| error.subcode.is_some()));
        assert!(errors.iter().any(|error| error.is_transient == Some(true)));
        assert!(errors.iter().any(|error| error.details.is_some()));
        for error in &errors {
            let written = error.body("AbC-_x\"1");
            assert_eq!(
                String::from_utf8(written).unwrap(),
                String::from_utf8(derived_body(error, "AbC-_x\"1")).unwrap()
            );
        }
        assert!(
            String::from_utf8(
                GraphError::from(DomainError::RateLimited {
                    until: parse("2026-12-04T17:18:30Z"),
                    window: TimeDelta::hours(72),
                })
                .body("A")
            )
            .unwrap()
            .contains("blocked until 2026-12-04T17:18:30Z.")
        );
    }

    #[test]
    fn the_catalog_answers_exactly_the_listed_codes() {
        for code in crate::domain::CATALOG_CODES {
            let error = GraphError::catalog(code).expect("a listed code");
            assert_eq!(error.code, code);
        }
        for row in LISTED {
            assert!(
                crate::domain::CATALOG_CODES.contains(&row.code),
                "{}",
                row.code
            );
            assert!(row.message.starts_with(&format!("(#{}) ", row.code)));
        }
        assert!(GraphError::catalog(999).is_none());
        // A rule's error and the injected one share the row's message.
        let limited = GraphError::from(DomainError::RateLimited {
            until: parse("2026-12-04T17:18:30Z"),
            window: TimeDelta::hours(72),
        });
        assert_eq!(
            limited.message,
            GraphError::catalog(133016).unwrap().message
        );
    }

    #[test]
    fn the_133016_details_name_the_configured_window() {
        let error = GraphError::from(DomainError::RateLimited {
            until: parse("2026-12-04T17:18:30Z"),
            window: TimeDelta::minutes(90),
        });
        assert_eq!(
            error.details.as_deref(),
            Some(
                "Too many register or deregister requests for this phone number in the last 90 minutes. This operation is blocked until 2026-12-04T17:18:30Z."
            )
        );
    }

    #[test]
    fn expired_token_message_uses_meta_wording_and_pacific_time() {
        let error =
            GraphError::expired_token(parse("2016-10-25T04:00:00Z"), parse("2016-10-25T04:08:52Z"));
        assert_eq!(
            error.message,
            "Error validating access token: Session has expired on Monday, 24-Oct-16 21:00:00 PDT. The current time is Monday, 24-Oct-16 21:08:52 PDT."
        );
        assert_eq!(
            (error.status, error.code, error.subcode),
            (StatusCode::UNAUTHORIZED, 190, Some(463))
        );
        let winter =
            GraphError::expired_token(parse("2026-01-10T20:00:00Z"), parse("2026-01-10T20:00:00Z"));
        assert!(
            winter.message.contains("Saturday, 10-Jan-26 12:00:00 PST"),
            "{}",
            winter.message
        );
    }

    #[test]
    fn bodies_follow_the_documented_envelope() {
        let body: serde_json::Value =
            serde_json::from_slice(&GraphError::from(DomainError::PinMismatch).body("Atrace"))
                .unwrap();
        assert_eq!(
            body,
            serde_json::json!({"error": {
                "message": "(#133005) Two step verification PIN Mismatch",
                "type": "OAuthException",
                "code": 133005,
                "error_data": {"messaging_product": "whatsapp", "details": "The PIN does not match the two-step verification PIN set for this phone number."},
                "fbtrace_id": "Atrace"
            }})
        );
        let generic: serde_json::Value =
            serde_json::from_slice(&GraphError::unknown_object("POST", "42").body("A")).unwrap();
        assert_eq!(generic["error"]["type"], "GraphMethodException");
        assert_eq!(generic["error"]["error_subcode"], 33);
        assert!(generic["error"].get("error_data").is_none());
        assert!(
            generic["error"]["message"]
                .as_str()
                .unwrap()
                .starts_with("Unsupported post request. Object with ID '42' does not exist")
        );
    }

    #[test]
    fn long_user_values_are_shortened() {
        let long = "x".repeat(10_000);
        assert!(GraphError::unknown_path(&long).message.len() < 200);
    }

    #[test]
    fn durations_read_naturally() {
        assert_eq!(human_duration(TimeDelta::hours(1)), "1 hour");
        assert_eq!(human_duration(TimeDelta::minutes(40)), "40 minutes");
        assert_eq!(human_duration(TimeDelta::seconds(61)), "2 minutes");
        assert_eq!(human_duration(TimeDelta::seconds(1)), "1 second");
        assert_eq!(human_duration(TimeDelta::hours(72)), "72 hours");
    }

    #[test]
    fn oauth_errors_carry_a_challenge() {
        assert_eq!(
            GraphError::missing_token().challenge(),
            Some(AuthChallenge::InvalidRequest)
        );
        assert_eq!(
            GraphError::unknown_token().challenge(),
            Some(AuthChallenge::InvalidToken)
        );
        assert_eq!(GraphError::unknown_object("GET", "1").challenge(), None);
    }
}
