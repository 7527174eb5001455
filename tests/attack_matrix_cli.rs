//! `icsim attack-matrix` on `scenarios/attacks.json` (issue 6): with every defence on no
//! attack of the catalogue succeeds and the rollout under all of them at once still
//! patches every PLC; with its own defence off each attack succeeds; a stolen author key
//! without operator approval hits fewer PLCs under a canary with an abort threshold; and
//! every figure is the same with the crypto cache off.

use std::process::Command;

use serde_json::Value;

fn icsim(args: &[&str], out: &std::path::Path) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_icsim"))
        .args(args)
        .arg("--out")
        .arg(out)
        .output()
        .expect("the icsim binary runs")
}

#[test]
fn the_matrix_of_the_attack_scenario_holds_in_both_directions() {
    let scenario = concat!(env!("CARGO_MANIFEST_DIR"), "/scenarios/attacks.json");
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("m");
    let o = icsim(&["attack-matrix", scenario, "--quiet"], &out);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let m: Value =
        serde_json::from_slice(&std::fs::read(out.join("report.json")).unwrap()).unwrap();

    let rows = m["rows"].as_array().unwrap();
    assert_eq!(
        rows.len(),
        20,
        "every attack of the catalogue is in the scenario"
    );
    for r in rows {
        let id = r["attack"].as_str().unwrap();
        let (on, off) = (&r["defended"], &r["ablated"]);
        assert!(on["attempts"].as_u64().unwrap() > 0, "{id}: made attempts");
        assert_eq!(
            on["succeeded"], 0,
            "{id} must fail with every defence on: {on}"
        );
        let blocked: u64 = on["blocked"]
            .as_object()
            .unwrap()
            .values()
            .map(|v| v.as_u64().unwrap())
            .sum();
        assert!(blocked > 0, "{id}: blocked by a named check: {on}");
        assert_eq!(
            on["patched"], on["devices_to_update"],
            "{id}: the rollout still patches every PLC"
        );
        assert!(
            off["succeeded"].as_u64().unwrap() >= 1,
            "{id} must succeed with {} off: {off}",
            r["defences"]
        );
    }

    let d = &m["delay"];
    assert_eq!(d["attacked_succeeded"], 0);
    assert!(d["attacked_attempts"].as_u64().unwrap() > 0);
    assert_eq!(
        d["attacked_patched"], d["devices_to_update"],
        "under every attack at once the rollout patches every PLC"
    );
    assert!(
        d["attacked_t100_h"].as_f64().unwrap() >= d["baseline_t100_h"].as_f64().unwrap(),
        "attacks do not speed a rollout up"
    );

    let blast = m["blast_radius"].as_array().unwrap();
    assert_eq!(blast.len(), 2);
    let hit = |i: usize| blast[i]["hit"].as_u64().unwrap();
    assert!(hit(0) > 0, "all at once: the malicious image goes out");
    assert!(
        hit(1) * 4 < hit(0),
        "a canary with an abort threshold limits the blast radius: {} vs {}",
        hit(1),
        hit(0)
    );
    assert_eq!(blast[1]["aborted"], true);

    let summary = std::fs::read_to_string(out.join("summary.md")).unwrap();
    assert!(summary.contains("with every defence on: no attack succeeded"));
    assert!(summary.contains("| ATK-STOLEN-KEY |"));
    let html = std::fs::read_to_string(out.join("report.html")).unwrap();
    assert!(html.contains("<svg") && !html.contains("http://") && !html.contains("https://"));
    let png = std::fs::read(out.join("plots/attack_matrix.png")).unwrap();
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");

    // The crypto cache is exact: with every operation computed for real, every attack
    // meets the same checks with the same outcome, to the byte.
    let uncached = tmp.path().join("uncached");
    let o = icsim(
        &["attack-matrix", scenario, "--quiet", "--no-crypto-cache"],
        &uncached,
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    for f in ["report.json", "summary.md"] {
        assert!(
            std::fs::read(out.join(f)).unwrap() == std::fs::read(uncached.join(f)).unwrap(),
            "{f} differs without the crypto cache"
        );
    }
}

#[test]
fn a_scenario_without_attackers_or_an_unknown_policy_is_refused_without_output() {
    let tmp = tempfile::tempdir().unwrap();
    let quickstart = concat!(env!("CARGO_MANIFEST_DIR"), "/scenarios/quickstart.json");
    let out = tmp.path().join("none");
    let o = icsim(&["attack-matrix", quickstart, "--quiet"], &out);
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("quickstart.json") && err.contains("no attackers"),
        "{err}"
    );
    assert!(!out.exists(), "no partial output");

    let attacks = concat!(env!("CARGO_MANIFEST_DIR"), "/scenarios/attacks.json");
    let o = icsim(
        &["attack-matrix", attacks, "--policy", "nope", "--quiet"],
        &out,
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("--policy \"nope\""));
    assert!(!out.exists(), "no partial output");
}
