//! One representative instruction of each guest ISA, lifted by hand into IR text with its
//! own state declaration, parsed, verified and run on the reference interpreter. The
//! expected results are worked out in the tests from each architecture's documented
//! semantics (manual pseudo-code re-implemented with wide integers, or literal values
//! computed by hand), never from mimic itself.

use mimic_ir::*;
use std::sync::Arc;

/// Parse a module with one state declaration and one or more regions; verify each region.
fn load(text: &str) -> (Arc<StateLayout>, Vec<Region>) {
    let (mut layouts, regions) = parse_module(text, &[]).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(layouts.len(), 1);
    for r in &regions {
        if let Err(e) = verify(r) {
            panic!("{e}\n{}", print(r));
        }
        // The hand-written text is in printed form already.
        let again = parse_region(&print(r), &r.layout).expect("reparse");
        assert_eq!(print(&again), print(r));
    }
    (layouts.remove(0), regions)
}

fn no_memory() -> FlatMemory {
    FlatMemory { base: 0, data: Vec::new() }
}

fn run(r: &Region, s: &mut StateBuf, mem: &mut FlatMemory) -> Exit {
    interp::run(r, s, mem, &RunControl::default())
}

struct Slots<'a> {
    l: &'a StateLayout,
}
impl Slots<'_> {
    fn get(&self, s: &StateBuf, name: &str) -> u64 {
        s.get(self.l, self.l.expect(name)) as u64
    }
    fn set(&self, s: &mut StateBuf, name: &str, v: u64) {
        s.set(self.l, self.l.expect(name), v as u128)
    }
    fn flag(&self, s: &StateBuf, name: &str) -> bool {
        let v = s.get(self.l, self.l.expect(name));
        assert!(v <= 1, "i1 slot {name} holds {v}");
        v == 1
    }
}

// ---------------------------------------------------------------------------------------
// x86-64: `add rax, rbx` (48 01 d8) with lazy EFLAGS.
//
// As in QEMU, the add does not compute flags: it records the operation in cc_op and the
// operands in cc_dst (the result) and cc_src (the second source). A later consumer of
// the flags (here: a flag materialisation region, as run before `pushfq`) recomputes
// them: src1 = dst - src2; CF = dst <u src1; ZF = dst == 0; SF = dst[63];
// OF = ((src1 ^ src2 ^ -1) & (src1 ^ dst))[63]; AF = (dst ^ src1 ^ src2)[4];
// PF = 1 when the low byte of dst has an even number of ones.
// ---------------------------------------------------------------------------------------

/// Our numbering of lazy flag states (QEMU's enum differs between versions).
const CC_OP_EFLAGS: u64 = 1;
const CC_OP_ADDQ: u64 = 12;

const X86: &str = "state x86_64 pc=rip {
  rip: i64
  rax: i64
  rbx: i64
  cc_op: i64
  cc_dst: i64
  cc_src: i64
  cf: i1
  pf: i1
  af: i1
  zf: i1
  sf: i1
  of: i1
}
region @0x401000 state=x86_64 insns=1 {
block0:
  insn 0x401000
  v0:i64 = get_slot rax
  v1:i64 = get_slot rbx
  v2:i64 = add v0, v1
  set_slot rax, v2
  v3:i64 = iconst 0xc
  set_slot cc_op, v3
  set_slot cc_dst, v2
  set_slot cc_src, v1
  exit_jump 0x401003
}
region @0x401003 state=x86_64 insns=1 {
block0:
  insn 0x401003
  v0:i64 = get_slot cc_op
  v1:i64 = get_slot cc_dst
  v2:i64 = get_slot cc_src
  v3:i64 = iconst 0xc
  v4:i1 = icmp eq v0, v3
  brif v4, block1(v1, v2), block2()
block1(v5:i64, v6:i64):
  v7:i64 = sub v5, v6
  v8:i1 = icmp ult v5, v7
  v9:i64 = iconst 0x0
  v10:i1 = icmp eq v5, v9
  v11:i1 = icmp slt v5, v9
  v12:i64 = xor v7, v6
  v13:i64 = not v12
  v14:i64 = xor v7, v5
  v15:i64 = and v13, v14
  v16:i1 = icmp slt v15, v9
  v17:i64 = iconst 0xff
  v18:i64 = and v5, v17
  v19:i64 = popcnt v18
  v20:i64 = iconst 0x1
  v21:i64 = and v19, v20
  v22:i64 = xor v21, v20
  v23:i1 = trunc v22
  v24:i64 = xor v12, v5
  v25:i64 = iconst 0x4
  v26:i64 = lshr v24, v25
  v27:i1 = trunc v26
  set_slot cf, v8
  set_slot pf, v23
  set_slot af, v27
  set_slot zf, v10
  set_slot sf, v11
  set_slot of, v16
  set_slot cc_op, v20
  exit_jump 0x401004
block2:
  exit_jump 0x401004
}
";

#[test]
fn x86_64_add_with_lazy_eflags() {
    let (l, regions) = load(X86);
    let (add, flags) = (&regions[0], &regions[1]);
    let sl = Slots { l: &l };
    // (rax, rbx, sum, CF, PF, AF, ZF, SF, OF), worked out by hand.
    #[rustfmt::skip]
    let cases: [(u64, u64, u64, [bool; 6]); 8] = [
        // Signed overflow into the sign bit; low byte 0x00 has even parity; 0xf + 1 carries out of bit 3.
        (0x7fff_ffff_ffff_ffff, 1, 0x8000_0000_0000_0000, [false, true, true, false, true, true]),
        // Unsigned wrap to zero: CF and ZF; -1 + 1 is no signed overflow.
        (0xffff_ffff_ffff_ffff, 1, 0, [true, true, true, true, false, false]),
        // 0x1243: low byte 0x43 = 0100_0011 has three ones (PF=0); 4 + 0xf carries out of bit 3.
        (0x1234, 0x0f, 0x1243, [false, false, true, false, false, false]),
        // MIN + MIN: carry, zero, overflow; no carry out of bit 3.
        (0x8000_0000_0000_0000, 0x8000_0000_0000_0000, 0, [true, true, false, true, false, true]),
        // -2 + -2 = -4 (0x...fc: six ones, even); 0xe + 0xe = 0x1c carries out of bit 3.
        (0xffff_ffff_ffff_fffe, 0xffff_ffff_ffff_fffe, 0xffff_ffff_ffff_fffc, [true, true, true, false, true, false]),
        // 5 + -5 = 0 with an unsigned carry.
        (5, 0xffff_ffff_ffff_fffb, 0, [true, true, true, true, false, false]),
        // 0x80: one bit set, odd parity.
        (0x7f, 1, 0x80, [false, false, true, false, false, false]),
        // 0x30 = 0011_0000: even parity; no nibble carry.
        (0x10, 0x20, 0x30, [false, true, false, false, false, false]),
    ];
    for (rax, rbx, sum, [cf, pf, af, zf, sf, of]) in cases {
        let mut s = StateBuf::new(&l);
        sl.set(&mut s, "rax", rax);
        sl.set(&mut s, "rbx", rbx);
        let mut mem = no_memory();
        let exit = run(add, &mut s, &mut mem);
        assert_eq!(exit.pc(), 0x401003);
        assert!(matches!(exit, Exit::Jump { .. }));
        assert_eq!(sl.get(&s, "rip"), 0x401003);
        assert_eq!(sl.get(&s, "rax"), sum);
        assert_eq!(sl.get(&s, "rbx"), rbx);
        // Lazy: only the recipe is recorded, no flag slot is touched yet.
        assert_eq!(sl.get(&s, "cc_op"), CC_OP_ADDQ);
        assert_eq!(sl.get(&s, "cc_dst"), sum);
        assert_eq!(sl.get(&s, "cc_src"), rbx);
        for f in ["cf", "pf", "af", "zf", "sf", "of"] {
            assert!(!sl.flag(&s, f));
        }
        let exit = run(flags, &mut s, &mut mem);
        assert_eq!(exit.pc(), 0x401004);
        let got = ["cf", "pf", "af", "zf", "sf", "of"].map(|f| sl.flag(&s, f));
        assert_eq!(got, [cf, pf, af, zf, sf, of], "{rax:#x} + {rbx:#x}: CF PF AF ZF SF OF");
        assert_eq!(sl.get(&s, "cc_op"), CC_OP_EFLAGS);
    }
}

#[test]
fn x86_64_flags_already_materialised_are_left_alone() {
    let (l, regions) = load(X86);
    let sl = Slots { l: &l };
    let mut s = StateBuf::new(&l);
    sl.set(&mut s, "cc_op", CC_OP_EFLAGS);
    // cc_dst/cc_src hold stale values that would give ZF=1 CF=1 if evaluated.
    sl.set(&mut s, "cc_dst", 0);
    sl.set(&mut s, "cc_src", 1);
    for (f, v) in [("cf", 0), ("pf", 1), ("af", 0), ("zf", 0), ("sf", 1), ("of", 1)] {
        sl.set(&mut s, f, v);
    }
    let before = s.clone();
    let exit = run(&regions[1], &mut s, &mut no_memory());
    assert_eq!(exit.pc(), 0x401004);
    sl.set(&mut s, "rip", 0);
    assert_eq!(s, before);
}

// ---------------------------------------------------------------------------------------
// AArch64: `adds x0, x1, x2` then `b.ne 0x400040`.
//
// ARM ARM AddWithCarry(x, y, carry_in): unsigned_sum = UInt(x) + UInt(y) + carry_in;
// signed_sum = SInt(x) + SInt(y) + carry_in; result = unsigned_sum<63:0>;
// N = result<63>; Z = IsZero(result); C = UInt(result) != unsigned_sum;
// V = SInt(result) != signed_sum. B.NE branches when Z == 0.
// ---------------------------------------------------------------------------------------

const AARCH64: &str = "state aarch64 pc=pc {
  pc: i64
  x0: i64
  x1: i64
  x2: i64
  n: i1
  z: i1
  c: i1
  v: i1
}
region @0x400000 state=aarch64 insns=2 {
block0:
  insn 0x400000
  v0:i64 = get_slot x1
  v1:i64 = get_slot x2
  v2:i64 = add v0, v1
  set_slot x0, v2
  v3:i64 = iconst 0x0
  v4:i1 = icmp slt v2, v3
  v5:i1 = icmp eq v2, v3
  v6:i1 = add_carry v0, v1
  v7:i1 = add_overflow v0, v1
  set_slot n, v4
  set_slot z, v5
  set_slot c, v6
  set_slot v, v7
  insn 0x400004
  v8:i1 = get_slot z
  brif v8, block1(), block2()
block1:
  exit_jump 0x400008
block2:
  exit_jump 0x400040
}
";

/// The ARM ARM's AddWithCarry, with wide integers.
fn arm_add_with_carry(x: u64, y: u64, carry_in: bool) -> (u64, [bool; 4]) {
    let unsigned_sum = x as u128 + y as u128 + carry_in as u128;
    let signed_sum = x as i64 as i128 + y as i64 as i128 + carry_in as i128;
    let result = unsigned_sum as u64;
    let n = result >> 63 == 1;
    let z = result == 0;
    let c = result as u128 != unsigned_sum;
    let v = result as i64 as i128 != signed_sum;
    (result, [n, z, c, v])
}

fn run_a64(x1: u64, x2: u64) -> (u64, [bool; 4], Exit, u64) {
    let (l, regions) = load(AARCH64);
    let sl = Slots { l: &l };
    let mut s = StateBuf::new(&l);
    sl.set(&mut s, "x1", x1);
    sl.set(&mut s, "x2", x2);
    let exit = run(&regions[0], &mut s, &mut no_memory());
    let nzcv = ["n", "z", "c", "v"].map(|f| sl.flag(&s, f));
    (sl.get(&s, "x0"), nzcv, exit, sl.get(&s, "pc"))
}

#[test]
fn aarch64_adds_and_b_ne() {
    const TAKEN: u64 = 0x400040;
    const FALL: u64 = 0x400008;
    // (x1, x2, x0, [N, Z, C, V], next pc), by hand.
    #[rustfmt::skip]
    let cases = [
        (1u64, 2u64, 3u64, [false, false, false, false], TAKEN),
        (u64::MAX, 1, 0, [false, true, true, false], FALL),
        (0x7fff_ffff_ffff_ffff, 1, 0x8000_0000_0000_0000, [true, false, false, true], TAKEN),
        (0x8000_0000_0000_0000, 0x8000_0000_0000_0000, 0, [false, true, true, true], FALL),
        (0x8000_0000_0000_0000, u64::MAX, 0x7fff_ffff_ffff_ffff, [false, false, true, true], TAKEN),
        (u64::MAX, u64::MAX, 0xffff_ffff_ffff_fffe, [true, false, true, false], TAKEN),
        (0, 0, 0, [false, true, false, false], FALL),
    ];
    for (x1, x2, x0, nzcv, next) in cases {
        let (got_x0, got_nzcv, exit, pc) = run_a64(x1, x2);
        assert_eq!(got_x0, x0, "{x1:#x} + {x2:#x}");
        assert_eq!(got_nzcv, nzcv, "NZCV of {x1:#x} + {x2:#x}");
        assert_eq!(pc, next);
        // The fall-through exit is the region's first direct exit, the branch its second.
        let index = if next == FALL { 0 } else { 1 };
        assert_eq!(exit, Exit::Jump { pc: next, hint: ExitHint::None, ret: 0, index });
        // The hand values agree with the manual's pseudo-code.
        assert_eq!(arm_add_with_carry(x1, x2, false), (x0, nzcv));
    }
    // A grid of boundary values against the pseudo-code.
    let edges = [
        0u64,
        1,
        2,
        0x7fff_ffff_ffff_fffe,
        0x7fff_ffff_ffff_ffff,
        0x8000_0000_0000_0000,
        0x8000_0000_0000_0001,
        0xffff_ffff_ffff_fffe,
        u64::MAX,
        0x1234_5678_9abc_def0,
    ];
    for &a in &edges {
        for &b in &edges {
            let (x0, nzcv, _, pc) = run_a64(a, b);
            let (want, want_nzcv) = arm_add_with_carry(a, b, false);
            assert_eq!((x0, nzcv), (want, want_nzcv), "{a:#x} + {b:#x}");
            assert_eq!(pc, if want_nzcv[1] { FALL } else { TAKEN });
        }
    }
}

// ---------------------------------------------------------------------------------------
// PowerPC (64-bit mode): `addco. r3, r4, r5` then `addeo. r6, r7, r8` (a 128-bit add of
// r7:r4 and r8:r5 into r6:r3).
//
// Power ISA: addc: RT = RA + RB, CA = carry out of bit 0 (the MSB). adde: RT = RA + RB + CA,
// CA = carry out. OE=1: XER[OV] = signed overflow of the 64-bit result, and XER[SO] |= OV
// (sticky). Rc=1: CR0 = LT, GT, EQ from comparing the result with 0 as a signed 64-bit
// number, and CR0[SO] = XER[SO] at the completion of the instruction.
// ---------------------------------------------------------------------------------------

const PPC: &str = "state ppc64 pc=pc {
  pc: i64
  r3: i64
  r4: i64
  r5: i64
  r6: i64
  r7: i64
  r8: i64
  ca: i1
  ov: i1
  so: i1
  cr0_lt: i1
  cr0_gt: i1
  cr0_eq: i1
  cr0_so: i1
}
region @0x10000000 state=ppc64 insns=2 {
block0:
  insn 0x10000000
  v0:i64 = get_slot r4
  v1:i64 = get_slot r5
  v2:i64 = add v0, v1
  set_slot r3, v2
  v3:i1 = add_carry v0, v1
  set_slot ca, v3
  v4:i1 = add_overflow v0, v1
  set_slot ov, v4
  v5:i1 = get_slot so
  v6:i8 = zext v5
  v7:i8 = zext v4
  v8:i8 = or v6, v7
  v9:i1 = trunc v8
  set_slot so, v9
  v10:i64 = iconst 0x0
  v11:i1 = icmp slt v2, v10
  v12:i1 = icmp sgt v2, v10
  v13:i1 = icmp eq v2, v10
  set_slot cr0_lt, v11
  set_slot cr0_gt, v12
  set_slot cr0_eq, v13
  set_slot cr0_so, v9
  insn 0x10000004
  v14:i64 = get_slot r7
  v15:i64 = get_slot r8
  v16:i1 = get_slot ca
  v17:i64 = adc v14, v15, v16
  set_slot r6, v17
  v18:i1 = adc_carry v14, v15, v16
  set_slot ca, v18
  v19:i1 = adc_overflow v14, v15, v16
  set_slot ov, v19
  v20:i1 = get_slot so
  v21:i8 = zext v20
  v22:i8 = zext v19
  v23:i8 = or v21, v22
  v24:i1 = trunc v23
  set_slot so, v24
  v25:i1 = icmp slt v17, v10
  v26:i1 = icmp sgt v17, v10
  v27:i1 = icmp eq v17, v10
  set_slot cr0_lt, v25
  set_slot cr0_gt, v26
  set_slot cr0_eq, v27
  set_slot cr0_so, v24
  exit_jump 0x10000008
}
";

/// Power ISA add with carry in (addc with ca_in = 0, adde with ca_in = CA): (RT, CA, OV).
fn ppc_add(a: u64, b: u64, ca_in: bool) -> (u64, bool, bool) {
    let wide = a as u128 + b as u128 + ca_in as u128;
    let signed = a as i64 as i128 + b as i64 as i128 + ca_in as i128;
    let rt = wide as u64;
    (rt, wide >> 64 != 0, rt as i64 as i128 != signed)
}

#[derive(Debug, PartialEq)]
struct PpcOut {
    r3: u64,
    r6: u64,
    ca: bool,
    ov: bool,
    so: bool,
    /// LT, GT, EQ, SO
    cr0: [bool; 4],
}

fn run_ppc(r4: u64, r5: u64, r7: u64, r8: u64, so: bool) -> PpcOut {
    let (l, regions) = load(PPC);
    let sl = Slots { l: &l };
    let mut s = StateBuf::new(&l);
    for (n, v) in [("r4", r4), ("r5", r5), ("r7", r7), ("r8", r8), ("so", so as u64)] {
        sl.set(&mut s, n, v);
    }
    // CA and OV are outputs: a stale CA must not leak into addc.
    sl.set(&mut s, "ca", 1);
    sl.set(&mut s, "ov", 1);
    let exit = run(&regions[0], &mut s, &mut no_memory());
    assert_eq!(exit.pc(), 0x1000_0008);
    assert_eq!(sl.get(&s, "pc"), 0x1000_0008);
    PpcOut {
        r3: sl.get(&s, "r3"),
        r6: sl.get(&s, "r6"),
        ca: sl.flag(&s, "ca"),
        ov: sl.flag(&s, "ov"),
        so: sl.flag(&s, "so"),
        cr0: ["cr0_lt", "cr0_gt", "cr0_eq", "cr0_so"].map(|f| sl.flag(&s, f)),
    }
}

#[test]
fn powerpc_addco_dot_then_addeo_dot() {
    // A: the low add carries into the high add: 0xffff...ff + 1 = 0 (CA=1, no overflow),
    //    high 0 + 0 + 1 = 1: positive, CA=0, OV=0, SO stays 0.
    assert_eq!(
        run_ppc(u64::MAX, 1, 0, 0, false),
        PpcOut { r3: 0, r6: 1, ca: false, ov: false, so: false, cr0: [false, true, false, false] }
    );
    // B: the low add overflows (MAX + 1), which sets SO; the high add 5 + 6 = 11 clears OV
    //    but SO is sticky and CR0[SO] copies it.
    assert_eq!(
        run_ppc(0x7fff_ffff_ffff_ffff, 1, 5, 6, false),
        PpcOut { r3: 0x8000_0000_0000_0000, r6: 11, ca: false, ov: false, so: true, cr0: [false, true, false, true] }
    );
    // C: high MIN + -1 overflows to MAX with a carry: OV=1, SO=1, result positive.
    assert_eq!(
        run_ppc(0, 0, 0x8000_0000_0000_0000, u64::MAX, false),
        PpcOut { r3: 0, r6: 0x7fff_ffff_ffff_ffff, ca: true, ov: true, so: true, cr0: [false, true, false, true] }
    );
    // D: 1 + -1 = 0 carries; -1 + 0 + 1 = 0 carries again: EQ. SO was already set.
    assert_eq!(
        run_ppc(1, u64::MAX, u64::MAX, 0, true),
        PpcOut { r3: 0, r6: 0, ca: true, ov: false, so: true, cr0: [false, false, true, true] }
    );
    // E: no carry from 2 + 3; -2 + 0 = -2: LT, nothing else.
    assert_eq!(
        run_ppc(2, 3, 0xffff_ffff_ffff_fffe, 0, false),
        PpcOut { r3: 5, r6: 0xffff_ffff_ffff_fffe, ca: false, ov: false, so: false, cr0: [true, false, false, false] }
    );
    // A grid against the ISA definition, composing the two instructions.
    let edges = [0u64, 1, 0x7fff_ffff_ffff_ffff, 0x8000_0000_0000_0000, u64::MAX, 0xdead_beef_0000_0001];
    for &lo in &edges {
        for &hi in &edges {
            for so in [false, true] {
                let (r3, ca1, ov1) = ppc_add(lo, hi, false);
                let (r6, ca2, ov2) = ppc_add(hi, lo, ca1);
                let so2 = so || ov1 || ov2;
                let r = r6 as i64;
                let want = PpcOut { r3, r6, ca: ca2, ov: ov2, so: so2, cr0: [r < 0, r > 0, r == 0, so2] };
                assert_eq!(run_ppc(lo, hi, hi, lo, so), want, "lo={lo:#x} hi={hi:#x} so={so}");
            }
        }
    }
}

// ---------------------------------------------------------------------------------------
// SPARC V9: `addcc %o1, %o2, %o0`, register windows, and a delayed `ba`.
//
// addcc: rd = rs1 + rs2; icc from the low 32 bits (N = r<31>, Z = r<31:0> == 0,
// V = signed overflow of the 32-bit add, C = carry out of bit 31); xcc the same at 64 bits.
//
// Windows: NWINDOWS = 8 windows of 16 registers in `windows: i64[128]`: window w holds
// its ins at windows[w*16 + 0..8] and its locals at windows[w*16 + 8..16]. In V9 SAVE
// increments CWP, so the outs of window w are the ins of window w+1:
// %oK = windows[(cwp*16 + 16 + K) mod 128] (get_elem/set_elem reduce the index mod 128).
//
// Control transfer: pc/npc. `ba target` (a=0) executes its delay slot, then continues at
// target: afterwards pc = target, npc = target + 4. `ba,a` annuls the delay slot.
// ---------------------------------------------------------------------------------------

const SPARC_STATE: &str = "state sparc64 pc=pc {
  pc: i64
  npc: i64
  cwp: i64
  windows: i64[128]
  icc_n: i1
  icc_z: i1
  icc_v: i1
  icc_c: i1
  xcc_n: i1
  xcc_z: i1
  xcc_v: i1
  xcc_c: i1
}
";

/// The body of `addcc %o1, %o2, %o0` (values v0..v24).
const ADDCC_BODY: &str = "  v0:i64 = get_slot cwp
  v1:i64 = iconst 0x10
  v2:i64 = mul v0, v1
  v3:i64 = iconst 0x11
  v4:i64 = add v2, v3
  v5:i64 = get_elem windows, v4
  v6:i64 = iconst 0x12
  v7:i64 = add v2, v6
  v8:i64 = get_elem windows, v7
  v9:i64 = add v5, v8
  v10:i64 = add v2, v1
  set_elem windows, v10, v9
  v11:i64 = iconst 0x0
  v12:i1 = icmp slt v9, v11
  v13:i1 = icmp eq v9, v11
  v14:i1 = add_overflow v5, v8
  v15:i1 = add_carry v5, v8
  set_slot xcc_n, v12
  set_slot xcc_z, v13
  set_slot xcc_v, v14
  set_slot xcc_c, v15
  v16:i32 = trunc v5
  v17:i32 = trunc v8
  v18:i32 = trunc v9
  v19:i32 = iconst 0x0
  v20:i1 = icmp slt v18, v19
  v21:i1 = icmp eq v18, v19
  v22:i1 = add_overflow v16, v17
  v23:i1 = add_carry v16, v17
  set_slot icc_n, v20
  set_slot icc_z, v21
  set_slot icc_v, v22
  set_slot icc_c, v23
";

fn sparc_addcc() -> String {
    format!(
        "{SPARC_STATE}region @0x100000 state=sparc64 insns=1 {{\nblock0:\n  insn 0x100000\n{ADDCC_BODY}  v24:i64 = iconst 0x100008\n  set_slot npc, v24\n  exit_jump 0x100004\n}}\n"
    )
}

/// `ba 0x200040` at 0x200000 with `addcc %o1, %o2, %o0` in its delay slot at 0x200004.
/// The branch sets npc to the target first, so that a fault in the delay slot would
/// restart with pc = 0x200004, npc = 0x200040.
fn sparc_ba_delay_slot() -> String {
    format!(
        "{SPARC_STATE}region @0x200000 state=sparc64 insns=2 {{\nblock0:\n  insn 0x200000\n  v0:i64 = iconst 0x200040\n  set_slot npc, v0\n  insn 0x200004\n{}  v25:i64 = iconst 0x200044\n  set_slot npc, v25\n  exit_jump 0x200040\n}}\n",
        // Shift the addcc body's value numbers up by one.
        renumber(ADDCC_BODY, 1)
    )
}

fn renumber(body: &str, by: usize) -> String {
    let mut out = String::new();
    let mut chars = body.chars().peekable();
    let mut prev_alnum = false;
    while let Some(ch) = chars.next() {
        if ch == 'v' && !prev_alnum && chars.peek().is_some_and(|c| c.is_ascii_digit()) {
            let mut n = String::new();
            while let Some(d) = chars.peek().filter(|c| c.is_ascii_digit()) {
                n.push(*d);
                chars.next();
            }
            out += &format!("v{}", n.parse::<usize>().unwrap() + by);
            prev_alnum = true;
        } else {
            prev_alnum = ch.is_ascii_alphanumeric() || ch == '_';
            out.push(ch);
        }
    }
    out
}

/// `ba,a 0x300040`: the delay slot at 0x300004 is annulled.
const SPARC_BA_ANNUL: &str = "region @0x300000 state=sparc64 insns=1 {
block0:
  insn 0x300000
  v0:i64 = iconst 0x300044
  set_slot npc, v0
  exit_jump 0x300040
}
";

/// Index in `windows` of %oK in window cwp, worked out from the layout above.
fn out_reg(cwp: u64, k: u64) -> u64 {
    ((cwp + 1) % 8) * 16 + k
}

/// (%o1, %o2, %o0, icc NZVC, xcc NZVC).
type AddccCase = (u64, u64, u64, [bool; 4], [bool; 4]);

struct SparcFlags {
    icc: [bool; 4],
    xcc: [bool; 4],
}

fn sparc_flags(sl: &Slots, s: &StateBuf) -> SparcFlags {
    SparcFlags {
        icc: ["icc_n", "icc_z", "icc_v", "icc_c"].map(|f| sl.flag(s, f)),
        xcc: ["xcc_n", "xcc_z", "xcc_v", "xcc_c"].map(|f| sl.flag(s, f)),
    }
}

#[test]
fn sparc_v9_addcc_icc_and_xcc() {
    let (l, regions) = load(&sparc_addcc());
    let sl = Slots { l: &l };
    let win = l.expect("windows");
    // (o1, o2, o0, icc NZVC, xcc NZVC), by hand.
    #[rustfmt::skip]
    let cases: [AddccCase; 7] = [
        (3, 4, 7, [false, false, false, false], [false, false, false, false]),
        // 32-bit signed overflow only.
        (0x7fff_ffff, 1, 0x8000_0000, [true, false, true, false], [false, false, false, false]),
        // Carry out of bit 31: icc sees zero with carry; xcc sees 0x1_0000_0000.
        (0xffff_ffff, 1, 0x1_0000_0000, [false, true, false, true], [false, false, false, false]),
        // Wrap at 64 bits: both zero with carry.
        (u64::MAX, 1, 0, [false, true, false, true], [false, true, false, true]),
        // 64-bit signed overflow; the low word wraps 0xffffffff + 1.
        (0x7fff_ffff_ffff_ffff, 1, 0x8000_0000_0000_0000, [false, true, false, true], [true, false, true, false]),
        // Both halves overflow and carry.
        (0x8000_0000_8000_0000, 0x8000_0000_8000_0000, 0x1_0000_0000, [false, true, true, true], [false, false, true, true]),
        // -2^31 + -1 overflows at 32 bits; at 64 bits both are positive and small.
        (0x8000_0000, 0xffff_ffff, 0x1_7fff_ffff, [false, false, true, true], [false, false, false, false]),
    ];
    for cwp in [2u64, 7] {
        for (o1, o2, o0, icc, xcc) in cases {
            let mut s = StateBuf::new(&l);
            sl.set(&mut s, "cwp", cwp);
            sl.set(&mut s, "npc", 0x100004);
            // Fill every window register with a marker so stray reads/writes show up.
            for i in 0..128 {
                s.set_elem(&l, win, i, 0xaaaa_0000 + i as u128);
            }
            s.set_elem(&l, win, out_reg(cwp, 1), o1 as u128);
            s.set_elem(&l, win, out_reg(cwp, 2), o2 as u128);
            let before = s.clone();
            let exit = run(&regions[0], &mut s, &mut no_memory());
            assert_eq!(exit.pc(), 0x100004);
            assert_eq!(sl.get(&s, "pc"), 0x100004);
            assert_eq!(sl.get(&s, "npc"), 0x100008);
            assert_eq!(s.get_elem(&l, win, out_reg(cwp, 0)) as u64, o0, "cwp={cwp} {o1:#x}+{o2:#x}");
            // %o0 of window cwp is %i0 of window cwp+1; nothing else in the file changed.
            for i in 0..128 {
                if i != out_reg(cwp, 0) {
                    assert_eq!(s.get_elem(&l, win, i), before.get_elem(&l, win, i), "windows[{i}]");
                }
            }
            let f = sparc_flags(&sl, &s);
            assert_eq!(f.icc, icc, "icc of {o1:#x} + {o2:#x}");
            assert_eq!(f.xcc, xcc, "xcc of {o1:#x} + {o2:#x}");
        }
    }
    // With cwp = 7 the outs live in window 0 (the index wraps mod 128).
    assert_eq!(out_reg(7, 0), 0);
    assert_eq!(out_reg(2, 1), 49);
}

#[test]
fn sparc_v9_ba_executes_its_delay_slot() {
    let (l, regions) = load(&sparc_ba_delay_slot());
    let sl = Slots { l: &l };
    let win = l.expect("windows");
    let cwp = 5;
    let mut s = StateBuf::new(&l);
    sl.set(&mut s, "pc", 0x200000);
    sl.set(&mut s, "npc", 0x200004);
    sl.set(&mut s, "cwp", cwp);
    s.set_elem(&l, win, out_reg(cwp, 1), 0xffff_ffff);
    s.set_elem(&l, win, out_reg(cwp, 2), 1);
    let exit = run(&regions[0], &mut s, &mut no_memory());
    assert_eq!(exit, Exit::Jump { pc: 0x200040, hint: ExitHint::None, ret: 0, index: 0 });
    // The delay slot ran: %o0 = 0xffffffff + 1 with icc Z and C set.
    assert_eq!(s.get_elem(&l, win, out_reg(cwp, 0)), 0x1_0000_0000);
    let f = sparc_flags(&sl, &s);
    assert_eq!(f.icc, [false, true, false, true]);
    assert_eq!(f.xcc, [false, false, false, false]);
    // pc = target, npc = target + 4.
    assert_eq!(sl.get(&s, "pc"), 0x200040);
    assert_eq!(sl.get(&s, "npc"), 0x200044);
}

#[test]
fn sparc_v9_ba_annulled_skips_its_delay_slot() {
    let text = format!("{SPARC_STATE}{SPARC_BA_ANNUL}");
    let (l, regions) = load(&text);
    let sl = Slots { l: &l };
    let win = l.expect("windows");
    let mut s = StateBuf::new(&l);
    sl.set(&mut s, "pc", 0x300000);
    sl.set(&mut s, "npc", 0x300004);
    s.set_elem(&l, win, out_reg(0, 1), 0xffff_ffff);
    s.set_elem(&l, win, out_reg(0, 2), 1);
    let exit = run(&regions[0], &mut s, &mut no_memory());
    assert_eq!(exit.pc(), 0x300040);
    assert_eq!(sl.get(&s, "pc"), 0x300040);
    assert_eq!(sl.get(&s, "npc"), 0x300044);
    assert_eq!(s.get_elem(&l, win, out_reg(0, 0)), 0);
    let f = sparc_flags(&sl, &s);
    assert_eq!(f.icc, [false; 4]);
}

/// `ba 0x400040` with `ldx [%o1], %o0` in the delay slot: SPARC is big-endian and
/// requires natural alignment (mem_address_not_aligned otherwise).
const SPARC_BA_LDX: &str = "region @0x400000 state=sparc64 insns=2 {
block0:
  insn 0x400000
  v0:i64 = iconst 0x400040
  set_slot npc, v0
  insn 0x400004
  v1:i64 = get_slot cwp
  v2:i64 = iconst 0x10
  v3:i64 = mul v1, v2
  v4:i64 = iconst 0x11
  v5:i64 = add v3, v4
  v6:i64 = get_elem windows, v5
  v7:i64 = load.u64.be.aligned v6
  v8:i64 = add v3, v2
  set_elem windows, v8, v7
  v9:i64 = iconst 0x400044
  set_slot npc, v9
  exit_jump 0x400040
}
";

#[test]
fn sparc_v9_delay_slot_load_is_big_endian_and_faults_precisely() {
    let text = format!("{SPARC_STATE}{SPARC_BA_LDX}");
    let (l, regions) = load(&text);
    let sl = Slots { l: &l };
    let win = l.expect("windows");
    let cwp = 3;
    let fresh = |addr: u64| {
        let mut s = StateBuf::new(&l);
        sl.set(&mut s, "pc", 0x400000);
        sl.set(&mut s, "npc", 0x400004);
        sl.set(&mut s, "cwp", cwp);
        s.set_elem(&l, win, out_reg(cwp, 1), addr as u128);
        s
    };
    let mut mem = FlatMemory { base: 0x8000, data: (0u8..32).collect() };
    // Aligned load at 0x8008: bytes 08 09 .. 0f, most significant first.
    let mut s = fresh(0x8008);
    let exit = run(&regions[0], &mut s, &mut mem);
    assert_eq!(exit.pc(), 0x400040);
    assert_eq!(s.get_elem(&l, win, out_reg(cwp, 0)), 0x0809_0a0b_0c0d_0e0f);
    assert_eq!((sl.get(&s, "pc"), sl.get(&s, "npc")), (0x400040, 0x400044));
    // Unmapped: the fault is reported at the delay slot with npc = the branch target,
    // so the instruction can be restarted.
    let mut s = fresh(0x9000);
    let exit = run(&regions[0], &mut s, &mut mem);
    assert_eq!(
        exit,
        Exit::Fault { fault: MemFault { addr: 0x9000, write: false, kind: FaultKind::Unmapped }, pc: 0x400004 }
    );
    assert_eq!((sl.get(&s, "pc"), sl.get(&s, "npc")), (0x400004, 0x400040));
    assert_eq!(s.get_elem(&l, win, out_reg(cwp, 0)), 0);
    // Misaligned: an unaligned trap at the delay slot.
    let mut s = fresh(0x8004);
    let exit = run(&regions[0], &mut s, &mut mem);
    assert_eq!(exit, Exit::Trap { kind: TrapKind::Unaligned, pc: 0x400004 });
    assert_eq!((sl.get(&s, "pc"), sl.get(&s, "npc")), (0x400004, 0x400040));
}
