//! The emulator's state, and the one boundary every other layer goes through to read or
//! change it: the world of tokens, WABAs and numbers ([`World`]), the request journal, the
//! armed faults, the namespaces, id generation and the clock.
//!
//! Fields are private: the Graph layer and the control layer call the methods below, which
//! take the locks themselves. The reset gate is the one lock that spans objects: a request
//! reads and changes the world through a [`WorldGuard`] (the gate held shared), a reset or an
//! import replaces everything with the gate held exclusively, so no request ever sees half a
//! reset. Changes are queued for the store (with `--data-dir`) under the lock that made them,
//! by the world itself; reads queue nothing.

mod events;
mod faults;
mod gauges;
mod ids;
mod journal;
mod namespaces;
mod world;

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

use chrono::{DateTime, TimeDelta, Utc};
use parking_lot::{Mutex, RwLock, RwLockReadGuard};

pub use events::{
    AccountEvent, DEFAULT_APP_FIELDS, DELIVERED_AFTER, Event, InboundContact, InboundMessage,
    InboundMessages, Metadata, NameUpdate, OVERRIDABLE_FIELDS, PartnerEvent, Profile, READ_AFTER,
    Target, TextBody, WEBHOOK_FIELDS, WabaInfo,
};
pub use faults::{
    FAULT_MAX_LATENCY_MS, Fault, FaultAnswer, FaultError, FaultSpec, Faults, Triggered, Withhold,
};
pub use gauges::{GaugeHold, GaugeView, Gauges};
pub use ids::{IdGenerator, RequestIds, random_seed};
pub use journal::{
    Delivery, FaultMark, JOURNALED_HEADERS, Journal, JournalCounts, JournalEntry, JournalFilter,
    JournalRecord, Outcome, RequestText, mask_token, masked_params,
};
pub use namespaces::Namespace;
pub use world::{NumberMut, World};

use crate::clock::Clock;
use crate::domain::{PhoneNumber, Policy, Principal};
use crate::fixtures::{FixtureDocument, FixtureError, ResetTarget, TokenFixture, WabaFixture};
use crate::store::{Change, ClockRecord, Loaded, Store};
use crate::webhooks::{WebhookConfig, WebhookEngine};

/// Runtime settings that are not business rules.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Largest accepted request body.
    pub max_body_bytes: usize,
    /// Accept `data_localization_region` on register for v21.0 and later too (by default
    /// refused with code 12, as the live API and Meta's local-storage page have it).
    pub allow_region_on_register_from_v21: bool,
    /// Token the control API requires, if any.
    pub admin_token: Option<String>,
    /// The server listens beyond loopback: without an admin token the control API is off.
    pub control_exposed: bool,
    /// Journal entries kept (0 disables the journal).
    pub journal_capacity: usize,
    /// Time allowed to receive a request body once its headers arrived.
    pub body_timeout: std::time::Duration,
    /// The local CA certificate (PEM) when HTTPS is on, served at `/__emulator/ca.pem`.
    pub ca_pem: Option<String>,
    /// How long a webhook handshake may take (Meta's is about 6 seconds).
    pub webhook_handshake_timeout: std::time::Duration,
    /// How long a webhook delivery may take before it counts as failed.
    pub webhook_delivery_timeout: std::time::Duration,
    /// The `granular_scopes` shape `debug_token` answers for tokens that do not carry one.
    pub granular_scopes: crate::domain::ScopesShape,
    /// The code exchange answers `expires_in` too (Graph's generic exchange answer has it;
    /// Embedded Signup apps see only `access_token` and `token_type`).
    pub exchange_expires_in: bool,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            max_body_bytes: 64 * 1024,
            allow_region_on_register_from_v21: false,
            admin_token: None,
            control_exposed: false,
            journal_capacity: 1000,
            body_timeout: std::time::Duration::from_secs(10),
            ca_pem: None,
            webhook_handshake_timeout: crate::webhooks::DEFAULT_HANDSHAKE_TIMEOUT,
            webhook_delivery_timeout: crate::webhooks::DEFAULT_DELIVERY_TIMEOUT,
            granular_scopes: crate::domain::ScopesShape::Classic,
            exchange_expires_in: false,
        }
    }
}

/// The shared state: cheap to clone (one reference count), shared by every request.
#[derive(Debug, Clone)]
pub struct AppState(Arc<Shared>);

#[derive(Debug)]
struct Shared {
    /// Shared with the webhook engine, whose retries run on it.
    clock: Arc<Clock>,
    /// Webhook deliveries: queues, retries, the delivery log and delivery faults.
    webhooks: WebhookEngine,
    policy: Policy,
    settings: Settings,
    world: World,
    /// Request, trace and debug ids.
    ids: IdGenerator,
    /// Verification codes and Graph-made object ids: a sequence of its own, so request ids
    /// do not shift them.
    lifecycle_ids: IdGenerator,
    /// What a reset returns to.
    reset_target: ResetTarget,
    journal: Journal,
    faults: Faults,
    /// Open connections and held requests, kept by the server.
    gauges: Arc<Gauges>,
    /// Namespaces created through the control API, by WABA id.
    namespaces: Mutex<HashMap<String, Namespace>>,
    /// Clocks of the namespaces set apart from the emulator's, by namespace id. The others
    /// follow the emulator's clock.
    namespace_clocks: RwLock<HashMap<String, Arc<Clock>>>,
    /// How many namespaces have a clock of their own: while none has, a request reads the
    /// emulator's clock without looking its object up.
    clocks_apart: AtomicUsize,
    /// Held shared by every reader and writer of the world, exclusively by a reset or an
    /// import.
    gate: RwLock<()>,
    /// Source of ids for control-made numbers, WABAs and namespaces.
    next_id: AtomicU64,
}

/// Which clock a request or an object is judged by.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JudgedBy {
    /// The emulator's clock.
    Emulator,
    /// The clock of this namespace, set apart from the emulator's.
    Namespace(compact_str::CompactString),
}

impl JudgedBy {
    /// `emulator`, or `namespace:<id>`.
    pub fn label(&self) -> String {
        match self {
            Self::Emulator => "emulator".to_owned(),
            Self::Namespace(id) => format!("namespace:{id}"),
        }
    }
}

/// The world with the reset gate held shared: no reset or import can run until it is dropped.
/// Never hold one across an `.await`.
#[derive(Debug)]
pub struct WorldGuard<'a> {
    world: &'a World,
    _shared: RwLockReadGuard<'a, ()>,
}

impl std::ops::Deref for WorldGuard<'_> {
    type Target = World;

    fn deref(&self) -> &World {
        self.world
    }
}

impl AppState {
    /// Builds the state: the world as `fixtures` describes it, and what a reset returns to
    /// (usually the same document; see [`ResetTarget`]).
    pub fn new(
        clock: Clock,
        policy: Policy,
        settings: Settings,
        fixtures: &FixtureDocument,
        reset_target: ResetTarget,
        id_seed: u64,
    ) -> Self {
        let world = World::from_fixture(fixtures, &policy);
        let journal = Journal::new(settings.journal_capacity);
        let clock = Arc::new(clock);
        let webhooks = WebhookEngine::new(
            Arc::clone(&clock),
            WebhookConfig {
                handshake_timeout: settings.webhook_handshake_timeout,
                delivery_timeout: settings.webhook_delivery_timeout,
                ..WebhookConfig::default()
            },
        );
        Self(Arc::new(Shared {
            clock,
            webhooks,
            policy,
            settings,
            world,
            ids: IdGenerator::new(id_seed),
            lifecycle_ids: IdGenerator::new(id_seed ^ 0xC0DE_C0DE_C0DE_C0DE),
            reset_target,
            journal,
            faults: Faults::default(),
            gauges: Arc::default(),
            namespaces: Mutex::new(HashMap::new()),
            namespace_clocks: RwLock::new(HashMap::new()),
            clocks_apart: AtomicUsize::new(0),
            gate: RwLock::new(()),
            next_id: AtomicU64::new(900_000_000_000_001),
        }))
    }

    /// The clock.
    pub fn clock(&self) -> &Clock {
        &self.0.clock
    }

    /// The emulator's now.
    pub fn now(&self) -> DateTime<Utc> {
        self.0.clock.now()
    }

    /// The now a request on `node` (a number or a WABA) is judged by: its namespace's clock
    /// when that namespace has one of its own, else the emulator's. Read once per request.
    pub fn now_for_node(&self, node: &str) -> (DateTime<Utc>, JudgedBy) {
        if self.0.clocks_apart.load(Ordering::Acquire) == 0 {
            return (self.now(), JudgedBy::Emulator);
        }
        match self.0.world.waba_of(node) {
            Some(waba) => self.now_for_waba(&waba),
            None => (self.now(), JudgedBy::Emulator),
        }
    }

    /// The now of the objects of `waba_id` (see [`now_for_node`](Self::now_for_node)).
    pub fn now_for_waba(&self, waba_id: &str) -> (DateTime<Utc>, JudgedBy) {
        if self.0.clocks_apart.load(Ordering::Acquire) > 0
            && let Some(clock) = self.0.namespace_clocks.read().get(waba_id)
        {
            return (clock.now(), JudgedBy::Namespace(waba_id.into()));
        }
        (self.now(), JudgedBy::Emulator)
    }

    /// The clock of a namespace when it has one of its own; `None` while it follows the
    /// emulator's (or is unknown).
    pub fn namespace_clock(&self, id: &str) -> Option<Arc<Clock>> {
        self.0.namespace_clocks.read().get(id).cloned()
    }

    /// Changes a namespace's clock with `change` (`set` or `advance`), first setting it apart
    /// from the emulator's at the emulator's present reading. Persisted with `--data-dir`.
    /// `None` if there is no such namespace.
    pub fn change_namespace_clock(
        &self,
        id: &str,
        change: impl FnOnce(&Clock),
    ) -> Option<Arc<Clock>> {
        let namespaces = self.0.namespaces.lock();
        if !namespaces.contains_key(id) {
            return None;
        }
        let mut clocks = self.0.namespace_clocks.write();
        let clock = match clocks.get(id) {
            Some(clock) => Arc::clone(clock),
            None => {
                let clock = Arc::new(self.0.clock.detached_copy());
                clocks.insert(id.to_owned(), Arc::clone(&clock));
                self.0.clocks_apart.store(clocks.len(), Ordering::Release);
                clock
            }
        };
        change(&clock);
        if let Some(store) = self.0.world.store() {
            store.enqueue(Change::NamespaceClock(
                id.to_owned(),
                Some(ClockRecord::of(&clock)),
            ));
        }
        Some(clock)
    }

    /// Makes a namespace follow the emulator's clock again. Call with the namespaces lock
    /// held (so the store sees it in order with the namespace's own records).
    fn rejoin_emulator_clock(&self, id: &str) {
        let mut clocks = self.0.namespace_clocks.write();
        if clocks.remove(id).is_some() {
            self.0.clocks_apart.store(clocks.len(), Ordering::Release);
            if let Some(store) = self.0.world.store() {
                store.enqueue(Change::NamespaceClock(id.to_owned(), None));
            }
        }
    }

    /// Forgets every namespace clock (reset, import: the namespaces are gone).
    fn forget_namespace_clocks(&self) {
        self.0.namespace_clocks.write().clear();
        self.0.clocks_apart.store(0, Ordering::Release);
    }

    /// The webhook engine (deliveries, their log and faults, handshakes).
    pub fn webhooks(&self) -> &WebhookEngine {
        &self.0.webhooks
    }

    /// The rules' parameters.
    pub fn policy(&self) -> &Policy {
        &self.0.policy
    }

    /// Runtime settings.
    pub fn settings(&self) -> &Settings {
        &self.0.settings
    }

    /// The request journal (append and query).
    pub fn journal(&self) -> &Journal {
        &self.0.journal
    }

    /// The armed faults (arm, list, take, remove).
    pub fn faults(&self) -> &Faults {
        &self.0.faults
    }

    /// Open connections and held requests (the server counts them; the control API shows
    /// them).
    pub fn gauges(&self) -> &Arc<Gauges> {
        &self.0.gauges
    }

    /// The ids of the next response.
    pub fn next_request_ids(&self) -> RequestIds {
        self.0.ids.next()
    }

    /// The next draw of the lifecycle sequence (verification codes, Graph-made ids).
    pub fn draw_lifecycle_id(&self) -> u64 {
        self.0.lifecycle_ids.draw()
    }

    /// The world, with the reset gate held shared until the guard is dropped.
    pub fn world(&self) -> WorldGuard<'_> {
        WorldGuard {
            world: &self.0.world,
            _shared: self.0.gate.read(),
        }
    }

    /// Looks a presented token up (see [`World::find_token`]). One map read, so the gate is
    /// not taken: a reset running at that instant can only make it miss, as a request just
    /// before the reset would not.
    pub fn find_token(&self, presented: &str) -> Option<Principal> {
        self.0.world.find_token(presented)
    }

    /// Looks an app token (`APP_ID|APP_SECRET`) up (see [`World::find_app_token`]); like
    /// [`find_token`](Self::find_token), without the gate.
    pub fn find_app_token(&self, presented: &str) -> Option<Principal> {
        self.0.world.find_app_token(presented)
    }

    /// A copy of one number.
    pub fn number(&self, id: &str) -> Option<PhoneNumber> {
        self.world().number(id)
    }

    /// Copies of the numbers of one WABA, sorted by id.
    pub fn numbers_of_waba(&self, waba_id: &str) -> Vec<PhoneNumber> {
        self.world().numbers_of_waba(waba_id)
    }

    /// How many numbers the world holds.
    pub fn number_count(&self) -> usize {
        self.0.world.number_count()
    }

    /// The document a reset returns to (a large fixture file is read again).
    pub fn fixture_document(&self) -> Result<Arc<FixtureDocument>, FixtureError> {
        self.0.reset_target.document()
    }

    /// What a reset returns to.
    pub fn reset_target(&self) -> &ResetTarget {
        &self.0.reset_target
    }

    /// Replaces the world with `document` and forgets the namespaces (and their clocks), under
    /// the exclusive gate (an import). The journal and the faults are kept.
    pub fn replace(&self, document: &FixtureDocument) {
        let _exclusive = self.0.gate.write();
        self.load_world(document);
    }

    /// [`replace`](Self::replace), and the journal and the faults cleared too (a reset).
    pub fn reset_to(&self, document: &FixtureDocument) {
        let _exclusive = self.0.gate.write();
        self.load_world(document);
        self.0.journal.clear();
        self.0.faults.clear();
        self.0.webhooks.clear();
        self.0.webhooks.clear_faults();
    }

    /// The world as `document` describes it, no namespaces. Call with the gate held
    /// exclusively.
    fn load_world(&self, document: &FixtureDocument) {
        self.0.world.load(document, &self.0.policy);
        self.0.namespaces.lock().clear();
        self.forget_namespace_clocks();
    }

    /// An id (a decimal number) that no WABA or number uses yet.
    pub fn fresh_control_id(&self) -> String {
        loop {
            let id = self.next_control_serial().to_string();
            if !self.0.world.id_taken(&id) {
                return id;
            }
        }
    }

    /// The next number of the control sequence (unique for the run).
    pub fn next_control_serial(&self) -> u64 {
        self.0.next_id.fetch_add(1, Ordering::Relaxed)
    }

    /// Sets the clock to `instant` (persisted with `--data-dir`).
    pub fn set_clock(&self, instant: DateTime<Utc>) {
        self.0.clock.set(instant);
        self.persist_clock();
    }

    /// Moves the clock by `delta` (persisted with `--data-dir`).
    pub fn advance_clock(&self, delta: TimeDelta) {
        self.0.clock.advance(delta);
        self.persist_clock();
    }

    fn persist_clock(&self) {
        if let Some(store) = self.0.world.store() {
            // Built under the queue's lock, so the last record queued holds the last reading.
            store.enqueue_with(|| Change::Clock(ClockRecord::of(&self.0.clock)));
        }
    }

    /// Persists every later change to `store`, after bringing back what it held (which wins
    /// over the fixtures). Call once, before serving.
    pub fn attach_store(&self, store: Store, loaded: Option<Loaded>) {
        if let Some(loaded) = loaded {
            self.0.world.load(&loaded.document, &self.0.policy);
            if let Some(clock) = loaded.clock {
                clock.restore(&self.0.clock);
            }
            self.restore_namespaces(&loaded.namespaces);
            let mut clocks = self.0.namespace_clocks.write();
            for (id, record) in &loaded.namespace_clocks {
                let clock = self.0.clock.detached_copy();
                record.restore(&clock);
                clocks.insert(id.clone(), Arc::new(clock));
            }
            self.0.clocks_apart.store(clocks.len(), Ordering::Release);
        }
        self.0.world.attach_store(store);
    }

    /// The store, with `--data-dir`.
    pub fn store(&self) -> Option<&Store> {
        self.0.world.store()
    }
}

impl AppState {
    /// Adds a namespace: its WABA, numbers and token go into the world, and it is kept as
    /// the target of its own resets.
    pub fn insert_namespace(&self, namespace: Namespace) {
        let world = self.world();
        world.insert_waba(namespace.waba.clone());
        for number in &namespace.numbers {
            world.put_number(number.clone());
        }
        world.insert_token(namespace.token.clone());
        let mut namespaces = self.0.namespaces.lock();
        self.persist_namespace(&namespace.waba.id, Some(&namespace));
        namespaces.insert(namespace.waba.id.clone(), namespace);
    }

    /// A copy of one namespace as created.
    pub fn namespace(&self, id: &str) -> Option<Namespace> {
        self.0.namespaces.lock().get(id).cloned()
    }

    /// Returns one namespace's WABA, numbers and token to how they were created. `None` if
    /// there is no such namespace.
    pub fn reset_namespace(&self, id: &str) -> Option<Namespace> {
        let namespace = self.namespace(id)?;
        {
            // Its clock follows the emulator's again.
            let _namespaces = self.0.namespaces.lock();
            self.rejoin_emulator_clock(id);
        }
        // Exclusive, so no request sees the namespace between its numbers' removal and their
        // return.
        let _exclusive = self.0.gate.write();
        let world = &self.0.world;
        for number in world.numbers_of_waba(id) {
            world.remove_number(&number.id);
        }
        world.insert_waba(namespace.waba.clone());
        for number in &namespace.numbers {
            world.put_number(number.clone());
        }
        world.insert_token(namespace.token.clone());
        Some(namespace)
    }

    /// Removes a namespace with its WABA, numbers and token; `None` if unknown.
    pub fn remove_namespace(&self, id: &str) -> Option<Namespace> {
        let world = self.world();
        let namespace = {
            let mut namespaces = self.0.namespaces.lock();
            let namespace = namespaces.remove(id)?;
            self.persist_namespace(id, None);
            self.rejoin_emulator_clock(id);
            namespace
        };
        world.remove_waba(id);
        world.remove_token(&namespace.token.value);
        Some(namespace)
    }

    /// Removes a WABA with its numbers (and the namespace it was, if any); `None` if unknown.
    pub fn remove_waba(&self, id: &str) -> Option<crate::domain::Waba> {
        let world = self.world();
        {
            let mut namespaces = self.0.namespaces.lock();
            if namespaces.remove(id).is_some() {
                self.persist_namespace(id, None);
                self.rejoin_emulator_clock(id);
            }
        }
        world.remove_waba(id)
    }

    /// Queues a namespace's reset target (or its removal) for the store, if any. Called with
    /// the namespaces lock held, so the store sees them in the order they happened.
    fn persist_namespace(&self, id: &str, namespace: Option<&Namespace>) {
        if let Some(store) = self.0.world.store() {
            let record = namespace.map(|namespace| Box::new(namespace.to_fixtures()));
            store.enqueue(Change::Namespace(id.to_owned(), record));
        }
    }

    /// Brings back the namespaces a store held (at start, before serving).
    fn restore_namespaces(&self, namespaces: &[(WabaFixture, TokenFixture)]) {
        let mut map = self.0.namespaces.lock();
        for (waba, token) in namespaces {
            if let Some(namespace) = Namespace::from_fixtures(waba, token, &self.0.policy) {
                map.insert(waba.id.clone(), namespace);
            }
        }
    }
}
