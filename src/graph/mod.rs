//! Everything that makes the emulator look like Graph on the wire: paths and versions, tokens,
//! parameters, the error envelope and Meta's headers.
//!
//! The one entry is [`handler::respond`]; it reads the state only through
//! [`crate::state::AppState`] and never reaches into the control layer.

pub mod auth;
mod call;
pub mod error;
pub mod handler;
mod lifecycle;
mod messages;
mod onboarding;
pub mod params;
mod read;
pub mod render;
pub mod version;

pub use call::Reply;
pub use error::GraphError;
