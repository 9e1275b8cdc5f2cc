//! What Linux user mode needs to know about a guest architecture: its frontend,
//! address-space size, registers of the system-call ABI, the structures whose layout
//! differs between architectures (struct stat, the signal frame), and the hardware
//! capabilities mimic implements for it. Everything else in [`super`] is shared.

use super::elf::Arch;
use super::signal::{SigAction, SigInfo};
use super::sysno;
use crate::usermem::UserMemory;
use mimic_frontend::aarch64::{Aarch64, Regs};
use mimic_frontend::Frontend;
use mimic_ir::{MemFault, StateBuf, StateLayout};
use std::sync::Arc;

/// A guest stack for signal delivery (sigaltstack).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct AltStack {
    pub sp: u64,
    pub flags: i32,
    pub size: u64,
}

impl AltStack {
    /// Where a signal frame for `act` goes below (Linux's `sigsp`): the top of this
    /// alternate stack for an SA_ONSTACK handler when one is set up and the thread is
    /// not already on it, else the interrupted stack pointer `sp`.
    pub fn frame_top(&self, sp: u64, act: &SigAction) -> u64 {
        let can_switch = self.size != 0 && (sp < self.sp || sp >= self.sp + self.size);
        if act.flags & super::signal::SA_ONSTACK != 0 && can_switch {
            self.sp + self.size
        } else {
            sp
        }
    }
}

/// One guest architecture's Linux ABI.
pub trait LinuxArch: Send + Sync + 'static {
    type Fe: Frontend + Send + 'static;
    /// The ELF architecture this ABI runs.
    fn elf_arch(&self) -> Arch;
    fn frontend(&self) -> Self::Fe;
    fn layout(&self) -> Arc<StateLayout>;
    /// Guest address space size (log2).
    fn addr_bits(&self) -> u8;
    /// Bytes per pointer.
    fn word(&self) -> u64;
    fn big_endian(&self) -> bool;
    /// `uname -m` and AT_PLATFORM.
    fn machine(&self) -> &'static str;
    /// AT_PLATFORM (the machine name unless the architecture names a CPU there; empty
    /// for none).
    fn platform(&self) -> &'static str {
        self.machine()
    }
    /// AT_HWCAP, AT_HWCAP2: exactly what the frontend implements.
    fn hwcap(&self) -> (u64, u64);
    /// Architecture-specific auxv entries (PowerPC's cache block sizes).
    fn extra_auxv(&self) -> Vec<(u64, u64)> {
        Vec::new()
    }
    /// The open flags whose values differ from x86-64's (asm-generic's unless the
    /// architecture has its own).
    fn open_flags(&self) -> &'static super::syscall::OpenFlagMap {
        &super::syscall::GENERIC_OPEN_FLAGS
    }
    /// The terminal ioctls (asm-generic's, the host's numbers, unless the
    /// architecture has its own).
    fn tty(&self) -> &'static super::tty::TtyAbi {
        &super::tty::GENERIC
    }
    /// The SOL_SOCKET option numbers whose values differ from asm-generic's (the
    /// host's), as (guest, host) pairs.
    fn socket_options(&self) -> &'static [(i32, i32)] {
        &[]
    }
    /// The guest's `struct stat` for a host one (asm-generic's 128-byte layout unless
    /// the architecture has its own).
    fn stat_bytes(&self, st: &libc::stat) -> Vec<u8> {
        super::syscall::stat_generic(st).to_vec()
    }
    /// A siginfo in the guest's layout and byte order (the 64-bit layout unless the
    /// architecture is ILP32).
    fn siginfo_bytes(&self, info: &SigInfo) -> [u8; 128] {
        info.to_guest_bytes(self.big_endian())
    }
    /// A siginfo the guest gives the kernel, in the host's layout and order.
    fn siginfo_from_guest(&self, raw: &[u8; 128]) -> [u8; 128] {
        let mut raw = *raw;
        if self.big_endian() {
            let signo = super::endian::u32_from(true, &raw[0..4]) as i32;
            let code = super::endian::u32_from(true, &raw[8..12]) as i32;
            super::endian::swap_siginfo(&mut raw, signo, code);
        }
        raw
    }
    fn minsigstksz(&self) -> Option<u64>;
    /// The generic name of syscall `nr` (the dispatcher works on names).
    fn syscall_name(&self, nr: u64) -> Option<&'static str>;

    /// Registers at program start (`pc` is the ELF entry, which may name a function
    /// descriptor in `mem`; `reloc` is the load bias of the image it belongs to, the
    /// dynamic linker's or the program's, which Linux adds to an ELFv1
    /// descriptor's entry and TOC, as they are not relocated yet).
    fn init_state(&self, mem: &UserMemory, st: &mut StateBuf, pc: u64, sp: u64, reloc: u64);
    fn pc(&self, st: &StateBuf) -> u64;
    fn set_pc(&self, st: &mut StateBuf, pc: u64);
    fn sp(&self, st: &StateBuf) -> u64;
    fn set_sp(&self, st: &mut StateBuf, sp: u64);
    /// The syscall number and arguments of a pending system call.
    fn syscall(&self, st: &StateBuf) -> (u64, [u64; 6]);
    /// Store a syscall result (a value, or -errno).
    fn set_syscall_result(&self, st: &mut StateBuf, ret: i64);
    /// Move the pc back to the system call instruction, so that it runs again (the
    /// syscall's registers are untouched).
    fn restart_syscall(&self, st: &mut StateBuf);
    fn set_tls(&self, st: &mut StateBuf, tls: u64);
    /// Registers of a new thread or forked child: clone returns 0 there.
    fn clone_child(&self, st: &mut StateBuf, new_sp: u64);

    /// The guest code range an instruction-cache sync at `pc` names (the instruction
    /// that raised `exit_trap codesync`), and the pc to resume at.
    fn code_sync(&self, mem: &UserMemory, st: &StateBuf, pc: u64) -> Option<(std::ops::Range<u64>, u64)>;
    /// Machine code of the signal-return trampoline (rt_sigreturn), which mimic maps
    /// for the guest as the kernel's vDSO provides it.
    fn sigtramp_code(&self) -> Vec<u8>;
    /// Build a signal frame on the guest stack and enter the handler, which returns
    /// to `restorer`.
    #[allow(clippy::too_many_arguments)]
    fn setup_frame(
        &self,
        mem: &UserMemory,
        st: &mut StateBuf,
        info: &SigInfo,
        act: &SigAction,
        restorer: u64,
        old_mask: u64,
        alt: &AltStack,
    ) -> Result<(), MemFault>;
    /// rt_sigreturn: restore the registers from the frame at the stack pointer and
    /// return the signal mask saved there.
    fn restore_frame(&self, mem: &UserMemory, st: &mut StateBuf) -> Result<u64, MemFault>;
    /// sigreturn, on the ABIs whose handlers without SA_SIGINFO get a non-RT frame
    /// (32-bit PowerPC): restore the registers from it and return its signal mask.
    /// None where the call does not exist.
    fn restore_old_frame(&self, _mem: &UserMemory, _st: &mut StateBuf) -> Option<Result<u64, MemFault>> {
        None
    }
    /// swapcontext(old, new, size), on the ABIs that have it (32-bit PowerPC): save
    /// the registers and `mask` into the ucontext at `old` (unless 0), then load them
    /// from the one at `new` (unless 0). Ok(Some(mask)): the registers were loaded
    /// and the mask is the new context's; Ok(None): return 0. None where the call
    /// does not exist.
    fn swapcontext(
        &self,
        _mem: &UserMemory,
        _st: &mut StateBuf,
        _mask: u64,
        _ctx: [u64; 3],
    ) -> Option<Result<Option<u64>, SwapContextError>> {
        None
    }
}

/// How [`LinuxArch::swapcontext`] fails.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SwapContextError {
    /// An error the call returns (EINVAL, EFAULT).
    Errno(i32),
    /// The new context could not be read part way through loading it: Linux kills
    /// the task with SIGSEGV.
    Fatal,
}

/// AArch64 Linux (LP64, little-endian).
pub struct Aarch64Linux {
    layout: Arc<StateLayout>,
    regs: Regs,
}

impl Default for Aarch64Linux {
    fn default() -> Self {
        Self::new()
    }
}

impl Aarch64Linux {
    pub fn new() -> Aarch64Linux {
        let fe = Aarch64::new();
        Aarch64Linux { layout: fe.layout(), regs: fe.regs().clone() }
    }
    fn x(&self, st: &StateBuf, i: usize) -> u64 {
        st.get(&self.layout, self.regs.x[i]) as u64
    }
    fn set_x(&self, st: &mut StateBuf, i: usize, v: u64) {
        st.set(&self.layout, self.regs.x[i], v as u128);
    }
}

// HWCAP bits (arch/arm64/include/uapi/asm/hwcap.h).
const HWCAP_FP: u64 = 1 << 0;
const HWCAP_ASIMD: u64 = 1 << 1;
const HWCAP_ATOMICS: u64 = 1 << 8;

// The AArch64 signal frame (arch/arm64/kernel/signal.c): siginfo, then the ucontext
// whose mcontext holds x0..x30, sp, pc, pstate and a record list (fpsimd, then end).
const SIGINFO_SIZE: u64 = 128;
const UC_SIGMASK: u64 = 40;
const UC_STACK: u64 = 16;
const UC_MCONTEXT: u64 = 176;
const MC_FAULT: u64 = 0;
const MC_REGS: u64 = 8;
const MC_SP: u64 = 256;
const MC_PC: u64 = 264;
const MC_PSTATE: u64 = 272;
const MC_RESERVED: u64 = 288;
const MC_RESERVED_SIZE: u64 = 4096;
const FPSIMD_MAGIC: u32 = 0x4650_8001;
const FPSIMD_SIZE: u32 = 528;
const UCONTEXT_SIZE: u64 = UC_MCONTEXT + MC_RESERVED + MC_RESERVED_SIZE;
const FRAME_SIZE: u64 = SIGINFO_SIZE + UCONTEXT_SIZE;
/// Bytes of the frame record (x29, x30) the kernel pushes above the frame.
const FRAME_RECORD: u64 = 16;

impl LinuxArch for Aarch64Linux {
    type Fe = Aarch64;
    fn elf_arch(&self) -> Arch {
        Arch::Aarch64
    }
    fn frontend(&self) -> Aarch64 {
        Aarch64::new()
    }
    fn layout(&self) -> Arc<StateLayout> {
        self.layout.clone()
    }
    fn addr_bits(&self) -> u8 {
        40
    }
    fn word(&self) -> u64 {
        8
    }
    fn big_endian(&self) -> bool {
        false
    }
    fn machine(&self) -> &'static str {
        "aarch64"
    }
    fn hwcap(&self) -> (u64, u64) {
        (HWCAP_FP | HWCAP_ASIMD | HWCAP_ATOMICS, 0)
    }
    fn minsigstksz(&self) -> Option<u64> {
        Some(FRAME_SIZE + FRAME_RECORD + 16)
    }
    fn syscall_name(&self, nr: u64) -> Option<&'static str> {
        sysno::name(nr)
    }

    fn init_state(&self, _mem: &UserMemory, st: &mut StateBuf, pc: u64, sp: u64, _reloc: u64) {
        st.bytes_mut().fill(0);
        self.set_pc(st, pc);
        self.set_sp(st, sp);
    }
    fn pc(&self, st: &StateBuf) -> u64 {
        st.get(&self.layout, self.regs.pc) as u64
    }
    fn set_pc(&self, st: &mut StateBuf, pc: u64) {
        st.set(&self.layout, self.regs.pc, pc as u128);
    }
    fn sp(&self, st: &StateBuf) -> u64 {
        st.get(&self.layout, self.regs.sp) as u64
    }
    fn set_sp(&self, st: &mut StateBuf, sp: u64) {
        st.set(&self.layout, self.regs.sp, sp as u128);
    }
    fn syscall(&self, st: &StateBuf) -> (u64, [u64; 6]) {
        (self.x(st, 8), std::array::from_fn(|i| self.x(st, i)))
    }
    fn set_syscall_result(&self, st: &mut StateBuf, ret: i64) {
        self.set_x(st, 0, ret as u64);
    }
    fn restart_syscall(&self, st: &mut StateBuf) {
        let pc = self.pc(st);
        self.set_pc(st, pc.wrapping_sub(4));
    }
    fn set_tls(&self, st: &mut StateBuf, tls: u64) {
        st.set(&self.layout, self.regs.tpidr_el0, tls as u128);
    }
    fn clone_child(&self, st: &mut StateBuf, new_sp: u64) {
        self.set_x(st, 0, 0);
        if new_sp != 0 {
            self.set_sp(st, new_sp);
        }
    }

    fn code_sync(&self, mem: &UserMemory, st: &StateBuf, pc: u64) -> Option<(std::ops::Range<u64>, u64)> {
        // IC IVAU, Xt: the 64-byte line holding Xt (CTR_EL0.IminLine).
        let mut w = [0u8; 4];
        mem.fetch_bytes(pc, &mut w).ok()?;
        let rt = (u32::from_le_bytes(w) & 31) as usize;
        let addr = if rt == 31 { 0 } else { self.x(st, rt) } & !63;
        Some((addr..addr + 64, pc + 4))
    }

    fn sigtramp_code(&self) -> Vec<u8> {
        // mov x8, #139 (rt_sigreturn); svc #0
        [0xd280_1168u32, 0xd400_0001].iter().flat_map(|w| w.to_le_bytes()).collect()
    }

    fn setup_frame(
        &self,
        mem: &UserMemory,
        st: &mut StateBuf,
        info: &SigInfo,
        act: &SigAction,
        restorer: u64,
        old_mask: u64,
        alt: &AltStack,
    ) -> Result<(), MemFault> {
        let sp = self.sp(st);
        let top = alt.frame_top(sp, act);
        let record = (top - FRAME_RECORD) & !15;
        let frame = (record - FRAME_SIZE) & !15;
        let uc = frame + SIGINFO_SIZE;
        let mc = uc + UC_MCONTEXT;
        let mut buf = vec![0u8; (record + FRAME_RECORD - frame) as usize];
        let put = |buf: &mut Vec<u8>, at: u64, v: &[u8]| {
            let o = (at - frame) as usize;
            buf[o..o + v.len()].copy_from_slice(v);
        };
        put(&mut buf, frame, &info.to_bytes());
        // uc_stack: the alternate stack as it stands.
        put(&mut buf, uc + UC_STACK, &alt.sp.to_le_bytes());
        let ss_flags: i32 = if alt.size == 0 { 2 } else { 0 }; // SS_DISABLE
        put(&mut buf, uc + UC_STACK + 8, &ss_flags.to_le_bytes());
        put(&mut buf, uc + UC_STACK + 16, &alt.size.to_le_bytes());
        put(&mut buf, uc + UC_SIGMASK, &old_mask.to_le_bytes());
        put(&mut buf, mc + MC_FAULT, &info.addr.to_le_bytes());
        for i in 0..31 {
            put(&mut buf, mc + MC_REGS + 8 * i as u64, &self.x(st, i).to_le_bytes());
        }
        put(&mut buf, mc + MC_SP, &sp.to_le_bytes());
        put(&mut buf, mc + MC_PC, &self.pc(st).to_le_bytes());
        put(&mut buf, mc + MC_PSTATE, &self.pstate(st).to_le_bytes());
        // fpsimd_context: magic, size, fpsr, fpcr, v0..v31; then the terminator (zeros).
        let fp = mc + MC_RESERVED;
        put(&mut buf, fp, &FPSIMD_MAGIC.to_le_bytes());
        put(&mut buf, fp + 4, &FPSIMD_SIZE.to_le_bytes());
        put(&mut buf, fp + 8, &(st.get(&self.layout, self.regs.fpsr) as u32).to_le_bytes());
        put(&mut buf, fp + 12, &(st.get(&self.layout, self.regs.fpcr) as u32).to_le_bytes());
        for i in 0..32 {
            put(&mut buf, fp + 16 + 16 * i as u64, &st.get(&self.layout, self.regs.vreg[i]).to_le_bytes());
        }
        // The frame record links the handler's frame chain to the interrupted code.
        put(&mut buf, record, &self.x(st, 29).to_le_bytes());
        put(&mut buf, record + 8, &self.x(st, 30).to_le_bytes());
        mem.write_bytes(frame, &buf)?;

        self.set_x(st, 0, info.signo as u64);
        self.set_x(st, 1, frame);
        self.set_x(st, 2, uc);
        self.set_x(st, 29, record);
        self.set_x(st, 30, restorer);
        self.set_sp(st, frame);
        self.set_pc(st, act.handler);
        Ok(())
    }

    fn restore_frame(&self, mem: &UserMemory, st: &mut StateBuf) -> Result<u64, MemFault> {
        let frame = self.sp(st);
        let uc = frame + SIGINFO_SIZE;
        let mut buf = vec![0u8; UCONTEXT_SIZE as usize];
        mem.read_bytes(uc, &mut buf)?;
        let u64_at = |off: u64| u64::from_le_bytes(buf[off as usize..off as usize + 8].try_into().unwrap());
        let mask = u64_at(UC_SIGMASK);
        let m = UC_MCONTEXT;
        for i in 0..31 {
            self.set_x(st, i, u64_at(m + MC_REGS + 8 * i as u64));
        }
        self.set_sp(st, u64_at(m + MC_SP));
        self.set_pc(st, u64_at(m + MC_PC));
        self.set_pstate(st, u64_at(m + MC_PSTATE));
        let fp = m + MC_RESERVED;
        if u32::from_le_bytes(buf[fp as usize..fp as usize + 4].try_into().unwrap()) == FPSIMD_MAGIC {
            let w = |off: u64| u32::from_le_bytes(buf[off as usize..off as usize + 4].try_into().unwrap());
            st.set(&self.layout, self.regs.fpsr, w(fp + 8) as u128);
            st.set(&self.layout, self.regs.fpcr, w(fp + 12) as u128);
            for i in 0..32 {
                let o = (fp + 16 + 16 * i as u64) as usize;
                let v = u128::from_le_bytes(buf[o..o + 16].try_into().unwrap());
                st.set(&self.layout, self.regs.vreg[i], v);
            }
        }
        Ok(mask)
    }
}

impl Aarch64Linux {
    fn pstate(&self, st: &StateBuf) -> u64 {
        let f = |s| st.get(&self.layout, s) as u64 & 1;
        f(self.regs.n) << 31 | f(self.regs.z) << 30 | f(self.regs.c) << 29 | f(self.regs.v) << 28
    }
    fn set_pstate(&self, st: &mut StateBuf, p: u64) {
        for (slot, bit) in [(self.regs.n, 31), (self.regs.z, 30), (self.regs.c, 29), (self.regs.v, 28)] {
            st.set(&self.layout, slot, ((p >> bit) & 1) as u128);
        }
    }
}
