//! `bytedmd_v2`: ByteDMD with eager init, left-to-right pricing and aggressive
//! compaction (`cybertronai/ByteDMD: bytedmd.py`; metrics spec, section 5).
//!
//! The analyzer records the events first, then runs two passes in `end`:
//! a backward liveness pass marks, for every read, the keys whose value dies
//! there (its last read) and, for every write, the keys whose new value is never
//! read (dropped at once); step outputs (the final versions of `param` and
//! `state` buffers) never die. The forward pass preloads each step's inputs (the
//! buffers of its step-start writes) in reverse order, then for each op
//! (instruction) prices every read occurrence on the pre-op stack, bumps the
//! unique inputs in first-occurrence order, kills the dead values and pushes the
//! outputs. An element at byte depth `D` with weight `w` costs `U(D) − U(D − w)`;
//! for an intact block read whole the per-element costs telescope to
//! `U(D₀) − U(D₀ − n·w)`, one query per buffer read.

use super::dmd::u_sum;
use super::engine::{Attr, Units, buf_name, buf_size, op_ident};
use super::fenwick::{KeyMap, Stack};
use super::options::{ByteDmdOptions, Granularity};
use super::row::{AttrRow, cols};
use crate::ir::{Mode, OpId};
use crate::trace::{Event, TraceHeader, Tracer};
use serde::Serialize;

#[derive(Clone, Debug, Default)]
struct Acc {
    reads: u64,
    cold: u64,
    cost: u128,
}

/// The `bytedmd_v2` report; rows sum exactly to `total`.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ByteDmdReport {
    /// Effective options.
    pub options: ByteDmdOptions,
    /// Steps in the trace.
    pub steps: u32,
    /// Instructions (ops executed).
    pub instructions: u64,
    /// Priced read units.
    pub reads: u64,
    /// Reads of values never written nor preloaded (priced below the stack).
    pub cold: u64,
    /// Σ of the ceiling costs.
    pub total: u128,
    /// `total / steps`.
    pub per_step: f64,
    /// Rows in order of first read.
    pub buffers: Vec<AttrRow>,
    /// Rows in op-table order (ops with no reads omitted).
    pub ops: Vec<AttrRow>,
}

/// The `bytedmd_v2` analyzer (records events, scores at `end`).
#[derive(Clone, Debug)]
pub struct ByteDmd {
    options: ByteDmdOptions,
    header: TraceHeader,
    events: Vec<Event>,
    result: Option<ByteDmdReport>,
    /// Most events kept (`Analyzer::limit_memory`); past it the trace is not scored.
    max_events: u64,
    /// Whether events were dropped for the bound.
    dropped: bool,
}

/// Bytes `bytedmd_v2` holds per event at its peak (scoring in `end`): the event
/// with the vector's doubling slack, its kill list, its share of the
/// instruction lists and the stack. Measured: 304–312 bytes per event on
/// `sparse_parity.sutro` traces of 10,000 and 50,000 steps (peak RSS less the
/// streaming metrics' 15 MB, over the event count), rounded up.
pub const BYTES_PER_EVENT: u64 = 320;

struct Instr {
    preload: bool,
    reads: Vec<usize>,
    writes: Vec<usize>,
}

fn instructions(events: &[Event]) -> Vec<Instr> {
    let mut out: Vec<Instr> = Vec::new();
    let mut key: Option<(u32, Option<OpId>, bool)> = None;
    for (i, ev) in events.iter().enumerate() {
        let pre = ev.op.is_none() && ev.mode == Mode::Write;
        let k = (ev.step, ev.op, pre);
        let fresh = match out.last() {
            None => true,
            Some(last) => key != Some(k) || (ev.mode == Mode::Read && !last.writes.is_empty()),
        };
        if fresh {
            out.push(Instr {
                preload: pre,
                reads: Vec::new(),
                writes: Vec::new(),
            });
            key = Some(k);
        }
        if let Some(last) = out.last_mut() {
            match ev.mode {
                Mode::Read => last.reads.push(i),
                // A buffer listed twice in a preload is loaded once.
                Mode::Write
                    if pre
                        && last
                            .writes
                            .iter()
                            .any(|&j| events.get(j).is_some_and(|e| e.buf == ev.buf)) => {}
                Mode::Write => last.writes.push(i),
            }
        }
    }
    out
}

/// Appends key `k` to descending-built ranges `[lo, hi)`.
fn mark(ranges: &mut Vec<(u64, u64)>, k: u64) {
    if let Some(r) = ranges.last_mut()
        && r.0 == k + 1
    {
        r.0 = k;
        return;
    }
    ranges.push((k, k + 1));
}

/// Backward liveness: for each event, the key ranges whose value dies there
/// (its last read, or a write never read). Params and state stay live to the end.
fn kills(h: &TraceHeader, events: &[Event], instrs: &[Instr], units: Units, limit: u64) -> Vec<Vec<(u64, u64)>> {
    let mut live: KeyMap<u8> = KeyMap::new(limit);
    for (i, bi) in h.buffers.iter().enumerate() {
        if matches!(bi.role.as_str(), "param" | "state") {
            match units {
                Units::Buffer { .. } => live.set(i as u64, 1),
                Units::Element { .. } => {
                    for k in bi.offset..bi.offset.saturating_add(bi.size()) {
                        live.set(k, 1);
                    }
                }
            }
        }
    }
    let mut kill: Vec<Vec<(u64, u64)>> = vec![Vec::new(); events.len()];
    for ins in instrs.iter().rev() {
        // Writes end a value's life (live 0 before them), reads start it.
        for (list, after) in [(&ins.writes, 0u8), (&ins.reads, 1u8)] {
            for &i in list.iter().rev() {
                let Some(ev) = events.get(i) else { continue };
                let (k0, n, _) = units.of(ev);
                let Some(ranges) = kill.get_mut(i) else { continue };
                for k in (k0..k0.saturating_add(n)).rev() {
                    if live.get(k) == 0 {
                        mark(ranges, k);
                    }
                    live.set(k, after);
                }
            }
        }
    }
    kill
}

/// The cost of one read event against the current stack: one query for an
/// intact block, else one per element (cold elements sit below everything).
fn price_read(stack: &Stack, ev: &Event, units: Units) -> Acc {
    let (k0, n, w) = units.of(ev);
    let mut acc = Acc {
        reads: n,
        ..Acc::default()
    };
    if let Some(s0) = stack.block(k0, n) {
        let d0 = stack.depth_slot(s0);
        let bw = if n == 1 {
            stack.weight_of(k0)
        } else {
            n.saturating_mul(stack.uniform())
        };
        acc.cost = u_sum(d0) - u_sum(d0.saturating_sub(bw));
    } else {
        for k in k0..k0.saturating_add(n) {
            let (d, kw) = match stack.depth(k) {
                Some(d) => (d, stack.weight_of(k)),
                None => {
                    acc.cold += 1;
                    (stack.total().saturating_add(w), w)
                }
            };
            acc.cost += u_sum(d) - u_sum(d.saturating_sub(kw));
        }
    }
    acc
}

impl Acc {
    fn add(&mut self, o: &Acc) {
        self.reads += o.reads;
        self.cold += o.cold;
        self.cost += o.cost;
    }
}

/// Replays the instructions on the liveness-compacted stack: reads are priced,
/// then moved to the top together; writes push their values; dead values leave.
/// Returns the total and the count of (non-preload) instructions.
fn replay(
    events: &[Event],
    instrs: &[Instr],
    kill: &[Vec<(u64, u64)>],
    (units, limit, b): (Units, u64, u64),
    attr: &mut Attr<Acc>,
) -> (Acc, u64) {
    let mut stack = Stack::new(limit, matches!(units, Units::Buffer { .. }), b);
    let mut total = Acc::default();
    let mut n_instr = 0u64;
    let kill_of = |i: usize| kill.get(i).map_or(&[][..], Vec::as_slice);
    let drop_dead = |stack: &mut Stack, i: usize| {
        for &(lo, hi) in kill_of(i) {
            stack.remove_range(lo, hi - lo);
        }
    };
    let write = |stack: &mut Stack, i: usize| {
        if let Some(ev) = events.get(i) {
            let (k0, n, w) = units.of(ev);
            stack.remove_range(k0, n);
            stack.push_block(k0, n, w);
        }
    };
    for ins in instrs {
        if ins.preload {
            ins.writes.iter().rev().for_each(|&wi| write(&mut stack, wi));
            ins.writes.iter().for_each(|&wi| drop_dead(&mut stack, wi));
            continue;
        }
        n_instr += 1;
        let mut need = 0u64;
        for ev in ins.reads.iter().filter_map(|&ri| events.get(ri)) {
            let n = units.of(ev).1;
            need = need.saturating_add(n);
            if n == 0 {
                continue;
            }
            let acc = price_read(&stack, ev, units);
            attr.touch(ev.buf);
            total.add(&acc);
            attr.buf(ev.buf).add(&acc);
            attr.op(ev.op).add(&acc);
        }
        stack.ensure_room(need);
        let mark = stack.next_slot();
        for ev in ins.reads.iter().filter_map(|&ri| events.get(ri)) {
            let (k0, n, w) = units.of(ev);
            stack.bump_range(k0, n, w, mark);
        }
        ins.reads.iter().for_each(|&ri| drop_dead(&mut stack, ri));
        for &wi in &ins.writes {
            write(&mut stack, wi);
            drop_dead(&mut stack, wi);
        }
    }
    (total, n_instr)
}

fn compute(h: &TraceHeader, events: &[Event], o: &ByteDmdOptions) -> ByteDmdReport {
    let b = o.bytes_per_element;
    let units = match o.granularity {
        Granularity::Buffer => Units::Buffer { mul: b },
        _ => Units::Element { w: b },
    };
    let limit = units.key_limit(h);
    let instrs = instructions(events);
    let kill = kills(h, events, &instrs, units, limit);
    let mut attr: Attr<Acc> = Attr::default();
    attr.begin(h);
    let (total, n_instr) = replay(events, &instrs, &kill, (units, limit, b), &mut attr);
    drop(kill);
    report(h, o, &attr, total, n_instr, events)
}

/// The report of a replay.
fn report(
    h: &TraceHeader,
    o: &ByteDmdOptions,
    attr: &Attr<Acc>,
    total: Acc,
    n_instr: u64,
    events: &[Event],
) -> ByteDmdReport {
    let steps = events.iter().map(|e| e.step.saturating_add(1)).max().unwrap_or(0);
    let n_ops = attr.ops.len();
    ByteDmdReport {
        options: *o,
        steps,
        instructions: n_instr,
        reads: total.reads,
        cold: total.cold,
        total: total.cost,
        per_step: if steps == 0 {
            0.0
        } else {
            total.cost as f64 / f64::from(steps)
        },
        buffers: attr
            .order
            .iter()
            .map(|&bid| {
                let a = attr.bufs.get(bid.idx()).cloned().unwrap_or_default();
                AttrRow {
                    name: buf_name(h, bid),
                    size: buf_size(h, bid),
                    reads: a.reads,
                    cold: a.cold,
                    cost: a.cost,
                    cols: cols::BYTEDMD_BUF,
                    ..AttrRow::default()
                }
            })
            .collect(),
        ops: attr
            .ops
            .iter()
            .enumerate()
            .filter(|(_, a)| a.reads > 0)
            .map(|(i, a)| {
                let (name, index, line) = op_ident(h, i, n_ops);
                AttrRow {
                    name,
                    index,
                    line,
                    reads: a.reads,
                    cold: a.cold,
                    cost: a.cost,
                    cols: cols::BYTEDMD_OP,
                    ..AttrRow::default()
                }
            })
            .collect(),
    }
}

impl ByteDmd {
    /// A fresh analyzer.
    pub fn new(options: ByteDmdOptions) -> ByteDmd {
        ByteDmd {
            options,
            header: TraceHeader::default(),
            events: Vec::new(),
            result: None,
            max_events: u64::MAX,
            dropped: false,
        }
    }

    /// Keeps at most `n` events; a longer trace is not scored (`dropped`).
    pub fn set_max_events(&mut self, n: u64) {
        self.max_events = n;
    }

    /// `(events kept, bytes)` when the trace had more events than the bound.
    pub fn dropped(&self) -> Option<(u64, u64)> {
        self.dropped
            .then(|| (self.max_events, self.max_events.saturating_mul(BYTES_PER_EVENT)))
    }

    /// The report (computed at `end`, or now if `end` was not called).
    pub fn report(&self) -> ByteDmdReport {
        match &self.result {
            Some(r) => r.clone(),
            None => compute(&self.header, &self.events, &self.options),
        }
    }
}

impl Tracer for ByteDmd {
    fn begin(&mut self, h: &TraceHeader) {
        self.header = h.clone();
        self.events.clear();
        self.result = None;
        self.dropped = false;
    }

    fn access(&mut self, ev: &Event) {
        if self.dropped {
            return;
        }
        if self.events.len() as u64 >= self.max_events {
            self.dropped = true;
            self.events = Vec::new();
            return;
        }
        self.events.push(*ev);
    }

    fn end(&mut self) {
        if self.dropped {
            return;
        }
        self.result = Some(compute(&self.header, &self.events, &self.options));
        // The events are no longer needed once scored.
        self.events = Vec::new();
    }
}
