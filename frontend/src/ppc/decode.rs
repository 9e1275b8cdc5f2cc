//! The PowerPC instances of the shared decode-table mechanism ([`crate::decode`]).

use super::lift::LiftFn;

pub use crate::decode::Fields;

/// One PowerPC instruction pattern.
pub type Pattern = crate::decode::Pattern<LiftFn>;
/// The compiled PowerPC decode table.
pub type Decoder = crate::decode::Decoder<LiftFn>;
