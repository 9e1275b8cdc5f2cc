//! Linux user mode, end to end: the same binaries run under `mimic run` and
//! under Debian's `qemu-<arch>-static`, and must agree on the exit status (code
//! or signal), stdout and stderr.
//!
//! * `guest_corpus_matches_qemu` (AArch64): every program of `tests/guest/*.c`
//!   (see [`CORPUS`]), in its four builds (`-O0`/`-O2` x static/dynamic) and as
//!   a static-pie (`-O2`).
//! * `ppc64le_guest_corpus_matches_qemu`: the same corpus built for ppc64le
//!   (ELFv2) with `powerpc64le-linux-gnu-gcc`, static and dynamic at `-O0` and
//!   `-O2` (the dynamic ones on the cross toolchain's glibc), against
//!   `qemu-ppc64le-static` (see [`PPC64LE`] for the cases left out and why).
//! * `ppc64_guest_corpus_matches_qemu`: the same for big-endian ppc64 (ELFv1)
//!   with `powerpc64-linux-gnu-gcc` against `qemu-ppc64-static` (see [`PPC64`]).
//! * `ppc32_guest_corpus_matches_qemu`: the same for 32-bit PowerPC with
//!   `powerpc-linux-gnu-gcc` against `qemu-ppc-static` (see [`PPC32`]).
//! * `busybox_matches_qemu`, `ppc64le_busybox_matches_qemu`: Debian's
//!   busybox-static (arm64, ppc64el) running shell scripts over a prepared
//!   directory (see [`BUSYBOX`]).
//! * `bad_inputs_give_one_error_line`: files mimic must refuse cleanly.
//!
//! Prerequisites are fetched and built by the test itself, each step
//! idempotent: `tests/guest/build.sh` (cross gcc, rebuilds only what changed),
//! `tests/guest/sysroot.sh` (Debian's libc6:arm64 under target/sysroot; the
//! PowerPC targets use `/usr/<triple>` of their cross gcc as is, see [`Sysroot`]),
//! `tests/guest/busybox.sh`.  When one is missing the test prints
//! `SKIP: <reason>` and passes, unless `MIMIC_REQUIRE_LINUX_USER=1` is set
//! (CI sets it), in which case a skip is a failure.
//!
//! Knobs (environment): `LINUX_USER_FILTER=substr` runs only the runs whose
//! name contains it (e.g. `signals-O2`), `LINUX_USER_JOBS=n` runs n programs
//! at once (default: the number of CPUs), `LINUX_USER_TIMEOUT=secs` (default 60),
//! `LINUX_USER_KEEP=1` keeps the temporary directories, `LINUX_USER_SHOW=1`
//! prints the reference output of every run, `MIMIC_BIN=path`
//! tests another mimic binary (say target/release/mimic: the debug build
//! is slow enough for some -O0 programs to approach the timeout).
//!
//! Each run gets a fresh temporary working directory, a fixed environment
//! (see [`fixed_env`]), stdin from /dev/null unless the case feeds input, and
//! a timeout after which its process group is killed.  Output filtering: lines
//! of stderr starting with `qemu: uncaught target signal` (qemu-user's own
//! message when the guest dies of a signal) and `mimic: ` (mimic's) are
//! dropped before comparing; nothing else is filtered.  All mismatches are
//! collected and reported together with diff-like excerpts.

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::io::{Read, Write};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// The mimic under test: this profile's binary, or `MIMIC_BIN` (e.g. a
/// release build, much faster than the debug one the test profile builds).
fn mimic() -> String {
    std::env::var("MIMIC_BIN").unwrap_or_else(|_| env!("CARGO_BIN_EXE_mimic").to_string())
}
const ROOT: &str = env!("CARGO_MANIFEST_DIR");
const QEMU: &str = "qemu-aarch64-static";

/// A guest architecture the corpus runs on.
struct Target {
    triple: &'static str,
    qemu: &'static str,
    /// Builds of each program (see tests/guest/build.sh).
    variants: &'static [&'static str],
    /// Where the dynamic builds find their interpreter and libraries.
    sysroot: Sysroot,
    /// Corpus cases (by run-name substring) not compared, with the reason.
    skip: &'static [(&'static str, &'static str)],
    /// Runs (by run-name prefix) for which qemu gets a copy of the program (and of
    /// the sysroot's libc and libm, for dynamic ones) with the ISA 3.0 forms of mffs
    /// rewritten as plain mffs, which is how processors before ISA 3.0 run them
    /// (see [`PPC32`]).
    qemu_mffs: &'static [&'static str],
}

/// The `-L` directory given to mimic and qemu for dynamically linked programs.
enum Sysroot {
    /// tests/guest/sysroot.sh's Debian libc6:arm64 under target/sysroot.
    Arm64Script,
    /// A cross toolchain's own C library directory (Debian's
    /// libc6-<arch>-cross, installed with gcc-<triple>), usable as is: it
    /// holds the interpreter under `lib64/` (PT_INTERP) and the libraries
    /// under `lib/`, where ld.so looks for them.  The second field is the
    /// interpreter path, checked before the runs.
    Cross(&'static str, &'static str),
}

const AARCH64: Target = Target {
    triple: "aarch64-linux-gnu",
    qemu: QEMU,
    variants: VARIANTS,
    sysroot: Sysroot::Arm64Script,
    skip: &[],
    qemu_mffs: &[],
};

/// ppc64le: static and dynamic builds (Debian's ppc64el cross glibc has no
/// rcrt1.o, so no static-pie); the dynamic ones run on the cross glibc.
const PPC64LE: Target = Target {
    triple: "powerpc64le-linux-gnu",
    qemu: "qemu-ppc64le-static",
    variants: PPC_VARIANTS,
    sysroot: Sysroot::Cross("/usr/powerpc64le-linux-gnu", "lib64/ld64.so.2"),
    skip: &[
        // qemu-ppc64le does not finish it: its lqarx/stqcx. loop under four
        // contending threads spins past the timeout.
        ("atomic128-", "qemu-ppc64le livelocks on the 128-bit lqarx/stqcx. loops"),
        // qemu-ppc64le reports every storage fault as SEGV_MAPERR (Linux: ACCERR
        // for protection faults) and other fault addresses for instruction
        // faults, so it is no reference for this program.
        ("segv-", "qemu-ppc64le's si_code/si_addr for storage faults differ from Linux's"),
        // Agrees with qemu (same hash, 0 failures) in about 17 s alone in a debug
        // build, but two of it at once on a loaded 2-CPU machine pass the 60 s
        // timeout.
        ("strmem-", "too slow for the timeout in a debug build under load"),
    ],
    qemu_mffs: &[],
};

/// ppc64 big-endian (ELFv1): as for ppc64le (Debian's ppc64 cross glibc has no
/// rcrt1.o either); the dynamic builds run on the cross glibc (ld64.so.1).
const PPC64: Target = Target {
    triple: "powerpc64-linux-gnu",
    qemu: "qemu-ppc64-static",
    variants: PPC_VARIANTS,
    sysroot: Sysroot::Cross("/usr/powerpc64-linux-gnu", "lib64/ld64.so.1"),
    skip: &[
        // As on ppc64le: qemu-ppc64 spins past the timeout on the 128-bit
        // lqarx/stqcx. loops under four contending threads (mimic finishes with
        // the expected totals).
        ("atomic128-", "qemu-ppc64 livelocks on the 128-bit lqarx/stqcx. loops"),
        // qemu-ppc64 reports every storage fault as SEGV_MAPERR (Linux: ACCERR
        // for protection faults) and no si_addr for SIGBUS past the end of a
        // file, so it is no reference for this program.
        ("segv-", "qemu-ppc64's si_code/si_addr for storage faults differ from Linux's"),
        // qemu-ppc64 hands FUTEX_WAKE_OP to the host kernel as it is, which applies
        // the operation to the big-endian word as a little-endian integer; see
        // `big_endian_futex_wake_op_matches_native_linux` for the reference used instead.
        ("futexop-", "qemu-ppc64 applies FUTEX_WAKE_OP's operation in the host's byte order"),
    ],
    qemu_mffs: &[],
};

/// 32-bit PowerPC (big-endian, SysV ABI): static and dynamic builds (Debian's
/// powerpc cross glibc has no rcrt1.o, so no static-pie); the dynamic ones run
/// on the cross glibc (ld.so.1).
const PPC32: Target = Target {
    triple: "powerpc-linux-gnu",
    qemu: "qemu-ppc-static",
    variants: PPC_VARIANTS,
    sysroot: Sysroot::Cross("/usr/powerpc-linux-gnu", "lib/ld.so.1"),
    skip: &[
        // glibc's libm saves and sets the rounding mode with mffscrni (ISA 3.0),
        // which older processors run as mffs (glibc relies on that, then sets the
        // mode itself); qemu-ppc's 32-bit CPUs, none of them ISA 3.0, raise SIGILL
        // on it instead.  So qemu runs fpmath as a copy where those forms are plain
        // mffs, on a sysroot whose libc and libm are rewritten the same way
        // (`qemu_mffs`).
        // As on ppc64: qemu-ppc reports every storage fault as SEGV_MAPERR (Linux:
        // ACCERR for protection faults) and other fault addresses for instruction
        // faults.
        ("segv-", "qemu-ppc's si_code/si_addr for storage faults differ from Linux's"),
        // qemu-ppc keeps the whole 4 GiB guest space reserved on the host, so
        // mremap cannot grow a mapping in place into pages the guest unmapped
        // (it reports "grow in place: 0"; Linux and mimic grow it); every other
        // line of the program agrees.
        ("mmap-", "qemu-ppc's reserved guest space stops mremap growing in place"),
        // As on ppc64: see `big_endian_futex_wake_op_matches_native_linux`.
        ("futexop-", "qemu-ppc applies FUTEX_WAKE_OP's operation in the host's byte order"),
    ],
    qemu_mffs: &["fpmath-O0-static", "fpmath-O2-static", "fpmath-O0-dynamic", "fpmath-O2-dynamic"],
};

/// One program of the corpus with its arguments and input.  Each case runs
/// in all four builds of the program.
struct Case {
    /// Source name in tests/guest (without `.c`).
    prog: &'static str,
    args: &'static [&'static str],
    stdin: Option<&'static [u8]>,
    /// Extra environment for the qemu reference run only: used where
    /// qemu-user cannot do what the program does on this host (see forkexec).
    qemu_env: &'static [(&'static str, &'static str)],
    /// Distinguishes several cases of one program in reports.
    label: &'static str,
}

const fn case(prog: &'static str) -> Case {
    Case { prog, args: &[], stdin: None, qemu_env: &[], label: "" }
}
const fn with_args(prog: &'static str, label: &'static str, args: &'static [&'static str]) -> Case {
    Case { prog, args, stdin: None, qemu_env: &[], label }
}

const STDIN_TEXT: &[u8] = b"The first line of input\nsecond line\n\n  indented third\tline with tab\nno newline at end";

/// The corpus.  Adding a program: drop `tests/guest/NAME.c` and add a line.
const CORPUS: &[Case] = &[
    with_args("hello", "", &["one", "two words", "", "--flag=x"]),
    case("intmath"),
    case("fpmath"),
    case("setjmp"),
    case("signals"),
    case("sigctx"),
    case("smallstack"),
    case("locks"),
    case("ppc32old"),
    case("segv"),
    case("threads"),
    case("fileio"),
    case("mmap"),
    // qemu-user here has no binfmt_misc to exec a foreign binary, so its
    // reference run simulates the exec (the program documents how); mimic
    // really execs /proc/self/exe.
    Case { qemu_env: &[("FORKEXEC_SIMULATE_EXEC", "1")], ..case("forkexec") },
    case("jit"),
    case("strmem"),
    case("qsort"),
    case("vector"),
    case("vecperm"),
    case("fmadiv"),
    case("sockmsg"),
    case("futexop"),
    case("ppcint"),
    case("atomic128"),
    case("malloc"),
    case("sysinfo"),
    case("stdin"),
    Case { stdin: Some(STDIN_TEXT), label: "text", ..case("stdin") },
    with_args("exitcode", "exit", &["exit", "3"]),
    with_args("exitcode", "_exit", &["_exit", "4"]),
    with_args("exitcode", "return", &["return", "255"]),
    with_args("exitcode", "abort", &["abort"]),
    with_args("exitcode", "sigterm", &["signal", "15"]),
    with_args("exitcode", "sigchld", &["signal", "17"]),
    with_args("exitcode", "thread", &["thread", "6"]),
    with_args("exitcode", "main-exit", &["main-exit"]),
];

const VARIANTS: &[&str] = &["O0-static", "O0-dynamic", "O2-static", "O2-dynamic", "O2-static-pie"];
const PPC_VARIANTS: &[&str] = &["O0-static", "O0-dynamic", "O2-static", "O2-dynamic"];

/// Busybox shell scripts, run as `busybox sh -c SCRIPT` in a directory
/// prepared by [`prepare_busybox_dir`].
const BUSYBOX: &[(&str, &str)] = &[
    ("echo", "echo hello; echo -n no-newline; echo; printf '%s=%d %x\\n' answer 42 255"),
    ("redirections", "echo one > f; echo two >> f; cat < f; cat f nonexistent 2>err; echo status $?; cat err; exec 3>g; echo three >&3; exec 3>&-; cat g"),
    ("pipes", "cat data/words.txt | sort | uniq -c | sort -rn | head -5; seq 1 1000 | wc -l"),
    ("subshells", "x=$(echo a b c | wc -w); echo words:$x; (cd data && pwd | sed 's|.*/||'); for i in 1 2 3; do echo loop $i; done | tail -1; test -f data/words.txt && echo exists; false || echo or-branch"),
    ("ls", "ls; ls -l data; ls -la data/sub; ls -lR data | head -30"),
    ("cat-wc", "cat data/lines.txt | head -3; wc data/lines.txt; wc -l < data/lines.txt; wc -c data/words.txt"),
    ("sort-uniq", "sort data/words.txt | uniq | head; sort -u data/words.txt | wc -l; sort -n data/numbers.txt | tail -3; sort -k2,2 -t, data/csv.txt"),
    ("sed", "sed -n '2,4p' data/lines.txt; sed 's/line/LINE/g; s/[0-9]\\+/<&>/' data/lines.txt | head -5; sed '/5/d' data/lines.txt | wc -l"),
    ("awk", "awk -F, '{s+=$3; n++} END {printf \"%d rows, sum %d, avg %.3f\\n\", n, s, s/n}' data/csv.txt; awk 'NR%10==1 {print NR\": \"$0}' data/lines.txt; awk 'BEGIN{for(i=1;i<=5;i++) printf \"%d^2=%d \", i, i*i; print \"\"; print int(-3.7), 7%3, 2*2*2, length(\"abc\"), substr(\"hello\", 2, 3), toupper(\"x\"), 1/3}'; echo a b c | awk '{$2 = \"B\"; print NF, $0}'"),
    ("grep", "grep -c line data/lines.txt; grep -n 'line 1[0-3]$' data/lines.txt; grep -v -e 1 -e 2 data/lines.txt | head -3; grep -rc alpha data | sort; grep -q nothing data/lines.txt; echo status $?"),
    ("find", "find data | sort; find data -type f -name '*.txt' | sort; find data -newer data/old.txt -type f | sort; find data -size +1k | sort"),
    ("sha256sum", "sha256sum data/words.txt data/lines.txt; cat data/numbers.txt | sha256sum; md5sum data/csv.txt; sha1sum data/csv.txt"),
    ("gzip", "gzip -c big.bin > big.bin.gz; wc -c < big.bin.gz; gunzip -c big.bin.gz | sha256sum; sha256sum big.bin; gzip -9 -c data/lines.txt | gunzip | cmp - data/lines.txt && echo roundtrip ok; gzip -t big.bin.gz && echo test ok"),
    ("tar", "tar cf t.tar data; tar tvf t.tar | sort -k6; mkdir out; tar xf t.tar -C out; find out | sort; cmp data/csv.txt out/data/csv.txt && echo same; tar czf t.tgz data && tar tzf t.tgz | sort | head -3"),
    ("arith-loops", "i=0; s=0; while [ $i -lt 2000 ]; do s=$((s + i * i % 7)); i=$((i + 1)); done; echo $s; echo $((0x10 + 010 + 1<<4)) $((7/2)) $((-7%3))"),
    ("exit-status", "sh -c 'exit 3'; echo child $?; (exit 7); echo sub $?; kill -TERM $$ 2>/dev/null; echo unreachable"),
    ("misc-applets", "basename /a/b/c.txt .txt; dirname /a/b/c; expr 6 \\* 7; echo abc | rev; echo hello | tr a-z A-Z; echo ' x ' | od -c | head -2; seq -s, 1 5; yes | head -3; cut -d, -f2 data/csv.txt | head -3; printf 'b\\na\\n' | sort -r; echo a:b:c | cut -d: -f2; true; echo $?"),
];

/// How a run ended.
#[derive(Debug, Clone, PartialEq)]
enum Status {
    Code(i32),
    Signal(i32),
    Timeout,
    SpawnError(String),
}

impl std::fmt::Display for Status {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Status::Code(c) => write!(f, "exit {c}"),
            Status::Signal(s) => write!(f, "signal {s}"),
            Status::Timeout => write!(f, "TIMEOUT"),
            Status::SpawnError(e) => write!(f, "could not start: {e}"),
        }
    }
}

struct Outcome {
    status: Status,
    stdout: Vec<u8>,
    stderr: Vec<u8>,
}

fn timeout() -> Duration {
    Duration::from_secs(std::env::var("LINUX_USER_TIMEOUT").ok().and_then(|s| s.parse().ok()).unwrap_or(60))
}

/// Runs `cmd` (in its own process group) with `stdin`, killing the whole group
/// after the timeout.
fn run(mut cmd: Command, stdin: Option<&[u8]>) -> Outcome {
    cmd.stdin(if stdin.is_some() { Stdio::piped() } else { Stdio::null() })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0);
    let mut child = match cmd.spawn() {
        Ok(c) => c,
        Err(e) => return Outcome { status: Status::SpawnError(e.to_string()), stdout: vec![], stderr: vec![] },
    };
    let pid = child.id();
    let feeder = stdin.map(|data| {
        let mut pipe = child.stdin.take().unwrap();
        let data = data.to_vec();
        std::thread::spawn(move || {
            let _ = pipe.write_all(&data);
        })
    });
    let reader = |mut r: Box<dyn Read + Send>| {
        std::thread::spawn(move || {
            let mut v = Vec::new();
            let _ = r.read_to_end(&mut v);
            v
        })
    };
    let out = reader(Box::new(child.stdout.take().unwrap()));
    let err = reader(Box::new(child.stderr.take().unwrap()));
    let deadline = Instant::now() + timeout();
    let status = loop {
        match child.try_wait() {
            Ok(Some(st)) => break st.code().map(Status::Code).or(st.signal().map(Status::Signal)).unwrap(),
            Ok(None) if Instant::now() >= deadline => {
                kill_group(pid);
                let _ = child.wait();
                break Status::Timeout;
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(5)),
            Err(e) => break Status::SpawnError(e.to_string()),
        }
    };
    // Leftover children of the guest (there should be none) keep the pipes
    // open: kill the group so the readers finish.
    kill_group(pid);
    if let Some(f) = feeder {
        let _ = f.join();
    }
    Outcome { status, stdout: out.join().unwrap(), stderr: err.join().unwrap() }
}

fn kill_group(pgid: u32) {
    let _ = Command::new("kill")
        .args(["-KILL", "--", &format!("-{pgid}")])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
}

/// The environment every guest sees (the harness's own is cleared).
fn fixed_env(cmd: &mut Command, dir: &Path, path: &str) {
    cmd.env_clear()
        .env("PATH", path)
        .env("HOME", dir)
        .env("LANG", "C")
        .env("LC_ALL", "C")
        .env("TZ", "UTC")
        .env("MIMIC_TEST_VAR", "hello from the harness")
        .env("MIMIC_TEST_OTHER", "a=b=c");
}

/// Drops the emulators' own "killed by signal" lines.
fn filter_stderr(s: &[u8]) -> String {
    let text = String::from_utf8_lossy(s);
    let mut out = String::new();
    for line in text.split_inclusive('\n') {
        if line.starts_with("qemu: uncaught target signal") || line.starts_with("mimic: ") {
            continue;
        }
        out.push_str(line);
    }
    out
}

/// A short unified-diff-like excerpt: the differing middle (common prefix
/// and suffix removed), two lines of context, at most 6 lines a side.
fn diff_excerpt(what: &str, expected: &str, actual: &str) -> String {
    let e: Vec<&str> = expected.lines().collect();
    let a: Vec<&str> = actual.lines().collect();
    let pre = e.iter().zip(&a).take_while(|(x, y)| x == y).count();
    let max_suf = e.len().min(a.len()) - pre;
    let suf = e.iter().rev().zip(a.iter().rev()).take(max_suf).take_while(|(x, y)| x == y).count();
    let (ed, ad) = (&e[pre..e.len() - suf], &a[pre..a.len() - suf]);
    let mut s = format!(
        "    {what} differs at line {} (qemu {} lines, mimic {} lines; {} vs {} lines differ)\n",
        pre + 1,
        e.len(),
        a.len(),
        ed.len(),
        ad.len()
    );
    for l in &e[pre.saturating_sub(2)..pre] {
        let _ = writeln!(s, "       {}", clip(l));
    }
    for (sign, side) in [("-", ed), ("+", ad)] {
        for l in side.iter().take(6) {
            let _ = writeln!(s, "     {sign} {}", clip(l));
        }
        if side.len() > 6 {
            let _ = writeln!(s, "     {sign} ... ({} more)", side.len() - 6);
        }
    }
    if let Some(l) = e.get(e.len() - suf) {
        let _ = writeln!(s, "       {}", clip(l));
    }
    if ed.is_empty() && ad.is_empty() {
        let _ = writeln!(s, "     (only a final newline or the bytes of a line ending differ)");
    }
    s
}

fn clip(l: &str) -> String {
    if l.chars().count() > 160 {
        format!("{}...", l.chars().take(160).collect::<String>())
    } else {
        l.to_string()
    }
}

/// Compares two outcomes; `None` when they agree.  With LINUX_USER_SHOW=1
/// the reference (qemu) output is printed too.
fn compare(name: &str, q: &Outcome, m: &Outcome) -> Option<String> {
    if std::env::var_os("LINUX_USER_SHOW").is_some() {
        eprintln!(
            "--- {name}: qemu {}\n--- stdout:\n{}--- stderr:\n{}---",
            q.status,
            String::from_utf8_lossy(&q.stdout),
            String::from_utf8_lossy(&q.stderr)
        );
    }
    let (qo, mo) = (String::from_utf8_lossy(&q.stdout), String::from_utf8_lossy(&m.stdout));
    let (qe, me) = (filter_stderr(&q.stderr), filter_stderr(&m.stderr));
    let mut report = String::new();
    if matches!(q.status, Status::Timeout | Status::SpawnError(_)) {
        let _ = writeln!(report, "    reference problem: qemu {}", q.status);
    }
    if q.status != m.status {
        let _ = writeln!(report, "    status: qemu {}, mimic {}", q.status, m.status);
    }
    if qo != mo {
        report.push_str(&diff_excerpt("stdout", &qo, &mo));
    }
    if qe != me {
        report.push_str(&diff_excerpt("stderr", &qe, &me));
    }
    let raw_err = String::from_utf8_lossy(&m.stderr);
    if raw_err.contains("panicked at") {
        let line = raw_err.lines().find(|l| l.contains("panicked at")).unwrap_or("");
        let _ = writeln!(report, "    mimic panicked: {}", clip(line));
    }
    if report.is_empty() {
        None
    } else {
        // mimic's own one-line message helps when it refused to run at all
        let mine: Vec<&str> = raw_err.lines().filter(|l| l.starts_with("mimic: ")).take(2).collect();
        for l in mine {
            let _ = writeln!(report, "    (mimic said: {})", clip(l));
        }
        Some(format!("MISMATCH {name}\n{report}"))
    }
}

static TMP_SEQ: AtomicUsize = AtomicUsize::new(0);

/// A fresh, empty directory; removed on drop unless LINUX_USER_KEEP is set.
struct TempDir(PathBuf);
impl TempDir {
    fn new(tag: &str) -> TempDir {
        let base = std::env::var_os("TMPDIR").map(PathBuf::from).unwrap_or_else(std::env::temp_dir);
        let p = base.join(format!(
            "mimic-lu-{}-{}-{}",
            std::process::id(),
            TMP_SEQ.fetch_add(1, Ordering::SeqCst),
            tag.replace('/', "_")
        ));
        let _ = std::fs::remove_dir_all(&p);
        std::fs::create_dir_all(&p).unwrap();
        TempDir(p)
    }
}
impl Drop for TempDir {
    fn drop(&mut self) {
        if std::env::var_os("LINUX_USER_KEEP").is_none() {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
}

/// Skips (prints `SKIP: reason`) or, under MIMIC_REQUIRE_LINUX_USER=1, fails.
fn skip(reason: &str) {
    if std::env::var("MIMIC_REQUIRE_LINUX_USER").is_ok_and(|v| v == "1") {
        panic!("MIMIC_REQUIRE_LINUX_USER=1 but: {reason}");
    }
    println!("SKIP: {reason}");
    eprintln!("SKIP: {reason}");
}

fn on_path(tool: &str) -> bool {
    Command::new("sh")
        .args(["-c", &format!("command -v {tool}")])
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// Runs one of the tests/guest scripts; its last stdout line is a path.
fn script(name: &str, args: &[&str]) -> Result<String, String> {
    let out = Command::new(Path::new(ROOT).join("tests/guest").join(name))
        .args(args)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("{name}: {e}"))?;
    if !out.status.success() {
        let err = String::from_utf8_lossy(&out.stderr);
        return Err(format!("{name} failed: {}", err.trim().lines().last().unwrap_or("")));
    }
    Ok(String::from_utf8_lossy(&out.stdout).trim().lines().last().unwrap_or("").to_string())
}

fn qemu_path_of(qemu: &str) -> Option<String> {
    let out = Command::new("sh").args(["-c", &format!("command -v {qemu}")]).output().ok()?;
    out.status.success().then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
}

fn jobs() -> usize {
    let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
    std::env::var("LINUX_USER_JOBS").ok().and_then(|s| s.parse().ok()).unwrap_or(cpus).max(1)
}

/// Permits shared by every test of this binary (cargo runs them concurrently): at
/// most LINUX_USER_JOBS runs at once in all, so a loaded machine does not push a
/// multi-threaded guest past its timeout.
static PERMITS: Mutex<Option<usize>> = Mutex::new(None);
static PERMIT_FREED: std::sync::Condvar = std::sync::Condvar::new();

fn with_permit<R>(f: impl FnOnce() -> R) -> R {
    {
        let mut p = PERMITS.lock().unwrap_or_else(|e| e.into_inner());
        loop {
            let free = p.get_or_insert_with(jobs);
            if *free > 0 {
                *free -= 1;
                break;
            }
            p = PERMIT_FREED.wait(p).unwrap_or_else(|e| e.into_inner());
        }
    }
    struct Release;
    impl Drop for Release {
        fn drop(&mut self) {
            let mut p = PERMITS.lock().unwrap_or_else(|e| e.into_inner());
            *p.as_mut().expect("permits initialised") += 1;
            PERMIT_FREED.notify_one();
        }
    }
    let _release = Release;
    f()
}

/// Runs `work` over `items` on LINUX_USER_JOBS threads (default: one per CPU), each
/// item holding one of the binary-wide permits.
fn parallel<T: Sync, R: Send>(items: &[T], work: impl Fn(&T) -> R + Sync) -> Vec<R> {
    let jobs = jobs();
    let next = AtomicUsize::new(0);
    let results = Mutex::new(Vec::new());
    std::thread::scope(|s| {
        for _ in 0..jobs {
            s.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::SeqCst);
                if i >= items.len() {
                    break;
                }
                let r = with_permit(|| work(&items[i]));
                results.lock().unwrap().push((i, r));
            });
        }
    });
    let mut r = results.into_inner().unwrap();
    r.sort_by_key(|(i, _)| *i);
    r.into_iter().map(|(_, r)| r).collect()
}

fn filter_matches(name: &str) -> bool {
    std::env::var("LINUX_USER_FILTER").map_or(true, |f| name.contains(&f))
}

fn finish_against(what: &str, qemu: &str, total: usize, mismatches: Vec<String>) {
    // The four builds of a program often fail the same way: print the
    // details once.
    let mut seen: Vec<(String, String)> = Vec::new();
    let mismatches: Vec<String> = mismatches
        .into_iter()
        .map(|m| {
            let (head, body) = m.split_once('\n').unwrap_or((&m, ""));
            let name = head.trim_start_matches("MISMATCH ").to_string();
            if let Some((first, _)) = seen.iter().find(|(_, b)| b == body) {
                format!("MISMATCH {name}: same differences as {first}\n")
            } else {
                seen.push((name, body.to_string()));
                m
            }
        })
        .collect();
    if mismatches.is_empty() {
        println!("{what}: all {total} runs agree with qemu");
        return;
    }
    let mut msg = format!("{what}: {} of {total} runs differ from {qemu}\n\n", mismatches.len());
    for m in &mismatches {
        msg.push_str(m);
        msg.push('\n');
    }
    msg.push_str(&format!("({} of {total} runs differ)\n", mismatches.len()));
    panic!("{msg}");
}

#[test]
fn guest_corpus_matches_qemu() {
    corpus(&AARCH64);
}

#[test]
fn ppc64le_guest_corpus_matches_qemu() {
    corpus(&PPC64LE);
}

#[test]
fn ppc64_guest_corpus_matches_qemu() {
    corpus(&PPC64);
}

/// FUTEX_WAKE_OP on the big-endian guests, against the same program built for and
/// run on this (x86-64) Linux, as qemu-ppc64 and qemu-ppc get it wrong (see
/// [`PPC64`]).
#[test]
fn big_endian_futex_wake_op_matches_native_linux() {
    if !on_path("cc") {
        return skip("no native cc");
    }
    let dir = TempDir::new("futexop-native");
    let native = dir.0.join("futexop");
    let src = Path::new(ROOT).join("tests/guest/futexop.c");
    let st = Command::new("cc")
        .args(["-O2", "-pthread", "-I"])
        .arg(Path::new(ROOT).join("tests/guest"))
        .arg("-o")
        .arg(&native)
        .arg(&src)
        .status()
        .expect("cc");
    assert!(st.success(), "building futexop natively");
    let mut cmd = Command::new(&native);
    fixed_env(&mut cmd, &dir.0, "/usr/bin:/bin");
    let want = run(cmd, None);
    assert!(want.stdout.len() > 100 && want.status == Status::Code(0), "native run: {}", want.status);
    for triple in [PPC64.triple, PPC32.triple] {
        if !on_path(&format!("{triple}-gcc")) {
            skip(&format!("no {triple}-gcc (apt-get install gcc-{triple})"));
            continue;
        }
        if let Err(e) = script("build.sh", &[triple]) {
            panic!("building the guest corpus: {e}");
        }
        for variant in ["O0-static", "O2-static"] {
            let bin = Path::new(ROOT).join("target/guest").join(triple).join(format!("futexop-{variant}"));
            let mut cmd = Command::new(mimic());
            cmd.arg("run").arg(&bin);
            fixed_env(&mut cmd, &dir.0, "/usr/bin:/bin");
            let got = with_permit(|| run(cmd, None));
            if let Some(d) = compare(&format!("{triple} futexop-{variant}"), &want, &got) {
                panic!("{triple} futexop under mimic differs from native Linux:\n{d}");
            }
        }
    }
}

#[test]
fn ppc32_guest_corpus_matches_qemu() {
    corpus(&PPC32);
}

fn corpus(t: &Target) {
    let triple = t.triple;
    if !on_path(&format!("{triple}-gcc")) {
        return skip(&format!("no {triple}-gcc (apt-get install gcc-{triple})"));
    }
    let Some(qemu) = qemu_path_of(t.qemu) else {
        return skip(&format!("no {} (apt-get install qemu-user-static)", t.qemu));
    };
    let sysroot = match &t.sysroot {
        Sysroot::Arm64Script => match script("sysroot.sh", &[]) {
            Ok(p) => Some(p),
            Err(e) => return skip(&format!("no arm64 sysroot: {e}")),
        },
        Sysroot::Cross(dir, interp) => {
            if !Path::new(dir).join(interp).exists() {
                return skip(&format!("no {dir}/{interp} (the cross glibc of gcc-{triple})"));
            }
            Some(dir.to_string())
        }
    };
    if let Err(e) = script("build.sh", &[triple]) {
        panic!("building the guest corpus: {e}");
    }
    let bindir = Path::new(ROOT).join("target/guest").join(triple);
    // Every source has a case, so a new program cannot be forgotten.
    let sources: BTreeSet<String> = std::fs::read_dir(Path::new(ROOT).join("tests/guest"))
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().to_str()?.strip_suffix(".c").map(str::to_string))
        .collect();
    let listed: BTreeSet<String> = CORPUS.iter().map(|c| c.prog.to_string()).collect();
    let missing: Vec<_> = sources.difference(&listed).collect();
    assert!(missing.is_empty(), "tests/guest programs without a CORPUS entry: {missing:?}");

    let runs: Vec<(&Case, &str, String)> = CORPUS
        .iter()
        .flat_map(|c| {
            t.variants.iter().map(move |v| {
                let label = if c.label.is_empty() { String::new() } else { format!("[{}]", c.label) };
                (c, *v, format!("{}-{v}{label}", c.prog))
            })
        })
        .filter(|(_, _, name)| filter_matches(name))
        .filter(|(_, _, name)| match t.skip.iter().find(|(k, _)| name.starts_with(k)) {
            Some((_, why)) => {
                eprintln!("not compared: {name} ({why})");
                false
            }
            None => true,
        })
        .collect();
    let total = runs.len();
    // qemu's sysroot for the dynamic `qemu_mffs` runs: the C library and libm
    // rewritten as the programs are, everything else linked to the original.
    let mffs_root = match &sysroot {
        Some(root) if t.qemu_mffs.iter().any(|p| p.ends_with("dynamic")) => {
            let dir = TempDir::new("mffs-sysroot");
            let lib = dir.0.join("lib");
            std::fs::create_dir_all(&lib).unwrap();
            for e in std::fs::read_dir(Path::new(root).join("lib")).unwrap() {
                let e = e.unwrap();
                let to = lib.join(e.file_name());
                if matches!(e.file_name().to_str(), Some("libc.so.6" | "libm.so.6")) {
                    std::fs::write(&to, mffs_as_mffs(&std::fs::read(e.path()).unwrap())).unwrap();
                } else {
                    std::os::unix::fs::symlink(e.path(), &to).unwrap();
                }
            }
            Some(dir)
        }
        _ => None,
    };
    let done = AtomicUsize::new(0);
    let results = parallel(&runs, |(case, variant, name)| {
        let bin = bindir.join(format!("{}-{variant}", case.prog));
        let dynamic = variant.ends_with("dynamic");
        // qemu's copy of the program, where it needs one (see `Target::qemu_mffs`),
        // under the same file name.
        let patched = t.qemu_mffs.iter().any(|p| name.starts_with(p)).then(|| {
            let dir = TempDir::new(&format!("mffs-{name}"));
            let p = dir.0.join(bin.file_name().unwrap());
            std::fs::write(&p, mffs_as_mffs(&std::fs::read(&bin).unwrap())).unwrap();
            std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
            (dir, p)
        });
        let go = |emu: &str| {
            let dir = TempDir::new(&format!("{emu}-{name}"));
            let mut cmd;
            if emu == "qemu" {
                cmd = Command::new(&qemu);
                if dynamic {
                    match (&patched, &mffs_root, &sysroot) {
                        (Some(_), Some(root), _) => {
                            cmd.arg("-L").arg(&root.0);
                        }
                        (_, _, Some(root)) => {
                            cmd.arg("-L").arg(root);
                        }
                        _ => {}
                    }
                }
            } else {
                cmd = Command::new(mimic());
                cmd.arg("run");
                if let Some(root) = &sysroot {
                    cmd.arg("-L").arg(root);
                }
            }
            let prog = match &patched {
                Some((_, p)) if emu == "qemu" => p,
                _ => &bin,
            };
            cmd.arg(prog).args(case.args).current_dir(&dir.0);
            fixed_env(&mut cmd, &dir.0, "/usr/bin:/bin");
            if emu == "qemu" {
                for (k, v) in case.qemu_env {
                    cmd.env(k, v);
                }
            }
            run(cmd, case.stdin)
        };
        let q = go("qemu");
        let m = go("mimic");
        let r = compare(name, &q, &m);
        let n = done.fetch_add(1, Ordering::SeqCst) + 1;
        eprintln!(
            "[{n}/{total}] {} {name} (qemu {}, mimic {})",
            if r.is_none() { "ok      " } else { "MISMATCH" },
            q.status,
            m.status
        );
        r
    });
    finish_against(&format!("guest corpus ({triple})"), t.qemu, total, results.into_iter().flatten().collect());
}

/// A big-endian PowerPC program with every ISA 3.0 form of mffs (mffsce, mffscdrn,
/// mffscdrni, mffscrn, mffscrni, mffsl: mffs with a nonzero field in bits 11..15)
/// rewritten as plain mffs to the same register, which is what processors before
/// ISA 3.0 run (ISA 3.0, "Move From FPSCR"): a reference for qemu's CPUs that
/// lack them.  Only words of that exact form change (data words that look like
/// one would too, which the tests' programs do not have).
fn mffs_as_mffs(bytes: &[u8]) -> Vec<u8> {
    let mut out = bytes.to_vec();
    for w in out.chunks_exact_mut(4) {
        let v = u32::from_be_bytes([w[0], w[1], w[2], w[3]]);
        if v & 0xfc00_07ff == 0xfc00_048e && matches!(v >> 16 & 31, 1 | 20..=24) {
            w.copy_from_slice(&(v & 0xffe0_07ff).to_be_bytes());
        }
    }
    out
}

/// Deterministic bytes (xorshift), compressible enough for gzip to matter.
fn det_bytes(n: usize, seed: u64) -> Vec<u8> {
    let mut x = seed;
    let mut v = Vec::with_capacity(n);
    while v.len() < n {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        // mix text-like runs and noise
        let b = x.to_le_bytes();
        if b[0] < 160 {
            v.extend_from_slice(b"the quick brown fox jumps over the lazy dog ");
        } else {
            v.extend_from_slice(&b);
        }
    }
    v.truncate(n);
    v
}

/// The directory busybox scripts run in: fixed contents and fixed mtimes.
fn prepare_busybox_dir(dir: &Path) {
    let w = |p: &str, data: &[u8]| {
        let path = dir.join(p);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, data).unwrap();
    };
    let words = ["alpha", "beta", "gamma", "delta", "alpha", "beta", "alpha", "omega", "pi", "rho"];
    let mut s = String::new();
    for i in 0..500usize {
        s.push_str(words[(i * 7 + i / 3) % words.len()]);
        s.push('\n');
    }
    w("data/words.txt", s.as_bytes());
    let lines: String = (1..=100).map(|i| format!("this is line {i}\n")).collect();
    w("data/lines.txt", lines.as_bytes());
    let nums: String = (0..300u64).map(|i| format!("{}\n", (i * 7919) % 1009)).collect();
    w("data/numbers.txt", nums.as_bytes());
    let csv: String = (0..50u64).map(|i| format!("row{i},{},{}\n", words[i as usize % 10], i * i % 97)).collect();
    w("data/csv.txt", csv.as_bytes());
    w("data/sub/alpha.md", b"# alpha\nalpha and omega\n");
    w("data/sub/empty", b"");
    w("data/sub/deeper/notes.txt", b"deep alpha notes\n");
    w("data/old.txt", b"old\n");
    w("big.bin", &det_bytes(10 << 20, 0x1234_5678_9abc_def1));
    std::os::unix::fs::symlink("sub/alpha.md", dir.join("data/link.md")).unwrap();
    // fixed modes and times (old.txt older than the rest; directories last)
    for (p, mode) in [("data/sub/empty", 0o600), ("data/csv.txt", 0o640)] {
        std::fs::set_permissions(dir.join(p), std::fs::Permissions::from_mode(mode)).unwrap();
    }
    let touch = |when: &str, paths: &[&str]| {
        let st =
            Command::new("touch").arg("-h").arg("-d").arg(when).args(paths).current_dir(dir).status().expect("touch");
        assert!(st.success());
    };
    touch(
        "2021-03-04 05:06:07 UTC",
        &[
            "data/words.txt",
            "data/lines.txt",
            "data/numbers.txt",
            "data/csv.txt",
            "data/sub/alpha.md",
            "data/sub/empty",
            "data/sub/deeper/notes.txt",
            "data/link.md",
            "big.bin",
        ],
    );
    touch("2020-01-01 00:00:00 UTC", &["data/old.txt"]);
    touch("2021-03-04 05:06:08 UTC", &["data/sub/deeper", "data/sub", "data", "."]);
}

#[test]
fn busybox_matches_qemu() {
    busybox_on(QEMU, "arm64");
}

#[test]
fn ppc64le_busybox_matches_qemu() {
    busybox_on("qemu-ppc64le-static", "ppc64el");
}

/// Debian's busybox-static for `dpkg_arch`, under `qemu` and mimic.
fn busybox_on(qemu_name: &str, dpkg_arch: &str) {
    let Some(qemu) = qemu_path_of(qemu_name) else {
        return skip(&format!("no {qemu_name} (apt-get install qemu-user-static)"));
    };
    let busybox = match script("busybox.sh", &[dpkg_arch]) {
        Ok(p) => p,
        Err(e) => return skip(&format!("no {dpkg_arch} busybox: {e}")),
    };
    let applets: Vec<String> = {
        let out = Command::new(&qemu).arg(&busybox).arg("--list").output().expect("busybox --list");
        String::from_utf8_lossy(&out.stdout).lines().map(str::to_string).collect()
    };
    assert!(applets.iter().any(|a| a == "sh"), "busybox --list under qemu: {applets:?}");
    // Commands found on PATH are exec'd.  qemu-user on a host without
    // binfmt_misc cannot exec an arm64 binary, so qemu's PATH holds host
    // scripts that start the applet under qemu; mimic's PATH holds symlinks
    // to busybox itself (mimic must exec the guest binary).  The guest sees
    // the same command names either way.
    let make_bin = |dir: &Path, emu: &str| {
        let bin = dir.join("bin");
        std::fs::create_dir_all(&bin).unwrap();
        for a in &applets {
            let p = bin.join(a);
            if emu == "qemu" {
                std::fs::write(&p, format!("#!/bin/sh\nexec {qemu} -0 {a} {busybox} \"$@\"\n")).unwrap();
                std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
            } else {
                std::os::unix::fs::symlink(&busybox, &p).unwrap();
            }
        }
        bin
    };
    let cases: Vec<&(&str, &str)> = BUSYBOX.iter().filter(|(n, _)| filter_matches(&format!("busybox-{n}"))).collect();
    let total = cases.len();
    let results = parallel(&cases, |(name, script)| {
        let go = |emu: &str| {
            let root = TempDir::new(&format!("bb-{emu}-{name}"));
            let bin = make_bin(&root.0, emu);
            let work = root.0.join("work");
            std::fs::create_dir_all(&work).unwrap();
            prepare_busybox_dir(&work);
            let mut cmd = if emu == "qemu" {
                Command::new(&qemu)
            } else {
                let mut c = Command::new(mimic());
                c.arg("run");
                c
            };
            cmd.arg(&busybox).args(["sh", "-c", script]).current_dir(&work);
            fixed_env(&mut cmd, &work, bin.to_str().unwrap());
            run(cmd, None)
        };
        let q = go("qemu");
        let m = go("mimic");
        let r = compare(&format!("busybox-{name}"), &q, &m);
        eprintln!(
            "{} busybox-{name} (qemu {}, mimic {})",
            if r.is_none() { "ok      " } else { "MISMATCH" },
            q.status,
            m.status
        );
        r
    });
    finish_against(&format!("busybox ({dpkg_arch})"), qemu_name, total, results.into_iter().flatten().collect());
}

/// A minimal little-endian ELF64 executable image: header, program headers
/// (PT_INTERP when `interp` is given, one PT_LOAD of the whole file), the
/// interpreter string, and a few instruction words at the entry point.
fn tiny_elf(machine: u16, interp: Option<&str>) -> Vec<u8> {
    tiny_elf_order(machine, interp, false)
}

/// [`tiny_elf`] in either byte order (its code stays AArch64's).
fn tiny_elf_order(machine: u16, interp: Option<&str>, be: bool) -> Vec<u8> {
    macro_rules! b {
        ($x:expr) => {
            if be {
                $x.to_be_bytes().to_vec()
            } else {
                $x.to_le_bytes().to_vec()
            }
        };
    }
    let phnum: u16 = if interp.is_some() { 2 } else { 1 };
    let ph_off = 64u64;
    let data_off = ph_off + 56 * phnum as u64;
    let base = 0x40_0000u64;
    let mut tail = Vec::new();
    let interp_off = data_off;
    if let Some(i) = interp {
        tail.extend_from_slice(i.as_bytes());
        tail.push(0);
    }
    while tail.len() % 8 != 0 {
        tail.push(0);
    }
    let entry_off = data_off + tail.len() as u64;
    // aarch64: mov x0, #0; mov x8, #93; svc #0 (exit(0))
    for w in [0xd2800000u32, 0xd2800ba8, 0xd4000001] {
        tail.extend_from_slice(&w.to_le_bytes());
    }
    let file_len = data_off + tail.len() as u64;
    let mut v = Vec::new();
    v.extend_from_slice(b"\x7fELF");
    v.extend_from_slice(&[2, if be { 2 } else { 1 }, 1, 0]); // ELFCLASS64, byte order, version, SYSV
    v.extend_from_slice(&[0; 8]);
    v.extend_from_slice(&b!(2u16)); // ET_EXEC
    v.extend_from_slice(&b!(machine));
    v.extend_from_slice(&b!(1u32));
    v.extend_from_slice(&b!((base + entry_off)));
    v.extend_from_slice(&b!(ph_off));
    v.extend_from_slice(&b!(0u64)); // no section headers
    v.extend_from_slice(&b!(0u32));
    v.extend_from_slice(&b!(64u16));
    v.extend_from_slice(&b!(56u16));
    v.extend_from_slice(&b!(phnum));
    v.extend_from_slice(&b!(64u16));
    v.extend_from_slice(&b!(0u16));
    v.extend_from_slice(&b!(0u16));
    let mut ph = |ty: u32, flags: u32, off: u64, addr: u64, size: u64, align: u64| {
        v.extend_from_slice(&b!(ty));
        v.extend_from_slice(&b!(flags));
        v.extend_from_slice(&b!(off));
        v.extend_from_slice(&b!(addr));
        v.extend_from_slice(&b!(addr));
        v.extend_from_slice(&b!(size));
        v.extend_from_slice(&b!(size));
        v.extend_from_slice(&b!(align));
    };
    if let Some(i) = interp {
        ph(3, 4, interp_off, base + interp_off, i.len() as u64 + 1, 1); // PT_INTERP
    }
    ph(1, 5, 0, base, file_len, 0x1000); // PT_LOAD R+X
    v.extend_from_slice(&tail);
    assert_eq!(v.len() as u64, file_len);
    v
}

/// A minimal 32-bit big-endian ELF executable header with one PT_LOAD (no code).
fn tiny_elf32_be(machine: u16) -> Vec<u8> {
    let mut v = Vec::new();
    v.extend_from_slice(b"\x7fELF");
    v.extend_from_slice(&[1, 2, 1, 0]); // ELFCLASS32, big endian, version, SYSV
    v.extend_from_slice(&[0; 8]);
    v.extend_from_slice(&2u16.to_be_bytes()); // ET_EXEC
    v.extend_from_slice(&machine.to_be_bytes());
    v.extend_from_slice(&1u32.to_be_bytes());
    v.extend_from_slice(&0x1000_0054u32.to_be_bytes()); // e_entry
    v.extend_from_slice(&52u32.to_be_bytes()); // e_phoff
    v.extend_from_slice(&0u32.to_be_bytes()); // e_shoff
    v.extend_from_slice(&0u32.to_be_bytes()); // e_flags
    for h in [52u16, 32, 1, 40, 0, 0] {
        v.extend_from_slice(&h.to_be_bytes());
    }
    for w in [1u32, 0, 0x1000_0000, 0x1000_0000, 0x60, 0x60, 5, 0x1000] {
        v.extend_from_slice(&w.to_be_bytes());
    }
    v.extend_from_slice(&[0; 12]);
    v
}

#[test]
fn bad_inputs_give_one_error_line() {
    let dir = TempDir::new("bad-inputs");
    let d = &dir.0;
    let put = |name: &str, data: &[u8]| {
        let p = d.join(name);
        std::fs::write(&p, data).unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
        p
    };
    let good = tiny_elf(183, None);
    let mut cases: Vec<(String, PathBuf, Vec<String>)> = vec![
        ("text file".into(), put("text", b"this is not an ELF file\n"), vec![]),
        ("shell script".into(), put("script.sh", b"#!/bin/sh\necho hi\n"), vec![]),
        ("empty file".into(), put("empty", b""), vec![]),
        ("ELF magic only".into(), put("magic", b"\x7fELF"), vec![]),
        ("truncated ELF header".into(), put("trunc-header", &good[..40]), vec![]),
        ("truncated program headers".into(), put("trunc-phdrs", &good[..90]), vec![]),
        (
            "32-bit ELF class".into(),
            put("class32", &{
                let mut v = good.clone();
                v[4] = 1;
                v
            }),
            vec![],
        ),
        (
            "big-endian aarch64 (unsupported)".into(),
            put("be", &{
                let mut v = good.clone();
                v[5] = 2;
                v
            }),
            vec![],
        ),
        ("RISC-V ELF (unsupported machine)".into(), put("riscv", &tiny_elf(243, None)), vec![]),
        ("32-bit SPARC (unsupported)".into(), put("sparc32", &tiny_elf32_be(2)), vec![]),
        ("truncated ppc32 program headers".into(), put("ppc32-trunc", &tiny_elf32_be(20)[..70]), vec![]),
        (
            "truncated ppc64 big-endian program headers".into(),
            put("ppc64be-trunc", &tiny_elf_order(21, None, true)[..90]),
            vec![],
        ),
        ("truncated ppc64le program headers".into(), put("ppc-trunc", &tiny_elf(21, None)[..90]), vec![]),
        ("x86-64 ELF: the mimic binary itself".into(), PathBuf::from(mimic()), vec![]),
        (
            "ET_REL object".into(),
            put("rel", &{
                let mut v = good.clone();
                v[16] = 1;
                v
            }),
            vec![],
        ),
        (
            "missing interpreter".into(),
            put("needs-interp", &tiny_elf(183, Some("/nonexistent/lib/ld-linux-aarch64.so.1"))),
            vec![],
        ),
        ("missing program".into(), d.join("does-not-exist"), vec![]),
        ("a directory".into(), d.to_path_buf(), vec![]),
    ];
    // A real dynamic binary with a sysroot lacking its interpreter.
    let dynbin = Path::new(ROOT).join("target/guest").join(AARCH64.triple).join("hello-O2-dynamic");
    if dynbin.exists() {
        let empty = d.join("empty-sysroot");
        std::fs::create_dir_all(&empty).unwrap();
        cases.push((
            "dynamic binary, sysroot without ld.so".into(),
            dynbin,
            vec!["-L".into(), empty.to_str().unwrap().into()],
        ));
    }
    let mut problems = Vec::new();
    for (what, path, pre) in &cases {
        let mut cmd = Command::new(mimic());
        cmd.arg("run").args(pre).arg(path).current_dir(d);
        fixed_env(&mut cmd, d, "/usr/bin:/bin");
        let o = run(cmd, None);
        let err = String::from_utf8_lossy(&o.stderr).into_owned();
        let lines: Vec<&str> = err.lines().collect();
        let mut bad = Vec::new();
        match o.status {
            Status::Code(c) if c != 0 => {}
            ref s => bad.push(format!("status {s}, expected a non-zero exit code")),
        }
        if lines.len() != 1 {
            bad.push(format!("{} stderr lines, expected exactly one", lines.len()));
        }
        if !lines.first().is_some_and(|l| l.starts_with("mimic:")) {
            bad.push("stderr does not start with `mimic:`".into());
        }
        if err.contains("panicked") {
            bad.push("mimic panicked".into());
        }
        if !o.stdout.is_empty() {
            bad.push(format!("unexpected stdout: {:?}", clip(&String::from_utf8_lossy(&o.stdout))));
        }
        if bad.is_empty() {
            eprintln!("ok       {what}: {}", lines[0]);
        } else {
            let mut s = format!("BAD {what} ({})\n", path.display());
            for b in bad {
                let _ = writeln!(s, "    {b}");
            }
            for l in lines.iter().take(4) {
                let _ = writeln!(s, "    stderr: {}", clip(l));
            }
            if lines.len() > 4 {
                let _ = writeln!(s, "    stderr: ... ({} more lines)", lines.len() - 4);
            }
            eprint!("{s}");
            problems.push(s);
        }
    }
    if !problems.is_empty() {
        panic!("{} of {} bad inputs mishandled:\n\n{}", problems.len(), cases.len(), problems.join("\n"));
    }
}
