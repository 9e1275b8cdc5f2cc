//! Engine tests on the toy ISA: tiers agree with an independent model, chaining,
//! indirect lookup, invalidation, tiering transitions and exit requests.

use mimic_frontend::toy::{asm::*, decode, Insn, Toy};
use mimic_ir::{StateBuf, TrapKind};
use mimic_runtime::{Engine, EngineConfig, FlatGuestMem, Stop, Tier};

const BASE: u64 = 0x1000;

fn program(code: &[[u8; 4]]) -> FlatGuestMem {
    let mut m = FlatGuestMem::new(BASE, 0x1000).trust_accesses();
    for (i, w) in code.iter().enumerate() {
        m.write_bytes(BASE + 4 * i as u64, w).unwrap();
    }
    m
}

fn engine(tier: Tier) -> Engine<Toy> {
    Engine::new(Toy::new(), EngineConfig { tier, ..EngineConfig::default() })
}

fn run(e: &mut Engine<Toy>, mem: &mut dyn mimic_runtime::GuestMemory, pc: u64) -> (Stop, [u64; 8]) {
    let layout = e.layout().clone();
    let mut st = StateBuf::new(&layout);
    st.set(&layout, layout.pc, pc as u128);
    let stop = e.run(&mut st, mem).unwrap();
    let regs = std::array::from_fn(|i| st.get(&layout, layout.expect(&format!("r{i}"))) as u64);
    (stop, regs)
}

/// An independent model of the toy ISA (not using the IR), the reference for the tiers.
fn model(mem: &mut FlatGuestMem, mut pc: u64) -> (Stop, [u64; 8]) {
    let mut r = [0u64; 8];
    loop {
        let off = (pc - BASE) as usize;
        let w: [u8; 4] = mem.flat.data[off..off + 4].try_into().unwrap();
        let next = pc + 4;
        let rel = |o: i16| pc.wrapping_add((o as i64 * 4) as u64);
        match decode(w) {
            Insn::Li { rd, imm } => r[rd as usize] = imm as u64,
            Insn::Add { rd, rs, rt } => r[rd as usize] = r[rs as usize].wrapping_add(r[rt as usize]),
            Insn::Addi { rd, rs, imm } => r[rd as usize] = r[rs as usize].wrapping_add(imm as i64 as u64),
            Insn::Ld { rd, rs } => {
                let a = (r[rs as usize] - BASE) as usize;
                r[rd as usize] = u32::from_le_bytes(mem.flat.data[a..a + 4].try_into().unwrap()) as u64;
            }
            Insn::St { rt, rs } => {
                let a = (r[rs as usize] - BASE) as usize;
                mem.flat.data[a..a + 4].copy_from_slice(&(r[rt as usize] as u32).to_le_bytes());
            }
            Insn::Bnz { rs, off } => {
                if r[rs as usize] != 0 {
                    pc = rel(off);
                    continue;
                }
            }
            Insn::Jr { rs } | Insn::Ret { rs } => {
                pc = r[rs as usize];
                continue;
            }
            Insn::Sys => return (Stop::Syscall, r),
            Insn::J { off } => {
                pc = rel(off);
                continue;
            }
            Insn::Call { rd, off } => {
                r[rd as usize] = next;
                pc = rel(off);
                continue;
            }
            Insn::Illegal => return (Stop::Trap { kind: TrapKind::Illegal, pc }, r),
        }
        pc = next;
    }
}

/// sum = 0; for i in n..0: sum += f(i) where f(x) = x + x + 1 (a call); store; sys.
fn sum_program(n: u16) -> Vec<[u8; 4]> {
    vec![
        li(1, n),      // 0x1000 r1 = n
        li(2, 0),      // 0x1004 r2 = sum
        li(6, 0x800),  // 0x1008
        addi(6, 6, 0), // 0x100c
        // loop: (0x1010)
        call(7, 6),     // 0x1010 -> f at 0x1028, r7 = 0x1014
        add(2, 2, 3),   // 0x1014 sum += r3
        addi(1, 1, -1), // 0x1018
        bnz(1, -3),     // 0x101c -> 0x1010
        j(1),           // 0x1020 -> 0x1024
        sys(),          // 0x1024
        // f: (0x1028) r3 = r1 + r1 + 1
        add(3, 1, 1),
        addi(3, 3, 1),
        ret(7),
    ]
}

#[test]
fn all_tiers_agree_with_the_model() {
    let code = sum_program(300);
    let (want_stop, want) = model(&mut program(&code), BASE);
    assert_eq!(want_stop, Stop::Syscall);
    assert_eq!(want[2], (1..=300u64).map(|i| 2 * i + 1).sum::<u64>());
    for tier in [Tier::Interp, Tier::Jit, Tier::Auto { threshold: 5 }] {
        let mut e = engine(tier);
        let (stop, regs) = run(&mut e, &mut program(&code), BASE);
        assert_eq!(stop, want_stop, "{tier:?}");
        assert_eq!(regs, want, "{tier:?}");
    }
}

#[test]
fn compiled_regions_chain_and_indirect_exits_hit_the_lookup_table() {
    let code = sum_program(1000);
    let mut e = engine(Tier::Jit);
    run(&mut e, &mut program(&code), BASE);
    let s = e.stats();
    assert!(s.chains_linked >= 2, "{s:?}");
    // Each iteration: call (direct, chained), return (indirect), loop back (chained).
    assert!(s.chain_hits >= 1500, "chained exits {}", s.chain_hits);
    assert!(s.lookup_hits >= 900, "lookup hits {}", s.lookup_hits);
    // The dispatcher saw only the first few transitions.
    assert!(s.jit_entries < 20, "dispatcher entries {}", s.jit_entries);
    assert_eq!(s.interp_executions, 0);
}

#[test]
fn interpreter_tier_never_compiles() {
    let mut e = engine(Tier::Interp);
    run(&mut e, &mut program(&sum_program(50)), BASE);
    let s = e.stats();
    assert_eq!(s.regions_compiled, 0);
    assert!(s.interp_executions > 100);
}

#[test]
fn hot_regions_move_to_the_jit_after_the_threshold() {
    let code = sum_program(40);
    let mut e = engine(Tier::Auto { threshold: 10 });
    run(&mut e, &mut program(&code), BASE);
    let s = e.stats();
    // The function at 0x1028 runs 40 times: 9 interpreted (plus the 10th compiled).
    assert!(e.is_compiled(0x1028));
    // The entry block runs once and stays cold.
    assert!(!e.is_compiled(BASE));
    assert!(s.interp_executions >= 9, "{s:?}");
    assert!(s.regions_compiled >= 2 && s.regions_compiled < s.regions_translated, "{s:?}");
}

#[test]
fn invalidation_forces_retranslation_of_modified_code() {
    for tier in [Tier::Interp, Tier::Jit] {
        // main: call f; sys.  f: li r3, 5; ret
        let code = vec![call(7, 2), sys(), li(3, 5), ret(7)];
        let mut mem = program(&code);
        let mut e = engine(tier);
        let (_, r) = run(&mut e, &mut mem, BASE);
        assert_eq!(r[3], 5);
        // Run again so the call's chain slot is linked to f in the JIT tier.
        let (_, r) = run(&mut e, &mut mem, BASE);
        assert_eq!(r[3], 5);
        // Rewrite f's first instruction.
        mem.write_bytes(BASE + 8, &li(3, 7)).unwrap();
        let (_, r) = run(&mut e, &mut mem, BASE);
        assert_eq!(r[3], 5, "{tier:?}: stale code keeps running until invalidated");
        let dropped = e.invalidate(BASE + 8..BASE + 12);
        assert_eq!(dropped, 1, "{tier:?}");
        let (_, r) = run(&mut e, &mut mem, BASE);
        assert_eq!(r[3], 7, "{tier:?}: retranslated after invalidation");
        assert_eq!(e.stats().regions_invalidated, 1);
    }
}

#[test]
fn exit_requests_stop_chained_loops_and_in_region_loops() {
    // A two-region infinite loop (direct exits, chained) and a one-region loop (back edge).
    for code in [vec![j(1), j(-1)], vec![li(1, 1), bnz(1, 0)]] {
        for tier in [Tier::Jit, Tier::Interp] {
            let mut e = engine(tier);
            e.request_exit();
            let mut mem = program(&code);
            let (stop, _) = run(&mut e, &mut mem, BASE);
            assert_eq!(stop, Stop::Interrupted { pc: BASE }, "{tier:?} {code:?}");
        }
    }
}

#[test]
fn illegal_instructions_and_unmapped_code_stop_precisely() {
    let code = vec![li(1, 1), [0xff, 0, 0, 0]];
    for tier in [Tier::Interp, Tier::Jit] {
        let mut e = engine(tier);
        let (stop, r) = run(&mut e, &mut program(&code), BASE);
        assert_eq!(stop, Stop::Trap { kind: TrapKind::Illegal, pc: BASE + 4 });
        assert_eq!(r[1], 1);
        let (stop, _) = run(&mut e, &mut program(&code), 0x9_0000);
        assert_eq!(stop, Stop::NoCode { pc: 0x9_0000 });
    }
}

/// One read-write host page of guest memory at BASE followed by an inaccessible one,
/// so that compiled code faults at the host exactly where the interpreter faults.
struct GuardedMem {
    host: *mut u8,
}

impl GuardedMem {
    fn new(code: &[[u8; 4]]) -> GuardedMem {
        // SAFETY: an anonymous private mapping at a kernel-chosen address.
        let p = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                8192,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
                -1,
                0,
            )
        };
        assert_ne!(p, libc::MAP_FAILED);
        // SAFETY: the second page belongs to the mapping just made.
        assert_eq!(unsafe { libc::mprotect(p.cast::<u8>().add(4096).cast(), 4096, libc::PROT_NONE) }, 0);
        let host = p.cast::<u8>();
        for (i, w) in code.iter().enumerate() {
            // SAFETY: code fits in the first, writable page.
            unsafe { std::ptr::copy_nonoverlapping(w.as_ptr(), host.add(4 * i), 4) };
        }
        GuardedMem { host }
    }
    fn check(&self, addr: u64, len: usize, write: bool) -> Result<usize, mimic_ir::MemFault> {
        let kind = if (BASE + 4096..BASE + 8192).contains(&addr) {
            mimic_ir::FaultKind::Protection
        } else {
            mimic_ir::FaultKind::Unmapped
        };
        match addr.checked_sub(BASE) {
            Some(off) if off + len as u64 <= 4096 => Ok(off as usize),
            _ => Err(mimic_ir::MemFault { addr, write, kind }),
        }
    }
}

impl mimic_ir::Memory for GuardedMem {
    fn read(&mut self, addr: u64, buf: &mut [u8]) -> Result<(), mimic_ir::MemFault> {
        let off = self.check(addr, buf.len(), false)?;
        // SAFETY: check() keeps [off, off+len) inside the writable first page.
        unsafe { std::ptr::copy_nonoverlapping(self.host.add(off), buf.as_mut_ptr(), buf.len()) };
        Ok(())
    }
    fn write(&mut self, addr: u64, data: &[u8]) -> Result<(), mimic_ir::MemFault> {
        let off = self.check(addr, data.len(), true)?;
        // SAFETY: as above.
        unsafe { std::ptr::copy_nonoverlapping(data.as_ptr(), self.host.add(off), data.len()) };
        Ok(())
    }
}

impl mimic_runtime::GuestMemory for GuardedMem {
    fn host_base(&mut self) -> *mut u8 {
        self.host.wrapping_sub(BASE as usize)
    }
    fn jit_safe(&self) -> bool {
        true
    }
}

#[test]
fn guest_faults_are_precise_in_every_tier() {
    // r1 = 1; r2 = BASE + 0x1000 (guard page); ld r3, [r2] faults at BASE + 8.
    let code = vec![li(1, 1), li(2, 0x2000), ld(3, 2), li(1, 9), sys()];
    for tier in [Tier::Interp, Tier::Jit] {
        let mut mem = GuardedMem::new(&code);
        let mut e = engine(tier);
        for _ in 0..3 {
            let (stop, r) = run(&mut e, &mut mem, BASE);
            assert_eq!(
                stop,
                Stop::Fault {
                    fault: mimic_ir::MemFault { addr: 0x2000, write: false, kind: mimic_ir::FaultKind::Protection },
                    pc: BASE + 8
                },
                "{tier:?}"
            );
            assert_eq!(r[1], 1, "{tier:?}: later instructions did not run");
            assert_eq!(r[2], 0x2000);
        }
        if tier == Tier::Jit {
            assert!(e.stats().regions_compiled >= 1);
        }
    }
}

#[test]
fn threads_share_one_code_cache() {
    use mimic_runtime::CodeCache;
    let code = sum_program(2000);
    let (_, want) = model(&mut program(&code), BASE);
    for tier in [Tier::Jit, Tier::Auto { threshold: 8 }] {
        let cache = CodeCache::new(Toy::new(), EngineConfig { tier, ..EngineConfig::default() });
        let handles: Vec<_> = (0..4)
            .map(|_| {
                let cache = cache.clone();
                let code = code.clone();
                std::thread::spawn(move || {
                    let mut e = Engine::with_cache(cache);
                    let mut mem = program(&code);
                    let mut results = Vec::new();
                    for _ in 0..5 {
                        results.push(run(&mut e, &mut mem, BASE));
                    }
                    results
                })
            })
            .collect();
        for h in handles {
            for (stop, regs) in h.join().unwrap() {
                assert_eq!(stop, Stop::Syscall, "{tier:?}");
                assert_eq!(regs, want, "{tier:?}");
            }
        }
        // Each region was translated once, whichever thread got there first.
        let mut single = engine(tier);
        run(&mut single, &mut program(&code), BASE);
        assert_eq!(cache.stats().regions_translated, single.stats().regions_translated, "{tier:?}");
    }
}

#[test]
fn invalidation_reaches_every_thread_sharing_the_cache() {
    let code = vec![call(7, 2), sys(), li(3, 5), ret(7)];
    let mut a = engine(Tier::Jit);
    let mut b = Engine::with_cache(a.cache().clone());
    let mut mem_a = program(&code);
    let mut mem_b = program(&code);
    for _ in 0..2 {
        assert_eq!(run(&mut a, &mut mem_a, BASE).1[3], 5);
        assert_eq!(run(&mut b, &mut mem_b, BASE).1[3], 5);
    }
    mem_a.write_bytes(BASE + 8, &li(3, 7)).unwrap();
    mem_b.write_bytes(BASE + 8, &li(3, 7)).unwrap();
    assert_eq!(a.invalidate(BASE + 8..BASE + 12), 1);
    // B never called invalidate itself: its private map and lookup table are dropped
    // because the cache generation changed.
    assert_eq!(run(&mut b, &mut mem_b, BASE).1[3], 7);
    assert_eq!(run(&mut a, &mut mem_a, BASE).1[3], 7);
}

#[test]
fn chained_regions_see_their_own_pc_in_the_pc_slot() {
    use mimic_runtime::irprog::IrProgram;
    // Region 0x20 records the pc slot it sees; it is reached through a chained exit
    // from 0x10 (and loops back 50 times), so the dispatcher does not set the pc.
    let text = "state p pc=pc {
  pc: i64
  seen: i64
  n: i64
}
region @0x10 state=p insns=1 {
block0:
  insn 0x10
  exit_jump 0x20
}
region @0x20 state=p insns=1 {
block0:
  insn 0x20
  v0:i64 = get_slot pc
  v1:i64 = get_slot seen
  v2:i64 = add v0, v1
  set_slot seen, v2
  v3:i64 = get_slot n
  v4:i64 = iconst 1
  v5:i64 = add v3, v4
  set_slot n, v5
  v6:i64 = iconst 50
  v7:i1 = icmp ult v5, v6
  brif v7, block1(), block2()
block1:
  exit_jump 0x10
block2:
  exit_syscall 0x30
}
";
    for tier in [Tier::Interp, Tier::Jit] {
        let prog = IrProgram::parse(text).unwrap();
        let mut e = Engine::new(prog, EngineConfig { tier, ..EngineConfig::default() });
        let l = e.layout().clone();
        let mut st = StateBuf::new(&l);
        st.set(&l, l.pc, 0x10);
        let mut mem = FlatGuestMem::new(0x1000, 16).trust_accesses();
        assert_eq!(e.run(&mut st, &mut mem).unwrap(), Stop::Syscall);
        assert_eq!(st.get(&l, l.expect("seen")), 50 * 0x20, "{tier:?}");
        if tier == Tier::Jit {
            assert!(e.stats().chain_hits > 90, "{:?}", e.stats());
        }
    }
}

/// Guest memory shared by two guest threads (a plain host buffer).
#[derive(Clone)]
struct SharedMem {
    buf: Arc<Vec<std::sync::atomic::AtomicU8>>,
}

impl SharedMem {
    fn new(code: &[[u8; 4]]) -> SharedMem {
        let m = SharedMem { buf: Arc::new((0..4096).map(|_| std::sync::atomic::AtomicU8::new(0)).collect()) };
        for (i, w) in code.iter().enumerate() {
            mimic_ir::Memory::write(&mut m.clone(), BASE + 4 * i as u64, w).unwrap();
        }
        m
    }
    /// The buffer as plain bytes (AtomicU8 has u8's layout and allows shared writes).
    fn ptr(&self) -> *mut u8 {
        self.buf.as_ptr() as *mut u8
    }
}

impl mimic_ir::Memory for SharedMem {
    fn read(&mut self, addr: u64, out: &mut [u8]) -> Result<(), mimic_ir::MemFault> {
        let off = addr.checked_sub(BASE).filter(|o| o + out.len() as u64 <= 4096).ok_or(mimic_ir::MemFault {
            addr,
            write: false,
            kind: mimic_ir::FaultKind::Unmapped,
        })?;
        // SAFETY: in bounds of the shared buffer.
        unsafe { std::ptr::copy_nonoverlapping(self.ptr().add(off as usize), out.as_mut_ptr(), out.len()) };
        Ok(())
    }
    fn write(&mut self, addr: u64, data: &[u8]) -> Result<(), mimic_ir::MemFault> {
        let off = addr.checked_sub(BASE).filter(|o| o + data.len() as u64 <= 4096).ok_or(mimic_ir::MemFault {
            addr,
            write: true,
            kind: mimic_ir::FaultKind::Unmapped,
        })?;
        // SAFETY: in bounds of the shared buffer.
        unsafe { std::ptr::copy_nonoverlapping(data.as_ptr(), self.ptr().add(off as usize), data.len()) };
        Ok(())
    }
}

impl mimic_runtime::GuestMemory for SharedMem {
    fn host_base(&mut self) -> *mut u8 {
        self.ptr().wrapping_sub(BASE as usize)
    }
    fn jit_safe(&self) -> bool {
        true
    }
}

use std::sync::Arc;

#[test]
fn invalidation_kicks_a_thread_spinning_in_a_compiled_loop() {
    for tier in [Tier::Jit, Tier::Interp] {
        // Thread B spins in `loop: li r1, 1; bnz r1, loop` forever: one region with an
        // in-region loop, so no chain slot is involved and only the kick can stop it.
        let mem = SharedMem::new(&[li(1, 1), bnz(1, -1)]);
        let a = engine(tier);
        let cache = a.cache().clone();
        let mut bmem = mem.clone();
        let b = std::thread::spawn(move || {
            let mut e = Engine::with_cache(cache);
            run(&mut e, &mut bmem, BASE).0
        });
        std::thread::sleep(std::time::Duration::from_millis(100));
        // Thread A rewrites the branch into `sys` and invalidates it.
        let mut amem = mem.clone();
        mimic_ir::Memory::write(&mut amem, BASE + 4, &sys()).unwrap();
        assert_eq!(a.cache().invalidate(BASE + 4..BASE + 8), 1);
        let start = std::time::Instant::now();
        while !b.is_finished() {
            assert!(start.elapsed().as_secs() < 10, "{tier:?}: thread B never left the stale loop");
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        assert_eq!(b.join().unwrap(), Stop::Syscall, "{tier:?}");
    }
}
