//! # icsim-sim
//!
//! The deterministic discrete-event simulator of icsim (DESIGN.md section 2): a tokio
//! runtime with paused time per run, an industrial network model, a fleet of PLCs that run
//! the device side of `icsim-protocol` unchanged, the operator's Update Manager, rollout
//! policies and attacker models.
#![forbid(unsafe_code)]

pub mod net;
pub mod scenario;
