//! User-mode guest memory: one reserved host range with a fixed base.
//!
//! Guest address `a` lives at host address `base + a` for `a < 2^bits`. The whole
//! range (plus a guard) is reserved inaccessible up front; guest mappings are made
//! inside it with the guest's protections (execute is tracked but never granted to
//! the host), so a guest access that Linux would refuse faults at the host too and
//! compiled code needs no checks beyond the address-space bound. The interpreter
//! checks the same mappings in software, and both tiers report the first byte that
//! cannot be accessed.
//!
//! Semantics follow Linux: page-granular `mmap` (fixed or kernel-chosen, top-down),
//! `munmap`, `mprotect` (ENOMEM over holes), and `brk`.

use crate::memory::GuestMemory;
use mimic_backend::cranelift::entry::{guarded_copy, CopyFault};
use mimic_backend::cranelift::ADDR_GUARD;
use mimic_ir::{FaultKind, MemFault, Memory};
use std::collections::BTreeMap;
use std::fmt;
use std::sync::RwLock;

pub const PAGE: u64 = 4096;
/// Reserved, never-mapped bytes before and after the guest space: compiled code checks
/// the base register of an access, not the displaced address (see [`ADDR_GUARD`]).
const GUARD: u64 = ADDR_GUARD;

/// Guest protection bits (Linux PROT_*).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct Prot {
    pub read: bool,
    pub write: bool,
    pub exec: bool,
}

impl Prot {
    pub const NONE: Prot = Prot { read: false, write: false, exec: false };
    pub const RW: Prot = Prot { read: true, write: true, exec: false };
    pub const RX: Prot = Prot { read: true, write: false, exec: true };
    pub const R: Prot = Prot { read: true, write: false, exec: false };
    /// From Linux PROT_READ/WRITE/EXEC bits.
    pub fn from_linux(p: u32) -> Prot {
        Prot { read: p & 1 != 0, write: p & 2 != 0, exec: p & 4 != 0 }
    }
    fn host(self) -> libc::c_int {
        // x86 pages cannot be write-only: writable implies readable. Never executable.
        match (self.read, self.write) {
            (_, true) => libc::PROT_READ | libc::PROT_WRITE,
            (true, false) => libc::PROT_READ,
            (false, false) => libc::PROT_NONE,
        }
    }
}

/// Errors of guest memory management, each one a Linux errno.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MemError {
    /// EINVAL: misaligned address, zero length, or a range that wraps.
    Invalid,
    /// ENOMEM: no room, outside the guest address space, or (mprotect) a hole.
    NoMemory,
    /// EEXIST: MAP_FIXED_NOREPLACE over an existing mapping.
    Exists,
    /// The host refused a mapping operation.
    Host(i32),
}

impl MemError {
    pub fn errno(self) -> i32 {
        match self {
            MemError::Invalid => libc::EINVAL,
            MemError::NoMemory => libc::ENOMEM,
            MemError::Exists => libc::EEXIST,
            MemError::Host(e) => e,
        }
    }
}

impl fmt::Display for MemError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MemError::Invalid => write!(f, "invalid guest memory range"),
            MemError::NoMemory => write!(f, "no guest memory available there"),
            MemError::Exists => write!(f, "guest memory already mapped there"),
            MemError::Host(e) => write!(f, "host mapping failed: {}", std::io::Error::from_raw_os_error(*e)),
        }
    }
}
impl std::error::Error for MemError {}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Vma {
    end: u64,
    prot: Prot,
}

/// How a new mapping is placed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Placement {
    /// Anywhere free (the hint is tried first).
    Hint(u64),
    /// Exactly here, replacing what is there (MAP_FIXED).
    Fixed(u64),
    /// Exactly here, failing if anything is there (MAP_FIXED_NOREPLACE).
    FixedNoReplace(u64),
}

/// The guest address space of one user-mode process, shared by its threads.
///
/// Mapping changes take the map lock for writing; interpreter accesses check the map
/// under a read lock; compiled code accesses the host range directly (the host
/// protections are the check).
pub struct UserMemory {
    host: *mut u8,
    bits: u8,
    size: u64,
    map: RwLock<Map>,
}

struct Map {
    vmas: BTreeMap<u64, Vma>,
    /// Top of the area where kernel-chosen mappings go (they grow down from here).
    mmap_top: u64,
    brk_start: u64,
    brk: u64,
}

// SAFETY: the reservation is owned by this value and never moves; the bookkeeping is
// behind a lock, and guest bytes are shared memory by design (guest threads race on
// them exactly as they would on hardware).
unsafe impl Send for UserMemory {}
// SAFETY: as above; every method takes `&self` and synchronises through `map`.
unsafe impl Sync for UserMemory {}

/// A file to map (mmap with an fd).
#[derive(Clone, Copy, Debug)]
pub struct FileMap {
    pub fd: i32,
    pub offset: u64,
    /// MAP_SHARED: guest writes reach the file.
    pub shared: bool,
}

fn page_up(x: u64) -> Option<u64> {
    x.checked_add(PAGE - 1).map(|v| v & !(PAGE - 1))
}

impl UserMemory {
    /// Reserve a guest address space of `2^bits` bytes (e.g. 32 for 32-bit guests,
    /// 40 for 64-bit ones).
    pub fn new(bits: u8) -> Result<UserMemory, MemError> {
        assert!((20..=46).contains(&bits), "guest address space of 2^{bits} bytes is not supported");
        let size = 1u64 << bits;
        // SAFETY: an inaccessible, unreserved anonymous mapping at a kernel-chosen address.
        let p = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                (GUARD + size + GUARD) as usize,
                libc::PROT_NONE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_NORESERVE,
                -1,
                0,
            )
        };
        if p == libc::MAP_FAILED {
            return Err(MemError::Host(std::io::Error::last_os_error().raw_os_error().unwrap_or(libc::ENOMEM)));
        }
        Ok(UserMemory {
            // SAFETY: the reservation spans GUARD bytes before the space.
            host: unsafe { p.cast::<u8>().add(GUARD as usize) },
            bits,
            size,
            map: RwLock::new(Map { vmas: BTreeMap::new(), mmap_top: size - (size >> 4), brk_start: 0, brk: 0 }),
        })
    }

    fn rd(&self) -> std::sync::RwLockReadGuard<'_, Map> {
        self.map.read().unwrap_or_else(|e| e.into_inner())
    }
    fn wr(&self) -> std::sync::RwLockWriteGuard<'_, Map> {
        self.map.write().unwrap_or_else(|e| e.into_inner())
    }

    /// Host address of guest address `addr` (inside the reservation).
    pub fn host_ptr(&self, addr: u64) -> *mut u8 {
        self.host.wrapping_add(addr as usize)
    }

    /// Set the top of the area for kernel-chosen mappings (below the stack).
    pub fn set_mmap_top(&self, top: u64) {
        self.wr().mmap_top = top.min(self.size) & !(PAGE - 1);
    }

    /// The protection of the page holding `addr`, if it is mapped.
    pub fn prot_at(&self, addr: u64) -> Option<Prot> {
        self.rd().vmas.range(..=addr).next_back().filter(|(_, v)| v.end > addr).map(|(_, v)| v.prot)
    }

    /// Whether every byte of `[addr, addr+len)` may be accessed as asked (for syscalls
    /// that take guest buffers: EFAULT otherwise).
    pub fn accessible(&self, addr: u64, len: u64, write: bool) -> bool {
        len == 0 || self.check(addr, len as usize, write, false).is_ok()
    }

    pub fn size(&self) -> u64 {
        self.size
    }

    /// Mappings overlapping `[start, end)`, as (start, end, prot).
    pub fn mappings(&self) -> Vec<(u64, u64, Prot)> {
        self.rd().vmas.iter().map(|(&s, v)| (s, v.end, v.prot)).collect()
    }

    fn check_range(&self, addr: u64, len: u64) -> Result<u64, MemError> {
        if !addr.is_multiple_of(PAGE) || len == 0 {
            return Err(MemError::Invalid);
        }
        let len = page_up(len).ok_or(MemError::Invalid)?;
        let end = addr.checked_add(len).ok_or(MemError::Invalid)?;
        if end > self.size {
            return Err(MemError::NoMemory);
        }
        Ok(end)
    }

    fn host_map(&self, addr: u64, end: u64, prot: Prot, file: Option<FileMap>) -> Result<(), MemError> {
        let (flags, fd, off) = match file {
            None => (libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_NORESERVE, -1, 0),
            Some(f) => (if f.shared { libc::MAP_SHARED } else { libc::MAP_PRIVATE }, f.fd, f.offset as libc::off_t),
        };
        // SAFETY: [addr, end) lies inside our reservation; MAP_FIXED replaces only our
        // own pages there with fresh zeroed ones (or the file's pages).
        let r = unsafe {
            libc::mmap(
                self.host.add(addr as usize).cast(),
                (end - addr) as usize,
                prot.host(),
                flags | libc::MAP_FIXED,
                fd,
                off,
            )
        };
        if r == libc::MAP_FAILED {
            return Err(MemError::Host(std::io::Error::last_os_error().raw_os_error().unwrap_or(libc::ENOMEM)));
        }
        Ok(())
    }
}

impl Map {
    /// Split mappings so that `addr` is a boundary.
    fn split_at(&mut self, addr: u64) {
        let Some((&s, &v)) = self.vmas.range(..addr).next_back() else { return };
        if v.end > addr {
            self.vmas.insert(s, Vma { end: addr, prot: v.prot });
            self.vmas.insert(addr, Vma { end: v.end, prot: v.prot });
        }
    }

    fn remove_range(&mut self, addr: u64, end: u64) {
        self.split_at(addr);
        self.split_at(end);
        let keys: Vec<u64> = self.vmas.range(addr..end).map(|(&k, _)| k).collect();
        for k in keys {
            self.vmas.remove(&k);
        }
    }

    fn is_free(&self, addr: u64, end: u64) -> bool {
        if let Some((_, v)) = self.vmas.range(..end).next_back() {
            if v.end > addr {
                return false;
            }
        }
        true
    }

    /// Find a free range of `len` bytes below `mmap_top`, top-down.
    fn find_free(&self, len: u64) -> Option<u64> {
        let mut top = self.mmap_top;
        for (&s, v) in self.vmas.range(..self.mmap_top).rev() {
            if v.end <= top && top - v.end >= len {
                return Some(top - len);
            }
            top = top.min(s);
        }
        (top >= len + PAGE).then(|| top - len)
    }
}

impl UserMemory {
    /// Map zeroed anonymous memory (mmap with MAP_ANONYMOUS).
    pub fn map(&self, place: Placement, len: u64, prot: Prot) -> Result<u64, MemError> {
        self.map_inner(&mut self.wr(), place, len, prot, None)
    }

    /// Map a file (mmap with an fd); bytes past the end of the file read as zero up to
    /// the page end and fault beyond it (SIGBUS on Linux), as the host provides.
    pub fn map_file(&self, place: Placement, len: u64, prot: Prot, file: FileMap) -> Result<u64, MemError> {
        if !file.offset.is_multiple_of(PAGE) {
            return Err(MemError::Invalid);
        }
        self.map_inner(&mut self.wr(), place, len, prot, Some(file))
    }

    fn map_inner(
        &self,
        m: &mut Map,
        place: Placement,
        len: u64,
        prot: Prot,
        file: Option<FileMap>,
    ) -> Result<u64, MemError> {
        let len = page_up(len).filter(|&l| l > 0).ok_or(MemError::Invalid)?;
        let addr = match place {
            Placement::Fixed(a) | Placement::FixedNoReplace(a) => {
                let end = self.check_range(a, len)?;
                if a == 0 {
                    return Err(MemError::NoMemory); // mmap_min_addr: page 0 stays unmapped
                }
                if matches!(place, Placement::FixedNoReplace(_)) && !m.is_free(a, end) {
                    return Err(MemError::Exists);
                }
                a
            }
            Placement::Hint(h) => {
                let h = h & !(PAGE - 1);
                match h.checked_add(len) {
                    Some(end) if h != 0 && end <= self.size && m.is_free(h, end) => h,
                    _ => m.find_free(len).ok_or(MemError::NoMemory)?,
                }
            }
        };
        let end = addr + len;
        self.host_map(addr, end, prot, file)?;
        m.remove_range(addr, end);
        m.vmas.insert(addr, Vma { end, prot });
        Ok(addr)
    }

    /// Unmap (munmap): holes in the range are fine.
    pub fn unmap(&self, addr: u64, len: u64) -> Result<(), MemError> {
        self.unmap_inner(&mut self.wr(), addr, len)
    }

    fn unmap_inner(&self, m: &mut Map, addr: u64, len: u64) -> Result<(), MemError> {
        // Addresses past mimic's guest space (but inside the architecture's) hold no
        // mappings: unmapping them succeeds, as on Linux.
        if addr >= self.size && addr.is_multiple_of(PAGE) && len != 0 {
            return Ok(());
        }
        let len = len.min(self.size.saturating_sub(addr));
        let end = self.check_range(addr, len)?;
        self.host_map(addr, end, Prot::NONE, None)?;
        m.remove_range(addr, end);
        Ok(())
    }

    /// Change protections (mprotect): every page must be mapped.
    pub fn protect(&self, addr: u64, len: u64, prot: Prot) -> Result<(), MemError> {
        let end = self.check_range(addr, len)?;
        let mut m = self.wr();
        let mut at = addr;
        while at < end {
            match m.vmas.range(..=at).next_back() {
                Some((_, v)) if v.end > at => at = v.end,
                _ => return Err(MemError::NoMemory),
            }
        }
        // SAFETY: the range is inside our reservation and fully mapped by us.
        if unsafe { libc::mprotect(self.host.add(addr as usize).cast(), (end - addr) as usize, prot.host()) } != 0 {
            return Err(MemError::Host(std::io::Error::last_os_error().raw_os_error().unwrap_or(libc::ENOMEM)));
        }
        m.split_at(addr);
        m.split_at(end);
        let keys: Vec<u64> = m.vmas.range(addr..end).map(|(&k, _)| k).collect();
        for k in keys {
            if let Some(v) = m.vmas.get_mut(&k) {
                v.prot = prot;
            }
        }
        Ok(())
    }

    /// Set where the program break starts (end of the loaded image, page-aligned up).
    pub fn set_brk_base(&self, addr: u64) {
        let mut m = self.wr();
        m.brk_start = page_up(addr).unwrap_or(addr);
        m.brk = m.brk_start;
    }

    /// The brk syscall: grow or shrink the break; returns the (possibly unchanged) break.
    pub fn brk(&self, new: u64) -> u64 {
        let mut m = self.wr();
        if new < m.brk_start {
            return m.brk;
        }
        let (old_top, new_top) = (page_up(m.brk).unwrap_or(m.brk), page_up(new).unwrap_or(new));
        if new_top > old_top {
            if self.map_inner(&mut m, Placement::FixedNoReplace(old_top), new_top - old_top, Prot::RW, None).is_err() {
                return m.brk;
            }
        } else if new_top < old_top && self.unmap_inner(&mut m, new_top, old_top - new_top).is_err() {
            return m.brk;
        }
        m.brk = new;
        m.brk
    }

    /// Copy bytes into guest memory regardless of its protections (the loader, and the
    /// kernel side of syscalls such as signal delivery never do this; it is for setting
    /// up images). Fails only outside the mappings.
    pub fn poke(&self, addr: u64, data: &[u8]) -> Result<(), MemFault> {
        let m = self.rd();
        let end =
            addr.checked_add(data.len() as u64).ok_or(MemFault { addr, write: true, kind: FaultKind::Unmapped })?;
        let mut at = addr;
        while at < end {
            match m.vmas.range(..=at).next_back() {
                Some((_, v)) if v.end > at => at = v.end,
                _ => return Err(MemFault { addr: at, write: true, kind: FaultKind::Unmapped }),
            }
        }
        let (start, stop) = (addr & !(PAGE - 1), page_up(end).unwrap_or(end));
        let p = self.host_ptr(start).cast();
        // SAFETY: the pages are ours and mapped; they are made writable for the copy and
        // then given back their guest protections page by page.
        unsafe {
            libc::mprotect(p, (stop - start) as usize, libc::PROT_READ | libc::PROT_WRITE);
            std::ptr::copy_nonoverlapping(data.as_ptr(), self.host_ptr(addr), data.len());
        }
        for (&s, v) in m.vmas.range(..stop) {
            if v.end <= start {
                continue;
            }
            let (a, b) = (s.max(start), v.end.min(stop));
            // SAFETY: [a, b) is inside the range made writable above.
            unsafe { libc::mprotect(self.host_ptr(a).cast(), (b - a) as usize, v.prot.host()) };
        }
        Ok(())
    }

    /// Check that `[addr, addr+len)` allows the access; the fault names the first byte
    /// that does not.
    fn check(&self, addr: u64, len: usize, write: bool, exec: bool) -> Result<(), MemFault> {
        let m = self.rd();
        let end = addr.checked_add(len as u64);
        let mut at = addr;
        loop {
            let fault = |kind| MemFault { addr: at, write, kind };
            if at >= self.size {
                return Err(fault(FaultKind::Unmapped));
            }
            match m.vmas.range(..=at).next_back() {
                Some((_, v)) if v.end > at => {
                    let ok = if exec {
                        v.prot.exec
                    } else if write {
                        v.prot.write
                    } else {
                        v.prot.read || v.prot.write
                    };
                    if !ok {
                        return Err(fault(FaultKind::Protection));
                    }
                    match end {
                        Some(e) if v.end >= e => return Ok(()),
                        _ => at = v.end,
                    }
                }
                _ => return Err(fault(FaultKind::Unmapped)),
            }
        }
    }
}

impl Drop for UserMemory {
    fn drop(&mut self) {
        // SAFETY: the reservation was mapped in `new` with this size, GUARD bytes before
        // `host`; compiled code using it is not running (the memory is owned, not borrowed, here).
        unsafe { libc::munmap(self.host.sub(GUARD as usize).cast(), (GUARD + self.size + GUARD) as usize) };
    }
}

impl UserMemory {
    pub fn read_bytes(&self, addr: u64, buf: &mut [u8]) -> Result<(), MemFault> {
        self.check(addr, buf.len(), false, false)?;
        // SAFETY: check() proved every byte is mapped readable inside the reservation;
        // the copy survives the mapping changing meanwhile.
        let r = unsafe { guarded_copy(buf.as_mut_ptr(), self.host.add(addr as usize), buf.len()) };
        r.map_err(|f| self.copy_fault(f, false))
    }
    pub fn write_bytes(&self, addr: u64, data: &[u8]) -> Result<(), MemFault> {
        self.check(addr, data.len(), true, false)?;
        // SAFETY: check() proved every byte is mapped writable inside the reservation;
        // the copy survives the mapping changing meanwhile.
        let r = unsafe { guarded_copy(self.host.add(addr as usize), data.as_ptr(), data.len()) };
        r.map_err(|f| self.copy_fault(f, true))
    }
    pub fn cas_at(&self, addr: u64, size: u8, expected: u128, new: u128) -> Result<u128, MemFault> {
        use std::sync::atomic::*;
        self.check(addr, size as usize, true, false)?;
        // SAFETY: the bytes are mapped writable (checked above); other guest threads may
        // access them concurrently, so aligned accesses use host atomics.
        let p = unsafe { self.host.add(addr as usize) };
        let aligned = addr.is_multiple_of(size as u64);
        let (e, n) = (expected as u64, new as u64);
        // SAFETY: `p` is valid for `size` bytes and, when `aligned`, suitably aligned
        // for the atomic type of that size.
        unsafe {
            Ok(match (size, aligned) {
                (1, _) => cx(&*(p as *const AtomicU8), e as u8, n as u8) as u128,
                (2, true) => cx(&*(p as *const AtomicU16), e as u16, n as u16) as u128,
                (4, true) => cx(&*(p as *const AtomicU32), e as u32, n as u32) as u128,
                (8, true) => cx(&*(p as *const AtomicU64), e, n) as u128,
                (16, true) => cmpxchg16b(p, expected, new),
                _ => {
                    // Misaligned: not atomic with respect to other threads.
                    let n = size as usize;
                    let mut b = [0u8; 16];
                    std::ptr::copy_nonoverlapping(p, b.as_mut_ptr(), n);
                    let old = u128::from_le_bytes(b);
                    if old == expected {
                        std::ptr::copy_nonoverlapping(new.to_le_bytes().as_ptr(), p, n);
                    }
                    old
                }
            })
        }
    }
}

/// 16-byte compare-and-swap (`lock cmpxchg16b`), returning the previous value.
///
/// # Safety
/// `p` must be valid for 16 bytes of reads and writes and 16-byte aligned.
unsafe fn cmpxchg16b(p: *mut u8, expected: u128, new: u128) -> u128 {
    let (mut lo, mut hi) = (expected as u64, (expected >> 64) as u64);
    let (nlo, nhi) = (new as u64, (new >> 64) as u64);
    // SAFETY: the caller guarantees `p` is valid and aligned; rbx is saved and restored
    // around the instruction because LLVM reserves it.
    unsafe {
        std::arch::asm!(
            "xchg {nlo}, rbx",
            "lock cmpxchg16b xmmword ptr [{p}]",
            "mov rbx, {nlo}",
            p = in(reg) p,
            nlo = inout(reg) nlo => _,
            in("rcx") nhi,
            inout("rax") lo,
            inout("rdx") hi,
            options(nostack),
        );
    }
    (hi as u128) << 64 | lo as u128
}

/// Compare-exchange returning the previous value.
fn cx<A: AtomicCx>(a: &A, expected: A::V, new: A::V) -> A::V {
    a.cx(expected, new)
}

trait AtomicCx {
    type V: Copy;
    fn cx(&self, e: Self::V, n: Self::V) -> Self::V;
}

macro_rules! atomic_cx {
    ($($a:ty => $v:ty),*) => {$(
        impl AtomicCx for $a {
            type V = $v;
            fn cx(&self, e: $v, n: $v) -> $v {
                match self.compare_exchange(e, n, std::sync::atomic::Ordering::SeqCst, std::sync::atomic::Ordering::SeqCst) {
                    Ok(v) | Err(v) => v,
                }
            }
        }
    )*};
}
atomic_cx!(std::sync::atomic::AtomicU8 => u8, std::sync::atomic::AtomicU16 => u16,
           std::sync::atomic::AtomicU32 => u32, std::sync::atomic::AtomicU64 => u64);

/// Guest memory access through a shared reference: each guest thread's engine takes a
/// `&UserMemory`.
macro_rules! guest_memory_impls {
    ($($t:ty),*) => {$(
        impl Memory for $t {
            fn read(&mut self, addr: u64, buf: &mut [u8]) -> Result<(), MemFault> {
                self.read_bytes(addr, buf)
            }
            fn write(&mut self, addr: u64, data: &[u8]) -> Result<(), MemFault> {
                self.write_bytes(addr, data)
            }
            fn cas(&mut self, addr: u64, size: u8, expected: u128, new: u128) -> Result<u128, MemFault> {
                self.cas_at(addr, size, expected, new)
            }
        }
        impl GuestMemory for $t {
            fn host_base(&mut self) -> *mut u8 {
                self.host
            }
            fn jit_safe(&self) -> bool {
                true
            }
            fn addr_bits(&self) -> Option<u8> {
                Some(self.bits)
            }
            fn fault_kind(&self, addr: u64) -> Option<FaultKind> {
                Some(if self.prot_at(addr).is_some() { FaultKind::Protection } else { FaultKind::Unmapped })
            }
            fn fetch(&mut self, addr: u64, buf: &mut [u8]) -> Result<(), MemFault> {
                self.fetch_bytes(addr, buf)
            }
        }
    )*};
}
guest_memory_impls!(UserMemory, &UserMemory);

impl UserMemory {
    /// Read guest code (requires execute permission).
    pub fn fetch_bytes(&self, addr: u64, buf: &mut [u8]) -> Result<(), MemFault> {
        self.check(addr, buf.len(), false, true)?;
        // SAFETY: check() proved every byte is mapped executable (hence readable here).
        let r = unsafe { guarded_copy(buf.as_mut_ptr(), self.host.add(addr as usize), buf.len()) };
        r.map_err(|f| self.copy_fault(f, false))
    }

    /// The guest fault for a host fault in a guarded copy.
    fn copy_fault(&self, f: CopyFault, write: bool) -> MemFault {
        let addr = f.host_addr.wrapping_sub(self.host as u64);
        let kind = if f.bus {
            FaultKind::Bus
        } else if self.prot_at(addr).is_some() {
            FaultKind::Protection
        } else {
            FaultKind::Unmapped
        };
        MemFault { addr, write, kind }
    }

    /// Read a NUL-terminated string of at most `max` bytes (EFAULT / ENAMETOOLONG style
    /// errors are the caller's: `None` if unreadable or unterminated).
    pub fn read_cstr(&self, addr: u64, max: usize) -> Option<Vec<u8>> {
        let mut out = Vec::new();
        let mut at = addr;
        let mut chunk = [0u8; 256];
        while out.len() < max {
            // Read up to the end of the page so a string ending just before an unmapped
            // page is fine.
            let n = ((PAGE - (at % PAGE)) as usize).min(chunk.len());
            self.read_bytes(at, &mut chunk[..n]).ok()?;
            if let Some(z) = chunk[..n].iter().position(|&b| b == 0) {
                out.extend_from_slice(&chunk[..z]);
                return Some(out);
            }
            out.extend_from_slice(&chunk[..n]);
            at += n as u64;
        }
        None
    }
}
