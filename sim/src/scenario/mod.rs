//! Scenario files: the format ([`model`]), loading with validation ([`load_file`],
//! [`load_str`]), and the JSON Schema ([`json_schema`]).
//!
//! Loading reports the first problem as a [`ScenarioError`] whose message names the JSON
//! path of the bad value, e.g. `sites[2].cell.loss.p: must be within [0, 1], got 1.5`.
//! The format is documented field by field in `docs/scenario.md`.

mod error;
mod load;
pub mod model;
mod validate;

pub use error::{Rule, ScenarioError};
pub use load::{SCHEMA_ID, json_schema, load_file, load_str};
pub use model::Scenario;
pub use validate::{
    BLOCK_HEADER_BYTES, MAX_FLEET, MAX_UPDATE_KIB, ROLLOUT_POLICIES, parse_epoch,
    parse_window_start, validate,
};
