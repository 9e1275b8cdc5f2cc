//! An Intel MultiProcessor Specification 1.4 table: how a guest without ACPI finds
//! its CPUs, its IOAPIC and the routing of ISA and PCI interrupts.
//!
//! Layout (all little-endian, checksummed so that each structure's bytes sum to 0):
//! the 16-byte floating pointer `_MP_`, then the `PCMP` configuration table with one
//! processor entry per vCPU (APIC IDs `0..n`, CPU 0 the boot processor), buses ISA
//! (id 0) and PCI (id 1), one IOAPIC (id `n`, at 0xfec00000), ISA IRQs 0..15 routed to
//! IOAPIC pins 0..15, each PCI device's INTx routed (level, active high) to its pin,
//! and LINT0 = ExtINT, LINT1 = NMI. Linux scans 0x9fc00..0xa0000 for the pointer.

/// Bus ID of the ISA bus.
pub const BUS_ISA: u8 = 0;
/// Bus ID of PCI bus 0.
pub const BUS_PCI: u8 = 1;
/// Guest-physical address of the IOAPIC.
pub const IOAPIC_ADDR: u32 = 0xfec0_0000;
/// Guest-physical address of the local APICs.
pub const LAPIC_ADDR: u32 = 0xfee0_0000;

/// One PCI INTx routing: device `slot` on bus 0, pin `pin` (0 = INTA) to IOAPIC `gsi`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PciIrq {
    /// PCI device number (0..32).
    pub slot: u8,
    /// Interrupt pin, 0 = INTA .. 3 = INTD.
    pub pin: u8,
    /// IOAPIC input.
    pub gsi: u8,
}

fn checksum(bytes: &[u8]) -> u8 {
    bytes.iter().fold(0u8, |a, b| a.wrapping_add(*b)).wrapping_neg()
}

/// Builds the floating pointer and configuration table for a table placed at guest
/// address `at`: returns the bytes to write there.
pub fn build(at: u32, vcpus: u8, pci_irqs: &[PciIrq]) -> Vec<u8> {
    let ioapic_id = vcpus;
    let mut entries: Vec<u8> = Vec::new();
    let mut count: u16 = 0;
    for id in 0..vcpus {
        // Processor: type 0, APIC ID, APIC version, flags (enabled, BSP), signature
        // (family 6), features (FPU, APIC), reserved.
        let flags = 1 | if id == 0 { 2 } else { 0 };
        entries.extend_from_slice(&[0, id, 0x14, flags]);
        entries.extend_from_slice(&0x600u32.to_le_bytes());
        entries.extend_from_slice(&0x201u32.to_le_bytes());
        entries.extend_from_slice(&[0; 8]);
        count += 1;
    }
    for (id, name) in [(BUS_ISA, b"ISA   "), (BUS_PCI, b"PCI   ")] {
        entries.extend_from_slice(&[1, id]);
        entries.extend_from_slice(name);
        count += 1;
    }
    // IOAPIC: type 2, id, version, enabled, address.
    entries.extend_from_slice(&[2, ioapic_id, 0x11, 1]);
    entries.extend_from_slice(&IOAPIC_ADDR.to_le_bytes());
    count += 1;
    // I/O interrupt assignments: type 3, irq type (0 INT, 3 ExtINT), flags (u16),
    // source bus, source bus irq, destination IOAPIC, destination pin.
    for irq in 0..16u8 {
        entries.extend_from_slice(&[3, 0, 0, 0, BUS_ISA, irq, ioapic_id, irq]);
        count += 1;
    }
    for p in pci_irqs {
        // Flags: polarity active high (01), trigger level (11 << 2).
        entries.extend_from_slice(&[3, 0, 0x0d, 0, BUS_PCI, (p.slot << 2) | (p.pin & 3), ioapic_id, p.gsi]);
        count += 1;
    }
    // Local interrupt assignments: type 4; ExtINT to LINT0 of all, NMI to LINT1 of all.
    entries.extend_from_slice(&[4, 3, 0, 0, BUS_ISA, 0, 0xff, 0]);
    entries.extend_from_slice(&[4, 1, 0, 0, BUS_ISA, 0, 0xff, 1]);
    count += 2;

    let table_at = at + 16;
    let mut table = Vec::with_capacity(44 + entries.len());
    table.extend_from_slice(b"PCMP");
    table.extend_from_slice(&((44 + entries.len()) as u16).to_le_bytes());
    table.push(4); // spec revision 1.4
    table.push(0); // checksum, below
    table.extend_from_slice(b"MIMIC   ");
    table.extend_from_slice(b"X86-KVM     ");
    table.extend_from_slice(&0u32.to_le_bytes()); // OEM table pointer
    table.extend_from_slice(&0u16.to_le_bytes()); // OEM table size
    table.extend_from_slice(&count.to_le_bytes());
    table.extend_from_slice(&LAPIC_ADDR.to_le_bytes());
    table.extend_from_slice(&0u16.to_le_bytes()); // extended table length
    table.push(0); // extended table checksum
    table.push(0); // reserved
    table.extend_from_slice(&entries);
    table[7] = checksum(&table);

    let mut fp = Vec::with_capacity(16);
    fp.extend_from_slice(b"_MP_");
    fp.extend_from_slice(&table_at.to_le_bytes());
    fp.extend_from_slice(&[1, 4, 0, 0, 0, 0, 0, 0]); // length 1 (x16), rev 1.4, checksum, features
    fp[10] = checksum(&fp);

    fp.extend_from_slice(&table);
    fp
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sum(b: &[u8]) -> u8 {
        b.iter().fold(0u8, |a, x| a.wrapping_add(*x))
    }

    #[test]
    fn table_is_checksummed_and_lists_every_cpu() {
        let t = build(0x9fc00, 4, &[PciIrq { slot: 1, pin: 0, gsi: 16 }]);
        assert_eq!(&t[0..4], b"_MP_");
        assert_eq!(sum(&t[0..16]), 0);
        assert_eq!(u32::from_le_bytes(t[4..8].try_into().unwrap()), 0x9fc10);
        let table = &t[16..];
        assert_eq!(&table[0..4], b"PCMP");
        let len = u16::from_le_bytes([table[4], table[5]]) as usize;
        assert_eq!(len, table.len());
        assert_eq!(sum(table), 0);
        // 4 CPUs x 20 + 2 buses x 8 + IOAPIC 8 + 17 INTSRC x 8 + 2 LINTSRC x 8.
        assert_eq!(len, 44 + 80 + 16 + 8 + 17 * 8 + 16);
        let cpus: Vec<(u8, u8)> = table[44..44 + 80].chunks(20).map(|c| (c[1], c[3])).collect();
        assert_eq!(cpus, vec![(0, 3), (1, 1), (2, 1), (3, 1)]);
        // The PCI routing entry: bus 1, slot 1 INTA, to the IOAPIC (id 4) pin 16.
        let pci = &table[44 + 80 + 16 + 8 + 16 * 8..][..8];
        assert_eq!(pci, &[3, 0, 0x0d, 0, BUS_PCI, 4, 4, 16]);
    }
}
