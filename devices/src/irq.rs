//! One interrupt line from a device to whatever interrupt controller the board has.
//!
//! A device model only says "my output is high/low" ([`IrqLine::set_level`]) or
//! "signal one edge" ([`IrqLine::pulse`]). The board decides what that means: a KVM
//! board turns it into `KVM_IRQ_LINE` or an irqfd write, a JIT board into a pin on its
//! emulated GIC/PIC. [`RecordingIrqLine`] records transitions for tests.

use std::sync::{Mutex, PoisonError};

/// An interrupt line driven by a device.
///
/// Implementations must be cheap and must not call back into the device (devices call
/// this while their own lock is held).
pub trait IrqLine: Send + Sync {
    /// Drives the line to `high` (asserted) or low (deasserted). Devices with level
    /// semantics call this on every change of their interrupt output.
    fn set_level(&self, high: bool);

    /// Signals one edge (assert then deassert) for edge-triggered wiring.
    fn pulse(&self) {
        self.set_level(true);
        self.set_level(false);
    }
}

/// A line connected to nothing: every signal is dropped.
#[derive(Clone, Copy, Debug, Default)]
pub struct NoIrq;

impl IrqLine for NoIrq {
    fn set_level(&self, _high: bool) {}
    fn pulse(&self) {}
}

/// One recorded signal on a [`RecordingIrqLine`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IrqEvent {
    /// `set_level(high)` was called with this value.
    Level(bool),
    /// `pulse()` was called.
    Pulse,
}

#[derive(Debug, Default)]
struct Recording {
    events: Vec<IrqEvent>,
    level: bool,
}

/// A test line that records every call, in order, and tracks the current level.
#[derive(Debug, Default)]
pub struct RecordingIrqLine {
    inner: Mutex<Recording>,
}

impl RecordingIrqLine {
    /// A line that starts low with no recorded events.
    pub fn new() -> Self {
        Self::default()
    }

    /// The current level (the last `set_level` value; pulses leave it unchanged).
    pub fn level(&self) -> bool {
        self.lock().level
    }

    /// All events recorded so far.
    pub fn events(&self) -> Vec<IrqEvent> {
        self.lock().events.clone()
    }

    /// All events recorded so far, clearing the record.
    pub fn take_events(&self) -> Vec<IrqEvent> {
        std::mem::take(&mut self.lock().events)
    }

    /// Number of `pulse()` calls recorded so far.
    pub fn pulse_count(&self) -> usize {
        self.lock().events.iter().filter(|e| **e == IrqEvent::Pulse).count()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Recording> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl IrqLine for RecordingIrqLine {
    fn set_level(&self, high: bool) {
        let mut r = self.lock();
        r.level = high;
        r.events.push(IrqEvent::Level(high));
    }

    fn pulse(&self) {
        self.lock().events.push(IrqEvent::Pulse);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recording_line_tracks_transitions() {
        let line = RecordingIrqLine::new();
        assert!(!line.level());
        line.set_level(true);
        assert!(line.level());
        line.pulse();
        line.set_level(false);
        assert_eq!(line.events(), vec![IrqEvent::Level(true), IrqEvent::Pulse, IrqEvent::Level(false)]);
        assert_eq!(line.pulse_count(), 1);
        assert_eq!(line.take_events().len(), 3);
        assert!(line.events().is_empty());
        assert!(!line.level());
    }

    #[test]
    fn default_pulse_is_high_then_low() {
        struct LevelOnly(RecordingIrqLine);
        impl IrqLine for LevelOnly {
            fn set_level(&self, high: bool) {
                self.0.set_level(high);
            }
        }
        let line = LevelOnly(RecordingIrqLine::new());
        line.pulse();
        assert_eq!(line.0.events(), vec![IrqEvent::Level(true), IrqEvent::Level(false)]);
        NoIrq.pulse();
        NoIrq.set_level(true);
    }
}
