//! Trace files as the command line sees them: read with a size limit, encode,
//! import, export, and describe (`trace info`). The codec and the formats live
//! in `trace`; this module maps their errors to `Error::Trace` with the path.

use crate::analysis::text::thousands;
use crate::error::Error;
use crate::json::ProgramId;
use crate::output::Output;
use crate::trace::codec::{self, TraceError, TraceFile};
use crate::trace::stream::{self, TraceReader};
use crate::trace::{BufInfo, OpInfo, export};
use serde::Serialize;
use std::collections::BTreeMap;
use std::fs::File;
use std::io::{BufReader, BufWriter};

fn trace_error(path: &str, error: TraceError) -> Error {
    Error::Trace {
        path: path.to_string(),
        error,
    }
}

fn cannot_read(path: &str, e: &std::io::Error) -> Error {
    Error::Usage(format!("cannot read `{path}`: {e}"))
}

/// Reads and decodes a trace file no larger than `max_bytes`.
pub fn read(path: &str, max_bytes: u64) -> Result<TraceFile, Error> {
    crate::output::note_input(path);
    let meta = std::fs::metadata(path).map_err(|e| cannot_read(path, &e))?;
    if meta.len() > max_bytes {
        return Err(trace_error(
            path,
            TraceError::TooBig {
                size: meta.len(),
                limit: max_bytes,
            },
        ));
    }
    let bytes = std::fs::read(path).map_err(|e| cannot_read(path, &e))?;
    codec::decode(&bytes, max_bytes).map_err(|e| trace_error(path, e))
}

/// A trace file opened for streaming.
pub type Reader = TraceReader<BufReader<File>>;

/// Opens a trace to stream it: the size limit, a first pass over the whole-file
/// checksum, then the header, checked against the memory budget `budget` (for
/// the commands that score or expand the events; `info` reads it whole).
pub fn open(path: &str, max_bytes: u64, budget: u64) -> Result<Reader, Error> {
    crate::output::note_input(path);
    let file = || File::open(path).map_err(|e| cannot_read(path, &e));
    let size = file()?.metadata().map_or(0, |m| m.len());
    if size > max_bytes {
        return Err(trace_error(path, TraceError::TooBig { size, limit: max_bytes }));
    }
    stream::verify_file(BufReader::new(file()?), max_bytes).map_err(|e| trace_error(path, e))?;
    let r = TraceReader::new(BufReader::new(file()?)).map_err(|e| trace_error(path, e))?;
    r.header
        .check_memory(budget)
        .map_err(|e| Error::Usage(format!("{path}: {e}")))?;
    Ok(r)
}

/// Feeds every event of an opened trace to a tracer, one chunk at a time.
pub fn replay(path: &str, r: Reader, t: &mut dyn crate::trace::Tracer) -> Result<(), Error> {
    r.replay(t).map_err(|e| trace_error(path, e))
}

/// Scores an opened trace with analyzers (and an `extra` tracer) in one pass.
/// The analyzers that keep something per event (`bytedmd_v2`, `--events` logs)
/// share half of the memory budget `budget`; one that outgrows its share is an
/// error naming the metric and the budget, never an allocation failure.
pub fn replay_scored(
    path: &str,
    r: Reader,
    list: &mut [Box<dyn crate::analysis::Analyzer>],
    extra: Option<&mut dyn crate::trace::Tracer>,
    budget: u64,
) -> Result<(), Error> {
    let keepers = list.iter().filter(|a| a.keeps_events()).count().max(1) as u64;
    for a in list.iter_mut() {
        a.limit_memory(budget / 2 / keepers);
    }
    let over = |list: &[Box<dyn crate::analysis::Analyzer>]| match list.iter().find_map(|a| a.over_budget()) {
        Some(m) => Err(Error::Usage(format!("{path}: {m}"))),
        None => Ok(()),
    };
    let mut r = r;
    let header = r.header.clone();
    let mut extra = extra;
    for a in list.iter_mut() {
        a.as_tracer().begin(&header);
    }
    if let Some(e) = extra.as_mut() {
        e.begin(&header);
    }
    while let Some(chunk) = r.next_chunk().map_err(|e| trace_error(path, e))? {
        for a in list.iter_mut() {
            let t = a.as_tracer();
            chunk.iter().for_each(|e| t.access(e));
        }
        if let Some(t) = extra.as_mut() {
            chunk.iter().for_each(|e| t.access(e));
        }
        // Stop at the first chunk that overflows a bound, not at the end of the file.
        over(list)?;
    }
    for a in list.iter_mut() {
        a.as_tracer().end();
    }
    if let Some(e) = extra.as_mut() {
        e.end();
    }
    over(list)
}

/// Encodes a trace for writing to `path` (named in errors).
pub fn encode(path: &str, t: &TraceFile) -> Result<Vec<u8>, Error> {
    codec::encode(t).map_err(|e| trace_error(path, e))
}

/// Builds a trace from a CSV file in the element-level export format; the file
/// and every table it sizes are checked against the memory budget first.
pub fn import_csv(path: &str, budget: u64) -> Result<TraceFile, Error> {
    crate::output::note_input(path);
    let size = std::fs::metadata(path).map_or(0, |m| m.len());
    crate::valid::memory::fits(&format!("the CSV file `{path}`"), size, budget / 2)
        .map_err(|e| Error::Usage(e.to_string()))?;
    let bytes = std::fs::read(path).map_err(|e| cannot_read(path, &e))?;
    let text = crate::span::decode_utf8(bytes).map_err(|e| Error::Usage(format!("cannot read `{path}`: {e}")))?;
    export::import_csv(&text, budget).map_err(|m| Error::Usage(format!("{path}:{m}")))
}

/// An export format of `trace export`.
pub use crate::trace::export::Format;

/// A trace in an export format, as one string (small traces and tests).
pub fn export(t: &TraceFile, format: Format) -> String {
    export::to_string(t, format)
}

/// Streams an opened trace to `output` (a file, a device or `-`) in an export
/// format: memory does not grow with the trace.
pub fn export_to(path: &str, r: Reader, format: Format, output: &str) -> Result<(), Error> {
    let o = Output::create(output).map_err(|e| Error::Usage(e.to_string()))?;
    let mut x = export::Exporter::new(BufWriter::new(o), format);
    r.replay(&mut x).map_err(|e| trace_error(path, e))?;
    let closed = |e: &std::io::Error| output == "-" && e.kind() == std::io::ErrorKind::BrokenPipe;
    let o = match x.finish() {
        Ok(o) => o,
        // A closed pipe (`| head`) ends the output quietly, as for every command.
        Err(e) if closed(&e) => return Ok(()),
        Err(e) => return Err(Error::Usage(format!("cannot write `{output}`: {e}"))),
    };
    match o.into_inner() {
        Ok(o) => o.finish().map_err(|e| Error::Usage(e.to_string())),
        Err(e) if closed(e.error()) => Ok(()),
        Err(e) => Err(Error::Usage(format!("cannot write `{output}`: {}", e.error()))),
    }
}

/// Flushes a buffered output and puts it in place.
pub fn finish(path: &str, o: BufWriter<Output>) -> Result<(), Error> {
    let o = o
        .into_inner()
        .map_err(|e| Error::Usage(format!("cannot write `{path}`: {}", e.error())))?;
    o.finish().map_err(|e| Error::Usage(e.to_string()))
}

/// `trace info`: the header, the run facts and the counts of a trace file.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct TraceInfo {
    /// Always 1.
    pub schema: u32,
    /// The program.
    pub program: ProgramId,
    /// The codec version.
    pub format_version: u32,
    /// Run seed.
    pub seed: u64,
    /// Task name.
    pub task: String,
    /// Steps recorded (1 + the largest step of an event).
    pub steps: u32,
    /// Event count.
    pub events: usize,
    /// Element accesses (Σ event lengths).
    pub element_accesses: u64,
    /// Bytes moved (4 per element).
    pub bytes: u64,
    /// Size of the file.
    pub file_bytes: u64,
    /// Resolved dims.
    pub dims: BTreeMap<String, u64>,
    /// Resolved hypers.
    pub hypers: BTreeMap<String, f64>,
    /// Buffers.
    pub buffers: Vec<BufInfo>,
    /// Ops.
    pub ops: Vec<OpInfo>,
    #[serde(skip)]
    path: String,
    #[serde(skip)]
    dim_list: Vec<(String, u64)>,
    #[serde(skip)]
    hyper_list: Vec<(String, f64)>,
}

/// Describes the trace at `path` in one streaming pass (after the checksum
/// pass): memory holds one chunk of events, whatever the step count. The
/// header is not checked against the memory budget: `info` allocates nothing
/// from its shapes.
pub fn info(path: &str, max_bytes: u64) -> Result<TraceInfo, Error> {
    let mut r = open(path, max_bytes, u64::MAX)?;
    let (mut events, mut accesses, mut steps) = (0usize, 0u64, 0u32);
    while let Some(chunk) = r.next_chunk().map_err(|e| trace_error(path, e))? {
        events += chunk.len();
        for e in &chunk {
            accesses = accesses.saturating_add(e.len);
            steps = steps.max(e.step.saturating_add(1));
        }
    }
    let (h, meta) = (&r.header, &r.meta);
    Ok(TraceInfo {
        schema: 1,
        program: ProgramId {
            name: h.program.clone(),
            hash: h.hash.clone(),
        },
        format_version: codec::VERSION,
        seed: meta.seed,
        task: meta.task.clone(),
        steps,
        events,
        element_accesses: accesses,
        bytes: accesses.saturating_mul(4),
        file_bytes: std::fs::metadata(path).map(|m| m.len()).unwrap_or(0),
        dims: meta.dims.iter().cloned().collect(),
        hypers: meta.hypers.iter().cloned().collect(),
        buffers: h.buffers.clone(),
        ops: h.ops.clone(),
        path: path.to_string(),
        dim_list: meta.dims.clone(),
        hyper_list: meta.hypers.clone(),
    })
}

impl TraceInfo {
    /// The text for people.
    pub fn text(&self) -> String {
        let mut s = format!(
            "trace {} (format version {})\nprogram {} (hash {}), task {}, seed {}\nsteps {}, events {}, element accesses {}, bytes {} (file {} bytes)\n",
            self.path,
            self.format_version,
            self.program.name,
            self.program.hash,
            self.task,
            self.seed,
            self.steps,
            self.events,
            thousands(i128::from(self.element_accesses)),
            thousands(i128::from(self.element_accesses) * 4),
            self.file_bytes,
        );
        let kv = |v: Vec<String>| v.join(", ");
        s.push_str(&format!(
            "dims: {}\n",
            kv(self.dim_list.iter().map(|(k, v)| format!("{k}={v}")).collect())
        ));
        s.push_str(&format!(
            "hypers: {}\n",
            kv(self.hyper_list.iter().map(|(k, v)| format!("{k}={v}")).collect())
        ));
        s.push_str(&format!(
            "\n{:<12} {:<7} {:>10} {:>10}  shape\n",
            "buffer", "role", "offset", "size"
        ));
        for b in &self.buffers {
            s.push_str(&format!(
                "{:<12} {:<7} {:>10} {:>10}  {:?}\n",
                b.name,
                b.role,
                b.offset,
                b.size(),
                b.shape
            ));
        }
        s.push_str(&format!("\n{:<4} {:<14} line\n", "op", "name"));
        for (i, o) in self.ops.iter().enumerate() {
            s.push_str(&format!("{i:<4} {:<14} {}\n", o.name, o.line));
        }
        s
    }
}
