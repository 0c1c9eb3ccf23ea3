//! Objectives: what the optimizer minimizes, and how a schedule is scored.
//!
//! `CostFunction` has egg's shape: it scores a candidate order of a validated
//! program without building a new program. `MetricCost` is the default: it emits
//! the trace-only first step for the order (`interp::trace_order`, the effects
//! table, no kernels) into an analyzer and reads the objective's field. Any
//! metric whose analyzer is a `Tracer` plugs in the same way; the stack metrics
//! (`lru_stack`, `dmd`, `bytedmd_v2`, `energy_pj`) are named here and give a clear
//! error until their analyzers exist.
//!
//! `ClockModel` is the exact incremental form of the clock metrics (`ard_write`,
//! `ard_access`) used by the branch and bound in `reorder`. Its invariant, checked
//! by tests against `MetricCost`: for every legal order its total equals the
//! analyzer's sum. The argument that memoising on the set of scheduled ops is
//! exact, and the lower bounds, are in `docs/optimizer.md` and on the methods.

use super::OptError;
pub use crate::analysis::Field;
use crate::analysis::{ArdReport, Cold, Metric, Reuse, ReuseKind, Values};
use crate::interp::{layout_header, trace_order};
use crate::ir::{Mode, OpId, effects};
use crate::trace::{TraceHeader, Tracer};
use crate::valid::Validated;
use std::fmt::Debug;

/// A schedule objective (egg's `CostFunction` shape): lower is better.
pub trait CostFunction {
    /// The cost's type.
    type Cost: PartialOrd + Debug;
    /// Scores the trace-only step of `v` run in `order` (which may be a prefix).
    fn cost(&mut self, v: &Validated, order: &[OpId]) -> Self::Cost;
}

/// The clock analyzer kind of a clock metric.
pub fn reuse_kind(m: Metric) -> Option<ReuseKind> {
    match m {
        Metric::ArdWrite => Some(ReuseKind::Write),
        Metric::ArdAccess => Some(ReuseKind::Access),
        _ => None,
    }
}

/// One weighted term of an objective.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Term {
    /// Weight of the term in the sum.
    pub weight: f64,
    /// The metric (default options).
    pub metric: Metric,
    /// Its field.
    pub field: Field,
}

/// Most terms a weighted mix may have.
pub const MAX_TERMS: usize = 4;

/// `METRIC[.FIELD]`, or a weighted mix `W*METRIC[.FIELD] + …`, parsed and checked.
/// `metric` and `field` are the first term; a plain objective has weight 1 and no
/// other terms. It stays `Copy`, so the terms live in a fixed array.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Objective {
    /// The first term's metric.
    pub metric: Metric,
    /// The first term's field.
    pub field: Field,
    weight: f64,
    rest: [Option<Term>; MAX_TERMS - 1],
}

impl Default for Objective {
    fn default() -> Objective {
        Objective::single(Metric::ArdWrite, Field::PerRead)
    }
}

impl Objective {
    /// One metric's field with weight 1.
    pub fn single(metric: Metric, field: Field) -> Objective {
        Objective {
            metric,
            field,
            weight: 1.0,
            rest: [None; MAX_TERMS - 1],
        }
    }

    /// Parses `--objective`: `ard_write`, `ard_access.sum_sd`, `dmd`,
    /// `0.5*ard_write.sum_sd + 2*energy_pj`, …
    pub fn parse(s: &str) -> Result<Objective, OptError> {
        let mut terms = Vec::new();
        for part in s.split('+').map(str::trim) {
            let (w, t) = match part.split_once('*') {
                Some((w, t)) => {
                    let w: f64 = w
                        .trim()
                        .parse()
                        .map_err(|_| OptError::Objective(format!("bad weight `{}` in `{s}`", w.trim())))?;
                    if !(w.is_finite() && w > 0.0) {
                        return Err(OptError::Objective(format!(
                            "weights must be positive and finite, got {w}"
                        )));
                    }
                    (w, t.trim())
                }
                None => (1.0, part),
            };
            terms.push(Objective::term(w, t)?);
        }
        if terms.is_empty() || terms.len() > MAX_TERMS {
            return Err(OptError::Objective(format!(
                "an objective has 1 to {MAX_TERMS} terms, `{s}` has {}",
                terms.len()
            )));
        }
        let mut o = Objective::single(terms[0].metric, terms[0].field);
        o.weight = terms[0].weight;
        for (slot, t) in o.rest.iter_mut().zip(terms.iter().skip(1)) {
            *slot = Some(*t);
        }
        Ok(o)
    }

    fn term(weight: f64, s: &str) -> Result<Term, OptError> {
        let (m, f) = match s.split_once('.') {
            Some((m, f)) => (m, Some(f)),
            None => (s, None),
        };
        let known = Metric::ALL.map(Metric::name).join(", ");
        let Some(metric) = Metric::from_name(m) else {
            return Err(OptError::Objective(format!("unknown metric `{m}` (known: {known})")));
        };
        let allowed = metric.objective_fields();
        if allowed.is_empty() {
            return Err(OptError::Objective(format!(
                "`{m}` has no single total to minimize; use ard_write, ard_access, dmd, bytedmd_v2 or energy_pj"
            )));
        }
        let field = match f {
            None => metric.headline(),
            Some(f) => allowed.iter().copied().find(|x| x.name() == f).ok_or_else(|| {
                OptError::Objective(format!(
                    "unknown field `{f}` of {m} (schedule-dependent fields: {})",
                    allowed.iter().map(|x| x.name()).collect::<Vec<_>>().join(", ")
                ))
            })?,
        };
        Ok(Term { weight, metric, field })
    }

    /// Every term, the first one included.
    pub fn terms(&self) -> Vec<Term> {
        let first = Term {
            weight: self.weight,
            metric: self.metric,
            field: self.field,
        };
        std::iter::once(first)
            .chain(self.rest.iter().flatten().copied())
            .collect()
    }

    /// Whether this is one clock metric with weight 1: the case with an exact search model.
    pub fn is_clock(&self) -> bool {
        reuse_kind(self.metric).is_some() && self.weight == 1.0 && self.rest.iter().all(Option::is_none)
    }

    /// `metric.field`, or the weighted sum.
    pub fn label(&self) -> String {
        if self.weight == 1.0 && self.rest.iter().all(Option::is_none) {
            return format!("{}.{}", self.metric.name(), self.field.name());
        }
        self.terms()
            .iter()
            .map(|t| format!("{}*{}.{}", t.weight, t.metric.name(), t.field.name()))
            .collect::<Vec<_>>()
            .join(" + ")
    }

    /// The analyzer kind and its default cold policy (clock metrics; `ard_write` otherwise).
    fn reuse(&self) -> (ReuseKind, Cold) {
        match self.metric {
            Metric::ArdAccess => (ReuseKind::Access, Cold::Skip),
            _ => (ReuseKind::Write, Cold::MinusOne),
        }
    }
}

/// The clock-metric report of the trace-only first step of `v` in `order`.
/// `named` fills op and buffer names (slower: it prints the program for its hash).
pub fn ard_report(v: &Validated, order: &[OpId], objective: &Objective, named: bool) -> ArdReport {
    let (kind, cold) = objective.reuse();
    let mut r = Reuse::new(kind, cold);
    let header = if named {
        crate::interp::header(v)
    } else {
        TraceHeader::default()
    };
    r.begin(&header);
    trace_order(v, order, &mut r);
    r.end();
    r.report()
}

/// The default cost function: an objective's field on the trace-only first step.
///
/// The analyzers of the non-clock metrics need a trace header (buffer sizes, op
/// count). It is built once per program the cost function meets — without the
/// hash, so the program is never printed — and reused while the same op and
/// buffer tables are scored (a reorder search scores one program in many orders).
#[derive(Clone, Debug)]
pub struct MetricCost {
    objective: Objective,
    header: Option<(TableKey, TraceHeader)>,
}

/// What a cached header depends on: the buffer table with its layout and the
/// op names.
type TableKey = (Vec<(String, u64, u64)>, Vec<String>);

impl MetricCost {
    /// A cost function for an objective.
    pub fn new(objective: Objective) -> MetricCost {
        MetricCost {
            objective,
            header: None,
        }
    }

    /// The objective.
    pub fn objective(&self) -> &Objective {
        &self.objective
    }

    fn header(&mut self, v: &Validated) -> Option<&TraceHeader> {
        let p = v.program();
        let key: TableKey = (
            p.buffer_ids()
                .map(|b| (p.buf(b).name.clone(), v.offset(b) as u64, v.size(b) as u64))
                .collect(),
            p.op_ids().map(|o| p.op_name(o)).collect(),
        );
        if self.header.as_ref().is_none_or(|(k, _)| *k != key) {
            self.header = Some((key, layout_header(v)));
        }
        self.header.as_ref().map(|(_, h)| h)
    }
}

impl CostFunction for MetricCost {
    type Cost = f64;
    fn cost(&mut self, v: &Validated, order: &[OpId]) -> f64 {
        let terms = self.objective.terms();
        terms.iter().map(|t| t.weight * self.term_value(v, order, t)).sum()
    }
}

impl MetricCost {
    /// One term's value on the trace-only first step of `v` in `order`.
    fn term_value(&mut self, v: &Validated, order: &[OpId], t: &Term) -> f64 {
        if reuse_kind(t.metric).is_some() {
            let r = ard_report(v, order, &Objective::single(t.metric, t.field), false);
            return r.value(t.field).unwrap_or(f64::INFINITY);
        }
        // The other metrics run their analyzer with default options.
        let Ok(resolved) = crate::analysis::resolve::<&str>(&[t.metric], &[], None) else {
            return f64::INFINITY;
        };
        let Some(mut a) = resolved.first().map(crate::analysis::MetricOptions::build) else {
            return f64::INFINITY;
        };
        let Some(header) = self.header(v) else {
            return f64::INFINITY;
        };
        let tr = a.as_tracer();
        tr.begin(header);
        trace_order(v, order, tr);
        tr.end();
        // Objective fields are checked against the metric when parsed, so a
        // value is always there; a non-finite one never wins.
        a.value(t.field).unwrap_or(f64::INFINITY)
    }
}

/// One event of an op in the clock model.
#[derive(Clone, Copy, Debug)]
struct Ev {
    write: bool,
    seg: usize,
    size: u64,
}

/// A segment: one write of a buffer (or its step-start write) and the reads it reaches.
#[derive(Clone, Copy, Debug)]
struct Seg {
    /// Weight of each read (1, or the read's size for the size-weighted fields).
    w: i128,
    /// Floats from the write's start to the end of its op: a lower bound on the
    /// distance of any read it reaches (reads run in later ops).
    min_d: i128,
    /// Reads reached.
    reads: u32,
    /// The step-start clock of a step-start write.
    start_anchor: Option<u64>,
    size: u64,
}

/// The incremental state of a partial schedule in the clock model.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClockState {
    /// Floats moved so far.
    pub clock: u64,
    /// Σ w·d over the reads scheduled so far (the true partial cost).
    pub past: i128,
    /// Σ over open segments (anchored, reads pending) of their multiplier × anchor.
    pub open: i128,
    pending: Vec<u32>,
    anchor: Vec<Option<u64>>,
}

impl ClockState {
    /// The memo value: the part of the total cost fixed by the prefix, such that
    /// total = accounted + (a function of the set of scheduled ops and the rest of
    /// the order). Memoising on the set with this value is exact.
    pub fn accounted(&self) -> i128 {
        self.past - self.open
    }
}

/// Per op o: c(o) and K(o) with Σ_o c(o)·T(o) + K(o) the cost of the segments
/// its events open and close (T(o) its start clock), and the ops sorted by
/// c/p decreasing (Smith's rule), ties by index.
fn future_terms(evs: &[Vec<Ev>], segs: &[Seg], pt: &[u64]) -> (Vec<i128>, Vec<i128>, Vec<usize>) {
    let n = evs.len();
    let mut c = vec![0i128; n];
    let mut k = vec![0i128; n];
    for (o, list) in evs.iter().enumerate() {
        let mut off = 0i128;
        for e in list {
            if e.seg != usize::MAX {
                let s = &segs[e.seg];
                if e.write {
                    let reach = s.w * i128::from(s.reads);
                    c[o] -= reach;
                    k[o] -= reach * off;
                } else {
                    c[o] += s.w;
                    k[o] += s.w * off;
                }
            }
            off += i128::from(e.size);
        }
    }
    let mut smith: Vec<usize> = (0..n).collect();
    smith.sort_by(|&a, &b| {
        let (pa, pb) = (i128::from(pt[a].max(1)), i128::from(pt[b].max(1)));
        (c[b] * pa).cmp(&(c[a] * pb)).then(a.cmp(&b))
    });
    (c, k, smith)
}

/// The clock metrics in a form that scores a schedule op by op.
///
/// Ops are local indices `0..n` into `ops()`. Every read has a fixed reaching
/// write in any legal order (that is what the hazard graph preserves), so the
/// model precomputes each read's segment.
#[derive(Clone, Debug)]
pub struct ClockModel {
    access: bool,
    ops: Vec<OpId>,
    evs: Vec<Vec<Ev>>,
    segs: Vec<Seg>,
    /// Floats moved by each op.
    p: Vec<u64>,
    start_clock: u64,
    /// `ard_write` only: Σ_o c(o)·T(o) + K(o) is the cost of the segments opened by
    /// future ops, T(o) the op's start clock.
    c: Vec<i128>,
    k: Vec<i128>,
    /// Ops sorted by c/p decreasing (Smith's rule), ties by index.
    smith: Vec<usize>,
    /// Reads of cold buffers (never written): their fixed contribution.
    cold_const: i128,
}

impl ClockModel {
    /// Builds the model of `v`'s ops in its schedule, for a clock objective.
    pub fn new(v: &Validated, objective: &Objective) -> Option<ClockModel> {
        if !objective.is_clock() {
            return None;
        }
        let kind = reuse_kind(objective.metric)?;
        let by_size = objective.field.by_size();
        let p = v.program();
        let weight = |size: u64| if by_size { i128::from(size) } else { 1 };
        let mut segs: Vec<Seg> = Vec::new();
        let mut cur: Vec<Option<usize>> = vec![None; p.buffers.len()];
        let mut clock = 0u64;
        // Step-start writes, in the interpreter's order.
        for b in p.step_start_buffers(true) {
            let (i, size) = (b.idx(), v.size(b) as u64);
            cur[i] = Some(segs.len());
            segs.push(Seg {
                w: weight(size),
                min_d: 0,
                reads: 0,
                start_anchor: Some(clock),
                size,
            });
            clock += size;
        }
        let mut cold_const = 0i128;
        let mut evs = Vec::with_capacity(p.order.len());
        for &id in &p.order {
            let fx = effects(&p.op(id).kind);
            let mut list = Vec::with_capacity(fx.len());
            for a in &fx {
                let size = v.size(a.buf) as u64;
                let b = a.buf.idx();
                match a.mode {
                    Mode::Read => match cur[b] {
                        Some(s) => {
                            segs[s].reads += 1;
                            list.push(Ev {
                                write: false,
                                seg: s,
                                size,
                            });
                        }
                        None => {
                            // Validation rejects reads of unwritten temporaries; kept exact anyway.
                            if kind == ReuseKind::Write {
                                cold_const -= weight(size);
                            }
                            list.push(Ev {
                                write: false,
                                seg: usize::MAX,
                                size,
                            });
                        }
                    },
                    Mode::Write => {
                        cur[b] = Some(segs.len());
                        list.push(Ev {
                            write: true,
                            seg: segs.len(),
                            size,
                        });
                        segs.push(Seg {
                            w: weight(size),
                            min_d: 0,
                            reads: 0,
                            start_anchor: None,
                            size,
                        });
                    }
                }
            }
            // Distance floor of a segment: its write's size plus later writes of the op.
            let mut tail = 0u64;
            for e in list.iter().rev() {
                if e.write {
                    tail += e.size;
                    segs[e.seg].min_d = i128::from(tail);
                }
            }
            evs.push(list);
        }
        let pt: Vec<u64> = evs.iter().map(|l| l.iter().map(|e| e.size).sum()).collect();
        let (c, k, smith) = future_terms(&evs, &segs, &pt);
        Some(ClockModel {
            access: kind == ReuseKind::Access,
            ops: p.order.clone(),
            evs,
            segs,
            p: pt,
            start_clock: clock,
            c,
            k,
            smith,
            cold_const,
        })
    }

    /// The ops, in the schedule the model was built from (local index → op id).
    pub fn ops(&self) -> &[OpId] {
        &self.ops
    }

    /// The number of ops.
    pub fn len(&self) -> usize {
        self.ops.len()
    }

    /// Whether there are no ops.
    pub fn is_empty(&self) -> bool {
        self.ops.is_empty()
    }

    /// The work of one search node in loop steps: `lower_bound` walks every
    /// segment and every op, the ready scan every op.
    pub fn node_work(&self) -> u64 {
        (self.ops.len() + self.segs.len()) as u64
    }

    /// The state before the first op (after the step-start writes).
    pub fn start(&self) -> ClockState {
        let mut st = ClockState {
            clock: self.start_clock,
            past: self.cold_const,
            open: 0,
            pending: self.segs.iter().map(|s| s.reads).collect(),
            anchor: self.segs.iter().map(|s| s.start_anchor).collect(),
        };
        for (i, s) in self.segs.iter().enumerate() {
            st.open += self.open_term(i, &st);
            let _ = s;
        }
        st
    }

    fn mult(&self, seg: usize, pending: u32) -> i128 {
        let w = self.segs[seg].w;
        if pending == 0 {
            0
        } else if self.access {
            w
        } else {
            w * i128::from(pending)
        }
    }

    fn open_term(&self, seg: usize, st: &ClockState) -> i128 {
        match st.anchor[seg] {
            Some(a) => self.mult(seg, st.pending[seg]) * i128::from(a),
            None => 0,
        }
    }

    /// The cost the reads of op `o` would add if it ran next (a locality priority).
    pub fn read_cost(&self, st: &ClockState, o: usize) -> i128 {
        let mut t = st.clock;
        let mut sum = 0i128;
        let mut last: Vec<(usize, u64)> = Vec::new();
        for e in &self.evs[o] {
            if e.write {
                break;
            }
            if e.seg != usize::MAX {
                let a = last
                    .iter()
                    .rev()
                    .find(|(s, _)| *s == e.seg && self.access)
                    .map(|(_, a)| *a)
                    .or(st.anchor[e.seg]);
                if let Some(a) = a {
                    sum += self.segs[e.seg].w * (i128::from(t) - i128::from(a));
                }
                last.push((e.seg, t));
            }
            t += e.size;
        }
        sum
    }

    /// Runs op `o` next; returns what `undo` needs.
    pub fn apply(&self, st: &mut ClockState, o: usize) -> Undo {
        let mut undo = Undo {
            clock: st.clock,
            past: st.past,
            open: st.open,
            segs: Vec::with_capacity(self.evs[o].len()),
        };
        for e in &self.evs[o] {
            let t = st.clock;
            if e.seg != usize::MAX {
                let s = e.seg;
                undo.segs.push((s, st.pending[s], st.anchor[s]));
                st.open -= self.open_term(s, st);
                if e.write {
                    st.anchor[s] = Some(t);
                } else {
                    if let Some(a) = st.anchor[s] {
                        st.past += self.segs[s].w * (i128::from(t) - i128::from(a));
                    }
                    st.pending[s] = st.pending[s].saturating_sub(1);
                    if self.access {
                        st.anchor[s] = Some(t);
                    }
                }
                st.open += self.open_term(s, st);
            }
            st.clock += e.size;
        }
        undo
    }

    /// Reverts an `apply`.
    pub fn undo(&self, st: &mut ClockState, undo: Undo) {
        st.clock = undo.clock;
        st.past = undo.past;
        st.open = undo.open;
        for (s, pending, anchor) in undo.segs.into_iter().rev() {
            st.pending[s] = pending;
            st.anchor[s] = anchor;
        }
    }

    /// The total Σ w·d of a complete order of local indices.
    pub fn total(&self, order: &[usize]) -> i128 {
        let mut st = self.start();
        for &o in order {
            self.apply(&mut st, o);
        }
        st.past
    }

    /// A lower bound on the cost of the reads still to run, given the scheduled set.
    ///
    /// Two valid bounds, the larger is returned. (1) Per read: a read of an open
    /// segment runs no earlier than now, so `d ≥ clock − anchor` (under
    /// `ard_access` only the segment's next read has that floor, the others at
    /// least the buffer's size); a read of a segment not yet written is at least
    /// the write's own size plus the op's later writes away. (2) `ard_write` only:
    /// the future cost is Σ c(o)·T(o) + K(o) − open over the unscheduled ops, a
    /// single-machine Σ w·C problem; dropping the precedence constraints, Smith's
    /// ratio rule (c/p decreasing) is optimal for any signs of c, so it bounds it.
    pub fn lower_bound(&self, st: &ClockState, scheduled: &[bool]) -> i128 {
        let now = i128::from(st.clock);
        let mut lb1 = 0i128;
        for (i, s) in self.segs.iter().enumerate() {
            let pending = i128::from(st.pending[i]);
            if pending == 0 {
                continue;
            }
            match st.anchor[i] {
                Some(a) => {
                    let first = s.w * (now - i128::from(a));
                    if self.access {
                        lb1 += first + s.w * (pending - 1) * i128::from(s.size);
                    } else {
                        lb1 += first * pending;
                    }
                }
                None => {
                    if self.access {
                        lb1 += s.w * (s.min_d + (pending - 1) * i128::from(s.size));
                    } else {
                        lb1 += s.w * s.min_d * pending;
                    }
                }
            }
        }
        if self.access {
            return lb1;
        }
        let mut lb2 = -st.open;
        let mut t = now;
        for &o in &self.smith {
            if !scheduled[o] {
                lb2 += self.c[o] * t + self.k[o];
                t += i128::from(self.p[o]);
            }
        }
        lb1.max(lb2)
    }
}

/// What `ClockModel::apply` changed.
#[derive(Clone, Debug)]
pub struct Undo {
    clock: u64,
    past: i128,
    open: i128,
    segs: Vec<(usize, u32, Option<u64>)>,
}
