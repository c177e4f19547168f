//! Command-line flags, each with an environment-variable fallback (`--help` lists them all).

use std::net::SocketAddr;
use std::path::PathBuf;

use chrono::{DateTime, TimeDelta, Utc};
use clap::{Parser, ValueEnum};

use crate::clock::parse_duration;

/// Log output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line.
    Json,
}

/// Which clock the emulator runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ClockChoice {
    /// The system clock (shiftable through the control API).
    System,
    /// A virtual clock that only moves when told to (starts at --clock-start or now).
    Manual,
}

/// Emulator settings.
#[derive(Debug, Clone, Parser)]
#[command(
    name = "wa-cloud-emulator",
    version,
    about = "Local emulator of the WhatsApp Business Cloud API phone-number registration endpoints",
    long_about = None
)]
pub struct Config {
    /// Address to listen on (use 0.0.0.0:PORT to accept connections from other hosts).
    #[arg(long, env = "WA_EMU_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,

    /// Also serve HTTPS on this address (e.g. 127.0.0.1:8443, or 0.0.0.0:443 in a container)
    /// with a certificate for graph.facebook.com, localhost, 127.0.0.1 and --tls-name,
    /// signed by a local CA.
    #[arg(long, env = "WA_EMU_HTTPS_LISTEN", value_name = "ADDR")]
    pub https_listen: Option<SocketAddr>,

    /// Directory holding the local CA (ca.pem, ca-key.pem): loaded if present, created
    /// otherwise (key 0600), so trust survives restarts; in memory for one run when absent.
    #[arg(long, env = "WA_EMU_CA_DIR", value_name = "DIR")]
    pub ca_dir: Option<PathBuf>,

    /// Extra DNS name or IP address for the HTTPS certificate (repeatable; the environment
    /// variable takes a comma-separated list).
    #[arg(
        long = "tls-name",
        env = "WA_EMU_TLS_NAMES",
        value_name = "NAME",
        value_delimiter = ','
    )]
    pub tls_names: Vec<String>,

    /// Fixture file (JSON) with tokens, WABAs and numbers; the embedded default when absent.
    #[arg(long, env = "WA_EMU_FIXTURES", value_name = "PATH")]
    pub fixtures: Option<PathBuf>,

    /// Keep the whole state (numbers, limiter windows, PINs, tokens, WABAs, clock) in an
    /// embedded database in this directory, committed before each answer; loaded at start when
    /// present (it wins over --fixtures, which stay the reset target). In memory when absent.
    #[arg(long, env = "WA_EMU_DATA_DIR", value_name = "PATH")]
    pub data_dir: Option<PathBuf>,

    /// Register (and, separately, deregister) requests allowed per number in the window.
    #[arg(long, env = "WA_EMU_RATE_LIMIT", default_value_t = 10, value_parser = clap::value_parser!(u32).range(1..))]
    pub rate_limit: u32,

    /// Length of the sliding rate-limit window (e.g. 72h, 90m, 3600).
    #[arg(long, env = "WA_EMU_RATE_WINDOW", default_value = "72h", value_parser = positive_duration, value_name = "DURATION")]
    pub rate_window: TimeDelta,

    /// How long an operation stays blocked once the limit is hit.
    #[arg(long, env = "WA_EMU_RATE_BLOCK", default_value = "72h", value_parser = positive_duration, value_name = "DURATION")]
    pub rate_block: TimeDelta,

    /// Consecutive two-step PIN mismatches that lock a number (0 disables the lockout).
    #[arg(long, env = "WA_EMU_PIN_MAX_FAILURES", default_value_t = 5)]
    pub pin_max_failures: u32,

    /// How long a PIN lockout lasts (answers 133008 meanwhile).
    #[arg(long, env = "WA_EMU_PIN_LOCKOUT", default_value = "1h", value_parser = positive_duration, value_name = "DURATION")]
    pub pin_lockout: TimeDelta,

    /// How long a code sent by request_code stays valid for verify_code.
    #[arg(long, env = "WA_EMU_VERIFICATION_CODE_TTL", default_value = "10m", value_parser = positive_duration, value_name = "DURATION")]
    pub verification_code_ttl: TimeDelta,

    /// Accept data_localization_region on register for v21.0 and later too (the older
    /// registration page's flow). By default, as the live API does, v21.0 and later answer
    /// "(#12) Deprecated for versions v21.0 or higher"; v20.0 and older accept it.
    #[arg(
        long,
        env = "WA_EMU_ALLOW_REGION_ON_REGISTER_FROM_V21",
        default_value_t = false,
        num_args = 0..=1,
        default_missing_value = "true",
        value_parser = clap::builder::BoolishValueParser::new(),
        action = clap::ArgAction::Set
    )]
    pub allow_region_on_register_from_v21: bool,

    /// The granular_scopes shape debug_token answers for tokens that carry none: `classic`
    /// (Meta's documented shape) or `2026-06` (no whatsapp_business_management entry, no
    /// target_ids, as Embedded Signup tokens have shown since June 2026).
    #[arg(long, env = "WA_EMU_GRANULAR_SCOPES", default_value = "classic", value_parser = scopes_shape, value_name = "SHAPE")]
    pub granular_scopes: crate::domain::ScopesShape,

    /// The code exchange (oauth/access_token) also answers expires_in, as Graph's generic
    /// exchange does (Embedded Signup apps see only access_token and token_type).
    #[arg(
        long,
        env = "WA_EMU_EXCHANGE_EXPIRES_IN",
        default_value_t = false,
        num_args = 0..=1,
        default_missing_value = "true",
        value_parser = clap::builder::BoolishValueParser::new(),
        action = clap::ArgAction::Set
    )]
    pub exchange_expires_in: bool,

    /// How long a webhook callback may take to answer the verification handshake (Meta's
    /// take about 6 s, then `#2200 ... curl_errno = 28`).
    #[arg(long, env = "WA_EMU_WEBHOOK_HANDSHAKE_TIMEOUT", default_value = "6s", value_parser = std_duration, value_name = "DURATION")]
    pub webhook_handshake_timeout: std::time::Duration,

    /// How long a webhook delivery may take before it counts as failed and is retried.
    #[arg(long, env = "WA_EMU_WEBHOOK_DELIVERY_TIMEOUT", default_value = "20s", value_parser = std_duration, value_name = "DURATION")]
    pub webhook_delivery_timeout: std::time::Duration,

    /// Calls per rolling hour per app and WABA on the WhatsApp Business Management endpoints
    /// (WABA node, phone_numbers, subscribed_apps); past it, code 80008. 0 turns it off.
    #[arg(long, env = "WA_EMU_WABA_BUDGET", default_value_t = 200)]
    pub waba_budget: u32,

    /// The same budget once the WABA has a registered number.
    #[arg(long, env = "WA_EMU_WABA_BUDGET_REGISTERED", default_value_t = 5_000)]
    pub waba_budget_registered: u32,

    /// Deprecated and ignored: refusing the region on v21.0+ is now the default (see
    /// --allow-region-on-register-from-v21). Still accepted so existing scripts keep working.
    #[arg(
        long,
        env = "WA_EMU_REJECT_REGION_FROM_V21",
        hide = true,
        default_value_t = true,
        num_args = 0..=1,
        default_missing_value = "true",
        value_parser = clap::builder::BoolishValueParser::new(),
        action = clap::ArgAction::Set
    )]
    pub reject_region_from_v21: bool,

    /// Largest request body accepted, in bytes.
    #[arg(long, env = "WA_EMU_MAX_BODY_BYTES", default_value_t = 64 * 1024, value_parser = body_limit)]
    pub max_body_bytes: usize,

    /// Clock: the system clock, or a manual one that moves only through the control API.
    #[arg(long, env = "WA_EMU_CLOCK", value_enum, default_value_t = ClockChoice::System)]
    pub clock: ClockChoice,

    /// Start instant of the manual clock (RFC 3339, e.g. 2026-01-01T00:00:00Z).
    #[arg(long, env = "WA_EMU_CLOCK_START", value_name = "RFC3339")]
    pub clock_start: Option<DateTime<Utc>>,

    /// Bearer token the control API (/__emulator/) requires; without it the control API is
    /// open on loopback and off when listening beyond loopback.
    #[arg(
        long,
        env = "WA_EMU_ADMIN_TOKEN",
        value_name = "TOKEN",
        hide_env_values = true
    )]
    pub admin_token: Option<String>,

    /// Requests kept in the journal (0 turns it off).
    #[arg(long, env = "WA_EMU_JOURNAL_CAPACITY", default_value_t = 1000)]
    pub journal_capacity: usize,

    /// Connections served at once; beyond it new connections are closed at once.
    #[arg(long, env = "WA_EMU_MAX_CONNECTIONS", default_value_t = 1024, value_parser = clap::value_parser!(u32).range(1..))]
    pub max_connections: u32,

    /// Close an idle keep-alive connection, or one whose request head is not complete, after
    /// this long (cuts off clients that send headers a byte at a time).
    #[arg(long, env = "WA_EMU_IDLE_TIMEOUT", default_value = "30s", value_parser = std_duration, value_name = "DURATION")]
    pub idle_timeout: std::time::Duration,

    /// Time allowed to receive a request body once its headers arrived.
    #[arg(long, env = "WA_EMU_BODY_TIMEOUT", default_value = "10s", value_parser = std_duration, value_name = "DURATION")]
    pub body_timeout: std::time::Duration,

    /// Largest request head (request line plus headers) in bytes (at least 8192); beyond: 431.
    #[arg(long, env = "WA_EMU_MAX_HEADER_BYTES", default_value_t = 16 * 1024, value_parser = clap::value_parser!(u32).range(8192..=1_048_576))]
    pub max_header_bytes: u32,

    /// Most headers in one request; beyond: 431.
    #[arg(long, env = "WA_EMU_MAX_HEADERS", default_value_t = 100, value_parser = clap::value_parser!(u32).range(1..=10_000))]
    pub max_headers: u32,

    /// How long a graceful stop (SIGTERM) waits for in-flight requests.
    #[arg(long, env = "WA_EMU_SHUTDOWN_GRACE", default_value = "10s", value_parser = std_duration, value_name = "DURATION")]
    pub shutdown_grace: std::time::Duration,

    /// Seed of the id generator: request and trace ids, verification codes and the ids of
    /// added numbers (same seed, same ids). By default a random seed for each run, so two
    /// emulators, or one restarted, never emit the same fbtrace_id.
    #[arg(long, env = "WA_EMU_ID_SEED")]
    pub id_seed: Option<u64>,

    /// Log format.
    #[arg(long, env = "WA_EMU_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,
}

fn body_limit(text: &str) -> Result<usize, String> {
    let bytes: usize = text
        .parse()
        .map_err(|_| format!("{text:?} is not a number of bytes"))?;
    if !(1..=64 << 20).contains(&bytes) {
        return Err(format!("{bytes} is outside 1..=67108864"));
    }
    Ok(bytes)
}

fn std_duration(text: &str) -> Result<std::time::Duration, String> {
    positive_duration(text)?
        .to_std()
        .map_err(|_| format!("duration {text:?} is out of range"))
}

fn scopes_shape(text: &str) -> Result<crate::domain::ScopesShape, String> {
    crate::domain::ScopesShape::parse(text)
        .ok_or_else(|| format!("expected one of {:?}", crate::domain::ScopesShape::NAMES))
}

fn positive_duration(text: &str) -> Result<TimeDelta, String> {
    let duration = parse_duration(text)?;
    if duration <= TimeDelta::zero() {
        return Err(format!("duration {text:?} must be positive"));
    }
    Ok(duration)
}

impl Default for Config {
    fn default() -> Self {
        Self::parse_from(["wa-cloud-emulator"])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn the_command_line_is_consistent() {
        Config::command().debug_assert();
    }

    #[test]
    fn defaults_match_meta() {
        let config = Config::try_parse_from(["x"]).unwrap();
        assert_eq!(config.rate_limit, 10);
        assert_eq!(config.rate_window, TimeDelta::hours(72));
        assert_eq!(config.listen.to_string(), "127.0.0.1:8080");
        assert!(!config.allow_region_on_register_from_v21);
        assert_eq!(config.verification_code_ttl, TimeDelta::minutes(10));
        let config = Config::try_parse_from(["x", "--verification-code-ttl", "30s"]).unwrap();
        assert_eq!(config.verification_code_ttl, TimeDelta::seconds(30));
        assert!(Config::try_parse_from(["x", "--verification-code-ttl", "0"]).is_err());
    }

    #[test]
    fn bad_values_name_the_flag_and_the_value() {
        let error = Config::try_parse_from(["x", "--rate-window", "5y"])
            .unwrap_err()
            .to_string();
        assert!(
            error.contains("--rate-window") && error.contains("5y"),
            "{error}"
        );
        let error = Config::try_parse_from(["x", "--rate-limit", "0"])
            .unwrap_err()
            .to_string();
        assert!(error.contains("--rate-limit"), "{error}");
        let error = Config::try_parse_from(["x", "--listen", "nowhere"])
            .unwrap_err()
            .to_string();
        assert!(
            error.contains("--listen") && error.contains("nowhere"),
            "{error}"
        );
        let config = Config::try_parse_from(["x", "--allow-region-on-register-from-v21"]).unwrap();
        assert!(config.allow_region_on_register_from_v21);
        // The old switch still parses (it names today's default).
        let config = Config::try_parse_from(["x", "--reject-region-from-v21"]).unwrap();
        assert!(!config.allow_region_on_register_from_v21);
        let error = Config::try_parse_from(["x", "--https-listen", "443"])
            .unwrap_err()
            .to_string();
        assert!(error.contains("--https-listen"), "{error}");
    }

    #[test]
    fn data_dir_is_optional() {
        assert_eq!(Config::try_parse_from(["x"]).unwrap().data_dir, None);
        let config = Config::try_parse_from(["x", "--data-dir", "/data"]).unwrap();
        assert_eq!(config.data_dir, Some(PathBuf::from("/data")));
    }

    #[test]
    fn https_flags_parse() {
        let config = Config::try_parse_from(["x"]).unwrap();
        assert_eq!(config.https_listen, None);
        assert!(config.tls_names.is_empty());
        let config = Config::try_parse_from([
            "x",
            "--https-listen",
            "0.0.0.0:443",
            "--ca-dir",
            "/ca",
            "--tls-name",
            "a.test,b.test",
            "--tls-name",
            "10.0.0.1",
        ])
        .unwrap();
        assert_eq!(config.https_listen.unwrap().to_string(), "0.0.0.0:443");
        assert_eq!(config.ca_dir.unwrap(), PathBuf::from("/ca"));
        assert_eq!(config.tls_names, ["a.test", "b.test", "10.0.0.1"]);
    }
}
