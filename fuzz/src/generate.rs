//! ABI-shaped contracts from wasm-smith, and cases made of them.
//!
//! wasm-smith is configured so that what it generates is a Dusk contract:
//! one memory with a maximum, exports `f`, `g` and `` (the empty name) of
//! type `(i32) -> (i32)`, the host imports offered through
//! `available_imports` (so generated code calls `c`, `emit`, `spent`, ...
//! with arbitrary arguments), only admitted features, 32- or 64-bit memory.
//! The global exported as `A` is then set to 0, so the argument buffer lies
//! in the memory, and instructions admission rejects (table mutation,
//! segment drops) become drops of their operands. Three in four contracts
//! are also shaped like real ones at their exits: before an exported
//! function returns, it stores its first 16 locals to the start of the
//! argument buffer and masks its result to an output length below 1,024,
//! so that calls succeed with outputs that show what the function computed
//! (wasm-smith's own results are almost never valid lengths).
//!
//! Contracts call each other for real: the first contract of a case gets the
//! all-zero id and every contract exports the empty name, so a `c` whose id
//! pointer lands on zeroed memory and whose name length is 0 (common in
//! generated code) makes a nested call.

use arbitrary::{Arbitrary, Unstructured};
use vm::abi::{self, ContractId, HOST_MODULE, HostImport, PtrWidth, Signature, ValType};
use vm::admission::ForbiddenInstruction;
use vm::features;
use wasm_encoder::reencode::{Error, Reencode, utils};
use wasm_encoder::{ConstExpr, GlobalSection};
use wasmparser::WasmFeatures;

/// The ABI's value type in wasm-encoder's terms.
fn encoder_type(ty: ValType) -> wasm_encoder::ValType {
    match ty {
        ValType::I32 => wasm_encoder::ValType::I32,
        ValType::I64 => wasm_encoder::ValType::I64,
    }
}

/// Every host import of the ABI table, offered to generated code with its
/// signature for the width, each distinct signature typed once in order of
/// first use.
fn available_imports(width: PtrWidth) -> Vec<u8> {
    let mut signatures: Vec<Signature> = Vec::new();
    let mut imports = wasm_encoder::ImportSection::new();
    for import in HostImport::ALL {
        let signature = import.signature(width);
        let position = match signatures.iter().position(|known| *known == signature) {
            Some(position) => position,
            None => {
                signatures.push(signature);
                signatures.len() - 1
            }
        };
        // At most one signature per import of the ABI table.
        let index = u32::try_from(position).unwrap_or(u32::MAX);
        imports.import(
            HOST_MODULE,
            import.name(),
            wasm_encoder::EntityType::Function(index),
        );
    }
    let mut types = wasm_encoder::TypeSection::new();
    for signature in &signatures {
        types.ty().function(
            signature.params.iter().copied().map(encoder_type),
            signature.results.iter().copied().map(encoder_type),
        );
    }
    let mut module = wasm_encoder::Module::new();
    module.section(&types).section(&imports);
    module.finish()
}

/// The exports every generated contract has: a memory of 2 to 4 pages, the
/// argument buffer's global `A` at 0, and `f`, `g` and `` (the empty name)
/// of the export signature, whose bodies wasm-smith replaces.
fn required_exports(width: PtrWidth) -> Vec<u8> {
    let export_signature = abi::export_signature();
    let mut types = wasm_encoder::TypeSection::new();
    types.ty().function(
        export_signature.params.iter().copied().map(encoder_type),
        export_signature.results.iter().copied().map(encoder_type),
    );
    let mut functions = wasm_encoder::FunctionSection::new();
    let mut code = wasm_encoder::CodeSection::new();
    let names = ["f", "g", ""];
    for _ in names {
        functions.function(0);
        let mut body = wasm_encoder::Function::new([]);
        body.instructions().unreachable().end();
        code.function(&body);
    }
    let mut memories = wasm_encoder::MemorySection::new();
    memories.memory(wasm_encoder::MemoryType {
        minimum: 2,
        maximum: Some(4),
        memory64: width == PtrWidth::Wasm64,
        shared: false,
        page_size_log2: None,
    });
    let mut globals = GlobalSection::new();
    let (pointer, zero) = match width {
        PtrWidth::Wasm32 => (wasm_encoder::ValType::I32, ConstExpr::i32_const(0)),
        PtrWidth::Wasm64 => (wasm_encoder::ValType::I64, ConstExpr::i64_const(0)),
    };
    globals.global(
        wasm_encoder::GlobalType {
            val_type: pointer,
            mutable: false,
            shared: false,
        },
        &zero,
    );
    let mut exports = wasm_encoder::ExportSection::new();
    exports.export("memory", wasm_encoder::ExportKind::Memory, 0);
    exports.export(abi::ARGBUF_EXPORT, wasm_encoder::ExportKind::Global, 0);
    for (index, name) in (0u32..).zip(names) {
        exports.export(name, wasm_encoder::ExportKind::Func, index);
    }
    let mut module = wasm_encoder::Module::new();
    module
        .section(&types)
        .section(&functions)
        .section(&memories)
        .section(&globals)
        .section(&exports)
        .section(&code);
    module.finish()
}

/// The wasm-smith configuration for contracts: the proposals of
/// [`vm::features::CONTRACT`] (memory64 only when `memory64`), the ABI's
/// imports and exports.
pub fn config(memory64: bool, disallow_traps: bool) -> wasm_smith::Config {
    let allowed = |proposal: WasmFeatures| features::CONTRACT.contains(proposal);
    let width = if memory64 {
        PtrWidth::Wasm64
    } else {
        PtrWidth::Wasm32
    };
    wasm_smith::Config {
        available_imports: Some(available_imports(width)),
        exports: Some(required_exports(width)),
        // The required exports bring the one memory.
        min_memories: 0,
        max_memories: 0,
        max_tables: 1,
        max_funcs: 8,
        max_instructions: 400,
        disallow_traps,
        max_globals: 6,
        max_data_segments: 4,
        max_element_segments: 4,
        max_elements: 20,
        max_table_elements: 64,
        max_nesting_depth: 6,
        saturating_float_to_int_enabled: allowed(WasmFeatures::SATURATING_FLOAT_TO_INT),
        sign_extension_ops_enabled: allowed(WasmFeatures::SIGN_EXTENSION),
        multi_value_enabled: allowed(WasmFeatures::MULTI_VALUE),
        bulk_memory_enabled: allowed(WasmFeatures::BULK_MEMORY),
        simd_enabled: allowed(WasmFeatures::SIMD),
        // wasm-smith's reference types bring externref, which contracts may
        // not use (admission refuses it as a GC type): funcref tables come
        // without them.
        reference_types_enabled: false,
        threads_enabled: allowed(WasmFeatures::THREADS),
        tail_call_enabled: allowed(WasmFeatures::TAIL_CALL),
        relaxed_simd_enabled: allowed(WasmFeatures::RELAXED_SIMD),
        gc_enabled: allowed(WasmFeatures::GC),
        exceptions_enabled: allowed(WasmFeatures::EXCEPTIONS),
        extended_const_enabled: allowed(WasmFeatures::EXTENDED_CONST),
        custom_page_sizes_enabled: allowed(WasmFeatures::CUSTOM_PAGE_SIZES),
        wide_arithmetic_enabled: allowed(WasmFeatures::WIDE_ARITHMETIC),
        shared_everything_threads_enabled: allowed(WasmFeatures::SHARED_EVERYTHING_THREADS),
        custom_descriptors_enabled: allowed(WasmFeatures::CUSTOM_DESCRIPTORS),
        memory64_enabled: memory64 && allowed(WasmFeatures::MEMORY64),
        allow_start_export: false,
        ..wasm_smith::Config::default()
    }
}

/// Makes a wasm-smith module a contract (see the module documentation).
struct Contractify {
    argbuf_global: u32,
    next_global: u32,
    memory64: bool,
    /// Exported functions' results are masked with this, so that they are
    /// output lengths in range: wasm-smith's random results almost never
    /// are, and a call's output bytes would then rarely be compared.
    output_mask: Option<i32>,
    /// Indices of the exported functions.
    exported: Vec<u32>,
    /// Parameter counts of the functions with bodies, in order.
    params: Vec<u32>,
    /// Index of the function whose body comes next.
    next_function: u32,
    imported_functions: u32,
}

/// How many of an exported function's locals are stored to the start of
/// the argument buffer before it returns, 16 bytes each.
const SPILLED_LOCALS: usize = 16;

impl Contractify {
    /// Instructions that store the first [`SPILLED_LOCALS`] declared locals
    /// of a body (after its `params`) to the argument buffer, so that a
    /// call's output shows the values the function computed (floats with
    /// their NaN bits included), not only what it happened to store.
    fn spill(
        &self,
        params: u32,
        body: &wasmparser::FunctionBody<'_>,
    ) -> Result<Vec<wasm_encoder::Instruction<'static>>, Error<std::convert::Infallible>> {
        use wasm_encoder::{Instruction as I, MemArg};
        let mut locals = Vec::new();
        for group in body.get_locals_reader()? {
            let (count, ty) = group?;
            let room = SPILLED_LOCALS - locals.len();
            locals.extend(std::iter::repeat_n(ty, (count as usize).min(room)));
            if locals.len() == SPILLED_LOCALS {
                break;
            }
        }
        let mut spill = Vec::new();
        for (slot, ty) in (0u32..).zip(locals) {
            let memarg = MemArg {
                offset: 16 * u64::from(slot),
                align: 0,
                memory_index: 0,
            };
            let store = match ty {
                wasmparser::ValType::I32 => I::I32Store(memarg),
                wasmparser::ValType::I64 => I::I64Store(memarg),
                wasmparser::ValType::F32 => I::F32Store(memarg),
                wasmparser::ValType::F64 => I::F64Store(memarg),
                wasmparser::ValType::V128 => I::V128Store(memarg),
                // Contracts have no references (admission rejects them).
                wasmparser::ValType::Ref(_) => continue,
            };
            spill.push(if self.memory64 {
                I::I64Const(0)
            } else {
                I::I32Const(0)
            });
            spill.push(I::LocalGet(params + slot));
            spill.push(store);
        }
        Ok(spill)
    }
}

impl Reencode for Contractify {
    type Error = std::convert::Infallible;

    fn parse_function_body(
        &mut self,
        code: &mut wasm_encoder::CodeSection,
        body: wasmparser::FunctionBody<'_>,
    ) -> Result<(), Error<Self::Error>> {
        use wasm_encoder::Instruction as I;
        use wasmparser::Operator as O;
        let mut function = self.new_function_with_parsed_locals(&body)?;
        let index = self.next_function;
        self.next_function += 1;
        let shaped = self.output_mask.is_some() && self.exported.contains(&index);
        let spill = if shaped {
            let params = self
                .params
                .get(index.saturating_sub(self.imported_functions) as usize)
                .copied()
                .unwrap_or(0);
            self.spill(params, &body)?
        } else {
            Vec::new()
        };
        let mut reader = body.get_operators_reader()?;
        while !reader.eof() {
            let op = reader.read()?;
            if let (true, Some(mask)) = (shaped, self.output_mask) {
                // The result is on top of the stack at a `return` and at the
                // body's last `end` (if it is reached at all).
                let returns = matches!(op, O::Return) || (matches!(op, O::End) && reader.eof());
                if returns {
                    for instruction in &spill {
                        function.instruction(instruction);
                    }
                    function.instruction(&I::I32Const(mask));
                    function.instruction(&I::I32And);
                }
            }
            // What admission forbids becomes its stack effect: operands
            // dropped, and a failed `table.grow`'s -1.
            let Some(forbidden) = ForbiddenInstruction::of(&op) else {
                function.instruction(&self.instruction(op)?);
                continue;
            };
            let (pops, pushes) = forbidden.stack_effect();
            if pops == 0 && !pushes {
                function.instruction(&I::Nop);
            }
            for _ in 0..pops {
                function.instruction(&I::Drop);
            }
            if pushes {
                function.instruction(&I::I32Const(-1));
            }
        }
        code.function(&function);
        Ok(())
    }

    fn parse_global(
        &mut self,
        globals: &mut GlobalSection,
        global: wasmparser::Global<'_>,
    ) -> Result<(), Error<Self::Error>> {
        let index = self.next_global;
        self.next_global += 1;
        if index != self.argbuf_global {
            return utils::parse_global(self, globals, global);
        }
        let ty = self.global_type(global.ty)?;
        let init = if self.memory64 {
            ConstExpr::i64_const(0)
        } else {
            ConstExpr::i32_const(0)
        };
        globals.global(ty, &init);
        Ok(())
    }
}

/// A generated contract. Fails only when the bytes run out or wasm-smith
/// cannot satisfy the configuration.
pub fn contract(u: &mut Unstructured, memory64: bool) -> arbitrary::Result<Vec<u8>> {
    // Half the contracts avoid traps, so that calls run long.
    let disallow_traps = bool::arbitrary(u)?;
    // Three in four return output lengths in range; the others return
    // what wasm-smith made them return, mostly invalid lengths.
    let output_mask = u.ratio(3, 4)?.then_some(0x3ff);
    // wasm-smith makes half the tables of 64-bit modules 64-bit, which
    // admission rejects (and which has no setting): generate again from the
    // following bytes, a few times.
    let mut wasm = wasm_smith::Module::new(config(memory64, disallow_traps), u)?.to_bytes();
    for _ in 0..4 {
        if !has_table64(&wasm) {
            break;
        }
        wasm = wasm_smith::Module::new(config(memory64, disallow_traps), u)?.to_bytes();
    }
    let mut argbuf_global = None;
    let mut exported = Vec::new();
    let mut imported_functions = 0;
    let mut type_params = Vec::new();
    let mut params = Vec::new();
    for payload in wasmparser::Parser::new(0).parse_all(&wasm) {
        match payload {
            Ok(wasmparser::Payload::TypeSection(reader)) => {
                for ty in reader.into_iter_err_on_gc_types().flatten() {
                    type_params.push(u32::try_from(ty.params().len()).unwrap_or(u32::MAX));
                }
            }
            Ok(wasmparser::Payload::FunctionSection(reader)) => {
                for ty in reader.into_iter().flatten() {
                    params.push(type_params.get(ty as usize).copied().unwrap_or(0));
                }
            }
            Ok(wasmparser::Payload::ImportSection(reader)) => {
                for import in reader.into_imports().flatten() {
                    if matches!(import.ty, wasmparser::TypeRef::Func(_)) {
                        imported_functions += 1;
                    }
                }
            }
            Ok(wasmparser::Payload::ExportSection(reader)) => {
                for export in reader.into_iter().flatten() {
                    match (export.name, export.kind) {
                        ("A", _) => argbuf_global = Some(export.index),
                        (_, wasmparser::ExternalKind::Func) => exported.push(export.index),
                        _ => {}
                    }
                }
            }
            _ => {}
        }
    }
    let mut fixer = Contractify {
        argbuf_global: argbuf_global.ok_or(arbitrary::Error::IncorrectFormat)?,
        next_global: 0,
        memory64,
        output_mask,
        exported,
        params,
        next_function: imported_functions,
        imported_functions,
    };
    let mut out = wasm_encoder::Module::new();
    fixer
        .parse_core_module(&mut out, wasmparser::Parser::new(0), &wasm)
        .map_err(|_| arbitrary::Error::IncorrectFormat)?;
    Ok(out.finish())
}

fn has_table64(wasm: &[u8]) -> bool {
    wasmparser::Parser::new(0)
        .parse_all(wasm)
        .any(|payload| match payload {
            Ok(wasmparser::Payload::TableSection(reader)) => {
                reader.into_iter().flatten().any(|table| table.ty.table64)
            }
            _ => false,
        })
}

/// The exports every generated contract has.
pub const FUNCTIONS: [&str; 3] = ["f", "g", ""];

/// A call of a case.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CaseCall {
    pub contract: usize,
    pub function: &'static str,
    pub arg: Vec<u8>,
    pub gas: u64,
}

/// A few contracts and calls into them, run in one session.
#[derive(Clone, Debug)]
pub struct Case {
    pub contracts: Vec<Vec<u8>>,
    pub calls: Vec<CaseCall>,
}

impl Case {
    /// The id the case gives contract `index`: all zeros for the first.
    pub fn id(index: usize) -> ContractId {
        // A case deploys at most three contracts.
        ContractId([u8::try_from(index).unwrap_or(u8::MAX); 32])
    }
}

/// Gas limits that exercise entry checks, overruns and long runs. Limits
/// that let a call run long are rarer than the others: a call looping to a
/// million gas costs milliseconds on wasmi, most of it repeating the same
/// loop, and would otherwise take most of a campaign's time.
fn gas_limit(u: &mut Unstructured) -> arbitrary::Result<u64> {
    Ok(match u.int_in_range(0..=31u8)? {
        0..=9 => u.int_in_range(0..=40)?,
        10..=19 => u.int_in_range(0..=2_000)?,
        20..=29 => u.int_in_range(0..=50_000)?,
        30 => u.int_in_range(0..=250_000)?,
        _ => 1_000_000,
    })
}

/// The most bytes a contract is generated from.
pub const MAX_CONTRACT_SEED: usize = 8_191;

/// How an input of the `differential` and `gas` targets is framed: each
/// contract is generated from its own slice of bytes (its seed), the calls
/// from the rest. A change to the calls leaves the contracts as they were,
/// so mutated inputs (libFuzzer) and inputs built from a pool of seeds (the
/// campaign runner) reuse generated and compiled contracts.
///
/// Layout: one byte `n` (the case has `1 + n % 3` contracts); per contract
/// a little-endian `u16` length (modulo `MAX_CONTRACT_SEED + 1`, cut to the
/// bytes left) and that many bytes; then the calls. Every byte string
/// parses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CaseInput<'a> {
    pub contracts: [Option<&'a [u8]>; 3],
    pub calls: &'a [u8],
}

impl<'a> CaseInput<'a> {
    pub fn parse(bytes: &'a [u8]) -> Self {
        let (count, mut rest) = match bytes.split_first() {
            Some((first, rest)) => (1 + usize::from(*first % 3), rest),
            None => (1, bytes),
        };
        let mut contracts = [None; 3];
        for slot in contracts.iter_mut().take(count) {
            let (low, high) = (rest.first(), rest.get(1));
            rest = rest.get(2..).unwrap_or_default();
            let len = u16::from_le_bytes([low.copied().unwrap_or(0), high.copied().unwrap_or(0)]);
            let len = (usize::from(len) % (MAX_CONTRACT_SEED + 1)).min(rest.len());
            let (seed, tail) = rest.split_at(len);
            *slot = Some(seed);
            rest = tail;
        }
        CaseInput {
            contracts,
            calls: rest,
        }
    }

    /// The bytes that parse to these seeds and calls. `None` when there
    /// are not one to three seeds or one is longer than
    /// [`MAX_CONTRACT_SEED`].
    pub fn encode(seeds: &[&[u8]], calls: &[u8]) -> Option<Vec<u8>> {
        if seeds.is_empty() || seeds.len() > 3 {
            return None;
        }
        let mut bytes = vec![u8::try_from(seeds.len() - 1).ok()?];
        for seed in seeds {
            let len = u16::try_from(seed.len())
                .ok()
                .filter(|&len| usize::from(len) <= MAX_CONTRACT_SEED)?;
            bytes.extend_from_slice(&len.to_le_bytes());
            bytes.extend_from_slice(seed);
        }
        bytes.extend_from_slice(calls);
        Some(bytes)
    }

    /// The contract seeds, in order.
    pub fn seeds(&self) -> impl Iterator<Item = &'a [u8]> + '_ {
        self.contracts.iter().flatten().copied()
    }
}

/// A contract from its seed: the width, then wasm-smith.
pub fn contract_from_seed(seed: &[u8]) -> arbitrary::Result<Vec<u8>> {
    let mut u = Unstructured::new(seed);
    let memory64 = u.ratio(1, 4)?;
    contract(&mut u, memory64)
}

/// Builds cases from inputs, keeping recently generated contracts (by
/// seed) so that inputs sharing seeds skip wasm-smith.
pub struct Generator {
    contracts: vm::cache::BytecodeCache<Vec<u8>>,
}

impl Generator {
    /// A generator keeping up to `capacity` contracts.
    pub fn new(capacity: usize) -> Self {
        Generator {
            contracts: vm::cache::BytecodeCache::new(capacity),
        }
    }

    /// The case an input of the `differential` and `gas` targets describes
    /// (see [`CaseInput`]): one to three contracts, one to four calls.
    pub fn case(&self, bytes: &[u8]) -> arbitrary::Result<Case> {
        let input = CaseInput::parse(bytes);
        let mut contracts = Vec::with_capacity(3);
        for seed in input.seeds() {
            let wasm = self
                .contracts
                .get_or_try_insert(seed, || contract_from_seed(seed))?;
            contracts.push(wasm.as_ref().clone());
        }
        let u = &mut Unstructured::new(input.calls);
        let calls = u.int_in_range(1..=4)?;
        let mut list = Vec::with_capacity(calls);
        for _ in 0..calls {
            let arg_len = u.int_in_range(0..=64)?;
            list.push(CaseCall {
                contract: u.int_in_range(0..=contracts.len() - 1)?,
                function: u.choose(&FUNCTIONS)?,
                arg: u.bytes(arg_len.min(u.len()))?.to_vec(),
                gas: gas_limit(u)?,
            });
        }
        Ok(Case {
            contracts,
            calls: list,
        })
    }
}

/// [`Generator::case`] without keeping anything.
pub fn case(bytes: &[u8]) -> arbitrary::Result<Case> {
    Generator::new(0).case(bytes)
}

/// A case over known contracts (the handwritten ones of `corpus/contracts/`):
/// which to deploy, then calls to their exports with arbitrary arguments,
/// sometimes starting with the id of a deployed contract so that contracts
/// that forward calls make them.
pub fn case_over(u: &mut Unstructured, known: &[KnownContract]) -> arbitrary::Result<KnownCase> {
    if known.is_empty() {
        return Err(arbitrary::Error::NotEnoughData);
    }
    let count = u.int_in_range(1..=3usize)?;
    let mut picked = Vec::with_capacity(count);
    for _ in 0..count {
        picked.push(u.int_in_range(0..=known.len() - 1)?);
    }
    let calls = u.int_in_range(1..=6usize)?;
    let mut list = Vec::with_capacity(calls);
    for _ in 0..calls {
        let contract = u.int_in_range(0..=count - 1)?;
        let exports = &known[picked[contract]].exports;
        let function = u.choose(exports)?.clone();
        let mut arg = Vec::new();
        if u.ratio(1, 2)? {
            let target = u.int_in_range(0..=count - 1)?;
            arg.extend_from_slice(Case::id(target).as_bytes());
            arg.extend_from_slice(&i64::from(u.int_in_range(0..=200_000u32)?).to_le_bytes());
            let name = &known[picked[target]].exports;
            let callee = u.choose(name)?;
            let name_len = u32::try_from(callee.len()).unwrap_or(u32::MAX);
            arg.extend_from_slice(&name_len.to_le_bytes());
            arg.extend_from_slice(callee.as_bytes());
        }
        let tail = u.int_in_range(0..=48usize)?;
        arg.extend_from_slice(u.bytes(tail)?);
        list.push(KnownCall {
            contract,
            function,
            arg,
            gas: gas_limit(u)?,
        });
    }
    Ok(KnownCase {
        contracts: picked,
        calls: list,
    })
}

/// A handwritten contract and the exports a case may call.
#[derive(Clone, Debug)]
pub struct KnownContract {
    /// Its file, relative to `corpus/contracts/`.
    pub name: String,
    pub wasm: Vec<u8>,
    pub exports: Vec<String>,
}

/// A call of a [`KnownCase`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KnownCall {
    pub contract: usize,
    pub function: String,
    pub arg: Vec<u8>,
    pub gas: u64,
}

/// Deploys of known contracts (indices into the known list) and calls.
#[derive(Clone, Debug)]
pub struct KnownCase {
    pub contracts: Vec<usize>,
    pub calls: Vec<KnownCall>,
}
