//! `mimic bench`: how fast each stage translates real code, and how fast it runs.
//!
//! - [`code`]: finding a program's code (symbols, sections, segments);
//! - [`translate`]: every region through decode, lift, IR passes, Cranelift and code
//!   emission, each timed;
//! - [`run`]: running a program (under mimic, and under qemu-user to compare) and
//!   collecting times, counters and memory.
//!
//! Both produce text tables and JSON documents whose schemas are versioned
//! (`mimic-bench-translate/1`, `mimic-bench-run/1`) and checked in beside this module
//! (`translate.schema.json`, `run.schema.json`).

pub mod code;
pub mod run;
pub mod translate;

use crate::linux::arch::{Aarch64Linux, LinuxArch};
use crate::linux::elf::Arch;
use crate::linux::ppc::Ppc64Linux;
use crate::linux::ppc32::Ppc32Linux;
use code::CodeImage;
use mimic_frontend::Frontend;
use serde_json::{json, Value};
use std::fmt::Write;
use std::path::Path;
use translate::{Dist, Results, StageSummary, TierSummary};

/// The JSON schema of `mimic bench translate --json`.
pub const TRANSLATE_SCHEMA: &str = include_str!("translate.schema.json");
/// The JSON schema of `mimic bench run --json`.
pub const RUN_SCHEMA: &str = include_str!("run.schema.json");

/// Why a benchmark could not run.
#[derive(Debug)]
pub enum BenchError {
    Io { path: String, err: std::io::Error },
    Code { path: String, err: code::CodeError },
    Unsupported { path: String, arch: Arch },
    Compile(mimic_backend::CompileError),
    Run(String),
}

impl std::fmt::Display for BenchError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            BenchError::Io { path, err } => write!(f, "{path}: {err}"),
            BenchError::Code { path, err } => write!(f, "{path}: {err}"),
            BenchError::Unsupported { path, arch } => {
                write!(
                    f,
                    "{path}: a {} program; mimic translates aarch64, ppc64le, ppc64 and ppc (32-bit) so far",
                    arch.name()
                )
            }
            BenchError::Compile(e) => write!(f, "{e}"),
            BenchError::Run(m) => write!(f, "{m}"),
        }
    }
}
impl std::error::Error for BenchError {}

/// The frontend for an architecture, and the guest address bits user mode compiles for.
pub fn frontend_for(arch: Arch) -> Option<(Box<dyn Frontend>, Option<u8>)> {
    match arch {
        Arch::Aarch64 => {
            let a = Aarch64Linux::new();
            Some((Box::new(a.frontend()), Some(a.addr_bits())))
        }
        Arch::Ppc64Le | Arch::Ppc64Be => {
            let a = if arch == Arch::Ppc64Be { Ppc64Linux::new_be() } else { Ppc64Linux::new_le() };
            Some((Box::new(a.frontend()), Some(a.addr_bits())))
        }
        Arch::Ppc => {
            let a = Ppc32Linux::new();
            Some((Box::new(a.frontend()), Some(a.addr_bits())))
        }
        _ => None,
    }
}

/// A translation benchmark of one program.
pub struct TranslateReport {
    pub program: String,
    pub code: CodeImage,
    pub results: Results,
    pub tiers: Vec<TierSummary>,
    /// Peak resident set of this process, in KiB.
    pub peak_rss_kb: u64,
}

/// Peak resident set size of this process so far, in KiB.
pub fn peak_rss_kb() -> u64 {
    // SAFETY: getrusage fills the struct we pass; zeroed is a valid initial value.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: RUSAGE_SELF with a valid out pointer.
    if unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut ru) } != 0 {
        return 0;
    }
    ru.ru_maxrss as u64
}

/// Find and translate every region of the program at `path`.
pub fn translate_file(
    path: &Path,
    mut opts: translate::Options,
    progress: &mut dyn FnMut(translate::Progress),
) -> Result<TranslateReport, BenchError> {
    let name = path.display().to_string();
    let bytes = std::fs::read(path).map_err(|err| BenchError::Io { path: name.clone(), err })?;
    let code = CodeImage::new(bytes).map_err(|err| BenchError::Code { path: name.clone(), err })?;
    let (mut fe, bits) =
        frontend_for(code.arch).ok_or(BenchError::Unsupported { path: name.clone(), arch: code.arch })?;
    opts.addr_bits = bits;
    let results = translate::run(&code, &mut *fe, &opts, progress).map_err(BenchError::Compile)?;
    let tiers = results.tiers.iter().map(|&t| results.summarize(t)).collect();
    Ok(TranslateReport { program: name, code, results, tiers, peak_rss_kb: peak_rss_kb() })
}

fn dist_json(d: &Dist) -> Value {
    json!({ "median": d.median, "p90": d.p90, "p99": d.p99, "max": d.max })
}

fn stage_json(s: &StageSummary) -> Value {
    json!({
        "stage": s.name,
        "total_us": s.total.as_secs_f64() * 1e6,
        "insns_per_sec": s.insns_per_sec,
        "us_per_insn": s.us_per_insn,
        "us_per_region": dist_json(&s.us_per_region),
    })
}

impl TranslateReport {
    /// The `mimic-bench-translate/1` document.
    pub fn to_json(&self) -> Value {
        let r = &self.results;
        let tiers: Vec<Value> = self
            .tiers
            .iter()
            .map(|t| {
                json!({
                    "tier": t.tier.name(),
                    "regions_translated": t.regions_translated,
                    "regions_failed": t.regions_failed,
                    "guest_insns": t.guest_insns,
                    "stages": t.stages.iter().map(stage_json).collect::<Vec<_>>(),
                    "total": stage_json(&t.total),
                    "ir_ops_per_insn_lifted": t.ir_ops_per_insn_lifted,
                    "ir_ops_per_insn_optimized": t.ir_ops_per_insn_optimized,
                    "host_bytes_per_insn": t.host_bytes_per_insn,
                    "failures": t.failures.iter().map(|(reason, n, ex)| json!({
                        "reason": reason,
                        "count": n,
                        "examples": ex,
                    })).collect::<Vec<_>>(),
                })
            })
            .collect();
        json!({
            "schema": "mimic-bench-translate/1",
            "program": self.program,
            "arch": self.code.arch.name(),
            "opt": match r.opt { mimic_backend::OptLevel::Speed => "speed", mimic_backend::OptLevel::None => "none" },
            "discovery": {
                "method": self.code.method.name(),
                "code_ranges": self.code.ranges.len(),
                "code_bytes": self.code.code_bytes(),
                "seeds": self.code.seeds.len(),
                "bytes_covered": r.bytes_covered,
            },
            "regions": {
                "counted": r.regions_counted(),
                "translated": r.samples.len(),
                "failed": r.regions_counted() - r.samples.len(),
                "truncated_by_undecodable": r.truncated,
            },
            "tiers": tiers,
            "wall_ms": r.wall.as_secs_f64() * 1e3,
            "peak_rss_kb": self.peak_rss_kb,
        })
    }

    /// The human-readable report.
    pub fn to_text(&self) -> String {
        let r = &self.results;
        let mut s = String::new();
        let _ = writeln!(
            s,
            "{}: {} code, {} bytes in {} range(s) found by {}, {} entry points",
            self.program,
            self.code.arch.name(),
            self.code.code_bytes(),
            self.code.ranges.len(),
            self.code.method.name(),
            self.code.seeds.len()
        );
        let _ = writeln!(
            s,
            "regions: {} counted = {} translated + {} failed; {} end at an undecodable word; {:.1}% of the code covered",
            r.regions_counted(),
            r.samples.len(),
            r.regions_counted() - r.samples.len(),
            r.truncated,
            100.0 * r.bytes_covered as f64 / self.code.code_bytes().max(1) as f64
        );
        for t in &self.tiers {
            let _ = writeln!(
                s,
                "\ntier {}: {} regions, {} guest insns ({:.1} insns/region)",
                t.tier.name(),
                t.regions_translated,
                t.guest_insns,
                t.guest_insns as f64 / t.regions_translated.max(1) as f64
            );
            let _ = writeln!(
                s,
                "  {:<8} {:>10} {:>12} {:>9} | {:>9} {:>9} {:>9} {:>10}",
                "stage", "total ms", "insns/s", "us/insn", "median us", "p90 us", "p99 us", "max us"
            );
            for st in t.stages.iter().chain(std::iter::once(&t.total)) {
                let d = &st.us_per_region;
                let _ = writeln!(
                    s,
                    "  {:<8} {:>10.1} {:>12.0} {:>9.3} | {:>9.1} {:>9.1} {:>9.1} {:>10.1}",
                    st.name,
                    st.total.as_secs_f64() * 1e3,
                    st.insns_per_sec,
                    st.us_per_insn,
                    d.median,
                    d.p90,
                    d.p99,
                    d.max
                );
            }
            let _ = write!(s, "  IR ops per guest insn: {:.2} lifted", t.ir_ops_per_insn_lifted);
            if let Some(o) = t.ir_ops_per_insn_optimized {
                let _ = write!(s, ", {o:.2} after passes");
            }
            if let Some(b) = t.host_bytes_per_insn {
                let _ = write!(s, "; host code {b:.1} bytes per guest insn");
            }
            let _ = writeln!(s);
            if !t.failures.is_empty() {
                let _ = writeln!(s, "  failed regions by reason:");
                for (reason, n, ex) in &t.failures {
                    let _ = writeln!(s, "    {n:>7}  {reason}\n             e.g. {}", ex.join(" "));
                }
            }
        }
        let _ = writeln!(
            s,
            "\nwall {:.1} ms, peak RSS {:.1} MiB",
            r.wall.as_secs_f64() * 1e3,
            self.peak_rss_kb as f64 / 1024.0
        );
        s
    }
}
