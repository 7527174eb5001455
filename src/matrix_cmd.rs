//! `icsim attack-matrix SCENARIO [--policy NAME] [--seed N] [--jobs J] [--out DIR]`: every
//! attack of the scenario alone, once with every defence on and once with its own defence
//! off; the rollout with and without all the attackers at once; and the blast radius of a
//! stolen author key with operator approval off under two rollout policies.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use clap::Args;
use icsim_reports::RunReport;
use icsim_reports::model::AttackOutcome;
use icsim_reports::security::{
    AttackMatrix, BlastRow, MatrixCell, MatrixRow, RolloutDelay, matrix_json, matrix_plot,
    render_matrix_html, render_matrix_summary,
};
use icsim_sim::scenario::Scenario;
use icsim_sim::scenario::model::{Attacker, Policy};

use crate::files::Output;

/// Arguments of `attack-matrix`.
#[derive(Args)]
pub(crate) struct MatrixArgs {
    /// The scenario file (JSON) with its attackers.
    scenario: PathBuf,
    /// The rollout policy of the matrix runs (default: the scenario's `rollout`).
    #[arg(long)]
    policy: Option<String>,
    /// Seed of every run (default: the scenario's).
    #[arg(long)]
    seed: Option<u64>,
    /// Worker threads (default: all cores). The report does not depend on it.
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..=1024))]
    jobs: Option<u32>,
    /// Output directory (default: `out/NAME-attack-matrix`).
    #[arg(long)]
    out: Option<PathBuf>,
    /// No progress display.
    #[arg(long)]
    quiet: bool,
    #[command(flatten)]
    crypto: crate::run_cmd::CryptoCacheArg,
}

/// The two policies of the blast-radius runs: everything at once, and a canary ramp that
/// aborts when a fifth of the devices started so far failed (rolled back, rejected, failed).
const BLAST_POLICIES: &str = r#"[
 {"name": "matrix-all-at-once", "description": "every PLC at once, no abort",
  "strategy": {"kind": "all_at_once"}},
 {"name": "matrix-canary-abort", "description": "canary of 3, bake 0.5 h, ramp 1 to 10 PLCs/min, abort at 20 % failures",
  "strategy": {"kind": "canary_ramp", "canary": 3, "bake_h": 0.5, "base_rate_per_min": 1,
   "increment_factor": 2, "increase_after_succeeded": 5, "max_rate_per_min": 10},
  "abort": {"failure_pct": 20, "min_executed": 3}}
]"#;

/// One simulation of the matrix.
struct Job {
    scenario: Scenario,
    policy: Option<String>,
}

/// The distinct attacks of the scenario in catalogue order, with the switches that stop them.
fn attacks(s: &Scenario) -> Vec<(&'static str, &'static [&'static str])> {
    icsim_sim::attack_catalogue()
        .filter(|(id, _, _)| s.attackers.iter().any(|a| a.attack == *id))
        .map(|(id, defences, _)| (id, defences))
        .collect()
}

fn variant(base: &Scenario, attackers: Vec<Attacker>, off: &[&str]) -> Scenario {
    let mut s = base.clone();
    s.attackers = attackers;
    s.defences = off.iter().map(|d| (d.to_string(), false)).collect();
    s
}

/// The stolen-key attacker of the blast-radius runs: the scenario's, or one at the first
/// site, in both cases aimed at every PLC the update is for.
fn stolen_key(s: &Scenario) -> Attacker {
    let mut a = s
        .attackers
        .iter()
        .find(|a| a.attack == "ATK-STOLEN-KEY")
        .cloned()
        .unwrap_or(Attacker {
            attack: "ATK-STOLEN-KEY".into(),
            site: None,
            start_h: 0.0,
            attempts: 1,
            probability: 1.0,
        });
    let fleet: u32 = s
        .sites
        .iter()
        .flat_map(|site| site.devices.iter().map(|g| g.count))
        .sum();
    a.attempts = fleet.max(1);
    a
}

fn outcome<'a>(r: &'a RunReport, id: &str) -> Option<&'a AttackOutcome> {
    r.security.as_ref()?.attacks.iter().find(|a| a.attack == id)
}

fn cell(r: &RunReport, id: &str) -> MatrixCell {
    let c = &r.completion;
    match outcome(r, id) {
        Some(o) => MatrixCell::from_outcome(o, c.patched, r.fleet.devices_to_update, c.t100_h),
        None => MatrixCell {
            patched: c.patched,
            devices_to_update: r.fleet.devices_to_update,
            t100_h: c.t100_h,
            ..MatrixCell::default()
        },
    }
}

/// Build every run of the matrix, in report order: per attack (defended, ablated), then
/// the baseline, the attacked rollout and the blast-radius runs.
fn plan(base: &Scenario, policy: Option<&str>) -> Result<(Vec<Job>, Vec<Policy>)> {
    let job = |scenario: Scenario| Job {
        scenario,
        policy: policy.map(str::to_string),
    };
    let mut jobs = Vec::new();
    for (id, defences) in attacks(base) {
        let mine: Vec<Attacker> = base
            .attackers
            .iter()
            .filter(|a| a.attack == id)
            .cloned()
            .collect();
        jobs.push(job(variant(base, mine.clone(), &[])));
        jobs.push(job(variant(base, mine, defences)));
    }
    jobs.push(job(variant(base, Vec::new(), &[])));
    jobs.push(job(variant(base, base.attackers.clone(), &[])));
    let blast: Vec<Policy> =
        serde_json::from_str(BLAST_POLICIES).context("the built-in blast-radius policies")?;
    let mut with_blast = variant(base, vec![stolen_key(base)], &["operator_approval"]);
    with_blast.policies.extend(blast.iter().cloned());
    for p in &blast {
        jobs.push(Job {
            scenario: with_blast.clone(),
            policy: Some(p.name.clone()),
        });
    }
    Ok((jobs, blast))
}

/// Put the finished runs together into the matrix.
fn assemble(
    base: &Scenario,
    seed: u64,
    policy: &str,
    reports: &[RunReport],
    blast: &[Policy],
) -> AttackMatrix {
    let ids = attacks(base);
    let mut rows = Vec::new();
    for (i, (id, defences)) in ids.iter().enumerate() {
        rows.push(MatrixRow {
            attack: id.to_string(),
            defences: defences.iter().map(|d| d.to_string()).collect(),
            defended: cell(&reports[2 * i], id),
            ablated: cell(&reports[2 * i + 1], id),
        });
    }
    let n = 2 * ids.len();
    let (baseline, attacked) = (&reports[n], &reports[n + 1]);
    let attacks = attacked
        .security
        .as_ref()
        .map(|s| s.attacks.as_slice())
        .unwrap_or_default();
    let delay = RolloutDelay {
        devices_to_update: baseline.fleet.devices_to_update,
        baseline_patched: baseline.completion.patched,
        baseline_t90_h: baseline.completion.t90_h,
        baseline_t100_h: baseline.completion.t100_h,
        attacked_patched: attacked.completion.patched,
        attacked_t90_h: attacked.completion.t90_h,
        attacked_t100_h: attacked.completion.t100_h,
        attacked_attempts: attacks.iter().map(|a| a.attempts).sum(),
        attacked_succeeded: attacks.iter().map(|a| a.succeeded).sum(),
    };
    let blast_radius = blast
        .iter()
        .zip(&reports[n + 2..])
        .map(|(p, r)| {
            let o = outcome(r, "ATK-STOLEN-KEY");
            BlastRow {
                policy: p.name.clone(),
                description: p.description.clone(),
                hit: o.map_or(0, |o| o.succeeded),
                reached: o.map_or(0, |o| o.attempts),
                devices_to_update: r.fleet.devices_to_update,
                aborted: r.rollout.aborted_at_h.is_some(),
            }
        })
        .collect();
    AttackMatrix {
        scenario: base.name.clone(),
        scenario_sha256: icsim_sim::scenario_sha256(base),
        seed,
        policy: policy.to_string(),
        rows,
        delay,
        blast_radius,
    }
}

/// Run the attack matrix.
pub(crate) fn run(args: MatrixArgs) -> Result<ExitCode> {
    let scenario = crate::run_cmd::load(Some(&args.scenario))?;
    if scenario.attackers.is_empty() {
        bail!(
            "{}: the scenario has no attackers (add an `attackers` list; see docs/scenario.md)",
            args.scenario.display()
        );
    }
    if let Some(p) = &args.policy {
        crate::compare_cmd::policies(&scenario, std::slice::from_ref(p))?;
    }
    let seed = args.seed.unwrap_or(scenario.seed);
    let out = args
        .out
        .unwrap_or_else(|| PathBuf::from(format!("out/{}-attack-matrix", scenario.name)));
    let (jobs, blast) = plan(&scenario, args.policy.as_deref())?;
    // Independent runs, each with its own runtime and random streams.
    let options = args.crypto.options();
    let results = crate::batch::run_all(&jobs, args.jobs, args.quiet, &scenario.name, |j| {
        let policy = j.policy.as_deref();
        icsim_sim::run_with(&j.scenario, Some(seed), policy, &options, &mut |_| {})
    })?;
    let reports = results
        .into_iter()
        .collect::<Result<Vec<_>, _>>()
        .context("running the attack matrix")?;
    let policy = reports
        .first()
        .map(|r| r.scenario.policy.clone())
        .unwrap_or_default();
    let matrix = assemble(&scenario, seed, &policy, &reports, &blast);
    let plot = matrix_plot(&matrix).context("drawing the matrix plot")?;
    let mut output = Output::default();
    output.add(out.join("report.json"), matrix_json(&matrix).into_bytes());
    output.add(
        out.join("summary.md"),
        render_matrix_summary(&matrix).into_bytes(),
    );
    output.add(
        out.join("report.html"),
        render_matrix_html(&matrix, Some(&plot)).into_bytes(),
    );
    output.add(out.join("plots/attack_matrix.svg"), plot.svg.into_bytes());
    output.add(out.join("plots/attack_matrix.png"), plot.png);
    output.commit()?;
    for r in &matrix.rows {
        println!(
            "{}: defended {}/{} succeeded, ablated ({}) {}/{}",
            r.attack,
            r.defended.succeeded,
            r.defended.attempts,
            r.defences.join(", "),
            r.ablated.succeeded,
            r.ablated.attempts
        );
    }
    let h = |v: Option<f64>| v.map_or_else(|| "not reached".to_string(), |h| format!("{h:.2} h"));
    println!(
        "T100 without attackers {}, under every attack {}",
        h(matrix.delay.baseline_t100_h),
        h(matrix.delay.attacked_t100_h)
    );
    for b in &matrix.blast_radius {
        println!(
            "stolen key, operator approval off, {}: {} PLCs hit of {} to update{}",
            b.policy,
            b.hit,
            b.devices_to_update,
            if b.aborted { " (rollout aborted)" } else { "" }
        );
    }
    println!("report: {}", out.join("report.json").display());
    println!("html: {}", out.join("report.html").display());
    Ok(ExitCode::SUCCESS)
}
