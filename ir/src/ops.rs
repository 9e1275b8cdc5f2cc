//! The op table: the single list every other part of the IR is driven by.
//!
//! Each op has a text name, a [`Shape`] (operand and result typing rule plus the kind
//! of immediate it carries) and a one-line definition of its meaning. The opcode enum,
//! the printer, the parser and the verifier are all derived from this table; the
//! interpreter (`interp.rs`) and the Cranelift backend match on [`Opcode`] exhaustively,
//! so adding an op here without giving it semantics there does not compile.

use std::fmt;

/// Typing rule and immediate kind of an op.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Shape {
    /// Marks the start of a guest instruction (imm: guest pc). No operands, no result.
    Marker,
    /// `() -> T`, T an integer or i1; imm: the constant.
    ConstInt,
    /// `() -> F`, F f32/f64; imm: the IEEE bits.
    ConstFloat,
    /// `() -> v128`; imm: the 128 bits.
    ConstVec,
    /// `(T, T) -> T`, T any integer i8..i128.
    BinInt,
    /// `(T, T) -> T`, T an integer i8..i64 (no i128 form).
    BinInt64,
    /// `(T, T) -> T`, T any integer i8..i128 or i1 (bitwise ops on flags).
    Bitwise,
    /// `(T) -> T`, T any integer i8..i128.
    UnInt,
    /// `(T) -> T`, T an integer i8..i64.
    UnInt64,
    /// `(T, T) -> i1` with an integer condition; T integer or i1 (eq/ne only for i1).
    IntCmp,
    /// `(i1, T, T) -> T`, any T.
    Select,
    /// `(S) -> T`, S narrower than T; integers and i1.
    Extend,
    /// `(S) -> T`, T narrower than S; integers and i1.
    Truncate,
    /// `(S) -> T` reinterpreting the bits; same width, S != T.
    Bitcast,
    /// `(T, T) -> i1`, T integer: a flag of the operation on the operands.
    Flag2,
    /// `(T, T, i1) -> i1`, T integer: a flag of the operation with carry in.
    Flag3,
    /// `(T, T, i1) -> T`, T integer: arithmetic with carry/borrow in.
    Carry3,
    /// `(F, F) -> F`.
    BinFloat,
    /// `(F) -> F`.
    UnFloat,
    /// `(F, F, F) -> F`.
    TerFloat,
    /// `(F) -> F` with a rounding-mode immediate.
    RoundFloat,
    /// `(F, F) -> i1` with a float condition.
    FloatCmp,
    /// `(F) -> T`, T i32/i64.
    FloatToInt,
    /// `(T) -> F`, T i32/i64.
    IntToFloat,
    /// `(f32) -> f64`.
    Promote,
    /// `(f64) -> f32`.
    Demote,
    /// `(v128, v128) -> v128`, bitwise.
    VecBitwise2,
    /// `(v128) -> v128`, bitwise.
    VecBitwise1,
    /// `(v128, v128) -> v128` with a lane shape.
    VecLanes2,
    /// `(v128, i32) -> v128` with a lane shape: every lane shifted by one amount.
    VecShift,
    /// `(v128) -> v128` with the *source* lane shape (not i64x2): half of the lanes,
    /// each extended to twice its width.
    VecWiden,
    /// `(v128, v128) -> v128`; imm: 16 byte indices (`Bits`, byte j for result byte j),
    /// each below 32, into the 32 bytes of the two operands.
    VecShuffle,
    /// `(v128, v128, v128) -> v128`, no immediate.
    VecTernary,
    /// `(T) -> v128` with a lane shape; T the lane integer type.
    VecSplat,
    /// `(v128) -> T` with lane shape and index; T the lane integer type.
    VecExtract,
    /// `(v128, T) -> v128` with lane shape and index.
    VecInsert,
    /// `() -> T` reading a scalar state slot (imm: slot).
    GetSlot,
    /// `(T) -> ()` writing a scalar state slot.
    SetSlot,
    /// `(i64) -> T` reading element `index mod count` of an array slot.
    GetElem,
    /// `(i64, T) -> ()` writing element `index mod count` of an array slot.
    SetElem,
    /// `(i64 addr) -> T` guest memory load (imm: memory attributes).
    Load,
    /// `(i64 addr, T) -> ()` guest memory store.
    Store,
    /// `(i64 addr, T) -> T` atomic read-modify-write returning the old value.
    AtomicRmw,
    /// `(i64 addr, T expected, T new) -> T` atomic compare-and-swap returning the old value.
    Cas,
    /// `() -> ()` memory fence.
    Fence,
    /// `(args...) -> T?` call of a named helper.
    CallHelper,
    /// Terminator: jump to a block of this region with arguments.
    Jump,
    /// Terminator: `(i1, args...)` two-way branch to blocks of this region.
    Brif,
    /// Terminator: leave the region to a constant guest pc (chainable).
    ExitJump,
    /// Terminator: `(i64 target)` leave the region to a computed guest pc.
    ExitIndirect,
    /// Terminator: leave the region to perform a system call, then resume at imm pc.
    ExitSyscall,
    /// Terminator: raise a guest trap of a kind at a guest pc.
    ExitTrap,
}

impl Shape {
    pub fn is_terminator(self) -> bool {
        matches!(
            self,
            Shape::Jump | Shape::Brif | Shape::ExitJump | Shape::ExitIndirect | Shape::ExitSyscall | Shape::ExitTrap
        )
    }
}

macro_rules! define_ops {
    ($( $(#[doc = $doc:literal])* $variant:ident = $name:literal : $shape:ident ;)*) => {
        /// Every IR operation. See the op table in `ops.rs` for each op's definition.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        pub enum Opcode { $($variant,)* }

        impl Opcode {
            /// Every opcode, in table order.
            pub const ALL: &'static [Opcode] = &[$(Opcode::$variant,)*];

            /// The op's name in the text form.
            pub fn name(self) -> &'static str {
                match self { $(Opcode::$variant => $name,)* }
            }
            /// The op's typing rule and immediate kind.
            pub fn shape(self) -> Shape {
                match self { $(Opcode::$variant => Shape::$shape,)* }
            }
            /// The op's definition (what the reference interpreter implements).
            pub fn doc(self) -> &'static str {
                match self { $(Opcode::$variant => concat!($($doc, " "),*),)* }
            }
            /// Look an opcode up by its text name.
            pub fn from_name(s: &str) -> Option<Opcode> {
                match s { $($name => Some(Opcode::$variant),)* _ => None }
            }
        }
    };
}

define_ops! {
    /// Start of the guest instruction at imm pc; faults after it report this pc.
    Insn = "insn": Marker;
    /// Integer (or i1) constant, truncated to the result width.
    Iconst = "iconst": ConstInt;
    /// Float constant given by its IEEE bits.
    Fconst = "fconst": ConstFloat;
    /// 128-bit vector constant.
    Vconst = "vconst": ConstVec;
    /// Wrapping addition.
    Add = "add": BinInt;
    /// Wrapping subtraction.
    Sub = "sub": BinInt;
    /// Wrapping multiplication (low half).
    Mul = "mul": BinInt;
    /// High half of the unsigned double-width product.
    Umulh = "umulh": BinInt64;
    /// High half of the signed double-width product.
    Smulh = "smulh": BinInt64;
    /// Unsigned division; x / 0 = 0 (never traps; frontends add their own checks).
    Udiv = "udiv": BinInt64;
    /// Signed division truncating toward zero; x / 0 = 0, MIN / -1 = MIN.
    Sdiv = "sdiv": BinInt64;
    /// Unsigned remainder; x % 0 = x.
    Urem = "urem": BinInt64;
    /// Signed remainder (sign of the dividend); x % 0 = x, MIN % -1 = 0.
    Srem = "srem": BinInt64;
    /// Bitwise and.
    And = "and": Bitwise;
    /// Bitwise or.
    Or = "or": Bitwise;
    /// Bitwise exclusive or.
    Xor = "xor": Bitwise;
    /// Shift left by y mod width.
    Shl = "shl": BinInt;
    /// Logical shift right by y mod width.
    Lshr = "lshr": BinInt;
    /// Arithmetic shift right by y mod width.
    Ashr = "ashr": BinInt;
    /// Rotate left by y mod width.
    Rotl = "rotl": BinInt;
    /// Rotate right by y mod width.
    Rotr = "rotr": BinInt;
    /// Two's complement negation.
    Neg = "neg": UnInt;
    /// Bitwise not.
    Not = "not": UnInt;
    /// Count leading zeros (width for 0).
    Clz = "clz": UnInt64;
    /// Count trailing zeros (width for 0).
    Ctz = "ctz": UnInt64;
    /// Population count.
    Popcnt = "popcnt": UnInt64;
    /// Byte swap (identity on i8).
    Bswap = "bswap": UnInt64;
    /// Bit reversal.
    Bitrev = "bitrev": UnInt64;
    /// Integer comparison giving i1.
    Icmp = "icmp": IntCmp;
    /// c ? a : b.
    Select = "select": Select;
    /// Zero extension to a wider integer.
    Zext = "zext": Extend;
    /// Sign extension to a wider integer (i1 true becomes all ones).
    Sext = "sext": Extend;
    /// Keep the low bits.
    Trunc = "trunc": Truncate;
    /// Reinterpret the bits as another type of the same width.
    Bitcast = "bitcast": Bitcast;
    /// Unsigned carry out of x + y.
    AddCarry = "add_carry": Flag2;
    /// Signed overflow of x + y.
    AddOverflow = "add_overflow": Flag2;
    /// Unsigned borrow of x - y (x < y).
    SubBorrow = "sub_borrow": Flag2;
    /// Signed overflow of x - y.
    SubOverflow = "sub_overflow": Flag2;
    /// x + y + c.
    Adc = "adc": Carry3;
    /// Unsigned carry out of x + y + c.
    AdcCarry = "adc_carry": Flag3;
    /// Signed overflow of x + y + c.
    AdcOverflow = "adc_overflow": Flag3;
    /// x - y - b (b a borrow).
    Sbb = "sbb": Carry3;
    /// Unsigned borrow out of x - y - b.
    SbbBorrow = "sbb_borrow": Flag3;
    /// Signed overflow of x - y - b.
    SbbOverflow = "sbb_overflow": Flag3;
    /// IEEE addition, round to nearest even; a NaN result is the canonical quiet NaN.
    Fadd = "fadd": BinFloat;
    /// IEEE subtraction (canonical NaN).
    Fsub = "fsub": BinFloat;
    /// IEEE multiplication (canonical NaN).
    Fmul = "fmul": BinFloat;
    /// IEEE division (canonical NaN).
    Fdiv = "fdiv": BinFloat;
    /// IEEE 754-2019 minimum: NaN if either is NaN (canonical), -0 < +0.
    Fmin = "fmin": BinFloat;
    /// IEEE 754-2019 maximum: NaN if either is NaN (canonical), -0 < +0.
    Fmax = "fmax": BinFloat;
    /// Square root (canonical NaN).
    Fsqrt = "fsqrt": UnFloat;
    /// Flip the sign bit (NaN payload kept).
    Fneg = "fneg": UnFloat;
    /// Clear the sign bit (NaN payload kept).
    Fabs = "fabs": UnFloat;
    /// Fused x * y + z with a single rounding (canonical NaN).
    Fma = "fma": TerFloat;
    /// Round to an integral value in the given mode (canonical NaN).
    Fround = "fround": RoundFloat;
    /// Float comparison giving i1 (ordered conditions are false on NaN).
    Fcmp = "fcmp": FloatCmp;
    /// Float to signed integer, truncating, saturating; NaN gives 0.
    FcvtToSint = "fcvt_to_sint": FloatToInt;
    /// Float to unsigned integer, truncating, saturating; NaN gives 0.
    FcvtToUint = "fcvt_to_uint": FloatToInt;
    /// Signed integer to float, round to nearest even.
    FcvtFromSint = "fcvt_from_sint": IntToFloat;
    /// Unsigned integer to float, round to nearest even.
    FcvtFromUint = "fcvt_from_uint": IntToFloat;
    /// f32 to f64 (exact; canonical NaN).
    Fpromote = "fpromote": Promote;
    /// f64 to f32, round to nearest even (canonical NaN).
    Fdemote = "fdemote": Demote;
    /// Bitwise and of vectors.
    Vand = "vand": VecBitwise2;
    /// Bitwise or of vectors.
    Vor = "vor": VecBitwise2;
    /// Bitwise xor of vectors.
    Vxor = "vxor": VecBitwise2;
    /// Bitwise not of a vector.
    Vnot = "vnot": VecBitwise1;
    /// Lane-wise wrapping addition.
    Vadd = "vadd": VecLanes2;
    /// Lane-wise wrapping subtraction.
    Vsub = "vsub": VecLanes2;
    /// Lane-wise equality: all ones where equal, zero elsewhere.
    Vcmpeq = "vcmpeq": VecLanes2;
    /// Shift every lane left by y mod the lane width.
    Vshl = "vshl": VecShift;
    /// Logical shift right of every lane by y mod the lane width.
    Vushr = "vushr": VecShift;
    /// Arithmetic shift right of every lane by y mod the lane width.
    Vsshr = "vsshr": VecShift;
    /// Shift every lane of x left by the same lane of y mod the lane width.
    Vshlv = "vshlv": VecLanes2;
    /// Logical shift right of every lane of x by the same lane of y mod the lane width.
    Vushrv = "vushrv": VecLanes2;
    /// Arithmetic shift right of every lane of x by the same lane of y mod the lane width.
    Vsshrv = "vsshrv": VecLanes2;
    /// Byte j of the result is byte imm[j] of the 32 bytes x (0..15) then y (16..31).
    Vshuffle = "vshuffle": VecShuffle;
    /// Table lookup in two vectors: byte j of the result is byte z[j] of the 32 bytes x
    /// (0..15) then y (16..31), or 0 where z[j] is 32 or more.
    Vtbl2 = "vtbl2": VecTernary;
    /// Bit select: (x & z) | (y & !z).
    Vbitsel = "vbitsel": VecTernary;
    /// Zero-extend the low half of the lanes (lanes 0..n/2) to twice their width.
    VuwidenLo = "vuwiden_lo": VecWiden;
    /// Zero-extend the high half of the lanes (lanes n/2..n) to twice their width.
    VuwidenHi = "vuwiden_hi": VecWiden;
    /// Sign-extend the low half of the lanes to twice their width.
    VswidenLo = "vswiden_lo": VecWiden;
    /// Sign-extend the high half of the lanes to twice their width.
    VswidenHi = "vswiden_hi": VecWiden;
    /// Copy an integer into every lane.
    Vsplat = "vsplat": VecSplat;
    /// Read one lane (lane 0 is the least significant).
    Vextract = "vextract": VecExtract;
    /// Replace one lane.
    Vinsert = "vinsert": VecInsert;
    /// Read a scalar state slot.
    GetSlot = "get_slot": GetSlot;
    /// Write a scalar state slot.
    SetSlot = "set_slot": SetSlot;
    /// Read element (index mod count) of an array slot (register windows, banks).
    GetElem = "get_elem": GetElem;
    /// Write element (index mod count) of an array slot.
    SetElem = "set_elem": SetElem;
    /// Load from guest memory; narrower sizes are zero or sign extended; may fault.
    Load = "load": Load;
    /// Store the low bytes of the value to guest memory; may fault.
    Store = "store": Store;
    /// Atomic read-modify-write returning the old (extended) value; sequentially consistent.
    AtomicRmw = "atomic_rmw": AtomicRmw;
    /// Atomic compare-and-swap returning the old (extended) value; sequentially consistent.
    Cas = "cas": Cas;
    /// Memory fence.
    Fence = "fence": Fence;
    /// Call a registered helper with the fixed helper ABI.
    Call = "call": CallHelper;
    /// Jump to a block of this region.
    Jump = "jump": Jump;
    /// Branch on an i1 to one of two blocks of this region.
    Brif = "brif": Brif;
    /// Leave the region for a constant guest pc (the engine may chain it).
    ExitJump = "exit_jump": ExitJump;
    /// Leave the region for a computed guest pc (looked up by the engine).
    ExitIndirect = "exit_indirect": ExitIndirect;
    /// Leave the region for a system call; the guest resumes at imm pc afterwards.
    ExitSyscall = "exit_syscall": ExitSyscall;
    /// Raise a guest trap of a kind at a guest pc.
    ExitTrap = "exit_trap": ExitTrap;
}

impl fmt::Display for Opcode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

macro_rules! named_enum {
    ($(#[$m:meta])* $name:ident { $($v:ident = $s:literal),* $(,)? }) => {
        $(#[$m])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        pub enum $name { $($v,)* }
        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$v,)*];
            pub fn name(self) -> &'static str { match self { $($name::$v => $s,)* } }
            pub fn from_name(s: &str) -> Option<$name> { match s { $($s => Some($name::$v),)* _ => None } }
        }
        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result { f.write_str(self.name()) }
        }
    };
}

named_enum!(
    /// Integer comparison conditions.
    IntCC { Eq = "eq", Ne = "ne", Ult = "ult", Ule = "ule", Ugt = "ugt", Uge = "uge",
            Slt = "slt", Sle = "sle", Sgt = "sgt", Sge = "sge" }
);
named_enum!(
    /// Float comparison conditions; `ne` and `uno` are true on NaN, the others false.
    FloatCC { Eq = "eq", Ne = "ne", Lt = "lt", Le = "le", Gt = "gt", Ge = "ge",
              Ord = "ord", Uno = "uno" }
);
named_enum!(
    /// Rounding modes of `fround`.
    RoundMode { Nearest = "nearest", Floor = "floor", Ceil = "ceil", Trunc = "trunc" }
);
named_enum!(
    /// Lane shapes of 128-bit vectors.
    VecShape { I8x16 = "i8x16", I16x8 = "i16x8", I32x4 = "i32x4", I64x2 = "i64x2" }
);
named_enum!(
    /// Operations of `atomic_rmw`.
    RmwOp { Add = "add", Sub = "sub", And = "and", Or = "or", Xor = "xor", Xchg = "xchg",
            Umin = "umin", Umax = "umax", Smin = "smin", Smax = "smax" }
);
named_enum!(
    /// Kinds of `fence`.
    FenceKind { Acquire = "acquire", Release = "release", AcqRel = "acqrel", SeqCst = "seqcst" }
);
named_enum!(
    /// Endianness of a memory access.
    Endian { Little = "le", Big = "be" }
);
named_enum!(
    /// Kinds of guest trap raised by `exit_trap`. `codesync` is not a fault: the
    /// instruction at the trap pc asks the runtime to drop translations of guest code
    /// it names (AArch64 IC IVAU), and execution resumes after it.
    TrapKind { Illegal = "illegal", Breakpoint = "breakpoint", Unaligned = "unaligned",
               DivideByZero = "divzero", Privileged = "privileged", Software = "software",
               Halt = "halt", CodeSync = "codesync" }
);
named_enum!(
    /// Control-flow hint of a region exit (for return-address prediction).
    ExitHint { None = "none", Call = "call", Ret = "ret" }
);

impl VecShape {
    pub fn lane_type(self) -> crate::Type {
        match self {
            VecShape::I8x16 => crate::Type::I8,
            VecShape::I16x8 => crate::Type::I16,
            VecShape::I32x4 => crate::Type::I32,
            VecShape::I64x2 => crate::Type::I64,
        }
    }
    pub fn lanes(self) -> u32 {
        128 / self.lane_type().bits()
    }
}

/// Attributes of a memory access.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct MemAttr {
    /// Bytes accessed: 1, 2, 4, 8 or 16.
    pub size: u8,
    /// Sign-extend a narrower load (zero-extend otherwise).
    pub signed: bool,
    pub endian: Endian,
    /// The guest requires natural alignment: a misaligned access raises an unaligned trap.
    pub aligned: bool,
}

impl MemAttr {
    pub fn new(size: u8, endian: Endian) -> MemAttr {
        MemAttr { size, signed: false, endian, aligned: false }
    }
    pub fn signed(mut self) -> MemAttr {
        self.signed = true;
        self
    }
    pub fn aligned(mut self) -> MemAttr {
        self.aligned = true;
        self
    }
}
