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
