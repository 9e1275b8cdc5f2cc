//! The `x86-kvm` board: a PC-like x86-64 machine on KVM that boots a Linux bzImage
//! directly in 64-bit mode (no firmware).
//!
//! # Memory map
//!
//! | guest-physical | what |
//! |---|---|
//! | `0x500`, `0x520` | GDT, empty IDT |
//! | `0x7000` | boot_params (the zero page) |
//! | `0x8ff0` | initial stack (grows down) |
//! | `0x9000..0xf000` | identity page tables for 0..4 GiB (2 MiB pages) |
//! | `0x20000` | kernel command line |
//! | `0x9fc00` | MP table (reserved in the e820 map) |
//! | `0x100000` | the kernel (bzImage protected-mode part, entered at +0x200) |
//! | top of low RAM | initrd |
//! | `0xc000_0000..0xfec0_0000` | PCI memory window (virtio-pci BARs) |
//! | `0x1_0000_0000..` | RAM beyond 3 GiB |
//!
//! # Devices
//!
//! In-kernel (KVM): PIC, IOAPIC, local APICs, PIT. Emulated here: a 16550 UART at
//! port 0x3f8 on IRQ 4 (the console), an i8042 at 0x60/0x64 (its `0xfe` command is a
//! reset), mimic's exit port at 0xf4 (a byte `N` written there powers off with status
//! `N`), a PCI host bridge with legacy configuration access (ports 0xcf8/0xcfc) and,
//! with a disk, virtio-blk over virtio-pci at 00:01.0 (INTA on IOAPIC pin 16).
//!
//! # How a run ends ([`Outcome`])
//!
//! - The guest writes `N` to port 0xf4 → [`Outcome::PowerOff`]`(N)`. The test
//!   initramfs's `/init` does this; a guest `poweroff` without it only halts, and
//!   mimic keeps running (there is no ACPI to power off through).
//! - i8042 reset or a KVM reset system event → [`Outcome::Reset`]. mimic does not
//!   reboot. The board's command line has `reboot=k panic=-1`, so a kernel panic ends
//!   here too; the console is watched for `Kernel panic - not syncing` to say which.
//! - A triple fault (`KVM_EXIT_SHUTDOWN`) → [`Outcome::TripleFault`].
//! - [`StopHandle::stop`] (the CLI's Ctrl-A x) → [`Outcome::Stopped`].
//!
//! Exits are handled by [`dispatch`], a function of the exit and the buses alone, so it
//! is tested without `/dev/kvm`.

use std::fmt;
use std::fs::File;
use std::io::{self, Read, Write};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use linux_loader::loader::bootparam::{boot_e820_entry, boot_params};
use linux_loader::loader::bzimage::BzImage;
use linux_loader::loader::KernelLoader;
use mimic_backend::kvm::x86::{self as kx86, LongModeEntry};
use mimic_backend::kvm::{self, Exit, KvmError, SystemEvent, Vcpu, VcpuKicker, Vm};
use mimic_devices::power::{ExitPort, PowerEvent, PowerLatch, I8042};
use mimic_devices::{Bus, IrqLine, Serial};
use vm_memory::{Bytes, GuestAddress};

use super::mptable;

/// GDT address.
pub const GDT_ADDR: u64 = 0x500;
/// IDT address.
pub const IDT_ADDR: u64 = 0x520;
/// boot_params address.
pub const ZERO_PAGE_ADDR: u64 = 0x7000;
/// Initial stack pointer.
pub const BOOT_STACK: u64 = 0x8ff0;
/// PML4 address (the PDPT and page directories follow).
pub const PML4_ADDR: u64 = 0x9000;
/// Command line address.
pub const CMDLINE_ADDR: u64 = 0x20000;
/// Most command-line bytes accepted (the kernel's own limit is in its header).
pub const CMDLINE_MAX: usize = 4096;
/// MP table address (the last KiB below 640 KiB, scanned by Linux).
pub const MPTABLE_ADDR: u64 = 0x9fc00;
/// Where the kernel is loaded.
pub const HIMEM_START: u64 = 0x10_0000;
/// Start of the PCI memory window, and the end of low RAM.
pub const PCI_MMIO_START: u64 = 0xc000_0000;
/// End of the PCI memory window (the IOAPIC follows).
pub const PCI_MMIO_END: u64 = 0xfec0_0000;
/// Where RAM above 3 GiB continues.
pub const HIGH_RAM_START: u64 = 1 << 32;
/// Smallest RAM size accepted.
pub const MIN_MEM: u64 = 64 << 20;
/// Largest RAM size accepted.
pub const MAX_MEM: u64 = 64 << 30;
/// Serial port base and IRQ.
pub const SERIAL_PORT: u64 = 0x3f8;
/// The serial port's ISA IRQ.
pub const SERIAL_IRQ: u32 = 4;
/// mimic's exit port.
pub const EXIT_PORT: u64 = 0xf4;
/// IOAPIC pin of the first PCI device's INTA.
pub const PCI_GSI_BASE: u32 = 16;

/// What the board always puts on the kernel command line before the user's part.
pub const BASE_CMDLINE: &str = "console=ttyS0 reboot=k panic=-1 pci=conf1 i8042.noaux i8042.nomux i8042.dumbkbd";

/// The disk to attach.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DiskConfig {
    /// Raw image path.
    pub path: PathBuf,
    /// Attach read-only.
    pub read_only: bool,
}

/// What to boot and with what.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Config {
    /// bzImage path.
    pub kernel: PathBuf,
    /// initramfs path.
    pub initrd: Option<PathBuf>,
    /// Appended to [`BASE_CMDLINE`].
    pub append: String,
    /// RAM size in bytes.
    pub mem_bytes: u64,
    /// Number of vCPUs.
    pub vcpus: u8,
    /// The virtio disk.
    pub disk: Option<DiskConfig>,
    /// A string whose first appearance on the console is timed ([`Report::marker_at`]).
    pub marker: Option<String>,
}

impl Config {
    /// A 512 MiB, 1 vCPU machine booting `kernel`.
    pub fn new(kernel: impl Into<PathBuf>) -> Self {
        Config {
            kernel: kernel.into(),
            initrd: None,
            append: String::new(),
            mem_bytes: 512 << 20,
            vcpus: 1,
            disk: None,
            marker: None,
        }
    }

    /// The full kernel command line.
    pub fn cmdline(&self) -> String {
        if self.append.trim().is_empty() {
            BASE_CMDLINE.to_string()
        } else {
            format!("{BASE_CMDLINE} {}", self.append.trim())
        }
    }
}

/// The console: where guest serial output goes and where its input comes from.
pub struct Console {
    /// Guest output sink.
    pub output: Box<dyn Write + Send>,
    /// Guest input source, read on a thread of its own (which is left blocked in
    /// `read` when the machine stops: give `None` when there is no input).
    pub input: Option<Box<dyn Read + Send>>,
}

/// How the guest run ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// The guest wrote this status to the exit port.
    PowerOff(u8),
    /// The guest reset the machine; `panic` holds the kernel panic line if the
    /// console showed one (the board's `panic=-1` turns panics into resets).
    Reset {
        /// The `Kernel panic - not syncing: ...` line, if any.
        panic: Option<String>,
    },
    /// A vCPU triple-faulted.
    TripleFault {
        /// Which vCPU.
        vcpu: u8,
        /// Its instruction pointer, if readable.
        rip: Option<u64>,
    },
    /// The host stopped the machine ([`StopHandle::stop`]).
    Stopped,
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Outcome::PowerOff(s) => write!(f, "guest powered off with status {s}"),
            Outcome::Reset { panic: Some(p) } => write!(f, "guest kernel panicked ({p}) and reset the machine"),
            Outcome::Reset { panic: None } => write!(
                f,
                "guest reset the machine (a reboot, or a kernel panic under panic=-1); \
                 mimic does not reboot guests"
            ),
            Outcome::TripleFault { vcpu, rip: Some(rip) } => {
                write!(f, "vCPU {vcpu} triple-faulted at rip {rip:#x}; the guest kernel crashed")
            }
            Outcome::TripleFault { vcpu, rip: None } => {
                write!(f, "vCPU {vcpu} triple-faulted; the guest kernel crashed")
            }
            Outcome::Stopped => write!(f, "stopped by the host"),
        }
    }
}

/// Timings and outcome of a run.
#[derive(Clone, Debug)]
pub struct Report {
    /// How it ended.
    pub outcome: Outcome,
    /// When [`X86Kvm::new`] was called.
    pub created_at: Instant,
    /// When the boot vCPU first entered the guest.
    pub first_entry: Option<Instant>,
    /// When the console first showed [`Config::marker`].
    pub marker_at: Option<Instant>,
    /// When the run ended.
    pub ended_at: Instant,
}

impl Report {
    /// Set-up time: from [`X86Kvm::new`] to the first vCPU entry.
    pub fn setup(&self) -> Option<Duration> {
        self.first_entry.map(|t| t.duration_since(self.created_at))
    }
}

/// Why the machine could not be built or run. Every message says what to change.
#[derive(Debug)]
pub enum MachineError {
    /// The kernel file could not be read.
    KernelRead {
        /// Its path.
        path: PathBuf,
        /// The OS error.
        source: io::Error,
    },
    /// The kernel is not a usable x86-64 bzImage.
    KernelFormat {
        /// Its path.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// The initrd file could not be read.
    InitrdRead {
        /// Its path.
        path: PathBuf,
        /// The OS error.
        source: io::Error,
    },
    /// The initrd does not fit in RAM above the kernel.
    InitrdTooLarge {
        /// Its size.
        size: u64,
        /// The RAM size.
        mem: u64,
    },
    /// The RAM size is outside what the board supports.
    Memory {
        /// Requested bytes.
        requested: u64,
        /// What is wrong.
        reason: String,
    },
    /// The vCPU count is outside what the board supports.
    Vcpus {
        /// Requested vCPUs.
        requested: usize,
        /// Maximum.
        max: usize,
    },
    /// The command line is too long.
    Cmdline {
        /// Its length.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// The disk could not be attached.
    Disk(String),
    /// KVM failed.
    Kvm(KvmError),
    /// A vCPU stopped on an exit the board cannot handle.
    Vcpu {
        /// Which vCPU.
        vcpu: u8,
        /// What happened.
        reason: String,
    },
}

impl fmt::Display for MachineError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MachineError::KernelRead { path, source } => {
                write!(f, "cannot read kernel {}: {source}", path.display())
            }
            MachineError::KernelFormat { path, reason } => write!(
                f,
                "kernel {} is not a bootable x86-64 bzImage: {reason}; pass a Linux \
                 bzImage such as Debian's /boot/vmlinuz-*-amd64",
                path.display()
            ),
            MachineError::InitrdRead { path, source } => {
                write!(f, "cannot read initrd {}: {source}", path.display())
            }
            MachineError::InitrdTooLarge { size, mem } => write!(
                f,
                "initrd of {} MiB does not fit in {} MiB of RAM above the kernel; raise --mem",
                size.div_ceil(1 << 20),
                mem >> 20
            ),
            MachineError::Memory { requested, reason } => {
                write!(f, "cannot give the guest {} MiB of RAM: {reason}", requested >> 20)
            }
            MachineError::Vcpus { requested, max } => {
                write!(f, "--smp {requested} is not supported: use 1 to {max} vCPUs")
            }
            MachineError::Cmdline { len, max } => {
                write!(f, "kernel command line is {len} bytes; the kernel accepts at most {max}")
            }
            MachineError::Disk(m) => write!(f, "{m}"),
            MachineError::Kvm(e) => write!(f, "{e}"),
            MachineError::Vcpu { vcpu, reason } => write!(f, "vCPU {vcpu} stopped: {reason}"),
        }
    }
}

impl std::error::Error for MachineError {}

impl From<KvmError> for MachineError {
    fn from(e: KvmError) -> Self {
        MachineError::Kvm(e)
    }
}

/// An interrupt line into KVM's in-kernel PIC/IOAPIC.
struct KvmIrq {
    vm: Arc<Vm>,
    gsi: u32,
}

impl IrqLine for KvmIrq {
    fn set_level(&self, high: bool) {
        // An error here means the VM fd is gone (the machine is shutting down).
        let _ = self.vm.set_irq_line(self.gsi, high);
    }
}

/// The buses and power latch that [`dispatch`] routes exits to.
pub struct Io {
    /// Port I/O bus.
    pub pio: Bus,
    /// MMIO bus.
    pub mmio: Bus,
    /// Power events raised by devices.
    pub power: PowerLatch,
}

/// What a vCPU thread does after an exit.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Action {
    /// Enter the guest again.
    Continue,
    /// The machine is done.
    Stop(Outcome),
    /// The vCPU cannot go on.
    Fail(String),
}

/// Routes one exit of vCPU `vcpu` to the buses and decides what happens next.
///
/// Accesses no device claims read as all-ones and are otherwise ignored, as on a PC.
pub fn dispatch(vcpu: u8, exit: Exit<'_>, io: &Io) -> Action {
    match exit {
        Exit::IoIn { port, data } => {
            let _ = io.pio.read(u64::from(port), data);
            Action::Continue
        }
        Exit::IoOut { port, data } => {
            let _ = io.pio.write(u64::from(port), data);
            power_action(io)
        }
        Exit::MmioRead { addr, data } => {
            let _ = io.mmio.read(addr, data);
            Action::Continue
        }
        Exit::MmioWrite { addr, data } => {
            let _ = io.mmio.write(addr, data);
            power_action(io)
        }
        Exit::Hlt | Exit::Interrupted => Action::Continue,
        Exit::Shutdown => Action::Stop(Outcome::TripleFault { vcpu, rip: None }),
        Exit::SystemEvent(SystemEvent::Shutdown) => Action::Stop(Outcome::PowerOff(0)),
        Exit::SystemEvent(SystemEvent::Reset) => Action::Stop(Outcome::Reset { panic: None }),
        Exit::SystemEvent(SystemEvent::Crash) => {
            Action::Stop(Outcome::Reset { panic: Some("KVM reported a guest crash".into()) })
        }
        Exit::SystemEvent(SystemEvent::Other(k)) => Action::Fail(format!("unknown KVM system event {k}")),
        Exit::FailEntry { reason, cpu } => Action::Fail(format!(
            "KVM could not enter the guest (hardware entry failure {reason:#x} on host CPU {cpu}); \
             the vCPU state is invalid"
        )),
        Exit::InternalError => Action::Fail(
            "KVM internal error (an instruction KVM could not emulate, e.g. MMIO from an odd instruction)".into(),
        ),
        Exit::Other(what) => Action::Fail(format!("unexpected KVM exit {what}")),
    }
}

fn power_action(io: &Io) -> Action {
    match io.power.get() {
        None => Action::Continue,
        Some(PowerEvent::PowerOff(s)) => Action::Stop(Outcome::PowerOff(s)),
        Some(PowerEvent::Reset) => Action::Stop(Outcome::Reset { panic: None }),
    }
}

/// Watches console output: times the marker and keeps the first kernel panic line.
#[derive(Default)]
struct Watch {
    marker: Option<Vec<u8>>,
    matched: usize,
    marker_at: Option<Instant>,
    line: Vec<u8>,
    panic: Option<String>,
}

const PANIC_TEXT: &str = "Kernel panic - not syncing";

impl Watch {
    fn feed(&mut self, bytes: &[u8]) {
        for &b in bytes {
            if let (Some(m), None) = (&self.marker, self.marker_at) {
                if b == m[self.matched] {
                    self.matched += 1;
                } else {
                    self.matched = usize::from(b == m[0]);
                }
                if self.matched == m.len() {
                    self.marker_at = Some(Instant::now());
                }
            }
            if b == b'\n' {
                if self.panic.is_none() {
                    let line = String::from_utf8_lossy(&self.line);
                    if let Some(i) = line.find(PANIC_TEXT) {
                        self.panic = Some(line[i..].trim_end().to_string());
                    }
                }
                self.line.clear();
            } else if self.line.len() < 512 {
                self.line.push(b);
            }
        }
    }
}

struct ConsoleOut {
    inner: Box<dyn Write + Send>,
    watch: Arc<Mutex<Watch>>,
}

impl Write for ConsoleOut {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.watch.lock().unwrap_or_else(PoisonError::into_inner).feed(buf);
        self.inner.write(buf)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// Stops a running machine from another thread.
#[derive(Clone, Debug, Default)]
pub struct StopHandle(Arc<AtomicBool>);

impl StopHandle {
    /// Asks the machine to stop; [`X86Kvm::run`] then returns [`Outcome::Stopped`].
    pub fn stop(&self) {
        self.0.store(true, Ordering::SeqCst);
    }

    /// Whether a stop was requested.
    pub fn requested(&self) -> bool {
        self.0.load(Ordering::SeqCst)
    }
}

type SerialDev = Serial<ConsoleOut>;

/// A built machine, ready to run.
pub struct X86Kvm {
    vm: Arc<Vm>,
    vcpus: Vec<Vcpu>,
    io: Arc<Io>,
    serial: Arc<Mutex<SerialDev>>,
    watch: Arc<Mutex<Watch>>,
    input: Option<Box<dyn Read + Send>>,
    stop: StopHandle,
    created_at: Instant,
    on_first_entry: Option<Box<dyn FnOnce(Instant) + Send>>,
}

impl fmt::Debug for X86Kvm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("X86Kvm").field("vm", &self.vm).field("vcpus", &self.vcpus.len()).finish()
    }
}

/// Checks a bzImage's setup header before anything is built: the `HdrS` magic, boot
/// protocol 2.12 or later, a 64-bit entry point (`XLF_KERNEL_64`).
pub fn check_bzimage(f: &mut (impl Read + io::Seek)) -> Result<(), String> {
    let mut head = [0u8; 0x240];
    f.seek(io::SeekFrom::Start(0)).map_err(|e| e.to_string())?;
    let mut got = 0;
    while got < head.len() {
        match f.read(&mut head[got..]) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(e) => return Err(e.to_string()),
        }
    }
    f.seek(io::SeekFrom::Start(0)).map_err(|e| e.to_string())?;
    if got < head.len() || &head[0x202..0x206] != b"HdrS" {
        return Err("it has no Linux boot header (HdrS at 0x202)".into());
    }
    let version = u16::from_le_bytes([head[0x206], head[0x207]]);
    if version < 0x020c {
        return Err(format!(
            "boot protocol {}.{:02} is older than 2.12 (needed for the 64-bit entry)",
            version >> 8,
            version & 0xff
        ));
    }
    if head[0x211] & 1 == 0 {
        return Err("it is not a bzImage (LOADED_HIGH clear)".into());
    }
    let xloadflags = u16::from_le_bytes([head[0x236], head[0x237]]);
    if xloadflags & 1 == 0 {
        return Err("it has no 64-bit entry point (XLF_KERNEL_64 clear)".into());
    }
    Ok(())
}

/// The RAM ranges for `mem` bytes: below the PCI window, the rest above 4 GiB.
pub fn ram_layout(mem: u64) -> Vec<(u64, u64)> {
    let low = mem.min(PCI_MMIO_START);
    let mut v = vec![(0, low)];
    if mem > low {
        v.push((HIGH_RAM_START, mem - low));
    }
    v
}

/// The e820 map for `mem` bytes of RAM: the MP table's KiB below 640 KiB reserved,
/// the legacy hole 640 KiB..1 MiB left out.
pub fn e820_map(mem: u64) -> Vec<boot_e820_entry> {
    const RAM: u32 = 1;
    const RESERVED: u32 = 2;
    let low = mem.min(PCI_MMIO_START);
    let mut v = vec![
        boot_e820_entry { addr: 0, size: MPTABLE_ADDR, r#type: RAM },
        boot_e820_entry { addr: MPTABLE_ADDR, size: 0xa0000 - MPTABLE_ADDR, r#type: RESERVED },
        boot_e820_entry { addr: HIMEM_START, size: low - HIMEM_START, r#type: RAM },
    ];
    if mem > low {
        v.push(boot_e820_entry { addr: HIGH_RAM_START, size: mem - low, r#type: RAM });
    }
    v
}

/// Where to put an initrd of `len` bytes: the highest page-aligned address that ends
/// below `min(low RAM end, initrd_addr_max + 1)` and starts at or above `floor`.
pub fn initrd_address(mem: u64, initrd_addr_max: u32, floor: u64, len: u64) -> Option<u64> {
    let top = mem.min(PCI_MMIO_START).min(u64::from(initrd_addr_max) + 1);
    let start = top.checked_sub(len)? & !0xfff;
    (start >= floor).then_some(start)
}

impl X86Kvm {
    /// Builds the machine: checks the configuration, creates the VM, loads the
    /// kernel, initrd and boot structures, and attaches the devices.
    pub fn new(config: &Config, console: Console) -> Result<X86Kvm, MachineError> {
        let created_at = Instant::now();
        let mem = config.mem_bytes;
        if mem < MIN_MEM {
            return Err(MachineError::Memory {
                requested: mem,
                reason: format!("the x86-kvm board needs at least {} MiB", MIN_MEM >> 20),
            });
        }
        if mem > MAX_MEM || !mem.is_multiple_of(4096) {
            return Err(MachineError::Memory {
                requested: mem,
                reason: format!("use a multiple of 4 KiB up to {} GiB", MAX_MEM >> 30),
            });
        }
        if config.vcpus == 0 || usize::from(config.vcpus) > kx86::MAX_VCPUS {
            return Err(MachineError::Vcpus { requested: usize::from(config.vcpus), max: kx86::MAX_VCPUS });
        }
        let cmdline = config.cmdline();
        if cmdline.len() >= CMDLINE_MAX {
            return Err(MachineError::Cmdline { len: cmdline.len(), max: CMDLINE_MAX - 1 });
        }
        let mut kernel = File::open(&config.kernel)
            .map_err(|source| MachineError::KernelRead { path: config.kernel.clone(), source })?;
        check_bzimage(&mut kernel)
            .map_err(|reason| MachineError::KernelFormat { path: config.kernel.clone(), reason })?;
        let initrd = match &config.initrd {
            Some(path) => {
                Some(std::fs::read(path).map_err(|source| MachineError::InitrdRead { path: path.clone(), source })?)
            }
            None => None,
        };
        if let Some(i) = &initrd {
            if i.len() as u64 >= mem {
                return Err(MachineError::InitrdTooLarge { size: i.len() as u64, mem });
            }
        }
        // Open the disk before the VM so a bad path fails fast.
        let disk = match &config.disk {
            Some(d) => Some(
                mimic_devices::Block::open(
                    &mimic_devices::BlockConfig::new(&d.path).read_only(d.read_only).id("mimic-disk0"),
                )
                .map_err(|e| MachineError::Disk(e.to_string()))?,
            ),
            None => None,
        };

        let ram: Vec<(u64, usize)> = ram_layout(mem).into_iter().map(|(b, s)| (b, s as usize)).collect();
        let vm = Arc::new(Vm::new(&ram)?);
        if usize::from(config.vcpus) > vm.max_vcpus() {
            return Err(MachineError::Vcpus { requested: usize::from(config.vcpus), max: vm.max_vcpus() });
        }

        // Kernel.
        let kformat = |reason: String| MachineError::KernelFormat { path: config.kernel.clone(), reason };
        let loaded = BzImage::load(vm.ram(), None, &mut kernel, Some(GuestAddress(HIMEM_START))).map_err(|e| {
            kformat(match e {
                linux_loader::loader::Error::Bzimage(
                    linux_loader::loader::bzimage::Error::ReadBzImageCompressedKernel,
                ) => {
                    format!("it does not fit in {} MiB of RAM", mem >> 20)
                }
                other => other.to_string(),
            })
        })?;
        let hdr = loaded.setup_header.ok_or_else(|| kformat("no setup header".into()))?;
        let kernel_load = loaded.kernel_load.0;
        let kernel_top = loaded.kernel_end.max(kernel_load + u64::from(hdr.init_size));
        if kernel_top + (16 << 20) > mem.min(PCI_MMIO_START) {
            return Err(MachineError::Memory {
                requested: mem,
                reason: format!("the kernel alone needs {} MiB once decompressed", kernel_top.div_ceil(1 << 20)),
            });
        }

        // Command line, initrd, boot_params.
        kvm::write_guest(vm.ram(), CMDLINE_ADDR, &[cmdline.as_bytes(), &[0]].concat(), "kernel command line")?;
        let mut params = boot_params { hdr, ..boot_params::default() };
        params.hdr.type_of_loader = 0xff;
        params.hdr.boot_flag = 0xaa55;
        params.hdr.header = 0x5372_6448;
        params.hdr.cmd_line_ptr = CMDLINE_ADDR as u32;
        params.hdr.cmdline_size = cmdline.len() as u32;
        params.hdr.kernel_alignment = 0x0100_0000;
        if let Some(initrd) = &initrd {
            let len = initrd.len() as u64;
            let at = initrd_address(mem, hdr.initrd_addr_max, kernel_top, len)
                .ok_or(MachineError::InitrdTooLarge { size: len, mem })?;
            kvm::write_guest(vm.ram(), at, initrd, "initrd")?;
            params.hdr.ramdisk_image = at as u32;
            params.hdr.ramdisk_size = len as u32;
        }
        let e820 = e820_map(mem);
        for (slot, e) in params.e820_table.iter_mut().zip(&e820) {
            *slot = *e;
        }
        params.e820_entries = e820.len() as u8;
        vm.ram()
            .write_obj(params, GuestAddress(ZERO_PAGE_ADDR))
            .map_err(|_| KvmError::GuestWrite { what: "boot_params", addr: ZERO_PAGE_ADDR })?;

        // Devices.
        let power = PowerLatch::new();
        let watch = Arc::new(Mutex::new(Watch {
            marker: config.marker.clone().map(String::into_bytes).filter(|m| !m.is_empty()),
            ..Watch::default()
        }));
        let serial_irq: Arc<dyn IrqLine> = Arc::new(KvmIrq { vm: vm.clone(), gsi: SERIAL_IRQ });
        let serial =
            Arc::new(Mutex::new(Serial::new(ConsoleOut { inner: console.output, watch: watch.clone() }, serial_irq)));
        let mut pio = Bus::new();
        let bus_err = |e: mimic_devices::BusError| MachineError::Disk(format!("board wiring: {e}"));
        pio.insert(serial.clone(), SERIAL_PORT, 8).map_err(bus_err)?;
        let i8042 = Arc::new(Mutex::new(I8042::new(power.clone())));
        pio.insert(i8042.clone(), 0x60, 1).map_err(bus_err)?;
        pio.insert(i8042, 0x64, 1).map_err(bus_err)?;
        pio.insert(Arc::new(Mutex::new(ExitPort::new(power.clone()))), EXIT_PORT, 1).map_err(bus_err)?;
        let mut mmio = Bus::new();
        let mut pci_irqs = Vec::new();
        let pci = Arc::new(Mutex::new(mimic_devices::pci::PciRoot::new(PCI_MMIO_START, PCI_MMIO_END)));
        if let Some(disk) = disk {
            let irq: Arc<dyn IrqLine> = Arc::new(KvmIrq { vm: vm.clone(), gsi: PCI_GSI_BASE });
            let dev =
                mimic_devices::virtio_pci::VirtioPci::new(Box::new(disk), vm.ram().clone(), irq, PCI_GSI_BASE as u8)
                    .map_err(|e| MachineError::Disk(format!("virtio-blk: {e}")))?;
            let slot = pci
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .add(Box::new(dev))
                .map_err(|e| MachineError::Disk(format!("virtio-blk on PCI: {e}")))?;
            pci_irqs.push(mptable::PciIrq { slot, pin: 0, gsi: PCI_GSI_BASE as u8 });
        }
        pio.insert(pci.clone(), mimic_devices::pci::CONFIG_ADDRESS_PORT, 8).map_err(bus_err)?;
        mmio.insert(pci, PCI_MMIO_START, PCI_MMIO_END - PCI_MMIO_START).map_err(bus_err)?;

        let mpt = mptable::build(MPTABLE_ADDR as u32, config.vcpus, &pci_irqs);
        kvm::write_guest(vm.ram(), MPTABLE_ADDR, &mpt, "MP table")?;

        // vCPUs: the boot vCPU in long mode at the kernel's 64-bit entry; the others
        // wait for INIT/SIPI.
        let entry = LongModeEntry {
            gdt: GDT_ADDR,
            idt: IDT_ADDR,
            pml4: PML4_ADDR,
            rip: kernel_load + 0x200,
            rsp: BOOT_STACK,
            rsi: ZERO_PAGE_ADDR,
        };
        kx86::write_long_mode_tables(vm.ram(), &entry)?;
        let mut vcpus = Vec::with_capacity(usize::from(config.vcpus));
        for id in 0..config.vcpus {
            vcpus.push(vm.create_vcpu(id, config.vcpus)?);
        }
        vcpus[0].enter_long_mode(&entry)?;

        Ok(X86Kvm {
            vm,
            vcpus,
            io: Arc::new(Io { pio, mmio, power }),
            serial,
            watch,
            input: console.input,
            stop: StopHandle::default(),
            created_at,
            on_first_entry: None,
        })
    }

    /// Replaces the console input source (e.g. with one that needs
    /// [`X86Kvm::stop_handle`]).
    pub fn set_input(&mut self, input: Option<Box<dyn Read + Send>>) {
        self.input = input;
    }

    /// Calls `hook` (on the thread running [`X86Kvm::run`]) as soon as the boot vCPU
    /// has first entered the guest, with the time it did.
    pub fn on_first_entry(&mut self, hook: Box<dyn FnOnce(Instant) + Send>) {
        self.on_first_entry = Some(hook);
    }

    /// A handle that stops [`X86Kvm::run`] from another thread.
    pub fn stop_handle(&self) -> StopHandle {
        self.stop.clone()
    }

    /// Runs the guest (one host thread per vCPU) until it powers off, resets,
    /// crashes or is stopped.
    pub fn run(mut self) -> Result<Report, MachineError> {
        kvm::install_kick_handler()?;
        // MIMIC_KVM_TRACE=1: print every exit, and sample each vCPU's rip every 50 ms.
        let trace = std::env::var_os("MIMIC_KVM_TRACE").is_some();
        enum End {
            Kicker(VcpuKicker),
            FirstEntry(Instant),
            Done(u8, Result<Action, KvmError>),
        }
        let (tx, rx) = mpsc::channel::<End>();
        let mut threads = Vec::new();
        for mut vcpu in self.vcpus.drain(..) {
            let (tx, io, stop, trace) = (tx.clone(), self.io.clone(), self.stop.clone(), trace);
            let id = vcpu.id();
            let t = std::thread::Builder::new()
                .name(format!("vcpu{id}"))
                .spawn(move || {
                    let _ = tx.send(End::Kicker(vcpu.kicker_for_current_thread()));
                    let mut first = id == 0;
                    let result = loop {
                        if stop.requested() {
                            break Ok(Action::Stop(Outcome::Stopped));
                        }
                        if first {
                            first = false;
                            let _ = tx.send(End::FirstEntry(Instant::now()));
                        }
                        let mut sample = false;
                        let action = match vcpu.run() {
                            Ok(exit) => {
                                if trace {
                                    sample = matches!(exit, Exit::Interrupted);
                                    if !sample {
                                        eprintln!("mimic: vcpu{id}: {exit:?}");
                                    }
                                }
                                dispatch(id, exit, &io)
                            }
                            Err(e) => break Err(e),
                        };
                        if sample {
                            if let Ok(r) = vcpu.fd().get_regs() {
                                eprintln!("mimic: vcpu{id}: rip {:#x} rsp {:#x}", r.rip, r.rsp);
                            }
                        }
                        match action {
                            Action::Continue => {}
                            Action::Stop(Outcome::TripleFault { vcpu: v, .. }) => {
                                break Ok(Action::Stop(Outcome::TripleFault { vcpu: v, rip: vcpu.rip() }))
                            }
                            other => break Ok(other),
                        }
                    };
                    let _ = tx.send(End::Done(id, result));
                })
                .map_err(|e| MachineError::Vcpu { vcpu: id, reason: format!("cannot start its thread: {e}") })?;
            threads.push(t);
        }
        drop(tx);

        if let Some(input) = self.input.take() {
            spawn_input(input, self.serial.clone(), self.stop.clone());
        }

        let mut kickers = Vec::new();
        let mut first_entry = None;
        let mut result: Option<Result<Outcome, MachineError>> = None;
        // Wait for the first vCPU to finish (or the host to ask for a stop).
        while result.is_none() {
            match rx.recv_timeout(Duration::from_millis(50)) {
                Ok(End::Kicker(k)) => kickers.push(k),
                Ok(End::FirstEntry(t)) => {
                    first_entry = Some(t);
                    if let Some(hook) = self.on_first_entry.take() {
                        hook(t);
                    }
                }
                Ok(End::Done(id, r)) => {
                    result = Some(match r {
                        Ok(Action::Stop(o)) => Ok(o),
                        Ok(Action::Fail(reason)) => Err(MachineError::Vcpu { vcpu: id, reason }),
                        Ok(Action::Continue) => Ok(Outcome::Stopped),
                        Err(e) => Err(MachineError::Kvm(e)),
                    });
                }
                Err(mpsc::RecvTimeoutError::Timeout) => {
                    if trace {
                        for k in &kickers {
                            k.kick_once();
                        }
                    }
                    if self.stop.requested() {
                        result = Some(Ok(Outcome::Stopped));
                    }
                }
                Err(mpsc::RecvTimeoutError::Disconnected) => result = Some(Ok(Outcome::Stopped)),
            }
        }
        let ended_at = Instant::now();
        // Stop the others: set the flag, kick until every thread is gone.
        self.stop.stop();
        while threads.iter().any(|t| !t.is_finished()) {
            while let Ok(m) = rx.try_recv() {
                if let End::Kicker(k) = m {
                    kickers.push(k);
                }
            }
            for k in &kickers {
                k.kick();
            }
            std::thread::sleep(Duration::from_millis(2));
        }
        for t in threads {
            let _ = t.join();
        }
        let mut outcome = result.unwrap_or(Ok(Outcome::Stopped))?;
        let watch = self.watch.lock().unwrap_or_else(PoisonError::into_inner);
        if let Outcome::Reset { panic: None } = &outcome {
            if let Some(p) = &watch.panic {
                outcome = Outcome::Reset { panic: Some(p.clone()) };
            }
        }
        let _ = self.serial.lock().unwrap_or_else(PoisonError::into_inner).writer_mut().flush();
        Ok(Report { outcome, created_at: self.created_at, first_entry, marker_at: watch.marker_at, ended_at })
    }
}

/// Feeds host input to the UART, waiting while its FIFO is full.
fn spawn_input(mut input: Box<dyn Read + Send>, serial: Arc<Mutex<SerialDev>>, stop: StopHandle) {
    let _ = std::thread::Builder::new().name("console-in".into()).spawn(move || {
        let mut buf = [0u8; 256];
        loop {
            let n = match input.read(&mut buf) {
                Ok(0) | Err(_) => return,
                Ok(n) => n,
            };
            let mut rest = &buf[..n];
            while !rest.is_empty() {
                if stop.requested() {
                    return;
                }
                let r = serial.lock().unwrap_or_else(PoisonError::into_inner).enqueue_input(rest);
                match r {
                    Ok(k) if k > 0 => rest = &rest[k..],
                    _ => std::thread::sleep(Duration::from_millis(2)),
                }
            }
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    fn rig() -> (Io, Arc<Mutex<Vec<u8>>>) {
        #[derive(Clone)]
        struct Sink(Arc<Mutex<Vec<u8>>>);
        impl Write for Sink {
            fn write(&mut self, b: &[u8]) -> io::Result<usize> {
                self.0.lock().unwrap().extend_from_slice(b);
                Ok(b.len())
            }
            fn flush(&mut self) -> io::Result<()> {
                Ok(())
            }
        }
        let out = Arc::new(Mutex::new(Vec::new()));
        let power = PowerLatch::new();
        let mut pio = Bus::new();
        let serial = Serial::new(Sink(out.clone()), Arc::new(mimic_devices::NoIrq));
        pio.insert(Arc::new(Mutex::new(serial)), SERIAL_PORT, 8).unwrap();
        let k = Arc::new(Mutex::new(I8042::new(power.clone())));
        pio.insert(k.clone(), 0x60, 1).unwrap();
        pio.insert(k, 0x64, 1).unwrap();
        pio.insert(Arc::new(Mutex::new(ExitPort::new(power.clone()))), EXIT_PORT, 1).unwrap();
        (Io { pio, mmio: Bus::new(), power }, out)
    }

    #[test]
    fn dispatch_routes_ports_and_power_events() {
        let (io, out) = rig();
        assert_eq!(dispatch(0, Exit::IoOut { port: 0x3f8, data: b"h" }, &io), Action::Continue);
        assert_eq!(&*out.lock().unwrap(), b"h");
        // LSR: transmitter empty.
        let mut lsr = [0u8];
        assert_eq!(dispatch(0, Exit::IoIn { port: 0x3fd, data: &mut lsr }, &io), Action::Continue);
        assert_eq!(lsr[0] & 0x60, 0x60);
        // Unmapped ports read as ones and are not fatal.
        let mut d = [0u8; 4];
        assert_eq!(dispatch(0, Exit::IoIn { port: 0x80, data: &mut d }, &io), Action::Continue);
        assert_eq!(d, [0xff; 4]);
        assert_eq!(dispatch(0, Exit::IoOut { port: 0x80, data: &[1] }, &io), Action::Continue);
        let mut m = [0u8; 8];
        assert_eq!(dispatch(1, Exit::MmioRead { addr: 0xd000_0000, data: &mut m }, &io), Action::Continue);
        assert_eq!(dispatch(1, Exit::MmioWrite { addr: 0xd000_0000, data: &m }, &io), Action::Continue);
        // The exit port powers off with the written status.
        assert_eq!(dispatch(0, Exit::IoOut { port: 0xf4, data: &[7] }, &io), Action::Stop(Outcome::PowerOff(7)));
    }

    #[test]
    fn dispatch_resets_and_faults() {
        let (io, _) = rig();
        assert_eq!(
            dispatch(0, Exit::IoOut { port: 0x64, data: &[0xfe] }, &io),
            Action::Stop(Outcome::Reset { panic: None })
        );
        let (io, _) = rig();
        assert_eq!(dispatch(2, Exit::Shutdown, &io), Action::Stop(Outcome::TripleFault { vcpu: 2, rip: None }));
        assert_eq!(dispatch(0, Exit::SystemEvent(SystemEvent::Shutdown), &io), Action::Stop(Outcome::PowerOff(0)));
        assert_eq!(dispatch(0, Exit::Interrupted, &io), Action::Continue);
        assert!(matches!(dispatch(0, Exit::InternalError, &io), Action::Fail(_)));
        assert!(
            matches!(dispatch(0, Exit::FailEntry { reason: 0x21, cpu: 1 }, &io), Action::Fail(m) if m.contains("0x21"))
        );
        assert!(matches!(dispatch(0, Exit::Other("Debug".into()), &io), Action::Fail(_)));
    }

    #[test]
    fn bzimage_header_checks() {
        let mut img = vec![0u8; 0x1000];
        assert!(check_bzimage(&mut io::Cursor::new(&img)).unwrap_err().contains("HdrS"));
        img[0x202..0x206].copy_from_slice(b"HdrS");
        img[0x206..0x208].copy_from_slice(&0x020bu16.to_le_bytes());
        assert!(check_bzimage(&mut io::Cursor::new(&img)).unwrap_err().contains("2.11"));
        img[0x206..0x208].copy_from_slice(&0x020fu16.to_le_bytes());
        assert!(check_bzimage(&mut io::Cursor::new(&img)).unwrap_err().contains("LOADED_HIGH"));
        img[0x211] = 1;
        assert!(check_bzimage(&mut io::Cursor::new(&img)).unwrap_err().contains("64-bit"));
        img[0x236] = 1;
        check_bzimage(&mut io::Cursor::new(&img)).unwrap();
        assert!(check_bzimage(&mut io::Cursor::new(&img[..0x100])).is_err());
    }

    #[test]
    fn memory_layout() {
        assert_eq!(ram_layout(512 << 20), vec![(0, 512 << 20)]);
        assert_eq!(ram_layout(4 << 30), vec![(0, PCI_MMIO_START), (HIGH_RAM_START, 1 << 30)]);
        let e = e820_map(512 << 20);
        assert_eq!(e.len(), 3);
        assert_eq!((e[2].addr, e[2].addr + e[2].size), (HIMEM_START, 512 << 20));
        assert_eq!(e820_map(4 << 30).len(), 4);
        // initrd at the top of low RAM, page aligned, above the kernel.
        assert_eq!(initrd_address(512 << 20, 0x7fff_ffff, 0x400_0000, 0x1800), Some((512 << 20) - 0x2000));
        assert_eq!(initrd_address(512 << 20, 0x7fff_ffff, 0x400_0000, 500 << 20), None);
        assert_eq!(initrd_address(64 << 20, 0x7fff_ffff, 0, 128 << 20), None);
        assert_eq!(initrd_address(4 << 30, 0x7fff_ffff, 0, 0x1000), Some(0x7fff_f000));
    }

    #[test]
    fn console_watch_times_marker_and_keeps_panic() {
        let mut w = Watch { marker: Some(b"MIMIC-OK".to_vec()), ..Watch::default() };
        w.feed(b"boot MIMIC-O");
        assert!(w.marker_at.is_none());
        w.feed(b"MIMIC-OK\n[ 1.0] Kernel panic - not syncing: VFS: Unable to mount root\n");
        assert!(w.marker_at.is_some());
        assert_eq!(w.panic.as_deref(), Some("Kernel panic - not syncing: VFS: Unable to mount root"));
        assert_eq!(BASE_CMDLINE.split(' ').filter(|a| a.starts_with("panic=")).count(), 1);
        let mut c = Config::new("k");
        assert_eq!(c.cmdline(), BASE_CMDLINE);
        c.append = " quiet ".into();
        assert!(c.cmdline().ends_with(" quiet"));
    }
}
