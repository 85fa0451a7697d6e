//! Our two engines and the native-fuel oracle, as the fuzz oracles run
//! them: one set per job, shared by its inputs.

use vm::oracle::NativeFuelOracle;
use vm::{Vm, VmConfig, WasmiEngine, WasmtimeEngine};

/// The engines and the native-fuel oracle, shared by a job's inputs.
pub struct OurEngines {
    pub config: VmConfig,
    pub wasmtime: Vm<WasmtimeEngine>,
    pub wasmi: Vm<WasmiEngine>,
    pub native: NativeFuelOracle,
}

/// Instances the fuzz engines' wasmtime pool holds. A generated case
/// deploys at most three contracts, and a failed frame that grew a memory
/// replaces that contract's instance (the old one stays until the session
/// ends); 256 is far above what cases use. Each slot reserves address
/// space for two memories of wasmtime's 4 GiB reservation: about 2 TiB of
/// address space per engine, of which only touched pages cost memory.
pub const INSTANCE_POOL: u32 = 256;

impl OurEngines {
    /// Both engines and the native-fuel oracle with the default VM
    /// configuration, wasmtime with an instance pool of [`INSTANCE_POOL`]
    /// (campaigns deploy thousands of contracts a second).
    pub fn new() -> Result<Self, String> {
        Self::with_module_cache(VmConfig::default().module_cache_capacity)
    }

    /// [`OurEngines::new`] keeping up to `capacity` prepared modules per engine.
    pub fn with_module_cache(capacity: usize) -> Result<Self, String> {
        let mut config = VmConfig::default();
        config.engine.instance_pool = Some(INSTANCE_POOL);
        config.module_cache_capacity = capacity;
        Ok(OurEngines {
            wasmtime: Vm::new(config.clone()).map_err(|e| e.to_string())?,
            wasmi: Vm::new(config.clone()).map_err(|e| e.to_string())?,
            native: NativeFuelOracle::new(config.clone()).map_err(|e| e.to_string())?,
            config,
        })
    }
}
