//! virtio-blk backed by a raw disk image file.
//!
//! One request queue; requests are served synchronously when the driver notifies it.
//! Supported requests: `IN` (read), `OUT` (write), `FLUSH` (`File::sync_data`) and
//! `GET_ID`; anything else completes with `VIRTIO_BLK_S_UNSUPP`. Capacity is the
//! image size in 512-byte sectors (a trailing partial sector is not exposed).
//!
//! Every malformed request completes rather than wedging the queue: a request the
//! device can answer gets `VIRTIO_BLK_S_IOERR` in its status byte (the last byte of
//! the last device-writable descriptor); one with no usable status byte at all is put
//! on the used ring with length 0. What counts as malformed: a descriptor chain cut
//! short (a loop, a `next` out of range, an unreadable descriptor), a chain longer
//! than the queue size (the most `seg_max` allows), device-writable buffers before
//! device-readable ones, buffers outside guest memory, a header shorter than 16
//! bytes, a data length that is not a whole number of sectors, and any access past
//! the end of the disk. Writes to a read-only disk fail with `IOERR` and the
//! device advertises `VIRTIO_BLK_F_RO`. Data moves through a fixed 64 KiB bounce
//! buffer, so a huge descriptor length never turns into a huge allocation.

use std::fmt;
use std::fs::{File, OpenOptions};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::os::unix::fs::{FileExt, MetadataExt};
use std::path::{Path, PathBuf};

use virtio_bindings::virtio_blk::{
    VIRTIO_BLK_F_FLUSH, VIRTIO_BLK_F_RO, VIRTIO_BLK_F_SEG_MAX, VIRTIO_BLK_ID_BYTES, VIRTIO_BLK_S_IOERR,
    VIRTIO_BLK_S_OK, VIRTIO_BLK_S_UNSUPP, VIRTIO_BLK_T_FLUSH, VIRTIO_BLK_T_GET_ID, VIRTIO_BLK_T_IN, VIRTIO_BLK_T_OUT,
};
use virtio_bindings::virtio_ids::VIRTIO_ID_BLOCK;
use virtio_queue::desc::split::Descriptor;
use virtio_queue::{Reader, Writer};
use vm_memory::{Address, Bytes, GuestAddress, GuestMemoryBackend};

use super::{
    drain_queue, DescriptorChain, GuestMem, Queue, VirtioDevice, VirtioError, VIRTIO_RING_F_EVENT_IDX,
    VIRTIO_RING_F_INDIRECT_DESC,
};

/// Bytes per virtio-blk sector (fixed by the spec, independent of `blk_size`).
pub const SECTOR_SIZE: u64 = 512;
/// Default (and maximum advertised) request queue size.
pub const DEFAULT_QUEUE_SIZE: u16 = 256;
/// Length of the identifier returned by `GET_ID`.
pub const ID_BYTES: usize = VIRTIO_BLK_ID_BYTES as usize;

/// Bytes of `struct virtio_blk_config` we fill in (capacity .. blk_size).
const CONFIG_LEN: usize = 24;
/// Size of the bounce buffer between guest memory and the image file.
const BOUNCE_LEN: usize = 64 * 1024;
/// Size of the request header (type, reserved, sector).
const HEADER_LEN: usize = 16;

/// How to open a block device.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BlockConfig {
    /// Path of the raw image (a regular file or a host block device).
    pub path: PathBuf,
    /// Open read-only, advertise `VIRTIO_BLK_F_RO` and fail writes.
    pub read_only: bool,
    /// Identifier returned by `GET_ID` (at most 20 bytes); derived from the file's
    /// device and inode numbers when `None`.
    pub id: Option<String>,
    /// Request queue size: a power of two in 2..=32768.
    pub queue_size: u16,
}

impl BlockConfig {
    /// A writable disk at `path` with the default queue size and a derived ID.
    pub fn new(path: impl Into<PathBuf>) -> Self {
        BlockConfig { path: path.into(), read_only: false, id: None, queue_size: DEFAULT_QUEUE_SIZE }
    }

    /// Sets [`BlockConfig::read_only`].
    pub fn read_only(mut self, read_only: bool) -> Self {
        self.read_only = read_only;
        self
    }

    /// Sets [`BlockConfig::id`].
    pub fn id(mut self, id: impl Into<String>) -> Self {
        self.id = Some(id.into());
        self
    }

    /// Sets [`BlockConfig::queue_size`].
    pub fn queue_size(mut self, size: u16) -> Self {
        self.queue_size = size;
        self
    }
}

/// Why a block device could not be created.
#[derive(Debug)]
pub enum BlockError {
    /// The image could not be opened.
    Open {
        /// The image path.
        path: PathBuf,
        /// Whether it was opened read-only.
        read_only: bool,
        /// The OS error.
        source: io::Error,
    },
    /// The image's size or metadata could not be read.
    Metadata {
        /// The image path.
        path: PathBuf,
        /// The OS error.
        source: io::Error,
    },
    /// The configured `GET_ID` identifier is longer than 20 bytes.
    IdTooLong {
        /// The rejected identifier.
        id: String,
    },
    /// The configured queue size is not a power of two in 2..=32768.
    InvalidQueueSize {
        /// The rejected size.
        size: u16,
    },
}

impl fmt::Display for BlockError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BlockError::Open { path, read_only, source } => {
                let mode = if *read_only { "reading" } else { "reading and writing" };
                write!(
                    f,
                    "cannot open disk image {} for {mode}: {source}; check the path and \
                     its permissions{}",
                    path.display(),
                    if *read_only { "" } else { " (or attach it read-only)" }
                )
            }
            BlockError::Metadata { path, source } => {
                write!(f, "cannot determine the size of disk image {}: {source}", path.display())
            }
            BlockError::IdTooLong { id } => {
                write!(f, "disk ID {id:?} is {} bytes long; virtio-blk IDs hold at most {ID_BYTES}", id.len())
            }
            BlockError::InvalidQueueSize { size } => write!(
                f,
                "virtio-blk queue size {size} is invalid; use a power of two between 2 and \
                 32768 (default {DEFAULT_QUEUE_SIZE})"
            ),
        }
    }
}

impl std::error::Error for BlockError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            BlockError::Open { source, .. } | BlockError::Metadata { source, .. } => Some(source),
            _ => None,
        }
    }
}

/// Why one request failed (reported to the guest as a status byte, kept for logs).
#[derive(Debug)]
pub enum RequestError {
    /// The descriptor chain ended on a descriptor that still has `NEXT` set: a loop,
    /// an out-of-range `next`, an unreadable descriptor or a length overflow.
    TruncatedChain,
    /// The chain has more descriptors than the queue size (the most a well-behaved
    /// driver uses: `seg_max` data segments plus header and status).
    TooManyDescriptors {
        /// The limit (the queue size).
        limit: usize,
    },
    /// A device-readable descriptor follows a device-writable one.
    MisorderedChain,
    /// A buffer of the chain is not inside guest memory.
    BadBuffer(virtio_queue::Error),
    /// The device-readable part is shorter than the 16-byte request header.
    ShortHeader {
        /// Readable bytes found.
        len: usize,
    },
    /// A read or write whose data length is not a multiple of 512.
    UnalignedLength {
        /// The data length.
        len: usize,
    },
    /// The request reaches past the last sector of the disk.
    BeyondCapacity {
        /// First sector of the request.
        sector: u64,
        /// Data length in bytes.
        len: usize,
        /// Disk capacity in sectors.
        capacity: u64,
    },
    /// A write to a read-only disk.
    ReadOnly,
    /// A request type this device does not implement.
    Unsupported {
        /// The request type.
        kind: u32,
    },
    /// Copying between guest memory and the bounce buffer failed.
    GuestMemory(io::Error),
    /// The host image file returned an error.
    Io(io::Error),
}

impl RequestError {
    /// The virtio-blk status byte reported for this error.
    pub fn status(&self) -> u8 {
        match self {
            RequestError::Unsupported { .. } => VIRTIO_BLK_S_UNSUPP as u8,
            _ => VIRTIO_BLK_S_IOERR as u8,
        }
    }
}

impl fmt::Display for RequestError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RequestError::TruncatedChain => write!(
                f,
                "descriptor chain is cut short (loop, next index out of range or \
                 unreadable descriptor)"
            ),
            RequestError::TooManyDescriptors { limit } => {
                write!(f, "descriptor chain is longer than {limit} descriptors")
            }
            RequestError::MisorderedChain => {
                write!(f, "device-readable descriptor after a device-writable one")
            }
            RequestError::BadBuffer(e) => write!(f, "buffer outside guest memory: {e}"),
            RequestError::ShortHeader { len } => {
                write!(f, "request header is {len} bytes, needs {HEADER_LEN}")
            }
            RequestError::UnalignedLength { len } => {
                write!(f, "data length {len} is not a multiple of {SECTOR_SIZE}")
            }
            RequestError::BeyondCapacity { sector, len, capacity } => write!(
                f,
                "request for {len} bytes at sector {sector} goes past the end of the \
                 disk ({capacity} sectors)"
            ),
            RequestError::ReadOnly => write!(f, "write to a read-only disk"),
            RequestError::Unsupported { kind } => write!(f, "unsupported request type {kind}"),
            RequestError::GuestMemory(e) => write!(f, "guest memory access failed: {e}"),
            RequestError::Io(e) => write!(f, "disk image I/O failed: {e}"),
        }
    }
}

impl std::error::Error for RequestError {}

/// Request counters.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct BlockStats {
    /// Completed `IN` requests.
    pub reads: u64,
    /// Completed `OUT` requests.
    pub writes: u64,
    /// Completed `FLUSH` requests.
    pub flushes: u64,
    /// Completed `GET_ID` requests.
    pub get_ids: u64,
    /// Requests answered with `IOERR` or `UNSUPP`.
    pub errors: u64,
    /// Chains returned with length 0 because they had no usable status byte.
    pub dropped: u64,
}

/// Shape of a descriptor chain, found by walking it once before touching buffers.
struct ChainShape {
    truncated: bool,
    too_long: bool,
    misordered: bool,
    /// Last byte of the last device-writable descriptor, if it is in guest memory.
    status: Option<GuestAddress>,
}

impl ChainShape {
    /// Walks at most `limit` descriptors (virtio-queue already bounds the chain by
    /// the queue or indirect-table size; `limit` keeps a 65535-entry indirect table
    /// from costing 65535 reads per request).
    fn walk(chain: DescriptorChain<&GuestMem>, mem: &GuestMem, limit: usize) -> Self {
        let mut last: Option<Descriptor> = None;
        let mut last_writable: Option<Descriptor> = None;
        let mut misordered = false;
        let mut count = 0usize;
        let mut too_long = false;
        for d in chain {
            count += 1;
            if count > limit {
                too_long = true;
                break;
            }
            if d.is_write_only() {
                last_writable = Some(d);
            } else if last_writable.is_some() {
                misordered = true;
            }
            last = Some(d);
        }
        let status = last_writable
            .filter(|d| d.len() > 0)
            .and_then(|d| d.addr().checked_add(u64::from(d.len()) - 1))
            .filter(|&a| GuestMemoryBackend::address_in_range(mem, a));
        ChainShape { truncated: !too_long && last.is_none_or(|d| d.has_next()), too_long, misordered, status }
    }
}

/// A virtio-blk device over a raw image file.
pub struct Block {
    file: File,
    path: PathBuf,
    read_only: bool,
    capacity: u64,
    id: [u8; ID_BYTES],
    queue_sizes: [u16; 1],
    acked_features: u64,
    config: [u8; CONFIG_LEN],
    bounce: Vec<u8>,
    stats: BlockStats,
    last_error: Option<RequestError>,
}

impl fmt::Debug for Block {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Block")
            .field("path", &self.path)
            .field("read_only", &self.read_only)
            .field("capacity", &self.capacity)
            .field("stats", &self.stats)
            .finish()
    }
}

impl Block {
    /// Opens the image described by `config`.
    pub fn open(config: &BlockConfig) -> Result<Self, BlockError> {
        let size = config.queue_size;
        if !(2..=32768).contains(&size) || !size.is_power_of_two() {
            return Err(BlockError::InvalidQueueSize { size });
        }
        if let Some(id) = &config.id {
            if id.len() > ID_BYTES {
                return Err(BlockError::IdTooLong { id: id.clone() });
            }
        }
        let path = config.path.clone();
        let mut file = OpenOptions::new()
            .read(true)
            .write(!config.read_only)
            .open(&path)
            .map_err(|source| BlockError::Open { path: path.clone(), read_only: config.read_only, source })?;
        let meta_err = |source| BlockError::Metadata { path: path.clone(), source };
        // Seeking to the end sizes regular files and host block devices alike.
        let bytes = file.seek(SeekFrom::End(0)).map_err(meta_err)?;
        let meta = file.metadata().map_err(meta_err)?;

        let mut id = [0u8; ID_BYTES];
        let id_src = match &config.id {
            Some(s) => s.clone(),
            None => format!("{:x}{:x}", meta.dev(), meta.ino()),
        };
        let n = id_src.len().min(ID_BYTES);
        id[..n].copy_from_slice(&id_src.as_bytes()[..n]);

        let capacity = bytes / SECTOR_SIZE;
        let mut cfg = [0u8; CONFIG_LEN];
        cfg[0..8].copy_from_slice(&capacity.to_le_bytes());
        // size_max (8..12) and geometry (16..20) stay 0: not offered.
        let seg_max = u32::from(size) - 2;
        cfg[12..16].copy_from_slice(&seg_max.to_le_bytes());
        cfg[20..24].copy_from_slice(&(SECTOR_SIZE as u32).to_le_bytes());

        Ok(Block {
            file,
            path,
            read_only: config.read_only,
            capacity,
            id,
            queue_sizes: [size],
            acked_features: 0,
            config: cfg,
            bounce: vec![0; BOUNCE_LEN],
            stats: BlockStats::default(),
            last_error: None,
        })
    }

    /// Disk size in 512-byte sectors.
    pub fn capacity(&self) -> u64 {
        self.capacity
    }

    /// Whether the disk is read-only.
    pub fn is_read_only(&self) -> bool {
        self.read_only
    }

    /// The identifier returned by `GET_ID` (NUL-padded).
    pub fn id(&self) -> &[u8; ID_BYTES] {
        &self.id
    }

    /// The image path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Request counters.
    pub fn stats(&self) -> BlockStats {
        self.stats
    }

    /// Why the most recent failed request failed.
    pub fn last_request_error(&self) -> Option<&RequestError> {
        self.last_error.as_ref()
    }

    /// Serves one chain; returns the used length (bytes written to the guest).
    fn handle_chain(&mut self, chain: DescriptorChain<&GuestMem>, mem: &GuestMem) -> u32 {
        let limit = usize::from(self.queue_sizes[0]);
        let shape = ChainShape::walk(chain.clone(), mem, limit);
        let Some(status_addr) = shape.status else {
            log::warn!(
                "virtio-blk: request (head {}) has no writable status byte; returned \
                 with length 0",
                chain.head_index()
            );
            self.stats.dropped += 1;
            return 0;
        };
        let (status, data_len) = match self.execute(&shape, chain, mem) {
            Ok(len) => (VIRTIO_BLK_S_OK as u8, len),
            Err(e) => {
                log::warn!("virtio-blk {}: {e}", self.path.display());
                self.stats.errors += 1;
                let status = e.status();
                self.last_error = Some(e);
                (status, 0)
            }
        };
        if mem.write_obj(status, status_addr).is_err() {
            self.stats.dropped += 1;
            return 0;
        }
        // data_len is bounded by the chain's total length, which fits in u32.
        u32::try_from(data_len).unwrap_or(u32::MAX - 1) + 1
    }

    /// Runs a request; returns the number of data bytes written to the guest.
    fn execute(
        &mut self,
        shape: &ChainShape,
        chain: DescriptorChain<&GuestMem>,
        mem: &GuestMem,
    ) -> Result<usize, RequestError> {
        if shape.truncated {
            return Err(RequestError::TruncatedChain);
        }
        if shape.too_long {
            return Err(RequestError::TooManyDescriptors { limit: usize::from(self.queue_sizes[0]) });
        }
        if shape.misordered {
            return Err(RequestError::MisorderedChain);
        }
        let mut reader: Reader<'_> = chain.clone().reader(mem).map_err(RequestError::BadBuffer)?;
        let mut data_out: Writer<'_> = chain.writer(mem).map_err(RequestError::BadBuffer)?;
        // The status byte is the writer's last byte; keep it out of the data area.
        let writable = data_out.available_bytes();
        data_out.split_at(writable.saturating_sub(1)).map_err(RequestError::BadBuffer)?;

        let mut header = [0u8; HEADER_LEN];
        let readable = reader.available_bytes();
        reader.read_exact(&mut header).map_err(|_| RequestError::ShortHeader { len: readable })?;
        let kind = u32::from_le_bytes([header[0], header[1], header[2], header[3]]);
        let sector = u64::from_le_bytes([
            header[8], header[9], header[10], header[11], header[12], header[13], header[14], header[15],
        ]);

        match kind {
            VIRTIO_BLK_T_IN => {
                let len = data_out.available_bytes();
                let offset = self.check_range(sector, len)?;
                let mut done = 0;
                while done < len {
                    let n = (len - done).min(BOUNCE_LEN);
                    let buf = &mut self.bounce[..n];
                    self.file.read_exact_at(buf, offset + done as u64).map_err(RequestError::Io)?;
                    data_out.write_all(buf).map_err(RequestError::GuestMemory)?;
                    done += n;
                }
                self.stats.reads += 1;
                Ok(len)
            }
            VIRTIO_BLK_T_OUT => {
                if self.read_only {
                    return Err(RequestError::ReadOnly);
                }
                let len = reader.available_bytes();
                let offset = self.check_range(sector, len)?;
                let mut done = 0;
                while done < len {
                    let n = (len - done).min(BOUNCE_LEN);
                    let buf = &mut self.bounce[..n];
                    reader.read_exact(buf).map_err(RequestError::GuestMemory)?;
                    self.file.write_all_at(buf, offset + done as u64).map_err(RequestError::Io)?;
                    done += n;
                }
                // Without a negotiated FLUSH the cache must be write-through.
                if self.acked_features & (1 << VIRTIO_BLK_F_FLUSH) == 0 {
                    self.file.sync_data().map_err(RequestError::Io)?;
                }
                self.stats.writes += 1;
                Ok(0)
            }
            VIRTIO_BLK_T_FLUSH => {
                if !self.read_only {
                    self.file.sync_data().map_err(RequestError::Io)?;
                }
                self.stats.flushes += 1;
                Ok(0)
            }
            VIRTIO_BLK_T_GET_ID => {
                let n = data_out.available_bytes().min(ID_BYTES);
                data_out.write_all(&self.id[..n]).map_err(RequestError::GuestMemory)?;
                self.stats.get_ids += 1;
                Ok(n)
            }
            kind => Err(RequestError::Unsupported { kind }),
        }
    }

    /// Validates a data transfer of `len` bytes at `sector`; returns the byte offset.
    fn check_range(&self, sector: u64, len: usize) -> Result<u64, RequestError> {
        if len as u64 & (SECTOR_SIZE - 1) != 0 {
            return Err(RequestError::UnalignedLength { len });
        }
        let beyond = RequestError::BeyondCapacity { sector, len, capacity: self.capacity };
        let end_sector = sector.checked_add(len as u64 / SECTOR_SIZE);
        match end_sector {
            Some(end) if end <= self.capacity => Ok(sector * SECTOR_SIZE),
            _ => Err(beyond),
        }
    }
}

impl VirtioDevice for Block {
    fn device_type(&self) -> u32 {
        VIRTIO_ID_BLOCK
    }

    fn queue_max_sizes(&self) -> &[u16] {
        &self.queue_sizes
    }

    fn device_features(&self) -> u64 {
        let mut f = (1 << VIRTIO_BLK_F_FLUSH)
            | (1 << VIRTIO_BLK_F_SEG_MAX)
            | VIRTIO_RING_F_INDIRECT_DESC
            | VIRTIO_RING_F_EVENT_IDX;
        if self.read_only {
            f |= 1 << VIRTIO_BLK_F_RO;
        }
        f
    }

    fn set_acked_features(&mut self, features: u64) {
        self.acked_features = features;
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

    fn process_queue(&mut self, index: usize, queue: &mut Queue, mem: &GuestMem) -> Result<bool, VirtioError> {
        drain_queue(index, queue, mem, |chain| self.handle_chain(chain, mem))
    }

    fn reset(&mut self) {
        self.acked_features = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::irq::RecordingIrqLine;
    use crate::virtio::mmio::{regs, status, MmioTransport, CONFIG_OFFSET, INT_VRING};
    use crate::virtio::testutil::*;
    use crate::virtio::VIRTIO_F_VERSION_1;
    use crate::BusDevice;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;
    use std::time::{Duration, Instant};
    use virtio_bindings::virtio_ring::{VRING_DESC_F_INDIRECT, VRING_DESC_F_NEXT, VRING_DESC_F_WRITE};

    const NEXT: u16 = VRING_DESC_F_NEXT as u16;
    const WRITE: u16 = VRING_DESC_F_WRITE as u16;
    const INDIRECT: u16 = VRING_DESC_F_INDIRECT as u16;
    const QSIZE: u16 = 16;
    const RING_BASE: u64 = 0x1000;
    const HDR: u64 = 0x10000;
    const DATA: u64 = 0x20000;
    const STATUS: u64 = 0x30000;
    const OUTSIDE: u64 = 0x10_0000_0000;
    const S_OK: u8 = VIRTIO_BLK_S_OK as u8;
    const S_IOERR: u8 = VIRTIO_BLK_S_IOERR as u8;
    const S_UNSUPP: u8 = VIRTIO_BLK_S_UNSUPP as u8;
    const FEATURES: u64 = VIRTIO_F_VERSION_1 | (1 << VIRTIO_BLK_F_FLUSH);

    /// A temporary image file, deleted on drop.
    struct TempImage(PathBuf);

    impl TempImage {
        fn new(contents: &[u8]) -> Self {
            static N: AtomicUsize = AtomicUsize::new(0);
            let path = std::env::temp_dir().join(format!(
                "mimic-devices-blk-{}-{}.img",
                std::process::id(),
                N.fetch_add(1, Ordering::Relaxed)
            ));
            std::fs::write(&path, contents).unwrap();
            TempImage(path)
        }

        fn contents(&self) -> Vec<u8> {
            std::fs::read(&self.0).unwrap()
        }
    }

    impl Drop for TempImage {
        fn drop(&mut self) {
            let _ = std::fs::remove_file(&self.0);
        }
    }

    /// 8 sectors; sector s is filled with byte `s + 1`.
    fn pattern() -> Vec<u8> {
        (0..8u8).flat_map(|s| std::iter::repeat_n(s + 1, SECTOR_SIZE as usize)).collect()
    }

    struct Rig {
        t: MmioTransport,
        vq: Virtq,
        mem: GuestMem,
        line: Arc<RecordingIrqLine>,
        img: TempImage,
    }

    impl Rig {
        fn new(config: impl FnOnce(BlockConfig) -> BlockConfig, features: u64) -> Rig {
            let img = TempImage::new(&pattern());
            let blk = Block::open(&config(BlockConfig::new(&img.0).queue_size(QSIZE))).unwrap();
            let mem = guest_mem();
            let line = Arc::new(RecordingIrqLine::new());
            let mut t = MmioTransport::new(Box::new(blk), mem.clone(), line.clone()).unwrap();
            negotiate(&mut t, features);
            setup_queue(&mut t, 0, QSIZE, RING_BASE);
            driver_ok(&mut t);
            assert!(t.is_activated());
            let vq = Virtq::new(&mem, QSIZE, RING_BASE);
            Rig { t, vq, mem, line, img }
        }

        fn plain() -> Rig {
            Rig::new(|c| c, FEATURES)
        }

        fn header(&self, kind: u32, sector: u64) {
            let mut h = [0u8; 16];
            h[0..4].copy_from_slice(&kind.to_le_bytes());
            h[8..16].copy_from_slice(&sector.to_le_bytes());
            self.mem.write_slice(&h, GuestAddress(HDR)).unwrap();
        }

        /// Writes `descs` as descriptors 0.. linked with NEXT, offers head 0 and
        /// notifies. Returns the used element's length.
        fn submit(&mut self, descs: &[(u64, u32, u16)]) -> u32 {
            for (i, &(addr, len, flags)) in descs.iter().enumerate() {
                let last = i + 1 == descs.len();
                let flags = if last { flags } else { flags | NEXT };
                self.vq.set_desc(i as u16, addr, len, flags, i as u16 + 1);
            }
            self.kick(0)
        }

        /// Offers `head`, notifies, and returns the new used element's length.
        fn kick(&mut self, head: u16) -> u32 {
            let before = self.vq.used_idx();
            self.mem.write_obj(0xaau8, GuestAddress(STATUS)).unwrap();
            self.vq.publish(head);
            let start = Instant::now();
            wr(&mut self.t, regs::QUEUE_NOTIFY, 0);
            assert!(start.elapsed() < Duration::from_secs(5), "notify took too long");
            assert_eq!(self.vq.used_idx(), before.wrapping_add(1), "no used element");
            let (id, len) = self.vq.used_elem(before);
            assert_eq!(id, u32::from(head));
            len
        }

        fn status(&self) -> u8 {
            self.mem.read_obj(GuestAddress(STATUS)).unwrap()
        }

        fn guest_bytes(&self, addr: u64, len: usize) -> Vec<u8> {
            let mut v = vec![0u8; len];
            self.mem.read_slice(&mut v, GuestAddress(addr)).unwrap();
            v
        }

        fn ack_irq(&mut self) {
            let st = rd(&mut self.t, regs::INTERRUPT_STATUS);
            wr(&mut self.t, regs::INTERRUPT_ACK, st);
        }
    }

    fn read_req(r: &mut Rig, sector: u64, len: u32) -> u32 {
        r.header(VIRTIO_BLK_T_IN, sector);
        r.submit(&[(HDR, 16, 0), (DATA, len, WRITE), (STATUS, 1, WRITE)])
    }

    fn write_req(r: &mut Rig, sector: u64, data: &[u8]) -> u32 {
        r.header(VIRTIO_BLK_T_OUT, sector);
        r.mem.write_slice(data, GuestAddress(DATA)).unwrap();
        r.submit(&[(HDR, 16, 0), (DATA, data.len() as u32, 0), (STATUS, 1, WRITE)])
    }

    #[test]
    fn good_read() {
        let mut r = Rig::plain();
        let len = read_req(&mut r, 1, 1024);
        assert_eq!(r.status(), S_OK);
        assert_eq!(len, 1025);
        assert_eq!(r.guest_bytes(DATA, 1024), pattern()[512..1536].to_vec());
        assert!(r.line.level());
        assert_eq!(rd(&mut r.t, regs::INTERRUPT_STATUS), INT_VRING);
        r.ack_irq();
        assert!(!r.line.level());
    }

    #[test]
    fn good_write_reaches_file() {
        let mut r = Rig::plain();
        let data = vec![0x5au8; 1024];
        let len = write_req(&mut r, 6, &data);
        assert_eq!(r.status(), S_OK);
        assert_eq!(len, 1);
        let file = r.img.contents();
        assert_eq!(&file[6 * 512..8 * 512], &data[..]);
        assert_eq!(&file[..6 * 512], &pattern()[..6 * 512]);
        // And it reads back through the device.
        read_req(&mut r, 6, 512);
        assert_eq!(r.guest_bytes(DATA, 512), vec![0x5a; 512]);
    }

    #[test]
    fn writes_without_flush_feature_are_write_through() {
        let mut r = Rig::new(|c| c, VIRTIO_F_VERSION_1);
        write_req(&mut r, 0, &[7u8; 512]);
        assert_eq!(r.status(), S_OK);
        assert_eq!(&r.img.contents()[..512], &[7u8; 512][..]);
    }

    #[test]
    fn flush() {
        let mut r = Rig::plain();
        write_req(&mut r, 0, &[1u8; 512]);
        r.header(VIRTIO_BLK_T_FLUSH, 0);
        let len = r.submit(&[(HDR, 16, 0), (STATUS, 1, WRITE)]);
        assert_eq!(r.status(), S_OK);
        assert_eq!(len, 1);
    }

    #[test]
    fn get_id() {
        let mut r = Rig::new(|c| c.id("mimic-disk-0"), FEATURES);
        r.header(VIRTIO_BLK_T_GET_ID, 0);
        r.mem.write_slice(&[0xee; 20], GuestAddress(DATA)).unwrap();
        let len = r.submit(&[(HDR, 16, 0), (DATA, 20, WRITE), (STATUS, 1, WRITE)]);
        assert_eq!(r.status(), S_OK);
        assert_eq!(len, 21);
        let mut want = b"mimic-disk-0".to_vec();
        want.resize(20, 0);
        assert_eq!(r.guest_bytes(DATA, 20), want);

        // A short buffer gets a prefix.
        let len = r.submit(&[(HDR, 16, 0), (DATA, 4, WRITE), (STATUS, 1, WRITE)]);
        assert_eq!((len, r.status()), (5, S_OK));

        // The default ID is derived and non-empty.
        let img = TempImage::new(&[0; 512]);
        let blk = Block::open(&BlockConfig::new(&img.0)).unwrap();
        assert_ne!(blk.id()[0], 0);
    }

    #[test]
    fn read_only_disk_rejects_writes() {
        let mut r = Rig::new(|c| c.read_only(true), FEATURES);
        wr(&mut r.t, regs::DEVICE_FEATURES_SEL, 0);
        assert_ne!(rd(&mut r.t, regs::DEVICE_FEATURES) & (1 << VIRTIO_BLK_F_RO), 0);
        let len = write_req(&mut r, 0, &[9u8; 512]);
        assert_eq!(r.status(), S_IOERR);
        assert_eq!(len, 1);
        assert_eq!(r.img.contents(), pattern());
        // Reads and flushes still work.
        read_req(&mut r, 0, 512);
        assert_eq!(r.status(), S_OK);
        r.header(VIRTIO_BLK_T_FLUSH, 0);
        r.submit(&[(HDR, 16, 0), (STATUS, 1, WRITE)]);
        assert_eq!(r.status(), S_OK);
    }

    #[test]
    fn writable_disk_does_not_advertise_ro() {
        let mut r = Rig::plain();
        wr(&mut r.t, regs::DEVICE_FEATURES_SEL, 0);
        let f = rd(&mut r.t, regs::DEVICE_FEATURES);
        assert_eq!(f & (1 << VIRTIO_BLK_F_RO), 0);
        assert_ne!(f & (1 << VIRTIO_BLK_F_FLUSH), 0);
    }

    #[test]
    fn requests_beyond_capacity() {
        let mut r = Rig::plain();
        for (sector, len) in [(8u64, 512u32), (7, 1024), (u64::MAX, 512), (u64::MAX / 512, 512)] {
            read_req(&mut r, sector, len);
            assert_eq!(r.status(), S_IOERR, "read sector {sector} len {len}");
            write_req(&mut r, sector, &vec![0u8; len as usize]);
            assert_eq!(r.status(), S_IOERR, "write sector {sector} len {len}");
        }
        assert_eq!(r.img.contents(), pattern());
        // The last sector itself is fine.
        read_req(&mut r, 7, 512);
        assert_eq!(r.status(), S_OK);
        assert_eq!(r.guest_bytes(DATA, 512), vec![8u8; 512]);
    }

    #[test]
    fn unaligned_lengths_and_unknown_types() {
        let mut r = Rig::plain();
        read_req(&mut r, 0, 100);
        assert_eq!(r.status(), S_IOERR);
        write_req(&mut r, 0, &[1u8; 513]);
        assert_eq!(r.status(), S_IOERR);
        assert_eq!(r.img.contents(), pattern());
        r.header(11, 0); // DISCARD, not offered
        r.submit(&[(HDR, 16, 0), (STATUS, 1, WRITE)]);
        assert_eq!(r.status(), S_UNSUPP);
        r.header(0xdead_beef, 0);
        r.submit(&[(HDR, 16, 0), (STATUS, 1, WRITE)]);
        assert_eq!(r.status(), S_UNSUPP);
    }

    #[test]
    fn short_or_split_headers() {
        let mut r = Rig::plain();
        // 8-byte header: IOERR.
        r.header(VIRTIO_BLK_T_IN, 0);
        r.submit(&[(HDR, 8, 0), (DATA, 512, WRITE), (STATUS, 1, WRITE)]);
        assert_eq!(r.status(), S_IOERR);
        // Header split over two descriptors and data+status in one: still served.
        r.header(VIRTIO_BLK_T_IN, 2);
        let len = r.submit(&[(HDR, 5, 0), (HDR + 5, 11, 0), (DATA, 513, WRITE)]);
        assert_eq!(len, 513);
        assert_eq!(r.guest_bytes(DATA, 512), vec![3u8; 512]);
        let status: u8 = r.mem.read_obj(GuestAddress(DATA + 512)).unwrap();
        assert_eq!(status, S_OK);
    }

    #[test]
    fn descriptor_loops_end() {
        let mut r = Rig::plain();
        // 0 -> 1 -> 0 -> ...: header then a writable buffer pointing back.
        r.header(VIRTIO_BLK_T_IN, 0);
        r.vq.set_desc(0, HDR, 16, NEXT, 1);
        r.vq.set_desc(1, STATUS, 1, WRITE | NEXT, 0);
        r.kick(0);
        assert_eq!(r.status(), S_IOERR);
        // A self-loop with no writable descriptor: returned with length 0.
        r.vq.set_desc(2, HDR, 16, NEXT, 2);
        assert_eq!(r.kick(2), 0);
        // Loop inside an indirect table.
        let table = 0x40000;
        r.vq.write_desc_at(table, HDR, 16, NEXT, 1);
        r.vq.write_desc_at(table + 16, STATUS, 1, WRITE | NEXT, 0);
        r.vq.set_desc(3, table, 32, INDIRECT, 0);
        r.kick(3);
        assert_eq!(r.status(), S_IOERR);
        // The queue keeps working afterwards.
        read_req(&mut r, 0, 512);
        assert_eq!(r.status(), S_OK);
        assert!(r.t.is_activated());
    }

    #[test]
    fn next_index_out_of_range() {
        let mut r = Rig::plain();
        r.header(VIRTIO_BLK_T_IN, 0);
        r.vq.set_desc(0, STATUS, 1, WRITE | NEXT, 200);
        r.kick(0);
        assert_eq!(r.status(), S_IOERR);
    }

    #[test]
    fn out_of_range_addresses() {
        let mut r = Rig::plain();
        // Data buffer outside guest memory.
        r.header(VIRTIO_BLK_T_IN, 0);
        r.submit(&[(HDR, 16, 0), (OUTSIDE, 512, WRITE), (STATUS, 1, WRITE)]);
        assert_eq!(r.status(), S_IOERR);
        // Data buffer straddling the end of guest memory.
        let edge = GUEST_MEM_SIZE as u64 - 256;
        r.submit(&[(HDR, 16, 0), (edge, 512, WRITE), (STATUS, 1, WRITE)]);
        assert_eq!(r.status(), S_IOERR);
        // Header outside guest memory.
        r.submit(&[(OUTSIDE, 16, 0), (DATA, 512, WRITE), (STATUS, 1, WRITE)]);
        assert_eq!(r.status(), S_IOERR);
        // Write source outside guest memory.
        r.header(VIRTIO_BLK_T_OUT, 0);
        r.submit(&[(HDR, 16, 0), (OUTSIDE, 512, 0), (STATUS, 1, WRITE)]);
        assert_eq!(r.status(), S_IOERR);
        assert_eq!(r.img.contents(), pattern());
        // Status byte outside guest memory: nowhere to report, returned with len 0.
        r.header(VIRTIO_BLK_T_IN, 0);
        assert_eq!(r.submit(&[(HDR, 16, 0), (DATA, 512, WRITE), (OUTSIDE, 1, WRITE)]), 0);
        // Address arithmetic that would overflow.
        assert_eq!(r.submit(&[(HDR, 16, 0), (u64::MAX, 2, WRITE)]), 0);
        r.submit(&[(HDR, 16, 0), (u64::MAX - 10, 512, WRITE), (STATUS, 1, WRITE)]);
        assert_eq!(r.status(), S_IOERR);
        // Descriptor table entry for an indirect table outside memory.
        r.vq.set_desc(0, OUTSIDE, 64, INDIRECT, 0);
        assert_eq!(r.kick(0), 0);
        assert!(r.t.is_activated());
    }

    #[test]
    fn huge_lengths() {
        let mut r = Rig::plain();
        r.header(VIRTIO_BLK_T_IN, 0);
        r.submit(&[(HDR, 16, 0), (DATA, 0xf000_0000, WRITE), (STATUS, 1, WRITE)]);
        assert_eq!(r.status(), S_IOERR);
        r.header(VIRTIO_BLK_T_OUT, 0);
        r.submit(&[(HDR, 16, 0), (DATA, 0xffff_fe00, 0), (STATUS, 1, WRITE)]);
        assert_eq!(r.status(), S_IOERR);
        r.submit(&[(HDR, u32::MAX - 1, 0), (STATUS, 1, WRITE)]);
        assert_eq!(r.status(), S_IOERR);
        // A chain whose total length overflows 32 bits is cut short by virtio-queue
        // before the status descriptor: nothing to report into, returned with len 0.
        r.header(VIRTIO_BLK_T_IN, 0);
        let len = r.submit(&[(HDR, 16, 0), (DATA, u32::MAX, WRITE), (STATUS, 1, WRITE)]);
        assert_eq!((len, r.status()), (0, 0xaa));
        // Same with the overflow between two data buffers.
        let len = r.submit(&[(HDR, 16, 0), (DATA, 0x8000_0000, WRITE), (DATA, 0x8000_0000, WRITE), (STATUS, 1, WRITE)]);
        assert_eq!((len, r.status()), (0, 0xaa));
        // Large but in-range reads: capacity check first, no allocation.
        r.submit(&[(HDR, 16, 0), (DATA, 0x8_0000, WRITE), (STATUS, 1, WRITE)]);
        assert_eq!(r.status(), S_IOERR);
        assert_eq!(r.img.contents(), pattern());
    }

    #[test]
    fn misordered_and_statusless_chains() {
        let mut r = Rig::plain();
        // Writable before readable.
        r.header(VIRTIO_BLK_T_IN, 0);
        r.submit(&[(STATUS, 1, WRITE), (HDR, 16, 0)]);
        assert_eq!(r.status(), S_IOERR);
        // No writable descriptor at all.
        assert_eq!(r.submit(&[(HDR, 16, 0), (DATA, 512, 0)]), 0);
        assert_eq!(r.status(), 0xaa);
        // Zero-length status descriptor.
        assert_eq!(r.submit(&[(HDR, 16, 0), (STATUS, 0, WRITE)]), 0);
    }

    #[test]
    fn bad_head_and_bogus_avail_index() {
        let mut r = Rig::plain();
        // An avail entry naming descriptor 200 in a 16-entry queue is dropped.
        let before = r.vq.used_idx();
        r.vq.publish(200);
        wr(&mut r.t, regs::QUEUE_NOTIFY, 0);
        assert_eq!(r.vq.used_idx(), before);
        assert!(r.t.is_activated());
        // The queue still serves requests.
        read_req(&mut r, 0, 512);
        assert_eq!(r.status(), S_OK);
        // An avail index far ahead of what the ring can hold: device needs reset.
        r.vq.set_avail_idx(r.vq.used_idx().wrapping_add(1000));
        wr(&mut r.t, regs::QUEUE_NOTIFY, 0);
        assert_ne!(rd(&mut r.t, regs::STATUS) & status::NEEDS_RESET, 0);
        assert!(r.t.last_error().is_some());
        // Reset and renegotiate: the device works again.
        wr(&mut r.t, regs::STATUS, 0);
        negotiate(&mut r.t, FEATURES);
        setup_queue(&mut r.t, 0, QSIZE, 0x8000);
        driver_ok(&mut r.t);
        r.vq = Virtq::new(&r.mem, QSIZE, 0x8000);
        read_req(&mut r, 3, 512);
        assert_eq!(r.status(), S_OK);
        assert_eq!(r.guest_bytes(DATA, 512), vec![4u8; 512]);
    }

    #[test]
    fn several_chains_per_notify() {
        let mut r = Rig::plain();
        for i in 0..3u16 {
            let hdr = HDR + 0x100 * u64::from(i);
            let mut h = [0u8; 16];
            h[8..16].copy_from_slice(&u64::from(i).to_le_bytes());
            r.mem.write_slice(&h, GuestAddress(hdr)).unwrap();
            let d = 3 * i;
            r.vq.set_desc(d, hdr, 16, NEXT, d + 1);
            r.vq.set_desc(d + 1, DATA + 0x1000 * u64::from(i), 512, WRITE | NEXT, d + 2);
            r.vq.set_desc(d + 2, STATUS + u64::from(i), 1, WRITE, 0);
            r.vq.publish(d);
        }
        wr(&mut r.t, regs::QUEUE_NOTIFY, 0);
        assert_eq!(r.vq.used_idx(), 3);
        for i in 0..3u16 {
            assert_eq!(r.vq.used_elem(i), (u32::from(3 * i), 513));
            let st: u8 = r.mem.read_obj(GuestAddress(STATUS + u64::from(i))).unwrap();
            assert_eq!(st, S_OK);
            let want = vec![i as u8 + 1; 512];
            assert_eq!(r.guest_bytes(DATA + 0x1000 * u64::from(i), 512), want);
        }
    }

    #[test]
    fn indirect_descriptors() {
        let mut r = Rig::new(|c| c, FEATURES | VIRTIO_RING_F_INDIRECT_DESC);
        let table = 0x40000;
        r.header(VIRTIO_BLK_T_IN, 4);
        r.vq.write_desc_at(table, HDR, 16, NEXT, 1);
        r.vq.write_desc_at(table + 16, DATA, 512, WRITE | NEXT, 2);
        r.vq.write_desc_at(table + 32, STATUS, 1, WRITE, 0);
        r.vq.set_desc(0, table, 48, INDIRECT, 0);
        assert_eq!(r.kick(0), 513);
        assert_eq!(r.status(), S_OK);
        assert_eq!(r.guest_bytes(DATA, 512), vec![5u8; 512]);
        // A misaligned indirect table length is rejected.
        r.vq.set_desc(0, table, 47, INDIRECT, 0);
        assert_eq!(r.kick(0), 0);
        // An indirect table longer than the queue: IOERR after QSIZE descriptors.
        let n = 4 * QSIZE;
        r.vq.write_desc_at(table, HDR, 16, NEXT, 1);
        for i in 1..n - 1 {
            r.vq.write_desc_at(table + 16 * u64::from(i), DATA, 512, WRITE | NEXT, i + 1);
        }
        r.vq.write_desc_at(table + 16 * u64::from(n - 1), STATUS, 1, WRITE, 0);
        r.vq.set_desc(0, table, 16 * u32::from(n), INDIRECT, 0);
        r.mem.write_obj(0xaau8, GuestAddress(DATA + 511)).unwrap();
        r.kick(0);
        // The IOERR lands in the last writable byte seen before the cut-off.
        let st: u8 = r.mem.read_obj(GuestAddress(DATA + 511)).unwrap();
        assert_eq!(st, S_IOERR);
    }

    #[test]
    fn event_idx_suppresses_interrupts() {
        let mut r = Rig::new(|c| c, FEATURES | VIRTIO_RING_F_EVENT_IDX);
        // used_event = 0: interrupt after the first completion.
        r.vq.set_used_event(0);
        read_req(&mut r, 0, 512);
        assert!(r.line.level());
        assert_eq!(r.vq.avail_event(), 1);
        r.ack_irq();
        // used_event = 5: no interrupt for the second completion.
        r.vq.set_used_event(5);
        read_req(&mut r, 0, 512);
        assert_eq!(r.status(), S_OK);
        assert!(!r.line.level());
        assert_eq!(r.vq.avail_event(), 2);
    }

    #[test]
    fn config_space() {
        let mut r = Rig::plain();
        let mut cap = [0u8; 8];
        r.t.read(0, CONFIG_OFFSET, &mut cap);
        assert_eq!(u64::from_le_bytes(cap), 8);
        let seg_max = rd(&mut r.t, CONFIG_OFFSET + 12);
        assert_eq!(seg_max, u32::from(QSIZE) - 2);
        assert_eq!(rd(&mut r.t, CONFIG_OFFSET + 20), 512);
        assert_eq!(rd(&mut r.t, CONFIG_OFFSET + 0x80), 0);
        let mut b = [0xffu8; 3];
        r.t.read(0, u64::MAX, &mut b);
        assert_eq!(b, [0; 3]);
        // Config writes are ignored.
        r.t.write(0, CONFIG_OFFSET, &[0xff; 8]);
        r.t.read(0, CONFIG_OFFSET, &mut cap);
        assert_eq!(u64::from_le_bytes(cap), 8);
    }

    #[test]
    fn capacity_ignores_partial_sector() {
        let img = TempImage::new(&[0u8; 1000]);
        let blk = Block::open(&BlockConfig::new(&img.0)).unwrap();
        assert_eq!(blk.capacity(), 1);
        assert!(!blk.is_read_only());
        assert_eq!(blk.path(), img.0.as_path());
    }

    #[test]
    fn open_errors() {
        let missing = std::env::temp_dir().join("mimic-devices-no-such-image.img");
        let err = Block::open(&BlockConfig::new(&missing)).unwrap_err();
        assert!(matches!(err, BlockError::Open { .. }));
        assert!(err.to_string().contains("mimic-devices-no-such-image.img"));

        let img = TempImage::new(&[0u8; 512]);
        let err = Block::open(&BlockConfig::new(&img.0).id("x".repeat(21))).unwrap_err();
        assert!(matches!(err, BlockError::IdTooLong { .. }));
        for size in [0u16, 1, 3, 100] {
            let err = Block::open(&BlockConfig::new(&img.0).queue_size(size)).unwrap_err();
            assert!(matches!(err, BlockError::InvalidQueueSize { .. }), "{size}");
        }
    }

    #[test]
    fn stats_and_last_error() {
        // Drive the device directly (without the transport) to look at its counters.
        let img = TempImage::new(&pattern());
        let mut blk = Block::open(&BlockConfig::new(&img.0).queue_size(QSIZE)).unwrap();
        let mem = guest_mem();
        let mut q = Queue::new(QSIZE).unwrap();
        let (desc, avail, used) = layout(QSIZE, RING_BASE);
        use virtio_queue::QueueT;
        q.try_set_desc_table_address(GuestAddress(desc)).unwrap();
        q.try_set_avail_ring_address(GuestAddress(avail)).unwrap();
        q.try_set_used_ring_address(GuestAddress(used)).unwrap();
        q.set_ready(true);
        let mut vq = Virtq::new(&mem, QSIZE, RING_BASE);

        let mut h = [0u8; 16];
        h[8..16].copy_from_slice(&100u64.to_le_bytes());
        mem.write_slice(&h, GuestAddress(HDR)).unwrap();
        vq.set_desc(0, HDR, 16, NEXT, 1);
        vq.set_desc(1, DATA, 512, WRITE | NEXT, 2);
        vq.set_desc(2, STATUS, 1, WRITE, 0);
        vq.publish(0);
        assert!(blk.process_queue(0, &mut q, &mem).unwrap());
        assert_eq!(blk.stats().errors, 1);
        assert!(matches!(blk.last_request_error(), Some(RequestError::BeyondCapacity { sector: 100, .. })));
        assert!(blk.last_request_error().unwrap().to_string().contains("past the end"));

        h[8..16].copy_from_slice(&0u64.to_le_bytes());
        mem.write_slice(&h, GuestAddress(HDR)).unwrap();
        vq.publish(0);
        blk.process_queue(0, &mut q, &mem).unwrap();
        assert_eq!(blk.stats().reads, 1);
        assert_eq!(blk.device_type(), VIRTIO_ID_BLOCK);
        // Nothing pending: no notification needed.
        assert!(!blk.process_queue(0, &mut q, &mem).unwrap());
    }
}
