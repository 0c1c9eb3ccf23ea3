//! The interpreter: runs a `Validated` program on f32 and emits its access trace.
//!
//! Each buffer lives in its own vector; element addresses in the trace come from
//! the validated layout (every buffer its own region, declaration order). For each
//! op of the schedule the interpreter emits one event per effects entry, then runs
//! the kernel, which sees exactly the buffers the effects name. The interpreter
//! sees tracers only as `dyn Tracer`. After warm-up a step allocates nothing.

mod aligned;
pub mod kernels;

use crate::ir::prim::Family;
use crate::ir::{Access, BufId, Lowered, Mode, OpId, OpKind, Prim, Program, Role, Rule, Scalar, Slot, Src, effects};
use crate::span::Span;
use crate::trace::{BufInfo, Event, OpInfo, TraceHeader, Tracer, fnv1a, fnv1a_extend};
use crate::valid::Validated;
use aligned::Aligned;
use kernels as k;
use rand::rngs::ChaCha8Rng;
use rand::{Rng, SeedableRng};
use thiserror::Error;

/// A run-time fault.
#[derive(Clone, Debug, PartialEq, Error)]
pub enum InterpError {
    /// An op produced NaN or infinity.
    #[error("op `{op}` produced a non-finite value in `{buf}` at training step {step}")]
    NonFinite {
        op: String,
        buf: String,
        step: u64,
        span: Span,
    },
    /// A `gather` or `scatter_add` index is not a whole number within its axis.
    #[error(
        "op `{op}` found index {value} in `{buf}`, outside axis {axis} of extent {extent}, at training step {step}"
    )]
    BadIndex {
        op: String,
        buf: String,
        value: f32,
        axis: usize,
        extent: usize,
        step: u64,
        span: Span,
    },
    /// A counter outgrew its type (steps are numbered with `u32` in traces).
    #[error("{what} {value} does not fit in 32 bits: traces number steps below {max}", max = u32::MAX)]
    Counter {
        /// The quantity, e.g. "the training step".
        what: String,
        /// Its value.
        value: u64,
    },
}

impl InterpError {
    /// The op's span, for a fault located in the program.
    pub fn span(&self) -> Option<Span> {
        match self {
            InterpError::NonFinite { span, .. } | InterpError::BadIndex { span, .. } => Some(*span),
            InterpError::Counter { .. } => None,
        }
    }
}

/// The task's label oracle, which `query` asks: the true label of one input row
/// (`n` values). A bare interpreter (no task, as in unit tests) answers 0.
pub trait Labeler: Send + Sync {
    /// The label of `row`.
    fn label(&self, row: &[f32]) -> f32;
}

/// Which step-start writes to emit before a traced step.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StartWrites {
    /// Params and state (declaration order), then inputs and targets: a trace's first step.
    All,
    /// Inputs and targets only: every later step.
    Data,
}

/// Most scalar operands any primitive takes.
const MAX_SCALARS: usize = 2;

/// Resolved per-op scalars, computed once (a buffer scalar is read when the op runs).
#[derive(Clone, Copy, Debug, Default)]
struct Scalars {
    vals: [f32; MAX_SCALARS],
    lr: f32,
    wd: f32,
}

/// The expression scalars of an op at a 1-based training step (buffer scalars left at 0).
fn eval_scalars(v: &Validated, scalars: &[Scalar], step: u64) -> [f32; MAX_SCALARS] {
    let mut out = [0.0; MAX_SCALARS];
    for (o, s) in out.iter_mut().zip(scalars) {
        if let Scalar::Expr(e) = s {
            *o = v.eval_at(e, step) as f32;
        }
    }
    out
}

/// An op's resolved scalars at a 1-based training step.
fn op_scalars(v: &Validated, kind: &Lowered, step: u64) -> Scalars {
    match kind {
        Lowered::Call { scalars, .. } => Scalars {
            vals: eval_scalars(v, scalars, step),
            ..Scalars::default()
        },
        Lowered::Update {
            rule: Rule::Sgd { lr, wd },
            src,
            ..
        } => Scalars {
            vals: match src {
                Src::Fused { scalars, .. } => eval_scalars(v, scalars, step),
                Src::Buf(_) => [0.0; MAX_SCALARS],
            },
            lr: v.eval_at(lr, step) as f32,
            wd: v.eval_at(wd, step) as f32,
        },
    }
}

/// Whether any of an op's expressions uses the built-in `step`.
fn mentions_step(kind: &Lowered) -> bool {
    let mut found = false;
    let mut see = |e: &crate::ir::Expr| e.visit_names(&mut |n, _| found |= n == "step");
    match kind {
        Lowered::Call { scalars, .. }
        | Lowered::Update {
            src: Src::Fused { scalars, .. },
            ..
        } => {
            scalars.iter().filter_map(Scalar::expr).for_each(&mut see);
        }
        _ => {}
    }
    if let Lowered::Update {
        rule: Rule::Sgd { lr, wd },
        ..
    } = kind
    {
        see(lr);
        see(wd);
    }
    found
}

/// An `affine` op's W packed into panels, and the version of W it was packed from.
#[derive(Clone, Debug, Default)]
struct Pack {
    data: Aligned,
    from: Option<u64>,
}

/// An interpreter instance: memory plus the program it runs.
pub struct Interp<'v> {
    v: &'v Validated,
    bufs: Vec<Aligned>,
    scalars: Vec<Scalars>,
    /// Per op: whether its scalars use `step` (re-evaluated every step).
    dynamic: Vec<bool>,
    scratch: Aligned,
    /// The result of a sliced or in-place op before it is written.
    scratch_out: Vec<f32>,
    /// The gathered arguments of a sliced or in-place op.
    gather: [Vec<f32>; 3],
    /// Per op: its packed weights, for an `affine` (see `kernels::pack_panels`).
    packs: Vec<Pack>,
    /// Per buffer: bumped on every write, so a pack knows when it is stale.
    versions: Vec<u64>,
    header: TraceHeader,
    check_finite: bool,
    /// The task's label oracle for `query`.
    labeler: Option<Box<dyn Labeler + 'v>>,
    /// Rows labelled by `query` so far (training steps only).
    queries: u64,
    /// Per op: FNV-1a of `sutro/noise/<run seed>/<op name>/` for a `noise_*`
    /// op (its draws at step s come from that hash continued by s).
    noise_prefix: Vec<u64>,
    /// Set while `run_ops` runs an evaluation pass: draws give their means.
    evaluating: bool,
}

/// Draws from `(0, 1)` using 24 bits of one `u32`: never 0, so `ln` stays finite.
fn unit(rng: &mut ChaCha8Rng) -> f64 {
    (f64::from(rng.next_u32() >> 8) + 0.5) / 16_777_216.0
}

/// A standard normal by Box–Muller (one sample per two draws), with `libm` so the
/// value is the same on every platform.
pub fn normal(rng: &mut ChaCha8Rng) -> f64 {
    let (u1, u2) = (unit(rng), unit(rng));
    libm::sqrt(-2.0 * libm::log(u1)) * libm::cos(2.0 * std::f64::consts::PI * u2)
}

/// The trace header of a validated program.
pub fn header(v: &Validated) -> TraceHeader {
    let text = v.program().to_string();
    TraceHeader {
        hash: format!("{:016x}", fnv1a(text.as_bytes())),
        ..layout_header(v)
    }
}

/// The trace header without the program hash (which prints the whole program):
/// all an analyzer needs to score a trace.
pub fn layout_header(v: &Validated) -> TraceHeader {
    let p = v.program();
    TraceHeader {
        program: p.name.clone(),
        hash: String::new(),
        buffers: p
            .buffers
            .values()
            .zip(p.buffer_ids())
            .map(|(b, id)| BufInfo {
                name: b.name.clone(),
                role: b.role.keyword().to_string(),
                shape: v.shape(id).iter().map(|d| *d as u64).collect(),
                offset: v.offset(id) as u64,
            })
            .collect(),
        ops: p
            .op_ids()
            .map(|id| OpInfo {
                name: p.op_name(id),
                line: 0,
            })
            .collect(),
    }
}

impl<'v> Interp<'v> {
    /// Allocates memory and initialises params and state from `init_seed`.
    pub fn new(v: &'v Validated, init_seed: u64) -> Interp<'v> {
        let p = v.program();
        let bufs: Vec<Aligned> = p.buffer_ids().map(|b| Aligned::zeros(v.size(b))).collect();
        let scalars = p.op_ids().map(|id| op_scalars(v, v.lowered(id), 1)).collect();
        let dynamic = p.op_ids().map(|id| mentions_step(v.lowered(id))).collect();
        let scratch_len = p
            .op_ids()
            .map(|id| match v.lowered(id) {
                Lowered::Update {
                    param,
                    src: Src::Fused { .. },
                    ..
                } => v.size(*param),
                _ => 0,
            })
            .max()
            .unwrap_or(0);
        // A sliced W is packed from its region (the pack follows W's version,
        // which every write of W bumps).
        let packs = p
            .op_ids()
            .map(|id| match v.lowered(id) {
                Lowered::Call {
                    prim: Prim::Affine,
                    args,
                    ..
                } => args.get(1).map_or(Pack::default(), |w| {
                    let shape = v
                        .region(id, Slot::Arg(1))
                        .map_or_else(|| v.shape(*w), |r| r.shape.as_slice());
                    match shape {
                        [o, i] => Pack {
                            data: Aligned::zeros(k::packed_len(*i, *o)),
                            from: None,
                        },
                        _ => Pack::default(),
                    }
                }),
                _ => Pack::default(),
            })
            .collect();
        let mut it = Interp {
            v,
            bufs,
            scalars,
            dynamic,
            scratch: Aligned::zeros(scratch_len),
            scratch_out: Vec::new(),
            gather: Default::default(),
            packs,
            versions: vec![0; p.buffers.len()],
            header: header(v),
            check_finite: true,
            labeler: None,
            queries: 0,
            noise_prefix: Vec::new(),
            evaluating: false,
        };
        it.noise_prefix = noise_prefixes(v, 0);
        it.init(init_seed);
        it
    }

    /// Re-initialises every param and state buffer from `seed`, in declaration order.
    pub fn init(&mut self, seed: u64) {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let v = self.v;
        self.versions.iter_mut().for_each(|n| *n += 1);
        for (id, b) in v.program().buffer_ids().zip(v.program().buffers.values()) {
            let Some(init) = &b.init else { continue };
            let data = &mut self.bufs[id.idx()];
            match init {
                crate::ir::Init::Zeros => data.fill(0.0),
                crate::ir::Init::Iota => data.iter_mut().enumerate().for_each(|(i, x)| *x = i as f32),
                crate::ir::Init::Eye => {
                    let sh = v.shape(id);
                    let cols: usize = sh.get(1..).map_or(1, |s| s.iter().product());
                    let n1 = sh.get(1).copied().unwrap_or(1);
                    let inner = cols / n1.max(1);
                    for (e, x) in data.iter_mut().enumerate() {
                        // Indices (r, c, rest…): 1 where r = c.
                        let (r, c) = (e / cols.max(1), (e % cols.max(1)) / inner.max(1));
                        *x = if r == c { 1.0 } else { 0.0 };
                    }
                }
                crate::ir::Init::Bernoulli(e) => {
                    let p = v.eval(e);
                    for x in data.iter_mut() {
                        *x = if unit(&mut rng) < p { 1.0 } else { 0.0 };
                    }
                }
                crate::ir::Init::Const(e) => data.fill(v.eval(e) as f32),
                crate::ir::Init::Normal(e) => {
                    let std = v.eval(e);
                    for x in data.iter_mut() {
                        *x = (std * normal(&mut rng)) as f32;
                    }
                }
                crate::ir::Init::Uniform(lo, hi) => {
                    let (lo, hi) = (v.eval(lo), v.eval(hi));
                    for x in data.iter_mut() {
                        *x = (lo + (hi - lo) * unit(&mut rng)) as f32;
                    }
                }
            }
        }
    }

    /// Turns the per-op NaN/inf check off (it is on by default).
    pub fn with_finite_check(mut self, on: bool) -> Self {
        self.check_finite = on;
        self
    }

    /// Answers `query` with the task's labels (without one, every label is 0).
    pub fn with_labeler(mut self, labeler: Box<dyn Labeler + 'v>) -> Self {
        self.labeler = Some(labeler);
        self
    }

    /// Seeds the `noise_*` ops from the run seed (0 unless set).
    pub fn with_noise_seed(mut self, run_seed: u64) -> Self {
        self.noise_prefix = noise_prefixes(self.v, run_seed);
        self
    }

    /// Rows labelled by `query` so far.
    pub fn queries(&self) -> u64 {
        self.queries
    }

    /// The program being run.
    pub fn validated(&self) -> &'v Validated {
        self.v
    }

    /// The header a tracer receives.
    pub fn header(&self) -> &TraceHeader {
        &self.header
    }

    /// A buffer's current contents.
    pub fn buffer(&self, b: BufId) -> &[f32] {
        &self.bufs[b.idx()]
    }

    /// A buffer's contents, writable (the driver feeds inputs and targets this way).
    pub fn buffer_mut(&mut self, b: BufId) -> &mut [f32] {
        self.versions[b.idx()] += 1;
        &mut self.bufs[b.idx()]
    }

    /// Emits the step-start writes.
    pub fn start(&self, t: &mut dyn Tracer, step: u32, which: StartWrites) {
        start_events(self.v, t, step, which);
    }

    /// Runs one whole step in schedule order; with a tracer, emits its events
    /// (step-start writes first).
    pub fn step(&mut self, step: u32, mut tracer: Option<(&mut dyn Tracer, StartWrites)>) -> Result<(), InterpError> {
        if let Some((t, which)) = tracer.as_mut() {
            self.start(*t, step, *which);
        }
        let v = self.v;
        for &id in &v.program().order {
            if let Some((t, _)) = tracer.as_mut() {
                for a in effects(&v.program().op(id).kind) {
                    emit_access(v, *t, step, id, &a);
                }
            }
            self.exec(id, u64::from(step))?;
        }
        Ok(())
    }

    /// Runs the given ops, in order, untraced, as an evaluation pass (the
    /// forward part over a data set): a `noise_*` op draws nothing and gives its
    /// distribution's mean.
    pub fn run_ops(&mut self, ops: &[OpId], step: u64) -> Result<(), InterpError> {
        self.evaluating = true;
        let r = ops.iter().try_for_each(|&id| self.exec(id, step));
        self.evaluating = false;
        r
    }

    /// The seed of a `noise_*` op's draws at 0-based step `step`: FNV-1a of
    /// `sutro/noise/<run seed>/<op name>/<step counted from 1>`; `None` for
    /// other ops and in an evaluation pass.
    fn draw(&self, id: OpId, prim: Prim, step: u64) -> Option<u64> {
        if !prim.is_noise() || self.evaluating {
            return None;
        }
        let mut digits = [0u8; 20];
        Some(fnv1a_extend(
            self.noise_prefix[id.idx()],
            decimal(step + 1, &mut digits),
        ))
    }

    /// Runs one op's kernel.
    pub fn exec(&mut self, id: OpId, step: u64) -> Result<(), InterpError> {
        let v = self.v;
        let op = v.lowered(id);
        let sc = if self.dynamic[id.idx()] {
            // Counted from 1 for people; trace steps are 0-based.
            op_scalars(v, op, step + 1)
        } else {
            self.scalars[id.idx()]
        };
        match op {
            Lowered::Call {
                prim,
                outs,
                args,
                scalars,
                slices,
            } => {
                let sv = self.scalar_values(sc.vals, scalars);
                if !slices.is_empty() || outs.iter().any(|o| v.program().buf(*o).role.persists()) {
                    return self.exec_sliced(id, *prim, outs, args, &sv, step);
                }
                let mut o0 = std::mem::take(&mut self.bufs[outs[0].idx()]);
                let mut o1 = match outs.get(1) {
                    Some(b) => std::mem::take(&mut self.bufs[b.idx()]),
                    None => Aligned::default(),
                };
                let draw = self.draw(id, *prim, step);
                let pack = args.get(1).map(|w| (&mut self.packs[id.idx()], self.versions[w.idx()]));
                let env = Env {
                    labeler: self.labeler.as_deref(),
                    draw,
                };
                let (ops, shapes) = operands(v, &self.bufs, args);
                let fault = run_prim(*prim, ops, shapes, (&mut o0, &mut o1), &sv, pack, &env).err();
                self.count(*prim, o0.len());
                for b in outs {
                    self.versions[b.idx()] += 1;
                }
                let ok0 = !self.check_finite || k::all_finite(&o0);
                let ok1 = !self.check_finite || k::all_finite(&o1);
                self.bufs[outs[0].idx()] = o0;
                if let Some(b) = outs.get(1) {
                    self.bufs[b.idx()] = o1;
                }
                if let Some(f) = fault {
                    return Err(self.bad_index(id, args, &sv, f, step));
                }
                if !(ok0 && ok1) {
                    let bad = if ok0 { outs[1] } else { outs[0] };
                    return Err(self.non_finite(id, bad, step));
                }
            }
            Lowered::Update { param, src, .. } => {
                let mut pv = std::mem::take(&mut self.bufs[param.idx()]);
                match src {
                    Src::Buf(g) => k::sgd(&mut pv, &self.bufs[g.idx()], sc.lr, sc.wd),
                    Src::Fused { prim, args, scalars } => {
                        let sv = self.scalar_values(sc.vals, scalars);
                        let mut g = std::mem::take(&mut self.scratch);
                        let n = pv.len();
                        let (ops, shapes) = operands(v, &self.bufs, args);
                        // Only fusible primitives (no index ops) stand here: no fault.
                        let _ = run_prim(*prim, ops, shapes, (&mut g[..n], &mut []), &sv, None, &Env::default());
                        k::sgd(&mut pv, &g[..n], sc.lr, sc.wd);
                        self.scratch = g;
                    }
                }
                let ok = !self.check_finite || k::all_finite(&pv);
                self.bufs[param.idx()] = pv;
                self.versions[param.idx()] += 1;
                if !ok {
                    return Err(self.non_finite(id, *param, step));
                }
            }
        }
        Ok(())
    }

    /// Runs a call with sliced operands or an in-place output: sliced arguments
    /// are gathered, the result is computed into scratch, then written to the
    /// output buffer or scattered into its region. A second output (`affine_grad`'s
    /// db; only single-output ops write in place or into a slice) is written whole.
    fn exec_sliced(
        &mut self,
        id: OpId,
        prim: Prim,
        outs: &[BufId],
        args: &[BufId],
        sv: &[f32; MAX_SCALARS],
        step: u64,
    ) -> Result<(), InterpError> {
        let v = self.v;
        let (out, second) = (outs[0], outs.get(1).copied());
        let mut gathered = std::mem::take(&mut self.gather);
        let mut shapes: [&[usize]; 3] = [&[]; 3];
        for (i, b) in args.iter().enumerate().take(3) {
            let data = &self.bufs[b.idx()];
            match v.region(id, Slot::Arg(i)) {
                Some(r) => {
                    let g = &mut gathered[i];
                    g.clear();
                    for (start, len) in &r.runs {
                        g.extend_from_slice(&data[*start..start + len]);
                    }
                    shapes[i] = &r.shape;
                }
                None => {
                    gathered[i].clear();
                    gathered[i].extend_from_slice(data);
                    shapes[i] = v.shape(*b);
                }
            }
        }
        let region = v.region(id, Slot::Out(0));
        let n = region.map_or_else(|| v.size(out), |r| r.size());
        let mut res = std::mem::take(&mut self.scratch_out);
        res.clear();
        res.resize(n, 0.0);
        let ops = [gathered[0].as_slice(), gathered[1].as_slice(), gathered[2].as_slice()];
        let draw = self.draw(id, prim, step);
        let pack = args.get(1).map(|w| (&mut self.packs[id.idx()], self.versions[w.idx()]));
        let env = Env {
            labeler: self.labeler.as_deref(),
            draw,
        };
        let mut o1 = second.map_or_else(Aligned::default, |b| std::mem::take(&mut self.bufs[b.idx()]));
        let fault = run_prim(prim, ops, shapes, (&mut res, &mut o1), sv, pack, &env).err();
        self.count(prim, n);
        let ok = !self.check_finite || k::all_finite(&res);
        let ok1 = !self.check_finite || k::all_finite(&o1);
        if let Some(b) = second {
            self.bufs[b.idx()] = o1;
            self.versions[b.idx()] += 1;
        }
        let dst = &mut self.bufs[out.idx()];
        match region {
            Some(r) => {
                let mut at = 0;
                for (start, len) in &r.runs {
                    dst[*start..start + len].copy_from_slice(&res[at..at + len]);
                    at += len;
                }
            }
            None => dst.copy_from_slice(&res),
        }
        self.scratch_out = res;
        self.gather = gathered;
        self.versions[out.idx()] += 1;
        if let Some(f) = fault {
            return Err(self.bad_index(id, args, sv, f, step));
        }
        match (ok, second) {
            (false, _) => Err(self.non_finite(id, out, step)),
            (true, Some(b)) if !ok1 => Err(self.non_finite(id, b, step)),
            _ => Ok(()),
        }
    }

    /// An op's scalar values: the evaluated expressions, with each buffer
    /// scalar's one element read now.
    fn scalar_values(&self, mut vals: [f32; MAX_SCALARS], scalars: &[Scalar]) -> [f32; MAX_SCALARS] {
        for (o, s) in vals.iter_mut().zip(scalars) {
            if let Scalar::Buf(b) = s {
                *o = self.bufs[b.idx()].first().copied().unwrap_or(0.0);
            }
        }
        vals
    }

    /// Counts the rows a `query` of `rows` outputs labelled.
    fn count(&mut self, prim: Prim, rows: usize) {
        if prim == Prim::Query {
            self.queries += rows as u64;
        }
    }

    /// The error of an index op whose index buffer (its second argument) holds
    /// a value outside its axis.
    fn bad_index(&self, id: OpId, args: &[BufId], sv: &[f32; MAX_SCALARS], f: k::IndexFault, step: u64) -> InterpError {
        let p = self.v.program();
        InterpError::BadIndex {
            op: p.op_name(id),
            buf: args.get(1).map_or_else(String::new, |b| p.buf(*b).name.clone()),
            value: f.value,
            axis: sv[0] as usize,
            extent: f.extent,
            step: step + 1,
            span: p.op(id).span,
        }
    }

    fn non_finite(&self, id: OpId, buf: BufId, step: u64) -> InterpError {
        let p = self.v.program();
        InterpError::NonFinite {
            op: p.op_name(id),
            buf: p.buf(buf).name.clone(),
            // Counted from 1 for people; trace steps are 0-based.
            step: step + 1,
            span: p.op(id).span,
        }
    }
}

/// What a kernel may consult beyond its operands: the task's label oracle,
/// and for a `noise_*` op in a training step the seed of its draws (`None` in
/// an evaluation pass: the op gives its mean).
#[derive(Default)]
struct Env<'a> {
    labeler: Option<&'a dyn Labeler>,
    draw: Option<u64>,
}

/// The decimal digits of `x`, written into `buf` (no allocation).
fn decimal(mut x: u64, buf: &mut [u8; 20]) -> &[u8] {
    let mut i = buf.len();
    loop {
        i -= 1;
        buf[i] = b'0' + (x % 10) as u8;
        x /= 10;
        if x == 0 {
            return &buf[i..];
        }
    }
}

/// Per op, the FNV-1a state of `sutro/noise/<run_seed>/<op name>/` for `noise_*`
/// ops (0 for the others).
fn noise_prefixes(v: &Validated, run_seed: u64) -> Vec<u64> {
    let p = v.program();
    p.op_ids()
        .map(|id| match &p.op(id).kind {
            OpKind::Call { prim, .. } if prim.is_noise() => {
                fnv1a(format!("sutro/noise/{run_seed}/{}/", p.op_name(id)).as_bytes())
            }
            _ => 0,
        })
        .collect()
}

/// Fills `c` from a `noise_*` op's distribution: draws from the generator seeded
/// with `draw`, or the mean without one. Draws are in element order, f64 as the
/// init rules draw, rounded to f32.
fn noise(prim: Prim, c: &mut [f32], sc: &[f32; MAX_SCALARS], draw: Option<u64>) {
    let (a, b) = (f64::from(sc[0]), f64::from(sc[1]));
    let Some(seed) = draw else {
        c.fill(match prim {
            Prim::NoiseUniform => (a + (b - a) * 0.5) as f32,
            Prim::NoiseNormal => 0.0,
            _ => sc[0],
        });
        return;
    };
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    for x in c.iter_mut() {
        *x = match prim {
            Prim::NoiseUniform => (a + (b - a) * unit(&mut rng)) as f32,
            Prim::NoiseNormal => (a * normal(&mut rng)) as f32,
            _ => f32::from(u8::from(unit(&mut rng) < a)),
        };
    }
}

/// Runs one primitive: reads `args` from `bufs`, writes `o0` (and `o1`). `pack` is
/// an `affine`'s packed-weights slot with the current version of its W.
fn run_prim(
    prim: Prim,
    ops: [&[f32]; 3],
    shapes: [&[usize]; 3],
    (o0, o1): (&mut [f32], &mut [f32]),
    sc: &[f32; MAX_SCALARS],
    pack: Option<(&mut Pack, u64)>,
    env: &Env<'_>,
) -> Result<(), k::IndexFault> {
    let dim = |i: usize, d: usize| shapes[i].get(d).copied().unwrap_or(1);
    let [a, b, c] = ops;
    match prim.family() {
        Family::Elementwise => k::elementwise(prim, o0, [a, b, c], *sc),
        Family::Linear => linear(prim, shapes[0].len(), (o0, o1), (a, b, c), dim, pack),
        Family::Reduce => {
            let sh = shapes[0];
            match prim {
                Prim::SumAll => o0[0] = a.iter().fold(0.0f32, |s, x| s + x),
                Prim::Sum if sh.len() == 1 => o0[0] = a.iter().fold(0.0f32, |s, x| s + x),
                Prim::Sum => k::sum_rows(o0, a, sh[1..].iter().product()),
                _ => k::reduce_axis(prim, o0, a, k::Axis::of(sh, sc[0] as usize)),
            }
        }
        Family::Layout => {
            let sh = shapes[0];
            match prim {
                Prim::Expand => {
                    let ax = sc[0] as usize;
                    // A [1] buffer stands for a scalar: every element is it.
                    let (outer, inner) = if sh == [1] {
                        (1, 1)
                    } else {
                        (sh[..ax].iter().product(), sh[ax..].iter().product())
                    };
                    k::expand(o0, a, outer, sc[1] as usize, inner);
                }
                Prim::OneHot => k::onehot(o0, a, sc[0] as usize),
                Prim::Reshape => o0.copy_from_slice(a),
                Prim::Transpose => k::transpose(o0, a, sh[0], sh[1]),
                Prim::Concat => {
                    let ax = sc[0] as usize;
                    let outer: usize = sh[..ax].iter().product();
                    let inner: usize = sh[ax + 1..].iter().product();
                    let nb = shapes[1].get(ax).copied().unwrap_or(0);
                    k::concat(o0, a, b, outer, sh[ax] * inner, nb * inner);
                }
                Prim::Pad => {
                    // The count after is what is left of each block of the output.
                    let ax = sc[0] as usize;
                    let outer: usize = sh[..ax.min(sh.len())].iter().product();
                    let inner: usize = sh.get(ax + 1..).map_or(1, |t| t.iter().product());
                    k::pad(o0, a, outer, sc[1] as usize * inner);
                }
                _ => {}
            }
        }
        Family::Loss => match prim {
            Prim::SoftmaxXent | Prim::SoftmaxXentGrad => {
                let cols = shapes[0].last().copied().unwrap_or(1);
                k::softmax_xent(o0, a, b, cols, prim == Prim::SoftmaxXentGrad);
            }
            _ => k::loss(prim, o0, a, b),
        },
        Family::Noise => noise(prim, o0, sc, env.draw),
        Family::Task => {
            let n = shapes[0].last().copied().unwrap_or(1);
            match env.labeler {
                Some(l) => k::query(o0, a, n, |row| l.label(row)),
                None => o0.fill(0.0),
            }
        }
        Family::Index => {
            let (sh, ax, m) = (shapes[0], sc[0] as usize, b.len());
            let outer: usize = sh[..ax.min(sh.len())].iter().product();
            if prim == Prim::Gather {
                let inner: usize = sh.get(ax + 1..).map_or(1, |t| t.iter().product());
                return k::gather(o0, a, b, (outer, dim(0, ax), inner));
            }
            let inner: usize = sh.get(ax + shapes[1].len()..).map_or(1, |t| t.iter().product());
            return k::scatter_add(o0, a, b, (outer, sc[1] as usize, inner), m);
        }
    }
    Ok(())
}

/// The matrix-product primitives.
fn linear(
    prim: Prim,
    rank0: usize,
    (o0, o1): (&mut [f32], &mut [f32]),
    (a, b, c): (&[f32], &[f32], &[f32]),
    dim: impl Fn(usize, usize) -> usize,
    pack: Option<(&mut Pack, u64)>,
) {
    match prim {
        Prim::Affine => {
            let (i, o) = (dim(0, 1), dim(1, 0));
            // Packing W costs o·i moves for B·o·i multiply-adds: worth it from a few
            // rows and a half panel of outputs on. Both paths give the same bits.
            // A pack is reused while W is unchanged (e.g. across evaluation batches).
            match pack {
                Some((p, ver)) if o >= k::PANEL / 2 && a.len() >= 2 * i && p.data.len() == k::packed_len(i, o) => {
                    if p.from != Some(ver) {
                        k::pack_panels(&mut p.data, b, i, o);
                        p.from = Some(ver);
                    }
                    k::affine_packed(o0, a, &p.data, c, i, o);
                }
                _ => k::affine(o0, a, b, c, i, o),
            }
        }
        Prim::AffineGrad => {
            let (o, i) = (dim(0, 1), dim(1, 1));
            k::outer_rows(o0, a, b, o, i);
            k::sum_rows(o1, a, o);
        }
        Prim::AffineGradX => k::matmul(o0, b, a, dim(1, 1), dim(0, 1)),
        Prim::MatMul => k::matmul(o0, a, b, dim(0, 1), dim(1, 1)),
        Prim::MatMulNt => k::matmul_nt(o0, a, b, dim(0, 1), dim(1, 0)),
        Prim::MatMulTn => k::outer_rows(o0, a, b, dim(0, 1), dim(1, 1)),
        Prim::MatVec => k::matmul_nt(o0, b, a, dim(0, 1), dim(0, 0)),
        Prim::MatVecT => k::matmul(o0, b, a, dim(0, 0), dim(0, 1)),
        Prim::Outer => {
            if rank0 == 1 {
                k::outer_rows(o0, a, b, dim(0, 0), dim(1, 0));
            } else {
                k::outer_rows(o0, a, b, dim(0, 1), dim(1, 1));
            }
        }
        // Validation checked the family; other primitives never reach here.
        _ => {}
    }
}

/// The argument buffers of a call and their shapes (up to three).
fn operands<'a>(v: &'a Validated, bufs: &'a [Aligned], args: &[BufId]) -> ([&'a [f32]; 3], [&'a [usize]; 3]) {
    let mut ops: [&[f32]; 3] = [&[]; 3];
    let mut shapes: [&[usize]; 3] = [&[]; 3];
    for (i, b) in args.iter().enumerate().take(3) {
        ops[i] = &bufs[b.idx()];
        shapes[i] = v.shape(*b);
    }
    (ops, shapes)
}

fn emit(v: &Validated, t: &mut dyn Tracer, step: u32, op: Option<OpId>, buf: BufId, mode: Mode) {
    t.access(&Event {
        step,
        op,
        buf,
        mode,
        addr: v.offset(buf) as u64,
        len: v.size(buf) as u64,
    });
}

/// Emits an op's access: one event for a whole buffer, or one range event per
/// contiguous run of a sliced operand's region, in ascending element order.
fn emit_access(v: &Validated, t: &mut dyn Tracer, step: u32, id: OpId, a: &Access) {
    match a.slice.and_then(|slot| v.region(id, slot)) {
        Some(r) => {
            let base = v.offset(a.buf) as u64;
            for (start, len) in &r.runs {
                t.access(&Event {
                    step,
                    op: Some(id),
                    buf: a.buf,
                    mode: a.mode,
                    addr: base + *start as u64,
                    len: *len as u64,
                });
            }
        }
        None => emit(v, t, step, Some(id), a.buf, a.mode),
    }
}

/// Emits the step-start writes of a program: params and state in declaration order
/// (with `StartWrites::All`), then inputs and targets.
pub fn start_events(v: &Validated, t: &mut dyn Tracer, step: u32, which: StartWrites) {
    for b in v.program().step_start_buffers(which == StartWrites::All) {
        emit(v, t, step, None, b, Mode::Write);
    }
}

/// Trace-only mode: emits the first step's events for the ops of `order` (which
/// need not be the program's schedule, nor all of it) without running any kernel.
/// The trace depends only on schedule and layout, so this equals the traced step
/// of a program whose schedule is `order`.
pub fn trace_order(v: &Validated, order: &[OpId], t: &mut dyn Tracer) {
    start_events(v, t, 0, StartWrites::All);
    for &id in order {
        for a in effects(&v.program().op(id).kind) {
            emit_access(v, t, 0, id, &a);
        }
    }
}

/// The ops the given buffers depend on through temporaries (buffer arguments
/// and `[1]` buffers given as scalar operands), in schedule order.
pub fn slice(p: &Program, targets: &[BufId]) -> Vec<OpId> {
    let mut need = vec![false; p.buffers.len()];
    for t in targets {
        need[t.idx()] = true;
    }
    let mut keep = vec![false; p.ops.len()];
    for &id in p.order.iter().rev() {
        let kind = &p.op(id).kind;
        let OpKind::Call {
            outs, args, scalars, ..
        } = kind
        else {
            continue;
        };
        if outs.iter().any(|o| need[o.idx()]) {
            keep[id.idx()] = true;
            for a in args.iter().copied().chain(scalars.iter().filter_map(Scalar::buf)) {
                if p.buf(a).role == Role::Temp {
                    need[a.idx()] = true;
                }
            }
        }
    }
    p.order.iter().copied().filter(|id| keep[id.idx()]).collect()
}
