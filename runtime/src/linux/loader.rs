//! Loading a Linux program into a fresh guest address space: the executable's
//! segments, its dynamic linker (PT_INTERP, found under the sysroot), the stack with
//! argv, envp and the auxiliary vector, and the program break.
//!
//! Placement follows Linux: ET_EXEC at its own addresses, a PIE or static-pie at two
//! thirds of the address space (at 4 MiB in a 32-bit one), the dynamic linker where
//! mmap would put it, the stack at the top with the mmap area below it (leaving a gap
//! for stack growth).
//! The auxiliary vector is the kernel's, minus the vDSO (programs fall back to real
//! system calls).

use super::elf::{self, ElfError, ElfImage};
use crate::usermem::{MemError, Placement, Prot, UserMemory, PAGE};
use std::fmt;
use std::path::{Path, PathBuf};

/// Bytes of stack mapped for the main thread (Linux's default RLIMIT_STACK).
pub const STACK_SIZE: u64 = 8 << 20;
/// Where a PIE goes in a 32-bit address space.
const PIE_BASE_32: u64 = 0x40_0000;
/// Gap between the stack and the mmap area.
const STACK_GAP: u64 = 128 << 20;

// Auxiliary vector tags.
pub const AT_NULL: u64 = 0;
pub const AT_PHDR: u64 = 3;
pub const AT_PHENT: u64 = 4;
pub const AT_PHNUM: u64 = 5;
pub const AT_PAGESZ: u64 = 6;
pub const AT_BASE: u64 = 7;
pub const AT_FLAGS: u64 = 8;
pub const AT_ENTRY: u64 = 9;
pub const AT_UID: u64 = 11;
pub const AT_EUID: u64 = 12;
pub const AT_GID: u64 = 13;
pub const AT_EGID: u64 = 14;
pub const AT_PLATFORM: u64 = 15;
pub const AT_HWCAP: u64 = 16;
pub const AT_CLKTCK: u64 = 17;
pub const AT_SECURE: u64 = 23;
pub const AT_RANDOM: u64 = 25;
pub const AT_HWCAP2: u64 = 26;
pub const AT_EXECFN: u64 = 31;
pub const AT_MINSIGSTKSZ: u64 = 51;

/// What the loader needs to know about the guest architecture and the process.
#[derive(Clone, Debug)]
pub struct LoadSpec {
    /// argv (argv[0] first).
    pub args: Vec<String>,
    /// envp ("VAR=VALUE").
    pub env: Vec<String>,
    /// AT_EXECFN: the path the program was started by.
    pub execfn: String,
    /// AT_PLATFORM string ("aarch64"; empty: no AT_PLATFORM entry).
    pub platform: &'static str,
    pub hwcap: u64,
    pub hwcap2: u64,
    /// AT_MINSIGSTKSZ, when the architecture reports it.
    pub minsigstksz: Option<u64>,
    /// Further architecture-specific auxv entries.
    pub extra_auxv: Vec<(u64, u64)>,
    /// The 16 bytes AT_RANDOM points at.
    pub random: [u8; 16],
    /// Where to look for the dynamic linker (`-L`): tried before the host path.
    pub sysroot: Option<PathBuf>,
    /// Word size of the guest in bytes (4 or 8).
    pub word: u64,
    /// Whether the guest is big-endian.
    pub big_endian: bool,
}

/// Where the loaded program starts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Started {
    /// First guest pc: the dynamic linker's entry, or the program's.
    pub pc: u64,
    /// Initial stack pointer (argc is at this address).
    pub sp: u64,
    /// The program's entry (AT_ENTRY).
    pub entry: u64,
    /// Load bias of the program (0 for ET_EXEC).
    pub bias: u64,
    /// Base address of the dynamic linker, if any (AT_BASE).
    pub interp_base: Option<u64>,
    /// Start of the program break.
    pub brk: u64,
    /// Lowest and highest address of the program image (for /proc/self/maps-like output).
    pub image: (u64, u64),
}

/// Why a program could not be loaded.
#[derive(Debug)]
pub enum LoadError {
    /// The program or its interpreter is not a loadable ELF file.
    Elf { path: PathBuf, err: ElfError },
    /// A file could not be read.
    Io { path: PathBuf, err: std::io::Error },
    /// The dynamic linker named by PT_INTERP was not found.
    InterpMissing { interp: String, tried: Vec<PathBuf> },
    /// The dynamic linker is for another architecture or is itself dynamic.
    BadInterp { path: PathBuf, why: String },
    /// The image does not fit the guest address space (or overlaps itself).
    NoRoom { what: &'static str, err: MemError },
    /// argv/envp do not fit on the stack.
    ArgsTooLong,
}

impl fmt::Display for LoadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LoadError::Elf { path, err } => write!(f, "{}: {err}", path.display()),
            LoadError::Io { path, err } => write!(f, "{}: {err}", path.display()),
            LoadError::InterpMissing { interp, tried } => {
                let t: Vec<String> = tried.iter().map(|p| p.display().to_string()).collect();
                write!(
                    f,
                    "dynamic linker {interp} not found (tried {}); give the guest's root with -L DIR or MIMIC_LD_PREFIX",
                    t.join(", ")
                )
            }
            LoadError::BadInterp { path, why } => write!(f, "dynamic linker {}: {why}", path.display()),
            LoadError::NoRoom { what, err } => write!(f, "cannot map the {what}: {err}"),
            LoadError::ArgsTooLong => write!(f, "arguments and environment do not fit on the guest stack"),
        }
    }
}
impl std::error::Error for LoadError {}

fn page_down(x: u64) -> u64 {
    x & !(PAGE - 1)
}
fn page_up(x: u64) -> u64 {
    x.saturating_add(PAGE - 1) & !(PAGE - 1)
}

fn prot_of(p: elf::Prot) -> Prot {
    Prot { read: p.read, write: p.write, exec: p.exec }
}

/// Map an image's PT_LOAD segments at `bias` and copy their file bytes.
fn map_image(mem: &UserMemory, img: &ElfImage, bytes: &[u8], bias: u64, what: &'static str) -> Result<(), LoadError> {
    let no_room = |err| LoadError::NoRoom { what, err };
    // Page ranges with their protections; a page shared by two segments gets both.
    let mut ranges: Vec<(u64, u64, Prot)> = Vec::new();
    for s in &img.segments {
        let start = page_down(bias.wrapping_add(s.vaddr));
        let end = page_up(bias.wrapping_add(s.vaddr).wrapping_add(s.memsz));
        if end <= start {
            continue;
        }
        mem.map(Placement::Fixed(start), end - start, Prot::RW).map_err(no_room)?;
        ranges.push((start, end, prot_of(s.prot)));
    }
    for s in &img.segments {
        let data = &bytes[s.file_range()];
        mem.poke(bias.wrapping_add(s.vaddr), data).map_err(|_| LoadError::NoRoom { what, err: MemError::NoMemory })?;
    }
    for (i, &(start, end, prot)) in ranges.iter().enumerate() {
        mem.protect(start, end - start, prot).map_err(no_room)?;
        // Pages shared with earlier segments keep those segments' rights too.
        for &(s2, e2, p2) in &ranges[..i] {
            let (a, b) = (start.max(s2), end.min(e2));
            if a < b {
                let u = Prot { read: prot.read || p2.read, write: prot.write || p2.write, exec: prot.exec || p2.exec };
                mem.protect(a, b - a, u).map_err(no_room)?;
            }
        }
    }
    Ok(())
}

/// Pick a load bias for an ET_DYN image: at `preferred` if free, else where mmap would.
fn choose_bias(mem: &UserMemory, img: &ElfImage, preferred: Option<u64>, what: &'static str) -> Result<u64, LoadError> {
    let align = img.max_align.max(PAGE);
    let span = page_up(img.max_vaddr) - page_down(img.min_vaddr);
    // Reserve span + alignment slack, then release it: the segments are mapped inside.
    let hint = preferred.unwrap_or(0);
    let at = mem.map(Placement::Hint(hint), span + align, Prot::NONE).map_err(|err| LoadError::NoRoom { what, err })?;
    mem.unmap(at, span + align).map_err(|err| LoadError::NoRoom { what, err })?;
    let start = (at + align - 1) & !(align - 1);
    Ok(start.wrapping_sub(page_down(img.min_vaddr)))
}

fn read_file(path: &Path) -> Result<Vec<u8>, LoadError> {
    std::fs::read(path).map_err(|err| LoadError::Io { path: path.to_path_buf(), err })
}

/// Resolve PT_INTERP under the sysroot (then on the host), as qemu's -L does.
pub fn find_interp(interp: &str, sysroot: Option<&Path>) -> Result<PathBuf, LoadError> {
    let mut tried = Vec::new();
    if let Some(root) = sysroot {
        let p = root.join(interp.trim_start_matches('/'));
        if p.is_file() {
            return Ok(p);
        }
        tried.push(p);
    }
    let p = PathBuf::from(interp);
    if p.is_file() {
        return Ok(p);
    }
    tried.push(p);
    Err(LoadError::InterpMissing { interp: interp.to_string(), tried })
}

/// Load `exe` (already parsed from `bytes`) into `mem` and build the initial stack.
pub fn load(mem: &UserMemory, exe: &ElfImage, bytes: &[u8], spec: &LoadSpec) -> Result<Started, LoadError> {
    let size = mem.size();
    // The stack at the top, the mmap area below it.
    let stack_top = size - 16 * PAGE;
    let stack_lo = stack_top - STACK_SIZE;
    mem.map(Placement::Fixed(stack_lo), STACK_SIZE, Prot::RW)
        .map_err(|err| LoadError::NoRoom { what: "stack", err })?;
    mem.set_mmap_top(stack_lo - STACK_GAP);

    // A PIE (static-pie too) goes at two thirds of the address space, with room for
    // the program break after it (Linux puts a static-pie's break there as well).
    let bias = match exe.kind {
        elf::Kind::Exec => 0,
        elf::Kind::Dyn { .. } => {
            // A 32-bit address space: low, as Linux's ELF_ET_DYN_BASE for 32-bit
            // PowerPC tasks (0x400000), which leaves one large free range above it.
            let base = if size <= 1 << 32 { PIE_BASE_32 } else { size / 3 * 2 };
            let base = base & !(exe.max_align.max(PAGE) - 1);
            choose_bias(mem, exe, Some(base), "program")?
        }
    };
    map_image(mem, exe, bytes, bias, "program")?;
    let image = (page_down(bias.wrapping_add(exe.min_vaddr)), page_up(bias.wrapping_add(exe.max_vaddr)));
    mem.set_brk_base(image.1);

    let entry = bias.wrapping_add(exe.entry);
    let mut pc = entry;
    let mut interp_base = None;
    if let Some(interp) = &exe.interp {
        let path = find_interp(interp, spec.sysroot.as_deref())?;
        let ibytes = read_file(&path)?;
        let iimg = elf::parse(&ibytes).map_err(|err| LoadError::Elf { path: path.clone(), err })?;
        if iimg.arch != exe.arch {
            return Err(LoadError::BadInterp {
                path,
                why: format!("it is for {}, the program for {}", iimg.arch.name(), exe.arch.name()),
            });
        }
        if iimg.interp.is_some() {
            return Err(LoadError::BadInterp { path, why: "it asks for a dynamic linker itself".into() });
        }
        let ibias = match iimg.kind {
            elf::Kind::Exec => 0,
            elf::Kind::Dyn { .. } => choose_bias(mem, &iimg, None, "dynamic linker")?,
        };
        map_image(mem, &iimg, &ibytes, ibias, "dynamic linker")?;
        interp_base = Some(ibias.wrapping_add(page_down(iimg.min_vaddr)));
        pc = ibias.wrapping_add(iimg.entry);
    }

    let phdr = exe.phdr_vaddr.map(|p| bias.wrapping_add(p)).unwrap_or(0);
    let mut auxv = vec![
        (AT_PHDR, phdr),
        (AT_PHENT, exe.phent as u64),
        (AT_PHNUM, exe.phnum as u64),
        (AT_PAGESZ, PAGE),
        (AT_BASE, interp_base.unwrap_or(0)),
        (AT_FLAGS, 0),
        (AT_ENTRY, entry),
        (AT_UID, uid(libc::getuid)),
        (AT_EUID, uid(libc::geteuid)),
        (AT_GID, uid(libc::getgid)),
        (AT_EGID, uid(libc::getegid)),
        (AT_HWCAP, spec.hwcap),
        (AT_HWCAP2, spec.hwcap2),
        (AT_CLKTCK, 100),
        (AT_SECURE, 0),
    ];
    if let Some(m) = spec.minsigstksz {
        auxv.push((AT_MINSIGSTKSZ, m));
    }
    auxv.extend_from_slice(&spec.extra_auxv);
    let sp = build_stack(mem, stack_top, spec, &mut auxv)?;
    Ok(Started { pc, sp, entry, bias, interp_base, brk: image.1, image })
}

fn uid(f: unsafe extern "C" fn() -> u32) -> u64 {
    // SAFETY: getuid and friends cannot fail and have no preconditions.
    u64::from(unsafe { f() })
}

/// Lay out strings, the random bytes, argv/envp pointers and auxv below `top`; return
/// the initial stack pointer (16-byte aligned, pointing at argc).
fn build_stack(mem: &UserMemory, top: u64, spec: &LoadSpec, auxv: &mut Vec<(u64, u64)>) -> Result<u64, LoadError> {
    let mut p = top;
    let mut push_bytes = |data: &[u8], align: u64| -> Result<u64, LoadError> {
        p = (p.checked_sub(data.len() as u64).ok_or(LoadError::ArgsTooLong)?) & !(align - 1);
        if p < top - STACK_SIZE / 4 {
            return Err(LoadError::ArgsTooLong);
        }
        mem.write_bytes(p, data).map_err(|_| LoadError::ArgsTooLong)?;
        Ok(p)
    };
    let cstr = |s: &str| {
        let mut v = s.as_bytes().to_vec();
        v.push(0);
        v
    };
    let execfn = push_bytes(&cstr(&spec.execfn), 1)?;
    let mut env_ptrs = Vec::new();
    for e in spec.env.iter().rev() {
        env_ptrs.push(push_bytes(&cstr(e), 1)?);
    }
    env_ptrs.reverse();
    let mut arg_ptrs = Vec::new();
    for a in spec.args.iter().rev() {
        arg_ptrs.push(push_bytes(&cstr(a), 1)?);
    }
    arg_ptrs.reverse();
    if !spec.platform.is_empty() {
        let platform = push_bytes(&cstr(spec.platform), 1)?;
        auxv.push((AT_PLATFORM, platform));
    }
    let random = push_bytes(&spec.random, 16)?;
    auxv.push((AT_RANDOM, random));
    auxv.push((AT_EXECFN, execfn));
    auxv.push((AT_NULL, 0));

    let w = spec.word;
    let words = 1 + arg_ptrs.len() + 1 + env_ptrs.len() + 1 + 2 * auxv.len();
    let table = words as u64 * w;
    let sp = (p.checked_sub(table).ok_or(LoadError::ArgsTooLong)?) & !15;
    if sp < top - STACK_SIZE / 2 {
        return Err(LoadError::ArgsTooLong);
    }
    let mut out = Vec::with_capacity(table as usize);
    let mut put = |v: u64| {
        let b = if spec.big_endian { v.to_be_bytes() } else { v.to_le_bytes() };
        if w == 8 {
            out.extend_from_slice(&b);
        } else if spec.big_endian {
            out.extend_from_slice(&b[4..]);
        } else {
            out.extend_from_slice(&b[..4]);
        }
    };
    put(arg_ptrs.len() as u64);
    arg_ptrs.iter().for_each(|&a| put(a));
    put(0);
    env_ptrs.iter().for_each(|&e| put(e));
    put(0);
    for &(k, v) in auxv.iter() {
        put(k);
        put(v);
    }
    mem.write_bytes(sp, &out).map_err(|_| LoadError::ArgsTooLong)?;
    Ok(sp)
}
