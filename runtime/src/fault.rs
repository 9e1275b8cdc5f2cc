//! Host fault handling for compiled code.
//!
//! Until precise guest-fault recovery lands with the user-mode memory, a host
//! SIGSEGV/SIGBUS raised inside generated code (a guest access outside a memory that
//! declared itself JIT-safe) ends mimic with one clear line instead of a crash dump.
//! Faults anywhere else get the default action.

use mimic_backend::codemem::is_jit_code;

/// Write a message using only async-signal-safe calls.
fn write_stderr(parts: &[&[u8]]) {
    for p in parts {
        // SAFETY: write(2) on fd 2 with a valid buffer is async-signal-safe.
        unsafe { libc::write(2, p.as_ptr().cast(), p.len()) };
    }
}

fn hex(v: u64, buf: &mut [u8; 18]) -> &[u8] {
    buf[0] = b'0';
    buf[1] = b'x';
    for i in 0..16 {
        let d = ((v >> ((15 - i) * 4)) & 0xf) as u8;
        buf[2 + i] = if d < 10 { b'0' + d } else { b'a' + d - 10 };
    }
    &buf[..]
}

extern "C" fn handler(sig: libc::c_int, info: *mut libc::siginfo_t, uctx: *mut libc::c_void) {
    // SAFETY: the kernel passes valid siginfo and ucontext pointers to SA_SIGINFO handlers.
    let (addr, pc) = unsafe {
        let addr = (*info).si_addr() as u64;
        let uc = uctx as *const libc::ucontext_t;
        #[cfg(target_arch = "x86_64")]
        let pc = (*uc).uc_mcontext.gregs[libc::REG_RIP as usize] as u64;
        #[cfg(not(target_arch = "x86_64"))]
        let pc = 0u64;
        (addr, pc)
    };
    if is_jit_code(pc as usize) {
        let mut b1 = [0u8; 18];
        let mut b2 = [0u8; 18];
        write_stderr(&[
            b"mimic: compiled guest code accessed host address ",
            hex(addr, &mut b1),
            b" outside guest memory (host pc ",
            hex(pc, &mut b2),
            b"); run with --tier interp for a precise guest fault\n",
        ]);
        // SAFETY: _exit is async-signal-safe.
        unsafe { libc::_exit(128 + sig) };
    }
    // Not ours: restore the default action; returning re-executes the faulting
    // instruction, which then takes the default action (a core dump).
    // SAFETY: resetting a signal disposition is async-signal-safe.
    unsafe { libc::signal(sig, libc::SIG_DFL) };
}

/// Install the handler for SIGSEGV and SIGBUS (idempotent).
pub fn install() {
    for sig in [libc::SIGSEGV, libc::SIGBUS] {
        // SAFETY: a zeroed sigaction is a valid starting point; we set a valid
        // SA_SIGINFO handler with an empty mask.
        unsafe {
            let mut sa: libc::sigaction = std::mem::zeroed();
            sa.sa_sigaction = handler as *const () as usize;
            sa.sa_flags = libc::SA_SIGINFO;
            libc::sigemptyset(&mut sa.sa_mask);
            libc::sigaction(sig, &sa, std::ptr::null_mut());
        }
    }
}
