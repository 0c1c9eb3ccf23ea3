//! `dmd`: data movement distance, Σ √d over the `lru_stack` distances (Smith,
//! Goldfarb and Ding, ICS 2022, Definition 1; metrics spec, section 4).
//!
//! The stack and its options are exactly those of `lru_stack` (the shared
//! `stack::Engine`); this file only turns distances into √ terms. Per-element
//! terms are added to the running total in trace order, so a whole-buffer access
//! priced at one depth still adds `√d` once per element. At `byte` granularity an
//! element's term is the sum of its bytes' `√p` (bytes ascending), added as one
//! term; at `buffer` granularity an access of `s` elements adds `s·√d`. With
//! `ceil=true` the terms are integers (`isqrt`), summed exactly.

use super::engine::{Attr, Engine, Sink, buf_name, buf_size, op_ident};
use super::options::{DmdOptions, Granularity};
use super::row::{AttrRow, cols};
use crate::ir::Mode;
use crate::trace::{Event, TraceHeader};
use serde::Serialize;

/// ⌈√i⌉ by integer square root (`0` for `0`).
pub fn ceil_sqrt(i: u64) -> u64 {
    if i == 0 { 0 } else { (i - 1).isqrt() + 1 }
}

/// `U(N) = Σ_{k≤N} ⌈√k⌉ = M·(6N − 2M² + 3M − 1)/6`, `M = isqrt(N−1) + 1`, `U(0) = 0`.
pub fn u_sum(n: u64) -> u128 {
    if n == 0 {
        return 0;
    }
    let m = i128::from((n - 1).isqrt() + 1);
    let n = i128::from(n);
    let v = m * (6 * n - 2 * m * m + 3 * m - 1) / 6;
    u128::try_from(v).unwrap_or(0)
}

#[derive(Clone, Debug, Default)]
struct DmdAcc {
    reads: u64,
    writes: u64,
    accesses: u64,
    cold: u64,
    total: f64,
    total_int: u128,
}

impl DmdAcc {
    #[inline]
    fn add(&mut self, count: u64, cold: u64, term: f64, term_int: u128) {
        self.accesses += count;
        self.cold += cold;
        for _ in 0..count {
            self.total += term;
        }
        self.total_int += term_int * u128::from(count);
    }
}

/// The `dmd` report. Integer rows sum exactly to the totals; `f64` rows are each
/// summed in trace order, so their sum equals `total` up to rounding.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct DmdReport {
    /// Effective options.
    pub options: DmdOptions,
    /// Steps in the trace.
    pub steps: u32,
    /// Priced-or-cold units.
    pub accesses: u64,
    /// Cold units (in no sum under `skip`).
    pub cold: u64,
    /// Σ √d (or Σ ⌈√d⌉ as `f64` when `ceil=true`).
    pub total: f64,
    /// Σ ⌈√d⌉ exactly, when `ceil=true`.
    pub total_int: Option<u128>,
    /// `total / steps`.
    pub per_step: f64,
    /// Rows in order of first access.
    pub buffers: Vec<AttrRow>,
    /// Rows in op-table order (ops with no events omitted), start row last.
    pub ops: Vec<AttrRow>,
}

#[derive(Clone, Debug, Default)]
struct DmdState {
    granularity: Option<Granularity>,
    ceil: bool,
    total: DmdAcc,
    attr: Attr<DmdAcc>,
}

impl Sink for DmdState {
    fn event(&mut self, ev: &Event) {
        self.attr.touch(ev.buf);
        let r = ev.mode == Mode::Read;
        let (rd, wr) = (u64::from(r), u64::from(!r));
        self.total.reads += rd;
        self.total.writes += wr;
        let b = self.attr.buf(ev.buf);
        b.reads += rd;
        b.writes += wr;
        let o = self.attr.op(ev.op);
        o.reads += rd;
        o.writes += wr;
    }

    fn price(&mut self, ev: &Event, d: Option<u64>, cold: bool, count: u64, w: u64) {
        let c = if cold { count } else { 0 };
        let (term, term_int) = match d {
            None => (0.0, 0),
            Some(d) => match self.granularity {
                Some(Granularity::Byte) => {
                    if self.ceil {
                        let t = u_sum(d).saturating_sub(u_sum(d.saturating_sub(w)));
                        (t as f64, t)
                    } else {
                        let mut t = 0.0;
                        for p in d.saturating_sub(w) + 1..=d {
                            t += (p as f64).sqrt();
                        }
                        (t, 0)
                    }
                }
                Some(Granularity::Buffer) => {
                    if self.ceil {
                        let t = u128::from(ev.len) * u128::from(ceil_sqrt(d));
                        (t as f64, t)
                    } else {
                        (ev.len as f64 * (d as f64).sqrt(), 0)
                    }
                }
                _ => {
                    if self.ceil {
                        let t = ceil_sqrt(d);
                        (t as f64, u128::from(t))
                    } else {
                        ((d as f64).sqrt(), 0)
                    }
                }
            },
        };
        self.total.add(count, c, term, term_int);
        self.attr.buf(ev.buf).add(count, c, term, term_int);
        self.attr.op(ev.op).add(count, c, term, term_int);
    }
}

/// The `dmd` analyzer.
#[derive(Clone, Debug)]
pub struct Dmd {
    options: DmdOptions,
    header: TraceHeader,
    engine: Engine,
    st: DmdState,
}

impl Dmd {
    /// A fresh analyzer.
    pub fn new(options: DmdOptions) -> Dmd {
        Dmd {
            options,
            header: TraceHeader::default(),
            engine: Engine::for_options(&options.stack),
            st: DmdState {
                granularity: Some(options.stack.granularity),
                ceil: options.ceil,
                ..DmdState::default()
            },
        }
    }

    /// The report so far.
    pub fn report(&self) -> DmdReport {
        let st = &self.st;
        let h = &self.header;
        let steps = self.engine.steps;
        let ceil = self.options.ceil;
        let int = |a: &DmdAcc| ceil.then_some(a.total_int);
        let n_ops = st.attr.ops.len();
        DmdReport {
            options: self.options,
            steps,
            accesses: st.total.accesses,
            cold: st.total.cold,
            total: st.total.total,
            total_int: int(&st.total),
            per_step: if steps == 0 {
                0.0
            } else {
                st.total.total / f64::from(steps)
            },
            buffers: st
                .attr
                .order
                .iter()
                .map(|&b| {
                    let a = st.attr.bufs.get(b.idx()).cloned().unwrap_or_default();
                    AttrRow {
                        name: buf_name(h, b),
                        size: buf_size(h, b),
                        reads: a.reads,
                        writes: a.writes,
                        accesses: a.accesses,
                        cold: a.cold,
                        total: a.total,
                        total_int: int(&a),
                        cols: cols::DMD_BUF,
                        ..AttrRow::default()
                    }
                })
                .collect(),
            ops: st
                .attr
                .ops
                .iter()
                .enumerate()
                .filter(|(_, a)| a.reads + a.writes > 0)
                .map(|(i, a)| {
                    let (name, index, line) = op_ident(h, i, n_ops);
                    AttrRow {
                        name,
                        index,
                        line,
                        accesses: a.accesses,
                        cold: a.cold,
                        total: a.total,
                        total_int: int(a),
                        cols: cols::DMD_OP,
                        ..AttrRow::default()
                    }
                })
                .collect(),
        }
    }
}

super::engine::engine_tracer!(Dmd);
