//! PowerPC Linux: the [`LinuxArch`] of ppc64le (ELFv2, little-endian, LP64) and ppc64
//! (ELFv1, big-endian, LP64). The two share everything but the byte order of memory
//! and how functions are named: ELFv1 names a function by its descriptor (entry
//! address, TOC for r2, environment for r11), both for the program's entry point and
//! for signal handlers.
//!
//! - System calls: `sc` with the number in r0 and arguments in r3..r8; the result goes
//!   to r3, and on error r3 holds the positive errno and CR0.SO is set.
//! - Program start (ELFv2): r1 = the stack pointer, r12 = the entry point (global entry
//!   points derive the TOC from it); the thread pointer is r13. ELFv1: the pc, r2 and
//!   r11 come from the entry point's descriptor.
//! - Signal frames follow `arch/powerpc/kernel/signal_64.c`: an `rt_sigframe` holding the
//!   ucontext (mcontext with gp_regs[48], fp_regs[33], v_regs and the VSX low halves),
//!   then the trampoline slots, pinfo/puc, the siginfo and a 512-byte red-zone gap; the
//!   handler runs on a new 128-byte stack frame below it with r3 = signal, r4 = &siginfo,
//!   r5 = &ucontext, r12 = the handler, and LR at the `rt_sigreturn` trampoline.
//! - Auxiliary vector: AT_HWCAP/AT_HWCAP2 claim POWER8 (ISA 2.07) with FPU, AltiVec and
//!   VSX, which the frontend implements for what glibc and gcc emit (ppc64le also claims
//!   PPC_FEATURE_TRUE_LE, as Linux does for little-endian tasks); AT_DCACHEBSIZE and
//!   AT_ICACHEBSIZE are 128, as QEMU reports for POWER (dcbz clears 128 bytes).
//! - `struct stat` has the x86-64 layout (144 bytes), which the host's is.

use super::arch::{AltStack, LinuxArch};
use super::elf::Arch;
use super::endian::{self, swap_fields};
use super::signal::{SigAction, SigInfo};
use super::sysno_ppc64;
use crate::usermem::UserMemory;
use mimic_frontend::ppc::{Ppc, PpcMode, Regs};
use mimic_frontend::Frontend;
use mimic_ir::{MemFault, StateBuf, StateLayout};
use std::sync::Arc;

/// ppc64le (ELFv2) or ppc64 (big-endian, ELFv1) Linux.
pub struct Ppc64Linux {
    layout: Arc<StateLayout>,
    regs: Regs,
    be: bool,
    /// ELFv1: functions are named by descriptors (big-endian ppc64's usual ABI).
    elfv1: bool,
}

// AT_HWCAP bits (arch/powerpc/include/uapi/asm/cputable.h).
const PPC_FEATURE_32: u64 = 0x8000_0000;
const PPC_FEATURE_64: u64 = 0x4000_0000;
const PPC_FEATURE_HAS_ALTIVEC: u64 = 0x1000_0000;
const PPC_FEATURE_HAS_FPU: u64 = 0x0800_0000;
const PPC_FEATURE_HAS_MMU: u64 = 0x0400_0000;
const PPC_FEATURE_ARCH_2_05: u64 = 0x0000_1000;
const PPC_FEATURE_ARCH_2_06: u64 = 0x0000_0100;
const PPC_FEATURE_HAS_VSX: u64 = 0x0000_0080;
const PPC_FEATURE_TRUE_LE: u64 = 0x0000_0002;
const PPC_FEATURE2_ARCH_2_07: u64 = 0x8000_0000;
const PPC_FEATURE2_ISEL: u64 = 0x0800_0000;
const PPC_FEATURE2_TAR: u64 = 0x0400_0000;

const AT_DCACHEBSIZE: u64 = 19;
const AT_ICACHEBSIZE: u64 = 20;
const AT_UCACHEBSIZE: u64 = 21;

// The signal frame (see the module docs), offsets from the frame.
const UC_FLAGS: u64 = 0;
const UC_STACK: u64 = 16;
const UC_SIGMASK: u64 = 40;
const UC_MCONTEXT: u64 = 168;
const SC_SIGNAL: u64 = 32;
const SC_HANDLER: u64 = 40;
const SC_OLDMASK: u64 = 48;
const SC_REGS: u64 = 56;
const SC_GP_REGS: u64 = 64;
const SC_FP_REGS: u64 = 448;
const SC_V_REGS: u64 = 712;
const SC_VMX_RESERVE: u64 = 720;
const UCONTEXT_SIZE: u64 = UC_MCONTEXT + 1528;
const FRAME_TRAMP: u64 = UCONTEXT_SIZE + 16;
const FRAME_PINFO: u64 = FRAME_TRAMP + 32;
const FRAME_PUC: u64 = FRAME_PINFO + 8;
const FRAME_INFO: u64 = FRAME_PUC + 8;
const FRAME_SIZE: u64 = FRAME_INFO + 128 + 512;
/// The minimum stack frame the kernel leaves below the signal frame.
const SIGNAL_FRAMESIZE: u64 = 128;
// gp_regs indexes (struct pt_regs).
const PT_NIP: u64 = 32;
const PT_MSR: u64 = 33;
const PT_ORIG_R3: u64 = 34;
const PT_CTR: u64 = 35;
const PT_LNK: u64 = 36;
const PT_XER: u64 = 37;
const PT_CCR: u64 = 38;
const PT_TRAP: u64 = 40;
/// MSR of a 64-bit big-endian user thread with FP, VMX and VSX enabled.
const USER_MSR: u64 = 0x8000_0000_0280_f032;
/// MSR_LE: the thread runs little-endian.
const MSR_LE: u64 = 1;

/// The Linux system-call ABI every PowerPC shares (ppc64le, ppc64 and 32-bit ppc):
/// `sc` with the number in r0 and arguments in r3..r8, the result in r3 with CR0.SO
/// set on error, and the `icbi` that asks for a code sync. The variants differ only
/// in the width of a register and an address (`mask`), the thread-pointer register
/// (`tls`) and the byte order instructions are read in (`be`).
pub(super) struct PpcAbi<'a> {
    pub layout: &'a StateLayout,
    pub regs: &'a Regs,
    /// All ones for 64-bit guests, 0xffff_ffff for 32-bit ones.
    pub mask: u64,
    /// r13 on 64-bit guests, r2 on 32-bit ones.
    pub tls: usize,
    pub be: bool,
}

impl PpcAbi<'_> {
    pub fn r(&self, st: &StateBuf, i: usize) -> u64 {
        st.get(self.layout, self.regs.r[i]) as u64 & self.mask
    }
    pub fn set_r(&self, st: &mut StateBuf, i: usize, v: u64) {
        st.set(self.layout, self.regs.r[i], (v & self.mask) as u128);
    }
    fn get(&self, st: &StateBuf, slot: mimic_ir::SlotId) -> u64 {
        st.get(self.layout, slot) as u64
    }
    pub fn pc(&self, st: &StateBuf) -> u64 {
        self.get(st, self.regs.pc) & self.mask
    }
    pub fn set_pc(&self, st: &mut StateBuf, pc: u64) {
        st.set(self.layout, self.regs.pc, (pc & self.mask) as u128);
    }
    /// CR as the 32-bit word of mfcr.
    pub fn cr(&self, st: &StateBuf) -> u64 {
        (0..32).fold(0, |acc, i| acc | (self.get(st, self.regs.cr[i]) & 1) << (31 - i))
    }
    pub fn set_cr(&self, st: &mut StateBuf, v: u64) {
        for i in 0..32 {
            st.set(self.layout, self.regs.cr[i], (v >> (31 - i) & 1) as u128);
        }
    }
    /// XER as mfxer reads it (SO, OV, CA and the byte count).
    pub fn xer(&self, st: &StateBuf) -> u64 {
        let r = self.regs;
        (self.get(st, r.so) & 1) << 31
            | (self.get(st, r.ov) & 1) << 30
            | (self.get(st, r.ca) & 1) << 29
            | self.get(st, r.xer_bc) & 0x7f
    }
    pub fn set_xer(&self, st: &mut StateBuf, v: u64) {
        let r = self.regs;
        st.set(self.layout, r.so, (v >> 31 & 1) as u128);
        st.set(self.layout, r.ov, (v >> 30 & 1) as u128);
        st.set(self.layout, r.ca, (v >> 29 & 1) as u128);
        st.set(self.layout, r.xer_bc, (v & 0x7f) as u128);
    }
    pub fn syscall(&self, st: &StateBuf) -> (u64, [u64; 6]) {
        (self.r(st, 0), std::array::from_fn(|i| self.r(st, 3 + i)))
    }
    pub fn set_syscall_result(&self, st: &mut StateBuf, ret: i64) {
        let err = (-4095..0).contains(&ret);
        self.set_r(st, 3, if err { (-ret) as u64 } else { ret as u64 });
        st.set(self.layout, self.regs.cr[3], err as u128);
    }
    pub fn restart_syscall(&self, st: &mut StateBuf) {
        let pc = self.pc(st);
        self.set_pc(st, pc.wrapping_sub(4));
    }
    pub fn set_tls(&self, st: &mut StateBuf, tls: u64) {
        self.set_r(st, self.tls, tls);
    }
    pub fn clone_child(&self, st: &mut StateBuf, new_sp: u64) {
        self.set_r(st, 3, 0);
        st.set(self.layout, self.regs.cr[3], 0);
        if new_sp != 0 {
            self.set_r(st, 1, new_sp);
        }
    }
    /// `icbi RA, RB` at `pc`: the cache block holding (RA|0) + RB, and the next pc.
    pub fn code_sync(&self, mem: &UserMemory, st: &StateBuf, pc: u64) -> Option<(std::ops::Range<u64>, u64)> {
        let mut w = [0u8; 4];
        mem.fetch_bytes(pc, &mut w).ok()?;
        let w = endian::u32_from(self.be, &w);
        let (ra, rb) = ((w >> 16 & 31) as usize, (w >> 11 & 31) as usize);
        let base = if ra == 0 { 0 } else { self.r(st, ra) };
        let line = mimic_frontend::ppc::lift::DCACHE_LINE;
        let addr = base.wrapping_add(self.r(st, rb)) & self.mask & !(line - 1);
        Some((addr..addr + line, pc.wrapping_add(4) & self.mask))
    }
}

impl Ppc64Linux {
    /// ppc64le (ELFv2).
    pub fn new_le() -> Ppc64Linux {
        let fe = Ppc::new(PpcMode::PPC64LE);
        Ppc64Linux { layout: fe.layout(), regs: fe.regs().clone(), be: false, elfv1: false }
    }
    /// ppc64 big-endian (ELFv1).
    pub fn new_be() -> Ppc64Linux {
        let fe = Ppc::new(PpcMode::PPC64);
        Ppc64Linux { layout: fe.layout(), regs: fe.regs().clone(), be: true, elfv1: true }
    }
    /// The ABI of a ppc64 program: ppc64le, or big-endian ELFv1 unless its e_flags
    /// say ELFv2 (abiversion 2, as musl's big-endian ppc64 uses).
    pub fn for_image(img: &super::elf::ElfImage) -> Ppc64Linux {
        match img.arch {
            Arch::Ppc64Be if img.flags & 3 == 2 => Ppc64Linux { elfv1: false, ..Self::new_be() },
            Arch::Ppc64Be => Self::new_be(),
            _ => Self::new_le(),
        }
    }
    fn mode(&self) -> PpcMode {
        if self.be {
            PpcMode::PPC64
        } else {
            PpcMode::PPC64LE
        }
    }
    fn u64_at(&self, b: &[u8]) -> u64 {
        endian::u64_from(self.be, b)
    }
    fn u32_at(&self, b: &[u8]) -> u32 {
        endian::u32_from(self.be, b)
    }
    fn u128_bytes(&self, v: u128) -> [u8; 16] {
        if self.be {
            v.to_be_bytes()
        } else {
            v.to_le_bytes()
        }
    }
    fn u128_at(&self, b: &[u8]) -> u128 {
        let b: [u8; 16] = b[..16].try_into().unwrap();
        if self.be {
            u128::from_be_bytes(b)
        } else {
            u128::from_le_bytes(b)
        }
    }
    /// An ELFv1 function descriptor: (entry, TOC, environment).
    fn descriptor(&self, mem: &UserMemory, at: u64) -> Result<(u64, u64, u64), MemFault> {
        let mut b = [0u8; 24];
        mem.read_bytes(at, &mut b)?;
        Ok((self.u64_at(&b[0..]), self.u64_at(&b[8..]), self.u64_at(&b[16..])))
    }
    fn abi(&self) -> PpcAbi<'_> {
        PpcAbi { layout: &self.layout, regs: &self.regs, mask: u64::MAX, tls: 13, be: self.be }
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

impl LinuxArch for Ppc64Linux {
    type Fe = Ppc;
    fn elf_arch(&self) -> Arch {
        if self.be {
            Arch::Ppc64Be
        } else {
            Arch::Ppc64Le
        }
    }
    fn frontend(&self) -> Ppc {
        Ppc::new(self.mode())
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
        self.be
    }
    fn machine(&self) -> &'static str {
        if self.be {
            "ppc64"
        } else {
            "ppc64le"
        }
    }
    fn platform(&self) -> &'static str {
        // Linux names the CPU ("power8"); QEMU, the reference the tests compare with,
        // gives no AT_PLATFORM for ppc64 and ppc64le, and glibc needs none.
        ""
    }
    fn hwcap(&self) -> (u64, u64) {
        (
            PPC_FEATURE_32
                | PPC_FEATURE_64
                | PPC_FEATURE_HAS_ALTIVEC
                | PPC_FEATURE_HAS_FPU
                | PPC_FEATURE_HAS_MMU
                | PPC_FEATURE_ARCH_2_05
                | PPC_FEATURE_ARCH_2_06
                | PPC_FEATURE_HAS_VSX
                | if self.be { 0 } else { PPC_FEATURE_TRUE_LE },
            PPC_FEATURE2_ARCH_2_07 | PPC_FEATURE2_ISEL | PPC_FEATURE2_TAR,
        )
    }
    fn extra_auxv(&self) -> Vec<(u64, u64)> {
        let line = mimic_frontend::ppc::lift::DCACHE_LINE;
        vec![(AT_DCACHEBSIZE, line), (AT_ICACHEBSIZE, line), (AT_UCACHEBSIZE, 0)]
    }
    fn minsigstksz(&self) -> Option<u64> {
        None
    }
    fn syscall_name(&self, nr: u64) -> Option<&'static str> {
        sysno_ppc64::name(nr)
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
        // SAFETY: libc::stat is plain data of the x86-64 layout, which is ppc64's.
        let b = unsafe {
            std::slice::from_raw_parts((st as *const libc::stat).cast::<u8>(), std::mem::size_of::<libc::stat>())
        };
        let mut b = b.to_vec();
        if self.be {
            swap_fields(&mut b, endian::STAT64);
        }
        b
    }

    fn init_state(&self, mem: &UserMemory, st: &mut StateBuf, pc: u64, sp: u64, reloc: u64) {
        st.bytes_mut().fill(0);
        self.set_sp(st, sp);
        if self.elfv1 {
            // ELFv1: the entry point is a function descriptor. An unreadable one leaves
            // the pc at it, where the first fetch faults as on Linux (SIGSEGV).  Its
            // entry and TOC are link-time values in a position-independent image (the
            // dynamic linker relocates its own .opd later): like Linux's start_thread,
            // add the image's load bias.
            match self.descriptor(mem, pc) {
                Ok((entry, toc, env)) => {
                    self.set_pc(st, entry.wrapping_add(reloc));
                    self.set_r(st, 2, toc.wrapping_add(reloc));
                    self.set_r(st, 11, env);
                }
                Err(_) => self.set_pc(st, pc),
            }
        } else {
            self.set_pc(st, pc);
            self.set_r(st, 12, pc);
        }
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
        // li r0, 172 (rt_sigreturn); sc
        [0x3800_00acu32, 0x4400_0002].iter().flat_map(|&w| endian::u32_bytes(self.be, w)).collect()
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
        let frame = (top - FRAME_SIZE) & !15;
        let newsp = frame - SIGNAL_FRAMESIZE;
        let mut buf = vec![0u8; (FRAME_SIZE + SIGNAL_FRAMESIZE) as usize];
        let put = |buf: &mut Vec<u8>, at: u64, v: &[u8]| {
            let o = (at - newsp) as usize;
            buf[o..o + v.len()].copy_from_slice(v);
        };
        let be = self.be;
        let put64 = |buf: &mut Vec<u8>, at: u64, v: u64| put(buf, at, &endian::u64_bytes(be, v));
        let put32 = |buf: &mut Vec<u8>, at: u64, v: u32| put(buf, at, &endian::u32_bytes(be, v));
        // The back chain of the handler's caller frame.
        put64(&mut buf, newsp, sp);
        let uc = frame;
        put64(&mut buf, uc + UC_FLAGS, 0);
        put64(&mut buf, uc + UC_STACK, alt.sp);
        let ss_flags: i32 = if alt.size == 0 { 2 } else { 0 }; // SS_DISABLE
        put32(&mut buf, uc + UC_STACK + 8, ss_flags as u32);
        put64(&mut buf, uc + UC_STACK + 16, alt.size);
        put64(&mut buf, uc + UC_SIGMASK, old_mask);
        let sc = uc + UC_MCONTEXT;
        put32(&mut buf, sc + SC_SIGNAL, info.signo as u32);
        put64(&mut buf, sc + SC_HANDLER, act.handler);
        put64(&mut buf, sc + SC_OLDMASK, old_mask);
        put64(&mut buf, sc + SC_REGS, sc + SC_GP_REGS);
        let gp = sc + SC_GP_REGS;
        for i in 0..32 {
            put64(&mut buf, gp + 8 * i as u64, self.r(st, i));
        }
        put64(&mut buf, gp + 8 * PT_NIP, self.pc(st));
        put64(&mut buf, gp + 8 * PT_MSR, if be { USER_MSR } else { USER_MSR | MSR_LE });
        put64(&mut buf, gp + 8 * PT_ORIG_R3, self.r(st, 3));
        put64(&mut buf, gp + 8 * PT_CTR, self.get(st, self.regs.ctr));
        put64(&mut buf, gp + 8 * PT_LNK, self.get(st, self.regs.lr));
        put64(&mut buf, gp + 8 * PT_XER, self.abi().xer(st));
        put64(&mut buf, gp + 8 * PT_CCR, self.abi().cr(st));
        put64(&mut buf, gp + 8 * PT_TRAP, 0);
        // FPRs (doubleword 0 of VSR 0..31) and the FPSCR.
        for i in 0..32 {
            let v = st.get(&self.layout, self.regs.vs[i]);
            put64(&mut buf, sc + SC_FP_REGS + 8 * i as u64, (v >> 64) as u64);
        }
        // The 64-bit FPSCR: DRN in its upper word.
        let fpscr = self.get(st, self.regs.fpscr) & 0xffff_ffff | (self.get(st, self.regs.drn) & 7) << 32;
        put64(&mut buf, sc + SC_FP_REGS + 8 * 32, fpscr);
        // VMX: v_regs (16-byte aligned in vmx_reserve): VR0..31, VSCR, VRSAVE, then the
        // low doublewords of VSR 0..31.
        let vr = (sc + SC_VMX_RESERVE + 15) & !15;
        put64(&mut buf, sc + SC_V_REGS, vr);
        for i in 0..32 {
            let v = st.get(&self.layout, self.regs.vs[32 + i]);
            put(&mut buf, vr + 16 * i as u64, &self.u128_bytes(v));
        }
        put32(&mut buf, vr + 16 * 32 + 12, self.get(st, self.regs.vscr) as u32);
        put32(&mut buf, vr + 16 * 33, self.get(st, self.regs.vrsave) as u32);
        for i in 0..32 {
            let v = st.get(&self.layout, self.regs.vs[i]);
            put64(&mut buf, vr + 16 * 34 + 8 * i as u64, v as u64);
        }
        put64(&mut buf, frame + FRAME_PINFO, frame + FRAME_INFO);
        put64(&mut buf, frame + FRAME_PUC, uc);
        put(&mut buf, frame + FRAME_INFO, &info.to_guest_bytes(be));
        // ELFv1: the handler is a function descriptor (entry and TOC).
        let (entry, toc) = if self.elfv1 {
            let (entry, toc, _) = self.descriptor(mem, act.handler)?;
            (entry, Some(toc))
        } else {
            (act.handler, None)
        };
        mem.write_bytes(newsp, &buf)?;

        self.set_r(st, 1, newsp);
        self.set_r(st, 3, info.signo as u64);
        self.set_r(st, 4, frame + FRAME_INFO);
        self.set_r(st, 5, uc);
        self.set_r(st, 6, frame);
        match toc {
            Some(toc) => self.set_r(st, 2, toc),
            None => self.set_r(st, 12, entry),
        }
        st.set(&self.layout, self.regs.lr, restorer as u128);
        self.set_pc(st, entry);
        Ok(())
    }

    fn restore_frame(&self, mem: &UserMemory, st: &mut StateBuf) -> Result<u64, MemFault> {
        let uc = self.sp(st) + SIGNAL_FRAMESIZE;
        let mut buf = vec![0u8; UCONTEXT_SIZE as usize];
        mem.read_bytes(uc, &mut buf)?;
        let at = |off: u64| self.u64_at(&buf[off as usize..]);
        let mask = at(UC_SIGMASK);
        let sc = UC_MCONTEXT;
        let gp = sc + SC_GP_REGS;
        for i in 0..32 {
            self.set_r(st, i, at(gp + 8 * i as u64));
        }
        self.set_pc(st, at(gp + 8 * PT_NIP));
        st.set(&self.layout, self.regs.ctr, at(gp + 8 * PT_CTR) as u128);
        st.set(&self.layout, self.regs.lr, at(gp + 8 * PT_LNK) as u128);
        self.abi().set_xer(st, at(gp + 8 * PT_XER));
        self.abi().set_cr(st, at(gp + 8 * PT_CCR));
        let vr_abs = at(sc + SC_V_REGS);
        let vr = vr_abs.wrapping_sub(uc);
        // v_regs must point at the frame's own vmx_reserve area.
        let vr_ok = vr.checked_add(16 * 34 + 8 * 32).is_some_and(|end| end <= UCONTEXT_SIZE);
        for i in 0..32 {
            let hi = at(sc + SC_FP_REGS + 8 * i as u64) as u128;
            let lo = if vr_ok { at(vr + 16 * 34 + 8 * i as u64) as u128 } else { 0 };
            st.set(&self.layout, self.regs.vs[i], hi << 64 | lo);
        }
        let fpscr = at(sc + SC_FP_REGS + 8 * 32);
        st.set(&self.layout, self.regs.fpscr, fpscr as u32 as u128);
        st.set(&self.layout, self.regs.drn, (fpscr >> 32 & 7) as u128);
        if vr_ok {
            for i in 0..32 {
                let o = (vr + 16 * i as u64) as usize;
                st.set(&self.layout, self.regs.vs[32 + i], self.u128_at(&buf[o..]));
            }
            let o = (vr + 16 * 32 + 12) as usize;
            st.set(&self.layout, self.regs.vscr, self.u32_at(&buf[o..]) as u128);
            let o = (vr + 16 * 33) as usize;
            st.set(&self.layout, self.regs.vrsave, self.u32_at(&buf[o..]) as u128);
        }
        Ok(mask)
    }
}
