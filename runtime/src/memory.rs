//! Guest memory as the engine sees it: the interpreter's checked access plus, for
//! compiled code, the host address of guest address 0 (a guest access is one add
//! and one host access).

use mimic_ir::{FaultKind, FlatMemory, MemFault, Memory};

pub trait GuestMemory: Memory {
    /// Guest address `a` lives at host address `host_base() + a`.
    fn host_base(&mut self) -> *mut u8;
    /// Whether compiled code may access this memory directly: every guest access that
    /// is not permitted must fault at the host (`host_base() + addr` unmapped or
    /// protected), so that the fault handler can turn it into a precise guest fault.
    fn jit_safe(&self) -> bool;
    /// The guest address space is `[0, 1 << bits)`: compiled code checks accesses
    /// against it (addresses beyond would land outside the host reservation). Such a
    /// memory keeps `mimic_backend::cranelift::ADDR_GUARD` inaccessible host bytes on
    /// each side of the space, as compiled code checks an access's base register.
    fn addr_bits(&self) -> Option<u8> {
        None
    }
    /// What a guest access to `addr` that faulted in compiled code ran into, when the
    /// memory knows better than the host (which sees reserved-but-unmapped guest pages
    /// as protected). `None` keeps the host's classification.
    fn fault_kind(&self, _addr: u64) -> Option<FaultKind> {
        None
    }
    /// Read guest code for translation (checks execute permission where modelled).
    fn fetch(&mut self, addr: u64, buf: &mut [u8]) -> Result<(), MemFault> {
        self.read(addr, buf)
    }
}

/// One contiguous block of guest memory at `base`, backed by a host buffer.
///
/// Compiled code accesses it without checks and a stray access near the buffer would
/// not fault at the host, so [`GuestMemory::jit_safe`] is false and the engine keeps
/// such code in the interpreter tier, unless the embedder promises that accesses stay
/// inside the buffer ([`FlatGuestMem::trust_accesses`]). Wild accesses far from the
/// buffer still become guest faults through the fault handler.
#[derive(Debug)]
pub struct FlatGuestMem {
    /// The bytes and their base address (the interpreter's own flat memory).
    pub flat: FlatMemory,
    trusted: bool,
}

impl FlatGuestMem {
    pub fn new(base: u64, size: usize) -> FlatGuestMem {
        FlatGuestMem { flat: FlatMemory { base, data: vec![0; size] }, trusted: false }
    }
    /// Promise that every access the guest makes stays inside the buffer, allowing
    /// compiled code (which does not check bounds) to run.
    pub fn trust_accesses(mut self) -> FlatGuestMem {
        self.trusted = true;
        self
    }
    pub fn write_bytes(&mut self, addr: u64, data: &[u8]) -> Result<(), MemFault> {
        self.flat.write(addr, data)
    }
}

impl Memory for FlatGuestMem {
    fn read(&mut self, addr: u64, buf: &mut [u8]) -> Result<(), MemFault> {
        self.flat.read(addr, buf)
    }
    fn write(&mut self, addr: u64, data: &[u8]) -> Result<(), MemFault> {
        self.flat.write(addr, data)
    }
}

impl GuestMemory for FlatGuestMem {
    fn host_base(&mut self) -> *mut u8 {
        self.flat.data.as_mut_ptr().wrapping_sub(self.flat.base as usize)
    }
    fn jit_safe(&self) -> bool {
        self.trusted
    }
}
