//! The AArch64 (A64) frontend: decode table, lifters and the `aarch64` state layout.
//!
//! Decoding is table driven ([`decode`], [`table`]): every instruction is one pattern in the
//! ARM ARM's bit notation bound to a small lifter ([`lift`]). A region is a superblock: it
//! ends after the first unconditional branch (or trap, or system call) or after
//! [`MAX_INSNS`] instructions, then leaves with `exit_jump` to the next pc; a conditional
//! branch is a side exit, or a loop when it targets the region's entry. Words that match no pattern, or
//! whose fields are reserved, lift to `exit_trap illegal` at their pc. Guest memory is
//! little-endian.
//!
//! Implemented (user mode, EL0; [`mnemonics`] lists the names):
//! - integer: ADD/SUB/ADDS/SUBS (immediate, shifted, extended), ADC/SBC(S), logical
//!   (immediate with the bitmask decoder, shifted register), MOVZ/MOVN/MOVK, ADR/ADRP,
//!   SBFM/BFM/UBFM, EXTR, shifts by register, MADD/MSUB, SMADDL/UMADDL, SMSUBL/UMSUBL,
//!   SMULH/UMULH, UDIV/SDIV, CSEL/CSINC/CSINV/CSNEG, CCMP/CCMN, CLZ/CLS/RBIT/REV*, and
//!   FEAT_CSSC's ABS/CNT/CTZ/SMAX/SMIN/UMAX/UMIN;
//! - branches and system: B, BL, B.cond, CBZ/CBNZ, TBZ/TBNZ, BR/BLR/RET, SVC, BRK, NOP and
//!   the other hints (as NOP), DMB/DSB/ISB, CLREX, MRS/MSR of NZCV, FPCR, FPSR, TPIDR_EL0
//!   (and MRS of CTR_EL0, DCZID_EL0);
//! - memory: LDR/STR of every integer size with sign extension (unsigned offset, register
//!   offset, pre/post-index, unscaled, literal), LDP/STP/LDPSW/LDNP/STNP, the same for
//!   SIMD&FP registers B/H/S/D/Q, PRFM (as nothing), LDAR/STLR, LDXR/STXR (an exclusive
//!   monitor modelled with compare-and-swap), LSE atomics (LDADD..LDUMIN, SWP, CAS);
//! - scalar FP (single, double): arithmetic, FMA, compares, FCSEL, conversions, FMOV;
//! - Advanced SIMD (a first, integer subset): bitwise ops, ADD/SUB/MUL, CMEQ/CMGT/CMGE/
//!   CMHI/CMHS/CMTST and the compares with zero, SMAX/SMIN/UMAX/UMIN and their pairwise
//!   forms, ADDP, ADDV and the max/min reductions, XTN, SHRN, SSHR/USHR/SHL, CNT, REV16/32/64,
//!   UZP/TRN/ZIP, DUP/UMOV/INS (general and element), NOT, EXT, modified immediates
//!   (MOVI/MVNI/ORR/BIC/FMOV), LD1/ST1 (multiple registers).
//!
//! Not yet: the rest of Advanced SIMD (widening and long ops, saturating ops, scalar-element
//! forms, LD2..LD4 and single-lane loads, FP vector arithmetic), half precision, FCVTA*,
//! LDXP/STXP, CASP, system registers beyond the above, SVE, MTE and pointer authentication
//! (PAC hints are NOPs).

pub mod decode;
pub mod fpenv;
pub mod lift;
pub mod table;

use crate::{Fetch, Frontend, Lifted, TranslateError};
use decode::{Decoder, Fields};
use lift::Lifter;
use mimic_ir::*;
use std::sync::{Arc, OnceLock};
use std::time::Instant;

/// Longest region, in guest instructions.
pub const MAX_INSNS: usize = 64;

/// The slots the lifters use.
#[derive(Clone, Debug)]
pub struct Regs {
    /// x0..x30.
    pub x: [SlotId; 31],
    pub sp: SlotId,
    pub pc: SlotId,
    pub n: SlotId,
    pub z: SlotId,
    pub c: SlotId,
    pub v: SlotId,
    pub tpidr_el0: SlotId,
    pub fpcr: SlotId,
    pub fpsr: SlotId,
    pub excl_valid: SlotId,
    pub excl_addr: SlotId,
    pub excl_val: SlotId,
    /// The upper 64 bits a 16-byte exclusive pair load saw (LDXP of X registers).
    pub excl_val_hi: SlotId,
    /// v0..v31.
    pub vreg: [SlotId; 32],
}

/// The `aarch64` state layout: x0..x30, sp, pc (i64), the NZCV flags (i1), tpidr_el0
/// (i64), v0..v31 (v128), fpcr and fpsr (i32), and the local exclusive monitor used by
/// LDXR/STXR and LDXP/STXP (`excl_valid` i1, `excl_addr`, `excl_val` and `excl_val_hi` i64).
pub fn layout() -> StateLayout {
    let mut b = LayoutBuilder::new("aarch64");
    for i in 0..31 {
        b = b.slot(&format!("x{i}"), Type::I64);
    }
    b = b.slot("sp", Type::I64).slot("pc", Type::I64);
    for f in ["n", "z", "c", "v"] {
        b = b.slot(f, Type::I1);
    }
    b = b.slot("tpidr_el0", Type::I64);
    for i in 0..32 {
        b = b.slot(&format!("v{i}"), Type::V128);
    }
    b = b.slot("fpcr", Type::I32).slot("fpsr", Type::I32);
    b = b.slot("excl_valid", Type::I1).slot("excl_addr", Type::I64).slot("excl_val", Type::I64);
    b = b.slot("excl_val_hi", Type::I64);
    b.build("pc").expect("aarch64 layout")
}

/// The compiled A64 decode table (compiled once).
pub fn decoder() -> &'static Decoder {
    static D: OnceLock<Decoder> = OnceLock::new();
    D.get_or_init(|| Decoder::new(table::A64).expect("A64 decode table"))
}

/// Every mnemonic the table implements (sorted, without duplicates).
pub fn mnemonics() -> Vec<&'static str> {
    let mut v: Vec<_> = table::A64.iter().map(|p| p.name).collect();
    v.sort_unstable();
    v.dedup();
    v
}

/// The mnemonic `word` decodes to, or `None` if it is unimplemented or its fields are
/// reserved (it would lift to `exit_trap illegal`).
pub fn mnemonic(word: u32) -> Option<&'static str> {
    static FE: OnceLock<Aarch64> = OnceLock::new();
    let f = decoder().decode(word)?;
    let fe = FE.get_or_init(Aarch64::new);
    let mut region = Region::new(fe.layout.clone(), 0x1000);
    let mut b = Builder::new(&mut region);
    let mut l = Lifter { b: &mut b, regs: &fe.regs, pc: 0x1000, entry: 0x1000 };
    (decoder().pattern(&f).lift)(&mut l, &f).ok().map(|_| f.name())
}

/// The A64 frontend (user mode, EL0).
pub struct Aarch64 {
    layout: Arc<StateLayout>,
    regs: Regs,
}

impl Default for Aarch64 {
    fn default() -> Self {
        Self::new()
    }
}

impl Aarch64 {
    pub fn new() -> Aarch64 {
        let layout = Arc::new(layout());
        let s = |n: &str| layout.expect(n);
        let regs = Regs {
            x: std::array::from_fn(|i| s(&format!("x{i}"))),
            sp: s("sp"),
            pc: s("pc"),
            n: s("n"),
            z: s("z"),
            c: s("c"),
            v: s("v"),
            tpidr_el0: s("tpidr_el0"),
            fpcr: s("fpcr"),
            fpsr: s("fpsr"),
            excl_valid: s("excl_valid"),
            excl_addr: s("excl_addr"),
            excl_val: s("excl_val"),
            excl_val_hi: s("excl_val_hi"),
            vreg: std::array::from_fn(|i| s(&format!("v{i}"))),
        };
        Aarch64 { layout, regs }
    }
    pub fn regs(&self) -> &Regs {
        &self.regs
    }
    /// Lift the words of one region at `entry` (used by `translate` and by tests that lift
    /// code directly). Lifting stops at the first instruction that ends a block.
    pub fn lift_words(&self, entry: u64, words: &[u32]) -> Region {
        let trace: Vec<(u64, u32)> = words.iter().enumerate().map(|(i, &w)| (entry + 4 * i as u64, w)).collect();
        self.lift_trace(entry, &trace)
    }

    /// Lift a region's instructions, given with their pcs. An unconditional `B` followed
    /// by its target's instruction is the region continuing there: it lifts to nothing
    /// but its `insn` marker.
    pub fn lift_trace(&self, entry: u64, words: &[(u64, u32)]) -> Region {
        let mut region = Region::new(self.layout.clone(), entry);
        let mut b = Builder::new(&mut region);
        let mut pc = entry;
        for (i, &(at, w)) in words.iter().enumerate() {
            pc = at;
            b.insn(pc);
            let next = words.get(i + 1).map(|&(p, _)| p);
            if next.is_some() && next == followed_branch(w, pc) {
                continue;
            }
            let mut l = Lifter { b: &mut b, regs: &self.regs, pc, entry };
            let ok = match decoder().decode(w) {
                Some(f) => lift_one(&mut l, &f),
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

fn lift_one(l: &mut Lifter, f: &Fields) -> bool {
    (decoder().pattern(f).lift)(l, f).is_ok()
}

impl Frontend for Aarch64 {
    fn name(&self) -> &str {
        "aarch64"
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
                        let w = u32::from_le_bytes(w);
                        format!("{pc:#x}: {w:08x}  {}", mnemonic(w).unwrap_or("(illegal)"))
                    }
                    Err(_) => format!("{pc:#x}: (unreadable)"),
                }
            })
            .collect()
    }

    fn translate(&mut self, entry: u64, fetch: &mut Fetch<'_>) -> Result<Lifted, TranslateError> {
        let t0 = Instant::now();
        let mut words: Vec<(u64, u32)> = Vec::new();
        let mut pc = entry;
        let (mut lo, mut hi) = (entry, entry);
        while words.len() < MAX_INSNS {
            let mut w = [0u8; 4];
            if fetch(pc, &mut w).is_err() {
                if words.is_empty() {
                    return Err(TranslateError::Fetch { addr: pc });
                }
                break;
            }
            let w = u32::from_le_bytes(w);
            words.push((pc, w));
            lo = lo.min(pc);
            hi = hi.max(pc + 4);
            // Continue at a nearby unconditional branch's target (not yet in the region):
            // one region instead of a chained exit into a short one.
            if let Some(t) = followed_branch(w, pc) {
                let near = t.abs_diff(entry) <= FOLLOW_DISTANCE;
                if near && words.len() < MAX_INSNS && !words.iter().any(|&(p, _)| p == t) {
                    pc = t;
                    continue;
                }
            }
            pc = pc.wrapping_add(4);
            if ends_block(w) {
                break;
            }
        }
        let decode_time = t0.elapsed();
        let t1 = Instant::now();
        let region = self.lift_trace(entry, &words);
        let lift_time = t1.elapsed();
        // The bytes of every instruction lifted lie in lo..hi (a superset when the region
        // jumped forward: invalidating more than needed is safe).
        Ok(Lifted { region, guest_bytes: lo..hi, decode_time, lift_time })
    }
}

/// How far (bytes, either way from the region's entry) an unconditional branch is
/// followed inside a region. It bounds the region's byte range, which invalidation uses.
pub const FOLLOW_DISTANCE: u64 = 4096;

/// The target of `w` at `pc` if it is an unconditional immediate branch (`B`, not `BL`).
fn followed_branch(w: u32, pc: u64) -> Option<u64> {
    (w >> 26 == 0b000101).then(|| {
        let imm = ((w & 0x03ff_ffff) << 6) as i32 >> 4;
        pc.wrapping_add(imm as i64 as u64)
    })
}

/// Whether the instruction `w` ends a region (branches, system calls, illegal words).
fn ends_block(w: u32) -> bool {
    match decoder().decode(w) {
        None => true,
        Some(f) => {
            matches!(f.name(), "b" | "bl" | "br" | "blr" | "ret" | "svc" | "brk" | "ic")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every pattern decodes some word: it is not fully shadowed by earlier patterns.
    #[test]
    fn every_pattern_is_reachable() {
        let d = decoder();
        let mut seed = 0x9e37_79b9_7f4a_7c15u64;
        for (i, c) in d.compiled.iter().enumerate() {
            let free = !c.mask;
            let mut candidates = vec![c.value, c.value | free];
            for _ in 0..20_000 {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                candidates.push(c.value | (seed as u32 & free));
            }
            let hit = candidates.iter().find(|&&w| d.index_of(w) == Some(i));
            assert!(hit.is_some(), "pattern {i} `{}` {} is shadowed", c.pattern.name, c.pattern.bits);
        }
    }

    /// The overlapping pattern pairs are exactly the documented ones.
    #[test]
    fn overlaps_are_documented() {
        let c = &decoder().compiled;
        let mut found = Vec::new();
        for (i, a) in c.iter().enumerate() {
            for b in &c[i + 1..] {
                if (a.value ^ b.value) & a.mask & b.mask == 0 {
                    found.push((a.pattern.bits, b.pattern.bits));
                }
            }
        }
        assert_eq!(found, table::OVERLAPS);
    }

    /// Every pattern's lifter runs on sample words without panicking (it reads only fields
    /// its pattern has) and gives a region that verifies.
    #[test]
    fn every_lifter_lifts_and_verifies() {
        let fe = Aarch64::new();
        let mut seed = 0x1234_5678_9abc_def1u64;
        for c in &decoder().compiled {
            for k in 0..64 {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                let w = c.value | (seed as u32 & !c.mask);
                let region = fe.lift_words(0x40_0000 + 4 * k, &[w, 0xd503201f]);
                if let Err(e) = verify(&region) {
                    panic!("{} {w:08x}: {e}\n{}", c.pattern.name, print(&region));
                }
                // The text form round-trips.
                let text = print(&region);
                let back = parse_region(&text, &region.layout).unwrap_or_else(|e| panic!("{e}\n{text}"));
                assert_eq!(print(&back), text);
            }
        }
    }

    /// The bucketed decoder picks the same pattern as a scan of the whole table.
    #[test]
    fn buckets_agree_with_a_full_scan() {
        let d = decoder();
        let mut seed = 0xdead_beef_cafe_f00du64;
        let mut words: Vec<u32> = d.compiled.iter().flat_map(|c| [c.value, c.value | !c.mask]).collect();
        for _ in 0..200_000 {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            words.push((seed >> 11) as u32);
        }
        for w in words {
            assert_eq!(d.decode_index(w), d.index_of(w), "{w:08x}");
        }
    }

    #[test]
    fn table_compiles_and_names_are_lower_case() {
        assert_eq!(decoder().compiled.len(), table::A64.len());
        for p in table::A64 {
            assert_eq!(p.name, p.name.to_lowercase());
        }
    }

    #[test]
    fn layout_has_the_documented_slots() {
        let l = layout();
        for n in ["x0", "x30", "sp", "pc", "tpidr_el0", "v0", "v31"] {
            assert!(l.find(n).is_some(), "{n}");
        }
        assert_eq!(l.slot(l.expect("n")).ty, Type::I1);
        assert_eq!(l.slot(l.expect("v7")).ty, Type::V128);
        assert_eq!(l.slot(l.expect("fpsr")).ty, Type::I32);
        assert_eq!(l.slot(l.pc).name, "pc");
    }

    #[test]
    fn bit_masks() {
        use lift::decode_bit_masks as dbm;
        // and x0, x1, #0xff: N=1 immr=0 imms=7.
        assert_eq!(dbm(1, 7, 0, 64), Some(0xff));
        // orr w0, w1, #0x55555555: N=0 immr=0 imms=0b111100.
        assert_eq!(dbm(0, 0b111100, 0, 32), Some(0x5555_5555));
        // 0x8000000000000001: N=1 immr=1 imms=1 (two ones rotated right by one).
        assert_eq!(dbm(1, 1, 1, 64), Some(0x8000_0000_0000_0001));
        // 0xfffffffffffffffe... all ones is reserved.
        assert_eq!(dbm(1, 0b111111, 0, 64), None);
        assert_eq!(dbm(0, 0b111111, 0, 32), None);
        // N=1 with a 32-bit datasize is reserved.
        assert_eq!(dbm(1, 0, 0, 32), None);
        // 0x00ff00ff00ff00ff: element 16, eight ones.
        assert_eq!(dbm(0, 0b100111, 0, 64), Some(0x00ff_00ff_00ff_00ff));
    }
}
