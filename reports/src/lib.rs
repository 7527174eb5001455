//! # icsim-reports
//!
//! The report model of icsim and its renderings (DESIGN.md section 4): `report.json`,
//! `summary.md`, a self-contained `report.html` and plots (SVG and PNG, via plotters).
//!
//! This crate is empty for now: reports arrive with the simulator (issues 4 and 5).
//! Nothing here pretends to work.
#![forbid(unsafe_code)]
