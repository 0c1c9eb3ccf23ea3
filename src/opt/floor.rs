//! A provable floor of the clock metrics (`ard_write`, `ard_access`) over every
//! legal order of a program's ops.
//!
//! The ops are fixed; only their order may change, and a legal order is a
//! topological order of the hazard graph (`depgraph`). In every legal order each
//! read sees the same reaching write, and every op that is a successor of that
//! write's op and a predecessor of the reading op runs between them. So each
//! read's distance is at least: the floats from the anchoring event's start to
//! the end of its op (the event itself and the op's later events), plus the
//! floats of every op forced between, plus the floats of the reading op's events
//! before the read. Summing per-read floors bounds the total, since every read's
//! weight (1 or its size) is positive. `ard_access` anchors at the latest access,
//! which may be any access of the same value that can precede the read: the floor
//! takes the smallest candidate. The full argument is in `docs/floor.md`;
//! `tests/floor.rs` checks it against every topological order of small random
//! programs. Invariant: `floor(v) ≤ cost(order)` for every legal order.

use super::depgraph::DepGraph;
use crate::analysis::{Cold, ReuseKind};
use crate::ir::{Mode, effects};
use crate::valid::Validated;

/// Whether the floor's model covers a program: every access is of a whole
/// buffer. The floor (and the clock model the reorder search uses) prices each
/// access at its buffer's size, so a program with sliced operands (range
/// events, `docs/language.md` "Slices") is outside it and gets no floor.
pub fn covers(v: &Validated) -> bool {
    let p = v.program();
    p.order
        .iter()
        .all(|&o| effects(&p.op(o).kind).iter().all(|a| a.slice.is_none()))
}

/// The floor in the units of the clock reports.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Floor {
    /// A lower bound on Σ d over kept reads (`sum_d`).
    pub sum_d: i128,
    /// A lower bound on Σ s·d over kept reads (`sum_sd`).
    pub sum_sd: i128,
}

/// Where a value was written: at step start (clock offset before the first op)
/// or by an op (local index, floats from the write's start to the op's end).
#[derive(Clone, Copy, Debug)]
enum Writer {
    Start { to_first_op: u64 },
    Op { op: usize, tail: u64 },
}

/// One access of a value other than the read being priced: its op and the floats
/// from its start to the end of that op.
#[derive(Clone, Copy, Debug)]
struct Touch {
    op: usize,
    tail: u64,
}

/// A read to price.
#[derive(Clone, Copy, Debug)]
struct ReadEv {
    op: usize,
    /// Floats of the op's events before the read.
    head: u64,
    size: u64,
    seg: Option<usize>,
    /// Offset of an earlier access of the same buffer in the same op, if any.
    prev_in_op: Option<u64>,
}

/// `anc[i][j]`: schedule position j precedes position i in every legal order
/// (a path in the hazard graph).
fn ancestors(p: &crate::ir::Program) -> Vec<Vec<bool>> {
    let n = p.order.len();
    let mut local = vec![usize::MAX; p.ops.len()];
    for (i, o) in p.order.iter().enumerate() {
        local[o.idx()] = i;
    }
    let g = DepGraph::build(p);
    // Edges run forward in the schedule the graph was built from, so one pass in
    // that order closes the ancestor sets.
    let mut anc = vec![vec![false; n]; n];
    for (i, &o) in p.order.iter().enumerate() {
        for q in g.preds(o) {
            let Some(&qi) = local.get(q.idx()) else { continue };
            if qi >= n {
                continue;
            }
            anc[i][qi] = true;
            let row = anc[qi].clone();
            for (dst, src) in anc[i].iter_mut().zip(row) {
                *dst |= src;
            }
        }
    }
    anc
}

/// The floor of `v`'s ops under `ard_write` (`ReuseKind::Write`) or `ard_access`.
pub fn floor(v: &Validated, kind: ReuseKind, cold: Cold) -> Floor {
    let p = v.program();
    let n = p.order.len();
    let anc = ancestors(p);
    let size_of = |b: crate::ir::BufId| v.size(b) as u64;
    let fx: Vec<Vec<(crate::ir::BufId, Mode, u64)>> = p
        .order
        .iter()
        .map(|&o| {
            effects(&p.op(o).kind)
                .into_iter()
                .map(|a| (a.buf, a.mode, size_of(a.buf)))
                .collect()
        })
        .collect();
    let floats: Vec<u64> = fx.iter().map(|l| l.iter().map(|e| e.2).sum()).collect();

    // Step-start writes, in the interpreter's order (params and state, then data).
    let mut writers: Vec<Writer> = Vec::new();
    let mut touches: Vec<Vec<Touch>> = Vec::new();
    let mut cur: Vec<Option<usize>> = vec![None; p.buffers.len()];
    let starts: Vec<crate::ir::BufId> = p.step_start_buffers(true).collect();
    let start_total: u64 = starts.iter().map(|&b| v.size(b) as u64).sum();
    let mut clock = 0u64;
    for &b in &starts {
        cur[b.idx()] = Some(writers.len());
        writers.push(Writer::Start {
            to_first_op: start_total - clock,
        });
        touches.push(Vec::new());
        clock += v.size(b) as u64;
    }

    let mut reads: Vec<ReadEv> = Vec::new();
    for (o, list) in fx.iter().enumerate() {
        let mut off = 0u64;
        let mut seen: Vec<(usize, u64)> = Vec::new();
        for &(buf, mode, size) in list {
            let b = buf.idx();
            let tail = floats[o] - off;
            match mode {
                Mode::Read => {
                    let prev_in_op = seen.iter().rev().find(|(x, _)| *x == b).map(|(_, at)| *at);
                    reads.push(ReadEv {
                        op: o,
                        head: off,
                        size,
                        seg: cur[b],
                        prev_in_op,
                    });
                    if let Some(s) = cur[b] {
                        // Keep only the op's last access of the value: it dominates.
                        match touches[s].iter_mut().find(|t| t.op == o) {
                            Some(t) => t.tail = tail,
                            None => touches[s].push(Touch { op: o, tail }),
                        }
                    }
                }
                Mode::Write => {
                    cur[b] = Some(writers.len());
                    writers.push(Writer::Op { op: o, tail });
                    touches.push(Vec::new());
                }
            }
            seen.push((b, off));
            off += size;
        }
    }

    // Floats every legal order places between the end of op `u` and the start of `o`.
    let between = |u: usize, o: usize| -> u64 { (0..n).filter(|&x| anc[x][u] && anc[o][x]).map(|x| floats[x]).sum() };
    let before = |o: usize| -> u64 { (0..n).filter(|&x| anc[o][x]).map(|x| floats[x]).sum() };

    let (mut sum_d, mut sum_sd) = (0i128, 0i128);
    for r in &reads {
        let d: i128 = match r.seg {
            None => match cold {
                Cold::MinusOne => -1,
                Cold::Skip => continue,
            },
            Some(s) => {
                let from_writer = match writers[s] {
                    Writer::Start { to_first_op } => to_first_op + before(r.op),
                    Writer::Op { op, tail } => tail + between(op, r.op),
                } + r.head;
                match (kind, r.prev_in_op) {
                    (ReuseKind::Write, _) => i128::from(from_writer),
                    // An earlier access in the same op is the anchor: exact.
                    (ReuseKind::Access, Some(at)) => i128::from(r.head - at),
                    (ReuseKind::Access, None) => {
                        // Any other access of the value that can precede this op.
                        let other = touches[s]
                            .iter()
                            .filter(|t| t.op != r.op && !anc[t.op][r.op])
                            .map(|t| t.tail + between(t.op, r.op) + r.head)
                            .min();
                        i128::from(other.map_or(from_writer, |x| x.min(from_writer)))
                    }
                }
            }
        };
        sum_d += d;
        sum_sd += i128::from(r.size) * d;
    }
    Floor { sum_d, sum_sd }
}
