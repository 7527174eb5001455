//! A first-in-first-out queue that goes back to the start of its buffer when it empties.
//!
//! A `VecDeque` that is pushed to and drained one entry at a time walks its whole ring
//! buffer, a new slot at every push, and does not go back to the first slot when it
//! empties. The event and datagram queues of an endpoint or a device hold one entry at a
//! time almost always, so each push would write a slot last touched several pushes (and, in
//! a large fleet, thousands of other devices' events) before: a cache miss. [`Fifo`] rewinds
//! an empty queue before it pushes, which keeps those pushes on the buffer's first slot.
//! Only where in the buffer entries are stored changes, never their order.

use std::collections::VecDeque;

/// A FIFO queue (a `VecDeque`) whose pushes into an empty queue go to the start of its
/// buffer. See the [module documentation](self).
#[derive(Debug, Clone)]
pub(crate) struct Fifo<T>(VecDeque<T>);

impl<T> Default for Fifo<T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T> Fifo<T> {
    /// An empty queue; it allocates at its first push.
    pub(crate) const fn new() -> Self {
        Fifo(VecDeque::new())
    }

    /// Appends `item`; into the buffer's first slot if the queue is empty.
    #[inline]
    pub(crate) fn push_back(&mut self, item: T) {
        if self.0.is_empty() {
            // On an empty queue, `clear` only resets the buffer position (its head).
            self.0.clear();
        }
        self.0.push_back(item);
    }

    /// Removes and returns the oldest entry.
    #[inline]
    pub(crate) fn pop_front(&mut self) -> Option<T> {
        self.0.pop_front()
    }

    /// Whether the queue holds no entry.
    pub(crate) fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Keeps only the entries for which `keep` holds, in order.
    pub(crate) fn retain(&mut self, keep: impl FnMut(&T) -> bool) {
        self.0.retain(keep);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The address of the queue's front slot.
    fn front_slot<T>(queue: &VecDeque<T>) -> usize {
        queue.as_slices().0.as_ptr() as usize
    }

    #[test]
    fn a_drained_queue_reuses_its_first_slot_and_keeps_the_order() {
        let mut plain = VecDeque::with_capacity(4);
        let mut fifo = Fifo::new();
        plain.push_back(0u64);
        fifo.push_back(0u64);
        let (first_plain, first_fifo) = (front_slot(&plain), front_slot(&fifo.0));
        for i in 1..10u64 {
            assert_eq!(plain.pop_front(), Some(i - 1));
            assert_eq!(fifo.pop_front(), Some(i - 1));
            plain.push_back(i);
            fifo.push_back(i);
        }
        // The plain queue has moved on through its ring; the FIFO has not.
        assert_ne!(front_slot(&plain), first_plain);
        assert_eq!(front_slot(&fifo.0), first_fifo);
        // With entries waiting, pushes go behind them: first in, first out.
        fifo.push_back(10);
        fifo.push_back(11);
        fifo.retain(|&i| i != 10);
        let drained: Vec<u64> = std::iter::from_fn(|| fifo.pop_front()).collect();
        assert_eq!(drained, [9, 11]);
        assert!(fifo.is_empty());
    }
}
