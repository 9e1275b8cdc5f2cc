//! Virtio devices: the [`VirtioDevice`] trait that device models implement, the
//! virtio-mmio transport that exposes them on a bus ([`mmio`]), and the devices
//! themselves ([`block`]).
//!
//! Split virtqueues are handled by the rust-vmm `virtio-queue` crate over a
//! `vm-memory` [`GuestMem`]. Processing is synchronous: a guest write to
//! `QueueNotify` runs the device's queue handler on the calling (vCPU or JIT) thread
//! before the write returns. [`drain_queue`] is the one place that walks the
//! available ring, so every device gets the same bounds: at most one ring's worth
//! of chains per round, descriptor chains cut at the queue size (so loops end), and
//! a queue whose rings cannot be accessed is reported, never spun on.

pub mod block;
pub mod mmio;

use std::fmt;

pub use virtio_queue::{DescriptorChain, Queue, QueueOwnedT, QueueT};

/// Guest memory as the device layer sees it: host mappings of guest-physical ranges.
pub type GuestMem = vm_memory::GuestMemoryMmap<()>;

/// Feature bit: the device complies with virtio 1.0+ (always offered by the transport).
pub const VIRTIO_F_VERSION_1: u64 = 1 << virtio_bindings::virtio_config::VIRTIO_F_VERSION_1;
/// Feature bit: the driver may use indirect descriptor tables.
pub const VIRTIO_RING_F_INDIRECT_DESC: u64 = 1 << virtio_bindings::virtio_ring::VIRTIO_RING_F_INDIRECT_DESC;
/// Feature bit: used/avail event index notification suppression.
pub const VIRTIO_RING_F_EVENT_IDX: u64 = 1 << virtio_bindings::virtio_ring::VIRTIO_RING_F_EVENT_IDX;

/// A virtio device model, independent of the transport that exposes it.
///
/// The transport owns the queues and guest memory and calls the device when the
/// driver configures it or notifies a queue. Implementations must not block for long
/// and must never panic on guest-controlled input.
pub trait VirtioDevice: Send {
    /// The virtio device ID (`VIRTIO_ID_*`, e.g. 2 for block).
    fn device_type(&self) -> u32;

    /// The maximum size of each queue (each a power of two, at most 32768); the
    /// slice's length is the number of queues.
    fn queue_max_sizes(&self) -> &[u16];

    /// Feature bits the device offers. The transport adds [`VIRTIO_F_VERSION_1`].
    fn device_features(&self) -> u64;

    /// The features the driver accepted, given when the driver sets `FEATURES_OK`
    /// (always a subset of [`VirtioDevice::device_features`] plus `VERSION_1`).
    fn set_acked_features(&mut self, _features: u64) {}

    /// Reads the device-specific configuration space at `offset`, filling all of
    /// `data` (bytes beyond the device's config read as zero).
    fn read_config(&self, offset: u64, data: &mut [u8]);

    /// Writes the device-specific configuration space; devices with a read-only
    /// config ignore it.
    fn write_config(&mut self, _offset: u64, _data: &[u8]) {}

    /// Called when the driver sets `DRIVER_OK` with every queue configured.
    fn activate(&mut self) -> Result<(), VirtioError> {
        Ok(())
    }

    /// Processes the available buffers of queue `index`. Returns whether the driver
    /// must be interrupted (used buffers were added and notification is not
    /// suppressed). An error means the queue itself is unusable; the transport then
    /// marks the device `NEEDS_RESET`.
    fn process_queue(&mut self, index: usize, queue: &mut Queue, mem: &GuestMem) -> Result<bool, VirtioError>;

    /// Returns the device to its initial state (driver wrote 0 to `Status`).
    fn reset(&mut self);
}

/// Errors of the virtio layer.
#[derive(Debug)]
pub enum VirtioError {
    /// The virtqueue's rings could not be read or written (bad guest addresses,
    /// an available index that runs ahead of the queue size, ...).
    Queue {
        /// Index of the queue.
        index: usize,
        /// What virtio-queue reported.
        source: virtio_queue::Error,
    },
    /// The driver's queue configuration is invalid (size or ring placement).
    InvalidQueueConfig {
        /// Index of the queue.
        index: usize,
        /// Which part is wrong.
        reason: String,
    },
    /// A device declared a queue maximum size that is not a power of two in 1..=32768.
    InvalidQueueMaxSize {
        /// Index of the queue.
        index: usize,
        /// The rejected size.
        size: u16,
    },
    /// A device declared no queues at all.
    NoQueues,
}

impl fmt::Display for VirtioError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            VirtioError::Queue { index, source } => write!(
                f,
                "virtqueue {index} is unusable ({source}); the guest driver must reset \
                 the device"
            ),
            VirtioError::InvalidQueueConfig { index, reason } => write!(
                f,
                "the guest configured virtqueue {index} wrongly: {reason}; the queue was \
                 not enabled"
            ),
            VirtioError::InvalidQueueMaxSize { index, size } => write!(
                f,
                "device queue {index} declares maximum size {size}; use a power of two \
                 between 1 and 32768"
            ),
            VirtioError::NoQueues => {
                write!(f, "a virtio device must declare at least one queue")
            }
        }
    }
}

impl std::error::Error for VirtioError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            VirtioError::Queue { source, .. } => Some(source),
            _ => None,
        }
    }
}

/// Pops every available descriptor chain of `queue`, hands it to `handle`, and puts
/// it on the used ring with the length `handle` returns (bytes written into the
/// chain's device-writable buffers). Returns whether the driver must be notified.
///
/// Work is bounded: each round pops at most what the available index announces (the
/// queue rejects an index more than `size` ahead), a new round starts only when the
/// driver added chains meanwhile, and a round that pops nothing ends the loop. A
/// chain whose head index is out of range cannot be returned and is dropped.
pub fn drain_queue<F>(index: usize, queue: &mut Queue, mem: &GuestMem, mut handle: F) -> Result<bool, VirtioError>
where
    F: FnMut(DescriptorChain<&GuestMem>) -> u32,
{
    let qerr = |source| VirtioError::Queue { index, source };
    let mut used_any = false;
    loop {
        queue.disable_notification(mem).map_err(qerr)?;
        let mut popped = 0usize;
        loop {
            let chain = queue.iter(mem).map_err(qerr)?.next();
            let Some(chain) = chain else { break };
            popped += 1;
            let head = chain.head_index();
            let len = handle(chain);
            match queue.add_used(mem, head, len) {
                Ok(()) => used_any = true,
                Err(virtio_queue::Error::InvalidDescriptorIndex) => {
                    log::warn!("virtio: queue {index}: dropped chain with bad head {head}");
                }
                Err(e) => return Err(qerr(e)),
            }
        }
        let more = queue.enable_notification(mem).map_err(qerr)?;
        if !more || popped == 0 {
            break;
        }
    }
    if used_any {
        queue.needs_notification(mem).map_err(qerr)
    } else {
        Ok(false)
    }
}

#[cfg(test)]
pub(crate) mod testutil;
