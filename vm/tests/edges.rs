//! Every limit of `docs/abi.md` at its bound, one below and one above,
//! through every import or path that enforces it, with the outcome each
//! must have (not only agreement: the engines share the host code). The
//! same cases run on production as scenarios under
//! `corpus/scenarios/edges/`.

mod common;

use common::wasm;
use vm::abi::ContractId;
use vm::admission::AdmissionError;
use vm::engine::Engine;
use vm::failure::{HostError, Trap};
use vm::limits::Limits;
use vm::session::Deployment;
use vm::{CallError, CallReceipt, DeployOptions, Vm, VmConfig, WasmiEngine, WasmtimeEngine};

const RANGES: &str = include_str!("../../corpus/contracts/ranges.wat");
const MEMORY_END: u64 = 131_072;

/// The id `ranges.wat` holds in its last 32 bytes.
fn ranges_id() -> ContractId {
    let mut id = [2u8; 32];
    id[28..].copy_from_slice(b"echo");
    ContractId(id)
}

fn other_id() -> ContractId {
    ContractId([3u8; 32])
}

/// Deploys `ranges.wat` twice (under its own id, owned by "alice", and
/// under [`other_id`]) and makes each call in turn on one engine.
fn calls_on<E: Engine>(vm: &Vm<E>, calls: &[(&str, Vec<u8>)]) -> Vec<CallReceipt> {
    let mut session = vm.session();
    session.set_host_data("echo", vec![1, 2]);
    for (id, owner) in [(ranges_id(), b"alice".to_vec()), (other_id(), Vec::new())] {
        let options = DeployOptions {
            owner,
            id: Some(id),
            gas_limit: 1_000_000,
            ..DeployOptions::default()
        };
        let Deployment { id: deployed, .. } =
            session.deploy(&wasm(RANGES), options).expect("deploy");
        assert_eq!(deployed, id);
    }
    calls
        .iter()
        .map(|(function, arg)| {
            session
                .call(&ranges_id(), function, arg, 1_000_000)
                .expect("call")
        })
        .collect()
}

/// Runs `calls` on both engines, insists they agree, returns the results.
fn results(calls: &[(&str, Vec<u8>)]) -> Vec<Result<Vec<u8>, CallError>> {
    let wasmtime = Vm::<WasmtimeEngine>::new(VmConfig::default()).expect("wasmtime");
    let wasmi = Vm::<WasmiEngine>::new(VmConfig::default()).expect("wasmi");
    let a = calls_on(&wasmtime, calls);
    let b = calls_on(&wasmi, calls);
    assert_eq!(a, b, "wasmtime and wasmi disagree");
    a.into_iter().map(|receipt| receipt.result).collect()
}

fn range(ptr: u32, len: u32) -> Vec<u8> {
    [ptr.to_le_bytes(), len.to_le_bytes()].concat()
}

fn out(value: i32) -> Result<Vec<u8>, CallError> {
    Ok(value.to_le_bytes().to_vec())
}

fn outside(start: u64, len: u64) -> Result<Vec<u8>, CallError> {
    Err(CallError::Host {
        error: HostError::MemoryRange {
            start,
            len,
            memory_len: MEMORY_END,
        },
    })
}

/// One range per row: ending a byte before the end of memory, exactly at
/// it, a byte past it; empty at the end and a byte past it; wrapping 32
/// bits. The last bytes of memory are "echo", a valid name everywhere.
const NAME_RANGES: [(u32, u32); 6] = [
    (131_067, 4),
    (131_068, 4),
    (131_069, 4),
    (131_072, 0),
    (131_073, 0),
    (u32::MAX, 2),
];

fn name_ranges(function: &'static str) -> Vec<(&'static str, Vec<u8>)> {
    NAME_RANGES
        .iter()
        .map(|&(ptr, len)| (function, range(ptr, len)))
        .collect()
}

/// The three failing rows of [`NAME_RANGES`], as errors.
fn past_the_end() -> [Result<Vec<u8>, CallError>; 3] {
    [
        outside(131_069, 4),
        outside(131_073, 0),
        outside(u64::from(u32::MAX), 2),
    ]
}

#[test]
fn owner_reads_an_id_ending_at_the_end_of_memory_and_not_past_it() {
    let calls: Vec<_> = [131_039u32, 131_040, 131_041, u32::MAX]
        .iter()
        .map(|ptr| ("owner_at", ptr.to_le_bytes().to_vec()))
        .collect();
    assert_eq!(
        results(&calls),
        [
            out(0), // 0x00 and 31 bytes of the id: nobody's
            out(5), // its own id: "alice"
            outside(131_041, 32),
            outside(u64::from(u32::MAX), 32),
        ]
    );
}

#[test]
fn emit_reads_a_topic_ending_at_the_end_of_memory_and_not_past_it() {
    let [a, b, c] = past_the_end();
    assert_eq!(
        results(&name_ranges("emit_at")),
        [Ok(vec![]), Ok(vec![]), a, Ok(vec![]), b, c]
    );
}

#[test]
fn hd_reads_a_name_ending_at_the_end_of_memory_and_not_past_it() {
    let [a, b, c] = past_the_end();
    // "\x02ech" and "" name no host data; "echo" names two bytes.
    assert_eq!(
        results(&name_ranges("hd_at")),
        [out(0), out(2), a, out(0), b, c]
    );
}

#[test]
fn hq_reads_a_name_ending_at_the_end_of_memory_and_not_past_it() {
    let [a, b, c] = past_the_end();
    let unknown = |name: &str| {
        Err(CallError::Host {
            error: HostError::UnknownQuery { name: name.into() },
        })
    };
    assert_eq!(
        results(&name_ranges("hq_at")),
        [unknown("\u{2}ech"), out(0), a, unknown(""), b, c]
    );
}

#[test]
fn c_reads_a_function_name_ending_at_the_end_of_memory_and_not_past_it() {
    let [a, b, c] = past_the_end();
    // No export is named "\x02ech" or "": the callee fails, code i32::MIN;
    // "echo" returns its empty input.
    assert_eq!(
        results(&name_ranges("c_name_at")),
        [out(i32::MIN), out(0), a, out(i32::MIN), b, c]
    );
}

#[test]
fn c_reads_a_callee_id_ending_at_the_end_of_memory_and_not_past_it() {
    let calls: Vec<_> = [131_039u32, 131_040, 131_041, u32::MAX]
        .iter()
        .map(|ptr| ("c_callee_at", ptr.to_le_bytes().to_vec()))
        .collect();
    assert_eq!(
        results(&calls),
        [
            out(-3), // does not exist
            out(0),
            outside(131_041, 32),
            outside(u64::from(u32::MAX), 32),
        ]
    );
}

#[test]
fn inputs_fit_the_argument_buffer_up_to_65536_bytes() {
    let calls: Vec<_> = [65_535usize, 65_536, 65_537]
        .iter()
        .map(|&len| ("echo", vec![0; len]))
        .collect();
    assert_eq!(
        results(&calls),
        [
            Ok(vec![0; 65_535]),
            Ok(vec![0; 65_536]),
            Err(CallError::InputTooLarge { len: 65_537 }),
        ]
    );
}

#[test]
fn output_lengths_from_0_to_65536_are_outputs() {
    let calls: Vec<_> = [u32::MAX, 0, 65_535, 65_536, 65_537, 1 << 31]
        .iter()
        .map(|len| ("length", len.to_le_bytes().to_vec()))
        .collect();
    // The output is the argument buffer's start: the input, then zeros.
    let output = |len: u32| {
        let mut bytes = vec![0; len as usize];
        bytes[..4].copy_from_slice(&len.to_le_bytes());
        Ok(bytes)
    };
    assert_eq!(
        results(&calls),
        [
            Err(CallError::OutputLength { len: -1 }),
            Ok(vec![]),
            output(65_535),
            output(65_536),
            Err(CallError::OutputLength { len: 65_537 }),
            Err(CallError::OutputLength { len: i32::MIN }),
        ]
    );
}

#[test]
fn a_panic_message_reaches_the_caller_cut_to_fit_the_argument_buffer() {
    let calls: Vec<_> = [65_531u32, 65_532, 65_533, 65_536, 65_537]
        .iter()
        .map(|n| ("c_panic", [&n.to_le_bytes()[..], &other_id().0].concat()))
        .collect();
    // [c's code][the encoding's length field]: the message up to 65,532
    // bytes fits after its 4-byte length; longer ones are cut to 65,532. A
    // callee asked to panic with 65,537 bytes fails reading its argument
    // buffer instead (code i32::MIN), and the buffer keeps the input.
    let seen = |code: i32, len: u32| Ok([code.to_le_bytes(), len.to_le_bytes()].concat());
    assert_eq!(
        results(&calls),
        [
            seen(-1, 65_531),
            seen(-1, 65_532),
            seen(-1, 65_532),
            seen(-1, 65_532),
            seen(i32::MIN, 65_537),
        ]
    );
}

fn admit(wasm: &[u8]) -> Result<vm::admission::ModuleInfo, AdmissionError> {
    vm::admission::admit(wasm, &Limits::default(), true)
}

fn with_memory(memory: &str, items: &str) -> Vec<u8> {
    wasm(&format!(
        r#"(module (memory (export "memory") {memory}) (global (export "A") i32 (i32.const 0)) {items})"#
    ))
}

#[test]
fn memory_starts_at_up_to_4096_pages_and_its_maximum_is_capped_there() {
    let pages = |initial: u64| {
        admit(&with_memory(&initial.to_string(), "")).map(|info| info.memory.initial_pages)
    };
    assert_eq!(pages(4_095), Ok(4_095));
    assert_eq!(pages(4_096), Ok(4_096));
    assert_eq!(
        pages(4_097),
        Err(AdmissionError::MemoryTooLarge {
            pages: 4_097,
            limit: 4_096
        })
    );
    let max = |declared: u64| {
        admit(&with_memory(&format!("2 {declared}"), ""))
            .map(|info| (info.memory.declared_max_pages, info.memory.max_pages))
    };
    assert_eq!(max(4_095), Ok((Some(4_095), 4_095)));
    assert_eq!(max(4_096), Ok((Some(4_096), 4_096)));
    assert_eq!(max(4_097), Ok((Some(4_097), 4_096)));
}

#[test]
fn tables_hold_up_to_65536_elements() {
    let table = |elements: u64| {
        admit(&with_memory("2", &format!("(table {elements} funcref)")))
            .map(|info| info.tables.iter().map(|t| t.initial).collect::<Vec<_>>())
    };
    assert_eq!(table(65_535), Ok(vec![65_535]));
    assert_eq!(table(65_536), Ok(vec![65_536]));
    assert_eq!(
        table(65_537),
        Err(AdmissionError::TableTooLarge {
            index: 0,
            elements: 65_537,
            limit: 65_536
        })
    );
}

#[test]
fn functions_have_up_to_10000_parameters_and_locals() {
    // One parameter and `total - 1` locals.
    let function = |total: usize| {
        admit(&with_memory(
            "2",
            &format!(
                "(func (export \"f\") (param i32) (result i32) (local {}) local.get 0)",
                "i32 ".repeat(total - 1)
            ),
        ))
        .map(|_| ())
    };
    assert_eq!(function(9_999), Ok(()));
    assert_eq!(function(10_000), Ok(()));
    assert_eq!(
        function(10_001),
        Err(AdmissionError::TooManyLocals {
            function: 0,
            count: 10_001,
            limit: 10_000
        })
    );
}

#[test]
fn the_argument_buffer_ends_at_the_end_of_initial_memory_at_most() {
    let offset = |a: u32| {
        admit(&wasm(&format!(
            r#"(module (memory (export "memory") 2) (global (export "A") i32 (i32.const {a})))"#
        )))
        .map(|info| info.argbuf_offset)
    };
    assert_eq!(offset(65_535), Ok(65_535));
    assert_eq!(offset(65_536), Ok(65_536));
    assert_eq!(
        offset(65_537),
        Err(AdmissionError::ArgbufOutOfBounds {
            offset: 65_537,
            memory_bytes: MEMORY_END
        })
    );
}

const LIMITS: &str = include_str!("../../corpus/contracts/limits.wat");

/// Calls each export of `limits.wat` one below its bound, at it and one
/// past it (an input of 0, 1 or 2 bytes picks which), in one session with
/// a feeder, on both engines; returns the results by export.
fn limits_results(functions: &[&str]) -> Vec<[Result<Vec<u8>, CallError>; 3]> {
    fn on<E: Engine>(vm: &Vm<E>, functions: &[&str]) -> Vec<Vec<CallReceipt>> {
        let mut session = vm.session();
        session.attach_feeder();
        let options = DeployOptions {
            gas_limit: 1_000_000,
            ..DeployOptions::default()
        };
        let Deployment { id, .. } = session.deploy(&wasm(LIMITS), options).expect("deploy");
        functions
            .iter()
            .map(|function| {
                (0..3)
                    .map(|len| {
                        session
                            .call(&id, function, &vec![0; len], 10_000_000)
                            .expect("call")
                    })
                    .collect()
            })
            .collect()
    }
    let wasmtime = Vm::<WasmtimeEngine>::new(VmConfig::default()).expect("wasmtime");
    let wasmi = Vm::<WasmiEngine>::new(VmConfig::default()).expect("wasmi");
    let a = on(&wasmtime, functions);
    let b = on(&wasmi, functions);
    assert_eq!(a, b, "wasmtime and wasmi disagree");
    a.into_iter()
        .map(|receipts| {
            let mut results = receipts.into_iter().map(|receipt| receipt.result);
            [(); 3].map(|()| results.next().expect("three calls"))
        })
        .collect()
}

fn argbuf_length(len: u64) -> Result<Vec<u8>, CallError> {
    Err(CallError::Host {
        error: HostError::ArgbufLength { len },
    })
}

#[test]
fn every_import_reading_the_argument_buffer_takes_up_to_65536_bytes() {
    let results = limits_results(&[
        "argbuf_c",
        "argbuf_hq",
        "argbuf_emit",
        "argbuf_feed",
        "argbuf_debug",
        "argbuf_panic",
    ]);
    // c: the callee (echo) returns the argument's length; hq: the echo
    // query returns it.
    let length = |len: i32| out(len);
    let panic = |len: usize| {
        Err(CallError::Panic {
            message: "a".repeat(len),
        })
    };
    assert_eq!(
        results,
        [
            [length(65_535), length(65_536), argbuf_length(65_537)],
            [length(65_535), length(65_536), argbuf_length(65_537)],
            [Ok(vec![]), Ok(vec![]), argbuf_length(65_537)],
            [Ok(vec![]), Ok(vec![]), argbuf_length(65_537)],
            [Ok(vec![]), Ok(vec![]), argbuf_length(65_537)],
            [panic(65_535), panic(65_536), argbuf_length(65_537)],
        ]
    );
}

#[test]
fn depth_memory_table_stack_and_output_at_their_bounds() {
    let [depth, grow, table, stack, output] = <[_; 5]>::try_from(limits_results(&[
        "depth", "grow", "table", "stack", "output",
    ]))
    .expect("five exports");
    // 47 and 48 frames run (the output counts the frames below the first);
    // the 49th is refused, and the 48th sees code i32::MIN in the high bit.
    assert_eq!(depth, [out(46), out(47), out(i32::MIN | 47)]);
    // [memory.grow's result][pages after it]: 4,095 and 4,096 pages are
    // reached, 4,097 is refused.
    let grown = |result: i32, pages: i32| Ok([result.to_le_bytes(), pages.to_le_bytes()].concat());
    assert_eq!(
        grow,
        [grown(2, 4_095), grown(4_095, 4_096), grown(-1, 4_096)]
    );
    let trap = |trap: Trap| Err(CallError::Trap { trap });
    assert_eq!(
        table,
        [
            trap(Trap::IndirectCallToNull),
            out(8),
            trap(Trap::TableOutOfBounds)
        ]
    );
    // The logical stack holds 1,534 frames below the export's.
    assert_eq!(stack, [out(1_533), out(1_534), trap(Trap::StackExhausted)]);
    let [below, at, past] = output;
    assert_eq!(below.map(|bytes| bytes.len()), Ok(65_535));
    assert_eq!(at.map(|bytes| bytes.len()), Ok(65_536));
    assert_eq!(past, Err(CallError::OutputLength { len: 65_537 }));
}
