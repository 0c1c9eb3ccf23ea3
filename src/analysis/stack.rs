//! `lru_stack`: exact inclusive LRU stack distances over a Fenwick tree of recency
//! timestamps (metrics spec, section 4.2), plus the pricing engine that `dmd` and
//! `energy_pj` share.
//!
//! Every recency update takes a fresh, increasing slot; an address's inclusive
//! depth is the total weight at or after its slot. The tree supports range
//! updates (two Fenwick arrays), so a block of consecutive slots is added or
//! removed in O(log cap). That is what makes whole-buffer accesses cheap: after a
//! buffer is accessed whole, its elements hold consecutive slots in ascending
//! order (a *block*). Re-reading an intact block under `move`/`sequential` gives
//! every element the same depth (weight above the block plus the block's own
//! weight), so one query prices it and two range updates move it; the only
//! per-element work left is a linear scan of the key→slot map. Anything else
//! (partial ranges, fragmented blocks) takes the general path, one query and one
//! update per element, each O(log cap). Slots are renumbered when they run out
//! (compaction, amortized O(1)).
//!
//! Invariant: a key's slot is 0 iff the key is not on the stack; the tree holds,
//! at each live slot, that key's weight, and 0 at dead slots.

use super::options::{ColdPolicy, Granularity, Price, Pricing, Recency, StackOptions};
use crate::ir::{BufId, Mode, OpId};
use crate::trace::{Event, TraceHeader, Tracer};
use serde::Serialize;
use std::collections::{BTreeMap, HashMap};

/// Keys below this many are kept in a dense vector; others in a hash map (only
/// for hand-built traces with far-flung addresses; never iterated for output).
const DENSE_SLACK: u64 = 1 << 20;
/// Histogram bins below this distance are dense.
const DENSE_HIST: u64 = 1 << 22;

/// A map from stack keys to small values: dense near zero, sparse beyond.
#[derive(Clone, Debug, Default)]
pub(crate) struct KeyMap<T> {
    dense: Vec<T>,
    limit: u64,
    sparse: HashMap<u64, T>,
}

impl<T: Copy + Default + PartialEq> KeyMap<T> {
    /// A map whose keys below `limit` are dense.
    pub(crate) fn new(limit: u64) -> KeyMap<T> {
        KeyMap {
            dense: Vec::new(),
            limit: limit.min(1 << 32),
            sparse: HashMap::new(),
        }
    }

    #[inline]
    pub(crate) fn get(&self, k: u64) -> T {
        if k < self.limit {
            self.dense.get(k as usize).copied().unwrap_or_default()
        } else {
            self.sparse.get(&k).copied().unwrap_or_default()
        }
    }

    #[inline]
    pub(crate) fn set(&mut self, k: u64, v: T) {
        if k < self.limit {
            let i = k as usize;
            if i >= self.dense.len() {
                let want = (i + 1).max(self.dense.len() * 2).min(self.limit as usize);
                self.dense.resize(want.max(i + 1), T::default());
            }
            if let Some(x) = self.dense.get_mut(i) {
                *x = v;
            }
        } else if v == T::default() {
            self.sparse.remove(&k);
        } else {
            self.sparse.insert(k, v);
        }
    }

    /// The dense slice for keys `k0 .. k0 + n`, if they all lie in the dense part.
    #[inline]
    fn slice(&self, k0: u64, n: u64) -> Option<&[T]> {
        let end = k0.checked_add(n)?;
        if end <= self.dense.len() as u64 {
            self.dense.get(k0 as usize..end as usize)
        } else {
            None
        }
    }

    /// Makes keys `k0 .. k0 + n` dense-resident if they are below the limit, and
    /// returns their slice.
    #[inline]
    fn slice_mut(&mut self, k0: u64, n: u64) -> Option<&mut [T]> {
        let end = k0.checked_add(n)?;
        if end > self.limit {
            return None;
        }
        if end as usize > self.dense.len() {
            let want = (end as usize).max(self.dense.len() * 2).min(self.limit as usize);
            self.dense.resize(want.max(end as usize), T::default());
        }
        self.dense.get_mut(k0 as usize..end as usize)
    }

    /// Length of the dense part (a bound on the work of a full scan).
    fn dense_len(&self) -> usize {
        self.dense.len()
    }

    /// Calls `f` on every non-default entry; `f` may change the value.
    fn for_each_mut(&mut self, mut f: impl FnMut(u64, &mut T)) {
        let zero = T::default();
        for (k, v) in self.dense.iter_mut().enumerate() {
            if *v != zero {
                f(k as u64, v);
            }
        }
        for (k, v) in self.sparse.iter_mut() {
            f(*k, v);
        }
    }
}

/// A Fenwick tree with range add and prefix sum, over wrapping `u64` (the true
/// sums always fit, so modular arithmetic gives them exactly).
#[derive(Clone, Debug, Default)]
struct RangeBit {
    b1: Vec<u64>,
    b2: Vec<u64>,
}

#[inline]
fn bit_add(v: &mut [u64], mut i: usize, x: u64) {
    while let Some(c) = v.get_mut(i) {
        *c = c.wrapping_add(x);
        i += i & i.wrapping_neg();
    }
}

#[inline]
fn bit_sum(v: &[u64], mut i: usize) -> u64 {
    let mut s = 0u64;
    i = i.min(v.len().saturating_sub(1));
    while i > 0 {
        s = s.wrapping_add(v.get(i).copied().unwrap_or(0));
        i &= i - 1;
    }
    s
}

impl RangeBit {
    fn with_cap(cap: usize) -> RangeBit {
        RangeBit {
            b1: vec![0; cap + 2],
            b2: vec![0; cap + 2],
        }
    }

    /// Adds `x` (wrapping, so negative values work) to every slot in `l ..= r`.
    #[inline]
    fn range_add(&mut self, l: usize, r: usize, x: u64) {
        let (lu, ru) = (l as u64, r as u64);
        bit_add(&mut self.b1, l, x);
        bit_add(&mut self.b1, r + 1, x.wrapping_neg());
        bit_add(&mut self.b2, l, x.wrapping_mul(lu.wrapping_sub(1)));
        bit_add(&mut self.b2, r + 1, x.wrapping_mul(ru).wrapping_neg());
    }

    /// Σ of slots `1 ..= i`.
    #[inline]
    fn prefix(&self, i: usize) -> u64 {
        bit_sum(&self.b1, i)
            .wrapping_mul(i as u64)
            .wrapping_sub(bit_sum(&self.b2, i))
    }

    /// Rebuilds for slots `1 ..= cap`, reusing the allocations: `fill` writes
    /// the point values (index = slot) into a zeroed array, nonzero only in
    /// `1 ..= live`. Work is O(live + log² cap) plus one memset of the arrays.
    fn rebuild(&mut self, cap: usize, live: usize, fill: impl FnOnce(&mut [u64])) {
        let len = cap + 2;
        let mut a = std::mem::take(&mut self.b1);
        a.clear();
        a.resize(len, 0);
        fill(&mut a);
        // Differences in place (descending, so a[i - 1] is still a point value);
        // past `live + 1` they are all zero.
        let hi = (live + 2).min(len);
        for i in (1..hi).rev() {
            let prev = a.get(i - 1).copied().unwrap_or(0);
            if let Some(x) = a.get_mut(i) {
                *x = x.wrapping_sub(prev);
            }
        }
        let mut b = std::mem::take(&mut self.b2);
        b.clear();
        b.resize(len, 0);
        for i in 1..hi {
            let d = a.get(i).copied().unwrap_or(0);
            if let Some(x) = b.get_mut(i) {
                *x = d.wrapping_mul(i as u64 - 1);
            }
        }
        self.b1 = bit_build_prefix(a, hi);
        self.b2 = bit_build_prefix(b, hi);
    }
}

/// The linear Fenwick build of `t`, whose entries at or past `hi` are zero: the
/// dense part is built in place, then only the O(log n) chains leaving it.
fn bit_build_prefix(mut t: Vec<u64>, hi: usize) -> Vec<u64> {
    let n = t.len();
    let mut tail = std::collections::BTreeSet::new();
    for i in 1..hi.min(n) {
        let j = i + (i & i.wrapping_neg());
        if j < n {
            let x = t.get(i).copied().unwrap_or(0);
            if let Some(c) = t.get_mut(j) {
                *c = c.wrapping_add(x);
            }
            if j >= hi {
                tail.insert(j);
            }
        }
    }
    while let Some(j) = tail.pop_first() {
        let k = j + (j & j.wrapping_neg());
        if k < n {
            let x = t.get(j).copied().unwrap_or(0);
            if let Some(c) = t.get_mut(k) {
                *c = c.wrapping_add(x);
            }
            tail.insert(k);
        }
    }
    t
}

/// The Fenwick LRU stack: keys with weights, ordered by last touch.
#[derive(Clone, Debug)]
pub(crate) struct Stack {
    bit: RangeBit,
    cap: usize,
    next: usize,
    total: u64,
    slot: KeyMap<u32>,
    /// Per-key weights, when they vary (buffer granularity); else `uniform`.
    weight: Option<KeyMap<u64>>,
    uniform: u64,
    /// Scratch for compaction, kept to avoid reallocating.
    rank: Vec<u32>,
}

impl Stack {
    /// An empty stack. `key_limit` bounds the dense key range; `per_key_weights`
    /// is needed when weights differ between keys.
    pub(crate) fn new(key_limit: u64, per_key_weights: bool, uniform: u64) -> Stack {
        let cap = 1024;
        Stack {
            bit: RangeBit::with_cap(cap),
            cap,
            next: 1,
            total: 0,
            slot: KeyMap::new(key_limit),
            weight: per_key_weights.then(|| KeyMap::new(key_limit)),
            uniform,
            rank: Vec::new(),
        }
    }

    /// Total weight on the stack.
    #[inline]
    pub(crate) fn total(&self) -> u64 {
        self.total
    }

    /// The next slot to be handed out (slots at or above it are this phase's).
    #[inline]
    pub(crate) fn next_slot(&self) -> usize {
        self.next
    }

    #[inline]
    pub(crate) fn slot_of(&self, k: u64) -> usize {
        self.slot.get(k) as usize
    }

    /// The stored weight of a key on the stack.
    #[inline]
    pub(crate) fn weight_of(&self, k: u64) -> u64 {
        self.weight.as_ref().map_or(self.uniform, |w| w.get(k))
    }

    /// Inclusive depth of the key at slot `s`: the weight at or after it.
    #[inline]
    pub(crate) fn depth_slot(&self, s: usize) -> u64 {
        self.total.wrapping_sub(self.bit.prefix(s - 1))
    }

    /// Inclusive depth of a key, or `None` if it is not on the stack.
    #[inline]
    pub(crate) fn depth(&self, k: u64) -> Option<u64> {
        let s = self.slot_of(k);
        (s != 0).then(|| self.depth_slot(s))
    }

    /// The first slot if keys `k0 .. k0 + n` hold consecutive slots in ascending
    /// order with one uniform weight (an intact block), else `None`.
    #[inline]
    pub(crate) fn block(&self, k0: u64, n: u64) -> Option<usize> {
        let s0 = self.slot.get(k0);
        if s0 == 0 {
            return None;
        }
        if n == 1 {
            return Some(s0 as usize);
        }
        if self.weight.is_some() {
            return None;
        }
        let ok = match self.slot.slice(k0, n) {
            Some(sl) => sl.iter().zip(s0..).all(|(&s, want)| s == want),
            None => (0..n).all(|i| u64::from(self.slot.get(k0 + i)) == u64::from(s0) + i),
        };
        ok.then_some(s0 as usize)
    }

    /// Whether none of keys `k0 .. k0 + n` is on the stack.
    #[inline]
    pub(crate) fn absent(&self, k0: u64, n: u64) -> bool {
        match self.slot.slice(k0, n) {
            Some(sl) => sl.iter().all(|&s| s == 0),
            None => (0..n).all(|i| self.slot.get(k0.wrapping_add(i)) == 0),
        }
    }

    /// Makes room for `n` more slots, compacting if needed.
    pub(crate) fn ensure_room(&mut self, n: u64) {
        if (self.next as u64).saturating_add(n) > self.cap as u64 + 1 {
            self.compact(n);
        }
    }

    /// Renumbers live slots 1..M in order and rebuilds the tree in O(M + keys),
    /// reusing every allocation.
    fn compact(&mut self, extra: u64) {
        let mut rank = std::mem::take(&mut self.rank);
        rank.clear();
        rank.resize(self.next + 1, 0);
        self.slot.for_each_mut(|_, s| {
            if let Some(r) = rank.get_mut(*s as usize) {
                *r = 1;
            }
        });
        let mut m = 0u32;
        for r in rank.iter_mut() {
            m += *r;
            *r = m;
        }
        let live = m as usize;
        // Four times the live slots: a compaction costs O(cap), and leaves room
        // for 3·M pushes before the next one. At least the dense key range, so
        // compaction stays amortized O(1) when most keys are dead (bytedmd_v2).
        let want = (4 * (live as u64 + extra)).max(self.slot.dense_len() as u64).max(1024);
        let cap = usize::try_from(want.min(u64::from(u32::MAX) - 2)).unwrap_or(u32::MAX as usize - 2);
        let weight = &self.weight;
        let uniform = self.uniform;
        let slot = &mut self.slot;
        self.bit.rebuild(cap, live, |points| {
            slot.for_each_mut(|k, s| {
                let ns = rank.get(*s as usize).copied().unwrap_or(0);
                *s = ns;
                if let Some(p) = points.get_mut(ns as usize) {
                    *p = weight.as_ref().map_or(uniform, |w| w.get(k));
                }
            });
        });
        self.rank = rank;
        self.cap = cap;
        self.next = live + 1;
    }

    /// Pushes keys `k0 .. k0 + n` (absent) on top, ascending (last on top), each of weight `w`.
    pub(crate) fn push_block(&mut self, k0: u64, n: u64, w: u64) {
        if n == 0 {
            return;
        }
        self.ensure_room(n);
        let s = self.next;
        let Ok(nu) = usize::try_from(n) else { return };
        if s + nu > self.cap + 1 {
            // Only reachable past u32 slots: refuse rather than corrupt.
            return;
        }
        self.bit.range_add(s, s + nu - 1, w);
        self.total = self.total.wrapping_add(n.wrapping_mul(w));
        match self.slot.slice_mut(k0, n) {
            Some(sl) => {
                for (x, v) in sl.iter_mut().zip(s as u32..) {
                    *x = v;
                }
            }
            None => {
                for i in 0..n {
                    self.slot.set(k0 + i, (s as u64 + i) as u32);
                }
            }
        }
        if let Some(wm) = self.weight.as_mut() {
            for i in 0..n {
                wm.set(k0 + i, w);
            }
        }
        self.next += nu;
    }

    /// Removes the intact block of keys `k0 .. k0 + n` starting at slot `s0`.
    pub(crate) fn remove_block(&mut self, s0: usize, k0: u64, n: u64) {
        let w = if n == 1 { self.weight_of(k0) } else { self.uniform };
        let Ok(nu) = usize::try_from(n) else { return };
        self.bit.range_add(s0, s0 + nu - 1, w.wrapping_neg());
        self.total = self.total.wrapping_sub(n.wrapping_mul(w));
        match self.slot.slice_mut(k0, n) {
            Some(sl) => sl.fill(0),
            None => {
                for i in 0..n {
                    self.slot.set(k0 + i, 0);
                }
            }
        }
        if let Some(wm) = self.weight.as_mut() {
            for i in 0..n {
                wm.set(k0 + i, 0);
            }
        }
    }

    /// Removes one key if present.
    pub(crate) fn remove(&mut self, k: u64) {
        let s = self.slot_of(k);
        if s != 0 {
            self.remove_block(s, k, 1);
        }
    }

    /// Moves (or pushes) one key to the top with weight `w`.
    pub(crate) fn touch(&mut self, k: u64, w: u64) {
        self.remove(k);
        self.push_block(k, 1, w);
    }

    /// Moves keys `k0 .. k0 + n` to the top in ascending order, each weight `w`.
    pub(crate) fn touch_range(&mut self, k0: u64, n: u64, w: u64) {
        if n == 0 {
            return;
        }
        if let Some(s0) = self.block(k0, n) {
            self.remove_block(s0, k0, n);
            self.push_block(k0, n, w);
        } else if self.absent(k0, n) {
            self.push_block(k0, n, w);
        } else {
            for i in 0..n {
                self.touch(k0 + i, w);
            }
        }
    }

    /// The uniform weight (element keys).
    pub(crate) fn uniform(&self) -> u64 {
        self.uniform
    }

    /// Moves keys `k0 .. k0 + n` to the top, skipping those already moved in this
    /// phase (slot at or above `mark`, the first slot of the phase). The caller
    /// reserved room with `ensure_room`, so no compaction renumbers slots.
    pub(crate) fn bump_range(&mut self, k0: u64, n: u64, w: u64, mark: usize) {
        if n == 0 {
            return;
        }
        match self.block(k0, n) {
            Some(s0) if s0 >= mark => {}
            Some(s0) if s0 + (n as usize) <= mark => {
                self.remove_block(s0, k0, n);
                self.push_block(k0, n, w);
            }
            _ if self.absent(k0, n) => self.push_block(k0, n, w),
            _ => {
                for i in 0..n {
                    let s = self.slot_of(k0 + i);
                    if s == 0 || s < mark {
                        self.touch(k0 + i, w);
                    }
                }
            }
        }
    }

    /// Removes keys `k0 .. k0 + n` (those present).
    pub(crate) fn remove_range(&mut self, k0: u64, n: u64) {
        if n == 0 {
            return;
        }
        if let Some(s0) = self.block(k0, n) {
            self.remove_block(s0, k0, n);
        } else {
            for i in 0..n {
                self.remove(k0 + i);
            }
        }
    }
}

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

#[derive(Clone, Debug, Default)]
struct LruAcc {
    reads: u64,
    writes: u64,
    accesses: u64,
    cold: u64,
    sum_d: u128,
}

/// Per-buffer row of an `lru_stack` report.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct LruBufRow {
    /// Buffer name.
    pub name: String,
    /// Element count from the header.
    pub size: u64,
    /// Counted read events.
    pub reads: u64,
    /// Counted write events.
    pub writes: u64,
    /// Priced-or-cold units.
    pub accesses: u64,
    /// Cold units.
    pub cold: u64,
    /// Σ d over units with a distance.
    pub sum_d: u128,
}

/// Per-op row of an `lru_stack` report.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct LruOpRow {
    /// Stable op name, or `(start)` for step-start writes.
    pub name: String,
    /// Position in the op table (`null` for the start row).
    pub index: Option<usize>,
    /// Source line, when known.
    pub line: Option<u32>,
    /// Priced-or-cold units.
    pub accesses: u64,
    /// Cold units.
    pub cold: u64,
    /// Σ d over units with a distance.
    pub sum_d: u128,
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
    pub buffers: Vec<LruBufRow>,
    /// Rows in op-table order (ops with no events omitted), start row last.
    pub ops: Vec<LruOpRow>,
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
                    LruBufRow {
                        name: buf_name(h, b),
                        size: buf_size(h, b),
                        reads: a.reads,
                        writes: a.writes,
                        accesses: a.accesses,
                        cold: a.cold,
                        sum_d: a.sum_d,
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
                    LruOpRow {
                        name,
                        index,
                        line,
                        accesses: a.accesses,
                        cold: a.cold,
                        sum_d: a.sum_d,
                    }
                })
                .collect(),
        }
    }
}

/// `Tracer` for an analyzer built on the shared pricing engine: it keeps the
/// header, and forwards every event to `engine` with its state `st`.
macro_rules! engine_tracer {
    ($ty:ty) => {
        impl Tracer for $ty {
            fn begin(&mut self, h: &TraceHeader) {
                self.header = h.clone();
                self.engine.begin(h);
                self.st.attr.begin(h);
            }

            fn access(&mut self, ev: &Event) {
                self.engine.access(ev, &mut self.st);
            }

            fn end(&mut self) {
                self.engine.end(&mut self.st);
            }
        }
    };
}
pub(crate) use engine_tracer;

engine_tracer!(LruStack);
