//! # icsim-reports
//!
//! The report model of icsim ([`model`]) and its renderings (DESIGN.md section 4):
//! `report.json` and `summary.md` (plots and HTML follow with the policy comparison).
#![forbid(unsafe_code)]

pub mod model;
mod summary;

pub use model::RunReport;
pub use summary::render_summary;

/// Serialise a report as pretty JSON with a final newline (deterministic: the model uses
/// ordered maps and fixed field order).
pub fn to_json(report: &RunReport) -> String {
    // Serialising plain data with string keys cannot fail.
    let mut text = serde_json::to_string_pretty(report).expect("serialising the report model");
    text.push('\n');
    text
}
