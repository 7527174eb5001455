//! `icsim compare SCENARIO [--policy NAME]... [--replications R] [--jobs J] [--out DIR]`:
//! the policies on the same fleet and the same seeds, R replications each, in parallel.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use clap::Args;
use icsim_reports::{PolicyRuns, RunReport};

use crate::files::Output;

/// Arguments of `compare`.
#[derive(Args)]
pub(crate) struct CompareArgs {
    /// The scenario file (JSON).
    scenario: PathBuf,
    /// A policy to compare (repeatable); default: every policy of the scenario, or
    /// `all_at_once` if it defines none.
    #[arg(long = "policy")]
    policies: Vec<String>,
    /// Replications per policy (different seeds, the same for every policy).
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u32).range(1..=10_000))]
    replications: u32,
    /// Worker threads (default: all cores). The report does not depend on it.
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..=1024))]
    jobs: Option<u32>,
    /// Base seed (default: the scenario's).
    #[arg(long)]
    seed: Option<u64>,
    /// Output directory (default: `out/NAME-compare`).
    #[arg(long)]
    out: Option<PathBuf>,
    /// No progress display.
    #[arg(long)]
    quiet: bool,
    #[command(flatten)]
    crypto: crate::run_cmd::CryptoCacheArg,
}

/// The (policy, seed) runs of a comparison, in report order.
pub(crate) fn plan(policies: &[String], base_seed: u64, replications: u32) -> Vec<(String, u64)> {
    policies
        .iter()
        .flat_map(|p| {
            (0..replications).map(move |i| (p.clone(), icsim_sim::replication_seed(base_seed, i)))
        })
        .collect()
}

/// The policies to compare: those named, or the scenario's.
pub(crate) fn policies(
    scenario: &icsim_sim::scenario::Scenario,
    named: &[String],
) -> Result<Vec<String>> {
    let known: Vec<&str> = scenario
        .policies
        .iter()
        .map(|p| p.name.as_str())
        .chain(std::iter::once("all_at_once"))
        .collect();
    for p in named {
        if !known.contains(&p.as_str()) {
            bail!(
                "--policy {p:?}: no such policy in the scenario (known: {})",
                known.join(", ")
            );
        }
    }
    Ok(match (named.is_empty(), scenario.policies.is_empty()) {
        (false, _) => named.to_vec(),
        (true, true) => vec!["all_at_once".to_string()],
        (true, false) => scenario.policies.iter().map(|p| p.name.clone()).collect(),
    })
}

/// Group finished runs by policy, in plan order.
pub(crate) fn group(plan: &[(String, u64)], reports: Vec<RunReport>) -> Vec<PolicyRuns> {
    let mut out: Vec<PolicyRuns> = Vec::new();
    for ((policy, _), report) in plan.iter().zip(reports) {
        match out.last_mut() {
            Some(last) if last.policy == *policy => last.runs.push(report),
            _ => out.push(PolicyRuns {
                policy: policy.clone(),
                runs: vec![report],
            }),
        }
    }
    out
}

/// Write report.json, summary.md, report.html and the plots of a comparison to `out`.
pub(crate) fn write(out: &std::path::Path, grouped: Vec<PolicyRuns>) -> Result<()> {
    let comparison = icsim_reports::compare(grouped);
    let plots = icsim_reports::plots(&comparison).context("drawing the plots")?;
    let mut output = Output::default();
    output.add(
        out.join("report.json"),
        icsim_reports::comparison_json(&comparison).into_bytes(),
    );
    output.add(
        out.join("summary.md"),
        icsim_reports::render_comparison_summary(&comparison).into_bytes(),
    );
    output.add(
        out.join("report.html"),
        icsim_reports::render_html(&comparison, &plots).into_bytes(),
    );
    for plot in &plots {
        output.add(
            out.join("plots").join(format!("{}.svg", plot.name)),
            plot.svg.clone().into_bytes(),
        );
        output.add(
            out.join("plots").join(format!("{}.png", plot.name)),
            plot.png.clone(),
        );
    }
    output.commit()?;
    Ok(())
}

/// Run the comparison.
pub(crate) fn run(args: CompareArgs) -> Result<ExitCode> {
    let scenario = crate::run_cmd::load(Some(&args.scenario))?;
    let policies = policies(&scenario, &args.policies)?;
    let base = args.seed.unwrap_or(scenario.seed);
    let plan = plan(&policies, base, args.replications);
    let out = args
        .out
        .unwrap_or_else(|| PathBuf::from(format!("out/{}-compare", scenario.name)));
    let started = std::time::Instant::now();
    // Each run has its own runtime and random streams: the results do not depend on the
    // number of threads or the order in which runs finish.
    let results = crate::batch::run_all(
        &plan,
        args.jobs,
        args.quiet,
        &scenario.name,
        |(policy, seed)| {
            let options = args.crypto.options();
            icsim_sim::run_with(&scenario, Some(*seed), Some(policy), &options, &mut |_| {})
        },
    )?;
    let reports = results
        .into_iter()
        .collect::<Result<Vec<_>, _>>()
        .context("running the comparison")?;
    let grouped = group(&plan, reports);
    let table: Vec<(String, Option<f64>, Option<f64>)> = grouped
        .iter()
        .map(|g| {
            let mean = |f: fn(&RunReport) -> Option<f64>| {
                let v: Vec<f64> = g.runs.iter().filter_map(f).collect();
                (!v.is_empty()).then(|| v.iter().sum::<f64>() / v.len() as f64)
            };
            (
                g.policy.clone(),
                mean(|r| r.completion.t90_h),
                mean(|r| r.completion.t100_h),
            )
        })
        .collect();
    write(&out, grouped)?;
    let h = |v: Option<f64>| v.map_or_else(|| "not reached".to_string(), |h| format!("{h:.2} h"));
    for (policy, t90, t100) in table {
        println!("{policy}: mean T90 {}, T100 {}", h(t90), h(t100));
    }
    if !args.quiet {
        eprintln!(
            "{} runs ({} policies x {} replications) in {:.1} s wall",
            plan.len(),
            policies.len(),
            args.replications,
            started.elapsed().as_secs_f64()
        );
    }
    println!("report: {}", out.join("report.json").display());
    println!("html: {}", out.join("report.html").display());
    Ok(ExitCode::SUCCESS)
}
