//! Test helpers: guest memory, register access to an [`MmioTransport`], and a mock
//! driver that lays out split virtqueues in guest memory the way a guest would.

use vm_memory::{Bytes, GuestAddress};

use super::mmio::{regs, status, MmioTransport};
use super::GuestMem;
use crate::bus::BusDevice;

/// Size of the test guest memory (one region from 0).
pub const GUEST_MEM_SIZE: usize = 1 << 20;

/// A fresh zeroed guest memory of [`GUEST_MEM_SIZE`] bytes at guest address 0.
pub fn guest_mem() -> GuestMem {
    GuestMem::from_ranges(&[(GuestAddress(0), GUEST_MEM_SIZE)]).unwrap()
}

/// 32-bit register read through the bus interface.
pub fn rd(t: &mut MmioTransport, off: u64) -> u32 {
    let mut d = [0u8; 4];
    t.read(0, off, &mut d);
    u32::from_le_bytes(d)
}

/// 32-bit register write through the bus interface.
pub fn wr(t: &mut MmioTransport, off: u64, v: u32) {
    t.write(0, off, &v.to_le_bytes());
}

/// Writes both 32-bit pages of `DriverFeatures`.
pub fn write_features(t: &mut MmioTransport, features: u64) {
    wr(t, regs::DRIVER_FEATURES_SEL, 0);
    wr(t, regs::DRIVER_FEATURES, features as u32);
    wr(t, regs::DRIVER_FEATURES_SEL, 1);
    wr(t, regs::DRIVER_FEATURES, (features >> 32) as u32);
}

/// ACKNOWLEDGE, DRIVER, features, FEATURES_OK (asserting it stuck).
pub fn negotiate(t: &mut MmioTransport, features: u64) {
    wr(t, regs::STATUS, status::ACKNOWLEDGE);
    wr(t, regs::STATUS, status::ACKNOWLEDGE | status::DRIVER);
    write_features(t, features);
    let s = status::ACKNOWLEDGE | status::DRIVER | status::FEATURES_OK;
    wr(t, regs::STATUS, s);
    assert_eq!(rd(t, regs::STATUS), s, "FEATURES_OK refused");
}

/// Sets DRIVER_OK on top of the current status.
pub fn driver_ok(t: &mut MmioTransport) {
    let s = rd(t, regs::STATUS);
    wr(t, regs::STATUS, s | status::DRIVER_OK);
}

/// Ring addresses for a queue of `size` laid out from `base`: (desc, avail, used).
pub fn layout(size: u16, base: u64) -> (u64, u64, u64) {
    let desc = base;
    let avail = desc + 16 * u64::from(size);
    // flags + idx + ring + used_event, then align the used ring to 4.
    let used = (avail + 6 + 2 * u64::from(size) + 3) & !3;
    (desc, avail, used)
}

/// Programs queue `q` with `size` entries laid out by [`layout`] from `base`, and
/// enables it.
pub fn setup_queue(t: &mut MmioTransport, q: u32, size: u16, base: u64) {
    let (desc, avail, used) = layout(size, base);
    wr(t, regs::QUEUE_SEL, q);
    wr(t, regs::QUEUE_NUM, u32::from(size));
    wr(t, regs::QUEUE_DESC_LOW, desc as u32);
    wr(t, regs::QUEUE_DESC_HIGH, (desc >> 32) as u32);
    wr(t, regs::QUEUE_DRIVER_LOW, avail as u32);
    wr(t, regs::QUEUE_DRIVER_HIGH, (avail >> 32) as u32);
    wr(t, regs::QUEUE_DEVICE_LOW, used as u32);
    wr(t, regs::QUEUE_DEVICE_HIGH, (used >> 32) as u32);
    wr(t, regs::QUEUE_READY, 1);
}

/// The driver side of one split virtqueue.
pub struct Virtq {
    mem: GuestMem,
    size: u16,
    desc: u64,
    avail: u64,
    used: u64,
    avail_idx: u16,
}

impl Virtq {
    /// A driver view of the queue laid out by [`layout`] from `base` in `mem`.
    pub fn new(mem: &GuestMem, size: u16, base: u64) -> Self {
        let (desc, avail, used) = layout(size, base);
        Virtq { mem: mem.clone(), size, desc, avail, used, avail_idx: 0 }
    }

    /// Writes descriptor `i`.
    pub fn set_desc(&self, i: u16, addr: u64, len: u32, flags: u16, next: u16) {
        self.write_desc_at(self.desc + 16 * u64::from(i), addr, len, flags, next);
    }

    /// Writes a descriptor at an arbitrary guest address (for indirect tables).
    pub fn write_desc_at(&self, at: u64, addr: u64, len: u32, flags: u16, next: u16) {
        let mut raw = [0u8; 16];
        raw[0..8].copy_from_slice(&addr.to_le_bytes());
        raw[8..12].copy_from_slice(&len.to_le_bytes());
        raw[12..14].copy_from_slice(&flags.to_le_bytes());
        raw[14..16].copy_from_slice(&next.to_le_bytes());
        self.mem.write_slice(&raw, GuestAddress(at)).unwrap();
    }

    /// Offers the chain starting at descriptor `head`.
    pub fn publish(&mut self, head: u16) {
        let slot = u64::from(self.avail_idx % self.size);
        self.mem.write_obj(head.to_le(), GuestAddress(self.avail + 4 + 2 * slot)).unwrap();
        self.avail_idx = self.avail_idx.wrapping_add(1);
        self.set_avail_idx(self.avail_idx);
    }

    /// Writes the avail ring's `idx` directly (to forge a bogus index).
    pub fn set_avail_idx(&self, idx: u16) {
        self.mem.write_obj(idx.to_le(), GuestAddress(self.avail + 2)).unwrap();
    }

    /// The used ring's `idx`.
    pub fn used_idx(&self) -> u16 {
        self.mem.read_obj(GuestAddress(self.used + 2)).unwrap()
    }

    /// Used ring element `i`: (descriptor id, length written).
    pub fn used_elem(&self, i: u16) -> (u32, u32) {
        let at = self.used + 4 + 8 * u64::from(i % self.size);
        let id: u32 = self.mem.read_obj(GuestAddress(at)).unwrap();
        let len: u32 = self.mem.read_obj(GuestAddress(at + 4)).unwrap();
        (id, len)
    }

    /// Writes `used_event` (read by the device when EVENT_IDX is negotiated).
    pub fn set_used_event(&self, v: u16) {
        let at = self.avail + 4 + 2 * u64::from(self.size);
        self.mem.write_obj(v.to_le(), GuestAddress(at)).unwrap();
    }

    /// Reads `avail_event` (written by the device when EVENT_IDX is negotiated).
    pub fn avail_event(&self) -> u16 {
        let at = self.used + 4 + 8 * u64::from(self.size);
        self.mem.read_obj(GuestAddress(at)).unwrap()
    }
}
