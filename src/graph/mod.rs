//! Everything that makes the emulator look like Graph on the wire: paths and versions, tokens,
//! parameters, the error envelope and Meta's headers.

pub mod auth;
pub mod error;
pub mod handler;
pub mod ids;
mod lifecycle;
pub mod messages;
pub mod params;
mod read;
pub mod version;

pub use error::GraphError;
