//! Request ids in Meta's formats: `x-fb-request-id` / `fbtrace_id` (23 characters of
//! base64url starting with `A`), `x-fb-trace-id` (11 characters of standard base64) and
//! `x-fb-debug` (88 characters of standard base64, canonical padding). Deterministic for a given seed, so runs can be
//! reproduced.

use std::sync::atomic::{AtomicU64, Ordering};

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE_NO_PAD};
use bytes::Bytes;

/// A seed no other run is likely to have: std's per-process random hashing keys (taken from
/// the operating system's randomness), mixed with the process id.
pub fn random_seed() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut hasher = std::hash::RandomState::new().build_hasher();
    hasher.write_u32(std::process::id());
    hasher.finish()
}

/// Hands out ids from a counter mixed through SplitMix64.
#[derive(Debug)]
pub struct IdGenerator {
    seed: u64,
    counter: AtomicU64,
}

/// The ids of one response, in one shared buffer (`request_id` | `trace_id` | `debug`) so a
/// response costs a single allocation for all three and its headers are slices of it.
#[derive(Debug, Clone)]
pub struct RequestIds {
    text: Bytes,
}

const REQUEST_ID: std::ops::Range<usize> = 0..23;
const TRACE_ID: std::ops::Range<usize> = 23..34;
const DEBUG: std::ops::Range<usize> = 34..122;

/// Random bytes behind each id: 16 give the request id's 22 characters after its `A`, 8 the
/// trace id's 11, and 64 the debug value's 86 characters and `==`.
const REQUEST_ID_BYTES: usize = 16;
const TRACE_ID_BYTES: usize = 8;
const DEBUG_BYTES: usize = 64;

impl RequestIds {
    /// `x-fb-request-id`, also the body's `fbtrace_id`.
    pub fn request_id(&self) -> &str {
        // Base64 alphabets only, so this cannot fail.
        std::str::from_utf8(&self.text[REQUEST_ID]).unwrap_or("A")
    }

    /// `x-fb-request-id` as shared bytes (a header value without a copy).
    pub fn request_id_bytes(&self) -> Bytes {
        self.text.slice(REQUEST_ID)
    }

    /// `x-fb-trace-id` as shared bytes.
    pub fn trace_id_bytes(&self) -> Bytes {
        self.text.slice(TRACE_ID)
    }

    /// `x-fb-debug` as shared bytes.
    pub fn debug_bytes(&self) -> Bytes {
        self.text.slice(DEBUG)
    }
}

impl IdGenerator {
    /// A generator; the same seed gives the same sequence.
    pub fn new(seed: u64) -> Self {
        Self {
            seed,
            counter: AtomicU64::new(0),
        }
    }

    /// The next 64 random-looking bits of the sequence (verification codes, object ids).
    pub fn draw(&self) -> u64 {
        let n = self.counter.fetch_add(1, Ordering::Relaxed);
        let mut state = self.seed ^ n.wrapping_mul(0x9E37_79B9_7F4A_7C15);
        splitmix64(&mut state)
    }

    /// The ids for the next response.
    pub fn next(&self) -> RequestIds {
        let n = self.counter.fetch_add(1, Ordering::Relaxed);
        let mut state = self.seed ^ n.wrapping_mul(0x9E37_79B9_7F4A_7C15);
        let mut random = [0u8; REQUEST_ID_BYTES + TRACE_ID_BYTES + DEBUG_BYTES];
        for chunk in random.chunks_exact_mut(8) {
            chunk.copy_from_slice(&splitmix64(&mut state).to_le_bytes());
        }
        let (request_id, rest) = random.split_at(REQUEST_ID_BYTES);
        let (trace_id, debug) = rest.split_at(TRACE_ID_BYTES);

        let mut text = [0u8; DEBUG.end];
        text[0] = b'A';
        // Written in place; the lengths are exact, so none of these can fail.
        let _ = URL_SAFE_NO_PAD.encode_slice(request_id, &mut text[1..REQUEST_ID.end]);
        // Captured trace ids use the standard alphabet (`+`, `/`), request ids the URL one.
        let _ = STANDARD_NO_PAD.encode_slice(trace_id, &mut text[TRACE_ID]);
        let _ = STANDARD.encode_slice(debug, &mut text[DEBUG]);
        // Owned by the `Bytes` itself: one allocation holds the text and its reference count,
        // so slicing it into three headers does not allocate again.
        RequestIds {
            text: Bytes::from_owner(text),
        }
    }
}

fn splitmix64(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(bytes: Bytes) -> String {
        String::from_utf8(bytes.to_vec()).unwrap()
    }

    #[test]
    fn ids_have_meta_shapes_and_are_reproducible() {
        let a = IdGenerator::new(7);
        let b = IdGenerator::new(7);
        let first = a.next();
        assert_eq!(first.request_id(), b.next().request_id());
        assert_eq!(first.request_id().len(), 23);
        assert!(first.request_id().starts_with('A'));
        assert_eq!(text(first.request_id_bytes()), first.request_id());
        assert_eq!(first.trace_id_bytes().len(), 11);
        let debug = text(first.debug_bytes());
        assert_eq!(debug.len(), 88);
        // Canonical base64: a strict decoder takes it back to 64 bytes.
        assert_eq!(STANDARD.decode(&debug).unwrap().len(), 64);
        assert_ne!(first.request_id(), a.next().request_id());
    }

    #[test]
    fn random_seeds_differ() {
        assert_ne!(random_seed(), random_seed());
    }

    #[test]
    fn ids_draw_on_their_whole_alphabets() {
        const URL_SAFE: &str = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
        const BASE64: &str = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        let generator = IdGenerator::new(11);
        let mut seen = [
            std::collections::BTreeSet::new(),
            std::collections::BTreeSet::new(),
        ];
        let mut request_ids = std::collections::HashSet::new();
        for _ in 0..2000 {
            let ids = generator.next();
            let request_id = ids.request_id().to_owned();
            let trace_id = text(ids.trace_id_bytes());
            let debug = text(ids.debug_bytes());
            // The request id after its `A`; the trace id and the debug text before its `==`.
            seen[0].extend(request_id[1..].chars());
            seen[1].extend(trace_id.chars().chain(debug[..86].chars()));
            assert!(request_ids.insert(request_id));
        }
        assert_eq!(seen[0].iter().collect::<String>(), sorted(URL_SAFE));
        assert_eq!(seen[1].iter().collect::<String>(), sorted(BASE64));
    }

    fn sorted(alphabet: &str) -> String {
        let mut chars: Vec<char> = alphabet.chars().collect();
        chars.sort_unstable();
        chars.into_iter().collect()
    }
}
