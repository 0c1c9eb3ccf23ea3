//! The intermediate representation: buffers, ops, their effects, and printing.
//!
//! A `Program` is what the parser builds and what every later phase reads: an
//! ordered table of buffers (`BufId` indexes it), a table of ops (`OpId` indexes
//! it) and a schedule `order` kept apart from the op data, so reordering never
//! edits an op. `Display` prints canonical `.sutro`, so parse ∘ print round-trips.

pub mod effects;
pub mod expr;
pub mod grad;
pub mod lowered;
pub mod prim;
pub mod print;
pub mod program;
pub mod unroll;

pub use effects::{Access, Mode, effects};
pub use expr::Expr;
pub use lowered::Lowered;
pub use prim::Prim;
pub use program::{
    Buffer, Init, Op, OpKind, Program, Range, Role, Rule, Scalar, ShapeDim, Slice, Slot, Src, Stmt, Trivia,
};

use serde::{Deserialize, Serialize};
use std::fmt;

/// Index of a buffer in `Program::buffers`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct BufId(pub u32);

/// Index of an op in `Program::ops`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct OpId(pub u32);

impl BufId {
    /// As an index into the buffer table.
    pub fn idx(self) -> usize {
        self.0 as usize
    }
}

impl OpId {
    /// As an index into the op table.
    pub fn idx(self) -> usize {
        self.0 as usize
    }
}

impl fmt::Display for BufId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "buf{}", self.0)
    }
}

impl fmt::Display for OpId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "op{}", self.0)
    }
}
