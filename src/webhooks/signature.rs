//! `X-Hub-Signature-256`: how Meta signs a webhook body and how a receiver checks it.
//!
//! The value is `sha256=` followed by the lowercase hex HMAC-SHA256 of the exact body bytes,
//! keyed with the app secret. The secret is an argument here and is never logged or kept.

use hmac::{Hmac, Mac};
use sha2::Sha256;

/// The header Meta signs webhook deliveries with.
pub const SIGNATURE_HEADER: &str = "x-hub-signature-256";

/// The prefix of the header's value.
const PREFIX: &str = "sha256=";

fn keyed(secret: &[u8]) -> Hmac<Sha256> {
    // HMAC accepts keys of any length (long keys are hashed first): this cannot fail.
    Hmac::<Sha256>::new_from_slice(secret).expect("HMAC takes a key of any length")
}

/// The `X-Hub-Signature-256` value of `body` signed with `secret`: `sha256=<lowercase hex>`.
pub fn sign(secret: &[u8], body: &[u8]) -> String {
    let mut mac = keyed(secret);
    mac.update(body);
    format!("{PREFIX}{}", hex::encode(mac.finalize().into_bytes()))
}

/// Whether `header` (an `X-Hub-Signature-256` value) is the signature of `body` with
/// `secret`. The digest is compared in constant time; the hex may be in either case, as a
/// receiver's check would accept.
pub fn verify(secret: &[u8], body: &[u8], header: &str) -> bool {
    let Some(digest) = header
        .strip_prefix(PREFIX)
        .and_then(|hex_digest| hex::decode(hex_digest).ok())
    else {
        return false;
    };
    let mut mac = keyed(secret);
    mac.update(body);
    mac.verify_slice(&digest).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc_4231_test_case_2() {
        // RFC 4231 §4.3: key "Jefe", data "what do ya want for nothing?".
        assert_eq!(
            sign(b"Jefe", b"what do ya want for nothing?"),
            "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    #[test]
    fn a_meta_style_body_signs_as_python_hmac_does() {
        // python3 -c "import hmac,hashlib; print(hmac.new(b'app-secret', BODY.encode(),
        //   hashlib.sha256).hexdigest())" with BODY the text below, escapes included.
        let body = r#"{"object":"whatsapp_business_account","entry":[{"id":"102290129340398","changes":[{"value":{"caption":"Hola quiero un caf\u00e9","mime_type":"image\/jpeg"},"field":"messages"}]}]}"#;
        let signature = sign(b"app-secret", body.as_bytes());
        assert_eq!(
            signature,
            "sha256=57c34823372e6a2316e720dd6dac062566444a4cb6ecbb2e04630f672268da2c"
        );
        assert!(verify(b"app-secret", body.as_bytes(), &signature));
        assert!(verify(
            b"app-secret",
            body.as_bytes(),
            &signature.to_ascii_uppercase().replace("SHA256=", "sha256=")
        ));
    }

    #[test]
    fn a_wrong_secret_body_or_header_does_not_verify() {
        let signature = sign(b"secret", b"{}");
        assert!(!verify(b"other", b"{}", &signature));
        assert!(!verify(b"secret", b"{ }", &signature));
        assert!(!verify(
            b"secret",
            b"{}",
            signature.trim_start_matches("sha256=")
        ));
        assert!(!verify(b"secret", b"{}", "sha256=zz"));
        assert!(!verify(b"secret", b"{}", "sha256="));
    }
}
