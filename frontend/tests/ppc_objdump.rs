//! The PowerPC decoder against GNU objdump (`powerpc64le-linux-gnu-objdump` from
//! Debian's binutils-powerpc64le-linux-gnu), in ppc64le mode.
//!
//! Word sources, each disassembled by objdump (`-M power9`) and decoded by mimic:
//! - random words drawn from every pattern of mimic's table (its fixed bits, random free
//!   bits) and fully random words, as a raw binary;
//! - every instruction word of real binaries: Debian's busybox-static for ppc64el
//!   (fetched by `tests/guest/busybox.sh ppc64el`) and a static glibc program compiled
//!   from `tests/guest/hello.c` with `powerpc64le-linux-gnu-gcc -O2 -static`.
//!
//! For each word mimic decodes, objdump's mnemonic must be mimic's (with its `.`/`o`/`l`/
//! `a` suffixes) or one of objdump's aliases for it ([`ALIASES`] and the extended branch
//! and trap mnemonics). For the real binaries the words mimic leaves undecoded are counted
//! by objdump mnemonic and printed. Without objdump the test prints why and passes.
//!
//! Big-endian: the corpus programs `tests/guest/{hello,vector}.c`
//! compiled with `powerpc64-linux-gnu-gcc -O2 -static` (ppc64, ELFv1), disassembled by
//! `powerpc64-linux-gnu-objdump` and decoded by mimic in ppc64 mode; 32-bit PowerPC:
//! `tests/guest/{hello,intmath,fpmath}.c` with `powerpc-linux-gnu-gcc` and
//! `powerpc-linux-gnu-objdump`, decoded in 32-bit mode.

use mimic_frontend::ppc::{mnemonic, PpcMode};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

const OBJDUMP: &str = "powerpc64le-linux-gnu-objdump";
const GCC: &str = "powerpc64le-linux-gnu-gcc";
const MODE: PpcMode = PpcMode::PPC64LE;
const OBJDUMP_BE: &str = "powerpc64-linux-gnu-objdump";
const GCC_BE: &str = "powerpc64-linux-gnu-gcc";

/// objdump's simplified mnemonics and the instructions they stand for.
const ALIASES: &[(&str, &[&str])] = &[
    ("li", &["addi"]),
    ("la", &["addi"]),
    ("subi", &["addi"]),
    ("lis", &["addis"]),
    ("subis", &["addis"]),
    ("subic", &["addic"]),
    ("subic.", &["addic."]),
    ("nop", &["ori"]),
    ("xnop", &["xori"]),
    ("mr", &["or"]),
    ("mr.", &["or."]),
    ("not", &["nor"]),
    ("not.", &["nor."]),
    ("cmpwi", &["cmpi"]),
    ("cmpdi", &["cmpi"]),
    ("cmplwi", &["cmpli"]),
    ("cmpldi", &["cmpli"]),
    ("cmpw", &["cmp"]),
    ("cmpd", &["cmp"]),
    ("cmplw", &["cmpl"]),
    ("cmpld", &["cmpl"]),
    ("sub", &["subf"]),
    ("sub.", &["subf."]),
    ("subo", &["subfo"]),
    ("subo.", &["subfo."]),
    ("subc", &["subfc"]),
    ("subc.", &["subfc."]),
    ("subco", &["subfco"]),
    ("subco.", &["subfco."]),
    ("mtcr", &["mtcrf"]),
    ("lwsync", &["sync"]),
    ("hwsync", &["sync"]),
    ("ptesync", &["sync"]),
    ("crset", &["creqv"]),
    ("crclr", &["crxor"]),
    ("crmove", &["cror"]),
    ("crnot", &["crnor"]),
    ("xxmr", &["xxlor"]),
    ("xxlnot", &["xxlnor"]),
    ("xxspltd", &["xxpermdi"]),
    ("xxswapd", &["xxpermdi"]),
    ("xxmrghd", &["xxpermdi"]),
    ("xxmrgld", &["xxpermdi"]),
    ("mfvrd", &["mfvsrd"]),
    ("mffprd", &["mfvsrd"]),
    ("mtvrd", &["mtvsrd"]),
    ("mtfprd", &["mtvsrd"]),
    ("mfvrwz", &["mfvsrwz"]),
    ("mffprwz", &["mfvsrwz"]),
    ("mtvrwz", &["mtvsrwz"]),
    ("mtfprwz", &["mtvsrwz"]),
    ("mtvrwa", &["mtvsrwa"]),
    ("mtfprwa", &["mtvsrwa"]),
    ("mfvrld", &["mfvsrld"]),
    ("vmr", &["vor"]),
    ("vnot", &["vnor"]),
    ("dcbtct", &["dcbt"]),
    ("dcbtds", &["dcbt"]),
    ("dcbtt", &["dcbt"]),
    ("dcbtstct", &["dcbtst"]),
    ("dcbtstds", &["dcbtst"]),
    ("dcbtstt", &["dcbtst"]),
    ("dcbfl", &["dcbf"]),
    ("dcbflp", &["dcbf"]),
    ("dcbfps", &["dcbf"]),
    ("dcbstps", &["dcbf"]),
    ("mftb", &["mftb", "mfspr"]),
    ("mftbu", &["mftb", "mfspr"]),
];

/// Rotate and shift aliases (with or without the record dot).
const ROTATES: &[(&str, &[&str])] = &[
    ("rotlwi", &["rlwinm"]),
    ("rotrwi", &["rlwinm"]),
    ("rotlw", &["rlwnm"]),
    ("slwi", &["rlwinm"]),
    ("srwi", &["rlwinm"]),
    ("clrlwi", &["rlwinm"]),
    ("clrrwi", &["rlwinm"]),
    ("extlwi", &["rlwinm"]),
    ("extrwi", &["rlwinm"]),
    ("clrlslwi", &["rlwinm"]),
    ("inslwi", &["rlwimi"]),
    ("insrwi", &["rlwimi"]),
    ("rotldi", &["rldicl"]),
    ("rotrdi", &["rldicl"]),
    ("rotld", &["rldcl"]),
    ("srdi", &["rldicl"]),
    ("clrldi", &["rldicl"]),
    ("extrdi", &["rldicl"]),
    ("sldi", &["rldicr"]),
    ("clrrdi", &["rldicr"]),
    ("extldi", &["rldicr"]),
    ("clrlsldi", &["rldic"]),
    ("insrdi", &["rldimi"]),
];

/// Whether objdump's mnemonic `o` may name mimic's instruction `m` (full name).
fn allowed(m: &str, o: &str) -> bool {
    let o = o.trim_end_matches(['+', '-']);
    if m == o {
        return true;
    }
    if ALIASES.iter().any(|(a, bases)| *a == o && bases.contains(&m)) {
        return true;
    }
    let (od, md) = (o.trim_end_matches('.'), m.trim_end_matches('.'));
    if o.ends_with('.') == m.ends_with('.') && ROTATES.iter().any(|(a, bases)| *a == od && bases.contains(&md)) {
        return true;
    }
    // mfspr/mtspr of a named SPR: objdump says mflr, mtctr, mfxer, mfvrsave, ...
    if (m == "mfspr" && o.starts_with("mf")) || (m == "mtspr" && o.starts_with("mt")) {
        return true;
    }
    // Extended conditional-branch mnemonics (beq, bdnz, bgelr, bnectrl, ...).
    let branch = |suffix: &str| o.starts_with('b') && (o.ends_with(suffix) || o == "b");
    match m {
        "bc" => return o.starts_with('b') && !o.contains("lr") && !o.contains("ctr") && !o.ends_with('l'),
        "bcl" => return o.starts_with('b') && o.ends_with('l') && !o.contains("lr") && !o.contains("ctr"),
        "bca" => return o.starts_with('b') && o.ends_with('a') && !o.ends_with("la"),
        "bcla" => return o.starts_with('b') && o.ends_with("la"),
        "bclr" => return branch("lr"),
        "bclrl" => return branch("lrl"),
        "bcctr" => return branch("ctr"),
        "bcctrl" => return branch("ctrl"),
        "bctar" => return branch("tar"),
        "bctarl" => return branch("tarl"),
        _ => {}
    }
    // Trap mnemonics (tweq, tdlgti, trap, ...).
    if matches!(m, "tw" | "td" | "twi" | "tdi") {
        return o == "trap" || o.starts_with(&m[..2]);
    }
    // isel with a named condition (isellt, iselgt, iseleq).
    if m == "isel" && o.starts_with("isel") {
        return true;
    }
    false
}

fn tool(name: &str) -> bool {
    Command::new(name).arg("--version").output().is_ok_and(|o| o.status.success())
}

struct Scratch(PathBuf);
impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
fn scratch(test: &str) -> Scratch {
    let d = std::env::temp_dir().join(format!("mimic-ppc-objdump-{}-{test}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    Scratch(d)
}

/// (word, mnemonic) for every instruction line of objdump's output.
fn objdump(args: &[&str], file: &Path) -> Vec<(u32, String)> {
    objdump_with(OBJDUMP, args, file, false)
}

/// [`objdump`] with another objdump, for `big_endian` code or not.
fn objdump_with(tool: &str, args: &[&str], file: &Path, big_endian: bool) -> Vec<(u32, String)> {
    let out = Command::new(tool).args(args).arg(file).output().expect("run objdump");
    assert!(out.status.success(), "objdump failed: {}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8(out.stdout).unwrap();
    let mut v = Vec::new();
    for line in text.lines() {
        let parts: Vec<&str> = line.split('\t').collect();
        if parts.len() < 3 || !parts[0].trim_end().ends_with(':') {
            continue;
        }
        // The bytes in memory order as objdump prints them: "78 56 34 12" (little-endian).
        let bytes: Vec<u8> = parts[1].split_whitespace().filter_map(|b| u8::from_str_radix(b, 16).ok()).collect();
        if bytes.len() != 4 {
            continue;
        }
        let b = [bytes[0], bytes[1], bytes[2], bytes[3]];
        let word = if big_endian { u32::from_be_bytes(b) } else { u32::from_le_bytes(b) };
        // The mnemonic is the first token (objdump pads it with spaces before operands).
        let m = parts[2].split_whitespace().next().unwrap_or("").to_string();
        v.push((word, m));
    }
    v
}

/// Compare; returns (words, decoded, undecoded counts by objdump mnemonic).
fn compare(source: &str, lines: &[(u32, String)]) -> (usize, usize, BTreeMap<String, usize>) {
    compare_in(MODE, source, lines)
}

fn compare_in(mode: PpcMode, source: &str, lines: &[(u32, String)]) -> (usize, usize, BTreeMap<String, usize>) {
    let mut errors = Vec::new();
    let mut decoded = 0;
    let mut undecoded: BTreeMap<String, usize> = BTreeMap::new();
    for (word, o) in lines {
        match mnemonic(mode, *word) {
            Some(m) => {
                decoded += 1;
                if !allowed(&m, o) {
                    errors.push(format!("{word:08x}: mimic `{m}`, objdump `{o}`"));
                }
            }
            None => *undecoded.entry(o.clone()).or_default() += 1,
        }
    }
    errors.sort();
    errors.dedup();
    // One example per (mimic, objdump) pair keeps the report readable.
    let mut pairs: BTreeMap<String, (usize, String)> = BTreeMap::new();
    for e in &errors {
        let key = e.split_once(": ").map_or(e.as_str(), |x| x.1).to_string();
        let entry = pairs.entry(key).or_insert((0, e.clone()));
        entry.0 += 1;
    }
    let shown: Vec<String> = pairs.values().map(|(n, e)| format!("{e} ({n}x)")).collect();
    assert!(errors.is_empty(), "{source}: {} mismatches:\n{}", errors.len(), shown.join("\n"));
    eprintln!("{source}: {} words, {decoded} decoded by mimic, all agree with objdump", lines.len());
    (lines.len(), decoded, undecoded)
}

struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u32 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 >> 16) as u32
    }
}

#[test]
fn random_and_pattern_words_match_objdump() {
    if !tool(OBJDUMP) {
        eprintln!("SKIP: {OBJDUMP} not found (apt-get install binutils-powerpc64le-linux-gnu)");
        return;
    }
    let d = mimic_frontend::ppc::decoder();
    let mut rng = Rng(0x2545_f491_4f6c_dd1d);
    let mut words = Vec::new();
    for c in &d.compiled {
        for _ in 0..200 {
            words.push(c.value | (rng.next() & !c.mask));
        }
    }
    for _ in 0..30_000 {
        // Primary opcode 1 is the prefix of 8-byte instructions: keep the stream 4-byte.
        let w = rng.next();
        words.push(if w >> 26 == 1 { w ^ 1 << 27 } else { w });
    }
    let dir = scratch("random");
    let bin = dir.0.join("words.bin");
    std::fs::write(&bin, words.iter().flat_map(|w| w.to_le_bytes()).collect::<Vec<u8>>()).unwrap();
    let lines = objdump(&["-D", "-b", "binary", "-m", "powerpc:common64", "-EL", "-M", "power9"], &bin);
    assert_eq!(lines.len(), words.len(), "objdump printed one line per word");
    for ((w, _), want) in lines.iter().zip(&words) {
        assert_eq!(w, want);
    }
    let (_, decoded, _) = compare("random words", &lines);
    assert!(decoded > d.compiled.len() * 100, "most pattern words decode ({decoded})");
}

/// Every instruction word of the text of `file`.
fn binary_words(file: &Path) -> Vec<(u32, String)> {
    objdump(&["-d", "-M", "power9"], file)
}

fn report(source: &str, lines: &[(u32, String)]) {
    report_in(MODE, source, lines)
}

fn report_in(mode: PpcMode, source: &str, lines: &[(u32, String)]) {
    let (n, decoded, undecoded) = compare_in(mode, source, lines);
    let mut by_count: Vec<_> = undecoded.into_iter().collect();
    by_count.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    let list: Vec<String> = by_count.iter().map(|(m, c)| format!("{m} {c}")).collect();
    eprintln!("{source}: {n} words checked, {decoded} decoded, {} undecoded: {}", n - decoded, list.join(", "));
}

#[test]
fn real_binaries_match_objdump() {
    if !tool(OBJDUMP) {
        eprintln!("SKIP: {OBJDUMP} not found (apt-get install binutils-powerpc64le-linux-gnu)");
        return;
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let out = Command::new(root.join("tests/guest/busybox.sh")).arg("ppc64el").output();
    match out {
        Ok(o) if o.status.success() => {
            let path = String::from_utf8_lossy(&o.stdout).trim().lines().last().unwrap_or("").to_string();
            report("busybox-static (ppc64el)", &binary_words(Path::new(&path)));
        }
        _ => eprintln!("SKIP: busybox-static:ppc64el could not be fetched (tests/guest/busybox.sh ppc64el)"),
    }
    if tool(GCC) {
        let dir = scratch("hello");
        let exe = dir.0.join("hello");
        let st = Command::new(GCC)
            .args(["-O2", "-static", "-I"])
            .arg(root.join("tests/guest"))
            .arg("-o")
            .arg(&exe)
            .arg(root.join("tests/guest/hello.c"))
            .status()
            .expect("run gcc");
        assert!(st.success(), "{GCC} failed");
        report("hello -O2 -static (glibc)", &binary_words(&exe));
    } else {
        eprintln!("SKIP: {GCC} not found (apt-get install gcc-powerpc64le-linux-gnu)");
    }
}

/// Build each of `progs` with `gcc -O2 -static` (glibc included), list it with
/// `objdump` and `dump_args`, and check every word mimic decodes in `mode` against it.
fn corpus_matches(
    gcc: &str,
    objdump: &str,
    packages: &str,
    dump_args: &[&str],
    mode: PpcMode,
    what: &str,
    progs: &[&str],
) {
    if !tool(objdump) || !tool(gcc) {
        eprintln!("SKIP: {objdump} or {gcc} not found (apt-get install {packages})");
        return;
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let dir = scratch(what);
    for prog in progs {
        let exe = dir.0.join(prog);
        let st = Command::new(gcc)
            .args(["-O2", "-static", "-ffp-contract=off", "-I"])
            .arg(root.join("tests/guest"))
            .arg("-o")
            .arg(&exe)
            .arg(root.join(format!("tests/guest/{prog}.c")))
            .arg("-lm")
            .status()
            .expect("run gcc");
        assert!(st.success(), "{gcc} failed on {prog}.c");
        let lines = objdump_with(objdump, dump_args, &exe, true);
        assert!(lines.len() > 10_000, "{prog}: objdump listed {} words", lines.len());
        report_in(mode, &format!("{prog} -O2 -static ({what}, glibc)"), &lines);
    }
}

#[test]
fn big_endian_corpus_matches_objdump() {
    corpus_matches(
        GCC_BE,
        OBJDUMP_BE,
        "binutils-powerpc64-linux-gnu gcc-powerpc64-linux-gnu",
        &["-d", "-M", "power9"],
        PpcMode::PPC64,
        "ppc64 big-endian",
        &["hello", "vector"],
    );
}

const OBJDUMP_32: &str = "powerpc-linux-gnu-objdump";
const GCC_32: &str = "powerpc-linux-gnu-gcc";

/// 32-bit PowerPC: objdump's default 32-bit dialect prints the old `y` prediction bit
/// as `+`/`-`; mimic decodes in 32-bit mode.
#[test]
fn ppc32_corpus_matches_objdump() {
    corpus_matches(
        GCC_32,
        OBJDUMP_32,
        "binutils-powerpc-linux-gnu gcc-powerpc-linux-gnu",
        &["-d"],
        PpcMode::PPC32,
        "ppc32",
        &["hello", "intmath", "fpmath"],
    );
}
