//! `mimic boot` with bad input: one `mimic: ...` line on stderr, a non-zero exit, no
//! panic. None of these needs a guest to run; the "no KVM" case points
//! MIMIC_KVM_DEVICE at a path that does not exist.
#![cfg(all(target_arch = "x86_64", target_os = "linux"))]

use std::path::PathBuf;
use std::process::Command;

fn tmp(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("mimic-boot-cli-{}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    d.join(name)
}

/// A file that passes mimic's bzImage header check (but is no kernel).
fn fake_bzimage(test: &str) -> PathBuf {
    let p = tmp(&format!("fake-bzimage-{test}"));
    let mut img = vec![0u8; 64 * 1024];
    img[0x1f1] = 4;
    img[0x202..0x206].copy_from_slice(b"HdrS");
    img[0x206..0x208].copy_from_slice(&0x020fu16.to_le_bytes());
    img[0x211] = 1;
    img[0x214..0x218].copy_from_slice(&0x100000u32.to_le_bytes());
    img[0x236] = 1;
    std::fs::write(&p, img).unwrap();
    p
}

fn boot(args: &[&str], envs: &[(&str, &str)]) -> (i32, String) {
    let mut c = Command::new(env!("CARGO_BIN_EXE_mimic"));
    c.arg("boot").arg("--machine").arg("x86-kvm").args(args);
    for (k, v) in envs {
        c.env(k, v);
    }
    let out = c.output().unwrap();
    (out.status.code().unwrap_or(-1), String::from_utf8_lossy(&out.stderr).into_owned())
}

fn assert_one_error(args: &[&str], envs: &[(&str, &str)], needle: &str) {
    let (code, err) = boot(args, envs);
    assert_ne!(code, 0, "{args:?}: {err}");
    assert!(!err.contains("panicked"), "{args:?}: {err}");
    let lines: Vec<&str> = err.lines().collect();
    assert_eq!(lines.len(), 1, "{args:?}: expected one line, got {err:?}");
    assert!(lines[0].starts_with("mimic: "), "{err}");
    assert!(lines[0].contains(needle), "{args:?}: {err:?} lacks {needle:?}");
}

#[test]
fn missing_and_garbage_kernels() {
    assert_one_error(&["--kernel", "/nonexistent/vmlinuz"], &[], "cannot read kernel /nonexistent/vmlinuz");
    let garbage = tmp("garbage");
    std::fs::write(&garbage, b"this is not a kernel").unwrap();
    assert_one_error(&["--kernel", garbage.to_str().unwrap()], &[], "no Linux boot header");
    let dir = std::env::temp_dir();
    assert_one_error(&["--kernel", dir.to_str().unwrap()], &[], "kernel");
}

#[test]
fn memory_and_initrd_sizes() {
    let k = fake_bzimage("mem");
    let k = k.to_str().unwrap();
    assert_one_error(&["--kernel", k, "--mem", "lots"], &[], "--mem");
    assert_one_error(&["--kernel", k, "--mem", "16M"], &[], "at least 64 MiB");
    assert_one_error(&["--kernel", k, "--mem", "100T"], &[], "RAM");
    let big = tmp("big-initrd");
    let f = std::fs::File::create(&big).unwrap();
    f.set_len(80 << 20).unwrap();
    assert_one_error(&["--kernel", k, "--mem", "64M", "--initrd", big.to_str().unwrap()], &[], "does not fit");
    assert_one_error(&["--kernel", k, "--initrd", "/nonexistent/initrd"], &[], "cannot read initrd");
    assert_one_error(&["--kernel", k, "--smp", "0"], &[], "--smp 0");
    assert_one_error(&["--kernel", k, "--smp", "300"], &[], "--smp 300");
}

#[test]
fn bad_disks() {
    let k = fake_bzimage("disk");
    let k = k.to_str().unwrap();
    assert_one_error(&["--kernel", k, "--disk", "/nonexistent/disk.img"], &[], "cannot open disk image");
    // A read-only file cannot be attached writable (as root, use a directory instead,
    // which cannot be opened for writing by anyone).
    let dir = tmp("a-directory");
    std::fs::create_dir_all(&dir).unwrap();
    assert_one_error(&["--kernel", k, "--disk", dir.to_str().unwrap()], &[], "reading and writing");
}

#[test]
fn no_kvm() {
    let k = fake_bzimage("nokvm");
    assert_one_error(
        &["--kernel", k.to_str().unwrap()],
        &[("MIMIC_KVM_DEVICE", "/nonexistent/kvm")],
        "cannot open /nonexistent/kvm",
    );
}
