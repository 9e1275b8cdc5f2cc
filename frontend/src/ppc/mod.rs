//! The PowerPC frontend (user mode, problem state): decode table, lifters and the
//! `ppc64`/`ppc32` state layouts, for the modes in [`PpcMode`] (64-bit little-endian
//! ELFv2 first; 64-bit big-endian and 32-bit are the same lifters with another mode).
//!
//! Decoding is table driven ([`table`], on the shared [`crate::decode`] mechanism): every
//! instruction is one pattern in the Power ISA's bit layout bound to a small lifter
//! ([`lift`]). A region is a superblock: it ends after the first unconditional branch (or
//! system call, trap or illegal word) or after [`MAX_INSNS`] instructions; a conditional
//! branch is a side exit, or a loop when it targets the region's entry. Words that match
//! no pattern, or whose fields are invalid, lift to `exit_trap illegal` at their pc.
//!
//! State layout (chosen so compares and branches are cheap):
//! - `r0`..`r31`, `pc`, `lr`, `ctr`, `tar` (i64; in 32-bit mode the upper halves are
//!   kept but addresses, CR0 and carries use the low 32 bits);
//! - the condition register as 32 one-bit slots `cr0`..`cr31` (CR bit *i* in the ISA's
//!   numbering: field *n* is bits 4n..4n+3 = LT, GT, EQ, SO): a compare writes four i1s
//!   and a conditional branch reads one; `mfcr`/`mtcrf` assemble and split them;
//! - XER as `so`, `ov`, `ca` (i1) and `xer_bc` (the byte count, i64); OV32/CA32 are
//!   not modelled (this CPU reports ISA 2.07, where they do not exist);
//! - `vs0`..`vs63` (v128, the ISA's bit 0 = bit 127 of the value): FPR *i* is the upper
//!   doubleword of VSR *i*, VR *i* is VSR 32+*i*, as the ISA defines;
//! - `fpscr`, `vscr`, `vrsave` (i32); `drn` (i32), the decimal rounding mode in the
//!   upper word of the 64-bit FPSCR (bits 29:31, ISA 2.05; the word's only defined
//!   field), which only 64-bit mode can write (the 32-bit CPU, a 7400, has no W or L);
//! - the reservation of `larx`/`stcx.`: `resv_valid` (i1), `resv_addr`, `resv_val` (i64,
//!   and `resv_val_hi` for lqarx's upper doubleword),
//!   modelled like AArch64's exclusive monitor: `stcx.` is a compare-and-swap against the
//!   value `larx` saw.
//!
//! The thread pointer is r13 (64-bit) or r2 (32-bit): a general register, nothing more.

pub mod decode;
pub mod fpenv;
pub mod lift;
pub mod table;
pub mod vec;

use crate::{Fetch, Frontend, Lifted, TranslateError};
use decode::{Decoder, Fields};
use lift::Lifter;
use mimic_ir::*;
use std::sync::{Arc, OnceLock};
use std::time::Instant;

/// Longest region, in guest instructions.
pub const MAX_INSNS: usize = 64;

/// The processor mode a frontend decodes for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct PpcMode {
    /// 64-bit mode (MSR.SF): 64-bit addresses, CR0 and carries of 64-bit results.
    pub bits64: bool,
    /// Big-endian memory (MSR.LE clear).
    pub big_endian: bool,
}

impl PpcMode {
    /// ppc64le (ELFv2).
    pub const PPC64LE: PpcMode = PpcMode { bits64: true, big_endian: false };
    /// ppc64 big-endian (ELFv1).
    pub const PPC64: PpcMode = PpcMode { bits64: true, big_endian: true };
    /// 32-bit big-endian.
    pub const PPC32: PpcMode = PpcMode { bits64: false, big_endian: true };
    pub fn name(self) -> &'static str {
        match (self.bits64, self.big_endian) {
            (true, false) => "ppc64le",
            (true, true) => "ppc64",
            (false, true) => "ppc",
            (false, false) => "ppcle",
        }
    }
    pub fn endian(self) -> Endian {
        if self.big_endian {
            Endian::Big
        } else {
            Endian::Little
        }
    }
}

/// The slots the lifters use.
#[derive(Clone, Debug)]
pub struct Regs {
    pub r: [SlotId; 32],
    pub pc: SlotId,
    pub lr: SlotId,
    pub ctr: SlotId,
    pub tar: SlotId,
    /// CR bits 0..31 (ISA numbering).
    pub cr: [SlotId; 32],
    pub so: SlotId,
    pub ov: SlotId,
    pub ca: SlotId,
    pub xer_bc: SlotId,
    pub fpscr: SlotId,
    pub vscr: SlotId,
    pub vrsave: SlotId,
    pub resv_valid: SlotId,
    pub resv_addr: SlotId,
    pub resv_val: SlotId,
    /// The upper doubleword of a quadword reservation (lqarx).
    pub resv_val_hi: SlotId,
    /// vs0..vs63.
    pub vs: [SlotId; 64],
    /// FPSCR[DRN] (0..7), bits 32..34 of the 64-bit FPSCR.
    pub drn: SlotId,
}

/// The state layout (`ppc64` or `ppc32`; the slots are the same, see the module docs).
pub fn layout(mode: PpcMode) -> StateLayout {
    let mut b = LayoutBuilder::new(if mode.bits64 { "ppc64" } else { "ppc32" });
    for i in 0..32 {
        b = b.slot(&format!("r{i}"), Type::I64);
    }
    for n in ["pc", "lr", "ctr", "tar"] {
        b = b.slot(n, Type::I64);
    }
    for i in 0..32 {
        b = b.slot(&format!("cr{i}"), Type::I1);
    }
    b = b.slot("so", Type::I1).slot("ov", Type::I1).slot("ca", Type::I1).slot("xer_bc", Type::I64);
    b = b.slot("fpscr", Type::I32).slot("vscr", Type::I32).slot("vrsave", Type::I32);
    b = b.slot("resv_valid", Type::I1).slot("resv_addr", Type::I64).slot("resv_val", Type::I64);
    b = b.slot("resv_val_hi", Type::I64);
    for i in 0..64 {
        b = b.slot(&format!("vs{i}"), Type::V128);
    }
    b = b.slot("drn", Type::I32);
    b.build("pc").expect("ppc layout")
}

/// The compiled decode table (compiled once).
pub fn decoder() -> &'static Decoder {
    static D: OnceLock<Decoder> = OnceLock::new();
    D.get_or_init(|| Decoder::new(table::PPC).expect("PowerPC decode table"))
}

/// Every mnemonic the table implements (sorted, without duplicates).
pub fn mnemonics() -> Vec<&'static str> {
    let mut v: Vec<_> = table::PPC.iter().map(|p| p.name).collect();
    v.sort_unstable();
    v.dedup();
    v
}

/// The mnemonic `word` decodes to in `mode`, or `None` if it is unimplemented or its
/// fields are invalid (it would lift to `exit_trap illegal`). Record forms get their
/// dot (`add.`), OE forms their `o` (`addo`), LK/AA forms their `l`/`a` (`bl`, `bcla`).
pub fn mnemonic(mode: PpcMode, word: u32) -> Option<String> {
    let f = decoder().decode(word)?;
    let fe = Ppc::new(mode);
    let mut region = Region::new(fe.layout.clone(), 0x1000);
    let mut b = Builder::new(&mut region);
    let mut l = Lifter { b: &mut b, regs: &fe.regs, pc: 0x1000, entry: 0x1000, mode };
    (decoder().pattern(&f).lift)(&mut l, &f).ok()?;
    Some(full_name(&f))
}

/// The pattern's name with the suffixes its Rc/OE/LK/AA bits select.
pub fn full_name(f: &Fields) -> String {
    let c = &decoder().compiled[f.index];
    let mut s = f.name().to_string();
    if c.has_field('O') && f.bit('O') {
        s.push('o');
    }
    if c.has_field('A') && c.has_field('k') {
        if f.bit('k') {
            s.push('l');
        }
        if f.bit('A') {
            s.push('a');
        }
    } else if c.has_field('k') && f.bit('k') {
        s.push('l');
    }
    if c.has_field('R') && f.bit('R') {
        s.push('.');
    }
    s
}

/// The PowerPC frontend.
pub struct Ppc {
    layout: Arc<StateLayout>,
    regs: Regs,
    mode: PpcMode,
}

impl Ppc {
    pub fn new(mode: PpcMode) -> Ppc {
        let layout = Arc::new(layout(mode));
        let s = |n: &str| layout.expect(n);
        let regs = Regs {
            r: std::array::from_fn(|i| s(&format!("r{i}"))),
            pc: s("pc"),
            lr: s("lr"),
            ctr: s("ctr"),
            tar: s("tar"),
            cr: std::array::from_fn(|i| s(&format!("cr{i}"))),
            so: s("so"),
            ov: s("ov"),
            ca: s("ca"),
            xer_bc: s("xer_bc"),
            fpscr: s("fpscr"),
            vscr: s("vscr"),
            vrsave: s("vrsave"),
            resv_valid: s("resv_valid"),
            resv_addr: s("resv_addr"),
            resv_val: s("resv_val"),
            resv_val_hi: s("resv_val_hi"),
            vs: std::array::from_fn(|i| s(&format!("vs{i}"))),
            drn: s("drn"),
        };
        Ppc { layout, regs, mode }
    }
    pub fn regs(&self) -> &Regs {
        &self.regs
    }
    pub fn mode(&self) -> PpcMode {
        self.mode
    }
    fn word(&self, bytes: [u8; 4]) -> u32 {
        if self.mode.big_endian {
            u32::from_be_bytes(bytes)
        } else {
            u32::from_le_bytes(bytes)
        }
    }
    /// Lift the words of one region at `entry` (used by `translate` and by tests).
    pub fn lift_words(&self, entry: u64, words: &[u32]) -> Region {
        let mut region = Region::new(self.layout.clone(), entry);
        let mut b = Builder::new(&mut region);
        let mut pc = entry;
        for &w in words {
            b.insn(pc);
            let mut l = Lifter { b: &mut b, regs: &self.regs, pc, entry, mode: self.mode };
            let ok = match decoder().decode(w) {
                Some(f) => (decoder().pattern(&f).lift)(&mut l, &f).is_ok(),
                None => false,
            };
            if !ok {
                b.exit_trap(TrapKind::Illegal, pc);
            }
            pc = pc.wrapping_add(4);
            if b.is_terminated() {
                break;
            }
        }
        if !b.is_terminated() {
            b.exit_jump(pc);
        }
        region
    }
}

impl Frontend for Ppc {
    fn name(&self) -> &str {
        self.mode.name()
    }
    fn layout(&self) -> Arc<StateLayout> {
        self.layout.clone()
    }
    fn fixed_insn_size(&self) -> Option<u64> {
        Some(4)
    }
    fn disassemble(&self, region: &Region, fetch: &mut Fetch<'_>) -> Vec<String> {
        // The instructions' pcs are those of the `insn` markers (a region may continue
        // at a branch target), in order.
        region
            .insn_pcs()
            .into_iter()
            .map(|pc| {
                let mut w = [0u8; 4];
                match fetch(pc, &mut w) {
                    Ok(()) => {
                        let w = self.word(w);
                        let m = mnemonic(self.mode, w).unwrap_or_else(|| "(illegal)".into());
                        format!("{pc:#x}: {w:08x}  {m}")
                    }
                    Err(_) => format!("{pc:#x}: (unreadable)"),
                }
            })
            .collect()
    }
    fn translate(&mut self, entry: u64, fetch: &mut Fetch<'_>) -> Result<Lifted, TranslateError> {
        let t0 = Instant::now();
        let mut words = Vec::new();
        let mut pc = entry;
        while words.len() < MAX_INSNS {
            let mut w = [0u8; 4];
            if fetch(pc, &mut w).is_err() {
                if words.is_empty() {
                    return Err(TranslateError::Fetch { addr: pc });
                }
                break;
            }
            let w = self.word(w);
            words.push(w);
            pc = pc.wrapping_add(4);
            if ends_block(w) {
                break;
            }
        }
        let decode_time = t0.elapsed();
        let t1 = Instant::now();
        let region = self.lift_words(entry, &words);
        let end = entry + 4 * region.guest_insns as u64;
        let lift_time = t1.elapsed();
        Ok(Lifted { region, guest_bytes: entry..end, decode_time, lift_time })
    }
}

/// Whether the instruction `w` ends a region: unconditional branches, system calls,
/// traps, icbi, and illegal words.
fn ends_block(w: u32) -> bool {
    match decoder().decode(w) {
        None => true,
        Some(f) => match f.name() {
            "b" | "sc" | "tw" | "td" | "twi" | "tdi" | "icbi" => true,
            "bc" | "bclr" | "bcctr" | "bctar" => f.get('o') & 0b10100 == 0b10100,
            _ => false,
        },
    }
}

#[cfg(test)]
mod tests;
