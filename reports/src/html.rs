//! `report.html`: one self-contained page (inline CSS, the plots as inline SVG, no script
//! and no external reference of any kind), readable offline.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use crate::compare::{ComparisonReport, PolicyRuns, compare};
use crate::format::{HEADLINE, headline_cells, metric_label, num, preamble};
use crate::model::RunReport;
use crate::plots::{Plot, plots, policy_color};

pub(crate) const CSS: &str = "
body { font-family: 'DejaVu Sans', 'Helvetica Neue', Arial, sans-serif; margin: 2em auto;
  max-width: 1060px; padding: 0 1em; color: #222; line-height: 1.4; }
h1 { font-size: 1.6em; margin-bottom: 0.2em; }
h2 { font-size: 1.25em; margin-top: 1.8em; border-bottom: 1px solid #ccc; }
p.note { color: #555; font-size: 0.92em; }
table { border-collapse: collapse; margin: 0.8em 0; font-size: 0.92em; }
th, td { border: 1px solid #ccc; padding: 0.25em 0.6em; vertical-align: top; }
th { background: #f2f2f2; text-align: left; }
td.n { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
code { font-size: 0.9em; color: #555; }
.swatch { display: inline-block; width: 0.9em; height: 0.9em; margin-right: 0.4em;
  vertical-align: -0.1em; border: 1px solid #444; }
figure { margin: 1.2em 0; }
figure svg { max-width: 100%; height: auto; border: 1px solid #ddd; }
figcaption { color: #555; font-size: 0.92em; }
details { margin: 0.6em 0; }
summary { cursor: pointer; font-weight: bold; }
";

/// Escape text for HTML content and attribute values.
pub(crate) fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// An SVG document as it is inlined into HTML: without an XML declaration and without the
/// `xmlns` attribute (HTML5 puts `<svg>` in the SVG namespace by itself), so the page holds
/// no URL at all.
pub fn inline_svg(svg: &str) -> String {
    let body = match (svg.trim_start().starts_with("<?xml"), svg.find("?>")) {
        (true, Some(end)) => &svg[end + 2..],
        _ => svg,
    };
    body.trim_start()
        .replacen(" xmlns=\"http://www.w3.org/2000/svg\"", "", 1)
}

fn caption(name: &str) -> &'static str {
    match name {
        "patched_over_time" => {
            "Share of the devices to update with every applicable update committed, hours after the release. Lines: mean over the runs; shaded bands: 95 % confidence interval of the mean."
        }
        "completion_cdf" => {
            "When devices were patched, all runs pooled: share of the devices to update patched by each time. Curves end at the share patched by the horizon."
        }
        "downtime" => {
            "Process downtime: device-hours of PLCs rebooting, and cell-hours during which every PLC of a redundancy cell was down at once. Whiskers: 95 % CI of the mean."
        }
        "bytes_per_tier" => {
            "Traffic offered to the links of each tier, megabytes (10⁶ bytes). A datagram crossing several tiers counts in each. Whiskers: 95 % CI of the mean."
        }
        "failures" => {
            "Device updates that ended rolled back, rejected or failed (summed over updates), and device updates tried again. Whiskers: 95 % CI of the mean."
        }
        _ => "",
    }
}

/// Render the comparison as one self-contained HTML page: the headline table, the security
/// section when any run has one, the plots (inline SVG, see [`inline_svg`]) and every
/// metric per policy.
pub fn render_html(report: &ComparisonReport, plots: &[Plot]) -> String {
    page(
        &format!("icsim compare: {}", report.scenario.name),
        report,
        plots,
        "",
    )
}

/// Render one run as a self-contained HTML page, as a comparison of one policy with one
/// run (each value is the run's own; the plots are drawn if they can be, otherwise the
/// page says so).
pub fn render_run_html(run: &RunReport) -> String {
    let report = compare(vec![PolicyRuns {
        policy: run.scenario.policy.clone(),
        runs: vec![run.clone()],
    }]);
    let (plots, note) = match plots(&report) {
        Ok(p) => (p, String::new()),
        Err(e) => (Vec::new(), format!("The plots could not be drawn: {e}.")),
    };
    page(
        &format!("icsim run: {} (seed {})", run.scenario.name, run.seed),
        &report,
        &plots,
        &note,
    )
}

fn page(heading: &str, r: &ComparisonReport, plots: &[Plot], note: &str) -> String {
    let mut s = String::new();
    let _ = write!(
        s,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>{}</title>\n<style>{CSS}</style>\n</head>\n<body>\n<h1>{}</h1>\n<p>{}</p>\n",
        esc(heading),
        esc(heading),
        esc(&preamble(r).replace('`', ""))
    );
    if !note.is_empty() {
        let _ = writeln!(s, "<p class=\"note\">{}</p>", esc(note));
    }
    headline(&mut s, r);
    security(&mut s, r);
    if !plots.is_empty() {
        let _ = writeln!(s, "<h2>Plots</h2>");
    }
    for p in plots {
        let _ = writeln!(
            s,
            "<figure id=\"{}\">\n{}\n<figcaption>{}</figcaption>\n</figure>",
            esc(&p.name),
            inline_svg(&p.svg),
            esc(caption(&p.name))
        );
    }
    metrics(&mut s, r);
    let _ = writeln!(
        s,
        "<p class=\"note\">Generated by {}; comparison schema {}.</p>\n</body>\n</html>",
        esc(&r.generator),
        r.schema_version
    );
    s
}

fn swatch(i: usize) -> String {
    let (r, g, b) = policy_color(i);
    format!("<span class=\"swatch\" style=\"background:#{r:02x}{g:02x}{b:02x}\"></span>")
}

fn headline(s: &mut String, r: &ComparisonReport) {
    let _ = writeln!(s, "<h2>Headline</h2>");
    if r.policies.is_empty() {
        let _ = writeln!(s, "<p>No policy was run.</p>");
        return;
    }
    let _ = write!(s, "<table>\n<tr><th>policy</th><th>runs</th>");
    for (header, _, _) in HEADLINE {
        let _ = write!(s, "<th>{}</th>", esc(header));
    }
    let _ = writeln!(s, "</tr>");
    for (i, p) in r.policies.iter().enumerate() {
        let _ = write!(
            s,
            "<tr><td>{}{}</td><td class=\"n\">{}</td>",
            swatch(i),
            esc(&p.policy),
            p.runs
        );
        for c in headline_cells(p) {
            let _ = write!(s, "<td class=\"n\">{}</td>", esc(&c));
        }
        let _ = writeln!(s, "</tr>");
    }
    let _ = writeln!(
        s,
        "</table>\n<p class=\"note\">Each cell: mean ± half-width of the 95 % confidence interval over the runs (Student's t). Times are hours after the release; \"k/n reached\" counts the runs that got there, and the mean is over those.</p>"
    );
}

/// The security section, when the comparison has security data: the outcome in one
/// sentence, the defences off per policy (if any) and every attack's totals per policy.
fn security(s: &mut String, r: &ComparisonReport) {
    let Some(sec) = &r.security else {
        return;
    };
    let _ = writeln!(
        s,
        "<h2 id=\"security\">Security</h2>\n<p>{}</p>",
        esc(&sec.verdict())
    );
    if sec.policies.iter().any(|p| !p.defences_off.is_empty()) {
        let _ = writeln!(s, "<ul>");
        for p in &sec.policies {
            let off = if p.defences_off.is_empty() {
                "none".to_string()
            } else {
                p.defences_off.join(", ")
            };
            let _ = writeln!(
                s,
                "<li>defences off for {}: {}</li>",
                esc(&p.policy),
                esc(&off)
            );
        }
        let _ = writeln!(s, "</ul>");
    }
    let rows = sec.rows();
    if rows.is_empty() {
        let _ = writeln!(s, "<p>No attack was made.</p>");
        return;
    }
    let _ = writeln!(
        s,
        "<table>\n<tr><th>attack</th><th>policy</th><th>attempts</th><th>blocked (by check: n, ...)</th><th>succeeded</th><th>runs with a success</th></tr>"
    );
    let index: BTreeMap<&str, usize> = r
        .policies
        .iter()
        .enumerate()
        .map(|(i, p)| (p.policy.as_str(), i))
        .collect();
    for (policy, a) in rows {
        let sw = index.get(policy).map(|&i| swatch(i)).unwrap_or_default();
        let _ = writeln!(
            s,
            "<tr><td><code>{}</code></td><td>{sw}{}</td><td class=\"n\">{}</td><td>{}</td><td class=\"n\">{}</td><td class=\"n\">{}/{}</td></tr>",
            esc(&a.attack),
            esc(policy),
            a.attempts,
            esc(&a.blocked_text()),
            a.succeeded,
            a.runs_with_success,
            a.runs
        );
    }
    let _ = writeln!(
        s,
        "</table>\n<p class=\"note\">Totals over the runs of each policy; \"runs with a success\" counts the runs in which the attack succeeded at least once, of the runs it was made in.</p>"
    );
}

fn metrics(s: &mut String, r: &ComparisonReport) {
    if r.policies.is_empty() {
        return;
    }
    let _ = writeln!(s, "<h2>All metrics per policy</h2>");
    for (i, p) in r.policies.iter().enumerate() {
        let seeds: Vec<String> = p.seeds.iter().map(u64::to_string).collect();
        let _ = writeln!(
            s,
            "<details{}>\n<summary>{}{} ({} runs)</summary>\n<p class=\"note\">Seeds: {}.</p>",
            if i == 0 { " open" } else { "" },
            swatch(i),
            esc(&p.policy),
            p.runs,
            esc(&seeds.join(", "))
        );
        let _ = writeln!(
            s,
            "<table>\n<tr><th>metric</th><th>key</th><th>mean</th><th>std</th><th>95 % CI</th><th>runs</th></tr>"
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
                "<tr><td>{}</td><td><code>{}</code></td><td class=\"n\">{mean}</td><td class=\"n\">{std}</td><td class=\"n\">{ci}</td><td class=\"n\">{}/{}</td></tr>",
                esc(&metric_label(name)),
                esc(name),
                st.reached,
                st.n
            );
        }
        let _ = writeln!(s, "</table>\n</details>");
    }
}
