//! A builder for regions: frontends and tests emit IR through it.
//!
//! Every op of the table has a typed method; the builder infers result types from the
//! op's shape where the shape fixes them and asks for them where it does not.

use crate::layout::SlotId;
use crate::ops::*;
use crate::region::*;
use crate::{HelperId, Type};
use smallvec::SmallVec;

pub struct Builder<'r> {
    pub region: &'r mut Region,
    cur: BlockId,
}

impl<'r> Builder<'r> {
    pub fn new(region: &'r mut Region) -> Builder<'r> {
        Builder { region, cur: BlockId(0) }
    }
    pub fn current_block(&self) -> BlockId {
        self.cur
    }
    pub fn create_block(&mut self) -> BlockId {
        self.region.blocks.push(Block::default());
        BlockId(self.region.blocks.len() as u32 - 1)
    }
    pub fn append_param(&mut self, b: BlockId, ty: Type) -> Value {
        let idx = self.region.block(b).params.len() as u32;
        let v = self.region.new_value(ty, ValueDef::Param(b, idx));
        self.region.blocks[b.0 as usize].params.push(v);
        v
    }
    pub fn switch_to(&mut self, b: BlockId) {
        self.cur = b;
    }
    /// Whether the current block already ends in a terminator.
    pub fn is_terminated(&self) -> bool {
        self.region.block(self.cur).insts.last().is_some_and(|&i| self.region.inst(i).op.shape().is_terminator())
    }

    /// Append a raw instruction; `ty` is the result type (None for no result).
    pub fn push(&mut self, op: Opcode, args: &[Value], imm: Imm, ty: Option<Type>) -> Option<Value> {
        let id = InstId(self.region.insts.len() as u32);
        let result = ty.map(|t| self.region.new_value(t, ValueDef::Inst(id)));
        self.region.insts.push(Inst { op, args: SmallVec::from_slice(args), imm, result });
        self.region.blocks[self.cur.0 as usize].insts.push(id);
        result
    }
    fn val(&mut self, op: Opcode, args: &[Value], imm: Imm, ty: Type) -> Value {
        self.push(op, args, imm, Some(ty)).expect("result")
    }
    fn same(&mut self, op: Opcode, args: &[Value]) -> Value {
        let ty = self.region.ty(args[0]);
        self.val(op, args, Imm::None, ty)
    }

    /// Start guest instruction `pc`.
    pub fn insn(&mut self, pc: u64) {
        self.region.guest_insns += 1;
        self.push(Opcode::Insn, &[], Imm::Pc(pc), None);
    }
    pub fn iconst(&mut self, ty: Type, v: u128) -> Value {
        self.val(Opcode::Iconst, &[], Imm::Int(v & ty.mask()), ty)
    }
    pub fn i64(&mut self, v: u64) -> Value {
        self.iconst(Type::I64, v as u128)
    }
    pub fn i32(&mut self, v: u32) -> Value {
        self.iconst(Type::I32, v as u128)
    }
    pub fn bool(&mut self, v: bool) -> Value {
        self.iconst(Type::I1, v as u128)
    }
    pub fn f64(&mut self, v: f64) -> Value {
        self.val(Opcode::Fconst, &[], Imm::Bits(v.to_bits() as u128), Type::F64)
    }
    pub fn f32(&mut self, v: f32) -> Value {
        self.val(Opcode::Fconst, &[], Imm::Bits(v.to_bits() as u128), Type::F32)
    }
    pub fn vconst(&mut self, bits: u128) -> Value {
        self.val(Opcode::Vconst, &[], Imm::Bits(bits), Type::V128)
    }
    /// Any op whose result has the type of its first operand (binary/unary int and float ops).
    pub fn op(&mut self, op: Opcode, args: &[Value]) -> Value {
        self.same(op, args)
    }
    pub fn add(&mut self, x: Value, y: Value) -> Value {
        self.same(Opcode::Add, &[x, y])
    }
    pub fn sub(&mut self, x: Value, y: Value) -> Value {
        self.same(Opcode::Sub, &[x, y])
    }
    pub fn and(&mut self, x: Value, y: Value) -> Value {
        self.same(Opcode::And, &[x, y])
    }
    pub fn or(&mut self, x: Value, y: Value) -> Value {
        self.same(Opcode::Or, &[x, y])
    }
    pub fn xor(&mut self, x: Value, y: Value) -> Value {
        self.same(Opcode::Xor, &[x, y])
    }
    pub fn shl(&mut self, x: Value, y: Value) -> Value {
        self.same(Opcode::Shl, &[x, y])
    }
    pub fn lshr(&mut self, x: Value, y: Value) -> Value {
        self.same(Opcode::Lshr, &[x, y])
    }
    pub fn ashr(&mut self, x: Value, y: Value) -> Value {
        self.same(Opcode::Ashr, &[x, y])
    }
    pub fn icmp(&mut self, cc: IntCC, x: Value, y: Value) -> Value {
        self.val(Opcode::Icmp, &[x, y], Imm::IntCC(cc), Type::I1)
    }
    pub fn fcmp(&mut self, cc: FloatCC, x: Value, y: Value) -> Value {
        self.val(Opcode::Fcmp, &[x, y], Imm::FloatCC(cc), Type::I1)
    }
    pub fn fround(&mut self, mode: RoundMode, x: Value) -> Value {
        let ty = self.region.ty(x);
        self.val(Opcode::Fround, &[x], Imm::Round(mode), ty)
    }
    /// A flag op (`add_carry`, `sub_overflow`, `adc_carry`, ...) giving i1.
    pub fn flag(&mut self, op: Opcode, args: &[Value]) -> Value {
        self.val(op, args, Imm::None, Type::I1)
    }
    pub fn select(&mut self, c: Value, a: Value, b: Value) -> Value {
        let ty = self.region.ty(a);
        self.val(Opcode::Select, &[c, a, b], Imm::None, ty)
    }
    /// zext, sext, trunc, bitcast and the float conversions: explicit result type.
    pub fn convert(&mut self, op: Opcode, x: Value, to: Type) -> Value {
        self.val(op, &[x], Imm::None, to)
    }
    pub fn zext(&mut self, x: Value, to: Type) -> Value {
        self.convert(Opcode::Zext, x, to)
    }
    pub fn sext(&mut self, x: Value, to: Type) -> Value {
        self.convert(Opcode::Sext, x, to)
    }
    pub fn trunc(&mut self, x: Value, to: Type) -> Value {
        self.convert(Opcode::Trunc, x, to)
    }
    pub fn vlanes(&mut self, op: Opcode, shape: VecShape, args: &[Value]) -> Value {
        self.val(op, args, Imm::Lanes(shape), Type::V128)
    }
    /// `vshl`/`vushr`/`vsshr` of every lane by an i32 amount.
    pub fn vshift(&mut self, op: Opcode, shape: VecShape, v: Value, amount: Value) -> Value {
        debug_assert_eq!(op.shape(), Shape::VecShift);
        self.val(op, &[v, amount], Imm::Lanes(shape), Type::V128)
    }
    /// `vuwiden_lo`..`vswiden_hi` of lanes of `shape` (the narrow one).
    pub fn vwiden(&mut self, op: Opcode, shape: VecShape, v: Value) -> Value {
        debug_assert_eq!(op.shape(), Shape::VecWiden);
        self.val(op, &[v], Imm::Lanes(shape), Type::V128)
    }
    /// `vshuffle`: byte j of the result is byte `mask[j]` (below 32) of x then y.
    pub fn vshuffle(&mut self, x: Value, y: Value, mask: [u8; 16]) -> Value {
        debug_assert!(mask.iter().all(|&b| b < 32));
        self.val(Opcode::Vshuffle, &[x, y], Imm::Bits(u128::from_le_bytes(mask)), Type::V128)
    }
    /// `vtbl2` and `vbitsel`: three vector operands.
    pub fn vternary(&mut self, op: Opcode, x: Value, y: Value, z: Value) -> Value {
        debug_assert_eq!(op.shape(), Shape::VecTernary);
        self.val(op, &[x, y, z], Imm::None, Type::V128)
    }
    pub fn vsplat(&mut self, shape: VecShape, x: Value) -> Value {
        self.val(Opcode::Vsplat, &[x], Imm::Lanes(shape), Type::V128)
    }
    pub fn vextract(&mut self, shape: VecShape, v: Value, lane: u8) -> Value {
        self.val(Opcode::Vextract, &[v], Imm::Lane(shape, lane), shape.lane_type())
    }
    pub fn vinsert(&mut self, shape: VecShape, v: Value, x: Value, lane: u8) -> Value {
        self.val(Opcode::Vinsert, &[v, x], Imm::Lane(shape, lane), Type::V128)
    }
    pub fn get_slot(&mut self, slot: SlotId) -> Value {
        let ty = self.region.layout.slot(slot).ty;
        self.val(Opcode::GetSlot, &[], Imm::Slot(slot), ty)
    }
    pub fn set_slot(&mut self, slot: SlotId, v: Value) {
        self.push(Opcode::SetSlot, &[v], Imm::Slot(slot), None);
    }
    pub fn get_elem(&mut self, slot: SlotId, index: Value) -> Value {
        let ty = self.region.layout.slot(slot).ty;
        self.val(Opcode::GetElem, &[index], Imm::Slot(slot), ty)
    }
    pub fn set_elem(&mut self, slot: SlotId, index: Value, v: Value) {
        self.push(Opcode::SetElem, &[index, v], Imm::Slot(slot), None);
    }
    pub fn load(&mut self, ty: Type, mem: MemAttr, addr: Value) -> Value {
        self.val(Opcode::Load, &[addr], Imm::Mem(mem), ty)
    }
    pub fn store(&mut self, mem: MemAttr, addr: Value, v: Value) {
        self.push(Opcode::Store, &[addr, v], Imm::Mem(mem), None);
    }
    pub fn atomic_rmw(&mut self, op: RmwOp, mem: MemAttr, addr: Value, v: Value) -> Value {
        let ty = self.region.ty(v);
        self.val(Opcode::AtomicRmw, &[addr, v], Imm::Rmw(op, mem), ty)
    }
    pub fn cas(&mut self, mem: MemAttr, addr: Value, expected: Value, new: Value) -> Value {
        let ty = self.region.ty(new);
        self.val(Opcode::Cas, &[addr, expected, new], Imm::Mem(mem), ty)
    }
    pub fn fence(&mut self, kind: FenceKind) {
        self.push(Opcode::Fence, &[], Imm::Fence(kind), None);
    }
    pub fn call(&mut self, helper: HelperId, args: &[Value]) -> Option<Value> {
        let ret = crate::helpers::info(helper).ret;
        self.push(Opcode::Call, args, Imm::Helper(helper), ret)
    }
    pub fn jump(&mut self, b: BlockId, args: &[Value]) {
        self.push(Opcode::Jump, args, Imm::Jump(b), None);
    }
    pub fn brif(&mut self, c: Value, t: BlockId, targs: &[Value], e: BlockId, eargs: &[Value]) {
        let mut args = vec![c];
        args.extend_from_slice(targs);
        args.extend_from_slice(eargs);
        let imm = Imm::Brif { then_block: t, else_block: e, then_args: targs.len() as u16 };
        self.push(Opcode::Brif, &args, imm, None);
    }
    pub fn exit_jump(&mut self, pc: u64) {
        self.push(Opcode::ExitJump, &[], Imm::Exit { pc, hint: ExitHint::None, ret: 0 }, None);
    }
    /// A direct call: jump to `pc`, predicting a later return to `ret`.
    pub fn exit_call(&mut self, pc: u64, ret: u64) {
        self.push(Opcode::ExitJump, &[], Imm::Exit { pc, hint: ExitHint::Call, ret }, None);
    }
    pub fn exit_indirect(&mut self, target: Value, hint: ExitHint) {
        self.push(Opcode::ExitIndirect, &[target], Imm::Hint(hint), None);
    }
    pub fn exit_syscall(&mut self, next_pc: u64) {
        self.push(Opcode::ExitSyscall, &[], Imm::Pc(next_pc), None);
    }
    pub fn exit_trap(&mut self, kind: TrapKind, pc: u64) {
        self.push(Opcode::ExitTrap, &[], Imm::Trap(kind, pc), None);
    }
}
