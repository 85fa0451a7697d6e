//! Module admission: the checks a contract passes at deploy, before any of
//! its code runs and before either engine sees it.
//!
//! Admission is shared by both engines, so they accept and reject exactly the
//! same modules. Every rule has its own [`AdmissionError`] variant whose
//! message tells a contract author what to change.

use wasmparser::{
    ExternalKind, FuncType, Operator, Parser, Payload, TypeRef, Validator, WasmFeatures,
};

use crate::abi::{
    self, ARGBUF_EXPORT, ARGBUF_LEN, HOST_MODULE, HostImport, INIT_EXPORT, PtrWidth,
    RESERVED_PREFIX, Signature, WASM_PAGE,
};
use crate::features;
use crate::limits::Limits;

/// The instructions a contract may not use although their proposal is
/// allowed: those that change tables or drop segments, which production's
/// state model does not keep. Admission refuses them; the fuzz generator
/// replaces them by their stack effect.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ForbiddenInstruction {
    /// `table.set`.
    TableSet,
    /// `table.grow`.
    TableGrow,
    /// `table.fill`.
    TableFill,
    /// `table.copy`.
    TableCopy,
    /// `table.init`.
    TableInit,
    /// `elem.drop`.
    ElemDrop,
    /// `data.drop`.
    DataDrop,
}

impl ForbiddenInstruction {
    /// The forbidden instruction `operator` is, if it is one.
    pub fn of(operator: &Operator<'_>) -> Option<Self> {
        Some(match operator {
            Operator::TableSet { .. } => ForbiddenInstruction::TableSet,
            Operator::TableGrow { .. } => ForbiddenInstruction::TableGrow,
            Operator::TableFill { .. } => ForbiddenInstruction::TableFill,
            Operator::TableCopy { .. } => ForbiddenInstruction::TableCopy,
            Operator::TableInit { .. } => ForbiddenInstruction::TableInit,
            Operator::ElemDrop { .. } => ForbiddenInstruction::ElemDrop,
            Operator::DataDrop { .. } => ForbiddenInstruction::DataDrop,
            _ => return None,
        })
    }

    /// Its name in the text format, as admission reports it.
    pub fn name(self) -> &'static str {
        match self {
            ForbiddenInstruction::TableSet => "table.set",
            ForbiddenInstruction::TableGrow => "table.grow",
            ForbiddenInstruction::TableFill => "table.fill",
            ForbiddenInstruction::TableCopy => "table.copy",
            ForbiddenInstruction::TableInit => "table.init",
            ForbiddenInstruction::ElemDrop => "elem.drop",
            ForbiddenInstruction::DataDrop => "data.drop",
        }
    }

    /// How many operands it pops, and whether it pushes an `i32` result.
    pub fn stack_effect(self) -> (usize, bool) {
        match self {
            ForbiddenInstruction::TableSet => (2, false),
            ForbiddenInstruction::TableGrow => (2, true),
            ForbiddenInstruction::TableFill
            | ForbiddenInstruction::TableCopy
            | ForbiddenInstruction::TableInit => (3, false),
            ForbiddenInstruction::ElemDrop | ForbiddenInstruction::DataDrop => (0, false),
        }
    }
}

/// A count of a module's items of one kind (types, functions, globals), or
/// a position among them, as the binary format's `u32`: each count is read
/// as a `u32`, and wasmparser's limits keep their sums far below it.
#[expect(
    clippy::cast_possible_truncation,
    reason = "a module holds fewer than 2^32 items of a kind"
)]
pub(crate) fn item_index(index: usize) -> u32 {
    index as u32
}

/// Why a module is not a valid Dusk contract.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum AdmissionError {
    /// The bytes are not a WebAssembly module (bad header, truncated).
    #[error("not a WebAssembly module: {0}")]
    Malformed(String),
    /// A component, not a core module.
    #[error("a component, not a core WebAssembly module")]
    Component,
    /// The module does not validate with the allowed proposals.
    #[error("invalid WebAssembly: {0}")]
    Invalid(String),
    /// It needs a proposal contracts may not use.
    #[error("uses {feature}, which contracts may not use")]
    FeatureNotAllowed {
        /// The proposal's name.
        feature: &'static str,
    },
    /// It has no memory.
    #[error("has no memory: a contract needs exactly one exported memory")]
    NoMemory,
    /// It has more than one memory.
    #[error("has {count} memories: a contract needs exactly one")]
    TooManyMemories {
        /// How many.
        count: usize,
    },
    /// Its memory is not exported.
    #[error("does not export its memory")]
    MemoryNotExported,
    /// Its memory starts larger than the VM's cap.
    #[error("memory starts at {pages} pages, more than the VM's limit of {limit}")]
    MemoryTooLarge {
        /// Its initial size, in pages.
        pages: u64,
        /// The cap, in pages.
        limit: u64,
    },
    /// It does not export `A`.
    #[error("does not export the argument buffer global `A`")]
    ArgbufMissing,
    /// `A` is not a global.
    #[error("export `A` is a {kind}, not a global")]
    ArgbufNotGlobal {
        /// What it is.
        kind: &'static str,
    },
    /// `A` is mutable.
    #[error("global `A` is mutable; it must be immutable")]
    ArgbufMutable,
    /// `A` is not of the pointer type.
    #[error("global `A` has type {found}; a {width:?} contract needs {expected}")]
    ArgbufType {
        /// Its type.
        found: String,
        /// The pointer type.
        expected: abi::ValType,
        /// The memory's width.
        width: PtrWidth,
    },
    /// `A` is not initialized with a constant.
    #[error("global `A` is not initialised with a constant")]
    ArgbufNotConstant,
    /// The argument buffer does not fit the initial memory.
    #[error(
        "argument buffer [{offset:#x}, {offset:#x} + 65536) does not fit in the initial memory of {memory_bytes} bytes"
    )]
    ArgbufOutOfBounds {
        /// Where it starts.
        offset: u64,
        /// The initial memory, in bytes.
        memory_bytes: u64,
    },
    /// An exported function is not `(i32) -> (i32)`.
    #[error(
        "exported function `{name}` has type {found}; exported functions must be (i32) -> (i32)"
    )]
    ExportSignature {
        /// The export.
        name: String,
        /// Its type.
        found: String,
    },
    /// An export or import has the VM's reserved prefix.
    #[error("name `{name}` is reserved for the VM (prefix `{RESERVED_PREFIX}`)")]
    ReservedName {
        /// The name.
        name: String,
    },
    /// It imports something other than a function.
    #[error("imports {kind} `{module}.{name}`; contracts may only import functions")]
    ImportNotFunction {
        /// The import's module.
        module: String,
        /// The import's name.
        name: String,
        /// What it imports.
        kind: &'static str,
    },
    /// It imports from a module other than `env`.
    #[error("imports from module `{module}`; host functions live in module `env`")]
    ImportModule {
        /// The module.
        module: String,
        /// The import's name.
        name: String,
    },
    /// It imports a host function the ABI does not have.
    #[error("imports unknown host function `env.{name}`")]
    UnknownImport {
        /// The name.
        name: String,
    },
    /// It imports a host function with the wrong type.
    #[error("imports `env.{name}` with type {found}; a {width:?} contract must use {expected}")]
    ImportSignature {
        /// The import.
        name: String,
        /// Its type.
        found: String,
        /// The ABI's type.
        expected: Signature,
        /// The memory's width.
        width: PtrWidth,
    },
    /// It imports `hdebug` from a VM without debug messages.
    #[error("imports `env.hdebug`, but this VM runs with debug messages disabled")]
    DebugImportDisabled,
    /// It has a start function.
    #[error("has a start function; contracts run code only through exports and `init`")]
    StartFunction,
    /// A table is 64-bit.
    #[error("table {index} is 64-bit; contracts may only use 32-bit tables")]
    Table64 {
        /// The table.
        index: u32,
    },
    /// A table starts larger than the VM's cap.
    #[error("table {index} starts at {elements} elements, more than the VM's limit of {limit}")]
    TableTooLarge {
        /// The table.
        index: u32,
        /// Its initial size.
        elements: u64,
        /// The cap.
        limit: u64,
    },
    /// A mutable global holds a reference.
    #[error("global {index} is a mutable reference; mutable globals must hold numbers")]
    MutableReferenceGlobal {
        /// The global.
        index: u32,
    },
    /// A function declares more locals than the VM allows.
    #[error("function {function} declares {count} locals, more than the VM's limit of {limit}")]
    TooManyLocals {
        /// The function's index.
        function: u32,
        /// How many it declares.
        count: u64,
        /// The most allowed.
        limit: u32,
    },
    /// It has more exports than production's parser takes.
    #[error("has {count} exports, more than the VM's limit of {limit}")]
    TooManyExports {
        /// How many.
        count: usize,
        /// The most allowed.
        limit: usize,
    },
    /// A function's operand stack gets deeper than the VM allows.
    #[error(
        "function {function} holds {height} values on its operand stack, more than the VM's limit of {limit}"
    )]
    OperandStackTooDeep {
        /// The function's index.
        function: u32,
        /// How deep.
        height: u32,
        /// The most allowed.
        limit: u32,
    },
    /// A `br_table` has more targets than the VM allows.
    #[error(
        "function {function} has a `br_table` of {targets} targets, more than the VM's limit of {limit}"
    )]
    BrTableTooLarge {
        /// The function's index.
        function: u32,
        /// How many.
        targets: u32,
        /// The most allowed.
        limit: u32,
    },
    /// A function uses an instruction contracts may not use.
    #[error(
        "function {function} uses `{instruction}`: tables and segments are immutable after instantiation"
    )]
    InstructionNotAllowed {
        /// The function's index.
        function: u32,
        /// The instruction.
        instruction: &'static str,
    },
}

impl AdmissionError {
    /// A short, stable name of the rule the module breaks (its kind, not
    /// its details; a forbidden feature by name, as `feature:relaxed SIMD`):
    /// what the deviation catalogue's signatures name.
    pub fn rule(&self) -> String {
        if let AdmissionError::FeatureNotAllowed { feature } = self {
            return format!("feature:{feature}");
        }
        let rule = match self {
            AdmissionError::Malformed(_) => "malformed",
            AdmissionError::Component => "component",
            AdmissionError::Invalid(_) => "invalid",
            AdmissionError::FeatureNotAllowed { .. } => "feature",
            AdmissionError::NoMemory => "no_memory",
            AdmissionError::TooManyMemories { .. } => "too_many_memories",
            AdmissionError::MemoryNotExported => "memory_not_exported",
            AdmissionError::MemoryTooLarge { .. } => "memory_too_large",
            AdmissionError::ArgbufMissing => "argbuf_missing",
            AdmissionError::ArgbufNotGlobal { .. } => "argbuf_not_global",
            AdmissionError::ArgbufMutable => "argbuf_mutable",
            AdmissionError::ArgbufType { .. } => "argbuf_type",
            AdmissionError::ArgbufNotConstant => "argbuf_not_constant",
            AdmissionError::ArgbufOutOfBounds { .. } => "argbuf_out_of_bounds",
            AdmissionError::ExportSignature { .. } => "export_signature",
            AdmissionError::ReservedName { .. } => "reserved_name",
            AdmissionError::ImportNotFunction { .. } => "import_not_function",
            AdmissionError::ImportModule { .. } => "import_module",
            AdmissionError::UnknownImport { .. } => "unknown_import",
            AdmissionError::ImportSignature { .. } => "import_signature",
            AdmissionError::DebugImportDisabled => "debug_import_disabled",
            AdmissionError::StartFunction => "start_function",
            AdmissionError::Table64 { .. } => "table64",
            AdmissionError::TableTooLarge { .. } => "table_too_large",
            AdmissionError::MutableReferenceGlobal { .. } => "mutable_reference_global",
            AdmissionError::TooManyLocals { .. } => "too_many_locals",
            AdmissionError::TooManyExports { .. } => "too_many_exports",
            AdmissionError::OperandStackTooDeep { .. } => "operand_stack_too_deep",
            AdmissionError::BrTableTooLarge { .. } => "br_table_too_large",
            AdmissionError::InstructionNotAllowed { .. } => "instruction_not_allowed",
        };
        rule.to_string()
    }
}

/// The memory of an admitted contract.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MemoryInfo {
    /// Its pointer width.
    pub width: PtrWidth,
    /// Initial size, in pages.
    pub initial_pages: u64,
    /// Maximum the module declares, in pages.
    pub declared_max_pages: Option<u64>,
    /// Maximum the VM enforces: the declared one capped by [`Limits`].
    pub max_pages: u64,
}

/// A global of the module.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct GlobalInfo {
    /// Its type.
    pub ty: wasmparser::ValType,
    /// Whether it is mutable (contract state).
    pub mutable: bool,
    /// The value when the initializer is a single integer constant, as
    /// wasmtime folds it.
    pub const_init: Option<i64>,
}

/// A table of the module.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TableInfo {
    /// Initial size, in elements.
    pub initial: u64,
    /// Maximum size, in elements, if declared.
    pub maximum: Option<u64>,
}

/// Everything later stages need to know about an admitted contract.
#[derive(Clone, Debug)]
pub struct ModuleInfo {
    /// Its memory.
    pub memory: MemoryInfo,
    /// Offset of the argument buffer in memory.
    pub argbuf_offset: u64,
    /// Exported functions callable through the ABI, `init` included.
    pub exports: Vec<String>,
    /// Function imports, in index order.
    pub imports: Vec<HostImport>,
    /// Every function type of the type section, by type index.
    pub types: Vec<FuncType>,
    /// Type index of every function, imported ones first.
    pub function_types: Vec<u32>,
    /// Its globals, by index.
    pub globals: Vec<GlobalInfo>,
    /// Its tables, by index.
    pub tables: Vec<TableInfo>,
    /// The logical stack the module's calls may use, from the limits it
    /// was admitted under.
    pub stack_budget: u64,
    /// The bytes of memory instantiation writes, as `(offset, length)` of
    /// each active data segment; `None` when an offset is not a constant
    /// this pass evaluates. Everything else of a fresh memory is zero, so a
    /// checkpoint need not read it ([`crate::state::ContractState::capture`]).
    pub initialized: Option<Vec<(u64, u64)>>,
}

impl ModuleInfo {
    /// Whether the contract exports `init`.
    pub fn has_init(&self) -> bool {
        self.exports.iter().any(|name| name == INIT_EXPORT)
    }

    /// Number of imported functions.
    pub fn imported_functions(&self) -> u32 {
        item_index(self.imports.len())
    }

    /// The type of function `index`.
    pub fn function_type(&self, index: u32) -> Option<&FuncType> {
        let ty = *self.function_types.get(index as usize)?;
        self.types.get(ty as usize)
    }
}

/// Checks `wasm` against every admission rule.
///
/// `debug_imports` says whether the VM offers `hdebug`.
pub fn admit(
    wasm: &[u8],
    limits: &Limits,
    debug_imports: bool,
) -> Result<ModuleInfo, AdmissionError> {
    check_header(wasm)?;
    let deepest = validate_features(wasm, limits)?;
    let sections = Sections::read(wasm)?;
    let info = sections.check(limits, debug_imports)?;
    if let Some((function, height)) = deepest {
        return Err(AdmissionError::OperandStackTooDeep {
            function,
            height,
            limit: limits.max_operand_stack,
        });
    }
    Ok(info)
}

/// Validates `wasm` with `features`, following each function's operand
/// stack as the validator sees it: the first function whose stack gets
/// deeper than `max_stack` values, and how deep, if there is one.
fn validate(
    wasm: &[u8],
    features: WasmFeatures,
    max_stack: u32,
) -> Result<Option<(u32, u32)>, wasmparser::BinaryReaderError> {
    let mut validator = Validator::new_with_features(features);
    let mut too_deep = None;
    for payload in Parser::new(0).parse_all(wasm) {
        let payload = payload?;
        let wasmparser::ValidPayload::Func(function, body) = validator.payload(&payload)? else {
            continue;
        };
        let index = function.index;
        let mut function = function.into_validator(Default::default());
        let mut locals = body.get_locals_reader()?;
        for _ in 0..locals.get_count() {
            let offset = locals.original_position();
            let (count, ty) = locals.read()?;
            function.define_locals(offset, count, ty)?;
        }
        let mut operators = body.get_operators_reader()?;
        while !operators.eof() {
            let (operator, offset) = operators.read_with_offset()?;
            function.op(offset, &operator)?;
            let height = function.operand_stack_height();
            if height > max_stack && too_deep.is_none() {
                too_deep = Some((index, height));
            }
        }
        operators.finish()?;
    }
    Ok(too_deep)
}

/// The magic number every module starts with.
const WASM_MAGIC: &[u8; 4] = b"\0asm";

/// Refuses bytes that do not start as a module does, saying what they
/// start with (wasmparser's message prints both as multi-line arrays).
fn check_header(wasm: &[u8]) -> Result<(), AdmissionError> {
    if wasm.starts_with(WASM_MAGIC) {
        return Ok(());
    }
    let start = &wasm[..wasm.len().min(WASM_MAGIC.len())];
    Err(AdmissionError::Malformed(format!(
        "it starts with {}, not with 00 61 73 6d (\\0asm)",
        if start.is_empty() {
            "nothing (0 bytes)".to_string()
        } else {
            start
                .iter()
                .map(|byte| format!("{byte:02x}"))
                .collect::<Vec<_>>()
                .join(" ")
        }
    )))
}

/// Validates with the allow-list; names the first forbidden feature that a
/// module needs when that is why it fails.
///
/// A valid module's result is what [`validate`] found of its operand
/// stacks, so that the module is validated once.
fn validate_features(wasm: &[u8], limits: &Limits) -> Result<Option<(u32, u32)>, AdmissionError> {
    if Parser::is_component(wasm) {
        return Err(AdmissionError::Component);
    }
    let allowed = features::CONTRACT;
    let error = match validate(wasm, allowed, limits.max_operand_stack) {
        Ok(deepest) => return Ok(deepest),
        Err(error) => error,
    };
    // The binary format first: a module that does not decode is malformed,
    // whatever else is wrong with it.
    decode(wasm).map_err(malformed)?;
    // Valid with one more feature: the first such in the table's order. (A
    // typed function reference is valid with function references, and
    // with GC, which includes them.)
    for &(feature, name) in features::FORBIDDEN {
        if Validator::new_with_features(allowed | feature)
            .validate_all(wasm)
            .is_ok()
        {
            return Err(AdmissionError::FeatureNotAllowed { feature: name });
        }
    }
    // A module may need several: the first of them in the table's order
    // that it cannot do without.
    let everything = features::FORBIDDEN
        .iter()
        .fold(allowed, |features, &(feature, _)| features | feature);
    if Validator::new_with_features(everything)
        .validate_all(wasm)
        .is_ok()
    {
        let needed = features::FORBIDDEN.iter().find(|&&(feature, _)| {
            Validator::new_with_features(everything - feature)
                .validate_all(wasm)
                .is_err()
        });
        if let Some(&(_, feature)) = needed {
            return Err(AdmissionError::FeatureNotAllowed { feature });
        }
    }
    Err(AdmissionError::Invalid(error.to_string()))
}

/// Reads every part of `wasm` the binary format defines, validating
/// nothing: an error is a module that is malformed (truncated, a bad
/// encoding, an unknown opcode), not merely invalid.
fn decode(wasm: &[u8]) -> Result<(), wasmparser::BinaryReaderError> {
    // Reading an item reads all of it: a constant expression (a global's
    // value, an offset) to its `end`, an element's list of items (the test
    // `an_item_that_does_not_decode_is_malformed_in_every_section` checks
    // that wasmparser still does).
    fn items<'a, T: wasmparser::FromReader<'a>>(
        reader: wasmparser::SectionLimited<'a, T>,
    ) -> Result<(), wasmparser::BinaryReaderError> {
        reader.into_iter().try_for_each(|item| item.map(drop))
    }
    for payload in Parser::new(0).parse_all(wasm) {
        match payload? {
            Payload::TypeSection(reader) => items(reader)?,
            Payload::ImportSection(reader) => items(reader)?,
            Payload::FunctionSection(reader) => items(reader)?,
            Payload::TableSection(reader) => items(reader)?,
            Payload::MemorySection(reader) => items(reader)?,
            Payload::TagSection(reader) => items(reader)?,
            Payload::ExportSection(reader) => items(reader)?,
            Payload::GlobalSection(reader) => items(reader)?,
            Payload::DataSection(reader) => items(reader)?,
            Payload::ElementSection(reader) => items(reader)?,
            // The operators reader reads the locals first.
            Payload::CodeSectionEntry(body) => {
                let mut operators = body.get_operators_reader()?;
                while !operators.eof() {
                    operators.read()?;
                }
                operators.finish()?;
            }
            _ => {}
        }
    }
    Ok(())
}

fn external_kind_name(kind: ExternalKind) -> &'static str {
    match kind {
        ExternalKind::Func | ExternalKind::FuncExact => "function",
        ExternalKind::Table => "table",
        ExternalKind::Memory => "memory",
        ExternalKind::Global => "global",
        ExternalKind::Tag => "tag",
    }
}

struct Export {
    name: String,
    kind: ExternalKind,
    index: u32,
}

/// The parts of a validated module that admission looks at.
#[derive(Default)]
struct Sections {
    types: Vec<FuncType>,
    imports: Vec<(String, String, TypeRef)>,
    function_types: Vec<u32>,
    tables: Vec<wasmparser::TableType>,
    memories: Vec<wasmparser::MemoryType>,
    globals: Vec<GlobalInfo>,
    exports: Vec<Export>,
    /// Active data segments: offset (when a constant) and length.
    data: Vec<(Option<u64>, u64)>,
    has_start: bool,
    /// Per defined function: its index and its body's problems, if any.
    bodies: Vec<BodyFacts>,
}

struct BodyFacts {
    function: u32,
    locals: u64,
    /// Targets of its largest `br_table`, the default excluded.
    br_table_targets: u32,
    forbidden: Option<&'static str>,
}

fn malformed(error: wasmparser::BinaryReaderError) -> AdmissionError {
    AdmissionError::Malformed(error.to_string())
}

impl Sections {
    fn read(wasm: &[u8]) -> Result<Self, AdmissionError> {
        let mut sections = Sections::default();
        for payload in Parser::new(0).parse_all(wasm) {
            match payload.map_err(malformed)? {
                Payload::TypeSection(reader) => {
                    for ty in reader.into_iter_err_on_gc_types() {
                        sections.types.push(ty.map_err(malformed)?);
                    }
                }
                Payload::ImportSection(reader) => {
                    for import in reader.into_imports() {
                        let import = import.map_err(malformed)?;
                        if let TypeRef::Func(ty) = import.ty {
                            sections.function_types.push(ty);
                        }
                        sections.imports.push((
                            import.module.to_string(),
                            import.name.to_string(),
                            import.ty,
                        ));
                    }
                }
                Payload::FunctionSection(reader) => {
                    for ty in reader {
                        sections.function_types.push(ty.map_err(malformed)?);
                    }
                }
                Payload::TableSection(reader) => {
                    for table in reader {
                        sections.tables.push(table.map_err(malformed)?.ty);
                    }
                }
                Payload::MemorySection(reader) => {
                    for memory in reader {
                        sections.memories.push(memory.map_err(malformed)?);
                    }
                }
                Payload::GlobalSection(reader) => {
                    for global in reader {
                        let global = global.map_err(malformed)?;
                        sections.globals.push(GlobalInfo {
                            ty: global.ty.content_type,
                            mutable: global.ty.mutable,
                            const_init: single_integer_constant(&global.init_expr),
                        });
                    }
                }
                Payload::ExportSection(reader) => {
                    for export in reader {
                        let export = export.map_err(malformed)?;
                        sections.exports.push(Export {
                            name: export.name.to_string(),
                            kind: export.kind,
                            index: export.index,
                        });
                    }
                }
                Payload::StartSection { .. } => sections.has_start = true,
                Payload::DataSection(reader) => {
                    for segment in reader {
                        let segment = segment.map_err(malformed)?;
                        if let wasmparser::DataKind::Active { offset_expr, .. } = segment.kind {
                            let offset = constant_offset(&offset_expr);
                            sections.data.push((offset, segment.data.len() as u64));
                        }
                    }
                }
                Payload::CodeSectionEntry(body) => {
                    let function =
                        sections.imported_function_count() + item_index(sections.bodies.len());
                    sections.bodies.push(body_facts(function, &body)?);
                }
                _ => {}
            }
        }
        Ok(sections)
    }

    fn imported_function_count(&self) -> u32 {
        item_index(
            self.imports
                .iter()
                .filter(|(_, _, ty)| matches!(ty, TypeRef::Func(_)))
                .count(),
        )
    }

    fn check(self, limits: &Limits, debug_imports: bool) -> Result<ModuleInfo, AdmissionError> {
        if self.exports.len() > limits.max_exports {
            return Err(AdmissionError::TooManyExports {
                count: self.exports.len(),
                limit: limits.max_exports,
            });
        }
        for export in &self.exports {
            if export.name.starts_with(RESERVED_PREFIX) {
                return Err(AdmissionError::ReservedName {
                    name: export.name.clone(),
                });
            }
        }
        let memory = self.check_memory(limits)?;
        let imports = self.check_imports(memory.width, debug_imports)?;
        let argbuf_offset = self.check_argbuf(&memory)?;
        let exports = self.check_exports()?;
        if self.has_start {
            return Err(AdmissionError::StartFunction);
        }
        let tables = self.check_tables(limits)?;
        for (index, global) in self.globals.iter().enumerate() {
            if global.mutable && matches!(global.ty, wasmparser::ValType::Ref(_)) {
                return Err(AdmissionError::MutableReferenceGlobal {
                    index: item_index(index),
                });
            }
        }
        for body in &self.bodies {
            let params = self
                .function_types
                .get(body.function as usize)
                .and_then(|&ty| self.types.get(ty as usize))
                .map_or(0, |ty| ty.params().len() as u64);
            let count = params + body.locals;
            if count > u64::from(limits.max_function_locals) {
                return Err(AdmissionError::TooManyLocals {
                    function: body.function,
                    count,
                    limit: limits.max_function_locals,
                });
            }
            if body.br_table_targets > limits.max_br_table_targets {
                return Err(AdmissionError::BrTableTooLarge {
                    function: body.function,
                    targets: body.br_table_targets,
                    limit: limits.max_br_table_targets,
                });
            }
            if let Some(instruction) = body.forbidden {
                return Err(AdmissionError::InstructionNotAllowed {
                    function: body.function,
                    instruction,
                });
            }
        }
        Ok(ModuleInfo {
            memory,
            argbuf_offset,
            exports,
            imports,
            types: self.types,
            function_types: self.function_types,
            globals: self.globals,
            tables,
            stack_budget: limits.stack_budget,
            initialized: self
                .data
                .iter()
                .map(|&(offset, len)| offset.map(|offset| (offset, len)))
                .collect(),
        })
    }

    fn check_memory(&self, limits: &Limits) -> Result<MemoryInfo, AdmissionError> {
        let memory = match self.memories.as_slice() {
            [] => return Err(AdmissionError::NoMemory),
            [memory] => *memory,
            more => return Err(AdmissionError::TooManyMemories { count: more.len() }),
        };
        if !self
            .exports
            .iter()
            .any(|export| export.kind == ExternalKind::Memory && export.index == 0)
        {
            return Err(AdmissionError::MemoryNotExported);
        }
        if memory.initial > limits.max_memory_pages {
            return Err(AdmissionError::MemoryTooLarge {
                pages: memory.initial,
                limit: limits.max_memory_pages,
            });
        }
        Ok(MemoryInfo {
            width: if memory.memory64 {
                PtrWidth::Wasm64
            } else {
                PtrWidth::Wasm32
            },
            initial_pages: memory.initial,
            declared_max_pages: memory.maximum,
            max_pages: memory.maximum.map_or(limits.max_memory_pages, |max| {
                max.min(limits.max_memory_pages)
            }),
        })
    }

    fn check_imports(
        &self,
        width: PtrWidth,
        debug_imports: bool,
    ) -> Result<Vec<HostImport>, AdmissionError> {
        let mut imports = Vec::new();
        for (module, name, ty) in &self.imports {
            let TypeRef::Func(type_index) = *ty else {
                return Err(AdmissionError::ImportNotFunction {
                    module: module.clone(),
                    name: name.clone(),
                    kind: import_kind(ty),
                });
            };
            if module != HOST_MODULE {
                return Err(AdmissionError::ImportModule {
                    module: module.clone(),
                    name: name.clone(),
                });
            }
            let import = HostImport::from_name(name)
                .ok_or_else(|| AdmissionError::UnknownImport { name: name.clone() })?;
            if import == HostImport::Hdebug && !debug_imports {
                return Err(AdmissionError::DebugImportDisabled);
            }
            let expected = import.signature(width);
            let found = self.types.get(type_index as usize);
            if found.and_then(abi_signature).as_ref() != Some(&expected) {
                return Err(AdmissionError::ImportSignature {
                    name: name.clone(),
                    found: found.map_or_else(|| "unknown".into(), describe_func_type),
                    expected,
                    width,
                });
            }
            imports.push(import);
        }
        Ok(imports)
    }

    fn check_argbuf(&self, memory: &MemoryInfo) -> Result<u64, AdmissionError> {
        let export = self
            .exports
            .iter()
            .find(|export| export.name == ARGBUF_EXPORT)
            .ok_or(AdmissionError::ArgbufMissing)?;
        if export.kind != ExternalKind::Global {
            return Err(AdmissionError::ArgbufNotGlobal {
                kind: external_kind_name(export.kind),
            });
        }
        // Validation guarantees the index is in range.
        let global = self.globals[export.index as usize];
        if global.mutable {
            return Err(AdmissionError::ArgbufMutable);
        }
        let expected = memory.width.pointer_type();
        let type_matches = matches!(
            (expected, global.ty),
            (abi::ValType::I32, wasmparser::ValType::I32)
                | (abi::ValType::I64, wasmparser::ValType::I64)
        );
        if !type_matches {
            return Err(AdmissionError::ArgbufType {
                found: global.ty.to_string(),
                expected,
                width: memory.width,
            });
        }
        let offset = match (global.const_init, global.ty) {
            // `A` is an unsigned offset.
            (Some(value), ty) => unsigned_constant(value, ty),
            (None, _) => return Err(AdmissionError::ArgbufNotConstant),
        };
        let memory_bytes = memory.initial_pages * WASM_PAGE;
        match offset.checked_add(ARGBUF_LEN as u64) {
            Some(end) if end <= memory_bytes => Ok(offset),
            _ => Err(AdmissionError::ArgbufOutOfBounds {
                offset,
                memory_bytes,
            }),
        }
    }

    fn check_exports(&self) -> Result<Vec<String>, AdmissionError> {
        let required = abi::export_signature();
        let mut exports = Vec::new();
        for export in &self.exports {
            if !matches!(export.kind, ExternalKind::Func | ExternalKind::FuncExact) {
                continue;
            }
            let ty = self
                .function_types
                .get(export.index as usize)
                .and_then(|&ty| self.types.get(ty as usize));
            if ty.and_then(abi_signature).as_ref() != Some(&required) {
                return Err(AdmissionError::ExportSignature {
                    name: export.name.clone(),
                    found: ty.map_or_else(|| "unknown".into(), describe_func_type),
                });
            }
            exports.push(export.name.clone());
        }
        Ok(exports)
    }

    fn check_tables(&self, limits: &Limits) -> Result<Vec<TableInfo>, AdmissionError> {
        let mut tables = Vec::new();
        for (index, table) in self.tables.iter().enumerate() {
            let index = item_index(index);
            if table.table64 {
                return Err(AdmissionError::Table64 { index });
            }
            if table.initial > limits.max_table_elements {
                return Err(AdmissionError::TableTooLarge {
                    index,
                    elements: table.initial,
                    limit: limits.max_table_elements,
                });
            }
            tables.push(TableInfo {
                initial: table.initial,
                maximum: table.maximum,
            });
        }
        Ok(tables)
    }
}

/// The ABI signature of a function type, if it only uses `i32` and `i64`.
fn abi_signature(ty: &FuncType) -> Option<Signature> {
    let convert = |types: &[wasmparser::ValType]| {
        types
            .iter()
            .map(|ty| match ty {
                wasmparser::ValType::I32 => Some(abi::ValType::I32),
                wasmparser::ValType::I64 => Some(abi::ValType::I64),
                _ => None,
            })
            .collect::<Option<Vec<_>>>()
    };
    Some(Signature {
        params: convert(ty.params())?,
        results: convert(ty.results())?,
    })
}

/// What an import of type `ty` brings in, as refusals name it.
fn import_kind(ty: &TypeRef) -> &'static str {
    match ty {
        TypeRef::Func(_) => "a function",
        TypeRef::FuncExact(_) => "an exact function",
        TypeRef::Table(_) => "a table",
        TypeRef::Memory(_) => "a memory",
        TypeRef::Global(_) => "a global",
        TypeRef::Tag(_) => "a tag",
    }
}

fn describe_func_type(ty: &FuncType) -> String {
    let list = |types: &[wasmparser::ValType]| {
        types
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(", ")
    };
    format!("({}) -> ({})", list(ty.params()), list(ty.results()))
}

/// The integer a constant expression evaluates to when it is a single
/// `i32.const` or `i64.const`, as wasmtime folds it (an `i32` sign-extended).
fn single_integer_constant(expr: &wasmparser::ConstExpr) -> Option<i64> {
    let mut reader = expr.get_operators_reader();
    let value = match reader.read().ok()? {
        Operator::I32Const { value } => i64::from(value),
        Operator::I64Const { value } => value,
        _ => return None,
    };
    match (reader.read().ok()?, reader.eof()) {
        (Operator::End, true) => Some(value),
        _ => None,
    }
}

/// A global's constant initializer (kept as an `i64`, an `i32` sign
/// extended) as the unsigned offset it denotes: an `i32` by its 32 bits.
fn unsigned_constant(value: i64, ty: wasmparser::ValType) -> u64 {
    match ty {
        wasmparser::ValType::I32 => value.cast_unsigned() & u64::from(u32::MAX),
        _ => value.cast_unsigned(),
    }
}

/// The offset a data segment's expression gives, where it is an integer
/// constant. An `i32` offset is unsigned. (Without GC, a constant
/// expression reads imported globals only, and admission refuses those.)
fn constant_offset(expr: &wasmparser::ConstExpr) -> Option<u64> {
    let mut reader = expr.get_operators_reader();
    let value = match reader.read().ok()? {
        Operator::I32Const { value } => u64::from(value.cast_unsigned()),
        Operator::I64Const { value } => value.cast_unsigned(),
        _ => return None,
    };
    match (reader.read().ok()?, reader.eof()) {
        (Operator::End, true) => Some(value),
        _ => None,
    }
}

fn body_facts(function: u32, body: &wasmparser::FunctionBody) -> Result<BodyFacts, AdmissionError> {
    let mut locals = 0u64;
    for group in body.get_locals_reader().map_err(malformed)? {
        let (count, _) = group.map_err(malformed)?;
        locals += u64::from(count);
    }
    let mut forbidden = None;
    let mut br_table_targets = 0;
    let mut reader = body.get_operators_reader().map_err(malformed)?;
    while !reader.eof() {
        let operator = reader.read().map_err(malformed)?;
        if let Operator::BrTable { targets } = &operator {
            br_table_targets = br_table_targets.max(targets.len());
            continue;
        }
        if let Some(instruction) = ForbiddenInstruction::of(&operator) {
            forbidden = Some(instruction.name());
            break;
        }
    }
    Ok(BodyFacts {
        function,
        locals,
        br_table_targets,
        forbidden,
    })
}

#[cfg(test)]
mod tests {
    use wasmparser::{GlobalType, MemoryType, TableType, TagKind, TagType, ValType};

    use super::*;

    #[test]
    fn every_kind_of_import_is_named() {
        let memory = MemoryType {
            memory64: false,
            shared: false,
            initial: 1,
            maximum: None,
            page_size_log2: None,
        };
        let table = TableType {
            element_type: wasmparser::RefType::FUNCREF,
            table64: false,
            initial: 1,
            maximum: None,
            shared: false,
        };
        let global = GlobalType {
            content_type: ValType::I32,
            mutable: false,
            shared: false,
        };
        let tag = TagType {
            kind: TagKind::Exception,
            func_type_idx: 0,
        };
        let named: Vec<&str> = [
            TypeRef::Func(0),
            TypeRef::FuncExact(0),
            TypeRef::Table(table),
            TypeRef::Memory(memory),
            TypeRef::Global(global),
            TypeRef::Tag(tag),
        ]
        .iter()
        .map(import_kind)
        .collect();
        assert_eq!(
            named,
            [
                "a function",
                "an exact function",
                "a table",
                "a memory",
                "a global",
                "a tag"
            ]
        );
    }
}
