//! `compare`, its JSON and Markdown, on synthetic run reports.

mod common;

use common::{run, times};
use icsim_reports::compare::{CDF_MAX_POINTS, run_metrics};
use icsim_reports::{
    ComparisonReport, PolicyRuns, compare, comparison_json, render_comparison_summary,
};

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() < 1e-9 * (1.0 + b.abs())
}

/// Policy "fast": 10 PLCs, all patched (3 runs); policy "slow": 9 of 10 patched in two runs,
/// all in one.
fn sample() -> ComparisonReport {
    let fast = (1..=3)
        .map(|s| run(s, 10, &times(10, 0.5, 0.1 * s as f64), 0.25, 4.0))
        .collect();
    let slow = vec![
        run(1, 10, &times(9, 1.0, 0.5), 0.5, 6.0),
        run(2, 10, &times(10, 1.0, 0.4), 0.5, 8.0),
        run(3, 10, &times(9, 1.0, 0.5), 0.5, 6.0),
    ];
    compare(vec![
        PolicyRuns {
            policy: "fast".into(),
            runs: fast,
        },
        PolicyRuns {
            policy: "slow".into(),
            runs: slow,
        },
    ])
}

#[test]
fn means_and_intervals() {
    let r = sample();
    assert_eq!(r.replications, 3);
    assert_eq!(r.seeds, vec![1, 2, 3]);
    assert_eq!(r.scenario.name, "synthetic");
    assert_eq!(r.fleet.devices, 10);
    let fast = &r.policies[0];
    assert_eq!(fast.policy, "fast");
    // Downtime 1.01, 1.02, 1.03: mean 1.02, std 0.01.
    let d = fast.metric("impact.downtime_device_h").unwrap();
    assert_eq!((d.n, d.reached), (3, 3));
    assert!(close(d.mean, 1.02));
    assert!((d.std - 0.01).abs() < 1e-12);
    assert!((d.half_ci() - 4.3027 * 0.01 / 3f64.sqrt()).abs() < 1e-12);
    // Bytes over tiers: cell 2e6 + 1e5·seed, wan 1e6.
    let b = fast.metric("network_total.bytes").unwrap();
    assert!(close(b.mean, 3.2e6));
    assert!(close(fast.metric("network.wan.bytes").unwrap().mean, 1e6));
    assert!(close(fast.metric("network.cell.lost").unwrap().mean, 2.0));
    assert_eq!(fast.tiers(), vec!["cell".to_string(), "wan".to_string()]);
    // Outcomes summed over updates and reasons.
    assert!(close(fast.metric("outcomes.committed").unwrap().mean, 20.0));
    assert!(close(
        fast.metric("outcomes.rolled_back").unwrap().mean,
        1.0
    ));
    assert!(close(fast.metric("outcomes.rejected").unwrap().mean, 1.0));
    assert!(close(fast.metric("outcomes.failed").unwrap().mean, 2.0));
    assert!(close(fast.metric("outcomes.other").unwrap().mean, 0.0));
    assert!(close(
        fast.metric("outcome_labels.failed: Timeout").unwrap().mean,
        2.0
    ));
    // A rejection reason only one run saw counts as 0 in the others.
    let rej = fast.metric("rejections.BadSignature").unwrap();
    assert_eq!((rej.n, rej.reached), (3, 3));
    assert!(close(rej.mean, 1.0 / 3.0));
    assert!(close(fast.metric("protocol.retries").unwrap().mean, 2.0));
    assert!(close(
        fast.metric("crypto.device_cpu_s").unwrap().mean,
        15.0
    ));
    // T100 of "fast": last patch at 0.5 + 9·0.1·s.
    let t100 = fast.metric("completion.t100_h").unwrap();
    assert_eq!((t100.n, t100.reached), (3, 3));
    assert!(close(t100.mean, 0.5 + 0.9 * 2.0));
}

#[test]
fn unreached_completion_times_are_counted() {
    let r = sample();
    let slow = &r.policies[1];
    let t100 = slow.metric("completion.t100_h").unwrap();
    assert_eq!((t100.n, t100.reached), (3, 1));
    assert!(close(t100.mean, 1.0 + 9.0 * 0.4));
    assert_eq!(
        (t100.std, t100.ci95_lo, t100.ci95_hi),
        (0.0, t100.mean, t100.mean)
    );
    let t90 = slow.metric("completion.t90_h").unwrap();
    assert_eq!(t90.reached, 3);
    let md = render_comparison_summary(&r);
    assert!(md.contains("(1/3 reached)"), "{md}");
    assert!(md.contains("| fast |") && md.contains("| slow |"));
    assert!(md.contains("T90 (h)") && md.contains("bytes, all tiers (MB)"));
    assert!(md.contains("## slow"));
}

#[test]
fn timeline_band_carries_the_last_value_forward() {
    let r = sample();
    let fast = &r.policies[0];
    // Every run samples every 0.25 h to 4 h: 17 points.
    assert_eq!(fast.timeline.len(), 17);
    let at = |t: f64| fast.timeline.iter().find(|b| close(b.t_h, t)).unwrap();
    // At 0.5 h every run has its first device: 10 %.
    assert!(close(at(0.5).mean, 0.1));
    assert!(close(at(0.5).lo, 0.1) && close(at(0.5).hi, 0.1));
    assert!(close(at(4.0).mean, 1.0));
    // At 1.0 h: s=1 → 6 patched, s=2 → 3, s=3 → 2 (0.5 + i·0.3 ≤ 1): mean 11/30.
    assert!(close(at(1.0).mean, 11.0 / 30.0));
    assert!(at(1.0).lo < at(1.0).mean && at(1.0).mean < at(1.0).hi);

    let slow = &r.policies[1];
    // Runs end at 6, 8, 6 h: grid to 8 h, the short runs stay at 90 %.
    let last = slow.timeline.last().unwrap();
    assert!(close(last.t_h, 8.0));
    assert!(close(last.mean, (0.9 + 1.0 + 0.9) / 3.0));
    for w in slow.timeline.windows(2) {
        assert!(w[0].t_h < w[1].t_h);
    }
    for b in &slow.timeline {
        assert!(0.0 <= b.lo && b.lo <= b.mean + 1e-12 && b.mean <= b.hi + 1e-12 && b.hi <= 1.0);
    }
}

#[test]
fn pooled_cdf() {
    let r = sample();
    let slow = &r.policies[1];
    let cdf = &slow.completion_cdf;
    // 28 of 30 devices patched in the three runs; times tie at 1.0 h in every run.
    assert!(close(cdf.last().unwrap().share, 28.0 / 30.0));
    assert!(close(cdf[0].t_h, 1.0) && close(cdf[0].share, 3.0 / 30.0));
    for w in cdf.windows(2) {
        assert!(w[0].t_h < w[1].t_h && w[0].share < w[1].share);
    }
    // Many devices: thinned to at most CDF_MAX_POINTS, first and last kept.
    let big: Vec<_> = (0..4)
        .map(|s| run(s, 1000, &times(1000, 0.01 * s as f64, 0.01), 1.0, 12.0))
        .collect();
    let r = compare(vec![PolicyRuns {
        policy: "big".into(),
        runs: big,
    }]);
    let cdf = &r.policies[0].completion_cdf;
    assert_eq!(cdf.len(), CDF_MAX_POINTS);
    assert!(close(cdf[0].t_h, 0.0) && close(cdf[0].share, 1.0 / 4000.0));
    assert!(close(cdf.last().unwrap().share, 1.0));
}

#[test]
fn json_is_deterministic_and_round_trips() {
    let a = comparison_json(&sample());
    let b = comparison_json(&sample());
    assert_eq!(a, b);
    assert!(a.ends_with("}\n"));
    // It parses back (serde_json's default float parsing may differ in the last bit, so
    // compare the structure, not every float).
    let back: ComparisonReport = serde_json::from_str(&a).unwrap();
    let orig = sample();
    assert_eq!(back.seeds, orig.seeds);
    assert_eq!(back.policies.len(), orig.policies.len());
    for (b, o) in back.policies.iter().zip(&orig.policies) {
        assert_eq!(
            b.metrics.keys().collect::<Vec<_>>(),
            o.metrics.keys().collect::<Vec<_>>()
        );
        assert_eq!(b.timeline.len(), o.timeline.len());
        assert_eq!(b.completion_cdf.len(), o.completion_cdf.len());
    }
    assert!(a.contains("\"schema_version\": 1"));
    assert!(a.contains("\"ci95_lo\""));
}

#[test]
fn every_run_metric_is_named() {
    let m = run_metrics(&run(1, 10, &times(10, 0.5, 0.1), 0.25, 4.0));
    for key in [
        "completion.t50_h",
        "completion.t90_h",
        "completion.t99_h",
        "completion.t100_h",
        "completion.patched_share",
        "impact.exposure_device_h",
        "impact.downtime_device_h",
        "impact.downtime_cell_h",
        "impact.reboots",
        "network.cell.bytes",
        "network.cell.datagrams",
        "network.cell.lost",
        "network.cell.queue_drops",
        "protocol.retransmissions",
        "protocol.oscore_requests",
        "protocol.tokens_issued",
        "protocol.rekeys",
        "protocol.retries",
        "crypto.device_cpu_s",
        "crypto.device_signature_verifications",
        "outcomes.committed",
        "outcomes.rolled_back",
        "outcomes.rejected",
        "outcomes.failed",
    ] {
        assert!(m.contains_key(key), "{key}");
    }
}

#[test]
fn degenerate_inputs_do_not_panic() {
    let empty = compare(Vec::new());
    assert!(empty.policies.is_empty());
    assert_eq!(empty.replications, 0);
    let _ = render_comparison_summary(&empty);
    let _ = comparison_json(&empty);

    let no_runs = compare(vec![PolicyRuns {
        policy: "none".into(),
        runs: Vec::new(),
    }]);
    assert!(no_runs.policies[0].metrics.is_empty());
    assert!(no_runs.policies[0].timeline.is_empty());
    let _ = render_comparison_summary(&no_runs);

    let mut odd = run(7, 0, &[], 1.0, 2.0);
    odd.impact.exposure_device_h = f64::NAN;
    odd.completion.patch_times_h = vec![f64::NAN, 1.0];
    odd.timeline.clear();
    let one = compare(vec![PolicyRuns {
        policy: "odd".into(),
        runs: vec![odd],
    }]);
    let p = &one.policies[0];
    assert_eq!(p.metric("impact.exposure_device_h").unwrap().reached, 0);
    assert_eq!(p.completion_cdf.len(), 1);
    assert!(p.completion_cdf[0].share <= 1.0);
    let json = comparison_json(&one);
    assert!(!json.contains("NaN") && !json.contains("null"), "{json}");
    assert!(render_comparison_summary(&one).contains("| odd |"));
}
