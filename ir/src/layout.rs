//! Per-ISA guest state layouts: named slots at fixed offsets of a state buffer.
//!
//! Every guest register, flag and special register is a slot. Array slots hold
//! `count` elements of one type (register windows, register banks) and are accessed
//! with `get_elem`/`set_elem`. The buffer is host-endian; an i1 slot is one byte (0/1).

use crate::Type;
use std::collections::HashMap;

/// A slot of a state layout.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SlotId(pub u32);

#[derive(Clone, Debug, PartialEq)]
pub struct SlotInfo {
    pub name: String,
    pub ty: Type,
    /// Byte offset in the state buffer.
    pub offset: u32,
    /// 1 for scalar slots, the element count for arrays.
    pub count: u32,
}

impl SlotInfo {
    pub fn is_array(&self) -> bool {
        self.count > 1
    }
}

/// The state layout of one guest ISA (and mode).
#[derive(Clone, Debug, PartialEq)]
pub struct StateLayout {
    pub name: String,
    pub slots: Vec<SlotInfo>,
    /// Total size of the state buffer in bytes (a multiple of 16).
    pub size: u32,
    /// The slot holding the guest program counter.
    pub pc: SlotId,
    /// `icount` (i64), present in every layout: guest instructions executed, kept by
    /// [`count_insns`](crate::passes::count_insns) when the engine counts them.
    pub icount: SlotId,
    by_name: HashMap<String, SlotId>,
}

impl StateLayout {
    pub fn slot(&self, id: SlotId) -> &SlotInfo {
        &self.slots[id.0 as usize]
    }
    pub fn find(&self, name: &str) -> Option<SlotId> {
        self.by_name.get(name).copied()
    }
    /// Look a slot up by name, panicking with the name if it is missing (for frontends
    /// building their fixed layouts).
    pub fn expect(&self, name: &str) -> SlotId {
        self.find(name).unwrap_or_else(|| panic!("layout {} has no slot {name}", self.name))
    }
    /// Byte offset of element `index mod count` of a slot.
    pub fn elem_offset(&self, id: SlotId, index: u64) -> usize {
        let s = self.slot(id);
        s.offset as usize + (index % s.count as u64) as usize * s.ty.bytes() as usize
    }
    /// Text declaration of the layout, accepted by the parser (which adds `icount` back).
    pub fn to_text(&self) -> String {
        let mut s = format!("state {} pc={} {{\n", self.name, self.slot(self.pc).name);
        // The implicit `icount` slot (added last by the builder) is not written out.
        let implicit = (self.icount.0 as usize + 1 == self.slots.len()) as usize;
        for slot in &self.slots[..self.slots.len() - implicit] {
            if slot.is_array() {
                s += &format!("  {}: {}[{}]\n", slot.name, slot.ty, slot.count);
            } else {
                s += &format!("  {}: {}\n", slot.name, slot.ty);
            }
        }
        s + "}\n"
    }
}

/// Builds a [`StateLayout`], placing each slot at its natural alignment.
#[derive(Debug)]
pub struct LayoutBuilder {
    name: String,
    slots: Vec<SlotInfo>,
    offset: u32,
}

/// Errors building a layout.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LayoutError {
    DuplicateSlot(String),
    MissingPc(String),
    BadPcType(String),
    BadIcountType,
}

/// Name of the instruction-counter slot every layout has.
pub const ICOUNT: &str = "icount";

impl std::fmt::Display for LayoutError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            LayoutError::DuplicateSlot(n) => write!(f, "state slot `{n}` is declared twice"),
            LayoutError::MissingPc(n) => write!(f, "the pc slot `{n}` is not declared"),
            LayoutError::BadPcType(n) => write!(f, "the pc slot `{n}` must be a scalar i64"),
            LayoutError::BadIcountType => write!(f, "the `{ICOUNT}` slot must be a scalar i64"),
        }
    }
}
impl std::error::Error for LayoutError {}

impl LayoutBuilder {
    pub fn new(name: &str) -> LayoutBuilder {
        LayoutBuilder { name: name.to_string(), slots: Vec::new(), offset: 0 }
    }
    pub fn array(mut self, name: &str, ty: Type, count: u32) -> LayoutBuilder {
        let align = ty.bytes();
        self.offset = self.offset.div_ceil(align) * align;
        self.slots.push(SlotInfo { name: name.to_string(), ty, offset: self.offset, count });
        self.offset += ty.bytes() * count;
        self
    }
    pub fn slot(self, name: &str, ty: Type) -> LayoutBuilder {
        self.array(name, ty, 1)
    }
    /// Finish, naming the pc slot. Adds the `icount` slot (i64) every layout has,
    /// unless it is declared already.
    pub fn build(mut self, pc: &str) -> Result<StateLayout, LayoutError> {
        if !self.slots.iter().any(|s| s.name == ICOUNT) {
            self = self.slot(ICOUNT, Type::I64);
        }
        let mut by_name = HashMap::new();
        for (i, s) in self.slots.iter().enumerate() {
            if by_name.insert(s.name.clone(), SlotId(i as u32)).is_some() {
                return Err(LayoutError::DuplicateSlot(s.name.clone()));
            }
        }
        let pc_id = *by_name.get(pc).ok_or_else(|| LayoutError::MissingPc(pc.to_string()))?;
        let p = &self.slots[pc_id.0 as usize];
        if p.ty != Type::I64 || p.is_array() {
            return Err(LayoutError::BadPcType(pc.to_string()));
        }
        let icount = by_name[ICOUNT];
        if self.slots[icount.0 as usize].ty != Type::I64 || self.slots[icount.0 as usize].is_array() {
            return Err(LayoutError::BadIcountType);
        }
        Ok(StateLayout {
            name: self.name,
            slots: self.slots,
            size: self.offset.div_ceil(16).max(1) * 16,
            pc: pc_id,
            icount,
            by_name,
        })
    }
}

/// A guest state buffer for a layout: 16-byte aligned, zero-initialised.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StateBuf {
    words: Box<[u128]>,
}

impl StateBuf {
    pub fn new(layout: &StateLayout) -> StateBuf {
        StateBuf { words: vec![0u128; layout.size as usize / 16].into_boxed_slice() }
    }
    pub fn bytes(&self) -> &[u8] {
        // SAFETY: a u128 slice is valid as bytes of 16x its length; u8 has no alignment.
        unsafe { std::slice::from_raw_parts(self.words.as_ptr().cast(), self.words.len() * 16) }
    }
    pub fn bytes_mut(&mut self) -> &mut [u8] {
        // SAFETY: as in `bytes`, and the borrow is unique.
        unsafe { std::slice::from_raw_parts_mut(self.words.as_mut_ptr().cast(), self.words.len() * 16) }
    }
    pub fn as_mut_ptr(&mut self) -> *mut u8 {
        self.words.as_mut_ptr().cast()
    }
    /// Raw read of `ty` at a byte offset (host-endian, zero-extended into u128).
    pub fn read_at(&self, offset: usize, ty: Type) -> u128 {
        let n = ty.bytes() as usize;
        let mut b = [0u8; 16];
        b[..n].copy_from_slice(&self.bytes()[offset..offset + n]);
        u128::from_le_bytes(b) & ty.mask()
    }
    pub fn write_at(&mut self, offset: usize, ty: Type, v: u128) {
        let n = ty.bytes() as usize;
        let b = (v & ty.mask()).to_le_bytes();
        self.bytes_mut()[offset..offset + n].copy_from_slice(&b[..n]);
    }
    pub fn get(&self, layout: &StateLayout, slot: SlotId) -> u128 {
        let s = layout.slot(slot);
        self.read_at(s.offset as usize, s.ty)
    }
    pub fn set(&mut self, layout: &StateLayout, slot: SlotId, v: u128) {
        let s = layout.slot(slot);
        self.write_at(s.offset as usize, s.ty, v)
    }
    pub fn get_elem(&self, layout: &StateLayout, slot: SlotId, i: u64) -> u128 {
        self.read_at(layout.elem_offset(slot, i), layout.slot(slot).ty)
    }
    pub fn set_elem(&mut self, layout: &StateLayout, slot: SlotId, i: u64, v: u128) {
        let ty = layout.slot(slot).ty;
        self.write_at(layout.elem_offset(slot, i), ty, v)
    }
}
