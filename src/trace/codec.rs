//! The trace file format (docs/trace-format.md): magic, version, a bincode
//! header, checksummed chunks of range events, and a checksum over everything.
//!
//! Decoding verifies the whole-file checksum before it decodes anything, then
//! every chunk's own checksum, then that every event names a buffer and op of the
//! header and stays inside its buffer's region — so analyzers never see an event
//! they could misread, and no figure is computed from a damaged file.

use super::{Event, TraceHeader, fnv1a};
use serde::{Deserialize, Serialize};
use thiserror::Error;

/// The first eight bytes of every trace file.
pub const MAGIC: &[u8; 8] = b"SUTROTRC";
/// The format version this build reads and writes.
pub const VERSION: u32 = 1;
/// Events per chunk.
const CHUNK: usize = 4096;
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

fn config()
-> bincode::config::Configuration<bincode::config::LittleEndian, bincode::config::Varint, bincode::config::Limit<LIMIT>>
{
    bincode::config::standard().with_limit::<LIMIT>()
}

/// Encodes a trace.
pub fn encode(t: &TraceFile) -> Result<Vec<u8>, TraceError> {
    let mut out = Vec::new();
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&VERSION.to_le_bytes());
    let head = enc(&(&t.header, &t.meta))?;
    out.extend_from_slice(&(head.len() as u64).to_le_bytes());
    out.extend_from_slice(&head);
    out.extend_from_slice(&fnv1a(&head).to_le_bytes());
    for chunk in t.events.chunks(CHUNK) {
        let body = enc(chunk)?;
        out.extend_from_slice(&(chunk.len() as u32).to_le_bytes());
        out.extend_from_slice(&(body.len() as u32).to_le_bytes());
        out.extend_from_slice(&body);
        out.extend_from_slice(&fnv1a(&body).to_le_bytes());
    }
    out.extend_from_slice(&0u32.to_le_bytes());
    out.extend_from_slice(&0u32.to_le_bytes());
    out.extend_from_slice(&(t.events.len() as u64).to_le_bytes());
    let sum = fnv1a(&out);
    out.extend_from_slice(&sum.to_le_bytes());
    Ok(out)
}

fn enc<T: Serialize + ?Sized>(v: &T) -> Result<Vec<u8>, TraceError> {
    bincode::serde::encode_to_vec(v, config()).map_err(|e| TraceError::Encode(e.to_string()))
}

struct Reader<'a> {
    b: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], TraceError> {
        let end = self
            .pos
            .checked_add(n)
            .filter(|e| *e <= self.b.len())
            .ok_or(TraceError::Truncated)?;
        let s = &self.b[self.pos..end];
        self.pos = end;
        Ok(s)
    }
    fn u32(&mut self) -> Result<u32, TraceError> {
        let s = self.take(4)?;
        Ok(u32::from_le_bytes([s[0], s[1], s[2], s[3]]))
    }
    fn u64(&mut self) -> Result<u64, TraceError> {
        let s = self.take(8)?;
        let mut a = [0u8; 8];
        a.copy_from_slice(s);
        Ok(u64::from_le_bytes(a))
    }
}

/// Decodes and verifies a trace; `max_bytes` bounds the file size.
pub fn decode(bytes: &[u8], max_bytes: u64) -> Result<TraceFile, TraceError> {
    if bytes.len() as u64 > max_bytes {
        return Err(TraceError::TooBig {
            size: bytes.len() as u64,
            limit: max_bytes,
        });
    }
    if bytes.len() < MAGIC.len() || &bytes[..MAGIC.len()] != MAGIC {
        return Err(if MAGIC.starts_with(bytes) {
            TraceError::Truncated
        } else {
            TraceError::BadMagic
        });
    }
    let mut r = Reader {
        b: bytes,
        pos: MAGIC.len(),
    };
    let version = r.u32()?;
    if version != VERSION {
        return Err(TraceError::BadVersion { found: version });
    }
    // The whole-file checksum first: nothing is decoded from a damaged file.
    if bytes.len() < r.pos + 8 {
        return Err(TraceError::Truncated);
    }
    let (body, tail) = bytes.split_at(bytes.len() - 8);
    let mut t = [0u8; 8];
    t.copy_from_slice(tail);
    if fnv1a(body) != u64::from_le_bytes(t) {
        return Err(TraceError::Checksum { what: "file".into() });
    }
    let mut r = Reader { b: body, pos: r.pos };
    let head_len = usize::try_from(r.u64()?).map_err(|_| TraceError::Truncated)?;
    let head = r.take(head_len)?;
    if fnv1a(head) != r.u64()? {
        return Err(TraceError::Checksum { what: "header".into() });
    }
    let ((header, meta), _): ((TraceHeader, TraceMeta), usize) =
        bincode::serde::decode_from_slice(head, config()).map_err(|e| TraceError::Invalid(format!("header: {e}")))?;
    let mut events: Vec<Event> = Vec::new();
    loop {
        let n = r.u32()? as usize;
        let len = r.u32()? as usize;
        if n == 0 {
            break;
        }
        let chunk = r.take(len)?;
        if fnv1a(chunk) != r.u64()? {
            return Err(TraceError::Checksum {
                what: format!("chunk at event {}", events.len()),
            });
        }
        let (evs, _): (Vec<Event>, usize) = bincode::serde::decode_from_slice(chunk, config())
            .map_err(|e| TraceError::Invalid(format!("events: {e}")))?;
        if evs.len() != n {
            return Err(TraceError::Invalid("chunk event count mismatch".into()));
        }
        events.extend(evs);
    }
    if r.u64()? != events.len() as u64 || r.pos != body.len() {
        return Err(TraceError::Invalid("event count or length mismatch".into()));
    }
    check(&header, &events)?;
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
