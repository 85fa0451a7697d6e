//! A shadow of wasmtime's Cranelift translation of one function, kept only as
//! far as fuel depends on it.
//!
//! wasmtime charges fuel at translation time: it adds up operator costs
//! along straight-line code, flushes the sum into its fuel variable at
//! control flow, stores the variable where the runtime can read it before
//! calls and returns, and checks the budget at function entry, loop headers
//! and large or dynamically sized bulk operations. Which code counts depends
//! on the translator's notion of reachability, and whether a bulk operation
//! is checked depends on whether its size is a translation-time constant.
//! This shadow follows the same operators through the same states (control
//! frames, reachability, an abstract operand stack over [`Ssa`] values) and
//! reports the fuel actions wasmtime would compile, in order, so that the
//! determinism pass can emit them as plain Wasm.
//!
//! The definition it mirrors is `crates/cranelift/src/func_environ.rs`
//! (`fuel_*`, `pre_translate_bulk_op`) and `translate/code_translator.rs` of
//! wasmtime 48.

use std::collections::HashMap;

use wasmparser::{BlockType, FuncType, MemArg, Operator, ValType};

use super::ssa::{Block, Branch, Ssa, Value, Var};
use crate::admission::ModuleInfo;
use crate::gas;

/// One thing wasmtime's compiled code does to the fuel counter.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FuelAction {
    /// Add this much to the fuel variable.
    Increment(i64),
    /// Store the fuel variable where the runtime reads it.
    Save,
    /// Fail with out-of-gas if the fuel variable is `>= 0`.
    Check,
}

/// Why the shadow cannot follow a function. Only reachable for modules that
/// admission should have rejected.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ShadowError {
    #[error("operator `{0}` has no known stack effect")]
    UnknownArity(String),
    #[error("the control stack is inconsistent at `{0}`")]
    ControlStack(&'static str),
    #[error("the operand stack underflows at `{0}`")]
    OperandStack(String),
}

#[derive(Clone, Copy, Debug)]
enum ElseData {
    /// The `if` has no `else` yet; its false edge goes straight to the
    /// destination through this branch.
    NoElse(Branch),
    WithElse(Block),
}

#[derive(Debug)]
enum FrameKind {
    Block,
    Loop {
        header: Block,
    },
    If {
        else_data: ElseData,
        head_is_reachable: bool,
        consequent_ends_reachable: Option<bool>,
    },
}

#[derive(Debug)]
struct Frame {
    kind: FrameKind,
    /// The block after the construct (`destination` in wasmtime).
    following: Block,
    params: usize,
    results: usize,
    original_height: usize,
    exit_is_branched_to: bool,
}

impl Frame {
    fn branch_destination(&self) -> Block {
        match self.kind {
            FrameKind::Loop { header } => header,
            _ => self.following,
        }
    }

    fn branch_arity(&self) -> usize {
        match self.kind {
            FrameKind::Loop { .. } => self.params,
            _ => self.results,
        }
    }

    fn set_branched_to_exit(&mut self) {
        if !matches!(self.kind, FrameKind::Loop { .. }) {
            self.exit_is_branched_to = true;
        }
    }
}

/// The translation shadow of one function.
pub struct Shadow<'m> {
    module: &'m ModuleInfo,
    ssa: Ssa,
    block_vars: HashMap<Block, Vec<Var>>,
    locals: Vec<Var>,
    control: Vec<Frame>,
    stack: Vec<Value>,
    current: Block,
    reachable: bool,
    /// Fuel consumed by operators since the last increment (wasmtime's
    /// `fuel_consumed`).
    consumed: i64,
}

impl<'m> Shadow<'m> {
    /// Starts a function of type `ty` whose non-parameter locals are declared
    /// in `local_groups`. Returns the shadow and the fuel actions of the
    /// function's entry.
    pub fn new(
        module: &'m ModuleInfo,
        ty: &FuncType,
        local_groups: &[(u32, ValType)],
    ) -> (Self, Vec<FuelAction>) {
        let mut ssa = Ssa::new();
        let entry = ssa.create_block();
        ssa.seal(entry);
        let mut locals = Vec::new();
        for _ in ty.params() {
            let var = ssa.declare_var();
            let param = ssa.param();
            ssa.def_var(var, entry, param);
            locals.push(var);
        }
        for &(count, local_type) in local_groups {
            // One zero per declaration group, shared by its locals.
            let zero = match local_type {
                ValType::I32 | ValType::I64 => ssa.int_const(0),
                _ => ssa.other(),
            };
            for _ in 0..count {
                let var = ssa.declare_var();
                ssa.def_var(var, entry, zero);
                locals.push(var);
            }
        }
        let exit = ssa.create_block();
        let mut block_vars = HashMap::new();
        block_vars.insert(
            exit,
            ty.results().iter().map(|_| ssa.declare_var()).collect(),
        );
        let mut shadow = Shadow {
            module,
            ssa,
            block_vars,
            locals,
            control: vec![Frame {
                kind: FrameKind::Block,
                following: exit,
                params: 0,
                results: ty.results().len(),
                original_height: 0,
                exit_is_branched_to: false,
            }],
            stack: Vec::new(),
            current: entry,
            reachable: true,
            consumed: gas::FUNCTION_ENTRY_COST,
        };
        let mut entry_actions = Vec::new();
        shadow.check(&mut entry_actions);
        (shadow, entry_actions)
    }

    /// Whether the translator considers the code at this point reachable.
    pub fn is_reachable(&self) -> bool {
        self.reachable
    }

    /// Depth of the control stack; 0 once the function's final `end` has
    /// been translated.
    pub fn control_depth(&self) -> usize {
        self.control.len()
    }

    /// Fuel actions after the last operator (wasmtime's function exit).
    pub fn finish(&self) -> Vec<FuelAction> {
        if self.reachable {
            vec![FuelAction::Save]
        } else {
            Vec::new()
        }
    }

    fn increment(&mut self, actions: &mut Vec<FuelAction>) {
        let consumed = std::mem::take(&mut self.consumed);
        if consumed != 0 {
            actions.push(FuelAction::Increment(consumed));
        }
    }

    fn check(&mut self, actions: &mut Vec<FuelAction>) {
        self.increment(actions);
        actions.push(FuelAction::Check);
    }

    /// The fuel actions compiled before `op` (wasmtime's `fuel_before_op`).
    pub fn before_operator(&mut self, op: &Operator) -> Vec<FuelAction> {
        let mut actions = Vec::new();
        if !self.reachable {
            return actions;
        }
        self.consumed += gas::operator_cost(op);
        use Operator as O;
        match op {
            O::Unreachable
            | O::Return
            | O::Call { .. }
            | O::CallIndirect { .. }
            | O::CallRef { .. }
            | O::ReturnCall { .. }
            | O::ReturnCallIndirect { .. }
            | O::ReturnCallRef { .. }
            | O::Throw { .. }
            | O::ThrowRef => {
                self.increment(&mut actions);
                actions.push(FuelAction::Save);
            }
            O::Loop { .. }
            | O::If { .. }
            | O::Br { .. }
            | O::BrIf { .. }
            | O::BrTable { .. }
            | O::BrOnNull { .. }
            | O::BrOnNonNull { .. }
            | O::BrOnCast { .. }
            | O::BrOnCastFail { .. }
            | O::End
            | O::Else => self.increment(&mut actions),
            _ => {}
        }
        actions
    }

    /// Follows the translation of `op`. `arity` is the operator's stack
    /// effect (pops, pushes) as the validator computed it before `op`.
    ///
    /// Returns the fuel actions compiled before the operator's own code and
    /// those compiled after it (a loop header's check).
    pub fn translate(
        &mut self,
        op: &Operator,
        arity: Option<(u32, u32)>,
        block_types: &dyn Fn(BlockType) -> (Vec<ValType>, Vec<ValType>),
    ) -> Result<(Vec<FuelAction>, Vec<FuelAction>), ShadowError> {
        let mut before = Vec::new();
        let mut after = Vec::new();
        if !self.reachable {
            self.translate_unreachable(op)?;
            return Ok((before, after));
        }
        use Operator as O;
        match op {
            O::LocalGet { local_index } => {
                let var = self.local(*local_index, op)?;
                let value = self.ssa.use_var(var, self.current);
                self.stack.push(value);
            }
            O::LocalSet { local_index } => {
                let var = self.local(*local_index, op)?;
                let value = self.pop(op)?;
                self.ssa.def_var(var, self.current, value);
            }
            O::LocalTee { local_index } => {
                let var = self.local(*local_index, op)?;
                let value = *self.stack.last().ok_or_else(|| underflow(op))?;
                self.ssa.def_var(var, self.current, value);
            }
            O::I32Const { value } => {
                let value = self.ssa.int_const(i64::from(*value as u32));
                self.stack.push(value);
            }
            O::I64Const { value } => {
                let value = self.ssa.int_const(*value);
                self.stack.push(value);
            }
            O::GlobalGet { global_index } => {
                let global = self.module.globals.get(*global_index as usize);
                let value = match global {
                    Some(global) if !global.mutable => match global.const_init {
                        Some(imm) => self.ssa.int_const(imm),
                        None => self.ssa.other(),
                    },
                    _ => self.ssa.other(),
                };
                self.stack.push(value);
            }
            O::TableSize { table } => {
                let value = match self.module.tables.get(*table as usize) {
                    Some(t) if t.maximum == Some(t.initial) => self.ssa.int_const(t.initial as i64),
                    _ => self.ssa.other(),
                };
                self.stack.push(value);
            }
            O::Block { blockty } => {
                let (params, results) = block_types(*blockty);
                let next = self.block_with_vars(results.len());
                self.control.push(Frame {
                    kind: FrameKind::Block,
                    following: next,
                    params: params.len(),
                    results: results.len(),
                    original_height: self.height_below(params.len(), op)?,
                    exit_is_branched_to: false,
                });
            }
            O::Loop { blockty } => {
                let (params, results) = block_types(*blockty);
                let header = self.block_with_vars(params.len());
                let next = self.block_with_vars(results.len());
                let args = self.peek(params.len(), op)?;
                self.jump(header, &args);
                self.control.push(Frame {
                    kind: FrameKind::Loop { header },
                    following: next,
                    params: params.len(),
                    results: results.len(),
                    original_height: self.height_below(params.len(), op)?,
                    exit_is_branched_to: false,
                });
                self.stack.truncate(self.stack.len() - params.len());
                self.current = header;
                self.push_block_params(header);
                // The loop header is a fuel check.
                self.check(&mut after);
            }
            O::If { blockty } => {
                self.pop(op)?;
                let (params, results) = block_types(*blockty);
                let then_block = self.ssa.create_block();
                let destination = self.block_with_vars(results.len());
                let else_data = if params == results {
                    let args = self.peek(params.len(), op)?;
                    self.set_block_params(destination, &args);
                    let branch = self.ssa.branch(self.current, &[then_block, destination]);
                    ElseData::NoElse(branch)
                } else {
                    let else_block = self.ssa.create_block();
                    self.ssa.branch(self.current, &[then_block, else_block]);
                    self.ssa.seal(else_block);
                    ElseData::WithElse(else_block)
                };
                self.ssa.seal(then_block);
                self.current = then_block;
                // The parameters are pushed a second time for the `else` arm.
                let args = self.peek(params.len(), op)?;
                self.stack.extend_from_slice(&args);
                self.control.push(Frame {
                    kind: FrameKind::If {
                        else_data,
                        head_is_reachable: true,
                        consequent_ends_reachable: None,
                    },
                    following: destination,
                    params: params.len(),
                    results: results.len(),
                    original_height: self.stack.len() - params.len(),
                    exit_is_branched_to: false,
                });
            }
            O::Else => self.translate_reachable_else(op)?,
            O::End => self.translate_end(op)?,
            O::Br { relative_depth } => {
                let (destination, arity) = self.branch_target(*relative_depth, op)?;
                let args = self.peek(arity, op)?;
                self.jump(destination, &args);
                self.stack.truncate(self.stack.len() - arity);
                self.reachable = false;
            }
            O::BrIf { relative_depth } => {
                self.pop(op)?;
                let (destination, arity) = self.branch_target(*relative_depth, op)?;
                let args = self.peek(arity, op)?;
                let next = self.ssa.create_block();
                self.set_block_params(destination, &args);
                self.ssa.branch(self.current, &[destination, next]);
                self.ssa.seal(next);
                self.current = next;
            }
            O::BrTable { targets } => self.translate_br_table(targets, op)?,
            O::Return | O::Unreachable => {
                self.apply_arity(arity, op)?;
                self.reachable = false;
            }
            _ => {
                if let Some((memarg, size)) = memory_access(op)
                    && statically_out_of_bounds(memarg, size)
                {
                    // wasmtime compiles an unconditional trap and treats the
                    // rest of the block as unreachable.
                    self.increment(&mut before);
                    before.push(FuelAction::Save);
                    self.apply_arity(arity, op)?;
                    self.reachable = false;
                    return Ok((before, after));
                }
                self.apply_arity(arity, op)?;
            }
        }
        Ok((before, after))
    }

    fn translate_reachable_else(&mut self, op: &Operator) -> Result<(), ShadowError> {
        let frame = self
            .control
            .last_mut()
            .ok_or(ShadowError::ControlStack("else"))?;
        let FrameKind::If {
            else_data,
            head_is_reachable,
            consequent_ends_reachable,
        } = &mut frame.kind
        else {
            return Err(ShadowError::ControlStack("else"));
        };
        *consequent_ends_reachable = Some(true);
        if !*head_is_reachable {
            return Ok(());
        }
        let else_data = *else_data;
        let (destination, params, results) = (frame.following, frame.params, frame.results);
        let else_block = match else_data {
            ElseData::NoElse(branch) => {
                let else_block = self.ssa.create_block();
                let args = self.peek(params, op)?;
                self.jump(destination, &args);
                self.stack.truncate(self.stack.len() - params);
                self.ssa.change_destination(branch, destination, else_block);
                self.ssa.seal(else_block);
                else_block
            }
            ElseData::WithElse(else_block) => {
                let args = self.peek(results, op)?;
                self.jump(destination, &args);
                self.stack.truncate(self.stack.len() - results);
                else_block
            }
        };
        self.current = else_block;
        Ok(())
    }

    fn translate_end(&mut self, op: &Operator) -> Result<(), ShadowError> {
        let frame = self.control.pop().ok_or(ShadowError::ControlStack("end"))?;
        let next = frame.following;
        let args = self.peek(frame.results, op)?;
        self.jump(next, &args);
        self.current = next;
        self.ssa.seal(next);
        if let FrameKind::Loop { header } = frame.kind {
            self.ssa.seal(header);
        }
        self.truncate_to_original(&frame);
        self.push_block_params(next);
        Ok(())
    }

    fn translate_br_table(
        &mut self,
        targets: &wasmparser::BrTable,
        op: &Operator,
    ) -> Result<(), ShadowError> {
        let depths: Vec<u32> = targets
            .targets()
            .chain(std::iter::once(Ok(targets.default())))
            .collect::<Result<_, _>>()
            .map_err(|_| ShadowError::ControlStack("br_table"))?;
        self.pop(op)?;
        let min_depth = depths.iter().copied().min().unwrap_or(targets.default());
        let arity = self.branch_target(min_depth, op)?.1;
        if arity == 0 {
            let mut destinations = Vec::with_capacity(depths.len());
            for &depth in &depths {
                destinations.push(self.branch_target(depth, op)?.0);
            }
            self.ssa.branch(self.current, &destinations);
        } else {
            // Cranelift splits each distinct edge through a block of its own.
            let mut split_blocks: Vec<(u32, Block)> = Vec::new();
            for &depth in &depths {
                if !split_blocks.iter().any(|&(d, _)| d == depth) {
                    let block = self.ssa.create_block();
                    split_blocks.push((depth, block));
                }
            }
            let blocks: Vec<Block> = split_blocks.iter().map(|&(_, block)| block).collect();
            self.ssa.branch(self.current, &blocks);
            let args = self.peek(arity, op)?;
            for (depth, block) in split_blocks {
                self.current = block;
                self.ssa.seal(block);
                let destination = self.branch_target(depth, op)?.0;
                self.jump(destination, &args);
            }
            self.stack.truncate(self.stack.len() - arity);
        }
        self.reachable = false;
        Ok(())
    }

    /// wasmtime's `translate_unreachable_operator`: only control structure.
    fn translate_unreachable(&mut self, op: &Operator) -> Result<(), ShadowError> {
        let placeholder = Block::reserved();
        match op {
            Operator::If { .. } => self.control.push(Frame {
                kind: FrameKind::If {
                    else_data: ElseData::WithElse(placeholder),
                    head_is_reachable: false,
                    consequent_ends_reachable: None,
                },
                following: placeholder,
                params: 0,
                results: 0,
                original_height: self.stack.len(),
                exit_is_branched_to: false,
            }),
            Operator::Block { .. } | Operator::Loop { .. } => self.control.push(Frame {
                kind: FrameKind::Block,
                following: placeholder,
                params: 0,
                results: 0,
                original_height: self.stack.len(),
                exit_is_branched_to: false,
            }),
            Operator::Else => {
                let frame = self
                    .control
                    .last_mut()
                    .ok_or(ShadowError::ControlStack("else"))?;
                let FrameKind::If {
                    else_data,
                    head_is_reachable,
                    consequent_ends_reachable,
                } = &mut frame.kind
                else {
                    return Err(ShadowError::ControlStack("else"));
                };
                *consequent_ends_reachable = Some(false);
                if *head_is_reachable {
                    self.reachable = true;
                    let else_data = *else_data;
                    let (destination, height) = (frame.following, frame.original_height);
                    let else_block = match else_data {
                        ElseData::NoElse(branch) => {
                            let else_block = self.ssa.create_block();
                            self.ssa.change_destination(branch, destination, else_block);
                            self.ssa.seal(else_block);
                            else_block
                        }
                        ElseData::WithElse(else_block) => else_block,
                    };
                    self.stack.truncate(height);
                    self.current = else_block;
                }
            }
            Operator::End => {
                let frame = self.control.pop().ok_or(ShadowError::ControlStack("end"))?;
                self.truncate_to_original(&frame);
                let reachable_anyway = match frame.kind {
                    FrameKind::Loop { header } => {
                        self.ssa.seal(header);
                        false
                    }
                    FrameKind::If {
                        head_is_reachable,
                        consequent_ends_reachable: None,
                        ..
                    } => head_is_reachable,
                    FrameKind::If {
                        head_is_reachable,
                        consequent_ends_reachable: Some(consequent),
                        ..
                    } => head_is_reachable && consequent,
                    FrameKind::Block => false,
                };
                if frame.exit_is_branched_to || reachable_anyway {
                    let next = frame.following;
                    self.current = next;
                    self.ssa.seal(next);
                    self.push_block_params(next);
                    self.reachable = true;
                }
            }
            _ => {}
        }
        Ok(())
    }

    fn truncate_to_original(&mut self, frame: &Frame) {
        let duplicated = match frame.kind {
            FrameKind::If { .. } => frame.params,
            _ => 0,
        };
        self.stack
            .truncate(frame.original_height.saturating_sub(duplicated));
    }

    fn local(&self, index: u32, op: &Operator) -> Result<Var, ShadowError> {
        self.locals
            .get(index as usize)
            .copied()
            .ok_or_else(|| underflow(op))
    }

    fn pop(&mut self, op: &Operator) -> Result<Value, ShadowError> {
        self.stack.pop().ok_or_else(|| underflow(op))
    }

    fn peek(&self, count: usize, op: &Operator) -> Result<Vec<Value>, ShadowError> {
        let start = self
            .stack
            .len()
            .checked_sub(count)
            .ok_or_else(|| underflow(op))?;
        Ok(self.stack[start..].to_vec())
    }

    fn height_below(&self, count: usize, op: &Operator) -> Result<usize, ShadowError> {
        self.stack
            .len()
            .checked_sub(count)
            .ok_or_else(|| underflow(op))
    }

    fn apply_arity(&mut self, arity: Option<(u32, u32)>, op: &Operator) -> Result<(), ShadowError> {
        let (pops, pushes) = arity.ok_or_else(|| ShadowError::UnknownArity(format!("{op:?}")))?;
        let height = self.height_below(pops as usize, op)?;
        self.stack.truncate(height);
        for _ in 0..pushes {
            let value = self.ssa.other();
            self.stack.push(value);
        }
        Ok(())
    }

    fn branch_target(&mut self, depth: u32, op: &Operator) -> Result<(Block, usize), ShadowError> {
        let index = self
            .control
            .len()
            .checked_sub(1 + depth as usize)
            .ok_or_else(|| underflow(op))?;
        let frame = &mut self.control[index];
        frame.set_branched_to_exit();
        Ok((frame.branch_destination(), frame.branch_arity()))
    }

    fn block_with_vars(&mut self, count: usize) -> Block {
        let block = self.ssa.create_block();
        let vars = (0..count).map(|_| self.ssa.declare_var()).collect();
        self.block_vars.insert(block, vars);
        block
    }

    fn set_block_params(&mut self, block: Block, values: &[Value]) {
        if let Some(vars) = self.block_vars.get(&block) {
            for (&var, &value) in vars.iter().zip(values) {
                self.ssa.def_var(var, self.current, value);
            }
        }
    }

    fn jump(&mut self, destination: Block, values: &[Value]) {
        self.set_block_params(destination, values);
        self.ssa.branch(self.current, &[destination]);
    }

    fn push_block_params(&mut self, block: Block) {
        let vars = self.block_vars.get(&block).cloned().unwrap_or_default();
        for var in vars {
            let value = self.ssa.use_var(var, block);
            self.stack.push(value);
        }
    }
}

fn underflow(op: &Operator) -> ShadowError {
    ShadowError::OperandStack(format!("{op:?}"))
}

/// The memory argument and access size of a load or store.
pub fn memory_access(op: &Operator) -> Option<(MemArg, u64)> {
    use Operator as O;
    let (memarg, size) = match *op {
        O::I32Load8S { memarg }
        | O::I32Load8U { memarg }
        | O::I64Load8S { memarg }
        | O::I64Load8U { memarg }
        | O::I32Store8 { memarg }
        | O::I64Store8 { memarg }
        | O::V128Load8Splat { memarg }
        | O::V128Load8Lane { memarg, .. }
        | O::V128Store8Lane { memarg, .. } => (memarg, 1),
        O::I32Load16S { memarg }
        | O::I32Load16U { memarg }
        | O::I64Load16S { memarg }
        | O::I64Load16U { memarg }
        | O::I32Store16 { memarg }
        | O::I64Store16 { memarg }
        | O::V128Load16Splat { memarg }
        | O::V128Load16Lane { memarg, .. }
        | O::V128Store16Lane { memarg, .. } => (memarg, 2),
        O::I32Load { memarg }
        | O::F32Load { memarg }
        | O::I64Load32S { memarg }
        | O::I64Load32U { memarg }
        | O::I32Store { memarg }
        | O::F32Store { memarg }
        | O::I64Store32 { memarg }
        | O::V128Load32Splat { memarg }
        | O::V128Load32Zero { memarg }
        | O::V128Load32Lane { memarg, .. }
        | O::V128Store32Lane { memarg, .. } => (memarg, 4),
        O::I64Load { memarg }
        | O::F64Load { memarg }
        | O::I64Store { memarg }
        | O::F64Store { memarg }
        | O::V128Load8x8S { memarg }
        | O::V128Load8x8U { memarg }
        | O::V128Load16x4S { memarg }
        | O::V128Load16x4U { memarg }
        | O::V128Load32x2S { memarg }
        | O::V128Load32x2U { memarg }
        | O::V128Load64Splat { memarg }
        | O::V128Load64Zero { memarg }
        | O::V128Load64Lane { memarg, .. }
        | O::V128Store64Lane { memarg, .. } => (memarg, 8),
        O::V128Load { memarg } | O::V128Store { memarg } => (memarg, 16),
        _ => return None,
    };
    Some((memarg, size))
}

/// Whether the translator proves at compile time that an access always
/// traps: its static offset plus size exceed the memory's static bound.
/// Production's wasmtime gives every memory, 32- or 64-bit, a static bound
/// of 4 GiB (piecrust forces static memories), whatever its declared
/// maximum.
fn statically_out_of_bounds(memarg: MemArg, size: u64) -> bool {
    const STATIC_BOUND: u64 = 1 << 32;
    let static_offset = if memarg.offset <= u64::from(u32::MAX) {
        memarg.offset
    } else {
        0
    };
    static_offset + size > STATIC_BOUND
}
