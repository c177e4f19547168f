//! The benchmark floor: a minimal axum server that answers `{"success":true}` on the
//! emulator's routes (`POST /{version}/{id}/register` and `/deregister`, and the same without
//! a version) with no logic at all (it reads the body and sets the content type, nothing else), built with
//! the same axum/tokio as the emulator. `bench/run.sh` runs the same load against it and the emulator and reports the
//! emulator's figures as ratios to this floor.
//!
//! Usage: `cargo run --release --example floor -- [LISTEN_ADDR]` (default `127.0.0.1:8090`).
//! Honour `TOKIO_WORKER_THREADS` like the emulator (both use `#[tokio::main]`).

use std::net::SocketAddr;

use axum::Router;
use axum::body::Bytes;
use axum::http::{HeaderValue, header};
use axum::response::IntoResponse;
use axum::routing::post;

const SUCCESS_BODY: &[u8] = br#"{"success":true}"#;

/// Reads the body (as any server must) and answers success.
async fn success(_body: Bytes) -> impl IntoResponse {
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json; charset=UTF-8"),
        )],
        SUCCESS_BODY,
    )
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let listen: SocketAddr = match std::env::args().nth(1) {
        None => SocketAddr::from(([127, 0, 0, 1], 8090)),
        Some(text) if text == "-h" || text == "--help" => {
            println!("usage: floor [LISTEN_ADDR]   (default 127.0.0.1:8090)");
            return Ok(());
        }
        Some(text) => text.parse().map_err(|error| {
            std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                format!("invalid listen address {text:?}: {error}"),
            )
        })?,
    };
    let app = Router::new()
        .route("/{version}/{id}/register", post(success))
        .route("/{version}/{id}/deregister", post(success))
        .route("/{id}/register", post(success))
        .route("/{id}/deregister", post(success));
    let listener = tokio::net::TcpListener::bind(listen).await?;
    println!("floor listening on http://{}", listener.local_addr()?);
    axum::serve(listener, app).await
}
