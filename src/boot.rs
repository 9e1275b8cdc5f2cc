//! `mimic boot`: system emulation. Parses the machine's arguments, wires the serial
//! console to stdio (raw mode with Ctrl-A x to quit on a terminal, plain pipes
//! otherwise) and maps how the guest ended to mimic's exit status:
//!
//! | status | meaning |
//! |---|---|
//! | 0 | guest powered off cleanly, or Ctrl-A x |
//! | N | guest wrote N to the exit port (the test init's `poweroff N`) |
//! | 1 | mimic could not start or run the machine (one `mimic: ...` line) |
//! | 3 | guest kernel panicked (the board boots with `panic=-1`) |
//! | 4 | guest reset the machine (reboot); mimic does not reboot |
//! | 5 | a vCPU triple-faulted |

use std::io::{self, Read, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use clap::{Args, ValueEnum};

/// Boards `mimic boot` knows.
#[derive(Clone, Copy, ValueEnum, PartialEq, Eq, Debug)]
pub enum MachineArg {
    /// x86-64 PC-like board on KVM (x86-64 Linux hosts with /dev/kvm).
    #[value(name = "x86-kvm")]
    X86Kvm,
}

#[derive(Args, Debug)]
pub struct BootArgs {
    /// The board.
    #[arg(long)]
    machine: MachineArg,
    /// Linux kernel (bzImage).
    #[arg(long)]
    kernel: PathBuf,
    /// initramfs.
    #[arg(long)]
    initrd: Option<PathBuf>,
    /// Appended to the board's kernel command line.
    #[arg(long, default_value = "")]
    append: String,
    /// RAM: a number with an optional K/M/G suffix (plain numbers are MiB).
    #[arg(long, default_value = "512M")]
    mem: String,
    /// Number of vCPUs.
    #[arg(long, default_value_t = 1)]
    smp: usize,
    /// Raw disk image as a virtio-blk disk; FILE,ro attaches it read-only.
    #[arg(long, value_name = "FILE[,ro]")]
    disk: Option<String>,
    /// Print timings to stderr at exit: set-up before the first vCPU entry, time to
    /// --marker, total.
    #[arg(long)]
    stats: bool,
    /// With --stats: a console string whose first appearance is timed.
    #[arg(long)]
    marker: Option<String>,
}

fn parse_mem(s: &str) -> Result<u64, String> {
    let t = s.trim();
    let lower = t.to_ascii_lowercase();
    let lower = lower.trim_end_matches("ib").trim_end_matches('b');
    let (num, shift) = match lower.chars().last() {
        Some('k') => (&lower[..lower.len() - 1], 10),
        Some('m') => (&lower[..lower.len() - 1], 20),
        Some('g') => (&lower[..lower.len() - 1], 30),
        Some('t') => (&lower[..lower.len() - 1], 40),
        _ => (lower, 20),
    };
    let n: u64 = num.parse().map_err(|_| format!("`{s}` is not a memory size (e.g. 512M, 2G)"))?;
    n.checked_mul(1 << shift).filter(|&b| b > 0).ok_or_else(|| format!("`{s}` is not a usable memory size"))
}

/// `FILE[,ro|,rw]` -> (path, read_only).
fn parse_disk(s: &str) -> (PathBuf, bool) {
    if let Some(p) = s.strip_suffix(",ro") {
        (PathBuf::from(p), true)
    } else if let Some(p) = s.strip_suffix(",rw") {
        (PathBuf::from(p), false)
    } else {
        (PathBuf::from(s), false)
    }
}

/// Runs `mimic boot`; every error is printed here as one `mimic: ...` line.
pub fn main(a: BootArgs) -> ExitCode {
    match run(a) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("mimic: {e}");
            ExitCode::from(1)
        }
    }
}

#[cfg(all(target_arch = "x86_64", target_os = "linux"))]
fn run(a: BootArgs) -> Result<ExitCode, String> {
    use mimic_runtime::machines::x86_kvm::{Config, Console, DiskConfig, Outcome, X86Kvm};

    let started = Instant::now();
    let MachineArg::X86Kvm = a.machine;
    let mem = parse_mem(&a.mem).map_err(|e| format!("--mem: {e}"))?;
    let vcpus = u8::try_from(a.smp)
        .ok()
        .filter(|&n| n >= 1)
        .ok_or_else(|| format!("--smp {} is not supported: use 1 to 64 vCPUs", a.smp))?;
    let disk = a.disk.as_deref().map(|d| {
        let (path, read_only) = parse_disk(d);
        DiskConfig { path, read_only }
    });
    let config = Config {
        kernel: a.kernel,
        initrd: a.initrd,
        append: a.append,
        mem_bytes: mem,
        vcpus,
        disk,
        marker: a.marker.clone(),
    };
    let interactive = is_tty(0);
    let console = Console { output: Box::new(Flushing(io::stdout())), input: None };
    let mut machine = X86Kvm::new(&config, console).map_err(|e| e.to_string())?;
    let input: Box<dyn Read + Send> = if interactive {
        Box::new(CtrlAFilter { inner: io::stdin(), stop: machine.stop_handle(), saw_ctrl_a: false })
    } else {
        Box::new(io::stdin())
    };
    machine.set_input(Some(input));
    if a.stats {
        // Printed at once: a guest that never finishes still reports its set-up time.
        machine.on_first_entry(Box::new(move |t| {
            eprintln!("mimic: stats: setup_ms={:.3}", t.duration_since(started).as_secs_f64() * 1e3);
        }));
    }
    let raw = if interactive { RawMode::enter() } else { None };
    let report = machine.run();
    drop(raw);
    let report = report.map_err(|e| e.to_string())?;
    if a.stats {
        let ms = |d: std::time::Duration| d.as_secs_f64() * 1e3;
        let marker = report.marker_at.map(|t| ms(t.duration_since(started)));
        eprintln!(
            "mimic: stats: marker_ms={} total_ms={:.3}",
            marker.map_or("-".into(), |v| format!("{v:.3}")),
            ms(report.ended_at.duration_since(started))
        );
    }
    Ok(match &report.outcome {
        Outcome::PowerOff(s) => ExitCode::from(*s),
        Outcome::Stopped => ExitCode::SUCCESS,
        o @ Outcome::Reset { panic: Some(_) } => {
            eprintln!("mimic: {o}");
            ExitCode::from(3)
        }
        o @ Outcome::Reset { panic: None } => {
            eprintln!("mimic: {o}");
            ExitCode::from(4)
        }
        o @ Outcome::TripleFault { .. } => {
            eprintln!("mimic: {o}");
            ExitCode::from(5)
        }
    })
}

#[cfg(not(all(target_arch = "x86_64", target_os = "linux")))]
fn run(_a: BootArgs) -> Result<ExitCode, String> {
    let _ = Instant::now();
    Err("the x86-kvm machine needs an x86-64 Linux host with /dev/kvm".into())
}

/// Writes through and flushes every write (the guest's prompt has no newline).
struct Flushing(io::Stdout);

impl Write for Flushing {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let mut out = self.0.lock();
        out.write_all(buf)?;
        out.flush()?;
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        self.0.flush()
    }
}

/// Terminal input: Ctrl-A x stops the machine, Ctrl-A Ctrl-A sends one Ctrl-A.
struct CtrlAFilter {
    inner: io::Stdin,
    stop: mimic_runtime::machines::x86_kvm::StopHandle,
    saw_ctrl_a: bool,
}

impl Read for CtrlAFilter {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            let mut raw = vec![0u8; buf.len()];
            let n = self.inner.read(&mut raw)?;
            if n == 0 {
                return Ok(0);
            }
            let mut k = 0;
            for &b in &raw[..n] {
                if self.saw_ctrl_a {
                    self.saw_ctrl_a = false;
                    match b {
                        b'x' | b'X' => {
                            self.stop.stop();
                            return Ok(0);
                        }
                        0x01 => {
                            buf[k] = 1;
                            k += 1;
                        }
                        _ => {}
                    }
                } else if b == 0x01 {
                    self.saw_ctrl_a = true;
                } else {
                    buf[k] = b;
                    k += 1;
                }
            }
            if k > 0 {
                return Ok(k);
            }
        }
    }
}

fn is_tty(fd: i32) -> bool {
    // SAFETY: isatty only inspects the descriptor number.
    unsafe { libc::isatty(fd) == 1 }
}

/// Puts stdin's terminal in raw mode until dropped.
struct RawMode(libc::termios);

impl RawMode {
    fn enter() -> Option<RawMode> {
        // SAFETY: termios is plain data; tcgetattr fills it for fd 0 or fails.
        let mut t: libc::termios = unsafe { std::mem::zeroed() };
        // SAFETY: `t` is a valid termios to fill.
        if unsafe { libc::tcgetattr(0, &mut t) } != 0 {
            return None;
        }
        let saved = t;
        // SAFETY: cfmakeraw edits the struct in place.
        unsafe { libc::cfmakeraw(&mut t) };
        // SAFETY: `t` is a valid termios derived from the current one.
        if unsafe { libc::tcsetattr(0, libc::TCSANOW, &t) } != 0 {
            return None;
        }
        Some(RawMode(saved))
    }
}

impl Drop for RawMode {
    fn drop(&mut self) {
        // SAFETY: restores the attributes read in `enter`.
        unsafe { libc::tcsetattr(0, libc::TCSANOW, &self.0) };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn memory_sizes() {
        assert_eq!(parse_mem("512M"), Ok(512 << 20));
        assert_eq!(parse_mem("2G"), Ok(2 << 30));
        assert_eq!(parse_mem("1GiB"), Ok(1 << 30));
        assert_eq!(parse_mem("256"), Ok(256 << 20));
        assert_eq!(parse_mem("65536k"), Ok(64 << 20));
        assert!(parse_mem("lots").is_err());
        assert!(parse_mem("0").is_err());
        assert!(parse_mem("99999999999G").is_err());
        assert_eq!(parse_disk("a.img,ro"), (PathBuf::from("a.img"), true));
        assert_eq!(parse_disk("a.img"), (PathBuf::from("a.img"), false));
    }
}
