//! `icsim`: simulator and tools for secure software updates to fleets of industrial
//! controllers. See README.md.
#![forbid(unsafe_code)]

mod batch;
mod bench_cmd;
mod compare_cmd;
mod diag;
mod files;
mod matrix_cmd;
mod progress;
mod rfc3339;
mod run_cmd;
mod scenario_cmd;
mod sweep_cmd;
mod update;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// icsim: secure software updates for industrial controllers (PLCs), for real files and
/// simulated fleets.
#[derive(Parser)]
#[command(name = "icsim", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Simulate a rollout (with no scenario: the embedded quickstart); writes report.json
    /// and summary.md.
    Run(run_cmd::RunArgs),
    /// Compare rollout policies on the same fleet and seeds, with replications; writes
    /// report.json, summary.md, report.html and plots.
    Compare(compare_cmd::CompareArgs),
    /// Run each attack of a scenario with every defence on and with its own defence off;
    /// writes report.json, summary.md, report.html and a plot.
    AttackMatrix(matrix_cmd::MatrixArgs),
    /// A comparison spread over separate processes or cluster jobs: plan, run units, merge.
    #[command(subcommand)]
    Sweep(sweep_cmd::SweepCommand),
    /// Work with real update files: keys, author credentials, SUIT envelopes, approvals.
    #[command(subcommand)]
    Update(update::UpdateCommand),
    /// Engine benchmarks on reference models, one JSON line each.
    #[command(subcommand)]
    Bench(bench_cmd::BenchCommand),
    /// Check a scenario file; errors name the JSON path.
    Validate {
        /// The scenario file (JSON).
        file: std::path::PathBuf,
    },
    /// Print the JSON Schema of scenario files.
    Schema,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Run(args) => run_cmd::run(args),
        Command::Compare(args) => compare_cmd::run(args),
        Command::AttackMatrix(args) => matrix_cmd::run(args),
        Command::Sweep(cmd) => sweep_cmd::run(cmd),
        Command::Update(cmd) => update::run(cmd),
        Command::Bench(cmd) => bench_cmd::run(cmd),
        Command::Validate { file } => scenario_cmd::validate(&file),
        Command::Schema => scenario_cmd::schema(),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(2)
        }
    }
}
