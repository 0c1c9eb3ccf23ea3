//! Parser: one statement per line, names resolved to ids in line order.
//!
//! Grammar (one statement per line; `#` starts a comment):
//!
//! ```text
//! dim NAME = INT | EXPR of dims
//! hyper NAME = EXPR
//! (param|state) NAME[DIM, …] = zeros | normal(EXPR) | uniform(EXPR, EXPR) | const(EXPR)
//!                               | eye | iota | bernoulli(EXPR)            DIM = INT | NAME | EXPR of dims
//! (input|target) NAME[DIM, …]
//! predict NAME
//! [LABEL:] OUT[, OUT…] = PRIM(ARG, …[, SCALAR, …])    SCALAR = EXPR | NAME of a [1] buffer
//! [LABEL:] update NAME sgd(EXPR, EXPR) with (NAME | PRIM(ARG, …))
//! [LABEL:] grad NAME wrt NAME[, NAME…]
//! ```
//!
//! Recovery is per line: a bad line is reported and skipped, so one run reports
//! every syntax error.

use super::lexer::{LexError, Tok, Token, lex};
use crate::diag::Diagnostic;
use crate::ir::{
    BufId, Buffer, Expr, Init, Op, OpKind, Prim, Program, Range, Role, Rule, Scalar, ShapeDim, Slice, Slot, Src, Stmt,
    Trivia,
};
use crate::span::Span;
use thiserror::Error;

/// Words that cannot name a dim, hyper, buffer or label.
pub const KEYWORDS: [&str; 21] = [
    "dim", "hyper", "param", "state", "input", "target", "temp", "predict", "grad", "wrt", "update", "with", "sgd",
    "zeros", "normal", "uniform", "const", "sqrt", "for", "in", "step",
];

/// A syntax or name-resolution error.
#[derive(Clone, Debug, PartialEq, Error)]
#[error("{message}")]
pub struct ParseError {
    /// Lowercase, no final period.
    pub message: String,
    /// Where.
    pub span: Span,
    /// Text under the primary label.
    pub label: String,
    /// A related place (e.g. the first definition of a duplicate name).
    pub related: Option<(Span, String)>,
}

impl ParseError {
    fn new(message: impl Into<String>, span: Span, label: impl Into<String>) -> ParseError {
        ParseError {
            message: message.into(),
            span,
            label: label.into(),
            related: None,
        }
    }
}

impl From<&ParseError> for Diagnostic {
    fn from(e: &ParseError) -> Diagnostic {
        let mut d = Diagnostic::error(e.message.clone()).with_label(e.span, e.label.clone());
        if let Some((s, t)) = &e.related {
            d = d.with_label(*s, t.clone());
        }
        d
    }
}

impl From<LexError> for ParseError {
    fn from(e: LexError) -> ParseError {
        ParseError::new(e.message, e.span, "here")
    }
}

/// Parses a program; `name` becomes `Program::name`. Returns every error found.
pub fn parse(name: &str, text: &str) -> Result<Program, Vec<ParseError>> {
    let toks = lex(text).map_err(|e| vec![ParseError::from(e)])?;
    let mut p = Parser {
        prog: Program {
            name: name.to_string(),
            ..Program::default()
        },
        errors: Vec::new(),
        loops: Vec::new(),
        hidden: Vec::new(),
        loop_ops: Vec::new(),
    };
    let mut leading: Vec<Option<String>> = Vec::new();
    for line in toks.split(|t| t.tok == Tok::Newline || t.tok == Tok::Eof) {
        let (body, trailing) = match line.split_last() {
            Some((
                Token {
                    tok: Tok::Comment(c), ..
                },
                rest,
            )) => (rest, Some(c.clone())),
            _ => (line, None),
        };
        if body.is_empty() {
            leading.push(trailing);
            continue;
        }
        let trivia = Trivia {
            leading: std::mem::take(&mut leading),
            trailing,
        };
        let mut cur = Cursor {
            toks: body,
            pos: 0,
            end: body.last().map_or(Span::default(), |t| t.span),
        };
        if let Err(e) = p.statement(&mut cur, trivia) {
            p.errors.push(e);
        }
    }
    // A trailing empty line is the final newline, not a blank line.
    while leading.last() == Some(&None) {
        leading.pop();
    }
    p.prog.tail = leading;
    for frame in std::mem::take(&mut p.loops) {
        p.errors.push(ParseError::new(
            format!("the loop over `{}` is not closed", frame.var),
            frame.span,
            "add a line `}` after its body",
        ));
    }
    p.check_op_names();
    if p.errors.is_empty() { Ok(p.prog) } else { Err(p.errors) }
}

struct Cursor<'a> {
    toks: &'a [Token],
    pos: usize,
    end: Span,
}

impl Cursor<'_> {
    fn peek(&self) -> Option<&Tok> {
        self.toks.get(self.pos).map(|t| &t.tok)
    }

    fn peek_at(&self, k: usize) -> Option<&Tok> {
        self.toks.get(self.pos + k).map(|t| &t.tok)
    }

    fn span(&self) -> Span {
        self.toks
            .get(self.pos)
            .map_or(Span::new(self.end.end as usize, self.end.end as usize), |t| t.span)
    }

    fn line_span(&self) -> Span {
        match (self.toks.first(), self.toks.last()) {
            (Some(a), Some(b)) => a.span.join(b.span),
            _ => self.end,
        }
    }

    fn bump(&mut self) -> Option<&Token> {
        let t = self.toks.get(self.pos);
        self.pos += 1;
        t
    }

    fn ident(&mut self, what: &str) -> Result<(String, Span), ParseError> {
        let span = self.span();
        match self.peek() {
            Some(Tok::Ident(s)) => {
                let s = s.clone();
                self.pos += 1;
                Ok((s, span))
            }
            _ => Err(ParseError::new(
                format!("expected {what}"),
                span,
                format!("expected {what} here"),
            )),
        }
    }

    fn punct(&mut self, c: char) -> Result<Span, ParseError> {
        let span = self.span();
        if self.peek() == Some(&Tok::Punct(c)) {
            self.pos += 1;
            Ok(span)
        } else {
            Err(ParseError::new(
                format!("expected `{c}`"),
                span,
                format!("expected `{c}` here"),
            ))
        }
    }

    fn keyword(&mut self, kw: &str) -> Result<Span, ParseError> {
        let span = self.span();
        match self.peek() {
            Some(Tok::Ident(s)) if s == kw => {
                self.pos += 1;
                Ok(span)
            }
            _ => Err(ParseError::new(
                format!("expected `{kw}`"),
                span,
                format!("expected `{kw}` here"),
            )),
        }
    }

    fn eat(&mut self, c: char) -> bool {
        if self.peek() == Some(&Tok::Punct(c)) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    fn done(&self) -> Result<(), ParseError> {
        match self.toks.get(self.pos) {
            None => Ok(()),
            Some(t) => Err(ParseError::new(
                "unexpected text after the statement",
                t.span,
                "unexpected",
            )),
        }
    }
}

fn unknown_dim(name: &str, span: Span) -> ParseError {
    ParseError::new(
        format!("unknown dim `{name}`"),
        span,
        "declare it with `dim NAME = N` first",
    )
}

/// Whether a literal is a valid extent: a positive integer that f64 holds exactly.
fn is_extent(v: f64) -> bool {
    (1.0..=9.007e15).contains(&v) && v.fract() == 0.0
}

/// An op call where an operand belongs is an error at the inner call.
fn nested_call(c: &Cursor) -> Result<(), ParseError> {
    if let (Some(Tok::Ident(_)), Some(Tok::Punct('('))) = (c.peek(), c.peek_at(1)) {
        return Err(ParseError::new(
            "nested calls are not allowed; assign the inner call to a name first",
            c.span(),
            "a call inside a call",
        ));
    }
    Ok(())
}

/// An open `for` block.
struct LoopFrame {
    var: String,
    span: Span,
    /// Temporaries the body defines (not visible after the block).
    temps: Vec<BufId>,
}

struct Parser {
    prog: Program,
    errors: Vec<ParseError>,
    /// Open loops, innermost last.
    loops: Vec<LoopFrame>,
    /// Temporaries of closed loops.
    hidden: Vec<BufId>,
    /// Ops inside loops (named per iteration when unrolled).
    loop_ops: Vec<usize>,
}

impl Parser {
    fn statement(&mut self, c: &mut Cursor, trivia: Trivia) -> Result<(), ParseError> {
        if c.peek() == Some(&Tok::Punct('}')) {
            return self.close_loop(c, trivia);
        }
        let first = match c.peek() {
            Some(Tok::Ident(s)) => s.clone(),
            _ => {
                return Err(ParseError::new(
                    "expected a statement",
                    c.span(),
                    "expected a declaration or an op",
                ));
            }
        };
        if matches!(
            first.as_str(),
            "dim" | "hyper" | "param" | "state" | "input" | "target" | "predict" | "update" | "grad"
        ) && let Some(frame) = self.loops.last()
        {
            let mut e = ParseError::new(
                format!("`{first}` is not allowed inside a loop"),
                c.span(),
                "only ops repeat",
            );
            e.related = Some((frame.span, "the loop starts here".into()));
            return Err(e);
        }
        match first.as_str() {
            "for" => self.open_loop(c, trivia),
            "dim" => self.dim_stmt(c, trivia),
            "hyper" => self.hyper_stmt(c, trivia),
            "param" | "state" | "input" | "target" => self.decl_stmt(c, trivia),
            "predict" => self.predict_stmt(c, trivia),
            _ => self.op_stmt(c, trivia),
        }
    }

    /// `dim NAME = INT | EXPR of dims`.
    fn dim_stmt(&mut self, c: &mut Cursor, trivia: Trivia) -> Result<(), ParseError> {
        c.bump();
        let (name, span) = self.new_name(c, "a dim name")?;
        c.punct('=')?;
        let vspan = c.span();
        let bad = || {
            ParseError::new(
                format!("dim `{name}` needs a positive integer"),
                vspan,
                "expected a positive integer or an expression of dims",
            )
        };
        let v = match c.peek() {
            Some(Tok::Num(_) | Tok::Ident(_) | Tok::Punct('(' | '-')) => self.dim_expr(c)?,
            _ => return Err(bad()),
        };
        if let Expr::Num { value, .. } = v
            && !is_extent(value)
        {
            if value > 9.007e15 && value.fract() == 0.0 {
                return Err(ParseError::new(
                    format!("dim `{name}` is too large (at most 2^53 = 9007199254740992)"),
                    vspan,
                    "too large",
                ));
            }
            return Err(bad());
        }
        c.done()?;
        self.prog.dims.insert(name.clone(), (v, span));
        self.prog.stmts.push((Stmt::Dim(name), trivia));
        Ok(())
    }

    /// `hyper NAME = EXPR`.
    fn hyper_stmt(&mut self, c: &mut Cursor, trivia: Trivia) -> Result<(), ParseError> {
        c.bump();
        let (name, _) = self.new_name(c, "a hyper name")?;
        c.punct('=')?;
        let e = self.expr(c)?;
        c.done()?;
        self.prog.hypers.insert(name.clone(), e);
        self.prog.stmts.push((Stmt::Hyper(name), trivia));
        Ok(())
    }

    /// `(param|state|input|target) NAME[DIM, …] [= INIT]`.
    fn decl_stmt(&mut self, c: &mut Cursor, trivia: Trivia) -> Result<(), ParseError> {
        let role = match c.peek() {
            Some(Tok::Ident(s)) if s == "param" => Role::Param,
            Some(Tok::Ident(s)) if s == "state" => Role::State,
            Some(Tok::Ident(s)) if s == "input" => Role::Input,
            _ => Role::Target,
        };
        let kw = c.bump().map_or(Span::default(), |t| t.span);
        let (name, span) = self.new_name(c, "a buffer name")?;
        let shape = self.shape(c)?;
        let init = if c.eat('=') { Some(self.init(c)?) } else { None };
        c.done()?;
        match (role.persists(), &init) {
            (true, None) => {
                return Err(ParseError::new(
                    format!("{} `{name}` needs an init rule", role.keyword()),
                    span,
                    "add `= zeros`, `= normal(STD)`, `= uniform(LO, HI)` or `= const(V)`",
                ));
            }
            (false, Some(_)) => {
                return Err(ParseError::new(
                    format!("{} `{name}` is fed by the task and takes no init rule", role.keyword()),
                    kw.join(span),
                    "remove the `= …`",
                ));
            }
            _ => {}
        }
        let id = self.prog.add_buffer(Buffer {
            name,
            role,
            shape: Some(shape),
            init,
            span,
        });
        self.prog.stmts.push((Stmt::Decl(id), trivia));
        Ok(())
    }

    /// `predict NAME`.
    fn predict_stmt(&mut self, c: &mut Cursor, trivia: Trivia) -> Result<(), ParseError> {
        c.bump();
        let (b, span) = self.buffer_ref(c)?;
        c.done()?;
        if let Some((_, first)) = self.prog.predict {
            let mut e = ParseError::new("`predict` is given twice", span, "second `predict`");
            e.related = Some((first, "first given here".into()));
            return Err(e);
        }
        self.prog.predict = Some((b, span));
        self.prog.stmts.push((Stmt::Predict, trivia));
        Ok(())
    }

    /// `[LABEL:] OP`: a call, an update or a grad.
    fn op_stmt(&mut self, c: &mut Cursor, trivia: Trivia) -> Result<(), ParseError> {
        let label = if c.peek_at(1) == Some(&Tok::Punct(':')) {
            let (l, span) = c.ident("a label")?;
            if KEYWORDS.contains(&l.as_str()) {
                return Err(ParseError::new(
                    format!("`{l}` is a keyword and cannot be a label"),
                    span,
                    "keyword",
                ));
            }
            c.bump();
            Some(l)
        } else {
            None
        };
        let kind = self.op(c)?;
        c.done()?;
        if !self.loops.is_empty() {
            self.loop_ops.push(self.prog.ops.len());
        }
        self.prog.push_op(Op {
            label,
            kind,
            span: c.line_span(),
            trivia,
        });
        self.prog.stmts.push((Stmt::Op, Trivia::default()));
        Ok(())
    }

    fn op(&mut self, c: &mut Cursor) -> Result<OpKind, ParseError> {
        match c.peek() {
            Some(Tok::Ident(s)) if s == "update" => {
                c.bump();
                let (param, _) = self.buffer_ref(c)?;
                let rule_span = c.span();
                let (rule, _) = c.ident("an update rule")?;
                if rule != "sgd" {
                    return Err(ParseError::new(
                        format!("unknown update rule `{rule}`"),
                        rule_span,
                        "expected `sgd(LR, WD)`",
                    ));
                }
                c.punct('(')?;
                let lr = self.expr(c)?;
                c.punct(',')?;
                let wd = self.expr(c)?;
                c.punct(')')?;
                c.keyword("with")?;
                let src = if c.peek_at(1) == Some(&Tok::Punct('(')) {
                    let (prim, pspan, args, scalars, slices) = self.call(c)?;
                    if !slices.is_empty() {
                        return Err(ParseError::new(
                            "a fused update cannot read a slice; compute it on its own line first",
                            pspan,
                            "a slice in a fused update",
                        ));
                    }
                    if !prim.fusible() || prim.info().outs != 1 {
                        return Err(ParseError::new(
                            format!("`{prim}` cannot be fused into an update"),
                            pspan,
                            "fusible: outer, sum, sign, copy, scale, matmul_nt, matmul_tn",
                        ));
                    }
                    Src::Fused { prim, args, scalars }
                } else {
                    Src::Buf(self.buffer_ref(c)?.0)
                };
                Ok(OpKind::Update {
                    param,
                    rule: Rule::Sgd { lr, wd },
                    src,
                })
            }
            Some(Tok::Ident(s)) if s == "grad" => {
                c.bump();
                self.grad(c)
            }
            _ => self.call_op(c),
        }
    }

    /// `grad LOSS wrt P, … [as G, …]`: pre-declares each gradient buffer (`d<P>`,
    /// or the names after `as`, one per param).
    fn grad(&mut self, c: &mut Cursor) -> Result<OpKind, ParseError> {
        let (loss, _) = self.buffer_ref(c)?;
        c.keyword("wrt")?;
        let mut wrt = vec![self.buffer_ref(c)?];
        while c.eat(',') {
            wrt.push(self.buffer_ref(c)?);
        }
        let line = c.line_span();
        let named = matches!(c.peek(), Some(Tok::Ident(s)) if s == "as");
        let names: Vec<(String, Span)> = if named {
            c.bump();
            let mut names = vec![self.new_name(c, "a gradient name")?];
            while c.eat(',') {
                names.push(self.new_name(c, "a gradient name")?);
            }
            if names.len() != wrt.len() {
                let span = names.last().map_or(line, |n| n.1);
                return Err(ParseError::new(
                    format!("`grad` names {} gradient(s) for {} param(s)", names.len(), wrt.len()),
                    span,
                    "one name after `as` per param after `wrt`",
                ));
            }
            if let Some((_, n)) = names
                .iter()
                .enumerate()
                .find(|(i, n)| names[..*i].iter().any(|m| m.0 == n.0))
            {
                return Err(ParseError::new(
                    format!("duplicate name `{}`", n.0),
                    n.1,
                    "named twice in this `grad`",
                ));
            }
            names
        } else {
            let mut names: Vec<(String, Span)> = Vec::new();
            for (p, span) in &wrt {
                let name = format!("d{}", self.prog.buf(*p).name);
                if let Some(prev) = self.prog.buffers.get(&name) {
                    let mut e = ParseError::new(
                        format!("`grad` defines `{name}`, which is already defined"),
                        *span,
                        format!("the gradient of this is named `{name}`; name it with `as`"),
                    );
                    e.related = Some((prev.span, format!("`{name}` defined here")));
                    return Err(e);
                }
                if names.iter().any(|n| n.0 == name) {
                    return Err(ParseError::new(
                        format!("`{name}` is named twice in this `grad`"),
                        *span,
                        "listed twice",
                    ));
                }
                names.push((name, *span));
            }
            names
        };
        let outs = names
            .into_iter()
            .map(|(name, _)| {
                self.prog.add_buffer(Buffer {
                    name,
                    role: Role::Temp,
                    shape: None,
                    init: None,
                    span: line,
                })
            })
            .collect();
        Ok(OpKind::Grad {
            loss,
            wrt: wrt.into_iter().map(|w| w.0).collect(),
            outs,
            named,
        })
    }

    /// `for VAR in LO..HI {`: bounds are expressions of dims and enclosing loop indices.
    fn open_loop(&mut self, c: &mut Cursor, trivia: Trivia) -> Result<(), ParseError> {
        c.bump();
        let (var, span) = self.new_name(c, "a loop index name")?;
        if self.loops.iter().any(|f| f.var == var) {
            return Err(ParseError::new(
                format!("duplicate name `{var}`"),
                span,
                "an enclosing loop uses this index",
            ));
        }
        c.keyword("in")?;
        let lo = self.bound(c)?;
        if c.peek() != Some(&Tok::DotDot) {
            return Err(ParseError::new("expected `..`", c.span(), "a loop range is LO..HI"));
        }
        c.bump();
        let hi = self.bound(c)?;
        c.punct('{')?;
        c.done()?;
        self.loops.push(LoopFrame {
            var: var.clone(),
            span,
            temps: Vec::new(),
        });
        self.prog.stmts.push((Stmt::Loop { var, lo, hi }, trivia));
        Ok(())
    }

    /// A loop bound: names are dims or enclosing loop indices.
    fn bound(&mut self, c: &mut Cursor) -> Result<Expr, ParseError> {
        let e = self.expr(c)?;
        let mut bad = None;
        e.visit_names(&mut |name, span| {
            let ok = name == "batch" || self.prog.dims.contains_key(name) || self.loops.iter().any(|f| f.var == name);
            if bad.is_none() && !ok {
                bad = Some((name.to_string(), span));
            }
        });
        match bad {
            Some((name, span)) => Err(ParseError::new(
                format!("a loop bound may use dims and loop indices, not `{name}`"),
                span,
                "trip counts are static",
            )),
            None => Ok(e),
        }
    }

    fn close_loop(&mut self, c: &mut Cursor, trivia: Trivia) -> Result<(), ParseError> {
        let span = c.span();
        c.bump();
        c.done()?;
        let Some(frame) = self.loops.pop() else {
            return Err(ParseError::new("`}` without a loop", span, "no open `for`"));
        };
        self.hidden.extend(frame.temps.iter().copied());
        if let Some(outer) = self.loops.last_mut() {
            outer.temps.extend(frame.temps);
        }
        self.prog.stmts.push((Stmt::End, trivia));
        Ok(())
    }

    /// `OUT[, OUT] = PRIM(ARGS)`: each output a new temporary, or a param or
    /// state buffer (or a slice of one) written in place.
    fn call_op(&mut self, c: &mut Cursor) -> Result<OpKind, ParseError> {
        let mut outs = vec![self.out_ref(c, "an output name or `update`")?];
        while c.eat(',') {
            outs.push(self.out_ref(c, "an output name")?);
        }
        c.punct('=')?;
        let (prim, pspan, args, scalars, mut slices) = self.call(c)?;
        if outs.len() != prim.info().outs {
            return Err(ParseError::new(
                format!("`{prim}` has {} output(s), {} given", prim.info().outs, outs.len()),
                pspan,
                "wrong number of outputs",
            ));
        }
        let line = c.line_span();
        let mut ids = Vec::new();
        for (i, (name, span, axes)) in outs.iter().enumerate() {
            if outs[..i].iter().any(|(n, _, _)| n == name) {
                return Err(ParseError::new(
                    format!("duplicate name `{name}`"),
                    *span,
                    "given twice",
                ));
            }
            let existing = self
                .prog
                .buf_id(name)
                .filter(|b| self.prog.buf(*b).role.persists() || (axes.is_none() && self.carried(*b)));
            let id = match existing {
                Some(b) => b,
                None => {
                    if axes.is_some() {
                        return Err(ParseError::new(
                            format!(
                                "only a param or state buffer can be written through a slice, and `{name}` is not one"
                            ),
                            *span,
                            "not a param or state buffer",
                        ));
                    }
                    self.check_fresh(name, *span)?;
                    let id = self.prog.add_buffer(Buffer {
                        name: name.clone(),
                        role: Role::Temp,
                        shape: None,
                        init: None,
                        span: line,
                    });
                    if let Some(frame) = self.loops.last_mut() {
                        frame.temps.push(id);
                    }
                    id
                }
            };
            if let Some(axes) = axes {
                slices.push(Slice {
                    slot: Slot::Out(i),
                    axes: axes.clone(),
                });
            }
            ids.push(id);
        }
        Ok(OpKind::Call {
            prim,
            outs: ids,
            args,
            scalars,
            slices,
        })
    }

    /// An output: a name, with a slice if `[` follows.
    #[allow(clippy::type_complexity)] // Name, span and optional slice axes.
    fn out_ref(&mut self, c: &mut Cursor, what: &str) -> Result<(String, Span, Option<Vec<Range>>), ParseError> {
        let (name, span) = c.ident(what)?;
        let axes = if c.peek() == Some(&Tok::Punct('[')) {
            Some(self.ranges(c)?)
        } else {
            None
        };
        Ok((name, span, axes))
    }

    /// `[r0, r1, …]` with each range `:`, `E` or `LO:HI`.
    fn ranges(&mut self, c: &mut Cursor) -> Result<Vec<Range>, ParseError> {
        c.punct('[')?;
        let mut axes = Vec::new();
        loop {
            if c.eat(':') {
                axes.push(Range::All);
            } else {
                let lo = self.expr(c)?;
                if c.eat(':') {
                    let hi = self.expr(c)?;
                    axes.push(Range::Span(lo, hi));
                } else {
                    axes.push(Range::Index(lo));
                }
            }
            if c.eat(']') {
                return Ok(axes);
            }
            c.punct(',')?;
        }
    }

    #[allow(clippy::type_complexity)] // A parsed call is exactly these five parts.
    fn call(&mut self, c: &mut Cursor) -> Result<(Prim, Span, Vec<BufId>, Vec<Scalar>, Vec<Slice>), ParseError> {
        let (name, pspan) = c.ident("an op name")?;
        let Some(prim) = Prim::from_name(&name) else {
            return Err(ParseError::new(
                format!("unknown op `{name}`"),
                pspan,
                "not an op; `sutro ops` lists them",
            ));
        };
        let info = prim.info();
        c.punct('(')?;
        let mut args = Vec::new();
        let mut slices = Vec::new();
        for i in 0..info.args {
            if i > 0 {
                c.punct(',')?;
            }
            nested_call(c)?;
            args.push(self.buffer_ref(c)?.0);
            if c.peek() == Some(&Tok::Punct('[')) {
                slices.push(Slice {
                    slot: Slot::Arg(i),
                    axes: self.ranges(c)?,
                });
            }
        }
        let mut scalars = Vec::new();
        for i in 0..info.scalars {
            if info.args + i > 0 {
                c.punct(',')?;
            }
            scalars.push(self.scalar(c)?);
        }
        while info.more && c.eat(',') {
            scalars.push(self.scalar(c)?);
        }
        if c.peek() != Some(&Tok::Punct(')')) {
            let n = info.args + info.scalars;
            let more = if info.more { " or more" } else { "" };
            return Err(ParseError::new(
                format!("`{name}` takes {n}{more} argument(s)"),
                c.span(),
                "expected `)`",
            ));
        }
        c.bump();
        Ok((prim, pspan, args, scalars, slices))
    }

    /// A scalar operand: a one-element buffer by name, or an expression.
    fn scalar(&mut self, c: &mut Cursor) -> Result<Scalar, ParseError> {
        if let (Some(Tok::Ident(name)), Some(Tok::Punct(',' | ')'))) = (c.peek(), c.peek_at(1))
            && let Some(id) = self.prog.buf_id(name)
        {
            c.bump();
            return Ok(Scalar::Buf(id));
        }
        // `sqrt(…)` is the one function an expression may call.
        if !matches!(c.peek(), Some(Tok::Ident(n)) if n == "sqrt") {
            nested_call(c)?;
        }
        Ok(Scalar::Expr(self.expr(c)?))
    }

    fn new_name(&mut self, c: &mut Cursor, what: &str) -> Result<(String, Span), ParseError> {
        let (name, span) = c.ident(what)?;
        self.check_fresh(&name, span)?;
        Ok((name, span))
    }

    /// Whether assigning `b` here makes a new version of a loop-carried
    /// temporary: inside a loop, a temporary defined outside every loop.
    fn carried(&self, b: BufId) -> bool {
        !self.loops.is_empty()
            && self.prog.buf(b).role == Role::Temp
            && !self.hidden.contains(&b)
            && !self.loops.iter().any(|f| f.temps.contains(&b))
    }

    fn check_fresh(&self, name: &str, span: Span) -> Result<(), ParseError> {
        if KEYWORDS.contains(&name) {
            return Err(ParseError::new(
                format!("`{name}` is a keyword and cannot be a name"),
                span,
                "keyword",
            ));
        }
        let prev = self
            .prog
            .dims
            .get(name)
            .map(|d| d.1)
            .or_else(|| self.prog.hypers.get(name).map(|e| e.span()))
            .or_else(|| self.prog.buffers.get(name).map(|b| b.span));
        if let Some(prev) = prev {
            let mut e = ParseError::new(format!("duplicate name `{name}`"), span, "defined again here");
            e.related = Some((prev, "first defined here".into()));
            return Err(e);
        }
        Ok(())
    }

    fn buffer_ref(&mut self, c: &mut Cursor) -> Result<(BufId, Span), ParseError> {
        let (name, span) = c.ident("a buffer name")?;
        if let Some(id) = self.prog.buf_id(&name) {
            if self.hidden.contains(&id) {
                return Err(ParseError::new(
                    format!("`{name}` is defined inside a loop and cannot be used after it"),
                    span,
                    "each iteration defines its own copy",
                ));
            }
            return Ok((id, span));
        }
        let what = if self.prog.dims.contains_key(&name) || name == "batch" {
            format!("`{name}` is a dim, not a buffer")
        } else if self.prog.hypers.contains_key(&name) {
            format!("`{name}` is a hyper, not a buffer")
        } else {
            format!("undefined buffer `{name}`")
        };
        Err(ParseError::new(what, span, "not defined on an earlier line"))
    }

    fn shape(&mut self, c: &mut Cursor) -> Result<Vec<ShapeDim>, ParseError> {
        c.punct('[')?;
        let mut dims = Vec::new();
        loop {
            let span = c.span();
            let e = match c.peek() {
                Some(Tok::Ident(n)) if n != "batch" && !self.prog.dims.contains_key(n) => {
                    return Err(unknown_dim(n, span));
                }
                Some(Tok::Num(_) | Tok::Ident(_) | Tok::Punct('(')) => self.dim_expr(c)?,
                _ => {
                    return Err(ParseError::new(
                        "expected a dim name or a positive integer",
                        span,
                        "in this shape",
                    ));
                }
            };
            dims.push(match e {
                Expr::Num { value, .. } if is_extent(value) => ShapeDim::Lit(value as u64),
                Expr::Num { span, .. } => {
                    return Err(ParseError::new(
                        "expected a dim name or a positive integer",
                        span,
                        "in this shape",
                    ));
                }
                Expr::Name { name, .. } => ShapeDim::Name(name),
                e => ShapeDim::Expr(e),
            });
            if c.eat(']') {
                return Ok(dims);
            }
            c.punct(',')?;
        }
    }

    /// An expression whose names are all dims (a dim's value or a shape entry).
    fn dim_expr(&mut self, c: &mut Cursor) -> Result<Expr, ParseError> {
        let e = self.expr(c)?;
        let mut bad = None;
        e.visit_names(&mut |name, span| {
            if bad.is_none() && name != "batch" && !self.prog.dims.contains_key(name) {
                bad = Some((name.to_string(), span));
            }
        });
        if let Some((name, span)) = bad {
            return Err(unknown_dim(&name, span));
        }
        Ok(e)
    }

    fn init(&mut self, c: &mut Cursor) -> Result<Init, ParseError> {
        let (name, span) = c.ident("an init rule")?;
        match name.as_str() {
            "zeros" => Ok(Init::Zeros),
            "eye" => Ok(Init::Eye),
            "iota" => Ok(Init::Iota),
            "normal" | "const" | "bernoulli" => {
                c.punct('(')?;
                let e = self.expr(c)?;
                c.punct(')')?;
                Ok(match name.as_str() {
                    "normal" => Init::Normal(e),
                    "const" => Init::Const(e),
                    _ => Init::Bernoulli(e),
                })
            }
            "uniform" => {
                c.punct('(')?;
                let a = self.expr(c)?;
                c.punct(',')?;
                let b = self.expr(c)?;
                c.punct(')')?;
                Ok(Init::Uniform(a, b))
            }
            _ => Err(ParseError::new(
                format!("unknown init rule `{name}`"),
                span,
                "expected zeros, normal(STD), uniform(LO, HI), const(V), eye, iota or bernoulli(P)",
            )),
        }
    }

    /// A scalar expression. Trees deeper than `MAX_EXPR_DEPTH` (nesting, or a
    /// long `+`/`*` chain) are an error at the operator or parenthesis that goes
    /// past the limit, so evaluating, printing and dropping stay shallow.
    fn expr(&mut self, c: &mut Cursor) -> Result<Expr, ParseError> {
        self.sum(c, 0).map(|(e, _)| e)
    }

    /// `TERM (+|- TERM)*`, left-associative; returns the tree and its depth.
    fn sum(&mut self, c: &mut Cursor, level: u32) -> Result<(Expr, u32), ParseError> {
        let (mut lhs, mut depth) = self.term(c, level)?;
        while let Some(Tok::Punct(op @ ('+' | '-'))) = c.peek().cloned() {
            let at = c.span();
            c.bump();
            let (rhs, d) = self.term(c, level)?;
            (lhs, depth) = bin(op, lhs, rhs, depth.max(d) + 1, at)?;
        }
        Ok((lhs, depth))
    }

    /// `UNARY (*|/ UNARY)*`.
    fn term(&mut self, c: &mut Cursor, level: u32) -> Result<(Expr, u32), ParseError> {
        let (mut lhs, mut depth) = self.unary(c, level)?;
        while let Some(Tok::Punct(op @ ('*' | '/'))) = c.peek().cloned() {
            let at = c.span();
            c.bump();
            let (rhs, d) = self.unary(c, level)?;
            (lhs, depth) = bin(op, lhs, rhs, depth.max(d) + 1, at)?;
        }
        Ok((lhs, depth))
    }

    fn unary(&mut self, c: &mut Cursor, level: u32) -> Result<(Expr, u32), ParseError> {
        let span = c.span();
        if level >= MAX_EXPR_DEPTH {
            return Err(too_deep(span));
        }
        match c.peek().cloned() {
            Some(Tok::Punct('-')) => {
                c.bump();
                let (inner, d) = self.unary(c, level + 1)?;
                if d >= MAX_EXPR_DEPTH {
                    return Err(too_deep(span));
                }
                let span = span.join(inner.span());
                Ok((
                    Expr::Neg {
                        inner: Box::new(inner),
                        span,
                    },
                    d + 1,
                ))
            }
            _ => {
                let (base, d) = self.atom(c, level)?;
                if c.peek() != Some(&Tok::Punct('^')) {
                    return Ok((base, d));
                }
                // `^` is right-associative and binds tighter than a minus on its left.
                let at = c.span();
                c.bump();
                let (exp, e) = self.unary(c, level + 1)?;
                bin('^', base, exp, d.max(e) + 1, at)
            }
        }
    }

    /// A number, a name, `sqrt(…)` or a parenthesized expression.
    fn atom(&mut self, c: &mut Cursor, level: u32) -> Result<(Expr, u32), ParseError> {
        let span = c.span();
        match c.peek().cloned() {
            Some(Tok::Punct('(')) => {
                c.bump();
                let e = self.sum(c, level + 1)?;
                c.punct(')')?;
                Ok(e)
            }
            Some(Tok::Num(value)) => {
                c.bump();
                Ok((Expr::Num { value, span }, 1))
            }
            Some(Tok::Ident(name)) if name == "sqrt" => {
                c.bump();
                c.punct('(')?;
                let (inner, d) = self.sum(c, level + 1)?;
                let end = c.punct(')')?;
                if d >= MAX_EXPR_DEPTH {
                    return Err(too_deep(span));
                }
                Ok((
                    Expr::Sqrt {
                        inner: Box::new(inner),
                        span: span.join(end),
                    },
                    d + 1,
                ))
            }
            Some(Tok::Ident(name)) => {
                c.bump();
                let is_index = self.loops.iter().any(|f| f.var == name) || name == "step";
                if name != "batch"
                    && !is_index
                    && !self.prog.dims.contains_key(&name)
                    && !self.prog.hypers.contains_key(&name)
                {
                    let what = if self.prog.buffers.contains_key(&name) {
                        "a buffer cannot stand in a scalar expression"
                    } else {
                        "declare it with `dim` or `hyper` first"
                    };
                    return Err(ParseError::new(
                        format!("unknown name `{name}` in an expression"),
                        span,
                        what,
                    ));
                }
                Ok((Expr::Name { name, span }, 1))
            }
            _ => Err(ParseError::new(
                "expected a number, a name or `(`",
                span,
                "expected an expression",
            )),
        }
    }

    fn check_op_names(&mut self) {
        let mut seen: indexmap::IndexMap<String, crate::span::Span> = indexmap::IndexMap::new();
        for i in 0..self.prog.ops.len() {
            if self.loop_ops.contains(&i) {
                continue;
            }
            let id = crate::ir::OpId(i as u32);
            let name = self.prog.op_name(id);
            let span = self.prog.ops[i].span;
            if let Some(prev) = seen.get(&name) {
                let message = match &self.prog.ops[i].kind {
                    // Two unlabeled updates of one param share the name `update_P`.
                    OpKind::Update { param, .. } if self.prog.ops[i].label.is_none() => {
                        format!("`{}` is updated twice in one step", self.prog.buf(*param).name)
                    }
                    _ => format!("duplicate op name `{name}`"),
                };
                let mut e = ParseError::new(message, span, "this op has the same name");
                e.related = Some((*prev, "as this one".into()));
                self.errors.push(e);
            } else {
                seen.insert(name, span);
            }
        }
    }
}

/// The deepest expression tree the parser builds (nesting of parentheses,
/// `sqrt(`, unary `-`, and the length of a `+`/`*` chain all count), so that
/// every recursive walk of an expression stays far from the stack limit.
pub const MAX_EXPR_DEPTH: u32 = 200;

fn too_deep(span: Span) -> ParseError {
    ParseError::new(
        format!("expression nested too deeply (the limit is {MAX_EXPR_DEPTH} levels)"),
        span,
        "one level too many here",
    )
}

/// `lhs op rhs` of depth `depth`; an error at `at` (the operator) past the limit.
fn bin(op: char, lhs: Expr, rhs: Expr, depth: u32, at: Span) -> Result<(Expr, u32), ParseError> {
    if depth > MAX_EXPR_DEPTH {
        return Err(too_deep(at));
    }
    let span = lhs.span().join(rhs.span());
    Ok((
        Expr::Bin {
            op,
            lhs: Box::new(lhs),
            rhs: Box::new(rhs),
            span,
        },
        depth,
    ))
}
