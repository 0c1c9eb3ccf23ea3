//! The fuse pass: rewrites that keep every parameter bit-identical.
//!
//! Rules, each a small function from a program to a rewritten program (or `None`
//! when its preconditions fail):
//! - `fold_grad`: `g = P(args)` whose only reader is `update W … with g`, with `P`
//!   fusible (`Prim::fusible`), becomes `update W … with P(args)`; the fused
//!   update calls the same kernel into scratch, then the same `sgd`.
//! - `split_multi`: `dW, db = affine_grad(dy, x)` becomes `dW = outer(dy, x)` and
//!   `db = sum(dy)`. Bit-exact: `affine_grad` computes dW with `outer_rows` and db
//!   with `sum_rows`; `outer` of 2-D arguments is `outer_rows` with the same
//!   extents and `sum` of a 2-D argument is `sum_rows` over the same row length
//!   (the shape rule makes both arguments 2-D).
//! - `fold_copy`: `g = copy(a)`, or `g = sum(a)` with `a` of shape `[1, …]`
//!   (`sum_rows` of one row copies it), read only by `update W … with g`, becomes
//!   `update W … with a`.
//! - `remove_dead`: ops whose outputs are temporaries nobody reads (and not the
//!   prediction) are removed, repeatedly.
//!
//! A fold moves a computation to the update's position, so it requires that no op
//! between them writes an argument (otherwise a third op would have to sit
//! between them). The pass applies rewrites greedily in schedule order and keeps
//! one only when the objective does not get worse; every kept rewrite is
//! re-validated.

use super::cost::{CostFunction, MetricCost, Objective};
use super::{OptError, StopReason};
use crate::ir::{BufId, Op, OpId, OpKind, Prim, Program, Role, Src, Stmt, Trivia, effects, grad};
use crate::valid::{self, Limits, Settings, Validated};

/// What the pass did.
#[derive(Clone, Debug)]
pub struct Fused {
    /// The rewritten program.
    pub validated: Validated,
    /// One line per kept rewrite.
    pub kept: Vec<String>,
    /// Rewrites tried (kept or not).
    pub tried: usize,
    /// `complete`, or `budget` when `FUSE_WORK` ran out first.
    pub stop: StopReason,
}

fn pos(p: &Program, id: OpId) -> Option<usize> {
    p.order.iter().position(|o| *o == id)
}

/// The scheduled ops that read `b`, in order (an op reading it twice appears once).
pub fn readers(p: &Program, b: BufId) -> Vec<OpId> {
    p.order
        .iter()
        .copied()
        .filter(|o| {
            effects(&p.op(*o).kind)
                .iter()
                .any(|a| a.mode == crate::ir::Mode::Read && a.buf == b)
        })
        .collect()
}

fn reads_of(p: &Program, op: OpId, b: BufId) -> usize {
    effects(&p.op(op).kind)
        .iter()
        .filter(|a| a.mode == crate::ir::Mode::Read && a.buf == b)
        .count()
}

/// The scheduled op that writes `b` (temporaries have one).
pub fn writer(p: &Program, b: BufId) -> Option<OpId> {
    p.order.iter().copied().find(|o| match &p.op(*o).kind {
        OpKind::Call { outs, .. } => outs.contains(&b),
        _ => false,
    })
}

/// Whether an op strictly between positions `from` and `to` writes one of `bufs`.
fn written_between(p: &Program, from: usize, to: usize, bufs: &[BufId]) -> bool {
    p.order[from + 1..to].iter().any(|o| {
        effects(&p.op(*o).kind)
            .iter()
            .any(|a| a.mode == crate::ir::Mode::Write && bufs.contains(&a.buf))
    })
}

/// The update that is the only reader of `g`, reading it once as its gradient.
fn sole_update(p: &Program, g: BufId) -> Option<OpId> {
    if p.buf(g).role != Role::Temp || p.predict.is_some_and(|(b, _)| b == g) {
        return None;
    }
    match readers(p, g).as_slice() {
        [u] if reads_of(p, *u, g) == 1 => match &p.op(*u).kind {
            OpKind::Update { src: Src::Buf(s), .. } if *s == g => Some(*u),
            _ => None,
        },
        _ => None,
    }
}

/// Removes a scheduled op: its statement slot goes, its leading comments move to
/// the next op. The op stays in the table until `grad::renumber` compacts it.
fn unschedule(p: &mut Program, id: OpId) {
    let Some(k) = pos(p, id) else { return };
    p.order.remove(k);
    let leading = std::mem::take(&mut p.ops[id.idx()].trivia.leading);
    match p.order.get(k) {
        Some(next) => {
            let t = &mut p.ops[next.idx()].trivia.leading;
            let rest = std::mem::take(t);
            *t = leading.into_iter().chain(rest).collect();
        }
        None => p.tail = leading.into_iter().chain(std::mem::take(&mut p.tail)).collect(),
    }
    if let Some(slot) = p
        .stmts
        .iter()
        .enumerate()
        .filter(|(_, (s, _))| matches!(s, Stmt::Op))
        .nth(k)
        .map(|(i, _)| i)
    {
        p.stmts.remove(slot);
    }
}

/// Rule (a): folds the single-output fusible producer of a gradient into its update.
pub fn fold_grad(p: &Program, producer: OpId) -> Option<Program> {
    let OpKind::Call {
        prim,
        outs,
        args,
        scalars,
        slices,
    } = &p.op(producer).kind
    else {
        return None;
    };
    if !slices.is_empty() {
        return None;
    }
    let [g] = outs.as_slice() else { return None };
    if !prim.fusible() {
        return None;
    }
    let u = sole_update(p, *g)?;
    let OpKind::Update { param, .. } = &p.op(u).kind else {
        return None;
    };
    let (i, j) = (pos(p, producer)?, pos(p, u)?);
    let ins: Vec<BufId> = args
        .iter()
        .copied()
        .chain(scalars.iter().filter_map(crate::ir::Scalar::buf))
        .collect();
    if i >= j || ins.contains(param) || written_between(p, i, j, &ins) {
        return None;
    }
    let mut q = p.clone();
    if let OpKind::Update { src, .. } = &mut q.ops[u.idx()].kind {
        *src = Src::Fused {
            prim: *prim,
            args: args.clone(),
            scalars: scalars.clone(),
        };
    }
    unschedule(&mut q, producer);
    Some(q)
}

/// Rule (c): folds a copy gradient (`copy`, or `sum` over a single row) into its update.
pub fn fold_copy(v: &Validated, p: &Program, producer: OpId) -> Option<Program> {
    let OpKind::Call {
        prim,
        outs,
        args,
        slices,
        ..
    } = &p.op(producer).kind
    else {
        return None;
    };
    if !slices.is_empty() {
        return None;
    }
    let ([g], [a]) = (outs.as_slice(), args.as_slice()) else {
        return None;
    };
    let is_copy = match prim {
        Prim::Copy => true,
        Prim::Sum => {
            let sh = v.shape(*a);
            sh.len() >= 2 && sh[0] == 1
        }
        _ => false,
    };
    if !is_copy {
        return None;
    }
    let u = sole_update(p, *g)?;
    let OpKind::Update { param, .. } = &p.op(u).kind else {
        return None;
    };
    let (i, j) = (pos(p, producer)?, pos(p, u)?);
    if i >= j || a == param || written_between(p, i, j, &[*a]) {
        return None;
    }
    let mut q = p.clone();
    if let OpKind::Update { src, .. } = &mut q.ops[u.idx()].kind {
        *src = Src::Buf(*a);
    }
    unschedule(&mut q, producer);
    Some(q)
}

/// Rule (b): splits `dW, db = affine_grad(dy, x)` into `outer` and `sum`; returns
/// the program and the ids of the two new single-output ops.
pub fn split_multi(p: &Program, op: OpId) -> Option<(Program, OpId, OpId)> {
    let OpKind::Call {
        prim: Prim::AffineGrad,
        outs,
        args,
        slices,
        ..
    } = &p.op(op).kind
    else {
        return None;
    };
    if !slices.is_empty() {
        return None;
    }
    let ([dw, db], [dy, x]) = (outs.as_slice(), args.as_slice()) else {
        return None;
    };
    let k = pos(p, op)?;
    let mut q = p.clone();
    let label = q.ops[op.idx()].label.clone();
    q.ops[op.idx()].kind = OpKind::Call {
        prim: Prim::Outer,
        outs: vec![*dw],
        args: vec![*dy, *x],
        scalars: Vec::new(),
        slices: Vec::new(),
    };
    q.ops[op.idx()].label = label.as_ref().map(|l| format!("{l}_outer"));
    let new = OpId(q.ops.len() as u32);
    q.ops.push(Op {
        label: label.map(|l| format!("{l}_sum")),
        kind: OpKind::Call {
            prim: Prim::Sum,
            outs: vec![*db],
            args: vec![*dy],
            scalars: Vec::new(),
            slices: Vec::new(),
        },
        span: p.op(op).span,
        trivia: Trivia::default(),
    });
    q.order.insert(k + 1, new);
    let slot = q
        .stmts
        .iter()
        .enumerate()
        .filter(|(_, (s, _))| matches!(s, Stmt::Op))
        .nth(k)
        .map_or(q.stmts.len(), |(i, _)| i + 1);
    q.stmts.insert(slot, (Stmt::Op, Trivia::default()));
    Some((q, op, new))
}

/// Rule (d): removes ops whose outputs are all unread temporaries (not the prediction), to a fixpoint.
pub fn remove_dead(p: &Program) -> Option<Program> {
    let mut q = p.clone();
    let mut changed = false;
    loop {
        let dead = q.order.iter().copied().find(|&o| match &q.op(o).kind {
            OpKind::Call { outs, .. } => outs.iter().all(|b| {
                q.buf(*b).role == Role::Temp && q.predict.is_none_or(|(pb, _)| pb != *b) && readers(&q, *b).is_empty()
            }),
            _ => false,
        });
        match dead {
            Some(o) => {
                unschedule(&mut q, o);
                changed = true;
            }
            None => break,
        }
    }
    changed.then_some(q)
}

/// A rewrite the pass may try, named by the ops it touches; built into a
/// program only when tried (a program is a large value, a candidate is small).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Candidate {
    /// Split the `affine_grad` `w` and fold the half that is `g` into `u`.
    Split { w: OpId, g: BufId, u: OpId },
    /// Fold the copy gradient written by `w` into `u`, or else its fusible producer.
    Fold { w: OpId, g: BufId, u: OpId },
    /// Remove every dead op.
    Dead,
}

impl Candidate {
    /// The rewritten program and its description, or `None` when the rule's
    /// preconditions fail.
    fn build(self, v: &Validated) -> Option<(String, Program)> {
        let p = v.program();
        match self {
            Candidate::Split { w, g, u } => {
                let (q, wop, bop) = split_multi(p, w)?;
                let OpKind::Call { outs, .. } = &p.op(w).kind else {
                    return None;
                };
                let piece = if outs.first() == Some(&g) { wop } else { bop };
                let r = fold_copy(v, &q, piece).or_else(|| fold_grad(&q, piece))?;
                let (gname, uname, wname) = (&p.buf(g).name, p.op_name(u), p.op_name(w));
                Some((format!("split `{wname}` and fold `{gname}` into `{uname}`"), r))
            }
            Candidate::Fold { w, g, u } => {
                let (gname, uname) = (&p.buf(g).name, p.op_name(u));
                if let Some(r) = fold_copy(v, p, w) {
                    return Some((format!("fold copy gradient `{gname}` into `{uname}`"), r));
                }
                let OpKind::Call { prim, .. } = &p.op(w).kind else {
                    return None;
                };
                let r = fold_grad(p, w)?;
                Some((format!("fold `{gname}` = {} into `{uname}`", prim.name()), r))
            }
            Candidate::Dead => {
                let r = remove_dead(p)?;
                let n = p.order.len() - r.order.len();
                Some((format!("remove {n} dead op(s)"), r))
            }
        }
    }
}

/// The candidate rewrites of a program, in schedule order of the updates they
/// feed, then dead-code removal.
fn candidates(v: &Validated) -> Vec<Candidate> {
    let p = v.program();
    let mut writers = std::collections::HashMap::new();
    for &o in &p.order {
        if let OpKind::Call { outs, .. } = &p.op(o).kind {
            for b in outs {
                writers.entry(*b).or_insert(o);
            }
        }
    }
    let mut out = Vec::new();
    for &u in &p.order {
        let OpKind::Update { src: Src::Buf(g), .. } = &p.op(u).kind else {
            continue;
        };
        let Some(&w) = writers.get(g) else { continue };
        let OpKind::Call { prim, .. } = &p.op(w).kind else {
            continue;
        };
        let g = *g;
        if *prim == Prim::AffineGrad {
            out.push(Candidate::Split { w, g, u });
        } else {
            out.push(Candidate::Fold { w, g, u });
        }
    }
    out.push(Candidate::Dead);
    out
}

/// Work units (ops of the program per rewrite tried: each try re-validates and
/// re-scores the whole step) the pass may spend before it stops with `budget`.
/// Deterministic: the same program gets the same tries on any machine.
pub const FUSE_WORK: u64 = 6_000_000;

/// Runs the fuse pass: applies rewrites while they do not worsen the objective.
pub fn fuse(v: &Validated, settings: &Settings, limits: &Limits, objective: &Objective) -> Result<Fused, OptError> {
    let mut cost = MetricCost::new(*objective);
    let mut cur = v.clone();
    let mut cur_cost = cost.cost(&cur, &cur.program().order);
    let mut kept = Vec::new();
    let mut tried = 0usize;
    let max_tries = usize::try_from(FUSE_WORK / (v.program().ops.len() as u64).max(1)).unwrap_or(usize::MAX);
    let mut stop = StopReason::Complete;
    // Each kept rewrite removes an op or a gradient buffer, so this terminates;
    // the bound is a backstop.
    'outer: for _ in 0..=v.program().ops.len() * 2 {
        let mut progress = false;
        for cand in candidates(&cur) {
            let Some((desc, prog)) = cand.build(&cur) else {
                continue;
            };
            if tried >= max_tries {
                stop = StopReason::Budget;
                break 'outer;
            }
            tried += 1;
            let next = valid::validate(grad::renumber(prog), settings, limits).map_err(|e| OptError::Invariant {
                pass: "fuse".into(),
                message: format!(
                    "rewrite `{desc}` gave an invalid program: {}",
                    e.iter().map(ToString::to_string).collect::<Vec<_>>().join("; ")
                ),
            })?;
            let c = cost.cost(&next, &next.program().order);
            if c <= cur_cost {
                kept.push(format!("{desc} ({cur_cost:.3} -> {c:.3})"));
                cur = next;
                cur_cost = c;
                progress = true;
                break;
            }
        }
        if !progress {
            break;
        }
    }
    Ok(Fused {
        validated: cur,
        kept,
        tried,
        stop,
    })
}
