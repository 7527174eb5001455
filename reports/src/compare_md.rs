//! `summary.md` of a comparison: the headline table, the security section when the scenario
//! has attackers, then every metric per policy.

use std::fmt::Write as _;

use crate::compare::ComparisonReport;
use crate::format::{HEADLINE, headline_cells, metric_label, num, preamble};

/// Escape the characters that would break a Markdown table cell.
fn cell(s: &str) -> String {
    s.replace('|', "\\|").replace('\n', " ")
}

/// Render the comparison as Markdown: a headline table (policy, T90, T100, downtime,
/// exposure, bytes, each `mean ± half-width of the 95 % CI`, with `k/n reached` where some
/// runs never got there), then a `## Security` section when any run has one (attack ×
/// policy totals), then each policy's metrics in full.
pub fn render_comparison_summary(r: &ComparisonReport) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "# icsim compare: {}\n", r.scenario.name);
    let _ = writeln!(s, "{}\n", preamble(r));
    let _ = writeln!(
        s,
        "Each cell: mean ± half-width of the 95 % confidence interval over the replications (Student's t); times are hours after the release, \"k/n reached\" counts the runs that got there (the mean is over those).\n"
    );
    let _ = write!(s, "| policy |");
    for (header, _, _) in HEADLINE {
        let _ = write!(s, " {header} |");
    }
    let _ = write!(s, "\n|---|");
    for _ in HEADLINE {
        let _ = write!(s, "---:|");
    }
    s.push('\n');
    for p in &r.policies {
        let _ = write!(s, "| {} |", cell(&p.policy));
        for c in headline_cells(p) {
            let _ = write!(s, " {} |", cell(&c));
        }
        s.push('\n');
    }
    if r.policies.is_empty() {
        let _ = writeln!(s, "\nNo policy was run.");
    }
    security_section(&mut s, r);
    for p in &r.policies {
        let _ = writeln!(
            s,
            "\n## {}\n\n{} runs (seeds {}).\n",
            p.policy,
            p.runs,
            p.seeds
                .iter()
                .map(u64::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        );
        if p.metrics.is_empty() {
            let _ = writeln!(s, "No runs.");
            continue;
        }
        let _ = writeln!(
            s,
            "| metric | key | mean | std | 95 % CI | runs |\n|---|---|---:|---:|---|---:|"
        );
        for (name, st) in &p.metrics {
            let (mean, std, ci) = if st.reached == 0 {
                ("–".to_string(), "–".to_string(), "–".to_string())
            } else {
                (
                    num(st.mean),
                    num(st.std),
                    format!("{} … {}", num(st.ci95_lo), num(st.ci95_hi)),
                )
            };
            let _ = writeln!(
                s,
                "| {} | `{}` | {mean} | {std} | {ci} | {}/{} |",
                cell(&metric_label(name)),
                cell(name),
                st.reached,
                st.n
            );
        }
    }
    s
}

/// The `## Security` section, when the comparison has security data: one sentence on the
/// outcome, the defences off per policy (if any), and a table of every attack against every
/// policy (attempts, blocked by check, succeeded, runs with a success), summed over the runs.
fn security_section(s: &mut String, r: &ComparisonReport) {
    let Some(sec) = &r.security else {
        return;
    };
    let _ = writeln!(s, "\n## Security\n\n{}\n", cell(&sec.verdict()));
    if sec.policies.iter().any(|p| !p.defences_off.is_empty()) {
        for p in &sec.policies {
            let off = if p.defences_off.is_empty() {
                "none".to_string()
            } else {
                p.defences_off.join(", ")
            };
            let _ = writeln!(s, "- defences off for {}: {}", p.policy, off);
        }
        s.push('\n');
    }
    let rows = sec.rows();
    if rows.is_empty() {
        let _ = writeln!(s, "No attack was made.");
        return;
    }
    let _ = writeln!(
        s,
        "Totals over the runs of each policy.\n\n| attack | policy | attempts | blocked (by check: n, ...) | succeeded | runs with a success |\n|---|---|---:|---|---:|---:|"
    );
    for (policy, a) in rows {
        let _ = writeln!(
            s,
            "| {} | {} | {} | {} | {} | {}/{} |",
            cell(&a.attack),
            cell(policy),
            a.attempts,
            cell(&a.blocked_text()),
            a.succeeded,
            a.runs_with_success,
            a.runs
        );
    }
}
