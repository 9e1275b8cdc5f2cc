//! `mimic bench` end to end: `translate` on the bundled AArch64 example (every stage
//! does work, the JSON follows its schema, regions add up, corrupted code shows up as
//! failures with reasons, the SVG plot is well-formed), `translate` on every PowerPC
//! target, and `run` (the same guest
//! instruction count every run, equal to qemu's own count where qemu is installed).

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;

mod common;
use common::mimic;

const EXAMPLE: &str = "examples/collatz-aarch64";

fn tmp_dir() -> PathBuf {
    let d = std::env::temp_dir().join(format!("mimic-bench-test-{}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn have(tool: &str) -> bool {
    Command::new(tool).arg("--version").output().is_ok_and(|o| o.status.success())
}

/// A validator for the JSON Schema keywords mimic's schemas use: type, enum, required,
/// properties, additionalProperties (false), items, minimum, maximum, $ref to $defs.
fn validate(schema: &Value, root: &Value, v: &Value, path: &str) -> Result<(), String> {
    if let Some(r) = schema.get("$ref").and_then(Value::as_str) {
        let name = r.strip_prefix("#/$defs/").ok_or_else(|| format!("unsupported $ref {r}"))?;
        return validate(&root["$defs"][name], root, v, path);
    }
    if let Some(t) = schema.get("type") {
        let types: Vec<&str> = match t {
            Value::String(s) => vec![s.as_str()],
            Value::Array(a) => a.iter().filter_map(Value::as_str).collect(),
            _ => return Err(format!("{path}: bad type in schema")),
        };
        let ok = types.iter().any(|t| match *t {
            "object" => v.is_object(),
            "array" => v.is_array(),
            "string" => v.is_string(),
            "boolean" => v.is_boolean(),
            "null" => v.is_null(),
            "integer" => v.is_u64() || v.is_i64(),
            "number" => v.is_number(),
            _ => false,
        });
        if !ok {
            return Err(format!("{path}: {v} is not of type {t}"));
        }
    }
    if let Some(e) = schema.get("enum").and_then(Value::as_array) {
        if !e.contains(v) {
            return Err(format!("{path}: {v} is not one of {e:?}"));
        }
    }
    if let (Some(min), Some(x)) = (schema.get("minimum").and_then(Value::as_f64), v.as_f64()) {
        if x < min {
            return Err(format!("{path}: {x} < minimum {min}"));
        }
    }
    if let (Some(max), Some(x)) = (schema.get("maximum").and_then(Value::as_f64), v.as_f64()) {
        if x > max {
            return Err(format!("{path}: {x} > maximum {max}"));
        }
    }
    if let Some(obj) = v.as_object() {
        for r in schema.get("required").and_then(Value::as_array).into_iter().flatten() {
            let k = r.as_str().unwrap();
            if !obj.contains_key(k) {
                return Err(format!("{path}: missing required key {k}"));
            }
        }
        let props = schema.get("properties").and_then(Value::as_object);
        for (k, val) in obj {
            match props.and_then(|p| p.get(k)) {
                Some(s) => validate(s, root, val, &format!("{path}.{k}"))?,
                None if schema.get("additionalProperties") == Some(&Value::Bool(false)) => {
                    return Err(format!("{path}: unexpected key {k}"))
                }
                None => {}
            }
        }
    }
    if let (Some(items), Some(arr)) = (schema.get("items"), v.as_array()) {
        for (i, x) in arr.iter().enumerate() {
            validate(items, root, x, &format!("{path}[{i}]"))?;
        }
    }
    Ok(())
}

fn schema(which: &str) -> Value {
    let (code, out, err) = mimic(&["bench", "schema", which]);
    assert_eq!(code, 0, "{err}");
    serde_json::from_str(&out).expect("schema is JSON")
}

fn check_schema(which: &str, doc: &Value) {
    let s = schema(which);
    validate(&s, &s, doc, "$").unwrap_or_else(|e| panic!("{which} JSON does not follow its schema: {e}\n{doc:#}"));
}

#[test]
fn the_validator_rejects_what_the_schema_forbids() {
    let s = schema("translate");
    let (code, out, err) = mimic(&["bench", "translate", "--json", "--tier", "interp", EXAMPLE]);
    assert_eq!(code, 0, "{err}");
    let good: Value = serde_json::from_str(&out).unwrap();
    assert!(validate(&s, &s, &good, "$").is_ok());
    let mut bad = good.clone();
    bad["regions"]["counted"] = Value::from(-1);
    assert!(validate(&s, &s, &bad, "$").is_err(), "negative count accepted");
    let mut bad = good.clone();
    bad.as_object_mut().unwrap().remove("tiers");
    assert!(validate(&s, &s, &bad, "$").is_err(), "missing key accepted");
    let mut bad = good;
    bad["tiers"][0]["stages"][0]["stage"] = Value::from("frobnicate");
    assert!(validate(&s, &s, &bad, "$").is_err(), "unknown stage accepted");
}

fn translate_json(program: &str, extra: &[&str]) -> Value {
    let mut args = vec!["bench", "translate", "--json"];
    args.extend_from_slice(extra);
    args.push(program);
    let (code, out, err) = mimic(&args);
    assert_eq!(code, 0, "{err}");
    let v: Value = serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}"));
    check_schema("translate", &v);
    v
}

fn counts_add_up(v: &Value) {
    let r = &v["regions"];
    let counted = r["counted"].as_u64().unwrap();
    assert_eq!(counted, r["translated"].as_u64().unwrap() + r["failed"].as_u64().unwrap(), "{r}");
    for t in v["tiers"].as_array().unwrap() {
        let (ok, failed) = (t["regions_translated"].as_u64().unwrap(), t["regions_failed"].as_u64().unwrap());
        assert_eq!(ok + failed, counted, "tier {}: {ok} + {failed} != {counted}", t["tier"]);
        let listed: u64 = t["failures"].as_array().unwrap().iter().map(|f| f["count"].as_u64().unwrap()).sum();
        assert_eq!(listed, failed, "every failure is listed by reason");
    }
}

#[test]
fn translate_reports_work_in_every_stage_of_every_tier() {
    let v = translate_json(EXAMPLE, &[]);
    assert_eq!(v["arch"], "aarch64");
    counts_add_up(&v);
    let tiers = v["tiers"].as_array().unwrap();
    let names: Vec<&str> = tiers.iter().map(|t| t["tier"].as_str().unwrap()).collect();
    assert_eq!(names, ["interp", "jit"]);
    for t in tiers {
        let stages: Vec<&str> = t["stages"].as_array().unwrap().iter().map(|s| s["stage"].as_str().unwrap()).collect();
        let want: &[&str] =
            if t["tier"] == "jit" { &["decode", "lift", "passes", "compile", "emit"] } else { &["decode", "lift"] };
        assert_eq!(stages, want);
        assert!(t["regions_translated"].as_u64().unwrap() >= 10, "{t}");
        assert!(t["guest_insns"].as_u64().unwrap() >= 60, "{t}");
        for s in t["stages"].as_array().unwrap().iter().chain([&t["total"]]) {
            for k in ["total_us", "insns_per_sec", "us_per_insn"] {
                assert!(s[k].as_f64().unwrap() > 0.0, "{} {}: {k} = {}", t["tier"], s["stage"], s[k]);
            }
            let d = &s["us_per_region"];
            let (m, p90, p99, max) = (
                d["median"].as_f64().unwrap(),
                d["p90"].as_f64().unwrap(),
                d["p99"].as_f64().unwrap(),
                d["max"].as_f64().unwrap(),
            );
            assert!(m > 0.0 && m <= p90 && p90 <= p99 && p99 <= max, "{d}");
        }
        assert!(t["ir_ops_per_insn_lifted"].as_f64().unwrap() > 1.0);
    }
    let jit = &tiers[1];
    assert!(jit["host_bytes_per_insn"].as_f64().unwrap() > 1.0);
    assert!(jit["ir_ops_per_insn_optimized"].as_f64().unwrap() > 0.5);
    assert!(v["peak_rss_kb"].as_u64().unwrap() > 0);
    // The example keeps its messages in .text: those words are listed as undecodable.
    let reasons: Vec<&str> =
        jit["failures"].as_array().unwrap().iter().map(|f| f["reason"].as_str().unwrap()).collect();
    assert!(reasons.iter().any(|r| r.contains("undecodable")), "{reasons:?}");
}

/// `bench translate` on the hello program built for every PowerPC target: the ELF's
/// ISA is recognised, the counts add up, and most of the code translates.
#[test]
fn translate_covers_every_powerpc_target() {
    let dir = tmp_dir();
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/guest/hello.c");
    for (gcc, arch) in [
        ("powerpc64le-linux-gnu-gcc", "ppc64le"),
        ("powerpc64-linux-gnu-gcc", "ppc64"),
        ("powerpc-linux-gnu-gcc", "ppc"),
    ] {
        if !have(gcc) {
            eprintln!("SKIP {arch}: needs {gcc}");
            assert!(std::env::var_os("MIMIC_REQUIRE_LINUX_USER").is_none(), "CI requires this test to run");
            continue;
        }
        let exe = dir.join(format!("hello-{arch}"));
        let st = Command::new(gcc).args(["-O2", "-static", "-o"]).arg(&exe).arg(&src).status().unwrap();
        assert!(st.success(), "{gcc} failed");
        // Every region through decode and lift; the first 300 through the JIT too (a
        // debug build of Cranelift would take minutes for all of them).
        let v = translate_json(exe.to_str().unwrap(), &["--tier", "interp"]);
        assert_eq!(v["arch"], arch);
        counts_add_up(&v);
        let done = v["tiers"][0]["regions_translated"].as_u64().unwrap();
        let failed = v["regions"]["failed"].as_u64().unwrap();
        assert!(done >= 10_000 && done > 4 * failed, "{arch}: {done} translated, {failed} failed");
        let v = translate_json(exe.to_str().unwrap(), &["--tier", "jit", "--max-regions", "300"]);
        assert_eq!(v["arch"], arch);
        counts_add_up(&v);
        let t = &v["tiers"][0];
        assert!(t["regions_translated"].as_u64().unwrap() >= 250, "{t}");
        assert!(t["guest_insns"].as_u64().unwrap() >= 1000, "{t}");
        assert!(t["host_bytes_per_insn"].as_f64().unwrap() > 1.0, "{t}");
    }
}

/// File offset of the ELF entry point (64-bit little-endian ELF, via its PT_LOADs).
fn entry_offset(elf: &[u8]) -> (u64, usize) {
    let u64_at = |o: usize| u64::from_le_bytes(elf[o..o + 8].try_into().unwrap());
    let u16_at = |o: usize| u16::from_le_bytes(elf[o..o + 2].try_into().unwrap()) as usize;
    let (entry, phoff, phnum) = (u64_at(24), u64_at(32) as usize, u16_at(56));
    for i in 0..phnum {
        let ph = phoff + i * 56;
        let (off, vaddr, filesz) = (u64_at(ph + 8), u64_at(ph + 16), u64_at(ph + 32));
        if u32::from_le_bytes(elf[ph..ph + 4].try_into().unwrap()) == 1 && entry >= vaddr && entry < vaddr + filesz {
            return (entry, (off + entry - vaddr) as usize);
        }
    }
    panic!("entry not in a PT_LOAD");
}

#[test]
fn corrupted_code_shows_up_as_failures_with_reasons() {
    let good = translate_json(EXAMPLE, &["--tier", "jit"]);
    let mut elf = std::fs::read(Path::new(env!("CARGO_MANIFEST_DIR")).join(EXAMPLE)).unwrap();
    let (entry, off) = entry_offset(&elf);
    // Zero the first 16 instructions (AArch64 has no instruction of all-zero bits).
    elf[off..off + 64].fill(0);
    let path = tmp_dir().join("collatz-corrupt");
    std::fs::write(&path, &elf).unwrap();
    let bad = translate_json(path.to_str().unwrap(), &["--tier", "jit"]);
    counts_add_up(&bad);
    let failed = |v: &Value| v["regions"]["failed"].as_u64().unwrap();
    assert!(failed(&bad) >= failed(&good) + 16, "good {} bad {}", good["regions"], bad["regions"]);
    let f = bad["tiers"][0]["failures"].as_array().unwrap();
    let zero = f.iter().find(|f| f["reason"].as_str().unwrap().contains("zero bytes")).expect("a zero-bytes reason");
    assert!(zero["count"].as_u64().unwrap() >= 16, "{zero}");
    let ex = zero["examples"][0].as_str().unwrap();
    assert_eq!(ex, format!("{entry:#x}:00000000"), "the first example is the entry point");
}

#[test]
fn translate_draws_an_svg_plot() {
    let path = tmp_dir().join("plot.svg");
    let (code, out, err) = mimic(&["bench", "translate", EXAMPLE, "--plot", path.to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("tier jit") && out.contains("compile"), "{out}");
    let svg = std::fs::read_to_string(&path).unwrap();
    // One command gives the table, the JSON (to a file) and the plot.
    let json = tmp_dir().join("t.json");
    let arg = format!("--json={}", json.display());
    let (code, out, err) = mimic(&["bench", "translate", EXAMPLE, &arg, "--plot", path.to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("tier jit"), "{out}");
    let doc: Value = serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    check_schema("translate", &doc);
    assert!(svg.starts_with("<svg") && svg.trim_end().ends_with("</svg>"), "not an SVG document");
    // Histogram bars plus one bar per stage of each tier (2 + 5).
    assert!(svg.matches("<rect").count() >= 8, "too few bars");
    for label in ["interp decode", "jit compile", "jit emit", "microseconds per region"] {
        assert!(svg.contains(label), "missing {label}");
    }
}

#[test]
fn translate_rejects_bad_input_with_one_line() {
    let dir = tmp_dir();
    let not_elf = dir.join("not-elf");
    std::fs::write(&not_elf, b"hello, world\n").unwrap();
    let missing = dir.join("does-not-exist");
    for p in [&not_elf, &missing] {
        let (code, out, err) = mimic(&["bench", "translate", p.to_str().unwrap()]);
        assert_eq!(code, 2, "{err}");
        assert!(out.is_empty());
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(err.starts_with("mimic: ") && !err.contains("panicked"), "{err}");
    }
    let (code, _, err) = mimic(&["bench", "run", "--compare", "native", EXAMPLE]);
    if std::env::consts::ARCH != "aarch64" {
        assert_eq!(code, 2);
        assert!(err.starts_with("mimic: ") && err.contains("natively"), "{err}");
    }
}

fn run_json(program: &str, repeat: &str) -> Value {
    let (code, out, err) = mimic(&["bench", "run", "--json", "--repeat", repeat, program]);
    assert_eq!(code, 0, "{err}");
    let v: Value = serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}"));
    check_schema("run", &v);
    v
}

#[test]
fn run_counts_the_same_guest_instructions_every_run() {
    let v = run_json(EXAMPLE, "3");
    let runs = v["runs"].as_array().unwrap();
    assert_eq!(runs.len(), 3);
    let counts: Vec<u64> = runs.iter().map(|r| r["guest_insns"].as_u64().unwrap()).collect();
    assert!(counts[0] > 100_000_000, "{counts:?}");
    assert!(counts.iter().all(|&c| c == counts[0]), "{counts:?}");
    let s = &v["summary"];
    assert_eq!(s["guest_insns_same_every_run"], true);
    assert!(s["guest_mips"].as_f64().unwrap() > 0.0);
    assert!(s["regions_compiled"].as_u64().unwrap() > 0);
    assert!(s["chain_hit_rate"].as_f64().unwrap() > 0.99, "the hot loop is chained: {s}");
    assert!(s["code_cache_bytes"].as_u64().unwrap() > 0);
    for r in runs {
        // Timed runs are not instrumented; the counting runs are.
        assert_eq!(r["stats"]["guest_insns_executed"], 0, "{r}");
        assert_eq!(r["counting_stats"]["guest_insns_executed"], r["guest_insns"]);
        assert!(r["counting_wall_ms"].as_f64().unwrap() > 0.0);
        assert_eq!(r["exit_status"], 0);
        assert!(r["wall_ms"].as_f64().unwrap() > 0.0 && r["max_rss_kb"].as_u64().unwrap() > 0);
    }
}

/// The example's code with its loop limit lowered, so qemu can trace every instruction.
fn small_collatz(dir: &Path) -> Option<PathBuf> {
    let src = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/collatz-aarch64.S")).ok()?;
    let src = src.replace("movz    x22, #0x4240", "movz    x22, #300").replace("movk    x22, #0xf, lsl #16", "nop");
    assert!(src.contains("#300") && src.contains("nop"), "the example's source changed: update this test");
    let (s, o, exe) = (dir.join("small.S"), dir.join("small.o"), dir.join("small-collatz"));
    std::fs::write(&s, src).unwrap();
    let ok = |c: &mut Command| c.status().is_ok_and(|s| s.success());
    if !ok(Command::new("aarch64-linux-gnu-as").arg("-o").arg(&o).arg(&s))
        || !ok(Command::new("aarch64-linux-gnu-ld").args(["-static", "-o"]).arg(&exe).arg(&o))
    {
        return None;
    }
    Some(exe)
}

#[test]
fn run_counts_as_many_guest_instructions_as_qemu_executes() {
    let dir = tmp_dir();
    if !have("aarch64-linux-gnu-as") || !have("qemu-aarch64-static") {
        eprintln!("SKIP: needs aarch64-linux-gnu-as/ld (binutils-aarch64-linux-gnu) and qemu-aarch64-static");
        assert!(std::env::var_os("MIMIC_REQUIRE_LINUX_USER").is_none(), "CI requires this test to run");
        return;
    }
    let exe = small_collatz(&dir).expect("assemble the small example");
    // qemu, one instruction per translation block and no chaining, logs one "Trace"
    // line per executed guest instruction.
    let log = dir.join("qemu.log");
    let out = Command::new("qemu-aarch64-static")
        .args(["-singlestep", "-d", "nochain,exec", "-D"])
        .arg(&log)
        .arg(&exe)
        .output()
        .unwrap();
    assert!(out.status.success());
    assert_eq!(String::from_utf8_lossy(&out.stdout), "collatz: 231 takes 127 steps\n");
    let qemu_count = std::fs::read_to_string(&log).unwrap().lines().filter(|l| l.starts_with("Trace")).count() as u64;
    assert!(qemu_count > 10_000, "{qemu_count}");
    let v = run_json(exe.to_str().unwrap(), "1");
    assert_eq!(v["summary"]["guest_insns"].as_u64().unwrap(), qemu_count);
}

#[test]
fn progress_shows_on_a_terminal_only() {
    // Not a terminal (these tests capture stderr): no progress line.
    let (code, _, err) = mimic(&["bench", "translate", "--tier", "interp", EXAMPLE]);
    assert_eq!(code, 0);
    assert!(!err.contains("translating"), "{err}");
    // Under a pseudo-terminal (util-linux `script`), the progress line appears.
    if !Command::new("script").arg("--version").output().is_ok_and(|o| o.status.success()) {
        eprintln!("SKIP: no `script` (util-linux) to provide a terminal");
        return;
    }
    let cmd = format!("{} bench translate --tier interp {EXAMPLE}", env!("CARGO_BIN_EXE_mimic"));
    let out = Command::new("script")
        .args(["-qec", &cmd, "/dev/null"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .unwrap();
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("translating: "), "{text}");
    assert!(text.contains("tier interp"), "{text}");
}
