//! Optimisation passes: each pass does its job on a hand-written region (checked on the
//! printed result and by running before and after), keeps faults precise, and the whole
//! pipeline preserves the behaviour of random straight-line regions.

use mimic_ir::helpers::{self, HelperInfo};
use mimic_ir::*;
use proptest::prelude::*;
use std::sync::Arc;

const STATE: &str = "state p pc=pc {
  pc: i64
  x0: i64
  x1: i64
  x2: i64
  x3: i64
}
";

const MEM_BASE: u64 = 0x1000;
const MEM_LEN: usize = 64;

fn layout() -> Arc<StateLayout> {
    parse_module(STATE, &[]).expect("state").0.remove(0)
}

fn parse(text: &str) -> Region {
    register_helpers();
    let r = parse_region(text, &layout()).unwrap_or_else(|e| panic!("{e}\n{text}"));
    verify(&r).unwrap_or_else(|e| panic!("{e}\n{text}"));
    r
}

fn memory() -> FlatMemory {
    FlatMemory { base: MEM_BASE, data: (0..MEM_LEN as u8).map(|b| b.wrapping_mul(37) ^ 0x5a).collect() }
}

/// Run a region from the state `x0..x3 = xs`; returns (exit, state, memory).
fn exec(r: &Region, xs: [u64; 4], mut mem: FlatMemory) -> (Exit, StateBuf, FlatMemory) {
    let l = &r.layout;
    let mut s = StateBuf::new(l);
    for (name, v) in ["x0", "x1", "x2", "x3"].iter().zip(xs) {
        s.set(l, l.expect(name), v as u128);
    }
    let exit = interp::run(r, &mut s, &mut mem, &RunControl::default());
    (exit, s, mem)
}

fn slot(s: &StateBuf, l: &StateLayout, name: &str) -> u64 {
    s.get(l, l.expect(name)) as u64
}

fn count(r: &Region, op: Opcode) -> usize {
    r.blocks.iter().flat_map(|b| &b.insts).filter(|&&i| r.inst(i).op == op).count()
}

/// Writes 0x99 to x1 (offset 16 of the `p` layout).
unsafe extern "C" fn clobber_x1(state: *mut u8, _a: u64, _b: u64, _c: u64, _d: u64) -> u64 {
    // SAFETY: the interpreter passes a live, 16-byte aligned state buffer of layout `p`,
    // whose x1 slot is the i64 at byte offset 16.
    unsafe { state.add(16).cast::<u64>().write(0x99) };
    0
}
unsafe extern "C" fn pure_double(_state: *mut u8, a: u64, _b: u64, _c: u64, _d: u64) -> u64 {
    a.wrapping_mul(2)
}

fn register_helpers() {
    helpers::register(HelperInfo {
        name: "passes_clobber_x1".into(),
        func: clobber_x1,
        params: vec![],
        ret: Some(Type::I64),
        effects: HelperEffects::WritesState,
    })
    .unwrap();
    helpers::register(HelperInfo {
        name: "passes_double".into(),
        func: pure_double,
        params: vec![Type::I64],
        ret: Some(Type::I64),
        effects: HelperEffects::Pure,
    })
    .unwrap();
}

#[test]
fn clobber_helper_writes_x1() {
    // The helper above hard-codes x1's offset.
    let l = layout();
    assert_eq!(l.slot(l.expect("x1")).offset, 16);
}

#[test]
fn const_fold_folds_constants() {
    let r = parse(
        "region @0x100 state=p insns=1 {
block0:
  insn 0x100
  v0:i64 = iconst 0x3
  v1:i64 = iconst 0x4
  v2:i64 = add v0, v1
  v3:i64 = iconst 0x5
  v4:i64 = mul v2, v3
  v5:i64 = get_slot x0
  v6:i64 = add v5, v4
  v7:i64 = shl v4, v1
  set_slot x0, v6
  set_slot x1, v7
  exit_jump 0x104
}
",
    );
    let mut folded = r.clone();
    passes::const_fold(&mut folded);
    verify(&folded).unwrap();
    // (3 + 4) * 5 = 35 = 0x23 and 35 << 4 = 560 = 0x230 are now constants; the add and mul
    // are rewritten in place (dce removes what became dead).
    assert_eq!(folded.op_count(), r.op_count());
    let mut cleaned = folded.clone();
    passes::dce(&mut cleaned);
    assert_eq!(
        print(&cleaned),
        "region @0x100 state=p insns=1 {
block0:
  insn 0x100
  v0:i64 = iconst 0x23
  v1:i64 = get_slot x0
  v2:i64 = add v1, v0
  v3:i64 = iconst 0x230
  set_slot x0, v2
  set_slot x1, v3
  exit_jump 0x104
}
"
    );
    assert_eq!(r.op_count(), 12);
    assert_eq!(cleaned.op_count(), 8);
    for xs in [[100, 0, 0, 0], [u64::MAX, 7, 0, 0]] {
        let (e1, s1, _) = exec(&r, xs, memory());
        let (e2, s2, _) = exec(&cleaned, xs, memory());
        assert_eq!(e1, e2);
        assert_eq!(s1, s2);
        assert_eq!(slot(&s2, &r.layout, "x0"), xs[0].wrapping_add(35));
        assert_eq!(slot(&s2, &r.layout, "x1"), 560);
    }
}

#[test]
fn const_fold_uses_the_interpreter_semantics_and_identities() {
    let r = parse(
        "region @0x100 state=p insns=1 {
block0:
  insn 0x100
  v0:i64 = get_slot x0
  v1:i64 = iconst 0x0
  v2:i64 = iconst 0xffffffffffffffff
  v3:i64 = iconst 0x8000000000000000
  v4:i64 = udiv v2, v1
  v5:i64 = sdiv v3, v2
  v6:i64 = add v0, v1
  v7:i64 = xor v0, v0
  v8:i64 = mul v0, v1
  v9:i64 = and v0, v2
  v10:i1 = icmp eq v1, v1
  v11:i64 = select v10, v6, v4
  v12:i64 = add v11, v5
  v13:i64 = or v7, v8
  set_slot x1, v12
  set_slot x2, v13
  set_slot x3, v9
  exit_jump 0x104
}
",
    );
    let mut o = r.clone();
    passes::const_fold(&mut o);
    passes::dce(&mut o);
    verify(&o).unwrap();
    // udiv by zero is 0 (unused after the select folds), MIN / -1 = MIN, x + 0 = x,
    // x ^ x = 0, x * 0 = 0, x & -1 = x, select(true, a, b) = a.
    assert_eq!(
        print(&o),
        "region @0x100 state=p insns=1 {
block0:
  insn 0x100
  v0:i64 = get_slot x0
  v1:i64 = iconst 0x8000000000000000
  v2:i64 = add v0, v1
  v3:i64 = iconst 0x0
  set_slot x1, v2
  set_slot x2, v3
  set_slot x3, v0
  exit_jump 0x104
}
"
    );
    let (_, s1, _) = exec(&r, [5, 1, 1, 1], memory());
    let (_, s2, _) = exec(&o, [5, 1, 1, 1], memory());
    assert_eq!(s1, s2);
    assert_eq!(slot(&s2, &r.layout, "x1"), 0x8000_0000_0000_0005);
    assert_eq!(slot(&s2, &r.layout, "x2"), 0);
    assert_eq!(slot(&s2, &r.layout, "x3"), 5);
}

const BRIF_CONST: &str = "region @0x100 state=p insns=1 {
block0:
  insn 0x100
  v0:i64 = get_slot x0
  v1:i64 = iconst 0x1
  v2:i64 = iconst 0x2
  v3:i1 = icmp CC v1, v2
  brif v3, block1(v0), block2(v1)
block1(v4:i64):
  set_slot x1, v4
  exit_jump 0x104
block2(v5:i64):
  set_slot x1, v5
  exit_jump 0x108
}
";

#[test]
fn brif_on_a_constant_becomes_a_jump() {
    // 1 <u 2 is true: then-branch with (v0); 1 >u 2 is false: else-branch with (v1).
    for (cc, target, arg_is_x0, next_pc) in [("ult", 1, true, 0x104), ("ugt", 2, false, 0x108)] {
        let r = parse(&BRIF_CONST.replace("CC", cc));
        let mut o = r.clone();
        passes::const_fold(&mut o);
        verify(&o).unwrap();
        let term = o.inst(*o.blocks[0].insts.last().unwrap());
        assert_eq!(term.op, Opcode::Jump, "{}", print(&o));
        assert_eq!(term.imm, Imm::Jump(BlockId(target)));
        assert_eq!(term.args.len(), 1);
        let want_arg = if arg_is_x0 {
            o.inst(o.blocks[0].insts[1]).result.unwrap()
        } else {
            o.inst(o.blocks[0].insts[2]).result.unwrap()
        };
        assert_eq!(term.args[0], want_arg);
        assert_eq!(count(&o, Opcode::Brif), 0);
        let (e1, s1, _) = exec(&r, [42, 0, 0, 0], memory());
        let (e2, s2, _) = exec(&o, [42, 0, 0, 0], memory());
        assert_eq!((e1, &s1), (e2, &s2));
        assert_eq!(e2.pc(), next_pc);
        assert_eq!(slot(&s2, &r.layout, "x1"), if arg_is_x0 { 42 } else { 1 });
    }
}

#[test]
fn forward_state_reuses_known_slot_values() {
    let r = parse(
        "region @0x100 state=p insns=1 {
block0:
  insn 0x100
  v0:i64 = get_slot x0
  v1:i64 = iconst 0x7
  v2:i64 = add v0, v1
  set_slot x1, v2
  v3:i64 = get_slot x1
  v4:i64 = get_slot x0
  v5:i64 = mul v3, v4
  set_slot x0, v5
  exit_jump 0x104
}
",
    );
    let mut o = r.clone();
    passes::forward_state(&mut o);
    verify(&o).unwrap();
    assert_eq!(count(&r, Opcode::GetSlot), 3);
    assert_eq!(count(&o, Opcode::GetSlot), 1);
    assert_eq!(o.op_count(), r.op_count() - 2);
    assert_eq!(
        print(&o),
        "region @0x100 state=p insns=1 {
block0:
  insn 0x100
  v0:i64 = get_slot x0
  v1:i64 = iconst 0x7
  v2:i64 = add v0, v1
  set_slot x1, v2
  v3:i64 = mul v2, v0
  set_slot x0, v3
  exit_jump 0x104
}
"
    );
    let (e1, s1, _) = exec(&r, [6, 0, 0, 0], memory());
    let (e2, s2, _) = exec(&o, [6, 0, 0, 0], memory());
    assert_eq!((e1, &s1), (e2, &s2));
    assert_eq!(slot(&s2, &r.layout, "x0"), 13 * 6);
}

#[test]
fn forward_state_stops_at_a_helper_that_writes_state() {
    let r = parse(
        "region @0x100 state=p insns=1 {
block0:
  insn 0x100
  v0:i64 = get_slot x0
  set_slot x1, v0
  v1:i64 = call @passes_clobber_x1()
  v2:i64 = get_slot x1
  set_slot x2, v2
  exit_jump 0x104
}
",
    );
    let mut o = r.clone();
    passes::optimize(&mut o);
    assert_eq!(count(&o, Opcode::GetSlot), 2, "{}", print(&o));
    assert_eq!(count(&o, Opcode::Call), 1);
    let (e1, s1, _) = exec(&r, [3, 0, 0, 0], memory());
    let (e2, s2, _) = exec(&o, [3, 0, 0, 0], memory());
    assert_eq!((e1, &s1), (e2, &s2));
    assert_eq!(slot(&s2, &r.layout, "x2"), 0x99);
}

#[test]
fn dead_state_removes_an_overwritten_write() {
    let r = parse(
        "region @0x100 state=p insns=2 {
block0:
  insn 0x100
  v0:i64 = get_slot x0
  v1:i64 = iconst 0x1
  v2:i64 = add v0, v1
  set_slot x1, v0
  insn 0x104
  set_slot x1, v2
  exit_jump 0x108
}
",
    );
    let mut o = r.clone();
    passes::dead_state(&mut o);
    verify(&o).unwrap();
    assert_eq!(count(&r, Opcode::SetSlot), 2);
    assert_eq!(count(&o, Opcode::SetSlot), 1);
    // The surviving write is the later one.
    let set = o.blocks[0].insts.iter().map(|&i| o.inst(i)).find(|i| i.op == Opcode::SetSlot).unwrap();
    assert_eq!(set.args[0], o.inst(o.blocks[0].insts[3]).result.unwrap());
    let (e1, s1, _) = exec(&r, [9, 0, 0, 0], memory());
    let (e2, s2, _) = exec(&o, [9, 0, 0, 0], memory());
    assert_eq!((e1, &s1), (e2, &s2));
    assert_eq!(slot(&s2, &r.layout, "x1"), 10);
}

/// x1 is written, then a memory access that may fault, then x1 is written again.
const WRITE_FAULT_WRITE: &str = "region @0x100 state=p insns=2 {
block0:
  insn 0x100
  v0:i64 = get_slot x0
  set_slot x1, v0
  insn 0x104
  v1:i64 = MEMOP
  v2:i64 = add v1, v0
  set_slot x1, v2
  exit_jump 0x108
}
";

#[test]
fn dead_state_keeps_a_write_before_a_possible_fault() {
    for memop in ["load.u64.le v0", "atomic_rmw.add.64.le v0, v0"] {
        let r = parse(&WRITE_FAULT_WRITE.replace("MEMOP", memop));
        let mut o = r.clone();
        passes::dead_state(&mut o);
        assert_eq!(count(&o, Opcode::SetSlot), 2, "{memop}: {}", print(&o));
        let mut full = r.clone();
        passes::optimize(&mut full);
        assert_eq!(count(&full, Opcode::SetSlot), 2, "{memop}: {}", print(&full));

        // Faulting: at the fault x1 already holds x0 (the first instruction completed),
        // pc is the faulting instruction.
        let bad = 0x10_0000u64;
        for region in [&r, &full] {
            let (e, s, _) = exec(region, [bad, 0xdead, 0, 0], memory());
            // (Whether an atomic's fault on unmapped memory is reported as a read or a
            // write is not what this test is about.)
            assert!(
                matches!(
                    e,
                    Exit::Fault {
                        fault: MemFault {
                            addr,
                            kind: FaultKind::Unmapped,
                            ..
                        },
                        pc: 0x104
                    } if addr == bad
                ),
                "{memop}: {e:?}"
            );
            assert_eq!(slot(&s, &r.layout, "x1"), bad);
            assert_eq!(slot(&s, &r.layout, "pc"), 0x104);
        }
        // Not faulting: both agree, x1 = mem[0x1008..] (le) + x0.
        let (e1, s1, m1) = exec(&r, [MEM_BASE + 8, 0, 0, 0], memory());
        let (e2, s2, m2) = exec(&full, [MEM_BASE + 8, 0, 0, 0], memory());
        assert_eq!((e1, &s1, &m1), (e2, &s2, &m2));
        let mem = memory();
        let word = u64::from_le_bytes(mem.data[8..16].try_into().unwrap());
        assert_eq!(slot(&s2, &r.layout, "x1"), word.wrapping_add(MEM_BASE + 8));
    }
    // With a store in between the first write must stay too.
    let r = parse(
        "region @0x100 state=p insns=2 {
block0:
  insn 0x100
  v0:i64 = get_slot x0
  set_slot x1, v0
  insn 0x104
  store.32.be v0, v0
  set_slot x1, v0
  exit_jump 0x108
}
",
    );
    let mut o = r.clone();
    passes::dead_state(&mut o);
    assert_eq!(count(&o, Opcode::SetSlot), 2);
    // ... but with only pure arithmetic in between it goes.
    let r = parse(
        "region @0x100 state=p insns=2 {
block0:
  insn 0x100
  v0:i64 = get_slot x0
  set_slot x1, v0
  insn 0x104
  v1:i64 = udiv v0, v0
  set_slot x1, v1
  exit_jump 0x108
}
",
    );
    let mut o = r.clone();
    passes::dead_state(&mut o);
    assert_eq!(count(&o, Opcode::SetSlot), 1);
}

#[test]
fn dce_removes_unused_pure_ops_but_keeps_loads() {
    let r = parse(
        "region @0x100 state=p insns=1 {
block0:
  insn 0x100
  v0:i64 = get_slot x0
  v1:i64 = add v0, v0
  v2:i64 = mul v1, v1
  v3:i64 = load.u64.le v0
  v4:i64 = get_slot x1
  v5:i64 = call @passes_double(v0)
  v6:i64 = call @passes_clobber_x1()
  v7:i1 = icmp eq v2, v4
  exit_jump 0x104
}
",
    );
    let mut o = r.clone();
    passes::dce(&mut o);
    verify(&o).unwrap();
    // add/mul (a chain: mul dies first, then add), get_slot, the pure call and icmp go;
    // the load (may fault) and the state-writing helper stay.
    assert_eq!(
        print(&o),
        "region @0x100 state=p insns=1 {
block0:
  insn 0x100
  v0:i64 = get_slot x0
  v1:i64 = load.u64.le v0
  v2:i64 = call @passes_clobber_x1()
  exit_jump 0x104
}
"
    );
    // The kept load still faults on a bad address, and the helper's write still happens.
    let (e, _, _) = exec(&o, [0x20_0000, 0, 0, 0], memory());
    assert!(matches!(e, Exit::Fault { pc: 0x100, .. }), "{e:?}");
    let (e1, s1, _) = exec(&r, [MEM_BASE, 0, 0, 0], memory());
    let (e2, s2, _) = exec(&o, [MEM_BASE, 0, 0, 0], memory());
    assert_eq!((e1, &s1), (e2, &s2));
    assert_eq!(slot(&s2, &r.layout, "x1"), 0x99);
}

// ---------------------------------------------------------------------------------------
// Random straight-line regions: optimisation must not change state, memory or exit.
// ---------------------------------------------------------------------------------------

#[derive(Clone, Debug)]
enum Addr {
    /// MEM_BASE + (value & 63): in range or straddling the end.
    Masked(usize),
    /// A constant MEM_BASE + offset, offset < 72.
    Const(u64),
    /// A raw value (almost always unmapped).
    Raw(usize),
}

#[derive(Clone, Debug)]
enum Step {
    Const(u64),
    Get(usize),
    Set(usize, usize),
    Bin(usize, usize, usize),
    Cmp(usize, usize, usize),
    Select(usize, usize, usize),
    Load { addr: Addr, size: u8, signed: bool, big: bool, aligned: bool },
    Store { addr: Addr, size: u8, big: bool, aligned: bool, val: usize },
    Insn,
}

const BIN: [Opcode; 7] = [Opcode::Add, Opcode::Sub, Opcode::Mul, Opcode::Xor, Opcode::And, Opcode::Shl, Opcode::Lshr];

fn addr_strategy() -> impl Strategy<Value = Addr> {
    prop_oneof![
        8 => any::<usize>().prop_map(Addr::Masked),
        4 => (0u64..72).prop_map(Addr::Const),
        1 => any::<usize>().prop_map(Addr::Raw),
    ]
}

fn step_strategy() -> impl Strategy<Value = Step> {
    let ix = any::<usize>();
    let constant = prop_oneof![
        Just(0u64),
        Just(1),
        Just(u64::MAX),
        Just(63),
        Just(0x8000_0000_0000_0000),
        0u64..80,
        any::<u64>(),
    ];
    prop_oneof![
        2 => constant.prop_map(Step::Const),
        2 => (0usize..4).prop_map(Step::Get),
        3 => (0usize..4, ix).prop_map(|(s, v)| Step::Set(s, v)),
        4 => (0..BIN.len(), ix, ix).prop_map(|(o, a, b)| Step::Bin(o, a, b)),
        2 => (0..IntCC::ALL.len(), ix, ix).prop_map(|(c, a, b)| Step::Cmp(c, a, b)),
        2 => (ix, ix, ix).prop_map(|(c, a, b)| Step::Select(c, a, b)),
        2 => (addr_strategy(), prop::sample::select(vec![1u8, 2, 4, 8]), any::<bool>(), any::<bool>(), prop::bool::weighted(0.1))
            .prop_map(|(addr, size, signed, big, aligned)| Step::Load { addr, size, signed, big, aligned }),
        2 => (addr_strategy(), prop::sample::select(vec![1u8, 2, 4, 8]), any::<bool>(), prop::bool::weighted(0.1), ix)
            .prop_map(|(addr, size, big, aligned, val)| Step::Store { addr, size, big, aligned, val }),
        1 => Just(Step::Insn),
    ]
}

fn build(l: &Arc<StateLayout>, steps: &[Step]) -> Region {
    let slots = ["x0", "x1", "x2", "x3"].map(|n| l.expect(n));
    let mut r = Region::new(l.clone(), 0x1000);
    let mut b = Builder::new(&mut r);
    let mut pc = 0x1000;
    b.insn(pc);
    let mut vals: Vec<Value> = slots.iter().map(|&s| b.get_slot(s)).collect();
    let mut conds: Vec<Value> = Vec::new();
    let pick = |vals: &Vec<Value>, i: usize| vals[i % vals.len()];
    for step in steps {
        match step {
            Step::Const(c) => vals.push(b.i64(*c)),
            Step::Get(s) => vals.push(b.get_slot(slots[*s])),
            Step::Set(s, v) => {
                let v = pick(&vals, *v);
                b.set_slot(slots[*s], v);
            }
            Step::Bin(o, x, y) => {
                let (x, y) = (pick(&vals, *x), pick(&vals, *y));
                vals.push(b.op(BIN[*o], &[x, y]));
            }
            Step::Cmp(c, x, y) => {
                let (x, y) = (pick(&vals, *x), pick(&vals, *y));
                conds.push(b.icmp(IntCC::ALL[*c], x, y));
            }
            Step::Select(c, x, y) => {
                if !conds.is_empty() {
                    let c = pick(&conds, *c);
                    let (x, y) = (pick(&vals, *x), pick(&vals, *y));
                    vals.push(b.select(c, x, y));
                }
            }
            Step::Load { addr, size, signed, big, aligned } => {
                let a = address(&mut b, &vals, addr);
                let mut m = MemAttr::new(*size, if *big { Endian::Big } else { Endian::Little });
                if *signed {
                    m = m.signed();
                }
                if *aligned {
                    m = m.aligned();
                }
                vals.push(b.load(Type::I64, m, a));
            }
            Step::Store { addr, size, big, aligned, val } => {
                let a = address(&mut b, &vals, addr);
                let mut m = MemAttr::new(*size, if *big { Endian::Big } else { Endian::Little });
                if *aligned {
                    m = m.aligned();
                }
                let v = pick(&vals, *val);
                b.store(m, a, v);
            }
            Step::Insn => {
                pc += 4;
                b.insn(pc);
            }
        }
    }
    b.exit_jump(pc + 4);
    r
}

fn address(b: &mut Builder, vals: &[Value], addr: &Addr) -> Value {
    match addr {
        Addr::Masked(i) => {
            let v = vals[i % vals.len()];
            let m = b.i64(63);
            let off = b.and(v, m);
            let base = b.i64(MEM_BASE);
            b.add(base, off)
        }
        Addr::Const(off) => b.i64(MEM_BASE + off),
        Addr::Raw(i) => vals[i % vals.len()],
    }
}

type Pass = fn(&mut Region);

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1000))]

    #[test]
    fn optimisation_preserves_random_straight_line_regions(
        steps in prop::collection::vec(step_strategy(), 1..48),
        xs in prop::array::uniform4(prop_oneof![any::<u64>(), 0u64..64, (0u64..64).prop_map(|o| MEM_BASE + o)]),
        data in prop::collection::vec(any::<u8>(), MEM_LEN),
    ) {
        let l = layout();
        let r = build(&l, &steps);
        prop_assert!(verify(&r).is_ok(), "{:?}\n{}", verify(&r), print(&r));
        let mem = FlatMemory { base: MEM_BASE, data };
        let want = exec(&r, xs, mem.clone());

        let mut o = r.clone();
        passes::optimize(&mut o);
        prop_assert!(o.op_count() <= r.op_count());
        let got = exec(&o, xs, mem.clone());
        prop_assert_eq!(&got, &want, "optimize changed behaviour\nbefore:\n{}\nafter:\n{}", print(&r), print(&o));

        // Each pass on its own is also valid and behaviour-preserving.
        let single: [(&str, Pass); 4] = [
            ("const_fold", passes::const_fold),
            ("forward_state", passes::forward_state),
            ("dead_state", passes::dead_state),
            ("dce", passes::dce),
        ];
        for (name, pass) in single {
            let mut p = r.clone();
            pass(&mut p);
            prop_assert!(verify(&p).is_ok(), "{name}: {:?}\n{}", verify(&p), print(&p));
            let got = exec(&p, xs, mem.clone());
            prop_assert_eq!(&got, &want, "{} changed behaviour\nbefore:\n{}\nafter:\n{}", name, print(&r), print(&p));
        }
    }
}

/// A loop of two guest instructions (x0 down to 0) then one more instruction.
const COUNTED_LOOP: &str = "region @0x100 state=p insns=3 {
block0:
  insn 0x100
  v0:i64 = get_slot x0
  v1:i64 = iconst 0x1
  v2:i64 = sub v0, v1
  set_slot x0, v2
  insn 0x104
  v3:i64 = iconst 0x0
  v4:i1 = icmp ne v2, v3
  brif v4, block0, block1
block1:
  insn 0x108
  v5:i64 = get_slot x1
  v6:i64 = add v5, v1
  set_slot x1, v6
  exit_jump 0x10c
}
";

#[test]
fn count_insns_counts_every_executed_guest_instruction() {
    let r = parse(COUNTED_LOOP);
    let mut c = r.clone();
    passes::count_insns(&mut c);
    verify(&c).unwrap_or_else(|e| panic!("{e}\n{}", print(&c)));
    let icount = r.layout.icount;
    for n in [1u64, 2, 7, 100] {
        // Two instructions per iteration, one after the loop.
        let (e1, s1, _) = exec(&r, [n, 0, 0, 0], memory());
        let (e2, s2, _) = exec(&c, [n, 0, 0, 0], memory());
        assert_eq!(e1, e2);
        assert_eq!(s1.get(&r.layout, icount), 0, "uninstrumented code leaves icount alone");
        assert_eq!(s2.get(&c.layout, icount) as u64, 2 * n + 1, "n = {n}");
        // The rest of the state is unchanged by the instrumentation.
        for name in ["pc", "x0", "x1", "x2", "x3"] {
            assert_eq!(slot(&s1, &r.layout, name), slot(&s2, &c.layout, name), "{name}");
        }
        // The optimiser keeps the count.
        let mut o = c.clone();
        passes::optimize(&mut o);
        let (_, s3, _) = exec(&o, [n, 0, 0, 0], memory());
        assert_eq!(s3.get(&o.layout, icount) as u64, 2 * n + 1);
    }
}

#[test]
fn every_layout_has_an_icount_slot_once() {
    let l = layout();
    assert_eq!(l.slot(l.icount).name, "icount");
    assert_eq!(l.slot(l.icount).ty, Type::I64);
    // Its text form parses back to the same layout (the slot is not added twice).
    let again = parse_module(&l.to_text(), &[]).expect("layout text").0.remove(0);
    assert_eq!(*again, *l);
}
