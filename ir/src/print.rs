//! The text form of regions. Values are renumbered in order of definition, so printing
//! a parsed region gives back the same text (the round trip the tests check).

use crate::ops::*;
use crate::region::*;
use std::collections::HashMap;
use std::fmt::Write;

fn mem_suffix(m: &MemAttr, with_ext: bool) -> String {
    let mut s = String::new();
    if with_ext {
        s.push(if m.signed { 's' } else { 'u' });
    }
    let _ = write!(s, "{}.{}", m.size as u32 * 8, m.endian);
    if m.aligned {
        s += ".aligned";
    }
    s
}

/// Print a region in the text form.
pub fn print(r: &Region) -> String {
    let mut num: HashMap<Value, u32> = HashMap::new();
    let mut next = 0u32;
    for b in &r.blocks {
        for &p in &b.params {
            num.insert(p, next);
            next += 1;
        }
        for &i in &b.insts {
            if let Some(v) = r.inst(i).result {
                num.insert(v, next);
                next += 1;
            }
        }
    }
    let v = |x: &Value| match num.get(x) {
        Some(n) => format!("v{n}"),
        None => format!("v?{}", x.0),
    };
    let list = |xs: &[Value]| xs.iter().map(&v).collect::<Vec<_>>().join(", ");
    let mut out = format!("region @{:#x} state={} insns={} {{\n", r.entry_pc, r.layout.name, r.guest_insns);
    for (bi, b) in r.blocks.iter().enumerate() {
        let _ = write!(out, "block{bi}");
        if !b.params.is_empty() {
            let ps: Vec<String> = b.params.iter().map(|p| format!("{}:{}", v(p), r.ty(*p))).collect();
            let _ = write!(out, "({})", ps.join(", "));
        }
        out += ":\n";
        for &id in &b.insts {
            let inst = r.inst(id);
            out += "  ";
            if let Some(res) = inst.result {
                let _ = write!(out, "{}:{} = ", v(&res), r.ty(res));
            }
            let args = list(&inst.args);
            let name = inst.op.name();
            let slot = |s: crate::layout::SlotId| {
                r.layout.slots.get(s.0 as usize).map(|i| i.name.clone()).unwrap_or(format!("#{}", s.0))
            };
            let line = match inst.imm {
                Imm::None => format!("{name} {args}"),
                Imm::Pc(pc) => format!("{name} {pc:#x}"),
                Imm::Bits(x) if !inst.args.is_empty() => format!("{name} {x:#034x}, {args}"),
                Imm::Int(x) | Imm::Bits(x) => format!("{name} {x:#x}"),
                Imm::IntCC(cc) => format!("{name} {cc} {args}"),
                Imm::FloatCC(cc) => format!("{name} {cc} {args}"),
                Imm::Round(m) => format!("{name} {m} {args}"),
                Imm::Lanes(s) => format!("{name}.{s} {args}"),
                Imm::Lane(s, l) => format!("{name}.{s}[{l}] {args}"),
                Imm::Slot(s) if inst.args.is_empty() => format!("{name} {}", slot(s)),
                Imm::Slot(s) => format!("{name} {}, {args}", slot(s)),
                Imm::Mem(m) => {
                    format!("{name}.{} {args}", mem_suffix(&m, inst.op == Opcode::Load))
                }
                Imm::Rmw(op, m) => format!("{name}.{op}.{} {args}", mem_suffix(&m, false)),
                Imm::Fence(k) => format!("{name} {k}"),
                Imm::Helper(h) => {
                    let hname = if crate::helpers::exists(h) {
                        crate::helpers::info(h).name.clone()
                    } else {
                        format!("#{}", h.0)
                    };
                    format!("{name} @{hname}({args})")
                }
                Imm::Jump(t) => format!("{name} block{}({args})", t.0),
                Imm::Brif { then_block, else_block, then_args } => {
                    let t = then_args as usize;
                    let n = inst.args.len().min(1 + t);
                    format!(
                        "{name} {}, block{}({}), block{}({})",
                        list(&inst.args[..1.min(inst.args.len())]),
                        then_block.0,
                        list(&inst.args[1.min(n)..n]),
                        else_block.0,
                        list(&inst.args[n..])
                    )
                }
                Imm::Exit { pc, hint, ret } => match hint {
                    ExitHint::None => format!("{name} {pc:#x}"),
                    ExitHint::Call => format!("{name} {pc:#x} call ret={ret:#x}"),
                    ExitHint::Ret => format!("{name} {pc:#x} ret"),
                },
                Imm::Hint(ExitHint::None) => format!("{name} {args}"),
                Imm::Hint(h) => format!("{name} {args} {h}"),
                Imm::Trap(k, pc) => format!("{name} {k} {pc:#x}"),
            };
            out += line.trim_end();
            out.push('\n');
        }
    }
    out += "}\n";
    out
}
