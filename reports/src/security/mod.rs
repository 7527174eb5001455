//! The security reports: the security section of a run's `summary.md`, and the attack
//! matrix of `icsim attack-matrix` (each attack of a scenario alone, with every defence on
//! and with its own defence off) as JSON, Markdown, HTML and a plot.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde::{Deserialize, Serialize};

use crate::model::{AttackOutcome, SecurityReport};

pub mod comparison;
mod matrix_html;
mod matrix_plot;

pub use matrix_html::render_matrix_html;
pub use matrix_plot::matrix_plot;

/// How one attack ended in one run of the matrix.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct MatrixCell {
    /// Attempts made.
    pub attempts: u64,
    /// Attempts blocked, by the check that stopped them.
    pub blocked: BTreeMap<String, u64>,
    /// Attempts that succeeded.
    pub succeeded: u64,
    /// What success means, and what the attack achieved in this run.
    pub effect: String,
    /// PLCs patched by the rollout at the end of the run, of `devices_to_update`.
    pub patched: u64,
    /// PLCs the rollout was to update.
    pub devices_to_update: u64,
    /// When the last PLC was patched (hours after release), if all were.
    pub t100_h: Option<f64>,
}

impl MatrixCell {
    /// The cell of `attack` in a run's security section, with the run's completion.
    pub fn from_outcome(
        o: &AttackOutcome,
        patched: u64,
        devices: u64,
        t100_h: Option<f64>,
    ) -> Self {
        MatrixCell {
            attempts: o.attempts,
            blocked: o.blocked.clone(),
            succeeded: o.succeeded,
            effect: o.effect.clone(),
            patched,
            devices_to_update: devices,
            t100_h,
        }
    }
}

/// One attack of the matrix: alone with every defence on, and with its defence off.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MatrixRow {
    /// The catalogue id (`ATK-...`).
    pub attack: String,
    /// The defence switches turned off in the ablated run.
    pub defences: Vec<String>,
    /// Every defence on.
    pub defended: MatrixCell,
    /// Its defences off.
    pub ablated: MatrixCell,
}

/// A rollout with and without the scenario's attackers (every defence on).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RolloutDelay {
    /// PLCs to update.
    pub devices_to_update: u64,
    /// Without attackers: PLCs patched, T90 and T100 (hours after release).
    pub baseline_patched: u64,
    /// T90 without attackers.
    pub baseline_t90_h: Option<f64>,
    /// T100 without attackers.
    pub baseline_t100_h: Option<f64>,
    /// Under every attacker of the scenario at once: PLCs patched.
    pub attacked_patched: u64,
    /// T90 under attack.
    pub attacked_t90_h: Option<f64>,
    /// T100 under attack.
    pub attacked_t100_h: Option<f64>,
    /// Attempts of all attacks together in the attacked run, and how many succeeded.
    pub attacked_attempts: u64,
    /// Successful attempts in the attacked run (0 with every defence on).
    pub attacked_succeeded: u64,
}

/// The blast radius of a malicious update signed with a stolen author key when the
/// operator's approval is switched off, under one rollout policy.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct BlastRow {
    /// The policy name.
    pub policy: String,
    /// What it does (e.g. `canary_ramp, abort at 20 % failures`).
    pub description: String,
    /// PLCs that installed the malicious image.
    pub hit: u64,
    /// PLCs the malicious update was started on before the rollout ended or aborted.
    pub reached: u64,
    /// PLCs the rollout was to update (the most it could reach).
    pub devices_to_update: u64,
    /// Whether the rollout aborted.
    pub aborted: bool,
}

/// The report of `icsim attack-matrix`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct AttackMatrix {
    /// The scenario name.
    pub scenario: String,
    /// SHA-256 of the scenario file.
    pub scenario_sha256: String,
    /// The seed of every run.
    pub seed: u64,
    /// The policy of the matrix runs.
    pub policy: String,
    /// One row per distinct attack of the scenario, in catalogue order.
    pub rows: Vec<MatrixRow>,
    /// The rollout with and without the attackers.
    pub delay: RolloutDelay,
    /// ATK-STOLEN-KEY with operator approval off, per rollout policy.
    pub blast_radius: Vec<BlastRow>,
}

impl AttackMatrix {
    /// Attacks that succeeded with every defence on (should be none).
    pub fn defended_successes(&self) -> Vec<&str> {
        self.rows
            .iter()
            .filter(|r| r.defended.succeeded > 0)
            .map(|r| r.attack.as_str())
            .collect()
    }

    /// Attacks that did not succeed with their defence off (should be none).
    pub fn ablated_failures(&self) -> Vec<&str> {
        self.rows
            .iter()
            .filter(|r| r.ablated.succeeded == 0)
            .map(|r| r.attack.as_str())
            .collect()
    }
}

/// Serialise a matrix as pretty JSON with a final newline.
pub fn matrix_json(m: &AttackMatrix) -> String {
    // Plain data with string keys: serialising cannot fail.
    let mut text = serde_json::to_string_pretty(m).expect("serialising the attack matrix");
    text.push('\n');
    text
}

/// `check: n, check: n` (or `-`).
pub fn blocked_list(blocked: &BTreeMap<String, u64>) -> String {
    if blocked.is_empty() {
        return "-".into();
    }
    blocked
        .iter()
        .map(|(k, n)| format!("{k}: {n}"))
        .collect::<Vec<_>>()
        .join(", ")
}

pub(crate) fn hours(v: Option<f64>) -> String {
    v.map_or_else(|| "not reached".to_string(), |h| format!("{h:.2} h"))
}

/// The security section of a run's `summary.md`.
pub fn security_section(s: &SecurityReport) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "## Security\n");
    if s.defences_off.is_empty() {
        let _ = writeln!(out, "Every defence on.");
    } else {
        let _ = writeln!(
            out,
            "**Defences switched off (ablation): {}.**",
            s.defences_off.join(", ")
        );
    }
    let won: Vec<&str> = s
        .attacks
        .iter()
        .filter(|a| a.succeeded > 0)
        .map(|a| a.attack.as_str())
        .collect();
    if won.is_empty() {
        let _ = writeln!(out, "No attack succeeded.\n");
    } else {
        let _ = writeln!(out, "**Succeeded: {}.**\n", won.join(", "));
    }
    let _ = writeln!(
        out,
        "| attack | defence | attempts | blocked by | succeeded | effect |\n|---|---|---:|---|---:|---|"
    );
    for a in &s.attacks {
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} | {} |",
            a.attack,
            a.defences.join(", "),
            a.attempts,
            blocked_list(&a.blocked),
            a.succeeded,
            a.effect.replace('|', "/")
        );
    }
    out
}

/// The matrix as `summary.md`.
pub fn render_matrix_summary(m: &AttackMatrix) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "# icsim attack matrix: {}\n", m.scenario);
    let _ = writeln!(
        s,
        "Seed {}, scenario SHA-256 `{}`, policy `{}`. Each attack runs alone, once with every defence on and once with its own defence off.\n",
        m.seed,
        &m.scenario_sha256[..16.min(m.scenario_sha256.len())],
        m.policy
    );
    let bad = m.defended_successes();
    let weak = m.ablated_failures();
    let _ = writeln!(
        s,
        "- with every defence on: {}\n- with its defence off: {}\n",
        if bad.is_empty() {
            "no attack succeeded".to_string()
        } else {
            format!("**succeeded: {}**", bad.join(", "))
        },
        if weak.is_empty() {
            "every attack succeeded at least once".to_string()
        } else {
            format!("did not succeed: {}", weak.join(", "))
        }
    );
    let _ = writeln!(
        s,
        "## Matrix\n\n| attack | defence off in the ablated run | defended: attempts | blocked by | succeeded | ablated: attempts | blocked by | succeeded | effect (ablated) |\n|---|---|---:|---|---:|---:|---|---:|---|"
    );
    for r in &m.rows {
        let _ = writeln!(
            s,
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} |",
            r.attack,
            r.defences.join(", "),
            r.defended.attempts,
            blocked_list(&r.defended.blocked),
            r.defended.succeeded,
            r.ablated.attempts,
            blocked_list(&r.ablated.blocked),
            r.ablated.succeeded,
            r.ablated.effect.replace('|', "/")
        );
    }
    let d = &m.delay;
    let _ = writeln!(
        s,
        "\n## The rollout under attack\n\nEvery attacker of the scenario at once, every defence on: {} attempts, {} succeeded.\n\n| run | patched | T90 | T100 |\n|---|---:|---:|---:|\n| without attackers | {} of {} | {} | {} |\n| under every attack | {} of {} | {} | {} |\n",
        d.attacked_attempts,
        d.attacked_succeeded,
        d.baseline_patched,
        d.devices_to_update,
        hours(d.baseline_t90_h),
        hours(d.baseline_t100_h),
        d.attacked_patched,
        d.devices_to_update,
        hours(d.attacked_t90_h),
        hours(d.attacked_t100_h),
    );
    if !m.blast_radius.is_empty() {
        let _ = writeln!(
            s,
            "## Blast radius of a stolen author key (operator approval off)\n\n| policy | PLCs hit | reached | of the fleet to update | rollout aborted |\n|---|---:|---:|---:|---|"
        );
        for b in &m.blast_radius {
            let _ = writeln!(
                s,
                "| {} ({}) | {} | {} | {} | {} |",
                b.policy,
                b.description,
                b.hit,
                b.reached,
                b.devices_to_update,
                if b.aborted { "yes" } else { "no" }
            );
        }
        s.push('\n');
    }
    s
}
