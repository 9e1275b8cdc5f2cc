//! Entering compiled code, and leaving it precisely when a guest access faults.
//!
//! `mimic_jit_enter` (x86-64 assembly) saves every SysV callee-saved register, records
//! its stack pointer in the thread's [`JitCtx`] (`saved_rsp`) and calls the region
//! with Cranelift's `tail` convention (arguments in rdi, rsi, rdx; result in rax).
//!
//! When a guest memory access inside generated code raises SIGSEGV/SIGBUS, the signal
//! handler ([`recover`]) records the faulting address and host pc in the context and
//! rewrites the interrupted machine state to resume at `mimic_jit_fault_landing` with
//! the saved stack pointer: the landing restores the callee-saved registers and
//! returns [`exit_code::FAULT`](super::exit_code::FAULT) to `enter`'s caller, as if the
//! region had returned. Generated code keeps guest state in memory in program order,
//! so the state is exactly that of the faulting guest instruction.

use super::JitCtx;
use std::cell::Cell;

/// `si_code` of a SIGSEGV on a mapped page without the needed permission (Linux).
const SEGV_ACCERR: libc::c_int = 2;
/// `si_code` of a fault the kernel raised without a page-fault address (e.g. #GP).
const SI_KERNEL: libc::c_int = 0x80;

#[cfg(target_arch = "x86_64")]
std::arch::global_asm!(
    ".text",
    ".globl mimic_jit_enter",
    ".type mimic_jit_enter,@function",
    "mimic_jit_enter:",
    // rdi = entry, rsi = state, rdx = mem_base, rcx = ctx
    "push rbp",
    "mov rbp, rsp",
    "push rbx",
    "push r12",
    "push r13",
    "push r14",
    "push r15",
    "sub rsp, 8",
    "mov [rcx + 40], rsp",
    "mov rax, rdi",
    "mov rdi, rsi",
    "mov rsi, rdx",
    "mov rdx, rcx",
    "call rax",
    "2:",
    "add rsp, 8",
    "pop r15",
    "pop r14",
    "pop r13",
    "pop r12",
    "pop rbx",
    "pop rbp",
    "ret",
    ".size mimic_jit_enter, . - mimic_jit_enter",
    ".globl mimic_jit_fault_landing",
    ".type mimic_jit_fault_landing,@function",
    "mimic_jit_fault_landing:",
    // The handler set rsp to the saved value and rax to the exit code.
    "jmp 2b",
    ".size mimic_jit_fault_landing, . - mimic_jit_fault_landing",
    // mimic_guarded_copy(dst = rdi, src = rsi, len = rdx) -> 0, or 1 if an access
    // faulted (the handler moves the pc from the copy instruction to the fault exit).
    ".globl mimic_guarded_copy",
    ".type mimic_guarded_copy,@function",
    "mimic_guarded_copy:",
    "mov rcx, rdx",
    ".globl mimic_guarded_copy_insn",
    "mimic_guarded_copy_insn:",
    "rep movsb",
    "xor eax, eax",
    "ret",
    ".globl mimic_guarded_copy_fault",
    "mimic_guarded_copy_fault:",
    "mov eax, 1",
    "ret",
    ".size mimic_guarded_copy, . - mimic_guarded_copy",
);

extern "C" {
    fn mimic_guarded_copy(dst: *mut u8, src: *const u8, len: usize) -> u32;
    fn mimic_guarded_copy_insn();
    fn mimic_guarded_copy_fault();
}

/// Where a guarded copy faulted: the host address, whether it was a write, and
/// whether the host raised SIGBUS (a file mapping past the end of its file) rather
/// than SIGSEGV.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CopyFault {
    pub host_addr: u64,
    pub write: bool,
    pub bus: bool,
}

thread_local! {
    static COPY_FAULT: Cell<(u64, u64, i32)> = const { Cell::new((0, 0, 0)) };
}

/// Copy `len` bytes, surviving a fault: guest memory the interpreter and the syscall
/// layer touch can vanish or fault (another thread's munmap, a file mapping past EOF)
/// between the mapping check and the access. The fault handler must be installed.
///
/// # Safety
/// `dst` and `src` must be valid for `len` bytes as far as Rust is concerned except
/// for host faults, which are reported instead of crashing.
pub unsafe fn guarded_copy(dst: *mut u8, src: *const u8, len: usize) -> Result<(), CopyFault> {
    install_fault_handler();
    // SAFETY: forwarded to the caller; faults inside the copy are recovered.
    if unsafe { mimic_guarded_copy(dst, src, len) } == 0 {
        return Ok(());
    }
    let (addr, err, sig) = COPY_FAULT.with(|c| c.get());
    Ok::<(), CopyFault>(()).and(Err(CopyFault { host_addr: addr, write: err & 2 != 0, bus: sig == libc::SIGBUS }))
}

#[cfg(not(target_arch = "x86_64"))]
compile_error!("mimic's JIT entry is only written for x86-64 hosts so far");

unsafe extern "C" {
    fn mimic_jit_enter(entry: *const u8, state: *mut u8, mem: *mut u8, ctx: *mut JitCtx) -> u64;
    fn mimic_jit_fault_landing();
}

thread_local! {
    /// The context of the compiled code this thread is running (null outside it).
    /// Const-initialised without a destructor, so reading it from a signal handler
    /// is a plain TLS load (mimic is linked statically into its binary).
    static CURRENT: Cell<*mut JitCtx> = const { Cell::new(std::ptr::null_mut()) };
    /// Whether this thread has its alternate signal stack.
    static ALT_STACK: Cell<bool> = const { Cell::new(false) };
}

const ALT_STACK_SIZE: usize = 64 * 1024;

/// Give this thread an alternate signal stack (once), so that a fault caused by a
/// guest stack overflow in generated code can still be handled. The stack is leaked
/// with the thread (64 KiB per guest thread).
fn ensure_alt_stack() {
    if ALT_STACK.with(|a| a.replace(true)) {
        return;
    }
    // SAFETY: querying the current alternate stack writes only `old`.
    let mut old: libc::stack_t = unsafe { std::mem::zeroed() };
    // SAFETY: as above.
    unsafe { libc::sigaltstack(std::ptr::null(), &mut old) };
    if old.ss_flags & libc::SS_DISABLE == 0 && old.ss_size >= ALT_STACK_SIZE {
        return; // Rust's runtime (or the embedder) already installed one.
    }
    let mem = Box::leak(vec![0u8; ALT_STACK_SIZE].into_boxed_slice());
    let st = libc::stack_t { ss_sp: mem.as_mut_ptr().cast(), ss_flags: 0, ss_size: ALT_STACK_SIZE };
    // SAFETY: `st` describes leaked memory that lives as long as the thread.
    unsafe { libc::sigaltstack(&st, std::ptr::null_mut()) };
}

/// Run compiled code.
///
/// # Safety
/// See [`Compiler::enter`](super::Compiler::enter).
pub(crate) unsafe fn enter(entry: *const u8, state: *mut u8, mem: *mut u8, ctx: *mut JitCtx) -> u64 {
    ensure_alt_stack();
    let prev = CURRENT.with(|c| c.replace(ctx));
    // A helper may re-enter compiled code with the same context: keep the outer
    // entry's saved stack pointer for a fault after the inner entry returns.
    // SAFETY: the caller guarantees `ctx` is valid.
    let saved = unsafe { (*ctx).saved_rsp };
    // SAFETY: forwarded from the caller's contract; the assembly follows the SysV ABI
    // towards Rust and Cranelift's tail convention towards the region.
    let r = unsafe { mimic_jit_enter(entry, state, mem, ctx) };
    // SAFETY: as above.
    unsafe { (*ctx).saved_rsp = saved };
    CURRENT.with(|c| c.set(prev));
    r
}

/// Called from a SIGSEGV/SIGBUS handler: if the fault happened in generated code run
/// by this thread, redirect the interrupted context to the fault landing and return
/// true. Only async-signal-safe operations are used.
///
/// # Safety
/// `uctx` must be the `ucontext_t` the kernel passed to an `SA_SIGINFO` handler on this
/// thread, and `info` its siginfo.
pub unsafe fn recover(info: *const libc::siginfo_t, uctx: *mut libc::c_void) -> bool {
    // A guarded copy: resume at its fault exit.
    // SAFETY: the caller passes the kernel's ucontext and siginfo for this signal.
    unsafe {
        let uc = uctx as *mut libc::ucontext_t;
        let gregs = &mut (*uc).uc_mcontext.gregs;
        if gregs[libc::REG_RIP as usize] as usize == mimic_guarded_copy_insn as *const () as usize {
            let fault = ((*info).si_addr() as u64, gregs[libc::REG_ERR as usize] as u64, (*info).si_signo);
            COPY_FAULT.with(|c| c.set(fault));
            gregs[libc::REG_RIP as usize] = mimic_guarded_copy_fault as *const () as usize as i64;
            return true;
        }
    }
    let ctx = CURRENT.with(|c| c.get());
    if ctx.is_null() {
        return false;
    }
    // SAFETY: the caller passes the kernel's ucontext and siginfo for this signal.
    unsafe {
        let uc = uctx as *mut libc::ucontext_t;
        let gregs = &mut (*uc).uc_mcontext.gregs;
        let pc = gregs[libc::REG_RIP as usize] as u64;
        if !crate::codemem::is_jit_code(pc as usize) {
            return false;
        }
        let ctx = &mut *ctx;
        ctx.fault_addr = (*info).si_addr() as u64;
        ctx.fault_host_pc = pc;
        // x86 page-fault error code: bit 1 = write access, bit 0 = page present.
        let err = gregs[libc::REG_ERR as usize] as u64;
        // A non-canonical address raises #GP, reported as SI_KERNEL without an address.
        let code = (*info).si_code;
        let bus = (*info).si_signo == libc::SIGBUS;
        ctx.fault_flags = (err & 2 != 0) as u64
            | ((code == SEGV_ACCERR) as u64) << 1
            | ((code == SI_KERNEL && !bus) as u64) << 2
            | (bus as u64) << 3;
        gregs[libc::REG_RSP as usize] = ctx.saved_rsp as i64;
        gregs[libc::REG_RAX as usize] = (super::exit_code::FAULT << 32) as i64;
        gregs[libc::REG_RIP as usize] = mimic_jit_fault_landing as *const () as usize as i64;
    }
    true
}

fn write_stderr(parts: &[&[u8]]) {
    for p in parts {
        // SAFETY: write(2) on fd 2 with a valid buffer is async-signal-safe.
        unsafe { libc::write(2, p.as_ptr().cast(), p.len()) };
    }
}

/// The handlers that were installed before ours (Rust's stack-overflow reporter, or
/// the embedder's), for faults that are not ours.
static mut OLD_SEGV: Option<libc::sigaction> = None;
static mut OLD_BUS: Option<libc::sigaction> = None;

extern "C" fn handler(sig: libc::c_int, info: *mut libc::siginfo_t, uctx: *mut libc::c_void) {
    // SAFETY: the kernel passes valid siginfo and ucontext to SA_SIGINFO handlers.
    if unsafe { recover(info, uctx) } {
        return;
    }
    // SAFETY: as above.
    let pc = unsafe { (*(uctx as *const libc::ucontext_t)).uc_mcontext.gregs[libc::REG_RIP as usize] as usize };
    if crate::codemem::is_jit_code(pc) {
        write_stderr(&[b"mimic: fault in compiled code outside any guest execution context\n"]);
        // SAFETY: _exit is async-signal-safe.
        unsafe { libc::_exit(128 + sig) };
    }
    // Not ours: hand it to the previous handler, or take the default action.
    // SAFETY: OLD_* are written once before our handler is installed and only read here.
    let old = unsafe {
        if sig == libc::SIGSEGV {
            (*std::ptr::addr_of!(OLD_SEGV)).as_ref()
        } else {
            (*std::ptr::addr_of!(OLD_BUS)).as_ref()
        }
    };
    match old {
        Some(o) if o.sa_sigaction != libc::SIG_DFL && o.sa_sigaction != libc::SIG_IGN => {
            if o.sa_flags & libc::SA_SIGINFO != 0 {
                // SAFETY: the previous handler was installed as an SA_SIGINFO handler.
                let f: extern "C" fn(libc::c_int, *mut libc::siginfo_t, *mut libc::c_void) =
                    unsafe { std::mem::transmute(o.sa_sigaction) };
                f(sig, info, uctx);
            } else {
                // SAFETY: the previous handler was installed as a plain handler.
                let f: extern "C" fn(libc::c_int) = unsafe { std::mem::transmute(o.sa_sigaction) };
                f(sig);
            }
        }
        _ => {
            // Returning re-executes the faulting instruction, which then takes the
            // default action (a core dump, as without mimic's handler).
            // SAFETY: resetting a signal disposition is async-signal-safe.
            unsafe { libc::signal(sig, libc::SIG_DFL) };
        }
    }
}

/// Install the SIGSEGV/SIGBUS handler that turns faults in generated code into
/// [`JitExit::Fault`](super::JitExit::Fault) (idempotent; other faults keep the
/// default action).
pub fn install_fault_handler() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        for sig in [libc::SIGSEGV, libc::SIGBUS] {
            // SAFETY: a zeroed sigaction is a valid starting point; we install a valid
            // SA_SIGINFO handler (on the alternate stack) with an empty mask, after
            // saving the previous one, which only the handler reads afterwards.
            unsafe {
                let mut old: libc::sigaction = std::mem::zeroed();
                libc::sigaction(sig, std::ptr::null(), &mut old);
                if sig == libc::SIGSEGV {
                    *std::ptr::addr_of_mut!(OLD_SEGV) = Some(old);
                } else {
                    *std::ptr::addr_of_mut!(OLD_BUS) = Some(old);
                }
                let mut sa: libc::sigaction = std::mem::zeroed();
                sa.sa_sigaction = handler as *const () as usize;
                sa.sa_flags = libc::SA_SIGINFO | libc::SA_ONSTACK;
                libc::sigemptyset(&mut sa.sa_mask);
                libc::sigaction(sig, &sa, std::ptr::null_mut());
            }
        }
    });
}
