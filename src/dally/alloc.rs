//! Values, lifetimes and address allocation for a fixed instruction order.
//!
//! A program is first renamed into values (`Ssa`): every input and every
//! instruction result is its own value, so hazards are data dependences only
//! and any topological order of the instructions computes the same outputs.
//! For an order, each value lives on the half-open interval `[def, last)` of
//! time (inputs from 0; instruction at position `p` at time `p + 1`; outputs
//! until the exit at `T + 1`): two values may share a cell iff their intervals
//! do not overlap (a read at `t` happens before the write at `t`).
//!
//! Allocation. Addresses of one tier are interchangeable (tier `k` holds the
//! `2k − 1` addresses that cost `k`), and an interval graph whose clique size
//! is at most `c` can be coloured with `c` colours. So a tier assignment is
//! feasible iff, at every time, tier `k` holds at most `2k − 1` live values;
//! the cells are then dealt within each tier by a sweep. The heuristic places
//! values one by one in a priority order into the cheapest tier with room
//! (a segment tree per tier keeps the live counts), over several priority
//! orders, keeping the cheapest. The lower bound spreads each value's weight
//! evenly over its lifetime and, at every time, prices the live values'
//! densities against the cheapest addresses (sorted densities × 1, 2, 2, 2, 3 …).

use super::{Instr, Op, Program, cost};

/// A renamed instruction: operands are value ids.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SsaInstr {
    /// The op.
    pub op: Op,
    /// `set` literal.
    pub imm: i64,
    /// Value ids read (first `op.arity()`).
    pub src: [u32; 3],
}

/// A program as values: ids `0..inputs` are the inputs, `inputs + i` is the
/// result of instruction `i`.
#[derive(Clone, Debug, PartialEq)]
pub struct Ssa {
    /// Number of inputs.
    pub inputs: usize,
    /// Instructions.
    pub instrs: Vec<SsaInstr>,
    /// Output value ids.
    pub outputs: Vec<u32>,
}

impl Ssa {
    /// Renames a parsed program (whose reads the parser has checked).
    pub fn from_program(p: &Program) -> Ssa {
        let mut cur: super::AddrMap<u32> = super::AddrMap::default();
        for (k, &a) in p.inputs.iter().enumerate() {
            cur.insert(a, k as u32);
        }
        let n = p.inputs.len() as u32;
        let mut instrs = Vec::with_capacity(p.instrs.len());
        for (t, i) in p.instrs.iter().enumerate() {
            let mut src = [0u32; 3];
            for (k, a) in i.reads().iter().enumerate() {
                src[k] = cur.get(a).copied().unwrap_or(0);
            }
            instrs.push(SsaInstr {
                op: i.op,
                imm: i.imm,
                src,
            });
            cur.insert(i.dst, n + t as u32);
        }
        let outputs = p.outputs.iter().map(|a| cur.get(a).copied().unwrap_or(0)).collect();
        Ssa {
            inputs: p.inputs.len(),
            instrs,
            outputs,
        }
    }

    /// Total values.
    pub fn values(&self) -> usize {
        self.inputs + self.instrs.len()
    }

    /// Operand value ids of instruction `i`.
    pub fn reads(&self, i: usize) -> &[u32] {
        let x = &self.instrs[i];
        &x.src[..x.op.arity()]
    }

    /// Drops instructions whose values are never read and are not outputs
    /// (writes are free, so this changes neither outputs nor cost).
    pub fn without_dead_code(&self) -> Ssa {
        let nv = self.values();
        let mut live = vec![false; nv];
        for &o in &self.outputs {
            live[o as usize] = true;
        }
        for i in (0..self.instrs.len()).rev() {
            if live[self.inputs + i] {
                for &s in self.reads(i) {
                    live[s as usize] = true;
                }
            }
        }
        let mut new_id: Vec<u32> = (0..self.inputs as u32).collect();
        new_id.resize(nv, u32::MAX);
        let mut instrs = Vec::new();
        for (i, x) in self.instrs.iter().enumerate() {
            if live[self.inputs + i] {
                let mut y = *x;
                for s in y.src.iter_mut().take(x.op.arity()) {
                    *s = new_id[*s as usize];
                }
                new_id[self.inputs + i] = (self.inputs + instrs.len()) as u32;
                instrs.push(y);
            }
        }
        Ssa {
            inputs: self.inputs,
            instrs,
            outputs: self.outputs.iter().map(|&o| new_id[o as usize]).collect(),
        }
    }
}

/// Lifetimes and weights of the values for one order.
#[derive(Clone, Debug)]
pub struct Lifetimes {
    /// `[start, end)` per value.
    pub span: Vec<(u32, u32)>,
    /// Reads per value, exit reads included.
    pub weight: Vec<u64>,
}

/// Lifetimes for the instructions in `order` (a permutation of instruction indices).
pub fn lifetimes(s: &Ssa, order: &[u32]) -> Lifetimes {
    let nv = s.values();
    let exit = order.len() as u32 + 1;
    let mut span = vec![(0u32, 0u32); nv];
    let mut weight = vec![0u64; nv];
    for (p, &i) in order.iter().enumerate() {
        let t = p as u32 + 1;
        span[s.inputs + i as usize].0 = t;
        span[s.inputs + i as usize].1 = t;
        for &v in s.reads(i as usize) {
            span[v as usize].1 = t;
            weight[v as usize] += 1;
        }
    }
    for &o in &s.outputs {
        span[o as usize].1 = exit;
        weight[o as usize] += 1;
    }
    for sp in span.iter_mut().take(s.inputs) {
        // Inputs all hold a distinct cell at the start.
        sp.1 = sp.1.max(1);
    }
    Lifetimes { span, weight }
}

/// Max-segment tree with range add (live counts over time of one tier).
struct Counts {
    n: usize,
    mx: Vec<u32>,
    add: Vec<u32>,
}

impl Counts {
    fn new(n: usize) -> Counts {
        let size = 4 * n.max(1);
        Counts {
            n: n.max(1),
            mx: vec![0; size],
            add: vec![0; size],
        }
    }
    fn update(&mut self, node: usize, lo: usize, hi: usize, (a, b): (usize, usize)) {
        if b <= lo || hi <= a {
            return;
        }
        if a <= lo && hi <= b {
            self.mx[node] += 1;
            self.add[node] += 1;
            return;
        }
        let mid = usize::midpoint(lo, hi);
        self.update(2 * node, lo, mid, (a, b));
        self.update(2 * node + 1, mid, hi, (a, b));
        self.mx[node] = self.add[node] + self.mx[2 * node].max(self.mx[2 * node + 1]);
    }
    fn query(&self, node: usize, lo: usize, hi: usize, (a, b): (usize, usize)) -> u32 {
        if b <= lo || hi <= a {
            return 0;
        }
        if a <= lo && hi <= b {
            return self.mx[node];
        }
        let mid = usize::midpoint(lo, hi);
        self.add[node]
            + self
                .query(2 * node, lo, mid, (a, b))
                .max(self.query(2 * node + 1, mid, hi, (a, b)))
    }
    fn add_range(&mut self, r: (usize, usize)) {
        self.update(1, 0, self.n, r);
    }
    fn max_over(&self, r: (usize, usize)) -> u32 {
        self.query(1, 0, self.n, r)
    }
}

/// An allocation: one address per value (0 for values that hold no cell).
#[derive(Clone, Debug, PartialEq)]
pub struct Allocation {
    /// Address per value.
    pub addr: Vec<u64>,
    /// Its cost: Σ weight × ⌈√addr⌉.
    pub cost: u64,
}

/// Places values into tiers in the given priority order, then deals cells.
fn place(l: &Lifetimes, prio: &[u32], horizon: usize) -> Allocation {
    let mut tiers: Vec<Counts> = Vec::new();
    let mut tier_of = vec![0u32; l.span.len()];
    for &v in prio {
        let (s, e) = l.span[v as usize];
        if e <= s {
            continue;
        }
        let r = (s as usize, e as usize);
        let mut k = 0;
        loop {
            if k == tiers.len() {
                tiers.push(Counts::new(horizon));
            }
            if tiers[k].max_over(r) < 2 * k as u32 + 1 {
                tiers[k].add_range(r);
                tier_of[v as usize] = k as u32 + 1;
                break;
            }
            k += 1;
        }
    }
    deal(l, &tier_of)
}

/// Deals cells within each tier by a sweep in start order (interval colouring).
fn deal(l: &Lifetimes, tier_of: &[u32]) -> Allocation {
    let mut by_start: Vec<u32> = (0..l.span.len() as u32).filter(|&v| tier_of[v as usize] > 0).collect();
    by_start.sort_by_key(|&v| (l.span[v as usize].0, v));
    let ntiers = tier_of.iter().copied().max().unwrap_or(0) as usize;
    // Per tier: free cells, and busy cells as (end, addr) in a min-heap.
    let mut free: Vec<Vec<u64>> = (1..=ntiers as u64)
        .map(|k| {
            let first = (k - 1) * (k - 1) + 1;
            (first..=k * k).rev().collect()
        })
        .collect();
    let mut busy: Vec<std::collections::BinaryHeap<std::cmp::Reverse<(u32, u64)>>> = vec![Default::default(); ntiers];
    let mut addr = vec![0u64; l.span.len()];
    let mut total = 0;
    for v in by_start {
        let k = tier_of[v as usize] as usize - 1;
        let (s, _) = l.span[v as usize];
        while let Some(std::cmp::Reverse((e, a))) = busy[k].peek().copied() {
            if e > s {
                break;
            }
            busy[k].pop();
            free[k].push(a);
        }
        // The tier's capacity was checked, so a cell is free; fall back to a fresh
        // cell past every tier rather than fail.
        let a = free[k].pop().unwrap_or((ntiers as u64 + 1).pow(2) + u64::from(v));
        busy[k].push(std::cmp::Reverse((l.span[v as usize].1, a)));
        addr[v as usize] = a;
        total += l.weight[v as usize] * cost(a);
    }
    Allocation { addr, cost: total }
}

/// The best of several greedy priority orders.
pub fn allocate(l: &Lifetimes) -> Allocation {
    let horizon = l.span.iter().map(|s| s.1 as usize).max().unwrap_or(0) + 1;
    let n = l.span.len() as u32;
    let len = |v: u32| u64::from(l.span[v as usize].1 - l.span[v as usize].0).max(1);
    let w = |v: u32| l.weight[v as usize];
    let mut best: Option<Allocation> = None;
    // Priority keys: density (weight per time), weight, and a blend.
    for key in 0..3 {
        let mut prio: Vec<u32> = (0..n).collect();
        match key {
            0 => prio.sort_by(|&a, &b| (w(b) * len(a)).cmp(&(w(a) * len(b))).then(a.cmp(&b))),
            1 => prio.sort_by(|&a, &b| w(b).cmp(&w(a)).then(len(a).cmp(&len(b))).then(a.cmp(&b))),
            _ => prio.sort_by(|&a, &b| {
                let ka = w(a) as f64 / (len(a) as f64).sqrt();
                let kb = w(b) as f64 / (len(b) as f64).sqrt();
                kb.total_cmp(&ka).then(a.cmp(&b))
            }),
        }
        let a = place(l, &prio, horizon);
        if best.as_ref().is_none_or(|b| a.cost < b.cost) {
            best = Some(a);
        }
    }
    best.unwrap_or(Allocation {
        addr: vec![0; l.span.len()],
        cost: 0,
    })
}

/// A lower bound on the cost of any allocation for this order (module doc).
pub fn lower_bound(l: &Lifetimes) -> u64 {
    let horizon = l.span.iter().map(|s| s.1 as usize).max().unwrap_or(0) + 1;
    let mut starts: Vec<Vec<u32>> = vec![Vec::new(); horizon + 1];
    for (v, &(s, e)) in l.span.iter().enumerate() {
        if e > s && l.weight[v] > 0 {
            starts[s as usize].push(v as u32);
        }
    }
    let mut live: Vec<u32> = Vec::new();
    let mut dens: Vec<f64> = Vec::new();
    let mut total = 0.0f64;
    for (t, st) in starts.iter().enumerate().take(horizon) {
        live.retain(|&v| l.span[v as usize].1 as usize > t);
        live.extend_from_slice(st);
        dens.clear();
        dens.extend(live.iter().map(|&v| {
            let (s, e) = l.span[v as usize];
            l.weight[v as usize] as f64 / f64::from(e - s)
        }));
        dens.sort_unstable_by(|a, b| b.total_cmp(a));
        total += dens
            .iter()
            .enumerate()
            .map(|(r, d)| d * cost(r as u64 + 1) as f64)
            .sum::<f64>();
    }
    // Rounding up is safe: the true cost is an integer ≥ the real-valued bound;
    // a small margin absorbs float error.
    (total - 1e-6 * total.max(1.0)).ceil().max(0.0) as u64
}

/// Writes the program for an order and an allocation.
pub fn emit(s: &Ssa, order: &[u32], a: &Allocation) -> Program {
    let instrs = order
        .iter()
        .map(|&i| {
            let x = &s.instrs[i as usize];
            let reads: Vec<u64> = s.reads(i as usize).iter().map(|&v| a.addr[v as usize]).collect();
            let mut y = Instr::new(x.op, a.addr[s.inputs + i as usize], &reads);
            y.imm = x.imm;
            y
        })
        .collect();
    Program {
        inputs: a.addr[..s.inputs].to_vec(),
        instrs,
        outputs: s.outputs.iter().map(|&o| a.addr[o as usize]).collect(),
        ..Program::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dally::{parse, score};

    #[test]
    fn reallocation_of_a_tiny_program() {
        // Inputs at 10, 11; one product to 3. Best: inputs at 1 and 2 (both read
        // once), the product reuses 1 (its read of 1 happens before the write):
        // reads 1 + 2, exit 1 → 4.
        let p = parse("10,11\nmul 3,10,11\n3").unwrap();
        let s = Ssa::from_program(&p);
        let order: Vec<u32> = (0..s.instrs.len() as u32).collect();
        let l = lifetimes(&s, &order);
        let a = allocate(&l);
        let q = emit(&s, &order, &a);
        assert_eq!(score(&q).cost, 4);
        assert_eq!(a.cost, 4);
        assert!(lower_bound(&l) <= 4);
    }

    #[test]
    fn dead_code_goes() {
        let p = parse("1,2\nmul 3,1,2\nadd 4,1,2\n3").unwrap();
        let s = Ssa::from_program(&p).without_dead_code();
        assert_eq!(s.instrs.len(), 1);
        assert_eq!(s.outputs, [2]);
    }
}
