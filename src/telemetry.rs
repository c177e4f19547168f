//! Log setup for the binary. The library never installs a global subscriber.

use tracing_subscriber::EnvFilter;

use crate::config::LogFormat;

/// Installs a stderr subscriber; `RUST_LOG` overrides the default `wa_cloud_emulator=info`.
pub fn init(format: LogFormat) {
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new("wa_cloud_emulator=info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let _ = match format {
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => builder.json().try_init(),
    };
}
