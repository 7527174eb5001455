//! Independent simulation runs in parallel (rayon), with a progress bar of finished runs.
//! Each run has its own runtime and random streams, and results come back in input order:
//! what a batch reports does not depend on the number of threads or on which run finishes
//! first.

use anyhow::{Context, Result};
use indicatif::{ProgressBar, ProgressStyle};
use rayon::prelude::*;

/// Run `run` on every item on `jobs` worker threads (default: all cores); the results in
/// the order of `items`. `name` prefixes the progress bar, which `quiet` hides.
pub(crate) fn run_all<T: Sync, R: Send>(
    items: &[T],
    jobs: Option<u32>,
    quiet: bool,
    name: &str,
    run: impl Fn(&T) -> R + Sync,
) -> Result<Vec<R>> {
    let bar = if quiet {
        ProgressBar::hidden()
    } else {
        let bar = ProgressBar::new(items.len() as u64);
        bar.set_style(
            ProgressStyle::with_template("{prefix} [{bar:30}] {pos}/{len} runs  {elapsed_precise}")
                .unwrap_or_else(|_| ProgressStyle::default_bar())
                .progress_chars("=> "),
        );
        bar.set_prefix(name.to_string());
        bar
    };
    let mut pool = rayon::ThreadPoolBuilder::new();
    if let Some(j) = jobs {
        pool = pool.num_threads(j as usize);
    }
    let pool = pool.build().context("starting worker threads")?;
    let results = pool.install(|| {
        items
            .par_iter()
            .map(|item| {
                let r = run(item);
                bar.inc(1);
                r
            })
            .collect()
    });
    bar.finish_and_clear();
    Ok(results)
}
