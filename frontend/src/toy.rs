//! The toy ISA: a minimal test ISA for the engine's own tests and benchmarks.
//!
//! Eight 64-bit registers `r0..r7`, 4-byte little-endian instructions `op a b c`:
//!
//! | op | form | meaning |
//! |----|------|---------|
//! | 01 | `li rd, imm16` | rd = zero-extended imm16 (b low, c high) |
//! | 02 | `add rd, rs, rt` | rd = rs + rt |
//! | 03 | `addi rd, rs, simm8` | rd = rs + sign-extended c |
//! | 04 | `bnz rs, soff16` | if rs != 0: pc += soff16 * 4 (b low, c high) |
//! | 05 | `jr rs` | pc = rs (indirect) |
//! | 06 | `ld rd, rs` | rd = zero-extended mem32[rs] |
//! | 07 | `st rt, rs` | mem32[rs] = low 32 bits of rt |
//! | 08 | `sys` | system call, resume at the next instruction |
//! | 09 | `j soff16` | pc += soff16 * 4 (a low, b high) |
//! | 0a | `call rd, soff16` | rd = pc + 4; pc += soff16 * 4 |
//! | 0b | `ret rs` | pc = rs (indirect, return hint) |
//!
//! Anything else is illegal (SIGILL). A region is a basic block of at most 32
//! instructions; a `bnz` back to the region's own entry becomes an in-region loop.

use crate::{Fetch, Frontend, Lifted, TranslateError};
use mimic_ir::*;
use std::sync::Arc;
use std::time::Instant;

/// Decoded toy instruction.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Insn {
    Li { rd: u8, imm: u16 },
    Add { rd: u8, rs: u8, rt: u8 },
    Addi { rd: u8, rs: u8, imm: i8 },
    Bnz { rs: u8, off: i16 },
    Jr { rs: u8 },
    Ld { rd: u8, rs: u8 },
    St { rt: u8, rs: u8 },
    Sys,
    J { off: i16 },
    Call { rd: u8, off: i16 },
    Ret { rs: u8 },
    Illegal,
}

pub fn decode(w: [u8; 4]) -> Insn {
    let [op, a, b, c] = w;
    let r = |x: u8| x & 7;
    let ok = |x: u8| x < 8;
    match op {
        0x01 if ok(a) => Insn::Li { rd: a, imm: u16::from_le_bytes([b, c]) },
        0x02 if ok(a) && ok(b) && ok(c) => Insn::Add { rd: a, rs: b, rt: c },
        0x03 if ok(a) && ok(b) => Insn::Addi { rd: a, rs: b, imm: c as i8 },
        0x04 if ok(a) => Insn::Bnz { rs: a, off: i16::from_le_bytes([b, c]) },
        0x05 if ok(a) => Insn::Jr { rs: r(a) },
        0x06 if ok(a) && ok(b) => Insn::Ld { rd: a, rs: b },
        0x07 if ok(a) && ok(b) => Insn::St { rt: a, rs: b },
        0x08 => Insn::Sys,
        0x09 => Insn::J { off: i16::from_le_bytes([a, b]) },
        0x0a if ok(a) => Insn::Call { rd: a, off: i16::from_le_bytes([b, c]) },
        0x0b if ok(a) => Insn::Ret { rs: a },
        _ => Insn::Illegal,
    }
}

/// Encoders, for tests and examples.
pub mod asm {
    pub fn li(rd: u8, imm: u16) -> [u8; 4] {
        let [b, c] = imm.to_le_bytes();
        [1, rd, b, c]
    }
    pub fn add(rd: u8, rs: u8, rt: u8) -> [u8; 4] {
        [2, rd, rs, rt]
    }
    pub fn addi(rd: u8, rs: u8, imm: i8) -> [u8; 4] {
        [3, rd, rs, imm as u8]
    }
    pub fn bnz(rs: u8, off: i16) -> [u8; 4] {
        let [b, c] = off.to_le_bytes();
        [4, rs, b, c]
    }
    pub fn jr(rs: u8) -> [u8; 4] {
        [5, rs, 0, 0]
    }
    pub fn ld(rd: u8, rs: u8) -> [u8; 4] {
        [6, rd, rs, 0]
    }
    pub fn st(rt: u8, rs: u8) -> [u8; 4] {
        [7, rt, rs, 0]
    }
    pub fn sys() -> [u8; 4] {
        [8, 0, 0, 0]
    }
    pub fn j(off: i16) -> [u8; 4] {
        let [a, b] = off.to_le_bytes();
        [9, a, b, 0]
    }
    pub fn call(rd: u8, off: i16) -> [u8; 4] {
        let [b, c] = off.to_le_bytes();
        [0x0a, rd, b, c]
    }
    pub fn ret(rs: u8) -> [u8; 4] {
        [0x0b, rs, 0, 0]
    }
}

pub struct Toy {
    layout: Arc<StateLayout>,
    regs: [SlotId; 8],
}

impl Default for Toy {
    fn default() -> Self {
        Self::new()
    }
}

impl Toy {
    pub fn new() -> Toy {
        let mut b = LayoutBuilder::new("toy").slot("pc", Type::I64);
        for i in 0..8 {
            b = b.slot(&format!("r{i}"), Type::I64);
        }
        let layout = Arc::new(b.build("pc").expect("toy layout"));
        let regs = std::array::from_fn(|i| layout.expect(&format!("r{i}")));
        Toy { layout, regs }
    }
    pub fn reg(&self, i: usize) -> SlotId {
        self.regs[i]
    }
}

const MAX_INSNS: usize = 32;

impl Frontend for Toy {
    fn name(&self) -> &str {
        "toy"
    }
    fn layout(&self) -> Arc<StateLayout> {
        self.layout.clone()
    }
    fn translate(&mut self, entry: u64, fetch: &mut Fetch<'_>) -> Result<Lifted, TranslateError> {
        let t0 = Instant::now();
        let mut insns = Vec::new();
        let mut pc = entry;
        loop {
            let mut w = [0u8; 4];
            if fetch(pc, &mut w).is_err() {
                if insns.is_empty() {
                    return Err(TranslateError::Fetch { addr: pc });
                }
                break;
            }
            let i = decode(w);
            insns.push((pc, i));
            pc += 4;
            let ends = !matches!(
                i,
                Insn::Li { .. } | Insn::Add { .. } | Insn::Addi { .. } | Insn::Ld { .. } | Insn::St { .. }
            );
            if ends || insns.len() == MAX_INSNS {
                break;
            }
        }
        let decode_time = t0.elapsed();
        let t1 = Instant::now();
        let mut region = Region::new(self.layout.clone(), entry);
        let mut b = Builder::new(&mut region);
        let end = pc;
        let mem = MemAttr::new(4, Endian::Little);
        for &(pc, i) in &insns {
            b.insn(pc);
            let r = self.regs;
            match i {
                Insn::Li { rd, imm } => {
                    let v = b.i64(imm as u64);
                    b.set_slot(r[rd as usize], v);
                }
                Insn::Add { rd, rs, rt } => {
                    let x = b.get_slot(r[rs as usize]);
                    let y = b.get_slot(r[rt as usize]);
                    let v = b.add(x, y);
                    b.set_slot(r[rd as usize], v);
                }
                Insn::Addi { rd, rs, imm } => {
                    let x = b.get_slot(r[rs as usize]);
                    let y = b.i64(imm as i64 as u64);
                    let v = b.add(x, y);
                    b.set_slot(r[rd as usize], v);
                }
                Insn::Ld { rd, rs } => {
                    let a = b.get_slot(r[rs as usize]);
                    let v = b.load(Type::I64, mem, a);
                    b.set_slot(r[rd as usize], v);
                }
                Insn::St { rt, rs } => {
                    let a = b.get_slot(r[rs as usize]);
                    let v = b.get_slot(r[rt as usize]);
                    b.store(mem, a, v);
                }
                Insn::Bnz { rs, off } => {
                    let target = pc.wrapping_add((off as i64 * 4) as u64);
                    let x = b.get_slot(r[rs as usize]);
                    let zero = b.i64(0);
                    let c = b.icmp(IntCC::Ne, x, zero);
                    let not = b.create_block();
                    if target == entry {
                        // A loop back to the region's entry stays inside the region.
                        b.brif(c, BlockId(0), &[], not, &[]);
                    } else {
                        let taken = b.create_block();
                        b.brif(c, taken, &[], not, &[]);
                        b.switch_to(taken);
                        b.exit_jump(target);
                    }
                    b.switch_to(not);
                    b.exit_jump(pc + 4);
                }
                Insn::Jr { rs } | Insn::Ret { rs } => {
                    let x = b.get_slot(r[rs as usize]);
                    let hint = if matches!(i, Insn::Ret { .. }) { ExitHint::Ret } else { ExitHint::None };
                    b.exit_indirect(x, hint);
                }
                Insn::Sys => b.exit_syscall(pc + 4),
                Insn::J { off } => b.exit_jump(pc.wrapping_add((off as i64 * 4) as u64)),
                Insn::Call { rd, off } => {
                    let ret = b.i64(pc + 4);
                    b.set_slot(r[rd as usize], ret);
                    b.exit_call(pc.wrapping_add((off as i64 * 4) as u64), pc + 4);
                }
                Insn::Illegal => b.exit_trap(TrapKind::Illegal, pc),
            }
        }
        if !b.is_terminated() {
            b.exit_jump(end);
        }
        let lift_time = t1.elapsed();
        Ok(Lifted { region, guest_bytes: entry..end, decode_time, lift_time })
    }
}
