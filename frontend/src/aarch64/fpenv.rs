//! The A64 floating-point environment and counters, as IR helpers.
//!
//! Guest threads are host threads and guest FP arithmetic is host SSE arithmetic (in
//! compiled code and in the interpreter alike), so FPCR's rounding mode and flush-to-
//! zero bit are mirrored into the host thread's MXCSR when the guest writes FPCR, and
//! FPSR's cumulative exception flags are MXCSR's sticky flags, read when the guest
//! reads FPSR and cleared when it writes it. The IR's explicit roundings (FRINTN/P/M/Z,
//! FCVTZS...) do not depend on MXCSR; FRINTI/FRINTX round in the current mode.
//!
//! CNTVCT_EL0 counts nanoseconds of CLOCK_MONOTONIC and CNTFRQ_EL0 reports 1 GHz.

use mimic_ir::helpers::{self, HelperEffects, HelperId, HelperInfo};
use mimic_ir::hostfp::{mxcsr, set_mxcsr, MXCSR_FLAGS, MXCSR_FTZ_DAZ, MXCSR_RC};
use mimic_ir::Type;
use std::sync::OnceLock;

/// Helper ids, registered once.
pub struct FpHelpers {
    /// `a64_fpcr_write(fpcr)`: apply FPCR to the host.
    pub fpcr_write: HelperId,
    /// `a64_fpsr_read(fpsr_slot) -> fpsr`: the slot's bits plus the host's flags.
    pub fpsr_read: HelperId,
    /// `a64_fpsr_write(fpsr)`: clear the host's flags (the lifter stores the slot).
    pub fpsr_write: HelperId,
    /// `a64_frint_cur(bits, double) -> bits`: round to integral in the current mode.
    pub frint_cur: HelperId,
    /// `a64_cntvct() -> count`.
    pub cntvct: HelperId,
}

/// The MXCSR exception flags as FPSR cumulative bits (IE->IOC, ZE->DZC, OE->OFC,
/// UE->UFC, PE->IXC).
pub fn fpsr_flags_from_mxcsr(m: u32) -> u32 {
    let mut f = 0;
    for (x86, arm) in [(0, 0), (2, 1), (3, 2), (4, 3), (5, 4)] {
        if m >> x86 & 1 != 0 {
            f |= 1 << arm;
        }
    }
    f
}

/// The MXCSR control bits for an FPCR value (RMode bits 23:22, FZ bit 24).
pub fn mxcsr_control_for(fpcr: u32) -> u32 {
    // ARM RMode: 00 nearest, 01 +inf, 10 -inf, 11 zero. x86 RC: 00 nearest, 01 -inf,
    // 10 +inf, 11 zero.
    let rc = match fpcr >> 22 & 3 {
        0 => 0,
        1 => 2,
        2 => 1,
        _ => 3,
    };
    let fz = if fpcr >> 24 & 1 != 0 { MXCSR_FTZ_DAZ } else { 0 };
    rc << 13 | fz
}

unsafe extern "C" fn fpcr_write(_: *mut u8, fpcr: u64, _: u64, _: u64, _: u64) -> u64 {
    let m = mxcsr() & !(MXCSR_RC | MXCSR_FTZ_DAZ);
    set_mxcsr(m | mxcsr_control_for(fpcr as u32));
    0
}

unsafe extern "C" fn fpsr_read(_: *mut u8, slot: u64, _: u64, _: u64, _: u64) -> u64 {
    (slot as u32 | fpsr_flags_from_mxcsr(mxcsr())) as u64
}

unsafe extern "C" fn fpsr_write(_: *mut u8, _fpsr: u64, _: u64, _: u64, _: u64) -> u64 {
    set_mxcsr(mxcsr() & !MXCSR_FLAGS);
    0
}

unsafe extern "C" fn frint_cur(_: *mut u8, bits: u64, double: u64, _: u64, _: u64) -> u64 {
    // roundsd/roundss with immediate 4: the MXCSR rounding mode, inexact reported
    // (FRINTX; FRINTI differs only in not signalling inexact, which is sticky anyway).
    if double != 0 {
        let x = f64::from_bits(bits);
        let r: f64;
        // SAFETY: SSE4.1 roundsd on registers.
        unsafe {
            std::arch::asm!("roundsd {r}, {x}, 4", r = out(xmm_reg) r, x = in(xmm_reg) x, options(nostack, pure, nomem))
        };
        r.to_bits()
    } else {
        let x = f32::from_bits(bits as u32);
        let r: f32;
        // SAFETY: SSE4.1 roundss on registers.
        unsafe {
            std::arch::asm!("roundss {r}, {x}, 4", r = out(xmm_reg) r, x = in(xmm_reg) x, options(nostack, pure, nomem))
        };
        r.to_bits() as u64
    }
}

unsafe extern "C" fn cntvct(_: *mut u8, _: u64, _: u64, _: u64, _: u64) -> u64 {
    let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: clock_gettime writes the timespec.
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) };
    ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64
}

/// CNTFRQ_EL0: the counter frequency (1 GHz: CNTVCT_EL0 counts nanoseconds).
pub const CNTFRQ: u64 = 1_000_000_000;

/// The helpers (registered on first use).
pub fn helpers() -> &'static FpHelpers {
    static H: OnceLock<FpHelpers> = OnceLock::new();
    H.get_or_init(|| {
        let reg = |name: &str, func: helpers::HelperFn, params: Vec<Type>, ret: Option<Type>, effects| {
            helpers::register(HelperInfo { name: name.into(), func, params, ret, effects }).expect("A64 helper")
        };
        FpHelpers {
            fpcr_write: reg("a64_fpcr_write", fpcr_write, vec![Type::I64], None, HelperEffects::WritesState),
            fpsr_read: reg("a64_fpsr_read", fpsr_read, vec![Type::I64], Some(Type::I64), HelperEffects::ReadsState),
            fpsr_write: reg("a64_fpsr_write", fpsr_write, vec![Type::I64], None, HelperEffects::WritesState),
            frint_cur: reg(
                "a64_frint_cur",
                frint_cur,
                vec![Type::I64, Type::I64],
                Some(Type::I64),
                HelperEffects::ReadsState,
            ),
            cntvct: reg("a64_cntvct", cntvct, vec![], Some(Type::I64), HelperEffects::ReadsState),
        }
    })
}
