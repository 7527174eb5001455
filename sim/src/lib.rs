//! # icsim-sim
//!
//! The deterministic discrete-event simulator of icsim (DESIGN.md section 2): a tokio
//! runtime with paused time per run, an industrial network model, a fleet of PLCs that run
//! the device side of `icsim-protocol` unchanged, the operator's Update Manager, rollout
//! policies and attacker models.
//!
//! This crate is empty for now: the engine, the network and the fleet arrive with issue 4,
//! which builds on the protocol state machines of issue 3. Nothing here pretends to run.
#![forbid(unsafe_code)]
