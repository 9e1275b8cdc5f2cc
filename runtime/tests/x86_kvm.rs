//! Boots Debian's x86-64 kernel on the x86-kvm board with the test initramfs built
//! by `scripts/kvm-assets.sh` (`target/kvm-assets`, or `MIMIC_KVM_ASSETS`).
//!
//! Each test prints `SKIP: <why>` and passes when the host cannot run it: no
//! `/dev/kvm`, no assets, or a KVM that runs kernel-mode guest code too slowly for a
//! boot to finish (measured with `measure_guest_loop`; see its docs). With
//! `MIMIC_KVM_REQUIRE=1` a missing `/dev/kvm` or missing assets fail instead.
#![cfg(all(target_arch = "x86_64", target_os = "linux"))]

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use mimic_backend::kvm;
use mimic_runtime::machines::x86_kvm::{Config, Console, DiskConfig, Outcome, X86Kvm};

/// Longest a boot may take before the test stops it and fails.
const BOOT_TIMEOUT: Duration = Duration::from_secs(60);
/// A 100k-iteration kernel-mode loop slower than this means a boot cannot finish in
/// BOOT_TIMEOUT (hardware virtualization: well under 1 ms).
const SLOW_KVM: Duration = Duration::from_millis(100);

fn assets() -> Option<(PathBuf, PathBuf)> {
    let require = std::env::var_os("MIMIC_KVM_REQUIRE").is_some();
    let skip = |why: String| {
        if require {
            panic!("MIMIC_KVM_REQUIRE is set but: {why}");
        }
        println!("SKIP: {why}");
        None
    };
    if !kvm::available() {
        return skip("/dev/kvm is not available".into());
    }
    let dir = std::env::var_os("MIMIC_KVM_ASSETS")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/kvm-assets"));
    let (kernel, initrd) = (dir.join("vmlinuz"), dir.join("initrd.gz"));
    if !kernel.exists() || !initrd.exists() {
        return skip(format!("no test assets in {}; run scripts/kvm-assets.sh", dir.display()));
    }
    static SPEED: Mutex<Option<Duration>> = Mutex::new(None);
    let t = *SPEED.lock().unwrap().get_or_insert_with(|| kvm::measure_guest_loop(100_000).unwrap());
    if t > SLOW_KVM {
        // Not suppressed by MIMIC_KVM_REQUIRE: the host cannot boot a kernel in any
        // reasonable time, and CI reports this line.
        println!(
            "SKIP: this host's KVM runs kernel-mode guest code too slowly to boot Linux \
             (100k-iteration loop: {t:?}; hardware virtualization: < 1 ms)"
        );
        return None;
    }
    Some((kernel, initrd))
}

#[derive(Clone, Default)]
struct Capture(Arc<Mutex<Vec<u8>>>);

impl Write for Capture {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(b);
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Capture {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}

/// Boots with `append` on the command line; returns the outcome and console text.
fn boot(kernel: &Path, initrd: &Path, append: &str, vcpus: u8, disk: Option<DiskConfig>) -> (Outcome, String) {
    let out = Capture::default();
    let config = Config {
        kernel: kernel.to_path_buf(),
        initrd: Some(initrd.to_path_buf()),
        append: append.into(),
        mem_bytes: 256 << 20,
        vcpus,
        disk,
        marker: Some("MIMIC-INIT-OK".into()),
    };
    let machine = X86Kvm::new(&config, Console { output: Box::new(out.clone()), input: None }).unwrap();
    let stop = machine.stop_handle();
    let started = Instant::now();
    let runner = std::thread::spawn(move || machine.run());
    while !runner.is_finished() && started.elapsed() < BOOT_TIMEOUT {
        std::thread::sleep(Duration::from_millis(20));
    }
    if !runner.is_finished() {
        stop.stop();
    }
    let report = runner.join().unwrap().unwrap();
    let text = out.text();
    assert_ne!(report.outcome, Outcome::Stopped, "boot timed out after {BOOT_TIMEOUT:?}; console:\n{text}");
    (report.outcome, text)
}

#[test]
fn boots_to_init_and_powers_off() {
    let Some((k, i)) = assets() else { return };
    let (outcome, text) = boot(&k, &i, "mimic.test=marker", 1, None);
    assert!(text.contains("MIMIC-INIT-OK"), "{text}");
    assert_eq!(outcome, Outcome::PowerOff(0), "{text}");
}

#[test]
fn shell_command_output_over_serial() {
    let Some((k, i)) = assets() else { return };
    let (outcome, text) = boot(&k, &i, "mimic.test=cmd mimic.cmd=echo_hello_$((6*7))_from_sh", 1, None);
    assert_eq!(outcome, Outcome::PowerOff(0), "{text}");
    assert!(text.contains("hello 42 from sh"), "{text}");
    assert!(text.contains("MIMIC-CMD-END status=0"), "{text}");
}

#[test]
fn smp2_guest_sees_two_cpus() {
    let Some((k, i)) = assets() else { return };
    let (outcome, text) = boot(&k, &i, "mimic.test=nproc", 2, None);
    assert_eq!(outcome, Outcome::PowerOff(0), "{text}");
    assert!(text.contains("MIMIC-NPROC 2"), "{text}");
}

/// The pattern /init writes at offset 0 (see scripts/kvm-init.sh).
fn pattern() -> Vec<u8> {
    (0..4096).flat_map(|i| format!("mimic-disk-line-{i:06}-01234567\n").into_bytes()).collect()
}

#[test]
fn disk_write_then_read_back() {
    let Some((k, i)) = assets() else { return };
    let img = std::env::temp_dir().join(format!("mimic-kvm-disk-{}.img", std::process::id()));
    std::fs::write(&img, vec![0xa5u8; 4 << 20]).unwrap();
    let disk = || Some(DiskConfig { path: img.clone(), read_only: false });

    let (outcome, text) = boot(&k, &i, "mimic.test=diskw", 1, disk());
    assert_eq!(outcome, Outcome::PowerOff(0), "{text}");
    assert!(text.contains("MIMIC-DISKW-DONE"), "{text}");
    let data = std::fs::read(&img).unwrap();
    let p = pattern();
    assert_eq!(&data[..p.len()], &p[..], "pattern on disk byte for byte");
    assert!(data[p.len()..1 << 20].iter().all(|&b| b == 0xa5), "nothing else touched before the archive");
    // The tar archive at 1 MiB holds hello.txt with the guest's text.
    let tar = &data[1 << 20..];
    assert_eq!(&tar[..9], b"hello.txt");
    let hello = b"hello from the guest\n";
    assert_eq!(&tar[512..512 + hello.len()], hello);

    let (outcome, text) = boot(&k, &i, "mimic.test=diskr", 1, Some(DiskConfig { path: img.clone(), read_only: true }));
    assert_eq!(outcome, Outcome::PowerOff(0), "{text}");
    let line = |tag: &str| text.lines().find_map(|l| l.trim().strip_prefix(tag).map(str::to_string));
    assert_eq!(line("MIMIC-DISKR-PATTERN "), line("MIMIC-DISKR-EXPECT "), "{text}");
    assert!(line("MIMIC-DISKR-PATTERN ").is_some(), "{text}");
    assert_eq!(line("MIMIC-DISKR-HELLO ").as_deref(), Some("hello from the guest"), "{text}");
    assert_eq!(line("MIMIC-DISKR-LINES ").as_deref(), Some("100"), "{text}");
    std::fs::remove_file(&img).unwrap();
}
