//! PowerPC lifters run in the IR interpreter on tricky cases: carries and overflow,
//! rotates with wrapping masks, CR fields, division by zero, FP conversion and
//! rounding. Each expected value was produced by the same instruction word under
//! qemu-ppc64le (a static test program, `powerpc64le-linux-gnu-gcc -O1`, with each
//! instruction in inline assembly), never by mimic.

use mimic_frontend::ppc::{Ppc, PpcMode};
use mimic_frontend::Frontend;
use mimic_ir::interp::run;
use mimic_ir::*;

const CODE: u64 = 0x10000;

struct Cpu {
    fe: Ppc,
    st: StateBuf,
    mem: FlatMemory,
}

impl Cpu {
    fn new() -> Cpu {
        let fe = Ppc::new(PpcMode::PPC64LE);
        let st = StateBuf::new(&fe.layout());
        Cpu { fe, st, mem: FlatMemory { base: CODE, data: vec![0; 0x1000] } }
    }
    fn set(&mut self, name: &str, v: u64) {
        let l = self.fe.layout();
        self.st.set(&l, l.expect(name), v as u128);
    }
    fn get(&self, name: &str) -> u64 {
        let l = self.fe.layout();
        self.st.get(&l, l.expect(name)) as u64
    }
    fn set_f(&mut self, r: u32, v: f64) {
        let l = self.fe.layout();
        let s = l.expect(&format!("vs{r}"));
        self.st.set(&l, s, (v.to_bits() as u128) << 64);
    }
    fn get_f_bits(&self, r: u32) -> u64 {
        let l = self.fe.layout();
        (self.st.get(&l, l.expect(&format!("vs{r}"))) >> 64) as u64
    }
    /// XER's SO, OV, CA as mfxer shows them (bits 31, 30, 29).
    fn xer(&self) -> u64 {
        self.get("so") << 31 | self.get("ov") << 30 | self.get("ca") << 29
    }
    /// CR field `n` as a nibble (LT = 8).
    fn crf(&self, n: u32) -> u64 {
        (0..4).fold(0, |acc, i| acc << 1 | self.get(&format!("cr{}", 4 * n + i)))
    }
    fn run(&mut self, words: &[u32]) {
        let region = self.fe.lift_words(CODE, words);
        if let Err(e) = verify(&region) {
            panic!("{e}\n{}", print(&region));
        }
        let exit = run(&region, &mut self.st, &mut self.mem, &RunControl::default());
        assert_eq!(exit, Exit::Jump { pc: CODE + 4 * words.len() as u64, hint: ExitHint::None, ret: 0, index: 0 });
    }
}

#[test]
fn carries_and_overflow() {
    let mut c = Cpu::new();
    c.set("r4", u64::MAX);
    c.run(&[0x3084_0001]); // addic r4,r4,1
    assert_eq!((c.get("r4"), c.xer()), (0, 0x2000_0000));

    let mut c = Cpu::new();
    c.set("r4", 5);
    c.set("r9", 3);
    c.run(&[0x7c84_4910]); // subfe r4,r4,r9 (CA = 0)
    assert_eq!((c.get("r4"), c.xer()), (0xffff_ffff_ffff_fffd, 0));

    let mut c = Cpu::new();
    c.set("r4", 0x7fff_ffff_ffff_ffff);
    c.set("r9", 1);
    c.run(&[0x7c84_4e15]); // addo. r4,r4,r9
    assert_eq!((c.get("r4"), c.xer(), c.crf(0)), (0x8000_0000_0000_0000, 0xc000_0000, 0b1001));
}

#[test]
fn rotates_and_shifts() {
    let mut c = Cpu::new();
    c.set("r30", 0x1234_5678_9abc_def0);
    c.run(&[0x57c4_4706]); // rlwinm r4,r30,8,28,3 (a mask that wraps)
    assert_eq!(c.get("r4"), 0xbcde_f09a_b000_000a);

    c.set("r4", 0x1111_1111_1111_1111);
    c.run(&[0x7bc4_822c]); // rldimi r4,r30,16,40
    assert_eq!(c.get("r4"), 0x1111_1111_11f0_1111);

    c.set("r4", -17i64 as u64);
    c.set("ca", 0);
    c.run(&[0x7c84_2674]); // sradi r4,r4,4 (one bits shifted out of a negative)
    assert_eq!((c.get("r4"), c.xer()), (0xffff_ffff_ffff_fffe, 0x2000_0000));

    c.set("r4", 0x8000_0001);
    c.set("ca", 0);
    c.run(&[0x7c84_fe70]); // srawi r4,r4,31
    assert_eq!((c.get("r4"), c.xer()), (u64::MAX, 0x2000_0000));

    c.set("r31", 0x00f0_0000_0001_0000);
    c.run(&[0x7fe4_0034]); // cntlzw r4,r31
    assert_eq!(c.get("r4"), 15);
    c.run(&[0x7fe4_00f4]); // popcntb r4,r31
    assert_eq!(c.get("r4"), 0x0004_0000_0001_0000);
}

#[test]
fn compares_into_cr_fields() {
    let mut c = Cpu::new();
    c.set("r9", 0xffff_ffff_0000_0001);
    c.set("r10", 2);
    c.run(&[0x7d89_5040, 0x7ea9_5000]); // cmplw cr3,r9,r10; cmpd cr5,r9,r10
    assert_eq!((c.crf(3), c.crf(5)), (0b1000, 0b1000));
}

#[test]
fn division_by_zero_as_qemu() {
    let mut c = Cpu::new();
    c.set("r30", 7);
    c.set("r31", 0);
    c.run(&[0x7c9e_fbd6]); // divw r4,r30,r31
    assert_eq!(c.get("r4"), 7);
    c.set("r4", 0);
    c.run(&[0x7c9e_fb92]); // divdu r4,r30,r31
    assert_eq!(c.get("r4"), 7);
}

#[test]
fn fp_conversion_and_rounding() {
    let mut c = Cpu::new();
    c.set_f(0, -2.7);
    c.run(&[0xfc00_001e]); // fctiwz f0,f0
    assert_eq!(c.get_f_bits(0), 0xffff_ffff_ffff_fffe);
    c.set_f(1, 2.5);
    c.run(&[0xfc20_0b10]); // frin f1,f1 (ties away from zero)
    assert_eq!(f64::from_bits(c.get_f_bits(1)), 3.0);
    c.set_f(1, -0.5);
    c.run(&[0xfc20_0b10]);
    assert_eq!(f64::from_bits(c.get_f_bits(1)), -1.0);
}

#[test]
fn vector_sign_operations() {
    // The ISA defines these as sign-bit operations on every lane (no NaN handling).
    let mut c = Cpu::new();
    let l = c.fe.layout();
    let v = 0x8000_0000_0000_0001_3ff0_0000_0000_0000u128; // lanes: -0.0 (+1 ulp), 1.0
    let set2 = |c: &mut Cpu| c.st.set(&l, l.expect("vs2"), v);
    let get1 = |c: &Cpu| c.st.get(&l, l.expect("vs1"));
    set2(&mut c);
    c.run(&[0xf020_17e4]); // xvnegdp vs1,vs2
    assert_eq!(get1(&c), v ^ (1 << 63 | 1 << 127));
    c.run(&[0xf020_1664]); // xvabssp vs1,vs2
    assert_eq!(get1(&c), v & !0x8000_0000_8000_0000_8000_0000_8000_0000u128);
    c.run(&[0xf020_17a4]); // xvnabsdp vs1,vs2
    assert_eq!(get1(&c), v | (1 << 63 | 1 << 127));
}
