//! Contract state, checkpoints and rollback.
//!
//! A contract's state is its memory (tables and
//! data segments are immutable after instantiation, by admission). Its
//! mutable globals are not state: as in production, where every top-level
//! call gets a fresh instance, they start from their initial values at each
//! top-level call and keep what they are given until it ends, failed nested
//! calls included. For each
//! contract the VM keeps a *checkpointed copy*: its state at the latest
//! checkpoint. Pages written since are known from the dirty-page map the
//! determinism pass maintains (and from host writes).
//!
//! Every call (top-level or through `c`) opens a [`Level`]. Opening one
//! checkpoints every contract: the pages written since the previous
//! checkpoint are copied into the checkpointed copies, and their previous
//! contents are logged in the level that was running, so that level can
//! still be undone. A level that succeeds merges its log into its parent; a
//! level that fails first rewinds the checkpointed copies with the logs of
//! itself, then copies back every page it logged or left dirty. Each step
//! costs time in proportion to the pages written, not to memory sizes.
//!
//! Memory growth cannot be undone in place (neither engine shrinks a
//! memory). A contract whose failed call grew its memory gets a fresh
//! instance restored from its checkpointed copy, at once when it is not
//! running further up the call stack, otherwise when the top-level call
//! ends; until then its extra pages read as zeros.

use std::collections::{BTreeMap, BTreeSet};

use runner_protocol::digest::{digest_of_root, node_hash, page_hash, zero_page_hash};
use runner_protocol::{Bytes, MemoryState};

use crate::determinism::{DIRTY_PAGE_SHIFT, DIRTY_PAGE_SIZE, DIRTY_PAGE_SPILL};
use crate::engine::{InstanceId, Instances, Value};
use crate::failure::EngineError;

// The dirty-page marks and the digest's leaves are the same pages.
const _: () = assert!(DIRTY_PAGE_SIZE == runner_protocol::digest::DIGEST_PAGE);

/// A contract's state at the latest checkpoint.
#[derive(Clone, Debug)]
pub struct ContractState {
    memory: Vec<u8>,
    /// The mutable globals as instantiation left them: what every top-level
    /// call starts from.
    initial_globals: Vec<(u32, Value)>,
    pages: PageTree,
}

/// A Merkle tree over the 4 KiB pages of a checkpointed memory, so that a
/// state digest costs time in proportion to the pages written since the
/// last one, not to the memory's size. Leaves are refreshed lazily.
#[derive(Clone, Debug, Default)]
struct PageTree {
    /// Leaf capacity: a power of two.
    capacity: usize,
    /// `nodes[1]` is the root; leaf `i` is `nodes[capacity + i]`.
    nodes: Vec<[u8; 32]>,
    /// Leaves whose page changed since the last refresh.
    stale: BTreeSet<usize>,
    /// Pages of the memory at the last resize.
    pages: usize,
    /// Inner nodes to recompute besides the ancestors of stale leaves.
    pending: BTreeSet<usize>,
}

impl PageTree {
    fn page_count(memory_len: usize) -> usize {
        memory_len.div_ceil(DIRTY_PAGE_SIZE)
    }

    /// Marks every page of a memory of `memory_len` bytes stale, rebuilding
    /// the tree when it must grow.
    fn resize(&mut self, memory_len: usize) {
        let pages = Self::page_count(memory_len).max(1);
        if pages > self.capacity || self.nodes.is_empty() {
            let capacity = pages.next_power_of_two();
            self.capacity = capacity;
            self.nodes = vec![[0; 32]; 2 * capacity];
            // Padding leaves hash as zeros, but the nodes above them are
            // hashes too: every leaf is refreshed once.
            self.stale = (0..capacity).collect();
        } else {
            // Pages that appeared or went away since the last size: new
            // ones hash as zero pages, gone ones as absent leaves.
            self.stale.extend(self.pages.min(pages)..self.capacity);
        }
        self.pages = pages;
    }

    /// Grows the tree to a memory of `memory_len` bytes whose new pages
    /// are zero: their leaves are the zero page's hash, set without reading
    /// them (a memory grown to the VM's cap would otherwise cost hashing
    /// 256 MiB of zeros).
    fn grow_zeroed(&mut self, memory_len: usize) {
        let old = self.pages;
        let pages = Self::page_count(memory_len).max(1);
        if pages <= old || self.nodes.is_empty() {
            return self.resize(memory_len);
        }
        let zero = zero_page_hash();
        if pages > self.capacity {
            // A new, larger tree: the old leaves move over (stale ones are
            // still refreshed by `root`), the new ones are zero pages, and
            // every inner node is recomputed once.
            let capacity = pages.next_power_of_two();
            let mut nodes = vec![[0; 32]; 2 * capacity];
            nodes[capacity..capacity + self.capacity].copy_from_slice(&self.nodes[self.capacity..]);
            for leaf in &mut nodes[capacity + old..capacity + pages] {
                *leaf = zero;
            }
            hash_inner_nodes(&mut nodes, capacity);
            self.capacity = capacity;
            self.nodes = nodes;
            self.pending.clear();
        } else {
            for page in old..pages {
                self.nodes[self.capacity + page] = zero;
                self.pending.insert((self.capacity + page) / 2);
            }
        }
        self.pages = pages;
    }

    /// The tree of a memory of `memory_len` zero bytes, built without
    /// reading it: every leaf is the zero page's hash.
    fn zeroed(memory_len: usize) -> Self {
        let pages = Self::page_count(memory_len).max(1);
        let capacity = pages.next_power_of_two();
        let mut nodes = vec![[0; 32]; 2 * capacity];
        let zero = zero_page_hash();
        for leaf in &mut nodes[capacity..capacity + pages] {
            *leaf = zero;
        }
        hash_inner_nodes(&mut nodes, capacity);
        PageTree {
            capacity,
            nodes,
            stale: BTreeSet::new(),
            pages,
            pending: BTreeSet::new(),
        }
    }

    fn touch(&mut self, page: usize) {
        self.stale.insert(page);
    }

    /// The root of the tree over the memory's pages: the node whose subtree
    /// covers exactly the power-of-two number of leaves the memory needs
    /// (the tree keeps its capacity after memory shrinks back), as
    /// [`runner_protocol::digest`] defines it.
    fn root(&mut self, memory: &[u8]) -> [u8; 32] {
        let pages = Self::page_count(memory.len());
        let stale = std::mem::take(&mut self.stale);
        let mut level: BTreeSet<usize> = std::mem::take(&mut self.pending);
        // Every stale page is below the capacity: touched pages lie within
        // the memory, and the capacity never shrinks.
        for page in stale {
            let start = (page << DIRTY_PAGE_SHIFT).min(memory.len());
            let end = (start + DIRTY_PAGE_SIZE).min(memory.len());
            self.nodes[self.capacity + page] = if page < pages {
                page_hash(&memory[start..end])
            } else {
                [0; 32]
            };
            level.insert((self.capacity + page) / 2);
        }
        while !level.is_empty() {
            let mut parents = BTreeSet::new();
            for node in level {
                self.nodes[node] = node_hash(&self.nodes[2 * node], &self.nodes[2 * node + 1]);
                if node > 1 {
                    parents.insert(node / 2);
                }
            }
            level = parents;
        }
        let needed = pages.max(1).next_power_of_two();
        self.nodes
            .get(self.capacity / needed)
            .copied()
            .unwrap_or([0; 32])
    }
}

/// Computes every inner node of a tree of `capacity` leaves from its
/// leaves. Runs of equal leaves (zero pages, padding) make equal parents:
/// a parent whose children repeat the previous pair's is copied, not
/// hashed, so a tree of 65,536 zero pages costs a few hashes per level.
fn hash_inner_nodes(nodes: &mut [[u8; 32]], capacity: usize) {
    let mut previous: Option<([u8; 32], [u8; 32], [u8; 32])> = None;
    for node in (1..capacity).rev() {
        let (left, right) = (nodes[2 * node], nodes[2 * node + 1]);
        let parent = match previous {
            Some((l, r, parent)) if l == left && r == right => parent,
            _ => node_hash(&left, &right),
        };
        previous = Some((left, right, parent));
        nodes[node] = parent;
    }
}

/// Grows a checkpointed copy with zero bytes. Past its capacity, a new
/// zeroed allocation (which the OS zeroes lazily) takes the old bytes,
/// instead of writing every new zero.
fn grow_zeroed(memory: &mut Vec<u8>, len: usize) {
    if len > memory.capacity() {
        let mut grown = vec![0u8; len];
        grown[..memory.len()].copy_from_slice(memory);
        *memory = grown;
    } else {
        memory.resize(len, 0);
    }
}

impl ContractState {
    /// Captures the whole state of a freshly instantiated contract.
    ///
    /// `initialized` lists the bytes instantiation wrote (see
    /// [`crate::admission::ModuleInfo::initialized`]): only those are read,
    /// into a copy that starts as a zeroed allocation the OS fills lazily,
    /// and only their pages are hashed. A contract that declares 4,096
    /// pages and writes none then costs neither 256 MiB nor the time to
    /// copy and hash them. Without the list, the whole memory is copied.
    pub fn capture(
        rt: &mut dyn Instances,
        instance: InstanceId,
        state_globals: &[u32],
        initialized: Option<&[(u64, u64)]>,
    ) -> Result<Self, EngineError> {
        let live = rt.memory(instance)?;
        let (memory, pages) = match initialized {
            Some(ranges) => {
                let mut memory = vec![0u8; live.len()];
                let mut pages = PageTree::zeroed(live.len());
                for &(offset, len) in ranges {
                    let start = usize::try_from(offset)
                        .unwrap_or(usize::MAX)
                        .min(live.len());
                    let end = start
                        .saturating_add(usize::try_from(len).unwrap_or(usize::MAX))
                        .min(live.len());
                    memory[start..end].copy_from_slice(&live[start..end]);
                    let first = start >> DIRTY_PAGE_SHIFT;
                    let last = end.div_ceil(DIRTY_PAGE_SIZE);
                    pages.stale.extend(first..last);
                }
                (memory, pages)
            }
            None => {
                let memory = live.to_vec();
                let mut pages = PageTree::default();
                pages.resize(memory.len());
                (memory, pages)
            }
        };
        let mut globals = Vec::with_capacity(state_globals.len());
        for &index in state_globals {
            globals.push((index, rt.state_global(instance, index)?));
        }
        rt.dirty_map(instance)?.fill(0);
        Ok(ContractState {
            memory,
            initial_globals: globals,
            pages,
        })
    }

    /// The checkpointed memory.
    pub fn memory(&self) -> &[u8] {
        &self.memory
    }

    /// The checkpointed memory's length and digest, as the runner protocol
    /// defines it ([`runner_protocol::digest::memory_digest`]), in time
    /// proportional to the pages written since the last one.
    pub fn memory_state(&mut self) -> MemoryState {
        let root = self.pages.root(&self.memory);
        let len = self.memory.len() as u64;
        MemoryState {
            len,
            digest: Bytes(digest_of_root(len, &root).to_vec()),
        }
    }

    /// The digest of the checkpointed memory, as the runner protocol
    /// defines it.
    pub fn digest(&mut self) -> [u8; 32] {
        let root = self.pages.root(&self.memory);
        digest_of_root(self.memory.len() as u64, &root)
    }
}

/// What one call level changed, as needed to undo it.
#[derive(Debug, Default)]
struct Level {
    /// Checkpointed page contents before this level, by contract and page.
    pages: BTreeMap<(usize, usize), Vec<u8>>,
    /// Checkpointed memory length before this level.
    lengths: BTreeMap<usize, usize>,
}

/// The state of every contract of a session and the undo logs of the calls
/// in progress.
#[derive(Debug, Default)]
pub struct Journal {
    contracts: Vec<ContractState>,
    levels: Vec<Level>,
    /// Contracts that may have changed since the last checkpoint: only
    /// these have their dirty-page maps scanned.
    touched: BTreeSet<usize>,
    /// Contracts whose memory must shrink when they are no longer running.
    pending_reinstantiation: BTreeSet<usize>,
    /// Contracts entered during the top-level call in progress: their
    /// globals go back to their initial values when it ends.
    entered: BTreeSet<usize>,
}

impl Journal {
    /// Registers a newly deployed contract; its index must be its instance's.
    pub fn add_contract(&mut self, state: ContractState) -> InstanceId {
        self.contracts.push(state);
        InstanceId(self.contracts.len() - 1)
    }

    pub fn contract_mut(&mut self, instance: InstanceId) -> Option<&mut ContractState> {
        self.contracts.get_mut(instance.0)
    }

    /// Every contract's state, by instance.
    pub fn states_mut(&mut self) -> impl Iterator<Item = &mut ContractState> {
        self.contracts.iter_mut()
    }

    /// Notes that a frame of the contract starts: it may change, and its
    /// globals return to their initial values when the top-level call ends.
    pub fn enter(&mut self, instance: InstanceId) {
        self.touched.insert(instance.0);
        self.entered.insert(instance.0);
    }

    /// Sets the globals of every contract entered since the last call to
    /// their initial values: a top-level call has ended.
    pub fn reset_globals(&mut self, rt: &mut dyn Instances) -> Result<(), EngineError> {
        for contract in std::mem::take(&mut self.entered) {
            if let Some(state) = self.contracts.get(contract) {
                for &(index, value) in &state.initial_globals {
                    rt.set_state_global(InstanceId(contract), index, value)?;
                }
            }
        }
        Ok(())
    }

    /// Notes that a contract may change: it runs, or the host writes to it.
    pub fn touch(&mut self, instance: InstanceId) {
        self.touched.insert(instance.0);
    }

    /// Number of open levels.
    pub fn depth(&self) -> usize {
        self.levels.len()
    }

    /// Opens a level: checkpoints every contract.
    pub fn begin(&mut self, rt: &mut dyn Instances) -> Result<(), EngineError> {
        self.checkpoint(rt)?;
        self.levels.push(Level::default());
        Ok(())
    }

    /// Closes the innermost level successfully. Closing the outermost one
    /// commits everything.
    pub fn commit(&mut self, rt: &mut dyn Instances) -> Result<(), EngineError> {
        let Some(level) = self.levels.pop() else {
            return Err(no_level());
        };
        match self.levels.last_mut() {
            Some(parent) => {
                for (key, bytes) in level.pages {
                    parent.pages.entry(key).or_insert(bytes);
                }
                for (key, len) in level.lengths {
                    parent.lengths.entry(key).or_insert(len);
                }
                Ok(())
            }
            None => self.checkpoint(rt),
        }
    }

    /// Closes the innermost level by undoing everything it did.
    /// `running` are the contracts active further up the call stack.
    pub fn rollback(
        &mut self,
        rt: &mut dyn Instances,
        running: &BTreeSet<usize>,
    ) -> Result<(), EngineError> {
        let level = self.levels.pop().ok_or_else(no_level)?;
        // Rewind the checkpointed copies to the level's start.
        let mut touched: BTreeMap<usize, BTreeSet<usize>> = BTreeMap::new();
        for (&(contract, page), bytes) in &level.pages {
            if let Some(state) = self.contracts.get_mut(contract) {
                let start = page << DIRTY_PAGE_SHIFT;
                let end = (start + bytes.len()).min(state.memory.len());
                // Nothing of a page past the memory's end (growth undone).
                if let Some(target) = state.memory.get_mut(start..end) {
                    target.copy_from_slice(&bytes[..target.len()]);
                }
                touched.entry(contract).or_default().insert(page);
            }
        }
        for (&contract, &len) in &level.lengths {
            if let Some(state) = self.contracts.get_mut(contract) {
                state.memory.truncate(len);
                state.pages.resize(len);
            }
        }
        for (&contract, pages) in &touched {
            if let Some(state) = self.contracts.get_mut(contract) {
                for &page in pages {
                    state.pages.touch(page);
                }
            }
        }
        // Copy the level's pages back into the instances: those of the
        // contracts that ran or were written since the last checkpoint, and
        // those the level logged.
        let mut contracts = std::mem::take(&mut self.touched);
        contracts.extend(touched.keys().copied());
        contracts.extend(level.lengths.keys().copied());
        // Every id the journal holds is a contract's: a contract is added
        // before anything of it runs.
        for contract in contracts {
            let instance = InstanceId(contract);
            let memory_len = rt.memory(instance)?.len();
            let mut pages = take_written_pages(rt, instance, memory_len)?;
            pages.extend(touched.remove(&contract).unwrap_or_default());
            let state = &self.contracts[contract];
            if memory_len > state.memory.len() {
                if running.contains(&contract) {
                    // Running further up: its memory cannot be replaced now.
                    let memory = rt.memory(instance)?;
                    memory[state.memory.len()..].fill(0);
                    self.pending_reinstantiation.insert(contract);
                } else {
                    self.replace_instance(rt, contract)?;
                    continue;
                }
            }
            let memory = rt.memory(instance)?;
            for &page in &pages {
                let range = page_range(page, state.memory.len());
                if !range.is_empty() {
                    memory[range.clone()].copy_from_slice(&state.memory[range]);
                }
            }
        }
        Ok(())
    }

    /// Replaces contracts whose memory had to shrink while they were
    /// running, once nothing runs. Call when no level is open.
    pub fn settle(&mut self, rt: &mut dyn Instances) -> Result<(), EngineError> {
        for contract in std::mem::take(&mut self.pending_reinstantiation) {
            self.replace_instance(rt, contract)?;
        }
        Ok(())
    }

    fn replace_instance(
        &mut self,
        rt: &mut dyn Instances,
        contract: usize,
    ) -> Result<(), EngineError> {
        // Replaced now: a later checkpoint must not take it for one whose
        // undone growth is still waiting (that would drop growth since).
        self.pending_reinstantiation.remove(&contract);
        let instance = InstanceId(contract);
        let state = &self.contracts[contract];
        // A fresh instance has the initial globals; production keeps the
        // running instance, and with it the globals as the call left them.
        let mut globals = Vec::with_capacity(state.initial_globals.len());
        for &(index, _) in &state.initial_globals {
            globals.push((index, rt.state_global(instance, index)?));
        }
        rt.reinstantiate(instance)?;
        let current = rt.memory(instance)?.len();
        // Growing by no pages succeeds: no test of the size first.
        let pages = (state.memory.len().saturating_sub(current) as u64) / crate::abi::WASM_PAGE;
        if !rt.grow_memory(instance, pages)? {
            return Err(EngineError::HostInvariant(
                "a fresh instance cannot grow back to its checkpointed size".into(),
            ));
        }
        rt.memory(instance)?.copy_from_slice(&state.memory);
        for (index, value) in globals {
            rt.set_state_global(instance, index, value)?;
        }
        Ok(())
    }

    /// Copies every contract's pages written since the last checkpoint into
    /// its checkpointed copy, logging what they replace in the running level.
    fn checkpoint(&mut self, rt: &mut dyn Instances) -> Result<(), EngineError> {
        let touched = std::mem::take(&mut self.touched);
        for contract in touched {
            let instance = InstanceId(contract);
            let mut memory_len = rt.memory(instance)?.len();
            if self.pending_reinstantiation.contains(&contract) {
                // Its extra pages are growth a failed frame undid: they go
                // when the instance is replaced, not into the copy.
                memory_len = memory_len.min(self.contracts[contract].memory.len());
            }
            let pages = take_written_pages(rt, instance, memory_len)?;
            let state = &mut self.contracts[contract];
            let grown = memory_len > state.memory.len();
            if pages.is_empty() && !grown {
                continue;
            }
            let level = self.levels.last_mut();
            if let Some(level) = level {
                if grown {
                    level.lengths.entry(contract).or_insert(state.memory.len());
                }
                for &page in &pages {
                    let range = page_range(page, state.memory.len());
                    level
                        .pages
                        .entry((contract, page))
                        .or_insert_with(|| state.memory[range].to_vec());
                }
            }
            if grown {
                // Grown pages are zero until written; written ones are dirty.
                grow_zeroed(&mut state.memory, memory_len);
                state.pages.grow_zeroed(memory_len);
            }
            let memory = rt.memory(instance)?;
            for &page in &pages {
                let range = page_range(page, memory_len);
                state.memory[range.clone()].copy_from_slice(&memory[range]);
                state.pages.touch(page);
            }
        }
        Ok(())
    }
}

fn no_level() -> EngineError {
    EngineError::HostInvariant("no call level is open".into())
}

/// The bytes of a page. Pages are logged and copied exactly, never with
/// the bytes a store spills into the next page: two logged ranges that
/// overlapped would be copied at different times, and restoring one would
/// bring back the other's later bytes.
fn page_range(page: usize, memory_len: usize) -> std::ops::Range<usize> {
    let start = (page << DIRTY_PAGE_SHIFT).min(memory_len);
    let end = (start + DIRTY_PAGE_SIZE).min(memory_len);
    start..end
}

// A store marks only the page it starts in, and spills into the next one.
const _: () = assert!(DIRTY_PAGE_SPILL > 0 && DIRTY_PAGE_SPILL < DIRTY_PAGE_SIZE);

/// The pages of the first `memory_len` bytes that may have been written,
/// in order and once each: each marked page and the next one, which a
/// store starting at its end reaches. Clears the marks.
fn take_written_pages(
    rt: &mut dyn Instances,
    instance: InstanceId,
    memory_len: usize,
) -> Result<Vec<usize>, EngineError> {
    let map_len = memory_len.div_ceil(DIRTY_PAGE_SIZE);
    let map = rt.dirty_map(instance)?;
    let map_len = map_len.min(map.len());
    let map = &mut map[..map_len];
    let mut pages = Vec::new();
    // Most of the map is clean: skip it a cache line at a time (the OR
    // vectorizes), so even a 64 MiB memory's map scans in well under a
    // microsecond.
    const CHUNK: usize = 64;
    for (chunk_index, chunk) in map.chunks_mut(CHUNK).enumerate() {
        if chunk.iter().fold(0u8, |any, &byte| any | byte) == 0 {
            continue;
        }
        for (offset, byte) in chunk.iter_mut().enumerate() {
            if *byte != 0 {
                // The map is read in order: only the page before can have
                // added this one already.
                let page = chunk_index * CHUNK + offset;
                if pages.last() != Some(&page) {
                    pages.push(page);
                }
                if (page + 1) << DIRTY_PAGE_SHIFT < memory_len {
                    pages.push(page + 1);
                }
                *byte = 0;
            }
        }
    }
    Ok(pages)
}

#[cfg(test)]
mod tests {
    use runner_protocol::digest::memory_digest;

    use super::*;

    fn digest(tree: &mut PageTree, memory: &[u8]) -> [u8; 32] {
        digest_of_root(memory.len() as u64, &tree.root(memory))
    }

    #[test]
    fn the_page_tree_computes_the_protocol_digest() {
        for pages in [0usize, 1, 2, 3, 5, 16, 17, 48] {
            let memory: Vec<u8> = (0..pages * 4096)
                .map(|i| u8::try_from(i % 251).expect("below 251"))
                .collect();
            let mut tree = PageTree::default();
            tree.resize(memory.len());
            assert_eq!(
                digest(&mut tree, &memory),
                memory_digest(&memory),
                "{pages} pages"
            );
        }
    }

    #[test]
    fn touched_pages_and_shrinking_keep_the_protocol_digest() {
        let mut memory = vec![0u8; 48 * 4096];
        let mut tree = PageTree::default();
        tree.resize(memory.len());
        digest(&mut tree, &memory);
        // A write that spills from page 9 into page 10: the journal touches
        // both (`take_written_pages`); one alone leaves a stale leaf.
        memory[10 * 4096 - 2..10 * 4096 + 2].copy_from_slice(&[1, 2, 3, 4]);
        tree.touch(9);
        assert_ne!(digest(&mut tree, &memory), memory_digest(&memory));
        tree.touch(10);
        assert_eq!(digest(&mut tree, &memory), memory_digest(&memory));
        // Growth rolled back: the tree keeps its capacity.
        memory.truncate(3 * 4096);
        tree.resize(memory.len());
        assert_eq!(digest(&mut tree, &memory), memory_digest(&memory));
        memory.resize(20 * 4096, 0);
        tree.resize(memory.len());
        memory[19 * 4096] = 7;
        tree.touch(19);
        assert_eq!(digest(&mut tree, &memory), memory_digest(&memory));
    }

    #[test]
    fn any_size_change_keeps_the_protocol_digest() {
        // Nonzero bytes everywhere: a leaf taken for a zero page shows.
        let bytes = |pages: usize| -> Vec<u8> {
            (0..pages * 4096)
                .map(|i| u8::try_from(i % 251).expect("below 251") | 1)
                .collect()
        };
        // `resize` past the capacity of a tree already built.
        let mut tree = PageTree::default();
        tree.resize(5 * 4096);
        digest(&mut tree, &bytes(5));
        tree.resize(100 * 4096);
        assert_eq!(digest(&mut tree, &bytes(100)), memory_digest(&bytes(100)));
        // `grow_zeroed` on a tree never built reads the memory.
        let mut tree = PageTree::default();
        tree.grow_zeroed(6 * 4096);
        assert_eq!(digest(&mut tree, &bytes(6)), memory_digest(&bytes(6)));
        // `grow_zeroed` to a smaller memory shrinks the tree.
        let mut tree = PageTree::default();
        tree.resize(7 * 4096);
        digest(&mut tree, &bytes(7));
        // (3 pages: leaf 3, gone, must read as absent.)
        tree.grow_zeroed(3 * 4096);
        assert_eq!(digest(&mut tree, &bytes(3)), memory_digest(&bytes(3)));
    }

    #[test]
    fn zeroed_growth_keeps_the_protocol_digest() {
        let mut memory: Vec<u8> = (0..3 * 4096)
            .map(|i| u8::try_from(i % 251).expect("below 251"))
            .collect();
        let mut tree = PageTree::default();
        tree.resize(memory.len());
        digest(&mut tree, &memory);
        // Within the capacity (4 leaves), then past it, then past it with a
        // page written in the same step, then after a shrink.
        for (pages, written) in [
            (4, None),
            (9, None),
            (40, Some(33)),
            (3, None),
            (70, Some(2)),
        ] {
            let old = memory.len();
            memory.resize(pages * 4096, 0);
            if memory.len() > old {
                tree.grow_zeroed(memory.len());
            } else {
                tree.resize(memory.len());
            }
            if let Some(page) = written {
                memory[page * 4096 + 5] ^= 0x5a;
                tree.touch(page);
            }
            assert_eq!(
                digest(&mut tree, &memory),
                memory_digest(&memory),
                "{pages} pages"
            );
        }
    }
}

/// The journal against a model: every call level's memories and globals,
/// driven through a fake store by random calls, stores, host writes,
/// growth and failures.
#[cfg(test)]
mod journal_model {
    use std::collections::BTreeSet;

    use proptest::prelude::*;
    use runner_protocol::digest::memory_digest;

    use super::*;
    use crate::abi::WASM_PAGE;
    use crate::engine::VmGlobal;

    const CONTRACTS: usize = 3;
    const MAX_PAGES: usize = 4;
    const PAGE: usize = 65_536;
    const _: () = assert!(PAGE as u64 == WASM_PAGE);
    static ZEROS: [u8; PAGE] = [0; PAGE];
    /// The one mutable global each fake contract has.
    const GLOBAL: u32 = 3;

    /// A store of fake instances: memories, dirty maps and one global, with
    /// the dirty marks the determinism pass and the host would set.
    struct FakeStore {
        memories: Vec<Vec<u8>>,
        dirty: Vec<Vec<u8>>,
        globals: Vec<Value>,
        /// What a fresh instance of each contract starts with.
        fresh: Vec<(Vec<u8>, Value)>,
        reinstantiations: usize,
    }

    impl FakeStore {
        fn new() -> Self {
            let fresh: Vec<(Vec<u8>, Value)> = (0..CONTRACTS)
                .map(|c| {
                    let mut memory = vec![0u8; PAGE];
                    // Data segments: a few bytes at the start and in page 5.
                    memory[..4].fill(0x10 + u8::try_from(c).expect("few"));
                    memory[5 * 4096 + 1] = 0xdd;
                    (memory, Value::I64(100 + i64::try_from(c).expect("few")))
                })
                .collect();
            FakeStore {
                memories: fresh.iter().map(|(memory, _)| memory.clone()).collect(),
                // As in the engines, the map covers more than the memory.
                dirty: vec![vec![0; 256]; CONTRACTS],
                globals: fresh.iter().map(|&(_, global)| global).collect(),
                fresh,
                reinstantiations: 0,
            }
        }

        /// A store of the contract's code: marks the page it starts in.
        fn store(&mut self, contract: usize, offset: usize, bytes: &[u8]) {
            self.memories[contract][offset..offset + bytes.len()].copy_from_slice(bytes);
            self.dirty[contract][offset >> DIRTY_PAGE_SHIFT] = 1;
        }

        /// A host write: marks every page it covers.
        fn host_write(&mut self, contract: usize, offset: usize, bytes: &[u8]) {
            self.memories[contract][offset..offset + bytes.len()].copy_from_slice(bytes);
            let last = (offset + bytes.len() - 1) >> DIRTY_PAGE_SHIFT;
            self.dirty[contract][offset >> DIRTY_PAGE_SHIFT..=last].fill(1);
        }
    }

    impl Instances for FakeStore {
        fn memory(&mut self, instance: InstanceId) -> Result<&mut [u8], EngineError> {
            Ok(&mut self.memories[instance.0])
        }
        fn grow_memory(&mut self, instance: InstanceId, pages: u64) -> Result<bool, EngineError> {
            let memory = &mut self.memories[instance.0];
            let len = memory.len() + usize::try_from(pages).expect("few") * PAGE;
            if len > MAX_PAGES * PAGE {
                return Ok(false);
            }
            memory.resize(len, 0);
            Ok(true)
        }
        fn dirty_map(&mut self, instance: InstanceId) -> Result<&mut [u8], EngineError> {
            Ok(&mut self.dirty[instance.0])
        }
        fn vm_global(&mut self, _: InstanceId, _: VmGlobal) -> Result<i64, EngineError> {
            unreachable!("the journal reads no VM global")
        }
        fn set_vm_global(&mut self, _: InstanceId, _: VmGlobal, _: i64) -> Result<(), EngineError> {
            unreachable!("the journal sets no VM global")
        }
        fn state_global(&mut self, instance: InstanceId, index: u32) -> Result<Value, EngineError> {
            assert_eq!(index, GLOBAL);
            Ok(self.globals[instance.0])
        }
        fn set_state_global(
            &mut self,
            instance: InstanceId,
            index: u32,
            value: Value,
        ) -> Result<(), EngineError> {
            assert_eq!(index, GLOBAL);
            self.globals[instance.0] = value;
            Ok(())
        }
        fn reinstantiate(&mut self, instance: InstanceId) -> Result<(), EngineError> {
            let (memory, global) = self.fresh[instance.0].clone();
            self.memories[instance.0] = memory;
            self.dirty[instance.0].fill(0);
            self.globals[instance.0] = global;
            self.reinstantiations += 1;
            Ok(())
        }
    }

    #[derive(Clone, Debug)]
    enum Step {
        /// The running contract (or, at top level, the session) calls one.
        Call(usize),
        /// The running contract stores 1 to 16 bytes.
        Store { offset: usize, len: usize, byte: u8 },
        /// The host writes into a contract (an argument, a reply).
        HostWrite {
            contract: usize,
            offset: usize,
            len: usize,
            byte: u8,
        },
        /// The running contract grows its memory by a page.
        Grow,
        /// The running contract sets its global.
        SetGlobal(i64),
        /// The running frame ends.
        Return { success: bool },
    }

    fn step() -> impl Strategy<Value = Step> {
        prop_oneof![
            2 => (0..CONTRACTS).prop_map(Step::Call),
            3 => (0..MAX_PAGES * PAGE, 1usize..=16, 1u8..)
                .prop_map(|(offset, len, byte)| Step::Store { offset, len, byte }),
            // Stores that end in the next 4 KiB page.
            2 => (1..MAX_PAGES * PAGE / 4096, 1usize..16, 1u8..).prop_map(|(page, back, byte)| {
                Step::Store { offset: page * 4096 - back, len: 16, byte }
            }),
            2 => (0..CONTRACTS, 0..MAX_PAGES * PAGE, 1usize..=9000, 1u8..).prop_map(
                |(contract, offset, len, byte)| Step::HostWrite { contract, offset, len, byte }
            ),
            1 => Just(Step::Grow),
            1 => any::<i64>().prop_map(Step::SetGlobal),
            3 => any::<bool>().prop_map(|success| Step::Return { success }),
        ]
    }

    /// What the state must be: each contract's memory as the calls that
    /// succeeded left it, and its global.
    struct Model {
        memories: Vec<Vec<u8>>,
        globals: Vec<Value>,
        /// The memories when each running frame started.
        saved: Vec<Vec<Vec<u8>>>,
        frames: Vec<usize>,
    }

    /// Clamps a write to the contract's memory as the model has it.
    fn clamp(len_of_memory: usize, offset: usize, len: usize) -> Option<(usize, usize)> {
        let offset = offset % len_of_memory;
        let len = len.min(len_of_memory - offset);
        (len > 0).then_some((offset, len))
    }

    /// The live memories match the model: beyond its length (growth a
    /// failed frame undid while the contract runs further up), zeros.
    fn check_live(store: &FakeStore, model: &Model) {
        for (c, expected) in model.memories.iter().enumerate() {
            let live = &store.memories[c];
            assert!(live.len() >= expected.len(), "contract {c} shrank");
            // Slices compare with memcmp: the test runs unoptimised.
            let (kept, beyond) = live.split_at(expected.len());
            if kept != expected.as_slice() {
                let at = (0..expected.len()).find(|&i| kept[i] != expected[i]);
                panic!("contract {c} differs at byte {at:?}");
            }
            assert!(
                beyond
                    .chunks(PAGE)
                    .all(|chunk| *chunk == ZEROS[..chunk.len()]),
                "contract {c}: nonzero bytes past its length"
            );
            assert_eq!(store.globals[c], model.globals[c], "global of contract {c}");
        }
    }

    fn run(steps: &[Step]) {
        let mut store = FakeStore::new();
        let mut journal = Journal::default();
        for c in 0..CONTRACTS {
            let state = ContractState::capture(&mut store, InstanceId(c), &[GLOBAL], None)
                .expect("capture");
            assert_eq!(journal.add_contract(state), InstanceId(c));
        }
        let mut model = Model {
            memories: store.memories.clone(),
            globals: store.globals.clone(),
            saved: Vec::new(),
            frames: Vec::new(),
        };
        for step in steps {
            let running = model.frames.last().copied();
            match *step {
                Step::Call(callee) if model.frames.len() < 4 => {
                    journal.begin(&mut store).expect("begin");
                    journal.enter(InstanceId(callee));
                    model.saved.push(model.memories.clone());
                    model.frames.push(callee);
                }
                Step::Store { offset, len, byte } => {
                    let Some(c) = running else { continue };
                    let Some((offset, len)) = clamp(model.memories[c].len(), offset, len) else {
                        continue;
                    };
                    store.store(c, offset, &vec![byte; len]);
                    model.memories[c][offset..offset + len].fill(byte);
                }
                Step::HostWrite {
                    contract,
                    offset,
                    len,
                    byte,
                } if running.is_some() => {
                    let Some((offset, len)) = clamp(model.memories[contract].len(), offset, len)
                    else {
                        continue;
                    };
                    store.host_write(contract, offset, &vec![byte; len]);
                    journal.touch(InstanceId(contract));
                    model.memories[contract][offset..offset + len].fill(byte);
                }
                Step::Grow => {
                    let Some(c) = running else { continue };
                    // A contract whose growth waits to be undone has a
                    // larger live memory than its state: it does not grow.
                    if store.memories[c].len() != model.memories[c].len() {
                        continue;
                    }
                    if store.grow_memory(InstanceId(c), 1).expect("grow") {
                        let len = model.memories[c].len() + PAGE;
                        model.memories[c].resize(len, 0);
                    }
                }
                Step::SetGlobal(value) => {
                    let Some(c) = running else { continue };
                    store.globals[c] = Value::I64(value);
                    model.globals[c] = Value::I64(value);
                }
                Step::Return { success } if running.is_some() => {
                    model.frames.pop();
                    let saved = model.saved.pop().expect("a frame saved its memories");
                    let callers: BTreeSet<usize> = model.frames.iter().copied().collect();
                    if success {
                        journal.commit(&mut store).expect("commit");
                    } else {
                        journal.rollback(&mut store, &callers).expect("rollback");
                        model.memories = saved;
                    }
                    if journal.depth() == 0 {
                        journal.settle(&mut store).expect("settle");
                        journal.reset_globals(&mut store).expect("reset");
                        model.globals = store.fresh.iter().map(|&(_, g)| g).collect();
                    }
                    if let Some(&caller) = model.frames.last() {
                        journal.touch(InstanceId(caller));
                    }
                    check_live(&store, &model);
                }
                _ => {}
            }
        }
        // End every call still running, successfully.
        while model.frames.pop().is_some() {
            model.saved.pop();
            journal.commit(&mut store).expect("commit");
        }
        journal.settle(&mut store).expect("settle");
        journal.reset_globals(&mut store).expect("reset");
        model.globals = store.fresh.iter().map(|&(_, g)| g).collect();
        check_live(&store, &model);
        for (c, state) in journal.states_mut().enumerate() {
            assert_eq!(
                store.memories[c].len(),
                model.memories[c].len(),
                "contract {c}"
            );
            assert!(
                state.memory() == model.memories[c].as_slice(),
                "state of {c}"
            );
            assert_eq!(
                state.digest(),
                memory_digest(&model.memories[c]),
                "digest of {c}"
            );
            assert!(store.dirty[c].iter().all(|&mark| mark == 0), "marks of {c}");
        }
    }

    proptest! {
        // Shrinking is bounded so that a broken journal fails in seconds.
        #![proptest_config(ProptestConfig {
            cases: 1024,
            max_shrink_iters: 2048,
            ..ProptestConfig::default()
        })]
        #[test]
        fn the_journal_keeps_what_succeeded_and_undoes_what_failed(
            steps in proptest::collection::vec(step(), 1..60)
        ) {
            run(&steps);
        }
    }

    #[test]
    fn written_pages_are_taken_within_the_memory_and_cleared() {
        let mut store = FakeStore::new();
        for page in [3, 64, 130, 198, 199, 200, 255] {
            store.dirty[1][page] = 1;
        }
        let pages = take_written_pages(&mut store, InstanceId(1), 199 * 4096 + 1).expect("map");
        // Each marked page and the next, within the memory: page 199 is
        // its last, one byte long.
        assert_eq!(pages, [3, 4, 64, 65, 130, 131, 198, 199]);
        let left: Vec<usize> = (0..256).filter(|&p| store.dirty[1][p] != 0).collect();
        assert_eq!(left, [200, 255]);
        assert!(store.dirty[0].iter().all(|&mark| mark == 0));
    }

    /// Pinned cases the random walk may miss: a store spilling over a page
    /// end, growth undone while the contract runs further up and at once.
    #[test]
    fn spills_and_growth_are_undone() {
        use Step::*;
        let spill = Store {
            offset: 2 * 4096 - 3,
            len: 8,
            byte: 0xab,
        };
        // The spill into page 2 is undone by the rollback.
        run(&[
            Call(0),
            Call(1),
            Return { success: true },
            spill.clone(),
            Return { success: false },
        ]);
        // Growth a nested frame of the same contract undid: replaced at the end.
        run(&[
            Call(0),
            Call(0),
            Grow,
            Store {
                offset: PAGE + 9,
                len: 4,
                byte: 7,
            },
            SetGlobal(5),
            Return { success: false },
            Store {
                offset: 3,
                len: 2,
                byte: 9,
            },
            Return { success: true },
        ]);
        // A store spilling from page 3 into page 4 at the outer level; a
        // nested level that succeeds logs page 4 after the spill; the outer
        // level fails: the spilled bytes go too.
        run(&[
            Call(0),
            Store {
                offset: 4 * 4096 - 12,
                len: 13,
                byte: 1,
            },
            Call(0),
            HostWrite {
                contract: 0,
                offset: 4 * 4096 - 4,
                len: 10,
                byte: 2,
            },
            Call(0),
            Return { success: false },
            Return { success: true },
            Return { success: false },
        ]);
        // Growth undone while the contract runs further up, then at once when
        // its outer frame fails too; it grows again in a call that succeeds,
        // and that growth stays.
        run(&[
            Call(0),
            Call(1),
            Call(1),
            Grow,
            Return { success: false },
            Return { success: false },
            Call(1),
            Grow,
            Return { success: true },
            Return { success: true },
        ]);
        // Growth of a callee that is not running further up: replaced at once.
        run(&[
            Call(0),
            Call(1),
            Grow,
            Grow,
            SetGlobal(-1),
            Return { success: false },
            spill,
            HostWrite {
                contract: 1,
                offset: 4090,
                len: 20,
                byte: 3,
            },
            Return { success: true },
        ]);
    }
}
