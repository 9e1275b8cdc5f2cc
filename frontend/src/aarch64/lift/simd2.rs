//! A64 lifters, second part: the Advanced SIMD forms gcc and glibc emit beyond the
//! first subset (widening and narrowing ops, shifts with accumulate, FP vector
//! arithmetic, the scalar-register forms, conversions, structure loads and stores),
//! more scalar FP (ties-away rounding, NaN-aware min/max, conditional compares,
//! fixed-point conversions) and the cache-maintenance system instructions.
//!
//! Vector ops are lifted lane by lane (`vextract`, scalar op, `vinsert`): correct for
//! every lane shape, and Cranelift folds the lane traffic well enough for now.

use super::*;

/// Whether an Advanced SIMD word is a scalar form (bit 28 set: `01U11110...`).
fn is_scalar(word: u32) -> bool {
    word >> 28 & 1 != 0
}
fn q_of(word: u32) -> bool {
    word >> 30 & 1 != 0
}
fn u_of(word: u32) -> bool {
    word >> 29 & 1 != 0
}

impl Lifter<'_, '_> {
    /// Write lanes of element size `size` to Vd: a vector result (upper half zeroed when
    /// not `q`), or a scalar one (lane 0 only, the rest of the register zeroed).
    fn put_lanes(&mut self, d: u32, out: &[Value], size: u32, q: bool) {
        let v = self.build_vec(out, size);
        self.set_v(d, v, q || out.len() * (1 << size) > 8);
    }
    /// Lanes of Vn for a vector (`count` by Q) or scalar (lane 0) operation.
    fn src_lanes(&mut self, r: u32, size: u32, word: u32) -> Vec<Value> {
        let v = self.get_v(r);
        let count = if is_scalar(word) { 1 } else { nlanes(size, q_of(word)) };
        self.lanes(v, size, count)
    }
    fn ext(&mut self, x: Value, to: Type, unsigned: bool) -> Value {
        if unsigned {
            self.b.zext(x, to)
        } else {
            self.b.sext(x, to)
        }
    }
    /// The low (`upper` false) or high half of Vr as `8 >> size` elements.
    fn half_lanes(&mut self, r: u32, size: u32, upper: bool) -> Vec<Value> {
        let v = self.get_v(r);
        let count = 8 >> size;
        let all = self.lanes(v, size, 2 * count);
        if upper {
            all[count as usize..].to_vec()
        } else {
            all[..count as usize].to_vec()
        }
    }
    fn as_float(&mut self, bits: Value, t: Type) -> Value {
        self.b.convert(Opcode::Bitcast, bits, t)
    }
    fn as_bits(&mut self, x: Value) -> Value {
        let t = self.b.region.ty(x);
        let it = if t == Type::F32 { Type::I32 } else { Type::I64 };
        self.b.convert(Opcode::Bitcast, x, it)
    }
    fn fconst(&mut self, t: Type, v: f64) -> Value {
        if t == Type::F32 {
            self.b.f32(v as f32)
        } else {
            self.b.f64(v)
        }
    }
    /// Round to integral, ties away from zero (FRINTA): truncate, then step away from
    /// zero when the dropped fraction is at least one half (x - trunc(x) is exact).
    pub fn round_ties_away(&mut self, x: Value) -> Value {
        let t = self.b.region.ty(x);
        let r = self.b.fround(RoundMode::Trunc, x);
        let frac = self.b.op(Opcode::Fsub, &[x, r]);
        let frac = self.b.op(Opcode::Fabs, &[frac]);
        let half = self.fconst(t, 0.5);
        let up = self.b.fcmp(FloatCC::Ge, frac, half);
        let one = self.fconst(t, 1.0);
        let zero = self.fconst(t, 0.0);
        let neg = self.b.fcmp(FloatCC::Lt, x, zero);
        let minus_one = self.fconst(t, -1.0);
        let step = self.b.select(neg, minus_one, one);
        let stepped = self.b.op(Opcode::Fadd, &[r, step]);
        self.b.select(up, stepped, r)
    }
    /// FMAXNM/FMINNM: a quiet NaN operand loses to a number.
    fn fminmax_num(&mut self, max: bool, x: Value, y: Value) -> Value {
        let xn = self.b.fcmp(FloatCC::Uno, x, x);
        let yn = self.b.fcmp(FloatCC::Uno, y, y);
        let m = self.b.op(if max { Opcode::Fmax } else { Opcode::Fmin }, &[x, y]);
        let r = self.b.select(yn, x, m);
        self.b.select(xn, y, r)
    }
    /// One lane of an FP three-same op (`op` names the instruction).
    fn fp_lane_op(&mut self, op: &str, x: Value, y: Value, acc: Option<Value>) -> Value {
        let t = self.b.region.ty(x);
        let int_t = if t == Type::F32 { Type::I32 } else { Type::I64 };
        let mask = |l: &mut Self, c: Value| l.b.sext(c, int_t);
        let r = match op {
            "fadd" => self.b.op(Opcode::Fadd, &[x, y]),
            "fsub" => self.b.op(Opcode::Fsub, &[x, y]),
            "fmul" => self.b.op(Opcode::Fmul, &[x, y]),
            "fdiv" => self.b.op(Opcode::Fdiv, &[x, y]),
            "fmax" => self.b.op(Opcode::Fmax, &[x, y]),
            "fmin" => self.b.op(Opcode::Fmin, &[x, y]),
            "fmaxnm" => self.fminmax_num(true, x, y),
            "fminnm" => self.fminmax_num(false, x, y),
            "fabd" => {
                let d = self.b.op(Opcode::Fsub, &[x, y]);
                self.b.op(Opcode::Fabs, &[d])
            }
            "fmla" => self.b.op(Opcode::Fma, &[x, y, acc.expect("accumulator")]),
            "fmls" => {
                let nx = self.b.op(Opcode::Fneg, &[x]);
                self.b.op(Opcode::Fma, &[nx, y, acc.expect("accumulator")])
            }
            "fcmeq" | "fcmge" | "fcmgt" | "facge" | "facgt" => {
                let (x, y) = if op.starts_with("fac") {
                    (self.b.op(Opcode::Fabs, &[x]), self.b.op(Opcode::Fabs, &[y]))
                } else {
                    (x, y)
                };
                let cc = match op {
                    "fcmeq" => FloatCC::Eq,
                    "fcmge" | "facge" => FloatCC::Ge,
                    _ => FloatCC::Gt,
                };
                let c = self.b.fcmp(cc, x, y);
                return mask(self, c);
            }
            _ => unreachable!("fp op {op}"),
        };
        self.as_bits(r)
    }
}

/// SSHLL/USHLL, SSHLL2/USHLL2 (SXTL/UXTL are the shift-0 aliases): widen the low
/// (Q = 0) or high half of Vn and shift left.
pub fn simd_shll(l: &mut Lifter, f: &Fields) -> LiftResult {
    let immh = f.get('h');
    check(immh != 0 && immh < 8)?;
    let size = 31 - immh.leading_zeros();
    let shift = (immh << 3 | f.get('b')) - (8 << size);
    widen_shift(l, f, size, shift, u_of(f.word))
}

/// SHLL/SHLL2: widen the low (Q = 0) or high half of Vn, shifting left by the element
/// size.
pub fn simd_shll_max(l: &mut Lifter, f: &Fields) -> LiftResult {
    let size = f.get('s');
    check(size != 3)?;
    widen_shift(l, f, size, 8 << size, true)
}

/// Widen the low (Q = 0) or high half of Vn's lanes of `size` (zero- or sign-extended),
/// then shift them left: one vector widen and one vector shift.
fn widen_shift(l: &mut Lifter, f: &Fields, size: u32, shift: u32, unsigned: bool) -> LiftResult {
    let op = match (unsigned, q_of(f.word)) {
        (true, false) => Opcode::VuwidenLo,
        (true, true) => Opcode::VuwidenHi,
        (false, false) => Opcode::VswidenLo,
        (false, true) => Opcode::VswidenHi,
    };
    let n = l.get_v(f.get('n'));
    let mut v = l.b.vwiden(op, shape(size), n);
    if shift != 0 {
        let amount = l.b.iconst(Type::I32, shift as u128);
        v = l.b.vshift(Opcode::Vshl, shape(size + 1), v, amount);
    }
    l.set_v(f.get('d'), v, true);
    Ok(())
}

/// Three registers of different widths (bits 15:12 opcode, bit 29 U): ADDL/ADDW/SUBL/
/// SUBW, ADDHN/SUBHN (and the rounding RADDHN/RSUBHN), ABAL/ABDL, MLAL/MLSL, MULL, with
/// their "2" forms (Q = 1) that read the high halves or write the high half.
pub fn simd_three_diff(l: &mut Lifter, f: &Fields) -> LiftResult {
    let size = f.get('s');
    check(size != 3)?;
    let (q, u) = (q_of(f.word), u_of(f.word));
    let op = f.word >> 12 & 0xf;
    let (n, m, d) = (f.get('n'), f.get('m'), f.get('d'));
    let wide = shape(size + 1).lane_type();
    let count = 8 >> size;
    if matches!(op, 0b0100 | 0b0110) {
        // ADDHN/SUBHN: wide inputs, narrow high-half result.
        let vn = l.get_v(n);
        let xs = l.lanes(vn, size + 1, count);
        let vm = l.get_v(m);
        let ys = l.lanes(vm, size + 1, count);
        let half_bits = 8 << size;
        let mut out = if q {
            let old = l.get_v(d);
            l.lanes(old, size, count)
        } else {
            Vec::new()
        };
        for (x, y) in xs.into_iter().zip(ys) {
            let mut r = if op == 0b0100 { l.b.add(x, y) } else { l.b.sub(x, y) };
            if u {
                let round = l.b.iconst(wide, 1u128 << (half_bits - 1));
                r = l.b.add(r, round);
            }
            let r = l.shift(1, r, half_bits);
            out.push(l.b.trunc(r, shape(size).lane_type()));
        }
        l.put_lanes(d, &out, size, true);
        return Ok(());
    }
    let xs: Vec<Value> = if matches!(op, 0b0001 | 0b0011) {
        let vn = l.get_v(n);
        l.lanes(vn, size + 1, count)
    } else {
        let h = l.half_lanes(n, size, q);
        h.into_iter().map(|x| l.ext(x, wide, u)).collect()
    };
    let h = l.half_lanes(m, size, q);
    let ys: Vec<Value> = h.into_iter().map(|y| l.ext(y, wide, u)).collect();
    let acc: Vec<Value> = if matches!(op, 0b0101 | 0b1000 | 0b1010) {
        let vd = l.get_v(d);
        l.lanes(vd, size + 1, count)
    } else {
        Vec::new()
    };
    let mut out = Vec::new();
    for (i, (&x, &y)) in xs.iter().zip(&ys).enumerate() {
        let r = match op {
            0b0000 | 0b0001 => l.b.add(x, y),
            0b0010 | 0b0011 => l.b.sub(x, y),
            0b0101 | 0b0111 => {
                // Absolute difference of the extended values (no overflow in the wide type).
                let gt = l.b.icmp(if u { IntCC::Ugt } else { IntCC::Sgt }, x, y);
                let a = l.b.sub(x, y);
                let b = l.b.sub(y, x);
                let ad = l.b.select(gt, a, b);
                if op == 0b0101 {
                    l.b.add(acc[i], ad)
                } else {
                    ad
                }
            }
            0b1000 | 0b1010 | 0b1100 => {
                let p = l.b.op(Opcode::Mul, &[x, y]);
                match op {
                    0b1000 => l.b.add(acc[i], p),
                    0b1010 => l.b.sub(acc[i], p),
                    _ => p,
                }
            }
            _ => return Err(Reserved),
        };
        out.push(r);
    }
    l.put_lanes(d, &out, size + 1, true);
    Ok(())
}

/// FP vector three-same (and the scalar FABD/FCMxx forms): the instruction name picks
/// the lane op; bit 22 sz picks single or double.
pub fn simd_fp_three(l: &mut Lifter, f: &Fields) -> LiftResult {
    let sz = f.word >> 22 & 1;
    let scalar = is_scalar(f.word);
    let q = q_of(f.word);
    check(scalar || q || sz == 0)?;
    let t = if sz == 1 { Type::F64 } else { Type::F32 };
    let size = 2 + sz;
    let name = f.name();
    let pairwise = name.ends_with('p');
    let base = name.trim_end_matches('p');
    let xs = l.src_lanes(f.get('n'), size, f.word);
    let ys = l.src_lanes(f.get('m'), size, f.word);
    let acc = if matches!(base, "fmla" | "fmls") { Some(l.src_lanes(f.get('d'), size, f.word)) } else { None };
    let (xs, ys) = if pairwise {
        let all: Vec<Value> = xs.iter().chain(&ys).copied().collect();
        (all.iter().step_by(2).copied().collect::<Vec<_>>(), all.iter().skip(1).step_by(2).copied().collect())
    } else {
        (xs, ys)
    };
    let mut out = Vec::new();
    for (i, (&x, &y)) in xs.iter().zip(&ys).enumerate() {
        let fx = l.as_float(x, t);
        let fy = l.as_float(y, t);
        let a = acc.as_ref().map(|a| l.as_float(a[i], t));
        out.push(l.fp_lane_op(base, fx, fy, a));
    }
    l.put_lanes(f.get('d'), &out, size, q);
    Ok(())
}

/// FP vector two-register ops: FABS/FNEG/FSQRT, FRINT* (vector and scalar-SIMD),
/// SCVTF/UCVTF and FCVTZS/FCVTZU/FCVTNS/FCVTMS/FCVTPS/FCVTAS (and unsigned), vector or
/// scalar (bit 28), single or double (bit 22).
pub fn simd_fp_misc(l: &mut Lifter, f: &Fields) -> LiftResult {
    let sz = f.word >> 22 & 1;
    let scalar = is_scalar(f.word);
    let q = q_of(f.word);
    check(scalar || q || sz == 0)?;
    let t = if sz == 1 { Type::F64 } else { Type::F32 };
    let it = if sz == 1 { Type::I64 } else { Type::I32 };
    let size = 2 + sz;
    let name = f.name();
    let xs = l.src_lanes(f.get('n'), size, f.word);
    let mut out = Vec::new();
    for x in xs {
        let r = match name {
            "scvtf" | "ucvtf" => {
                let op = if name == "ucvtf" { Opcode::FcvtFromUint } else { Opcode::FcvtFromSint };
                let fv = l.b.convert(op, x, t);
                l.as_bits(fv)
            }
            _ => {
                let fx = l.as_float(x, t);
                match name {
                    "fabs" | "fneg" | "fsqrt" => {
                        let op = match name {
                            "fabs" => Opcode::Fabs,
                            "fneg" => Opcode::Fneg,
                            _ => Opcode::Fsqrt,
                        };
                        let r = l.b.op(op, &[fx]);
                        l.as_bits(r)
                    }
                    "frintn" | "frintp" | "frintm" | "frintz" | "frinta" | "frintx" | "frinti" => {
                        let r = l.round_named(name, fx);
                        l.as_bits(r)
                    }
                    _ => {
                        // fcvt[nmpza][su]
                        let mode = name.as_bytes()[4];
                        let unsigned = name.as_bytes()[5] == b'u';
                        let r = l.round_letter(mode, fx);
                        let op = if unsigned { Opcode::FcvtToUint } else { Opcode::FcvtToSint };
                        l.b.convert(op, r, it)
                    }
                }
            }
        };
        out.push(r);
    }
    l.put_lanes(f.get('d'), &out, size, q);
    Ok(())
}

impl Lifter<'_, '_> {
    /// FRINT<x> by name (FRINTX/FRINTI round in the current mode, through a helper).
    fn round_named(&mut self, name: &str, x: Value) -> Value {
        match name.as_bytes()[5] {
            b'x' | b'i' => {
                let t = self.b.region.ty(x);
                let bits = self.as_bits(x);
                let bits = if t == Type::F32 { self.b.zext(bits, Type::I64) } else { bits };
                let dbl = self.k(true, (t == Type::F64) as u64);
                let r = self.b.call(super::super::fpenv::helpers().frint_cur, &[bits, dbl]).expect("result");
                let r = if t == Type::F32 { self.b.trunc(r, Type::I32) } else { r };
                self.as_float(r, t)
            }
            c => self.round_letter(c, x),
        }
    }
    /// Round by the ARM ARM's letter: n nearest-even, p +inf, m -inf, z zero, a ties
    /// away, x/i current mode.
    fn round_letter(&mut self, letter: u8, x: Value) -> Value {
        match letter {
            b'p' => self.b.fround(RoundMode::Ceil, x),
            b'm' => self.b.fround(RoundMode::Floor, x),
            b'z' => x,
            b'a' => self.round_ties_away(x),
            _ => self.b.fround(RoundMode::Nearest, x),
        }
    }
}

/// FRINTA/FRINTX/FRINTI (scalar): ties away, and the current mode.
pub fn fp_round(l: &mut Lifter, f: &Fields) -> LiftResult {
    let t = ftype(f).ok_or(Reserved)?;
    let x = l.get_f(f.get('n'), t);
    let r = l.round_named(f.name(), x);
    l.set_f(f.get('d'), r);
    Ok(())
}

/// FMAXNM/FMINNM (scalar).
pub fn fp_minmax_num(l: &mut Lifter, f: &Fields) -> LiftResult {
    let t = ftype(f).ok_or(Reserved)?;
    let x = l.get_f(f.get('n'), t);
    let y = l.get_f(f.get('m'), t);
    let r = l.fminmax_num(f.name() == "fmaxnm", x, y);
    l.set_f(f.get('d'), r);
    Ok(())
}

/// FCCMP/FCCMPE: compare if the condition holds, else set NZCV to the immediate.
pub fn fp_ccmp(l: &mut Lifter, f: &Fields) -> LiftResult {
    let t = ftype(f).ok_or(Reserved)?;
    let c = l.cond(f.get('c'));
    let x = l.get_f(f.get('n'), t);
    let y = l.get_f(f.get('m'), t);
    let n = l.b.fcmp(FloatCC::Lt, x, y);
    let z = l.b.fcmp(FloatCC::Eq, x, y);
    let v = l.b.fcmp(FloatCC::Uno, x, y);
    let cf = l.not1(n);
    let nzcv = f.get('v');
    let mut flags = [n, z, cf, v];
    for (i, fl) in flags.iter_mut().enumerate() {
        let imm = l.b.bool(nzcv >> (3 - i) & 1 != 0);
        *fl = l.b.select(c, *fl, imm);
    }
    l.set_nzcv(flags[0], flags[1], flags[2], flags[3]);
    Ok(())
}

/// FCVTAS/FCVTAU (scalar to general register): ties-away rounding.
pub fn fp_to_int_away(l: &mut Lifter, f: &Fields) -> LiftResult {
    let t = ftype(f).ok_or(Reserved)?;
    let x = l.get_f(f.get('n'), t);
    let r = l.round_ties_away(x);
    let op = if f.word >> 16 & 1 != 0 { Opcode::FcvtToUint } else { Opcode::FcvtToSint };
    let res = l.b.convert(op, r, if f.bit('f') { Type::I64 } else { Type::I32 });
    l.set_x(f.get('d'), res);
    Ok(())
}

/// SCVTF/UCVTF and FCVTZS/FCVTZU (scalar, fixed-point): `64 - scale` fraction bits.
pub fn fp_fixed(l: &mut Lifter, f: &Fields) -> LiftResult {
    let t = ftype(f).ok_or(Reserved)?;
    let sf = f.bit('f');
    let scale = f.get('s');
    check(sf || scale >= 32)?;
    let fbits = 64 - scale as i32;
    let unsigned = f.word >> 16 & 1 != 0;
    if f.word >> 19 & 3 == 0 {
        // int -> float: convert, then divide by 2^fbits (exact power of two scaling).
        let x = l.x(f.get('n'), sf);
        let op = if unsigned { Opcode::FcvtFromUint } else { Opcode::FcvtFromSint };
        let fv = l.b.convert(op, x, t);
        let k = l.fconst(t, 2f64.powi(-fbits));
        let r = l.b.op(Opcode::Fmul, &[fv, k]);
        l.set_f(f.get('d'), r);
    } else {
        let x = l.get_f(f.get('n'), t);
        let k = l.fconst(t, 2f64.powi(fbits));
        let s = l.b.op(Opcode::Fmul, &[x, k]);
        let op = if unsigned { Opcode::FcvtToUint } else { Opcode::FcvtToSint };
        let r = l.b.convert(op, s, if sf { Type::I64 } else { Type::I32 });
        l.set_x(f.get('d'), r);
    }
    Ok(())
}

/// Scalar integer three-same on D registers: ADD/SUB/CMEQ/CMGT/CMGE/CMHI/CMHS/CMTST.
pub fn simd_scalar_three(l: &mut Lifter, f: &Fields) -> LiftResult {
    check(f.get('s') == 3)?;
    let n = l.get_v(f.get('n'));
    let m = l.get_v(f.get('m'));
    let x = l.b.vextract(VecShape::I64x2, n, 0);
    let y = l.b.vextract(VecShape::I64x2, m, 0);
    let r = match f.name() {
        "add" => l.b.add(x, y),
        "sub" => l.b.sub(x, y),
        name => {
            let c = match name {
                "cmeq" => l.b.icmp(IntCC::Eq, x, y),
                "cmgt" => l.b.icmp(IntCC::Sgt, x, y),
                "cmge" => l.b.icmp(IntCC::Sge, x, y),
                "cmhi" => l.b.icmp(IntCC::Ugt, x, y),
                "cmhs" => l.b.icmp(IntCC::Uge, x, y),
                _ => {
                    let a = l.b.and(x, y);
                    let z = l.b.iconst(Type::I64, 0);
                    l.b.icmp(IntCC::Ne, a, z)
                }
            };
            l.b.sext(c, Type::I64)
        }
    };
    l.put_lanes(f.get('d'), &[r], 3, false);
    Ok(())
}

/// ABS/NEG (vector, and scalar on D registers).
pub fn simd_abs_neg(l: &mut Lifter, f: &Fields) -> LiftResult {
    let size = f.get('s');
    let scalar = is_scalar(f.word);
    check(if scalar { size == 3 } else { q_of(f.word) || size != 3 })?;
    let xs = l.src_lanes(f.get('n'), size, f.word);
    let lt = shape(size).lane_type();
    let out: Vec<Value> = xs
        .into_iter()
        .map(|x| {
            let z = l.b.iconst(lt, 0);
            let neg = l.b.sub(z, x);
            if u_of(f.word) {
                neg
            } else {
                let c = l.b.icmp(IntCC::Slt, x, z);
                l.b.select(c, neg, x)
            }
        })
        .collect();
    l.put_lanes(f.get('d'), &out, size, q_of(f.word));
    Ok(())
}

/// ADDP (scalar): the two 64-bit lanes of Vn added.
pub fn simd_addp_scalar(l: &mut Lifter, f: &Fields) -> LiftResult {
    check(f.get('s') == 3)?;
    let n = l.get_v(f.get('n'));
    let a = l.b.vextract(VecShape::I64x2, n, 0);
    let b = l.b.vextract(VecShape::I64x2, n, 1);
    let r = l.b.add(a, b);
    l.put_lanes(f.get('d'), &[r], 3, false);
    Ok(())
}

/// FADDP/FMAXP/FMINP/FMAXNMP/FMINNMP (scalar): the two lanes of Vn combined.
pub fn simd_fp_pair_scalar(l: &mut Lifter, f: &Fields) -> LiftResult {
    let sz = f.word >> 22 & 1;
    let (t, size) = if sz == 1 { (Type::F64, 3) } else { (Type::F32, 2) };
    let n = l.get_v(f.get('n'));
    let a = l.b.vextract(shape(size), n, 0);
    let b = l.b.vextract(shape(size), n, 1);
    let (fa, fb) = (l.as_float(a, t), l.as_float(b, t));
    let op = f.name().trim_end_matches('p').to_string();
    let r = l.fp_lane_op(&op, fa, fb, None);
    l.put_lanes(f.get('d'), &[r], size, false);
    Ok(())
}

/// USRA/SSRA: shift right and accumulate (vector and scalar D).
pub fn simd_shift_acc(l: &mut Lifter, f: &Fields) -> LiftResult {
    let immh = f.get('h');
    let scalar = is_scalar(f.word);
    let q = q_of(f.word);
    check(immh != 0 && if scalar { immh >= 8 } else { immh < 8 || q })?;
    let size = 31 - immh.leading_zeros();
    let esize = 8 << size;
    let amount = 2 * esize - (immh << 3 | f.get('b'));
    let u = u_of(f.word);
    let xs = l.src_lanes(f.get('n'), size, f.word);
    let acc = l.src_lanes(f.get('d'), size, f.word);
    let lt = shape(size).lane_type();
    let out: Vec<Value> = xs
        .into_iter()
        .zip(acc)
        .map(|(x, a)| {
            let s = if amount >= esize {
                if u {
                    l.b.iconst(lt, 0)
                } else {
                    l.shift(2, x, esize - 1)
                }
            } else {
                l.shift(if u { 1 } else { 2 }, x, amount)
            };
            l.b.add(a, s)
        })
        .collect();
    l.put_lanes(f.get('d'), &out, size, q);
    Ok(())
}

/// MLA/MLS (vector), UABD/SABD, UABA/SABA, UHADD/SHADD, URHADD/SRHADD, UHSUB/SHSUB,
/// SSHL/USHL (by register, no saturation or rounding), UQADD/SQADD/UQSUB/SQSUB:
/// three-same integer ops lifted per lane by name.
pub fn simd_three_more(l: &mut Lifter, f: &Fields) -> LiftResult {
    let (q, size) = (q_of(f.word), f.get('s'));
    check(q || size != 3)?;
    let name = f.name();
    check(size != 3 || matches!(name, "sshl" | "ushl" | "uqadd" | "sqadd" | "uqsub" | "sqsub"))?;
    let u = u_of(f.word);
    let xs = l.src_lanes(f.get('n'), size, f.word);
    let ys = l.src_lanes(f.get('m'), size, f.word);
    let acc = if matches!(name, "mla" | "mls" | "uaba" | "saba") {
        l.src_lanes(f.get('d'), size, f.word)
    } else {
        Vec::new()
    };
    let lt = shape(size).lane_type();
    let bits = 8u32 << size;
    let wide = Type::I128;
    let mut out = Vec::new();
    for (i, (&x, &y)) in xs.iter().zip(&ys).enumerate() {
        let r = match name {
            "mla" | "mls" => {
                let p = l.b.op(Opcode::Mul, &[x, y]);
                if name == "mla" {
                    l.b.add(acc[i], p)
                } else {
                    l.b.sub(acc[i], p)
                }
            }
            "uabd" | "sabd" | "uaba" | "saba" => {
                let gt = l.b.icmp(if u { IntCC::Ugt } else { IntCC::Sgt }, x, y);
                let a = l.b.sub(x, y);
                let b = l.b.sub(y, x);
                let d = l.b.select(gt, a, b);
                if name.ends_with('a') {
                    l.b.add(acc[i], d)
                } else {
                    d
                }
            }
            "uhadd" | "shadd" | "urhadd" | "srhadd" | "uhsub" | "shsub" => {
                let (wx, wy) = (l.ext(x, wide, u), l.ext(y, wide, u));
                let mut s = if name.contains("sub") { l.b.sub(wx, wy) } else { l.b.add(wx, wy) };
                if name.contains('r') {
                    let one = l.b.iconst(wide, 1);
                    s = l.b.add(s, one);
                }
                let s = l.shift(2, s, 1);
                l.b.trunc(s, lt)
            }
            "sshl" | "ushl" => {
                // Shift by the signed low byte of each lane of Vm: left if positive.
                let sh = if lt == Type::I8 { y } else { l.b.trunc(y, Type::I8) };
                let sh = l.b.sext(sh, Type::I64);
                let wx = l.ext(x, Type::I128, u);
                let zero = l.b.iconst(Type::I64, 0);
                let neg = l.b.icmp(IntCC::Slt, sh, zero);
                let nsh = l.b.sub(zero, sh);
                let cap = l.b.iconst(Type::I64, 127);
                let c1 = l.b.icmp(IntCC::Ult, sh, cap);
                let lsh = l.b.select(c1, sh, cap);
                let c2 = l.b.icmp(IntCC::Ult, nsh, cap);
                let rsh = l.b.select(c2, nsh, cap);
                let lsh = l.b.zext(lsh, Type::I128);
                let rsh = l.b.zext(rsh, Type::I128);
                let left = l.b.op(Opcode::Shl, &[wx, lsh]);
                let right = l.b.op(if u { Opcode::Lshr } else { Opcode::Ashr }, &[wx, rsh]);
                let r = l.b.select(neg, right, left);
                l.b.trunc(r, lt)
            }
            _ => {
                // Saturating add/sub in a wider type, clamped.
                let (wx, wy) = (l.ext(x, wide, u), l.ext(y, wide, u));
                let s = if name.ends_with("sub") { l.b.sub(wx, wy) } else { l.b.add(wx, wy) };
                let (lo, hi): (i128, i128) =
                    if u { (0, (1i128 << bits) - 1) } else { (-(1i128 << (bits - 1)), (1i128 << (bits - 1)) - 1) };
                let lo = l.b.iconst(wide, lo as u128);
                let hi = l.b.iconst(wide, hi as u128);
                let c1 = l.b.icmp(IntCC::Slt, s, lo);
                let s = l.b.select(c1, lo, s);
                let c2 = l.b.icmp(IntCC::Sgt, s, hi);
                let s = l.b.select(c2, hi, s);
                l.b.trunc(s, lt)
            }
        };
        out.push(r);
    }
    l.put_lanes(f.get('d'), &out, size, q);
    Ok(())
}

/// UADDLV/SADDLV (sum across, widened) and UADDLP/SADDLP/UADALP/SADALP (pairwise long).
pub fn simd_add_long(l: &mut Lifter, f: &Fields) -> LiftResult {
    let (q, size) = (q_of(f.word), f.get('s'));
    check(size != 3 && (q || size != 2 || !f.name().ends_with('v')))?;
    let u = u_of(f.word);
    let xs = l.src_lanes(f.get('n'), size, f.word);
    let wide = shape(size + 1).lane_type();
    let ws: Vec<Value> = xs.into_iter().map(|x| l.ext(x, wide, u)).collect();
    if f.name().ends_with('v') {
        let mut acc = ws[0];
        for &w in &ws[1..] {
            acc = l.b.add(acc, w);
        }
        l.put_lanes(f.get('d'), &[acc], size + 1, true);
        return Ok(());
    }
    let accum = f.name().contains("adalp");
    let old = if accum {
        let vd = l.get_v(f.get('d'));
        l.lanes(vd, size + 1, ws.len() as u32 / 2)
    } else {
        Vec::new()
    };
    let mut out = Vec::new();
    for (i, p) in ws.chunks(2).enumerate() {
        let s = l.b.add(p[0], p[1]);
        out.push(if accum { l.b.add(old[i], s) } else { s });
    }
    l.put_lanes(f.get('d'), &out, size + 1, q);
    Ok(())
}

/// FMAXV/FMINV/FMAXNMV/FMINNMV (single precision, four lanes).
pub fn simd_fp_across(l: &mut Lifter, f: &Fields) -> LiftResult {
    check(q_of(f.word) && f.word >> 22 & 1 == 0)?;
    let xs = l.src_lanes(f.get('n'), 2, f.word);
    let op = f.name().trim_end_matches('v').to_string();
    let fl: Vec<Value> = xs.into_iter().map(|x| l.as_float(x, Type::F32)).collect();
    let mut acc = fl[0];
    for &x in &fl[1..] {
        let bits = l.fp_lane_op(&op, acc, x, None);
        acc = l.as_float(bits, Type::F32);
    }
    let bits = l.as_bits(acc);
    l.put_lanes(f.get('d'), &[bits], 2, true);
    Ok(())
}

/// MUL/MLA/MLS/FMUL/FMLA/FMLS (by element): Vm's lane `index` times every lane of Vn.
pub fn simd_by_elem(l: &mut Lifter, f: &Fields) -> LiftResult {
    let q = q_of(f.word);
    let name = f.name();
    let is_fp = name.starts_with('f');
    let (h, lbit, mbit) = (f.word >> 11 & 1, f.word >> 21 & 1, f.word >> 20 & 1);
    let (size, index, m) = if is_fp {
        let sz = f.word >> 22 & 1;
        check(q || sz == 0)?;
        if sz == 1 {
            check(lbit == 0)?;
            (3, h, f.get('m') | mbit << 4)
        } else {
            (2, h << 1 | lbit, f.get('m') | mbit << 4)
        }
    } else {
        match f.get('s') {
            1 => (1, h << 2 | lbit << 1 | mbit, f.get('m')),
            2 => (2, h << 1 | lbit, f.get('m') | mbit << 4),
            _ => return Err(Reserved),
        }
    };
    let vm = l.get_v(m);
    let e = l.b.vextract(shape(size), vm, index as u8);
    let xs = l.src_lanes(f.get('n'), size, f.word);
    let acc =
        if name.ends_with("la") || name.ends_with("ls") { l.src_lanes(f.get('d'), size, f.word) } else { Vec::new() };
    let t = if size == 3 { Type::F64 } else { Type::F32 };
    let mut out = Vec::new();
    for (i, &x) in xs.iter().enumerate() {
        let r = if is_fp {
            let (fx, fe) = (l.as_float(x, t), l.as_float(e, t));
            let a = acc.get(i).map(|&a| l.as_float(a, t));
            l.fp_lane_op(name, fx, fe, a)
        } else {
            let p = l.b.op(Opcode::Mul, &[x, e]);
            match name {
                "mla" => l.b.add(acc[i], p),
                "mls" => l.b.sub(acc[i], p),
                _ => p,
            }
        };
        out.push(r);
    }
    l.put_lanes(f.get('d'), &out, size, q);
    Ok(())
}

/// FCVTL/FCVTL2 (single to double, from the low or high half) and FCVTN/FCVTN2 (double
/// to single, into the low or high half).
pub fn simd_fcvt_long_narrow(l: &mut Lifter, f: &Fields) -> LiftResult {
    check(f.word >> 22 & 1 == 1)?;
    let q = q_of(f.word);
    let d = f.get('d');
    if f.name().starts_with("fcvtl") {
        let xs = l.half_lanes(f.get('n'), 2, q);
        let out: Vec<Value> = xs
            .into_iter()
            .map(|x| {
                let fx = l.as_float(x, Type::F32);
                let w = l.b.convert(Opcode::Fpromote, fx, Type::F64);
                l.as_bits(w)
            })
            .collect();
        l.put_lanes(d, &out, 3, true);
    } else {
        let vn = l.get_v(f.get('n'));
        let xs = l.lanes(vn, 3, 2);
        let mut out = if q {
            let old = l.get_v(d);
            l.lanes(old, 2, 2)
        } else {
            Vec::new()
        };
        for x in xs {
            let fx = l.as_float(x, Type::F64);
            let nv = l.b.convert(Opcode::Fdemote, fx, Type::F32);
            out.push(l.as_bits(nv));
        }
        l.put_lanes(d, &out, 2, true);
    }
    Ok(())
}

/// LD2/LD3/LD4 and ST2/ST3/ST4 (multiple structures), with post-index: elements are
/// interleaved in memory, register `t + r` holds element `r` of each structure.
pub fn simd_ldst_multi(l: &mut Lifter, f: &Fields) -> LiftResult {
    let (q, size) = (q_of(f.word), f.get('s'));
    check(q || size != 3)?;
    let regs = match f.word >> 12 & 0xf {
        0b1000 => 2,
        0b0100 => 3,
        0b0000 => 4,
        _ => return Err(Reserved),
    };
    let load = f.word >> 22 & 1 != 0;
    let (n, t) = (f.get('n'), f.get('t'));
    let base = l.x_sp(n, true);
    let ebytes = 1u64 << size;
    let count = nlanes(size, q) as u64;
    let lt = shape(size).lane_type();
    let mem = MemAttr::new(ebytes as u8, LE);
    if load {
        let mut vals: Vec<Vec<Value>> = vec![Vec::new(); regs];
        for e in 0..count {
            for (r, v) in vals.iter_mut().enumerate() {
                let off = l.k(true, (e * regs as u64 + r as u64) * ebytes);
                let addr = l.b.add(base, off);
                v.push(l.b.load(lt, mem, addr));
            }
        }
        for (r, v) in vals.iter().enumerate() {
            let reg = (t + r as u32) % 32;
            l.put_lanes(reg, v, size, q);
        }
    } else {
        let mut lanes = Vec::new();
        for r in 0..regs {
            let reg = (t + r as u32) % 32;
            let v = l.get_v(reg);
            lanes.push(l.lanes(v, size, count as u32));
        }
        for e in 0..count {
            for (r, lane) in lanes.iter().enumerate() {
                let off = l.k(true, (e * regs as u64 + r as u64) * ebytes);
                let addr = l.b.add(base, off);
                l.b.store(mem, addr, lane[e as usize]);
            }
        }
    }
    if f.word >> 23 & 1 != 0 {
        let m = f.get('m');
        let total = regs as u64 * count * ebytes;
        let step = if m == 31 { l.k(true, total) } else { l.x(m, true) };
        let moved = l.b.add(base, step);
        l.set_x_sp(n, moved);
    }
    Ok(())
}

/// LD1R (load one element and replicate to all lanes), with post-index.
pub fn simd_ld1r(l: &mut Lifter, f: &Fields) -> LiftResult {
    let (q, size) = (q_of(f.word), f.get('s'));
    let (n, t) = (f.get('n'), f.get('t'));
    let base = l.x_sp(n, true);
    let lt = shape(size).lane_type();
    let x = l.b.load(lt, MemAttr::new(1 << size, LE), base);
    let out = vec![x; nlanes(size, q) as usize];
    l.put_lanes(t, &out, size, q);
    if f.word >> 23 & 1 != 0 {
        let m = f.get('m');
        let step = if m == 31 { l.k(true, 1 << size) } else { l.x(m, true) };
        let moved = l.b.add(base, step);
        l.set_x_sp(n, moved);
    }
    Ok(())
}

/// LD1/ST1 (single structure): one lane, selected by Q:S:size (bits 30, 12, 11:10) and
/// the opcode's element size (bits 15:14), with post-index.
pub fn simd_ldst_lane(l: &mut Lifter, f: &Fields) -> LiftResult {
    let w = f.word;
    let (opc, s, sz) = (w >> 14 & 3, w >> 12 & 1, w >> 10 & 3);
    let qb = w >> 30 & 1;
    let (size, index) = match opc {
        0 => (0, qb << 3 | s << 2 | sz),
        1 => {
            check(sz & 1 == 0)?;
            (1, qb << 2 | s << 1 | sz >> 1)
        }
        2 if sz == 0 => (2, qb << 1 | s),
        2 if sz == 1 && s == 0 => (3, qb),
        _ => return Err(Reserved),
    };
    let (n, t) = (f.get('n'), f.get('t'));
    let base = l.x_sp(n, true);
    let lt = shape(size).lane_type();
    let mem = MemAttr::new(1 << size, LE);
    if w >> 22 & 1 != 0 {
        let x = l.b.load(lt, mem, base);
        let v = l.get_v(t);
        let v = l.b.vinsert(shape(size), v, x, index as u8);
        l.b.set_slot(l.regs.vreg[t as usize], v);
    } else {
        let v = l.get_v(t);
        let x = l.b.vextract(shape(size), v, index as u8);
        l.b.store(mem, base, x);
    }
    if w >> 23 & 1 != 0 {
        let m = f.get('m');
        let step = if m == 31 { l.k(true, 1 << size) } else { l.x(m, true) };
        let moved = l.b.add(base, step);
        l.set_x_sp(n, moved);
    }
    Ok(())
}

/// SYS: data-cache maintenance (DC CVAU/CVAC/CIVAC/CVAP/CVADP/CIVAC: no effect on
/// emulated memory), DC ZVA (zero a 64-byte block) and IC IVAU (the runtime drops
/// translations of the line: `exit_trap codesync`, resuming after it). IC IALLU and
/// other SYS operations are not accessible at EL0.
pub fn sys(l: &mut Lifter, f: &Fields) -> LiftResult {
    let (op1, crn, crm, op2) = (f.word >> 16 & 7, f.word >> 12 & 0xf, f.word >> 8 & 0xf, f.word >> 5 & 7);
    check(crn == 7 && op1 == 3)?;
    match (crm, op2) {
        // DC ZVA.
        (4, 1) => {
            let a = l.x(f.get('t'), true);
            let mask = l.k(true, !63);
            let a = l.b.and(a, mask);
            let z = l.b.vconst(0);
            for i in 0..4 {
                let off = l.k(true, 16 * i);
                let p = l.b.add(a, off);
                l.b.store(MemAttr::new(16, LE), p, z);
            }
        }
        // DC CVAC, CVAU, CIVAC, CVAP, CVADP.
        (10, 1) | (11, 1) | (14, 1) | (12, 1) | (13, 1) => {}
        // IC IVAU.
        (5, 1) => {
            l.b.exit_trap(TrapKind::CodeSync, l.pc);
        }
        _ => return Err(Reserved),
    }
    Ok(())
}
