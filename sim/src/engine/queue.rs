//! The engine's event queue: a binary heap ordered by (time, insertion number), so events at
//! the same instant run in the order they were scheduled (deterministic ties).

use std::cmp::Ordering;
use std::collections::BinaryHeap;

use icsim_protocol::time::Instant;

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

/// A timed event queue.
pub(crate) struct EventQueue<E> {
    heap: BinaryHeap<Entry<E>>,
    seq: u64,
}

impl<E> EventQueue<E> {
    pub(crate) fn new() -> Self {
        EventQueue {
            heap: BinaryHeap::new(),
            seq: 0,
        }
    }

    pub(crate) fn push(&mut self, at: Instant, event: E) {
        self.seq += 1;
        self.heap.push(Entry {
            at,
            seq: self.seq,
            event,
        });
    }

    pub(crate) fn peek_time(&self) -> Option<Instant> {
        self.heap.peek().map(|e| e.at)
    }

    /// The earliest event if it is due before `limit` (exclusive).
    pub(crate) fn pop_before(&mut self, limit: Instant) -> Option<(Instant, E)> {
        if self.heap.peek()?.at >= limit {
            return None;
        }
        self.heap.pop().map(|e| (e.at, e.event))
    }

    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.heap.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
