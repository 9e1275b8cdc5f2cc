//! Linux user mode: ELF parsing and validation (loading, syscalls, signals and threads come later).

pub mod elf;
