//! Vector operations run by the `ppc_vec` helper: plain Rust over VSRs in the ISA's byte
//! order (byte 0 most significant), for the packs, compares with CR6 and the other
//! VMX/VSX operations that would be long as IR (the permutes are IR shuffles). Operands are VSR numbers (VMX
//! registers are VSR 32 + n), packed `t | a << 8 | b << 16 | c << 24`.

use std::sync::OnceLock;

/// Operation codes of the helper.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u32)]
pub enum VecOp {
    Vslo,
    Vsro,
    Vpku,
    Vgbbd,
    Vbpermq,
    Vcmpeq,
    Vcmpgtu,
    Vcmpgts,
    Vcmpne,
    Vcmpnez,
    Vminu,
    Vmaxu,
    Vmins,
    Vmaxs,
    /// vsl/vsr: the whole register by 0..7 bits (VRB's last byte).
    VslBits,
    VsrBits,
    /// vupkhs*/vupkls*: sign-extend the high/low half's elements (imm: source size).
    Vupkh,
    Vupkl,
    /// vmsum{ubm,mbm,uhm,shm} (imm: 0, 1, 2, 3).
    Vmsum,
    /// xvcv{sxwsp,uxwsp,spsxws,spuxws} (imm: 0, 1, 2, 3).
    Xvcvw,
    /// vpopcnt[bhwd] / vclz[bhwd] (imm: element size).
    Vpopcnt,
    Vclz,
    /// vmuluwm (modulo), vmul[eo][us]w (even/odd words to doublewords; imm bit 4: odd,
    /// bit 5: signed).
    Vmuluwm,
    Vmulw,
    /// vsumsws: the signed words of a plus word 3 of b, saturated, into word 3.
    Vsumsws,
    /// vadd/vsub with saturation (imm: size | signed << 4 | subtract << 5).
    Vaddsat,
}

const OPS: &[VecOp] = &[
    VecOp::Vslo,
    VecOp::Vsro,
    VecOp::Vpku,
    VecOp::Vgbbd,
    VecOp::Vbpermq,
    VecOp::Vcmpeq,
    VecOp::Vcmpgtu,
    VecOp::Vcmpgts,
    VecOp::Vcmpne,
    VecOp::Vcmpnez,
    VecOp::Vminu,
    VecOp::Vmaxu,
    VecOp::Vmins,
    VecOp::Vmaxs,
    VecOp::VslBits,
    VecOp::VsrBits,
    VecOp::Vupkh,
    VecOp::Vupkl,
    VecOp::Vmsum,
    VecOp::Xvcvw,
    VecOp::Vpopcnt,
    VecOp::Vclz,
    VecOp::Vmuluwm,
    VecOp::Vmulw,
    VecOp::Vsumsws,
    VecOp::Vaddsat,
];

/// Byte offsets of vs0..vs63 and of cr24..cr27 (CR6) in the ppc state buffer.
struct Offsets {
    vs: [usize; 64],
    cr6: [usize; 4],
    vscr: usize,
}

fn offsets() -> &'static Offsets {
    static O: OnceLock<Offsets> = OnceLock::new();
    O.get_or_init(|| {
        let l = super::layout(super::PpcMode::PPC64LE);
        Offsets {
            vs: std::array::from_fn(|i| l.slot(l.expect(&format!("vs{i}"))).offset as usize),
            cr6: std::array::from_fn(|i| l.slot(l.expect(&format!("cr{}", 24 + i))).offset as usize),
            vscr: l.slot(l.expect("vscr")).offset as usize,
        }
    })
}

/// Read VSR `r` as ISA-ordered bytes.
unsafe fn get(state: *const u8, r: u32) -> [u8; 16] {
    let mut b = [0u8; 16];
    // SAFETY: the caller guarantees `state` is a ppc state buffer; the offset is a VSR's.
    unsafe { std::ptr::copy_nonoverlapping(state.add(offsets().vs[r as usize]), b.as_mut_ptr(), 16) };
    u128::from_le_bytes(b).to_be_bytes()
}

unsafe fn set(state: *mut u8, r: u32, v: [u8; 16]) {
    let b = u128::from_be_bytes(v).to_le_bytes();
    // SAFETY: as in `get`.
    unsafe { std::ptr::copy_nonoverlapping(b.as_ptr(), state.add(offsets().vs[r as usize]), 16) };
}

/// Up to 16 elements on the stack (the helper runs in hot loops: no allocation).
#[derive(Clone, Copy)]
struct Elems {
    v: [u64; 16],
    n: usize,
}

impl std::ops::Deref for Elems {
    type Target = [u64];
    fn deref(&self) -> &[u64] {
        &self.v[..self.n]
    }
}

impl FromIterator<u64> for Elems {
    fn from_iter<I: IntoIterator<Item = u64>>(it: I) -> Elems {
        let mut e = Elems { v: [0; 16], n: 0 };
        // A register has at most 16 elements; nothing longer is ever collected.
        for x in it.into_iter().take(16) {
            e.v[e.n] = x;
            e.n += 1;
        }
        e
    }
}

/// Elements of `size` bytes, in ISA order, as u64.
fn elems(v: &[u8; 16], size: usize) -> Elems {
    v.chunks(size).map(|c| c.iter().fold(0u64, |a, &b| a << 8 | b as u64)).collect()
}

fn from_elems(e: &[u64], size: usize) -> [u8; 16] {
    let mut out = [0u8; 16];
    for (i, &x) in e.iter().enumerate() {
        for j in 0..size {
            out[i * size + j] = (x >> (8 * (size - 1 - j))) as u8;
        }
    }
    out
}

fn sext(x: u64, size: usize) -> i64 {
    let bits = 64 - 8 * size as u32;
    ((x << bits) as i64) >> bits
}

/// Run operation `op` (a [`VecOp`] code) with packed operands.
///
/// # Safety
/// `state` must point to a state buffer of the ppc layout.
pub unsafe fn run(state: *mut u8, op: u32, regs: u32, imm: u32) {
    let (t, a, b, c) = (regs & 0xff, regs >> 8 & 0xff, regs >> 16 & 0xff, regs >> 24 & 0xff);
    let Some(&op) = OPS.get(op as usize) else { return };
    // SAFETY: forwarded from the caller.
    let (va, vb, vc) = unsafe { (get(state, a), get(state, b), get(state, c)) };
    let size = (imm & 0xf) as usize; // element size for the element-wise ops
    let mut cr6: Option<(bool, bool)> = None;
    // VSCR[SAT]: set (sticky) when a saturating operation clamped a result.
    let mut sat = false;
    let out: [u8; 16] = match op {
        VecOp::Vslo | VecOp::Vsro => {
            let sh = ((vb[15] >> 3) & 15) as u32 * 8;
            let x = u128::from_be_bytes(va);
            let r = if op == VecOp::Vslo { x.checked_shl(sh).unwrap_or(0) } else { x.checked_shr(sh).unwrap_or(0) };
            r.to_be_bytes()
        }
        VecOp::Vpku => {
            // Pack modulo: the low halves of the elements of a then b.
            let (ea, eb) = (elems(&va, size), elems(&vb, size));
            let e: Elems = ea.iter().chain(eb.iter()).copied().collect();
            from_elems(&e, size / 2)
        }
        VecOp::Vgbbd => {
            // Transpose each doubleword's 8x8 bit matrix.
            let mut out = [0u8; 16];
            for d in 0..2 {
                for i in 0..8 {
                    let mut byte = 0u8;
                    for j in 0..8 {
                        let bit = (vb[d * 8 + j] >> (7 - i)) & 1;
                        byte |= bit << (7 - j);
                    }
                    out[d * 8 + i] = byte;
                }
            }
            out
        }
        VecOp::Vbpermq => {
            let x = u128::from_be_bytes(va);
            let mut r = 0u16;
            for (i, &idx) in vb.iter().enumerate() {
                if idx < 128 && (x >> (127 - idx as u32)) & 1 != 0 {
                    r |= 1 << (15 - i);
                }
            }
            let mut out = [0u8; 16];
            out[6] = (r >> 8) as u8;
            out[7] = r as u8;
            out
        }
        VecOp::Vcmpeq | VecOp::Vcmpgtu | VecOp::Vcmpgts | VecOp::Vcmpne | VecOp::Vcmpnez => {
            let (ea, eb) = (elems(&va, size), elems(&vb, size));
            let ones = if size == 8 { u64::MAX } else { (1u64 << (8 * size)) - 1 };
            let e: Elems = ea
                .iter()
                .zip(eb.iter())
                .map(|(&x, &y)| {
                    let c = match op {
                        VecOp::Vcmpeq => x == y,
                        VecOp::Vcmpgtu => x > y,
                        VecOp::Vcmpgts => sext(x, size) > sext(y, size),
                        VecOp::Vcmpne => x != y,
                        _ => x != y || x == 0 || y == 0,
                    };
                    if c {
                        ones
                    } else {
                        0
                    }
                })
                .collect();
            cr6 = Some((e.iter().all(|&x| x != 0), e.iter().all(|&x| x == 0)));
            from_elems(&e, size)
        }
        VecOp::Vminu | VecOp::Vmaxu | VecOp::Vmins | VecOp::Vmaxs => {
            let (ea, eb) = (elems(&va, size), elems(&vb, size));
            let e: Elems = ea
                .iter()
                .zip(eb.iter())
                .map(|(&x, &y)| match op {
                    VecOp::Vminu => x.min(y),
                    VecOp::Vmaxu => x.max(y),
                    VecOp::Vmins => {
                        if sext(x, size) < sext(y, size) {
                            x
                        } else {
                            y
                        }
                    }
                    _ => {
                        if sext(x, size) > sext(y, size) {
                            x
                        } else {
                            y
                        }
                    }
                })
                .collect();
            from_elems(&e, size)
        }
        VecOp::VslBits | VecOp::VsrBits => {
            let sh = (vb[15] & 7) as u32;
            let x = u128::from_be_bytes(va);
            let r = if op == VecOp::VslBits { x << sh } else { x >> sh };
            r.to_be_bytes()
        }
        VecOp::Vupkh | VecOp::Vupkl => {
            let e = elems(&vb, size);
            let half = if op == VecOp::Vupkh { &e[..e.len() / 2] } else { &e[e.len() / 2..] };
            let wide = 2 * size;
            let mask = if wide == 8 { u64::MAX } else { (1u64 << (8 * wide)) - 1 };
            let w: Elems = half.iter().map(|&x| sext(x, size) as u64 & mask).collect();
            from_elems(&w, wide)
        }
        VecOp::Vmsum => {
            let (src, signed_a, signed_b) = match imm {
                0 => (1, false, false),
                1 => (1, true, false),
                2 => (2, false, false),
                _ => (2, true, true),
            };
            let (ea, eb, ec) = (elems(&va, src), elems(&vb, src), elems(&vc, 4));
            let per = 4 / src;
            let w: Elems = (0..4)
                .map(|i| {
                    let mut sum = ec[i] as i64;
                    for j in 0..per {
                        let x = if signed_a { sext(ea[i * per + j], src) } else { ea[i * per + j] as i64 };
                        let y = if signed_b { sext(eb[i * per + j], src) } else { eb[i * per + j] as i64 };
                        sum = sum.wrapping_add(x.wrapping_mul(y));
                    }
                    sum as u64 & 0xffff_ffff
                })
                .collect();
            from_elems(&w, 4)
        }
        VecOp::Vpopcnt | VecOp::Vclz => {
            let e = elems(&vb, size);
            let bits = 8 * size as u32;
            let r: Elems = e
                .iter()
                .map(|&x| {
                    if op == VecOp::Vpopcnt {
                        x.count_ones() as u64
                    } else {
                        (x.leading_zeros() - (64 - bits)) as u64
                    }
                })
                .collect();
            from_elems(&r, size)
        }
        VecOp::Vmuluwm => {
            let (ea, eb) = (elems(&va, 4), elems(&vb, 4));
            let r: Elems = ea.iter().zip(eb.iter()).map(|(&x, &y)| x.wrapping_mul(y) & 0xffff_ffff).collect();
            from_elems(&r, 4)
        }
        VecOp::Vmulw => {
            let (ea, eb) = (elems(&va, 4), elems(&vb, 4));
            let odd = imm & 0x10 != 0;
            let signed = imm & 0x20 != 0;
            let r: Elems = (0..2)
                .map(|i| {
                    let k = 2 * i + odd as usize;
                    if signed {
                        (sext(ea[k], 4) * sext(eb[k], 4)) as u64
                    } else {
                        ea[k] * eb[k]
                    }
                })
                .collect();
            from_elems(&r, 8)
        }
        VecOp::Vsumsws => {
            let (ea, eb) = (elems(&va, 4), elems(&vb, 4));
            let sum: i64 = ea.iter().map(|&x| sext(x, 4)).sum::<i64>() + sext(eb[3], 4);
            let clamped = sum.clamp(i32::MIN as i64, i32::MAX as i64);
            sat = clamped != sum;
            from_elems(&[0, 0, 0, clamped as u64 & 0xffff_ffff], 4)
        }
        VecOp::Vaddsat => {
            let (ea, eb) = (elems(&va, size), elems(&vb, size));
            let (signed, sub) = (imm & 0x10 != 0, imm & 0x20 != 0);
            let bits = 8 * size as u32;
            let r: Elems = ea
                .iter()
                .zip(eb.iter())
                .map(|(&x, &y)| {
                    let (x, y) = if signed { (sext(x, size), sext(y, size)) } else { (x as i64, y as i64) };
                    let v = if sub { x - y } else { x + y };
                    let (lo, hi) = if signed {
                        (-(1i64 << (bits - 1)), (1i64 << (bits - 1)) - 1)
                    } else {
                        (0, (1i64 << bits) - 1)
                    };
                    let c = v.clamp(lo, hi);
                    sat |= c != v;
                    (c as u64) & ((1u64 << bits) - 1)
                })
                .collect();
            from_elems(&r, size)
        }
        VecOp::Xvcvw => {
            let e = elems(&vb, 4);
            let w: Elems = e
                .iter()
                .map(|&x| match imm {
                    0 => (x as u32 as i32 as f32).to_bits() as u64,
                    1 => (x as u32 as f32).to_bits() as u64,
                    2 => {
                        let f = f32::from_bits(x as u32);
                        if f.is_nan() {
                            0x8000_0000
                        } else {
                            f as i32 as u32 as u64
                        }
                    }
                    _ => {
                        let f = f32::from_bits(x as u32);
                        if f.is_nan() {
                            0
                        } else {
                            f as u32 as u64
                        }
                    }
                })
                .collect();
            from_elems(&w, 4)
        }
    };
    // SAFETY: forwarded from the caller.
    unsafe { set(state, t, out) };
    if sat {
        // SAFETY: the vscr slot (i32) is in the state buffer.
        unsafe {
            let p = state.add(offsets().vscr).cast::<u32>();
            p.write_unaligned(p.read_unaligned() | 1);
        }
    }
    if let (Some((all, none)), true) = (cr6, imm & 0x100 != 0) {
        let o = &offsets().cr6;
        // SAFETY: CR6's four i1 slots are in the state buffer.
        unsafe {
            *state.add(o[0]) = all as u8;
            *state.add(o[1]) = 0;
            *state.add(o[2]) = none as u8;
            *state.add(o[3]) = 0;
        }
    }
}
