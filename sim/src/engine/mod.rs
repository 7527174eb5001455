//! The discrete-event engine of one run.
//!
//! One tokio current-thread runtime per run with paused time is the clock ([`clock`]): the
//! engine advances it to the 10 ms wake window of its next event. Within a window the engine
//! drives the sans-I/O nodes of `icsim-protocol` from its own event queue ([`queue`]) at
//! microsecond resolution (one task and one timer per message would be far too slow for
//! large fleets).
//! No protocol logic lives here: the engine moves datagrams over the network model, runs
//! node timers, charges device CPU time, models the backend stations, and runs the rollout.

pub(crate) mod attacks;
pub(crate) mod build;
mod build_attacks;
pub(crate) mod clock;
mod hooks;
mod metrics;
mod prober;
pub(crate) mod queue;
mod rollout;
mod strategy;

use std::collections::{BTreeMap, VecDeque};

use icsim_protocol::coap::Transmit;
use icsim_protocol::exchange::{
    Addr, AuthServer, Device, InstallTiming, JobKind, Node, Repository, UmEvent, UpdateManager,
};
use icsim_protocol::memo::CryptoMemo;
use icsim_protocol::time::{Duration, Instant};
use rand_chacha::ChaCha20Rng;

pub use build::BuildError;
pub(crate) use build::build;
use clock::TimerSlot;
use metrics::Metrics;
use queue::EventQueue;
use rollout::{Actions, Rollout};

use crate::net::{DropCause, LinkDirection, Verdict};

/// Where a datagram is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Location {
    Backend,
    Gateway(u32),
    Device(u32),
}

/// A node of the run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum NodeId {
    Um,
    Auth,
    Repo,
    Cache(u32),
    Device(u32),
    /// An attacker's rogue client (an Update Manager with its own AS), by index.
    RogueUm(u32),
    RogueAs(u32),
    Prober,
    Flooder,
}

/// Address plan.
const UM_ADDR: Addr = Addr(1);
const AS_ADDR: Addr = Addr(2);
const REPO_ADDR: Addr = Addr(3);
const CACHE_BASE: u32 = 1_000;
const DEVICE_BASE: u32 = 1_000_000;

const ROGUE_BASE: u32 = 100;
const PROBER_ADDR: Addr = Addr(990);
const FLOODER_ADDR: Addr = Addr(991);

fn node_of(addr: Addr) -> Option<NodeId> {
    match addr.0 {
        // Devices and caches first: nearly every datagram is to or from one.
        a if a >= DEVICE_BASE => Some(NodeId::Device(a - DEVICE_BASE)),
        a if (CACHE_BASE..DEVICE_BASE).contains(&a) => Some(NodeId::Cache(a - CACHE_BASE)),
        1 => Some(NodeId::Um),
        2 => Some(NodeId::Auth),
        3 => Some(NodeId::Repo),
        990 => Some(NodeId::Prober),
        991 => Some(NodeId::Flooder),
        a if (ROGUE_BASE..ROGUE_BASE + 200).contains(&a) => {
            let i = (a - ROGUE_BASE) / 2;
            Some(if (a - ROGUE_BASE).is_multiple_of(2) {
                NodeId::RogueUm(i)
            } else {
                NodeId::RogueAs(i)
            })
        }
        _ => None,
    }
}

fn addr_of(node: NodeId) -> Addr {
    match node {
        NodeId::Um => UM_ADDR,
        NodeId::Auth => AS_ADDR,
        NodeId::Repo => REPO_ADDR,
        NodeId::Cache(s) => Addr(CACHE_BASE + s),
        NodeId::Device(d) => Addr(DEVICE_BASE + d),
        NodeId::RogueUm(i) => Addr(ROGUE_BASE + 2 * i),
        NodeId::RogueAs(i) => Addr(ROGUE_BASE + 2 * i + 1),
        NodeId::Prober => PROBER_ADDR,
        NodeId::Flooder => FLOODER_ADDR,
    }
}

/// An event of the engine.
pub(crate) enum Event {
    /// A datagram reached `at` on its way from `from` to `to`.
    Arrive {
        at: Location,
        from: Addr,
        to: Addr,
        bytes: Vec<u8>,
    },
    /// A node's timer.
    Timer(NodeId),
    /// A device finished computing: send what it produced.
    Send {
        from: NodeId,
        to: Addr,
        bytes: Vec<u8>,
    },
    /// A station finished serving a request.
    StationDone {
        station: StationId,
        from: Addr,
        bytes: Vec<u8>,
    },
    /// The rollout starts.
    Release,
    /// The rollout policy asked to be woken.
    PolicyWake,
    /// A device's session has run for the policy's timeout.
    DeviceTimeout { device: u32, attempt: u32 },
    /// Record the fleet state.
    Sample,
    /// An attacker's rogue client starts its session.
    RogueStart(u32),
}

/// The tiers of links, as counted in the report's network traffic.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Tier {
    /// A PLC's link to its site's gateway (own or shared).
    Cell = 0,
    /// A site's WAN link to the backend.
    Wan = 1,
}

impl Tier {
    /// The tier's name in reports.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Tier::Cell => "cell",
            Tier::Wan => "wan",
        }
    }
}

/// The backend stations.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum StationId {
    Auth,
    Repo,
}

/// A queueing station in front of a backend node.
struct Station {
    service: Duration,
    capacity: u32,
    limit: u32,
    busy: u32,
    waiting: VecDeque<(Addr, Vec<u8>, Instant)>,
    served: u64,
    dropped: u64,
    /// Legitimate requests refused for a full queue, and served after waiting over 10 s.
    dropped_legit: u64,
    slow_legit: u64,
    max_queue: u64,
    busy_time: Duration,
}

/// One direction of a link with its own random stream.
pub(crate) struct Dir {
    pub(crate) link: LinkDirection,
    pub(crate) rng: ChaCha20Rng,
}

/// A site's network: WAN down/up, and the cell when shared.
struct SiteNet {
    wan: [Dir; 2],
    cell: Option<[Dir; 2]>,
}

/// A device of the fleet with its place and its CPU.
struct DeviceSlot {
    node: Device<ChaCha20Rng>,
    site: u32,
    class: u16,
    busy_until: Instant,
    /// Its own cell link (down, up) when the site's cell is not shared.
    link: Option<Box<[Dir; 2]>>,
}

/// Per device class: virtual time costs.
struct CpuCosts {
    ecdsa_us: f64,
    ecdh_us: f64,
    hkdf_us: f64,
    aes_us_per_byte: f64,
    sha_us_per_byte: f64,
    flash_us_per_byte: f64,
}

/// A run in progress.
pub(crate) struct Engine {
    /// The run's memo of crypto results and payload blocks, shared by the devices.
    memo: CryptoMemo,
    start: Instant,
    end: Instant,
    queue: EventQueue<Event>,
    um: UpdateManager<ChaCha20Rng>,
    auth: AuthServer<ChaCha20Rng>,
    repo: Repository<ChaCha20Rng>,
    caches: Vec<Option<Repository<ChaCha20Rng>>>,
    devices: Vec<DeviceSlot>,
    sites: Vec<SiteNet>,
    costs: Vec<CpuCosts>,
    stations: [Station; 2],
    timers: TimerTable,
    rollout: Rollout,
    metrics: Metrics,
    sample_interval: Duration,
    events: u64,
    finished_at: Option<Instant>,
    /// Per site: its maintenance window as an install timing, if it has one.
    windows: Vec<Option<InstallTiming>>,
    policy_wake: Option<Instant>,
    attacks: attacks::Attacks,
    rogues: Vec<Rogue>,
    prober: Option<(prober::Prober, u32)>,
    flooder: Option<(prober::Flooder, u32)>,
    /// Sim-level defence switches: per-source rate limit at the backend stations.
    rate_limit: bool,
    buckets: BTreeMap<Addr, (f64, Instant)>,
    /// Per device: payload bytes received from a distribution point (ATK-ENDLESS).
    payload_bytes: BTreeMap<u32, u64>,
    /// Defence switches off in this run.
    defences_off: Vec<String>,
}

impl clock::Model for Engine {
    type Event = Event;

    fn queue(&mut self) -> &mut EventQueue<Event> {
        &mut self.queue
    }

    fn handle(&mut self, now: Instant, event: Event) {
        self.dispatch(now, event);
    }

    fn finished(&self) -> bool {
        self.finished_at.is_some()
    }
}

/// The instant each node's timer is scheduled for (to avoid piling up duplicates).
struct TimerTable {
    fixed: [TimerSlot; 3],
    caches: Vec<TimerSlot>,
    devices: Vec<TimerSlot>,
    others: BTreeMap<NodeId, TimerSlot>,
}

impl TimerTable {
    fn slot(&mut self, node: NodeId) -> &mut TimerSlot {
        match node {
            NodeId::Um => &mut self.fixed[0],
            NodeId::Auth => &mut self.fixed[1],
            NodeId::Repo => &mut self.fixed[2],
            NodeId::Cache(s) => &mut self.caches[s as usize],
            NodeId::Device(d) => &mut self.devices[d as usize],
            other => self.others.entry(other).or_default(),
        }
    }
}

/// An attacker's rogue client: an Update Manager with its own AS, at a site.
struct Rogue {
    um: UpdateManager<ChaCha20Rng>,
    auth: AuthServer<ChaCha20Rng>,
    site: u32,
    attack: &'static str,
    target: u32,
    audience: String,
    job: std::sync::Arc<icsim_protocol::exchange::UpdateJob>,
}

/// Progress of a run, for a progress display.
#[derive(Debug, Clone, Copy)]
pub struct Progress {
    /// Simulated time since the epoch.
    pub simulated: Duration,
    /// Events processed so far.
    pub events: u64,
    /// Devices whose rollout has ended.
    pub devices_done: u64,
    /// Devices in all.
    pub devices: u64,
}

impl Engine {
    /// Run to the end of the rollout or the horizon, reporting progress now and then.
    pub(crate) async fn run(&mut self, progress: &mut dyn FnMut(Progress)) {
        let mut last_report = 0u64;
        let (start, end) = (self.start, self.end);
        clock::drive(self, start, end, |engine, next, events| {
            engine.events = events;
            if events - last_report >= 1 << 16 {
                last_report = events;
                progress(engine.progress(next));
            }
        })
        .await;
        let end = self.finished_at.unwrap_or(self.end).min(self.end);
        progress(self.progress(end));
    }

    fn progress(&self, now: Instant) -> Progress {
        Progress {
            simulated: now - self.start,
            events: self.events,
            devices_done: self.rollout.devices_done(),
            devices: self.devices.len() as u64,
        }
    }

    fn dispatch(&mut self, now: Instant, event: Event) {
        match event {
            Event::Arrive {
                at,
                from,
                to,
                bytes,
            } => self.arrive(now, at, from, to, bytes),
            Event::Timer(node) => {
                // Only the event the table points at is live; an earlier-scheduled one that
                // was superseded is dropped here rather than piling up duplicates.
                if self.timers.slot(node).fires(now) {
                    self.fire_timer(now, node);
                }
            }
            Event::Send { from, to, bytes } => self.transmit(now, from, to, bytes),
            Event::StationDone {
                station,
                from,
                bytes,
            } => self.station_done(now, station, from, bytes),
            Event::Release => {
                let actions = self.rollout.release(now);
                self.apply(now, actions);
            }
            Event::PolicyWake => {
                if self.policy_wake == Some(now) {
                    self.policy_wake = None;
                    let actions = self.rollout.wake(now);
                    self.apply(now, actions);
                }
            }
            Event::RogueStart(i) => self.rogue_start(now, i),
            Event::DeviceTimeout { device, attempt } => {
                if let Some(d) = self.rollout.timeout(device, attempt) {
                    self.attacks.timed_out.insert(d);
                    self.um.cancel(addr_of(NodeId::Device(d)));
                    self.after(now, NodeId::Um);
                }
            }
            Event::Sample => {
                self.metrics.sample(
                    now,
                    &self.rollout,
                    self.devices.iter().filter(|d| !d.node.is_up()).count() as u64,
                );
                if self.finished_at.is_none() {
                    self.queue.push(now + self.sample_interval, Event::Sample);
                }
            }
        }
    }

    fn location(&self, addr: Addr) -> Option<Location> {
        match node_of(addr)? {
            NodeId::Um | NodeId::Auth | NodeId::Repo => Some(Location::Backend),
            NodeId::RogueUm(i) | NodeId::RogueAs(i) => self
                .rogues
                .get(i as usize)
                .map(|r| Location::Gateway(r.site)),
            NodeId::Prober => self.prober.as_ref().map(|(_, s)| Location::Gateway(*s)),
            NodeId::Flooder => self.flooder.as_ref().map(|(_, s)| Location::Gateway(*s)),
            NodeId::Cache(s) => ((s as usize) < self.caches.len()).then_some(Location::Gateway(s)),
            NodeId::Device(d) => ((d as usize) < self.devices.len()).then_some(Location::Device(d)),
        }
    }

    /// Put a datagram from `from` on its way at `now`.
    fn transmit(&mut self, now: Instant, from: NodeId, to: Addr, bytes: Vec<u8>) {
        self.metrics.datagram();
        let src = addr_of(from);
        let Some(at) = self.location(src) else {
            return;
        };
        self.forward(now, at, src, to, bytes);
    }

    /// Move a datagram one hop from `at` towards `to`, or deliver it if it is there.
    fn forward(&mut self, now: Instant, at: Location, from: Addr, to: Addr, bytes: Vec<u8>) {
        let Some(dest) = self.location(to) else {
            return; // no such node: the datagram is lost
        };
        let dest_site = |e: &Engine, loc: Location| match loc {
            Location::Gateway(s) => Some(s),
            Location::Device(d) => Some(e.devices[d as usize].site),
            Location::Backend => None,
        };
        // The hop this datagram takes next, for the on-path attackers of its site.
        let hop = match (at, dest) {
            (a, d) if a == d => None,
            (Location::Backend, Location::Backend) => None,
            (Location::Backend, _) => dest_site(self, dest).map(|s| (false, s)),
            (Location::Gateway(s), Location::Device(d)) if self.devices[d as usize].site == s => {
                Some((true, s))
            }
            (Location::Gateway(s), _) => Some((false, s)),
            (Location::Device(d), _) => Some((true, self.devices[d as usize].site)),
        };
        let mut bytes = bytes;
        let mut held = Duration::ZERO;
        if let Some((cell, site)) = hop
            && !self.attacks.on_path.is_empty()
        {
            match self.on_path(now, cell, site, from, to, &mut bytes) {
                attacks::PathAction::Pass | attacks::PathAction::Alter => {}
                attacks::PathAction::Drop => return,
                attacks::PathAction::Delay(d) => held = d,
                attacks::PathAction::ReplayLater(after) => {
                    // The same request again later, with a new message id so that CoAP's
                    // duplicate detection does not catch it: only OSCORE can.
                    let mut again = bytes.clone();
                    if again.len() >= 4 {
                        again[2] ^= 0x5a;
                    }
                    self.queue.push(
                        now + after,
                        Event::Arrive {
                            at,
                            from,
                            to,
                            bytes: again,
                        },
                    );
                }
            }
        }
        let (tier, dir, next): (Tier, &mut Dir, Location) = match (at, dest) {
            (a, d) if a == d => {
                self.deliver(now, from, to, bytes);
                return;
            }
            (Location::Backend, Location::Backend) => {
                self.deliver(now, from, to, bytes);
                return;
            }
            (Location::Backend, _) => {
                let Some(s) = dest_site(self, dest) else {
                    return;
                };
                (
                    Tier::Wan,
                    &mut self.sites[s as usize].wan[0],
                    Location::Gateway(s),
                )
            }
            (Location::Gateway(s), Location::Device(d)) if self.devices[d as usize].site == s => {
                let dir = match &mut self.sites[s as usize].cell {
                    Some(shared) => &mut shared[0],
                    None => match self.devices[d as usize].link.as_deref_mut() {
                        Some(own) => &mut own[0],
                        None => return,
                    },
                };
                (Tier::Cell, dir, Location::Device(d))
            }
            (Location::Gateway(s), _) => (
                Tier::Wan,
                &mut self.sites[s as usize].wan[1],
                Location::Backend,
            ),
            (Location::Device(d), _) => {
                let slot = &mut self.devices[d as usize];
                let s = slot.site;
                let dir = match &mut self.sites[s as usize].cell {
                    Some(shared) => &mut shared[1],
                    None => match slot.link.as_deref_mut() {
                        Some(own) => &mut own[1],
                        None => return,
                    },
                };
                (Tier::Cell, dir, Location::Gateway(s))
            }
        };
        let len = bytes.len();
        let verdict = dir.link.send(now, len, &mut dir.rng);
        match verdict {
            Verdict::Deliver { at: arrival } => {
                self.metrics.link(tier, len, None);
                self.queue.push(
                    arrival + held,
                    Event::Arrive {
                        at: next,
                        from,
                        to,
                        bytes,
                    },
                );
            }
            Verdict::Drop(cause) => self.metrics.link(tier, len, Some(cause)),
        }
    }

    fn deliver(&mut self, now: Instant, from: Addr, to: Addr, bytes: Vec<u8>) {
        let Some(node) = node_of(to) else {
            return;
        };
        match node {
            NodeId::Auth => self.station_arrive(now, StationId::Auth, from, bytes),
            NodeId::Repo => self.station_arrive(now, StationId::Repo, from, bytes),
            NodeId::Device(d) => {
                let busy = self.devices[d as usize].busy_until;
                if busy > now {
                    // The device is computing: the datagram waits in its input buffer.
                    self.queue.push(
                        busy,
                        Event::Arrive {
                            at: Location::Device(d),
                            from,
                            to,
                            bytes,
                        },
                    );
                    return;
                }
                let injected = self.replay_arriving(d, &bytes);
                self.devices[d as usize]
                    .node
                    .handle_datagram_owned(now, from, bytes);
                self.after(now, node);
                if injected {
                    self.finish_replay(d);
                }
            }
            _ => {
                self.node_mut(node).handle_datagram_owned(now, from, bytes);
                self.after(now, node);
            }
        }
    }

    fn arrive(&mut self, now: Instant, at: Location, from: Addr, to: Addr, bytes: Vec<u8>) {
        self.forward(now, at, from, to, bytes);
    }

    fn station(&mut self, id: StationId) -> &mut Station {
        match id {
            StationId::Auth => &mut self.stations[0],
            StationId::Repo => &mut self.stations[1],
        }
    }

    fn station_arrive(&mut self, now: Instant, id: StationId, from: Addr, bytes: Vec<u8>) {
        if self.rate_limited(now, from) {
            if from == FLOODER_ADDR {
                self.attacks.flood_limited += 1;
            }
            self.station(id).dropped += 1;
            return;
        }
        let st = self.station(id);
        if st.busy < st.capacity {
            st.busy += 1;
            let done = now + st.service;
            self.queue.push(
                done,
                Event::StationDone {
                    station: id,
                    from,
                    bytes,
                },
            );
        } else if (st.waiting.len() as u64) < u64::from(st.limit) {
            st.waiting.push_back((from, bytes, now));
            st.max_queue = st.max_queue.max(st.waiting.len() as u64);
        } else {
            if from != FLOODER_ADDR {
                st.dropped_legit += 1;
            }
            st.dropped += 1;
        }
    }

    fn station_done(&mut self, now: Instant, id: StationId, from: Addr, bytes: Vec<u8>) {
        let node = match id {
            StationId::Auth => NodeId::Auth,
            StationId::Repo => NodeId::Repo,
        };
        {
            let st = self.station(id);
            st.served += 1;
            st.busy_time = st.busy_time + st.service;
        }
        self.node_mut(node).handle_datagram_owned(now, from, bytes);
        self.after(now, node);
        let st = self.station(id);
        match st.waiting.pop_front() {
            Some((f, b, arrived)) => {
                if f != FLOODER_ADDR && now - arrived > Duration::from_secs(10) {
                    st.slow_legit += 1;
                }
                let done = now + st.service;
                self.queue.push(
                    done,
                    Event::StationDone {
                        station: id,
                        from: f,
                        bytes: b,
                    },
                );
            }
            None => st.busy -= 1,
        }
    }

    fn node_mut(&mut self, node: NodeId) -> &mut dyn Node {
        match node {
            NodeId::Um => &mut self.um,
            NodeId::Auth => &mut self.auth,
            NodeId::Repo => &mut self.repo,
            NodeId::Cache(s) => match &mut self.caches[s as usize] {
                Some(c) => c,
                None => &mut self.repo,
            },
            NodeId::Device(d) => &mut self.devices[d as usize].node,
            NodeId::RogueUm(i) => &mut self.rogues[i as usize].um,
            NodeId::RogueAs(i) => &mut self.rogues[i as usize].auth,
            NodeId::Prober => match &mut self.prober {
                Some((p, _)) => p,
                None => &mut self.repo,
            },
            NodeId::Flooder => match &mut self.flooder {
                Some((f, _)) => f,
                None => &mut self.repo,
            },
        }
    }

    fn fire_timer(&mut self, now: Instant, node: NodeId) {
        if let NodeId::Device(d) = node {
            let busy = self.devices[d as usize].busy_until;
            if busy > now {
                self.schedule_timer(busy, node);
                return;
            }
        }
        let due = self.node_mut(node).poll_timeout().is_some_and(|t| t <= now);
        if due {
            self.node_mut(node).handle_timeout(now);
        }
        self.after(now, node);
    }

    fn schedule_timer(&mut self, at: Instant, node: NodeId) {
        if self.timers.slot(node).arm_if_earlier(at) {
            self.queue.push(at, Event::Timer(node));
        }
    }

    /// After a node ran: collect its events (charging device CPU time), send what it
    /// produced, and re-arm its timer.
    fn after(&mut self, now: Instant, node: NodeId) {
        match node {
            NodeId::Um => self.drain_um(now),
            NodeId::Device(d) => self.drain_device(now, d),
            NodeId::RogueUm(i) => self.drain_rogue(i),
            _ => {}
        }
        let send_at = match node {
            NodeId::Device(d) => self.devices[d as usize].busy_until.max(now),
            _ => now,
        };
        while let Some(t) = self.poll_transmit(node) {
            if send_at > now {
                self.queue.push(
                    send_at,
                    Event::Send {
                        from: node,
                        to: t.destination,
                        bytes: t.contents,
                    },
                );
            } else {
                self.transmit(now, node, t.destination, t.contents);
            }
        }
        let next_timer = match node {
            NodeId::Device(d) => self.devices[d as usize].node.poll_timeout(),
            _ => self.node_mut(node).poll_timeout(),
        };
        if let Some(t) = next_timer {
            self.schedule_timer(t.max(now), node);
        }
    }

    /// The node's next datagram; a device's without a virtual call, for most datagrams
    /// come from devices and the cache answering them.
    fn poll_transmit(&mut self, node: NodeId) -> Option<Transmit<Addr>> {
        match node {
            NodeId::Device(d) => self.devices[d as usize].node.poll_transmit(),
            NodeId::Cache(s) => match self.caches.get_mut(s as usize) {
                Some(Some(cache)) => cache.poll_transmit(),
                _ => self.node_mut(node).poll_transmit(),
            },
            _ => self.node_mut(node).poll_transmit(),
        }
    }

    fn drain_um(&mut self, now: Instant) {
        while let Some(event) = self.um.poll_event() {
            let device = match &event {
                UmEvent::Step { device, .. }
                | UmEvent::Staged { device }
                | UmEvent::Finished { device, .. } => match node_of(*device) {
                    Some(NodeId::Device(d)) => Some(d),
                    _ => None,
                },
                _ => None,
            };
            let actions = match (&event, device) {
                (
                    UmEvent::Step {
                        step: "install", ..
                    },
                    Some(d),
                ) => Some(self.rollout.slot_free(now, d)),
                (UmEvent::Staged { .. }, Some(d)) => {
                    Some(self.rollout.staged(now, d, &self.windows))
                }
                _ => None,
            };
            if let Some(actions) = actions {
                self.apply(now, actions);
            }
            if let Some((_, outcome)) = self.metrics.um_event(now, &event)
                && let Some(d) = device
            {
                let template = self.rollout.current_template(d);
                let attack = template.and_then(|t| self.attacks.templates.get(&t).copied());
                let actions = match attack {
                    Some(id) if attacks::probes(id) => {
                        // A crafted envelope a device judged on its own: it tells nothing
                        // about the rollout, which goes on with the genuine update.
                        self.attacks.template_outcome(id, &outcome);
                        self.rollout.skip(now, d, &self.windows)
                    }
                    Some(id) => {
                        // A malicious update the operator approved: a success for the
                        // attacker if installed, and a failure the plant's monitoring sees.
                        self.attacks.template_outcome(id, &outcome);
                        let seen = if outcome == icsim_protocol::exchange::Outcome::Committed {
                            icsim_protocol::exchange::Outcome::Rejected(
                                "malicious_image_detected".into(),
                            )
                        } else {
                            outcome.clone()
                        };
                        self.rollout
                            .finished(now, d, &seen, &mut self.metrics, &self.windows)
                    }
                    None => {
                        if self.attacks.payload_targets.contains_key(&d) {
                            let altered = outcome == icsim_protocol::exchange::Outcome::Committed
                                && template.is_some_and(|t| {
                                    let active = self.devices[d as usize]
                                        .node
                                        .persistent()
                                        .slots
                                        .active
                                        .as_ref();
                                    self.attacks.genuine_digest.get(&t).is_some_and(|g| {
                                        active.is_some_and(|a| a.digest.bytes != *g)
                                    })
                                });
                            let limit = template
                                .and_then(|t| self.attacks.payload_size.get(&t).copied())
                                .unwrap_or(u64::MAX);
                            let over = self
                                .payload_bytes
                                .get(&d)
                                .is_some_and(|b| *b > limit + limit / 2);
                            self.attacks.payload_outcome(d, &outcome, altered, over);
                        }
                        self.rollout
                            .finished(now, d, &outcome, &mut self.metrics, &self.windows)
                    }
                };
                self.apply(now, actions);
                if self.rollout.is_complete() && self.finished_at.is_none() {
                    self.finished_at = Some(now);
                    self.metrics.sample(now, &self.rollout, 0);
                }
            }
        }
    }

    /// Carry out a rollout decision.
    fn apply(&mut self, now: Instant, actions: Actions) {
        let Actions {
            starts,
            cancels,
            reverts,
            installs,
            wake,
        } = actions;
        for d in cancels {
            self.um.cancel(addr_of(NodeId::Device(d)));
        }
        for (d, update) in starts {
            self.start_job(now, d, update, JobKind::Install);
        }
        for (d, update) in reverts {
            self.start_job(now, d, update, JobKind::Revert);
        }
        for (d, at) in installs {
            self.um.command_install(now, addr_of(NodeId::Device(d)), at);
        }
        if let Some(at) = wake
            && self.policy_wake.is_none_or(|w| at < w)
        {
            self.policy_wake = Some(at);
            self.queue.push(at.max(now), Event::PolicyWake);
        }
        self.after(now, NodeId::Um);
    }

    fn start_job(&mut self, now: Instant, d: u32, update: usize, kind: JobKind) {
        let site = self.devices[d as usize].site;
        let (audience, job) = self.rollout.job(d, update, site, kind);
        self.um
            .start(now, addr_of(NodeId::Device(d)), &audience, job);
        if kind == JobKind::Install {
            self.metrics.job_started(now, d);
            let attempt = self.rollout.attempt(d);
            let at = now + self.rollout.device_timeout();
            self.queue
                .push(at, Event::DeviceTimeout { device: d, attempt });
        }
    }

    fn drain_device(&mut self, now: Instant, d: u32) {
        let slot = &mut self.devices[d as usize];
        let costs = &self.costs[slot.class as usize];
        let mut cpu_us = 0.0;
        while let Some(event) = slot.node.poll_event() {
            cpu_us += self.metrics.device_event(now, d, &event, costs);
            if !self.attacks.is_empty() {
                self.attacks.device_event(d, &event);
            }
        }
        if cpu_us > 0.0 {
            let start = slot.busy_until.max(now);
            slot.busy_until = start + Duration::from_micros(cpu_us.ceil() as u64);
        }
    }

    fn metrics_patched(&self, d: u32) -> bool {
        self.metrics.is_patched(d)
    }

    /// Finish the run: the report.
    pub(crate) fn report(&mut self, info: crate::run::RunInfo) -> icsim_reports::RunReport {
        let end = self.finished_at.unwrap_or(self.end).min(self.end);
        self.settle_attacks();
        let mut report = metrics::report(self, info, end);
        if !self.attacks.is_empty() {
            report.security = Some(icsim_reports::model::SecurityReport {
                defences_off: self.defences_off.clone(),
                attacks: self.attacks.outcomes(),
            });
        }
        report
    }
}

/// Names of drop causes in reports.
pub(crate) fn drop_name(cause: DropCause) -> &'static str {
    match cause {
        DropCause::Loss => "lost",
        DropCause::QueueFull => "queue",
        DropCause::Outage => "outage",
        DropCause::Mtu => "mtu",
    }
}
