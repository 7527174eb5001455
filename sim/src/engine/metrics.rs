//! What a run measures, and the report built from it.

use std::collections::BTreeMap;

use icsim_protocol::exchange::{DeviceEvent, InstallTiming, Outcome, UmEvent};
use icsim_protocol::time::{Duration, Instant};
use icsim_protocol::verify::Check;
use icsim_reports::model::{
    Completion, CryptoTotals, EngineStats, FleetInfo, HostCrypto, HostOps, Impact, ProtocolTotals,
    RunReport, Sample, ScenarioInfo, StationLoad, TierTraffic,
};

use super::rollout::Rollout;
use super::{CpuCosts, Engine, Tier, drop_name};
use crate::net::DropCause;
use crate::run::RunInfo;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum DevState {
    Waiting,
    InProgress,
    Patched,
    Failed,
}

struct DevMetrics {
    state: DevState,
    patched_at: Option<Instant>,
    down_since: Option<Instant>,
    downtime: Vec<(Instant, Instant)>,
}

pub(crate) struct Metrics {
    release: Instant,
    devices: Vec<DevMetrics>,
    cell_of: Vec<u32>,
    site_of: Vec<u32>,
    site_windows: Vec<Option<InstallTiming>>,
    cell_down: BTreeMap<u32, u64>,
    has_updates: Vec<bool>,
    max_cell_down: u64,
    reboots_outside_window: u64,
    update_names: Vec<String>,
    samples: Vec<Sample>,
    /// Traffic per link tier, indexed by [`Tier`].
    tiers: [TierTraffic; 2],
    crypto: CryptoTotals,
    rejections: BTreeMap<String, u64>,
    outcomes: BTreeMap<String, BTreeMap<String, u64>>,
    datagrams: u64,
    rekeys: u64,
    reboots: u64,
    retries: u64,
}

fn hours(d: Duration) -> f64 {
    d.as_micros() as f64 / 3.6e9
}

impl Metrics {
    pub(crate) fn new(
        release: Instant,
        cell_of: Vec<u32>,
        update_names: Vec<String>,
        site_of: Vec<u32>,
        site_windows: Vec<Option<InstallTiming>>,
        has_updates: Vec<bool>,
    ) -> Self {
        let devices = cell_of
            .iter()
            .map(|_| DevMetrics {
                state: DevState::Waiting,
                patched_at: None,
                down_since: None,
                downtime: Vec::new(),
            })
            .collect();
        Metrics {
            release,
            devices,
            cell_of,
            site_of,
            site_windows,
            cell_down: BTreeMap::new(),
            has_updates,
            max_cell_down: 0,
            reboots_outside_window: 0,
            update_names,
            samples: Vec::new(),
            tiers: Default::default(),
            crypto: CryptoTotals::default(),
            rejections: BTreeMap::new(),
            outcomes: BTreeMap::new(),
            datagrams: 0,
            rekeys: 0,
            reboots: 0,
            retries: 0,
        }
    }

    pub(crate) fn datagram(&mut self) {
        self.datagrams += 1;
    }

    pub(crate) fn link(&mut self, tier: Tier, len: usize, dropped: Option<DropCause>) {
        let t = &mut self.tiers[tier as usize];
        t.datagrams += 1;
        t.bytes += len as u64;
        match dropped.map(drop_name) {
            Some("lost") => t.lost += 1,
            Some("queue") => t.queue_drops += 1,
            Some("outage") => t.outage_drops += 1,
            Some(_) => t.mtu_drops += 1,
            None => {}
        }
    }

    fn count(&mut self, reason: String) {
        *self.rejections.entry(reason).or_default() += 1;
    }

    /// Record a UM event; a finished session is returned for the rollout.
    pub(crate) fn um_event(
        &mut self,
        _now: Instant,
        event: &UmEvent,
    ) -> Option<(icsim_protocol::exchange::Addr, Outcome)> {
        match event {
            UmEvent::Rekeyed { .. } => self.rekeys += 1,
            UmEvent::Work(w) => {
                self.crypto.um_hkdf += u64::from(w.hkdf);
                self.crypto.um_aes_bytes += w.aes_bytes;
            }
            UmEvent::Finished { device, outcome } => return Some((*device, outcome.clone())),
            _ => {}
        }
        None
    }

    /// Record a device event; returns the virtual CPU time it costs, microseconds.
    pub(crate) fn device_event(
        &mut self,
        now: Instant,
        d: u32,
        event: &DeviceEvent,
        costs: &CpuCosts,
    ) -> f64 {
        match event {
            DeviceEvent::Work(w) => {
                self.crypto.device_signature_verifications += u64::from(w.ecdsa_verify);
                self.crypto.device_hkdf += u64::from(w.hkdf);
                self.crypto.device_aes_bytes += w.aes_bytes;
                self.crypto.device_sha256_bytes += w.sha256_bytes;
                let us = f64::from(w.ecdsa_verify) * costs.ecdsa_us
                    + f64::from(w.ecdh) * costs.ecdh_us
                    + f64::from(w.hkdf) * costs.hkdf_us
                    + w.aes_bytes as f64 * costs.aes_us_per_byte
                    + w.sha256_bytes as f64 * costs.sha_us_per_byte;
                self.crypto.device_cpu_s += us / 1e6;
                return us;
            }
            DeviceEvent::Staged { bytes, .. } => {
                self.crypto.device_payload_decryptions += 1;
                return *bytes as f64 * costs.flash_us_per_byte;
            }
            DeviceEvent::UpdateRejected(r) => {
                if matches!(r.check(), Check::PayloadDecryption | Check::PayloadDigest) {
                    self.crypto.device_payload_decryptions += 1;
                }
                self.count(r.code().to_string());
            }
            DeviceEvent::TokenRejected { error, .. } => {
                self.count(format!("token: {}", error_kind(&format!("{error:?}"))))
            }
            DeviceEvent::AccessDenied { error, .. } => {
                self.count(format!("access: {}", error_kind(&format!("{error:?}"))))
            }
            DeviceEvent::OscoreRejected { error, .. } => {
                self.count(format!("oscore: {}", error_kind(&format!("{error:?}"))))
            }
            DeviceEvent::UnprotectedRefused { .. } => {
                self.count("unprotected_request_refused".into())
            }
            DeviceEvent::DownloadFailed(_) => self.count("download_failed".into()),
            DeviceEvent::ProcessStopped => {
                self.reboots += 1;
                self.devices[d as usize].down_since = Some(now);
                let cell = self.cell_of[d as usize];
                let down = self.cell_down.entry(cell).or_default();
                *down += 1;
                self.max_cell_down = self.max_cell_down.max(*down);
                // A window is open when an install ordered "now" would not wait.
                let site = self.site_of[d as usize] as usize;
                if let Some(Some(w)) = self.site_windows.get(site)
                    && w.at(now.unix_secs()).is_some()
                {
                    self.reboots_outside_window += 1;
                }
            }
            DeviceEvent::ProcessStarted { .. } => {
                let dev = &mut self.devices[d as usize];
                if let Some(since) = dev.down_since.take() {
                    dev.downtime.push((since, now));
                    if let Some(down) = self.cell_down.get_mut(&self.cell_of[d as usize]) {
                        *down = down.saturating_sub(1);
                    }
                }
            }
            _ => {}
        }
        0.0
    }

    pub(crate) fn device_reverted(&mut self, _now: Instant, d: u32) {
        let dev = &mut self.devices[d as usize];
        dev.state = DevState::Failed;
        dev.patched_at = None;
    }

    pub(crate) fn is_patched(&self, d: u32) -> bool {
        self.devices
            .get(d as usize)
            .is_some_and(|x| x.state == DevState::Patched)
    }

    pub(crate) fn retry(&mut self, _d: u32) {
        self.retries += 1;
    }

    pub(crate) fn job_started(&mut self, _now: Instant, d: u32) {
        let dev = &mut self.devices[d as usize];
        if dev.state == DevState::Waiting {
            dev.state = DevState::InProgress;
        }
    }

    pub(crate) fn update_outcome(
        &mut self,
        _now: Instant,
        _d: u32,
        update: usize,
        outcome: &Outcome,
    ) {
        let label = match outcome {
            Outcome::Committed => "committed".to_string(),
            Outcome::RolledBack => "rolled_back".to_string(),
            Outcome::Rejected(reason) => format!("rejected: {reason}"),
            Outcome::Failed(reason) => format!("failed: {reason}"),
            Outcome::Cancelled => "cancelled".to_string(),
            Outcome::Reverted => "reverted".to_string(),
            _ => "other".to_string(),
        };
        let name = self.update_names.get(update).cloned().unwrap_or_default();
        *self
            .outcomes
            .entry(name)
            .or_default()
            .entry(label)
            .or_default() += 1;
    }

    pub(crate) fn device_done(&mut self, now: Instant, d: u32, patched: bool) {
        let dev = &mut self.devices[d as usize];
        if patched {
            dev.state = DevState::Patched;
            dev.patched_at = Some(now);
        } else {
            dev.state = DevState::Failed;
        }
    }

    pub(crate) fn sample(&mut self, now: Instant, _rollout: &Rollout, down: u64) {
        let mut s = Sample {
            t_h: hours(now - self.release),
            patched: 0,
            in_progress: 0,
            waiting: 0,
            failed: 0,
            down,
        };
        for (d, dev) in self.devices.iter().enumerate() {
            if !self.has_updates[d] {
                continue;
            }
            match dev.state {
                DevState::Waiting => s.waiting += 1,
                DevState::InProgress => s.in_progress += 1,
                DevState::Patched => s.patched += 1,
                DevState::Failed => s.failed += 1,
            }
        }
        if self.samples.last().is_some_and(|last| last.t_h == s.t_h) {
            self.samples.pop();
        }
        self.samples.push(s);
    }
}

/// The variant name of an error's Debug output (`WrongAudience { .. }` → `WrongAudience`).
fn error_kind(debug: &str) -> String {
    debug
        .split([' ', '(', '{'])
        .next()
        .unwrap_or(debug)
        .to_string()
}

/// Time during which every member of a cell was down.
fn all_down(members: &[&[(Instant, Instant)]]) -> Duration {
    let Some((first, rest)) = members.split_first() else {
        return Duration::ZERO;
    };
    let mut common: Vec<(Instant, Instant)> = first.to_vec();
    for other in rest {
        let mut next = Vec::new();
        for &(a0, a1) in &common {
            for &(b0, b1) in other.iter() {
                let (s, e) = (a0.max(b0), a1.min(b1));
                if s < e {
                    next.push((s, e));
                }
            }
        }
        common = next;
    }
    common
        .iter()
        .fold(Duration::ZERO, |acc, (s, e)| acc + (*e - *s))
}

pub(super) fn report(engine: &mut Engine, info: RunInfo, end: Instant) -> RunReport {
    let m = &mut engine.metrics;
    let horizon_end = engine.end;
    let release = m.release;
    // Devices down at the end stay down until then.
    for dev in &mut m.devices {
        if let Some(since) = dev.down_since {
            dev.downtime.push((since, end));
        }
    }
    let with_updates: Vec<usize> = (0..m.devices.len())
        .filter(|d| !engine.rollout.plan(*d as u32).updates.is_empty())
        .collect();
    let n = with_updates.len() as u64;
    let mut patched: Vec<Instant> = with_updates
        .iter()
        .filter_map(|d| m.devices[*d].patched_at)
        .collect();
    patched.sort();
    let t_at = |share: f64| -> Option<f64> {
        if n == 0 {
            return Some(0.0);
        }
        let need = ((share * n as f64).ceil() as usize).max(1);
        patched.get(need - 1).map(|t| hours(*t - release))
    };
    let exposure: f64 = with_updates
        .iter()
        .map(|d| hours(m.devices[*d].patched_at.unwrap_or(horizon_end).max(release) - release))
        .sum();
    let mut downtime = Duration::ZERO;
    let mut max_down = Duration::ZERO;
    for dev in &m.devices {
        for (s, e) in &dev.downtime {
            downtime = downtime + (*e - *s);
            max_down = max_down.max(*e - *s);
        }
    }
    let mut cells: BTreeMap<u32, Vec<&[(Instant, Instant)]>> = BTreeMap::new();
    for (d, dev) in m.devices.iter().enumerate() {
        cells.entry(m.cell_of[d]).or_default().push(&dev.downtime);
    }
    let cell_down = cells
        .values()
        .fold(Duration::ZERO, |acc, members| acc + all_down(members));

    let run_time = end - engine.start;
    let load = |st: &super::Station| StationLoad {
        served: st.served,
        dropped: st.dropped,
        max_queue: st.max_queue,
        utilisation: if run_time.as_micros() == 0 {
            0.0
        } else {
            st.busy_time.as_micros() as f64 / (f64::from(st.capacity) * run_time.as_micros() as f64)
        },
    };
    let mut backend = BTreeMap::new();
    backend.insert(
        "authorization_server".to_string(),
        load(&engine.stations[0]),
    );
    backend.insert("repository".to_string(), load(&engine.stations[1]));

    let mut retransmissions = engine.um.stats().retransmissions
        + engine.auth.stats().retransmissions
        + engine.repo.stats().retransmissions;
    let mut blocks = engine.repo.blocks_served;
    for cache in engine.caches.iter().flatten() {
        retransmissions += cache.stats().retransmissions;
        blocks += cache.blocks_served;
    }
    for dev in &engine.devices {
        retransmissions += dev.node.coap_stats().retransmissions;
    }
    let patched_n = patched.len() as u64;
    RunReport {
        schema_version: icsim_reports::model::SCHEMA_VERSION,
        generator: format!("icsim {}", env!("CARGO_PKG_VERSION")),
        scenario: ScenarioInfo {
            name: info.name,
            sha256: info.sha256,
            epoch: info.epoch,
            horizon_h: info.horizon_h,
            release_h: info.release_h,
            policy: info.policy,
        },
        seed: info.seed,
        fleet: FleetInfo {
            devices: engine.devices.len() as u64,
            devices_to_update: n,
            sites: engine.sites.len() as u64,
            cells: cells.len() as u64,
            updates: m.update_names.len() as u64,
            device_updates: (0..engine.devices.len())
                .map(|d| engine.rollout.plan(d as u32).updates.len() as u64)
                .sum(),
        },
        completion: Completion {
            t50_h: t_at(0.5),
            t90_h: t_at(0.9),
            t99_h: t_at(0.99),
            t100_h: t_at(1.0),
            patched: patched_n,
            patch_times_h: patched.iter().map(|t| hours(*t - release)).collect(),
            patched_share: if n == 0 {
                1.0
            } else {
                patched_n as f64 / n as f64
            },
        },
        timeline: m.samples.clone(),
        impact: Impact {
            exposure_device_h: exposure,
            downtime_device_h: hours(downtime),
            downtime_cell_h: hours(cell_down),
            max_device_downtime_s: max_down.as_secs_f64(),
            reboots: m.reboots,
        },
        network: [Tier::Cell, Tier::Wan]
            .into_iter()
            .map(|tier| (tier.name().to_string(), m.tiers[tier as usize].clone()))
            .collect(),
        backend,
        crypto: m.crypto.clone(),
        protocol: ProtocolTotals {
            datagrams: m.datagrams,
            retransmissions,
            oscore_requests: engine.um.oscore_requests(),
            tokens_issued: engine.auth.server().tokens_issued(),
            rekeys: m.rekeys,
            retries: m.retries,
            blocks_served: blocks,
        },
        outcomes: m.outcomes.clone(),
        rejections: m.rejections.clone(),
        security: None,
        rollout: icsim_reports::model::RolloutStats {
            max_cell_down: m.max_cell_down,
            reboots_outside_window: m.reboots_outside_window,
            ..engine.rollout.stats.clone()
        },
        engine: EngineStats {
            events: engine.events,
            simulated_h: hours(end - engine.start),
            host_crypto: host_crypto(engine.memo.stats()),
        },
    }
}

/// The memo's counts as the report shows them.
fn host_crypto(s: icsim_protocol::memo::MemoStats) -> HostCrypto {
    let ops = |c: icsim_protocol::memo::OpCount| HostOps {
        executed: c.executed,
        reused: c.reused,
    };
    HostCrypto {
        cache: s.enabled,
        signature_verifications: ops(s.signature_verifications),
        payload_decryptions: ops(s.payload_decryptions),
        image_digests: ops(s.image_digests),
        payload_blocks: ops(s.payload_blocks),
    }
}
