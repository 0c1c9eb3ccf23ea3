//! The hazard graph of a step: which ops must stay ordered, and why.
//!
//! Built from `ir::effects` alone (the one effects table), over the ops of a
//! lowered program in its current schedule. Each buffer is walked in schedule
//! order: a read gets a RAW edge from the buffer's reaching write, a write gets a
//! WAR edge from every read since the previous write and a WAW edge from that
//! write. In-place `update` ops read and write their parameter, so an op that reads
//! the old `W2` gets a WAR edge to `update W2`. Params, state, inputs and targets
//! are written at step start, before the first op, so their first readers have no
//! RAW edge. Architecture invariant: a schedule is legal exactly when it is a
//! topological order of this graph (every read then sees the same write as in the
//! original schedule). petgraph is used here and nowhere else.

use crate::ir::{BufId, Mode, OpId, Program, effects};
use petgraph::graph::{DiGraph, NodeIndex};
use petgraph::visit::EdgeRef;
use std::collections::BTreeSet;
use std::fmt::Write;

/// The kind of a hazard.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum DepKind {
    /// Read after write: the reader needs the writer's value.
    Raw,
    /// Write after read: the reader needs the value from before the write.
    War,
    /// Write after write: the later write must stay last.
    Waw,
}

impl DepKind {
    /// The label printed by `sutro deps`.
    pub fn name(self) -> &'static str {
        match self {
            DepKind::Raw => "RAW",
            DepKind::War => "WAR",
            DepKind::Waw => "WAW",
        }
    }
}

/// An edge label: the hazard and the buffer it is on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Dep {
    /// Which hazard.
    pub kind: DepKind,
    /// On which buffer.
    pub buf: BufId,
}

/// One edge: `from` must run before `to`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Edge {
    /// The op that must come first.
    pub from: OpId,
    /// The op that must come later.
    pub to: OpId,
    /// Why.
    pub dep: Dep,
}

impl Edge {
    /// `from -> to  KIND buf`, with op and buffer names.
    pub fn describe(&self, p: &Program) -> String {
        format!(
            "{} -> {}  {} {}",
            p.op_name(self.from),
            p.op_name(self.to),
            self.dep.kind.name(),
            p.buf(self.dep.buf).name
        )
    }
}

/// Why a schedule is not a legal order of the graph.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Violation {
    /// The schedule lacks an op of the graph.
    Missing(OpId),
    /// The schedule has an op that is not in the graph, or has one twice.
    Unexpected(OpId),
    /// An edge runs backwards in the schedule.
    Edge(Edge),
}

impl Violation {
    /// A one-line explanation with names.
    pub fn describe(&self, p: &Program) -> String {
        match self {
            Violation::Missing(o) => format!("op `{}` is missing from the schedule", p.op_name(*o)),
            Violation::Unexpected(o) => format!("op `{}` is unexpected or scheduled twice", p.op_name(*o)),
            Violation::Edge(e) => format!(
                "`{}` runs before `{}`, violating the {} edge {}",
                p.op_name(e.to),
                p.op_name(e.from),
                e.dep.kind.name(),
                e.describe(p)
            ),
        }
    }
}

/// The hazard DAG of a program's ops.
#[derive(Clone, Debug)]
pub struct DepGraph {
    graph: DiGraph<OpId, Dep>,
    nodes: Vec<Option<NodeIndex>>,
    ops: Vec<OpId>,
}

impl DepGraph {
    /// Builds the graph over `p.order` from the effects table.
    pub fn build(p: &Program) -> DepGraph {
        let mut graph = DiGraph::new();
        let mut nodes = vec![None; p.ops.len()];
        for &id in &p.order {
            if let Some(slot) = nodes.get_mut(id.idx()) {
                *slot = Some(graph.add_node(id));
            }
        }
        let mut last_write: Vec<Option<OpId>> = vec![None; p.buffers.len()];
        let mut readers: Vec<Vec<OpId>> = vec![Vec::new(); p.buffers.len()];
        let mut seen: BTreeSet<Edge> = BTreeSet::new();
        let mut edges: Vec<Edge> = Vec::new();
        let mut add = |from: OpId, to: OpId, kind: DepKind, buf: BufId| {
            let e = Edge {
                from,
                to,
                dep: Dep { kind, buf },
            };
            if from != to && seen.insert(e) {
                edges.push(e);
            }
        };
        for &id in &p.order {
            let fx = effects(&p.op(id).kind);
            for a in fx.iter().filter(|a| a.mode == Mode::Read) {
                let b = a.buf.idx();
                if let Some(w) = last_write.get(b).copied().flatten() {
                    add(w, id, DepKind::Raw, a.buf);
                }
                if let Some(r) = readers.get_mut(b)
                    && !r.contains(&id)
                {
                    r.push(id);
                }
            }
            for a in fx.iter().filter(|a| a.mode == Mode::Write) {
                let b = a.buf.idx();
                for r in readers.get(b).cloned().unwrap_or_default() {
                    add(r, id, DepKind::War, a.buf);
                }
                if let Some(w) = last_write.get(b).copied().flatten() {
                    add(w, id, DepKind::Waw, a.buf);
                }
                if let Some(slot) = last_write.get_mut(b) {
                    *slot = Some(id);
                }
                if let Some(r) = readers.get_mut(b) {
                    r.clear();
                }
            }
        }
        for e in edges {
            if let (Some(Some(f)), Some(Some(t))) = (nodes.get(e.from.idx()), nodes.get(e.to.idx())) {
                graph.add_edge(*f, *t, e.dep);
            }
        }
        DepGraph {
            graph,
            nodes,
            ops: p.order.clone(),
        }
    }

    /// The ops of the graph, in the schedule it was built from.
    pub fn ops(&self) -> &[OpId] {
        &self.ops
    }

    /// Every edge, in creation order (schedule order of the later op, then buffer walk).
    pub fn edges(&self) -> Vec<Edge> {
        self.graph
            .edge_references()
            .map(|e| Edge {
                from: self.graph[e.source()],
                to: self.graph[e.target()],
                dep: *e.weight(),
            })
            .collect()
    }

    /// The ops with an edge into `op`, each once, in id order.
    pub fn preds(&self, op: OpId) -> Vec<OpId> {
        let Some(Some(n)) = self.nodes.get(op.idx()) else {
            return Vec::new();
        };
        let set: BTreeSet<OpId> = self
            .graph
            .edges_directed(*n, petgraph::Direction::Incoming)
            .map(|e| self.graph[e.source()])
            .collect();
        set.into_iter().collect()
    }

    /// Checks that `order` schedules every op of the graph once, in a topological order.
    /// The first violation in schedule order is returned.
    pub fn check_order(&self, order: &[OpId]) -> Result<(), Violation> {
        let mut done = vec![false; self.nodes.len()];
        for &id in order {
            let Some(Some(n)) = self.nodes.get(id.idx()) else {
                return Err(Violation::Unexpected(id));
            };
            if done[id.idx()] {
                return Err(Violation::Unexpected(id));
            }
            let mut incoming: Vec<Edge> = self
                .graph
                .edges_directed(*n, petgraph::Direction::Incoming)
                .map(|e| Edge {
                    from: self.graph[e.source()],
                    to: id,
                    dep: *e.weight(),
                })
                .collect();
            incoming.sort();
            if let Some(e) = incoming.into_iter().find(|e| !done[e.from.idx()]) {
                return Err(Violation::Edge(e));
            }
            done[id.idx()] = true;
        }
        match self.ops.iter().find(|o| !done[o.idx()]) {
            Some(o) => Err(Violation::Missing(*o)),
            None => Ok(()),
        }
    }

    /// One line per edge: `from -> to  KIND buf`.
    pub fn to_text(&self, p: &Program) -> String {
        let mut s = String::new();
        for e in self.edges() {
            s.push_str(&e.describe(p));
            s.push('\n');
        }
        s
    }

    /// Graphviz DOT, one node per op (schedule order) and one labelled edge per hazard.
    pub fn to_dot(&self, p: &Program) -> String {
        let esc = |s: &str| s.replace('\\', "\\\\").replace('"', "\\\"");
        let mut s = format!("digraph \"{}\" {{\n  node [shape=box];\n", esc(&p.name));
        for (i, id) in self.ops.iter().enumerate() {
            let _ = writeln!(s, "  n{} [label=\"{}: {}\"];", id.0, i + 1, esc(&p.op_name(*id)));
        }
        for e in self.edges() {
            let _ = writeln!(
                s,
                "  n{} -> n{} [label=\"{} {}\"];",
                e.from.0,
                e.to.0,
                e.dep.kind.name(),
                esc(&p.buf(e.dep.buf).name)
            );
        }
        s.push_str("}\n");
        s
    }
}
