//! A64 lifters: one small function per table entry, built from shared helpers.
//!
//! Conventions (ARM ARM, "Register 31"): [`Lifter::x`] reads register 31 as XZR/WZR and
//! [`Lifter::x_sp`] as SP; [`Lifter::set_x`] discards writes to register 31 and
//! [`Lifter::set_x_sp`] writes SP. W-form results are computed in i32 and zero-extended into
//! the X register. A lifter that finds a reserved field value returns [`Reserved`] before
//! emitting any IR; the caller then lifts the word as `exit_trap illegal`.

use super::decode::Fields;
use super::Regs;
use mimic_ir::*;

mod simd2;
pub use simd2::*;

/// The encoding is reserved or unallocated (the lifter emitted nothing).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Reserved;

pub type LiftResult = Result<(), Reserved>;
pub type LiftFn = fn(&mut Lifter<'_, '_>, &Fields) -> LiftResult;

/// State shared by the lifters while one instruction is lifted.
pub struct Lifter<'a, 'r> {
    pub b: &'a mut Builder<'r>,
    pub regs: &'a Regs,
    /// Address of the instruction being lifted.
    pub pc: u64,
    /// Entry pc of the region (a conditional branch back to it stays in the region).
    pub entry: u64,
}

const LE: Endian = Endian::Little;

fn ty(sf: bool) -> Type {
    if sf {
        Type::I64
    } else {
        Type::I32
    }
}

fn datasize(sf: bool) -> u32 {
    if sf {
        64
    } else {
        32
    }
}

fn ones(n: u32) -> u64 {
    if n >= 64 {
        u64::MAX
    } else {
        (1u64 << n) - 1
    }
}

fn check(ok: bool) -> LiftResult {
    if ok {
        Ok(())
    } else {
        Err(Reserved)
    }
}

/// The ARM ARM's `DecodeBitMasks(N, imms, immr, immediate=TRUE)` for a logical immediate:
/// the `datasize`-bit constant, or `None` for a reserved encoding.
pub fn decode_bit_masks(n: u32, imms: u32, immr: u32, datasize: u32) -> Option<u64> {
    let combined = (n << 6) | (!imms & 0x3f);
    if combined == 0 {
        return None;
    }
    let len = 31 - combined.leading_zeros();
    if len < 1 || (1 << len) > datasize {
        return None;
    }
    let levels = ones(len) as u32;
    if imms & levels == levels {
        return None;
    }
    let s = imms & levels;
    let r = immr & levels;
    let esize = 1u32 << len;
    let welem = ones(s + 1);
    let elem = if r == 0 { welem } else { ((welem >> r) | (welem << (esize - r))) & ones(esize) };
    let mut out = 0u64;
    let mut i = 0;
    while i < datasize {
        out |= elem << i;
        i += esize;
    }
    Some(out & ones(datasize))
}

impl Lifter<'_, '_> {
    /// Constant of the data size.
    pub fn k(&mut self, sf: bool, v: u64) -> Value {
        self.b.iconst(ty(sf), v as u128)
    }
    /// Register `r` with 31 as the zero register, at the data size.
    pub fn x(&mut self, r: u32, sf: bool) -> Value {
        if r == 31 {
            return self.k(sf, 0);
        }
        let v = self.b.get_slot(self.regs.x[r as usize]);
        if sf {
            v
        } else {
            self.b.trunc(v, Type::I32)
        }
    }
    /// Register `r` with 31 as SP, at the data size.
    pub fn x_sp(&mut self, r: u32, sf: bool) -> Value {
        let slot = if r == 31 { self.regs.sp } else { self.regs.x[r as usize] };
        let v = self.b.get_slot(slot);
        if sf {
            v
        } else {
            self.b.trunc(v, Type::I32)
        }
    }
    fn widen(&mut self, v: Value) -> Value {
        if self.b.region.ty(v) == Type::I64 {
            v
        } else {
            self.b.zext(v, Type::I64)
        }
    }
    /// Write register `r` (31 is the zero register: the write is discarded).
    pub fn set_x(&mut self, r: u32, v: Value) {
        if r != 31 {
            let v = self.widen(v);
            self.b.set_slot(self.regs.x[r as usize], v);
        }
    }
    /// Write register `r` (31 is SP).
    pub fn set_x_sp(&mut self, r: u32, v: Value) {
        let v = self.widen(v);
        let slot = if r == 31 { self.regs.sp } else { self.regs.x[r as usize] };
        self.b.set_slot(slot, v);
    }

    pub fn set_nzcv(&mut self, n: Value, z: Value, c: Value, v: Value) {
        let r = self.regs;
        self.b.set_slot(r.n, n);
        self.b.set_slot(r.z, z);
        self.b.set_slot(r.c, c);
        self.b.set_slot(r.v, v);
    }
    /// N and Z of a result.
    fn nz(&mut self, res: Value) -> (Value, Value) {
        let t = self.b.region.ty(res);
        let zero = self.b.iconst(t, 0);
        let n = self.b.icmp(IntCC::Slt, res, zero);
        let z = self.b.icmp(IntCC::Eq, res, zero);
        (n, z)
    }
    /// NZCV of a logical result: C and V cleared.
    pub fn logic_flags(&mut self, res: Value) {
        let (n, z) = self.nz(res);
        let f = self.b.bool(false);
        self.set_nzcv(n, z, f, f);
    }
    /// `x + y` or `x - y`, setting NZCV when asked (ARM's C after a subtraction is NOT borrow).
    pub fn add_sub(&mut self, sub: bool, setflags: bool, x: Value, y: Value) -> Value {
        let res = if sub { self.b.sub(x, y) } else { self.b.add(x, y) };
        if setflags {
            let [n, z, c, v] = self.add_sub_flags(sub, x, y, res);
            self.set_nzcv(n, z, c, v);
        }
        res
    }
    /// NZCV of `res = x + y` or `res = x - y`.
    pub fn add_sub_flags(&mut self, sub: bool, x: Value, y: Value, res: Value) -> [Value; 4] {
        let (n, z) = self.nz(res);
        let (c, v) = if sub {
            let borrow = self.b.flag(Opcode::SubBorrow, &[x, y]);
            (self.not1(borrow), self.b.flag(Opcode::SubOverflow, &[x, y]))
        } else {
            (self.b.flag(Opcode::AddCarry, &[x, y]), self.b.flag(Opcode::AddOverflow, &[x, y]))
        };
        [n, z, c, v]
    }
    /// Logical NOT of an i1.
    pub fn not1(&mut self, x: Value) -> Value {
        let t = self.b.bool(true);
        self.b.xor(x, t)
    }
    /// `ConditionHolds(cond)` as an i1.
    pub fn cond(&mut self, cond: u32) -> Value {
        let r = self.regs;
        let base = match cond >> 1 {
            0 => self.b.get_slot(r.z),
            1 => self.b.get_slot(r.c),
            2 => self.b.get_slot(r.n),
            3 => self.b.get_slot(r.v),
            4 => {
                // HI: C == 1 && Z == 0.
                let c = self.b.get_slot(r.c);
                let z = self.b.get_slot(r.z);
                let f = self.b.bool(false);
                let nz = self.b.icmp(IntCC::Eq, z, f);
                self.b.and(c, nz)
            }
            5 | 6 => {
                // GE: N == V; GT: Z == 0 && N == V.
                let n = self.b.get_slot(r.n);
                let v = self.b.get_slot(r.v);
                let ge = self.b.icmp(IntCC::Eq, n, v);
                if cond >> 1 == 5 {
                    ge
                } else {
                    let z = self.b.get_slot(r.z);
                    let f = self.b.bool(false);
                    let nz = self.b.icmp(IntCC::Eq, z, f);
                    self.b.and(ge, nz)
                }
            }
            _ => return self.b.bool(true),
        };
        if cond & 1 == 1 {
            let t = self.b.bool(true);
            self.b.xor(base, t)
        } else {
            base
        }
    }
    /// `ShiftReg`: shift type 0 LSL, 1 LSR, 2 ASR, 3 ROR by a constant amount.
    pub fn shift(&mut self, kind: u32, v: Value, amount: u32) -> Value {
        if amount == 0 {
            return v;
        }
        let t = self.b.region.ty(v);
        let a = self.b.iconst(t, amount as u128);
        let op = [Opcode::Shl, Opcode::Lshr, Opcode::Ashr, Opcode::Rotr][kind as usize];
        self.b.op(op, &[v, a])
    }
    /// `ExtendReg`: register `m` extended by `option` (UXTB..SXTX) and shifted left.
    pub fn extend_reg(&mut self, m: u32, option: u32, shift: u32, sf: bool) -> Value {
        let v = self.x(m, sf);
        let from = [Type::I8, Type::I16, Type::I32, Type::I64][(option & 3) as usize];
        let to = ty(sf);
        let v = if from.bits() < to.bits() {
            let narrow = self.b.trunc(v, from);
            if option & 4 != 0 {
                self.b.sext(narrow, to)
            } else {
                self.b.zext(narrow, to)
            }
        } else {
            v
        };
        self.shift(0, v, shift)
    }
    /// Leave the region for `target` if `c` holds (or loop, when `target` is the
    /// region's entry), else fall through: the region goes on with the next
    /// instruction (regions are superblocks: one entry, side exits at conditional
    /// branches).
    pub fn branch_if(&mut self, c: Value, target: u64) {
        let not = self.b.create_block();
        if target == self.entry {
            self.b.brif(c, BlockId(0), &[], not, &[]);
        } else {
            let taken = self.b.create_block();
            self.b.brif(c, taken, &[], not, &[]);
            self.b.switch_to(taken);
            self.b.exit_jump(target);
        }
        self.b.switch_to(not);
    }
    fn rel(&self, offset: i64) -> u64 {
        self.pc.wrapping_add(offset as u64)
    }
}

// ---------------------------------------------------------------------------------------
// Data processing, immediate.
// ---------------------------------------------------------------------------------------

/// The common end of the immediate and extended-register ADD/SUB forms: Rd is SP
/// unless flags are set (S), in which case register 31 is the zero register.
fn add_sub_to_rd_or_sp(l: &mut Lifter, f: &Fields, sub: bool, s: bool, x: Value, y: Value) -> LiftResult {
    let res = l.add_sub(sub, s, x, y);
    if s {
        l.set_x(f.get('d'), res)
    } else {
        l.set_x_sp(f.get('d'), res)
    }
    Ok(())
}

/// ADD/ADDS/SUB/SUBS (immediate): bit 30 op, bit 29 S. Rn is SP; Rd is SP unless S.
pub fn add_sub_imm(l: &mut Lifter, f: &Fields) -> LiftResult {
    let (sf, sub, s) = (f.bit('f'), f.word >> 30 & 1 != 0, f.word >> 29 & 1 != 0);
    let x = l.x_sp(f.get('n'), sf);
    let y = l.k(sf, (f.get('i') as u64) << (12 * f.get('h')));
    add_sub_to_rd_or_sp(l, f, sub, s, x, y)
}

/// AND/ORR/EOR/ANDS (immediate), bits 30:29 opc. Rd is SP unless ANDS.
pub fn logic_imm(l: &mut Lifter, f: &Fields) -> LiftResult {
    let sf = f.bit('f');
    check(sf || !f.bit('N'))?;
    let imm = decode_bit_masks(f.get('N'), f.get('s'), f.get('r'), datasize(sf)).ok_or(Reserved)?;
    let x = l.x(f.get('n'), sf);
    let y = l.k(sf, imm);
    let opc = f.word >> 29 & 3;
    let res = logic_op(l, opc, x, y);
    if opc == 3 {
        l.set_x(f.get('d'), res)
    } else {
        l.set_x_sp(f.get('d'), res)
    }
    Ok(())
}

fn logic_op(l: &mut Lifter, opc: u32, x: Value, y: Value) -> Value {
    match opc {
        0 => l.b.and(x, y),
        1 => l.b.or(x, y),
        2 => l.b.xor(x, y),
        _ => {
            let r = l.b.and(x, y);
            l.logic_flags(r);
            r
        }
    }
}

/// MOVN/MOVZ/MOVK, bits 30:29 opc; `h` is hw.
pub fn mov_wide(l: &mut Lifter, f: &Fields) -> LiftResult {
    let sf = f.bit('f');
    check(sf || f.get('h') < 2)?;
    let pos = 16 * f.get('h');
    let imm = (f.get('i') as u64) << pos;
    let res = match f.word >> 29 & 3 {
        0 => l.k(sf, !imm),
        2 => l.k(sf, imm),
        _ => {
            let old = l.x(f.get('d'), sf);
            let keep = l.k(sf, !(0xffff << pos));
            let kept = l.b.and(old, keep);
            let new = l.k(sf, imm);
            l.b.or(kept, new)
        }
    };
    l.set_x(f.get('d'), res);
    Ok(())
}

/// SBFM/BFM/UBFM, bits 30:29 opc (0 signed, 1 insert, 2 unsigned).
pub fn bitfield(l: &mut Lifter, f: &Fields) -> LiftResult {
    let sf = f.bit('f');
    let ds = datasize(sf);
    let (r, s) = (f.get('r'), f.get('s'));
    check(f.bit('N') == sf && r < ds && s < ds)?;
    let src = l.x(f.get('n'), sf);
    let opc = f.word >> 29 & 3;
    let res = match opc {
        0 => {
            // Sign-extend bits [s:0] to the top, then shift into place.
            let up = l.shift(0, src, ds - 1 - s);
            if s >= r {
                l.shift(2, up, ds - 1 - s + r)
            } else {
                let ext = l.shift(2, up, ds - 1 - s);
                l.shift(0, ext, ds - r)
            }
        }
        _ => {
            // The field, zero-extended and placed: [s:r] at 0 when s >= r, else [s:0] at ds - r.
            let (width, field) = if s >= r {
                let w = s - r + 1;
                let v = l.shift(1, src, r);
                let m = l.k(sf, ones(w));
                (w, l.b.and(v, m))
            } else {
                let m = l.k(sf, ones(s + 1));
                let v = l.b.and(src, m);
                (s + 1, l.shift(0, v, ds - r))
            };
            if opc == 2 {
                field
            } else {
                let lsb = if s >= r { 0 } else { ds - r };
                let dst = l.x(f.get('d'), sf);
                let keep = l.k(sf, !(ones(width) << lsb));
                let kept = l.b.and(dst, keep);
                l.b.or(kept, field)
            }
        }
    };
    l.set_x(f.get('d'), res);
    Ok(())
}

/// EXTR: bits `lsb + datasize - 1 : lsb` of `Rn:Rm`.
pub fn extr(l: &mut Lifter, f: &Fields) -> LiftResult {
    let sf = f.bit('f');
    let ds = datasize(sf);
    let lsb = f.get('s');
    check(f.bit('N') == sf && lsb < ds)?;
    let lo = l.x(f.get('m'), sf);
    let res = if lsb == 0 {
        lo
    } else {
        let hi = l.x(f.get('n'), sf);
        let lo = l.shift(1, lo, lsb);
        let hi = l.shift(0, hi, ds - lsb);
        l.b.or(lo, hi)
    };
    l.set_x(f.get('d'), res);
    Ok(())
}

/// ADR (`p` false) and ADRP (`p` true): immhi in `h`, immlo in `l`.
fn adr_common(l: &mut Lifter, f: &Fields, page: bool) -> LiftResult {
    let imm = (f.signed('h') << 2) | f.get('l') as i64;
    let v = if page { (l.pc & !0xfff).wrapping_add((imm << 12) as u64) } else { l.rel(imm) };
    let v = l.k(true, v);
    l.set_x(f.get('d'), v);
    Ok(())
}
pub fn adr(l: &mut Lifter, f: &Fields) -> LiftResult {
    adr_common(l, f, false)
}
pub fn adrp(l: &mut Lifter, f: &Fields) -> LiftResult {
    adr_common(l, f, true)
}

// ---------------------------------------------------------------------------------------
// Data processing, register.
// ---------------------------------------------------------------------------------------

/// ADD/ADDS/SUB/SUBS (shifted register): all registers are ZR-style.
pub fn add_sub_shifted(l: &mut Lifter, f: &Fields) -> LiftResult {
    let (sf, sub, s) = (f.bit('f'), f.word >> 30 & 1 != 0, f.word >> 29 & 1 != 0);
    let (kind, amount) = (f.get('h'), f.get('i'));
    check(kind != 3 && amount < datasize(sf))?;
    let x = l.x(f.get('n'), sf);
    let y = l.x(f.get('m'), sf);
    let y = l.shift(kind, y, amount);
    let res = l.add_sub(sub, s, x, y);
    l.set_x(f.get('d'), res);
    Ok(())
}

/// ADD/ADDS/SUB/SUBS (extended register): Rn is SP, Rd is SP unless S, Rm is ZR.
pub fn add_sub_ext(l: &mut Lifter, f: &Fields) -> LiftResult {
    let (sf, sub, s) = (f.bit('f'), f.word >> 30 & 1 != 0, f.word >> 29 & 1 != 0);
    check(f.get('i') <= 4)?;
    let x = l.x_sp(f.get('n'), sf);
    let y = l.extend_reg(f.get('m'), f.get('o'), f.get('i'), sf);
    add_sub_to_rd_or_sp(l, f, sub, s, x, y)
}

/// AND/BIC/ORR/ORN/EOR/EON/ANDS/BICS (shifted register): opc in bits 30:29, N inverts Rm.
pub fn logic_shifted(l: &mut Lifter, f: &Fields) -> LiftResult {
    let sf = f.bit('f');
    let amount = f.get('i');
    check(amount < datasize(sf))?;
    let x = l.x(f.get('n'), sf);
    let y = l.x(f.get('m'), sf);
    let y = l.shift(f.get('h'), y, amount);
    let y = if f.word >> 21 & 1 != 0 { l.b.op(Opcode::Not, &[y]) } else { y };
    let res = logic_op(l, f.word >> 29 & 3, x, y);
    l.set_x(f.get('d'), res);
    Ok(())
}

/// CSEL/CSINC/CSINV/CSNEG: bit 30 op (invert), bit 10 o2 (increment).
pub fn cond_select(l: &mut Lifter, f: &Fields) -> LiftResult {
    let sf = f.bit('f');
    let c = l.cond(f.get('c'));
    let x = l.x(f.get('n'), sf);
    let y = l.x(f.get('m'), sf);
    let y = match (f.word >> 30 & 1, f.word >> 10 & 1) {
        (0, 0) => y,
        (0, _) => {
            let one = l.k(sf, 1);
            l.b.add(y, one)
        }
        (_, 0) => l.b.op(Opcode::Not, &[y]),
        _ => l.b.op(Opcode::Neg, &[y]),
    };
    let res = l.b.select(c, x, y);
    l.set_x(f.get('d'), res);
    Ok(())
}

/// LSLV/LSRV/ASRV/RORV (bits 11:10) and UDIV/SDIV (bit 10): two-source data processing.
fn two_source(l: &mut Lifter, f: &Fields, op: Opcode) -> LiftResult {
    let sf = f.bit('f');
    let x = l.x(f.get('n'), sf);
    let y = l.x(f.get('m'), sf);
    let res = l.b.op(op, &[x, y]);
    l.set_x(f.get('d'), res);
    Ok(())
}
pub fn shiftv(l: &mut Lifter, f: &Fields) -> LiftResult {
    let op = [Opcode::Shl, Opcode::Lshr, Opcode::Ashr, Opcode::Rotr][(f.word >> 10 & 3) as usize];
    two_source(l, f, op)
}
pub fn div(l: &mut Lifter, f: &Fields) -> LiftResult {
    // A64 division by zero gives 0, which is the IR's definition too.
    two_source(l, f, if f.word >> 10 & 1 != 0 { Opcode::Sdiv } else { Opcode::Udiv })
}

/// MADD/MSUB (bit 15 o0): Ra +/- Rn * Rm.
pub fn madd(l: &mut Lifter, f: &Fields) -> LiftResult {
    let sf = f.bit('f');
    let x = l.x(f.get('n'), sf);
    let y = l.x(f.get('m'), sf);
    let a = l.x(f.get('a'), sf);
    let p = l.b.op(Opcode::Mul, &[x, y]);
    let res = if f.word >> 15 & 1 != 0 { l.b.sub(a, p) } else { l.b.add(a, p) };
    l.set_x(f.get('d'), res);
    Ok(())
}

/// ADC/ADCS/SBC/SBCS: bit 30 op (subtract), bit 29 S. SBC is `x - y - NOT(C)`.
pub fn adc_sbc(l: &mut Lifter, f: &Fields) -> LiftResult {
    let (sf, sub, s) = (f.bit('f'), f.word >> 30 & 1 != 0, f.word >> 29 & 1 != 0);
    let x = l.x(f.get('n'), sf);
    let y = l.x(f.get('m'), sf);
    let c = l.b.get_slot(l.regs.c);
    let (res, flags) = if sub {
        let borrow = l.not1(c);
        let res = l.b.op(Opcode::Sbb, &[x, y, borrow]);
        let fl = s.then(|| {
            let b = l.b.flag(Opcode::SbbBorrow, &[x, y, borrow]);
            (l.not1(b), l.b.flag(Opcode::SbbOverflow, &[x, y, borrow]))
        });
        (res, fl)
    } else {
        let res = l.b.op(Opcode::Adc, &[x, y, c]);
        let fl = s.then(|| (l.b.flag(Opcode::AdcCarry, &[x, y, c]), l.b.flag(Opcode::AdcOverflow, &[x, y, c])));
        (res, fl)
    };
    if let Some((cf, vf)) = flags {
        let (n, z) = l.nz(res);
        l.set_nzcv(n, z, cf, vf);
    }
    l.set_x(f.get('d'), res);
    Ok(())
}

/// CCMN/CCMP (register and immediate): bit 30 op (compare = subtract), bit 11 selects an
/// immediate `i` instead of Rm; if the condition fails NZCV becomes the `v` field.
pub fn cond_compare(l: &mut Lifter, f: &Fields) -> LiftResult {
    let sf = f.bit('f');
    let sub = f.word >> 30 & 1 != 0;
    let c = l.cond(f.get('c'));
    let x = l.x(f.get('n'), sf);
    let y = if f.word >> 11 & 1 != 0 { l.k(sf, f.get('i') as u64) } else { l.x(f.get('m'), sf) };
    let res = if sub { l.b.sub(x, y) } else { l.b.add(x, y) };
    let flags = l.add_sub_flags(sub, x, y, res);
    let nzcv = f.get('v');
    let [n, z, cf, v] = std::array::from_fn(|i| {
        let imm = l.b.bool(nzcv >> (3 - i) & 1 != 0);
        l.b.select(c, flags[i], imm)
    });
    l.set_nzcv(n, z, cf, v);
    Ok(())
}

/// RBIT/REV16/REV32/REV/CLZ/CLS: one-source data processing, opcode in bits 12:10.
pub fn one_source(l: &mut Lifter, f: &Fields) -> LiftResult {
    let sf = f.word >> 31 != 0;
    let x = l.x(f.get('n'), sf);
    let res = match (f.word >> 10 & 0x3f, sf) {
        (0, _) => l.b.op(Opcode::Bitrev, &[x]),
        (1, _) => {
            // Byte swap within each halfword.
            let hi = l.shift(1, x, 8);
            let lo = l.shift(0, x, 8);
            let m = l.k(sf, 0x00ff_00ff_00ff_00ff);
            let hi = l.b.and(hi, m);
            let m = l.k(sf, 0xff00_ff00_ff00_ff00);
            let lo = l.b.and(lo, m);
            l.b.or(hi, lo)
        }
        (2, true) => {
            // REV32: byte swap within each word.
            let v = l.b.op(Opcode::Bswap, &[x]);
            l.shift(3, v, 32)
        }
        (2, false) | (3, true) => l.b.op(Opcode::Bswap, &[x]),
        (4, _) => l.b.op(Opcode::Clz, &[x]),
        (5, _) => {
            // CLS(x) = CLZ(x EOR (x ASR 1)) - 1.
            let s = l.shift(2, x, 1);
            let e = l.b.xor(x, s);
            let z = l.b.op(Opcode::Clz, &[e]);
            let one = l.k(sf, 1);
            l.b.sub(z, one)
        }
        (6, _) => l.b.op(Opcode::Ctz, &[x]),
        (7, _) => l.b.op(Opcode::Popcnt, &[x]),
        (8, _) => {
            let zero = l.k(sf, 0);
            let neg = l.b.icmp(IntCC::Slt, x, zero);
            let nx = l.b.op(Opcode::Neg, &[x]);
            l.b.select(neg, nx, x)
        }
        _ => return Err(Reserved),
    };
    l.set_x(f.get('d'), res);
    Ok(())
}

/// SMAX/UMAX/SMIN/UMIN (FEAT_CSSC), immediate (signed imm8 for SMAX/SMIN) or register.
/// `op` bit 1 selects min, bit 0 unsigned.
fn minmax(l: &mut Lifter, f: &Fields, op: u32, y: Option<u32>) -> LiftResult {
    let sf = f.bit('f');
    let x = l.x(f.get('n'), sf);
    let y = match y {
        Some(imm8) => {
            let v = if op & 1 == 0 { imm8 as i8 as i64 as u64 } else { imm8 as u64 };
            l.k(sf, v)
        }
        None => l.x(f.get('m'), sf),
    };
    let cc = [IntCC::Sgt, IntCC::Ugt, IntCC::Slt, IntCC::Ult][op as usize];
    let c = l.b.icmp(cc, x, y);
    let res = l.b.select(c, x, y);
    l.set_x(f.get('d'), res);
    Ok(())
}
pub fn minmax_imm(l: &mut Lifter, f: &Fields) -> LiftResult {
    minmax(l, f, f.word >> 18 & 3, Some(f.get('i')))
}
pub fn minmax_reg(l: &mut Lifter, f: &Fields) -> LiftResult {
    minmax(l, f, f.word >> 10 & 3, None)
}

/// SMADDL/SMSUBL/UMADDL/UMSUBL (bit 23 unsigned, bit 15 subtract): Xa +/- Wn * Wm.
pub fn madd_long(l: &mut Lifter, f: &Fields) -> LiftResult {
    let unsigned = f.word >> 23 & 1 != 0;
    let wide = |l: &mut Lifter, r: u32| {
        let v = l.x(r, false);
        if unsigned {
            l.b.zext(v, Type::I64)
        } else {
            l.b.sext(v, Type::I64)
        }
    };
    let x = wide(l, f.get('n'));
    let y = wide(l, f.get('m'));
    let a = l.x(f.get('a'), true);
    let p = l.b.op(Opcode::Mul, &[x, y]);
    let res = if f.word >> 15 & 1 != 0 { l.b.sub(a, p) } else { l.b.add(a, p) };
    l.set_x(f.get('d'), res);
    Ok(())
}

/// SMULH/UMULH (bit 23 unsigned): high 64 bits of the 128-bit product.
pub fn mulh(l: &mut Lifter, f: &Fields) -> LiftResult {
    let op = if f.word >> 23 & 1 != 0 { Opcode::Umulh } else { Opcode::Smulh };
    let x = l.x(f.get('n'), true);
    let y = l.x(f.get('m'), true);
    let res = l.b.op(op, &[x, y]);
    l.set_x(f.get('d'), res);
    Ok(())
}

// ---------------------------------------------------------------------------------------
// Branches, exceptions, hints.
// ---------------------------------------------------------------------------------------

/// B and BL (bit 31 op): BL writes x30 and exits with a call hint.
pub fn b(l: &mut Lifter, f: &Fields) -> LiftResult {
    let target = l.rel(f.signed('i') << 2);
    if f.word >> 31 != 0 {
        let ret = l.k(true, l.pc.wrapping_add(4));
        l.set_x(30, ret);
        l.b.exit_call(target, l.pc.wrapping_add(4));
    } else {
        l.jump_to(target);
    }
    Ok(())
}

impl Lifter<'_, '_> {
    /// An unconditional branch: a loop back to the region's entry stays inside the
    /// region, anything else leaves it.
    fn jump_to(&mut self, target: u64) {
        if target == self.entry {
            self.b.jump(BlockId(0), &[]);
        } else {
            self.b.exit_jump(target);
        }
    }
}

pub fn b_cond(l: &mut Lifter, f: &Fields) -> LiftResult {
    let target = l.rel(f.signed('i') << 2);
    let cond = f.get('c');
    if cond >= 14 {
        l.jump_to(target);
    } else {
        let c = l.cond(cond);
        l.branch_if(c, target);
    }
    Ok(())
}

/// CBZ/CBNZ (bit 24 op).
pub fn cbz(l: &mut Lifter, f: &Fields) -> LiftResult {
    let sf = f.bit('f');
    let target = l.rel(f.signed('i') << 2);
    let v = l.x(f.get('t'), sf);
    let zero = l.k(sf, 0);
    let cc = if f.word >> 24 & 1 != 0 { IntCC::Ne } else { IntCC::Eq };
    let c = l.b.icmp(cc, v, zero);
    l.branch_if(c, target);
    Ok(())
}

/// TBZ/TBNZ (bit 24 op): test bit `B:b` of Rt.
pub fn tbz(l: &mut Lifter, f: &Fields) -> LiftResult {
    let bit = f.get('B') << 5 | f.get('b');
    let target = l.rel(f.signed('i') << 2);
    let v = l.x(f.get('t'), true);
    let m = l.k(true, 1 << bit);
    let t = l.b.and(v, m);
    let zero = l.k(true, 0);
    let cc = if f.word >> 24 & 1 != 0 { IntCC::Ne } else { IntCC::Eq };
    let c = l.b.icmp(cc, t, zero);
    l.branch_if(c, target);
    Ok(())
}

/// BR/BLR/RET (bits 22:21 opc): register 31 reads as XZR.
pub fn branch_reg(l: &mut Lifter, f: &Fields) -> LiftResult {
    let target = l.x(f.get('n'), true);
    match f.word >> 21 & 3 {
        0 => l.b.exit_indirect(target, ExitHint::None),
        1 => {
            let ret = l.k(true, l.pc.wrapping_add(4));
            l.set_x(30, ret);
            l.b.exit_indirect(target, ExitHint::Call);
        }
        _ => l.b.exit_indirect(target, ExitHint::Ret),
    }
    Ok(())
}

pub fn svc(l: &mut Lifter, _: &Fields) -> LiftResult {
    l.b.exit_syscall(l.pc.wrapping_add(4));
    Ok(())
}

/// NOP, and every other hint: hints this CPU does not implement (YIELD, PAC, BTI, ...)
/// execute as NOP, as the architecture requires.
pub fn nop(_: &mut Lifter, _: &Fields) -> LiftResult {
    Ok(())
}

/// BRK: a breakpoint trap at this instruction.
pub fn brk(l: &mut Lifter, _: &Fields) -> LiftResult {
    l.b.exit_trap(TrapKind::Breakpoint, l.pc);
    Ok(())
}

/// DMB/DSB/ISB: a full fence (ISB needs nothing more in user mode).
pub fn barrier(l: &mut Lifter, _: &Fields) -> LiftResult {
    l.b.fence(FenceKind::SeqCst);
    Ok(())
}

/// A system register's `op0<0>:op1:CRn:CRm:op2`, the `s` field of MRS/MSR.
const fn sysreg(op0: u32, op1: u32, crn: u32, crm: u32, op2: u32) -> u32 {
    (op0 & 1) << 14 | op1 << 11 | crn << 7 | crm << 3 | op2
}
/// System registers reachable from EL0.
const SYSREG_NZCV: u32 = sysreg(3, 3, 4, 2, 0);
const SYSREG_FPCR: u32 = sysreg(3, 3, 4, 4, 0);
const SYSREG_FPSR: u32 = sysreg(3, 3, 4, 4, 1);
const SYSREG_TPIDR_EL0: u32 = sysreg(3, 3, 13, 0, 2);
const SYSREG_CTR_EL0: u32 = sysreg(3, 3, 0, 0, 1);
const SYSREG_DCZID_EL0: u32 = sysreg(3, 3, 0, 0, 7);
const SYSREG_CNTVCT_EL0: u32 = sysreg(3, 3, 14, 0, 2);
const SYSREG_CNTFRQ_EL0: u32 = sysreg(3, 3, 14, 0, 0);
/// CTR_EL0 as a Cortex-A72 reports it (64-byte cache lines, IDC/DIC clear).
const CTR_EL0: u64 = 0x8444_c004;
/// DCZID_EL0: DC ZVA permitted (DZP clear), block size 64 bytes (2^4 words).
const DCZID_EL0: u64 = 0x4;

/// MRS: read a system register (NZCV, FPCR, FPSR, TPIDR_EL0, CTR_EL0, DCZID_EL0,
/// CNTVCT_EL0, CNTFRQ_EL0).
pub fn mrs(l: &mut Lifter, f: &Fields) -> LiftResult {
    let v = match f.get('s') {
        SYSREG_NZCV => {
            let r = l.regs;
            let mut acc = l.k(true, 0);
            for (slot, bit) in [(r.n, 31), (r.z, 30), (r.c, 29), (r.v, 28)] {
                let flag = l.b.get_slot(slot);
                let w = l.b.zext(flag, Type::I64);
                let w = l.shift(0, w, bit);
                acc = l.b.or(acc, w);
            }
            acc
        }
        SYSREG_FPCR => {
            let v = l.b.get_slot(l.regs.fpcr);
            l.b.zext(v, Type::I64)
        }
        SYSREG_FPSR => {
            let v = l.b.get_slot(l.regs.fpsr);
            let v = l.b.zext(v, Type::I64);
            l.b.call(super::fpenv::helpers().fpsr_read, &[v]).expect("result")
        }
        SYSREG_CNTVCT_EL0 => l.b.call(super::fpenv::helpers().cntvct, &[]).expect("result"),
        SYSREG_CNTFRQ_EL0 => l.k(true, super::fpenv::CNTFRQ),
        SYSREG_TPIDR_EL0 => l.b.get_slot(l.regs.tpidr_el0),
        SYSREG_CTR_EL0 => l.k(true, CTR_EL0),
        SYSREG_DCZID_EL0 => l.k(true, DCZID_EL0),
        _ => return Err(Reserved),
    };
    l.set_x(f.get('t'), v);
    Ok(())
}

/// MSR (register): write NZCV, FPCR, FPSR or TPIDR_EL0.
pub fn msr(l: &mut Lifter, f: &Fields) -> LiftResult {
    let sr = f.get('s');
    if !matches!(sr, SYSREG_NZCV | SYSREG_FPCR | SYSREG_FPSR | SYSREG_TPIDR_EL0) {
        return Err(Reserved);
    }
    let v = l.x(f.get('t'), true);
    match sr {
        SYSREG_NZCV => {
            let r = l.regs;
            for (slot, bit) in [(r.n, 31), (r.z, 30), (r.c, 29), (r.v, 28)] {
                let s = l.shift(1, v, bit);
                let flag = l.b.trunc(s, Type::I1);
                l.b.set_slot(slot, flag);
            }
        }
        SYSREG_FPCR | SYSREG_FPSR => {
            let h = super::fpenv::helpers();
            let (slot, helper) =
                if sr == SYSREG_FPCR { (l.regs.fpcr, h.fpcr_write) } else { (l.regs.fpsr, h.fpsr_write) };
            l.b.call(helper, &[v]);
            let w = l.b.trunc(v, Type::I32);
            l.b.set_slot(slot, w);
        }
        _ => l.b.set_slot(l.regs.tpidr_el0, v),
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------
// Loads and stores.
// ---------------------------------------------------------------------------------------

/// The access of a single-register load/store from `size` (bits 31:30), V (bit 26) and
/// `opc` (23:22).
enum Access {
    Store,
    /// Load, zero-extended into the X register.
    Load,
    /// Load, sign-extended to 64 bits (`to64`) or to 32 bits and then zero-extended.
    LoadSigned {
        to64: bool,
    },
    /// Store of the low bytes of a SIMD&FP register (B, H, S, D or Q).
    FpStore,
    /// Load into a SIMD&FP register, zeroing the rest of it.
    FpLoad,
}

/// Access size in bytes and kind, or `None` for an unallocated `size`/`opc` pair.
fn access(word: u32) -> Option<(u8, Access)> {
    let size = word >> 30;
    let opc = word >> 22 & 3;
    if word >> 26 & 1 != 0 {
        let log = if opc & 2 != 0 { (size == 0).then_some(4)? } else { size };
        return Some((1 << log, if opc & 1 != 0 { Access::FpLoad } else { Access::FpStore }));
    }
    let acc = match (opc, size) {
        (0, _) => Access::Store,
        (1, _) => Access::Load,
        (2, 0..=2) => Access::LoadSigned { to64: true },
        (3, 0..=1) => Access::LoadSigned { to64: false },
        _ => return None,
    };
    Some((1 << size, acc))
}

/// The vector lane shape whose lane 0 is the low `size` bytes of a SIMD&FP register.
fn lane0(size: u8) -> VecShape {
    match size {
        1 => VecShape::I8x16,
        2 => VecShape::I16x8,
        4 => VecShape::I32x4,
        _ => VecShape::I64x2,
    }
}

impl Lifter<'_, '_> {
    /// Load `size` bytes into SIMD&FP register `t`, zeroing the bytes above them.
    pub fn load_v(&mut self, t: u32, size: u8, addr: Value) {
        let mem = MemAttr::new(size, LE);
        let v = if size == 16 {
            self.b.load(Type::V128, mem, addr)
        } else {
            let shape = lane0(size);
            let x = self.b.load(shape.lane_type(), mem, addr);
            let zero = self.b.vconst(0);
            self.b.vinsert(shape, zero, x, 0)
        };
        self.b.set_slot(self.regs.vreg[t as usize], v);
    }
    /// Store the low `size` bytes of SIMD&FP register `t`.
    pub fn store_v(&mut self, t: u32, size: u8, addr: Value) {
        let mem = MemAttr::new(size, LE);
        let v = self.b.get_slot(self.regs.vreg[t as usize]);
        let v = if size == 16 { v } else { self.b.vextract(lane0(size), v, 0) };
        self.b.store(mem, addr, v);
    }
    /// Perform the access of `word` on register `t` at `addr`.
    fn transfer(&mut self, word: u32, t: u32, addr: Value) {
        let (size, acc) = access(word).expect("checked by the caller");
        let mem = MemAttr::new(size, LE);
        match acc {
            Access::Store => {
                let v = self.x(t, true);
                self.b.store(mem, addr, v);
            }
            Access::Load => {
                let v = self.b.load(Type::I64, mem, addr);
                self.set_x(t, v);
            }
            Access::LoadSigned { to64 } => {
                let v = self.b.load(if to64 { Type::I64 } else { Type::I32 }, mem.signed(), addr);
                self.set_x(t, v);
            }
            Access::FpStore => self.store_v(t, size, addr),
            Access::FpLoad => self.load_v(t, size, addr),
        }
    }
}

/// log2 of the access size of a single-register load/store (its offset scale).
fn scale(word: u32) -> u32 {
    access(word).map_or(0, |(size, _)| size.trailing_zeros())
}

/// Unsigned scaled 12-bit offset: `[Xn|SP, #imm]`.
pub fn ldst_uimm(l: &mut Lifter, f: &Fields) -> LiftResult {
    check(access(f.word).is_some())?;
    let base = l.x_sp(f.get('n'), true);
    let off = l.k(true, (f.get('i') as u64) << scale(f.word));
    let addr = l.b.add(base, off);
    l.transfer(f.word, f.get('t'), addr);
    Ok(())
}

/// Signed 9-bit unscaled offset: unscaled (LDUR...), post-index and pre-index (bits 11:10
/// 00, 01, 11). The loaded value is written before the base register, as in the ARM ARM.
pub fn ldst_imm9(l: &mut Lifter, f: &Fields) -> LiftResult {
    check(access(f.word).is_some())?;
    let mode = f.word >> 10 & 3;
    let (n, t) = (f.get('n'), f.get('t'));
    let base = l.x_sp(n, true);
    let off = l.k(true, f.signed('i') as u64);
    let moved = l.b.add(base, off);
    let addr = if mode == 1 { base } else { moved };
    l.transfer(f.word, t, addr);
    if mode != 0 {
        l.set_x_sp(n, moved);
    }
    Ok(())
}

/// Register offset: `[Xn|SP, Rm{, extend {#amount}}]`, `o` the option, `S` scales by size.
pub fn ldst_reg(l: &mut Lifter, f: &Fields) -> LiftResult {
    check(access(f.word).is_some() && f.get('o') & 2 != 0)?;
    let base = l.x_sp(f.get('n'), true);
    let shift = if f.bit('S') { scale(f.word) } else { 0 };
    let off = l.extend_reg(f.get('m'), f.get('o'), shift, true);
    let addr = l.b.add(base, off);
    l.transfer(f.word, f.get('t'), addr);
    Ok(())
}

/// LDR (literal) 32/64-bit (bit 30) and LDRSW (literal).
pub fn ldr_lit(l: &mut Lifter, f: &Fields) -> LiftResult {
    let addr = l.rel(f.signed('i') << 2);
    let addr = l.k(true, addr);
    let mem = MemAttr::new(if f.word >> 30 & 1 != 0 { 8 } else { 4 }, LE);
    let v = if f.word >> 31 != 0 { l.b.load(Type::I64, mem.signed(), addr) } else { l.b.load(Type::I64, mem, addr) };
    l.set_x(f.get('t'), v);
    Ok(())
}

/// LDR (literal) into a SIMD&FP register: bits 31:30 opc (00 S, 01 D, 10 Q).
pub fn fp_ldr_lit(l: &mut Lifter, f: &Fields) -> LiftResult {
    let size = [4u8, 8, 16].get((f.word >> 30) as usize).copied().ok_or(Reserved)?;
    let addr = l.rel(f.signed('i') << 2);
    let addr = l.k(true, addr);
    l.load_v(f.get('t'), size, addr);
    Ok(())
}

/// LDP/STP/LDPSW/LDNP/STNP, integer and SIMD&FP (bit 26 V): bits 31:30 opc (integer: 00 W,
/// 01 LDPSW, 10 X; SIMD&FP: 00 S, 01 D, 10 Q), bits 24:23 mode (00 non-temporal offset,
/// 01 post-index, 10 offset, 11 pre-index), bit 22 L.
pub fn ldst_pair(l: &mut Lifter, f: &Fields) -> LiftResult {
    let (opc, fp) = (f.word >> 30, f.word >> 26 & 1 != 0);
    let size: u8 = match (fp, opc) {
        (false, 0 | 1) | (true, 0) => 4,
        (false, 2) | (true, 1) => 8,
        (true, 2) => 16,
        _ => return Err(Reserved),
    };
    let load = f.word >> 22 & 1 != 0;
    let mode = f.word >> 23 & 3;
    let (n, t, t2) = (f.get('n'), f.get('t'), f.get('u'));
    let base = l.x_sp(n, true);
    let off = l.k(true, (f.signed('i') * size as i64) as u64);
    let moved = l.b.add(base, off);
    let addr = if mode == 1 { base } else { moved };
    let step = l.k(true, size as u64);
    let addr2 = l.b.add(addr, step);
    let mem = MemAttr::new(size, LE);
    let mem = if opc == 1 && !fp { mem.signed() } else { mem };
    match (fp, load) {
        (true, true) => {
            l.load_v(t, size, addr);
            l.load_v(t2, size, addr2);
        }
        (true, false) => {
            l.store_v(t, size, addr);
            l.store_v(t2, size, addr2);
        }
        (false, true) => {
            let v1 = l.b.load(Type::I64, mem, addr);
            let v2 = l.b.load(Type::I64, mem, addr2);
            l.set_x(t, v1);
            l.set_x(t2, v2);
        }
        (false, false) => {
            let v1 = l.x(t, size == 8);
            let v2 = l.x(t2, size == 8);
            l.b.store(mem, addr, v1);
            l.b.store(mem, addr2, v2);
        }
    }
    if mode & 1 != 0 {
        l.set_x_sp(n, moved);
    }
    Ok(())
}

/// FMOV (general) between a general register and a SIMD&FP register: bit 16 direction
/// (1: general to SIMD&FP), bit 31 sf, bit 19 rmode<0> (the upper half `Vd.D[1]`).
pub fn fmov_general(l: &mut Lifter, f: &Fields) -> LiftResult {
    let sf = f.word >> 31 != 0;
    let upper = f.word >> 19 & 1 != 0;
    let (shape, lane) = match (sf, upper) {
        (false, _) => (VecShape::I32x4, 0),
        (true, false) => (VecShape::I64x2, 0),
        (true, true) => (VecShape::I64x2, 1),
    };
    let (d, n) = (f.get('d'), f.get('n'));
    if f.word >> 16 & 1 != 0 {
        let x = l.x(n, sf);
        let v = if upper { l.b.get_slot(l.regs.vreg[d as usize]) } else { l.b.vconst(0) };
        let v = l.b.vinsert(shape, v, x, lane);
        l.b.set_slot(l.regs.vreg[d as usize], v);
    } else {
        let v = l.b.get_slot(l.regs.vreg[n as usize]);
        let x = l.b.vextract(shape, v, lane);
        l.set_x(d, x);
    }
    Ok(())
}

/// PRFM/PRFUM (immediate, literal): prefetches are hints and lift to nothing.
pub fn prfm(_: &mut Lifter, _: &Fields) -> LiftResult {
    Ok(())
}

/// PRFM (register): nothing, but reserved extend options are still rejected.
pub fn prfm_reg(_: &mut Lifter, f: &Fields) -> LiftResult {
    check(f.get('o') & 2 != 0)
}

/// LDAR/LDARB/LDARH (bit 22 L) and STLR/STLRB/STLRH: acquire loads and release stores,
/// lifted as a sequentially consistent access bracketed by fences.
pub fn ldar_stlr(l: &mut Lifter, f: &Fields) -> LiftResult {
    let size = 1u8 << (f.word >> 30);
    let mem = MemAttr::new(size, LE).aligned();
    let addr = l.x_sp(f.get('n'), true);
    if f.word >> 22 & 1 != 0 {
        let v = l.b.load(Type::I64, mem, addr);
        l.b.fence(FenceKind::Acquire);
        l.set_x(f.get('t'), v);
    } else {
        let v = l.x(f.get('t'), true);
        l.b.fence(FenceKind::Release);
        l.b.store(mem, addr, v);
        l.b.fence(FenceKind::SeqCst);
    }
    Ok(())
}

/// LDXR/LDAXR (bit 15 acquire), any size: load and arm the exclusive monitor with the
/// address and the loaded value.
pub fn load_exclusive(l: &mut Lifter, f: &Fields) -> LiftResult {
    let size = 1u8 << (f.word >> 30);
    let addr = l.x_sp(f.get('n'), true);
    let v = l.b.load(Type::I64, MemAttr::new(size, LE).aligned(), addr);
    if f.word >> 15 & 1 != 0 {
        l.b.fence(FenceKind::Acquire);
    }
    let r = l.regs;
    let t = l.b.bool(true);
    l.b.set_slot(r.excl_valid, t);
    l.b.set_slot(r.excl_addr, addr);
    l.b.set_slot(r.excl_val, v);
    l.set_x(f.get('t'), v);
    Ok(())
}

/// STXR/STLXR (bit 15 release), any size: if the monitor is armed for this address, a
/// compare-and-swap against the value LDXR saw performs the store (status 0 when it
/// succeeds, 1 otherwise); the monitor is then cleared. This is QEMU's scheme: it cannot
/// see an ABA store between the pair, which real exclusives would.
impl Lifter<'_, '_> {
    /// The memory image of a register pair: Rt in the low half (its address), Rt2 in
    /// the high half; 32-bit registers give an i64, 64-bit ones an i128.
    fn pair_image(&mut self, t: u32, t2: u32, sf: bool) -> Value {
        let (half, wide) = if sf { (Type::I64, Type::I128) } else { (Type::I32, Type::I64) };
        let lo = self.x(t, sf);
        let hi = self.x(t2, sf);
        let lo = self.b.zext(lo, wide);
        let hi = self.b.zext(hi, wide);
        let bits = self.b.iconst(wide, half.bits() as u128);
        let hi = self.b.op(Opcode::Shl, &[hi, bits]);
        self.b.or(lo, hi)
    }
    /// Split a pair image into Rt (low) and Rt2 (high).
    fn set_pair(&mut self, t: u32, t2: u32, v: Value, sf: bool) {
        let half = if sf { Type::I64 } else { Type::I32 };
        let wide = self.b.region.ty(v);
        let lo = self.b.trunc(v, half);
        let bits = self.b.iconst(wide, half.bits() as u128);
        let hi = self.b.op(Opcode::Lshr, &[v, bits]);
        let hi = self.b.trunc(hi, half);
        self.set_x(t, lo);
        self.set_x(t2, hi);
    }
}

/// LDXP/LDAXP (bit 30: 64-bit registers, a 16-byte access; else 32-bit, 8 bytes):
/// arm the exclusive monitor with the whole pair image.
pub fn load_exclusive_pair(l: &mut Lifter, f: &Fields) -> LiftResult {
    let sf = f.bit('f');
    let (t, t2) = (f.get('t'), f.get('u'));
    let size: u8 = if sf { 16 } else { 8 };
    let addr = l.x_sp(f.get('n'), true);
    let wide = if sf { Type::I128 } else { Type::I64 };
    let v = l.b.load(wide, MemAttr::new(size, LE).aligned(), addr);
    if f.word >> 15 & 1 != 0 {
        l.b.fence(FenceKind::Acquire);
    }
    let r = l.regs;
    let t1 = l.b.bool(true);
    l.b.set_slot(r.excl_valid, t1);
    l.b.set_slot(r.excl_addr, addr);
    let (lo, hi) = if sf {
        let lo = l.b.trunc(v, Type::I64);
        let k = l.b.iconst(Type::I128, 64);
        let hi = l.b.op(Opcode::Lshr, &[v, k]);
        (lo, l.b.trunc(hi, Type::I64))
    } else {
        (v, l.k(true, 0))
    };
    l.b.set_slot(r.excl_val, lo);
    l.b.set_slot(r.excl_val_hi, hi);
    l.set_pair(t, t2, v, sf);
    Ok(())
}

/// STXP/STLXP: store the pair if the monitor still holds the image LDXP saw (a
/// compare-and-swap of the whole pair); Ws = 0 on success, 1 on failure.
pub fn store_exclusive_pair(l: &mut Lifter, f: &Fields) -> LiftResult {
    let sf = f.bit('f');
    let (s, t, t2, n) = (f.get('s'), f.get('t'), f.get('u'), f.get('n'));
    let size: u8 = if sf { 16 } else { 8 };
    let addr = l.x_sp(n, true);
    let v = l.pair_image(t, t2, sf);
    if f.word >> 15 & 1 != 0 {
        l.b.fence(FenceKind::Release);
    }
    l.store_if_monitored(s, addr, MemAttr::new(size, LE).aligned(), v, |l| {
        let r = l.regs;
        let lo = l.b.get_slot(r.excl_val);
        if !sf {
            return lo;
        }
        let hi = l.b.get_slot(r.excl_val_hi);
        let lo = l.b.zext(lo, Type::I128);
        let hi = l.b.zext(hi, Type::I128);
        let k = l.b.iconst(Type::I128, 64);
        let hi = l.b.op(Opcode::Shl, &[hi, k]);
        l.b.or(lo, hi)
    });
    Ok(())
}

/// CASP/CASPA/CASPL/CASPAL (bit 30: X pairs, 16 bytes; else W pairs, 8 bytes): compare
/// the pair at [Xn] with Rs:Rs+1, store Rt:Rt+1 if equal; Rs:Rs+1 get the old pair.
pub fn casp(l: &mut Lifter, f: &Fields) -> LiftResult {
    let sf = f.bit('f');
    let (s, t) = (f.get('s'), f.get('t'));
    check(s % 2 == 0 && t % 2 == 0)?;
    let size: u8 = if sf { 16 } else { 8 };
    let addr = l.x_sp(f.get('n'), true);
    let expected = l.pair_image(s, s + 1, sf);
    let new = l.pair_image(t, t + 1, sf);
    if f.word >> 15 & 1 != 0 {
        l.b.fence(FenceKind::Release);
    }
    let old = l.b.cas(MemAttr::new(size, LE).aligned(), addr, expected, new);
    if f.word >> 22 & 1 != 0 {
        l.b.fence(FenceKind::Acquire);
    }
    l.set_pair(s, s + 1, old, sf);
    Ok(())
}

pub fn store_exclusive(l: &mut Lifter, f: &Fields) -> LiftResult {
    // Rs overlapping Rt or the base is CONSTRAINED UNPREDICTABLE; both are read before
    // the status is written, and objdump accepts these words too.
    let (s, t, n) = (f.get('s'), f.get('t'), f.get('n'));
    let size = 1u8 << (f.word >> 30);
    let vt = Type::int_of_bits(size as u32 * 8).expect("access size");
    let mem = MemAttr::new(size, LE).aligned();
    let addr = l.x_sp(n, true);
    let v = l.x(t, true);
    let v = if vt == Type::I64 { v } else { l.b.trunc(v, vt) };
    if f.word >> 15 & 1 != 0 {
        l.b.fence(FenceKind::Release);
    }
    l.store_if_monitored(s, addr, mem, v, |l| {
        let expected = l.b.get_slot(l.regs.excl_val);
        if vt == Type::I64 {
            expected
        } else {
            l.b.trunc(expected, vt)
        }
    });
    Ok(())
}

impl Lifter<'_, '_> {
    /// The store half of STXR/STXP: if the monitor is armed for `addr`, store `v` with
    /// a compare-and-swap against the value the exclusive load saw (`expected`, read
    /// only on that path); Ws = 0 on success, 1 on failure; the monitor is cleared.
    fn store_if_monitored(
        &mut self,
        s: u32,
        addr: Value,
        mem: MemAttr,
        v: Value,
        expected: impl FnOnce(&mut Self) -> Value,
    ) {
        let r = self.regs;
        let valid = self.b.get_slot(r.excl_valid);
        let armed = self.b.get_slot(r.excl_addr);
        let same = self.b.icmp(IntCC::Eq, armed, addr);
        let ok = self.b.and(valid, same);
        let (try_store, fail, done) = (self.b.create_block(), self.b.create_block(), self.b.create_block());
        let status = self.b.append_param(done, Type::I32);
        self.b.brif(ok, try_store, &[], fail, &[]);
        self.b.switch_to(try_store);
        let expected = expected(self);
        let old = self.b.cas(mem, addr, expected, v);
        let lost = self.b.icmp(IntCC::Ne, old, expected);
        let st = self.b.zext(lost, Type::I32);
        self.b.jump(done, &[st]);
        self.b.switch_to(fail);
        let one = self.b.i32(1);
        self.b.jump(done, &[one]);
        self.b.switch_to(done);
        let f0 = self.b.bool(false);
        self.b.set_slot(r.excl_valid, f0);
        self.set_x(s, status);
    }
}

/// CLREX: clear the exclusive monitor.
pub fn clrex(l: &mut Lifter, _: &Fields) -> LiftResult {
    let f0 = l.b.bool(false);
    l.b.set_slot(l.regs.excl_valid, f0);
    Ok(())
}

/// LSE atomic memory operations LDADD/LDCLR/LDEOR/LDSET/LDSMAX/LDSMIN/LDUMAX/LDUMIN/SWP
/// (o3:opc in bits 15:12), any size and ordering: the IR's `atomic_rmw` is sequentially
/// consistent, which covers the acquire (A) and release (R) variants. Rt receives the old
/// value (zero-extended); Rt = 31 gives the ST* aliases.
pub fn atomic_rmw(l: &mut Lifter, f: &Fields) -> LiftResult {
    let op = match f.word >> 12 & 0xf {
        0 => RmwOp::Add,
        1 => RmwOp::And,
        2 => RmwOp::Xor,
        3 => RmwOp::Or,
        4 => RmwOp::Smax,
        5 => RmwOp::Smin,
        6 => RmwOp::Umax,
        7 => RmwOp::Umin,
        8 => RmwOp::Xchg,
        _ => return Err(Reserved),
    };
    let size = 1u8 << (f.word >> 30);
    let addr = l.x_sp(f.get('n'), true);
    let v = l.sized(f.get('s'), size);
    // LDCLR clears the bits set in Rs: an AND with its complement.
    let v = if f.word >> 12 & 0xf == 1 { l.b.op(Opcode::Not, &[v]) } else { v };
    let old = l.b.atomic_rmw(op, MemAttr::new(size, LE).aligned(), addr, v);
    l.set_x(f.get('t'), old);
    Ok(())
}

/// CAS/CASA/CASL/CASAL, any size: compare Rs with memory, store Rt if equal; Rs receives
/// the old value.
pub fn cas(l: &mut Lifter, f: &Fields) -> LiftResult {
    let size = 1u8 << (f.word >> 30);
    let addr = l.x_sp(f.get('n'), true);
    let expected = l.sized(f.get('s'), size);
    let new = l.sized(f.get('t'), size);
    let old = l.b.cas(MemAttr::new(size, LE).aligned(), addr, expected, new);
    l.set_x(f.get('s'), old);
    Ok(())
}

impl Lifter<'_, '_> {
    /// Register `r` (31 = zero) truncated to an integer of `size` bytes.
    fn sized(&mut self, r: u32, size: u8) -> Value {
        let v = self.x(r, true);
        match Type::int_of_bits(size as u32 * 8).expect("access size") {
            Type::I64 => v,
            t => self.b.trunc(v, t),
        }
    }
}

// ---------------------------------------------------------------------------------------
// Advanced SIMD (a first subset: logical, add/sub, compare-equal, moves between registers).
// ---------------------------------------------------------------------------------------

fn shape(size: u32) -> VecShape {
    [VecShape::I8x16, VecShape::I16x8, VecShape::I32x4, VecShape::I64x2][size as usize]
}

impl Lifter<'_, '_> {
    pub fn get_v(&mut self, r: u32) -> Value {
        self.b.get_slot(self.regs.vreg[r as usize])
    }
    /// Write a vector result; a 64-bit (`Q` = 0) operation zeroes the upper half.
    pub fn set_v(&mut self, r: u32, v: Value, q: bool) {
        let v = if q {
            v
        } else {
            let m = self.b.vconst(u64::MAX as u128);
            self.vop(Opcode::Vand, &[v, m])
        };
        self.b.set_slot(self.regs.vreg[r as usize], v);
    }
    /// A bitwise vector op (`vand`, `vor`, `vxor`, `vnot`).
    fn vop(&mut self, op: Opcode, args: &[Value]) -> Value {
        self.b.push(op, args, Imm::None, Some(Type::V128)).expect("result")
    }
}

/// AND/BIC/ORR/ORN (U = 0) and EOR/BSL/BIT/BIF (U = 1), vector: bit 29 U, bits 23:22 opc.
pub fn simd_logic(l: &mut Lifter, f: &Fields) -> LiftResult {
    let (q, d) = (f.bit('Q'), f.get('d'));
    let n = l.get_v(f.get('n'));
    let m = l.get_v(f.get('m'));
    let opc = f.word >> 22 & 3;
    let res = if f.word >> 29 & 1 == 0 {
        let m = if opc & 1 != 0 { l.vop(Opcode::Vnot, &[m]) } else { m };
        l.vop(if opc & 2 != 0 { Opcode::Vor } else { Opcode::Vand }, &[n, m])
    } else {
        // d = (sel & a) | (!sel & b) for BSL (sel d, a n, b m), BIT (sel m, a n, b d) and
        // BIF (sel m, a d, b n).
        let old = l.get_v(d);
        let (sel, a, b) = match opc {
            0 => return l.simd_eor(q, d, n, m),
            1 => (old, n, m),
            2 => (m, n, old),
            _ => (m, old, n),
        };
        let x = l.vop(Opcode::Vxor, &[a, b]);
        let x = l.vop(Opcode::Vand, &[x, sel]);
        l.vop(Opcode::Vxor, &[b, x])
    };
    l.set_v(d, res, q);
    Ok(())
}

impl Lifter<'_, '_> {
    fn simd_eor(&mut self, q: bool, d: u32, n: Value, m: Value) -> LiftResult {
        let res = self.vop(Opcode::Vxor, &[n, m]);
        self.set_v(d, res, q);
        Ok(())
    }
}

/// ADD/SUB/CMEQ (vector): the op is chosen by bit 29 U and bit 11.
pub fn simd_arith(l: &mut Lifter, f: &Fields) -> LiftResult {
    let (q, size) = (f.bit('Q'), f.get('s'));
    check(q || size != 3)?;
    let n = l.get_v(f.get('n'));
    let m = l.get_v(f.get('m'));
    let op = match (f.word >> 29 & 1, f.word >> 11 & 1) {
        (0, 0) => Opcode::Vadd,
        (1, 0) => Opcode::Vsub,
        _ => Opcode::Vcmpeq,
    };
    let res = l.b.vlanes(op, shape(size), &[n, m]);
    l.set_v(f.get('d'), res, q);
    Ok(())
}

impl Lifter<'_, '_> {
    /// The lanes of `v` for element size `size` (log2 bytes); `lanes` of them.
    fn lanes(&mut self, v: Value, size: u32, lanes: u32) -> Vec<Value> {
        (0..lanes).map(|i| self.b.vextract(shape(size), v, i as u8)).collect()
    }
    /// A vector of element size `size` from `vals` (lane 0 first); missing lanes are zero.
    fn build_vec(&mut self, vals: &[Value], size: u32) -> Value {
        let mut v = self.b.vconst(0);
        for (i, &x) in vals.iter().enumerate() {
            v = self.b.vinsert(shape(size), v, x, i as u8);
        }
        v
    }
}

/// Number of elements of size `size` (log2 bytes) in a 64- or 128-bit (`q`) vector.
fn nlanes(size: u32, q: bool) -> u32 {
    (if q { 16 } else { 8 }) >> size
}

/// CMGT/CMGE/CMHI/CMHS/CMTST, SMAX/SMIN/UMAX/UMIN, SMAXP/SMINP/UMAXP/UMINP/ADDP and MUL
/// (vector): three-same ops lifted element by element. Bit 29 U and the opcode in bits
/// 15:11 select the op.
pub fn simd_three(l: &mut Lifter, f: &Fields) -> LiftResult {
    let (q, size) = (f.bit('Q'), f.get('s'));
    let opcode = f.word >> 11 & 0x1f;
    let u = f.word >> 29 & 1 != 0;
    let is_minmax = matches!(opcode, 0b01100 | 0b01101 | 0b10100 | 0b10101);
    check(q || size != 3)?;
    check(size != 3 || !(is_minmax || opcode == 0b10011))?;
    let n = l.get_v(f.get('n'));
    let m = l.get_v(f.get('m'));
    let count = nlanes(size, q);
    let xs = l.lanes(n, size, count);
    let ys = l.lanes(m, size, count);
    let lane_t = shape(size).lane_type();
    let pairwise = matches!(opcode, 0b10100 | 0b10101 | 0b10111);
    // Pairwise ops combine adjacent elements of the concatenation Vm:Vn.
    let (xs, ys) = if pairwise {
        let all: Vec<Value> = xs.iter().chain(&ys).copied().collect();
        (all.iter().step_by(2).copied().collect(), all.iter().skip(1).step_by(2).copied().collect())
    } else {
        (xs, ys)
    };
    let mut out = Vec::new();
    for (&x, &y) in xs.iter().zip(&ys) {
        let r = match opcode {
            0b00110 | 0b00111 | 0b10001 => {
                let c = match (opcode, u) {
                    (0b00110, false) => l.b.icmp(IntCC::Sgt, x, y),
                    (0b00111, false) => l.b.icmp(IntCC::Sge, x, y),
                    (0b00110, true) => l.b.icmp(IntCC::Ugt, x, y),
                    (0b00111, true) => l.b.icmp(IntCC::Uge, x, y),
                    _ => {
                        let a = l.b.and(x, y);
                        let zero = l.b.iconst(lane_t, 0);
                        l.b.icmp(IntCC::Ne, a, zero)
                    }
                };
                l.b.sext(c, lane_t)
            }
            0b10111 => l.b.add(x, y),
            0b10011 => l.b.op(Opcode::Mul, &[x, y]),
            _ => {
                let max = opcode & 1 == 0;
                let cc = match (u, max) {
                    (false, true) => IntCC::Sgt,
                    (false, false) => IntCC::Slt,
                    (true, true) => IntCC::Ugt,
                    (true, false) => IntCC::Ult,
                };
                let c = l.b.icmp(cc, x, y);
                l.b.select(c, x, y)
            }
        };
        out.push(r);
    }
    let res = l.build_vec(&out, size);
    l.set_v(f.get('d'), res, q);
    Ok(())
}

/// CMGT/CMGE/CMLE/CMLT (zero): compare each element with 0 (bit 29 U, bits 13:12 op).
pub fn simd_cmp_zero(l: &mut Lifter, f: &Fields) -> LiftResult {
    let (q, size) = (f.word >> 30 & 1 != 0, f.get('s'));
    let scalar = f.word >> 28 & 1 != 0;
    check(if scalar { size == 3 } else { q || size != 3 })?;
    let cc = match (f.word >> 29 & 1, f.word >> 12 & 3) {
        (0, 0) => IntCC::Sgt,
        (1, 0) => IntCC::Sge,
        (1, 1) => IntCC::Sle,
        _ => IntCC::Slt,
    };
    let n = l.get_v(f.get('n'));
    let xs = l.lanes(n, size, if scalar { 1 } else { nlanes(size, q) });
    let lane_t = shape(size).lane_type();
    let out: Vec<Value> = xs
        .into_iter()
        .map(|x| {
            let zero = l.b.iconst(lane_t, 0);
            let c = l.b.icmp(cc, x, zero);
            l.b.sext(c, lane_t)
        })
        .collect();
    let res = l.build_vec(&out, size);
    l.set_v(f.get('d'), res, q || scalar);
    Ok(())
}

/// REV64/REV32/REV16 (vector): reverse the elements inside each 64/32/16-bit container.
pub fn simd_rev(l: &mut Lifter, f: &Fields) -> LiftResult {
    let (q, size) = (f.bit('Q'), f.get('s'));
    // Container log2 bytes: REV64 3, REV32 2, REV16 1 (bit 29 U, bit 12 o0).
    let container = 3 - ((f.word >> 29 & 1) + (f.word >> 12 & 1) * 2);
    check(size < container)?;
    let n = l.get_v(f.get('n'));
    let xs = l.lanes(n, size, nlanes(size, q));
    let per = 1usize << (container - size);
    let out: Vec<Value> = xs.chunks(per).flat_map(|c| c.iter().rev().copied().collect::<Vec<_>>()).collect();
    let res = l.build_vec(&out, size);
    l.set_v(f.get('d'), res, q);
    Ok(())
}

/// UZP1/TRN1/ZIP1/UZP2/TRN2/ZIP2 (bits 14:12 opcode): permutes of Vn and Vm.
pub fn simd_permute(l: &mut Lifter, f: &Fields) -> LiftResult {
    let (q, size) = (f.bit('Q'), f.get('s'));
    check(q || size != 3)?;
    let op = f.word >> 12 & 7;
    let count = nlanes(size, q) as usize;
    let n = l.get_v(f.get('n'));
    let m = l.get_v(f.get('m'));
    let xs = l.lanes(n, size, count as u32);
    let ys = l.lanes(m, size, count as u32);
    let part = (op >> 2) as usize;
    let half = count / 2;
    let out: Vec<Value> = (0..count)
        .map(|i| match op & 3 {
            // UZP: even (or odd) elements of Vn, then of Vm.
            1 => {
                let j = 2 * (i % half) + part;
                if i < half {
                    xs[j]
                } else {
                    ys[j]
                }
            }
            // TRN: element 2k+part of Vn and Vm interleaved.
            2 => {
                let j = (i & !1) + part;
                if i % 2 == 0 {
                    xs[j]
                } else {
                    ys[j]
                }
            }
            // ZIP: the lower (or upper) halves interleaved.
            _ => {
                let j = part * half + i / 2;
                if i % 2 == 0 {
                    xs[j]
                } else {
                    ys[j]
                }
            }
        })
        .collect();
    let res = l.build_vec(&out, size);
    l.set_v(f.get('d'), res, q);
    Ok(())
}

/// DUP (element): copy one element of Vn into every element.
pub fn simd_dup_elem(l: &mut Lifter, f: &Fields) -> LiftResult {
    let (size, lane) = imm5_lane(f.get('i')).ok_or(Reserved)?;
    let n = l.get_v(f.get('n'));
    let x = l.b.vextract(shape(size), n, lane);
    if f.word >> 28 & 1 != 0 {
        // DUP (element, scalar), printed MOV: the element alone, the rest zeroed.
        let zero = l.b.vconst(0);
        let v = l.b.vinsert(shape(size), zero, x, 0);
        l.set_v(f.get('d'), v, true);
        return Ok(());
    }
    let q = f.bit('Q');
    check(size < 3 || q)?;
    let v = l.b.vsplat(shape(size), x);
    l.set_v(f.get('d'), v, q);
    Ok(())
}

/// INS (element): element `j` of Vn into element `i` of Vd, the others kept.
pub fn simd_ins_elem(l: &mut Lifter, f: &Fields) -> LiftResult {
    let (size, dst) = imm5_lane(f.get('i')).ok_or(Reserved)?;
    let src = (f.get('j') >> size) as u8;
    let n = l.get_v(f.get('n'));
    let x = l.b.vextract(shape(size), n, src);
    let d = l.get_v(f.get('d'));
    let v = l.b.vinsert(shape(size), d, x, dst);
    l.set_v(f.get('d'), v, true);
    Ok(())
}

/// ADDV/SMAXV/SMINV/UMAXV/UMINV: reduce the elements to one, written to lane 0 of Vd.
pub fn simd_across(l: &mut Lifter, f: &Fields) -> LiftResult {
    let (q, size) = (f.bit('Q'), f.get('s'));
    check(size < 2 || (size == 2 && q))?;
    let opcode = f.word >> 12 & 0x1f;
    let u = f.word >> 29 & 1 != 0;
    let n = l.get_v(f.get('n'));
    let count = nlanes(size, q);
    let xs = l.lanes(n, size, count);
    let mut acc = xs[0];
    for &x in &xs[1..] {
        acc = if opcode == 0b11011 {
            l.b.add(acc, x)
        } else {
            let cc = match (u, opcode == 0b01010) {
                (false, true) => IntCC::Sgt,
                (false, false) => IntCC::Slt,
                (true, true) => IntCC::Ugt,
                (true, false) => IntCC::Ult,
            };
            let c = l.b.icmp(cc, x, acc);
            l.b.select(c, x, acc)
        };
    }
    let res = l.build_vec(&[acc], size);
    l.set_v(f.get('d'), res, true);
    Ok(())
}

/// XTN/XTN2 (bit 30 Q: the upper half, keeping the lower) and SHRN/SHRN2: narrow each
/// element of Vn (after a right shift for SHRN) to half its size.
fn narrow(l: &mut Lifter, f: &Fields, size: u32, shift: u32) -> LiftResult {
    let q = f.word >> 30 & 1 != 0;
    let n = l.get_v(f.get('n'));
    let xs = l.lanes(n, size + 1, 8 >> size);
    let half = shape(size).lane_type();
    let d = f.get('d');
    let mut out = if q {
        let old = l.get_v(d);
        l.lanes(old, size, 8 >> size)
    } else {
        Vec::new()
    };
    for x in xs {
        let x = l.shift(1, x, shift);
        out.push(l.b.trunc(x, half));
    }
    let res = l.build_vec(&out, size);
    l.set_v(d, res, true);
    Ok(())
}
pub fn simd_xtn(l: &mut Lifter, f: &Fields) -> LiftResult {
    let size = f.get('s');
    check(size < 3)?;
    narrow(l, f, size, 0)
}
pub fn simd_shrn(l: &mut Lifter, f: &Fields) -> LiftResult {
    let immh = f.get('h');
    check(immh != 0 && immh < 8)?;
    let size = 31 - immh.leading_zeros();
    let shift = (16 << size) - (immh << 3 | f.get('b'));
    narrow(l, f, size, shift)
}

/// SSHR/USHR (bit 29 U) and SHL (vector, immediate): element size from the highest set
/// bit of immh; immh = 0 is the modified-immediate class (see `OVERLAPS`).
pub fn simd_shift_imm(l: &mut Lifter, f: &Fields) -> LiftResult {
    let (q, immh) = (f.word >> 30 & 1 != 0, f.get('h'));
    let scalar = f.word >> 28 & 1 != 0;
    check(immh != 0 && if scalar { immh >= 8 } else { immh < 8 || q })?;
    let size = 31 - immh.leading_zeros();
    let esize = 8 << size;
    let imm = immh << 3 | f.get('b');
    let (kind, amount) = match (f.word >> 12 & 0xf, f.word >> 29 & 1) {
        (0b0101, _) => (0, imm - esize),
        (_, 0) => (2, 2 * esize - imm),
        _ => (1, 2 * esize - imm),
    };
    let n = l.get_v(f.get('n'));
    if !scalar {
        // One vector shift (the upper half of a 64-bit form is cleared by `set_v`).
        let v = if amount >= esize && kind == 1 {
            l.b.vconst(0)
        } else {
            let op = [Opcode::Vshl, Opcode::Vushr, Opcode::Vsshr][kind as usize];
            let amount = l.b.iconst(Type::I32, amount.min(esize - 1) as u128);
            l.b.vshift(op, shape(size), n, amount)
        };
        l.set_v(f.get('d'), v, q);
        return Ok(());
    }
    let xs = l.lanes(n, size, 1);
    let lane_t = shape(size).lane_type();
    let out: Vec<Value> = xs
        .into_iter()
        .map(|x| {
            if amount >= esize {
                // USHR by the element size gives 0; SSHR gives the sign.
                if kind == 1 {
                    l.b.iconst(lane_t, 0)
                } else {
                    l.shift(2, x, esize - 1)
                }
            } else {
                l.shift(kind, x, amount)
            }
        })
        .collect();
    let res = l.build_vec(&out, size);
    l.set_v(f.get('d'), res, q || scalar);
    Ok(())
}

/// CNT: population count of each byte.
pub fn simd_cnt(l: &mut Lifter, f: &Fields) -> LiftResult {
    let q = f.bit('Q');
    let n = l.get_v(f.get('n'));
    let xs = l.lanes(n, 0, nlanes(0, q));
    let out: Vec<Value> = xs.into_iter().map(|x| l.b.op(Opcode::Popcnt, &[x])).collect();
    let res = l.build_vec(&out, 0);
    l.set_v(f.get('d'), res, q);
    Ok(())
}

/// LD1/ST1 (multiple structures, 1 to 4 consecutive registers; bit 22 L), without offset
/// or post-indexed (bit 23): by Rm, or by the transfer size when Rm is 31. Memory order is
/// register order, each register little-endian, whatever the element size.
pub fn simd_ld1_st1(l: &mut Lifter, f: &Fields) -> LiftResult {
    let q = f.bit('Q');
    let regs = match f.word >> 12 & 0xf {
        0b0111 => 1,
        0b1010 => 2,
        0b0110 => 3,
        0b0010 => 4,
        _ => return Err(Reserved),
    };
    let bytes: u8 = if q { 16 } else { 8 };
    let (n, t) = (f.get('n'), f.get('t'));
    let base = l.x_sp(n, true);
    let load = f.word >> 22 & 1 != 0;
    for i in 0..regs {
        let off = l.k(true, i as u64 * bytes as u64);
        let addr = l.b.add(base, off);
        let r = (t + i) % 32;
        if load {
            l.load_v(r, bytes, addr);
        } else {
            l.store_v(r, bytes, addr);
        }
    }
    if f.word >> 23 & 1 != 0 {
        let m = f.get('m');
        let step = if m == 31 { l.k(true, regs as u64 * bytes as u64) } else { l.x(m, true) };
        let moved = l.b.add(base, step);
        l.set_x_sp(n, moved);
    }
    Ok(())
}

/// The element size (log2 bytes) and index selected by an `imm5` field.
fn imm5_lane(imm5: u32) -> Option<(u32, u8)> {
    let size = imm5.trailing_zeros();
    (size < 4).then(|| (size, (imm5 >> (size + 1)) as u8))
}

/// DUP (general): copy a general register into every element.
pub fn simd_dup(l: &mut Lifter, f: &Fields) -> LiftResult {
    let q = f.bit('Q');
    let (size, _) = imm5_lane(f.get('i')).ok_or(Reserved)?;
    check(size < 3 || q)?;
    let sh = shape(size);
    let x = l.x(f.get('n'), size == 3);
    let x = if size < 2 { l.b.trunc(x, sh.lane_type()) } else { x };
    let v = l.b.vsplat(sh, x);
    l.set_v(f.get('d'), v, q);
    Ok(())
}

/// UMOV: an element, zero-extended, into a general register (Q selects X for D elements).
pub fn simd_umov(l: &mut Lifter, f: &Fields) -> LiftResult {
    let (size, lane) = imm5_lane(f.get('i')).ok_or(Reserved)?;
    check(f.bit('Q') == (size == 3))?;
    let v = l.get_v(f.get('n'));
    let x = l.b.vextract(shape(size), v, lane);
    l.set_x(f.get('d'), x);
    Ok(())
}

/// INS (general): a general register into one element, the others kept.
pub fn simd_ins(l: &mut Lifter, f: &Fields) -> LiftResult {
    let (size, lane) = imm5_lane(f.get('i')).ok_or(Reserved)?;
    let sh = shape(size);
    let x = l.x(f.get('n'), size == 3);
    let x = if size < 2 { l.b.trunc(x, sh.lane_type()) } else { x };
    let v = l.get_v(f.get('d'));
    let v = l.b.vinsert(sh, v, x, lane);
    l.set_v(f.get('d'), v, true);
    Ok(())
}

/// The ARM ARM's `AdvSIMDExpandImm(op, cmode, imm8)`: the 64-bit pattern of a modified
/// immediate (`None` for the unallocated op = 1, cmode = 1111 with Q = 0).
pub fn expand_simd_imm(op: bool, cmode: u32, imm8: u32, q: bool) -> Option<u64> {
    let i = imm8 as u64;
    let rep32 = |x: u64| x << 32 | x;
    let rep16 = |x: u64| x * 0x0001_0001_0001_0001;
    Some(match cmode >> 1 {
        0..=3 => rep32(i << (8 * (cmode >> 1))),
        4 | 5 => rep16(i << (8 * (cmode >> 1 & 1))),
        6 => rep32(if cmode & 1 == 0 { i << 8 | 0xff } else { i << 16 | 0xffff }),
        _ => match (cmode & 1, op) {
            (0, false) => i * 0x0101_0101_0101_0101,
            (0, true) => (0..8).filter(|b| i >> b & 1 != 0).fold(0, |acc, b| acc | 0xff << (8 * b)),
            (_, false) => {
                // FMOV (vector, single): a:NOT(b):bbbbb:cdefgh:Zeros(19).
                let b6 = i >> 6 & 1;
                let f = (i >> 7) << 31 | (b6 ^ 1) << 30 | (if b6 != 0 { 0x1f } else { 0 }) << 25 | (i & 0x3f) << 19;
                rep32(f)
            }
            (_, true) => {
                // FMOV (vector, double): a:NOT(b):bbbbbbbb:cdefgh:Zeros(48).
                if !q {
                    return None;
                }
                let b6 = i >> 6 & 1;
                (i >> 7) << 63 | (b6 ^ 1) << 62 | (if b6 != 0 { 0xff } else { 0 }) << 54 | (i & 0x3f) << 48
            }
        },
    })
}

/// MOVI/MVNI/ORR/BIC/FMOV (vector, immediate): the modified-immediate class; bit 29 op and
/// the cmode bits 15:12 select the immediate's shape and the operation.
pub fn simd_modimm(l: &mut Lifter, f: &Fields) -> LiftResult {
    let q = f.bit('Q');
    let op = f.word >> 29 & 1 != 0;
    let cmode = f.word >> 12 & 0xf;
    let imm = expand_simd_imm(op, cmode, f.get('j') << 5 | f.get('k'), q).ok_or(Reserved)?;
    let imm = l.b.vconst((imm as u128) << 64 | imm as u128);
    let d = f.get('d');
    // cmode 0xx1 and 10x1 modify Vd (ORR, or BIC when op = 1); 110x and 1110 only move.
    let modifies = cmode & 1 == 1 && cmode < 0b1100;
    let inverts = op && cmode < 0b1110;
    let res = match (modifies, inverts) {
        (false, false) => imm,
        (false, true) => l.vop(Opcode::Vnot, &[imm]),
        (true, false) => {
            let old = l.get_v(d);
            l.vop(Opcode::Vor, &[old, imm])
        }
        (true, true) => {
            let old = l.get_v(d);
            let not = l.vop(Opcode::Vnot, &[imm]);
            l.vop(Opcode::Vand, &[old, not])
        }
    };
    l.set_v(d, res, q);
    Ok(())
}

/// CMEQ (zero): all ones in the elements equal to zero.
pub fn simd_cmeq_zero(l: &mut Lifter, f: &Fields) -> LiftResult {
    let (q, size) = (f.word >> 30 & 1 != 0, f.get('s'));
    let scalar = f.word >> 28 & 1 != 0;
    check(if scalar { size == 3 } else { q || size != 3 })?;
    let n = l.get_v(f.get('n'));
    let zero = l.b.vconst(0);
    let res = l.b.vlanes(Opcode::Vcmpeq, shape(size), &[n, zero]);
    // A scalar compare leaves only lane 0 (64 bits): the upper half is zeroed.
    l.set_v(f.get('d'), res, q && !scalar);
    Ok(())
}

/// NOT (vector), also printed `mvn`.
pub fn simd_not(l: &mut Lifter, f: &Fields) -> LiftResult {
    let n = l.get_v(f.get('n'));
    let res = l.vop(Opcode::Vnot, &[n]);
    l.set_v(f.get('d'), res, f.bit('Q'));
    Ok(())
}

/// EXT: bytes `index..` of the concatenation `Vm:Vn` (Q = 0 works on the low halves and
/// needs index < 8).
pub fn simd_ext(l: &mut Lifter, f: &Fields) -> LiftResult {
    let (q, index) = (f.bit('Q'), f.get('i'));
    check(q || index < 8)?;
    let n = l.get_v(f.get('n'));
    let m = l.get_v(f.get('m'));
    let n = l.b.convert(Opcode::Bitcast, n, Type::I128);
    let m = l.b.convert(Opcode::Bitcast, m, Type::I128);
    let n = if q {
        n
    } else {
        let low = l.b.iconst(Type::I128, u64::MAX as u128);
        l.b.and(n, low)
    };
    let width = if q { 128 } else { 64 };
    let res = if index == 0 {
        n
    } else {
        let lo = l.b.iconst(Type::I128, 8 * index as u128);
        let lo = l.b.lshr(n, lo);
        let hi = l.b.iconst(Type::I128, (width - 8 * index) as u128);
        let hi = l.b.shl(m, hi);
        l.b.or(lo, hi)
    };
    let res = l.b.convert(Opcode::Bitcast, res, Type::V128);
    l.set_v(f.get('d'), res, q);
    Ok(())
}

// ---------------------------------------------------------------------------------------
// Scalar floating point (single and double; half precision is not implemented).
//
// Approximations, from the IR's definitions: NaN results are the canonical quiet NaN (ARM
// propagates input NaN payloads unless FPCR.DN is set), rounding is always to nearest even
// (FPCR.RMode is ignored) and FPSR's cumulative exception flags are not updated.
// ---------------------------------------------------------------------------------------

/// The float type of an FP `type` field (`y`): 00 single, 01 double.
fn ftype(f: &Fields) -> Option<Type> {
    match f.get('y') {
        0 => Some(Type::F32),
        1 => Some(Type::F64),
        _ => None,
    }
}

fn fshape(t: Type) -> VecShape {
    if t == Type::F32 {
        VecShape::I32x4
    } else {
        VecShape::I64x2
    }
}

impl Lifter<'_, '_> {
    /// The low `t` of SIMD&FP register `r`.
    pub fn get_f(&mut self, r: u32, t: Type) -> Value {
        let sh = fshape(t);
        let v = self.get_v(r);
        let bits = self.b.vextract(sh, v, 0);
        self.b.convert(Opcode::Bitcast, bits, t)
    }
    /// Write a scalar float into register `r`, zeroing the rest of it.
    pub fn set_f(&mut self, r: u32, x: Value) {
        let t = self.b.region.ty(x);
        let sh = fshape(t);
        let bits = self.b.convert(Opcode::Bitcast, x, sh.lane_type());
        let zero = self.b.vconst(0);
        let v = self.b.vinsert(sh, zero, bits, 0);
        self.b.set_slot(self.regs.vreg[r as usize], v);
    }
}

/// FMUL/FDIV/FADD/FSUB/FMAX/FMIN/FNMUL (scalar), opcode in bits 15:12.
pub fn fp_two(l: &mut Lifter, f: &Fields) -> LiftResult {
    let t = ftype(f).ok_or(Reserved)?;
    let op = f.word >> 12 & 0xf;
    let x = l.get_f(f.get('n'), t);
    let y = l.get_f(f.get('m'), t);
    let fop = [Opcode::Fmul, Opcode::Fdiv, Opcode::Fadd, Opcode::Fsub, Opcode::Fmax, Opcode::Fmin];
    let res = match op {
        0..=5 => l.b.op(fop[op as usize], &[x, y]),
        _ => {
            let p = l.b.op(Opcode::Fmul, &[x, y]);
            l.b.op(Opcode::Fneg, &[p])
        }
    };
    l.set_f(f.get('d'), res);
    Ok(())
}

/// FMOV (register)/FABS/FNEG/FSQRT/FRINTN/FRINTP/FRINTM/FRINTZ (scalar), opcode in 20:15.
pub fn fp_one(l: &mut Lifter, f: &Fields) -> LiftResult {
    let t = ftype(f).ok_or(Reserved)?;
    let x = l.get_f(f.get('n'), t);
    let res = match f.word >> 15 & 0x3f {
        0 => x,
        1 => l.b.op(Opcode::Fabs, &[x]),
        2 => l.b.op(Opcode::Fneg, &[x]),
        3 => l.b.op(Opcode::Fsqrt, &[x]),
        8 => l.b.fround(RoundMode::Nearest, x),
        9 => l.b.fround(RoundMode::Ceil, x),
        10 => l.b.fround(RoundMode::Floor, x),
        _ => l.b.fround(RoundMode::Trunc, x),
    };
    l.set_f(f.get('d'), res);
    Ok(())
}

/// FCVT between single and double (bits 16:15 the destination type).
pub fn fp_cvt(l: &mut Lifter, f: &Fields) -> LiftResult {
    let t = ftype(f).ok_or(Reserved)?;
    let res = match (t, f.word >> 15 & 3) {
        (Type::F64, 0) => {
            let x = l.get_f(f.get('n'), t);
            l.b.convert(Opcode::Fdemote, x, Type::F32)
        }
        (Type::F32, 1) => {
            let x = l.get_f(f.get('n'), t);
            l.b.convert(Opcode::Fpromote, x, Type::F64)
        }
        _ => return Err(Reserved),
    };
    l.set_f(f.get('d'), res);
    Ok(())
}

/// FCMP/FCMPE (bit 4 E; bit 3 compares with +0.0): NZCV is 0110 equal, 1000 less,
/// 0010 greater, 0011 unordered.
pub fn fp_cmp(l: &mut Lifter, f: &Fields) -> LiftResult {
    let t = ftype(f).ok_or(Reserved)?;
    let x = l.get_f(f.get('n'), t);
    let y = if f.word >> 3 & 1 != 0 {
        if t == Type::F32 {
            l.b.f32(0.0)
        } else {
            l.b.f64(0.0)
        }
    } else {
        l.get_f(f.get('m'), t)
    };
    let n = l.b.fcmp(FloatCC::Lt, x, y);
    let z = l.b.fcmp(FloatCC::Eq, x, y);
    let v = l.b.fcmp(FloatCC::Uno, x, y);
    let c = l.not1(n);
    l.set_nzcv(n, z, c, v);
    Ok(())
}

/// FCSEL.
pub fn fp_csel(l: &mut Lifter, f: &Fields) -> LiftResult {
    let t = ftype(f).ok_or(Reserved)?;
    let c = l.cond(f.get('c'));
    let x = l.get_f(f.get('n'), t);
    let y = l.get_f(f.get('m'), t);
    let res = l.b.select(c, x, y);
    l.set_f(f.get('d'), res);
    Ok(())
}

/// FMADD/FMSUB/FNMADD/FNMSUB (bit 21 o1 negates the addend and the product's sign
/// together with bit 15 o0): fused, one rounding.
pub fn fp_fma(l: &mut Lifter, f: &Fields) -> LiftResult {
    let t = ftype(f).ok_or(Reserved)?;
    let x = l.get_f(f.get('n'), t);
    let y = l.get_f(f.get('m'), t);
    let a = l.get_f(f.get('a'), t);
    let (o1, o0) = (f.word >> 21 & 1 != 0, f.word >> 15 & 1 != 0);
    // FMADD a+n*m, FMSUB a-n*m, FNMADD -a-n*m, FNMSUB -a+n*m.
    let x = if o0 != o1 { l.b.op(Opcode::Fneg, &[x]) } else { x };
    let a = if o1 { l.b.op(Opcode::Fneg, &[a]) } else { a };
    let res = l.b.op(Opcode::Fma, &[x, y, a]);
    l.set_f(f.get('d'), res);
    Ok(())
}

/// SCVTF/UCVTF (general register to float, bit 16 unsigned).
pub fn fp_from_int(l: &mut Lifter, f: &Fields) -> LiftResult {
    let t = ftype(f).ok_or(Reserved)?;
    let x = l.x(f.get('n'), f.bit('f'));
    let op = if f.word >> 16 & 1 != 0 { Opcode::FcvtFromUint } else { Opcode::FcvtFromSint };
    let res = l.b.convert(op, x, t);
    l.set_f(f.get('d'), res);
    Ok(())
}

/// FCVTNS/FCVTNU/FCVTPS/FCVTPU/FCVTMS/FCVTMU/FCVTZS/FCVTZU: float to general register with
/// rounding mode rmode (bits 20:19: nearest, plus infinity, minus infinity, zero),
/// bit 16 unsigned; out-of-range values saturate and NaN converts to 0.
pub fn fp_to_int(l: &mut Lifter, f: &Fields) -> LiftResult {
    let t = ftype(f).ok_or(Reserved)?;
    let x = l.get_f(f.get('n'), t);
    let mode = [RoundMode::Nearest, RoundMode::Ceil, RoundMode::Floor, RoundMode::Trunc][(f.word >> 19 & 3) as usize];
    let x = if mode == RoundMode::Trunc { x } else { l.b.fround(mode, x) };
    let op = if f.word >> 16 & 1 != 0 { Opcode::FcvtToUint } else { Opcode::FcvtToSint };
    let sf = f.bit('f');
    let res = l.b.convert(op, x, if sf { Type::I64 } else { Type::I32 });
    l.set_x(f.get('d'), res);
    Ok(())
}

/// FMOV (scalar, immediate): the 8-bit float immediate `j`.
pub fn fp_fmov_imm(l: &mut Lifter, f: &Fields) -> LiftResult {
    let t = ftype(f).ok_or(Reserved)?;
    let imm8 = f.get('j');
    // The double-precision immediate: its top 32 bits are what FMOV (vector, single)
    // uses with fewer exponent bits; expand_simd_imm gives both.
    let res = if t == Type::F32 {
        let bits = expand_simd_imm(false, 0xf, imm8, true).expect("single") as u32;
        l.b.f32(f32::from_bits(bits))
    } else {
        let bits = expand_simd_imm(true, 0xf, imm8, true).expect("double");
        l.b.f64(f64::from_bits(bits))
    };
    l.set_f(f.get('d'), res);
    Ok(())
}
