//! Plots and HTML of a comparison.

mod common;

use common::{run, times};
use icsim_reports::{
    ComparisonReport, PolicyRuns, compare, inline_svg, plots, render_html, render_run_html,
};

const PNG_SIGNATURE: [u8; 8] = [0x89, b'P', b'N', b'G', b'\r', b'\n', 0x1a, b'\n'];

fn sample() -> ComparisonReport {
    let policy = |name: &str, gap: f64, patched: usize| PolicyRuns {
        policy: name.to_string(),
        runs: (1..=5)
            .map(|s| {
                let g = gap * (1.0 + 0.15 * s as f64);
                run(s, 40, &times(patched, 0.2 * s as f64, g), 1.0 / 60.0, 24.0)
            })
            .collect(),
    };
    compare(vec![
        policy("all_at_once", 0.05, 40),
        policy("canary_ramp", 0.2, 40),
        policy("window_aware", 0.35, 36),
    ])
}

#[test]
fn every_plot_renders_with_labels_and_legend() {
    let r = sample();
    let plots = plots(&r).unwrap();
    let names: Vec<&str> = plots.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "patched_over_time",
            "completion_cdf",
            "downtime",
            "bytes_per_tier",
            "failures"
        ]
    );
    let axes = [
        (
            "patched_over_time",
            "hours after release (h)",
            "fleet patched (% of devices to update)",
        ),
        (
            "completion_cdf",
            "completion time, hours after release (h)",
            "devices patched (% of devices to update)",
        ),
        ("downtime", "policy", "process downtime (device-hours)"),
        (
            "bytes_per_tier",
            "link tier",
            "traffic offered (MB = 10⁶ bytes)",
        ),
        (
            "failures",
            "outcome (summed over updates)",
            "device updates (count)",
        ),
    ];
    for (p, (name, x, y)) in plots.iter().zip(axes) {
        assert_eq!(p.name, name);
        assert!(p.svg.starts_with("<svg"), "{name}");
        assert!(p.svg.contains(x), "{name}: x label {x}");
        assert!(p.svg.contains(y), "{name}: y label {y}");
        for policy in ["all_at_once", "canary_ramp", "window_aware"] {
            assert!(p.svg.contains(policy), "{name}: legend entry {policy}");
        }
        assert!(p.png.starts_with(&PNG_SIGNATURE), "{name}");
        assert!(p.png.len() > 5000, "{name}: PNG suspiciously small");
    }
    assert!(plots[0].svg.contains("95 % CI of the mean"));
    assert!(plots[0].svg.contains("<polygon"), "confidence bands drawn");
    assert!(plots[2].svg.contains("cell-hours"));
    assert!(plots[3].svg.contains("wan") && plots[3].svg.contains("cell"));
    for label in ["rolled back", "rejected", "failed", "retried"] {
        assert!(plots[4].svg.contains(label), "{label}");
    }
}

#[test]
fn plots_are_deterministic() {
    let a = plots(&sample()).unwrap();
    let b = plots(&sample()).unwrap();
    assert_eq!(a, b);
    // And from another thread, concurrently with this one.
    let c = std::thread::spawn(|| plots(&sample()).unwrap())
        .join()
        .unwrap();
    assert_eq!(a, c);
}

#[test]
fn html_is_self_contained() {
    let r = sample();
    let plots = plots(&r).unwrap();
    let html = render_html(&r, &plots);
    assert!(html.starts_with("<!DOCTYPE html>"));
    assert!(!html.contains("http://") && !html.contains("https://"));
    assert!(!html.to_lowercase().contains("<script"));
    assert!(!html.contains("src=") && !html.contains("href="));
    for p in &plots {
        assert!(html.contains(&inline_svg(&p.svg)), "{}", p.name);
    }
    assert!(html.contains("<table>"));
    assert!(html.contains("time to 90 % patched (h)"));
    assert!(html.contains("window_aware"));
    assert!(html.contains("(0/5 reached)") || html.contains("not reached (0/5)"));
    assert_eq!(html, render_html(&r, &plots));
}

#[test]
fn degenerate_reports_render() {
    for r in [
        compare(Vec::new()),
        compare(vec![PolicyRuns {
            policy: "none".into(),
            runs: Vec::new(),
        }]),
        compare(vec![PolicyRuns {
            policy: "one".into(),
            runs: vec![run(1, 0, &[], 1.0, 0.0)],
        }]),
    ] {
        let plots = plots(&r).unwrap();
        assert_eq!(plots.len(), 5);
        let html = render_html(&r, &plots);
        assert!(!html.contains("http://") && !html.contains("https://"));
    }
}

#[test]
fn single_run_page() {
    let html = render_run_html(&run(3, 20, &times(20, 0.1, 0.1), 0.1, 5.0));
    assert!(html.contains("icsim run: synthetic (seed 3)"));
    assert!(html.contains("<svg"));
    assert!(!html.contains("http://") && !html.contains("https://"));
}

/// With `ICSIM_PLOT_DIR` set, write the sample's plots and page there to look at.
#[test]
fn write_plots_for_inspection() {
    let Ok(dir) = std::env::var("ICSIM_PLOT_DIR") else {
        return;
    };
    let r = sample();
    let plots = plots(&r).unwrap();
    for p in &plots {
        std::fs::write(format!("{dir}/{}.png", p.name), &p.png).unwrap();
        std::fs::write(format!("{dir}/{}.svg", p.name), &p.svg).unwrap();
    }
    std::fs::write(format!("{dir}/report.html"), render_html(&r, &plots)).unwrap();
}
