//! Contract state and its rollback.
//!
//! A contract's state is its memory and its mutable globals (tables and data
//! segments are immutable after instantiation, by admission). The VM keeps
//! a committed copy of each; a successful call commits the pages it wrote,
//! a failed one copies them back. Which pages a call wrote comes from the
//! dirty-page map the determinism pass maintains, so both take time in
//! proportion to the pages written, not to the size of the memory.
//!
//! Memory growth cannot be undone in place (neither engine shrinks a
//! memory): a failed call that grew memory gets a fresh instance, restored
//! from the committed copy in full.

use crate::determinism::{DIRTY_PAGE_SHIFT, DIRTY_PAGE_SIZE, DIRTY_PAGE_SPILL};
use crate::engine::{EngineError, InstanceId, Runtime, Store, Value};

/// The state a contract returns to when a call fails.
#[derive(Clone, Debug)]
pub struct CommittedState {
    memory: Vec<u8>,
    globals: Vec<(u32, Value)>,
}

/// What a commit or rollback did, for benchmarks and reports.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct StateChange {
    /// Dirty pages copied.
    pub pages: usize,
    /// Whether the instance had to be replaced to undo memory growth.
    pub reinstantiated: bool,
}

impl CommittedState {
    /// Captures the whole state of a freshly instantiated contract.
    pub fn capture(
        rt: &mut dyn Runtime,
        instance: InstanceId,
        state_globals: &[u32],
    ) -> Result<Self, EngineError> {
        let memory = rt.memory(instance)?.to_vec();
        let mut globals = Vec::with_capacity(state_globals.len());
        for &index in state_globals {
            globals.push((index, rt.state_global(instance, index)?));
        }
        rt.dirty_map(instance)?.fill(0);
        Ok(CommittedState { memory, globals })
    }

    /// Size of the committed memory, in bytes.
    pub fn memory_len(&self) -> usize {
        self.memory.len()
    }

    /// The committed memory.
    pub fn memory(&self) -> &[u8] {
        &self.memory
    }

    /// A blake3 digest of the committed memory and globals.
    pub fn digest(&self) -> [u8; 32] {
        let mut hasher = blake3::Hasher::new();
        hasher.update(&(self.memory.len() as u64).to_le_bytes());
        hasher.update(&self.memory);
        for (index, value) in &self.globals {
            hasher.update(&index.to_le_bytes());
            let (tag, bits): (u8, u128) = match *value {
                Value::I32(v) => (0, u128::from(v as u32)),
                Value::I64(v) => (1, u128::from(v as u64)),
                Value::F32(v) => (2, u128::from(v)),
                Value::F64(v) => (3, u128::from(v)),
                Value::V128(v) => (4, v),
            };
            hasher.update(&[tag]);
            hasher.update(&bits.to_le_bytes());
        }
        *hasher.finalize().as_bytes()
    }

    /// Makes the contract's current state the committed one.
    pub fn commit(
        &mut self,
        rt: &mut dyn Runtime,
        instance: InstanceId,
    ) -> Result<StateChange, EngineError> {
        let memory_len = rt.memory(instance)?.len();
        if memory_len > self.memory.len() {
            // Grown pages are zero until written; written ones are dirty.
            self.memory.resize(memory_len, 0);
        }
        let pages = take_dirty_pages(rt, instance, memory_len)?;
        let memory = rt.memory(instance)?;
        for &page in &pages {
            let range = page_range(page, memory_len);
            self.memory[range.clone()].copy_from_slice(&memory[range]);
        }
        for (index, value) in &mut self.globals {
            *value = rt.state_global(instance, *index)?;
        }
        Ok(StateChange {
            pages: pages.len(),
            reinstantiated: false,
        })
    }

    /// Returns the contract to the committed state.
    pub fn rollback<S: Store + ?Sized>(
        &self,
        store: &mut S,
        instance: InstanceId,
    ) -> Result<StateChange, EngineError> {
        let memory_len = store.memory(instance)?.len();
        let change = if memory_len > self.memory.len() {
            store.reinstantiate(instance)?;
            let current = store.memory(instance)?.len();
            let missing = (self.memory.len() - current.min(self.memory.len())) as u64;
            if missing > 0 && !store.grow_memory(instance, missing / crate::abi::WASM_PAGE)? {
                return Err(EngineError::HostInvariant(
                    "a fresh instance cannot grow back to its committed size".into(),
                ));
            }
            store.memory(instance)?.copy_from_slice(&self.memory);
            StateChange {
                pages: self.memory.len().div_ceil(DIRTY_PAGE_SIZE as usize),
                reinstantiated: true,
            }
        } else {
            let pages = take_dirty_pages(store, instance, memory_len)?;
            let memory = store.memory(instance)?;
            for &page in &pages {
                let range = page_range(page, memory_len);
                memory[range.clone()].copy_from_slice(&self.memory[range]);
            }
            StateChange {
                pages: pages.len(),
                reinstantiated: false,
            }
        };
        for &(index, value) in &self.globals {
            store.set_state_global(instance, index, value)?;
        }
        Ok(change)
    }
}

/// The byte range a dirty page stands for: the page and the bytes a store
/// starting at its end can reach.
fn page_range(page: usize, memory_len: usize) -> std::ops::Range<usize> {
    let start = page << DIRTY_PAGE_SHIFT;
    let end = (start + DIRTY_PAGE_SIZE as usize + DIRTY_PAGE_SPILL as usize).min(memory_len);
    start..end
}

/// The dirty pages of the first `memory_len` bytes, clearing their marks.
fn take_dirty_pages<R: Runtime + ?Sized>(
    rt: &mut R,
    instance: InstanceId,
    memory_len: usize,
) -> Result<Vec<usize>, EngineError> {
    let map_len = memory_len.div_ceil(DIRTY_PAGE_SIZE as usize);
    let map = rt.dirty_map(instance)?;
    let map_len = map_len.min(map.len());
    let map = &mut map[..map_len];
    let mut pages = Vec::new();
    // Most of the map is clean: skip it eight bytes at a time.
    for (chunk_index, chunk) in map.chunks_mut(8).enumerate() {
        if chunk.iter().all(|&byte| byte == 0) {
            continue;
        }
        for (offset, byte) in chunk.iter_mut().enumerate() {
            if *byte != 0 {
                pages.push(chunk_index * 8 + offset);
                *byte = 0;
            }
        }
    }
    Ok(pages)
}
