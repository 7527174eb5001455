//! The attacker models of `../shared/ATTACKS.md` and the accounting of their attempts.
//!
//! Attackers act on the real bytes of the simulated network (on-path rules on a site's
//! links, a tampering cache, an eavesdropper that keeps every byte it sees), as real
//! protocol parties (a rogue client with its own authorization server, an off-path prober),
//! or as real protocol objects (crafted envelopes and payloads built with the protocol
//! crate and a stolen or foreign key). Every attempt ends as blocked, by the check that
//! stopped it, or as succeeded, with what it achieved. Each attacker draws from its own
//! random stream.

use std::collections::{BTreeMap, BTreeSet};

use icsim_protocol::exchange::{Addr, DeviceEvent, Outcome};
use icsim_protocol::time::{Duration, Instant};
use icsim_reports::model::AttackOutcome;
use rand_chacha::ChaCha20Rng;
use rand_core::Rng;

/// The catalogue: id, the defence switches expected to stop it, what success means.
pub(crate) const CATALOGUE: [(&str, &[&str], &str); 20] = [
    (
        "ATK-FORGE",
        &["author_signature"],
        "a forged update approved and installed",
    ),
    (
        "ATK-TAMPER",
        &["payload_digest"],
        "an altered image installed",
    ),
    (
        "ATK-WRONG",
        &["payload_digest"],
        "an image other than the manifest's installed",
    ),
    (
        "ATK-ROLLBACK",
        &["anti_rollback"],
        "an older image installed",
    ),
    (
        "ATK-EXPIRED-APPROVAL",
        &["approval_window"],
        "an update installed after its approval expired",
    ),
    (
        "ATK-INCOMPAT",
        &["device_match"],
        "an image for another device class installed",
    ),
    (
        "ATK-UNAPPROVED",
        &["operator_approval"],
        "an update the operator never approved installed",
    ),
    (
        "ATK-SCOPE",
        &["author_scope"],
        "an update outside its author's scope installed",
    ),
    (
        "ATK-STOLEN-KEY",
        &["operator_approval"],
        "a malicious update signed with a stolen key installed",
    ),
    (
        "ATK-MIX",
        &["dependencies"],
        "an application installed without the library it needs",
    ),
    (
        "ATK-ENDLESS",
        &["payload_size"],
        "a device downloaded more than the manifest announces",
    ),
    (
        "ATK-EAVES",
        &["payload_encryption"],
        "firmware plaintext or a content key disclosed",
    ),
    (
        "ATK-TOKEN-AUD",
        &["token_audience"],
        "a token for another device accepted",
    ),
    (
        "ATK-TOKEN-EXPIRED",
        &["token_expiry"],
        "an expired token accepted",
    ),
    (
        "ATK-TOKEN-SCOPE",
        &["token_scope"],
        "firmware installed with an app:install token",
    ),
    (
        "ATK-OSCORE-REPLAY",
        &["replay_window"],
        "a replayed request processed",
    ),
    (
        "ATK-OFFPATH",
        &["oscore"],
        "an unprotected request to an update resource served",
    ),
    (
        "ATK-SLOW",
        &["device_timeout"],
        "a device held in a trickled transfer for longer than the per-device timeout",
    ),
    (
        "ATK-DROP",
        &["retries"],
        "a device left unpatched by dropped requests",
    ),
    (
        "ATK-FLOOD",
        &["rate_limit"],
        "legitimate requests refused or delayed by a flood",
    ),
];

/// Attacks whose crafted envelopes a device judges on its own, outside the rollout.
pub(crate) fn probes(id: &str) -> bool {
    matches!(
        id,
        "ATK-ROLLBACK" | "ATK-EXPIRED-APPROVAL" | "ATK-INCOMPAT" | "ATK-UNAPPROVED" | "ATK-MIX"
    )
}

/// The catalogue entry of `id`.
pub(crate) fn entry(id: &str) -> Option<(&'static str, &'static [&'static str], &'static str)> {
    CATALOGUE.iter().copied().find(|(i, _, _)| *i == id)
}

/// The tally of one attack.
#[derive(Debug, Clone, Default)]
pub(crate) struct Tally {
    pub(crate) attempts: u64,
    pub(crate) blocked: BTreeMap<String, u64>,
    pub(crate) succeeded: u64,
    pub(crate) notes: Vec<String>,
}

impl Tally {
    pub(crate) fn block(&mut self, by: &str) {
        *self.blocked.entry(by.to_string()).or_default() += 1;
    }
}

/// An on-path attacker on a site's links.
#[derive(Debug)]
pub(crate) struct OnPath {
    pub(crate) attack: &'static str,
    pub(crate) site: u32,
    pub(crate) start: Instant,
    pub(crate) probability: f64,
    pub(crate) attempts_left: u32,
    pub(crate) rng: ChaCha20Rng,
}

impl OnPath {
    pub(crate) fn roll(&mut self) -> bool {
        let draw = (self.rng.next_u64() >> 11) as f64 / (1u64 << 53) as f64;
        draw < self.probability
    }
}

/// What an on-path attacker does with a datagram.
pub(crate) enum PathAction {
    Pass,
    Drop,
    Delay(Duration),
    Alter,
    /// Deliver it, and the same request again later with a new message id.
    ReplayLater(Duration),
}

/// Every attack's state and tallies.
#[derive(Debug, Default)]
pub(crate) struct Attacks {
    pub(crate) tallies: BTreeMap<&'static str, Tally>,
    pub(crate) on_path: Vec<OnPath>,
    /// Attack templates: template index → attack id.
    pub(crate) templates: BTreeMap<usize, &'static str>,
    /// The genuine image digest per template (to tell a tampered install).
    pub(crate) genuine_digest: BTreeMap<usize, Vec<u8>>,
    /// The distributed payload size per template (to tell an endless download).
    pub(crate) payload_size: BTreeMap<usize, u64>,
    /// Devices that received a tampered block or a wrong/endless payload: device → attack.
    pub(crate) payload_targets: BTreeMap<u32, &'static str>,
    /// Replays injected and waiting for the device's verdict: device → still open.
    pub(crate) replay_open: BTreeMap<u32, bool>,
    /// Rogue clients' addresses → attack.
    pub(crate) rogue: BTreeMap<Addr, &'static str>,
    /// Prober address.
    pub(crate) prober: Option<Addr>,
    /// Eavesdropper: the sites it listens at, and what it kept.
    pub(crate) eaves_sites: BTreeSet<u32>,
    pub(crate) eaves_bytes: Vec<u8>,
    /// Secrets to look for: CEKs and 64-byte windows of plaintext images.
    pub(crate) secrets: Vec<(&'static str, Vec<u8>)>,
    /// Devices whose session a timeout ended (SLOW's block).
    pub(crate) timed_out: BTreeSet<u32>,
    /// OSCORE-REPLAY: the injected bytes per device, and the devices already judged.
    pub(crate) replay_bytes: BTreeMap<u32, Vec<u8>>,
    pub(crate) replay_settled: BTreeSet<u32>,
    /// DROP and SLOW: the devices whose transfers they touched.
    pub(crate) dropped_for: BTreeSet<u32>,
    /// SLOW: per device, when its first and its last block were held back.
    pub(crate) slowed: BTreeMap<u32, (Instant, Instant)>,
    /// SLOW: the per-device timeout of the scenario (whether or not the switch is on): a
    /// device held back for longer than this is one the attacker kept past it.
    pub(crate) slow_bound: Duration,
    /// FLOOD: flood requests refused by the rate limit.
    pub(crate) flood_limited: u64,
}

impl Attacks {
    pub(crate) fn tally(&mut self, id: &'static str) -> &mut Tally {
        self.tallies.entry(id).or_default()
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.tallies.is_empty()
    }

    /// An event of device `d`: token and OSCORE verdicts for rogue clients and replays.
    pub(crate) fn device_event(&mut self, d: u32, event: &DeviceEvent) {
        match event {
            DeviceEvent::TokenAccepted { from } => {
                if let Some(id) = self.rogue.get(from).copied()
                    && id != "ATK-TOKEN-SCOPE"
                {
                    self.tally(id).succeeded += 1;
                }
            }
            DeviceEvent::TokenRejected { from, error } => {
                if let Some(id) = self.rogue.get(from).copied() {
                    let by = match error {
                        icsim_protocol::ace::AceError::WrongAudience { .. } => "token_audience",
                        icsim_protocol::ace::AceError::Expired { .. } => "token_expiry",
                        icsim_protocol::ace::AceError::TokenUndecryptable => "token_undecryptable",
                        _ => "token_rejected",
                    };
                    self.tally(id).block(by);
                }
            }
            DeviceEvent::UnprotectedRefused { from, .. } if Some(*from) == self.prober => {
                self.tally("ATK-OFFPATH").block("oscore");
            }
            DeviceEvent::OscoreRejected { error, .. } => {
                if let Some(open) = self.replay_open.get_mut(&d)
                    && *open
                {
                    *open = false;
                    let by = match error {
                        icsim_protocol::oscore::OscoreError::Replay { .. } => "replay_window",
                        // The context it was captured under is gone (re-keyed): OSCORE.
                        _ => "oscore",
                    };
                    self.tally("ATK-OSCORE-REPLAY").block(by);
                }
            }
            _ => {}
        }
    }

    /// A replay injected at device `d` was processed: blocked if the device rejected it.
    pub(crate) fn settle_replay(&mut self, d: u32) {
        if let Some(open) = self.replay_open.remove(&d)
            && open
        {
            self.tally("ATK-OSCORE-REPLAY").succeeded += 1;
        }
    }

    /// A session with an attack template ended at device `d` (the device's own checks ran).
    pub(crate) fn template_outcome(&mut self, id: &'static str, outcome: &Outcome) {
        let t = self.tally(id);
        t.attempts += 1;
        match outcome {
            Outcome::Committed => t.succeeded += 1,
            Outcome::Rejected(reason) => t.block(reason),
            other => t.block(&format!("{other:?}").to_lowercase()),
        }
    }

    /// A genuine session ended at a device that received an altered, wrong or endless
    /// payload: blocked by the device's check, or succeeded if it installed something other
    /// than the genuine image (`installed` is the digest it committed, if it committed).
    pub(crate) fn payload_outcome(
        &mut self,
        d: u32,
        outcome: &Outcome,
        altered_install: bool,
        overdownload: bool,
    ) {
        let Some(id) = self.payload_targets.remove(&d) else {
            return;
        };
        let t = self.tally(id);
        t.attempts += 1;
        let success = match id {
            "ATK-ENDLESS" => overdownload,
            _ => altered_install,
        };
        if success {
            t.succeeded += 1;
            return;
        }
        match outcome {
            Outcome::Rejected(reason) => t.block(reason),
            _ => t.block("payload_digest"),
        }
    }

    /// The report's security section.
    pub(crate) fn outcomes(&mut self) -> Vec<AttackOutcome> {
        // The eavesdropper's verdict: what of the secrets is in what it kept.
        if !self.eaves_sites.is_empty() {
            let mut found: Vec<&str> = self
                .secrets
                .iter()
                .filter(|(_, secret)| contains(&self.eaves_bytes, secret))
                .map(|(what, _)| *what)
                .collect();
            // A captured content key opens every payload block captured with it (AES-GCM
            // is counter mode underneath): the firmware is disclosed too.
            let key_found = found.contains(&"content key");
            if key_found {
                let firmware = self
                    .secrets
                    .iter()
                    .filter(|(w, _)| *w == "firmware plaintext")
                    .count();
                let already = found.iter().filter(|w| **w == "firmware plaintext").count();
                found.extend(std::iter::repeat_n(
                    "firmware plaintext (decrypted with the captured key)",
                    firmware.saturating_sub(already),
                ));
            }
            let t = self.tallies.entry("ATK-EAVES").or_default();
            t.attempts = self.secrets.len() as u64;
            t.succeeded = found.len() as u64;
            let blocked = t.attempts - t.succeeded;
            if blocked > 0 {
                t.blocked.insert("payload_encryption".into(), blocked);
            }
            t.notes.push(format!(
                "{} bytes captured; found: {}",
                self.eaves_bytes.len(),
                if found.is_empty() {
                    "nothing".to_string()
                } else {
                    found.join(", ")
                }
            ));
        }
        let mut out = Vec::new();
        for (id, defences, effect) in CATALOGUE {
            let Some(t) = self.tallies.get(id) else {
                continue;
            };
            let mut effect = effect.to_string();
            for n in &t.notes {
                effect.push_str("; ");
                effect.push_str(n);
            }
            out.push(AttackOutcome {
                attack: id.to_string(),
                defences: defences.iter().map(|d| d.to_string()).collect(),
                attempts: t.attempts,
                blocked: t.blocked.clone(),
                succeeded: t.succeeded,
                effect,
            });
        }
        out
    }
}

/// Whether `needle` occurs in `haystack`.
pub(crate) fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    !needle.is_empty() && haystack.windows(needle.len()).any(|w| w == needle)
}
