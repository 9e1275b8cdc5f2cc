//! Coverage of real code: reads `objdump -d` output on stdin and lists the A64
//! instructions mimic does not implement, by objdump mnemonic, most frequent first.
//!
//! `aarch64-linux-gnu-objdump -d PROG | cargo run -p mimic-frontend --example a64cov`

use std::collections::HashMap;
use std::io::BufRead;

fn main() {
    let mut missing: HashMap<String, (usize, String)> = HashMap::new();
    let (mut total, mut bad) = (0usize, 0usize);
    for line in std::io::stdin().lock().lines().map_while(Result::ok) {
        // "  400bf0:\td50b7b22 \tdc\tcvau, x2"
        let mut parts = line.split('\t');
        let (Some(addr), Some(word), Some(text)) = (parts.next(), parts.next(), parts.next()) else { continue };
        if !addr.trim_end().ends_with(':') {
            continue;
        }
        let Ok(w) = u32::from_str_radix(word.trim(), 16) else { continue };
        if word.trim().len() != 8 {
            continue;
        }
        total += 1;
        if mimic_frontend::aarch64::mnemonic(w).is_none() {
            bad += 1;
            let m = text.split_whitespace().next().unwrap_or("?").to_string();
            let operands = parts.next().unwrap_or("").to_string();
            let e = missing.entry(m).or_insert((0, format!("{w:08x} {text} {operands}")));
            e.0 += 1;
        }
    }
    let mut v: Vec<_> = missing.into_iter().collect();
    v.sort_by_key(|e| std::cmp::Reverse(e.1 .0));
    for (m, (n, ex)) in &v {
        println!("{n:7} {m:12} e.g. {ex}");
    }
    println!("{bad} of {total} instruction words unimplemented ({} mnemonics)", v.len());
}
