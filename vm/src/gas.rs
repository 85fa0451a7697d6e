//! The gas schedule and the gas counter.
//!
//! Gas is the fuel of production's wasmtime (Dusk's fork of wasmtime 21)
//! with piecrust's cost table. The determinism pass reproduces where it
//! charges and checks; this module holds what is charged and how the
//! counter reads.

use wasmparser::Operator;

use crate::abi::BYTE_STORE_COST;

/// [`BYTE_STORE_COST`] as the `u8` store costs are computed in.
const BYTE_COST: u8 = 4;
const _: () = assert!(BYTE_COST as u64 == BYTE_STORE_COST);

/// The width class of a store, which decides its cost.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum StoreClass {
    /// `i32.store`, `f32.store`, `i32.store8`, `i32.store16`.
    Narrow,
    /// `i64.store`, `f64.store`, `i64.store8`, `i64.store16`, `i64.store32`.
    Wide,
    /// `v128.store` and the `v128.storeN_lane` stores.
    Vector,
}

impl StoreClass {
    /// Gas charged for one store of this class, as the `u8` of
    /// wasmtime's cost table.
    pub(crate) const fn cost(self) -> u8 {
        match self {
            StoreClass::Narrow => 4 * BYTE_COST,
            StoreClass::Wide => 8 * BYTE_COST,
            StoreClass::Vector => 16 * BYTE_COST,
        }
    }

    /// The class of `op` if it is a store.
    pub(crate) fn of(op: &Operator) -> Option<Self> {
        use Operator as O;
        match op {
            O::I32Store { .. }
            | O::F32Store { .. }
            | O::I32Store8 { .. }
            | O::I32Store16 { .. } => Some(StoreClass::Narrow),
            O::I64Store { .. }
            | O::F64Store { .. }
            | O::I64Store8 { .. }
            | O::I64Store16 { .. }
            | O::I64Store32 { .. } => Some(StoreClass::Wide),
            O::V128Store { .. }
            | O::V128Store8Lane { .. }
            | O::V128Store16Lane { .. }
            | O::V128Store32Lane { .. }
            | O::V128Store64Lane { .. } => Some(StoreClass::Vector),
            _ => None,
        }
    }
}

/// Flat gas cost of one operator: 0 for operators that generate no code or
/// only structure control flow, the store cost for stores, 1 otherwise.
pub(crate) fn operator_cost(op: &Operator) -> i64 {
    use Operator as O;
    if let Some(class) = StoreClass::of(op) {
        return i64::from(class.cost());
    }
    match op {
        O::Nop
        | O::Drop
        | O::Block { .. }
        | O::Loop { .. }
        | O::Unreachable
        | O::Return
        | O::Else
        | O::End => 0,
        _ => 1,
    }
}

/// Gas charged on entry to every Wasm function, on top of its operators.
pub(crate) const FUNCTION_ENTRY_COST: i64 = 1;

/// The gas counter as wasmtime keeps it: an `i64` that starts at `-limit`
/// and grows as gas is consumed; the budget is exhausted when it is `>= 0`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct GasCounter(pub i64);

impl GasCounter {
    /// A fresh counter for a frame with `limit` gas.
    ///
    /// Limits above `i64::MAX` are clamped: the counter is an `i64`.
    pub(crate) fn with_limit(limit: u64) -> Self {
        GasCounter(-i64::try_from(limit).unwrap_or(i64::MAX))
    }

    /// Remaining gas: 0 once the counter has reached or passed zero.
    pub(crate) fn remaining(self) -> u64 {
        // Written like wasmtime's release build: the negation wraps.
        0u64.saturating_add_signed(self.0.wrapping_neg())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn store_costs_follow_width_classes() {
        let mem = wasmparser::MemArg {
            align: 0,
            max_align: 0,
            offset: 0,
            memory: 0,
        };
        assert_eq!(operator_cost(&Operator::I32Store8 { memarg: mem }), 16);
        assert_eq!(operator_cost(&Operator::I64Store32 { memarg: mem }), 32);
        assert_eq!(operator_cost(&Operator::V128Store { memarg: mem }), 64);
        assert_eq!(
            operator_cost(&Operator::V128Store8Lane {
                memarg: mem,
                lane: 0
            }),
            64
        );
        assert_eq!(operator_cost(&Operator::I32Load { memarg: mem }), 1);
    }

    #[test]
    fn control_structure_is_free() {
        assert_eq!(operator_cost(&Operator::End), 0);
        assert_eq!(operator_cost(&Operator::Unreachable), 0);
        assert_eq!(operator_cost(&Operator::Br { relative_depth: 0 }), 1);
        assert_eq!(
            operator_cost(&Operator::If {
                blockty: wasmparser::BlockType::Empty
            }),
            1
        );
    }

    #[test]
    fn counter_reads_like_wasmtime() {
        let mut gas = GasCounter::with_limit(10);
        assert_eq!(gas.remaining(), 10);
        gas.0 += 4;
        assert_eq!(gas.remaining(), 6);
        gas.0 += 9; // overrun between checks
        assert_eq!(gas.remaining(), 0);
        assert_eq!(GasCounter(i64::MIN).remaining(), 0);
    }
}
