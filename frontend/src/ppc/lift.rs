//! PowerPC lifters: one small function per table entry (or family), built from shared
//! helpers on [`Lifter`].
//!
//! Conventions: `(RA|0)` reads register 0 as zero in address and `addi` forms
//! ([`Lifter::ra0`]); results are computed on 64-bit values; in 32-bit mode effective
//! addresses are truncated to 32 bits and CR0/CA/OV describe the low word. A lifter that
//! finds an invalid form returns [`Reserved`] before emitting any IR; the caller then lifts
//! the word as `exit_trap illegal`.

use super::decode::Fields;
use super::{PpcMode, Regs};
use mimic_ir::*;

mod fpvec;
pub use fpvec::*;

/// The encoding is invalid or unimplemented (the lifter emitted nothing).
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
    /// Entry pc of the region (a branch back to it stays in the region).
    pub entry: u64,
    pub mode: PpcMode,
}

fn check(ok: bool) -> LiftResult {
    if ok {
        Ok(())
    } else {
        Err(Reserved)
    }
}

/// The ISA's `MASK(x, y)` on 64 bits (bit 0 is the most significant): ones from bit `x`
/// to bit `y`, wrapping around when `x > y`.
pub fn mask64(x: u32, y: u32) -> u64 {
    let lo = u64::MAX >> x;
    let hi = u64::MAX << (63 - y);
    if x <= y {
        lo & hi
    } else {
        lo | hi
    }
}

/// The CR bit named by the BO/BI test of a conditional branch, and whether the branch
/// decrements CTR: BO bit 0 (16) ignores the condition, bit 1 (8) is the value it must
/// have, bit 2 (4) leaves CTR alone, bit 3 (2) branches when CTR reaches zero.
struct Bo {
    test_cond: bool,
    cond_true: bool,
    dec_ctr: bool,
    ctr_zero: bool,
}

/// Whether BO is a defined encoding: the "z" bits of the decrement-and-test forms and of
/// branch-always must be zero, and the `at` hint 01 is reserved (objdump rejects these;
/// hardware ignores them).
///
/// 32-bit code follows the older architecture, where the low BO bit is the "y"
/// prediction bit and every hint is defined (32-bit glibc has `bne+` as BO 00101, for
/// one): there every BO is taken, as processors and QEMU do.
fn bo_valid(mode: PpcMode, o: u32) -> bool {
    if !mode.bits64 {
        return true;
    }
    match o & 0b10100 {
        0b10100 => o == 0b10100,
        0 => o & 1 == 0,
        0b00100 => o & 3 != 1,
        _ => !(o & 0b01000 == 0 && o & 1 == 1),
    }
}

fn bo(o: u32) -> Bo {
    Bo { test_cond: o & 16 == 0, cond_true: o & 8 != 0, dec_ctr: o & 4 == 0, ctr_zero: o & 2 != 0 }
}

impl Lifter<'_, '_> {
    pub fn k(&mut self, v: u64) -> Value {
        self.b.i64(v)
    }
    pub fn gpr(&mut self, r: u32) -> Value {
        self.b.get_slot(self.regs.r[r as usize])
    }
    /// `(RA|0)`.
    pub fn ra0(&mut self, r: u32) -> Value {
        if r == 0 {
            self.k(0)
        } else {
            self.gpr(r)
        }
    }
    pub fn set_gpr(&mut self, r: u32, v: Value) {
        let v = self.widen(v);
        self.b.set_slot(self.regs.r[r as usize], v);
    }
    /// An i64 from a narrower integer (zero-extended) or an i1.
    pub fn widen(&mut self, v: Value) -> Value {
        if self.b.region.ty(v) == Type::I64 {
            v
        } else {
            self.b.zext(v, Type::I64)
        }
    }
    pub fn low32(&mut self, v: Value) -> Value {
        self.b.trunc(v, Type::I32)
    }
    pub fn sext32(&mut self, v: Value) -> Value {
        let w = self.low32(v);
        self.b.sext(w, Type::I64)
    }
    pub fn zext32(&mut self, v: Value) -> Value {
        let w = self.low32(v);
        self.b.zext(w, Type::I64)
    }
    /// An effective address: truncated to 32 bits in 32-bit mode.
    pub fn ea_mode(&mut self, ea: Value) -> Value {
        if self.mode.bits64 {
            ea
        } else {
            self.zext32(ea)
        }
    }
    /// `(RA|0) + disp`.
    pub fn ea_d(&mut self, ra: u32, disp: i64) -> Value {
        let base = self.ra0(ra);
        let d = self.k(disp as u64);
        let ea = self.b.add(base, d);
        self.ea_mode(ea)
    }
    /// `(RA|0) + (RB)`.
    pub fn ea_x(&mut self, ra: u32, rb: u32) -> Value {
        let base = self.ra0(ra);
        let idx = self.gpr(rb);
        let ea = self.b.add(base, idx);
        self.ea_mode(ea)
    }
    pub fn mem(&self, size: u8) -> MemAttr {
        MemAttr::new(size, self.mode.endian())
    }
    pub fn not1(&mut self, x: Value) -> Value {
        let t = self.b.bool(true);
        self.b.xor(x, t)
    }
    pub fn cr(&mut self, bit: u32) -> Value {
        self.b.get_slot(self.regs.cr[bit as usize])
    }
    pub fn set_cr(&mut self, bit: u32, v: Value) {
        self.b.set_slot(self.regs.cr[bit as usize], v);
    }
    /// CR field `n` from LT, GT, EQ, SO.
    pub fn set_cr_field(&mut self, n: u32, bits: [Value; 4]) {
        for (i, v) in bits.into_iter().enumerate() {
            self.set_cr(4 * n + i as u32, v);
        }
    }
    /// A compare of `x` with `y` into CR field `n` (SO copied from XER).
    pub fn compare(&mut self, n: u32, x: Value, y: Value, signed: bool) {
        let (lt, gt) = if signed { (IntCC::Slt, IntCC::Sgt) } else { (IntCC::Ult, IntCC::Ugt) };
        let l = self.b.icmp(lt, x, y);
        let g = self.b.icmp(gt, x, y);
        let e = self.b.icmp(IntCC::Eq, x, y);
        let so = self.b.get_slot(self.regs.so);
        self.set_cr_field(n, [l, g, e, so]);
    }
    /// CR0 of a result (Rc = 1): compared with zero as a signed 64-bit (32-bit mode:
    /// 32-bit) value.
    pub fn record(&mut self, res: Value) {
        let v = if self.mode.bits64 { res } else { self.low32(res) };
        let t = self.b.region.ty(v);
        let zero = self.b.iconst(t, 0);
        self.compare(0, v, zero, true);
    }
    fn record_if(&mut self, f: &Fields, res: Value) {
        if f.bit('R') {
            self.record(res);
        }
    }
    /// Set OV and accumulate it into SO.
    pub fn set_ov(&mut self, ov: Value) {
        self.b.set_slot(self.regs.ov, ov);
        let so = self.b.get_slot(self.regs.so);
        let so = self.b.or(so, ov);
        self.b.set_slot(self.regs.so, so);
    }
    /// Leave the region for `target` if `c` holds, else go on (see AArch64's).
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
    fn jump_to(&mut self, target: u64) {
        if target == self.entry {
            self.b.jump(BlockId(0), &[]);
        } else {
            self.b.exit_jump(target);
        }
    }
    fn next_pc(&self) -> u64 {
        let n = self.pc.wrapping_add(4);
        if self.mode.bits64 {
            n
        } else {
            n & 0xffff_ffff
        }
    }
    /// The BO/BI condition of a conditional branch as an i1 (None: always), decrementing
    /// CTR when BO asks.
    fn branch_cond(&mut self, o: u32, bi: u32) -> Option<Value> {
        let bo = bo(o);
        let mut c = None;
        if bo.dec_ctr {
            let ctr = self.b.get_slot(self.regs.ctr);
            let one = self.k(1);
            let ctr = self.b.sub(ctr, one);
            self.b.set_slot(self.regs.ctr, ctr);
            let v = if self.mode.bits64 { ctr } else { self.low32(ctr) };
            let t = self.b.region.ty(v);
            let zero = self.b.iconst(t, 0);
            let cc = if bo.ctr_zero { IntCC::Eq } else { IntCC::Ne };
            c = Some(self.b.icmp(cc, v, zero));
        }
        if bo.test_cond {
            let bit = self.cr(bi);
            let t = if bo.cond_true { bit } else { self.not1(bit) };
            c = Some(match c {
                Some(x) => self.b.and(x, t),
                None => t,
            });
        }
        c
    }
}

// ---------------------------------------------------------------------------------------
// Integer arithmetic.
// ---------------------------------------------------------------------------------------

pub fn addi(l: &mut Lifter, f: &Fields) -> LiftResult {
    let mut imm = f.signed('i');
    if f.name() == "addis" {
        imm <<= 16;
    }
    let a = l.ra0(f.get('a'));
    let k = l.k(imm as u64);
    let r = l.b.add(a, k);
    l.set_gpr(f.get('d'), r);
    Ok(())
}

pub fn mulli(l: &mut Lifter, f: &Fields) -> LiftResult {
    let a = l.gpr(f.get('a'));
    let k = l.k(f.signed('i') as u64);
    let r = l.b.op(Opcode::Mul, &[a, k]);
    l.set_gpr(f.get('d'), r);
    Ok(())
}

impl Lifter<'_, '_> {
    /// `x + y + cin` with CA (and OV) of the mode's width: the one adder behind add,
    /// subf (x = !RA, cin = 1), the extended forms and the immediates.
    fn adder(&mut self, x: Value, y: Value, cin: Value, set_ca: bool, oe: bool) -> Value {
        let r = self.b.op(Opcode::Adc, &[x, y, cin]);
        let (xw, yw) = if self.mode.bits64 { (x, y) } else { (self.low32(x), self.low32(y)) };
        if set_ca {
            let ca = self.b.flag(Opcode::AdcCarry, &[xw, yw, cin]);
            self.b.set_slot(self.regs.ca, ca);
        }
        if oe {
            let ov = self.b.flag(Opcode::AdcOverflow, &[xw, yw, cin]);
            self.set_ov(ov);
        }
        r
    }
}

pub fn addic(l: &mut Lifter, f: &Fields) -> LiftResult {
    let a = l.gpr(f.get('a'));
    let k = l.k(f.signed('i') as u64);
    let z = l.b.bool(false);
    let r = l.adder(a, k, z, true, false);
    l.set_gpr(f.get('d'), r);
    if f.name() == "addic." {
        l.record(r);
    }
    Ok(())
}

pub fn subfic(l: &mut Lifter, f: &Fields) -> LiftResult {
    let a = l.gpr(f.get('a'));
    let na = l.b.op(Opcode::Not, &[a]);
    let k = l.k(f.signed('i') as u64);
    let one = l.b.bool(true);
    let r = l.adder(na, k, one, true, false);
    l.set_gpr(f.get('d'), r);
    Ok(())
}

/// The XO-form add/subtract family.
pub fn arith(l: &mut Lifter, f: &Fields) -> LiftResult {
    let name = f.name();
    let a = l.gpr(f.get('a'));
    let sub = name.starts_with("subf") || name == "neg";
    let x = if sub { l.b.op(Opcode::Not, &[a]) } else { a };
    let y = match name {
        "addze" | "subfze" | "neg" => l.k(0),
        "addme" | "subfme" => l.k(u64::MAX),
        _ => l.gpr(f.get('b')),
    };
    let cin = match name {
        "adde" | "subfe" | "addze" | "subfze" | "addme" | "subfme" => l.b.get_slot(l.regs.ca),
        "subf" | "subfc" | "neg" => l.b.bool(true),
        _ => l.b.bool(false),
    };
    let set_ca = !matches!(name, "add" | "subf" | "neg");
    let r = l.adder(x, y, cin, set_ca, f.bit('O'));
    l.set_gpr(f.get('d'), r);
    l.record_if(f, r);
    Ok(())
}

/// mulld/mullw (OE), mulhd/mulhdu/mulhw/mulhwu.
pub fn mul(l: &mut Lifter, f: &Fields) -> LiftResult {
    let a = l.gpr(f.get('a'));
    let b = l.gpr(f.get('b'));
    let r = match f.name() {
        "mulld" => {
            let r = l.b.op(Opcode::Mul, &[a, b]);
            if f.bit('O') {
                let hi = l.b.op(Opcode::Smulh, &[a, b]);
                let sixty3 = l.k(63);
                let sign = l.b.ashr(r, sixty3);
                let ov = l.b.icmp(IntCC::Ne, hi, sign);
                l.set_ov(ov);
            }
            r
        }
        "mullw" => {
            let (a, b) = (l.sext32(a), l.sext32(b));
            let r = l.b.op(Opcode::Mul, &[a, b]);
            if f.bit('O') {
                let s = l.sext32(r);
                let ov = l.b.icmp(IntCC::Ne, s, r);
                l.set_ov(ov);
            }
            r
        }
        "mulhd" => l.b.op(Opcode::Smulh, &[a, b]),
        "mulhdu" => l.b.op(Opcode::Umulh, &[a, b]),
        "mulhw" | "mulhwu" => {
            let s = f.name() == "mulhw";
            let (a, b) = if s { (l.sext32(a), l.sext32(b)) } else { (l.zext32(a), l.zext32(b)) };
            let p = l.b.op(Opcode::Mul, &[a, b]);
            let k = l.k(32);
            let h = l.b.lshr(p, k);
            // The upper word of the result is undefined; QEMU leaves the product's.
            if s {
                l.sext32(h)
            } else {
                l.zext32(h)
            }
        }
        _ => return Err(Reserved),
    };
    l.set_gpr(f.get('d'), r);
    l.record_if(f, r);
    Ok(())
}

/// divd/divdu/divw/divwu (and the extended word forms): the ISA leaves the quotient of a
/// division by zero (or MIN / -1) undefined; QEMU divides by 1 instead, so the result is
/// the dividend, and so does mimic (OV is set for them).
pub fn div(l: &mut Lifter, f: &Fields) -> LiftResult {
    let name = f.name();
    let word = name.contains('w');
    let signed = !name.ends_with('u') && !name.ends_with("eu");
    let ext = name.starts_with("divde") || name.starts_with("divwe");
    let a = l.gpr(f.get('a'));
    let b = l.gpr(f.get('b'));
    if ext && !word {
        return divde(l, f, signed, a, b);
    }
    let (x, y) = match (word, signed) {
        (true, true) => (l.sext32(a), l.sext32(b)),
        (true, false) => (l.zext32(a), l.zext32(b)),
        _ => (a, b),
    };
    let x = if ext {
        let k = l.k(32);
        l.b.shl(x, k)
    } else {
        x
    };
    let zero = l.k(0);
    let by_zero = l.b.icmp(IntCC::Eq, y, zero);
    let mut bad = by_zero;
    if signed {
        let min = if word && !ext { l.k(i32::MIN as i64 as u64) } else { l.k(i64::MIN as u64) };
        let m1 = l.k(u64::MAX);
        let is_min = l.b.icmp(IntCC::Eq, x, min);
        let is_m1 = l.b.icmp(IntCC::Eq, y, m1);
        let ovf = l.b.and(is_min, is_m1);
        bad = l.b.or(bad, ovf);
    }
    let one = l.k(1);
    let y = l.b.select(bad, one, y);
    let q = l.b.op(if signed { Opcode::Sdiv } else { Opcode::Udiv }, &[x, y]);
    let mut ov = bad;
    let q = if word {
        // The upper word of the result is undefined: QEMU zero-extends the quotient.
        if ext {
            // A quotient that does not fit in the word is undefined: 0, as in QEMU;
            // else the upper word (undefined too) is its extension, as in QEMU.
            let fits = if signed { l.sext32(q) } else { l.zext32(q) };
            let over = l.b.icmp(IntCC::Ne, fits, q);
            ov = l.b.or(bad, over);
            let zero = l.k(0);
            l.b.select(ov, zero, q)
        } else {
            l.zext32(q)
        }
    } else {
        q
    };
    if f.bit('O') {
        l.set_ov(ov);
    }
    l.set_gpr(f.get('d'), q);
    if f.bit('R') {
        l.record(q);
    }
    Ok(())
}

/// divde/divdeu: a 128-bit dividend (`ra` in the high doubleword) by a helper, as the
/// IR's divides stop at 64 bits.
fn divde(l: &mut Lifter, f: &Fields, signed: bool, a: Value, b: Value) -> LiftResult {
    let h = super::fpenv::helpers().divde;
    let mode = l.k(signed as u64);
    let q = l.b.call(h, &[a, b, mode]).expect("result");
    if f.bit('O') {
        let mode = l.k(signed as u64 | 2);
        let ov = l.b.call(h, &[a, b, mode]).expect("result");
        let zero = l.k(0);
        let ov = l.b.icmp(IntCC::Ne, ov, zero);
        l.set_ov(ov);
    }
    l.set_gpr(f.get('d'), q);
    if f.bit('R') {
        l.record(q);
    }
    Ok(())
}

/// modsd/modud/modsw/moduw: remainder; by zero (and MIN % -1) gives 0 as QEMU does.
pub fn modulo(l: &mut Lifter, f: &Fields) -> LiftResult {
    let name = f.name();
    let signed = name.starts_with("mods");
    let word = name.ends_with('w');
    let a = l.gpr(f.get('a'));
    let b = l.gpr(f.get('b'));
    let (x, y) = match (word, signed) {
        (true, true) => (l.sext32(a), l.sext32(b)),
        (true, false) => (l.zext32(a), l.zext32(b)),
        _ => (a, b),
    };
    let zero = l.k(0);
    let by_zero = l.b.icmp(IntCC::Eq, y, zero);
    let r = l.b.op(if signed { Opcode::Srem } else { Opcode::Urem }, &[x, y]);
    let r = l.b.select(by_zero, zero, r);
    let r = if word && signed { l.sext32(r) } else { r };
    l.set_gpr(f.get('d'), r);
    Ok(())
}

// ---------------------------------------------------------------------------------------
// Compares and traps.
// ---------------------------------------------------------------------------------------

impl Lifter<'_, '_> {
    /// Operands of a compare: 64-bit (L = 1) or the low words extended.
    fn cmp_operands(&mut self, l64: bool, signed: bool, a: Value, b: Value) -> (Value, Value) {
        if l64 {
            (a, b)
        } else if signed {
            (self.sext32(a), self.sext32(b))
        } else {
            (self.zext32(a), self.zext32(b))
        }
    }
}

pub fn cmp_imm(l: &mut Lifter, f: &Fields) -> LiftResult {
    let signed = f.name() == "cmpi";
    let a = l.gpr(f.get('a'));
    let k = if signed { f.signed('i') as u64 } else { f.get('u') as u64 };
    let k = l.k(k);
    let (x, y) = l.cmp_operands(f.bit('L'), signed, a, k);
    l.compare(f.get('f'), x, y, signed);
    Ok(())
}

pub fn cmp_reg(l: &mut Lifter, f: &Fields) -> LiftResult {
    let signed = f.name() == "cmp";
    let a = l.gpr(f.get('a'));
    let b = l.gpr(f.get('b'));
    let (x, y) = l.cmp_operands(f.bit('L'), signed, a, b);
    l.compare(f.get('f'), x, y, signed);
    Ok(())
}

impl Lifter<'_, '_> {
    /// tw/td/twi/tdi: trap (SIGTRAP, as Linux delivers a program-check trap) when any
    /// TO condition holds.
    fn trap(&mut self, to: u32, x: Value, y: Value) {
        let mut c: Option<Value> = None;
        for (bit, cc) in [(16, IntCC::Slt), (8, IntCC::Sgt), (4, IntCC::Eq), (2, IntCC::Ult), (1, IntCC::Ugt)] {
            if to & bit != 0 {
                let t = self.b.icmp(cc, x, y);
                c = Some(match c {
                    Some(p) => self.b.or(p, t),
                    None => t,
                });
            }
        }
        let Some(c) = c else { return };
        if to & 0b11100 == 0b11100 || to & 0b00111 == 0b00111 {
            self.b.exit_trap(TrapKind::Breakpoint, self.pc);
            return;
        }
        let (taken, not) = (self.b.create_block(), self.b.create_block());
        self.b.brif(c, taken, &[], not, &[]);
        self.b.switch_to(taken);
        self.b.exit_trap(TrapKind::Breakpoint, self.pc);
        self.b.switch_to(not);
        let n = self.next_pc();
        self.b.exit_jump(n);
    }
}

pub fn trap_imm(l: &mut Lifter, f: &Fields) -> LiftResult {
    let a = l.gpr(f.get('a'));
    let k = l.k(f.signed('i') as u64);
    let (x, y) = if f.name() == "twi" { (l.sext32(a), l.sext32(k)) } else { (a, k) };
    l.trap(f.get('o'), x, y);
    Ok(())
}

pub fn trap_reg(l: &mut Lifter, f: &Fields) -> LiftResult {
    let a = l.gpr(f.get('a'));
    let b = l.gpr(f.get('b'));
    let (x, y) = if f.name() == "tw" { (l.sext32(a), l.sext32(b)) } else { (a, b) };
    l.trap(f.get('o'), x, y);
    Ok(())
}

// ---------------------------------------------------------------------------------------
// Logical, shifts, rotates, counts.
// ---------------------------------------------------------------------------------------

pub fn logic_imm(l: &mut Lifter, f: &Fields) -> LiftResult {
    let name = f.name();
    let u = f.get('u') as u64;
    let u = if name.contains("is") { u << 16 } else { u };
    let s = l.gpr(f.get('d'));
    let k = l.k(u);
    let r = match name {
        "ori" | "oris" => l.b.or(s, k),
        "xori" | "xoris" => l.b.xor(s, k),
        _ => l.b.and(s, k),
    };
    l.set_gpr(f.get('a'), r);
    if name.ends_with('.') {
        l.record(r);
    }
    Ok(())
}

pub fn logic_reg(l: &mut Lifter, f: &Fields) -> LiftResult {
    let s = l.gpr(f.get('d'));
    let b = l.gpr(f.get('b'));
    let r = match f.name() {
        "and" => l.b.and(s, b),
        "or" => l.b.or(s, b),
        "xor" => l.b.xor(s, b),
        "andc" => {
            let nb = l.b.op(Opcode::Not, &[b]);
            l.b.and(s, nb)
        }
        "orc" => {
            let nb = l.b.op(Opcode::Not, &[b]);
            l.b.or(s, nb)
        }
        "nor" | "nand" | "eqv" => {
            let r = match f.name() {
                "nor" => l.b.or(s, b),
                "nand" => l.b.and(s, b),
                _ => l.b.xor(s, b),
            };
            l.b.op(Opcode::Not, &[r])
        }
        _ => return Err(Reserved),
    };
    l.set_gpr(f.get('a'), r);
    l.record_if(f, r);
    Ok(())
}

/// slw/srw/sraw/sld/srd/srad: the amount is the low 6 (word) or 7 (doubleword) bits of
/// RB; amounts of the width or more shift everything out.
pub fn shift_reg(l: &mut Lifter, f: &Fields) -> LiftResult {
    let name = f.name();
    let word = name.ends_with('w');
    let s = l.gpr(f.get('d'));
    let b = l.gpr(f.get('b'));
    let width = if word { 32 } else { 64 };
    let m = l.k(if word { 0x3f } else { 0x7f });
    let n = l.b.and(b, m);
    let wk = l.k(width);
    let big = l.b.icmp(IntCC::Uge, n, wk);
    let zero = l.k(0);
    let r = match name {
        "slw" | "srw" => {
            let x = l.zext32(s);
            let r = if name == "slw" { l.b.shl(x, n) } else { l.b.lshr(x, n) };
            let r = l.zext32(r);
            l.b.select(big, zero, r)
        }
        "sld" | "srd" => {
            let r = if name == "sld" { l.b.shl(s, n) } else { l.b.lshr(s, n) };
            l.b.select(big, zero, r)
        }
        _ => {
            // sraw/srad: CA = negative and any 1 bits shifted out.
            let x = if word { l.sext32(s) } else { s };
            let k63 = l.k(63);
            let n2 = l.b.select(big, k63, n);
            let r = l.b.ashr(x, n2);
            let back = l.b.shl(r, n2);
            let lost = l.b.icmp(IntCC::Ne, back, x);
            let neg = l.b.icmp(IntCC::Slt, x, zero);
            let ca = l.b.and(neg, lost);
            l.b.set_slot(l.regs.ca, ca);
            r
        }
    };
    l.set_gpr(f.get('a'), r);
    l.record_if(f, r);
    Ok(())
}

/// srawi/sradi (CA as for sraw) and extswsli.
pub fn shift_imm(l: &mut Lifter, f: &Fields) -> LiftResult {
    let name = f.name();
    let sh = f.get('s') | if name == "srawi" { 0 } else { f.get('S') << 5 };
    let s = l.gpr(f.get('d'));
    let r = if name == "extswsli" {
        let x = l.sext32(s);
        let k = l.k(sh as u64);
        l.b.shl(x, k)
    } else {
        let x = if name == "srawi" { l.sext32(s) } else { s };
        let k = l.k(sh as u64);
        let r = l.b.ashr(x, k);
        let back = l.b.shl(r, k);
        let lost = l.b.icmp(IntCC::Ne, back, x);
        let zero = l.k(0);
        let neg = l.b.icmp(IntCC::Slt, x, zero);
        let ca = l.b.and(neg, lost);
        l.b.set_slot(l.regs.ca, ca);
        r
    };
    l.set_gpr(f.get('a'), r);
    l.record_if(f, r);
    Ok(())
}

impl Lifter<'_, '_> {
    /// `rotl(x, n) & m` in `x`'s width `bits`: a plain shift when the mask keeps exactly
    /// the bits a shift by a constant `n` would (slwi/srwi/sldi/srdi and friends are
    /// rotates with such masks), else the rotate and the mask.
    fn rotl_mask(&mut self, x: Value, n: Value, sh: Option<u32>, m: u64, bits: u32) -> Value {
        let ty = if bits == 32 { Type::I32 } else { Type::I64 };
        let ones = u64::MAX >> (64 - bits);
        let k = |l: &mut Self, v: u64| l.b.iconst(ty, v as u128);
        match sh {
            Some(0) if m == ones => x,
            Some(sh) if sh > 0 && m == (ones << sh) & ones => {
                let kk = k(self, sh as u64);
                self.b.shl(x, kk)
            }
            Some(sh) if sh > 0 && m == ones >> (bits - sh) => {
                let kk = k(self, (bits - sh) as u64);
                self.b.op(Opcode::Lshr, &[x, kk])
            }
            _ => {
                let r = self.b.op(Opcode::Rotl, &[x, n]);
                if m == ones {
                    r
                } else {
                    let mk = k(self, m);
                    self.b.and(r, mk)
                }
            }
        }
    }
    /// ROTL32 of the low word, replicated into both halves (the ISA's `ROTL32`).
    fn rotl32_dup(&mut self, s: Value, n: Value) -> Value {
        let w = self.low32(s);
        let n32 = self.low32(n);
        let r = self.b.op(Opcode::Rotl, &[w, n32]);
        let r = self.b.zext(r, Type::I64);
        let k = self.k(32);
        let hi = self.b.shl(r, k);
        self.b.or(hi, r)
    }
}

/// rlwinm/rlwnm/rlwimi.
pub fn rlw(l: &mut Lifter, f: &Fields) -> LiftResult {
    let name = f.name();
    let s = l.gpr(f.get('d'));
    let (n, sh) = if name == "rlwnm" {
        let b = l.gpr(f.get('b'));
        let m = l.k(31);
        (l.b.and(b, m), None)
    } else {
        (l.k(f.get('s') as u64), Some(f.get('s')))
    };
    let m = mask64(f.get('m') + 32, f.get('e') + 32);
    let mut r = if m >> 32 == 0 {
        // The mask keeps only the low word: the replicated high half never shows.
        let (w, n32) = (l.low32(s), l.low32(n));
        let r = l.rotl_mask(w, n32, sh, m, 32);
        l.b.zext(r, Type::I64)
    } else {
        let rot = l.rotl32_dup(s, n);
        let mk = l.k(m);
        l.b.and(rot, mk)
    };
    if name == "rlwimi" {
        let a = l.gpr(f.get('a'));
        let nm = l.k(!m);
        let keep = l.b.and(a, nm);
        r = l.b.or(r, keep);
    }
    l.set_gpr(f.get('a'), r);
    l.record_if(f, r);
    Ok(())
}

/// rldicl/rldicr/rldic/rldimi/rldcl/rldcr.
pub fn rld(l: &mut Lifter, f: &Fields) -> LiftResult {
    let name = f.name();
    let s = l.gpr(f.get('d'));
    let mb = f.get('M') << 5 | f.get('m');
    let (n, sh) = if name.starts_with("rldc") {
        let b = l.gpr(f.get('b'));
        let m = l.k(63);
        (l.b.and(b, m), None)
    } else {
        let sh = f.get('S') << 5 | f.get('s');
        (l.k(sh as u64), Some(sh))
    };
    let m = match name {
        "rldicl" | "rldcl" => mask64(mb, 63),
        "rldicr" | "rldcr" => mask64(0, mb),
        _ => mask64(mb, 63 - sh.expect("immediate form")),
    };
    let mut r = l.rotl_mask(s, n, sh, m, 64);
    if name == "rldimi" {
        let a = l.gpr(f.get('a'));
        let nm = l.k(!m);
        let keep = l.b.and(a, nm);
        r = l.b.or(r, keep);
    }
    l.set_gpr(f.get('a'), r);
    l.record_if(f, r);
    Ok(())
}

/// cntlz*, cnttz*, exts*, popcnt*, prty*.
pub fn unary(l: &mut Lifter, f: &Fields) -> LiftResult {
    let s = l.gpr(f.get('d'));
    let r = match f.name() {
        "cntlzw" | "cnttzw" => {
            let w = l.low32(s);
            let op = if f.name() == "cntlzw" { Opcode::Clz } else { Opcode::Ctz };
            let c = l.b.op(op, &[w]);
            l.b.zext(c, Type::I64)
        }
        "cntlzd" => l.b.op(Opcode::Clz, &[s]),
        "cnttzd" => l.b.op(Opcode::Ctz, &[s]),
        "extsb" => {
            let b = l.b.trunc(s, Type::I8);
            l.b.sext(b, Type::I64)
        }
        "extsh" => {
            let h = l.b.trunc(s, Type::I16);
            l.b.sext(h, Type::I64)
        }
        "extsw" => l.sext32(s),
        "popcntd" => l.b.op(Opcode::Popcnt, &[s]),
        "popcntw" => {
            let lo = l.low32(s);
            let k = l.k(32);
            let hi = l.b.lshr(s, k);
            let hi = l.low32(hi);
            let (pl, ph) = (l.b.op(Opcode::Popcnt, &[lo]), l.b.op(Opcode::Popcnt, &[hi]));
            let (pl, ph) = (l.b.zext(pl, Type::I64), l.b.zext(ph, Type::I64));
            let ph = l.b.shl(ph, k);
            l.b.or(pl, ph)
        }
        "popcntb" => {
            let mut acc = l.k(0);
            for i in 0..8 {
                let k = l.k(8 * i);
                let byte = l.b.lshr(s, k);
                let byte = l.b.trunc(byte, Type::I8);
                let p = l.b.op(Opcode::Popcnt, &[byte]);
                let p = l.b.zext(p, Type::I64);
                let p = l.b.shl(p, k);
                acc = l.b.or(acc, p);
            }
            acc
        }
        "prtyd" | "prtyw" => {
            // Parity of the least significant bits of each byte (per word for prtyw).
            let m = l.k(0x0101_0101_0101_0101);
            let x = l.b.and(s, m);
            if f.name() == "prtyd" {
                let p = l.b.op(Opcode::Popcnt, &[x]);
                let one = l.k(1);
                l.b.and(p, one)
            } else {
                let lo = l.low32(x);
                let k = l.k(32);
                let hi = l.b.lshr(x, k);
                let hi = l.low32(hi);
                let (pl, ph) = (l.b.op(Opcode::Popcnt, &[lo]), l.b.op(Opcode::Popcnt, &[hi]));
                let (pl, ph) = (l.b.zext(pl, Type::I64), l.b.zext(ph, Type::I64));
                let one = l.k(1);
                let (pl, ph) = (l.b.and(pl, one), l.b.and(ph, one));
                let ph = l.b.shl(ph, k);
                l.b.or(pl, ph)
            }
        }
        _ => return Err(Reserved),
    };
    l.set_gpr(f.get('a'), r);
    if matches!(f.name(), "cntlzw" | "cnttzw") && f.bit('R') {
        // CR0 of the 64-bit result (small and non-negative).
        l.record(r);
    } else if f.name().starts_with("ext") || f.name().starts_with("cnt") {
        l.record_if(f, r);
    }
    Ok(())
}

/// cmpb: bytes equal -> 0xff, else 0x00.
pub fn cmpb(l: &mut Lifter, f: &Fields) -> LiftResult {
    let s = l.gpr(f.get('d'));
    let b = l.gpr(f.get('b'));
    let x = l.b.xor(s, b);
    let mut acc = l.k(0);
    for i in 0..8 {
        let m = l.k(0xff << (8 * i));
        let byte = l.b.and(x, m);
        let zero = l.k(0);
        let eq = l.b.icmp(IntCC::Eq, byte, zero);
        let r = l.b.select(eq, m, zero);
        acc = l.b.or(acc, r);
    }
    l.set_gpr(f.get('a'), acc);
    Ok(())
}

/// bpermd: gather the bits of RB selected by the bytes of RS (bit 0 = MSB numbering).
pub fn bpermd(l: &mut Lifter, f: &Fields) -> LiftResult {
    let s = l.gpr(f.get('d'));
    let b = l.gpr(f.get('b'));
    let mut acc = l.k(0);
    for i in 0..8u64 {
        let k = l.k(8 * (7 - i));
        let idx = l.b.lshr(s, k);
        let ff = l.k(0xff);
        let idx = l.b.and(idx, ff);
        let k64 = l.k(64);
        let inr = l.b.icmp(IntCC::Ult, idx, k64);
        let k63 = l.k(63);
        let sh = l.b.sub(k63, idx);
        let bit = l.b.lshr(b, sh);
        let one = l.k(1);
        let bit = l.b.and(bit, one);
        let zero = l.k(0);
        let bit = l.b.select(inr, bit, zero);
        let pos = l.k(7 - i);
        let bit = l.b.shl(bit, pos);
        acc = l.b.or(acc, bit);
    }
    l.set_gpr(f.get('a'), acc);
    Ok(())
}

/// isel: RT = CR[BC] ? (RA|0) : RB.
pub fn isel(l: &mut Lifter, f: &Fields) -> LiftResult {
    let c = l.cr(f.get('c'));
    let a = l.ra0(f.get('a'));
    let b = l.gpr(f.get('b'));
    let r = l.b.select(c, a, b);
    l.set_gpr(f.get('d'), r);
    Ok(())
}

// ---------------------------------------------------------------------------------------
// Branches, CR logic, special registers, system calls.
// ---------------------------------------------------------------------------------------

pub fn branch(l: &mut Lifter, f: &Fields) -> LiftResult {
    let off = f.signed('i') << 2;
    let target = if f.bit('A') { off as u64 } else { l.pc.wrapping_add(off as u64) };
    if f.bit('k') {
        let ret = l.next_pc();
        let r = l.k(ret);
        l.b.set_slot(l.regs.lr, r);
        l.b.exit_call(target, ret);
    } else {
        l.jump_to(target);
    }
    Ok(())
}

pub fn branch_cond(l: &mut Lifter, f: &Fields) -> LiftResult {
    check(bo_valid(l.mode, f.get('o')))?;
    let off = f.signed('i') << 2;
    let target = if f.bit('A') { off as u64 } else { l.pc.wrapping_add(off as u64) };
    let c = l.branch_cond(f.get('o'), f.get('B'));
    if f.bit('k') {
        let ret = l.next_pc();
        let r = l.k(ret);
        l.b.set_slot(l.regs.lr, r);
    }
    match c {
        Some(c) => l.branch_if(c, target),
        None => l.jump_to(target),
    }
    Ok(())
}

/// bclr/bcctr/bctar: the target is read before LK updates LR.
pub fn branch_lr_ctr(l: &mut Lifter, f: &Fields) -> LiftResult {
    let name = f.name();
    let o = f.get('o');
    check(bo_valid(l.mode, o) && f.get('h') != 2)?;
    if name == "bcctr" && o & 4 == 0 {
        return Err(Reserved); // bcctr with CTR decrement is invalid
    }
    let slot = match name {
        "bclr" => l.regs.lr,
        "bcctr" => l.regs.ctr,
        _ => l.regs.tar,
    };
    let t = l.b.get_slot(slot);
    let m = l.k(!3);
    let target = l.b.and(t, m);
    let target = l.ea_mode(target);
    let c = l.branch_cond(o, f.get('B'));
    let hint = if f.bit('k') {
        let ret = l.next_pc();
        let r = l.k(ret);
        l.b.set_slot(l.regs.lr, r);
        ExitHint::Call
    } else if name == "bclr" {
        ExitHint::Ret
    } else {
        ExitHint::None
    };
    match c {
        None => l.b.exit_indirect(target, hint),
        Some(c) => {
            let (taken, not) = (l.b.create_block(), l.b.create_block());
            l.b.brif(c, taken, &[], not, &[]);
            l.b.switch_to(taken);
            l.b.exit_indirect(target, hint);
            l.b.switch_to(not);
        }
    }
    Ok(())
}

pub fn sc(l: &mut Lifter, _: &Fields) -> LiftResult {
    let n = l.next_pc();
    l.b.exit_syscall(n);
    Ok(())
}

pub fn cr_logic(l: &mut Lifter, f: &Fields) -> LiftResult {
    let a = l.cr(f.get('a'));
    let b = l.cr(f.get('b'));
    let r = match f.name() {
        "crand" => l.b.and(a, b),
        "cror" => l.b.or(a, b),
        "crxor" => l.b.xor(a, b),
        "crnand" => {
            let x = l.b.and(a, b);
            l.not1(x)
        }
        "crnor" => {
            let x = l.b.or(a, b);
            l.not1(x)
        }
        "creqv" => {
            let x = l.b.xor(a, b);
            l.not1(x)
        }
        "crandc" => {
            let nb = l.not1(b);
            l.b.and(a, nb)
        }
        "crorc" => {
            let nb = l.not1(b);
            l.b.or(a, nb)
        }
        _ => return Err(Reserved),
    };
    l.set_cr(f.get('d'), r);
    Ok(())
}

pub fn mcrf(l: &mut Lifter, f: &Fields) -> LiftResult {
    let (d, s) = (f.get('f'), f.get('g'));
    let bits: [Value; 4] = std::array::from_fn(|i| l.b.get_slot(l.regs.cr[(4 * s) as usize + i]));
    l.set_cr_field(d, bits);
    Ok(())
}

impl Lifter<'_, '_> {
    /// CR field `n` as a 4-bit value at bits 3..0 (LT = 8).
    pub fn cr_field_value(&mut self, n: u32) -> Value {
        let mut acc = self.k(0);
        for i in 0..4 {
            let bit = self.cr(4 * n + i);
            let v = self.b.zext(bit, Type::I64);
            let k = self.k(3 - i as u64);
            let v = self.b.shl(v, k);
            acc = self.b.or(acc, v);
        }
        acc
    }
    /// The whole CR as a 32-bit value (zero-extended).
    pub fn cr_value(&mut self) -> Value {
        let mut acc = self.k(0);
        for n in 0..8 {
            let v = self.cr_field_value(n);
            let k = self.k(4 * (7 - n) as u64);
            let v = self.b.shl(v, k);
            acc = self.b.or(acc, v);
        }
        acc
    }
    /// Set CR field `n` from bits 3..0 of `v`.
    pub fn set_cr_field_value(&mut self, n: u32, v: Value) {
        for i in 0..4 {
            let k = self.k(3 - i as u64);
            let b = self.b.lshr(v, k);
            let b = self.b.trunc(b, Type::I1);
            self.set_cr(4 * n + i, b);
        }
    }
    pub fn xer_value(&mut self) -> Value {
        let r = self.regs;
        let mut acc = self.b.get_slot(r.xer_bc);
        for (slot, bit) in [(r.so, 31), (r.ov, 30), (r.ca, 29)] {
            let v = self.b.get_slot(slot);
            let v = self.b.zext(v, Type::I64);
            let k = self.k(bit);
            let v = self.b.shl(v, k);
            acc = self.b.or(acc, v);
        }
        acc
    }
    pub fn set_xer(&mut self, v: Value) {
        let r = self.regs;
        for (slot, bit) in [(r.so, 31), (r.ov, 30), (r.ca, 29)] {
            let k = self.k(bit);
            let b = self.b.lshr(v, k);
            let b = self.b.trunc(b, Type::I1);
            self.b.set_slot(slot, b);
        }
        let m = self.k(0x7f);
        let bc = self.b.and(v, m);
        self.b.set_slot(r.xer_bc, bc);
    }
}

/// mfcr/mfocrf (mfocrf: only the one named field, the others zero, as QEMU does).
pub fn mfcr(l: &mut Lifter, f: &Fields) -> LiftResult {
    let r = if f.name() == "mfocrf" {
        let fxm = f.get('c');
        if fxm.count_ones() != 1 {
            return Err(Reserved);
        }
        let n = fxm.leading_zeros() - 24;
        let v = l.cr_field_value(n);
        let k = l.k(4 * (7 - n) as u64);
        l.b.shl(v, k)
    } else {
        l.cr_value()
    };
    l.set_gpr(f.get('d'), r);
    Ok(())
}

pub fn mtcrf(l: &mut Lifter, f: &Fields) -> LiftResult {
    let fxm = f.get('c');
    if f.name() == "mtocrf" && fxm.count_ones() != 1 {
        return Err(Reserved);
    }
    let s = l.gpr(f.get('d'));
    for n in 0..8 {
        if fxm & (0x80 >> n) != 0 {
            let k = l.k(4 * (7 - n) as u64);
            let v = l.b.lshr(s, k);
            l.set_cr_field_value(n, v);
        }
    }
    Ok(())
}

const SPR_XER: u32 = 1;
const SPR_DSCR: u32 = 3;
const SPR_LR: u32 = 8;
const SPR_CTR: u32 = 9;
const SPR_VRSAVE: u32 = 256;
const SPR_TB: u32 = 268;
const SPR_TBU: u32 = 269;
const SPR_PVR: u32 = 287;
const SPR_TAR: u32 = 815;
/// The processor version Linux's mfpvr emulation reports: a POWER8 (DD2.0) in 64-bit
/// mode, a PowerPC 7400 (G4, with AltiVec, as AT_HWCAP says) in 32-bit mode.
const PVR_POWER8: u64 = 0x004d_0200;
const PVR_7400: u64 = 0x000c_0209;
const SPR_PPR: u32 = 896;

/// The SPR number of mfspr/mtspr/mftb (its two 5-bit halves are swapped in the word).
fn spr(f: &Fields) -> u32 {
    let p = f.get('p');
    (p & 31) << 5 | p >> 5
}

pub fn mfspr(l: &mut Lifter, f: &Fields) -> LiftResult {
    let r = l.regs;
    if f.name() == "mftb" && spr(f) != SPR_TB {
        return Err(Reserved);
    }
    let v = match spr(f) {
        SPR_XER => l.xer_value(),
        SPR_LR => l.b.get_slot(r.lr),
        SPR_CTR => l.b.get_slot(r.ctr),
        SPR_TAR => l.b.get_slot(r.tar),
        SPR_VRSAVE => {
            let v = l.b.get_slot(r.vrsave);
            l.b.zext(v, Type::I64)
        }
        SPR_TB | SPR_TBU => {
            let t = l.b.call(super::fpenv::helpers().timebase, &[]).expect("result");
            if spr(f) == SPR_TBU {
                let k = l.k(32);
                l.b.lshr(t, k)
            } else {
                t
            }
        }
        SPR_DSCR => l.k(0),
        SPR_PPR => l.k(0x000c_0000_0000_0000),
        SPR_PVR => l.k(if l.mode.bits64 { PVR_POWER8 } else { PVR_7400 }),
        _ => return Err(Reserved),
    };
    l.set_gpr(f.get('d'), v);
    Ok(())
}

pub fn mtspr(l: &mut Lifter, f: &Fields) -> LiftResult {
    let r = l.regs;
    let v = l.gpr(f.get('d'));
    match spr(f) {
        SPR_XER => l.set_xer(v),
        SPR_LR => l.b.set_slot(r.lr, v),
        SPR_CTR => l.b.set_slot(r.ctr, v),
        SPR_TAR => l.b.set_slot(r.tar, v),
        SPR_VRSAVE => {
            let w = l.low32(v);
            l.b.set_slot(r.vrsave, w);
        }
        SPR_DSCR | SPR_PPR => {}
        _ => return Err(Reserved),
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------
// Memory.
// ---------------------------------------------------------------------------------------

/// (size, signed, store, update, byte-reversed) of an integer load/store mnemonic.
fn access(name: &str) -> Option<(u8, bool, bool, bool, bool)> {
    let brx = name.ends_with("brx");
    let base = name.trim_end_matches('x');
    let update = base.ends_with('u') && !brx;
    let base = if update { &base[..base.len() - 1] } else { base };
    let (store, rest) =
        if let Some(r) = base.strip_prefix("st") { (true, r) } else { (false, base.strip_prefix('l')?) };
    let size = match rest.chars().next()? {
        'b' => 1,
        'h' => 2,
        'w' => 4,
        'd' => 8,
        _ => return None,
    };
    let signed = !store && rest[1..].starts_with('a');
    Some((size, signed, store, update, brx))
}

impl Lifter<'_, '_> {
    fn load_store(&mut self, name: &str, rt: u32, ra: u32, ea: Value) -> LiftResult {
        let (size, signed, store, update, brx) = access(name).ok_or(Reserved)?;
        if update && (ra == 0 || (!store && ra == rt)) {
            return Err(Reserved);
        }
        let mut mem = self.mem(size);
        if brx {
            mem.endian = if self.mode.big_endian { Endian::Little } else { Endian::Big };
        }
        if store {
            let v = self.gpr(rt);
            let t = Type::int_of_bits(size as u32 * 8).expect("size");
            let v = if t == Type::I64 { v } else { self.b.trunc(v, t) };
            self.b.store(mem, ea, v);
        } else {
            let mem = if signed { mem.signed() } else { mem };
            let v = self.b.load(Type::I64, mem, ea);
            self.set_gpr(rt, v);
        }
        if update {
            self.set_gpr(ra, ea);
        }
        Ok(())
    }
}

pub fn ldst_d(l: &mut Lifter, f: &Fields) -> LiftResult {
    let ea = l.ea_d(f.get('a'), f.signed('i'));
    l.load_store(f.name(), f.get('d'), f.get('a'), ea)
}

pub fn ldst_ds(l: &mut Lifter, f: &Fields) -> LiftResult {
    if !l.mode.bits64 {
        return Err(Reserved);
    }
    let ea = l.ea_d(f.get('a'), f.signed('i') << 2);
    l.load_store(f.name(), f.get('d'), f.get('a'), ea)
}

pub fn ldst_x(l: &mut Lifter, f: &Fields) -> LiftResult {
    let ea = l.ea_x(f.get('a'), f.get('b'));
    l.load_store(f.name(), f.get('d'), f.get('a'), ea)
}

/// lq/stq: an even register pair, RT the doubleword at the lower address in big-endian
/// mode and the upper one in little-endian mode (the ISA's quadword order).
pub fn lq_stq(l: &mut Lifter, f: &Fields) -> LiftResult {
    let rt = f.get('d');
    if !l.mode.bits64 || !rt.is_multiple_of(2) || (f.name() == "lq" && rt == f.get('a')) {
        return Err(Reserved);
    }
    let disp = if f.name() == "lq" { f.signed('i') << 4 } else { f.signed('i') << 2 };
    let ea = l.ea_d(f.get('a'), disp);
    let eight = l.k(8);
    let ea8 = l.b.add(ea, eight);
    let (first, second) = if l.mode.big_endian { (rt, rt + 1) } else { (rt + 1, rt) };
    let mem = l.mem(8);
    if f.name() == "lq" {
        let a = l.b.load(Type::I64, mem, ea);
        let b = l.b.load(Type::I64, mem, ea8);
        l.set_gpr(first, a);
        l.set_gpr(second, b);
    } else {
        let a = l.gpr(first);
        let b = l.gpr(second);
        l.b.store(mem, ea, a);
        l.b.store(mem, ea8, b);
    }
    Ok(())
}

/// lmw/stmw: registers RT..r31, words.
pub fn lmw_stmw(l: &mut Lifter, f: &Fields) -> LiftResult {
    let (rt, ra) = (f.get('d'), f.get('a'));
    let load = f.name() == "lmw";
    if load && ra >= rt {
        return Err(Reserved);
    }
    let ea = l.ea_d(ra, f.signed('i'));
    let mem = l.mem(4);
    for (i, r) in (rt..32).enumerate() {
        let k = l.k(4 * i as u64);
        let a = l.b.add(ea, k);
        let a = l.ea_mode(a);
        if load {
            let v = l.b.load(Type::I64, mem, a);
            l.set_gpr(r, v);
        } else {
            let v = l.gpr(r);
            let v = l.low32(v);
            l.b.store(mem, a, v);
        }
    }
    Ok(())
}

/// lswi/stswi: NB bytes (0 means 32) through registers RT.., four per register, the first
/// byte most significant, big-endian regardless of the mode's byte order.
pub fn lswi_stswi(l: &mut Lifter, f: &Fields) -> LiftResult {
    let (rt, ra) = (f.get('d'), f.get('a'));
    let nb = if f.get('n') == 0 { 32 } else { f.get('n') };
    let load = f.name() == "lswi";
    let nregs = nb.div_ceil(4);
    if load && (0..nregs).any(|i| (rt + i) % 32 == ra && ra != 0) {
        return Err(Reserved);
    }
    let ea = l.ra0(ra);
    let ea = l.ea_mode(ea);
    let mem = MemAttr::new(1, Endian::Little);
    for i in 0..nregs {
        let r = (rt + i) % 32;
        let mut acc = l.k(0);
        let v = if load { None } else { Some(l.gpr(r)) };
        for j in 0..4 {
            let n = 4 * i + j;
            if n >= nb {
                break;
            }
            let k = l.k(n as u64);
            let a = l.b.add(ea, k);
            let a = l.ea_mode(a);
            let sh = l.k(24 - 8 * j as u64);
            match v {
                None => {
                    let byte = l.b.load(Type::I64, mem, a);
                    let byte = l.b.shl(byte, sh);
                    acc = l.b.or(acc, byte);
                }
                Some(v) => {
                    let byte = l.b.lshr(v, sh);
                    let byte = l.b.trunc(byte, Type::I8);
                    l.b.store(mem, a, byte);
                }
            }
        }
        if load {
            l.set_gpr(r, acc);
        }
    }
    Ok(())
}

/// lbarx/lharx/lwarx/ldarx/lqarx: load and reserve. lqarx loads an even register pair
/// (in little-endian mode RT+1 gets the doubleword at the lower address).
pub fn load_reserve(l: &mut Lifter, f: &Fields) -> LiftResult {
    let size = match f.name() {
        "lbarx" => 1,
        "lharx" => 2,
        "lwarx" => 4,
        "ldarx" => 8,
        _ => 16,
    };
    let rt = f.get('d');
    if size == 16
        && (!rt.is_multiple_of(2)
            || rt == f.get('a')
            || rt + 1 == f.get('a')
            || rt == f.get('b')
            || rt + 1 == f.get('b'))
    {
        return Err(Reserved);
    }
    let ea = l.ea_x(f.get('a'), f.get('b'));
    let mem = l.mem(size).aligned();
    let r = l.regs;
    let t = l.b.bool(true);
    if size == 16 {
        let q = l.b.load(Type::I128, mem, ea);
        let k = l.b.iconst(Type::I128, 64);
        let hi = l.b.lshr(q, k);
        let (hi, lo) = (l.b.trunc(hi, Type::I64), l.b.trunc(q, Type::I64));
        l.b.set_slot(r.resv_valid, t);
        l.b.set_slot(r.resv_addr, ea);
        l.b.set_slot(r.resv_val, lo);
        l.b.set_slot(r.resv_val_hi, hi);
        // The ISA's order: RT holds the doubleword at the lower address in big-endian
        // mode, the one at the higher address in little-endian mode; either way, the
        // upper half of the quadword loaded in the mode's byte order.
        l.set_gpr(rt, hi);
        l.set_gpr(rt + 1, lo);
        return Ok(());
    }
    let v = l.b.load(Type::I64, mem, ea);
    l.b.set_slot(r.resv_valid, t);
    l.b.set_slot(r.resv_addr, ea);
    l.b.set_slot(r.resv_val, v);
    l.set_gpr(rt, v);
    Ok(())
}

/// stbcx./sthcx./stwcx./stdcx./stqcx.: if the reservation is for this address, store with a
/// compare-and-swap against the value the larx saw; CR0 = 0b00 || success || SO; the
/// reservation is cleared either way.
pub fn store_cond(l: &mut Lifter, f: &Fields) -> LiftResult {
    let size: u8 = match f.name() {
        "stbcx." => 1,
        "sthcx." => 2,
        "stwcx." => 4,
        "stdcx." => 8,
        _ => 16,
    };
    let vt = Type::int_of_bits(size as u32 * 8).expect("size");
    let rs = f.get('d');
    if size == 16 && !rs.is_multiple_of(2) {
        return Err(Reserved);
    }
    let ea = l.ea_x(f.get('a'), f.get('b'));
    let mem = l.mem(size).aligned();
    let v = if size == 16 {
        l.quad_image(rs)
    } else {
        let v = l.gpr(rs);
        if vt == Type::I64 {
            v
        } else {
            l.b.trunc(v, vt)
        }
    };
    let r = l.regs;
    let valid = l.b.get_slot(r.resv_valid);
    let armed = l.b.get_slot(r.resv_addr);
    let same = l.b.icmp(IntCC::Eq, armed, ea);
    let ok = l.b.and(valid, same);
    let (try_store, fail, done) = (l.b.create_block(), l.b.create_block(), l.b.create_block());
    let success = l.b.append_param(done, Type::I1);
    l.b.brif(ok, try_store, &[], fail, &[]);
    l.b.switch_to(try_store);
    let expected = l.b.get_slot(r.resv_val);
    let expected = if size == 16 {
        let lo = l.b.zext(expected, Type::I128);
        let hi = l.b.get_slot(r.resv_val_hi);
        let hi = l.b.zext(hi, Type::I128);
        let k = l.b.iconst(Type::I128, 64);
        let hi = l.b.shl(hi, k);
        l.b.or(hi, lo)
    } else if vt == Type::I64 {
        expected
    } else {
        l.b.trunc(expected, vt)
    };
    let old = l.b.cas(mem, ea, expected, v);
    let won = l.b.icmp(IntCC::Eq, old, expected);
    l.b.jump(done, &[won]);
    l.b.switch_to(fail);
    let no = l.b.bool(false);
    l.b.jump(done, &[no]);
    l.b.switch_to(done);
    let f0 = l.b.bool(false);
    l.b.set_slot(r.resv_valid, f0);
    let so = l.b.get_slot(r.so);
    l.set_cr_field(0, [f0, f0, success, so]);
    Ok(())
}

impl Lifter<'_, '_> {
    /// The memory image (as an i128 in memory order) of the register pair RS, RS+1.
    fn quad_image(&mut self, rs: u32) -> Value {
        let a = self.gpr(rs);
        let b = self.gpr(rs + 1);
        // RS is the upper half of the quadword in the mode's byte order (as for lqarx).
        let hi = self.b.zext(a, Type::I128);
        let lo = self.b.zext(b, Type::I128);
        let k = self.b.iconst(Type::I128, 64);
        let hi = self.b.shl(hi, k);
        self.b.or(hi, lo)
    }
}

/// sync/lwsync/eieio/isync: a full fence (sync's L = 3 is reserved).
pub fn fence(l: &mut Lifter, f: &Fields) -> LiftResult {
    if f.has('l') && f.get('l') == 3 {
        return Err(Reserved);
    }
    l.b.fence(FenceKind::SeqCst);
    Ok(())
}

/// Cache hints and flushes (dcbt, dcbtst, dcbst, dcbf, icbt): nothing to do (dcbf's
/// L = 2 is reserved).
pub fn nop(_: &mut Lifter, f: &Fields) -> LiftResult {
    if f.name() == "dcbf" && f.get('l') == 2 {
        return Err(Reserved);
    }
    Ok(())
}

/// Data cache block size dcbz clears (what QEMU reports in AT_DCACHEBSIZE for POWER).
pub const DCACHE_LINE: u64 = 128;

/// dcbz: zero the 128-byte block holding the effective address.
pub fn dcbz(l: &mut Lifter, f: &Fields) -> LiftResult {
    let ea = l.ea_x(f.get('a'), f.get('b'));
    let m = l.k(!(DCACHE_LINE - 1));
    let base = l.b.and(ea, m);
    let z = l.b.vconst(0);
    for i in 0..DCACHE_LINE / 16 {
        let k = l.k(16 * i);
        let a = l.b.add(base, k);
        l.b.store(MemAttr::new(16, Endian::Little), a, z);
    }
    Ok(())
}

/// icbi: the runtime drops translations of the named block (`exit_trap codesync`; it
/// reads RA and RB from the word) and resumes after it.
pub fn icbi(l: &mut Lifter, _: &Fields) -> LiftResult {
    l.b.exit_trap(TrapKind::CodeSync, l.pc);
    Ok(())
}
