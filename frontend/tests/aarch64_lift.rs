//! A64 lifter semantics: lifted regions run in the IR interpreter and are compared with
//! values worked out by hand from the ARM ARM's pseudo-code. Every region must verify.
//!
//! Instruction words come from `aarch64-linux-gnu-as` (the assembly is in each comment).

use mimic_frontend::aarch64::{Aarch64, FOLLOW_DISTANCE, MAX_INSNS};
use mimic_frontend::Frontend;
use mimic_ir::interp::run;
use mimic_ir::*;

const CODE: u64 = 0x10000;
const DATA: u64 = 0x18000;
const STACK: u64 = 0x1f000;

struct Cpu {
    fe: Aarch64,
    st: StateBuf,
    mem: FlatMemory,
}

impl Cpu {
    fn new() -> Cpu {
        let fe = Aarch64::new();
        let st = StateBuf::new(&fe.layout());
        let mut cpu = Cpu { fe, st, mem: FlatMemory { base: CODE, data: vec![0; 0x10000] } };
        cpu.set("sp", STACK);
        cpu
    }
    fn set(&mut self, name: &str, v: u64) {
        let l = self.fe.layout();
        self.st.set(&l, l.expect(name), v as u128);
    }
    fn get(&self, name: &str) -> u64 {
        let l = self.fe.layout();
        self.st.get(&l, l.expect(name)) as u64
    }
    /// N, Z, C, V.
    fn nzcv(&self) -> [bool; 4] {
        ["n", "z", "c", "v"].map(|f| self.get(f) != 0)
    }
    fn set_nzcv(&mut self, f: [bool; 4]) {
        for (name, v) in ["n", "z", "c", "v"].iter().zip(f) {
            self.set(name, v as u64);
        }
    }
    fn write(&mut self, addr: u64, bytes: &[u8]) {
        let o = (addr - CODE) as usize;
        self.mem.data[o..o + bytes.len()].copy_from_slice(bytes);
    }
    fn read(&self, addr: u64, n: usize) -> &[u8] {
        let o = (addr - CODE) as usize;
        &self.mem.data[o..o + n]
    }
    fn read64(&self, addr: u64) -> u64 {
        u64::from_le_bytes(self.read(addr, 8).try_into().unwrap())
    }
    /// Place `words` at `pc`, translate one region of at most those words there, verify it and run it.
    fn run_at(&mut self, pc: u64, words: &[u32]) -> Exit {
        for (i, w) in words.iter().enumerate() {
            self.write(pc + 4 * i as u64, &w.to_le_bytes());
        }
        // Only the given words are fetchable: the region ends after them.
        let data = &self.mem.data;
        let end = pc + 4 * words.len() as u64;
        let lifted = self
            .fe
            .translate(pc, &mut |a, buf: &mut [u8]| {
                if a < pc || a + buf.len() as u64 > end {
                    return Err(MemFault { addr: a, write: false, kind: FaultKind::Unmapped });
                }
                let o = (a - CODE) as usize;
                buf.copy_from_slice(&data[o..o + buf.len()]);
                Ok(())
            })
            .expect("translate");
        if let Err(e) = verify(&lifted.region) {
            panic!("{e}\n{}", print(&lifted.region));
        }
        run(&lifted.region, &mut self.st, &mut self.mem, &RunControl::default())
    }
    fn run(&mut self, words: &[u32]) -> Exit {
        self.run_at(CODE, words)
    }
}

fn next(n: u64) -> Exit {
    Exit::Jump { pc: CODE + 4 * n, hint: ExitHint::None, ret: 0, index: 0 }
}

/// The ARM ARM's AddWithCarry, with wide integers.
fn add_with_carry(x: u64, y: u64, carry: bool) -> (u64, [bool; 4]) {
    let unsigned = x as u128 + y as u128 + carry as u128;
    let signed = x as i64 as i128 + y as i64 as i128 + carry as i128;
    let r = unsigned as u64;
    (r, [r >> 63 == 1, r == 0, r as u128 != unsigned, r as i64 as i128 != signed])
}

#[test]
fn adds_flags() {
    let mut c = Cpu::new();
    c.set("x1", 0x7fff_ffff_ffff_ffff);
    c.set("x2", 1);
    assert_eq!(c.run(&[0xab020020]), next(1)); // adds x0, x1, x2
    assert_eq!(c.get("x0"), 0x8000_0000_0000_0000);
    assert_eq!(c.nzcv(), [true, false, false, true]);
    c.set("x1", u64::MAX);
    c.run(&[0xb1000420]); // adds x0, x1, #1
    assert_eq!((c.get("x0"), c.nzcv()), (0, [false, true, true, false]));
    for (x, y) in [(1, 2), (u64::MAX, u64::MAX), (0x8000_0000_0000_0000, 0x8000_0000_0000_0000), (0, 0)] {
        c.set("x1", x);
        c.set("x2", y);
        c.run(&[0xab020020]);
        assert_eq!((c.get("x0"), c.nzcv()), add_with_carry(x, y, false), "{x:#x} + {y:#x}");
    }
}

#[test]
fn subs_carry_is_not_borrow() {
    let mut c = Cpu::new();
    // (x1, x2) -> x1 - x2 = x1 + NOT(x2) + 1 in the ARM ARM.
    for (x, y) in [(5u64, 3u64), (3, 5), (7, 7), (0, 1), (0x8000_0000_0000_0000, 1), (0, 0x8000_0000_0000_0000)] {
        c.set("x1", x);
        c.set("x2", y);
        c.run(&[0xeb020020]); // subs x0, x1, x2
        let want = add_with_carry(x, !y, true);
        assert_eq!((c.get("x0"), c.nzcv()), want, "{x:#x} - {y:#x}");
    }
    c.set("x1", 5);
    c.set("x2", 3);
    c.run(&[0xeb020020]);
    assert_eq!(c.nzcv(), [false, false, true, false], "5 - 3: no borrow, so C is set");
    c.set("x0", 0x1234);
    c.set("x1", 3);
    c.set("x2", 5);
    c.run(&[0xeb02003f]); // cmp x1, x2 (subs xzr): x0 untouched, C clear
    assert_eq!((c.get("x0"), c.nzcv()), (0x1234, [true, false, false, false]));
    // 32-bit: subs w0, w1, w2 with 0 - 1 sets N, clears C, zero-extends into x0.
    c.set("x1", 0xffff_ffff_0000_0000);
    c.set("x2", 1);
    c.run(&[0x6b020020]);
    assert_eq!((c.get("x0"), c.nzcv()), (0xffff_ffff, [true, false, false, false]));
    // adds w0, w1, w2, lsl #1: 0x40000000 + 0x20000000*2 overflows 32 bits signed.
    c.set("x1", 0x4000_0000);
    c.set("x2", 0x2000_0000);
    c.run(&[0x2b020420]);
    assert_eq!((c.get("x0"), c.nzcv()), (0x8000_0000, [true, false, false, true]));
}

#[test]
fn w_forms_zero_extend() {
    let mut c = Cpu::new();
    c.set("x1", u64::MAX);
    c.set("x2", 1);
    c.run(&[0x0b020020]); // add w0, w1, w2
    assert_eq!(c.get("x0"), 0);
    c.set("x0", u64::MAX);
    c.run(&[0x12800000]); // movn w0, #0  (mov w0, #0xffffffff)
    assert_eq!(c.get("x0"), 0xffff_ffff);
}

#[test]
fn bitmask_immediates() {
    let mut c = Cpu::new();
    c.set("x1", 0x1234_5678_9abc_def0);
    c.run(&[0x92401c20]); // and x0, x1, #0xff
    assert_eq!(c.get("x0"), 0xf0);
    c.run(&[0x3200f3e0]); // orr w0, wzr, #0x55555555
    assert_eq!(c.get("x0"), 0x5555_5555);
    c.run(&[0xd2410420]); // eor x0, x1, #0x8000000000000001
    assert_eq!(c.get("x0"), 0x1234_5678_9abc_def0 ^ 0x8000_0000_0000_0001);
    c.run(&[0xb2009fe0]); // orr x0, xzr, #0x00ff00ff00ff00ff
    assert_eq!(c.get("x0"), 0x00ff_00ff_00ff_00ff);
    c.set_nzcv([false, false, true, true]);
    c.run(&[0xf27c0c20]); // ands x0, x1, #0xf0
    assert_eq!((c.get("x0"), c.nzcv()), (0xf0, [false, false, false, false]));
    c.set("x1", 0x0f);
    c.run(&[0xf27c0c20]);
    assert_eq!((c.get("x0"), c.nzcv()), (0, [false, true, false, false]));
}

#[test]
fn bitfield_moves() {
    let mut c = Cpu::new();
    let x1 = 0x8123_4567_89ab_cdefu64;
    c.set("x1", x1);
    c.set("x0", 0xffff_ffff_ffff_ffff);
    let cases: &[(u32, u64, &str)] = &[
        (0xd344fc20, x1 >> 4, "lsr x0, x1, #4 (ubfm x0, x1, #4, #63)"),
        (0x53010020, (x1 & 1) << 31, "lsl w0, w1, #31"),
        (0xd3484c20, (x1 >> 8) & 0xfff, "ubfx x0, x1, #8, #12"),
        (0x93442c20, ((x1 >> 4) & 0xff) as u8 as i8 as i64 as u64, "sbfx x0, x1, #4, #8"),
        (0x13047c20, ((x1 as u32 as i32) >> 4) as u32 as u64, "asr w0, w1, #4"),
        (0x93401c20, x1 as u8 as i8 as i64 as u64, "sxtb x0, w1"),
    ];
    for &(w, want, what) in cases {
        c.run(&[w]);
        assert_eq!(c.get("x0"), want, "{what}");
    }
    // bfi x0, x1, #8, #16: x0<23:8> = x1<15:0>.
    c.set("x0", 0x1111_1111_1111_1111);
    c.run(&[0xb3783c20]);
    assert_eq!(c.get("x0"), 0x1111_1111_11cd_ef11);
    // bfxil x0, x1, #4, #8: x0<7:0> = x1<11:4>.
    c.set("x0", 0x1111_1111_1111_1111);
    c.run(&[0xb3442c20]);
    assert_eq!(c.get("x0"), 0x1111_1111_1111_11de);
    // extr x0, x1, x2, #8 and ror x0, x1, #8.
    c.set("x2", 0x0011_2233_4455_6677);
    c.run(&[0x93c22020]);
    assert_eq!(c.get("x0"), (x1 << 56) | (0x0011_2233_4455_6677 >> 8));
    c.run(&[0x93c12020]);
    assert_eq!(c.get("x0"), x1.rotate_right(8));
}

#[test]
fn loads_and_stores() {
    let mut c = Cpu::new();
    c.write(DATA, &[0x80, 0x81, 0x82, 0x83, 0x00, 0x00, 0x00, 0x80, 0xaa, 0xbb]);
    c.set("x1", DATA);
    c.run(&[0xb9800420]); // ldrsw x0, [x1, #4]
    assert_eq!(c.get("x0"), 0xffff_ffff_8000_0000);
    c.run(&[0x39c00020]); // ldrsb w0, [x1]: sign-extended to 32 bits, zero above
    assert_eq!(c.get("x0"), 0xffff_ff80);
    c.set("x2", 1);
    c.run(&[0x78a27820]); // ldrsh x0, [x1, x2, lsl #1]
    assert_eq!(c.get("x0"), 0xffff_ffff_ffff_8382);
    c.set("x2", (-1i64) as u64);
    c.run(&[0xb862d820]); // ldr w0, [x1, w2, sxtw #2]: address DATA - 4
    assert_eq!(c.get("x0"), 0);
    c.set("x2", 1);
    c.run(&[0xb862d820]); // ldr w0, [x1, w2, sxtw #2]: address DATA + 4
    assert_eq!(c.get("x0"), 0x8000_0000);
    // Pre- and post-index write back the base.
    c.run(&[0xf8408c20]); // ldr x0, [x1, #8]!
    assert_eq!((c.get("x0"), c.get("x1")), (0xbbaa, DATA + 8));
    c.run(&[0xf85f8420]); // ldr x0, [x1], #-8
    assert_eq!((c.get("x0"), c.get("x1")), (0xbbaa, DATA));
    c.set("x0", 0x1ff);
    c.set("x1", DATA + 0x20);
    c.run(&[0x381ffc20]); // strb w0, [x1, #-1]!
    assert_eq!((c.read(DATA + 0x1f, 2), c.get("x1")), (&[0xff, 0][..], DATA + 0x1f));
    // str wzr, [x1]: register 31 is the zero register.
    c.write(DATA + 0x40, &[0xff; 8]);
    c.set("x1", DATA + 0x40);
    c.run(&[0xb900003f]);
    assert_eq!(c.read64(DATA + 0x40), 0xffff_ffff_0000_0000);
}

#[test]
fn pairs_with_writeback() {
    let mut c = Cpu::new();
    c.set("x29", 0x2929);
    c.set("x30", 0x3030);
    // stp x29, x30, [sp, #-16]!; ldp x0, x1, [sp], #16
    assert_eq!(c.run(&[0xa9bf7bfd, 0xa8c107e0]), next(2));
    assert_eq!((c.read64(STACK - 16), c.read64(STACK - 8)), (0x2929, 0x3030));
    assert_eq!((c.get("x0"), c.get("x1"), c.get("sp")), (0x2929, 0x3030, STACK));
    // ldur x0, [sp, #-8]: unscaled, no writeback.
    c.run(&[0xf85f83e0]);
    assert_eq!((c.get("x0"), c.get("sp")), (0x3030, STACK));
}

#[test]
fn register_31_is_sp_or_zr() {
    let mut c = Cpu::new();
    c.run(&[0x910043ff]); // add sp, sp, #16
    assert_eq!(c.get("sp"), STACK + 16);
    c.set("x1", 7);
    c.run(&[0xaa0103e0]); // orr x0, xzr, x1
    assert_eq!(c.get("x0"), 7);
    c.set("x1", STACK + 16);
    c.run(&[0xeb2163ff]); // cmp sp, x1 (subs xzr, sp, x1, uxtx)
    assert_eq!(c.nzcv(), [false, true, true, false]);
    c.set("x1", 1);
    c.run(&[0xcb2153ff]); // sub sp, sp, w1, uxtw #4
    assert_eq!(c.get("sp"), STACK);
}

#[test]
fn multiply_divide_shift_select() {
    let mut c = Cpu::new();
    c.set("x1", 6);
    c.set("x2", 7);
    c.set("x3", 100);
    c.run(&[0x9b020c20]); // madd x0, x1, x2, x3
    assert_eq!(c.get("x0"), 142);
    c.run(&[0x9b028c20]); // msub x0, x1, x2, x3
    assert_eq!(c.get("x0"), 58);
    c.set("x2", 0);
    c.run(&[0x9ac20820]); // udiv x0, x1, x2: division by zero gives 0
    assert_eq!(c.get("x0"), 0);
    c.set("x1", (-7i64) as u64);
    c.set("x2", 2);
    c.run(&[0x1ac20c20]); // sdiv w0, w1, w2
    assert_eq!(c.get("x0"), (-3i32) as u32 as u64);
    c.set("x1", 1);
    c.set("x2", 65);
    c.run(&[0x9ac22020]); // lsl x0, x1, x2: amount mod 64
    assert_eq!(c.get("x0"), 2);
    c.set("x1", (-16i64) as u64);
    c.set("x2", 2);
    c.run(&[0x9ac22820]); // asr x0, x1, x2
    assert_eq!(c.get("x0"), (-4i64) as u64);
    c.set("x1", 10);
    c.set("x2", 20);
    for (flags, w, want) in [
        ([false, true, false, false], 0x9a820020u32, 10u64), // csel eq, Z set
        ([false, false, false, false], 0x9a820020, 20),      // csel eq, Z clear
        ([false, true, false, false], 0x9a821420, 21),       // csinc ne, Z set: x2 + 1
        ([true, false, false, false], 0xda82a020, !20),      // csinv ge, N != V: NOT x2
        ([true, false, false, false], 0xda82b420, 10),       // csneg lt, N != V: x1
        ([false, false, false, false], 0xda82b420, (-20i64) as u64), // csneg lt false: -x2
    ] {
        c.set_nzcv(flags);
        c.run(&[w]);
        assert_eq!(c.get("x0"), want, "{w:08x} with {flags:?}");
    }
    c.set("x0", 0x1111_2222_3333_4444);
    c.run(&[0xf2b7dde0]); // movk x0, #0xbeef, lsl #16
    assert_eq!(c.get("x0"), 0x1111_2222_beef_4444);
}

#[test]
fn branches_and_exits() {
    let mut c = Cpu::new();
    let taken = |off: u64| Exit::Jump { pc: CODE + off, hint: ExitHint::None, ret: 0, index: 1 };
    // b.ne +8 with Z clear (taken) and set (fall through).
    c.set_nzcv([false, false, false, false]);
    assert_eq!(c.run(&[0x54000041]), taken(8));
    c.set_nzcv([false, true, false, false]);
    assert_eq!(c.run(&[0x54000041]), next(1));
    // cbz x0, +8; cbnz w0, +8 (upper half ignored).
    c.set("x0", 0);
    assert_eq!(c.run(&[0xb4000040]), taken(8));
    c.set("x0", 0xffff_ffff_0000_0000);
    assert_eq!(c.run(&[0x35000040]), next(1));
    // tbz x0, #33, +8; tbnz w0, #3, +4.
    c.set("x0", 1 << 33);
    assert_eq!(c.run(&[0xb6080040]), next(1));
    c.set("x0", 8);
    assert_eq!(c.run(&[0x37180020]), taken(4));
    // bl +0x100: x30 = pc + 4 and a call hint.
    assert_eq!(c.run(&[0x94000040]), Exit::Jump { pc: CODE + 0x100, hint: ExitHint::Call, ret: CODE + 4, index: 0 });
    assert_eq!(c.get("x30"), CODE + 4);
    // ret, blr x1, br x16.
    c.set("x30", 0x4444);
    assert_eq!(c.run(&[0xd65f03c0]), Exit::Indirect { pc: 0x4444, hint: ExitHint::Ret });
    c.set("x1", 0x5550);
    assert_eq!(c.run(&[0xd63f0020]), Exit::Indirect { pc: 0x5550, hint: ExitHint::Call });
    assert_eq!(c.get("x30"), CODE + 4);
    c.set("x16", 0x6660);
    assert_eq!(c.run(&[0xd61f0200]), Exit::Indirect { pc: 0x6660, hint: ExitHint::None });
    // b -0x20.
    assert_eq!(c.run(&[0x17fffff8]), Exit::Jump { pc: CODE - 0x20, hint: ExitHint::None, ret: 0, index: 0 });
    // svc #0, and an unallocated word.
    assert_eq!(c.run(&[0xd4000001]), Exit::Syscall { next_pc: CODE + 4 });
    assert_eq!(c.run(&[0xd503201f, 0xffff_ffff]), Exit::Trap { kind: TrapKind::Illegal, pc: CODE + 4 });
    // A reserved encoding: and w0, w1, #imm with N = 1.
    assert_eq!(c.run(&[0x12401c20]), Exit::Trap { kind: TrapKind::Illegal, pc: CODE });
}

#[test]
fn pc_relative() {
    let mut c = Cpu::new();
    let pc = CODE + 0x3c;
    c.run_at(pc, &[0x10000080]); // adr x0, pc + 0x10
    assert_eq!(c.get("x0"), pc + 0x10);
    c.run_at(pc, &[0xf0000000]); // adrp x0, page(pc) + 0x3000
    assert_eq!(c.get("x0"), (pc & !0xfff) + 0x3000);
    // ldr x0, pc + 8; ldrsw x0, pc + 8; ldr w0, pc + 8.
    c.write(pc + 8, &0x8765_4321_8000_0001u64.to_le_bytes());
    c.run_at(pc, &[0x58000040]);
    assert_eq!(c.get("x0"), 0x8765_4321_8000_0001);
    c.run_at(pc, &[0x98000040]);
    assert_eq!(c.get("x0"), 0xffff_ffff_8000_0001);
    c.run_at(pc, &[0x18000040]);
    assert_eq!(c.get("x0"), 0x8000_0001);
}

#[test]
fn conditional_branch_to_entry_loops_in_region() {
    let mut c = Cpu::new();
    c.set("x0", 5);
    // 1: subs x0, x0, #1; b.ne 1b  (entered at the subs)
    assert_eq!(c.run(&[0xf1000400, 0x54ffffe1]), next(2));
    assert_eq!((c.get("x0"), c.nzcv()), (0, [false, true, true, false]));
}

#[test]
fn regions_continue_at_nearby_unconditional_branch_targets() {
    // mov x0, #1; b 1f; .word 0; 1: add x0, x0, #2; b 2f; 2: b 1b
    let mut c = Cpu::new();
    let words = [0xd2800020, 0x14000002, 0x00000000, 0x91000800, 0x14000001, 0x17fffffe];
    // The data word is skipped; `b 1b` targets an instruction already in the region, so
    // the region ends there with a direct exit.
    assert_eq!(c.run(&words), Exit::Jump { pc: CODE + 0xc, hint: ExitHint::None, ret: 0, index: 0 });
    assert_eq!(c.get("x0"), 3);
    let bytes: Vec<u8> = words.iter().flat_map(|w: &u32| w.to_le_bytes()).collect();
    let mut fetch = |a: u64, buf: &mut [u8]| {
        let o = (a - CODE) as usize;
        match bytes.get(o..o + buf.len()) {
            Some(s) => {
                buf.copy_from_slice(s);
                Ok(())
            }
            None => Err(MemFault { addr: a, write: false, kind: FaultKind::Unmapped }),
        }
    };
    let lifted = c.fe.translate(CODE, &mut fetch).unwrap();
    assert_eq!(lifted.region.guest_insns, 5, "mov, b, add, b, b");
    assert_eq!(lifted.guest_bytes, CODE..CODE + 0x18);
    let pcs: Vec<u64> =
        c.fe.disassemble(&lifted.region, &mut fetch)
            .iter()
            .map(|l| u64::from_str_radix(l.split(':').next().unwrap().trim_start_matches("0x"), 16).unwrap())
            .collect();
    assert_eq!(pcs, [0, 4, 0xc, 0x10, 0x14].map(|o| CODE + o));
    // A branch further than FOLLOW_DISTANCE ends the region.
    let far = 0x14000000 | ((FOLLOW_DISTANCE as u32 + 4) >> 2);
    let mut c = Cpu::new();
    assert_eq!(
        c.run(&[far, 0x91000800]),
        Exit::Jump { pc: CODE + FOLLOW_DISTANCE + 4, hint: ExitHint::None, ret: 0, index: 0 }
    );
}

#[test]
fn regions_end_at_branches_and_max_length() {
    let mut c = Cpu::new();
    let nops = vec![0xd503201fu32; MAX_INSNS + 10];
    assert_eq!(c.run(&nops), next(MAX_INSNS as u64));
    let mut fe = Aarch64::new();
    let code: Vec<u8> = [0xd503201fu32, 0xd65f03c0, 0xd503201f].iter().flat_map(|w| w.to_le_bytes()).collect();
    let lifted = fe
        .translate(0x1000, &mut |a, buf: &mut [u8]| {
            let o = (a - 0x1000) as usize;
            match code.get(o..o + buf.len()) {
                Some(s) => {
                    buf.copy_from_slice(s);
                    Ok(())
                }
                None => Err(MemFault { addr: a, write: false, kind: FaultKind::Unmapped }),
            }
        })
        .unwrap();
    assert_eq!((lifted.region.guest_insns, lifted.guest_bytes), (2, 0x1000..0x1008));
    verify(&lifted.region).unwrap();
    let err = fe.translate(0x2000, &mut |a, _| Err(MemFault { addr: a, write: false, kind: FaultKind::Unmapped }));
    assert_eq!(err.unwrap_err(), mimic_frontend::TranslateError::Fetch { addr: 0x2000 });
}

#[test]
fn carry_chains_and_conditional_compares() {
    let mut c = Cpu::new();
    // adcs x0, x1, x2 with C set: AddWithCarry(x1, x2, 1).
    for (x, y, carry) in
        [(u64::MAX, 0, true), (0x7fff_ffff_ffff_ffff, 0, true), (1, 2, false), (u64::MAX, u64::MAX, true)]
    {
        c.set_nzcv([false, false, carry, false]);
        c.set("x1", x);
        c.set("x2", y);
        c.run(&[0xba020020]);
        assert_eq!((c.get("x0"), c.nzcv()), add_with_carry(x, y, carry), "adcs {x:#x} {y:#x} {carry}");
        // sbcs x0, x1, x2: AddWithCarry(x1, NOT x2, C).
        c.set_nzcv([false, false, carry, false]);
        c.run(&[0xfa020020]);
        assert_eq!((c.get("x0"), c.nzcv()), add_with_carry(x, !y, carry), "sbcs {x:#x} {y:#x} {carry}");
    }
    // sbc w0, w1, w2 with C clear: 5 - 3 - 1, zero-extended.
    c.set_nzcv([false, false, false, false]);
    c.set("x1", 0xffff_ffff_0000_0005);
    c.set("x2", 3);
    c.run(&[0x5a020020]);
    assert_eq!(c.get("x0"), 1);
    // ccmp x1, x2, #5, eq: Z set -> flags of x1 - x2; Z clear -> NZCV = 0101.
    c.set("x1", 3);
    c.set("x2", 3);
    c.set_nzcv([false, true, false, false]);
    c.run(&[0xfa420025]);
    assert_eq!(c.nzcv(), [false, true, true, false]);
    c.set_nzcv([true, false, false, false]);
    c.run(&[0xfa420025]);
    assert_eq!(c.nzcv(), [false, true, false, true]);
    // ccmn x1, #3, #2, ne: Z clear -> flags of x1 + 3 (x1 = -3 gives Z and C).
    c.set("x1", (-3i64) as u64);
    c.set_nzcv([false, false, false, false]);
    c.run(&[0xba431822]);
    assert_eq!(c.nzcv(), [false, true, true, false]);
    c.set_nzcv([false, true, false, false]);
    c.run(&[0xba431822]);
    assert_eq!(c.nzcv(), [false, false, true, false]);
}

#[test]
fn bit_counts_reversals_and_wide_multiplies() {
    let mut c = Cpu::new();
    let x1 = 0x0012_3456_789a_bcdeu64;
    c.set("x1", x1);
    for (w, want, what) in [
        (0xdac01020u32, 11u64, "clz x0, x1"),
        (0xdac00c20, x1.swap_bytes(), "rev x0, x1"),
        (0xdac00820, ((x1 as u32).swap_bytes() as u64) | (((x1 >> 32) as u32).swap_bytes() as u64) << 32, "rev32"),
        (0xdac00420, 0x1200_5634_9a78_debc, "rev16 x0, x1"),
        (0x5ac00020, (x1 as u32).reverse_bits() as u64, "rbit w0, w1"),
    ] {
        c.run(&[w]);
        assert_eq!(c.get("x0"), want, "{what}");
    }
    // cls w0, w1: leading bits equal to the sign bit, not counting it.
    for (v, want) in [(0u64, 31u64), (0xffff_ffff, 31), (0x8000_0000, 0), (0x0000_ffff, 15), (0xfff0_0000, 11)] {
        c.set("x1", v);
        c.run(&[0x5ac01420]);
        assert_eq!(c.get("x0"), want, "cls {v:#x}");
    }
    c.set("x1", u64::MAX);
    c.set("x2", 3);
    c.run(&[0x9bc27c20]); // umulh
    assert_eq!(c.get("x0"), 2);
    c.run(&[0x9b427c20]); // smulh: -1 * 3 = -3, high half all ones
    assert_eq!(c.get("x0"), u64::MAX);
    c.set("x1", 0xffff_ffff); // w1 = -1
    c.run(&[0x9b227c20]); // smull x0, w1, w2
    assert_eq!(c.get("x0"), (-3i64) as u64);
    c.set("x3", 0x1_0000_0000);
    c.run(&[0x9ba28c20]); // umsubl x0, w1, w2, x3: 2^32 - 0xffffffff * 3
    assert_eq!(c.get("x0"), 0x1_0000_0000u64.wrapping_sub(0xffff_ffff * 3));
}

#[test]
fn system_registers_and_traps() {
    let mut c = Cpu::new();
    c.set_nzcv([true, false, true, false]);
    c.run(&[0xd53b4200]); // mrs x0, nzcv
    assert_eq!(c.get("x0"), 0xa000_0000);
    c.set("x1", 0x6000_0000);
    c.run(&[0xd51b4201]); // msr nzcv, x1
    assert_eq!(c.nzcv(), [false, true, true, false]);
    c.set("x1", 0xdead_beef_0000);
    c.run(&[0xd51bd041, 0xd53bd040]); // msr tpidr_el0, x1; mrs x0, tpidr_el0
    assert_eq!((c.get("tpidr_el0"), c.get("x0")), (0xdead_beef_0000, 0xdead_beef_0000));
    c.set("x1", 0x1_0040_0000);
    c.run(&[0xd51b4401, 0xd53b4400]); // msr fpcr, x1; mrs x0, fpcr
    assert_eq!((c.get("fpcr"), c.get("x0")), (0x40_0000, 0x40_0000));
    assert_eq!(c.run(&[0xd503201f, 0xd4200020]), Exit::Trap { kind: TrapKind::Breakpoint, pc: CODE + 4 });
    // mrs x0, midr_el1 is not modelled: illegal.
    assert_eq!(c.run(&[0xd5380000]), Exit::Trap { kind: TrapKind::Illegal, pc: CODE });
    // ldar w0, [x1]; stlrh w0, [x1].
    c.write(DATA, &[1, 2, 3, 4, 5]);
    c.set("x1", DATA);
    c.run(&[0x88dffc20]);
    assert_eq!(c.get("x0"), 0x0403_0201);
    c.set("x1", DATA + 2);
    c.run(&[0x489ffc20]);
    assert_eq!(c.read(DATA, 5), &[1, 2, 1, 2, 5]);
}

#[test]
fn exclusive_pairs() {
    const LDXR: u32 = 0xc85f7c20; // ldxr x0, [x1]
    const STXR: u32 = 0xc8027c20; // stxr w2, x0, [x1]
    let mut c = Cpu::new();
    c.write(DATA, &5u64.to_le_bytes());
    c.set("x1", DATA);
    c.run(&[LDXR]);
    assert_eq!(c.get("x0"), 5);
    c.set("x0", 9);
    c.set("x2", 0xffff);
    c.run(&[STXR]);
    assert_eq!((c.get("x2"), c.read64(DATA)), (0, 9), "armed store succeeds");
    c.set("x0", 11);
    c.run(&[STXR]);
    assert_eq!((c.get("x2"), c.read64(DATA)), (1, 9), "the monitor was cleared");
    // Another agent's store between the pair makes it fail.
    c.run(&[LDXR]);
    c.write(DATA, &7u64.to_le_bytes());
    c.run(&[STXR]);
    assert_eq!((c.get("x2"), c.read64(DATA)), (1, 7));
    // A store to another address than the armed one fails.
    c.run(&[LDXR]);
    c.set("x1", DATA + 8);
    c.run(&[STXR]);
    assert_eq!((c.get("x2"), c.read64(DATA + 8)), (1, 0));
    // ldxr; add; stxr; cbnz in one region: the usual atomic increment loop.
    c.set("x1", DATA);
    let exit = c.run(&[LDXR, 0x91000400, STXR, 0x35ffffa2]); // add x0, x0, #1; cbnz w2, -12
    assert_eq!((exit, c.read64(DATA)), (next(4), 8));
}

#[test]
fn simd_fp_loads_stores_and_fmov() {
    let mut c = Cpu::new();
    let bytes: Vec<u8> = (1..=16).collect();
    c.write(DATA, &bytes);
    c.set("x1", DATA);
    let l = c.fe.layout();
    let v = |c: &Cpu, i: usize| c.st.get(&l, l.expect(&format!("v{i}")));
    let q = u128::from_le_bytes(bytes.clone().try_into().unwrap());
    c.run(&[0x3dc00020]); // ldr q0, [x1]
    assert_eq!(v(&c, 0), q);
    c.st.set(&l, l.expect("v1"), u128::MAX);
    c.run(&[0xfd400421]); // ldr d1, [x1, #8]: the upper 64 bits are zeroed
    assert_eq!(v(&c, 1), q >> 64);
    c.run(&[0x3d800820]); // str q0, [x1, #32]
    assert_eq!(c.read(DATA + 32, 16), &bytes[..]);
    // stp d1, d0, [sp, #-16]!; ldp s2, s3, [sp], #16
    c.run(&[0x6dbf03e1, 0x2cc20fe2]);
    assert_eq!(c.read64(STACK - 16), (q >> 64) as u64);
    assert_eq!(c.read64(STACK - 8), q as u64);
    assert_eq!((v(&c, 2), v(&c, 3), c.get("sp")), ((q >> 64) as u32 as u128, (q >> 96) as u32 as u128, STACK));
    c.run(&[0x9e660020]); // fmov x0, d1
    assert_eq!(c.get("x0"), (q >> 64) as u64);
    c.set("x2", 0xaaaa_bbbb_cccc_dddd);
    c.run(&[0x9eaf0041]); // fmov v1.d[1], x2: the low half is kept
    assert_eq!(v(&c, 1), (0xaaaa_bbbb_cccc_ddddu128 << 64) | (q >> 64));
    c.run(&[0x1e270044]); // fmov s4, w2
    assert_eq!(v(&c, 4), 0xcccc_dddd);
    c.run(&[0xa8401023]); // ldnp x3, x4, [x1]: no writeback
    assert_eq!((c.get("x3"), c.get("x4"), c.get("x1")), (q as u64, (q >> 64) as u64, DATA));
}

#[test]
fn lse_atomics() {
    let mut c = Cpu::new();
    c.set("x2", DATA);
    c.write(DATA, &100u64.to_le_bytes());
    c.set("x0", 5);
    c.run(&[0xf8200041]); // ldadd x0, x1, [x2]
    assert_eq!((c.get("x1"), c.read64(DATA)), (100, 105));
    c.run(&[0xf820005f]); // stadd x0, [x2]
    assert_eq!(c.read64(DATA), 110);
    c.set("x0", 0x0f);
    c.run(&[0x38201041]); // ldclrb w0, w1, [x2]: 110 = 0x6e -> 0x60, only the byte changes
    assert_eq!((c.get("x1"), c.read64(DATA)), (0x6e, 0x60));
    c.write(DATA, &(-7i64 as u64).to_le_bytes());
    c.set("x0", 3);
    c.run(&[0xf8204041]); // ldsmax x0, x1, [x2]: signed max(-7, 3) = 3
    assert_eq!((c.get("x1"), c.read64(DATA)), ((-7i64) as u64, 3));
    c.set("x0", 0xdead);
    c.run(&[0xf8208041]); // swp x0, x1, [x2]
    assert_eq!((c.get("x1"), c.read64(DATA)), (3, 0xdead));
    // cas x0, x1, [x2]: fails when x0 differs, succeeds when it matches; x0 gets the old value.
    c.set("x0", 1);
    c.set("x1", 0xbeef);
    c.run(&[0xc8a07c41]);
    assert_eq!((c.get("x0"), c.read64(DATA)), (0xdead, 0xdead));
    c.run(&[0xc8a07c41]);
    assert_eq!((c.get("x0"), c.read64(DATA)), (0xdead, 0xbeef));
    // casb w0, w1, [x2] touches one byte.
    c.set("x0", 0xef);
    c.set("x1", 0x11);
    c.run(&[0x08a07c41]);
    assert_eq!((c.get("x0"), c.read64(DATA)), (0xef, 0xbe11));
}

#[test]
fn simd_subset() {
    let mut c = Cpu::new();
    let l = c.fe.layout();
    let setv = |c: &mut Cpu, i: usize, v: u128| c.st.set(&l, l.expect(&format!("v{i}")), v);
    let getv = |c: &Cpu, i: usize| c.st.get(&l, l.expect(&format!("v{i}")));
    let (a, b, d) =
        (0x0123_4567_89ab_cdef_fedc_ba98_7654_3210u128, 0x00ff_00ff_0f0f_f0f0_ffff_0000_1234_5678u128, !0u128);
    setv(&mut c, 1, a);
    setv(&mut c, 2, b);
    let run = |c: &mut Cpu, w: u32, old: u128| {
        setv(c, 0, old);
        c.run(&[w]);
        getv(c, 0)
    };
    assert_eq!(run(&mut c, 0x4ea11c20, d), a, "mov v0.16b, v1.16b");
    assert_eq!(run(&mut c, 0x0e221c20, d), a & b & u64::MAX as u128, "and .8b zeroes the upper half");
    assert_eq!(run(&mut c, 0x6e621c20, d), a, "bsl with an all-ones selector picks v1");
    assert_eq!(run(&mut c, 0x6e621c20, b), (b & a) | (!b & b));
    let old = 0x5555_5555_5555_5555_5555_5555_5555_5555u128;
    assert_eq!(run(&mut c, 0x6ea21c20, old), (a & b) | (old & !b), "bit");
    assert_eq!(run(&mut c, 0x6ee21c20, old), (old & b) | (a & !b), "bif");
    let lanes32 = |x: u128| [0, 1, 2, 3].map(|i| (x >> (32 * i)) as u32);
    let add: u128 =
        (0..4).map(|i| (lanes32(a)[i].wrapping_add(lanes32(b)[i]) as u128) << (32 * i)).fold(0, |x, y| x | y);
    assert_eq!(run(&mut c, 0x4ea28420, 0), add, "add v0.4s");
    let sub =
        ((((a >> 64) as u64).wrapping_sub((b >> 64) as u64) as u128) << 64) | (a as u64).wrapping_sub(b as u64) as u128;
    assert_eq!(run(&mut c, 0x6ee28420, 0), sub, "sub v0.2d");
    setv(&mut c, 2, a ^ 0xff00);
    let eq: u128 = (0..16).filter(|&i| i != 1).map(|i| 0xffu128 << (8 * i)).fold(0, |x, y| x | y);
    assert_eq!(run(&mut c, 0x6e228c20, 0), eq, "cmeq v0.16b");
    c.set("x1", 0xabcd_1234);
    assert_eq!(run(&mut c, 0x4e020c20, 0), 0x1234_1234_1234_1234_1234_1234_1234_1234, "dup v0.8h, w1");
    c.run(&[0x0e073c20]); // umov w0, v1.b[3]
    assert_eq!(c.get("x0"), 0x76);
    c.run(&[0x4e183c20]); // mov x0, v1.d[1]
    assert_eq!(c.get("x0"), (a >> 64) as u64);
    c.set("x0", 0xffff_beef);
    c.run(&[0x4e0a1c01]); // mov v1.h[2], w0
    assert_eq!(getv(&c, 1), (a & !(0xffffu128 << 32)) | (0xbeefu128 << 32));
    assert_eq!(run(&mut c, 0x4f01e540, 0), 0x2a2a_2a2a_2a2a_2a2a_2a2a_2a2a_2a2a_2a2a, "movi v0.16b, #0x2a");
    assert_eq!(run(&mut c, 0x2f05e540, d), 0xff00_ff00_ff00_ff00, "movi d0 zeroes the upper half");
}

#[test]
fn simd_immediates_ext_and_compare_zero() {
    let mut c = Cpu::new();
    let l = c.fe.layout();
    let setv = |c: &mut Cpu, i: usize, v: u128| c.st.set(&l, l.expect(&format!("v{i}")), v);
    let getv = |c: &Cpu, i: usize| c.st.get(&l, l.expect(&format!("v{i}")));
    let run = |c: &mut Cpu, w: u32, old: u128| {
        setv(c, 0, old);
        c.run(&[w]);
        getv(c, 0)
    };
    let rep32 = |x: u32| (0..4).fold(0u128, |a, i| a | (x as u128) << (32 * i));
    let rep16 = |x: u16| (0..8).fold(0u128, |a, i| a | (x as u128) << (16 * i));
    let rep64 = |x: u64| (x as u128) << 64 | x as u128;
    let old = 0x1111_2222_3333_4444_5555_6666_7777_8888u128;
    assert_eq!(run(&mut c, 0x4f006640, old), rep32(0x1200_0000), "movi v0.4s, #0x12, lsl #24");
    assert_eq!(run(&mut c, 0x6f01a680, old), rep16(!0x3400), "mvni v0.8h, #0x34, lsl #8");
    assert_eq!(run(&mut c, 0x0f02d6c0, old), rep32(0x0056_ffff) & u64::MAX as u128, "movi .2s msl #16");
    assert_eq!(run(&mut c, 0x4f041400, old), old | rep32(0x80), "orr v0.4s, #0x80");
    assert_eq!(run(&mut c, 0x6f07b7e0, old), old & rep16(0x00ff), "bic v0.8h, #0xff, lsl #8");
    assert_eq!(run(&mut c, 0x4f03f600, old), rep32(1.0f32.to_bits()), "fmov v0.4s, #1.0");
    assert_eq!(run(&mut c, 0x6f04f480, old), rep64((-2.5f64).to_bits()), "fmov v0.2d, #-2.5");
    setv(&mut c, 1, 0x0000_0000_0000_0001_0000_0000_8000_0000);
    assert_eq!(run(&mut c, 0x4ea09820, 0), 0xffff_ffff_0000_0000_ffff_ffff_0000_0000, "cmeq v0.4s, #0");
    assert_eq!(run(&mut c, 0x6e205820, 0), !0x0000_0000_0000_0001_0000_0000_8000_0000u128, "not");
    let (a, b) = (0x0f0e_0d0c_0b0a_0908_0706_0504_0302_0100u128, 0x1f1e_1d1c_1b1a_1918_1716_1514_1312_1110u128);
    setv(&mut c, 1, a);
    setv(&mut c, 2, b);
    assert_eq!(run(&mut c, 0x6e021820, 0), a >> 24 | b << 104, "ext #3: bytes 3..19 of v2:v1");
    // 64-bit ext #7: byte 7 of v1, then bytes 0..7 of v2.
    assert_eq!(run(&mut c, 0x2e023820, old), 0x1615_1413_1211_1007, "ext .8b #7");
}

#[test]
fn scalar_floating_point() {
    let mut c = Cpu::new();
    let l = c.fe.layout();
    let setd = |c: &mut Cpu, i: usize, x: f64| c.st.set(&l, l.expect(&format!("v{i}")), x.to_bits() as u128);
    let sets = |c: &mut Cpu, i: usize, x: f32| c.st.set(&l, l.expect(&format!("v{i}")), x.to_bits() as u128);
    let v0 = |c: &Cpu| c.st.get(&l, l.expect("v0"));
    let d0 = |c: &Cpu| f64::from_bits(v0(c) as u64);
    let s0 = |c: &Cpu| f32::from_bits(v0(c) as u32);
    setd(&mut c, 1, 1.5);
    setd(&mut c, 2, 0.25);
    setd(&mut c, 3, 10.0);
    c.st.set(&l, l.expect("v0"), u128::MAX);
    c.run(&[0x1e622820]); // fadd d0, d1, d2: the rest of v0 is zeroed
    assert_eq!(v0(&c), 1.75f64.to_bits() as u128);
    c.run(&[0x1e621820]); // fdiv d0, d1, d2
    assert_eq!(d0(&c), 6.0);
    c.run(&[0x1f420c20]); // fmadd d0, d1, d2, d3: 10 + 1.5 * 0.25
    assert_eq!(d0(&c), 10.375);
    c.run(&[0x1f628c20]); // fnmsub d0, d1, d2, d3: 1.5 * 0.25 - 10
    assert_eq!(d0(&c), -9.625);
    c.run(&[0x1e614020, 0x1e61c020]); // fneg d0, d1; fsqrt d0, d1
    assert_eq!(d0(&c), 1.5f64.sqrt());
    sets(&mut c, 1, 3.0);
    sets(&mut c, 2, 0.5);
    c.run(&[0x1e223820]); // fsub s0, s1, s2
    assert_eq!(s0(&c), 2.5);
    c.run(&[0x1e22c020]); // fcvt d0, s1
    assert_eq!(d0(&c), 3.0);
    c.run(&[0x1e6e1000]); // fmov d0, #1.0
    assert_eq!(d0(&c), 1.0);
    c.run(&[0x1e381000]); // fmov s0, #-0.125
    assert_eq!(v0(&c), (-0.125f32).to_bits() as u128);
    // fcmp d1, d2: less 1000, equal 0110, greater 0010, unordered 0011.
    for (a, b, nzcv) in [
        (1.0, 2.0, [true, false, false, false]),
        (2.0, 2.0, [false, true, true, false]),
        (3.0, 2.0, [false, false, true, false]),
        (f64::NAN, 2.0, [false, false, true, true]),
    ] {
        setd(&mut c, 1, a);
        setd(&mut c, 2, b);
        c.run(&[0x1e622020]);
        assert_eq!(c.nzcv(), nzcv, "fcmp {a} {b}");
        // fcsel d0, d1, d2, lt: after fcmp, LT (N != V) means "less than or unordered".
        c.run(&[0x1e62bc20]);
        assert_eq!(d0(&c).to_bits(), if a < b || a.is_nan() { a } else { b }.to_bits());
    }
    sets(&mut c, 1, -0.0);
    c.run(&[0x1e202028]); // fcmp s1, #0.0: -0 == +0
    assert_eq!(c.nzcv(), [false, true, true, false]);
    // Conversions to integers: truncate, floor, nearest-even, saturate, NaN -> 0.
    for (x, zs, ms, ns, zu) in [
        (-2.5f64, -2i64 as u64, -3i64 as u64, -2i32 as u32 as u64, 0u64),
        (2.5, 2, 2, 2, 2),
        (3.5, 3, 3, 4, 3),
        (1e30, i64::MAX as u64, i64::MAX as u64, i32::MAX as u64, u32::MAX as u64),
        (f64::NAN, 0, 0, 0, 0),
    ] {
        setd(&mut c, 1, x);
        let got = [0x9e780020u32, 0x9e700020, 0x1e600020, 0x1e790020].map(|w| {
            c.run(&[w]);
            c.get("x0")
        });
        assert_eq!(got, [zs, ms, ns, zu], "fcvtzs/fcvtms/fcvtns w/fcvtzu w of {x}");
    }
    c.set("x1", (-3i64) as u64);
    c.run(&[0x9e620020]); // scvtf d0, x1
    assert_eq!(d0(&c), -3.0);
    c.run(&[0x1e230020]); // ucvtf s0, w1
    assert_eq!(s0(&c), 4294967293.0f32);
    setd(&mut c, 1, -1.5);
    c.run(&[0x1e654020]); // frintm d0, d1
    assert_eq!(d0(&c), -2.0);
}

/// The `bits`-wide elements of a vector, lane 0 first.
fn elems(v: u128, bits: u32) -> Vec<u64> {
    (0..128 / bits).map(|i| ((v >> (i * bits)) & ((1u128 << bits) - 1)) as u64).collect()
}

/// A vector from `bits`-wide elements, lane 0 first.
fn vec_of(e: &[u64], bits: u32) -> u128 {
    e.iter().enumerate().fold(0, |acc, (i, &x)| acc | ((x as u128) & ((1u128 << bits) - 1)) << (i as u32 * bits))
}

#[test]
fn simd_lanewise_ops() {
    let mut c = Cpu::new();
    let l = c.fe.layout();
    let setv = |c: &mut Cpu, i: usize, v: u128| c.st.set(&l, l.expect(&format!("v{i}")), v);
    let getv = |c: &Cpu, i: usize| c.st.get(&l, l.expect(&format!("v{i}")));
    let a = 0x8000_0001_7fff_ffff_0000_0005_ffff_fff0u128;
    let b = 0x0000_0001_8000_0000_0000_0007_0000_0010u128;
    setv(&mut c, 1, a);
    setv(&mut c, 2, b);
    let run = |c: &mut Cpu, w: u32| {
        setv(c, 0, 0x5a5a);
        c.run(&[w]);
        getv(c, 0)
    };
    let sgt: Vec<u64> = elems(a, 32)
        .iter()
        .zip(elems(b, 32))
        .map(|(&x, y)| if (x as u32 as i32) > (y as u32 as i32) { u32::MAX as u64 } else { 0 })
        .collect();
    assert_eq!(run(&mut c, 0x4ea23420), vec_of(&sgt, 32), "cmgt v0.4s");
    let hs: Vec<u64> = elems(a, 8).iter().zip(elems(b, 8)).map(|(&x, y)| if x >= y { 0xff } else { 0 }).collect();
    assert_eq!(run(&mut c, 0x6e223c20), vec_of(&hs, 8), "cmhs v0.16b");
    let cat: Vec<u64> = elems(a, 8).into_iter().chain(elems(b, 8)).collect();
    let maxp: Vec<u64> = cat.chunks(2).map(|p| p[0].max(p[1])).collect();
    assert_eq!(run(&mut c, 0x6e22a420), vec_of(&maxp, 8), "umaxp v0.16b");
    let (a64, b64) = (elems(a, 64), elems(b, 64));
    let addp = vec_of(&[a64[0].wrapping_add(a64[1]), b64[0].wrapping_add(b64[1])], 64);
    assert_eq!(run(&mut c, 0x4ee2bc20), addp, "addp v0.2d");
    assert_eq!(run(&mut c, 0x6e31a820), *elems(a, 8).iter().min().unwrap() as u128, "uminv b0");
    let sum = elems(a, 32).iter().fold(0u32, |s, &x| s.wrapping_add(x as u32));
    assert_eq!(run(&mut c, 0x4eb1b820), sum as u128, "addv s0");
    let xtn: Vec<u64> = elems(a, 16).iter().map(|&x| x & 0xff).collect();
    assert_eq!(run(&mut c, 0x0e212820), vec_of(&xtn, 8) & u64::MAX as u128, "xtn v0.8b");
    let shrn: Vec<u64> = elems(a, 16).iter().map(|&x| (x >> 4) & 0xff).collect();
    assert_eq!(run(&mut c, 0x0f0c8420), vec_of(&shrn, 8) & u64::MAX as u128, "shrn v0.8b, #4");
    let sshr: Vec<u64> = elems(a, 32).iter().map(|&x| ((x as u32 as i32) >> 31) as u32 as u64).collect();
    assert_eq!(run(&mut c, 0x4f210420), vec_of(&sshr, 32), "sshr v0.4s, #31");
    assert_eq!(run(&mut c, 0x6f400420), 0, "ushr v0.2d, #64");
    let shl: Vec<u64> = elems(a, 16).iter().map(|&x| (x << 3) & 0xffff).collect();
    assert_eq!(run(&mut c, 0x4f135420), vec_of(&shl, 16), "shl v0.8h, #3");
    // Shifts by the element size, 64-bit forms (upper half cleared), and widening
    // shifts of either half (values from the ARM ARM's pseudocode, element by element).
    let sshr32: Vec<u64> = elems(a, 32).iter().map(|&x| ((x as u32 as i32) >> 31) as u32 as u64).collect();
    assert_eq!(run(&mut c, 0x4f200420), vec_of(&sshr32, 32), "sshr v0.4s, #32");
    let ushr: Vec<u64> = elems(a, 32)[..2].iter().map(|&x| x >> 19).collect();
    assert_eq!(run(&mut c, 0x2f2d0420), vec_of(&ushr, 32), "ushr v0.2s, #19");
    let ushll: Vec<u64> = elems(a, 32)[..2].iter().map(|&x| x << 3).collect();
    assert_eq!(run(&mut c, 0x2f23a420), vec_of(&ushll, 64), "ushll v0.2d, v1.2s, #3");
    let sshll2: Vec<u64> = elems(a, 16)[4..].iter().map(|&x| ((x as u16 as i16 as i32) << 2) as u32 as u64).collect();
    assert_eq!(run(&mut c, 0x4f12a420), vec_of(&sshll2, 32), "sshll2 v0.4s, v1.8h, #2");
    let uxtl2: Vec<u64> = elems(a, 8)[8..].to_vec();
    assert_eq!(run(&mut c, 0x6f08a420), vec_of(&uxtl2, 16), "uxtl2 v0.8h, v1.16b");
    let shll: Vec<u64> = elems(a, 16)[..4].iter().map(|&x| x << 16).collect();
    assert_eq!(run(&mut c, 0x2e613820), vec_of(&shll, 32), "shll v0.4s, v1.4h, #16");
    let shll2: Vec<u64> = elems(a, 32)[2..].iter().map(|&x| x << 32).collect();
    assert_eq!(run(&mut c, 0x6ea13820), vec_of(&shll2, 64), "shll2 v0.2d, v1.4s, #32");
    let sshll: Vec<u64> = elems(a, 8)[..8].iter().map(|&x| ((x as u8 as i8 as i16) << 7) as u16 as u64).collect();
    assert_eq!(run(&mut c, 0x0f0fa420), vec_of(&sshll, 16), "sshll v0.8h, v1.8b, #7");
    let cnt: Vec<u64> = elems(a, 8).iter().map(|&x| x.count_ones() as u64).collect();
    assert_eq!(run(&mut c, 0x4e205820), vec_of(&cnt, 8), "cnt v0.16b");
    // ld1 {v0.16b, v1.16b}, [x0], #32; st1 {v2.8b}, [x1]
    let bytes: Vec<u8> = (0..32).collect();
    c.write(DATA, &bytes);
    c.set("x0", DATA);
    c.set("x1", DATA + 0x100);
    c.run(&[0x4cdfa000, 0x0c007022]);
    assert_eq!(getv(&c, 0), u128::from_le_bytes(bytes[..16].try_into().unwrap()));
    assert_eq!(getv(&c, 1), u128::from_le_bytes(bytes[16..].try_into().unwrap()));
    assert_eq!(c.get("x0"), DATA + 32);
    assert_eq!(c.read(DATA + 0x100, 9), &[0x10, 0, 0, 0, 0x07, 0, 0, 0, 0]);
}

#[test]
fn cssc_scalar_ops() {
    let mut c = Cpu::new();
    c.set("x1", 0x0000_0100_0000_0000);
    c.run(&[0xdac01820]); // ctz x0, x1
    assert_eq!(c.get("x0"), 40);
    c.set("x1", 0xffff_ffff_ffff_fffb); // w1 = -5
    c.run(&[0x5ac02020]); // abs w0, w1
    assert_eq!(c.get("x0"), 5);
    c.set("x1", (-9i64) as u64);
    c.run(&[0x91c3ec20]); // smax x0, x1, #-5
    assert_eq!(c.get("x0"), (-5i64) as u64);
    c.set("x1", 7);
    c.set("x2", 0xffff_ffff);
    c.run(&[0x1ac26c20]); // umin w0, w1, w2
    assert_eq!(c.get("x0"), 7);
}

#[test]
fn simd_permutes_and_compares_with_zero() {
    let mut c = Cpu::new();
    let l = c.fe.layout();
    let setv = |c: &mut Cpu, i: usize, v: u128| c.st.set(&l, l.expect(&format!("v{i}")), v);
    let getv = |c: &Cpu, i: usize| c.st.get(&l, l.expect(&format!("v{i}")));
    let a = 0x8000_0001_7fff_ffff_0000_0000_ffff_fff0u128;
    let b = 0x3333_3333_2222_2222_1111_1111_0000_0000u128;
    setv(&mut c, 1, a);
    setv(&mut c, 2, b);
    let run = |c: &mut Cpu, w: u32| {
        setv(c, 0, 0x0123_4567_89ab_cdef_0011_2233_4455_6677);
        c.run(&[w]);
        getv(c, 0)
    };
    let (a32, b32) = (elems(a, 32), elems(b, 32));
    let lt: Vec<u64> = a32.iter().map(|&x| if (x as u32 as i32) < 0 { u32::MAX as u64 } else { 0 }).collect();
    assert_eq!(run(&mut c, 0x4ea0a820), vec_of(&lt, 32), "cmlt v0.4s, #0");
    let ge: Vec<u64> = elems(a, 8).iter().map(|&x| if (x as u8 as i8) >= 0 { 0xff } else { 0 }).collect();
    assert_eq!(run(&mut c, 0x6e208820), vec_of(&ge, 8), "cmge v0.16b, #0");
    let rev64: Vec<u64> = elems(a, 16).chunks(4).flat_map(|c| c.iter().rev().copied().collect::<Vec<_>>()).collect();
    assert_eq!(run(&mut c, 0x4e600820), vec_of(&rev64, 16), "rev64 v0.8h");
    let rev32: Vec<u64> = elems(a, 8).chunks(4).flat_map(|c| c.iter().rev().copied().collect::<Vec<_>>()).collect();
    assert_eq!(run(&mut c, 0x6e200820), vec_of(&rev32, 8), "rev32 v0.16b");
    assert_eq!(run(&mut c, 0x4e821820), vec_of(&[a32[0], a32[2], b32[0], b32[2]], 32), "uzp1 v0.4s");
    let (a16, b16) = (elems(a, 16), elems(b, 16));
    let uzp2: Vec<u64> = a16.iter().chain(&b16).skip(1).step_by(2).copied().collect();
    assert_eq!(run(&mut c, 0x4e425820), vec_of(&uzp2, 16), "uzp2 v0.8h");
    assert_eq!(run(&mut c, 0x4e822820), vec_of(&[a32[0], b32[0], a32[2], b32[2]], 32), "trn1 v0.4s");
    assert_eq!(run(&mut c, 0x4e827820), vec_of(&[a32[2], b32[2], a32[3], b32[3]], 32), "zip2 v0.4s");
    let (a8, b8) = (elems(a, 8), elems(b, 8));
    let zip1: Vec<u64> = (0..8).map(|i| if i % 2 == 0 { a8[i / 2] } else { b8[i / 2] }).collect();
    assert_eq!(run(&mut c, 0x0e023820), vec_of(&zip1, 8), "zip1 v0.8b");
    assert_eq!(run(&mut c, 0x4e1c0420), vec_of(&[a32[3]; 4], 32), "dup v0.4s, v1.s[3]");
    let mut ins = elems(0x0123_4567_89ab_cdef_0011_2233_4455_6677, 16);
    ins[5] = a16[2];
    assert_eq!(run(&mut c, 0x6e162420), vec_of(&ins, 16), "mov v0.h[5], v1.h[2]");
}

#[test]
fn more_integer_forms() {
    let mut c = Cpu::new();
    c.run(&[0xd2a24680]); // movz x0, #0x1234, lsl #16
    assert_eq!(c.get("x0"), 0x1234_0000);
    c.run(&[0x92800000]); // movn x0, #0
    assert_eq!(c.get("x0"), u64::MAX);
    c.write(DATA, &[0xff, 0xff, 0xff, 0xff, 0x05, 0, 0, 0]);
    c.set("x2", DATA);
    c.run(&[0x69400440]); // ldpsw x0, x1, [x2]
    assert_eq!((c.get("x0"), c.get("x1")), (u64::MAX, 5));
    c.set("x1", 0xffff_ffff_1234_5678);
    c.run(&[0x13811020]); // ror w0, w1, #4
    assert_eq!(c.get("x0"), 0x8123_4567);
    c.set("x1", STACK + 0xf);
    c.run(&[0x927cec3f]); // and sp, x1, #~0xf
    assert_eq!(c.get("sp"), STACK);
    c.run(&[0xb10043e0]); // adds x0, sp, #16
    assert_eq!((c.get("x0"), c.nzcv()), (STACK + 16, [false, false, false, false]));
    c.set("x0", 0xffff_ffff_ffff_ffff);
    c.set("x1", 0xa000_0000);
    c.run(&[0x331c7c20]); // bfxil w0, w1, #28, #4: w0<3:0> = w1<31:28>, upper half cleared
    assert_eq!(c.get("x0"), 0xffff_fffa);
    c.write(DATA + 8, &[1, 2, 3, 4]);
    c.set("x1", DATA + 12);
    c.run(&[0xb85fcc20]); // ldr w0, [x1, #-4]!
    assert_eq!((c.get("x0"), c.get("x1")), (0x0403_0201, DATA + 8));
    c.set("x0", 0x1111_1111_aaaa_aaaa);
    c.set("x1", 0xbbbb_bbbb);
    c.run(&[0x29010440]); // stp w0, w1, [x2, #8]
    assert_eq!(c.read64(DATA + 8), 0xbbbb_bbbb_aaaa_aaaa);
}
