//! `mimic run`: a foreign Linux program in user mode, like qemu-user.

use clap::Args;
use mimic_backend::OptLevel;
use mimic_runtime::linux::arch::Aarch64Linux;
use mimic_runtime::linux::arch::LinuxArch;
use mimic_runtime::linux::elf::Arch;
use mimic_runtime::linux::ppc::Ppc64Linux;
use mimic_runtime::linux::ppc32::Ppc32Linux;
use mimic_runtime::linux::process::{read_program, Options, Process, StatsFormat, Thread};
use mimic_runtime::{EngineConfig, Tier, Trace};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Clone, Copy, clap::ValueEnum, PartialEq, Eq)]
enum TraceItem {
    #[value(name = "in_asm")]
    InAsm,
    Ir,
    #[value(name = "out_asm")]
    OutAsm,
}

#[derive(Args)]
pub struct UserRunArgs {
    /// Guest root directory: the dynamic linker and absolute paths are looked up there
    /// first (also MIMIC_LD_PREFIX).
    #[arg(short = 'L', long = "sysroot", value_name = "DIR", env = "MIMIC_LD_PREFIX")]
    sysroot: Option<PathBuf>,
    /// Set a variable in the guest's environment (repeatable).
    #[arg(short = 'E', value_name = "VAR=VALUE")]
    set_env: Vec<String>,
    /// Remove a variable from the guest's environment (repeatable).
    #[arg(short = 'U', value_name = "VAR")]
    unset_env: Vec<String>,
    /// Print every system call the guest makes to stderr.
    #[arg(long)]
    strace: bool,
    /// Execution tiers to use.
    #[arg(long, value_enum, default_value = "auto")]
    tier: super::TierArg,
    /// Region entries before a region is compiled (auto tier). Cranelift costs a few
    /// hundred microseconds per region, about 400 interpreted runs of it: 64 keeps
    /// start-up cheap while hot code compiles early (loops inside one region count
    /// their iterations).
    #[arg(long, default_value_t = 64)]
    threshold: u32,
    /// Cranelift optimisation level.
    #[arg(long, value_enum, default_value = "speed")]
    opt: super::OptArg,
    /// Print what is translated to stderr: in_asm (guest instructions), ir (mimic IR,
    /// before and after the passes), out_asm (host code), comma-separated.
    #[arg(long, value_name = "LIST", value_delimiter = ',')]
    trace: Vec<TraceItem>,
    /// Print engine statistics at exit (text, or json with --stats=json) to stderr.
    #[arg(long, value_enum, num_args = 0..=1, default_missing_value = "text", require_equals = true)]
    stats: Option<super::StatsFormat>,
    /// Write the --stats output to FILE instead of stderr.
    #[arg(long, value_name = "FILE", requires = "stats")]
    stats_file: Option<PathBuf>,
    /// With --stats: do not instrument the code to count guest instructions, chained
    /// exits and lookup hits (those counters read 0), so the run is timed as without
    /// --stats.
    #[arg(long, requires = "stats")]
    no_counters: bool,
    /// argv[0] for the guest (default: PROGRAM as given).
    #[arg(long, value_name = "NAME")]
    argv0: Option<String>,
    /// The guest program and its arguments.
    #[arg(required = true, trailing_var_arg = true, allow_hyphen_values = true, value_name = "PROGRAM [ARGS]")]
    command: Vec<String>,
}

pub fn run(a: UserRunArgs) -> Result<ExitCode, String> {
    let program = PathBuf::from(&a.command[0]);
    let (bytes, img) = read_program(&program).map_err(|e| e.to_string())?;
    let mut args = a.command.clone();
    if let Some(a0) = &a.argv0 {
        args[0] = a0.clone();
    }
    let mut env: Vec<(String, String)> = std::env::vars_os()
        .map(|(k, v)| (k.to_string_lossy().into_owned(), v.to_string_lossy().into_owned()))
        .filter(|(k, _)| k != "MIMIC_LD_PREFIX")
        .collect();
    for u in &a.unset_env {
        env.retain(|(k, _)| k != u);
    }
    for s in &a.set_env {
        let (k, v) = s.split_once('=').ok_or_else(|| format!("-E {s}: expected VAR=VALUE"))?;
        env.retain(|(ek, _)| ek != k);
        env.push((k.to_string(), v.to_string()));
    }
    let env: Vec<String> = env.into_iter().map(|(k, v)| format!("{k}={v}")).collect();

    let tier = match a.tier {
        super::TierArg::Interp => Tier::Interp,
        super::TierArg::Jit => Tier::Jit,
        super::TierArg::Auto => Tier::Auto { threshold: a.threshold },
    };
    let opt = if a.opt == super::OptArg::Speed { OptLevel::Speed } else { OptLevel::None };
    let trace = Trace {
        in_asm: a.trace.contains(&TraceItem::InAsm),
        ir: a.trace.contains(&TraceItem::Ir),
        out_asm: a.trace.contains(&TraceItem::OutAsm),
    };
    // Exit counters cost a memory increment per chained exit: only with --stats.
    // So do instruction counters (an add per IR block).
    let counting = a.stats.is_some() && !a.no_counters;
    let config =
        EngineConfig { tier, opt, trace, count_exits: counting, count_insns: counting, ..EngineConfig::default() };
    // What a re-executed mimic (guest execve) needs to run the same way.
    let mut exec_args = Vec::new();
    if let Some(root) = &a.sysroot {
        exec_args.push("-L".to_string());
        exec_args.push(root.to_string_lossy().into_owned());
    }
    if a.strace {
        exec_args.push("--strace".into());
    }
    exec_args.push(format!("--tier={}", clap::ValueEnum::to_possible_value(&a.tier).unwrap().get_name()));
    exec_args.push(format!("--threshold={}", a.threshold));
    let stats = a.stats.map(|s| match s {
        super::StatsFormat::Text => StatsFormat::Text,
        super::StatsFormat::Json => StatsFormat::Json,
    });
    let opts = Options { sysroot: a.sysroot.clone(), strace: a.strace, exec_args, stats, stats_file: a.stats_file };
    match img.arch {
        Arch::Aarch64 => run_thread(
            Process::start(Aarch64Linux::new(), &program, &bytes, &img, args, env, opts, config)
                .map_err(|e| e.to_string())?,
        ),
        Arch::Ppc64Le => run_thread(
            Process::start(Ppc64Linux::new_le(), &program, &bytes, &img, args, env, opts, config)
                .map_err(|e| e.to_string())?,
        ),
        Arch::Ppc64Be => run_thread(
            Process::start(Ppc64Linux::for_image(&img), &program, &bytes, &img, args, env, opts, config)
                .map_err(|e| e.to_string())?,
        ),
        Arch::Ppc => run_thread(
            Process::start(Ppc32Linux::new(), &program, &bytes, &img, args, env, opts, config)
                .map_err(|e| e.to_string())?,
        ),
        other => Err(format!(
            "{}: a {} program: not supported yet (mimic runs aarch64, ppc64le, ppc64 and ppc programs in user mode)",
            program.display(),
            other.name()
        )),
    }
}

/// Run the main guest thread; it ends the process when the guest exits.
fn run_thread<A: LinuxArch>(thread: Thread<A>) -> ! {
    let code = thread.run();
    // The main thread called exit while other threads run: the last one ends the
    // process.
    let _ = code;
    loop {
        std::thread::park();
    }
}
