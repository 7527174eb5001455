//! The `block-fetch` reference model of `../shared/bench/BLOCK_FETCH.md`: N devices fetch B
//! blocks each from one server, stop-and-wait, over lossy links with random latency.
//!
//! It runs on the machinery of the rollout simulator, not a loop of its own: the engine's
//! clock (`engine::clock::drive`, tokio's paused clock woken once per 10 ms window), its
//! event queue (`engine::queue::EventQueue`) at microsecond resolution, its timer slots
//! (`TimerSlot`) for the retransmission timers, used as the engine uses them for a node's
//! timer (one expiry queued per device; one that comes up before the device's deadline
//! queues the next), and one [`LinkDirection`] per device and way, all sharing one set of
//! parameters, as the PLCs of a site do in a rollout.
//!
//! # Mapping of the spec
//!
//! - Time is microseconds; every time of the model is a whole number of milliseconds, so
//!   results in milliseconds are exact.
//! - Each link direction has a Bernoulli loss model with probability `p` and a
//!   [`LatencyModel::UniformGrid`] latency on whole milliseconds from `Lmin` to `Lmax`;
//!   its bandwidth and queue play no part (the model's messages carry no payload, so they
//!   take no time to serialise). A direction keeps FIFO order, as every link of the
//!   simulator does: a message never overtakes an earlier one on the same direction. The
//!   spec draws latencies independently; the two agree whenever a direction carries one
//!   message at a time, which stop-and-wait guarantees when the round trip `2 Lmax` is
//!   shorter than `T` (the defaults).
//! - Tie rule: retransmission timers are queued with
//!   `EventQueue::push_after_others`,
//!   so a response delivered in the same millisecond as the expiry is processed first and
//!   cancels the timer, as the spec asks.
//! - Random streams: device `i`'s start offset comes from the stream ("device-i", "start"),
//!   the loss and latency draws of both directions of its link from ("device-i", "link"),
//!   all derived from the seed; so results differ run by run from other engines, not in
//!   distribution. (One stream per link rather than per direction keeps the state a
//!   message touches small: with 10,000 devices, memory latency is what bounds the speed.)
//!
//! # Events
//!
//! `events` counts model events as the spec defines them (messages sent plus timer
//! expiries that caused a retransmission); `engine_events` counts what the engine's queue
//! handled: device starts, deliveries and every expiry event, including those that came up
//! before their device's deadline and queued the next.

use std::fmt;

use icsim_protocol::time::{Duration, Instant};

use rand_chacha::ChaCha20Rng;

use crate::engine::clock::{self, Model, TimerSlot};
use crate::engine::queue::EventQueue;
use crate::net::{LatencyModel, LinkDirection, LinkParams, LossModel, Verdict};
use crate::rng::stream;

/// The parameters of the model (the flags of the spec), times in milliseconds.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BlockFetchParams {
    /// Number of devices N.
    pub n: u32,
    /// Blocks per image B.
    pub blocks: u32,
    /// Minimum one-way latency Lmin, ms.
    pub lat_min_ms: u64,
    /// Maximum one-way latency Lmax, ms.
    pub lat_max_ms: u64,
    /// Independent loss probability p per message.
    pub loss: f64,
    /// Retransmission timeout T, ms.
    pub timeout_ms: u64,
    /// Device start window S, ms.
    pub start_window_ms: u64,
    /// Seed of the random streams.
    pub seed: u64,
}

impl Default for BlockFetchParams {
    /// The spec's defaults.
    fn default() -> Self {
        BlockFetchParams {
            n: 1000,
            blocks: 64,
            lat_min_ms: 5,
            lat_max_ms: 15,
            loss: 0.05,
            timeout_ms: 100,
            start_window_ms: 1000,
            seed: 1,
        }
    }
}

/// Why the model cannot be built with some parameters.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum BlockFetchError {
    /// A parameter is outside its range.
    #[error("--{flag}: {reason}")]
    Parameter {
        /// The flag of the parameter, as the spec names it.
        flag: &'static str,
        /// What is wrong with it.
        reason: String,
    },
    /// The runtime could not be started.
    #[error("cannot start the simulation runtime: {0}")]
    Runtime(String),
}

/// The results of a run: the spec's output fields except the parameters and the wall time.
#[derive(Debug, Clone, PartialEq)]
pub struct BlockFetchOutcome {
    /// Simulated time at which the last device finished, ms (absolute).
    pub last_completion_ms: u64,
    /// Mean of the devices' completion times (done minus start), ms.
    pub mean_completion_ms: f64,
    /// Population standard deviation of the completion times, ms.
    pub std_completion_ms: f64,
    /// Median completion time (nearest rank), ms.
    pub p50_completion_ms: u64,
    /// 99th percentile completion time (nearest rank), ms.
    pub p99_completion_ms: u64,
    /// Longest completion time, ms.
    pub max_completion_ms: u64,
    /// Requests and responses sent, lost ones included.
    pub messages_sent: u64,
    /// Messages dropped by the loss draw.
    pub messages_lost: u64,
    /// Timer expiries that caused a retransmission.
    pub timeouts: u64,
    /// Model events: `messages_sent + timeouts`.
    pub events: u64,
    /// Events the engine's queue handled: starts, deliveries and every expiry event, those
    /// that came up before their device's deadline (and queued the next) included.
    pub engine_events: u64,
}

impl fmt::Display for BlockFetchParams {
    /// The parameters as the JSON fields of the spec's output line (without braces).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "\"n\":{},\"blocks\":{},\"lat_min\":{},\"lat_max\":{},\"loss\":{},\"timeout\":{},\
             \"start_window\":{},\"seed\":{}",
            self.n,
            self.blocks,
            self.lat_min_ms,
            self.lat_max_ms,
            self.loss,
            self.timeout_ms,
            self.start_window_ms,
            self.seed
        )
    }
}

impl BlockFetchParams {
    /// Checks every parameter: N, B, T and S at least 1; `Lmin <= Lmax`; `0 <= p < 1` (with
    /// `p = 1` no device would ever finish); times at most a year.
    pub fn validate(&self) -> Result<(), BlockFetchError> {
        const YEAR_MS: u64 = 365 * 24 * 3_600_000;
        let bad = |flag, reason: &str| {
            Err(BlockFetchError::Parameter {
                flag,
                reason: reason.to_owned(),
            })
        };
        if self.n == 0 {
            return bad("n", "at least one device is needed");
        }
        if self.blocks == 0 {
            return bad("blocks", "an image has at least one block");
        }
        if !(0.0..1.0).contains(&self.loss) {
            return bad("loss", "must be at least 0 and below 1");
        }
        if self.lat_min_ms > self.lat_max_ms {
            return bad("lat-min", "must not exceed --lat-max");
        }
        for (flag, ms, least) in [
            ("lat-max", self.lat_max_ms, 0),
            ("timeout", self.timeout_ms, 1),
            ("start-window", self.start_window_ms, 1),
        ] {
            if ms < least {
                return bad(flag, "must be at least 1 ms");
            }
            if ms > YEAR_MS {
                return bad(flag, "must be at most a year");
            }
        }
        Ok(())
    }
}

/// A message of the model on its way.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Event {
    /// The device starts its fetch.
    Start(u32),
    /// `REQ(device, block)` reaches the server.
    Request { device: u32, block: u32 },
    /// `RESP(device, block)` reaches the device.
    Response { device: u32, block: u32 },
    /// The retransmission timer of a device.
    Expiry(u32),
}

/// One device: its progress, its timer and its link (down, up).
struct Device {
    start: Instant,
    block: u32,
    done: bool,
    /// When the retransmission timer expires, if armed: the send time of the current
    /// request plus `T`.
    deadline: Option<Instant>,
    /// The device's one queued expiry event, at or before `deadline`.
    timer: TimerSlot,
    link: [LinkDirection; 2],
    rng: ChaCha20Rng,
}

/// The model, built and ready to run.
pub struct BlockFetch {
    params: BlockFetchParams,
    queue: EventQueue<Event>,
    devices: Vec<Device>,
    timeout: Duration,
    completions: Vec<u64>,
    last_done: Instant,
    messages_sent: u64,
    messages_lost: u64,
    timeouts: u64,
}

/// The model's time origin.
const ORIGIN: Instant = Instant::from_micros(0);

impl BlockFetch {
    /// Builds the model: every device with its start offset drawn and queued, and its two
    /// link directions.
    pub fn new(params: BlockFetchParams) -> Result<Self, BlockFetchError> {
        params.validate()?;
        let link = LinkParams {
            latency: LatencyModel::UniformGrid {
                min: Duration::from_millis(params.lat_min_ms),
                max: Duration::from_millis(params.lat_max_ms),
                step: Duration::from_millis(1),
            },
            bandwidth_bps: u64::MAX,
            queue_packets: u32::MAX,
            mtu: u32::MAX,
            loss: LossModel::Bernoulli { p: params.loss },
        };
        let starts = LatencyModel::UniformGrid {
            min: Duration::ZERO,
            max: Duration::from_millis(params.start_window_ms - 1),
            step: Duration::from_millis(1),
        };
        let link = LinkDirection::new(&link, []);
        let mut queue = EventQueue::new();
        let devices = (0..params.n)
            .map(|i| {
                let entity = format!("device-{i}");
                let start = ORIGIN + starts.sample(&mut stream(params.seed, &entity, "start"));
                queue.push(start, Event::Start(i));
                Device {
                    start,
                    block: 0,
                    done: false,
                    deadline: None,
                    timer: TimerSlot::default(),
                    link: [link.idle_copy(), link.idle_copy()],
                    rng: stream(params.seed, &entity, "link"),
                }
            })
            .collect();
        Ok(BlockFetch {
            params,
            queue,
            devices,
            timeout: Duration::from_millis(params.timeout_ms),
            completions: Vec::with_capacity(params.n as usize),
            last_done: ORIGIN,
            messages_sent: 0,
            messages_lost: 0,
            timeouts: 0,
        })
    }

    /// Runs the model until every device is done, on a current-thread tokio runtime with
    /// paused time.
    pub fn run(mut self) -> Result<BlockFetchOutcome, BlockFetchError> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .start_paused(true)
            .build()
            .map_err(|e| BlockFetchError::Runtime(e.to_string()))?;
        let end = Instant::from_micros(u64::MAX - 1);
        let engine_events = runtime.block_on(clock::drive(&mut self, ORIGIN, end, |_, _, _| {}));
        Ok(self.outcome(engine_events))
    }

    /// Sends a message over one direction of a device's link; a delivered one is queued.
    fn transmit(&mut self, now: Instant, device: u32, up: bool, block: u32) {
        self.messages_sent += 1;
        let d = &mut self.devices[device as usize];
        match d.link[usize::from(up)].send(now, 0, &mut d.rng) {
            Verdict::Deliver { at } => {
                let event = if up {
                    Event::Request { device, block }
                } else {
                    Event::Response { device, block }
                };
                self.queue.push(at, event);
            }
            _ => self.messages_lost += 1,
        }
    }

    /// Device `device` sends `REQ` for its current block and arms its timer.
    fn request(&mut self, now: Instant, device: u32) {
        let block = self.devices[device as usize].block;
        self.transmit(now, device, true, block);
        let at = now + self.timeout;
        self.devices[device as usize].deadline = Some(at);
        self.queue_expiry(device, at);
    }

    /// Queues an expiry event for `at` unless one is queued for an earlier instant: that
    /// one, when it comes up, queues the next (as the engine re-arms a node's timer for its
    /// next deadline). One expiry in flight per device, instead of one per request sent.
    fn queue_expiry(&mut self, device: u32, at: Instant) {
        if self.devices[device as usize].timer.arm_if_earlier(at) {
            self.queue.push_after_others(at, Event::Expiry(device));
        }
    }

    fn outcome(&mut self, engine_events: u64) -> BlockFetchOutcome {
        let c = &mut self.completions;
        c.sort_unstable();
        let n = c.len().max(1) as f64;
        let mean = c.iter().map(|&x| x as f64).sum::<f64>() / n;
        let var = c.iter().map(|&x| (x as f64 - mean).powi(2)).sum::<f64>() / n;
        let rank = |q: f64| {
            let k = ((c.len() as f64 * q).ceil() as usize).clamp(1, c.len().max(1));
            c.get(k - 1).copied().unwrap_or(0)
        };
        BlockFetchOutcome {
            last_completion_ms: self.last_done.saturating_duration_since(ORIGIN).as_millis(),
            mean_completion_ms: mean,
            std_completion_ms: var.sqrt(),
            p50_completion_ms: rank(0.5),
            p99_completion_ms: rank(0.99),
            max_completion_ms: c.last().copied().unwrap_or(0),
            messages_sent: self.messages_sent,
            messages_lost: self.messages_lost,
            timeouts: self.timeouts,
            events: self.messages_sent + self.timeouts,
            engine_events,
        }
    }
}

impl Model for BlockFetch {
    type Event = Event;

    fn queue(&mut self) -> &mut EventQueue<Event> {
        &mut self.queue
    }

    fn handle(&mut self, now: Instant, event: Event) {
        match event {
            Event::Start(device) => self.request(now, device),
            Event::Request { device, block } => self.transmit(now, device, false, block),
            Event::Response { device, block } => {
                let blocks = self.params.blocks;
                let d = &mut self.devices[device as usize];
                if d.done || block != d.block {
                    return; // late or duplicate
                }
                d.deadline = None;
                d.block += 1;
                if d.block < blocks {
                    self.request(now, device);
                    return;
                }
                d.done = true;
                let took = now.saturating_duration_since(d.start).as_millis();
                self.completions.push(took);
                self.last_done = self.last_done.max(now);
            }
            Event::Expiry(device) => {
                let d = &mut self.devices[device as usize];
                if d.done || !d.timer.fires(now) {
                    return;
                }
                match d.deadline {
                    Some(at) if at <= now => {
                        self.timeouts += 1;
                        self.request(now, device);
                    }
                    // The request it was queued for was answered; a later one is pending.
                    Some(at) => self.queue_expiry(device, at),
                    None => {}
                }
            }
        }
    }

    fn finished(&self) -> bool {
        self.completions.len() == self.devices.len()
    }
}
