//! `sutro ops` and `sutro explain`: everything is derived from the op table and
//! the effects table applied to the op's example program, so it cannot drift
//! from the interpreter.

use crate::error::Error;
use crate::ir::{self, Mode, Prim};
use crate::valid::Limits;
use serde::Serialize;

const GRAD_DOC: &str = "grad LOSS wrt P1, P2, … [as G1, G2, …]\n\nReverse-mode AD over the ops before it, lowered into explicit ops that define dP1, dP2, … (or G1, G2, …)\n(see `sutro print FILE --lowered`). The loss is one element: a loss op (hinge, mse, logistic, softmax_xent) seeds\nthe backward pass with its gradient op; any other loss (a sum or weighted sum of losses) with dL = pow(L, 0) = 1.\nWith `as`, several grads may share a step: their intermediates are prefixed by the grad's label, or else its loss.\nSliced operands are differentiated: backward ops read the same slice, and the slice's gradient is padded with\nzeros (`pad`) to its buffer's shape; an op that writes a param or state buffer in place stops grad.\nThe rule of each op is shown by `sutro explain OP`.\n";

const UPDATE_DOC: &str = "P ← P − lr·(G + wd·P), in place; G is a buffer or a fused op (outer, sum, sign, copy, scale, matmul_nt, matmul_tn) computed inside the update and never stored";

/// What `sutro explain OP` shows (its `--json` document, docs/json.md).
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(untagged)]
pub enum Explanation {
    /// `grad`: a statement, not an op.
    Grad {
        /// Always 1.
        schema: u32,
        /// `grad`.
        op: &'static str,
        /// The text shown.
        doc: &'static str,
    },
    /// A primitive or `update`.
    Op {
        /// Always 1.
        schema: u32,
        /// The op name.
        op: String,
        /// Its semantics.
        doc: String,
        /// The example line.
        example: String,
        /// The whole example program.
        program: String,
        /// Buffers read, in order.
        reads: Vec<String>,
        /// Buffers written.
        writes: Vec<String>,
        /// Its gradient rule.
        grad: String,
    },
}

impl Explanation {
    /// The text for people.
    pub fn text(&self) -> String {
        match self {
            Explanation::Grad { doc, .. } => (*doc).to_string(),
            Explanation::Op {
                op,
                doc,
                example,
                reads,
                writes,
                grad,
                ..
            } => {
                let reads = if reads.is_empty() {
                    "nothing".to_string()
                } else {
                    format!("{}  (in this order)", reads.join(", "))
                };
                format!(
                    "{op}: {doc}\n\nexample:  {example}\nreads:    {reads}\nwrites:   {}\ngrad:     {grad}\n",
                    writes.join(", ")
                )
            }
        }
    }

    /// The `--json` form: one line for `grad`, pretty-printed otherwise.
    pub fn json(&self) -> String {
        match self {
            Explanation::Grad { .. } => format!("{}\n", crate::json::compact(self)),
            Explanation::Op { .. } => crate::json::pretty(self),
        }
    }
}

/// Explains an op name (see `sutro ops`), `update` or `grad`.
pub fn explain(name: &str) -> Result<Explanation, Error> {
    if name == "grad" {
        return Ok(Explanation::Grad {
            schema: 1,
            op: "grad",
            doc: GRAD_DOC,
        });
    }
    let (example, doc, is_call) = match Prim::from_name(name) {
        Some(p) => (p.example(), p.info().doc.to_string(), true),
        None if name == "update" => (ir::prim::update_example(), UPDATE_DOC.to_string(), false),
        None => {
            let known: Vec<&str> = Prim::ALL.iter().map(|p| p.name()).collect();
            return Err(Error::Usage(format!(
                "unknown op `{name}` (known: {}, update, grad)",
                known.join(", ")
            )));
        }
    };
    let prog = crate::syntax::parse("example", &example).map_err(Error::Parse)?;
    let Some((id, op)) = prog.op_ids().zip(&prog.ops).last() else {
        return Err(Error::Internal(format!("the example of `{name}` has no op")));
    };
    let rule = if is_call {
        // The gradient text is the rule table run on this very op.
        let shapes = crate::valid::infer_shapes(&prog, &crate::valid::Settings::default(), &Limits::default())
            .map_err(Error::Valid)?;
        ir::grad::explain_rule(&prog, &shapes.shapes, id)
    } else {
        "none: updates are not differentiated".to_string()
    };
    let line = example.lines().last().unwrap_or_default().to_string();
    let (mut reads, mut writes) = (Vec::new(), Vec::new());
    for a in ir::effects(&op.kind) {
        let n = prog.buf(a.buf).name.clone();
        if a.mode == Mode::Read {
            reads.push(n);
        } else {
            writes.push(n);
        }
    }
    Ok(Explanation::Op {
        schema: 1,
        op: name.to_string(),
        doc,
        example: line,
        program: example,
        reads,
        writes,
        grad: rule,
    })
}

/// The `sutro ops` table: every primitive with its outputs and semantics, then
/// the two statements.
pub fn ops_table() -> String {
    let mut s = String::new();
    for p in Prim::ALL {
        let i = p.info();
        s.push_str(&format!("{:<14} {} output(s)  {}\n", i.name, i.outs, i.doc));
    }
    s.push_str("\nupdate P sgd(lr, wd) with G   P ← P − lr·(G + wd·P), in place; G a buffer or a fused op\n");
    s.push_str("grad LOSS wrt P, … [as G, …]  reverse-mode AD into explicit ops defining dP (or G)\n");
    s
}
