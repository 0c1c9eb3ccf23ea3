//! The rule table: one gradient rule per differentiable primitive.
//!
//! A rule sees one forward op (`Site`: the gradient `g` of its output, the output
//! `y` itself, its operands and which of them are active) and emits ops whose
//! outputs are contributions to the operands' gradients. An elementwise rule
//! computes a contribution at the output's shape; an operand that broadcasts gets
//! it summed back to its own shape (`sum` over each leading axis, `sum_all` for
//! one element). A rule returns `Ok(false)` for a case it cannot differentiate.

use super::{Contrib, GradError, Lowering};
use crate::ir::{BufId, Expr, OpId, OpKind, Prim, Program, Range, Scalar, Slice, Slot};
use crate::span::Span;

/// One forward op as a rule sees it.
pub(super) struct Site<'s> {
    /// The forward op's primitive.
    pub prim: Prim,
    /// The gradient of the output.
    pub g: BufId,
    /// The output.
    pub out: BufId,
    /// Buffer operands.
    pub args: &'s [BufId],
    /// Scalar operands.
    pub scalars: &'s [Scalar],
    /// Whether each buffer operand needs a gradient.
    pub act: Vec<bool>,
    /// Whether each scalar operand is an active buffer.
    pub scalar_act: Vec<bool>,
}

impl Site<'_> {
    fn act(&self, i: usize) -> bool {
        self.act.get(i).copied().unwrap_or(false)
    }
}

/// A gradient rule: emits the contributions of one op.
pub(super) type Rule = fn(&mut Lowering, &Site) -> Result<bool, GradError>;

/// How `grad` treats a primitive: the one table behind the lowering (`rule`,
/// `passes_gradient`) and `explain`'s gradient text (`explain_rule`).
pub(super) enum Through {
    /// Differentiated by this rule.
    Rule(Rule),
    /// Flat almost everywhere (`sign`, comparisons, bit ops): its output carries
    /// no gradient and does not make a loss depend on a param.
    Flat,
    /// `grad` stops with an error at this op.
    Stop,
}

/// The table: how `grad` treats each primitive.
pub(super) fn through(prim: Prim) -> Through {
    Through::Rule(match prim {
        Prim::Affine => affine,
        Prim::MatMul | Prim::MatMulNt | Prim::MatMulTn => matmul,
        Prim::MatVec | Prim::MatVecT => matvec,
        Prim::Outer => outer,
        Prim::Add | Prim::Sub | Prim::Mul | Prim::Div | Prim::Max | Prim::Min | Prim::Select => binary,
        Prim::Scale | Prim::Pow | Prim::Clamp => with_scalar,
        Prim::Exp
        | Prim::Log
        | Prim::Tanh
        | Prim::Sigmoid
        | Prim::Softplus
        | Prim::Abs
        | Prim::Sqrt
        | Prim::Square
        | Prim::Neg
        | Prim::Relu
        | Prim::Copy => unary,
        Prim::SumAxis | Prim::MeanAxis | Prim::Expand | Prim::Reshape | Prim::Transpose | Prim::Sum | Prim::SumAll => {
            layout
        }
        Prim::Gather | Prim::ScatterAdd => index,
        Prim::Hinge | Prim::Mse | Prim::Logistic | Prim::SoftmaxXent => loss,
        Prim::Concat => concat,
        Prim::Pad => pad,
        Prim::Sign
        | Prim::Gt
        | Prim::Ge
        | Prim::Lt
        | Prim::Le
        | Prim::Eq
        | Prim::Xor
        | Prim::And
        | Prim::Or
        | Prim::Not
        | Prim::Query => return Through::Flat,
        _ => return Through::Stop,
    })
}

/// The gradient op of a loss op (with respect to its prediction).
pub(super) fn loss_grad(prim: Prim) -> Option<Prim> {
    Some(match prim {
        Prim::Hinge => Prim::HingeGrad,
        Prim::Mse => Prim::MseGrad,
        Prim::Logistic => Prim::LogisticGrad,
        Prim::SoftmaxXent => Prim::SoftmaxXentGrad,
        _ => return None,
    })
}

/// The rule of a primitive, or `None` when `grad` cannot pass through it.
pub(super) fn rule(prim: Prim) -> Option<Rule> {
    match through(prim) {
        Through::Rule(r) => Some(r),
        _ => None,
    }
}

/// Whether a gradient flows through the primitive at all (see `Through::Flat`).
pub(super) fn passes_gradient(prim: Prim) -> bool {
    !matches!(through(prim), Through::Flat)
}

const STOPS: &str = "none: `grad` stops with an error at this op";

/// `explain`'s gradient text for the call `id` of `p` (`shapes` inferred): the
/// table's entry, and for a rule or a loss the ops the lowering emits for that
/// very op with every operand active, in order, as `.sutro` statements (`dc`
/// is the gradient of the output `c`; `dX = Y` says `X`'s gradient is `Y`).
pub fn explain_rule(p: &Program, shapes: &[Option<Vec<usize>>], id: OpId) -> String {
    let OpKind::Call {
        prim,
        outs,
        args,
        scalars,
        ..
    } = &p.op(id).kind
    else {
        return STOPS.to_string();
    };
    let rule = match through(*prim) {
        Through::Flat => return "no gradient (flat almost everywhere)".to_string(),
        Through::Stop => return STOPS.to_string(),
        Through::Rule(r) => r,
    };
    let mut l = Lowering::new(p, shapes, &|_| None);
    for a in args.iter().chain(scalars.iter().filter_map(|s| match s {
        Scalar::Buf(b) => Some(b),
        Scalar::Expr(_) => None,
    })) {
        *l.uses.entry(*a).or_default() += 1;
    }
    let out = outs.first().copied().unwrap_or(BufId(0));
    // Every operand is active except a loss's target, which `grad` never differentiates.
    let is_loss = loss_grad(*prim).is_some();
    let ran = l.new_buf(l.grad_name(out)).and_then(|g| {
        let site = Site {
            prim: *prim,
            g,
            out,
            args,
            scalars,
            act: (0..args.len()).map(|i| !(is_loss && i > 0)).collect(),
            scalar_act: scalars.iter().map(|s| matches!(s, Scalar::Buf(_))).collect(),
        };
        rule(&mut l, &site)
    });
    let seeded = match (is_loss, args.first()) {
        (true, Some(pred)) => format!(
            "as the loss: d{} = {}({}); inside a larger loss: ",
            l.name(*pred),
            loss_grad(*prim).map_or("", Prim::name),
            args.iter().map(|a| l.name(*a)).collect::<Vec<_>>().join(", ")
        ),
        _ => String::new(),
    };
    match ran {
        Ok(true) => format!("{seeded}{}", l.emitted_text()),
        Ok(false) => format!("{STOPS} (this case)"),
        Err(e) => format!("none: {e}"),
    }
}

impl Lowering<'_> {
    /// The emitted ops as statements, each buffer's contributions in the order
    /// they were made (`dX = Y` for a gradient that is another buffer).
    fn emitted_text(&self) -> String {
        let mut q = self.p.clone();
        let texts: Vec<(Vec<BufId>, String)> = (self.out.iter())
            .map(|op| {
                let outs = match &op.kind {
                    OpKind::Call { outs, .. } => outs.clone(),
                    _ => Vec::new(),
                };
                let id = q.push_op(op.clone());
                (outs, q.op_text(id))
            })
            .collect();
        let mut done = vec![false; texts.len()];
        let mut parts: Vec<String> = Vec::new();
        let mut upto = |parts: &mut Vec<String>, t: BufId| {
            if let Some(last) = texts.iter().position(|(o, _)| o.contains(&t)) {
                for k in 0..=last {
                    if !done[k] {
                        done[k] = true;
                        parts.push(texts[k].1.clone());
                    }
                }
            }
        };
        for (a, cs) in &self.contribs {
            for c in cs {
                match c {
                    Contrib::Fresh(t) => upto(&mut parts, *t),
                    Contrib::Alias(t) => parts.push(format!("{} = {}", self.grad_name(*a), self.name(*t))),
                }
            }
        }
        if let Some(n) = texts.len().checked_sub(1) {
            upto(&mut parts, texts[n].0.first().copied().unwrap_or(BufId(0)));
        }
        parts.join("; ")
    }
}

fn no_scalars() -> Vec<Scalar> {
    Vec::new()
}

fn expr(e: f64) -> Vec<Scalar> {
    vec![Scalar::Expr(Expr::num(e))]
}

impl Lowering<'_> {
    /// A fresh intermediate buffer for a contribution to `a`'s gradient.
    pub(super) fn temp(&mut self, a: BufId) -> Result<BufId, GradError> {
        self.temps += 1;
        let name = format!("{}_t{}", self.grad_name(a), self.temps);
        self.new_buf(name)
    }

    /// Emits `prim(args)` into a fresh intermediate and returns it.
    fn tmp_op(&mut self, a: BufId, prim: Prim, args: Vec<BufId>, scalars: Vec<Scalar>) -> Result<BufId, GradError> {
        let t = self.temp(a)?;
        self.emit(prim, vec![t], args, scalars);
        Ok(t)
    }

    /// Sums a full-shape buffer `t` down to `a`'s shape as a contribution to `a`.
    fn reduce_into(&mut self, a: BufId, t: BufId, full: &[usize]) -> Result<(), GradError> {
        let sh = self.shape(a).to_vec();
        if sh == full {
            self.add_contrib(a, Contrib::Alias(t));
            return Ok(());
        }
        if sh.iter().product::<usize>() == 1 {
            return self.give(a, Prim::SumAll, vec![t], no_scalars());
        }
        let k = full.len().saturating_sub(sh.len()).max(1);
        let mut cur = t;
        for _ in 1..k {
            cur = self.tmp_op(a, Prim::Sum, vec![cur], no_scalars())?;
        }
        self.give(a, Prim::Sum, vec![cur], no_scalars())
    }

    /// Computes `prim(args)` at the output's shape. When `a` is active the value
    /// becomes its contribution (summed to its shape if it broadcasts). Returns
    /// the full-shape buffer when `keep` asks for it (or when it was made anyway).
    fn full(
        &mut self,
        s: &Site,
        i: usize,
        keep: bool,
        prim: Prim,
        args: Vec<BufId>,
        scalars: Vec<Scalar>,
    ) -> Result<Option<BufId>, GradError> {
        let a = s.args[i];
        let full = self.shape(s.out).to_vec();
        if s.act(i) && self.shape(a) == full {
            let t = self.target(a)?;
            self.emit(prim, vec![t], args, scalars);
            self.add_contrib(a, Contrib::Fresh(t));
            return Ok(Some(t));
        }
        if !s.act(i) && !keep {
            return Ok(None);
        }
        let t = self.tmp_op(a, prim, args, scalars)?;
        if s.act(i) {
            self.reduce_into(a, t, &full)?;
        }
        Ok(Some(t))
    }

    /// The gradient `g` itself as `a`'s contribution (summed if `a` broadcasts).
    fn pass(&mut self, s: &Site, i: usize) -> Result<(), GradError> {
        if s.act(i) {
            let full = self.shape(s.out).to_vec();
            self.reduce_into(s.args[i], s.g, &full)?;
        }
        Ok(())
    }
}

fn affine(l: &mut Lowering, s: &Site) -> Result<bool, GradError> {
    let (g, x, w, b) = (s.g, s.args[0], s.args[1], s.args[2]);
    match (s.act(1), s.act(2)) {
        (true, true) => {
            let (tw, tb) = (l.target(w)?, l.target(b)?);
            l.emit(Prim::AffineGrad, vec![tw, tb], vec![g, x], no_scalars());
            l.add_contrib(w, Contrib::Fresh(tw));
            l.add_contrib(b, Contrib::Fresh(tb));
        }
        (true, false) => l.give(w, Prim::Outer, vec![g, x], no_scalars())?,
        (false, true) => l.give(b, Prim::Sum, vec![g], no_scalars())?,
        (false, false) => {}
    }
    if s.act(0) {
        l.give(x, Prim::AffineGradX, vec![w, g], no_scalars())?;
    }
    Ok(true)
}

fn matmul(l: &mut Lowering, s: &Site) -> Result<bool, GradError> {
    let prim = s.prim;
    let (g, a0, a1) = (s.g, s.args[0], s.args[1]);
    let (ra, rb) = match prim {
        Prim::MatMul => ((Prim::MatMulNt, vec![g, a1]), (Prim::MatMulTn, vec![a0, g])),
        Prim::MatMulNt => ((Prim::MatMul, vec![g, a1]), (Prim::MatMulTn, vec![g, a0])),
        _ => ((Prim::MatMulNt, vec![a1, g]), (Prim::MatMul, vec![a0, g])),
    };
    if s.act(0) {
        l.give(a0, ra.0, ra.1, no_scalars())?;
    }
    if s.act(1) {
        l.give(a1, rb.0, rb.1, no_scalars())?;
    }
    Ok(true)
}

fn matvec(l: &mut Lowering, s: &Site) -> Result<bool, GradError> {
    let prim = s.prim;
    let (g, a0, a1) = (s.g, s.args[0], s.args[1]);
    let t = prim == Prim::MatVecT;
    if s.act(0) {
        l.give(a0, Prim::Outer, if t { vec![a1, g] } else { vec![g, a1] }, no_scalars())?;
    }
    if s.act(1) {
        l.give(
            a1,
            if t { Prim::MatVec } else { Prim::MatVecT },
            vec![a0, g],
            no_scalars(),
        )?;
    }
    Ok(true)
}

fn outer(l: &mut Lowering, s: &Site) -> Result<bool, GradError> {
    let (g, a0, a1) = (s.g, s.args[0], s.args[1]);
    let vec1 = l.shape(a0).len() == 1;
    if s.act(0) {
        let (pr, ar) = if vec1 {
            (Prim::MatVec, vec![g, a1])
        } else {
            (Prim::MatMulNt, vec![a1, g])
        };
        l.give(a0, pr, ar, no_scalars())?;
    }
    if s.act(1) {
        let (pr, ar) = if vec1 {
            (Prim::MatVecT, vec![g, a0])
        } else {
            (Prim::MatMul, vec![a0, g])
        };
        l.give(a1, pr, ar, no_scalars())?;
    }
    Ok(true)
}

/// Two (or, for `select`, three) buffer operands, with broadcasting.
fn binary(l: &mut Lowering, s: &Site) -> Result<bool, GradError> {
    let prim = s.prim;
    let (g, y) = (s.g, s.out);
    let (a0, a1) = (s.args[0], s.args[1]);
    match prim {
        Prim::Add => {
            l.pass(s, 0)?;
            l.pass(s, 1)?;
        }
        Prim::Sub => {
            l.pass(s, 0)?;
            l.full(s, 1, false, Prim::Scale, vec![g], expr(-1.0))?;
        }
        Prim::Mul => {
            l.full(s, 0, false, Prim::Mul, vec![g, a1], no_scalars())?;
            l.full(s, 1, false, Prim::Mul, vec![g, a0], no_scalars())?;
        }
        Prim::Div => {
            let q = l.full(s, 0, s.act(1), Prim::Div, vec![g, a1], no_scalars())?;
            if let (true, Some(q)) = (s.act(1), q) {
                let u = l.tmp_op(a1, Prim::Mul, vec![q, y], no_scalars())?;
                l.full(s, 1, false, Prim::Neg, vec![u], no_scalars())?;
            }
        }
        Prim::Max | Prim::Min => {
            let mask = if prim == Prim::Max { Prim::Ge } else { Prim::Le };
            let m = l.tmp_op(a0, mask, vec![a0, a1], no_scalars())?;
            let q = l.full(s, 0, s.act(1), Prim::Mul, vec![g, m], no_scalars())?;
            if let (true, Some(q)) = (s.act(1), q) {
                l.full(s, 1, false, Prim::Sub, vec![g, q], no_scalars())?;
            }
        }
        Prim::Select => {
            // select(c, a, b): a's share is relu_grad(g, c), b's the rest; none to c.
            let c = a0;
            let q = l.full(s, 1, s.act(2), Prim::ReluGrad, vec![g, c], no_scalars())?;
            if let (true, Some(q)) = (s.act(2), q) {
                l.full(s, 2, false, Prim::Sub, vec![g, q], no_scalars())?;
            }
        }
        _ => return Ok(false),
    }
    Ok(true)
}

/// One buffer operand and scalar operands.
fn with_scalar(l: &mut Lowering, s: &Site) -> Result<bool, GradError> {
    let prim = s.prim;
    let (g, a) = (s.g, s.args[0]);
    match prim {
        Prim::Scale => {
            if s.act(0) {
                l.give(a, Prim::Scale, vec![g], s.scalars.to_vec())?;
            }
            if let (Some(true), Some(Scalar::Buf(sb))) = (s.scalar_act.first(), s.scalars.first()) {
                let t = l.tmp_op(*sb, Prim::Mul, vec![g, a], no_scalars())?;
                l.give(*sb, Prim::SumAll, vec![t], no_scalars())?;
            }
        }
        Prim::Pow => {
            let Some(Scalar::Expr(p)) = s.scalars.first() else {
                return Ok(false);
            };
            if s.act(0) {
                let p1 = Expr::Bin {
                    op: '-',
                    lhs: Box::new(p.clone()),
                    rhs: Box::new(Expr::num(1.0)),
                    span: Span::default(),
                };
                let t = l.tmp_op(a, Prim::Pow, vec![a], vec![Scalar::Expr(p1)])?;
                let u = l.tmp_op(a, Prim::Mul, vec![g, t], no_scalars())?;
                l.give(a, Prim::Scale, vec![u], vec![Scalar::Expr(p.clone())])?;
            }
        }
        Prim::Clamp => {
            if s.act(0) {
                l.give(a, Prim::ClampGrad, vec![g, a], s.scalars.to_vec())?;
            }
        }
        _ => return Ok(false),
    }
    Ok(!s.scalar_act.iter().any(|x| *x) || prim == Prim::Scale)
}

/// One buffer operand of the output's shape.
fn unary(l: &mut Lowering, s: &Site) -> Result<bool, GradError> {
    let prim = s.prim;
    let (g, y, a) = (s.g, s.out, s.args[0]);
    if !s.act(0) {
        return Ok(true);
    }
    match prim {
        Prim::Copy => l.add_contrib(a, Contrib::Alias(g)),
        Prim::Relu => l.give(a, Prim::ReluGrad, vec![g, a], no_scalars())?,
        Prim::Exp => l.give(a, Prim::Mul, vec![g, y], no_scalars())?,
        Prim::Log => l.give(a, Prim::Div, vec![g, a], no_scalars())?,
        Prim::Tanh => l.give(a, Prim::TanhGrad, vec![g, y], no_scalars())?,
        Prim::Sigmoid => l.give(a, Prim::SigmoidGrad, vec![g, y], no_scalars())?,
        Prim::Neg => l.give(a, Prim::Neg, vec![g], no_scalars())?,
        Prim::Softplus => {
            let t = l.tmp_op(a, Prim::Sigmoid, vec![a], no_scalars())?;
            l.give(a, Prim::Mul, vec![g, t], no_scalars())?;
        }
        Prim::Abs => {
            let t = l.tmp_op(a, Prim::Sign, vec![a], no_scalars())?;
            l.give(a, Prim::Mul, vec![g, t], no_scalars())?;
        }
        Prim::Sqrt => {
            let t = l.tmp_op(a, Prim::Div, vec![g, y], no_scalars())?;
            l.give(a, Prim::Scale, vec![t], expr(0.5))?;
        }
        Prim::Square => {
            let t = l.tmp_op(a, Prim::Mul, vec![g, a], no_scalars())?;
            l.give(a, Prim::Scale, vec![t], expr(2.0))?;
        }
        _ => return Ok(false),
    }
    Ok(true)
}

/// The axis (first scalar) of an axis op, when it is written as a number.
fn axis_of(s: &Site) -> Option<usize> {
    match s.scalars.first() {
        Some(Scalar::Expr(Expr::Num { value, .. })) => Some(*value as usize),
        _ => None,
    }
}

/// Sums, means and pure moves of elements: the gradient moves back. Axis ops
/// are differentiated when their axis is written as a number.
fn layout(l: &mut Lowering, s: &Site) -> Result<bool, GradError> {
    let (g, a) = (s.g, s.args[0]);
    if !s.act(0) {
        return Ok(true);
    }
    let sh = l.shape(a).to_vec();
    match s.prim {
        Prim::SumAxis | Prim::MeanAxis => {
            let Some(k) = axis_of(s) else { return Ok(false) };
            let n = sh.get(k).copied().unwrap_or(1);
            let back = vec![Scalar::Expr(Expr::num(k as f64)), Scalar::Expr(Expr::num(n as f64))];
            if s.prim == Prim::SumAxis {
                l.give(a, Prim::Expand, vec![g], back)?;
            } else {
                let t = l.tmp_op(a, Prim::Expand, vec![g], back)?;
                l.give(a, Prim::Scale, vec![t], expr(1.0 / n as f64))?;
            }
        }
        Prim::Expand => {
            let Some(k) = axis_of(s) else { return Ok(false) };
            // expand of a [1] buffer made a vector: sum it whole.
            let k = if sh == [1] { 0 } else { k };
            l.give(a, Prim::SumAxis, vec![g], expr(k as f64))?;
        }
        Prim::Reshape => {
            let dims = sh.iter().map(|d| Scalar::Expr(Expr::num(*d as f64))).collect();
            l.give(a, Prim::Reshape, vec![g], dims)?;
        }
        Prim::Transpose => l.give(a, Prim::Transpose, vec![g], no_scalars())?,
        Prim::Sum => {
            let n = sh.first().copied().unwrap_or(1);
            l.give(
                a,
                Prim::Expand,
                vec![g],
                vec![Scalar::Expr(Expr::num(0.0)), Scalar::Expr(Expr::num(n as f64))],
            )?;
        }
        Prim::SumAll => {
            let n: usize = sh.iter().product();
            let back = vec![Scalar::Expr(Expr::num(0.0)), Scalar::Expr(Expr::num(n as f64))];
            if sh.len() <= 1 {
                l.give(a, Prim::Expand, vec![g], back)?;
            } else {
                let t = l.tmp_op(a, Prim::Expand, vec![g], back)?;
                let dims = sh.iter().map(|d| Scalar::Expr(Expr::num(*d as f64))).collect();
                l.give(a, Prim::Reshape, vec![t], dims)?;
            }
        }
        _ => return Ok(false),
    }
    Ok(true)
}

/// `gather` and `scatter_add` move entries by an index buffer: the gradient
/// moves back by the same indices (`gather`'s is a `scatter_add` into the
/// operand's extent, `scatter_add`'s a `gather`); the indices get none.
/// Differentiated when the axis is written as a number.
fn index(l: &mut Lowering, s: &Site) -> Result<bool, GradError> {
    let (g, a, i) = (s.g, s.args[0], s.args[1]);
    if !s.act(0) {
        return Ok(true);
    }
    let Some(k) = axis_of(s) else { return Ok(false) };
    let axis = Scalar::Expr(Expr::num(k as f64));
    if s.prim == Prim::Gather {
        let n = l.shape(a).get(k).copied().unwrap_or(1);
        l.give(
            a,
            Prim::ScatterAdd,
            vec![g, i],
            vec![axis, Scalar::Expr(Expr::num(n as f64))],
        )?;
    } else {
        l.give(a, Prim::Gather, vec![g, i], vec![axis])?;
    }
    Ok(true)
}

/// A loss op inside a larger loss (`add(l1, l2)`, `scale(l, 0.5)`): its gradient
/// op scaled by the incoming one-element gradient. Targets are not differentiated.
fn loss(l: &mut Lowering, s: &Site) -> Result<bool, GradError> {
    let Some(grad) = loss_grad(s.prim) else {
        return Ok(false);
    };
    if s.act(1) {
        return Ok(false);
    }
    if s.act(0) {
        let pred = s.args[0];
        let t = l.tmp_op(pred, grad, s.args.to_vec(), no_scalars())?;
        l.give(pred, Prim::Scale, vec![t], vec![Scalar::Buf(s.g)])?;
    }
    Ok(true)
}

/// `concat(a, b, k)`: each operand's gradient is its part of `dy`, read as a
/// slice along axis k (`copy(dy[:, 0:na])`, `copy(dy[:, na:na + nb])`).
fn concat(l: &mut Lowering, s: &Site) -> Result<bool, GradError> {
    let Some(k) = axis_of(s) else { return Ok(false) };
    let mut lo = 0;
    for i in 0..2 {
        let n = l.shape(s.args[i]).get(k).copied().unwrap_or(1);
        if s.act(i) {
            l.give_part(s, i, k, lo)?;
        }
        lo += n;
    }
    Ok(true)
}

/// `pad(a, k, before, after)`: a's gradient is the middle part of `dy`, read as
/// a slice along axis k (`copy(dy[:, before:before + na])`). Differentiated
/// when the axis and the count before are expressions (of numbers, dims and
/// hypers: the lowering writes the slice's bounds as numbers).
fn pad(l: &mut Lowering, s: &Site) -> Result<bool, GradError> {
    let count = |i: usize| s.scalars.get(i).and_then(|x| l.number(x));
    let (Some(k), Some(before)) = (count(0), count(1)) else {
        return Ok(false);
    };
    if s.act(0) {
        l.give_part(s, 0, k as usize, before as usize)?;
    }
    Ok(true)
}

impl Lowering<'_> {
    /// Gives operand `i` of `s` its part of `dy`: `copy(dy[…, lo:lo + n, …])`,
    /// the operand's extent n along axis k of the output.
    fn give_part(&mut self, s: &Site, i: usize, k: usize, lo: usize) -> Result<(), GradError> {
        let a = s.args[i];
        let n = self.shape(a).get(k).copied().unwrap_or(1);
        let rank = self.shape(s.out).len();
        let axes = (0..rank)
            .map(|d| {
                if d == k {
                    Range::Span(Expr::num(lo as f64), Expr::num((lo + n) as f64))
                } else {
                    Range::All
                }
            })
            .collect();
        let t = self.target(a)?;
        let slice = Slice {
            slot: Slot::Arg(0),
            axes,
        };
        self.emit_sliced(Prim::Copy, vec![t], vec![s.g], no_scalars(), vec![slice]);
        self.add_contrib(a, Contrib::Fresh(t));
        Ok(())
    }
}
