//! The trace format (docs/trace-format.md) written and read chunk by chunk, so
//! recording, replaying and exporting hold one chunk of events at a time and
//! their memory does not grow with the step count.
//!
//! `TraceWriter` is a `Tracer`: it writes the header at `begin`, a chunk every
//! `CHUNK` events, and the trailer at `finish`. `TraceReader` yields verified
//! chunks; `verify_file` checks the whole-file checksum in a first streaming
//! pass, so that no figure is computed from a damaged file.

use super::codec::{CHUNK, TraceError, TraceMeta, VERSION, check, config};
use super::{Event, FNV_OFFSET, TraceHeader, Tracer, fnv1a, fnv1a_extend};
use std::io::{Read, Write};

/// Writes a trace as events arrive.
pub struct TraceWriter<W: Write> {
    out: W,
    meta: TraceMeta,
    /// FNV-1a of every byte written so far (the whole-file checksum).
    sum: u64,
    pending: Vec<Event>,
    count: u64,
    error: Option<TraceError>,
    begun: bool,
}

impl<W: Write> TraceWriter<W> {
    /// A writer of a trace with these run facts; the header comes with `begin`.
    pub fn new(out: W, meta: TraceMeta) -> TraceWriter<W> {
        TraceWriter {
            out,
            meta,
            sum: FNV_OFFSET,
            pending: Vec::with_capacity(CHUNK),
            count: 0,
            error: None,
            begun: false,
        }
    }

    fn put(&mut self, bytes: &[u8]) {
        if self.error.is_some() {
            return;
        }
        self.sum = fnv1a_extend(self.sum, bytes);
        if let Err(e) = self.out.write_all(bytes) {
            self.error = Some(TraceError::Encode(e.to_string()));
        }
    }

    fn flush_chunk(&mut self) {
        if self.pending.is_empty() || self.error.is_some() {
            self.pending.clear();
            return;
        }
        match bincode::serde::encode_to_vec(&self.pending, config()) {
            Ok(body) => {
                let n = self.pending.len() as u32;
                self.put(&n.to_le_bytes());
                self.put(&(body.len() as u32).to_le_bytes());
                self.put(&body);
                self.put(&fnv1a(&body).to_le_bytes());
            }
            Err(e) => self.error = Some(TraceError::Encode(e.to_string())),
        }
        self.pending.clear();
    }

    /// Writes the last chunk and the trailer; returns the sink.
    pub fn finish(mut self) -> Result<W, TraceError> {
        if !self.begun {
            self.begin(&TraceHeader::default());
        }
        self.flush_chunk();
        self.put(&0u32.to_le_bytes());
        self.put(&0u32.to_le_bytes());
        self.put(&self.count.to_le_bytes());
        let sum = self.sum;
        self.put(&sum.to_le_bytes());
        match self.error {
            Some(e) => Err(e),
            None => Ok(self.out),
        }
    }
}

impl<W: Write> Tracer for TraceWriter<W> {
    fn begin(&mut self, h: &TraceHeader) {
        self.begun = true;
        self.put(super::codec::MAGIC);
        self.put(&VERSION.to_le_bytes());
        match bincode::serde::encode_to_vec((h, &self.meta), config()) {
            Ok(head) => {
                self.put(&(head.len() as u64).to_le_bytes());
                self.put(&head);
                self.put(&fnv1a(&head).to_le_bytes());
            }
            Err(e) => self.error = Some(TraceError::Encode(e.to_string())),
        }
    }

    fn access(&mut self, ev: &Event) {
        self.pending.push(*ev);
        self.count += 1;
        if self.pending.len() == CHUNK {
            self.flush_chunk();
        }
    }
}

/// Checks the whole-file checksum of a trace in one streaming pass (memory: one
/// read buffer), before anything is decoded from it.
pub fn verify_file(mut r: impl Read, max_bytes: u64) -> Result<(), TraceError> {
    let mut buf = vec![0u8; 1 << 16];
    // The last 8 bytes are the checksum: hash everything before them.
    let mut tail: Vec<u8> = Vec::with_capacity(8);
    let (mut sum, mut total) = (FNV_OFFSET, 0u64);
    let mut head = [0u8; 12];
    let mut head_len = 0usize;
    loop {
        let n = r.read(&mut buf).map_err(|e| TraceError::Invalid(e.to_string()))?;
        if n == 0 {
            break;
        }
        total += n as u64;
        if total > max_bytes {
            return Err(TraceError::TooBig {
                size: total,
                limit: max_bytes,
            });
        }
        for &b in &buf[..n] {
            if head_len < head.len() {
                head[head_len] = b;
                head_len += 1;
            }
        }
        tail.extend_from_slice(&buf[..n]);
        if tail.len() > 8 {
            let cut = tail.len() - 8;
            sum = fnv1a_extend(sum, &tail[..cut]);
            tail.drain(..cut);
        }
    }
    let magic = super::codec::MAGIC;
    if head_len < magic.len() || &head[..magic.len()] != magic {
        return Err(if magic.starts_with(&head[..head_len]) {
            TraceError::Truncated
        } else {
            TraceError::BadMagic
        });
    }
    if head_len < 12 {
        return Err(TraceError::Truncated);
    }
    let version = u32::from_le_bytes([head[8], head[9], head[10], head[11]]);
    if version != VERSION {
        return Err(TraceError::BadVersion { found: version });
    }
    if total < 20 || tail.len() != 8 {
        return Err(TraceError::Truncated);
    }
    let mut t = [0u8; 8];
    t.copy_from_slice(&tail);
    if sum != u64::from_le_bytes(t) {
        return Err(TraceError::Checksum { what: "file".into() });
    }
    Ok(())
}

/// Reads a trace chunk by chunk, verifying each chunk's checksum and events.
pub struct TraceReader<R: Read> {
    r: R,
    /// Buffers, ops, program identity.
    pub header: TraceHeader,
    /// Run facts.
    pub meta: TraceMeta,
    count: u64,
    done: bool,
}

fn read_exact(r: &mut impl Read, n: usize) -> Result<Vec<u8>, TraceError> {
    let mut v = Vec::new();
    r.take(n as u64)
        .read_to_end(&mut v)
        .map_err(|_| TraceError::Truncated)?;
    if v.len() == n {
        Ok(v)
    } else {
        Err(TraceError::Truncated)
    }
}

fn read_u32(r: &mut impl Read) -> Result<u32, TraceError> {
    let b = read_exact(r, 4)?;
    Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
}

fn read_u64(r: &mut impl Read) -> Result<u64, TraceError> {
    let b = read_exact(r, 8)?;
    let mut a = [0u8; 8];
    a.copy_from_slice(&b);
    Ok(u64::from_le_bytes(a))
}

/// Largest header or chunk body read into memory, in bytes.
const MAX_BLOCK: u64 = 1 << 30;

impl<R: Read> TraceReader<R> {
    /// Reads the magic, version and header; `max_bytes` bounds the header.
    pub fn new(mut r: R) -> Result<TraceReader<R>, TraceError> {
        let magic = read_exact(&mut r, 8)?;
        if magic != super::codec::MAGIC {
            return Err(TraceError::BadMagic);
        }
        let version = read_u32(&mut r)?;
        if version != VERSION {
            return Err(TraceError::BadVersion { found: version });
        }
        let head_len = read_u64(&mut r)?;
        if head_len > MAX_BLOCK {
            return Err(TraceError::Invalid(format!("header of {head_len} bytes")));
        }
        let head = read_exact(&mut r, head_len as usize)?;
        if fnv1a(&head) != read_u64(&mut r)? {
            return Err(TraceError::Checksum { what: "header".into() });
        }
        let ((header, meta), _): ((TraceHeader, TraceMeta), usize) = bincode::serde::decode_from_slice(&head, config())
            .map_err(|e| TraceError::Invalid(format!("header: {e}")))?;
        Ok(TraceReader {
            r,
            header,
            meta,
            count: 0,
            done: false,
        })
    }

    /// The next chunk of events, checked against the header; `None` after the
    /// last one (when the trailer's event count has been checked too).
    pub fn next_chunk(&mut self) -> Result<Option<Vec<Event>>, TraceError> {
        if self.done {
            return Ok(None);
        }
        let n = read_u32(&mut self.r)? as usize;
        let len = read_u32(&mut self.r)? as usize;
        if n == 0 {
            self.done = true;
            if read_u64(&mut self.r)? != self.count {
                return Err(TraceError::Invalid("event count or length mismatch".into()));
            }
            return Ok(None);
        }
        let chunk = read_exact(&mut self.r, len)?;
        if fnv1a(&chunk) != read_u64(&mut self.r)? {
            return Err(TraceError::Checksum {
                what: format!("chunk at event {}", self.count),
            });
        }
        let (evs, _): (Vec<Event>, usize) = bincode::serde::decode_from_slice(&chunk, config())
            .map_err(|e| TraceError::Invalid(format!("events: {e}")))?;
        if evs.len() != n {
            return Err(TraceError::Invalid("chunk event count mismatch".into()));
        }
        check(&self.header, &evs).map_err(|e| match e {
            TraceError::Invalid(m) => TraceError::Invalid(format!("{m} (chunk at event {})", self.count)),
            e => e,
        })?;
        self.count += n as u64;
        Ok(Some(evs))
    }

    /// The header, the run facts and the rest of the input.
    pub fn into_parts(self) -> (TraceHeader, TraceMeta, R) {
        (self.header, self.meta, self.r)
    }

    /// Feeds every event to a tracer (`begin`, events, `end`).
    pub fn replay(mut self, t: &mut dyn Tracer) -> Result<(), TraceError> {
        t.begin(&self.header);
        while let Some(chunk) = self.next_chunk()? {
            for e in &chunk {
                t.access(e);
            }
        }
        t.end();
        Ok(())
    }
}
