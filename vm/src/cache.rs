//! A bounded cache of work done once per bytecode (admission,
//! instrumentation, compilation), keyed by the bytecode's blake3 hash.
//!
//! Bounded because fuzz campaigns compile a new module every few
//! milliseconds for hours: an unbounded cache is a memory leak there. When
//! full, the least recently used entry goes; modules still used by a
//! session stay alive through their `Arc` until the session ends.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

/// Values computed from bytecode, shared between sessions and threads.
pub struct BytecodeCache<T> {
    capacity: usize,
    inner: Mutex<Entries<T>>,
}

struct Entries<T> {
    /// Value and the tick of its last use.
    map: HashMap<[u8; 32], (Arc<T>, u64)>,
    tick: u64,
}

impl<T> BytecodeCache<T> {
    /// A cache keeping at most `capacity` values (0 keeps none).
    pub fn new(capacity: usize) -> Self {
        BytecodeCache {
            capacity,
            inner: Mutex::new(Entries {
                map: HashMap::new(),
                tick: 0,
            }),
        }
    }

    /// The value for `bytecode`, computing it with `make` when it is not
    /// cached. Failures are not cached.
    pub fn get_or_try_insert<E>(
        &self,
        bytecode: &[u8],
        make: impl FnOnce() -> Result<T, E>,
    ) -> Result<Arc<T>, E> {
        let key = *blake3::hash(bytecode).as_bytes();
        {
            let mut entries = self.lock();
            entries.tick += 1;
            let tick = entries.tick;
            if let Some((value, last_use)) = entries.map.get_mut(&key) {
                *last_use = tick;
                return Ok(value.clone());
            }
        }
        // Computed outside the lock: compilation is slow and other threads
        // may want other entries meanwhile.
        let value = Arc::new(make()?);
        if self.capacity == 0 {
            return Ok(value);
        }
        let mut entries = self.lock();
        // The lookup above advanced the clock for this use.
        let tick = entries.tick;
        if !entries.map.contains_key(&key) && entries.map.len() >= self.capacity {
            // A linear scan, only when a new module was just compiled: that
            // took milliseconds, the scan of a few hundred entries does not.
            let oldest = entries
                .map
                .iter()
                .min_by_key(|(_, (_, last_use))| *last_use)
                .map(|(key, _)| *key);
            if let Some(oldest) = oldest {
                entries.map.remove(&oldest);
            }
        }
        let entry = entries.map.entry(key).or_insert((value, tick));
        entry.1 = tick;
        Ok(entry.0.clone())
    }

    /// How many values are cached.
    pub fn len(&self) -> usize {
        self.lock().map.len()
    }

    /// Whether nothing is cached.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn lock(&self) -> MutexGuard<'_, Entries<T>> {
        // A poisoned lock only means another thread panicked while holding
        // it; every entry in the map is complete.
        self.inner
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn get(cache: &BytecodeCache<u32>, bytes: &[u8], value: u32) -> u32 {
        *cache
            .get_or_try_insert(bytes, || Ok::<_, ()>(value))
            .unwrap_or_else(|()| Arc::new(u32::MAX))
    }

    #[test]
    fn keeps_at_most_capacity_and_evicts_the_least_recently_used() {
        let cache = BytecodeCache::new(2);
        assert_eq!(get(&cache, b"a", 1), 1);
        assert_eq!(get(&cache, b"b", 2), 2);
        // `a` is used again, so `b` is the least recently used.
        assert_eq!(get(&cache, b"a", 10), 1);
        assert_eq!(get(&cache, b"c", 3), 3);
        assert_eq!(cache.len(), 2);
        assert_eq!(get(&cache, b"a", 11), 1, "a stayed");
        assert_eq!(get(&cache, b"b", 20), 20, "b was evicted and recomputed");
    }

    /// Against a model of least-recently-used eviction, over a long
    /// sequence of lookups: every hit and miss as the model says. Ties in
    /// recency (a clock that does not advance on every use) would pick an
    /// arbitrary victim and miss the model's hits.
    #[test]
    fn evictions_follow_recency_exactly() {
        const CAPACITY: usize = 4;
        let cache = BytecodeCache::new(CAPACITY);
        let mut model: Vec<u8> = Vec::new(); // most recent last
        let mut state = 0x2545_f491_4f6c_dd1du64;
        for step in 0..4_000u32 {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let key = state.to_le_bytes()[0] % 9;
            let hit = model.contains(&key);
            let value = get(&cache, &[key], step);
            assert_eq!(
                value != step,
                hit,
                "step {step}: key {key}, model {model:?}"
            );
            model.retain(|&k| k != key);
            model.push(key);
            if model.len() > CAPACITY {
                model.remove(0);
            }
            assert_eq!(cache.len(), model.len());
            assert!(!cache.is_empty());
        }
    }

    #[test]
    fn capacity_zero_caches_nothing_and_failures_are_not_cached() {
        let cache = BytecodeCache::new(0);
        assert_eq!(get(&cache, b"a", 1), 1);
        assert_eq!(get(&cache, b"a", 2), 2);
        assert!(cache.is_empty());
        let cache = BytecodeCache::<u32>::new(4);
        assert!(cache.get_or_try_insert(b"x", || Err("no")).is_err());
        assert_eq!(get(&cache, b"x", 5), 5);
    }
}
