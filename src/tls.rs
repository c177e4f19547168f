//! HTTPS beside HTTP: a local certificate authority and a leaf certificate for
//! `graph.facebook.com`, so clients that hard-code Meta's host can be pointed at the emulator
//! (hosts file, container network alias, custom resolver) and still verify the certificate.
//!
//! The CA lives in memory, or in a directory (`--ca-dir`) so that trust survives restarts:
//! `ca.pem` (the certificate, public) and `ca-key.pem` (the private key, created 0600, never
//! served). A fresh leaf is signed at every start. Pure Rust: rustls with the `ring` provider
//! and rcgen.

use std::io;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use chrono::{Datelike, TimeDelta};
use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose, SanType,
};
use rustls::ServerConfig;
use rustls::pki_types::{CertificateDer, DnsName, PrivateKeyDer, PrivatePkcs8KeyDer};

use crate::clock::Clock;

/// File name of the CA certificate in the CA directory.
pub const CA_CERT_FILE: &str = "ca.pem";
/// File name of the CA private key in the CA directory.
pub const CA_KEY_FILE: &str = "ca-key.pem";
/// Names every leaf certificate covers, before the configured extra names.
pub const DEFAULT_NAMES: [&str; 3] = ["graph.facebook.com", "localhost", "127.0.0.1"];

const CA_COMMON_NAME: &str = "wa-cloud-emulator local CA";

/// Why the HTTPS material could not be prepared.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// A `--tls-name` that is neither a DNS name nor an IP address.
    #[error("--tls-name {name:?} is not a valid DNS name or IP address")]
    InvalidName {
        /// The name as given.
        name: String,
    },
    /// The CA directory or one of its files could not be read or written.
    #[error("CA directory (--ca-dir / WA_EMU_CA_DIR): cannot {action} {}: {source}", path.display())]
    Io {
        /// What was being done (`read`, `create`, …).
        action: &'static str,
        /// The path.
        path: PathBuf,
        /// The file-system error.
        source: io::Error,
    },
    /// Only one of `ca.pem` and `ca-key.pem` exists.
    #[error(
        "CA directory {}: found {present} but not {missing}; restore it, or remove {present} to create a new CA",
        dir.display()
    )]
    Incomplete {
        /// The directory.
        dir: PathBuf,
        /// The file that exists.
        present: &'static str,
        /// The file that does not.
        missing: &'static str,
    },
    /// `ca-key.pem` is not a PEM private key rcgen and rustls can use.
    #[error("{} is not a usable private key (PKCS#8 PEM, ECDSA P-256/P-384 or Ed25519 or RSA): {reason}", path.display())]
    BadKey {
        /// The key file.
        path: PathBuf,
        /// What was wrong.
        reason: String,
    },
    /// `ca.pem` is not a PEM X.509 certificate.
    #[error("{} is not a PEM X.509 CA certificate: {reason}", path.display())]
    BadCertificate {
        /// The certificate file.
        path: PathBuf,
        /// What was wrong.
        reason: String,
    },
    /// The certificate and the key in the CA directory do not belong together.
    #[error(
        "{} and {} do not match: the certificate's public key is not the key's; put the matching pair back, or remove both to create a new CA",
        cert.display(), key.display()
    )]
    Mismatch {
        /// The certificate file.
        cert: PathBuf,
        /// The key file.
        key: PathBuf,
    },
    /// Certificate generation or the TLS configuration failed.
    #[error("cannot prepare the HTTPS certificate: {0}")]
    Certificate(String),
}

/// The CA and the server configuration for one run.
#[derive(Clone)]
pub struct TlsMaterial {
    /// The CA certificate, PEM (what clients must trust).
    pub ca_pem: String,
    /// Names the leaf certificate covers.
    pub names: Vec<String>,
    /// Where the CA lives, when it is kept on disk.
    pub ca_dir: Option<PathBuf>,
    /// The rustls server configuration (leaf + key, HTTP/2 and HTTP/1.1 by ALPN).
    pub server_config: Arc<ServerConfig>,
}

impl std::fmt::Debug for TlsMaterial {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TlsMaterial")
            .field("names", &self.names)
            .field("ca_dir", &self.ca_dir)
            .finish_non_exhaustive()
    }
}

/// Checks every extra name and returns the full list of names for the leaf (defaults
/// first, duplicates dropped).
pub fn leaf_names(extra: &[String]) -> Result<Vec<String>, TlsError> {
    let mut names: Vec<String> = DEFAULT_NAMES
        .iter()
        .map(|name| (*name).to_owned())
        .collect();
    for raw in extra {
        let name = raw.trim().trim_end_matches('.').to_ascii_lowercase();
        let valid = name.parse::<IpAddr>().is_ok() || {
            let host = name.strip_prefix("*.").unwrap_or(&name);
            !host.is_empty()
                && host.contains(|c: char| c.is_ascii_alphabetic())
                && DnsName::try_from(host).is_ok()
        };
        if !valid {
            return Err(TlsError::InvalidName { name: raw.clone() });
        }
        if !names.contains(&name) {
            names.push(name);
        }
    }
    Ok(names)
}

/// Creates or loads the CA and signs a leaf for `names` (see [`leaf_names`]).
pub fn prepare(ca_dir: Option<&Path>, extra_names: &[String]) -> Result<TlsMaterial, TlsError> {
    let names = leaf_names(extra_names)?;
    let (ca_pem, issuer) = match ca_dir {
        Some(dir) => load_or_create(dir)?,
        None => {
            let key = KeyPair::generate().map_err(certificate_error)?;
            let params = ca_params();
            let cert = params.self_signed(&key).map_err(certificate_error)?;
            (cert.pem(), Issuer::new(params, key))
        }
    };
    let leaf_key = KeyPair::generate().map_err(certificate_error)?;
    let leaf = leaf_params(&names)?
        .signed_by(&leaf_key, &issuer)
        .map_err(certificate_error)?;
    let ca_der = pem_to_der(&ca_pem).unwrap_or_default();
    let chain = vec![leaf.der().clone(), CertificateDer::from(ca_der)];
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(leaf_key.serialize_der()));
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(certificate_error)?
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .map_err(certificate_error)?;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(TlsMaterial {
        ca_pem,
        names,
        ca_dir: ca_dir.map(Path::to_path_buf),
        server_config: Arc::new(config),
    })
}

fn certificate_error(error: impl std::fmt::Display) -> TlsError {
    TlsError::Certificate(error.to_string())
}

/// Validity starting a day ago (clock skew between containers), `days` long, from the real
/// system time (certificates are checked against the client's clock, not the emulator's).
fn validity(params: &mut CertificateParams, days: i64) {
    let now = Clock::system().now();
    let ymd = |instant: chrono::DateTime<chrono::Utc>| {
        rcgen::date_time_ymd(instant.year(), instant.month() as u8, instant.day() as u8)
    };
    params.not_before = ymd(now - TimeDelta::days(1));
    params.not_after = ymd(now + TimeDelta::days(days));
}

fn ca_params() -> CertificateParams {
    let mut params = CertificateParams::default();
    params.distinguished_name = rcgen::DistinguishedName::new();
    params
        .distinguished_name
        .push(DnType::CommonName, CA_COMMON_NAME);
    params
        .distinguished_name
        .push(DnType::OrganizationName, "wa-cloud-emulator");
    params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    validity(&mut params, 3650);
    params
}

fn leaf_params(names: &[String]) -> Result<CertificateParams, TlsError> {
    let mut params = CertificateParams::default();
    params.distinguished_name = rcgen::DistinguishedName::new();
    params
        .distinguished_name
        .push(DnType::CommonName, names[0].clone());
    params.subject_alt_names = names
        .iter()
        .map(|name| match name.parse::<IpAddr>() {
            Ok(ip) => Ok(SanType::IpAddress(ip)),
            Err(_) => name
                .clone()
                .try_into()
                .map(SanType::DnsName)
                .map_err(|_| TlsError::InvalidName { name: name.clone() }),
        })
        .collect::<Result<_, _>>()?;
    params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    params.use_authority_key_identifier_extension = true;
    // Within the 398 days clients accept for a leaf.
    validity(&mut params, 397);
    Ok(params)
}

fn pem_to_der(pem: &str) -> Option<Vec<u8>> {
    let (_, parsed) = x509_parser::pem::parse_x509_pem(pem.as_bytes()).ok()?;
    (parsed.label == "CERTIFICATE").then_some(parsed.contents)
}

type LoadedCa = (String, Issuer<'static, KeyPair>);

fn load_or_create(dir: &Path) -> Result<LoadedCa, TlsError> {
    let cert_path = dir.join(CA_CERT_FILE);
    let key_path = dir.join(CA_KEY_FILE);
    let exists = |path: &Path| {
        path.try_exists().map_err(|source| TlsError::Io {
            action: "inspect",
            path: path.to_path_buf(),
            source,
        })
    };
    match (exists(&cert_path)?, exists(&key_path)?) {
        (true, true) => load(&cert_path, &key_path),
        (false, false) => create(dir, &cert_path, &key_path),
        (true, false) => Err(TlsError::Incomplete {
            dir: dir.to_path_buf(),
            present: CA_CERT_FILE,
            missing: CA_KEY_FILE,
        }),
        (false, true) => Err(TlsError::Incomplete {
            dir: dir.to_path_buf(),
            present: CA_KEY_FILE,
            missing: CA_CERT_FILE,
        }),
    }
}

fn read(path: &Path) -> Result<String, TlsError> {
    std::fs::read_to_string(path).map_err(|source| TlsError::Io {
        action: "read",
        path: path.to_path_buf(),
        source,
    })
}

fn load(cert_path: &Path, key_path: &Path) -> Result<LoadedCa, TlsError> {
    let key_pem = read(key_path)?;
    let cert_pem = read(cert_path)?;
    warn_if_key_is_shared(key_path);
    let key = KeyPair::from_pem(&key_pem).map_err(|error| TlsError::BadKey {
        path: key_path.to_path_buf(),
        reason: error.to_string(),
    })?;
    let bad_cert = |reason: String| TlsError::BadCertificate {
        path: cert_path.to_path_buf(),
        reason,
    };
    let der = pem_to_der(&cert_pem)
        .ok_or_else(|| bad_cert("no CERTIFICATE block in PEM form".to_owned()))?;
    let (_, cert) =
        x509_parser::parse_x509_certificate(&der).map_err(|error| bad_cert(error.to_string()))?;
    if !cert.is_ca() {
        return Err(bad_cert(
            "the certificate is not a CA (basicConstraints CA:TRUE is missing)".to_owned(),
        ));
    }
    if cert.public_key().subject_public_key.data.as_ref() != key.public_key_raw() {
        return Err(TlsError::Mismatch {
            cert: cert_path.to_path_buf(),
            key: key_path.to_path_buf(),
        });
    }
    let issuer = Issuer::from_ca_cert_der(&CertificateDer::from(der.as_slice()), key)
        .map_err(|error| bad_cert(error.to_string()))?;
    Ok((cert_pem, issuer))
}

#[cfg(unix)]
fn warn_if_key_is_shared(key_path: &Path) {
    use std::os::unix::fs::PermissionsExt;
    if let Ok(meta) = std::fs::metadata(key_path) {
        let mode = meta.permissions().mode() & 0o777;
        if mode & 0o077 != 0 {
            tracing::warn!(
                path = %key_path.display(),
                mode = format!("{mode:o}"),
                "the CA private key is readable by other users; chmod 600 it"
            );
        }
    }
}

#[cfg(not(unix))]
fn warn_if_key_is_shared(_key_path: &Path) {}

fn create(dir: &Path, cert_path: &Path, key_path: &Path) -> Result<LoadedCa, TlsError> {
    let io_error = |action: &'static str, path: &Path| {
        let path = path.to_path_buf();
        move |source| TlsError::Io {
            action,
            path,
            source,
        }
    };
    std::fs::create_dir_all(dir).map_err(io_error("create", dir))?;
    let key = KeyPair::generate().map_err(certificate_error)?;
    let params = ca_params();
    let cert = params.self_signed(&key).map_err(certificate_error)?;
    let cert_pem = cert.pem();
    write_private(key_path, key.serialize_pem().as_bytes())
        .map_err(io_error("create", key_path))?;
    std::fs::write(cert_path, cert_pem.as_bytes()).map_err(io_error("write", cert_path))?;
    tracing::info!(dir = %dir.display(), "created a local CA; trust {CA_CERT_FILE} in your clients");
    Ok((cert_pem, Issuer::new(params, key)))
}

/// Writes a new file readable by its owner only (0600 on Unix).
fn write_private(path: &Path, contents: &[u8]) -> io::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path)?;
    file.write_all(contents)?;
    file.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_checked_and_deduplicated() {
        let names = leaf_names(&[
            "emulator.internal".into(),
            "LOCALHOST".into(),
            "10.0.0.7".into(),
            "*.example.test".into(),
        ])
        .unwrap();
        assert_eq!(
            names,
            [
                "graph.facebook.com",
                "localhost",
                "127.0.0.1",
                "emulator.internal",
                "10.0.0.7",
                "*.example.test"
            ]
        );
        for bad in ["bad name", "", "under_score!", "-", "a..b", "1.2.3.4.5"] {
            assert!(
                matches!(leaf_names(&[bad.into()]), Err(TlsError::InvalidName { .. })),
                "{bad}"
            );
        }
    }
}
