//! The device (PLC) side of the update exchange: the resources of the update protocol, the
//! update state machine, A/B slots, reboots with self-test, commit or roll-back.
//!
//! The update state is consumed on every transition (`Idle -> AwaitKey -> Downloading ->
//! Staged -> Scheduled -> Installing -> (reboot) -> Committed | RolledBack`); a request
//! that does not fit the state is answered 4.09 Conflict. What survives a reboot is
//! [`DevicePersistent`]; everything else is rebuilt at boot.

mod persist;
mod resources;

use std::collections::BTreeMap;

use crate::fifo::Fifo;

use coap_lite::{Packet, ResponseType};
use rand_core::CryptoRng;

pub use persist::{DevicePersistent, LastOutcome, PersistedContext, SlotImage, Slots, StagedImage};

use super::wire::UpdatePhase;
use super::{Addr, CryptoWork, Node, msg};
use crate::ace::{AceError, TokenStore};
use crate::coap::{
    Block1Receiver, Block2Assembler, BlockSize, Endpoint, EndpointConfig, Event, IncomingId,
    OptionPrefix, RequestHandle, Transmit,
};
use crate::cose::Cek;
use crate::ids::ComponentId;
use crate::keys::PublicKey;
use crate::memo::{CryptoMemo, InternedBody};
use crate::oscore::{
    ContextParams, OscoreError, OscoreOptionValue, PersistentOscoreState, ResponseNonce,
    SecurityContext,
};
use crate::time::{Duration, Instant};
use crate::verify::{Defences, DeviceIdentity, Rejection, VerifiedEnvelope};

/// A device's fixed configuration.
#[derive(Debug, Clone)]
pub struct DeviceConfig {
    /// The device's ACE audience (its name at the AS).
    pub audience: String,
    /// Vendor and class, as SUIT conditions see them.
    pub identity: DeviceIdentity,
    /// The operator's public signing key: the only trust anchor.
    pub trust_anchor: PublicKey,
    /// The key shared with the AS at commissioning.
    pub as_key: [u8; 16],
    /// Preferred block size for block-wise transfers.
    pub block_size: BlockSize,
    /// CoAP endpoint configuration.
    pub coap: EndpointConfig,
    /// Time to write the new image into place before rebooting.
    pub install_duration: Duration,
    /// Time from reset until the application runs again.
    pub reboot_duration: Duration,
    /// Probability, in parts per million, that a new image fails its boot self-test.
    pub boot_failure_ppm: u32,
    /// Largest envelope accepted, in bytes.
    pub max_envelope: usize,
    /// Largest payload accepted, in bytes (further bounded by each manifest's size).
    pub max_payload: usize,
    /// How often a payload block request is retried after CoAP gives up.
    pub fetch_retries: u32,
    /// Which checks are on (all, except in ablation studies).
    pub defences: Defences,
}

/// What a device reports to the simulator.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum DeviceEvent {
    /// An access token was accepted at `authz-info`.
    TokenAccepted {
        /// The client.
        from: Addr,
    },
    /// An access token was refused.
    TokenRejected {
        /// The client.
        from: Addr,
        /// Why.
        error: AceError,
    },
    /// A request was refused for want of a valid token covering it.
    AccessDenied {
        /// The client.
        from: Addr,
        /// Why.
        error: AceError,
    },
    /// An OSCORE-protected request failed OSCORE processing (integrity, replay, unknown kid).
    OscoreRejected {
        /// The sender.
        from: Addr,
        /// Why.
        error: OscoreError,
    },
    /// An unprotected request for an update resource was refused (OSCORE required).
    UnprotectedRefused {
        /// The sender.
        from: Addr,
        /// The resource asked for.
        path: String,
    },
    /// The envelope passed every check.
    EnvelopeAccepted {
        /// The component.
        component: ComponentId,
        /// The sequence number offered.
        sequence: u64,
    },
    /// The update was rejected by a device check.
    UpdateRejected(Rejection),
    /// The payload could not be fetched.
    DownloadFailed(String),
    /// The verified image was written to the inactive slot.
    Staged {
        /// Its sequence number.
        sequence: u64,
        /// Bytes written to flash.
        bytes: u64,
    },
    /// An install was scheduled.
    InstallScheduled {
        /// When it starts.
        at: Instant,
    },
    /// The controlled process stops: the device resets.
    ProcessStopped,
    /// The device booted and the process runs again.
    ProcessStarted {
        /// Boots so far.
        boots: u64,
    },
    /// The new image passed its self-test and is committed.
    Committed {
        /// The component.
        component: ComponentId,
        /// Its new sequence number.
        sequence: u64,
    },
    /// The new image failed its self-test; the previous one runs again.
    RolledBack {
        /// The sequence number that failed.
        sequence: u64,
    },
    /// The device went back to its previous image on the operator's order.
    Reverted {
        /// The sequence number it left.
        sequence: u64,
    },
    /// Cryptographic work done (for virtual CPU time).
    Work(CryptoWork),
}

/// Why the device is rebooting, and what to do once it is up.
#[derive(Debug, Clone)]
enum Boot {
    /// Boot the staged image and self-test it.
    Install(StagedImage),
    /// Boot the previous image after a failed self-test.
    Rollback(u64),
    /// Boot the previous image on the operator's order.
    Revert(u64),
    /// A power cycle (or any reset not caused by an update).
    PowerCycle,
}

/// The update state; consumed on each transition.
#[derive(Debug)]
enum UpdateState {
    Idle,
    AwaitKey {
        envelope: Box<VerifiedEnvelope>,
    },
    Downloading {
        envelope: Box<VerifiedEnvelope>,
        cek: Option<Cek>,
        fetch: Option<Fetch>,
    },
    Staged(StagedImage),
    Scheduled {
        staged: StagedImage,
        at: Instant,
    },
    Installing {
        staged: StagedImage,
        until: Instant,
    },
    Reverting {
        component: ComponentId,
        before: Option<u64>,
        committed: u64,
    },
}

/// Who sent a request for an update resource.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Requester {
    /// A client with an OSCORE context: the context's Recipient ID (the request's kid),
    /// under which its access token is stored.
    Session(Vec<u8>),
    /// DANGER: an unprotected request, served only because an ablation (`oscore`, or
    /// `payload_encryption` for the key delivery) lets it through. There is no token; it is
    /// treated as one that grants everything.
    DangerUnprotected,
}

impl Requester {
    /// The key of the requester's uploads in progress (Recipient IDs are never empty).
    fn upload_key(&self) -> Vec<u8> {
        match self {
            Requester::Session(kid) => kid.clone(),
            Requester::DangerUnprotected => Vec::new(),
        }
    }
}

/// A payload fetch from a distribution point (plain CoAP, Block2).
#[derive(Debug)]
struct Fetch {
    source: Addr,
    /// The Uri-Path options of the payload's path, encoded once, not per block.
    path_options: OptionPrefix,
    assembler: Block2Assembler<InternedBody>,
    handle: Option<RequestHandle>,
    retries_left: u32,
}

/// The running part of a device: lost on every reboot.
struct Running {
    endpoint: Endpoint<Addr>,
    /// Security contexts by Recipient ID, boxed: a B-tree leaf has room for eleven
    /// values, and with a 240-byte context inline the one-entry map of a device took
    /// 2.9 KB (fleet-10k at 5,000 jobs in flight: 16 % of the memory).
    contexts: BTreeMap<Vec<u8>, Box<SecurityContext>>,
    uploads: BTreeMap<(Vec<u8>, &'static str), Block1Receiver>,
}

/// A PLC running the device side of the protocol.
pub struct Device<R> {
    config: DeviceConfig,
    persistent: DevicePersistent,
    tokens: TokenStore,
    rng: R,
    running: Option<Running>,
    down: Option<(Instant, Boot)>,
    update: UpdateState,
    events: Fifo<DeviceEvent>,
    coap_before: crate::coap::Stats,
    outbox: Fifo<Transmit<Addr>>,
    /// The run-wide memo of crypto results and payload blocks (disabled unless set).
    memo: CryptoMemo,
}

impl<R: CryptoRng> Device<R> {
    /// A device that boots at `now` from `persistent` state, drawing from its own `rng`.
    pub fn new(config: DeviceConfig, persistent: DevicePersistent, rng: R, now: Instant) -> Self {
        let tokens =
            TokenStore::new(config.audience.clone(), config.as_key).with_defences(config.defences);
        let mut device = Device {
            config,
            persistent,
            tokens,
            rng,
            running: None,
            down: None,
            update: UpdateState::Idle,
            events: Fifo::new(),
            coap_before: crate::coap::Stats::default(),
            outbox: Fifo::new(),
            memo: CryptoMemo::disabled(),
        };
        device.boot(now);
        device
    }

    /// Share `memo` for this device's verifications and payload blocks (a simulator shares
    /// one across a fleet; see [`crate::memo`]). Results are the same either way.
    pub fn set_crypto_memo(&mut self, memo: CryptoMemo) {
        self.memo = memo;
    }

    /// The next event.
    pub fn poll_event(&mut self) -> Option<DeviceEvent> {
        self.events.pop_front()
    }

    /// What survives a reboot.
    pub fn persistent(&self) -> &DevicePersistent {
        &self.persistent
    }

    /// The device's configuration.
    pub fn config(&self) -> &DeviceConfig {
        &self.config
    }

    /// Whether the controlled process runs (false while rebooting).
    pub fn is_up(&self) -> bool {
        self.running.is_some()
    }

    /// The phase of the current or last update.
    pub fn phase(&self) -> UpdatePhase {
        match &self.update {
            UpdateState::Idle => self
                .persistent
                .last_outcome
                .as_ref()
                .map_or(UpdatePhase::Idle, |o| o.phase),
            UpdateState::AwaitKey { .. } => UpdatePhase::AwaitKey,
            UpdateState::Downloading { .. } => UpdatePhase::Downloading,
            UpdateState::Staged(_) => UpdatePhase::Staged,
            UpdateState::Scheduled { .. }
            | UpdateState::Installing { .. }
            | UpdateState::Reverting { .. } => UpdatePhase::Installing,
        }
    }

    /// CoAP counters over the device's whole life (all boots).
    pub fn coap_stats(&self) -> crate::coap::Stats {
        let mut total = self.coap_before;
        if let Some(r) = &self.running {
            total.accumulate(r.endpoint.stats());
        }
        total
    }

    /// Cut the power now: RAM is lost, the device reboots into its active image.
    pub fn power_cycle(&mut self, now: Instant) {
        self.reset(now, Boot::PowerCycle);
    }

    /// A planned reset: write every context's exact state (no margin) to flash, so that
    /// the UM can go on with the same context after the reboot.
    fn save_contexts_for_shutdown(&mut self) {
        let Some(running) = &self.running else {
            return;
        };
        for (rid, ctx) in &running.contexts {
            if let Some(saved) = self.persistent.oscore.get_mut(rid) {
                saved.state = ctx.shutdown_state();
            }
        }
    }

    fn reset(&mut self, now: Instant, why: Boot) {
        if let Some(mut running) = self.running.take() {
            // A planned reset lets the network stack flush what the device already
            // answered; a power cut loses it.
            if !matches!(why, Boot::PowerCycle) {
                while let Some(t) = running.endpoint.poll_transmit() {
                    self.outbox.push_back(t);
                }
            }
            self.coap_before.accumulate(running.endpoint.stats());
            self.events.push_back(DeviceEvent::ProcessStopped);
        }
        self.update = UpdateState::Idle;
        self.down = Some((now + self.config.reboot_duration, why));
    }

    fn boot(&mut self, now: Instant) {
        self.persistent.boots += 1;
        let mut endpoint = Endpoint::new(self.config.coap.clone(), &mut self.rng);
        // Restore every persisted context: the sender starts at its high-water mark and the
        // replay window refuses everything below the persisted mark (Appendix B.1).
        let mut contexts = BTreeMap::new();
        for (rid, saved) in &self.persistent.oscore {
            if let Ok(ctx) = self.context(&saved.params, Some(&saved.state)) {
                contexts.insert(rid.clone(), Box::new(ctx));
            }
        }
        endpoint.handle_timeout(now);
        self.running = Some(Running {
            endpoint,
            contexts,
            uploads: BTreeMap::new(),
        });
        self.events.push_back(DeviceEvent::ProcessStarted {
            boots: self.persistent.boots,
        });
    }

    /// A security context derived from `params` (restored from `state` after a reboot),
    /// with the replay check as the defences say.
    fn context(
        &self,
        params: &ContextParams,
        state: Option<&PersistentOscoreState>,
    ) -> Result<SecurityContext, OscoreError> {
        let mut ctx = match state {
            Some(state) => SecurityContext::restore(params, state)?,
            None => SecurityContext::derive(params)?,
        };
        if !self.config.defences.replay_window {
            ctx.danger_disable_replay_protection();
        }
        Ok(ctx)
    }

    fn work(&mut self, work: CryptoWork) {
        if !work.is_empty() {
            self.events.push_back(DeviceEvent::Work(work));
        }
    }

    fn process(&mut self, now: Instant) {
        while let Some(event) = self.running.as_mut().and_then(|r| r.endpoint.poll_event()) {
            match event {
                Event::RequestReceived { id, from, request } => {
                    self.on_request(now, id, from, request.to_packet())
                }
                Event::ResponseReceived {
                    handle, response, ..
                } => self.on_fetch_response(now, handle, response),
                Event::RequestFailed { handle, .. } => self.on_fetch_failed(now, handle),
                _ => {}
            }
        }
    }

    fn respond(&mut self, now: Instant, id: IncomingId, response: Packet) {
        if let Some(running) = self.running.as_mut() {
            // Fails only for an unknown id or an oversize response; neither can happen for
            // a request just delivered and the small responses built here.
            let _ = running.endpoint.respond(now, &mut self.rng, id, response);
        }
    }

    fn on_request(&mut self, now: Instant, id: IncomingId, from: Addr, request: Packet) {
        if msg::is_oscore(&request) {
            self.on_protected(now, id, from, request);
            return;
        }
        let path = msg::path(&request).unwrap_or_default();
        let reply = if path == super::wire::PATH_AUTHZ_INFO
            && msg::method(&request) == Some(coap_lite::RequestType::Post)
        {
            self.on_authz_info(now, from, &request.payload)
        } else if path.starts_with("suit") && self.serves_unprotected(&path) {
            self.dispatch(now, from, &Requester::DangerUnprotected, request)
        } else if path.starts_with("suit") {
            // Update resources exist only under OSCORE.
            self.events
                .push_back(DeviceEvent::UnprotectedRefused { from, path });
            msg::response(ResponseType::Unauthorized, Vec::new())
        } else {
            msg::response(ResponseType::NotFound, Vec::new())
        };
        self.respond(now, id, reply);
    }

    /// Whether an unprotected request for the update resource `path` is served: never,
    /// unless an ablation switches OSCORE off for it.
    fn serves_unprotected(&self, path: &str) -> bool {
        let defences = &self.config.defences;
        // DANGER(ablation: oscore)
        if !defences.oscore {
            return true;
        }
        path == super::wire::PATH_CEK && super::wire::danger_cek_in_clear(defences)
    }

    fn on_authz_info(&mut self, now: Instant, from: Addr, body: &[u8]) -> Packet {
        match self.tokens.handle_authz_info(now, body, &mut self.rng) {
            Ok(accepted) => {
                let mut gone: Vec<Vec<u8>> = accepted
                    .evicted
                    .iter()
                    .map(|t| t.server_recipient_id.clone())
                    .collect();
                gone.extend(
                    accepted
                        .replaced
                        .iter()
                        .map(|t| t.server_recipient_id.clone()),
                );
                let derived = self.context(&accepted.context, None);
                let Some(running) = self.running.as_mut() else {
                    return msg::response(ResponseType::ServiceUnavailable, Vec::new());
                };
                for rid in gone {
                    running.contexts.remove(&rid);
                    self.persistent.oscore.remove(&rid);
                }
                let rid = accepted.token.server_recipient_id.clone();
                match derived {
                    Ok(mut ctx) => {
                        let state = ctx
                            .take_checkpoint()
                            .unwrap_or_else(|| ctx.persistent_state());
                        self.persistent.oscore.insert(
                            rid.clone(),
                            Box::new(PersistedContext {
                                params: accepted.context.clone(),
                                state,
                            }),
                        );
                        running.contexts.insert(rid, Box::new(ctx));
                    }
                    Err(_) => return msg::response(ResponseType::BadRequest, Vec::new()),
                }
                self.events.push_back(DeviceEvent::TokenAccepted { from });
                self.work(CryptoWork {
                    aes_bytes: body.len() as u64,
                    hkdf: 3,
                    ..CryptoWork::default()
                });
                msg::response(ResponseType::Created, accepted.response.encode())
            }
            Err(error) => {
                let code = error.response_code().unwrap_or(ResponseType::BadRequest);
                self.events
                    .push_back(DeviceEvent::TokenRejected { from, error });
                msg::response(code, Vec::new())
            }
        }
    }

    fn on_protected(&mut self, now: Instant, id: IncomingId, from: Addr, request: Packet) {
        let kid = request
            .get_option(coap_lite::CoapOption::Oscore)
            .and_then(|values| values.front())
            .and_then(|value| OscoreOptionValue::decode(value).ok())
            .and_then(|opt| opt.kid);
        let Some(running) = self.running.as_mut() else {
            return;
        };
        let Some((kid, ctx)) = kid.and_then(|k| running.contexts.get_mut(&k).map(|c| (k, c)))
        else {
            let error = OscoreError::UnknownKid(Vec::new());
            self.events
                .push_back(DeviceEvent::OscoreRejected { from, error });
            self.respond(
                now,
                id,
                msg::response(ResponseType::Unauthorized, Vec::new()),
            );
            return;
        };
        let (inner, binding) = match ctx.unprotect_request(&request) {
            Ok(ok) => ok,
            Err(error) => {
                let code = error.error_response().unwrap_or(ResponseType::BadRequest);
                self.events
                    .push_back(DeviceEvent::OscoreRejected { from, error });
                self.respond(now, id, msg::response(code, Vec::new()));
                return;
            }
        };
        if let Some(state) = ctx.take_checkpoint()
            && let Some(saved) = self.persistent.oscore.get_mut(&kid)
        {
            saved.state = state;
        }
        let mut work = CryptoWork {
            aes_bytes: request.payload.len() as u64,
            ..CryptoWork::default()
        };
        let inner_reply = self.dispatch(now, from, &Requester::Session(kid.clone()), inner);
        work.aes_bytes += inner_reply.payload.len() as u64;
        self.work(work);
        let Some(ctx) = self.running.as_mut().and_then(|r| r.contexts.get_mut(&kid)) else {
            return;
        };
        let reply = match ctx.protect_response(&inner_reply, &binding, ResponseNonce::Reuse) {
            Ok(p) => p,
            Err(_) => msg::response(ResponseType::InternalServerError, Vec::new()),
        };
        if let Some(state) = ctx.take_checkpoint()
            && let Some(saved) = self.persistent.oscore.get_mut(&kid)
        {
            saved.state = state;
        }
        self.respond(now, id, reply);
    }
}

impl<R: CryptoRng> Node for Device<R> {
    fn handle_datagram(&mut self, now: Instant, from: Addr, bytes: &[u8]) {
        self.handle_datagram_owned(now, from, bytes.to_vec());
    }

    fn handle_datagram_owned(&mut self, now: Instant, from: Addr, bytes: Vec<u8>) {
        let Some(running) = self.running.as_mut() else {
            return; // rebooting: nobody listens
        };
        running.endpoint.handle_datagram_owned(now, from, bytes);
        self.process(now);
    }

    fn handle_timeout(&mut self, now: Instant) {
        if let Some((until, _)) = &self.down
            && *until <= now
            && let Some((_, why)) = self.down.take()
        {
            self.boot(now);
            self.after_boot(now, why);
        }
        self.advance_update(now);
        if let Some(running) = self.running.as_mut() {
            running.endpoint.handle_timeout(now);
        }
        self.process(now);
    }

    fn poll_transmit(&mut self) -> Option<Transmit<Addr>> {
        if let Some(t) = self.outbox.pop_front() {
            return Some(t);
        }
        self.running.as_mut()?.endpoint.poll_transmit()
    }

    fn poll_timeout(&self) -> Option<Instant> {
        let update = match &self.update {
            UpdateState::Scheduled { at, .. } => Some(*at),
            UpdateState::Installing { until, .. } => Some(*until),
            // Runs at the next call, once the acknowledgement is out.
            UpdateState::Reverting { .. } => self.running.as_ref().map(|_| Instant::UNIX_EPOCH),
            _ => None,
        };
        let endpoint = self
            .running
            .as_ref()
            .and_then(|r| r.endpoint.poll_timeout());
        let down = self.down.as_ref().map(|(t, _)| *t);
        // The earliest of the three, without an iterator: the engine asks after every
        // datagram a device handles.
        let earliest = |a: Option<Instant>, b: Option<Instant>| match (a, b) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        earliest(earliest(update, endpoint), down)
    }
}
