//! `icsim compare`: the same report.json bytes whatever the number of threads, and the
//! outputs a plant engineer opens (summary, an offline HTML page, plots).

use std::process::Command;

fn compare(out: &std::path::Path, jobs: &str) -> Vec<u8> {
    let scenario = concat!(env!("CARGO_MANIFEST_DIR"), "/scenarios/compare-plant.json");
    let o = Command::new(env!("CARGO_BIN_EXE_icsim"))
        .args([
            "compare",
            scenario,
            "--replications",
            "2",
            "--jobs",
            jobs,
            "--quiet",
            "--out",
        ])
        .arg(out)
        .output()
        .expect("the icsim binary runs");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    std::fs::read(out.join("report.json")).unwrap()
}

#[test]
fn one_thread_or_two_give_the_same_report_bytes() {
    let tmp = tempfile::tempdir().unwrap();
    let one = compare(&tmp.path().join("j1"), "1");
    let two = compare(&tmp.path().join("j2"), "2");
    assert!(
        one == two,
        "report.json must not depend on the number of threads"
    );

    let report: serde_json::Value = serde_json::from_slice(&one).unwrap();
    let policies = report["policies"].as_array().unwrap();
    let names: Vec<&str> = policies
        .iter()
        .map(|p| p["policy"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["all_at_once", "canary_ramp", "window_budget"]);

    let out = tmp.path().join("j1");
    let html = std::fs::read_to_string(out.join("report.html")).unwrap();
    assert!(!html.contains("http://") && !html.contains("https://") && !html.contains("<script"));
    assert!(html.matches("<svg").count() >= 5, "the plots are inline");
    for plot in [
        "patched_over_time",
        "completion_cdf",
        "downtime",
        "bytes_per_tier",
        "failures",
    ] {
        let svg = std::fs::read_to_string(out.join("plots").join(format!("{plot}.svg"))).unwrap();
        assert!(
            svg.starts_with("<svg") || svg.starts_with("<?xml"),
            "{plot}.svg"
        );
        let png = std::fs::read(out.join("plots").join(format!("{plot}.png"))).unwrap();
        assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n", "{plot}.png");
    }
    let summary = std::fs::read_to_string(out.join("summary.md")).unwrap();
    assert!(summary.contains("window_budget") && summary.contains("T90"));
}

#[test]
fn an_unknown_policy_is_refused_with_its_name() {
    let scenario = concat!(env!("CARGO_MANIFEST_DIR"), "/scenarios/compare-plant.json");
    let o = Command::new(env!("CARGO_BIN_EXE_icsim"))
        .args(["compare", scenario, "--policy", "yolo", "--quiet"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("yolo"));
}
