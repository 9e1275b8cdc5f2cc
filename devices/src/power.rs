//! What guest power-off and reset need on a PC-style board without ACPI.
//!
//! - [`PowerLatch`]: the first power event the guest requested, shared between the
//!   devices that detect it and the board loop that acts on it.
//! - [`I8042`]: the keyboard controller's command/status port (0x64) and data port
//!   (0x60), answering just enough for Linux's i8042 probe (controller self-test,
//!   command byte read/write, port tests) and turning the pulse-reset command `0xFE`
//!   into [`PowerEvent::Reset`] (Linux `reboot=k`). No keyboard is attached.
//! - [`ExitPort`]: a one-byte port (0xf4 on the x86-kvm board, like QEMU's
//!   isa-debug-exit) whose write of `N` is [`PowerEvent::PowerOff`] with status `N`.
//!   A Linux guest without ACPI has no other way to power off: its `poweroff` halts
//!   the CPUs, which a KVM host cannot tell from an idle guest. Guest userspace writes
//!   it through `/dev/port`.

use std::sync::{Arc, Mutex, PoisonError};

use crate::bus::BusDevice;

/// A power event requested by the guest.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PowerEvent {
    /// Power off with this exit status (0 = clean).
    PowerOff(u8),
    /// Reset the machine (reboot, or a kernel panic with `panic=-1`).
    Reset,
}

/// Holds the first [`PowerEvent`] the guest requested; later ones are ignored.
#[derive(Clone, Debug, Default)]
pub struct PowerLatch(Arc<Mutex<Option<PowerEvent>>>);

impl PowerLatch {
    /// A latch with no event.
    pub fn new() -> Self {
        Self::default()
    }

    /// Records `event` unless one was recorded before.
    pub fn set(&self, event: PowerEvent) {
        let mut g = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        if g.is_none() {
            *g = Some(event);
        }
    }

    /// The recorded event, if any.
    pub fn get(&self) -> Option<PowerEvent> {
        *self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Status register bits.
const STATUS_OBF: u8 = 0x01; // output buffer full: a byte waits at port 0x60
const STATUS_SYS: u8 = 0x04; // system flag: self-test passed
const STATUS_CMD: u8 = 0x08; // last write was a command

/// Controller commands understood.
mod cmd {
    pub const READ_CTR: u8 = 0x20;
    pub const WRITE_CTR: u8 = 0x60;
    pub const DISABLE_AUX: u8 = 0xa7;
    pub const ENABLE_AUX: u8 = 0xa8;
    pub const TEST_AUX: u8 = 0xa9;
    pub const SELF_TEST: u8 = 0xaa;
    pub const TEST_KBD: u8 = 0xab;
    pub const DISABLE_KBD: u8 = 0xad;
    pub const ENABLE_KBD: u8 = 0xae;
    pub const READ_OUTPORT: u8 = 0xd0;
    pub const WRITE_OUTPORT: u8 = 0xd1;
    pub const PULSE_RESET: u8 = 0xfe;
}

/// A minimal 8042 keyboard controller with no devices behind it. Map it at ports
/// ports 0x60 and 0x64 (each a one-port range); the register is chosen by the access
/// address's low 3 bits.
#[derive(Debug)]
pub struct I8042 {
    latch: PowerLatch,
    ctr: u8,
    status: u8,
    out: Option<u8>,
    pending_write: Option<u8>,
}

impl I8042 {
    /// A controller reporting resets into `latch`.
    pub fn new(latch: PowerLatch) -> Self {
        // CTR: translation on, both ports disabled, no interrupts.
        I8042 { latch, ctr: 0x70, status: STATUS_SYS, out: None, pending_write: None }
    }

    fn push(&mut self, b: u8) {
        self.out = Some(b);
    }

    fn command(&mut self, c: u8) {
        self.status |= STATUS_CMD;
        match c {
            cmd::READ_CTR => self.push(self.ctr),
            cmd::WRITE_CTR | cmd::WRITE_OUTPORT => self.pending_write = Some(c),
            cmd::SELF_TEST => self.push(0x55),
            cmd::TEST_KBD | cmd::TEST_AUX => self.push(0x00),
            cmd::READ_OUTPORT => self.push(0x01),
            cmd::DISABLE_AUX => self.ctr |= 0x20,
            cmd::ENABLE_AUX => self.ctr &= !0x20,
            cmd::DISABLE_KBD => self.ctr |= 0x10,
            cmd::ENABLE_KBD => self.ctr &= !0x10,
            cmd::PULSE_RESET => self.latch.set(PowerEvent::Reset),
            other => log::debug!("i8042: command {other:#x} ignored"),
        }
    }

    fn data(&mut self, b: u8) {
        self.status &= !STATUS_CMD;
        match self.pending_write.take() {
            Some(cmd::WRITE_CTR) => self.ctr = b,
            Some(_) => {
                // Output port: bit 0 clear pulses the reset line.
                if b & 1 == 0 {
                    self.latch.set(PowerEvent::Reset);
                }
            }
            // A byte for the keyboard, which is absent: answer nothing (the
            // driver times out and reports no keyboard).
            None => log::debug!("i8042: keyboard byte {b:#x} dropped (no keyboard)"),
        }
    }
}

impl BusDevice for I8042 {
    fn read(&mut self, base: u64, offset: u64, data: &mut [u8]) {
        data.fill(0);
        let port = (base + offset) & 0x7;
        data[0] = match port {
            0 => self.out.take().unwrap_or(0),
            4 => self.status | if self.out.is_some() { STATUS_OBF } else { 0 },
            _ => 0xff,
        };
    }

    fn write(&mut self, base: u64, offset: u64, data: &[u8]) {
        let Some(&b) = data.first() else { return };
        match (base + offset) & 0x7 {
            0 => self.data(b),
            4 => self.command(b),
            _ => {}
        }
    }
}

/// A port whose one-byte write `N` requests [`PowerEvent::PowerOff`] with status `N`.
#[derive(Debug)]
pub struct ExitPort {
    latch: PowerLatch,
}

impl ExitPort {
    /// A port reporting into `latch`.
    pub fn new(latch: PowerLatch) -> Self {
        ExitPort { latch }
    }
}

impl BusDevice for ExitPort {
    fn read(&mut self, _base: u64, _offset: u64, data: &mut [u8]) {
        data.fill(0);
    }

    fn write(&mut self, _base: u64, _offset: u64, data: &[u8]) {
        if let Some(&b) = data.first() {
            self.latch.set(PowerEvent::PowerOff(b));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rd(d: &mut I8042, port: u64) -> u8 {
        let mut b = [0u8];
        d.read(0x60, port - 0x60, &mut b);
        b[0]
    }

    fn wr(d: &mut I8042, port: u64, v: u8) {
        d.write(0x60, port - 0x60, &[v]);
    }

    #[test]
    fn i8042_probe_sequence_and_reset() {
        let latch = PowerLatch::new();
        let mut k = I8042::new(latch.clone());
        assert_eq!(rd(&mut k, 0x64) & STATUS_OBF, 0);
        wr(&mut k, 0x64, cmd::READ_CTR);
        assert_eq!(rd(&mut k, 0x64) & STATUS_OBF, STATUS_OBF);
        assert_eq!(rd(&mut k, 0x60), 0x70);
        assert_eq!(rd(&mut k, 0x64) & STATUS_OBF, 0);
        wr(&mut k, 0x64, cmd::WRITE_CTR);
        wr(&mut k, 0x60, 0x45);
        wr(&mut k, 0x64, cmd::READ_CTR);
        assert_eq!(rd(&mut k, 0x60), 0x45);
        wr(&mut k, 0x64, cmd::SELF_TEST);
        assert_eq!(rd(&mut k, 0x60), 0x55);
        wr(&mut k, 0x60, 0xff); // to the absent keyboard
        assert_eq!(rd(&mut k, 0x64) & STATUS_OBF, 0);
        assert_eq!(latch.get(), None);
        wr(&mut k, 0x64, cmd::PULSE_RESET);
        assert_eq!(latch.get(), Some(PowerEvent::Reset));
    }

    #[test]
    fn exit_port_latches_first_event() {
        let latch = PowerLatch::new();
        let mut p = ExitPort::new(latch.clone());
        p.write(0xf4, 0, &[3]);
        p.write(0xf4, 0, &[0]);
        latch.set(PowerEvent::Reset);
        assert_eq!(latch.get(), Some(PowerEvent::PowerOff(3)));
        let mut b = [9u8; 2];
        p.read(0xf4, 0, &mut b);
        assert_eq!(b, [0, 0]);
        p.write(0xf4, 0, &[]);
    }
}
