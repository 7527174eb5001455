//! Where the attacker models touch the engine: on-path rules on a site's links, the
//! replayed requests, the rogue clients' sessions, the per-source rate limit of the
//! backend stations, and the verdicts of attacks that are judged at the end of a run.

use icsim_protocol::exchange::{Addr, Outcome, UmEvent};
use icsim_protocol::time::{Duration, Instant};

use super::attacks::PathAction;
use super::{Engine, NodeId, REPO_ADDR, node_of};

/// A rate limit per source at the backend stations: a token bucket of this many requests
/// per second with a burst of as many.
const RATE_PER_SOURCE: f64 = 400.0;

impl Engine {
    fn is_distribution_point(addr: Addr) -> bool {
        addr == REPO_ADDR || matches!(node_of(addr), Some(NodeId::Cache(_)))
    }

    /// Let the on-path attackers of `site` see (and act on) a datagram.
    pub(super) fn on_path(
        &mut self,
        now: Instant,
        cell: bool,
        site: u32,
        from: Addr,
        to: Addr,
        bytes: &mut [u8],
    ) -> PathAction {
        let mut action = PathAction::Pass;
        let device_to = match node_of(to) {
            Some(NodeId::Device(d)) => Some(d),
            _ => None,
        };
        let device_from = match node_of(from) {
            Some(NodeId::Device(d)) => Some(d),
            _ => None,
        };
        for i in 0..self.attacks.on_path.len() {
            let a = &mut self.attacks.on_path[i];
            if a.site != site || now < a.start {
                continue;
            }
            match a.attack {
                "ATK-EAVES" if self.attacks.eaves_bytes.len() < 64 << 20 => {
                    self.attacks.eaves_bytes.extend_from_slice(bytes);
                }
                "ATK-ENDLESS" => {
                    if let Some(d) = device_to
                        && matches!(node_of(from), Some(NodeId::Cache(_)))
                    {
                        *self.payload_bytes.entry(d).or_default() += bytes.len() as u64;
                    }
                }
                "ATK-TAMPER" => {
                    if let Some(d) = device_to
                        && cell
                        && Self::is_distribution_point(from)
                        && bytes.len() > 200
                        && a.attempts_left > 0
                        && !self.attacks.payload_targets.contains_key(&d)
                        && a.roll()
                    {
                        a.attempts_left -= 1;
                        let last = bytes.len() - 1;
                        bytes[last] ^= 0x01;
                        self.attacks.payload_targets.insert(d, "ATK-TAMPER");
                        action = PathAction::Alter;
                    }
                }
                "ATK-OSCORE-REPLAY" => {
                    if let Some(d) = device_to
                        && cell
                        && from == super::UM_ADDR
                        && a.attempts_left > 0
                        && !self.attacks.replay_bytes.contains_key(&d)
                        && icsim_protocol::coap::Packet::from_bytes(bytes).is_ok_and(|p| {
                            p.get_option(icsim_protocol::coap::CoapOption::Oscore)
                                .is_some()
                        })
                        && a.roll()
                    {
                        a.attempts_left -= 1;
                        let mut again = bytes.to_vec();
                        again[2] ^= 0x5a;
                        self.attacks.replay_bytes.insert(d, again);
                        self.attacks.tally("ATK-OSCORE-REPLAY").attempts += 1;
                        action = PathAction::ReplayLater(Duration::from_secs(2));
                    }
                }
                "ATK-DROP" => {
                    let eligible = device_from.is_some() && Self::is_distribution_point(to);
                    if eligible && a.roll() {
                        if let Some(d) = device_from {
                            self.attacks.dropped_for.insert(d);
                        }
                        return PathAction::Drop;
                    }
                }
                "ATK-SLOW" => {
                    // A slow cache: each payload block trickles out just within CoAP's patience.
                    if let Some(d) = device_to
                        && matches!(node_of(from), Some(NodeId::Cache(_)))
                        && bytes.len() > 200
                    {
                        self.attacks
                            .slowed
                            .entry(d)
                            .and_modify(|span| span.1 = now)
                            .or_insert((now, now));
                        return PathAction::Delay(Duration::from_secs(55));
                    }
                }
                _ => {}
            }
        }
        action
    }

    /// A replay was handled by device `d`: it succeeded if the device was up and raised no
    /// OSCORE rejection for it (it processed the request again).
    pub(super) fn finish_replay(&mut self, d: u32) {
        let up = self.devices[d as usize].node.is_up();
        if let Some(open) = self.attacks.replay_open.get_mut(&d)
            && *open
            && !up
        {
            // Nobody listened: not processed.
            *open = false;
            self.attacks.tally("ATK-OSCORE-REPLAY").block("device_down");
        }
        self.attacks.settle_replay(d);
    }

    /// A datagram reached device `d`: if it is an injected replay, open its verdict.
    pub(super) fn replay_arriving(&mut self, d: u32, bytes: &[u8]) -> bool {
        match self.attacks.replay_bytes.get(&d) {
            Some(b) if b.as_slice() == bytes && !self.attacks.replay_settled.contains(&d) => {
                self.attacks.replay_settled.insert(d);
                self.attacks.replay_open.insert(d, true);
                true
            }
            _ => false,
        }
    }

    /// The per-source rate limit of the backend stations (defence `rate_limit`): whether a
    /// request from `from` is refused now.
    pub(super) fn rate_limited(&mut self, now: Instant, from: Addr) -> bool {
        if !self.rate_limit {
            return false;
        }
        let (tokens, last) = self.buckets.entry(from).or_insert((RATE_PER_SOURCE, now));
        let elapsed = (now - *last).as_micros() as f64 / 1e6;
        *tokens = (*tokens + elapsed * RATE_PER_SOURCE).min(RATE_PER_SOURCE);
        *last = now;
        if *tokens >= 1.0 {
            *tokens -= 1.0;
            false
        } else {
            true
        }
    }

    /// Start the rogue clients whose time has come.
    pub(super) fn rogue_start(&mut self, now: Instant, i: u32) {
        let Some(r) = self.rogues.get_mut(i as usize) else {
            return;
        };
        let target = super::addr_of(NodeId::Device(r.target));
        let job = std::sync::Arc::clone(&r.job);
        let audience = r.audience.clone();
        r.um.start(now, target, &audience, job);
        let attack = r.attack;
        if attack != "ATK-TOKEN-SCOPE" {
            self.attacks.tally(attack).attempts += 1;
        }
        self.after(now, NodeId::RogueUm(i));
    }

    /// Events of a rogue client: how its session ended.
    pub(super) fn drain_rogue(&mut self, i: u32) {
        let Some(r) = self.rogues.get_mut(i as usize) else {
            return;
        };
        let attack = r.attack;
        let mut ended = Vec::new();
        while let Some(e) = r.um.poll_event() {
            if let UmEvent::Finished { outcome, .. } = e {
                ended.push(outcome);
            }
        }
        for outcome in ended {
            if attack == "ATK-TOKEN-SCOPE" {
                self.attacks.template_outcome(attack, &outcome);
            } else if !matches!(outcome, Outcome::Committed)
                && self.attacks.tally(attack).blocked.is_empty()
                && self.attacks.tally(attack).succeeded == 0
            {
                // The token exchange ended without a verdict from the device (unreachable).
                self.attacks.tally(attack).block("no_answer");
            }
        }
    }

    /// The verdicts judged at the end of a run: dropped and slowed transfers, the prober.
    pub(super) fn settle_attacks(&mut self) {
        let patched = |e: &Engine, d: u32| e.metrics_patched(d);
        for d in std::mem::take(&mut self.attacks.dropped_for) {
            let ok = patched(self, d);
            let t = self.attacks.tally("ATK-DROP");
            t.attempts += 1;
            if ok {
                t.block("retries")
            } else {
                t.succeeded += 1
            }
        }
        let bound = self.attacks.slow_bound;
        for (d, (first, last)) in std::mem::take(&mut self.attacks.slowed) {
            // Cut off by the per-device timeout (then retried from the repository), or held
            // in the trickle longer than the timeout allows.
            let timed_out = self.attacks.timed_out.contains(&d);
            let held_past_timeout = last - first > bound;
            let t = self.attacks.tally("ATK-SLOW");
            t.attempts += 1;
            if timed_out || !held_past_timeout {
                t.block("device_timeout")
            } else {
                t.succeeded += 1
            }
        }
        if let Some((p, _)) = &self.prober {
            let (served, attempts) = (p.served, p.attempts());
            let t = self.attacks.tally("ATK-OFFPATH");
            t.attempts = attempts;
            t.succeeded = served;
        }
        if let Some((f, _)) = &self.flooder {
            let sent = f.sent;
            let refused = self.stations[0].dropped_legit;
            let delayed = self.stations[0].slow_legit;
            let limited = self.attacks.flood_limited;
            let t = self.attacks.tally("ATK-FLOOD");
            t.attempts = sent;
            t.succeeded = refused + delayed;
            if limited > 0 {
                t.blocked.insert("rate_limit".into(), limited);
            }
            // The rest went through the limit and was absorbed by the bounded queue (served
            // or dropped) without costing a legitimate request: blocked too. Successes are
            // counted in harmed legitimate requests, so the sum is approximate when any.
            let absorbed = sent
                .saturating_sub(limited)
                .saturating_sub(refused + delayed);
            if absorbed > 0 {
                t.blocked.insert("bounded_queue".into(), absorbed);
            }
            t.notes.push(format!(
                "{refused} legitimate AS requests refused, {delayed} delayed over 10 s"
            ));
        }
    }
}
