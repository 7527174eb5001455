//! `icsim sweep plan|run|merge`: a policy comparison spread over separate processes (a
//! Slurm job array, a Kubernetes Indexed Job, or a shell loop). `plan` writes one
//! self-contained file (the scenario itself, the policies and seeds of every unit); `run`
//! simulates one unit and writes one self-describing result file; `merge` checks that a
//! directory holds every unit of one plan and writes the same outputs, byte for byte, as
//! `icsim compare` would in one process.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use clap::{Args, Subcommand};
use icsim_reports::RunReport;
use icsim_sim::scenario::Scenario;
use serde::{Deserialize, Serialize};
use sha2::Digest as _;

use crate::files::Output;

/// The format name of plan files.
const PLAN_FORMAT: &str = "icsim-sweep-plan/1";
/// The format name of unit result files.
const UNIT_FORMAT: &str = "icsim-sweep-unit/1";

/// The sweep subcommands.
#[derive(Subcommand)]
pub(crate) enum SweepCommand {
    /// Plan a comparison as independent units (one per policy and replication).
    Plan(PlanArgs),
    /// Run one unit of a plan.
    Run(RunArgs),
    /// Merge the results of every unit into the comparison report.
    Merge(MergeArgs),
}

/// Arguments of `sweep plan`.
#[derive(Args)]
pub(crate) struct PlanArgs {
    /// The scenario file (JSON).
    scenario: PathBuf,
    /// A policy to compare (repeatable); default as in `icsim compare`.
    #[arg(long = "policy")]
    policies: Vec<String>,
    /// Replications per policy.
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u32).range(1..=10_000))]
    replications: u32,
    /// Base seed (default: the scenario's).
    #[arg(long)]
    seed: Option<u64>,
    /// The plan file to write.
    #[arg(long)]
    out: PathBuf,
}

/// Arguments of `sweep run`.
#[derive(Args)]
pub(crate) struct RunArgs {
    /// The plan file.
    plan: PathBuf,
    /// The unit to run, from 0; default: `SLURM_ARRAY_TASK_ID` or `JOB_COMPLETION_INDEX`.
    #[arg(long)]
    unit: Option<usize>,
    /// Directory of the unit result files (default: `out/NAME-sweep`).
    #[arg(long)]
    out: Option<PathBuf>,
    #[command(flatten)]
    crypto: crate::run_cmd::CryptoCacheArg,
}

/// Arguments of `sweep merge`.
#[derive(Args)]
pub(crate) struct MergeArgs {
    /// The directory holding the unit result files.
    dir: PathBuf,
    /// Output directory of the comparison report.
    #[arg(long)]
    out: PathBuf,
}

/// One unit: a policy and a seed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Unit {
    policy: String,
    seed: u64,
}

/// A plan file.
#[derive(Debug, Serialize, Deserialize)]
struct Plan {
    format: String,
    /// SHA-256 of the scenario's canonical form (as in the run reports).
    scenario_sha256: String,
    /// The scenario itself, so that a unit needs no other file.
    scenario: Scenario,
    /// The units, in the order of the comparison report.
    units: Vec<Unit>,
}

impl Plan {
    /// A short identity of the plan (scenario and units) that every unit result carries.
    fn id(&self) -> String {
        let units = serde_json::to_string(&self.units).unwrap_or_default();
        let digest = sha2::Sha256::digest(format!("{}\n{units}", self.scenario_sha256));
        hex::encode(&digest[..16])
    }
}

/// A unit result file.
#[derive(Debug, Serialize, Deserialize)]
struct UnitResult {
    format: String,
    plan_id: String,
    unit: usize,
    units: usize,
    policy: String,
    seed: u64,
    report: RunReport,
}

fn read_json<T: for<'de> Deserialize<'de>>(path: &Path, what: &str) -> Result<T> {
    let bytes = crate::files::read(path)?;
    serde_json::from_slice(&bytes).with_context(|| format!("{}: not {what}", path.display()))
}

fn to_json<T: Serialize>(value: &T) -> Vec<u8> {
    // Plain data with string keys: serialising cannot fail.
    let mut text = serde_json::to_string_pretty(value).expect("serialising sweep data");
    text.push('\n');
    text.into_bytes()
}

fn load_plan(path: &Path) -> Result<Plan> {
    let plan: Plan = read_json(path, "a sweep plan")?;
    if plan.format != PLAN_FORMAT {
        bail!(
            "{}: format {:?}, expected {PLAN_FORMAT:?}",
            path.display(),
            plan.format
        );
    }
    icsim_sim::scenario::validate(&plan.scenario)
        .map_err(|e| anyhow::anyhow!("{}: scenario: {e}", path.display()))?;
    if icsim_sim::scenario_sha256(&plan.scenario) != plan.scenario_sha256 {
        bail!(
            "{}: the scenario does not match its scenario_sha256",
            path.display()
        );
    }
    Ok(plan)
}

/// Run a sweep subcommand.
pub(crate) fn run(cmd: SweepCommand) -> Result<ExitCode> {
    match cmd {
        SweepCommand::Plan(a) => plan(a),
        SweepCommand::Run(a) => run_unit(a),
        SweepCommand::Merge(a) => merge(a),
    }
}

fn plan(args: PlanArgs) -> Result<ExitCode> {
    let scenario = crate::run_cmd::load(Some(&args.scenario))?;
    let policies = crate::compare_cmd::policies(&scenario, &args.policies)?;
    let base = args.seed.unwrap_or(scenario.seed);
    let units: Vec<Unit> = crate::compare_cmd::plan(&policies, base, args.replications)
        .into_iter()
        .map(|(policy, seed)| Unit { policy, seed })
        .collect();
    let plan = Plan {
        format: PLAN_FORMAT.into(),
        scenario_sha256: icsim_sim::scenario_sha256(&scenario),
        scenario,
        units,
    };
    let mut output = Output::default();
    output.add(&args.out, to_json(&plan));
    output.commit()?;
    println!(
        "{}: {} units ({} policies x {} replications), run them with `icsim sweep run {} --unit I` for I in 0..{}",
        args.out.display(),
        plan.units.len(),
        policies.len(),
        args.replications,
        args.out.display(),
        plan.units.len()
    );
    Ok(ExitCode::SUCCESS)
}

/// The unit index: `--unit`, else a scheduler's array index.
fn unit_index(given: Option<usize>) -> Result<usize> {
    if let Some(u) = given {
        return Ok(u);
    }
    for var in ["SLURM_ARRAY_TASK_ID", "JOB_COMPLETION_INDEX"] {
        if let Ok(v) = std::env::var(var) {
            return v
                .trim()
                .parse()
                .with_context(|| format!("{var}={v:?} is not a unit index"));
        }
    }
    bail!("no unit: give --unit I, or set SLURM_ARRAY_TASK_ID or JOB_COMPLETION_INDEX")
}

fn unit_file(dir: &Path, unit: usize) -> PathBuf {
    dir.join(format!("unit-{unit:06}.json"))
}

fn run_unit(args: RunArgs) -> Result<ExitCode> {
    let plan = load_plan(&args.plan)?;
    let index = unit_index(args.unit)?;
    let Some(unit) = plan.units.get(index) else {
        bail!(
            "unit {index}: the plan has units 0..{} only",
            plan.units.len()
        );
    };
    let out = args
        .out
        .unwrap_or_else(|| PathBuf::from(format!("out/{}-sweep", plan.scenario.name)));
    let report = icsim_sim::run_with(
        &plan.scenario,
        Some(unit.seed),
        Some(&unit.policy),
        &args.crypto.options(),
        &mut |_| {},
    )
    .with_context(|| format!("running unit {index}"))?;
    let result = UnitResult {
        format: UNIT_FORMAT.into(),
        plan_id: plan.id(),
        unit: index,
        units: plan.units.len(),
        policy: unit.policy.clone(),
        seed: unit.seed,
        report,
    };
    let path = unit_file(&out, index);
    let mut output = Output::default();
    output.add(&path, to_json(&result));
    output.commit()?;
    println!(
        "unit {index} ({}, seed {}): {}",
        unit.policy,
        unit.seed,
        path.display()
    );
    Ok(ExitCode::SUCCESS)
}

fn merge(args: MergeArgs) -> Result<ExitCode> {
    let entries = std::fs::read_dir(&args.dir)
        .with_context(|| format!("cannot read {}", args.dir.display()))?;
    let mut paths: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with("unit-") && n.ends_with(".json"))
        })
        .collect();
    paths.sort();
    if paths.is_empty() {
        bail!("{}: no unit result files (unit-*.json)", args.dir.display());
    }
    let mut results: Vec<(PathBuf, UnitResult)> = Vec::new();
    for p in paths {
        let r: UnitResult = read_json(&p, "a sweep unit result")?;
        if r.format != UNIT_FORMAT {
            bail!(
                "{}: format {:?}, expected {UNIT_FORMAT:?}",
                p.display(),
                r.format
            );
        }
        results.push((p, r));
    }
    let (first_path, first) = &results[0];
    for (p, r) in &results {
        if r.plan_id != first.plan_id || r.units != first.units {
            bail!(
                "{} and {} come from different plans",
                first_path.display(),
                p.display()
            );
        }
        // Their reports would mix host counts of two kinds (`engine.host_crypto`).
        if r.report.engine.host_crypto.cache != first.report.engine.host_crypto.cache {
            bail!(
                "{} and {} were run with different crypto-cache settings \
                 (run every unit with or every unit without --no-crypto-cache)",
                first_path.display(),
                p.display()
            );
        }
    }
    let total = first.units;
    let mut slots: Vec<Option<UnitResult>> = (0..total).map(|_| None).collect();
    for (p, r) in results {
        match slots.get_mut(r.unit) {
            Some(slot @ None) => *slot = Some(r),
            Some(Some(_)) => bail!("{}: unit {} appears twice", p.display(), r.unit),
            None => bail!("{}: unit {} of a plan of {total}", p.display(), r.unit),
        }
    }
    let missing: Vec<String> = slots
        .iter()
        .enumerate()
        .filter(|(_, s)| s.is_none())
        .map(|(i, _)| i.to_string())
        .collect();
    if !missing.is_empty() {
        bail!(
            "{}: {} of {total} units missing: {}",
            args.dir.display(),
            missing.len(),
            missing.join(", ")
        );
    }
    let units: Vec<UnitResult> = slots.into_iter().flatten().collect();
    let plan: Vec<(String, u64)> = units.iter().map(|u| (u.policy.clone(), u.seed)).collect();
    let reports: Vec<RunReport> = units.into_iter().map(|u| u.report).collect();
    let grouped = crate::compare_cmd::group(&plan, reports);
    crate::compare_cmd::write(&args.out, grouped)?;
    println!(
        "merged {total} units: {}",
        args.out.join("report.json").display()
    );
    Ok(ExitCode::SUCCESS)
}
