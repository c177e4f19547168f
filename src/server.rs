//! Starting and stopping an emulator: the builder used by the binary and by Rust tests.

use std::future::Future;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use axum::Router;
use axum::response::IntoResponse;
use chrono::{DateTime, Utc};
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::GracefulShutdown;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Semaphore, oneshot, watch};
use tokio::task::{AbortHandle, JoinHandle};
use tower::ServiceExt as _;

use crate::clock::{Clock, ClockMode};
use crate::config::{ClockChoice, Config};
use crate::control::{self, Control};
use crate::domain::{PinLockoutPolicy, Policy, RateLimitPolicy};
use crate::fixtures::{DEFAULT_KEEP_PARSED_BYTES, FixtureDocument, FixtureError, ResetTarget};
use crate::graph;
use crate::state::{AppState, Settings, Withhold};
use crate::store::{Store, StoreError};
use crate::tls::{self, TlsError, TlsMaterial};

/// Why an emulator could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The fixture file is missing or invalid.
    #[error(transparent)]
    Fixture(#[from] FixtureError),
    /// The listen address is unavailable.
    #[error("cannot listen on {addr} (--listen / WA_EMU_LISTEN): {source}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// The socket error.
        source: std::io::Error,
    },
    /// The HTTPS listen address is unavailable.
    #[error("cannot listen for HTTPS on {addr} (--https-listen / WA_EMU_HTTPS_LISTEN): {source}")]
    HttpsBind {
        /// The address.
        addr: SocketAddr,
        /// The socket error.
        source: std::io::Error,
    },
    /// The local CA or the HTTPS certificate could not be prepared (bad `--tls-name`,
    /// unreadable, invalid or mismatched files in `--ca-dir`).
    #[error(transparent)]
    Tls(#[from] TlsError),
    /// The data directory cannot be used: unwritable, or it holds a file that is not this
    /// emulator's state database (which is never overwritten).
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Entry point of the library mode.
#[derive(Debug)]
pub struct Emulator;

impl Emulator {
    /// A builder with the defaults: embedded fixtures, system clock, Meta's limits, and a
    /// random loopback port.
    pub fn builder() -> EmulatorBuilder {
        EmulatorBuilder::default()
    }

    /// A builder set up from the command-line configuration (what the binary runs).
    pub fn from_config(config: &Config) -> EmulatorBuilder {
        let mut builder = Self::builder()
            .listen(config.listen)
            .rate_limit(RateLimitPolicy {
                limit: config.rate_limit,
                window: config.rate_window,
                block: config.rate_block,
            })
            .pin_lockout(PinLockoutPolicy {
                max_failures: config.pin_max_failures,
                lock_for: config.pin_lockout,
            })
            .verification_code_ttl(config.verification_code_ttl)
            .max_body_bytes(config.max_body_bytes)
            .allow_region_on_register_from_v21(config.allow_region_on_register_from_v21)
            .granular_scopes(config.granular_scopes)
            .webhook_timeouts(
                config.webhook_handshake_timeout,
                config.webhook_delivery_timeout,
            )
            .exchange_expires_in(config.exchange_expires_in)
            .waba_budget(crate::domain::WabaBudgetPolicy {
                per_hour: config.waba_budget,
                per_hour_registered: config.waba_budget_registered,
            })
            .journal_capacity(config.journal_capacity)
            .body_timeout(config.body_timeout)
            .connection_limits(ConnectionLimits {
                max_connections: config.max_connections as usize,
                idle_timeout: config.idle_timeout,
                max_header_bytes: config.max_header_bytes as usize,
                max_headers: config.max_headers as usize,
                shutdown_grace: config.shutdown_grace,
            })
            .id_seed_option(config.id_seed)
            .tls_names(config.tls_names.iter().cloned());
        if let Some(addr) = config.https_listen {
            builder = builder.https_listen(addr);
        }
        if let Some(dir) = &config.ca_dir {
            builder = builder.ca_dir(dir.clone());
        }
        if let Some(token) = &config.admin_token {
            builder = builder.admin_token(token.clone());
        }
        if let Some(path) = &config.fixtures {
            builder = builder.fixtures_path(path.clone());
        }
        if let Some(dir) = &config.data_dir {
            builder = builder.data_dir(dir.clone());
        }
        if config.clock == ClockChoice::Manual {
            let start = config.clock_start.unwrap_or_else(|| Clock::system().now());
            builder = builder.manual_clock(start);
        } else if let Some(start) = config.clock_start {
            builder = builder.clock_start(start);
        }
        builder
    }
}

#[derive(Debug)]
enum FixtureSource {
    Embedded,
    Document(Box<FixtureDocument>),
    Path(PathBuf),
}

/// Configures an emulator; [`EmulatorBuilder::start`] binds and serves.
#[derive(Debug)]
pub struct EmulatorBuilder {
    listen: SocketAddr,
    fixtures: FixtureSource,
    clock: Clock,
    policy: Policy,
    settings: Settings,
    id_seed: Option<u64>,
    limits: ConnectionLimits,
    https_listen: Option<SocketAddr>,
    ca_dir: Option<PathBuf>,
    tls_names: Vec<String>,
    data_dir: Option<PathBuf>,
    keep_parsed_bytes: u64,
}

impl Default for EmulatorBuilder {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            fixtures: FixtureSource::Embedded,
            clock: Clock::system(),
            policy: Policy::default(),
            settings: Settings::default(),
            id_seed: None,
            limits: ConnectionLimits::default(),
            https_listen: None,
            ca_dir: None,
            tls_names: Vec::new(),
            data_dir: None,
            keep_parsed_bytes: DEFAULT_KEEP_PARSED_BYTES,
        }
    }
}

impl EmulatorBuilder {
    /// Address to bind (default `127.0.0.1:0`, a free port).
    pub fn listen(mut self, addr: SocketAddr) -> Self {
        self.listen = addr;
        self
    }

    /// Use this fixture document instead of the embedded default.
    pub fn fixtures(mut self, document: FixtureDocument) -> Self {
        self.fixtures = FixtureSource::Document(Box::new(document));
        self
    }

    /// Load fixtures from a JSON file at start.
    pub fn fixtures_path(mut self, path: impl Into<PathBuf>) -> Self {
        self.fixtures = FixtureSource::Path(path.into());
        self
    }

    /// Largest fixture file (in bytes) kept parsed in memory for resets; default 16 MiB. A
    /// larger file is remembered by path and SHA-256 only, and read again on reset (and when
    /// a namespace copies a fixture WABA); if it changed or is gone by then, the reset is
    /// refused and the state left as it is.
    pub fn keep_parsed_fixtures_up_to(mut self, bytes: u64) -> Self {
        self.keep_parsed_bytes = bytes;
        self
    }

    /// Run on a manual clock that starts at `start` and moves only when told to.
    pub fn manual_clock(mut self, start: DateTime<Utc>) -> Self {
        self.clock = Clock::manual(start);
        self
    }

    /// Keep the system clock but shift it so that it reads `start` now.
    pub fn clock_start(self, start: DateTime<Utc>) -> Self {
        if self.clock.mode() == ClockMode::System {
            self.clock.set(start);
        }
        self
    }

    /// Register/deregister limits.
    pub fn rate_limit(mut self, policy: RateLimitPolicy) -> Self {
        self.policy.rate_limit = policy;
        self
    }

    /// PIN-guess lockout.
    pub fn pin_lockout(mut self, policy: PinLockoutPolicy) -> Self {
        self.policy.pin_lockout = policy;
        self
    }

    /// How long a code sent by `request_code` stays valid (default 10 minutes).
    pub fn verification_code_ttl(mut self, ttl: chrono::TimeDelta) -> Self {
        self.policy.verification_code_ttl = ttl;
        self
    }

    /// Largest accepted request body in bytes.
    pub fn max_body_bytes(mut self, bytes: usize) -> Self {
        self.settings.max_body_bytes = bytes;
        self
    }

    /// Accept `data_localization_region` on register for v21.0 and later too (by default those
    /// versions answer code 12, as the live API does).
    pub fn allow_region_on_register_from_v21(mut self, allow: bool) -> Self {
        self.settings.allow_region_on_register_from_v21 = allow;
        self
    }

    /// The `granular_scopes` shape `debug_token` answers for tokens that carry none (default
    /// `classic`; Embedded Signup can choose per signup).
    pub fn granular_scopes(mut self, shape: crate::domain::ScopesShape) -> Self {
        self.settings.granular_scopes = shape;
        self
    }

    /// How long a webhook handshake (default 6 s) and a delivery (default 20 s) may take.
    pub fn webhook_timeouts(mut self, handshake: Duration, delivery: Duration) -> Self {
        self.settings.webhook_handshake_timeout = handshake;
        self.settings.webhook_delivery_timeout = delivery;
        self
    }

    /// Whether the code exchange answers `expires_in` too (default: no, as Embedded Signup
    /// apps see it).
    pub fn exchange_expires_in(mut self, on: bool) -> Self {
        self.settings.exchange_expires_in = on;
        self
    }

    /// The WhatsApp Business Management API budget per app and WABA (default 200 calls an
    /// hour, 5 000 with a registered number; `per_hour: 0` turns it off).
    pub fn waba_budget(mut self, policy: crate::domain::WabaBudgetPolicy) -> Self {
        self.policy.waba_budget = policy;
        self
    }

    /// Connection-level limits (connections, idle time, header size and count, stop grace).
    pub fn connection_limits(mut self, limits: ConnectionLimits) -> Self {
        self.limits = limits;
        self
    }

    /// Time allowed to receive a request body once its headers arrived.
    pub fn body_timeout(mut self, timeout: Duration) -> Self {
        self.settings.body_timeout = timeout;
        self
    }

    /// Require this bearer token on the control API (also enables it beyond loopback).
    pub fn admin_token(mut self, token: impl Into<String>) -> Self {
        self.settings.admin_token = Some(token.into());
        self
    }

    /// Journal entries kept (0 turns the journal off).
    pub fn journal_capacity(mut self, entries: usize) -> Self {
        self.settings.journal_capacity = entries;
        self
    }

    /// Seed of the id generator (request ids, verification codes, ids of added numbers):
    /// same seed, same ids. Without it each run takes a random seed.
    pub fn id_seed(mut self, seed: u64) -> Self {
        self.id_seed = Some(seed);
        self
    }

    /// [`id_seed`](Self::id_seed) when `Some`; `None` keeps the default, a random seed for
    /// each run.
    pub fn id_seed_option(mut self, seed: Option<u64>) -> Self {
        self.id_seed = seed;
        self
    }

    /// Also serve HTTPS on this address (e.g. `127.0.0.1:0`, or `0.0.0.0:443` in a
    /// container), with a certificate for `graph.facebook.com`, `localhost`, `127.0.0.1` and
    /// the [`tls_names`](Self::tls_names), signed by the local CA.
    pub fn https_listen(mut self, addr: SocketAddr) -> Self {
        self.https_listen = Some(addr);
        self
    }

    /// Keep the local CA in this directory (`ca.pem`, `ca-key.pem`): loaded when present,
    /// created otherwise, so clients keep trusting it across restarts. Without it the CA
    /// lives in memory for one run.
    pub fn ca_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.ca_dir = Some(dir.into());
        self
    }

    /// Keep the whole state in an embedded database in this directory (created when
    /// missing): loaded at start when present (it wins over the fixtures, which stay the
    /// reset target), created from the fixtures otherwise. Every change is committed to disk
    /// before the response that acknowledges it is sent.
    pub fn data_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.data_dir = Some(dir.into());
        self
    }

    /// Extra DNS names or IP addresses for the HTTPS certificate.
    pub fn tls_names<I, S>(mut self, names: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.tls_names.extend(names.into_iter().map(Into::into));
        self
    }

    /// Builds the state without serving it (for in-process use of the router).
    pub fn build_state(self) -> Result<AppState, StartError> {
        let (fixtures, reset_target) = match self.fixtures {
            FixtureSource::Embedded => {
                let document = Arc::new(FixtureDocument::embedded_default());
                (Arc::clone(&document), ResetTarget::Document(document))
            }
            FixtureSource::Document(document) => {
                document
                    .validate()
                    .map_err(|message| FixtureError::Invalid {
                        origin: "<builder>".to_owned(),
                        message,
                    })?;
                let document = Arc::new(*document);
                (Arc::clone(&document), ResetTarget::Document(document))
            }
            FixtureSource::Path(path) => ResetTarget::load_file(&path, self.keep_parsed_bytes)?,
        };
        let store = match &self.data_dir {
            Some(dir) => Some(Store::open(dir, &fixtures)?),
            None => None,
        };
        let state = AppState::new(
            self.clock,
            self.policy,
            self.settings,
            &fixtures,
            reset_target,
            self.id_seed.unwrap_or_else(crate::state::random_seed),
        );
        // A large file's document goes now; what it was parsed into is a few large blocks,
        // which the allocator returns to the system.
        drop(fixtures);
        if let Some((store, loaded)) = store {
            if loaded.is_some() {
                tracing::info!(path = %store.path().display(), "state loaded from the data directory");
            } else {
                tracing::info!(path = %store.path().display(), "state database created from the fixtures");
            }
            state.attach_store(store, loaded);
        }
        Ok(state)
    }

    /// Binds the listeners (the ports are known when this returns) and serves in tasks on
    /// the current tokio runtime. With HTTPS on, both listeners serve the same state.
    pub async fn start(mut self) -> Result<RunningEmulator, StartError> {
        let listen = self.listen;
        self.settings.control_exposed = !listen.ip().is_loopback()
            || self
                .https_listen
                .is_some_and(|addr| !addr.ip().is_loopback());
        let tls = match self.https_listen {
            Some(_) => Some(tls::prepare(self.ca_dir.as_deref(), &self.tls_names)?),
            None => {
                if self.ca_dir.is_some() || !self.tls_names.is_empty() {
                    tracing::warn!("--ca-dir and --tls-name only apply with --https-listen");
                }
                None
            }
        };
        self.settings.ca_pem = tls.as_ref().map(|material| material.ca_pem.clone());
        let https_listen = self.https_listen;
        let limits = self.limits;
        let state = self.build_state()?;
        let listener = TcpListener::bind(listen)
            .await
            .map_err(|source| StartError::Bind {
                addr: listen,
                source,
            })?;
        let addr = listener.local_addr().map_err(|source| StartError::Bind {
            addr: listen,
            source,
        })?;
        let https_listener = match https_listen {
            Some(https_addr) => {
                let bound = TcpListener::bind(https_addr).await;
                let bound = bound.and_then(|listener| {
                    let local = listener.local_addr()?;
                    Ok((listener, local))
                });
                Some(bound.map_err(|source| StartError::HttpsBind {
                    addr: https_addr,
                    source,
                })?)
            }
            None => None,
        };
        let (halt, halted) = watch::channel(false);
        let app = Entry::new(state.clone(), halted);
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(serve_connections(
            listener,
            app.clone(),
            limits,
            async move {
                let _ = stopped.await;
            },
            None,
        ));
        let mut https = None;
        if let (Some((listener, https_addr)), Some(material)) = (https_listener, &tls) {
            let (stop, stopped) = oneshot::channel::<()>();
            let acceptor = tokio_rustls::TlsAcceptor::from(material.server_config.clone());
            let task = tokio::spawn(serve_connections(
                listener,
                app,
                limits,
                async move {
                    let _ = stopped.await;
                },
                Some(acceptor),
            ));
            https = Some(HttpsServer {
                addr: https_addr,
                stop: Some(stop),
                task: Some(task),
            });
        }
        Ok(RunningEmulator {
            addr,
            state,
            stop: Some(stop),
            halt,
            task: Some(task),
            https,
            tls,
        })
    }
}

/// Connection-level limits: what a hostile or broken client may hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConnectionLimits {
    /// Connections served at once; further ones are accepted and closed at once.
    pub max_connections: usize,
    /// An HTTP/1 connection with no request in progress and none started for this long is
    /// closed (to a quarter later): idle keep-alive, or a request head that does not arrive in
    /// time (a client sending its headers a byte a second).
    pub idle_timeout: Duration,
    /// Largest request head (request line and headers), in bytes; beyond it: 431.
    pub max_header_bytes: usize,
    /// Most headers in one request; beyond it: 431.
    pub max_headers: usize,
    /// How long a graceful stop waits for in-flight requests.
    pub shutdown_grace: Duration,
}

impl Default for ConnectionLimits {
    fn default() -> Self {
        Self {
            max_connections: 1024,
            idle_timeout: Duration::from_secs(30),
            max_header_bytes: 16 * 1024,
            max_headers: 100,
            shutdown_grace: Duration::from_secs(10),
        }
    }
}

/// The accept loop: hyper with the limits above, a connection cap, and a bounded graceful
/// stop (stop accepting, let in-flight requests finish for `shutdown_grace`).
/// With `tls`, each connection first completes a TLS handshake (bounded by the idle timeout).
async fn serve_connections(
    listener: TcpListener,
    app: Entry,
    limits: ConnectionLimits,
    stopped: impl Future<Output = ()> + Send + 'static,
    tls: Option<tokio_rustls::TlsAcceptor>,
) -> std::io::Result<()> {
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        // Slow and idle HTTP/1 connections are closed by `close_when_idle` instead: hyper's
        // header timeout arms a timer for every request head.
        .header_read_timeout(None)
        .max_headers(limits.max_headers)
        .max_buf_size(limits.max_header_bytes.max(8192));
    builder
        .http2()
        .timer(TokioTimer::new())
        .max_header_list_size(u32::try_from(limits.max_header_bytes).unwrap_or(u32::MAX));
    let graceful = GracefulShutdown::new();
    let permits = Arc::new(Semaphore::new(limits.max_connections.max(1)));
    tokio::pin!(stopped);
    loop {
        let stream = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                Err(error) => {
                    // Out of file descriptors and similar: back off instead of spinning.
                    tracing::warn!(%error, "accept failed");
                    tokio::time::sleep(Duration::from_millis(20)).await;
                    continue;
                }
            },
            _ = &mut stopped => break,
        };
        let Ok(permit) = Arc::clone(&permits).try_acquire_owned() else {
            tracing::warn!(
                limit = limits.max_connections,
                "connection limit reached; closing a new connection"
            );
            drop(stream);
            continue;
        };
        let _ = stream.set_nodelay(true);
        let open = app.state.gauges().connection_opened();
        let builder = builder.clone();
        let watcher = graceful.watcher();
        let app = app.clone();
        let progress = Arc::new(Progress::default());
        let stream = Socket {
            stream,
            progress: Arc::clone(&progress),
        };
        let service = {
            let progress = Arc::clone(&progress);
            hyper::service::service_fn(move |request| {
                let app = app.clone();
                let progress = Arc::clone(&progress);
                async move { app.serve(request, progress).await }
            })
        };
        let tls = tls.clone();
        let connection = tokio::spawn(async move {
            match tls {
                None => {
                    let connection =
                        builder.serve_connection_with_upgrades(TokioIo::new(stream), service);
                    let _ = watcher.watch(connection).await;
                }
                Some(acceptor) => {
                    let handshake =
                        tokio::time::timeout(limits.idle_timeout, acceptor.accept(stream)).await;
                    let Ok(Ok(stream)) = handshake else {
                        tracing::debug!("TLS handshake failed or timed out");
                        return;
                    };
                    let connection =
                        builder.serve_connection_with_upgrades(TokioIo::new(stream), service);
                    let _ = watcher.watch(connection).await;
                }
            }
            drop((permit, open));
        });
        // A reset fault aborts the connection's task (which closes its socket with a reset).
        let _ = progress.connection.set(connection.abort_handle());
        // A task of its own rather than a branch next to the connection: a branch is polled
        // again every time the connection wakes, twice per request.
        tokio::spawn(close_when_idle(
            progress,
            limits.idle_timeout,
            connection.abort_handle(),
        ));
    }
    drop(listener);
    let _ = tokio::time::timeout(limits.shutdown_grace, graceful.shutdown()).await;
    Ok(())
}

/// One connection's requests: how many have started (their head is complete) and how many
/// have finished (their response is written, or for a streamed body, handed over), for
/// [`close_when_idle`].
#[derive(Debug, Default)]
struct Progress {
    started: AtomicU64,
    finished: AtomicU64,
    /// An HTTP/2 connection: idle streams are the protocol's business, and requests run
    /// concurrently, so it is never closed for idleness (as before, with hyper's HTTP/1-only
    /// header timeout).
    multiplexed: AtomicBool,
    /// A `reset` fault: close the socket with a TCP reset instead of an orderly close.
    reset: AtomicBool,
    /// The connection's task, for a `reset` fault to end it (all its streams, on HTTP/2).
    connection: std::sync::OnceLock<AbortHandle>,
}

impl Progress {
    fn start(&self, version: axum::http::Version) {
        if version == axum::http::Version::HTTP_2 {
            self.multiplexed.store(true, Ordering::Relaxed);
        }
        self.started.fetch_add(1, Ordering::Relaxed);
    }

    fn finish(&self) {
        self.finished.fetch_add(1, Ordering::Relaxed);
    }
}

/// How many times per idle timeout a connection's progress is checked.
const IDLE_CHECKS: u32 = 4;

/// Aborts `connection` once it has had no request in progress and none started for
/// `idle_timeout` (to a quarter more): an idle keep-alive connection, or a client sending its
/// request head a byte at a time (a request starts only when its head is complete). A Graph
/// answer counts as finished when handed to hyper (it is whole); a control answer only once
/// its body is dropped (it may stream), so a large one nobody reads keeps the connection.
/// Dropping the connection's task closes the socket (and releases its connection permit).
/// Sampled a few times per timeout by one timer per connection, where hyper's header timeout
/// armed and cancelled a timer for every request head (about 3 % of a request's
/// instructions). Ends with the connection.
async fn close_when_idle(progress: Arc<Progress>, idle_timeout: Duration, connection: AbortHandle) {
    let period = (idle_timeout / IDLE_CHECKS).max(Duration::from_millis(1));
    let mut ticks = tokio::time::interval_at(tokio::time::Instant::now() + period, period);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let (mut seen, mut quiet) = (0, 0);
    loop {
        ticks.tick().await;
        if connection.is_finished() {
            return;
        }
        let started = progress.started.load(Ordering::Relaxed);
        let busy = started != progress.finished.load(Ordering::Relaxed);
        if busy || started != seen || progress.multiplexed.load(Ordering::Relaxed) {
            (seen, quiet) = (started, 0);
            continue;
        }
        quiet += 1;
        if quiet >= IDLE_CHECKS {
            tracing::debug!("closing an idle or slow connection");
            connection.abort();
            return;
        }
    }
}

/// A streamed response body that counts its request as finished when it is dropped (sent in
/// full, or abandoned with the connection).
struct CountedBody {
    body: axum::body::Body,
    progress: Arc<Progress>,
}

impl hyper::body::Body for CountedBody {
    type Data = bytes::Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: std::pin::Pin<&mut Self>,
        context: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<hyper::body::Frame<Self::Data>, Self::Error>>> {
        std::pin::Pin::new(&mut self.body).poll_frame(context)
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> hyper::body::SizeHint {
        self.body.size_hint()
    }
}

impl Drop for CountedBody {
    fn drop(&mut self) {
        self.progress.finish();
    }
}

/// The one door every request goes through, on every listener: control-API paths to the
/// control router, everything else to the Graph layer, and with `--data-dir` each answer held
/// until the changes it made are on disk (see [`durable`]). Graph paths skip the router: its
/// matching, boxing and layers were about a tenth of a Graph request's cost.
#[derive(Clone)]
struct Entry {
    control: Router,
    state: AppState,
    /// Becomes true when the emulator stops (see `RunningEmulator::halt`).
    halted: watch::Receiver<bool>,
}

/// The service's error: a fault withheld the answer. hyper then closes an HTTP/1 connection
/// without writing anything, and resets an HTTP/2 stream (`INTERNAL_ERROR`), leaving the
/// connection's other streams alone.
#[derive(Debug, thiserror::Error)]
#[error("a fault withheld the answer")]
struct Withheld;

impl Entry {
    fn new(state: AppState, halted: watch::Receiver<bool>) -> Self {
        Self {
            control: Router::new().nest(
                control::http::PREFIX,
                control::http::router(Control::new(state.clone())),
            ),
            state,
            halted,
        }
    }

    async fn serve(
        self,
        request: hyper::Request<hyper::body::Incoming>,
        progress: Arc<Progress>,
    ) -> Result<axum::response::Response, Withheld> {
        progress.start(request.version());
        let request = request.map(axum::body::Body::new);
        if is_control_path(request.uri().path()) {
            let router = self.control;
            let response = durable(&self.state, true, async move {
                match router.oneshot(request).await {
                    Ok(response) => response,
                    Err(never) => match never {},
                }
            })
            .await;
            // Control answers may stream, so they count as finished once their body is
            // dropped; Graph answers below are whole when returned.
            return Ok(response.map(|body| axum::body::Body::new(CountedBody { body, progress })));
        }
        // The router empties the body of an answer to HEAD; so must this path. HTTP/1 would
        // drop it anyway, but HTTP/2 sends it and clients then reset the stream.
        let head = request.method() == axum::http::Method::HEAD;
        let state = &self.state;
        let response = durable(state, false, graph::handler::respond(state, request)).await;
        // Empty unless a fault armed: one pointer test.
        if let Some(&withhold) = response.extensions().get::<Withhold>() {
            let withheld = self.withhold(withhold, &progress).await;
            progress.finish();
            return Err(withheld);
        }
        progress.finish();
        if head {
            let (parts, _) = response.into_parts();
            Ok(axum::response::Response::from_parts(
                parts,
                axum::body::Body::empty(),
            ))
        } else {
            Ok(response)
        }
    }

    /// Carries out a withheld answer. A held (`hang`) request waits until the emulator stops
    /// (then its connection is closed without an answer); its client going away ends it
    /// sooner, since hyper then drops this future. While held, the request counts as in
    /// progress, so the connection is never closed as idle.
    async fn withhold(&self, withhold: Withhold, progress: &Progress) -> Withheld {
        match withhold {
            Withhold::Drop => {}
            Withhold::Reset => {
                progress.reset.store(true, Ordering::Relaxed);
                if let Some(connection) = progress.connection.get() {
                    connection.abort();
                    // The abort takes effect when this task next yields: here.
                    std::future::pending::<()>().await;
                }
            }
            Withhold::Hang => {
                let _held = self.state.gauges().hang_started();
                let mut halted = self.halted.clone();
                let _ = halted.wait_for(|halted| *halted).await;
            }
        }
        Withheld
    }
}

/// A connection's TCP stream, which closes with a reset (`SO_LINGER` 0: RST instead of FIN)
/// once a `reset` fault asked for it. Reads and writes pass straight through.
struct Socket {
    stream: TcpStream,
    progress: Arc<Progress>,
}

impl Drop for Socket {
    fn drop(&mut self) {
        if self.progress.reset.load(Ordering::Relaxed) {
            // Set just before the close, so the descriptor's close sends the reset and never
            // blocks (there is nothing left to linger for).
            let _ = self.stream.set_zero_linger();
        }
    }
}

impl AsyncRead for Socket {
    fn poll_read(
        mut self: std::pin::Pin<&mut Self>,
        context: &mut std::task::Context<'_>,
        buffer: &mut ReadBuf<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::pin::Pin::new(&mut self.stream).poll_read(context, buffer)
    }
}

impl AsyncWrite for Socket {
    fn poll_write(
        mut self: std::pin::Pin<&mut Self>,
        context: &mut std::task::Context<'_>,
        bytes: &[u8],
    ) -> std::task::Poll<std::io::Result<usize>> {
        std::pin::Pin::new(&mut self.stream).poll_write(context, bytes)
    }

    fn poll_write_vectored(
        mut self: std::pin::Pin<&mut Self>,
        context: &mut std::task::Context<'_>,
        buffers: &[std::io::IoSlice<'_>],
    ) -> std::task::Poll<std::io::Result<usize>> {
        std::pin::Pin::new(&mut self.stream).poll_write_vectored(context, buffers)
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }

    fn poll_flush(
        mut self: std::pin::Pin<&mut Self>,
        context: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::pin::Pin::new(&mut self.stream).poll_flush(context)
    }

    fn poll_shutdown(
        mut self: std::pin::Pin<&mut Self>,
        context: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::pin::Pin::new(&mut self.stream).poll_shutdown(context)
    }
}

/// Whether a path is the control API's: `/__emulator` and below (not `/__emulatorX`), as the
/// router nests it.
fn is_control_path(path: &str) -> bool {
    path.strip_prefix(control::http::PREFIX)
        .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
}

/// Path of the liveness endpoint (`GET`, answers 200 `{"status":"ok"}`).
pub const HEALTH_PATH: &str = "/__emulator/health";

/// With `--data-dir`: runs `respond` and holds its response until every change queued before
/// it was produced is committed, so an answer of success means the change is on disk (and a
/// read never shows what a crash could still take back). A request that queued nothing and
/// finds nothing pending waits for nothing. If the store failed, answers 503 instead;
/// `control` selects the error shape.
async fn durable(
    state: &AppState,
    control: bool,
    respond: impl Future<Output = axum::response::Response>,
) -> axum::response::Response {
    let Some(store) = state.store() else {
        return respond.await;
    };
    let (response, queued) = Store::track(respond).await;
    match store.durable_until(queued).await {
        Ok(()) => response,
        Err(error) => {
            let body = if control {
                serde_json::json!({"emulator_error": {"kind": "not_durable", "message": error.to_string()}})
            } else {
                serde_json::json!({"error": {
                    "message": "Service temporarily unavailable",
                    "type": "OAuthException",
                    "code": 2,
                    "error_user_msg": error.to_string(),
                }})
            };
            (
                axum::http::StatusCode::SERVICE_UNAVAILABLE,
                axum::Json(body),
            )
                .into_response()
        }
    }
}

/// A running emulator. Dropping it stops the server.
#[derive(Debug)]
#[must_use = "the emulator stops when this handle is dropped; bind it to a variable"]
pub struct RunningEmulator {
    addr: SocketAddr,
    state: AppState,
    stop: Option<oneshot::Sender<()>>,
    /// Set when stopping: releases the requests a `hang` fault holds (their connections are
    /// closed without an answer), so a graceful stop never waits on them.
    halt: watch::Sender<bool>,
    task: Option<JoinHandle<std::io::Result<()>>>,
    https: Option<HttpsServer>,
    tls: Option<TlsMaterial>,
}

/// The HTTPS listener's task.
#[derive(Debug)]
struct HttpsServer {
    addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<std::io::Result<()>>>,
}

impl RunningEmulator {
    /// HTTPS base URL by address, e.g. `https://127.0.0.1:40124`, when HTTPS is on. To call
    /// it as `https://graph.facebook.com`, resolve that name to [`https_addr`](Self::https_addr)
    /// and trust [`ca_pem`](Self::ca_pem).
    pub fn https_uri(&self) -> Option<String> {
        self.https_addr().map(|addr| format!("https://{addr}"))
    }

    /// The bound HTTPS address, when HTTPS is on.
    pub fn https_addr(&self) -> Option<SocketAddr> {
        self.https.as_ref().map(|https| https.addr)
    }

    /// The local CA certificate (PEM) clients must trust, when HTTPS is on.
    pub fn ca_pem(&self) -> Option<&str> {
        self.tls.as_ref().map(|material| material.ca_pem.as_str())
    }

    /// Names the HTTPS certificate covers, when HTTPS is on.
    pub fn tls_names(&self) -> &[String] {
        self.tls.as_ref().map_or(&[], |material| &material.names)
    }

    /// Base URL without a trailing slash, e.g. `http://127.0.0.1:40123`.
    pub fn uri(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The bound address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The live state (numbers, tokens, clock) for in-process inspection.
    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// The control operations (reset, state, clock, journal, faults, namespaces) as plain
    /// method calls, without HTTP: the same methods, and the same checks, as `/__emulator/`.
    pub fn control(&self) -> Control {
        Control::new(self.state.clone())
    }

    /// The emulator's clock.
    pub fn clock(&self) -> &Clock {
        self.state.clock()
    }

    /// Serves until `signal` completes, then stops gracefully.
    pub async fn run_until(mut self, signal: impl Future<Output = ()>) -> std::io::Result<()> {
        signal.await;
        self.stop_and_wait().await
    }

    /// Stops accepting connections, lets in-flight requests finish, and waits.
    pub async fn shutdown(mut self) -> std::io::Result<()> {
        self.stop_and_wait().await
    }

    async fn stop_and_wait(&mut self) -> std::io::Result<()> {
        self.signal_stop();
        let https = match self.https.as_mut().and_then(|https| https.task.take()) {
            Some(task) => task.await.unwrap_or(Ok(())),
            None => Ok(()),
        };
        let http = match self.task.take() {
            Some(task) => task.await.unwrap_or(Ok(())),
            None => Ok(()),
        };
        if let Some(store) = self.state.store().cloned() {
            // Every acknowledged change is already committed; this commits the rest and
            // closes the database file.
            let _ = tokio::task::spawn_blocking(move || store.close()).await;
        }
        http.and(https)
    }

    fn signal_stop(&mut self) {
        self.halt.send_replace(true);
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(stop) = self.https.as_mut().and_then(|https| https.stop.take()) {
            let _ = stop.send(());
        }
    }
}

impl Drop for RunningEmulator {
    fn drop(&mut self) {
        self.signal_stop();
        if let Some(store) = self.state.store() {
            store.request_close();
        }
    }
}

/// The address a local client uses to reach a server listening on `listen`: an unspecified
/// address (`0.0.0.0`, `::`) becomes the loopback address of the same family.
pub fn reachable_addr(listen: SocketAddr) -> SocketAddr {
    let mut addr = listen;
    if addr.ip().is_unspecified() {
        addr.set_ip(if addr.is_ipv4() {
            Ipv4Addr::LOCALHOST.into()
        } else {
            Ipv6Addr::LOCALHOST.into()
        });
    }
    addr
}

/// Completes on Ctrl-C or SIGTERM (the container's `docker stop`).
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
}

impl RunningEmulator {
    /// The start-up text: where it listens, the console's address and a curl command that
    /// registers a loaded number.
    pub fn banner(&self) -> String {
        let host = reachable_addr(self.addr).to_string();
        let mut text = format!(
            "wa-cloud-emulator listening on http://{host}\nConsole: http://{host}/__emulator/console\n"
        );
        if let Some(https) = self.https_addr() {
            let https_host = reachable_addr(https).to_string();
            text.push_str(&format!(
                "HTTPS on https://{https_host} for {} (trust the CA: http://{host}/__emulator/ca.pem",
                self.tls_names().join(", ")
            ));
            match self
                .tls
                .as_ref()
                .and_then(|material| material.ca_dir.as_ref())
            {
                Some(dir) => {
                    text.push_str(&format!(" or {})\n", dir.join(tls::CA_CERT_FILE).display()))
                }
                None => text.push_str(")\n"),
            }
        }
        let now = self.state.now();
        let version = graph::version::default_version(now).effective.name;
        let world = self.state.world();
        let candidate = world.lowest_number(
            |n| n.verification == crate::domain::CodeVerificationStatus::Verified && !n.coexistence,
            |n| (n.registered, n.pin.is_some()),
        );
        let candidate = candidate.as_ref();
        let token = candidate.and_then(|number| {
            world.tokens().into_iter().find(|token| {
                token.scope.allows(&number.waba_id)
                    && token.has_permission(crate::domain::PERMISSION_MANAGEMENT)
                    && token.has_permission(crate::domain::PERMISSION_MESSAGING)
                    && token.expires_at.is_none_or(|at| at > now)
            })
        });
        if let (Some(number), Some(token)) = (candidate, token) {
            let pin = number.pin.as_ref().map_or("123456", |pin| pin.expose());
            text.push_str(&format!(
                "Register number {} ({}):\n  curl -sS -X POST 'http://{host}/{version}/{}/register' \\\n    -H 'Authorization: Bearer {}' -H 'Content-Type: application/json' \\\n    -d '{{\"messaging_product\":\"whatsapp\",\"pin\":\"{pin}\"}}'\n",
                number.id, number.verified_name, number.id, token.value
            ));
        }
        if let Some(app) = world.default_app() {
            text.push_str(&self.partner_app_banner(&host, version, &app));
        }
        text
    }

    /// The partner app of the onboarding chain: its id, secret and app token (fixture values
    /// of a local test tool, printed once here and never logged per request), and a signup
    /// call. No signup line when the control API is off (beyond loopback without
    /// `--admin-token`); with a token, the line names the variable rather than the secret.
    fn partner_app_banner(&self, host: &str, version: &str, app: &crate::domain::App) -> String {
        let mut text = format!(
            "Partner app {} ({}): secret {}, app token {}\n",
            app.id,
            app.name,
            app.secret,
            app.access_token()
        );
        let settings = self.state.settings();
        if settings.control_exposed && settings.admin_token.is_none() {
            return text;
        }
        let auth = if settings.admin_token.is_some() {
            " -H \"Authorization: Bearer $WA_EMU_ADMIN_TOKEN\""
        } else {
            ""
        };
        text.push_str(&format!(
            "Embedded Signup (a new WABA and number, and a code to exchange within 30 s at /{version}/oauth/access_token):\n  curl -sS -X POST 'http://{host}/__emulator/embedded-signup'{auth} -H 'Content-Type: application/json' -d '{{\"preset\":\"ready\"}}'\n"
        ));
        text
    }
}
