//! Reverse-mode AD: expands `grad LOSS wrt P, …` into explicit backward ops.
//!
//! One `match` arm per primitive gives its gradient rule. The loss must come from
//! `hinge` or `mse`, whose gradient ops seed the backward pass. Gradients of
//! params are named `d<P>`, of temporaries `d<t>`; a buffer used more than once
//! gets numbered contributions `d<t>_1, d<t>_2, …` summed with `add`. Transposes
//! are op variants (`affine_grad_x`, `matmul_nt`, `matmul_tn`, `matvec_t`),
//! never materialized copies. Each lowered op carries the span of the `grad` line.
//! The output is an ordinary program: printing and re-parsing it gives the same ops.

use super::{BufId, Buffer, Op, OpId, OpKind, Prim, Program, Role, Src, Stmt, Trivia};
use crate::diag::Diagnostic;
use crate::span::Span;
use indexmap::IndexMap;
use thiserror::Error;

/// A lowering error.
#[derive(Clone, Debug, PartialEq, Error)]
pub enum GradError {
    /// The loss is not produced by a loss op.
    #[error("the loss `{loss}` must be computed by `hinge` or `mse`")]
    LossOp { loss: String, span: Span },
    /// A primitive on the path has no gradient rule.
    #[error("`grad` cannot differentiate through `{prim}` (op `{op}`)")]
    Unsupported {
        prim: String,
        op: String,
        span: Span,
        op_span: Span,
    },
    /// A generated name is already taken.
    #[error("`grad` needs the name `{name}`, which is already defined")]
    Clash { name: String, span: Span, prev: Span },
    /// No gradient reaches a requested param.
    #[error("the loss does not depend on `{param}`")]
    NoPath { param: String, span: Span },
}

impl From<&GradError> for Diagnostic {
    fn from(e: &GradError) -> Diagnostic {
        let d = Diagnostic::error(e.to_string());
        match e {
            GradError::LossOp { span, .. } | GradError::NoPath { span, .. } => d.with_label(*span, "in this `grad`"),
            GradError::Unsupported { span, op_span, .. } => d
                .with_label(*span, "in this `grad`")
                .with_label(*op_span, "no gradient rule for this op"),
            GradError::Clash { span, prev, .. } => {
                d.with_label(*span, "in this `grad`").with_label(*prev, "defined here")
            }
        }
    }
}

/// A gradient contribution: an existing buffer (no op needed) or a new one.
#[derive(Clone, Copy, Debug)]
enum Contrib {
    Alias(BufId),
    Fresh(BufId),
}

impl Contrib {
    fn buf(self) -> BufId {
        match self {
            Contrib::Alias(b) | Contrib::Fresh(b) => b,
        }
    }
}

struct Lowering<'a> {
    p: Program,
    shapes: &'a [Option<Vec<usize>>],
    span: Span,
    out: Vec<Op>,
    trivia: Option<Trivia>,
    /// Remaining uses of each active buffer whose gradient is still to come.
    uses: IndexMap<BufId, usize>,
    contribs: IndexMap<BufId, Vec<Contrib>>,
    /// Whether each buffer is a requested param (indexed by `BufId`).
    is_wrt: Vec<bool>,
}

/// Expands every `grad` of a program. `shapes` are the inferred shapes
/// (`valid::infer_shapes`), used where a rule depends on rank or broadcasting.
pub fn lower(p: &Program, shapes: &[Option<Vec<usize>>]) -> Result<Program, GradError> {
    if !p.ops.iter().any(|o| matches!(o.kind, OpKind::Grad { .. })) {
        return Ok(p.clone());
    }
    let mut l = Lowering {
        p: p.clone(),
        shapes,
        span: Span::default(),
        out: Vec::new(),
        trivia: None,
        uses: IndexMap::new(),
        contribs: IndexMap::new(),
        is_wrt: Vec::new(),
    };
    l.p.ops.clear();
    l.p.order.clear();
    let mut new_ops: Vec<Op> = Vec::new();
    let mut slots: Vec<usize> = Vec::new();
    for (pos, &id) in p.order.iter().enumerate() {
        let op = p.op(id);
        if let OpKind::Grad { loss, wrt } = &op.kind {
            l.span = op.span;
            l.trivia = Some(op.trivia.clone());
            l.out.clear();
            l.expand(p, &p.order[..pos], *loss, wrt)?;
            slots.push(l.out.len());
            new_ops.append(&mut l.out);
        } else {
            slots.push(1);
            new_ops.push(op.clone());
        }
    }
    let mut prog = l.p;
    // One statement slot per op, in place of the `grad` line.
    let mut stmts = Vec::new();
    let mut k = 0;
    for (stmt, trivia) in &p.stmts {
        if let Stmt::Op = stmt {
            let n = slots.get(k).copied().unwrap_or(1);
            k += 1;
            for _ in 0..n {
                stmts.push((Stmt::Op, Trivia::default()));
            }
        } else {
            stmts.push((stmt.clone(), trivia.clone()));
        }
    }
    prog.stmts = stmts;
    for op in new_ops {
        prog.push_op(op);
    }
    Ok(renumber(prog))
}

impl Lowering<'_> {
    fn shape(&self, b: BufId) -> &[usize] {
        self.shapes.get(b.idx()).and_then(|s| s.as_deref()).unwrap_or(&[])
    }

    fn name(&self, b: BufId) -> String {
        self.p.buf(b).name.clone()
    }

    fn new_buf(&mut self, name: String) -> Result<BufId, GradError> {
        if let Some(prev) = self.p.buffers.get(&name) {
            return Err(GradError::Clash {
                name,
                span: self.span,
                prev: prev.span,
            });
        }
        Ok(self.p.add_buffer(Buffer {
            name,
            role: Role::Temp,
            shape: None,
            init: None,
            span: self.span,
        }))
    }

    /// The buffer a new contribution to `a`'s gradient is written to.
    fn target(&mut self, a: BufId) -> Result<BufId, GradError> {
        let total = self.uses.get(&a).copied().unwrap_or(1);
        let have = self.contribs.get(&a).map_or(0, Vec::len);
        let base = format!("d{}", self.name(a));
        if total <= 1 {
            if self.is_wrt.get(a.idx()).copied().unwrap_or(false)
                && let Some(id) = self.p.buf_id(&base)
            {
                return Ok(id);
            }
            return self.new_buf(base);
        }
        self.new_buf(format!("{base}_{}", have + 1))
    }

    fn emit(&mut self, prim: Prim, outs: Vec<BufId>, args: Vec<BufId>, scalar: Option<super::Expr>) {
        let trivia = self.trivia.take().unwrap_or_default();
        self.out.push(Op {
            label: None,
            kind: OpKind::Call {
                prim,
                outs,
                args,
                scalar,
            },
            span: self.span,
            trivia,
        });
    }

    fn add_contrib(&mut self, a: BufId, c: Contrib) {
        self.contribs.entry(a).or_default().push(c);
    }

    /// Emits `prim(args)` as a contribution to `a`'s gradient.
    fn give(&mut self, a: BufId, prim: Prim, args: Vec<BufId>, scalar: Option<super::Expr>) -> Result<(), GradError> {
        let t = self.target(a)?;
        self.emit(prim, vec![t], args, scalar);
        self.add_contrib(a, Contrib::Fresh(t));
        Ok(())
    }

    /// The single gradient buffer of `b`, summing contributions when there are several.
    fn gradient(&mut self, b: BufId) -> Result<Option<BufId>, GradError> {
        let cs = self.contribs.get(&b).cloned().unwrap_or_default();
        let is_param = self.is_wrt.get(b.idx()).copied().unwrap_or(false);
        match cs.as_slice() {
            [] => Ok(None),
            [Contrib::Fresh(g)] => Ok(Some(*g)),
            [Contrib::Alias(g)] if !is_param => Ok(Some(*g)),
            _ => {
                let base = format!("d{}", self.name(b));
                let mut acc = cs[0].buf();
                for (i, c) in cs.iter().enumerate().skip(1) {
                    let last = i + 1 == cs.len();
                    let t = if last {
                        match self.p.buf_id(&base).filter(|_| is_param) {
                            Some(id) => id,
                            None => self.new_buf(base.clone())?,
                        }
                    } else {
                        self.new_buf(format!("{base}_acc{i}"))?
                    };
                    self.emit(Prim::Add, vec![t], vec![acc, c.buf()], None);
                    acc = t;
                }
                if cs.len() == 1 {
                    // A lone alias of a param's gradient still gets its `d<P>` buffer.
                    let t = match self.p.buf_id(&base) {
                        Some(id) => id,
                        None => self.new_buf(base)?,
                    };
                    self.emit(Prim::Copy, vec![t], vec![acc], None);
                    acc = t;
                }
                Ok(Some(acc))
            }
        }
    }

    fn expand(&mut self, p: &Program, before: &[OpId], loss: BufId, wrt: &[BufId]) -> Result<(), GradError> {
        self.is_wrt = vec![false; p.buffers.len()];
        for w in wrt {
            self.is_wrt[w.idx()] = true;
        }
        self.uses.clear();
        self.contribs.clear();
        // Forward: buffers that depend on a requested param.
        let mut active = vec![false; p.buffers.len()];
        for w in wrt {
            active[w.idx()] = true;
        }
        for &id in before {
            if let OpKind::Call { outs, args, .. } = &p.op(id).kind
                && args.iter().any(|a| active[a.idx()])
            {
                for o in outs {
                    active[o.idx()] = true;
                }
            }
        }
        // Backward: ops on a path from an active buffer to the loss.
        let mut needed = vec![false; p.buffers.len()];
        needed[loss.idx()] = true;
        let mut path: Vec<OpId> = Vec::new();
        for &id in before.iter().rev() {
            if let OpKind::Call { outs, args, .. } = &p.op(id).kind
                && outs.iter().any(|o| needed[o.idx()] && active[o.idx()])
            {
                path.push(id);
                for a in args {
                    needed[a.idx()] = true;
                    if active[a.idx()] {
                        *self.uses.entry(*a).or_default() += 1;
                    }
                }
            }
        }
        // Seed with the loss op's own gradient.
        let Some((&first, rest)) = path.split_first() else {
            return Err(GradError::NoPath {
                param: wrt.first().map_or_else(String::new, |w| self.name(*w)),
                span: self.span,
            });
        };
        match &p.op(first).kind {
            OpKind::Call {
                prim: prim @ (Prim::Hinge | Prim::Mse),
                outs,
                args,
                ..
            } if outs[0] == loss => {
                let g = if *prim == Prim::Hinge {
                    Prim::HingeGrad
                } else {
                    Prim::MseGrad
                };
                let pred = args[0];
                if active[pred.idx()] {
                    self.give(pred, g, args.clone(), None)?;
                }
            }
            _ => {
                return Err(GradError::LossOp {
                    loss: self.name(loss),
                    span: self.span,
                });
            }
        }
        for &id in rest {
            let op = p.op(id);
            let OpKind::Call {
                prim,
                outs,
                args,
                scalar,
            } = &op.kind
            else {
                continue;
            };
            let Some(g) = self.gradient(outs[0])? else { continue };
            let act = |i: usize| args.get(i).is_some_and(|a| active[a.idx()]);
            let span = self.span;
            let unsupported = || GradError::Unsupported {
                prim: prim.name().into(),
                op: p.op_name(id),
                span,
                op_span: op.span,
            };
            let (a0, a1) = (args[0], args.get(1).copied().unwrap_or(args[0]));
            match prim {
                Prim::Affine => {
                    let (x, w, b) = (args[0], args[1], args[2]);
                    match (act(1), act(2)) {
                        (true, true) => {
                            let (tw, tb) = (self.target(w)?, self.target(b)?);
                            self.emit(Prim::AffineGrad, vec![tw, tb], vec![g, x], None);
                            self.add_contrib(w, Contrib::Fresh(tw));
                            self.add_contrib(b, Contrib::Fresh(tb));
                        }
                        (true, false) => self.give(w, Prim::Outer, vec![g, x], None)?,
                        (false, true) => self.give(b, Prim::Sum, vec![g], None)?,
                        (false, false) => {}
                    }
                    if act(0) {
                        self.give(x, Prim::AffineGradX, vec![w, g], None)?;
                    }
                }
                Prim::MatMul | Prim::MatMulNt | Prim::MatMulTn => {
                    let (ra, rb) = match prim {
                        Prim::MatMul => ((Prim::MatMulNt, vec![g, a1]), (Prim::MatMulTn, vec![a0, g])),
                        Prim::MatMulNt => ((Prim::MatMul, vec![g, a1]), (Prim::MatMulTn, vec![g, a0])),
                        _ => ((Prim::MatMulNt, vec![a1, g]), (Prim::MatMul, vec![a0, g])),
                    };
                    if act(0) {
                        self.give(a0, ra.0, ra.1, None)?;
                    }
                    if act(1) {
                        self.give(a1, rb.0, rb.1, None)?;
                    }
                }
                Prim::MatVec | Prim::MatVecT => {
                    let t = *prim == Prim::MatVecT;
                    if act(0) {
                        self.give(a0, Prim::Outer, if t { vec![a1, g] } else { vec![g, a1] }, None)?;
                    }
                    if act(1) {
                        self.give(a1, if t { Prim::MatVec } else { Prim::MatVecT }, vec![a0, g], None)?;
                    }
                }
                Prim::Outer => {
                    let vec1 = self.shape(a0).len() == 1;
                    if act(0) {
                        let (pr, ar) = if vec1 {
                            (Prim::MatVec, vec![g, a1])
                        } else {
                            (Prim::MatMulNt, vec![a1, g])
                        };
                        self.give(a0, pr, ar, None)?;
                    }
                    if act(1) {
                        let (pr, ar) = if vec1 {
                            (Prim::MatVecT, vec![g, a0])
                        } else {
                            (Prim::MatMul, vec![a0, g])
                        };
                        self.give(a1, pr, ar, None)?;
                    }
                }
                Prim::Add | Prim::Sub => {
                    let same = self.shape(a0) == self.shape(a1);
                    if act(0) {
                        self.add_contrib(a0, Contrib::Alias(g));
                    }
                    if act(1) {
                        match (*prim, same, self.shape(a0).len() == self.shape(a1).len() + 1) {
                            (Prim::Add, true, _) => self.add_contrib(a1, Contrib::Alias(g)),
                            (Prim::Add, false, true) => self.give(a1, Prim::Sum, vec![g], None)?,
                            (Prim::Sub, true, _) => {
                                self.give(a1, Prim::Scale, vec![g], Some(super::Expr::num(-1.0)))?
                            }
                            _ => return Err(unsupported()),
                        }
                    }
                }
                Prim::Mul => {
                    if act(0) {
                        self.give(a0, Prim::Mul, vec![g, a1], None)?;
                    }
                    if act(1) {
                        if self.shape(a0) != self.shape(a1) {
                            return Err(unsupported());
                        }
                        self.give(a1, Prim::Mul, vec![g, a0], None)?;
                    }
                }
                Prim::Scale => self.give(a0, Prim::Scale, vec![g], scalar.clone())?,
                Prim::Relu => self.give(a0, Prim::ReluGrad, vec![g, a0], None)?,
                Prim::Copy => self.add_contrib(a0, Contrib::Alias(g)),
                // sign is flat almost everywhere: no gradient flows through it.
                Prim::Sign => {}
                Prim::Sum
                | Prim::AffineGrad
                | Prim::AffineGradX
                | Prim::ReluGrad
                | Prim::Hinge
                | Prim::HingeGrad
                | Prim::Mse
                | Prim::MseGrad => return Err(unsupported()),
            }
        }
        for &w in wrt {
            match self.gradient(w)? {
                None => {
                    return Err(GradError::NoPath {
                        param: self.name(w),
                        span: self.span,
                    });
                }
                Some(g) if self.p.buf_id(&format!("d{}", self.name(w))) != Some(g) => {
                    let t = self.target_final(w)?;
                    self.emit(Prim::Copy, vec![t], vec![g], None);
                }
                Some(_) => {}
            }
        }
        Ok(())
    }

    fn target_final(&mut self, w: BufId) -> Result<BufId, GradError> {
        let base = format!("d{}", self.name(w));
        match self.p.buf_id(&base) {
            Some(id) => Ok(id),
            None => self.new_buf(base),
        }
    }
}

/// Renumbers buffers into textual order (declarations and first assignments), so
/// a printed-and-reparsed program has the same layout as the lowered one.
/// Buffers no statement defines are dropped (the optimizer uses this after fusion).
pub fn renumber(p: Program) -> Program {
    let mut order: Vec<BufId> = Vec::new();
    let mut seen = vec![false; p.buffers.len()];
    let mut push = |b: BufId, order: &mut Vec<BufId>| {
        if !seen[b.idx()] {
            seen[b.idx()] = true;
            order.push(b);
        }
    };
    let mut ops = p.order.iter();
    for (stmt, _) in &p.stmts {
        match stmt {
            Stmt::Decl(b) => push(*b, &mut order),
            Stmt::Op => {
                if let Some(id) = ops.next()
                    && let OpKind::Call { outs, .. } = &p.op(*id).kind
                {
                    for o in outs {
                        push(*o, &mut order);
                    }
                }
            }
            _ => {}
        }
    }
    // Buffers that no statement defines (unused gradient names) are dropped.
    let mut map = vec![None; p.buffers.len()];
    for (new, old) in order.iter().enumerate() {
        map[old.idx()] = Some(BufId(new as u32));
    }
    let m = |b: &BufId| map[b.idx()].unwrap_or(*b);
    let mut out = Program {
        buffers: IndexMap::new(),
        ops: Vec::new(),
        order: Vec::new(),
        stmts: Vec::new(),
        ..p.clone()
    };
    for old in &order {
        let b = p.buf(*old).clone();
        out.buffers.insert(b.name.clone(), b);
    }
    out.predict = p.predict.map(|(b, s)| (m(&b), s));
    out.stmts = p
        .stmts
        .iter()
        .map(|(s, t)| {
            (
                if let Stmt::Decl(b) = s {
                    Stmt::Decl(m(b))
                } else {
                    s.clone()
                },
                t.clone(),
            )
        })
        .collect();
    for &id in &p.order {
        let mut op = p.op(id).clone();
        op.kind = match op.kind {
            OpKind::Call {
                prim,
                outs,
                args,
                scalar,
            } => OpKind::Call {
                prim,
                outs: outs.iter().map(m).collect(),
                args: args.iter().map(m).collect(),
                scalar,
            },
            OpKind::Update { param, rule, src } => OpKind::Update {
                param: m(&param),
                rule,
                src: match src {
                    Src::Buf(b) => Src::Buf(m(&b)),
                    Src::Fused { prim, args, scalar } => Src::Fused {
                        prim,
                        args: args.iter().map(m).collect(),
                        scalar,
                    },
                },
            },
            OpKind::Grad { loss, wrt } => OpKind::Grad {
                loss: m(&loss),
                wrt: wrt.iter().map(m).collect(),
            },
        };
        out.push_op(op);
    }
    out
}
