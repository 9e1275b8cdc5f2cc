//! Translation and execution baselines (criterion):
//! - `interp`: reference-interpreter throughput on a straight-line region (IR ops/s);
//! - `lift/toy`: first-tier translation cost (decode + lift) per guest instruction;
//! - `compile/ops/N`: Cranelift compile cost for regions of N IR ops (speed and none);
//! - `compile/toy/N`: Cranelift compile cost for toy-ISA regions of N guest insns;
//! - `engine/collatz`: the bundled example end to end in each tier;
//! - `bench_translate/collatz-aarch64/{interp,jit}`: `mimic bench translate`'s code
//!   path (code discovery, every region through every stage of the tier) on the
//!   bundled AArch64 example, per guest instruction.

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use mimic_backend::cranelift::{ChainSlotRef, Compiler, JitCtx, LookupEntry, OptLevel};
use mimic_backend::CodeMemory;
use mimic_frontend::toy::{asm, Toy};
use mimic_frontend::Frontend;
use mimic_ir::*;
use mimic_runtime::irprog::IrProgram;
use mimic_runtime::{Engine, EngineConfig, FlatGuestMem, Tier};
use std::sync::Arc;

fn layout() -> Arc<StateLayout> {
    let mut b = LayoutBuilder::new("bench").slot("pc", Type::I64);
    for i in 0..16 {
        b = b.slot(&format!("r{i}"), Type::I64);
    }
    Arc::new(b.build("pc").unwrap())
}

/// A straight-line region of about `n` IR ops mixing state access and arithmetic.
fn straight_region(layout: &Arc<StateLayout>, n: usize) -> Region {
    let mut r = Region::new(layout.clone(), 0x1000);
    let mut b = Builder::new(&mut r);
    let regs: Vec<SlotId> = (0..16).map(|i| layout.expect(&format!("r{i}"))).collect();
    let mut pool: Vec<Value> = Vec::new();
    let mut seed = 0x9e37_79b9_7f4a_7c15u64;
    let mut rnd = || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let mut pc = 0x1000;
    while b.region.op_count() < n {
        if b.region.op_count().is_multiple_of(6) {
            b.insn(pc);
            pc += 4;
        }
        if pool.len() < 4 || rnd() % 5 == 0 {
            pool.push(b.get_slot(regs[(rnd() % 16) as usize]));
            continue;
        }
        let x = pool[(rnd() as usize) % pool.len()];
        let y = pool[(rnd() as usize) % pool.len()];
        let v = match rnd() % 6 {
            0 => b.add(x, y),
            1 => b.sub(x, y),
            2 => b.xor(x, y),
            3 => b.and(x, y),
            4 => b.shl(x, y),
            _ => {
                let c = b.icmp(IntCC::Ult, x, y);
                b.select(c, x, y)
            }
        };
        pool.push(v);
        if rnd() % 3 == 0 {
            b.set_slot(regs[(rnd() % 16) as usize], v);
        }
    }
    b.exit_jump(pc);
    r
}

fn toy_code(n: usize) -> FlatGuestMem {
    let mut m = FlatGuestMem::new(0x1000, 0x10000);
    for i in 0..n {
        let w = match i % 3 {
            0 => asm::add((i % 8) as u8, ((i + 1) % 8) as u8, ((i + 2) % 8) as u8),
            1 => asm::addi((i % 8) as u8, ((i + 3) % 8) as u8, 5),
            _ => asm::li((i % 8) as u8, i as u16),
        };
        m.write_bytes(0x1000 + 4 * i as u64, &w).unwrap();
    }
    m.write_bytes(0x1000 + 4 * n as u64, &asm::sys()).unwrap();
    m
}

fn bench_interp(c: &mut Criterion) {
    let layout = layout();
    let region = straight_region(&layout, 256);
    let ops = region.op_count() as u64;
    let mut g = c.benchmark_group("interp");
    g.throughput(Throughput::Elements(ops));
    let mut st = StateBuf::new(&layout);
    let mut mem = FlatMemory { base: 0, data: vec![] };
    let ctl = RunControl::default();
    g.bench_function("straight_256_ops", |b| b.iter(|| interp::run(&region, &mut st, &mut mem, &ctl)));
    g.finish();
}

fn bench_lift(c: &mut Criterion) {
    let mut g = c.benchmark_group("lift");
    let n = 31;
    let mut mem = toy_code(n);
    let mut toy = Toy::new();
    g.throughput(Throughput::Elements(n as u64 + 1));
    g.bench_function("toy_32_insns", |b| {
        b.iter(|| {
            let mut fetch = |a: u64, buf: &mut [u8]| mimic_ir::Memory::read(&mut mem, a, buf);
            toy.translate(0x1000, &mut fetch).unwrap()
        })
    });
    g.finish();
}

fn bench_compile(c: &mut Criterion) {
    let layout = layout();
    let code = Arc::new(CodeMemory::new(1 << 30).unwrap());
    let slot = 0u64;
    let slots = [ChainSlotRef { id: 0, addr: &slot }];
    for (name, opt) in [("speed", OptLevel::Speed), ("none", OptLevel::None)] {
        let mut compiler = Compiler::new(code.clone(), opt).unwrap();
        let mut g = c.benchmark_group(format!("compile/ops/{name}"));
        for n in [8usize, 32, 128, 512] {
            let mut region = straight_region(&layout, n);
            passes::optimize(&mut region);
            g.throughput(Throughput::Elements(region.op_count() as u64));
            g.bench_with_input(BenchmarkId::from_parameter(n), &region, |b, r| {
                b.iter(|| compiler.compile(r, &slots).unwrap())
            });
        }
        g.finish();
    }
    let mut compiler = Compiler::new(code.clone(), OptLevel::Speed).unwrap();
    let mut g = c.benchmark_group("compile/toy");
    for n in [4usize, 16, 31] {
        let mut mem = toy_code(n);
        let mut toy = Toy::new();
        let mut fetch = |a: u64, buf: &mut [u8]| mimic_ir::Memory::read(&mut mem, a, buf);
        let mut region = toy.translate(0x1000, &mut fetch).unwrap().region;
        passes::optimize(&mut region);
        g.throughput(Throughput::Elements(n as u64 + 1));
        g.bench_with_input(BenchmarkId::from_parameter(n + 1), &region, |b, r| {
            b.iter(|| compiler.compile(r, &slots).unwrap())
        });
    }
    g.finish();
    // Keep the code memory alive for the compilers above.
    let _ = JitCtx::new(&[LookupEntry::default()]);
}

fn bench_engine(c: &mut Criterion) {
    let text = include_str!("../examples/collatz.mir");
    let mut g = c.benchmark_group("engine/collatz_limit_2000");
    g.sample_size(10);
    for (name, tier) in [("interp", Tier::Interp), ("auto", Tier::Auto { threshold: 16 }), ("jit", Tier::Jit)] {
        g.bench_function(name, |b| {
            b.iter(|| {
                let prog = IrProgram::parse(text).unwrap();
                let layout = prog.layout();
                let mut st = StateBuf::new(&layout);
                st.set(&layout, layout.pc, prog.entry as u128);
                st.set(&layout, layout.expect("limit"), 2000);
                let mut mem = FlatGuestMem::new(0x10000, 4096).trust_accesses();
                let mut e = Engine::new(prog, EngineConfig { tier, ..EngineConfig::default() });
                e.run(&mut st, &mut mem).unwrap()
            })
        });
    }
    g.finish();
}

fn bench_translate_program(c: &mut Criterion) {
    use mimic_runtime::bench::{code::CodeImage, frontend_for, translate};
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/collatz-aarch64");
    let code = CodeImage::new(std::fs::read(path).expect("bundled example")).expect("its code");
    let (mut fe, addr_bits) = frontend_for(code.arch).expect("aarch64 frontend");
    let mut g = c.benchmark_group("bench_translate/collatz-aarch64");
    for tier in [translate::BenchTier::Interp, translate::BenchTier::Jit] {
        let opts = translate::Options {
            tiers: vec![tier],
            opt: OptLevel::Speed,
            optimize_ir: true,
            max_regions: 0,
            addr_bits,
        };
        let insns: u64 = translate::run(&code, &mut *fe, &opts, &mut |_| {})
            .unwrap()
            .samples
            .iter()
            .map(|s| s.guest_insns as u64)
            .sum();
        g.throughput(Throughput::Elements(insns));
        g.bench_function(tier.name(), |b| b.iter(|| translate::run(&code, &mut *fe, &opts, &mut |_| {}).unwrap()));
    }
    g.finish();
}

criterion_group!(benches, bench_interp, bench_lift, bench_compile, bench_engine, bench_translate_program);
criterion_main!(benches);
