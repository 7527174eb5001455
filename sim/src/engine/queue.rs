//! The engine's event queue, ordered by (time, insertion number): events at the same
//! instant run in the order they were queued (deterministic ties). An event may also be
//! queued to run after every ordinary event of its instant, whenever those were queued
//! ([`EventQueue::push_after_others`], for tie rules such as "a delivery and a timer expiry
//! in the same instant: the delivery first").
//!
//! # Structure
//!
//! Two timing wheels in front of binary heaps, shaped for an engine that works through
//! time one millisecond tick at a time ([`super::clock::TICK`]):
//!
//! - `current` holds the events of the earliest tick that has events, sorted once when the
//!   tick opens (latest first, so the next is popped from the end), and `added`, a binary
//!   heap, those queued for that tick (or earlier) after it opened; the engine pops the
//!   earlier of their heads, from a working set that stays small and in cache;
//! - `wheel` holds the events of the ticks after the current one up to the end of the next
//!   span ([`SPAN_TICKS`] ticks, aligned), one unsorted bucket per tick, appended to in
//!   O(1) into the buffer released last; a bitmap finds the next non-empty bucket in a
//!   few word operations;
//! - `spans`, the coarse wheel, holds the events of the following [`SPANS`] spans (about
//!   a minute), one unsorted bucket per span: link delays of slow radios, protocol
//!   timers and polls. A span's bucket moves into `wheel` whole, each event once, when the
//!   span becomes the next one;
//! - `far`, a binary heap, holds everything later (rollout timeouts, report samples); its
//!   events move into `wheel` directly when their span becomes the next one.
//!
//! When both `current` and `added` run dry, the next tick's bucket becomes the new
//! `current`. The order of events never depends on which part held them: all compare by
//! (time, insertion number).

use std::cmp::Ordering;
use std::collections::BinaryHeap;

use icsim_protocol::time::Instant;

use super::clock::TICK;

/// Ticks in a span, the coarse wheel's bucket width (128 ms of simulated time).
const SPAN_TICKS: u64 = 128;
/// Ticks covered by the fine wheel: the rest of the current span and the whole next one.
/// Short on purpose: a wheel of 4096 ticks, each bucket with a buffer of its own, made
/// every insertion a cache miss and fleet-10k about 15 % slower. (Buckets now share their
/// buffers, see [`Wheel`]; the short wheel also keeps the bitmap scan to four words.)
const WHEEL_TICKS: u64 = 2 * SPAN_TICKS;
const WHEEL_WORDS: usize = (WHEEL_TICKS / 64) as usize;
/// Spans covered by the coarse wheel (65 s: retransmission timers, polls and slow radio
/// links, but not rollout timeouts or report samples). Before it, every event due in more than
/// 256 ms went through one binary heap, which held hundreds of thousands of events in a
/// 100,000-PLC run and missed the cache at every level of every pop.
const SPANS: u64 = 512;
const SPAN_WORDS: usize = (SPANS / 64) as usize;

/// The insertion-number bit of events that run after the ordinary events of their instant
/// (insertion numbers stay far below it: 2^63 events would take centuries).
const LATE: u64 = 1 << 63;
/// Ticks with more events than this are sorted by counting (see [`TickSorter`]); smaller
/// ones by comparison, where an insertion sort is cheap.
const COUNTING_SORT_ABOVE: usize = 24;
/// Ticks whose events have more distinct keys than this many per event are sorted by
/// comparison (see [`TickSorter`]).
const KEYS_PER_EVENT: usize = 2;
// A sort key holds a microsecond within the tick and the late flag in a `u16`.
const _: () = assert!(TICK.as_micros() <= 1 << 15);

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

fn span_of(tick: u64) -> u64 {
    tick / SPAN_TICKS
}

/// A ring of unsorted buckets with a bitmap of the non-empty ones.
///
/// An empty bucket holds no buffer. A bucket that receives an entry takes the buffer
/// released last (last in, first out), which was read a moment ago and is still in the
/// processor's cache; a buffer of its own would have been untouched since the bucket last
/// held entries, seconds of simulated time before, and every push would miss the cache.
struct Wheel<E, const WORDS: usize> {
    buckets: Vec<Vec<Entry<E>>>,
    occupied: [u64; WORDS],
    len: usize,
    /// Emptied buffers, the one released last on top.
    spares: Vec<Vec<Entry<E>>>,
}

impl<E, const WORDS: usize> Wheel<E, WORDS> {
    const SLOTS: u64 = 64 * WORDS as u64;

    fn new() -> Self {
        Wheel {
            buckets: (0..Self::SLOTS).map(|_| Vec::new()).collect(),
            occupied: [0; WORDS],
            len: 0,
            spares: Vec::new(),
        }
    }

    /// Append `entry` to the bucket of `key` (a tick or a span).
    fn push(&mut self, key: u64, entry: Entry<E>) {
        let slot = (key % Self::SLOTS) as usize;
        let bucket = &mut self.buckets[slot];
        if bucket.capacity() == 0
            && let Some(spare) = self.spares.pop()
        {
            *bucket = spare;
        }
        bucket.push(entry);
        self.occupied[slot / 64] |= 1 << (slot % 64);
        self.len += 1;
    }

    /// Moves the entries of the bucket of `key` into `with`, which must be empty; the
    /// buffer `with` had becomes a spare.
    fn take(&mut self, key: u64, with: &mut Vec<Entry<E>>) {
        let slot = (key % Self::SLOTS) as usize;
        if self.occupied[slot / 64] & (1 << (slot % 64)) != 0 {
            self.occupied[slot / 64] &= !(1 << (slot % 64));
            let bucket = std::mem::take(&mut self.buckets[slot]);
            self.len -= bucket.len();
            self.recycle(std::mem::replace(with, bucket));
        }
    }

    /// Keeps an emptied buffer for the next bucket that receives an entry.
    fn recycle(&mut self, mut buffer: Vec<Entry<E>>) {
        if buffer.capacity() > 0 {
            buffer.clear();
            self.spares.push(buffer);
        }
    }

    /// The first key after `after` whose bucket holds entries, among the next `SLOTS`.
    fn next_after(&self, after: u64) -> Option<u64> {
        if self.len == 0 {
            return None;
        }
        let start = ((after + 1) % Self::SLOTS) as usize;
        // Scan the bitmap circularly from `start`: the distance to the first set bit is the
        // number of keys ahead.
        for step in 0..=WORDS {
            let word_index = (start / 64 + step) % WORDS;
            let mut word = self.occupied[word_index];
            if step == 0 {
                word &= u64::MAX << (start % 64);
            } else if step == WORDS {
                word &= !(u64::MAX << (start % 64));
            }
            if word != 0 {
                let slot = (word_index * 64) as u64 + u64::from(word.trailing_zeros());
                let ahead = (slot + Self::SLOTS - start as u64) % Self::SLOTS;
                return Some(after + 1 + ahead);
            }
        }
        None
    }
}

/// Sorts the events of one tick, latest first, as `Entry`'s order does.
///
/// A crowded tick whose events fall on few distinct microseconds (block-fetch has dozens to
/// hundreds of events in each, all on whole milliseconds) is sorted by counting: by
/// microsecond within the tick and late flag, a key of 11 bits, stably. Within one key, a
/// bucket's events are nearly always in insertion order already, since the wheels append
/// them in that order; the rare run that is not (events that came from the far heap) is
/// sorted by insertion number. A comparison sort of the same ticks took a fifth of
/// block-fetch's instructions at 10,000 devices. Other ticks, among them a fleet's, whose
/// events spread over the tick's microseconds, are sorted by comparison. Keys (time,
/// insertion number) are unique, so the order is exactly that of a comparison sort either
/// way. The buffers are kept for their capacity.
struct TickSorter<E> {
    /// Per event: its key (microsecond within the tick, late flag).
    keys: Vec<u16>,
    /// Events per key, then the next position of each key.
    counts: Vec<u32>,
    /// Event positions in ascending order.
    order: Vec<u32>,
    /// The events taken out, by position.
    slots: Vec<Option<Entry<E>>>,
}

impl<E> Default for TickSorter<E> {
    fn default() -> Self {
        TickSorter {
            keys: Vec::new(),
            counts: Vec::new(),
            order: Vec::new(),
            slots: Vec::new(),
        }
    }
}

impl<E> TickSorter<E> {
    /// Sorts `events`, all of the tick that starts at `tick_start` (microseconds), latest
    /// first. Not inlined: once per tick, and it would only swell the engine's pop.
    #[inline(never)]
    fn sort(&mut self, events: &mut Vec<Entry<E>>, tick_start: u64) {
        if events.len() <= COUNTING_SORT_ABOVE || !self.count(events, tick_start) {
            events.sort_unstable();
            return;
        }
        // Runs of one key out of insertion order: sorted by insertion number.
        let mut run_start = 0;
        while run_start < self.order.len() {
            let key = self.keys[self.order[run_start] as usize];
            let run_end = self.order[run_start..]
                .iter()
                .position(|&i| self.keys[i as usize] != key)
                .map_or(self.order.len(), |len| run_start + len);
            let run = &mut self.order[run_start..run_end];
            if !run.is_sorted_by_key(|&i| events[i as usize].seq) {
                run.sort_unstable_by_key(|&i| events[i as usize].seq);
            }
            run_start = run_end;
        }
        self.slots.clear();
        self.slots.extend(events.drain(..).map(Some));
        for &i in self.order.iter().rev() {
            if let Some(entry) = self.slots[i as usize].take() {
                events.push(entry);
            }
        }
    }

    /// Fills `order` with the positions of `events` stably sorted by key; `false` if the
    /// keys span too wide a range for counting to pay, an event lies outside the tick
    /// (never: the fine wheel's bucket holds one tick), or there are too many to number
    /// with a `u32`.
    fn count(&mut self, events: &[Entry<E>], tick_start: u64) -> bool {
        if u32::try_from(events.len()).is_err() {
            return false;
        }
        // Counting pays when the keys are few: block-fetch's events fall on whole
        // milliseconds. A fleet's are spread over the tick's microseconds, where a pass
        // over a thousand counters would cost more than the comparison sort; such a tick
        // shows it within its first few events.
        let most_keys = events.len() * KEYS_PER_EVENT;
        self.keys.clear();
        let (mut lowest, mut highest) = (u16::MAX, 0);
        for entry in events {
            let Some(offset) = entry.at.as_micros().checked_sub(tick_start) else {
                return false;
            };
            if offset >= TICK.as_micros() {
                return false;
            }
            // Below the tick's microseconds, at most 2^15 (asserted above): fits.
            let key = (offset as u16) << 1 | u16::from(entry.seq & LATE != 0);
            lowest = lowest.min(key);
            highest = highest.max(key);
            if usize::from(highest - lowest) >= most_keys {
                return false;
            }
            self.keys.push(key);
        }
        let range = usize::from(highest - lowest) + 1;
        self.counts.clear();
        self.counts.resize(range, 0);
        for &key in &self.keys {
            self.counts[usize::from(key - lowest)] += 1;
        }
        let mut next = 0;
        for count in &mut self.counts {
            let here = *count;
            *count = next;
            next += here;
        }
        self.order.clear();
        self.order.resize(events.len(), 0);
        for (position, &key) in self.keys.iter().enumerate() {
            let slot = &mut self.counts[usize::from(key - lowest)];
            self.order[*slot as usize] = position as u32;
            *slot += 1;
        }
        true
    }
}

/// A timed event queue.
pub(crate) struct EventQueue<E> {
    /// Events of tick `tick`, latest first.
    current: Vec<Entry<E>>,
    /// Events for ticks up to `tick` queued after it opened.
    added: BinaryHeap<Entry<E>>,
    /// The tick whose events `current` holds (with any earlier stragglers).
    tick: u64,
    /// Events of the ticks after `tick` up to the end of span `span_of(tick) + 1`, by tick.
    wheel: Wheel<E, WHEEL_WORDS>,
    /// Events of the spans from `span_of(tick) + 2` on, up to [`SPANS`] spans ahead, by span.
    spans: Wheel<E, SPAN_WORDS>,
    /// Events of later spans.
    far: BinaryHeap<Entry<E>>,
    seq: u64,
    sorter: TickSorter<E>,
}

impl<E> EventQueue<E> {
    pub(crate) fn new() -> Self {
        EventQueue {
            current: Vec::new(),
            added: BinaryHeap::new(),
            tick: 0,
            wheel: Wheel::new(),
            spans: Wheel::new(),
            far: BinaryHeap::new(),
            seq: 0,
            sorter: TickSorter::default(),
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
        let ahead = span_of(t).saturating_sub(span_of(self.tick));
        if t <= self.tick {
            self.added.push(entry);
        } else if ahead <= 1 {
            self.wheel.push(t, entry);
        } else if ahead < SPANS {
            self.spans.push(span_of(t), entry);
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
        loop {
            if let Some(next) = self.wheel.next_after(self.tick) {
                // The fine wheel holds everything up to the end of the next span, so its
                // first tick is the earliest of all.
                let (from, to) = (span_of(self.tick) + 2, span_of(next) + 1);
                self.tick = next;
                self.wheel.take(next, &mut self.current);
                // Spans that just became the next one move into the fine wheel.
                for span in from..=to {
                    self.pull_span(span);
                }
                self.sorter.sort(&mut self.current, next * TICK.as_micros());
                return;
            }
            // The fine wheel is empty: jump to just before the earliest later span, which
            // then becomes the next one, and look again.
            let coarse = self.spans.next_after(span_of(self.tick) + 1);
            let far = self.far.peek().map(|f| span_of(tick_of(f.at)));
            let Some(span) = coarse.into_iter().chain(far).min() else {
                return;
            };
            self.tick = span * SPAN_TICKS - 1;
            self.pull_span(span);
        }
    }

    /// Moves the events of `span`, now at most the next span, from the coarse wheel and
    /// the far heap into the fine wheel.
    fn pull_span(&mut self, span: u64) {
        let mut moving = Vec::new();
        self.spans.take(span, &mut moving);
        for entry in moving.drain(..) {
            self.insert(entry);
        }
        // The emptied buffer, with its capacity, is the coarse wheel's next spare.
        self.spans.recycle(moving);
        while let Some(f) = self.far.peek() {
            if span_of(tick_of(f.at)) > span {
                break;
            }
            if let Some(entry) = self.far.pop() {
                self.insert(entry);
            }
        }
    }

    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.current.len() + self.added.len() + self.wheel.len + self.spans.len + self.far.len()
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

    /// Queues `id` at `at` microseconds, after the others of its instant if `late`.
    fn push_either<T>(q: &mut EventQueue<T>, at: u64, late: bool, id: T) {
        if late {
            q.push_after_others(Instant::from_micros(at), id);
        } else {
            q.push(Instant::from_micros(at), id);
        }
    }

    /// Pops everything from `q` and checks it against `reference`, (time, late, id) in any
    /// order: the queue must give them sorted, and nothing more.
    fn pops_exactly<T: Ord + std::fmt::Debug>(
        q: &mut EventQueue<T>,
        mut reference: Vec<(u64, bool, T)>,
    ) -> Result<(), TestCaseError> {
        reference.sort();
        for (at, _, id) in reference {
            prop_assert_eq!(
                q.pop_before(Instant::from_micros(u64::MAX)),
                Some((Instant::from_micros(at), id))
            );
        }
        prop_assert!(q.pop_before(Instant::from_micros(u64::MAX)).is_none());
        Ok(())
    }

    proptest! {
        /// Crowded ticks, as fleet runs have in busy hours (hundreds of events in one
        /// tick, many at the same microsecond, late or not, pushed in any order), pop in
        /// the order of a sorted reference. The workload above rarely puts more than a
        /// few events in one tick.
        #[test]
        fn crowded_ticks_pop_in_order(
            events in prop::collection::vec((0u64..3_000, 0u64..4, any::<bool>()), 1..600),
        ) {
            let mut q = EventQueue::new();
            let mut reference = Vec::new();
            for (n, &(us, coarse, late)) in events.iter().enumerate() {
                // Few distinct microseconds over four ticks: ties are common.
                let at = 10_000 + (us / 7) * 7 + coarse;
                push_either(&mut q, at, late, n);
                reference.push((at, late, n));
            }
            pops_exactly(&mut q, reference)?;
        }
    }

    proptest! {
        /// A crowded tick whose events reach its bucket three ways: from the far heap
        /// (queued more than a minute ahead), from the coarse wheel (seconds ahead) and
        /// directly (within the fine wheel). The far ones are appended after the coarse
        /// ones though queued earlier, so the bucket is out of insertion order within one
        /// microsecond: the counting sort must still pop exactly the sorted order.
        #[test]
        fn crowded_ticks_filled_from_every_part_pop_in_order(
            phases in prop::collection::vec(
                prop::collection::vec((0u64..1_000, any::<bool>()), 0..40),
                3,
            ),
        ) {
            const TICK_AT: u64 = 100_000_000; // 100 s: beyond the coarse wheel at first.
            let mut q = EventQueue::new();
            let mut reference = Vec::new();
            let mut n = 0u64;
            // Before each phase, a marker that brings the queue to the given time.
            let markers = [None, Some(TICK_AT - 30_000_000), Some(TICK_AT - 100_000)];
            for (events, marker) in phases.iter().zip(markers) {
                if let Some(at) = marker {
                    n += 1;
                    q.push(Instant::from_micros(at), n);
                    prop_assert_eq!(
                        q.pop_before(Instant::from_micros(u64::MAX)),
                        Some((Instant::from_micros(at), n))
                    );
                }
                for &(us, late) in events {
                    // Three distinct microseconds, as on block-fetch's whole milliseconds:
                    // ties are the rule, and the tick is sorted by counting.
                    let at = TICK_AT + us % 3;
                    n += 1;
                    push_either(&mut q, at, late, n);
                    reference.push((at, late, n));
                }
            }
            pops_exactly(&mut q, reference)?;
        }
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
            // Within a tick, within the fine wheel, within the coarse one, beyond it, and very far.
            (0u64..2_000, any::<bool>())
                .prop_map(|(offset_us, late)| Step::Push { offset_us, late }),
            (0u64..300_000, any::<bool>())
                .prop_map(|(offset_us, late)| Step::Push { offset_us, late }),
            (0u64..6_000_000, any::<bool>())
                .prop_map(|(offset_us, late)| Step::Push { offset_us, late }),
            (0u64..600_000_000, any::<bool>())
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
                        push_either(&mut q, at, late, n);
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
