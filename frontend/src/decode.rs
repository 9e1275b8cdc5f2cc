//! The decode-table mechanism shared by the fixed-width ISAs (AArch64, PowerPC), in the
//! style of QEMU's decodetree and Dynarmic's tables.
//!
//! Each instruction is one [`Pattern`]: its mnemonic, a 32-character string written most
//! significant bit first (the ARM ARM's bit 31 first; PowerPC's bit 0 first, so the string
//! reads like either manual's instruction layout) and the lifter it is bound to, of a type
//! `F` each ISA chooses. In the string `0` and `1` are
//! fixed bits, `x` is a don't-care bit and any ASCII letter names a field; a letter's bits
//! must be contiguous (case matters, so `N` and `n` are different fields). [`Decoder::new`]
//! compiles a table once into `(mask, value)` pairs plus field positions, and
//! [`Decoder::decode`] returns the *first* pattern in table order whose
//! `word & mask == value`. To avoid scanning the whole table per word, the decoder keeps,
//! for each value of the top [`KEY_BITS`] bits, the table-ordered list of patterns that can
//! match such a word; first-match semantics are unchanged. Where patterns overlap, the earlier one shadows part of the later
//! one; the table in `table.rs` documents every such overlap, and a unit test proves that
//! no pattern is fully shadowed.

/// One instruction of a decode table.
pub struct Pattern<F: 'static> {
    /// The base mnemonic (lower case, the manual's name for the encoding, not an alias).
    pub name: &'static str,
    /// The encoding in bit notation, most significant bit first.
    pub bits: &'static str,
    /// The lifter bound to the encoding.
    pub lift: F,
}

/// Position of a named field: least significant bit and width (0 = absent).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FieldPos {
    lsb: u8,
    width: u8,
}

/// A compiled pattern.
pub struct Compiled<F: 'static> {
    pub mask: u32,
    pub value: u32,
    pub pattern: &'static Pattern<F>,
    fields: [FieldPos; 52],
}

fn letter_index(c: u8) -> Option<usize> {
    match c {
        b'a'..=b'z' => Some((c - b'a') as usize),
        b'A'..=b'Z' => Some(26 + (c - b'A') as usize),
        _ => None,
    }
}

impl<F> Compiled<F> {
    /// Compile one pattern; an error names the pattern and the problem.
    pub fn new(pattern: &'static Pattern<F>) -> Result<Compiled<F>, String> {
        let bits = pattern.bits.as_bytes();
        if bits.len() != 32 {
            return Err(format!("{}: pattern `{}` has {} bits, not 32", pattern.name, pattern.bits, bits.len()));
        }
        let (mut mask, mut value) = (0u32, 0u32);
        let mut fields = [FieldPos::default(); 52];
        let mut last_seen = [usize::MAX; 52];
        for (i, &c) in bits.iter().enumerate() {
            let bit = 31 - i as u32;
            match c {
                b'0' => mask |= 1 << bit,
                b'1' => {
                    mask |= 1 << bit;
                    value |= 1 << bit;
                }
                b'x' => {}
                _ => {
                    let Some(k) = letter_index(c) else {
                        return Err(format!("{}: bad character `{}` in pattern", pattern.name, c as char));
                    };
                    if last_seen[k] != usize::MAX && last_seen[k] + 1 != i {
                        return Err(format!("{}: field `{}` is not contiguous", pattern.name, c as char));
                    }
                    last_seen[k] = i;
                    let f = &mut fields[k];
                    f.width += 1;
                    f.lsb = bit as u8;
                }
            }
        }
        Ok(Compiled { mask, value, pattern, fields })
    }
    pub fn matches(&self, word: u32) -> bool {
        word & self.mask == self.value
    }
    /// Whether the pattern has a field named `letter`.
    pub fn has_field(&self, letter: char) -> bool {
        letter_index(letter as u8).is_some_and(|k| self.fields[k].width > 0)
    }
}

/// The fields of one decoded instruction word.
#[derive(Clone, Copy)]
pub struct Fields<'t> {
    pub word: u32,
    name: &'static str,
    fields: &'t [FieldPos; 52],
    /// Index of the matched pattern in table order.
    pub index: usize,
}

impl Fields<'_> {
    /// The value of the field named `letter` (zero-extended). Panics if the pattern has no
    /// such field: that is a bug in the lifter bound to the pattern.
    pub fn get(&self, letter: char) -> u32 {
        let k = letter_index(letter as u8).expect("field names are letters");
        let f = self.fields[k];
        assert!(f.width > 0, "pattern {} has no field `{letter}`", self.name);
        (self.word >> f.lsb) & (((1u64 << f.width) - 1) as u32)
    }
    /// The field named `letter`, sign-extended from its width.
    pub fn signed(&self, letter: char) -> i64 {
        let k = letter_index(letter as u8).expect("field names are letters");
        let w = self.fields[k].width as u32;
        let v = self.get(letter) as i64;
        (v << (64 - w)) >> (64 - w)
    }
    /// Whether the pattern has a field named `letter`.
    pub fn has(&self, letter: char) -> bool {
        letter_index(letter as u8).is_some_and(|k| self.fields[k].width > 0)
    }
    /// A one-bit field as a bool.
    pub fn bit(&self, letter: char) -> bool {
        self.get(letter) != 0
    }
    pub fn name(&self) -> &'static str {
        self.name
    }
}

/// How many of the top bits of a word select its bucket of candidate patterns.
pub const KEY_BITS: u32 = 10;

/// A compiled decode table.
pub struct Decoder<F: 'static> {
    pub compiled: Vec<Compiled<F>>,
    /// For each key (the word's top [`KEY_BITS`] bits), the indexes in table order of the
    /// patterns whose fixed bits there agree with the key.
    buckets: Vec<Vec<u16>>,
}

impl<F> Decoder<F> {
    pub fn new(table: &'static [Pattern<F>]) -> Result<Decoder<F>, String> {
        let compiled: Vec<Compiled<F>> = table.iter().map(Compiled::new).collect::<Result<_, _>>()?;
        let shift = 32 - KEY_BITS;
        let buckets = (0..1u32 << KEY_BITS)
            .map(|key| {
                let probe = key << shift;
                let top = !0u32 << shift;
                (0..compiled.len())
                    .filter(|&i| (probe ^ compiled[i].value) & compiled[i].mask & top == 0)
                    .map(|i| i as u16)
                    .collect()
            })
            .collect();
        Ok(Decoder { compiled, buckets })
    }
    /// The first pattern (in table order) that matches `word`, with its fields.
    pub fn decode(&self, word: u32) -> Option<Fields<'_>> {
        let bucket = &self.buckets[(word >> (32 - KEY_BITS)) as usize];
        bucket.iter().map(|&i| i as usize).find(|&i| self.compiled[i].matches(word)).map(|index| {
            let c = &self.compiled[index];
            Fields { word, name: c.pattern.name, fields: &c.fields, index }
        })
    }
    /// The pattern that decoded `f`.
    pub fn pattern(&self, f: &Fields) -> &'static Pattern<F> {
        self.compiled[f.index].pattern
    }
    /// Index in table order of the pattern that decodes `word`, by a plain scan of the
    /// whole table (the reference the buckets are tested against).
    pub fn index_of(&self, word: u32) -> Option<usize> {
        self.compiled.iter().position(|c| c.matches(word))
    }
    /// Index of the pattern [`Decoder::decode`] picks.
    pub fn decode_index(&self, word: u32) -> Option<usize> {
        Some(self.decode(word)?.index)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOP: () = ();
    static T: &[Pattern<()>] = &[
        Pattern { name: "a", bits: "1111000000000000000000000000nnnn", lift: NOP },
        Pattern { name: "b", bits: "1111xxxxxxxxxxxxxxxxxxxxiiiinnnn", lift: NOP },
    ];

    #[test]
    fn fields_and_first_match() {
        let d = Decoder::new(T).unwrap();
        let f = d.decode(0xf000_0005).unwrap();
        assert_eq!((f.name(), f.get('n')), ("a", 5));
        let f = d.decode(0xf100_00f5).unwrap();
        assert_eq!((f.name(), f.get('n'), f.get('i'), f.signed('i')), ("b", 5, 0xf, -1));
        assert!(d.decode(0x0000_0000).is_none());
    }

    #[test]
    fn malformed_patterns_are_rejected() {
        static BAD: &[Pattern<()>] = &[
            Pattern { name: "short", bits: "0101", lift: NOP },
            Pattern { name: "split", bits: "nn00000000000000000000000000000n", lift: NOP },
            Pattern { name: "char", bits: "0000000000000000000000000000000?", lift: NOP },
        ];
        for p in BAD {
            assert!(Compiled::new(p).is_err(), "{}", p.name);
        }
    }
}
