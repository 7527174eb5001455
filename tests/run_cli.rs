//! End to end through `icsim run`: determinism across processes, a different seed giving a
//! different report, the quickstart fully patched with protocol counts that match the fleet,
//! and unusable input refused without output.

use std::path::Path;
use std::process::Command;

fn icsim(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_icsim"))
        .args(args)
        .output()
        .expect("the icsim binary runs")
}

fn run_quickstart(out: &Path, seed: &str) -> Vec<u8> {
    let o = icsim(&[
        "run",
        "--quiet",
        "--seed",
        seed,
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(
        stdout.contains("report.json"),
        "prints where the report is: {stdout}"
    );
    assert!(out.join("summary.md").exists());
    std::fs::read(out.join("report.json")).unwrap()
}

#[test]
fn same_seed_same_bytes_in_separate_processes_and_another_seed_differs() {
    let tmp = tempfile::tempdir().unwrap();
    let a = run_quickstart(&tmp.path().join("a"), "11");
    let b = run_quickstart(&tmp.path().join("b"), "11");
    assert!(
        a == b,
        "two processes with the same seed must write identical report.json"
    );
    let c = run_quickstart(&tmp.path().join("c"), "12");
    assert!(a != c, "another seed must give another report");

    let r: serde_json::Value = serde_json::from_slice(&a).unwrap();
    let n = |path: &[&str]| -> u64 {
        let mut v = &r;
        for p in path {
            v = &v[*p];
        }
        v.as_u64().unwrap_or_else(|| panic!("{path:?} is a number"))
    };
    // Every PLC ends patched, with every update committed.
    let devices = n(&["fleet", "devices"]);
    let device_updates = n(&["fleet", "device_updates"]);
    assert_eq!(devices, 300);
    assert_eq!(n(&["completion", "patched"]), devices);
    assert_eq!(r["completion"]["patched_share"], 1.0);
    let committed: u64 = r["outcomes"]
        .as_object()
        .unwrap()
        .values()
        .map(|o| o["committed"].as_u64().unwrap_or(0))
        .sum();
    assert_eq!(committed, device_updates);
    // The real protocol ran once per attempt: three signature checks per envelope
    // (credential, author, approval), one payload decryption, one token, and at least
    // envelope, key, install and two status requests over OSCORE.
    let attempts = device_updates + n(&["protocol", "retries"]);
    assert_eq!(
        n(&["crypto", "device_signature_verifications"]),
        3 * attempts
    );
    assert_eq!(n(&["crypto", "device_payload_decryptions"]), attempts);
    assert_eq!(n(&["protocol", "tokens_issued"]), attempts);
    assert!(n(&["protocol", "oscore_requests"]) >= 5 * attempts);
    assert!(n(&["crypto", "device_aes_bytes"]) > device_updates * 1024);
}

#[test]
fn an_unusable_scenario_exits_2_and_writes_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let bad = tmp.path().join("bad.json");
    std::fs::write(&bad, br#"{"name": "x"}"#).unwrap();
    let out = tmp.path().join("out");
    let o = icsim(&[
        "run",
        bad.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--quiet",
    ]);
    assert_eq!(o.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(
        stderr.contains("bad.json") && !stderr.contains("panicked"),
        "{stderr}"
    );
    assert!(!out.exists(), "no partial output");
    let o = icsim(&["run", "no-such-file.json", "--quiet"]);
    assert_eq!(o.status.code(), Some(2));
}
