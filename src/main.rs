//! The `wa-cloud-emulator` binary: parse settings, start the library's emulator, serve until
//! SIGINT/SIGTERM. Everything else lives in the library.

use clap::Parser;
use wa_cloud_emulator::{Config, Emulator, server::shutdown_signal, telemetry};

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let config = Config::parse();
    telemetry::init(config.log_format);
    let running = match Emulator::from_config(&config).start().await {
        Ok(running) => running,
        Err(error) => {
            eprintln!("wa-cloud-emulator: {error}");
            return std::process::ExitCode::from(2);
        }
    };
    print!("{}", running.banner());
    match running.run_until(shutdown_signal()).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("wa-cloud-emulator: {error}");
            std::process::ExitCode::FAILURE
        }
    }
}
