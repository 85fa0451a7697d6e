//! Floats' NaN payloads and SIMD: bit-exact on both engines. Arithmetic NaNs
//! are canonical; bit operations (neg, abs, copysign, reinterpret, loads,
//! stores) keep payloads.

mod common;

use common::{call_both, contract, eval};

fn bits(ty: &str, expr: &str) -> Vec<u8> {
    eval(ty, expr).expect("no trap")
}

fn f32_bits(expr: &str) -> u32 {
    u32::from_le_bytes(bits("f32", expr).try_into().expect("4 bytes"))
}

fn f64_bits(expr: &str) -> u64 {
    u64::from_le_bytes(bits("f64", expr).try_into().expect("8 bytes"))
}

fn v128_lanes_u32(expr: &str) -> [u32; 4] {
    let bytes = bits("v128", expr);
    std::array::from_fn(|i| u32::from_le_bytes(bytes[i * 4..i * 4 + 4].try_into().expect("lane")))
}

const CANONICAL_F32: u32 = 0x7fc0_0000;
const CANONICAL_F64: u64 = 0x7ff8_0000_0000_0000;

#[test]
fn bit_operations_keep_payloads() {
    let nan = "i32.const 0x7fa00001 f32.reinterpret_i32";
    assert_eq!(f32_bits(&format!("{nan} f32.neg")), 0xffa0_0001);
    assert_eq!(
        f32_bits("i32.const 0xffc00001 f32.reinterpret_i32 f32.abs"),
        0x7fc0_0001
    );
    assert_eq!(
        f32_bits(&format!("{nan} f32.const -1 f32.copysign")),
        0xffa0_0001
    );
    // A signalling NaN goes through reinterpret and store untouched.
    assert_eq!(
        f32_bits("i32.const 0x7f800001 f32.reinterpret_i32"),
        0x7f80_0001
    );
    assert_eq!(
        f64_bits("i64.const 0x7ff0000000000001 f64.reinterpret_i64 f64.neg"),
        0xfff0_0000_0000_0001
    );
}

#[test]
fn loads_and_stores_keep_payloads() {
    let wat = contract(
        r#"(func (export "f") (param i32) (result i32)
             i32.const 0 i32.const 0x7f800001 i32.store
             i32.const 8 i32.const 0 f32.load f32.store
             i32.const 8 i32.load i32.const 0x7f800001 i32.eq
             i32.const 0 i32.store8
             i32.const 1)"#,
    );
    assert_eq!(call_both(&wat, "f", &[], 10_000).result, Ok(vec![1]));
}

#[test]
fn arithmetic_nans_are_canonical() {
    let payload = "i32.const 0xffa00001 f32.reinterpret_i32";
    assert_eq!(f32_bits("f32.const 0 f32.const 0 f32.div"), CANONICAL_F32);
    assert_eq!(
        f32_bits(&format!("{payload} f32.const 1 f32.add")),
        CANONICAL_F32
    );
    assert_eq!(
        f32_bits(&format!("{payload} f32.const 1 f32.min")),
        CANONICAL_F32
    );
    assert_eq!(f32_bits(&format!("{payload} f32.sqrt")), CANONICAL_F32);
    assert_eq!(f32_bits("f32.const -1 f32.sqrt"), CANONICAL_F32);
    assert_eq!(f32_bits(&format!("{payload} f32.nearest")), CANONICAL_F32);
    assert_eq!(
        f64_bits("f64.const inf f64.const -inf f64.add"),
        CANONICAL_F64
    );
    assert_eq!(
        f32_bits("i64.const 0xfff4000000000001 f64.reinterpret_i64 f32.demote_f64"),
        CANONICAL_F32
    );
    assert_eq!(
        f64_bits(&format!("{payload} f64.promote_f32")),
        CANONICAL_F64
    );
    // Non-NaN results are untouched.
    assert_eq!(f32_bits("f32.const -0 f32.const 0 f32.mul"), 0x8000_0000);
}

#[test]
fn simd_float_nans_are_canonical_per_lane() {
    let lanes = v128_lanes_u32(
        "v128.const i32x4 0x7fa00001 0x3f800000 0xffc00000 0x40000000
         v128.const f32x4 1 1 1 1
         f32x4.add",
    );
    assert_eq!(
        lanes,
        [CANONICAL_F32, 0x4000_0000, CANONICAL_F32, 0x4040_0000]
    );
    let negated = v128_lanes_u32("v128.const i32x4 0x7fa00001 0 0 0 f32x4.neg");
    assert_eq!(negated[0], 0xffa0_0001);
    let bytes = bits(
        "v128",
        "v128.const i64x2 0x7ff4000000000001 0 v128.const f64x2 0 0 f64x2.mul",
    );
    assert_eq!(
        u64::from_le_bytes(bytes[..8].try_into().expect("lane")),
        CANONICAL_F64
    );
    // A NaN in every lane: each lane of the canonical vector is canonical.
    let lanes = v128_lanes_u32(
        "v128.const i32x4 0x7fa00001 0xffc00000 0x7f800001 0xff800002
         v128.const f32x4 1 1 1 1
         f32x4.mul",
    );
    assert_eq!(lanes, [CANONICAL_F32; 4]);
    let bytes = bits(
        "v128",
        "v128.const i64x2 0x7ff4000000000001 0xfff8000000000000 v128.const f64x2 1 1 f64x2.add",
    );
    assert_eq!(
        [&bytes[..8], &bytes[8..]].map(|lane| u64::from_le_bytes(lane.try_into().expect("lane"))),
        [CANONICAL_F64; 2]
    );
}

#[test]
fn simd_integer_operations() {
    assert_eq!(
        v128_lanes_u32("v128.const i32x4 1 2 3 4 v128.const i32x4 10 20 30 40 i32x4.add"),
        [11, 22, 33, 44]
    );
    assert_eq!(
        v128_lanes_u32("v128.const i32x4 1 2 3 4 i32.const 33 i32x4.shl"),
        [2, 4, 6, 8]
    );
    assert_eq!(
        v128_lanes_u32(
            "v128.const i32x4 0x04030201 0x08070605 0x0c0b0a09 0x100f0e0d
             v128.const i32x4 0 0 0 0
             i8x16.shuffle 3 2 1 0 7 6 5 4 11 10 9 8 15 14 13 12"
        ),
        [0x0102_0304, 0x0506_0708, 0x090a_0b0c, 0x0d0e_0f10]
    );
    assert_eq!(
        v128_lanes_u32(
            "v128.const i16x8 1 2 3 4 5 6 7 8 v128.const i16x8 1 1 1 1 1 1 1 1 i32x4.dot_i16x8_s"
        ),
        [3, 7, 11, 15]
    );
    let mask = bits(
        "i32",
        "v128.const i8x16 -1 0 -1 0 0 0 0 0 0 0 0 0 0 0 0 -128 i8x16.bitmask",
    );
    assert_eq!(mask, 0x8005u32.to_le_bytes().to_vec());
    assert_eq!(
        v128_lanes_u32(
            "v128.const i8x16 0 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 v128.const i8x16 3 2 1 0 7 6 5 4 11 10 9 8 15 14 13 200 i8x16.swizzle"
        ),
        // Index 200 is out of range and selects zero.
        [0x0001_0203, 0x0405_0607, 0x0809_0a0b, 0x000d_0e0f]
    );
    assert_eq!(
        v128_lanes_u32("v128.const f32x4 1.7 -1.7 3e10 nan i32x4.trunc_sat_f32x4_s"),
        [1, (-1i32).cast_unsigned(), i32::MAX.cast_unsigned(), 0]
    );
}
