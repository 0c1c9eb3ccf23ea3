//! The reorder pass: search the legal schedules of a step for the cheapest one.
//!
//! Legal schedules are the topological orders of the hazard graph. For the clock
//! metrics the search is an exact branch and bound over `cost::ClockModel`:
//! - the first incumbent is the better of the input order and a list schedule
//!   (Kahn's algorithm with a `BinaryHeap`: the op made ready most recently goes
//!   first, so values are consumed soon after they are produced; ties go to the
//!   earlier original position);
//! - children are tried cheapest-first by the cost of their reads;
//! - a node is cut when its partial cost plus `ClockModel::lower_bound` cannot
//!   beat the incumbent, or when the same set of ops was reached before with an
//!   accounted cost no higher (exact: the rest of the cost depends on the prefix
//!   only through its set, see `ClockState::accounted`).
//!
//! The budget counts search nodes, never time, so results do not depend on the
//! machine. When it runs out, a beam search continues from the incumbent's
//! neighbourhood and the better schedule wins; the stop reason says which.
//! Objectives without an incremental model go through `beam_generic`, which only
//! uses `CostFunction` on prefixes and never claims optimality.
//!
//! Large programs are bounded by work, not time: a search node costs
//! `ClockModel::node_work` (its lower bound walks every segment and op), so the
//! node budget is cut to `SEARCH_WORK / node_work`, the beam's width to what
//! `BEAM_WORK` pays for over all `n` layers, and the memo table to a quarter of
//! the memory budget. All three depend only on the program and the limits, so
//! the same input gives the same schedule on any machine; a cut reports `budget`.

use super::StopReason;
use super::cost::{ClockModel, ClockState, CostFunction, Undo};
use super::depgraph::DepGraph;
use crate::ir::{OpId, effects};
use crate::valid::Validated;
use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};

/// Search limits.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Branch-and-bound nodes before giving up the proof.
    pub budget: u64,
    /// Beam width of the fallback search.
    pub beam_width: usize,
    /// The memory budget in bytes (`--max-memory`); the memo table takes at most a quarter.
    pub memory: u64,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            budget: 1_000_000,
            beam_width: 64,
            memory: crate::valid::memory::DEFAULT_MAX_MEMORY,
        }
    }
}

/// Work units (about one step of a loop over ops or segments) the branch and
/// bound may spend: a few seconds. A node costs `ClockModel::node_work` units.
pub const SEARCH_WORK: u64 = 2_000_000_000;

/// Work units the clock-model beam may spend over all its layers.
pub const BEAM_WORK: u64 = 2_000_000_000;

/// Work units the generic beam may spend: each child is scored by a full
/// analyzer run over its prefix, so a unit here is one traced event.
pub const GENERIC_WORK: u64 = 200_000_000;

/// The limits actually in force for a model: the node budget and beam width cut
/// to the work bounds, the memo table's capacity, and whether a cut happened.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Bounded {
    /// Nodes the branch and bound may expand.
    pub budget: u64,
    /// Beam width (0: no beam).
    pub beam_width: usize,
    /// Most memo entries.
    pub memo_cap: usize,
    /// Whether the node budget or the beam width was cut below the request.
    pub cut: bool,
}

impl Limits {
    /// The bounds in force for `model` (deterministic: they depend on the program
    /// and these limits only).
    pub fn bounded(&self, model: &ClockModel) -> Bounded {
        let n = model.len() as u64;
        let unit = model.node_work().max(1);
        let budget = self.budget.min(SEARCH_WORK / unit);
        let layer = n.saturating_mul(unit).saturating_mul(2).max(1);
        let width = (self.beam_width as u64).min(BEAM_WORK / layer) as usize;
        let entry = 8 * n.div_ceil(64).max(1) + 64;
        let memo_cap = usize::try_from(self.memory / 4 / entry).unwrap_or(usize::MAX);
        Bounded {
            budget,
            beam_width: width,
            memo_cap,
            cut: budget < self.budget || width < self.beam_width,
        }
    }
}

/// The outcome of a search.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Found {
    /// The best schedule found.
    pub order: Vec<OpId>,
    /// Its cost in the model (Σ w·d).
    pub cost: i128,
    /// How the search stopped.
    pub stop: StopReason,
    /// Branch-and-bound nodes expanded.
    pub nodes: u64,
    /// Beam states expanded.
    pub beam_nodes: u64,
}

/// Predecessor lists of the model's ops as local indices.
fn local_preds(model: &ClockModel, g: &DepGraph) -> Vec<Vec<usize>> {
    let ops = model.ops();
    let max = ops.iter().map(|o| o.idx() + 1).max().unwrap_or(0);
    let mut local = vec![usize::MAX; max];
    for (i, o) in ops.iter().enumerate() {
        local[o.idx()] = i;
    }
    ops.iter()
        .map(|o| {
            g.preds(*o)
                .into_iter()
                .filter_map(|p| local.get(p.idx()).copied().filter(|l| *l != usize::MAX))
                .collect()
        })
        .collect()
}

fn succs_of(preds: &[Vec<usize>]) -> Vec<Vec<usize>> {
    let mut s = vec![Vec::new(); preds.len()];
    for (o, ps) in preds.iter().enumerate() {
        for &p in ps {
            s[p].push(o);
        }
    }
    s
}

/// The list schedule: Kahn's algorithm, most recently enabled op first, ties to
/// the earlier original position. Local indices.
pub fn list_schedule(preds: &[Vec<usize>]) -> Vec<usize> {
    let n = preds.len();
    let succs = succs_of(preds);
    let mut left: Vec<usize> = preds.iter().map(Vec::len).collect();
    let mut heap: BinaryHeap<(usize, Reverse<usize>)> = BinaryHeap::new();
    for (o, l) in left.iter().enumerate() {
        if *l == 0 {
            heap.push((0, Reverse(o)));
        }
    }
    let mut order = Vec::with_capacity(n);
    while let Some((_, Reverse(o))) = heap.pop() {
        order.push(o);
        for &s in &succs[o] {
            left[s] -= 1;
            if left[s] == 0 {
                heap.push((order.len(), Reverse(s)));
            }
        }
    }
    order
}

struct Search<'m> {
    model: &'m ClockModel,
    preds: Vec<Vec<usize>>,
    succs: Vec<Vec<usize>>,
    left: Vec<usize>,
    scheduled: Vec<bool>,
    key: Vec<u64>,
    path: Vec<usize>,
    best: i128,
    best_order: Vec<usize>,
    memo: HashMap<Vec<u64>, i128>,
    memo_cap: usize,
    nodes: u64,
    budget: u64,
    exhausted: bool,
}

/// One level of the depth-first search: the ready ops in the order they are
/// tried, the next one to try, and the undo of the child being explored.
struct Frame {
    ready: Vec<usize>,
    next: usize,
    undo: Option<Undo>,
}

impl Search<'_> {
    /// Visits the node of the current prefix: records a complete schedule, or
    /// counts the node and returns the ready ops to try (cheapest first), or
    /// `None` when the node is cut (bound, memo, or the budget ran out).
    fn enter(&mut self, st: &ClockState) -> Option<Vec<usize>> {
        let n = self.model.len();
        if self.path.len() == n {
            if st.past < self.best {
                self.best = st.past;
                self.best_order = self.path.clone();
            }
            return None;
        }
        if self.nodes >= self.budget {
            self.exhausted = true;
            return None;
        }
        self.nodes += 1;
        if st.past + self.model.lower_bound(st, &self.scheduled) >= self.best {
            return None;
        }
        let acc = st.accounted();
        let room = self.memo.len() < self.memo_cap;
        match self.memo.get_mut(&self.key) {
            Some(seen) if *seen <= acc => return None,
            Some(seen) => *seen = acc,
            // A full table stops remembering; the search stays exact, it only prunes less.
            None if room => {
                self.memo.insert(self.key.clone(), acc);
            }
            None => {}
        }
        let mut ready: Vec<(i128, usize)> = (0..n)
            .filter(|&o| !self.scheduled[o] && self.left[o] == 0)
            .map(|o| (self.model.read_cost(st, o), o))
            .collect();
        ready.sort();
        Some(ready.into_iter().map(|(_, o)| o).collect())
    }

    /// Depth-first branch and bound with an explicit stack (the depth is the op
    /// count, which input can make large).
    fn run(&mut self, st: &mut ClockState) {
        let mut stack: Vec<Frame> = Vec::new();
        if let Some(ready) = self.enter(st) {
            stack.push(Frame {
                ready,
                next: 0,
                undo: None,
            });
        }
        while let Some(top) = stack.last_mut() {
            if let Some(undo) = top.undo.take() {
                let o = top.ready[top.next - 1];
                self.mark(o, false);
                self.model.undo(st, undo);
                if self.exhausted {
                    return;
                }
            }
            let Some(&o) = top.ready.get(top.next) else {
                stack.pop();
                continue;
            };
            top.next += 1;
            top.undo = Some(self.model.apply(st, o));
            self.mark(o, true);
            if let Some(ready) = self.enter(st) {
                stack.push(Frame {
                    ready,
                    next: 0,
                    undo: None,
                });
            }
        }
    }

    fn mark(&mut self, o: usize, on: bool) {
        self.scheduled[o] = on;
        self.key[o / 64] ^= 1u64 << (o % 64);
        for &s in &self.succs[o] {
            if on {
                self.left[s] -= 1;
            } else {
                self.left[s] += 1;
            }
        }
        if on {
            self.path.push(o);
        } else {
            self.path.pop();
        }
    }
}

/// Searches the legal schedules of `v` for the one of least cost under `model`
/// (built from `v`), with the hazard graph `g` of `v`.
pub fn search(model: &ClockModel, g: &DepGraph, limits: &Limits) -> Found {
    let n = model.len();
    let bounds = limits.bounded(model);
    let preds = local_preds(model, g);
    let succs = succs_of(&preds);
    let identity: Vec<usize> = (0..n).collect();
    let greedy = list_schedule(&preds);
    let (mut best_order, mut best) = (identity.clone(), model.total(&identity));
    if greedy.len() == n {
        let c = model.total(&greedy);
        if c < best {
            best = c;
            best_order = greedy;
        }
    }
    let mut s = Search {
        model,
        left: preds.iter().map(Vec::len).collect(),
        preds,
        succs,
        scheduled: vec![false; n],
        key: vec![0; n.div_ceil(64).max(1)],
        path: Vec::with_capacity(n),
        best,
        best_order,
        memo: HashMap::new(),
        memo_cap: bounds.memo_cap,
        nodes: 0,
        budget: bounds.budget,
        exhausted: false,
    };
    let stop = if limits.budget == 0 {
        if bounds.cut {
            StopReason::Budget
        } else {
            StopReason::Heuristic
        }
    } else {
        let mut st = model.start();
        s.run(&mut st);
        if s.exhausted {
            StopReason::Budget
        } else {
            StopReason::Optimal
        }
    };
    drop(std::mem::take(&mut s.memo));
    let mut beam_nodes = 0;
    if stop != StopReason::Optimal && bounds.beam_width > 0 {
        let (order, cost, expanded) = beam(model, &s.preds, &s.succs, bounds.beam_width);
        beam_nodes = expanded;
        if cost < s.best {
            s.best = cost;
            s.best_order = order;
        }
    }
    Found {
        order: s.best_order.iter().map(|&o| model.ops()[o]).collect(),
        cost: s.best,
        stop,
        nodes: s.nodes,
        beam_nodes,
    }
}

#[derive(Clone)]
struct BeamState {
    st: ClockState,
    order: Vec<usize>,
    scheduled: Vec<bool>,
    key: Vec<u64>,
    /// The ready ops, ascending.
    ready: Vec<usize>,
}

impl BeamState {
    /// Schedules ready op `o`: its successors whose predecessors are all
    /// scheduled join the ready list.
    fn push(&mut self, model: &ClockModel, preds: &[Vec<usize>], succs: &[Vec<usize>], o: usize) {
        model.apply(&mut self.st, o);
        self.scheduled[o] = true;
        self.key[o / 64] |= 1u64 << (o % 64);
        self.order.push(o);
        self.ready.retain(|r| *r != o);
        for &s in &succs[o] {
            if !self.scheduled[s] && !self.ready.contains(&s) && preds[s].iter().all(|p| self.scheduled[*p]) {
                self.ready.push(s);
            }
        }
        self.ready.sort_unstable();
    }
}

/// A child of a beam state: (rank, accounted cost, parent index, op).
type Child = (i128, i128, usize, usize);

/// Beam search over prefixes ranked by partial cost plus the lower bound; states
/// reaching the same set keep the one with the lower accounted cost. Children
/// are ranked by applying and undoing the op on the parent; only the survivors
/// are copied.
fn beam(model: &ClockModel, preds: &[Vec<usize>], succs: &[Vec<usize>], width: usize) -> (Vec<usize>, i128, u64) {
    let n = model.len();
    let width = width.max(1);
    let start = BeamState {
        st: model.start(),
        order: Vec::new(),
        scheduled: vec![false; n],
        key: vec![0; n.div_ceil(64).max(1)],
        ready: (0..n).filter(|o| preds[*o].is_empty()).collect(),
    };
    let mut layer = vec![start];
    let mut expanded = 0u64;
    for _ in 0..n {
        let mut found: Vec<(Vec<u64>, Child)> = Vec::new();
        for (si, s) in layer.iter_mut().enumerate() {
            for o in s.ready.clone() {
                expanded += 1;
                let undo = model.apply(&mut s.st, o);
                s.scheduled[o] = true;
                let rank = s.st.past + model.lower_bound(&s.st, &s.scheduled);
                let acc = s.st.accounted();
                s.scheduled[o] = false;
                model.undo(&mut s.st, undo);
                let mut key = s.key.clone();
                key[o / 64] |= 1u64 << (o % 64);
                found.push((key, (rank, acc, si, o)));
            }
        }
        // Same set: keep the lower (accounted cost, order). Every parent's order
        // has the same length, so a child's order compares as (parent's order, op).
        let mut next: HashMap<Vec<u64>, Child> = HashMap::new();
        for (key, child) in found {
            match next.get_mut(&key) {
                Some(old) if (old.1, &layer[old.2].order, old.3) <= (child.1, &layer[child.2].order, child.3) => {}
                Some(old) => *old = child,
                None => {
                    next.insert(key, child);
                }
            }
        }
        let mut children: Vec<Child> = next.into_values().collect();
        children.sort_by(|a, b| (a.0, a.1, &layer[a.2].order, a.3).cmp(&(b.0, b.1, &layer[b.2].order, b.3)));
        children.truncate(width);
        layer = children
            .into_iter()
            .map(|(_, _, si, o)| {
                let mut c = layer[si].clone();
                c.push(model, preds, succs, o);
                c
            })
            .collect();
        if layer.is_empty() {
            break;
        }
    }
    match layer
        .into_iter()
        .min_by(|a, b| (a.st.past, &a.order).cmp(&(b.st.past, &b.order)))
    {
        Some(s) if s.order.len() == n => (s.order, s.st.past, expanded),
        _ => {
            let order: Vec<usize> = (0..n).collect();
            let c = model.total(&order);
            (order, c, expanded)
        }
    }
}

/// Beam search for any `CostFunction`: prefixes are ranked by the cost of the
/// prefix's trace. Never claims optimality. Each child is scored by a full
/// analyzer run over its prefix, so the width is cut to what `GENERIC_WORK`
/// pays for (`n` layers of about `events` each); returns the schedule and the
/// width used (at width 0 the input order comes back unsearched).
pub fn beam_generic<C: CostFunction>(v: &Validated, g: &DepGraph, cost: &mut C, width: usize) -> (Vec<OpId>, usize) {
    let ops = g.ops().to_vec();
    let n = ops.len();
    let events: u64 = ops.iter().map(|o| effects(&v.program().op(*o).kind).len() as u64).sum();
    let layer_work = (n as u64).saturating_mul(events.max(1)).max(1);
    let width_eff = (width as u64).min(GENERIC_WORK / layer_work) as usize;
    if width_eff == 0 {
        return (ops, 0);
    }
    let mut local = vec![usize::MAX; ops.iter().map(|o| o.idx() + 1).max().unwrap_or(0)];
    for (i, o) in ops.iter().enumerate() {
        local[o.idx()] = i;
    }
    let preds: Vec<Vec<usize>> = ops
        .iter()
        .map(|o| {
            g.preds(*o)
                .into_iter()
                .filter_map(|p| local.get(p.idx()).copied().filter(|l| *l != usize::MAX))
                .collect()
        })
        .collect();
    let mut layer: Vec<Vec<usize>> = vec![Vec::new()];
    for _ in 0..n {
        let mut next: Vec<(C::Cost, Vec<usize>)> = Vec::new();
        for prefix in &layer {
            let mut inside = vec![false; n];
            for &o in prefix {
                inside[o] = true;
            }
            for (o, ps) in preds.iter().enumerate() {
                if inside[o] || ps.iter().any(|p| !inside[*p]) {
                    continue;
                }
                let mut c = prefix.clone();
                c.push(o);
                let as_ops: Vec<OpId> = c.iter().map(|&i| ops[i]).collect();
                next.push((cost.cost(v, &as_ops), c));
            }
        }
        next.sort_by(|a, b| {
            a.0.partial_cmp(&b.0)
                .unwrap_or(std::cmp::Ordering::Equal)
                .then_with(|| a.1.cmp(&b.1))
        });
        next.truncate(width_eff);
        if next.is_empty() {
            break;
        }
        layer = next.into_iter().map(|(_, c)| c).collect();
    }
    match layer.into_iter().next() {
        Some(best) if best.len() == n => (best.into_iter().map(|i| ops[i]).collect(), width_eff),
        _ => (ops, width_eff),
    }
}

/// Reorders `v` under a clock model: the new schedule (op ids of `v`) and the search result.
pub fn reorder(v: &Validated, model: &ClockModel, limits: &Limits) -> Found {
    let g = DepGraph::build(v.program());
    search(model, &g, limits)
}
