//! Validation: the only way to build a `Validated` program.
//!
//! Invariants a `Validated` guarantees (the interpreter relies on them and must
//! not panic once they hold):
//! - every dim resolves to a positive integer, every hyper and init expression to
//!   a finite number, and every buffer has at most `Limits::max_buffer_elements`
//!   elements (checked with overflow-safe arithmetic before anything is allocated);
//! - every buffer an op reads is defined before it in the schedule (params, state,
//!   inputs and targets are defined at step start; a temporary by the op that
//!   assigns it, once);
//! - shapes agree with each op's shape rule (`shapes::infer`);
//! - `update` writes only a `param` or `state` buffer, at most once per step, with
//!   a gradient of the parameter's shape that does not read the parameter itself;
//! - no `grad` is left (it is lowered first by `ir::grad::lower`).

pub mod memory;
pub mod shapes;
pub mod slices;

pub use slices::Region;
use std::collections::HashMap;

use crate::diag::Diagnostic;
use crate::ir::{
    BufId, Expr, Init, Lowered, OpId, OpKind, Prim, Program, Role, Rule, Scalar, ShapeDim, Slice, Slot, Src, effects,
};
use crate::span::Span;
use indexmap::IndexMap;
use thiserror::Error;

/// Values given on the command line with `--set NAME=VALUE`, in order.
#[derive(Clone, Debug, Default)]
pub struct Settings {
    /// Name → raw value text.
    pub values: IndexMap<String, String>,
}

impl Settings {
    /// Parses `NAME=VALUE` pairs; a malformed pair is an error naming it.
    pub fn parse(pairs: &[String]) -> Result<Settings, ValidationError> {
        let mut values = IndexMap::new();
        for p in pairs {
            match p.split_once('=') {
                Some((k, v)) if !k.trim().is_empty() && !v.trim().is_empty() => {
                    values.insert(k.trim().to_string(), v.trim().to_string());
                }
                _ => {
                    return Err(ValidationError::BadSetting {
                        name: p.clone(),
                        message: "expected NAME=VALUE".into(),
                    });
                }
            }
        }
        Ok(Settings { values })
    }

    /// Adds or replaces one value.
    pub fn with(mut self, name: &str, value: impl ToString) -> Settings {
        self.values.insert(name.to_string(), value.to_string());
        self
    }

    /// An integer setting, if given; an error if it does not parse as a positive integer.
    pub fn int(&self, name: &str) -> Result<Option<u64>, ValidationError> {
        match self.values.get(name) {
            None => Ok(None),
            Some(v) => v
                .parse::<u64>()
                .ok()
                .filter(|x| *x >= 1)
                .map(Some)
                .ok_or_else(|| ValidationError::BadSetting {
                    name: name.into(),
                    message: format!("`{v}` is not a positive integer"),
                }),
        }
    }
}

/// Size limits checked before anything is allocated.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    /// Largest element count of one buffer.
    pub max_buffer_elements: u64,
    /// Largest number of ops after lowering.
    pub max_ops: usize,
    /// The memory budget in bytes (`--max-memory`, see `memory`): all buffers of
    /// the program together, plus the task's data, plus anything sized from a
    /// file. It adds to the other limits, it does not replace them.
    pub max_memory: u64,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            max_buffer_elements: 1 << 28,
            max_ops: 100_000,
            max_memory: memory::effective(memory::DEFAULT_MAX_MEMORY),
        }
    }
}

impl Limits {
    /// `bytes` of `what` if they fit in the memory budget.
    pub fn check_memory(&self, what: &str, bytes: u64) -> Result<u64, memory::MemoryError> {
        memory::fits(what, bytes, self.max_memory)
    }
}

/// A validation error; spans point into the program text.
#[derive(Clone, Debug, PartialEq, Error)]
pub enum ValidationError {
    /// Shapes disagree with an op's shape rule.
    #[error("shape mismatch in `{op}`: {detail}")]
    Shape { op: String, detail: String, span: Span },
    /// A temporary is read before the op that assigns it.
    #[error("`{buf}` is read before it is written")]
    ReadBeforeWrite { buf: String, span: Span },
    /// `update` of something that is not a param or state.
    #[error("cannot update {role} `{buf}`: only param and state buffers are updated")]
    WriteToInput {
        buf: String,
        role: &'static str,
        span: Span,
    },
    /// A param updated twice.
    #[error("`{buf}` is updated twice in one step")]
    DoubleUpdate { buf: String, span: Span, first: Span },
    /// An update's gradient reads the parameter it updates.
    #[error("the gradient of `update {buf}` reads `{buf}` itself")]
    SelfRead { buf: String, span: Span },
    /// A loop could not be unrolled.
    #[error("{message}")]
    Loop { message: String, span: Span },
    /// A slice does not fit its buffer.
    #[error("slice of `{buf}` in `{op}`: {detail}")]
    Slice {
        op: String,
        buf: String,
        detail: String,
        span: Span,
    },
    /// A dim or shape expression is not a positive integer.
    #[error("{what} is not a positive integer ({value})")]
    BadExtent { what: String, value: f64, span: Span },
    /// An expression does not evaluate to a finite number.
    #[error("{what} is not a finite number ({value})")]
    NotFinite { what: String, value: f64, span: Span },
    /// A name in an expression is unknown.
    #[error("unknown name `{name}`")]
    UnknownName { name: String, span: Span },
    /// A `--set` value is malformed or names nothing.
    #[error("bad --set {name}: {message}")]
    BadSetting { name: String, message: String },
    /// A buffer is larger than the limit (or its size overflows).
    #[error("buffer `{buf}` has {size} elements, over the limit of {limit} (--max-buffer-elements)")]
    TooBig {
        buf: String,
        size: String,
        limit: u64,
        span: Span,
    },
    /// Too many ops.
    #[error("the program has {n} ops, over the limit of {limit} (--max-ops)")]
    TooManyOps { n: usize, limit: usize },
    /// A `grad` is left in a program that should be lowered.
    #[error("`grad` must be lowered before validation")]
    GradLeft { span: Span },
    /// `grad` differentiates something that is not a param.
    #[error("`grad` targets must be params; `{buf}` is {role}")]
    GradTarget {
        buf: String,
        role: &'static str,
        span: Span,
    },
    /// The loss of a `grad` is not a scalar.
    #[error("the loss `{buf}` must have one element, it has shape {shape}")]
    LossShape { buf: String, shape: String, span: Span },
    /// A task size (`batch`, `n`, …) declared as a hyper, where it would be ignored.
    #[error("`{name}` must be a `dim`: the task reads it as a size, and a `hyper {name}` would be ignored")]
    NotADim { name: String, span: Span },
    /// `predict` depends on a `query`: the prediction would read the task's labels.
    #[error(
        "`predict {pred}` depends on `query` (op `{op}`): a prediction must come from what the program learned, not from the task's labels"
    )]
    QueryInPredict { pred: String, op: String, span: Span },
    /// A size overflows or is over the memory budget.
    #[error(transparent)]
    Memory(#[from] memory::MemoryError),
}

impl ValidationError {
    /// The primary span, if any.
    pub fn span(&self) -> Option<Span> {
        use ValidationError::*;
        match self {
            Shape { span, .. }
            | ReadBeforeWrite { span, .. }
            | WriteToInput { span, .. }
            | DoubleUpdate { span, .. }
            | SelfRead { span, .. }
            | NotFinite { span, .. }
            | BadExtent { span, .. }
            | Loop { span, .. }
            | Slice { span, .. }
            | UnknownName { span, .. }
            | TooBig { span, .. }
            | GradLeft { span }
            | GradTarget { span, .. }
            | LossShape { span, .. }
            | NotADim { span, .. }
            | QueryInPredict { span, .. } => Some(*span),
            BadSetting { .. } | TooManyOps { .. } | Memory(_) => None,
        }
    }
}

impl From<&ValidationError> for Diagnostic {
    fn from(e: &ValidationError) -> Diagnostic {
        let mut d = Diagnostic::error(e.to_string());
        if let Some(s) = e.span() {
            let label = match e {
                ValidationError::Shape { detail, .. } => detail.clone(),
                _ => "here".to_string(),
            };
            d = d.with_label(s, label);
        }
        if let ValidationError::DoubleUpdate { first, .. } = e {
            d = d.with_label(*first, "first updated here");
        }
        d
    }
}

/// A program that passed validation, with resolved dims, hypers, shapes and layout.
#[derive(Clone, Debug)]
pub struct Validated {
    program: Program,
    dims: IndexMap<String, u64>,
    hypers: IndexMap<String, f64>,
    shapes: Vec<Vec<usize>>,
    offsets: Vec<usize>,
    total: usize,
    limits: Limits,
    regions: HashMap<(OpId, Slot), Region>,
    /// Each op's lowered form, by `OpId` (no `grad` can be in it).
    lowered: Vec<Lowered>,
}

impl Validated {
    /// An op's lowered form: the interpreter's view of op data.
    pub fn lowered(&self, id: OpId) -> &Lowered {
        &self.lowered[id.idx()]
    }

    /// The region of a sliced operand of an op.
    pub fn region(&self, op: OpId, slot: Slot) -> Option<&Region> {
        self.regions.get(&(op, slot))
    }

    /// The program.
    pub fn program(&self) -> &Program {
        &self.program
    }

    /// Resolved dims (including `batch`).
    pub fn dims(&self) -> &IndexMap<String, u64> {
        &self.dims
    }

    /// Resolved hypers.
    pub fn hypers(&self) -> &IndexMap<String, f64> {
        &self.hypers
    }

    /// A buffer's shape.
    pub fn shape(&self, b: BufId) -> &[usize] {
        &self.shapes[b.idx()]
    }

    /// A buffer's element count.
    pub fn size(&self, b: BufId) -> usize {
        self.shapes[b.idx()].iter().product()
    }

    /// A buffer's element offset in the flat layout (declaration order).
    pub fn offset(&self, b: BufId) -> usize {
        self.offsets[b.idx()]
    }

    /// Total elements of the layout.
    pub fn total_elements(&self) -> usize {
        self.total
    }

    /// The limits it was validated under (the task and the driver check their
    /// own allocations against the same memory budget).
    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// Bytes of all its buffers (f32 elements).
    pub fn buffer_bytes(&self) -> u64 {
        self.total as u64 * 4
    }

    /// Evaluates a scalar expression against the resolved dims and hypers.
    pub fn eval(&self, e: &Expr) -> f64 {
        self.eval_at(e, 1)
    }

    /// Evaluates a scalar expression with the built-in `step` (1-based) set.
    pub fn eval_at(&self, e: &Expr, step: u64) -> f64 {
        // Validation evaluated every expression the program holds, so names resolve.
        e.eval(&|n| {
            if n == "step" {
                Some(step as f64)
            } else {
                lookup(&self.dims, &self.hypers, n)
            }
        })
        .unwrap_or(f64::NAN)
    }
}

fn lookup(dims: &IndexMap<String, u64>, hypers: &IndexMap<String, f64>, n: &str) -> Option<f64> {
    dims.get(n).map(|v| *v as f64).or_else(|| hypers.get(n).copied())
}

/// The program's dims under the settings (for unrolling loops).
pub fn resolve_dims(p: &Program, s: &Settings) -> Result<IndexMap<String, u64>, Vec<ValidationError>> {
    let mut errs = Vec::new();
    let (dims, _) = resolve(p, s, &mut errs)?;
    if errs.is_empty() { Ok(dims) } else { Err(errs) }
}

/// Unrolls the loops of a parsed program under the settings.
pub fn unroll(p: &Program, s: &Settings, limits: &Limits) -> Result<Program, Vec<ValidationError>> {
    let dims = resolve_dims(p, s)?;
    crate::ir::unroll::unroll(p, &dims, limits.max_ops).map_err(|e| {
        vec![ValidationError::Loop {
            message: e.to_string(),
            span: e.span(),
        }]
    })
}

/// The shapes of a program that may still contain `grad`, and the dims and
/// hypers under the settings (what the `grad` lowering needs).
#[derive(Clone, Debug)]
pub struct Inferred {
    /// Each buffer's shape (`None` for one no statement defines).
    pub shapes: Vec<Option<Vec<usize>>>,
    dims: IndexMap<String, u64>,
    hypers: IndexMap<String, f64>,
}

impl Inferred {
    /// The value of a dim or hyper by name.
    pub fn value(&self, name: &str) -> Option<f64> {
        lookup(&self.dims, &self.hypers, name)
    }
}

/// Shapes of a program that may still contain `grad` (for the lowering).
pub fn infer_shapes(p: &Program, s: &Settings, limits: &Limits) -> Result<Inferred, Vec<ValidationError>> {
    let c = check(p, s, limits, true)?;
    Ok(Inferred {
        shapes: c.shapes,
        dims: c.dims,
        hypers: c.hypers,
    })
}

/// Validates a lowered program under the given settings.
pub fn validate(p: Program, s: &Settings, limits: &Limits) -> Result<Validated, Vec<ValidationError>> {
    let c = check(&p, s, limits, false)?;
    check_predict(&p)?;
    let shapes: Vec<Vec<usize>> = c.shapes.into_iter().map(|s| s.unwrap_or_else(|| vec![0])).collect();
    let mut offsets = Vec::with_capacity(shapes.len());
    let mut total = 0u64;
    let what = "the program's buffers";
    for sh in &shapes {
        offsets.push(total as usize);
        let n = memory::product(what, &sh.iter().map(|d| *d as u64).collect::<Vec<_>>()).map_err(|e| vec![e.into()])?;
        total = memory::sum(what, &[total, n]).map_err(|e| vec![e.into()])?;
    }
    let bytes = memory::product(what, &[total, 4]).map_err(|e| vec![e.into()])?;
    limits
        .check_memory(&format!("{what} ({total} elements)"), bytes)
        .map_err(|e| vec![e.into()])?;
    // `check` has refused every `grad`; this is where the type says so.
    let lowered = p
        .ops
        .iter()
        .map(|op| Lowered::of(&op.kind).ok_or_else(|| vec![ValidationError::GradLeft { span: op.span }]))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Validated {
        lowered,
        program: p,
        dims: c.dims,
        hypers: c.hypers,
        shapes,
        offsets,
        total: total as usize,
        limits: *limits,
        regions: c.regions,
    })
}

/// The ops `predict` depends on ask no `query`: evaluation runs them over the
/// test set, which must not see its labels.
fn check_predict(p: &Program) -> Result<(), Vec<ValidationError>> {
    let Some((pred, _)) = p.predict else { return Ok(()) };
    for id in crate::interp::slice(p, &[pred]) {
        if let OpKind::Call { prim: Prim::Query, .. } = p.op(id).kind {
            return Err(vec![ValidationError::QueryInPredict {
                pred: p.buf(pred).name.clone(),
                op: p.op_name(id),
                span: p.op(id).span,
            }]);
        }
    }
    Ok(())
}

struct Checked {
    dims: IndexMap<String, u64>,
    hypers: IndexMap<String, f64>,
    shapes: Vec<Option<Vec<usize>>>,
    regions: HashMap<(OpId, Slot), Region>,
}

fn fmt_shape(s: &[usize]) -> String {
    format!("[{}]", s.iter().map(|d| d.to_string()).collect::<Vec<_>>().join(","))
}

fn check(p: &Program, s: &Settings, limits: &Limits, allow_grad: bool) -> Result<Checked, Vec<ValidationError>> {
    let mut errs = Vec::new();
    let (dims, hypers) = resolve(p, s, &mut errs)?;
    let mut w = Walk {
        p,
        limits,
        dims,
        hypers,
        shapes: vec![None; p.buffers.len()],
        defined: p.buffers.values().map(|b| b.role != Role::Temp).collect(),
        updated: IndexMap::new(),
        regions: HashMap::new(),
        errs,
    };
    w.declared()?;
    if p.ops.len() > limits.max_ops {
        return Err(vec![ValidationError::TooManyOps {
            n: p.ops.len(),
            limit: limits.max_ops,
        }]);
    }
    // Walk the schedule: definedness, then one checker per op kind.
    for &id in &p.order {
        let op = p.op(id);
        for a in effects(&op.kind) {
            if a.mode == crate::ir::Mode::Read && !w.defined[a.buf.idx()] {
                w.errs.push(ValidationError::ReadBeforeWrite {
                    buf: p.buf(a.buf).name.clone(),
                    span: op.span,
                });
            }
        }
        match &op.kind {
            OpKind::Call {
                prim,
                outs,
                args,
                scalars,
                slices,
            } => w.call(id, *prim, outs, args, scalars, slices)?,
            OpKind::Update { param, rule, src } => w.update(id, *param, rule, src),
            OpKind::Grad { loss, wrt, outs, .. } => {
                if allow_grad {
                    w.grad(id, *loss, wrt, outs);
                } else {
                    w.errs.push(ValidationError::GradLeft { span: op.span });
                }
            }
        }
    }
    if w.errs.is_empty() {
        Ok(Checked {
            dims: w.dims,
            hypers: w.hypers,
            shapes: w.shapes,
            regions: w.regions,
        })
    } else {
        Err(w.errs)
    }
}

/// Dims and hypers under the settings: the command line wins over the
/// declaration; `batch` defaults to 1.
#[allow(clippy::type_complexity)] // The two resolved tables.
fn resolve(
    p: &Program,
    s: &Settings,
    errs: &mut Vec<ValidationError>,
) -> Result<(IndexMap<String, u64>, IndexMap<String, f64>), Vec<ValidationError>> {
    let mut dims: IndexMap<String, u64> = IndexMap::new();
    // An undeclared `batch` comes last in the table but may appear in any dim.
    let batch = s.int("batch").map_err(|e| vec![e])?.unwrap_or(1);
    for (name, (e, span)) in &p.dims {
        let v = match s.int(name).map_err(|e| vec![e])? {
            Some(v) => v,
            None => match extent(e, &dims, batch) {
                Ok(v) => v,
                Err(value) => {
                    errs.push(ValidationError::BadExtent {
                        what: format!("dim `{name}`"),
                        value,
                        span: *span,
                    });
                    1
                }
            },
        };
        dims.insert(name.clone(), v);
    }
    if !dims.contains_key("batch") {
        dims.insert("batch".to_string(), batch);
    }
    let mut hypers: IndexMap<String, f64> = IndexMap::new();
    for (name, e) in &p.hypers {
        // The task and the driver read these as dims; a hyper would be ignored.
        if crate::train::TASK_KEYS.contains(&name.as_str()) {
            errs.push(ValidationError::NotADim {
                name: name.clone(),
                span: e.span(),
            });
        }
        let v = match s.values.get(name) {
            Some(raw) => match raw.parse::<f64>() {
                Ok(v) if v.is_finite() => v,
                _ => {
                    return Err(vec![ValidationError::BadSetting {
                        name: name.clone(),
                        message: format!("`{raw}` is not a finite number"),
                    }]);
                }
            },
            None => match e.eval(&|n| lookup(&dims, &hypers, n)) {
                Ok(v) => v,
                Err((name, span)) => {
                    errs.push(ValidationError::UnknownName { name, span });
                    continue;
                }
            },
        };
        if !v.is_finite() {
            errs.push(ValidationError::NotFinite {
                what: format!("hyper `{name}`"),
                value: v,
                span: e.span(),
            });
        }
        hypers.insert(name.clone(), v);
    }
    Ok((dims, hypers))
}

/// The state of one pass over the schedule.
struct Walk<'a> {
    p: &'a Program,
    limits: &'a Limits,
    dims: IndexMap<String, u64>,
    hypers: IndexMap<String, f64>,
    shapes: Vec<Option<Vec<usize>>>,
    defined: Vec<bool>,
    updated: IndexMap<BufId, Span>,
    regions: HashMap<(OpId, Slot), Region>,
    errs: Vec<ValidationError>,
}

/// A slice bound's value (validation reports names it cannot resolve elsewhere).
fn self_eval(dims: &IndexMap<String, u64>, hypers: &IndexMap<String, f64>, e: &Expr) -> f64 {
    e.eval(&|n| lookup(dims, hypers, n)).unwrap_or(f64::NAN)
}

impl Walk<'_> {
    /// Evaluates an expression, recording an error (and giving 0) if it fails.
    /// Op scalars and update rules may use `step` (checked at step 1).
    fn eval(&mut self, e: &Expr, what: &str) -> f64 {
        let step = |n: &str| {
            if n == "step" {
                Some(1.0)
            } else {
                lookup(&self.dims, &self.hypers, n)
            }
        };
        match e.eval(&step) {
            Ok(v) if v.is_finite() => v,
            Ok(v) => {
                self.errs.push(ValidationError::NotFinite {
                    what: what.to_string(),
                    value: v,
                    span: e.span(),
                });
                0.0
            }
            Err((name, span)) => {
                self.errs.push(ValidationError::UnknownName { name, span });
                0.0
            }
        }
    }

    fn shape_of(&self, b: BufId) -> Vec<usize> {
        self.shapes[b.idx()].clone().unwrap_or_default()
    }

    /// Declared shapes, in declaration order, checked against the element limit,
    /// and the init expressions.
    fn declared(&mut self) -> Result<(), Vec<ValidationError>> {
        let p = self.p;
        for (i, b) in p.buffers.values().enumerate() {
            let Some(decl) = &b.shape else { continue };
            let mut ext = Vec::new();
            let mut n: Option<u64> = Some(1);
            for d in decl {
                let v = match d {
                    ShapeDim::Lit(v) => *v,
                    ShapeDim::Name(name) => self.dims.get(name).copied().unwrap_or(1),
                    ShapeDim::Expr(e) => extent(e, &self.dims, 1).unwrap_or_else(|value| {
                        self.errs.push(ValidationError::BadExtent {
                            what: format!("the extent `{e}` of `{}`", b.name),
                            value,
                            span: e.span(),
                        });
                        1
                    }),
                };
                n = n.and_then(|n| n.checked_mul(v));
                ext.push(v);
            }
            match n {
                Some(n) if n <= self.limits.max_buffer_elements => {
                    self.shapes[i] = Some(ext.iter().map(|v| *v as usize).collect());
                }
                _ => {
                    let size = n.map_or_else(|| format!("more than {}", u64::MAX), |n| n.to_string());
                    return Err(vec![ValidationError::TooBig {
                        buf: b.name.clone(),
                        size,
                        limit: self.limits.max_buffer_elements,
                        span: b.span,
                    }]);
                }
            }
            if let Some(init) = &b.init {
                let what = format!("the init of `{}`", b.name);
                match init {
                    Init::Zeros | Init::Eye | Init::Iota => {}
                    Init::Normal(e) | Init::Const(e) | Init::Bernoulli(e) => {
                        self.eval(e, &what);
                    }
                    Init::Uniform(a, c) => {
                        self.eval(a, &what);
                        self.eval(c, &what);
                    }
                }
            }
        }
        Ok(())
    }

    /// Scalar operands: expressions evaluate; buffers hold one element. Returns
    /// the expressions' values (`None` for a buffer).
    fn scalars(&mut self, op_name: &str, scalars: &[Scalar], span: Span) -> Vec<Option<f64>> {
        let mut consts = Vec::new();
        for sc in scalars {
            consts.push(sc.expr().map(|e| self.eval(e, &format!("the scalar of `{op_name}`"))));
            match sc {
                Scalar::Expr(_) => {}
                Scalar::Buf(b) => {
                    let sh = self.shape_of(*b);
                    if sh.iter().product::<usize>() != 1 {
                        self.errs.push(ValidationError::Shape {
                            op: op_name.to_string(),
                            detail: format!(
                                "the scalar operand `{}` must have one element, it has shape {}",
                                self.p.buf(*b).name,
                                fmt_shape(&sh)
                            ),
                            span,
                        });
                    }
                }
            }
        }
        consts
    }

    /// `outs = prim(args, scalars)`: the family's shape rule, then the output limit.
    fn call(
        &mut self,
        id: OpId,
        prim: Prim,
        outs: &[BufId],
        args: &[BufId],
        scalars: &[Scalar],
        slices: &[Slice],
    ) -> Result<(), Vec<ValidationError>> {
        let p = self.p;
        let op = p.op(id);
        let op_name = p.op_name(id);
        // An operand whose op already failed has no shape: checking this op
        // against a made-up one would only repeat that error.
        let unknown = |b: &BufId| self.shapes[b.idx()].is_none() && self.defined[b.idx()];
        if !self.errs.is_empty()
            && (args.iter().any(unknown) || scalars.iter().filter_map(Scalar::buf).any(|b| unknown(&b)))
        {
            for o in outs {
                self.defined[o.idx()] = true;
            }
            return Ok(());
        }
        let consts = self.scalars(&op_name, scalars, op.span);
        // Sliced operands: resolve their regions; the op sees the region's shape.
        for sl in slices {
            let b = match sl.slot {
                Slot::Arg(i) => args.get(i),
                Slot::Out(i) => outs.get(i),
            };
            let Some(&b) = b else { continue };
            let dims = self.shape_of(b);
            let mut eval = |e: &Expr| self_eval(&self.dims, &self.hypers, e);
            match slices::region(&dims, &sl.axes, &mut eval) {
                Ok(r) => {
                    self.regions.insert((id, sl.slot), r);
                }
                Err(detail) => self.errs.push(ValidationError::Slice {
                    op: op_name.clone(),
                    buf: p.buf(b).name.clone(),
                    detail,
                    span: op.span,
                }),
            }
        }
        let view = |w: &Walk, slot: Slot, b: BufId| match w.regions.get(&(id, slot)) {
            Some(r) => r.shape.clone(),
            None => w.shape_of(b),
        };
        let arg_shapes: Vec<Vec<usize>> = args
            .iter()
            .enumerate()
            .map(|(i, b)| view(self, Slot::Arg(i), *b))
            .collect();
        let in_place = outs.iter().any(|o| p.buf(*o).role.persists());
        if (in_place || slices.iter().any(|s| matches!(s.slot, Slot::Out(_)))) && outs.len() != 1 {
            self.errs.push(ValidationError::Shape {
                op: op_name,
                detail: "only a single-output op can write a param or state buffer in place".into(),
                span: op.span,
            });
            return Ok(());
        }
        match shapes::infer(prim, &arg_shapes, &consts) {
            Ok(out_shapes) => {
                for (i, (o, sh)) in outs.iter().zip(out_shapes).enumerate() {
                    if p.buf(*o).role.persists() {
                        // In place: the result must fill the buffer or its slice.
                        let want = view(self, Slot::Out(i), *o);
                        if sh.iter().product::<usize>() != want.iter().product::<usize>()
                            || squeeze(&sh) != squeeze(&want)
                        {
                            self.errs.push(ValidationError::Shape {
                                op: op_name.clone(),
                                detail: format!(
                                    "the result {} does not fit `{}` {}",
                                    fmt_shape(&sh),
                                    p.buf(*o).name,
                                    fmt_shape(&want)
                                ),
                                span: op.span,
                            });
                        }
                        continue;
                    }
                    let n = sh.iter().try_fold(1u64, |acc, d| acc.checked_mul(*d as u64));
                    if n.is_none_or(|n| n > self.limits.max_buffer_elements) {
                        return Err(vec![ValidationError::TooBig {
                            buf: self.p.buf(*o).name.clone(),
                            size: n.map_or_else(|| "too many".into(), |n| n.to_string()),
                            limit: self.limits.max_buffer_elements,
                            span: op.span,
                        }]);
                    }
                    self.shapes[o.idx()] = Some(sh);
                    self.defined[o.idx()] = true;
                }
            }
            Err(detail) => {
                self.errs.push(ValidationError::Shape {
                    op: op_name,
                    detail,
                    span: op.span,
                });
                for o in outs {
                    self.defined[o.idx()] = true;
                }
            }
        }
        Ok(())
    }

    /// `update P rule with src`: a persistent target, once per step, a gradient of its shape.
    fn update(&mut self, id: OpId, param: BufId, rule: &Rule, src: &Src) {
        let p = self.p;
        let op = p.op(id);
        let op_name = p.op_name(id);
        let pb = p.buf(param);
        if !pb.role.persists() {
            self.errs.push(ValidationError::WriteToInput {
                buf: pb.name.clone(),
                role: pb.role.keyword(),
                span: op.span,
            });
            return;
        }
        if let Some(first) = self.updated.get(&param) {
            self.errs.push(ValidationError::DoubleUpdate {
                buf: pb.name.clone(),
                span: op.span,
                first: *first,
            });
        }
        self.updated.insert(param, op.span);
        let Rule::Sgd { lr, wd } = rule;
        self.eval(lr, "the learning rate");
        self.eval(wd, "the weight decay");
        let g = match src {
            Src::Buf(b) => Ok(self.shape_of(*b)),
            Src::Fused { prim, args, scalars } => {
                if args.contains(&param) || scalars.iter().any(|s| s.buf() == Some(param)) {
                    self.errs.push(ValidationError::SelfRead {
                        buf: pb.name.clone(),
                        span: op.span,
                    });
                }
                let consts = self.scalars(&op_name, scalars, op.span);
                let arg_shapes: Vec<Vec<usize>> = args.iter().map(|b| self.shape_of(*b)).collect();
                shapes::infer(*prim, &arg_shapes, &consts).map(|mut v| v.remove(0))
            }
        };
        let ps = self.shape_of(param);
        match g {
            Ok(g) if g.iter().product::<usize>() == ps.iter().product::<usize>() && squeeze(&g) == squeeze(&ps) => {}
            Ok(g) => self.errs.push(ValidationError::Shape {
                op: op_name,
                detail: format!("param {} gets a gradient of shape {}", fmt_shape(&ps), fmt_shape(&g)),
                span: op.span,
            }),
            Err(detail) => self.errs.push(ValidationError::Shape {
                op: op_name,
                detail,
                span: op.span,
            }),
        }
    }

    /// `grad loss wrt …` (before lowering): a one-element loss, param targets.
    fn grad(&mut self, id: OpId, loss: BufId, wrt: &[BufId], outs: &[BufId]) {
        let p = self.p;
        let span = p.op(id).span;
        let ls = self.shape_of(loss);
        if ls.iter().product::<usize>() != 1 {
            self.errs.push(ValidationError::LossShape {
                buf: self.p.buf(loss).name.clone(),
                shape: fmt_shape(&ls),
                span,
            });
        }
        for (w, d) in wrt.iter().zip(outs) {
            let b = self.p.buf(*w);
            if b.role != Role::Param {
                self.errs.push(ValidationError::GradTarget {
                    buf: b.name.clone(),
                    role: b.role.keyword(),
                    span,
                });
            }
            self.shapes[d.idx()] = self.shapes[w.idx()].clone();
            self.defined[d.idx()] = true;
        }
    }
}

/// An expression of dims as an extent: a positive integer, or the value it gave.
/// `batch` stands for `batch` when it is not (yet) in `dims`.
fn extent(e: &Expr, dims: &IndexMap<String, u64>, batch: u64) -> Result<u64, f64> {
    let v = e
        .eval(&|n| {
            dims.get(n)
                .copied()
                .or((n == "batch").then_some(batch))
                .map(|v| v as f64)
        })
        .map_err(|_| f64::NAN)?;
    if (1.0..=9.007e15).contains(&v) && v.fract() == 0.0 {
        Ok(v as u64)
    } else {
        Err(v)
    }
}

/// A shape without its extent-1 axes: a gradient [1,n] fits a param [n].
fn squeeze(s: &[usize]) -> Vec<usize> {
    s.iter().copied().filter(|d| *d != 1).collect()
}
