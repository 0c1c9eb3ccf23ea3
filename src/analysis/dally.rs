//! `dally`: the placement cost model (metrics spec §6b, `docs/dally.md`) on a
//! trace. Every element read event costs `⌈√a⌉` at the element's address `a`;
//! writes are free; at the end of every step each `param` and `state` element
//! pays one exit read. An IR trace (`sutro ir record`) carries its exit reads as
//! read events of its `exit` op instead.
//!
//! Placement, the option `placement`:
//! - `recorded`: the trace's own element offsets, `a = offset + 1` (the default
//!   for IR traces, whose offsets are the program's addresses − 1);
//! - `declaration`: buffers in declaration order from address 1 (the default
//!   for `.sutro` traces, where it equals `recorded`: the layout is declaration order);
//! - `optimal`: the allocation pass of `dally::alloc` over element values (each
//!   write of an element starts a value that lives until its last read; values
//!   whose lifetimes do not overlap may share a cell), with its lower bound.

use super::row::{AttrRow, cols};
use super::{Analyzer, Metric, OptionError, to_json};
use crate::dally::alloc::{self, Lifetimes};
use crate::dally::{cost, prefix_cost};
use crate::ir::Mode;
use crate::trace::{BufInfo, Event, TraceHeader, Tracer};
use serde::Serialize;
use serde_json::Value;

/// Where elements live.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Placement {
    /// Buffers in declaration order from address 1.
    Declaration,
    /// The allocation pass.
    Optimal,
    /// The trace's own offsets + 1.
    Recorded,
}

impl Placement {
    /// The option-value name.
    pub fn name(self) -> &'static str {
        match self {
            Placement::Declaration => "declaration",
            Placement::Optimal => "optimal",
            Placement::Recorded => "recorded",
        }
    }
}

/// Options of `dally`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct DallyOptions {
    /// The placement; `None` until resolved from the trace (see the module doc).
    pub placement: Option<Placement>,
}

impl DallyOptions {
    /// Option keys.
    pub const KEYS: &'static [&'static str] = &["placement"];

    /// Parses `placement=declaration|optimal|recorded`.
    pub fn parse(metric: &str, pairs: &[(&str, &str)]) -> Result<DallyOptions, OptionError> {
        let mut o = DallyOptions { placement: None };
        for (k, v) in pairs {
            if *k != "placement" {
                return Err(OptionError(format!(
                    "unknown option `{k}` for {metric} (known: placement)"
                )));
            }
            o.placement = Some(match *v {
                "declaration" => Placement::Declaration,
                "optimal" => Placement::Optimal,
                "recorded" => Placement::Recorded,
                _ => {
                    return Err(OptionError(format!(
                        "bad value `{v}` for option `placement` of {metric} (allowed: declaration, optimal, recorded)"
                    )));
                }
            });
        }
        Ok(o)
    }
}

/// The `dally` report.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct DallyReport {
    /// Effective options (the placement used).
    pub options: DallyOptions,
    /// Steps in the trace.
    pub steps: u32,
    /// Element reads priced (exit reads included).
    pub reads: u64,
    /// Total cost: reads plus exit reads.
    pub total: u64,
    /// The exit reads' part of `total`.
    pub exit: u64,
    /// Highest address used.
    pub cells: u64,
    /// `optimal` only: a lower bound on any placement of this trace's values.
    pub bound: Option<u64>,
    /// `optimal` only: `total − bound`.
    pub gap: Option<u64>,
    /// `total / steps`.
    pub per_step: f64,
    /// Cost per buffer (header order, buffers never read omitted).
    pub buffers: Vec<AttrRow>,
    /// Why a requested placement fell back, if it did.
    pub note: Option<String>,
}

/// Most element values the `optimal` placement allocates.
const MAX_VALUES: u64 = 1 << 23;

/// The running sums of a fixed placement, fed event by event (no event is kept).
#[derive(Clone, Debug, Default)]
struct Fixed {
    base: Vec<u64>,
    offsets: Vec<u64>,
    sizes: Vec<u64>,
    persist: Vec<usize>,
    by_buf: Vec<u64>,
    reads: u64,
    exit: u64,
    cells: u64,
    step: Option<u32>,
}

impl Fixed {
    /// Cost of elements `off..off + len` of buffer `b`, and the last address.
    fn range(&self, b: usize, off: u64, len: u64) -> (u64, u64) {
        let lo = self.base[b].saturating_add(off);
        let hi = lo.saturating_add(len).saturating_sub(1);
        (prefix_cost(hi) - prefix_cost(lo - 1), hi)
    }

    /// The exit reads of every param and state element.
    fn step_exit(&mut self) {
        for k in 0..self.persist.len() {
            let b = self.persist[k];
            let (c, hi) = self.range(b, 0, self.sizes[b]);
            self.by_buf[b] += c;
            self.exit += c;
            self.reads += self.sizes[b];
            self.cells = self.cells.max(hi);
        }
    }

    fn add(&mut self, e: &Event, exit_op: bool) {
        if self.step.is_some_and(|s| s != e.step) {
            self.step_exit();
        }
        self.step = Some(e.step);
        let b = e.buf.idx();
        let (c, hi) = self.range(b, e.addr.saturating_sub(self.offsets[b]), e.len);
        self.cells = self.cells.max(hi);
        if e.mode == Mode::Read {
            self.by_buf[b] += c;
            self.reads += e.len;
            if exit_op {
                self.exit += c;
            }
        }
    }
}

/// Element values of a trace under construction.
struct Values {
    /// The value each element holds now.
    cur: Vec<u32>,
    l: Lifetimes,
    buf_of: Vec<u32>,
    exits: Vec<u64>,
}

impl Values {
    /// A new value written to element `e` at time `t`.
    fn fresh(&mut self, e: usize, b: u32, t: u32) {
        self.cur[e] = self.l.span.len() as u32;
        self.l.span.push((t, t));
        self.l.weight.push(0);
        self.buf_of.push(b);
        self.exits.push(0);
    }

    /// A read of element `e` at time `t` (a never-written element holds a value from time 0).
    fn read(&mut self, e: usize, b: u32, t: u32, exit: bool) {
        if self.cur[e] == u32::MAX {
            self.fresh(e, b, 0);
        }
        let v = self.cur[e] as usize;
        self.l.span[v].1 = t;
        self.l.weight[v] += 1;
        self.exits[v] += u64::from(exit);
    }
}

/// The `dally` analyzer.
#[derive(Clone, Debug)]
pub struct Dally {
    opts: DallyOptions,
    header: TraceHeader,
    /// Kept only for the `optimal` placement.
    events: Vec<Event>,
    /// The running sums of a fixed placement.
    fixed: Option<(Placement, Fixed)>,
    last_step: Option<u32>,
    /// `optimal` was asked for but the trace outgrew its limit.
    overflow: bool,
    /// The report, computed once after the last event (`optimal` allocates).
    cache: std::sync::OnceLock<DallyReport>,
}

impl Dally {
    /// A fresh analyzer.
    pub fn new(opts: DallyOptions) -> Dally {
        Dally {
            opts,
            header: TraceHeader::default(),
            events: Vec::new(),
            fixed: None,
            last_step: None,
            overflow: false,
            cache: std::sync::OnceLock::new(),
        }
    }

    fn is_ir(&self) -> bool {
        self.header.buffers.iter().any(|b| b.role == "cells")
    }

    fn exit_op(&self, e: &Event) -> bool {
        self.is_ir()
            && e.op
                .is_some_and(|o| self.header.ops.get(o.idx()).is_some_and(|x| x.name == "exit"))
    }

    /// First address of each buffer under a fixed placement.
    fn bases(&self, p: Placement) -> Vec<u64> {
        let mut next = 1u64;
        self.header
            .buffers
            .iter()
            .map(|b| match p {
                Placement::Declaration => {
                    let a = next;
                    next = next.saturating_add(b.size());
                    a
                }
                _ => b.offset.saturating_add(1),
            })
            .collect()
    }

    fn persists(&self) -> Vec<usize> {
        (self.header.buffers.iter().enumerate())
            .filter(|(_, b)| matches!(b.role.as_str(), "param" | "state"))
            .map(|(i, _)| i)
            .collect()
    }

    /// A fresh accumulator for a fixed placement.
    fn fixed_acc(&self, p: Placement) -> Fixed {
        Fixed {
            base: self.bases(p),
            offsets: self.header.buffers.iter().map(|b| b.offset).collect(),
            sizes: self.header.buffers.iter().map(BufInfo::size).collect(),
            persist: self.persists(),
            by_buf: vec![0; self.header.buffers.len()],
            ..Fixed::default()
        }
    }

    /// Reads priced at fixed buffer bases, from the stored events.
    fn fixed(&self, p: Placement) -> DallyReport {
        let mut f = self.fixed_acc(p);
        for e in &self.events {
            f.add(e, self.exit_op(e));
        }
        self.fixed_report(p, &f)
    }

    fn fixed_report(&self, p: Placement, f: &Fixed) -> DallyReport {
        let mut f = f.clone();
        if f.step.is_some() {
            f.step_exit();
        }
        let total = f.by_buf.iter().sum();
        self.report(p, (f.reads, total, f.exit, f.cells), None, f.by_buf)
    }

    fn report(
        &self,
        p: Placement,
        (reads, total, exit, cells): (u64, u64, u64, u64),
        bound: Option<u64>,
        by_buf: Vec<u64>,
    ) -> DallyReport {
        let steps = self.last_step.map_or(0, |s| s + 1);
        DallyReport {
            options: DallyOptions { placement: Some(p) },
            steps,
            reads,
            total,
            exit,
            cells,
            bound,
            gap: bound.map(|b| total.saturating_sub(b)),
            per_step: if steps == 0 {
                0.0
            } else {
                total as f64 / f64::from(steps)
            },
            buffers: (self.header.buffers.iter().zip(by_buf))
                .filter(|(_, c)| *c > 0)
                .map(|(b, c)| AttrRow {
                    name: b.name.clone(),
                    cost: u128::from(c),
                    cols: cols::DALLY_BUF,
                    ..AttrRow::default()
                })
                .collect(),
            note: None,
        }
    }

    /// Element values and their lifetimes (module doc); `None` when over the limit.
    fn values(&self) -> Option<Values> {
        let writes: u64 = self
            .events
            .iter()
            .filter(|e| e.mode == Mode::Write)
            .map(|e| e.len)
            .sum();
        let elems = self
            .header
            .buffers
            .iter()
            .map(|b| b.offset.saturating_add(b.size()))
            .max()
            .unwrap_or(0);
        if writes.saturating_add(elems) > MAX_VALUES {
            return None;
        }
        let mut v = Values {
            cur: vec![u32::MAX; elems as usize],
            l: Lifetimes {
                span: Vec::new(),
                weight: Vec::new(),
            },
            buf_of: Vec::new(),
            exits: Vec::new(),
        };
        let persist = self.persists();
        let end_step = |v: &mut Values, t: u32| {
            for &b in &persist {
                let bi = &self.header.buffers[b];
                for e in bi.offset..bi.offset + bi.size() {
                    v.read(e as usize, b as u32, t, true);
                }
            }
        };
        let mut step = self.events.first().map_or(0, |e| e.step);
        for (k, e) in self.events.iter().enumerate() {
            let t = 2 * k as u32 + 1;
            if e.step != step {
                end_step(&mut v, t - 1);
                step = e.step;
            }
            let exit = self.exit_op(e);
            for x in e.addr..e.addr + e.len {
                if e.mode == Mode::Write {
                    v.fresh(x as usize, e.buf.0, t);
                } else {
                    v.read(x as usize, e.buf.0, t, exit);
                }
            }
        }
        end_step(&mut v, 2 * self.events.len() as u32 + 1);
        Some(v)
    }

    fn optimal(&self) -> DallyReport {
        let Some(Values { l, buf_of, exits, .. }) = self.values() else {
            let mut r = self.fixed(Placement::Declaration);
            r.note = Some(format!(
                "over {MAX_VALUES} element values: declaration placement instead of optimal"
            ));
            return r;
        };
        let a = alloc::allocate(&l);
        let bound = alloc::lower_bound(&l);
        let mut by_buf = vec![0u64; self.header.buffers.len()];
        let (mut exit, mut reads) = (0, 0);
        for v in 0..l.span.len() {
            let c = cost(a.addr[v]);
            by_buf[buf_of[v] as usize] += l.weight[v] * c;
            exit += exits[v] * c;
            reads += l.weight[v];
        }
        let cells = a.addr.iter().copied().max().unwrap_or(0);
        self.report(Placement::Optimal, (reads, a.cost, exit, cells), Some(bound), by_buf)
    }

    /// The report.
    pub fn report_now(&self) -> DallyReport {
        self.cache.get_or_init(|| self.compute()).clone()
    }

    fn placement(&self) -> Placement {
        self.opts.placement.unwrap_or(if self.is_ir() {
            Placement::Recorded
        } else {
            Placement::Declaration
        })
    }

    fn compute(&self) -> DallyReport {
        match &self.fixed {
            Some((p, f)) => {
                let mut r = self.fixed_report(*p, f);
                if self.overflow {
                    r.note = Some(format!(
                        "over {MAX_VALUES} events: declaration placement instead of optimal"
                    ));
                }
                r
            }
            None => self.optimal(),
        }
    }
}

impl Tracer for Dally {
    fn begin(&mut self, h: &TraceHeader) {
        self.header = h.clone();
        self.events.clear();
        self.last_step = None;
        self.overflow = false;
        let p = self.placement();
        self.fixed = (p != Placement::Optimal).then(|| (p, self.fixed_acc(p)));
        self.cache = std::sync::OnceLock::new();
    }
    fn access(&mut self, ev: &Event) {
        self.last_step = Some(ev.step);
        let exit = self.exit_op(ev);
        match &mut self.fixed {
            Some((_, f)) => f.add(ev, exit),
            None => {
                self.events.push(*ev);
                if self.events.len() as u64 > MAX_VALUES {
                    // Memory stays bounded: fall back to declaration placement, as sums.
                    let mut f = self.fixed_acc(Placement::Declaration);
                    for e in &self.events {
                        f.add(e, self.exit_op(e));
                    }
                    self.events = Vec::new();
                    self.fixed = Some((Placement::Declaration, f));
                    self.overflow = true;
                }
            }
        }
        if self.cache.get().is_some() {
            self.cache = std::sync::OnceLock::new();
        }
    }
}

impl Analyzer for Dally {
    fn metric(&self) -> Metric {
        Metric::Dally
    }
    fn values(&self) -> Box<dyn super::field::Values> {
        Box::new(self.report_now())
    }
    fn report_json(&self) -> Value {
        to_json(&self.report_now())
    }
    fn text(&self, program: &str) -> String {
        let r = self.report_now();
        let th = |v: u64| super::text::thousands(i128::from(v));
        let p = r.options.placement.map_or("declaration", Placement::name);
        let mut s = format!(
            "dally: {program} ({} step{}; placement={p})\nTotal: {}  (operand reads {}, exit {})  elements read: {}  highest address: {}\n",
            r.steps,
            if r.steps == 1 { "" } else { "s" },
            th(r.total),
            th(r.total - r.exit),
            th(r.exit),
            th(r.reads),
            th(r.cells)
        );
        if let (Some(b), Some(g)) = (r.bound, r.gap) {
            s.push_str(&format!("Lower bound for this order: {}  gap: {}\n", th(b), th(g)));
        }
        if let Some(n) = &r.note {
            s.push_str(&format!("Note: {n}\n"));
        }
        s.push_str(&format!("\n{:<16} {:>14}\n", "buffer", "cost"));
        for row in &r.buffers {
            let cost = super::text::thousands(i128::try_from(row.cost).unwrap_or(i128::MAX));
            s.push_str(&format!("{:<16} {:>14}\n", row.name, cost));
        }
        s
    }
    fn as_tracer(&mut self) -> &mut dyn Tracer {
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ir::{BufId, OpId};
    use crate::trace::{BufInfo, OpInfo, replay};

    fn trace() -> (TraceHeader, Vec<Event>) {
        let buf = |name: &str, role: &str, size: u64, offset: u64| BufInfo {
            name: name.into(),
            role: role.into(),
            shape: vec![size],
            offset,
        };
        let h = TraceHeader {
            program: "t".into(),
            hash: String::new(),
            buffers: vec![buf("a", "param", 2, 0), buf("b", "temp", 3, 2)],
            ops: vec![OpInfo {
                name: "op".into(),
                line: 1,
            }],
        };
        let ev = |op: Option<u32>, buf: u32, mode: Mode, addr: u64, len: u64| Event {
            step: 0,
            op: op.map(OpId),
            buf: BufId(buf),
            mode,
            addr,
            len,
        };
        let events = vec![
            ev(None, 0, Mode::Write, 0, 2),
            ev(Some(0), 0, Mode::Read, 0, 2),
            ev(Some(0), 1, Mode::Write, 2, 3),
            ev(Some(0), 1, Mode::Read, 3, 2),
        ];
        (h, events)
    }

    fn total(p: &str) -> DallyReport {
        let (h, events) = trace();
        let mut d = Dally::new(DallyOptions::parse("dally", &[("placement", p)]).unwrap());
        replay(&h, &events, &mut d);
        d.report_now()
    }

    #[test]
    fn declaration_by_hand() {
        // a at 1, 2; b at 3..5. Reads: a → 1 + 2; b[1], b[2] at 4, 5 → 2 + 3;
        // exit reads of the param a → 1 + 2. Total 11.
        let r = total("declaration");
        assert_eq!((r.total, r.exit, r.reads), (11, 3, 6));
        assert_eq!(total("recorded").total, 11);
    }

    #[test]
    fn every_step_pays_its_exit_reads() {
        // The same step twice: reads and exit reads both count twice (2 × 11).
        let (h, mut events) = trace();
        let again: Vec<Event> = events.iter().map(|e| Event { step: 1, ..*e }).collect();
        events.extend(again);
        let mut d = Dally::new(DallyOptions { placement: None });
        replay(&h, &events, &mut d);
        let r = d.report_now();
        assert_eq!((r.total, r.exit, r.steps), (22, 6, 2));
        assert!(d.events.is_empty(), "a fixed placement keeps no events");
    }

    #[test]
    fn optimal_by_hand() {
        // Values: a[0], a[1] (two reads each, live to the exit), b[1], b[2] (one
        // read each, short); b[0] is never read. Best: one a-element at address 1
        // (2 × 1), the other three at cost 2 (2 × 2 + 1 × 2 + 1 × 2) = 10.
        let r = total("optimal");
        assert_eq!(r.total, 10);
        assert!(r.bound.is_some_and(|b| b <= 10));
    }
}
