//! Synthetic run reports for the tests.

use std::collections::BTreeMap;

use icsim_reports::model::*;

/// A run of `devices` PLCs patched at `patch_times` (hours after release, ascending),
/// sampled every `step_h` up to `end_h`, with the given traffic and outcome figures.
pub(crate) fn run(
    seed: u64,
    devices: u64,
    patch_times: &[f64],
    step_h: f64,
    end_h: f64,
) -> RunReport {
    let share = |k: usize| k as f64 / devices as f64;
    let reach = |q: f64| {
        let need = (q * devices as f64).ceil() as usize;
        if need == 0 {
            Some(0.0)
        } else {
            patch_times.get(need - 1).copied()
        }
    };
    let mut timeline = Vec::new();
    let mut t = 0.0;
    let mut i = 0;
    while t <= end_h + 1e-9 {
        let patched = patch_times.iter().filter(|&&p| p <= t).count() as u64;
        timeline.push(Sample {
            t_h: t,
            patched,
            in_progress: 0,
            waiting: devices - patched,
            failed: 0,
            down: 0,
        });
        i += 1;
        t = i as f64 * step_h;
    }
    let mut network = BTreeMap::new();
    network.insert(
        "cell".to_string(),
        TierTraffic {
            datagrams: 1000 + seed,
            bytes: 2_000_000 + 100_000 * seed,
            lost: seed,
            queue_drops: 2,
            outage_drops: 0,
            mtu_drops: 0,
        },
    );
    network.insert(
        "wan".to_string(),
        TierTraffic {
            datagrams: 500,
            bytes: 1_000_000,
            ..TierTraffic::default()
        },
    );
    let mut outcomes = BTreeMap::new();
    let mut fw = BTreeMap::new();
    fw.insert("committed".to_string(), patch_times.len() as u64);
    fw.insert("rolled_back".to_string(), seed % 3);
    fw.insert("rejected: BadSignature".to_string(), 1);
    outcomes.insert("fw".to_string(), fw);
    let mut lib = BTreeMap::new();
    lib.insert("committed".to_string(), patch_times.len() as u64);
    lib.insert("failed: Timeout".to_string(), 2);
    outcomes.insert("lib".to_string(), lib);
    let mut rejections = BTreeMap::new();
    if seed.is_multiple_of(2) {
        rejections.insert("BadSignature".to_string(), 1);
    }
    RunReport {
        schema_version: SCHEMA_VERSION,
        generator: "icsim test".to_string(),
        scenario: ScenarioInfo {
            name: "synthetic".to_string(),
            sha256: "ab".repeat(32),
            epoch: "2025-01-01T00:00:00Z".to_string(),
            horizon_h: end_h,
            release_h: 1.0,
            policy: "whatever".to_string(),
        },
        seed,
        fleet: FleetInfo {
            devices,
            devices_to_update: devices,
            sites: 2,
            cells: devices / 2,
            updates: 2,
            device_updates: 2 * devices,
        },
        completion: Completion {
            t50_h: reach(0.5),
            t90_h: reach(0.9),
            t99_h: reach(0.99),
            t100_h: reach(1.0),
            patched: patch_times.len() as u64,
            patch_times_h: patch_times.to_vec(),
            patched_share: share(patch_times.len()),
        },
        timeline,
        impact: Impact {
            exposure_device_h: patch_times.iter().sum::<f64>()
                + (devices as f64 - patch_times.len() as f64) * end_h,
            downtime_device_h: 0.1 * devices as f64 + 0.01 * seed as f64,
            downtime_cell_h: 0.02 * seed as f64,
            max_device_downtime_s: 90.0,
            reboots: 2 * devices,
        },
        network,
        backend: BTreeMap::new(),
        crypto: CryptoTotals {
            device_signature_verifications: 4 * devices,
            device_cpu_s: 1.5 * devices as f64,
            ..CryptoTotals::default()
        },
        protocol: ProtocolTotals {
            retries: seed,
            retransmissions: 10 * seed,
            ..ProtocolTotals::default()
        },
        outcomes,
        rejections,
        rollout: RolloutStats {
            policy: "whatever".to_string(),
            aborted_at_h: (seed == 2).then_some(3.5),
            devices_started: devices,
            ..RolloutStats::default()
        },
        security: None,
        engine: EngineStats {
            events: 1000,
            simulated_h: end_h + 1.0,
            ..EngineStats::default()
        },
    }
}

/// Evenly spread patch times: `k` devices patched at `start + i * gap`.
pub(crate) fn times(k: usize, start: f64, gap: f64) -> Vec<f64> {
    (0..k).map(|i| start + i as f64 * gap).collect()
}
