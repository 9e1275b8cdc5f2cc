//! A guest Linux process: its address space, code cache and signal actions, shared by
//! its threads; and a guest thread: one host thread running one [`Engine`] over its
//! own register state, stopping for system calls, faults and signals.

use super::arch::{AltStack, LinuxArch};
use super::elf::{self, ElfImage};
use super::loader::{self, LoadError, LoadSpec, Started};
use super::signal::{self, SigAction, SigInfo, ThreadSignals, NSIG};
use crate::usermem::{MemError, UserMemory};
use crate::{CodeCache, Engine, EngineConfig, Stop};
use mimic_ir::{FaultKind, StateBuf, TrapKind};
use std::collections::HashSet;
use std::fmt;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

/// How `mimic run` was asked to run the guest.
#[derive(Clone, Debug, Default)]
pub struct Options {
    /// Guest root for the dynamic linker and absolute paths (`-L`).
    pub sysroot: Option<PathBuf>,
    /// Print every system call to stderr.
    pub strace: bool,
    /// Options to give a re-executed mimic (execve of another guest program).
    pub exec_args: Vec<String>,
    /// Print engine statistics when the process exits.
    pub stats: Option<StatsFormat>,
    /// Write the statistics to this file instead of stderr.
    pub stats_file: Option<PathBuf>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StatsFormat {
    Text,
    Json,
}

/// Why a guest process could not start.
#[derive(Debug)]
pub enum StartError {
    Io { path: PathBuf, err: std::io::Error },
    Elf { path: PathBuf, err: elf::ElfError },
    WrongArch { path: PathBuf, arch: elf::Arch, want: elf::Arch },
    Load(LoadError),
    Memory(MemError),
}

impl fmt::Display for StartError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StartError::Io { path, err } => write!(f, "{}: {err}", path.display()),
            StartError::Elf { path, err } => write!(f, "{}: {err}", path.display()),
            StartError::WrongArch { path, arch, want } => {
                write!(f, "{}: a {} program; this runner is for {}", path.display(), arch.name(), want.name())
            }
            StartError::Load(e) => write!(f, "{e}"),
            StartError::Memory(e) => write!(f, "cannot reserve the guest address space: {e}"),
        }
    }
}
impl std::error::Error for StartError {}

/// State shared by every thread of a guest process.
pub struct Process<A: LinuxArch> {
    pub arch: A,
    pub mem: UserMemory,
    pub cache: Arc<CodeCache<A::Fe>>,
    pub actions: Mutex<[SigAction; NSIG]>,
    pub opts: Options,
    /// The guest program's path as given (for /proc/self/exe, made absolute).
    pub exe: PathBuf,
    pub started: Started,
    /// Address of the signal-return trampoline page.
    pub sigtramp: u64,
    reported: Mutex<HashSet<u64>>,
    threads: AtomicUsize,
}

/// Read and check a guest program.
pub fn read_program(path: &std::path::Path) -> Result<(Vec<u8>, ElfImage), StartError> {
    let bytes = std::fs::read(path).map_err(|err| StartError::Io { path: path.to_path_buf(), err })?;
    let img = elf::parse(&bytes).map_err(|err| StartError::Elf { path: path.to_path_buf(), err })?;
    Ok((bytes, img))
}

impl<A: LinuxArch> Process<A> {
    /// Load `path` (already read and parsed) and return the process and its main thread.
    #[allow(clippy::too_many_arguments)]
    pub fn start(
        arch: A,
        path: &std::path::Path,
        bytes: &[u8],
        img: &ElfImage,
        args: Vec<String>,
        env: Vec<String>,
        opts: Options,
        config: EngineConfig,
    ) -> Result<Thread<A>, StartError> {
        if img.arch != arch.elf_arch() {
            return Err(StartError::WrongArch { path: path.to_path_buf(), arch: img.arch, want: arch.elf_arch() });
        }
        let mem = UserMemory::new(arch.addr_bits()).map_err(StartError::Memory)?;
        let (hwcap, hwcap2) = arch.hwcap();
        let mut random = [0u8; 16];
        getrandom(&mut random);
        let spec = LoadSpec {
            args,
            env,
            execfn: path.to_string_lossy().into_owned(),
            platform: arch.platform(),
            hwcap,
            hwcap2,
            minsigstksz: arch.minsigstksz(),
            extra_auxv: arch.extra_auxv(),
            random,
            sysroot: opts.sysroot.clone(),
            word: arch.word(),
            big_endian: arch.big_endian(),
        };
        let started = loader::load(&mem, img, bytes, &spec).map_err(StartError::Load)?;
        // The signal-return trampoline, where the kernel's vDSO would have it.
        let sigtramp = mem
            .map(crate::usermem::Placement::Hint(0), crate::usermem::PAGE, crate::usermem::Prot::RW)
            .map_err(StartError::Memory)?;
        let _ = mem.write_bytes(sigtramp, &arch.sigtramp_code());
        mem.protect(sigtramp, crate::usermem::PAGE, crate::usermem::Prot::RX).map_err(StartError::Memory)?;
        let exe = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
        let cache = CodeCache::new(arch.frontend(), config);
        let layout = arch.layout();
        let mut state = StateBuf::new(&layout);
        // Linux's reloc_func_desc: the interpreter's base, or the program's bias.
        let reloc = started.interp_base.unwrap_or(started.bias);
        arch.init_state(&mem, &mut state, started.pc, started.sp, reloc);
        let proc = Arc::new(Process {
            arch,
            mem,
            cache,
            actions: Mutex::new([SigAction::default(); NSIG]),
            opts,
            exe,
            started,
            sigtramp,
            reported: Mutex::new(HashSet::new()),
            threads: AtomicUsize::new(1),
        });
        // A guest that writes to a closed pipe dies of SIGPIPE by default (Rust's
        // runtime ignores it for itself).
        signal::mirror_action(signal::SIGPIPE, &SigAction::default());
        Ok(Thread::new(proc, state, current_mask()))
    }

    pub fn action(&self, sig: i32) -> SigAction {
        self.actions.lock().unwrap_or_else(|e| e.into_inner())[(sig - 1) as usize]
    }

    /// Report an unimplemented syscall once (under --strace).
    pub fn report_unknown(&self, nr: u64, name: Option<&str>) {
        if self.opts.strace && self.reported.lock().unwrap_or_else(|e| e.into_inner()).insert(nr) {
            eprintln!("mimic: unsupported syscall {nr} ({}) returns ENOSYS", name.unwrap_or("unknown"));
        }
    }
}

fn current_mask() -> u64 {
    // SAFETY: reading the calling thread's signal mask.
    unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::pthread_sigmask(libc::SIG_SETMASK, std::ptr::null(), &mut set);
        (1..=NSIG as i32).filter(|&s| libc::sigismember(&set, s) == 1).fold(0, |m, s| m | signal::bit(s))
    }
}

pub fn getrandom(buf: &mut [u8]) {
    // SAFETY: filling our own buffer.
    unsafe { libc::getrandom(buf.as_mut_ptr().cast(), buf.len(), 0) };
}

/// What a system call did to the thread's control flow.
pub enum Flow {
    Continue,
    /// This thread ends (exit).
    ExitThread(i32),
    /// The whole process ends (exit_group).
    ExitGroup(i32),
}

/// One guest thread.
pub struct Thread<A: LinuxArch> {
    pub proc: Arc<Process<A>>,
    pub engine: Engine<A::Fe>,
    pub state: StateBuf,
    pub tid: i32,
    /// The guest's blocked-signal mask.
    pub mask: u64,
    pub sig: Box<ThreadSignals>,
    pub alt: AltStack,
    /// set_tid_address / CLONE_CHILD_CLEARTID.
    pub clear_child_tid: u64,
    suspended_mask_used: bool,
    /// A page of guest memory for arguments converted to the host's layout (the
    /// widened timespecs of ILP32 calls), mapped on first use; 0 before.
    pub(crate) scratch: u64,
}

impl<A: LinuxArch> Drop for Thread<A> {
    fn drop(&mut self) {
        if self.scratch != 0 {
            let _ = self.proc.mem.unmap(self.scratch, crate::usermem::PAGE);
        }
    }
}

impl<A: LinuxArch> Thread<A> {
    pub fn new(proc: Arc<Process<A>>, state: StateBuf, mask: u64) -> Thread<A> {
        let engine = Engine::with_cache(proc.cache.clone());
        // SAFETY: gettid has no preconditions.
        let tid = unsafe { libc::gettid() };
        Thread {
            proc,
            engine,
            state,
            tid,
            mask,
            sig: Box::default(),
            alt: AltStack { sp: 0, flags: 2, size: 0 },
            clear_child_tid: 0,
            suspended_mask_used: false,
            scratch: 0,
        }
    }

    /// Run until this thread exits; returns its exit status (exit_group ends the whole
    /// process from inside).
    pub fn run(mut self) -> i32 {
        // SAFETY: gettid has no preconditions. (A thread object made on another host
        // thread learns its real tid here.)
        self.tid = unsafe { libc::gettid() };
        self.sig.attach(self.engine.exit_handle());
        signal::mirror_mask(self.mask);
        let code = loop {
            let stop = {
                let mut mem = &self.proc.mem;
                self.engine.run(&mut self.state, &mut mem)
            };
            let flow = match stop {
                Err(e) => {
                    eprintln!("mimic: internal error: {e}");
                    std::process::exit(70);
                }
                Ok(Stop::Syscall) => self.syscall(),
                Ok(Stop::Interrupted { .. }) => {
                    self.engine.clear_exit_request();
                    Flow::Continue
                }
                Ok(Stop::Fault { fault, pc }) => {
                    let info = match fault.kind {
                        FaultKind::Protection => SigInfo::fault(signal::SIGSEGV, signal::SEGV_ACCERR, fault.addr),
                        FaultKind::Bus => SigInfo::fault(signal::SIGBUS, signal::BUS_ADRERR, fault.addr),
                        _ => SigInfo::fault(signal::SIGSEGV, signal::SEGV_MAPERR, fault.addr),
                    };
                    self.force(info, pc);
                    Flow::Continue
                }
                Ok(Stop::NoCode { pc }) => {
                    let code =
                        if self.proc.mem.prot_at(pc).is_some() { signal::SEGV_ACCERR } else { signal::SEGV_MAPERR };
                    self.force(SigInfo::fault(signal::SIGSEGV, code, pc), pc);
                    Flow::Continue
                }
                Ok(Stop::Trap { kind: TrapKind::CodeSync, pc }) => {
                    match self.proc.arch.code_sync(&self.proc.mem, &self.state, pc) {
                        Some((range, next)) => {
                            self.engine.invalidate(range);
                            self.proc.arch.set_pc(&mut self.state, next);
                        }
                        None => self.force(SigInfo::fault(signal::SIGSEGV, signal::SEGV_MAPERR, pc), pc),
                    }
                    Flow::Continue
                }
                Ok(Stop::Trap { kind, pc }) => {
                    let info = match kind {
                        TrapKind::Breakpoint => SigInfo::fault(signal::SIGTRAP, signal::TRAP_BRKPT, pc),
                        TrapKind::Unaligned => SigInfo::fault(signal::SIGBUS, signal::BUS_ADRALN, pc),
                        TrapKind::DivideByZero => SigInfo::fault(signal::SIGFPE, signal::FPE_INTDIV, pc),
                        _ => SigInfo::fault(signal::SIGILL, signal::ILL_ILLOPC, pc),
                    };
                    self.force(info, pc);
                    Flow::Continue
                }
            };
            match flow {
                Flow::Continue => {}
                Flow::ExitThread(c) => break c,
                Flow::ExitGroup(c) => {
                    self.report_stats();
                    std::process::exit(c)
                }
            }
            self.deliver();
        };
        self.exit_thread();
        code
    }

    /// A thread's end: CLONE_CHILD_CLEARTID, then the process ends with the last one.
    fn exit_thread(&mut self) {
        if self.clear_child_tid != 0 {
            let _ = self.proc.mem.write_bytes(self.clear_child_tid, &0u32.to_le_bytes());
            // SAFETY: a futex wake on guest memory inside our reservation.
            unsafe {
                libc::syscall(
                    libc::SYS_futex,
                    self.proc.mem.host_ptr(self.clear_child_tid),
                    libc::FUTEX_WAKE,
                    i32::MAX,
                    0,
                    0,
                    0,
                )
            };
        }
        self.sig.detach();
    }

    /// Deliver a synchronous signal caused by the instruction at `pc`: to the guest's
    /// handler if it has one and does not block it, else the process dies of it.
    fn force(&mut self, info: SigInfo, pc: u64) {
        self.proc.arch.set_pc(&mut self.state, pc);
        let act = self.proc.action(info.signo);
        let blocked = self.mask & signal::bit(info.signo) != 0;
        if act.handler == signal::SIG_DFL || act.handler == signal::SIG_IGN || blocked {
            self.die(info, Some(pc));
        }
        let old = self.mask;
        self.enter_handler(info, act, old);
    }

    /// The process's engine statistics, to stderr or the stats file (`--stats`).
    fn report_stats(&self) {
        let text = match self.proc.opts.stats {
            Some(StatsFormat::Text) => self.engine.stats().to_text(),
            Some(StatsFormat::Json) => self.engine.stats().to_json(),
            None => return,
        };
        match &self.proc.opts.stats_file {
            Some(path) => {
                if let Err(e) = std::fs::write(path, text) {
                    eprintln!("mimic: cannot write statistics to {}: {e}", path.display());
                }
            }
            None => eprint!("{text}"),
        }
    }

    /// Uncaught fatal signal: a one-line message, then die of the same signal.
    pub fn die(&self, info: SigInfo, pc: Option<u64>) -> ! {
        self.report_stats();
        let what = match (info.signo, pc) {
            (signal::SIGSEGV | signal::SIGBUS, Some(pc)) => format!(" at pc {pc:#x}, address {:#x}", info.addr),
            (_, Some(pc)) => format!(" at pc {pc:#x}"),
            _ => String::new(),
        };
        eprintln!("mimic: uncaught guest signal {} ({}){what}", info.signo, signal::name(info.signo));
        signal::die_by_signal(info.signo)
    }

    /// Deliver pending asynchronous signals that are not blocked.
    pub fn deliver(&mut self) {
        let m = self.mask;
        self.deliver_saving(m);
    }

    /// Deliver pending signals; the first handler's frame saves `saved` as the mask to
    /// restore (rt_sigsuspend's caller mask rather than its temporary one).
    pub fn deliver_saving(&mut self, mut saved: u64) {
        while let Some(info) = self.sig.take(self.mask) {
            let act = self.proc.action(info.signo);
            match act.handler {
                signal::SIG_IGN => {}
                signal::SIG_DFL if signal::default_ignores(info.signo) => {}
                signal::SIG_DFL => self.die(info, None),
                _ => {
                    self.enter_handler(info, act, saved);
                    saved = self.mask;
                    self.suspended_mask_used = true;
                }
            }
        }
    }

    /// After rt_sigsuspend delivered: the handler's mask stays; if nothing was
    /// delivered (impossible by construction), the caller's mask comes back.
    pub fn set_mask_after_suspend(&mut self, old: u64) {
        if !std::mem::take(&mut self.suspended_mask_used) {
            self.set_mask(old);
        }
    }

    fn enter_handler(&mut self, info: SigInfo, act: SigAction, old: u64) {
        let restorer = if act.flags & signal::SA_RESTORER != 0 { act.restorer } else { self.proc.sigtramp };
        if let Err(_f) =
            self.proc.arch.setup_frame(&self.proc.mem, &mut self.state, &info, &act, restorer, old, &self.alt)
        {
            // The stack is unusable: Linux kills the thread group with SIGSEGV.
            self.die(SigInfo::fault(signal::SIGSEGV, signal::SI_KERNEL, 0), None);
        }
        let mut m = self.mask | act.mask;
        if act.flags & signal::SA_NODEFER == 0 {
            m |= signal::bit(info.signo);
        }
        self.set_mask(m);
        if act.flags & signal::SA_RESETHAND != 0 {
            let dfl = SigAction::default();
            self.proc.actions.lock().unwrap_or_else(|e| e.into_inner())[(info.signo - 1) as usize] = dfl;
            signal::mirror_action(info.signo, &dfl);
        }
    }

    pub fn set_mask(&mut self, m: u64) {
        self.mask = m & !(signal::bit(signal::SIGKILL) | signal::bit(signal::SIGSTOP));
        signal::mirror_mask(self.mask);
    }

    /// A signal the guest could take now (pending, not blocked).
    pub fn deliverable(&self) -> Option<i32> {
        let p = self.sig.pending() & !self.mask;
        (p != 0).then(|| p.trailing_zeros() as i32 + 1)
    }

    pub fn thread_count(&self) -> &AtomicUsize {
        &self.proc.threads
    }

    /// Start a new guest thread (clone with CLONE_VM|CLONE_THREAD): returns its tid.
    pub fn spawn_thread(&self, state: StateBuf, ctid: Option<u64>, ptid: Option<u64>) -> Result<i32, i64> {
        let proc = self.proc.clone();
        let mask = self.mask;
        let fp_env = self.engine.fp_env();
        let (tx, rx) = std::sync::mpsc::channel();
        proc.threads.fetch_add(1, Ordering::AcqRel);
        let p2 = proc.clone();
        let r = std::thread::Builder::new().stack_size(16 << 20).spawn(move || {
            let mut t = Thread::new(p2, state, mask);
            t.engine.set_fp_env(fp_env);
            // SAFETY: gettid has no preconditions.
            let tid = unsafe { libc::gettid() };
            t.tid = tid;
            if let Some(p) = ptid {
                let b = super::endian::u32_bytes(t.proc.arch.big_endian(), tid as u32);
                let _ = t.proc.mem.write_bytes(p, &b);
            }
            if let Some(c) = ctid {
                t.clear_child_tid = c;
            }
            let _ = tx.send(tid);
            // The exit syscall counts threads down and ends the process with the last.
            t.run();
        });
        if r.is_err() {
            proc.threads.fetch_sub(1, Ordering::AcqRel);
            return Err(libc::EAGAIN as i64);
        }
        rx.recv().map_err(|_| libc::EAGAIN as i64)
    }
}
