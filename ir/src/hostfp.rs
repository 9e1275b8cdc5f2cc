//! The host's floating-point control and status register (x86-64 MXCSR): its rounding
//! mode and sticky exception flags are the guest's while guest code runs (frontends'
//! FP helpers translate them to and from the guest's FPCR/FPSCR), and the engine swaps
//! them with the host's around guest execution and translation.

/// MXCSR's sticky exception flags (IE, DE, ZE, OE, UE, PE).
pub const MXCSR_FLAGS: u32 = 0x3f;
/// MXCSR's rounding control (bits 13-14: nearest, down, up, toward zero).
pub const MXCSR_RC: u32 = 3 << 13;
/// MXCSR's flush-to-zero (bit 15) and denormals-are-zero (bit 6).
pub const MXCSR_FTZ_DAZ: u32 = 1 << 15 | 1 << 6;

/// The current MXCSR.
#[cfg(target_arch = "x86_64")]
pub fn mxcsr() -> u32 {
    let mut v: u32 = 0;
    // SAFETY: stmxcsr stores the 32-bit MXCSR to the given address.
    unsafe { std::arch::asm!("stmxcsr [{}]", in(reg) &mut v, options(nostack)) };
    v
}

/// Load MXCSR; callers keep every exception masked (bits 7-12), as the host expects.
#[cfg(target_arch = "x86_64")]
pub fn set_mxcsr(v: u32) {
    // SAFETY: ldmxcsr loads MXCSR; the value keeps every exception masked (bits 7-12).
    unsafe { std::arch::asm!("ldmxcsr [{}]", in(reg) &v, options(nostack)) };
}
