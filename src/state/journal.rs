//! The request journal: every Graph request the emulator answered, newest last, capped.

use std::collections::VecDeque;

use axum::http::{HeaderMap, Method, StatusCode, header};
use bytes::Bytes;
use chrono::{DateTime, Utc};
use parking_lot::Mutex;
use serde::Serialize;
use serde_json::{Map, Value};

use crate::domain::{ParamValue, Params};

/// What the request path records, as plain data: the parts of the exchange it already owns,
/// moved, the answer's status and body bytes (shared with the response, not copied), and the
/// path and journaled header values copied into one [`RequestText`]; turned into a
/// [`JournalEntry`] (masking the parameters, parsing the body) only when read.
#[derive(Debug, Clone)]
pub struct JournalRecord {
    /// Arrival instant on the emulator's clock.
    pub at: DateTime<Utc>,
    /// HTTP method.
    pub method: Method,
    /// The path and the journaled headers as received, the token already masked.
    pub request: RequestText,
    /// Requested version.
    pub version: Option<&'static str>,
    /// Serving version.
    pub served_version: &'static str,
    /// Node id.
    pub number: Option<compact_str::CompactString>,
    /// Operation name.
    pub operation: Option<&'static str>,
    /// Parameters (secrets are masked when read).
    pub params: Params,
    /// The answer's status.
    pub status: StatusCode,
    /// The answer's body, exactly as sent.
    pub body: Bytes,
    /// The response's `x-fb-request-id` (`fbtrace_id`), copied: 23 characters fit inline,
    /// and holding the shared id buffer would free it cold when the record is evicted.
    pub request_id: compact_str::CompactString,
    /// The clock the request was judged by.
    pub judged_by: super::JudgedBy,
    /// Whether the request ran against the state (it reached its endpoint: past the path,
    /// the token and any fault that kept it from running).
    pub applied: bool,
    /// The fault that shaped the answer, with what the run itself answered when the fault
    /// answered something else.
    pub fault: Option<FaultMark>,
    /// What the client got.
    pub delivery: Delivery,
}

/// The fault that shaped one request's answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FaultMark {
    /// The fault's id.
    pub id: u64,
    /// The status and error code the run itself produced, when it ran and the client was
    /// given a fault's error instead.
    pub outcome: Option<(StatusCode, Option<u32>)>,
}

/// What the client got from one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Delivery {
    /// The answer was written.
    Answered,
    /// The connection was closed (HTTP/2: the stream reset) without an answer.
    Dropped,
    /// The connection was reset without an answer.
    Reset,
    /// No answer was ever written: the request was held until the client gave up (or the
    /// emulator stopped).
    Hung,
    /// The client went away before the delayed answer was due.
    Abandoned,
}

/// How many request headers the journal shows.
const JOURNALED_HEADER_COUNT: usize = 4;

/// Request headers the journal shows.
pub const JOURNALED_HEADERS: [header::HeaderName; JOURNALED_HEADER_COUNT] = [
    header::AUTHORIZATION,
    header::CONTENT_TYPE,
    header::USER_AGENT,
    header::CONTENT_LENGTH,
];

/// Where `Authorization` is in [`JOURNALED_HEADERS`].
const AUTHORIZATION_INDEX: usize = 0;

/// Longest path and header value the journal keeps, in characters.
const SHOWN_PATH_CHARS: usize = 512;
const SHOWN_HEADER_CHARS: usize = 200;

/// The request path and the [`JOURNALED_HEADERS`] values (the token masked), cut to their
/// journal lengths, in one allocation. Copied rather than referenced: the request's own
/// strings are slices of the connection's read buffer, and keeping them would stop the server
/// from reusing it.
#[derive(Debug, Clone)]
pub struct RequestText {
    text: Box<str>,
    /// End of the path, then of each header value, in `text`.
    ends: [u32; 1 + JOURNALED_HEADER_COUNT],
    /// Bit `i` set when header `i` was present.
    present: u8,
}

impl RequestText {
    /// Copies what the journal keeps of a request.
    pub fn new(path: &str, headers: &HeaderMap) -> Self {
        let path = cut(path, SHOWN_PATH_CHARS);
        // One walk over the request's few headers, keeping the first value of each journaled
        // one (as `HeaderMap::get` would): four lookups hashed and probed the map four times.
        let mut values: [Option<Shown>; JOURNALED_HEADER_COUNT] = Default::default();
        for (name, value) in headers {
            let Some(index) = JOURNALED_HEADERS
                .iter()
                .position(|journaled| journaled == name)
            else {
                continue;
            };
            if values[index].is_some() {
                continue;
            }
            let value = value.to_str().unwrap_or("<binary>");
            values[index] = Some(if index == AUTHORIZATION_INDEX {
                // Masked now, from the whole value: the journal never holds a token, and the
                // length it shows is the token's own, not that of a cut copy.
                Shown::Masked(MaskedAuthorization::of(value))
            } else {
                Shown::Plain(cut(value, SHOWN_HEADER_CHARS))
            });
        }
        // Sized exactly, so the text is written without growing and boxed without shrinking.
        let length = path.len() + values.iter().flatten().map(Shown::len).sum::<usize>();
        let mut text = String::with_capacity(length);
        let mut ends = [0; 1 + JOURNALED_HEADER_COUNT];
        let mut present = 0;
        text.push_str(path);
        ends[0] = end_of(&text);
        for (index, value) in values.iter().enumerate() {
            if let Some(value) = value {
                value.push_to(&mut text);
                present |= 1 << index;
            }
            ends[index + 1] = end_of(&text);
        }
        debug_assert_eq!(text.len(), length);
        Self {
            text: text.into_boxed_str(),
            ends,
            present,
        }
    }

    /// The path (without the query).
    pub fn path(&self) -> &str {
        &self.text[..self.ends[0] as usize]
    }

    /// The value of `JOURNALED_HEADERS[index]`, when it was sent.
    fn header(&self, index: usize) -> Option<&str> {
        (self.present & (1 << index) != 0)
            .then(|| &self.text[self.ends[index] as usize..self.ends[index + 1] as usize])
    }
}

/// A journaled header value as shown.
enum Shown<'a> {
    Plain(&'a str),
    Masked(MaskedAuthorization<'a>),
}

impl Shown<'_> {
    fn len(&self) -> usize {
        match self {
            Self::Plain(text) => text.len(),
            Self::Masked(masked) => masked.len(),
        }
    }

    fn push_to(&self, text: &mut String) {
        match self {
            Self::Plain(value) => text.push_str(value),
            Self::Masked(masked) => masked.push_to(text),
        }
    }
}

/// An `Authorization` value as the journal shows it: the scheme, then the token masked (see
/// [`MaskedToken`]).
struct MaskedAuthorization<'a> {
    scheme: Option<&'a str>,
    token: MaskedToken<'a>,
}

impl<'a> MaskedAuthorization<'a> {
    fn of(value: &'a str) -> Self {
        match value.split_once(' ') {
            Some((scheme, token)) => Self {
                scheme: Some(cut(scheme, SHOWN_HEADER_CHARS)),
                token: MaskedToken::of(token.trim()),
            },
            None => Self {
                scheme: None,
                token: MaskedToken::of(value),
            },
        }
    }

    fn len(&self) -> usize {
        self.scheme.map_or(0, |scheme| scheme.len() + 1) + self.token.len()
    }

    fn push_to(&self, text: &mut String) {
        if let Some(scheme) = self.scheme {
            text.push_str(scheme);
            text.push(' ');
        }
        self.token.push_to(text);
    }
}

/// A token as its first six characters and its length in characters: `EAAJb1… (212 chars)`.
/// Written straight into the record's text without the formatting machinery: this runs on
/// every journaled request.
struct MaskedToken<'a> {
    prefix: &'a str,
    chars: usize,
}

impl<'a> MaskedToken<'a> {
    const AFTER_PREFIX: &'static str = "\u{2026} (";
    const AFTER_COUNT: &'static str = " chars)";

    fn of(token: &'a str) -> Self {
        let chars = if token.is_ascii() {
            token.len()
        } else {
            token.chars().count()
        };
        Self {
            prefix: cut(token, 6),
            chars,
        }
    }

    fn len(&self) -> usize {
        let digits = self
            .chars
            .checked_ilog10()
            .map_or(1, |log| log as usize + 1);
        self.prefix.len() + Self::AFTER_PREFIX.len() + digits + Self::AFTER_COUNT.len()
    }

    fn push_to(&self, text: &mut String) {
        text.push_str(self.prefix);
        text.push_str(Self::AFTER_PREFIX);
        text.push_str(itoa::Buffer::new().format(self.chars));
        text.push_str(Self::AFTER_COUNT);
    }
}

/// At most `max` characters of `text` (cut on a character boundary).
fn cut(text: &str, max: usize) -> &str {
    if text.len() <= max {
        return text;
    }
    match text.char_indices().nth(max) {
        Some((at, _)) => &text[..at],
        None => text,
    }
}

/// The text's length as a `u32` (paths and values are cut far below 4 GiB).
fn end_of(text: &str) -> u32 {
    u32::try_from(text.len()).unwrap_or(u32::MAX)
}

impl JournalRecord {
    /// The run's own status and error code, when it ran.
    fn outcome(&self, error_code: Option<u32>) -> Option<Outcome> {
        if !self.applied {
            return None;
        }
        let (status, error_code) = match self.fault.and_then(|fault| fault.outcome) {
            Some((status, code)) => (status, code),
            None => (self.status, error_code),
        };
        Some(Outcome {
            status: status.as_u16(),
            error_code,
        })
    }

    fn view(&self, seq: u64) -> JournalEntry {
        let mut response: Value = serde_json::from_slice(&self.body).unwrap_or_default();
        // A code exchange answers a new token: masked like the tokens of the requests.
        if let Some(token) = response.get_mut("access_token")
            && let Some(text) = token.as_str()
        {
            *token = Value::String(mask_token(text));
        }
        // Read from the body, so the journal shows exactly what the client got.
        let error = response.get("error");
        let error_code = error
            .and_then(|error| error.get("code"))
            .and_then(Value::as_u64)
            .and_then(|code| u32::try_from(code).ok());
        let error_message = error
            .and_then(|error| error.get("message"))
            .and_then(Value::as_str)
            .map(str::to_owned);
        JournalEntry {
            seq,
            at: self.at,
            method: self.method.as_str().to_owned(),
            path: self.request.path().to_owned(),
            version: self.version.map(str::to_owned),
            served_version: self.served_version.to_owned(),
            number: self.number.as_ref().map(ToString::to_string),
            operation: self.operation.map(str::to_owned),
            headers: shown_headers(&self.request),
            params: masked_params(self.params.iter()),
            status: if self.body.is_empty() {
                0
            } else {
                self.status.as_u16()
            },
            outcome: self.outcome(error_code),
            error_code,
            error_message,
            fbtrace_id: self.request_id.to_string(),
            clock: self.judged_by.label(),
            response,
            applied: self.applied,
            fault_id: self.fault.map(|fault| fault.id),
            delivery: self.delivery,
        }
    }
}

/// The journaled headers as shown (the token was masked when recorded).
fn shown_headers(request: &RequestText) -> Map<String, Value> {
    JOURNALED_HEADERS
        .iter()
        .enumerate()
        .filter_map(|(index, name)| {
            let value = request.header(index)?;
            Some((name.as_str().to_owned(), Value::String(value.to_owned())))
        })
        .collect()
}

/// One journaled request and its answer.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct JournalEntry {
    /// Sequence number, increasing from 1 (survives `clear`).
    pub seq: u64,
    /// When it arrived, on the emulator's clock.
    pub at: DateTime<Utc>,
    /// HTTP method.
    pub method: String,
    /// Path without the query string.
    pub path: String,
    /// The version the path asked for (`null` when unversioned or unknown).
    pub version: Option<String>,
    /// The version that served it.
    pub served_version: String,
    /// The node id in the path (a phone number or WABA id).
    pub number: Option<String>,
    /// `register`, `deregister`, … or `node` for the node itself.
    pub operation: Option<String>,
    /// Selected request headers; the token is masked.
    pub headers: Map<String, Value>,
    /// Parameters (query and body merged); PINs, codes and tokens masked.
    pub params: Map<String, Value>,
    /// Status of the answer the emulator settled on: the request's own, or a fault's error.
    /// It reached the client only when `delivery` is `answered`; 0 when there was none (a
    /// fault kept the request from running and answered nothing).
    pub status: u16,
    /// Graph `error.code`, when it failed.
    pub error_code: Option<u32>,
    /// Graph `error.message`, when it failed.
    pub error_message: Option<String>,
    /// The response's `fbtrace_id` / `x-fb-request-id`.
    pub fbtrace_id: String,
    /// The response body.
    pub response: Value,
    /// The clock the request was judged by: `emulator`, or `namespace:<id>` for a namespace
    /// whose clock is set apart.
    pub clock: String,
    /// Whether the request ran against the state (and, for register and deregister, counted
    /// toward the limit), whatever the client got.
    pub applied: bool,
    /// What the run itself answered, when it ran (`null` otherwise): differs from `status`
    /// when a fault answered an error instead.
    pub outcome: Option<Outcome>,
    /// The id of the fault that shaped the answer, if any.
    pub fault_id: Option<u64>,
    /// What the client got: `answered`, `dropped`, `reset`, `hung` or `abandoned` (it left
    /// before a delayed answer was due).
    pub delivery: Delivery,
}

/// What a request's run answered.
#[derive(Debug, Clone, Copy, Serialize, PartialEq, Eq)]
pub struct Outcome {
    /// HTTP status.
    pub status: u16,
    /// Graph `error.code`, when it failed.
    pub error_code: Option<u32>,
}

/// How many journaled requests match a filter, by what happened to them: the evidence for
/// "how many times did register take effect" and "how many answers did the client get".
#[derive(Debug, Clone, Copy, Default, Serialize, PartialEq, Eq)]
pub struct JournalCounts {
    /// Requests journaled.
    pub requests: u64,
    /// Requests that ran against the state.
    pub applied: u64,
    /// Requests that ran and succeeded (their own answer was a 2xx).
    pub succeeded: u64,
    /// Requests a fault shaped.
    pub faulted: u64,
    /// Answers written to the client.
    pub answered: u64,
    /// Connections closed without an answer.
    pub dropped: u64,
    /// Connections reset without an answer.
    pub reset: u64,
    /// Requests held without an answer.
    pub hung: u64,
    /// Requests whose client left before the delayed answer was due.
    pub abandoned: u64,
}

/// Which entries to return.
#[derive(Debug, Clone, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JournalFilter {
    /// Only this node id.
    pub number: Option<String>,
    /// Only this operation.
    pub operation: Option<String>,
    /// Only entries with `seq` greater than this (for polling).
    pub since: Option<u64>,
    /// At most this many (the newest).
    pub limit: Option<usize>,
}

/// A capped ring of entries.
#[derive(Debug)]
pub struct Journal {
    capacity: usize,
    inner: Mutex<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    next_seq: u64,
    entries: VecDeque<(u64, JournalRecord)>,
}

impl Journal {
    /// A journal keeping the newest `capacity` entries (0 disables it).
    pub fn new(capacity: usize) -> Self {
        Self {
            capacity,
            inner: Mutex::new(Inner {
                next_seq: 1,
                entries: VecDeque::new(),
            }),
        }
    }

    /// Whether entries are kept at all.
    pub fn enabled(&self) -> bool {
        self.capacity > 0
    }

    /// The cap.
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// Appends a record and returns its `seq` (assigned here; `None` with the journal off).
    pub fn record(&self, record: JournalRecord) -> Option<u64> {
        if self.capacity == 0 {
            return None;
        }
        let (seq, evicted) = {
            let mut inner = self.inner.lock();
            let seq = inner.next_seq;
            inner.next_seq += 1;
            let evicted = if inner.entries.len() >= self.capacity {
                inner.entries.pop_front()
            } else {
                None
            };
            inner.entries.push_back((seq, record));
            (seq, evicted)
        };
        // Freeing the oldest record (its buffers are cold) happens outside the lock.
        drop(evicted);
        Some(seq)
    }

    /// Changes what the client got from the request journaled as `seq` (a delayed answer
    /// whose client left); nothing if it was evicted meanwhile.
    pub fn set_delivery(&self, seq: u64, delivery: Delivery) {
        let mut inner = self.inner.lock();
        // Sequence numbers are consecutive in the ring, so the entry's place is computed.
        let Some(&(first, _)) = inner.entries.front() else {
            return;
        };
        let Some(index) = seq.checked_sub(first) else {
            return;
        };
        if let Some((found, record)) = usize::try_from(index)
            .ok()
            .and_then(|index| inner.entries.get_mut(index))
            && *found == seq
        {
            record.delivery = delivery;
        }
    }

    /// How many entries match `filter` (its `limit` keeps the newest), by what happened.
    pub fn counts(&self, filter: &JournalFilter) -> JournalCounts {
        let mut counts = JournalCounts::default();
        for entry in self.entries(filter) {
            counts.requests += 1;
            counts.applied += u64::from(entry.applied);
            counts.succeeded += u64::from(
                entry
                    .outcome
                    .is_some_and(|outcome| (200..300).contains(&outcome.status)),
            );
            counts.faulted += u64::from(entry.fault_id.is_some());
            match entry.delivery {
                Delivery::Answered => counts.answered += 1,
                Delivery::Dropped => counts.dropped += 1,
                Delivery::Reset => counts.reset += 1,
                Delivery::Hung => counts.hung += 1,
                Delivery::Abandoned => counts.abandoned += 1,
            }
        }
        counts
    }

    /// Matching entries, oldest first.
    pub fn entries(&self, filter: &JournalFilter) -> Vec<JournalEntry> {
        let matching: Vec<(u64, JournalRecord)> = {
            let inner = self.inner.lock();
            inner
                .entries
                .iter()
                .filter(|(seq, _)| filter.since.is_none_or(|since| *seq > since))
                .filter(|(_, record)| {
                    filter
                        .number
                        .as_deref()
                        .is_none_or(|number| record.number.as_deref() == Some(number))
                })
                .filter(|(_, record)| {
                    filter
                        .operation
                        .as_deref()
                        .is_none_or(|operation| record.operation == Some(operation))
                })
                .cloned()
                .collect()
        };
        let skip = filter
            .limit
            .map_or(0, |limit| matching.len().saturating_sub(limit));
        matching
            .iter()
            .skip(skip)
            .map(|(seq, record)| record.view(*seq))
            .collect()
    }

    /// Forgets every entry.
    pub fn clear(&self) {
        self.inner.lock().entries.clear();
    }
}

/// Parameter names whose values never appear in the journal: PINs, codes (verification and
/// Embedded Signup authorization codes), passwords, the app secret of a code exchange and the
/// verify token of a callback override.
const SECRET_PARAMS: [&str; 6] = [
    "pin",
    "code",
    "access_token",
    "password",
    "client_secret",
    "verify_token",
];

/// Parameters that carry a token to inspect (`debug_token`): shown masked like the
/// `Authorization` header, so a reader can still tell which token it was.
const TOKEN_PARAMS: [&str; 1] = ["input_token"];

/// Copies parameters for the journal with secrets masked (also inside nested objects).
pub fn masked_params<'a>(
    params: impl Iterator<Item = (&'a str, &'a ParamValue)>,
) -> Map<String, Value> {
    params
        .map(|(name, value)| {
            let shown = match value {
                ParamValue::Text(_) if SECRET_PARAMS.contains(&name) => masked(),
                ParamValue::Text(text) if TOKEN_PARAMS.contains(&name) => {
                    Value::String(mask_token(text.as_str()))
                }
                ParamValue::Text(_) => value.to_json(),
                ParamValue::Json(value) => mask_value(name, value),
            };
            (name.to_owned(), shown)
        })
        .collect()
}

fn mask_value(name: &str, value: &Value) -> Value {
    if SECRET_PARAMS.contains(&name) {
        return masked();
    }
    match value {
        Value::String(token) if TOKEN_PARAMS.contains(&name) => Value::String(mask_token(token)),
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(key, inner)| (key.clone(), mask_value(key, inner)))
                .collect(),
        ),
        other => other.clone(),
    }
}

/// What the journal shows for a secret.
fn masked() -> Value {
    Value::String("******".to_owned())
}

/// A token shown as its first six characters and its length.
pub fn mask_token(token: &str) -> String {
    let masked = MaskedToken::of(token);
    let mut text = String::with_capacity(masked.len());
    masked.push_to(&mut text);
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(number: &str) -> JournalRecord {
        JournalRecord {
            at: DateTime::from_timestamp(0, 0).unwrap(),
            method: Method::POST,
            request: RequestText::new("/", &HeaderMap::new()),
            version: None,
            served_version: "v23.0",
            number: Some(number.into()),
            operation: Some("register"),
            params: Params::default(),
            status: StatusCode::OK,
            body: Bytes::from_static(br#"{"success":true}"#),
            request_id: crate::state::IdGenerator::new(1).next().request_id().into(),
            judged_by: crate::state::JudgedBy::Emulator,
            applied: true,
            fault: None,
            delivery: Delivery::Answered,
        }
    }

    #[test]
    fn counts_and_later_deliveries_follow_the_records() {
        let journal = Journal::new(3);
        let mut dropped = entry("1");
        dropped.delivery = Delivery::Dropped;
        dropped.fault = Some(FaultMark {
            id: 7,
            outcome: None,
        });
        let mut refused = entry("1");
        refused.applied = true;
        refused.status = StatusCode::INTERNAL_SERVER_ERROR;
        refused.body = Bytes::from_static(br#"{"error":{"code":131000}}"#);
        refused.fault = Some(FaultMark {
            id: 8,
            outcome: Some((StatusCode::OK, None)),
        });
        let mut untouched = entry("2");
        untouched.applied = false;
        untouched.body = Bytes::new();
        untouched.delivery = Delivery::Hung;
        let first = journal.record(entry("1")).unwrap();
        journal.record(dropped);
        let delayed = journal.record(refused).unwrap();
        journal.record(untouched);
        journal.set_delivery(delayed, Delivery::Abandoned);
        journal.set_delivery(first, Delivery::Reset);
        let ones = JournalFilter {
            number: Some("1".into()),
            ..Default::default()
        };
        assert_eq!(
            journal.counts(&ones),
            JournalCounts {
                requests: 2,
                applied: 2,
                succeeded: 2,
                faulted: 2,
                dropped: 1,
                abandoned: 1,
                ..Default::default()
            },
            "the first record was evicted; the error answered hid a success"
        );
        let entries = journal.entries(&JournalFilter::default());
        assert_eq!(entries[1].status, 500);
        assert_eq!(entries[1].outcome.unwrap().status, 200);
        assert_eq!(entries[1].fault_id, Some(8));
        assert_eq!((entries[2].status, entries[2].outcome), (0, None));
        assert_eq!(entries[2].delivery, Delivery::Hung);
        assert!(Journal::new(0).record(entry("1")).is_none());
    }

    #[test]
    fn the_journal_is_capped_and_filterable() {
        let journal = Journal::new(3);
        for number in ["1", "2", "1", "2"] {
            journal.record(entry(number));
        }
        let all = journal.entries(&JournalFilter::default());
        assert_eq!(all.iter().map(|e| e.seq).collect::<Vec<_>>(), vec![2, 3, 4]);
        let ones = journal.entries(&JournalFilter {
            number: Some("1".into()),
            ..Default::default()
        });
        assert_eq!(ones.len(), 1);
        let since = journal.entries(&JournalFilter {
            since: Some(3),
            ..Default::default()
        });
        assert_eq!(since.len(), 1);
        journal.clear();
        assert!(journal.entries(&JournalFilter::default()).is_empty());
    }

    #[test]
    fn request_text_keeps_the_path_and_journaled_headers_cut_to_length() {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::AUTHORIZATION,
            "Bearer EAAEmulatorDevToken".parse().unwrap(),
        );
        headers.insert(header::USER_AGENT, "a".repeat(300).parse().unwrap());
        headers.insert(
            header::CONTENT_TYPE,
            header::HeaderValue::from_bytes("é".as_bytes()).unwrap(),
        );
        headers.insert(header::HOST, "not journaled".parse().unwrap());
        let text = RequestText::new(&format!("/v23.0/{}", "1".repeat(600)), &headers);
        assert_eq!(text.path().chars().count(), 512);
        assert_eq!(text.header(0), Some("Bearer EAAEmu… (19 chars)"));
        assert_eq!(text.header(1), Some("<binary>"));
        assert_eq!(text.header(2).unwrap().len(), 200);
        assert_eq!(text.header(3), None);
        let shown = shown_headers(&text);
        assert_eq!(shown["authorization"], "Bearer EAAEmu… (19 chars)");
        assert_eq!(shown.len(), 3);
        assert_eq!(cut("aéb", 2), "aé");
        // A long token is masked from its whole value, never kept.
        let mut headers = HeaderMap::new();
        let token = "E".repeat(250);
        headers.insert(
            header::AUTHORIZATION,
            format!("OAuth {token}").parse().unwrap(),
        );
        let text = RequestText::new("/", &headers);
        assert_eq!(text.header(0), Some("OAuth EEEEEE… (250 chars)"));
        assert!(!format!("{text:?}").contains(&token));
        // A repeated header shows its first value, as `HeaderMap::get` gives it; the token of
        // the second one is masked or dropped, never shown.
        let mut headers = HeaderMap::new();
        headers.append(header::CONTENT_TYPE, "text/plain".parse().unwrap());
        headers.append(header::AUTHORIZATION, "Bearer first".parse().unwrap());
        headers.append(header::CONTENT_TYPE, "application/json".parse().unwrap());
        headers.append(header::AUTHORIZATION, "Bearer secondtoken".parse().unwrap());
        let text = RequestText::new("/", &headers);
        assert_eq!(
            text.header(AUTHORIZATION_INDEX),
            Some("Bearer first… (5 chars)")
        );
        assert_eq!(text.header(1), Some("text/plain"));
        assert!(!format!("{text:?}").contains("secondtoken"));
        assert_eq!(
            JOURNALED_HEADERS[AUTHORIZATION_INDEX],
            header::AUTHORIZATION
        );
    }

    #[test]
    fn secrets_are_masked() {
        let params: Params = serde_json::from_value::<serde_json::Map<String, Value>>(
            serde_json::json!({"pin": "123456", "backup": {"password": "x", "data": "d"}, "messaging_product": "whatsapp", "code": 123456, "n": 7}),
        )
        .unwrap()
        .into_iter()
        .fold(Params::default(), |mut params, (name, value)| {
            params.insert(name, value);
            params
        });
        let masked = masked_params(params.iter());
        assert_eq!(masked["pin"], "******");
        assert_eq!(masked["code"], "******", "a secret sent as a number");
        assert_eq!(masked["n"], 7);
        assert_eq!(masked["backup"]["password"], "******");
        assert_eq!(masked["backup"]["data"], "d");
        assert_eq!(masked["messaging_product"], "whatsapp");
        let onboarding: Params = [
            ("client_secret", "0e1d2c3b4a5968778695a4b3c2d1e0f0"),
            ("input_token", "EAAEmulatorDevToken"),
            ("verify_token", "hook-secret"),
        ]
        .into_iter()
        .fold(Params::default(), |mut params, (name, value)| {
            params.insert(name.to_owned(), Value::String(value.to_owned()));
            params
        });
        let masked = masked_params(onboarding.iter());
        assert_eq!(masked["client_secret"], "******");
        assert_eq!(masked["verify_token"], "******");
        assert_eq!(masked["input_token"], "EAAEmu… (19 chars)");
        assert_eq!(mask_token("EAAEmulatorDevToken"), "EAAEmu… (19 chars)");
        assert_eq!(mask_token("ab"), "ab… (2 chars)");
        assert_eq!(mask_token(""), "… (0 chars)");
        assert_eq!(mask_token("éééééééé"), "éééééé… (8 chars)");
        // The record is sized from `len()` before writing: the two agree at every digit count.
        for chars in [0, 1, 9, 10, 99, 100, 999, 1000, 12_345] {
            for token in ["E".repeat(chars), "é".repeat(chars)] {
                let masked = MaskedToken::of(&token);
                let mut text = String::new();
                masked.push_to(&mut text);
                assert_eq!(text.len(), masked.len(), "{chars} chars");
                assert!(text.ends_with(&format!("({chars} chars)")));
            }
        }
    }
}
