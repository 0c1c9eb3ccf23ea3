//! The effects table: the single source of truth for what an op touches.
//!
//! `effects` lists an op's accesses in the order its kernel performs them (a
//! sliced operand's access covers only its region, as range events): every
//! read (argument order, then any one-element buffer given as a scalar operand;
//! for an `update`, the gradient source's operands, then the
//! parameter), then every write. The interpreter derives trace events from it, the
//! validator checks aliasing with it, and the optimizer builds hazards from it.

use super::{BufId, OpKind, Scalar, Slot, Src};
use serde::{Deserialize, Serialize};

/// Read or write.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Mode {
    /// The op reads the whole buffer.
    Read,
    /// The op writes the whole buffer.
    Write,
}

/// One access: a whole buffer, or the region of a sliced operand.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Access {
    /// Which buffer.
    pub buf: BufId,
    /// Read or write.
    pub mode: Mode,
    /// The sliced operand this access is, if it is one (its region is resolved
    /// by validation: `Validated::region`).
    pub slice: Option<Slot>,
}

/// The ordered accesses of an op: reads first, then writes. `grad` has none.
pub fn effects(kind: &OpKind) -> Vec<Access> {
    let r = |buf: &BufId| Access {
        buf: *buf,
        mode: Mode::Read,
        slice: None,
    };
    let w = |buf: &BufId| Access {
        buf: *buf,
        mode: Mode::Write,
        slice: None,
    };
    match kind {
        OpKind::Call {
            outs,
            args,
            scalars,
            slices,
            ..
        } => {
            let sliced = |slot: Slot| slices.iter().any(|s| s.slot == slot).then_some(slot);
            let mut v: Vec<Access> = args
                .iter()
                .enumerate()
                .map(|(i, b)| Access {
                    slice: sliced(Slot::Arg(i)),
                    ..r(b)
                })
                .collect();
            v.extend(scalars.iter().filter_map(Scalar::buf).map(|b| r(&b)));
            v.extend(outs.iter().enumerate().map(|(i, b)| Access {
                slice: sliced(Slot::Out(i)),
                ..w(b)
            }));
            v
        }
        OpKind::Update { param, src, .. } => {
            let mut v: Vec<Access> = match src {
                Src::Buf(g) => vec![r(g)],
                Src::Fused { args, scalars, .. } => args
                    .iter()
                    .copied()
                    .chain(scalars.iter().filter_map(Scalar::buf))
                    .map(|b| r(&b))
                    .collect(),
            };
            v.push(r(param));
            v.push(w(param));
            v
        }
        OpKind::Grad { .. } => Vec::new(),
    }
}

/// The buffers an op reads, in order (repeats kept).
pub fn reads(kind: &OpKind) -> impl Iterator<Item = BufId> {
    effects(kind)
        .into_iter()
        .filter(|a| a.mode == Mode::Read)
        .map(|a| a.buf)
}

/// The buffers an op writes, in order.
pub fn writes(kind: &OpKind) -> impl Iterator<Item = BufId> {
    effects(kind)
        .into_iter()
        .filter(|a| a.mode == Mode::Write)
        .map(|a| a.buf)
}
