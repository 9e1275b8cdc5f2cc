//! A "frontend" that serves hand-written IR regions from a text module, keyed by their
//! entry pc. `mimic ir run` uses it to run IR programs through the real engine
//! (tiering, chaining, lookup) before any guest ISA exists, and tests use it to
//! exercise the engine with IR written by hand.

use mimic_frontend::{Fetch, Frontend, Lifted, TranslateError};
use mimic_ir::{parse_module, verify, ParseError, Region, StateLayout, VerifyError};
use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

/// Errors loading an IR program.
#[derive(Debug)]
pub enum IrProgramError {
    Parse(ParseError),
    Verify { pc: u64, error: VerifyError },
    NoState,
    NoRegions,
    DuplicateRegion(u64),
    MixedStates(String, String),
}

impl fmt::Display for IrProgramError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            IrProgramError::Parse(e) => write!(f, "{e}"),
            IrProgramError::Verify { pc, error } => write!(f, "region @{pc:#x} is invalid: {error}"),
            IrProgramError::NoState => write!(f, "the program declares no `state` layout"),
            IrProgramError::NoRegions => write!(f, "the program has no regions"),
            IrProgramError::DuplicateRegion(pc) => write!(f, "two regions start at {pc:#x}"),
            IrProgramError::MixedStates(a, b) => write!(f, "regions use different state layouts ({a} and {b})"),
        }
    }
}
impl std::error::Error for IrProgramError {}

pub struct IrProgram {
    layout: Arc<StateLayout>,
    regions: HashMap<u64, Region>,
    /// Entry pc of the first region in the file.
    pub entry: u64,
}

impl IrProgram {
    pub fn parse(text: &str) -> Result<IrProgram, IrProgramError> {
        let (layouts, regions) = parse_module(text, &[]).map_err(IrProgramError::Parse)?;
        let first = regions.first().ok_or(IrProgramError::NoRegions)?;
        let layout = layouts.iter().find(|l| l.name == first.layout.name).cloned().ok_or(IrProgramError::NoState)?;
        let entry = first.entry_pc;
        let mut map = HashMap::new();
        for r in regions {
            if r.layout.name != layout.name {
                return Err(IrProgramError::MixedStates(layout.name.clone(), r.layout.name.clone()));
            }
            verify(&r).map_err(|error| IrProgramError::Verify { pc: r.entry_pc, error })?;
            let pc = r.entry_pc;
            if map.insert(pc, r).is_some() {
                return Err(IrProgramError::DuplicateRegion(pc));
            }
        }
        Ok(IrProgram { layout, regions: map, entry })
    }
    pub fn regions(&self) -> impl Iterator<Item = &Region> {
        self.regions.values()
    }
}

impl Frontend for IrProgram {
    fn name(&self) -> &str {
        "ir"
    }
    fn layout(&self) -> Arc<StateLayout> {
        self.layout.clone()
    }
    fn translate(&mut self, pc: u64, _fetch: &mut Fetch<'_>) -> Result<Lifted, TranslateError> {
        let region = self.regions.get(&pc).cloned().ok_or(TranslateError::NoCode { pc })?;
        Ok(Lifted { region, guest_bytes: pc..pc + 1, decode_time: Duration::ZERO, lift_time: Duration::ZERO })
    }
}
