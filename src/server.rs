//! Starting and stopping an emulator: the builder used by the binary and by Rust tests.

use std::future::Future;
use std::net::SocketAddr;
use std::path::PathBuf;

use axum::Router;
use chrono::{DateTime, Utc};
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::clock::{Clock, ClockMode};
use crate::config::{ClockChoice, Config};
use crate::domain::{PinLockoutPolicy, Policy, RateLimitPolicy};
use crate::fixtures::{FixtureDocument, FixtureError};
use crate::graph;
use crate::state::{AppState, Settings};

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
            .max_body_bytes(config.max_body_bytes)
            .reject_region_from_v21(config.reject_region_from_v21)
            .id_seed(config.id_seed);
        if let Some(path) = &config.fixtures {
            builder = builder.fixtures_path(path.clone());
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
    id_seed: u64,
}

impl Default for EmulatorBuilder {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            fixtures: FixtureSource::Embedded,
            clock: Clock::system(),
            policy: Policy::default(),
            settings: Settings::default(),
            id_seed: 0x5EED,
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

    /// Largest accepted request body in bytes.
    pub fn max_body_bytes(mut self, bytes: usize) -> Self {
        self.settings.max_body_bytes = bytes;
        self
    }

    /// Refuse `data_localization_region` on register for v21.0 and later (code 12).
    pub fn reject_region_from_v21(mut self, reject: bool) -> Self {
        self.settings.reject_region_from_v21 = reject;
        self
    }

    /// Seed of the request-id generator.
    pub fn id_seed(mut self, seed: u64) -> Self {
        self.id_seed = seed;
        self
    }

    /// Builds the state without serving it (for in-process use of the router).
    pub fn build_state(self) -> Result<AppState, StartError> {
        let fixtures = match self.fixtures {
            FixtureSource::Embedded => FixtureDocument::embedded_default(),
            FixtureSource::Document(document) => {
                document
                    .validate()
                    .map_err(|message| FixtureError::Invalid {
                        origin: "<builder>".to_owned(),
                        message,
                    })?;
                *document
            }
            FixtureSource::Path(path) => FixtureDocument::load(&path)?,
        };
        Ok(AppState::new(
            self.clock,
            self.policy,
            self.settings,
            fixtures,
            self.id_seed,
        ))
    }

    /// Binds the listener (the port is known when this returns) and serves in a task on the
    /// current tokio runtime.
    pub async fn start(self) -> Result<RunningEmulator, StartError> {
        let listen = self.listen;
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
        let (stop, stopped) = oneshot::channel::<()>();
        let app = router(state.clone());
        let task = tokio::spawn(async move {
            axum::serve(listener, app)
                .with_graceful_shutdown(async move {
                    let _ = stopped.await;
                })
                .await
        });
        Ok(RunningEmulator {
            addr,
            state,
            stop: Some(stop),
            task: Some(task),
        })
    }
}

/// Every route of the emulator.
pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/__emulator/health", axum::routing::get(health))
        .fallback(graph::handler::handle)
        .with_state(state)
}

/// Liveness for container health checks: answers as soon as the server accepts requests.
async fn health() -> axum::Json<serde_json::Value> {
    axum::Json(serde_json::json!({"status": "ok"}))
}

/// A running emulator. Dropping it stops the server.
#[derive(Debug)]
#[must_use = "the emulator stops when this handle is dropped; bind it to a variable"]
pub struct RunningEmulator {
    addr: SocketAddr,
    state: AppState,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<std::io::Result<()>>>,
}

impl RunningEmulator {
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

    /// The emulator's clock.
    pub fn clock(&self) -> &Clock {
        &self.state.clock
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
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        match self.task.take() {
            Some(task) => task.await.unwrap_or(Ok(())),
            None => Ok(()),
        }
    }
}

impl Drop for RunningEmulator {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
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
    /// The start-up text: where it listens and a curl command that registers a loaded number.
    pub fn banner(&self) -> String {
        let host = if self.addr.ip().is_unspecified() {
            SocketAddr::from(([127, 0, 0, 1], self.addr.port())).to_string()
        } else {
            self.addr.to_string()
        };
        let mut text = format!("wa-cloud-emulator listening on http://{host}\n");
        let now = self.state.clock.now();
        let version = graph::version::default_version(now).effective.name;
        let candidate = self.state.world.lowest_number(
            |n| n.verification == crate::domain::CodeVerificationStatus::Verified && !n.coexistence,
            |n| (n.registered, n.pin.is_some()),
        );
        let candidate = candidate.as_ref();
        let token = candidate.and_then(|number| {
            self.state.world.tokens().into_iter().find(|token| {
                token.scope.allows(&number.waba_id)
                    && token.has_permission(crate::state::PERMISSION_MANAGEMENT)
                    && token.has_permission(crate::state::PERMISSION_MESSAGING)
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
        text
    }
}
