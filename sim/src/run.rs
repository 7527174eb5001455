//! Running a scenario: one current-thread tokio runtime with paused time per run.

use icsim_reports::RunReport;
use sha2::{Digest, Sha256};

pub use crate::engine::{BuildError, Progress};
use crate::scenario::Scenario;

/// What a report says about the run beyond its measurements.
#[derive(Debug, Clone)]
pub(crate) struct RunInfo {
    pub(crate) name: String,
    pub(crate) sha256: String,
    pub(crate) epoch: String,
    pub(crate) horizon_h: f64,
    pub(crate) release_h: f64,
    pub(crate) policy: String,
    pub(crate) seed: u64,
}

/// Why a run failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RunError {
    /// The run could not be built.
    #[error("{0}")]
    Build(#[from] BuildError),
    /// The runtime could not be started.
    #[error("cannot start the simulation runtime: {0}")]
    Runtime(String),
}

/// The seed of replication `index` of a run with base seed `base` (SplitMix64 of both):
/// replications are independent of each other and of how many there are.
pub fn replication_seed(base: u64, index: u32) -> u64 {
    let mut z = base ^ (u64::from(index) + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// The SHA-256 of a scenario's canonical JSON form (fields in model order), hex.
pub fn scenario_sha256(scenario: &Scenario) -> String {
    // Serialising the model (plain data) cannot fail.
    let canonical = serde_json::to_vec(scenario).expect("serialising a scenario");
    Sha256::digest(&canonical)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// How to run, beyond the scenario: switches of the simulating host that do not change the
/// simulated outcome.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RunOptions {
    /// Reuse the results of identical cryptographic operations and share equal payload
    /// blocks between devices ([`icsim_protocol::memo`]). Off, every operation is
    /// computed; the report differs only in `engine.host_crypto`.
    pub crypto_cache: bool,
}

impl Default for RunOptions {
    fn default() -> Self {
        RunOptions { crypto_cache: true }
    }
}

/// Run `scenario` with `seed` (the scenario's own seed unless overridden) and return its
/// report. `progress` is called now and then with the simulated time and event count.
pub fn run(
    scenario: &Scenario,
    seed: Option<u64>,
    progress: &mut dyn FnMut(Progress),
) -> Result<RunReport, RunError> {
    run_policy(scenario, seed, None, progress)
}

/// Run `scenario` under the named `policy` (default: the scenario's `rollout.policy`).
pub fn run_policy(
    scenario: &Scenario,
    seed: Option<u64>,
    policy: Option<&str>,
    progress: &mut dyn FnMut(Progress),
) -> Result<RunReport, RunError> {
    run_with(scenario, seed, policy, &RunOptions::default(), progress)
}

/// Run `scenario` under `policy` (default: the scenario's) with host `options`.
pub fn run_with(
    scenario: &Scenario,
    seed: Option<u64>,
    policy: Option<&str>,
    options: &RunOptions,
    progress: &mut dyn FnMut(Progress),
) -> Result<RunReport, RunError> {
    let seed = seed.unwrap_or(scenario.seed);
    let mut engine = crate::engine::build(scenario, seed, policy, options)?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .start_paused(true)
        .build()
        .map_err(|e| RunError::Runtime(e.to_string()))?;
    runtime.block_on(engine.run(progress));
    Ok(engine.report(RunInfo {
        name: scenario.name.clone(),
        sha256: scenario_sha256(scenario),
        epoch: scenario.epoch.clone(),
        horizon_h: scenario.horizon_h,
        release_h: scenario.rollout.release_h,
        policy: policy.unwrap_or(&scenario.rollout.policy).to_string(),
        seed,
    }))
}
