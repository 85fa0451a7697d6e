//! A model of Cranelift's SSA construction, reduced to the one fact gas
//! metering needs: whether a Wasm operand is an integer constant at
//! translation time.
//!
//! wasmtime decides whether to put a fuel check after a bulk operation by
//! asking whether its size operand is defined by an `iconst` instruction.
//! Wasm locals and block parameters are `cranelift_frontend` variables, so the
//! answer depends on how its SSA builder (the algorithm of Braun et al.,
//! "Simple and Efficient Construction of Static Single Assignment Form")
//! resolves each variable use: through chains of sealed single-predecessor
//! blocks, through block parameters that turn out redundant and become
//! aliases, or to a real block parameter. This module replays that algorithm
//! over abstract values that only remember their identity and whether they
//! are an integer constant.
//!
//! Lookups run on an explicit work list, like Cranelift's, so deeply nested
//! control flow in an untrusted module cannot overflow the host's stack.

use std::collections::{HashMap, HashSet};

/// An abstract SSA value.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Value(u32);

/// A basic block.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Block(u32);

impl Block {
    /// A block that never exists: the target of control frames in
    /// unreachable code, which the model never branches to or seals.
    pub fn reserved() -> Self {
        Block(u32::MAX)
    }
}

/// A variable: a Wasm local or a block parameter.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Var(u32);

/// A branch instruction; a block's predecessors are branches.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Branch(u32);

#[derive(Clone, Copy, Debug)]
enum ValueData {
    /// Defined by an integer constant instruction with this immediate.
    IntConst(i64),
    /// Defined by any other instruction.
    Other,
    /// A block parameter.
    Param,
    /// Replaced by another value.
    Alias(Value),
}

#[derive(Default)]
struct BlockData {
    predecessors: Vec<(Branch, Block)>,
    sealed: bool,
    /// Variables that got a placeholder parameter before the block was sealed.
    undefined: Vec<(Var, Value)>,
    single_predecessor: Option<Block>,
}

enum Step {
    UseVar(Var, Block),
    FinishLookup { sentinel: Value, block: Block },
}

/// The SSA builder model.
#[derive(Default)]
pub struct Ssa {
    values: Vec<ValueData>,
    blocks: Vec<BlockData>,
    definitions: HashMap<(Var, Block), Value>,
    next_var: u32,
    next_branch: u32,
    steps: Vec<Step>,
    results: Vec<Value>,
}

impl Ssa {
    pub fn new() -> Self {
        Self::default()
    }

    fn block(&self, block: Block) -> Option<&BlockData> {
        self.blocks.get(block.0 as usize)
    }

    fn push_value(&mut self, data: ValueData) -> Value {
        self.values.push(data);
        Value(self.values.len() as u32 - 1)
    }

    /// A value defined by an integer constant instruction.
    pub fn int_const(&mut self, imm: i64) -> Value {
        self.push_value(ValueData::IntConst(imm))
    }

    /// A value defined by any other instruction.
    pub fn other(&mut self) -> Value {
        self.push_value(ValueData::Other)
    }

    /// A fresh block parameter (the function's own parameters).
    pub fn param(&mut self) -> Value {
        self.push_value(ValueData::Param)
    }

    pub fn create_block(&mut self) -> Block {
        self.blocks.push(BlockData::default());
        Block(self.blocks.len() as u32 - 1)
    }

    pub fn declare_var(&mut self) -> Var {
        self.next_var += 1;
        Var(self.next_var - 1)
    }

    /// A new branch instruction in `from` whose targets are `targets`;
    /// duplicate targets count once, as in Cranelift's jump tables.
    pub fn branch(&mut self, from: Block, targets: &[Block]) -> Branch {
        let branch = Branch(self.next_branch);
        self.next_branch += 1;
        let mut seen = HashSet::new();
        for &target in targets {
            if seen.insert(target)
                && let Some(data) = self.blocks.get_mut(target.0 as usize)
            {
                data.predecessors.push((branch, from));
            }
        }
        branch
    }

    /// Retargets `branch` from `old` to `new`.
    pub fn change_destination(&mut self, branch: Branch, old: Block, new: Block) {
        let Some(old_data) = self.blocks.get_mut(old.0 as usize) else {
            return;
        };
        let preds = &mut old_data.predecessors;
        if let Some(position) = preds.iter().position(|&(b, _)| b == branch) {
            let (_, from) = preds.swap_remove(position);
            if let Some(new_data) = self.blocks.get_mut(new.0 as usize) {
                new_data.predecessors.push((branch, from));
            }
        }
    }

    /// The integer constant `value` is, after following aliases.
    pub fn as_int_const(&self, value: Value) -> Option<i64> {
        match self.values.get(self.resolve(value).0 as usize) {
            Some(ValueData::IntConst(imm)) => Some(*imm),
            _ => None,
        }
    }

    fn resolve(&self, mut value: Value) -> Value {
        // Aliases form chains, never cycles: a value only becomes an alias of
        // a value that existed before it was resolved.
        for _ in 0..=self.values.len() {
            match self.values.get(value.0 as usize) {
                Some(ValueData::Alias(original)) => value = *original,
                _ => return value,
            }
        }
        value
    }

    pub fn def_var(&mut self, var: Var, block: Block, value: Value) {
        self.definitions.insert((var, block), value);
    }

    pub fn use_var(&mut self, var: Var, block: Block) -> Value {
        debug_assert!(self.steps.is_empty() && self.results.is_empty());
        self.use_var_nonlocal(var, block);
        self.run();
        self.results.pop().unwrap_or_else(unreachable_result)
    }

    pub fn seal(&mut self, block: Block) {
        let Some(data) = self.blocks.get_mut(block.0 as usize) else {
            return;
        };
        if data.sealed {
            return;
        }
        data.sealed = true;
        if data.predecessors.len() == 1 {
            data.single_predecessor = Some(data.predecessors[0].1);
        }
        let undefined = std::mem::take(&mut data.undefined);
        for (var, sentinel) in undefined {
            self.begin_predecessor_lookup(var, sentinel, block);
            self.run();
            self.results.pop();
        }
    }

    fn use_var_nonlocal(&mut self, var: Var, mut block: Block) {
        if let Some(&value) = self.definitions.get(&(var, block)) {
            self.results.push(value);
            return;
        }
        let (value, from) = self.find_var(var, block);
        // Every block on the single-predecessor chain gets the definition.
        while block != from {
            self.definitions.insert((var, block), value);
            match self.block(block).and_then(|data| data.single_predecessor) {
                Some(pred) => block = pred,
                None => break,
            }
        }
    }

    fn find_var(&mut self, var: Var, mut block: Block) -> (Value, Block) {
        let mut visited = HashSet::new();
        while let Some(pred) = self.block(block).and_then(|data| data.single_predecessor) {
            if !visited.insert(block) {
                break;
            }
            block = pred;
            if let Some(&value) = self.definitions.get(&(var, block)) {
                self.results.push(value);
                return (value, block);
            }
        }
        let sentinel = self.push_value(ValueData::Param);
        self.definitions.insert((var, block), sentinel);
        match self.blocks.get_mut(block.0 as usize) {
            Some(data) if !data.sealed => {
                data.undefined.push((var, sentinel));
                self.results.push(sentinel);
            }
            _ => self.begin_predecessor_lookup(var, sentinel, block),
        }
        (sentinel, block)
    }

    fn begin_predecessor_lookup(&mut self, var: Var, sentinel: Value, block: Block) {
        self.steps.push(Step::FinishLookup { sentinel, block });
        let preds: Vec<Block> = self
            .block(block)
            .map(|data| {
                data.predecessors
                    .iter()
                    .rev()
                    .map(|&(_, from)| from)
                    .collect()
            })
            .unwrap_or_default();
        for from in preds {
            self.steps.push(Step::UseVar(var, from));
        }
    }

    fn run(&mut self) {
        while let Some(step) = self.steps.pop() {
            match step {
                Step::UseVar(var, block) => self.use_var_nonlocal(var, block),
                Step::FinishLookup { sentinel, block } => {
                    let value = self.finish_lookup(sentinel, block);
                    self.results.push(value);
                }
            }
        }
    }

    fn finish_lookup(&mut self, sentinel: Value, block: Block) -> Value {
        let count = self.block(block).map_or(0, |data| data.predecessors.len());
        let start = self.results.len().saturating_sub(count);
        let drained: Vec<Value> = self.results.drain(start..).collect();
        let found: Vec<Value> = drained
            .into_iter()
            .map(|value| self.resolve(value))
            .filter(|&value| value != sentinel)
            .collect();
        let replacement = match found.split_first() {
            Some((&first, rest)) if rest.iter().all(|&value| value == first) => Some(first),
            Some(_) => None,
            // Used but never defined: Cranelift materialises a zero.
            None => Some(self.int_const(0)),
        };
        match replacement {
            Some(value) => {
                if let Some(data) = self.values.get_mut(sentinel.0 as usize) {
                    *data = ValueData::Alias(value);
                }
                value
            }
            None => sentinel,
        }
    }
}

#[cold]
fn unreachable_result() -> Value {
    // `run` always leaves exactly one result for a use; an empty stack would
    // be a bug in this model. A non-constant answer is the safe fallback.
    Value(u32::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn definition_flows_through_single_predecessors() {
        let mut ssa = Ssa::new();
        let entry = ssa.create_block();
        ssa.seal(entry);
        let x = ssa.declare_var();
        let five = ssa.int_const(5);
        ssa.def_var(x, entry, five);
        let next = ssa.create_block();
        ssa.branch(entry, &[next]);
        ssa.seal(next);
        let used = ssa.use_var(x, next);
        assert_eq!(ssa.as_int_const(used), Some(5));
    }

    #[test]
    fn same_value_on_all_edges_is_not_a_parameter() {
        let mut ssa = Ssa::new();
        let entry = ssa.create_block();
        ssa.seal(entry);
        let x = ssa.declare_var();
        let zero = ssa.int_const(0);
        ssa.def_var(x, entry, zero);
        let (then, other, join) = (ssa.create_block(), ssa.create_block(), ssa.create_block());
        ssa.branch(entry, &[then, other]);
        ssa.seal(then);
        ssa.seal(other);
        ssa.branch(then, &[join]);
        ssa.branch(other, &[join]);
        ssa.seal(join);
        let used = ssa.use_var(x, join);
        assert_eq!(ssa.as_int_const(used), Some(0));
    }

    #[test]
    fn different_constants_make_a_parameter() {
        let mut ssa = Ssa::new();
        let entry = ssa.create_block();
        ssa.seal(entry);
        let x = ssa.declare_var();
        let (then, other, join) = (ssa.create_block(), ssa.create_block(), ssa.create_block());
        ssa.branch(entry, &[then, other]);
        ssa.seal(then);
        ssa.seal(other);
        let a = ssa.int_const(7);
        let b = ssa.int_const(7);
        ssa.def_var(x, then, a);
        ssa.def_var(x, other, b);
        ssa.branch(then, &[join]);
        ssa.branch(other, &[join]);
        ssa.seal(join);
        let used = ssa.use_var(x, join);
        assert_eq!(ssa.as_int_const(used), None);
    }

    #[test]
    fn unsealed_loop_header_hides_constants_until_sealed() {
        let mut ssa = Ssa::new();
        let entry = ssa.create_block();
        ssa.seal(entry);
        let x = ssa.declare_var();
        let three = ssa.int_const(3);
        ssa.def_var(x, entry, three);
        let header = ssa.create_block();
        ssa.branch(entry, &[header]);
        let inside = ssa.use_var(x, header);
        assert_eq!(ssa.as_int_const(inside), None);
        // The back edge passes the same value; sealing aliases the parameter.
        ssa.branch(header, &[header]);
        ssa.seal(header);
        assert_eq!(ssa.as_int_const(inside), Some(3));
    }
}
