//! A shadow of production's Cranelift translation of one function, kept
//! only as far as fuel depends on it.
//!
//! Production's wasmtime (Dusk's fork of wasmtime 21) charges fuel at
//! translation time: it adds up operator costs along straight-line code,
//! flushes the sum into its fuel variable at control flow, stores the
//! variable where the runtime can read it before calls, returns and traps,
//! and checks the budget at function entry and loop headers. Which code
//! counts depends on the translator's notion of reachability. This shadow
//! follows the same operators through the same control frames and reports
//! the fuel actions the translator compiles, in order, so that the
//! determinism pass can emit them as plain Wasm.
//!
//! The definition it mirrors is `func_environ.rs` (`fuel_*`) of
//! `dusk-wasmtime-cranelift` 21 and `code_translator.rs` of `cranelift-wasm`
//! 0.107 (reachability, `translate_unreachable_operator`, the static bounds
//! check of `bounds_checks.rs`).

use wasmparser::{MemArg, Operator};

use crate::gas;

/// One thing the compiled code does to the fuel counter.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FuelAction {
    /// Add this much to the fuel variable.
    Increment(i64),
    /// Store the fuel variable where the runtime reads it.
    Save,
    /// Fail with out-of-gas if the fuel variable is `>= 0`.
    Check,
}

/// Why the shadow cannot follow a function. Only reachable for modules that
/// validation should have rejected.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ShadowError {
    #[error("the control stack is inconsistent at `{0}`")]
    /// A block ends or branches where no block is open, at this operator.
    ControlStack(&'static str),
}

#[derive(Clone, Copy, Debug)]
enum FrameKind {
    Block,
    Loop,
    If {
        head_is_reachable: bool,
        /// Whether an `else` was reached with the `then` arm ended
        /// unreachable (so that only the `else` arm, or a branch, can reach
        /// the end).
        consequent_ended_unreachable: bool,
    },
}

#[derive(Clone, Copy, Debug)]
struct Frame {
    kind: FrameKind,
    /// Whether a branch targets the construct's end.
    exit_is_branched_to: bool,
}

/// The translation shadow of one function.
pub struct Shadow {
    control: Vec<Frame>,
    reachable: bool,
    /// Fuel consumed by operators since the last increment (the
    /// translator's `fuel_consumed`).
    consumed: i64,
}

impl Shadow {
    /// Starts a function. Returns the shadow and the fuel actions of the
    /// function's entry.
    pub fn new() -> (Self, Vec<FuelAction>) {
        let mut shadow = Shadow {
            control: vec![Frame {
                kind: FrameKind::Block,
                exit_is_branched_to: false,
            }],
            reachable: true,
            consumed: gas::FUNCTION_ENTRY_COST,
        };
        let mut entry_actions = Vec::new();
        shadow.check(&mut entry_actions);
        (shadow, entry_actions)
    }

    /// Whether the translator considers the code at this point reachable.
    pub fn is_reachable(&self) -> bool {
        self.reachable
    }

    /// Depth of the control stack; 0 once the function's final `end` has
    /// been translated.
    pub fn control_depth(&self) -> usize {
        self.control.len()
    }

    /// Fuel actions after the last operator (the function's exit).
    pub fn finish(&self) -> Vec<FuelAction> {
        if self.reachable {
            vec![FuelAction::Save]
        } else {
            Vec::new()
        }
    }

    fn increment(&mut self, actions: &mut Vec<FuelAction>) {
        let consumed = std::mem::take(&mut self.consumed);
        if consumed != 0 {
            actions.push(FuelAction::Increment(consumed));
        }
    }

    fn check(&mut self, actions: &mut Vec<FuelAction>) {
        self.increment(actions);
        actions.push(FuelAction::Check);
    }

    /// The fuel actions compiled before `op` (`fuel_before_op`).
    pub fn before_operator(&mut self, op: &Operator) -> Vec<FuelAction> {
        let mut actions = Vec::new();
        if !self.reachable {
            return actions;
        }
        self.consumed += gas::operator_cost(op);
        use Operator as O;
        match op {
            O::Unreachable
            | O::Return
            | O::Call { .. }
            | O::CallIndirect { .. }
            | O::ReturnCall { .. }
            | O::ReturnCallIndirect { .. } => {
                self.increment(&mut actions);
                actions.push(FuelAction::Save);
            }
            O::Loop { .. }
            | O::If { .. }
            | O::Br { .. }
            | O::BrIf { .. }
            | O::BrTable { .. }
            | O::End
            | O::Else => self.increment(&mut actions),
            _ => {}
        }
        actions
    }

    /// Follows the translation of `op`. Returns the fuel actions compiled
    /// before the operator's own code and those compiled after it (a loop
    /// header's check).
    pub fn translate(
        &mut self,
        op: &Operator,
    ) -> Result<(Vec<FuelAction>, Vec<FuelAction>), ShadowError> {
        let mut before = Vec::new();
        let mut after = Vec::new();
        if !self.reachable {
            self.translate_unreachable(op)?;
            return Ok((before, after));
        }
        use Operator as O;
        match op {
            O::Block { .. } => self.push(FrameKind::Block),
            O::Loop { .. } => {
                self.push(FrameKind::Loop);
                // The loop header is a fuel check.
                self.check(&mut after);
            }
            O::If { .. } => self.push(FrameKind::If {
                head_is_reachable: true,
                consequent_ended_unreachable: false,
            }),
            // A reachable `else` (the `then` arm fell through) changes
            // nothing: the `else` arm is reachable, as the head was.
            O::End => {
                self.control.pop().ok_or(ShadowError::ControlStack("end"))?;
            }
            O::Br { relative_depth } => {
                self.branch_to(*relative_depth)?;
                self.reachable = false;
            }
            O::BrIf { relative_depth } => self.branch_to(*relative_depth)?,
            O::BrTable { targets } => {
                for depth in targets.targets() {
                    let depth = depth.map_err(|_| ShadowError::ControlStack("br_table"))?;
                    self.branch_to(depth)?;
                }
                self.branch_to(targets.default())?;
                self.reachable = false;
            }
            O::Return | O::Unreachable => self.reachable = false,
            _ => {
                if let Some((memarg, size)) = memory_access(op)
                    && statically_out_of_bounds(memarg, size)
                {
                    // The translator compiles an unconditional trap, with
                    // the fuel so far added and stored before it, and
                    // treats the rest of the block as unreachable.
                    self.increment(&mut before);
                    before.push(FuelAction::Save);
                    self.reachable = false;
                }
            }
        }
        Ok((before, after))
    }

    fn push(&mut self, kind: FrameKind) {
        self.control.push(Frame {
            kind,
            exit_is_branched_to: false,
        });
    }

    /// A branch to the construct `depth` levels out: it makes that
    /// construct's end reachable, unless the construct is a loop (whose
    /// branches go to its header).
    fn branch_to(&mut self, depth: u32) -> Result<(), ShadowError> {
        let index = self
            .control
            .len()
            .checked_sub(1 + depth as usize)
            .ok_or(ShadowError::ControlStack("branch"))?;
        let frame = &mut self.control[index];
        if !matches!(frame.kind, FrameKind::Loop) {
            frame.exit_is_branched_to = true;
        }
        Ok(())
    }

    /// `translate_unreachable_operator`: only control structure.
    fn translate_unreachable(&mut self, op: &Operator) -> Result<(), ShadowError> {
        match op {
            Operator::If { .. } => self.push(FrameKind::If {
                head_is_reachable: false,
                consequent_ended_unreachable: false,
            }),
            Operator::Block { .. } | Operator::Loop { .. } => self.push(FrameKind::Block),
            Operator::Else => match self.control.last_mut() {
                Some(Frame {
                    kind:
                        FrameKind::If {
                            head_is_reachable,
                            consequent_ended_unreachable,
                        },
                    ..
                }) => {
                    *consequent_ended_unreachable = true;
                    if *head_is_reachable {
                        self.reachable = true;
                    }
                }
                _ => return Err(ShadowError::ControlStack("else")),
            },
            Operator::End => {
                let frame = self.control.pop().ok_or(ShadowError::ControlStack("end"))?;
                // The end of an `if` is reached by falling out of its `then`
                // arm (or past a missing `else`) when its head was reachable.
                let reachable_anyway = match frame.kind {
                    FrameKind::Loop | FrameKind::Block => false,
                    FrameKind::If {
                        head_is_reachable,
                        consequent_ended_unreachable,
                    } => head_is_reachable && !consequent_ended_unreachable,
                };
                if frame.exit_is_branched_to || reachable_anyway {
                    self.reachable = true;
                }
            }
            _ => {}
        }
        Ok(())
    }
}

/// The memory argument and access size of a load or store.
pub fn memory_access(op: &Operator) -> Option<(MemArg, u64)> {
    use Operator as O;
    let (memarg, size) = match *op {
        O::I32Load8S { memarg }
        | O::I32Load8U { memarg }
        | O::I64Load8S { memarg }
        | O::I64Load8U { memarg }
        | O::I32Store8 { memarg }
        | O::I64Store8 { memarg }
        | O::V128Load8Splat { memarg }
        | O::V128Load8Lane { memarg, .. }
        | O::V128Store8Lane { memarg, .. } => (memarg, 1),
        O::I32Load16S { memarg }
        | O::I32Load16U { memarg }
        | O::I64Load16S { memarg }
        | O::I64Load16U { memarg }
        | O::I32Store16 { memarg }
        | O::I64Store16 { memarg }
        | O::V128Load16Splat { memarg }
        | O::V128Load16Lane { memarg, .. }
        | O::V128Store16Lane { memarg, .. } => (memarg, 2),
        O::I32Load { memarg }
        | O::F32Load { memarg }
        | O::I64Load32S { memarg }
        | O::I64Load32U { memarg }
        | O::I32Store { memarg }
        | O::F32Store { memarg }
        | O::I64Store32 { memarg }
        | O::V128Load32Splat { memarg }
        | O::V128Load32Zero { memarg }
        | O::V128Load32Lane { memarg, .. }
        | O::V128Store32Lane { memarg, .. } => (memarg, 4),
        O::I64Load { memarg }
        | O::F64Load { memarg }
        | O::I64Store { memarg }
        | O::F64Store { memarg }
        | O::V128Load8x8S { memarg }
        | O::V128Load8x8U { memarg }
        | O::V128Load16x4S { memarg }
        | O::V128Load16x4U { memarg }
        | O::V128Load32x2S { memarg }
        | O::V128Load32x2U { memarg }
        | O::V128Load64Splat { memarg }
        | O::V128Load64Zero { memarg }
        | O::V128Load64Lane { memarg, .. }
        | O::V128Store64Lane { memarg, .. } => (memarg, 8),
        O::V128Load { memarg } | O::V128Store { memarg } => (memarg, 16),
        _ => return None,
    };
    Some((memarg, size))
}

/// Whether the translator proves at compile time that an access always
/// traps: its static offset plus size exceed the memory's static bound.
/// Production's wasmtime gives every memory, 32- or 64-bit, a static bound
/// of 4 GiB (piecrust forces static memories), whatever its declared
/// maximum.
fn statically_out_of_bounds(memarg: MemArg, size: u64) -> bool {
    const STATIC_BOUND: u64 = 1 << 32;
    let static_offset = if memarg.offset <= u64::from(u32::MAX) {
        memarg.offset
    } else {
        0
    };
    static_offset + size > STATIC_BOUND
}

#[cfg(test)]
mod tests {
    use super::FuelAction::{Check, Increment, Save};
    use super::*;

    /// The fuel actions the shadow reports for the body of a function
    /// `(func BODY)`, in order, and whether code is reachable after each
    /// operator.
    fn shadow_of(body: &str) -> (Vec<FuelAction>, Vec<bool>) {
        let wasm = wat::parse_str(format!("(module (func {body}))")).expect("valid WAT");
        for payload in wasmparser::Parser::new(0).parse_all(&wasm) {
            if let Ok(wasmparser::Payload::CodeSectionEntry(code)) = payload {
                let (mut shadow, mut actions) = Shadow::new();
                let mut reachable = Vec::new();
                let mut reader = code.get_operators_reader().expect("operators");
                while !reader.eof() {
                    let op = reader.read().expect("operator");
                    actions.extend(shadow.before_operator(&op));
                    let (before, after) = shadow.translate(&op).expect("consistent");
                    actions.extend(before);
                    actions.extend(after);
                    reachable.push(shadow.is_reachable());
                }
                actions.extend(shadow.finish());
                return (actions, reachable);
            }
        }
        panic!("no function body");
    }

    #[test]
    fn code_after_a_branch_costs_nothing_until_the_branch_target() {
        // Entry: 1, checked. `br` (1) is added before it jumps; the
        // constant and `drop` after it are dead; the block's end is
        // reachable through the branch, so the constant after it (1) is
        // added at the function's end, then stored.
        let (actions, reachable) = shadow_of("block br 0 i32.const 7 drop end i32.const 1 drop");
        assert_eq!(
            actions,
            [Increment(1), Check, Increment(1), Increment(1), Save]
        );
        assert_eq!(
            reachable,
            [true, false, false, false, true, true, true, true]
        );
    }

    #[test]
    fn an_if_whose_arms_both_end_unreachable_ends_unreachable() {
        // The condition and `if` (2) are added at the `if`; each
        // `unreachable` stores the fuel; nothing after the `if` counts,
        // and the function's end stores nothing.
        let (actions, reachable) =
            shadow_of("i32.const 0 if unreachable else unreachable end i32.const 5 drop");
        assert_eq!(actions, [Increment(1), Check, Increment(2), Save, Save]);
        assert_eq!(
            reachable,
            [true, true, false, true, false, false, false, false, false]
        );
    }

    #[test]
    fn an_if_without_else_ends_reachable_past_an_unreachable_then_arm() {
        let (actions, reachable) = shadow_of("i32.const 0 if unreachable end i32.const 5 drop");
        assert_eq!(
            actions,
            [Increment(1), Check, Increment(2), Save, Increment(1), Save]
        );
        assert_eq!(reachable, [true, true, false, true, true, true, true]);
    }

    #[test]
    fn an_else_after_a_then_arm_that_falls_through_keeps_the_end_reachable() {
        // The `then` arm falls through (its `i32.const` is added at the
        // `else`); the `else` arm ends unreachable; the end is reachable
        // from the `then` arm.
        let (actions, _) =
            shadow_of("i32.const 0 if i32.const 1 drop else unreachable end i32.const 5 drop");
        assert_eq!(
            actions,
            [
                Increment(1),
                Check,
                Increment(2),
                Increment(1),
                Save,
                Increment(1),
                Save
            ]
        );
    }

    #[test]
    fn code_after_a_branch_table_or_a_return_costs_nothing() {
        // `i32.const` and `br_table` (2) are added before the jump; the
        // block's end is reachable through the table; the constant after
        // it (1) is added at the function's end.
        let (actions, reachable) =
            shadow_of("block i32.const 0 br_table 0 0 i32.const 9 drop end i32.const 1 drop");
        assert_eq!(
            actions,
            [Increment(1), Check, Increment(2), Increment(1), Save]
        );
        assert_eq!(
            reachable,
            [true, true, false, false, false, true, true, true, true]
        );
        // `return` stores the fuel; nothing after it counts, and the
        // function's end is unreachable.
        let (actions, reachable) = shadow_of("return i32.const 3 drop");
        assert_eq!(actions, [Increment(1), Check, Save]);
        assert_eq!(reachable, [false, false, false, false]);
    }

    #[test]
    fn an_if_in_dead_code_ends_dead() {
        // The `if` follows the `br`, so neither it nor the constant after
        // its end counts; the outer block's end is reachable through the
        // branch.
        let (actions, reachable) =
            shadow_of("block br 0 i32.const 0 if nop end i32.const 5 drop end");
        assert_eq!(actions, [Increment(1), Check, Increment(1), Save]);
        assert_eq!(
            reachable,
            [
                true, false, false, false, false, false, false, false, true, true
            ]
        );
    }
}
