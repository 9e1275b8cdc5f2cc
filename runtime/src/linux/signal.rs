//! Guest signals: the guest's actions, masks and pending sets, and how host signals
//! reach guest threads.
//!
//! Guest threads are host threads, and mimic mirrors the guest onto the host wherever
//! the semantics agree: a guest signal mask becomes the host thread's mask (so the
//! host kernel picks the receiving thread and keeps blocked signals pending), and a
//! guest SIG_DFL or SIG_IGN becomes the same host disposition (so a default-fatal
//! signal kills mimic exactly as it would kill the guest). Only signals with a guest
//! handler get a host handler: it records the signal and its siginfo for the thread
//! it landed on and asks that thread's engine to stop, and the thread builds the guest
//! signal frame at its next instruction boundary. Blocking host system calls return
//! EINTR to such a handler, which gives SA_RESTART its meaning.
//!
//! A blocking host call cannot simply be made after checking for pending signals: a
//! signal landing between the check and the call would wait until the call ends on
//! its own (forever, for `pause` or a cancelled thread's futex). [`safe_syscall`]
//! closes that window as QEMU's safe_syscall does: the check and the `syscall`
//! instruction sit in one assembly routine, and the host handler moves a thread
//! interrupted inside it to a return of [`ERESTART_NOT_STARTED`]; the caller then
//! restarts the guest's system call after its handler ran, which is what the guest
//! would see had the signal arrived just before it.
//!
//! Synchronous signals (SIGSEGV, SIGBUS, SIGILL, SIGTRAP, SIGFPE) come from the engine
//! (guest faults and traps), never from host handlers: the host's own SIGSEGV/SIGBUS
//! handler belongs to the JIT's fault recovery.

use std::cell::Cell;
use std::sync::atomic::{AtomicU64, Ordering};

pub const SIGHUP: i32 = 1;
pub const SIGINT: i32 = 2;
pub const SIGQUIT: i32 = 3;
pub const SIGILL: i32 = 4;
pub const SIGTRAP: i32 = 5;
pub const SIGABRT: i32 = 6;
pub const SIGBUS: i32 = 7;
pub const SIGFPE: i32 = 8;
pub const SIGKILL: i32 = 9;
pub const SIGSEGV: i32 = 11;
pub const SIGPIPE: i32 = 13;
pub const SIGCHLD: i32 = 17;
pub const SIGCONT: i32 = 18;
pub const SIGSTOP: i32 = 19;
pub const SIGURG: i32 = 23;
pub const SIGWINCH: i32 = 28;
/// Highest signal number (real-time signals included).
pub const NSIG: usize = 64;

pub const SA_SIGINFO: u64 = 4;
pub const SA_ONSTACK: u64 = 0x0800_0000;
pub const SA_RESTART: u64 = 0x1000_0000;
pub const SA_NODEFER: u64 = 0x4000_0000;
pub const SA_RESETHAND: u64 = 0x8000_0000;
pub const SA_RESTORER: u64 = 0x0400_0000;

pub const SIG_DFL: u64 = 0;
pub const SIG_IGN: u64 = 1;

// si_code values.
pub const SI_USER: i32 = 0;
pub const SI_KERNEL: i32 = 0x80;
pub const SEGV_MAPERR: i32 = 1;
pub const SEGV_ACCERR: i32 = 2;
pub const BUS_ADRALN: i32 = 1;
pub const BUS_ADRERR: i32 = 2;
pub const ILL_ILLOPC: i32 = 1;
pub const TRAP_BRKPT: i32 = 1;
pub const FPE_INTDIV: i32 = 1;

/// Signals the guest cannot catch or block.
pub fn uncatchable(sig: i32) -> bool {
    sig == SIGKILL || sig == SIGSTOP
}

/// Signals only the engine raises (guest faults and traps).
pub fn synchronous(sig: i32) -> bool {
    matches!(sig, SIGSEGV | SIGBUS | SIGILL | SIGTRAP | SIGFPE)
}

/// Whether the default action of `sig` is to ignore it.
pub fn default_ignores(sig: i32) -> bool {
    matches!(sig, SIGCHLD | SIGURG | SIGWINCH | SIGCONT)
}

/// The bit of `sig` in a 64-bit signal set.
pub fn bit(sig: i32) -> u64 {
    1u64 << (sig - 1)
}

/// A guest `struct sigaction` (kernel layout: handler, flags, restorer, mask).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SigAction {
    pub handler: u64,
    pub flags: u64,
    pub restorer: u64,
    pub mask: u64,
}

/// A guest siginfo (128 bytes; the 64-bit generic layout, which x86-64 hosts share).
#[derive(Clone, Copy, Debug)]
pub struct SigInfo {
    pub signo: i32,
    pub code: i32,
    /// si_addr of fault signals.
    pub addr: u64,
    raw: [u8; 128],
}

impl SigInfo {
    /// A fault or trap raised by the guest's own instruction.
    pub fn fault(signo: i32, code: i32, addr: u64) -> SigInfo {
        let mut raw = [0u8; 128];
        raw[0..4].copy_from_slice(&signo.to_le_bytes());
        raw[8..12].copy_from_slice(&code.to_le_bytes());
        raw[16..24].copy_from_slice(&addr.to_le_bytes());
        SigInfo { signo, code, addr, raw }
    }
    /// From a host siginfo (same layout on x86-64 hosts and 64-bit generic guests).
    pub fn from_host_bytes(raw: [u8; 128]) -> SigInfo {
        let signo = i32::from_le_bytes(raw[0..4].try_into().unwrap());
        let code = i32::from_le_bytes(raw[8..12].try_into().unwrap());
        SigInfo { signo, code, addr: 0, raw }
    }
    pub fn to_bytes(&self) -> [u8; 128] {
        self.raw
    }
    /// The siginfo in the guest's byte order.
    pub fn to_guest_bytes(&self, big_endian: bool) -> [u8; 128] {
        let mut raw = self.raw;
        if big_endian {
            super::endian::swap_siginfo(&mut raw, self.signo, self.code);
        }
        raw
    }
}

/// Queued signals per thread: standard signals once each, real-time ones (32 and up)
/// queued in order, as Linux does.
const QUEUE: usize = 128;

/// The signal state of one guest thread that host signal handlers write into.
///
/// The queue is written by this thread's host signal handler (which runs with every
/// signal blocked) and read by the thread itself with every signal blocked, so the
/// two never interleave.
pub struct ThreadSignals {
    /// Summary: signals with at least one queued instance.
    pending: AtomicU64,
    queue: std::cell::UnsafeCell<[[u8; 128]; QUEUE]>,
    len: Cell<usize>,
    kick: Cell<Option<crate::ExitHandle>>,
}

// SAFETY: a ThreadSignals is only touched by its own thread (including that thread's
// signal handlers, see above); it is Sync only so that it can sit in a thread-local
// pointer.
unsafe impl Sync for ThreadSignals {}

impl Default for ThreadSignals {
    fn default() -> Self {
        ThreadSignals {
            pending: AtomicU64::new(0),
            queue: std::cell::UnsafeCell::new([[0; 128]; QUEUE]),
            len: Cell::new(0),
            kick: Cell::new(None),
        }
    }
}

thread_local! {
    static CURRENT: Cell<*const ThreadSignals> = const { Cell::new(std::ptr::null()) };
}

/// Block every host signal the guest can receive on this thread; returns the old mask.
fn block_all() -> u64 {
    let all = !(bit(SIGSEGV) | bit(SIGBUS) | bit(SIGILL) | bit(SIGTRAP) | bit(SIGFPE));
    let mut old = 0u64;
    // SAFETY: raw rt_sigprocmask on the calling thread with 64-bit sets.
    unsafe { libc::syscall(libc::SYS_rt_sigprocmask, libc::SIG_BLOCK, &all, &mut old, 8) };
    old
}
fn restore_mask(old: u64) {
    // SAFETY: as in block_all.
    unsafe { libc::syscall(libc::SYS_rt_sigprocmask, libc::SIG_SETMASK, &old, std::ptr::null_mut::<u64>(), 8) };
}

impl ThreadSignals {
    /// Make this the calling thread's target for host signals, waking `kick`'s engine.
    /// The caller keeps `self` alive (and in place) until [`ThreadSignals::detach`].
    pub fn attach(&self, kick: crate::ExitHandle) {
        self.kick.set(Some(kick));
        CURRENT.with(|c| c.set(self));
    }
    pub fn detach(&self) {
        CURRENT.with(|c| c.set(std::ptr::null()));
        self.kick.set(None);
    }
    /// Queue a signal for this thread. Called from the host handler (signals blocked).
    fn push(&self, raw: [u8; 128]) {
        let s = i32::from_le_bytes(raw[0..4].try_into().unwrap());
        if !(1..=NSIG as i32).contains(&s) {
            return;
        }
        let standard = s < 32;
        if standard && self.pending.load(Ordering::Acquire) & bit(s) != 0 {
            return; // a standard signal is pending at most once
        }
        let n = self.len.get();
        if n == QUEUE {
            return;
        }
        // SAFETY: see the type's comment: no other access to the queue runs now.
        unsafe { (*self.queue.get())[n] = raw };
        self.len.set(n + 1);
        self.pending.fetch_or(bit(s), Ordering::Release);
    }
    /// Queue a signal from the thread itself.
    pub fn raise(&self, info: SigInfo) {
        let old = block_all();
        let mut raw = info.raw;
        raw[0..4].copy_from_slice(&info.signo.to_le_bytes());
        self.push(raw);
        restore_mask(old);
    }
    pub fn pending(&self) -> u64 {
        self.pending.load(Ordering::Acquire)
    }
    /// Wait until a signal not in `blocked` is queued for this thread (`pause`,
    /// `rt_sigsuspend`). The host mask blocks everything while the queue is checked and
    /// sigsuspend(2) unblocks atomically, so a signal cannot land between the two.
    pub fn wait_unblocked(&self, blocked: u64) {
        let old = block_all();
        let set = host_mask(blocked);
        while self.pending() & !blocked == 0 {
            // SAFETY: rt_sigsuspend with a kernel-layout 64-bit set: waits with the
            // guest's blocked set (never the engine's synchronous signals); returns
            // after a host handler ran.
            unsafe { libc::syscall(libc::SYS_rt_sigsuspend, &set, 8) };
        }
        restore_mask(old);
    }
    /// Take the lowest-numbered pending signal not in `blocked` (the oldest instance).
    pub fn take(&self, blocked: u64) -> Option<SigInfo> {
        if self.pending.load(Ordering::Acquire) & !blocked == 0 {
            return None;
        }
        let old = block_all();
        // SAFETY: every host signal is blocked: the handler cannot run meanwhile.
        let q = unsafe { &mut *self.queue.get() };
        let n = self.len.get();
        let signo = |r: &[u8; 128]| i32::from_le_bytes(r[0..4].try_into().unwrap());
        let best = (0..n).filter(|&i| blocked & bit(signo(&q[i])) == 0).min_by_key(|&i| (signo(&q[i]), i));
        let out = best.map(|i| {
            let raw = q[i];
            q.copy_within(i + 1..n, i);
            self.len.set(n - 1);
            let s = signo(&raw);
            if !q[..n - 1].iter().any(|r| signo(r) == s) {
                self.pending.fetch_and(!bit(s), Ordering::AcqRel);
            }
            SigInfo::from_host_bytes(raw)
        });
        restore_mask(old);
        out
    }
}

extern "C" fn host_handler(sig: libc::c_int, info: *mut libc::siginfo_t, ctx: *mut libc::c_void) {
    let t = CURRENT.with(|c| c.get());
    if t.is_null() {
        return;
    }
    if !ctx.is_null() {
        // SAFETY: with SA_SIGINFO the kernel passes this thread's ucontext, which it
        // restores on return; only the saved instruction pointer changes.
        unsafe { rewind_safe_syscall(&mut *ctx.cast::<libc::ucontext_t>()) };
    }
    let mut raw = [0u8; 128];
    if !info.is_null() {
        // SAFETY: the kernel passes a valid siginfo of 128 bytes.
        unsafe { std::ptr::copy_nonoverlapping(info.cast::<u8>(), raw.as_mut_ptr(), 128) };
    }
    raw[0..4].copy_from_slice(&sig.to_le_bytes());
    // SAFETY: CURRENT points at the live ThreadSignals of this thread (attach/detach).
    let t = unsafe { &*t };
    t.push(raw);
    if let Some(k) = t.kick.get() {
        // SAFETY: the kick handle belongs to this thread's engine, alive while attached.
        unsafe { k.request() };
    }
}

/// What [`safe_syscall`] returns when a signal arrived before the host call started.
/// (The kernel's ERESTARTSYS, which never reaches user space on its own.)
pub const ERESTART_NOT_STARTED: i64 = 512;

#[cfg(target_arch = "x86_64")]
std::arch::global_asm!(
    ".pushsection .text.mimic_safe_syscall, \"ax\", @progbits",
    ".globl mimic_safe_syscall",
    ".globl mimic_safe_syscall_start",
    ".globl mimic_safe_syscall_end",
    ".globl mimic_safe_syscall_interrupted",
    ".type mimic_safe_syscall, @function",
    // (pending: *const u64, unblocked: u64, nr, a0, a1, a2, [a3, a4, a5 on the stack])
    "mimic_safe_syscall:",
    "push rbx",
    "mov r11, rdi",
    "mov rbx, rsi",
    "mov rax, rdx",
    "mov rdi, rcx",
    "mov rsi, r8",
    "mov rdx, r9",
    "mov r10, [rsp + 16]",
    "mov r8, [rsp + 24]",
    "mov r9, [rsp + 32]",
    // From here to the end of `syscall`, a host handler that queued a signal moves
    // the thread to `interrupted` (the handler's queueing also sets *pending).
    "mimic_safe_syscall_start:",
    "mov rcx, [r11]",
    "test rcx, rbx",
    "jnz mimic_safe_syscall_interrupted",
    "syscall",
    "mimic_safe_syscall_end:",
    "pop rbx",
    "ret",
    "mimic_safe_syscall_interrupted:",
    "mov rax, -512",
    "pop rbx",
    "ret",
    ".size mimic_safe_syscall, . - mimic_safe_syscall",
    ".popsection",
);

#[cfg(target_arch = "x86_64")]
extern "C" {
    fn mimic_safe_syscall(
        pending: *const u64,
        unblocked: u64,
        nr: i64,
        a0: u64,
        a1: u64,
        a2: u64,
        a3: u64,
        a4: u64,
        a5: u64,
    ) -> i64;
    static mimic_safe_syscall_start: u8;
    static mimic_safe_syscall_end: u8;
    static mimic_safe_syscall_interrupted: u8;
}

/// If the interrupted thread was inside [`safe_syscall`] and had not yet entered the
/// kernel (or the kernel rewound it to restart the call), make it return
/// [`ERESTART_NOT_STARTED`] instead.
///
/// # Safety
/// `ctx` is the ucontext the kernel passed to a signal handler on this thread.
#[cfg(target_arch = "x86_64")]
unsafe fn rewind_safe_syscall(ctx: &mut libc::ucontext_t) {
    let rip = &mut ctx.uc_mcontext.gregs[libc::REG_RIP as usize];
    let start = std::ptr::addr_of!(mimic_safe_syscall_start) as i64;
    let end = std::ptr::addr_of!(mimic_safe_syscall_end) as i64;
    if (start..end).contains(rip) {
        *rip = std::ptr::addr_of!(mimic_safe_syscall_interrupted) as i64;
    }
}

/// A host system call that may block, made so that a guest signal cannot slip in
/// between the pending check and the call (see the module note). Returns the raw
/// result: `-errno` on failure, `-ERESTART_NOT_STARTED` if a signal in `!blocked`
/// was pending before the call could start (nothing was done then).
///
/// # Safety
/// As for the raw system call `nr` with these arguments.
#[cfg(target_arch = "x86_64")]
pub unsafe fn safe_syscall(sig: &ThreadSignals, blocked: u64, nr: i64, a: [u64; 6]) -> i64 {
    // SAFETY: the routine passes its arguments to the kernel unchanged, after reading
    // the live `pending` word of the calling thread's signal state.
    unsafe { mimic_safe_syscall(sig.pending.as_ptr(), !blocked, nr, a[0], a[1], a[2], a[3], a[4], a[5]) }
}

/// The kernel's `struct sigaction` on x86-64 (handler, flags, restorer, mask).
#[repr(C)]
struct KernelSigaction {
    handler: usize,
    flags: u64,
    restorer: usize,
    mask: u64,
}

const SA_RESTORER_HOST: u64 = 0x0400_0000;

/// The host C library's signal-return trampoline (x86-64 handlers need one), read back
/// from the SIGSEGV action the engine installed through the C library.
fn host_restorer() -> usize {
    static R: std::sync::OnceLock<usize> = std::sync::OnceLock::new();
    *R.get_or_init(|| {
        mimic_backend::cranelift::entry::install_fault_handler();
        let mut old = KernelSigaction { handler: 0, flags: 0, restorer: 0, mask: 0 };
        // SAFETY: reading the current SIGSEGV action into a kernel-layout struct.
        unsafe { libc::syscall(libc::SYS_rt_sigaction, libc::SIGSEGV, std::ptr::null::<u8>(), &mut old, 8) };
        old.restorer
    })
}

/// Set the host disposition of `sig` to match a guest action. The raw system call
/// is used because the host C library refuses its own internal signals (32 and 33),
/// which the guest's C library uses for thread cancellation and set*id.
pub fn mirror_action(sig: i32, act: &SigAction) {
    if synchronous(sig) || uncatchable(sig) {
        return;
    }
    let handler = match act.handler {
        SIG_DFL => libc::SIG_DFL,
        SIG_IGN => libc::SIG_IGN,
        _ => host_handler as *const () as usize,
    };
    // No SA_RESTART: a blocking host call must return so the guest handler can run.
    let ka = KernelSigaction {
        handler,
        flags: libc::SA_SIGINFO as u64 | SA_RESTORER_HOST,
        restorer: host_restorer(),
        mask: !(bit(libc::SIGSEGV) | bit(libc::SIGBUS)),
    };
    // SAFETY: installing a handler (which touches only thread-local, async-signal-safe
    // state) or a standard disposition for a catchable signal, with the C library's
    // restorer.
    unsafe { libc::syscall(libc::SYS_rt_sigaction, sig, &ka, std::ptr::null_mut::<u8>(), 8) };
}

/// Apply a guest signal mask to the calling host thread (never blocking the signals
/// the engine needs for its own fault handling). Raw, like [`mirror_action`].
pub fn mirror_mask(mask: u64) {
    let m = host_mask(mask);
    // SAFETY: setting the calling thread's mask from a kernel-layout 64-bit set.
    unsafe { libc::syscall(libc::SYS_rt_sigprocmask, libc::SIG_SETMASK, &m, std::ptr::null_mut::<u64>(), 8) };
}

/// A guest signal mask as the host thread's: never the engine's synchronous signals
/// (its fault handling needs them) nor SIGKILL/SIGSTOP.
fn host_mask(mask: u64) -> u64 {
    let mut m = mask;
    for s in [SIGSEGV, SIGBUS, SIGILL, SIGTRAP, SIGFPE, SIGKILL, SIGSTOP] {
        m &= !bit(s);
    }
    m
}

/// Human name of a signal, for messages.
pub fn name(sig: i32) -> String {
    // SAFETY: strsignal returns a pointer to a static or thread-local string.
    let p = unsafe { libc::strsignal(sig) };
    if p.is_null() {
        return format!("signal {sig}");
    }
    // SAFETY: non-null strsignal results are NUL-terminated strings.
    unsafe { std::ffi::CStr::from_ptr(p) }.to_string_lossy().into_owned()
}

/// End the whole process the way the guest would end: killed by `sig`, with no core
/// file (the host's would describe mimic, not the guest).
pub fn die_by_signal(sig: i32) -> ! {
    // SAFETY: resetting dispositions and masks, then raising; exit if that fails.
    unsafe {
        let rl = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
        libc::setrlimit(libc::RLIMIT_CORE, &rl);
        libc::signal(sig, libc::SIG_DFL);
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        libc::sigaddset(&mut set, sig);
        libc::pthread_sigmask(libc::SIG_UNBLOCK, &set, std::ptr::null_mut());
        libc::raise(sig);
        libc::kill(libc::getpid(), sig);
        libc::_exit(128 + sig);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pipe() -> [i32; 2] {
        let mut p = [0i32; 2];
        // SAFETY: pipe2 writes two descriptors into `p`.
        assert_eq!(unsafe { libc::pipe2(p.as_mut_ptr(), libc::O_NONBLOCK) }, 0);
        p
    }

    #[test]
    fn safe_syscall_runs_the_call_when_nothing_is_pending() {
        let sig = ThreadSignals::default();
        let p = pipe();
        let mut b = [0u8; 1];
        // SAFETY: read(2) into a local buffer from our own pipe.
        let r = unsafe { safe_syscall(&sig, 0, libc::SYS_read, [p[0] as u64, b.as_mut_ptr() as u64, 1, 0, 0, 0]) };
        assert_eq!(r, -(libc::EAGAIN as i64), "an empty non-blocking pipe: EAGAIN from the kernel");
        // SAFETY: write(2) from a local buffer, then read it back.
        let w = unsafe { safe_syscall(&sig, 0, libc::SYS_write, [p[1] as u64, b"x".as_ptr() as u64, 1, 0, 0, 0]) };
        assert_eq!(w, 1);
        // SAFETY: as above.
        let r = unsafe { safe_syscall(&sig, 0, libc::SYS_read, [p[0] as u64, b.as_mut_ptr() as u64, 1, 0, 0, 0]) };
        assert_eq!((r, b[0]), (1, b'x'));
    }

    #[test]
    fn safe_syscall_does_not_start_with_an_unblocked_signal_pending() {
        let sig = ThreadSignals::default();
        sig.raise(SigInfo::fault(SIGURG, 0, 0));
        let p = pipe();
        // SAFETY: write(2) from a static buffer into our own pipe.
        let call = |blocked| unsafe {
            safe_syscall(&sig, blocked, libc::SYS_write, [p[1] as u64, b"x".as_ptr() as u64, 1, 0, 0, 0])
        };
        assert_eq!(call(0), -ERESTART_NOT_STARTED);
        let mut b = [0u8; 1];
        // SAFETY: read(2) into a local buffer.
        let r = unsafe { libc::read(p[0], b.as_mut_ptr().cast(), 1) };
        assert_eq!(r, -1, "the interrupted write must not have happened");
        assert_eq!(call(bit(SIGURG)), 1, "a blocked pending signal does not stop the call");
    }

    #[test]
    fn the_handler_moves_only_a_thread_that_has_not_entered_the_kernel() {
        let (start, end, out) = (
            std::ptr::addr_of!(mimic_safe_syscall_start) as i64,
            std::ptr::addr_of!(mimic_safe_syscall_end) as i64,
            std::ptr::addr_of!(mimic_safe_syscall_interrupted) as i64,
        );
        assert!(start < end && end < out);
        for (rip, expect) in [(start, out), (end - 2, out), (end, end), (start - 1, start - 1), (out, out)] {
            // SAFETY: ucontext_t is plain data.
            let mut uc: libc::ucontext_t = unsafe { std::mem::zeroed() };
            uc.uc_mcontext.gregs[libc::REG_RIP as usize] = rip;
            // SAFETY: a ucontext of our own; only its saved rip is read and written.
            unsafe { rewind_safe_syscall(&mut uc) };
            assert_eq!(uc.uc_mcontext.gregs[libc::REG_RIP as usize], expect, "rip {rip:#x}");
        }
    }

    #[test]
    fn wait_unblocked_returns_for_a_signal_queued_before_it_waits() {
        let sig = ThreadSignals::default();
        sig.raise(SigInfo::fault(SIGURG, 0, 0));
        // Would hang if the queue were not checked with host signals blocked first.
        sig.wait_unblocked(0);
        assert_ne!(sig.pending() & bit(SIGURG), 0);
    }
}
