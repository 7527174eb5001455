//! Number formatting and metric labels shared by the Markdown and HTML renderings.

use crate::compare::{ComparisonReport, PolicySummary};
use crate::stats::Stat;

/// The decimals for a magnitude, `None` where scientific notation reads better.
fn decimals(a: f64) -> Option<usize> {
    match a {
        a if a >= 1000.0 => Some(0),
        a if a >= 100.0 => Some(1),
        a if a >= 1.0 => Some(2),
        a if a >= 0.01 => Some(3),
        _ => None,
    }
}

/// `v` with `d` decimals, never as "-0.00".
fn fixed(v: f64, d: usize) -> String {
    let s = format!("{v:.d$}");
    match s.strip_prefix('-') {
        Some(rest) if rest.chars().all(|c| c == '0' || c == '.') => rest.to_string(),
        _ => s,
    }
}

/// A number with a precision that suits its magnitude (fixed rules, so deterministic).
pub(crate) fn num(v: f64) -> String {
    if !v.is_finite() {
        return "–".to_string();
    }
    if v == 0.0 {
        return "0".to_string();
    }
    // Counts (and other whole numbers) without decimals.
    if v.fract() == 0.0 && v.abs() < 1e15 {
        return format!("{v:.0}");
    }
    match decimals(v.abs()) {
        Some(d) => fixed(v, d),
        None => format!("{v:.2e}"),
    }
}

/// `mean ± half-CI` of a statistic scaled by `scale` (the value alone from a single run),
/// with `k/n reached` where some runs lacked it and `not reached (0/n)` where all did.
pub(crate) fn pm(stat: Option<&Stat>, scale: f64) -> String {
    let Some(s) = stat else {
        return "–".to_string();
    };
    if s.reached == 0 {
        return format!("not reached (0/{})", s.n);
    }
    // A single value has no interval to show (see `Stat`): print it alone.
    let mut out = if s.reached < 2 {
        num(s.mean * scale)
    } else {
        let (mean, half) = (s.mean * scale, s.half_ci() * scale);
        // Both with the decimals that suit the larger of the two.
        match decimals(mean.abs().max(half.abs())) {
            Some(d) => format!("{} ± {}", fixed(mean, d), fixed(half, d)),
            None => format!("{} ± {}", num(mean), num(half)),
        }
    };
    if !s.all_reached() {
        out.push_str(&format!(" ({}/{} reached)", s.reached, s.n));
    }
    out
}

/// The columns of the headline table: header, metric, scale.
pub(crate) const HEADLINE: [(&str, &str, f64); 7] = [
    ("T90 (h)", "completion.t90_h", 1.0),
    ("T100 (h)", "completion.t100_h", 1.0),
    ("downtime (device-h)", "impact.downtime_device_h", 1.0),
    (
        "process downtime, whole cell down (cell-h)",
        "impact.downtime_cell_h",
        1.0,
    ),
    (
        "reboots outside a window",
        "rollout.reboots_outside_window",
        1.0,
    ),
    ("exposure (device-h)", "impact.exposure_device_h", 1.0),
    ("bytes, all tiers (MB)", "network_total.bytes", 1e-6),
];

/// The headline cells of one policy, in [`HEADLINE`] order.
pub(crate) fn headline_cells(p: &PolicySummary) -> Vec<String> {
    HEADLINE
        .iter()
        .map(|(_, metric, scale)| pm(p.metric(metric), *scale))
        .collect()
}

/// One line about the scenario and the replications.
pub(crate) fn preamble(r: &ComparisonReport) -> String {
    let f = &r.fleet;
    format!(
        "Scenario `{}` (SHA-256 {}…), fleet of {} PLCs in {} sites ({} redundancy cells), {} updates; {} replications per policy, seeds {}. Horizon {} h, release at {} h after {}.",
        r.scenario.name,
        &r.scenario.sha256[..16.min(r.scenario.sha256.len())],
        f.devices,
        f.sites,
        f.cells,
        f.updates,
        r.replications,
        seeds(&r.seeds),
        num(r.scenario.horizon_h),
        num(r.scenario.release_h),
        r.scenario.epoch
    )
}

fn seeds(seeds: &[u64]) -> String {
    match seeds {
        [] => "none".to_string(),
        s if s.len() <= 8 => s.iter().map(u64::to_string).collect::<Vec<_>>().join(", "),
        s => format!(
            "{}, … , {} ({} in all)",
            s[..4]
                .iter()
                .map(u64::to_string)
                .collect::<Vec<_>>()
                .join(", "),
            s[s.len() - 1],
            s.len()
        ),
    }
}

/// A readable label with its unit for a metric name of [`crate::compare::run_metrics`].
pub(crate) fn metric_label(name: &str) -> String {
    let fixed = match name {
        "completion.t50_h" => "time to 50 % patched (h)",
        "completion.t90_h" => "time to 90 % patched (h)",
        "completion.t99_h" => "time to 99 % patched (h)",
        "completion.t100_h" => "time to 100 % patched (h)",
        "completion.patched" => "devices patched at the end",
        "completion.patched_share" => "share patched at the end (0–1)",
        "impact.exposure_device_h" => "exposure (device-h)",
        "impact.downtime_device_h" => "process downtime (device-h)",
        "impact.downtime_cell_h" => "whole-cell downtime (cell-h)",
        "impact.max_device_downtime_s" => "longest device downtime (s)",
        "impact.reboots" => "reboots",
        "network_total.datagrams" => "datagrams, all tiers",
        "network_total.bytes" => "bytes, all tiers",
        "network_total.dropped" => "datagrams dropped, all tiers",
        "crypto.device_cpu_s" => "device CPU time for crypto (s)",
        "crypto.device_signature_verifications" => "signature verifications on devices",
        "crypto.device_payload_decryptions" => "payload decryptions on devices",
        "crypto.device_hkdf" => "HKDF derivations on devices",
        "crypto.device_aes_bytes" => "AES bytes on devices",
        "crypto.device_sha256_bytes" => "SHA-256 bytes on devices",
        "crypto.um_hkdf" => "HKDF derivations at the UM",
        "crypto.um_aes_bytes" => "AES bytes at the UM",
        "protocol.datagrams" => "datagrams sent",
        "protocol.retransmissions" => "CoAP retransmissions",
        "protocol.oscore_requests" => "OSCORE requests from the UM",
        "protocol.tokens_issued" => "access tokens issued",
        "protocol.rekeys" => "re-keys after reboots",
        "protocol.retries" => "device updates retried",
        "protocol.blocks_served" => "payload blocks served",
        "outcomes.committed" => "device updates committed",
        "outcomes.rolled_back" => "device updates rolled back",
        "outcomes.rejected" => "device updates rejected",
        "outcomes.failed" => "device updates failed",
        "outcomes.other" => "device updates, other outcome",
        "rollout.aborted" => "rollout aborted (share of runs, 0–1)",
        "rollout.aborted_at_h" => "rollout aborted at (h after release)",
        "rollout.devices_started" => "devices started",
        "rollout.devices_never_started" => "devices never started",
        "rollout.reverted" => "devices reverted after an abort",
        "rollout.max_in_progress" => "most devices in progress at once",
        "rollout.max_cell_down" => "most PLCs of one cell down at once",
        "rollout.reboots_outside_window" => "reboots outside the maintenance window",
        "rollout.timeouts" => "sessions cancelled by the per-device timeout",
        "engine.events" => "simulated events",
        "engine.simulated_h" => "simulated time (h after epoch)",
        _ => "",
    };
    if !fixed.is_empty() {
        return fixed.to_string();
    }
    let tiered = |prefix: &str| name.strip_prefix(prefix).and_then(|r| r.rsplit_once('.'));
    if let Some((tier, field)) = tiered("network.") {
        let what = match field {
            "bytes" => "bytes",
            "datagrams" => "datagrams",
            "lost" => "lost",
            "queue_drops" => "queue drops",
            "outage_drops" => "outage drops",
            "mtu_drops" => "MTU drops",
            other => other,
        };
        return format!("{tier} tier: {what}");
    }
    if let Some((station, field)) = tiered("backend.") {
        let what = match field {
            "utilisation" => "utilisation (0–1)",
            "max_queue" => "longest queue",
            other => other,
        };
        return format!("{station}: {what}");
    }
    if let Some(label) = name.strip_prefix("outcome_labels.") {
        return format!("outcome “{label}” (device updates)");
    }
    if let Some(reason) = name.strip_prefix("rejections.") {
        return format!("rejections: {reason}");
    }
    name.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers() {
        assert_eq!(num(0.0), "0");
        assert_eq!(num(12345.6), "12346");
        assert_eq!(num(290.0), "290");
        assert_eq!(num(1.0), "1");
        assert_eq!(num(123.45), "123.5");
        assert_eq!(num(1.234), "1.23");
        assert_eq!(num(0.1234), "0.123");
        assert_eq!(num(-0.0001), "-1.00e-4");
        assert_eq!(num(-0.0), "0");
        assert_eq!(num(f64::NAN), "–");
    }

    #[test]
    fn plus_minus() {
        let s = Stat::from_optional([Some(2.0), None, Some(4.0)]);
        assert_eq!(pm(Some(&s), 1.0), "3.00 ± 12.71 (2/3 reached)");
        let s = Stat::from_samples(&[3.0, 3.2, 3.4]);
        assert_eq!(pm(Some(&s), 1.0), "3.20 ± 0.50");
        let s = Stat::from_samples(&[300.0, 320.0, 340.0]);
        assert_eq!(pm(Some(&s), 1.0), "320.0 ± 49.7");
        let s = Stat::from_optional([None, None]);
        assert_eq!(pm(Some(&s), 1.0), "not reached (0/2)");
        assert_eq!(pm(None, 1.0), "–");
        assert_eq!(pm(Some(&Stat::from_samples(&[2.5])), 2.0), "5");
    }

    #[test]
    fn labels() {
        assert_eq!(
            metric_label("network.wan.queue_drops"),
            "wan tier: queue drops"
        );
        assert_eq!(
            metric_label("backend.as.utilisation"),
            "as: utilisation (0–1)"
        );
        assert_eq!(
            metric_label("rejections.BadSignature"),
            "rejections: BadSignature"
        );
        assert_eq!(metric_label("unknown"), "unknown");
    }
}
