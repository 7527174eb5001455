//! `icsim`: simulator and tools for secure software updates to fleets of industrial
//! controllers. See README.md.
#![forbid(unsafe_code)]

mod diag;
mod files;
mod rfc3339;
mod update;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// icsim: secure software updates for industrial controllers (PLCs), for real files and
/// (soon) simulated fleets.
#[derive(Parser)]
#[command(name = "icsim", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Work with real update files: keys, author credentials, SUIT envelopes, approvals.
    #[command(subcommand)]
    Update(update::UpdateCommand),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Update(cmd) => update::run(cmd),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(2)
        }
    }
}
