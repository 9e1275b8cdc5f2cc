use mimic_ir::*;
#[test]
fn probe() {
    let s = "state demo pc=pc {\n  pc: i64\n  x0: i64\n}\n";
    for body in [
        "brif v1, block1, block2(v0)",
        "brif v1, block1(v0), block2",
        "brif v1, block1, block2",
    ] {
        let (t1, t2) = if body.contains("block2(v0)") { ("", "(v2:i64)") } else if body.contains("block1(v0)") { ("(v2:i64)", "") } else { ("", "") };
        let text = format!("{s}region @0x0 state=demo insns=0 {{\nblock0:\n  v0:i64 = get_slot x0\n  v1:i1 = icmp eq v0, v0\n  {body}\nblock1{t1}:\n  exit_jump 0x4\nblock2{t2}:\n  exit_jump 0x8\n}}\n");
        match parse_module(&text, &[]) {
            Ok((_, r)) => println!("OK {body}\n{}", print(&r[0])),
            Err(e) => println!("ERR {body}: {e}"),
        }
    }
    let text = format!("{s}region @0x0 state=demo insns=0 {{\nblock0:\n  v0:i64 = load.u12.le v0\n  exit_jump 0x4\n}}\n");
    let (_, r) = parse_module(&text, &[]).unwrap();
    println!("{}", print(&r[0]));
}
