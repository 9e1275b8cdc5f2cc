//! The device bus: one trait every device implements, and a range map that routes
//! guest port I/O or MMIO accesses to the device that owns the address.
//!
//! The trait follows Firecracker's `BusDevice`: the device receives the base of the
//! range it was inserted at and the offset of the access inside that range, so one
//! device can be mapped at several ranges. A board typically keeps one [`Bus`] for
//! port I/O and one for MMIO, and wraps it in an `Arc` once it is populated
//! ([`Bus::read`] and [`Bus::write`] take `&self`; each device has its own lock).
//!
//! Accesses to addresses no device claims are not errors of the emulator but of the
//! guest: they return [`BusAccessError::Unmapped`] (reads are filled with `0xff`, like
//! an empty ISA/PCI bus) and never panic.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::{Arc, Mutex, PoisonError};

/// A device that answers guest reads and writes on a [`Bus`].
///
/// `base` is the start of the range the device was inserted at, `offset` the
/// distance of the access from it; `data.len()` is the access width (1, 2, 4 or 8 for
/// CPU accesses, little-endian byte order as the guest sees it on the bus).
pub trait BusDevice {
    /// Handles a guest read: fill all of `data`.
    fn read(&mut self, base: u64, offset: u64, data: &mut [u8]);
    /// Handles a guest write of `data`.
    fn write(&mut self, base: u64, offset: u64, data: &[u8]);
}

/// How devices are shared between a bus and the board that owns them.
pub type SharedDevice = Arc<Mutex<dyn BusDevice + Send>>;

/// A non-empty range of bus addresses, `base..=last()`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct BusRange {
    base: u64,
    len: u64,
}

impl BusRange {
    /// A range of `len` addresses from `base`. Fails when `len` is zero or the range
    /// would run past `u64::MAX`.
    pub fn new(base: u64, len: u64) -> Result<Self, BusError> {
        if len == 0 {
            return Err(BusError::ZeroLength { base });
        }
        if base.checked_add(len - 1).is_none() {
            return Err(BusError::RangeOverflow { base, len });
        }
        Ok(BusRange { base, len })
    }

    /// First address of the range.
    pub fn base(&self) -> u64 {
        self.base
    }

    /// Number of addresses in the range (never zero).
    pub fn len(&self) -> u64 {
        self.len
    }

    /// Always false: a `BusRange` is never empty (kept for clippy's `len` convention).
    pub fn is_empty(&self) -> bool {
        false
    }

    /// Last address of the range (inclusive), which never overflows.
    pub fn last(&self) -> u64 {
        self.base + (self.len - 1)
    }

    /// Whether `addr` is inside the range.
    pub fn contains(&self, addr: u64) -> bool {
        addr >= self.base && addr - self.base < self.len
    }

    /// Whether the two ranges share at least one address.
    pub fn overlaps(&self, other: &BusRange) -> bool {
        self.base <= other.last() && other.base <= self.last()
    }
}

impl fmt::Display for BusRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:#x}..={:#x}", self.base, self.last())
    }
}

/// Why a device could not be inserted into a [`Bus`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum BusError {
    /// The new range shares addresses with a device already on the bus.
    Overlap {
        /// The range that was being inserted.
        new: BusRange,
        /// The range already on the bus that it collides with.
        existing: BusRange,
    },
    /// A device range must cover at least one address.
    ZeroLength {
        /// Base address of the rejected range.
        base: u64,
    },
    /// `base + len` runs past the end of the 64-bit address space.
    RangeOverflow {
        /// Base address of the rejected range.
        base: u64,
        /// Length of the rejected range.
        len: u64,
    },
}

impl fmt::Display for BusError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BusError::Overlap { new, existing } => write!(
                f,
                "bus range {new} overlaps the device already mapped at {existing}; \
                 move one of them in the board's memory map"
            ),
            BusError::ZeroLength { base } => {
                write!(f, "bus range at {base:#x} has length 0; give the device a non-empty range")
            }
            BusError::RangeOverflow { base, len } => write!(
                f,
                "bus range at {base:#x} with length {len:#x} runs past the end of the \
                 64-bit address space; shrink it or move it lower"
            ),
        }
    }
}

impl std::error::Error for BusError {}

/// Why a guest access could not be delivered to a device. Reads that fail this way
/// have been filled with `0xff`; writes were dropped.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum BusAccessError {
    /// No device is mapped at `addr`.
    Unmapped {
        /// Guest address of the access.
        addr: u64,
        /// Width of the access in bytes.
        len: usize,
    },
    /// The access starts inside a device's range but runs past its end.
    CrossesEnd {
        /// Guest address of the access.
        addr: u64,
        /// Width of the access in bytes.
        len: usize,
        /// The range of the device the access starts in.
        range: BusRange,
    },
}

impl fmt::Display for BusAccessError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BusAccessError::Unmapped { addr, len } => write!(
                f,
                "guest accessed {len} byte(s) at {addr:#x}, where no device is mapped \
                 (reads return 0xff, writes are ignored); check the board's memory map \
                 against the guest's device tree or ACPI tables"
            ),
            BusAccessError::CrossesEnd { addr, len, range } => write!(
                f,
                "guest accessed {len} byte(s) at {addr:#x}, running past the end of the \
                 device mapped at {range}; the access was dropped"
            ),
        }
    }
}

impl std::error::Error for BusAccessError {}

struct BusEntry {
    range: BusRange,
    device: SharedDevice,
}

/// A map from non-overlapping address ranges to devices.
#[derive(Default)]
pub struct Bus {
    // Keyed by range base; ranges never overlap.
    entries: BTreeMap<u64, BusEntry>,
}

impl fmt::Debug for Bus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.entries.values().map(|e| e.range)).finish()
    }
}

impl Bus {
    /// An empty bus.
    pub fn new() -> Self {
        Bus::default()
    }

    /// Maps `device` at `len` addresses from `base`. The same device may be inserted
    /// at several ranges; ranges may not overlap.
    pub fn insert(&mut self, device: SharedDevice, base: u64, len: u64) -> Result<(), BusError> {
        let range = BusRange::new(base, len)?;
        // The entry with the greatest base <= range.last() is the only candidate that
        // can overlap: any other overlapping entry would sit below it and overlap it.
        if let Some((_, entry)) = self.entries.range(..=range.last()).next_back() {
            if entry.range.overlaps(&range) {
                return Err(BusError::Overlap { new: range, existing: entry.range });
            }
        }
        self.entries.insert(base, BusEntry { range, device });
        Ok(())
    }

    /// Unmaps the range that starts exactly at `base`, returning its device.
    pub fn remove(&mut self, base: u64) -> Option<SharedDevice> {
        self.entries.remove(&base).map(|e| e.device)
    }

    /// The device mapped at `addr` and the offset of `addr` inside its range.
    pub fn lookup(&self, addr: u64) -> Option<(&SharedDevice, u64)> {
        self.entry(addr).map(|e| (&e.device, addr - e.range.base))
    }

    /// The range that contains `addr`, if any.
    pub fn range_of(&self, addr: u64) -> Option<BusRange> {
        self.entry(addr).map(|e| e.range)
    }

    /// All mapped ranges and their devices, in address order.
    pub fn iter(&self) -> impl Iterator<Item = (BusRange, &SharedDevice)> {
        self.entries.values().map(|e| (e.range, &e.device))
    }

    /// Number of mapped ranges.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether no range is mapped.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Delivers a guest read of `data.len()` bytes at `addr`. On error `data` is
    /// filled with `0xff`.
    pub fn read(&self, addr: u64, data: &mut [u8]) -> Result<(), BusAccessError> {
        match self.route(addr, data.len()) {
            Ok(entry) => {
                let offset = addr - entry.range.base;
                lock(&entry.device).read(entry.range.base, offset, data);
                Ok(())
            }
            Err(e) => {
                data.fill(0xff);
                Err(e)
            }
        }
    }

    /// Delivers a guest write of `data` at `addr`. On error the write is dropped.
    pub fn write(&self, addr: u64, data: &[u8]) -> Result<(), BusAccessError> {
        let entry = self.route(addr, data.len())?;
        let offset = addr - entry.range.base;
        lock(&entry.device).write(entry.range.base, offset, data);
        Ok(())
    }

    fn entry(&self, addr: u64) -> Option<&BusEntry> {
        self.entries.range(..=addr).next_back().map(|(_, e)| e).filter(|e| e.range.contains(addr))
    }

    fn route(&self, addr: u64, len: usize) -> Result<&BusEntry, BusAccessError> {
        let entry = self.entry(addr).ok_or(BusAccessError::Unmapped { addr, len })?;
        // The access's last byte must stay inside the range (len 0 is a degenerate
        // access that touches only `addr`).
        let extra = (len as u64).saturating_sub(1);
        if extra > entry.range.last() - addr {
            return Err(BusAccessError::CrossesEnd { addr, len, range: entry.range });
        }
        Ok(entry)
    }
}

/// Locks a device, recovering from a poisoned lock: a device that panicked once must
/// not take the whole bus down with it.
fn lock(device: &SharedDevice) -> std::sync::MutexGuard<'_, dyn BusDevice + Send + 'static> {
    device.lock().unwrap_or_else(PoisonError::into_inner)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Records every access and answers reads with a fixed byte.
    struct Probe {
        fill: u8,
        log: Vec<(bool, u64, u64, Vec<u8>)>,
    }

    impl Probe {
        fn shared(fill: u8) -> Arc<Mutex<Probe>> {
            Arc::new(Mutex::new(Probe { fill, log: Vec::new() }))
        }
    }

    impl BusDevice for Probe {
        fn read(&mut self, base: u64, offset: u64, data: &mut [u8]) {
            data.fill(self.fill);
            self.log.push((false, base, offset, data.to_vec()));
        }
        fn write(&mut self, base: u64, offset: u64, data: &[u8]) {
            self.log.push((true, base, offset, data.to_vec()));
        }
    }

    #[test]
    fn insert_and_lookup() {
        let mut bus = Bus::new();
        let a = Probe::shared(0xaa);
        let b = Probe::shared(0xbb);
        bus.insert(a.clone(), 0x1000, 0x100).unwrap();
        bus.insert(b.clone(), 0x1100, 0x10).unwrap();
        assert_eq!(bus.len(), 2);

        let (_, off) = bus.lookup(0x1000).unwrap();
        assert_eq!(off, 0);
        let (_, off) = bus.lookup(0x10ff).unwrap();
        assert_eq!(off, 0xff);
        let (_, off) = bus.lookup(0x110f).unwrap();
        assert_eq!(off, 0xf);
        assert!(bus.lookup(0xfff).is_none());
        assert!(bus.lookup(0x1110).is_none());
        assert_eq!(bus.range_of(0x1105), Some(BusRange::new(0x1100, 0x10).unwrap()));

        // The looked-up device is the one that was inserted.
        let (dev, _) = bus.lookup(0x1105).unwrap();
        let b_dyn: SharedDevice = b.clone();
        assert!(Arc::ptr_eq(dev, &b_dyn));
    }

    #[test]
    fn overlap_is_rejected() {
        let mut bus = Bus::new();
        bus.insert(Probe::shared(0), 0x1000, 0x100).unwrap();
        let existing = BusRange::new(0x1000, 0x100).unwrap();
        for (base, len) in [
            (0x1000, 0x100),  // identical
            (0x0f00, 0x101),  // ends on first byte
            (0x10ff, 0x10),   // starts on last byte
            (0x1010, 0x10),   // inside
            (0x0f00, 0x1000), // covers
        ] {
            let err = bus.insert(Probe::shared(0), base, len).unwrap_err();
            assert_eq!(
                err,
                BusError::Overlap { new: BusRange::new(base, len).unwrap(), existing },
                "{base:#x}+{len:#x}"
            );
            assert!(err.to_string().contains("overlaps"));
        }
        // Adjacent ranges on both sides are fine.
        bus.insert(Probe::shared(0), 0x0f00, 0x100).unwrap();
        bus.insert(Probe::shared(0), 0x1100, 0x100).unwrap();
        assert_eq!(bus.len(), 3);
    }

    #[test]
    fn degenerate_ranges_are_rejected() {
        let mut bus = Bus::new();
        assert_eq!(bus.insert(Probe::shared(0), 0x10, 0).unwrap_err(), BusError::ZeroLength { base: 0x10 });
        assert_eq!(
            bus.insert(Probe::shared(0), u64::MAX, 2).unwrap_err(),
            BusError::RangeOverflow { base: u64::MAX, len: 2 }
        );
        // A range ending exactly at the top of the address space is fine.
        bus.insert(Probe::shared(0), u64::MAX - 0xf, 0x10).unwrap();
        assert!(bus.lookup(u64::MAX).is_some());
        let mut data = [0u8; 1];
        bus.read(u64::MAX, &mut data).unwrap();
        assert!(bus.read(u64::MAX, &mut [0u8; 2]).is_err());
    }

    #[test]
    fn dispatch_passes_base_and_offset() {
        let mut bus = Bus::new();
        let a = Probe::shared(0x5a);
        bus.insert(a.clone(), 0x3f8, 8).unwrap();
        bus.insert(a.clone(), 0x2f8, 8).unwrap();

        let mut data = [0u8; 1];
        bus.read(0x3fd, &mut data).unwrap();
        assert_eq!(data, [0x5a]);
        bus.write(0x2f9, &[7]).unwrap();
        bus.write(0x3f8, &[1, 2, 3, 4]).unwrap();

        let log = &a.lock().unwrap().log;
        assert_eq!(log[0], (false, 0x3f8, 5, vec![0x5a]));
        assert_eq!(log[1], (true, 0x2f8, 1, vec![7]));
        assert_eq!(log[2], (true, 0x3f8, 0, vec![1, 2, 3, 4]));
    }

    #[test]
    fn unmapped_accesses_are_typed_and_read_ones() {
        let mut bus = Bus::new();
        let a = Probe::shared(0);
        bus.insert(a.clone(), 0x1000, 0x10).unwrap();

        let mut data = [0u8; 4];
        let err = bus.read(0x2000, &mut data).unwrap_err();
        assert_eq!(err, BusAccessError::Unmapped { addr: 0x2000, len: 4 });
        assert_eq!(data, [0xff; 4]);
        assert!(err.to_string().contains("no device is mapped"));

        assert_eq!(bus.write(0x0, &[1]).unwrap_err(), BusAccessError::Unmapped { addr: 0, len: 1 });

        // Straddling the end of a device is refused too.
        let mut data = [0u8; 4];
        let err = bus.read(0x100e, &mut data).unwrap_err();
        assert!(matches!(err, BusAccessError::CrossesEnd { addr: 0x100e, len: 4, .. }));
        assert_eq!(data, [0xff; 4]);
        assert!(bus.write(0x100f, &[0; 2]).is_err());
        // None of the failed accesses reached the device.
        assert!(a.lock().unwrap().log.is_empty());

        // An empty bus answers too.
        let empty = Bus::new();
        assert!(empty.read(u64::MAX, &mut [0u8; 8]).is_err());
        assert!(empty.lookup(0).is_none());
    }

    #[test]
    fn remove_unmaps() {
        let mut bus = Bus::new();
        bus.insert(Probe::shared(0), 0x1000, 0x10).unwrap();
        assert!(bus.remove(0x1001).is_none());
        assert!(bus.remove(0x1000).is_some());
        assert!(bus.is_empty());
        assert!(bus.write(0x1000, &[0]).is_err());
    }

    #[test]
    fn poisoned_device_still_answers() {
        struct Panicker;
        impl BusDevice for Panicker {
            fn read(&mut self, _: u64, _: u64, data: &mut [u8]) {
                data.fill(1);
            }
            fn write(&mut self, _: u64, _: u64, _: &[u8]) {
                panic!("device bug");
            }
        }
        let mut bus = Bus::new();
        let dev: SharedDevice = Arc::new(Mutex::new(Panicker));
        bus.insert(dev, 0, 1).unwrap();
        let bus = Arc::new(bus);
        let b2 = bus.clone();
        assert!(std::thread::spawn(move || b2.write(0, &[0])).join().is_err());
        let mut data = [0u8];
        bus.read(0, &mut data).unwrap();
        assert_eq!(data, [1]);
    }
}
