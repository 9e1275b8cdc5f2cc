//! The reference interpreter: the definition of every op.
//!
//! Values are held as `u128` bit patterns masked to their type's width (i1 is 0 or 1,
//! floats are their IEEE bits). [`eval_pure`] gives the meaning of every op that has no
//! effect beyond its result; constant folding calls it, so folding can never disagree
//! with execution. [`run`] executes a whole region against a state buffer and a
//! [`Memory`]. The Cranelift backend is tested against this file.

use crate::layout::StateBuf;
use crate::ops::*;
use crate::region::*;
use crate::Type;
use std::sync::atomic::{AtomicBool, Ordering};

/// Canonical quiet NaNs produced by every arithmetic float op.
pub const CANON_NAN_F32: u32 = 0x7fc0_0000;
pub const CANON_NAN_F64: u64 = 0x7ff8_0000_0000_0000;

/// How a guest memory access failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FaultKind {
    /// No mapping at the address (SIGSEGV, SEGV_MAPERR).
    Unmapped,
    /// Mapped, but the access is not permitted (SIGSEGV, SEGV_ACCERR).
    Protection,
    /// Compiled code computed a host address outside the host's address space; the
    /// hardware does not report it, so `addr` is unknown (reported as 0).
    OutOfRange,
    /// Mapped, but there is nothing behind it: a file mapping past the end of its file
    /// (SIGBUS, BUS_ADRERR).
    Bus,
}

/// A failed guest memory access.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MemFault {
    pub addr: u64,
    pub write: bool,
    pub kind: FaultKind,
}

/// Guest memory as the interpreter sees it.
///
/// `cas` works on the raw memory image: the `size` bytes at `addr` read as a
/// little-endian integer, whatever the guest's endianness.
pub trait Memory {
    fn read(&mut self, addr: u64, buf: &mut [u8]) -> Result<(), MemFault>;
    fn write(&mut self, addr: u64, data: &[u8]) -> Result<(), MemFault>;
    /// Compare-and-swap of `size` bytes (1, 2, 4, 8 or 16).
    fn cas(&mut self, addr: u64, size: u8, expected: u128, new: u128) -> Result<u128, MemFault> {
        let n = size as usize;
        let mut b = [0u8; 16];
        self.read(addr, &mut b[..n])?;
        let old = u128::from_le_bytes(b);
        if old == expected {
            self.write(addr, &new.to_le_bytes()[..n])?;
        }
        Ok(old)
    }
}

/// Flat test memory: `data` mapped at `base`, everything else unmapped.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FlatMemory {
    pub base: u64,
    pub data: Vec<u8>,
}

impl FlatMemory {
    fn range(&self, addr: u64, len: usize, write: bool) -> Result<std::ops::Range<usize>, MemFault> {
        let fault = MemFault { addr, write, kind: FaultKind::Unmapped };
        let off = addr.checked_sub(self.base).ok_or(fault)?;
        let end = off.checked_add(len as u64).ok_or(fault)?;
        if end > self.data.len() as u64 {
            return Err(fault);
        }
        Ok(off as usize..end as usize)
    }
}

impl Memory for FlatMemory {
    fn read(&mut self, addr: u64, buf: &mut [u8]) -> Result<(), MemFault> {
        let r = self.range(addr, buf.len(), false)?;
        buf.copy_from_slice(&self.data[r]);
        Ok(())
    }
    fn write(&mut self, addr: u64, data: &[u8]) -> Result<(), MemFault> {
        let r = self.range(addr, data.len(), true)?;
        self.data[r].copy_from_slice(data);
        Ok(())
    }
}

/// How a region was left.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Exit {
    /// `exit_jump`: `index` numbers the region's direct exits in block order (for chaining).
    Jump {
        pc: u64,
        hint: ExitHint,
        ret: u64,
        index: u32,
    },
    Indirect {
        pc: u64,
        hint: ExitHint,
    },
    Syscall {
        next_pc: u64,
    },
    Trap {
        kind: TrapKind,
        pc: u64,
    },
    /// A memory access of the guest instruction at `pc` faulted.
    Fault {
        fault: MemFault,
        pc: u64,
    },
    /// Left at a loop back edge because an exit was requested; resume at `pc`.
    Interrupted {
        pc: u64,
    },
}

impl Exit {
    /// The guest pc execution continues at (or the faulting/trapping pc).
    pub fn pc(&self) -> u64 {
        match *self {
            Exit::Jump { pc, .. }
            | Exit::Indirect { pc, .. }
            | Exit::Trap { pc, .. }
            | Exit::Fault { pc, .. }
            | Exit::Interrupted { pc } => pc,
            Exit::Syscall { next_pc } => next_pc,
        }
    }
}

fn sext(ty: Type, v: u128) -> i128 {
    let s = 128 - ty.bits();
    ((v << s) as i128) >> s
}

fn canon32(x: f32) -> u128 {
    if x.is_nan() {
        CANON_NAN_F32 as u128
    } else {
        x.to_bits() as u128
    }
}
fn canon64(x: f64) -> u128 {
    if x.is_nan() {
        CANON_NAN_F64 as u128
    } else {
        x.to_bits() as u128
    }
}

fn f32v(v: u128) -> f32 {
    f32::from_bits(v as u32)
}
fn f64v(v: u128) -> f64 {
    f64::from_bits(v as u64)
}

fn ieee_min_max<T: PartialOrd + Copy>(a: T, b: T, a_neg: bool, is_max: bool) -> T {
    // Both non-NaN. Zeros of different sign: min takes the negative one.
    if a == b {
        if is_max == a_neg {
            b
        } else {
            a
        }
    } else if (a < b) != is_max {
        a
    } else {
        b
    }
}

fn float_bin(op: Opcode, ty: Type, a: u128, b: u128) -> u128 {
    if ty == Type::F32 {
        let (x, y) = (f32v(a), f32v(b));
        canon32(match op {
            Opcode::Fadd => x + y,
            Opcode::Fsub => x - y,
            Opcode::Fmul => x * y,
            Opcode::Fdiv => x / y,
            Opcode::Fmin | Opcode::Fmax if x.is_nan() || y.is_nan() => f32::NAN,
            Opcode::Fmin => ieee_min_max(x, y, x.is_sign_negative(), false),
            Opcode::Fmax => ieee_min_max(x, y, x.is_sign_negative(), true),
            _ => unreachable!(),
        })
    } else {
        let (x, y) = (f64v(a), f64v(b));
        canon64(match op {
            Opcode::Fadd => x + y,
            Opcode::Fsub => x - y,
            Opcode::Fmul => x * y,
            Opcode::Fdiv => x / y,
            Opcode::Fmin | Opcode::Fmax if x.is_nan() || y.is_nan() => f64::NAN,
            Opcode::Fmin => ieee_min_max(x, y, x.is_sign_negative(), false),
            Opcode::Fmax => ieee_min_max(x, y, x.is_sign_negative(), true),
            _ => unreachable!(),
        })
    }
}

fn round_f64(mode: RoundMode, x: f64) -> f64 {
    match mode {
        RoundMode::Nearest => x.round_ties_even(),
        RoundMode::Floor => x.floor(),
        RoundMode::Ceil => x.ceil(),
        RoundMode::Trunc => x.trunc(),
    }
}
fn round_f32(mode: RoundMode, x: f32) -> f32 {
    match mode {
        RoundMode::Nearest => x.round_ties_even(),
        RoundMode::Floor => x.floor(),
        RoundMode::Ceil => x.ceil(),
        RoundMode::Trunc => x.trunc(),
    }
}

fn fcmp(cc: FloatCC, ord: Option<std::cmp::Ordering>) -> bool {
    use std::cmp::Ordering::*;
    match (cc, ord) {
        (FloatCC::Uno, o) => o.is_none(),
        (FloatCC::Ord, o) => o.is_some(),
        (FloatCC::Ne, None) => true,
        (_, None) => false,
        (FloatCC::Eq, Some(o)) => o == Equal,
        (FloatCC::Ne, Some(o)) => o != Equal,
        (FloatCC::Lt, Some(o)) => o == Less,
        (FloatCC::Le, Some(o)) => o != Greater,
        (FloatCC::Gt, Some(o)) => o == Greater,
        (FloatCC::Ge, Some(o)) => o != Less,
    }
}

fn icmp(cc: IntCC, ty: Type, a: u128, b: u128) -> bool {
    let (sa, sb) = (sext(ty, a), sext(ty, b));
    match cc {
        IntCC::Eq => a == b,
        IntCC::Ne => a != b,
        IntCC::Ult => a < b,
        IntCC::Ule => a <= b,
        IntCC::Ugt => a > b,
        IntCC::Uge => a >= b,
        IntCC::Slt => sa < sb,
        IntCC::Sle => sa <= sb,
        IntCC::Sgt => sa > sb,
        IntCC::Sge => sa >= sb,
    }
}

fn lane(v: u128, shape: VecShape, i: u32) -> u128 {
    let w = shape.lane_type().bits();
    (v >> (w * i)) & shape.lane_type().mask()
}
fn lanes_map(a: u128, b: u128, shape: VecShape, f: impl Fn(u128, u128) -> u128) -> u128 {
    let w = shape.lane_type().bits();
    let m = shape.lane_type().mask();
    let mut out = 0u128;
    for i in 0..shape.lanes() {
        out |= (f(lane(a, shape, i), lane(b, shape, i)) & m) << (w * i);
    }
    out
}

/// Result, unsigned carry and signed overflow of x + y + c at the type's width.
fn add_flags(ty: Type, x: u128, y: u128, c: u128) -> (u128, bool, bool) {
    let m = ty.mask();
    let top = 1u128 << (ty.bits() - 1);
    let (r1, c1) = x.overflowing_add(y);
    let (r2, c2) = r1.overflowing_add(c);
    let r = r2 & m;
    let carry = if ty.bits() == 128 { c1 || c2 } else { r2 > m };
    let ov = (!(x ^ y) & (x ^ r)) & top != 0;
    (r, carry, ov)
}

/// Result, unsigned borrow and signed overflow of x - y - b at the type's width.
fn sub_flags(ty: Type, x: u128, y: u128, b: u128) -> (u128, bool, bool) {
    let m = ty.mask();
    let top = 1u128 << (ty.bits() - 1);
    let r = x.wrapping_sub(y).wrapping_sub(b) & m;
    let borrow = x < y || x - y < b;
    let ov = ((x ^ y) & (x ^ r)) & top != 0;
    (r, borrow, ov)
}

/// The meaning of every op that only computes a result from its operands.
///
/// `ty` is the result type (None for ops without one), `arg_tys` the operand types.
/// Returns None for ops with effects (state, memory, helpers, control flow).
pub fn eval_pure(op: Opcode, imm: Imm, ty: Option<Type>, arg_tys: &[Type], a: &[u128]) -> Option<u128> {
    let rty = ty.unwrap_or(Type::I64);
    let m = rty.mask();
    let bits = rty.bits();
    let x = a.first().copied().unwrap_or(0);
    let y = a.get(1).copied().unwrap_or(0);
    let sh = (y % bits as u128) as u32;
    Some(match op {
        Opcode::Iconst => match imm {
            Imm::Int(v) => v & m,
            _ => return None,
        },
        Opcode::Fconst | Opcode::Vconst => match imm {
            Imm::Bits(v) => v & m,
            _ => return None,
        },
        Opcode::Add => x.wrapping_add(y) & m,
        Opcode::Sub => x.wrapping_sub(y) & m,
        Opcode::Mul => x.wrapping_mul(y) & m,
        Opcode::Umulh => (x * y) >> bits & m,
        Opcode::Smulh => ((sext(rty, x) * sext(rty, y)) >> bits) as u128 & m,
        Opcode::Udiv => x.checked_div(y).unwrap_or(0),
        Opcode::Urem => x.checked_rem(y).unwrap_or(x),
        Opcode::Sdiv => {
            if y == 0 {
                0
            } else {
                (sext(rty, x).wrapping_div(sext(rty, y)) as u128) & m
            }
        }
        Opcode::Srem => {
            if y == 0 {
                x
            } else {
                (sext(rty, x).wrapping_rem(sext(rty, y)) as u128) & m
            }
        }
        Opcode::And => x & y,
        Opcode::Or => x | y,
        Opcode::Xor => x ^ y,
        Opcode::Shl => (x << sh) & m,
        Opcode::Lshr => x >> sh,
        Opcode::Ashr => (sext(rty, x) >> sh) as u128 & m,
        Opcode::Rotl => {
            if sh == 0 {
                x
            } else {
                ((x << sh) | (x >> (bits - sh))) & m
            }
        }
        Opcode::Rotr => {
            if sh == 0 {
                x
            } else {
                ((x >> sh) | (x << (bits - sh))) & m
            }
        }
        Opcode::Neg => x.wrapping_neg() & m,
        Opcode::Not => !x & m,
        Opcode::Clz => (x.leading_zeros() - (128 - bits)) as u128,
        Opcode::Ctz => x.trailing_zeros().min(bits) as u128,
        Opcode::Popcnt => x.count_ones() as u128,
        Opcode::Bswap => x.swap_bytes() >> (128 - bits),
        Opcode::Bitrev => x.reverse_bits() >> (128 - bits),
        Opcode::Icmp => match imm {
            Imm::IntCC(cc) => icmp(cc, arg_tys[0], x, y) as u128,
            _ => return None,
        },
        Opcode::Select => {
            if x & 1 != 0 {
                y
            } else {
                a[2]
            }
        }
        Opcode::Zext | Opcode::Trunc | Opcode::Bitcast => x & m,
        Opcode::Sext => (sext(arg_tys[0], x) as u128) & m,
        Opcode::AddCarry => add_flags(arg_tys[0], x, y, 0).1 as u128,
        Opcode::AddOverflow => add_flags(arg_tys[0], x, y, 0).2 as u128,
        Opcode::SubBorrow => sub_flags(arg_tys[0], x, y, 0).1 as u128,
        Opcode::SubOverflow => sub_flags(arg_tys[0], x, y, 0).2 as u128,
        Opcode::Adc => add_flags(rty, x, y, a[2] & 1).0,
        Opcode::AdcCarry => add_flags(arg_tys[0], x, y, a[2] & 1).1 as u128,
        Opcode::AdcOverflow => add_flags(arg_tys[0], x, y, a[2] & 1).2 as u128,
        Opcode::Sbb => sub_flags(rty, x, y, a[2] & 1).0,
        Opcode::SbbBorrow => sub_flags(arg_tys[0], x, y, a[2] & 1).1 as u128,
        Opcode::SbbOverflow => sub_flags(arg_tys[0], x, y, a[2] & 1).2 as u128,
        Opcode::Fadd | Opcode::Fsub | Opcode::Fmul | Opcode::Fdiv | Opcode::Fmin | Opcode::Fmax => {
            float_bin(op, rty, x, y)
        }
        Opcode::Fsqrt => {
            if rty == Type::F32 {
                canon32(f32v(x).sqrt())
            } else {
                canon64(f64v(x).sqrt())
            }
        }
        Opcode::Fneg => x ^ (1u128 << (bits - 1)),
        Opcode::Fabs => x & !(1u128 << (bits - 1)) & m,
        Opcode::Fma => {
            if rty == Type::F32 {
                canon32(f32v(x).mul_add(f32v(y), f32v(a[2])))
            } else {
                canon64(f64v(x).mul_add(f64v(y), f64v(a[2])))
            }
        }
        Opcode::Fround => match imm {
            Imm::Round(mode) if rty == Type::F32 => canon32(round_f32(mode, f32v(x))),
            Imm::Round(mode) => canon64(round_f64(mode, f64v(x))),
            _ => return None,
        },
        Opcode::Fcmp => match imm {
            Imm::FloatCC(cc) => {
                let ord =
                    if arg_tys[0] == Type::F32 { f32v(x).partial_cmp(&f32v(y)) } else { f64v(x).partial_cmp(&f64v(y)) };
                fcmp(cc, ord) as u128
            }
            _ => return None,
        },
        Opcode::FcvtToSint | Opcode::FcvtToUint => {
            let f = if arg_tys[0] == Type::F32 { f32v(x) as f64 } else { f64v(x) };
            let signed = op == Opcode::FcvtToSint;
            (match (signed, rty) {
                (true, Type::I32) => f as i32 as u32 as u128,
                (true, _) => f as i64 as u64 as u128,
                (false, Type::I32) => f as u32 as u128,
                (false, _) => f as u64 as u128,
            }) & m
        }
        Opcode::FcvtFromSint | Opcode::FcvtFromUint => {
            let src = arg_tys[0];
            let signed = op == Opcode::FcvtFromSint;
            if rty == Type::F32 {
                let r = if signed { sext(src, x) as i64 as f32 } else { x as u64 as f32 };
                r.to_bits() as u128
            } else {
                let r = if signed { sext(src, x) as i64 as f64 } else { x as u64 as f64 };
                r.to_bits() as u128
            }
        }
        Opcode::Fpromote => canon64(f32v(x) as f64),
        Opcode::Fdemote => canon32(f64v(x) as f32),
        Opcode::Vand => x & y,
        Opcode::Vor => x | y,
        Opcode::Vxor => x ^ y,
        Opcode::Vnot => !x,
        Opcode::Vadd | Opcode::Vsub | Opcode::Vcmpeq => {
            let Imm::Lanes(shape) = imm else { return None };
            lanes_map(x, y, shape, |p, q| match op {
                Opcode::Vadd => p.wrapping_add(q),
                Opcode::Vsub => p.wrapping_sub(q),
                _ => {
                    if p == q {
                        u128::MAX
                    } else {
                        0
                    }
                }
            })
        }
        Opcode::Vshl | Opcode::Vushr | Opcode::Vsshr => {
            let Imm::Lanes(shape) = imm else { return None };
            let lt = shape.lane_type();
            let s = (y % lt.bits() as u128) as u32;
            lanes_map(x, 0, shape, |p, _| match op {
                Opcode::Vshl => p << s,
                Opcode::Vushr => p >> s,
                _ => (sext(lt, p) >> s) as u128,
            })
        }
        Opcode::Vshlv | Opcode::Vushrv | Opcode::Vsshrv => {
            let Imm::Lanes(shape) = imm else { return None };
            let lt = shape.lane_type();
            lanes_map(x, y, shape, |p, q| {
                let s = (q % lt.bits() as u128) as u32;
                match op {
                    Opcode::Vshlv => p << s,
                    Opcode::Vushrv => p >> s,
                    _ => (sext(lt, p) >> s) as u128,
                }
            })
        }
        Opcode::Vshuffle | Opcode::Vtbl2 => {
            let idx = match (op, imm) {
                (Opcode::Vshuffle, Imm::Bits(m)) => m.to_le_bytes(),
                _ => a.get(2).copied().unwrap_or(0).to_le_bytes(),
            };
            let (xb, yb) = (x.to_le_bytes(), y.to_le_bytes());
            let out: [u8; 16] = std::array::from_fn(|j| match idx[j] as usize {
                k @ 0..16 => xb[k],
                k @ 16..32 => yb[k - 16],
                _ => 0,
            });
            u128::from_le_bytes(out)
        }
        Opcode::Vbitsel => {
            let z = a.get(2).copied().unwrap_or(0);
            (x & z) | (y & !z)
        }
        Opcode::VuwidenLo | Opcode::VuwidenHi | Opcode::VswidenLo | Opcode::VswidenHi => {
            let Imm::Lanes(shape) = imm else { return None };
            let wide = match shape {
                VecShape::I8x16 => VecShape::I16x8,
                VecShape::I16x8 => VecShape::I32x4,
                VecShape::I32x4 => VecShape::I64x2,
                VecShape::I64x2 => return None,
            };
            let hi = matches!(op, Opcode::VuwidenHi | Opcode::VswidenHi);
            let signed = matches!(op, Opcode::VswidenLo | Opcode::VswidenHi);
            let (lt, n) = (shape.lane_type(), wide.lanes());
            let mut out = 0u128;
            for i in 0..n {
                let p = lane(x, shape, i + if hi { n } else { 0 });
                let v = if signed { sext(lt, p) as u128 } else { p };
                out |= (v & wide.lane_type().mask()) << (wide.lane_type().bits() * i);
            }
            out
        }
        Opcode::Vsplat => {
            let Imm::Lanes(shape) = imm else { return None };
            lanes_map(0, 0, shape, |_, _| x)
        }
        Opcode::Vextract => {
            let Imm::Lane(shape, i) = imm else { return None };
            lane(x, shape, i as u32 % shape.lanes())
        }
        Opcode::Vinsert => {
            let Imm::Lane(shape, i) = imm else { return None };
            let w = shape.lane_type().bits();
            let i = i as u32 % shape.lanes();
            let lm = shape.lane_type().mask() << (w * i);
            (x & !lm) | ((y << (w * i)) & lm)
        }
        Opcode::Insn
        | Opcode::GetSlot
        | Opcode::SetSlot
        | Opcode::GetElem
        | Opcode::SetElem
        | Opcode::Load
        | Opcode::Store
        | Opcode::AtomicRmw
        | Opcode::Cas
        | Opcode::Fence
        | Opcode::Call
        | Opcode::Jump
        | Opcode::Brif
        | Opcode::ExitJump
        | Opcode::ExitIndirect
        | Opcode::ExitSyscall
        | Opcode::ExitTrap => return None,
    })
}

/// Order a value's low `size` bytes for memory (as a little-endian image).
fn to_mem_image(v: u128, size: u8, endian: Endian) -> u128 {
    let m = if size == 16 { u128::MAX } else { (1u128 << (size * 8)) - 1 };
    match endian {
        Endian::Little => v & m,
        Endian::Big => (v & m).swap_bytes() >> (128 - size as u32 * 8),
    }
}

/// Extend a loaded memory image (`size` bytes, little-endian image) to the result type.
fn from_mem_image(raw: u128, size: u8, mem: MemAttr, ty: Type) -> u128 {
    let v = to_mem_image(raw, size, mem.endian);
    if mem.signed && (size as u32 * 8) < ty.bits() {
        let t = Type::int_of_bits(size as u32 * 8).unwrap_or(Type::I64);
        (sext(t, v) as u128) & ty.mask()
    } else {
        v
    }
}

fn rmw_apply(op: RmwOp, ty: Type, old: u128, v: u128) -> u128 {
    let m = ty.mask();
    let (so, sv) = (sext(ty, old), sext(ty, v));
    match op {
        RmwOp::Add => old.wrapping_add(v) & m,
        RmwOp::Sub => old.wrapping_sub(v) & m,
        RmwOp::And => old & v,
        RmwOp::Or => old | v,
        RmwOp::Xor => old ^ v,
        RmwOp::Xchg => v,
        RmwOp::Umin => old.min(v),
        RmwOp::Umax => old.max(v),
        RmwOp::Smin => (so.min(sv) as u128) & m,
        RmwOp::Smax => (so.max(sv) as u128) & m,
    }
}

/// Controls shared by the interpreter and compiled code.
#[derive(Debug, Default)]
pub struct RunControl {
    /// When set, execution leaves the region at the next loop back edge.
    pub exit_request: AtomicBool,
    /// Back edges one `run` may take before it leaves the region (0: no limit), so
    /// that a long loop inside one region reaches the dispatcher and can be compiled.
    pub back_edge_budget: std::sync::atomic::AtomicU32,
    /// Set by `run` when it left because the budget ran out.
    pub budget_spent: AtomicBool,
}

/// Execute a region. State writes and memory effects happen in program order, so at a
/// fault or trap the state is exactly that of the faulting guest instruction's start
/// plus the effects of the instructions before it in the region.
pub fn run(region: &Region, state: &mut StateBuf, mem: &mut dyn Memory, ctl: &RunControl) -> Exit {
    thread_local! {
        /// The value array, reused across runs (the cold tier runs short regions often).
        static SCRATCH: std::cell::RefCell<Scratch> = const {
            std::cell::RefCell::new(Scratch { vals: Vec::new(), args: Vec::new(), tys: Vec::new() })
        };
    }
    let n = region.value_types.len();
    SCRATCH.with(|cell| match cell.try_borrow_mut() {
        Ok(mut s) => {
            let s = &mut *s;
            s.vals.clear();
            s.vals.resize(n, 0);
            run_with(region, state, mem, ctl, &mut s.vals, &mut s.args, &mut s.tys)
        }
        // Re-entered (a helper running IR): fresh buffers.
        Err(_) => run_with(region, state, mem, ctl, &mut vec![0u128; n], &mut Vec::new(), &mut Vec::new()),
    })
}

/// Buffers one interpreter run needs, reused across runs (the cold tier runs short
/// regions often).
struct Scratch {
    vals: Vec<u128>,
    args: Vec<u128>,
    tys: Vec<Type>,
}

fn run_with(
    region: &Region,
    state: &mut StateBuf,
    mem: &mut dyn Memory,
    ctl: &RunControl,
    vals: &mut [u128],
    argbuf: &mut Vec<u128>,
    tybuf: &mut Vec<Type>,
) -> Exit {
    let layout = &*region.layout;
    let mut block = BlockId(0);
    let mut guest_pc = region.entry_pc;
    let budget = ctl.back_edge_budget.load(Ordering::Relaxed);
    let mut back_edges = 0u32;
    loop {
        let b = region.block(block);
        let mut next: Option<(BlockId, std::ops::Range<usize>, InstId)> = None;
        for &iid in &b.insts {
            let inst = region.inst(iid);
            argbuf.clear();
            tybuf.clear();
            for &v in &inst.args {
                argbuf.push(vals[v.0 as usize]);
                tybuf.push(region.ty(v));
            }
            let rty = inst.result.map(|r| region.ty(r));
            let a = &*argbuf;
            let result: Option<u128> = match (inst.op, inst.imm) {
                (Opcode::Insn, Imm::Pc(pc)) => {
                    guest_pc = pc;
                    None
                }
                (Opcode::GetSlot, Imm::Slot(s)) => Some(state.get(layout, s)),
                (Opcode::SetSlot, Imm::Slot(s)) => {
                    state.set(layout, s, a[0]);
                    None
                }
                (Opcode::GetElem, Imm::Slot(s)) => Some(state.get_elem(layout, s, a[0] as u64)),
                (Opcode::SetElem, Imm::Slot(s)) => {
                    state.set_elem(layout, s, a[0] as u64, a[1]);
                    None
                }
                (Opcode::Load | Opcode::Store | Opcode::AtomicRmw | Opcode::Cas, _) => {
                    match mem_op(inst, rty, tybuf, a, mem) {
                        Ok(r) => r,
                        Err(MemErr::Fault(fault)) => {
                            state.set(layout, layout.pc, guest_pc as u128);
                            return Exit::Fault { fault, pc: guest_pc };
                        }
                        Err(MemErr::Unaligned) => {
                            state.set(layout, layout.pc, guest_pc as u128);
                            return Exit::Trap { kind: TrapKind::Unaligned, pc: guest_pc };
                        }
                    }
                }
                (Opcode::Fence, _) => {
                    std::sync::atomic::fence(Ordering::SeqCst);
                    None
                }
                (Opcode::Call, Imm::Helper(h)) => {
                    let info = crate::helpers::info(h);
                    let mut args = [0u64; 4];
                    for (i, v) in a.iter().enumerate() {
                        args[i] = *v as u64;
                    }
                    // SAFETY: helpers are registered with the documented helper ABI and
                    // receive a state buffer of the region's layout, which is live and
                    // uniquely borrowed for the call.
                    let r = unsafe { (info.func)(state.as_mut_ptr(), args[0], args[1], args[2], args[3]) };
                    info.ret.map(|t| r as u128 & t.mask())
                }
                (Opcode::Jump, Imm::Jump(t)) => {
                    next = Some((t, 0..a.len(), iid));
                    None
                }
                (Opcode::Brif, Imm::Brif { then_block, else_block, then_args }) => {
                    let t = then_args as usize;
                    next = Some(if a[0] & 1 != 0 {
                        (then_block, 1..1 + t, iid)
                    } else {
                        (else_block, 1 + t..a.len(), iid)
                    });
                    None
                }
                (Opcode::ExitJump, Imm::Exit { pc, hint, ret }) => {
                    state.set(layout, layout.pc, pc as u128);
                    let index = direct_exit_index(region, iid);
                    return Exit::Jump { pc, hint, ret, index };
                }
                (Opcode::ExitIndirect, Imm::Hint(hint)) => {
                    let pc = a[0] as u64;
                    state.set(layout, layout.pc, pc as u128);
                    return Exit::Indirect { pc, hint };
                }
                (Opcode::ExitSyscall, Imm::Pc(next_pc)) => {
                    state.set(layout, layout.pc, next_pc as u128);
                    return Exit::Syscall { next_pc };
                }
                (Opcode::ExitTrap, Imm::Trap(kind, pc)) => {
                    state.set(layout, layout.pc, pc as u128);
                    return Exit::Trap { kind, pc };
                }
                (op, imm) => Some(
                    eval_pure(op, imm, rty, tybuf, a)
                        .unwrap_or_else(|| panic!("interpreter: malformed {op} (run the verifier)")),
                ),
            };
            if let (Some(r), Some(v)) = (inst.result, result) {
                vals[r.0 as usize] = r_mask(region.ty(r), v);
            }
        }
        let (target, range, from) = next.expect("verified block ends in a terminator");
        let params = &region.block(target).params;
        argbuf.clear();
        argbuf.extend(region.inst(from).args[range].iter().map(|v| vals[v.0 as usize]));
        for (p, &v) in params.iter().zip(argbuf.iter()) {
            vals[p.0 as usize] = v;
        }
        if target <= block {
            back_edges += 1;
            let spent = budget != 0 && back_edges >= budget;
            if spent || ctl.exit_request.load(Ordering::Relaxed) {
                // Back edge: the verifier guarantees the target starts with `insn`.
                let pc = first_insn_pc(region, target).unwrap_or(guest_pc);
                state.set(layout, layout.pc, pc as u128);
                if spent {
                    ctl.budget_spent.store(true, Ordering::Relaxed);
                }
                return Exit::Interrupted { pc };
            }
        }
        block = target;
    }
}

fn r_mask(ty: Type, v: u128) -> u128 {
    v & ty.mask()
}

/// The guest pc of a block's leading `insn` marker, if it has one.
pub fn first_insn_pc(region: &Region, b: BlockId) -> Option<u64> {
    let first = *region.block(b).insts.first()?;
    match region.inst(first).imm {
        Imm::Pc(pc) if region.inst(first).op == Opcode::Insn => Some(pc),
        _ => None,
    }
}

/// The guest instruction each block starts in, statically: the region entry for
/// block0, otherwise the guest pc at the end of its forward predecessors when they all
/// agree. `conflict[b]` is true when predecessors end in different guest instructions
/// (the verifier then requires `b` to start with `insn`). Back-edge targets start with
/// `insn`, so only forward edges (to higher-numbered blocks) matter.
pub fn block_entry_pcs(region: &Region) -> (Vec<Option<u64>>, Vec<bool>) {
    let n = region.blocks.len();
    let mut entry: Vec<Option<u64>> = vec![None; n];
    let mut conflict = vec![false; n];
    if n > 0 {
        entry[0] = Some(region.entry_pc);
    }
    for b in 0..n {
        let mut pc = entry[b];
        for &i in &region.blocks[b].insts {
            let inst = region.inst(i);
            if let (Opcode::Insn, Imm::Pc(p)) = (inst.op, inst.imm) {
                pc = Some(p);
            }
        }
        let Some(&last) = region.blocks[b].insts.last() else { continue };
        for (t, _) in region.successors(region.inst(last)) {
            let t = t.0 as usize;
            if t <= b || t >= n {
                continue;
            }
            match (entry[t], pc) {
                (None, _) if !conflict[t] => entry[t] = pc,
                (Some(a), Some(p)) if a != p => {
                    entry[t] = None;
                    conflict[t] = true;
                }
                _ => {}
            }
        }
    }
    (entry, conflict)
}

/// The number of `exit_jump` `id` among the region's direct exits in block order.
pub fn direct_exit_index(region: &Region, id: InstId) -> u32 {
    let mut n = 0;
    for b in &region.blocks {
        for &i in &b.insts {
            if i == id {
                return n;
            }
            if region.inst(i).op == Opcode::ExitJump {
                n += 1;
            }
        }
    }
    n
}

/// Number each `exit_jump` in block order; indexed by instruction id (u32::MAX otherwise).
pub fn direct_exit_indices(region: &Region) -> Vec<u32> {
    let mut out = vec![u32::MAX; region.insts.len()];
    let mut n = 0;
    for b in &region.blocks {
        for &i in &b.insts {
            if region.inst(i).op == Opcode::ExitJump {
                out[i.0 as usize] = n;
                n += 1;
            }
        }
    }
    out
}

enum MemErr {
    Fault(MemFault),
    Unaligned,
}

fn mem_op(
    inst: &Inst,
    rty: Option<Type>,
    tys: &[Type],
    a: &[u128],
    mem: &mut dyn Memory,
) -> Result<Option<u128>, MemErr> {
    let (attr, rmw) = match inst.imm {
        Imm::Mem(m) => (m, None),
        Imm::Rmw(op, m) => (m, Some(op)),
        _ => unreachable!("memory op without attributes"),
    };
    let addr = a[0] as u64;
    let size = attr.size;
    let is_atomic = matches!(inst.op, Opcode::AtomicRmw | Opcode::Cas);
    if attr.aligned && !addr.is_multiple_of(size as u64) {
        return Err(MemErr::Unaligned);
    }
    match inst.op {
        Opcode::Load => {
            let ty = rty.expect("load result");
            let mut b = [0u8; 16];
            mem.read(addr, &mut b[..size as usize]).map_err(MemErr::Fault)?;
            Ok(Some(from_mem_image(u128::from_le_bytes(b), size, attr, ty)))
        }
        Opcode::Store => {
            let img = to_mem_image(a[1], size, attr.endian).to_le_bytes();
            mem.write(addr, &img[..size as usize]).map_err(MemErr::Fault)?;
            Ok(None)
        }
        _ if is_atomic => {
            let ty = tys[1];
            loop {
                let mut b = [0u8; 16];
                // An atomic read-modify-write faults as a write, as on hardware.
                mem.read(addr, &mut b[..size as usize]).map_err(|f| MemErr::Fault(MemFault { write: true, ..f }))?;
                let old_img = u128::from_le_bytes(b);
                let old = from_mem_image(old_img, size, MemAttr { signed: false, ..attr }, ty);
                let new = match rmw {
                    Some(op) => rmw_apply(op, ty, old, a[1]),
                    None if old == a[1] & ty.mask() => a[2],
                    None => old,
                };
                let new_img = to_mem_image(new, size, attr.endian);
                let seen =
                    mem.cas(addr, size, old_img, new_img).map_err(|f| MemErr::Fault(MemFault { write: true, ..f }))?;
                if seen == old_img {
                    return Ok(Some(old));
                }
            }
        }
        _ => unreachable!(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(bytes: [u8; 16]) -> u128 {
        u128::from_le_bytes(bytes)
    }

    /// The new vector ops on hand-worked values (the backend is checked against these
    /// semantics by the differential test).
    #[test]
    fn vector_permutes_and_per_lane_shifts() {
        let x = v(std::array::from_fn(|i| i as u8)); // bytes 0..15
        let y = v(std::array::from_fn(|i| 0x10 + i as u8)); // bytes 16..31
        let ev = |op, imm, args: &[u128]| eval_pure(op, imm, Some(Type::V128), &[Type::V128; 3], args).unwrap();

        // Interleave the low halves (a merge), and reverse the 32 bytes.
        let merge = v([0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23]);
        assert_eq!(ev(Opcode::Vshuffle, Imm::Bits(merge), &[x, y]), merge);
        let rev = v(std::array::from_fn(|i| 31 - i as u8));
        assert_eq!(ev(Opcode::Vshuffle, Imm::Bits(rev), &[x, y]), rev);

        // vtbl2: in-range indices pick bytes, 32 and up give zero.
        let idx = v([31, 0, 32, 16, 255, 15, 1, 17, 64, 2, 18, 3, 19, 4, 20, 5]);
        let want = v([31, 0, 0, 16, 0, 15, 1, 17, 0, 2, 18, 3, 19, 4, 20, 5]);
        assert_eq!(ev(Opcode::Vtbl2, Imm::None, &[x, y, idx]), want);

        // vbitsel takes x where the mask is set.
        assert_eq!(ev(Opcode::Vbitsel, Imm::None, &[u128::MAX, 0, 0xff00]), 0xff00);

        // Per-lane shifts: i32 lanes 0x80000001 by 1, 33 (= 1), 31 and 0.
        let a = 0x8000_0001_8000_0001_8000_0001_8000_0001u128;
        let n = 0x0000_0000_0000_001f_0000_0021_0000_0001u128;
        let lanes = Imm::Lanes(VecShape::I32x4);
        assert_eq!(ev(Opcode::Vshlv, lanes, &[a, n]), 0x8000_0001_8000_0000_0000_0002_0000_0002);
        assert_eq!(ev(Opcode::Vushrv, lanes, &[a, n]), 0x8000_0001_0000_0001_4000_0000_4000_0000);
        assert_eq!(ev(Opcode::Vsshrv, lanes, &[a, n]), 0x8000_0001_ffff_ffff_c000_0000_c000_0000);
    }
}
