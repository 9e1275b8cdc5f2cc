//! Parser of the text form (the inverse of `print`), plus `state` declarations so that
//! stand-alone IR files can describe their own guest state layout.
//!
//! A module is an optional `state NAME pc=SLOT { slot: type  array: type[count] ... }`
//! followed by any number of `region @PC state=NAME insns=N { ... }`.

use crate::layout::{LayoutBuilder, StateLayout};
use crate::ops::*;
use crate::region::*;
use crate::Type;
use smallvec::SmallVec;
use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

/// A parse failure with its 1-based line number.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParseError {
    pub line: usize,
    pub message: String,
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}: {}", self.line, self.message)
    }
}
impl std::error::Error for ParseError {}

type PResult<T> = Result<T, ParseError>;

fn perr<T>(line: usize, m: impl Into<String>) -> PResult<T> {
    Err(ParseError { line, message: m.into() })
}

fn parse_u128(s: &str) -> Option<u128> {
    let s = s.trim();
    let (neg, s) = match s.strip_prefix('-') {
        Some(r) => (true, r),
        None => (false, s),
    };
    let v = if let Some(h) = s.strip_prefix("0x") {
        u128::from_str_radix(&h.replace('_', ""), 16).ok()?
    } else {
        s.replace('_', "").parse::<u128>().ok()?
    };
    Some(if neg { v.wrapping_neg() } else { v })
}

/// Strip `//` and `;` comments and surrounding whitespace.
fn clean(line: &str) -> &str {
    let l = line.split("//").next().unwrap_or("");
    l.split(';').next().unwrap_or("").trim()
}

/// Parse a module: an optional state declaration and regions. A region naming a state
/// other than the declared one needs `layouts` to provide it.
pub fn parse_module(text: &str, layouts: &[Arc<StateLayout>]) -> PResult<(Vec<Arc<StateLayout>>, Vec<Region>)> {
    let lines: Vec<&str> = text.lines().collect();
    let mut known: Vec<Arc<StateLayout>> = layouts.to_vec();
    let mut regions = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        let l = clean(lines[i]);
        if l.is_empty() {
            i += 1;
        } else if l.starts_with("state ") {
            let (layout, next) = parse_state(&lines, i)?;
            known.retain(|k| k.name != layout.name);
            known.push(Arc::new(layout));
            i = next;
        } else if l.starts_with("region ") {
            let end = (i..lines.len())
                .find(|&j| clean(lines[j]) == "}")
                .ok_or(ParseError { line: i + 1, message: "region is not closed with `}`".into() })?;
            regions.push(parse_region_lines(&lines[i..=end], i, &known)?);
            i = end + 1;
        } else {
            return perr(i + 1, format!("expected `state` or `region`, found `{l}`"));
        }
    }
    Ok((known, regions))
}

/// Parse exactly one region whose state layout is given.
pub fn parse_region(text: &str, layout: &Arc<StateLayout>) -> PResult<Region> {
    let (_, mut regions) = parse_module(text, std::slice::from_ref(layout))?;
    if regions.len() != 1 {
        return perr(1, format!("expected one region, found {}", regions.len()));
    }
    Ok(regions.remove(0))
}

fn parse_state(lines: &[&str], start: usize) -> PResult<(StateLayout, usize)> {
    let head = clean(lines[start]);
    let rest = head.strip_prefix("state ").unwrap_or("").trim_end_matches('{').trim();
    let mut parts = rest.split_whitespace();
    let name = parts.next().ok_or(ParseError { line: start + 1, message: "state needs a name".into() })?;
    let pc = parts
        .next()
        .and_then(|p| p.strip_prefix("pc="))
        .ok_or(ParseError { line: start + 1, message: "state needs `pc=SLOT`".into() })?;
    let mut b = LayoutBuilder::new(name);
    let mut i = start + 1;
    loop {
        let Some(raw) = lines.get(i) else {
            return perr(start + 1, "state is not closed with `}`");
        };
        let l = clean(raw);
        i += 1;
        if l == "}" {
            break;
        }
        for decl in l.split(',').map(str::trim).filter(|d| !d.is_empty()) {
            let Some((n, t)) = decl.split_once(':') else {
                return perr(i, format!("expected `name: type`, found `{decl}`"));
            };
            let t = t.trim();
            let (tn, count) = match t.split_once('[') {
                Some((tn, c)) => {
                    let c = c.trim_end_matches(']').trim().parse::<u32>().ok().filter(|&c| c > 1);
                    match c {
                        Some(c) => (tn.trim(), c),
                        None => return perr(i, format!("bad array count in `{t}` (needs >= 2)")),
                    }
                }
                None => (t, 1),
            };
            let Some(ty) = Type::from_name(tn) else {
                return perr(i, format!("unknown type `{tn}`"));
            };
            b = b.array(n.trim(), ty, count);
        }
    }
    let layout = b.build(pc).map_err(|e| ParseError { line: start + 1, message: e.to_string() })?;
    Ok((layout, i))
}

struct Line<'a> {
    no: usize,
    text: &'a str,
}

fn parse_region_lines(lines: &[&str], offset: usize, layouts: &[Arc<StateLayout>]) -> PResult<Region> {
    let head_no = offset + 1;
    let head = clean(lines[0]);
    let mut entry = None;
    let mut state = None;
    let mut insns = 0u32;
    for tok in head.trim_start_matches("region").trim_end_matches('{').split_whitespace() {
        if let Some(pc) = tok.strip_prefix('@') {
            entry = parse_u128(pc).map(|v| v as u64);
        } else if let Some(s) = tok.strip_prefix("state=") {
            state = Some(s);
        } else if let Some(n) = tok.strip_prefix("insns=") {
            insns = n.parse().map_err(|_| ParseError { line: head_no, message: format!("bad insns count `{n}`") })?;
        } else {
            return perr(head_no, format!("unexpected `{tok}` in region header"));
        }
    }
    let entry = entry.ok_or(ParseError { line: head_no, message: "region needs `@PC`".into() })?;
    let layout = match state {
        Some(s) => layouts.iter().find(|l| l.name == s).cloned().ok_or(ParseError {
            line: head_no,
            message: format!("unknown state layout `{s}` (declare it with `state {s} pc=... {{ ... }}`)"),
        })?,
        None if layouts.len() == 1 => layouts[0].clone(),
        None => return perr(head_no, "region needs `state=NAME`"),
    };
    let body: Vec<Line> = lines[1..lines.len() - 1]
        .iter()
        .enumerate()
        .map(|(k, t)| Line { no: offset + 2 + k, text: clean(t) })
        .filter(|l| !l.text.is_empty())
        .collect();

    // Pass 1: create blocks and values in textual order.
    let mut r = Region::new(layout, entry);
    r.blocks.clear();
    r.guest_insns = insns;
    let mut names: HashMap<String, Value> = HashMap::new();
    let mut block_names: HashMap<String, BlockId> = HashMap::new();
    let mut inst_count = 0u32;
    for l in &body {
        if let Some(h) = l.text.strip_suffix(':') {
            let (bname, params) = match h.split_once('(') {
                Some((n, p)) => (n.trim(), p.trim_end_matches(')')),
                None => (h.trim(), ""),
            };
            let bid = BlockId(r.blocks.len() as u32);
            if block_names.insert(bname.to_string(), bid).is_some() {
                return perr(l.no, format!("block `{bname}` defined twice"));
            }
            r.blocks.push(Block::default());
            for (pi, p) in params.split(',').map(str::trim).filter(|p| !p.is_empty()).enumerate() {
                let (vn, ty) = parse_typed_name(l.no, p)?;
                let v = r.new_value(ty, ValueDef::Param(bid, pi as u32));
                if names.insert(vn.to_string(), v).is_some() {
                    return perr(l.no, format!("value `{vn}` defined twice"));
                }
                r.blocks[bid.0 as usize].params.push(v);
            }
        } else {
            if r.blocks.is_empty() {
                return perr(l.no, "instruction before the first block label");
            }
            if let Some((lhs, _)) = split_result(l.text) {
                {
                    let (vn, ty) = parse_typed_name(l.no, lhs)?;
                    let v = r.new_value(ty, ValueDef::Inst(InstId(inst_count)));
                    if names.insert(vn.to_string(), v).is_some() {
                        return perr(l.no, format!("value `{vn}` defined twice"));
                    }
                }
            }
            inst_count += 1;
        }
    }
    // Pass 2: instructions.
    let mut cur: Option<usize> = None;
    let mut inst_no = 0u32;
    for l in &body {
        if let Some(h) = l.text.strip_suffix(':') {
            let bname = h.split('(').next().unwrap_or("").trim();
            cur = Some(block_names[bname].0 as usize);
            continue;
        }
        let (result, rhs) = match split_result(l.text) {
            Some((lhs, rhs)) => {
                let (vn, _) = parse_typed_name(l.no, lhs)?;
                (Some(names[vn]), rhs)
            }
            None => (None, l.text),
        };
        let inst = parse_inst(l.no, rhs, result, &r, &names, &block_names)?;
        r.insts.push(inst);
        r.blocks[cur.unwrap_or(0)].insts.push(InstId(inst_no));
        inst_no += 1;
    }
    if r.blocks.is_empty() {
        return perr(head_no, "region has no blocks");
    }
    Ok(r)
}

/// Split `vN:type = rest` into (`vN:type`, `rest`).
fn split_result(text: &str) -> Option<(&str, &str)> {
    let (lhs, rhs) = text.split_once('=')?;
    let lhs = lhs.trim();
    (lhs.starts_with('v') && lhs.contains(':') && !lhs.contains(char::is_whitespace)).then(|| (lhs, rhs.trim()))
}

fn parse_typed_name(no: usize, s: &str) -> PResult<(&str, Type)> {
    let Some((n, t)) = s.split_once(':') else {
        return perr(no, format!("expected `vN:type`, found `{s}`"));
    };
    let Some(ty) = Type::from_name(t.trim()) else {
        return perr(no, format!("unknown type `{}`", t.trim()));
    };
    Ok((n.trim(), ty))
}

fn parse_mem(no: usize, parts: &[&str], with_ext: bool) -> PResult<MemAttr> {
    // [u|s]BITS . endian [. aligned]
    let Some(first) = parts.first() else { return perr(no, "memory op needs `.SIZE.ENDIAN`") };
    let (signed, bits) = if with_ext {
        match first.split_at_checked(1) {
            Some(("s", b)) => (true, b),
            Some(("u", b)) => (false, b),
            _ => return perr(no, format!("expected u/s and a bit size, found `{first}`")),
        }
    } else {
        (false, *first)
    };
    let bits: u32 = bits
        .parse()
        .ok()
        .filter(|b| matches!(b, 8 | 16 | 32 | 64 | 128))
        .ok_or(ParseError { line: no, message: format!("bad access size `{first}` (8, 16, 32, 64 or 128 bits)") })?;
    let endian = parts
        .get(1)
        .and_then(|e| Endian::from_name(e))
        .ok_or(ParseError { line: no, message: "memory op needs an endianness (le/be)".into() })?;
    let aligned = match parts.get(2) {
        None => false,
        Some(&"aligned") => true,
        Some(x) => return perr(no, format!("unexpected `{x}` in memory attributes")),
    };
    Ok(MemAttr { size: (bits / 8) as u8, signed, endian, aligned })
}

fn parse_inst(
    no: usize,
    text: &str,
    result: Option<Value>,
    r: &Region,
    names: &HashMap<String, Value>,
    blocks: &HashMap<String, BlockId>,
) -> PResult<Inst> {
    let (head, rest) = match text.split_once(char::is_whitespace) {
        Some((h, rest)) => (h, rest.trim()),
        None => (text, ""),
    };
    let (head, lane) = match head.split_once('[') {
        Some((h, l)) => (h, Some(l.trim_end_matches(']'))),
        None => (head, None),
    };
    let mut dotted = head.split('.');
    let opname = dotted.next().unwrap_or("");
    let suffix: Vec<&str> = dotted.collect();
    let Some(op) = Opcode::from_name(opname) else {
        return perr(no, format!("unknown op `{opname}`"));
    };
    let val = |s: &str| -> PResult<Value> {
        names.get(s.trim()).copied().ok_or(ParseError { line: no, message: format!("unknown value `{}`", s.trim()) })
    };
    let vals = |s: &str| -> PResult<SmallVec<[Value; 3]>> {
        s.split(',').map(str::trim).filter(|x| !x.is_empty()).map(val).collect()
    };
    let num = |s: &str| -> PResult<u128> {
        parse_u128(s).ok_or(ParseError { line: no, message: format!("expected a number, found `{s}`") })
    };
    let word = |s: &str| -> (String, String) {
        match s.split_once(char::is_whitespace) {
            Some((a, b)) => (a.to_string(), b.trim().to_string()),
            None => (s.to_string(), String::new()),
        }
    };
    let block = |s: &str| -> PResult<(BlockId, SmallVec<[Value; 3]>)> {
        let s = s.trim();
        let (n, a) = match s.split_once('(') {
            Some((n, a)) => (n.trim(), a.trim_end_matches(')')),
            None => (s, ""),
        };
        let b = blocks.get(n).copied().ok_or(ParseError { line: no, message: format!("unknown block `{n}`") })?;
        Ok((b, vals(a)?))
    };
    let shape = op.shape();
    let rty = result.map(|v| r.ty(v));
    let mut args: SmallVec<[Value; 3]> = SmallVec::new();
    let imm = match shape {
        Shape::Marker | Shape::ExitSyscall => Imm::Pc(num(rest)? as u64),
        Shape::ConstInt => Imm::Int(num(rest)? & rty.map(|t| t.mask()).unwrap_or(u128::MAX)),
        Shape::ConstFloat | Shape::ConstVec => Imm::Bits(num(rest)?),
        Shape::VecShuffle => {
            let (w, tail) = rest.split_once(',').unwrap_or((rest, ""));
            args = vals(tail)?;
            Imm::Bits(num(w.trim())?)
        }
        Shape::IntCmp | Shape::FloatCmp | Shape::RoundFloat => {
            let (w, tail) = word(rest);
            args = vals(&tail)?;
            match shape {
                Shape::IntCmp => Imm::IntCC(
                    IntCC::from_name(&w).ok_or(ParseError { line: no, message: format!("unknown condition `{w}`") })?,
                ),
                Shape::FloatCmp => Imm::FloatCC(
                    FloatCC::from_name(&w)
                        .ok_or(ParseError { line: no, message: format!("unknown condition `{w}`") })?,
                ),
                _ => Imm::Round(
                    RoundMode::from_name(&w)
                        .ok_or(ParseError { line: no, message: format!("unknown rounding mode `{w}`") })?,
                ),
            }
        }
        Shape::VecLanes2
        | Shape::VecShift
        | Shape::VecWiden
        | Shape::VecSplat
        | Shape::VecExtract
        | Shape::VecInsert => {
            let s = suffix.first().and_then(|s| VecShape::from_name(s)).ok_or(ParseError {
                line: no,
                message: format!("`{opname}` needs a lane shape suffix such as `.i32x4`"),
            })?;
            args = vals(rest)?;
            if matches!(shape, Shape::VecExtract | Shape::VecInsert) {
                let l = lane
                    .and_then(|l| l.parse::<u8>().ok())
                    .ok_or(ParseError { line: no, message: "expected `[LANE]`".into() })?;
                Imm::Lane(s, l)
            } else {
                Imm::Lanes(s)
            }
        }
        Shape::GetSlot | Shape::SetSlot | Shape::GetElem | Shape::SetElem => {
            let (sname, tail) = match rest.split_once(',') {
                Some((a, b)) => (a.trim(), b),
                None => (rest, ""),
            };
            let slot = r
                .layout
                .find(sname)
                .ok_or(ParseError { line: no, message: format!("state {} has no slot `{sname}`", r.layout.name) })?;
            args = vals(tail)?;
            Imm::Slot(slot)
        }
        Shape::Load | Shape::Store | Shape::Cas => {
            args = vals(rest)?;
            Imm::Mem(parse_mem(no, &suffix, shape == Shape::Load)?)
        }
        Shape::AtomicRmw => {
            let rop = suffix.first().and_then(|s| RmwOp::from_name(s)).ok_or(ParseError {
                line: no,
                message: "atomic_rmw needs an operation suffix such as `.add`".into(),
            })?;
            args = vals(rest)?;
            Imm::Rmw(rop, parse_mem(no, &suffix[1..], false)?)
        }
        Shape::Fence => Imm::Fence(
            FenceKind::from_name(rest)
                .ok_or(ParseError { line: no, message: format!("unknown fence kind `{rest}`") })?,
        ),
        Shape::CallHelper => {
            let Some(h) = rest.strip_prefix('@') else { return perr(no, "expected `@helper(args)`") };
            let (n, a) = h.split_once('(').ok_or(ParseError { line: no, message: "expected `(`".into() })?;
            let id = crate::helpers::find(n.trim())
                .ok_or(ParseError { line: no, message: format!("unknown helper `@{}`", n.trim()) })?;
            args = vals(a.trim_end_matches(')'))?;
            Imm::Helper(id)
        }
        Shape::Jump => {
            let (b, a) = block(rest)?;
            args = a;
            Imm::Jump(b)
        }
        Shape::Brif => {
            let (c, tail) = rest
                .split_once(',')
                .ok_or(ParseError { line: no, message: "brif needs `cond, blockT(..), blockF(..)`".into() })?;
            // Split the two targets at the first comma outside parentheses.
            let tail = tail.trim();
            let mut depth = 0i32;
            let cut = tail
                .char_indices()
                .find(|&(_, ch)| {
                    match ch {
                        '(' => depth += 1,
                        ')' => depth -= 1,
                        _ => {}
                    }
                    ch == ',' && depth == 0
                })
                .map(|(i, _)| i)
                .ok_or(ParseError { line: no, message: "brif needs two targets".into() })?;
            let (t, e) = tail.split_at(cut);
            let e = e.trim_start().trim_start_matches(',');
            let (tb, ta) = block(t)?;
            let (eb, ea) = block(e)?;
            args.push(val(c)?);
            let then_args = ta.len() as u16;
            args.extend(ta);
            args.extend(ea);
            Imm::Brif { then_block: tb, else_block: eb, then_args }
        }
        Shape::ExitJump => {
            let mut it = rest.split_whitespace();
            let pc = num(it.next().unwrap_or(""))? as u64;
            match (it.next(), it.next()) {
                (None, _) => Imm::Exit { pc, hint: ExitHint::None, ret: 0 },
                (Some("ret"), None) => Imm::Exit { pc, hint: ExitHint::Ret, ret: 0 },
                (Some("call"), Some(ret)) if it.next().is_none() => {
                    let ret =
                        ret.strip_prefix("ret=").ok_or(ParseError { line: no, message: "expected `ret=PC`".into() })?;
                    Imm::Exit { pc, hint: ExitHint::Call, ret: num(ret)? as u64 }
                }
                _ => return perr(no, "expected `exit_jump PC [call ret=PC | ret]`"),
            }
        }
        Shape::ExitIndirect => {
            let (v, h) = word(rest);
            args.push(val(&v)?);
            let hint = if h.is_empty() {
                ExitHint::None
            } else {
                ExitHint::from_name(&h).ok_or(ParseError { line: no, message: format!("unknown hint `{h}`") })?
            };
            Imm::Hint(hint)
        }
        Shape::ExitTrap => {
            let (k, pc) = word(rest);
            let kind =
                TrapKind::from_name(&k).ok_or(ParseError { line: no, message: format!("unknown trap kind `{k}`") })?;
            Imm::Trap(kind, num(&pc)? as u64)
        }
        _ => {
            args = vals(rest)?;
            Imm::None
        }
    };
    Ok(Inst { op, args, imm, result })
}
