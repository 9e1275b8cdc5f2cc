//! KVM backend smoke test: a tiny long-mode guest that exits through port I/O.
//! Prints `SKIP:` and passes where /dev/kvm is unavailable.
#![cfg(all(target_arch = "x86_64", target_os = "linux"))]

use std::time::Instant;

use mimic_backend::kvm::x86::{write_long_mode_tables, LongModeEntry};
use mimic_backend::kvm::{available, measure_guest_loop, write_guest, Exit, Vm};

#[test]
fn long_mode_guest_runs_and_exits_on_port_io() {
    if !available() {
        println!("SKIP: /dev/kvm is not available");
        return;
    }
    let vm = Vm::new(&[(0, 128 << 20)]).unwrap();
    #[rustfmt::skip]
    let code: &[u8] = &[
        0x48, 0xc7, 0xc1, 0x40, 0x42, 0x0f, 0x00, // mov rcx, 1_000_000
        0x48, 0xff, 0xc9,                         // 1: dec rcx
        0x75, 0xfb,                               // jnz 1b
        0xe6, 0x10,                               // out 0x10, al
        0x48, 0xc7, 0xc7, 0x00, 0x00, 0x00, 0x01, // mov rdi, 0x1000000
        0x48, 0xc7, 0xc1, 0x00, 0x00, 0x10, 0x00, // mov rcx, 0x100000 (8 MiB of qwords)
        0x31, 0xc0,                               // xor eax, eax
        0xf3, 0x48, 0xab,                         // rep stosq
        0xe6, 0x11,                               // out 0x11, al
        0x48, 0xc7, 0xc7, 0x00, 0x00, 0x00, 0x01, // mov rdi, 0x1000000
        0x48, 0xc7, 0xc1, 0x00, 0x00, 0x10, 0x00, // mov rcx, 0x100000
        0xf3, 0x48, 0xab,                         // rep stosq
        0xb0, 0x2a,                               // mov al, 42
        0xe6, 0x12,                               // out 0x12, al
        0xf4,                                     // hlt
    ];
    write_guest(vm.ram(), 0x100000, code, "code").unwrap();
    let entry = LongModeEntry { gdt: 0x500, idt: 0x520, pml4: 0x9000, rip: 0x100000, rsp: 0x8ff0, rsi: 0 };
    write_long_mode_tables(vm.ram(), &entry).unwrap();
    let mut vcpu = vm.create_vcpu(0, 1).unwrap();
    vcpu.enter_long_mode(&entry).unwrap();
    let mut ports = Vec::new();
    let mut t = Instant::now();
    while ports.len() < 3 {
        match vcpu.run().unwrap() {
            Exit::IoOut { port, data } => {
                let now = Instant::now();
                println!("port {port:#x} data {data:?} after {:?}", now - t);
                t = now;
                ports.push((port, data[0]));
            }
            Exit::Interrupted => {}
            other => panic!("unexpected exit {other:?}"),
        }
    }
    assert_eq!(ports.iter().map(|p| p.0).collect::<Vec<_>>(), vec![0x10, 0x11, 0x12]);
    assert_eq!(ports[2].1, 42);
}

#[test]
fn guest_loop_speed_is_measured() {
    if !available() {
        println!("SKIP: /dev/kvm is not available");
        return;
    }
    let t = measure_guest_loop(100_000).unwrap();
    println!("100k-iteration kernel-mode guest loop: {t:?}");
}
