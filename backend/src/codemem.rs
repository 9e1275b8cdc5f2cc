//! Executable code memory, never writable and executable through the same mapping.
//!
//! One anonymous memory file (memfd) is mapped twice: a read-write view the compiler
//! copies code into, and a read-execute view the code runs from. Both views are
//! reserved at full capacity up front (the file is sparse, so only written pages
//! cost memory), so code never moves and a bump allocator suffices.

use std::fmt;
use std::sync::atomic::{AtomicUsize, Ordering};

/// Errors of code memory.
#[derive(Debug)]
pub enum CodeMemError {
    Map(std::io::Error),
    Full {
        capacity: usize,
        wanted: usize,
    },
    /// Every slot of the fault handler's code-range table is taken.
    TooMany,
}

impl fmt::Display for CodeMemError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CodeMemError::Map(e) => write!(f, "cannot map code memory: {e}"),
            CodeMemError::Full { capacity, wanted } => {
                write!(f, "code memory full ({capacity} bytes, {wanted} more wanted)")
            }
            CodeMemError::TooMany => {
                write!(f, "too many live code memories (at most {}); share one code cache", EXEC_RANGES.len())
            }
        }
    }
}
impl std::error::Error for CodeMemError {}

/// Executable ranges of every live code memory, readable from signal handlers.
static EXEC_RANGES: [(AtomicUsize, AtomicUsize); 16] = [const { (AtomicUsize::new(0), AtomicUsize::new(0)) }; 16];

/// Whether `pc` lies in the executable view of any live code memory.
/// Async-signal-safe (atomic loads only).
pub fn is_jit_code(pc: usize) -> bool {
    EXEC_RANGES.iter().any(|(s, e)| {
        let s = s.load(Ordering::Acquire);
        s != 0 && pc >= s && pc < e.load(Ordering::Acquire)
    })
}

fn register_range(start: usize, end: usize) -> bool {
    for (s, e) in EXEC_RANGES.iter() {
        if s.compare_exchange(0, start, Ordering::AcqRel, Ordering::Acquire).is_ok() {
            // Until `end` is stored the range reads as empty: never a false positive.
            e.store(end, Ordering::Release);
            return true;
        }
    }
    false
}

fn unregister_range(start: usize) {
    for (s, e) in EXEC_RANGES.iter() {
        if s.load(Ordering::Acquire) == start {
            e.store(0, Ordering::Release);
            s.store(0, Ordering::Release);
            return;
        }
    }
}

/// A dual-mapped region of code memory with a bump allocator.
pub struct CodeMemory {
    rw: *mut u8,
    rx: *const u8,
    capacity: usize,
    used: AtomicUsize,
}

// SAFETY: the mappings are owned by this value; writes go through `&mut self` or
// through `alloc`'s disjoint ranges (the bump pointer is atomic), and reading the
// executable view is harmless.
unsafe impl Send for CodeMemory {}
// SAFETY: as above; shared access only reads the executable view or reserves fresh,
// disjoint ranges through the atomic bump pointer.
unsafe impl Sync for CodeMemory {}

impl CodeMemory {
    /// Reserve `capacity` bytes (rounded up to pages) of code memory.
    pub fn new(capacity: usize) -> Result<CodeMemory, CodeMemError> {
        let page = 4096;
        let capacity = capacity.div_ceil(page) * page;
        // SAFETY: memfd_create takes a NUL-terminated name and flags; no memory is touched.
        let fd = unsafe { libc::memfd_create(c"mimic-code".as_ptr(), libc::MFD_CLOEXEC) };
        if fd < 0 {
            return Err(CodeMemError::Map(std::io::Error::last_os_error()));
        }
        let close = |e| {
            // SAFETY: fd is a file descriptor this function opened and still owns.
            unsafe { libc::close(fd) };
            Err(CodeMemError::Map(e))
        };
        // SAFETY: fd is a valid memfd; ftruncate only sets its size.
        if unsafe { libc::ftruncate(fd, capacity as libc::off_t) } != 0 {
            return close(std::io::Error::last_os_error());
        }
        // SAFETY: mapping a fresh shared view of our own memfd at a kernel-chosen address.
        let rw = unsafe {
            libc::mmap(std::ptr::null_mut(), capacity, libc::PROT_READ | libc::PROT_WRITE, libc::MAP_SHARED, fd, 0)
        };
        if rw == libc::MAP_FAILED {
            return close(std::io::Error::last_os_error());
        }
        // SAFETY: as above, a second view of the same file, readable and executable only.
        let rx = unsafe {
            libc::mmap(std::ptr::null_mut(), capacity, libc::PROT_READ | libc::PROT_EXEC, libc::MAP_SHARED, fd, 0)
        };
        if rx == libc::MAP_FAILED {
            let e = std::io::Error::last_os_error();
            // SAFETY: rw was mapped above with this length and is not referenced elsewhere.
            unsafe { libc::munmap(rw, capacity) };
            return close(e);
        }
        // SAFETY: the mappings keep the file alive; the descriptor is no longer needed.
        unsafe { libc::close(fd) };
        if !register_range(rx as usize, rx as usize + capacity) {
            // SAFETY: both views were mapped above with this length and are unused.
            unsafe {
                libc::munmap(rw, capacity);
                libc::munmap(rx, capacity);
            }
            return Err(CodeMemError::TooMany);
        }
        Ok(CodeMemory { rw: rw.cast(), rx: rx.cast(), capacity, used: AtomicUsize::new(0) })
    }

    /// Copy `code` in (16-byte aligned), letting `patch` fix it up in place first with
    /// the address it will execute at. Returns the executable address.
    pub fn install(&self, code: &[u8], patch: impl FnOnce(&mut [u8], usize)) -> Result<*const u8, CodeMemError> {
        let len = code.len().div_ceil(16) * 16;
        let start = self
            .used
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |u| (u + len <= self.capacity).then_some(u + len))
            .map_err(|_| CodeMemError::Full { capacity: self.capacity, wanted: len })?;
        // SAFETY: [start, start+len) lies within the rw mapping and was reserved for this
        // call alone by the atomic bump above; no other reference to it exists.
        let dst = unsafe { std::slice::from_raw_parts_mut(self.rw.add(start), code.len()) };
        dst.copy_from_slice(code);
        let exec = self.rx as usize + start;
        patch(dst, exec);
        #[cfg(not(any(target_arch = "x86_64", target_arch = "x86")))]
        compile_error!("code memory needs an instruction cache flush on this host");
        Ok(exec as *const u8)
    }

    /// In a child made by fork(): give this process its own copy of the code (both
    /// views still map the parent's memfd, shared with it). The copy keeps every
    /// address, so installed code, chain slots and return addresses stay valid.
    pub fn unshare(&self) -> Result<(), CodeMemError> {
        let err = || CodeMemError::Map(std::io::Error::last_os_error());
        // SAFETY: memfd_create takes a NUL-terminated name and flags.
        let fd = unsafe { libc::memfd_create(c"mimic-code".as_ptr(), libc::MFD_CLOEXEC) };
        if fd < 0 {
            return Err(err());
        }
        // Only the installed code is copied (the rest of the new file reads as zero, as
        // the unused part of the old one does): a fork must not cost the capacity.
        let used = self.used().div_ceil(4096) * 4096;
        let used = used.min(self.capacity);
        // SAFETY: fd is ours; the rx view is readable for `capacity` >= `used` bytes
        // and stays mapped while its contents are copied into the new file.
        let ok = unsafe {
            libc::ftruncate(fd, self.capacity as libc::off_t) == 0
                && libc::pwrite(fd, self.rx.cast(), used, 0) == used as isize
        };
        if !ok {
            // SAFETY: closing the descriptor opened above.
            unsafe { libc::close(fd) };
            return Err(err());
        }
        // SAFETY: both views are replaced in place (MAP_FIXED over our own mappings of the
        // same size) by views of the private copy; no other thread exists in a fresh
        // fork child.
        let ok = unsafe {
            let rw = libc::mmap(
                self.rw.cast(),
                self.capacity,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_SHARED | libc::MAP_FIXED,
                fd,
                0,
            );
            let rx = libc::mmap(
                self.rx as *mut libc::c_void,
                self.capacity,
                libc::PROT_READ | libc::PROT_EXEC,
                libc::MAP_SHARED | libc::MAP_FIXED,
                fd,
                0,
            );
            libc::close(fd);
            rw != libc::MAP_FAILED && rx != libc::MAP_FAILED
        };
        if ok {
            Ok(())
        } else {
            Err(err())
        }
    }

    /// Bytes of code installed so far.
    pub fn used(&self) -> usize {
        self.used.load(Ordering::Acquire)
    }
    pub fn capacity(&self) -> usize {
        self.capacity
    }
    /// Whether `addr` lies in the executable view.
    pub fn contains(&self, addr: usize) -> bool {
        addr >= self.rx as usize && addr < self.rx as usize + self.capacity
    }
}

impl Drop for CodeMemory {
    fn drop(&mut self) {
        unregister_range(self.rx as usize);
        // SAFETY: both views were mapped in `new` with `capacity` bytes and nothing
        // derived from them outlives the CodeMemory (callers hold no code pointers past it).
        unsafe {
            libc::munmap(self.rw.cast(), self.capacity);
            libc::munmap(self.rx as *mut libc::c_void, self.capacity);
        }
    }
}
