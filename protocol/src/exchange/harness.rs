//! A network of sans-I/O nodes without a simulator: a virtual clock that jumps to the next
//! event, a fixed one-way latency, and a man-in-the-middle hook that sees every datagram
//! and may drop, delay, replay or alter it (in the manner of rustls-test's
//! `transfer_altered` and turmoil's link rules). Used by the protocol's own tests and by
//! anyone who wants to run one device's update end to end in a unit test.
//!
//! The harness does not own the nodes: each [`Wire::step`] takes them as a slice, so the
//! caller keeps typed access (events, power cycles) between steps.

use std::collections::BTreeMap;

use super::{Addr, Node};
use crate::time::{Duration, Instant};

/// What the man in the middle does with one datagram.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Deliver it after the link latency.
    Deliver,
    /// Drop it.
    Drop,
    /// Deliver it after the latency plus this extra delay.
    Delay(Duration),
    /// Deliver these bytes instead.
    Replace(Vec<u8>),
    /// Deliver it, and a copy again this long after the first delivery.
    Replay(Duration),
}

/// A man in the middle on every path of the wire.
pub trait Mitm {
    /// Decide about one datagram from `from` to `to`, sent at `now`.
    fn inspect(&mut self, now: Instant, from: Addr, to: Addr, bytes: &[u8]) -> Verdict;
}

/// No interference.
impl Mitm for () {
    fn inspect(&mut self, _: Instant, _: Addr, _: Addr, _: &[u8]) -> Verdict {
        Verdict::Deliver
    }
}

impl<F: FnMut(Instant, Addr, Addr, &[u8]) -> Verdict> Mitm for F {
    fn inspect(&mut self, now: Instant, from: Addr, to: Addr, bytes: &[u8]) -> Verdict {
        self(now, from, to, bytes)
    }
}

/// One datagram as it was sent, with the verdict it got.
#[derive(Debug, Clone)]
pub struct WireRecord {
    /// When it was sent.
    pub at: Instant,
    /// Sender.
    pub from: Addr,
    /// Destination.
    pub to: Addr,
    /// The bytes the sender sent.
    pub bytes: Vec<u8>,
    /// What the man in the middle did.
    pub verdict: Verdict,
}

#[derive(Debug)]
struct InFlight {
    from: Addr,
    to: Addr,
    bytes: Vec<u8>,
}

/// The wire: clock, latency, man in the middle, datagrams in flight and the log.
#[derive(Debug)]
pub struct Wire<M> {
    now: Instant,
    latency: Duration,
    mitm: M,
    in_flight: BTreeMap<(Instant, u64), InFlight>,
    seq: u64,
    log: Vec<WireRecord>,
}

impl<M: Mitm> Wire<M> {
    /// A wire starting at `start` with a one-way `latency` on every path.
    pub fn new(start: Instant, latency: Duration, mitm: M) -> Self {
        Wire {
            now: start,
            latency,
            mitm,
            in_flight: BTreeMap::new(),
            seq: 0,
            log: Vec::new(),
        }
    }

    /// The current virtual time.
    pub fn now(&self) -> Instant {
        self.now
    }

    /// Every datagram sent so far.
    pub fn log(&self) -> &[WireRecord] {
        &self.log
    }

    /// The man in the middle (e.g. to read what it recorded).
    pub fn mitm(&mut self) -> &mut M {
        &mut self.mitm
    }

    /// Put a datagram on the wire as if `from` had sent it now (an injected packet).
    pub fn inject(&mut self, from: Addr, to: Addr, bytes: Vec<u8>) {
        self.enqueue(self.now + self.latency, from, to, bytes);
    }

    /// Collect what the nodes send, then advance the clock to the next delivery or timer
    /// and process everything due then. Returns the new time, or `None` when nothing is
    /// left to happen (no datagram in flight, no timer) or the next event lies beyond
    /// `deadline`.
    pub fn step(
        &mut self,
        nodes: &mut [(Addr, &mut dyn Node)],
        deadline: Instant,
    ) -> Option<Instant> {
        self.collect(nodes);
        let next_delivery = self.in_flight.keys().next().map(|(t, _)| *t);
        let next_timer = nodes.iter().filter_map(|(_, n)| n.poll_timeout()).min();
        let next = [next_delivery, next_timer].into_iter().flatten().min()?;
        if next > deadline {
            return None;
        }
        self.now = self.now.max(next);
        while let Some(entry) = self.in_flight.first_entry() {
            if entry.key().0 > self.now {
                break;
            }
            let d = entry.remove();
            if let Some((_, node)) = nodes.iter_mut().find(|(a, _)| *a == d.to) {
                node.handle_datagram(self.now, d.from, &d.bytes);
            }
        }
        for (_, node) in nodes.iter_mut() {
            if node.poll_timeout().is_some_and(|t| t <= self.now) {
                node.handle_timeout(self.now);
            }
        }
        self.collect(nodes);
        Some(self.now)
    }

    fn collect(&mut self, nodes: &mut [(Addr, &mut dyn Node)]) {
        for (addr, node) in nodes.iter_mut() {
            while let Some(t) = node.poll_transmit() {
                let verdict = self
                    .mitm
                    .inspect(self.now, *addr, t.destination, &t.contents);
                let arrive = self.now + self.latency;
                match &verdict {
                    Verdict::Deliver => {
                        self.enqueue(arrive, *addr, t.destination, t.contents.clone())
                    }
                    Verdict::Drop => {}
                    Verdict::Delay(d) => {
                        self.enqueue(arrive + *d, *addr, t.destination, t.contents.clone())
                    }
                    Verdict::Replace(bytes) => {
                        self.enqueue(arrive, *addr, t.destination, bytes.clone())
                    }
                    Verdict::Replay(after) => {
                        self.enqueue(arrive, *addr, t.destination, t.contents.clone());
                        self.enqueue(arrive + *after, *addr, t.destination, t.contents.clone());
                    }
                }
                self.log.push(WireRecord {
                    at: self.now,
                    from: *addr,
                    to: t.destination,
                    bytes: t.contents,
                    verdict,
                });
            }
        }
    }

    fn enqueue(&mut self, at: Instant, from: Addr, to: Addr, bytes: Vec<u8>) {
        self.seq += 1;
        self.in_flight
            .insert((at, self.seq), InFlight { from, to, bytes });
    }
}
