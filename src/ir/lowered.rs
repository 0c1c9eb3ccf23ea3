//! The lowered op: what the interpreter runs. It has a call and an update and no
//! `grad`, so an unexpanded `grad` cannot reach a kernel: `valid::validate`
//! builds one `Lowered` per op with `Lowered::of` (which refuses `grad`, an
//! error and never a panic) and `Validated::lowered` is how the interpreter
//! reads an op's data. `OpKind` keeps `grad` for the parser, the printer and
//! the AD lowering.

use super::{BufId, OpKind, Prim, Rule, Scalar, Slice, Src};

/// An op of a validated program.
#[derive(Clone, Debug, PartialEq)]
pub enum Lowered {
    /// `outs = prim(args, scalars)`, operands possibly sliced.
    Call {
        /// The primitive.
        prim: Prim,
        /// Output buffers.
        outs: Vec<BufId>,
        /// Buffer operands.
        args: Vec<BufId>,
        /// Scalar operands.
        scalars: Vec<Scalar>,
        /// Sliced operands.
        slices: Vec<Slice>,
    },
    /// `update param RULE with src`.
    Update {
        /// The updated param.
        param: BufId,
        /// The rule.
        rule: Rule,
        /// The gradient source.
        src: Src,
    },
}

impl Lowered {
    /// The lowered form of an op; `None` for `grad`.
    pub fn of(kind: &OpKind) -> Option<Lowered> {
        match kind {
            OpKind::Call {
                prim,
                outs,
                args,
                scalars,
                slices,
            } => Some(Lowered::Call {
                prim: *prim,
                outs: outs.clone(),
                args: args.clone(),
                scalars: scalars.clone(),
                slices: slices.clone(),
            }),
            OpKind::Update { param, rule, src } => Some(Lowered::Update {
                param: *param,
                rule: rule.clone(),
                src: src.clone(),
            }),
            OpKind::Grad { .. } => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grad_has_no_lowered_form_and_calls_keep_their_data() {
        let grad = OpKind::Grad {
            loss: BufId(0),
            wrt: vec![BufId(1)],
            outs: vec![BufId(2)],
            named: false,
        };
        assert_eq!(Lowered::of(&grad), None);
        let call = OpKind::Call {
            prim: Prim::Relu,
            outs: vec![BufId(1)],
            args: vec![BufId(0)],
            scalars: Vec::new(),
            slices: Vec::new(),
        };
        assert_eq!(
            Lowered::of(&call),
            Some(Lowered::Call {
                prim: Prim::Relu,
                outs: vec![BufId(1)],
                args: vec![BufId(0)],
                scalars: Vec::new(),
                slices: Vec::new(),
            })
        );
    }
}
