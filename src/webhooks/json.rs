//! JSON written the way Meta writes webhook bodies.
//!
//! Live bodies are compact PHP-style JSON (`json_encode` without flags): no spaces, every
//! non-ASCII character as a lowercase `\uXXXX` escape (astral characters as a UTF-16
//! surrogate pair), and `/` as `\/`. Receivers verify the signature over these exact bytes,
//! so the emulator must produce them, not serde_json's default output (which keeps UTF-8 and
//! plain `/`). Everything else (`\"`, `\\`, `\n`, `\u001f`, numbers, key order) is what
//! serde_json writes: only the string fragments between its own escapes are rewritten.
//!
//! Key order is the serializer's: a `#[derive(Serialize)]` struct writes its fields in
//! declaration order, which is how Meta's order (`object` then `entry`, `value` then
//! `field`, `from,id,timestamp,…`) is kept. A `serde_json::Value` object writes its keys in
//! its map's order, which in this crate is **sorted** (serde_json's `preserve_order` feature
//! is off, and turning it on would change every `Value` in the emulator): build payloads as
//! structs when the order matters.

use std::io;

use serde::Serialize;
use serde_json::ser::{Formatter, Serializer};

/// Writes `value` as Meta writes webhook JSON (see the module docs).
///
/// # Panics
///
/// Never for the types of this crate: serialising to memory fails only for a map with
/// non-string keys or a `Serialize` implementation that returns an error itself.
pub fn to_meta_json<T: Serialize + ?Sized>(value: &T) -> String {
    try_to_meta_json(value).expect("a webhook payload serialises to JSON")
}

/// Like [`to_meta_json`], with serde's error instead of a panic.
pub fn try_to_meta_json<T: Serialize + ?Sized>(value: &T) -> Result<String, serde_json::Error> {
    let mut out = Vec::with_capacity(256);
    value.serialize(&mut Serializer::with_formatter(&mut out, MetaFormatter))?;
    // Only ASCII is ever written: non-ASCII leaves as escapes.
    Ok(String::from_utf8(out).expect("escaped JSON is ASCII"))
}

/// serde_json's compact formatting (the trait's default methods), with PHP's escaping of
/// non-ASCII and `/`.
struct MetaFormatter;

impl Formatter for MetaFormatter {
    /// A run of string characters that need no JSON escape (serde_json writes quotes,
    /// backslashes and control characters through `write_char_escape`, unchanged here).
    fn write_string_fragment<W: ?Sized + io::Write>(
        &mut self,
        writer: &mut W,
        fragment: &str,
    ) -> io::Result<()> {
        let mut plain_from = 0;
        for (at, character) in fragment.char_indices() {
            if character.is_ascii() && character != '/' {
                continue;
            }
            writer.write_all(&fragment.as_bytes()[plain_from..at])?;
            plain_from = at + character.len_utf8();
            if character == '/' {
                writer.write_all(b"\\/")?;
                continue;
            }
            let mut units = [0u16; 2];
            for unit in character.encode_utf16(&mut units) {
                write!(writer, "\\u{unit:04x}")?;
            }
        }
        writer.write_all(&fragment.as_bytes()[plain_from..])
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn non_ascii_and_slashes_are_escaped_as_php_does() {
        #[derive(Serialize)]
        struct Image<'a> {
            caption: &'a str,
            mime_type: &'a str,
            url: &'a str,
        }
        let image = Image {
            caption: "Hola quiero un café",
            mime_type: "image/jpeg",
            url: "https://lookaside.fbsbx.com/whatsapp_business/attachments/?mid=1",
        };
        assert_eq!(
            to_meta_json(&image),
            r#"{"caption":"Hola quiero un caf\u00e9","mime_type":"image\/jpeg","url":"https:\/\/lookaside.fbsbx.com\/whatsapp_business\/attachments\/?mid=1"}"#
        );
    }

    #[test]
    fn astral_characters_become_a_lowercase_surrogate_pair() {
        assert_eq!(to_meta_json("ok 😀"), r#""ok \ud83d\ude00""#);
        assert_eq!(to_meta_json("äöå"), r#""\u00e4\u00f6\u00e5""#);
        assert_eq!(to_meta_json("€"), r#""\u20ac""#);
        // Keys are strings too.
        assert_eq!(to_meta_json(&json!({"né": 1})), r#"{"n\u00e9":1}"#);
    }

    #[test]
    fn json_escapes_stay_serde_jsons() {
        assert_eq!(
            to_meta_json("quote \" back \\ nl \n tab \t bell \u{7} é/"),
            r#""quote \" back \\ nl \n tab \t bell \u0007 \u00e9\/""#
        );
    }

    #[test]
    fn ascii_without_slashes_is_byte_for_byte_serde_json() {
        let value = json!({
            "object": "whatsapp_business_account",
            "entry": [{"id": "102290129340398", "time": 1_744_823_932, "changes": [
                {"value": {"event": "PARTNER_ADDED", "n": -1.5, "ok": true, "none": null,
                           "list": [1, 2, {"k": "tab\there"}]},
                 "field": "account_update"}
            ]}]
        });
        assert_eq!(to_meta_json(&value), serde_json::to_string(&value).unwrap());
    }

    #[test]
    fn struct_fields_keep_their_declared_order() {
        #[derive(Serialize)]
        struct Change<'a> {
            value: u8,
            field: &'a str,
        }
        assert_eq!(
            to_meta_json(&Change {
                value: 1,
                field: "messages"
            }),
            r#"{"value":1,"field":"messages"}"#
        );
    }

    #[test]
    fn the_output_parses_back_to_the_same_value() {
        let value = json!({"text": "caf\u{e9} 😀 a/b <>%@ \u{1f}", "n": [1, "ü"]});
        let written = to_meta_json(&value);
        assert!(written.is_ascii());
        assert_eq!(
            serde_json::from_str::<serde_json::Value>(&written).unwrap(),
            value
        );
    }
}
