//! `ard_write` and `ard_access`: the sutro MemTracker's clock reuse distances.
//!
//! A clock counted in floats advances by every event's size. A buffer's anchor is
//! the clock at the start of its last write (`ard_write`) or last access
//! (`ard_access`); a read's distance is the clock at the read's start minus the
//! anchor (metrics spec, section 3). O(1) per event.

use super::row::{AttrRow, cols};
use crate::ir::{BufId, Mode};
use crate::trace::{Event, TraceHeader, Tracer};
use serde::Serialize;

/// Which anchor a read is measured from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReuseKind {
    /// Clock since the buffer's last write.
    Write,
    /// Clock since the buffer's last read or write.
    Access,
}

impl ReuseKind {
    /// The metric name.
    pub fn name(self) -> &'static str {
        match self {
            ReuseKind::Write => "ard_write",
            ReuseKind::Access => "ard_access",
        }
    }
}

/// How a read of a never-anchored buffer is priced.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Cold {
    /// Distance −1, included in the means.
    MinusOne,
    /// Counted apart, left out of every sum and mean.
    Skip,
}

impl Cold {
    /// The option value's name.
    pub fn name(self) -> &'static str {
        match self {
            Cold::MinusOne => "minus_one",
            Cold::Skip => "skip",
        }
    }

    /// Parses an option value.
    pub fn from_name(s: &str) -> Option<Cold> {
        match s {
            "minus_one" => Some(Cold::MinusOne),
            "skip" => Some(Cold::Skip),
            _ => None,
        }
    }
}

/// The clock analyzer.
#[derive(Clone, Debug)]
pub struct Reuse {
    kind: ReuseKind,
    cold: Cold,
    keep_events: bool,
    header: TraceHeader,
    clock: u64,
    anchor: Vec<Option<u64>>,
    last_size: Vec<Option<u64>>,
    bufs: Vec<BufAcc>,
    first_read: Vec<BufId>,
    ops: Vec<OpAcc>,
    reads: u64,
    writes: u64,
    cold_reads: u64,
    kept: u64,
    kept_floats: u64,
    floats_read: u64,
    sum_d: i128,
    sum_sd: i128,
    steps: u32,
    log: Vec<LogRow>,
    /// Most log rows kept (`Analyzer::limit_memory`); `log_dropped` past it.
    max_log: u64,
    log_dropped: bool,
}

/// Bytes of one `--events` log row with its names (a bound for the memory budget).
pub const LOG_ROW_BYTES: u64 = std::mem::size_of::<LogRow>() as u64 + 64;

#[derive(Clone, Debug, Default)]
struct BufAcc {
    first_size: u64,
    reads: u64,
    writes: u64,
    floats_read: u64,
    kept: u64,
    sum_d: i128,
    sum_sd: i128,
    min: Option<i64>,
    max: Option<i64>,
}

#[derive(Clone, Debug, Default)]
struct OpAcc {
    reads: u64,
    floats_read: u64,
    sum_d: i128,
    sum_sd: i128,
}

/// One row of the event log.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct LogRow {
    /// 0-based step.
    pub step: u32,
    /// Op name, or `start` for a step-start write.
    pub op: String,
    /// `R` or `W`.
    pub kind: &'static str,
    /// Clock at the event's start.
    pub clock: u64,
    /// Buffer name.
    pub buffer: String,
    /// Elements.
    pub size: u64,
    /// Reuse distance of a read (null for writes and skipped cold reads).
    pub distance: Option<i64>,
}

/// Effective options.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ReuseOptions {
    /// Always `buffer`.
    pub granularity: &'static str,
    /// Always `reads`.
    pub price: &'static str,
    /// Always `sequential`.
    pub pricing: &'static str,
    /// `minus_one` or `skip`.
    pub cold: &'static str,
}

/// The `ard_write` / `ard_access` report (JSON keys are a contract: docs/json.md).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ArdReport {
    /// Effective options.
    pub options: ReuseOptions,
    /// Steps in the trace.
    pub steps: u32,
    /// Read events.
    pub reads: u64,
    /// Write events, step-start writes included.
    pub writes: u64,
    /// Reads of never-anchored buffers.
    pub cold: u64,
    /// Σ s over all reads.
    pub floats_read: u64,
    /// The final clock.
    pub floats_accessed: u64,
    /// Σ over every buffer ever written of its last write size.
    pub working_set: u64,
    /// Σ_K d / |K|.
    pub per_read: f64,
    /// Exact `per_read` as `[numerator, denominator]`.
    pub per_read_exact: [i128; 2],
    /// Σ_K s·d / Σ_K s.
    pub per_float: f64,
    /// Exact `per_float` as `[numerator, denominator]`.
    pub per_float_exact: [i128; 2],
    /// Σ d over kept reads.
    pub sum_d: i128,
    /// Σ s·d over kept reads.
    pub sum_sd: i128,
    /// Per-buffer rows, in order of first read.
    pub buffers: Vec<AttrRow>,
    /// Per-op rows, in op-table order (ops with no reads omitted).
    pub ops: Vec<AttrRow>,
    /// The event log, when asked for.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub events: Option<Vec<LogRow>>,
}

impl Reuse {
    /// A fresh analyzer.
    pub fn new(kind: ReuseKind, cold: Cold) -> Reuse {
        Reuse {
            kind,
            cold,
            keep_events: false,
            header: TraceHeader::default(),
            clock: 0,
            anchor: Vec::new(),
            last_size: Vec::new(),
            bufs: Vec::new(),
            first_read: Vec::new(),
            ops: Vec::new(),
            reads: 0,
            writes: 0,
            cold_reads: 0,
            kept: 0,
            kept_floats: 0,
            floats_read: 0,
            sum_d: 0,
            sum_sd: 0,
            steps: 0,
            log: Vec::new(),
            max_log: u64::MAX,
            log_dropped: false,
        }
    }

    /// Keeps at most `n` rows of the `--events` log; past it the log is dropped.
    pub fn set_max_log(&mut self, n: u64) {
        self.max_log = n;
    }

    /// Whether it logs every event (`--events`).
    pub fn keeps_log(&self) -> bool {
        self.keep_events
    }

    /// The bound on log rows, when a longer log was dropped.
    pub fn log_dropped(&self) -> Option<u64> {
        self.log_dropped.then_some(self.max_log)
    }

    /// Which anchor this analyzer measures from.
    pub fn kind(&self) -> ReuseKind {
        self.kind
    }

    /// Also keep the event log.
    pub fn with_events(mut self, on: bool) -> Reuse {
        self.keep_events = on;
        self
    }

    fn grow(&mut self, b: usize) {
        if b >= self.bufs.len() {
            self.bufs.resize(b + 1, BufAcc::default());
            self.anchor.resize(b + 1, None);
            self.last_size.resize(b + 1, None);
        }
    }

    /// The report so far.
    pub fn report(&self) -> ArdReport {
        let working_set: u64 = self.last_size.iter().flatten().sum();
        let ratio = |n: i128, d: i128| if d == 0 { 0.0 } else { n as f64 / d as f64 };
        let name = |b: usize| {
            self.header
                .buffers
                .get(b)
                .map_or_else(|| format!("buf{b}"), |i| i.name.clone())
        };
        let buffers = self
            .first_read
            .iter()
            .map(|b| {
                let a = &self.bufs[b.idx()];
                let kept = i128::from(a.kept);
                AttrRow {
                    name: name(b.idx()),
                    size: a.first_size,
                    reads: a.reads,
                    writes: a.writes,
                    floats_read: a.floats_read,
                    avg: (a.kept > 0).then(|| ratio(a.sum_d, kept)),
                    min: a.min,
                    max: a.max,
                    cached: a.kept > 0 && a.sum_d < i128::from(working_set) * kept,
                    sum_d: a.sum_d,
                    sum_sd: a.sum_sd,
                    cols: cols::ARD_BUF,
                    ..AttrRow::default()
                }
            })
            .collect();
        let ops = self
            .ops
            .iter()
            .enumerate()
            .filter(|(_, o)| o.reads > 0)
            .map(|(i, o)| AttrRow {
                name: self
                    .header
                    .ops
                    .get(i)
                    .map_or_else(|| format!("op{i}"), |o| o.name.clone()),
                index: Some(i),
                line: Some(self.header.ops.get(i).map_or(0, |o| o.line)),
                reads: o.reads,
                floats_read: o.floats_read,
                sum_d: o.sum_d,
                sum_sd: o.sum_sd,
                cols: cols::ARD_OP,
                ..AttrRow::default()
            })
            .collect();
        ArdReport {
            options: ReuseOptions {
                granularity: "buffer",
                price: "reads",
                pricing: "sequential",
                cold: self.cold.name(),
            },
            steps: self.steps,
            reads: self.reads,
            writes: self.writes,
            cold: self.cold_reads,
            floats_read: self.floats_read,
            floats_accessed: self.clock,
            working_set,
            per_read: ratio(self.sum_d, i128::from(self.kept)),
            per_read_exact: [self.sum_d, i128::from(self.kept)],
            per_float: ratio(self.sum_sd, i128::from(self.kept_floats)),
            per_float_exact: [self.sum_sd, i128::from(self.kept_floats)],
            sum_d: self.sum_d,
            sum_sd: self.sum_sd,
            buffers,
            ops,
            events: self.keep_events.then(|| self.log.clone()),
        }
    }
}

impl Tracer for Reuse {
    fn begin(&mut self, h: &TraceHeader) {
        self.header = h.clone();
        self.grow(h.buffers.len().saturating_sub(1));
        self.ops = vec![OpAcc::default(); h.ops.len()];
    }

    fn access(&mut self, ev: &Event) {
        let b = ev.buf.idx();
        self.grow(b);
        self.steps = self.steps.max(ev.step.saturating_add(1));
        let start = self.clock;
        let mut distance = None;
        match ev.mode {
            Mode::Write => {
                self.writes += 1;
                self.bufs[b].writes += 1;
                self.anchor[b] = Some(start);
                self.last_size[b] = Some(ev.len);
            }
            Mode::Read => {
                let s = ev.len;
                self.reads += 1;
                self.floats_read += s;
                let acc = &mut self.bufs[b];
                if acc.reads == 0 {
                    acc.first_size = s;
                    self.first_read.push(ev.buf);
                }
                acc.reads += 1;
                acc.floats_read += s;
                let d = match self.anchor[b] {
                    Some(a) => Some((start - a) as i64),
                    None => {
                        self.cold_reads += 1;
                        match self.cold {
                            Cold::MinusOne => Some(-1),
                            Cold::Skip => None,
                        }
                    }
                };
                if let Some(d) = d {
                    let (d128, sd) = (i128::from(d), i128::from(d) * i128::from(s));
                    self.kept += 1;
                    self.kept_floats += s;
                    self.sum_d += d128;
                    self.sum_sd += sd;
                    let acc = &mut self.bufs[b];
                    acc.kept += 1;
                    acc.sum_d += d128;
                    acc.sum_sd += sd;
                    acc.min = Some(acc.min.map_or(d, |m| m.min(d)));
                    acc.max = Some(acc.max.map_or(d, |m| m.max(d)));
                    if let Some(op) = ev.op.and_then(|o| self.ops.get_mut(o.idx())) {
                        op.sum_d += d128;
                        op.sum_sd += sd;
                    }
                }
                if let Some(op) = ev.op.and_then(|o| self.ops.get_mut(o.idx())) {
                    op.reads += 1;
                    op.floats_read += s;
                }
                if self.kind == ReuseKind::Access {
                    self.anchor[b] = Some(start);
                }
                distance = d;
            }
        }
        if self.keep_events && !self.log_dropped && self.log.len() as u64 >= self.max_log {
            self.log_dropped = true;
            self.log = Vec::new();
        }
        if self.keep_events && !self.log_dropped {
            self.log.push(LogRow {
                step: ev.step,
                op: ev
                    .op
                    .and_then(|o| self.header.ops.get(o.idx()))
                    .map_or_else(|| "start".to_string(), |o| o.name.clone()),
                kind: if ev.mode == Mode::Read { "R" } else { "W" },
                clock: start,
                buffer: self
                    .header
                    .buffers
                    .get(b)
                    .map_or_else(|| format!("buf{b}"), |i| i.name.clone()),
                size: ev.len,
                distance,
            });
        }
        self.clock += ev.len;
    }
}
