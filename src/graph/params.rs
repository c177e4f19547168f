//! Request parameters as Graph reads them: the query string merged with a JSON,
//! form-urlencoded or multipart body (body values win), plus the access token.

use std::borrow::Cow;
use std::convert::Infallible;

use axum::body::Body;
use axum::http::{HeaderMap, header};
use bytes::Bytes;
use compact_str::CompactString;
use http_body_util::{BodyExt, Limited};
use serde_json::Value;

use super::error::GraphError;
use crate::domain::{ParamValue, Params};

impl Params {
    /// A scalar parameter as text: strings as they are, numbers by their digits, booleans as
    /// `true`/`false`. `null` counts as absent. Objects and arrays are an error.
    pub fn text(&self, name: &str) -> Result<Option<Cow<'_, str>>, GraphError> {
        let value = match self.get(name) {
            None => return Ok(None),
            Some(ParamValue::Text(text)) => return Ok(Some(Cow::Borrowed(text))),
            Some(ParamValue::Json(value)) => value,
        };
        match value {
            Value::Null => Ok(None),
            Value::String(text) => Ok(Some(Cow::Borrowed(text))),
            Value::Number(number) => Ok(Some(Cow::Owned(number.to_string()))),
            Value::Bool(flag) => Ok(Some(Cow::Borrowed(if *flag { "true" } else { "false" }))),
            Value::Array(_) | Value::Object(_) => Err(GraphError::invalid_parameter(format!(
                "Param {name} must be a string."
            ))),
        }
    }

    /// A required scalar parameter (see [`Params::text`]); absent or empty is
    /// `(#100) The parameter NAME is required.`
    pub fn required_text(&self, name: &str) -> Result<Cow<'_, str>, GraphError> {
        match self.text(name)? {
            Some(text) if !text.is_empty() => Ok(text),
            _ => Err(GraphError::missing_parameter(name)),
        }
    }

    /// The required `messaging_product`, which must be `whatsapp` (any case):
    /// `(#100) The parameter messaging_product is required.` or
    /// `(#100) Param messaging_product must be one of {WHATSAPP} - got "…".`
    pub fn require_whatsapp_product(&self) -> Result<(), GraphError> {
        let product = self.required_text("messaging_product")?;
        if product.eq_ignore_ascii_case("whatsapp") {
            Ok(())
        } else {
            Err(GraphError::not_one_of(
                "messaging_product",
                &["WHATSAPP"],
                &product,
            ))
        }
    }

    /// An object parameter: a JSON object, or a string holding one (form and multipart
    /// bodies send objects that way).
    pub fn object(&self, name: &str) -> Result<Option<serde_json::Map<String, Value>>, GraphError> {
        let text = match self.get(name) {
            None | Some(ParamValue::Json(Value::Null)) => return Ok(None),
            Some(ParamValue::Json(Value::Object(map))) => return Ok(Some(map.clone())),
            Some(ParamValue::Text(text)) => Some(text.as_str()),
            Some(ParamValue::Json(Value::String(text))) => Some(text.as_str()),
            Some(ParamValue::Json(_)) => None,
        };
        match text {
            Some(text) => match serde_json::from_str::<Value>(text) {
                Ok(Value::Object(map)) => Ok(Some(map)),
                _ => Err(GraphError::invalid_parameter(format!(
                    "Param {name} must be a JSON object."
                ))),
            },
            None => Err(GraphError::invalid_parameter(format!(
                "Param {name} must be a JSON object."
            ))),
        }
    }
}

/// Reads the parameters of a request: the query string, then the body on top.
///
/// A body that cannot be read (too large, malformed, unsupported content type) is reported as
/// an error *value*, next to the query parameters, so the caller can still authenticate with
/// the header or query token and count the request before answering with the body error.
pub async fn read(
    query: Option<&str>,
    headers: &HeaderMap,
    body: Body,
    max_body_bytes: usize,
    body_timeout: std::time::Duration,
) -> (Params, Result<(), GraphError>) {
    let mut params = Params::default();
    if let Some(query) = query {
        for (name, value) in form_urlencoded::parse(query.as_bytes()) {
            params.insert(&*name, ParamValue::Text(value.into()));
        }
    }
    let collected =
        tokio::time::timeout(body_timeout, collect(headers, body, max_body_bytes)).await;
    let outcome = match collected {
        Ok(Ok(bytes)) => merge_body(&mut params, headers, bytes).await,
        Ok(Err(error)) => Err(error),
        Err(_) => Err(GraphError::invalid_parameter(format!(
            "The request body was not received within {} seconds.",
            body_timeout.as_secs_f32()
        ))),
    };
    (params, outcome)
}

async fn collect(headers: &HeaderMap, body: Body, max: usize) -> Result<Bytes, GraphError> {
    let too_large = || {
        GraphError::invalid_parameter(format!(
            "The request body is larger than the {max}-byte limit."
        ))
    };
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.parse::<u64>().ok());
    if declared.is_some_and(|length| length > max as u64) {
        return Err(too_large());
    }
    // Frames are gathered by hand: a body is nearly always one frame, which is then kept as
    // it is (no copy, no list of buffers).
    let mut body = Limited::new(body, max);
    let mut first: Option<Bytes> = None;
    let mut joined: Option<bytes::BytesMut> = None;
    while let Some(frame) = body.frame().await {
        let frame = match frame {
            Ok(frame) => frame,
            Err(error) if error.is::<http_body_util::LengthLimitError>() => {
                return Err(too_large());
            }
            Err(_) => {
                return Err(GraphError::invalid_parameter(
                    "The request body could not be read.",
                ));
            }
        };
        let Ok(data) = frame.into_data() else {
            continue; // trailers carry no parameters
        };
        match (&mut joined, first.take()) {
            (Some(joined), _) => joined.extend_from_slice(&data),
            (None, None) => first = Some(data),
            (None, Some(previous)) => {
                let mut buffer = bytes::BytesMut::with_capacity(previous.len() + data.len());
                buffer.extend_from_slice(&previous);
                buffer.extend_from_slice(&data);
                joined = Some(buffer);
            }
        }
    }
    Ok(match joined {
        Some(joined) => joined.freeze(),
        None => first.unwrap_or_default(),
    })
}

async fn merge_body(
    params: &mut Params,
    headers: &HeaderMap,
    bytes: Bytes,
) -> Result<(), GraphError> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(());
    }
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .map(|value| value.to_str().unwrap_or("\u{fffd}"));
    let mime = content_type.map(|full| full.split(';').next().unwrap_or("").trim());
    let is = |expected: &str| mime.is_some_and(|mime| mime.eq_ignore_ascii_case(expected));
    let json_suffix = mime.is_some_and(|mime| {
        mime.len()
            .checked_sub("+json".len())
            .and_then(|at| mime.get(at..))
            .is_some_and(|suffix| suffix.eq_ignore_ascii_case("+json"))
    });
    if is("application/json") || json_suffix {
        merge_json(params, &bytes)
    } else if is("application/x-www-form-urlencoded") {
        merge_form(params, &bytes)
    } else if is("multipart/form-data") {
        merge_multipart(params, content_type.unwrap_or(""), bytes).await
    } else if mime.is_none_or(str::is_empty) {
        // No content type: read what it looks like (curl -d without -H sends a form, some
        // clients send JSON without saying so).
        if looks_like_object(&bytes) {
            merge_json(params, &bytes)
        } else {
            merge_form(params, &bytes)
        }
    } else {
        Err(GraphError::invalid_parameter(format!(
            "Unsupported Content-Type \"{}\": send application/json, application/x-www-form-urlencoded or multipart/form-data.",
            shorten(content_type.unwrap_or(""))
        )))
    }
}

/// A JSON object read straight into parameters (no intermediate map).
struct JsonObject(Params);

impl<'de> serde::Deserialize<'de> for JsonObject {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl<'de> serde::de::Visitor<'de> for Visitor {
            type Value = JsonObject;

            fn expecting(&self, formatter: &mut std::fmt::Formatter) -> std::fmt::Result {
                formatter.write_str("a JSON object")
            }

            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> Result<JsonObject, A::Error> {
                let mut params = Params::with_capacity(map.size_hint().unwrap_or(4));
                while let Some((name, value)) = map.next_entry::<CompactString, ParamValue>()? {
                    // Duplicate names: the last one wins, as in Graph.
                    params.insert(name, value);
                }
                Ok(JsonObject(params))
            }
        }
        deserializer.deserialize_map(Visitor)
    }
}

/// Whether a body looks like a JSON object (its first non-blank byte is `{`).
fn looks_like_object(bytes: &[u8]) -> bool {
    bytes.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'{')
}

fn merge_json(params: &mut Params, bytes: &[u8]) -> Result<(), GraphError> {
    let invalid = |error| {
        GraphError::invalid_parameter(format!("Invalid JSON in the request body: {error}."))
    };
    if !looks_like_object(bytes) {
        // Not an object: parsed in full only to tell bad JSON from a valid non-object.
        return match serde_json::from_slice::<Value>(bytes) {
            Ok(_) => Err(GraphError::invalid_parameter(
                "The JSON body must be an object of parameters.",
            )),
            Err(error) => Err(invalid(error)),
        };
    }
    match serde_json::from_slice::<JsonObject>(bytes) {
        Ok(JsonObject(body)) if params.is_empty() => {
            *params = body;
            Ok(())
        }
        Ok(JsonObject(body)) => {
            for (name, value) in body {
                params.insert(name, value);
            }
            Ok(())
        }
        Err(error) => Err(invalid(error)),
    }
}

fn merge_form(params: &mut Params, bytes: &[u8]) -> Result<(), GraphError> {
    if std::str::from_utf8(bytes).is_err() {
        return Err(GraphError::invalid_parameter(
            "The form body is not valid UTF-8.",
        ));
    }
    for (name, value) in form_urlencoded::parse(bytes) {
        params.insert(&*name, ParamValue::Text(value.into()));
    }
    Ok(())
}

async fn merge_multipart(
    params: &mut Params,
    content_type: &str,
    bytes: Bytes,
) -> Result<(), GraphError> {
    let malformed =
        |why: &str| GraphError::invalid_parameter(format!("Malformed multipart body: {why}."));
    let boundary = multer::parse_boundary(content_type).map_err(|_| malformed("no boundary"))?;
    let stream = futures_util::stream::once(async move { Ok::<Bytes, Infallible>(bytes) });
    let mut multipart = multer::Multipart::new(stream, boundary);
    loop {
        match multipart.next_field().await {
            Ok(Some(field)) => {
                let name = field.name().unwrap_or("").to_owned();
                let data = field
                    .bytes()
                    .await
                    .map_err(|_| malformed("truncated field"))?;
                let text = String::from_utf8(data.to_vec())
                    .map_err(|_| malformed("a field is not valid UTF-8"))?;
                if !name.is_empty() {
                    params.insert(name, ParamValue::Text(text.into()));
                }
            }
            Ok(None) => return Ok(()),
            Err(_) => return Err(malformed("cannot parse the parts")),
        }
    }
}

fn shorten(text: &str) -> String {
    text.chars().take(100).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    async fn parse(
        content_type: Option<&str>,
        query: Option<&str>,
        body: &'static str,
    ) -> (Params, Result<(), GraphError>) {
        let mut headers = HeaderMap::new();
        if let Some(ct) = content_type {
            headers.insert(header::CONTENT_TYPE, HeaderValue::from_str(ct).unwrap());
        }
        read(
            query,
            &headers,
            Body::from(body),
            1024,
            std::time::Duration::from_secs(5),
        )
        .await
    }

    #[tokio::test]
    async fn body_values_win_over_the_query() {
        let (params, ok) = parse(
            Some("application/json"),
            Some("pin=111111&messaging_product=whatsapp"),
            r#"{"pin": 123456}"#,
        )
        .await;
        ok.unwrap();
        assert_eq!(params.text("pin").unwrap().unwrap(), "123456");
        assert_eq!(
            params.text("messaging_product").unwrap().unwrap(),
            "whatsapp"
        );
    }

    #[tokio::test]
    async fn forms_multipart_and_unlabelled_bodies_are_read() {
        let (params, ok) = parse(
            Some("application/x-www-form-urlencoded"),
            None,
            "pin=123456&a=1&a=2",
        )
        .await;
        ok.unwrap();
        assert_eq!(params.text("a").unwrap().unwrap(), "2");
        let (params, ok) = parse(
            Some("multipart/form-data; boundary=XYZ"),
            None,
            "--XYZ\r\nContent-Disposition: form-data; name=\"pin\"\r\n\r\n123456\r\n--XYZ--\r\n",
        )
        .await;
        ok.unwrap();
        assert_eq!(params.text("pin").unwrap().unwrap(), "123456");
        let (params, ok) = parse(None, None, r#"{"pin":"123456"}"#).await;
        ok.unwrap();
        assert_eq!(params.text("pin").unwrap().unwrap(), "123456");
        let (params, ok) = parse(None, None, "pin=123456").await;
        ok.unwrap();
        assert_eq!(params.text("pin").unwrap().unwrap(), "123456");
    }

    #[tokio::test]
    async fn bad_bodies_are_graph_errors_and_keep_the_query() {
        for (ct, body) in [
            (Some("application/json"), "{\"pin\": "),
            (Some("application/json"), "[1,2]"),
            (Some("text/plain"), "pin=123456"),
            (Some("multipart/form-data"), "--x\r\n"),
            (Some("multipart/form-data; boundary=x"), "garbage"),
        ] {
            let (params, outcome) = parse(ct, Some("access_token=abc"), body).await;
            let error = outcome.unwrap_err();
            assert_eq!(
                (error.code, error.status.as_u16()),
                (100, 400),
                "{ct:?} {body:?}"
            );
            assert_eq!(params.text("access_token").unwrap().unwrap(), "abc");
        }
    }

    #[tokio::test]
    async fn json_bodies_are_objects_in_arrival_order_and_the_last_duplicate_wins() {
        let (params, outcome) = parse(
            Some("Application/JSON; charset=utf-8"),
            None,
            r#"{"pin":"111111","messaging_product":"whatsapp","pin":"222222","backup":{"data":"d"}}"#,
        )
        .await;
        outcome.unwrap();
        let names: Vec<&str> = params.iter().map(|(name, _)| name).collect();
        assert_eq!(names, ["pin", "messaging_product", "backup"]);
        assert_eq!(params.text("pin").unwrap().unwrap(), "222222");
        assert_eq!(params.object("backup").unwrap().unwrap()["data"], "d");
        for content_type in ["application/vnd.api+json", "+JSON"] {
            let (_, outcome) = parse(Some(content_type), None, r#"{"a":1}"#).await;
            outcome.unwrap();
        }
        // A non-object is still parsed in full: bad JSON inside it is bad JSON.
        let (_, outcome) = parse(Some("application/json"), None, "[1, {\"a\": }]").await;
        let details = outcome.unwrap_err().details.unwrap();
        assert!(
            details.starts_with("Invalid JSON in the request body:"),
            "{details}"
        );
        for body in ["[1,2]", "\"text\"", "12", "true", "null", "[{\"a\":[1]}]"] {
            let (_, outcome) = parse(Some("application/json"), None, body).await;
            assert_eq!(
                outcome.unwrap_err().details.as_deref(),
                Some("The JSON body must be an object of parameters."),
                "{body}"
            );
        }
        let (_, outcome) = parse(Some("application/json"), None, r#"{"a":1} x"#).await;
        let details = outcome.unwrap_err().details.unwrap();
        assert!(
            details.starts_with("Invalid JSON in the request body: trailing characters"),
            "{details}"
        );
    }

    #[tokio::test]
    async fn oversized_bodies_are_refused() {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        let body = format!("{{\"pin\":\"{}\"}}", "1".repeat(2000));
        let (_, outcome) = read(
            None,
            &headers,
            Body::from(body),
            1024,
            std::time::Duration::from_secs(5),
        )
        .await;
        assert!(
            outcome
                .unwrap_err()
                .details
                .unwrap()
                .contains("1024-byte limit")
        );
    }

    #[test]
    fn json_values_keep_their_kind_and_strings_become_text() {
        let body = r#"{"s":"whatsapp","e":"a\"b\u00e9","long":"a string longer than twenty-four bytes","i":-5,"u":18446744073709551615,"f":1.5,"t":true,"z":null,"a":[1,"x",{"k":null}],"o":{"k":[true,2.5]}}"#;
        let mut params = Params::default();
        merge_json(&mut params, body.as_bytes()).unwrap();
        let expected: serde_json::Map<String, Value> = serde_json::from_str(body).unwrap();
        let names: Vec<&str> = params.iter().map(|(name, _)| name).collect();
        assert_eq!(
            names,
            ["s", "e", "long", "i", "u", "f", "t", "z", "a", "o"],
            "arrival order"
        );
        for (name, value) in params.iter() {
            assert_eq!(value.to_json(), expected[name], "{name}");
            assert_eq!(
                matches!(value, ParamValue::Text(_)),
                expected[name].is_string(),
                "{name}"
            );
        }
        assert_eq!(params.text("e").unwrap().unwrap(), "a\"b\u{e9}");
    }

    #[test]
    fn text_coerces_scalars_and_refuses_structures() {
        let mut params = Params::default();
        params.insert("n", serde_json::json!(123456));
        params.insert("b", serde_json::json!(true));
        params.insert("o", serde_json::json!({"a": 1}));
        params.insert("z", Value::Null);
        assert_eq!(params.text("n").unwrap().unwrap(), "123456");
        assert_eq!(params.text("b").unwrap().unwrap(), "true");
        assert_eq!(params.text("z").unwrap(), None);
        assert_eq!(params.text("o").unwrap_err().code, 100);
        assert_eq!(
            params.required_text("missing").unwrap_err().message,
            "(#100) The parameter missing is required."
        );
    }
}
