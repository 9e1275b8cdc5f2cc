//! Linux user mode: run a guest Linux program on the host kernel.
//!
//! - [`elf`]: ELF parsing and validation; [`loader`]: the address space a program starts
//!   with (segments, dynamic linker, stack, auxv).
//! - [`arch`]: the per-architecture ABI (registers, structures, signal frames) and
//!   AArch64's; [`ppc`]: 64-bit PowerPC's, [`ppc32`]: 32-bit PowerPC's; [`sysno`]: the
//!   generic syscall numbers, [`sysno_ppc64`]: ppc64's, [`sysno_ppc32`]: ppc32's.
//! - [`process`]: processes and threads (one host thread per guest thread);
//!   [`syscall`]: the system calls, shared by all architectures; [`signal`]: guest
//!   signals and how host signals reach them; [`endian`]: guest byte order and the
//!   ILP32 structure layouts (ILP32 calls: `syscall/compat32`).

pub mod arch;
pub mod elf;
pub mod endian;
pub mod loader;
pub mod ppc;
pub mod ppc32;
pub mod process;
pub mod signal;
pub mod syscall;
pub mod sysno;
pub mod sysno_ppc32;
pub mod sysno_ppc64;
pub mod tty;
