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

use super::StopReason;
use super::cost::{ClockModel, ClockState, CostFunction};
use super::depgraph::DepGraph;
use crate::ir::OpId;
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
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            budget: 1_000_000,
            beam_width: 64,
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
    nodes: u64,
    budget: u64,
    exhausted: bool,
}

impl Search<'_> {
    fn dfs(&mut self, st: &mut ClockState) {
        let n = self.model.len();
        if self.path.len() == n {
            if st.past < self.best {
                self.best = st.past;
                self.best_order = self.path.clone();
            }
            return;
        }
        if self.nodes >= self.budget {
            self.exhausted = true;
            return;
        }
        self.nodes += 1;
        if st.past + self.model.lower_bound(st, &self.scheduled) >= self.best {
            return;
        }
        let acc = st.accounted();
        match self.memo.get(&self.key) {
            Some(&seen) if seen <= acc => return,
            _ => {
                self.memo.insert(self.key.clone(), acc);
            }
        }
        let mut ready: Vec<(i128, usize)> = (0..n)
            .filter(|&o| !self.scheduled[o] && self.left[o] == 0)
            .map(|o| (self.model.read_cost(st, o), o))
            .collect();
        ready.sort();
        for (_, o) in ready {
            let undo = self.model.apply(st, o);
            self.mark(o, true);
            self.dfs(st);
            self.mark(o, false);
            self.model.undo(st, undo);
            if self.exhausted {
                return;
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
        nodes: 0,
        budget: limits.budget,
        exhausted: false,
    };
    let stop = if limits.budget == 0 {
        StopReason::Heuristic
    } else {
        let mut st = model.start();
        s.dfs(&mut st);
        if s.exhausted {
            StopReason::Budget
        } else {
            StopReason::Optimal
        }
    };
    let mut beam_nodes = 0;
    if stop != StopReason::Optimal {
        let (order, cost, expanded) = beam(model, &s.preds, limits.beam_width);
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
}

/// Beam search over prefixes ranked by partial cost plus the lower bound; states
/// reaching the same set keep the one with the lower accounted cost.
fn beam(model: &ClockModel, preds: &[Vec<usize>], width: usize) -> (Vec<usize>, i128, u64) {
    let n = model.len();
    let width = width.max(1);
    let start = BeamState {
        st: model.start(),
        order: Vec::new(),
        scheduled: vec![false; n],
        key: vec![0; n.div_ceil(64).max(1)],
    };
    let mut layer = vec![start];
    let mut expanded = 0u64;
    for _ in 0..n {
        let mut next: HashMap<Vec<u64>, (i128, i128, BeamState)> = HashMap::new();
        for s in &layer {
            for (o, ps) in preds.iter().enumerate() {
                if s.scheduled[o] || ps.iter().any(|p| !s.scheduled[*p]) {
                    continue;
                }
                expanded += 1;
                let mut c = s.clone();
                model.apply(&mut c.st, o);
                c.scheduled[o] = true;
                c.key[o / 64] |= 1u64 << (o % 64);
                c.order.push(o);
                let rank = c.st.past + model.lower_bound(&c.st, &c.scheduled);
                let acc = c.st.accounted();
                let better = match next.get(&c.key) {
                    Some((_, a, old)) => (acc, &c.order) < (*a, &old.order),
                    None => true,
                };
                if better {
                    next.insert(c.key.clone(), (rank, acc, c));
                }
            }
        }
        let mut states: Vec<(i128, i128, BeamState)> = next.into_values().collect();
        states.sort_by(|a, b| (a.0, a.1, &a.2.order).cmp(&(b.0, b.1, &b.2.order)));
        states.truncate(width);
        layer = states.into_iter().map(|(_, _, s)| s).collect();
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
/// prefix's trace. Never claims optimality.
pub fn beam_generic<C: CostFunction>(v: &Validated, g: &DepGraph, cost: &mut C, width: usize) -> Vec<OpId> {
    let ops = g.ops().to_vec();
    let n = ops.len();
    let pos = |o: OpId| ops.iter().position(|x| *x == o);
    let preds: Vec<Vec<usize>> = ops
        .iter()
        .map(|o| g.preds(*o).into_iter().filter_map(pos).collect())
        .collect();
    let mut layer: Vec<Vec<usize>> = vec![Vec::new()];
    for _ in 0..n {
        let mut next: Vec<(C::Cost, Vec<usize>)> = Vec::new();
        for prefix in &layer {
            for (o, ps) in preds.iter().enumerate() {
                if prefix.contains(&o) || ps.iter().any(|p| !prefix.contains(p)) {
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
        next.truncate(width.max(1));
        if next.is_empty() {
            break;
        }
        layer = next.into_iter().map(|(_, c)| c).collect();
    }
    match layer.into_iter().next() {
        Some(best) if best.len() == n => best.into_iter().map(|i| ops[i]).collect(),
        _ => ops,
    }
}

/// Reorders `v` under a clock model: the new schedule (op ids of `v`) and the search result.
pub fn reorder(v: &Validated, model: &ClockModel, limits: &Limits) -> Found {
    let g = DepGraph::build(v.program());
    search(model, &g, limits)
}
