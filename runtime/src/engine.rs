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
//!
//! Guest threads are host threads: translated code lives in one [`CodeCache`] shared
//! by every thread's [`Engine`] (translation, compilation and chaining happen under the
//! cache's lock; execution does not take it). Each engine keeps its own lookup table,
//! exit request and a private map of regions it has seen; a cache generation counter,
//! bumped by invalidation, tells every engine to drop those private views.

use crate::memory::GuestMemory;
use crate::stats::Stats;
use mimic_backend::cranelift::{
    lookup_index, ChainSlotRef, CompiledRegion, Compiler, JitCtx, JitExit, LookupEntry, OptLevel,
};
use mimic_backend::{CodeMemory, CompileError};
use mimic_frontend::{Frontend, TranslateError};
use mimic_ir::hostfp::{mxcsr, set_mxcsr};
use mimic_ir::interp::{self, Exit};
use mimic_ir::{passes, FaultKind, MemFault, Region, RunControl, StateBuf, StateLayout, TrapKind};
use std::collections::HashMap;
use std::fmt;
use std::ops::Range;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};
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
    /// What to print to stderr as code is translated and compiled.
    pub trace: Trace,
    /// Count chained exits and indirect-lookup hits in compiled code (statistics; a
    /// memory increment on every chained exit when on).
    pub count_exits: bool,
    /// Count the guest instructions executed (`Stats::guest_insns_executed`): every
    /// region is instrumented with [`passes::count_insns`] (an add per IR block).
    pub count_insns: bool,
}

/// Translation tracing (`--trace in_asm,ir,out_asm`, like qemu's `-d`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Trace {
    /// Guest instructions of each new region.
    pub in_asm: bool,
    /// The IR of each new region (and after the passes, when compiled).
    pub ir: bool,
    /// Host code of each compiled region.
    pub out_asm: bool,
}

impl Default for EngineConfig {
    fn default() -> Self {
        EngineConfig {
            tier: Tier::Auto { threshold: 16 },
            opt: OptLevel::Speed,
            optimize_ir: true,
            code_capacity: 256 << 20,
            trace: Trace::default(),
            count_exits: true,
            count_insns: false,
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

/// See [`Engine::exit_handle`].
#[derive(Clone, Copy, Debug)]
pub struct ExitHandle {
    user: *const AtomicBool,
    jit: *const AtomicU32,
    interp: *const AtomicBool,
}

impl ExitHandle {
    /// Ask the engine to return [`Stop::Interrupted`] soon. Async-signal-safe.
    ///
    /// # Safety
    /// The engine this handle came from must still be alive (the atomics live in its
    /// boxes; moving the engine does not move them, but dropping it frees them).
    pub unsafe fn request(&self) {
        // SAFETY: the caller guarantees the engine (which owns these atomics) is alive.
        unsafe {
            (*self.user).store(true, Ordering::Relaxed);
            (*self.jit).store(1, Ordering::Relaxed);
            (*self.interp).store(true, Ordering::Relaxed);
        }
    }
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

/// A translated region, shared by all threads. The IR is never changed after
/// translation (the compiler works on an optimised copy).
struct Entry {
    key: (u64, u32),
    region: Region,
    guest_bytes: Range<u64>,
    entries: AtomicU32,
    compiled: OnceLock<CompiledRegion>,
    compile_failed: AtomicBool,
    valid: AtomicBool,
}

/// A chain slot: where a direct exit goes, and which region it is linked to.
struct SlotInfo {
    target_pc: u64,
    mode: u32,
    linked_to: Option<Arc<Entry>>,
}

const SLOT_CHUNK: usize = 4096;

/// Stable storage for chain slots: chunks never move once allocated. Generated code
/// reads slots without the lock; the cache writes them with atomic stores.
#[derive(Default)]
struct ChainSlots {
    chunks: Vec<Box<[AtomicU64]>>,
    info: Vec<SlotInfo>,
}

impl ChainSlots {
    fn alloc(&mut self, target_pc: u64, mode: u32) -> ChainSlotRef {
        let id = self.info.len();
        if id.is_multiple_of(SLOT_CHUNK) {
            self.chunks.push((0..SLOT_CHUNK).map(|_| AtomicU64::new(0)).collect());
        }
        self.info.push(SlotInfo { target_pc, mode, linked_to: None });
        ChainSlotRef { id: id as u32, addr: self.chunks[id / SLOT_CHUNK][id % SLOT_CHUNK].as_ptr() }
    }
    fn set(&self, id: usize, code: u64) {
        self.chunks[id / SLOT_CHUNK][id % SLOT_CHUNK].store(code, Ordering::Release);
    }
}

struct CacheInner<F> {
    frontend: F,
    map: HashMap<(u64, u32), Arc<Entry>>,
    /// Every region that was ever compiled (to map a faulting host pc back).
    compiled: Vec<Arc<Entry>>,
    compiler: Option<Compiler>,
    slots: ChainSlots,
    stats: Stats,
}

/// Where to raise one engine's exit requests.
struct Kick {
    engine: u64,
    jit: *const AtomicU32,
    interp: *const AtomicBool,
}

// SAFETY: the pointers refer to atomics inside boxes owned by a live engine, which
// unregisters itself (under the same lock) before they are freed.
unsafe impl Send for Kick {}

/// Translated and compiled code shared by all guest threads of one guest process.
pub struct CodeCache<F: Frontend> {
    inner: Mutex<CacheInner<F>>,
    generation: AtomicU64,
    /// Exit-request flags of every live engine (compiled code's and the interpreter's),
    /// raised on invalidation so running threads drop stale code promptly.
    kicks: Mutex<Vec<Kick>>,
    next_engine: AtomicU64,
    layout: Arc<StateLayout>,
    config: EngineConfig,
}

impl<F: Frontend> CodeCache<F> {
    pub fn new(frontend: F, config: EngineConfig) -> Arc<CodeCache<F>> {
        let layout = frontend.layout();
        Arc::new(CodeCache {
            inner: Mutex::new(CacheInner {
                frontend,
                map: HashMap::new(),
                compiled: Vec::new(),
                compiler: None,
                slots: ChainSlots::default(),
                stats: Stats::default(),
            }),
            generation: AtomicU64::new(0),
            kicks: Mutex::new(Vec::new()),
            next_engine: AtomicU64::new(0),
            layout,
            config,
        })
    }

    fn lock(&self) -> MutexGuard<'_, CacheInner<F>> {
        // A panic while holding the lock leaves consistent data (entries are immutable
        // once published), so a poisoned lock is still usable.
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Translation counters of the shared cache.
    /// In a fork child: take a private copy of the code memory (see
    /// [`CodeMemory::unshare`]).
    pub fn after_fork(&self) -> Result<(), EngineError> {
        let g = self.lock();
        if let Some(c) = &g.compiler {
            c.code_memory().unshare().map_err(|e| EngineError::Compile(CompileError::CodeMemory(e)))?;
        }
        Ok(())
    }

    pub fn stats(&self) -> Stats {
        self.lock().stats.clone()
    }

    fn lookup_or_translate(&self, pc: u64, mode: u32, mem: &mut dyn GuestMemory) -> Result<Arc<Entry>, TranslateError> {
        let mut g = self.lock();
        if let Some(e) = g.map.get(&(pc, mode)) {
            return Ok(e.clone());
        }
        let mut fetch = |a: u64, buf: &mut [u8]| mem.fetch(a, buf);
        let mut lifted = g.frontend.translate(pc, &mut fetch)?;
        if cfg!(debug_assertions) {
            if let Err(e) = mimic_ir::verify(&lifted.region) {
                panic!(
                    "frontend {} produced invalid IR at {pc:#x}: {e}\n{}",
                    g.frontend.name(),
                    mimic_ir::print(&lifted.region)
                );
            }
        }
        let tr = self.config.trace;
        if tr.in_asm {
            eprintln!("IN: {pc:#x}");
            for line in g.frontend.disassemble(&lifted.region, &mut fetch) {
                eprintln!("  {line}");
            }
        }
        if tr.ir {
            eprint!("IR:\n{}", mimic_ir::print(&lifted.region));
        }
        let s = &mut g.stats;
        s.regions_translated += 1;
        s.guest_insns_translated += lifted.region.guest_insns as u64;
        s.ir_ops_lifted += lifted.region.op_count() as u64;
        s.decode_time += lifted.decode_time;
        s.lift_time += lifted.lift_time;
        if self.config.count_insns {
            passes::count_insns(&mut lifted.region);
        }
        let e = Arc::new(Entry {
            key: (pc, mode),
            region: lifted.region,
            guest_bytes: lifted.guest_bytes,
            entries: AtomicU32::new(0),
            compiled: OnceLock::new(),
            compile_failed: AtomicBool::new(false),
            valid: AtomicBool::new(true),
        });
        g.map.insert((pc, mode), e.clone());
        Ok(e)
    }

    fn compile(&self, e: &Arc<Entry>, addr_bits: Option<u8>) -> Result<(), EngineError> {
        let mut g = self.lock();
        if e.compiled.get().is_some() || e.compile_failed.load(Ordering::Relaxed) || !e.valid.load(Ordering::Acquire) {
            return Ok(());
        }
        let g = &mut *g;
        if g.compiler.is_none() {
            let code = CodeMemory::new(self.config.code_capacity)
                .map_err(|err| EngineError::Compile(CompileError::CodeMemory(err)))?;
            g.compiler = Some(Compiler::new(Arc::new(code), self.config.opt).map_err(EngineError::Compile)?);
        }
        let mut region = e.region.clone();
        if self.config.optimize_ir {
            let t = Instant::now();
            passes::optimize(&mut region);
            g.stats.optimize_time += t.elapsed();
        }
        g.stats.ir_ops_optimized += region.op_count() as u64;
        let exits = interp::direct_exit_indices(&region);
        let mut targets = vec![0u64; exits.iter().filter(|&&x| x != u32::MAX).count()];
        for (i, &k) in exits.iter().enumerate() {
            if let (true, mimic_ir::Imm::Exit { pc, .. }) = (k != u32::MAX, region.insts[i].imm) {
                targets[k as usize] = pc;
            }
        }
        let refs: Vec<ChainSlotRef> = targets.iter().map(|&pc| g.slots.alloc(pc, e.key.1)).collect();
        let t = Instant::now();
        if self.config.trace.ir && self.config.optimize_ir {
            eprint!("IR after passes:\n{}", mimic_ir::print(&region));
        }
        let compiler = g.compiler.as_mut().expect("compiler");
        compiler.set_addr_bits(addr_bits);
        compiler.set_trace_asm(self.config.trace.out_asm);
        compiler.set_count_exits(self.config.count_exits);
        let result = compiler.compile(&region, &refs);
        g.stats.compile_time += t.elapsed();
        match result {
            Ok(c) => {
                perf_map(c.entry as u64, c.code_size, e.key.0);
                g.stats.regions_compiled += 1;
                g.stats.code_bytes += c.code_size as u64;
                let _ = e.compiled.set(c);
                g.compiled.push(e.clone());
                Ok(())
            }
            Err(CompileError::CodeMemory(err)) => Err(EngineError::Compile(CompileError::CodeMemory(err))),
            Err(_) => {
                // A region the JIT cannot handle stays in the interpreter tier.
                g.stats.compile_failures += 1;
                e.compile_failed.store(true, Ordering::Relaxed);
                Ok(())
            }
        }
    }

    /// Link chain slot `slot` to its target if the target is compiled.
    fn try_chain(&self, slot: u32) -> bool {
        let mut g = self.lock();
        let g = &mut *g;
        let info = &g.slots.info[slot as usize];
        if info.linked_to.is_some() {
            return false;
        }
        let Some(target) = g.map.get(&(info.target_pc, info.mode)).cloned() else { return false };
        let Some(c) = target.compiled.get() else { return false };
        g.slots.set(slot as usize, c.entry as u64);
        g.slots.info[slot as usize].linked_to = Some(target);
        g.stats.chains_linked += 1;
        true
    }

    /// The guest instruction of the host code at `host_pc`, if compiled code.
    fn fault_site(&self, host_pc: usize) -> Option<FaultSite> {
        self.lock().compiled.iter().filter_map(|e| e.compiled.get()).find_map(|c| {
            c.guest_pc_at(host_pc).map(|pc| FaultSite {
                pc,
                atomic: c.is_atomic_at(host_pc),
                replay: c.replay_at(host_pc),
            })
        })
    }

    /// Drop every region decoded from guest bytes overlapping `range` (self-modifying
    /// code, munmap, code loaded over old code). Chain slots into them are unlinked at
    /// once; every engine drops its lookup table and private map when it next enters
    /// the dispatcher. Returns how many regions were dropped.
    pub fn invalidate(&self, range: Range<u64>) -> usize {
        let mut g = self.lock();
        let g = &mut *g;
        g.stats.invalidations += 1;
        let dropped: Vec<(u64, u32)> = g
            .map
            .iter()
            .filter(|(_, e)| e.guest_bytes.start < range.end && range.start < e.guest_bytes.end)
            .map(|(k, _)| *k)
            .collect();
        for k in &dropped {
            if let Some(e) = g.map.remove(k) {
                e.valid.store(false, Ordering::Release);
            }
        }
        if !dropped.is_empty() {
            for sid in 0..g.slots.info.len() {
                let stale = g.slots.info[sid].linked_to.as_ref().is_some_and(|t| !t.valid.load(Ordering::Acquire));
                if stale {
                    g.slots.info[sid].linked_to = None;
                    g.slots.set(sid, 0);
                }
            }
            // Host code of dropped regions stays in code memory (a thread may still be
            // running it until its next dispatcher entry).
            self.generation.fetch_add(1, Ordering::AcqRel);
            for k in self.kicks.lock().unwrap_or_else(|e| e.into_inner()).iter() {
                // SAFETY: registered engines are alive (see `Kick`).
                unsafe {
                    (*k.jit).store(1, Ordering::Release);
                    (*k.interp).store(true, Ordering::Release);
                }
            }
        }
        g.stats.regions_invalidated += dropped.len() as u64;
        dropped.len()
    }
}

/// With `MIMIC_PERF_MAP=1`, compiled regions are listed in `/tmp/perf-<pid>.map` so
/// that `perf report` names host code by guest pc.
fn perf_map(start: u64, size: usize, guest_pc: u64) {
    use std::io::Write;
    static FILE: OnceLock<Option<Mutex<std::fs::File>>> = OnceLock::new();
    let f = FILE.get_or_init(|| {
        std::env::var_os("MIMIC_PERF_MAP")?;
        let path = format!("/tmp/perf-{}.map", std::process::id());
        std::fs::File::create(path).ok().map(Mutex::new)
    });
    if let Some(f) = f {
        let _ = writeln!(f.lock().unwrap_or_else(|e| e.into_inner()), "{start:x} {size:x} guest_{guest_pc:x}");
    }
}

const LOOKUP_ENTRIES: usize = 4096;
/// Back edges an interpreted region may take per entry (see `RunControl`).
const LOOP_BUDGET: u32 = 256;

/// The engine of one guest thread: dispatch loop, lookup table and exit request over a
/// shared [`CodeCache`].
/// Where compiled code faulted at the host.
struct FaultSite {
    /// The guest instruction.
    pc: u64,
    /// Inside an atomic read-modify-write (a fault there is a write).
    atomic: bool,
    /// The entry of the speculatively compiled region it is in (see
    /// [`mimic_backend::cranelift::speculative`]), to re-run in the interpreter.
    replay: Option<u64>,
}

pub struct Engine<F: Frontend> {
    id: u64,
    /// Set by [`Engine::request_exit`]; distinguishes the embedder's requests from
    /// the cache's kicks.
    user_request: Box<AtomicBool>,
    cache: Arc<CodeCache<F>>,
    layout: Arc<StateLayout>,
    seen: HashMap<(u64, u32), Arc<Entry>>,
    generation: u64,
    lookup: Box<[LookupEntry]>,
    ctx: Box<JitCtx>,
    control: Box<RunControl>,
    stats: Stats,
    mode: u32,
    /// The guest's host FP control/status (MXCSR: rounding mode and sticky exception
    /// flags, which the frontends read as the guest's), kept here while host code
    /// runs so that neither disturbs the other.
    fp_env: u32,
}

/// MXCSR at process start: round to nearest, every exception masked, no flags.
pub const DEFAULT_FP_ENV: u32 = 0x1f80;

impl<F: Frontend> Drop for Engine<F> {
    fn drop(&mut self) {
        self.cache.kicks.lock().unwrap_or_else(|e| e.into_inner()).retain(|k| k.engine != self.id);
        // An ended thread's dispatch counters still count for the process.
        let mine = self.dispatch_stats();
        self.cache.lock().stats.add_dispatch(&mine);
    }
}

// SAFETY: the raw pointers inside `ctx` point into this engine's own lookup table,
// which moves with it; chain slots and code are shared data designed for
// cross-thread reads.
unsafe impl<F: Frontend + Send> Send for Engine<F> {}

impl<F: Frontend> Engine<F> {
    /// A new engine with its own code cache. Installs the process-wide handler that
    /// turns host faults in generated code into precise guest faults.
    pub fn new(frontend: F, config: EngineConfig) -> Engine<F> {
        Engine::with_cache(CodeCache::new(frontend, config))
    }

    /// An engine for another guest thread sharing `cache`.
    pub fn with_cache(cache: Arc<CodeCache<F>>) -> Engine<F> {
        mimic_backend::cranelift::entry::install_fault_handler();
        let lookup = vec![LookupEntry::default(); LOOKUP_ENTRIES].into_boxed_slice();
        let ctx = Box::new(JitCtx::new(&lookup));
        let control = Box::new(RunControl::default());
        // A loop that stays inside one interpreted region returns to the dispatcher
        // after this many iterations, counting as a region entry towards compilation.
        control.back_edge_budget.store(LOOP_BUDGET, Ordering::Relaxed);
        let id = cache.next_engine.fetch_add(1, Ordering::Relaxed);
        cache.kicks.lock().unwrap_or_else(|e| e.into_inner()).push(Kick {
            engine: id,
            jit: &ctx.exit_request,
            interp: &control.exit_request,
        });
        Engine {
            id,
            user_request: Box::new(AtomicBool::new(false)),
            layout: cache.layout.clone(),
            generation: cache.generation.load(Ordering::Acquire),
            cache,
            seen: HashMap::new(),
            lookup,
            ctx,
            control,
            stats: Stats::default(),
            mode: 0,
            fp_env: DEFAULT_FP_ENV,
        }
    }

    /// The guest's FP environment (see the field); a new thread starts with its
    /// creator's, as on Linux.
    pub fn fp_env(&self) -> u32 {
        self.fp_env
    }
    pub fn set_fp_env(&mut self, v: u32) {
        self.fp_env = v;
    }

    pub fn cache(&self) -> &Arc<CodeCache<F>> {
        &self.cache
    }
    pub fn layout(&self) -> &Arc<StateLayout> {
        &self.layout
    }
    /// This thread's dispatch counters (plus those of the process's threads that have
    /// ended) merged with the shared translation counters.
    pub fn stats(&self) -> Stats {
        // Translation counters live in the shared cache; dispatch counters are this
        // thread's, and the chain/lookup hits are counted by its compiled code.
        let mut s = self.cache.stats();
        s.add_dispatch(&self.dispatch_stats());
        s
    }

    fn dispatch_stats(&self) -> Stats {
        Stats { chain_hits: self.ctx.chain_hits, lookup_hits: self.ctx.lookup_hits, ..self.stats.clone() }
    }
    /// Ask running code to return at the next chained exit or loop back edge.
    pub fn request_exit(&self) {
        self.user_request.store(true, Ordering::Relaxed);
        self.ctx.exit_request.store(1, Ordering::Relaxed);
        self.control.exit_request.store(true, Ordering::Relaxed);
    }
    /// A handle that requests an exit like [`Engine::request_exit`] from anywhere,
    /// including a host signal handler (it only stores atomics). Valid while this
    /// engine lives.
    pub fn exit_handle(&self) -> ExitHandle {
        ExitHandle { user: &*self.user_request, jit: &self.ctx.exit_request, interp: &self.control.exit_request }
    }
    pub fn clear_exit_request(&self) {
        self.user_request.store(false, Ordering::Relaxed);
        self.ctx.exit_request.store(0, Ordering::Relaxed);
        self.control.exit_request.store(false, Ordering::Relaxed);
    }

    /// An interrupt that was only the cache's kick: clear it and carry on.
    fn absorb_kick(&self) -> bool {
        if self.user_request.load(Ordering::Relaxed) {
            return false;
        }
        self.ctx.exit_request.store(0, Ordering::Relaxed);
        self.control.exit_request.store(false, Ordering::Relaxed);
        true
    }
    /// Select the decode mode (Thumb, 32/64-bit...) that keys the cache.
    pub fn set_mode(&mut self, mode: u32) {
        if mode != self.mode {
            // Lookup entries are keyed by pc only: drop those of the old mode.
            self.lookup.fill(LookupEntry::default());
        }
        self.mode = mode;
    }
    /// Whether the region at `pc` is currently compiled (for tests and tracing).
    pub fn is_compiled(&self, pc: u64) -> bool {
        self.cache.lock().map.get(&(pc, self.mode)).is_some_and(|e| e.compiled.get().is_some())
    }
    /// See [`CodeCache::invalidate`].
    pub fn invalidate(&mut self, range: Range<u64>) -> usize {
        let n = self.cache.invalidate(range);
        self.sync_generation();
        n
    }

    fn sync_generation(&mut self) {
        let g = self.cache.generation.load(Ordering::Acquire);
        if g != self.generation {
            self.generation = g;
            self.seen.clear();
            self.lookup.fill(LookupEntry::default());
        }
    }

    fn wants_compile(&self, e: &Entry, mem: &dyn GuestMemory) -> bool {
        if e.compiled.get().is_some() || e.compile_failed.load(Ordering::Relaxed) || !mem.jit_safe() {
            return false;
        }
        match self.cache.config.tier {
            Tier::Interp => false,
            Tier::Jit => true,
            Tier::Auto { threshold } => e.entries.load(Ordering::Relaxed) >= threshold,
        }
    }

    /// Run the guest from the pc in `state` until it needs its embedder.
    pub fn run(&mut self, state: &mut StateBuf, mem: &mut dyn GuestMemory) -> Result<Stop, EngineError> {
        let host = mxcsr();
        set_mxcsr(self.fp_env);
        let r = self.dispatch(state, mem);
        self.fp_env = mxcsr();
        set_mxcsr(host);
        if self.cache.config.count_insns {
            // Move the count out of the guest state (which a signal frame or a new
            // thread may copy) into this engine's counters.
            let icount = self.layout.icount;
            self.stats.guest_insns_executed += state.get(&self.layout, icount) as u64;
            state.set(&self.layout, icount, 0);
        }
        r
    }

    /// Translation is host work: the guest's flags and rounding mode stay out of it and
    /// it stays out of them (constant folding evaluates guest float ops on the host).
    fn translate(&self, pc: u64, mem: &mut dyn GuestMemory) -> Result<Arc<Entry>, TranslateError> {
        let guest = mxcsr();
        set_mxcsr(DEFAULT_FP_ENV);
        let t = self.cache.lookup_or_translate(pc, self.mode, mem);
        set_mxcsr(guest);
        t
    }

    fn dispatch(&mut self, state: &mut StateBuf, mem: &mut dyn GuestMemory) -> Result<Stop, EngineError> {
        let pc_slot = self.layout.pc;
        // Set after a host fault in a speculatively compiled region: run the region
        // at the pc slot (its entry) once in the interpreter, which faults precisely.
        let mut replay = false;
        loop {
            let pc = state.get(&self.layout, pc_slot) as u64;
            if self.control.exit_request.load(Ordering::Relaxed) && !self.absorb_kick() {
                return Ok(Stop::Interrupted { pc });
            }
            self.sync_generation();
            let e = match self.seen.get(&(pc, self.mode)) {
                Some(e) => {
                    self.stats.cache_hits += 1;
                    e.clone()
                }
                None => match self.translate(pc, mem) {
                    Ok(e) => {
                        self.seen.insert((pc, self.mode), e.clone());
                        e
                    }
                    Err(TranslateError::Fetch { .. } | TranslateError::NoCode { .. }) => {
                        return Ok(Stop::NoCode { pc })
                    }
                },
            };
            e.entries.fetch_add(1, Ordering::Relaxed);
            if self.wants_compile(&e, mem) {
                self.cache.compile(&e, mem.addr_bits())?;
            }
            if let Some(c) = e.compiled.get().filter(|_| !std::mem::take(&mut replay)) {
                self.stats.jit_entries += 1;
                let base = mem.host_base();
                // SAFETY: `c.entry` was produced by the cache's compiler for a region of
                // this layout and its code memory lives as long as the cache; `state` is
                // a buffer of that layout; the memory declared itself JIT-safe (every
                // access maps at `base + addr` or faults at the host, and the fault
                // handler is installed); chain slots and this engine's lookup table only
                // hold code of that compiler.
                let code =
                    unsafe { mimic_backend::cranelift::enter_code(c.entry, state.as_mut_ptr(), base, &mut *self.ctx) };
                match JitExit::decode(code) {
                    Some(JitExit::Jump { slot }) => {
                        self.stats.direct_misses += 1;
                        // Only take the cache lock when the target (now in the pc slot)
                        // is known to be compiled; cold targets stay unlinked cheaply.
                        let target = state.get(&self.layout, pc_slot) as u64;
                        if self.seen.get(&(target, self.mode)).is_some_and(|t| t.compiled.get().is_some()) {
                            self.cache.try_chain(slot);
                        }
                    }
                    Some(JitExit::Indirect { .. }) => {
                        self.stats.lookup_misses += 1;
                        let target = state.get(&self.layout, pc_slot) as u64;
                        if let Some(t) = self.seen.get(&(target, self.mode)) {
                            if let Some(tc) = t.compiled.get() {
                                let i = lookup_index(target, self.lookup.len() as u64 - 1);
                                self.lookup[i] = LookupEntry { pc: target, code: tc.entry as u64 };
                            }
                        }
                    }
                    Some(JitExit::Syscall) => return Ok(Stop::Syscall),
                    Some(JitExit::Trap { kind }) => {
                        return Ok(Stop::Trap { kind, pc: state.get(&self.layout, pc_slot) as u64 })
                    }
                    Some(JitExit::Interrupted) => {
                        if !self.absorb_kick() {
                            return Ok(Stop::Interrupted { pc: state.get(&self.layout, pc_slot) as u64 });
                        }
                    }
                    Some(JitExit::Fault) => {
                        let site = self.cache.fault_site(self.ctx.fault_host_pc as usize);
                        if let Some(entry_pc) = site.as_ref().and_then(|s| s.replay) {
                            // The state buffer is as at that region's entry.
                            self.stats.fault_replays += 1;
                            state.set(&self.layout, pc_slot, entry_pc as u128);
                            replay = true;
                            continue;
                        }
                        let (guest_pc, atomic) =
                            site.map_or((state.get(&self.layout, pc_slot) as u64, false), |s| (s.pc, s.atomic));
                        state.set(&self.layout, pc_slot, guest_pc as u128);
                        let flags = self.ctx.fault_flags;
                        // An atomic read-modify-write faults as a write, as on hardware
                        // (the host may have faulted on the load half of its sequence).
                        let write = flags & 1 != 0 || atomic;
                        let fault = if flags & 4 != 0 {
                            MemFault { addr: 0, write, kind: FaultKind::OutOfRange }
                        } else if flags & 8 != 0 {
                            MemFault {
                                addr: self.ctx.fault_addr.wrapping_sub(base as u64),
                                write,
                                kind: FaultKind::Bus,
                            }
                        } else {
                            let addr = self.ctx.fault_addr.wrapping_sub(base as u64);
                            let host_kind = if flags & 2 != 0 { FaultKind::Protection } else { FaultKind::Unmapped };
                            MemFault { addr, write, kind: mem.fault_kind(addr).unwrap_or(host_kind) }
                        };
                        return Ok(Stop::Fault { fault, pc: guest_pc });
                    }
                    None => unreachable!("compiled code returned an unknown exit code {code:#x}"),
                }
            } else {
                self.stats.interp_executions += 1;
                match interp::run(&e.region, state, mem, &self.control) {
                    Exit::Jump { .. } => self.stats.direct_misses += 1,
                    Exit::Indirect { .. } => self.stats.lookup_misses += 1,
                    Exit::Syscall { .. } => return Ok(Stop::Syscall),
                    Exit::Trap { kind, pc } => return Ok(Stop::Trap { kind, pc }),
                    Exit::Fault { fault, pc } => return Ok(Stop::Fault { fault, pc }),
                    Exit::Interrupted { pc } => {
                        if self.control.budget_spent.swap(false, Ordering::Relaxed) {
                            // A hot loop inside the region: compile it at its next entry.
                            if let Tier::Auto { threshold } = self.cache.config.tier {
                                e.entries.fetch_max(threshold, Ordering::Relaxed);
                            }
                            if !self.control.exit_request.load(Ordering::Relaxed) {
                                continue;
                            }
                        }
                        if !self.absorb_kick() {
                            return Ok(Stop::Interrupted { pc });
                        }
                    }
                }
            }
        }
    }
}
