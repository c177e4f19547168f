//! The emulator's shared state: tokens, WABAs and phone numbers, plus the clock, the rules and
//! the fixture document that a reset returns to.
//!
//! Concurrency model: each phone number is one `DashMap` entry, and every operation on a
//! number runs start-to-finish (limiter check, rules, write) under that entry's lock without
//! awaiting, so concurrent requests on one number are serialised and never lose an update.
//! Requests on different numbers proceed in parallel.

use std::collections::HashSet;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use dashmap::DashMap;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::clock::Clock;
use crate::domain::{PhoneNumber, Policy};
use crate::fixtures::FixtureDocument;
use crate::graph::ids::IdGenerator;

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
    /// Granted permission names.
    pub permissions: Vec<String>,
    /// WABAs the token may act on.
    pub scope: Arc<WabaScope>,
    /// When the token stops working.
    pub expires_at: Option<DateTime<Utc>>,
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
    pub permissions: Vec<String>,
    /// WABAs it may act on.
    pub scope: Arc<WabaScope>,
    /// Expiry, if any.
    pub expires_at: Option<DateTime<Utc>>,
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
}

type TokenDigest = [u8; 32];

fn digest(token: &str) -> TokenDigest {
    Sha256::digest(token.as_bytes()).into()
}

/// Tokens, WABAs and numbers.
#[derive(Debug, Default)]
pub struct World {
    tokens: DashMap<TokenDigest, Token>,
    wabas: DashMap<String, Waba>,
    /// Boxed so the map's buckets (which hashbrown over-allocates up to 2x) stay small with a
    /// million numbers.
    numbers: DashMap<String, Box<PhoneNumber>>,
}

impl World {
    /// Builds the world a fixture document describes. The document must already be validated.
    pub fn from_fixture(document: &FixtureDocument, policy: &Policy) -> Self {
        let count = document.wabas.iter().map(|w| w.phone_numbers.len()).sum();
        let world = Self {
            numbers: DashMap::with_capacity(count),
            ..Self::default()
        };
        world.load(document, policy);
        world
    }

    /// Replaces everything with what `document` describes.
    pub fn load(&self, document: &FixtureDocument, policy: &Policy) {
        self.tokens.clear();
        self.wabas.clear();
        self.numbers.clear();
        for token in document.tokens() {
            self.insert_token(token);
        }
        for waba in &document.wabas {
            self.wabas.insert(
                waba.id.clone(),
                Waba {
                    id: waba.id.clone(),
                    name: waba.name.clone(),
                },
            );
        }
        for number in document.numbers(policy) {
            self.numbers.insert(number.id.clone(), Box::new(number));
        }
    }

    /// Adds or replaces a token.
    pub fn insert_token(&self, token: Token) {
        self.tokens.insert(digest(&token.value), token);
    }

    /// Looks a presented token up. The map is keyed by the token's SHA-256 digest and the
    /// stored value is then compared in constant time, so timing reveals nothing about how
    /// much of a guess was right.
    pub fn find_token(&self, presented: &str) -> Option<Principal> {
        let entry = self.tokens.get(&digest(presented))?;
        let matches: bool = entry.value.as_bytes().ct_eq(presented.as_bytes()).into();
        matches.then(|| Principal {
            permissions: entry.permissions.clone(),
            scope: Arc::clone(&entry.scope),
            expires_at: entry.expires_at,
        })
    }

    /// Runs `f` on a number while holding its entry lock. `None` if the number is unknown.
    pub fn with_number<R>(&self, id: &str, f: impl FnOnce(&mut PhoneNumber) -> R) -> Option<R> {
        let mut entry = self.numbers.get_mut(id)?;
        Some(f(entry.value_mut()))
    }

    /// A copy of one number.
    pub fn number(&self, id: &str) -> Option<PhoneNumber> {
        self.numbers.get(id).map(|entry| (**entry.value()).clone())
    }

    /// Copies of every number, sorted by id.
    pub fn numbers(&self) -> Vec<PhoneNumber> {
        let mut all: Vec<_> = self
            .numbers
            .iter()
            .map(|entry| (**entry.value()).clone())
            .collect();
        all.sort_by(|a, b| a.id.cmp(&b.id));
        all
    }

    /// A copy of the number that `key` ranks lowest among those `keep` accepts, ties going to
    /// the smallest id: the same pick as `numbers().iter().filter(keep).min_by_key(key)`,
    /// without copying and sorting every number.
    pub fn lowest_number<K: Ord>(
        &self,
        keep: impl Fn(&PhoneNumber) -> bool,
        key: impl Fn(&PhoneNumber) -> K,
    ) -> Option<PhoneNumber> {
        let mut best: Option<(K, PhoneNumber)> = None;
        for entry in self.numbers.iter() {
            let number = entry.value();
            if !keep(number) {
                continue;
            }
            let rank = key(number);
            let better = best.as_ref().is_none_or(|(best_rank, best_number)| {
                (&rank, &number.id) < (best_rank, &best_number.id)
            });
            if better {
                best = Some((rank, (**number).clone()));
            }
        }
        best.map(|(_, number)| number)
    }

    /// Copies of every WABA, sorted by id.
    pub fn wabas(&self) -> Vec<Waba> {
        let mut all: Vec<_> = self
            .wabas
            .iter()
            .map(|entry| entry.value().clone())
            .collect();
        all.sort_by(|a, b| a.id.cmp(&b.id));
        all
    }

    /// Copies of every token, sorted by value.
    pub fn tokens(&self) -> Vec<Token> {
        let mut all: Vec<_> = self
            .tokens
            .iter()
            .map(|entry| entry.value().clone())
            .collect();
        all.sort_by(|a, b| a.value.cmp(&b.value));
        all
    }
}

/// Runtime settings that are not business rules.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Largest accepted request body.
    pub max_body_bytes: usize,
    /// Refuse `data_localization_region` on register for v21.0 and later (code 12), as
    /// Meta's newer pages describe.
    pub reject_region_from_v21: bool,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            max_body_bytes: 64 * 1024,
            reject_region_from_v21: false,
        }
    }
}

/// Everything a request handler needs, shared by all of them.
#[derive(Debug, Clone)]
pub struct AppState(Arc<Shared>);

/// The inside of [`AppState`].
#[derive(Debug)]
pub struct Shared {
    /// The one clock.
    pub clock: Clock,
    /// The rules.
    pub policy: Policy,
    /// Non-rule settings.
    pub settings: Settings,
    /// Live state.
    pub world: World,
    /// Request, trace and debug ids.
    pub ids: IdGenerator,
    /// What a reset returns to.
    pub fixtures: FixtureDocument,
}

impl AppState {
    /// Builds the state from its parts.
    pub fn new(
        clock: Clock,
        policy: Policy,
        settings: Settings,
        fixtures: FixtureDocument,
        id_seed: u64,
    ) -> Self {
        let world = World::from_fixture(&fixtures, &policy);
        Self(Arc::new(Shared {
            clock,
            policy,
            settings,
            world,
            ids: IdGenerator::new(id_seed),
            fixtures,
        }))
    }
}

impl std::ops::Deref for AppState {
    type Target = Shared;

    fn deref(&self) -> &Shared {
        &self.0
    }
}
