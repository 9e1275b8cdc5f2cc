//! The virtio-pci transport (virtio 1.x "modern" layout, INTx interrupts).
//!
//! A [`VirtioPci`] is a [`PciDevice`] with vendor 0x1af4, device `0x1040 + type`,
//! revision 1 (modern only, no legacy I/O BAR) and one 16 KiB memory BAR holding
//! the four virtio structures its vendor capabilities point at:
//!
//! | BAR 0 offset | structure |
//! |---|---|
//! | `0x0000` | common configuration |
//! | `0x1000` | ISR status (read to acknowledge) |
//! | `0x2000` | device-specific configuration |
//! | `0x3000` | notifications (queue `i` at `0x3000 + 4 * i`) |
//!
//! The status machine, feature negotiation, queue validation and queue processing
//! are the virtio-mmio transport's ([`MmioTransport`]): this type translates the
//! PCI register layout onto it, so both transports refuse the same bad input in the
//! same way. Without MSI-X the driver uses INTx: the line is high while the ISR is
//! non-zero and reading the ISR clears it.

use std::fmt;
use std::sync::Arc;

use crate::bus::BusDevice;
use crate::irq::IrqLine;
use crate::pci::{cfg, PciConfig, PciDevice, PciError};
use crate::virtio::mmio::{regs, MmioTransport, CONFIG_OFFSET};
use crate::virtio::{GuestMem, VirtioDevice, VirtioError};

/// PCI vendor ID of virtio devices.
pub const VIRTIO_PCI_VENDOR: u16 = 0x1af4;
/// Modern virtio device IDs are this plus the virtio device type.
pub const VIRTIO_PCI_DEVICE_BASE: u16 = 0x1040;
/// Size of BAR 0.
pub const BAR_SIZE: u64 = 0x4000;
/// Offset of the common configuration structure in BAR 0.
pub const COMMON_OFFSET: u64 = 0x0000;
/// Offset of the ISR status byte in BAR 0.
pub const ISR_OFFSET: u64 = 0x1000;
/// Offset of the device-specific configuration in BAR 0.
pub const DEVICE_OFFSET: u64 = 0x2000;
/// Offset of the notification area in BAR 0.
pub const NOTIFY_OFFSET: u64 = 0x3000;
/// `notify_off_multiplier`: bytes between queue notification addresses.
pub const NOTIFY_MULTIPLIER: u32 = 4;
/// "No MSI-X vector".
pub const NO_VECTOR: u16 = 0xffff;

/// Offsets in the common configuration structure (virtio 1.x 4.1.4.3).
pub mod common {
    /// le32 device_feature_select.
    pub const DFSELECT: u64 = 0x00;
    /// le32 device_feature (RO).
    pub const DF: u64 = 0x04;
    /// le32 driver_feature_select.
    pub const GFSELECT: u64 = 0x08;
    /// le32 driver_feature.
    pub const GF: u64 = 0x0c;
    /// le16 msix_config.
    pub const MSIX: u64 = 0x10;
    /// le16 num_queues (RO).
    pub const NUMQ: u64 = 0x12;
    /// u8 device_status.
    pub const STATUS: u64 = 0x14;
    /// u8 config_generation (RO).
    pub const CFGGENERATION: u64 = 0x15;
    /// le16 queue_select.
    pub const Q_SELECT: u64 = 0x16;
    /// le16 queue_size.
    pub const Q_SIZE: u64 = 0x18;
    /// le16 queue_msix_vector.
    pub const Q_MSIX: u64 = 0x1a;
    /// le16 queue_enable.
    pub const Q_ENABLE: u64 = 0x1c;
    /// le16 queue_notify_off (RO).
    pub const Q_NOFF: u64 = 0x1e;
    /// le64 queue_desc.
    pub const Q_DESCLO: u64 = 0x20;
    /// le64 queue_driver (available ring).
    pub const Q_AVAILLO: u64 = 0x28;
    /// le64 queue_device (used ring).
    pub const Q_USEDLO: u64 = 0x30;
    /// Size of the structure.
    pub const LEN: u64 = 0x38;
}

/// virtio_pci_cap cfg_type values.
mod cap_type {
    pub const COMMON: u8 = 1;
    pub const NOTIFY: u8 = 2;
    pub const ISR: u8 = 3;
    pub const DEVICE: u8 = 4;
}

/// A virtio device on PCI.
pub struct VirtioPci {
    config: PciConfig,
    transport: MmioTransport,
    num_queues: u16,
    dfselect: u32,
    gfselect: u32,
    queue_select: u16,
    queue_sizes: Vec<u16>,
    queue_addrs: Vec<[u64; 3]>,
}

impl fmt::Debug for VirtioPci {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("VirtioPci").field("config", &self.config).field("transport", &self.transport).finish()
    }
}

impl VirtioPci {
    /// Wraps `device`, whose queues live in `mem`; INTA drives `irq`, and the
    /// configuration space's interrupt line register starts at `irq_line` (the GSI
    /// the board routes INTA to).
    pub fn new(
        device: Box<dyn VirtioDevice>,
        mem: GuestMem,
        irq: Arc<dyn IrqLine>,
        irq_line: u8,
    ) -> Result<Self, VirtioPciError> {
        let device_type = device.device_type();
        let num_queues = device.queue_max_sizes().len();
        let queue_sizes: Vec<u16> = device.queue_max_sizes().to_vec();
        let transport = MmioTransport::new(device, mem, irq).map_err(VirtioPciError::Virtio)?;
        let pci_device = u16::try_from(device_type)
            .ok()
            .and_then(|t| VIRTIO_PCI_DEVICE_BASE.checked_add(t))
            .filter(|&d| d <= 0x107f)
            .ok_or(VirtioPciError::DeviceType(device_type))?;
        // Class: mass storage/other for block, "unclassified" otherwise.
        let class = if device_type == 2 { 0x01_80_00 } else { 0xff_00_00 };
        let mut config = PciConfig::new(VIRTIO_PCI_VENDOR, pci_device, class, 1);
        config.set16(cfg::SUBSYSTEM_VENDOR, VIRTIO_PCI_VENDOR);
        config.set16(cfg::SUBSYSTEM_ID, 0x40);
        config.set16(cfg::STATUS, cfg::STATUS_CAP_LIST);
        config.set8(cfg::INTERRUPT_PIN, 1);
        config.set8(cfg::INTERRUPT_LINE, irq_line);
        config.add_mem_bar(0, BAR_SIZE).map_err(VirtioPciError::Pci)?;
        // Vendor capabilities: common 0x40, ISR 0x50, device 0x60, notify 0x70.
        config.set8(cfg::CAP_PTR, 0x40);
        let caps: [(usize, u8, u64, u32, u8); 4] = [
            (0x40, cap_type::COMMON, COMMON_OFFSET, common::LEN as u32, 0x50),
            (0x50, cap_type::ISR, ISR_OFFSET, 1, 0x60),
            (0x60, cap_type::DEVICE, DEVICE_OFFSET, 0x100, 0x70),
            (0x70, cap_type::NOTIFY, NOTIFY_OFFSET, 0x1000, 0),
        ];
        for (at, kind, offset, length, next) in caps {
            let len: u8 = if kind == cap_type::NOTIFY { 20 } else { 16 };
            let mut c = vec![0x09, next, len, kind, 0, 0, 0, 0];
            c.extend_from_slice(&(offset as u32).to_le_bytes());
            c.extend_from_slice(&length.to_le_bytes());
            if kind == cap_type::NOTIFY {
                c.extend_from_slice(&NOTIFY_MULTIPLIER.to_le_bytes());
            }
            config.set_bytes(at, &c).map_err(VirtioPciError::Pci)?;
        }
        Ok(VirtioPci {
            config,
            transport,
            num_queues: num_queues as u16,
            dfselect: 0,
            gfselect: 0,
            queue_select: 0,
            queue_addrs: vec![[0; 3]; queue_sizes.len()],
            queue_sizes,
        })
    }

    /// The underlying transport state (status, queues, last error).
    pub fn transport(&self) -> &MmioTransport {
        &self.transport
    }

    fn treg_read(&mut self, reg: u64) -> u32 {
        let mut d = [0u8; 4];
        self.transport.read(0, reg, &mut d);
        u32::from_le_bytes(d)
    }

    fn treg_write(&mut self, reg: u64, v: u32) {
        self.transport.write(0, reg, &v.to_le_bytes());
    }

    fn selected(&self) -> Option<usize> {
        let q = usize::from(self.queue_select);
        (q < self.queue_sizes.len()).then_some(q)
    }

    /// The common configuration structure as the driver would read it now.
    fn common_snapshot(&mut self) -> [u8; common::LEN as usize] {
        let mut s = [0u8; common::LEN as usize];
        let put = |s: &mut [u8], off: u64, b: &[u8]| s[off as usize..off as usize + b.len()].copy_from_slice(b);
        put(&mut s, common::DFSELECT, &self.dfselect.to_le_bytes());
        let df = self.treg_read(regs::DEVICE_FEATURES);
        put(&mut s, common::DF, &df.to_le_bytes());
        put(&mut s, common::GFSELECT, &self.gfselect.to_le_bytes());
        let gf = match self.gfselect {
            0 => self.transport.driver_features() as u32,
            1 => (self.transport.driver_features() >> 32) as u32,
            _ => 0,
        };
        put(&mut s, common::GF, &gf.to_le_bytes());
        put(&mut s, common::MSIX, &NO_VECTOR.to_le_bytes());
        put(&mut s, common::NUMQ, &self.num_queues.to_le_bytes());
        s[common::STATUS as usize] = self.transport.status() as u8;
        s[common::CFGGENERATION as usize] = self.transport.config_generation() as u8;
        put(&mut s, common::Q_SELECT, &self.queue_select.to_le_bytes());
        if let Some(q) = self.selected() {
            put(&mut s, common::Q_SIZE, &self.queue_sizes[q].to_le_bytes());
            put(&mut s, common::Q_MSIX, &NO_VECTOR.to_le_bytes());
            let ready = self.treg_read(regs::QUEUE_READY) as u16;
            put(&mut s, common::Q_ENABLE, &ready.to_le_bytes());
            put(&mut s, common::Q_NOFF, &(q as u16).to_le_bytes());
            let a = self.queue_addrs[q];
            put(&mut s, common::Q_DESCLO, &a[0].to_le_bytes());
            put(&mut s, common::Q_AVAILLO, &a[1].to_le_bytes());
            put(&mut s, common::Q_USEDLO, &a[2].to_le_bytes());
        }
        s
    }

    fn common_write(&mut self, off: u64, data: &[u8]) {
        let mut v = [0u8; 8];
        let n = data.len().min(8);
        v[..n].copy_from_slice(&data[..n]);
        let v64 = u64::from_le_bytes(v);
        let v32 = v64 as u32;
        match (off, data.len()) {
            (common::DFSELECT, 4) => {
                self.dfselect = v32;
                self.treg_write(regs::DEVICE_FEATURES_SEL, v32);
            }
            (common::GFSELECT, 4) => {
                self.gfselect = v32;
                self.treg_write(regs::DRIVER_FEATURES_SEL, v32);
            }
            (common::GF, 4) => self.treg_write(regs::DRIVER_FEATURES, v32),
            (common::MSIX, 2) | (common::Q_MSIX, 2) => {} // no MSI-X: reads stay NO_VECTOR
            (common::STATUS, 1) => {
                self.treg_write(regs::STATUS, v32 & 0xff);
                if v32 & 0xff == 0 {
                    self.reset_shadows();
                }
            }
            (common::Q_SELECT, 2) => {
                self.queue_select = v32 as u16;
                self.treg_write(regs::QUEUE_SEL, v32 & 0xffff);
            }
            (common::Q_SIZE, 2) => {
                if let Some(q) = self.selected() {
                    // Validated (power of two, <= max) when the queue is enabled.
                    if self.treg_read(regs::QUEUE_READY) == 0 {
                        self.queue_sizes[q] = v32 as u16;
                    }
                    self.treg_write(regs::QUEUE_NUM, v32 & 0xffff);
                }
            }
            (common::Q_ENABLE, 2) => {
                if v32 & 0xffff == 1 {
                    self.treg_write(regs::QUEUE_READY, 1);
                }
            }
            (o @ (common::Q_DESCLO | common::Q_AVAILLO | common::Q_USEDLO), 8) => {
                self.queue_addr_write(o, v64 as u32);
                self.queue_addr_write(o + 4, (v64 >> 32) as u32);
            }
            (o @ common::Q_DESCLO..common::LEN, 4) if o % 4 == 0 => self.queue_addr_write(o, v32),
            _ => log::warn!("virtio-pci: {}-byte write at common config {off:#x} ignored", data.len()),
        }
    }

    fn queue_addr_write(&mut self, off: u64, v: u32) {
        let Some(q) = self.selected() else { return };
        let which = ((off - common::Q_DESCLO) / 8) as usize;
        let high = (off - common::Q_DESCLO) % 8 == 4;
        let reg = match (which, high) {
            (0, false) => regs::QUEUE_DESC_LOW,
            (0, true) => regs::QUEUE_DESC_HIGH,
            (1, false) => regs::QUEUE_DRIVER_LOW,
            (1, true) => regs::QUEUE_DRIVER_HIGH,
            (_, false) => regs::QUEUE_DEVICE_LOW,
            (_, true) => regs::QUEUE_DEVICE_HIGH,
        };
        // Mirror only what the transport accepted (it refuses writes outside the
        // configuration phase); its register writes are fire-and-forget, so the
        // mirror follows the same phase rule.
        let configurable = self.transport.status() & crate::virtio::mmio::status::FEATURES_OK != 0
            && self.transport.status() & crate::virtio::mmio::status::DRIVER_OK == 0
            && self.treg_read(regs::QUEUE_READY) == 0;
        self.treg_write(reg, v);
        if configurable {
            let a = &mut self.queue_addrs[q][which];
            *a = if high { (*a & 0xffff_ffff) | (u64::from(v) << 32) } else { (*a & !0xffff_ffff) | u64::from(v) };
        }
    }

    fn reset_shadows(&mut self) {
        self.dfselect = 0;
        self.gfselect = 0;
        self.queue_select = 0;
        self.queue_sizes = self.transport.device().queue_max_sizes().to_vec();
        for a in &mut self.queue_addrs {
            *a = [0; 3];
        }
    }
}

impl PciDevice for VirtioPci {
    fn config(&self) -> &PciConfig {
        &self.config
    }

    fn config_mut(&mut self) -> &mut PciConfig {
        &mut self.config
    }

    fn bar_read(&mut self, bar: usize, offset: u64, data: &mut [u8]) {
        data.fill(0);
        if bar != 0 {
            return;
        }
        match offset {
            o if o < ISR_OFFSET => {
                let snap = self.common_snapshot();
                for (i, d) in data.iter_mut().enumerate() {
                    *d = snap.get(o as usize + i).copied().unwrap_or(0);
                }
            }
            ISR_OFFSET => {
                // Reading the ISR acknowledges every pending cause.
                let isr = self.treg_read(regs::INTERRUPT_STATUS);
                if isr != 0 {
                    self.treg_write(regs::INTERRUPT_ACK, isr);
                }
                data[0] = isr as u8;
            }
            o if (DEVICE_OFFSET..DEVICE_OFFSET + 0x100).contains(&o) => {
                self.transport.read(0, CONFIG_OFFSET + (o - DEVICE_OFFSET), data);
            }
            _ => {}
        }
    }

    fn bar_write(&mut self, bar: usize, offset: u64, data: &[u8]) {
        if bar != 0 {
            return;
        }
        match offset {
            o if o < common::LEN => self.common_write(o, data),
            o if (DEVICE_OFFSET..DEVICE_OFFSET + 0x100).contains(&o) => {
                self.transport.write(0, CONFIG_OFFSET + (o - DEVICE_OFFSET), data);
            }
            o if (NOTIFY_OFFSET..NOTIFY_OFFSET + 0x1000).contains(&o) => {
                let q = (o - NOTIFY_OFFSET) / u64::from(NOTIFY_MULTIPLIER);
                self.transport.notify(q as u32);
            }
            _ => log::debug!("virtio-pci: write at BAR 0 offset {offset:#x} ignored"),
        }
    }
}

/// Why a virtio-pci device could not be created.
#[derive(Debug)]
pub enum VirtioPciError {
    /// The wrapped device is invalid (no queues, bad queue sizes).
    Virtio(VirtioError),
    /// Its device type has no modern PCI device ID.
    DeviceType(u32),
    /// The PCI configuration could not be built.
    Pci(PciError),
}

impl fmt::Display for VirtioPciError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            VirtioPciError::Virtio(e) => write!(f, "{e}"),
            VirtioPciError::DeviceType(t) => {
                write!(f, "virtio device type {t} has no PCI device ID (0x1040 + type must be <= 0x107f)")
            }
            VirtioPciError::Pci(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for VirtioPciError {}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::irq::RecordingIrqLine;
    use crate::pci::{PciRoot, CONFIG_ADDRESS_PORT};
    use crate::virtio::block::{Block, BlockConfig};
    use crate::virtio::mmio::status;
    use crate::virtio::testutil::{guest_mem, layout, Virtq};
    use crate::virtio::VIRTIO_F_VERSION_1;
    use vm_memory::{Bytes, GuestAddress};

    const WIN: u64 = 0xc000_0000;
    const F_NEXT: u16 = 1;
    const F_WRITE: u16 = 2;

    struct Rig {
        root: PciRoot,
        mem: GuestMem,
        irq: Arc<RecordingIrqLine>,
        path: std::path::PathBuf,
    }

    impl Drop for Rig {
        fn drop(&mut self) {
            let _ = std::fs::remove_file(&self.path);
        }
    }

    fn rig(name: &str) -> Rig {
        let path = std::env::temp_dir().join(format!("mimic-vpci-{name}-{}.img", std::process::id()));
        let mut img = vec![0u8; 64 * 1024];
        for (i, b) in img.iter_mut().enumerate() {
            *b = (i / 512) as u8;
        }
        std::fs::write(&path, &img).unwrap();
        let blk = Block::open(&BlockConfig::new(&path).queue_size(16)).unwrap();
        let mem = guest_mem();
        let irq = Arc::new(RecordingIrqLine::new());
        let dev = VirtioPci::new(Box::new(blk), mem.clone(), irq.clone(), 16).unwrap();
        let mut root = PciRoot::new(WIN, WIN + 0x100_0000);
        assert_eq!(root.add(Box::new(dev)).unwrap(), 1);
        Rig { root, mem, irq, path }
    }

    impl Rig {
        fn cfg_read(&mut self, reg: u32) -> u32 {
            self.root.write(CONFIG_ADDRESS_PORT, 0, &(0x8000_0800 | reg).to_le_bytes());
            let mut d = [0u8; 4];
            self.root.read(CONFIG_ADDRESS_PORT, 4, &mut d);
            u32::from_le_bytes(d)
        }
        fn r(&mut self, off: u64, len: usize) -> u64 {
            let mut d = [0u8; 8];
            self.root.read(WIN, off, &mut d[..len]);
            u64::from_le_bytes(d)
        }
        fn w(&mut self, off: u64, len: usize, v: u64) {
            self.root.write(WIN, off, &v.to_le_bytes()[..len]);
        }
        /// The Linux virtio_pci_modern sequence up to DRIVER_OK with queue 0 at `base`.
        fn bring_up(&mut self, base: u64) {
            self.w(common::STATUS, 1, 0);
            self.w(common::STATUS, 1, u64::from(status::ACKNOWLEDGE));
            self.w(common::STATUS, 1, u64::from(status::ACKNOWLEDGE | status::DRIVER));
            self.w(common::DFSELECT, 4, 1);
            assert_eq!(self.r(common::DF, 4) & 1, 1, "VERSION_1 offered");
            self.w(common::GFSELECT, 4, 0);
            self.w(common::GF, 4, 0);
            self.w(common::GFSELECT, 4, 1);
            self.w(common::GF, 4, VIRTIO_F_VERSION_1 >> 32);
            let s = status::ACKNOWLEDGE | status::DRIVER | status::FEATURES_OK;
            self.w(common::STATUS, 1, u64::from(s));
            assert_eq!(self.r(common::STATUS, 1), u64::from(s));
            assert_eq!(self.r(common::NUMQ, 2), 1);
            self.w(common::Q_SELECT, 2, 0);
            assert_eq!(self.r(common::Q_SIZE, 2), 16);
            assert_eq!(self.r(common::Q_MSIX, 2), u64::from(NO_VECTOR));
            let (d, a, u) = layout(16, base);
            self.w(common::Q_DESCLO, 4, d);
            self.w(common::Q_DESCLO + 4, 4, 0);
            self.w(common::Q_AVAILLO, 8, a);
            self.w(common::Q_USEDLO, 4, u);
            self.w(common::Q_USEDLO + 4, 4, 0);
            self.w(common::Q_ENABLE, 2, 1);
            assert_eq!(self.r(common::Q_ENABLE, 2), 1);
            assert_eq!(self.r(common::Q_DESCLO, 8), d);
            self.w(common::STATUS, 1, u64::from(s | status::DRIVER_OK));
        }
        fn notify(&mut self) {
            self.w(NOTIFY_OFFSET, 2, 0);
        }
    }

    fn header(mem: &GuestMem, at: u64, kind: u32, sector: u64) {
        let mut h = [0u8; 16];
        h[0..4].copy_from_slice(&kind.to_le_bytes());
        h[8..16].copy_from_slice(&sector.to_le_bytes());
        mem.write_slice(&h, GuestAddress(at)).unwrap();
    }

    #[test]
    fn config_space_has_virtio_capabilities() {
        let mut r = rig("caps");
        assert_eq!(r.cfg_read(0), 0x1042_1af4);
        assert_eq!(r.cfg_read(0x08) >> 8, 0x01_80_00, "class");
        assert_eq!(r.cfg_read(0x08) & 0xff, 1, "revision");
        assert_eq!(r.cfg_read(0x10), WIN as u32);
        assert_eq!(r.cfg_read(0x3c) & 0xffff, 0x0110, "INTA, line 16");
        assert_ne!(r.cfg_read(0x04) >> 16 & u32::from(cfg::STATUS_CAP_LIST), 0);
        // Walk the capability list.
        let mut p = r.cfg_read(0x34) & 0xff;
        let mut kinds = Vec::new();
        while p != 0 {
            let h = r.cfg_read(p);
            assert_eq!(h & 0xff, 0x09);
            kinds.push((h >> 24) as u8);
            if (h >> 24) as u8 == cap_type::NOTIFY {
                assert_eq!(r.cfg_read(p + 16), NOTIFY_MULTIPLIER);
            }
            p = (h >> 8) & 0xff;
        }
        assert_eq!(kinds, vec![1, 3, 4, 2]);
        // Device config: capacity 128 sectors.
        assert_eq!(r.r(DEVICE_OFFSET, 8), 128);
    }

    #[test]
    fn read_request_completes_and_isr_acknowledges() {
        let mut r = rig("read");
        r.bring_up(0x1000);
        let mut q = Virtq::new(&r.mem, 16, 0x1000);
        header(&r.mem, 0x8000, 0, 3);
        q.set_desc(0, 0x8000, 16, F_NEXT, 1);
        q.set_desc(1, 0x9000, 1024, F_NEXT | F_WRITE, 2);
        q.set_desc(2, 0xa000, 1, F_WRITE, 0);
        q.publish(0);
        r.notify();
        assert_eq!(q.used_idx(), 1);
        assert_eq!(q.used_elem(0), (0, 1025));
        let mut data = [0u8; 1024];
        r.mem.read_slice(&mut data, GuestAddress(0x9000)).unwrap();
        assert!(data[..512].iter().all(|&b| b == 3) && data[512..].iter().all(|&b| b == 4));
        assert!(r.irq.level());
        assert_eq!(r.r(ISR_OFFSET, 1), 1);
        assert!(!r.irq.level(), "reading the ISR lowers INTx");
        assert_eq!(r.r(ISR_OFFSET, 1), 0);
    }

    #[test]
    fn hostile_chains_end_in_errors_not_hangs() {
        let mut r = rig("hostile");
        r.bring_up(0x1000);
        let mut q = Virtq::new(&r.mem, 16, 0x1000);
        // A descriptor loop: 0 -> 1 -> 0.
        header(&r.mem, 0x8000, 0, 0);
        q.set_desc(0, 0x8000, 16, F_NEXT, 1);
        q.set_desc(1, 0x9000, 512, F_NEXT | F_WRITE, 0);
        q.publish(0);
        // Out-of-range buffer address.
        q.set_desc(2, 0x8000, 16, F_NEXT, 3);
        q.set_desc(3, 0xffff_0000_0000, 512, F_NEXT | F_WRITE, 4);
        q.set_desc(4, 0xa000, 1, F_WRITE, 0);
        q.publish(2);
        // A huge length.
        q.set_desc(5, 0x8000, 16, F_NEXT, 6);
        q.set_desc(6, 0x9000, u32::MAX, F_NEXT | F_WRITE, 7);
        q.set_desc(7, 0xa001, 1, F_WRITE, 0);
        q.publish(5);
        // A next index past the queue.
        q.set_desc(8, 0x8000, 16, F_NEXT, 200);
        q.publish(8);
        let t = std::time::Instant::now();
        r.notify();
        assert!(t.elapsed() < std::time::Duration::from_secs(2));
        assert_eq!(q.used_idx(), 4, "every chain is returned");
        let mut st = [0u8; 2];
        r.mem.read_slice(&mut st, GuestAddress(0xa000)).unwrap();
        assert_eq!(st[0], 1, "IOERR for the bad address");
        // The huge length makes the chain's writable part unusable as a whole, so no
        // status byte can be written: it is returned with length 0.
        let used: Vec<(u32, u32)> = (0..4).map(|i| q.used_elem(i)).collect();
        assert!(used.contains(&(5, 0)), "{used:?}");
        // A bogus available index (far ahead of the ring) marks the device broken.
        q.set_avail_idx(q.used_idx().wrapping_add(1000));
        r.notify();
        let s = r.r(common::STATUS, 1) as u32;
        assert_ne!(s & status::NEEDS_RESET, 0);
        // Reset recovers.
        r.w(common::STATUS, 1, 0);
        assert_eq!(r.r(common::STATUS, 1), 0);
        r.bring_up(0x4000);
    }

    #[test]
    fn misuse_is_ignored() {
        let mut r = rig("misuse");
        // Queue config before FEATURES_OK is refused; enabling fails cleanly.
        r.w(common::Q_SELECT, 2, 0);
        r.w(common::Q_DESCLO, 4, 0x1000);
        r.w(common::Q_ENABLE, 2, 1);
        assert_eq!(r.r(common::Q_ENABLE, 2), 0);
        assert_eq!(r.r(common::Q_DESCLO, 8), 0);
        // Nonexistent queue reads size 0.
        r.w(common::Q_SELECT, 2, 5);
        assert_eq!(r.r(common::Q_SIZE, 2), 0);
        r.w(common::Q_SIZE, 2, 8);
        r.w(common::Q_DESCLO, 8, 0x1000);
        // Odd widths, unknown offsets and notifies before DRIVER_OK.
        r.w(common::STATUS, 4, 0xffff_ffff);
        r.w(0x0fff, 1, 1);
        r.w(NOTIFY_OFFSET + 0x40, 4, 0);
        r.notify();
        let _ = r.r(0x3000, 4);
        let _ = r.r(common::LEN, 8);
        let _ = r.r(0x2fff, 2);
    }
}
