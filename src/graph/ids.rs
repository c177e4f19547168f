//! Request ids in Meta's formats: `x-fb-request-id` / `fbtrace_id` (23 characters of
//! base64url starting with `A`), `x-fb-trace-id` (11 characters) and `x-fb-debug` (88
//! characters of base64). Deterministic for a given seed, so runs can be reproduced.

use std::sync::LazyLock;
use std::sync::atomic::{AtomicU64, Ordering};

use axum::http::HeaderValue;
use bytes::Bytes;

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

impl RequestIds {
    /// `x-fb-request-id`, also the body's `fbtrace_id`.
    pub fn request_id(&self) -> &str {
        // Built from ASCII alphabets only, so this cannot fail.
        std::str::from_utf8(&self.text[REQUEST_ID]).unwrap_or("A")
    }

    /// The `x-fb-request-id` header value.
    pub fn request_id_header(&self) -> HeaderValue {
        self.header(REQUEST_ID)
    }

    /// The `x-fb-trace-id` header value.
    pub fn trace_id(&self) -> HeaderValue {
        self.header(TRACE_ID)
    }

    /// The `x-fb-debug` header value.
    pub fn debug(&self) -> HeaderValue {
        self.header(DEBUG)
    }

    fn header(&self, range: std::ops::Range<usize>) -> HeaderValue {
        HeaderValue::from_maybe_shared(self.text.slice(range))
            .unwrap_or(HeaderValue::from_static("A"))
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
        let mut draw = || splitmix64(&mut state);

        let mut text = [0u8; DEBUG.end];
        text[0] = b'A';
        let (url_safe, debug) = text[1..DEBUG.end - 2].split_at_mut(TRACE_ID.end - 1);
        // In order (request id, trace id, debug): the same seed gives the same ids.
        fill(url_safe, &URL_SAFE_PAIRS, &mut draw);
        fill(debug, &STANDARD_PAIRS, &mut draw);
        text[DEBUG.end - 2..].copy_from_slice(b"==");

        // Owned by the `Bytes` itself: one allocation holds the text and its reference count,
        // so slicing it into three headers does not allocate again (a copied `Bytes` would on
        // its first clone).
        RequestIds {
            text: Bytes::from_owner(text),
        }
    }
}

/// Every pair of characters of a base64 alphabet, indexed by their 12 bits: a response's ids
/// are 119 random characters, and writing them two per lookup costs a quarter of what one per
/// lookup did (about ten instructions a character, a tenth of the request path's own work).
type Pairs = [[u8; 2]; 4096];

static URL_SAFE_PAIRS: LazyLock<Box<Pairs>> =
    LazyLock::new(|| pairs(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"));
static STANDARD_PAIRS: LazyLock<Box<Pairs>> =
    LazyLock::new(|| pairs(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"));

fn pairs(alphabet: &[u8; 64]) -> Box<Pairs> {
    let mut pairs = Box::new([[0; 2]; 4096]);
    for (bits, pair) in pairs.iter_mut().enumerate() {
        *pair = [alphabet[bits & 63], alphabet[bits >> 6]];
    }
    pairs
}

/// Fills `out` with characters drawn from `draw`, ten per draw (60 of its 64 bits).
fn fill(out: &mut [u8], pairs: &Pairs, draw: &mut impl FnMut() -> u64) {
    let mut chunks = out.chunks_exact_mut(10);
    for chunk in &mut chunks {
        let mut bits = draw();
        for pair in chunk.chunks_exact_mut(2) {
            pair.copy_from_slice(&pairs[(bits & 0xFFF) as usize]);
            bits >>= 12;
        }
    }
    let rest = chunks.into_remainder();
    if !rest.is_empty() {
        let mut bits = draw();
        for pair in rest.chunks_mut(2) {
            pair.copy_from_slice(&pairs[(bits & 0xFFF) as usize][..pair.len()]);
            bits >>= 12;
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

    #[test]
    fn ids_have_meta_shapes_and_are_reproducible() {
        let a = IdGenerator::new(7);
        let b = IdGenerator::new(7);
        let first = a.next();
        assert_eq!(first.request_id(), b.next().request_id());
        assert_eq!(first.request_id().len(), 23);
        assert!(first.request_id().starts_with('A'));
        assert_eq!(first.request_id_header(), first.request_id());
        assert_eq!(first.trace_id().len(), 11);
        assert_eq!(first.debug().len(), 88);
        assert!(first.debug().to_str().unwrap().ends_with("=="));
        assert_ne!(first.request_id(), a.next().request_id());
    }

    #[test]
    fn ids_draw_on_their_whole_alphabets() {
        const URL_SAFE: &str = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
        const STANDARD: &str = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        let generator = IdGenerator::new(11);
        let mut seen = [
            std::collections::BTreeSet::new(),
            std::collections::BTreeSet::new(),
        ];
        let mut request_ids = std::collections::HashSet::new();
        for _ in 0..2000 {
            let ids = generator.next();
            let request_id = ids.request_id().to_owned();
            let trace_id = ids.trace_id().to_str().unwrap().to_owned();
            let debug = ids.debug().to_str().unwrap().to_owned();
            // The request id after its `A`, the trace id and the debug text before its `==`.
            seen[0].extend(request_id[1..].chars().chain(trace_id.chars()));
            seen[1].extend(debug[..86].chars());
            assert!(request_ids.insert(request_id));
        }
        assert_eq!(seen[0].iter().collect::<String>(), sorted(URL_SAFE));
        assert_eq!(seen[1].iter().collect::<String>(), sorted(STANDARD));
    }

    fn sorted(alphabet: &str) -> String {
        let mut chars: Vec<char> = alphabet.chars().collect();
        chars.sort_unstable();
        chars.into_iter().collect()
    }
}
