//! One direction of one link: MTU, outages, a bounded FIFO with serialisation delay, loss
//! and latency.

use std::collections::VecDeque;
use std::sync::Arc;

use icsim_protocol::time::{Duration, Instant};
use rand_core::Rng;

use super::latency::{LatencyModel, from_ms};
use super::loss::{LossModel, LossState};
use crate::scenario::model;

/// The parameters of a link, the same for both directions.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LinkParams {
    /// One-way latency, added after serialisation.
    pub latency: LatencyModel,
    /// Bandwidth per direction, bit/s. Zero is taken as 1 bit/s.
    pub bandwidth_bps: u64,
    /// Datagrams that may be waiting or in transmission per direction; one more is
    /// tail-dropped. Zero is taken as 1 (the datagram in transmission).
    pub queue_packets: u32,
    /// Largest datagram carried, bytes; longer ones are dropped. Zero drops every
    /// non-empty datagram.
    pub mtu: u32,
    /// Loss model, drawn per datagram after serialisation.
    pub loss: LossModel,
}

impl LinkParams {
    /// Converts a scenario link: kbit/s become bit/s (rounded, at least 1; NaN gives 1),
    /// milliseconds become microseconds, probabilities are clamped to [0, 1]. The
    /// `shared` flag is not a link parameter: a shared medium is one [`LinkDirection`]
    /// per way that every station sends into.
    pub fn from_model(link: &model::Link) -> Self {
        LinkParams {
            latency: LatencyModel::from(&link.latency),
            bandwidth_bps: ((link.bandwidth_kbit_s * 1_000.0).round() as u64).max(1),
            queue_packets: link.queue_packets,
            mtu: link.mtu,
            loss: LossModel::from(&link.loss),
        }
    }
}

/// A scheduled outage: the half-open interval `[start, end)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct OutageSpan {
    /// First instant of the outage.
    pub start: Instant,
    /// First instant after the outage.
    pub end: Instant,
}

/// The outages of a site that concern one link tier, as absolute spans: hours after
/// `epoch` become microseconds (rounded; negative or NaN hours become 0, the cast
/// saturates). Empty outages are left out; the result is in the scenario's order.
pub fn outage_spans(
    outages: &[model::Outage],
    tier: model::LinkTier,
    epoch: Instant,
) -> Vec<OutageSpan> {
    outages
        .iter()
        .filter(|o| o.link == tier)
        .map(|o| {
            let start = epoch + from_ms(o.start_h * 3_600_000.0);
            OutageSpan {
                start,
                end: start + from_ms(o.duration_h * 3_600_000.0),
            }
        })
        .filter(|s| s.start < s.end)
        .collect()
}

/// What a link direction does with a datagram.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Verdict {
    /// The datagram arrives at the far end at `at`.
    Deliver {
        /// Arrival time, rounded up to the microsecond.
        at: Instant,
    },
    /// The datagram never arrives.
    Drop(DropCause),
}

/// Why a datagram was dropped.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub enum DropCause {
    /// Longer than the MTU.
    Mtu,
    /// Offered during a scheduled outage.
    Outage,
    /// The queue was full (tail drop).
    QueueFull,
    /// Lost by the loss model, after it used the bandwidth.
    Loss,
}

/// A count of datagrams and of their bytes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Tally {
    /// Datagrams.
    pub datagrams: u64,
    /// Bytes in those datagrams.
    pub bytes: u64,
}

impl Tally {
    fn add(&mut self, len: usize) {
        self.datagrams = self.datagrams.saturating_add(1);
        self.bytes = self.bytes.saturating_add(len as u64);
    }
}

/// Counters of one link direction, updated when each verdict is given. Every offered
/// datagram is counted in exactly one of `delivered`, `dropped_mtu`, `dropped_outage`,
/// `dropped_queue_full` and `lost`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct LinkStats {
    /// Every datagram offered.
    pub offered: Tally,
    /// Datagrams that will arrive.
    pub delivered: Tally,
    /// Dropped for exceeding the MTU.
    pub dropped_mtu: Tally,
    /// Dropped during an outage.
    pub dropped_outage: Tally,
    /// Tail-dropped on a full queue.
    pub dropped_queue_full: Tally,
    /// Lost by the loss model (after serialisation).
    pub lost: Tally,
    /// Most datagrams ever waiting or in transmission at once, counting the one admitted.
    pub peak_queue: u32,
    /// Total serialisation time, nanoseconds (delivered and lost datagrams).
    pub busy_ns: u64,
}

impl LinkStats {
    /// Total serialisation time, truncated to the microsecond.
    pub fn busy(&self) -> Duration {
        Duration::from_micros(self.busy_ns / 1_000)
    }

    /// The tally of one drop cause.
    pub fn dropped(&self, cause: DropCause) -> Tally {
        match cause {
            DropCause::Mtu => self.dropped_mtu,
            DropCause::Outage => self.dropped_outage,
            DropCause::QueueFull => self.dropped_queue_full,
            DropCause::Loss => self.lost,
        }
    }
}

/// One direction of one link (see the [module documentation](super) for the model).
///
/// Its parameters and outages are shared, read-only, by every direction made from it with
/// [`LinkDirection::idle_copy`]; its own memory is about 200 bytes plus 16 bytes per
/// datagram waiting or in transmission (a ring of their departure times), so hundreds of
/// thousands of directions are cheap and the state a datagram touches stays compact.
#[derive(Clone, Debug)]
pub struct LinkDirection {
    shape: Arc<Shape>,
    /// The Gilbert-Elliott chain is in Bad.
    bad: bool,
    /// End of transmission (ns, rounded up) of each datagram waiting or in transmission,
    /// oldest first, non-decreasing, except the latest: that one is the busy-until instant
    /// rounded up (`last_departure_ns`). So a direction with at most one datagram in
    /// flight, the common case, never touches this buffer.
    departures: VecDeque<u128>,
    /// The direction is busy until `busy_until_ns + busy_frac / bandwidth_bps`
    /// nanoseconds, exactly (`busy_frac < bandwidth_bps`).
    busy_until_ns: u128,
    busy_frac: u64,
    /// Arrival time (ns) of the last datagram delivered, for FIFO order.
    last_arrival_ns: u128,
    stats: LinkStats,
}

/// What the directions of one kind share: parameters (clamped) and outages.
#[derive(Debug)]
struct Shape {
    latency: LatencyModel,
    bandwidth_bps: u64,
    queue_limit: u32,
    mtu: u32,
    loss: LossModel,
    /// Sorted, disjoint, non-empty spans.
    outages: Box<[OutageSpan]>,
}

impl LinkDirection {
    /// An idle direction with `params` and scheduled `outages`, in any order: empty spans
    /// are ignored, overlapping or touching ones merged.
    pub fn new(params: &LinkParams, outages: impl IntoIterator<Item = OutageSpan>) -> Self {
        let mut spans: Vec<OutageSpan> = outages.into_iter().filter(|s| s.start < s.end).collect();
        spans.sort_unstable();
        let mut merged: Vec<OutageSpan> = Vec::with_capacity(spans.len());
        for s in spans {
            match merged.last_mut() {
                Some(last) if s.start <= last.end => last.end = last.end.max(s.end),
                _ => merged.push(s),
            }
        }
        Self::idle(Arc::new(Shape {
            latency: params.latency,
            bandwidth_bps: params.bandwidth_bps.max(1),
            queue_limit: params.queue_packets.max(1),
            mtu: params.mtu,
            loss: params.loss.clamped(),
            outages: merged.into_boxed_slice(),
        }))
    }

    /// An idle direction with the same parameters and outages as this one, sharing them.
    pub fn idle_copy(&self) -> Self {
        Self::idle(Arc::clone(&self.shape))
    }

    fn idle(shape: Arc<Shape>) -> Self {
        LinkDirection {
            shape,
            bad: false,
            departures: VecDeque::new(),
            busy_until_ns: 0,
            busy_frac: 0,
            last_arrival_ns: 0,
            stats: LinkStats::default(),
        }
    }

    /// Offers a datagram of `len` bytes at `now` and says what becomes of it. Draws from
    /// `rng` only for a datagram that enters the link: first the loss decision, then, if
    /// it is not lost, the latency.
    ///
    /// `now` should not go backwards between calls; if it does, nothing panics and the
    /// datagram still queues behind everything sent before.
    pub fn send<R: Rng + ?Sized>(&mut self, now: Instant, len: usize, rng: &mut R) -> Verdict {
        self.stats.offered.add(len);
        let shape = &*self.shape;
        if len > shape.mtu as usize {
            return self.reject(DropCause::Mtu, len);
        }
        if self.is_down(now) {
            return self.reject(DropCause::Outage, len);
        }
        let now_ns = to_ns(now);
        let queue_limit = shape.queue_limit as usize;
        let pending = self.pending(now_ns);
        if pending >= queue_limit {
            return self.reject(DropCause::QueueFull, len);
        }
        // The latest departure so far becomes an earlier one.
        if pending > 0 {
            let latest = self.last_departure_ns();
            self.departures.push_back(latest);
        }
        let departure_ns = self.serialise(now_ns, len);
        // A datagram that leaves at once (no serialisation time on an idle direction) is
        // never waiting; it counts only towards the peak.
        let queued = pending + 1;
        let queued = u32::try_from(queued).unwrap_or(u32::MAX);
        self.stats.peak_queue = self.stats.peak_queue.max(queued);

        let shape = &*self.shape;
        if shape.loss.draw(&mut self.bad, rng) {
            return self.reject(DropCause::Loss, len);
        }
        let latency_ns = u128::from(shape.latency.sample(rng).as_micros()) * 1_000;
        let arrival_ns = departure_ns
            .saturating_add(latency_ns)
            .max(self.last_arrival_ns);
        self.last_arrival_ns = arrival_ns;
        self.stats.delivered.add(len);
        Verdict::Deliver {
            at: from_ns_ceil(arrival_ns),
        }
    }

    /// The counters so far.
    pub fn stats(&self) -> &LinkStats {
        &self.stats
    }

    /// Whether `now` falls in a scheduled outage.
    pub fn is_down(&self, now: Instant) -> bool {
        let outages = &self.shape.outages;
        let i = outages.partition_point(|s| s.end <= now);
        outages.get(i).is_some_and(|s| s.start <= now)
    }

    /// Datagrams waiting or in transmission at `now` (at most `queue_packets`).
    pub fn queue_len(&self, now: Instant) -> usize {
        let now_ns = to_ns(now);
        if self.last_departure_ns() <= now_ns {
            return 0;
        }
        self.departures.len() - self.departures.partition_point(|&d| d <= now_ns) + 1
    }

    /// End of transmission (ns, rounded up) of the latest datagram admitted.
    fn last_departure_ns(&self) -> u128 {
        self.busy_until_ns
            .saturating_add(u128::from(self.busy_frac > 0))
    }

    /// Forgets the datagrams that have left by `now_ns`; the number still waiting or in
    /// transmission.
    fn pending(&mut self, now_ns: u128) -> usize {
        if self.last_departure_ns() <= now_ns {
            // Everything has left: no need to look at the earlier departures.
            self.departures.clear();
            return 0;
        }
        while self.departures.front().is_some_and(|&d| d <= now_ns) {
            self.departures.pop_front();
        }
        self.departures.len() + 1
    }

    /// When the direction has finished transmitting everything admitted so far, rounded
    /// up to the microsecond.
    pub fn busy_until(&self) -> Instant {
        from_ns_ceil(
            self.busy_until_ns
                .saturating_add(u128::from(self.busy_frac > 0)),
        )
    }

    /// The loss process, e.g. to see whether a Gilbert-Elliott chain is in Bad.
    pub fn loss_state(&self) -> LossState {
        LossState::with_state(self.shape.loss, self.bad)
    }

    /// Occupies the direction for `len` bytes from `max(now, busy until)`, exactly, and
    /// returns the end of transmission rounded up to the nanosecond.
    fn serialise(&mut self, now_ns: u128, len: usize) -> u128 {
        let idle =
            now_ns > self.busy_until_ns || (now_ns == self.busy_until_ns && self.busy_frac == 0);
        let (start_ns, frac) = if idle {
            (now_ns, 0)
        } else {
            (self.busy_until_ns, self.busy_frac)
        };
        // Nanoseconds times bit/s: len * 8 bits take len * 8 * 1e9 / bw nanoseconds.
        let total = (len as u128) * 8 * 1_000_000_000 + u128::from(frac);
        // The remainder is below `bw`, itself a u64. Most totals fit a u64, whose division
        // is several times cheaper than a u128's.
        let (whole, rest) = match u64::try_from(total) {
            Ok(total) => {
                let bw = self.shape.bandwidth_bps;
                (u128::from(total / bw), total % bw)
            }
            Err(_) => {
                let bw = u128::from(self.shape.bandwidth_bps);
                (total / bw, u64::try_from(total % bw).unwrap_or(0))
            }
        };
        self.busy_until_ns = start_ns.saturating_add(whole);
        self.busy_frac = rest;
        self.stats.busy_ns = self
            .stats
            .busy_ns
            .saturating_add(u64::try_from(whole).unwrap_or(u64::MAX));
        if self.departures.is_empty() && self.departures.capacity() > 64 {
            self.departures.shrink_to(16);
        }
        self.busy_until_ns.saturating_add(u128::from(rest > 0))
    }

    fn reject(&mut self, cause: DropCause, len: usize) -> Verdict {
        let tally = match cause {
            DropCause::Mtu => &mut self.stats.dropped_mtu,
            DropCause::Outage => &mut self.stats.dropped_outage,
            DropCause::QueueFull => &mut self.stats.dropped_queue_full,
            DropCause::Loss => &mut self.stats.lost,
        };
        tally.add(len);
        Verdict::Drop(cause)
    }
}

/// Nanoseconds since the Unix epoch. A `u128` holds any instant plus a full queue of
/// MTU-sized datagrams at 1 bit/s; the sums saturate all the same.
fn to_ns(t: Instant) -> u128 {
    u128::from(t.as_micros()) * 1_000
}

/// Rounds nanoseconds up to an [`Instant`], saturating at the far end of time.
fn from_ns_ceil(ns: u128) -> Instant {
    // Every instant until the year 2554 fits a u64 of nanoseconds, whose division is
    // several times cheaper than a u128's (a library call).
    let micros = match u64::try_from(ns) {
        Ok(ns) => ns.div_ceil(1_000),
        Err(_) => u64::try_from(ns.div_ceil(1_000)).unwrap_or(u64::MAX),
    };
    Instant::from_micros(micros)
}

#[cfg(test)]
mod tests {
    use rand_chacha::ChaCha20Rng;
    use rand_core::SeedableRng;

    use super::*;

    fn params() -> LinkParams {
        LinkParams {
            latency: LatencyModel::Fixed(Duration::ZERO),
            bandwidth_bps: 8_000_000,
            queue_packets: 8,
            mtu: 1500,
            loss: LossModel::None,
        }
    }

    fn span(a: u64, b: u64) -> OutageSpan {
        OutageSpan {
            start: Instant::from_micros(a),
            end: Instant::from_micros(b),
        }
    }

    #[test]
    fn outages_are_sorted_merged_and_half_open() {
        let d = LinkDirection::new(
            &params(),
            [
                span(50, 60),
                span(10, 20),
                span(15, 30),
                span(30, 40),
                span(70, 70),
            ],
        );
        assert_eq!(&*d.shape.outages, &[span(10, 40), span(50, 60)]);
        let down: Vec<u64> = (0..80)
            .filter(|&t| d.is_down(Instant::from_micros(t)))
            .collect();
        let expected: Vec<u64> = (10..40).chain(50..60).collect();
        assert_eq!(down, expected);
    }

    #[test]
    fn degenerate_parameters_are_clamped() {
        let p = LinkParams {
            bandwidth_bps: 0,
            queue_packets: 0,
            mtu: 0,
            ..params()
        };
        let mut rng = ChaCha20Rng::seed_from_u64(0);
        let mut d = LinkDirection::new(&p, []);
        let t = Instant::from_unix_secs(1);
        assert_eq!(d.send(t, 1, &mut rng), Verdict::Drop(DropCause::Mtu));
        // An empty datagram fits any MTU and takes no time, even at 1 bit/s.
        assert_eq!(d.send(t, 0, &mut rng), Verdict::Deliver { at: t });
        let far = Instant::from_micros(u64::MAX);
        let p = LinkParams { mtu: u32::MAX, ..p };
        let mut d = LinkDirection::new(&p, []);
        assert_eq!(
            d.send(far, u32::MAX as usize, &mut rng),
            Verdict::Deliver { at: far }
        );
        assert_eq!(
            d.send(far, 1, &mut rng),
            Verdict::Drop(DropCause::QueueFull)
        );
    }

    #[test]
    fn from_model_converts_units() {
        let link = model::Link {
            latency: model::Latency::Fixed { ms: 2.5 },
            bandwidth_kbit_s: 250.0,
            queue_packets: 16,
            mtu: 1280,
            loss: model::Loss::Bernoulli { p: 0.01 },
            shared: false,
        };
        assert_eq!(
            LinkParams::from_model(&link),
            LinkParams {
                latency: LatencyModel::Fixed(Duration::from_micros(2_500)),
                bandwidth_bps: 250_000,
                queue_packets: 16,
                mtu: 1280,
                loss: LossModel::Bernoulli { p: 0.01 },
            }
        );
        let epoch = Instant::from_unix_secs(1_000);
        let outages = [
            model::Outage {
                link: model::LinkTier::Wan,
                start_h: 1.0,
                duration_h: 0.5,
            },
            model::Outage {
                link: model::LinkTier::Cell,
                start_h: 2.0,
                duration_h: 1.0,
            },
            model::Outage {
                link: model::LinkTier::Wan,
                start_h: 3.0,
                duration_h: 0.0,
            },
        ];
        assert_eq!(
            outage_spans(&outages, model::LinkTier::Wan, epoch),
            [OutageSpan {
                start: Instant::from_unix_secs(1_000 + 3_600),
                end: Instant::from_unix_secs(1_000 + 5_400),
            }]
        );
    }

    #[test]
    fn a_direction_is_small() {
        assert!(
            size_of::<LinkDirection>() <= 208,
            "{}",
            size_of::<LinkDirection>()
        );
    }
}
