//! Differential tests: every IR op, at every width it allows and in both endiannesses,
//! run through the reference interpreter and through the Cranelift backend on random
//! inputs (proptest) must give identical results, state and memory. Random multi-block
//! regions too.

use mimic_backend::cranelift::{ChainSlotRef, Compiler, JitCtx, JitExit, LookupEntry, OptLevel};
use mimic_backend::CodeMemory;
use mimic_ir::*;
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use std::sync::Arc;

const MEM_BASE: u64 = 0x10_0000;
const MEM_LEN: usize = 256;

fn compiler() -> Compiler {
    let code = Arc::new(CodeMemory::new(64 << 20).expect("code memory"));
    Compiler::new(code, OptLevel::Speed).expect("compiler")
}

/// One instance of an op to test: operand types, result type, immediate.
#[derive(Clone, Debug)]
struct Case {
    op: Opcode,
    args: Vec<Type>,
    ret: Option<Type>,
    imm: Imm,
}

fn int_like() -> Vec<Type> {
    vec![Type::I1, Type::I8, Type::I16, Type::I32, Type::I64, Type::I128]
}

fn mem_types() -> Vec<(Type, u8)> {
    let mut v = Vec::new();
    for t in [Type::I8, Type::I16, Type::I32, Type::I64, Type::I128] {
        for s in [1u8, 2, 4, 8, 16] {
            if s as u32 * 8 <= t.bits() {
                v.push((t, s));
            }
        }
    }
    v.push((Type::F32, 4));
    v.push((Type::F64, 8));
    v.push((Type::V128, 16));
    v
}

fn cases() -> Vec<Case> {
    let mut out = Vec::new();
    let c = |op, args: &[Type], ret: Option<Type>, imm| Case { op, args: args.to_vec(), ret, imm };
    for &op in Opcode::ALL {
        match op.shape() {
            Shape::Bitwise => int_like().iter().for_each(|&t| out.push(c(op, &[t, t], Some(t), Imm::None))),
            Shape::BinInt => Type::INTS.iter().for_each(|&t| out.push(c(op, &[t, t], Some(t), Imm::None))),
            Shape::BinInt64 => Type::INTS[..4].iter().for_each(|&t| out.push(c(op, &[t, t], Some(t), Imm::None))),
            Shape::UnInt => Type::INTS.iter().for_each(|&t| out.push(c(op, &[t], Some(t), Imm::None))),
            Shape::UnInt64 => Type::INTS[..4].iter().for_each(|&t| out.push(c(op, &[t], Some(t), Imm::None))),
            Shape::IntCmp => {
                for &cc in IntCC::ALL {
                    for &t in &Type::INTS {
                        out.push(c(op, &[t, t], Some(Type::I1), Imm::IntCC(cc)));
                    }
                }
                out.push(c(op, &[Type::I1, Type::I1], Some(Type::I1), Imm::IntCC(IntCC::Eq)));
                out.push(c(op, &[Type::I1, Type::I1], Some(Type::I1), Imm::IntCC(IntCC::Ne)));
            }
            Shape::Select => Type::ALL.iter().for_each(|&t| out.push(c(op, &[Type::I1, t, t], Some(t), Imm::None))),
            Shape::Extend | Shape::Truncate => {
                for s in int_like() {
                    for t in int_like() {
                        let ok = if op.shape() == Shape::Extend { s.bits() < t.bits() } else { s.bits() > t.bits() };
                        if ok {
                            out.push(c(op, &[s], Some(t), Imm::None));
                        }
                    }
                }
            }
            Shape::Bitcast => {
                for (s, t) in [
                    (Type::I32, Type::F32),
                    (Type::F32, Type::I32),
                    (Type::I64, Type::F64),
                    (Type::F64, Type::I64),
                    (Type::I128, Type::V128),
                    (Type::V128, Type::I128),
                ] {
                    out.push(c(op, &[s], Some(t), Imm::None));
                }
            }
            Shape::Flag2 => Type::INTS.iter().for_each(|&t| out.push(c(op, &[t, t], Some(Type::I1), Imm::None))),
            Shape::Flag3 => {
                Type::INTS.iter().for_each(|&t| out.push(c(op, &[t, t, Type::I1], Some(Type::I1), Imm::None)))
            }
            Shape::Carry3 => Type::INTS.iter().for_each(|&t| out.push(c(op, &[t, t, Type::I1], Some(t), Imm::None))),
            Shape::BinFloat => {
                [Type::F32, Type::F64].iter().for_each(|&t| out.push(c(op, &[t, t], Some(t), Imm::None)))
            }
            Shape::UnFloat => [Type::F32, Type::F64].iter().for_each(|&t| out.push(c(op, &[t], Some(t), Imm::None))),
            Shape::TerFloat => {
                [Type::F32, Type::F64].iter().for_each(|&t| out.push(c(op, &[t, t, t], Some(t), Imm::None)))
            }
            Shape::RoundFloat => {
                for &m in RoundMode::ALL {
                    for t in [Type::F32, Type::F64] {
                        out.push(c(op, &[t], Some(t), Imm::Round(m)));
                    }
                }
            }
            Shape::FloatCmp => {
                for &cc in FloatCC::ALL {
                    for t in [Type::F32, Type::F64] {
                        out.push(c(op, &[t, t], Some(Type::I1), Imm::FloatCC(cc)));
                    }
                }
            }
            Shape::FloatToInt | Shape::IntToFloat => {
                for f in [Type::F32, Type::F64] {
                    for i in [Type::I32, Type::I64] {
                        if op.shape() == Shape::FloatToInt {
                            out.push(c(op, &[f], Some(i), Imm::None));
                        } else {
                            out.push(c(op, &[i], Some(f), Imm::None));
                        }
                    }
                }
            }
            Shape::Promote => out.push(c(op, &[Type::F32], Some(Type::F64), Imm::None)),
            Shape::Demote => out.push(c(op, &[Type::F64], Some(Type::F32), Imm::None)),
            Shape::VecBitwise2 => out.push(c(op, &[Type::V128, Type::V128], Some(Type::V128), Imm::None)),
            Shape::VecBitwise1 => out.push(c(op, &[Type::V128], Some(Type::V128), Imm::None)),
            Shape::VecLanes2 => VecShape::ALL
                .iter()
                .for_each(|&s| out.push(c(op, &[Type::V128, Type::V128], Some(Type::V128), Imm::Lanes(s)))),
            Shape::VecShuffle => {
                for m in [
                    u128::from_le_bytes(std::array::from_fn(|i| i as u8)),
                    u128::from_le_bytes(std::array::from_fn(|i| 31 - i as u8)),
                    u128::from_le_bytes([0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23]),
                    u128::from_le_bytes(std::array::from_fn(|i| (i as u8 * 7 + 3) % 32)),
                ] {
                    out.push(c(op, &[Type::V128, Type::V128], Some(Type::V128), Imm::Bits(m)));
                }
            }
            Shape::VecTernary => out.push(c(op, &[Type::V128; 3], Some(Type::V128), Imm::None)),
            Shape::VecShift => VecShape::ALL
                .iter()
                .for_each(|&s| out.push(c(op, &[Type::V128, Type::I32], Some(Type::V128), Imm::Lanes(s)))),
            Shape::VecWiden => VecShape::ALL
                .iter()
                .filter(|&&s| s != VecShape::I64x2)
                .for_each(|&s| out.push(c(op, &[Type::V128], Some(Type::V128), Imm::Lanes(s)))),
            Shape::VecSplat => {
                VecShape::ALL.iter().for_each(|&s| out.push(c(op, &[s.lane_type()], Some(Type::V128), Imm::Lanes(s))))
            }
            Shape::VecExtract | Shape::VecInsert => {
                for &s in VecShape::ALL {
                    for l in [0u8, (s.lanes() - 1) as u8, (s.lanes() / 2) as u8] {
                        if op.shape() == Shape::VecExtract {
                            out.push(c(op, &[Type::V128], Some(s.lane_type()), Imm::Lane(s, l)));
                        } else {
                            out.push(c(op, &[Type::V128, s.lane_type()], Some(Type::V128), Imm::Lane(s, l)));
                        }
                    }
                }
            }
            Shape::Load | Shape::Store => {
                for (t, size) in mem_types() {
                    for &endian in Endian::ALL {
                        for signed in [false, true] {
                            if signed && (!t.is_int() || op == Opcode::Store || size as u32 * 8 == t.bits()) {
                                continue;
                            }
                            let m = MemAttr { size, signed, endian, aligned: false };
                            if op == Opcode::Load {
                                out.push(c(op, &[Type::I64], Some(t), Imm::Mem(m)));
                            } else {
                                out.push(c(op, &[Type::I64, t], None, Imm::Mem(m)));
                            }
                        }
                    }
                }
            }
            Shape::AtomicRmw | Shape::Cas => {
                for t in [Type::I8, Type::I16, Type::I32, Type::I64] {
                    for &endian in Endian::ALL {
                        let m = MemAttr { size: t.bytes() as u8, signed: false, endian, aligned: false };
                        if op == Opcode::Cas {
                            out.push(c(op, &[Type::I64, t, t], Some(t), Imm::Mem(m)));
                            if t == Type::I64 {
                                // 16-byte compare-and-swap (exclusive pairs): aligned, as
                                // the host instruction requires and the guests demand.
                                let w = Type::I128;
                                let m16 = MemAttr { size: 16, aligned: true, ..m };
                                out.push(c(op, &[Type::I64, w, w], Some(w), Imm::Mem(m16)));
                            }
                        } else {
                            for &r in RmwOp::ALL {
                                out.push(c(op, &[Type::I64, t], Some(t), Imm::Rmw(r, m)));
                            }
                        }
                    }
                }
            }
            // Ops with their own tests below, or that are not operand -> result ops.
            Shape::Marker
            | Shape::ConstInt
            | Shape::ConstFloat
            | Shape::ConstVec
            | Shape::GetSlot
            | Shape::SetSlot
            | Shape::GetElem
            | Shape::SetElem
            | Shape::Fence
            | Shape::CallHelper
            | Shape::Jump
            | Shape::Brif
            | Shape::ExitJump
            | Shape::ExitIndirect
            | Shape::ExitSyscall
            | Shape::ExitTrap => {}
        }
    }
    out
}

/// Region: read operands from slots a0..a2, apply the op, write the result to `out`.
fn case_region(case: &Case) -> Region {
    let mut lb = LayoutBuilder::new("diff").slot("pc", Type::I64);
    for (i, &t) in case.args.iter().enumerate() {
        lb = lb.slot(&format!("a{i}"), t);
    }
    lb = lb.slot("out", case.ret.unwrap_or(Type::I64));
    let layout = Arc::new(lb.build("pc").unwrap());
    let mut r = Region::new(layout.clone(), 0x1000);
    let mut b = Builder::new(&mut r);
    b.insn(0x1000);
    let mut args = Vec::new();
    for i in 0..case.args.len() {
        let s = layout.expect(&format!("a{i}"));
        args.push(b.get_slot(s));
    }
    // Keep memory addresses inside the test memory.
    if matches!(case.op.shape(), Shape::Load | Shape::Store | Shape::AtomicRmw | Shape::Cas) {
        // Aligned accesses (16-byte CAS) get aligned addresses: the case is the
        // operation, not the alignment trap (tested elsewhere).
        let align = match case.imm {
            Imm::Mem(m) if m.aligned => m.size as u64,
            _ => 1,
        };
        let mask = b.i64(((MEM_LEN as u64 / 2) - 1) & !(align - 1));
        let off = b.and(args[0], mask);
        let base = b.i64(MEM_BASE);
        args[0] = b.add(off, base);
    }
    let res = b.push(case.op, &args, case.imm, case.ret);
    if let Some(v) = res {
        b.set_slot(layout.expect("out"), v);
    }
    b.exit_jump(0x2000);
    verify(&r).unwrap_or_else(|e| panic!("case {case:?} does not verify: {e}\n{}", print(&r)));
    r
}

fn interesting_float(bits: u32, sel: u8, raw: u128) -> u128 {
    let f32s: [u32; 12] = [
        0,
        0x8000_0000,
        0x7f80_0000,
        0xff80_0000,
        0x7fc0_0000,
        0x7fa0_0001,
        0xffc0_1234,
        0x3f80_0000,
        0x4f00_0000,
        0xcf00_0001,
        0x0000_0001,
        0x3f00_0000,
    ];
    let f64s: [u64; 12] = [
        0,
        0x8000_0000_0000_0000,
        0x7ff0_0000_0000_0000,
        0xfff0_0000_0000_0000,
        0x7ff8_0000_0000_0000,
        0x7ff4_0000_0000_0001,
        0xfff8_0000_1234_0000,
        0x3ff0_0000_0000_0000,
        0x43e0_0000_0000_0000,
        0xc3e0_0000_0000_0001,
        0x0000_0000_0000_0001,
        0x3fe0_0000_0000_0000,
    ];
    match (bits, sel % 3) {
        (32, 0) => f32s[(raw % 12) as usize] as u128,
        (64, 0) => f64s[(raw % 12) as usize] as u128,
        (32, 1) => ((raw as u32 % 2000) as f32 - 1000.0 + (raw >> 40) as u8 as f32 / 256.0).to_bits() as u128,
        (64, 1) => ((raw as u64 % 2000) as f64 - 1000.0 + (raw >> 40) as u8 as f64 / 256.0).to_bits() as u128,
        _ => raw,
    }
}

fn interesting_int(t: Type, sel: u8, raw: u128) -> u128 {
    let v = match sel % 4 {
        0 => [0u128, 1, u128::MAX, 1 << (t.bits() - 1), (1 << (t.bits() - 1)) - 1, 2][(raw % 6) as usize],
        1 => raw % 70,
        _ => raw,
    };
    v & t.mask()
}

struct Run {
    state: StateBuf,
    mem: FlatMemory,
    exit: Exit,
}

fn run_interp(r: &Region, state: &StateBuf, mem: &FlatMemory) -> Run {
    let mut st = state.clone();
    let mut m = mem.clone();
    let exit = interp::run(r, &mut st, &mut m, &RunControl::default());
    Run { state: st, mem: m, exit }
}

fn run_jit(
    compiler: &Compiler,
    entry: *const u8,
    r: &Region,
    state: &StateBuf,
    mem: &FlatMemory,
) -> (StateBuf, FlatMemory, u64) {
    let mut st = state.clone();
    let mut m = mem.clone();
    let table = vec![LookupEntry::default(); 16];
    let mut ctx = JitCtx::new(&table);
    let base = m.data.as_mut_ptr().wrapping_sub(MEM_BASE as usize);
    // SAFETY: the region only touches addresses masked into [MEM_BASE, MEM_BASE+MEM_LEN),
    // which map to `m.data`; the state buffer has the region's layout; the chain slots
    // the region was compiled with are zero.
    let code = unsafe { compiler.enter(entry, st.as_mut_ptr(), base, &mut ctx) };
    let _ = r;
    (st, m, code)
}

#[test]
fn every_op_matches_the_interpreter() {
    let mut compiler = compiler();
    let cases = cases();
    assert!(cases.len() > 500, "only {} cases", cases.len());
    let slot = Box::new(0u64);
    let slots = [ChainSlotRef { id: 7, addr: &*slot }];
    let mut failures = Vec::new();
    for case in &cases {
        let region = case_region(case);
        let compiled = match compiler.compile(&region, &slots) {
            Ok(c) => c,
            Err(e) => {
                failures.push(format!("{} {:?}: compile error {e}", case.op, case.args));
                continue;
            }
        };
        let layout = region.layout.clone();
        let mut runner = TestRunner::new(Config { cases: 48, failure_persistence: None, ..Config::default() });
        let strat = (
            proptest::collection::vec((any::<u8>(), any::<u128>()), 3),
            proptest::collection::vec(any::<u8>(), MEM_LEN),
        );
        let result = runner.run(&strat, |(inputs, memory)| {
            let mut st = StateBuf::new(&layout);
            for (i, &t) in case.args.iter().enumerate() {
                let (sel, raw) = inputs[i];
                let v = match t {
                    Type::F32 | Type::F64 => interesting_float(t.bits(), sel, raw),
                    Type::V128 => raw,
                    _ => interesting_int(t, sel, raw),
                };
                st.set(&layout, layout.expect(&format!("a{i}")), v);
            }
            let mem = FlatMemory { base: MEM_BASE, data: memory };
            let want = run_interp(&region, &st, &mem);
            let (got_state, got_mem, code) = run_jit(&compiler, compiled.entry, &region, &st, &mem);
            prop_assert_eq!(want.exit, Exit::Jump { pc: 0x2000, hint: ExitHint::None, ret: 0, index: 0 });
            prop_assert_eq!(JitExit::decode(code), Some(JitExit::Jump { slot: 7 }));
            prop_assert_eq!(want.state.bytes(), got_state.bytes(), "state differs");
            prop_assert_eq!(&want.mem.data, &got_mem.data, "memory differs");
            Ok(())
        });
        if let Err(e) = result {
            failures.push(format!("{} {:?} -> {:?} {:?}: {e}", case.op, case.args, case.ret, case.imm));
        }
    }
    assert!(failures.is_empty(), "{} of {} cases differ:\n{}", failures.len(), cases.len(), failures.join("\n"));
}

struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

fn multi_layout() -> Arc<StateLayout> {
    Arc::new(
        LayoutBuilder::new("multi")
            .slot("pc", Type::I64)
            .slot("r0", Type::I64)
            .slot("r1", Type::I64)
            .slot("r2", Type::I64)
            .slot("r3", Type::I64)
            .slot("cnt", Type::I64)
            .slot("flag", Type::I1)
            .array("win", Type::I64, 8)
            .build("pc")
            .unwrap(),
    )
}

/// A random region: forward branches with block arguments, one counted loop, memory
/// accesses, array slots and every kind of exit.
fn random_region(seed: u64, layout: &Arc<StateLayout>) -> Region {
    let mut g = Rng(seed | 1);
    let mut r = Region::new(layout.clone(), 0x4000);
    let regs: Vec<SlotId> = ["r0", "r1", "r2", "r3"].iter().map(|n| layout.expect(n)).collect();
    let nblocks = 3 + g.below(4) as usize;
    let mut b = Builder::new(&mut r);
    // Block 0 (the region entry) may be a loop header too.
    let loop_block = g.below(nblocks as u64) as usize;
    let mut blocks = vec![BlockId(0)];
    let mut loop_cont = BlockId(0);
    if loop_block == 0 {
        loop_cont = b.create_block();
    }
    for i in 1..nblocks {
        let nb = b.create_block();
        if i == loop_block {
            // The loop header takes no parameters; its continuation follows it in layout.
            loop_cont = b.create_block();
        } else {
            for _ in 0..g.below(3) {
                b.append_param(nb, Type::I64);
            }
        }
        blocks.push(nb);
    }
    for i in 0..nblocks {
        b.switch_to(blocks[i]);
        let pc = 0x4000 + 0x40 * i as u64;
        b.insn(pc);
        let mut pool: Vec<Value> = b.region.block(blocks[i]).params.clone();
        if i == loop_block {
            // Counted loop: runs (cnt & 7) + 1 times... via a back edge to this block.
            let cnt = layout.expect("cnt");
            let c = b.get_slot(cnt);
            let one = b.i64(1);
            let c2 = b.sub(c, one);
            b.set_slot(cnt, c2);
            let acc = b.get_slot(regs[0]);
            let acc2 = b.add(acc, c);
            b.set_slot(regs[0], acc2);
            let more = b.icmp(IntCC::Ugt, c, one);
            b.brif(more, blocks[i], &[], loop_cont, &[]);
            b.switch_to(loop_cont);
            b.insn(pc + 4);
        }
        for &s in &regs {
            pool.push(b.get_slot(s));
        }
        for _ in 0..2 + g.below(6) {
            let x = pool[g.below(pool.len() as u64) as usize];
            let y = pool[g.below(pool.len() as u64) as usize];
            let v = match g.below(14) {
                0 => b.add(x, y),
                1 => b.sub(x, y),
                2 => b.op(Opcode::Mul, &[x, y]),
                3 => b.xor(x, y),
                4 => b.shl(x, y),
                5 => b.ashr(x, y),
                6 => b.op(Opcode::Rotr, &[x, y]),
                7 => b.op(Opcode::Udiv, &[x, y]),
                8 => b.op(Opcode::Sdiv, &[x, y]),
                9 => {
                    let c = b.icmp(IntCC::Slt, x, y);
                    b.set_slot(layout.expect("flag"), c);
                    b.select(c, x, y)
                }
                10 => {
                    let mask = b.i64(MEM_LEN as u64 - 8);
                    let off = b.and(x, mask);
                    let base = b.i64(MEM_BASE);
                    let addr = b.add(off, base);
                    let e = if g.below(2) == 0 { Endian::Little } else { Endian::Big };
                    if g.below(2) == 0 {
                        b.load(Type::I64, MemAttr::new(8, e), addr)
                    } else {
                        b.store(MemAttr::new(4, e), addr, y);
                        x
                    }
                }
                11 => {
                    let w = layout.expect("win");
                    let old = b.get_elem(w, x);
                    b.set_elem(w, y, x);
                    old
                }
                12 => b.iconst(Type::I64, g.next() as u128),
                _ => {
                    let c = b.flag(Opcode::AddCarry, &[x, y]);
                    b.zext(c, Type::I64)
                }
            };
            pool.push(v);
            if g.below(2) == 0 {
                let s = regs[g.below(4) as usize];
                b.set_slot(s, v);
            }
        }
        let pick = |g: &mut Rng, pool: &[Value], n: usize| -> Vec<Value> {
            (0..n).map(|_| pool[g.below(pool.len() as u64) as usize]).collect()
        };
        if i + 1 == nblocks {
            let t = pool[g.below(pool.len() as u64) as usize];
            match g.below(4) {
                0 => b.exit_jump(0x9000),
                1 => b.exit_indirect(t, ExitHint::None),
                2 => b.exit_syscall(pc + 4),
                _ => {
                    let zero = b.i64(0);
                    let c = b.icmp(IntCC::Eq, t, zero);
                    let x1 = b.create_block();
                    let x2 = b.create_block();
                    b.brif(c, x1, &[], x2, &[]);
                    b.switch_to(x1);
                    b.exit_jump(0x9100);
                    b.switch_to(x2);
                    b.exit_call(0x9200, pc + 8);
                }
            }
        } else {
            let t1 = i + 1 + g.below((nblocks - i - 1) as u64) as usize;
            let t2 = i + 1 + g.below((nblocks - i - 1) as u64) as usize;
            let a1 = pick(&mut g, &pool, b.region.block(blocks[t1]).params.len());
            let a2 = pick(&mut g, &pool, b.region.block(blocks[t2]).params.len());
            let x = pool[g.below(pool.len() as u64) as usize];
            let y = pool[g.below(pool.len() as u64) as usize];
            let c = b.icmp(IntCC::Ult, x, y);
            b.brif(c, blocks[t1], &a1, blocks[t2], &a2);
        }
    }
    r
}

#[test]
fn random_multi_block_regions_match_the_interpreter() {
    let compiler = std::cell::RefCell::new(compiler());
    let layout = multi_layout();
    let slot_mem: Vec<u64> = vec![0; 8];
    let slots: Vec<ChainSlotRef> = (0..8).map(|i| ChainSlotRef { id: 100 + i as u32, addr: &slot_mem[i] }).collect();
    let mut runner = TestRunner::new(Config { cases: 300, failure_persistence: None, ..Config::default() });
    let strat = (
        any::<u64>(),
        proptest::collection::vec(any::<u64>(), 6),
        any::<bool>(),
        proptest::collection::vec(any::<u8>(), MEM_LEN),
    );
    runner
        .run(&strat, |(seed, regs, optimize, memory)| {
            let mut region = random_region(seed, &layout);
            verify(&region)
                .map_err(|e| TestCaseError::fail(format!("generator made bad IR: {e}\n{}", print(&region))))?;
            let mut st = StateBuf::new(&layout);
            for (i, n) in ["r0", "r1", "r2", "r3"].iter().enumerate() {
                st.set(&layout, layout.expect(n), regs[i] as u128);
            }
            st.set(&layout, layout.expect("cnt"), (regs[4] & 7) as u128);
            let mem = FlatMemory { base: MEM_BASE, data: memory };
            let want = run_interp(&region, &st, &mem);
            if optimize {
                // The passes must not change behaviour either.
                passes::optimize(&mut region);
                let opt = run_interp(&region, &st, &mem);
                prop_assert_eq!(want.exit, opt.exit);
                prop_assert_eq!(want.state.bytes(), opt.state.bytes(), "passes changed the state\n{}", print(&region));
                prop_assert_eq!(&want.mem.data, &opt.mem.data);
            }
            let mut compiler = compiler.borrow_mut();
            let compiled = compiler.compile(&region, &slots).map_err(|e| TestCaseError::fail(e.to_string()))?;
            let (got_state, got_mem, code) = run_jit(&compiler, compiled.entry, &region, &st, &mem);
            let exit = JitExit::decode(code);
            let expected = match want.exit {
                Exit::Jump { index, .. } => JitExit::Jump { slot: 100 + index },
                Exit::Indirect { hint, .. } => JitExit::Indirect { hint },
                Exit::Syscall { .. } => JitExit::Syscall,
                Exit::Trap { kind, .. } => JitExit::Trap { kind },
                other => return Err(TestCaseError::fail(format!("unexpected interpreter exit {other:?}"))),
            };
            prop_assert_eq!(exit, Some(expected), "{}", print(&region));
            prop_assert_eq!(want.state.bytes(), got_state.bytes(), "state differs\n{}", print(&region));
            prop_assert_eq!(&want.mem.data, &got_mem.data, "memory differs");
            Ok(())
        })
        .unwrap();
}

#[test]
fn helpers_constants_and_exits_match_the_interpreter() {
    unsafe extern "C" fn mix(state: *mut u8, a: u64, b: u64, c: u64, _d: u64) -> u64 {
        // SAFETY: the test layout's slot at offset 8 is an i64 ("r0"); state is valid.
        let r0 = unsafe { (state.add(8) as *const u64).read() };
        a.wrapping_mul(31) ^ b.rotate_left(7) ^ c ^ r0
    }
    let h = helpers::register(HelperInfo {
        name: "test_mix".into(),
        func: mix,
        params: vec![Type::I64, Type::I32, Type::F64],
        ret: Some(Type::I64),
        effects: HelperEffects::ReadsState,
    })
    .unwrap();
    let layout = multi_layout();
    let text = "region @0x100 state=multi insns=3 {
block0:
  insn 0x100
  v0:i64 = get_slot r1
  v1:i32 = trunc v0
  v2:f64 = fconst 0x400921fb54442d18
  v3:i64 = call @test_mix(v0, v1, v2)
  set_slot r2, v3
  v4:v128 = vconst 0x0123456789abcdef_fedcba9876543210
  v5:i64 = vextract.i64x2[1] v4
  set_slot r3, v5
  v6:i128 = iconst 0xffeeddccbbaa99887766554433221100
  v7:i64 = trunc v6
  set_slot r0, v7
  fence seqcst
  insn 0x104
  v8:i64 = get_slot cnt
  v9:i64 = iconst 3
  v10:i64 = and v8, v9
  v11:i64 = iconst 0
  v12:i1 = icmp eq v10, v11
  brif v12, block1(), block2()
block1:
  exit_trap breakpoint 0x104
block2:
  v13:i64 = iconst 1
  v14:i1 = icmp eq v10, v13
  brif v14, block3(), block4()
block3:
  insn 0x108
  v15:i64 = iconst 0x100010
  v16:i64 = load.u64.le.aligned v15
  exit_jump 0x200
block4:
  exit_indirect v3 ret
}
";
    let _ = h;
    let region = parse_region(text, &layout).unwrap();
    verify(&region).unwrap();
    let mut compiler = compiler();
    let slot = 0u64;
    let compiled = compiler.compile(&region, &[ChainSlotRef { id: 5, addr: &slot }]).unwrap();
    for cnt in 0..4u128 {
        let mut st = StateBuf::new(&layout);
        st.set(&layout, layout.expect("r1"), 0x1234_5678_9abc_def0);
        st.set(&layout, layout.expect("cnt"), cnt);
        let mem = FlatMemory { base: MEM_BASE, data: vec![0x5a; MEM_LEN] };
        let want = run_interp(&region, &st, &mem);
        let (got, _, code) = run_jit(&compiler, compiled.entry, &region, &st, &mem);
        assert_eq!(want.state.bytes(), got.bytes(), "cnt={cnt}");
        let expected = match want.exit {
            Exit::Trap { kind, .. } => JitExit::Trap { kind },
            Exit::Jump { .. } => JitExit::Jump { slot: 5 },
            Exit::Indirect { hint, .. } => JitExit::Indirect { hint },
            e => panic!("unexpected {e:?}"),
        };
        assert_eq!(JitExit::decode(code), Some(expected), "cnt={cnt}");
        if cnt == 1 {
            // 0x100010 is 16-aligned: no trap, a direct exit.
            assert!(matches!(want.exit, Exit::Jump { pc: 0x200, .. }));
        }
    }
}

#[test]
fn unaligned_access_traps_at_the_guest_pc() {
    let layout = multi_layout();
    let text = "region @0x100 state=multi insns=1 {
block0:
  insn 0x104
  v0:i64 = get_slot r0
  v1:i32 = load.u32.be.aligned v0
  exit_jump 0x200
}
";
    let region = parse_region(text, &layout).unwrap();
    let mut compiler = compiler();
    let slot = 0u64;
    let compiled = compiler.compile(&region, &[ChainSlotRef { id: 1, addr: &slot }]).unwrap();
    let mut st = StateBuf::new(&layout);
    st.set(&layout, layout.expect("r0"), (MEM_BASE + 2) as u128);
    let mem = FlatMemory { base: MEM_BASE, data: vec![0; MEM_LEN] };
    let want = run_interp(&region, &st, &mem);
    assert_eq!(want.exit, Exit::Trap { kind: TrapKind::Unaligned, pc: 0x104 });
    let (got, _, code) = run_jit(&compiler, compiled.entry, &region, &st, &mem);
    assert_eq!(JitExit::decode(code), Some(JitExit::Trap { kind: TrapKind::Unaligned }));
    assert_eq!(got.get(&layout, layout.pc), 0x104);
}

#[test]
fn host_pc_maps_back_to_the_guest_instruction() {
    let layout = multi_layout();
    let text = "region @0x100 state=multi insns=2 {
block0:
  insn 0x100
  v0:i64 = get_slot r0
  v1:i64 = get_slot r1
  v2:i64 = add v0, v1
  set_slot r2, v2
  insn 0x104
  v3:i64 = load.u64.le v2
  set_slot r3, v3
  exit_jump 0x200
}
";
    let region = parse_region(text, &layout).unwrap();
    let mut compiler = compiler();
    let slot = 0u64;
    let c = compiler.compile(&region, &[ChainSlotRef { id: 1, addr: &slot }]).unwrap();
    let pcs: Vec<u64> = c.srclocs.iter().map(|s| s.2).collect();
    assert!(pcs.contains(&0x100) && pcs.contains(&0x104), "srclocs {:?}", c.srclocs);
    for &(start, end, pc) in &c.srclocs {
        assert_eq!(c.guest_pc_at(c.entry as usize + start as usize), Some(pc));
        assert_eq!(c.guest_pc_at(c.entry as usize + end as usize - 1), Some(pc));
    }
    assert_eq!(c.guest_pc_at(c.entry as usize + c.code_size + 1), None);
}

#[test]
fn helpers_that_write_state_are_seen_by_later_reads() {
    unsafe extern "C" fn bump_r0(state: *mut u8, by: u64, _b: u64, _c: u64, _d: u64) -> u64 {
        // SAFETY: the multi layout's slot at offset 8 is r0 (i64); state is valid.
        unsafe {
            let p = state.add(8) as *mut u64;
            p.write(p.read().wrapping_add(by));
        }
        0
    }
    let h = helpers::register(HelperInfo {
        name: "test_bump_r0".into(),
        func: bump_r0,
        params: vec![Type::I64],
        ret: None,
        effects: HelperEffects::WritesState,
    })
    .unwrap();
    let layout = multi_layout();
    assert_eq!(layout.slot(layout.expect("r0")).offset, 8);
    let mut r = Region::new(layout.clone(), 0x100);
    let mut b = Builder::new(&mut r);
    b.insn(0x100);
    let r0 = layout.expect("r0");
    let before = b.get_slot(r0);
    let three = b.i64(3);
    b.call(h, &[three]);
    let after = b.get_slot(r0);
    let sum = b.add(before, after);
    b.set_slot(layout.expect("r1"), sum);
    b.exit_jump(0x104);
    let mut optimized = r.clone();
    passes::optimize(&mut optimized);
    let mut compiler = compiler();
    let slot = 0u64;
    for region in [&r, &optimized] {
        let c = compiler.compile(region, &[ChainSlotRef { id: 0, addr: &slot }]).unwrap();
        let mut st = StateBuf::new(&layout);
        st.set(&layout, r0, 10);
        let mem = FlatMemory { base: MEM_BASE, data: vec![0; MEM_LEN] };
        let want = run_interp(region, &st, &mem);
        assert_eq!(want.state.get(&layout, layout.expect("r1")), 10 + 13);
        let (got, _, _) = run_jit(&compiler, c.entry, region, &st, &mem);
        assert_eq!(got.bytes(), want.state.bytes());
    }
}
