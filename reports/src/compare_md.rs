//! `summary.md` of a comparison: the headline table, then every metric per policy.

use std::fmt::Write as _;

use crate::compare::ComparisonReport;
use crate::format::{HEADLINE, headline_cells, metric_label, num, preamble};

/// Escape the characters that would break a Markdown table cell.
fn cell(s: &str) -> String {
    s.replace('|', "\\|").replace('\n', " ")
}

/// Render the comparison as Markdown: a headline table (policy, T90, T100, downtime,
/// exposure, bytes, each `mean ± half-width of the 95 % CI`, with `k/n reached` where some
/// runs never got there), then each policy's metrics in full.
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
