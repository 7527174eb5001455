//! The report model: everything `report.json` holds, as plain data. Maps are `BTreeMap` and
//! every list has a defined order, so the same run gives the same bytes.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// The version of the `report.json` schema.
pub const SCHEMA_VERSION: u32 = 1;

/// The report of one run of one scenario.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunReport {
    /// Schema version ([`SCHEMA_VERSION`]).
    pub schema_version: u32,
    /// The tool that wrote it.
    pub generator: String,
    /// The scenario.
    pub scenario: ScenarioInfo,
    /// The seed of this run.
    pub seed: u64,
    /// The fleet.
    pub fleet: FleetInfo,
    /// Completion times.
    pub completion: Completion,
    /// Fleet state over time.
    pub timeline: Vec<Sample>,
    /// Exposure and downtime.
    pub impact: Impact,
    /// Traffic per link tier.
    pub network: BTreeMap<String, TierTraffic>,
    /// Load on the backend stations.
    pub backend: BTreeMap<String, StationLoad>,
    /// Cryptographic work and device CPU time.
    pub crypto: CryptoTotals,
    /// Protocol message counts.
    pub protocol: ProtocolTotals,
    /// Final outcome counts per update (update name → outcome → devices).
    pub outcomes: BTreeMap<String, BTreeMap<String, u64>>,
    /// Rejections and refusals by reason code.
    pub rejections: BTreeMap<String, u64>,
    /// How the rollout policy behaved.
    pub rollout: RolloutStats,
    /// Attack attempts and outcomes, when the scenario has attackers.
    pub security: Option<SecurityReport>,
    /// Engine statistics (simulated events).
    pub engine: EngineStats,
}

/// What was simulated.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScenarioInfo {
    /// Its name.
    pub name: String,
    /// SHA-256 of the scenario as loaded (canonical JSON), hex.
    pub sha256: String,
    /// The epoch (RFC 3339).
    pub epoch: String,
    /// The horizon, hours.
    pub horizon_h: f64,
    /// When the rollout started, hours after the epoch.
    pub release_h: f64,
    /// The rollout policy.
    pub policy: String,
}

/// The fleet's size.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FleetInfo {
    /// Devices.
    pub devices: u64,
    /// Devices that at least one update is for (the fleet the completion figures and the
    /// timeline count).
    pub devices_to_update: u64,
    /// Sites.
    pub sites: u64,
    /// Redundancy cells.
    pub cells: u64,
    /// Updates in the rollout.
    pub updates: u64,
    /// Device updates to carry out (device × applicable update).
    pub device_updates: u64,
}

/// Time from release until a share of the fleet was patched (every applicable update
/// committed), hours; `None` if never within the horizon.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Completion {
    /// 50 %.
    pub t50_h: Option<f64>,
    /// 90 %.
    pub t90_h: Option<f64>,
    /// 99 %.
    pub t99_h: Option<f64>,
    /// 100 %.
    pub t100_h: Option<f64>,
    /// Devices patched at the end.
    pub patched: u64,
    /// When each patched device was patched, hours after the release, ascending (for the
    /// completion-time CDF).
    pub patch_times_h: Vec<f64>,
    /// Share of the fleet patched at the end.
    pub patched_share: f64,
}

/// The fleet at one instant.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Sample {
    /// Hours after the release.
    pub t_h: f64,
    /// Devices with every update committed.
    pub patched: u64,
    /// Devices with an update in progress.
    pub in_progress: u64,
    /// Devices not started yet.
    pub waiting: u64,
    /// Devices whose update ended without success (rejected, rolled back, failed).
    pub failed: u64,
    /// Devices down (rebooting) at this instant.
    pub down: u64,
}

/// Exposure and process downtime.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Impact {
    /// Device-hours spent running the vulnerable version after the release (to the
    /// horizon for devices never patched).
    pub exposure_device_h: f64,
    /// Device-hours of process downtime (rebooting).
    pub downtime_device_h: f64,
    /// Cell-hours during which every PLC of a redundancy cell was down at once.
    pub downtime_cell_h: f64,
    /// The longest single device downtime, seconds.
    pub max_device_downtime_s: f64,
    /// Reboots.
    pub reboots: u64,
}

/// Traffic on one link tier.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct TierTraffic {
    /// Datagrams offered to links of this tier.
    pub datagrams: u64,
    /// Their bytes.
    pub bytes: u64,
    /// Dropped by loss.
    pub lost: u64,
    /// Dropped because a queue was full.
    pub queue_drops: u64,
    /// Dropped during outages.
    pub outage_drops: u64,
    /// Dropped for exceeding the MTU.
    pub mtu_drops: u64,
}

/// Load on a backend station.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct StationLoad {
    /// Requests served.
    pub served: u64,
    /// Requests dropped (queue full).
    pub dropped: u64,
    /// Longest queue seen.
    pub max_queue: u64,
    /// Utilisation over the run (busy server-time / (capacity × run time)).
    pub utilisation: f64,
}

/// Cryptographic operations and device CPU time.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct CryptoTotals {
    /// ECDSA signature verifications on devices.
    pub device_signature_verifications: u64,
    /// Payload decryptions on devices (successful and failed).
    pub device_payload_decryptions: u64,
    /// HKDF derivations on devices.
    pub device_hkdf: u64,
    /// Bytes through AES on devices.
    pub device_aes_bytes: u64,
    /// Bytes through SHA-256 on devices.
    pub device_sha256_bytes: u64,
    /// Virtual device CPU time for cryptography, seconds (sum over devices).
    pub device_cpu_s: f64,
    /// HKDF derivations at the UM.
    pub um_hkdf: u64,
    /// Bytes through AES at the UM.
    pub um_aes_bytes: u64,
}

/// Protocol message counts.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ProtocolTotals {
    /// Datagrams sent by all nodes.
    pub datagrams: u64,
    /// CoAP retransmissions.
    pub retransmissions: u64,
    /// OSCORE-protected requests the UM sent.
    pub oscore_requests: u64,
    /// Access tokens issued.
    pub tokens_issued: u64,
    /// Re-keys after device reboots.
    pub rekeys: u64,
    /// Device updates tried again after a rollback or a failed session.
    pub retries: u64,
    /// Payload blocks served by the repository and caches.
    pub blocks_served: u64,
}

/// Engine statistics.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct EngineStats {
    /// Events processed.
    pub events: u64,
    /// Simulated time at the end, hours after the epoch.
    pub simulated_h: f64,
    /// Cryptography on the simulating host: operations executed and reused from the
    /// run's memo. (What the devices pay in simulated CPU time is in `crypto`, the same
    /// either way.)
    #[serde(default)]
    pub host_crypto: HostCrypto,
}

/// Operations on the simulating host: computed, or answered from the run's memo.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct HostOps {
    /// Computed for real.
    pub executed: u64,
    /// Reused: the very same inputs were computed before in this run.
    pub reused: u64,
}

/// The simulating host's cryptography in a run (`icsim run --no-crypto-cache` turns reuse
/// off).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct HostCrypto {
    /// Whether results were reused.
    pub cache: bool,
    /// ES256 signature verifications.
    pub signature_verifications: HostOps,
    /// Payload decryptions.
    pub payload_decryptions: HostOps,
    /// SHA-256 digests of whole images.
    pub image_digests: HostOps,
    /// Payload blocks received by devices: stored as new buffers (`executed`) or shared
    /// with an equal block already held (`reused`); shared with the cache off too.
    pub payload_blocks: HostOps,
}

/// How the rollout policy behaved: the figures its rules are checked against.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RolloutStats {
    /// The policy's name.
    pub policy: String,
    /// When the abort criterion stopped the rollout, hours after the release.
    pub aborted_at_h: Option<f64>,
    /// Devices whose update was started.
    pub devices_started: u64,
    /// Devices never started (the rollout was aborted, or did not get to them).
    pub devices_never_started: u64,
    /// Devices ordered back to their previous image after an abort.
    pub reverted: u64,
    /// Most devices with an update in progress at once.
    pub max_in_progress: u64,
    /// Most PLCs of one redundancy cell down at once.
    pub max_cell_down: u64,
    /// Reboots to install an update that began outside the site's maintenance window.
    pub reboots_outside_window: u64,
    /// Sessions cancelled by the per-device timeout.
    pub timeouts: u64,
}

/// The security section: which defences were off, and how every attack ended.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SecurityReport {
    /// Defence switches turned off in this run (ablation).
    pub defences_off: Vec<String>,
    /// One entry per attack of the scenario, in catalogue order.
    pub attacks: Vec<AttackOutcome>,
}

/// How one attack ended.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct AttackOutcome {
    /// The catalogue id (`ATK-...`).
    pub attack: String,
    /// The defence switch(es) expected to stop it.
    pub defences: Vec<String>,
    /// Attempts made.
    pub attempts: u64,
    /// Attempts blocked, by the check that stopped them.
    pub blocked: BTreeMap<String, u64>,
    /// Attempts that succeeded.
    pub succeeded: u64,
    /// What success means for this attack, and what it achieved in this run.
    pub effect: String,
}
