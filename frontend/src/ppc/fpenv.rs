//! PowerPC helpers: the FPSCR rounding mode mirrored into the host, the time base, and
//! the vector operations that are simpler as plain Rust over the state than as IR
//! ([`super::vec`]).
//!
//! Guest FP arithmetic is host SSE arithmetic, so FPSCR[RN] is mirrored into the host
//! thread's MXCSR rounding control whenever the guest writes the FPSCR (as AArch64's
//! FPCR is). The time base runs at 512 MHz (what QEMU and POWER report in
//! `/proc/cpuinfo`), counted from CLOCK_MONOTONIC.

use mimic_ir::helpers::{self, HelperEffects, HelperId, HelperInfo};
use mimic_ir::hostfp::{mxcsr, set_mxcsr, MXCSR_FLAGS, MXCSR_RC};
use mimic_ir::Type;
use std::sync::OnceLock;

/// Helper ids, registered once.
pub struct PpcHelpers {
    /// `ppc_fpscr_write(fpscr)`: apply FPSCR[RN] to the host and clear its exception
    /// flags (the slot now holds the guest's).
    pub fpscr_write: HelperId,
    /// `ppc_fpscr_read(fpscr_slot) -> fpscr`: the slot plus the host's exception flags.
    pub fpscr_read: HelperId,
    /// `ppc_timebase() -> tb`.
    pub timebase: HelperId,
    /// `ppc_divde(ra, rb, mode) -> q`: divde/divdeu, see [`divde`].
    pub divde: HelperId,
    /// `ppc_vec(op, regs, imm)`: a vector operation on the VSRs in the state.
    pub vec: HelperId,
}

/// The MXCSR rounding control for FPSCR[RN] (the low two bits: 0 nearest, 1 toward
/// zero, 2 toward +inf, 3 toward -inf; x86: 0 nearest, 1 down, 2 up, 3 zero).
pub fn mxcsr_rc_for(fpscr: u32) -> u32 {
    let rc = match fpscr & 3 {
        0 => 0,
        1 => 3,
        2 => 2,
        _ => 1,
    };
    rc << 13
}

unsafe extern "C" fn fpscr_write(_: *mut u8, fpscr: u64, _: u64, _: u64, _: u64) -> u64 {
    set_mxcsr(mxcsr() & !(MXCSR_RC | MXCSR_FLAGS) | mxcsr_rc_for(fpscr as u32));
    0
}

/// FPSCR exception bits for the MXCSR flags: IE -> VX (and VXSOFT), ZE -> ZX, OE -> OX,
/// UE -> UX, PE -> XX; FX when any is set.
pub fn fpscr_flags_from_mxcsr(m: u32) -> u32 {
    let mut f = 0;
    for (x86, bit) in [(0, 1 << 29 | 1 << 10), (2, 1 << 26), (3, 1 << 28), (4, 1 << 27), (5, 1 << 25)] {
        if m >> x86 & 1 != 0 {
            f |= bit;
        }
    }
    if f != 0 {
        f |= 1 << 31;
    }
    f
}

unsafe extern "C" fn fpscr_read(_: *mut u8, slot: u64, _: u64, _: u64, _: u64) -> u64 {
    (slot as u32 | fpscr_flags_from_mxcsr(mxcsr())) as u64
}

/// Time base frequency.
pub const TB_FREQ: u64 = 512_000_000;

unsafe extern "C" fn timebase(_: *mut u8, _: u64, _: u64, _: u64, _: u64) -> u64 {
    let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: clock_gettime writes the timespec.
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) };
    let ns = ts.tv_sec as u128 * 1_000_000_000 + ts.tv_nsec as u128;
    (ns * TB_FREQ as u128 / 1_000_000_000) as u64
}

/// divde (`mode` bit 0 set) and divdeu: the 128-bit dividend `ra || 0` divided by `rb`.
/// Returns the quotient, or with `mode` bit 1 set whether it overflowed (division by
/// zero, or a quotient that does not fit in 64 bits); the ISA leaves the quotient
/// undefined then, and mimic gives 0 as QEMU does.
pub fn divde(ra: u64, rb: u64, mode: u64) -> u64 {
    let q = if mode & 1 != 0 {
        let x = ((ra as i64 as i128) << 64, rb as i64 as i128);
        match x.0.checked_div(x.1) {
            Some(q) if q == q as i64 as i128 => Some(q as u64),
            _ => None,
        }
    } else {
        match ((ra as u128) << 64).checked_div(rb as u128) {
            Some(q) if q >> 64 == 0 => Some(q as u64),
            _ => None,
        }
    };
    if mode & 2 != 0 {
        q.is_none() as u64
    } else {
        q.unwrap_or(0)
    }
}

unsafe extern "C" fn divde_helper(_: *mut u8, ra: u64, rb: u64, mode: u64, _: u64) -> u64 {
    divde(ra, rb, mode)
}

unsafe extern "C" fn vec(state: *mut u8, op: u64, regs: u64, imm: u64, _: u64) -> u64 {
    // SAFETY: the engine passes the state buffer of the ppc layout the lifters emitted
    // this call for; `super::vec::run` touches only VSR and CR slots inside it.
    unsafe { super::vec::run(state, op as u32, regs as u32, imm as u32) };
    0
}

/// The helpers (registered on first use).
pub fn helpers() -> &'static PpcHelpers {
    static H: OnceLock<PpcHelpers> = OnceLock::new();
    H.get_or_init(|| {
        let reg = |name: &str, func: helpers::HelperFn, params: Vec<Type>, ret: Option<Type>, effects| {
            helpers::register(HelperInfo { name: name.into(), func, params, ret, effects }).expect("ppc helper")
        };
        PpcHelpers {
            fpscr_write: reg("ppc_fpscr_write", fpscr_write, vec![Type::I64], None, HelperEffects::WritesState),
            fpscr_read: reg("ppc_fpscr_read", fpscr_read, vec![Type::I64], Some(Type::I64), HelperEffects::ReadsState),
            timebase: reg("ppc_timebase", timebase, vec![], Some(Type::I64), HelperEffects::ReadsState),
            divde: reg("ppc_divde", divde_helper, vec![Type::I64; 3], Some(Type::I64), HelperEffects::Pure),
            vec: reg("ppc_vec", vec, vec![Type::I64, Type::I64, Type::I64], None, HelperEffects::WritesState),
        }
    })
}

#[cfg(test)]
mod tests {
    use super::divde;

    #[test]
    fn divde_quotients_and_overflow() {
        let (s, u, ov) = (1, 0, 2);
        // (1 << 64) / 3, both ways.
        assert_eq!(divde(1, 3, u), 0x5555_5555_5555_5555);
        assert_eq!(divde(1, 3, s), 0x5555_5555_5555_5555);
        // -(3 << 64) / 7 fits in 64 signed bits.
        assert_eq!(divde(-3i64 as u64, 7, s), (-((3i128 << 64) / 7)) as u64);
        assert_eq!(divde(-3i64 as u64, 7, s | ov), 0);
        // 2^63 does not fit in 64 signed bits (the ISA sets OV; QEMU does not).
        assert_eq!(divde(1, 2, s | ov), 1);
        assert_eq!(divde(1, 2, s), 0);
        assert_eq!(divde(1, 2, u | ov), 0);
        assert_eq!(divde(1, 2, u), 1 << 63);
        // -2^63 does.
        assert_eq!(divde(u64::MAX, 2, s), 1 << 63);
        assert_eq!(divde(u64::MAX, 2, s | ov), 0);
        // Division by zero, and dividends at least the divisor.
        for mode in [s, u] {
            assert_eq!(divde(5, 0, mode | ov), 1);
            assert_eq!(divde(5, 0, mode), 0);
        }
        assert_eq!(divde(7, 7, u | ov), 1);
        assert_eq!(divde(7, 7, s | ov), 1);
        assert_eq!(divde(6, 7, u | ov), 0);
    }
}
