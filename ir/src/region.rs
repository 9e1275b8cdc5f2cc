//! Regions, blocks, instructions and values: the in-memory form of the IR.

use crate::layout::{SlotId, StateLayout};
use crate::ops::*;
use crate::{HelperId, Type};
use smallvec::SmallVec;
use std::sync::Arc;

/// An SSA value.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Value(pub u32);
/// A block of a region.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct BlockId(pub u32);
/// An instruction of a region (index into the region's instruction arena).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct InstId(pub u32);

/// Immediate payload of an instruction; which variant an op carries is fixed by its shape.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Imm {
    None,
    /// A guest pc (`insn`, `exit_syscall`).
    Pc(u64),
    /// An integer constant, already masked to the result width.
    Int(u128),
    /// Raw bits of a float or vector constant.
    Bits(u128),
    IntCC(IntCC),
    FloatCC(FloatCC),
    Round(RoundMode),
    Lanes(VecShape),
    Lane(VecShape, u8),
    Slot(SlotId),
    Mem(MemAttr),
    Rmw(RmwOp, MemAttr),
    Fence(FenceKind),
    Helper(HelperId),
    Jump(BlockId),
    /// Branch targets; the first `then_args` operands after the condition go to `then_block`.
    Brif {
        then_block: BlockId,
        else_block: BlockId,
        then_args: u16,
    },
    /// A direct exit; `ret` is the return address for call hints.
    Exit {
        pc: u64,
        hint: ExitHint,
        ret: u64,
    },
    Hint(ExitHint),
    Trap(TrapKind, u64),
}

/// One instruction.
#[derive(Clone, Debug, PartialEq)]
pub struct Inst {
    pub op: Opcode,
    pub args: SmallVec<[Value; 3]>,
    pub imm: Imm,
    pub result: Option<Value>,
}

/// A block: parameters, then instructions, the last of which is a terminator.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Block {
    pub params: Vec<Value>,
    pub insts: Vec<InstId>,
}

/// Where a value comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ValueDef {
    Inst(InstId),
    Param(BlockId, u32),
}

/// A translation unit: entered at one guest pc, one or more blocks, explicit exits.
#[derive(Clone, Debug)]
pub struct Region {
    pub entry_pc: u64,
    pub layout: Arc<StateLayout>,
    pub blocks: Vec<Block>,
    pub insts: Vec<Inst>,
    pub value_types: Vec<Type>,
    pub value_defs: Vec<ValueDef>,
    /// Number of guest instructions this region covers.
    pub guest_insns: u32,
}

impl Region {
    pub fn new(layout: Arc<StateLayout>, entry_pc: u64) -> Region {
        Region {
            entry_pc,
            layout,
            blocks: vec![Block::default()],
            insts: Vec::new(),
            value_types: Vec::new(),
            value_defs: Vec::new(),
            guest_insns: 0,
        }
    }
    pub fn ty(&self, v: Value) -> Type {
        self.value_types[v.0 as usize]
    }
    pub fn inst(&self, i: InstId) -> &Inst {
        &self.insts[i.0 as usize]
    }
    pub fn block(&self, b: BlockId) -> &Block {
        &self.blocks[b.0 as usize]
    }
    pub fn block_ids(&self) -> impl Iterator<Item = BlockId> {
        (0..self.blocks.len() as u32).map(BlockId)
    }
    /// The guest pcs of the `insn` markers, in block order, each once (a superblock
    /// may reach an instruction on two paths; a loop may mark its entry again).
    pub fn insn_pcs(&self) -> Vec<u64> {
        let mut seen = std::collections::HashSet::new();
        self.blocks
            .iter()
            .flat_map(|b| &b.insts)
            .filter_map(|&i| match (self.inst(i).op, self.inst(i).imm) {
                (crate::Opcode::Insn, Imm::Pc(pc)) => Some(pc),
                _ => None,
            })
            .filter(|pc| seen.insert(*pc))
            .collect()
    }
    /// Number of instructions placed in blocks (the arena may hold removed ones).
    pub fn op_count(&self) -> usize {
        self.blocks.iter().map(|b| b.insts.len()).sum()
    }
    pub(crate) fn new_value(&mut self, ty: Type, def: ValueDef) -> Value {
        let v = Value(self.value_types.len() as u32);
        self.value_types.push(ty);
        self.value_defs.push(def);
        v
    }
    /// Block targets of a terminator, with the operand range passed to each.
    pub fn successors(&self, inst: &Inst) -> SmallVec<[(BlockId, std::ops::Range<usize>); 2]> {
        let mut out = SmallVec::new();
        match inst.imm {
            Imm::Jump(b) => out.push((b, 0..inst.args.len())),
            Imm::Brif { then_block, else_block, then_args } => {
                let t = then_args as usize;
                out.push((then_block, 1..1 + t));
                out.push((else_block, 1 + t..inst.args.len()));
            }
            _ => {}
        }
        out
    }
}
