//! Boards: which CPU, memory map, devices and boot protocol a system-mode guest gets.
//!
//! - [`x86_kvm`]: a PC-like x86-64 board on KVM vCPUs that boots a Linux bzImage
//!   directly in 64-bit mode (x86-64 Linux hosts only).

#[cfg(all(target_arch = "x86_64", target_os = "linux"))]
pub mod mptable;
#[cfg(all(target_arch = "x86_64", target_os = "linux"))]
pub mod x86_kvm;
