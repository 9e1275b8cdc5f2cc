//! The `mimic` command line: argument parsing only; the work lives in the crates.

use clap::{Args, Parser, Subcommand, ValueEnum};
use mimic_backend::OptLevel;
use mimic_ir::StateBuf;
use mimic_runtime::irprog::IrProgram;
use mimic_runtime::{Engine, EngineConfig, FlatGuestMem, Stop, Tier};
use std::process::ExitCode;

mod bench;
mod boot;

#[derive(Parser)]
#[command(
    name = "mimic",
    version,
    about = "Cross-architecture emulator: guest code lifted to one IR, compiled by Cranelift"
)]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

mod run;

#[derive(Subcommand)]
enum Cmd {
    /// Run a foreign Linux program in user mode (the architecture comes from its ELF
    /// header), like qemu-user: `mimic run [OPTIONS] PROGRAM [ARGS...]`.
    Run(run::UserRunArgs),
    /// Work with mimic IR programs (text form): run, check, optimise.
    #[command(subcommand)]
    Ir(IrCmd),
    /// Boot an OS on a virtual board (system emulation), e.g. `--machine x86-kvm`.
    Boot(boot::BootArgs),
    /// Benchmark translation (per stage, per tier) and execution of a program.
    #[command(subcommand)]
    Bench(bench::BenchCmd),
}

#[derive(Subcommand)]
enum IrCmd {
    /// Run an IR program through the engine (interpreter tier, Cranelift tier, chaining).
    ///
    /// The program's regions are keyed by entry pc; execution starts at the first
    /// region (or --entry) with all state zero except --set slots, and ends at the
    /// first `exit_syscall` (mimic IR programs have no OS). The final state is printed.
    Run(RunArgs),
    /// Parse and verify an IR program; print any error with its line.
    Check {
        /// IR text file.
        file: String,
    },
    /// Print an IR program's regions after mimic's optimisation passes.
    Opt {
        /// IR text file.
        file: String,
    },
}

#[derive(Clone, Copy, ValueEnum, PartialEq, Eq)]
enum TierArg {
    /// Reference interpreter only.
    Interp,
    /// Compile every region with Cranelift before it runs.
    Jit,
    /// Interpret cold regions, compile hot ones (the default).
    Auto,
}

#[derive(Clone, Copy, ValueEnum, PartialEq, Eq)]
enum StatsFormat {
    Text,
    Json,
}

#[derive(Args)]
struct RunArgs {
    /// IR text file.
    file: String,
    /// Execution tiers to use.
    #[arg(long, value_enum, default_value = "auto")]
    tier: TierArg,
    /// Region entries before a region is compiled (auto tier).
    #[arg(long, default_value_t = 16)]
    threshold: u32,
    /// Cranelift optimisation level.
    #[arg(long, value_enum, default_value = "speed")]
    opt: OptArg,
    /// Skip mimic's IR passes before compiling.
    #[arg(long)]
    no_ir_passes: bool,
    /// Set a state slot before running, e.g. --set limit=1000 (repeatable).
    #[arg(long = "set", value_name = "SLOT=VALUE")]
    set: Vec<String>,
    /// Start at this pc instead of the first region.
    #[arg(long, value_parser = parse_num)]
    entry: Option<u64>,
    /// Guest memory: base address.
    #[arg(long, value_parser = parse_num, default_value = "0x10000")]
    mem_base: u64,
    /// Guest memory: size in bytes.
    #[arg(long, value_parser = parse_num, default_value = "0x100000")]
    mem_size: u64,
    /// Print engine statistics (text, or json with --stats=json) to stderr.
    #[arg(long, value_enum, num_args = 0..=1, default_missing_value = "text", require_equals = true)]
    stats: Option<StatsFormat>,
}

#[derive(Clone, Copy, ValueEnum, PartialEq, Eq)]
enum OptArg {
    None,
    Speed,
}

fn parse_num(s: &str) -> Result<u64, String> {
    let r = match s.strip_prefix("0x") {
        Some(h) => u64::from_str_radix(&h.replace('_', ""), 16),
        None => s.replace('_', "").parse::<u64>(),
    };
    r.map_err(|_| format!("`{s}` is not a number (decimal or 0x-hex)"))
}

fn load(file: &str) -> Result<IrProgram, String> {
    let text = std::fs::read_to_string(file).map_err(|e| format!("cannot read {file}: {e}"))?;
    IrProgram::parse(&text).map_err(|e| format!("{file}: {e}"))
}

fn ir_run(a: RunArgs) -> Result<ExitCode, String> {
    let prog = load(&a.file)?;
    let layout = mimic_frontend::Frontend::layout(&prog);
    let mut state = StateBuf::new(&layout);
    for s in &a.set {
        let (name, val) = s.split_once('=').ok_or_else(|| format!("--set {s}: expected SLOT=VALUE"))?;
        let slot = layout.find(name).ok_or_else(|| format!("--set {s}: state {} has no slot `{name}`", layout.name))?;
        if layout.slot(slot).is_array() {
            return Err(format!("--set {s}: `{name}` is an array slot"));
        }
        state.set(&layout, slot, parse_num(val).map_err(|e| format!("--set {s}: {e}"))? as u128);
    }
    let entry = a.entry.unwrap_or(prog.entry);
    state.set(&layout, layout.pc, entry as u128);
    let tier = match a.tier {
        TierArg::Interp => Tier::Interp,
        TierArg::Jit => Tier::Jit,
        TierArg::Auto => Tier::Auto { threshold: a.threshold },
    };
    let opt = if a.opt == OptArg::Speed { OptLevel::Speed } else { OptLevel::None };
    let size = usize::try_from(a.mem_size).map_err(|_| "--mem-size is too large".to_string())?;
    let mut mem = FlatGuestMem::new(a.mem_base, size);
    if tier != Tier::Interp {
        // Compiled code does not bounds-check this flat memory (IR programs are trusted
        // like code the user wrote); accesses far outside it still fault precisely.
        mem = mem.trust_accesses();
    }
    let cfg = EngineConfig { tier, opt, optimize_ir: !a.no_ir_passes, ..EngineConfig::default() };
    let mut engine = Engine::new(prog, cfg);
    let start = std::time::Instant::now();
    let stop = engine.run(&mut state, &mut mem).map_err(|e| e.to_string())?;
    let elapsed = start.elapsed();
    let code = match stop {
        Stop::Syscall => {
            for (i, slot) in layout.slots.iter().enumerate() {
                if !slot.is_array() {
                    let v = state.get(&layout, mimic_ir::SlotId(i as u32));
                    println!("{:<12} = {v:#x} ({v})", slot.name);
                }
            }
            ExitCode::SUCCESS
        }
        Stop::Trap { kind, pc } => {
            eprintln!("mimic: guest trap `{kind}` at pc {pc:#x}");
            ExitCode::from(3)
        }
        Stop::Fault { fault, pc } => {
            let what = if fault.write { "write to" } else { "read of" };
            if fault.kind == mimic_ir::FaultKind::OutOfRange {
                eprintln!("mimic: guest memory fault: {what} an address outside the host address space at pc {pc:#x}");
            } else {
                eprintln!("mimic: guest memory fault: {what} {:#x} ({:?}) at pc {pc:#x}", fault.addr, fault.kind);
            }
            ExitCode::from(3)
        }
        Stop::NoCode { pc } => {
            eprintln!("mimic: no region starts at pc {pc:#x}");
            ExitCode::from(3)
        }
        Stop::Interrupted { pc } => {
            eprintln!("mimic: interrupted at pc {pc:#x}");
            ExitCode::from(3)
        }
    };
    match a.stats {
        Some(StatsFormat::Text) => {
            eprint!("{}", engine.stats().to_text());
            eprintln!("wall time               {:>10.3} ms", elapsed.as_secs_f64() * 1e3);
        }
        Some(StatsFormat::Json) => eprint!("{}", engine.stats().to_json()),
        None => {}
    }
    Ok(code)
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.cmd {
        Cmd::Run(a) => run::run(a),
        Cmd::Boot(a) => return boot::main(a),
        Cmd::Bench(c) => bench::main(c),
        Cmd::Ir(IrCmd::Run(a)) => ir_run(a),
        Cmd::Ir(IrCmd::Check { file }) => load(&file).map(|p| {
            println!("{file}: ok ({} regions)", p.regions().count());
            ExitCode::SUCCESS
        }),
        Cmd::Ir(IrCmd::Opt { file }) => load(&file).map(|p| {
            let mut regions: Vec<_> = p.regions().cloned().collect();
            regions.sort_by_key(|r| r.entry_pc);
            for mut r in regions {
                mimic_ir::passes::optimize(&mut r);
                print!("{}", mimic_ir::print(&r));
            }
            ExitCode::SUCCESS
        }),
    };
    match result {
        Ok(c) => c,
        Err(e) => {
            eprintln!("mimic: {e}");
            ExitCode::from(2)
        }
    }
}
