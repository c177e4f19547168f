//! Opt-in persistence (`--data-dir`): the whole state in an embedded [`redb`] database.
//!
//! Design: every change to the world (a number, WABA or token written or removed, the clock
//! moved, everything replaced by a reset or an import) is turned into a [`Change`] record and
//! queued, in order, while the change's own lock is still held (a number's entry lock, the
//! reset gate), so the queue's order per key is the order of the changes in memory. One
//! writer thread drains the queue, writes everything it got in one transaction, commits it
//! (redb's default durability: fsynced), and publishes the sequence number of the last record
//! committed. Before a response is sent, [`Store::durable`] waits until everything queued so
//! far is committed (group commit: one fsync covers every request that came in meanwhile).
//!
//! Crash safety comes from redb: a transaction is either fully on disk or absent after a
//! crash, and the file opens again after a `kill -9`.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::thread::JoinHandle;

use parking_lot::Mutex;
use redb::{Database, ReadableTable, TableDefinition};
use serde::{Deserialize, Serialize};
use tokio::sync::{mpsc, watch};

use crate::clock::{Clock, ClockMode};
use crate::domain::{App, AuthCode, PhoneNumber, Token, Waba};
use crate::fixtures::{
    AppFixture, AuthCodeFixture, FixtureDocument, NumberFixture, TokenFixture, WabaFixture,
    app_fixture, auth_code_fixture, number_fixture, token_fixture, waba_fixture,
};

/// The database file inside the data directory.
pub const DB_FILE: &str = "emulator.redb";

/// What the meta table's `schema` key holds in a database this version wrote.
const SCHEMA: &[u8] = b"wa-cloud-emulator/state/1";

const META: TableDefinition<&str, &[u8]> = TableDefinition::new("meta");
const NUMBERS: TableDefinition<&str, &[u8]> = TableDefinition::new("numbers");
const WABAS: TableDefinition<&str, &[u8]> = TableDefinition::new("wabas");
const TOKENS: TableDefinition<&str, &[u8]> = TableDefinition::new("tokens");
const NAMESPACES: TableDefinition<&str, &[u8]> = TableDefinition::new("namespaces");
/// Added after schema 1's first tables: a database written before it has none, which reads as
/// no namespace clocks.
const NAMESPACE_CLOCKS: TableDefinition<&str, &[u8]> = TableDefinition::new("namespace_clocks");
/// Partner apps and authorization codes, added with the onboarding chain: a database written
/// before has none, which reads as no apps and no codes.
const APPS: TableDefinition<&str, &[u8]> = TableDefinition::new("apps");
/// The apps table's one key: the list, in order.
const ALL_APPS: &str = "all";
const AUTH_CODES: TableDefinition<&str, &[u8]> = TableDefinition::new("auth_codes");

/// Why a data directory cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The directory or the file cannot be created or opened.
    #[error("cannot use the data directory {path} (--data-dir / WA_EMU_DATA_DIR): {message}")]
    Io {
        /// The path concerned.
        path: PathBuf,
        /// What went wrong.
        message: String,
    },
    /// The file exists but is not a state database of this emulator (corrupt, foreign, or of
    /// another schema version). It is left untouched.
    #[error(
        "{path} is not a wa-cloud-emulator state database ({message}); it was left untouched: \
         move it away or point --data-dir / WA_EMU_DATA_DIR elsewhere"
    )]
    Foreign {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        message: String,
    },
}

/// The clock as persisted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClockRecord {
    /// The clock was manual.
    pub manual: bool,
    /// Its reading when saved (ms since the epoch).
    pub now_ms: i64,
    /// Its offset from the system time when saved (ms).
    pub offset_ms: i64,
}

impl ClockRecord {
    /// The clock's present reading.
    pub fn of(clock: &Clock) -> Self {
        Self {
            manual: clock.mode() == ClockMode::Manual,
            now_ms: clock.now().timestamp_millis(),
            offset_ms: clock.offset().num_milliseconds(),
        }
    }

    /// Puts `clock` back where this record says: a manual clock at the same instant, a
    /// system clock at the same offset.
    pub fn restore(&self, clock: &Clock) {
        match (self.manual, clock.mode()) {
            (true, ClockMode::Manual) => {
                if let Some(instant) = chrono::DateTime::from_timestamp_millis(self.now_ms) {
                    clock.set(instant);
                }
            }
            _ => clock.set_offset(chrono::TimeDelta::milliseconds(self.offset_ms)),
        }
    }
}

/// One change to persist.
#[derive(Debug)]
pub enum Change {
    /// A number written (`Some`) or removed (`None`).
    Number(String, Option<Box<PhoneNumber>>),
    /// A WABA written or removed.
    Waba(String, Option<Waba>),
    /// A token written or removed, by value.
    Token(String, Option<Token>),
    /// The apps, all of them in order (there are few, and the first is the default app).
    Apps(Vec<App>),
    /// An authorization code written or removed, by code.
    AuthCode(String, Option<AuthCode>),
    /// The clock moved.
    Clock(ClockRecord),
    /// A namespace's reset target written (`Some`: its WABA with the numbers as created,
    /// and its token) or forgotten.
    Namespace(String, Option<Box<(WabaFixture, TokenFixture)>>),
    /// A namespace's own clock written (`Some`) or dropped (it follows the emulator's again).
    NamespaceClock(String, Option<ClockRecord>),
    /// Everything replaced (reset, import); namespaces are forgotten.
    Replace(Box<FixtureDocument>),
    /// Stop the writer once everything before is committed.
    Close,
}

#[derive(Debug, Serialize, Deserialize)]
struct NumberRecord {
    waba_id: String,
    number: NumberFixture,
}

tokio::task_local! {
    /// The last change the current request queued (see [`Store::track`]).
    static LAST_QUEUED: std::cell::Cell<u64>;
}

/// How far the writer got.
#[derive(Debug, Clone, Copy, Default)]
struct Progress {
    committed: u64,
    failed: bool,
}

#[derive(Debug)]
struct Queue {
    seq: u64,
    /// A change arrived after the store closed and was not persisted.
    lost: bool,
    sender: Option<mpsc::UnboundedSender<(u64, Change)>>,
}

#[derive(Debug)]
struct Inner {
    path: PathBuf,
    queue: Mutex<Queue>,
    progress: watch::Receiver<Progress>,
    writer: Mutex<Option<JoinHandle<()>>>,
}

/// The persistent store: a queue of changes and the thread that commits them.
#[derive(Debug, Clone)]
pub struct Store(Arc<Inner>);

/// What an existing database held.
#[derive(Debug)]
pub struct Loaded {
    /// Tokens, WABAs and numbers.
    pub document: FixtureDocument,
    /// The clock, if it was ever changed.
    pub clock: Option<ClockRecord>,
    /// Namespaces: their WABA with the numbers as created, and their token.
    pub namespaces: Vec<(WabaFixture, TokenFixture)>,
    /// Namespaces with a clock of their own, and its reading.
    pub namespace_clocks: Vec<(String, ClockRecord)>,
}

/// The durability wait failed: the writer stopped (a failed commit, or the store closed).
#[derive(Debug, Clone, Copy, thiserror::Error)]
#[error("the change could not be persisted to the data directory")]
pub struct NotDurable;

impl Store {
    /// Opens `dir/emulator.redb`, or creates it holding `fixtures`. Returns the store and,
    /// when the database already existed, what it holds (which wins over the fixtures).
    pub fn open(
        dir: &Path,
        fixtures: &FixtureDocument,
    ) -> Result<(Self, Option<Loaded>), StoreError> {
        let path = dir.join(DB_FILE);
        let io = |error: &dyn std::fmt::Display, at: &Path| StoreError::Io {
            path: at.to_owned(),
            message: error.to_string(),
        };
        let (database, loaded) = if path.exists() {
            let database = Database::open(&path).map_err(|error| StoreError::Foreign {
                path: path.clone(),
                message: error.to_string(),
            })?;
            let loaded = read_all(&database).map_err(|message| StoreError::Foreign {
                path: path.clone(),
                message,
            })?;
            (database, Some(loaded))
        } else {
            std::fs::create_dir_all(dir).map_err(|error| io(&error, dir))?;
            // Create under a temporary name and rename, so a crash during creation never
            // leaves a half-made file that the next start would refuse.
            let temporary = dir.join(format!("{DB_FILE}.creating"));
            let _ = std::fs::remove_file(&temporary);
            {
                let database =
                    Database::create(&temporary).map_err(|error| io(&error, &temporary))?;
                let write = || -> Result<(), DbError> {
                    let txn = database.begin_write()?;
                    {
                        let mut meta = txn.open_table(META)?;
                        meta.insert("schema", SCHEMA)?;
                    }
                    replace(&txn, fixtures)?;
                    txn.commit()?;
                    Ok(())
                };
                write().map_err(|error| io(&error, &temporary))?;
            }
            std::fs::rename(&temporary, &path).map_err(|error| io(&error, &path))?;
            if let Ok(directory) = std::fs::File::open(dir) {
                let _ = directory.sync_all();
            }
            let database = Database::open(&path).map_err(|error| io(&error, &path))?;
            (database, None)
        };
        let (sender, receiver) = mpsc::unbounded_channel();
        let (progress_tx, progress) = watch::channel(Progress::default());
        let writer = std::thread::Builder::new()
            .name("wa-emu-store".into())
            .spawn(move || write_loop(database, receiver, progress_tx))
            .map_err(|error| io(&error, &path))?;
        let store = Self(Arc::new(Inner {
            path,
            queue: Mutex::new(Queue {
                seq: 0,
                lost: false,
                sender: Some(sender),
            }),
            progress,
            writer: Mutex::new(Some(writer)),
        }));
        Ok((store, loaded))
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.0.path
    }

    /// How many changes were queued so far.
    pub fn queued(&self) -> u64 {
        self.0.queue.lock().seq
    }

    /// Queues a change. Call it while holding the lock that ordered the change.
    pub fn enqueue(&self, change: Change) {
        self.enqueue_with(|| change);
    }

    /// Queues the change `make` builds, building it under the queue's lock (for values, like
    /// the clock, that have no lock of their own: the last record queued reads the last value).
    pub fn enqueue_with(&self, make: impl FnOnce() -> Change) {
        let mut queue = self.0.queue.lock();
        let seq = queue.seq + 1;
        let sent = match &queue.sender {
            Some(sender) => sender.send((seq, make())).is_ok(),
            None => false,
        };
        if sent {
            queue.seq = seq;
            let _ = LAST_QUEUED.try_with(|last| last.set(last.get().max(seq)));
        } else {
            queue.lost = true;
        }
    }

    /// Runs `work` (a request) and returns its output with the sequence number of the last
    /// change it queued, if it queued any (tracked per task).
    pub async fn track<F: std::future::Future>(work: F) -> (F::Output, Option<u64>) {
        LAST_QUEUED
            .scope(std::cell::Cell::new(0), async move {
                let output = work.await;
                let last = LAST_QUEUED.with(std::cell::Cell::get);
                (output, (last > 0).then_some(last))
            })
            .await
    }

    /// Waits until every change queued before this call is committed.
    pub async fn durable(&self) -> Result<(), NotDurable> {
        self.durable_until(None).await
    }

    /// Waits until change `seq` and every change before it is committed; with `None`,
    /// every change queued before this call. A request that queued changes waits for its
    /// last one: everything it could have read was queued before that (changes are queued
    /// under the lock that made them visible), so it need not wait for later batches.
    pub async fn durable_until(&self, seq: Option<u64>) -> Result<(), NotDurable> {
        let target = {
            let queue = self.0.queue.lock();
            if queue.lost {
                return Err(NotDurable);
            }
            seq.unwrap_or(queue.seq)
        };
        let mut progress = self.0.progress.clone();
        loop {
            let now = *progress.borrow_and_update();
            if now.committed >= target {
                return Ok(());
            }
            if now.failed || progress.changed().await.is_err() {
                return Err(NotDurable);
            }
        }
    }

    /// Asks the writer to stop once everything queued is committed; later changes are not
    /// persisted (and the responses that would acknowledge them answer 503). Does not wait.
    pub fn request_close(&self) {
        let mut queue = self.0.queue.lock();
        if let Some(sender) = queue.sender.take() {
            queue.seq += 1;
            let _ = sender.send((queue.seq, Change::Close));
        }
    }

    /// Commits everything queued, stops the writer and closes the database file.
    pub fn close(&self) {
        self.request_close();
        if let Some(writer) = self.0.writer.lock().take() {
            let _ = writer.join();
        }
    }
}

fn write_loop(
    database: Database,
    mut receiver: mpsc::UnboundedReceiver<(u64, Change)>,
    progress: watch::Sender<Progress>,
) {
    let mut batch = Vec::new();
    while let Some(first) = receiver.blocking_recv() {
        batch.push(first);
        while batch.len() < 8192 {
            match receiver.try_recv() {
                Ok(next) => batch.push(next),
                Err(_) => break,
            }
        }
        let last = batch.last().map_or(0, |(seq, _)| *seq);
        let close = batch
            .iter()
            .any(|(_, change)| matches!(change, Change::Close));
        match commit(&database, batch.drain(..)) {
            Ok(()) => {
                progress.send_modify(|progress| progress.committed = last);
            }
            Err(error) => {
                tracing::error!(%error, "persisting the state failed; changes are no longer acknowledged");
                progress.send_modify(|progress| progress.failed = true);
                return;
            }
        }
        if close {
            break;
        }
    }
    drop(database);
}

/// A redb error, boxed (redb's own is large).
#[derive(Debug, thiserror::Error)]
#[error(transparent)]
struct DbError(Box<redb::Error>);

impl<E: Into<redb::Error>> From<E> for DbError {
    fn from(error: E) -> Self {
        Self(Box::new(error.into()))
    }
}

fn json<T: Serialize>(value: &T) -> Vec<u8> {
    // Serialising these plain structs cannot fail.
    serde_json::to_vec(value).unwrap_or_default()
}

fn commit(
    database: &Database,
    changes: impl Iterator<Item = (u64, Change)>,
) -> Result<(), DbError> {
    let txn = database.begin_write()?;
    for (_, change) in changes {
        match change {
            Change::Number(id, number) => {
                let mut table = txn.open_table(NUMBERS)?;
                match number {
                    Some(number) => {
                        let record = NumberRecord {
                            waba_id: number.waba_id.to_string(),
                            number: number_fixture(&number),
                        };
                        table.insert(id.as_str(), json(&record).as_slice())?;
                    }
                    None => {
                        table.remove(id.as_str())?;
                    }
                }
            }
            Change::Waba(id, waba) => {
                let mut table = txn.open_table(WABAS)?;
                match waba {
                    Some(waba) => {
                        table.insert(id.as_str(), json(&waba_fixture(&waba)).as_slice())?;
                    }
                    None => {
                        table.remove(id.as_str())?;
                    }
                }
            }
            Change::Token(value, token) => {
                let mut table = txn.open_table(TOKENS)?;
                match token {
                    Some(token) => {
                        table.insert(value.as_str(), json(&token_fixture(token)).as_slice())?;
                    }
                    None => {
                        table.remove(value.as_str())?;
                    }
                }
            }
            Change::Apps(apps) => {
                let mut table = txn.open_table(APPS)?;
                let apps: Vec<AppFixture> = apps.iter().map(app_fixture).collect();
                table.insert(ALL_APPS, json(&apps).as_slice())?;
            }
            Change::AuthCode(code, record) => {
                let mut table = txn.open_table(AUTH_CODES)?;
                match record {
                    Some(record) => {
                        table
                            .insert(code.as_str(), json(&auth_code_fixture(&record)).as_slice())?;
                    }
                    None => {
                        table.remove(code.as_str())?;
                    }
                }
            }
            Change::Clock(record) => {
                let mut meta = txn.open_table(META)?;
                meta.insert("clock", json(&record).as_slice())?;
            }
            Change::Namespace(id, namespace) => {
                let mut table = txn.open_table(NAMESPACES)?;
                match namespace {
                    Some(namespace) => {
                        table.insert(id.as_str(), json(&*namespace).as_slice())?;
                    }
                    None => {
                        table.remove(id.as_str())?;
                    }
                }
            }
            Change::NamespaceClock(id, clock) => {
                let mut table = txn.open_table(NAMESPACE_CLOCKS)?;
                match clock {
                    Some(clock) => {
                        table.insert(id.as_str(), json(&clock).as_slice())?;
                    }
                    None => {
                        table.remove(id.as_str())?;
                    }
                }
            }
            Change::Replace(document) => replace(&txn, &document)?,
            Change::Close => {}
        }
    }
    txn.commit()?;
    Ok(())
}

/// Rewrites the tokens, WABAs and numbers tables with `document`.
fn replace(txn: &redb::WriteTransaction, document: &FixtureDocument) -> Result<(), DbError> {
    for table in [
        NUMBERS,
        WABAS,
        TOKENS,
        NAMESPACES,
        NAMESPACE_CLOCKS,
        APPS,
        AUTH_CODES,
    ] {
        txn.delete_table(table)?;
    }
    txn.open_table(NAMESPACES)?;
    txn.open_table(NAMESPACE_CLOCKS)?;
    {
        let mut apps = txn.open_table(APPS)?;
        apps.insert(ALL_APPS, json(&document.apps).as_slice())?;
        let mut codes = txn.open_table(AUTH_CODES)?;
        for code in &document.auth_codes {
            codes.insert(code.code.as_str(), json(code).as_slice())?;
        }
    }
    let mut numbers = txn.open_table(NUMBERS)?;
    let mut wabas = txn.open_table(WABAS)?;
    let mut tokens = txn.open_table(TOKENS)?;
    for waba in &document.wabas {
        let record = WabaFixture {
            phone_numbers: Vec::new(),
            ..waba.clone()
        };
        wabas.insert(waba.id.as_str(), json(&record).as_slice())?;
        for number in &waba.phone_numbers {
            let record = NumberRecord {
                waba_id: waba.id.clone(),
                number: number.clone(),
            };
            numbers.insert(number.id.as_str(), json(&record).as_slice())?;
        }
    }
    for token in &document.tokens {
        tokens.insert(token.value.as_str(), json(token).as_slice())?;
    }
    Ok(())
}

/// Every record of a table added after schema 1's first tables, with its key (absent: none).
fn read_optional_table<T: serde::de::DeserializeOwned>(
    txn: &redb::ReadTransaction,
    table: TableDefinition<&str, &[u8]>,
    what: &str,
) -> Result<Vec<(String, T)>, String> {
    let table = match txn.open_table(table) {
        Ok(table) => table,
        Err(redb::TableError::TableDoesNotExist(_)) => return Ok(Vec::new()),
        Err(error) => return Err(error.to_string()),
    };
    let mut records = Vec::new();
    for entry in table.iter().map_err(|error| error.to_string())? {
        let (key, value) = entry.map_err(|error| error.to_string())?;
        let record = serde_json::from_slice(value.value())
            .map_err(|error| format!("{what} {}: {error}", key.value()))?;
        records.push((key.value().to_owned(), record));
    }
    Ok(records)
}

fn read_all(database: &Database) -> Result<Loaded, String> {
    let txn = database.begin_read().map_err(|error| error.to_string())?;
    let meta = txn
        .open_table(META)
        .map_err(|error| format!("no meta table: {error}"))?;
    let schema = meta
        .get("schema")
        .map_err(|error| error.to_string())?
        .ok_or("no schema marker")?;
    if schema.value() != SCHEMA {
        return Err(format!(
            "schema {:?}, expected {:?}",
            String::from_utf8_lossy(schema.value()),
            String::from_utf8_lossy(SCHEMA)
        ));
    }
    let clock = match meta.get("clock").map_err(|error| error.to_string())? {
        Some(value) => Some(
            serde_json::from_slice::<ClockRecord>(value.value())
                .map_err(|error| format!("clock: {error}"))?,
        ),
        None => None,
    };
    let mut document = FixtureDocument::default();
    let table = txn.open_table(WABAS).map_err(|error| error.to_string())?;
    for entry in table.iter().map_err(|error| error.to_string())? {
        let (key, value) = entry.map_err(|error| error.to_string())?;
        let record: WabaFixture = serde_json::from_slice(value.value())
            .map_err(|error| format!("WABA {}: {error}", key.value()))?;
        document.wabas.push(record);
    }
    document.apps = read_optional_table::<Vec<AppFixture>>(&txn, APPS, "apps")?
        .into_iter()
        .flat_map(|(_, apps)| apps)
        .collect();
    document.auth_codes = read_optional_table::<AuthCodeFixture>(&txn, AUTH_CODES, "code")?
        .into_iter()
        .map(|(_, code)| code)
        .collect();
    let table = txn.open_table(NUMBERS).map_err(|error| error.to_string())?;
    for entry in table.iter().map_err(|error| error.to_string())? {
        let (key, value) = entry.map_err(|error| error.to_string())?;
        let record: NumberRecord = serde_json::from_slice(value.value())
            .map_err(|error| format!("phone number {}: {error}", key.value()))?;
        let waba = document
            .wabas
            .iter_mut()
            .find(|waba| waba.id == record.waba_id)
            .ok_or_else(|| {
                format!(
                    "phone number {} belongs to unknown WABA {}",
                    key.value(),
                    record.waba_id
                )
            })?;
        waba.phone_numbers.push(record.number);
    }
    let table = txn.open_table(TOKENS).map_err(|error| error.to_string())?;
    for entry in table.iter().map_err(|error| error.to_string())? {
        let (_, value) = entry.map_err(|error| error.to_string())?;
        let token: TokenFixture =
            serde_json::from_slice(value.value()).map_err(|error| format!("token: {error}"))?;
        document.tokens.push(token);
    }
    let mut namespaces = Vec::new();
    let table = txn
        .open_table(NAMESPACES)
        .map_err(|error| error.to_string())?;
    for entry in table.iter().map_err(|error| error.to_string())? {
        let (key, value) = entry.map_err(|error| error.to_string())?;
        let namespace: (WabaFixture, TokenFixture) = serde_json::from_slice(value.value())
            .map_err(|error| format!("namespace {}: {error}", key.value()))?;
        namespaces.push(namespace);
    }
    let namespace_clocks =
        read_optional_table::<ClockRecord>(&txn, NAMESPACE_CLOCKS, "namespace clock")?;
    Ok(Loaded {
        document,
        clock,
        namespaces,
        namespace_clocks,
    })
}
