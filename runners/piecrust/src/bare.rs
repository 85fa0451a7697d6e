//! The piecrust runners' VM: a bare piecrust VM offering the built-in
//! host queries every engine defines alike (`runner_protocol::queries`).

use std::any::Any;

use piecrust::{Error, HostQuery, Session, SessionData, VM};
use runner_protocol::queries::BuiltinQuery;
use runner_protocol::wire::SessionRequest;

use crate::runner::{Production, RawBytes};

/// A built-in host query as piecrust's `HostQuery`: priced and run by the
/// definitions every engine shares.
struct Builtin(BuiltinQuery);

impl HostQuery for Builtin {
    fn deserialize_and_price(&self, arg_buf: &[u8], arg: &mut Box<dyn Any>) -> u64 {
        *arg = Box::new(arg_buf.to_vec());
        self.0.price(arg_buf)
    }

    #[allow(clippy::borrowed_box)] // piecrust's signature
    fn execute(&self, arg: &Box<dyn Any>, arg_buf: &mut [u8]) -> u32 {
        let input = arg.downcast_ref::<Vec<u8>>().cloned().unwrap_or_default();
        let output = self.0.run(&input);
        // A query writes its output to the argument buffer, as production's
        // own queries do; the built-ins never write more than it holds.
        arg_buf[..output.len()].copy_from_slice(&output);
        output.len() as u32
    }
}

/// A bare piecrust VM offering the built-in host queries.
pub struct Piecrust {
    vm: VM,
}

impl Production for Piecrust {
    const ENGINE: &'static str = "piecrust";

    fn new() -> Result<Self, Error> {
        let mut vm = VM::ephemeral()?;
        for query in BuiltinQuery::ALL {
            vm.register_host_query(query.name(), Builtin(query));
        }
        Ok(Piecrust { vm })
    }

    fn session(&mut self, request: &SessionRequest) -> Result<Session, String> {
        if request.node_queries {
            return Err(
                "bare piecrust has none of the node's host queries (dusk-vm adds them)".into(),
            );
        }
        let mut data = SessionData::builder();
        let chain = request.chain.iter().flat_map(|chain| chain.metadata());
        let entries = request
            .host_data
            .iter()
            .map(|(name, bytes)| (name.clone(), bytes.0.clone()))
            .chain(chain.map(|(name, bytes)| (name.to_string(), bytes)));
        for (name, bytes) in entries {
            let len = bytes.len();
            data = data.insert(name.clone(), RawBytes(bytes)).map_err(|e| {
                format!("piecrust cannot hold host data `{name}` of {len} bytes: {e}")
            })?;
        }
        for query in BuiltinQuery::ALL {
            if !request.queries.iter().any(|name| name == query.name()) {
                data = data.exclude_hq(query.name().to_string());
            }
        }
        for name in &request.queries {
            if BuiltinQuery::from_name(name).is_none() {
                return Err(format!("no built-in host query named `{name}`"));
            }
        }
        self.vm
            .session(data)
            .map_err(|e| format!("cannot open a session: {e}"))
    }
}
