//! The engine's event queue, ordered by (time, insertion number): events at the same
//! instant run in the order they were queued (deterministic ties). An event may also be
//! queued to run after every ordinary event of its instant, whenever those were queued
//! ([`EventQueue::push_after_others`], for tie rules such as "a delivery and a timer expiry
//! in the same instant: the delivery first").
//!
//! # Structure
//!
//! A hashed timing wheel in front of binary heaps, shaped for an engine that works through
//! time one millisecond tick at a time ([`super::clock::TICK`]):
//!
//! - `current` holds the events of the earliest tick that has events, sorted once when the
//!   tick opens (latest first, so the next is popped from the end), and `added`, a binary
//!   heap, those queued for that tick (or earlier) after it opened; the engine pops the
//!   earlier of their heads, from a working set that stays small and in cache;
//! - `wheel` holds the events of the next [`WHEEL_TICKS`] ticks, one unsorted bucket per
//!   tick, appended to in O(1); a bitmap finds the next non-empty bucket in a few word
//!   operations;
//! - `far`, a binary heap, holds everything later; its events move into the wheel as time
//!   comes within reach, each at most once.
//!
//! When both run dry, the next tick's bucket (or the earliest of `far`) becomes the new
//! `current`. The order of events never depends on which part held them: all compare by
//! (time, insertion number).

use std::cmp::Ordering;
use std::collections::BinaryHeap;

use icsim_protocol::time::Instant;

use super::clock::TICK;

/// Ticks covered by the wheel (256 ms of simulated time). Short on purpose: a bucket is
/// written again soon after it was emptied, so its memory is still in cache; a wheel of
/// 4096 ticks made every insertion a cache miss and fleet-10k about 15 % slower. Link
/// delays and device work mostly fall within it; timers and polls further out wait in
/// `far`, which the engine touches about once per device and retransmission timeout.
const WHEEL_TICKS: u64 = 256;
const WHEEL_WORDS: usize = (WHEEL_TICKS / 64) as usize;

/// The insertion-number bit of events that run after the ordinary events of their instant
/// (insertion numbers stay far below it: 2^63 events would take centuries).
const LATE: u64 = 1 << 63;

struct Entry<E> {
    at: Instant,
    seq: u64,
    event: E,
}

impl<E> PartialEq for Entry<E> {
    fn eq(&self, other: &Self) -> bool {
        (self.at, self.seq) == (other.at, other.seq)
    }
}
impl<E> Eq for Entry<E> {}
impl<E> PartialOrd for Entry<E> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl<E> Ord for Entry<E> {
    /// Reversed, so that the max-heap pops the earliest entry first.
    fn cmp(&self, other: &Self) -> Ordering {
        (other.at, other.seq).cmp(&(self.at, self.seq))
    }
}

fn tick_of(at: Instant) -> u64 {
    at.as_micros() / TICK.as_micros()
}

/// A timed event queue.
pub(crate) struct EventQueue<E> {
    /// Events of tick `tick`, latest first.
    current: Vec<Entry<E>>,
    /// Events for ticks up to `tick` queued after it opened.
    added: BinaryHeap<Entry<E>>,
    /// The tick whose events `current` holds (with any earlier stragglers).
    tick: u64,
    /// Bucket `t % WHEEL_TICKS` holds the events of tick `t`, for `tick < t < tick +
    /// WHEEL_TICKS`.
    wheel: Vec<Vec<Entry<E>>>,
    /// Bit `t % WHEEL_TICKS` is set when that bucket is not empty.
    occupied: [u64; WHEEL_WORDS],
    in_wheel: usize,
    /// Events of ticks from `tick + WHEEL_TICKS` on.
    far: BinaryHeap<Entry<E>>,
    seq: u64,
}

impl<E> EventQueue<E> {
    pub(crate) fn new() -> Self {
        EventQueue {
            current: Vec::new(),
            added: BinaryHeap::new(),
            tick: 0,
            wheel: (0..WHEEL_TICKS).map(|_| Vec::new()).collect(),
            occupied: [0; WHEEL_WORDS],
            in_wheel: 0,
            far: BinaryHeap::new(),
            seq: 0,
        }
    }

    /// Queue `event` for `at`, after the events already queued for the same instant.
    pub(crate) fn push(&mut self, at: Instant, event: E) {
        self.seq += 1;
        let seq = self.seq;
        self.insert(Entry { at, seq, event });
    }

    /// Queue `event` for `at`, to run after every event queued with [`EventQueue::push`]
    /// for the same instant, even those queued later; among themselves such events keep
    /// their insertion order.
    pub(crate) fn push_after_others(&mut self, at: Instant, event: E) {
        self.seq += 1;
        let seq = self.seq | LATE;
        self.insert(Entry { at, seq, event });
    }

    fn insert(&mut self, entry: Entry<E>) {
        let t = tick_of(entry.at);
        if t <= self.tick {
            self.added.push(entry);
        } else if t - self.tick < WHEEL_TICKS {
            let slot = (t % WHEEL_TICKS) as usize;
            self.wheel[slot].push(entry);
            self.occupied[slot / 64] |= 1 << (slot % 64);
            self.in_wheel += 1;
        } else {
            self.far.push(entry);
        }
    }

    /// The time of the earliest event.
    pub(crate) fn peek_time(&mut self) -> Option<Instant> {
        if self.current.is_empty() && self.added.is_empty() {
            self.advance();
        }
        match (self.current.last(), self.added.peek()) {
            // `Entry`'s order is reversed: the greater is the earlier.
            (Some(c), Some(a)) => Some(if c > a { c.at } else { a.at }),
            (Some(c), None) => Some(c.at),
            (None, Some(a)) => Some(a.at),
            (None, None) => None,
        }
    }

    /// The earliest event if it is due before `limit` (exclusive).
    pub(crate) fn pop_before(&mut self, limit: Instant) -> Option<(Instant, E)> {
        if self.peek_time()? >= limit {
            return None;
        }
        let from_current = match (self.current.last(), self.added.peek()) {
            (Some(c), Some(a)) => c > a,
            (c, _) => c.is_some(),
        };
        let entry = if from_current {
            self.current.pop()
        } else {
            self.added.pop()
        };
        entry.map(|e| (e.at, e.event))
    }

    /// Makes the earliest tick with events the current one (`current` and `added` are
    /// empty).
    fn advance(&mut self) {
        let next = match (self.next_wheel_tick(), self.far.peek()) {
            (Some(w), Some(f)) => w.min(tick_of(f.at)),
            (Some(w), None) => w,
            (None, Some(f)) => tick_of(f.at),
            (None, None) => return,
        };
        self.tick = next;
        let slot = (next % WHEEL_TICKS) as usize;
        if self.occupied[slot / 64] & (1 << (slot % 64)) != 0 {
            self.occupied[slot / 64] &= !(1 << (slot % 64));
            let bucket = &mut self.wheel[slot];
            self.in_wheel -= bucket.len();
            // Swap the bucket in (both keep their capacity) and sort it, latest first.
            std::mem::swap(&mut self.current, bucket);
            self.current.sort_unstable();
        }
        // Far events now within the wheel's reach move in (those of `next` into `current`).
        while let Some(f) = self.far.peek() {
            if tick_of(f.at) - next >= WHEEL_TICKS {
                break;
            }
            if let Some(entry) = self.far.pop() {
                self.insert(entry);
            }
        }
    }

    /// The first tick after `tick` whose bucket holds events.
    fn next_wheel_tick(&self) -> Option<u64> {
        if self.in_wheel == 0 {
            return None;
        }
        let start = ((self.tick + 1) % WHEEL_TICKS) as usize;
        // Scan the bitmap circularly from `start`: the distance to the first set bit is the
        // number of ticks ahead.
        for step in 0..=WHEEL_WORDS {
            let word_index = (start / 64 + step) % WHEEL_WORDS;
            let mut word = self.occupied[word_index];
            if step == 0 {
                word &= u64::MAX << (start % 64);
            } else if step == WHEEL_WORDS {
                word &= !(u64::MAX << (start % 64));
            }
            if word != 0 {
                let slot = (word_index * 64) as u64 + u64::from(word.trailing_zeros());
                let ahead = (slot + WHEEL_TICKS - start as u64) % WHEEL_TICKS;
                return Some(self.tick + 1 + ahead);
            }
        }
        None
    }

    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.current.len() + self.added.len() + self.in_wheel + self.far.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn earliest_first_and_ties_in_insertion_order() {
        let mut q = EventQueue::new();
        let t = |us| Instant::from_micros(us);
        q.push(t(5), "c");
        q.push(t(1), "a");
        q.push(t(5), "d");
        q.push(t(1), "b");
        let mut out = Vec::new();
        while let Some((_, e)) = q.pop_before(t(100)) {
            out.push(e);
        }
        assert_eq!(out, ["a", "b", "c", "d"]);
        q.push(t(50), "x");
        assert!(q.pop_before(t(50)).is_none(), "the limit is exclusive");
        assert_eq!(q.len(), 1);
    }

    #[test]
    fn late_events_run_after_the_ordinary_events_of_their_instant() {
        let mut q = EventQueue::new();
        let t = |us| Instant::from_micros(us);
        q.push_after_others(t(5), "timer 1");
        q.push(t(6), "next");
        q.push_after_others(t(5), "timer 2");
        q.push(t(5), "delivery");
        q.push(t(4), "before");
        let mut out = Vec::new();
        while let Some((_, e)) = q.pop_before(t(100)) {
            out.push(e);
        }
        assert_eq!(out, ["before", "delivery", "timer 1", "timer 2", "next"]);
    }

    /// One step of a workload: push at an offset from the last popped time (or from zero),
    /// late or not, or pop.
    #[derive(Debug, Clone)]
    enum Step {
        Push { offset_us: u64, late: bool },
        Pop,
    }

    fn step() -> impl Strategy<Value = Step> {
        prop_oneof![
            // Within a tick, within the wheel, beyond it, and very far.
            (0u64..2_000, any::<bool>())
                .prop_map(|(offset_us, late)| Step::Push { offset_us, late }),
            (0u64..300_000, any::<bool>())
                .prop_map(|(offset_us, late)| Step::Push { offset_us, late }),
            (0u64..6_000_000, any::<bool>())
                .prop_map(|(offset_us, late)| Step::Push { offset_us, late }),
            (0u64..u64::MAX / 4, any::<bool>())
                .prop_map(|(offset_us, late)| Step::Push { offset_us, late }),
            Just(Step::Pop),
            Just(Step::Pop),
        ]
    }

    proptest! {
        /// The queue pops exactly what a sorted list of (time, late, insertion) would, under
        /// any interleaving of pushes (never before the last popped time) and pops.
        #[test]
        fn pops_in_the_same_order_as_a_sorted_reference(steps in prop::collection::vec(step(), 1..400)) {
            let mut q = EventQueue::new();
            let mut reference: Vec<(u64, bool, u64)> = Vec::new();
            let mut now = 0u64;
            let mut n = 0u64;
            let check_pop = |q: &mut EventQueue<u64>, reference: &mut Vec<(u64, bool, u64)>, now: &mut u64| {
                let got = q.pop_before(Instant::from_micros(u64::MAX));
                let want = if reference.is_empty() { None } else { Some(reference.remove(0)) };
                prop_assert_eq!(got.map(|(at, id)| (at.as_micros(), id)), want.map(|(at, _, id)| (at, id)));
                if let Some((at, _, _)) = want {
                    *now = at;
                }
                Ok(())
            };
            for s in steps {
                match s {
                    Step::Push { offset_us, late } => {
                        let at = now.saturating_add(offset_us).min(u64::MAX - 1);
                        n += 1;
                        if late {
                            q.push_after_others(Instant::from_micros(at), n);
                        } else {
                            q.push(Instant::from_micros(at), n);
                        }
                        reference.push((at, late, n));
                        reference.sort();
                    }
                    Step::Pop => check_pop(&mut q, &mut reference, &mut now)?,
                }
                prop_assert_eq!(q.len(), reference.len());
            }
            while !reference.is_empty() {
                check_pop(&mut q, &mut reference, &mut now)?;
            }
            prop_assert!(q.pop_before(Instant::from_micros(u64::MAX)).is_none());
        }
    }
}
