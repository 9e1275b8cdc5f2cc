//! mimic's runtime: the execution engine that joins frontends, the IR and the
//! backends, plus guest memory and (later) Linux user mode and machines.

pub mod bench;
pub mod engine;
pub mod irprog;
pub mod linux;
pub mod machines;
pub mod memory;
pub mod stats;
pub mod usermem;

pub use engine::{CodeCache, Engine, EngineConfig, EngineError, ExitHandle, Stop, Tier, Trace};
pub use memory::{FlatGuestMem, GuestMemory};
pub use stats::Stats;
