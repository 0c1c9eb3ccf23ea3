//! Scalar expressions over numbers, dims and hypers (init scales, learning rates).
//!
//! Evaluation is in f64 and deterministic; the validator resolves every name
//! before the interpreter sees an expression.

use crate::span::Span;
use std::fmt;

/// A scalar expression.
#[derive(Clone, Debug, PartialEq)]
pub enum Expr {
    /// A literal, with the text it was written as (kept for printing).
    Num { value: f64, span: Span },
    /// A dim or hyper by name.
    Name { name: String, span: Span },
    /// `-e`.
    Neg { inner: Box<Expr>, span: Span },
    /// `a op b` with op one of `+ - * /`.
    Bin {
        op: char,
        lhs: Box<Expr>,
        rhs: Box<Expr>,
        span: Span,
    },
    /// `sqrt(e)`.
    Sqrt { inner: Box<Expr>, span: Span },
}

impl Expr {
    /// A literal with no source position.
    pub fn num(value: f64) -> Expr {
        Expr::Num {
            value,
            span: Span::default(),
        }
    }

    /// A name with no source position.
    pub fn name(name: &str) -> Expr {
        Expr::Name {
            name: name.to_string(),
            span: Span::default(),
        }
    }

    /// Where it was written.
    pub fn span(&self) -> Span {
        match self {
            Expr::Num { span, .. }
            | Expr::Name { span, .. }
            | Expr::Neg { span, .. }
            | Expr::Bin { span, .. }
            | Expr::Sqrt { span, .. } => *span,
        }
    }

    /// Evaluates with a name lookup; `Err` carries the span of an unknown name.
    pub fn eval(&self, lookup: &dyn Fn(&str) -> Option<f64>) -> Result<f64, (String, Span)> {
        Ok(match self {
            Expr::Num { value, .. } => *value,
            Expr::Name { name, span } => lookup(name).ok_or_else(|| (name.clone(), *span))?,
            Expr::Neg { inner, .. } => -inner.eval(lookup)?,
            Expr::Sqrt { inner, .. } => inner.eval(lookup)?.sqrt(),
            Expr::Bin { op, lhs, rhs, .. } => {
                let (a, b) = (lhs.eval(lookup)?, rhs.eval(lookup)?);
                match op {
                    '+' => a + b,
                    '-' => a - b,
                    '*' => a * b,
                    _ => a / b,
                }
            }
        })
    }

    /// Calls `f` on every name in the expression, left to right.
    pub fn visit_names(&self, f: &mut dyn FnMut(&str, Span)) {
        match self {
            Expr::Num { .. } => {}
            Expr::Name { name, span } => f(name, *span),
            Expr::Neg { inner, .. } | Expr::Sqrt { inner, .. } => inner.visit_names(f),
            Expr::Bin { lhs, rhs, .. } => {
                lhs.visit_names(f);
                rhs.visit_names(f);
            }
        }
    }

    fn prec(&self) -> u8 {
        match self {
            Expr::Bin { op: '+' | '-', .. } => 1,
            Expr::Bin { .. } => 2,
            Expr::Neg { .. } => 3,
            _ => 4,
        }
    }
}

/// Prints an f64 so that parsing it back gives the same value.
pub fn fmt_num(v: f64) -> String {
    if v.is_finite() && v == v.trunc() && v.abs() < 1e15 {
        format!("{}", v as i64)
    } else {
        format!("{v}")
    }
}

impl fmt::Display for Expr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Expr::Num { value, .. } => write!(f, "{}", fmt_num(*value)),
            Expr::Name { name, .. } => write!(f, "{name}"),
            Expr::Sqrt { inner, .. } => write!(f, "sqrt({inner})"),
            Expr::Neg { inner, .. } => {
                if inner.prec() < 3 {
                    write!(f, "-({inner})")
                } else {
                    write!(f, "-{inner}")
                }
            }
            Expr::Bin { op, lhs, rhs, .. } => {
                let p = self.prec();
                if lhs.prec() < p {
                    write!(f, "({lhs})")?;
                } else {
                    write!(f, "{lhs}")?;
                }
                write!(f, " {op} ")?;
                // Left-associative: a right operand of equal precedence needs parentheses.
                if rhs.prec() <= p {
                    write!(f, "({rhs})")
                } else {
                    write!(f, "{rhs}")
                }
            }
        }
    }
}
