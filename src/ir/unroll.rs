//! Counted loops unroll to the straight-line form every later phase reads.
//!
//! `for i in LO..HI { … }` repeats its body once per index value, in order, with
//! the index substituted as a number in every scalar expression and slice bound.
//! A temporary the body defines gets one copy per iteration, named with the
//! index values as suffixes (`t` → `t_3`, or `t_1_2` in nested loops), and so
//! does a label (`row` → `row_3`); params and state keep their names (the body
//! updates them in place). A loop-carried temporary (defined outside every loop,
//! assigned again inside one) gets a new version per assignment, named the same
//! way, and every later read, in the loop or after it, sees the latest version. The result is an ordinary program: printing it and
//! parsing the text gives the same ops and layout (`sutro print --lowered`).

use super::{BufId, Buffer, Expr, Op, OpId, OpKind, Program, Range, Scalar, Slice, Stmt, Trivia};
use crate::span::Span;
use indexmap::IndexMap;
use std::collections::HashMap;
use thiserror::Error;

/// An unrolling error.
#[derive(Clone, Debug, PartialEq, Error)]
pub enum UnrollError {
    /// A bound is not a whole number.
    #[error("a loop bound is not a whole number ({value})")]
    Bound { value: f64, span: Span },
    /// Too many ops after unrolling.
    #[error("the program has more than {limit} ops after unrolling loops (--max-ops)")]
    TooManyOps { limit: usize, span: Span },
    /// A per-iteration name (of a buffer or an op) is taken.
    #[error("unrolling needs the name `{name}`, which is already defined")]
    Clash { name: String, span: Span },
}

impl UnrollError {
    /// The primary span.
    pub fn span(&self) -> Span {
        match self {
            UnrollError::Bound { span, .. }
            | UnrollError::TooManyOps { span, .. }
            | UnrollError::Clash { span, .. } => *span,
        }
    }
}

/// A statement of the loop tree.
enum Item {
    /// A non-op statement (index into `stmts`).
    Stmt(usize),
    /// An op.
    Op(OpId),
    /// A loop with its statement index and body.
    Loop(usize, Vec<Item>),
}

/// Builds the loop tree from the statement list.
fn tree(p: &Program) -> Vec<Item> {
    let mut stack: Vec<(usize, Vec<Item>)> = vec![(0, Vec::new())];
    let mut ops = p.order.iter();
    for (i, (stmt, _)) in p.stmts.iter().enumerate() {
        match stmt {
            Stmt::Op => {
                if let (Some(id), Some(top)) = (ops.next(), stack.last_mut()) {
                    top.1.push(Item::Op(*id));
                }
            }
            Stmt::Loop { .. } => stack.push((i, Vec::new())),
            Stmt::End => {
                if stack.len() > 1
                    && let Some((at, body)) = stack.pop()
                    && let Some(top) = stack.last_mut()
                {
                    top.1.push(Item::Loop(at, body));
                }
            }
            _ => {
                if let Some(top) = stack.last_mut() {
                    top.1.push(Item::Stmt(i));
                }
            }
        }
    }
    // Unclosed loops (the parser reports them) close at the end.
    while stack.len() > 1 {
        if let Some((at, body)) = stack.pop()
            && let Some(top) = stack.last_mut()
        {
            top.1.push(Item::Loop(at, body));
        }
    }
    stack.pop().map(|t| t.1).unwrap_or_default()
}

/// Replaces loop indices by their values.
pub fn subst(e: &Expr, env: &[(String, i64)]) -> Expr {
    match e {
        Expr::Name { name, span } => match env.iter().rev().find(|(n, _)| n == name) {
            Some((_, v)) => Expr::Num {
                value: *v as f64,
                span: *span,
            },
            None => e.clone(),
        },
        Expr::Num { .. } => e.clone(),
        Expr::Neg { inner, span } => Expr::Neg {
            inner: Box::new(subst(inner, env)),
            span: *span,
        },
        Expr::Sqrt { inner, span } => Expr::Sqrt {
            inner: Box::new(subst(inner, env)),
            span: *span,
        },
        Expr::Bin { op, lhs, rhs, span } => Expr::Bin {
            op: *op,
            lhs: Box::new(subst(lhs, env)),
            rhs: Box::new(subst(rhs, env)),
            span: *span,
        },
    }
}

struct Unroll<'a> {
    p: &'a Program,
    dims: &'a IndexMap<String, u64>,
    max_ops: usize,
    q: Program,
    /// Leading comments waiting for the next emitted op (from a `for` line).
    pending: Vec<Option<String>>,
    /// Op names so far.
    names: std::collections::HashSet<String>,
    /// Loop-carried temporaries (defined outside every loop, assigned again
    /// inside one): whether each buffer is one (indexed by `BufId`).
    is_carried: Vec<bool>,
    /// The latest version of each carried temporary assigned in a loop so far.
    carried: HashMap<BufId, BufId>,
}

/// Unrolls every loop of `p` under resolved `dims`; a program without loops is returned unchanged.
pub fn unroll(p: &Program, dims: &IndexMap<String, u64>, max_ops: usize) -> Result<Program, UnrollError> {
    if !p.stmts.iter().any(|(s, _)| matches!(s, Stmt::Loop { .. })) {
        return Ok(p.clone());
    }
    let mut u = Unroll {
        p,
        dims,
        max_ops,
        q: Program {
            ops: Vec::new(),
            order: Vec::new(),
            stmts: Vec::new(),
            ..p.clone()
        },
        pending: Vec::new(),
        names: std::collections::HashSet::new(),
        is_carried: carried_temps(p),
        carried: HashMap::new(),
    };
    let items = tree(p);
    u.items(&items, &mut Vec::new(), &HashMap::new(), true)?;
    Ok(super::grad::renumber(u.q))
}

impl Unroll<'_> {
    fn eval(&self, e: &Expr, env: &[(String, i64)]) -> Result<i64, UnrollError> {
        let v = subst(e, env)
            .eval(&|n| self.dims.get(n).map(|v| *v as f64))
            .unwrap_or(f64::NAN);
        if v.is_finite() && v.fract() == 0.0 && v.abs() < 9.007e15 {
            Ok(v as i64)
        } else {
            Err(UnrollError::Bound {
                value: v,
                span: e.span(),
            })
        }
    }

    fn items(
        &mut self,
        items: &[Item],
        env: &mut Vec<(String, i64)>,
        rename: &HashMap<BufId, BufId>,
        first: bool,
    ) -> Result<(), UnrollError> {
        let mut rename = rename.clone();
        for item in items {
            match item {
                Item::Stmt(i) => self.q.stmts.push(self.p.stmts[*i].clone()),
                Item::Op(id) => self.op(*id, env, &mut rename, first)?,
                Item::Loop(at, body) => {
                    let (Stmt::Loop { var, lo, hi }, trivia) = &self.p.stmts[*at] else {
                        continue;
                    };
                    let (lo, hi) = (self.eval(lo, env)?, self.eval(hi, env)?);
                    if first {
                        self.pending.extend(trivia.leading.iter().cloned());
                    }
                    for v in lo..hi {
                        env.push((var.clone(), v));
                        self.items(body, env, &rename, first && v == lo)?;
                        env.pop();
                    }
                }
            }
        }
        Ok(())
    }

    fn op(
        &mut self,
        id: OpId,
        env: &[(String, i64)],
        rename: &mut HashMap<BufId, BufId>,
        first: bool,
    ) -> Result<(), UnrollError> {
        let op = self.p.op(id);
        if self.q.ops.len() >= self.max_ops {
            return Err(UnrollError::TooManyOps {
                limit: self.max_ops,
                span: op.span,
            });
        }
        let suffix: String = env.iter().map(|(_, v)| format!("_{v}")).collect();
        let carried = &self.carried;
        let m =
            |b: &BufId, rename: &HashMap<BufId, BufId>| rename.get(b).or_else(|| carried.get(b)).copied().unwrap_or(*b);
        let kind = match &op.kind {
            OpKind::Call {
                prim,
                outs,
                args,
                scalars,
                slices,
            } => {
                let args = args.iter().map(|b| m(b, rename)).collect();
                let scalars = scalars
                    .iter()
                    .map(|s| match s {
                        Scalar::Expr(e) => Scalar::Expr(subst(e, env)),
                        Scalar::Buf(b) => Scalar::Buf(m(b, rename)),
                    })
                    .collect();
                let slices = slices
                    .iter()
                    .map(|s| Slice {
                        slot: s.slot,
                        axes: s.axes.iter().map(|r| subst_range(r, env)).collect(),
                    })
                    .collect();
                let mut new_outs = Vec::new();
                for o in outs {
                    let b = self.p.buf(*o);
                    if env.is_empty() || b.role.persists() {
                        new_outs.push(*o);
                        continue;
                    }
                    let name = format!("{}{suffix}", b.name);
                    if self.q.buffers.contains_key(&name) {
                        return Err(UnrollError::Clash { name, span: op.span });
                    }
                    let nb = self.q.add_buffer(Buffer { name, ..b.clone() });
                    if self.is_carried.get(o.idx()).copied().unwrap_or(false) {
                        self.carried.insert(*o, nb);
                    } else {
                        rename.insert(*o, nb);
                    }
                    new_outs.push(nb);
                }
                OpKind::Call {
                    prim: *prim,
                    outs: new_outs,
                    args,
                    scalars,
                    slices,
                }
            }
            other => other.clone(),
        };
        let mut trivia = if first { op.trivia.clone() } else { Trivia::default() };
        if !self.pending.is_empty() {
            let mut lead = std::mem::take(&mut self.pending);
            lead.append(&mut trivia.leading);
            trivia.leading = lead;
        }
        // Every copy needs its own name: a label gets the suffix; an unlabelled
        // in-place op (named `set_<P>`) gets a label with it.
        let label = match (&op.label, &kind) {
            (Some(l), _) => Some(format!("{l}{suffix}")),
            (None, OpKind::Call { outs, .. })
                if !env.is_empty() && outs.iter().any(|o| self.q.buf(*o).role.persists()) =>
            {
                outs.first().map(|o| format!("set_{}{suffix}", self.q.buf(*o).name))
            }
            (None, _) => None,
        };
        let new = self.q.push_op(Op {
            label,
            kind,
            span: op.span,
            trivia,
        });
        let name = self.q.op_name(new);
        if !self.names.insert(name.clone()) {
            return Err(UnrollError::Clash { name, span: op.span });
        }
        self.q.stmts.push((Stmt::Op, Trivia::default()));
        Ok(())
    }
}

/// The temporaries more than one op writes: the parser allows that only for a
/// temporary defined outside every loop and assigned again inside one.
fn carried_temps(p: &Program) -> Vec<bool> {
    let mut defs = vec![0u32; p.buffers.len()];
    for op in &p.ops {
        if let OpKind::Call { outs, .. } = &op.kind {
            for o in outs {
                if p.buf(*o).role == super::Role::Temp {
                    defs[o.idx()] += 1;
                }
            }
        }
    }
    defs.into_iter().map(|d| d > 1).collect()
}

fn subst_range(r: &Range, env: &[(String, i64)]) -> Range {
    match r {
        Range::All => Range::All,
        Range::Index(e) => Range::Index(subst(e, env)),
        Range::Span(a, b) => Range::Span(subst(a, env), subst(b, env)),
    }
}
