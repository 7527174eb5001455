//! Ordered maps and sets for the endpoint's tables, which mostly hold a handful of entries
//! (a device has one request in flight to one peer) and sometimes thousands (an Update
//! Manager talking to a whole fleet).
//!
//! A table of no entry or one holds it inline: a device fetching a payload block by block
//! inserts and removes one token, one message ID and one timer per block, and each would
//! otherwise be a search over a heap buffer of its own, last touched a block before (with
//! thousands of devices between two of its blocks, a cache miss each). A second entry
//! moves the table into a sorted vector, where a lookup is a binary search over a few
//! entries; the vector is given up when the table is empty again, and the table is inline
//! once more. Past [`SMALL_LIMIT`] entries the table becomes a `BTreeMap` for good.
//! Whatever its form it behaves as an ordered map: the same operations give the same
//! results in the same order.

use std::collections::BTreeMap;

/// Entries a table keeps in a sorted vector before it becomes a `BTreeMap`.
const SMALL_LIMIT: usize = 32;

/// The capacity of the vector a table moves into at its second entry.
const SPILL_CAPACITY: usize = 4;

/// An ordered map; see the [module documentation](self).
#[derive(Debug, Clone)]
pub(super) enum SmallMap<K, V> {
    /// No entry or one, inline.
    One(Option<(K, V)>),
    /// Sorted by key, at most [`SMALL_LIMIT`] entries.
    Small(Vec<(K, V)>),
    /// Grew past [`SMALL_LIMIT`] entries.
    Large(BTreeMap<K, V>),
}

impl<K: Ord, V> Default for SmallMap<K, V> {
    fn default() -> Self {
        SmallMap::One(None)
    }
}

impl<K: Ord, V> SmallMap<K, V> {
    pub(super) fn new() -> Self {
        Self::default()
    }

    pub(super) fn len(&self) -> usize {
        match self {
            SmallMap::One(entry) => usize::from(entry.is_some()),
            SmallMap::Small(v) => v.len(),
            SmallMap::Large(m) => m.len(),
        }
    }

    #[cfg(test)]
    pub(super) fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub(super) fn get(&self, key: &K) -> Option<&V> {
        match self {
            SmallMap::One(entry) => entry.as_ref().filter(|(k, _)| k == key).map(|(_, v)| v),
            SmallMap::Small(v) => v
                .binary_search_by(|(k, _)| k.cmp(key))
                .ok()
                .map(|i| &v[i].1),
            SmallMap::Large(m) => m.get(key),
        }
    }

    pub(super) fn get_mut(&mut self, key: &K) -> Option<&mut V> {
        match self {
            SmallMap::One(entry) => entry.as_mut().filter(|(k, _)| k == key).map(|(_, v)| v),
            SmallMap::Small(v) => match v.binary_search_by(|(k, _)| k.cmp(key)) {
                Ok(i) => Some(&mut v[i].1),
                Err(_) => None,
            },
            SmallMap::Large(m) => m.get_mut(key),
        }
    }

    pub(super) fn contains_key(&self, key: &K) -> bool {
        self.get(key).is_some()
    }

    /// Inserts `value` at `key`; returns the value it replaces.
    pub(super) fn insert(&mut self, key: K, value: V) -> Option<V> {
        if let SmallMap::One(entry) = self {
            match entry {
                None => {
                    *entry = Some((key, value));
                    return None;
                }
                Some((k, v)) if *k == key => return Some(std::mem::replace(v, value)),
                Some(_) => self.spill(),
            }
        }
        self.grow_for(&key);
        match self {
            // A key past the last (always so in an empty table) is appended: no search, no
            // shift.
            SmallMap::Small(v) if v.last().is_none_or(|(k, _)| *k < key) => {
                v.push((key, value));
                None
            }
            SmallMap::Small(v) => match v.binary_search_by(|(k, _)| k.cmp(&key)) {
                Ok(i) => Some(std::mem::replace(&mut v[i].1, value)),
                Err(i) => {
                    v.insert(i, (key, value));
                    None
                }
            },
            SmallMap::Large(m) => m.insert(key, value),
            // `spill` left no inline table behind.
            SmallMap::One(_) => None,
        }
    }

    /// Moves an inline table into a vector, for a second entry.
    fn spill(&mut self) {
        if let SmallMap::One(entry) = self {
            let mut v = Vec::with_capacity(SPILL_CAPACITY);
            v.extend(entry.take());
            *self = SmallMap::Small(v);
        }
    }

    /// Turns a full vector into a tree if `key` is not in it (and would be added).
    fn grow_for(&mut self, key: &K) {
        if let SmallMap::Small(v) = self
            && v.len() >= SMALL_LIMIT
            && v.binary_search_by(|(k, _)| k.cmp(key)).is_err()
        {
            *self = SmallMap::Large(std::mem::take(v).into_iter().collect());
        }
    }

    /// Back to an inline table once a vector is empty.
    fn shrink_if_empty(&mut self) {
        if let SmallMap::Small(v) = self
            && v.is_empty()
        {
            *self = SmallMap::One(None);
        }
    }

    pub(super) fn remove(&mut self, key: &K) -> Option<V> {
        self.remove_if(key, |_| true)
    }

    /// Removes the entry at `key` if `remove` says so of its value, with one search.
    pub(super) fn remove_if(&mut self, key: &K, remove: impl FnOnce(&V) -> bool) -> Option<V> {
        let removed = match self {
            SmallMap::One(entry) => match entry {
                Some((k, v)) if k == key && remove(v) => entry.take().map(|(_, v)| v),
                _ => None,
            },
            SmallMap::Small(v) => match v.binary_search_by(|(k, _)| k.cmp(key)) {
                Ok(i) if remove(&v[i].1) => Some(remove_at(v, i).1),
                _ => None,
            },
            SmallMap::Large(m) => match m.get(key) {
                Some(value) if remove(value) => m.remove(key),
                _ => None,
            },
        };
        if removed.is_some() {
            self.shrink_if_empty();
        }
        removed
    }

    /// The value at `key`, inserted as `V::default()` if there is none.
    pub(super) fn get_or_default(&mut self, key: K) -> &mut V
    where
        V: Default,
    {
        let fits_inline =
            matches!(self, SmallMap::One(entry) if entry.as_ref().is_none_or(|(k, _)| *k == key));
        if !fits_inline {
            self.spill();
        }
        self.grow_for(&key);
        match self {
            SmallMap::One(entry) => &mut entry.get_or_insert_with(|| (key, V::default())).1,
            SmallMap::Small(v) => {
                let i = match v.binary_search_by(|(k, _)| k.cmp(&key)) {
                    Ok(i) => i,
                    Err(i) => {
                        v.insert(i, (key, V::default()));
                        i
                    }
                };
                &mut v[i].1
            }
            SmallMap::Large(m) => m.entry(key).or_default(),
        }
    }

    /// The entry with the least key.
    pub(super) fn first(&self) -> Option<(&K, &V)> {
        match self {
            SmallMap::One(entry) => entry.as_ref().map(|(k, v)| (k, v)),
            SmallMap::Small(v) => v.first().map(|(k, v)| (k, v)),
            SmallMap::Large(m) => m.first_key_value(),
        }
    }

    /// Removes and returns the entry with the least key.
    pub(super) fn pop_first(&mut self) -> Option<(K, V)> {
        let popped = match self {
            SmallMap::One(entry) => entry.take(),
            SmallMap::Small(v) => (!v.is_empty()).then(|| remove_at(v, 0)),
            SmallMap::Large(m) => m.pop_first(),
        };
        self.shrink_if_empty();
        popped
    }
}

/// Removes entry `i` (in bounds): the last one without `Vec::remove`'s call to move the
/// tail, which is most removals in tables of one or two entries.
fn remove_at<T>(v: &mut Vec<T>, i: usize) -> T {
    if i + 1 == v.len()
        && let Some(last) = v.pop()
    {
        return last;
    }
    v.remove(i)
}

/// An ordered set on [`SmallMap`].
#[derive(Debug, Clone)]
pub(super) struct SmallSet<K>(SmallMap<K, ()>);

impl<K: Ord> Default for SmallSet<K> {
    fn default() -> Self {
        SmallSet(SmallMap::new())
    }
}

impl<K: Ord> SmallSet<K> {
    pub(super) fn new() -> Self {
        Self::default()
    }

    #[cfg(test)]
    pub(super) fn len(&self) -> usize {
        self.0.len()
    }

    #[cfg(test)]
    pub(super) fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Adds `key`; returns whether it was not there.
    pub(super) fn insert(&mut self, key: K) -> bool {
        self.0.insert(key, ()).is_none()
    }

    /// Removes `key`; returns whether it was there.
    pub(super) fn remove(&mut self, key: &K) -> bool {
        self.0.remove(key).is_some()
    }

    /// The least element.
    pub(super) fn first(&self) -> Option<&K> {
        self.0.first().map(|(k, _)| k)
    }

    /// Removes and returns the least element.
    pub(super) fn pop_first(&mut self) -> Option<K> {
        self.0.pop_first().map(|(k, _)| k)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[derive(Debug, Clone)]
    enum Op {
        Insert(u8, u32),
        Remove(u8),
        /// Remove the key if its value is even.
        RemoveIfEven(u8),
        Get(u8),
        Bump(u8),
        PopFirst,
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            4 => (any::<u8>(), any::<u32>()).prop_map(|(k, v)| Op::Insert(k, v)),
            3 => any::<u8>().prop_map(Op::Remove),
            2 => any::<u8>().prop_map(Op::RemoveIfEven),
            2 => any::<u8>().prop_map(Op::Get),
            2 => any::<u8>().prop_map(Op::Bump),
            1 => Just(Op::PopFirst),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig {
            failure_persistence: None,
            ..ProptestConfig::default()
        })]

        /// With few keys the table goes back and forth between inline, vector and empty
        /// (the device's case) and behaves as a `BTreeMap` all along.
        #[test]
        fn behaves_as_a_btreemap_with_few_keys(ops in proptest::collection::vec(op(), 0..200)) {
            let few = ops.into_iter().map(|op| match op {
                Op::Insert(k, v) => Op::Insert(k % 3, v),
                Op::Remove(k) => Op::Remove(k % 3),
                Op::RemoveIfEven(k) => Op::RemoveIfEven(k % 3),
                Op::Get(k) => Op::Get(k % 3),
                Op::Bump(k) => Op::Bump(k % 3),
                Op::PopFirst => Op::PopFirst,
            });
            check_against_btreemap(few)?;
        }

        /// Any sequence of operations gives what a `BTreeMap` gives, through the switch from
        /// vector to tree (keys from 0 to 255 take the table well past the limit).
        #[test]
        fn behaves_as_a_btreemap(ops in proptest::collection::vec(op(), 0..600)) {
            check_against_btreemap(ops)?;
        }
    }

    /// Runs `ops` on a `SmallMap`, a `SmallSet` and a `BTreeMap` side by side and checks that
    /// the three agree after every operation.
    fn check_against_btreemap(ops: impl IntoIterator<Item = Op>) -> Result<(), TestCaseError> {
        let mut small = SmallMap::new();
        let mut set = SmallSet::new();
        let mut reference = BTreeMap::new();
        for op in ops {
            match op {
                Op::Insert(k, v) => {
                    prop_assert_eq!(small.insert(k, v), reference.insert(k, v));
                    set.insert(k);
                }
                Op::Remove(k) => {
                    prop_assert_eq!(small.remove(&k), reference.remove(&k));
                    set.remove(&k);
                }
                Op::RemoveIfEven(k) => {
                    let expected = match reference.get(&k) {
                        Some(v) if v % 2 == 0 => reference.remove(&k),
                        _ => None,
                    };
                    prop_assert_eq!(small.remove_if(&k, |v| v % 2 == 0), expected);
                    if expected.is_some() {
                        set.remove(&k);
                    }
                }
                Op::Get(k) => {
                    prop_assert_eq!(small.get(&k), reference.get(&k));
                    prop_assert_eq!(small.contains_key(&k), reference.contains_key(&k));
                }
                Op::Bump(k) => {
                    *small.get_or_default(k) += 1;
                    *reference.entry(k).or_default() += 1;
                    if let Some(v) = small.get_mut(&k) {
                        *v = v.wrapping_mul(3);
                    }
                    if let Some(v) = reference.get_mut(&k) {
                        *v = v.wrapping_mul(3);
                    }
                    set.insert(k);
                }
                Op::PopFirst => {
                    let first = reference.first_key_value().map(|(k, v)| (*k, *v));
                    prop_assert_eq!(small.first().map(|(k, v)| (*k, *v)), first);
                    prop_assert_eq!(small.pop_first(), reference.pop_first());
                    set.pop_first();
                }
            }
            prop_assert_eq!(small.len(), reference.len());
            prop_assert_eq!(small.is_empty(), reference.is_empty());
            prop_assert_eq!(set.len(), reference.len());
            prop_assert_eq!(set.first(), reference.keys().next());
        }
        Ok(())
    }
}
