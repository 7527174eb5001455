//! The scenario file format: what a user writes (JSON). Every field is documented here and
//! in `docs/scenario.md`; [`super::load_file`] parses and validates a file and names the
//! JSON path of any bad value. Units are in the field names (`_ms`, `_s`, `_h`, `_kib`,
//! `_kbit_s`).

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// A whole scenario: the fleet, its network, the updates and how they are rolled out.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    /// A short name for reports.
    pub name: String,
    /// Free text describing the scenario.
    #[serde(default)]
    pub description: String,
    /// The base seed of every random stream of the run.
    pub seed: u64,
    /// When simulated time starts, RFC 3339 (e.g. `2026-11-26T00:00:00Z`): tokens,
    /// credentials and approvals carry real times from here.
    pub epoch: String,
    /// How long to simulate, in hours.
    pub horizon_h: f64,
    /// The operator's backend: Update Manager, Authorization Server, repository.
    pub backend: Backend,
    /// The kinds of PLC in the fleet.
    pub device_classes: Vec<DeviceClass>,
    /// The sites (plants, substations), their links and their PLCs.
    pub sites: Vec<Site>,
    /// The authors of updates and what the operator lets each produce.
    pub authors: Vec<Author>,
    /// The updates to roll out, in order.
    pub updates: Vec<Update>,
    /// How the updates are rolled out.
    pub rollout: Rollout,
    /// Named rollout policies: `rollout.policy` picks one for `icsim run`; `icsim compare`
    /// runs several on the same fleet and seeds.
    #[serde(default)]
    pub policies: Vec<Policy>,
    /// Defence switches of ATTACKS.md by name (e.g. `"anti_rollback": false`), all on
    /// unless listed here as `false`; only ablation studies turn one off.
    #[serde(default)]
    pub defences: std::collections::BTreeMap<String, bool>,
    /// Attackers (ATTACKS.md ids), each with its position and timing.
    #[serde(default)]
    pub attackers: Vec<Attacker>,
    /// Report settings.
    #[serde(default)]
    pub report: ReportSettings,
}

/// The operator's backend systems.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Backend {
    /// The Update Manager.
    #[serde(default)]
    pub update_manager: UmSettings,
    /// The ACE Authorization Server: a service station.
    pub authorization_server: Station,
    /// The update repository: a service station.
    pub repository: Station,
}

/// Update Manager settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct UmSettings {
    /// How often the UM polls a device's status while it downloads or installs, seconds.
    #[serde(default = "default_poll_interval_s")]
    pub poll_interval_s: f64,
    /// Unanswered requests per step before a device's session fails.
    #[serde(default = "default_max_attempts")]
    pub max_attempts: u32,
    /// Lifetime of the access tokens the AS issues, hours.
    #[serde(default = "default_token_lifetime_h")]
    pub token_lifetime_h: f64,
}

impl Default for UmSettings {
    fn default() -> Self {
        UmSettings {
            poll_interval_s: default_poll_interval_s(),
            max_attempts: default_max_attempts(),
            token_lifetime_h: default_token_lifetime_h(),
        }
    }
}

fn default_poll_interval_s() -> f64 {
    10.0
}
fn default_max_attempts() -> u32 {
    4
}
fn default_token_lifetime_h() -> f64 {
    24.0
}

/// A server modelled as a queueing station: `capacity` requests in service at once, each
/// taking `service_time_ms`, at most `queue_limit` waiting (more are dropped).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Station {
    /// Time to serve one request, milliseconds.
    pub service_time_ms: f64,
    /// Requests served in parallel (at least 1).
    pub capacity: u32,
    /// Requests that may wait; beyond it they are dropped.
    pub queue_limit: u32,
}

/// A kind of PLC: its identity as SUIT sees it, its CPU, flash and boot behaviour.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DeviceClass {
    /// The name other fields refer to.
    pub name: String,
    /// Where the default figures come from (data sheets, benchmarks).
    #[serde(default)]
    pub source: String,
    /// SUIT vendor id (UUID).
    pub vendor_id: String,
    /// SUIT class id (UUID).
    pub class_id: String,
    /// Virtual CPU cost of cryptography.
    pub cpu: CpuProfile,
    /// Flash write rate, KiB per second.
    pub flash_write_kib_s: f64,
    /// Time to install a staged image before the reboot, seconds.
    pub install_s: f64,
    /// Time from reset until the application runs again, seconds.
    pub reboot_s: f64,
    /// Probability that a new image fails its boot self-test (then it rolls back).
    pub boot_failure_prob: f64,
    /// Block size for block-wise transfers, bytes: a power of two from 16 to 1024.
    pub block_size: u32,
}

/// Virtual time charged for cryptographic operations on a device.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CpuProfile {
    /// One ECDSA P-256 signature verification, milliseconds.
    pub ecdsa_verify_ms: f64,
    /// One ECDH P-256 key agreement, milliseconds.
    pub ecdh_ms: f64,
    /// One HKDF-SHA-256 derivation, microseconds.
    pub hkdf_us: f64,
    /// AES (GCM/CCM) throughput, KiB per second.
    pub aes_kib_s: f64,
    /// SHA-256 throughput, KiB per second.
    pub sha256_kib_s: f64,
}

/// A site: a plant or substation behind one WAN link, with its PLCs on a cell network.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Site {
    /// The site's name.
    pub name: String,
    /// Local time offset from UTC, hours (for maintenance windows).
    #[serde(default)]
    pub utc_offset_h: f64,
    /// The daily maintenance window, in site local time.
    #[serde(default)]
    pub maintenance_window: Option<Window>,
    /// The link from the backend to the site gateway.
    pub wan: Link,
    /// The network from the gateway to the PLCs.
    pub cell: Link,
    /// Whether the gateway runs a cache that serves the encrypted payloads.
    #[serde(default)]
    pub cache: bool,
    /// Scheduled link outages.
    #[serde(default)]
    pub outages: Vec<Outage>,
    /// The PLCs of the site.
    pub devices: Vec<DeviceGroup>,
    /// Whether all PLCs of the site share one key with the AS (a provisioning shortcut:
    /// a token for one PLC then decrypts at every PLC of the site, and only the audience
    /// check tells them apart).
    #[serde(default)]
    pub group_as_key: bool,
}

/// An attacker of the catalogue (`../shared/ATTACKS.md`) placed in the scenario.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Attacker {
    /// The attack id, e.g. `ATK-TAMPER`.
    pub attack: String,
    /// The site it acts at (its links, cache, cell network or PLCs); default the first site.
    #[serde(default)]
    pub site: Option<String>,
    /// When it starts, hours after the release.
    #[serde(default)]
    pub start_h: f64,
    /// How many attempts it makes (targets, datagrams, forged updates...), at least 1.
    #[serde(default = "one")]
    pub attempts: u32,
    /// For on-path attacks: the probability of acting on each eligible datagram.
    #[serde(default = "one_f")]
    pub probability: f64,
}

fn one_f() -> f64 {
    1.0
}

/// A daily window.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Window {
    /// Local start time, `HH:MM`.
    pub start: String,
    /// Length, hours (more than 0, at most 24).
    pub duration_h: f64,
}

/// A group of identical PLCs at a site.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DeviceGroup {
    /// The device class (a name from `device_classes`).
    pub class: String,
    /// How many.
    pub count: u32,
    /// Size of the redundancy cells the group forms (1: no redundancy; 2: pairs, ...):
    /// the process of a cell stops only while all its PLCs are down.
    #[serde(default = "one")]
    pub redundancy: u32,
}

fn one() -> u32 {
    1
}

/// A network link (both directions alike).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Link {
    /// One-way latency.
    pub latency: Latency,
    /// Bandwidth per direction, kbit/s.
    pub bandwidth_kbit_s: f64,
    /// Packets that may wait per direction before tail drop.
    pub queue_packets: u32,
    /// Largest datagram carried, bytes.
    pub mtu: u32,
    /// Loss model.
    #[serde(default)]
    pub loss: Loss,
    /// Whether all PLCs of the site share one medium (e.g. a serial radio), rather than
    /// each having its own link (switched Ethernet). Only for cell links.
    #[serde(default)]
    pub shared: bool,
}

/// One-way latency distribution.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Latency {
    /// Always the same.
    Fixed {
        /// Milliseconds.
        ms: f64,
    },
    /// Uniform between two bounds.
    Uniform {
        /// Lower bound, milliseconds.
        min_ms: f64,
        /// Upper bound, milliseconds.
        max_ms: f64,
    },
    /// Normal, truncated at zero.
    Normal {
        /// Mean, milliseconds.
        mean_ms: f64,
        /// Standard deviation, milliseconds.
        std_ms: f64,
    },
    /// Log-normal.
    LogNormal {
        /// Median, milliseconds.
        median_ms: f64,
        /// Shape (standard deviation of the logarithm).
        sigma: f64,
    },
}

/// Packet loss model.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Loss {
    /// No loss.
    #[default]
    None,
    /// Independent loss with probability `p`.
    Bernoulli {
        /// Loss probability, in [0, 1].
        p: f64,
    },
    /// Bursty loss: a two-state Markov chain (Gilbert-Elliott).
    GilbertElliott {
        /// Probability of moving from the good to the bad state, per packet.
        p_good_to_bad: f64,
        /// Probability of moving from the bad to the good state, per packet.
        p_bad_to_good: f64,
        /// Loss probability in the good state.
        loss_good: f64,
        /// Loss probability in the bad state.
        loss_bad: f64,
    },
}

/// A scheduled outage of one of a site's links.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Outage {
    /// Which link.
    pub link: LinkTier,
    /// Start, hours after the epoch.
    pub start_h: f64,
    /// Length, hours.
    pub duration_h: f64,
}

/// A link tier.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum LinkTier {
    /// Backend to site gateway.
    Wan,
    /// Gateway to PLCs.
    Cell,
}

/// An author of updates and its delegated scope.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Author {
    /// The name updates refer to.
    pub name: String,
    /// Update types the operator lets it produce: `firmware`, `application`, `library`.
    pub types: Vec<String>,
}

/// One update.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Update {
    /// The name other updates refer to.
    pub name: String,
    /// `firmware`, `application` or `library`.
    #[serde(rename = "type")]
    pub update_type: String,
    /// The author (a name from `authors`).
    pub author: String,
    /// The component it replaces.
    pub component: String,
    /// Image size, KiB.
    pub size_kib: f64,
    /// The new sequence number.
    pub sequence: u64,
    /// The sequence number installed on the fleet before the rollout.
    pub installed_sequence: u64,
    /// The device classes it is for (names from `device_classes`).
    pub classes: Vec<String>,
    /// Updates that must be installed first (names from `updates`).
    #[serde(default)]
    pub depends: Vec<String>,
}

/// How updates are rolled out.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Rollout {
    /// The policy: `all_at_once` (every device, at most `concurrency` transferring at a
    /// time) or the name of one of `policies`.
    #[serde(default = "default_policy")]
    pub policy: String,
    /// Devices updated at the same time.
    pub concurrency: u32,
    /// When a staged image is installed.
    #[serde(default)]
    pub install: InstallTiming,
    /// How payloads reach devices.
    #[serde(default)]
    pub delivery: DeliveryMode,
    /// When the updates are released (the rollout starts), hours after the epoch.
    #[serde(default)]
    pub release_h: f64,
    /// How often a device's update is tried again after it rolled back or its session
    /// failed (a rejection by a device check is final).
    #[serde(default = "default_retries")]
    pub retries: u32,
    /// At most this many PLCs of one redundancy cell installing (and so rebooting) at once
    /// (as Kubernetes' maxUnavailable); none: no limit.
    #[serde(default)]
    pub cell_budget: Option<u32>,
    /// Stop the rollout when too many devices fail, and revert those that installed.
    #[serde(default)]
    pub abort: Option<Abort>,
    /// Operator approval gate: hours between the release and the first device.
    #[serde(default)]
    pub approval_delay_h: f64,
    /// A device's session is cancelled (and retried) after this many hours.
    #[serde(default = "default_device_timeout_h")]
    pub device_timeout_h: f64,
}

fn default_device_timeout_h() -> f64 {
    24.0
}

/// An abort criterion (AWS IoT Jobs' abort config, hawkBit's error threshold).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Abort {
    /// Abort when more than this percentage of the devices whose update ended have failed
    /// (rolled back, rejected or failed), in [0, 100].
    pub failure_pct: f64,
    /// ... but only once at least this many devices' updates have ended.
    pub min_executed: u32,
}

/// A named rollout policy: a strategy and the common knobs it overrides.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Policy {
    /// The name `rollout.policy` and `icsim compare --policy` use.
    pub name: String,
    /// What it does, for reports.
    #[serde(default)]
    pub description: String,
    /// Which devices start when.
    pub strategy: Strategy,
    /// Overrides `rollout.concurrency` (transfers at once).
    #[serde(default)]
    pub concurrency: Option<u32>,
    /// Overrides `rollout.install`.
    #[serde(default)]
    pub install: Option<InstallTiming>,
    /// Overrides `rollout.cell_budget`.
    #[serde(default)]
    pub cell_budget: Option<u32>,
    /// Overrides `rollout.abort`.
    #[serde(default)]
    pub abort: Option<Abort>,
    /// Overrides `rollout.approval_delay_h`.
    #[serde(default)]
    pub approval_delay_h: Option<f64>,
    /// Overrides `rollout.retries`.
    #[serde(default)]
    pub retries: Option<u32>,
    /// Overrides `rollout.device_timeout_h`.
    #[serde(default)]
    pub device_timeout_h: Option<f64>,
}

/// Which devices start when. Devices are taken in fleet order (sites in file order).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Strategy {
    /// Every device at once, up to the concurrency limit.
    AllAtOnce,
    /// Fixed batches: the next batch starts when the previous one has ended, after a pause.
    Batches {
        /// Devices per batch.
        size: u32,
        /// Pause between batches, hours.
        pause_h: f64,
    },
    /// Phases (as Mender): each phase opens a cumulative share of the fleet after a delay.
    Phases {
        /// The phases, in order.
        phases: Vec<Phase>,
    },
    /// Canary then exponential ramp (as AWS IoT Jobs' rollout config).
    CanaryRamp {
        /// Devices in the canary group.
        canary: u32,
        /// Time the canary must run without failure before the ramp, hours.
        bake_h: f64,
        /// Starts per minute at the beginning of the ramp.
        base_rate_per_min: f64,
        /// Factor the rate grows by at each increase.
        increment_factor: f64,
        /// Increase the rate after this many more devices succeeded.
        increase_after_succeeded: u32,
        /// Upper bound of the rate, starts per minute.
        max_rate_per_min: f64,
    },
    /// Groups with success and error thresholds (as hawkBit's rollout groups).
    Groups {
        /// Devices per group.
        group_size: u32,
        /// Share of a group that must succeed before the next group, percent.
        success_threshold_pct: f64,
        /// Share of a group whose failure aborts the rollout, percent.
        error_threshold_pct: f64,
        /// Modelled operator approval between groups, hours (0: automatic).
        approval_delay_h: f64,
    },
    /// Site after site, at most `parallel_sites` sites in progress at once.
    PerSite {
        /// Sites in progress at once.
        parallel_sites: u32,
    },
}

/// One phase.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Phase {
    /// The share of the fleet that may have started once this phase opens, percent
    /// (cumulative, non-decreasing, the last one 100).
    pub percent: f64,
    /// Delay after the previous phase opened, hours (the first: after the release).
    pub delay_h: f64,
}

fn default_retries() -> u32 {
    2
}

fn default_policy() -> String {
    "all_at_once".into()
}

/// When to install.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum InstallTiming {
    /// As soon as the image is staged.
    #[default]
    Immediate,
    /// At the start of the site's next maintenance window.
    Window,
}

/// How payloads reach devices.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum DeliveryMode {
    /// Devices fetch from the site cache if there is one, else from the repository.
    #[default]
    Fetch,
    /// The UM pushes the payload over OSCORE.
    Push,
}

/// Report settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ReportSettings {
    /// Interval of the fleet-state time series, seconds.
    #[serde(default = "default_sample_s")]
    pub sample_interval_s: f64,
}

impl Default for ReportSettings {
    fn default() -> Self {
        ReportSettings {
            sample_interval_s: default_sample_s(),
        }
    }
}

fn default_sample_s() -> f64 {
    60.0
}
