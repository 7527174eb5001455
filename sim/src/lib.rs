//! # icsim-sim
//!
//! The deterministic discrete-event simulator of icsim (DESIGN.md section 2): a tokio
//! runtime with paused time per run, an industrial network model, a fleet of PLCs that run
//! the device side of `icsim-protocol` unchanged, the operator's Update Manager, and the
//! rollout. [`run::run`] runs a [`scenario::Scenario`] and returns its report.
#![forbid(unsafe_code)]

mod engine;
pub mod net;
mod rng;
pub mod run;
pub mod scenario;

/// The attack catalogue of `../shared/ATTACKS.md` as the simulator models it, in catalogue
/// order: the attack id, the defence switches (scenario `defences` keys) expected to stop
/// it, and what success means.
pub fn attack_catalogue()
-> impl Iterator<Item = (&'static str, &'static [&'static str], &'static str)> {
    engine::attacks::CATALOGUE.iter().copied()
}

pub use run::{Progress, RunError, replication_seed, run, run_policy, scenario_sha256};
