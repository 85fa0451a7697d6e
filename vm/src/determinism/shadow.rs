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
        /// Whether the `then` arm ended reachable, once its `else` is seen.
        consequent_ends_reachable: Option<bool>,
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
                consequent_ends_reachable: None,
            }),
            O::Else => match self.control.last_mut() {
                Some(Frame {
                    kind:
                        FrameKind::If {
                            consequent_ends_reachable,
                            ..
                        },
                    ..
                }) => *consequent_ends_reachable = Some(true),
                _ => return Err(ShadowError::ControlStack("else")),
            },
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
                consequent_ends_reachable: None,
            }),
            Operator::Block { .. } | Operator::Loop { .. } => self.push(FrameKind::Block),
            Operator::Else => match self.control.last_mut() {
                Some(Frame {
                    kind:
                        FrameKind::If {
                            head_is_reachable,
                            consequent_ends_reachable,
                        },
                    ..
                }) => {
                    *consequent_ends_reachable = Some(false);
                    if *head_is_reachable {
                        self.reachable = true;
                    }
                }
                _ => return Err(ShadowError::ControlStack("else")),
            },
            Operator::End => {
                let frame = self.control.pop().ok_or(ShadowError::ControlStack("end"))?;
                let reachable_anyway = match frame.kind {
                    FrameKind::Loop | FrameKind::Block => false,
                    FrameKind::If {
                        head_is_reachable,
                        consequent_ends_reachable: None,
                    } => head_is_reachable,
                    FrameKind::If {
                        head_is_reachable,
                        consequent_ends_reachable: Some(consequent),
                    } => head_is_reachable && consequent,
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
