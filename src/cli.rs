//! The command line of the binary: serve (the default, configured by [`Config`]) or one of the
//! client subcommands used by containers, `healthcheck` and `demo-flow`.

use std::io::Write;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};
use serde_json::json;

use crate::clock::parse_duration;
use crate::config::Config;
use crate::probe::{CaBundleError, HttpRequest, HttpResponse, ProbeError, Transport};
use crate::server::{Emulator, HEALTH_PATH, reachable_addr, shutdown_signal};
use crate::telemetry;

/// The whole command line: settings of the server plus an optional subcommand.
///
/// Without a subcommand the binary serves, exactly as `Config` describes; the settings flags
/// and `WA_EMU_*` variables stay valid alongside a subcommand (`healthcheck` derives its
/// default URL from `--listen` / `WA_EMU_LISTEN`).
#[derive(Debug, Parser)]
#[command(
    name = "wa-cloud-emulator",
    version,
    about = "Local emulator of the WhatsApp Business Cloud API phone-number registration endpoints",
    long_about = None
)]
pub struct Cli {
    /// Server settings.
    #[command(flatten)]
    pub config: Config,

    /// What to do instead of serving.
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// Client subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Probe a running emulator's health endpoint; exit 0 when healthy, 1 otherwise
    /// (the container image's HEALTHCHECK).
    Healthcheck(HealthcheckArgs),
    /// Register, re-register and deregister a number on a running emulator and check every
    /// answer; exit 0 when all are as expected, 1 otherwise (the compose example client).
    DemoFlow(DemoFlowArgs),
}

/// Options of `healthcheck`.
#[derive(Debug, Clone, Args)]
pub struct HealthcheckArgs {
    /// Emulator to probe: a base URL (the health path is appended) or a full URL with a path.
    /// Default: derived from --listen / WA_EMU_LISTEN (0.0.0.0 becomes 127.0.0.1).
    #[arg(long, value_name = "URL")]
    pub url: Option<String>,

    /// Give up after this long (e.g. 3s, 500ms).
    #[arg(long, default_value = "3s", value_parser = parse_std_duration, value_name = "DURATION")]
    pub timeout: Duration,

    /// PEM bundle of the CAs trusted for an https:// URL (the only roots; no system store).
    #[arg(long, env = "SSL_CERT_FILE", value_name = "PATH")]
    pub ca_file: Option<PathBuf>,
}

/// Options of `demo-flow`.
#[derive(Debug, Clone, Args)]
pub struct DemoFlowArgs {
    /// Base URL of the emulator.
    #[arg(
        long,
        env = "WA_EMU_DEMO_BASE_URL",
        default_value = "http://127.0.0.1:8080",
        value_name = "URL"
    )]
    pub base_url: String,

    /// Access token sent as `Authorization: Bearer ...`.
    #[arg(long, env = "WA_EMU_DEMO_TOKEN", default_value = "EAAEmulatorDevToken")]
    pub token: String,

    /// Phone-number id to register: verified and not registered, or registered with --pin.
    #[arg(long, env = "WA_EMU_DEMO_NUMBER", default_value = "106540352242922")]
    pub number: String,

    /// Six-digit two-step PIN to register with.
    #[arg(long, env = "WA_EMU_DEMO_PIN", default_value = "123456")]
    pub pin: String,

    /// Graph API version in the paths.
    #[arg(long, env = "WA_EMU_DEMO_API_VERSION", default_value = "v23.0")]
    pub api_version: String,

    /// How long to wait for the emulator's health endpoint before the first call.
    #[arg(long, default_value = "30s", value_parser = parse_std_duration, value_name = "DURATION")]
    pub wait: Duration,

    /// Timeout of each request.
    #[arg(long, default_value = "5s", value_parser = parse_std_duration, value_name = "DURATION")]
    pub timeout: Duration,

    /// With an https:// base URL: PEM bundle of the CAs to trust, the only roots (no system
    /// store), like an unmodified app given SSL_CERT_FILE. The certificate is always verified.
    /// The flow waits (within --wait) for the file to appear, e.g. on a volume the emulator fills.
    #[arg(long, env = "SSL_CERT_FILE", value_name = "PATH")]
    pub ca_file: Option<PathBuf>,

    /// Connect to ADDR (IP:PORT) whenever a URL names NAME, keeping NAME for TLS and the Host
    /// header; the port of ADDR replaces the URL's. Like curl's --resolve (which takes
    /// NAME:PORT:IP), for tests that cannot change name resolution. Repeatable.
    #[arg(long, value_name = "NAME:ADDR", value_parser = parse_pin)]
    pub resolve: Vec<(String, SocketAddr)>,
}

impl Cli {
    /// Runs what the command line asks for; returns the process exit code.
    pub async fn run(self) -> ExitCode {
        match self.command {
            None => serve(&self.config).await,
            Some(Command::Healthcheck(args)) => {
                let url = args
                    .url
                    .as_deref()
                    .map_or_else(|| health_url_for(self.config.listen), health_url);
                let outcome = match transport_for(&url, args.ca_file.as_deref()) {
                    Ok(transport) => healthcheck_via(&url, &transport, args.timeout).await,
                    Err(error) => Err(error.into()),
                };
                report(outcome, &url)
            }
            Some(Command::DemoFlow(args)) => {
                let mut out = std::io::stdout().lock();
                match demo_flow(&args, &mut out).await {
                    Ok(()) => ExitCode::SUCCESS,
                    Err(error) => {
                        let _ = writeln!(out, "FAIL {error}");
                        ExitCode::FAILURE
                    }
                }
            }
        }
    }
}

/// Serves until SIGINT/SIGTERM: exit 0 after a clean stop, 2 when the emulator cannot start,
/// 1 when serving fails.
pub async fn serve(config: &Config) -> ExitCode {
    telemetry::init(config.log_format);
    let running = match Emulator::from_config(config).start().await {
        Ok(running) => running,
        Err(error) => {
            eprintln!("wa-cloud-emulator: {error}");
            return ExitCode::from(2);
        }
    };
    print!("{}", running.banner());
    let _ = std::io::stdout().flush();
    match running.run_until(shutdown_signal()).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("wa-cloud-emulator: {error}");
            ExitCode::FAILURE
        }
    }
}

fn report(outcome: Result<(), HealthError>, url: &str) -> ExitCode {
    match outcome {
        Ok(()) => {
            println!("healthy: {url}");
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("unhealthy: {error}");
            ExitCode::FAILURE
        }
    }
}

/// The health URL of an emulator listening on `listen`; an unspecified address (`0.0.0.0`,
/// `::`) is probed on loopback.
pub fn health_url_for(listen: SocketAddr) -> String {
    format!("http://{}{HEALTH_PATH}", reachable_addr(listen))
}

/// `url` as given when it has a path, else with the health path appended.
fn health_url(url: &str) -> String {
    let rest = url.split_once("://").map_or(url, |(_, rest)| rest);
    if rest.trim_end_matches('/').contains('/') {
        url.to_owned()
    } else {
        format!("{}{HEALTH_PATH}", url.trim_end_matches('/'))
    }
}

/// The transport for `url`: trusting `ca_file` when the URL is `https://` and a file is named,
/// plain otherwise.
fn transport_for(url: &str, ca_file: Option<&Path>) -> Result<Transport, CaBundleError> {
    match ca_file {
        Some(path) if is_https(url) => Transport::trusting_pem_file(path),
        _ => Ok(Transport::default()),
    }
}

fn is_https(url: &str) -> bool {
    url.get(..8)
        .is_some_and(|scheme| scheme.eq_ignore_ascii_case("https://"))
}

/// Why a health probe failed.
#[derive(Debug, thiserror::Error)]
pub enum HealthError {
    /// No answer.
    #[error(transparent)]
    Probe(#[from] ProbeError),
    /// The CA bundle for an `https://` URL is unusable.
    #[error(transparent)]
    CaBundle(#[from] CaBundleError),
    /// An answer other than 200 `{"status":"ok"}`.
    #[error("{url} answered {status} {body}")]
    Unexpected {
        /// The URL probed.
        url: String,
        /// The status received.
        status: u16,
        /// The body received.
        body: String,
    },
}

/// Probes an `http://` `url` once: `Ok` when it answers 200 with `{"status":"ok"}`.
pub async fn healthcheck(url: &str, timeout: Duration) -> Result<(), HealthError> {
    healthcheck_via(url, &Transport::default(), timeout).await
}

/// Probes `url` once through `transport` (which trusts the CA of an `https://` URL): `Ok` when
/// it answers 200 with `{"status":"ok"}`.
pub async fn healthcheck_via(
    url: &str,
    transport: &Transport,
    timeout: Duration,
) -> Result<(), HealthError> {
    let response = HttpRequest::get(url).via(transport).send(timeout).await?;
    let ok = response.status.as_u16() == 200
        && response.json().is_some_and(|body| body["status"] == "ok");
    if ok {
        Ok(())
    } else {
        Err(HealthError::Unexpected {
            url: url.to_owned(),
            status: response.status.as_u16(),
            body: response.text(),
        })
    }
}

/// Why the demo flow stopped.
#[derive(Debug, thiserror::Error)]
pub enum DemoError {
    /// An `https://` base URL without a CA bundle to trust.
    #[error(
        "{url}: https:// needs the CA certificates to trust: set SSL_CERT_FILE or pass --ca-file"
    )]
    NoCaFile {
        /// The base URL.
        url: String,
    },
    /// The CA bundle never appeared or never held a certificate.
    #[error("CA bundle not usable within {waited:?}: {last}")]
    CaNotReady {
        /// How long the flow waited.
        waited: Duration,
        /// The last attempt's failure.
        last: CaBundleError,
    },
    /// The emulator never became healthy.
    #[error("emulator at {url} not healthy within {waited:?}: {last}")]
    NotReady {
        /// The health URL.
        url: String,
        /// How long the flow waited.
        waited: Duration,
        /// The last probe's failure.
        last: String,
    },
    /// A step got no answer.
    #[error("{step}: {source}")]
    Probe {
        /// The step.
        step: &'static str,
        /// Why.
        source: ProbeError,
    },
    /// A step got an answer other than the expected one.
    #[error("{step}: expected {expected}, got {status} {body}")]
    Unexpected {
        /// The step.
        step: &'static str,
        /// What the step expected.
        expected: &'static str,
        /// The status received.
        status: u16,
        /// The body received.
        body: String,
    },
}

/// The example client: for an `https://` base URL, waits for the CA bundle (`--ca-file`,
/// `SSL_CERT_FILE`) and trusts only it; waits for the emulator's health endpoint (within
/// `--wait` in all); then registers `number`, registers it again, tries a register with an
/// unknown token, sends a message, deregisters, and checks that sending is then refused with
/// 133010, checking each answer. Writes one `PASS` line per step to `out`.
pub async fn demo_flow(args: &DemoFlowArgs, out: &mut impl Write) -> Result<(), DemoError> {
    let base = args.base_url.trim_end_matches('/');
    let started = tokio::time::Instant::now();
    let mut transport = if is_https(base) {
        let path = args.ca_file.as_deref().ok_or_else(|| DemoError::NoCaFile {
            url: base.to_owned(),
        })?;
        let transport = wait_for_ca_bundle(path, args.wait).await?;
        let _ = writeln!(
            out,
            "PASS trusting {} CA certificate(s) from {} (and nothing else)",
            transport.trusted_cas(),
            path.display()
        );
        transport
    } else {
        Transport::default()
    };
    for (name, addr) in &args.resolve {
        transport = transport.pin(name, *addr);
    }
    let remaining = args.wait.saturating_sub(started.elapsed());
    wait_until_healthy(
        &format!("{base}{HEALTH_PATH}"),
        &transport,
        remaining.max(Duration::from_millis(100)),
    )
    .await?;
    let verified = if is_https(base) {
        " (certificate verified)"
    } else {
        ""
    };
    let _ = writeln!(out, "PASS emulator at {base} is healthy{verified}");

    let register_url = format!("{base}/{}/{}/register", args.api_version, args.number);
    let deregister_url = format!("{base}/{}/{}/deregister", args.api_version, args.number);
    let messages_url = format!("{base}/{}/{}/messages", args.api_version, args.number);
    let register_body = json!({"messaging_product": "whatsapp", "pin": args.pin});
    let message_body = json!({
        "messaging_product": "whatsapp",
        "to": DEMO_RECIPIENT,
        "type": "text",
        "text": {"body": "hello from demo-flow"}
    });
    let no_body = json!({});
    let success = |response: &HttpResponse| {
        response.status.as_u16() == 200 && response.json() == Some(json!({"success": true}))
    };
    let invalid_token = |response: &HttpResponse| {
        response.status.as_u16() == 401
            && response
                .json()
                .is_some_and(|body| body["error"]["code"] == 190)
    };
    let sent = |response: &HttpResponse| {
        response.status.as_u16() == 200
            && response.json().is_some_and(|body| {
                body["messages"][0]["id"]
                    .as_str()
                    .is_some_and(|id| id.starts_with("wamid."))
            })
    };
    let not_registered = |response: &HttpResponse| {
        response.status.as_u16() == 400
            && response
                .json()
                .is_some_and(|body| body["error"]["code"] == 133010)
    };
    type Check = fn(&HttpResponse) -> bool;
    let steps: [(&'static str, HttpRequest<'_>, &'static str, Check); 6] = [
        (
            "register",
            HttpRequest::post_json(&register_url, &register_body).bearer(&args.token),
            "200 {\"success\":true}",
            success,
        ),
        (
            "register again (idempotent)",
            HttpRequest::post_json(&register_url, &register_body).bearer(&args.token),
            "200 {\"success\":true}",
            success,
        ),
        (
            "register with an unknown token",
            HttpRequest::post_json(&register_url, &register_body).bearer("EAAUnknownDemoToken"),
            "401 with error code 190",
            invalid_token,
        ),
        (
            "send a message while registered",
            HttpRequest::post_json(&messages_url, &message_body).bearer(&args.token),
            "200 with a wamid. message id",
            sent,
        ),
        (
            "deregister",
            HttpRequest::post_json(&deregister_url, &no_body).bearer(&args.token),
            "200 {\"success\":true}",
            success,
        ),
        (
            "send a message after deregistering",
            HttpRequest::post_json(&messages_url, &message_body).bearer(&args.token),
            "400 with error code 133010 (account not registered)",
            not_registered,
        ),
    ];
    for (step, request, expected, check) in steps {
        let request = request.via(&transport);
        let response = request
            .send(args.timeout)
            .await
            .map_err(|source| DemoError::Probe { step, source })?;
        if !check(&response) {
            return Err(DemoError::Unexpected {
                step,
                expected,
                status: response.status.as_u16(),
                body: response.text(),
            });
        }
        let _ = writeln!(
            out,
            "PASS {step}: {} {} {} {}",
            request.method,
            request.url,
            response.status.as_u16(),
            response.text()
        );
    }
    let _ = writeln!(out, "PASS demo flow complete");
    Ok(())
}

/// The `to` of the demo messages.
const DEMO_RECIPIENT: &str = "16505076520";

/// Reads the CA bundle at `path` every 250 ms until it holds a certificate or `wait` has passed
/// (the emulator writes it at start, possibly on a shared volume).
async fn wait_for_ca_bundle(path: &Path, wait: Duration) -> Result<Transport, DemoError> {
    let deadline = tokio::time::Instant::now() + wait;
    loop {
        match Transport::trusting_pem_file(path) {
            Ok(transport) => return Ok(transport),
            Err(last) if tokio::time::Instant::now() >= deadline => {
                return Err(DemoError::CaNotReady { waited: wait, last });
            }
            Err(_) => tokio::time::sleep(Duration::from_millis(250)).await,
        }
    }
}

/// Probes `url` every 250 ms until it is healthy or `wait` has passed.
async fn wait_until_healthy(
    url: &str,
    transport: &Transport,
    wait: Duration,
) -> Result<(), DemoError> {
    let probe_timeout = Duration::from_secs(2).min(wait.max(Duration::from_millis(100)));
    let mut last = String::from("not probed");
    let polling = async {
        loop {
            match healthcheck_via(url, transport, probe_timeout).await {
                Ok(()) => return,
                Err(error) => last = error.to_string(),
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    };
    match tokio::time::timeout(wait, polling).await {
        Ok(()) => Ok(()),
        Err(_) => Err(DemoError::NotReady {
            url: url.to_owned(),
            waited: wait,
            last,
        }),
    }
}

/// `NAME:ADDR` of `--resolve`: a host name, then a socket address (`[::1]:8443` for IPv6).
fn parse_pin(text: &str) -> Result<(String, SocketAddr), String> {
    let (name, addr) = text.split_once(':').ok_or_else(|| {
        format!("{text:?} is not NAME:ADDR (e.g. graph.facebook.com:127.0.0.1:8443)")
    })?;
    if name.is_empty() {
        return Err(format!("{text:?}: the name is empty"));
    }
    let addr = addr
        .parse()
        .map_err(|_| format!("{text:?}: {addr:?} is not an IP:PORT address"))?;
    Ok((name.to_owned(), addr))
}

/// A positive duration in the project's syntax ([`parse_duration`]: `3s`, `500ms`, `1m30s`).
fn parse_std_duration(text: &str) -> Result<Duration, String> {
    let duration = parse_duration(text)?;
    duration
        .to_std()
        .ok()
        .filter(|duration| !duration.is_zero())
        .ok_or_else(|| format!("duration {text:?} must be positive"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn the_command_line_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn without_a_subcommand_the_settings_parse_as_before() {
        let cli = Cli::try_parse_from(["x", "--rate-limit", "3", "--listen", "0.0.0.0:9"]).unwrap();
        assert!(cli.command.is_none());
        assert_eq!(cli.config.rate_limit, 3);
        assert_eq!(cli.config.listen.to_string(), "0.0.0.0:9");
        let error = Cli::try_parse_from(["x", "--rate-limit", "0"])
            .unwrap_err()
            .to_string();
        assert!(error.contains("--rate-limit"), "{error}");
    }

    #[test]
    fn subcommands_parse_with_their_defaults() {
        let cli = Cli::try_parse_from(["x", "healthcheck"]).unwrap();
        match cli.command {
            Some(Command::Healthcheck(args)) => {
                assert_eq!(args.url, None);
                assert_eq!(args.timeout, Duration::from_secs(3));
            }
            other => panic!("{other:?}"),
        }
        let cli =
            Cli::try_parse_from(["x", "demo-flow", "--base-url", "http://emulator:8080"]).unwrap();
        match cli.command {
            Some(Command::DemoFlow(args)) => {
                assert_eq!(args.base_url, "http://emulator:8080");
                assert_eq!(args.number, "106540352242922");
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn the_default_health_url_follows_the_listen_address() {
        let url = |addr: &str| health_url_for(addr.parse().unwrap());
        assert_eq!(
            url("0.0.0.0:8080"),
            "http://127.0.0.1:8080/__emulator/health"
        );
        assert_eq!(url("[::]:81"), "http://[::1]:81/__emulator/health");
        assert_eq!(url("10.1.2.3:80"), "http://10.1.2.3:80/__emulator/health");
    }

    #[test]
    fn a_base_url_gets_the_health_path_and_a_full_url_is_kept() {
        assert_eq!(
            health_url("http://e:8080/"),
            "http://e:8080/__emulator/health"
        );
        assert_eq!(
            health_url("http://e:8080"),
            "http://e:8080/__emulator/health"
        );
        assert_eq!(health_url("http://e/other"), "http://e/other");
    }

    #[test]
    fn resolve_pins_take_a_name_and_a_socket_address() {
        assert_eq!(
            parse_pin("graph.facebook.com:127.0.0.1:8443"),
            Ok((
                "graph.facebook.com".to_owned(),
                "127.0.0.1:8443".parse().unwrap()
            ))
        );
        assert_eq!(
            parse_pin("h:[::1]:9").unwrap().1,
            "[::1]:9".parse().unwrap()
        );
        assert!(parse_pin("graph.facebook.com").is_err());
        assert!(parse_pin(":127.0.0.1:1").is_err());
        assert!(parse_pin("h:127.0.0.1").is_err());
        assert!(is_https("HTTPS://x") && !is_https("http://x"));
    }

    #[test]
    fn durations_take_a_unit_and_must_be_positive() {
        assert_eq!(parse_std_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_std_duration("3"), Ok(Duration::from_secs(3)));
        assert_eq!(parse_std_duration("2m"), Ok(Duration::from_secs(120)));
        assert!(parse_std_duration("0s").is_err());
        assert!(parse_std_duration("5y").is_err());
        assert!(parse_std_duration("-1s").is_err());
    }
}
