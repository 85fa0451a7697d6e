//! The determinism pass: one rewrite of an admitted module, applied before
//! either engine sees it, after which both engines compute the same thing.
//!
//! It adds, as ordinary Wasm that both engines execute the same way:
//!
//! - **gas metering** that reproduces production's fuel (Dusk's fork of
//!   wasmtime 21) exactly: the [`shadow`] follows its Cranelift translation
//!   and the pass emits each increment, save and check where it compiles
//!   one, into two globals that play the fuel variable and its stored copy;
//! - a **logical stack limit** ([`stack`]) charged per frame;
//! - **dirty-page marks** in a second, VM-private memory after every store
//!   and bulk write, so that committing or rolling back a call costs time in
//!   proportion to the pages it wrote;
//! - **NaN canonicalization** ([`nan`]) after every arithmetic float
//!   operator.
//!
//! It also caps the memory's maximum at the VM's limit and exports the VM's
//! globals, memory and the contract's mutable globals under reserved names.

mod body;
pub mod nan;
pub mod shadow;
pub mod stack;

pub use shadow::memory_access;

use std::collections::HashMap;
use std::collections::hash_map::Entry;

use wasm_encoder::reencode::{Reencode, RoundtripReencoder};
use wasm_encoder::{
    BlockType as EncBlockType, CodeSection, ConstExpr, DataCountSection, DataSection,
    ElementSection, ExportKind, ExportSection, FunctionSection, GlobalSection, GlobalType,
    ImportSection, MemorySection, MemoryType, Module, TableSection, TypeSection,
};
use wasmparser::{FuncType, Parser, Payload, ValidPayload, Validator};

use crate::abi::{PtrWidth, WASM_PAGE};
use crate::admission::{ModuleInfo, item_index};
use crate::features;

/// Export name of the fuel variable (an `i64` that counts up to zero).
pub const FUEL_EXPORT: &str = "__dusk_fuel";
/// Export name of the fuel as last stored for the runtime to read.
pub const SAVED_FUEL_EXPORT: &str = "__dusk_fuel_saved";
/// Export name of the logical stack in use, in bytes.
pub const STACK_EXPORT: &str = "__dusk_stack";
/// Export name of the abort reason set before a VM-raised trap.
pub const ABORT_EXPORT: &str = "__dusk_abort";
/// Export name of the count of `memory.grow` operations that returned -1
/// (refused: the declared maximum or the VM's limit), which production would
/// have granted up to its 4 GiB reservation.
pub const GROW_REFUSED_EXPORT: &str = "__dusk_grow_refused";
/// Export name of the dirty-page map: one byte per page of contract memory.
pub const DIRTY_EXPORT: &str = "__dusk_dirty";

/// Export name of the contract's mutable global `index`.
pub fn state_global_export(index: u32) -> String {
    format!("__dusk_global_{index}")
}

/// Dirty pages are `1 << DIRTY_PAGE_SHIFT` bytes.
pub const DIRTY_PAGE_SHIFT: u32 = 12;
/// Size of a dirty page, in bytes.
pub const DIRTY_PAGE_SIZE: usize = 1 << DIRTY_PAGE_SHIFT;
/// How far a store that starts in a dirty page can reach into the next one.
pub const DIRTY_PAGE_SPILL: usize = 15;

/// Why the VM itself stopped a contract: the value of the abort global when
/// a trap happens. Zero means the trap is the contract's own.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(i32)]
pub enum AbortCode {
    /// The gas ran out.
    OutOfGas = 1,
    /// The logical stack budget would be exceeded.
    StackExhausted = 2,
}

impl AbortCode {
    /// The code the abort global holds, if it names one.
    pub fn from_global(value: i64) -> Option<Self> {
        match value {
            1 => Some(AbortCode::OutOfGas),
            2 => Some(AbortCode::StackExhausted),
            _ => None,
        }
    }
}

/// Why the pass could not rewrite a module admission accepted.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum InstrumentError {
    #[error("invalid module: {0}")]
    /// The module does not parse or validate as admission saw it.
    Invalid(String),
    #[error("function {function} cannot be metered: {error}")]
    /// The gas shadow cannot follow a function's control flow.
    Shadow {
        /// The function's index.
        function: u32,
        /// What the shadow found.
        error: String,
    },
}

/// A module ready for either engine.
#[derive(Clone, Debug)]
pub struct InstrumentedModule {
    /// The rewritten module's bytes.
    pub wasm: Vec<u8>,
    /// Host imports, in function index order.
    pub imports: Vec<crate::abi::HostImport>,
    /// The contract's pointer width.
    pub width: PtrWidth,
    /// The contract's mutable globals, by index: they are contract state.
    pub state_globals: Vec<u32>,
}

/// Indices the rewritten code refers to.
pub(crate) struct Layout {
    fuel: u32,
    saved_fuel: u32,
    depth: u32,
    abort: u32,
    grow_refused: u32,
    /// The logical stack all frames of a call may use.
    stack_budget: u64,
    dirty_memory: u32,
    mark_range: u32,
    /// Type index of `[] -> results` for result lists of two or more.
    result_block_types: HashMap<Vec<wasmparser::ValType>, u32>,
}

impl Layout {
    /// The type of the block wrapping a function's body: its results.
    fn wrapper_block_type(&self, ty: &FuncType) -> Result<EncBlockType, InstrumentError> {
        Ok(match ty.results() {
            [] => EncBlockType::Empty,
            [single] => EncBlockType::Result(
                RoundtripReencoder
                    .val_type(*single)
                    .map_err(|error| InstrumentError::Invalid(error.to_string()))?,
            ),
            // Every result list of two or more got a type in `instrument`.
            more => {
                EncBlockType::FunctionType(*self.result_block_types.get(more).ok_or_else(|| {
                    InstrumentError::Invalid(format!("no block type for the results {more:?}"))
                })?)
            }
        })
    }
}

/// Sections of the input, kept for re-encoding in order.
#[derive(Default)]
struct Input<'a> {
    types: Option<wasmparser::TypeSectionReader<'a>>,
    imports: Option<wasmparser::ImportSectionReader<'a>>,
    functions: Option<wasmparser::FunctionSectionReader<'a>>,
    tables: Option<wasmparser::TableSectionReader<'a>>,
    globals: Option<wasmparser::GlobalSectionReader<'a>>,
    exports: Option<wasmparser::ExportSectionReader<'a>>,
    elements: Option<wasmparser::ElementSectionReader<'a>>,
    data_count: Option<u32>,
    data: Option<wasmparser::DataSectionReader<'a>>,
    bodies: Vec<(
        wasmparser::FunctionBody<'a>,
        wasmparser::FuncToValidate<wasmparser::ValidatorResources>,
    )>,
}

fn encode_error(error: wasm_encoder::reencode::Error) -> InstrumentError {
    InstrumentError::Invalid(error.to_string())
}

/// Rewrites an admitted module. `info` must be what admission returned for
/// `wasm`.
pub fn instrument(wasm: &[u8], info: &ModuleInfo) -> Result<InstrumentedModule, InstrumentError> {
    let invalid =
        |error: wasmparser::BinaryReaderError| InstrumentError::Invalid(error.to_string());
    let mut input = Input::default();
    let mut validator = Validator::new_with_features(features::CONTRACT);
    for payload in Parser::new(0).parse_all(wasm) {
        let payload = payload.map_err(invalid)?;
        if let ValidPayload::Func(func, body) = validator.payload(&payload).map_err(invalid)? {
            input.bodies.push((body, func));
        }
        match payload {
            Payload::TypeSection(reader) => input.types = Some(reader),
            Payload::ImportSection(reader) => input.imports = Some(reader),
            Payload::FunctionSection(reader) => input.functions = Some(reader),
            Payload::TableSection(reader) => input.tables = Some(reader),
            Payload::GlobalSection(reader) => input.globals = Some(reader),
            Payload::ExportSection(reader) => input.exports = Some(reader),
            Payload::ElementSection(reader) => input.elements = Some(reader),
            Payload::DataCountSection { count, .. } => input.data_count = Some(count),
            Payload::DataSection(reader) => input.data = Some(reader),
            _ => {}
        }
    }

    let width = info.memory.width;
    let pointer = match width {
        PtrWidth::Wasm32 => wasm_encoder::ValType::I32,
        PtrWidth::Wasm64 => wasm_encoder::ValType::I64,
    };
    let mut reencoder = RoundtripReencoder;
    let mut module = Module::new();

    // Types: the module's own, then block types for multi-value function
    // results and the type of the marking helper.
    let mut types = TypeSection::new();
    if let Some(reader) = input.types.clone() {
        reencoder
            .parse_type_section(&mut types, reader)
            .map_err(encode_error)?;
    }
    let mut next_type = item_index(info.types.len());
    let mut result_block_types = HashMap::new();
    for ty in info.types.iter().filter(|ty| ty.results().len() >= 2) {
        if let Entry::Vacant(slot) = result_block_types.entry(ty.results().to_vec()) {
            let results = ty
                .results()
                .iter()
                .map(|&t| reencoder.val_type(t))
                .collect::<Result<Vec<_>, _>>()
                .map_err(encode_error)?;
            types.ty().function([], results);
            slot.insert(next_type);
            next_type += 1;
        }
    }
    let mark_range_type = next_type;
    types.ty().function([pointer, pointer], []);
    module.section(&types);

    if let Some(reader) = input.imports.clone() {
        let mut imports = ImportSection::new();
        reencoder
            .parse_import_section(&mut imports, reader)
            .map_err(encode_error)?;
        module.section(&imports);
    }

    let mut functions = FunctionSection::new();
    if let Some(reader) = input.functions.clone() {
        reencoder
            .parse_function_section(&mut functions, reader)
            .map_err(encode_error)?;
    }
    functions.function(mark_range_type);
    module.section(&functions);
    let mark_range = item_index(info.function_types.len());

    if let Some(reader) = input.tables.clone() {
        let mut tables = TableSection::new();
        reencoder
            .parse_table_section(&mut tables, reader)
            .map_err(encode_error)?;
        module.section(&tables);
    }

    // Memory 0 is the contract's, with the VM's maximum; memory 1 is the
    // dirty-page map, one byte per dirty page the contract memory can have.
    let dirty_map_len = info.memory.max_pages * (WASM_PAGE / DIRTY_PAGE_SIZE as u64);
    let dirty_map_pages = dirty_map_len.div_ceil(WASM_PAGE).max(1);
    let mut memories = MemorySection::new();
    memories.memory(MemoryType {
        minimum: info.memory.initial_pages,
        maximum: Some(info.memory.max_pages),
        memory64: width == PtrWidth::Wasm64,
        shared: false,
        page_size_log2: None,
    });
    memories.memory(MemoryType {
        minimum: dirty_map_pages,
        maximum: Some(dirty_map_pages),
        memory64: false,
        shared: false,
        page_size_log2: None,
    });
    module.section(&memories);
    let dirty_memory = 1;

    let mut globals = GlobalSection::new();
    if let Some(reader) = input.globals.clone() {
        reencoder
            .parse_global_section(&mut globals, reader)
            .map_err(encode_error)?;
    }
    let first_vm_global = item_index(info.globals.len());
    // Fuel, saved fuel and stack depth (i64), then the abort flag and the
    // refused-growth count (i32), in the order `Layout` numbers them.
    for (val_type, init) in [
        (wasm_encoder::ValType::I64, ConstExpr::i64_const(0)),
        (wasm_encoder::ValType::I64, ConstExpr::i64_const(0)),
        (wasm_encoder::ValType::I64, ConstExpr::i64_const(0)),
        (wasm_encoder::ValType::I32, ConstExpr::i32_const(0)),
        (wasm_encoder::ValType::I32, ConstExpr::i32_const(0)),
    ] {
        globals.global(
            GlobalType {
                val_type,
                mutable: true,
                shared: false,
            },
            &init,
        );
    }
    module.section(&globals);
    let layout = Layout {
        fuel: first_vm_global,
        saved_fuel: first_vm_global + 1,
        depth: first_vm_global + 2,
        abort: first_vm_global + 3,
        grow_refused: first_vm_global + 4,
        stack_budget: info.stack_budget,
        dirty_memory,
        mark_range,
        result_block_types,
    };

    // The VM's exports come first: Cranelift (wasmtime 48) looks for a
    // global among the exports, in order, at every access it compiles, and
    // every global the pass accesses is one of these. Listed last, a
    // contract of 100,000 exports took two minutes to compile.
    let mut exports = ExportSection::new();
    exports.export(FUEL_EXPORT, ExportKind::Global, layout.fuel);
    exports.export(SAVED_FUEL_EXPORT, ExportKind::Global, layout.saved_fuel);
    exports.export(STACK_EXPORT, ExportKind::Global, layout.depth);
    exports.export(ABORT_EXPORT, ExportKind::Global, layout.abort);
    exports.export(GROW_REFUSED_EXPORT, ExportKind::Global, layout.grow_refused);
    exports.export(DIRTY_EXPORT, ExportKind::Memory, dirty_memory);
    let state_globals: Vec<u32> = info
        .globals
        .iter()
        .enumerate()
        .filter(|(_, global)| global.mutable)
        .map(|(index, _)| item_index(index))
        .collect();
    for &index in &state_globals {
        exports.export(&state_global_export(index), ExportKind::Global, index);
    }
    if let Some(reader) = input.exports.clone() {
        reencoder
            .parse_export_section(&mut exports, reader)
            .map_err(encode_error)?;
    }
    module.section(&exports);

    if let Some(reader) = input.elements.clone() {
        let mut elements = ElementSection::new();
        reencoder
            .parse_element_section(&mut elements, reader)
            .map_err(encode_error)?;
        module.section(&elements);
    }
    if let Some(count) = input.data_count {
        module.section(&DataCountSection { count });
    }

    let mut code = CodeSection::new();
    let first_defined = info.imported_functions();
    for (position, (body, func)) in input.bodies.into_iter().enumerate() {
        let validator = func.into_validator(Default::default());
        let function = first_defined + item_index(position);
        code.function(&body::rewrite(info, &layout, function, &body, validator)?);
    }
    code.function(&body::mark_range_body(width, dirty_memory));
    module.section(&code);

    if let Some(reader) = input.data.clone() {
        let mut data = DataSection::new();
        reencoder
            .parse_data_section(&mut data, reader)
            .map_err(encode_error)?;
        module.section(&data);
    }

    Ok(InstrumentedModule {
        wasm: module.finish(),
        imports: info.imports.clone(),
        width,
        state_globals,
    })
}
