//! mimic's device layer, shared by KVM boards and JIT boards alike.
//!
//! Every model here is a register state machine with no threads of its own: a board
//! calls into it when the guest touches its registers (a KVM PIO/MMIO exit, or a
//! soft-MMU access that hit the device bus) and the model answers synchronously,
//! raising interrupts through an [`IrqLine`]. Nothing here knows whether the CPU
//! is a KVM vCPU or JIT-compiled code.
//!
//! - [`bus`]: the [`BusDevice`] trait and the [`Bus`] range map for port I/O or MMIO.
//! - [`irq`]: the [`IrqLine`] interrupt-line abstraction and a recording test line.
//! - [`serial`]: a 16550A UART (vm-superio's model behind [`BusDevice`]).
//! - [`virtio`]: the virtio-mmio transport, the [`virtio::VirtioDevice`] trait and
//!   a virtio-blk device backed by a raw image file.
//! - [`pci`]: a PCI host bridge (configuration mechanism #1, BAR routing) and the
//!   configuration-space model; [`virtio_pci`]: the virtio-pci transport on it.
//! - [`power`]: an i8042 (reset), an exit port (power-off) and the latch they share.

pub mod bus;
pub mod irq;
pub mod pci;
pub mod power;
pub mod serial;
pub mod virtio;
pub mod virtio_pci;

pub use bus::{Bus, BusAccessError, BusDevice, BusError, BusRange, SharedDevice};
pub use irq::{IrqEvent, IrqLine, NoIrq, RecordingIrqLine};
pub use serial::{IrqMode, Serial, SerialError};
pub use virtio::block::{Block, BlockConfig, BlockError};
pub use virtio::mmio::MmioTransport;
pub use virtio::{GuestMem, VirtioDevice, VirtioError};

#[cfg(test)]
mod tests {
    //! The pieces wired together the way a board does it: devices shared on buses.

    use std::io::Write;
    use std::sync::{Arc, Mutex};

    use super::*;
    use crate::virtio::mmio::{regs, MMIO_MAGIC, MMIO_SIZE};

    #[derive(Clone, Default)]
    struct Sink(Arc<Mutex<Vec<u8>>>);

    impl Write for Sink {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn board_style_wiring() {
        let out = Sink::default();
        let uart_irq = Arc::new(RecordingIrqLine::new());
        let uart = Arc::new(Mutex::new(Serial::new(out.clone(), uart_irq.clone())));
        let mut pio = Bus::new();
        pio.insert(uart.clone(), 0x3f8, 8).unwrap();

        let path = std::env::temp_dir().join(format!("mimic-devices-lib-{}.img", std::process::id()));
        std::fs::write(&path, vec![0u8; 4096]).unwrap();
        let blk = Block::open(&BlockConfig::new(&path).read_only(true)).unwrap();
        let mem = GuestMem::from_ranges(&[(vm_memory::GuestAddress(0), 0x10000)]).unwrap();
        let blk_irq: Arc<dyn IrqLine> = Arc::new(RecordingIrqLine::new());
        let transport = MmioTransport::new(Box::new(blk), mem, blk_irq).unwrap();
        let mut mmio = Bus::new();
        mmio.insert(Arc::new(Mutex::new(transport)), 0xd000_0000, MMIO_SIZE).unwrap();
        let (pio, mmio) = (Arc::new(pio), Arc::new(mmio));

        // A "vCPU thread" doing port and MMIO accesses through shared buses.
        let (p2, m2) = (pio.clone(), mmio.clone());
        let magic = std::thread::spawn(move || {
            for b in b"boot\n" {
                p2.write(0x3f8, &[*b]).unwrap();
            }
            let mut d = [0u8; 4];
            m2.read(0xd000_0000 + regs::MAGIC_VALUE, &mut d).unwrap();
            let mut id = [0u8; 4];
            m2.read(0xd000_0000 + regs::DEVICE_ID, &mut id).unwrap();
            (u32::from_le_bytes(d), u32::from_le_bytes(id))
        })
        .join()
        .unwrap();
        assert_eq!(magic, (MMIO_MAGIC, 2));
        assert_eq!(&*out.0.lock().unwrap(), b"boot\n");

        // Input injected by the board is read back through the bus.
        uart.lock().unwrap().enqueue_input(b"k").unwrap();
        let mut lsr = [0u8];
        pio.read(0x3fd, &mut lsr).unwrap();
        assert_eq!(lsr[0] & 1, 1);
        let mut rbr = [0u8];
        pio.read(0x3f8, &mut rbr).unwrap();
        assert_eq!(rbr, *b"k");

        // Holes between devices answer with 0xff.
        let mut hole = [0u8; 4];
        assert!(mmio.read(0xd000_0000 + MMIO_SIZE, &mut hole).is_err());
        assert_eq!(hole, [0xff; 4]);
        std::fs::remove_file(&path).unwrap();
    }
}
