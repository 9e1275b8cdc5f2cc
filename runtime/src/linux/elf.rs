//! ELF parsing and validation for Linux user mode.
//!
//! [`parse`] reads an ELF file's header and program headers (with goblin), checks everything
//! a loader relies on, and returns an [`ElfImage`]: a load plan that says which guest
//! architecture the file is for and which bytes go where, without mapping anything. Every
//! offset and size in an `ElfImage` has been checked, so a loader can slice the file with
//! [`Segment::file_range`] and add `vaddr + memsz` without overflow. Malformed input gives
//! a typed [`ElfError`] whose message tells the user what is wrong; no input panics.

use std::fmt;
use std::ops::Range;

use goblin::container::{Container, Ctx};
use goblin::elf::header::{self, Header};
use goblin::elf::program_header::{self as ph, ProgramHeader};
use goblin::elf::Elf;

/// The page size the load plan is rounded to (the smallest page of every supported guest).
pub const PAGE_SIZE: u64 = 4096;

/// Largest program header table accepted, in bytes (Linux's limit in `load_elf_phdrs`).
pub const MAX_PHDR_TABLE_BYTES: u64 = 65536;

/// Largest PT_INTERP accepted, in bytes including the NUL (Linux's PATH_MAX).
pub const MAX_INTERP_BYTES: u64 = 4096;

/// The list shown to a user whose binary is for some other machine.
const SUPPORTED: &str = "mimic runs aarch64, arm, ppc, ppc64, sparc64, x86-64, i386 binaries";

/// Guest architecture (and Linux ABI) of an ELF file.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Arch {
    /// AArch64, little-endian (EM_AARCH64, ELFCLASS64).
    Aarch64,
    /// 32-bit ARM EABI, little-endian (EM_ARM); armhf or armel, see [`ElfImage::flags`].
    Arm,
    /// 64-bit PowerPC, little-endian (EM_PPC64).
    Ppc64Le,
    /// 64-bit PowerPC, big-endian (EM_PPC64).
    Ppc64Be,
    /// 32-bit PowerPC, big-endian (EM_PPC).
    Ppc,
    /// SPARC V9, 64-bit (EM_SPARCV9).
    Sparc64,
    /// SPARC V8+ / V8, 32-bit (EM_SPARC32PLUS or EM_SPARC).
    Sparc32Plus,
    /// x86-64 (EM_X86_64, ELFCLASS64).
    X86_64,
    /// i386 (EM_386).
    I386,
}

impl Arch {
    /// The name Linux's `uname -m` (and qemu's binary suffix) uses for this architecture.
    pub fn name(self) -> &'static str {
        match self {
            Arch::Aarch64 => "aarch64",
            Arch::Arm => "arm",
            Arch::Ppc64Le => "ppc64le",
            Arch::Ppc64Be => "ppc64",
            Arch::Ppc => "ppc",
            Arch::Sparc64 => "sparc64",
            Arch::Sparc32Plus => "sparc32plus",
            Arch::X86_64 => "x86_64",
            Arch::I386 => "i386",
        }
    }
}

impl fmt::Display for Arch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// ELF class: the width of addresses in the file.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Class {
    /// ELFCLASS32.
    Elf32,
    /// ELFCLASS64.
    Elf64,
}

impl Class {
    /// 32 or 64.
    pub fn bits(self) -> u32 {
        match self {
            Class::Elf32 => 32,
            Class::Elf64 => 64,
        }
    }
}

/// Byte order of the file (and of the guest).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Endian {
    /// ELFDATA2LSB.
    Little,
    /// ELFDATA2MSB.
    Big,
}

impl fmt::Display for Endian {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Endian::Little => "little-endian",
            Endian::Big => "big-endian",
        })
    }
}

/// What kind of loadable file this is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Kind {
    /// ET_EXEC: loaded at the addresses in its program headers.
    Exec,
    /// ET_DYN: a PIE, static-pie or shared object; the loader picks a base address.
    Dyn {
        /// True if it has a PT_INTERP (a dynamically linked PIE); false for static-pie or
        /// a shared object (such as the dynamic linker itself).
        has_interp: bool,
    },
}

/// What a file claims to be when it is not loadable (ET_REL or ET_CORE).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum NotExecutable {
    /// ET_REL: an object file (`.o`), not yet linked.
    Relocatable,
    /// ET_CORE: a core dump.
    Core,
}

/// Page protections of a segment (from `p_flags`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Prot {
    /// PF_R.
    pub read: bool,
    /// PF_W.
    pub write: bool,
    /// PF_X.
    pub exec: bool,
}

impl Prot {
    fn from_flags(flags: u32) -> Prot {
        Prot { read: flags & ph::PF_R != 0, write: flags & ph::PF_W != 0, exec: flags & ph::PF_X != 0 }
    }
}

/// One PT_LOAD segment. Validated: `offset + filesz <= file length`, `filesz <= memsz`,
/// `vaddr + memsz` fits the class's address space, `vaddr ≡ offset (mod PAGE_SIZE)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Segment {
    /// Index of this segment's entry in the program header table.
    pub index: usize,
    /// Virtual address of the first byte (before any ET_DYN base is added).
    pub vaddr: u64,
    /// Size in memory; bytes past `filesz` are zero (.bss).
    pub memsz: u64,
    /// Bytes taken from the file.
    pub filesz: u64,
    /// File offset of the first byte.
    pub offset: u64,
    /// Page protections.
    pub prot: Prot,
    /// `p_align` (0 or 1 means none; otherwise a power of two).
    pub align: u64,
}

impl Segment {
    /// The bytes of the file this segment's first `filesz` bytes come from.
    pub fn file_range(&self) -> Range<usize> {
        // Both ends were checked against the file's length, which is a usize.
        self.offset as usize..(self.offset + self.filesz) as usize
    }

    /// One past the last byte in memory (`vaddr + memsz`; checked not to overflow).
    pub fn end(&self) -> u64 {
        self.vaddr + self.memsz
    }
}

/// The PT_TLS template, for reporting (the loader does not map it separately).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Tls {
    /// Address of the initialisation image.
    pub vaddr: u64,
    /// Size of the TLS block.
    pub memsz: u64,
    /// Size of the initialised part.
    pub filesz: u64,
    /// File offset of the initialisation image.
    pub offset: u64,
    /// Required alignment.
    pub align: u64,
}

/// A validated load plan for an ELF executable or shared object.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ElfImage {
    /// Guest architecture.
    pub arch: Arch,
    /// ELF class.
    pub class: Class,
    /// Byte order.
    pub endian: Endian,
    /// ET_EXEC or ET_DYN.
    pub kind: Kind,
    /// Raw `e_machine`.
    pub machine: u16,
    /// Raw `e_flags` (ARM EABI version and float ABI, PowerPC ELF ABI version, SPARC memory model).
    pub flags: u32,
    /// `e_entry` (before any ET_DYN base is added).
    pub entry: u64,
    /// PT_INTERP path: absolute, UTF-8, without its NUL.
    pub interp: Option<String>,
    /// PT_LOAD segments in program header order (at least one has `memsz > 0`; none overlap).
    pub segments: Vec<Segment>,
    /// Address of the program header table in memory, for AT_PHDR (before any ET_DYN base):
    /// PT_PHDR's `p_vaddr`, or else computed from the PT_LOAD whose file range holds
    /// `e_phoff`. `None` if the table is not loaded.
    pub phdr_vaddr: Option<u64>,
    /// `e_phentsize`, for AT_PHENT.
    pub phent: u16,
    /// `e_phnum`, for AT_PHNUM.
    pub phnum: u16,
    /// `Some(true)` if PT_GNU_STACK asks for an executable stack, `Some(false)` if it asks for
    /// a non-executable one, `None` if there is no PT_GNU_STACK (the architecture's default).
    pub stack_executable: Option<bool>,
    /// The PT_TLS template, if any.
    pub tls: Option<Tls>,
    /// Lowest address of any segment, rounded down to [`PAGE_SIZE`].
    pub min_vaddr: u64,
    /// One past the highest address of any segment, rounded up to [`PAGE_SIZE`].
    pub max_vaddr: u64,
    /// Largest `p_align` of the PT_LOAD segments (at least 1), for choosing an ET_DYN base.
    pub max_align: u64,
}

impl ElfImage {
    /// Bytes of address space the segments span (`max_vaddr - min_vaddr`).
    pub fn span(&self) -> u64 {
        self.max_vaddr - self.min_vaddr
    }

    /// True for ET_DYN files, which are loaded at a base the loader chooses.
    pub fn is_dyn(&self) -> bool {
        matches!(self.kind, Kind::Dyn { .. })
    }
}

/// Why an ELF file cannot be run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ElfError {
    /// The file does not start with the ELF magic number.
    NotElf,
    /// `e_ident` has an invalid class or data-encoding byte.
    BadIdent {
        /// "class" or "data encoding".
        field: &'static str,
        /// The byte found.
        value: u8,
    },
    /// The file ends before a structure it declares.
    Truncated {
        /// What was cut off ("ELF header", "program header table").
        what: &'static str,
        /// The byte offset where that structure ends (may exceed 64 bits).
        end: u128,
        /// The file's length.
        file_len: u64,
    },
    /// ET_REL or ET_CORE.
    NotExecutable(NotExecutable),
    /// An `e_type` that is not ET_EXEC, ET_DYN, ET_REL or ET_CORE.
    UnknownType(u16),
    /// An `e_machine` (or class/byte-order combination) mimic does not run.
    UnsupportedMachine {
        /// Raw `e_machine`.
        machine: u16,
        /// The file's class.
        class: Class,
        /// The file's byte order.
        endian: Endian,
    },
    /// A supported machine with an ABI variant mimic does not run (from `e_flags`).
    UnsupportedAbi {
        /// The architecture.
        arch: Arch,
        /// Which variant.
        detail: &'static str,
    },
    /// `e_phentsize` is not the size of a program header for this class.
    BadPhentsize {
        /// `e_phentsize`.
        phentsize: u16,
        /// The size for this class (32 or 56).
        expected: u16,
    },
    /// `e_phnum` is 0.
    NoProgramHeaders,
    /// The program header table is larger than [`MAX_PHDR_TABLE_BYTES`] (or uses PN_XNUM).
    TooManyProgramHeaders {
        /// `e_phnum`.
        phnum: u16,
    },
    /// A PT_LOAD's file range `offset..offset + filesz` goes past the end of the file.
    SegmentBeyondFile {
        /// Program header index.
        index: usize,
        /// `p_offset`.
        offset: u64,
        /// `p_filesz`.
        filesz: u64,
        /// The file's length.
        file_len: u64,
    },
    /// A PT_LOAD's `p_filesz` exceeds its `p_memsz`.
    FileszExceedsMemsz {
        /// Program header index.
        index: usize,
        /// `p_filesz`.
        filesz: u64,
        /// `p_memsz`.
        memsz: u64,
    },
    /// A PT_LOAD's `vaddr + memsz` overflows the class's address space.
    SegmentAddressOverflow {
        /// Program header index.
        index: usize,
        /// `p_vaddr`.
        vaddr: u64,
        /// `p_memsz`.
        memsz: u64,
    },
    /// A PT_LOAD's `p_vaddr` and `p_offset` differ modulo the page size, so it cannot be mapped.
    MisalignedSegment {
        /// Program header index.
        index: usize,
        /// `p_vaddr`.
        vaddr: u64,
        /// `p_offset`.
        offset: u64,
    },
    /// A PT_LOAD's `p_align` is neither 0, 1 nor a power of two.
    BadAlignment {
        /// Program header index.
        index: usize,
        /// `p_align`.
        align: u64,
    },
    /// Two PT_LOAD segments cover the same bytes of memory.
    OverlappingSegments {
        /// Program header index of one segment.
        first: usize,
        /// Program header index of the other.
        second: usize,
    },
    /// No PT_LOAD segment with a non-zero size.
    NoLoadSegments,
    /// PT_INTERP is malformed.
    InvalidInterpreter {
        /// What is wrong with it.
        reason: &'static str,
    },
    /// More than one PT_INTERP.
    MultipleInterpreters,
    /// PT_TLS is malformed.
    InvalidTls {
        /// What is wrong with it.
        reason: &'static str,
    },
    /// goblin rejected the file for a reason not covered above.
    Malformed(String),
}

fn machine_name(machine: u16) -> String {
    match header::machine_to_str(machine) {
        "EM_UNKNOWN" => format!("e_machine {machine}"),
        name => format!("EM_{name}"),
    }
}

impl fmt::Display for ElfError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ElfError::NotElf => write!(f, "not an ELF file"),
            ElfError::BadIdent { field, value } => {
                write!(f, "not a valid ELF file (invalid {field} byte {value} in e_ident)")
            }
            ElfError::Truncated { what, end, file_len } => {
                write!(f, "truncated ELF file ({what} ends at byte {end}, file has {file_len} bytes)")
            }
            ElfError::NotExecutable(NotExecutable::Relocatable) => {
                write!(f, "ELF is a relocatable object (.o), not an executable; link it first")
            }
            ElfError::NotExecutable(NotExecutable::Core) => write!(f, "ELF is a core dump, not an executable"),
            ElfError::UnknownType(t) => write!(f, "ELF has unknown type {t:#x}, not an executable"),
            ElfError::UnsupportedMachine { machine, class, endian } => write!(
                f,
                "unsupported machine {} ({}-bit {endian}) ({SUPPORTED})",
                machine_name(*machine),
                class.bits()
            ),
            ElfError::UnsupportedAbi { arch, detail } => write!(f, "unsupported {arch} ABI: {detail}"),
            ElfError::BadPhentsize { phentsize, expected } => {
                write!(f, "invalid ELF file: program header entries are {phentsize} bytes, expected {expected}")
            }
            ElfError::NoProgramHeaders => write!(f, "ELF file has no program headers, so it cannot be loaded"),
            ElfError::TooManyProgramHeaders { phnum } => write!(
                f,
                "invalid ELF file: {phnum} program headers (the table may be at most {MAX_PHDR_TABLE_BYTES} bytes)"
            ),
            ElfError::SegmentBeyondFile { index, offset, filesz, file_len } => write!(
                f,
                "invalid ELF file: segment file range beyond end of file (program header {index}: \
                 offset {offset:#x} + size {filesz:#x}, file has {file_len} bytes)"
            ),
            ElfError::FileszExceedsMemsz { index, filesz, memsz } => write!(
                f,
                "invalid ELF file: filesz > memsz (program header {index}: filesz {filesz:#x}, memsz {memsz:#x})"
            ),
            ElfError::SegmentAddressOverflow { index, vaddr, memsz } => write!(
                f,
                "invalid ELF file: segment address overflows (program header {index}: \
                 vaddr {vaddr:#x} + memsz {memsz:#x})"
            ),
            ElfError::MisalignedSegment { index, vaddr, offset } => write!(
                f,
                "invalid ELF file: segment cannot be mapped (program header {index}: vaddr {vaddr:#x} and \
                 offset {offset:#x} differ modulo the page size)"
            ),
            ElfError::BadAlignment { index, align } => write!(
                f,
                "invalid ELF file: segment alignment {align:#x} is not a power of two (program header {index})"
            ),
            ElfError::OverlappingSegments { first, second } => {
                write!(f, "invalid ELF file: overlapping PT_LOAD segments (program headers {first} and {second})")
            }
            ElfError::NoLoadSegments => write!(f, "invalid ELF file: no PT_LOAD segments, nothing to load"),
            ElfError::InvalidInterpreter { reason } => write!(f, "interpreter path is not valid: {reason}"),
            ElfError::MultipleInterpreters => write!(f, "invalid ELF file: more than one PT_INTERP"),
            ElfError::InvalidTls { reason } => write!(f, "invalid ELF file: bad PT_TLS: {reason}"),
            ElfError::Malformed(msg) => write!(f, "invalid ELF file: {msg}"),
        }
    }
}

impl std::error::Error for ElfError {}

/// The architecture for a header, or why it is not supported.
fn arch_of(machine: u16, class: Class, endian: Endian, flags: u32) -> Result<Arch, ElfError> {
    use Class::*;
    use Endian::*;
    let arch = match (machine, class, endian) {
        (header::EM_AARCH64, Elf64, Little) => Arch::Aarch64,
        (header::EM_ARM, Elf32, Little) => Arch::Arm,
        (header::EM_PPC64, Elf64, Little) => Arch::Ppc64Le,
        (header::EM_PPC64, Elf64, Big) => Arch::Ppc64Be,
        (header::EM_PPC, Elf32, Big) => Arch::Ppc,
        (header::EM_SPARCV9, Elf64, Big) => Arch::Sparc64,
        (header::EM_SPARC32PLUS | header::EM_SPARC, Elf32, Big) => Arch::Sparc32Plus,
        (header::EM_X86_64, Elf64, Little) => Arch::X86_64,
        (header::EM_386, Elf32, Little) => Arch::I386,
        _ => return Err(ElfError::UnsupportedMachine { machine, class, endian }),
    };
    match arch {
        Arch::Arm => {
            // EF_ARM_EABIMASK: Linux's arm ABI is EABI version 4 or 5; 0 is the old ABI.
            match flags >> 24 {
                4 | 5 => {}
                0 => {
                    return Err(ElfError::UnsupportedAbi {
                        arch,
                        detail: "old-ABI (OABI) binary; rebuild it with an EABI toolchain (armel or armhf)",
                    })
                }
                _ => return Err(ElfError::UnsupportedAbi { arch, detail: "unknown ARM EABI version in e_flags" }),
            }
        }
        Arch::Ppc64Le | Arch::Ppc64Be if flags & 3 == 3 => {
            return Err(ElfError::UnsupportedAbi { arch, detail: "unknown PowerPC ELF ABI version 3 in e_flags" });
        }
        _ => {}
    }
    Ok(arch)
}

fn round_down(x: u64) -> u64 {
    x & !(PAGE_SIZE - 1)
}

/// Checks PT_INTERP's bytes and returns the path without its NUL.
fn interp_path(bytes: &[u8], p: &ProgramHeader) -> Result<String, ElfError> {
    let bad = |reason| ElfError::InvalidInterpreter { reason };
    let end = p.p_offset.checked_add(p.p_filesz).ok_or_else(|| bad("PT_INTERP's file range overflows"))?;
    if end > bytes.len() as u64 {
        return Err(bad("PT_INTERP lies beyond the end of the file"));
    }
    if p.p_filesz < 2 {
        return Err(bad("PT_INTERP is empty"));
    }
    if p.p_filesz > MAX_INTERP_BYTES {
        return Err(bad("PT_INTERP is longer than PATH_MAX"));
    }
    let raw = &bytes[p.p_offset as usize..end as usize];
    let Some((&0, path)) = raw.split_last() else {
        return Err(bad("it is not NUL-terminated"));
    };
    if path.contains(&0) {
        return Err(bad("it contains a NUL byte before its end"));
    }
    let path = std::str::from_utf8(path).map_err(|_| bad("it is not UTF-8"))?;
    if !path.starts_with('/') {
        return Err(bad("it is not an absolute path"));
    }
    Ok(path.to_owned())
}

fn tls_of(bytes: &[u8], p: &ProgramHeader, limit: u128) -> Result<Tls, ElfError> {
    let bad = |reason| ElfError::InvalidTls { reason };
    if p.p_filesz > p.p_memsz {
        return Err(bad("filesz > memsz"));
    }
    if u128::from(p.p_offset) + u128::from(p.p_filesz) > bytes.len() as u128 {
        return Err(bad("its file range is beyond the end of the file"));
    }
    if u128::from(p.p_vaddr) + u128::from(p.p_memsz) > limit {
        return Err(bad("its address range overflows"));
    }
    if p.p_align > 1 && !p.p_align.is_power_of_two() {
        return Err(bad("its alignment is not a power of two"));
    }
    Ok(Tls { vaddr: p.p_vaddr, memsz: p.p_memsz, filesz: p.p_filesz, offset: p.p_offset, align: p.p_align })
}

/// Parses and validates an ELF executable or shared object. Never panics.
pub fn parse(bytes: &[u8]) -> Result<ElfImage, ElfError> {
    let file_len = bytes.len() as u64;
    if bytes.len() < header::SELFMAG || &bytes[..header::SELFMAG] != header::ELFMAG {
        return Err(ElfError::NotElf);
    }
    if bytes.len() < header::SIZEOF_IDENT {
        return Err(ElfError::Truncated { what: "ELF header", end: header::SIZEOF_IDENT as u128, file_len });
    }
    let (class, ehdr_size, phdr_size) = match bytes[header::EI_CLASS] {
        header::ELFCLASS32 => (Class::Elf32, 52u64, 32u16),
        header::ELFCLASS64 => (Class::Elf64, 64u64, 56u16),
        value => return Err(ElfError::BadIdent { field: "class", value }),
    };
    let endian = match bytes[header::EI_DATA] {
        header::ELFDATA2LSB => Endian::Little,
        header::ELFDATA2MSB => Endian::Big,
        value => return Err(ElfError::BadIdent { field: "data encoding", value }),
    };
    if file_len < ehdr_size {
        return Err(ElfError::Truncated { what: "ELF header", end: ehdr_size.into(), file_len });
    }
    let hdr: Header = Elf::parse_header(bytes).map_err(|e| ElfError::Malformed(e.to_string()))?;

    let is_dyn = match hdr.e_type {
        header::ET_EXEC => false,
        header::ET_DYN => true,
        header::ET_REL => return Err(ElfError::NotExecutable(NotExecutable::Relocatable)),
        header::ET_CORE => return Err(ElfError::NotExecutable(NotExecutable::Core)),
        t => return Err(ElfError::UnknownType(t)),
    };
    let arch = arch_of(hdr.e_machine, class, endian, hdr.e_flags)?;

    if hdr.e_phnum == 0 {
        return Err(ElfError::NoProgramHeaders);
    }
    if hdr.e_phentsize != phdr_size {
        return Err(ElfError::BadPhentsize { phentsize: hdr.e_phentsize, expected: phdr_size });
    }
    let table_size = u64::from(hdr.e_phnum) * u64::from(phdr_size);
    if table_size > MAX_PHDR_TABLE_BYTES {
        return Err(ElfError::TooManyProgramHeaders { phnum: hdr.e_phnum });
    }
    let table_end = u128::from(hdr.e_phoff) + u128::from(table_size);
    if table_end > u128::from(file_len) {
        return Err(ElfError::Truncated { what: "program header table", end: table_end, file_len });
    }
    let container = match class {
        Class::Elf32 => Container::Little,
        Class::Elf64 => Container::Big,
    };
    let le = match endian {
        Endian::Little => goblin::container::Endian::Little,
        Endian::Big => goblin::container::Endian::Big,
    };
    let phdrs = ProgramHeader::parse(bytes, hdr.e_phoff as usize, usize::from(hdr.e_phnum), Ctx::new(container, le))
        .map_err(|e| ElfError::Malformed(e.to_string()))?;

    // Highest address + 1 a segment may reach: 4 GiB for 32-bit files; for 64-bit files,
    // leave room to round the end up to a page without overflow.
    let limit: u128 = match class {
        Class::Elf32 => 1 << 32,
        Class::Elf64 => u128::from(u64::MAX - PAGE_SIZE + 1),
    };

    let mut segments = Vec::new();
    let mut interp = None;
    let mut pt_phdr = None;
    let mut stack_executable = None;
    let mut tls = None;
    for (index, p) in phdrs.iter().enumerate() {
        match p.p_type {
            ph::PT_LOAD => {
                if p.p_filesz > p.p_memsz {
                    return Err(ElfError::FileszExceedsMemsz { index, filesz: p.p_filesz, memsz: p.p_memsz });
                }
                if u128::from(p.p_offset) + u128::from(p.p_filesz) > u128::from(file_len) {
                    return Err(ElfError::SegmentBeyondFile {
                        index,
                        offset: p.p_offset,
                        filesz: p.p_filesz,
                        file_len,
                    });
                }
                if u128::from(p.p_vaddr) + u128::from(p.p_memsz) > limit {
                    return Err(ElfError::SegmentAddressOverflow { index, vaddr: p.p_vaddr, memsz: p.p_memsz });
                }
                if p.p_align > 1 && !p.p_align.is_power_of_two() {
                    return Err(ElfError::BadAlignment { index, align: p.p_align });
                }
                if p.p_vaddr % PAGE_SIZE != p.p_offset % PAGE_SIZE {
                    return Err(ElfError::MisalignedSegment { index, vaddr: p.p_vaddr, offset: p.p_offset });
                }
                segments.push(Segment {
                    index,
                    vaddr: p.p_vaddr,
                    memsz: p.p_memsz,
                    filesz: p.p_filesz,
                    offset: p.p_offset,
                    prot: Prot::from_flags(p.p_flags),
                    align: p.p_align,
                });
            }
            ph::PT_INTERP => {
                if interp.is_some() {
                    return Err(ElfError::MultipleInterpreters);
                }
                interp = Some(interp_path(bytes, p)?);
            }
            ph::PT_PHDR => {
                pt_phdr.get_or_insert(p.p_vaddr);
            }
            ph::PT_GNU_STACK => stack_executable = Some(p.p_flags & ph::PF_X != 0),
            ph::PT_TLS => {
                if tls.is_some() {
                    return Err(ElfError::InvalidTls { reason: "more than one PT_TLS" });
                }
                tls = Some(tls_of(bytes, p, limit)?);
            }
            _ => {}
        }
    }

    // Overlap check over the non-empty segments, sorted by address.
    let mut sorted: Vec<&Segment> = segments.iter().filter(|s| s.memsz > 0).collect();
    if sorted.is_empty() {
        return Err(ElfError::NoLoadSegments);
    }
    sorted.sort_by_key(|s| s.vaddr);
    let mut reach = sorted[0];
    for s in &sorted[1..] {
        if s.vaddr < reach.end() {
            let (first, second) = (reach.index.min(s.index), reach.index.max(s.index));
            return Err(ElfError::OverlappingSegments { first, second });
        }
        if s.end() > reach.end() {
            reach = s;
        }
    }
    let min_vaddr = round_down(sorted[0].vaddr);
    // `limit` leaves room for this rounding.
    let max_vaddr = round_down(reach.end() + (PAGE_SIZE - 1));
    let max_align = segments.iter().map(|s| s.align).max().unwrap_or(1).max(1);

    // AT_PHDR: PT_PHDR if present, else the PT_LOAD whose file bytes hold the table (as Linux).
    let phdr_vaddr = pt_phdr.or_else(|| {
        segments
            .iter()
            .find(|s| {
                s.offset <= hdr.e_phoff
                    && u128::from(hdr.e_phoff) + u128::from(table_size) <= u128::from(s.offset + s.filesz)
            })
            .map(|s| s.vaddr + (hdr.e_phoff - s.offset))
    });

    let kind = if is_dyn { Kind::Dyn { has_interp: interp.is_some() } } else { Kind::Exec };
    Ok(ElfImage {
        arch,
        class,
        endian,
        kind,
        machine: hdr.e_machine,
        flags: hdr.e_flags,
        entry: hdr.e_entry,
        interp,
        segments,
        phdr_vaddr,
        phent: hdr.e_phentsize,
        phnum: hdr.e_phnum,
        stack_executable,
        tls,
        min_vaddr,
        max_vaddr,
        max_align,
    })
}
