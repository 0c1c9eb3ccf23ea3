//! The trace file format (docs/trace-format.md): magic, version, a bincode
//! header, checksummed chunks of range events, and a checksum over everything.
//!
//! Decoding verifies the whole-file checksum before it decodes anything, then
//! every chunk's own checksum, then that every event names a buffer and op of the
//! header and stays inside its buffer's region — so analyzers never see an event
//! they could misread, and no figure is computed from a damaged file.

use super::{Event, TraceHeader};
use serde::{Deserialize, Serialize};
use thiserror::Error;

/// The first eight bytes of every trace file.
pub const MAGIC: &[u8; 8] = b"SUTROTRC";
/// The format version this build reads and writes.
pub const VERSION: u32 = 1;
/// Events per chunk.
pub(crate) const CHUNK: usize = 4096;
/// Largest decoded header or chunk, in bytes.
const LIMIT: usize = 1 << 30;

/// Run facts recorded beside the header.
#[derive(Clone, Debug, PartialEq, Default, Serialize, Deserialize)]
pub struct TraceMeta {
    /// Run seed.
    pub seed: u64,
    /// Steps recorded.
    pub steps: u32,
    /// Task name.
    pub task: String,
    /// Resolved dims.
    pub dims: Vec<(String, u64)>,
    /// Resolved hypers.
    pub hypers: Vec<(String, f64)>,
    /// FNV-1a of the source file as written.
    pub source_hash: String,
}

/// A whole trace in memory.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct TraceFile {
    /// Buffers, ops, program identity.
    pub header: TraceHeader,
    /// Run facts.
    pub meta: TraceMeta,
    /// Every event in order.
    pub events: Vec<Event>,
}

/// Why a file is not a usable trace.
#[derive(Clone, Debug, PartialEq, Error)]
pub enum TraceError {
    /// Does not start with the magic string.
    #[error("not a sutro trace file (bad magic)")]
    BadMagic,
    /// Written by another format version.
    #[error("unsupported trace format version {found} (this sutro reads version {VERSION})")]
    BadVersion { found: u32 },
    /// Ends early.
    #[error("trace file is truncated")]
    Truncated,
    /// A checksum does not match.
    #[error("trace file is corrupt: {what} checksum mismatch")]
    Checksum { what: String },
    /// Structurally invalid content.
    #[error("trace file is corrupt: {0}")]
    Invalid(String),
    /// Larger than allowed.
    #[error("trace file has {size} bytes, over the limit of {limit} (--max-trace-bytes)")]
    TooBig { size: u64, limit: u64 },
    /// Encoding failed.
    #[error("cannot encode trace: {0}")]
    Encode(String),
}

pub(crate) fn config()
-> bincode::config::Configuration<bincode::config::LittleEndian, bincode::config::Varint, bincode::config::Limit<LIMIT>>
{
    bincode::config::standard().with_limit::<LIMIT>()
}

/// Encodes a trace (the same bytes `stream::TraceWriter` writes as it goes).
pub fn encode(t: &TraceFile) -> Result<Vec<u8>, TraceError> {
    let mut w = super::stream::TraceWriter::new(Vec::new(), t.meta.clone());
    super::replay(&t.header, &t.events, &mut w);
    w.finish()
}

/// Decodes and verifies a trace held in memory; `max_bytes` bounds the file
/// size. The whole-file checksum is checked before anything is decoded.
pub fn decode(bytes: &[u8], max_bytes: u64) -> Result<TraceFile, TraceError> {
    if bytes.len() as u64 > max_bytes {
        return Err(TraceError::TooBig {
            size: bytes.len() as u64,
            limit: max_bytes,
        });
    }
    super::stream::verify_file(bytes, max_bytes)?;
    let mut r = super::stream::TraceReader::new(bytes)?;
    let mut events = Vec::new();
    while let Some(chunk) = r.next_chunk()? {
        events.extend(chunk);
    }
    let (header, meta, rest) = r.into_parts();
    // Only the file checksum may follow the trailer.
    if rest.len() != 8 {
        return Err(TraceError::Invalid("event count or length mismatch".into()));
    }
    Ok(TraceFile { header, meta, events })
}

/// Every event must name a buffer and op of the header and stay inside its
/// buffer, at a step below `u32::MAX` (so a step count `step + 1` fits).
pub fn check(h: &TraceHeader, events: &[Event]) -> Result<(), TraceError> {
    for (i, e) in events.iter().enumerate() {
        if e.step == u32::MAX {
            return Err(TraceError::Invalid(format!("event {i} has step {}", e.step)));
        }
        let b = h
            .buffers
            .get(e.buf.idx())
            .ok_or_else(|| TraceError::Invalid(format!("event {i} names buffer {}", e.buf.0)))?;
        if let Some(op) = e.op
            && op.idx() >= h.ops.len()
        {
            return Err(TraceError::Invalid(format!("event {i} names op {}", op.0)));
        }
        let end = e.addr.checked_add(e.len);
        let limit = b.offset.checked_add(b.size());
        if e.addr < b.offset || end.is_none() || limit.is_none() || end > limit {
            return Err(TraceError::Invalid(format!("event {i} leaves buffer `{}`", b.name)));
        }
    }
    Ok(())
}
