//! Text form: print(parse(text)) reproduces normalised text for regions covering every
//! opcode and every immediate form, builder-made regions survive print -> parse -> print,
//! non-canonical input is normalised, and parse errors point at the right line.

use mimic_ir::helpers::{self, HelperInfo};
use mimic_ir::*;
use std::collections::HashSet;
use std::sync::Arc;

const STATE: &str = "state demo pc=pc {
  pc: i64
  x0: i64
  x1: i64
  w: i32
  h: i16
  b: i8
  q: i128
  flag: i1
  f: f32
  d: f64
  vec: v128
  win: i64[8]
  bank: i32[4]
}
";

unsafe extern "C" fn helper_mix(_state: *mut u8, a: u64, b: u64, _c: u64, _d: u64) -> u64 {
    a.wrapping_mul(31) ^ b
}
unsafe extern "C" fn helper_sink(_state: *mut u8, _a: u64, _b: u64, _c: u64, _d: u64) -> u64 {
    0
}
unsafe extern "C" fn helper_zero(_state: *mut u8, _a: u64, _b: u64, _c: u64, _d: u64) -> u64 {
    0
}

fn register_helpers() {
    let reg = |name: &str, func: HelperFn, params: Vec<Type>, ret: Option<Type>| {
        helpers::register(HelperInfo { name: name.to_string(), func, params, ret, effects: HelperEffects::Pure })
            .expect("register helper")
    };
    reg("text_mix", helper_mix, vec![Type::I64, Type::I32], Some(Type::I64));
    reg("text_sink", helper_sink, vec![Type::I64], None);
    reg("text_zero", helper_zero, vec![], Some(Type::I64));
}

fn layout() -> Arc<StateLayout> {
    let (layouts, regions) = parse_module(STATE, &[]).expect("state parses");
    assert!(regions.is_empty());
    assert_eq!(layouts.len(), 1);
    layouts[0].clone()
}

/// Integer ALU, shifts, counts, conversions, select, bitcast.
const INT_REGION: &str = "region @0x1000 state=demo insns=3 {
block0:
  insn 0x1000
  v0:i64 = get_slot x0
  v1:i64 = get_slot x1
  v2:i64 = add v0, v1
  v3:i64 = sub v0, v1
  v4:i64 = mul v2, v3
  v5:i64 = umulh v0, v1
  v6:i64 = smulh v0, v1
  v7:i64 = udiv v4, v5
  v8:i64 = sdiv v4, v6
  v9:i64 = urem v7, v1
  v10:i64 = srem v8, v1
  v11:i64 = and v9, v10
  v12:i64 = or v11, v0
  v13:i64 = xor v12, v1
  insn 0x1004
  v14:i64 = shl v13, v0
  v15:i64 = lshr v14, v1
  v16:i64 = ashr v15, v0
  v17:i64 = rotl v16, v1
  v18:i64 = rotr v17, v0
  v19:i64 = neg v18
  v20:i64 = not v19
  v21:i64 = clz v20
  v22:i64 = ctz v21
  v23:i64 = popcnt v22
  v24:i64 = bswap v23
  v25:i64 = bitrev v24
  set_slot x0, v25
  insn 0x1008
  v26:i32 = trunc v25
  v27:i128 = zext v26
  v28:i128 = sext v0
  v29:i128 = iconst 0xffffffffffffffffffffffffffffffff
  v30:i128 = add v27, v28
  v31:i128 = mul v30, v29
  set_slot q, v31
  v32:i1 = icmp ult v0, v1
  v33:i64 = select v32, v0, v1
  v34:f64 = bitcast v33
  set_slot d, v34
  v35:i8 = sext v32
  set_slot b, v35
  v36:i1 = trunc v35
  set_slot flag, v36
  v37:i16 = iconst 0x8000
  set_slot h, v37
  exit_jump 0x100c
}
";

/// Carry/borrow/overflow flag ops at i32.
const FLAG_REGION: &str = "region @0x3000 state=demo insns=1 {
block0:
  insn 0x3000
  v0:i32 = get_slot w
  v1:i32 = iconst 0x7fffffff
  v2:i1 = get_slot flag
  v3:i1 = add_carry v0, v1
  v4:i1 = add_overflow v0, v1
  v5:i1 = sub_borrow v0, v1
  v6:i1 = sub_overflow v0, v1
  v7:i32 = adc v0, v1, v2
  v8:i1 = adc_carry v0, v1, v3
  v9:i1 = adc_overflow v0, v1, v4
  v10:i32 = sbb v7, v1, v5
  v11:i1 = sbb_borrow v7, v1, v6
  v12:i1 = sbb_overflow v10, v1, v8
  v13:i1 = select v9, v11, v12
  set_slot flag, v13
  set_slot w, v10
  exit_jump 0x3004
}
";

/// Vectors: bitwise, every lane shape, extract/insert with lane indices.
const VEC_REGION: &str = "region @0x6000 state=demo insns=1 {
block0:
  insn 0x6000
  v0:v128 = get_slot vec
  v1:v128 = vconst 0x102030405060708090a0b0c0d0e0f
  v2:v128 = vand v0, v1
  v3:v128 = vor v2, v1
  v4:v128 = vxor v3, v0
  v5:v128 = vnot v4
  v6:v128 = vadd.i8x16 v5, v1
  v7:v128 = vsub.i16x8 v6, v1
  v8:v128 = vcmpeq.i32x4 v7, v1
  v9:v128 = vadd.i64x2 v8, v0
  v10:i32 = vextract.i32x4[3] v9
  v11:v128 = vsplat.i32x4 v10
  v12:i8 = get_slot b
  v13:v128 = vinsert.i8x16[15] v11, v12
  v14:i16 = vextract.i16x8[0] v13
  v15:v128 = vsplat.i16x8 v14
  v16:v128 = vshl.i32x4 v15, v10
  v17:v128 = vushr.i16x8 v16, v10
  v18:v128 = vsshr.i64x2 v17, v10
  v19:v128 = vuwiden_lo.i8x16 v18
  v20:v128 = vuwiden_hi.i16x8 v19
  v21:v128 = vswiden_lo.i32x4 v20
  v22:v128 = vswiden_hi.i8x16 v21
  v23:v128 = vshlv.i32x4 v22, v1
  v24:v128 = vushrv.i8x16 v23, v1
  v25:v128 = vsshrv.i16x8 v24, v1
  v26:v128 = vshuffle 0x1f1e1d1c03020100171615140b0a0908, v25, v1
  v27:v128 = vtbl2 v26, v1, v0
  v28:v128 = vbitsel v27, v1, v0
  set_slot h, v14
  set_slot vec, v28
  exit_jump 0x6004
}
";

/// Blocks with parameters, jump/brif with block arguments, array slots, a back edge,
/// and every exit with every hint.
const CFG_REGION: &str = "region @0x5000 state=demo insns=3 {
block0:
  insn 0x5000
  v0:i64 = get_slot x0
  v1:i1 = get_slot flag
  v2:i32 = get_slot w
  brif v1, block1(v0, v2), block2(v0)
block1(v3:i64, v4:i32):
  v5:i64 = zext v4
  v6:i64 = add v3, v5
  jump block3(v6)
block2(v7:i64):
  brif v1, block3(v7), block4()
block3(v8:i64):
  set_slot x1, v8
  brif v1, block5(), block6()
block4:
  insn 0x5004
  v9:i32 = get_elem bank, v0
  v10:i64 = iconst 0x3
  set_elem win, v10, v0
  set_elem bank, v0, v9
  brif v1, block7(), block8()
block5:
  exit_jump 0x6000 call ret=0x5004
block6:
  exit_jump 0x7000 ret
block7:
  insn 0x5008
  v11:i64 = get_elem win, v10
  brif v1, block4(), block9(v11)
block8:
  exit_syscall 0x5008
block9(v12:i64):
  brif v1, block10(), block11()
block10:
  exit_indirect v12 call
block11:
  brif v1, block12(), block13()
block12:
  exit_indirect v12 ret
block13:
  exit_jump 0x5010
}
";

/// Comparisons: every integer condition, plus i1 eq/ne.
fn cmp_region() -> String {
    let mut s = String::from("region @0x2000 state=demo insns=1 {\nblock0:\n  insn 0x2000\n");
    s += "  v0:i64 = get_slot x0\n  v1:i64 = get_slot x1\n";
    for (k, cc) in IntCC::ALL.iter().enumerate() {
        s += &format!("  v{}:i1 = icmp {cc} v0, v1\n", 2 + k);
    }
    let n = 2 + IntCC::ALL.len();
    s += &format!("  v{n}:i1 = icmp eq v2, v3\n");
    s += &format!("  v{}:i1 = icmp ne v{n}, v{}\n", n + 1, n - 1);
    s += &format!("  v{}:i16 = get_slot h\n", n + 2);
    s += &format!("  v{}:i16 = iconst 0x8000\n", n + 3);
    s += &format!("  v{}:i1 = icmp sge v{}, v{}\n", n + 4, n + 2, n + 3);
    s += &format!("  v{}:i1 = select v{}, v{}, v{}\n", n + 5, n + 1, n + 4, n);
    s += &format!("  set_slot flag, v{}\n", n + 5);
    s += "  exit_jump 0x2004\n}\n";
    s
}

/// Floats: every float op, every float condition and rounding mode.
fn float_region() -> String {
    let mut s = String::from("region @0x4000 state=demo insns=1 {\nblock0:\n  insn 0x4000\n");
    s += "  v0:f64 = get_slot d
  v1:f64 = fconst 0x3ff8000000000000
  v2:f64 = fadd v0, v1
  v3:f64 = fsub v2, v1
  v4:f64 = fmul v3, v2
  v5:f64 = fdiv v4, v1
  v6:f64 = fmin v5, v0
  v7:f64 = fmax v6, v1
  v8:f64 = fsqrt v7
  v9:f64 = fneg v8
  v10:f64 = fabs v9
  v11:f64 = fma v10, v1, v0
";
    let mut n = 12;
    let mut prev = 11;
    for m in RoundMode::ALL {
        s += &format!("  v{n}:f64 = fround {m} v{prev}\n");
        prev = n;
        n += 1;
    }
    let first_cmp = n;
    for cc in FloatCC::ALL {
        s += &format!("  v{n}:i1 = fcmp {cc} v{prev}, v0\n");
        n += 1;
    }
    s += &format!("  set_slot flag, v{first_cmp}\n");
    s += &format!("  v{n}:i64 = fcvt_to_sint v{prev}\n");
    s += &format!("  v{}:i32 = fcvt_to_uint v{prev}\n", n + 1);
    s += &format!("  v{}:f32 = fcvt_from_sint v{}\n", n + 2, n + 1);
    s += &format!("  v{}:f64 = fcvt_from_uint v{n}\n", n + 3);
    s += &format!("  v{}:f64 = fpromote v{}\n", n + 4, n + 2);
    s += &format!("  v{}:f32 = fdemote v{}\n", n + 5, n + 3);
    s += &format!("  v{}:f32 = fconst 0x40000000\n", n + 6);
    s += &format!("  v{}:f32 = fadd v{}, v{}\n", n + 7, n + 5, n + 6);
    s += &format!("  v{}:i32 = bitcast v{}\n", n + 8, n + 7);
    s += &format!("  set_slot f, v{}\n", n + 7);
    s += &format!("  set_slot w, v{}\n", n + 8);
    s += &format!("  set_slot d, v{}\n", n + 4);
    s += "  exit_jump 0x4004\n}\n";
    s
}

/// Memory: sizes, u/s, le/be, aligned, every atomic_rmw op, cas, every fence kind,
/// helper calls with and without result and arguments.
fn mem_region() -> String {
    let mut s = String::from("region @0x8000 state=demo insns=2 {\nblock0:\n  insn 0x8000\n");
    s += "  v0:i64 = get_slot x0
  v1:i64 = load.u8.le v0
  v2:i64 = load.s16.be v0
  v3:i32 = load.s8.le.aligned v0
  v4:i128 = load.u128.be.aligned v0
  v5:f32 = load.u32.le v0
  v6:v128 = load.u128.le v0
  v7:f64 = load.u64.be.aligned v0
  v8:i16 = load.s16.le v0
  v9:i64 = load.s32.be.aligned v0
  store.8.le v0, v1
  store.16.be.aligned v0, v2
  store.32.le v0, v3
  store.128.be v0, v4
  store.32.be v0, v5
  store.128.le.aligned v0, v6
  store.64.le v0, v7
  store.16.be v0, v8
  store.64.be.aligned v0, v9
  insn 0x8004
";
    let mut n = 10;
    for (k, op) in RmwOp::ALL.iter().enumerate() {
        let endian = if k % 2 == 0 { "le" } else { "be" };
        let aligned = if k % 3 == 0 { ".aligned" } else { "" };
        s += &format!("  v{n}:i64 = atomic_rmw.{op}.64.{endian}{aligned} v0, v1\n");
        n += 1;
    }
    s += &format!("  v{n}:i32 = atomic_rmw.xchg.32.be.aligned v0, v3\n");
    s += &format!("  v{}:i32 = cas.32.be.aligned v0, v3, v{n}\n", n + 1);
    s += &format!("  v{}:i64 = cas.64.le v0, v1, v10\n", n + 2);
    s += &format!("  v{}:i16 = atomic_rmw.smax.16.be v0, v8\n", n + 3);
    for k in FenceKind::ALL {
        s += &format!("  fence {k}\n");
    }
    s += &format!("  v{}:i64 = call @text_mix(v{}, v{})\n", n + 4, n + 2, n + 1);
    s += &format!("  call @text_sink(v{})\n", n + 4);
    s += &format!("  v{}:i64 = call @text_zero()\n", n + 5);
    s += &format!("  exit_indirect v{}\n", n + 5);
    s += "}\n";
    s
}

/// One region per trap kind.
fn trap_regions() -> Vec<String> {
    TrapKind::ALL
        .iter()
        .enumerate()
        .map(|(k, kind)| {
            let pc = 0x9000 + 0x10 * k as u64;
            format!("region @{pc:#x} state=demo insns=1 {{\nblock0:\n  insn {pc:#x}\n  exit_trap {kind} {pc:#x}\n}}\n")
        })
        .collect()
}

fn all_texts() -> Vec<String> {
    let mut v = vec![
        INT_REGION.to_string(),
        FLAG_REGION.to_string(),
        VEC_REGION.to_string(),
        CFG_REGION.to_string(),
        cmp_region(),
        float_region(),
        mem_region(),
    ];
    v.extend(trap_regions());
    v
}

/// Parse one region text (with the shared state declaration), check it verifies and that
/// printing gives the text back, and that reparsing the print is stable.
fn round_trip(text: &str) -> Region {
    register_helpers();
    let module = format!("{STATE}{text}");
    let (_, mut regions) = parse_module(&module, &[]).unwrap_or_else(|e| panic!("{e}\n{text}"));
    assert_eq!(regions.len(), 1);
    let r = regions.remove(0);
    if let Err(e) = verify(&r) {
        panic!("hand-written region does not verify: {e}\n{text}");
    }
    let printed = print(&r);
    assert_eq!(printed, text, "print(parse(text)) differs from the text");
    let again = parse_region(&printed, &r.layout).expect("printed text parses");
    assert_eq!(print(&again), printed, "print(parse(print(r))) differs from print(r)");
    assert_eq!(again.blocks, r.blocks);
    assert_eq!(again.insts, r.insts);
    assert_eq!(again.value_types, r.value_types);
    assert_eq!(again.entry_pc, r.entry_pc);
    assert_eq!(again.guest_insns, r.guest_insns);
    r
}

fn imm_kind(imm: &Imm) -> &'static str {
    match imm {
        Imm::None => "none",
        Imm::Pc(_) => "pc",
        Imm::Int(_) => "int",
        Imm::Bits(_) => "bits",
        Imm::IntCC(_) => "intcc",
        Imm::FloatCC(_) => "floatcc",
        Imm::Round(_) => "round",
        Imm::Lanes(_) => "lanes",
        Imm::Lane(..) => "lane",
        Imm::Slot(_) => "slot",
        Imm::Mem(_) => "mem",
        Imm::Rmw(..) => "rmw",
        Imm::Fence(_) => "fence",
        Imm::Helper(_) => "helper",
        Imm::Jump(_) => "jump",
        Imm::Brif { .. } => "brif",
        Imm::Exit { .. } => "exit",
        Imm::Hint(_) => "hint",
        Imm::Trap(..) => "trap",
    }
}

#[test]
fn every_region_round_trips() {
    for text in all_texts() {
        round_trip(&text);
    }
}

#[test]
fn round_trip_regions_cover_every_opcode_and_immediate_form() {
    let mut ops = HashSet::new();
    let mut imms = HashSet::new();
    let mut int_ccs = HashSet::new();
    let mut float_ccs = HashSet::new();
    let mut rounds = HashSet::new();
    let mut shapes = HashSet::new();
    let mut rmws = HashSet::new();
    let mut fences = HashSet::new();
    let mut traps = HashSet::new();
    let mut jump_hints = HashSet::new();
    let mut indirect_hints = HashSet::new();
    let mut mem_forms = HashSet::new();
    let mut mem_sizes = HashSet::new();
    let mut brif_arg_forms = HashSet::new();
    for text in all_texts() {
        let r = round_trip(&text);
        for b in &r.blocks {
            for &id in &b.insts {
                let inst = r.inst(id);
                ops.insert(inst.op);
                imms.insert(imm_kind(&inst.imm));
                match inst.imm {
                    Imm::IntCC(cc) => {
                        int_ccs.insert(cc);
                    }
                    Imm::FloatCC(cc) => {
                        float_ccs.insert(cc);
                    }
                    Imm::Round(m) => {
                        rounds.insert(m);
                    }
                    Imm::Lanes(s) | Imm::Lane(s, _) => {
                        shapes.insert(s);
                    }
                    Imm::Rmw(op, m) => {
                        rmws.insert(op);
                        mem_forms.insert((m.signed, m.endian, m.aligned));
                        mem_sizes.insert(m.size);
                    }
                    Imm::Mem(m) => {
                        mem_forms.insert((m.signed, m.endian, m.aligned));
                        mem_sizes.insert(m.size);
                    }
                    Imm::Fence(k) => {
                        fences.insert(k);
                    }
                    Imm::Trap(k, _) => {
                        traps.insert(k);
                    }
                    Imm::Exit { hint, .. } => {
                        jump_hints.insert(hint);
                    }
                    Imm::Hint(h) => {
                        indirect_hints.insert(h);
                    }
                    Imm::Brif { then_args, .. } => {
                        let else_args = inst.args.len() - 1 - then_args as usize;
                        brif_arg_forms.insert((then_args > 0, else_args > 0));
                    }
                    _ => {}
                }
            }
        }
    }
    let missing: Vec<&str> = Opcode::ALL.iter().filter(|o| !ops.contains(*o)).map(|o| o.name()).collect();
    assert!(missing.is_empty(), "opcodes not covered by the round-trip regions: {missing:?}");
    assert_eq!(ops.len(), Opcode::ALL.len());
    let all_imms = [
        "none", "pc", "int", "bits", "intcc", "floatcc", "round", "lanes", "lane", "slot", "mem", "rmw", "fence",
        "helper", "jump", "brif", "exit", "hint", "trap",
    ];
    assert_eq!(imms, all_imms.into_iter().collect::<HashSet<_>>());
    assert_eq!(int_ccs.len(), IntCC::ALL.len());
    assert_eq!(float_ccs.len(), FloatCC::ALL.len());
    assert_eq!(rounds.len(), RoundMode::ALL.len());
    assert_eq!(shapes.len(), VecShape::ALL.len());
    assert_eq!(rmws.len(), RmwOp::ALL.len());
    assert_eq!(fences.len(), FenceKind::ALL.len());
    assert_eq!(traps.len(), TrapKind::ALL.len());
    assert_eq!(jump_hints.len(), ExitHint::ALL.len(), "exit_jump hints");
    assert_eq!(indirect_hints.len(), ExitHint::ALL.len(), "exit_indirect hints");
    for signed in [false, true] {
        for endian in Endian::ALL {
            for aligned in [false, true] {
                assert!(
                    mem_forms.contains(&(signed, *endian, aligned)),
                    "memory form signed={signed} {endian} aligned={aligned} not covered"
                );
            }
        }
    }
    assert_eq!(mem_sizes, [1u8, 2, 4, 8, 16].into_iter().collect());
    assert!(brif_arg_forms.contains(&(true, true)));
    assert!(brif_arg_forms.contains(&(true, false)));
    assert!(brif_arg_forms.contains(&(false, true)));
    assert!(brif_arg_forms.contains(&(false, false)));
}

#[test]
fn parsed_immediates_have_the_written_values() {
    register_helpers();
    let r = round_trip(&mem_region());
    let insts: Vec<&Inst> = r.blocks[0].insts.iter().map(|&i| r.inst(i)).collect();
    // v2:i64 = load.s16.be v0
    assert_eq!(insts[3].op, Opcode::Load);
    assert_eq!(insts[3].imm, Imm::Mem(MemAttr { size: 2, signed: true, endian: Endian::Big, aligned: false }));
    // v3:i32 = load.s8.le.aligned v0
    assert_eq!(insts[4].imm, Imm::Mem(MemAttr::new(1, Endian::Little).signed().aligned()));
    // store.16.be.aligned v0, v2
    let st = insts.iter().find(|i| i.op == Opcode::Store).unwrap();
    assert_eq!(st.imm, Imm::Mem(MemAttr::new(1, Endian::Little)));
    let st16 = insts.iter().filter(|i| i.op == Opcode::Store).nth(1).unwrap();
    assert_eq!(st16.imm, Imm::Mem(MemAttr::new(2, Endian::Big).aligned()));
    let rmw: Vec<_> = insts.iter().filter(|i| i.op == Opcode::AtomicRmw).map(|i| i.imm).collect();
    assert_eq!(rmw[0], Imm::Rmw(RmwOp::Add, MemAttr::new(8, Endian::Little).aligned()));
    assert_eq!(rmw[1], Imm::Rmw(RmwOp::Sub, MemAttr::new(8, Endian::Big)));
    let call = insts.iter().find(|i| i.op == Opcode::Call).unwrap();
    assert_eq!(call.imm, Imm::Helper(helpers::find("text_mix").unwrap()));
    assert_eq!(call.args.len(), 2);

    let cfg = round_trip(CFG_REGION);
    let term = |b: usize| cfg.inst(*cfg.blocks[b].insts.last().unwrap());
    assert_eq!(term(5).imm, Imm::Exit { pc: 0x6000, hint: ExitHint::Call, ret: 0x5004 });
    assert_eq!(term(6).imm, Imm::Exit { pc: 0x7000, hint: ExitHint::Ret, ret: 0 });
    assert_eq!(term(13).imm, Imm::Exit { pc: 0x5010, hint: ExitHint::None, ret: 0 });
    assert_eq!(term(10).imm, Imm::Hint(ExitHint::Call));
    assert_eq!(term(12).imm, Imm::Hint(ExitHint::Ret));
    assert_eq!(term(8).imm, Imm::Pc(0x5008));
    assert_eq!(term(0).imm, Imm::Brif { then_block: BlockId(1), else_block: BlockId(2), then_args: 2 });
    assert_eq!(term(0).args.len(), 4);
    assert_eq!(term(1).imm, Imm::Jump(BlockId(3)));
    assert_eq!(cfg.blocks[1].params.len(), 2);
    assert_eq!(cfg.ty(cfg.blocks[1].params[1]), Type::I32);

    let vec = round_trip(VEC_REGION);
    let ins = vec.blocks[0].insts.iter().map(|&i| vec.inst(i)).find(|i| i.op == Opcode::Vinsert).unwrap();
    assert_eq!(ins.imm, Imm::Lane(VecShape::I8x16, 15));
    let c = vec.inst(vec.blocks[0].insts[2]);
    assert_eq!(c.imm, Imm::Bits(0x0001_0203_0405_0607_0809_0a0b_0c0d_0e0f));

    let int = round_trip(INT_REGION);
    let c128 = int.blocks[0].insts.iter().map(|&i| int.inst(i)).find(|i| i.op == Opcode::Iconst).unwrap();
    assert_eq!(c128.imm, Imm::Int(u128::MAX));

    for (k, text) in trap_regions().iter().enumerate() {
        let t = round_trip(text);
        let pc = 0x9000 + 0x10 * k as u64;
        assert_eq!(t.inst(t.blocks[0].insts[1]).imm, Imm::Trap(TrapKind::ALL[k], pc));
    }
}

#[test]
fn non_canonical_text_is_normalised() {
    let input = "state demo pc=pc {
  pc: i64
  x0: i64, x1: i64   // two slots on one line
}

// a comment line
region @4096 state=demo insns=1 {
entry:
  insn 4096          // decimal pc
  vx:i64 = get_slot x0   ; trailing comment
  vk:i8 = iconst -1
  vbig:i64   =   iconst 0x1_0000
  vs:i16 = iconst 70000
  vc:i1 = icmp eq vx, vbig
  brif vc, yes(vx), no

yes(vp:i64):
  set_slot x1, vp
  jump done
no:
  jump done
done:
  exit_jump 4100
}
";
    let expected = "region @0x1000 state=demo insns=1 {
block0:
  insn 0x1000
  v0:i64 = get_slot x0
  v1:i8 = iconst 0xff
  v2:i64 = iconst 0x10000
  v3:i16 = iconst 0x1170
  v4:i1 = icmp eq v0, v2
  brif v4, block1(v0), block2()
block1(v5:i64):
  set_slot x1, v5
  jump block3()
block2:
  jump block3()
block3:
  exit_jump 0x1004
}
";
    let (layouts, regions) = parse_module(input, &[]).expect("parses");
    // Three declared slots and the implicit `icount`.
    assert_eq!(layouts[0].slots.len(), 4);
    assert_eq!(regions.len(), 1);
    verify(&regions[0]).expect("verifies");
    assert_eq!(print(&regions[0]), expected);
    let again = parse_region(&print(&regions[0]), &layouts[0]).unwrap();
    assert_eq!(print(&again), expected);
}

#[test]
fn state_declaration_round_trips_through_to_text() {
    let l = layout();
    assert_eq!(l.to_text(), STATE);
    assert_eq!(l.slot(l.pc).name, "pc");
    let win = l.expect("win");
    assert_eq!(l.slot(win).count, 8);
    assert_eq!(l.slot(win).ty, Type::I64);
    // Slots sit at their natural alignment: q (i128) after b (i8) at offset 31 rounds up to 32.
    assert_eq!(l.slot(l.expect("b")).offset, 30);
    assert_eq!(l.slot(l.expect("q")).offset, 32);
}

#[test]
fn builder_region_print_parse_print_is_stable() {
    register_helpers();
    let l = layout();
    let mut r = Region::new(l.clone(), 0x4000);
    let mut b = Builder::new(&mut r);
    // Create the join block and its parameter first, so raw value numbers differ from
    // the printed (definition-order) numbering.
    let join = b.create_block();
    let jp = b.append_param(join, Type::I64);
    let other = b.create_block();
    b.insn(0x4000);
    let x0 = b.get_slot(l.expect("x0"));
    let x1 = b.get_slot(l.expect("x1"));
    let s = b.add(x0, x1);
    let c = b.icmp(IntCC::Slt, s, x1);
    let w = b.trunc(s, Type::I32);
    let mix = b.call(helpers::find("text_mix").unwrap(), &[s, w]).unwrap();
    let addr = b.i64(0x100);
    let ld = b.load(Type::I32, MemAttr::new(2, Endian::Big).signed(), addr);
    b.store(MemAttr::new(4, Endian::Little).aligned(), addr, ld);
    let old = b.atomic_rmw(RmwOp::Umax, MemAttr::new(8, Endian::Big), addr, mix);
    b.fence(FenceKind::SeqCst);
    let v = b.vconst(0x1234);
    let e = b.vextract(VecShape::I16x8, v, 7);
    let e64 = b.zext(e, Type::I64);
    let idx = b.i64(5);
    b.set_elem(l.expect("win"), idx, e64);
    b.brif(c, join, &[old], other, &[]);
    b.switch_to(other);
    b.insn(0x4004);
    let f = b.f64(2.5);
    let g = b.fround(RoundMode::Floor, f);
    b.set_slot(l.expect("d"), g);
    b.exit_syscall(0x4008);
    b.switch_to(join);
    b.set_slot(l.expect("x0"), jp);
    b.exit_call(0x9000, 0x4004);
    assert_eq!(r.guest_insns, 2);
    verify(&r).expect("builder region verifies");

    let p1 = print(&r);
    let back = parse_region(&p1, &l).expect("printed builder region parses");
    verify(&back).expect("reparsed region verifies");
    let p2 = print(&back);
    assert_eq!(p1, p2);
    assert_eq!(back.op_count(), r.op_count());
    assert_eq!(back.guest_insns, 2);
    // Renumbering happened: the join parameter was value 0 in the builder but prints
    // after every value of blocks 0 and 2.
    assert_eq!(jp, Value(0));
    assert!(p1.contains("block1(v"), "{p1}");
    assert!(!p1.contains("block1(v0:"), "{p1}");
    assert!(p1.contains("load.s16.be v"), "{p1}");
    assert!(p1.contains("atomic_rmw.umax.64.be v"), "{p1}");
    assert!(p1.contains("vextract.i16x8[7] v"), "{p1}");
    assert!(p1.contains("exit_jump 0x9000 call ret=0x4004"), "{p1}");
    assert!(p1.contains("fround floor v"), "{p1}");

    // The reparsed region executes like the original.
    let mut mem1 = FlatMemory { base: 0, data: vec![0u8; 0x200] };
    mem1.data[0x100] = 0x80;
    mem1.data[0x101] = 0x01;
    let mut mem2 = mem1.clone();
    let mut s1 = StateBuf::new(&l);
    s1.set(&l, l.expect("x0"), 5);
    s1.set(&l, l.expect("x1"), 7);
    let mut s2 = s1.clone();
    let ctl = RunControl::default();
    let e1 = interp::run(&r, &mut s1, &mut mem1, &ctl);
    let e2 = interp::run(&back, &mut s2, &mut mem2, &ctl);
    assert_eq!(e1, e2);
    assert_eq!(s1, s2);
    assert_eq!(mem1, mem2);
    // 5 + 7 = 12 is not < 7: the else branch runs the syscall exit.
    assert_eq!(e1, Exit::Syscall { next_pc: 0x4008 });
    assert_eq!(s1.get(&l, l.expect("d")), 2.0f64.to_bits() as u128);
    // The big-endian 16-bit load at 0x100 reads 0x8001, sign-extended, stored little-endian.
    assert_eq!(&mem1.data[0x100..0x104], &[0x01, 0x80, 0xff, 0xff]);
}

fn parse_err(text: &str) -> ParseError {
    register_helpers();
    match parse_module(text, &[]) {
        Ok(_) => panic!("expected a parse error:\n{text}"),
        Err(e) => e,
    }
}

/// 1-based number of the (single) line containing `marker`.
fn line_of(text: &str, marker: &str) -> usize {
    let hits: Vec<usize> = text.lines().enumerate().filter(|(_, l)| l.contains(marker)).map(|(i, _)| i + 1).collect();
    assert_eq!(hits.len(), 1, "marker {marker:?} must occur once");
    hits[0]
}

/// A valid first region, so errors in the second one must count lines across both.
const FIRST: &str = "region @0x10 state=demo insns=1 {
block0:
  insn 0x10
  exit_jump 0x14
}
";

fn with_second(body: &str) -> String {
    format!(
        "{STATE}{FIRST}\nregion @0x20 state=demo insns=1 {{\nblock0:\n  insn 0x20\n  v0:i64 = get_slot x0\n{body}}}\n"
    )
}

#[test]
fn parse_error_unknown_op() {
    let text = with_second("  v1:i64 = frobnicate v0\n  exit_jump 0x24\n");
    let e = parse_err(&text);
    assert_eq!(e.line, line_of(&text, "frobnicate"));
    assert_eq!(e.line, 26);
    assert!(e.message.contains("unknown op `frobnicate`"), "{e}");
}

#[test]
fn parse_error_unknown_value() {
    let text = with_second("  v1:i64 = add v0, v9\n  exit_jump 0x24\n");
    let e = parse_err(&text);
    assert_eq!(e.line, line_of(&text, "add v0, v9"));
    assert!(e.message.contains("unknown value `v9`"), "{e}");
}

#[test]
fn parse_error_unknown_slot() {
    let text = with_second("  set_slot nosuch, v0\n  exit_jump 0x24\n");
    let e = parse_err(&text);
    assert_eq!(e.line, line_of(&text, "nosuch"));
    assert!(e.message.contains("no slot `nosuch`"), "{e}");
}

#[test]
fn parse_error_bad_type() {
    let text = with_second("  v1:i65 = iconst 0x1\n  exit_jump 0x24\n");
    let e = parse_err(&text);
    assert_eq!(e.line, line_of(&text, "i65"));
    assert!(e.message.contains("unknown type `i65`"), "{e}");
    // A bad slot type in a state declaration is reported on its line too.
    let text = "state s pc=pc {\n  pc: i64\n  r: u64\n}\n";
    let e = parse_err(text);
    assert_eq!(e.line, 3);
    assert!(e.message.contains("unknown type `u64`"), "{e}");
}

#[test]
fn parse_error_missing_block() {
    let text = with_second("  v1:i1 = icmp eq v0, v0\n  brif v1, block1(), block7()\nblock1:\n  exit_jump 0x24\n");
    let e = parse_err(&text);
    assert_eq!(e.line, line_of(&text, "block7"));
    assert!(e.message.contains("unknown block `block7`"), "{e}");
}

#[test]
fn parse_error_unclosed_region() {
    let text = format!("{STATE}{FIRST}\nregion @0x20 state=demo insns=1 {{\nblock0:\n  insn 0x20\n  exit_jump 0x24\n");
    let e = parse_err(&text);
    assert_eq!(e.line, line_of(&text, "region @0x20"));
    assert!(e.message.contains("not closed"), "{e}");
    // The same region closed parses.
    let closed = format!("{text}}}\n");
    let (_, regions) = parse_module(&closed, &[]).expect("closed region parses");
    assert_eq!(regions.len(), 2);
}

#[test]
fn parse_error_unknown_state_and_helper() {
    let text = "region @0x0 state=nope insns=0 {\nblock0:\n  exit_jump 0x0\n}\n";
    let e = parse_err(text);
    assert_eq!(e.line, 1);
    assert!(e.message.contains("unknown state layout `nope`"), "{e}");
    let text = with_second("  v1:i64 = call @no_such_helper(v0)\n  exit_jump 0x24\n");
    let e = parse_err(&text);
    assert_eq!(e.line, line_of(&text, "no_such_helper"));
    assert!(e.message.contains("unknown helper `@no_such_helper`"), "{e}");
}
