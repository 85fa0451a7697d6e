//! Rewriting of one function body: gas metering, the logical stack limit,
//! dirty-page marking and NaN canonicalization, all as plain Wasm.

use wasm_encoder::reencode::{Reencode, RoundtripReencoder};
use wasm_encoder::{BlockType as EncBlockType, Ieee32, Ieee64, Instruction, MemArg};
use wasmparser::{FuncValidator, FunctionBody, Operator, ValType, ValidatorResources};

use super::nan::{CANONICAL_F32, CANONICAL_F64, FloatResult, canonicalized_result};
use super::shadow::{FuelAction, Shadow, memory_access};
use super::stack::frame_size;
use super::{AbortCode, DIRTY_PAGE_SHIFT, InstrumentError, Layout};
use crate::abi::PtrWidth;
use crate::admission::ModuleInfo;
use crate::gas::StoreClass;

/// The scratch locals the pass appends to every function.
#[derive(Clone, Copy)]
struct Scratch {
    i32: [u32; 3],
    i64: [u32; 3],
    f32: u32,
    f64: u32,
    v128: u32,
}

impl Scratch {
    const TYPES: [(u32, ValType); 5] = [
        (3, ValType::I32),
        (3, ValType::I64),
        (1, ValType::F32),
        (1, ValType::F64),
        (1, ValType::V128),
    ];
    const COUNT: u32 = 9;

    fn starting_at(first: u32) -> Self {
        Scratch {
            i32: [first, first + 1, first + 2],
            i64: [first + 3, first + 4, first + 5],
            f32: first + 6,
            f64: first + 7,
            v128: first + 8,
        }
    }

    /// The `i`th scratch of the pointer type.
    fn pointer(&self, width: PtrWidth, i: usize) -> u32 {
        match width {
            PtrWidth::Wasm32 => self.i32[i],
            PtrWidth::Wasm64 => self.i64[i],
        }
    }
}

/// Accumulates the rewritten instructions of one function.
struct Emitter<'a> {
    layout: &'a Layout,
    width: PtrWidth,
    scratch: Scratch,
    out: Vec<Instruction<'a>>,
    /// Positions of the `i64.const` holding this function's frame size,
    /// known only once the whole body has been read.
    frame_size_slots: Vec<usize>,
}

impl<'a> Emitter<'a> {
    fn push(&mut self, instruction: Instruction<'a>) {
        self.out.push(instruction);
    }

    fn pointer_const(&mut self, value: u64) {
        match self.width {
            PtrWidth::Wasm32 => {
                #[expect(
                    clippy::cast_possible_truncation,
                    reason = "a pointer of a 32-bit memory: its low 32 bits"
                )]
                let value = value as u32;
                self.push(Instruction::I32Const(value.cast_signed()));
            }
            PtrWidth::Wasm64 => self.push(Instruction::I64Const(value.cast_signed())),
        }
    }

    fn fuel(&mut self, action: FuelAction) {
        let layout = self.layout;
        match action {
            FuelAction::Increment(amount) => {
                self.push(Instruction::GlobalGet(layout.fuel));
                self.push(Instruction::I64Const(amount));
                self.push(Instruction::I64Add);
                self.push(Instruction::GlobalSet(layout.fuel));
            }
            FuelAction::Save => {
                self.push(Instruction::GlobalGet(layout.fuel));
                self.push(Instruction::GlobalSet(layout.saved_fuel));
            }
            FuelAction::Check => {
                self.push(Instruction::GlobalGet(layout.fuel));
                self.push(Instruction::I64Const(0));
                self.push(Instruction::I64GeS);
                self.push(Instruction::If(EncBlockType::Empty));
                self.push(Instruction::GlobalGet(layout.fuel));
                self.push(Instruction::GlobalSet(layout.saved_fuel));
                self.abort(AbortCode::OutOfGas);
                self.push(Instruction::End);
            }
        }
    }

    fn abort(&mut self, code: AbortCode) {
        self.push(Instruction::I32Const(code as i32));
        self.push(Instruction::GlobalSet(self.layout.abort));
        self.push(Instruction::Unreachable);
    }

    fn frame_size_const(&mut self) {
        self.frame_size_slots.push(self.out.len());
        self.push(Instruction::I64Const(0));
    }

    fn enter_frame(&mut self) {
        let depth = self.layout.depth;
        self.push(Instruction::GlobalGet(depth));
        self.frame_size_const();
        self.push(Instruction::I64Add);
        self.push(Instruction::GlobalSet(depth));
        self.push(Instruction::GlobalGet(depth));
        // Compared unsigned (`i64.gt_u`): the budget's bits.
        self.push(Instruction::I64Const(
            self.layout.stack_budget.cast_signed(),
        ));
        self.push(Instruction::I64GtU);
        self.push(Instruction::If(EncBlockType::Empty));
        self.abort(AbortCode::StackExhausted);
        self.push(Instruction::End);
    }

    fn leave_frame(&mut self) {
        let depth = self.layout.depth;
        self.push(Instruction::GlobalGet(depth));
        self.frame_size_const();
        self.push(Instruction::I64Sub);
        self.push(Instruction::GlobalSet(depth));
    }

    /// Marks the dirty page holding `address + offset` (the address in the
    /// pointer scratch 0). A store that runs into the next page is covered
    /// by the host, which treats each dirty page as extending over the
    /// widest store.
    fn mark_store(&mut self, offset: u64) {
        let address = self.scratch.pointer(self.width, 0);
        self.push(Instruction::LocalGet(address));
        if offset != 0 {
            self.pointer_const(offset);
            self.push(self.pointer_add());
        }
        self.pointer_const(u64::from(DIRTY_PAGE_SHIFT));
        match self.width {
            PtrWidth::Wasm32 => self.push(Instruction::I32ShrU),
            PtrWidth::Wasm64 => {
                self.push(Instruction::I64ShrU);
                self.push(Instruction::I32WrapI64);
            }
        }
        self.push(Instruction::I32Const(1));
        self.push(Instruction::I32Store8(MemArg {
            offset: 0,
            align: 0,
            memory_index: self.layout.dirty_memory,
        }));
    }

    fn pointer_add(&self) -> Instruction<'static> {
        match self.width {
            PtrWidth::Wasm32 => Instruction::I32Add,
            PtrWidth::Wasm64 => Instruction::I64Add,
        }
    }

    fn canonicalize(&mut self, result: FloatResult) {
        match result {
            FloatResult::F32 => {
                let s = self.scratch.f32;
                self.push(Instruction::LocalTee(s));
                self.push(Instruction::F32Const(Ieee32::new(CANONICAL_F32)));
                self.push(Instruction::LocalGet(s));
                self.push(Instruction::LocalGet(s));
                self.push(Instruction::F32Eq);
                self.push(Instruction::Select);
            }
            FloatResult::F64 => {
                let s = self.scratch.f64;
                self.push(Instruction::LocalTee(s));
                self.push(Instruction::F64Const(Ieee64::new(CANONICAL_F64)));
                self.push(Instruction::LocalGet(s));
                self.push(Instruction::LocalGet(s));
                self.push(Instruction::F64Eq);
                self.push(Instruction::Select);
            }
            FloatResult::F32x4 | FloatResult::F64x2 => {
                let s = self.scratch.v128;
                let (canonical, equal) = if result == FloatResult::F32x4 {
                    let lane = i128::from(CANONICAL_F32);
                    (
                        lane | lane << 32 | lane << 64 | lane << 96,
                        Instruction::F32x4Eq,
                    )
                } else {
                    let lane = i128::from(CANONICAL_F64);
                    (lane | lane << 64, Instruction::F64x2Eq)
                };
                self.push(Instruction::LocalTee(s));
                self.push(Instruction::V128Const(canonical));
                self.push(Instruction::LocalGet(s));
                self.push(Instruction::LocalGet(s));
                self.push(equal);
                self.push(Instruction::V128Bitselect);
            }
        }
    }

    /// Code before a store or bulk write: keeps the destination (and for
    /// bulk writes the length) in scratch locals for the marking after it.
    fn before_write(&mut self, op: &Operator) {
        let width = self.width;
        let s = self.scratch;
        match op {
            Operator::MemoryFill { .. } => {
                self.push(Instruction::LocalSet(s.pointer(width, 0)));
                self.push(Instruction::LocalSet(s.i32[1]));
                self.push(Instruction::LocalTee(s.pointer(width, 2)));
                self.push(Instruction::LocalGet(s.i32[1]));
                self.push(Instruction::LocalGet(s.pointer(width, 0)));
            }
            Operator::MemoryCopy { .. } => {
                self.push(Instruction::LocalSet(s.pointer(width, 0)));
                self.push(Instruction::LocalSet(s.pointer(width, 1)));
                self.push(Instruction::LocalTee(s.pointer(width, 2)));
                self.push(Instruction::LocalGet(s.pointer(width, 1)));
                self.push(Instruction::LocalGet(s.pointer(width, 0)));
            }
            Operator::MemoryInit { .. } => {
                self.push(Instruction::LocalSet(s.i32[0]));
                self.push(Instruction::LocalSet(s.i32[1]));
                self.push(Instruction::LocalTee(s.pointer(width, 2)));
                self.push(Instruction::LocalGet(s.i32[1]));
                self.push(Instruction::LocalGet(s.i32[0]));
            }
            _ => {
                let Some(value) = stored_value_scratch(op, &s) else {
                    return;
                };
                self.push(Instruction::LocalSet(value));
                self.push(Instruction::LocalTee(s.pointer(width, 0)));
                self.push(Instruction::LocalGet(value));
            }
        }
    }

    fn after_write(&mut self, op: &Operator) {
        let width = self.width;
        let s = self.scratch;
        match op {
            Operator::MemoryGrow { .. } => {
                // Count a refused growth (-1), keeping the result.
                let result = s.pointer(width, 0);
                self.push(Instruction::LocalTee(result));
                match width {
                    PtrWidth::Wasm32 => {
                        self.push(Instruction::I32Const(-1));
                        self.push(Instruction::I32Eq);
                    }
                    PtrWidth::Wasm64 => {
                        self.push(Instruction::I64Const(-1));
                        self.push(Instruction::I64Eq);
                    }
                }
                self.push(Instruction::If(EncBlockType::Empty));
                self.push(Instruction::GlobalGet(self.layout.grow_refused));
                self.push(Instruction::I32Const(1));
                self.push(Instruction::I32Add);
                self.push(Instruction::GlobalSet(self.layout.grow_refused));
                self.push(Instruction::End);
                self.push(Instruction::LocalGet(result));
            }
            Operator::MemoryFill { .. } | Operator::MemoryCopy { .. } => {
                self.push(Instruction::LocalGet(s.pointer(width, 2)));
                self.push(Instruction::LocalGet(s.pointer(width, 0)));
                self.push(Instruction::Call(self.layout.mark_range));
            }
            Operator::MemoryInit { .. } => {
                self.push(Instruction::LocalGet(s.pointer(width, 2)));
                self.push(Instruction::LocalGet(s.i32[0]));
                if width == PtrWidth::Wasm64 {
                    self.push(Instruction::I64ExtendI32U);
                }
                self.push(Instruction::Call(self.layout.mark_range));
            }
            _ => {
                if StoreClass::of(op).is_some()
                    && let Some((memarg, _)) = memory_access(op)
                {
                    self.mark_store(memarg.offset);
                }
            }
        }
    }
}

/// The scratch local that holds a store's value while its address is saved.
fn stored_value_scratch(op: &Operator, s: &Scratch) -> Option<u32> {
    use Operator as O;
    StoreClass::of(op)?;
    Some(match op {
        O::I32Store { .. } | O::I32Store8 { .. } | O::I32Store16 { .. } => s.i32[1],
        O::I64Store { .. } | O::I64Store8 { .. } | O::I64Store16 { .. } | O::I64Store32 { .. } => {
            s.i64[1]
        }
        O::F32Store { .. } => s.f32,
        O::F64Store { .. } => s.f64,
        _ => s.v128,
    })
}

/// Rewrites the body of function `function`.
pub(super) fn rewrite<'a>(
    module: &ModuleInfo,
    layout: &'a Layout,
    function: u32,
    body: &FunctionBody<'a>,
    mut validator: FuncValidator<ValidatorResources>,
) -> Result<wasm_encoder::Function, InstrumentError> {
    let invalid =
        |error: wasmparser::BinaryReaderError| InstrumentError::Invalid(error.to_string());
    let ty = module
        .function_type(function)
        .ok_or(InstrumentError::Invalid(format!(
            "function {function} has no type"
        )))?
        .clone();

    let mut local_groups = Vec::new();
    let mut declared = ty.params().len() as u64;
    let mut locals_reader = body.get_locals_reader().map_err(invalid)?;
    for _ in 0..locals_reader.get_count() {
        let offset = locals_reader.original_position();
        let (count, local_type) = locals_reader.read().map_err(invalid)?;
        validator
            .define_locals(offset, count, local_type)
            .map_err(invalid)?;
        local_groups.push((count, local_type));
        declared += u64::from(count);
    }
    let first_scratch = u32::try_from(declared).map_err(|_| {
        InstrumentError::Invalid(format!("function {function} has too many locals"))
    })?;

    let mut reencoder = RoundtripReencoder;
    let mut encoded_locals = Vec::new();
    for &(count, local_type) in local_groups.iter().chain(Scratch::TYPES.iter()) {
        let local_type = reencoder
            .val_type(local_type)
            .map_err(|error| InstrumentError::Invalid(error.to_string()))?;
        encoded_locals.push((count, local_type));
    }

    let mut emitter = Emitter {
        layout,
        width: module.memory.width,
        scratch: Scratch::starting_at(first_scratch),
        out: Vec::new(),
        frame_size_slots: Vec::new(),
    };
    emitter.enter_frame();
    let (mut shadow, entry) = Shadow::new();
    for action in entry {
        emitter.fuel(action);
    }
    emitter.push(Instruction::Block(layout.wrapper_block_type(&ty)?));

    let mut max_operand_height = 0u64;
    let mut reader = body.get_operators_reader().map_err(invalid)?;
    while !reader.eof() {
        let offset = reader.original_position();
        let op = reader.read().map_err(invalid)?;
        let reachable = shadow.is_reachable();
        validator.op(offset, &op).map_err(invalid)?;
        max_operand_height = max_operand_height.max(u64::from(validator.operand_stack_height()));

        let before_op = shadow.before_operator(&op);
        let (before_code, after_code) =
            shadow
                .translate(&op)
                .map_err(|error| InstrumentError::Shadow {
                    function,
                    error: error.to_string(),
                })?;
        for action in before_op.into_iter().chain(before_code) {
            emitter.fuel(action);
        }

        if matches!(op, Operator::End) && shadow.control_depth() == 0 {
            // The function's own `end`: close the wrapper block, release the
            // frame, store the fuel, then end the function.
            emitter.push(Instruction::End);
            emitter.leave_frame();
            for action in shadow.finish() {
                emitter.fuel(action);
            }
            emitter.push(Instruction::End);
            continue;
        }

        if reachable {
            emitter.before_write(&op);
            if matches!(op, Operator::Return) {
                emitter.leave_frame();
            }
        }
        let canonical = if reachable {
            canonicalized_result(&op)
        } else {
            None
        };
        let is_write = reachable;
        let instruction = reencoder
            .instruction(op.clone())
            .map_err(|error| InstrumentError::Invalid(error.to_string()))?;
        emitter.push(instruction);
        if is_write {
            emitter.after_write(&op);
        }
        if let Some(result) = canonical {
            emitter.canonicalize(result);
        }
        for action in after_code {
            emitter.fuel(action);
        }
    }

    let size = frame_size(declared + u64::from(Scratch::COUNT), max_operand_height).cast_signed();
    for slot in std::mem::take(&mut emitter.frame_size_slots) {
        emitter.out[slot] = Instruction::I64Const(size);
    }
    let mut function_out = wasm_encoder::Function::new(encoded_locals);
    for instruction in &emitter.out {
        function_out.instruction(instruction);
    }
    Ok(function_out)
}

/// The body of the helper that marks every dirty page of
/// `[start, start + len)`: parameters `start` and `len` of the pointer type.
pub(super) fn mark_range_body(width: PtrWidth, dirty_memory: u32) -> wasm_encoder::Function {
    let (start, len, page, last) = (0, 1, 2, 3);
    let mut f = wasm_encoder::Function::new([(2, wasm_encoder::ValType::I32)]);
    let (shift, add, sub, shr, eqz, one): (Instruction, _, _, _, _, Instruction) = match width {
        PtrWidth::Wasm32 => (
            Instruction::I32Const(DIRTY_PAGE_SHIFT.cast_signed()),
            Instruction::I32Add,
            Instruction::I32Sub,
            Instruction::I32ShrU,
            Instruction::I32Eqz,
            Instruction::I32Const(1),
        ),
        PtrWidth::Wasm64 => (
            Instruction::I64Const(i64::from(DIRTY_PAGE_SHIFT)),
            Instruction::I64Add,
            Instruction::I64Sub,
            Instruction::I64ShrU,
            Instruction::I64Eqz,
            Instruction::I64Const(1),
        ),
    };
    let wrap = |f: &mut wasm_encoder::Function| {
        if width == PtrWidth::Wasm64 {
            f.instruction(&Instruction::I32WrapI64);
        }
    };
    f.instruction(&Instruction::LocalGet(len));
    f.instruction(&eqz);
    f.instruction(&Instruction::If(EncBlockType::Empty));
    f.instruction(&Instruction::Return);
    f.instruction(&Instruction::End);
    f.instruction(&Instruction::LocalGet(start));
    f.instruction(&shift);
    f.instruction(&shr);
    wrap(&mut f);
    f.instruction(&Instruction::LocalSet(page));
    f.instruction(&Instruction::LocalGet(start));
    f.instruction(&Instruction::LocalGet(len));
    f.instruction(&add);
    f.instruction(&one);
    f.instruction(&sub);
    f.instruction(&shift);
    f.instruction(&shr);
    wrap(&mut f);
    f.instruction(&Instruction::LocalSet(last));
    f.instruction(&Instruction::Loop(EncBlockType::Empty));
    f.instruction(&Instruction::LocalGet(page));
    f.instruction(&Instruction::I32Const(1));
    f.instruction(&Instruction::I32Store8(MemArg {
        offset: 0,
        align: 0,
        memory_index: dirty_memory,
    }));
    f.instruction(&Instruction::LocalGet(page));
    f.instruction(&Instruction::I32Const(1));
    f.instruction(&Instruction::I32Add);
    f.instruction(&Instruction::LocalTee(page));
    f.instruction(&Instruction::LocalGet(last));
    f.instruction(&Instruction::I32LeU);
    f.instruction(&Instruction::BrIf(0));
    f.instruction(&Instruction::End);
    f.instruction(&Instruction::End);
    f
}
