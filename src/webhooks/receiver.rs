//! A webhook receiver for Rust tests: a real HTTP server on `127.0.0.1` that answers Meta's
//! handshake, checks `X-Hub-Signature-256` over the raw bytes, collects what it receives and
//! answers as told (a status, a stall), so retry and fault behaviour can be tested end to end.
//!
//! ```
//! use std::time::Duration;
//! use wa_cloud_emulator::webhooks::{Receiver, verify_callback};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() {
//! let receiver = Receiver::start("app-secret", "verify-me").await.unwrap();
//! verify_callback(&receiver.url(), "verify-me", 7, Duration::from_secs(6), None)
//!     .await
//!     .unwrap();
//! assert_eq!(receiver.handshakes()[0].challenge.as_deref(), Some("7"));
//! receiver.answer_next_posts_with([500]); // the next delivery fails, later ones get 200
//! // Point deliveries at receiver.url(), then:
//! // let got = receiver.wait_for(2, Duration::from_secs(10)).await.unwrap();
//! // assert!(got.iter().all(|delivery| delivery.signature_valid));
//! # }
//! ```

use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::get;
use parking_lot::Mutex;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use super::signature::{SIGNATURE_HEADER, verify};

/// The path the receiver serves (anything else answers 404).
pub const RECEIVER_PATH: &str = "/webhook";

/// Largest body accepted: Meta's payloads go up to 3 MB.
const MAX_BODY_BYTES: usize = 4 << 20;

/// One POST the receiver got.
#[derive(Debug, Clone)]
pub struct ReceivedDelivery {
    /// The raw body bytes.
    pub body: Bytes,
    /// The body parsed as JSON, when it is JSON.
    pub json: Option<serde_json::Value>,
    /// The `X-Hub-Signature-256` header, if sent.
    pub signature: Option<String>,
    /// Whether that header is the HMAC-SHA256 of the raw bytes with the app secret.
    pub signature_valid: bool,
    /// The `User-Agent` header, if sent.
    pub user_agent: Option<String>,
    /// The `Content-Type` header, if sent.
    pub content_type: Option<String>,
    /// The status the receiver answered (or was about to, when the sender gave up first).
    pub answered: u16,
}

impl ReceivedDelivery {
    /// The body as text (invalid UTF-8 replaced).
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// One handshake GET the receiver got.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceivedHandshake {
    /// `hub.mode`.
    pub mode: Option<String>,
    /// `hub.challenge`.
    pub challenge: Option<String>,
    /// `hub.verify_token`, decoded.
    pub verify_token: Option<String>,
    /// The status answered.
    pub answered: u16,
}

/// How the receiver answers handshakes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HandshakeAnswer {
    /// As an app should: the challenge with 200 when the token matches, else 403.
    Echo,
    /// This status with an empty body.
    Status(u16),
    /// 200 with this body (e.g. a wrong challenge).
    Body(String),
    /// Echo, after waiting this long (to test the handshake timeout).
    Stall(Duration),
}

/// Waiting for deliveries ended before enough arrived.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{wanted} deliveries expected within {timeout:?}, {} arrived", received.len())]
pub struct WaitTimedOut {
    /// How many were expected.
    pub wanted: usize,
    /// How long was waited.
    pub timeout: Duration,
    /// What did arrive.
    pub received: Vec<ReceivedDelivery>,
}

#[derive(Debug)]
struct Behaviour {
    handshake: HandshakeAnswer,
    next_post_statuses: VecDeque<u16>,
    post_status: u16,
    post_stall: Duration,
}

#[derive(Debug)]
struct Shared {
    secret: String,
    verify_token: String,
    behaviour: Mutex<Behaviour>,
    deliveries: Mutex<Vec<ReceivedDelivery>>,
    handshakes: Mutex<Vec<ReceivedHandshake>>,
    /// The number of deliveries received, for waiters.
    arrived: watch::Sender<usize>,
}

/// A running receiver; dropping it stops the server.
#[derive(Debug)]
pub struct Receiver {
    addr: SocketAddr,
    shared: Arc<Shared>,
    server: JoinHandle<()>,
}

impl Receiver {
    /// Binds `127.0.0.1` on a free port and serves [`RECEIVER_PATH`]: handshakes are answered
    /// with the challenge when `verify_token` matches (403 otherwise), deliveries with 200
    /// and checked against `app_secret`.
    pub async fn start(app_secret: &str, verify_token: &str) -> std::io::Result<Self> {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0)).await?;
        let addr = listener.local_addr()?;
        let shared = Arc::new(Shared {
            secret: app_secret.to_owned(),
            verify_token: verify_token.to_owned(),
            behaviour: Mutex::new(Behaviour {
                handshake: HandshakeAnswer::Echo,
                next_post_statuses: VecDeque::new(),
                post_status: 200,
                post_stall: Duration::ZERO,
            }),
            deliveries: Mutex::new(Vec::new()),
            handshakes: Mutex::new(Vec::new()),
            arrived: watch::Sender::new(0),
        });
        let app = Router::new()
            .route(RECEIVER_PATH, get(handshake).post(delivery))
            .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
            .with_state(Arc::clone(&shared));
        let server = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Ok(Self {
            addr,
            shared,
            server,
        })
    }

    /// The callback URL: `http://127.0.0.1:<port>/webhook`.
    pub fn url(&self) -> String {
        format!("http://{}{RECEIVER_PATH}", self.addr)
    }

    /// The address listened on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Every delivery received so far, in arrival order.
    pub fn deliveries(&self) -> Vec<ReceivedDelivery> {
        self.shared.deliveries.lock().clone()
    }

    /// Every handshake received so far.
    pub fn handshakes(&self) -> Vec<ReceivedHandshake> {
        self.shared.handshakes.lock().clone()
    }

    /// Waits (in real time, at most `timeout`) until at least `count` deliveries arrived and
    /// returns them all.
    pub async fn wait_for(
        &self,
        count: usize,
        timeout: Duration,
    ) -> Result<Vec<ReceivedDelivery>, WaitTimedOut> {
        let mut arrived = self.shared.arrived.subscribe();
        let enough = tokio::time::timeout(timeout, arrived.wait_for(|n| *n >= count)).await;
        match enough {
            Ok(Ok(_)) => Ok(self.deliveries()),
            _ => Err(WaitTimedOut {
                wanted: count,
                timeout,
                received: self.deliveries(),
            }),
        }
    }

    /// Answers every later delivery with `status` (200 by default), after the statuses queued
    /// by [`answer_next_posts_with`](Self::answer_next_posts_with).
    pub fn answer_posts_with(&self, status: u16) {
        self.shared.behaviour.lock().post_status = status;
    }

    /// Answers the next deliveries with these statuses, one each, then as before.
    pub fn answer_next_posts_with(&self, statuses: impl IntoIterator<Item = u16>) {
        self.shared
            .behaviour
            .lock()
            .next_post_statuses
            .extend(statuses);
    }

    /// Waits this long before answering each delivery (zero: answer at once).
    pub fn stall_posts(&self, stall: Duration) {
        self.shared.behaviour.lock().post_stall = stall;
    }

    /// How to answer later handshakes ([`HandshakeAnswer::Echo`] by default).
    pub fn answer_handshakes_with(&self, answer: HandshakeAnswer) {
        self.shared.behaviour.lock().handshake = answer;
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.server.abort();
    }
}

async fn handshake(
    State(shared): State<Arc<Shared>>,
    Query(query): Query<HashMap<String, String>>,
) -> (StatusCode, String) {
    let answer = shared.behaviour.lock().handshake.clone();
    let challenge = query.get("hub.challenge").cloned();
    let token_ok = query.get("hub.verify_token") == Some(&shared.verify_token)
        && query.get("hub.mode").map(String::as_str) == Some("subscribe");
    let echo = || match (&challenge, token_ok) {
        (Some(challenge), true) => (StatusCode::OK, challenge.clone()),
        _ => (StatusCode::FORBIDDEN, String::new()),
    };
    let (status, body) = match answer {
        HandshakeAnswer::Echo => echo(),
        HandshakeAnswer::Status(status) => (
            StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
            String::new(),
        ),
        HandshakeAnswer::Body(body) => (StatusCode::OK, body),
        HandshakeAnswer::Stall(stall) => {
            tokio::time::sleep(stall).await;
            echo()
        }
    };
    shared.handshakes.lock().push(ReceivedHandshake {
        mode: query.get("hub.mode").cloned(),
        challenge,
        verify_token: query.get("hub.verify_token").cloned(),
        answered: status.as_u16(),
    });
    (status, body)
}

async fn delivery(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    body: Bytes,
) -> StatusCode {
    let (status, stall) = {
        let mut behaviour = shared.behaviour.lock();
        let status = behaviour
            .next_post_statuses
            .pop_front()
            .unwrap_or(behaviour.post_status);
        (status, behaviour.post_stall)
    };
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|value| value.to_str().ok())
            .map(str::to_owned)
    };
    let signature = header(SIGNATURE_HEADER);
    let signature_valid = signature
        .as_deref()
        .is_some_and(|signature| verify(shared.secret.as_bytes(), &body, signature));
    // Recorded on arrival, so a delivery the sender gave up on (a stall) is seen too.
    let received = ReceivedDelivery {
        json: serde_json::from_slice(&body).ok(),
        body,
        signature,
        signature_valid,
        user_agent: header("user-agent"),
        content_type: header("content-type"),
        answered: status,
    };
    let count = {
        let mut deliveries = shared.deliveries.lock();
        deliveries.push(received);
        deliveries.len()
    };
    shared.arrived.send_replace(count);
    if !stall.is_zero() {
        tokio::time::sleep(stall).await;
    }
    StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
}
