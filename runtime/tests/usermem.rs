//! User-mode guest memory: Linux mapping semantics, and identical guest faults in the
//! interpreter and in compiled code (host protections mirror guest protections).

use mimic_frontend::toy::{asm::*, Toy};
use mimic_ir::{FaultKind, MemFault, Memory, StateBuf};
use mimic_runtime::usermem::{MemError, Placement, Prot, UserMemory, PAGE};
use mimic_runtime::{Engine, EngineConfig, Stop, Tier};

#[test]
fn mapping_follows_linux_semantics() {
    let mut m = UserMemory::new(32).unwrap();
    let a = m.map(Placement::Hint(0), 3 * PAGE, Prot::RW).unwrap();
    let b = m.map(Placement::Hint(0), PAGE, Prot::RW).unwrap();
    assert_eq!(a % PAGE, 0);
    assert!(b + PAGE <= a || a + 3 * PAGE <= b, "kernel-chosen mappings overlap");
    assert!(b < a, "kernel-chosen mappings grow down");
    // A hint that is free is honoured.
    assert_eq!(m.map(Placement::Hint(0x4000_0000), PAGE, Prot::R).unwrap(), 0x4000_0000);
    // Fixed replaces, NoReplace refuses.
    assert_eq!(m.map(Placement::FixedNoReplace(a), PAGE, Prot::RW), Err(MemError::Exists));
    m.write(a + 8, &[1, 2, 3]).unwrap();
    assert_eq!(m.map(Placement::Fixed(a), PAGE, Prot::RW).unwrap(), a);
    let mut buf = [9u8; 3];
    m.read(a + 8, &mut buf).unwrap();
    assert_eq!(buf, [0, 0, 0], "a fixed mapping gives fresh zero pages");
    // Errors.
    assert_eq!(m.map(Placement::Fixed(a + 1), PAGE, Prot::RW), Err(MemError::Invalid));
    assert_eq!(m.map(Placement::Hint(0), 0, Prot::RW), Err(MemError::Invalid));
    assert_eq!(m.map(Placement::Fixed(1 << 32), PAGE, Prot::RW), Err(MemError::NoMemory));
    assert_eq!(m.map(Placement::Fixed(0), PAGE, Prot::RW), Err(MemError::NoMemory));
    assert_eq!(MemError::Exists.errno(), libc::EEXIST);
    // mprotect over a hole fails; munmap over a hole does not.
    assert_eq!(m.protect(a, 4 * PAGE + PAGE * 100, Prot::R), Err(MemError::NoMemory));
    m.protect(a + PAGE, PAGE, Prot::R).unwrap();
    assert_eq!(
        m.write(a + PAGE + 4, &[1]),
        Err(MemFault { addr: a + PAGE + 4, write: true, kind: FaultKind::Protection })
    );
    m.write(a + 2 * PAGE, &[1]).unwrap();
    m.unmap(a + 2 * PAGE, 100 * PAGE).unwrap();
    assert_eq!(
        m.read(a + 2 * PAGE, &mut buf),
        Err(MemFault { addr: a + 2 * PAGE, write: false, kind: FaultKind::Unmapped })
    );
    // An access straddling into an unmapped page names the first bad byte.
    assert_eq!(
        m.read(a + 2 * PAGE - 1, &mut buf),
        Err(MemFault { addr: a + 2 * PAGE, write: false, kind: FaultKind::Unmapped })
    );
}

#[test]
fn brk_grows_and_shrinks_by_pages() {
    let mut m = UserMemory::new(32).unwrap();
    m.set_brk_base(0x10_0123);
    let base = m.brk(0);
    assert_eq!(base, 0x10_1000);
    assert_eq!(m.brk(base + 10_000), base + 10_000);
    m.write(base + 9_999, &[7]).unwrap();
    assert_eq!(m.brk(base + 100), base + 100);
    assert!(m.read(base + 9_999, &mut [0]).is_err(), "shrinking unmaps");
    assert_eq!(m.brk(base + 10_000), base + 10_000);
    let mut b = [1u8];
    m.read(base + 9_999, &mut b).unwrap();
    assert_eq!(b, [0], "regrown memory is zeroed");
    assert_eq!(m.brk(base - PAGE), base + 10_000, "below the start: unchanged");
    // A mapping in the way stops growth.
    m.map(Placement::Fixed(base + 4 * PAGE), PAGE, Prot::RW).unwrap();
    assert_eq!(m.brk(base + 8 * PAGE), base + 10_000);
}

const CODE: u64 = 0x1_0000;
const DATA: u64 = 0x2_0000;
const RODATA: u64 = 0x3_0000;

/// Run `code` at CODE with r2 = `addr`, in a 2^32 address space with an RX code page,
/// an RW data page and a read-only page.
fn run_at(tier: Tier, code: &[[u8; 4]], addr: u64) -> (Stop, u64, u64) {
    let mut m = UserMemory::new(32).unwrap();
    m.map(Placement::Fixed(CODE), PAGE, Prot::RW).unwrap();
    for (i, w) in code.iter().enumerate() {
        m.write(CODE + 4 * i as u64, w).unwrap();
    }
    m.protect(CODE, PAGE, Prot::RX).unwrap();
    m.map(Placement::Fixed(DATA), PAGE, Prot::RW).unwrap();
    m.map(Placement::Fixed(RODATA), PAGE, Prot::R).unwrap();
    let mut e = Engine::new(Toy::new(), EngineConfig { tier, ..EngineConfig::default() });
    let l = e.layout().clone();
    let mut st = StateBuf::new(&l);
    st.set(&l, l.pc, CODE as u128);
    st.set(&l, l.expect("r2"), addr as u128);
    st.set(&l, l.expect("r4"), 0x55);
    let stop = e.run(&mut st, &mut m).unwrap();
    (stop, st.get(&l, l.expect("r1")) as u64, st.get(&l, l.expect("r3")) as u64)
}

#[test]
fn guest_faults_are_identical_in_both_tiers() {
    // r1 = 1; st r4 -> [r2]; ld r3 <- [r2]; r1 = 2; sys
    let code = [li(1, 1), st(4, 2), ld(3, 2), li(1, 2), sys()];
    let cases = [
        (DATA + 16, None),
        (RODATA + 8, Some(MemFault { addr: RODATA + 8, write: true, kind: FaultKind::Protection })),
        (0x5_0000, Some(MemFault { addr: 0x5_0000, write: true, kind: FaultKind::Unmapped })),
        // Beyond the 4 GiB guest space: compiled code's bound check, not the host.
        (0x1_2345_0000, Some(MemFault { addr: 0x1_2345_0000, write: true, kind: FaultKind::Unmapped })),
        (u64::MAX - 3, Some(MemFault { addr: u64::MAX - 3, write: true, kind: FaultKind::Unmapped })),
    ];
    for (addr, fault) in cases {
        for tier in [Tier::Interp, Tier::Jit] {
            let (stop, r1, r3) = run_at(tier, &code, addr);
            match fault {
                None => {
                    assert_eq!(stop, Stop::Syscall, "{tier:?} {addr:#x}");
                    assert_eq!((r1, r3), (2, 0x55));
                }
                Some(f) => {
                    assert_eq!(stop, Stop::Fault { fault: f, pc: CODE + 4 }, "{tier:?} {addr:#x}");
                    assert_eq!(r1, 1, "{tier:?}: state is that of the faulting instruction");
                }
            }
        }
    }
}

#[test]
fn code_must_be_executable() {
    let mut m = UserMemory::new(32).unwrap();
    m.map(Placement::Fixed(DATA), PAGE, Prot::RW).unwrap();
    m.write(DATA, &sys()).unwrap();
    let mut e = Engine::new(Toy::new(), EngineConfig::default());
    let l = e.layout().clone();
    let mut st = StateBuf::new(&l);
    st.set(&l, l.pc, DATA as u128);
    assert_eq!(e.run(&mut st, &mut m).unwrap(), Stop::NoCode { pc: DATA });
}

/// Compiled code checks the base register of a displaced access against the address
/// space, once per block, and leaves the rest to the guard pages on both sides of the
/// space: every combination of base and displacement must fault (or not) exactly as in
/// the interpreter, which checks each address.
#[test]
fn displaced_accesses_near_the_bounds_fault_as_in_the_interpreter() {
    const TOP: u64 = 0xffff_f000; // the last page of the 2^32 space, RW
    const WORD: u64 = 0x9abc_def0; // at TOP + 0xff8 (toy loads are 32-bit)
    let unmapped = |addr| MemFault { addr, write: false, kind: FaultKind::Unmapped };
    // r1 counts the instructions done; r3 = [r2 + k]; then r6 = [r2].
    let code = |k: i8| vec![li(1, 1), addi(5, 2, k), ld(3, 5), li(1, 2), ld(6, 2), li(1, 3), sys()];
    // (r2, k, the fault and the r1 at it, or None: all done, r3 = WORD)
    /// The fault and the r1 at it.
    type Expect = Option<(MemFault, u64)>;
    let cases: [(u64, i8, Expect); 6] = [
        // In bounds, displaced past the end: the upper guard.
        (TOP + 0xff8, 16, Some((unmapped(1 << 32 | 8), 1))),
        // Out of bounds, displaced back in: the exact check lets it through; the same
        // base undisplaced then faults (in the guard, unchecked).
        ((1 << 32) + 8, -16, Some((unmapped(1 << 32 | 8), 2))),
        // In bounds, displaced below 0: the lower guard.
        (8, -16, Some((unmapped(u64::MAX - 7), 1))),
        // Far out: the bound check.
        (0x7_0000_0000, -16, Some((unmapped(0x6_ffff_fff0), 1))),
        // Wrapping around into the space (page 0 is never mapped).
        (u64::MAX - 7, 16, Some((unmapped(8), 1))),
        // In bounds: both loads.
        (TOP + 0xff8, 0, None),
    ];
    for (r2, k, fault) in cases {
        for tier in [Tier::Interp, Tier::Jit] {
            let mut m = UserMemory::new(32).unwrap();
            m.map(Placement::Fixed(CODE), PAGE, Prot::RW).unwrap();
            for (i, w) in code(k).iter().enumerate() {
                m.write(CODE + 4 * i as u64, w).unwrap();
            }
            m.protect(CODE, PAGE, Prot::RX).unwrap();
            m.map(Placement::Fixed(TOP), PAGE, Prot::RW).unwrap();
            m.write(TOP + 0xff8, &(WORD as u32).to_le_bytes()).unwrap();
            let mut e = Engine::new(Toy::new(), EngineConfig { tier, ..EngineConfig::default() });
            let l = e.layout().clone();
            let mut st = StateBuf::new(&l);
            st.set(&l, l.pc, CODE as u128);
            st.set(&l, l.expect("r2"), r2 as u128);
            let stop = e.run(&mut st, &mut m).unwrap();
            let get = |r| st.get(&l, l.expect(r)) as u64;
            match fault {
                None => {
                    assert_eq!(stop, Stop::Syscall, "{tier:?} {r2:#x}{k:+}");
                    assert_eq!((get("r1"), get("r3"), get("r6")), (3, WORD, WORD), "{tier:?} {r2:#x}{k:+}");
                }
                Some((f, r1)) => {
                    let pc = if r1 == 1 { CODE + 8 } else { CODE + 16 };
                    assert_eq!(stop, Stop::Fault { fault: f, pc }, "{tier:?} {r2:#x}{k:+}");
                    assert_eq!(get("r1"), r1, "{tier:?} {r2:#x}{k:+}");
                }
            }
        }
    }
}

/// A 32-bit user memory with `code` at CODE (read-only, executable) and `N_WORDS`
/// 32-bit words at DATA, the i-th `word(i)`.
fn loop_memory(code: &[[u8; 4]], word: impl Fn(u64) -> u64) -> UserMemory {
    let mut m = UserMemory::new(32).unwrap();
    m.map(Placement::Fixed(CODE), PAGE, Prot::RW).unwrap();
    for (i, w) in code.iter().enumerate() {
        m.write(CODE + 4 * i as u64, w).unwrap();
    }
    m.protect(CODE, PAGE, Prot::RX).unwrap();
    m.map(Placement::Fixed(DATA), PAGE, Prot::RW).unwrap();
    for i in 0..N_WORDS {
        m.write(DATA + 4 * i, &(word(i) as u32).to_le_bytes()).unwrap();
    }
    m
}
const N_WORDS: u64 = PAGE / 4;

/// A loop whose only effects are loads is compiled speculatively: its registers reach
/// the state buffer only when it is left. When it runs off the end of its data into an
/// unmapped page, the fault must still be precise (the registers as at the faulting
/// load, after 1024 iterations), exactly as in the interpreter.
#[test]
fn a_fault_inside_a_speculative_loop_is_precise() {
    const N: u64 = N_WORDS;
    let code = [
        li(4, 5000),  // 0: iterations left (more than the page holds)
        j(1),         // 1: the loop starts a region
        ld(3, 2),     // 2: r3 = [r2]
        add(5, 5, 3), // 3: r5 += r3
        addi(2, 2, 4),
        addi(4, 4, -1),
        bnz(4, -4), // 6: back to 2
        sys(),
    ];
    let sum: u64 = (1..=N).map(|i| i * 7).sum();
    for tier in [Tier::Interp, Tier::Jit, Tier::Auto { threshold: 2 }] {
        let mut m = loop_memory(&code, |i| (i + 1) * 7);
        let mut e = Engine::new(Toy::new(), EngineConfig { tier, ..EngineConfig::default() });
        let l = e.layout().clone();
        let mut st = StateBuf::new(&l);
        st.set(&l, l.pc, CODE as u128);
        st.set(&l, l.expect("r2"), DATA as u128);
        let stop = e.run(&mut st, &mut m).unwrap();
        let fault = MemFault { addr: DATA + PAGE, write: false, kind: FaultKind::Unmapped };
        assert_eq!(stop, Stop::Fault { fault, pc: CODE + 8 }, "{tier:?}");
        let get = |r| st.get(&l, l.expect(r)) as u64;
        assert_eq!((get("r2"), get("r3"), get("r4"), get("r5")), (DATA + PAGE, N * 7, 5000 - N, sum), "{tier:?}");
        if tier == Tier::Jit {
            assert!(e.stats().fault_replays >= 1, "the compiled loop faulted and was re-run: {:?}", e.stats());
        }
    }
}

/// A compiled loop that also stores (not speculative: its registers go through to the
/// state buffer as they are written). A load fault after the store of the same
/// iteration, and a fault of the store itself, must both be precise, with every earlier
/// store done exactly once, as in the interpreter.
#[test]
fn faults_inside_a_compiled_loop_that_stores_are_precise() {
    const N: u64 = N_WORDS;
    const OUT: u64 = 0x4_0000; // where the running sums go
    let code = [
        li(4, 5000),  // 0: iterations left (more than a page holds)
        j(1),         // 1: the loop starts a region
        add(5, 5, 3), // 2: r5 += r3 (the previous iteration's word)
        st(5, 6),     // 3: [r6] = r5
        ld(3, 2),     // 4: r3 = [r2]
        addi(2, 2, 4),
        addi(6, 6, 4),
        addi(4, 4, -1),
        bnz(4, -6), // 8: back to 2
        sys(),
    ];
    let word = |i: u64| (i + 1) * 7; // the i-th input word
    let sum = |n: u64| (0..n).map(word).sum::<u64>(); // r5 in iteration n
                                                      // (r6 at the start, the faulting iteration, pc and address)
    let cases = [
        // The load runs off its page first (the output has two pages).
        (OUT, N, CODE + 16, DATA + PAGE),
        // The store runs off its page first, half-way through the input.
        (OUT + PAGE / 2, N / 2, CODE + 12, OUT + PAGE),
    ];
    for (r6, at, pc, addr) in cases {
        for tier in [Tier::Interp, Tier::Jit] {
            let mut m = loop_memory(&code, word);
            let out_pages = if r6 == OUT { 2 * PAGE } else { PAGE };
            m.map(Placement::Fixed(OUT), out_pages, Prot::RW).unwrap();
            let mut e = Engine::new(Toy::new(), EngineConfig { tier, ..EngineConfig::default() });
            let l = e.layout().clone();
            let mut st = StateBuf::new(&l);
            st.set(&l, l.pc, CODE as u128);
            st.set(&l, l.expect("r2"), DATA as u128);
            st.set(&l, l.expect("r6"), r6 as u128);
            let stop = e.run(&mut st, &mut m).unwrap();
            let write = pc == CODE + 12;
            let fault = MemFault { addr, write, kind: FaultKind::Unmapped };
            assert_eq!(stop, Stop::Fault { fault, pc }, "{tier:?}");
            let get = |r| st.get(&l, l.expect(r)) as u64;
            let regs = (get("r2"), get("r3"), get("r4"), get("r5"), get("r6"));
            let want = (DATA + 4 * at, word(at - 1), 5000 - at, sum(at), r6 + 4 * at);
            assert_eq!(regs, want, "{tier:?} r6={r6:#x}");
            // Every iteration stored its sum once (the load-fault case stored its own).
            let stored = if write { at } else { at + 1 };
            for i in [0, 1, stored / 2, stored - 1] {
                let mut b = [0u8; 4];
                m.read(r6 + 4 * i, &mut b).unwrap();
                assert_eq!(u32::from_le_bytes(b) as u64, sum(i), "{tier:?} output word {i}");
            }
        }
    }
}
