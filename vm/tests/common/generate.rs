//! ABI-shaped contracts from wasm-smith, for property tests.

use arbitrary::Unstructured;
use wasm_encoder::reencode::{Error, Reencode, utils};
use wasm_encoder::{ConstExpr, GlobalSection};

/// Host imports offered to generated code, for either width.
fn available_imports(memory64: bool) -> Vec<u8> {
    let ptr = if memory64 { "i64" } else { "i32" };
    wat::parse_str(format!(
        r#"(module
            (import "env" "limit" (func (result i64)))
            (import "env" "spent" (func (result i64)))
            (import "env" "panic" (func (param i32)))
            (import "env" "self_id" (func))
            (import "env" "owner" (func (param {ptr}) (result i32)))
            (import "env" "hdebug" (func (param i32)))
            (import "env" "hd" (func (param {ptr} i32) (result i32)))
            (import "env" "emit" (func (param {ptr} i32 i32)))
            (import "env" "caller" (func (result i32)))
            (import "env" "callstack" (func (result i32))))"#
    ))
    .expect("import list parses")
}

fn required_exports(memory64: bool) -> Vec<u8> {
    let (idx, ptr) = if memory64 {
        ("i64", "i64")
    } else {
        ("", "i32")
    };
    wat::parse_str(format!(
        r#"(module
            (memory (export "memory") {idx} 2 4)
            (global (export "A") {ptr} ({ptr}.const 0))
            (func (export "f") (param i32) (result i32) unreachable)
            (func (export "g") (param i32) (result i32) unreachable))"#
    ))
    .expect("export list parses")
}

/// The wasm-smith configuration for contracts: admitted features only.
pub fn config(memory64: bool, disallow_traps: bool) -> wasm_smith::Config {
    wasm_smith::Config {
        available_imports: Some(available_imports(memory64)),
        exports: Some(required_exports(memory64)),
        // The required exports bring the one memory.
        min_memories: 0,
        max_memories: 0,
        // Reference types would bring externref, which contracts may not use.
        reference_types_enabled: false,
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
        threads_enabled: false,
        tail_call_enabled: false,
        relaxed_simd_enabled: false,
        gc_enabled: false,
        exceptions_enabled: false,
        extended_const_enabled: false,
        custom_page_sizes_enabled: false,
        wide_arithmetic_enabled: false,
        memory64_enabled: memory64,
        allow_start_export: false,
        ..wasm_smith::Config::default()
    }
}

/// Makes a wasm-smith module a contract: the global exported as `A` starts
/// at zero, so the argument buffer lies inside the two-page memory, and the
/// instructions that mutate tables or drop segments (which admission
/// rejects) become drops of their operands.
struct ArgbufAtZero {
    target: u32,
    next: u32,
    memory64: bool,
}

impl Reencode for ArgbufAtZero {
    type Error = std::convert::Infallible;

    fn parse_function_body(
        &mut self,
        code: &mut wasm_encoder::CodeSection,
        body: wasmparser::FunctionBody<'_>,
    ) -> Result<(), Error<Self::Error>> {
        use wasm_encoder::Instruction as I;
        use wasmparser::Operator as O;
        let mut function = self.new_function_with_parsed_locals(&body)?;
        let mut reader = body.get_operators_reader()?;
        while !reader.eof() {
            let op = reader.read()?;
            let replacement: &[I] = match op {
                O::DataDrop { .. } | O::ElemDrop { .. } => &[I::Nop],
                O::TableSet { .. } => &[I::Drop, I::Drop],
                O::TableGrow { .. } => &[I::Drop, I::Drop, I::I32Const(-1)],
                O::TableFill { .. } | O::TableCopy { .. } | O::TableInit { .. } => {
                    &[I::Drop, I::Drop, I::Drop]
                }
                other => {
                    function.instruction(&self.instruction(other)?);
                    continue;
                }
            };
            for instruction in replacement {
                function.instruction(instruction);
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
        let index = self.next;
        self.next += 1;
        if index != self.target {
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

/// A generated contract, or `None` when the bytes do not make one.
pub fn contract(bytes: &[u8], memory64: bool) -> Option<Vec<u8>> {
    let mut u = Unstructured::new(bytes);
    // Half the contracts avoid traps, so that calls run long.
    let disallow_traps = bytes.first().is_some_and(|b| b & 1 == 1);
    let module = wasm_smith::Module::new(config(memory64, disallow_traps), &mut u).ok()?;
    let wasm = module.to_bytes();
    let mut target = None;
    for payload in wasmparser::Parser::new(0).parse_all(&wasm) {
        if let Ok(wasmparser::Payload::ExportSection(reader)) = payload {
            for export in reader.into_iter().flatten() {
                if export.name == "A" {
                    target = Some(export.index);
                }
            }
        }
    }
    let mut fixer = ArgbufAtZero {
        target: target?,
        next: 0,
        memory64,
    };
    let mut out = wasm_encoder::Module::new();
    fixer
        .parse_core_module(&mut out, wasmparser::Parser::new(0), &wasm)
        .ok()?;
    Some(out.finish())
}
