//! Floating-point, VMX and VSX lifters.
//!
//! VSRs are v128 values whose bit 127 is the ISA's bit 0, so doubleword 0 (the FPR of
//! VSR 0..31) is lane 1 of `i64x2`, and a little-endian 16-byte load gives `lvx`'s
//! element order in little-endian mode. Element-wise adds, subtracts, shifts and bitwise
//! ops, selects and the permutes (vperm as a two-table lookup; merges, splats, vsldoi and
//! the xx forms as constant shuffles, see [`Lifter::permute`]) are IR vector ops; packs,
//! compares with CR6, saturating and multiply-sum forms and the like go through the
//! `ppc_vec` helper ([`crate::ppc::vec`]).

use super::super::fpenv::helpers;
use super::super::vec::VecOp;
use super::{check, Fields, LiftResult, Lifter, Reserved};
use mimic_ir::*;

const D0: u8 = 1; // lane of doubleword 0 in i64x2
const D1: u8 = 0;

impl Lifter<'_, '_> {
    pub fn vs(&mut self, r: u32) -> Value {
        self.b.get_slot(self.regs.vs[r as usize])
    }
    pub fn set_vs(&mut self, r: u32, v: Value) {
        self.b.set_slot(self.regs.vs[r as usize], v);
    }
    /// Doubleword 0 of VSR `r` (the FPR for r < 32).
    pub fn dw0(&mut self, r: u32) -> Value {
        let v = self.vs(r);
        self.b.vextract(VecShape::I64x2, v, D0)
    }
    pub fn set_dw0(&mut self, r: u32, x: Value) {
        let v = self.vs(r);
        let v = self.b.vinsert(VecShape::I64x2, v, x, D0);
        self.set_vs(r, v);
    }
    pub fn fpr(&mut self, r: u32) -> Value {
        let x = self.dw0(r);
        self.b.convert(Opcode::Bitcast, x, Type::F64)
    }
    pub fn set_fpr(&mut self, r: u32, x: Value) {
        let x = self.b.convert(Opcode::Bitcast, x, Type::I64);
        self.set_dw0(r, x);
    }
    fn vec_call(&mut self, op: VecOp, t: u32, a: u32, b: u32, c: u32, imm: u32) {
        let op = self.k(op as u64);
        let regs = self.k((t | a << 8 | b << 16 | c << 24) as u64);
        let imm = self.k(imm as u64);
        self.b.call(helpers().vec, &[op, regs, imm]);
    }
    /// A permute of VSRs `a` and `b` in the ISA's byte numbering: byte `i` of the result
    /// (0 most significant) is byte `pick(i)` of the 32 bytes of `a` then `b`.
    fn permute(&mut self, t: u32, a: u32, b: u32, pick: impl Fn(usize) -> usize) {
        // IR byte j is ISA byte 15 - j; ISA byte k of the pair is IR byte 15 - k of a
        // (k < 16) or IR byte 31 - k of b, operand index 16 + 31 - k.
        let mask = std::array::from_fn(|j| {
            let k = pick(15 - j);
            (if k < 16 { 15 - k } else { 47 - k }) as u8
        });
        let (x, y) = (self.vs(a), self.vs(b));
        let r = self.b.vshuffle(x, y, mask);
        self.set_vs(t, r);
    }
    /// vsel/xxsel: bits of b where c is set, of a elsewhere.
    fn select(&mut self, t: u32, a: u32, b: u32, c: u32) {
        let (x, y, m) = (self.vs(a), self.vs(b), self.vs(c));
        let r = self.b.vternary(Opcode::Vbitsel, y, x, m);
        self.set_vs(t, r);
    }
    /// vmrgh/vmrgl for elements of `size` bytes: a's and b's elements alternate, from
    /// the high (first) half or the low half.
    fn merge(&mut self, t: u32, a: u32, b: u32, size: usize, high: bool) {
        let base = if high { 0 } else { 8 / size };
        self.permute(t, a, b, |i| {
            let (e, off) = (i / size, i % size);
            (if e % 2 == 0 { 0 } else { 16 }) + (base + e / 2) * size + off
        });
    }
    /// Element `u` of VSR `b` (`size` bytes) in every element.
    fn splat_elem(&mut self, t: u32, b: u32, size: usize, u: usize) {
        self.permute(t, b, b, |i| u * size + i % size);
    }
    /// Round a double to single precision and back (the single-precision forms).
    fn round_single(&mut self, x: Value) -> Value {
        let s = self.b.convert(Opcode::Fdemote, x, Type::F32);
        self.b.convert(Opcode::Fpromote, s, Type::F64)
    }
    /// `a * b + c` rounded once: to double, or for the single-precision forms to single
    /// (computed on singles; rounding the double result again could round twice). The
    /// ISA requires single-precision operands to be representable in single format.
    fn fma(&mut self, single: bool, a: Value, b: Value, c: Value) -> Value {
        if !single {
            return self.b.op(Opcode::Fma, &[a, b, c]);
        }
        let [a, b, c] = [a, b, c].map(|x| self.b.convert(Opcode::Fdemote, x, Type::F32));
        let r = self.b.op(Opcode::Fma, &[a, b, c]);
        self.b.convert(Opcode::Fpromote, r, Type::F64)
    }
    /// Round to an integral value in FPSCR[RN].
    fn round_rn(&mut self, x: Value) -> Value {
        let fpscr = self.b.get_slot(self.regs.fpscr);
        let three = self.b.i32(3);
        let rn = self.b.and(fpscr, three);
        let mut r = self.b.fround(RoundMode::Floor, x);
        for (mode, v) in [(RoundMode::Ceil, 2), (RoundMode::Trunc, 1), (RoundMode::Nearest, 0)] {
            let k = self.b.i32(v);
            let is = self.b.icmp(IntCC::Eq, rn, k);
            let y = self.b.fround(mode, x);
            r = self.b.select(is, y, r);
        }
        r
    }
    /// CR1 of a floating-point record form: FPSCR[FX, FEX, VX, OX].
    fn record_fp(&mut self, f: &Fields) {
        if f.has('R') && f.bit('R') {
            let v = self.b.get_slot(self.regs.fpscr);
            let v = self.b.zext(v, Type::I64);
            let k = self.k(28);
            let v = self.b.lshr(v, k);
            self.set_cr_field_value(1, v);
        }
    }
}

// ---------------------------------------------------------------------------------------
// Floating-point loads and stores.
// ---------------------------------------------------------------------------------------

impl Lifter<'_, '_> {
    fn fp_load_store(&mut self, name: &str, t: u32, ra: u32, ea: Value) -> LiftResult {
        let update = name.trim_end_matches('x').ends_with('u');
        let store = name.starts_with("st");
        if update && ra == 0 {
            return Err(Reserved);
        }
        let single = name.starts_with("lfs") || name.starts_with("stfs");
        match (store, single) {
            (false, true) => {
                let w = self.b.load(Type::I32, self.mem(4), ea);
                let s = self.b.convert(Opcode::Bitcast, w, Type::F32);
                let d = self.b.convert(Opcode::Fpromote, s, Type::F64);
                self.set_fpr(t, d);
            }
            (false, false) => {
                let d = self.b.load(Type::I64, self.mem(8), ea);
                self.set_dw0(t, d);
            }
            (true, true) => {
                let d = self.fpr(t);
                let s = self.b.convert(Opcode::Fdemote, d, Type::F32);
                let mem = self.mem(4);
                self.b.store(mem, ea, s);
            }
            (true, false) => {
                let d = self.dw0(t);
                let mem = self.mem(8);
                self.b.store(mem, ea, d);
            }
        }
        if update {
            self.set_gpr(ra, ea);
        }
        Ok(())
    }
}

pub fn fp_ldst_d(l: &mut Lifter, f: &Fields) -> LiftResult {
    let ea = l.ea_d(f.get('a'), f.signed('i'));
    l.fp_load_store(f.name(), f.get('d'), f.get('a'), ea)
}

pub fn fp_ldst_x(l: &mut Lifter, f: &Fields) -> LiftResult {
    let ea = l.ea_x(f.get('a'), f.get('b'));
    let t = f.get('d');
    match f.name() {
        "stfiwx" => {
            let d = l.dw0(t);
            let w = l.low32(d);
            let mem = l.mem(4);
            l.b.store(mem, ea, w);
            Ok(())
        }
        "lfiwax" | "lfiwzx" => {
            let mem = l.mem(4);
            let mem = if f.name() == "lfiwax" { mem.signed() } else { mem };
            let v = l.b.load(Type::I64, mem, ea);
            l.set_dw0(t, v);
            Ok(())
        }
        n => l.fp_load_store(n, t, f.get('a'), ea),
    }
}

// ---------------------------------------------------------------------------------------
// Floating-point arithmetic.
// ---------------------------------------------------------------------------------------

/// The A-form arithmetic (double and single), fused multiply-adds and fsel.
pub fn fp_arith(l: &mut Lifter, f: &Fields) -> LiftResult {
    let name = f.name();
    let single = name.ends_with('s') && name != "fsel";
    let base = if single { &name[..name.len() - 1] } else { name };
    let c = f.get('d');
    let r = match base {
        "fadd" | "fsub" | "fdiv" => {
            let (a, b) = (l.fpr(f.get('a')), l.fpr(f.get('b')));
            let op = match base {
                "fadd" => Opcode::Fadd,
                "fsub" => Opcode::Fsub,
                _ => Opcode::Fdiv,
            };
            l.b.op(op, &[a, b])
        }
        "fmul" => {
            let (a, c) = (l.fpr(f.get('a')), l.fpr(f.get('c')));
            l.b.op(Opcode::Fmul, &[a, c])
        }
        "fsqrt" => {
            let b = l.fpr(f.get('b'));
            l.b.op(Opcode::Fsqrt, &[b])
        }
        "fre" => {
            let b = l.fpr(f.get('b'));
            let one = l.b.f64(1.0);
            l.b.op(Opcode::Fdiv, &[one, b])
        }
        "frsqrte" => {
            let b = l.fpr(f.get('b'));
            let s = l.b.op(Opcode::Fsqrt, &[b]);
            let one = l.b.f64(1.0);
            l.b.op(Opcode::Fdiv, &[one, s])
        }
        "fmadd" | "fmsub" | "fnmadd" | "fnmsub" => {
            let (a, b, c) = (l.fpr(f.get('a')), l.fpr(f.get('b')), l.fpr(f.get('c')));
            let b = if base.ends_with("sub") { l.b.op(Opcode::Fneg, &[b]) } else { b };
            let r = l.fma(single, a, c, b);
            if base.starts_with("fn") {
                // Negate a number result, but not a NaN (the ISA leaves NaNs alone).
                let neg = l.b.op(Opcode::Fneg, &[r]);
                let nan = l.b.fcmp(FloatCC::Uno, r, r);
                l.b.select(nan, r, neg)
            } else {
                r
            }
        }
        "fsel" => {
            let (a, b, c) = (l.fpr(f.get('a')), l.fpr(f.get('b')), l.fpr(f.get('c')));
            let zero = l.b.f64(0.0);
            let ge = l.b.fcmp(FloatCC::Ge, a, zero);
            l.b.select(ge, c, b)
        }
        _ => return Err(Reserved),
    };
    let _ = c;
    let r = if single { l.round_single(r) } else { r };
    l.set_fpr(f.get('d'), r);
    l.record_fp(f);
    Ok(())
}

/// X-form one-operand operations: moves, sign operations, conversions, rounding.
pub fn fp_unary(l: &mut Lifter, f: &Fields) -> LiftResult {
    let name = f.name();
    let b = l.fpr(f.get('b'));
    let t = f.get('d');
    let bits = |l: &mut Lifter, x: Value| l.b.convert(Opcode::Bitcast, x, Type::F64);
    let r = match name {
        "fmr" => b,
        "fneg" => l.b.op(Opcode::Fneg, &[b]),
        "fabs" => l.b.op(Opcode::Fabs, &[b]),
        "fnabs" => {
            let a = l.b.op(Opcode::Fabs, &[b]);
            l.b.op(Opcode::Fneg, &[a])
        }
        "fcpsgn" => {
            let a = l.dw0(f.get('a'));
            let bi = l.dw0(f.get('b'));
            let sm = l.k(1 << 63);
            let s = l.b.and(a, sm);
            let nm = l.k(!(1 << 63));
            let m = l.b.and(bi, nm);
            let r = l.b.or(s, m);
            bits(l, r)
        }
        "frsp" => l.round_single(b),
        "friz" => l.b.fround(RoundMode::Trunc, b),
        "frip" => l.b.fround(RoundMode::Ceil, b),
        "frim" => l.b.fround(RoundMode::Floor, b),
        "frin" => {
            // Nearest, ties away from zero: trunc, then step away when the rest >= 0.5.
            let tr = l.b.fround(RoundMode::Trunc, b);
            let rest = l.b.op(Opcode::Fsub, &[b, tr]);
            let rest = l.b.op(Opcode::Fabs, &[rest]);
            let half = l.b.f64(0.5);
            let up = l.b.fcmp(FloatCC::Ge, rest, half);
            let one = l.b.f64(1.0);
            let zero = l.b.f64(0.0);
            let neg = l.b.fcmp(FloatCC::Lt, b, zero);
            let m1 = l.b.f64(-1.0);
            let step = l.b.select(neg, m1, one);
            let stepped = l.b.op(Opcode::Fadd, &[tr, step]);
            let r = l.b.select(up, stepped, tr);
            // Keep the sign of zero results and NaN/inf inputs as they are.
            let inf = l.b.f64(f64::INFINITY);
            let a = l.b.op(Opcode::Fabs, &[b]);
            let big = l.b.fcmp(FloatCC::Ge, a, inf);
            let nan = l.b.fcmp(FloatCC::Uno, b, b);
            let keep = l.b.or(big, nan);
            l.b.select(keep, b, r)
        }
        "fctiw" | "fctiwz" | "fctiwu" | "fctiwuz" | "fctid" | "fctidz" | "fctidu" | "fctiduz" => {
            let rounded = if name.ends_with('z') { l.b.fround(RoundMode::Trunc, b) } else { l.round_rn(b) };
            let word = name.starts_with("fctiw");
            let unsigned = name.contains('u');
            let (ty, op) = match (word, unsigned) {
                (true, false) => (Type::I32, Opcode::FcvtToSint),
                (true, true) => (Type::I32, Opcode::FcvtToUint),
                (false, false) => (Type::I64, Opcode::FcvtToSint),
                (false, true) => (Type::I64, Opcode::FcvtToUint),
            };
            let v = l.b.convert(op, rounded, ty);
            let v = match (word, unsigned) {
                (true, false) => l.b.sext(v, Type::I64),
                (true, true) => l.b.zext(v, Type::I64),
                _ => v,
            };
            // NaN converts to the most negative integer (0 for the unsigned forms).
            let nanval = match (word, unsigned) {
                (true, false) => 0x8000_0000u64,
                (false, false) => 1 << 63,
                _ => 0,
            };
            let nan = l.b.fcmp(FloatCC::Uno, b, b);
            let nv = l.k(nanval);
            let v = l.b.select(nan, nv, v);
            bits(l, v)
        }
        "fcfid" | "fcfidu" | "fcfids" | "fcfidus" => {
            let i = l.dw0(f.get('b'));
            let op = if name.contains('u') { Opcode::FcvtFromUint } else { Opcode::FcvtFromSint };
            if name.ends_with('s') {
                let s = l.b.convert(op, i, Type::F32);
                l.b.convert(Opcode::Fpromote, s, Type::F64)
            } else {
                l.b.convert(op, i, Type::F64)
            }
        }
        _ => return Err(Reserved),
    };
    l.set_fpr(t, r);
    l.record_fp(f);
    Ok(())
}

/// fcmpu/fcmpo: CR[BF] = (lt, gt, eq, unordered).
pub fn fp_cmp(l: &mut Lifter, f: &Fields) -> LiftResult {
    let a = l.fpr(f.get('a'));
    let b = l.fpr(f.get('b'));
    let lt = l.b.fcmp(FloatCC::Lt, a, b);
    let gt = l.b.fcmp(FloatCC::Gt, a, b);
    let eq = l.b.fcmp(FloatCC::Eq, a, b);
    let un = l.b.fcmp(FloatCC::Uno, a, b);
    l.set_cr_field(f.get('f'), [lt, gt, eq, un]);
    Ok(())
}

/// `v` with FPSCR[DRN] in its place in the 64-bit FPSCR (bits 32..34).
fn with_drn(l: &mut Lifter, v: Value) -> Value {
    let d = l.b.get_slot(l.regs.drn);
    let d = l.b.zext(d, Type::I64);
    let sh = l.b.i64(32);
    let d = l.b.shl(d, sh);
    l.b.or(v, d)
}

/// FPSCR[DRN] from the low three bits of `v` (an i64).
fn set_drn(l: &mut Lifter, v: Value) {
    let v = l.low32(v);
    let m = l.b.i32(7);
    let v = l.b.and(v, m);
    l.b.set_slot(l.regs.drn, v);
}

/// mffs, mtfsf, mtfsfi, mtfsb0, mtfsb1.  The FPSCR is 64 bits from ISA 2.05 on: its
/// upper word (fields 0..7 with W=1, all 16 fields with L=1) holds only DRN.
pub fn fpscr(l: &mut Lifter, f: &Fields) -> LiftResult {
    let slot = l.regs.fpscr;
    let raw = l.b.get_slot(slot);
    let raw = l.b.zext(raw, Type::I64);
    let cur = l.b.call(helpers().fpscr_read, &[raw]).expect("result");
    let cur = l.low32(cur);
    let new = match f.name() {
        "mffs" => {
            let v = l.b.zext(cur, Type::I64);
            let v = with_drn(l, v);
            l.set_dw0(f.get('d'), v);
            l.record_fp(f);
            return Ok(());
        }
        "mffsl" => {
            // DRN (not modelled), FR, FI, FPRF, the enables, NI and RN.
            let m = l.b.i32(0x7_f0ff);
            let v = l.b.and(cur, m);
            let v = l.b.zext(v, Type::I64);
            let v = with_drn(l, v);
            l.set_dw0(f.get('d'), v);
            return Ok(());
        }
        "mffsce" | "mffscrn" | "mffscrni" => {
            let keep = if f.name() == "mffsce" { 0xffff_ffff } else { 0xff };
            // FRB is read before FRT is written (they may be the same register).
            let frb = if f.name() == "mffscrn" {
                let b = l.dw0(f.get('b'));
                Some(l.low32(b))
            } else {
                None
            };
            let m = l.b.i32(keep);
            let v = l.b.and(cur, m);
            let v = l.b.zext(v, Type::I64);
            let v = with_drn(l, v);
            l.set_dw0(f.get('d'), v);
            match f.name() {
                "mffsce" => {
                    let m = l.b.i32(!0xf8);
                    l.b.and(cur, m)
                }
                n => {
                    let rn = match frb {
                        None if n == "mffscrni" => l.b.i32(f.get('u')),
                        _ => {
                            let three = l.b.i32(3);
                            l.b.and(frb.expect("mffscrn reads FRB"), three)
                        }
                    };
                    let m = l.b.i32(!3);
                    let k = l.b.and(cur, m);
                    l.b.or(k, rn)
                }
            }
        }
        "mtfsf" => {
            let (w, all) = (f.bit('W'), f.bit('L'));
            if w && !l.mode.bits64 {
                return Err(Reserved);
            }
            // The upper word's field 7 (FLM bit 7 with W=1), or everything with L=1.
            if l.mode.bits64 && (all || w && f.get('f') & 1 != 0) {
                let b = l.dw0(f.get('b'));
                let sh = l.b.i64(32);
                let hi = l.b.lshr(b, sh);
                set_drn(l, hi);
            }
            let flm = if all {
                0xff
            } else if w {
                0
            } else {
                f.get('f')
            };
            let mut m = 0u32;
            for i in 0..8 {
                if flm & (0x80 >> i) != 0 {
                    m |= 0xf000_0000 >> (4 * i);
                }
            }
            let b = l.dw0(f.get('b'));
            let b = l.low32(b);
            let mk = l.b.i32(m);
            let nb = l.b.and(b, mk);
            let nk = l.b.i32(!m);
            let keep = l.b.and(cur, nk);
            l.b.or(keep, nb)
        }
        "mtfsfi" if f.bit('W') => {
            if !l.mode.bits64 {
                return Err(Reserved);
            }
            // Field BF of the upper word: DRN in field 7, the rest reserved.
            if f.get('f') == 7 {
                let u = l.k(f.get('u') as u64);
                set_drn(l, u);
            }
            cur
        }
        "mtfsfi" => {
            let sh = 4 * (7 - f.get('f'));
            let nk = l.b.i32(!(0xf << sh));
            let keep = l.b.and(cur, nk);
            let v = l.b.i32(f.get('u') << sh);
            l.b.or(keep, v)
        }
        "mtfsb0" | "mtfsb1" => {
            let bit = 1u32 << (31 - f.get('d'));
            if f.name() == "mtfsb0" {
                let k = l.b.i32(!bit);
                l.b.and(cur, k)
            } else {
                let k = l.b.i32(bit);
                l.b.or(cur, k)
            }
        }
        _ => return Err(Reserved),
    };
    // VX is not written but summarises the invalid-operation bits (VXSNAN..VXVC,
    // VXSOFT, VXSQRT, VXCVI): glibc's feclearexcept clears those and leaves VX to the
    // hardware.
    let sub = l.b.i32(0x01f8_0700);
    let sub = l.b.and(new, sub);
    let zero = l.b.i32(0);
    let any = l.b.icmp(IntCC::Ne, sub, zero);
    let vx = l.b.i32(1 << 29);
    let vx = l.b.select(any, vx, zero);
    let nvx = l.b.i32(!(1 << 29));
    let new = l.b.and(new, nvx);
    let new = l.b.or(new, vx);
    l.b.set_slot(slot, new);
    let w = l.b.zext(new, Type::I64);
    l.b.call(helpers().fpscr_write, &[w]);
    l.record_fp(f);
    Ok(())
}

// ---------------------------------------------------------------------------------------
// VMX.
// ---------------------------------------------------------------------------------------

impl Lifter<'_, '_> {
    /// A 16-byte vector load in the element order of `lvx` (mode byte order).
    fn load_v(&mut self, ea: Value) -> Value {
        self.b.load(Type::V128, self.mem(16), ea)
    }
    fn store_v(&mut self, ea: Value, v: Value) {
        let mem = self.mem(16);
        self.b.store(mem, ea, v);
    }
    fn align(&mut self, ea: Value, n: u64) -> Value {
        let m = self.k(!(n - 1));
        self.b.and(ea, m)
    }
    /// Swap the doublewords of a vector.
    fn swap_dw(&mut self, v: Value) -> Value {
        let x = self.b.convert(Opcode::Bitcast, v, Type::I128);
        let k = self.b.iconst(Type::I128, 64);
        let r = self.b.op(Opcode::Rotl, &[x, k]);
        self.b.convert(Opcode::Bitcast, r, Type::V128)
    }
    /// Reverse the order of the words of a vector.
    fn reverse_words(&mut self, v: Value) -> Value {
        let mut out = self.b.vconst(0);
        for i in 0..4 {
            let w = self.b.vextract(VecShape::I32x4, v, i);
            out = self.b.vinsert(VecShape::I32x4, out, w, 3 - i);
        }
        out
    }
}

/// lvx/stvx (and the LRU-hint forms), lve*x/stve*x, lvsl/lvsr.
pub fn vmx_ldst(l: &mut Lifter, f: &Fields) -> LiftResult {
    let name = f.name();
    let vt = 32 + f.get('d');
    let ea = l.ea_x(f.get('a'), f.get('b'));
    match name {
        "lvx" | "lvxl" | "lvebx" | "lvehx" | "lvewx" => {
            // The element loads may fill the rest of the register with anything: the
            // whole aligned quadword is what they name.
            let a = l.align(ea, 16);
            let v = l.load_v(a);
            l.set_vs(vt, v);
        }
        "stvx" | "stvxl" => {
            let a = l.align(ea, 16);
            let v = l.vs(vt);
            l.store_v(a, v);
        }
        "stvebx" | "stvehx" | "stvewx" => {
            let size: u64 = match name {
                "stvebx" => 1,
                "stvehx" => 2,
                _ => 4,
            };
            let a = l.align(ea, size);
            let off = l.k(15 & !(size - 1));
            let off = l.b.and(a, off);
            // The memory byte at offset `off` of the quadword is value bits 8*off (LE)
            // or 8*(15-off) (BE) of the register.
            let sh = if l.mode.big_endian {
                let k = l.k(16 - size);
                l.b.sub(k, off)
            } else {
                off
            };
            let eight = l.k(8);
            let sh = l.b.op(Opcode::Mul, &[sh, eight]);
            let sh = l.b.zext(sh, Type::I128);
            let v = l.vs(vt);
            let x = l.b.convert(Opcode::Bitcast, v, Type::I128);
            let x = l.b.lshr(x, sh);
            let t = Type::int_of_bits(8 * size as u32).expect("size");
            let x = l.b.trunc(x, t);
            let mem = l.mem(size as u8);
            l.b.store(mem, a, x);
        }
        "lvsl" | "lvsr" => {
            let fifteen = l.k(15);
            let sh = l.b.and(ea, fifteen);
            let sh = l.b.trunc(sh, Type::I8);
            let splat = l.b.vsplat(VecShape::I8x16, sh);
            // ISA byte i (value byte 15 - i) holds sh + i (lvsl) or 16 - sh + i (lvsr).
            let base: u128 = (0..16u128).fold(0, |acc, i| {
                let byte = if name == "lvsl" { i } else { 16 + i };
                acc | byte << (8 * (15 - i))
            });
            let base = l.b.vconst(base);
            let op = if name == "lvsl" { Opcode::Vadd } else { Opcode::Vsub };
            let v = l.b.vlanes(op, VecShape::I8x16, &[base, splat]);
            l.set_vs(vt, v);
        }
        _ => return Err(Reserved),
    }
    Ok(())
}

fn vsx_t(f: &Fields) -> u32 {
    f.get('T') << 5 | f.get('d')
}

/// VSX loads and stores (X-form, TX in bit 31).
pub fn vsx_ldst(l: &mut Lifter, f: &Fields) -> LiftResult {
    let t = vsx_t(f);
    let ea = l.ea_x(f.get('a'), f.get('b'));
    let be = l.mode.big_endian;
    match f.name() {
        "lxvd2x" => {
            let v = l.load_v(ea);
            let v = if be { v } else { l.swap_dw(v) };
            l.set_vs(t, v);
        }
        "stxvd2x" => {
            let v = l.vs(t);
            let v = if be { v } else { l.swap_dw(v) };
            l.store_v(ea, v);
        }
        "lxvw4x" => {
            let v = l.load_v(ea);
            let v = if be { v } else { l.reverse_words(v) };
            l.set_vs(t, v);
        }
        "stxvw4x" => {
            let v = l.vs(t);
            let v = if be { v } else { l.reverse_words(v) };
            l.store_v(ea, v);
        }
        "lxvx" => {
            let v = l.load_v(ea);
            l.set_vs(t, v);
        }
        "stxvx" => {
            let v = l.vs(t);
            l.store_v(ea, v);
        }
        "lxsdx" => {
            let d = l.b.load(Type::I64, l.mem(8), ea);
            l.set_dw0(t, d);
        }
        "stxsdx" => {
            let d = l.dw0(t);
            let mem = l.mem(8);
            l.b.store(mem, ea, d);
        }
        "lxvdsx" => {
            let d = l.b.load(Type::I64, l.mem(8), ea);
            let v = l.b.vsplat(VecShape::I64x2, d);
            l.set_vs(t, v);
        }
        "lxsiwzx" | "lxsiwax" => {
            let mem = l.mem(4);
            let mem = if f.name() == "lxsiwax" { mem.signed() } else { mem };
            let d = l.b.load(Type::I64, mem, ea);
            l.set_dw0(t, d);
        }
        "stxsiwx" => {
            let d = l.dw0(t);
            let w = l.low32(d);
            let mem = l.mem(4);
            l.b.store(mem, ea, w);
        }
        "lxsspx" => {
            let w = l.b.load(Type::I32, l.mem(4), ea);
            let s = l.b.convert(Opcode::Bitcast, w, Type::F32);
            let d = l.b.convert(Opcode::Fpromote, s, Type::F64);
            let d = l.b.convert(Opcode::Bitcast, d, Type::I64);
            l.set_dw0(t, d);
        }
        "stxsspx" => {
            let d = l.dw0(t);
            let d = l.b.convert(Opcode::Bitcast, d, Type::F64);
            let s = l.b.convert(Opcode::Fdemote, d, Type::F32);
            let mem = l.mem(4);
            l.b.store(mem, ea, s);
        }
        _ => return Err(Reserved),
    }
    Ok(())
}

/// Moves between GPRs and VSRs (the S/T register is the VSR, RA the GPR).
pub fn vsx_move(l: &mut Lifter, f: &Fields) -> LiftResult {
    let x = vsx_t(f);
    let ra = f.get('a');
    match f.name() {
        "mfvsrd" => {
            let d = l.dw0(x);
            l.set_gpr(ra, d);
        }
        "mfvsrwz" => {
            let d = l.dw0(x);
            let w = l.zext32(d);
            l.set_gpr(ra, w);
        }
        "mfvsrld" => {
            let v = l.vs(x);
            let d = l.b.vextract(VecShape::I64x2, v, D1);
            l.set_gpr(ra, d);
        }
        "mtvsrd" | "mtvsrwa" | "mtvsrwz" => {
            let g = l.gpr(ra);
            let v = match f.name() {
                "mtvsrd" => g,
                "mtvsrwa" => l.sext32(g),
                _ => l.zext32(g),
            };
            // Doubleword 1 is undefined; QEMU leaves it unchanged.
            l.set_dw0(x, v);
        }
        "mtvsrdd" => {
            let hi = l.ra0(ra);
            let lo = l.gpr(f.get('b'));
            let v = l.b.vconst(0);
            let v = l.b.vinsert(VecShape::I64x2, v, hi, D0);
            let v = l.b.vinsert(VecShape::I64x2, v, lo, D1);
            l.set_vs(x, v);
        }
        "mtvsrws" => {
            let g = l.gpr(ra);
            let w = l.low32(g);
            let v = l.b.vsplat(VecShape::I32x4, w);
            l.set_vs(x, v);
        }
        _ => return Err(Reserved),
    }
    Ok(())
}

/// VX-form binary operations.
pub fn vmx_binary(l: &mut Lifter, f: &Fields) -> LiftResult {
    let name = f.name();
    let a = if f.has('a') { 32 + f.get('a') } else { 32 };
    let (t, b) = (32 + f.get('d'), 32 + f.get('b'));
    let shape = |c: char| match c {
        'b' => VecShape::I8x16,
        'h' => VecShape::I16x8,
        'w' => VecShape::I32x4,
        _ => VecShape::I64x2,
    };
    let size = |c: char| match c {
        'b' => 1,
        'h' => 2,
        'w' => 4,
        _ => 8,
    };
    let bitwise = |l: &mut Lifter, op: &str| {
        let (x, y) = (l.vs(a), l.vs(b));
        let r = match op {
            "vand" => l.b.op(Opcode::Vand, &[x, y]),
            "vor" => l.b.op(Opcode::Vor, &[x, y]),
            "vxor" => l.b.op(Opcode::Vxor, &[x, y]),
            "vandc" => {
                let ny = l.b.op(Opcode::Vnot, &[y]);
                l.b.op(Opcode::Vand, &[x, ny])
            }
            "vorc" => {
                let ny = l.b.op(Opcode::Vnot, &[y]);
                l.b.op(Opcode::Vor, &[x, ny])
            }
            "vnor" => {
                let r = l.b.op(Opcode::Vor, &[x, y]);
                l.b.op(Opcode::Vnot, &[r])
            }
            "vnand" => {
                let r = l.b.op(Opcode::Vand, &[x, y]);
                l.b.op(Opcode::Vnot, &[r])
            }
            _ => {
                let r = l.b.op(Opcode::Vxor, &[x, y]);
                l.b.op(Opcode::Vnot, &[r])
            }
        };
        l.set_vs(t, r);
    };
    match name {
        "vand" | "vor" | "vxor" | "vandc" | "vorc" | "vnor" | "vnand" | "veqv" => bitwise(l, name),
        "vadduqm" | "vsubuqm" => {
            let (x, y) = (l.vs(a), l.vs(b));
            let x = l.b.convert(Opcode::Bitcast, x, Type::I128);
            let y = l.b.convert(Opcode::Bitcast, y, Type::I128);
            let r = if name == "vadduqm" { l.b.add(x, y) } else { l.b.sub(x, y) };
            let r = l.b.convert(Opcode::Bitcast, r, Type::V128);
            l.set_vs(t, r);
        }
        _ if name.len() == 7 && (name.starts_with("vadd") || name.starts_with("vsub")) && name.ends_with('s') => {
            // vadd[us][bhw]s / vsub[us][bhw]s: saturating (VSCR.SAT is not modelled).
            let c = name.chars().nth(5).ok_or(Reserved)?;
            let imm = size(c)
                | if name.as_bytes()[4] == b's' { 0x10 } else { 0 }
                | if name.starts_with("vsub") { 0x20 } else { 0 };
            l.vec_call(VecOp::Vaddsat, t, a, b, 0, imm);
        }
        "vmulouw" | "vmuleuw" | "vmulosw" | "vmulesw" => {
            let imm = if name.starts_with("vmulo") { 0x10 } else { 0 } | if name.ends_with("sw") { 0x20 } else { 0 };
            l.vec_call(VecOp::Vmulw, t, a, b, 0, imm);
        }
        "vslb" | "vslh" | "vslw" | "vsld" | "vsrb" | "vsrh" | "vsrw" | "vsrd" | "vsraw" | "vsrad" => {
            // Each element shifted by the low bits of the same element of b.
            let c = name.chars().last().ok_or(Reserved)?;
            let op = if name.starts_with("vsl") {
                Opcode::Vshlv
            } else if name.starts_with("vsra") {
                Opcode::Vsshrv
            } else {
                Opcode::Vushrv
            };
            let (x, y) = (l.vs(a), l.vs(b));
            let r = l.b.vlanes(op, shape(c), &[x, y]);
            l.set_vs(t, r);
        }
        "vmrghb" | "vmrghh" | "vmrghw" | "vmrglb" | "vmrglh" | "vmrglw" => {
            let c = name.chars().last().ok_or(Reserved)?;
            l.merge(t, a, b, size(c) as usize, name.starts_with("vmrgh"));
        }
        _ if name.starts_with("vaddu") || name.starts_with("vsubu") => {
            let c = name.chars().nth(5).ok_or(Reserved)?;
            let (x, y) = (l.vs(a), l.vs(b));
            let op = if name.starts_with("vadd") { Opcode::Vadd } else { Opcode::Vsub };
            let r = l.b.vlanes(op, shape(c), &[x, y]);
            l.set_vs(t, r);
        }
        _ => {
            let (op, c) = match name {
                "vminub" | "vminuw" => (VecOp::Vminu, name.chars().last()),
                "vmaxub" | "vmaxuw" => (VecOp::Vmaxu, name.chars().last()),
                "vminsw" => (VecOp::Vmins, Some('w')),
                "vmaxsw" => (VecOp::Vmaxs, Some('w')),
                "vslo" => (VecOp::Vslo, Some('b')),
                "vsro" => (VecOp::Vsro, Some('b')),
                "vpkudum" => (VecOp::Vpku, Some('d')),
                "vpkuwum" => (VecOp::Vpku, Some('w')),
                "vpkuhum" => (VecOp::Vpku, Some('h')),
                "vgbbd" => (VecOp::Vgbbd, Some('b')),
                "vsl" => (VecOp::VslBits, Some('b')),
                "vpopcntb" | "vpopcnth" | "vpopcntw" | "vpopcntd" => (VecOp::Vpopcnt, name.chars().last()),
                "vclzb" | "vclzh" | "vclzw" | "vclzd" => (VecOp::Vclz, name.chars().last()),
                "vmuluwm" => (VecOp::Vmuluwm, Some('w')),
                "vsumsws" => (VecOp::Vsumsws, Some('w')),
                "vsr" => (VecOp::VsrBits, Some('b')),
                "vupkhsb" | "vupkhsh" | "vupkhsw" => (VecOp::Vupkh, name.chars().last()),
                "vupklsb" | "vupklsh" | "vupklsw" => (VecOp::Vupkl, name.chars().last()),
                "vbpermq" => (VecOp::Vbpermq, Some('b')),
                _ => return Err(Reserved),
            };
            let s = size(c.ok_or(Reserved)?);
            l.vec_call(op, t, a, b, 0, s);
        }
    }
    Ok(())
}

/// vspltis[bhw] (immediate) and vsplt[bhw] (element).
pub fn vmx_splat(l: &mut Lifter, f: &Fields) -> LiftResult {
    let name = f.name();
    let t = 32 + f.get('d');
    let c = name.chars().last().ok_or(Reserved)?;
    let (shape, size) = match c {
        'b' => (VecShape::I8x16, 1u32),
        'h' => (VecShape::I16x8, 2),
        _ => (VecShape::I32x4, 4),
    };
    if name.starts_with("vspltis") {
        let v = l.b.iconst(shape.lane_type(), f.signed('i') as u128);
        let r = l.b.vsplat(shape, v);
        l.set_vs(t, r);
    } else {
        let u = f.get('u');
        check(u < 16 / size)?;
        l.splat_elem(t, 32 + f.get('b'), size as usize, u as usize);
    }
    Ok(())
}

/// vcmp* (Rc: CR6 = all true, 0, none true, 0).
pub fn vmx_cmp(l: &mut Lifter, f: &Fields) -> LiftResult {
    let name = f.name();
    let (op, rest) = if let Some(r) = name.strip_prefix("vcmpequ") {
        (VecOp::Vcmpeq, r)
    } else if let Some(r) = name.strip_prefix("vcmpgtu") {
        (VecOp::Vcmpgtu, r)
    } else if let Some(r) = name.strip_prefix("vcmpgts") {
        (VecOp::Vcmpgts, r)
    } else if let Some(r) = name.strip_prefix("vcmpnez") {
        (VecOp::Vcmpnez, r)
    } else if let Some(r) = name.strip_prefix("vcmpne") {
        (VecOp::Vcmpne, r)
    } else {
        return Err(Reserved);
    };
    let size = match rest {
        "b" => 1,
        "h" => 2,
        "w" => 4,
        _ => 8,
    };
    let (t, a, b) = (32 + f.get('d'), 32 + f.get('a'), 32 + f.get('b'));
    if op == VecOp::Vcmpeq {
        // The hot one (glibc's string functions): IR lanes, CR6 from the whole result.
        let shape = match size {
            1 => VecShape::I8x16,
            2 => VecShape::I16x8,
            4 => VecShape::I32x4,
            _ => VecShape::I64x2,
        };
        let (x, y) = (l.vs(a), l.vs(b));
        let r = l.b.vlanes(Opcode::Vcmpeq, shape, &[x, y]);
        l.set_vs(t, r);
        if f.bit('R') {
            let bits = l.b.convert(Opcode::Bitcast, r, Type::I128);
            let ones = l.b.iconst(Type::I128, u128::MAX);
            let zero = l.b.iconst(Type::I128, 0);
            let all = l.b.icmp(IntCC::Eq, bits, ones);
            let none = l.b.icmp(IntCC::Eq, bits, zero);
            let f0 = l.b.bool(false);
            l.set_cr_field(6, [all, f0, none, f0]);
        }
        return Ok(());
    }
    let rc = if f.bit('R') { 0x100 } else { 0 };
    l.vec_call(op, t, a, b, 0, size | rc);
    Ok(())
}

/// vperm, vsel, vsldoi.
pub fn vmx_perm(l: &mut Lifter, f: &Fields) -> LiftResult {
    let (t, a, b) = (32 + f.get('d'), 32 + f.get('a'), 32 + f.get('b'));
    match f.name() {
        "vperm" => {
            // Byte i of the result is byte c[i] & 31 of a then b (ISA numbering). In IR
            // numbering that is byte 31 - (c & 31) of b then a: a two-table lookup.
            let (x, y, c) = (l.vs(a), l.vs(b), l.vs(32 + f.get('c')));
            let k = l.b.iconst(Type::I8, 31);
            let k = l.b.vsplat(VecShape::I8x16, k);
            let nc = l.b.op(Opcode::Vnot, &[c]);
            let idx = l.b.op(Opcode::Vand, &[nc, k]);
            let r = l.b.vternary(Opcode::Vtbl2, y, x, idx);
            l.set_vs(t, r);
        }
        "vsel" => l.select(t, a, b, 32 + f.get('c')),
        "vmsumubm" => l.vec_call(VecOp::Vmsum, t, a, b, 32 + f.get('c'), 0),
        "vmsummbm" => l.vec_call(VecOp::Vmsum, t, a, b, 32 + f.get('c'), 1),
        "vmsumuhm" => l.vec_call(VecOp::Vmsum, t, a, b, 32 + f.get('c'), 2),
        "vmsumshm" => l.vec_call(VecOp::Vmsum, t, a, b, 32 + f.get('c'), 3),
        _ => {
            let sh = f.get('s') as usize;
            l.permute(t, a, b, |i| i + sh);
        }
    }
    Ok(())
}

/// mfvscr/mtvscr.
pub fn vmx_vscr(l: &mut Lifter, f: &Fields) -> LiftResult {
    if f.name() == "mfvscr" {
        let v = l.b.get_slot(l.regs.vscr);
        let v = l.b.zext(v, Type::I64);
        let z = l.b.vconst(0);
        let z = l.b.vinsert(VecShape::I64x2, z, v, D1);
        l.set_vs(32 + f.get('d'), z);
    } else {
        let v = l.vs(32 + f.get('b'));
        let w = l.b.vextract(VecShape::I32x4, v, 0);
        l.b.set_slot(l.regs.vscr, w);
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------
// VSX.
// ---------------------------------------------------------------------------------------

/// XX3-form: logical ops, merges, permutes, scalar and vector arithmetic.
pub fn vsx_xx3(l: &mut Lifter, f: &Fields) -> LiftResult {
    let name = f.name();
    let t = f.get('T') << 5 | f.get('d');
    let a = f.get('P') << 5 | f.get('a');
    let b = f.get('Q') << 5 | f.get('b');
    match name {
        "xxland" | "xxlandc" | "xxlor" | "xxlxor" | "xxlnor" | "xxlorc" | "xxlnand" | "xxleqv" => {
            let (x, y) = (l.vs(a), l.vs(b));
            let r = match name {
                "xxland" => l.b.op(Opcode::Vand, &[x, y]),
                "xxlor" => l.b.op(Opcode::Vor, &[x, y]),
                "xxlxor" => l.b.op(Opcode::Vxor, &[x, y]),
                "xxlandc" => {
                    let ny = l.b.op(Opcode::Vnot, &[y]);
                    l.b.op(Opcode::Vand, &[x, ny])
                }
                "xxlorc" => {
                    let ny = l.b.op(Opcode::Vnot, &[y]);
                    l.b.op(Opcode::Vor, &[x, ny])
                }
                "xxlnor" => {
                    let r = l.b.op(Opcode::Vor, &[x, y]);
                    l.b.op(Opcode::Vnot, &[r])
                }
                "xxlnand" => {
                    let r = l.b.op(Opcode::Vand, &[x, y]);
                    l.b.op(Opcode::Vnot, &[r])
                }
                _ => {
                    let r = l.b.op(Opcode::Vxor, &[x, y]);
                    l.b.op(Opcode::Vnot, &[r])
                }
            };
            l.set_vs(t, r);
        }
        "xxsel" => l.select(t, a, b, f.get('W') << 5 | f.get('c')),
        "xxpermdi" => {
            let dm = f.get('h') as usize;
            l.permute(t, a, b, |i| if i < 8 { (dm >> 1 & 1) * 8 + i } else { 16 + (dm & 1) * 8 + i - 8 });
        }
        "xxsldwi" => {
            let sh = 4 * (f.get('h') as usize & 3);
            l.permute(t, a, b, |i| i + sh);
        }
        "xxmrghw" => l.merge(t, a, b, 4, true),
        "xxmrglw" => l.merge(t, a, b, 4, false),
        _ if name.starts_with("xvmadd") || name.starts_with("xvmsub") => {
            // xv{madd,msub}{a,m}{sp,dp}: a-form T = A * B + T, m-form T = A * T + B
            // (msub subtracts the addend).
            let (shape, ft, n) =
                if name.ends_with("dp") { (VecShape::I64x2, Type::F64, 2) } else { (VecShape::I32x4, Type::F32, 4) };
            let aform = name.as_bytes()[6] == b'a';
            let sub = name.starts_with("xvmsub");
            let (x, y, z) = (l.vs(a), l.vs(b), l.vs(t));
            let mut r = l.b.vconst(0);
            for i in 0..n {
                let get = |l: &mut Lifter, v: Value| {
                    let e = l.b.vextract(shape, v, i);
                    l.b.convert(Opcode::Bitcast, e, ft)
                };
                let (xa, xb, xt) = (get(l, x), get(l, y), get(l, z));
                let (m2, add) = if aform { (xb, xt) } else { (xt, xb) };
                let add = if sub { l.b.op(Opcode::Fneg, &[add]) } else { add };
                let v = l.b.op(Opcode::Fma, &[xa, m2, add]);
                let vi = l.b.convert(Opcode::Bitcast, v, shape.lane_type());
                r = l.b.vinsert(shape, r, vi, i);
            }
            l.set_vs(t, r);
        }
        "xvadddp" | "xvsubdp" | "xvmuldp" | "xvdivdp" | "xvaddsp" | "xvsubsp" | "xvmulsp" | "xvdivsp" => {
            let (shape, ft, n) =
                if name.ends_with("dp") { (VecShape::I64x2, Type::F64, 2) } else { (VecShape::I32x4, Type::F32, 4) };
            let op = match &name[2..5] {
                "add" => Opcode::Fadd,
                "sub" => Opcode::Fsub,
                "mul" => Opcode::Fmul,
                _ => Opcode::Fdiv,
            };
            let (x, y) = (l.vs(a), l.vs(b));
            let mut r = l.b.vconst(0);
            for i in 0..n {
                let xi = l.b.vextract(shape, x, i);
                let yi = l.b.vextract(shape, y, i);
                let xf = l.b.convert(Opcode::Bitcast, xi, ft);
                let yf = l.b.convert(Opcode::Bitcast, yi, ft);
                let z = l.b.op(op, &[xf, yf]);
                let zi = l.b.convert(Opcode::Bitcast, z, shape.lane_type());
                r = l.b.vinsert(shape, r, zi, i);
            }
            l.set_vs(t, r);
        }
        _ => {
            // Scalar double-precision (and single-precision results in double format).
            let single = name.ends_with("sp");
            let xa = l.dw0(a);
            let xa = l.b.convert(Opcode::Bitcast, xa, Type::F64);
            let xb = l.dw0(b);
            let xb = l.b.convert(Opcode::Bitcast, xb, Type::F64);
            let base = &name[2..name.len() - 2];
            let r = match base {
                "add" => l.b.op(Opcode::Fadd, &[xa, xb]),
                "sub" => l.b.op(Opcode::Fsub, &[xa, xb]),
                "mul" => l.b.op(Opcode::Fmul, &[xa, xb]),
                "div" => l.b.op(Opcode::Fdiv, &[xa, xb]),
                "max" | "min" => {
                    // xsmaxdp/xsmindp: a NaN operand loses to a number.
                    let op = if base == "max" { FloatCC::Gt } else { FloatCC::Lt };
                    let c = l.b.fcmp(op, xa, xb);
                    let bnan = l.b.fcmp(FloatCC::Uno, xb, xb);
                    let c = l.b.or(c, bnan);
                    l.b.select(c, xa, xb)
                }
                "cpsgn" => {
                    let ia = l.dw0(a);
                    let ib = l.dw0(b);
                    let sm = l.k(1 << 63);
                    let s = l.b.and(ia, sm);
                    let nm = l.k(!(1 << 63));
                    let m = l.b.and(ib, nm);
                    let r = l.b.or(s, m);
                    l.b.convert(Opcode::Bitcast, r, Type::F64)
                }
                _ => {
                    // xs[n]m{add,sub}{a,m}dp: a-form T = A * B + T, m-form T = A * T + B
                    // (sub subtracts the addend, n negates the result).
                    let xt = l.dw0(t);
                    let xt = l.b.convert(Opcode::Bitcast, xt, Type::F64);
                    let (m1, m2, add) = if base.ends_with('a') { (xa, xb, xt) } else { (xa, xt, xb) };
                    let sub = base.contains("sub");
                    let add = if sub { l.b.op(Opcode::Fneg, &[add]) } else { add };
                    let r = l.fma(single, m1, m2, add);
                    if base.starts_with("nm") {
                        l.b.op(Opcode::Fneg, &[r])
                    } else {
                        r
                    }
                }
            };
            let r = if single { l.round_single(r) } else { r };
            let r = l.b.convert(Opcode::Bitcast, r, Type::I64);
            l.set_dw0(t, r);
        }
    }
    Ok(())
}

/// xscmpudp/xscmpodp.
pub fn vsx_cmp(l: &mut Lifter, f: &Fields) -> LiftResult {
    let a = f.get('P') << 5 | f.get('a');
    let b = f.get('Q') << 5 | f.get('b');
    let xa = l.dw0(a);
    let xa = l.b.convert(Opcode::Bitcast, xa, Type::F64);
    let xb = l.dw0(b);
    let xb = l.b.convert(Opcode::Bitcast, xb, Type::F64);
    let lt = l.b.fcmp(FloatCC::Lt, xa, xb);
    let gt = l.b.fcmp(FloatCC::Gt, xa, xb);
    let eq = l.b.fcmp(FloatCC::Eq, xa, xb);
    let un = l.b.fcmp(FloatCC::Uno, xa, xb);
    l.set_cr_field(f.get('f'), [lt, gt, eq, un]);
    Ok(())
}

/// XX2-form: conversions, scalar one-operand ops, splats.
pub fn vsx_xx2(l: &mut Lifter, f: &Fields) -> LiftResult {
    let name = f.name();
    let t = f.get('T') << 5 | f.get('d');
    if name == "xxspltib" {
        let v = l.b.iconst(Type::I8, f.get('u') as u128);
        let r = l.b.vsplat(VecShape::I8x16, v);
        l.set_vs(t, r);
        return Ok(());
    }
    let b = f.get('Q') << 5 | f.get('b');
    if name == "xxspltw" {
        l.splat_elem(t, b, 4, f.get('u') as usize & 3);
        return Ok(());
    }
    if let Some(rest) = name.strip_prefix("xv").filter(|r| r.starts_with("neg") || r.contains("abs")) {
        // Sign-bit operations on every lane: xor (neg), and-not (abs), or (nabs).
        let sign: u128 =
            if rest.ends_with("dp") { 1 << 63 | 1 << 127 } else { 0x8000_0000_8000_0000_8000_0000_8000_0000 };
        let v = l.vs(b);
        let r = if rest.starts_with("neg") {
            let m = l.b.vconst(sign);
            l.b.op(Opcode::Vxor, &[v, m])
        } else if rest.starts_with("abs") {
            let m = l.b.vconst(!sign);
            l.b.op(Opcode::Vand, &[v, m])
        } else {
            let m = l.b.vconst(sign);
            l.b.op(Opcode::Vor, &[v, m])
        };
        l.set_vs(t, r);
        return Ok(());
    }
    let cvw = ["xvcvsxwsp", "xvcvuxwsp", "xvcvspsxws", "xvcvspuxws"];
    if let Some(k) = cvw.iter().position(|&n| n == name) {
        l.vec_call(VecOp::Xvcvw, t, 0, b, 0, k as u32);
        return Ok(());
    }
    let ib = l.dw0(b);
    let xb = l.b.convert(Opcode::Bitcast, ib, Type::F64);
    let r: Value = match name {
        "xscvdpsp" | "xscvdpspn" => {
            // The single goes to words 0 and 1 (POWER8 and QEMU copy it; gcc reads word 1
            // with mfvsrwz).
            let s = l.b.convert(Opcode::Fdemote, xb, Type::F32);
            let w = l.b.convert(Opcode::Bitcast, s, Type::I32);
            let v = l.vs(t);
            let v = l.b.vinsert(VecShape::I32x4, v, w, 3);
            let v = l.b.vinsert(VecShape::I32x4, v, w, 2);
            l.set_vs(t, v);
            return Ok(());
        }
        "xscvspdp" | "xscvspdpn" => {
            let v = l.vs(b);
            let w = l.b.vextract(VecShape::I32x4, v, 3);
            let s = l.b.convert(Opcode::Bitcast, w, Type::F32);
            let d = l.b.convert(Opcode::Fpromote, s, Type::F64);
            l.b.convert(Opcode::Bitcast, d, Type::I64)
        }
        "xsabsdp" | "xsnabsdp" | "xsnegdp" => {
            let m = l.k(1 << 63);
            match name {
                "xsabsdp" => {
                    let nm = l.k(!(1 << 63));
                    l.b.and(ib, nm)
                }
                "xsnabsdp" => l.b.or(ib, m),
                _ => l.b.xor(ib, m),
            }
        }
        "xssqrtdp" => {
            let r = l.b.op(Opcode::Fsqrt, &[xb]);
            l.b.convert(Opcode::Bitcast, r, Type::I64)
        }
        "xsrsp" => {
            let r = l.round_single(xb);
            l.b.convert(Opcode::Bitcast, r, Type::I64)
        }
        "xscvdpsxds" | "xscvdpuxds" | "xscvdpsxws" | "xscvdpuxws" => {
            let tr = l.b.fround(RoundMode::Trunc, xb);
            let unsigned = name.contains('u');
            let word = name.ends_with("ws");
            let (ty, op) = match (word, unsigned) {
                (true, false) => (Type::I32, Opcode::FcvtToSint),
                (true, true) => (Type::I32, Opcode::FcvtToUint),
                (false, false) => (Type::I64, Opcode::FcvtToSint),
                (false, true) => (Type::I64, Opcode::FcvtToUint),
            };
            let v = l.b.convert(op, tr, ty);
            let v = if word {
                if unsigned {
                    l.b.zext(v, Type::I64)
                } else {
                    l.b.sext(v, Type::I64)
                }
            } else {
                v
            };
            let nanval = match (word, unsigned) {
                (true, false) => 0x8000_0000u64,
                (false, false) => 1 << 63,
                _ => 0,
            };
            let nan = l.b.fcmp(FloatCC::Uno, xb, xb);
            let nv = l.k(nanval);
            l.b.select(nan, nv, v)
        }
        "xscvsxddp" | "xscvuxddp" | "xscvsxdsp" | "xscvuxdsp" => {
            let op = if name.contains('u') { Opcode::FcvtFromUint } else { Opcode::FcvtFromSint };
            let d = if name.ends_with("sp") {
                let s = l.b.convert(op, ib, Type::F32);
                l.b.convert(Opcode::Fpromote, s, Type::F64)
            } else {
                l.b.convert(op, ib, Type::F64)
            };
            l.b.convert(Opcode::Bitcast, d, Type::I64)
        }
        "xsrdpi" | "xsrdpiz" | "xsrdpip" | "xsrdpim" => {
            let r = match name {
                "xsrdpiz" => l.b.fround(RoundMode::Trunc, xb),
                "xsrdpip" => l.b.fround(RoundMode::Ceil, xb),
                "xsrdpim" => l.b.fround(RoundMode::Floor, xb),
                _ => return Err(Reserved), // ties-away rounding: see frin
            };
            l.b.convert(Opcode::Bitcast, r, Type::I64)
        }
        _ => return Err(Reserved),
    };
    l.set_dw0(t, r);
    Ok(())
}
