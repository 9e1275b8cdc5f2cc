//! The execution engine: block cache, dispatch loop, chaining, indirect lookup,
//! invalidation and tiering.
//!
//! Regions are keyed by (guest pc, decode mode). A new region runs in the reference
//! interpreter (the cold tier: translation costs only decode + lift, about a
//! microsecond per guest instruction); once it has been entered `threshold` times it
//! is optimised and compiled by Cranelift (the hot tier). Compiled regions chain
//! directly: when a direct exit returns to the dispatcher and its target is compiled,
//! the exit's chain slot is filled and later runs tail-call the target without the
//! dispatcher. Indirect exits probe a per-thread lookup table that the dispatcher
//! fills. Invalidating a guest range drops every region decoded from it, clears the
//! chain slots and lookup entries that led to them, and forces retranslation.

use crate::memory::GuestMemory;
use crate::stats::Stats;
use mimic_backend::cranelift::{
    lookup_index, ChainSlotRef, CompiledRegion, Compiler, JitCtx, JitExit, LookupEntry, OptLevel,
};
use mimic_backend::{CodeMemory, CompileError};
use mimic_frontend::{Frontend, TranslateError};
use mimic_ir::interp::{self, Exit};
use mimic_ir::{passes, FaultKind, MemFault, Region, RunControl, StateBuf, StateLayout, TrapKind};
use std::collections::HashMap;
use std::fmt;
use std::ops::Range;
use std::sync::Arc;
use std::time::Instant;

/// Which tiers run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Tier {
    /// Interpreter only.
    Interp,
    /// Compile every region before its first run.
    Jit,
    /// Interpret until a region has been entered `threshold` times, then compile it.
    Auto { threshold: u32 },
}

#[derive(Clone, Debug)]
pub struct EngineConfig {
    pub tier: Tier,
    pub opt: OptLevel,
    /// Run the IR passes before compiling.
    pub optimize_ir: bool,
    /// Code memory to reserve (bytes).
    pub code_capacity: usize,
}

impl Default for EngineConfig {
    fn default() -> Self {
        EngineConfig {
            tier: Tier::Auto { threshold: 16 },
            opt: OptLevel::Speed,
            optimize_ir: true,
            code_capacity: 256 << 20,
        }
    }
}

/// Why [`Engine::run`] returned to its caller.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stop {
    /// The guest asked for a system call; the pc slot holds the resume pc.
    Syscall,
    /// A guest trap (illegal instruction, breakpoint, unaligned access...).
    Trap { kind: TrapKind, pc: u64 },
    /// A guest memory access failed in the instruction at `pc`.
    Fault { fault: MemFault, pc: u64 },
    /// The guest jumped to code that cannot be fetched.
    NoCode { pc: u64 },
    /// An exit was requested (see [`Engine::request_exit`]).
    Interrupted { pc: u64 },
}

/// Errors that stop the engine itself (not the guest).
#[derive(Debug)]
pub enum EngineError {
    Compile(CompileError),
}

impl fmt::Display for EngineError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EngineError::Compile(e) => write!(f, "{e}"),
        }
    }
}
impl std::error::Error for EngineError {}

type RegionId = usize;

struct Entry {
    key: (u64, u32),
    region: Region,
    guest_bytes: Range<u64>,
    entries: u32,
    compiled: Option<CompiledRegion>,
    compile_failed: bool,
    valid: bool,
    /// Chain slots of this region's direct exits, in exit order.
    out_slots: Vec<u32>,
}

/// A chain slot: where a direct exit goes, and whether it is linked.
struct SlotInfo {
    target_pc: u64,
    linked_to: Option<RegionId>,
}

const SLOT_CHUNK: usize = 4096;

/// Stable storage for chain slots: chunks never move once allocated.
#[derive(Default)]
struct ChainSlots {
    chunks: Vec<Box<[u64; SLOT_CHUNK]>>,
    info: Vec<SlotInfo>,
}

impl ChainSlots {
    fn alloc(&mut self, target_pc: u64) -> ChainSlotRef {
        let id = self.info.len();
        if id.is_multiple_of(SLOT_CHUNK) {
            self.chunks.push(Box::new([0; SLOT_CHUNK]));
        }
        self.info.push(SlotInfo { target_pc, linked_to: None });
        ChainSlotRef { id: id as u32, addr: self.addr(id) }
    }
    fn addr(&self, id: usize) -> *const u64 {
        &self.chunks[id / SLOT_CHUNK][id % SLOT_CHUNK]
    }
    fn set(&mut self, id: usize, code: u64) {
        self.chunks[id / SLOT_CHUNK][id % SLOT_CHUNK] = code;
    }
}

/// The engine for one guest thread.
pub struct Engine<F: Frontend> {
    frontend: F,
    layout: Arc<StateLayout>,
    config: EngineConfig,
    cache: HashMap<(u64, u32), RegionId>,
    regions: Vec<Entry>,
    compiler: Option<Compiler>,
    slots: ChainSlots,
    lookup: Box<[LookupEntry]>,
    ctx: Box<JitCtx>,
    control: RunControl,
    stats: Stats,
    mode: u32,
}

const LOOKUP_ENTRIES: usize = 4096;

impl<F: Frontend> Engine<F> {
    /// A new engine. Installs the process-wide handler that turns host faults in
    /// generated code into precise guest faults.
    pub fn new(frontend: F, config: EngineConfig) -> Engine<F> {
        mimic_backend::cranelift::entry::install_fault_handler();
        let layout = frontend.layout();
        let lookup = vec![LookupEntry::default(); LOOKUP_ENTRIES].into_boxed_slice();
        let ctx = Box::new(JitCtx::new(&lookup));
        Engine {
            frontend,
            layout,
            config,
            cache: HashMap::new(),
            regions: Vec::new(),
            compiler: None,
            slots: ChainSlots::default(),
            lookup,
            ctx,
            control: RunControl::default(),
            stats: Stats::default(),
            mode: 0,
        }
    }

    pub fn layout(&self) -> &Arc<StateLayout> {
        &self.layout
    }
    pub fn frontend(&self) -> &F {
        &self.frontend
    }
    /// Counters so far (including those kept by compiled code).
    pub fn stats(&self) -> Stats {
        let mut s = self.stats.clone();
        s.chain_hits = self.ctx.chain_hits;
        s.lookup_hits = self.ctx.lookup_hits;
        s
    }
    /// Ask running code to return at the next chained exit or loop back edge.
    pub fn request_exit(&self) {
        self.ctx.exit_request.store(1, std::sync::atomic::Ordering::Relaxed);
        self.control.exit_request.store(true, std::sync::atomic::Ordering::Relaxed);
    }
    pub fn clear_exit_request(&self) {
        self.ctx.exit_request.store(0, std::sync::atomic::Ordering::Relaxed);
        self.control.exit_request.store(false, std::sync::atomic::Ordering::Relaxed);
    }
    /// Select the decode mode (Thumb, 32/64-bit...) that keys the cache.
    pub fn set_mode(&mut self, mode: u32) {
        self.mode = mode;
    }
    /// Whether the region at `pc` is currently compiled (for tests and tracing).
    pub fn is_compiled(&self, pc: u64) -> bool {
        self.cache.get(&(pc, self.mode)).is_some_and(|&r| self.regions[r].compiled.is_some())
    }
    /// The (optimised, if compiled) IR of the region at `pc`.
    pub fn region_ir(&self, pc: u64) -> Option<&Region> {
        self.cache.get(&(pc, self.mode)).map(|&r| &self.regions[r].region)
    }

    fn translate(&mut self, pc: u64, mem: &mut dyn GuestMemory) -> Result<RegionId, TranslateError> {
        let mut fetch = |a: u64, buf: &mut [u8]| mem.read(a, buf);
        let lifted = self.frontend.translate(pc, &mut fetch)?;
        let s = &mut self.stats;
        s.regions_translated += 1;
        s.guest_insns_translated += lifted.region.guest_insns as u64;
        s.ir_ops_lifted += lifted.region.op_count() as u64;
        s.decode_time += lifted.decode_time;
        s.lift_time += lifted.lift_time;
        if cfg!(debug_assertions) {
            if let Err(e) = mimic_ir::verify(&lifted.region) {
                panic!(
                    "frontend {} produced invalid IR at {pc:#x}: {e}\n{}",
                    self.frontend.name(),
                    mimic_ir::print(&lifted.region)
                );
            }
        }
        let id = self.regions.len();
        self.regions.push(Entry {
            key: (pc, self.mode),
            region: lifted.region,
            guest_bytes: lifted.guest_bytes,
            entries: 0,
            compiled: None,
            compile_failed: false,
            valid: true,
            out_slots: Vec::new(),
        });
        self.cache.insert((pc, self.mode), id);
        Ok(id)
    }

    fn compile(&mut self, id: RegionId) -> Result<(), EngineError> {
        if self.compiler.is_none() {
            let code = Arc::new(
                CodeMemory::new(self.config.code_capacity)
                    .map_err(|e| EngineError::Compile(CompileError::CodeMemory(e)))?,
            );
            self.compiler = Some(Compiler::new(code, self.config.opt).map_err(EngineError::Compile)?);
        }
        let e = &mut self.regions[id];
        if self.config.optimize_ir {
            let t = Instant::now();
            passes::optimize(&mut e.region);
            self.stats.optimize_time += t.elapsed();
        }
        self.stats.ir_ops_optimized += e.region.op_count() as u64;
        let exits = interp::direct_exit_indices(&e.region);
        let mut targets = vec![0u64; exits.iter().filter(|&&x| x != u32::MAX).count()];
        for (i, &k) in exits.iter().enumerate() {
            if k != u32::MAX {
                if let mimic_ir::Imm::Exit { pc, .. } = e.region.insts[i].imm {
                    targets[k as usize] = pc;
                }
            }
        }
        let refs: Vec<ChainSlotRef> = targets.iter().map(|&pc| self.slots.alloc(pc)).collect();
        let e = &mut self.regions[id];
        e.out_slots = refs.iter().map(|r| r.id).collect();
        let t = Instant::now();
        let result = self.compiler.as_mut().expect("compiler").compile(&e.region, &refs);
        self.stats.compile_time += t.elapsed();
        match result {
            Ok(c) => {
                self.stats.regions_compiled += 1;
                self.stats.code_bytes += c.code_size as u64;
                e.compiled = Some(c);
                Ok(())
            }
            Err(CompileError::CodeMemory(err)) => Err(EngineError::Compile(CompileError::CodeMemory(err))),
            Err(_) => {
                // A region the JIT cannot handle stays in the interpreter tier.
                self.stats.compile_failures += 1;
                e.compile_failed = true;
                Ok(())
            }
        }
    }

    fn wants_compile(&self, e: &Entry, mem: &dyn GuestMemory) -> bool {
        if e.compiled.is_some() || e.compile_failed || !mem.jit_safe() {
            return false;
        }
        match self.config.tier {
            Tier::Interp => false,
            Tier::Jit => true,
            Tier::Auto { threshold } => e.entries >= threshold,
        }
    }

    /// Fill the chain slot `slot` if its target is compiled.
    fn try_chain(&mut self, slot: u32) {
        let info = &self.slots.info[slot as usize];
        if info.linked_to.is_some() {
            return;
        }
        if let Some(&target) = self.cache.get(&(info.target_pc, self.mode)) {
            if let Some(c) = &self.regions[target].compiled {
                let code = c.entry as u64;
                self.slots.info[slot as usize].linked_to = Some(target);
                self.slots.set(slot as usize, code);
                self.stats.chains_linked += 1;
            }
        }
    }

    fn fill_lookup(&mut self, pc: u64, id: RegionId) {
        if let Some(c) = &self.regions[id].compiled {
            let i = lookup_index(pc, self.lookup.len() as u64 - 1);
            self.lookup[i] = LookupEntry { pc, code: c.entry as u64 };
        }
    }

    /// Run the guest from the pc in `state` until it needs its embedder.
    pub fn run(&mut self, state: &mut StateBuf, mem: &mut dyn GuestMemory) -> Result<Stop, EngineError> {
        let pc_slot = self.layout.pc;
        loop {
            let pc = state.get(&self.layout, pc_slot) as u64;
            if self.control.exit_request.load(std::sync::atomic::Ordering::Relaxed) {
                return Ok(Stop::Interrupted { pc });
            }
            let id = match self.cache.get(&(pc, self.mode)) {
                Some(&id) => {
                    self.stats.cache_hits += 1;
                    id
                }
                None => match self.translate(pc, mem) {
                    Ok(id) => id,
                    Err(TranslateError::Fetch { .. } | TranslateError::NoCode { .. }) => {
                        return Ok(Stop::NoCode { pc })
                    }
                },
            };
            self.regions[id].entries = self.regions[id].entries.saturating_add(1);
            if self.wants_compile(&self.regions[id], mem) {
                self.compile(id)?;
            }
            if let Some(c) = &self.regions[id].compiled {
                let entry = c.entry;
                self.stats.jit_entries += 1;
                let base = mem.host_base();
                let compiler = self.compiler.as_ref().expect("compiled implies a compiler");
                // SAFETY: `entry` was produced by this compiler for a region of this
                // engine's layout; `state` is a buffer of that layout; the memory
                // declared itself JIT-safe (every access maps at `base + addr`); chain
                // slots and lookup entries only ever hold code of valid regions of this
                // compiler (invalidation clears them).
                let code = unsafe { compiler.enter(entry, state.as_mut_ptr(), base, &mut *self.ctx) };
                match JitExit::decode(code) {
                    Some(JitExit::Jump { slot }) => self.try_chain(slot),
                    Some(JitExit::Indirect { .. }) => {
                        self.stats.lookup_misses += 1;
                        let target = state.get(&self.layout, pc_slot) as u64;
                        if let Some(&tid) = self.cache.get(&(target, self.mode)) {
                            self.fill_lookup(target, tid);
                        }
                    }
                    Some(JitExit::Syscall) => return Ok(Stop::Syscall),
                    Some(JitExit::Trap { kind }) => {
                        return Ok(Stop::Trap { kind, pc: state.get(&self.layout, pc_slot) as u64 })
                    }
                    Some(JitExit::Interrupted) => {
                        return Ok(Stop::Interrupted { pc: state.get(&self.layout, pc_slot) as u64 })
                    }
                    Some(JitExit::Fault) => {
                        let host_pc = self.ctx.fault_host_pc as usize;
                        let guest_pc = self
                            .regions
                            .iter()
                            .filter_map(|r| r.compiled.as_ref())
                            .find_map(|c| c.guest_pc_at(host_pc))
                            .unwrap_or(pc);
                        state.set(&self.layout, pc_slot, guest_pc as u128);
                        let flags = self.ctx.fault_flags;
                        let fault = if flags & 4 != 0 {
                            MemFault { addr: 0, write: flags & 1 != 0, kind: FaultKind::OutOfRange }
                        } else {
                            MemFault {
                                addr: self.ctx.fault_addr.wrapping_sub(base as u64),
                                write: flags & 1 != 0,
                                kind: if flags & 2 != 0 { FaultKind::Protection } else { FaultKind::Unmapped },
                            }
                        };
                        return Ok(Stop::Fault { fault, pc: guest_pc });
                    }
                    None => unreachable!("compiled code returned an unknown exit code {code:#x}"),
                }
            } else {
                self.stats.interp_executions += 1;
                let exit = interp::run(&self.regions[id].region, state, mem, &self.control);
                match exit {
                    Exit::Jump { .. } => {}
                    Exit::Indirect { pc, .. } => {
                        self.stats.lookup_misses += 1;
                        let _ = pc;
                    }
                    Exit::Syscall { .. } => return Ok(Stop::Syscall),
                    Exit::Trap { kind, pc } => return Ok(Stop::Trap { kind, pc }),
                    Exit::Fault { fault, pc } => return Ok(Stop::Fault { fault, pc }),
                    Exit::Interrupted { pc } => return Ok(Stop::Interrupted { pc }),
                }
            }
        }
    }

    /// Drop every region decoded from guest bytes overlapping `range` (self-modifying
    /// code, munmap, code loaded over old code). Returns how many were dropped.
    pub fn invalidate(&mut self, range: Range<u64>) -> usize {
        self.stats.invalidations += 1;
        let mut dropped = Vec::new();
        for (id, e) in self.regions.iter_mut().enumerate() {
            if e.valid && e.guest_bytes.start < range.end && range.start < e.guest_bytes.end {
                e.valid = false;
                dropped.push(id);
            }
        }
        for &id in &dropped {
            let key = self.regions[id].key;
            if self.cache.get(&key) == Some(&id) {
                self.cache.remove(&key);
            }
            if let Some(c) = self.regions[id].compiled.take() {
                let code = c.entry as u64;
                for l in self.lookup.iter_mut() {
                    if l.code == code {
                        *l = LookupEntry::default();
                    }
                }
            }
            // Release the dropped region's IR; its host code stays in code memory
            // (reclaimed by a later full flush).
            self.regions[id].region.blocks.clear();
            self.regions[id].region.insts.clear();
        }
        if !dropped.is_empty() {
            for sid in 0..self.slots.info.len() {
                if let Some(t) = self.slots.info[sid].linked_to {
                    if !self.regions[t].valid {
                        self.slots.info[sid].linked_to = None;
                        self.slots.set(sid, 0);
                    }
                }
            }
        }
        self.stats.regions_invalidated += dropped.len() as u64;
        dropped.len()
    }
}
