//! Every attack of ATTACKS.md, both directions (issue 6): with every defence on it is
//! blocked and the rollout still patches every PLC; with its own defence off it succeeds.

use icsim_reports::RunReport;
use icsim_reports::model::AttackOutcome;
use icsim_sim::scenario::{Scenario, load_str};
use serde_json::{Value, json};

const BASE: &str = include_str!("policies.rs");

/// The fleet of the policy tests (40 PLCs, two sites with caches, site `a` on one AS group
/// key), a 1 h device timeout, two retries.
fn base() -> Value {
    let text = BASE
        .split("r#\"")
        .nth(1)
        .unwrap()
        .split("\"#")
        .next()
        .unwrap()
        .replace("BOOT_FAILURE", "0.0");
    let mut v: Value = serde_json::from_str(&text).unwrap();
    v["sites"][0]["group_as_key"] = json!(true);
    v["sites"][1]["cache"] = json!(true);
    v["rollout"] = json!({"concurrency": 40, "retries": 2, "device_timeout_h": 1});
    v["policies"] = json!([]);
    v
}

/// Every attack, its defence switch.
const ATTACKS: [(&str, &str); 20] = [
    ("ATK-FORGE", "author_signature"),
    ("ATK-TAMPER", "payload_digest"),
    ("ATK-WRONG", "payload_digest"),
    ("ATK-ROLLBACK", "anti_rollback"),
    ("ATK-EXPIRED-APPROVAL", "approval_window"),
    ("ATK-INCOMPAT", "device_match"),
    ("ATK-UNAPPROVED", "operator_approval"),
    ("ATK-SCOPE", "author_scope"),
    ("ATK-STOLEN-KEY", "operator_approval"),
    ("ATK-MIX", "dependencies"),
    ("ATK-ENDLESS", "payload_size"),
    ("ATK-EAVES", "payload_encryption"),
    ("ATK-TOKEN-AUD", "token_audience"),
    ("ATK-TOKEN-EXPIRED", "token_expiry"),
    ("ATK-TOKEN-SCOPE", "token_scope"),
    ("ATK-OSCORE-REPLAY", "replay_window"),
    ("ATK-OFFPATH", "oscore"),
    ("ATK-SLOW", "device_timeout"),
    ("ATK-DROP", "retries"),
    ("ATK-FLOOD", "rate_limit"),
];

fn attacker(id: &str) -> Value {
    json!({"attack": id, "site": "a", "attempts": 3, "probability": if id == "ATK-DROP" { 0.5 } else { 1.0 }})
}

fn run(v: &Value) -> RunReport {
    let s: Scenario = load_str(&v.to_string()).expect("valid test scenario");
    icsim_sim::run(&s, None, &mut |_| {}).expect("runs")
}

fn outcome<'a>(r: &'a RunReport, id: &str) -> &'a AttackOutcome {
    r.security
        .as_ref()
        .unwrap()
        .attacks
        .iter()
        .find(|a| a.attack == id)
        .unwrap()
}

#[test]
fn each_attack_is_blocked_with_its_defence_and_succeeds_without() {
    for (id, defence) in ATTACKS {
        let mut v = base();
        v["attackers"] = json!([attacker(id)]);
        let on = run(&v);
        let o = outcome(&on, id);
        assert!(o.attempts > 0, "{id}: the attack made attempts");
        assert_eq!(
            o.succeeded, 0,
            "{id} must fail with every defence on: {o:?}"
        );
        assert!(
            o.blocked.values().sum::<u64>() > 0,
            "{id}: blocked by a named check: {o:?}"
        );
        assert_eq!(
            on.completion.patched, on.fleet.devices_to_update,
            "{id}: the rollout still patches every PLC"
        );
        assert!(on.security.as_ref().unwrap().defences_off.is_empty());

        v["defences"] = json!({ defence: false });
        let off = run(&v);
        let o = outcome(&off, id);
        assert!(
            o.succeeded >= 1,
            "{id} must succeed with {defence} off: {o:?}"
        );
        assert_eq!(off.security.as_ref().unwrap().defences_off, [defence]);
    }
}

#[test]
fn the_eavesdropper_finds_no_plaintext_and_no_key_unless_encryption_is_off() {
    let mut v = base();
    v["attackers"] = json!([attacker("ATK-EAVES")]);
    let on = run(&v);
    let o = outcome(&on, "ATK-EAVES");
    assert_eq!(o.succeeded, 0);
    assert!(o.effect.contains("found: nothing"), "{}", o.effect);
    v["defences"] = json!({"payload_encryption": false});
    let off = run(&v);
    let o = outcome(&off, "ATK-EAVES");
    assert!(
        o.effect.contains("content key") && o.effect.contains("firmware plaintext"),
        "{}",
        o.effect
    );
}

#[test]
fn every_attack_at_once_is_blocked_and_the_rollout_completes() {
    let mut v = base();
    // Payload attacks need a cache of their own: put the cache ones at site b.
    let all: Vec<Value> = ATTACKS
        .iter()
        .map(|(id, _)| {
            let mut a = attacker(id);
            if matches!(*id, "ATK-WRONG" | "ATK-ENDLESS" | "ATK-SLOW") {
                a["site"] = json!("b");
            }
            if *id == "ATK-ENDLESS" {
                a["site"] = json!("a");
            }
            a
        })
        .filter(|a| a["attack"] != "ATK-WRONG")
        .collect();
    v["attackers"] = json!(all);
    // Under a dozen attacks at once a device may need more tries (each from the repository).
    v["rollout"]["retries"] = json!(5);
    let r = run(&v);
    for o in &r.security.as_ref().unwrap().attacks {
        assert_eq!(o.succeeded, 0, "{} succeeded: {o:?}", o.attack);
    }
    assert_eq!(r.completion.patched, r.fleet.devices_to_update);
}

#[test]
fn a_stolen_key_without_operator_approval_hits_fewer_plcs_under_a_canary_with_abort() {
    let mut v = base();
    v["attackers"] = json!([{"attack": "ATK-STOLEN-KEY", "site": "a", "attempts": 40}]);
    v["defences"] = json!({"operator_approval": false});
    v["policies"] = json!([
        {"name": "all", "strategy": {"kind": "all_at_once"}},
        {"name": "canary", "strategy": {"kind": "canary_ramp", "canary": 3, "bake_h": 0.2, "base_rate_per_min": 1,
         "increment_factor": 2, "increase_after_succeeded": 5, "max_rate_per_min": 10},
         "abort": {"failure_pct": 20, "min_executed": 3}}
    ]);
    let s: Scenario = load_str(&v.to_string()).unwrap();
    let hit = |p: &str| {
        outcome(
            &icsim_sim::run_policy(&s, None, Some(p), &mut |_| {}).unwrap(),
            "ATK-STOLEN-KEY",
        )
        .succeeded
    };
    let (all, canary) = (hit("all"), hit("canary"));
    assert!(
        all >= 30,
        "all at once: the malicious image reaches most of the class ({all})"
    );
    assert!(
        canary < all / 2,
        "a canary with an abort threshold limits the blast radius ({canary} of {all})"
    );
}
