//! `mimic bench translate` and `mimic bench run`: argument parsing and output; the
//! measuring lives in `mimic_runtime::bench`.

use clap::{Args, Subcommand, ValueEnum};
use mimic_backend::OptLevel;
use mimic_runtime::bench::run::{self, Compare};
use mimic_runtime::bench::translate::{self, BenchTier};
use mimic_runtime::bench::{self as rb, BenchError};
use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;

mod plot;

#[derive(Subcommand)]
pub enum BenchCmd {
    /// Translate every region of a program's code through each stage (decode, lift, IR
    /// passes, Cranelift compile, code emission) and report per-stage speed.
    ///
    /// Code is found from the symbol table (sized functions) where present, otherwise
    /// from the executable sections; regions start at the entry point and the symbols,
    /// direct branch targets and call return addresses, and each code range is swept so
    /// code reached only through pointers is measured too. Regions whose first
    /// instruction does not decode are counted as failures, listed by reason.
    Translate(TranslateArgs),
    /// Run a program (several times) and report time, guest instructions, MIPS, the
    /// share of time spent translating, dispatcher exits, chain and lookup hit rates,
    /// code cache size and peak memory; optionally against qemu-user in the same run.
    Run(RunArgs),
    /// Print the JSON schema of `translate --json` or `run --json`.
    Schema {
        #[arg(value_enum)]
        which: SchemaSel,
    },
}

#[derive(Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum SchemaSel {
    Translate,
    Run,
}

#[derive(Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum TierSel {
    /// Both tiers.
    All,
    /// The reference interpreter's translation: decode + lift.
    Interp,
    /// The JIT's: decode + lift + passes + Cranelift + emission.
    Jit,
}

#[derive(Args)]
pub struct TranslateArgs {
    /// The guest ELF program (any file mimic can run).
    program: PathBuf,
    /// Which tiers' translation to measure.
    #[arg(long, value_enum, default_value = "all")]
    tier: TierSel,
    /// Cranelift optimisation level.
    #[arg(long, value_enum, default_value = "speed")]
    opt: super::OptArg,
    /// Skip mimic's IR passes before compiling.
    #[arg(long)]
    no_ir_passes: bool,
    /// Stop after this many regions (0: all).
    #[arg(long, default_value_t = 0)]
    max_regions: usize,
    /// The mimic-bench-translate/1 JSON document: `--json` prints it instead of the
    /// table, `--json=FILE` writes it to FILE (and the table is printed too).
    #[arg(long, value_name = "FILE", num_args = 0..=1, default_missing_value = "-", require_equals = true)]
    json: Option<PathBuf>,
    /// Draw the per-region compile-time distribution and the per-stage breakdown as SVG.
    #[arg(long, value_name = "FILE.svg")]
    plot: Option<PathBuf>,
}

#[derive(Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum CompareArg {
    /// The matching qemu-user (qemu-<arch>-static), if installed.
    Qemu,
    /// The program itself, for programs of the host's architecture.
    Native,
}

#[derive(Args)]
pub struct RunArgs {
    /// Runs of the program (the report gives medians).
    #[arg(long, default_value_t = 3)]
    repeat: usize,
    /// Also run the program under this runner, the same number of times, and print the
    /// speed ratio.
    #[arg(long, value_enum)]
    compare: Option<CompareArg>,
    /// Guest root directory for dynamic programs (given to qemu as well).
    #[arg(short = 'L', long = "sysroot", value_name = "DIR", env = "MIMIC_LD_PREFIX")]
    sysroot: Option<PathBuf>,
    /// Execution tiers for mimic.
    #[arg(long, value_enum, default_value = "auto")]
    tier: super::TierArg,
    /// Let the program's stdout through (default: discarded).
    #[arg(long)]
    show_output: bool,
    /// The mimic-bench-run/1 JSON document: `--json` prints it instead of the table,
    /// `--json=FILE` writes it to FILE (and the table is printed too).
    #[arg(long, value_name = "FILE", num_args = 0..=1, default_missing_value = "-", require_equals = true)]
    json: Option<PathBuf>,
    /// The guest program and its arguments.
    #[arg(required = true, trailing_var_arg = true, allow_hyphen_values = true, value_name = "PROGRAM [ARGS]")]
    command: Vec<String>,
}

/// A progress line on stderr, rewritten in place, only when stderr is a terminal.
struct Progress {
    on: bool,
    shown: bool,
}

impl Progress {
    fn new() -> Progress {
        Progress { on: std::io::stderr().is_terminal(), shown: false }
    }
    fn show(&mut self, line: &str) {
        if self.on {
            eprint!("\r\x1b[K{line}");
            let _ = std::io::stderr().flush();
            self.shown = true;
        }
    }
    fn done(&mut self) {
        if self.shown {
            eprint!("\r\x1b[K");
            self.shown = false;
        }
    }
}

pub fn main(cmd: BenchCmd) -> Result<ExitCode, String> {
    match cmd {
        BenchCmd::Translate(a) => bench_translate(a),
        BenchCmd::Run(a) => bench_run(a),
        BenchCmd::Schema { which } => {
            print!("{}", if which == SchemaSel::Translate { rb::TRANSLATE_SCHEMA } else { rb::RUN_SCHEMA });
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn bench_translate(a: TranslateArgs) -> Result<ExitCode, String> {
    let tiers = match a.tier {
        TierSel::All => vec![BenchTier::Interp, BenchTier::Jit],
        TierSel::Interp => vec![BenchTier::Interp],
        TierSel::Jit => vec![BenchTier::Jit],
    };
    let opts = translate::Options {
        tiers,
        opt: if a.opt == super::OptArg::Speed { OptLevel::Speed } else { OptLevel::None },
        optimize_ir: !a.no_ir_passes,
        max_regions: a.max_regions,
        addr_bits: None,
    };
    let mut p = Progress::new();
    let report = rb::translate_file(&a.program, opts, &mut |pr| {
        p.show(&format!(
            "translating: {} regions, {} queued, {:.0}% of {} code bytes",
            pr.regions,
            pr.queued,
            100.0 * pr.code_bytes_covered as f64 / pr.code_bytes.max(1) as f64,
            pr.code_bytes
        ))
    });
    p.done();
    let report = report.map_err(|e| e.to_string())?;
    if let Some(path) = &a.plot {
        plot::translate(&report, path).map_err(|e| format!("--plot {}: {e}", path.display()))?;
    }
    output(a.json.as_deref(), &report.to_json(), &report.to_text())
}

/// The report as text and/or JSON, as `--json[=FILE]` asks.
fn output(json: Option<&std::path::Path>, doc: &serde_json::Value, text: &str) -> Result<ExitCode, String> {
    let pretty = serde_json::to_string_pretty(doc).expect("JSON") + "\n";
    match json {
        Some(p) if p == std::path::Path::new("-") => print!("{pretty}"),
        Some(p) => {
            std::fs::write(p, pretty).map_err(|e| format!("--json={}: {e}", p.display()))?;
            print!("{text}");
        }
        None => print!("{text}"),
    }
    Ok(ExitCode::SUCCESS)
}

fn bench_run(a: RunArgs) -> Result<ExitCode, String> {
    let program = PathBuf::from(&a.command[0]);
    let bytes = std::fs::read(&program).map_err(|e| format!("{}: {e}", program.display()))?;
    let img = mimic_runtime::linux::elf::parse(&bytes).map_err(|e| format!("{}: {e}", program.display()))?;
    let mimic = std::env::current_exe().map_err(|e| format!("cannot find the mimic executable: {e}"))?;
    let tier = clap::ValueEnum::to_possible_value(&a.tier).expect("tier name").get_name().to_string();
    let opts = run::Options {
        mimic,
        mimic_args: vec![format!("--tier={tier}")],
        program: program.clone(),
        args: a.command[1..].to_vec(),
        repeat: a.repeat.max(1),
        compare: a.compare.map(|c| match c {
            CompareArg::Qemu => Compare::Qemu,
            CompareArg::Native => Compare::Native,
        }),
        sysroot: a.sysroot,
        show_output: a.show_output,
    };
    let mut p = Progress::new();
    let report = run::run(&opts, img.arch.name(), &mut |s| p.show(s));
    p.done();
    let report = report.map_err(|e: BenchError| e.to_string())?;
    output(a.json.as_deref(), &report.to_json(), &report.to_text())
}
