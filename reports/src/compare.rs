//! The comparison of rollout policies across replications (`icsim compare`): per policy, the
//! mean, standard deviation and 95 % confidence interval of every numeric metric of the run
//! reports, the patched share over time as a band, and the pooled completion-time CDF; and,
//! when the scenario has attackers, the attacks' totals per policy ([`ComparisonSecurity`]).
//!
//! Everything here is a pure function of its input: maps are ordered, policies keep the
//! order they were given in, and sums run over the runs in the order given (seed order), so
//! the same runs give the same bytes however they were computed.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use crate::model::{FleetInfo, RunReport};
use crate::stats::Stat;

pub use crate::security::comparison::{AttackTotals, ComparisonSecurity, PolicySecurity};

/// The version of the comparison `report.json` schema.
pub const COMPARISON_SCHEMA_VERSION: u32 = 1;

/// The most points kept in a pooled completion-time CDF.
pub const CDF_MAX_POINTS: usize = 200;

/// The runs of one policy.
#[derive(Debug, Clone, PartialEq)]
pub struct PolicyRuns {
    /// The policy's name.
    pub policy: String,
    /// Its runs, in seed (replication) order.
    pub runs: Vec<RunReport>,
}

/// The comparison of several policies on the same fleet and seeds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ComparisonReport {
    /// Schema version ([`COMPARISON_SCHEMA_VERSION`]).
    pub schema_version: u32,
    /// The tool that wrote the runs (from the first run).
    pub generator: String,
    /// The scenario (from the first run).
    pub scenario: ComparisonScenario,
    /// The fleet (from the first run).
    pub fleet: FleetInfo,
    /// Replications per policy (the most runs any policy has).
    pub replications: u64,
    /// The seeds of the first policy's runs, in order.
    pub seeds: Vec<u64>,
    /// One entry per policy, in the order given.
    pub policies: Vec<PolicySummary>,
    /// The attacks' totals per policy; `None` (and absent from the JSON) when no run has a
    /// security section.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub security: Option<ComparisonSecurity>,
}

/// What was simulated (the run reports' scenario without the policy).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ComparisonScenario {
    /// Its name.
    pub name: String,
    /// SHA-256 of the scenario as loaded, hex (of the first run).
    pub sha256: String,
    /// The epoch (RFC 3339).
    pub epoch: String,
    /// The horizon, hours.
    pub horizon_h: f64,
    /// When the rollout started, hours after the epoch.
    pub release_h: f64,
}

/// The statistics of one policy across its runs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PolicySummary {
    /// The policy's name.
    pub policy: String,
    /// Its runs.
    pub runs: u64,
    /// Their seeds, in order.
    pub seeds: Vec<u64>,
    /// Every numeric metric by name (see [`run_metrics`] for the names).
    pub metrics: BTreeMap<String, Stat>,
    /// Share of the fleet patched over time across runs.
    pub timeline: Vec<BandPoint>,
    /// Completion-time CDF of all runs pooled.
    pub completion_cdf: Vec<CdfPoint>,
}

/// The patched share of the devices to update (`FleetInfo::devices_to_update`) at one
/// instant across runs (shares in 0..=1).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BandPoint {
    /// Hours after the release.
    pub t_h: f64,
    /// Mean share over the runs.
    pub mean: f64,
    /// Lower bound of the 95 % confidence interval of the mean, clamped to 0..=1.
    pub lo: f64,
    /// Upper bound of the 95 % confidence interval of the mean, clamped to 0..=1.
    pub hi: f64,
}

/// One step of a completion-time CDF.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CdfPoint {
    /// Hours after the release.
    pub t_h: f64,
    /// Share of the devices to update (of all runs pooled, `FleetInfo::devices_to_update`)
    /// patched by then, 0..=1; it ends at the patched share, below 1 when devices were
    /// never patched.
    pub share: f64,
}

impl PolicySummary {
    /// A metric's statistics, if any run had it.
    pub fn metric(&self, name: &str) -> Option<&Stat> {
        self.metrics.get(name)
    }

    /// The link tiers that appear in the metrics, in order.
    pub fn tiers(&self) -> Vec<String> {
        let mut tiers: Vec<String> = self
            .metrics
            .keys()
            .filter_map(|k| k.strip_prefix("network.")?.strip_suffix(".bytes"))
            .map(str::to_string)
            .collect();
        tiers.dedup();
        tiers
    }
}

/// Compare the runs of several policies. Never panics: no policies, policies without runs
/// and non-finite values all give a (possibly empty) report.
pub fn compare(runs: Vec<PolicyRuns>) -> ComparisonReport {
    let first = runs.iter().find_map(|p| p.runs.first());
    let scenario = first.map_or_else(ComparisonScenario::default, |r| ComparisonScenario {
        name: r.scenario.name.clone(),
        sha256: r.scenario.sha256.clone(),
        epoch: r.scenario.epoch.clone(),
        horizon_h: r.scenario.horizon_h,
        release_h: r.scenario.release_h,
    });
    let fleet = first.map_or(
        FleetInfo {
            devices: 0,
            devices_to_update: 0,
            sites: 0,
            cells: 0,
            updates: 0,
            device_updates: 0,
        },
        |r| r.fleet.clone(),
    );
    let generator = first.map_or_else(
        || format!("icsim-reports {}", env!("CARGO_PKG_VERSION")),
        |r| r.generator.clone(),
    );
    let seeds = runs
        .first()
        .map(|p| p.runs.iter().map(|r| r.seed).collect())
        .unwrap_or_default();
    let replications = runs.iter().map(|p| p.runs.len() as u64).max().unwrap_or(0);
    let policies = runs.iter().map(summarise).collect();
    let security = crate::security::comparison::security(&runs);
    ComparisonReport {
        schema_version: COMPARISON_SCHEMA_VERSION,
        generator,
        scenario,
        fleet,
        replications,
        seeds,
        policies,
        security,
    }
}

/// Serialise a comparison as pretty JSON with a final newline.
pub fn comparison_json(report: &ComparisonReport) -> String {
    // Plain data with string keys; non-finite floats (impossible here) would become null.
    let mut text = serde_json::to_string_pretty(report).unwrap_or_else(|_| "{}".to_string());
    text.push('\n');
    text
}

fn summarise(p: &PolicyRuns) -> PolicySummary {
    let per_run: Vec<BTreeMap<String, Option<f64>>> = p.runs.iter().map(run_metrics).collect();
    let names: BTreeSet<&String> = per_run.iter().flat_map(|m| m.keys()).collect();
    let metrics = names
        .into_iter()
        .map(|name| {
            // A key a run lacks is a count that run never incremented: 0.
            let samples = per_run
                .iter()
                .map(|m| m.get(name).copied().unwrap_or(Some(0.0)));
            (name.clone(), Stat::from_optional(samples))
        })
        .collect();
    PolicySummary {
        policy: p.policy.clone(),
        runs: p.runs.len() as u64,
        seeds: p.runs.iter().map(|r| r.seed).collect(),
        metrics,
        timeline: timeline_band(&p.runs),
        completion_cdf: pooled_cdf(&p.runs),
    }
}

fn share(num: f64, den: u64) -> f64 {
    if den == 0 { 0.0 } else { num / den as f64 }
}

/// Every numeric metric of one run by name; `None` for a completion time not reached.
///
/// Names: `completion.{t50_h,t90_h,t99_h,t100_h,patched,patched_share}`,
/// `impact.{exposure_device_h,downtime_device_h,downtime_cell_h,max_device_downtime_s,reboots}`,
/// `network.TIER.{datagrams,bytes,lost,queue_drops,outage_drops,mtu_drops}`,
/// `network_total.{datagrams,bytes,dropped}` (summed over tiers; a datagram crossing two
/// tiers counts in both), `backend.STATION.{served,dropped,max_queue,utilisation}`,
/// `crypto.FIELD`, `protocol.FIELD`, `outcomes.{committed,rolled_back,rejected,failed,other}`
/// (device updates, summed over updates and reasons), `outcome_labels.LABEL` (summed over
/// updates), `rejections.REASON`, `rollout.aborted` (1 if the abort criterion fired, else
/// 0), `rollout.aborted_at_h` (absent where not aborted), `rollout.FIELD` for the other
/// rollout figures, `engine.{events,simulated_h}`, and, for a run with a security section,
/// `security.succeeded` (attack attempts that succeeded, summed over the attacks).
pub fn run_metrics(r: &RunReport) -> BTreeMap<String, Option<f64>> {
    let mut m = BTreeMap::new();
    let mut put = |k: String, v: f64| {
        m.insert(k, Some(v));
    };
    let c = &r.completion;
    put("completion.patched".into(), c.patched as f64);
    put("completion.patched_share".into(), c.patched_share);
    let i = &r.impact;
    put("impact.exposure_device_h".into(), i.exposure_device_h);
    put("impact.downtime_device_h".into(), i.downtime_device_h);
    put("impact.downtime_cell_h".into(), i.downtime_cell_h);
    put(
        "impact.max_device_downtime_s".into(),
        i.max_device_downtime_s,
    );
    put("impact.reboots".into(), i.reboots as f64);
    let (mut datagrams, mut bytes, mut dropped) = (0u64, 0u64, 0u64);
    for (tier, t) in &r.network {
        for (field, v) in [
            ("datagrams", t.datagrams),
            ("bytes", t.bytes),
            ("lost", t.lost),
            ("queue_drops", t.queue_drops),
            ("outage_drops", t.outage_drops),
            ("mtu_drops", t.mtu_drops),
        ] {
            put(format!("network.{tier}.{field}"), v as f64);
        }
        datagrams = datagrams.saturating_add(t.datagrams);
        bytes = bytes.saturating_add(t.bytes);
        let d = t.lost + t.queue_drops + t.outage_drops + t.mtu_drops;
        dropped = dropped.saturating_add(d);
    }
    put("network_total.datagrams".into(), datagrams as f64);
    put("network_total.bytes".into(), bytes as f64);
    put("network_total.dropped".into(), dropped as f64);
    for (station, l) in &r.backend {
        put(format!("backend.{station}.served"), l.served as f64);
        put(format!("backend.{station}.dropped"), l.dropped as f64);
        put(format!("backend.{station}.max_queue"), l.max_queue as f64);
        put(format!("backend.{station}.utilisation"), l.utilisation);
    }
    let k = &r.crypto;
    for (field, v) in [
        (
            "device_signature_verifications",
            k.device_signature_verifications as f64,
        ),
        (
            "device_payload_decryptions",
            k.device_payload_decryptions as f64,
        ),
        ("device_hkdf", k.device_hkdf as f64),
        ("device_aes_bytes", k.device_aes_bytes as f64),
        ("device_sha256_bytes", k.device_sha256_bytes as f64),
        ("device_cpu_s", k.device_cpu_s),
        ("um_hkdf", k.um_hkdf as f64),
        ("um_aes_bytes", k.um_aes_bytes as f64),
    ] {
        put(format!("crypto.{field}"), v);
    }
    let p = &r.protocol;
    for (field, v) in [
        ("datagrams", p.datagrams),
        ("retransmissions", p.retransmissions),
        ("oscore_requests", p.oscore_requests),
        ("tokens_issued", p.tokens_issued),
        ("rekeys", p.rekeys),
        ("retries", p.retries),
        ("blocks_served", p.blocks_served),
    ] {
        put(format!("protocol.{field}"), v as f64);
    }
    let mut classes: BTreeMap<&str, u64> =
        ["committed", "rolled_back", "rejected", "failed", "other"]
            .into_iter()
            .map(|c| (c, 0))
            .collect();
    let mut labels: BTreeMap<&str, u64> = BTreeMap::new();
    for outcomes in r.outcomes.values() {
        for (label, &n) in outcomes {
            let class = outcome_class(label);
            *classes.entry(class).or_default() += n;
            *labels.entry(label).or_default() += n;
        }
    }
    for (class, n) in classes {
        put(format!("outcomes.{class}"), n as f64);
    }
    for (label, n) in labels {
        put(format!("outcome_labels.{label}"), n as f64);
    }
    for (reason, &n) in &r.rejections {
        put(format!("rejections.{reason}"), n as f64);
    }
    let ro = &r.rollout;
    put(
        "rollout.aborted".into(),
        f64::from(u8::from(ro.aborted_at_h.is_some())),
    );
    for (field, v) in [
        ("devices_started", ro.devices_started),
        ("devices_never_started", ro.devices_never_started),
        ("reverted", ro.reverted),
        ("max_in_progress", ro.max_in_progress),
        ("max_cell_down", ro.max_cell_down),
        ("reboots_outside_window", ro.reboots_outside_window),
        ("timeouts", ro.timeouts),
    ] {
        put(format!("rollout.{field}"), v as f64);
    }
    if let Some(sec) = &r.security {
        let succeeded = sec
            .attacks
            .iter()
            .fold(0u64, |a, o| a.saturating_add(o.succeeded));
        put("security.succeeded".into(), succeeded as f64);
    }
    put("engine.events".into(), r.engine.events as f64);
    put("engine.simulated_h".into(), r.engine.simulated_h);
    for (name, v) in [
        ("completion.t50_h", c.t50_h),
        ("completion.t90_h", c.t90_h),
        ("completion.t99_h", c.t99_h),
        ("completion.t100_h", c.t100_h),
        ("rollout.aborted_at_h", r.rollout.aborted_at_h),
    ] {
        m.insert(name.to_string(), v);
    }
    m
}

/// The class of an outcome label: `committed`, `rolled_back`, `rejected` (`rejected: …`),
/// `failed` (`failed: …`) or `other`.
pub fn outcome_class(label: &str) -> &'static str {
    match label {
        "committed" => "committed",
        "rolled_back" => "rolled_back",
        l if l == "rejected" || l.starts_with("rejected:") => "rejected",
        l if l == "failed" || l.starts_with("failed:") => "failed",
        _ => "other",
    }
}

/// The patched share over time: on the union of the runs' sample times, each run's last
/// sample at or before the instant (carried forward past its end; 0 before its first).
/// Runs without a timeline are left out.
fn timeline_band(runs: &[RunReport]) -> Vec<BandPoint> {
    let runs: Vec<&RunReport> = runs.iter().filter(|r| !r.timeline.is_empty()).collect();
    let mut grid: Vec<f64> = runs
        .iter()
        .flat_map(|r| r.timeline.iter().map(|s| s.t_h))
        .filter(|t| t.is_finite())
        .collect();
    grid.sort_by(f64::total_cmp);
    grid.dedup();
    let mut cursors = vec![0usize; runs.len()];
    let mut values = vec![0.0; runs.len()];
    let mut band = Vec::with_capacity(grid.len());
    for &t in &grid {
        for (k, r) in runs.iter().enumerate() {
            while let Some(s) = r.timeline.get(cursors[k]) {
                // Non-finite times never match and are stepped over.
                if s.t_h <= t || !s.t_h.is_finite() {
                    if s.t_h.is_finite() {
                        values[k] = share(s.patched as f64, r.fleet.devices_to_update);
                    }
                    cursors[k] += 1;
                } else {
                    break;
                }
            }
        }
        let stat = Stat::from_samples(&values);
        band.push(BandPoint {
            t_h: t,
            mean: stat.mean,
            lo: stat.ci95_lo.clamp(0.0, 1.0),
            hi: stat.ci95_hi.clamp(0.0, 1.0),
        });
    }
    band
}

/// The completion-time CDF of all runs pooled: share of their devices to update patched by each
/// patch time, thinned deterministically to at most [`CDF_MAX_POINTS`] steps (evenly
/// spaced in rank, first and last kept).
fn pooled_cdf(runs: &[RunReport]) -> Vec<CdfPoint> {
    let devices: u64 = runs.iter().map(|r| r.fleet.devices_to_update).sum();
    let mut times: Vec<f64> = runs
        .iter()
        .flat_map(|r| r.completion.patch_times_h.iter().copied())
        .filter(|t| t.is_finite())
        .collect();
    times.sort_by(f64::total_cmp);
    let den = devices.max(times.len() as u64);
    let mut steps: Vec<CdfPoint> = Vec::new();
    for (i, &t) in times.iter().enumerate() {
        let s = share((i + 1) as f64, den);
        match steps.last_mut() {
            Some(last) if last.t_h == t => last.share = s,
            _ => steps.push(CdfPoint { t_h: t, share: s }),
        }
    }
    thin(steps, CDF_MAX_POINTS)
}

/// Keep at most `max` items (≥ 2), evenly spaced by index, first and last included.
pub(crate) fn thin<T: Clone>(items: Vec<T>, max: usize) -> Vec<T> {
    let m = items.len();
    if m <= max || max < 2 {
        return items;
    }
    (0..max)
        .map(|j| items[j * (m - 1) / (max - 1)].clone())
        .collect()
}
