//! A guest access that faults inside compiled code leaves the region precisely:
//! the exit says Fault, the host pc maps to the guest instruction, the state holds
//! every effect before it, and the host registers and stack are intact afterwards.

use mimic_backend::cranelift::entry::install_fault_handler;
use mimic_backend::cranelift::{ChainSlotRef, Compiler, JitCtx, JitExit, LookupEntry, OptLevel};
use mimic_backend::CodeMemory;
use mimic_ir::*;
use std::sync::Arc;

const GUEST_BASE: u64 = 0x10000;
const PAGE: usize = 4096;

/// Two host pages: the first read-write, the second inaccessible.
fn guarded_pages() -> *mut u8 {
    // SAFETY: an anonymous private mapping at a kernel-chosen address.
    let p = unsafe {
        libc::mmap(
            std::ptr::null_mut(),
            2 * PAGE,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
            -1,
            0,
        )
    };
    assert_ne!(p, libc::MAP_FAILED);
    // SAFETY: the second page belongs to the mapping just made.
    assert_eq!(unsafe { libc::mprotect(p.cast::<u8>().add(PAGE).cast(), PAGE, libc::PROT_NONE) }, 0);
    p.cast()
}

fn layout() -> Arc<StateLayout> {
    Arc::new(
        LayoutBuilder::new("f")
            .slot("pc", Type::I64)
            .slot("r0", Type::I64)
            .slot("r1", Type::I64)
            .slot("r2", Type::I64)
            .build("pc")
            .unwrap(),
    )
}

const PROGRAM: &str = "region @0x100 state=f insns=3 {
block0:
  insn 0x100
  v0:i64 = iconst 1
  set_slot r0, v0
  insn 0x104
  v1:i64 = get_slot r1
  v2:i64 = load.u64.le v1
  set_slot r2, v2
  insn 0x108
  v3:i64 = iconst 0x2a
  store.64.le v1, v3
  v4:i64 = iconst 2
  set_slot r0, v4
  exit_jump 0x200
}
";

#[test]
fn faults_in_compiled_code_are_precise_and_recoverable() {
    install_fault_handler();
    let l = layout();
    let region = parse_region(PROGRAM, &l).unwrap();
    let mut region_opt = region.clone();
    passes::optimize(&mut region_opt);
    let code = Arc::new(CodeMemory::new(1 << 20).unwrap());
    let mut compiler = Compiler::new(code, OptLevel::Speed).unwrap();
    let slot = 0u64;
    let mem = guarded_pages();
    let base = mem.wrapping_sub(GUEST_BASE as usize);
    let table = vec![LookupEntry::default(); 16];
    let mut ctx = JitCtx::new(&table);
    for r in [&region, &region_opt] {
        let c = compiler.compile(r, &[ChainSlotRef { id: 3, addr: &slot }]).unwrap();
        for round in 0..200u64 {
            let mut st = StateBuf::new(&l);
            // Even rounds read the guard page; odd rounds hit mapped memory.
            let addr = if round % 2 == 0 { GUEST_BASE + PAGE as u64 + 8 * (round % 16) } else { GUEST_BASE + 64 };
            st.set(&l, l.expect("r1"), addr as u128);
            // SAFETY: the region only accesses [r1, r1+8), inside the two pages; a fault
            // in the guard page is handled by the installed handler.
            let exit = unsafe { compiler.enter(c.entry, st.as_mut_ptr(), base, &mut ctx) };
            if round % 2 == 0 {
                assert_eq!(JitExit::decode(exit), Some(JitExit::Fault), "round {round}");
                assert_eq!(ctx.fault_addr, base as u64 + addr);
                assert_eq!(c.guest_pc_at(ctx.fault_host_pc as usize), Some(0x104));
                assert_eq!(ctx.fault_flags & 1, 0, "a read");
                assert_eq!(ctx.fault_flags & 2, 2, "a protection fault on a mapped page");
                // Effects before the faulting instruction happened, later ones did not.
                assert_eq!(st.get(&l, l.expect("r0")), 1);
                assert_eq!(st.get(&l, l.expect("r2")), 0);
            } else {
                assert_eq!(JitExit::decode(exit), Some(JitExit::Jump { slot: 3 }));
                assert_eq!(st.get(&l, l.expect("r0")), 2);
                // SAFETY: the first page is mapped read-write.
                assert_eq!(unsafe { (mem.add(64) as *const u64).read_unaligned() }, 0x2a);
            }
        }
    }
}

#[test]
fn faulting_stores_report_a_write() {
    install_fault_handler();
    let l = layout();
    let text = "region @0x100 state=f insns=1 {
block0:
  insn 0x10c
  v0:i64 = get_slot r1
  v1:i64 = iconst 7
  store.32.be v0, v1
  exit_jump 0x200
}
";
    let region = parse_region(text, &l).unwrap();
    let code = Arc::new(CodeMemory::new(1 << 20).unwrap());
    let mut compiler = Compiler::new(code, OptLevel::Speed).unwrap();
    let slot = 0u64;
    let c = compiler.compile(&region, &[ChainSlotRef { id: 0, addr: &slot }]).unwrap();
    let mem = guarded_pages();
    let base = mem.wrapping_sub(GUEST_BASE as usize);
    let table = vec![LookupEntry::default(); 16];
    let mut ctx = JitCtx::new(&table);
    let mut st = StateBuf::new(&l);
    st.set(&l, l.expect("r1"), (GUEST_BASE + PAGE as u64) as u128);
    // SAFETY: as above.
    let exit = unsafe { compiler.enter(c.entry, st.as_mut_ptr(), base, &mut ctx) };
    assert_eq!(JitExit::decode(exit), Some(JitExit::Fault));
    assert_eq!(ctx.fault_flags & 1, 1, "a write");
    assert_eq!(c.guest_pc_at(ctx.fault_host_pc as usize), Some(0x10c));
}

fn compile_and_run(text: &str, r1: u64) -> (JitExit, StateBuf, JitCtx, mimic_backend::CompiledRegion, *mut u8) {
    install_fault_handler();
    let l = layout();
    let mut region = parse_region(text, &l).unwrap();
    verify(&region).unwrap();
    passes::optimize(&mut region);
    let code = Arc::new(CodeMemory::new(1 << 20).unwrap());
    let mut compiler = Compiler::new(code, OptLevel::Speed).unwrap();
    let slots = Box::leak(Box::new([0u64; 4]));
    let refs: Vec<ChainSlotRef> = (0..4).map(|i| ChainSlotRef { id: i as u32, addr: &slots[i] }).collect();
    let c = compiler.compile(&region, &refs).unwrap();
    let mem = guarded_pages();
    let base = mem.wrapping_sub(GUEST_BASE as usize);
    let table = Box::leak(vec![LookupEntry::default(); 16].into_boxed_slice());
    let mut ctx = JitCtx::new(table);
    let mut st = StateBuf::new(&l);
    st.set(&l, l.expect("r1"), r1 as u128);
    // SAFETY: accesses stay inside the two pages (the second faults and is handled);
    // the compiler's code memory stays alive (leaked below) while we inspect `c`.
    let exit = unsafe { compiler.enter(c.entry, st.as_mut_ptr(), base, &mut ctx) };
    std::mem::forget(compiler);
    (JitExit::decode(exit).unwrap(), st, ctx, c, mem)
}

#[test]
fn a_load_folded_into_a_later_instruction_still_faults_at_its_own_pc() {
    // The loaded value's only use is an add in the next guest instruction: Cranelift
    // may fold the load into the add unless the instructions are kept apart.
    let text = "region @0x100 state=f insns=3 {
block0:
  insn 0x100
  v0:i64 = get_slot r0
  insn 0x104
  v1:i64 = get_slot r1
  v2:i64 = load.u64.le v1
  set_slot r2, v2
  insn 0x108
  v3:i64 = add v2, v0
  set_slot r2, v3
  exit_jump 0x200
}
";
    let (exit, _, ctx, c, _) = compile_and_run(text, GUEST_BASE + PAGE as u64);
    assert_eq!(exit, JitExit::Fault);
    assert_eq!(c.guest_pc_at(ctx.fault_host_pc as usize), Some(0x104));
}

#[test]
fn a_fault_in_a_block_without_insn_belongs_to_the_instruction_it_continues() {
    // block2 continues insn 0x100 (its only predecessor is block0); block1 is laid out
    // in between with another instruction.
    let text = "region @0x100 state=f insns=2 {
block0:
  insn 0x100
  v0:i64 = get_slot r1
  v1:i64 = iconst 0
  v2:i1 = icmp ne v0, v1
  brif v2, block2(), block1()
block1:
  insn 0x104
  exit_jump 0x200
block2:
  v3:i64 = load.u64.le v0
  set_slot r2, v3
  exit_jump 0x204
}
";
    let l = layout();
    let region = parse_region(text, &l).unwrap();
    let mut st = StateBuf::new(&l);
    st.set(&l, l.expect("r1"), 0xdead_0000);
    let mut m = FlatMemory { base: GUEST_BASE, data: vec![0; 64] };
    let want = interp::run(&region, &mut st, &mut m, &RunControl::default());
    assert!(matches!(want, Exit::Fault { pc: 0x100, .. }), "{want:?}");
    let (exit, _, ctx, c, _) = compile_and_run(text, GUEST_BASE + PAGE as u64);
    assert_eq!(exit, JitExit::Fault);
    assert_eq!(c.guest_pc_at(ctx.fault_host_pc as usize), Some(0x100));
}

#[test]
fn a_straddling_16_byte_store_that_faults_writes_nothing() {
    for (ty, endian) in [("i128", "le"), ("i128", "be"), ("v128", "be"), ("v128", "le")] {
        let text = format!(
            "region @0x100 state=f insns=1 {{
block0:
  insn 0x100
  v0:i64 = get_slot r1
  v1:{ty} = vconst 0x0102030405060708090a0b0c0d0e0f10
  store.128.{endian} v0, v1
  exit_jump 0x200
}}
"
        )
        .replace("vconst", if ty == "i128" { "iconst" } else { "vconst" });
        let (exit, _, _, _, mem) = compile_and_run(&text, GUEST_BASE + PAGE as u64 - 8);
        assert_eq!(exit, JitExit::Fault, "{ty} {endian}");
        // SAFETY: the first page is mapped and readable.
        let tail = unsafe { std::slice::from_raw_parts(mem.add(PAGE - 8), 8) };
        assert_eq!(tail, &[0u8; 8], "{ty} {endian}: partial write before the fault");
    }
}

#[test]
fn atomic_read_modify_writes_are_marked_for_write_faults() {
    let text = "region @0x100 state=f insns=1 {
block0:
  insn 0x100
  v0:i64 = get_slot r1
  v1:i64 = iconst 5
  v2:i64 = atomic_rmw.umin.64.be v0, v1
  set_slot r2, v2
  exit_jump 0x200
}
";
    let (exit, _, ctx, c, _) = compile_and_run(text, GUEST_BASE + PAGE as u64);
    assert_eq!(exit, JitExit::Fault);
    assert_eq!(c.guest_pc_at(ctx.fault_host_pc as usize), Some(0x100));
    assert!(c.is_atomic_at(ctx.fault_host_pc as usize), "umin's load half must count as a write");
}

#[test]
fn blocks_are_compiled_in_dominance_order_not_layout_order() {
    // block1 uses v9, defined in block2 which dominates it but comes later in layout.
    let text = "region @0x100 state=f insns=3 {
block0:
  insn 0x100
  jump block2()
block1:
  insn 0x104
  v0:i64 = add v9, v9
  set_slot r2, v0
  exit_jump 0x200
block2:
  insn 0x108
  v9:i64 = get_slot r1
  v1:i64 = iconst 0
  v2:i1 = icmp ne v9, v1
  brif v2, block1(), block3()
block3:
  exit_jump 0x300
}
";
    let l = layout();
    let region = parse_region(text, &l).unwrap();
    verify(&region).unwrap();
    let mut st = StateBuf::new(&l);
    st.set(&l, l.expect("r1"), 21);
    let mut m = FlatMemory { base: GUEST_BASE, data: vec![0; 64] };
    interp::run(&region, &mut st, &mut m, &RunControl::default());
    assert_eq!(st.get(&l, l.expect("r2")), 42);
    let (exit, jst, _, _, _) = compile_and_run(text, 21);
    assert_eq!(exit, JitExit::Jump { slot: 0 });
    assert_eq!(jst.bytes(), st.bytes());
}
