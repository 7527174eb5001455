//! `report.html` of the attack matrix: one self-contained page (inline CSS, the plot as
//! inline SVG, no script, no external reference).

use std::fmt::Write as _;

use super::{AttackMatrix, MatrixCell, blocked_list, hours};
use crate::html::{CSS, esc, inline_svg};
use crate::plots::Plot;

fn cell(s: &mut String, c: &MatrixCell) {
    let class = if c.succeeded > 0 {
        " style=\"background:#fbe3d6\""
    } else {
        ""
    };
    let _ = write!(
        s,
        "<td class=\"n\">{}</td><td>{}</td><td class=\"n\"{class}>{}</td>",
        c.attempts,
        esc(&blocked_list(&c.blocked)),
        c.succeeded
    );
}

/// Render the matrix as a self-contained HTML page with its plot.
pub fn render_matrix_html(m: &AttackMatrix, plot: Option<&Plot>) -> String {
    let mut s = String::new();
    let title = format!("icsim attack matrix: {}", m.scenario);
    let _ = write!(
        s,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>{0}</title>\n<style>{CSS}</style>\n</head>\n<body>\n<h1>{0}</h1>\n",
        esc(&title)
    );
    let _ = writeln!(
        s,
        "<p>Seed {}, scenario SHA-256 {}, policy {}. Each attack runs alone, once with every defence on and once with its own defence off.</p>",
        m.seed,
        esc(&m.scenario_sha256[..16.min(m.scenario_sha256.len())]),
        esc(&m.policy)
    );
    let bad = m.defended_successes();
    let _ = writeln!(
        s,
        "<p><strong>With every defence on: {}.</strong></p>",
        if bad.is_empty() {
            "no attack succeeded".to_string()
        } else {
            format!("succeeded: {}", esc(&bad.join(", ")))
        }
    );
    let _ = writeln!(
        s,
        "<h2>Matrix</h2>\n<table>\n<tr><th rowspan=\"2\">attack</th><th rowspan=\"2\">defence off when ablated</th><th colspan=\"3\">every defence on</th><th colspan=\"3\">its defence off</th><th rowspan=\"2\">effect (ablated run)</th></tr>\n<tr><th>attempts</th><th>blocked by</th><th>succeeded</th><th>attempts</th><th>blocked by</th><th>succeeded</th></tr>"
    );
    for r in &m.rows {
        let _ = write!(
            s,
            "<tr><td>{}</td><td>{}</td>",
            esc(&r.attack),
            esc(&r.defences.join(", "))
        );
        cell(&mut s, &r.defended);
        cell(&mut s, &r.ablated);
        let _ = writeln!(s, "<td>{}</td></tr>", esc(&r.ablated.effect));
    }
    let _ = writeln!(s, "</table>");
    if let Some(p) = plot {
        let _ = writeln!(
            s,
            "<figure id=\"{}\">\n{}\n<figcaption>Share of attempts that succeeded, per attack: every defence on (blue) and its own defence off (orange).</figcaption>\n</figure>",
            esc(&p.name),
            inline_svg(&p.svg)
        );
    }
    let d = &m.delay;
    let _ = writeln!(
        s,
        "<h2>The rollout under attack</h2>\n<p>Every attacker of the scenario at once, every defence on: {} attempts, {} succeeded.</p>\n<table>\n<tr><th>run</th><th>patched</th><th>T90</th><th>T100</th></tr>\n<tr><td>without attackers</td><td class=\"n\">{} of {}</td><td class=\"n\">{}</td><td class=\"n\">{}</td></tr>\n<tr><td>under every attack</td><td class=\"n\">{} of {}</td><td class=\"n\">{}</td><td class=\"n\">{}</td></tr>\n</table>",
        d.attacked_attempts,
        d.attacked_succeeded,
        d.baseline_patched,
        d.devices_to_update,
        hours(d.baseline_t90_h),
        hours(d.baseline_t100_h),
        d.attacked_patched,
        d.devices_to_update,
        hours(d.attacked_t90_h),
        hours(d.attacked_t100_h)
    );
    if !m.blast_radius.is_empty() {
        let _ = writeln!(
            s,
            "<h2>Blast radius of a stolen author key (operator approval off)</h2>\n<table>\n<tr><th>policy</th><th>PLCs hit</th><th>reached</th><th>of the fleet to update</th><th>rollout aborted</th></tr>"
        );
        for b in &m.blast_radius {
            let _ = writeln!(
                s,
                "<tr><td>{} ({})</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td>{}</td></tr>",
                esc(&b.policy),
                esc(&b.description),
                b.hit,
                b.reached,
                b.devices_to_update,
                if b.aborted { "yes" } else { "no" }
            );
        }
        let _ = writeln!(s, "</table>");
    }
    let _ = writeln!(s, "</body>\n</html>");
    s
}
