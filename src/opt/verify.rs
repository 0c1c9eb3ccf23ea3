//! Verification: the structural checks run after every pass, and equality by running.
//!
//! `check_reorder` re-checks a reordered program against the hazard graph of the
//! program the pass started from: same op table, and the new schedule a
//! topological order. `classify` says whether one program is a legal reordering
//! of another when they were loaded separately (ops are matched by their
//! statement text, since buffer ids may differ). `Pairs` compares every `param`
//! and `state` buffer of two runs bit for bit (`f32::to_bits`); the runs
//! themselves are driven by `Session::verify`. Temporaries are not compared
//! (they may differ in the sign of zero).

use super::OptError;
use super::depgraph::{DepGraph, Violation};
use crate::interp::Interp;
use crate::ir::{BufId, OpId, Program};
use crate::valid::Validated;

/// How program B relates to program A.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Reordering {
    /// Same ops in the same order.
    Same,
    /// Same ops, and B's order is a topological order of A's hazard graph.
    Legal,
    /// Same ops, but B's order breaks a hazard of A; the text names the edge.
    Illegal(String),
    /// Different ops; the text says which op differs.
    NotReordering(String),
}

impl Reordering {
    /// The relation in a sentence, as `sutro verify` prints it.
    pub fn describe(&self) -> String {
        match self {
            Reordering::Same => "B has the same ops in the same order as A".to_string(),
            Reordering::Legal => {
                "B is a legal reordering of A (its order is a topological order of A's hazard graph)".into()
            }
            Reordering::Illegal(why) => format!("B is an illegal reordering of A: {why}"),
            Reordering::NotReordering(why) => format!("B is not a reordering of A: {why}"),
        }
    }
}

/// Checks that `after` only permutes the schedule of `before` and that the new
/// schedule is legal in `before`'s hazard graph.
pub fn check_reorder(before: &Program, after: &Program) -> Result<(), String> {
    if before.ops.len() != after.ops.len() {
        return Err("the op table changed".into());
    }
    for ((a, b), id) in before.ops.iter().zip(&after.ops).zip(before.op_ids()) {
        if a.kind != b.kind {
            return Err(format!("op `{}` changed", before.op_name(id)));
        }
    }
    DepGraph::build(before)
        .check_order(&after.order)
        .map_err(|v| v.describe(before))
}

/// Matches B's ops to A's by statement text; B's schedule as A's op ids, or the
/// reason the programs do not have the same ops.
pub fn match_ops(a: &Program, b: &Program) -> Result<Vec<OpId>, String> {
    let a_text: Vec<(OpId, String)> = a.order.iter().map(|&o| (o, a.op_text(o))).collect();
    let mut used = vec![false; a_text.len()];
    let mut mapped = Vec::with_capacity(b.order.len());
    for &o in &b.order {
        let t = b.op_text(o);
        match a_text.iter().enumerate().find(|(i, (_, at))| !used[*i] && *at == t) {
            Some((i, (aid, _))) => {
                used[i] = true;
                mapped.push(*aid);
            }
            None => return Err(format!("B has `{t}`, which A does not")),
        }
    }
    if let Some(i) = used.iter().position(|u| !u) {
        return Err(format!("A has `{}`, which B does not", a_text[i].1));
    }
    Ok(mapped)
}

/// Whether B is A reordered, and if so whether legally.
pub fn classify(a: &Program, b: &Program) -> Reordering {
    let mapped = match match_ops(a, b) {
        Ok(m) => m,
        Err(why) => return Reordering::NotReordering(why),
    };
    if mapped == a.order {
        return Reordering::Same;
    }
    match DepGraph::build(a).check_order(&mapped) {
        Ok(()) => Reordering::Legal,
        Err(v @ Violation::Edge(_)) => Reordering::Illegal(v.describe(a)),
        Err(v) => Reordering::NotReordering(v.describe(a)),
    }
}

/// The first difference between two runs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Mismatch {
    /// 1-based step after which the buffers differ (0: the initial values).
    pub step: u64,
    /// The buffer's name.
    pub buffer: String,
    /// Flat element index.
    pub element: usize,
    /// A's bits.
    pub a: u32,
    /// B's bits.
    pub b: u32,
}

impl Mismatch {
    /// `step 3: W2[17] differs: 0x3c23d70a (A) vs 0x3c23d70b (B)`.
    pub fn describe(&self) -> String {
        let when = if self.step == 0 {
            "initial values".to_string()
        } else {
            format!("step {}", self.step)
        };
        format!(
            "{when}: `{}` element {} differs: {:#010x} ({}) vs {:#010x} ({})",
            self.buffer,
            self.element,
            self.a,
            f32::from_bits(self.a),
            self.b,
            f32::from_bits(self.b)
        )
    }
}

/// The param and state buffers two programs share, paired by name: what a
/// bit-exact comparison of two runs compares.
#[derive(Clone, Debug)]
pub struct Pairs(Vec<(String, BufId, BufId)>);

impl Pairs {
    /// Pairs A's params and state with B's; an error unless both have the same
    /// names with the same sizes.
    pub fn new(a: &Validated, b: &Validated) -> Result<Pairs, OptError> {
        let persistent = |p: &Program| -> Vec<(String, BufId)> {
            p.buffers
                .values()
                .zip(p.buffer_ids())
                .filter(|(b, _)| b.role.persists())
                .map(|(b, id)| (b.name.clone(), id))
                .collect()
        };
        let (pa, pb) = (persistent(a.program()), persistent(b.program()));
        let mut pairs = Vec::with_capacity(pa.len());
        for (name, ia) in &pa {
            match pb.iter().find(|(n, _)| n == name) {
                Some((_, ib)) if a.size(*ia) == b.size(*ib) => pairs.push((name.clone(), *ia, *ib)),
                Some((_, ib)) => {
                    return Err(OptError::ProgramB {
                        message: format!(
                            "`{name}` has {} elements, in program A {}: a comparison pairs params and state of the same size",
                            b.size(*ib),
                            a.size(*ia)
                        ),
                        span: Some(b.program().buf(*ib).span),
                    });
                }
                None => {
                    return Err(OptError::ProgramB {
                        message: format!("has no param or state `{name}`, which program A has"),
                        span: None,
                    });
                }
            }
        }
        if let Some((name, ib)) = pb.iter().find(|(n, _)| !pa.iter().any(|(m, _)| m == n)) {
            return Err(OptError::ProgramB {
                message: format!("`{name}` is a param or state that program A does not have"),
                span: Some(b.program().buf(*ib).span),
            });
        }
        Ok(Pairs(pairs))
    }

    /// The first paired element whose bits differ between two interpreters,
    /// reported as after `step` steps.
    pub fn first_difference(&self, a: &Interp<'_>, b: &Interp<'_>, step: u64) -> Option<Mismatch> {
        for (name, ia, ib) in &self.0 {
            let (xa, xb) = (a.buffer(*ia), b.buffer(*ib));
            if let Some((i, (u, w))) = xa
                .iter()
                .zip(xb)
                .enumerate()
                .find(|(_, (u, w))| u.to_bits() != w.to_bits())
            {
                return Some(Mismatch {
                    step,
                    buffer: name.clone(),
                    element: i,
                    a: u.to_bits(),
                    b: w.to_bits(),
                });
            }
        }
        None
    }
}
