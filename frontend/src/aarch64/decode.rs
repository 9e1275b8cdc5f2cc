//! The A64 instances of the shared decode-table mechanism ([`crate::decode`]): patterns
//! in the ARM ARM's bit notation (bit 31 first) bound to A64 lifters.

use super::lift::LiftFn;

pub use crate::decode::{Fields, KEY_BITS};

/// One A64 instruction pattern.
pub type Pattern = crate::decode::Pattern<LiftFn>;
/// A compiled A64 pattern.
pub type Compiled = crate::decode::Compiled<LiftFn>;
/// The compiled A64 decode table.
pub type Decoder = crate::decode::Decoder<LiftFn>;
