//! The `wa-cloud-emulator` binary: parse the command line and run it — serve until
//! SIGINT/SIGTERM, or one of the client subcommands. Everything else lives in the library.

use clap::Parser;
use wa_cloud_emulator::Cli;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    Cli::parse().run().await
}
