//! A PCI host bridge with legacy configuration access, and the configuration-space
//! model PCI devices share.
//!
//! [`PciRoot`] is one [`BusDevice`] mapped twice by a board: at port
//! [`CONFIG_ADDRESS_PORT`] (8 ports: `CONFIG_ADDRESS` at 0xcf8, `CONFIG_DATA` at
//! 0xcfc..0xcff, Linux's `pci=conf1` mechanism) and over the board's PCI memory
//! window, where it forwards accesses to whichever device's memory BAR contains the
//! address. Bus 0 only, function 0 only; slot 0 is the host bridge itself (class
//! 0x0600, which Linux's conf1 sanity check looks for). Devices get their BARs
//! assigned inside the window when added (the firmware's job), and the guest may
//! move them; an access while a device's memory decoding is disabled, or that no BAR
//! claims, reads as all-ones.
//!
//! [`PciConfig`] is the 256-byte type-0 configuration space with per-byte write
//! masks, so BAR sizing (write all-ones, read back the size mask) and read-only
//! fields behave as on hardware without per-register code.

use std::fmt;

use crate::bus::BusDevice;

/// Port of `CONFIG_ADDRESS`; `CONFIG_DATA` is 4 ports above it.
pub const CONFIG_ADDRESS_PORT: u64 = 0xcf8;
/// Number of device slots on bus 0.
pub const SLOTS: usize = 32;
/// Vendor ID of the host bridge (Red Hat, Inc., as used for QEMU's generic bridge).
pub const HOST_BRIDGE_VENDOR: u16 = 0x1b36;
/// Device ID of the host bridge.
pub const HOST_BRIDGE_DEVICE: u16 = 0x0008;

/// Offsets in the type-0 configuration header.
pub mod cfg {
    /// Vendor ID (16 bits).
    pub const VENDOR_ID: usize = 0x00;
    /// Device ID (16 bits).
    pub const DEVICE_ID: usize = 0x02;
    /// Command (16 bits).
    pub const COMMAND: usize = 0x04;
    /// Status (16 bits).
    pub const STATUS: usize = 0x06;
    /// Revision ID (8 bits).
    pub const REVISION: usize = 0x08;
    /// Programming interface, subclass, class (3 bytes from 0x09).
    pub const CLASS_PROG: usize = 0x09;
    /// Header type (8 bits).
    pub const HEADER_TYPE: usize = 0x0e;
    /// First BAR.
    pub const BAR0: usize = 0x10;
    /// Subsystem vendor ID (16 bits).
    pub const SUBSYSTEM_VENDOR: usize = 0x2c;
    /// Subsystem ID (16 bits).
    pub const SUBSYSTEM_ID: usize = 0x2e;
    /// Capabilities pointer (8 bits).
    pub const CAP_PTR: usize = 0x34;
    /// Interrupt line (8 bits, for the OS).
    pub const INTERRUPT_LINE: usize = 0x3c;
    /// Interrupt pin (8 bits, 1 = INTA).
    pub const INTERRUPT_PIN: usize = 0x3d;
    /// Command bit: memory space decoding.
    pub const COMMAND_MEMORY: u16 = 1 << 1;
    /// Status bit: capabilities list present.
    pub const STATUS_CAP_LIST: u16 = 1 << 4;
}

/// A type-0 configuration space with write masks and up to six 32-bit memory BARs.
#[derive(Clone)]
pub struct PciConfig {
    bytes: [u8; 256],
    wmask: [u8; 256],
    bar_sizes: [u64; 6],
}

impl fmt::Debug for PciConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PciConfig")
            .field("vendor", &format_args!("{:#06x}", self.read16(cfg::VENDOR_ID)))
            .field("device", &format_args!("{:#06x}", self.read16(cfg::DEVICE_ID)))
            .field("bars", &self.bar_sizes)
            .finish()
    }
}

impl PciConfig {
    /// A header for `vendor:device` of class `class` (class << 16 | subclass << 8 |
    /// prog-if), single-function, with the command register's I/O, memory and bus
    /// master bits and the interrupt line writable.
    pub fn new(vendor: u16, device: u16, class: u32, revision: u8) -> Self {
        let mut c = PciConfig { bytes: [0; 256], wmask: [0; 256], bar_sizes: [0; 6] };
        c.set16(cfg::VENDOR_ID, vendor);
        c.set16(cfg::DEVICE_ID, device);
        c.bytes[cfg::REVISION] = revision;
        c.bytes[cfg::CLASS_PROG] = class as u8;
        c.bytes[cfg::CLASS_PROG + 1] = (class >> 8) as u8;
        c.bytes[cfg::CLASS_PROG + 2] = (class >> 16) as u8;
        c.wmask[cfg::COMMAND] = 0x07;
        c.wmask[cfg::COMMAND + 1] = 0x04; // INTx disable
        c.wmask[cfg::INTERRUPT_LINE] = 0xff;
        c
    }

    /// Sets a read-only 8-bit field.
    pub fn set8(&mut self, off: usize, v: u8) {
        self.bytes[off] = v;
    }

    /// Sets a read-only 16-bit field.
    pub fn set16(&mut self, off: usize, v: u16) {
        self.bytes[off..off + 2].copy_from_slice(&v.to_le_bytes());
    }

    /// Sets a read-only 32-bit field.
    pub fn set32(&mut self, off: usize, v: u32) {
        self.bytes[off..off + 4].copy_from_slice(&v.to_le_bytes());
    }

    /// Writes raw bytes (capability structures) at `off`, read-only to the guest.
    /// Fails when they run past the 256-byte space.
    pub fn set_bytes(&mut self, off: usize, b: &[u8]) -> Result<(), PciError> {
        let end = off.checked_add(b.len()).filter(|&e| e <= 256).ok_or(PciError::ConfigOverflow { off })?;
        self.bytes[off..end].copy_from_slice(b);
        Ok(())
    }

    /// The 16-bit value at `off`.
    pub fn read16(&self, off: usize) -> u16 {
        u16::from_le_bytes([self.bytes[off], self.bytes[off + 1]])
    }

    /// The 32-bit value at `off` (`off` is rounded down to a dword).
    pub fn read32(&self, off: usize) -> u32 {
        let o = off & 0xfc;
        u32::from_le_bytes([self.bytes[o], self.bytes[o + 1], self.bytes[o + 2], self.bytes[o + 3]])
    }

    /// Declares BAR `i` as a 32-bit non-prefetchable memory BAR of `size` bytes (a
    /// power of two, at least 16).
    pub fn add_mem_bar(&mut self, i: usize, size: u64) -> Result<(), PciError> {
        if i >= 6 || !size.is_power_of_two() || !(16..=1 << 31).contains(&size) {
            return Err(PciError::BadBar { index: i, size });
        }
        self.bar_sizes[i] = size;
        let mask = !(size as u32 - 1) & !0xf;
        let off = cfg::BAR0 + 4 * i;
        self.wmask[off..off + 4].copy_from_slice(&mask.to_le_bytes());
        Ok(())
    }

    /// Size of BAR `i` (0 when unused).
    pub fn bar_size(&self, i: usize) -> u64 {
        self.bar_sizes.get(i).copied().unwrap_or(0)
    }

    /// Current address of BAR `i` (0 when unused or unassigned).
    pub fn bar_addr(&self, i: usize) -> u64 {
        if self.bar_size(i) == 0 {
            return 0;
        }
        u64::from(self.read32(cfg::BAR0 + 4 * i) & !0xf)
    }

    /// Whether memory decoding is enabled in the command register.
    pub fn memory_enabled(&self) -> bool {
        self.read16(cfg::COMMAND) & cfg::COMMAND_MEMORY != 0
    }

    /// The BAR whose range contains `addr`, and the offset into it, if decoding.
    pub fn bar_for(&self, addr: u64) -> Option<(usize, u64)> {
        if !self.memory_enabled() {
            return None;
        }
        (0..6).find_map(|i| {
            let (base, size) = (self.bar_addr(i), self.bar_size(i));
            (size != 0 && base != 0 && addr >= base && addr - base < size).then(|| (i, addr - base))
        })
    }

    /// A guest read of `data.len()` bytes at `off` (bytes past 255 read as ones).
    pub fn read(&self, off: usize, data: &mut [u8]) {
        for (i, d) in data.iter_mut().enumerate() {
            *d = self.bytes.get(off + i).copied().unwrap_or(0xff);
        }
    }

    /// A guest write at `off`: only bits set in the write mask change.
    pub fn write(&mut self, off: usize, data: &[u8]) {
        for (i, d) in data.iter().enumerate() {
            let o = off + i;
            if o < 256 {
                self.bytes[o] = (self.bytes[o] & !self.wmask[o]) | (d & self.wmask[o]);
            }
        }
    }

    /// Programs BAR `i`'s address as firmware would (bypassing the write mask's
    /// alignment: `addr` must be aligned to the BAR's size).
    pub fn assign_bar(&mut self, i: usize, addr: u32) {
        self.set32(cfg::BAR0 + 4 * i, addr & !0xf);
    }
}

/// Errors building PCI devices and the root.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PciError {
    /// Every slot on bus 0 is taken.
    NoFreeSlot,
    /// A BAR declaration is invalid.
    BadBar {
        /// BAR index.
        index: usize,
        /// Requested size.
        size: u64,
    },
    /// The device's BARs do not fit in the memory window.
    WindowFull {
        /// Bytes needed.
        needed: u64,
    },
    /// A capability does not fit in configuration space.
    ConfigOverflow {
        /// Where it was to go.
        off: usize,
    },
}

impl fmt::Display for PciError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PciError::NoFreeSlot => write!(f, "all {SLOTS} PCI slots of bus 0 are in use; attach fewer devices"),
            PciError::BadBar { index, size } => {
                write!(f, "BAR {index} of {size:#x} bytes is invalid: use BAR 0..5, a power of two >= 16")
            }
            PciError::WindowFull { needed } => {
                write!(f, "the PCI memory window has no room for {needed:#x} more bytes of BARs")
            }
            PciError::ConfigOverflow { off } => {
                write!(f, "a capability at {off:#x} runs past the 256-byte configuration space")
            }
        }
    }
}

impl std::error::Error for PciError {}

/// A PCI function on bus 0 of a [`PciRoot`].
pub trait PciDevice: Send {
    /// The configuration space.
    fn config(&self) -> &PciConfig;
    /// The configuration space, mutably (for guest configuration writes and BAR
    /// assignment).
    fn config_mut(&mut self) -> &mut PciConfig;
    /// A guest read of BAR `bar` at `offset`.
    fn bar_read(&mut self, bar: usize, offset: u64, data: &mut [u8]);
    /// A guest write to BAR `bar` at `offset`.
    fn bar_write(&mut self, bar: usize, offset: u64, data: &[u8]);
}

/// The host bridge at 00:00.0: configuration space only.
#[derive(Debug)]
struct HostBridge(PciConfig);

impl PciDevice for HostBridge {
    fn config(&self) -> &PciConfig {
        &self.0
    }
    fn config_mut(&mut self) -> &mut PciConfig {
        &mut self.0
    }
    fn bar_read(&mut self, _: usize, _: u64, data: &mut [u8]) {
        data.fill(0xff);
    }
    fn bar_write(&mut self, _: usize, _: u64, _: &[u8]) {}
}

/// PCI bus 0 behind a host bridge: configuration mechanism #1 and BAR routing.
pub struct PciRoot {
    address: u32,
    slots: Vec<Option<Box<dyn PciDevice>>>,
    window: (u64, u64),
    next_bar: u64,
}

impl fmt::Debug for PciRoot {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PciRoot")
            .field("address", &format_args!("{:#x}", self.address))
            .field("devices", &self.slots.iter().filter(|s| s.is_some()).count())
            .field("window", &self.window)
            .finish()
    }
}

impl PciRoot {
    /// A bus with only the host bridge; device BARs go in `window_start..window_end`.
    pub fn new(window_start: u64, window_end: u64) -> Self {
        let mut slots: Vec<Option<Box<dyn PciDevice>>> = (0..SLOTS).map(|_| None).collect();
        let bridge = PciConfig::new(HOST_BRIDGE_VENDOR, HOST_BRIDGE_DEVICE, 0x06_00_00, 0);
        slots[0] = Some(Box::new(HostBridge(bridge)));
        PciRoot { address: 0, slots, window: (window_start, window_end), next_bar: window_start }
    }

    /// Adds `dev` at the first free slot, assigns its BARs in the window and enables
    /// its memory decoding. Returns the slot number.
    pub fn add(&mut self, mut dev: Box<dyn PciDevice>) -> Result<u8, PciError> {
        let slot = self.slots.iter().position(Option::is_none).ok_or(PciError::NoFreeSlot)?;
        let mut next = self.next_bar;
        for i in 0..6 {
            let size = dev.config().bar_size(i);
            if size == 0 {
                continue;
            }
            let at = next.next_multiple_of(size);
            if at + size > self.window.1 || at + size > 1 << 32 {
                return Err(PciError::WindowFull { needed: size });
            }
            dev.config_mut().assign_bar(i, at as u32);
            next = at + size;
        }
        self.next_bar = next;
        let cmd = dev.config().read16(cfg::COMMAND) | cfg::COMMAND_MEMORY;
        dev.config_mut().write(cfg::COMMAND, &cmd.to_le_bytes());
        self.slots[slot] = Some(dev);
        Ok(slot as u8)
    }

    /// The device at `slot`.
    pub fn device(&self, slot: u8) -> Option<&dyn PciDevice> {
        self.slots.get(usize::from(slot)).and_then(|s| s.as_deref())
    }

    /// The addressed device and register offset, if `CONFIG_ADDRESS` is enabled and
    /// names bus 0, function 0 of an occupied slot.
    fn addressed(&mut self) -> Option<(&mut Box<dyn PciDevice>, usize)> {
        let a = self.address;
        let (enabled, bus, slot, func, reg) =
            (a >> 31 == 1, (a >> 16) & 0xff, (a >> 11) & 0x1f, (a >> 8) & 7, (a & 0xfc) as usize);
        if !enabled || bus != 0 || func != 0 {
            return None;
        }
        self.slots[slot as usize].as_mut().map(|d| (d, reg))
    }

    fn config_access(&mut self, offset: u64, read: Option<&mut [u8]>, write: Option<&[u8]>) {
        let byte = (offset - 4) as usize;
        match (self.addressed(), read) {
            (Some((dev, reg)), Some(data)) => dev.config().read(reg + byte, data),
            (None, Some(data)) => data.fill(0xff),
            (Some((dev, reg)), None) => {
                if let Some(w) = write {
                    dev.config_mut().write(reg + byte, w);
                }
            }
            (None, None) => {}
        }
    }

    fn mmio(&mut self, addr: u64) -> Option<(&mut Box<dyn PciDevice>, usize, u64)> {
        self.slots.iter_mut().flatten().find_map(|d| {
            let (bar, off) = d.config().bar_for(addr)?;
            Some((d, bar, off))
        })
    }
}

impl BusDevice for PciRoot {
    fn read(&mut self, base: u64, offset: u64, data: &mut [u8]) {
        if base == CONFIG_ADDRESS_PORT {
            match offset {
                0 if data.len() == 4 => data.copy_from_slice(&self.address.to_le_bytes()),
                4..=7 => self.config_access(offset, Some(data), None),
                _ => data.fill(0xff),
            }
            return;
        }
        match self.mmio(base + offset) {
            Some((dev, bar, off)) => dev.bar_read(bar, off, data),
            None => data.fill(0xff),
        }
    }

    fn write(&mut self, base: u64, offset: u64, data: &[u8]) {
        if base == CONFIG_ADDRESS_PORT {
            match offset {
                0 if data.len() == 4 => {
                    self.address = u32::from_le_bytes([data[0], data[1], data[2], data[3]]) & 0x80ff_fffc;
                }
                4..=7 => self.config_access(offset, None, Some(data)),
                _ => {}
            }
            return;
        }
        if let Some((dev, bar, off)) = self.mmio(base + offset) {
            dev.bar_write(bar, off, data);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const WIN: u64 = 0xc000_0000;

    /// A device with one 4 KiB BAR that echoes writes.
    struct Echo {
        cfg: PciConfig,
        mem: Vec<u8>,
    }

    impl PciDevice for Echo {
        fn config(&self) -> &PciConfig {
            &self.cfg
        }
        fn config_mut(&mut self) -> &mut PciConfig {
            &mut self.cfg
        }
        fn bar_read(&mut self, _: usize, off: u64, data: &mut [u8]) {
            let o = off as usize;
            data.copy_from_slice(&self.mem[o..o + data.len()]);
        }
        fn bar_write(&mut self, _: usize, off: u64, data: &[u8]) {
            let o = off as usize;
            self.mem[o..o + data.len()].copy_from_slice(data);
        }
    }

    fn echo() -> Box<Echo> {
        let mut cfg = PciConfig::new(0x1234, 0x5678, 0xff_00_00, 1);
        cfg.add_mem_bar(0, 0x1000).unwrap();
        Box::new(Echo { cfg, mem: vec![0; 0x1000] })
    }

    fn conf_read(r: &mut PciRoot, slot: u32, reg: u32, len: usize) -> u32 {
        r.write(CONFIG_ADDRESS_PORT, 0, &(0x8000_0000 | (slot << 11) | (reg & 0xfc)).to_le_bytes());
        let mut d = [0u8; 4];
        r.read(CONFIG_ADDRESS_PORT, 4 + u64::from(reg & 3), &mut d[..len]);
        u32::from_le_bytes(d)
    }

    fn conf_write(r: &mut PciRoot, slot: u32, reg: u32, v: u32) {
        r.write(CONFIG_ADDRESS_PORT, 0, &(0x8000_0000 | (slot << 11) | reg).to_le_bytes());
        r.write(CONFIG_ADDRESS_PORT, 4, &v.to_le_bytes());
    }

    #[test]
    fn conf1_probe_finds_host_bridge_and_device() {
        let mut r = PciRoot::new(WIN, WIN + 0x1000_0000);
        // Linux's pci_check_type1: the address register reads back.
        r.write(CONFIG_ADDRESS_PORT, 0, &0x8000_0000u32.to_le_bytes());
        let mut a = [0u8; 4];
        r.read(CONFIG_ADDRESS_PORT, 0, &mut a);
        assert_eq!(u32::from_le_bytes(a), 0x8000_0000);
        // A byte write to 0xcfb does not disturb it.
        r.write(CONFIG_ADDRESS_PORT, 3, &[1]);
        assert_eq!(conf_read(&mut r, 0, 0, 4), 0x0008_1b36);
        assert_eq!(conf_read(&mut r, 0, 0xa, 2), 0x0600);
        // Empty slots and other functions read as ones.
        assert_eq!(conf_read(&mut r, 5, 0, 4), 0xffff_ffff);
        r.write(CONFIG_ADDRESS_PORT, 0, &0x8000_0100u32.to_le_bytes());
        let mut d = [0u8; 4];
        r.read(CONFIG_ADDRESS_PORT, 4, &mut d);
        assert_eq!(d, [0xff; 4]);

        let slot = r.add(echo()).unwrap();
        assert_eq!(slot, 1);
        assert_eq!(conf_read(&mut r, 1, 0, 4), 0x5678_1234);
        assert_eq!(conf_read(&mut r, 1, 0x10, 4), WIN as u32);
        assert_eq!(conf_read(&mut r, 1, 4, 2) & 2, 2, "memory decoding enabled");
        // Read-only fields stay put.
        conf_write(&mut r, 1, 0, 0);
        assert_eq!(conf_read(&mut r, 1, 0, 4), 0x5678_1234);
    }

    #[test]
    fn bar_sizing_moving_and_decoding() {
        let mut r = PciRoot::new(WIN, WIN + 0x1000_0000);
        r.add(echo()).unwrap();
        r.write(WIN, 0x10, &[0xab, 0xcd]);
        let mut d = [0u8; 2];
        r.read(WIN, 0x10, &mut d);
        assert_eq!(d, [0xab, 0xcd]);
        // Sizing: all-ones reads back the size mask.
        conf_write(&mut r, 1, 0x10, 0xffff_ffff);
        assert_eq!(conf_read(&mut r, 1, 0x10, 4), 0xffff_f000);
        // Move the BAR; the old address no longer decodes.
        conf_write(&mut r, 1, 0x10, 0xc010_0000);
        r.read(WIN, 0x10, &mut d);
        assert_eq!(d, [0xff, 0xff]);
        r.read(WIN, 0x10_0010, &mut d);
        assert_eq!(d, [0xab, 0xcd]);
        // Memory decoding off: nothing decodes.
        conf_write(&mut r, 1, 4, 0);
        r.read(WIN, 0x10_0010, &mut d);
        assert_eq!(d, [0xff, 0xff]);
        r.write(WIN, 0x10_0010, &[1, 2]);
    }

    #[test]
    fn slots_and_window_run_out_cleanly() {
        let mut r = PciRoot::new(WIN, WIN + 0x3000);
        for _ in 0..3 {
            r.add(echo()).unwrap();
        }
        assert_eq!(r.add(echo()).unwrap_err(), PciError::WindowFull { needed: 0x1000 });
        let mut r = PciRoot::new(WIN, WIN + 0x100_0000);
        for _ in 1..SLOTS {
            r.add(echo()).unwrap();
        }
        assert_eq!(r.add(echo()).unwrap_err(), PciError::NoFreeSlot);
        let mut c = PciConfig::new(0, 0, 0, 0);
        assert!(c.add_mem_bar(0, 0x1800).is_err());
        assert!(c.add_mem_bar(6, 0x1000).is_err());
        assert!(c.set_bytes(250, &[0; 8]).is_err());
        // Reads past the end of config space are ones, writes ignored.
        let mut d = [0u8; 4];
        c.read(254, &mut d);
        assert_eq!(d, [0, 0, 0xff, 0xff]);
        c.write(254, &[1, 2, 3, 4]);
    }
}
