//! Unit tests of the PowerPC decode table (reachability, documented overlaps, bucketed
//! lookup) and of every lifter (it lifts sample words into IR that verifies and
//! round-trips), plus the ISA's MASK function. Semantics are tested against qemu in
//! `frontend/tests/ppc_lift.rs`.

use super::*;

/// Every pattern decodes some word: it is not fully shadowed by earlier patterns.
#[test]
fn every_pattern_is_reachable() {
    let d = decoder();
    let mut seed = 0x9e37_79b9_7f4a_7c15u64;
    for (i, c) in d.compiled.iter().enumerate() {
        let free = !c.mask;
        let mut candidates = vec![c.value, c.value | free];
        for _ in 0..20_000 {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            candidates.push(c.value | (seed as u32 & free));
        }
        let hit = candidates.iter().find(|&&w| d.index_of(w) == Some(i));
        assert!(hit.is_some(), "pattern {i} `{}` {} is shadowed", c.pattern.name, c.pattern.bits);
    }
}

/// The overlapping pattern pairs are exactly the documented ones.
#[test]
fn overlaps_are_documented() {
    let c = &decoder().compiled;
    let mut found = Vec::new();
    for (i, a) in c.iter().enumerate() {
        for b in &c[i + 1..] {
            if (a.value ^ b.value) & a.mask & b.mask == 0 {
                found.push((a.pattern.bits, b.pattern.bits));
            }
        }
    }
    assert_eq!(found, table::OVERLAPS);
}

/// Every pattern's lifter runs on sample words without panicking and gives a region
/// that verifies, in every mode.
#[test]
fn every_lifter_lifts_and_verifies() {
    let mut seed = 0x1234_5678_9abc_def1u64;
    for mode in [PpcMode::PPC64LE, PpcMode::PPC64, PpcMode::PPC32] {
        let fe = Ppc::new(mode);
        for c in &decoder().compiled {
            for k in 0..32 {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                let w = c.value | (seed as u32 & !c.mask);
                let region = fe.lift_words(0x40_0000 + 4 * k, &[w, 0x6000_0000]);
                if let Err(e) = verify(&region) {
                    panic!("{} {w:08x}: {e}\n{}", c.pattern.name, print(&region));
                }
                let text = print(&region);
                let back = parse_region(&text, &region.layout).unwrap_or_else(|e| panic!("{e}\n{text}"));
                assert_eq!(print(&back), text);
            }
        }
    }
}

#[test]
fn buckets_agree_with_a_full_scan() {
    let d = decoder();
    let mut seed = 0xdead_beef_cafe_f00du64;
    let mut words: Vec<u32> = d.compiled.iter().flat_map(|c| [c.value, c.value | !c.mask]).collect();
    for _ in 0..100_000 {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        words.push((seed >> 11) as u32);
    }
    for w in words {
        assert_eq!(d.decode_index(w), d.index_of(w), "{w:08x}");
    }
}

#[test]
fn table_compiles_and_names_are_lower_case() {
    assert_eq!(decoder().compiled.len(), table::PPC.len());
    for p in table::PPC {
        assert_eq!(p.name, p.name.to_lowercase());
    }
}

#[test]
fn masks() {
    use lift::mask64;
    assert_eq!(mask64(0, 63), u64::MAX);
    assert_eq!(mask64(32, 63), 0xffff_ffff);
    assert_eq!(mask64(63, 0), 0x8000_0000_0000_0001);
    assert_eq!(mask64(48, 55), 0xff00);
}
