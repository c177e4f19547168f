//! Request ids in Meta's formats: `x-fb-request-id` / `fbtrace_id` (23 characters of
//! base64url starting with `A`), `x-fb-trace-id` (11 characters of standard base64) and
//! `x-fb-debug` (88 characters of standard base64, canonical padding). Deterministic for a given seed, so runs can be
//! reproduced.

use std::sync::atomic::{AtomicU64, Ordering};

use std::sync::LazyLock;

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

    /// The ids for the next response: random characters of the base64url alphabet (request
    /// id) and of the standard one (trace id, debug value), written two per table lookup.
    /// Encoding random bytes with the `base64` crate gives the same shapes at about 900 more
    /// instructions per request (3 % of a register, measured with `bench/instructions.sh`),
    /// so this stays hand-written; a test decodes its output with the crate.
    pub fn next(&self) -> RequestIds {
        let n = self.counter.fetch_add(1, Ordering::Relaxed);
        let mut state = self.seed ^ n.wrapping_mul(0x9E37_79B9_7F4A_7C15);
        let mut draw = || splitmix64(&mut state);

        let mut text = [0u8; DEBUG.end];
        text[0] = b'A';
        // In order (request id, trace id, debug): the same seed gives the same ids.
        fill(&mut text[1..REQUEST_ID.end], &URL_SAFE_PAIRS, &mut draw);
        fill(&mut text[TRACE_ID], &STANDARD_PAIRS, &mut draw);
        let debug = DEBUG.start..DEBUG.end - 2;
        fill(&mut text[debug.clone()], &STANDARD_PAIRS, &mut draw);
        // Canonical base64 of 64 bytes: the character before `==` carries 4 bits, its low 2
        // bits zero, so strict decoders accept it.
        text[debug.end - 1] = b"AQgw"[(draw() & 3) as usize];
        text[DEBUG.end - 2..].copy_from_slice(b"==");

        // Owned by the `Bytes` itself: one allocation holds the text and its reference count,
        // so slicing it into three headers does not allocate again.
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

pub(super) fn splitmix64(state: &mut u64) -> u64 {
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
        // Checked against the library form: the crate decodes each id (strictly, for the
        // canonical debug value).
        use base64::Engine as _;
        use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
        assert_eq!(STANDARD.decode(&debug).unwrap().len(), 64);
        assert!(URL_SAFE_NO_PAD.decode(&first.request_id()[1..21]).is_ok());
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
