//! The pricing engine that `lru_stack`, `dmd` and `energy_pj` share (metrics
//! spec, §4.2): units, recency and price options over the `fenwick::Stack`, a
//! distance histogram, per-buffer and per-op attribution, and the `Tracer`
//! plumbing of an engine-based analyzer.

use super::fenwick::{DENSE_SLACK, Stack};
use super::options::{ColdPolicy, Granularity, Price, Pricing, Recency, StackOptions};
use crate::ir::{BufId, Mode, OpId};
use crate::trace::{Event, TraceHeader};
use std::collections::BTreeMap;

/// Histogram bins below this distance are dense.
const DENSE_HIST: u64 = 1 << 22;

/// What one stack address is, and its weight.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Units {
    /// One key per element (its address), each of weight `w`.
    Element { w: u64 },
    /// One key per buffer (its id), of weight `len × mul`.
    Buffer { mul: u64 },
}

impl Units {
    /// The key range and unit weight of an event.
    #[inline]
    pub(crate) fn of(self, ev: &Event) -> (u64, u64, u64) {
        match self {
            Units::Element { w } => (ev.addr, ev.len, w),
            Units::Buffer { mul } => (u64::from(ev.buf.0), u64::from(ev.len > 0), ev.len.saturating_mul(mul)),
        }
    }

    /// A dense key bound for a header.
    pub(crate) fn key_limit(self, h: &TraceHeader) -> u64 {
        match self {
            Units::Element { .. } => h
                .buffers
                .iter()
                .map(|b| b.offset.saturating_add(b.size()))
                .max()
                .unwrap_or(0)
                .saturating_add(DENSE_SLACK),
            Units::Buffer { .. } => (h.buffers.len() as u64).saturating_add(DENSE_SLACK),
        }
    }
}

/// Receives priced units from the engine.
pub(crate) trait Sink {
    /// An event that is counted (every event except preloaded step-start writes).
    fn event(&mut self, _ev: &Event) {}
    /// `count` units of `ev`, each of weight `w`, at inclusive depth `d` (`None`:
    /// cold and unpriced); `cold` marks first accesses.
    fn price(&mut self, ev: &Event, d: Option<u64>, cold: bool, count: u64, w: u64);
}

/// The pricing engine of section 4.2: options, a stack, and pending events.
#[derive(Clone, Debug)]
pub(crate) struct Engine {
    recency: Recency,
    price: Price,
    pricing: Pricing,
    cold: ColdPolicy,
    units: Units,
    stack: Stack,
    start: Vec<Event>,
    reads: Vec<Event>,
    pub(crate) steps: u32,
}

impl Engine {
    /// An engine; `cold` is `skip`, `footprint_plus_1` or `preload` (`dram` acts
    /// as `footprint_plus_1` for the depth it reports, with `cold` set).
    pub(crate) fn new(recency: Recency, price: Price, pricing: Pricing, cold: ColdPolicy, units: Units) -> Engine {
        let uniform = match units {
            Units::Element { w } => w,
            Units::Buffer { .. } => 0,
        };
        Engine {
            recency,
            price,
            pricing,
            cold,
            units,
            stack: Stack::new(DENSE_SLACK, matches!(units, Units::Buffer { .. }), uniform),
            start: Vec::new(),
            reads: Vec::new(),
            steps: 0,
        }
    }

    /// The engine for a set of stack options.
    pub(crate) fn for_options(o: &StackOptions) -> Engine {
        let units = match o.granularity {
            Granularity::Element => Units::Element { w: 1 },
            Granularity::Byte => Units::Element { w: o.bytes_per_element },
            Granularity::Buffer => Units::Buffer { mul: 1 },
        };
        Engine::new(o.recency, o.price, o.pricing, o.cold, units)
    }

    /// Sizes the dense key map from the header.
    pub(crate) fn begin(&mut self, h: &TraceHeader) {
        let uniform = match self.units {
            Units::Element { w } => w,
            Units::Buffer { .. } => 0,
        };
        self.stack = Stack::new(
            self.units.key_limit(h),
            matches!(self.units, Units::Buffer { .. }),
            uniform,
        );
    }

    fn cold_depth(&self, w: u64, i: u64) -> Option<u64> {
        match self.cold {
            ColdPolicy::FootprintPlus1 | ColdPolicy::Dram => {
                Some(self.stack.total().wrapping_add(w.wrapping_mul(i + 1)))
            }
            _ => None,
        }
    }

    /// Feeds one event.
    pub(crate) fn access(&mut self, ev: &Event, sink: &mut dyn Sink) {
        self.steps = self.steps.max(ev.step.saturating_add(1));
        let batched = self.pricing == Pricing::Simultaneous
            && self.recency == Recency::Move
            && ev.mode == Mode::Read
            && ev.op.is_some();
        if batched {
            if let Some(first) = self.reads.first()
                && (first.step, first.op) != (ev.step, ev.op)
            {
                self.flush_reads(sink);
            }
            self.flush_start();
            self.reads.push(*ev);
            return;
        }
        self.flush_reads(sink);
        if self.cold == ColdPolicy::Preload && ev.op.is_none() && ev.mode == Mode::Write {
            self.start.push(*ev);
            return;
        }
        self.flush_start();
        self.sequential(ev, sink);
    }

    /// Flushes pending work at the end of the trace.
    pub(crate) fn end(&mut self, sink: &mut dyn Sink) {
        self.flush_reads(sink);
        self.flush_start();
    }

    /// Preload (spec 2.2.1): the step's start writes, stacked so the first ends
    /// on top; neither priced nor counted.
    fn flush_start(&mut self) {
        if self.start.is_empty() {
            return;
        }
        let start = std::mem::take(&mut self.start);
        for ev in start.iter().rev() {
            let (k0, n, w) = self.units.of(ev);
            self.stack.touch_range(k0, n, w);
        }
    }

    fn sequential(&mut self, ev: &Event, sink: &mut dyn Sink) {
        sink.event(ev);
        let (k0, n, w) = self.units.of(ev);
        if n == 0 {
            return;
        }
        match ev.mode {
            Mode::Read if self.recency == Recency::Move => self.price_move(ev, k0, n, w, sink),
            Mode::Read => self.price_observe(ev, k0, n, w, sink),
            Mode::Write if self.price == Price::All => self.price_move(ev, k0, n, w, sink),
            Mode::Write => self.stack.touch_range(k0, n, w),
        }
    }

    /// Prices each unit, then moves it (sequential, `move`, and writes).
    fn price_move(&mut self, ev: &Event, k0: u64, n: u64, w: u64, sink: &mut dyn Sink) {
        if let Some(s0) = self.stack.block(k0, n) {
            // Each element of an intact block, re-read in order, sees the block's
            // own weight plus everything above it.
            let d = self.stack.depth_slot(s0);
            sink.price(ev, Some(d), false, n, w);
            self.stack.remove_block(s0, k0, n);
            self.stack.push_block(k0, n, w);
        } else if self.stack.absent(k0, n) {
            if self.cold_depth(w, 0).is_some() {
                for i in 0..n {
                    sink.price(ev, self.cold_depth(w, i), true, 1, w);
                }
            } else {
                sink.price(ev, None, true, n, w);
            }
            self.stack.push_block(k0, n, w);
        } else {
            for i in 0..n {
                let k = k0 + i;
                match self.stack.depth(k) {
                    Some(d) => sink.price(ev, Some(d), false, 1, w),
                    None => sink.price(ev, self.cold_depth(w, 0), true, 1, w),
                }
                self.stack.touch(k, w);
            }
        }
    }

    /// Prices each unit on the current stack without moving it.
    fn price_observe(&mut self, ev: &Event, k0: u64, n: u64, w: u64, sink: &mut dyn Sink) {
        if let Some(s0) = self.stack.block(k0, n) {
            let d0 = self.stack.depth_slot(s0);
            let bw = if n == 1 { 0 } else { self.stack.uniform() };
            for i in 0..n {
                sink.price(ev, Some(d0.wrapping_sub(i.wrapping_mul(bw))), false, 1, w);
            }
        } else if self.stack.absent(k0, n) {
            sink.price(ev, self.cold_depth(w, 0), true, n, w);
        } else {
            for i in 0..n {
                match self.stack.depth(k0 + i) {
                    Some(d) => sink.price(ev, Some(d), false, 1, w),
                    None => sink.price(ev, self.cold_depth(w, 0), true, 1, w),
                }
            }
        }
    }

    /// Simultaneous pricing of one op's reads: all on the pre-op stack, then the
    /// unique units move in first-occurrence order.
    fn flush_reads(&mut self, sink: &mut dyn Sink) {
        if self.reads.is_empty() {
            return;
        }
        let reads = std::mem::take(&mut self.reads);
        let mut need = 0u64;
        for ev in &reads {
            sink.event(ev);
            let (k0, n, w) = self.units.of(ev);
            need = need.saturating_add(n);
            if n > 0 {
                self.price_observe(ev, k0, n, w, sink);
            }
        }
        // Reserving room first means no compaction renumbers slots mid-phase, so
        // `slot >= mark` identifies exactly the units already moved by this op.
        self.stack.ensure_room(need);
        let mark = self.stack.next_slot();
        for ev in &reads {
            let (k0, n, w) = self.units.of(ev);
            self.stack.bump_range(k0, n, w, mark);
        }
        self.reads = reads;
        self.reads.clear();
    }
}

/// A histogram of distances: dense for small ones, sparse beyond.
#[derive(Clone, Debug, Default)]
pub(crate) struct Histogram {
    dense: Vec<u64>,
    sparse: BTreeMap<u64, u64>,
}

impl Histogram {
    #[inline]
    pub(crate) fn add(&mut self, d: u64, count: u64) {
        if d < DENSE_HIST {
            let i = d as usize;
            if i >= self.dense.len() {
                self.dense.resize((i + 1).max(self.dense.len() * 2), 0);
            }
            if let Some(c) = self.dense.get_mut(i) {
                *c += count;
            }
        } else {
            *self.sparse.entry(d).or_insert(0) += count;
        }
    }

    /// `[distance, count]` pairs, distances ascending.
    pub(crate) fn pairs(&self) -> Vec<[u64; 2]> {
        let mut v: Vec<[u64; 2]> = self
            .dense
            .iter()
            .enumerate()
            .filter(|(_, c)| **c > 0)
            .map(|(d, c)| [d as u64, *c])
            .collect();
        v.extend(self.sparse.iter().map(|(d, c)| [*d, *c]));
        v
    }
}

/// Attribution helpers shared by the stack-family analyzers.
#[derive(Clone, Debug, Default)]
pub(crate) struct Attr<A> {
    /// Per buffer id.
    pub(crate) bufs: Vec<A>,
    /// Buffer ids in order of first access.
    pub(crate) order: Vec<BufId>,
    seen: Vec<bool>,
    /// Per op id, plus a last entry for step-start writes.
    pub(crate) ops: Vec<A>,
}

impl<A: Default + Clone> Attr<A> {
    pub(crate) fn begin(&mut self, h: &TraceHeader) {
        self.bufs = vec![A::default(); h.buffers.len()];
        self.seen = vec![false; h.buffers.len()];
        self.ops = vec![A::default(); h.ops.len() + 1];
        self.order.clear();
    }

    /// Registers a buffer's first access.
    pub(crate) fn touch(&mut self, b: BufId) {
        let i = b.idx();
        if i >= self.seen.len() {
            self.seen.resize(i + 1, false);
            self.bufs.resize(i + 1, A::default());
        }
        if let Some(s) = self.seen.get_mut(i)
            && !*s
        {
            *s = true;
            self.order.push(b);
        }
    }

    pub(crate) fn buf(&mut self, b: BufId) -> &mut A {
        let i = b.idx();
        if i >= self.bufs.len() {
            self.bufs.resize(i + 1, A::default());
        }
        &mut self.bufs[i]
    }

    /// The op's accumulator (`None` = the step-start row, kept last).
    pub(crate) fn op(&mut self, op: Option<OpId>) -> &mut A {
        if self.ops.is_empty() {
            self.ops.push(A::default());
        }
        let last = self.ops.len() - 1;
        let i = match op {
            Some(o) if o.idx() < last => o.idx(),
            Some(o) => {
                // An op id beyond the header's table: grow, keeping start last.
                let start = self.ops.pop().unwrap_or_default();
                self.ops.resize(o.idx() + 1, A::default());
                self.ops.push(start);
                o.idx()
            }
            None => last,
        };
        &mut self.ops[i]
    }
}

/// Name of a buffer from the header.
pub(crate) fn buf_name(h: &TraceHeader, b: BufId) -> String {
    h.buffers
        .get(b.idx())
        .map_or_else(|| format!("buf{}", b.0), |i| i.name.clone())
}

/// Size of a buffer from the header.
pub(crate) fn buf_size(h: &TraceHeader, b: BufId) -> u64 {
    h.buffers.get(b.idx()).map_or(0, |i| i.size())
}

/// Name and line of an op row (`None` = the step-start writes).
pub(crate) fn op_ident(h: &TraceHeader, i: usize, n_ops: usize) -> (String, Option<usize>, Option<u32>) {
    if i + 1 == n_ops {
        return ("(start)".to_string(), None, None);
    }
    match h.ops.get(i) {
        Some(o) => (o.name.clone(), Some(i), Some(o.line)),
        None => (format!("op{i}"), Some(i), None),
    }
}

/// `Tracer` for an analyzer built on the shared pricing engine: it keeps the
/// header, and forwards every event to `engine` with its state `st`.
macro_rules! engine_tracer {
    ($ty:ty) => {
        impl $crate::trace::Tracer for $ty {
            fn begin(&mut self, h: &$crate::trace::TraceHeader) {
                self.header = h.clone();
                self.engine.begin(h);
                self.st.attr.begin(h);
            }

            fn access(&mut self, ev: &$crate::trace::Event) {
                self.engine.access(ev, &mut self.st);
            }

            fn end(&mut self) {
                self.engine.end(&mut self.st);
            }
        }
    };
}
pub(crate) use engine_tracer;
