//! A map for keys issued in increasing order (request handles, incoming request ids): a
//! deque of slots from the oldest live key on, so that lookups, insertions and removals
//! are O(1) and move no other entry. A map of one entry holds it inline, as a device's
//! requests almost always are (see `super::smallmap` for why that matters at fleet scale).

use std::collections::VecDeque;

/// Values by `u64` keys that are inserted in increasing order and removed in any order.
///
/// Memory is proportional to the span from the oldest live key to the newest, which the
/// endpoint's timeouts keep short.
#[derive(Debug)]
pub(super) struct SeqMap<V> {
    /// The only entry, while there is one and `slots` is empty.
    one: Option<(u64, V)>,
    /// The key of `slots[0]`.
    base: u64,
    slots: VecDeque<Option<V>>,
    live: usize,
}

impl<V> SeqMap<V> {
    pub(super) fn new() -> Self {
        Self {
            one: None,
            base: 0,
            slots: VecDeque::new(),
            live: 0,
        }
    }

    /// How many keys have a value.
    pub(super) fn len(&self) -> usize {
        self.live
    }

    /// Whether no key has a value.
    #[cfg(test)]
    pub(super) fn is_empty(&self) -> bool {
        self.live == 0
    }

    fn index(&self, key: u64) -> Option<usize> {
        let offset = key.checked_sub(self.base)?;
        usize::try_from(offset)
            .ok()
            .filter(|&i| i < self.slots.len())
    }

    pub(super) fn get(&self, key: u64) -> Option<&V> {
        if let Some((k, v)) = &self.one {
            return (*k == key).then_some(v);
        }
        self.index(key).and_then(|i| self.slots[i].as_ref())
    }

    pub(super) fn get_mut(&mut self, key: u64) -> Option<&mut V> {
        if self.one.is_some() {
            return self.one.as_mut().filter(|(k, _)| *k == key).map(|(_, v)| v);
        }
        self.index(key).and_then(|i| self.slots[i].as_mut())
    }

    pub(super) fn contains_key(&self, key: u64) -> bool {
        self.get(key).is_some()
    }

    /// Inserts `value` at `key`, which must not be below a key inserted before and still
    /// held (keys come from a counter); returns the value it replaces.
    pub(super) fn insert(&mut self, key: u64, value: V) -> Option<V> {
        match self.one.take() {
            Some((k, v)) if k == key => {
                self.one = Some((k, value));
                return Some(v);
            }
            Some((k, v)) => {
                // A second entry: the first moves into the deque, at its first slot.
                self.slots.clear();
                self.slots.push_back(Some(v));
                self.base = k;
            }
            None if self.live == 0 => {
                self.one = Some((key, value));
                self.live = 1;
                return None;
            }
            None => {}
        }
        if self.slots.is_empty() {
            self.base = key;
        }
        if let Some(i) = self.index(key) {
            let old = self.slots[i].replace(value);
            if old.is_none() {
                self.live += 1;
            }
            return old;
        }
        let Some(offset) = key.checked_sub(self.base) else {
            // Below the oldest live key: not how the endpoint uses it. Grow at the front.
            for _ in key..self.base {
                self.slots.push_front(None);
            }
            self.base = key;
            self.slots[0] = Some(value);
            self.live += 1;
            return None;
        };
        while (self.slots.len() as u64) < offset {
            self.slots.push_back(None);
        }
        self.slots.push_back(Some(value));
        self.live += 1;
        None
    }

    /// The entry with the oldest live key.
    pub(super) fn first(&self) -> Option<(u64, &V)> {
        if let Some((k, v)) = &self.one {
            return Some((*k, v));
        }
        // Leading empty slots are trimmed on removal: the front slot is live if any is.
        self.slots.front()?.as_ref().map(|v| (self.base, v))
    }

    pub(super) fn remove(&mut self, key: u64) -> Option<V> {
        if let Some((k, _)) = &self.one {
            if *k != key {
                return None;
            }
            self.live = 0;
            return self.one.take().map(|(_, v)| v);
        }
        let i = self.index(key)?;
        let value = self.slots[i].take()?;
        self.live -= 1;
        while matches!(self.slots.front(), Some(None)) {
            self.slots.pop_front();
            self.base += 1;
        }
        if self.slots.is_empty() {
            // Back to the buffer's first slot (see `crate::fifo`); keys are unaffected.
            self.slots.clear();
        }
        Some(value)
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::SeqMap;

    /// A small deterministic stream for the tests (an LCG's upper bits).
    fn next_random(state: &mut u64) -> u64 {
        *state = state
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        *state >> 33
    }

    #[test]
    fn behaves_like_a_btreemap_for_counter_keys() {
        let mut ours = SeqMap::new();
        let mut model = BTreeMap::new();
        let mut next = 0u64;
        let mut state = 12345u64;
        for _ in 0..20_000 {
            let r = next_random(&mut state);
            if r.is_multiple_of(3) || model.is_empty() {
                next += 1 + r % 2;
                assert_eq!(ours.insert(next, r), model.insert(next, r));
            } else {
                let key = next.saturating_sub(r % 40);
                assert_eq!(ours.remove(key), model.remove(&key));
            }
            let probe = next.saturating_sub(r % 50);
            assert_eq!(ours.get(probe), model.get(&probe));
            assert_eq!(ours.first(), model.first_key_value().map(|(k, v)| (*k, v)));
            assert_eq!(ours.len(), model.len());
        }
    }

    /// With one to three entries at a time (a device's requests), the map goes back and forth
    /// between its inline entry, the deque and empty, and still behaves as the model.
    #[test]
    fn behaves_like_a_btreemap_with_few_entries() {
        let mut ours = SeqMap::new();
        let mut model = BTreeMap::new();
        let mut next = 0u64;
        let mut state = 777u64;
        for _ in 0..20_000 {
            let r = next_random(&mut state);
            match r % 4 {
                0 | 1 if model.len() < 3 => {
                    next += 1 + r % 3;
                    assert_eq!(ours.insert(next, r), model.insert(next, r));
                }
                0 => assert_eq!(ours.insert(next, r), model.insert(next, r)),
                2 => {
                    let key = model.keys().next().copied().unwrap_or(next);
                    assert_eq!(ours.remove(key), model.remove(&key));
                }
                _ => {
                    let key = next.saturating_sub(r % 3);
                    assert_eq!(ours.remove(key), model.remove(&key));
                }
            }
            for probe in next.saturating_sub(3)..=next + 1 {
                assert_eq!(ours.get(probe), model.get(&probe));
                assert_eq!(ours.get_mut(probe), model.get_mut(&probe));
            }
            assert_eq!(ours.first(), model.first_key_value().map(|(k, v)| (*k, v)));
            assert_eq!(ours.len(), model.len());
        }
    }
}
