//! IR regions to host code with Cranelift.
//!
//! A region becomes one host function of Cranelift's `tail` calling convention:
//! `fn(state, mem_base, ctx) -> exit code`. Guest state slots are loads and stores at
//! fixed offsets of `state` (the IR passes already forward and eliminate them within
//! blocks); guest memory is `mem_base + address`, one add and one host access.
//!
//! Exits: a direct exit loads its chain slot (an address fixed at compile time) and, if
//! the engine has filled it with a translated region's code, tail-calls it, so chained
//! regions run without returning to the dispatcher; otherwise it stores the guest pc
//! and returns. An indirect exit probes the per-thread lookup table in `ctx` and
//! tail-calls on a hit. Loop back edges and chained exits check `ctx.exit_request`.
//!
//! Each guest instruction's code is tagged with a source location, so a host fault
//! inside generated code maps back to the exact guest pc ([`CompiledRegion::guest_pc_at`]).

pub mod entry;

use crate::codemem::{CodeMemError, CodeMemory};
use cranelift_codegen::control::ControlPlane;
use cranelift_codegen::ir::condcodes::{FloatCC as CFloatCC, IntCC as CIntCC};
use cranelift_codegen::ir::immediates::{Ieee32, Ieee64};
use cranelift_codegen::ir::{
    self, types as ct, AbiParam, AtomicRmwOp, Block as CBlock, ConstantData, Endianness, ExternalName, InstBuilder,
    LibCall, MemFlagsData, Signature, SourceLoc, UserFuncName,
};
use cranelift_codegen::isa::{CallConv, OwnedTargetIsa};
use cranelift_codegen::settings::{self, Configurable};
use cranelift_codegen::{binemit::Reloc, Context, FinalizedRelocTarget};
use cranelift_frontend::{FunctionBuilder, FunctionBuilderContext, Variable};
use mimic_ir::interp::{block_entry_pcs, direct_exit_indices, first_insn_pc};
use mimic_ir::*;
use std::fmt;
use std::sync::atomic::AtomicU32;
use std::sync::Arc;
use std::time::Instant;

/// Per-thread context handed to compiled code. Layout is part of the ABI.
#[repr(C)]
#[derive(Debug)]
pub struct JitCtx {
    /// Non-zero asks compiled code to return to the dispatcher at the next chained
    /// exit or loop back edge.
    pub exit_request: AtomicU32,
    _pad: u32,
    /// Indirect-exit lookup table: entry [`lookup_index`] of a guest pc, at byte offset
    /// `(pc << 2) & lookup_offset_mask` (the table has a power-of-two length).
    pub lookup: *const LookupEntry,
    pub lookup_offset_mask: u64,
    /// Direct exits taken through a filled chain slot (counted by compiled code).
    pub chain_hits: u64,
    /// Indirect exits that hit the lookup table (counted by compiled code).
    pub lookup_hits: u64,
    /// Stack pointer of the entry trampoline (offset 40; written by it).
    pub saved_rsp: u64,
    /// Set by the fault handler on [`JitExit::Fault`]: faulting host address,
    /// host pc, and flags (bit 0 write access, bit 1 protection violation, bit 2
    /// address outside the host address space and not reported).
    pub fault_addr: u64,
    pub fault_host_pc: u64,
    pub fault_flags: u64,
}

impl JitCtx {
    pub fn new(lookup: &[LookupEntry]) -> JitCtx {
        assert!(lookup.len().is_power_of_two(), "lookup table size must be a power of two");
        JitCtx {
            exit_request: AtomicU32::new(0),
            _pad: 0,
            lookup: lookup.as_ptr(),
            lookup_offset_mask: (lookup.len() as u64 - 1) * std::mem::size_of::<LookupEntry>() as u64,
            chain_hits: 0,
            lookup_hits: 0,
            saved_rsp: 0,
            fault_addr: 0,
            fault_host_pc: 0,
            fault_flags: 0,
        }
    }
}

/// One entry of the indirect-exit lookup table: guest pc and host code (0 if empty).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LookupEntry {
    pub pc: u64,
    pub code: u64,
}

/// Index of `pc` in a lookup table with `mask`.
pub fn lookup_index(pc: u64, mask: u64) -> usize {
    (((pc ^ (pc >> 12)) >> 2) & mask) as usize
}

/// Source-location bit marking host code of an atomic read-modify-write.
const ATOMIC_LOC: u32 = 1 << 31;
/// Marks source locations of a speculative loop's code.
const SPEC_LOC: u32 = 1 << 30;

/// Inaccessible bytes a guest memory with an address-space bound keeps on each side of
/// its space (see `GuestMemory::addr_bits`). Compiled code checks the base of an
/// access `base + k` (`|k| <= OFFSET_SLACK`) rather than its address, once per block:
/// a base that passed (in bounds, or within the slack of them when the exact address
/// was in bounds) puts every `base + k` of the block, 16 bytes wide, in the space or a
/// guard, where the host faults precisely.
pub const ADDR_GUARD: u64 = 1 << 17;
const OFFSET_SLACK: u64 = 1 << 15;
const _: () = assert!(2 * OFFSET_SLACK + 16 <= ADDR_GUARD);

const CTX_EXIT_REQUEST: i32 = 0;
const CTX_LOOKUP: i32 = 8;
const CTX_LOOKUP_OFFSET_MASK: i32 = 16;
const CTX_CHAIN_HITS: i32 = 24;
const CTX_LOOKUP_HITS: i32 = 32;
const CTX_FAULT_ADDR: i32 = 48;
const CTX_FAULT_HOST_PC: i32 = 56;
const CTX_FAULT_FLAGS: i32 = 64;

/// Exit codes returned by compiled code: `kind << 32 | payload`.
pub mod exit_code {
    pub const JUMP: u64 = 1;
    pub const INDIRECT: u64 = 2;
    pub const SYSCALL: u64 = 3;
    pub const TRAP: u64 = 4;
    pub const INTERRUPTED: u64 = 5;
    /// Produced by the fault handler, not by generated code.
    pub const FAULT: u64 = 6;
}

/// A decoded exit of compiled code. The guest pc is in the state's pc slot.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum JitExit {
    /// A direct exit whose chain slot is empty; `slot` is its chain slot id.
    Jump {
        slot: u32,
    },
    Indirect {
        hint: ExitHint,
    },
    Syscall,
    Trap {
        kind: TrapKind,
    },
    Interrupted,
    /// A guest memory access faulted; details are in the [`JitCtx`] fault fields and
    /// the guest pc follows from the host pc ([`CompiledRegion::guest_pc_at`]).
    Fault,
}

impl JitExit {
    pub fn decode(code: u64) -> Option<JitExit> {
        let payload = code as u32;
        Some(match code >> 32 {
            exit_code::JUMP => JitExit::Jump { slot: payload },
            exit_code::INDIRECT => JitExit::Indirect { hint: *ExitHint::ALL.get(payload as usize)? },
            exit_code::SYSCALL => JitExit::Syscall,
            exit_code::TRAP => JitExit::Trap { kind: *TrapKind::ALL.get(payload as usize)? },
            exit_code::INTERRUPTED => JitExit::Interrupted,
            exit_code::FAULT => JitExit::Fault,
            _ => return None,
        })
    }
}

/// Where a direct exit's chain slot lives: its id (reported on exit) and address.
#[derive(Clone, Copy, Debug)]
pub struct ChainSlotRef {
    pub id: u32,
    pub addr: *const u64,
}

/// Cranelift optimisation level.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OptLevel {
    None,
    Speed,
}

/// Errors compiling a region.
#[derive(Debug)]
pub enum CompileError {
    Setup(String),
    Codegen(String),
    Unsupported(String),
    CodeMemory(CodeMemError),
}

impl fmt::Display for CompileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CompileError::Setup(m) => write!(f, "cannot set up Cranelift for this host: {m}"),
            CompileError::Codegen(m) => write!(f, "Cranelift failed to compile a region: {m}"),
            CompileError::Unsupported(m) => write!(f, "region uses something the JIT cannot compile: {m}"),
            CompileError::CodeMemory(e) => write!(f, "{e}"),
        }
    }
}
impl std::error::Error for CompileError {}

/// A compiled region.
#[derive(Clone, Debug)]
pub struct CompiledRegion {
    pub entry: *const u8,
    pub code_size: usize,
    /// (start offset, end offset, guest pc) of each guest instruction's host code.
    pub srclocs: Vec<(u32, u32, u64)>,
    /// (start offset, end offset) of host code of atomic read-modify-writes, whose
    /// faults are writes even when the host instruction that faulted was a load.
    pub atomic_ranges: Vec<(u32, u32)>,
    /// (start offset, end offset) of the host code of the region's speculative loop
    /// (see [`speculative`]). Its guest registers reach the state buffer only when it
    /// is left, so after a host fault in it the buffer still holds the state at the
    /// region's entry, `replay_pc`, and the caller must re-run the region from there
    /// in the interpreter to fault precisely.
    pub spec_ranges: Vec<(u32, u32)>,
    pub replay_pc: u64,
    /// Where the compile time went.
    pub times: CompileTimes,
}

/// Time spent in each stage of compiling one region.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CompileTimes {
    /// Translating the IR into a Cranelift function (CLIF).
    pub build: std::time::Duration,
    /// Cranelift's compilation: legalisation, optimisation, register allocation and
    /// machine-code generation into a buffer.
    pub codegen: std::time::Duration,
    /// Code emission: copying into code memory, applying relocations, making it
    /// executable.
    pub emit: std::time::Duration,
}

// SAFETY: `entry` points into immutable, executable code memory that outlives every
// CompiledRegion (code memory is never unmapped while a Compiler exists).
unsafe impl Send for CompiledRegion {}
// SAFETY: as above; the pointer is only read.
unsafe impl Sync for CompiledRegion {}

impl CompiledRegion {
    /// Whether host address `host_pc` is inside an atomic read-modify-write.
    pub fn is_atomic_at(&self, host_pc: usize) -> bool {
        let Some(off) = host_pc.checked_sub(self.entry as usize) else { return false };
        let off = off as u32;
        self.atomic_ranges.iter().any(|&(s, e)| off >= s && off < e)
    }

    /// The pc to re-run from after a host fault at `host_pc`, if that is in the
    /// region's speculative loop.
    pub fn replay_at(&self, host_pc: usize) -> Option<u64> {
        let off = host_pc.checked_sub(self.entry as usize)? as u32;
        self.spec_ranges.iter().any(|&(s, e)| off >= s && off < e).then_some(self.replay_pc)
    }

    /// The guest pc whose code contains host address `host_pc`, if it is in this region.
    pub fn guest_pc_at(&self, host_pc: usize) -> Option<u64> {
        let off = host_pc.checked_sub(self.entry as usize)?;
        if off >= self.code_size {
            return None;
        }
        let off = off as u32;
        self.srclocs.iter().find(|(s, e, _)| off >= *s && off < *e).map(|&(_, _, pc)| pc)
    }
}

/// Compiles regions into host code. Reuses Cranelift's contexts across regions.
pub struct Compiler {
    isa: OwnedTargetIsa,
    ctx: Context,
    fctx: FunctionBuilderContext,
    code: Arc<CodeMemory>,
    addr_bits: Option<u8>,
    trace_asm: bool,
    count_exits: bool,
}

fn region_sig(cc: CallConv) -> Signature {
    let mut sig = Signature::new(cc);
    for _ in 0..3 {
        sig.params.push(AbiParam::new(ct::I64));
    }
    sig.returns.push(AbiParam::new(ct::I64));
    sig
}

fn helper_sig() -> Signature {
    let mut sig = Signature::new(CallConv::SystemV);
    for _ in 0..5 {
        sig.params.push(AbiParam::new(ct::I64));
    }
    sig.returns.push(AbiParam::new(ct::I64));
    sig
}

fn cl_ty(t: Type) -> ir::Type {
    match t {
        Type::I1 | Type::I8 => ct::I8,
        Type::I16 => ct::I16,
        Type::I32 => ct::I32,
        Type::I64 => ct::I64,
        Type::I128 => ct::I128,
        Type::F32 => ct::F32,
        Type::F64 => ct::F64,
        Type::V128 => ct::I8X16,
    }
}

fn vec_ty(s: VecShape) -> ir::Type {
    match s {
        VecShape::I8x16 => ct::I8X16,
        VecShape::I16x8 => ct::I16X8,
        VecShape::I32x4 => ct::I32X4,
        VecShape::I64x2 => ct::I64X2,
    }
}

fn int_cc(cc: IntCC) -> CIntCC {
    match cc {
        IntCC::Eq => CIntCC::Equal,
        IntCC::Ne => CIntCC::NotEqual,
        IntCC::Ult => CIntCC::UnsignedLessThan,
        IntCC::Ule => CIntCC::UnsignedLessThanOrEqual,
        IntCC::Ugt => CIntCC::UnsignedGreaterThan,
        IntCC::Uge => CIntCC::UnsignedGreaterThanOrEqual,
        IntCC::Slt => CIntCC::SignedLessThan,
        IntCC::Sle => CIntCC::SignedLessThanOrEqual,
        IntCC::Sgt => CIntCC::SignedGreaterThan,
        IntCC::Sge => CIntCC::SignedGreaterThanOrEqual,
    }
}

fn float_cc(cc: FloatCC) -> CFloatCC {
    match cc {
        FloatCC::Eq => CFloatCC::Equal,
        FloatCC::Ne => CFloatCC::NotEqual,
        FloatCC::Lt => CFloatCC::LessThan,
        FloatCC::Le => CFloatCC::LessThanOrEqual,
        FloatCC::Gt => CFloatCC::GreaterThan,
        FloatCC::Ge => CFloatCC::GreaterThanOrEqual,
        FloatCC::Ord => CFloatCC::Ordered,
        FloatCC::Uno => CFloatCC::Unordered,
    }
}

extern "C" fn lib_floorf(x: f32) -> f32 {
    x.floor()
}
extern "C" fn lib_floor(x: f64) -> f64 {
    x.floor()
}
extern "C" fn lib_ceilf(x: f32) -> f32 {
    x.ceil()
}
extern "C" fn lib_ceil(x: f64) -> f64 {
    x.ceil()
}
extern "C" fn lib_truncf(x: f32) -> f32 {
    x.trunc()
}
extern "C" fn lib_trunc(x: f64) -> f64 {
    x.trunc()
}
extern "C" fn lib_nearestf(x: f32) -> f32 {
    x.round_ties_even()
}
extern "C" fn lib_nearest(x: f64) -> f64 {
    x.round_ties_even()
}
extern "C" fn lib_fmaf(x: f32, y: f32, z: f32) -> f32 {
    x.mul_add(y, z)
}
extern "C" fn lib_fma(x: f64, y: f64, z: f64) -> f64 {
    x.mul_add(y, z)
}

fn libcall_addr(lc: LibCall) -> Option<usize> {
    Some(match lc {
        LibCall::FloorF32 => lib_floorf as *const () as usize,
        LibCall::FloorF64 => lib_floor as *const () as usize,
        LibCall::CeilF32 => lib_ceilf as *const () as usize,
        LibCall::CeilF64 => lib_ceil as *const () as usize,
        LibCall::TruncF32 => lib_truncf as *const () as usize,
        LibCall::TruncF64 => lib_trunc as *const () as usize,
        LibCall::NearestF32 => lib_nearestf as *const () as usize,
        LibCall::NearestF64 => lib_nearest as *const () as usize,
        LibCall::FmaF32 => lib_fmaf as *const () as usize,
        LibCall::FmaF64 => lib_fma as *const () as usize,
        _ => return None,
    })
}

impl Compiler {
    /// A compiler for the host, installing code into `code`.
    pub fn new(code: Arc<CodeMemory>, opt: OptLevel) -> Result<Compiler, CompileError> {
        let mut fb = settings::builder();
        let set = |fb: &mut settings::Builder, k: &str, v: &str| {
            fb.set(k, v).map_err(|e| CompileError::Setup(format!("{k}={v}: {e}")))
        };
        set(&mut fb, "opt_level", if opt == OptLevel::Speed { "speed" } else { "none" })?;
        set(&mut fb, "enable_verifier", if cfg!(debug_assertions) { "true" } else { "false" })?;
        set(&mut fb, "enable_nan_canonicalization", "true")?;
        set(&mut fb, "is_pic", "false")?;
        set(&mut fb, "use_colocated_libcalls", "false")?;
        set(&mut fb, "unwind_info", "false")?;
        set(&mut fb, "preserve_frame_pointers", "true")?;
        if let Ok(alg) = std::env::var("MIMIC_REGALLOC") {
            set(&mut fb, "regalloc_algorithm", &alg)?;
        }
        let isa = cranelift_native::builder()
            .map_err(|e| CompileError::Setup(e.to_string()))?
            .finish(settings::Flags::new(fb))
            .map_err(|e| CompileError::Setup(e.to_string()))?;
        Ok(Compiler {
            ctx: Context::new(),
            fctx: FunctionBuilderContext::new(),
            isa,
            code,
            addr_bits: None,
            trace_asm: false,
            count_exits: true,
        })
    }

    /// Print each compiled function's host code (Cranelift's VCode listing) to stderr.
    pub fn set_trace_asm(&mut self, on: bool) {
        self.trace_asm = on;
    }

    /// Count chained exits and lookup hits in the context (for statistics); off, the
    /// hot exit paths carry no counter update.
    pub fn set_count_exits(&mut self, on: bool) {
        self.count_exits = on;
    }

    /// Guest addresses at or above `1 << bits` fault without touching host memory
    /// (a guest address space smaller than 64 bits: one shift and a branch per access).
    /// `None` trusts every address to land in memory that faults at the host.
    pub fn set_addr_bits(&mut self, bits: Option<u8>) {
        self.addr_bits = bits;
    }

    pub fn code_memory(&self) -> &Arc<CodeMemory> {
        &self.code
    }

    /// Compile the function in `self.ctx` and install it.
    fn finish(&mut self) -> Result<CompiledRegion, CompileError> {
        self.ctx.set_disasm(self.trace_asm);
        let t0 = Instant::now();
        let compiled = self
            .ctx
            .compile(&*self.isa, &mut ControlPlane::default())
            .map_err(|e| CompileError::Codegen(format!("{:?}", e.inner)))?;
        let codegen = t0.elapsed();
        let t1 = Instant::now();
        if let Some(text) = compiled.vcode.as_ref().filter(|_| self.trace_asm) {
            eprintln!("OUT: [size={}]\n{text}", compiled.code_buffer().len());
        }
        let code = compiled.code_buffer().to_vec();
        let relocs: Vec<_> = compiled.buffer.relocs().to_vec();
        let srclocs: Vec<(u32, u32, u64)> = compiled
            .buffer
            .get_srclocs_sorted()
            .iter()
            .filter(|s| !s.loc.is_default())
            .map(|s| (s.start, s.end, s.loc.bits() as u64))
            .collect();
        let mut err = None;
        let entry = self
            .code
            .install(&code, |buf, _exec| {
                for r in &relocs {
                    let target = match &r.target {
                        FinalizedRelocTarget::ExternalName(ExternalName::LibCall(lc)) => libcall_addr(*lc),
                        _ => None,
                    };
                    match (target, r.kind) {
                        (Some(addr), Reloc::Abs8) => {
                            let v = (addr as i64 + r.addend) as u64;
                            let o = r.offset as usize;
                            buf[o..o + 8].copy_from_slice(&v.to_le_bytes());
                        }
                        _ => err = Some(format!("relocation {:?} to {:?}", r.kind, r.target)),
                    }
                }
            })
            .map_err(CompileError::CodeMemory)?;
        if let Some(e) = err {
            return Err(CompileError::Unsupported(e));
        }
        let times = CompileTimes { build: Default::default(), codegen, emit: t1.elapsed() };
        Ok(CompiledRegion {
            entry,
            code_size: code.len(),
            srclocs,
            atomic_ranges: Vec::new(),
            spec_ranges: Vec::new(),
            replay_pc: 0,
            times,
        })
    }

    /// Compile a verified region. `slots[i]` is the chain slot of the region's i-th
    /// direct exit (in block order). Source locations are indices into the region's
    /// guest instructions; they are translated to guest pcs in the result.
    pub fn compile(&mut self, region: &Region, slots: &[ChainSlotRef]) -> Result<CompiledRegion, CompileError> {
        // The guest's FP environment lives in this thread's MXCSR (sticky flags and
        // rounding mode); the compiler's own float arithmetic must not leave flags.
        let saved = mimic_ir::hostfp::mxcsr();
        let r = self.compile_inner(region, slots);
        mimic_ir::hostfp::set_mxcsr(saved);
        r
    }

    fn compile_inner(&mut self, region: &Region, slots: &[ChainSlotRef]) -> Result<CompiledRegion, CompileError> {
        self.ctx.clear();
        self.ctx.func.signature = region_sig(CallConv::Tail);
        self.ctx.func.name = UserFuncName::user(0, 1);
        let mut pcs: Vec<u64> = Vec::new();
        let t0 = Instant::now();
        {
            let b = FunctionBuilder::new(&mut self.ctx.func, &mut self.fctx);
            let mut t = Translator::new(b, region, slots, &mut pcs);
            t.addr_bits = self.addr_bits;
            t.count_exits = self.count_exits;
            t.translate()?;
            t.b.seal_all_blocks();
            t.b.finalize(self.isa.frontend_config());
        }
        let build = t0.elapsed();
        let mut c = self.finish()?;
        c.times.build = build;
        c.replay_pc = region.entry_pc;
        for s in c.srclocs.iter_mut() {
            let loc = s.2 as u32;
            if loc & ATOMIC_LOC != 0 {
                c.atomic_ranges.push((s.0, s.1));
            }
            if loc & SPEC_LOC != 0 {
                c.spec_ranges.push((s.0, s.1));
            }
            let idx = (loc & !(ATOMIC_LOC | SPEC_LOC)) as usize;
            s.2 = pcs.get(idx.wrapping_sub(1)).copied().unwrap_or(region.entry_pc);
        }
        Ok(c)
    }

    /// Run compiled code.
    ///
    /// # Safety
    /// `entry` must come from this compiler's `compile`; `state` must be a state
    /// buffer of the region's layout; every guest address the code may touch must be
    /// mapped at `mem_base + address`, or fault at the host with the fault handler
    /// installed ([`entry::install_fault_handler`]), which turns the fault into
    /// [`JitExit::Fault`];
    /// `ctx`'s lookup table must hold only entries produced by this compiler, and all
    /// chain slots reachable from the code must be empty or hold such entries.
    pub unsafe fn enter(&self, entry: *const u8, state: *mut u8, mem_base: *mut u8, ctx: *mut JitCtx) -> u64 {
        // SAFETY: forwarded to the caller's contract above.
        unsafe { entry::enter(entry, state, mem_base, ctx) }
    }
}

/// Run compiled code without holding its [`Compiler`] (for engines that share one
/// compiler behind a lock).
///
/// # Safety
/// As [`Compiler::enter`]; additionally the code memory `entry` lives in must outlive
/// the call.
pub unsafe fn enter_code(entry: *const u8, state: *mut u8, mem_base: *mut u8, ctx: *mut JitCtx) -> u64 {
    // SAFETY: forwarded to the caller's contract.
    unsafe { entry::enter(entry, state, mem_base, ctx) }
}

struct Translator<'a, 'b> {
    b: FunctionBuilder<'b>,
    r: &'a Region,
    slots: &'a [ChainSlotRef],
    pcs: &'a mut Vec<u64>,
    vals: Vec<Option<ir::Value>>,
    blocks: Vec<CBlock>,
    state: ir::Value,
    mem: ir::Value,
    ctx: ir::Value,
    tail_sig: ir::SigRef,
    helper_sig: ir::SigRef,
    exit_index: Vec<u32>,
    guest_pc: u64,
    addr_bits: Option<u8>,
    count_exits: bool,
    /// Whether the memory op being translated writes (for bound-check faults).
    access_is_write: bool,
    /// Variable, state offset and type of each scalar slot the region accesses.
    slot_vars: Vec<Option<(Variable, i32, Type)>>,
    /// Address bases checked against the address-space bound in this IR block.
    checked_bases: Vec<Value>,
    /// Slots whose variable holds the slot's value in the block being translated
    /// (loaded or set there since its start; see `new`).
    fresh: Vec<bool>,
    cur_loc: u32,
    insn_may_fault: bool,
    pending_back_edges: Vec<(CBlock, BlockId, usize)>,
    /// The speculative loop's blocks ([`speculative`]; empty if none): there slot
    /// variables live across blocks, and the `spec_written` slots are stored only on
    /// the way out of the loop. `in_spec`: the block being translated is one of them.
    spec_blocks: Vec<bool>,
    spec_written: Vec<usize>,
    in_spec: bool,
}

/// The blocks of `r` compiled speculatively, if any: the loop through the region's
/// entry (the blocks on a cycle through block0), when its only effects are guest loads
/// (no stores, atomics, helper calls or state elements). Its guest registers stay in
/// host registers across iterations and reach the state buffer when the loop is left.
/// A host fault inside it (a load from an unmapped page) leaves the buffer as it was
/// at the region's entry, with nothing else changed that anyone could observe: the
/// caller re-runs the region from its entry in the interpreter, which faults
/// precisely, as if this thread had been descheduled at the entry.
pub fn speculative(r: &Region) -> Option<Vec<bool>> {
    let n = r.blocks.len();
    let succs: Vec<Vec<usize>> = r
        .blocks
        .iter()
        .map(|b| {
            b.insts
                .last()
                .map(|&l| r.successors(r.inst(l)).iter().map(|(t, _)| t.0 as usize).collect())
                .unwrap_or_default()
        })
        .collect();
    // Blocks that reach block0 (every block is reachable from it).
    let mut reaches = vec![false; n];
    let mut changed = true;
    while changed {
        changed = false;
        for b in 0..n {
            if !reaches[b] && succs[b].iter().any(|&t| t == 0 || reaches[t]) {
                reaches[b] = true;
                changed = true;
            }
        }
    }
    if !reaches[0] {
        return None;
    }
    for (blk, _) in r.blocks.iter().zip(&reaches).filter(|&(_, &s)| s) {
        for &i in &blk.insts {
            let inst = r.inst(i);
            if matches!(
                inst.op,
                Opcode::Store
                    | Opcode::AtomicRmw
                    | Opcode::Cas
                    | Opcode::Call
                    | Opcode::GetElem
                    | Opcode::SetElem
                    | Opcode::Fence
            ) {
                return None;
            }
            // Leaving the loop goes through an edge block that stores the registers;
            // it takes no block arguments.
            if r.successors(inst).iter().any(|(t, args)| !reaches[t.0 as usize] && !args.is_empty()) {
                return None;
            }
        }
    }
    Some(reaches)
}

fn trusted() -> MemFlagsData {
    MemFlagsData::trusted()
}
fn guest_flags() -> MemFlagsData {
    MemFlagsData::new().with_endianness(Endianness::Little)
}
fn le() -> MemFlagsData {
    MemFlagsData::new().with_endianness(Endianness::Little)
}

impl<'a, 'b> Translator<'a, 'b> {
    fn new(mut b: FunctionBuilder<'b>, r: &'a Region, slots: &'a [ChainSlotRef], pcs: &'a mut Vec<u64>) -> Self {
        // Cranelift's entry block cannot be a branch target, but IR block0 can be (a
        // loop back to the region entry), so the function starts in its own block.
        let entry = b.create_block();
        let blocks: Vec<CBlock> = r.blocks.iter().map(|_| b.create_block()).collect();
        b.append_block_params_for_function_params(entry);
        let p = b.block_params(entry).to_vec();
        for (i, blk) in r.blocks.iter().enumerate() {
            for &v in &blk.params {
                b.append_block_param(blocks[i], cl_ty(r.ty(v)));
            }
        }
        b.switch_to_block(entry);
        // Guest registers the region uses are Cranelift variables. Writes go through to
        // the state buffer at once (so exits, faults and helpers see the architectural
        // state), so the buffer always holds every slot's value and a variable can be
        // (re)loaded anywhere. A block loads a slot at its first read there, unless the
        // block set it before; later reads in the block use the variable. Values do not
        // flow in variables between blocks: every variable is defined in the block that
        // uses it, so no block parameters (and no loads on paths that never read the
        // slot, such as a loop's exit path read in every iteration before the branch).
        // A loop back to block0 reloads there, as the store-forwarded buffer is cheaper
        // than the spills of values kept live around the loop.
        let mut slot_vars: Vec<Option<(Variable, i32, Type)>> = vec![None; r.layout.slots.len()];
        for blk in &r.blocks {
            for &i in &blk.insts {
                if let (Opcode::GetSlot | Opcode::SetSlot, Imm::Slot(sl)) = (r.inst(i).op, r.inst(i).imm) {
                    let info = r.layout.slot(sl);
                    if slot_vars[sl.0 as usize].is_none() {
                        let var = b.declare_var(cl_ty(info.ty));
                        slot_vars[sl.0 as usize] = Some((var, info.offset as i32, info.ty));
                    }
                }
            }
        }
        let fresh = vec![false; slot_vars.len()];
        let spec_blocks = speculative(r).unwrap_or_default();
        // The speculative loop's slots: used (read or set) there, and set there.
        let mut used = vec![false; slot_vars.len()];
        let mut written = vec![false; slot_vars.len()];
        for (blk, _) in r.blocks.iter().zip(&spec_blocks).filter(|&(_, &s)| s) {
            for &i in &blk.insts {
                match (r.inst(i).op, r.inst(i).imm) {
                    (Opcode::GetSlot, Imm::Slot(sl)) => used[sl.0 as usize] = true,
                    (Opcode::SetSlot, Imm::Slot(sl)) => {
                        used[sl.0 as usize] = true;
                        written[sl.0 as usize] = true;
                    }
                    _ => {}
                }
            }
        }
        // An exit stores the pc itself.
        written[r.layout.pc.0 as usize] = false;
        let spec_written = (0..written.len()).filter(|&s| written[s]).collect();
        let tail_sig = b.import_signature(region_sig(CallConv::Tail));
        let helper_sig = b.import_signature(helper_sig());
        let mut t = Translator {
            b,
            r,
            slots,
            pcs,
            vals: vec![None; r.value_types.len()],
            blocks,
            state: p[0],
            mem: p[1],
            ctx: p[2],
            tail_sig,
            helper_sig,
            exit_index: direct_exit_indices(r),
            guest_pc: r.entry_pc,
            addr_bits: None,
            count_exits: true,
            access_is_write: false,
            slot_vars,
            fresh,
            checked_bases: Vec::new(),
            cur_loc: 0,
            insn_may_fault: false,
            pending_back_edges: Vec::new(),
            spec_blocks,
            spec_written,
            in_spec: false,
        };
        // The speculative loop's variables are defined at the entry (one load per slot
        // it uses), so values flow between its blocks and around it in registers.
        for s in (0..used.len()).filter(|&s| used[s]) {
            t.load_slot(s);
        }
        let entry_block = t.blocks[0];
        t.b.ins().jump(entry_block, &[]);
        t
    }

    fn v(&self, v: Value) -> ir::Value {
        self.vals[v.0 as usize].expect("IR value used before definition (run the verifier)")
    }

    /// Blocks in reverse postorder from the entry, so every definition is translated
    /// before its uses (the IR only requires dominance, not layout order).
    fn rpo(&self) -> Vec<usize> {
        let n = self.r.blocks.len();
        let mut seen = vec![false; n];
        let mut post = Vec::with_capacity(n);
        let mut stack: Vec<(usize, usize)> = vec![(0, 0)];
        seen[0] = true;
        while let Some(&mut (b, ref mut k)) = stack.last_mut() {
            let succs: Vec<usize> = self.r.blocks[b]
                .insts
                .last()
                .map(|&l| self.r.successors(self.r.inst(l)).iter().map(|(t, _)| t.0 as usize).collect())
                .unwrap_or_default();
            if *k < succs.len() {
                let t = succs[*k];
                *k += 1;
                if !seen[t] {
                    seen[t] = true;
                    stack.push((t, 0));
                }
            } else {
                post.push(b);
                stack.pop();
            }
        }
        post.reverse();
        post
    }

    fn translate(&mut self) -> Result<(), CompileError> {
        let order = self.rpo();
        let (entry_pcs, _) = block_entry_pcs(self.r);
        let mut done = vec![false; self.r.blocks.len()];
        for &bi in &order {
            done[bi] = true;
            let blk = &self.r.blocks[bi];
            let cb = self.blocks[bi];
            self.b.switch_to_block(cb);
            self.in_spec = self.spec_blocks.get(bi).copied().unwrap_or(false);
            // Faults before the block's first `insn` belong to the instruction the block
            // continues (the verifier guarantees it is unique).
            let pc = entry_pcs[bi].unwrap_or(self.r.entry_pc);
            self.set_guest_insn(pc);
            let params = self.b.block_params(cb).to_vec();
            for (k, &v) in blk.params.iter().enumerate() {
                self.vals[v.0 as usize] = Some(params[k]);
            }
            self.fresh.fill(false);
            self.checked_bases.clear();
            for &id in &blk.insts {
                self.inst(bi, self.r.inst(id), id)?;
            }
        }
        // Unreachable blocks: never executed, but Cranelift needs them filled.
        for (bi, d) in done.iter().enumerate() {
            if !d {
                self.b.switch_to_block(self.blocks[bi]);
                self.b.ins().trap(ir::TrapCode::unwrap_user(1));
            }
        }
        Ok(())
    }

    /// Load slot `s` from the state buffer into its variable.
    fn load_slot(&mut self, s: usize) {
        let (var, off, ty) = self.slot_vars[s].expect("slot variable declared");
        let v = self.b.ins().load(cl_ty(ty), trusted(), self.state, off);
        // An i1 slot byte is defined by its low bit (as the interpreter reads it).
        let v = if ty == Type::I1 { self.b.ins().band_imm_u(v, 1) } else { v };
        self.b.def_var(var, v);
        self.fresh[s] = true;
    }

    /// Tag following host code with guest instruction `pc`.
    fn set_guest_insn(&mut self, pc: u64) {
        self.guest_pc = pc;
        self.pcs.push(pc);
        self.cur_loc = self.pcs.len() as u32 | if self.in_spec { SPEC_LOC } else { 0 };
        self.b.set_srcloc(SourceLoc::new(self.cur_loc));
        self.insn_may_fault = false;
    }

    /// Before an exit of a speculative region: store the slots it writes.
    fn flush_spec(&mut self) {
        if !self.in_spec {
            return;
        }
        for k in 0..self.spec_written.len() {
            let (var, off, _) = self.slot_vars[self.spec_written[k]].expect("slot variable declared");
            let v = self.b.use_var(var);
            self.b.ins().store(trusted(), v, self.state, off);
        }
    }

    fn ret(&mut self, kind: u64, payload: u64) {
        self.flush_spec();
        let c = self.b.ins().iconst(ct::I64, ((kind << 32) | payload) as i64);
        self.b.ins().return_(&[c]);
    }

    fn store_pc(&mut self, pc: ir::Value) {
        let off = self.r.layout.slot(self.r.layout.pc).offset as i32;
        self.b.ins().store(trusted(), pc, self.state, off);
    }
    fn store_pc_const(&mut self, pc: u64) {
        let v = self.b.ins().iconst(ct::I64, pc as i64);
        self.store_pc(v);
    }

    fn iconst_ty(&mut self, ty: Type, v: u128) -> ir::Value {
        match ty {
            Type::I128 => {
                let lo = self.b.ins().iconst(ct::I64, v as u64 as i64);
                let hi = self.b.ins().iconst(ct::I64, (v >> 64) as u64 as i64);
                self.b.ins().iconcat(lo, hi)
            }
            _ => self.b.ins().iconst(cl_ty(ty), (v & ty.mask()) as u64 as i64),
        }
    }

    fn i128_to_v128(&mut self, x: ir::Value) -> ir::Value {
        let (lo, hi) = self.b.ins().isplit(x);
        let v = self.b.ins().scalar_to_vector(ct::I64X2, lo);
        let v = self.b.ins().insertlane(v, hi, 1);
        self.b.ins().bitcast(ct::I8X16, le(), v)
    }
    fn v128_to_i128(&mut self, x: ir::Value) -> ir::Value {
        let v = self.b.ins().bitcast(ct::I64X2, le(), x);
        let lo = self.b.ins().extractlane(v, 0);
        let hi = self.b.ins().extractlane(v, 1);
        self.b.ins().iconcat(lo, hi)
    }

    fn bswap(&mut self, ty: ir::Type, x: ir::Value) -> ir::Value {
        if ty == ct::I8 {
            x
        } else {
            self.b.ins().bswap(x)
        }
    }

    /// The Cranelift block to branch to for IR block `to`. A back edge goes through a
    /// check block (filled by [`Self::fill_back_edges`] once the branch is emitted) that
    /// leaves the region if an exit was requested.
    fn branch_target(&mut self, from: usize, to: BlockId) -> CBlock {
        let target = self.blocks[to.0 as usize];
        let leaves_spec = self.in_spec && !self.spec_blocks[to.0 as usize];
        if (to.0 as usize) > from && !leaves_spec {
            return target;
        }
        let edge = self.b.create_block();
        self.pending_back_edges.push((edge, to, from));
        edge
    }

    /// Fill the edge blocks of the branch just translated: a speculative loop's exits
    /// store its registers; back edges check for an exit request.
    fn fill_back_edges(&mut self) {
        for (check, to, from) in std::mem::take(&mut self.pending_back_edges) {
            let target = self.blocks[to.0 as usize];
            self.b.switch_to_block(check);
            if self.in_spec && !self.spec_blocks[to.0 as usize] {
                self.flush_spec();
                if (to.0 as usize) > from {
                    self.b.ins().jump(target, &[]);
                    continue;
                }
            }
            let req = self.b.ins().load(ct::I32, trusted(), self.ctx, CTX_EXIT_REQUEST);
            let leave = self.b.create_block();
            self.b.ins().brif(req, leave, &[], target, &[]);
            self.b.switch_to_block(leave);
            let pc = first_insn_pc(self.r, to).unwrap_or(self.guest_pc);
            self.store_pc_const(pc);
            self.ret(exit_code::INTERRUPTED, 0);
        }
    }

    /// `addr` as `base + k` for a constant `k` within the slack (through chains of
    /// constant adds, as in a post-increment followed by a displacement).
    fn split_offset(&self, addr: Value) -> (Value, i64) {
        let (mut base, mut k) = (addr, 0i64);
        while let ValueDef::Inst(i) = self.r.value_defs[base.0 as usize] {
            let inst = self.r.inst(i);
            if inst.op != Opcode::Add || self.r.ty(base) != Type::I64 {
                break;
            }
            let konst = |v: Value| self.int_const(v).map(|c| c as i64);
            let (x, c) = match (konst(inst.args[0]), konst(inst.args[1])) {
                (_, Some(c)) => (inst.args[0], c),
                (Some(c), _) => (inst.args[1], c),
                _ => break,
            };
            match k.checked_add(c) {
                Some(t) if t.unsigned_abs() <= OFFSET_SLACK => (base, k) = (x, t),
                _ => break,
            }
        }
        (base, k)
    }

    /// The integer constant `v` is defined as, if any (low 64 bits).
    fn int_const(&self, v: Value) -> Option<u64> {
        match self.r.value_defs[v.0 as usize] {
            ValueDef::Inst(j) if self.r.inst(j).op == Opcode::Iconst => match self.r.inst(j).imm {
                Imm::Int(c) => Some(c as u64),
                _ => None,
            },
            _ => None,
        }
    }

    /// Whether `v` is below `1 << bits` by construction: zero-extended from a type no
    /// wider (a 32-bit guest's wrapped address), or masked by a constant below it.
    fn known_below(&self, v: Value, bits: u8) -> bool {
        let ValueDef::Inst(i) = self.r.value_defs[v.0 as usize] else { return false };
        let inst = self.r.inst(i);
        match inst.op {
            Opcode::Zext => self.r.ty(inst.args[0]).bits() <= bits as u32,
            Opcode::And => inst.args.iter().any(|&a| self.int_const(a).is_some_and(|c| bits >= 64 || c >> bits == 0)),
            _ => false,
        }
    }

    /// Host address of a guest access, after the address-space bound check if any:
    /// of the access's base (see [`ADDR_GUARD`]), unless this block checked it already;
    /// a base out of bounds takes the exact check on the address.
    fn host_addr(&mut self, addr: Value) -> ir::Value {
        let a = self.v(addr);
        if let Some(bits) = self.addr_bits.filter(|&b| b < 64 && !self.known_below(addr, b)) {
            let (base, k) = self.split_offset(addr);
            if self.checked_bases.contains(&base) {
                return self.b.ins().iadd(self.mem, a);
            }
            let ok = self.b.create_block();
            let bv = self.v(base);
            let hi = self.b.ins().ushr_imm_u(bv, bits as i64);
            let bad = self.b.create_block();
            if k != 0 {
                let exact = self.b.create_block();
                self.b.ins().brif(hi, exact, &[], ok, &[]);
                self.b.switch_to_block(exact);
                let hi = self.b.ins().ushr_imm_u(a, bits as i64);
                self.b.ins().brif(hi, bad, &[], ok, &[]);
            } else {
                self.b.ins().brif(hi, bad, &[], ok, &[]);
            }
            self.b.switch_to_block(bad);
            // Report it like a host fault on an unmapped page: the engine subtracts
            // mem_base from fault_addr and, with no host pc, takes the pc slot.
            let host = self.b.ins().iadd(self.mem, a);
            self.b.ins().store(trusted(), host, self.ctx, CTX_FAULT_ADDR);
            let zero = self.b.ins().iconst(ct::I64, 0);
            self.b.ins().store(trusted(), zero, self.ctx, CTX_FAULT_HOST_PC);
            let flags = self.b.ins().iconst(ct::I64, self.access_is_write as i64);
            self.b.ins().store(trusted(), flags, self.ctx, CTX_FAULT_FLAGS);
            self.store_pc_const(self.guest_pc);
            self.ret(exit_code::FAULT, 0);
            self.b.switch_to_block(ok);
            // Past the check, `base` is within OFFSET_SLACK of the space (or in it), so
            // the block's other accesses `base + k` fault in a guard if out of bounds.
            self.checked_bases.push(base);
        }
        self.b.ins().iadd(self.mem, a)
    }

    fn check_align(&mut self, addr: Value, m: MemAttr) {
        if !m.aligned || m.size == 1 {
            return;
        }
        let a = self.v(addr);
        let low = self.b.ins().band_imm_u(a, (m.size - 1) as i64);
        let bad = self.b.create_block();
        let ok = self.b.create_block();
        self.b.ins().brif(low, bad, &[], ok, &[]);
        self.b.switch_to_block(bad);
        self.store_pc_const(self.guest_pc);
        self.ret(exit_code::TRAP, TrapKind::Unaligned as u64);
        self.b.switch_to_block(ok);
    }

    fn load(&mut self, ty: Type, m: MemAttr, addr: Value) -> ir::Value {
        self.check_align(addr, m);
        let h = self.host_addr(addr);
        let f = guest_flags();
        let be = m.endian == Endian::Big;
        match ty {
            Type::V128 if !be => self.b.ins().load(ct::I8X16, f, h, 0),
            Type::V128 => {
                let hi = self.b.ins().load(ct::I64, f, h, 0);
                let lo = self.b.ins().load(ct::I64, f, h, 8);
                let hi = self.b.ins().bswap(hi);
                let lo = self.b.ins().bswap(lo);
                let x = self.b.ins().iconcat(lo, hi);
                self.i128_to_v128(x)
            }
            Type::F32 | Type::F64 => {
                let it = if ty == Type::F32 { ct::I32 } else { ct::I64 };
                if be {
                    let x = self.b.ins().load(it, f, h, 0);
                    let x = self.b.ins().bswap(x);
                    self.b.ins().bitcast(cl_ty(ty), MemFlagsData::new(), x)
                } else {
                    self.b.ins().load(cl_ty(ty), f, h, 0)
                }
            }
            _ => {
                let mt = match m.size {
                    1 => ct::I8,
                    2 => ct::I16,
                    4 => ct::I32,
                    8 => ct::I64,
                    _ => ct::I128,
                };
                let rt = cl_ty(ty);
                if rt.bits() > mt.bits() && rt.bits() <= 64 && (!be || m.size == 1) {
                    // A widening load in one host instruction.
                    let ins = self.b.ins();
                    return match (m.size, m.signed) {
                        (1, false) => ins.uload8(rt, f, h, 0),
                        (1, true) => ins.sload8(rt, f, h, 0),
                        (2, false) => ins.uload16(rt, f, h, 0),
                        (2, true) => ins.sload16(rt, f, h, 0),
                        (_, false) => ins.uload32(f, h, 0),
                        (_, true) => ins.sload32(f, h, 0),
                    };
                }
                let x = self.b.ins().load(mt, f, h, 0);
                let x = if be { self.bswap(mt, x) } else { x };
                if rt == mt {
                    x
                } else if m.signed {
                    self.b.ins().sextend(rt, x)
                } else {
                    self.b.ins().uextend(rt, x)
                }
            }
        }
    }

    fn store(&mut self, m: MemAttr, addr: Value, val: Value) {
        self.check_align(addr, m);
        let ty = self.r.ty(val);
        let x = self.v(val);
        let h = self.host_addr(addr);
        let f = guest_flags();
        let be = m.endian == Endian::Big;
        match ty {
            Type::V128 if !be => {
                self.b.ins().store(f, x, h, 0);
            }
            Type::V128 => {
                let i = self.v128_to_i128(x);
                let (lo, hi) = self.b.ins().isplit(i);
                let hi = self.b.ins().bswap(hi);
                let lo = self.b.ins().bswap(lo);
                self.store_halves(h, hi, lo);
            }
            _ if m.size == 16 => {
                // A 16-byte integer store is two host stores.
                let (lo, hi) = self.b.ins().isplit(x);
                if be {
                    let (a, b) = (self.b.ins().bswap(hi), self.b.ins().bswap(lo));
                    self.store_halves(h, a, b);
                } else {
                    self.store_halves(h, lo, hi);
                }
            }
            Type::F32 | Type::F64 if be => {
                let it = if ty == Type::F32 { ct::I32 } else { ct::I64 };
                let i = self.b.ins().bitcast(it, MemFlagsData::new(), x);
                let i = self.b.ins().bswap(i);
                self.b.ins().store(f, i, h, 0);
            }
            Type::F32 | Type::F64 => {
                self.b.ins().store(f, x, h, 0);
            }
            _ => {
                let mt = match m.size {
                    1 => ct::I8,
                    2 => ct::I16,
                    4 => ct::I32,
                    8 => ct::I64,
                    _ => ct::I128,
                };
                let x = if cl_ty(ty) == mt { x } else { self.b.ins().ireduce(mt, x) };
                let x = if be { self.bswap(mt, x) } else { x };
                self.b.ins().store(f, x, h, 0);
            }
        }
    }

    /// Store `first` at `h` and `second` at `h + 8` so that a fault leaves memory
    /// untouched, as the interpreter does: a locked no-op add probes that the first
    /// byte is writable, then the high half is stored before the low half.
    fn store_halves(&mut self, h: ir::Value, first: ir::Value, second: ir::Value) {
        let f = guest_flags();
        let zero = self.b.ins().iconst(ct::I8, 0);
        self.b.ins().atomic_rmw(ct::I8, f, AtomicRmwOp::Add, h, zero);
        self.b.ins().store(f, second, h, 8);
        self.b.ins().store(f, first, h, 0);
    }

    fn rmw_compute(&mut self, op: RmwOp, old: ir::Value, v: ir::Value) -> ir::Value {
        let ins = self.b.ins();
        match op {
            RmwOp::Add => ins.iadd(old, v),
            RmwOp::Sub => ins.isub(old, v),
            RmwOp::And => ins.band(old, v),
            RmwOp::Or => ins.bor(old, v),
            RmwOp::Xor => ins.bxor(old, v),
            RmwOp::Xchg => v,
            RmwOp::Umin => ins.umin(old, v),
            RmwOp::Umax => ins.umax(old, v),
            RmwOp::Smin => ins.smin(old, v),
            RmwOp::Smax => ins.smax(old, v),
        }
    }

    fn atomic(&mut self, inst: &Inst) -> ir::Value {
        let (m, rmw) = match inst.imm {
            Imm::Rmw(op, m) => (m, Some(op)),
            Imm::Mem(m) => (m, None),
            _ => unreachable!(),
        };
        self.check_align(inst.args[0], m);
        let ty = cl_ty(self.r.ty(inst.args[1]));
        let h = self.host_addr(inst.args[0]);
        let f = guest_flags();
        let be = m.endian == Endian::Big;
        match rmw {
            None => {
                let e = self.v(inst.args[1]);
                let n = self.v(inst.args[2]);
                if be {
                    let e = self.bswap(ty, e);
                    let n = self.bswap(ty, n);
                    let old = self.b.ins().atomic_cas(f, h, e, n);
                    self.bswap(ty, old)
                } else {
                    self.b.ins().atomic_cas(f, h, e, n)
                }
            }
            Some(op) if !be => {
                let v = self.v(inst.args[1]);
                let cop = match op {
                    RmwOp::Add => AtomicRmwOp::Add,
                    RmwOp::Sub => AtomicRmwOp::Sub,
                    RmwOp::And => AtomicRmwOp::And,
                    RmwOp::Or => AtomicRmwOp::Or,
                    RmwOp::Xor => AtomicRmwOp::Xor,
                    RmwOp::Xchg => AtomicRmwOp::Xchg,
                    RmwOp::Umin => AtomicRmwOp::Umin,
                    RmwOp::Umax => AtomicRmwOp::Umax,
                    RmwOp::Smin => AtomicRmwOp::Smin,
                    RmwOp::Smax => AtomicRmwOp::Smax,
                };
                self.b.ins().atomic_rmw(ty, f, cop, h, v)
            }
            Some(op) => {
                // Big-endian: a compare-and-swap loop on the byte-swapped image.
                let v = self.v(inst.args[1]);
                let first = self.b.ins().atomic_load(ty, f, h);
                let lp = self.b.create_block();
                let done = self.b.create_block();
                let img = self.b.append_block_param(lp, ty);
                let res = self.b.append_block_param(done, ty);
                self.b.ins().jump(lp, &[first.into()]);
                self.b.switch_to_block(lp);
                let old = self.bswap(ty, img);
                let new = self.rmw_compute(op, old, v);
                let new_img = self.bswap(ty, new);
                let seen = self.b.ins().atomic_cas(f, h, img, new_img);
                let ok = self.b.ins().icmp(CIntCC::Equal, seen, img);
                self.b.ins().brif(ok, done, &[old.into()], lp, &[seen.into()]);
                self.b.switch_to_block(done);
                res
            }
        }
    }

    fn flag(&mut self, op: Opcode, args: &[ir::Value], ty: ir::Type) -> ir::Value {
        let (x, y) = (args[0], args[1]);
        let zero = if ty == ct::I128 {
            let z = self.b.ins().iconst(ct::I64, 0);
            self.b.ins().iconcat(z, z)
        } else {
            self.b.ins().iconst(ty, 0)
        };
        let sign = |s: &mut Self, v: ir::Value| s.b.ins().icmp(CIntCC::SignedLessThan, v, zero);
        match op {
            Opcode::AddCarry => {
                let r = self.b.ins().iadd(x, y);
                self.b.ins().icmp(CIntCC::UnsignedLessThan, r, x)
            }
            Opcode::AddOverflow => {
                let r = self.b.ins().iadd(x, y);
                let a = self.b.ins().bxor(x, r);
                let c = self.b.ins().bxor(y, r);
                let t = self.b.ins().band(a, c);
                sign(self, t)
            }
            Opcode::SubBorrow => self.b.ins().icmp(CIntCC::UnsignedLessThan, x, y),
            Opcode::SubOverflow => {
                let r = self.b.ins().isub(x, y);
                let a = self.b.ins().bxor(x, y);
                let c = self.b.ins().bxor(x, r);
                let t = self.b.ins().band(a, c);
                sign(self, t)
            }
            Opcode::AdcCarry | Opcode::AdcOverflow | Opcode::SbbBorrow | Opcode::SbbOverflow => {
                let c = args[2];
                let cw = self.widen_bool(c, ty);
                let add = matches!(op, Opcode::AdcCarry | Opcode::AdcOverflow);
                let r = if add {
                    let t = self.b.ins().iadd(x, y);
                    self.b.ins().iadd(t, cw)
                } else {
                    let t = self.b.ins().isub(x, y);
                    self.b.ins().isub(t, cw)
                };
                match op {
                    Opcode::AdcCarry => {
                        let lt = self.b.ins().icmp(CIntCC::UnsignedLessThan, r, x);
                        let le = self.b.ins().icmp(CIntCC::UnsignedLessThanOrEqual, r, x);
                        self.b.ins().select(c, le, lt)
                    }
                    Opcode::SbbBorrow => {
                        let lt = self.b.ins().icmp(CIntCC::UnsignedLessThan, x, y);
                        let le = self.b.ins().icmp(CIntCC::UnsignedLessThanOrEqual, x, y);
                        self.b.ins().select(c, le, lt)
                    }
                    Opcode::AdcOverflow => {
                        let a = self.b.ins().bxor(x, r);
                        let d = self.b.ins().bxor(y, r);
                        let t = self.b.ins().band(a, d);
                        sign(self, t)
                    }
                    _ => {
                        let a = self.b.ins().bxor(x, y);
                        let d = self.b.ins().bxor(x, r);
                        let t = self.b.ins().band(a, d);
                        sign(self, t)
                    }
                }
            }
            _ => unreachable!(),
        }
    }

    /// An i1 (held as i8 0/1) widened to `ty` as 0/1.
    fn widen_bool(&mut self, c: ir::Value, ty: ir::Type) -> ir::Value {
        if ty == ct::I8 {
            c
        } else {
            self.b.ins().uextend(ty, c)
        }
    }

    fn arg_to_abi(&mut self, v: Value) -> ir::Value {
        let x = self.v(v);
        match self.r.ty(v) {
            Type::I64 => x,
            Type::F64 => self.b.ins().bitcast(ct::I64, MemFlagsData::new(), x),
            Type::F32 => {
                let i = self.b.ins().bitcast(ct::I32, MemFlagsData::new(), x);
                self.b.ins().uextend(ct::I64, i)
            }
            _ => self.b.ins().uextend(ct::I64, x),
        }
    }

    fn ret_from_abi(&mut self, x: ir::Value, t: Type) -> ir::Value {
        match t {
            Type::I64 => x,
            Type::F64 => self.b.ins().bitcast(ct::F64, MemFlagsData::new(), x),
            Type::F32 => {
                let i = self.b.ins().ireduce(ct::I32, x);
                self.b.ins().bitcast(ct::F32, MemFlagsData::new(), i)
            }
            Type::I1 => {
                let i = self.b.ins().ireduce(ct::I8, x);
                self.b.ins().band_imm_u(i, 1)
            }
            _ => self.b.ins().ireduce(cl_ty(t), x),
        }
    }

    fn elem_addr(&mut self, slot: SlotId, index: Value) -> ir::Value {
        let info = self.r.layout.slot(slot);
        let (count, size, base) = (info.count as i64, info.ty.bytes() as i64, info.offset as i64);
        let i = self.v(index);
        let i = if (count as u64).is_power_of_two() {
            self.b.ins().band_imm_u(i, count - 1)
        } else {
            self.b.ins().urem_imm_u(i, count)
        };
        let off = self.b.ins().imul_imm_u(i, size);
        let off = self.b.ins().iadd_imm_s(off, base);
        self.b.ins().iadd(self.state, off)
    }

    fn direct_exit(&mut self, id: InstId, pc: u64) -> Result<(), CompileError> {
        let k = self.exit_index[id.0 as usize] as usize;
        let slot = *self.slots.get(k).ok_or_else(|| {
            CompileError::Unsupported(format!(
                "no chain slot for direct exit {k} (region has more exits than slots given)"
            ))
        })?;
        let sa = self.b.ins().iconst(ct::I64, slot.addr as i64);
        let code = self.b.ins().load(ct::I64, MemFlagsData::trusted(), sa, 0);
        let chain = self.b.create_block();
        let tail = self.b.create_block();
        let leave = self.b.create_block();
        self.b.ins().brif(code, chain, &[], leave, &[]);
        self.b.switch_to_block(chain);
        let req = self.b.ins().load(ct::I32, trusted(), self.ctx, CTX_EXIT_REQUEST);
        self.b.ins().brif(req, leave, &[], tail, &[]);
        self.b.switch_to_block(tail);
        if self.count_exits {
            self.bump(CTX_CHAIN_HITS);
        }
        // The next region may read the pc slot: it holds its entry pc, as after a
        // dispatcher entry.
        self.store_pc_const(pc);
        self.flush_spec();
        self.b.ins().return_call_indirect(self.tail_sig, code, &[self.state, self.mem, self.ctx]);
        self.b.switch_to_block(leave);
        self.store_pc_const(pc);
        self.ret(exit_code::JUMP, slot.id as u64);
        Ok(())
    }

    fn bump(&mut self, off: i32) {
        let n = self.b.ins().load(ct::I64, trusted(), self.ctx, off);
        let n = self.b.ins().iadd_imm_s(n, 1);
        self.b.ins().store(trusted(), n, self.ctx, off);
    }

    fn indirect_exit(&mut self, target: Value, hint: ExitHint) {
        let pc = self.v(target);
        let table = self.b.ins().load(ct::I64, trusted(), self.ctx, CTX_LOOKUP);
        let mask = self.b.ins().load(ct::I64, trusted(), self.ctx, CTX_LOOKUP_OFFSET_MASK);
        // (((pc ^ pc >> 12) >> 2) & (len - 1)) * 16 (see `lookup_index`).
        let h = self.b.ins().ushr_imm_u(pc, 12);
        let h = self.b.ins().bxor(pc, h);
        let off = self.b.ins().ishl_imm_u(h, 2);
        let off = self.b.ins().band(off, mask);
        let e = self.b.ins().iadd(table, off);
        let epc = self.b.ins().load(ct::I64, trusted(), e, 0);
        let hit = self.b.ins().icmp(CIntCC::Equal, epc, pc);
        let check = self.b.create_block();
        let tail = self.b.create_block();
        let leave = self.b.create_block();
        self.b.ins().brif(hit, check, &[], leave, &[]);
        self.b.switch_to_block(check);
        let code = self.b.ins().load(ct::I64, trusted(), e, 8);
        let req = self.b.ins().load(ct::I32, trusted(), self.ctx, CTX_EXIT_REQUEST);
        let ok = self.b.ins().icmp_imm_s(CIntCC::Equal, req, 0);
        let nz = self.b.ins().icmp_imm_s(CIntCC::NotEqual, code, 0);
        let go = self.b.ins().band(ok, nz);
        self.b.ins().brif(go, tail, &[], leave, &[]);
        self.b.switch_to_block(tail);
        if self.count_exits {
            self.bump(CTX_LOOKUP_HITS);
        }
        self.store_pc(pc);
        self.flush_spec();
        self.b.ins().return_call_indirect(self.tail_sig, code, &[self.state, self.mem, self.ctx]);
        self.b.switch_to_block(leave);
        self.store_pc(pc);
        self.ret(exit_code::INDIRECT, hint as u64);
    }

    fn inst(&mut self, bi: usize, inst: &Inst, id: InstId) -> Result<(), CompileError> {
        let r = self.r;
        if matches!(inst.op, Opcode::Load | Opcode::Store | Opcode::AtomicRmw | Opcode::Cas) {
            self.insn_may_fault = true;
            self.access_is_write = inst.op != Opcode::Load;
        }
        let a: Vec<ir::Value> = inst.args.iter().map(|&v| self.v(v)).collect();
        let rty = inst.result.map(|v| r.ty(v));
        let ct_r = rty.map(cl_ty).unwrap_or(ct::I64);
        let aty = inst.args.first().map(|&v| r.ty(v));
        let res: Option<ir::Value> = match inst.op {
            Opcode::Insn => {
                if let Imm::Pc(pc) = inst.imm {
                    if self.insn_may_fault {
                        // Keep Cranelift from folding the previous instruction's guest
                        // load into a later instruction (which would carry this pc).
                        self.b.ins().sequence_point();
                    }
                    self.set_guest_insn(pc);
                }
                None
            }
            Opcode::Iconst => match inst.imm {
                Imm::Int(v) => Some(self.iconst_ty(rty.unwrap(), v)),
                _ => unreachable!(),
            },
            Opcode::Fconst => match (inst.imm, rty) {
                (Imm::Bits(v), Some(Type::F32)) => Some(self.b.ins().f32const(Ieee32::with_bits(v as u32))),
                (Imm::Bits(v), _) => Some(self.b.ins().f64const(Ieee64::with_bits(v as u64))),
                _ => unreachable!(),
            },
            Opcode::Vconst => match inst.imm {
                Imm::Bits(v) => {
                    let c = self.b.func.dfg.constants.insert(ConstantData::from(v.to_le_bytes().to_vec()));
                    Some(self.b.ins().vconst(ct::I8X16, c))
                }
                _ => unreachable!(),
            },
            Opcode::Add => Some(self.b.ins().iadd(a[0], a[1])),
            Opcode::Sub => Some(self.b.ins().isub(a[0], a[1])),
            Opcode::Mul => Some(self.b.ins().imul(a[0], a[1])),
            Opcode::Umulh => Some(self.b.ins().umulhi(a[0], a[1])),
            Opcode::Smulh => Some(self.b.ins().smulhi(a[0], a[1])),
            Opcode::Udiv | Opcode::Urem => {
                let z = self.b.ins().icmp_imm_s(CIntCC::Equal, a[1], 0);
                let one = self.b.ins().iconst(ct_r, 1);
                let d = self.b.ins().select(z, one, a[1]);
                let q = if inst.op == Opcode::Udiv { self.b.ins().udiv(a[0], d) } else { self.b.ins().urem(a[0], d) };
                let zero_res = if inst.op == Opcode::Udiv { self.b.ins().iconst(ct_r, 0) } else { a[0] };
                Some(self.b.ins().select(z, zero_res, q))
            }
            Opcode::Sdiv | Opcode::Srem => {
                let z = self.b.ins().icmp_imm_s(CIntCC::Equal, a[1], 0);
                let m1 = self.b.ins().icmp_imm_s(CIntCC::Equal, a[1], -1);
                let special = self.b.ins().bor(z, m1);
                let one = self.b.ins().iconst(ct_r, 1);
                let d = self.b.ins().select(special, one, a[1]);
                if inst.op == Opcode::Sdiv {
                    let q = self.b.ins().sdiv(a[0], d);
                    let n = self.b.ins().ineg(a[0]);
                    let q = self.b.ins().select(m1, n, q);
                    let zero = self.b.ins().iconst(ct_r, 0);
                    Some(self.b.ins().select(z, zero, q))
                } else {
                    let q = self.b.ins().srem(a[0], d);
                    let zero = self.b.ins().iconst(ct_r, 0);
                    let q = self.b.ins().select(m1, zero, q);
                    Some(self.b.ins().select(z, a[0], q))
                }
            }
            Opcode::And => Some(self.b.ins().band(a[0], a[1])),
            Opcode::Or => Some(self.b.ins().bor(a[0], a[1])),
            Opcode::Xor => Some(self.b.ins().bxor(a[0], a[1])),
            Opcode::Shl => Some(self.b.ins().ishl(a[0], a[1])),
            Opcode::Lshr => Some(self.b.ins().ushr(a[0], a[1])),
            Opcode::Ashr => Some(self.b.ins().sshr(a[0], a[1])),
            Opcode::Rotl => Some(self.b.ins().rotl(a[0], a[1])),
            Opcode::Rotr => Some(self.b.ins().rotr(a[0], a[1])),
            Opcode::Neg => Some(self.b.ins().ineg(a[0])),
            Opcode::Not => Some(self.b.ins().bnot(a[0])),
            Opcode::Clz => Some(self.b.ins().clz(a[0])),
            Opcode::Ctz => Some(self.b.ins().ctz(a[0])),
            Opcode::Popcnt => Some(self.b.ins().popcnt(a[0])),
            Opcode::Bswap => Some(self.bswap(ct_r, a[0])),
            Opcode::Bitrev => Some(self.b.ins().bitrev(a[0])),
            Opcode::Icmp => match inst.imm {
                Imm::IntCC(cc) => Some(self.b.ins().icmp(int_cc(cc), a[0], a[1])),
                _ => unreachable!(),
            },
            Opcode::Select => Some(self.b.ins().select(a[0], a[1], a[2])),
            Opcode::Zext => {
                let src = cl_ty(aty.unwrap());
                Some(if src == ct_r { a[0] } else { self.b.ins().uextend(ct_r, a[0]) })
            }
            Opcode::Sext => {
                if aty == Some(Type::I1) {
                    let w = self.widen_bool(a[0], ct_r);
                    Some(self.b.ins().ineg(w))
                } else {
                    Some(self.b.ins().sextend(ct_r, a[0]))
                }
            }
            Opcode::Trunc => {
                if rty == Some(Type::I1) {
                    let n = if cl_ty(aty.unwrap()) == ct::I8 { a[0] } else { self.b.ins().ireduce(ct::I8, a[0]) };
                    Some(self.b.ins().band_imm_u(n, 1))
                } else {
                    Some(self.b.ins().ireduce(ct_r, a[0]))
                }
            }
            Opcode::Bitcast => Some(match (aty.unwrap(), rty.unwrap()) {
                (Type::I128, Type::V128) => self.i128_to_v128(a[0]),
                (Type::V128, Type::I128) => self.v128_to_i128(a[0]),
                _ => self.b.ins().bitcast(ct_r, MemFlagsData::new(), a[0]),
            }),
            Opcode::AddCarry
            | Opcode::AddOverflow
            | Opcode::SubBorrow
            | Opcode::SubOverflow
            | Opcode::AdcCarry
            | Opcode::AdcOverflow
            | Opcode::SbbBorrow
            | Opcode::SbbOverflow => Some(self.flag(inst.op, &a, cl_ty(aty.unwrap()))),
            Opcode::Adc | Opcode::Sbb => {
                let c = self.widen_bool(a[2], ct_r);
                Some(if inst.op == Opcode::Adc {
                    let t = self.b.ins().iadd(a[0], a[1]);
                    self.b.ins().iadd(t, c)
                } else {
                    let t = self.b.ins().isub(a[0], a[1]);
                    self.b.ins().isub(t, c)
                })
            }
            Opcode::Fadd => Some(self.b.ins().fadd(a[0], a[1])),
            Opcode::Fsub => Some(self.b.ins().fsub(a[0], a[1])),
            Opcode::Fmul => Some(self.b.ins().fmul(a[0], a[1])),
            Opcode::Fdiv => Some(self.b.ins().fdiv(a[0], a[1])),
            Opcode::Fmin => Some(self.b.ins().fmin(a[0], a[1])),
            Opcode::Fmax => Some(self.b.ins().fmax(a[0], a[1])),
            Opcode::Fsqrt => Some(self.b.ins().sqrt(a[0])),
            Opcode::Fneg => Some(self.b.ins().fneg(a[0])),
            Opcode::Fabs => Some(self.b.ins().fabs(a[0])),
            Opcode::Fma => Some(self.b.ins().fma(a[0], a[1], a[2])),
            Opcode::Fround => match inst.imm {
                Imm::Round(RoundMode::Nearest) => Some(self.b.ins().nearest(a[0])),
                Imm::Round(RoundMode::Floor) => Some(self.b.ins().floor(a[0])),
                Imm::Round(RoundMode::Ceil) => Some(self.b.ins().ceil(a[0])),
                Imm::Round(RoundMode::Trunc) => Some(self.b.ins().trunc(a[0])),
                _ => unreachable!(),
            },
            Opcode::Fcmp => match inst.imm {
                Imm::FloatCC(cc) => Some(self.b.ins().fcmp(float_cc(cc), a[0], a[1])),
                _ => unreachable!(),
            },
            Opcode::FcvtToSint => Some(self.b.ins().fcvt_to_sint_sat(ct_r, a[0])),
            Opcode::FcvtToUint => Some(self.b.ins().fcvt_to_uint_sat(ct_r, a[0])),
            Opcode::FcvtFromSint => Some(self.b.ins().fcvt_from_sint(ct_r, a[0])),
            Opcode::FcvtFromUint => Some(self.b.ins().fcvt_from_uint(ct_r, a[0])),
            Opcode::Fpromote => Some(self.b.ins().fpromote(ct::F64, a[0])),
            Opcode::Fdemote => Some(self.b.ins().fdemote(ct::F32, a[0])),
            Opcode::Vand => Some(self.b.ins().band(a[0], a[1])),
            Opcode::Vor => Some(self.b.ins().bor(a[0], a[1])),
            Opcode::Vxor => Some(self.b.ins().bxor(a[0], a[1])),
            Opcode::Vnot => Some(self.b.ins().bnot(a[0])),
            Opcode::Vadd | Opcode::Vsub | Opcode::Vcmpeq => {
                let Imm::Lanes(s) = inst.imm else { unreachable!() };
                let vt = vec_ty(s);
                let x = self.b.ins().bitcast(vt, le(), a[0]);
                let y = self.b.ins().bitcast(vt, le(), a[1]);
                let z = match inst.op {
                    Opcode::Vadd => self.b.ins().iadd(x, y),
                    Opcode::Vsub => self.b.ins().isub(x, y),
                    _ => self.b.ins().icmp(CIntCC::Equal, x, y),
                };
                Some(self.b.ins().bitcast(ct::I8X16, le(), z))
            }
            Opcode::Vshl | Opcode::Vushr | Opcode::Vsshr => {
                let Imm::Lanes(s) = inst.imm else { unreachable!() };
                let x = self.b.ins().bitcast(vec_ty(s), le(), a[0]);
                // Cranelift's vector shifts take the amount modulo the lane width, as
                // the IR defines.
                let z = match inst.op {
                    Opcode::Vshl => self.b.ins().ishl(x, a[1]),
                    Opcode::Vushr => self.b.ins().ushr(x, a[1]),
                    _ => self.b.ins().sshr(x, a[1]),
                };
                Some(self.b.ins().bitcast(ct::I8X16, le(), z))
            }
            Opcode::Vshlv | Opcode::Vushrv | Opcode::Vsshrv => {
                // CLIF's vector shifts take one amount for all lanes: lane by lane
                // (scalar shifts take the amount modulo the width, as the IR defines).
                let Imm::Lanes(s) = inst.imm else { unreachable!() };
                let vt = vec_ty(s);
                let x = self.b.ins().bitcast(vt, le(), a[0]);
                let y = self.b.ins().bitcast(vt, le(), a[1]);
                let mut z = x;
                for i in 0..s.lanes() as u8 {
                    let p = self.b.ins().extractlane(x, i);
                    let q = self.b.ins().extractlane(y, i);
                    let r = match inst.op {
                        Opcode::Vshlv => self.b.ins().ishl(p, q),
                        Opcode::Vushrv => self.b.ins().ushr(p, q),
                        _ => self.b.ins().sshr(p, q),
                    };
                    z = self.b.ins().insertlane(z, r, i);
                }
                Some(self.b.ins().bitcast(ct::I8X16, le(), z))
            }
            Opcode::Vshuffle => {
                let Imm::Bits(m) = inst.imm else { unreachable!() };
                let mask = self.b.func.dfg.immediates.push(ConstantData::from(m.to_le_bytes().to_vec()));
                Some(self.b.ins().shuffle(a[0], a[1], mask))
            }
            Opcode::Vtbl2 => {
                // swizzle gives 0 for indices of 16 and up: one lookup per table, the
                // second with the indices moved down by 16 (wrapping below 0 to >= 240).
                let lo = self.b.ins().swizzle(a[0], a[2]);
                let sixteen = self.b.ins().iconst(ct::I8, 16);
                let sixteen = self.b.ins().splat(ct::I8X16, sixteen);
                let idx = self.b.ins().isub(a[2], sixteen);
                let hi = self.b.ins().swizzle(a[1], idx);
                Some(self.b.ins().bor(lo, hi))
            }
            Opcode::Vbitsel => Some(self.b.ins().bitselect(a[2], a[0], a[1])),
            Opcode::VuwidenLo | Opcode::VuwidenHi | Opcode::VswidenLo | Opcode::VswidenHi => {
                let Imm::Lanes(s) = inst.imm else { unreachable!() };
                let x = self.b.ins().bitcast(vec_ty(s), le(), a[0]);
                let z = match inst.op {
                    Opcode::VuwidenLo => self.b.ins().uwiden_low(x),
                    Opcode::VuwidenHi => self.b.ins().uwiden_high(x),
                    Opcode::VswidenLo => self.b.ins().swiden_low(x),
                    _ => self.b.ins().swiden_high(x),
                };
                Some(self.b.ins().bitcast(ct::I8X16, le(), z))
            }
            Opcode::Vsplat => {
                let Imm::Lanes(s) = inst.imm else { unreachable!() };
                let v = self.b.ins().splat(vec_ty(s), a[0]);
                Some(self.b.ins().bitcast(ct::I8X16, le(), v))
            }
            Opcode::Vextract => {
                let Imm::Lane(s, i) = inst.imm else { unreachable!() };
                let v = self.b.ins().bitcast(vec_ty(s), le(), a[0]);
                Some(self.b.ins().extractlane(v, i))
            }
            Opcode::Vinsert => {
                let Imm::Lane(s, i) = inst.imm else { unreachable!() };
                let v = self.b.ins().bitcast(vec_ty(s), le(), a[0]);
                let v = self.b.ins().insertlane(v, a[1], i);
                Some(self.b.ins().bitcast(ct::I8X16, le(), v))
            }
            Opcode::GetSlot => {
                let Imm::Slot(s) = inst.imm else { unreachable!() };
                if !self.fresh[s.0 as usize] && !self.in_spec {
                    self.load_slot(s.0 as usize);
                }
                let (var, _, _) = self.slot_vars[s.0 as usize].expect("slot variable declared");
                Some(self.b.use_var(var))
            }
            Opcode::SetSlot => {
                let Imm::Slot(s) = inst.imm else { unreachable!() };
                let (var, off, _) = self.slot_vars[s.0 as usize].expect("slot variable declared");
                if !self.in_spec {
                    self.b.ins().store(trusted(), a[0], self.state, off);
                }
                self.b.def_var(var, a[0]);
                self.fresh[s.0 as usize] = true;
                None
            }
            Opcode::GetElem => {
                let Imm::Slot(s) = inst.imm else { unreachable!() };
                let p = self.elem_addr(s, inst.args[0]);
                let v = self.b.ins().load(ct_r, trusted(), p, 0);
                Some(if rty == Some(Type::I1) { self.b.ins().band_imm_u(v, 1) } else { v })
            }
            Opcode::SetElem => {
                let Imm::Slot(s) = inst.imm else { unreachable!() };
                let p = self.elem_addr(s, inst.args[0]);
                self.b.ins().store(trusted(), a[1], p, 0);
                // An element may alias a slot: reload them.
                self.fresh.fill(false);
                None
            }
            Opcode::Load => {
                let Imm::Mem(m) = inst.imm else { unreachable!() };
                Some(self.load(rty.unwrap(), m, inst.args[0]))
            }
            Opcode::Store => {
                let Imm::Mem(m) = inst.imm else { unreachable!() };
                self.store(m, inst.args[0], inst.args[1]);
                None
            }
            Opcode::AtomicRmw | Opcode::Cas => {
                self.b.set_srcloc(SourceLoc::new(self.cur_loc | ATOMIC_LOC));
                let v = self.atomic(inst);
                self.b.set_srcloc(SourceLoc::new(self.cur_loc));
                Some(v)
            }
            Opcode::Fence => {
                self.b.ins().fence();
                None
            }
            Opcode::Call => {
                let Imm::Helper(h) = inst.imm else { unreachable!() };
                let info = helpers::info(h);
                let mut args = vec![self.state];
                for &v in &inst.args {
                    args.push(self.arg_to_abi(v));
                }
                while args.len() < 5 {
                    args.push(self.b.ins().iconst(ct::I64, 0));
                }
                let f = self.b.ins().iconst(ct::I64, info.func as usize as i64);
                let call = self.b.ins().call_indirect(self.helper_sig, f, &args);
                let out = self.b.inst_results(call)[0];
                if info.effects == HelperEffects::WritesState {
                    // The helper may have changed any slot: reload at the next reads.
                    self.fresh.fill(false);
                }
                info.ret.map(|t| self.ret_from_abi(out, t))
            }
            Opcode::Jump => {
                let Imm::Jump(t) = inst.imm else { unreachable!() };
                let target = self.branch_target(bi, t);
                let args: Vec<ir::BlockArg> = a.iter().map(|&v| v.into()).collect();
                self.b.ins().jump(target, &args);
                self.fill_back_edges();
                None
            }
            Opcode::Brif => {
                let Imm::Brif { then_block, else_block, then_args } = inst.imm else { unreachable!() };
                let t = then_args as usize;
                let tb = self.branch_target(bi, then_block);
                let eb = self.branch_target(bi, else_block);
                let ta: Vec<ir::BlockArg> = a[1..1 + t].iter().map(|&v| v.into()).collect();
                let ea: Vec<ir::BlockArg> = a[1 + t..].iter().map(|&v| v.into()).collect();
                self.b.ins().brif(a[0], tb, &ta, eb, &ea);
                self.fill_back_edges();
                None
            }
            Opcode::ExitJump => {
                let Imm::Exit { pc, .. } = inst.imm else { unreachable!() };
                self.direct_exit(id, pc)?;
                None
            }
            Opcode::ExitIndirect => {
                let Imm::Hint(h) = inst.imm else { unreachable!() };
                self.indirect_exit(inst.args[0], h);
                None
            }
            Opcode::ExitSyscall => {
                let Imm::Pc(pc) = inst.imm else { unreachable!() };
                self.store_pc_const(pc);
                self.ret(exit_code::SYSCALL, 0);
                None
            }
            Opcode::ExitTrap => {
                let Imm::Trap(kind, pc) = inst.imm else { unreachable!() };
                self.store_pc_const(pc);
                self.ret(exit_code::TRAP, kind as u64);
                None
            }
        };
        if let (Some(rv), Some(x)) = (inst.result, res) {
            self.vals[rv.0 as usize] = Some(x);
        }
        Ok(())
    }
}

// The entry trampoline and generated code depend on these offsets.
const _: () = {
    assert!(std::mem::offset_of!(JitCtx, exit_request) == CTX_EXIT_REQUEST as usize);
    assert!(std::mem::offset_of!(JitCtx, lookup) == CTX_LOOKUP as usize);
    assert!(std::mem::offset_of!(JitCtx, lookup_offset_mask) == CTX_LOOKUP_OFFSET_MASK as usize);
    assert!(std::mem::size_of::<LookupEntry>() == 16);
    assert!(std::mem::offset_of!(JitCtx, chain_hits) == CTX_CHAIN_HITS as usize);
    assert!(std::mem::offset_of!(JitCtx, lookup_hits) == CTX_LOOKUP_HITS as usize);
    assert!(std::mem::offset_of!(JitCtx, saved_rsp) == 40);
    assert!(std::mem::offset_of!(JitCtx, fault_addr) == CTX_FAULT_ADDR as usize);
    assert!(std::mem::offset_of!(JitCtx, fault_host_pc) == CTX_FAULT_HOST_PC as usize);
    assert!(std::mem::offset_of!(JitCtx, fault_flags) == CTX_FAULT_FLAGS as usize);
};
