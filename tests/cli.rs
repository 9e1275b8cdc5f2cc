//! End-to-end tests of the `mimic` binary.

mod common;
use common::mimic;

/// Collatz stopping times computed directly in Rust (the reference for the example).
fn collatz(limit: u64) -> (u64, u64) {
    let (mut total, mut max) = (0, 0);
    for n in 1..limit {
        let (mut x, mut steps) = (n, 0u64);
        while x != 1 {
            x = if x % 2 == 0 { x / 2 } else { 3 * x + 1 };
            steps += 1;
        }
        total += steps;
        max = max.max(steps);
    }
    (total, max)
}

fn slot(stdout: &str, name: &str) -> u64 {
    let line = stdout
        .lines()
        .find(|l| l.split_whitespace().next() == Some(name))
        .unwrap_or_else(|| panic!("no {name} in {stdout}"));
    let v = line.split('(').nth(1).unwrap().trim_end_matches(')');
    v.parse().unwrap()
}

#[test]
fn bundled_example_gives_the_same_answer_in_every_tier() {
    let (total, max) = collatz(3000);
    for tier in ["interp", "jit", "auto"] {
        let (code, out, err) = mimic(&["ir", "run", "examples/collatz.mir", "--tier", tier, "--set", "limit=3000"]);
        assert_eq!(code, 0, "{tier}: {err}");
        assert_eq!(slot(&out, "total"), total, "{tier}");
        assert_eq!(slot(&out, "maxsteps"), max, "{tier}");
    }
}

#[test]
fn stats_json_parses_and_shows_chaining() {
    let (code, _, err) = mimic(&["ir", "run", "examples/collatz.mir", "--set", "limit=2000", "--stats=json"]);
    assert_eq!(code, 0, "{err}");
    let v: serde_json::Value = serde_json::from_str(&err).expect("stats JSON");
    assert_eq!(v["schema"], "mimic-stats/2");
    assert_eq!(v["regions_translated"], 4);
    assert!(v["regions_compiled"].as_u64().unwrap() >= 3);
    assert!(v["chain_hits"].as_u64().unwrap() > 1000, "{v}");
    assert!(v["lookup_hits"].as_u64().unwrap() > 1000, "{v}");
    assert!(v["interp_executions"].as_u64().unwrap() > 0, "{v}");
    let (code, _, err) = mimic(&["ir", "run", "examples/collatz.mir", "--set", "limit=50", "--stats"]);
    assert_eq!(code, 0);
    assert!(err.contains("regions translated") && err.contains("chains linked"), "{err}");
}

fn write_tmp(name: &str, text: &str) -> String {
    let dir = std::env::temp_dir().join(format!("mimic-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p.to_string_lossy().into_owned()
}

fn assert_one_line_error(args: &[&str], code: i32, needle: &str) {
    let (c, out, err) = mimic(args);
    assert_eq!(c, code, "{args:?}: {err}");
    assert!(out.is_empty(), "{args:?} printed {out}");
    assert_eq!(err.lines().count(), 1, "{args:?}: not one line: {err}");
    assert!(err.starts_with("mimic: ") && err.contains(needle), "{args:?}: {err}");
    assert!(!err.contains("panicked"), "{err}");
}

#[test]
fn bad_input_gets_one_clear_line() {
    assert_one_line_error(&["ir", "run", "/nonexistent.mir"], 2, "cannot read /nonexistent.mir");
    let p = write_tmp("bad_op.mir", "state s pc=pc {\n pc: i64\n}\nregion @0x0 state=s insns=0 {\nblock0:\n  v0:i64 = frobnicate\n  exit_jump 0x4\n}\n");
    assert_one_line_error(&["ir", "run", &p], 2, "line 6: unknown op `frobnicate`");
    let p = write_tmp("bad_ty.mir", "state s pc=pc {\n pc: i64\n}\nregion @0x0 state=s insns=0 {\nblock0:\n  v0:i32 = get_slot pc\n  exit_jump 0x4\n}\n");
    assert_one_line_error(&["ir", "check", &p], 2, "slot pc has type i64");
    assert_one_line_error(&["ir", "run", "examples/collatz.mir", "--set", "nosuch=1"], 2, "has no slot `nosuch`");
    assert_one_line_error(&["ir", "run", "examples/collatz.mir", "--set", "limit=12z"], 2, "is not a number");
    let p = write_tmp("empty.mir", "// nothing\n");
    assert_one_line_error(&["ir", "run", &p], 2, "no regions");
}

#[test]
fn guest_faults_and_traps_are_reported_with_their_pc() {
    let prog = "state s pc=pc {\n pc: i64\n a: i64\n}\nregion @0x40 state=s insns=1 {\nblock0:\n  insn 0x44\n  v0:i64 = iconst 0xdead00000000\n  v1:i64 = load.u64.le v0\n  set_slot a, v1\n  exit_syscall 0x48\n}\n";
    let p = write_tmp("fault.mir", prog);
    assert_one_line_error(&["ir", "run", &p, "--tier", "interp"], 3, "read of 0xdead00000000 (Unmapped) at pc 0x44");
    // In compiled code the host fault becomes a guest fault at the same pc. This flat
    // memory puts the address outside the host's address space, where the hardware
    // does not report it.
    assert_one_line_error(
        &["ir", "run", &p, "--tier", "jit"],
        3,
        "read of an address outside the host address space at pc 0x44",
    );
    let near = prog.replace("0xdead00000000", "0x10000000");
    let p = write_tmp("fault_near.mir", &near);
    assert_one_line_error(&["ir", "run", &p, "--tier", "interp"], 3, "read of 0x10000000 (Unmapped) at pc 0x44");
    let trap = "state s pc=pc {\n pc: i64\n}\nregion @0x40 state=s insns=1 {\nblock0:\n  insn 0x40\n  exit_trap illegal 0x40\n}\n";
    let p = write_tmp("trap.mir", trap);
    for tier in ["interp", "jit"] {
        assert_one_line_error(&["ir", "run", &p, "--tier", tier], 3, "guest trap `illegal` at pc 0x40");
    }
}

#[test]
fn opt_prints_optimised_ir_that_parses_again() {
    let (code, out, err) = mimic(&["ir", "opt", "examples/collatz.mir"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("region @0x300"));
    // Optimised output plus the state declaration is a valid program again.
    let (_, decl, _) = (0, std::fs::read_to_string("examples/collatz.mir").unwrap(), 0);
    let state: String = decl
        .lines()
        .skip_while(|l| !l.starts_with("state"))
        .take_while(|l| !l.starts_with("region"))
        .collect::<Vec<_>>()
        .join("\n");
    let p = write_tmp("reopt.mir", &format!("{state}\n{out}"));
    let (code, out2, err) = mimic(&["ir", "run", &p, "--set", "limit=100"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(slot(&out2, "total"), collatz(100).0);
}
