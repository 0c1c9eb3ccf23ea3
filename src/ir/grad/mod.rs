//! Reverse-mode AD: expands `grad LOSS wrt P, …` into explicit backward ops.
//!
//! The lowering runs in two parts: an activity analysis (which buffers depend on
//! a requested param, which ops lie on a path to the loss) and a rule table
//! (`rules::rule`, one rule per differentiable primitive). A loss computed by
//! `hinge`, `mse`, `logistic` or `softmax_xent` is seeded by that op's gradient
//! op; any other one-element loss (a sum of losses, a weighted loss) by
//! `dL = pow(L, 0)`, which is 1. Gradients of params are named `d<P>` (or as
//! the `grad`'s `as` list names them), of temporaries `d<t>` (`<G>_d<t>` in a
//! `grad` with `as`, `G` its label or else its loss, so that several `grad`s
//! do not clash); a buffer used more than once
//! gets numbered contributions `d<t>_1, d<t>_2, …` summed with `add`. Transposes
//! are op variants (`affine_grad_x`, `matmul_nt`, `matmul_tn`, `matvec_t`),
//! never materialized copies. Each lowered op carries the span of the `grad` line.
//! The output is an ordinary program: printing and re-parsing it gives the same ops.

mod rules;

pub use rules::explain_rule;

use super::{
    BufId, Buffer, Expr, Op, OpId, OpKind, Prim, Program, Range, Role, Scalar, Slice, Slot, Src, Stmt, Trivia,
};
use crate::diag::Diagnostic;
use crate::span::Span;
use indexmap::IndexMap;
use thiserror::Error;

/// A lowering error.
#[derive(Clone, Debug, PartialEq, Error)]
pub enum GradError {
    /// An op on the path has no gradient rule, or writes in place.
    #[error("`grad` cannot differentiate through `{prim}` (op `{op}`)")]
    Unsupported {
        prim: String,
        op: String,
        /// Why, as the op's label says.
        why: &'static str,
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
            GradError::NoPath { span, .. } => d.with_label(*span, "in this `grad`"),
            GradError::Unsupported { span, op_span, why, .. } => {
                d.with_label(*span, "in this `grad`").with_label(*op_span, *why)
            }
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

/// The value of a dim or hyper by name (slice bounds and `pad` counts use them).
pub type Lookup<'a> = &'a dyn Fn(&str) -> Option<f64>;

struct Lowering<'a> {
    p: Program,
    /// Shapes by `BufId`: the inferred ones, then those of slice views.
    shapes: Vec<Option<Vec<usize>>>,
    value: Lookup<'a>,
    span: Span,
    out: Vec<Op>,
    trivia: Option<Trivia>,
    /// Remaining uses of each active buffer whose gradient is still to come.
    uses: IndexMap<BufId, usize>,
    contribs: IndexMap<BufId, Vec<Contrib>>,
    /// Whether each buffer is a requested param (indexed by `BufId`).
    is_wrt: Vec<bool>,
    /// The buffer receiving each requested param's gradient (indexed by `BufId`).
    finals: Vec<Option<BufId>>,
    /// Prefix of the gradient names of this `grad` (empty for the plain form).
    prefix: String,
    /// Intermediate buffers made so far (numbers their names).
    temps: usize,
}

impl<'a> Lowering<'a> {
    /// A lowering of `p` with no `grad` expanded yet and every buffer inactive.
    pub(super) fn new(p: &Program, shapes: &[Option<Vec<usize>>], value: Lookup<'a>) -> Self {
        Lowering {
            p: p.clone(),
            shapes: shapes.to_vec(),
            value,
            span: Span::default(),
            out: Vec::new(),
            trivia: None,
            uses: IndexMap::new(),
            contribs: IndexMap::new(),
            is_wrt: vec![false; p.buffers.len()],
            finals: vec![None; p.buffers.len()],
            prefix: String::new(),
            temps: 0,
        }
    }
}

/// Expands every `grad` of a program. `shapes` are the inferred shapes
/// (`valid::infer_shapes`), used where a rule depends on rank or broadcasting;
/// `value` gives the dims and hypers that slice bounds are written with.
pub fn lower(p: &Program, shapes: &[Option<Vec<usize>>], value: Lookup<'_>) -> Result<Program, GradError> {
    if !p.ops.iter().any(|o| matches!(o.kind, OpKind::Grad { .. })) {
        return Ok(p.clone());
    }
    let mut l = Lowering::new(p, shapes, value);
    l.p.ops.clear();
    l.p.order.clear();
    let mut new_ops: Vec<Op> = Vec::new();
    let mut slots: Vec<usize> = Vec::new();
    for (pos, &id) in p.order.iter().enumerate() {
        let op = p.op(id);
        if let OpKind::Grad { loss, wrt, outs, named } = &op.kind {
            l.span = op.span;
            l.trivia = Some(op.trivia.clone());
            l.out.clear();
            l.prefix = match (named, &op.label) {
                (false, _) => String::new(),
                (true, Some(label)) => format!("{label}_"),
                (true, None) => format!("{}_", p.buf(*loss).name),
            };
            l.finals = vec![None; p.buffers.len()];
            for (w, o) in wrt.iter().zip(outs) {
                l.finals[w.idx()] = Some(*o);
            }
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

    /// An expression scalar's value under the dims and hypers (`None` for a buffer).
    fn number(&self, s: &Scalar) -> Option<f64> {
        s.expr().and_then(|e| e.eval(&|n| (self.value)(n)).ok())
    }

    fn name(&self, b: BufId) -> String {
        self.p.buf(b).name.clone()
    }

    /// The base name of `b`'s gradient: `d<b>`, prefixed in a `grad` with `as`.
    fn grad_name(&self, b: BufId) -> String {
        format!("{}d{}", self.prefix, self.p.buf(b).name)
    }

    /// The buffer receiving a requested param's gradient.
    fn final_of(&self, b: BufId) -> Option<BufId> {
        self.finals.get(b.idx()).copied().flatten()
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
        let base = self.grad_name(a);
        if total <= 1 {
            if let Some(id) = self.final_of(a) {
                return Ok(id);
            }
            return self.new_buf(base);
        }
        self.new_buf(format!("{base}_{}", have + 1))
    }

    fn emit(&mut self, prim: Prim, outs: Vec<BufId>, args: Vec<BufId>, scalars: Vec<Scalar>) {
        self.emit_sliced(prim, outs, args, scalars, Vec::new());
    }

    /// Emits an op whose operands may be slices.
    fn emit_sliced(
        &mut self,
        prim: Prim,
        outs: Vec<BufId>,
        args: Vec<BufId>,
        scalars: Vec<Scalar>,
        slices: Vec<super::Slice>,
    ) {
        let trivia = self.trivia.take().unwrap_or_default();
        self.out.push(Op {
            label: None,
            kind: OpKind::Call {
                prim,
                outs,
                args,
                scalars,
                slices,
            },
            span: self.span,
            trivia,
        });
    }

    fn add_contrib(&mut self, a: BufId, c: Contrib) {
        self.contribs.entry(a).or_default().push(c);
    }

    /// Emits `prim(args)` as a contribution to `a`'s gradient.
    fn give(&mut self, a: BufId, prim: Prim, args: Vec<BufId>, scalars: Vec<Scalar>) -> Result<(), GradError> {
        let t = self.target(a)?;
        self.emit(prim, vec![t], args, scalars);
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
                let base = self.grad_name(b);
                let mut acc = cs[0].buf();
                for (i, c) in cs.iter().enumerate().skip(1) {
                    let last = i + 1 == cs.len();
                    let t = if last {
                        match self.final_of(b) {
                            Some(id) => id,
                            None => self.new_buf(base.clone())?,
                        }
                    } else {
                        self.new_buf(format!("{base}_acc{i}"))?
                    };
                    self.emit(Prim::Add, vec![t], vec![acc, c.buf()], Vec::new());
                    acc = t;
                }
                if cs.len() == 1 {
                    // A lone alias of a param's gradient still gets its `d<P>` buffer.
                    let t = match self.final_of(b) {
                        Some(id) => id,
                        None => self.new_buf(base)?,
                    };
                    self.emit(Prim::Copy, vec![t], vec![acc], Vec::new());
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
        self.contribs.clear();
        let act = activity(p, before, loss, wrt);
        self.uses = act.uses;
        let Some(&first) = act.path.first() else {
            return Err(GradError::NoPath {
                param: wrt.first().map_or_else(String::new, |w| self.name(*w)),
                span: self.span,
            });
        };
        // Seed with the loss op's own gradient, or with dL = 1.
        let rest = if self.seed(p, first, loss, &act.active)? {
            &act.path[1..]
        } else {
            &act.path[..]
        };
        for &id in rest {
            let op = p.op(id);
            let OpKind::Call {
                prim,
                outs,
                args,
                scalars,
                slices,
            } = &op.kind
            else {
                continue;
            };
            let Some(g) = self.gradient(outs[0])? else { continue };
            let site = rules::Site {
                prim: *prim,
                g,
                out: outs[0],
                args,
                scalars,
                act: args.iter().map(|a| act.active[a.idx()]).collect(),
                scalar_act: scalars
                    .iter()
                    .map(|s| s.buf().is_some_and(|b| act.active[b.idx()]))
                    .collect(),
            };
            let span = self.span;
            let unsupported_for = |why| GradError::Unsupported {
                prim: prim.name().into(),
                op: p.op_name(id),
                why,
                span,
                op_span: op.span,
            };
            let unsupported = || unsupported_for("no gradient rule for this op");
            // In-place outputs are not differentiated.
            let in_place =
                outs.iter().any(|o| p.buf(*o).role.persists()) || slices.iter().any(|s| matches!(s.slot, Slot::Out(_)));
            if in_place {
                return Err(unsupported_for(
                    "writes a param or state buffer in place, which `grad` does not differentiate",
                ));
            }
            let rule = rules::rule(*prim).ok_or_else(unsupported)?;
            let (views, vargs) = self.sliced_views(p, id, args, slices)?.ok_or_else(unsupported)?;
            let site = rules::Site { args: &vargs, ..site };
            let start = self.out.len();
            if !rule(self, &site)? {
                return Err(unsupported());
            }
            self.read_views(start, &views);
            for v in &views {
                if act.active[v.of.idx()] {
                    self.pad_into(v)?;
                }
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
                Some(g) if self.final_of(w) != Some(g) => {
                    let t = self.target_final(w)?;
                    self.emit(Prim::Copy, vec![t], vec![g], Vec::new());
                }
                Some(_) => {}
            }
        }
        Ok(())
    }

    /// Seeds the backward pass: a loss computed by a loss op with that op's
    /// gradient op (returns true: the op is done); any other loss `L` with
    /// `dL = pow(L, 0)`, exactly 1 (returns false: its op still has to be visited).
    fn seed(&mut self, p: &Program, first: OpId, loss: BufId, active: &[bool]) -> Result<bool, GradError> {
        if let OpKind::Call {
            prim,
            outs,
            args,
            slices,
            ..
        } = &p.op(first).kind
            && outs[0] == loss
            && slices.is_empty()
            && let Some(g) = rules::loss_grad(*prim)
            && !active[args[1].idx()]
        {
            let pred = args[0];
            if active[pred.idx()] {
                self.give(pred, g, args.clone(), Vec::new())?;
            }
            return Ok(true);
        }
        let zero = vec![Scalar::Expr(super::Expr::num(0.0))];
        self.give(loss, Prim::Pow, vec![loss], zero)?;
        Ok(false)
    }

    /// The view of operand `i` (buffer `b`, sliced by `sl`) of op `id`: a
    /// buffer of the slice's shape standing for it in the rule. Its name,
    /// `<b>_at_<op>` (`<b>_at_<op>_<i>` when the op reads `several` slices of
    /// `b`), shows only in its gradient's, `d<b>_at_<op>`. `None`
    /// when a bound does not evaluate to a whole number in range (validation
    /// has refused such a slice before the lowering runs).
    /// The views of an op's sliced operands (each of the slice's shape, as the
    /// rule sees it), and the op's arguments with every sliced one replaced by
    /// its view; `None` for a slice no view can stand for.
    fn sliced_views(
        &mut self,
        p: &Program,
        id: OpId,
        args: &[BufId],
        slices: &[Slice],
    ) -> Result<Option<Viewed>, GradError> {
        let mut views = Vec::new();
        let mut vargs = args.to_vec();
        for sl in slices {
            if let Slot::Arg(i) = sl.slot
                && let Some(&b) = args.get(i)
            {
                let several = slices
                    .iter()
                    .filter(|t| matches!(t.slot, Slot::Arg(j) if args.get(j) == Some(&b)))
                    .count()
                    > 1;
                let Some(v) = self.view(p, id, (b, i, several), sl)? else {
                    return Ok(None);
                };
                vargs[i] = v.buf;
                views.push(v);
            }
        }
        Ok(Some((views, vargs)))
    }

    fn view(
        &mut self,
        p: &Program,
        id: OpId,
        (b, i, several): (BufId, usize, bool),
        sl: &Slice,
    ) -> Result<Option<View>, GradError> {
        let Some((boxes, shape)) = self.region(b, &sl.axes) else {
            return Ok(None);
        };
        let name = if several {
            format!("{}_at_{}_{i}", p.buf(b).name, p.op_name(id))
        } else {
            format!("{}_at_{}", p.buf(b).name, p.op_name(id))
        };
        let buf = self.new_buf(name)?;
        if self.shapes.len() <= buf.idx() {
            self.shapes.resize(buf.idx() + 1, None);
        }
        self.shapes[buf.idx()] = Some(shape);
        self.uses.insert(buf, 1);
        Ok(Some(View {
            buf,
            of: b,
            axes: sl.axes.clone(),
            boxes,
        }))
    }

    /// The region a slice of `b` covers: per axis of `b` the first index and
    /// the count, and the shape an op sees (indexed axes dropped, `[1]` if none
    /// is left).
    fn region(&self, b: BufId, axes: &[Range]) -> Option<(Boxes, Vec<usize>)> {
        let full = self.shape(b);
        if full.len() != axes.len() {
            return None;
        }
        let at = |e: &Expr| {
            e.eval(&|n| (self.value)(n))
                .ok()
                .filter(|v| v.fract() == 0.0 && *v >= 0.0)
        };
        let mut boxes = Vec::new();
        let mut shape = Vec::new();
        for (r, &d) in axes.iter().zip(full) {
            let (lo, len) = match r {
                Range::All => (0, d),
                Range::Index(e) => (at(e)? as usize, 1),
                Range::Span(a, z) => {
                    let (a, z) = (at(a)? as usize, at(z)? as usize);
                    (a, z.checked_sub(a)?)
                }
            };
            if lo.checked_add(len)? > d {
                return None;
            }
            if !matches!(r, Range::Index(_)) {
                shape.push(len);
            }
            boxes.push((lo, len));
        }
        if shape.is_empty() {
            shape.push(1);
        }
        Some((boxes, shape))
    }

    /// Backward ops emitted from `start` on that read a view read its slice instead.
    fn read_views(&mut self, start: usize, views: &[View]) {
        for op in self.out.iter_mut().skip(start) {
            if let OpKind::Call { args, slices, .. } = &mut op.kind {
                for (j, a) in args.iter_mut().enumerate() {
                    if let Some(v) = views.iter().find(|v| v.buf == *a) {
                        *a = v.of;
                        slices.push(Slice {
                            slot: Slot::Arg(j),
                            axes: v.axes.clone(),
                        });
                    }
                }
            }
        }
    }

    /// The gradient of a view as a contribution to its whole buffer's: an axis
    /// the slice indexed comes back with extent 1 (one `reshape`), then each
    /// axis the slice does not cover whole is padded with zeros (one `pad` per axis).
    fn pad_into(&mut self, v: &View) -> Result<(), GradError> {
        let Some(g) = self.gradient(v.buf)? else { return Ok(()) };
        let full = self.shape(v.of).to_vec();
        let lens: Vec<usize> = v.boxes.iter().map(|(_, n)| *n).collect();
        let reshape = self.shape(v.buf) != lens.as_slice();
        let pads: Vec<usize> = (0..full.len()).filter(|&k| lens[k] != full[k]).collect();
        let steps = usize::from(reshape) + pads.len();
        if steps == 0 {
            self.add_contrib(v.of, Contrib::Alias(g));
            return Ok(());
        }
        let num = |x: usize| Scalar::Expr(Expr::num(x as f64));
        let mut cur = g;
        for s in 0..steps {
            let t = if s + 1 == steps {
                self.target(v.of)?
            } else {
                self.temp(v.of)?
            };
            if reshape && s == 0 {
                self.emit(
                    Prim::Reshape,
                    vec![t],
                    vec![cur],
                    lens.iter().map(|n| num(*n)).collect(),
                );
            } else {
                let k = pads[s - usize::from(reshape)];
                let (lo, n) = v.boxes[k];
                self.emit(
                    Prim::Pad,
                    vec![t],
                    vec![cur],
                    vec![num(k), num(lo), num(full[k] - lo - n)],
                );
            }
            cur = t;
        }
        self.add_contrib(v.of, Contrib::Fresh(cur));
        Ok(())
    }

    fn target_final(&mut self, w: BufId) -> Result<BufId, GradError> {
        match self.final_of(w) {
            Some(id) => Ok(id),
            None => self.new_buf(self.grad_name(w)),
        }
    }
}

/// Per axis of a buffer: the first index and the count a slice covers.
type Boxes = Vec<(usize, usize)>;

/// An op's views of its sliced operands, and its arguments with each sliced
/// one replaced by its view.
type Viewed = (Vec<View>, Vec<BufId>);

/// A sliced operand as a rule sees it: a buffer of the slice's shape.
struct View {
    /// The view.
    buf: BufId,
    /// The sliced buffer.
    of: BufId,
    /// The slice.
    axes: Vec<Range>,
    /// Per axis of `of`: the first index and the count the slice covers.
    boxes: Boxes,
}

/// Which buffers carry a gradient and which ops the backward pass visits.
struct Activity {
    /// Buffers that depend on a requested param through ops that pass gradients.
    active: Vec<bool>,
    /// Ops on a path from an active buffer to the loss, last first.
    path: Vec<OpId>,
    /// How many path ops read each active buffer.
    uses: IndexMap<BufId, usize>,
}

/// Every buffer an op reads: its arguments, then its buffer scalars.
fn inputs(args: &[BufId], scalars: &[Scalar]) -> Vec<BufId> {
    args.iter()
        .copied()
        .chain(scalars.iter().filter_map(Scalar::buf))
        .collect()
}

/// Forward activity from the requested params, then the backward path from the loss.
fn activity(p: &Program, before: &[OpId], loss: BufId, wrt: &[BufId]) -> Activity {
    let mut active = vec![false; p.buffers.len()];
    for w in wrt {
        active[w.idx()] = true;
    }
    for &id in before {
        if let OpKind::Call {
            prim,
            outs,
            args,
            scalars,
            ..
        } = &p.op(id).kind
            && rules::passes_gradient(*prim)
            && inputs(args, scalars).iter().any(|a| active[a.idx()])
        {
            for o in outs {
                active[o.idx()] = true;
            }
        }
    }
    let mut needed = vec![false; p.buffers.len()];
    needed[loss.idx()] = true;
    let mut path: Vec<OpId> = Vec::new();
    let mut uses: IndexMap<BufId, usize> = IndexMap::new();
    for &id in before.iter().rev() {
        if let OpKind::Call {
            outs, args, scalars, ..
        } = &p.op(id).kind
            && outs.iter().any(|o| needed[o.idx()] && active[o.idx()])
        {
            path.push(id);
            for a in inputs(args, scalars) {
                needed[a.idx()] = true;
                if active[a.idx()] {
                    *uses.entry(a).or_default() += 1;
                }
            }
        }
    }
    Activity { active, path, uses }
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
            Stmt::Op => match ops.next().map(|id| &p.op(*id).kind) {
                Some(OpKind::Call { outs, .. }) => {
                    for o in outs {
                        push(*o, &mut order);
                    }
                }
                // A `grad` not yet lowered (loops unroll first) defines the
                // `dP` buffers the parser pre-declared for it.
                Some(OpKind::Grad { wrt, .. }) => {
                    for w in wrt {
                        if let Some(d) = p.buf_id(&format!("d{}", p.buf(*w).name)) {
                            push(d, &mut order);
                        }
                    }
                }
                _ => {}
            },
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
                scalars,
                slices,
            } => OpKind::Call {
                prim,
                outs: outs.iter().map(m).collect(),
                args: args.iter().map(m).collect(),
                scalars: map_scalars(scalars, &m),
                slices,
            },
            OpKind::Update { param, rule, src } => OpKind::Update {
                param: m(&param),
                rule,
                src: match src {
                    Src::Buf(b) => Src::Buf(m(&b)),
                    Src::Fused { prim, args, scalars } => Src::Fused {
                        prim,
                        args: args.iter().map(m).collect(),
                        scalars: map_scalars(scalars, &m),
                    },
                },
            },
            OpKind::Grad { loss, wrt, outs, named } => OpKind::Grad {
                loss: m(&loss),
                wrt: wrt.iter().map(m).collect(),
                outs: outs.iter().map(m).collect(),
                named,
            },
        };
        out.push_op(op);
    }
    out
}

/// Scalars with their buffers renamed by `m`.
fn map_scalars(scalars: Vec<Scalar>, m: &impl Fn(&BufId) -> BufId) -> Vec<Scalar> {
    scalars
        .into_iter()
        .map(|s| match s {
            Scalar::Buf(b) => Scalar::Buf(m(&b)),
            e @ Scalar::Expr(_) => e,
        })
        .collect()
}
