//! Optimisation passes: plain functions from region to region.
//!
//! - [`const_fold`]: evaluates ops on constants with the interpreter's own
//!   [`eval_pure`](crate::interp::eval_pure), applies algebraic identities and turns
//!   constant branches into jumps.
//! - [`forward_state`]: within a block, a slot read after a write or read of the same
//!   slot reuses the known value.
//! - [`dead_state`]: within a block, a slot write overwritten later with no read, fault
//!   point or helper in between is removed (this is dead flag elimination: flags are
//!   slots). Every op that can fault counts as reading all state, so faults stay precise.
//! - [`dce`]: removes instructions whose results are unused and that have no effect.
//!
//! [`optimize`] runs them in order and, in debug builds, the verifier last.
//!
//! [`count_insns`] is instrumentation, not an optimisation: it makes a region keep the
//! layout's `icount` slot up to date (for `mimic bench run` and `--stats`).

use crate::helpers::{self, HelperEffects};
use crate::layout::SlotId;
use crate::ops::*;
use crate::region::*;
use crate::Type;
use smallvec::SmallVec;
use std::collections::{HashMap, HashSet};

/// Replace uses of values according to `alias` (resolving chains).
fn apply_aliases(r: &mut Region, alias: &HashMap<Value, Value>) {
    if alias.is_empty() {
        return;
    }
    let resolve = |mut v: Value| {
        while let Some(&n) = alias.get(&v) {
            v = n;
        }
        v
    };
    for b in &r.blocks {
        for &i in &b.insts {
            for a in r.insts[i.0 as usize].args.iter_mut() {
                *a = resolve(*a);
            }
        }
    }
}

/// Whether an op can be removed when its result is unused.
fn removable(inst: &Inst) -> bool {
    match inst.op.shape() {
        Shape::Load | Shape::Store | Shape::AtomicRmw | Shape::Cas | Shape::Fence => false,
        Shape::SetSlot | Shape::SetElem | Shape::Marker => false,
        Shape::CallHelper => match inst.imm {
            Imm::Helper(h) => helpers::info(h).effects != HelperEffects::WritesState && inst.result.is_some(),
            _ => false,
        },
        s if s.is_terminator() => false,
        _ => true,
    }
}

fn const_inst(ty: Type, v: u128) -> (Opcode, Imm) {
    match ty {
        Type::F32 | Type::F64 => (Opcode::Fconst, Imm::Bits(v)),
        Type::V128 => (Opcode::Vconst, Imm::Bits(v)),
        _ => (Opcode::Iconst, Imm::Int(v & ty.mask())),
    }
}

/// Constant folding and algebraic simplification.
/// Float ops whose result depends on the rounding mode in force when they run (the
/// guest's, mirrored into the host's): folding them at translation time would fix
/// the mode that happened to be current then.
fn rounds_dynamically(op: Opcode) -> bool {
    matches!(
        op,
        Opcode::Fadd
            | Opcode::Fsub
            | Opcode::Fmul
            | Opcode::Fdiv
            | Opcode::Fsqrt
            | Opcode::Fma
            | Opcode::Fdemote
            | Opcode::FcvtFromSint
            | Opcode::FcvtFromUint
    )
}

pub fn const_fold(r: &mut Region) {
    let mut known: HashMap<Value, u128> = HashMap::new();
    let mut alias: HashMap<Value, Value> = HashMap::new();
    let resolve = |alias: &HashMap<Value, Value>, mut v: Value| {
        while let Some(&n) = alias.get(&v) {
            v = n;
        }
        v
    };
    for bi in 0..r.blocks.len() {
        for k in 0..r.blocks[bi].insts.len() {
            let id = r.blocks[bi].insts[k];
            let args: SmallVec<[Value; 3]> = r.insts[id.0 as usize].args.iter().map(|&a| resolve(&alias, a)).collect();
            r.insts[id.0 as usize].args = args.clone();
            let inst = r.insts[id.0 as usize].clone();
            let consts: Option<Vec<u128>> = args.iter().map(|a| known.get(a).copied()).collect();
            let tys: Vec<Type> = args.iter().map(|&a| r.ty(a)).collect();
            let rty = inst.result.map(|v| r.ty(v));
            if let (Some(res), Some(t)) = (inst.result, rty) {
                if let Some(cs) = consts.as_ref().filter(|_| !rounds_dynamically(inst.op)) {
                    if let Some(v) = crate::interp::eval_pure(inst.op, inst.imm, rty, &tys, cs) {
                        let (op, imm) = const_inst(t, v);
                        let ni = &mut r.insts[id.0 as usize];
                        ni.op = op;
                        ni.imm = imm;
                        ni.args.clear();
                        known.insert(res, v);
                        continue;
                    }
                }
                // Algebraic identities with one constant operand.
                let c = |i: usize| args.get(i).and_then(|a| known.get(a)).copied();
                let ident = match inst.op {
                    Opcode::Add
                    | Opcode::Sub
                    | Opcode::Or
                    | Opcode::Xor
                    | Opcode::Shl
                    | Opcode::Lshr
                    | Opcode::Ashr
                    | Opcode::Rotl
                    | Opcode::Rotr
                        if c(1) == Some(0) =>
                    {
                        Some(args[0])
                    }
                    Opcode::Add | Opcode::Or | Opcode::Xor if c(0) == Some(0) => Some(args[1]),
                    Opcode::Mul if c(1) == Some(1) => Some(args[0]),
                    Opcode::And if c(1) == Some(t.mask()) => Some(args[0]),
                    Opcode::And | Opcode::Or if args[0] == args[1] => Some(args[0]),
                    Opcode::Select if c(0).is_some() => Some(if c(0) == Some(1) { args[1] } else { args[2] }),
                    Opcode::Select if args[1] == args[2] => Some(args[1]),
                    _ => None,
                };
                if let Some(v) = ident {
                    alias.insert(res, v);
                    continue;
                }
                // x + y + 0: a plain add (the carry-in form's lowering is longer).
                if inst.op == Opcode::Adc && c(2) == Some(0) {
                    let ni = &mut r.insts[id.0 as usize];
                    ni.op = Opcode::Add;
                    ni.args.truncate(2);
                    continue;
                }
                let zero = match inst.op {
                    Opcode::And | Opcode::Mul if c(1) == Some(0) || c(0) == Some(0) => true,
                    Opcode::Xor | Opcode::Sub if args[0] == args[1] && t.is_int() => true,
                    _ => false,
                };
                if zero {
                    let ni = &mut r.insts[id.0 as usize];
                    ni.op = Opcode::Iconst;
                    ni.imm = Imm::Int(0);
                    ni.args.clear();
                    known.insert(res, 0);
                    continue;
                }
                if let (Opcode::Iconst | Opcode::Fconst | Opcode::Vconst, Imm::Int(v) | Imm::Bits(v)) =
                    (inst.op, inst.imm)
                {
                    known.insert(res, v);
                }
            }
            if inst.op == Opcode::Brif {
                if let (Some(&cv), Imm::Brif { then_block, else_block, then_args }) = (known.get(&args[0]), inst.imm) {
                    let t = then_args as usize;
                    let (target, range) =
                        if cv & 1 != 0 { (then_block, 1..1 + t) } else { (else_block, 1 + t..args.len()) };
                    let ni = &mut r.insts[id.0 as usize];
                    ni.op = Opcode::Jump;
                    ni.imm = Imm::Jump(target);
                    ni.args = args[range].iter().copied().collect();
                }
            }
        }
    }
    apply_aliases(r, &alias);
}

/// Whether an op lets the outside world observe the whole state (a fault, a helper
/// that reads state) before later writes.
fn observes_state(inst: &Inst) -> bool {
    match inst.op.shape() {
        Shape::Load | Shape::Store | Shape::AtomicRmw | Shape::Cas => true,
        Shape::CallHelper => match inst.imm {
            Imm::Helper(h) => helpers::info(h).effects != HelperEffects::Pure,
            _ => true,
        },
        s => s.is_terminator(),
    }
}

fn clobbers_state(inst: &Inst) -> bool {
    match (inst.op, inst.imm) {
        (Opcode::Call, Imm::Helper(h)) => helpers::info(h).effects == HelperEffects::WritesState,
        (Opcode::Call, _) => true,
        _ => false,
    }
}

/// Forward slot values within each block.
pub fn forward_state(r: &mut Region) {
    let mut alias: HashMap<Value, Value> = HashMap::new();
    for bi in 0..r.blocks.len() {
        let mut slots: HashMap<SlotId, Value> = HashMap::new();
        let mut elems: HashMap<(SlotId, Value), Value> = HashMap::new();
        let mut keep = Vec::with_capacity(r.blocks[bi].insts.len());
        for k in 0..r.blocks[bi].insts.len() {
            let id = r.blocks[bi].insts[k];
            // Uses of values aliased so far (earlier blocks; the maps below need them).
            if !alias.is_empty() {
                for a in r.insts[id.0 as usize].args.iter_mut() {
                    while let Some(&n) = alias.get(a) {
                        *a = n;
                    }
                }
            }
            let inst = &r.insts[id.0 as usize];
            let mut drop = false;
            match (inst.op, inst.imm) {
                (Opcode::GetSlot, Imm::Slot(s)) => {
                    let res = inst.result.expect("get_slot result");
                    if let Some(&v) = slots.get(&s) {
                        alias.insert(res, v);
                        drop = true;
                    } else {
                        slots.insert(s, res);
                    }
                }
                (Opcode::SetSlot, Imm::Slot(s)) => {
                    slots.insert(s, inst.args[0]);
                }
                (Opcode::GetElem, Imm::Slot(s)) => {
                    let res = inst.result.expect("get_elem result");
                    if let Some(&v) = elems.get(&(s, inst.args[0])) {
                        alias.insert(res, v);
                        drop = true;
                    } else {
                        elems.insert((s, inst.args[0]), res);
                    }
                }
                (Opcode::SetElem, Imm::Slot(s)) => {
                    elems.retain(|(es, _), _| *es != s);
                    elems.insert((s, inst.args[0]), inst.args[1]);
                }
                _ if clobbers_state(inst) => {
                    slots.clear();
                    elems.clear();
                }
                _ => {}
            }
            if !drop {
                keep.push(id);
            }
        }
        r.blocks[bi].insts = keep;
    }
    // Uses laid out before their definitions' blocks.
    apply_aliases(r, &alias);
}

/// Remove slot writes that are overwritten in the same block before anything can
/// observe them.
pub fn dead_state(r: &mut Region) {
    for bi in 0..r.blocks.len() {
        let mut overwritten: HashSet<SlotId> = HashSet::new();
        let mut remove: HashSet<InstId> = HashSet::new();
        for &id in r.blocks[bi].insts.iter().rev() {
            let inst = &r.insts[id.0 as usize];
            match (inst.op, inst.imm) {
                (Opcode::SetSlot, Imm::Slot(s)) if !overwritten.insert(s) => {
                    remove.insert(id);
                }
                (Opcode::SetSlot, _) => {}
                (Opcode::GetSlot, Imm::Slot(s)) => {
                    overwritten.remove(&s);
                }
                _ if observes_state(inst) => overwritten.clear(),
                _ => {}
            }
        }
        if !remove.is_empty() {
            r.blocks[bi].insts.retain(|i| !remove.contains(i));
        }
    }
}

/// Remove unused results of effect-free instructions, to a fixed point.
pub fn dce(r: &mut Region) {
    loop {
        let mut used = vec![false; r.value_types.len()];
        for b in &r.blocks {
            for &i in &b.insts {
                for a in &r.inst(i).args {
                    used[a.0 as usize] = true;
                }
            }
        }
        let mut changed = false;
        for bi in 0..r.blocks.len() {
            let before = r.blocks[bi].insts.len();
            let insts = std::mem::take(&mut r.blocks[bi].insts);
            let kept: Vec<InstId> = insts
                .into_iter()
                .filter(|&i| {
                    let inst = r.inst(i);
                    !(inst.result.is_some_and(|v| !used[v.0 as usize]) && removable(inst))
                })
                .collect();
            changed |= kept.len() != before;
            r.blocks[bi].insts = kept;
        }
        if !changed {
            break;
        }
    }
}

/// Instrument a region to count the guest instructions it executes in the layout's
/// `icount` slot. Each block that starts guest instructions (`insn` markers) adds
/// their number after its first marker; a block runs to its terminator unless an instruction faults,
/// so the count is exact for every completed instruction and counts a faulting
/// instruction's later block-mates too. Run it before the other passes (they keep the
/// slot write: it is live at every exit).
pub fn count_insns(r: &mut Region) {
    let slot = r.layout.icount;
    for bi in 0..r.blocks.len() {
        let n = r.blocks[bi].insts.iter().filter(|&&i| r.inst(i).op == Opcode::Insn).count();
        if n == 0 {
            continue;
        }
        let push = |r: &mut Region, op: Opcode, args: &[Value], imm: Imm, ty: Option<Type>| {
            let id = InstId(r.insts.len() as u32);
            let result = ty.map(|t| r.new_value(t, ValueDef::Inst(id)));
            r.insts.push(Inst { op, args: SmallVec::from_slice(args), imm, result });
            (id, result)
        };
        let (a, old) = push(r, Opcode::GetSlot, &[], Imm::Slot(slot), Some(Type::I64));
        let (b, k) = push(r, Opcode::Iconst, &[], Imm::Int(n as u128), Some(Type::I64));
        let (c, new) = push(r, Opcode::Add, &[old.unwrap(), k.unwrap()], Imm::None, Some(Type::I64));
        let (d, _) = push(r, Opcode::SetSlot, &[new.unwrap()], Imm::Slot(slot), None);
        // After the block's first marker: a loop header must start with its `insn`.
        let at = r.blocks[bi].insts.iter().position(|&i| r.inst(i).op == Opcode::Insn).unwrap() + 1;
        r.blocks[bi].insts.splice(at..at, [a, b, c, d]);
    }
}

/// The standard pipeline; the verifier runs last in debug builds.
pub fn optimize(r: &mut Region) {
    const_fold(r);
    forward_state(r);
    const_fold(r);
    dead_state(r);
    dce(r);
    if cfg!(debug_assertions) {
        if let Err(e) = crate::verify::verify(r) {
            panic!("IR verifier failed after passes: {e}\n{}", crate::print::print(r));
        }
    }
}
