//! The KVM backend: a VM and its vCPUs over kvm-ioctls, guest RAM over vm-memory.
//!
//! This module knows nothing about devices or boards. A board creates a [`Vm`] with
//! its RAM layout, creates [`Vcpu`]s, puts the boot vCPU into long mode with the
//! helpers of [`x86`], and calls [`Vcpu::run`] on one host thread per vCPU, routing
//! each [`Exit`] to its own buses.
//!
//! Interrupt delivery uses KVM's in-kernel irqchip (`KVM_CREATE_IRQCHIP`: two 8259
//! PICs, an IOAPIC with 24 pins and a local APIC per vCPU) plus the in-kernel PIT
//! (`KVM_CREATE_PIT2`). That is the choice Firecracker makes too: the APIC timer,
//! IPIs, INIT/SIPI for secondary vCPUs and the PIT never leave the kernel, so a
//! vCPU thread exits only for port I/O and MMIO that a device model answers. Devices
//! raise GSIs with [`Vm::set_irq_line`] (`KVM_IRQ_LINE`, which drives both the PIC and
//! the IOAPIC pin of that number).

pub mod x86;

use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use kvm_bindings::{
    kvm_pit_config, kvm_userspace_memory_region, CpuId, KVM_MAX_CPUID_ENTRIES, KVM_PIT_SPEAKER_DUMMY,
    KVM_SYSTEM_EVENT_CRASH, KVM_SYSTEM_EVENT_RESET, KVM_SYSTEM_EVENT_SHUTDOWN,
};
use kvm_ioctls::{Cap, Kvm, VcpuExit, VcpuFd, VmFd};
use vm_memory::{Address, GuestAddress, GuestMemoryBackend, GuestMemoryMmap, GuestMemoryRegion};

/// Guest RAM of a KVM VM: anonymous host mappings registered as KVM memory slots.
pub type GuestRam = GuestMemoryMmap<()>;

/// Address of the three-page TSS region KVM needs on Intel hosts (just below the
/// 4 GiB boundary's BIOS area, as Firecracker and QEMU place it).
pub const KVM_TSS_ADDRESS: u64 = 0xfffb_d000;
/// Address of the identity-map page KVM needs for real mode on Intel hosts (the page
/// after the TSS region).
pub const KVM_IDENTITY_MAP_ADDRESS: u64 = 0xfffb_c000;

/// Errors of the KVM backend. Each names the step that failed and what to check.
#[derive(Debug)]
pub enum KvmError {
    /// `/dev/kvm` could not be opened.
    Open(kvm_ioctls::Error),
    /// The host's KVM API version is not the stable one (12).
    ApiVersion(i32),
    /// The host KVM lacks a capability the backend needs.
    MissingCap(&'static str),
    /// A KVM ioctl failed.
    Ioctl {
        /// What the backend was doing.
        what: &'static str,
        /// The OS error.
        source: kvm_ioctls::Error,
    },
    /// Guest RAM could not be allocated or described.
    Memory(String),
    /// More vCPUs were asked for than KVM or the board supports.
    TooManyVcpus {
        /// vCPUs requested.
        requested: usize,
        /// Maximum allowed.
        max: usize,
    },
    /// A boot structure does not fit in guest RAM.
    GuestWrite {
        /// What was being written.
        what: &'static str,
        /// Where.
        addr: u64,
    },
}

impl fmt::Display for KvmError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            KvmError::Open(e) => write!(
                f,
                "cannot open {}: {e}; the x86-kvm machine needs an x86-64 Linux host with \
                 the kvm module loaded and read/write access to /dev/kvm",
                kvm_device_path().display()
            ),
            KvmError::ApiVersion(v) => {
                write!(f, "/dev/kvm reports API version {v}, but only the stable version 12 is supported")
            }
            KvmError::MissingCap(c) => {
                write!(f, "the host's KVM lacks {c}, which the x86 backend needs; use a newer host kernel")
            }
            KvmError::Ioctl { what, source } => write!(f, "KVM failed to {what}: {source}"),
            KvmError::Memory(m) => write!(f, "cannot set up guest RAM: {m}"),
            KvmError::TooManyVcpus { requested, max } => {
                write!(f, "{requested} vCPUs requested but at most {max} are supported here")
            }
            KvmError::GuestWrite { what, addr } => {
                write!(f, "cannot write the {what} at guest address {addr:#x}: it is not inside guest RAM")
            }
        }
    }
}

impl std::error::Error for KvmError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            KvmError::Open(e) | KvmError::Ioctl { source: e, .. } => Some(e),
            _ => None,
        }
    }
}

fn ioctl(what: &'static str) -> impl FnOnce(kvm_ioctls::Error) -> KvmError {
    move |source| KvmError::Ioctl { what, source }
}

/// The KVM device: `/dev/kvm`, or the path in `MIMIC_KVM_DEVICE` (for tests that
/// need a host without KVM).
pub fn kvm_device_path() -> std::path::PathBuf {
    std::env::var_os("MIMIC_KVM_DEVICE").map_or_else(|| "/dev/kvm".into(), Into::into)
}

/// Whether the KVM device can be opened for reading and writing (a cheap probe for
/// tests and for a friendly CLI error).
pub fn available() -> bool {
    std::fs::OpenOptions::new().read(true).write(true).open(kvm_device_path()).is_ok()
}

/// A KVM virtual machine with guest RAM mapped and the in-kernel irqchip and PIT.
pub struct Vm {
    kvm: Kvm,
    fd: VmFd,
    ram: GuestRam,
    supported_cpuid: CpuId,
    max_vcpus: usize,
}

impl fmt::Debug for Vm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Vm").field("ram_regions", &self.ram.num_regions()).field("max_vcpus", &self.max_vcpus).finish()
    }
}

impl Vm {
    /// Opens `/dev/kvm`, creates a VM with the in-kernel irqchip and PIT, and maps
    /// anonymous host memory at each `(guest address, size)` range of `ram`
    /// (sizes multiples of 4 KiB, ranges not overlapping and below the TSS).
    pub fn new(ram: &[(u64, usize)]) -> Result<Vm, KvmError> {
        let path = std::ffi::CString::new(kvm_device_path().into_os_string().into_encoded_bytes())
            .map_err(|_| KvmError::Open(kvm_ioctls::Error::new(libc::EINVAL)))?;
        let kvm = Kvm::new_with_path(path).map_err(KvmError::Open)?;
        let v = kvm.get_api_version();
        if v != 12 {
            return Err(KvmError::ApiVersion(v));
        }
        for (cap, name) in [
            (Cap::Irqchip, "KVM_CAP_IRQCHIP"),
            (Cap::Pit2, "KVM_CAP_PIT2"),
            (Cap::UserMemory, "KVM_CAP_USER_MEMORY"),
            (Cap::SetTssAddr, "KVM_CAP_SET_TSS_ADDR"),
            (Cap::ExtCpuid, "KVM_CAP_EXT_CPUID"),
            (Cap::ImmediateExit, "KVM_CAP_IMMEDIATE_EXIT"),
        ] {
            if !kvm.check_extension(cap) {
                return Err(KvmError::MissingCap(name));
            }
        }
        let fd = kvm.create_vm().map_err(ioctl("create a VM"))?;
        fd.set_tss_address(KVM_TSS_ADDRESS as usize).map_err(ioctl("set the TSS address"))?;
        fd.set_identity_map_address(KVM_IDENTITY_MAP_ADDRESS).map_err(ioctl("set the identity map address"))?;
        fd.create_irq_chip().map_err(ioctl("create the in-kernel irqchip"))?;
        // The PIT's speaker port (0x61) is answered by KVM too, so the kernel's PIT
        // calibration never exits to us.
        let pit = kvm_pit_config { flags: KVM_PIT_SPEAKER_DUMMY, ..Default::default() };
        fd.create_pit2(pit).map_err(ioctl("create the in-kernel PIT"))?;

        for &(base, size) in ram {
            if size == 0 || size % 4096 != 0 || base % 4096 != 0 {
                return Err(KvmError::Memory(format!(
                    "RAM range {base:#x}+{size:#x} is not a non-empty multiple of 4 KiB"
                )));
            }
            if base.checked_add(size as u64).is_none_or(|end| end > KVM_IDENTITY_MAP_ADDRESS && base < 1 << 32) {
                return Err(KvmError::Memory(format!(
                    "RAM range {base:#x}+{size:#x} collides with KVM's TSS/identity-map pages below 4 GiB"
                )));
            }
        }
        let ranges: Vec<(GuestAddress, usize)> = ram.iter().map(|&(b, s)| (GuestAddress(b), s)).collect();
        let ram = GuestRam::from_ranges(&ranges).map_err(|e| KvmError::Memory(e.to_string()))?;
        for (slot, region) in ram.iter().enumerate() {
            // Transparent huge pages where the host allows them on request: fewer,
            // larger mappings make the guest's first touches much cheaper.
            // SAFETY: the range is exactly one anonymous mapping owned by `ram`;
            // MADV_HUGEPAGE only changes how the kernel backs it.
            unsafe { libc::madvise(region.as_ptr().cast(), region.len() as usize, libc::MADV_HUGEPAGE) };
            let region_desc = kvm_userspace_memory_region {
                slot: slot as u32,
                flags: 0,
                guest_phys_addr: region.start_addr().raw_value(),
                memory_size: region.len(),
                userspace_addr: region.as_ptr() as u64,
            };
            // SAFETY: the region is a live anonymous mapping owned by `ram`, which the
            // Vm keeps (and so keeps mapped) for as long as the VM fd exists; KVM only
            // accesses it on behalf of this VM.
            unsafe { fd.set_user_memory_region(region_desc) }.map_err(ioctl("map guest RAM"))?;
        }

        let supported_cpuid =
            kvm.get_supported_cpuid(KVM_MAX_CPUID_ENTRIES).map_err(ioctl("read the supported CPUID"))?;
        let max_vcpus = kvm.get_max_vcpus().min(x86::MAX_VCPUS);
        Ok(Vm { kvm, fd, ram, supported_cpuid, max_vcpus })
    }

    /// Guest RAM (for loading images and for devices' DMA).
    pub fn ram(&self) -> &GuestRam {
        &self.ram
    }

    /// The most vCPUs this VM can have (KVM's limit capped at [`x86::MAX_VCPUS`]).
    pub fn max_vcpus(&self) -> usize {
        self.max_vcpus
    }

    /// The host KVM's supported CPUID, unfiltered.
    pub fn supported_cpuid(&self) -> &CpuId {
        &self.supported_cpuid
    }

    /// Drives GSI `gsi` (a PIC/IOAPIC input) to `high`.
    pub fn set_irq_line(&self, gsi: u32, high: bool) -> Result<(), KvmError> {
        self.fd.set_irq_line(gsi, high).map_err(ioctl("set an interrupt line"))
    }

    /// Creates vCPU `id` (its APIC ID) of `count`, with CPUID filtered for that
    /// topology ([`x86::filter_cpuid`]), the boot MSRs ([`x86::boot_msrs`]), a
    /// default FPU state and LINT0/LINT1 wired as ExtINT/NMI. Secondary vCPUs wait
    /// for INIT/SIPI from the boot vCPU in the in-kernel local APIC.
    pub fn create_vcpu(&self, id: u8, count: u8) -> Result<Vcpu, KvmError> {
        if usize::from(count) > self.max_vcpus || id >= count {
            return Err(KvmError::TooManyVcpus { requested: usize::from(count), max: self.max_vcpus });
        }
        let fd = self.fd.create_vcpu(u64::from(id)).map_err(ioctl("create a vCPU"))?;
        let mut cpuid = self.supported_cpuid.clone();
        x86::filter_cpuid(cpuid.as_mut_slice(), id, count);
        fd.set_cpuid2(&cpuid).map_err(ioctl("set the vCPU's CPUID"))?;
        let msrs = x86::boot_msrs().map_err(|e| KvmError::Memory(format!("MSR list: {e:?}")))?;
        let n = fd.set_msrs(&msrs).map_err(ioctl("set the vCPU's MSRs"))?;
        if n != msrs.as_slice().len() {
            return Err(KvmError::Ioctl { what: "set every boot MSR", source: kvm_ioctls::Error::new(libc::EINVAL) });
        }
        fd.set_fpu(&x86::boot_fpu()).map_err(ioctl("set the vCPU's FPU state"))?;
        let mut lapic = fd.get_lapic().map_err(ioctl("read the local APIC"))?;
        x86::set_lint(&mut lapic);
        fd.set_lapic(&lapic).map_err(ioctl("set the local APIC"))?;
        Ok(Vcpu { fd, id, kicked: Arc::new(AtomicBool::new(false)) })
    }

    /// The kvm-ioctls VM handle, for what this wrapper does not cover.
    pub fn fd(&self) -> &VmFd {
        &self.fd
    }

    /// The kvm-ioctls system handle.
    pub fn kvm(&self) -> &Kvm {
        &self.kvm
    }
}

/// Why [`Vcpu::run`] returned: the exits a board must handle, typed.
#[derive(Debug)]
pub enum Exit<'a> {
    /// `in` from `port`: fill `data` (1, 2 or 4 bytes) before the next run.
    IoIn {
        /// The port.
        port: u16,
        /// The bytes to fill.
        data: &'a mut [u8],
    },
    /// `out` of `data` to `port`.
    IoOut {
        /// The port.
        port: u16,
        /// The bytes written.
        data: &'a [u8],
    },
    /// A read of unmapped guest-physical `addr`: fill `data` before the next run.
    MmioRead {
        /// The guest-physical address.
        addr: u64,
        /// The bytes to fill.
        data: &'a mut [u8],
    },
    /// A write of `data` to unmapped guest-physical `addr`.
    MmioWrite {
        /// The guest-physical address.
        addr: u64,
        /// The bytes written.
        data: &'a [u8],
    },
    /// `hlt` with no in-kernel irqchip to wait for interrupts (not seen with ours).
    Hlt,
    /// The vCPU shut down: a triple fault.
    Shutdown,
    /// VM entry failed (invalid guest state); `reason` is the hardware code.
    FailEntry {
        /// Hardware entry failure reason.
        reason: u64,
        /// The host CPU it failed on.
        cpu: u32,
    },
    /// KVM hit an internal error (e.g. it could not emulate an instruction).
    InternalError,
    /// The guest asked for a power event through a KVM paravirtual interface.
    SystemEvent(SystemEvent),
    /// `KVM_RUN` was interrupted by a signal or [`VcpuKicker::kick`].
    Interrupted,
    /// Any other exit reason (named for the log).
    Other(String),
}

/// `KVM_EXIT_SYSTEM_EVENT` kinds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SystemEvent {
    /// Power off.
    Shutdown,
    /// Reset.
    Reset,
    /// Guest crash (pvpanic-like).
    Crash,
    /// Another event type.
    Other(u32),
}

/// One vCPU. Run it on its own thread.
pub struct Vcpu {
    fd: VcpuFd,
    id: u8,
    kicked: Arc<AtomicBool>,
}

impl fmt::Debug for Vcpu {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Vcpu").field("id", &self.id).finish()
    }
}

/// Makes a vCPU's `run` return [`Exit::Interrupted`] soon, from any thread.
///
/// Sets a flag the vCPU checks before entering the guest and sends the vCPU thread
/// [`kick_signal`] to interrupt a `KVM_RUN` in progress. Call it again if the vCPU
/// has not stopped after a while (a signal sent between the check and the entry is
/// absorbed by KVM's `immediate_exit` only if it arrives late enough).
#[derive(Clone, Debug)]
pub struct VcpuKicker {
    kicked: Arc<AtomicBool>,
    thread: Option<libc::pthread_t>,
}

impl VcpuKicker {
    /// Interrupts a `KVM_RUN` in progress without asking the vCPU to stay out
    /// (a debugging aid: the vCPU sees one [`Exit::Interrupted`]).
    pub fn kick_once(&self) {
        if let Some(t) = self.thread {
            // SAFETY: as in `kick`.
            unsafe { libc::pthread_kill(t, kick_signal()) };
        }
    }

    /// Requests the exit and interrupts the vCPU thread if it has started running.
    pub fn kick(&self) {
        self.kicked.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread {
            // SAFETY: `t` is the pthread id of a vCPU thread recorded by
            // `Vcpu::kicker_for_current_thread`; the board joins vCPU threads only
            // after it stops kicking them, so the id is valid. The signal has a
            // no-op handler installed by `install_kick_handler`.
            unsafe { libc::pthread_kill(t, kick_signal()) };
        }
    }
}

/// The signal used to interrupt `KVM_RUN` (SIGRTMIN + 2, Firecracker's choice is
/// SIGRTMIN + 0; any real-time signal with a no-op handler works).
pub fn kick_signal() -> libc::c_int {
    vmm_sys_util::signal::SIGRTMIN() + 2
}

extern "C" fn noop_handler(_: libc::c_int, _: *mut libc::siginfo_t, _: *mut libc::c_void) {}

/// Installs the no-op handler for [`kick_signal`] (idempotent, process-wide).
pub fn install_kick_handler() -> Result<(), KvmError> {
    vmm_sys_util::signal::register_signal_handler(kick_signal(), noop_handler).map_err(|e| KvmError::Ioctl {
        what: "install the vCPU kick signal handler",
        source: kvm_ioctls::Error::new(e.errno()),
    })
}

impl Vcpu {
    /// This vCPU's APIC ID.
    pub fn id(&self) -> u8 {
        self.id
    }

    /// A kicker that interrupts this vCPU, which must be run on the calling thread
    /// from now on. Call it at the top of the vCPU thread.
    pub fn kicker_for_current_thread(&self) -> VcpuKicker {
        // SAFETY: pthread_self has no preconditions.
        let thread = unsafe { libc::pthread_self() };
        VcpuKicker { kicked: self.kicked.clone(), thread: Some(thread) }
    }

    /// A kicker that only sets the flag (usable before the vCPU thread exists).
    pub fn flag_kicker(&self) -> VcpuKicker {
        VcpuKicker { kicked: self.kicked.clone(), thread: None }
    }

    /// Puts this vCPU into 64-bit long mode at `entry` (see [`x86::LongModeEntry`]).
    pub fn enter_long_mode(&self, entry: &x86::LongModeEntry) -> Result<(), KvmError> {
        let mut sregs = self.fd.get_sregs().map_err(ioctl("read the special registers"))?;
        x86::long_mode_sregs(&mut sregs, entry);
        self.fd.set_sregs(&sregs).map_err(ioctl("set the special registers"))?;
        self.fd.set_regs(&x86::long_mode_regs(entry)).map_err(ioctl("set the general registers"))?;
        Ok(())
    }

    /// Enters the guest until the next exit a board must see.
    pub fn run(&mut self) -> Result<Exit<'_>, KvmError> {
        if self.kicked.load(Ordering::SeqCst) {
            return Ok(Exit::Interrupted);
        }
        let exit = match self.fd.run() {
            Ok(e) => e,
            Err(e) if e.errno() == libc::EINTR || e.errno() == libc::EAGAIN => return Ok(Exit::Interrupted),
            Err(e) => return Err(KvmError::Ioctl { what: "run the vCPU", source: e }),
        };
        Ok(match exit {
            VcpuExit::IoIn(port, data) => Exit::IoIn { port, data },
            VcpuExit::IoOut(port, data) => Exit::IoOut { port, data },
            VcpuExit::MmioRead(addr, data) => Exit::MmioRead { addr, data },
            VcpuExit::MmioWrite(addr, data) => Exit::MmioWrite { addr, data },
            VcpuExit::Hlt => Exit::Hlt,
            VcpuExit::Shutdown => Exit::Shutdown,
            VcpuExit::FailEntry(reason, cpu) => Exit::FailEntry { reason, cpu },
            VcpuExit::InternalError => Exit::InternalError,
            VcpuExit::Intr => Exit::Interrupted,
            VcpuExit::SystemEvent(kind, _) => Exit::SystemEvent(match kind {
                KVM_SYSTEM_EVENT_SHUTDOWN => SystemEvent::Shutdown,
                KVM_SYSTEM_EVENT_RESET => SystemEvent::Reset,
                KVM_SYSTEM_EVENT_CRASH => SystemEvent::Crash,
                k => SystemEvent::Other(k),
            }),
            other => Exit::Other(format!("{other:?}")),
        })
    }

    /// The vCPU's instruction pointer (for error messages).
    pub fn rip(&self) -> Option<u64> {
        self.fd.get_regs().ok().map(|r| r.rip)
    }

    /// The kvm-ioctls vCPU handle, for what this wrapper does not cover.
    pub fn fd(&self) -> &VcpuFd {
        &self.fd
    }
}

/// Writes `bytes` at guest-physical `addr`, failing with a typed error naming `what`.
pub fn write_guest(ram: &GuestRam, addr: u64, bytes: &[u8], what: &'static str) -> Result<(), KvmError> {
    use vm_memory::Bytes;
    let end_ok = addr.checked_add(bytes.len() as u64).is_some();
    if !end_ok || ram.write_slice(bytes, GuestAddress(addr)).is_err() {
        return Err(KvmError::GuestWrite { what, addr });
    }
    Ok(())
}

/// Whether `[addr, addr+len)` lies inside one RAM region.
pub fn ram_contains(ram: &GuestRam, addr: u64, len: u64) -> bool {
    let Some(end) = addr.checked_add(len) else { return false };
    ram.find_region(GuestAddress(addr)).is_some_and(|r| r.start_addr().raw_value() + r.len() >= end)
}

/// Measures how fast this host's KVM runs guest kernel-mode code: boots a 64 MiB VM
/// whose vCPU counts `iterations` down in a two-instruction loop at CPL 0 in long
/// mode, and returns the time from entry to its exit port write.
///
/// With hardware virtualization a million iterations take about a millisecond. A
/// host whose KVM emulates kernel-mode guest code (seen with the paravirtual
/// `kvm_pvm` module on hosts without VT-x) takes seconds, and a Linux boot there
/// takes hours; tests use this to say so instead of timing out.
pub fn measure_guest_loop(iterations: u32) -> Result<std::time::Duration, KvmError> {
    let vm = Vm::new(&[(0, 64 << 20)])?;
    let mut code = vec![0x48, 0xc7, 0xc1]; // mov rcx, imm32
    code.extend_from_slice(&iterations.max(1).to_le_bytes());
    code.extend_from_slice(&[0x48, 0xff, 0xc9, 0x75, 0xfb, 0xe6, 0x10, 0xf4]); // 1: dec rcx; jnz 1b; out 0x10, al; hlt
    write_guest(vm.ram(), 0x10_0000, &code, "calibration code")?;
    let entry = x86::LongModeEntry { gdt: 0x500, idt: 0x520, pml4: 0x9000, rip: 0x10_0000, rsp: 0x8ff0, rsi: 0 };
    x86::write_long_mode_tables(vm.ram(), &entry)?;
    let mut vcpu = vm.create_vcpu(0, 1)?;
    vcpu.enter_long_mode(&entry)?;
    let start = std::time::Instant::now();
    loop {
        match vcpu.run()? {
            Exit::IoOut { port: 0x10, .. } => return Ok(start.elapsed()),
            Exit::Interrupted => {}
            other => {
                return Err(KvmError::Memory(format!("calibration guest stopped unexpectedly: {other:?}")));
            }
        }
    }
}
