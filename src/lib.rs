//! A local emulator of the WhatsApp Business Cloud API phone-number registration endpoints
//! (`POST /{version}/{PHONE_NUMBER_ID}/register` and `/deregister`), faithful to Meta's Graph
//! API wire contract: paths and versions, tokens, parameters, error envelopes and codes,
//! headers, the two-step PIN, local storage and the 10-per-72-hours limit.
//!
//! Use the binary (`wa-cloud-emulator`, see the README), or start one per test in-process:
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use wa_cloud_emulator::Emulator;
//!
//! let emulator = Emulator::builder().start().await?; // 127.0.0.1, a free port
//! let url = format!("{}/v23.0/106540352242922/register", emulator.uri());
//! // ... point your client at `emulator.uri()` and call `url` ...
//! drop(emulator); // stops the server
//! # Ok(()) }
//! ```
//!
//! Layout: [`domain`] holds the pure rules (no HTTP, `now` is an argument); [`graph`] is the
//! wire layer (versions, auth, parameters, the error table, headers); [`state`] the shared
//! state; [`server`] the builder; [`clock`] the only place that reads the system time.

pub mod cli;
pub mod clock;
pub mod config;
pub mod domain;
pub mod fixtures;
pub mod graph;
pub mod probe;
pub mod server;
pub mod state;
pub mod telemetry;

pub use cli::Cli;
pub use clock::Clock;
pub use config::Config;
pub use fixtures::FixtureDocument;
pub use server::{Emulator, EmulatorBuilder, RunningEmulator, StartError};
