//! The operator's Update Manager: one session per device, each walking the exchange of
//! the module documentation (token, authz-info, envelope, key, payload, install, status),
//! with re-keying after a device reboot and restarts when a device lost its update state.

mod session;

use std::collections::{BTreeMap, BTreeSet};

use crate::fifo::Fifo;
use std::sync::Arc;

use coap_lite::Packet;
use rand_core::CryptoRng;

use super::wire::Delivery;
use super::{Addr, CryptoWork, Node};
use crate::coap::{
    BlockSize, Endpoint, EndpointConfig, Event, Reliability, RequestHandle, Stats, Transmit,
};
use crate::cose::Cek;
use crate::ids::UpdateType;
use crate::oscore::{RequestBinding, SecurityContext};
use crate::time::{Duration, Instant};
use crate::verify::Defences;

use session::{Session, Step};

/// The UM's configuration.
#[derive(Debug, Clone)]
pub struct UmConfig {
    /// The Authorization Server.
    pub auth_server: Addr,
    /// CoAP endpoint configuration.
    pub coap: EndpointConfig,
    /// Block size for envelope and payload pushes.
    pub block_size: BlockSize,
    /// How often to poll a device's status while it downloads or installs.
    pub poll_interval: Duration,
    /// How many requests of one step may fail (no answer) before the session fails.
    pub max_attempts: u32,
    /// While polling a device that downloads or installs, how long it may stay silent
    /// before the session fails (a busy shared radio or a reboot delays answers).
    pub status_patience: Duration,
    /// How often a session may start again from the envelope (device lost its state) or
    /// re-key (device rebooted) before it fails.
    pub max_restarts: u32,
    /// When a device refuses the envelope as a rollback, ask its status whether this very
    /// update is installed already (an earlier session went on after its answer was lost)
    /// and count that as committed. A client that must not take credit for another's
    /// install (the simulator's rogue clients) turns it off.
    pub confirm_after_rollback: bool,
    /// The defences the UM takes part in (all on; off only in ablation studies): with
    /// `payload_encryption` off it sends the key delivery without OSCORE.
    pub defences: Defences,
}

impl Default for UmConfig {
    fn default() -> Self {
        UmConfig {
            auth_server: Addr(0),
            // The UM talks to a whole fleet at once: room for a request to every device.
            coap: EndpointConfig {
                max_outstanding_requests: 1 << 20,
                max_pending_requests: 1 << 16,
                max_dedup_entries: 1 << 20,
                ..EndpointConfig::default()
            },
            block_size: BlockSize::from_bytes(1024)
                .unwrap_or(BlockSize::from_szx(6).expect("SZX 6 is 1024 bytes")),
            poll_interval: Duration::from_secs(5),
            max_attempts: 4,
            status_patience: Duration::from_secs(2 * 3600),
            max_restarts: 6,
            confirm_after_rollback: true,
            defences: Defences::default(),
        }
    }
}

/// One update to carry to one device.
#[derive(Debug, Clone)]
pub struct UpdateJob {
    /// The approved envelope (shared, not copied per device).
    pub envelope: Arc<[u8]>,
    /// The update type (decides the token scope asked for).
    pub update_type: UpdateType,
    /// The sequence number it installs.
    pub sequence: u64,
    /// The CEK the UM unwrapped (absent for an unencrypted payload).
    pub cek: Option<Cek>,
    /// How the payload comes.
    pub delivery: Delivery,
    /// The payload's path at the distribution point.
    pub path: String,
    /// The payload to push (push delivery only).
    pub payload: Option<Arc<[u8]>>,
    /// When the device is to install the staged image.
    pub install: InstallTiming,
    /// Install the update, or revert a device that committed it.
    pub kind: JobKind,
}

/// What a job does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum JobKind {
    /// Carry the update to the device and install it.
    #[default]
    Install,
    /// Order the device back to the image it ran before this update (an aborted rollout).
    Revert,
}

/// When a device installs a staged image.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InstallTiming {
    /// At once.
    Immediate,
    /// At this time (Unix seconds), or at once if it has passed.
    At(u64),
    /// When the rollout says so: the session waits after staging until
    /// [`UpdateManager::command_install`] (e.g. to keep a redundancy cell's availability).
    OnCommand,
    /// In a daily window: `start_s` seconds after UTC midnight, lasting `duration_s`. If the
    /// image is staged inside a window, at once; otherwise at the next window's start.
    DailyWindow {
        /// Start, seconds after 00:00 UTC.
        start_s: u64,
        /// Length, seconds.
        duration_s: u64,
    },
}

impl InstallTiming {
    /// The install time to command at `now` (Unix seconds), `None` meaning at once.
    pub fn at(self, now: u64) -> Option<u64> {
        match self {
            InstallTiming::Immediate | InstallTiming::OnCommand => None,
            InstallTiming::At(t) => (t > now).then_some(t),
            InstallTiming::DailyWindow {
                start_s,
                duration_s,
            } => {
                let day = 86_400;
                let today = now - now % day + start_s % day;
                let open = |s: u64| now >= s && now < s.saturating_add(duration_s);
                if open(today) || (today >= day && open(today - day)) {
                    None
                } else if today > now {
                    Some(today)
                } else {
                    Some(today + day)
                }
            }
        }
    }
}

/// How an update of one device ended.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Outcome {
    /// Installed, self-tested and committed.
    Committed,
    /// Installed but rolled back after a failed self-test.
    RolledBack,
    /// The device (or the AS) refused it, with this reason code.
    Rejected(String),
    /// The session gave up (device unreachable, too many restarts, protocol error).
    Failed(String),
    /// The rollout cancelled the session before the device installed.
    Cancelled,
    /// The device went back to its previous image on the operator's order.
    Reverted,
}

/// What the UM reports.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum UmEvent {
    /// A session moved to a new step.
    Step {
        /// The device.
        device: Addr,
        /// The step's name.
        step: &'static str,
    },
    /// The UM posted its token again to get a fresh context (device rebooted or lost it).
    Rekeyed {
        /// The device.
        device: Addr,
    },
    /// A device staged its image and waits for [`UpdateManager::command_install`]
    /// ([`InstallTiming::OnCommand`]).
    Staged {
        /// The device.
        device: Addr,
    },
    /// A session ended.
    Finished {
        /// The device.
        device: Addr,
        /// How.
        outcome: Outcome,
    },
    /// Cryptographic work the UM did.
    Work(CryptoWork),
}

/// The Update Manager.
pub struct UpdateManager<R> {
    config: UmConfig,
    rng: R,
    endpoint: Endpoint<Addr>,
    sessions: BTreeMap<Addr, Session>,
    pending: BTreeMap<RequestHandle, (Addr, Option<RequestBinding>, u64)>,
    generation: u64,
    polls: BTreeSet<(Instant, Addr)>,
    events: Fifo<UmEvent>,
    oscore_requests: u64,
}

impl<R: CryptoRng> UpdateManager<R> {
    /// A UM with its own random stream.
    pub fn new(config: UmConfig, mut rng: R) -> Self {
        UpdateManager {
            endpoint: Endpoint::new(config.coap.clone(), &mut rng),
            config,
            rng,
            sessions: BTreeMap::new(),
            pending: BTreeMap::new(),
            generation: 0,
            polls: BTreeSet::new(),
            events: Fifo::new(),
            oscore_requests: 0,
        }
    }

    /// Start updating `device` (ACE audience `audience`) with `job`. A session already
    /// running for the device is replaced.
    pub fn start(&mut self, now: Instant, device: Addr, audience: &str, job: Arc<UpdateJob>) {
        self.generation += 1;
        let mut session = Session::new(audience.to_string(), job);
        session.generation = self.generation;
        self.sessions.insert(device, session);
        self.send(now, device);
    }

    /// Let a device whose session waits after staging install now, or at `at` (Unix
    /// seconds). Ignored for a device that is not waiting.
    pub fn command_install(&mut self, now: Instant, device: Addr, at: Option<u64>) {
        if let Some(s) = self.sessions.get_mut(&device)
            && matches!(s.step, Step::Held)
        {
            s.commanded_at = Some(at);
            self.set_step(device, Step::Install);
            self.send(now, device);
        }
    }

    /// Stop the session with `device` (the rollout was aborted). A device that has not
    /// installed yet keeps running its current image.
    pub fn cancel(&mut self, device: Addr) {
        self.finish(device, Outcome::Cancelled);
    }

    /// Whether a session for `device` is running.
    pub fn is_active(&self, device: Addr) -> bool {
        self.sessions.get(&device).is_some_and(|s| !s.is_done())
    }

    /// The next event.
    pub fn poll_event(&mut self) -> Option<UmEvent> {
        self.events.pop_front()
    }

    /// CoAP counters.
    pub fn stats(&self) -> &Stats {
        self.endpoint.stats()
    }

    /// OSCORE-protected requests sent so far (new requests, not CoAP retransmissions).
    pub fn oscore_requests(&self) -> u64 {
        self.oscore_requests
    }

    fn process(&mut self, now: Instant) {
        while let Some(event) = self.endpoint.poll_event() {
            match event {
                Event::ResponseReceived {
                    handle, response, ..
                } => {
                    // A response to an earlier session's request is of no use to the current one.
                    if let Some((device, binding, sent_in)) = self.pending.remove(&handle)
                        && self
                            .sessions
                            .get(&device)
                            .is_some_and(|s| s.generation == sent_in)
                    {
                        self.on_response(now, device, binding, response.to_packet());
                    }
                }
                Event::RequestFailed { handle, .. } => {
                    if let Some((device, _, sent_in)) = self.pending.remove(&handle)
                        && self
                            .sessions
                            .get(&device)
                            .is_some_and(|s| s.generation == sent_in)
                    {
                        self.on_no_answer(now, device);
                    }
                }
                _ => {}
            }
        }
    }

    /// Send a plain request for `device`'s session.
    fn send_plain(&mut self, now: Instant, device: Addr, to: Addr, request: Packet) {
        match self
            .endpoint
            .send_request(now, &mut self.rng, to, request, Reliability::Confirmable)
        {
            Ok(handle) => {
                let generation = self.sessions.get(&device).map_or(0, |s| s.generation);
                self.pending.insert(handle, (device, None, generation));
            }
            Err(e) => self.finish(device, Outcome::Failed(format!("cannot send: {e}"))),
        }
    }

    /// Protect `inner` with the session's context and send it.
    fn send_protected(&mut self, now: Instant, device: Addr, inner: Packet) {
        let Some(ctx) = self
            .sessions
            .get_mut(&device)
            .and_then(|s| s.context.as_mut())
        else {
            self.finish(device, Outcome::Failed("no security context".into()));
            return;
        };
        let protected = ctx.protect_request(&inner);
        let (outer, binding) = match protected {
            Ok(ok) => ok,
            Err(e) => {
                self.finish(device, Outcome::Failed(format!("OSCORE: {e}")));
                return;
            }
        };
        self.work(CryptoWork {
            aes_bytes: inner.payload.len() as u64,
            ..CryptoWork::default()
        });
        self.oscore_requests += 1;
        match self.endpoint.send_request(
            now,
            &mut self.rng,
            device,
            outer,
            Reliability::Confirmable,
        ) {
            Ok(handle) => {
                let generation = self.sessions.get(&device).map_or(0, |s| s.generation);
                self.pending
                    .insert(handle, (device, Some(binding), generation));
            }
            Err(e) => self.finish(device, Outcome::Failed(format!("cannot send: {e}"))),
        }
    }

    fn work(&mut self, work: CryptoWork) {
        if !work.is_empty() {
            self.events.push_back(UmEvent::Work(work));
        }
    }

    fn schedule_poll(&mut self, now: Instant, device: Addr) {
        self.polls.insert((now + self.config.poll_interval, device));
    }

    fn set_step(&mut self, device: Addr, step: Step) {
        if let Some(s) = self.sessions.get_mut(&device) {
            self.events.push_back(UmEvent::Step {
                device,
                step: step.name(),
            });
            s.step = step;
            s.attempts = 0;
        }
    }

    fn finish(&mut self, device: Addr, outcome: Outcome) {
        if let Some(s) = self.sessions.get_mut(&device)
            && !s.is_done()
        {
            s.step = Step::Done;
            self.events.push_back(UmEvent::Finished { device, outcome });
        }
    }

    fn derive(&mut self, device: Addr, params: &crate::oscore::ContextParams) -> bool {
        match SecurityContext::derive(params) {
            Ok(ctx) => {
                if let Some(s) = self.sessions.get_mut(&device) {
                    s.context = Some(ctx);
                }
                self.work(CryptoWork {
                    hkdf: 3,
                    ..CryptoWork::default()
                });
                true
            }
            Err(_) => false,
        }
    }
}

impl<R: CryptoRng> Node for UpdateManager<R> {
    fn handle_datagram(&mut self, now: Instant, from: Addr, bytes: &[u8]) {
        self.endpoint.handle_datagram(now, from, bytes);
        self.process(now);
    }

    fn handle_timeout(&mut self, now: Instant) {
        self.endpoint.handle_timeout(now);
        self.process(now);
        while let Some(&(at, device)) = self.polls.first() {
            if at > now {
                break;
            }
            self.polls.pop_first();
            if self.sessions.get(&device).is_some_and(|s| s.step.polls()) {
                self.send(now, device);
            }
        }
    }

    fn poll_transmit(&mut self) -> Option<Transmit<Addr>> {
        self.endpoint.poll_transmit()
    }

    fn poll_timeout(&self) -> Option<Instant> {
        let poll = self.polls.first().map(|(t, _)| *t);
        [self.endpoint.poll_timeout(), poll]
            .into_iter()
            .flatten()
            .min()
    }
}

#[cfg(test)]
mod tests {
    use super::InstallTiming;

    #[test]
    fn daily_windows_install_at_once_inside_and_at_the_next_start_outside() {
        let day = 86_400;
        let base = 20_000 * day; // a midnight
        let w = InstallTiming::DailyWindow {
            start_s: 2 * 3600,
            duration_s: 4 * 3600,
        };
        assert_eq!(
            w.at(base + 3600),
            Some(base + 2 * 3600),
            "before today's window"
        );
        assert_eq!(w.at(base + 3 * 3600), None, "inside the window");
        assert_eq!(
            w.at(base + 7 * 3600),
            Some(base + day + 2 * 3600),
            "after it: tomorrow"
        );
        // A window across midnight (22:00 for 4 h) is open at 01:00.
        let late = InstallTiming::DailyWindow {
            start_s: 22 * 3600,
            duration_s: 4 * 3600,
        };
        assert_eq!(late.at(base + day + 3600), None);
        assert_eq!(late.at(base + day + 3 * 3600), Some(base + day + 22 * 3600));
        assert_eq!(InstallTiming::At(base).at(base + 1), None);
        assert_eq!(InstallTiming::Immediate.at(base), None);
    }
}
