//! A 16550A UART on the device bus.
//!
//! The register model is vm-superio's `Serial` (the one Firecracker and
//! Cloud Hypervisor use); this module puts it behind [`BusDevice`], connects its
//! interrupt output to an [`IrqLine`] and lets the board inject input bytes.
//!
//! Two interrupt wirings are offered ([`IrqMode`]):
//! - [`IrqMode::Level`] (default): after every register access the line is driven
//!   to "an enabled interrupt is pending" (IIR bit 0 clear and the cause enabled in
//!   IER), so reading IIR/RBR or masking IER lowers it. Use it for level-sensitive
//!   controllers (a GIC SPI, an IOAPIC pin via `KVM_IRQ_LINE`).
//! - [`IrqMode::Edge`]: vm-superio's own trigger, one [`IrqLine::pulse`] per newly
//!   raised interrupt cause. Use it for edge wiring such as a KVM irqfd.
//!
//! Registers sit at offsets 0..8 from the device base, shifted left by `reg_shift`
//! for MMIO UARTs with a register stride (device-tree `reg-shift`). Output goes to any
//! `Write + Send`; write errors are counted, never fatal (the guest cannot be told).

use std::convert::Infallible;
use std::fmt;
use std::io::{self, Write};
use std::sync::Arc;

use vm_superio::serial::{Error as UartError, NoEvents};
use vm_superio::Trigger;

use crate::bus::BusDevice;
use crate::irq::IrqLine;

/// Number of byte registers a 16550 decodes (before `reg_shift`).
pub const SERIAL_REGISTERS: u64 = 8;
/// Size of the receive FIFO modelled by vm-superio.
pub const SERIAL_FIFO_SIZE: usize = 64;

// Register offsets and bits used to derive the interrupt level.
const IER_RDA: u8 = 0b0001;
const IER_THRE: u8 = 0b0010;
const IIR_RDA: u8 = 0b0100;
const IIR_THRE: u8 = 0b0010;

/// How the UART's interrupt output is signalled on its [`IrqLine`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum IrqMode {
    /// Drive the line to the current interrupt condition after every access.
    #[default]
    Level,
    /// Pulse the line once each time a new interrupt cause is raised.
    Edge,
}

/// Errors from the board-facing side of the UART.
#[derive(Debug)]
pub enum SerialError {
    /// The 64-byte receive FIFO is full; the guest has not read it yet.
    FifoFull,
    /// Writing guest output to the host sink failed.
    Output(io::Error),
}

impl fmt::Display for SerialError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SerialError::FifoFull => write!(
                f,
                "the UART receive FIFO is full ({SERIAL_FIFO_SIZE} bytes); retry the input \
                 after the guest reads RBR (see fifo_capacity())"
            ),
            SerialError::Output(e) => write!(f, "writing UART output to the host failed: {e}"),
        }
    }
}

impl std::error::Error for SerialError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            SerialError::Output(e) => Some(e),
            SerialError::FifoFull => None,
        }
    }
}

impl From<UartError<Infallible>> for SerialError {
    fn from(e: UartError<Infallible>) -> Self {
        match e {
            UartError::FullFifo => SerialError::FifoFull,
            UartError::IOError(e) => SerialError::Output(e),
            UartError::Trigger(never) => match never {},
        }
    }
}

/// Adaptor from vm-superio's `Trigger` to an [`IrqLine`].
struct LineTrigger {
    line: Arc<dyn IrqLine>,
    mode: IrqMode,
}

impl Trigger for LineTrigger {
    type E = Infallible;

    fn trigger(&self) -> Result<(), Infallible> {
        // In level mode the level is recomputed after each access instead.
        if self.mode == IrqMode::Edge {
            self.line.pulse();
        }
        Ok(())
    }
}

/// A 16550A UART writing guest output to `W`.
pub struct Serial<W: Write> {
    uart: vm_superio::Serial<LineTrigger, NoEvents, W>,
    line: Arc<dyn IrqLine>,
    mode: IrqMode,
    level: bool,
    reg_shift: u32,
    output_errors: u64,
}

impl<W: Write> fmt::Debug for Serial<W> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Serial")
            .field("state", &self.uart.state())
            .field("mode", &self.mode)
            .field("level", &self.level)
            .field("reg_shift", &self.reg_shift)
            .field("output_errors", &self.output_errors)
            .finish()
    }
}

impl<W: Write> Serial<W> {
    /// A UART in its reset state, with level-mode interrupts on `line` and registers
    /// at consecutive byte offsets.
    pub fn new(out: W, line: Arc<dyn IrqLine>) -> Self {
        Self::with_mode(out, line, IrqMode::Level)
    }

    /// A UART in its reset state with the given interrupt wiring.
    pub fn with_mode(out: W, line: Arc<dyn IrqLine>, mode: IrqMode) -> Self {
        let trigger = LineTrigger { line: line.clone(), mode };
        Serial { uart: vm_superio::Serial::new(trigger, out), line, mode, level: false, reg_shift: 0, output_errors: 0 }
    }

    /// Spaces the registers `1 << shift` bytes apart on the bus (device-tree
    /// `reg-shift`, e.g. 2 for 32-bit-strided MMIO UARTs). Shifts above 3 are clamped.
    pub fn with_reg_shift(mut self, shift: u32) -> Self {
        self.reg_shift = shift.min(3);
        self
    }

    /// Bus span the UART needs: `8 << reg_shift` bytes.
    pub fn bus_len(&self) -> u64 {
        SERIAL_REGISTERS << self.reg_shift
    }

    /// The interrupt wiring in use.
    pub fn irq_mode(&self) -> IrqMode {
        self.mode
    }

    /// Reads register `reg` (0..8) as the guest would, with its side effects.
    pub fn read_register(&mut self, reg: u8) -> u8 {
        let value = if u64::from(reg) < SERIAL_REGISTERS { self.uart.read(reg) } else { 0 };
        self.sync_level();
        value
    }

    /// Writes register `reg` (0..8) as the guest would.
    pub fn write_register(&mut self, reg: u8, value: u8) {
        if u64::from(reg) < SERIAL_REGISTERS {
            if let Err(e) = self.uart.write(reg, value) {
                self.output_errors += 1;
                log::warn!("serial: {}", SerialError::from(e));
            }
        }
        self.sync_level();
    }

    /// Queues bytes for the guest to read from RBR, raising the receive interrupt if
    /// enabled. Returns how many bytes fit in the FIFO (the rest must be retried
    /// later); fails with [`SerialError::FifoFull`] when none fit. In loopback mode
    /// input is ignored and `Ok(0)` is returned.
    pub fn enqueue_input(&mut self, input: &[u8]) -> Result<usize, SerialError> {
        let result = self.uart.enqueue_raw_bytes(input).map_err(SerialError::from);
        self.sync_level();
        result
    }

    /// Free space in the receive FIFO, in bytes.
    pub fn fifo_capacity(&self) -> usize {
        self.uart.fifo_capacity()
    }

    /// Whether an enabled interrupt cause is pending (the level-mode line state).
    pub fn irq_pending(&self) -> bool {
        let state = self.uart.state();
        let iir = state.interrupt_identification;
        let ier = state.interrupt_enable;
        (iir & IIR_RDA != 0 && ier & IER_RDA != 0) || (iir & IIR_THRE != 0 && ier & IER_THRE != 0)
    }

    /// Number of guest output bytes the host sink failed to take.
    pub fn output_errors(&self) -> u64 {
        self.output_errors
    }

    /// The output sink.
    pub fn writer(&self) -> &W {
        self.uart.writer()
    }

    /// The output sink, mutably.
    pub fn writer_mut(&mut self) -> &mut W {
        self.uart.writer_mut()
    }

    /// Consumes the UART, returning its output sink.
    pub fn into_writer(self) -> W {
        self.uart.into_writer()
    }

    fn sync_level(&mut self) {
        if self.mode != IrqMode::Level {
            return;
        }
        let pending = self.irq_pending();
        if pending != self.level {
            self.level = pending;
            self.line.set_level(pending);
        }
    }

    fn register_of(&self, offset: u64) -> Option<u8> {
        let stride_mask = (1u64 << self.reg_shift) - 1;
        if offset & stride_mask != 0 {
            return None;
        }
        let reg = offset >> self.reg_shift;
        (reg < SERIAL_REGISTERS).then_some(reg as u8)
    }
}

impl<W: Write> BusDevice for Serial<W> {
    fn read(&mut self, _base: u64, offset: u64, data: &mut [u8]) {
        data.fill(0);
        match (self.register_of(offset), data.first_mut()) {
            (Some(reg), Some(first)) => *first = self.read_register(reg),
            _ => log::debug!("serial: ignored read at offset {offset:#x}"),
        }
    }

    fn write(&mut self, _base: u64, offset: u64, data: &[u8]) {
        match (self.register_of(offset), data.first()) {
            (Some(reg), Some(&value)) => self.write_register(reg, value),
            _ => log::debug!("serial: ignored write at offset {offset:#x}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::irq::{IrqEvent, RecordingIrqLine};
    use std::sync::Mutex;

    const RBR_THR: u8 = 0;
    const IER: u8 = 1;
    const IIR: u8 = 2;
    const LCR: u8 = 3;
    const MCR: u8 = 4;
    const LSR: u8 = 5;
    const MSR: u8 = 6;
    const SCR: u8 = 7;

    const LSR_DR: u8 = 0x01;
    const LSR_THRE: u8 = 0x20;
    const LSR_TEMT: u8 = 0x40;
    const IIR_NONE: u8 = 0x01;
    const IIR_FIFO: u8 = 0xc0;

    /// A cloneable `Write` sink so tests can look at the output.
    #[derive(Clone, Default)]
    struct Sink(Arc<Mutex<Vec<u8>>>);

    impl Write for Sink {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    struct Broken;
    impl Write for Broken {
        fn write(&mut self, _: &[u8]) -> io::Result<usize> {
            Err(io::Error::other("sink closed"))
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    fn uart(mode: IrqMode) -> (Serial<Sink>, Sink, Arc<RecordingIrqLine>) {
        let sink = Sink::default();
        let line = Arc::new(RecordingIrqLine::new());
        (Serial::with_mode(sink.clone(), line.clone(), mode), sink, line)
    }

    fn bus_read(s: &mut Serial<Sink>, off: u64) -> u8 {
        let mut d = [0u8; 1];
        BusDevice::read(s, 0x3f8, off, &mut d);
        d[0]
    }

    fn bus_write(s: &mut Serial<Sink>, off: u64, v: u8) {
        BusDevice::write(s, 0x3f8, off, &[v]);
    }

    #[test]
    fn thr_write_reaches_output() {
        let (mut s, sink, _) = uart(IrqMode::Level);
        for b in b"hi\n" {
            bus_write(&mut s, RBR_THR.into(), *b);
        }
        assert_eq!(&*sink.0.lock().unwrap(), b"hi\n");
        assert_eq!(s.output_errors(), 0);
    }

    #[test]
    fn reset_register_values() {
        let (mut s, _, line) = uart(IrqMode::Level);
        assert_eq!(bus_read(&mut s, LSR.into()), LSR_THRE | LSR_TEMT);
        assert_eq!(bus_read(&mut s, IIR.into()), IIR_FIFO | IIR_NONE);
        assert_eq!(bus_read(&mut s, IER.into()), 0);
        assert_eq!(bus_read(&mut s, LCR.into()), 0x03);
        assert_eq!(bus_read(&mut s, MCR.into()), 0x08);
        assert_eq!(bus_read(&mut s, MSR.into()) & 0xb0, 0xb0); // CTS, DSR, DCD
        bus_write(&mut s, SCR.into(), 0x5a);
        assert_eq!(bus_read(&mut s, SCR.into()), 0x5a);
        assert!(line.events().is_empty());
    }

    #[test]
    fn dlab_divisor_latch() {
        let (mut s, sink, _) = uart(IrqMode::Level);
        bus_write(&mut s, LCR.into(), 0x80 | 0x03);
        bus_write(&mut s, 0, 0x01); // DLL: 115200 baud
        bus_write(&mut s, 1, 0x00); // DLM
        assert_eq!(bus_read(&mut s, 0), 0x01);
        assert_eq!(bus_read(&mut s, 1), 0x00);
        // Divisor writes are not output and do not touch IER.
        assert!(sink.0.lock().unwrap().is_empty());
        bus_write(&mut s, LCR.into(), 0x03);
        assert_eq!(bus_read(&mut s, IER.into()), 0);
        bus_write(&mut s, 0, b'x');
        assert_eq!(&*sink.0.lock().unwrap(), b"x");
        // The latch kept its value.
        bus_write(&mut s, LCR.into(), 0x83);
        assert_eq!(bus_read(&mut s, 0), 0x01);
    }

    #[test]
    fn input_injection_readable_via_rbr() {
        let (mut s, _, _) = uart(IrqMode::Level);
        assert_eq!(s.enqueue_input(b"ok").unwrap(), 2);
        assert_eq!(bus_read(&mut s, LSR.into()) & LSR_DR, LSR_DR);
        assert_eq!(bus_read(&mut s, 0), b'o');
        assert_eq!(bus_read(&mut s, LSR.into()) & LSR_DR, LSR_DR);
        assert_eq!(bus_read(&mut s, 0), b'k');
        assert_eq!(bus_read(&mut s, LSR.into()) & LSR_DR, 0);
        // An empty FIFO reads as 0.
        assert_eq!(bus_read(&mut s, 0), 0);
    }

    #[test]
    fn fifo_overflow_is_reported() {
        let (mut s, _, _) = uart(IrqMode::Level);
        let big = [b'a'; SERIAL_FIFO_SIZE + 10];
        assert_eq!(s.enqueue_input(&big).unwrap(), SERIAL_FIFO_SIZE);
        assert_eq!(s.fifo_capacity(), 0);
        let err = s.enqueue_input(b"z").unwrap_err();
        assert!(matches!(err, SerialError::FifoFull));
        assert!(err.to_string().contains("FIFO is full"));
        assert_eq!(s.enqueue_input(b"").unwrap(), 0);
    }

    #[test]
    fn rx_interrupt_raise_and_clear_level() {
        let (mut s, _, line) = uart(IrqMode::Level);
        // Input with RX interrupts disabled raises nothing.
        s.enqueue_input(b"a").unwrap();
        assert!(!line.level());
        assert!(line.events().is_empty());
        // Enabling RDA with data pending raises the line at once.
        bus_write(&mut s, IER.into(), IER_RDA);
        assert!(line.level());
        assert_eq!(bus_read(&mut s, IIR.into()), IIR_FIFO | IIR_RDA);
        // Reading IIR acknowledges in this model.
        assert!(!line.level());
        assert_eq!(bus_read(&mut s, 0), b'a');
        assert_eq!(bus_read(&mut s, IIR.into()), IIR_FIFO | IIR_NONE);
        // New input raises again; draining RBR clears.
        s.enqueue_input(b"b").unwrap();
        assert!(line.level());
        assert_eq!(bus_read(&mut s, 0), b'b');
        assert!(!line.level());
        assert_eq!(
            line.take_events(),
            vec![IrqEvent::Level(true), IrqEvent::Level(false), IrqEvent::Level(true), IrqEvent::Level(false)]
        );
    }

    #[test]
    fn thre_interrupt_and_ier_masking() {
        let (mut s, _, line) = uart(IrqMode::Level);
        bus_write(&mut s, IER.into(), IER_THRE);
        // THR is always empty in this model: enabling THRE raises immediately.
        assert!(line.level());
        assert_eq!(bus_read(&mut s, IIR.into()), IIR_FIFO | IIR_THRE);
        assert!(!line.level());
        // A transmitted byte raises THRE again.
        bus_write(&mut s, 0, b'x');
        assert!(line.level());
        // Masking IER drops the line even though IIR was not read.
        bus_write(&mut s, IER.into(), 0);
        assert!(!line.level());
        assert_eq!(bus_read(&mut s, IER.into()), 0);
    }

    #[test]
    fn edge_mode_pulses_per_cause() {
        let (mut s, _, line) = uart(IrqMode::Edge);
        bus_write(&mut s, IER.into(), IER_RDA);
        s.enqueue_input(b"a").unwrap();
        assert_eq!(line.events(), vec![IrqEvent::Pulse]);
        // Already pending: no second pulse until acknowledged.
        s.enqueue_input(b"b").unwrap();
        assert_eq!(line.pulse_count(), 1);
        bus_read(&mut s, IIR.into());
        bus_read(&mut s, 0);
        bus_read(&mut s, 0);
        s.enqueue_input(b"c").unwrap();
        assert_eq!(line.pulse_count(), 2);
        assert!(line.events().iter().all(|e| *e == IrqEvent::Pulse));
    }

    #[test]
    fn loopback_mode() {
        let (mut s, sink, _) = uart(IrqMode::Level);
        bus_write(&mut s, MCR.into(), 0x10 | 0x08);
        bus_write(&mut s, 0, b'L');
        assert!(sink.0.lock().unwrap().is_empty());
        assert_eq!(bus_read(&mut s, 0), b'L');
        assert_eq!(s.enqueue_input(b"x").unwrap(), 0);
    }

    #[test]
    fn reg_shift_and_odd_accesses() {
        let sink = Sink::default();
        let line = Arc::new(RecordingIrqLine::new());
        let mut s = Serial::new(sink.clone(), line).with_reg_shift(2);
        assert_eq!(s.bus_len(), 32);
        // 32-bit access to LSR at offset 5 << 2.
        let mut d = [0xffu8; 4];
        BusDevice::read(&mut s, 0, 20, &mut d);
        assert_eq!(d, [LSR_THRE | LSR_TEMT, 0, 0, 0]);
        BusDevice::write(&mut s, 0, 0, &[b'q', 1, 2, 3]);
        assert_eq!(&*sink.0.lock().unwrap(), b"q");
        // Misaligned, out-of-range and empty accesses are ignored without panicking.
        let mut d = [0xffu8; 1];
        BusDevice::read(&mut s, 0, 3, &mut d);
        assert_eq!(d, [0]);
        BusDevice::read(&mut s, 0, 1 << 40, &mut d);
        BusDevice::write(&mut s, 0, 64, &[1]);
        BusDevice::write(&mut s, 0, 0, &[]);
        BusDevice::read(&mut s, 0, 0, &mut []);
        assert_eq!(&*sink.0.lock().unwrap(), b"q");
    }

    #[test]
    fn output_errors_are_counted() {
        let line = Arc::new(RecordingIrqLine::new());
        let mut s = Serial::new(Broken, line.clone());
        s.write_register(IER, IER_THRE);
        s.read_register(IIR);
        s.write_register(RBR_THR, b'x');
        assert_eq!(s.output_errors(), 1);
        // THRE is still raised so the guest driver does not stall.
        assert!(line.level());
    }
}
