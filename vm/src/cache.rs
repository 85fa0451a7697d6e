//! A cache of work done once per bytecode (admission, instrumentation,
//! compilation), keyed by the bytecode's blake3 hash.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

/// Values computed from bytecode, shared between sessions and threads.
pub struct BytecodeCache<T> {
    entries: Mutex<HashMap<[u8; 32], Arc<T>>>,
}

impl<T> Default for BytecodeCache<T> {
    fn default() -> Self {
        BytecodeCache {
            entries: Mutex::new(HashMap::new()),
        }
    }
}

impl<T> BytecodeCache<T> {
    /// The value for `bytecode`, computing it with `make` the first time.
    /// Failures are not cached.
    pub fn get_or_try_insert<E>(
        &self,
        bytecode: &[u8],
        make: impl FnOnce() -> Result<T, E>,
    ) -> Result<Arc<T>, E> {
        let key = *blake3::hash(bytecode).as_bytes();
        if let Some(value) = self.lock().get(&key) {
            return Ok(value.clone());
        }
        // Computed outside the lock: compilation is slow and other threads
        // may want other entries meanwhile.
        let value = Arc::new(make()?);
        Ok(self.lock().entry(key).or_insert(value).clone())
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<[u8; 32], Arc<T>>> {
        // A poisoned lock only means another thread panicked while holding
        // it; every entry in the map is complete.
        self.entries
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}
