//! Named helpers: the one fixed ABI for rare or intricate semantics.
//!
//! A helper is `extern "C" fn(state, a0, a1, a2, a3) -> u64`: a pointer to the guest
//! state buffer and up to four arguments, each an integer of at most 64 bits
//! (zero-extended) or a float's bits. The result, if any, is returned the same way.
//! Helpers live in one process-wide, append-only registry so that the text form can
//! name them (`call @name(...)`) and every tier calls the same function.

use crate::Type;
use std::sync::{OnceLock, RwLock};

/// The helper function ABI.
pub type HelperFn = unsafe extern "C" fn(*mut u8, u64, u64, u64, u64) -> u64;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct HelperId(pub u32);

/// What a helper may touch; passes use this to keep state forwarding correct.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HelperEffects {
    /// Depends only on its arguments.
    Pure,
    /// Reads the state buffer but does not write it.
    ReadsState,
    /// May read and write the state buffer.
    WritesState,
}

#[derive(Clone, Debug)]
pub struct HelperInfo {
    pub name: String,
    pub func: HelperFn,
    pub params: Vec<Type>,
    pub ret: Option<Type>,
    pub effects: HelperEffects,
}

/// Errors registering a helper.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HelperError {
    TooManyParams(String),
    BadType(String, Type),
    Conflict(String),
}

impl std::fmt::Display for HelperError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            HelperError::TooManyParams(n) => write!(f, "helper @{n} has more than 4 parameters"),
            HelperError::BadType(n, t) => {
                write!(f, "helper @{n}: type {t} cannot cross the helper ABI (ints <= 64 bits, f32, f64)")
            }
            HelperError::Conflict(n) => {
                write!(f, "helper @{n} is already registered with a different signature")
            }
        }
    }
}
impl std::error::Error for HelperError {}

/// Registered helpers live for the whole process (they are few and registered once),
/// so lookups hand out `&'static` references without cloning.
fn registry() -> &'static RwLock<Vec<&'static HelperInfo>> {
    static R: OnceLock<RwLock<Vec<&'static HelperInfo>>> = OnceLock::new();
    R.get_or_init(|| RwLock::new(Vec::new()))
}

fn abi_type_ok(t: Type) -> bool {
    !matches!(t, Type::I128 | Type::V128)
}

/// Register a helper (idempotent for the same name and signature) and return its id.
pub fn register(info: HelperInfo) -> Result<HelperId, HelperError> {
    if info.params.len() > 4 {
        return Err(HelperError::TooManyParams(info.name));
    }
    for &t in info.params.iter().chain(info.ret.iter()) {
        if !abi_type_ok(t) {
            return Err(HelperError::BadType(info.name, t));
        }
    }
    let mut r = registry().write().unwrap_or_else(|e| e.into_inner());
    if let Some(i) = r.iter().position(|h| h.name == info.name) {
        let h = &r[i];
        if h.params != info.params || h.ret != info.ret || h.effects != info.effects {
            return Err(HelperError::Conflict(info.name));
        }
        return Ok(HelperId(i as u32));
    }
    r.push(Box::leak(Box::new(info)));
    Ok(HelperId(r.len() as u32 - 1))
}

/// A registered helper's description.
pub fn info(id: HelperId) -> &'static HelperInfo {
    registry().read().unwrap_or_else(|e| e.into_inner())[id.0 as usize]
}

/// Whether `id` names a registered helper.
pub fn exists(id: HelperId) -> bool {
    (id.0 as usize) < registry().read().unwrap_or_else(|e| e.into_inner()).len()
}

pub fn find(name: &str) -> Option<HelperId> {
    registry().read().unwrap_or_else(|e| e.into_inner()).iter().position(|h| h.name == name).map(|i| HelperId(i as u32))
}
