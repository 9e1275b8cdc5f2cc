//! mimic's code generators. `cranelift` turns IR regions into host code installed in
//! [`codemem::CodeMemory`]; `kvm` (x86-64 Linux hosts only) runs same-architecture
//! guests on KVM vCPUs instead.

pub mod codemem;
pub mod cranelift;
#[cfg(all(target_arch = "x86_64", target_os = "linux"))]
pub mod kvm;

pub use codemem::CodeMemory;
pub use cranelift::{ChainSlotRef, CompileError, CompiledRegion, Compiler, JitCtx, JitExit, LookupEntry, OptLevel};
