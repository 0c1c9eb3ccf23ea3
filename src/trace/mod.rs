//! Memory-access events and the one sink trait every consumer implements.
//!
//! The interpreter emits one `Event` per whole-buffer access named by the
//! effects table (never one per element). Anything that consumes events — a
//! recorder, an analyzer, a tee of several — implements `Tracer`, so a live run
//! and a replayed file drive the same code.

use crate::ir::{BufId, Mode, OpId};
pub mod codec;
pub mod export;
pub mod stream;

use serde::{Deserialize, Serialize};

/// One access of a buffer range.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Event {
    /// 0-based step index within the trace.
    pub step: u32,
    /// The op, or `None` for a step-start write.
    pub op: Option<OpId>,
    /// The buffer.
    pub buf: BufId,
    /// Read or write.
    pub mode: Mode,
    /// First element offset in the layout.
    pub addr: u64,
    /// Element count.
    pub len: u64,
}

/// A buffer as the trace header describes it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct BufInfo {
    /// Name.
    pub name: String,
    /// Role keyword (`param`, `temp`, …).
    pub role: String,
    /// Shape.
    pub shape: Vec<u64>,
    /// Element offset in the layout.
    pub offset: u64,
}

impl BufInfo {
    /// Element count.
    pub fn size(&self) -> u64 {
        // Saturates: a header read from a file may hold any shape.
        self.shape
            .iter()
            .try_fold(1u64, |a, d| a.checked_mul(*d))
            .unwrap_or(u64::MAX)
    }
}

/// An op as the trace header describes it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct OpInfo {
    /// Stable name.
    pub name: String,
    /// 1-based source line.
    pub line: u32,
}

/// What a consumer learns before the first event.
#[derive(Clone, Debug, PartialEq, Default, Serialize, Deserialize)]
pub struct TraceHeader {
    /// Program name.
    pub program: String,
    /// FNV-1a hash of the canonical program text, as 16 hex digits.
    pub hash: String,
    /// Buffer table, indexed by `BufId`.
    pub buffers: Vec<BufInfo>,
    /// Op table, indexed by `OpId`.
    pub ops: Vec<OpInfo>,
}

/// Bytes the analyzers may hold per element of a trace's layout (recency slots,
/// last-access clocks, liveness): the bound `TraceHeader::check_memory` uses.
pub const BYTES_PER_ELEMENT: u64 = 32;
/// Bytes the analyzers may hold per entry of the buffer or op table.
pub const BYTES_PER_ENTRY: u64 = 256;

impl TraceHeader {
    /// The elements of the layout: the end of its last buffer region.
    pub fn layout_elements(&self) -> Result<u64, crate::valid::memory::MemoryError> {
        let what = "the trace's layout (buffer offset + size)";
        self.buffers.iter().try_fold(0u64, |end, b| {
            let size = crate::valid::memory::product(what, &b.shape)?;
            Ok(end.max(crate::valid::memory::sum(what, &[b.offset, size])?))
        })
    }

    /// What scoring this trace may hold, checked against `max_memory` before any
    /// analyzer allocates: a header read from a file may declare any shape.
    pub fn check_memory(&self, max_memory: u64) -> Result<u64, crate::valid::memory::MemoryError> {
        use crate::valid::memory::{fits, product, sum};
        let elems = self.layout_elements()?;
        let what = "scoring the trace's layout";
        let per_elem = product(what, &[elems, BYTES_PER_ELEMENT])?;
        let tables = product(
            what,
            &[self.buffers.len() as u64 + self.ops.len() as u64, BYTES_PER_ENTRY],
        )?;
        let total = sum(what, &[per_elem, tables])?;
        fits(
            &format!("{what} ({elems} elements, {} ops)", self.ops.len()),
            total,
            max_memory,
        )
    }
}

/// A consumer of access events.
pub trait Tracer {
    /// Called once before the first event.
    fn begin(&mut self, _header: &TraceHeader) {}
    /// Called for every access, in program order.
    fn access(&mut self, ev: &Event);
    /// Called once after the last event.
    fn end(&mut self) {}
}

/// Keeps every event in memory.
#[derive(Clone, Debug, Default)]
pub struct VecTracer {
    /// The header seen by `begin`.
    pub header: TraceHeader,
    /// Every event, in order.
    pub events: Vec<Event>,
}

impl Tracer for VecTracer {
    fn begin(&mut self, header: &TraceHeader) {
        self.header = header.clone();
    }
    fn access(&mut self, ev: &Event) {
        self.events.push(*ev);
    }
}

/// Forwards every call to several tracers in turn.
pub struct Tee<'a>(pub Vec<&'a mut dyn Tracer>);

impl Tracer for Tee<'_> {
    fn begin(&mut self, h: &TraceHeader) {
        for t in &mut self.0 {
            t.begin(h);
        }
    }
    fn access(&mut self, ev: &Event) {
        for t in &mut self.0 {
            t.access(ev);
        }
    }
    fn end(&mut self) {
        for t in &mut self.0 {
            t.end();
        }
    }
}

/// Replays recorded events into a tracer.
pub fn replay(header: &TraceHeader, events: &[Event], t: &mut dyn Tracer) {
    t.begin(header);
    for e in events {
        t.access(e);
    }
    t.end();
}

/// FNV-1a, 64 bit: a fixed hash for program identity.
pub fn fnv1a(bytes: &[u8]) -> u64 {
    fnv1a_extend(FNV_OFFSET, bytes)
}

/// The FNV-1a offset basis (the hash of no bytes).
pub const FNV_OFFSET: u64 = 0xcbf2_9ce4_8422_2325;

/// FNV-1a continued over more bytes: `fnv1a_extend(fnv1a(a), b) == fnv1a(a ++ b)`.
pub fn fnv1a_extend(mut h: u64, bytes: &[u8]) -> u64 {
    for b in bytes {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}
