//! Trace exports (element-level CSV, Dinero IV `din`, Chrome/Perfetto JSON) and
//! the CSV import, as docs/trace-format.md defines them. Exports stream: an
//! `Exporter` is a `Tracer` that writes as events arrive.

use super::codec::{TraceFile, TraceMeta};
use super::{Event, TraceHeader, Tracer};
use serde_json::json;
use std::io::Write;

/// The export formats.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// `step,op,kind,buffer,element,address`, one element access per row.
    Csv,
    /// Dinero IV `din`.
    Din,
    /// Chrome/Perfetto trace-event JSON.
    Perfetto,
}

/// An exporter: a `Tracer` that writes one format to `out` as events arrive
/// (memory: the open op slice only). The first write error is kept for `finish`.
pub struct Exporter<W: Write> {
    out: W,
    format: Format,
    header: TraceHeader,
    error: Option<std::io::Error>,
    /// Perfetto: the slice being built (step, op, start clock, bytes read,
    /// bytes written), the clock, and whether a slice was written yet.
    open: Option<(u32, Option<crate::ir::OpId>, u64, u64, u64)>,
    clock: u64,
    first: bool,
}

impl<W: Write> Exporter<W> {
    /// An exporter of `format` into `out`.
    pub fn new(out: W, format: Format) -> Exporter<W> {
        Exporter {
            out,
            format,
            header: TraceHeader::default(),
            error: None,
            open: None,
            clock: 0,
            first: true,
        }
    }

    /// The sink, or the first write error.
    pub fn finish(mut self) -> std::io::Result<W> {
        if let Some(e) = self.error.take() {
            return Err(e);
        }
        self.out.flush()?;
        Ok(self.out)
    }

    fn emit(&mut self, f: impl FnOnce(&mut W) -> std::io::Result<()>) {
        if self.error.is_none()
            && let Err(e) = f(&mut self.out)
        {
            self.error = Some(e);
        }
    }

    fn close_slice(&mut self) {
        let Some((step, op, start, read, written)) = self.open.take() else {
            return;
        };
        let name = op
            .and_then(|o| self.header.ops.get(o.idx()))
            .map_or_else(|| "step start".to_string(), |o| o.name.clone());
        let v = json!({
            "name": name, "cat": "op", "ph": "X", "ts": start, "dur": self.clock - start, "pid": 1, "tid": 1,
            "args": {"step": step, "bytes_read": read, "bytes_written": written},
        });
        let sep = if self.first { "" } else { "," };
        self.first = false;
        self.emit(|o| write!(o, "{sep}{v}"));
    }
}

impl<W: Write> Tracer for Exporter<W> {
    fn begin(&mut self, h: &TraceHeader) {
        self.header = h.clone();
        match self.format {
            Format::Csv => self.emit(|o| o.write_all(b"step,op,kind,buffer,element,address\n")),
            Format::Din => {}
            Format::Perfetto => {
                // serde_json objects keep keys sorted: `traceEvents` comes last.
                let other = json!({"program": h.program, "hash": h.hash, "clock_unit": "floats moved (shown as µs)"});
                self.emit(|o| {
                    write!(
                        o,
                        "{{\"displayTimeUnit\":\"ns\",\"otherData\":{other},\"traceEvents\":["
                    )
                });
            }
        }
    }

    fn access(&mut self, e: &Event) {
        let read = e.mode == crate::ir::Mode::Read;
        match self.format {
            Format::Csv => {
                let Some(b) = self.header.buffers.get(e.buf.idx()) else {
                    return;
                };
                let (name, offset) = (b.name.clone(), b.offset);
                let op = e.op.map_or(-1, |o| i64::from(o.0));
                let k = if read { 'R' } else { 'W' };
                self.emit(|o| {
                    for a in e.addr..e.addr.saturating_add(e.len) {
                        writeln!(o, "{},{op},{k},{name},{},{a}", e.step, a - offset)?;
                    }
                    Ok(())
                });
            }
            Format::Din => {
                let label = u8::from(!read);
                self.emit(|o| {
                    for a in e.addr..e.addr.saturating_add(e.len) {
                        writeln!(o, "{label} {:x}", a.saturating_mul(4))?;
                    }
                    Ok(())
                });
            }
            Format::Perfetto => {
                if !matches!(self.open, Some((s, op, ..)) if s == e.step && op == e.op) {
                    self.close_slice();
                    self.open = Some((e.step, e.op, self.clock, 0, 0));
                }
                if let Some((_, _, _, r, w)) = &mut self.open {
                    let bytes = e.len.saturating_mul(4);
                    if read {
                        *r = r.saturating_add(bytes);
                    } else {
                        *w = w.saturating_add(bytes);
                    }
                }
                self.clock = self.clock.saturating_add(e.len);
            }
        }
    }

    fn end(&mut self) {
        if self.format == Format::Perfetto {
            self.close_slice();
            self.emit(|o| o.write_all(b"]}\n"));
        }
    }
}

/// A whole trace in one format, in memory (small traces and tests; the CLI streams).
pub fn to_string(t: &TraceFile, format: Format) -> String {
    let mut x = Exporter::new(Vec::new(), format);
    super::replay(&t.header, &t.events, &mut x);
    String::from_utf8(x.finish().unwrap_or_default()).unwrap_or_default()
}

/// One row of an imported CSV trace.
struct CsvRow {
    step: u32,
    op: Option<u32>,
    read: bool,
    buf: usize,
    elem: u64,
}

/// The checked fields of CSV line `ln`: (fields, step, op, is read, element).
type CsvFields<'a> = (Vec<&'a str>, u32, Option<u32>, bool, u64);

fn csv_fields(ln: usize, line: &str) -> Result<CsvFields<'_>, String> {
    let f: Vec<&str> = line.split(',').map(str::trim).collect();
    if f.len() != 6 {
        return Err(format!("{ln}: expected 6 fields, found {}", f.len()));
    }
    let step: u32 = f[0].parse().map_err(|_| format!("{ln}: bad step `{}`", f[0]))?;
    if step == u32::MAX {
        return Err(format!("{ln}: step {step} is too large (at most {})", u32::MAX - 1));
    }
    let op: i64 = f[1].parse().map_err(|_| format!("{ln}: bad op `{}`", f[1]))?;
    let op = match op {
        -1 => None,
        o if (0..=i64::from(u32::MAX - 1)).contains(&o) => Some(o as u32),
        _ => return Err(format!("{ln}: bad op `{}`", f[1])),
    };
    let read = match f[2] {
        "R" => true,
        "W" => false,
        k => return Err(format!("{ln}: kind must be R or W, got `{k}`")),
    };
    if f[3].is_empty() {
        return Err(format!("{ln}: empty buffer name"));
    }
    let elem: u64 = f[4].parse().map_err(|_| format!("{ln}: bad element `{}`", f[4]))?;
    if elem >= 1 << 40 {
        return Err(format!("{ln}: element {elem} is too large"));
    }
    Ok((f, step, op, read, elem))
}

/// Events of imported rows: consecutive elements of one buffer in one op and
/// kind merge into a range event.
fn csv_events(rows: Vec<CsvRow>, offsets: &[u64]) -> Vec<Event> {
    let mut events: Vec<Event> = Vec::new();
    for r in rows {
        let mode = if r.read {
            crate::ir::Mode::Read
        } else {
            crate::ir::Mode::Write
        };
        let addr = offsets[r.buf] + r.elem;
        let op = r.op.map(crate::ir::OpId);
        if let Some(last) = events.last_mut()
            && last.step == r.step
            && last.op == op
            && last.mode == mode
            && last.buf.idx() == r.buf
            && last.addr + last.len == addr
        {
            last.len += 1;
            continue;
        }
        events.push(Event {
            step: r.step,
            op,
            buf: crate::ir::BufId(r.buf as u32),
            mode,
            addr,
            len: 1,
        });
    }
    events
}

/// Parses the CSV export format into a trace; errors are `LINE: message`.
/// Everything sized from a value — the op table (largest op id + 1), the layout
/// (element indices), the events — is checked against `max_memory` (bytes) as
/// the row is read; a step must leave room for the step count (`step + 1`).
pub fn import_csv(text: &str, max_memory: u64) -> Result<TraceFile, String> {
    use crate::trace::{BYTES_PER_ELEMENT, BYTES_PER_ENTRY};
    use crate::valid::memory::{fits, product};
    let budget = |ln: usize, what: &str, count: u64, per: u64| -> Result<(), String> {
        product(what, &[count, per])
            .and_then(|b| fits(what, b, max_memory))
            .map(|_| ())
            .map_err(|e| format!("{ln}: {e}"))
    };
    let mut lines = text.lines().enumerate();
    match lines.next() {
        Some((_, h)) if h.trim() == "step,op,kind,buffer,element,address" => {}
        _ => return Err("1: expected the header `step,op,kind,buffer,element,address`".into()),
    }
    let mut names: indexmap::IndexMap<String, u64> = indexmap::IndexMap::new();
    let mut rows = Vec::new();
    let mut max_op: Option<u32> = None;
    for (i, line) in lines {
        let ln = i + 1;
        if line.trim().is_empty() {
            continue;
        }
        let (f, step, op, read, elem) = csv_fields(ln, line)?;
        budget(
            ln,
            &format!("element {elem} of `{}`", f[3]),
            elem + 1,
            BYTES_PER_ELEMENT,
        )?;
        if let Some(o) = op {
            budget(
                ln,
                &format!("the op table up to op {o}"),
                u64::from(o) + 1,
                BYTES_PER_ENTRY,
            )?;
        }
        budget(
            ln,
            "the rows read so far",
            rows.len() as u64 + 1,
            2 * std::mem::size_of::<CsvRow>() as u64,
        )?;
        let entry = names.entry(f[3].to_string()).or_insert(0);
        *entry = (*entry).max(elem + 1);
        let buf = names.get_index_of(f[3]).unwrap_or(0);
        max_op = max_op.max(op);
        rows.push(CsvRow {
            step,
            op,
            read,
            buf,
            elem,
        });
    }
    let mut offsets = Vec::new();
    let mut total = 0u64;
    for size in names.values() {
        offsets.push(total);
        total += size;
    }
    let last = text.lines().count();
    budget(last, "the layout of all buffers", total, BYTES_PER_ELEMENT)?;
    let header = TraceHeader {
        program: "imported".into(),
        hash: format!("{:016x}", crate::trace::fnv1a(text.as_bytes())),
        buffers: names
            .iter()
            .zip(&offsets)
            .map(|((n, size), off)| crate::trace::BufInfo {
                name: n.clone(),
                role: "temp".into(),
                shape: vec![*size],
                offset: *off,
            })
            .collect(),
        ops: (0..max_op.map_or(0, |m| m + 1))
            .map(|i| crate::trace::OpInfo {
                name: format!("op{i}"),
                line: 0,
            })
            .collect(),
    };
    let events = csv_events(rows, &offsets);
    // Steps are below u32::MAX (checked per row), so `step + 1` cannot wrap.
    let steps = events.iter().map(|e| e.step.saturating_add(1)).max().unwrap_or(0);
    Ok(TraceFile {
        header,
        meta: TraceMeta {
            steps,
            task: "imported".into(),
            ..TraceMeta::default()
        },
        events,
    })
}
