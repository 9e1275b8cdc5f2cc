//! Finding the code of a guest ELF file for `mimic bench translate`, without running it.
//!
//! Code ranges come from the symbol table where it has sized functions (`STT_FUNC`,
//! from `.symtab` and `.dynsym`), otherwise from the executable sections (`SHF_EXECINSTR`),
//! otherwise from the executable `PT_LOAD` segments. Region entry points ("seeds") are
//! the ELF entry and every function symbol; the translator then follows decodable paths
//! (direct branch targets, call return addresses) and sweeps each range linearly, so
//! code reached only through pointers (a stripped binary's function tables) is still
//! measured.

use crate::linux::elf::{self, Arch, ElfError};
use goblin::elf::section_header::{SHF_EXECINSTR, SHT_PROGBITS};
use goblin::elf::sym::STT_FUNC;
use goblin::elf::Elf;
use std::ops::Range;

/// How the code ranges were found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Method {
    Symbols,
    Sections,
    Segments,
}

impl Method {
    pub fn name(self) -> &'static str {
        match self {
            Method::Symbols => "symbols",
            Method::Sections => "sections",
            Method::Segments => "segments",
        }
    }
}

/// The code of an ELF file: ranges of guest addresses backed by file bytes.
#[derive(Clone, Debug)]
pub struct CodeImage {
    pub arch: Arch,
    pub method: Method,
    /// Code ranges, sorted and disjoint, each with its file offset.
    pub ranges: Vec<(Range<u64>, u64)>,
    /// Region entry points to start from (sorted, inside the ranges).
    pub seeds: Vec<u64>,
    /// The file.
    bytes: Vec<u8>,
}

/// Why a file's code cannot be found.
#[derive(Debug)]
pub enum CodeError {
    Elf(ElfError),
    /// goblin could not parse the section or symbol tables.
    Tables(String),
    /// No executable section or segment.
    NoCode,
}

impl std::fmt::Display for CodeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CodeError::Elf(e) => write!(f, "{e}"),
            CodeError::Tables(e) => write!(f, "cannot read the ELF section or symbol tables: {e}"),
            CodeError::NoCode => write!(f, "no executable section or segment"),
        }
    }
}
impl std::error::Error for CodeError {}

impl CodeImage {
    /// Find the code of an ELF file's bytes.
    pub fn new(bytes: Vec<u8>) -> Result<CodeImage, CodeError> {
        let img = elf::parse(&bytes).map_err(CodeError::Elf)?;
        let file = Elf::parse(&bytes).map_err(|e| CodeError::Tables(e.to_string()))?;
        let len = bytes.len() as u64;
        let in_file = |off: u64, size: u64| off.checked_add(size).is_some_and(|end| end <= len);

        let sections: Vec<(Range<u64>, u64)> = file
            .section_headers
            .iter()
            .filter(|s| s.sh_type == SHT_PROGBITS && s.sh_flags & SHF_EXECINSTR as u64 != 0 && s.sh_size > 0)
            .filter(|s| in_file(s.sh_offset, s.sh_size))
            .map(|s| (s.sh_addr..s.sh_addr + s.sh_size, s.sh_offset))
            .collect();
        let segments: Vec<(Range<u64>, u64)> = img
            .segments
            .iter()
            .filter(|s| s.prot.exec && s.filesz > 0)
            .map(|s| (s.vaddr..s.vaddr + s.filesz, s.offset))
            .collect();
        let (method, mut container) =
            if sections.is_empty() { (Method::Segments, segments) } else { (Method::Sections, sections) };
        if container.is_empty() {
            return Err(CodeError::NoCode);
        }
        container.sort_by_key(|r| r.0.start);
        let inside = |a: u64| container.iter().any(|(r, _)| r.contains(&a));
        // ppc64 ELFv1 names functions (the entry, function symbols) by descriptors in
        // .opd, whose first doubleword is the code address.
        let code_addr = |a: u64| -> u64 {
            if img.arch != elf::Arch::Ppc64Be || inside(a) {
                return a;
            }
            img.segments
                .iter()
                .find(|s| s.vaddr <= a && a.saturating_add(8) <= s.vaddr + s.filesz)
                .and_then(|s| {
                    let o = (s.offset + (a - s.vaddr)) as usize;
                    bytes.get(o..o + 8).map(|b| u64::from_be_bytes(b.try_into().unwrap()))
                })
                .unwrap_or(a)
        };

        // Sized function symbols inside the code.
        let mut funcs: Vec<Range<u64>> = file
            .syms
            .iter()
            .chain(file.dynsyms.iter())
            .filter(|s| s.st_type() == STT_FUNC && s.st_value != 0 && s.st_size > 0)
            .map(|s| (code_addr(s.st_value), s.st_size))
            .filter(|&(a, _)| inside(a))
            .map(|(a, size)| a..a + size)
            .collect();
        funcs.sort_by_key(|r| (r.start, std::cmp::Reverse(r.end)));
        let mut seeds: Vec<u64> = funcs.iter().map(|r| r.start).collect();
        let entry = code_addr(img.entry);
        if inside(entry) {
            seeds.push(entry);
        }
        let (method, ranges) = if funcs.is_empty() {
            (method, container)
        } else {
            // Merge overlapping functions (aliases) and clip them to the code.
            let mut merged: Vec<Range<u64>> = Vec::new();
            for f in funcs {
                match merged.last_mut() {
                    Some(last) if f.start <= last.end => last.end = last.end.max(f.end),
                    _ => merged.push(f),
                }
            }
            let mut out = Vec::new();
            for f in merged {
                for (r, off) in &container {
                    let (s, e) = (f.start.max(r.start), f.end.min(r.end));
                    if s < e {
                        out.push((s..e, off + (s - r.start)));
                    }
                }
            }
            (Method::Symbols, out)
        };
        seeds.sort_unstable();
        seeds.dedup();
        Ok(CodeImage { arch: img.arch, method, ranges, seeds, bytes })
    }

    /// Total bytes of code.
    pub fn code_bytes(&self) -> u64 {
        self.ranges.iter().map(|(r, _)| r.end - r.start).sum()
    }

    /// The range holding `addr`.
    pub fn range_of(&self, addr: u64) -> Option<Range<u64>> {
        let i = self.ranges.partition_point(|(r, _)| r.end <= addr);
        self.ranges.get(i).filter(|(r, _)| r.contains(&addr)).map(|(r, _)| r.clone())
    }

    /// Read code bytes (all inside one range), as the decoder's fetch does.
    pub fn fetch(&self, addr: u64, buf: &mut [u8]) -> bool {
        let i = self.ranges.partition_point(|(r, _)| r.end <= addr);
        let Some((r, off)) = self.ranges.get(i) else { return false };
        let end = addr.checked_add(buf.len() as u64);
        if !r.contains(&addr) || end.is_none_or(|e| e > r.end) {
            return false;
        }
        let o = (off + (addr - r.start)) as usize;
        buf.copy_from_slice(&self.bytes[o..o + buf.len()]);
        true
    }
}
