//! `mimic bench run`: run a program N times under mimic (and, to compare, under
//! qemu-user or natively) and report times, engine counters and memory.
//!
//! Each repetition is two fresh processes, each reaped with `wait4` for its own user/sys
//! time and peak RSS: a timed run, `mimic run --stats=json --no-counters --stats-file F
//! PROGRAM ARGS` (translation statistics, code not instrumented), then a counting run
//! without `--no-counters` (every IR block adds its instruction count, chained exits and
//! lookup hits are counted). Times, memory and translation figures come from the timed
//! runs; instruction counts and hit rates from the counting runs, whose slowdown is
//! reported as the instrumentation overhead. The guest's stdout goes to /dev/null unless
//! asked for; its stderr is kept in a file and shown if the run fails.

use super::BenchError;
use serde_json::{json, Value};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

/// What to compare mimic with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Compare {
    /// The matching `qemu-<arch>-static` (or `qemu-<arch>`).
    Qemu,
    /// The program itself on the host (same-architecture programs only).
    Native,
}

#[derive(Clone, Debug)]
pub struct Options {
    /// The mimic executable to run the program with.
    pub mimic: PathBuf,
    /// Extra `mimic run` options (sysroot, tier...), placed before the program.
    pub mimic_args: Vec<String>,
    pub program: PathBuf,
    pub args: Vec<String>,
    pub repeat: usize,
    pub compare: Option<Compare>,
    /// Guest sysroot, also given to qemu (`-L`).
    pub sysroot: Option<PathBuf>,
    /// Let the guest's stdout through.
    pub show_output: bool,
}

/// One process run.
#[derive(Clone, Debug, Default)]
pub struct Measured {
    pub wall_ms: f64,
    pub user_ms: f64,
    pub sys_ms: f64,
    pub max_rss_kb: u64,
    /// Exit code, or 128 + signal.
    pub status: i32,
    /// `mimic run --stats=json` (mimic runs only).
    pub stats: Option<Value>,
    /// The counting run of the same repetition (mimic runs only).
    pub counted: Option<Box<Measured>>,
}

/// Median, minimum and maximum of a list.
fn spread(v: &[f64]) -> Value {
    let mut v = v.to_vec();
    v.sort_by(|a, b| a.total_cmp(b));
    let median = if v.is_empty() {
        0.0
    } else if v.len() % 2 == 1 {
        v[v.len() / 2]
    } else {
        (v[v.len() / 2 - 1] + v[v.len() / 2]) / 2.0
    };
    json!({ "median": median, "min": v.first().copied().unwrap_or(0.0), "max": v.last().copied().unwrap_or(0.0) })
}

fn median(v: &[f64]) -> f64 {
    spread(v)["median"].as_f64().unwrap_or(0.0)
}

/// Run a command to completion and measure it.
fn measure(mut cmd: Command, show_output: bool, stderr_file: &Path) -> Result<Measured, BenchError> {
    let err_file = std::fs::File::create(stderr_file)
        .map_err(|e| BenchError::Run(format!("cannot create {}: {e}", stderr_file.display())))?;
    cmd.stdin(Stdio::null()).stderr(err_file);
    if !show_output {
        cmd.stdout(Stdio::null());
    }
    let t = Instant::now();
    let child = cmd.spawn().map_err(|e| BenchError::Run(format!("cannot start {:?}: {e}", cmd.get_program())))?;
    let pid = child.id() as libc::pid_t;
    let mut status = 0;
    // SAFETY: zeroed is a valid rusage for wait4 to fill.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    loop {
        // SAFETY: waiting for our own child with valid out pointers. The `Child` is
        // dropped afterwards without waiting (dropping never waits or kills).
        let r = unsafe { libc::wait4(pid, &mut status, 0, &mut ru) };
        if r == pid {
            break;
        }
        let e = std::io::Error::last_os_error();
        if e.kind() != std::io::ErrorKind::Interrupted {
            return Err(BenchError::Run(format!("wait4: {e}")));
        }
    }
    let wall_ms = t.elapsed().as_secs_f64() * 1e3;
    drop(child);
    let tv = |t: libc::timeval| t.tv_sec as f64 * 1e3 + t.tv_usec as f64 / 1e3;
    let status = if libc::WIFEXITED(status) { libc::WEXITSTATUS(status) } else { 128 + libc::WTERMSIG(status) };
    Ok(Measured {
        wall_ms,
        user_ms: tv(ru.ru_utime),
        sys_ms: tv(ru.ru_stime),
        max_rss_kb: ru.ru_maxrss as u64,
        status,
        stats: None,
        counted: None,
    })
}

fn last_line(path: &Path) -> String {
    std::fs::read_to_string(path).ok().and_then(|s| s.lines().last().map(str::to_string)).unwrap_or_default()
}

/// The qemu-user executable for an ELF architecture name, if installed.
pub fn find_qemu(arch: &str) -> Option<PathBuf> {
    // mimic's architecture names are qemu-user's.
    let name = arch;
    let path = std::env::var_os("PATH")?;
    for cand in [format!("qemu-{name}-static"), format!("qemu-{name}")] {
        for dir in std::env::split_paths(&path) {
            let p = dir.join(&cand);
            if p.is_file() {
                return Some(p);
            }
        }
    }
    None
}

/// The results of `mimic bench run`.
pub struct RunReport {
    pub program: String,
    pub args: Vec<String>,
    pub arch: String,
    pub runs: Vec<Measured>,
    /// The comparison runner's name and runs.
    pub compare: Option<(String, Vec<Measured>)>,
}

/// Run the benchmark.
pub fn run(o: &Options, arch: &str, progress: &mut dyn FnMut(&str)) -> Result<RunReport, BenchError> {
    let dir = std::env::temp_dir().join(format!("mimic-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).map_err(|e| BenchError::Run(format!("cannot create {}: {e}", dir.display())))?;
    let stats_file = dir.join("stats.json");
    let err_file = dir.join("stderr");
    let result = (|| {
        let mut runs = Vec::new();
        let n = o.repeat.max(1);
        for i in 0..n {
            let mut pair = Vec::new();
            for counting in [false, true] {
                let what = if counting { "counting" } else { "timed" };
                progress(&format!("mimic run {}/{n} ({what})", i + 1));
                let _ = std::fs::remove_file(&stats_file);
                let mut cmd = Command::new(&o.mimic);
                cmd.arg("run").arg("--stats=json").arg("--stats-file").arg(&stats_file);
                if !counting {
                    cmd.arg("--no-counters");
                }
                if let Some(root) = &o.sysroot {
                    cmd.arg("-L").arg(root);
                }
                cmd.args(&o.mimic_args).arg("--").arg(&o.program).args(&o.args);
                let mut m = measure(cmd, o.show_output && !counting, &err_file)?;
                let text = std::fs::read_to_string(&stats_file).map_err(|_| {
                    BenchError::Run(format!(
                        "{}: mimic run failed (status {}): {}",
                        o.program.display(),
                        m.status,
                        last_line(&err_file)
                    ))
                })?;
                let v: Value = serde_json::from_str(&text)
                    .map_err(|e| BenchError::Run(format!("mimic wrote unreadable statistics: {e}")))?;
                m.stats = Some(v);
                pair.push(m);
            }
            let counted = pair.pop().expect("counting run");
            let mut timed = pair.pop().expect("timed run");
            timed.counted = Some(Box::new(counted));
            runs.push(timed);
        }
        let compare = match o.compare {
            None => None,
            Some(c) => {
                let (name, base) = match c {
                    Compare::Qemu => {
                        let q = find_qemu(arch).ok_or_else(|| {
                            BenchError::Run(format!(
                                "--compare qemu: no qemu-{arch}-static or qemu-{arch} on PATH (Debian: apt-get install qemu-user-static)"
                            ))
                        })?;
                        let mut cmd = Command::new(&q);
                        if let Some(root) = &o.sysroot {
                            cmd.arg("-L").arg(root);
                        }
                        (q.file_name().unwrap_or_default().to_string_lossy().into_owned(), cmd)
                    }
                    Compare::Native => {
                        if arch != std::env::consts::ARCH {
                            return Err(BenchError::Run(format!(
                                "--compare native: a {arch} program cannot run natively on this {} host",
                                std::env::consts::ARCH
                            )));
                        }
                        ("native".to_string(), Command::new(&o.program))
                    }
                };
                let mut out = Vec::new();
                for i in 0..o.repeat.max(1) {
                    progress(&format!("{name} run {}/{}", i + 1, o.repeat.max(1)));
                    let mut cmd = Command::new(base.get_program());
                    cmd.args(base.get_args());
                    if c == Compare::Qemu {
                        cmd.arg(&o.program);
                    }
                    cmd.args(&o.args);
                    out.push(measure(cmd, o.show_output, &err_file)?);
                }
                Some((name, out))
            }
        };
        Ok(RunReport {
            program: o.program.display().to_string(),
            args: o.args.clone(),
            arch: arch.to_string(),
            runs,
            compare,
        })
    })();
    let _ = std::fs::remove_dir_all(&dir);
    result
}

fn stat(m: &Measured, key: &str) -> f64 {
    m.stats.as_ref().and_then(|s| s[key].as_f64()).unwrap_or(0.0)
}

fn ratio(n: f64, d: f64) -> Option<f64> {
    (d > 0.0).then(|| n / d)
}

impl RunReport {
    fn wall(&self) -> Vec<f64> {
        self.runs.iter().map(|m| m.wall_ms).collect()
    }

    /// The `mimic-bench-run/1` document.
    pub fn to_json(&self) -> Value {
        let wall = self.wall();
        let counted: Vec<Measured> =
            self.runs.iter().map(|m| m.counted.as_deref().cloned().unwrap_or_default()).collect();
        let insns: Vec<u64> = counted.iter().map(|m| stat(m, "guest_insns_executed") as u64).collect();
        let last = self.runs.last().cloned().unwrap_or_default();
        let last_counted = counted.last().cloned().unwrap_or_default();
        let translate_us =
            ["decode_us", "lift_us", "optimize_us", "compile_us"].iter().map(|k| stat(&last, k)).sum::<f64>();
        let n = insns.last().copied().unwrap_or(0) as f64;
        let med_wall = median(&wall);
        let runs: Vec<Value> = self
            .runs
            .iter()
            .map(|m| {
                let c = m.counted.as_deref().cloned().unwrap_or_default();
                json!({
                    "wall_ms": m.wall_ms, "user_ms": m.user_ms, "sys_ms": m.sys_ms,
                    "max_rss_kb": m.max_rss_kb, "exit_status": m.status,
                    "guest_insns": stat(&c, "guest_insns_executed") as u64,
                    "counting_wall_ms": c.wall_ms,
                    "stats": m.stats.clone().unwrap_or(Value::Null),
                    "counting_stats": c.stats.clone().unwrap_or(Value::Null),
                })
            })
            .collect();
        let exits = stat(&last_counted, "jit_entries") + stat(&last_counted, "interp_executions");
        let counting_wall = median(&counted.iter().map(|m| m.wall_ms).collect::<Vec<_>>());
        let summary = json!({
            "wall_ms": spread(&wall),
            "user_ms": spread(&self.runs.iter().map(|m| m.user_ms).collect::<Vec<_>>()),
            "sys_ms": spread(&self.runs.iter().map(|m| m.sys_ms).collect::<Vec<_>>()),
            "guest_insns": insns.last().copied().unwrap_or(0),
            "guest_insns_same_every_run": insns.windows(2).all(|w| w[0] == w[1]),
            "guest_mips": ratio(n, med_wall * 1e3),
            "translation_share": ratio(translate_us / 1e3, last.wall_ms),
            "translation_ms": translate_us / 1e3,
            "regions_translated": stat(&last, "regions_translated") as u64,
            "regions_compiled": stat(&last, "regions_compiled") as u64,
            "dispatcher_exits_per_1k_insns": ratio(exits * 1e3, n),
            "chain_hit_rate": ratio(
                stat(&last_counted, "chain_hits"),
                stat(&last_counted, "chain_hits") + stat(&last_counted, "direct_misses")
            ),
            "lookup_hit_rate": ratio(
                stat(&last_counted, "lookup_hits"),
                stat(&last_counted, "lookup_hits") + stat(&last_counted, "lookup_misses")
            ),
            "counting_overhead": ratio(counting_wall, med_wall),
            "code_cache_bytes": stat(&last, "code_bytes") as u64,
            "peak_rss_kb": self.runs.iter().map(|m| m.max_rss_kb).max().unwrap_or(0),
        });
        let compare = self.compare.as_ref().map(|(name, runs)| {
            let w: Vec<f64> = runs.iter().map(|m| m.wall_ms).collect();
            json!({
                "runner": name,
                "wall_ms": spread(&w),
                "user_ms": spread(&runs.iter().map(|m| m.user_ms).collect::<Vec<_>>()),
                "sys_ms": spread(&runs.iter().map(|m| m.sys_ms).collect::<Vec<_>>()),
                "peak_rss_kb": runs.iter().map(|m| m.max_rss_kb).max().unwrap_or(0),
                "exit_status": runs.last().map(|m| m.status).unwrap_or(0),
                "speedup": ratio(median(&w), med_wall),
            })
        });
        json!({
            "schema": "mimic-bench-run/1",
            "program": self.program,
            "args": self.args,
            "arch": self.arch,
            "repeat": self.runs.len(),
            "runs": runs,
            "summary": summary,
            "compare": compare,
        })
    }

    pub fn to_text(&self) -> String {
        let j = self.to_json();
        let s = &j["summary"];
        let f = |v: &Value| v.as_f64().unwrap_or(f64::NAN);
        let mut t = String::new();
        let cmdline = std::iter::once(self.program.as_str()).chain(self.args.iter().map(String::as_str));
        let _ = writeln!(t, "{} ({}), {} run(s)", cmdline.collect::<Vec<_>>().join(" "), self.arch, self.runs.len());
        let _ = writeln!(
            t,
            "  wall {:.1} ms (min {:.1}, max {:.1}), user {:.1} ms, sys {:.1} ms (medians)",
            f(&s["wall_ms"]["median"]),
            f(&s["wall_ms"]["min"]),
            f(&s["wall_ms"]["max"]),
            f(&s["user_ms"]["median"]),
            f(&s["sys_ms"]["median"])
        );
        let _ = writeln!(
            t,
            "  guest insns {}{}, {:.1} MIPS",
            s["guest_insns"],
            if s["guest_insns_same_every_run"].as_bool() == Some(true) { "" } else { " (differs between runs)" },
            f(&s["guest_mips"])
        );
        let _ = writeln!(
            t,
            "  translation {:.1} ms ({:.1}% of wall), {} regions translated, {} compiled, {} bytes of host code",
            f(&s["translation_ms"]),
            100.0 * f(&s["translation_share"]),
            s["regions_translated"],
            s["regions_compiled"],
            s["code_cache_bytes"]
        );
        let pct = |v: &Value| v.as_f64().map(|x| format!("{:.2}%", 100.0 * x)).unwrap_or_else(|| "n/a".into());
        let _ = writeln!(
            t,
            "  dispatcher exits {:.4} per 1000 insns, chain hit rate {}, indirect lookup hit rate {}",
            f(&s["dispatcher_exits_per_1k_insns"]),
            pct(&s["chain_hit_rate"]),
            pct(&s["lookup_hit_rate"])
        );
        let _ = writeln!(
            t,
            "  peak RSS {:.1} MiB; the counting runs took {:.2}x the time",
            f(&s["peak_rss_kb"]) / 1024.0,
            f(&s["counting_overhead"])
        );
        if let Some(c) = j["compare"].as_object() {
            let _ = writeln!(
                t,
                "  {}: wall {:.1} ms, user {:.1} ms, peak RSS {:.1} MiB; mimic is {:.2}x its speed",
                c["runner"].as_str().unwrap_or("?"),
                f(&c["wall_ms"]["median"]),
                f(&c["user_ms"]["median"]),
                f(&c["peak_rss_kb"]) / 1024.0,
                f(&c["speedup"])
            );
            let mine = self.runs.last().map(|m| m.status).unwrap_or(0);
            if c["exit_status"].as_i64() != Some(mine as i64) {
                let _ = writeln!(t, "  warning: exit status differs: mimic {mine}, {}", c["exit_status"]);
            }
        }
        t
    }
}
