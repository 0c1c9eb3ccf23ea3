//! `lru_stack`: exact inclusive LRU stack distances (metrics spec, section 4.2):
//! the histogram, the miss-ratio curve and per-buffer and per-op Σ d, priced by
//! the shared engine (`engine.rs`) over the Fenwick-tree stack (`fenwick.rs`).

use super::engine::{Attr, Engine, Histogram, Sink, buf_name, buf_size, engine_tracer, op_ident};
use super::options::StackOptions;
use super::row::{AttrRow, cols};
use crate::ir::Mode;
use crate::trace::{Event, TraceHeader};
use serde::Serialize;

#[derive(Clone, Debug, Default)]
struct LruAcc {
    reads: u64,
    writes: u64,
    accesses: u64,
    cold: u64,
    sum_d: u128,
}

/// Per-step means of the `lru_stack` totals.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct LruPerStep {
    /// `accesses / steps`.
    pub accesses: f64,
    /// `cold / steps`.
    pub cold: f64,
    /// `sum_d / steps`.
    pub sum_d: f64,
}

/// The `lru_stack` report.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct LruReport {
    /// Effective options.
    pub options: StackOptions,
    /// Steps in the trace.
    pub steps: u32,
    /// Counted read events.
    pub reads: u64,
    /// Counted write events.
    pub writes: u64,
    /// Priced-or-cold units (elements, or buffers at `buffer` granularity).
    pub accesses: u64,
    /// Cold units.
    pub cold: u64,
    /// Σ d over units with a distance (including `footprint_plus_1` colds).
    pub sum_d: u128,
    /// `[distance, count]` for warm units, distances ascending.
    pub histogram: Vec<[u64; 2]>,
    /// `[capacity, miss_ratio]`: capacity 0, then one point per distinct distance.
    pub mrc: Vec<(u64, f64)>,
    /// Totals divided by `steps`.
    pub per_step: LruPerStep,
    /// Rows in order of first access; they sum to the totals.
    pub buffers: Vec<AttrRow>,
    /// Rows in op-table order (ops with no events omitted), start row last.
    pub ops: Vec<AttrRow>,
}

/// State of `lru_stack` fed by the engine.
#[derive(Clone, Debug, Default)]
struct LruState {
    reads: u64,
    writes: u64,
    accesses: u64,
    cold: u64,
    sum_d: u128,
    hist: Histogram,
    attr: Attr<LruAcc>,
    log: Option<Vec<Option<u64>>>,
}

impl Sink for LruState {
    fn event(&mut self, ev: &Event) {
        self.attr.touch(ev.buf);
        let (b, o) = (self.attr.buf(ev.buf), ev.mode == Mode::Read);
        if o {
            b.reads += 1;
        } else {
            b.writes += 1;
        }
        let op = self.attr.op(ev.op);
        if o {
            op.reads += 1;
            self.reads += 1;
        } else {
            op.writes += 1;
            self.writes += 1;
        }
    }

    #[inline]
    fn price(&mut self, ev: &Event, d: Option<u64>, cold: bool, count: u64, _w: u64) {
        let sd = d.map_or(0, |d| u128::from(d) * u128::from(count));
        let c = if cold { count } else { 0 };
        self.accesses += count;
        self.cold += c;
        self.sum_d += sd;
        if !cold && let Some(d) = d {
            self.hist.add(d, count);
        }
        let b = self.attr.buf(ev.buf);
        b.accesses += count;
        b.cold += c;
        b.sum_d += sd;
        let o = self.attr.op(ev.op);
        o.accesses += count;
        o.cold += c;
        o.sum_d += sd;
        if let Some(log) = self.log.as_mut() {
            log.extend(std::iter::repeat_n(d, count as usize));
        }
    }
}

/// The `lru_stack` analyzer.
#[derive(Clone, Debug)]
pub struct LruStack {
    options: StackOptions,
    header: TraceHeader,
    engine: Engine,
    st: LruState,
}

impl LruStack {
    /// A fresh analyzer.
    pub fn new(options: StackOptions) -> LruStack {
        LruStack {
            options,
            header: TraceHeader::default(),
            engine: Engine::for_options(&options),
            st: LruState::default(),
        }
    }

    /// Also log every priced unit's distance (`None` for skipped colds), for tests.
    pub fn with_log(mut self, on: bool) -> LruStack {
        self.st.log = on.then(Vec::new);
        self
    }

    /// The logged distances, in pricing order.
    pub fn distances(&self) -> &[Option<u64>] {
        self.st.log.as_deref().unwrap_or(&[])
    }

    /// The report so far.
    pub fn report(&self) -> LruReport {
        let st = &self.st;
        let h = &self.header;
        let steps = self.engine.steps;
        let n = st.accesses;
        let hist = st.hist.pairs();
        let ratio = |x: u64| if n == 0 { 0.0 } else { x as f64 / n as f64 };
        let mut mrc = Vec::with_capacity(hist.len() + 1);
        let mut misses = n;
        mrc.push((0, ratio(misses)));
        for [d, c] in &hist {
            misses -= c;
            mrc.push((*d, ratio(misses)));
        }
        let per = |x: f64| if steps == 0 { 0.0 } else { x / f64::from(steps) };
        let n_ops = st.attr.ops.len();
        LruReport {
            options: self.options,
            steps,
            reads: st.reads,
            writes: st.writes,
            accesses: n,
            cold: st.cold,
            sum_d: st.sum_d,
            histogram: hist,
            mrc,
            per_step: LruPerStep {
                accesses: per(n as f64),
                cold: per(st.cold as f64),
                sum_d: per(st.sum_d as f64),
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
                        sum_d: i128::try_from(a.sum_d).unwrap_or(i128::MAX),
                        cols: cols::LRU_BUF,
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
                        sum_d: i128::try_from(a.sum_d).unwrap_or(i128::MAX),
                        cols: cols::LRU_OP,
                        ..AttrRow::default()
                    }
                })
                .collect(),
        }
    }
}

engine_tracer!(LruStack);
