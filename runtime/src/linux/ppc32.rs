//! 32-bit PowerPC Linux (the SysV ABI: big-endian, ILP32): the [`LinuxArch`] of
//! `EM_PPC` programs.
//!
//! - System calls: `sc` with the number in r0 and arguments in r3..r8 (32 bits each;
//!   64-bit arguments take an aligned register pair, high word first, see
//!   [`super::compat32`]); the result goes to r3, and on error r3 holds the positive
//!   errno and CR0.SO is set.
//! - Program start: r1 = the stack pointer (argc), the other registers zero; the
//!   thread pointer is r2.
//! - Signal frames follow `arch/powerpc/kernel/signal_32.c` (`handle_rt_signal32`): an
//!   `rt_sigframe` holding the 32-bit siginfo, then the ucontext (uc_regs pointing at
//!   its mcontext: mc_gregs[48], mc_fregs[33], the AltiVec registers) and the
//!   trampoline; the handler runs on a new 64 + 16-byte frame below it with r3 =
//!   signal, r4 = &siginfo, r5 = &ucontext, r6 = the frame, and LR at the
//!   `rt_sigreturn` trampoline.
//! - Auxiliary vector: AT_HWCAP claims a 32-bit CPU with FPU, MMU and AltiVec (the
//!   frontend's vector unit works in 32-bit mode); AT_DCACHEBSIZE and AT_ICACHEBSIZE
//!   are the frontend's cache block (dcbz clears 128 bytes).
//! - Guest addresses are 32 bits: the address space is 4 GiB.

use super::arch::{AltStack, LinuxArch, SwapContextError};
use super::elf::Arch;
use super::endian;
use super::ppc::PpcAbi;
use super::signal::{SigAction, SigInfo, SA_RESTORER, SA_SIGINFO};
use super::sysno_ppc32;
use crate::usermem::UserMemory;
use mimic_frontend::ppc::{Ppc, PpcMode, Regs};
use mimic_frontend::Frontend;
use mimic_ir::{MemFault, StateBuf, StateLayout};
use std::sync::Arc;

/// 32-bit big-endian PowerPC Linux.
pub struct Ppc32Linux {
    layout: Arc<StateLayout>,
    regs: Regs,
}

impl Default for Ppc32Linux {
    fn default() -> Self {
        Self::new()
    }
}

// AT_HWCAP bits (arch/powerpc/include/uapi/asm/cputable.h).
const PPC_FEATURE_32: u64 = 0x8000_0000;
const PPC_FEATURE_HAS_ALTIVEC: u64 = 0x1000_0000;
const PPC_FEATURE_HAS_FPU: u64 = 0x0800_0000;
const PPC_FEATURE_HAS_MMU: u64 = 0x0400_0000;

const AT_DCACHEBSIZE: u64 = 19;
const AT_ICACHEBSIZE: u64 = 20;
const AT_UCACHEBSIZE: u64 = 21;

// The signal frame, offsets from the frame: siginfo (128 bytes), then the ucontext.
const FRAME_UC: u64 = 128;
// struct ucontext (32-bit): uc_flags, uc_link, uc_stack (sp, flags, size), uc_pad[7],
// uc_regs, uc_sigmask, uc_maskext[30], uc_pad2[3], uc_mcontext (16-byte aligned).
const UC_STACK: u64 = 8;
const UC_REGS: u64 = 48;
const UC_SIGMASK: u64 = 52;
const UC_MCONTEXT: u64 = 192;
// struct mcontext: mc_gregs[48] (4 bytes), mc_fregs[33] (8), mc_pad[2], mc_vregs[33]
// (16, aligned).
const MC_FREGS: u64 = 48 * 4;
const MC_VREGS: u64 = 464;
const MCONTEXT_SIZE: u64 = MC_VREGS + 33 * 16;
const UCONTEXT_SIZE: u64 = UC_MCONTEXT + MCONTEXT_SIZE;
const FRAME_TRAMP: u64 = FRAME_UC + UCONTEXT_SIZE;
/// tramp[7] and abigap[56], rounded to 16 bytes.
const FRAME_SIZE: u64 = (FRAME_TRAMP + 7 * 4 + 56 * 4 + 15) & !15;
/// __SIGNAL_FRAMESIZE (64) + 16: the caller frame the kernel leaves below the frame.
const SIGNAL_FRAMESIZE: u64 = 64 + 16;
// mc_gregs indexes (struct pt_regs).
const PT_NIP: u64 = 32;
const PT_MSR: u64 = 33;
const PT_ORIG_R3: u64 = 34;
const PT_CTR: u64 = 35;
const PT_LNK: u64 = 36;
const PT_XER: u64 = 37;
const PT_CCR: u64 = 38;
// The non-RT frame (struct sigframe): a struct sigcontext -- _unused[4] (the last
// holding the high word of the old mask), signal, handler, oldmask, regs -- then the
// mcontext and abigap[56], with a 64-byte caller frame below it.
const SC_MASK_HI: u64 = 12;
const SC_SIGNAL: u64 = 16;
const SC_HANDLER: u64 = 20;
const SC_OLDMASK: u64 = 24;
const SC_REGS: u64 = 28;
const SIGCONTEXT_SIZE: u64 = 32;
const OLD_FRAME_SIZE: u64 = SIGCONTEXT_SIZE + MCONTEXT_SIZE + 56 * 4;
const OLD_SIGNAL_FRAMESIZE: u64 = 64;
/// Where the sigreturn trampoline of non-RT frames is in [`LinuxArch::sigtramp_code`].
const SIGTRAMP_OLD: u64 = 8;
/// MSR of a 32-bit user thread with FP and AltiVec enabled (MSR_VEC, MSR_FP, PR, ...).
const USER_MSR: u64 = 0x0200_f032;

const M32: u64 = 0xffff_ffff;

/// Big-endian bytes to be written at guest address `base`.
struct BeBuf {
    base: u64,
    bytes: Vec<u8>,
}

impl BeBuf {
    fn put(&mut self, at: u64, v: &[u8]) {
        let o = (at - self.base) as usize;
        self.bytes[o..o + v.len()].copy_from_slice(v);
    }
    fn put32(&mut self, at: u64, v: u64) {
        self.put(at, &(v as u32).to_be_bytes());
    }
    fn put64(&mut self, at: u64, v: u64) {
        self.put(at, &v.to_be_bytes());
    }
}

impl Ppc32Linux {
    pub fn new() -> Ppc32Linux {
        let fe = Ppc::new(PpcMode::PPC32);
        Ppc32Linux { layout: fe.layout(), regs: fe.regs().clone() }
    }
    fn abi(&self) -> PpcAbi<'_> {
        PpcAbi { layout: &self.layout, regs: &self.regs, mask: M32, tls: 2, be: true }
    }
    fn r(&self, st: &StateBuf, i: usize) -> u64 {
        self.abi().r(st, i)
    }
    fn set_r(&self, st: &mut StateBuf, i: usize, v: u64) {
        self.abi().set_r(st, i, v)
    }
    fn get(&self, st: &StateBuf, slot: mimic_ir::SlotId) -> u64 {
        st.get(&self.layout, slot) as u64
    }
}

impl LinuxArch for Ppc32Linux {
    type Fe = Ppc;
    fn elf_arch(&self) -> Arch {
        Arch::Ppc
    }
    fn frontend(&self) -> Ppc {
        Ppc::new(PpcMode::PPC32)
    }
    fn layout(&self) -> Arc<StateLayout> {
        self.layout.clone()
    }
    fn addr_bits(&self) -> u8 {
        32
    }
    fn word(&self) -> u64 {
        4
    }
    fn big_endian(&self) -> bool {
        true
    }
    fn machine(&self) -> &'static str {
        "ppc"
    }
    fn platform(&self) -> &'static str {
        // Linux names the CPU; QEMU, the reference the tests compare with, gives none.
        ""
    }
    fn hwcap(&self) -> (u64, u64) {
        (PPC_FEATURE_32 | PPC_FEATURE_HAS_FPU | PPC_FEATURE_HAS_MMU | PPC_FEATURE_HAS_ALTIVEC, 0)
    }
    fn extra_auxv(&self) -> Vec<(u64, u64)> {
        let line = mimic_frontend::ppc::lift::DCACHE_LINE;
        vec![(AT_DCACHEBSIZE, line), (AT_ICACHEBSIZE, line), (AT_UCACHEBSIZE, 0)]
    }
    fn minsigstksz(&self) -> Option<u64> {
        None
    }
    fn syscall_name(&self, nr: u64) -> Option<&'static str> {
        sysno_ppc32::name(nr)
    }
    fn tty(&self) -> &'static super::tty::TtyAbi {
        &super::tty::PPC
    }
    fn socket_options(&self) -> &'static [(i32, i32)] {
        &super::syscall::PPC_SOCKET_OPTIONS
    }
    fn open_flags(&self) -> &'static super::syscall::OpenFlagMap {
        &super::syscall::PPC_OPEN_FLAGS
    }
    fn stat_bytes(&self, st: &libc::stat) -> Vec<u8> {
        super::syscall::compat32::stat64_ppc32(st).to_vec()
    }
    fn siginfo_bytes(&self, info: &SigInfo) -> [u8; 128] {
        endian::siginfo_to_ilp32_be(&info.to_bytes(), info.signo, info.code)
    }
    fn siginfo_from_guest(&self, raw: &[u8; 128]) -> [u8; 128] {
        endian::siginfo_from_ilp32_be(raw)
    }

    fn init_state(&self, _mem: &UserMemory, st: &mut StateBuf, pc: u64, sp: u64, _reloc: u64) {
        st.bytes_mut().fill(0);
        self.set_sp(st, sp);
        self.set_pc(st, pc);
    }
    fn pc(&self, st: &StateBuf) -> u64 {
        self.abi().pc(st)
    }
    fn set_pc(&self, st: &mut StateBuf, pc: u64) {
        self.abi().set_pc(st, pc)
    }
    fn sp(&self, st: &StateBuf) -> u64 {
        self.r(st, 1)
    }
    fn set_sp(&self, st: &mut StateBuf, sp: u64) {
        self.set_r(st, 1, sp);
    }
    fn syscall(&self, st: &StateBuf) -> (u64, [u64; 6]) {
        self.abi().syscall(st)
    }
    fn set_syscall_result(&self, st: &mut StateBuf, ret: i64) {
        self.abi().set_syscall_result(st, ret)
    }
    fn restart_syscall(&self, st: &mut StateBuf) {
        self.abi().restart_syscall(st)
    }
    fn set_tls(&self, st: &mut StateBuf, tls: u64) {
        self.abi().set_tls(st, tls)
    }
    fn clone_child(&self, st: &mut StateBuf, new_sp: u64) {
        self.abi().clone_child(st, new_sp)
    }

    fn code_sync(&self, mem: &UserMemory, st: &StateBuf, pc: u64) -> Option<(std::ops::Range<u64>, u64)> {
        self.abi().code_sync(mem, st, pc)
    }

    fn sigtramp_code(&self) -> Vec<u8> {
        // li r0, 172 (rt_sigreturn); sc -- then, at SIGTRAMP_OLD, the return of
        // non-RT frames: li r0, 119 (sigreturn); sc
        [0x3800_00acu32, 0x4400_0002, 0x3800_0077, 0x4400_0002].iter().flat_map(|&w| w.to_be_bytes()).collect()
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
        if act.flags & SA_SIGINFO == 0 {
            // The vDSO's sigtramp32 unless the guest gave a restorer.
            let tramp = if act.flags & SA_RESTORER != 0 { restorer } else { restorer + SIGTRAMP_OLD };
            return self.setup_old_frame(mem, st, info, act, tramp, old_mask, alt);
        }
        let (frame, mut buf) = self.new_frame(st, act, alt, FRAME_SIZE, SIGNAL_FRAMESIZE);
        buf.put(frame, &self.siginfo_bytes(info));
        let uc = frame + FRAME_UC;
        let mc = uc + UC_MCONTEXT;
        buf.put32(uc + UC_STACK, alt.sp);
        let ss_flags: u64 = if alt.size == 0 { 2 } else { 0 }; // SS_DISABLE
        buf.put32(uc + UC_STACK + 4, ss_flags);
        buf.put32(uc + UC_STACK + 8, alt.size);
        buf.put32(uc + UC_REGS, mc);
        buf.put(uc + UC_SIGMASK, &endian::sigset_bytes(true, 4, old_mask));
        buf.put(mc, &self.mcontext_bytes(st));
        mem.write_bytes(buf.base, &buf.bytes)?;

        self.set_r(st, 1, buf.base);
        self.set_r(st, 3, info.signo as u64);
        self.set_r(st, 4, frame);
        self.set_r(st, 5, uc);
        self.set_r(st, 6, frame);
        st.set(&self.layout, self.regs.lr, (restorer & M32) as u128);
        self.set_pc(st, act.handler);
        Ok(())
    }

    fn restore_frame(&self, mem: &UserMemory, st: &mut StateBuf) -> Result<u64, MemFault> {
        let uc = self.sp(st) + SIGNAL_FRAMESIZE + FRAME_UC;
        let mut head = [0u8; UC_MCONTEXT as usize];
        mem.read_bytes(uc, &mut head)?;
        let mask = endian::sigset_from(true, 4, &head[UC_SIGMASK as usize..]);
        // The registers are where uc_regs points (normally the frame's own mcontext).
        let mc = endian::u32_from(true, &head[UC_REGS as usize..]) as u64;
        self.restore_mcontext(mem, st, mc)?;
        Ok(mask)
    }

    fn swapcontext(
        &self,
        mem: &UserMemory,
        st: &mut StateBuf,
        mask: u64,
        ctx: [u64; 3],
    ) -> Option<Result<Option<u64>, SwapContextError>> {
        Some(self.swap(mem, st, mask, ctx))
    }

    fn restore_old_frame(&self, mem: &UserMemory, st: &mut StateBuf) -> Option<Result<u64, MemFault>> {
        // sys_sigreturn: the sigcontext is at the stack pointer + __SIGNAL_FRAMESIZE;
        // the mask is oldmask and _unused[3], the registers where `regs` points.
        let run = || {
            let mut sc = [0u8; SIGCONTEXT_SIZE as usize];
            mem.read_bytes(self.sp(st) + OLD_SIGNAL_FRAMESIZE, &mut sc)?;
            let word = |off: u64| endian::u32_from(true, &sc[off as usize..]) as u64;
            let mask = word(SC_OLDMASK) | word(SC_MASK_HI) << 32;
            Ok((mask, word(SC_REGS)))
        };
        Some(run().and_then(|(mask, mc)| {
            self.restore_mcontext(mem, st, mc)?;
            Ok(mask)
        }))
    }
}

impl Ppc32Linux {
    /// sys_swapcontext (see [`LinuxArch::swapcontext`]).
    fn swap(
        &self,
        mem: &UserMemory,
        st: &mut StateBuf,
        mask: u64,
        [old, new, size]: [u64; 3],
    ) -> Result<Option<u64>, SwapContextError> {
        use SwapContextError::{Errno, Fatal};
        let efault = |_| Errno(libc::EFAULT);
        // sys_swapcontext: glibc's ucontext_t (no VSX region) is the smallest allowed
        // (ctx_size is an int).
        if (size as i32) < UCONTEXT_SIZE as i32 {
            return Err(Errno(libc::EINVAL));
        }
        let mut head = [0u8; UC_MCONTEXT as usize];
        if new != 0 {
            // The new context must be readable before anything changes.
            mem.read_bytes(new, &mut head).map_err(efault)?;
        }
        if old != 0 {
            let mc = (old + UC_MCONTEXT) & !15;
            mem.write_bytes(mc, &self.mcontext_bytes(st)).map_err(efault)?;
            mem.write_bytes(old + UC_SIGMASK, &endian::sigset_bytes(true, 4, mask)).map_err(efault)?;
            mem.write_bytes(old + UC_REGS, &(mc as u32).to_be_bytes()).map_err(efault)?;
        }
        if new == 0 {
            return Ok(None);
        }
        // do_setcontext, after the save (the two contexts may be one): the mask, then
        // the registers where uc_regs points, all but r2 (the thread pointer is kept).
        mem.read_bytes(new, &mut head).map_err(|_| Fatal)?;
        let new_mask = endian::sigset_from(true, 4, &head[UC_SIGMASK as usize..]);
        let mc = endian::u32_from(true, &head[UC_REGS as usize..]) as u64;
        let r2 = self.r(st, 2);
        self.restore_mcontext(mem, st, mc).map_err(|_| Fatal)?;
        self.set_r(st, 2, r2);
        Ok(Some(new_mask))
    }

    /// The top of the stack a handler's frame goes below: the alternate stack's when
    /// the handler asks for it and the thread is not already on it.
    /// A signal frame of `size` bytes, 16-byte aligned below the handler's stack top,
    /// with the handler's caller frame of `caller` bytes below it (its back chain the
    /// interrupted stack pointer): the frame's address, and the buffer from the new
    /// stack pointer up.
    fn new_frame(&self, st: &StateBuf, act: &SigAction, alt: &AltStack, size: u64, caller: u64) -> (u64, BeBuf) {
        let sp = self.sp(st);
        let frame = (alt.frame_top(sp, act) - size) & !15;
        let mut buf = BeBuf { base: frame - caller, bytes: vec![0u8; (size + caller) as usize] };
        buf.put32(buf.base, sp);
        (frame, buf)
    }

    /// The registers as `save_user_regs` stores them in a `struct mcontext`.
    fn mcontext_bytes(&self, st: &StateBuf) -> Vec<u8> {
        let mut buf = BeBuf { base: 0, bytes: vec![0u8; MCONTEXT_SIZE as usize] };
        for i in 0..32 {
            buf.put32(4 * i as u64, self.r(st, i));
        }
        buf.put32(4 * PT_NIP, self.pc(st));
        buf.put32(4 * PT_MSR, USER_MSR);
        buf.put32(4 * PT_ORIG_R3, self.r(st, 3));
        buf.put32(4 * PT_CTR, self.get(st, self.regs.ctr));
        buf.put32(4 * PT_LNK, self.get(st, self.regs.lr));
        buf.put32(4 * PT_XER, self.abi().xer(st));
        buf.put32(4 * PT_CCR, self.abi().cr(st));
        // FPRs (doubleword 0 of VSR 0..31) and the FPSCR.
        for i in 0..32 {
            let v = st.get(&self.layout, self.regs.vs[i]);
            buf.put64(MC_FREGS + 8 * i as u64, (v >> 64) as u64);
        }
        buf.put64(MC_FREGS + 8 * 32, self.get(st, self.regs.fpscr));
        // VR0..31, VSCR (the last word of the 33rd quadword), VRSAVE in its first word.
        for i in 0..32 {
            let v = st.get(&self.layout, self.regs.vs[32 + i]);
            buf.put(MC_VREGS + 16 * i as u64, &v.to_be_bytes());
        }
        buf.put32(MC_VREGS + 16 * 32 + 12, self.get(st, self.regs.vscr));
        buf.put32(MC_VREGS + 16 * 32, self.get(st, self.regs.vrsave));
        buf.bytes
    }

    /// `restore_user_regs`: the registers from the `struct mcontext` at `mc`.
    fn restore_mcontext(&self, mem: &UserMemory, st: &mut StateBuf, mc: u64) -> Result<(), MemFault> {
        let mut buf = vec![0u8; MCONTEXT_SIZE as usize];
        mem.read_bytes(mc, &mut buf)?;
        let at32 = |off: u64| endian::u32_from(true, &buf[off as usize..]) as u64;
        let at64 = |off: u64| endian::u64_from(true, &buf[off as usize..]);
        for i in 0..32 {
            self.set_r(st, i, at32(4 * i as u64));
        }
        self.set_pc(st, at32(4 * PT_NIP));
        st.set(&self.layout, self.regs.ctr, at32(4 * PT_CTR) as u128);
        st.set(&self.layout, self.regs.lr, at32(4 * PT_LNK) as u128);
        self.abi().set_xer(st, at32(4 * PT_XER));
        self.abi().set_cr(st, at32(4 * PT_CCR));
        for i in 0..32 {
            let hi = at64(MC_FREGS + 8 * i as u64) as u128;
            let old = st.get(&self.layout, self.regs.vs[i]);
            st.set(&self.layout, self.regs.vs[i], hi << 64 | (old & u64::MAX as u128));
        }
        st.set(&self.layout, self.regs.fpscr, at64(MC_FREGS + 8 * 32) as u32 as u128);
        for i in 0..32 {
            let o = (MC_VREGS + 16 * i as u64) as usize;
            let mut q = [0u8; 16];
            q.copy_from_slice(&buf[o..o + 16]);
            st.set(&self.layout, self.regs.vs[32 + i], u128::from_be_bytes(q));
        }
        st.set(&self.layout, self.regs.vscr, at32(MC_VREGS + 16 * 32 + 12) as u128);
        st.set(&self.layout, self.regs.vrsave, at32(MC_VREGS + 16 * 32) as u128);
        Ok(())
    }

    /// `handle_signal32`: the non-RT `struct sigframe` (sigcontext, mcontext, abigap)
    /// of a handler installed without SA_SIGINFO, which gets r3 = signal and r4 =
    /// &sigcontext and returns through sigreturn.
    #[allow(clippy::too_many_arguments)]
    fn setup_old_frame(
        &self,
        mem: &UserMemory,
        st: &mut StateBuf,
        info: &SigInfo,
        act: &SigAction,
        tramp: u64,
        old_mask: u64,
        alt: &AltStack,
    ) -> Result<(), MemFault> {
        let (frame, mut buf) = self.new_frame(st, act, alt, OLD_FRAME_SIZE, OLD_SIGNAL_FRAMESIZE);
        let sc = frame;
        let mc = frame + SIGCONTEXT_SIZE;
        buf.put32(sc + SC_MASK_HI, old_mask >> 32);
        buf.put32(sc + SC_SIGNAL, info.signo as u64);
        buf.put32(sc + SC_HANDLER, act.handler);
        buf.put32(sc + SC_OLDMASK, old_mask & M32);
        buf.put32(sc + SC_REGS, mc);
        buf.put(mc, &self.mcontext_bytes(st));
        mem.write_bytes(buf.base, &buf.bytes)?;

        self.set_r(st, 1, buf.base);
        self.set_r(st, 3, info.signo as u64);
        self.set_r(st, 4, sc);
        st.set(&self.layout, self.regs.lr, (tramp & M32) as u128);
        self.set_pc(st, act.handler);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frame_layout_is_the_kernels() {
        // struct ucontext (32-bit): 1184 bytes, the mcontext 16-byte aligned at 192.
        assert_eq!(UCONTEXT_SIZE, 1184);
        assert_eq!(MC_VREGS % 16, 0);
        assert_eq!((FRAME_UC + UC_MCONTEXT) % 16, 0);
        // siginfo + ucontext + tramp[7] + abigap[56], 16-byte aligned.
        assert_eq!(FRAME_SIZE, (128 + 1184 + 28 + 224 + 15) & !15);
    }
}
