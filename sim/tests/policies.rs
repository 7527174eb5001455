//! Each rollout policy's rule, checked on a small fleet (issue 5): batches never exceed
//! their size, the cell budget is never exceeded, an abort stops new starts and reverts,
//! window-aware installs never reboot a PLC outside its window.

use icsim_reports::RunReport;
use icsim_sim::scenario::{Scenario, load_str};

const BASE: &str = r#"{
  "name": "policies", "seed": 3, "epoch": "2026-11-26T12:00:00Z", "horizon_h": 72,
  "backend": {
    "authorization_server": {"service_time_ms": 2, "capacity": 4, "queue_limit": 1000},
    "repository": {"service_time_ms": 1, "capacity": 8, "queue_limit": 1000}
  },
  "device_classes": [{
    "name": "plc", "vendor_id": "fa6b4a53-d5ad-5fdf-be9d-e663e4d41ffe", "class_id": "1492af14-2569-5e48-bf42-9b2d51f2ab45",
    "cpu": {"ecdsa_verify_ms": 20, "ecdh_ms": 20, "hkdf_us": 50, "aes_kib_s": 5000, "sha256_kib_s": 5000},
    "flash_write_kib_s": 500, "install_s": 20, "reboot_s": 30, "boot_failure_prob": BOOT_FAILURE, "block_size": 512
  }],
  "sites": [
    {"name": "a", "utc_offset_h": 1, "maintenance_window": {"start": "02:00", "duration_h": 4},
     "wan": {"latency": {"kind": "fixed", "ms": 20}, "bandwidth_kbit_s": 10000, "queue_packets": 200, "mtu": 1500},
     "cell": {"latency": {"kind": "fixed", "ms": 1}, "bandwidth_kbit_s": 100000, "queue_packets": 200, "mtu": 1500},
     "cache": true, "devices": [{"class": "plc", "count": 24, "redundancy": 3}]},
    {"name": "b", "utc_offset_h": 1, "maintenance_window": {"start": "03:00", "duration_h": 2},
     "wan": {"latency": {"kind": "fixed", "ms": 30}, "bandwidth_kbit_s": 5000, "queue_packets": 200, "mtu": 1500},
     "cell": {"latency": {"kind": "fixed", "ms": 5}, "bandwidth_kbit_s": 1000, "queue_packets": 100, "mtu": 1500},
     "devices": [{"class": "plc", "count": 16, "redundancy": 2}]}
  ],
  "authors": [{"name": "vendor", "types": ["firmware"]}],
  "updates": [{"name": "fw", "type": "firmware", "author": "vendor", "component": "fw", "size_kib": 48,
               "sequence": 2, "installed_sequence": 1, "classes": ["plc"]}],
  "rollout": {"concurrency": 40, "retries": 0},
  "policies": [
    {"name": "all", "strategy": {"kind": "all_at_once"}},
    {"name": "batches", "strategy": {"kind": "batches", "size": 7, "pause_h": 0.1}},
    {"name": "phases", "strategy": {"kind": "phases", "phases": [{"percent": 10, "delay_h": 0}, {"percent": 50, "delay_h": 1}, {"percent": 100, "delay_h": 1}]}},
    {"name": "canary", "strategy": {"kind": "canary_ramp", "canary": 3, "bake_h": 0.5, "base_rate_per_min": 1, "increment_factor": 2, "increase_after_succeeded": 4, "max_rate_per_min": 20}},
    {"name": "groups", "strategy": {"kind": "groups", "group_size": 10, "success_threshold_pct": 90, "error_threshold_pct": 30, "approval_delay_h": 0.25}},
    {"name": "per_site", "strategy": {"kind": "per_site", "parallel_sites": 1}},
    {"name": "budget", "strategy": {"kind": "all_at_once"}, "cell_budget": 1},
    {"name": "window", "strategy": {"kind": "all_at_once"}, "install": "window"},
    {"name": "window_budget", "strategy": {"kind": "all_at_once"}, "install": "window", "cell_budget": 1},
    {"name": "abort", "strategy": {"kind": "batches", "size": 4, "pause_h": 0}, "abort": {"failure_pct": 20, "min_executed": 4}}
  ]
}"#;

fn scenario(boot_failure: f64) -> Scenario {
    load_str(&BASE.replace("BOOT_FAILURE", &boot_failure.to_string()))
        .expect("the test scenario is valid")
}

fn run(s: &Scenario, policy: &str) -> RunReport {
    icsim_sim::run_policy(s, None, Some(policy), &mut |_| {}).expect("runs")
}

#[test]
fn every_policy_patches_a_healthy_fleet() {
    let s = scenario(0.0);
    for p in [
        "all",
        "batches",
        "phases",
        "canary",
        "groups",
        "per_site",
        "budget",
        "window",
        "window_budget",
    ] {
        let r = run(&s, p);
        assert_eq!(r.completion.patched, 40, "{p}: every PLC patched");
        assert_eq!(r.rollout.policy, p);
        assert_eq!(r.rollout.aborted_at_h, None);
    }
}

#[test]
fn batches_never_exceed_their_size_and_take_longer() {
    let s = scenario(0.0);
    let all = run(&s, "all");
    let batches = run(&s, "batches");
    assert!(
        all.rollout.max_in_progress > 7,
        "all at once runs many at a time ({})",
        all.rollout.max_in_progress
    );
    assert!(
        batches.rollout.max_in_progress <= 7,
        "batch size 7, saw {}",
        batches.rollout.max_in_progress
    );
    assert!(batches.completion.t100_h > all.completion.t100_h);
}

#[test]
fn the_cell_budget_is_never_exceeded() {
    let s = scenario(0.0);
    let all = run(&s, "all");
    assert!(
        all.rollout.max_cell_down > 1,
        "without a budget whole cells go down ({})",
        all.rollout.max_cell_down
    );
    assert!(all.impact.downtime_cell_h > 0.0);
    for p in ["budget", "window_budget"] {
        let r = run(&s, p);
        assert_eq!(
            r.rollout.max_cell_down, 1,
            "{p}: at most one PLC per cell down at any instant"
        );
        assert_eq!(
            r.impact.downtime_cell_h, 0.0,
            "{p}: no cell ever fully down"
        );
    }
}

#[test]
fn window_aware_installs_never_reboot_outside_the_window() {
    let s = scenario(0.0);
    let immediate = run(&s, "all");
    assert!(
        immediate.rollout.reboots_outside_window > 0,
        "released at 13:00 local, immediate installs reboot at once"
    );
    for p in ["window", "window_budget"] {
        let r = run(&s, p);
        assert_eq!(r.rollout.reboots_outside_window, 0, "{p}");
        assert!(
            r.completion.t100_h.unwrap() > 12.0,
            "{p}: waits for the night window"
        );
    }
}

#[test]
fn an_abort_stops_new_starts_and_reverts_the_installed() {
    let s = scenario(0.5);
    let r = run(&s, "abort");
    assert!(
        r.rollout.aborted_at_h.is_some(),
        "half the boots fail: the abort criterion fires"
    );
    assert!(
        r.rollout.devices_never_started > 0,
        "no new starts after the abort"
    );
    assert_eq!(
        r.rollout.devices_started + r.rollout.devices_never_started,
        40
    );
    assert!(
        r.rollout.reverted > 0,
        "devices that had installed were reverted"
    );
    assert_eq!(
        r.completion.patched, 0,
        "after the revert no device runs the update"
    );
    let without = run(&s, "batches");
    assert_eq!(without.rollout.aborted_at_h, None);
    assert_eq!(
        without.rollout.devices_started, 40,
        "without an abort criterion every device starts"
    );
}

#[test]
fn canary_failures_stop_the_ramp_and_groups_respect_their_error_threshold() {
    let s = scenario(1.0);
    let canary = run(&s, "canary");
    assert!(canary.rollout.aborted_at_h.is_some());
    assert_eq!(
        canary.rollout.devices_started, 3,
        "only the canary group ran"
    );
    let groups = run(&s, "groups");
    assert!(groups.rollout.aborted_at_h.is_some());
    assert_eq!(
        groups.rollout.devices_started, 10,
        "only the first group ran"
    );
}
