//! `icsim run [SCENARIO] [--seed N] [--out DIR] [--quiet]`.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::Args;
use icsim_sim::scenario::{self, Scenario};

use crate::files::Output;

/// The quickstart scenario, embedded so that `icsim run` works with no file at all.
pub(crate) const QUICKSTART: &str = include_str!("../scenarios/quickstart.json");

/// Arguments of `run`.
#[derive(Args)]
pub(crate) struct RunArgs {
    /// The scenario file (JSON); without one, the embedded quickstart scenario runs.
    scenario: Option<PathBuf>,
    /// Seed of the run (default: the scenario's).
    #[arg(long)]
    seed: Option<u64>,
    /// Output directory (default: `out/NAME-seedSEED`).
    #[arg(long)]
    out: Option<PathBuf>,
    /// No progress display.
    #[arg(long)]
    quiet: bool,
    #[command(flatten)]
    crypto: CryptoCacheArg,
}

/// The `--no-crypto-cache` switch of the commands that simulate.
#[derive(clap::Args, Clone, Copy)]
pub(crate) struct CryptoCacheArg {
    /// Compute every cryptographic operation, even those whose very same inputs were
    /// computed before in a run (the results are the same; it is slower).
    #[arg(long)]
    no_crypto_cache: bool,
}

impl CryptoCacheArg {
    /// The run options this switch gives.
    pub(crate) fn options(self) -> icsim_sim::RunOptions {
        icsim_sim::RunOptions {
            crypto_cache: !self.no_crypto_cache,
        }
    }
}

/// Load the scenario named on the command line, or the embedded quickstart.
pub(crate) fn load(path: Option<&std::path::Path>) -> Result<Scenario> {
    match path {
        Some(p) => scenario::load_file(p).map_err(|e| anyhow::anyhow!("{}: {e}", p.display())),
        None => {
            scenario::load_str(QUICKSTART).map_err(|e| anyhow::anyhow!("embedded quickstart: {e}"))
        }
    }
}

/// Run one scenario and write `report.json` and `summary.md`.
pub(crate) fn run(args: RunArgs) -> Result<ExitCode> {
    let scenario = load(args.scenario.as_deref())?;
    let seed = args.seed.unwrap_or(scenario.seed);
    let out = args
        .out
        .unwrap_or_else(|| PathBuf::from(format!("out/{}-seed{seed}", scenario.name)));
    let bar = crate::progress::Bar::new(args.quiet, &scenario.name);
    let started = std::time::Instant::now();
    let options = args.crypto.options();
    let report = icsim_sim::run_with(&scenario, Some(seed), None, &options, &mut |p| {
        bar.update(p, started.elapsed())
    })
    .with_context(|| format!("running {}", scenario.name))?;
    bar.finish(&report, started.elapsed());
    let mut output = Output::default();
    output.add(
        out.join("report.json"),
        icsim_reports::to_json(&report).into_bytes(),
    );
    output.add(
        out.join("summary.md"),
        icsim_reports::render_summary(&report).into_bytes(),
    );
    output.commit()?;
    let c = &report.completion;
    let h = |v: Option<f64>| v.map_or_else(|| "not reached".to_string(), |h| format!("{h:.2} h"));
    println!(
        "{}: {} PLCs, T90 {}, T100 {}, {:.1} % patched",
        scenario.name,
        report.fleet.devices,
        h(c.t90_h),
        h(c.t100_h),
        c.patched_share * 100.0
    );
    println!("report: {}", out.join("report.json").display());
    println!("summary: {}", out.join("summary.md").display());
    Ok(ExitCode::SUCCESS)
}
