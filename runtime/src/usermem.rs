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
use mimic_ir::{FaultKind, MemFault, Memory};
use std::collections::BTreeMap;
use std::fmt;

pub const PAGE: u64 = 4096;
/// Extra reserved, never-mapped bytes after the guest space: a 16-byte access that
/// starts just below the bound still faults at the host.
const GUARD: u64 = 1 << 16;

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

/// The guest address space of one user-mode process.
pub struct UserMemory {
    host: *mut u8,
    bits: u8,
    size: u64,
    vmas: BTreeMap<u64, Vma>,
    /// Top of the area where kernel-chosen mappings go (they grow down from here).
    mmap_top: u64,
    brk_start: u64,
    brk: u64,
}

// SAFETY: the reservation is owned by this value; access goes through &mut self, and
// compiled code only receives the base pointer while the memory is borrowed.
unsafe impl Send for UserMemory {}

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
                (size + GUARD) as usize,
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
            host: p.cast(),
            bits,
            size,
            vmas: BTreeMap::new(),
            mmap_top: size - (size >> 4),
            brk_start: 0,
            brk: 0,
        })
    }

    pub fn size(&self) -> u64 {
        self.size
    }

    /// Mappings overlapping `[start, end)`, as (start, end, prot).
    pub fn mappings(&self) -> Vec<(u64, u64, Prot)> {
        self.vmas.iter().map(|(&s, v)| (s, v.end, v.prot)).collect()
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

    fn host_map(&self, addr: u64, end: u64, prot: Prot) -> Result<(), MemError> {
        // SAFETY: [addr, end) lies inside our reservation; MAP_FIXED replaces only our
        // own pages there with fresh zeroed ones.
        let r = unsafe {
            libc::mmap(
                self.host.add(addr as usize).cast(),
                (end - addr) as usize,
                prot.host(),
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_FIXED | libc::MAP_NORESERVE,
                -1,
                0,
            )
        };
        if r == libc::MAP_FAILED {
            return Err(MemError::Host(std::io::Error::last_os_error().raw_os_error().unwrap_or(libc::ENOMEM)));
        }
        Ok(())
    }

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

    /// Map zeroed anonymous memory (mmap with MAP_ANONYMOUS).
    pub fn map(&mut self, place: Placement, len: u64, prot: Prot) -> Result<u64, MemError> {
        let len = page_up(len).filter(|&l| l > 0).ok_or(MemError::Invalid)?;
        let addr = match place {
            Placement::Fixed(a) | Placement::FixedNoReplace(a) => {
                let end = self.check_range(a, len)?;
                if a == 0 {
                    return Err(MemError::NoMemory); // mmap_min_addr: page 0 stays unmapped
                }
                if matches!(place, Placement::FixedNoReplace(_)) && !self.is_free(a, end) {
                    return Err(MemError::Exists);
                }
                a
            }
            Placement::Hint(h) => {
                let h = h & !(PAGE - 1);
                match h.checked_add(len) {
                    Some(end) if h != 0 && end <= self.size && self.is_free(h, end) => h,
                    _ => self.find_free(len).ok_or(MemError::NoMemory)?,
                }
            }
        };
        let end = addr + len;
        self.host_map(addr, end, prot)?;
        self.remove_range(addr, end);
        self.vmas.insert(addr, Vma { end, prot });
        Ok(addr)
    }

    /// Unmap (munmap): holes in the range are fine.
    pub fn unmap(&mut self, addr: u64, len: u64) -> Result<(), MemError> {
        let end = self.check_range(addr, len)?;
        self.host_map(addr, end, Prot::NONE)?;
        self.remove_range(addr, end);
        Ok(())
    }

    /// Change protections (mprotect): every page must be mapped.
    pub fn protect(&mut self, addr: u64, len: u64, prot: Prot) -> Result<(), MemError> {
        let end = self.check_range(addr, len)?;
        let mut at = addr;
        while at < end {
            match self.vmas.range(..=at).next_back() {
                Some((_, v)) if v.end > at => at = v.end,
                _ => return Err(MemError::NoMemory),
            }
        }
        // SAFETY: the range is inside our reservation and fully mapped by us.
        if unsafe { libc::mprotect(self.host.add(addr as usize).cast(), (end - addr) as usize, prot.host()) } != 0 {
            return Err(MemError::Host(std::io::Error::last_os_error().raw_os_error().unwrap_or(libc::ENOMEM)));
        }
        self.split_at(addr);
        self.split_at(end);
        let keys: Vec<u64> = self.vmas.range(addr..end).map(|(&k, _)| k).collect();
        for k in keys {
            if let Some(v) = self.vmas.get_mut(&k) {
                v.prot = prot;
            }
        }
        Ok(())
    }

    /// Set where the program break starts (end of the loaded image, page-aligned up).
    pub fn set_brk_base(&mut self, addr: u64) {
        self.brk_start = page_up(addr).unwrap_or(addr);
        self.brk = self.brk_start;
    }

    /// The brk syscall: grow or shrink the break; returns the (possibly unchanged) break.
    pub fn brk(&mut self, new: u64) -> u64 {
        if new < self.brk_start {
            return self.brk;
        }
        let (old_top, new_top) = (page_up(self.brk).unwrap_or(self.brk), page_up(new).unwrap_or(new));
        if new_top > old_top {
            if self.map(Placement::FixedNoReplace(old_top), new_top - old_top, Prot::RW).is_err() {
                return self.brk;
            }
        } else if new_top < old_top && self.unmap(new_top, old_top - new_top).is_err() {
            return self.brk;
        }
        self.brk = new;
        self.brk
    }

    /// Check that `[addr, addr+len)` allows the access; the fault names the first byte
    /// that does not.
    fn check(&self, addr: u64, len: usize, write: bool, exec: bool) -> Result<(), MemFault> {
        let end = addr.checked_add(len as u64);
        let mut at = addr;
        loop {
            let fault = |kind| MemFault { addr: at, write, kind };
            if at >= self.size {
                return Err(fault(FaultKind::Unmapped));
            }
            match self.vmas.range(..=at).next_back() {
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
        // SAFETY: the reservation was mapped in `new` with this size; compiled code
        // using it is not running (the memory is owned, not borrowed, here).
        unsafe { libc::munmap(self.host.cast(), (self.size + GUARD) as usize) };
    }
}

impl Memory for UserMemory {
    fn read(&mut self, addr: u64, buf: &mut [u8]) -> Result<(), MemFault> {
        self.check(addr, buf.len(), false, false)?;
        // SAFETY: check() proved every byte is mapped readable inside the reservation.
        unsafe { std::ptr::copy_nonoverlapping(self.host.add(addr as usize), buf.as_mut_ptr(), buf.len()) };
        Ok(())
    }
    fn write(&mut self, addr: u64, data: &[u8]) -> Result<(), MemFault> {
        self.check(addr, data.len(), true, false)?;
        // SAFETY: check() proved every byte is mapped writable inside the reservation.
        unsafe { std::ptr::copy_nonoverlapping(data.as_ptr(), self.host.add(addr as usize), data.len()) };
        Ok(())
    }
    fn cas(&mut self, addr: u64, size: u8, expected: u64, new: u64) -> Result<u64, MemFault> {
        use std::sync::atomic::*;
        self.check(addr, size as usize, true, false)?;
        // SAFETY: the bytes are mapped writable (checked above); other guest threads may
        // access them concurrently, so aligned accesses use host atomics.
        let p = unsafe { self.host.add(addr as usize) };
        let aligned = addr.is_multiple_of(size as u64);
        // SAFETY: `p` is valid for `size` bytes and, when `aligned`, suitably aligned
        // for the atomic type of that size.
        unsafe {
            Ok(match (size, aligned) {
                (1, _) => cx(&*(p as *const AtomicU8), expected as u8, new as u8) as u64,
                (2, true) => cx(&*(p as *const AtomicU16), expected as u16, new as u16) as u64,
                (4, true) => cx(&*(p as *const AtomicU32), expected as u32, new as u32) as u64,
                (8, true) => cx(&*(p as *const AtomicU64), expected, new),
                _ => {
                    // Misaligned: not atomic with respect to other threads.
                    let n = size as usize;
                    let mut b = [0u8; 8];
                    std::ptr::copy_nonoverlapping(p, b.as_mut_ptr(), n);
                    let old = u64::from_le_bytes(b);
                    if old == expected {
                        std::ptr::copy_nonoverlapping(new.to_le_bytes().as_ptr(), p, n);
                    }
                    old
                }
            })
        }
    }
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

impl GuestMemory for UserMemory {
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
        let mapped = self.vmas.range(..=addr).next_back().is_some_and(|(_, v)| v.end > addr);
        Some(if mapped { FaultKind::Protection } else { FaultKind::Unmapped })
    }
    fn fetch(&mut self, addr: u64, buf: &mut [u8]) -> Result<(), MemFault> {
        self.check(addr, buf.len(), false, true)?;
        // SAFETY: check() proved every byte is mapped executable (hence readable here).
        unsafe { std::ptr::copy_nonoverlapping(self.host.add(addr as usize), buf.as_mut_ptr(), buf.len()) };
        Ok(())
    }
}
