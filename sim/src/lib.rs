//! # icsim-sim
//!
//! The deterministic discrete-event simulator of icsim (DESIGN.md section 2): a tokio
//! runtime with paused time per run, an industrial network model, a fleet of PLCs that run
//! the device side of `icsim-protocol` unchanged, the operator's Update Manager, and the
//! rollout. [`run::run`] runs a [`scenario::Scenario`] and returns its report.
//!
//! ## Attackers: modelling choices
//!
//! The attackers of `../shared/ATTACKS.md` act on real bytes and real protocol objects;
//! where the catalogue leaves a choice open, the simulator decides as follows.
//!
//! - ATK-STOLEN-KEY with `operator_approval` on is blocked by the operator's own tests of
//!   every update before approval (IEC TR 62443-2-3): a process assumption, not a
//!   cryptographic check. With approval off the malicious update is approved, rolled out
//!   under the rollout policy, and fails on the PLCs it reaches, so a policy's abort limits
//!   the blast radius.
//! - ATK-SLOW succeeds on a device held in a trickled transfer for longer than the
//!   scenario's per-device timeout; ATK-DROP on a device left unpatched at the end.
//! - ATK-FLOOD floods the authorization server; it succeeds when legitimate requests are
//!   refused or wait more than 10 s. Flood requests counted as blocked by
//!   `bounded_queue` went through the rate limit without harming anyone.
//! - A run ends when the rollout is done: an attacker that starts later never acts.
//! - Failed device updates are retried from the repository, never from the site cache the
//!   failure may have come from.
#![forbid(unsafe_code)]

pub mod bench;
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

pub use run::{
    Progress, RunError, RunOptions, replication_seed, run, run_policy, run_with, scenario_sha256,
};
