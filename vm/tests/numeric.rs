//! Every numeric operator family on both engines, with expected values.
//! Each case stores its result at the argument buffer and returns its size.

mod common;

use common::eval;
use vm::CallError;
use vm::failure::Trap;

fn i32_of(expr: &str) -> i32 {
    let bytes = eval("i32", expr).expect("evaluates");
    i32::from_le_bytes(bytes.try_into().expect("4 bytes"))
}

fn i64_of(expr: &str) -> i64 {
    let bytes = eval("i64", expr).expect("evaluates");
    i64::from_le_bytes(bytes.try_into().expect("8 bytes"))
}

fn f32_bits(expr: &str) -> u32 {
    let bytes = eval("f32", expr).expect("evaluates");
    u32::from_le_bytes(bytes.try_into().expect("4 bytes"))
}

fn f64_bits(expr: &str) -> u64 {
    let bytes = eval("f64", expr).expect("evaluates");
    u64::from_le_bytes(bytes.try_into().expect("8 bytes"))
}

fn traps(ty: &str, expr: &str) -> Trap {
    match eval(ty, expr) {
        Err(CallError::Trap { trap }) => trap,
        other => panic!("{expr} should trap, got {other:?}"),
    }
}

#[test]
fn i32_arithmetic_and_bits() {
    assert_eq!(i32_of("i32.const 7 i32.const 5 i32.add"), 12);
    assert_eq!(i32_of("i32.const 7 i32.const 9 i32.sub"), -2);
    assert_eq!(i32_of("i32.const -7 i32.const 6 i32.mul"), -42);
    assert_eq!(i32_of("i32.const -7 i32.const 2 i32.div_s"), -3);
    assert_eq!(i32_of("i32.const -7 i32.const 2 i32.div_u"), 0x7fff_fffc);
    assert_eq!(i32_of("i32.const -7 i32.const 2 i32.rem_s"), -1);
    assert_eq!(i32_of("i32.const -7 i32.const 2 i32.rem_u"), 1);
    assert_eq!(i32_of("i32.const 0x0ff0 i32.const 0x00ff i32.and"), 0x00f0);
    assert_eq!(i32_of("i32.const 0x0ff0 i32.const 0x00ff i32.or"), 0x0fff);
    assert_eq!(i32_of("i32.const 0x0ff0 i32.const 0x00ff i32.xor"), 0x0f0f);
    assert_eq!(i32_of("i32.const 1 i32.const 33 i32.shl"), 2);
    assert_eq!(i32_of("i32.const -16 i32.const 2 i32.shr_s"), -4);
    assert_eq!(i32_of("i32.const -16 i32.const 2 i32.shr_u"), 0x3fff_fffc);
    assert_eq!(i32_of("i32.const 0x80000001 i32.const 1 i32.rotl"), 3);
    assert_eq!(
        i32_of("i32.const 3 i32.const 1 i32.rotr"),
        0x8000_0001u32.cast_signed()
    );
    assert_eq!(i32_of("i32.const 0x00f0 i32.clz"), 24);
    assert_eq!(i32_of("i32.const 0x00f0 i32.ctz"), 4);
    assert_eq!(i32_of("i32.const 0x00f0 i32.popcnt"), 4);
    assert_eq!(i32_of("i32.const 0 i32.eqz"), 1);
    assert_eq!(i32_of("i32.const 0x80 i32.extend8_s"), -128);
    assert_eq!(i32_of("i32.const 0x8000 i32.extend16_s"), -32768);
}

#[test]
fn i32_comparisons() {
    assert_eq!(i32_of("i32.const -1 i32.const 1 i32.lt_s"), 1);
    assert_eq!(i32_of("i32.const -1 i32.const 1 i32.lt_u"), 0);
    assert_eq!(i32_of("i32.const -1 i32.const 1 i32.gt_s"), 0);
    assert_eq!(i32_of("i32.const -1 i32.const 1 i32.gt_u"), 1);
    assert_eq!(i32_of("i32.const 5 i32.const 5 i32.le_s"), 1);
    assert_eq!(i32_of("i32.const 5 i32.const 5 i32.ge_u"), 1);
    assert_eq!(i32_of("i32.const 5 i32.const 6 i32.eq"), 0);
    assert_eq!(i32_of("i32.const 5 i32.const 6 i32.ne"), 1);
}

#[test]
fn i64_arithmetic_and_conversions() {
    assert_eq!(
        i64_of("i64.const 0x1_0000_0000 i64.const 3 i64.mul"),
        0x3_0000_0000
    );
    assert_eq!(i64_of("i64.const -9 i64.const 4 i64.div_s"), -2);
    assert_eq!(i64_of("i64.const -9 i64.const 4 i64.rem_s"), -1);
    assert_eq!(i64_of("i64.const 1 i64.const 65 i64.shl"), 2);
    assert_eq!(
        i64_of("i64.const 0x8000_0000_0000_0000 i64.const 1 i64.rotl"),
        1
    );
    assert_eq!(i64_of("i64.const 1 i64.clz"), 63);
    assert_eq!(i64_of("i64.const 0x100 i64.ctz"), 8);
    assert_eq!(i64_of("i64.const -1 i64.popcnt"), 64);
    assert_eq!(i64_of("i32.const -1 i64.extend_i32_s"), -1);
    assert_eq!(i64_of("i32.const -1 i64.extend_i32_u"), 0xffff_ffff);
    assert_eq!(i64_of("i64.const 0x80000000 i64.extend32_s"), -0x8000_0000);
    assert_eq!(i64_of("i64.const 0x80 i64.extend8_s"), -128);
    assert_eq!(i32_of("i64.const 0x1_0000_0005 i32.wrap_i64"), 5);
    assert_eq!(i32_of("i64.const 0 i64.eqz"), 1);
    assert_eq!(i32_of("i64.const -1 i64.const 0 i64.lt_u"), 0);
}

#[test]
fn integer_traps_are_the_same() {
    assert_eq!(
        traps("i32", "i32.const 1 i32.const 0 i32.div_u"),
        Trap::IntegerDivisionByZero
    );
    assert_eq!(
        traps("i64", "i64.const 1 i64.const 0 i64.rem_s"),
        Trap::IntegerDivisionByZero
    );
    assert_eq!(
        traps("i32", "i32.const 0x80000000 i32.const -1 i32.div_s"),
        Trap::IntegerOverflow
    );
    assert_eq!(
        traps("i64", "i64.const 0x8000000000000000 i64.const -1 i64.div_s"),
        Trap::IntegerOverflow
    );
    // rem_s of the same operands is defined and 0.
    assert_eq!(i32_of("i32.const 0x80000000 i32.const -1 i32.rem_s"), 0);
    assert_eq!(
        traps("i32", "f32.const nan i32.trunc_f32_s"),
        Trap::BadConversionToInteger
    );
    assert_eq!(
        traps("i32", "f64.const 3e9 i32.trunc_f64_s"),
        Trap::IntegerOverflow
    );
    assert_eq!(
        traps("i64", "f32.const -1 i64.trunc_f32_u"),
        Trap::IntegerOverflow
    );
    assert_eq!(traps("i32", "unreachable"), Trap::Unreachable);
}

#[test]
fn float_arithmetic() {
    assert_eq!(
        f32_bits("f32.const 1.5 f32.const 2.25 f32.add"),
        3.75f32.to_bits()
    );
    assert_eq!(
        f32_bits("f32.const 1.5 f32.const 2.25 f32.sub"),
        (-0.75f32).to_bits()
    );
    assert_eq!(
        f32_bits("f32.const 1.5 f32.const -2 f32.mul"),
        (-3.0f32).to_bits()
    );
    assert_eq!(
        f32_bits("f32.const 1 f32.const 3 f32.div"),
        (1.0f32 / 3.0).to_bits()
    );
    assert_eq!(f32_bits("f32.const 2 f32.sqrt"), 2f32.sqrt().to_bits());
    assert_eq!(
        f32_bits("f32.const -0 f32.const 0 f32.min"),
        (-0.0f32).to_bits()
    );
    assert_eq!(
        f32_bits("f32.const -0 f32.const 0 f32.max"),
        0.0f32.to_bits()
    );
    assert_eq!(f32_bits("f32.const -1.5 f32.ceil"), (-1.0f32).to_bits());
    assert_eq!(f32_bits("f32.const -1.5 f32.floor"), (-2.0f32).to_bits());
    assert_eq!(f32_bits("f32.const -1.5 f32.trunc"), (-1.0f32).to_bits());
    assert_eq!(f32_bits("f32.const 2.5 f32.nearest"), 2.0f32.to_bits());
    assert_eq!(f32_bits("f32.const -2.5 f32.nearest"), (-2.0f32).to_bits());
    assert_eq!(
        f64_bits("f64.const 0.1 f64.const 0.2 f64.add"),
        (0.1f64 + 0.2).to_bits()
    );
    assert_eq!(f64_bits("f64.const 10 f64.sqrt"), 10f64.sqrt().to_bits());
    assert_eq!(f64_bits("f64.const 3.5 f64.nearest"), 4.0f64.to_bits());
    assert_eq!(
        f64_bits("f32.const 1.25 f64.promote_f32"),
        1.25f64.to_bits()
    );
    assert_eq!(f32_bits("f64.const 1.25 f32.demote_f64"), 1.25f32.to_bits());
    assert_eq!(
        f32_bits("i32.const -3 f32.convert_i32_s"),
        (-3.0f32).to_bits()
    );
    assert_eq!(
        f32_bits("i32.const -1 f32.convert_i32_u"),
        4294967296.0f32.to_bits()
    );
    assert_eq!(
        f64_bits("i64.const -1 f64.convert_i64_u"),
        18446744073709551616.0f64.to_bits()
    );
    assert_eq!(i32_of("f32.const 1 f32.const 2 f32.lt"), 1);
    assert_eq!(i32_of("f64.const nan f64.const nan f64.eq"), 0);
    assert_eq!(i32_of("f64.const -3.9 i32.trunc_f64_s"), -3);
    assert_eq!(i32_of("f32.const nan i32.trunc_sat_f32_s"), 0);
    assert_eq!(i32_of("f32.const 1e10 i32.trunc_sat_f32_s"), i32::MAX);
    assert_eq!(i64_of("f64.const -1e30 i64.trunc_sat_f64_u"), 0);
}
