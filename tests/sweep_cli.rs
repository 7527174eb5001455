//! `icsim sweep`: a comparison planned, run unit by unit as separate processes (as a Slurm
//! job array or a Kubernetes Indexed Job would), and merged gives the same report bytes as
//! `icsim compare` in one process; a missing unit is named and nothing is written.

use std::path::Path;
use std::process::{Command, Output};

const SCENARIO: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/scenarios/compare-plant.json");

fn icsim(args: &[&str], env: Option<(&str, &str)>) -> Output {
    let mut c = Command::new(env!("CARGO_BIN_EXE_icsim"));
    c.args(args)
        .env_remove("SLURM_ARRAY_TASK_ID")
        .env_remove("JOB_COMPLETION_INDEX");
    if let Some((k, v)) = env {
        c.env(k, v);
    }
    c.output().expect("the icsim binary runs")
}

fn ok(o: &Output) {
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// `sweep plan` of the compare-plant scenario with one replication (three units), written
/// to `plan.json` in `dir`.
fn plan_in(dir: &Path) -> std::path::PathBuf {
    let plan = dir.join("plan.json");
    ok(&icsim(
        &[
            "sweep",
            "plan",
            SCENARIO,
            "--replications",
            "1",
            "--out",
            s(&plan),
        ],
        None,
    ));
    plan
}

#[test]
fn a_sweep_run_unit_by_unit_merges_to_the_bytes_of_compare() {
    let tmp = tempfile::tempdir().unwrap();
    let plan = plan_in(tmp.path());
    let units = tmp.path().join("units");
    // Three policies, one replication: units 0..3, each from a different index source.
    ok(&icsim(
        &["sweep", "run", s(&plan), "--unit", "0", "--out", s(&units)],
        None,
    ));
    ok(&icsim(
        &["sweep", "run", s(&plan), "--out", s(&units)],
        Some(("SLURM_ARRAY_TASK_ID", "1")),
    ));
    ok(&icsim(
        &["sweep", "run", s(&plan), "--out", s(&units)],
        Some(("JOB_COMPLETION_INDEX", "2")),
    ));
    let o = icsim(
        &["sweep", "run", s(&plan), "--unit", "3", "--out", s(&units)],
        None,
    );
    assert_eq!(o.status.code(), Some(2), "there is no unit 3");

    let merged = tmp.path().join("merged");
    ok(&icsim(
        &["sweep", "merge", s(&units), "--out", s(&merged)],
        None,
    ));
    let compared = tmp.path().join("compared");
    ok(&icsim(
        &[
            "compare",
            SCENARIO,
            "--replications",
            "1",
            "--quiet",
            "--out",
            s(&compared),
        ],
        None,
    ));
    for f in ["report.json", "summary.md", "report.html"] {
        assert!(
            std::fs::read(merged.join(f)).unwrap() == std::fs::read(compared.join(f)).unwrap(),
            "{f} of the merged sweep differs from icsim compare's"
        );
    }

    // A missing unit is named, and the merge writes nothing.
    std::fs::remove_file(units.join("unit-000001.json")).unwrap();
    let again = tmp.path().join("again");
    let o = icsim(&["sweep", "merge", s(&units), "--out", s(&again)], None);
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("1 of 3 units missing: 1"), "{err}");
    assert!(!again.exists());
}

#[test]
fn a_unit_without_an_index_or_a_plan_that_is_not_one_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let plan = plan_in(tmp.path());
    let o = icsim(&["sweep", "run", s(&plan)], None);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("SLURM_ARRAY_TASK_ID"));

    let o = icsim(&["sweep", "run", SCENARIO, "--unit", "0"], None);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("not a sweep plan"));
}

#[test]
fn units_run_without_the_crypto_cache_merge_to_compare_without_it_and_never_mixed() {
    let tmp = tempfile::tempdir().unwrap();
    let plan = plan_in(tmp.path());
    let units = tmp.path().join("units");
    for unit in ["0", "1", "2"] {
        ok(&icsim(
            &[
                "sweep",
                "run",
                s(&plan),
                "--unit",
                unit,
                "--no-crypto-cache",
                "--out",
                s(&units),
            ],
            None,
        ));
    }
    let merged = tmp.path().join("merged");
    ok(&icsim(
        &["sweep", "merge", s(&units), "--out", s(&merged)],
        None,
    ));
    let compared = tmp.path().join("compared");
    ok(&icsim(
        &[
            "compare",
            SCENARIO,
            "--replications",
            "1",
            "--no-crypto-cache",
            "--quiet",
            "--out",
            s(&compared),
        ],
        None,
    ));
    let report = std::fs::read(merged.join("report.json")).unwrap();
    assert!(report == std::fs::read(compared.join("report.json")).unwrap());
    let unit = std::fs::read_to_string(units.join("unit-000000.json")).unwrap();
    assert!(
        unit.contains("\"cache\": false"),
        "the units ran without the cache"
    );

    // One unit run again with the cache: the merge refuses the mix and writes nothing.
    ok(&icsim(
        &["sweep", "run", s(&plan), "--unit", "1", "--out", s(&units)],
        None,
    ));
    let again = tmp.path().join("again");
    let o = icsim(&["sweep", "merge", s(&units), "--out", s(&again)], None);
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("different crypto-cache settings"), "{err}");
    assert!(!again.exists());
}
