//! The virtio-mmio transport (virtio 1.x, register layout version 2).
//!
//! An [`MmioTransport`] wraps one [`VirtioDevice`] and is itself a [`BusDevice`]
//! occupying [`MMIO_SIZE`] bytes of MMIO space. Registers at `0x000..0x100` are
//! 32-bit and must be accessed with aligned 4-byte accesses (others are ignored and
//! read as zero); the device configuration space starts at [`CONFIG_OFFSET`] and
//! accepts any width.
//!
//! The interrupt output is a level: high while `InterruptStatus` is non-zero,
//! lowered when the driver acknowledges every bit through `InterruptACK`.
//!
//! The status machine follows the spec's initialisation sequence and refuses
//! anything else without panicking: features are accepted only between `DRIVER` and
//! `FEATURES_OK`, `FEATURES_OK` sticks only if the driver accepted `VERSION_1` and
//! nothing the device did not offer, queues are configured only between
//! `FEATURES_OK` and `DRIVER_OK` while not ready, and a queue whose size or ring
//! placement is invalid is not enabled. A queue failure at run time sets
//! `DEVICE_NEEDS_RESET` and raises a configuration-change interrupt; writing 0 to
//! `Status` resets everything.

use std::fmt;
use std::sync::Arc;

use virtio_bindings::virtio_config::{
    VIRTIO_CONFIG_S_ACKNOWLEDGE, VIRTIO_CONFIG_S_DRIVER, VIRTIO_CONFIG_S_DRIVER_OK, VIRTIO_CONFIG_S_FAILED,
    VIRTIO_CONFIG_S_FEATURES_OK, VIRTIO_CONFIG_S_NEEDS_RESET,
};
use virtio_bindings::virtio_mmio::{VIRTIO_MMIO_INT_CONFIG, VIRTIO_MMIO_INT_VRING};
use vm_memory::GuestAddress;

use super::{GuestMem, Queue, QueueT, VirtioDevice, VirtioError, VIRTIO_F_VERSION_1};
use crate::bus::BusDevice;
use crate::irq::IrqLine;

/// `MagicValue`: "virt" in little-endian.
pub const MMIO_MAGIC: u32 = 0x7472_6976;
/// `Version` of the register layout implemented (modern virtio-mmio).
pub const MMIO_VERSION: u32 = 2;
/// `VendorID` reported to the guest ("MIMC").
pub const MMIO_VENDOR_ID: u32 = u32::from_le_bytes(*b"MIMC");
/// Offset of the device-specific configuration space.
pub const CONFIG_OFFSET: u64 = 0x100;
/// Bus span of one virtio-mmio device (registers plus up to 256 bytes of config).
pub const MMIO_SIZE: u64 = 0x200;

/// Register offsets of the version-2 layout.
pub mod regs {
    /// `MagicValue` (R).
    pub const MAGIC_VALUE: u64 = 0x000;
    /// `Version` (R).
    pub const VERSION: u64 = 0x004;
    /// `DeviceID` (R).
    pub const DEVICE_ID: u64 = 0x008;
    /// `VendorID` (R).
    pub const VENDOR_ID: u64 = 0x00c;
    /// `DeviceFeatures` (R), the 32-bit page chosen by `DeviceFeaturesSel`.
    pub const DEVICE_FEATURES: u64 = 0x010;
    /// `DeviceFeaturesSel` (W).
    pub const DEVICE_FEATURES_SEL: u64 = 0x014;
    /// `DriverFeatures` (W), the 32-bit page chosen by `DriverFeaturesSel`.
    pub const DRIVER_FEATURES: u64 = 0x020;
    /// `DriverFeaturesSel` (W).
    pub const DRIVER_FEATURES_SEL: u64 = 0x024;
    /// `QueueSel` (W).
    pub const QUEUE_SEL: u64 = 0x030;
    /// `QueueNumMax` (R).
    pub const QUEUE_NUM_MAX: u64 = 0x034;
    /// `QueueNum` (W).
    pub const QUEUE_NUM: u64 = 0x038;
    /// `QueueReady` (RW).
    pub const QUEUE_READY: u64 = 0x044;
    /// `QueueNotify` (W).
    pub const QUEUE_NOTIFY: u64 = 0x050;
    /// `InterruptStatus` (R).
    pub const INTERRUPT_STATUS: u64 = 0x060;
    /// `InterruptACK` (W).
    pub const INTERRUPT_ACK: u64 = 0x064;
    /// `Status` (RW).
    pub const STATUS: u64 = 0x070;
    /// `QueueDescLow` (W).
    pub const QUEUE_DESC_LOW: u64 = 0x080;
    /// `QueueDescHigh` (W).
    pub const QUEUE_DESC_HIGH: u64 = 0x084;
    /// `QueueDriverLow` (W): the available ring.
    pub const QUEUE_DRIVER_LOW: u64 = 0x090;
    /// `QueueDriverHigh` (W).
    pub const QUEUE_DRIVER_HIGH: u64 = 0x094;
    /// `QueueDeviceLow` (W): the used ring.
    pub const QUEUE_DEVICE_LOW: u64 = 0x0a0;
    /// `QueueDeviceHigh` (W).
    pub const QUEUE_DEVICE_HIGH: u64 = 0x0a4;
    /// `ConfigGeneration` (R).
    pub const CONFIG_GENERATION: u64 = 0x0fc;
}

/// `Status` bits (virtio 1.x section 2.1).
pub mod status {
    use super::*;
    /// The guest found the device.
    pub const ACKNOWLEDGE: u32 = VIRTIO_CONFIG_S_ACKNOWLEDGE;
    /// The guest has a driver for it.
    pub const DRIVER: u32 = VIRTIO_CONFIG_S_DRIVER;
    /// The driver is ready to drive the device.
    pub const DRIVER_OK: u32 = VIRTIO_CONFIG_S_DRIVER_OK;
    /// Feature negotiation is complete.
    pub const FEATURES_OK: u32 = VIRTIO_CONFIG_S_FEATURES_OK;
    /// The device hit an error it cannot recover from without a reset.
    pub const NEEDS_RESET: u32 = VIRTIO_CONFIG_S_NEEDS_RESET;
    /// The driver gave up on the device.
    pub const FAILED: u32 = VIRTIO_CONFIG_S_FAILED;
}

/// `InterruptStatus` bit: a queue has new used buffers.
pub const INT_VRING: u32 = VIRTIO_MMIO_INT_VRING;
/// `InterruptStatus` bit: the configuration (or `NEEDS_RESET`) changed.
pub const INT_CONFIG: u32 = VIRTIO_MMIO_INT_CONFIG;

/// What the driver wrote for one queue, applied to the [`Queue`] on `QueueReady`.
#[derive(Clone, Copy, Debug, Default)]
struct QueueRegs {
    num: u32,
    desc: u64,
    driver: u64,
    device: u64,
}

fn set_low(v: &mut u64, low: u32) {
    *v = (*v & !0xffff_ffff) | u64::from(low);
}

fn set_high(v: &mut u64, high: u32) {
    *v = (*v & 0xffff_ffff) | (u64::from(high) << 32);
}

/// A virtio device exposed through virtio-mmio registers.
pub struct MmioTransport {
    device: Box<dyn VirtioDevice>,
    mem: GuestMem,
    irq: Arc<dyn IrqLine>,
    queues: Vec<Queue>,
    queue_regs: Vec<QueueRegs>,
    device_features_sel: u32,
    driver_features_sel: u32,
    driver_features: u64,
    queue_sel: u32,
    status: u32,
    interrupt_status: u32,
    irq_level: bool,
    config_generation: u32,
    last_error: Option<VirtioError>,
}

impl fmt::Debug for MmioTransport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MmioTransport")
            .field("device_type", &self.device.device_type())
            .field("status", &self.status)
            .field("driver_features", &self.driver_features)
            .field("interrupt_status", &self.interrupt_status)
            .field("queues", &self.queues)
            .field("last_error", &self.last_error)
            .finish()
    }
}

impl MmioTransport {
    /// Wraps `device`, whose queues live in `mem`, interrupting through `irq`.
    /// Fails if the device declares no queues or an invalid queue size.
    pub fn new(device: Box<dyn VirtioDevice>, mem: GuestMem, irq: Arc<dyn IrqLine>) -> Result<Self, VirtioError> {
        let sizes = device.queue_max_sizes();
        if sizes.is_empty() {
            return Err(VirtioError::NoQueues);
        }
        let queues = sizes
            .iter()
            .enumerate()
            .map(|(index, &size)| Queue::new(size).map_err(|_| VirtioError::InvalidQueueMaxSize { index, size }))
            .collect::<Result<Vec<_>, _>>()?;
        let queue_regs =
            queues.iter().map(|q| QueueRegs { num: u32::from(q.max_size()), ..QueueRegs::default() }).collect();
        Ok(MmioTransport {
            device,
            mem,
            irq,
            queues,
            queue_regs,
            device_features_sel: 0,
            driver_features_sel: 0,
            driver_features: 0,
            queue_sel: 0,
            status: 0,
            interrupt_status: 0,
            irq_level: false,
            config_generation: 0,
            last_error: None,
        })
    }

    /// The wrapped device.
    pub fn device(&self) -> &dyn VirtioDevice {
        self.device.as_ref()
    }

    /// The wrapped device, mutably.
    pub fn device_mut(&mut self) -> &mut dyn VirtioDevice {
        self.device.as_mut()
    }

    /// Features offered to the driver (the device's plus `VERSION_1`).
    pub fn offered_features(&self) -> u64 {
        self.device.device_features() | VIRTIO_F_VERSION_1
    }

    /// Features the driver has written so far (final once `FEATURES_OK` is set).
    pub fn driver_features(&self) -> u64 {
        self.driver_features
    }

    /// The `Status` register.
    pub fn status(&self) -> u32 {
        self.status
    }

    /// Whether the driver set `DRIVER_OK` and the device has not failed since.
    pub fn is_activated(&self) -> bool {
        self.status & status::DRIVER_OK != 0 && self.status & status::NEEDS_RESET == 0
    }

    /// The `InterruptStatus` register.
    pub fn interrupt_status(&self) -> u32 {
        self.interrupt_status
    }

    /// The `ConfigGeneration` register.
    pub fn config_generation(&self) -> u32 {
        self.config_generation
    }

    /// The queue at `index`, if the device has one.
    pub fn queue(&self, index: usize) -> Option<&Queue> {
        self.queues.get(index)
    }

    /// The error that set `NEEDS_RESET`, kept until the driver resets the device.
    pub fn last_error(&self) -> Option<&VirtioError> {
        self.last_error.as_ref()
    }

    /// Processes queue `index` as if the driver had written it to `QueueNotify`
    /// (for boards that poll or get notifications another way, e.g. an ioeventfd).
    pub fn notify(&mut self, index: u32) {
        let idx = index as usize;
        if !self.is_activated() {
            log::debug!("virtio-mmio: notify of queue {index} before DRIVER_OK ignored");
            return;
        }
        let Some(queue) = self.queues.get_mut(idx) else {
            log::warn!("virtio-mmio: notify of nonexistent queue {index} ignored");
            return;
        };
        if !queue.ready() {
            log::warn!("virtio-mmio: notify of queue {index}, which is not ready, ignored");
            return;
        }
        match self.device.process_queue(idx, queue, &self.mem) {
            Ok(true) => self.raise(INT_VRING),
            Ok(false) => {}
            Err(e) => self.fail(e),
        }
    }

    /// Tells the driver the device configuration changed: bumps `ConfigGeneration`
    /// and raises a configuration-change interrupt.
    pub fn config_changed(&mut self) {
        self.config_generation = self.config_generation.wrapping_add(1);
        self.raise(INT_CONFIG);
    }

    /// Raises a used-buffer interrupt (for devices that completed work outside a
    /// notify, e.g. on host input).
    pub fn signal_used(&mut self) {
        self.raise(INT_VRING);
    }

    fn raise(&mut self, bits: u32) {
        self.interrupt_status |= bits;
        self.sync_irq();
    }

    fn sync_irq(&mut self) {
        let level = self.interrupt_status != 0;
        if level != self.irq_level {
            self.irq_level = level;
            self.irq.set_level(level);
        }
    }

    fn fail(&mut self, e: VirtioError) {
        log::warn!("virtio-mmio: device {}: {e}", self.device.device_type());
        self.last_error = Some(e);
        if self.status & status::NEEDS_RESET == 0 {
            self.status |= status::NEEDS_RESET;
            self.raise(INT_CONFIG);
        }
    }

    fn reset(&mut self) {
        self.device.reset();
        for (q, r) in self.queues.iter_mut().zip(self.queue_regs.iter_mut()) {
            q.reset();
            *r = QueueRegs { num: u32::from(q.max_size()), ..QueueRegs::default() };
        }
        self.device_features_sel = 0;
        self.driver_features_sel = 0;
        self.driver_features = 0;
        self.queue_sel = 0;
        self.status = 0;
        self.interrupt_status = 0;
        self.last_error = None;
        self.sync_irq();
    }

    fn selected(&self) -> Option<usize> {
        let i = self.queue_sel as usize;
        (i < self.queues.len()).then_some(i)
    }

    /// Queue registers may be written between FEATURES_OK and DRIVER_OK while the
    /// selected queue is not ready.
    fn queue_configurable(&self) -> Option<usize> {
        let i = self.selected()?;
        let phase_ok = self.status & status::FEATURES_OK != 0 && self.status & status::DRIVER_OK == 0;
        if !phase_ok || self.queues[i].ready() {
            log::warn!(
                "virtio-mmio: queue {i} register write outside configuration phase ignored \
                 (status {:#x})",
                self.status
            );
            return None;
        }
        Some(i)
    }

    fn read_register(&self, offset: u64) -> u32 {
        match offset {
            regs::MAGIC_VALUE => MMIO_MAGIC,
            regs::VERSION => MMIO_VERSION,
            regs::DEVICE_ID => self.device.device_type(),
            regs::VENDOR_ID => MMIO_VENDOR_ID,
            regs::DEVICE_FEATURES => match self.device_features_sel {
                0 => self.offered_features() as u32,
                1 => (self.offered_features() >> 32) as u32,
                _ => 0,
            },
            regs::QUEUE_NUM_MAX => self.selected().map_or(0, |i| u32::from(self.queues[i].max_size())),
            regs::QUEUE_READY => self.selected().map_or(0, |i| u32::from(self.queues[i].ready())),
            regs::INTERRUPT_STATUS => self.interrupt_status,
            regs::STATUS => self.status,
            regs::CONFIG_GENERATION => self.config_generation,
            _ => {
                log::debug!("virtio-mmio: read of write-only/unknown register {offset:#x}");
                0
            }
        }
    }

    fn write_register(&mut self, offset: u64, v: u32) {
        match offset {
            regs::DEVICE_FEATURES_SEL => self.device_features_sel = v,
            regs::DRIVER_FEATURES_SEL => self.driver_features_sel = v,
            regs::DRIVER_FEATURES => self.write_driver_features(v),
            regs::QUEUE_SEL => self.queue_sel = v,
            regs::QUEUE_NUM => {
                if let Some(i) = self.queue_configurable() {
                    self.queue_regs[i].num = v;
                }
            }
            regs::QUEUE_READY => self.write_queue_ready(v),
            regs::QUEUE_NOTIFY => self.notify(v & 0xffff),
            regs::INTERRUPT_ACK => {
                self.interrupt_status &= !v;
                self.sync_irq();
            }
            regs::STATUS => self.write_status(v),
            regs::QUEUE_DESC_LOW
            | regs::QUEUE_DESC_HIGH
            | regs::QUEUE_DRIVER_LOW
            | regs::QUEUE_DRIVER_HIGH
            | regs::QUEUE_DEVICE_LOW
            | regs::QUEUE_DEVICE_HIGH => {
                if let Some(i) = self.queue_configurable() {
                    let r = &mut self.queue_regs[i];
                    match offset {
                        regs::QUEUE_DESC_LOW => set_low(&mut r.desc, v),
                        regs::QUEUE_DESC_HIGH => set_high(&mut r.desc, v),
                        regs::QUEUE_DRIVER_LOW => set_low(&mut r.driver, v),
                        regs::QUEUE_DRIVER_HIGH => set_high(&mut r.driver, v),
                        regs::QUEUE_DEVICE_LOW => set_low(&mut r.device, v),
                        _ => set_high(&mut r.device, v),
                    }
                }
            }
            _ => log::debug!("virtio-mmio: write of read-only/unknown register {offset:#x}"),
        }
    }

    fn write_driver_features(&mut self, v: u32) {
        if self.status & status::DRIVER == 0 || self.status & status::FEATURES_OK != 0 {
            log::warn!("virtio-mmio: DriverFeatures written outside negotiation (status {:#x})", self.status);
            return;
        }
        match self.driver_features_sel {
            0 => set_low(&mut self.driver_features, v),
            1 => set_high(&mut self.driver_features, v),
            sel => log::debug!("virtio-mmio: DriverFeatures page {sel} ignored"),
        }
    }

    fn write_queue_ready(&mut self, v: u32) {
        let Some(i) = self.selected() else { return };
        if v == 0 {
            self.queues[i].set_ready(false);
            return;
        }
        let Some(i) = self.queue_configurable() else {
            return;
        };
        if let Err(reason) = self.enable_queue(i) {
            self.queues[i].set_ready(false);
            self.fail(VirtioError::InvalidQueueConfig { index: i, reason });
        }
    }

    fn enable_queue(&mut self, i: usize) -> Result<(), String> {
        let r = self.queue_regs[i];
        let q = &mut self.queues[i];
        let size = u16::try_from(r.num)
            .ok()
            .filter(|&n| n != 0 && n <= q.max_size() && n.is_power_of_two())
            .ok_or_else(|| format!("QueueNum {} is not a power of two in 1..={}", r.num, q.max_size()))?;
        q.try_set_size(size).map_err(|e| e.to_string())?;
        q.try_set_desc_table_address(GuestAddress(r.desc))
            .map_err(|e| format!("descriptor table at {:#x}: {e}", r.desc))?;
        q.try_set_avail_ring_address(GuestAddress(r.driver))
            .map_err(|e| format!("available ring at {:#x}: {e}", r.driver))?;
        q.try_set_used_ring_address(GuestAddress(r.device))
            .map_err(|e| format!("used ring at {:#x}: {e}", r.device))?;
        q.set_next_avail(0);
        q.set_next_used(0);
        q.set_ready(true);
        if !q.is_valid(&self.mem) {
            return Err(format!(
                "rings (desc {:#x}, avail {:#x}, used {:#x}, size {size}) are not inside \
                 guest memory",
                r.desc, r.driver, r.device
            ));
        }
        Ok(())
    }

    fn write_status(&mut self, v: u32) {
        if v == 0 {
            self.reset();
            return;
        }
        let old = self.status;
        // NEEDS_RESET belongs to the device; the driver may echo it back but not set it.
        let v = v & !status::NEEDS_RESET;
        if v & old & !status::NEEDS_RESET != old & !status::NEEDS_RESET {
            log::warn!("virtio-mmio: status {v:#x} would clear bits of {old:#x}; ignored");
            return;
        }
        let new = v & !old;
        if new & status::ACKNOWLEDGE != 0 {
            self.status |= status::ACKNOWLEDGE;
        }
        if new & status::DRIVER != 0 {
            if self.status & status::ACKNOWLEDGE != 0 {
                self.status |= status::DRIVER;
            } else {
                log::warn!("virtio-mmio: DRIVER set before ACKNOWLEDGE; ignored");
            }
        }
        if new & status::FEATURES_OK != 0 {
            self.try_features_ok();
        }
        if new & status::DRIVER_OK != 0 {
            self.try_driver_ok();
        }
        if new & status::FAILED != 0 {
            self.status |= status::FAILED;
        }
    }

    fn try_features_ok(&mut self) {
        if self.status & status::DRIVER == 0 {
            log::warn!("virtio-mmio: FEATURES_OK set before DRIVER; ignored");
            return;
        }
        let offered = self.offered_features();
        let unoffered = self.driver_features & !offered;
        if unoffered != 0 || self.driver_features & VIRTIO_F_VERSION_1 == 0 {
            // Leaving FEATURES_OK clear tells the driver the subset was refused.
            log::warn!(
                "virtio-mmio: refused driver features {:#x} (offered {offered:#x}, \
                 VERSION_1 is required)",
                self.driver_features
            );
            return;
        }
        self.device.set_acked_features(self.driver_features);
        self.status |= status::FEATURES_OK;
    }

    fn try_driver_ok(&mut self) {
        if self.status & status::FEATURES_OK == 0 {
            log::warn!("virtio-mmio: DRIVER_OK set before FEATURES_OK; ignored");
            return;
        }
        self.status |= status::DRIVER_OK;
        if self.status & status::NEEDS_RESET != 0 {
            return;
        }
        let event_idx = self.driver_features & super::VIRTIO_RING_F_EVENT_IDX != 0;
        for q in &mut self.queues {
            q.set_event_idx(event_idx);
        }
        if let Err(e) = self.device.activate() {
            self.fail(e);
        }
    }
}

impl BusDevice for MmioTransport {
    fn read(&mut self, _base: u64, offset: u64, data: &mut [u8]) {
        if offset >= CONFIG_OFFSET {
            self.device.read_config(offset - CONFIG_OFFSET, data);
            return;
        }
        if data.len() != 4 || offset & 3 != 0 {
            log::warn!("virtio-mmio: {}-byte read at {offset:#x} ignored (registers are 32-bit)", data.len());
            data.fill(0);
            return;
        }
        data.copy_from_slice(&self.read_register(offset).to_le_bytes());
    }

    fn write(&mut self, _base: u64, offset: u64, data: &[u8]) {
        if offset >= CONFIG_OFFSET {
            self.device.write_config(offset - CONFIG_OFFSET, data);
            return;
        }
        let Ok(bytes) = <[u8; 4]>::try_from(data) else {
            log::warn!("virtio-mmio: {}-byte write at {offset:#x} ignored (registers are 32-bit)", data.len());
            return;
        };
        if offset & 3 != 0 {
            log::warn!("virtio-mmio: misaligned write at {offset:#x} ignored");
            return;
        }
        self.write_register(offset, u32::from_le_bytes(bytes));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::irq::RecordingIrqLine;
    use crate::virtio::testutil::*;

    /// What the dummy device saw, shared with the test.
    #[derive(Default)]
    struct DummyLog {
        acked: u64,
        activated: usize,
        resets: usize,
        notified: Vec<usize>,
        fail_next: bool,
    }

    /// A device with two queues that records calls and completes nothing.
    struct Dummy {
        sizes: [u16; 2],
        config: [u8; 8],
        log: Arc<std::sync::Mutex<DummyLog>>,
    }

    const DUMMY_FEATURE: u64 = 1 << 3;

    impl VirtioDevice for Dummy {
        fn device_type(&self) -> u32 {
            42
        }
        fn queue_max_sizes(&self) -> &[u16] {
            &self.sizes
        }
        fn device_features(&self) -> u64 {
            DUMMY_FEATURE
        }
        fn set_acked_features(&mut self, features: u64) {
            self.log.lock().unwrap().acked = features;
        }
        fn read_config(&self, offset: u64, data: &mut [u8]) {
            for (i, b) in data.iter_mut().enumerate() {
                *b = usize::try_from(offset)
                    .ok()
                    .and_then(|o| o.checked_add(i))
                    .and_then(|o| self.config.get(o).copied())
                    .unwrap_or(0);
            }
        }
        fn write_config(&mut self, offset: u64, data: &[u8]) {
            if let Some(b) = self.config.get_mut(offset as usize) {
                *b = data[0];
            }
        }
        fn activate(&mut self) -> Result<(), VirtioError> {
            self.log.lock().unwrap().activated += 1;
            Ok(())
        }
        fn process_queue(&mut self, index: usize, _queue: &mut Queue, _mem: &GuestMem) -> Result<bool, VirtioError> {
            let mut log = self.log.lock().unwrap();
            log.notified.push(index);
            if std::mem::take(&mut log.fail_next) {
                return Err(VirtioError::InvalidQueueConfig { index, reason: "test".into() });
            }
            Ok(true)
        }
        fn reset(&mut self) {
            self.log.lock().unwrap().resets += 1;
        }
    }

    type Log = Arc<std::sync::Mutex<DummyLog>>;

    fn dummy_transport() -> (MmioTransport, Arc<RecordingIrqLine>, Log) {
        let line = Arc::new(RecordingIrqLine::new());
        let log = Log::default();
        let dev = Dummy { sizes: [16, 8], config: [1, 2, 3, 4, 5, 6, 7, 8], log: log.clone() };
        let t = MmioTransport::new(Box::new(dev), guest_mem(), line.clone()).unwrap();
        (t, line, log)
    }

    #[test]
    fn identification_registers() {
        let (mut t, _, _log) = dummy_transport();
        assert_eq!(rd(&mut t, regs::MAGIC_VALUE), 0x7472_6976);
        assert_eq!(rd(&mut t, regs::VERSION), 2);
        assert_eq!(rd(&mut t, regs::DEVICE_ID), 42);
        assert_eq!(rd(&mut t, regs::VENDOR_ID), MMIO_VENDOR_ID);
        assert_eq!(rd(&mut t, regs::STATUS), 0);
        assert_eq!(rd(&mut t, regs::CONFIG_GENERATION), 0);
        // Write-only registers read as zero.
        assert_eq!(rd(&mut t, regs::QUEUE_NOTIFY), 0);
        // Wrong widths and misaligned accesses are ignored.
        let mut d = [0xffu8; 2];
        t.read(0, regs::MAGIC_VALUE, &mut d);
        assert_eq!(d, [0, 0]);
        let mut d = [0xffu8; 4];
        t.read(0, 2, &mut d);
        assert_eq!(d, [0; 4]);
        t.write(0, regs::STATUS, &[1]);
        t.write(0, regs::STATUS + 1, &[1, 0, 0, 0]);
        assert_eq!(rd(&mut t, regs::STATUS), 0);
    }

    #[test]
    fn feature_negotiation() {
        let (mut t, _, log) = dummy_transport();
        wr(&mut t, regs::DEVICE_FEATURES_SEL, 0);
        assert_eq!(rd(&mut t, regs::DEVICE_FEATURES), DUMMY_FEATURE as u32);
        wr(&mut t, regs::DEVICE_FEATURES_SEL, 1);
        assert_eq!(rd(&mut t, regs::DEVICE_FEATURES), 1); // VERSION_1 is bit 32
        wr(&mut t, regs::DEVICE_FEATURES_SEL, 2);
        assert_eq!(rd(&mut t, regs::DEVICE_FEATURES), 0);

        // Features cannot be written before DRIVER.
        wr(&mut t, regs::DRIVER_FEATURES, 0xffff_ffff);
        assert_eq!(t.driver_features(), 0);

        wr(&mut t, regs::STATUS, status::ACKNOWLEDGE);
        wr(&mut t, regs::STATUS, status::ACKNOWLEDGE | status::DRIVER);
        // Ask for an unoffered feature: FEATURES_OK does not stick.
        write_features(&mut t, DUMMY_FEATURE | (1 << 7) | VIRTIO_F_VERSION_1);
        wr(&mut t, regs::STATUS, status::ACKNOWLEDGE | status::DRIVER | status::FEATURES_OK);
        assert_eq!(rd(&mut t, regs::STATUS) & status::FEATURES_OK, 0);
        // Without VERSION_1: refused too.
        write_features(&mut t, DUMMY_FEATURE);
        wr(&mut t, regs::STATUS, status::ACKNOWLEDGE | status::DRIVER | status::FEATURES_OK);
        assert_eq!(rd(&mut t, regs::STATUS) & status::FEATURES_OK, 0);
        // A valid subset is accepted and handed to the device.
        write_features(&mut t, DUMMY_FEATURE | VIRTIO_F_VERSION_1);
        wr(&mut t, regs::STATUS, status::ACKNOWLEDGE | status::DRIVER | status::FEATURES_OK);
        assert_ne!(rd(&mut t, regs::STATUS) & status::FEATURES_OK, 0);
        assert_eq!(log.lock().unwrap().acked, DUMMY_FEATURE | VIRTIO_F_VERSION_1);
        // Features are frozen after FEATURES_OK.
        write_features(&mut t, VIRTIO_F_VERSION_1);
        assert_eq!(t.driver_features(), DUMMY_FEATURE | VIRTIO_F_VERSION_1);
    }

    #[test]
    fn status_state_machine() {
        let (mut t, _, log) = dummy_transport();
        // Skipping steps is refused.
        wr(&mut t, regs::STATUS, status::DRIVER);
        assert_eq!(rd(&mut t, regs::STATUS), 0);
        wr(&mut t, regs::STATUS, status::ACKNOWLEDGE | status::DRIVER_OK);
        assert_eq!(rd(&mut t, regs::STATUS), status::ACKNOWLEDGE);
        wr(&mut t, regs::STATUS, status::ACKNOWLEDGE | status::DRIVER);
        // Clearing bits without a reset is refused.
        wr(&mut t, regs::STATUS, status::ACKNOWLEDGE);
        assert_eq!(rd(&mut t, regs::STATUS), status::ACKNOWLEDGE | status::DRIVER);
        // The driver cannot set NEEDS_RESET.
        wr(&mut t, regs::STATUS, status::ACKNOWLEDGE | status::DRIVER | status::NEEDS_RESET);
        assert_eq!(rd(&mut t, regs::STATUS), status::ACKNOWLEDGE | status::DRIVER);

        write_features(&mut t, VIRTIO_F_VERSION_1);
        let s = status::ACKNOWLEDGE | status::DRIVER | status::FEATURES_OK;
        wr(&mut t, regs::STATUS, s);
        for q in 0..2 {
            setup_queue(&mut t, q, 8, 0x1000 * (q as u64 + 1));
        }
        wr(&mut t, regs::STATUS, s | status::DRIVER_OK);
        assert!(t.is_activated());
        assert_eq!(log.lock().unwrap().activated, 1);

        // Reset clears everything and resets the device and queues.
        wr(&mut t, regs::STATUS, 0);
        assert_eq!(rd(&mut t, regs::STATUS), 0);
        assert_eq!(t.driver_features(), 0);
        assert_eq!(log.lock().unwrap().resets, 1);
        wr(&mut t, regs::QUEUE_SEL, 0);
        assert_eq!(rd(&mut t, regs::QUEUE_READY), 0);
        assert!(!t.is_activated());

        // FAILED can be set at any time.
        wr(&mut t, regs::STATUS, status::ACKNOWLEDGE | status::FAILED);
        assert_eq!(rd(&mut t, regs::STATUS), status::ACKNOWLEDGE | status::FAILED);
    }

    #[test]
    fn queue_setup() {
        let (mut t, _, _log) = dummy_transport();
        wr(&mut t, regs::QUEUE_SEL, 0);
        assert_eq!(rd(&mut t, regs::QUEUE_NUM_MAX), 16);
        wr(&mut t, regs::QUEUE_SEL, 1);
        assert_eq!(rd(&mut t, regs::QUEUE_NUM_MAX), 8);
        wr(&mut t, regs::QUEUE_SEL, 2);
        assert_eq!(rd(&mut t, regs::QUEUE_NUM_MAX), 0);
        assert_eq!(rd(&mut t, regs::QUEUE_READY), 0);
        wr(&mut t, regs::QUEUE_READY, 1); // nonexistent queue: ignored

        // Queue registers before FEATURES_OK are ignored.
        wr(&mut t, regs::QUEUE_SEL, 0);
        wr(&mut t, regs::QUEUE_READY, 1);
        assert_eq!(rd(&mut t, regs::QUEUE_READY), 0);

        negotiate(&mut t, VIRTIO_F_VERSION_1);
        setup_queue(&mut t, 0, 16, 0x4000);
        wr(&mut t, regs::QUEUE_SEL, 0);
        assert_eq!(rd(&mut t, regs::QUEUE_READY), 1);
        let q = t.queue(0).unwrap();
        assert_eq!(q.size(), 16);
        assert_eq!(q.desc_table(), 0x4000);
        assert_eq!(q.avail_ring(), 0x4000 + 16 * 16);
        // Registers of a ready queue are frozen.
        wr(&mut t, regs::QUEUE_DESC_LOW, 0x8000);
        wr(&mut t, regs::QUEUE_READY, 1);
        assert_eq!(t.queue(0).unwrap().desc_table(), 0x4000);
        // Disabling is allowed.
        wr(&mut t, regs::QUEUE_READY, 0);
        assert_eq!(rd(&mut t, regs::QUEUE_READY), 0);
        assert!(t.last_error().is_none());
    }

    #[test]
    fn bad_queue_configs_are_refused() {
        for (num, desc, why) in [
            (3u32, 0x4000u64, "not a power of two"),
            (32, 0x4000, "above QueueNumMax"),
            (0, 0x4000, "zero"),
            (16, 0x4001, "misaligned"),
            (16, GUEST_MEM_SIZE as u64 - 0x10, "outside memory"),
            (16, !0xf, "at the top of the address space"),
        ] {
            let (mut t, line, _log) = dummy_transport();
            negotiate(&mut t, VIRTIO_F_VERSION_1);
            wr(&mut t, regs::QUEUE_SEL, 0);
            wr(&mut t, regs::QUEUE_NUM, num);
            for (lo, hi, addr) in [
                (regs::QUEUE_DESC_LOW, regs::QUEUE_DESC_HIGH, desc),
                (regs::QUEUE_DRIVER_LOW, regs::QUEUE_DRIVER_HIGH, 0x8000),
                (regs::QUEUE_DEVICE_LOW, regs::QUEUE_DEVICE_HIGH, 0x9000),
            ] {
                wr(&mut t, lo, addr as u32);
                wr(&mut t, hi, (addr >> 32) as u32);
            }
            wr(&mut t, regs::QUEUE_READY, 1);
            assert_eq!(rd(&mut t, regs::QUEUE_READY), 0, "{why}");
            assert!(t.last_error().is_some(), "{why}");
            assert_ne!(rd(&mut t, regs::STATUS) & status::NEEDS_RESET, 0, "{why}");
            assert_eq!(rd(&mut t, regs::INTERRUPT_STATUS), INT_CONFIG, "{why}");
            assert!(line.level());
            assert!(t.last_error().unwrap().to_string().contains("virtqueue 0"));
        }
    }

    #[test]
    fn notify_and_interrupt_ack() {
        let (mut t, line, log) = dummy_transport();
        // Notify before DRIVER_OK is ignored.
        wr(&mut t, regs::QUEUE_NOTIFY, 0);
        assert!(log.lock().unwrap().notified.is_empty());

        negotiate(&mut t, VIRTIO_F_VERSION_1);
        setup_queue(&mut t, 0, 16, 0x4000);
        driver_ok(&mut t);
        // Queue 1 was never made ready, queue 7 does not exist.
        wr(&mut t, regs::QUEUE_NOTIFY, 1);
        wr(&mut t, regs::QUEUE_NOTIFY, 7);
        assert!(log.lock().unwrap().notified.is_empty());
        assert!(!line.level());

        wr(&mut t, regs::QUEUE_NOTIFY, 0);
        assert_eq!(log.lock().unwrap().notified, vec![0]);
        assert_eq!(rd(&mut t, regs::INTERRUPT_STATUS), INT_VRING);
        assert!(line.level());
        wr(&mut t, regs::INTERRUPT_ACK, INT_VRING);
        assert_eq!(rd(&mut t, regs::INTERRUPT_STATUS), 0);
        assert!(!line.level());

        // Config change: generation moves, config interrupt is raised.
        t.config_changed();
        assert_eq!(rd(&mut t, regs::CONFIG_GENERATION), 1);
        assert_eq!(rd(&mut t, regs::INTERRUPT_STATUS), INT_CONFIG);
        wr(&mut t, regs::INTERRUPT_ACK, INT_CONFIG);
        assert!(!line.level());

        // A device error sets NEEDS_RESET; later notifies are ignored until reset.
        log.lock().unwrap().fail_next = true;
        wr(&mut t, regs::QUEUE_NOTIFY, 0);
        assert_ne!(rd(&mut t, regs::STATUS) & status::NEEDS_RESET, 0);
        assert!(!t.is_activated());
        wr(&mut t, regs::QUEUE_NOTIFY, 0);
        assert_eq!(log.lock().unwrap().notified, vec![0, 0]);
        wr(&mut t, regs::STATUS, 0);
        assert!(t.last_error().is_none());
        assert!(!line.level());
    }

    #[test]
    fn config_space_passthrough() {
        let (mut t, _, _log) = dummy_transport();
        let mut d = [0u8; 4];
        t.read(0, CONFIG_OFFSET + 2, &mut d);
        assert_eq!(d, [3, 4, 5, 6]);
        let mut b = [0u8; 1];
        t.read(0, CONFIG_OFFSET + 7, &mut b);
        assert_eq!(b, [8]);
        t.read(0, CONFIG_OFFSET + 0x50, &mut d);
        assert_eq!(d, [0; 4]);
        t.write(0, CONFIG_OFFSET, &[0x99]);
        t.read(0, CONFIG_OFFSET, &mut b);
        assert_eq!(b, [0x99]);
    }

    #[test]
    fn invalid_devices_are_rejected() {
        struct Bad(Vec<u16>);
        impl VirtioDevice for Bad {
            fn device_type(&self) -> u32 {
                1
            }
            fn queue_max_sizes(&self) -> &[u16] {
                &self.0
            }
            fn device_features(&self) -> u64 {
                0
            }
            fn read_config(&self, _: u64, data: &mut [u8]) {
                data.fill(0);
            }
            fn process_queue(&mut self, _: usize, _: &mut Queue, _: &GuestMem) -> Result<bool, VirtioError> {
                Ok(false)
            }
            fn reset(&mut self) {}
        }
        let line: Arc<dyn IrqLine> = Arc::new(RecordingIrqLine::new());
        let err = MmioTransport::new(Box::new(Bad(vec![])), guest_mem(), line.clone());
        assert!(matches!(err, Err(VirtioError::NoQueues)));
        let err = MmioTransport::new(Box::new(Bad(vec![16, 12])), guest_mem(), line);
        assert!(matches!(err, Err(VirtioError::InvalidQueueMaxSize { index: 1, size: 12 })));
    }
}
