//! One test per verifier rule (see the rule list in `verify.rs`): each builds a region
//! that breaks exactly that rule and checks that `verify` rejects it with the rule's
//! message at the right block (and instruction where the rule is per instruction).

use mimic_ir::helpers::{self, HelperInfo};
use mimic_ir::*;
use std::sync::Arc;

const STATE: &str = "state t pc=pc {
  pc: i64
  x0: i64
  x1: i64
  w: i32
  flag: i1
  d: f64
  q: i128
  win: i64[16]
}
";

fn layout() -> Arc<StateLayout> {
    parse_module(STATE, &[]).expect("state parses").0.remove(0)
}

fn parse(text: &str) -> Region {
    let (_, mut regions) = parse_module(&format!("{STATE}{text}"), &[]).unwrap_or_else(|e| panic!("{e}\n{text}"));
    assert_eq!(regions.len(), 1);
    regions.remove(0)
}

/// A one-block region whose body (between `insn` and `exit_jump`) is `body`.
fn one_block(body: &str) -> Region {
    parse(&format!("region @0x100 state=t insns=1 {{\nblock0:\n  insn 0x100\n{body}  exit_jump 0x104\n}}\n"))
}

/// Assert that verification fails in `block` (at instruction `pos` if given) with a
/// message containing `phrase`.
fn rejects(r: &Region, block: u32, pos: Option<usize>, phrase: &str) -> VerifyError {
    let e = match verify(r) {
        Ok(()) => panic!("verifier accepted a region breaking `{phrase}`:\n{}", print(r)),
        Err(e) => e,
    };
    assert!(e.message.contains(phrase), "expected `{phrase}`, got `{e}`\n{}", print(r));
    assert_eq!(e.block, block, "wrong block in `{e}`");
    if pos.is_some() {
        assert_eq!(e.pos, pos, "wrong instruction in `{e}`");
    }
    // The Display form names the block.
    assert!(e.to_string().starts_with(&format!("block{block}")), "{e}");
    e
}

#[test]
fn valid_multi_block_region_passes() {
    // A loop (back edge to a block starting with insn), a diamond with block arguments,
    // array slots, memory, and a use in block 4 of values defined in blocks 0 and 1.
    let r = parse(
        "region @0x100 state=t insns=3 {
block0:
  insn 0x100
  v0:i64 = get_slot x0
  v1:i64 = iconst 0x1
  jump block1()
block1:
  insn 0x104
  v2:i64 = get_slot x1
  v3:i64 = add v2, v1
  set_slot x1, v3
  v4:i1 = icmp ult v3, v0
  brif v4, block1(), block2()
block2:
  insn 0x108
  v5:i32 = trunc v3
  v6:i1 = icmp eq v5, v5
  brif v6, block3(v5, v3), block4(v3)
block3(v7:i32, v8:i64):
  v9:i64 = zext v7
  v10:i64 = add v9, v8
  jump block4(v10)
block4(v11:i64):
  set_elem win, v0, v11
  v12:i64 = add v11, v2
  exit_indirect v12
}
",
    );
    verify(&r).expect("valid region");
    // And it runs: x1 counts up from 0 until it reaches x0 = 3.
    let l = r.layout.clone();
    let mut s = StateBuf::new(&l);
    s.set(&l, l.expect("x0"), 3);
    let mut mem = FlatMemory { base: 0, data: vec![] };
    let exit = interp::run(&r, &mut s, &mut mem, &RunControl::default());
    // The last loop pass reads x1 = 2 (v2) and writes 3 (v3); block3: zext(3) + 3 = 6;
    // block4: win[3] = 6 and the target is 6 + v2 = 8.
    assert_eq!(exit, Exit::Indirect { pc: 8, hint: ExitHint::None });
    assert_eq!(s.get(&l, l.expect("x1")), 3);
    assert_eq!(s.get_elem(&l, l.expect("win"), 3), 6);
}

#[test]
fn terminator_in_the_middle() {
    let r = parse(
        "region @0x100 state=t insns=1 {
block0:
  insn 0x100
  jump block1()
block1:
  v0:i64 = get_slot x0
  exit_jump 0x104
  set_slot x1, v0
  exit_jump 0x108
}
",
    );
    let e = rejects(&r, 1, Some(1), "terminator in the middle of a block");
    assert_eq!(e.op, Some(Opcode::ExitJump));
}

#[test]
fn block_without_terminator() {
    let r = parse(
        "region @0x100 state=t insns=1 {
block0:
  insn 0x100
  jump block1()
block1:
  v0:i64 = get_slot x0
  set_slot x1, v0
}
",
    );
    let e = rejects(&r, 1, Some(1), "block does not end with a terminator");
    assert_eq!(e.op, Some(Opcode::SetSlot));
}

#[test]
fn empty_block() {
    let r = parse(
        "region @0x100 state=t insns=1 {
block0:
  insn 0x100
  jump block2()
block1:
block2:
  exit_jump 0x104
}
",
    );
    let e = rejects(&r, 1, None, "block is empty");
    assert_eq!(e.pos, None);
}

#[test]
fn entry_block_with_params() {
    let r = parse(
        "region @0x100 state=t insns=1 {
block0(v0:i64):
  insn 0x100
  set_slot x0, v0
  exit_jump 0x104
}
",
    );
    rejects(&r, 0, None, "the entry block cannot have parameters");
}

#[test]
fn wrong_operand_count() {
    let r = one_block("  v0:i64 = get_slot x0\n  v1:i64 = add v0\n  set_slot x0, v1\n");
    rejects(&r, 0, Some(2), "takes 2 operands, 1 given");
    let r = one_block("  v0:i64 = get_slot x0\n  v1:i64 = neg v0, v0\n  set_slot x0, v1\n");
    rejects(&r, 0, Some(2), "takes 1 operands, 2 given");
    let r = one_block("  v0:i64 = get_slot x0\n  set_slot x0, v0, v0\n");
    rejects(&r, 0, Some(2), "takes 1 operands, 2 given");
}

#[test]
fn wrong_operand_type() {
    let r = one_block("  v0:i64 = get_slot x0\n  v1:i32 = get_slot w\n  v2:i64 = add v0, v1\n  set_slot x0, v2\n");
    let e = rejects(&r, 0, Some(3), "operand 1 has type i32, expected i64");
    assert_eq!(e.op, Some(Opcode::Add));
    // select needs an i1 condition
    let r = one_block("  v0:i64 = get_slot x0\n  v1:i64 = select v0, v0, v0\n  set_slot x0, v1\n");
    rejects(&r, 0, Some(2), "operand 0 has type i64, expected i1");
    // arithmetic on floats is not integer arithmetic
    let r = one_block("  v0:f64 = get_slot d\n  v1:f64 = add v0, v0\n  set_slot d, v1\n");
    rejects(&r, 0, Some(2), "type f64 is not allowed");
}

#[test]
fn wrong_result_type() {
    let r = one_block("  v0:i64 = get_slot x0\n  v1:i64 = get_slot x1\n  v2:i64 = icmp eq v0, v1\n  set_slot x0, v2\n");
    let e = rejects(&r, 0, Some(3), "result must be i1");
    assert_eq!(e.op, Some(Opcode::Icmp));
    let r = one_block("  v0:i64 = get_slot x0\n  v1:i32 = add_carry v0, v0\n  set_slot w, v1\n");
    rejects(&r, 0, Some(2), "result must be i1");
    let r = one_block("  v0:i64 = get_slot x0\n  v1:i32 = add v0, v0\n  set_slot w, v1\n");
    rejects(&r, 0, Some(2), "operand 0 has type i64, expected i32");
    // An op without a result that defines one, and an op that needs one but has none.
    let r = one_block("  v0:i64 = get_slot x0\n  v1:i64 = set_slot x1, v0\n");
    rejects(&r, 0, Some(2), "has no result but one is defined");
    let r = one_block("  v0:i64 = get_slot x0\n  neg v0\n");
    rejects(&r, 0, Some(2), "needs a result");
}

#[test]
fn constant_not_fitting_its_type() {
    // The text form masks constants to the result width, so build this one directly.
    let l = layout();
    let mut r = Region::new(l.clone(), 0x100);
    let mut b = Builder::new(&mut r);
    b.insn(0x100);
    let c = b.push(Opcode::Iconst, &[], Imm::Int(0x100), Some(Type::I8)).unwrap();
    let z = b.zext(c, Type::I64);
    b.set_slot(l.expect("x0"), z);
    b.exit_jump(0x104);
    let e = rejects(&r, 0, Some(1), "constant does not fit in i8");
    assert_eq!(e.op, Some(Opcode::Iconst));
    // The same constant at i16 fits.
    let mut ok = r.clone();
    let id = ok.blocks[0].insts[1];
    let v = ok.insts[id.0 as usize].result.unwrap();
    ok.value_types[v.0 as usize] = Type::I16;
    verify(&ok).expect("0x100 fits in i16");
    // i1 constants are 0 or 1.
    let mut r = Region::new(l.clone(), 0x100);
    let mut b = Builder::new(&mut r);
    b.insn(0x100);
    let c = b.push(Opcode::Iconst, &[], Imm::Int(2), Some(Type::I1)).unwrap();
    b.set_slot(l.expect("flag"), c);
    b.exit_jump(0x104);
    rejects(&r, 0, Some(1), "constant does not fit in i1");
}

#[test]
fn extend_not_widening() {
    let r = one_block("  v0:i64 = get_slot x0\n  v1:i32 = zext v0\n  set_slot w, v1\n");
    rejects(&r, 0, Some(2), "i64 -> i32: the result must be wider than the operand");
    let r = one_block("  v0:i32 = get_slot w\n  v1:i32 = sext v0\n  set_slot w, v1\n");
    rejects(&r, 0, Some(2), "i32 -> i32: the result must be wider than the operand");
    let r = one_block("  v0:i32 = get_slot w\n  v1:i64 = trunc v0\n  set_slot x0, v1\n");
    rejects(&r, 0, Some(2), "i32 -> i64: the result must be narrower than the operand");
    let r = one_block("  v0:f64 = get_slot d\n  v1:i128 = zext v0\n  set_slot q, v1\n");
    rejects(&r, 0, Some(2), "both must be integers");
}

#[test]
fn bitcast_different_width() {
    let r = one_block("  v0:i32 = get_slot w\n  v1:f64 = bitcast v0\n  set_slot d, v1\n");
    rejects(&r, 0, Some(2), "cannot bitcast i32 to f64");
    let r = one_block("  v0:i64 = get_slot x0\n  v1:i64 = bitcast v0\n  set_slot x0, v1\n");
    rejects(&r, 0, Some(2), "cannot bitcast i64 to i64");
    let ok = one_block("  v0:i64 = get_slot x0\n  v1:f64 = bitcast v0\n  set_slot d, v1\n");
    verify(&ok).expect("i64 -> f64 is a valid bitcast");
}

#[test]
fn i128_rejected_for_bin_int64_ops() {
    let r = one_block("  v0:i128 = get_slot q\n  v1:i128 = udiv v0, v0\n  set_slot q, v1\n");
    let e = rejects(&r, 0, Some(2), "type i128 is not allowed (integers up to i64)");
    assert_eq!(e.op, Some(Opcode::Udiv));
    let r = one_block("  v0:i128 = get_slot q\n  v1:i128 = popcnt v0\n  set_slot q, v1\n");
    rejects(&r, 0, Some(2), "type i128 is not allowed (integers up to i64)");
    // add is BinInt: i128 is fine.
    let ok = one_block("  v0:i128 = get_slot q\n  v1:i128 = add v0, v0\n  set_slot q, v1\n");
    verify(&ok).expect("i128 add is allowed");
}

#[test]
fn slot_scalar_vs_array_misuse() {
    let r = one_block("  v0:i64 = get_slot win\n  set_slot x0, v0\n");
    rejects(&r, 0, Some(1), "slot win is an array; use get_elem/set_elem");
    let r = one_block("  v0:i64 = get_slot x0\n  set_slot win, v0\n");
    rejects(&r, 0, Some(2), "slot win is an array; use get_elem/set_elem");
    let r = one_block("  v0:i64 = iconst 0x1\n  v1:i64 = get_elem x0, v0\n  set_slot x0, v1\n");
    rejects(&r, 0, Some(2), "slot x0 is a scalar; use get_slot/set_slot");
    let r = one_block("  v0:i64 = iconst 0x1\n  set_elem x1, v0, v0\n");
    rejects(&r, 0, Some(2), "slot x1 is a scalar; use get_slot/set_slot");
}

#[test]
fn slot_type_mismatch() {
    let r = one_block("  v0:i32 = get_slot x0\n  set_slot w, v0\n");
    rejects(&r, 0, Some(1), "slot x0 has type i64");
    let r = one_block("  v0:i32 = get_slot w\n  set_slot x0, v0\n");
    rejects(&r, 0, Some(2), "operand 0 has type i32, expected i64");
    // The element index is an i64.
    let r = one_block("  v0:i32 = get_slot w\n  v1:i64 = get_elem win, v0\n  set_slot x0, v1\n");
    rejects(&r, 0, Some(2), "operand 0 has type i32, expected i64");
    let r = one_block("  v0:i64 = get_slot x0\n  v1:i32 = get_slot w\n  set_elem win, v0, v1\n");
    rejects(&r, 0, Some(3), "operand 1 has type i32, expected i64");
}

#[test]
fn memory_size_wider_than_type() {
    let r = one_block("  v0:i64 = get_slot x0\n  v1:i32 = load.u64.le v0\n  set_slot w, v1\n");
    rejects(&r, 0, Some(2), "access size 8 is wider than i32");
    let r = one_block("  v0:i64 = get_slot x0\n  v1:i32 = get_slot w\n  store.64.be v0, v1\n");
    rejects(&r, 0, Some(3), "access size 8 is wider than i32");
    let r = one_block("  v0:i64 = get_slot x0\n  v1:f64 = load.u32.le v0\n  set_slot d, v1\n");
    rejects(&r, 0, Some(2), "f64 accesses must be 8 bytes");
    // The parser refuses odd sizes itself; a builder-made region reaches the verifier.
    assert!(parse_region(
        "region @0x100 state=t insns=1 {\nblock0:\n  insn 0x100\n  v0:i64 = get_slot x0\n  v1:i64 = load.u24.le v0\n  exit_jump 0x104\n}\n",
        &layout()
    )
    .is_err());
    let l = layout();
    let mut r = Region::new(l.clone(), 0x100);
    let mut b = Builder::new(&mut r);
    b.insn(0x100);
    let a = b.get_slot(l.expect("x0"));
    let v = b.load(Type::I64, MemAttr::new(3, Endian::Little), a);
    b.set_slot(l.expect("x0"), v);
    b.exit_jump(0x104);
    rejects(&r, 0, Some(2), "access size 3 is not 1, 2, 4, 8 or 16");
    let r = one_block("  v0:i64 = get_slot x0\n  v1:i1 = load.u8.le v0\n  set_slot flag, v1\n");
    rejects(&r, 0, Some(2), "i1 cannot be loaded or stored");
    // The address is an i64.
    let r = one_block("  v0:i32 = get_slot w\n  v1:i32 = load.u32.le v0\n  set_slot w, v1\n");
    rejects(&r, 0, Some(2), "operand 0 has type i32, expected i64");
}

#[test]
fn sign_extension_on_a_store() {
    // The text form has no u/s on stores, so build it directly.
    let l = layout();
    let mut r = Region::new(l.clone(), 0x100);
    let mut b = Builder::new(&mut r);
    b.insn(0x100);
    let a = b.get_slot(l.expect("x0"));
    let v = b.get_slot(l.expect("w"));
    b.store(MemAttr::new(2, Endian::Little).signed(), a, v);
    b.exit_jump(0x104);
    let e = rejects(&r, 0, Some(3), "sign extension applies to integer loads only");
    assert_eq!(e.op, Some(Opcode::Store));
    // A signed float load is rejected the same way.
    let r = one_block("  v0:i64 = get_slot x0\n  v1:f64 = load.s64.le v0\n  set_slot d, v1\n");
    rejects(&r, 0, Some(2), "sign extension applies to integer loads only");
}

#[test]
fn atomics_on_i128_or_float() {
    let r = one_block(
        "  v0:i64 = get_slot x0\n  v1:i128 = get_slot q\n  v2:i128 = atomic_rmw.add.128.le v0, v1\n  set_slot q, v2\n",
    );
    rejects(&r, 0, Some(3), "atomics work on integers of at most 8 bytes");
    let r =
        one_block("  v0:i64 = get_slot x0\n  v1:f64 = get_slot d\n  v2:f64 = cas.64.le v0, v1, v1\n  set_slot d, v2\n");
    rejects(&r, 0, Some(3), "atomics work on integers of at most 8 bytes");
    let r = one_block("  v0:i64 = get_slot x0\n  v1:i64 = atomic_rmw.xchg.32.le v0, v0\n  set_slot x0, v1\n");
    rejects(&r, 0, Some(2), "atomic access size must equal the value width");
    let r = one_block(
        "  v0:i64 = get_slot x0\n  v1:i32 = get_slot w\n  v2:i64 = cas.64.le v0, v1, v0\n  set_slot x0, v2\n",
    );
    rejects(&r, 0, Some(3), "operand 1 has type i32, expected i64");
}

unsafe extern "C" fn two_args(_state: *mut u8, a: u64, b: u64, _c: u64, _d: u64) -> u64 {
    a + b
}

#[test]
fn helper_arity_mismatch() {
    helpers::register(HelperInfo {
        name: "verifier_two_args".into(),
        func: two_args,
        params: vec![Type::I64, Type::I64],
        ret: Some(Type::I64),
        effects: HelperEffects::Pure,
    })
    .unwrap();
    let r = one_block("  v0:i64 = get_slot x0\n  v1:i64 = call @verifier_two_args(v0)\n  set_slot x0, v1\n");
    let e = rejects(&r, 0, Some(2), "takes 2 operands, 1 given");
    assert_eq!(e.op, Some(Opcode::Call));
    let r = one_block("  v0:i64 = get_slot x0\n  v1:i64 = call @verifier_two_args(v0, v0, v0)\n  set_slot x0, v1\n");
    rejects(&r, 0, Some(2), "takes 2 operands, 3 given");
    let r = one_block("  v0:i64 = get_slot x0\n  v1:i32 = get_slot w\n  v2:i64 = call @verifier_two_args(v0, v1)\n  set_slot x0, v2\n");
    rejects(&r, 0, Some(3), "operand 1 has type i32, expected i64");
    let r = one_block("  v0:i64 = get_slot x0\n  v1:i32 = call @verifier_two_args(v0, v0)\n  set_slot w, v1\n");
    rejects(&r, 0, Some(2), "helper @verifier_two_args returns");
    let ok = one_block("  v0:i64 = get_slot x0\n  v1:i64 = call @verifier_two_args(v0, v0)\n  set_slot x0, v1\n");
    verify(&ok).expect("correct call");
    // An unregistered helper id.
    let l = layout();
    let mut r = Region::new(l, 0x100);
    let mut b = Builder::new(&mut r);
    b.insn(0x100);
    b.push(Opcode::Call, &[], Imm::Helper(HelperId(u32::MAX)), None);
    b.exit_jump(0x104);
    rejects(&r, 0, Some(1), "is not registered");
}

#[test]
fn branch_to_a_missing_block() {
    // The parser refuses unknown block names, so build it directly.
    let l = layout();
    let mut r = Region::new(l, 0x100);
    let mut b = Builder::new(&mut r);
    let b1 = b.create_block();
    b.insn(0x100);
    let c = b.bool(true);
    b.brif(c, b1, &[], BlockId(7), &[]);
    b.switch_to(b1);
    b.jump(BlockId(9), &[]);
    let e = rejects(&r, 0, Some(2), "branch to block7 which does not exist");
    assert_eq!(e.op, Some(Opcode::Brif));
    r.insts[r.blocks[0].insts[2].0 as usize].imm =
        Imm::Brif { then_block: BlockId(1), else_block: BlockId(1), then_args: 0 };
    let e = rejects(&r, 1, Some(0), "branch to block9 which does not exist");
    assert_eq!(e.op, Some(Opcode::Jump));
}

#[test]
fn branch_argument_count_mismatch() {
    let r = parse(
        "region @0x100 state=t insns=1 {
block0:
  insn 0x100
  v0:i64 = get_slot x0
  v1:i1 = get_slot flag
  brif v1, block1(v0, v0), block2()
block1(v2:i64):
  exit_indirect v2
block2(v3:i64):
  exit_indirect v3
}
",
    );
    rejects(&r, 0, Some(3), "block1 takes 1 arguments, 2 given");
    let r = parse(
        "region @0x100 state=t insns=1 {
block0:
  insn 0x100
  v0:i64 = get_slot x0
  v1:i1 = get_slot flag
  brif v1, block1(v0), block2()
block1(v2:i64):
  exit_indirect v2
block2(v3:i64):
  exit_indirect v3
}
",
    );
    rejects(&r, 0, Some(3), "block2 takes 1 arguments, 0 given");
    let r = parse(
        "region @0x100 state=t insns=1 {
block0:
  insn 0x100
  jump block1()
block1:
  v0:i64 = get_slot x0
  jump block2()
block2(v1:i64):
  exit_indirect v1
}
",
    );
    rejects(&r, 1, Some(1), "block2 takes 1 arguments, 0 given");
}

#[test]
fn branch_argument_type_mismatch() {
    let r = parse(
        "region @0x100 state=t insns=1 {
block0:
  insn 0x100
  v0:i64 = get_slot x0
  v1:i32 = get_slot w
  v2:i1 = get_slot flag
  brif v2, block1(v0), block2(v0, v1)
block1(v3:i64):
  exit_indirect v3
block2(v4:i64, v5:i64):
  exit_indirect v5
}
",
    );
    rejects(&r, 0, Some(4), "argument 1 to block2 has type i32, the parameter is i64");
    // A brif condition that is not i1.
    let r = parse(
        "region @0x100 state=t insns=1 {
block0:
  insn 0x100
  v0:i64 = get_slot x0
  brif v0, block1(), block1()
block1:
  exit_jump 0x104
}
",
    );
    rejects(&r, 0, Some(2), "operand 0 has type i64, expected i1");
}

#[test]
fn back_edge_to_a_block_with_params() {
    let r = parse(
        "region @0x100 state=t insns=2 {
block0:
  insn 0x100
  v0:i64 = get_slot x0
  jump block1(v0)
block1(v1:i64):
  insn 0x104
  set_slot x1, v1
  jump block2()
block2:
  v2:i64 = get_slot x1
  jump block1(v2)
}
",
    );
    rejects(&r, 2, Some(1), "back edge to block1 which has parameters (loop headers take none)");
    // A self loop on a block with parameters too.
    let r = parse(
        "region @0x100 state=t insns=2 {
block0:
  insn 0x100
  v0:i64 = get_slot x0
  jump block1(v0)
block1(v1:i64):
  insn 0x104
  jump block1(v1)
}
",
    );
    rejects(&r, 1, Some(1), "back edge to block1 which has parameters");
}

#[test]
fn back_edge_to_a_block_not_starting_with_insn() {
    let r = parse(
        "region @0x100 state=t insns=1 {
block0:
  insn 0x100
  jump block1()
block1:
  v0:i64 = get_slot x0
  set_slot x1, v0
  jump block2()
block2:
  insn 0x104
  jump block1()
}
",
    );
    rejects(&r, 2, Some(1), "back edge to block1 which does not start with `insn`");
    // The entry block looping to itself without starting with insn.
    let r = parse(
        "region @0x100 state=t insns=0 {
block0:
  v0:i1 = get_slot flag
  brif v0, block0(), block1()
block1:
  exit_jump 0x104
}
",
    );
    rejects(&r, 0, Some(1), "back edge to block0 which does not start with `insn`");
    // The same loop with an insn at the head is fine.
    let ok = parse(
        "region @0x100 state=t insns=1 {
block0:
  insn 0x100
  v0:i1 = get_slot flag
  brif v0, block0(), block1()
block1:
  exit_jump 0x104
}
",
    );
    verify(&ok).expect("loop headed by insn");
}

#[test]
fn use_not_dominated_by_its_definition() {
    // v2 is defined in block1 only; block2 is reached from block0 directly as well.
    let r = parse(
        "region @0x100 state=t insns=1 {
block0:
  insn 0x100
  v0:i64 = get_slot x0
  v1:i1 = get_slot flag
  brif v1, block1(), block2()
block1:
  v2:i64 = add v0, v0
  jump block2()
block2:
  set_slot x1, v2
  exit_jump 0x104
}
",
    );
    let e = rejects(&r, 2, Some(0), "operand 0 (v2) is not dominated by its definition");
    assert_eq!(e.op, Some(Opcode::SetSlot));
    // Within a block: a use before the definition (the parser allows forward names).
    let r = one_block("  v0:i64 = add v1, v1\n  v1:i64 = get_slot x0\n  set_slot x0, v0\n");
    rejects(&r, 0, Some(1), "operand 0 (v1) is not dominated by its definition");
    // Using a value as its own operand.
    let r = one_block("  v0:i64 = add v0, v0\n  set_slot x0, v0\n");
    rejects(&r, 0, Some(1), "operand 0 (v0) is not dominated by its definition");
    // A block parameter used outside its block.
    let r = parse(
        "region @0x100 state=t insns=1 {
block0:
  insn 0x100
  v0:i64 = get_slot x0
  v1:i1 = get_slot flag
  brif v1, block1(v0), block2()
block1(v2:i64):
  jump block2()
block2:
  exit_indirect v2
}
",
    );
    rejects(&r, 2, Some(0), "operand 0 (v2) is not dominated by its definition");
}

#[test]
fn other_immediate_rules() {
    // Vector lane index out of range.
    let l = layout();
    let mut r = Region::new(l.clone(), 0x100);
    let mut b = Builder::new(&mut r);
    b.insn(0x100);
    let v = b.vconst(1);
    let x = b.vextract(VecShape::I32x4, v, 4);
    let x = b.zext(x, Type::I64);
    b.set_slot(l.expect("x0"), x);
    b.exit_jump(0x104);
    rejects(&r, 0, Some(2), "lane 4 out of range for i32x4");
    // 64-bit lanes have no wider lanes to widen into.
    let mut r = Region::new(l.clone(), 0x100);
    let mut b = Builder::new(&mut r);
    b.insn(0x100);
    let v = b.vconst(1);
    let w = b.vwiden(Opcode::VuwidenLo, VecShape::I64x2, v);
    let x = b.vextract(VecShape::I64x2, w, 0);
    b.set_slot(l.expect("x0"), x);
    b.exit_jump(0x104);
    rejects(&r, 0, Some(2), "i64x2 lanes cannot be widened");
    // A vector shift's amount is an i32.
    let r = one_block("  v0:i64 = get_slot x0\n  v1:v128 = vconst 0x1\n  v2:v128 = vshl.i32x4 v1, v0\n  v3:i64 = vextract.i64x2[0] v2\n  set_slot x0, v3\n");
    rejects(&r, 0, Some(3), "operand 1 has type i64, expected i32");
    // i1 operands only compare for equality.
    let r = one_block("  v0:i1 = get_slot flag\n  v1:i1 = icmp ult v0, v0\n  set_slot flag, v1\n");
    rejects(&r, 0, Some(2), "i1 operands only compare with eq/ne");
    // A wrong immediate kind for the op.
    let mut r = one_block("  v0:i64 = get_slot x0\n  v1:i1 = icmp eq v0, v0\n  set_slot flag, v1\n");
    let id = r.blocks[0].insts[2];
    r.insts[id.0 as usize].imm = Imm::None;
    rejects(&r, 0, Some(2), "wrong immediate");
}

#[test]
fn block_reached_from_different_guest_instructions_must_start_with_insn() {
    let text = "state t pc=pc {
  pc: i64
  x0: i64
}
region @0x100 state=t insns=2 {
block0:
  insn 0x100
  v0:i64 = get_slot x0
  v1:i64 = iconst 0
  v2:i1 = icmp eq v0, v1
  brif v2, block1(), block2()
block1:
  insn 0x104
  jump block2()
block2:
  v3:i64 = load.u64.le v0
  set_slot x0, v3
  exit_jump 0x108
}
";
    let (_, regions) = parse_module(text, &[]).unwrap();
    let e = verify(&regions[0]).unwrap_err();
    assert_eq!(e.block, 2);
    assert!(e.message.contains("reached from different guest instructions"), "{e}");
    // With its own `insn` the block is fine.
    let fixed = text.replace("block2:\n  v3", "block2:\n  insn 0x108\n  v3");
    let (_, regions) = parse_module(&fixed, &[]).unwrap();
    verify(&regions[0]).unwrap();
}
