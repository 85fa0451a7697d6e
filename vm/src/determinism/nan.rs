//! NaN canonicalization.
//!
//! Wasm lets an arithmetic float operation return any NaN payload when its
//! result is NaN; engines differ (x86 produces a negative quiet NaN, inputs'
//! payloads propagate). After each such operator the determinism pass
//! replaces a NaN result by the canonical positive quiet NaN, lane by lane
//! for SIMD. Operators that only move or flip bits (`abs`, `neg`, `copysign`,
//! loads, stores, `reinterpret`, lane moves, `pmin`/`pmax`) are exact in Wasm
//! and left alone.

use wasmparser::Operator;

/// The canonical `f32` NaN: positive, quiet, empty payload.
pub const CANONICAL_F32: u32 = 0x7fc0_0000;

/// The canonical `f64` NaN: positive, quiet, empty payload.
pub const CANONICAL_F64: u64 = 0x7ff8_0000_0000_0000;

/// The kind of value an operator whose NaN result must be canonicalized
/// produces.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FloatResult {
    /// One `f32`.
    F32,
    /// One `f64`.
    F64,
    /// Four `f32` lanes of a `v128`.
    F32x4,
    /// Two `f64` lanes of a `v128`.
    F64x2,
}

/// Whether `op`'s result may be an arithmetic NaN, and of which shape.
pub fn canonicalized_result(op: &Operator) -> Option<FloatResult> {
    use Operator as O;
    Some(match op {
        O::F32Add
        | O::F32Sub
        | O::F32Mul
        | O::F32Div
        | O::F32Sqrt
        | O::F32Min
        | O::F32Max
        | O::F32Ceil
        | O::F32Floor
        | O::F32Trunc
        | O::F32Nearest
        | O::F32DemoteF64 => FloatResult::F32,
        O::F64Add
        | O::F64Sub
        | O::F64Mul
        | O::F64Div
        | O::F64Sqrt
        | O::F64Min
        | O::F64Max
        | O::F64Ceil
        | O::F64Floor
        | O::F64Trunc
        | O::F64Nearest
        | O::F64PromoteF32 => FloatResult::F64,
        O::F32x4Add
        | O::F32x4Sub
        | O::F32x4Mul
        | O::F32x4Div
        | O::F32x4Sqrt
        | O::F32x4Min
        | O::F32x4Max
        | O::F32x4Ceil
        | O::F32x4Floor
        | O::F32x4Trunc
        | O::F32x4Nearest
        | O::F32x4DemoteF64x2Zero => FloatResult::F32x4,
        O::F64x2Add
        | O::F64x2Sub
        | O::F64x2Mul
        | O::F64x2Div
        | O::F64x2Sqrt
        | O::F64x2Min
        | O::F64x2Max
        | O::F64x2Ceil
        | O::F64x2Floor
        | O::F64x2Trunc
        | O::F64x2Nearest
        | O::F64x2PromoteLowF32x4 => FloatResult::F64x2,
        _ => return None,
    })
}
