//! The program: buffers, ops, schedule, and the statement layout for printing.

use super::{BufId, Expr, OpId, Prim};
use crate::span::Span;
use indexmap::IndexMap;

/// A buffer's role in a training step.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Role {
    /// Trained; persists across steps; has an init rule.
    Param,
    /// Persists across steps but is not a `grad` target; has an init rule.
    State,
    /// Fed by the task (x).
    Input,
    /// Fed by the task (y).
    Target,
    /// Written by one op of the step.
    Temp,
}

impl Role {
    /// The `.sutro` keyword.
    pub fn keyword(self) -> &'static str {
        match self {
            Role::Param => "param",
            Role::State => "state",
            Role::Input => "input",
            Role::Target => "target",
            Role::Temp => "temp",
        }
    }

    /// Whether the buffer keeps its value from one step to the next.
    pub fn persists(self) -> bool {
        matches!(self, Role::Param | Role::State)
    }
}

/// One dimension of a declared shape.
#[derive(Clone, Debug, PartialEq)]
pub enum ShapeDim {
    /// A literal extent.
    Lit(u64),
    /// A declared dim (or `batch`).
    Name(String),
    /// An expression of dims (`n * n`), a positive integer once resolved.
    Expr(Expr),
}

/// How a param or state buffer starts.
#[derive(Clone, Debug, PartialEq)]
pub enum Init {
    /// All zeros.
    Zeros,
    /// Gaussian with mean 0 and the given standard deviation.
    Normal(Expr),
    /// Uniform on [lo, hi).
    Uniform(Expr, Expr),
    /// Every element the same value.
    Const(Expr),
    /// 1 where the first two indices are equal, else 0 (the identity for a square matrix).
    Eye,
    /// 0, 1, 2, … in row-major order.
    Iota,
    /// 1 with probability p, else 0.
    Bernoulli(Expr),
}

/// A buffer declaration (explicit, or implied by an op's output).
#[derive(Clone, Debug)]
pub struct Buffer {
    /// Its name.
    pub name: String,
    /// Its role.
    pub role: Role,
    /// Declared shape; `None` for temporaries, whose shape is inferred.
    pub shape: Option<Vec<ShapeDim>>,
    /// Init rule (params and state).
    pub init: Option<Init>,
    /// Where it was declared or first assigned.
    pub span: Span,
}

/// The update rule of an `update` op.
#[derive(Clone, Debug, PartialEq)]
pub enum Rule {
    /// P ← P − lr·(g + wd·P).
    Sgd { lr: Expr, wd: Expr },
}

/// A scalar operand of an op: an expression, or a one-element buffer read at run time.
#[derive(Clone, Debug, PartialEq)]
pub enum Scalar {
    /// A scalar expression over numbers, dims and hypers.
    Expr(Expr),
    /// A buffer of one element (`[1]`), read by the op after its buffer arguments.
    Buf(BufId),
}

impl Scalar {
    /// The buffer, for a buffer scalar.
    pub fn buf(&self) -> Option<BufId> {
        match self {
            Scalar::Buf(b) => Some(*b),
            Scalar::Expr(_) => None,
        }
    }

    /// The expression, for an expression scalar.
    pub fn expr(&self) -> Option<&Expr> {
        match self {
            Scalar::Expr(e) => Some(e),
            Scalar::Buf(_) => None,
        }
    }
}

/// One axis of a slice.
#[derive(Clone, Debug, PartialEq)]
pub enum Range {
    /// `:` — the whole axis.
    All,
    /// `E` — one index; the axis disappears from the slice's shape.
    Index(Expr),
    /// `LO:HI` — indices LO ≤ j < HI.
    Span(Expr, Expr),
}

/// Which operand of a call a slice applies to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Slot {
    /// The i-th buffer argument.
    Arg(usize),
    /// The i-th output.
    Out(usize),
}

/// A slice of one operand: `NAME[r0, r1, …]`, one range per axis.
#[derive(Clone, Debug, PartialEq)]
pub struct Slice {
    /// The operand.
    pub slot: Slot,
    /// One range per axis of the buffer.
    pub axes: Vec<Range>,
}

/// The gradient an `update` applies: a buffer, or a primitive fused into the update.
#[derive(Clone, Debug, PartialEq)]
pub enum Src {
    /// A gradient buffer.
    Buf(BufId),
    /// A single-output primitive computed inside the update, never stored.
    Fused {
        prim: Prim,
        args: Vec<BufId>,
        scalars: Vec<Scalar>,
    },
}

/// What an op does.
#[derive(Clone, Debug, PartialEq)]
pub enum OpKind {
    /// `outs = prim(args[, scalars])`. An output that names a param or state
    /// buffer is written in place; `slices` restrict operands to regions.
    Call {
        prim: Prim,
        outs: Vec<BufId>,
        args: Vec<BufId>,
        scalars: Vec<Scalar>,
        slices: Vec<Slice>,
    },
    /// `update param rule with src`: in place.
    Update { param: BufId, rule: Rule, src: Src },
    /// `grad loss wrt params [as outs]`: sugar, expanded by `ir::grad::lower`.
    /// `outs[i]` receives the gradient of `wrt[i]`: `d<P>` unless `named`
    /// (written with `as`, whose intermediates are prefixed by the grad's name).
    Grad {
        loss: BufId,
        wrt: Vec<BufId>,
        outs: Vec<BufId>,
        named: bool,
    },
}

/// Comments and blank lines attached to a statement, kept for printing.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Trivia {
    /// Lines before the statement: `None` is a blank line, `Some` a comment's text.
    pub leading: Vec<Option<String>>,
    /// A comment at the end of the statement's line.
    pub trailing: Option<String>,
}

/// An op with its name and source position.
#[derive(Clone, Debug)]
pub struct Op {
    /// The label written before it (`l1_fwd:`), if any.
    pub label: Option<String>,
    /// What it does.
    pub kind: OpKind,
    /// Its source line (for lowered ops, the `grad` line).
    pub span: Span,
    /// Comments around it.
    pub trivia: Trivia,
}

/// A top-level statement, in source order, for the printer.
#[derive(Clone, Debug)]
pub enum Stmt {
    /// `dim NAME = N`.
    Dim(String),
    /// `hyper NAME = EXPR`.
    Hyper(String),
    /// `ROLE NAME[shape] = init`.
    Decl(BufId),
    /// A slot filled by the next op of `order`.
    Op,
    /// `predict NAME`.
    Predict,
    /// `for VAR in LO..HI {`: the statements up to the matching `End` repeat.
    Loop { var: String, lo: Expr, hi: Expr },
    /// `}`.
    End,
}

/// A parsed `.sutro` program.
#[derive(Clone, Debug, Default)]
pub struct Program {
    /// Program name (the file stem).
    pub name: String,
    /// Declared dims with their defining expressions (an integer literal, or an
    /// expression of earlier dims) and spans.
    pub dims: IndexMap<String, (Expr, Span)>,
    /// Declared hypers with their default expressions.
    pub hypers: IndexMap<String, Expr>,
    /// Every buffer; a `BufId` is an index here.
    pub buffers: IndexMap<String, Buffer>,
    /// Every op; an `OpId` is an index here.
    pub ops: Vec<Op>,
    /// The schedule.
    pub order: Vec<OpId>,
    /// The buffer the driver evaluates.
    pub predict: Option<(BufId, Span)>,
    /// Statement layout for printing, with trivia of non-op statements.
    pub stmts: Vec<(Stmt, Trivia)>,
    /// Comments after the last statement.
    pub tail: Vec<Option<String>>,
}

impl Program {
    /// The buffer with this id.
    pub fn buf(&self, id: BufId) -> &Buffer {
        &self.buffers[id.idx()]
    }

    /// The id of a buffer name.
    pub fn buf_id(&self, name: &str) -> Option<BufId> {
        self.buffers.get_index_of(name).map(|i| BufId(i as u32))
    }

    /// The op with this id.
    pub fn op(&self, id: OpId) -> &Op {
        &self.ops[id.idx()]
    }

    /// An op's stable name: its label, else `update_<P>`, `set_<P>` (an in-place
    /// call) or its first output.
    pub fn op_name(&self, id: OpId) -> String {
        let op = self.op(id);
        if let Some(l) = &op.label {
            return l.clone();
        }
        match &op.kind {
            OpKind::Call { outs, .. } => outs.first().map_or_else(
                || format!("op{}", id.0),
                |b| {
                    let buf = self.buf(*b);
                    // An in-place write is named like an update.
                    if buf.role.persists() {
                        format!("set_{}", buf.name)
                    } else {
                        buf.name.clone()
                    }
                },
            ),
            OpKind::Update { param, .. } => format!("update_{}", self.buf(*param).name),
            OpKind::Grad { loss, .. } => format!("grad_{}", self.buf(*loss).name),
        }
    }

    /// Adds a buffer, returning its id (the name must be new).
    pub fn add_buffer(&mut self, buf: Buffer) -> BufId {
        let id = BufId(self.buffers.len() as u32);
        self.buffers.insert(buf.name.clone(), buf);
        id
    }

    /// Appends an op at the end of the schedule.
    pub fn push_op(&mut self, op: Op) -> OpId {
        let id = OpId(self.ops.len() as u32);
        self.ops.push(op);
        self.order.push(id);
        id
    }

    /// Every buffer id, in declaration order (a `BufId` is the declaration index).
    pub fn buffer_ids(&self) -> impl Iterator<Item = BufId> + use<> {
        (0..self.buffers.len() as u32).map(BufId)
    }

    /// Every op id, in op-table order (not the schedule).
    pub fn op_ids(&self) -> impl Iterator<Item = OpId> + use<> {
        (0..self.ops.len() as u32).map(OpId)
    }

    /// The buffers written at the start of a step, in the interpreter's order:
    /// params and state (declaration order; only with `persistent`), then inputs
    /// and targets.
    pub fn step_start_buffers(&self, persistent: bool) -> impl Iterator<Item = BufId> + '_ {
        let persist = self
            .buffer_ids()
            .filter(move |b| persistent && self.buf(*b).role.persists());
        let data = self
            .buffer_ids()
            .filter(|b| matches!(self.buf(*b).role, Role::Input | Role::Target));
        persist.chain(data)
    }

    /// Buffers with a given role, in declaration order.
    pub fn with_role(&self, role: Role) -> impl Iterator<Item = BufId> + '_ {
        self.buffer_ids().filter(move |b| self.buf(*b).role == role)
    }
}
