//! Canonical `.sutro` text: `Display` for `Program`.
//!
//! Statements keep their source layout (comments, single blank lines); ops fill
//! the op slots in schedule order, so a reordered program prints in its new order
//! with each op's comments travelling with it. parse ∘ print is the identity on
//! canonical text.

use super::expr::fmt_num;
use super::{Init, Op, OpKind, Program, Range, Rule, Scalar, ShapeDim, Slice, Slot, Src, Stmt, Trivia};
use std::fmt::{self, Write};

impl fmt::Display for Program {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut out = String::new();
        let mut order = self.order.iter();
        // Loop bodies are indented four spaces per level.
        let mut depth = 0usize;
        // `predict P` names a buffer by line order: when a reordered schedule
        // moves the op that assigns P below the `predict` line, the line waits
        // until that op is printed.
        let mut predict_ready = self.predict.is_none_or(|(b, _)| self.buf(b).role != super::Role::Temp);
        let mut deferred: Option<(&Trivia, String)> = None;
        let print_op = |out: &mut String, id: &super::OpId, pad: &str, ready: &mut bool| -> fmt::Result {
            let op = self.op(*id);
            self.write_trivia(out, &op.trivia, pad, |s| self.op_line(s, op))?;
            if let (Some((p, _)), OpKind::Call { outs, .. }) = (self.predict, &op.kind)
                && outs.contains(&p)
            {
                *ready = true;
            }
            Ok(())
        };
        for (stmt, trivia) in &self.stmts {
            if let Stmt::End = stmt {
                depth = depth.saturating_sub(1);
            }
            let pad = "    ".repeat(depth);
            match stmt {
                Stmt::Op => {
                    if let Some(id) = order.next() {
                        print_op(&mut out, id, &pad, &mut predict_ready)?;
                    }
                }
                Stmt::Predict if !predict_ready => deferred = Some((trivia, pad.clone())),
                _ => self.write_trivia(&mut out, trivia, &pad, |s| self.stmt_line(s, stmt))?,
            }
            if let Stmt::Loop { .. } = stmt {
                depth += 1;
            }
            if predict_ready && let Some((t, p)) = deferred.take() {
                self.write_trivia(&mut out, t, &p, |s| self.stmt_line(s, &Stmt::Predict))?;
            }
        }
        for id in order {
            print_op(&mut out, id, "", &mut predict_ready)?;
            if predict_ready && let Some((t, p)) = deferred.take() {
                self.write_trivia(&mut out, t, &p, |s| self.stmt_line(s, &Stmt::Predict))?;
            }
        }
        if let Some((t, p)) = deferred {
            self.write_trivia(&mut out, t, &p, |s| self.stmt_line(s, &Stmt::Predict))?;
        }
        write_leading(&mut out, &self.tail, "");
        // Canonical text ends with exactly one newline and no trailing blank lines.
        let trimmed = out.trim_end_matches('\n');
        f.write_str(trimmed)?;
        f.write_str("\n")
    }
}

fn write_leading(out: &mut String, leading: &[Option<String>], pad: &str) {
    for l in leading {
        match l {
            None => {
                // Collapse runs of blank lines and drop leading ones.
                if !out.is_empty() && !out.ends_with("\n\n") {
                    out.push('\n');
                }
            }
            Some(c) => {
                out.push_str(pad);
                out.push_str(&comment(c));
                out.push('\n');
            }
        }
    }
}

fn comment(c: &str) -> String {
    if c.is_empty() {
        "#".to_string()
    } else {
        format!("# {c}")
    }
}

impl Program {
    fn write_trivia(
        &self,
        out: &mut String,
        trivia: &Trivia,
        pad: &str,
        line: impl FnOnce(&mut String) -> fmt::Result,
    ) -> fmt::Result {
        write_leading(out, &trivia.leading, pad);
        out.push_str(pad);
        line(out)?;
        if let Some(c) = &trivia.trailing {
            write!(out, "  {}", comment(c))?;
        }
        out.push('\n');
        Ok(())
    }

    fn stmt_line(&self, out: &mut String, stmt: &Stmt) -> fmt::Result {
        match stmt {
            Stmt::Dim(name) => match self.dims.get(name) {
                Some((e, _)) => write!(out, "dim {name} = {e}"),
                None => Ok(()),
            },
            Stmt::Hyper(name) => match self.hypers.get(name) {
                Some(e) => write!(out, "hyper {name} = {e}"),
                None => Ok(()),
            },
            Stmt::Decl(id) => {
                let b = self.buf(*id);
                write!(out, "{} {}", b.role.keyword(), b.name)?;
                if let Some(shape) = &b.shape {
                    out.push('[');
                    for (i, d) in shape.iter().enumerate() {
                        if i > 0 {
                            out.push_str(", ");
                        }
                        match d {
                            ShapeDim::Lit(n) => write!(out, "{n}")?,
                            ShapeDim::Name(n) => out.push_str(n),
                            ShapeDim::Expr(e) => write!(out, "{e}")?,
                        }
                    }
                    out.push(']');
                }
                match &b.init {
                    None => Ok(()),
                    Some(Init::Zeros) => write!(out, " = zeros"),
                    Some(Init::Normal(e)) => write!(out, " = normal({e})"),
                    Some(Init::Uniform(a, c)) => write!(out, " = uniform({a}, {c})"),
                    Some(Init::Const(e)) => write!(out, " = const({e})"),
                    Some(Init::Eye) => write!(out, " = eye"),
                    Some(Init::Iota) => write!(out, " = iota"),
                    Some(Init::Bernoulli(e)) => write!(out, " = bernoulli({e})"),
                }
            }
            Stmt::Predict => match self.predict {
                Some((b, _)) => write!(out, "predict {}", self.buf(b).name),
                None => Ok(()),
            },
            Stmt::Loop { var, lo, hi } => write!(out, "for {var} in {lo}..{hi} {{"),
            Stmt::End => write!(out, "}}"),
            Stmt::Op => Ok(()),
        }
    }

    /// An op's statement text without its label (e.g. `dh = affine_grad_x(W2, dout)`),
    /// which identifies the op across programs whose buffer ids differ.
    pub fn op_text(&self, id: super::OpId) -> String {
        let mut op = self.op(id).clone();
        op.label = None;
        let mut s = String::new();
        let _ = self.op_line(&mut s, &op);
        s
    }

    fn op_line(&self, out: &mut String, op: &Op) -> fmt::Result {
        if let Some(l) = &op.label {
            write!(out, "{l}: ")?;
        }
        let names = |ids: &[super::BufId]| {
            ids.iter()
                .map(|b| self.buf(*b).name.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        };
        let no_slices: &[Slice] = &[];
        let sliced = |b: super::BufId, slot: Slot, slices: &[Slice]| {
            let mut s = self.buf(b).name.clone();
            if let Some(sl) = slices.iter().find(|x| x.slot == slot) {
                let axes: Vec<String> = sl.axes.iter().map(range_text).collect();
                s.push_str(&format!("[{}]", axes.join(", ")));
            }
            s
        };
        let call = |prim: super::Prim, args: &[super::BufId], scalars: &[Scalar], slices: &[Slice]| {
            let mut parts: Vec<String> = args
                .iter()
                .enumerate()
                .map(|(i, b)| sliced(*b, Slot::Arg(i), slices))
                .collect();
            parts.extend(scalars.iter().map(|sc| match sc {
                Scalar::Expr(e) => e.to_string(),
                Scalar::Buf(b) => self.buf(*b).name.clone(),
            }));
            format!("{prim}({})", parts.join(", "))
        };
        match &op.kind {
            OpKind::Call {
                prim,
                outs,
                args,
                scalars,
                slices,
            } => {
                let outs: Vec<String> = outs
                    .iter()
                    .enumerate()
                    .map(|(i, b)| sliced(*b, Slot::Out(i), slices))
                    .collect();
                write!(out, "{} = {}", outs.join(", "), call(*prim, args, scalars, slices))
            }
            OpKind::Update { param, rule, src } => {
                let Rule::Sgd { lr, wd } = rule;
                let src = match src {
                    Src::Buf(b) => self.buf(*b).name.clone(),
                    Src::Fused { prim, args, scalars } => call(*prim, args, scalars, no_slices),
                };
                write!(out, "update {} sgd({lr}, {wd}) with {src}", self.buf(*param).name)
            }
            OpKind::Grad { loss, wrt, outs, named } => {
                write!(out, "grad {} wrt {}", self.buf(*loss).name, names(wrt))?;
                if *named {
                    write!(out, " as {}", names(outs))?;
                }
                Ok(())
            }
        }
    }
}

/// A slice axis as written: `:`, `E` or `LO:HI`.
fn range_text(r: &Range) -> String {
    match r {
        Range::All => ":".to_string(),
        Range::Index(e) => e.to_string(),
        Range::Span(a, b) => format!("{a}:{b}"),
    }
}

/// Prints a number as the canonical text does.
pub fn number(v: f64) -> String {
    fmt_num(v)
}
