//! Tokens, WABAs and phone numbers: the live objects, each behind its own lock.
//!
//! Concurrency model: each phone number is one `DashMap` entry, and every operation on a
//! number runs start-to-finish (limiter check, rules, write) under that entry's lock without
//! awaiting, so concurrent requests on one number are serialised and never lose an update.
//! Requests on different numbers proceed in parallel. Every write queues its change for the
//! store (with `--data-dir`) while the entry is still locked; reads queue nothing.

use std::hash::BuildHasher;
use std::sync::Arc;

use compact_str::CompactString;
use dashmap::DashMap;
use dashmap::mapref::entry::Entry;
use subtle::ConstantTimeEq;

use crate::domain::{
    App, AuthCode, BudgetUsage, DomainError, HourlyBudget, PhoneNumber, Policy, Principal, Token,
    Waba, digits_of, split_app_token,
};
use crate::fixtures::FixtureDocument;
use crate::store::{Change, Store};

/// A number held for a change: reading it goes through `Deref`; the first mutable access
/// marks it changed, and only a changed number is queued for the store.
#[derive(Debug)]
pub struct NumberMut<'a> {
    number: &'a mut PhoneNumber,
    touched: bool,
}

impl std::ops::Deref for NumberMut<'_> {
    type Target = PhoneNumber;

    fn deref(&self) -> &PhoneNumber {
        self.number
    }
}

impl std::ops::DerefMut for NumberMut<'_> {
    fn deref_mut(&mut self) -> &mut PhoneNumber {
        self.touched = true;
        self.number
    }
}

/// A token's map key: two SipHash runs under this process's random keys (std's
/// `RandomState`; the two instances differ in one key half, so the halves are related, but a
/// collision between real tokens is still out of reach). Keyed, so the lookup's timing says
/// nothing an attacker can use (the stored value is then compared in constant time). SHA-256
/// gave the same at some 25 times the cost on every request.
type TokenKey = [u64; 2];

/// Computes [`TokenKey`]s.
#[derive(Debug, Default)]
struct TokenKeys([std::hash::RandomState; 2]);

impl TokenKeys {
    fn of(&self, token: &str) -> TokenKey {
        [self.0[0].hash_one(token), self.0[1].hash_one(token)]
    }
}

/// The maps' hasher: foldhash (hashbrown's default) instead of SipHash, which dominated
/// building a million-number world. Seeded per process, like SipHash's `RandomState`.
type Hasher = foldhash::fast::RandomState;

type Map<K, V> = DashMap<K, V, Hasher>;

/// Tokens, WABAs and numbers.
#[derive(Debug)]
pub struct World {
    tokens: Map<TokenKey, Token>,
    token_keys: TokenKeys,
    wabas: Map<String, Waba>,
    /// Boxed so the map's buckets (which hashbrown over-allocates up to 2x) stay small with a
    /// million numbers; the key is inline (ids are at most 32 digits, most fit in 24 bytes).
    numbers: Map<CompactString, Box<PhoneNumber>>,
    /// How many shards `numbers` has (for [`World::load`]'s insertion order).
    number_shards: usize,
    /// Serialises adds so two requests cannot add the same phone number at once.
    adding: parking_lot::Mutex<()>,
    /// Partner apps, in fixture order (the first is the app of tokens that name none).
    apps: parking_lot::RwLock<Vec<App>>,
    /// Embedded Signup authorization codes, by code.
    auth_codes: Map<String, AuthCode>,
    /// The WhatsApp Business Management API budget, by (app, WABA). Kept in memory only: a
    /// restart starts a fresh hour (README, known differences).
    budgets: Map<(String, String), HourlyBudget>,
    /// Where changes are persisted, with `--data-dir`.
    store: std::sync::OnceLock<Store>,
}

impl Default for World {
    fn default() -> Self {
        Self::with_number_capacity(0)
    }
}

impl World {
    fn with_number_capacity(count: usize) -> Self {
        // dashmap's own default shard count, made explicit so `load` knows it.
        let shards = (std::thread::available_parallelism().map_or(1, usize::from) * 4)
            .next_power_of_two()
            .max(2);
        Self {
            tokens: Map::default(),
            token_keys: TokenKeys::default(),
            wabas: Map::default(),
            numbers: DashMap::with_capacity_and_hasher_and_shard_amount(
                count,
                Hasher::default(),
                shards,
            ),
            number_shards: shards,
            adding: parking_lot::Mutex::new(()),
            apps: parking_lot::RwLock::new(Vec::new()),
            auth_codes: Map::default(),
            budgets: Map::default(),
            store: std::sync::OnceLock::new(),
        }
    }

    /// Builds the world a fixture document describes. The document must already be validated.
    pub fn from_fixture(document: &FixtureDocument, policy: &Policy) -> Self {
        let count = document.wabas.iter().map(|w| w.phone_numbers.len()).sum();
        let world = Self::with_number_capacity(count);
        world.load(document, policy);
        world
    }

    /// Persists every later change to `store`. Set once, before serving.
    pub fn attach_store(&self, store: Store) {
        let _ = self.store.set(store);
    }

    /// The store changes are persisted to, with `--data-dir`.
    pub fn store(&self) -> Option<&Store> {
        self.store.get()
    }

    fn record(&self, change: impl FnOnce() -> Change) {
        if let Some(store) = self.store.get() {
            store.enqueue(change());
        }
    }

    /// Replaces everything with what `document` describes. Callers hold the reset gate
    /// exclusively (or own the world alone), so the persisted replacement is ordered after
    /// every change before it and before every change after it.
    pub fn load(&self, document: &FixtureDocument, policy: &Policy) {
        self.tokens.clear();
        self.wabas.clear();
        self.numbers.clear();
        self.auth_codes.clear();
        self.budgets.clear();
        *self.apps.write() = document.apps().collect();
        for code in document.auth_codes() {
            self.auth_codes.insert(code.code.clone(), code);
        }
        for token in document.tokens() {
            self.insert_token(token);
        }
        for waba in &document.wabas {
            self.wabas.insert(waba.id.clone(), waba.to_waba());
        }
        self.insert_numbers(document.numbers(policy));
        self.record(|| Change::Replace(Box::new(document.clone())));
    }

    /// Inserts many numbers (ids known to be new) in the order of the slots they land in.
    ///
    /// A million inserts in document order are a million random writes into a table of tens
    /// of megabytes, each a cache and TLB miss; that was the largest part of loading a big
    /// fixture. Each shard's table puts an entry at (about) its hash's low bits, so sorting by
    /// those bits first turns the writes into one forward sweep per shard. Only the speed
    /// depends on guessing the table size right, not the result.
    fn insert_numbers(&self, numbers: impl Iterator<Item = PhoneNumber>) {
        let hasher = self.numbers.hasher();
        let mut staged: Vec<(u64, CompactString, Box<PhoneNumber>)> = numbers
            .map(|number| {
                let hash = hasher.hash_one(&number.id);
                (hash, number.id.clone(), Box::new(number))
            })
            .collect();
        // hashbrown's capacity is 7/8 of its power-of-two bucket count (and it grows to the
        // next power of two that fits 8/7 of the entries).
        let per_shard = (self.numbers.capacity().max(staged.len()) / self.number_shards).max(1);
        let buckets = (per_shard.saturating_mul(8) / 7).next_power_of_two() as u64;
        staged.sort_unstable_by_key(|(hash, _, _)| hash & (buckets - 1));
        for (_, id, number) in staged {
            self.numbers.insert(id, number);
        }
    }

    /// Adds or replaces a token.
    pub fn insert_token(&self, token: Token) {
        let entry = self
            .tokens
            .entry(self.token_keys.of(&token.value))
            .insert(token);
        self.record(|| Change::Token(entry.value.clone(), Some(entry.value().clone())));
    }

    /// Looks a presented token up. The map is keyed by a keyed hash of the token and the
    /// stored value is then compared in constant time, so timing reveals nothing about how
    /// much of a guess was right.
    pub fn find_token(&self, presented: &str) -> Option<Principal> {
        let entry = self.tokens.get(&self.token_keys.of(presented))?;
        let matches: bool = entry.value.as_bytes().ct_eq(presented.as_bytes()).into();
        if matches {
            return Some(Principal {
                permissions: Arc::clone(&entry.permissions),
                scope: Arc::clone(&entry.scope),
                expires_at: entry.expires_at,
                app_id: entry.app_id.clone(),
                app_token: false,
            });
        }
        None
    }

    /// Looks an app access token (`APP_ID|APP_SECRET`) up, the secret compared in constant
    /// time. The principal holds no WhatsApp permission and reaches every WABA (what it may
    /// do is decided per endpoint).
    pub fn find_app_token(&self, presented: &str) -> Option<Principal> {
        let (id, secret) = split_app_token(presented)?;
        let apps = self.apps.read();
        let app = apps.iter().find(|app| app.id == id)?;
        app.secret_matches(secret).then(|| Principal {
            permissions: Arc::new(Vec::new()),
            scope: Arc::new(crate::domain::WabaScope::All),
            expires_at: None,
            app_id: Some(Arc::from(id)),
            app_token: true,
        })
    }

    /// Copies of the apps, in fixture order.
    pub fn apps(&self) -> Vec<App> {
        self.apps.read().clone()
    }

    /// A copy of one app.
    pub fn app(&self, id: &str) -> Option<App> {
        self.apps.read().iter().find(|app| app.id == id).cloned()
    }

    /// The app of a token that names none: the first app, if any.
    pub fn default_app(&self) -> Option<App> {
        self.apps.read().first().cloned()
    }

    /// Adds or replaces an app.
    pub fn put_app(&self, app: App) {
        let mut apps = self.apps.write();
        match apps.iter_mut().find(|existing| existing.id == app.id) {
            Some(existing) => *existing = app,
            None => apps.push(app),
        }
        self.record(|| Change::Apps(apps.clone()));
    }

    /// Changes an app under the apps lock; `None` if unknown.
    pub fn update_app<R>(&self, id: &str, f: impl FnOnce(&mut App) -> R) -> Option<R> {
        let mut apps = self.apps.write();
        let app = apps.iter_mut().find(|app| app.id == id)?;
        let result = f(app);
        self.record(|| Change::Apps(apps.clone()));
        Some(result)
    }

    /// Stores a new authorization code.
    pub fn insert_auth_code(&self, code: AuthCode) {
        let entry = self.auth_codes.entry(code.code.clone()).insert(code);
        self.record(|| Change::AuthCode(entry.code.clone(), Some(entry.value().clone())));
    }

    /// Runs `f` on an authorization code under its lock, persisting it if `f` succeeds;
    /// `None` if the code is unknown.
    pub fn update_auth_code<R, E>(
        &self,
        code: &str,
        f: impl FnOnce(&mut AuthCode) -> Result<R, E>,
    ) -> Option<Result<R, E>> {
        let mut entry = self.auth_codes.get_mut(code)?;
        let result = f(entry.value_mut());
        if result.is_ok() {
            self.record(|| Change::AuthCode(code.to_owned(), Some(entry.value().clone())));
        }
        Some(result)
    }

    /// A copy of one authorization code.
    pub fn auth_code(&self, code: &str) -> Option<AuthCode> {
        self.auth_codes.get(code).map(|entry| entry.value().clone())
    }

    /// Copies of every authorization code, sorted by issue time.
    pub fn auth_codes(&self) -> Vec<AuthCode> {
        let mut all: Vec<_> = self
            .auth_codes
            .iter()
            .map(|entry| entry.value().clone())
            .collect();
        all.sort_by(|a, b| a.issued_at.cmp(&b.issued_at).then(a.code.cmp(&b.code)));
        all
    }

    /// Counts one call of `app_id` on `waba_id` against `limit` calls an hour (the
    /// WhatsApp Business Management API budget).
    pub fn spend_budget(
        &self,
        app_id: &str,
        waba_id: &str,
        now: chrono::DateTime<chrono::Utc>,
        limit: u32,
    ) -> Result<BudgetUsage, BudgetUsage> {
        self.budgets
            .entry((app_id.to_owned(), waba_id.to_owned()))
            .or_default()
            .admit(now, limit)
    }

    /// Whether any number of the WABA is registered (the budget is larger then).
    pub fn has_registered_number(&self, waba_id: &str) -> bool {
        self.numbers
            .iter()
            .any(|entry| entry.registered && *entry.waba_id == *waba_id)
    }

    /// Changes a WABA under its entry lock and persists it; `None` if unknown.
    pub fn update_waba<R>(&self, id: &str, f: impl FnOnce(&mut Waba) -> R) -> Option<R> {
        let mut entry = self.wabas.get_mut(id)?;
        let result = f(entry.value_mut());
        self.record(|| Change::Waba(id.to_owned(), Some(entry.value().clone())));
        Some(result)
    }

    /// Runs `f` on a number while holding its entry lock, and queues the number for the store
    /// if `f` took it mutably ([`NumberMut`]): a request that only looked (refused by a block,
    /// a bad parameter) leaves nothing to persist. `None` if the number is unknown.
    pub fn update_number<R>(&self, id: &str, f: impl FnOnce(&mut NumberMut<'_>) -> R) -> Option<R> {
        let mut entry = self.numbers.get_mut(id)?;
        let mut number = NumberMut {
            number: entry.value_mut(),
            touched: false,
        };
        let result = f(&mut number);
        if number.touched {
            self.record(|| Change::Number(id.to_owned(), Some(entry.value().clone())));
        }
        Some(result)
    }

    /// Runs `f` on a number while holding its entry lock (so it sees no half-made change),
    /// without queuing anything for the store: a read never waits for a commit of its own.
    /// `None` if the number is unknown.
    pub fn read_number<R>(&self, id: &str, f: impl FnOnce(&PhoneNumber) -> R) -> Option<R> {
        let entry = self.numbers.get(id)?;
        Some(f(entry.value()))
    }

    /// The WABA a node belongs to: a number's WABA, or the node itself when it is a WABA.
    pub fn waba_of(&self, node: &str) -> Option<Arc<str>> {
        if let Some(number) = self.numbers.get(node) {
            return Some(Arc::clone(&number.waba_id));
        }
        self.wabas.contains_key(node).then(|| Arc::from(node))
    }

    /// A copy of one WABA.
    pub fn waba(&self, id: &str) -> Option<Waba> {
        self.wabas.get(id).map(|entry| entry.value().clone())
    }

    /// Whether a WABA or a number already uses `id`.
    pub fn id_taken(&self, id: &str) -> bool {
        self.wabas.contains_key(id) || self.numbers.contains_key(id)
    }

    /// Adds a number unless one with the same digits (country code and number) already
    /// exists in any WABA, or its id is taken.
    pub fn insert_number(&self, number: PhoneNumber) -> Result<(), DomainError> {
        let _adding = self.adding.lock();
        let digits = digits_of(&number.display_phone_number);
        let duplicate = self
            .numbers
            .iter()
            .any(|entry| digits_of(&entry.value().display_phone_number) == digits);
        if duplicate || self.id_taken(&number.id) {
            return Err(DomainError::DuplicateNumber {
                display: number.display_phone_number.into(),
            });
        }
        self.put_number(number);
        Ok(())
    }

    /// Copies of the numbers of one WABA, sorted by id.
    pub fn numbers_of_waba(&self, waba_id: &str) -> Vec<PhoneNumber> {
        let mut all: Vec<_> = self
            .numbers
            .iter()
            .filter(|entry| *entry.value().waba_id == *waba_id)
            .map(|entry| (**entry.value()).clone())
            .collect();
        all.sort_by(|a, b| a.id.cmp(&b.id));
        all
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

    /// Adds or replaces a number without the duplicate check (control API and fixtures,
    /// which validate on their own).
    pub fn put_number(&self, number: PhoneNumber) {
        let entry = self
            .numbers
            .entry(number.id.clone())
            .insert(Box::new(number));
        self.record(|| Change::Number(entry.id.to_string(), Some(entry.value().clone())));
    }

    /// Removes a number; `None` if unknown.
    pub fn remove_number(&self, id: &str) -> Option<PhoneNumber> {
        match self.numbers.entry(CompactString::from(id)) {
            Entry::Occupied(entry) => {
                // Queued while the entry is still locked, so it cannot overtake a later put.
                self.record(|| Change::Number(id.to_owned(), None));
                Some(*entry.remove())
            }
            Entry::Vacant(_) => None,
        }
    }

    /// Adds or replaces a WABA.
    pub fn insert_waba(&self, waba: Waba) {
        let entry = self.wabas.entry(waba.id.clone()).insert(waba);
        self.record(|| Change::Waba(entry.id.clone(), Some(entry.value().clone())));
    }

    /// Removes a WABA and its numbers; `None` if unknown.
    pub fn remove_waba(&self, id: &str) -> Option<Waba> {
        let waba = match self.wabas.entry(id.to_owned()) {
            Entry::Occupied(entry) => {
                self.record(|| Change::Waba(id.to_owned(), None));
                entry.remove()
            }
            Entry::Vacant(_) => return None,
        };
        self.numbers.retain(|number_id, number| {
            let keep = *number.waba_id != *id;
            if !keep {
                self.record(|| Change::Number(number_id.to_string(), None));
            }
            keep
        });
        Some(waba)
    }

    /// Removes a token by value; false if unknown.
    pub fn remove_token(&self, value: &str) -> bool {
        match self.tokens.entry(self.token_keys.of(value)) {
            Entry::Occupied(entry) => {
                self.record(|| Change::Token(value.to_owned(), None));
                entry.remove();
                true
            }
            Entry::Vacant(_) => false,
        }
    }

    /// A copy of one token by value.
    pub fn token(&self, value: &str) -> Option<Token> {
        self.tokens
            .get(&self.token_keys.of(value))
            .filter(|entry| entry.value == value)
            .map(|entry| entry.value().clone())
    }

    /// Number of phone numbers.
    pub fn number_count(&self) -> usize {
        self.numbers.len()
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures::{NumberFixture, WabaFixture};

    #[test]
    fn a_bulk_load_finds_every_number_and_reloads_cleanly() {
        let waba = |waba: usize| WabaFixture {
            id: format!("9{waba}"),
            name: String::new(),
            phone_numbers: (0..3_000)
                .map(|i| {
                    serde_json::from_value::<NumberFixture>(
                        serde_json::json!({"id": format!("1{waba}{i:05}")}),
                    )
                    .unwrap()
                })
                .collect(),
            ..WabaFixture::default()
        };
        let document = FixtureDocument {
            wabas: vec![waba(1), waba(2)],
            ..FixtureDocument::default()
        };
        let policy = Policy::default();
        let world = World::from_fixture(&document, &policy);
        world.load(&document, &policy);
        assert_eq!(world.number_count(), 6_000);
        for number in document.wabas.iter().flat_map(|waba| &waba.phone_numbers) {
            assert_eq!(world.number(&number.id).unwrap().id, number.id);
        }
        assert_eq!(&*world.number("1200042").unwrap().waba_id, "92");
    }

    #[test]
    fn only_a_number_taken_mutably_is_queued_for_the_store() {
        let dir = std::env::temp_dir().join(format!(
            "wa-emu-world-{}-{}",
            std::process::id(),
            crate::state::random_seed()
        ));
        let document = FixtureDocument::embedded_default();
        let policy = Policy::default();
        let world = World::from_fixture(&document, &policy);
        let (store, _) = Store::open(&dir, &document).unwrap();
        world.attach_store(store.clone());
        let id = "106540352242922";
        let before = store.queued();
        // Reads, and an update that only looks, queue nothing.
        assert_eq!(
            world.read_number(id, |number| number.registered),
            Some(false)
        );
        assert_eq!(
            world.update_number(id, |number| number.registered),
            Some(false)
        );
        assert_eq!(store.queued(), before);
        // Taking it mutably queues it once.
        world.update_number(id, |number| number.registered = true);
        assert_eq!(store.queued(), before + 1);
        assert!(world.number(id).unwrap().registered);
        store.close();
        let _ = std::fs::remove_dir_all(&dir);
    }
}
