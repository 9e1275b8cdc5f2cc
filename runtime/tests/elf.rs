//! Tests of `mimic_runtime::linux::elf`: real binaries checked against `readelf -lhW`
//! (the reference is binutils, never mimic), every malformed-input error, and a proptest
//! that random corruption never makes `parse` panic.

use std::path::{Path, PathBuf};
use std::process::Command;

use mimic_runtime::linux::elf::{self, Arch, Class, ElfError, ElfImage, Endian, Kind, NotExecutable, PAGE_SIZE};
use proptest::prelude::*;

const C_PROGRAM: &str = r#"
#include <stdio.h>
__thread int counter = 5;
int table[4096];
int main(int argc, char **argv) {
    counter += argc;
    table[argc] = counter;
    printf("%s %d\n", argv[0], table[argc]);
    return 0;
}
"#;

// ---------------------------------------------------------------------------------------
// readelf reference

#[derive(Debug)]
struct Phdr {
    kind: String,
    offset: u64,
    vaddr: u64,
    filesz: u64,
    memsz: u64,
    flags: String,
    align: u64,
}

#[derive(Debug, Default)]
struct Reference {
    class: String,
    data: String,
    type_: String,
    machine: String,
    entry: u64,
    phoff: u64,
    phent: u16,
    phnum: u16,
    interp: Option<String>,
    phdrs: Vec<Phdr>,
}

fn hex(s: &str) -> u64 {
    u64::from_str_radix(s.trim_start_matches("0x"), 16).unwrap_or_else(|e| panic!("bad hex {s:?}: {e}"))
}

fn leading_number(s: &str) -> u64 {
    s.split_whitespace().next().unwrap().parse().unwrap()
}

fn readelf(tool: &str, path: &Path) -> Reference {
    let out = Command::new(tool).arg("-lhW").arg(path).output().expect("run readelf");
    assert!(out.status.success(), "{tool} failed: {}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8(out.stdout).unwrap();
    let mut r = Reference::default();
    let mut in_phdrs = false;
    for line in text.lines() {
        let t = line.trim();
        if let Some((key, value)) = t.split_once(':') {
            let value = value.trim();
            match key {
                "Class" => r.class = value.to_owned(),
                "Data" => r.data = value.to_owned(),
                "Type" => r.type_ = value.to_owned(),
                "Machine" => r.machine = value.to_owned(),
                "Entry point address" => r.entry = hex(value),
                "Start of program headers" => r.phoff = leading_number(value),
                "Size of program headers" => r.phent = leading_number(value) as u16,
                "Number of program headers" => r.phnum = leading_number(value) as u16,
                _ => {}
            }
        }
        if let Some(rest) = t.strip_prefix("[Requesting program interpreter: ") {
            r.interp = Some(rest.trim_end_matches(']').to_owned());
            continue;
        }
        if t == "Program Headers:" {
            in_phdrs = true;
            continue;
        }
        if in_phdrs {
            if t.is_empty() {
                in_phdrs = false;
                continue;
            }
            let tok: Vec<&str> = t.split_whitespace().collect();
            if tok[0] == "Type" {
                continue;
            }
            assert!(tok.len() >= 8, "unexpected readelf line {t:?}");
            r.phdrs.push(Phdr {
                kind: tok[0].to_owned(),
                offset: hex(tok[1]),
                vaddr: hex(tok[2]),
                filesz: hex(tok[4]),
                memsz: hex(tok[5]),
                flags: tok[6..tok.len() - 1].concat(),
                align: hex(tok[tok.len() - 1]),
            });
        }
    }
    assert_eq!(r.phdrs.len(), r.phnum as usize, "readelf output not understood:\n{text}");
    r
}

/// Checks everything `parse` reports against readelf's view of the same file.
fn check_against_readelf(path: &Path, tool: &str, arch: Arch) -> ElfImage {
    let bytes = std::fs::read(path).unwrap();
    let img = elf::parse(&bytes).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let r = readelf(tool, path);
    let what = path.display();

    assert_eq!(img.arch, arch, "{what}: machine {}", r.machine);
    let expected_class = if r.class == "ELF64" { Class::Elf64 } else { Class::Elf32 };
    assert_eq!(img.class, expected_class, "{what}");
    let expected_endian = if r.data.contains("little endian") { Endian::Little } else { Endian::Big };
    assert_eq!(img.endian, expected_endian, "{what}");
    let expected_kind = if r.type_.starts_with("EXEC") {
        Kind::Exec
    } else {
        assert!(r.type_.starts_with("DYN"), "{what}: type {}", r.type_);
        Kind::Dyn { has_interp: r.interp.is_some() }
    };
    assert_eq!(img.kind, expected_kind, "{what}");
    assert_eq!(img.entry, r.entry, "{what}");
    assert_eq!(img.interp, r.interp, "{what}");
    assert_eq!(img.phent, r.phent, "{what}");
    assert_eq!(img.phnum, r.phnum, "{what}");

    let loads: Vec<&Phdr> = r.phdrs.iter().filter(|p| p.kind == "LOAD").collect();
    assert_eq!(img.segments.len(), loads.len(), "{what}");
    for (s, p) in img.segments.iter().zip(&loads) {
        assert_eq!(
            (s.offset, s.vaddr, s.filesz, s.memsz, s.align),
            (p.offset, p.vaddr, p.filesz, p.memsz, p.align),
            "{what}: {p:?}"
        );
        assert_eq!(
            (s.prot.read, s.prot.write, s.prot.exec),
            (p.flags.contains('R'), p.flags.contains('W'), p.flags.contains('E')),
            "{what}: {p:?}"
        );
        assert_eq!(&bytes[s.file_range()].len(), &(p.filesz as usize));
    }

    let expected_phdr = match r.phdrs.iter().find(|p| p.kind == "PHDR") {
        Some(p) => Some(p.vaddr),
        None => loads
            .iter()
            .find(|p| p.offset <= r.phoff && r.phoff + u64::from(r.phent) * u64::from(r.phnum) <= p.offset + p.filesz)
            .map(|p| p.vaddr + (r.phoff - p.offset)),
    };
    assert!(expected_phdr.is_some(), "{what}: program headers are not loaded");
    assert_eq!(img.phdr_vaddr, expected_phdr, "{what}");

    let stack = r.phdrs.iter().find(|p| p.kind == "GNU_STACK").map(|p| p.flags.contains('E'));
    assert_eq!(img.stack_executable, stack, "{what}");

    let tls = r.phdrs.iter().find(|p| p.kind == "TLS").map(|p| (p.vaddr, p.memsz, p.filesz, p.offset, p.align));
    assert_eq!(img.tls.map(|t| (t.vaddr, t.memsz, t.filesz, t.offset, t.align)), tls, "{what}");

    let lo = loads.iter().filter(|p| p.memsz > 0).map(|p| p.vaddr).min().unwrap();
    let hi = loads.iter().filter(|p| p.memsz > 0).map(|p| p.vaddr + p.memsz).max().unwrap();
    assert_eq!(img.min_vaddr, lo / PAGE_SIZE * PAGE_SIZE, "{what}");
    assert_eq!(img.max_vaddr, hi.div_ceil(PAGE_SIZE) * PAGE_SIZE, "{what}");
    assert_eq!(img.max_align, loads.iter().map(|p| p.align).max().unwrap().max(1), "{what}");
    img
}

// ---------------------------------------------------------------------------------------
// compiling test programs

fn scratch_dir() -> PathBuf {
    let dir = std::env::temp_dir().join(format!("mimic-elf-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn tool_works(tool: &str) -> bool {
    Command::new(tool).arg("--version").output().is_ok_and(|o| o.status.success())
}

/// Compiles `C_PROGRAM` with `cc flags`; `None` (after printing SKIP) if that is impossible here.
fn compile(cc: &str, flags: &[&str], name: &str) -> Option<PathBuf> {
    if !tool_works(cc) {
        println!("SKIP: {cc} is not installed");
        return None;
    }
    let dir = scratch_dir();
    let src = dir.join(format!("{name}.c"));
    std::fs::write(&src, C_PROGRAM).unwrap();
    let out = dir.join(name);
    let result = Command::new(cc).args(flags).arg(&src).arg("-o").arg(&out).output().unwrap();
    if !result.status.success() {
        println!(
            "SKIP: `{cc} {}` cannot build here: {}",
            flags.join(" "),
            String::from_utf8_lossy(&result.stderr).lines().last().unwrap_or("")
        );
        return None;
    }
    Some(out)
}

fn readelf_for(preferred: &str) -> Option<&str> {
    if tool_works(preferred) {
        Some(preferred)
    } else if tool_works("readelf") {
        Some("readelf")
    } else {
        println!("SKIP: neither {preferred} nor readelf is installed");
        None
    }
}

fn compiled_case(cc: &str, flags: &[&str], name: &str, readelf: &str, arch: Arch) -> Option<ElfImage> {
    let path = compile(cc, flags, name)?;
    let tool = readelf_for(readelf)?;
    Some(check_against_readelf(&path, tool, arch))
}

#[test]
fn aarch64_static() {
    let r = "aarch64-linux-gnu-readelf";
    if let Some(img) = compiled_case("aarch64-linux-gnu-gcc", &["-static", "-O2"], "a64-static", r, Arch::Aarch64) {
        assert_eq!(img.kind, Kind::Exec);
        assert_eq!(img.interp, None);
        assert!(img.tls.is_some());
    }
}

#[test]
fn aarch64_dynamic() {
    let r = "aarch64-linux-gnu-readelf";
    if let Some(img) = compiled_case("aarch64-linux-gnu-gcc", &["-O2"], "a64-dyn", r, Arch::Aarch64) {
        assert_eq!(img.interp.as_deref(), Some("/lib/ld-linux-aarch64.so.1"));
    }
}

#[test]
fn aarch64_static_pie() {
    let r = "aarch64-linux-gnu-readelf";
    if let Some(img) = compiled_case("aarch64-linux-gnu-gcc", &["-static-pie", "-O2"], "a64-spie", r, Arch::Aarch64) {
        assert_eq!(img.kind, Kind::Dyn { has_interp: false });
        assert_eq!(img.min_vaddr, 0);
    }
}

#[test]
fn aarch64_no_pie() {
    let r = "aarch64-linux-gnu-readelf";
    if let Some(img) = compiled_case("aarch64-linux-gnu-gcc", &["-no-pie", "-O2"], "a64-nopie", r, Arch::Aarch64) {
        assert_eq!(img.kind, Kind::Exec);
        assert!(img.interp.is_some());
    }
}

#[test]
fn ppc64le_static_and_dynamic() {
    let r = "powerpc64le-linux-gnu-readelf";
    let cc = "powerpc64le-linux-gnu-gcc";
    if let Some(img) = compiled_case(cc, &["-static", "-O2"], "ppc64le-static", r, Arch::Ppc64Le) {
        assert_eq!(img.interp, None);
        assert_eq!(img.flags & 3, 2, "ppc64le uses the ELFv2 ABI");
    }
    if let Some(img) = compiled_case(cc, &["-O2"], "ppc64le-dyn", r, Arch::Ppc64Le) {
        assert!(img.interp.is_some());
    }
}

#[test]
fn x86_64_native() {
    if cfg!(not(target_arch = "x86_64")) {
        println!("SKIP: host is not x86-64");
        return;
    }
    compiled_case("gcc", &["-O2"], "x86-64-dyn", "readelf", Arch::X86_64);
    compiled_case("gcc", &["-static", "-O2"], "x86-64-static", "readelf", Arch::X86_64);
}

#[test]
fn i386_native() {
    if cfg!(not(target_arch = "x86_64")) {
        println!("SKIP: host is not x86-64");
        return;
    }
    compiled_case("gcc", &["-m32", "-O2"], "i386", "readelf", Arch::I386);
}

#[test]
fn host_bin_true() {
    if cfg!(not(target_arch = "x86_64")) {
        println!("SKIP: host is not x86-64");
        return;
    }
    let Some(tool) = readelf_for("readelf") else { return };
    let img = check_against_readelf(Path::new("/bin/true"), tool, Arch::X86_64);
    assert!(img.interp.is_some());
}

// ---------------------------------------------------------------------------------------
// bad input

fn bin_true() -> Vec<u8> {
    std::fs::read("/bin/true").unwrap()
}

fn put16(b: &mut [u8], at: usize, v: u16) {
    b[at..at + 2].copy_from_slice(&v.to_le_bytes());
}
fn put32(b: &mut [u8], at: usize, v: u32) {
    b[at..at + 4].copy_from_slice(&v.to_le_bytes());
}
fn put64(b: &mut [u8], at: usize, v: u64) {
    b[at..at + 8].copy_from_slice(&v.to_le_bytes());
}

#[derive(Clone, Copy)]
struct Ph {
    p_type: u32,
    flags: u32,
    offset: u64,
    vaddr: u64,
    filesz: u64,
    memsz: u64,
    align: u64,
}

const PT_LOAD: u32 = 1;
const PT_INTERP: u32 = 3;
const PT_TLS: u32 = 7;
const PT_GNU_STACK: u32 = 0x6474_e551;

fn load(offset: u64, vaddr: u64, filesz: u64, memsz: u64) -> Ph {
    Ph { p_type: PT_LOAD, flags: 5, offset, vaddr, filesz, memsz, align: 0x1000 }
}

/// A minimal 64-bit little-endian AArch64 ELF of `len` bytes with the given program headers.
fn synth(e_type: u16, phs: &[Ph], len: usize) -> Vec<u8> {
    let mut b = vec![0u8; len.max(64 + 56 * phs.len())];
    b[..8].copy_from_slice(&[0x7f, b'E', b'L', b'F', 2, 1, 1, 0]);
    put16(&mut b, 16, e_type);
    put16(&mut b, 18, 183);
    put32(&mut b, 20, 1);
    put64(&mut b, 24, 0x400100);
    put64(&mut b, 32, 64);
    put16(&mut b, 52, 64);
    put16(&mut b, 54, 56);
    put16(&mut b, 56, phs.len() as u16);
    for (i, p) in phs.iter().enumerate() {
        let at = 64 + 56 * i;
        put32(&mut b, at, p.p_type);
        put32(&mut b, at + 4, p.flags);
        put64(&mut b, at + 8, p.offset);
        put64(&mut b, at + 16, p.vaddr);
        put64(&mut b, at + 24, p.vaddr);
        put64(&mut b, at + 32, p.filesz);
        put64(&mut b, at + 40, p.memsz);
        put64(&mut b, at + 48, p.align);
    }
    b
}

fn good_synth() -> Vec<u8> {
    synth(2, &[load(0, 0x400000, 0x200, 0x3000)], 0x200)
}

fn err(bytes: &[u8]) -> ElfError {
    match elf::parse(bytes) {
        Ok(img) => panic!("expected an error, parsed {img:?}"),
        Err(e) => {
            let msg = e.to_string();
            assert!(!msg.is_empty() && !msg.contains('\n'), "message {msg:?}");
            e
        }
    }
}

#[test]
fn synthetic_good_file_parses() {
    let img = elf::parse(&good_synth()).unwrap();
    assert_eq!(img.arch, Arch::Aarch64);
    assert_eq!(img.kind, Kind::Exec);
    assert_eq!((img.min_vaddr, img.max_vaddr), (0x400000, 0x403000));
    assert_eq!(img.phdr_vaddr, Some(0x400040));
    assert_eq!(img.stack_executable, None);
    assert_eq!(img.segments.len(), 1);
    assert_eq!(img.segments[0].file_range(), 0..0x200);
}

#[test]
fn not_elf() {
    assert_eq!(err(b""), ElfError::NotElf);
    assert_eq!(err(b"hello"), ElfError::NotElf);
    assert_eq!(err(b"\x7fEL"), ElfError::NotElf);
    assert_eq!(err(b"#!/bin/sh\necho hi\n"), ElfError::NotElf);
    assert_eq!(err(b"").to_string(), "not an ELF file");
}

#[test]
fn bad_ident() {
    let mut b = bin_true();
    b[4] = 3;
    assert_eq!(err(&b), ElfError::BadIdent { field: "class", value: 3 });
    let mut b = bin_true();
    b[5] = 0;
    assert_eq!(err(&b), ElfError::BadIdent { field: "data encoding", value: 0 });
}

#[test]
fn truncated_inside_elf_header() {
    let b = bin_true();
    assert_eq!(err(&b[..10]), ElfError::Truncated { what: "ELF header", end: 16, file_len: 10 });
    assert_eq!(err(&b[..40]), ElfError::Truncated { what: "ELF header", end: 64, file_len: 40 });
}

#[test]
fn truncated_after_elf_header() {
    let b = bin_true();
    let e = err(&b[..64]);
    let phnum = u16::from_le_bytes([b[56], b[57]]) as u128;
    assert_eq!(e, ElfError::Truncated { what: "program header table", end: 64 + 56 * phnum, file_len: 64 });
    assert_eq!(
        e.to_string(),
        format!("truncated ELF file (program header table ends at byte {}, file has 64 bytes)", 64 + 56 * phnum)
    );
}

#[test]
fn truncated_program_headers() {
    let b = bin_true();
    let phnum = u16::from_le_bytes([b[56], b[57]]) as usize;
    let end = 64 + 56 * phnum;
    let e = err(&b[..end - 10]);
    assert_eq!(e, ElfError::Truncated { what: "program header table", end: end as u128, file_len: end as u64 - 10 });
}

#[test]
fn phoff_past_eof() {
    let mut b = bin_true();
    let len = b.len() as u64;
    put64(&mut b, 32, len + 100);
    assert!(matches!(err(&b), ElfError::Truncated { what: "program header table", file_len, .. } if file_len == len));
    put64(&mut b, 32, u64::MAX - 8);
    let end = u128::from(u64::MAX - 8) + 56 * u128::from(u16::from_le_bytes([b[56], b[57]]));
    assert_eq!(err(&b), ElfError::Truncated { what: "program header table", end, file_len: len });
}

#[test]
fn huge_phnum() {
    let mut b = bin_true();
    put16(&mut b, 56, 0xffff);
    assert_eq!(err(&b), ElfError::TooManyProgramHeaders { phnum: 0xffff });
    put16(&mut b, 56, 2000);
    assert_eq!(err(&b), ElfError::TooManyProgramHeaders { phnum: 2000 });
    put16(&mut b, 56, 0);
    assert_eq!(err(&b), ElfError::NoProgramHeaders);
}

#[test]
fn bad_phentsize() {
    let mut b = bin_true();
    put16(&mut b, 54, 32);
    assert_eq!(err(&b), ElfError::BadPhentsize { phentsize: 32, expected: 56 });
}

#[test]
fn segment_offset_overflow() {
    let b = synth(2, &[load(u64::MAX - 0xfff, 0x400000 + 1, 0x1000, 0x1000)], 0x200);
    assert!(matches!(err(&b), ElfError::SegmentBeyondFile { index: 0, .. }));
    let b = synth(2, &[load(0x1000, 0x401000, 0x100, 0x100)], 0x200);
    let e = err(&b);
    assert_eq!(e, ElfError::SegmentBeyondFile { index: 0, offset: 0x1000, filesz: 0x100, file_len: 0x200 });
    assert!(e.to_string().contains("segment file range beyond end of file"), "{e}");
}

#[test]
fn segment_address_overflow() {
    let b = synth(2, &[load(0, 0xffff_ffff_ffff_f000, 0x200, 0x2000)], 0x200);
    assert!(matches!(err(&b), ElfError::SegmentAddressOverflow { index: 0, .. }));
    // The last page cannot be used either: the end must be page-roundable.
    let b = synth(2, &[load(0, 0xffff_ffff_ffff_f000, 0x200, 0x200)], 0x200);
    assert!(matches!(err(&b), ElfError::SegmentAddressOverflow { index: 0, .. }));
}

#[test]
fn filesz_exceeds_memsz() {
    let b = synth(2, &[load(0, 0x400000, 0x200, 0x100)], 0x200);
    let e = err(&b);
    assert_eq!(e, ElfError::FileszExceedsMemsz { index: 0, filesz: 0x200, memsz: 0x100 });
    assert!(e.to_string().contains("filesz > memsz"), "{e}");
}

#[test]
fn misaligned_and_bad_alignment() {
    let b = synth(2, &[load(0, 0x400010, 0x200, 0x200)], 0x200);
    assert_eq!(err(&b), ElfError::MisalignedSegment { index: 0, vaddr: 0x400010, offset: 0 });
    let mut p = load(0, 0x400000, 0x200, 0x200);
    p.align = 0x3000;
    assert_eq!(err(&synth(2, &[p], 0x200)), ElfError::BadAlignment { index: 0, align: 0x3000 });
}

#[test]
fn overlapping_segments() {
    let b = synth(2, &[load(0, 0x400000, 0x200, 0x2000), load(0, 0x401000, 0x200, 0x200)], 0x200);
    let e = err(&b);
    assert_eq!(e, ElfError::OverlappingSegments { first: 0, second: 1 });
    assert!(e.to_string().contains("overlapping PT_LOAD segments"), "{e}");
    // Out of order, with a non-overlapping segment in between.
    let b = synth(
        2,
        &[load(0, 0x500000, 0x200, 0x200), load(0, 0x400000, 0x200, 0x200000), load(0, 0x410000, 0x200, 0x200)],
        0x200,
    );
    assert_eq!(err(&b), ElfError::OverlappingSegments { first: 1, second: 2 });
    // Adjacent is fine; so are segments sharing a page without sharing bytes.
    let b = synth(2, &[load(0, 0x400000, 0x200, 0x1000), load(0, 0x401000, 0x200, 0x200)], 0x200);
    elf::parse(&b).unwrap();
    let b = synth(2, &[load(0, 0x400000, 0x100, 0x100), load(0x100, 0x400100, 0x100, 0x100)], 0x200);
    elf::parse(&b).unwrap();
}

#[test]
fn no_load_segments() {
    let stack = Ph { p_type: PT_GNU_STACK, flags: 6, offset: 0, vaddr: 0, filesz: 0, memsz: 0, align: 16 };
    assert_eq!(err(&synth(2, &[stack], 0x200)), ElfError::NoLoadSegments);
    assert_eq!(err(&synth(2, &[load(0, 0x400000, 0, 0)], 0x200)), ElfError::NoLoadSegments);
}

#[test]
fn stack_and_tls() {
    let stack = Ph { p_type: PT_GNU_STACK, flags: 7, offset: 0, vaddr: 0, filesz: 0, memsz: 0, align: 16 };
    let tls = Ph { p_type: PT_TLS, flags: 4, offset: 0x100, vaddr: 0x400100, filesz: 0x10, memsz: 0x40, align: 8 };
    let img = elf::parse(&synth(2, &[load(0, 0x400000, 0x200, 0x200), stack, tls], 0x200)).unwrap();
    assert_eq!(img.stack_executable, Some(true));
    assert_eq!(img.tls.unwrap().memsz, 0x40);
    let bad_tls = Ph { filesz: 0x80, ..tls };
    assert!(matches!(err(&synth(2, &[load(0, 0x400000, 0x200, 0x200), bad_tls], 0x200)), ElfError::InvalidTls { .. }));
}

#[test]
fn relocatable_and_core() {
    let mut b = bin_true();
    put16(&mut b, 16, 1);
    let e = err(&b);
    assert_eq!(e, ElfError::NotExecutable(NotExecutable::Relocatable));
    assert!(e.to_string().contains("relocatable object"), "{e}");
    put16(&mut b, 16, 4);
    let e = err(&b);
    assert_eq!(e, ElfError::NotExecutable(NotExecutable::Core));
    assert!(e.to_string().contains("core dump"), "{e}");
    put16(&mut b, 16, 0x1234);
    assert_eq!(err(&b), ElfError::UnknownType(0x1234));
}

#[test]
fn unsupported_machine() {
    let mut b = bin_true();
    b[18] = 8; // EM_MIPS
    let e = err(&b);
    assert_eq!(e, ElfError::UnsupportedMachine { machine: 8, class: Class::Elf64, endian: Endian::Little });
    let msg = e.to_string();
    assert!(msg.starts_with("unsupported machine EM_MIPS"), "{msg}");
    assert!(msg.contains("mimic runs aarch64, arm, ppc, ppc64, sparc64, x86-64, i386 binaries"), "{msg}");
    // A supported e_machine with the wrong class or byte order is unsupported too.
    let mut b = good_synth();
    b[5] = 2; // big-endian aarch64: e_type and e_machine rewritten in big-endian order
    b[16..20].copy_from_slice(&[0, 2, 0, 183]);
    assert!(matches!(err(&b), ElfError::UnsupportedMachine { machine: 183, endian: Endian::Big, .. }));
}

#[test]
fn arm_old_abi_is_rejected() {
    // A 32-bit little-endian ARM header with EABI version 0 in e_flags.
    let mut b = vec![0u8; 0x200];
    b[..8].copy_from_slice(&[0x7f, b'E', b'L', b'F', 1, 1, 1, 0]);
    put16(&mut b, 16, 2);
    put16(&mut b, 18, 40);
    put32(&mut b, 28, 52); // e_phoff
    put16(&mut b, 42, 32); // e_phentsize
    put16(&mut b, 44, 1); // e_phnum
    let at = 52;
    put32(&mut b, at, PT_LOAD);
    put32(&mut b, at + 8, 0x10000); // vaddr
    put32(&mut b, at + 16, 0x200); // filesz
    put32(&mut b, at + 20, 0x200); // memsz
    put32(&mut b, at + 24, 5); // flags
    assert!(matches!(err(&b), ElfError::UnsupportedAbi { arch: Arch::Arm, .. }));
    put32(&mut b, 36, 0x0500_0400); // EABI 5, hard float
    let img = elf::parse(&b).unwrap();
    assert_eq!((img.arch, img.class, img.max_vaddr), (Arch::Arm, Class::Elf32, 0x11000));
}

fn interp_offset(b: &[u8]) -> usize {
    let needle = b"/lib64/ld-linux-x86-64.so.2\0";
    b.windows(needle.len()).position(|w| w == needle).expect("/bin/true has an x86-64 interpreter")
}

#[test]
fn bad_interpreter() {
    let mut b = bin_true();
    let at = interp_offset(&b);
    b[at] = b'l';
    let e = err(&b);
    assert_eq!(e, ElfError::InvalidInterpreter { reason: "it is not an absolute path" });
    assert!(e.to_string().starts_with("interpreter path is not valid"), "{e}");

    let mut b = bin_true();
    b[at + 27] = b'x';
    assert_eq!(err(&b), ElfError::InvalidInterpreter { reason: "it is not NUL-terminated" });

    let mut b = bin_true();
    b[at + 5] = 0;
    assert_eq!(err(&b), ElfError::InvalidInterpreter { reason: "it contains a NUL byte before its end" });

    let mut b = bin_true();
    b[at + 5] = 0xff;
    assert_eq!(err(&b), ElfError::InvalidInterpreter { reason: "it is not UTF-8" });

    let interp = |offset, filesz| Ph { p_type: PT_INTERP, flags: 4, offset, vaddr: 0, filesz, memsz: filesz, align: 1 };
    let base = load(0, 0x400000, 0x200, 0x200);
    let e = err(&synth(3, &[base, interp(0x100, u64::MAX)], 0x200));
    assert!(matches!(e, ElfError::InvalidInterpreter { .. }), "{e:?}");
    let e = err(&synth(3, &[base, interp(0x1f0, 0x20)], 0x200));
    assert_eq!(e, ElfError::InvalidInterpreter { reason: "PT_INTERP lies beyond the end of the file" });
    let mut b = synth(3, &[base, interp(0x100, 4), interp(0x100, 4)], 0x200);
    b[0x100..0x104].copy_from_slice(b"/ab\0");
    assert_eq!(err(&b), ElfError::MultipleInterpreters);
    let mut b = synth(3, &[base, interp(0x100, 4)], 0x200);
    b[0x100..0x104].copy_from_slice(b"/ab\0");
    let img = elf::parse(&b).unwrap();
    assert_eq!((img.kind, img.interp.as_deref()), (Kind::Dyn { has_interp: true }, Some("/ab")));
}

// ---------------------------------------------------------------------------------------
// fuzzing: no input panics, and every accepted image keeps its promises

fn check_invariants(bytes: &[u8], img: &ElfImage) {
    assert!(!img.segments.is_empty());
    assert!(img.min_vaddr <= img.max_vaddr);
    assert_eq!(img.min_vaddr % PAGE_SIZE, 0);
    assert_eq!(img.max_vaddr % PAGE_SIZE, 0);
    for s in &img.segments {
        let r = s.file_range();
        assert!(r.start <= r.end && r.end <= bytes.len());
        assert!(s.filesz <= s.memsz);
        if s.memsz > 0 {
            assert!(img.min_vaddr <= s.vaddr && s.end() <= img.max_vaddr);
        }
    }
    assert!(img.max_align.is_power_of_two());
    if let Some(i) = &img.interp {
        assert!(i.starts_with('/'));
    }
}

fn mutation() -> impl Strategy<Value = (usize, u8)> {
    (prop_oneof![0usize..128, 0usize..1024, any::<usize>()], any::<u8>())
}

fn mutate_and_parse(mut bytes: Vec<u8>, muts: &[(usize, u8)], cut: Option<usize>) {
    for &(at, v) in muts {
        let at = at % bytes.len();
        bytes[at] = v;
    }
    if let Some(cut) = cut {
        bytes.truncate(cut % (bytes.len() + 1));
    }
    if let Ok(img) = elf::parse(&bytes) {
        check_invariants(&bytes, &img);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1000))]

    #[test]
    fn random_corruption_of_bin_true_never_panics(
        muts in prop::collection::vec(mutation(), 1..16),
        cut in prop::option::weighted(0.2, any::<usize>()),
    ) {
        mutate_and_parse(bin_true(), &muts, cut);
    }

    #[test]
    fn random_corruption_of_small_elf_never_panics(
        muts in prop::collection::vec(mutation(), 1..8),
        cut in prop::option::weighted(0.2, any::<usize>()),
    ) {
        let stack = Ph { p_type: PT_GNU_STACK, flags: 6, offset: 0, vaddr: 0, filesz: 0, memsz: 0, align: 16 };
        let tls = Ph { p_type: PT_TLS, flags: 4, offset: 0x100, vaddr: 0x400100, filesz: 0x10, memsz: 0x40, align: 8 };
        let interp = Ph { p_type: PT_INTERP, flags: 4, offset: 0x180, vaddr: 0x400180, filesz: 4, memsz: 4, align: 1 };
        let mut b = synth(3, &[load(0, 0x400000, 0x200, 0x3000), stack, tls, interp], 0x200);
        b[0x180..0x184].copy_from_slice(b"/ab\0");
        prop_assert!(elf::parse(&b).is_ok());
        mutate_and_parse(b, &muts, cut);
    }

    #[test]
    fn random_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..512), class in 1u8..3) {
        let mut b = bytes;
        if b.len() >= 6 {
            b[..4].copy_from_slice(b"\x7fELF");
            b[4] = class;
            b[5] = 1;
        }
        if let Ok(img) = elf::parse(&b) {
            check_invariants(&b, &img);
        }
    }
}

#[test]
fn corrupt_real_cross_binary_never_panics() {
    // A deterministic sweep: every single-byte change to the first 512 bytes of a real
    // aarch64 static binary (the headers), each to 0x00, 0xff and 0x80.
    let Some(path) = compile("aarch64-linux-gnu-gcc", &["-static", "-O2"], "a64-sweep") else { return };
    let orig = std::fs::read(path).unwrap();
    for at in 0..512.min(orig.len()) {
        for v in [0x00, 0xff, 0x80] {
            let mut b = orig.clone();
            b[at] = v;
            if let Ok(img) = elf::parse(&b) {
                check_invariants(&b, &img);
            }
        }
    }
}

/// A one-segment ELF of any class and byte order, for the machine table.
fn tiny(class64: bool, big: bool, machine: u16, flags: u32) -> Vec<u8> {
    let mut b = vec![0u8; 0x200];
    let mut put = |at: usize, v: u64, n: usize| {
        let bytes = if big { v.to_be_bytes()[8 - n..].to_vec() } else { v.to_le_bytes()[..n].to_vec() };
        b[at..at + n].copy_from_slice(&bytes);
    };
    let w = if class64 { 8 } else { 4 };
    put(16, 2, 2);
    put(18, machine.into(), 2);
    put(20, 1, 4);
    put(24, 0x10000, w); // e_entry
    put(24 + w, 0x40, w); // e_phoff
    let rest = 24 + 3 * w;
    put(rest, flags.into(), 4);
    put(rest + 6, if class64 { 56 } else { 32 }, 2); // e_phentsize
    put(rest + 8, 1, 2); // e_phnum
    put(0x40, 1, 4); // PT_LOAD
    if class64 {
        put(0x44, 5, 4);
        put(0x50, 0x10000, 8);
        put(0x60, 0x200, 8);
        put(0x68, 0x200, 8);
    } else {
        put(0x48, 0x10000, 4);
        put(0x50, 0x200, 4);
        put(0x54, 0x200, 4);
        put(0x58, 5, 4);
    }
    b[..6].copy_from_slice(&[0x7f, b'E', b'L', b'F', if class64 { 2 } else { 1 }, if big { 2 } else { 1 }]);
    b
}

#[test]
fn machine_table() {
    let eabi5 = 0x0500_0000;
    let cases = [
        (true, false, 183, 0, Arch::Aarch64),
        (false, false, 40, eabi5, Arch::Arm),
        (true, false, 21, 2, Arch::Ppc64Le),
        (true, true, 21, 1, Arch::Ppc64Be),
        (false, true, 20, 0, Arch::Ppc),
        (true, true, 43, 0, Arch::Sparc64),
        (false, true, 18, 0x100, Arch::Sparc32Plus),
        (false, true, 2, 0, Arch::Sparc32Plus),
        (true, false, 62, 0, Arch::X86_64),
        (false, false, 3, 0, Arch::I386),
    ];
    for (class64, big, machine, flags, arch) in cases {
        let img = elf::parse(&tiny(class64, big, machine, flags)).unwrap_or_else(|e| panic!("{arch}: {e}"));
        assert_eq!(img.arch, arch);
        assert_eq!((img.entry, img.segments[0].vaddr, img.segments[0].memsz), (0x10000, 0x10000, 0x200), "{arch}");
        assert!(img.segments[0].prot.read && img.segments[0].prot.exec && !img.segments[0].prot.write, "{arch}");
        assert_eq!(img.phdr_vaddr, Some(0x10040), "{arch}");
    }
    // Right machine, wrong class or byte order.
    for (class64, big, machine) in [(false, false, 183), (true, true, 183), (false, false, 62), (false, false, 21)] {
        let e = elf::parse(&tiny(class64, big, machine, 0)).unwrap_err();
        assert!(matches!(e, ElfError::UnsupportedMachine { machine: m, .. } if m == machine), "{e:?}");
    }
    let e = elf::parse(&tiny(true, false, 21, 3)).unwrap_err();
    assert!(matches!(e, ElfError::UnsupportedAbi { arch: Arch::Ppc64Le, .. }), "{e:?}");
    let e = elf::parse(&tiny(true, false, 243, 0)).unwrap_err();
    assert!(e.to_string().starts_with("unsupported machine EM_RISCV (64-bit little-endian)"), "{e}");
}
