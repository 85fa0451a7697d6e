//! The conformance suite: contracts run on the wasmtime reference VM and the
//! wasmi shadow interpreter, compared call by call.

pub mod contract_file;
