//! # icsim-reports
//!
//! The report model of icsim ([`model`]) and its renderings (DESIGN.md section 4):
//! `report.json` and `summary.md` of a run, the policy comparison with its plots and
//! `report.html` ([`mod@compare`], [`mod@plots`]), and the security reports ([`security`]: the
//! security section of a run and the attack matrix).
#![forbid(unsafe_code)]

pub mod compare;
mod compare_md;
mod error;
mod format;
mod html;
pub mod model;
pub mod plots;
pub mod security;
pub mod stats;
mod summary;

pub use compare::{ComparisonReport, PolicyRuns, compare, comparison_json};
pub use compare_md::render_comparison_summary;
pub use error::ReportError;
pub use html::{inline_svg, render_html, render_run_html};
pub use model::RunReport;
pub use plots::{Plot, plots};
pub use stats::Stat;
pub use summary::render_summary;

/// Serialise a report as pretty JSON with a final newline (deterministic: the model uses
/// ordered maps and fixed field order).
pub fn to_json(report: &RunReport) -> String {
    // Serialising plain data with string keys cannot fail.
    let mut text = serde_json::to_string_pretty(report).expect("serialising the report model");
    text.push('\n');
    text
}
