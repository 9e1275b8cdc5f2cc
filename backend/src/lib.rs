//! mimic's code generators. `cranelift` turns IR regions into host code installed in
//! [`codemem::CodeMemory`]; a KVM vCPU backend joins it for same-architecture guests.

pub mod codemem;
pub mod cranelift;

pub use codemem::CodeMemory;
pub use cranelift::{ChainSlotRef, CompileError, CompiledRegion, Compiler, JitCtx, JitExit, LookupEntry, OptLevel};
