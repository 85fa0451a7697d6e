//! The host imports: one engine-independent dispatcher.
//!
//! Engines bind every import of a contract to [`HostState`]'s
//! [`Host::dispatch`](crate::engine::Host::dispatch), which is [`dispatch`]:
//! it gets the [`Runtime`] of the running store and the calling instance.
//! All bounds checks, gas charges and argument-buffer effects of the ABI are
//! here and nowhere else.

use super::HostState;
use super::frame::{self, FrameRequest};
use crate::abi::{
    self, ARGBUF_LEN, ARGBUF_LEN_U32, BYTE_STORE_COST, CONTRACT_ID_LEN, ContractId, Event,
    HostImport, INIT_EXPORT,
};
use crate::determinism::DIRTY_PAGE_SHIFT;
use crate::engine::{InstanceId, Runtime, Value, VmGlobal};
use crate::failure::{CallError, EngineError, HostError, HostFailure};
use crate::gas::GasCounter;

/// Runs host import `import` for `caller` with `args` (already checked
/// against the import's signature by the engine).
pub fn dispatch(
    rt: &mut dyn Runtime<HostState>,
    caller: InstanceId,
    import: HostImport,
    args: &[Value],
) -> Result<Option<Value>, HostFailure> {
    let mut host = Host { rt, caller };
    match import {
        HostImport::Limit => {
            let frame = host.rt.host().current_frame()?;
            // The limit's bits, as production hands a `u64` to an `i64` result.
            Ok(Some(Value::I64(frame.limit.cast_signed())))
        }
        HostImport::Spent => {
            let counter = host.gas()?;
            let spent = host.rt.host().current_frame()?.spent(counter);
            Ok(Some(Value::I64(spent.cast_signed())))
        }
        HostImport::Panic => {
            let message = host.argbuf_utf8(arg_u32(args, 0)?, "panic message")?;
            Err(HostError::Panic { message }.into())
        }
        HostImport::SelfId => {
            let id = host.rt.host().slot(caller)?.id;
            host.write_argbuf(id.as_bytes())?;
            Ok(None)
        }
        HostImport::Owner => {
            let pointer = arg_pointer(args, 0)?;
            let owner = if pointer == 0 {
                Some(host.rt.host().slot(caller)?.owner.clone())
            } else {
                let id = host.read_id(pointer)?;
                host.rt
                    .host()
                    .live_contract(&id)
                    .map(|instance| host.rt.host().contracts[instance.0].owner.clone())
            };
            match owner {
                Some(owner) => {
                    host.write_argbuf(&owner)?;
                    Ok(Some(Value::I32(length(owner.len())?)))
                }
                None => Ok(Some(Value::I32(0))),
            }
        }
        HostImport::Hdebug => {
            let message = host.argbuf_utf8(arg_u32(args, 0)?, "debug message")?;
            host.rt.host().debug_messages.push(message);
            Ok(None)
        }
        HostImport::Hd => {
            let name =
                host.read_utf8(arg_pointer(args, 0)?, arg_u32(args, 1)?, "host data name")?;
            let data = host
                .rt
                .host()
                .host_data
                .get(&name)
                .cloned()
                .unwrap_or_default();
            host.write_argbuf(&data)?;
            Ok(Some(Value::I32(length(data.len())?)))
        }
        HostImport::Emit => {
            // Production's order: both ranges, the charge, then the topic's
            // encoding.
            let topic_len = arg_u32(args, 1)?;
            let topic = host.read(arg_pointer(args, 0)?, u64::from(topic_len))?;
            let data_len = arg_u32(args, 2)?;
            let data = host.read_argbuf(data_len)?;
            host.charge(BYTE_STORE_COST * (u64::from(topic_len) + u64::from(data_len)))?;
            let topic = String::from_utf8(topic).map_err(|_| HostError::InvalidUtf8 {
                what: "event topic".into(),
            })?;
            let source = host.rt.host().slot(caller)?.id;
            host.rt.host().trace.event(Event {
                source,
                topic,
                data,
            });
            Ok(None)
        }
        HostImport::Feed => {
            let data = host.read_argbuf(arg_u32(args, 0)?)?;
            match host.rt.host().feeder.as_mut() {
                Some(feeder) => {
                    feeder.push(data);
                    Ok(None)
                }
                None => Err(HostError::NoFeeder.into()),
            }
        }
        HostImport::Caller => {
            let state = host.rt.host();
            let caller_frame = state.frames.len().checked_sub(2).map(|i| state.frames[i]);
            match caller_frame {
                Some(frame) => {
                    let id = state.slot(frame.instance)?.id;
                    host.write_argbuf(id.as_bytes())?;
                    Ok(Some(Value::I32(1)))
                }
                None => Ok(Some(Value::I32(0))),
            }
        }
        HostImport::Callstack => {
            let state = host.rt.host();
            let callers = state.frames.len().saturating_sub(1);
            let mut ids = Vec::with_capacity(callers * CONTRACT_ID_LEN);
            for frame in state.frames[..callers].iter().rev() {
                ids.extend_from_slice(state.slot(frame.instance)?.id.as_bytes());
            }
            host.write_argbuf(&ids)?;
            Ok(Some(Value::I32(length(callers)?)))
        }
        HostImport::C => host
            .inter_contract_call(args)
            .map(|code| Some(Value::I32(code))),
        HostImport::Hq => host.query(args).map(|len| Some(Value::I32(len))),
    }
}

/// A panic message as the caller's argument buffer holds it; a message too
/// long to fit with its length prefix is cut at the buffer's end.
fn encode_panic_for_caller(message: &str) -> Vec<u8> {
    abi::encode_panic_message(message).unwrap_or_else(|| {
        let mut bytes = (ARGBUF_LEN_U32 - 4).to_le_bytes().to_vec();
        bytes.extend_from_slice(&message.as_bytes()[..ARGBUF_LEN - 4]);
        bytes
    })
}

/// A length the host hands a contract (at most the argument buffer's, or
/// a count of frames) as the `i32` it sees.
fn length(len: usize) -> Result<i32, HostFailure> {
    i32::try_from(len).map_err(|_| {
        HostFailure::Engine(EngineError::HostInvariant(format!(
            "a length of {len} handed to a contract"
        )))
    })
}

/// The bytes `start..end` of a memory whose length bounds `end`.
fn byte_range(start: u64, end: u64) -> Option<std::ops::Range<usize>> {
    Some(usize::try_from(start).ok()?..usize::try_from(end).ok()?)
}

fn arg(args: &[Value], index: usize) -> Result<Value, HostFailure> {
    args.get(index).copied().ok_or_else(|| {
        HostFailure::Engine(EngineError::HostInvariant(format!(
            "host call without argument {index}"
        )))
    })
}

/// An `i32` argument read as unsigned, as lengths are.
fn arg_u32(args: &[Value], index: usize) -> Result<u32, HostFailure> {
    match arg(args, index)? {
        Value::I32(value) => Ok(value.cast_unsigned()),
        other => Err(bad_argument(index, other)),
    }
}

/// A pointer argument of either width, as an unsigned offset.
fn arg_pointer(args: &[Value], index: usize) -> Result<u64, HostFailure> {
    match arg(args, index)? {
        Value::I32(value) => Ok(u64::from(value.cast_unsigned())),
        Value::I64(value) => Ok(value.cast_unsigned()),
        other => Err(bad_argument(index, other)),
    }
}

fn bad_argument(index: usize, value: Value) -> HostFailure {
    HostFailure::Engine(EngineError::HostInvariant(format!(
        "host call argument {index} has the wrong type: {value:?}"
    )))
}

/// A host call in progress.
struct Host<'r> {
    rt: &'r mut dyn Runtime<HostState>,
    caller: InstanceId,
}

impl Host<'_> {
    fn gas(&mut self) -> Result<GasCounter, HostFailure> {
        Ok(GasCounter(
            self.rt.vm_global(self.caller, VmGlobal::SavedFuel)?,
        ))
    }

    /// Gas left to the caller's frame, exact above `i64::MAX` too.
    fn left(&mut self) -> Result<u64, HostFailure> {
        let counter = self.gas()?;
        Ok(self.rt.host().current_frame()?.left(counter))
    }

    /// Leaves the caller's frame `left` gas: in its counter up to
    /// `i64::MAX`, the rest beyond it.
    fn set_left(&mut self, left: u64) -> Result<(), HostFailure> {
        let counter = GasCounter::with_limit(left);
        self.rt
            .set_vm_global(self.caller, VmGlobal::Fuel, counter.0)?;
        self.rt
            .set_vm_global(self.caller, VmGlobal::SavedFuel, counter.0)?;
        let frame = self.rt.host().frames.last_mut().ok_or_else(|| {
            HostFailure::Engine(EngineError::HostInvariant(
                "host call outside any frame".into(),
            ))
        })?;
        frame.beyond_counter = left - counter.remaining();
        Ok(())
    }

    /// Charges `cost`, or fails with out-of-gas leaving no gas.
    fn charge(&mut self, cost: u64) -> Result<(), HostFailure> {
        let left = self.left()?;
        match left.checked_sub(cost) {
            Some(rest) => self.set_left(rest),
            None => {
                self.set_left(0)?;
                Err(HostError::OutOfGas.into())
            }
        }
    }

    fn argbuf_offset(&mut self) -> Result<u64, HostFailure> {
        let caller = self.caller;
        Ok(self.rt.host().slot(caller)?.argbuf_offset)
    }

    fn read(&mut self, start: u64, len: u64) -> Result<Vec<u8>, HostFailure> {
        let memory = self.rt.memory(self.caller)?;
        let memory_len = memory.len() as u64;
        match start
            .checked_add(len)
            .filter(|&end| end <= memory_len)
            .and_then(|end| byte_range(start, end))
        {
            Some(range) => Ok(memory[range].to_vec()),
            None => Err(HostError::MemoryRange {
                start,
                len,
                memory_len,
            }
            .into()),
        }
    }

    fn read_utf8(&mut self, start: u64, len: u32, what: &str) -> Result<String, HostFailure> {
        let bytes = self.read(start, u64::from(len))?;
        String::from_utf8(bytes).map_err(|_| {
            HostError::InvalidUtf8 {
                what: what.to_string(),
            }
            .into()
        })
    }

    fn read_id(&mut self, start: u64) -> Result<ContractId, HostFailure> {
        let bytes = self.read(start, CONTRACT_ID_LEN as u64)?;
        let mut id = [0; CONTRACT_ID_LEN];
        id.copy_from_slice(&bytes);
        Ok(ContractId(id))
    }

    fn read_argbuf(&mut self, len: u32) -> Result<Vec<u8>, HostFailure> {
        if len as usize > ARGBUF_LEN {
            return Err(HostError::ArgbufLength {
                len: u64::from(len),
            }
            .into());
        }
        let offset = self.argbuf_offset()?;
        self.read(offset, u64::from(len))
    }

    fn argbuf_utf8(&mut self, len: u32, what: &str) -> Result<String, HostFailure> {
        let bytes = self.read_argbuf(len)?;
        String::from_utf8(bytes).map_err(|_| {
            HostError::InvalidUtf8 {
                what: what.to_string(),
            }
            .into()
        })
    }

    /// `c`: calls another contract (or this one) and returns its output
    /// length or a negative error code.
    fn inter_contract_call(&mut self, args: &[Value]) -> Result<i32, HostFailure> {
        let caller = self.caller;
        let id = self.read_id(arg_pointer(args, 0)?)?;
        let name = self.read(arg_pointer(args, 1)?, u64::from(arg_u32(args, 2)?))?;
        let input = self.read_argbuf(arg_u32(args, 3)?)?;
        let requested = match arg(args, 4)? {
            Value::I64(gas) => gas,
            other => return Err(bad_argument(4, other)),
        };
        let remaining = self.left()?;
        let limit = abi::callee_gas_limit(requested, remaining);
        let stack = self.rt.vm_global(caller, VmGlobal::Stack)?;
        let abort = self.rt.vm_global(caller, VmGlobal::Abort)?;

        // A name that is not UTF-8 fails the caller itself, as production
        // decodes it before any callee frame exists.
        let function = String::from_utf8(name).map_err(|_| HostError::InvalidUtf8 {
            what: "function name".into(),
        })?;
        let state = self.rt.host();
        // Production's order: the depth is checked, then the callee looked
        // up; either refusal comes before any callee frame exists and costs
        // the caller nothing. A callee that exists but cannot run the
        // function (`init`, not an export) fails inside its frame and costs
        // the whole limit.
        let max_depth = state.limits.max_call_depth;
        let refused = if state.frames.len() >= max_depth {
            Some(CallError::DepthExceeded { max: max_depth })
        } else {
            match state.live_contract(&id) {
                None => Some(CallError::DoesNotExist { id: id.to_string() }),
                Some(_) => None,
            }
        };
        let callee = state.live_contract(&id);
        let failed_in_frame = match callee {
            Some(callee) if function == INIT_EXPORT => Some((callee, CallError::InitNotCallable)),
            Some(callee) if !state.contracts[callee.0].functions.contains(&function) => Some((
                callee,
                CallError::MissingFunction {
                    name: function.clone(),
                },
            )),
            _ => None,
        };
        let (result, charge) = match (refused, callee, failed_in_frame) {
            (Some(error), _, _) => {
                frame::trace_refused(self.rt, id, &function, &input, limit, &error);
                (Err(error), 0)
            }
            (None, _, Some((_, error))) => {
                frame::trace_refused(self.rt, id, &function, &input, limit, &error);
                (Err(error), limit)
            }
            (None, None, None) => {
                return Err(HostFailure::Engine(EngineError::HostInvariant(
                    "a callee that is neither refused nor found".into(),
                )));
            }
            (None, Some(callee), None) => {
                let frame = frame::run_frame(
                    self.rt,
                    FrameRequest {
                        callee,
                        function: &function,
                        arg: &input,
                        gas_limit: limit,
                        stack_base: stack,
                        nested: true,
                    },
                )?;
                let charge = if frame.result.is_ok() {
                    frame.gas_spent
                } else {
                    limit
                };
                (frame.result, charge)
            }
        };
        // The caller runs on and may write again.
        self.rt.host().journal.touch(caller);
        // The callee may have been this very contract: put back the caller's
        // VM globals, then charge it.
        self.set_left(remaining.saturating_sub(charge))?;
        self.rt.set_vm_global(caller, VmGlobal::Stack, stack)?;
        self.rt.set_vm_global(caller, VmGlobal::Abort, abort)?;
        match result {
            Ok(output) => {
                self.write_argbuf(&output)?;
                length(output.len())
            }
            Err(error) => {
                if let CallError::Panic { message } = &error {
                    self.write_argbuf(&encode_panic_for_caller(message))?;
                }
                Ok(error.code().code())
            }
        }
    }

    /// `hq`: runs a host query, charging its price first.
    fn query(&mut self, args: &[Value]) -> Result<i32, HostFailure> {
        // Production's order: both ranges, then the name's encoding.
        let name = self.read(arg_pointer(args, 0)?, u64::from(arg_u32(args, 1)?))?;
        let arg = self.read_argbuf(arg_u32(args, 2)?)?;
        let arg = AlignedArg::new(self.argbuf_offset()?, &arg);
        let arg = arg.bytes();
        let name = String::from_utf8(name).map_err(|_| HostError::InvalidUtf8 {
            what: "host query name".into(),
        })?;
        let query = self
            .rt
            .host()
            .queries
            .get(&name)
            .cloned()
            .ok_or(HostError::UnknownQuery { name })?;
        let panicked = || HostError::Panic {
            message: "host query panicked".into(),
        };
        let price = crate::query::contain(|| query.price(arg)).map_err(|_| panicked())?;
        self.charge(price)?;
        let output = crate::query::contain(|| query.run(arg)).map_err(|_| panicked())?;
        if output.len() > ARGBUF_LEN {
            return Err(HostError::QueryOutputTooLong {
                len: output.len() as u64,
            }
            .into());
        }
        self.write_argbuf(&output)?;
        length(output.len())
    }

    fn write_argbuf(&mut self, bytes: &[u8]) -> Result<(), HostFailure> {
        let offset = self.argbuf_offset()?;
        write_memory(self.rt, self.caller, offset, bytes)?;
        Ok(())
    }
}

/// Writes `bytes` at `offset` of the instance's memory and marks the pages
/// dirty, as a contract's own store would.
pub fn write_memory(
    rt: &mut dyn Runtime<HostState>,
    instance: InstanceId,
    offset: u64,
    bytes: &[u8],
) -> Result<(), HostFailure> {
    if bytes.is_empty() {
        return Ok(());
    }
    let memory = rt.memory(instance)?;
    let memory_len = memory.len() as u64;
    let end = offset
        .checked_add(bytes.len() as u64)
        .filter(|&end| end <= memory_len);
    let range = end
        .and_then(|end| byte_range(offset, end))
        .ok_or(HostError::MemoryRange {
            start: offset,
            len: bytes.len() as u64,
            memory_len,
        })?;
    let end = range.end as u64;
    memory[range].copy_from_slice(bytes);
    rt.host().journal.touch(instance);
    let dirty = rt.dirty_map(instance)?;
    let first = (offset >> DIRTY_PAGE_SHIFT) as usize;
    let last = ((end - 1) >> DIRTY_PAGE_SHIFT) as usize;
    if let Some(pages) = dirty.get_mut(first..=last) {
        pages.fill(1);
    }
    Ok(())
}

/// A copy of a query's argument at an address aligned as production's is:
/// production hands queries the argument buffer in place, in a memory
/// whose base is page-aligned, and a query that checks an archive (rkyv)
/// refuses values misaligned in memory. Alignments up to [`Self::ALIGN`]
/// are kept.
struct AlignedArg {
    buf: Vec<u8>,
    start: usize,
    len: usize,
}

impl AlignedArg {
    const ALIGN: usize = 16;

    fn new(offset: u64, bytes: &[u8]) -> AlignedArg {
        let mut buf = vec![0; bytes.len() + Self::ALIGN];
        // The start whose address is congruent to the buffer's offset.
        let want = offset.to_le_bytes()[0] as usize % Self::ALIGN;
        let start = (want + Self::ALIGN - buf.as_ptr() as usize % Self::ALIGN) % Self::ALIGN;
        buf[start..start + bytes.len()].copy_from_slice(bytes);
        AlignedArg {
            buf,
            start,
            len: bytes.len(),
        }
    }

    fn bytes(&self) -> &[u8] {
        &self.buf[self.start..self.start + self.len]
    }
}

#[cfg(test)]
mod tests {
    use super::AlignedArg;

    #[test]
    fn a_query_argument_is_aligned_as_the_argument_buffer_is() {
        for offset in [0u64, 1, 7, 8, 15, 16, 17, 65_536 + 3, u64::from(u32::MAX)] {
            let arg = AlignedArg::new(offset, b"abc");
            assert_eq!(arg.bytes(), b"abc");
            let expected = usize::try_from(offset % 16).unwrap_or(usize::MAX);
            assert_eq!(
                arg.bytes().as_ptr() as usize % 16,
                expected,
                "offset {offset}"
            );
        }
        assert_eq!(AlignedArg::new(3, &[]).bytes(), b"");
    }
}
