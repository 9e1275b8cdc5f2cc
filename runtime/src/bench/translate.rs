//! `mimic bench translate`: every region of a program's code through every stage.
//!
//! For each region entry (see [`super::code`]) the region is decoded and lifted by the
//! ISA's frontend exactly as the engine does, then (for the `jit` tier) run through the
//! IR passes, compiled by Cranelift and emitted into code memory, with each stage timed
//! separately. The `interp` tier's translation is decode + lift (the reference
//! interpreter runs the lifted IR). Regions that cannot be translated are counted and
//! kept with their reason.

use super::code::CodeImage;
use mimic_backend::cranelift::{ChainSlotRef, CompileError, Compiler, OptLevel};
use mimic_backend::CodeMemory;
use mimic_frontend::{Frontend, TranslateError};
use mimic_ir::{interp, passes, FaultKind, Imm, MemFault, Opcode, Region, TrapKind};
use std::collections::{BTreeMap, HashSet, VecDeque};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The tiers whose translation is measured.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum BenchTier {
    /// Decode + lift; the reference interpreter runs the IR.
    Interp,
    /// Decode + lift + IR passes + Cranelift + code emission.
    Jit,
}

impl BenchTier {
    pub fn name(self) -> &'static str {
        match self {
            BenchTier::Interp => "interp",
            BenchTier::Jit => "jit",
        }
    }
    /// The stages of this tier's translation.
    pub fn stages(self) -> &'static [Stage] {
        match self {
            BenchTier::Interp => &[Stage::Decode, Stage::Lift],
            BenchTier::Jit => &[Stage::Decode, Stage::Lift, Stage::Passes, Stage::Compile, Stage::Emit],
        }
    }
}

/// A translation stage.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stage {
    /// Fetching guest bytes and decoding them (finding the region's end).
    Decode,
    /// Lifting the instructions into IR.
    Lift,
    /// The IR passes (constant folding, state forwarding, dead state, DCE).
    Passes,
    /// Cranelift: building the CLIF function, then compiling it to machine code.
    Compile,
    /// Copying the machine code into code memory and applying relocations.
    Emit,
}

impl Stage {
    pub fn name(self) -> &'static str {
        match self {
            Stage::Decode => "decode",
            Stage::Lift => "lift",
            Stage::Passes => "passes",
            Stage::Compile => "compile",
            Stage::Emit => "emit",
        }
    }
}

/// One translated region.
#[derive(Clone, Debug, Default)]
pub struct Sample {
    pub pc: u64,
    pub guest_insns: u32,
    pub ir_ops_lifted: u32,
    /// After the passes (jit tier only; 0 otherwise).
    pub ir_ops_optimized: u32,
    /// Host code bytes (jit tier only).
    pub code_bytes: u32,
    pub decode: Duration,
    pub lift: Duration,
    pub passes: Duration,
    /// CLIF construction (part of [`Stage::Compile`]).
    pub clif: Duration,
    /// Cranelift's code generation (part of [`Stage::Compile`]).
    pub codegen: Duration,
    pub emit: Duration,
    /// Whether the JIT compiled it (false: not attempted, or failed).
    pub compiled: bool,
}

impl Sample {
    pub fn stage(&self, s: Stage) -> Duration {
        match s {
            Stage::Decode => self.decode,
            Stage::Lift => self.lift,
            Stage::Passes => self.passes,
            Stage::Compile => self.clif + self.codegen,
            Stage::Emit => self.emit,
        }
    }
}

/// Why a region was not translated.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum FailReason {
    /// Its first instruction does not decode (data, padding, or an instruction mimic
    /// does not implement); it would raise SIGILL. `zero`: the bytes are all zero
    /// (alignment padding, as a rule).
    Undecodable { zero: bool },
    /// Its code could not be read (it runs past the end of its code range).
    Fetch,
    /// Cranelift (or mimic's backend) rejected it; the engine would interpret it.
    Compile(String),
}

impl std::fmt::Display for FailReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            FailReason::Undecodable { zero: true } => write!(f, "undecodable first instruction: zero bytes (padding)"),
            FailReason::Undecodable { zero: false } => {
                write!(f, "undecodable first instruction: data, or an instruction mimic does not implement")
            }
            FailReason::Fetch => write!(f, "code runs past the end of its range"),
            FailReason::Compile(m) => write!(f, "compile error: {m}"),
        }
    }
}

#[derive(Clone, Debug)]
pub struct Failure {
    pub pc: u64,
    pub reason: FailReason,
    /// The undecodable instruction bytes, as the frontend shows them.
    pub detail: Option<String>,
    /// Which tiers it fails in.
    pub jit_only: bool,
}

/// Options of a translation benchmark.
#[derive(Clone, Debug)]
pub struct Options {
    pub tiers: Vec<BenchTier>,
    pub opt: OptLevel,
    /// Run the IR passes before compiling (as the engine does).
    pub optimize_ir: bool,
    /// Stop after this many regions (0: no limit).
    pub max_regions: usize,
    /// Guest address bits of user mode (the backend's address masking), as `mimic run`
    /// compiles.
    pub addr_bits: Option<u8>,
}

/// Progress of a running benchmark.
#[derive(Clone, Copy, Debug)]
pub struct Progress {
    pub regions: usize,
    pub queued: usize,
    pub code_bytes_covered: u64,
    pub code_bytes: u64,
}

/// What a translation benchmark measured.
#[derive(Clone, Debug)]
pub struct Results {
    pub samples: Vec<Sample>,
    pub failures: Vec<Failure>,
    /// Translated regions that stop at an undecodable instruction after their first.
    pub truncated: u64,
    /// Distinct guest bytes covered by translated regions.
    pub bytes_covered: u64,
    pub wall: Duration,
    pub tiers: Vec<BenchTier>,
    pub opt: OptLevel,
}

impl Results {
    /// Region entries tried: translated plus failed.
    pub fn regions_counted(&self) -> usize {
        self.samples.len() + self.failures.iter().filter(|f| !f.jit_only).count()
    }
}

/// A fixed, never-read chain slot: compiled code only embeds its address.
static DUMMY_SLOT: u64 = 0;

fn undecodable(r: &Region) -> Option<bool> {
    // Some(true): the first instruction; Some(false): a later one.
    r.blocks.iter().find_map(|b| {
        let last = r.inst(*b.insts.last()?);
        match (last.op, last.imm) {
            (Opcode::ExitTrap, Imm::Trap(TrapKind::Illegal, pc)) => Some(pc == r.entry_pc),
            _ => None,
        }
    })
}

struct Jit {
    compiler: Compiler,
    opt: OptLevel,
    addr_bits: Option<u8>,
}

impl Jit {
    const CODE_CAPACITY: usize = 256 << 20;

    fn new(opt: OptLevel, addr_bits: Option<u8>) -> Result<Jit, CompileError> {
        let code = CodeMemory::new(Self::CODE_CAPACITY).map_err(CompileError::CodeMemory)?;
        let mut compiler = Compiler::new(Arc::new(code), opt)?;
        compiler.set_addr_bits(addr_bits);
        Ok(Jit { compiler, opt, addr_bits })
    }

    fn compile(&mut self, region: &Region, s: &mut Sample) -> Result<(), CompileError> {
        let exits = interp::direct_exit_indices(region).iter().filter(|&&x| x != u32::MAX).count();
        let slots = vec![ChainSlotRef { id: 0, addr: &DUMMY_SLOT }; exits];
        let r = match self.compiler.compile(region, &slots) {
            // Code memory full: start a fresh one (the old code is never run).
            Err(CompileError::CodeMemory(_)) => {
                *self = Jit::new(self.opt, self.addr_bits)?;
                self.compiler.compile(region, &slots)
            }
            r => r,
        };
        let c = r?;
        s.clif = c.times.build;
        s.codegen = c.times.codegen;
        s.emit = c.times.emit;
        s.code_bytes = c.code_size as u32;
        s.compiled = true;
        Ok(())
    }
}

/// Translate every region of `code` with `frontend`.
pub fn run(
    code: &CodeImage,
    frontend: &mut dyn Frontend,
    opts: &Options,
    progress: &mut dyn FnMut(Progress),
) -> Result<Results, CompileError> {
    let t_start = Instant::now();
    let jit_on = opts.tiers.contains(&BenchTier::Jit);
    let mut jit = if jit_on { Some(Jit::new(opts.opt, opts.addr_bits)?) } else { None };
    let mut queue: VecDeque<u64> = code.seeds.iter().copied().collect();
    queue.extend(code.ranges.iter().map(|(r, _)| r.start));
    let mut seen: HashSet<u64> = HashSet::new();
    let mut covered: Vec<std::ops::Range<u64>> = Vec::new();
    let mut res = Results {
        samples: Vec::new(),
        failures: Vec::new(),
        truncated: 0,
        bytes_covered: 0,
        wall: Duration::ZERO,
        tiers: opts.tiers.clone(),
        opt: opts.opt,
    };
    // Warm up: the first translation builds the decode tables and the first compile
    // sets up Cranelift's contexts; neither is a per-region cost.
    if let Some(&pc) = queue.front() {
        let mut fetch = |a: u64, buf: &mut [u8]| {
            if code.fetch(a, buf) {
                Ok(())
            } else {
                Err(MemFault { addr: a, write: false, kind: FaultKind::Unmapped })
            }
        };
        if let (Ok(l), Some(jit)) = (frontend.translate(pc, &mut fetch), jit.as_mut()) {
            let _ = jit.compile(&l.region, &mut Sample::default());
        }
    }
    // The first progress report comes at once, then every 250 ms.
    let mut last_progress = Instant::now() - Duration::from_secs(1);
    while let Some(pc) = queue.pop_front() {
        if !seen.insert(pc) {
            continue;
        }
        if opts.max_regions != 0 && res.samples.len() + res.failures.len() >= opts.max_regions {
            break;
        }
        if last_progress.elapsed() >= Duration::from_millis(250) {
            last_progress = Instant::now();
            let done: u64 = covered.iter().map(|r| r.end - r.start).sum();
            progress(Progress {
                regions: res.samples.len() + res.failures.len(),
                queued: queue.len(),
                code_bytes_covered: done,
                code_bytes: code.code_bytes(),
            });
        }
        let Some(range) = code.range_of(pc) else { continue };
        let mut fetch = |a: u64, buf: &mut [u8]| {
            if code.fetch(a, buf) {
                Ok(())
            } else {
                Err(MemFault { addr: a, write: false, kind: FaultKind::Unmapped })
            }
        };
        let lifted = match frontend.translate(pc, &mut fetch) {
            Ok(l) => l,
            Err(TranslateError::Fetch { .. } | TranslateError::NoCode { .. }) => {
                res.failures.push(Failure { pc, reason: FailReason::Fetch, detail: None, jit_only: false });
                continue;
            }
        };
        // Sweep on: the next region starts where this one's straight-line code from its
        // entry ended (it may have continued at a branch target further on), and after
        // the furthest byte it covers.
        let mut next = vec![lifted.guest_bytes.end];
        if let Some(w) = frontend.fixed_insn_size() {
            let pcs: HashSet<u64> = lifted.region.insn_pcs().into_iter().collect();
            let mut end = pc;
            while pcs.contains(&end) {
                end += w;
            }
            next.push(end);
        }
        for a in next {
            if range.contains(&a) {
                queue.push_back(a);
            }
        }
        match undecodable(&lifted.region) {
            Some(true) => {
                let mut bytes = vec![0u8; (lifted.guest_bytes.end - pc) as usize];
                let zero = code.fetch(pc, &mut bytes) && bytes.iter().all(|&b| b == 0);
                let line = frontend.disassemble(&lifted.region, &mut fetch).into_iter().next().unwrap_or_default();
                let word = line.split_whitespace().nth(1).map(str::to_string);
                res.failures.push(Failure {
                    pc,
                    reason: FailReason::Undecodable { zero },
                    detail: word,
                    jit_only: false,
                });
                continue;
            }
            Some(false) => res.truncated += 1,
            None => {}
        }
        // Follow direct exits and call return addresses inside the code.
        for b in &lifted.region.blocks {
            for &i in &b.insts {
                if let Imm::Exit { pc: target, ret, .. } = lifted.region.inst(i).imm {
                    for a in [target, ret] {
                        if a != 0 && !seen.contains(&a) && code.range_of(a).is_some() {
                            queue.push_back(a);
                        }
                    }
                }
            }
        }
        // The bytes of the instructions translated (a region's byte range may span
        // code it jumped over).
        match frontend.fixed_insn_size() {
            Some(w) => covered.extend(lifted.region.insn_pcs().into_iter().map(|p| p..p + w)),
            None => covered.push(lifted.guest_bytes.clone()),
        }
        let mut s = Sample {
            pc,
            guest_insns: lifted.region.guest_insns,
            ir_ops_lifted: lifted.region.op_count() as u32,
            decode: lifted.decode_time,
            lift: lifted.lift_time,
            ..Sample::default()
        };
        if let Some(jit) = jit.as_mut() {
            let mut region = lifted.region;
            if opts.optimize_ir {
                let t = Instant::now();
                passes::optimize(&mut region);
                s.passes = t.elapsed();
            }
            s.ir_ops_optimized = region.op_count() as u32;
            match jit.compile(&region, &mut s) {
                Ok(()) => {}
                Err(CompileError::CodeMemory(e)) => return Err(CompileError::CodeMemory(e)),
                Err(e) => {
                    let reason = FailReason::Compile(e.to_string());
                    res.failures.push(Failure { pc, reason, detail: None, jit_only: true });
                }
            }
        }
        res.samples.push(s);
    }
    res.bytes_covered = union_len(&mut covered);
    res.wall = t_start.elapsed();
    Ok(res)
}

fn union_len(rs: &mut [std::ops::Range<u64>]) -> u64 {
    rs.sort_by_key(|r| r.start);
    let (mut total, mut end) = (0u64, 0u64);
    for r in rs.iter() {
        let s = r.start.max(end);
        if r.end > s {
            total += r.end - s;
        }
        end = end.max(r.end);
    }
    total
}

/// Distribution of per-region times, in microseconds.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Dist {
    pub median: f64,
    pub p90: f64,
    pub p99: f64,
    pub max: f64,
}

impl Dist {
    /// Nearest-rank percentiles of `v` (sorted in place).
    pub fn of(v: &mut [f64]) -> Dist {
        if v.is_empty() {
            return Dist::default();
        }
        v.sort_by(|a, b| a.total_cmp(b));
        let rank = |p: f64| v[((p * v.len() as f64).ceil() as usize).clamp(1, v.len()) - 1];
        Dist { median: rank(0.5), p90: rank(0.9), p99: rank(0.99), max: v[v.len() - 1] }
    }
}

/// One stage's totals over the regions a tier translated.
#[derive(Clone, Debug)]
pub struct StageSummary {
    pub name: &'static str,
    pub total: Duration,
    pub insns_per_sec: f64,
    pub us_per_insn: f64,
    pub us_per_region: Dist,
}

/// One tier's results.
#[derive(Clone, Debug)]
pub struct TierSummary {
    pub tier: BenchTier,
    pub regions_translated: usize,
    pub regions_failed: usize,
    pub guest_insns: u64,
    pub stages: Vec<StageSummary>,
    /// All of the tier's stages together.
    pub total: StageSummary,
    pub ir_ops_per_insn_lifted: f64,
    pub ir_ops_per_insn_optimized: Option<f64>,
    pub host_bytes_per_insn: Option<f64>,
    /// Failures by reason: (reason, count, first examples as `address` or
    /// `address:bytes`).
    pub failures: Vec<(String, usize, Vec<String>)>,
}

fn stage_summary(name: &'static str, samples: &[&Sample], f: &dyn Fn(&Sample) -> Duration) -> StageSummary {
    let insns: u64 = samples.iter().map(|s| s.guest_insns as u64).sum();
    let total: Duration = samples.iter().map(|s| f(s)).sum();
    let secs = total.as_secs_f64();
    let mut per: Vec<f64> = samples.iter().map(|s| f(s).as_secs_f64() * 1e6).collect();
    StageSummary {
        name,
        total,
        insns_per_sec: if secs > 0.0 { insns as f64 / secs } else { 0.0 },
        us_per_insn: if insns > 0 { secs * 1e6 / insns as f64 } else { 0.0 },
        us_per_region: Dist::of(&mut per),
    }
}

/// Examples kept per failure reason.
pub const FAILURE_EXAMPLES: usize = 8;

impl Results {
    pub fn summarize(&self, tier: BenchTier) -> TierSummary {
        let jit = tier == BenchTier::Jit;
        let ok: Vec<&Sample> = self.samples.iter().filter(|s| !jit || s.compiled).collect();
        let failures: Vec<&Failure> = self.failures.iter().filter(|f| jit || !f.jit_only).collect();
        let mut by_reason: BTreeMap<String, (usize, Vec<String>)> = BTreeMap::new();
        for f in &failures {
            let e = by_reason.entry(f.reason.to_string()).or_default();
            e.0 += 1;
            if e.1.len() < FAILURE_EXAMPLES {
                e.1.push(match &f.detail {
                    Some(d) => format!("{:#x}:{d}", f.pc),
                    None => format!("{:#x}", f.pc),
                });
            }
        }
        let stages: Vec<StageSummary> =
            tier.stages().iter().map(|&st| stage_summary(st.name(), &ok, &move |s: &Sample| s.stage(st))).collect();
        let tier_stages = tier.stages();
        let total = stage_summary("total", &ok, &|s: &Sample| tier_stages.iter().map(|&st| s.stage(st)).sum());
        let insns: u64 = ok.iter().map(|s| s.guest_insns as u64).sum();
        let per_insn = |n: u64| if insns > 0 { n as f64 / insns as f64 } else { 0.0 };
        TierSummary {
            tier,
            regions_translated: ok.len(),
            regions_failed: failures.len(),
            guest_insns: insns,
            stages,
            total,
            ir_ops_per_insn_lifted: per_insn(ok.iter().map(|s| s.ir_ops_lifted as u64).sum()),
            ir_ops_per_insn_optimized: jit.then(|| per_insn(ok.iter().map(|s| s.ir_ops_optimized as u64).sum())),
            host_bytes_per_insn: jit.then(|| per_insn(ok.iter().map(|s| s.code_bytes as u64).sum())),
            failures: by_reason.into_iter().map(|(k, (n, ex))| (k, n, ex)).collect(),
        }
    }
}
