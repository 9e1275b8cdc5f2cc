//! Guest ISA frontends. Each ISA decodes guest bytes and lifts them into the shared IR
//! behind the [`Frontend`] trait; the engine knows nothing ISA-specific.
//!
//! [`toy`] is a deliberately tiny test ISA used to exercise the engine (chaining,
//! indirect lookup, invalidation, tiering) without a real ISA's bulk.

pub mod aarch64;
pub mod decode;
pub mod ppc;
pub mod toy;

use mimic_ir::{MemFault, Region, StateLayout};
use std::fmt;
use std::ops::Range;
use std::sync::Arc;
use std::time::Duration;

/// Reads guest code bytes for the decoder.
pub type Fetch<'a> = dyn FnMut(u64, &mut [u8]) -> Result<(), MemFault> + 'a;

/// A lifted region and what it took.
#[derive(Debug)]
pub struct Lifted {
    pub region: Region,
    /// Guest bytes the region was decoded from (for invalidation).
    pub guest_bytes: Range<u64>,
    pub decode_time: Duration,
    pub lift_time: Duration,
}

/// Why a region could not be translated. Undecodable instructions are not errors:
/// they lift to `exit_trap illegal` so the guest sees SIGILL where hardware would.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TranslateError {
    /// The code at `addr` cannot be read (the guest jumped to unmapped memory).
    Fetch { addr: u64 },
    /// No region starts at this pc (for frontends serving fixed regions).
    NoCode { pc: u64 },
}

impl fmt::Display for TranslateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TranslateError::Fetch { addr } => write!(f, "cannot fetch guest code at {addr:#x}"),
            TranslateError::NoCode { pc } => write!(f, "no guest code at {pc:#x}"),
        }
    }
}
impl std::error::Error for TranslateError {}

/// A guest ISA (in one mode).
pub trait Frontend {
    fn name(&self) -> &str;
    fn layout(&self) -> Arc<StateLayout>;
    /// Decode and lift the region entered at `pc`.
    fn translate(&mut self, pc: u64, fetch: &mut Fetch<'_>) -> Result<Lifted, TranslateError>;
    /// The size of every instruction, for fixed-width ISAs (`None`: variable).
    fn fixed_insn_size(&self) -> Option<u64> {
        None
    }
    /// One line per guest instruction of `region` (for `--trace in_asm`).
    fn disassemble(&self, region: &Region, _fetch: &mut Fetch<'_>) -> Vec<String> {
        vec![format!("{} guest instructions at {:#x}", region.guest_insns, region.entry_pc)]
    }
}
