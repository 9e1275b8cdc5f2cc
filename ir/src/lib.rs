//! mimic's shared intermediate representation.
//!
//! Every guest ISA lifts into this IR; the reference interpreter ([`interp`]) defines
//! what each op means and the Cranelift backend is tested against it. The op table in
//! [`ops`] drives the opcode enum, the verifier, the printer and the parser.

pub mod builder;
pub mod helpers;
pub mod hostfp;
pub mod interp;
pub mod layout;
pub mod ops;
pub mod parse;
pub mod passes;
pub mod print;
pub mod region;
pub mod types;
pub mod verify;

pub use builder::Builder;
pub use helpers::{HelperEffects, HelperFn, HelperId, HelperInfo};
pub use interp::{Exit, FaultKind, FlatMemory, MemFault, Memory, RunControl};
pub use layout::{LayoutBuilder, SlotId, StateBuf, StateLayout};
pub use ops::*;
pub use parse::{parse_module, parse_region, ParseError};
pub use print::print;
pub use region::{BlockId, Imm, Inst, InstId, Region, Value, ValueDef};
pub use types::Type;
pub use verify::{verify, VerifyError};
