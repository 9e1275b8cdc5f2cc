//! The A64 decode table: one pattern per instruction, in ARM ARM bit notation.
//!
//! Field letters used below (each pattern has its own namespace): `f` sf, `d` Rd, `n` Rn,
//! `m` Rm, `a` Ra, `t` Rt, `u` Rt2, `i` an immediate, `h` shift type / `sh` / hw (and immhi
//! in ADR/ADRP), `l` immlo, `N` N, `r` immr, `s` imms, `c` cond, `o` option, `S` the
//! load/store scale bit, `B`/`b` the TBZ bit number b5/b40, `Q` the SIMD 128-bit flag,
//! `j`/`k` the high/low bits of a SIMD immediate (`j` alone: an FP immediate), `y` the FP
//! type.
//!
//! Overlaps (the earlier pattern wins, see `decode.rs`) are listed in [`OVERLAPS`]; a unit
//! test checks that the list is exactly the set of overlapping pattern pairs:
//! - `nop` shadows the CRm=0000, op2=000 corner of `hint`; every other hint (YIELD, WFE,
//!   PAC*, AUT*, BTI, ...) decodes as `hint` and executes as NOP.
//! - the SIMD modified-immediate patterns (MOVI/MVNI/ORR) shadow the immh = 0000 corner of
//!   SSHR/USHR/SHL/SHRN, which is how the ARM ARM splits that encoding space.
//!
//! Fields the ARM ARM marks "should be one" (`(1)`: Ra of SMULH/UMULH, Rs and Rt2 of
//! STLR and of the exclusives, Rt2 of STXR) are don't-care bits here, as objdump treats
//! them; objdump is strict about LDAR's, and so is this table.
//!
//! The reachability test in `mod.rs` checks that no pattern is fully shadowed.

use super::decode::Pattern;
use super::lift::*;

macro_rules! table {
    ($($name:literal $bits:literal $lift:ident;)*) => {
        &[$(Pattern { name: $name, bits: $bits, lift: $lift },)*]
    };
}

/// Every pair of overlapping patterns, as (earlier, later) bit strings: the earlier one
/// shadows the words they share.
#[rustfmt::skip]
pub static OVERLAPS: &[(&str, &str)] = &[
    ("11010101000000110010000000011111", "11010101000000110010mmmmooo11111"), // nop, hint
    // Modified immediates shadow the immh = 0000 corner of the shift-by-immediate class
    // (plain, accumulating and widening shifts).
    ("0Q00111100000jjj0xx001kkkkkddddd", "0Q0011110hhhhbbb000001nnnnnddddd"), // movi, sshr
    ("0Q00111100000jjj0xx101kkkkkddddd", "0Q0011110hhhhbbb010101nnnnnddddd"), // orr, shl
    ("0Q00111100000jjj0xx101kkkkkddddd", "0Q0011110hhhhbbb000101nnnnnddddd"), // orr, ssra
    ("0Q00111100000jjj10x001kkkkkddddd", "000011110hhhhbbb100001nnnnnddddd"), // movi, shrn
    ("0Q00111100000jjj10x001kkkkkddddd", "010011110hhhhbbb100001nnnnnddddd"), // movi, shrn2
    ("0Q00111100000jjj10x001kkkkkddddd", "0Q0011110hhhhbbb101001nnnnnddddd"), // movi, sshll
    ("0Q10111100000jjj0xx001kkkkkddddd", "0Q1011110hhhhbbb000001nnnnnddddd"), // mvni, ushr
    ("0Q10111100000jjj0xx101kkkkkddddd", "0Q1011110hhhhbbb000101nnnnnddddd"), // bic, usra
    ("0Q10111100000jjj10x001kkkkkddddd", "0Q1011110hhhhbbb101001nnnnnddddd"), // mvni, ushll
    // LD1R is the opcode-110 corner of the single-structure LD1 space.
    ("0Q001101010000001100ssnnnnnttttt", "0Q00110101000000xx0xxxnnnnnttttt"), // ld1r, ld1 (lane)
    ("0Q001101110mmmmm1100ssnnnnnttttt", "0Q001101110mmmmmxx0xxxnnnnnttttt"), // ld1r, ld1 (lane, post-index)
    // IC IVAU is the CRm = 0101 corner of the DC space.
    ("110101010000101101110101001ttttt", "11010101000010110111mmmm001ttttt"), // ic, dc
];

/// The table, in decode order.
#[rustfmt::skip]
pub static A64: &[Pattern] = table! {
    // Data processing, immediate.
    "add"    "f00100010hiiiiiiiiiiiinnnnnddddd" add_sub_imm;
    "adds"   "f01100010hiiiiiiiiiiiinnnnnddddd" add_sub_imm;
    "sub"    "f10100010hiiiiiiiiiiiinnnnnddddd" add_sub_imm;
    "subs"   "f11100010hiiiiiiiiiiiinnnnnddddd" add_sub_imm;
    "and"    "f00100100Nrrrrrrssssssnnnnnddddd" logic_imm;
    "orr"    "f01100100Nrrrrrrssssssnnnnnddddd" logic_imm;
    "eor"    "f10100100Nrrrrrrssssssnnnnnddddd" logic_imm;
    "ands"   "f11100100Nrrrrrrssssssnnnnnddddd" logic_imm;
    "movn"   "f00100101hhiiiiiiiiiiiiiiiiddddd" mov_wide;
    "movz"   "f10100101hhiiiiiiiiiiiiiiiiddddd" mov_wide;
    "movk"   "f11100101hhiiiiiiiiiiiiiiiiddddd" mov_wide;
    "sbfm"   "f00100110Nrrrrrrssssssnnnnnddddd" bitfield;
    "bfm"    "f01100110Nrrrrrrssssssnnnnnddddd" bitfield;
    "ubfm"   "f10100110Nrrrrrrssssssnnnnnddddd" bitfield;
    "extr"   "f00100111N0mmmmmssssssnnnnnddddd" extr;
    "adr"    "0ll10000hhhhhhhhhhhhhhhhhhhddddd" adr;
    "adrp"   "1ll10000hhhhhhhhhhhhhhhhhhhddddd" adrp;

    // Data processing, register.
    "add"    "f0001011hh0mmmmmiiiiiinnnnnddddd" add_sub_shifted;
    "adds"   "f0101011hh0mmmmmiiiiiinnnnnddddd" add_sub_shifted;
    "sub"    "f1001011hh0mmmmmiiiiiinnnnnddddd" add_sub_shifted;
    "subs"   "f1101011hh0mmmmmiiiiiinnnnnddddd" add_sub_shifted;
    "add"    "f0001011001mmmmmoooiiinnnnnddddd" add_sub_ext;
    "adds"   "f0101011001mmmmmoooiiinnnnnddddd" add_sub_ext;
    "sub"    "f1001011001mmmmmoooiiinnnnnddddd" add_sub_ext;
    "subs"   "f1101011001mmmmmoooiiinnnnnddddd" add_sub_ext;
    "and"    "f0001010hh0mmmmmiiiiiinnnnnddddd" logic_shifted;
    "bic"    "f0001010hh1mmmmmiiiiiinnnnnddddd" logic_shifted;
    "orr"    "f0101010hh0mmmmmiiiiiinnnnnddddd" logic_shifted;
    "orn"    "f0101010hh1mmmmmiiiiiinnnnnddddd" logic_shifted;
    "eor"    "f1001010hh0mmmmmiiiiiinnnnnddddd" logic_shifted;
    "eon"    "f1001010hh1mmmmmiiiiiinnnnnddddd" logic_shifted;
    "ands"   "f1101010hh0mmmmmiiiiiinnnnnddddd" logic_shifted;
    "bics"   "f1101010hh1mmmmmiiiiiinnnnnddddd" logic_shifted;
    "csel"   "f0011010100mmmmmcccc00nnnnnddddd" cond_select;
    "csinc"  "f0011010100mmmmmcccc01nnnnnddddd" cond_select;
    "csinv"  "f1011010100mmmmmcccc00nnnnnddddd" cond_select;
    "csneg"  "f1011010100mmmmmcccc01nnnnnddddd" cond_select;
    "udiv"   "f0011010110mmmmm000010nnnnnddddd" div;
    "sdiv"   "f0011010110mmmmm000011nnnnnddddd" div;
    "lslv"   "f0011010110mmmmm001000nnnnnddddd" shiftv;
    "lsrv"   "f0011010110mmmmm001001nnnnnddddd" shiftv;
    "asrv"   "f0011010110mmmmm001010nnnnnddddd" shiftv;
    "rorv"   "f0011010110mmmmm001011nnnnnddddd" shiftv;
    "madd"   "f0011011000mmmmm0aaaaannnnnddddd" madd;
    "msub"   "f0011011000mmmmm1aaaaannnnnddddd" madd;
    "smaddl" "10011011001mmmmm0aaaaannnnnddddd" madd_long;
    "smsubl" "10011011001mmmmm1aaaaannnnnddddd" madd_long;
    "umaddl" "10011011101mmmmm0aaaaannnnnddddd" madd_long;
    "umsubl" "10011011101mmmmm1aaaaannnnnddddd" madd_long;
    "smulh"  "10011011010mmmmm0xxxxxnnnnnddddd" mulh;
    "umulh"  "10011011110mmmmm0xxxxxnnnnnddddd" mulh;
    "adc"    "f0011010000mmmmm000000nnnnnddddd" adc_sbc;
    "adcs"   "f0111010000mmmmm000000nnnnnddddd" adc_sbc;
    "sbc"    "f1011010000mmmmm000000nnnnnddddd" adc_sbc;
    "sbcs"   "f1111010000mmmmm000000nnnnnddddd" adc_sbc;
    "ccmn"   "f0111010010mmmmmcccc00nnnnn0vvvv" cond_compare;
    "ccmp"   "f1111010010mmmmmcccc00nnnnn0vvvv" cond_compare;
    "ccmn"   "f0111010010iiiiicccc10nnnnn0vvvv" cond_compare;
    "ccmp"   "f1111010010iiiiicccc10nnnnn0vvvv" cond_compare;
    "rbit"   "f101101011000000000000nnnnnddddd" one_source;
    "rev16"  "f101101011000000000001nnnnnddddd" one_source;
    "rev"    "0101101011000000000010nnnnnddddd" one_source;
    "rev32"  "1101101011000000000010nnnnnddddd" one_source;
    "rev"    "1101101011000000000011nnnnnddddd" one_source;
    "clz"    "f101101011000000000100nnnnnddddd" one_source;
    "cls"    "f101101011000000000101nnnnnddddd" one_source;
    "ctz"    "f101101011000000000110nnnnnddddd" one_source;
    "cnt"    "f101101011000000000111nnnnnddddd" one_source;
    "abs"    "f101101011000000001000nnnnnddddd" one_source;
    "smax"   "f0010001110000iiiiiiiinnnnnddddd" minmax_imm;
    "umax"   "f0010001110001iiiiiiiinnnnnddddd" minmax_imm;
    "smin"   "f0010001110010iiiiiiiinnnnnddddd" minmax_imm;
    "umin"   "f0010001110011iiiiiiiinnnnnddddd" minmax_imm;
    "smax"   "f0011010110mmmmm011000nnnnnddddd" minmax_reg;
    "umax"   "f0011010110mmmmm011001nnnnnddddd" minmax_reg;
    "smin"   "f0011010110mmmmm011010nnnnnddddd" minmax_reg;
    "umin"   "f0011010110mmmmm011011nnnnnddddd" minmax_reg;

    // Branches, exception generation, hints.
    "b"      "000101iiiiiiiiiiiiiiiiiiiiiiiiii" b;
    "bl"     "100101iiiiiiiiiiiiiiiiiiiiiiiiii" b;
    "b.cond" "01010100iiiiiiiiiiiiiiiiiii0cccc" b_cond;
    "cbz"    "f0110100iiiiiiiiiiiiiiiiiiittttt" cbz;
    "cbnz"   "f0110101iiiiiiiiiiiiiiiiiiittttt" cbz;
    "tbz"    "B0110110bbbbbiiiiiiiiiiiiiittttt" tbz;
    "tbnz"   "B0110111bbbbbiiiiiiiiiiiiiittttt" tbz;
    "br"     "1101011000011111000000nnnnn00000" branch_reg;
    "blr"    "1101011000111111000000nnnnn00000" branch_reg;
    "ret"    "1101011001011111000000nnnnn00000" branch_reg;
    "svc"    "11010100000iiiiiiiiiiiiiiii00001" svc;
    "brk"    "11010100001iiiiiiiiiiiiiiii00000" brk;
    "nop"    "11010101000000110010000000011111" nop;
    "hint"   "11010101000000110010mmmmooo11111" nop;
    "clrex"  "11010101000000110011mmmm01011111" clrex;
    "dsb"    "11010101000000110011mmmm10011111" barrier;
    "dmb"    "11010101000000110011mmmm10111111" barrier;
    "isb"    "11010101000000110011mmmm11011111" barrier;
    "mrs"    "110101010011sssssssssssssssttttt" mrs;
    "msr"    "110101010001sssssssssssssssttttt" msr;

    // Loads and stores: unsigned scaled immediate offset.
    "strb"   "0011100100iiiiiiiiiiiinnnnnttttt" ldst_uimm;
    "ldrb"   "0011100101iiiiiiiiiiiinnnnnttttt" ldst_uimm;
    "ldrsb"  "001110011xiiiiiiiiiiiinnnnnttttt" ldst_uimm;
    "strh"   "0111100100iiiiiiiiiiiinnnnnttttt" ldst_uimm;
    "ldrh"   "0111100101iiiiiiiiiiiinnnnnttttt" ldst_uimm;
    "ldrsh"  "011110011xiiiiiiiiiiiinnnnnttttt" ldst_uimm;
    "str"    "1x11100100iiiiiiiiiiiinnnnnttttt" ldst_uimm;
    "ldr"    "1x11100101iiiiiiiiiiiinnnnnttttt" ldst_uimm;
    "ldrsw"  "1011100110iiiiiiiiiiiinnnnnttttt" ldst_uimm;
    // Signed unscaled immediate offset.
    "sturb"  "00111000000iiiiiiiii00nnnnnttttt" ldst_imm9;
    "ldurb"  "00111000010iiiiiiiii00nnnnnttttt" ldst_imm9;
    "ldursb" "001110001x0iiiiiiiii00nnnnnttttt" ldst_imm9;
    "sturh"  "01111000000iiiiiiiii00nnnnnttttt" ldst_imm9;
    "ldurh"  "01111000010iiiiiiiii00nnnnnttttt" ldst_imm9;
    "ldursh" "011110001x0iiiiiiiii00nnnnnttttt" ldst_imm9;
    "stur"   "1x111000000iiiiiiiii00nnnnnttttt" ldst_imm9;
    "ldur"   "1x111000010iiiiiiiii00nnnnnttttt" ldst_imm9;
    "ldursw" "10111000100iiiiiiiii00nnnnnttttt" ldst_imm9;
    // Post-index.
    "strb"   "00111000000iiiiiiiii01nnnnnttttt" ldst_imm9;
    "ldrb"   "00111000010iiiiiiiii01nnnnnttttt" ldst_imm9;
    "ldrsb"  "001110001x0iiiiiiiii01nnnnnttttt" ldst_imm9;
    "strh"   "01111000000iiiiiiiii01nnnnnttttt" ldst_imm9;
    "ldrh"   "01111000010iiiiiiiii01nnnnnttttt" ldst_imm9;
    "ldrsh"  "011110001x0iiiiiiiii01nnnnnttttt" ldst_imm9;
    "str"    "1x111000000iiiiiiiii01nnnnnttttt" ldst_imm9;
    "ldr"    "1x111000010iiiiiiiii01nnnnnttttt" ldst_imm9;
    "ldrsw"  "10111000100iiiiiiiii01nnnnnttttt" ldst_imm9;
    // Pre-index.
    "strb"   "00111000000iiiiiiiii11nnnnnttttt" ldst_imm9;
    "ldrb"   "00111000010iiiiiiiii11nnnnnttttt" ldst_imm9;
    "ldrsb"  "001110001x0iiiiiiiii11nnnnnttttt" ldst_imm9;
    "strh"   "01111000000iiiiiiiii11nnnnnttttt" ldst_imm9;
    "ldrh"   "01111000010iiiiiiiii11nnnnnttttt" ldst_imm9;
    "ldrsh"  "011110001x0iiiiiiiii11nnnnnttttt" ldst_imm9;
    "str"    "1x111000000iiiiiiiii11nnnnnttttt" ldst_imm9;
    "ldr"    "1x111000010iiiiiiiii11nnnnnttttt" ldst_imm9;
    "ldrsw"  "10111000100iiiiiiiii11nnnnnttttt" ldst_imm9;
    // Register offset.
    "strb"   "00111000001mmmmmoooS10nnnnnttttt" ldst_reg;
    "ldrb"   "00111000011mmmmmoooS10nnnnnttttt" ldst_reg;
    "ldrsb"  "001110001x1mmmmmoooS10nnnnnttttt" ldst_reg;
    "strh"   "01111000001mmmmmoooS10nnnnnttttt" ldst_reg;
    "ldrh"   "01111000011mmmmmoooS10nnnnnttttt" ldst_reg;
    "ldrsh"  "011110001x1mmmmmoooS10nnnnnttttt" ldst_reg;
    "str"    "1x111000001mmmmmoooS10nnnnnttttt" ldst_reg;
    "ldr"    "1x111000011mmmmmoooS10nnnnnttttt" ldst_reg;
    "ldrsw"  "10111000101mmmmmoooS10nnnnnttttt" ldst_reg;
    // PC-relative literal.
    "ldr"    "0x011000iiiiiiiiiiiiiiiiiiittttt" ldr_lit;
    "ldrsw"  "10011000iiiiiiiiiiiiiiiiiiittttt" ldr_lit;
    // Prefetch (hints: lifted to nothing).
    "prfm"   "1111100110iiiiiiiiiiiinnnnnttttt" prfm;
    "prfum"  "11111000100iiiiiiiii00nnnnnttttt" prfm;
    "prfm"   "11111000101mmmmmoooS10nnnnnttttt" prfm_reg;
    "prfm"   "11011000iiiiiiiiiiiiiiiiiiittttt" prfm;
    // Exclusives (the monitor is modelled with compare-and-swap, see `store_exclusive`).
    "ldxrb"  "00001000010xxxxx0xxxxxnnnnnttttt" load_exclusive;
    "ldxrh"  "01001000010xxxxx0xxxxxnnnnnttttt" load_exclusive;
    "ldxr"   "1x001000010xxxxx0xxxxxnnnnnttttt" load_exclusive;
    "ldaxrb" "00001000010xxxxx1xxxxxnnnnnttttt" load_exclusive;
    "ldaxrh" "01001000010xxxxx1xxxxxnnnnnttttt" load_exclusive;
    "ldaxr"  "1x001000010xxxxx1xxxxxnnnnnttttt" load_exclusive;
    "stxrb"  "00001000000sssss0xxxxxnnnnnttttt" store_exclusive;
    "stxrh"  "01001000000sssss0xxxxxnnnnnttttt" store_exclusive;
    "stxr"   "1x001000000sssss0xxxxxnnnnnttttt" store_exclusive;
    "stlxrb" "00001000000sssss1xxxxxnnnnnttttt" store_exclusive;
    "stlxrh" "01001000000sssss1xxxxxnnnnnttttt" store_exclusive;
    "stlxr"  "1x001000000sssss1xxxxxnnnnnttttt" store_exclusive;
    "ldxp"   "1f001000011xxxxx0uuuuunnnnnttttt" load_exclusive_pair;
    "ldaxp"  "1f001000011xxxxx1uuuuunnnnnttttt" load_exclusive_pair;
    "stxp"   "1f001000001sssss0uuuuunnnnnttttt" store_exclusive_pair;
    "stlxp"  "1f001000001sssss1uuuuunnnnnttttt" store_exclusive_pair;
    "casp"   "0f001000001sssss011111nnnnnttttt" casp;
    "caspl"  "0f001000001sssss111111nnnnnttttt" casp;
    "caspa"  "0f001000011sssss011111nnnnnttttt" casp;
    "caspal" "0f001000011sssss111111nnnnnttttt" casp;
    // LSE atomics, any size (bits 31:30) and ordering (A bit 23, R bit 22).
    "ldadd"  "xx111000xx1sssss000000nnnnnttttt" atomic_rmw;
    "ldclr"  "xx111000xx1sssss000100nnnnnttttt" atomic_rmw;
    "ldeor"  "xx111000xx1sssss001000nnnnnttttt" atomic_rmw;
    "ldset"  "xx111000xx1sssss001100nnnnnttttt" atomic_rmw;
    "ldsmax" "xx111000xx1sssss010000nnnnnttttt" atomic_rmw;
    "ldsmin" "xx111000xx1sssss010100nnnnnttttt" atomic_rmw;
    "ldumax" "xx111000xx1sssss011000nnnnnttttt" atomic_rmw;
    "ldumin" "xx111000xx1sssss011100nnnnnttttt" atomic_rmw;
    "swp"    "xx111000xx1sssss100000nnnnnttttt" atomic_rmw;
    "cas"    "xx0010001x1sssssx11111nnnnnttttt" cas;
    // Load-acquire, store-release.
    "ldarb"  "0000100011011111111111nnnnnttttt" ldar_stlr;
    "ldarh"  "0100100011011111111111nnnnnttttt" ldar_stlr;
    "ldar"   "1x00100011011111111111nnnnnttttt" ldar_stlr;
    "stlrb"  "00001000100xxxxx1xxxxxnnnnnttttt" ldar_stlr;
    "stlrh"  "01001000100xxxxx1xxxxxnnnnnttttt" ldar_stlr;
    "stlr"   "1x001000100xxxxx1xxxxxnnnnnttttt" ldar_stlr;
    // SIMD&FP registers B/H/S/D/Q: opc<1> with size 00 selects Q (other sizes are
    // unallocated and rejected by the lifter).
    "str"    "xx111101x0iiiiiiiiiiiinnnnnttttt" ldst_uimm;
    "ldr"    "xx111101x1iiiiiiiiiiiinnnnnttttt" ldst_uimm;
    "stur"   "xx111100x00iiiiiiiii00nnnnnttttt" ldst_imm9;
    "ldur"   "xx111100x10iiiiiiiii00nnnnnttttt" ldst_imm9;
    "str"    "xx111100x00iiiiiiiii01nnnnnttttt" ldst_imm9;
    "ldr"    "xx111100x10iiiiiiiii01nnnnnttttt" ldst_imm9;
    "str"    "xx111100x00iiiiiiiii11nnnnnttttt" ldst_imm9;
    "ldr"    "xx111100x10iiiiiiiii11nnnnnttttt" ldst_imm9;
    "str"    "xx111100x01mmmmmoooS10nnnnnttttt" ldst_reg;
    "ldr"    "xx111100x11mmmmmoooS10nnnnnttttt" ldst_reg;
    "ldr"    "xx011100iiiiiiiiiiiiiiiiiiittttt" fp_ldr_lit;
    // SIMD&FP pairs (opc 11 is unallocated): non-temporal, post-index, offset, pre-index.
    "stnp"   "xx10110000iiiiiiiuuuuunnnnnttttt" ldst_pair;
    "ldnp"   "xx10110001iiiiiiiuuuuunnnnnttttt" ldst_pair;
    "stp"    "xx10110010iiiiiiiuuuuunnnnnttttt" ldst_pair;
    "ldp"    "xx10110011iiiiiiiuuuuunnnnnttttt" ldst_pair;
    "stp"    "xx10110100iiiiiiiuuuuunnnnnttttt" ldst_pair;
    "ldp"    "xx10110101iiiiiiiuuuuunnnnnttttt" ldst_pair;
    "stp"    "xx10110110iiiiiiiuuuuunnnnnttttt" ldst_pair;
    "ldp"    "xx10110111iiiiiiiuuuuunnnnnttttt" ldst_pair;
    // FMOV (general): W<->S, X<->D, X<->V.D[1].
    "fmov"   "0001111000100110000000nnnnnddddd" fmov_general;
    "fmov"   "0001111000100111000000nnnnnddddd" fmov_general;
    "fmov"   "1001111001100110000000nnnnnddddd" fmov_general;
    "fmov"   "1001111001100111000000nnnnnddddd" fmov_general;
    "fmov"   "1001111010101110000000nnnnnddddd" fmov_general;
    "fmov"   "1001111010101111000000nnnnnddddd" fmov_general;
    // Advanced SIMD: logical, add/sub/compare-equal, DUP/UMOV/INS (general), NOT, EXT,
    // modified immediates.
    "and"    "0Q001110001mmmmm000111nnnnnddddd" simd_logic;
    "bic"    "0Q001110011mmmmm000111nnnnnddddd" simd_logic;
    "orr"    "0Q001110101mmmmm000111nnnnnddddd" simd_logic;
    "orn"    "0Q001110111mmmmm000111nnnnnddddd" simd_logic;
    "eor"    "0Q101110001mmmmm000111nnnnnddddd" simd_logic;
    "bsl"    "0Q101110011mmmmm000111nnnnnddddd" simd_logic;
    "bit"    "0Q101110101mmmmm000111nnnnnddddd" simd_logic;
    "bif"    "0Q101110111mmmmm000111nnnnnddddd" simd_logic;
    "add"    "0Q001110ss1mmmmm100001nnnnnddddd" simd_arith;
    "sub"    "0Q101110ss1mmmmm100001nnnnnddddd" simd_arith;
    "cmeq"   "0Q101110ss1mmmmm100011nnnnnddddd" simd_arith;
    "dup"    "0Q001110000iiiii000011nnnnnddddd" simd_dup;
    "umov"   "0Q001110000iiiii001111nnnnnddddd" simd_umov;
    "ins"    "01001110000iiiii000111nnnnnddddd" simd_ins;
    "cmeq"   "0Q001110ss100000100110nnnnnddddd" simd_cmeq_zero;
    "not"    "0Q10111000100000010110nnnnnddddd" simd_not;
    "ext"    "0Q101110000mmmmm0iiii0nnnnnddddd" simd_ext;
    // Modified immediates, by cmode (bits 15:12) and op (bit 29).
    "movi"   "0Q00111100000jjj0xx001kkkkkddddd" simd_modimm;
    "orr"    "0Q00111100000jjj0xx101kkkkkddddd" simd_modimm;
    "movi"   "0Q00111100000jjj10x001kkkkkddddd" simd_modimm;
    "orr"    "0Q00111100000jjj10x101kkkkkddddd" simd_modimm;
    "movi"   "0Q00111100000jjj110x01kkkkkddddd" simd_modimm;
    "movi"   "0Q00111100000jjj111001kkkkkddddd" simd_modimm;
    "fmov"   "0Q00111100000jjj111101kkkkkddddd" simd_modimm;
    "mvni"   "0Q10111100000jjj0xx001kkkkkddddd" simd_modimm;
    "bic"    "0Q10111100000jjj0xx101kkkkkddddd" simd_modimm;
    "mvni"   "0Q10111100000jjj10x001kkkkkddddd" simd_modimm;
    "bic"    "0Q10111100000jjj10x101kkkkkddddd" simd_modimm;
    "mvni"   "0Q10111100000jjj110x01kkkkkddddd" simd_modimm;
    "movi"   "0Q10111100000jjj111001kkkkkddddd" simd_modimm;
    "fmov"   "0Q10111100000jjj111101kkkkkddddd" simd_modimm;
    // Advanced SIMD, element-wise ops lifted lane by lane.
    "cmgt"   "0Q001110ss1mmmmm001101nnnnnddddd" simd_three;
    "cmge"   "0Q001110ss1mmmmm001111nnnnnddddd" simd_three;
    "cmhi"   "0Q101110ss1mmmmm001101nnnnnddddd" simd_three;
    "cmhs"   "0Q101110ss1mmmmm001111nnnnnddddd" simd_three;
    "cmtst"  "0Q001110ss1mmmmm100011nnnnnddddd" simd_three;
    "smax"   "0Q001110ss1mmmmm011001nnnnnddddd" simd_three;
    "smin"   "0Q001110ss1mmmmm011011nnnnnddddd" simd_three;
    "umax"   "0Q101110ss1mmmmm011001nnnnnddddd" simd_three;
    "umin"   "0Q101110ss1mmmmm011011nnnnnddddd" simd_three;
    "smaxp"  "0Q001110ss1mmmmm101001nnnnnddddd" simd_three;
    "sminp"  "0Q001110ss1mmmmm101011nnnnnddddd" simd_three;
    "umaxp"  "0Q101110ss1mmmmm101001nnnnnddddd" simd_three;
    "uminp"  "0Q101110ss1mmmmm101011nnnnnddddd" simd_three;
    "addp"   "0Q001110ss1mmmmm101111nnnnnddddd" simd_three;
    "mul"    "0Q001110ss1mmmmm100111nnnnnddddd" simd_three;
    "addv"   "0Q001110ss110001101110nnnnnddddd" simd_across;
    "smaxv"  "0Q001110ss110000101010nnnnnddddd" simd_across;
    "sminv"  "0Q001110ss110001101010nnnnnddddd" simd_across;
    "umaxv"  "0Q101110ss110000101010nnnnnddddd" simd_across;
    "uminv"  "0Q101110ss110001101010nnnnnddddd" simd_across;
    "xtn"    "00001110ss100001001010nnnnnddddd" simd_xtn;
    "xtn2"   "01001110ss100001001010nnnnnddddd" simd_xtn;
    "shrn"   "000011110hhhhbbb100001nnnnnddddd" simd_shrn;
    "shrn2"  "010011110hhhhbbb100001nnnnnddddd" simd_shrn;
    "sshr"   "0Q0011110hhhhbbb000001nnnnnddddd" simd_shift_imm;
    "ushr"   "0Q1011110hhhhbbb000001nnnnnddddd" simd_shift_imm;
    "shl"    "0Q0011110hhhhbbb010101nnnnnddddd" simd_shift_imm;
    "cnt"    "0Q00111000100000010110nnnnnddddd" simd_cnt;
    "cmgt"   "0Q001110ss100000100010nnnnnddddd" simd_cmp_zero;
    "cmge"   "0Q101110ss100000100010nnnnnddddd" simd_cmp_zero;
    "cmle"   "0Q101110ss100000100110nnnnnddddd" simd_cmp_zero;
    "cmlt"   "0Q001110ss100000101010nnnnnddddd" simd_cmp_zero;
    "rev64"  "0Q001110ss100000000010nnnnnddddd" simd_rev;
    "rev32"  "0Q101110ss100000000010nnnnnddddd" simd_rev;
    "rev16"  "0Q001110ss100000000110nnnnnddddd" simd_rev;
    "uzp1"   "0Q001110ss0mmmmm000110nnnnnddddd" simd_permute;
    "trn1"   "0Q001110ss0mmmmm001010nnnnnddddd" simd_permute;
    "zip1"   "0Q001110ss0mmmmm001110nnnnnddddd" simd_permute;
    "uzp2"   "0Q001110ss0mmmmm010110nnnnnddddd" simd_permute;
    "trn2"   "0Q001110ss0mmmmm011010nnnnnddddd" simd_permute;
    "zip2"   "0Q001110ss0mmmmm011110nnnnnddddd" simd_permute;
    "dup"    "0Q001110000iiiii000001nnnnnddddd" simd_dup_elem;
    "dup"    "01011110000iiiii000001nnnnnddddd" simd_dup_elem;
    "ins"    "01101110000iiiii0jjjj1nnnnnddddd" simd_ins_elem;
    "ld1"    "0Q00110001000000xx10ssnnnnnttttt" simd_ld1_st1;
    "ld1"    "0Q001100010000000111ssnnnnnttttt" simd_ld1_st1;
    "st1"    "0Q00110000000000xx10ssnnnnnttttt" simd_ld1_st1;
    "st1"    "0Q001100000000000111ssnnnnnttttt" simd_ld1_st1;
    "ld1"    "0Q001100110mmmmmxx10ssnnnnnttttt" simd_ld1_st1;
    "ld1"    "0Q001100110mmmmm0111ssnnnnnttttt" simd_ld1_st1;
    "st1"    "0Q001100100mmmmmxx10ssnnnnnttttt" simd_ld1_st1;
    "st1"    "0Q001100100mmmmm0111ssnnnnnttttt" simd_ld1_st1;
    // Scalar floating point (`y` is the type: 00 single, 01 double, others rejected).
    "fmul"   "00011110yy1mmmmm000010nnnnnddddd" fp_two;
    "fdiv"   "00011110yy1mmmmm000110nnnnnddddd" fp_two;
    "fadd"   "00011110yy1mmmmm001010nnnnnddddd" fp_two;
    "fsub"   "00011110yy1mmmmm001110nnnnnddddd" fp_two;
    "fmax"   "00011110yy1mmmmm010010nnnnnddddd" fp_two;
    "fmin"   "00011110yy1mmmmm010110nnnnnddddd" fp_two;
    "fnmul"  "00011110yy1mmmmm100010nnnnnddddd" fp_two;
    "fmov"   "00011110yy100000010000nnnnnddddd" fp_one;
    "fabs"   "00011110yy100000110000nnnnnddddd" fp_one;
    "fneg"   "00011110yy100001010000nnnnnddddd" fp_one;
    "fsqrt"  "00011110yy100001110000nnnnnddddd" fp_one;
    "fcvt"   "00011110yy10001xx10000nnnnnddddd" fp_cvt;
    "frintn" "00011110yy100100010000nnnnnddddd" fp_one;
    "frintp" "00011110yy100100110000nnnnnddddd" fp_one;
    "frintm" "00011110yy100101010000nnnnnddddd" fp_one;
    "frintz" "00011110yy100101110000nnnnnddddd" fp_one;
    "fcmp"   "00011110yy1mmmmm001000nnnnn0x000" fp_cmp;
    "fcmpe"  "00011110yy1mmmmm001000nnnnn1x000" fp_cmp;
    "fcsel"  "00011110yy1mmmmmcccc11nnnnnddddd" fp_csel;
    "fmadd"  "00011111yy0mmmmm0aaaaannnnnddddd" fp_fma;
    "fmsub"  "00011111yy0mmmmm1aaaaannnnnddddd" fp_fma;
    "fnmadd" "00011111yy1mmmmm0aaaaannnnnddddd" fp_fma;
    "fnmsub" "00011111yy1mmmmm1aaaaannnnnddddd" fp_fma;
    "fmov"   "00011110yy1jjjjjjjj10000000ddddd" fp_fmov_imm;
    "scvtf"  "f0011110yy100010000000nnnnnddddd" fp_from_int;
    "ucvtf"  "f0011110yy100011000000nnnnnddddd" fp_from_int;
    "fcvtns" "f0011110yy100000000000nnnnnddddd" fp_to_int;
    "fcvtnu" "f0011110yy100001000000nnnnnddddd" fp_to_int;
    "fcvtps" "f0011110yy101000000000nnnnnddddd" fp_to_int;
    "fcvtpu" "f0011110yy101001000000nnnnnddddd" fp_to_int;
    "fcvtms" "f0011110yy110000000000nnnnnddddd" fp_to_int;
    "fcvtmu" "f0011110yy110001000000nnnnnddddd" fp_to_int;
    "fcvtzs" "f0011110yy111000000000nnnnnddddd" fp_to_int;
    "fcvtzu" "f0011110yy111001000000nnnnnddddd" fp_to_int;
    // Advanced SIMD, second part (lift/simd2.rs).
    "sshll"  "0Q0011110hhhhbbb101001nnnnnddddd" simd_shll;
    "ushll"  "0Q1011110hhhhbbb101001nnnnnddddd" simd_shll;
    "shll"   "0Q101110ss100001001110nnnnnddddd" simd_shll_max;
    "ssra"   "0Q0011110hhhhbbb000101nnnnnddddd" simd_shift_acc;
    "usra"   "0Q1011110hhhhbbb000101nnnnnddddd" simd_shift_acc;
    "sshr"   "010111110hhhhbbb000001nnnnnddddd" simd_shift_imm;
    "ushr"   "011111110hhhhbbb000001nnnnnddddd" simd_shift_imm;
    "shl"    "010111110hhhhbbb010101nnnnnddddd" simd_shift_imm;
    "ssra"   "010111110hhhhbbb000101nnnnnddddd" simd_shift_acc;
    "usra"   "011111110hhhhbbb000101nnnnnddddd" simd_shift_acc;
    "saddl"  "0Q001110ss1mmmmm000000nnnnnddddd" simd_three_diff;
    "uaddl"  "0Q101110ss1mmmmm000000nnnnnddddd" simd_three_diff;
    "saddw"  "0Q001110ss1mmmmm000100nnnnnddddd" simd_three_diff;
    "uaddw"  "0Q101110ss1mmmmm000100nnnnnddddd" simd_three_diff;
    "ssubl"  "0Q001110ss1mmmmm001000nnnnnddddd" simd_three_diff;
    "usubl"  "0Q101110ss1mmmmm001000nnnnnddddd" simd_three_diff;
    "ssubw"  "0Q001110ss1mmmmm001100nnnnnddddd" simd_three_diff;
    "usubw"  "0Q101110ss1mmmmm001100nnnnnddddd" simd_three_diff;
    "addhn"  "0Q001110ss1mmmmm010000nnnnnddddd" simd_three_diff;
    "raddhn" "0Q101110ss1mmmmm010000nnnnnddddd" simd_three_diff;
    "sabal"  "0Q001110ss1mmmmm010100nnnnnddddd" simd_three_diff;
    "uabal"  "0Q101110ss1mmmmm010100nnnnnddddd" simd_three_diff;
    "subhn"  "0Q001110ss1mmmmm011000nnnnnddddd" simd_three_diff;
    "rsubhn" "0Q101110ss1mmmmm011000nnnnnddddd" simd_three_diff;
    "sabdl"  "0Q001110ss1mmmmm011100nnnnnddddd" simd_three_diff;
    "uabdl"  "0Q101110ss1mmmmm011100nnnnnddddd" simd_three_diff;
    "smlal"  "0Q001110ss1mmmmm100000nnnnnddddd" simd_three_diff;
    "umlal"  "0Q101110ss1mmmmm100000nnnnnddddd" simd_three_diff;
    "smlsl"  "0Q001110ss1mmmmm101000nnnnnddddd" simd_three_diff;
    "umlsl"  "0Q101110ss1mmmmm101000nnnnnddddd" simd_three_diff;
    "smull"  "0Q001110ss1mmmmm110000nnnnnddddd" simd_three_diff;
    "umull"  "0Q101110ss1mmmmm110000nnnnnddddd" simd_three_diff;
    "fadd"   "0Q0011100z1mmmmm110101nnnnnddddd" simd_fp_three;
    "fsub"   "0Q0011101z1mmmmm110101nnnnnddddd" simd_fp_three;
    "fmul"   "0Q1011100z1mmmmm110111nnnnnddddd" simd_fp_three;
    "fdiv"   "0Q1011100z1mmmmm111111nnnnnddddd" simd_fp_three;
    "fmla"   "0Q0011100z1mmmmm110011nnnnnddddd" simd_fp_three;
    "fmls"   "0Q0011101z1mmmmm110011nnnnnddddd" simd_fp_three;
    "fmax"   "0Q0011100z1mmmmm111101nnnnnddddd" simd_fp_three;
    "fmin"   "0Q0011101z1mmmmm111101nnnnnddddd" simd_fp_three;
    "fmaxnm" "0Q0011100z1mmmmm110001nnnnnddddd" simd_fp_three;
    "fminnm" "0Q0011101z1mmmmm110001nnnnnddddd" simd_fp_three;
    "fabd"   "0Q1011101z1mmmmm110101nnnnnddddd" simd_fp_three;
    "fcmeq"  "0Q0011100z1mmmmm111001nnnnnddddd" simd_fp_three;
    "fcmge"  "0Q1011100z1mmmmm111001nnnnnddddd" simd_fp_three;
    "fcmgt"  "0Q1011101z1mmmmm111001nnnnnddddd" simd_fp_three;
    "facge"  "0Q1011100z1mmmmm111011nnnnnddddd" simd_fp_three;
    "facgt"  "0Q1011101z1mmmmm111011nnnnnddddd" simd_fp_three;
    "faddp"  "0Q1011100z1mmmmm110101nnnnnddddd" simd_fp_three;
    "fmaxp"  "0Q1011100z1mmmmm111101nnnnnddddd" simd_fp_three;
    "fminp"  "0Q1011101z1mmmmm111101nnnnnddddd" simd_fp_three;
    "fmaxnmp" "0Q1011100z1mmmmm110001nnnnnddddd" simd_fp_three;
    "fminnmp" "0Q1011101z1mmmmm110001nnnnnddddd" simd_fp_three;
    "fabd"   "011111101z1mmmmm110101nnnnnddddd" simd_fp_three;
    "fcmeq"  "010111100z1mmmmm111001nnnnnddddd" simd_fp_three;
    "fcmge"  "011111100z1mmmmm111001nnnnnddddd" simd_fp_three;
    "fcmgt"  "011111101z1mmmmm111001nnnnnddddd" simd_fp_three;
    "facge"  "011111100z1mmmmm111011nnnnnddddd" simd_fp_three;
    "facgt"  "011111101z1mmmmm111011nnnnnddddd" simd_fp_three;
    "fabs"   "0Q0011101z100000111110nnnnnddddd" simd_fp_misc;
    "fneg"   "0Q1011101z100000111110nnnnnddddd" simd_fp_misc;
    "fsqrt"  "0Q1011101z100001111110nnnnnddddd" simd_fp_misc;
    "frintn" "0Q0011100z100001100010nnnnnddddd" simd_fp_misc;
    "frintm" "0Q0011100z100001100110nnnnnddddd" simd_fp_misc;
    "frintp" "0Q0011101z100001100010nnnnnddddd" simd_fp_misc;
    "frintz" "0Q0011101z100001100110nnnnnddddd" simd_fp_misc;
    "frinta" "0Q1011100z100001100010nnnnnddddd" simd_fp_misc;
    "frintx" "0Q1011100z100001100110nnnnnddddd" simd_fp_misc;
    "frinti" "0Q1011101z100001100110nnnnnddddd" simd_fp_misc;
    "fcvtns" "0Q0011100z100001101010nnnnnddddd" simd_fp_misc;
    "fcvtnu" "0Q1011100z100001101010nnnnnddddd" simd_fp_misc;
    "fcvtms" "0Q0011100z100001101110nnnnnddddd" simd_fp_misc;
    "fcvtmu" "0Q1011100z100001101110nnnnnddddd" simd_fp_misc;
    "fcvtas" "0Q0011100z100001110010nnnnnddddd" simd_fp_misc;
    "fcvtau" "0Q1011100z100001110010nnnnnddddd" simd_fp_misc;
    "scvtf"  "0Q0011100z100001110110nnnnnddddd" simd_fp_misc;
    "ucvtf"  "0Q1011100z100001110110nnnnnddddd" simd_fp_misc;
    "fcvtps" "0Q0011101z100001101010nnnnnddddd" simd_fp_misc;
    "fcvtpu" "0Q1011101z100001101010nnnnnddddd" simd_fp_misc;
    "fcvtzs" "0Q0011101z100001101110nnnnnddddd" simd_fp_misc;
    "fcvtzu" "0Q1011101z100001101110nnnnnddddd" simd_fp_misc;
    "fcvtns" "010111100z100001101010nnnnnddddd" simd_fp_misc;
    "fcvtnu" "011111100z100001101010nnnnnddddd" simd_fp_misc;
    "fcvtms" "010111100z100001101110nnnnnddddd" simd_fp_misc;
    "fcvtmu" "011111100z100001101110nnnnnddddd" simd_fp_misc;
    "fcvtas" "010111100z100001110010nnnnnddddd" simd_fp_misc;
    "fcvtau" "011111100z100001110010nnnnnddddd" simd_fp_misc;
    "scvtf"  "010111100z100001110110nnnnnddddd" simd_fp_misc;
    "ucvtf"  "011111100z100001110110nnnnnddddd" simd_fp_misc;
    "fcvtps" "010111101z100001101010nnnnnddddd" simd_fp_misc;
    "fcvtpu" "011111101z100001101010nnnnnddddd" simd_fp_misc;
    "fcvtzs" "010111101z100001101110nnnnnddddd" simd_fp_misc;
    "fcvtzu" "011111101z100001101110nnnnnddddd" simd_fp_misc;
    "fcvtl"  "0Q0011100z100001011110nnnnnddddd" simd_fcvt_long_narrow;
    "fcvtn"  "0Q0011100z100001011010nnnnnddddd" simd_fcvt_long_narrow;
    "add"    "01011110ss1mmmmm100001nnnnnddddd" simd_scalar_three;
    "sub"    "01111110ss1mmmmm100001nnnnnddddd" simd_scalar_three;
    "cmeq"   "01111110ss1mmmmm100011nnnnnddddd" simd_scalar_three;
    "cmtst"  "01011110ss1mmmmm100011nnnnnddddd" simd_scalar_three;
    "cmgt"   "01011110ss1mmmmm001101nnnnnddddd" simd_scalar_three;
    "cmge"   "01011110ss1mmmmm001111nnnnnddddd" simd_scalar_three;
    "cmhi"   "01111110ss1mmmmm001101nnnnnddddd" simd_scalar_three;
    "cmhs"   "01111110ss1mmmmm001111nnnnnddddd" simd_scalar_three;
    "cmgt"   "01011110ss100000100010nnnnnddddd" simd_cmp_zero;
    "cmge"   "01111110ss100000100010nnnnnddddd" simd_cmp_zero;
    "cmle"   "01111110ss100000100110nnnnnddddd" simd_cmp_zero;
    "cmlt"   "01011110ss100000101010nnnnnddddd" simd_cmp_zero;
    "cmeq"   "01011110ss100000100110nnnnnddddd" simd_cmeq_zero;
    "abs"    "0Q001110ss100000101110nnnnnddddd" simd_abs_neg;
    "neg"    "0Q101110ss100000101110nnnnnddddd" simd_abs_neg;
    "abs"    "01011110ss100000101110nnnnnddddd" simd_abs_neg;
    "neg"    "01111110ss100000101110nnnnnddddd" simd_abs_neg;
    "addp"   "01011110ss110001101110nnnnnddddd" simd_addp_scalar;
    "faddp"  "011111100z110000110110nnnnnddddd" simd_fp_pair_scalar;
    "fmaxp"  "011111100z110000111110nnnnnddddd" simd_fp_pair_scalar;
    "fminp"  "011111101z110000111110nnnnnddddd" simd_fp_pair_scalar;
    "fmaxnmp" "011111100z110000110010nnnnnddddd" simd_fp_pair_scalar;
    "fminnmp" "011111101z110000110010nnnnnddddd" simd_fp_pair_scalar;
    "mla"    "0Q001110ss1mmmmm100101nnnnnddddd" simd_three_more;
    "mls"    "0Q101110ss1mmmmm100101nnnnnddddd" simd_three_more;
    "sabd"   "0Q001110ss1mmmmm011101nnnnnddddd" simd_three_more;
    "uabd"   "0Q101110ss1mmmmm011101nnnnnddddd" simd_three_more;
    "saba"   "0Q001110ss1mmmmm011111nnnnnddddd" simd_three_more;
    "uaba"   "0Q101110ss1mmmmm011111nnnnnddddd" simd_three_more;
    "shadd"  "0Q001110ss1mmmmm000001nnnnnddddd" simd_three_more;
    "uhadd"  "0Q101110ss1mmmmm000001nnnnnddddd" simd_three_more;
    "srhadd" "0Q001110ss1mmmmm000101nnnnnddddd" simd_three_more;
    "urhadd" "0Q101110ss1mmmmm000101nnnnnddddd" simd_three_more;
    "shsub"  "0Q001110ss1mmmmm001001nnnnnddddd" simd_three_more;
    "uhsub"  "0Q101110ss1mmmmm001001nnnnnddddd" simd_three_more;
    "sshl"   "0Q001110ss1mmmmm010001nnnnnddddd" simd_three_more;
    "ushl"   "0Q101110ss1mmmmm010001nnnnnddddd" simd_three_more;
    "sqadd"  "0Q001110ss1mmmmm000011nnnnnddddd" simd_three_more;
    "uqadd"  "0Q101110ss1mmmmm000011nnnnnddddd" simd_three_more;
    "sqsub"  "0Q001110ss1mmmmm001011nnnnnddddd" simd_three_more;
    "uqsub"  "0Q101110ss1mmmmm001011nnnnnddddd" simd_three_more;
    "saddlv" "0Q001110ss110000001110nnnnnddddd" simd_add_long;
    "uaddlv" "0Q101110ss110000001110nnnnnddddd" simd_add_long;
    "saddlp" "0Q001110ss100000001010nnnnnddddd" simd_add_long;
    "uaddlp" "0Q101110ss100000001010nnnnnddddd" simd_add_long;
    "sadalp" "0Q001110ss100000011010nnnnnddddd" simd_add_long;
    "uadalp" "0Q101110ss100000011010nnnnnddddd" simd_add_long;
    "fmaxv"  "0Q10111000110000111110nnnnnddddd" simd_fp_across;
    "fminv"  "0Q10111010110000111110nnnnnddddd" simd_fp_across;
    "fmaxnmv" "0Q10111000110000110010nnnnnddddd" simd_fp_across;
    "fminnmv" "0Q10111010110000110010nnnnnddddd" simd_fp_across;
    "mul"    "0Q001111ssxxmmmm1000x0nnnnnddddd" simd_by_elem;
    "mla"    "0Q101111ssxxmmmm0000x0nnnnnddddd" simd_by_elem;
    "mls"    "0Q101111ssxxmmmm0100x0nnnnnddddd" simd_by_elem;
    "fmul"   "0Q0011111zxxmmmm1001x0nnnnnddddd" simd_by_elem;
    "fmla"   "0Q0011111zxxmmmm0001x0nnnnnddddd" simd_by_elem;
    "fmls"   "0Q0011111zxxmmmm0101x0nnnnnddddd" simd_by_elem;
    "ld2"    "0Q001100010000001000ssnnnnnttttt" simd_ldst_multi;
    "st2"    "0Q001100000000001000ssnnnnnttttt" simd_ldst_multi;
    "ld3"    "0Q001100010000000100ssnnnnnttttt" simd_ldst_multi;
    "st3"    "0Q001100000000000100ssnnnnnttttt" simd_ldst_multi;
    "ld4"    "0Q001100010000000000ssnnnnnttttt" simd_ldst_multi;
    "st4"    "0Q001100000000000000ssnnnnnttttt" simd_ldst_multi;
    "ld2"    "0Q001100110mmmmm1000ssnnnnnttttt" simd_ldst_multi;
    "st2"    "0Q001100100mmmmm1000ssnnnnnttttt" simd_ldst_multi;
    "ld3"    "0Q001100110mmmmm0100ssnnnnnttttt" simd_ldst_multi;
    "st3"    "0Q001100100mmmmm0100ssnnnnnttttt" simd_ldst_multi;
    "ld4"    "0Q001100110mmmmm0000ssnnnnnttttt" simd_ldst_multi;
    "st4"    "0Q001100100mmmmm0000ssnnnnnttttt" simd_ldst_multi;
    "ld1r"   "0Q001101010000001100ssnnnnnttttt" simd_ld1r;
    "ld1r"   "0Q001101110mmmmm1100ssnnnnnttttt" simd_ld1r;
    "ld1"    "0Q00110101000000xx0xxxnnnnnttttt" simd_ldst_lane;
    "st1"    "0Q00110100000000xx0xxxnnnnnttttt" simd_ldst_lane;
    "ld1"    "0Q001101110mmmmmxx0xxxnnnnnttttt" simd_ldst_lane;
    "st1"    "0Q001101100mmmmmxx0xxxnnnnnttttt" simd_ldst_lane;
    // Cache maintenance (SYS with op1 = 3, CRn = 7).
    "ic"     "110101010000101101110101001ttttt" sys;
    "dc"     "11010101000010110111mmmm001ttttt" sys;
    // Scalar floating point, second part.
    "frinta" "00011110yy100110010000nnnnnddddd" fp_round;
    "frintx" "00011110yy100111010000nnnnnddddd" fp_round;
    "frinti" "00011110yy100111110000nnnnnddddd" fp_round;
    "fmaxnm" "00011110yy1mmmmm011010nnnnnddddd" fp_minmax_num;
    "fminnm" "00011110yy1mmmmm011110nnnnnddddd" fp_minmax_num;
    "fccmp"  "00011110yy1mmmmmcccc01nnnnn0vvvv" fp_ccmp;
    "fccmpe" "00011110yy1mmmmmcccc01nnnnn1vvvv" fp_ccmp;
    "fcvtas" "f0011110yy100100000000nnnnnddddd" fp_to_int_away;
    "fcvtau" "f0011110yy100101000000nnnnnddddd" fp_to_int_away;
    "scvtf"  "f0011110yy000010ssssssnnnnnddddd" fp_fixed;
    "ucvtf"  "f0011110yy000011ssssssnnnnnddddd" fp_fixed;
    "fcvtzs" "f0011110yy011000ssssssnnnnnddddd" fp_fixed;
    "fcvtzu" "f0011110yy011001ssssssnnnnnddddd" fp_fixed;
    // Integer pairs: non-temporal (no writeback), then post-index, signed offset, pre-index.
    "stnp"   "x010100000iiiiiiiuuuuunnnnnttttt" ldst_pair;
    "ldnp"   "x010100001iiiiiiiuuuuunnnnnttttt" ldst_pair;
    "stp"    "x010100010iiiiiiiuuuuunnnnnttttt" ldst_pair;
    "ldp"    "x010100011iiiiiiiuuuuunnnnnttttt" ldst_pair;
    "ldpsw"  "0110100011iiiiiiiuuuuunnnnnttttt" ldst_pair;
    "stp"    "x010100100iiiiiiiuuuuunnnnnttttt" ldst_pair;
    "ldp"    "x010100101iiiiiiiuuuuunnnnnttttt" ldst_pair;
    "ldpsw"  "0110100101iiiiiiiuuuuunnnnnttttt" ldst_pair;
    "stp"    "x010100110iiiiiiiuuuuunnnnnttttt" ldst_pair;
    "ldp"    "x010100111iiiiiiiuuuuunnnnnttttt" ldst_pair;
    "ldpsw"  "0110100111iiiiiiiuuuuunnnnnttttt" ldst_pair;
};
