//! The verifier: checks a region against the op table's typing rules and the IR's
//! structural rules, reporting the first violation with its block, instruction and op.
//!
//! Rules:
//! - every block ends with exactly one terminator, and terminators appear nowhere else;
//! - the entry block (block0) has no parameters;
//! - operand counts and types, result types and immediates match the op's shape;
//! - slots and helpers exist and agree with the op (scalar vs array, types, arity);
//! - branch targets exist and receive arguments matching their parameters;
//! - a back edge (a branch to the same or an earlier block) targets a block without
//!   parameters that starts with `insn`, so execution can always leave a loop there;
//! - every use is dominated by its definition;
//! - a block reached from different guest instructions starts with `insn` (so a fault
//!   in it has one guest pc, statically known to compiled code).

use crate::ops::*;
use crate::region::*;
use crate::Type;
use std::fmt;

/// A verifier finding.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerifyError {
    pub block: u32,
    /// Position of the instruction in its block (None for block-level findings).
    pub pos: Option<usize>,
    pub op: Option<Opcode>,
    pub message: String,
}

impl fmt::Display for VerifyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "block{}", self.block)?;
        if let Some(p) = self.pos {
            write!(f, " inst {p}")?;
        }
        if let Some(op) = self.op {
            write!(f, " ({op})")?;
        }
        write!(f, ": {}", self.message)
    }
}
impl std::error::Error for VerifyError {}

struct Ctx<'a> {
    r: &'a Region,
    block: u32,
    pos: Option<usize>,
    op: Option<Opcode>,
}

impl Ctx<'_> {
    fn err(&self, message: impl Into<String>) -> VerifyError {
        VerifyError { block: self.block, pos: self.pos, op: self.op, message: message.into() }
    }
}

/// Immediate dominators by the simple iterative algorithm (regions are small).
fn dominators(r: &Region) -> Vec<Option<Vec<bool>>> {
    let n = r.blocks.len();
    let mut preds: Vec<Vec<usize>> = vec![Vec::new(); n];
    for (i, b) in r.blocks.iter().enumerate() {
        if let Some(&last) = b.insts.last() {
            for (t, _) in r.successors(r.inst(last)) {
                if (t.0 as usize) < n {
                    preds[t.0 as usize].push(i);
                }
            }
        }
    }
    // Reachability.
    let mut reach = vec![false; n];
    let mut stack = vec![0usize];
    while let Some(b) = stack.pop() {
        if std::mem::replace(&mut reach[b], true) {
            continue;
        }
        if let Some(&last) = r.blocks[b].insts.last() {
            for (t, _) in r.successors(r.inst(last)) {
                if (t.0 as usize) < n {
                    stack.push(t.0 as usize);
                }
            }
        }
    }
    let mut dom: Vec<Option<Vec<bool>>> = (0..n).map(|i| reach[i].then(|| vec![true; n])).collect();
    if n > 0 {
        dom[0] = Some((0..n).map(|j| j == 0).collect());
    }
    let mut changed = true;
    while changed {
        changed = false;
        for b in 1..n {
            if !reach[b] {
                continue;
            }
            let mut new = vec![true; n];
            for &p in &preds[b] {
                if let Some(pd) = &dom[p] {
                    for j in 0..n {
                        new[j] &= pd[j];
                    }
                }
            }
            new[b] = true;
            if dom[b].as_ref() != Some(&new) {
                dom[b] = Some(new);
                changed = true;
            }
        }
    }
    dom
}

/// Verify a region.
pub fn verify(r: &Region) -> Result<(), VerifyError> {
    let mut c = Ctx { r, block: 0, pos: None, op: None };
    if r.blocks.is_empty() {
        return Err(c.err("region has no blocks"));
    }
    if !r.blocks[0].params.is_empty() {
        return Err(c.err("the entry block cannot have parameters"));
    }
    let dom = dominators(r);
    let (_, conflict) = crate::interp::block_entry_pcs(r);
    for (bi, &c) in conflict.iter().enumerate() {
        if c && crate::interp::first_insn_pc(r, BlockId(bi as u32)).is_none() {
            let c = Ctx { r, block: bi as u32, pos: None, op: None };
            return Err(c.err("block is reached from different guest instructions and must start with `insn`"));
        }
    }
    // Position of each instruction's definition: (block, index).
    let mut def_pos = vec![None; r.value_types.len()];
    for (bi, b) in r.blocks.iter().enumerate() {
        for (pi, &p) in b.params.iter().enumerate() {
            if r.value_defs.get(p.0 as usize) != Some(&ValueDef::Param(BlockId(bi as u32), pi as u32)) {
                c.block = bi as u32;
                return Err(c.err(format!("parameter v{} is not recorded as defined here", p.0)));
            }
            def_pos[p.0 as usize] = Some((bi, 0usize));
        }
        for (ii, &id) in b.insts.iter().enumerate() {
            if let Some(res) = r.inst(id).result {
                def_pos[res.0 as usize] = Some((bi, ii + 1));
            }
        }
    }
    for (bi, b) in r.blocks.iter().enumerate() {
        c.block = bi as u32;
        c.pos = None;
        c.op = None;
        if b.insts.is_empty() {
            return Err(c.err("block is empty (it needs a terminator)"));
        }
        for (ii, &id) in b.insts.iter().enumerate() {
            let inst = r.inst(id);
            c.pos = Some(ii);
            c.op = Some(inst.op);
            let term = inst.op.shape().is_terminator();
            if term && ii + 1 != b.insts.len() {
                return Err(c.err("terminator in the middle of a block"));
            }
            if !term && ii + 1 == b.insts.len() {
                return Err(c.err("block does not end with a terminator"));
            }
            for (ai, &a) in inst.args.iter().enumerate() {
                let Some((db, di)) = def_pos.get(a.0 as usize).copied().flatten() else {
                    return Err(c.err(format!("operand {ai} (v{}) is never defined", a.0)));
                };
                let ok = if db == bi {
                    di <= ii
                } else {
                    match &dom[bi] {
                        Some(d) => d[db],
                        None => true, // unreachable block: nothing executes it
                    }
                };
                if !ok {
                    return Err(c.err(format!("operand {ai} (v{}) is not dominated by its definition", a.0)));
                }
            }
            check_inst(&c, inst)?;
            if term {
                for (t, range) in r.successors(inst) {
                    if t.0 as usize >= r.blocks.len() {
                        return Err(c.err(format!("branch to block{} which does not exist", t.0)));
                    }
                    let params = &r.block(t).params;
                    let args = &inst.args[range];
                    if params.len() != args.len() {
                        return Err(c.err(format!(
                            "block{} takes {} arguments, {} given",
                            t.0,
                            params.len(),
                            args.len()
                        )));
                    }
                    for (k, (p, a)) in params.iter().zip(args).enumerate() {
                        if r.ty(*p) != r.ty(*a) {
                            return Err(c.err(format!(
                                "argument {k} to block{} has type {}, the parameter is {}",
                                t.0,
                                r.ty(*a),
                                r.ty(*p)
                            )));
                        }
                    }
                    if t.0 as usize <= bi {
                        if !params.is_empty() {
                            return Err(c.err(format!(
                                "back edge to block{} which has parameters (loop headers take none)",
                                t.0
                            )));
                        }
                        if crate::interp::first_insn_pc(r, t).is_none() {
                            return Err(c.err(format!("back edge to block{} which does not start with `insn`", t.0)));
                        }
                    }
                }
            }
        }
    }
    Ok(())
}

fn want_args(c: &Ctx, inst: &Inst, n: usize) -> Result<(), VerifyError> {
    if inst.args.len() != n {
        return Err(c.err(format!("takes {n} operands, {} given", inst.args.len())));
    }
    Ok(())
}

fn want_result(c: &Ctx, inst: &Inst, yes: bool) -> Result<Option<Type>, VerifyError> {
    match (inst.result, yes) {
        (Some(r), true) => Ok(Some(c.r.ty(r))),
        (None, false) => Ok(None),
        (Some(_), false) => Err(c.err("has no result but one is defined")),
        (None, true) => Err(c.err("needs a result")),
    }
}

fn check_inst(c: &Ctx, inst: &Inst) -> Result<(), VerifyError> {
    let r = c.r;
    let shape = inst.op.shape();
    let at = |i: usize| r.ty(inst.args[i]);
    let same = |i: usize, t: Type| -> Result<(), VerifyError> {
        if at(i) != t {
            Err(c.err(format!("operand {i} has type {}, expected {t}", at(i))))
        } else {
            Ok(())
        }
    };
    let imm_err = || c.err(format!("wrong immediate {:?} for this op", inst.imm));
    let int_ok = |t: Type, i128_ok: bool| t.is_int() && (i128_ok || t != Type::I128);
    match shape {
        Shape::Marker | Shape::ExitSyscall => {
            want_args(c, inst, 0)?;
            want_result(c, inst, false)?;
            matches!(inst.imm, Imm::Pc(_)).then_some(()).ok_or_else(imm_err)?;
        }
        Shape::ConstInt => {
            want_args(c, inst, 0)?;
            let t = want_result(c, inst, true)?.unwrap();
            if !(t.is_int() || t == Type::I1) {
                return Err(c.err(format!("result type {t} is not an integer")));
            }
            match inst.imm {
                Imm::Int(v) if v & !t.mask() == 0 => {}
                Imm::Int(_) => return Err(c.err(format!("constant does not fit in {t}"))),
                _ => return Err(imm_err()),
            }
        }
        Shape::ConstFloat | Shape::ConstVec => {
            want_args(c, inst, 0)?;
            let t = want_result(c, inst, true)?.unwrap();
            let ok = if shape == Shape::ConstVec { t == Type::V128 } else { t.is_float() };
            if !ok {
                return Err(c.err(format!("result type {t} is not allowed")));
            }
            match inst.imm {
                Imm::Bits(v) if v & !t.mask() == 0 => {}
                _ => return Err(imm_err()),
            }
        }
        Shape::Bitwise => {
            want_args(c, inst, 2)?;
            let t = want_result(c, inst, true)?.unwrap();
            if !(t.is_int() || t == Type::I1) {
                return Err(c.err(format!("type {t} is not allowed (integers or i1)")));
            }
            same(0, t)?;
            same(1, t)?;
        }
        Shape::BinInt | Shape::BinInt64 | Shape::UnInt | Shape::UnInt64 => {
            let n = if matches!(shape, Shape::BinInt | Shape::BinInt64) { 2 } else { 1 };
            want_args(c, inst, n)?;
            let t = want_result(c, inst, true)?.unwrap();
            let wide = matches!(shape, Shape::BinInt | Shape::UnInt);
            if !int_ok(t, wide) {
                return Err(
                    c.err(format!("type {t} is not allowed (integers{})", if wide { "" } else { " up to i64" }))
                );
            }
            for i in 0..n {
                same(i, t)?;
            }
        }
        Shape::IntCmp => {
            want_args(c, inst, 2)?;
            same(1, at(0))?;
            let t = at(0);
            let Imm::IntCC(cc) = inst.imm else { return Err(imm_err()) };
            if t == Type::I1 && !matches!(cc, IntCC::Eq | IntCC::Ne) {
                return Err(c.err("i1 operands only compare with eq/ne"));
            }
            if !(t.is_int() || t == Type::I1) {
                return Err(c.err(format!("operand type {t} is not an integer")));
            }
            let rt = want_result(c, inst, true)?.unwrap();
            if rt != Type::I1 {
                return Err(c.err("result must be i1"));
            }
        }
        Shape::Select => {
            want_args(c, inst, 3)?;
            same(0, Type::I1)?;
            let t = want_result(c, inst, true)?.unwrap();
            same(1, t)?;
            same(2, t)?;
        }
        Shape::Extend | Shape::Truncate => {
            want_args(c, inst, 1)?;
            let t = want_result(c, inst, true)?.unwrap();
            let s = at(0);
            let intlike = |t: Type| t.is_int() || t == Type::I1;
            if !intlike(s) || !intlike(t) {
                return Err(c.err(format!("{s} -> {t}: both must be integers")));
            }
            let ok = if shape == Shape::Extend { s.bits() < t.bits() } else { s.bits() > t.bits() };
            if !ok {
                return Err(c.err(format!(
                    "{s} -> {t}: the result must be {} than the operand",
                    if shape == Shape::Extend { "wider" } else { "narrower" }
                )));
            }
        }
        Shape::Bitcast => {
            want_args(c, inst, 1)?;
            let t = want_result(c, inst, true)?.unwrap();
            let s = at(0);
            if s.bits() != t.bits() || s == t || s == Type::I1 {
                return Err(c.err(format!("cannot bitcast {s} to {t} (same width, different type)")));
            }
        }
        Shape::Flag2 | Shape::Flag3 | Shape::Carry3 => {
            let n = if shape == Shape::Flag2 { 2 } else { 3 };
            want_args(c, inst, n)?;
            let t = at(0);
            if !t.is_int() {
                return Err(c.err(format!("operand type {t} is not an integer")));
            }
            same(1, t)?;
            if n == 3 {
                same(2, Type::I1)?;
            }
            let rt = want_result(c, inst, true)?.unwrap();
            let want = if shape == Shape::Carry3 { t } else { Type::I1 };
            if rt != want {
                return Err(c.err(format!("result must be {want}")));
            }
        }
        Shape::BinFloat | Shape::UnFloat | Shape::TerFloat | Shape::RoundFloat => {
            let n = match shape {
                Shape::BinFloat => 2,
                Shape::TerFloat => 3,
                _ => 1,
            };
            want_args(c, inst, n)?;
            let t = want_result(c, inst, true)?.unwrap();
            if !t.is_float() {
                return Err(c.err(format!("type {t} is not a float")));
            }
            for i in 0..n {
                same(i, t)?;
            }
            if shape == Shape::RoundFloat && !matches!(inst.imm, Imm::Round(_)) {
                return Err(imm_err());
            }
        }
        Shape::FloatCmp => {
            want_args(c, inst, 2)?;
            if !at(0).is_float() {
                return Err(c.err(format!("operand type {} is not a float", at(0))));
            }
            same(1, at(0))?;
            if !matches!(inst.imm, Imm::FloatCC(_)) {
                return Err(imm_err());
            }
            if want_result(c, inst, true)? != Some(Type::I1) {
                return Err(c.err("result must be i1"));
            }
        }
        Shape::FloatToInt | Shape::IntToFloat => {
            want_args(c, inst, 1)?;
            let t = want_result(c, inst, true)?.unwrap();
            let (f, i) = if shape == Shape::FloatToInt { (at(0), t) } else { (t, at(0)) };
            if !f.is_float() || !matches!(i, Type::I32 | Type::I64) {
                return Err(c.err(format!("converts between f32/f64 and i32/i64, not {} -> {t}", at(0))));
            }
        }
        Shape::Promote | Shape::Demote => {
            want_args(c, inst, 1)?;
            let (s, d) = if shape == Shape::Promote { (Type::F32, Type::F64) } else { (Type::F64, Type::F32) };
            same(0, s)?;
            if want_result(c, inst, true)? != Some(d) {
                return Err(c.err(format!("result must be {d}")));
            }
        }
        Shape::VecBitwise2 | Shape::VecBitwise1 | Shape::VecLanes2 | Shape::VecShuffle | Shape::VecTernary => {
            let n = match shape {
                Shape::VecBitwise1 => 1,
                Shape::VecTernary => 3,
                _ => 2,
            };
            want_args(c, inst, n)?;
            for i in 0..n {
                same(i, Type::V128)?;
            }
            if want_result(c, inst, true)? != Some(Type::V128) {
                return Err(c.err("result must be v128"));
            }
            match (shape, inst.imm) {
                (Shape::VecBitwise2 | Shape::VecBitwise1, _)
                | (Shape::VecLanes2, Imm::Lanes(_))
                | (Shape::VecTernary, Imm::None) => {}
                (Shape::VecShuffle, Imm::Bits(m)) => {
                    if m.to_le_bytes().iter().any(|&b| b >= 32) {
                        return Err(c.err("shuffle indices must be below 32"));
                    }
                }
                _ => return Err(imm_err()),
            }
        }
        Shape::VecShift | Shape::VecWiden => {
            let shift = shape == Shape::VecShift;
            want_args(c, inst, if shift { 2 } else { 1 })?;
            same(0, Type::V128)?;
            if shift {
                same(1, Type::I32)?;
            }
            let Imm::Lanes(s) = inst.imm else { return Err(imm_err()) };
            if !shift && s == VecShape::I64x2 {
                return Err(c.err("i64x2 lanes cannot be widened"));
            }
            if want_result(c, inst, true)? != Some(Type::V128) {
                return Err(c.err("result must be v128"));
            }
        }
        Shape::VecSplat => {
            want_args(c, inst, 1)?;
            let Imm::Lanes(s) = inst.imm else { return Err(imm_err()) };
            same(0, s.lane_type())?;
            if want_result(c, inst, true)? != Some(Type::V128) {
                return Err(c.err("result must be v128"));
            }
        }
        Shape::VecExtract | Shape::VecInsert => {
            let Imm::Lane(s, i) = inst.imm else { return Err(imm_err()) };
            if i as u32 >= s.lanes() {
                return Err(c.err(format!("lane {i} out of range for {s}")));
            }
            let ins = shape == Shape::VecInsert;
            want_args(c, inst, if ins { 2 } else { 1 })?;
            same(0, Type::V128)?;
            let rt = want_result(c, inst, true)?.unwrap();
            if ins {
                same(1, s.lane_type())?;
                if rt != Type::V128 {
                    return Err(c.err("result must be v128"));
                }
            } else if rt != s.lane_type() {
                return Err(c.err(format!("result must be {}", s.lane_type())));
            }
        }
        Shape::GetSlot | Shape::SetSlot | Shape::GetElem | Shape::SetElem => {
            let Imm::Slot(s) = inst.imm else { return Err(imm_err()) };
            let Some(info) = r.layout.slots.get(s.0 as usize) else {
                return Err(c.err(format!("slot #{} does not exist in layout {}", s.0, r.layout.name)));
            };
            let elem = matches!(shape, Shape::GetElem | Shape::SetElem);
            if elem != info.is_array() {
                return Err(c.err(format!(
                    "slot {} is {}; use {}",
                    info.name,
                    if info.is_array() { "an array" } else { "a scalar" },
                    if info.is_array() { "get_elem/set_elem" } else { "get_slot/set_slot" }
                )));
            }
            let set = matches!(shape, Shape::SetSlot | Shape::SetElem);
            want_args(c, inst, elem as usize + set as usize)?;
            if elem {
                same(0, Type::I64)?;
            }
            if set {
                same(elem as usize, info.ty)?;
                want_result(c, inst, false)?;
            } else if want_result(c, inst, true)? != Some(info.ty) {
                return Err(c.err(format!("slot {} has type {}", info.name, info.ty)));
            }
        }
        Shape::Load | Shape::Store | Shape::AtomicRmw | Shape::Cas => {
            let m = match inst.imm {
                Imm::Mem(m) if shape != Shape::AtomicRmw => m,
                Imm::Rmw(_, m) if shape == Shape::AtomicRmw => m,
                _ => return Err(imm_err()),
            };
            let n = match shape {
                Shape::Load => 1,
                Shape::Cas => 3,
                _ => 2,
            };
            want_args(c, inst, n)?;
            same(0, Type::I64)?;
            let vt = match shape {
                Shape::Load => want_result(c, inst, true)?.unwrap(),
                Shape::Store => {
                    want_result(c, inst, false)?;
                    at(1)
                }
                _ => {
                    let t = want_result(c, inst, true)?.unwrap();
                    for i in 1..n {
                        same(i, t)?;
                    }
                    t
                }
            };
            if !matches!(m.size, 1 | 2 | 4 | 8 | 16) {
                return Err(c.err(format!("access size {} is not 1, 2, 4, 8 or 16", m.size)));
            }
            let atomic = matches!(shape, Shape::AtomicRmw | Shape::Cas);
            // Compare-and-swap also works on 16 bytes (i128; AArch64 exclusive pairs and
            // CASP); read-modify-write ops stop at 8.
            let wide_cas = shape == Shape::Cas && vt == Type::I128 && m.size == 16;
            if atomic && !wide_cas && (!vt.is_int() || vt == Type::I128 || m.size > 8) {
                return Err(c.err("atomics work on integers of at most 8 bytes (cas: 16 as i128)"));
            }
            if vt == Type::I1 {
                return Err(c.err("i1 cannot be loaded or stored"));
            }
            if vt.is_int() {
                if m.size as u32 * 8 > vt.bits() {
                    return Err(c.err(format!("access size {} is wider than {vt}", m.size)));
                }
                if atomic && m.size as u32 * 8 != vt.bits() {
                    return Err(c.err("atomic access size must equal the value width"));
                }
            } else if m.size as u32 != vt.bytes() {
                return Err(c.err(format!("{vt} accesses must be {} bytes", vt.bytes())));
            }
            if m.signed && (!vt.is_int() || shape != Shape::Load) {
                return Err(c.err("sign extension applies to integer loads only"));
            }
        }
        Shape::Fence => {
            want_args(c, inst, 0)?;
            want_result(c, inst, false)?;
            matches!(inst.imm, Imm::Fence(_)).then_some(()).ok_or_else(imm_err)?;
        }
        Shape::CallHelper => {
            let Imm::Helper(h) = inst.imm else { return Err(imm_err()) };
            if !crate::helpers::exists(h) {
                return Err(c.err(format!("helper #{} is not registered", h.0)));
            }
            let info = crate::helpers::info(h);
            want_args(c, inst, info.params.len())?;
            for (i, &t) in info.params.iter().enumerate() {
                same(i, t)?;
            }
            let rt = want_result(c, inst, info.ret.is_some())?;
            if rt != info.ret {
                return Err(c.err(format!("helper @{} returns {:?}", info.name, info.ret)));
            }
        }
        Shape::Jump => {
            want_result(c, inst, false)?;
            matches!(inst.imm, Imm::Jump(_)).then_some(()).ok_or_else(imm_err)?;
        }
        Shape::Brif => {
            want_result(c, inst, false)?;
            let Imm::Brif { then_args, .. } = inst.imm else { return Err(imm_err()) };
            if inst.args.is_empty() || 1 + then_args as usize > inst.args.len() {
                return Err(c.err("brif needs a condition and its block arguments"));
            }
            same(0, Type::I1)?;
        }
        Shape::ExitJump => {
            want_args(c, inst, 0)?;
            want_result(c, inst, false)?;
            matches!(inst.imm, Imm::Exit { .. }).then_some(()).ok_or_else(imm_err)?;
        }
        Shape::ExitIndirect => {
            want_args(c, inst, 1)?;
            want_result(c, inst, false)?;
            same(0, Type::I64)?;
            matches!(inst.imm, Imm::Hint(_)).then_some(()).ok_or_else(imm_err)?;
        }
        Shape::ExitTrap => {
            want_args(c, inst, 0)?;
            want_result(c, inst, false)?;
            matches!(inst.imm, Imm::Trap(..)).then_some(()).ok_or_else(imm_err)?;
        }
    }
    Ok(())
}
