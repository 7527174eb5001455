//! Scenario files: the format ([`model`]), loading with validation, and the JSON Schema.

pub mod model;

pub use model::Scenario;
