//! x86-64 vCPU set-up: the state a 64-bit Linux entry point expects, as pure
//! functions where possible so they can be tested without `/dev/kvm`.
//!
//! - [`write_long_mode_tables`]: a GDT (null, null, 64-bit code at `0x10`, data at
//!   `0x18`, TSS at `0x20` — the `__BOOT_CS`/`__BOOT_DS` selectors of the Linux
//!   64-bit boot protocol) and identity page tables for the low 4 GiB with 2 MiB pages.
//! - [`long_mode_sregs`]/[`long_mode_regs`]: CR0.PE|PG, CR4.PAE, EFER.LME|LMA, flat
//!   segments from that GDT, `rip` at the entry, `rsi` at the boot parameters.
//! - [`filter_cpuid`]: KVM's supported CPUID with this vCPU's APIC ID and the VM's
//!   topology (one package, `count` cores, one thread each), the hypervisor bit set
//!   and the architectural PMU leaf hidden.
//! - [`boot_msrs`], [`boot_fpu`], [`set_lint`]: Firecracker's reset values.

use kvm_bindings::{kvm_cpuid_entry2, kvm_fpu, kvm_lapic_state, kvm_msr_entry, kvm_regs, kvm_segment, kvm_sregs, Msrs};

use super::{write_guest, GuestRam, KvmError};

/// Most vCPUs a board may create (the MP table and APIC IDs are 8-bit; 64 is plenty
/// for this emulator and keeps the per-VM set-up bounded).
pub const MAX_VCPUS: usize = 64;

/// GDT selector of the 64-bit code segment (`__BOOT_CS`).
pub const BOOT_CS: u16 = 0x10;
/// GDT selector of the data segment (`__BOOT_DS`).
pub const BOOT_DS: u16 = 0x18;
/// GDT selector of the (dummy) TSS.
pub const BOOT_TSS: u16 = 0x20;

const GDT: [u64; 5] = [
    0,
    0,
    gdt_entry(0xa09b, 0, 0xfffff), // code: present, DPL 0, execute/read, L=1, G=1
    gdt_entry(0xc093, 0, 0xfffff), // data: present, DPL 0, read/write, D/B=1, G=1
    gdt_entry(0x808b, 0, 0xfffff), // TSS: present, busy 64-bit TSS
];

/// Packs a GDT descriptor from `flags` (access byte and flag nibble as in the
/// descriptor's bits 40..56), `base` and `limit`.
pub const fn gdt_entry(flags: u16, base: u32, limit: u32) -> u64 {
    let (flags, base, limit) = (flags as u64, base as u64, limit as u64);
    ((base & 0xff00_0000) << (56 - 24))
        | ((flags & 0x0000_f0ff) << 40)
        | ((limit & 0x000f_0000) << (48 - 16))
        | ((base & 0x00ff_ffff) << 16)
        | (limit & 0x0000_ffff)
}

/// The `kvm_segment` a GDT descriptor loads as, for `selector`.
pub fn segment_from_gdt(entry: u64, selector: u16) -> kvm_segment {
    let limit = ((entry & 0xffff) | ((entry >> 32) & 0xf_0000)) as u32;
    let g = ((entry >> 55) & 1) as u8;
    let present = ((entry >> 47) & 1) as u8;
    kvm_segment {
        base: ((entry >> 16) & 0xff_ffff) | ((entry >> 32) & 0xff00_0000),
        limit: if g == 1 { (limit << 12) | 0xfff } else { limit },
        selector,
        type_: ((entry >> 40) & 0xf) as u8,
        present,
        dpl: ((entry >> 45) & 3) as u8,
        db: ((entry >> 54) & 1) as u8,
        s: ((entry >> 44) & 1) as u8,
        l: ((entry >> 53) & 1) as u8,
        g,
        avl: ((entry >> 52) & 1) as u8,
        unusable: u8::from(present == 0),
        padding: 0,
    }
}

/// Where the boot structures live and where the vCPU starts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LongModeEntry {
    /// Guest address of the GDT (40 bytes).
    pub gdt: u64,
    /// Guest address of the (empty) IDT: 8 bytes of zeros.
    pub idt: u64,
    /// Guest address of the PML4; the PDPT and four page directories follow it in the
    /// next five 4 KiB pages.
    pub pml4: u64,
    /// 64-bit entry point.
    pub rip: u64,
    /// Initial stack pointer.
    pub rsp: u64,
    /// Value for `rsi` (the Linux boot protocol's boot_params pointer).
    pub rsi: u64,
}

/// Bytes of guest memory [`write_long_mode_tables`] uses from `pml4`.
pub const PAGE_TABLES_LEN: u64 = 6 * 4096;

/// Writes the GDT, an empty IDT and identity page tables for 0..4 GiB into `ram`.
pub fn write_long_mode_tables(ram: &GuestRam, e: &LongModeEntry) -> Result<(), KvmError> {
    let gdt: Vec<u8> = GDT.iter().flat_map(|d| d.to_le_bytes()).collect();
    write_guest(ram, e.gdt, &gdt, "GDT")?;
    write_guest(ram, e.idt, &[0u8; 8], "IDT")?;
    let pdpt = e.pml4 + 0x1000;
    write_guest(ram, e.pml4, &(pdpt | 0x3).to_le_bytes(), "PML4")?;
    for g in 0..4u64 {
        let pd = e.pml4 + 0x2000 + g * 0x1000;
        write_guest(ram, pdpt + 8 * g, &(pd | 0x3).to_le_bytes(), "PDPT")?;
        let mut table = Vec::with_capacity(4096);
        for i in 0..512u64 {
            // Present, writable, 2 MiB page (PS).
            let phys = (g << 30) | (i << 21);
            table.extend_from_slice(&(phys | 0x83).to_le_bytes());
        }
        write_guest(ram, pd, &table, "page directory")?;
    }
    Ok(())
}

const CR0_PE: u64 = 1;
const CR0_ET: u64 = 1 << 4;
const CR0_NW: u64 = 1 << 29;
const CR0_CD: u64 = 1 << 30;
const CR0_PG: u64 = 1 << 31;
const CR4_PAE: u64 = 1 << 5;
const EFER_LME: u64 = 1 << 8;
const EFER_LMA: u64 = 1 << 10;

/// Sets `sregs` for long mode with the tables of [`write_long_mode_tables`].
pub fn long_mode_sregs(sregs: &mut kvm_sregs, e: &LongModeEntry) {
    let code = segment_from_gdt(GDT[2], BOOT_CS);
    let data = segment_from_gdt(GDT[3], BOOT_DS);
    let tss = segment_from_gdt(GDT[4], BOOT_TSS);
    sregs.gdt.base = e.gdt;
    sregs.gdt.limit = (std::mem::size_of_val(&GDT) - 1) as u16;
    sregs.idt.base = e.idt;
    sregs.idt.limit = 7;
    sregs.cs = code;
    sregs.ds = data;
    sregs.es = data;
    sregs.fs = data;
    sregs.gs = data;
    sregs.ss = data;
    sregs.tr = tss;
    sregs.cr3 = e.pml4;
    sregs.cr4 |= CR4_PAE;
    // A new vCPU's CR0 has CD and NW set (caches disabled, the reset value); leaving
    // them makes guest memory uncached, which under nested KVM is ~100x slower.
    sregs.cr0 = (sregs.cr0 & !(CR0_CD | CR0_NW)) | CR0_PE | CR0_ET | CR0_PG;
    sregs.efer |= EFER_LME | EFER_LMA;
}

/// General registers for the entry: `rip`, `rsp`/`rbp`, `rsi`, and RFLAGS' reserved bit.
pub fn long_mode_regs(e: &LongModeEntry) -> kvm_regs {
    kvm_regs { rflags: 0x2, rip: e.rip, rsp: e.rsp, rbp: e.rsp, rsi: e.rsi, ..Default::default() }
}

/// CPUID leaf 1 ECX bit 31: running under a hypervisor.
pub const CPUID_HYPERVISOR: u32 = 1 << 31;

/// Filters KVM's supported CPUID for vCPU `apic_id` of `count`: APIC IDs in leaves
/// 1, 0xB and 0x1F, one package of `count` single-thread cores, the hypervisor bit,
/// and no architectural PMU (leaf 0xA zeroed).
pub fn filter_cpuid(entries: &mut [kvm_cpuid_entry2], apic_id: u8, count: u8) {
    let count = u32::from(count.max(1));
    let id = u32::from(apic_id);
    // Bits of the APIC ID that number cores: ceil(log2(count)).
    let core_shift = u32::BITS - (count - 1).leading_zeros();
    for e in entries.iter_mut() {
        match e.function {
            1 => {
                e.ebx = (e.ebx & 0xffff) | (count << 16) | (id << 24);
                e.ecx |= CPUID_HYPERVISOR;
                if count > 1 {
                    e.edx |= 1 << 28; // HTT: the count field is valid
                }
            }
            4 => {
                // Cores per package - 1 in EAX[31:26]; one thread per cache sharer.
                e.eax = (e.eax & 0x03ff_ffff) | (((count - 1) & 0x3f) << 26);
                e.eax &= !(0xfff << 14);
            }
            0xa => {
                e.eax = 0;
                e.ebx = 0;
                e.ecx = 0;
                e.edx = 0;
            }
            0xb | 0x1f => {
                e.edx = id;
                match e.index {
                    0 => {
                        e.eax = 0;
                        e.ebx = 1;
                        e.ecx = 1 << 8; // level 0: SMT
                    }
                    1 => {
                        e.eax = core_shift;
                        e.ebx = count;
                        e.ecx = 1 | (2 << 8); // level 1: core
                    }
                    i => {
                        e.eax = 0;
                        e.ebx = 0;
                        e.ecx = i & 0xff; // invalid level ends the enumeration
                    }
                }
            }
            _ => {}
        }
    }
}

/// MSR numbers set at boot.
pub mod msr {
    /// IA32_TSC.
    pub const TSC: u32 = 0x10;
    /// IA32_SYSENTER_CS.
    pub const SYSENTER_CS: u32 = 0x174;
    /// IA32_SYSENTER_ESP.
    pub const SYSENTER_ESP: u32 = 0x175;
    /// IA32_SYSENTER_EIP.
    pub const SYSENTER_EIP: u32 = 0x176;
    /// IA32_MISC_ENABLE.
    pub const MISC_ENABLE: u32 = 0x1a0;
    /// IA32_MTRR_DEF_TYPE.
    pub const MTRR_DEF_TYPE: u32 = 0x2ff;
    /// STAR.
    pub const STAR: u32 = 0xc000_0081;
    /// LSTAR.
    pub const LSTAR: u32 = 0xc000_0082;
    /// CSTAR.
    pub const CSTAR: u32 = 0xc000_0083;
    /// SFMASK.
    pub const SYSCALL_MASK: u32 = 0xc000_0084;
    /// KERNEL_GS_BASE.
    pub const KERNEL_GS_BASE: u32 = 0xc000_0102;
}

/// The boot MSR values as `(index, value)`: syscall MSRs cleared, TSC 0, fast
/// strings enabled, MTRRs enabled with write-back as the default type (without it
/// all of RAM would be uncached).
pub fn boot_msr_values() -> [(u32, u64); 11] {
    [
        (msr::SYSENTER_CS, 0),
        (msr::SYSENTER_ESP, 0),
        (msr::SYSENTER_EIP, 0),
        (msr::STAR, 0),
        (msr::CSTAR, 0),
        (msr::KERNEL_GS_BASE, 0),
        (msr::SYSCALL_MASK, 0),
        (msr::LSTAR, 0),
        (msr::TSC, 0),
        (msr::MISC_ENABLE, 1),
        (msr::MTRR_DEF_TYPE, (1 << 11) | 6),
    ]
}

/// [`boot_msr_values`] as a KVM MSR list.
pub fn boot_msrs() -> Result<Msrs, vmm_sys_util::fam::Error> {
    let entries: Vec<kvm_msr_entry> =
        boot_msr_values().iter().map(|&(index, data)| kvm_msr_entry { index, data, ..Default::default() }).collect();
    Msrs::from_entries(&entries)
}

/// x87 control word 0x37f and MXCSR 0x1f80 (their reset values).
pub fn boot_fpu() -> kvm_fpu {
    kvm_fpu { fcw: 0x37f, mxcsr: 0x1f80, ..Default::default() }
}

const APIC_LVT0: usize = 0x350;
const APIC_LVT1: usize = 0x360;
const APIC_MODE_NMI: u32 = 4;
const APIC_MODE_EXTINT: u32 = 7;

fn lapic_reg(lapic: &kvm_lapic_state, off: usize) -> u32 {
    let b = &lapic.regs[off..off + 4];
    u32::from_le_bytes([b[0] as u8, b[1] as u8, b[2] as u8, b[3] as u8])
}

fn set_lapic_reg(lapic: &mut kvm_lapic_state, off: usize, v: u32) {
    for (i, b) in v.to_le_bytes().iter().enumerate() {
        lapic.regs[off + i] = *b as _;
    }
}

/// Wires LINT0 as ExtINT (the 8259 PIC's output) and LINT1 as NMI, as a PC BIOS does.
pub fn set_lint(lapic: &mut kvm_lapic_state) {
    let lvt0 = lapic_reg(lapic, APIC_LVT0);
    set_lapic_reg(lapic, APIC_LVT0, (lvt0 & !0x700) | (APIC_MODE_EXTINT << 8));
    let lvt1 = lapic_reg(lapic, APIC_LVT1);
    set_lapic_reg(lapic, APIC_LVT1, (lvt1 & !0x700) | (APIC_MODE_NMI << 8));
}

#[cfg(test)]
mod tests {
    use super::*;
    use vm_memory::{Bytes, GuestAddress};

    #[test]
    fn gdt_entries_decode_as_flat_long_mode_segments() {
        let cs = segment_from_gdt(GDT[2], BOOT_CS);
        assert_eq!((cs.base, cs.limit, cs.l, cs.db, cs.present, cs.s, cs.type_), (0, 0xffff_ffff, 1, 0, 1, 1, 0xb));
        let ds = segment_from_gdt(GDT[3], BOOT_DS);
        assert_eq!((ds.l, ds.db, ds.type_, ds.g), (0, 1, 3, 1));
        let tss = segment_from_gdt(GDT[4], BOOT_TSS);
        assert_eq!((tss.s, tss.type_, tss.unusable), (0, 0xb, 0));
        assert_eq!(segment_from_gdt(0, 0).unusable, 1);
        assert_eq!(gdt_entry(0xa09b, 0, 0xfffff), 0x00af_9b00_0000_ffff);
    }

    #[test]
    fn page_tables_identity_map_4gib() {
        let ram = GuestRam::from_ranges(&[(GuestAddress(0), 1 << 20)]).unwrap();
        let e = LongModeEntry { gdt: 0x500, idt: 0x520, pml4: 0x9000, rip: 0x100200, rsp: 0x8ff0, rsi: 0x7000 };
        write_long_mode_tables(&ram, &e).unwrap();
        let pml4e: u64 = ram.read_obj(GuestAddress(0x9000)).unwrap();
        assert_eq!(pml4e, 0xa003);
        let pdpte3: u64 = ram.read_obj(GuestAddress(0xa000 + 24)).unwrap();
        assert_eq!(pdpte3, 0xe003);
        let last: u64 = ram.read_obj(GuestAddress(0xe000 + 511 * 8)).unwrap();
        assert_eq!(last, 0xffe0_0083);
        let gdt2: u64 = ram.read_obj(GuestAddress(0x500 + 16)).unwrap();
        assert_eq!(gdt2, GDT[2]);

        let mut sregs = kvm_sregs { cr0: 0x6000_0010, ..Default::default() };
        long_mode_sregs(&mut sregs, &e);
        assert_eq!(sregs.cr0, 0x8000_0011, "caches enabled (CD, NW clear)");
        assert_eq!(sregs.cr3, 0x9000);
        assert_eq!(sregs.cr0 & (CR0_PE | CR0_PG), CR0_PE | CR0_PG);
        assert_eq!(sregs.efer & (EFER_LME | EFER_LMA), EFER_LME | EFER_LMA);
        assert_eq!(sregs.cs.selector, BOOT_CS);
        let regs = long_mode_regs(&e);
        assert_eq!((regs.rip, regs.rsi, regs.rflags), (0x100200, 0x7000, 2));

        // Tables that do not fit are a typed error, not a panic.
        let small = GuestRam::from_ranges(&[(GuestAddress(0), 0x8000)]).unwrap();
        assert!(matches!(write_long_mode_tables(&small, &e), Err(KvmError::GuestWrite { what: "PML4", .. })));
    }

    fn entry(function: u32, index: u32) -> kvm_cpuid_entry2 {
        kvm_cpuid_entry2 { function, index, ebx: 0xdead_0000 | 0x0800, ..Default::default() }
    }

    #[test]
    fn cpuid_carries_apic_id_and_topology() {
        let mut e = vec![entry(1, 0), entry(0xb, 0), entry(0xb, 1), entry(0xb, 2), entry(0xa, 0), entry(7, 0)];
        e[4].eax = 0x0703_0805;
        filter_cpuid(&mut e, 3, 4);
        assert_eq!(e[0].ebx >> 24, 3);
        assert_eq!((e[0].ebx >> 16) & 0xff, 4);
        assert_eq!(e[0].ebx & 0xffff, 0x0800, "CLFLUSH line size is kept");
        assert_ne!(e[0].ecx & CPUID_HYPERVISOR, 0);
        assert_ne!(e[0].edx & (1 << 28), 0);
        assert_eq!((e[1].eax, e[1].ebx, e[1].ecx, e[1].edx), (0, 1, 0x100, 3));
        assert_eq!((e[2].eax, e[2].ebx, e[2].ecx, e[2].edx), (2, 4, 0x201, 3));
        assert_eq!((e[3].ebx, e[3].ecx & 0xff00), (0, 0));
        assert_eq!(e[4].eax, 0);
        assert_eq!(e[5].ebx, 0xdead_0800, "other leaves untouched");

        let mut one = vec![entry(1, 0), entry(0xb, 1)];
        filter_cpuid(&mut one, 0, 1);
        assert_eq!(one[0].edx & (1 << 28), 0);
        assert_eq!((one[1].eax, one[1].ebx), (0, 1));
    }

    #[test]
    fn msrs_and_lapic_lint() {
        let msrs = boot_msrs().unwrap();
        assert_eq!(msrs.as_slice().len(), 11);
        assert!(msrs.as_slice().iter().any(|m| m.index == msr::MTRR_DEF_TYPE && m.data == 0x806));
        let mut lapic = kvm_lapic_state { regs: [0; 1024] };
        set_lapic_reg(&mut lapic, APIC_LVT0, 0x1_0700);
        set_lint(&mut lapic);
        assert_eq!(lapic_reg(&lapic, APIC_LVT0), 0x1_0700);
        assert_eq!(lapic_reg(&lapic, APIC_LVT1), 0x400);
        assert_eq!(boot_fpu().fcw, 0x37f);
    }
}
