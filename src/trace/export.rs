//! Trace exports (element-level CSV, Dinero IV `din`, Chrome/Perfetto JSON) and
//! the CSV import, as docs/trace-format.md defines them. Pure functions of a
//! `TraceFile`: the CLI only writes their text.

use super::codec::{TraceFile, TraceMeta};
use super::{Event, TraceHeader};
use serde_json::{Value, json};

/// One element access per row, in trace order.
pub fn csv(t: &TraceFile) -> String {
    let mut s = String::from("step,op,kind,buffer,element,address\n");
    for e in &t.events {
        let b = &t.header.buffers[e.buf.idx()];
        let op = e.op.map_or(-1, |o| i64::from(o.0));
        let k = if e.mode == crate::ir::Mode::Read { 'R' } else { 'W' };
        for a in e.addr..e.addr + e.len {
            s.push_str(&format!("{},{op},{k},{},{},{a}\n", e.step, b.name, a - b.offset));
        }
    }
    s
}

/// Dinero IV `din`: `0 ADDR` per element read, `1 ADDR` per element write, hex byte addresses.
pub fn din(t: &TraceFile) -> String {
    let mut s = String::new();
    for e in &t.events {
        let label = if e.mode == crate::ir::Mode::Read { 0 } else { 1 };
        for a in e.addr..e.addr + e.len {
            s.push_str(&format!("{label} {:x}\n", a * 4));
        }
    }
    s
}

/// Chrome/Perfetto trace-event JSON: one complete slice per op execution, on a
/// timeline whose unit is the clock (floats moved), with bytes read and written.
pub fn perfetto(t: &TraceFile) -> String {
    let mut slices: Vec<Value> = Vec::new();
    let mut clock = 0u64;
    let mut i = 0;
    while i < t.events.len() {
        let (step, op) = (t.events[i].step, t.events[i].op);
        let start = clock;
        let (mut read, mut written) = (0u64, 0u64);
        while i < t.events.len() && t.events[i].step == step && t.events[i].op == op {
            let e = &t.events[i];
            if e.mode == crate::ir::Mode::Read {
                read += e.len * 4;
            } else {
                written += e.len * 4;
            }
            clock += e.len;
            i += 1;
        }
        let name = op
            .and_then(|o| t.header.ops.get(o.idx()))
            .map_or_else(|| "step start".to_string(), |o| o.name.clone());
        slices.push(json!({
            "name": name, "cat": "op", "ph": "X", "ts": start, "dur": clock - start, "pid": 1, "tid": 1,
            "args": {"step": step, "bytes_read": read, "bytes_written": written},
        }));
    }
    let v = json!({
        "traceEvents": slices,
        "displayTimeUnit": "ns",
        "otherData": {"program": t.header.program, "hash": t.header.hash, "clock_unit": "floats moved (shown as µs)"},
    });
    format!("{}\n", serde_json::to_string(&v).unwrap_or_default())
}

/// One parsed row of the CSV export format.
struct CsvRow<'a> {
    step: u32,
    op: Option<u32>,
    read: bool,
    buf: &'a str,
    elem: u64,
}

/// Parses one data line (`ln` is its 1-based line number).
fn csv_row(ln: usize, line: &str) -> Result<CsvRow<'_>, String> {
    let f: Vec<&str> = line.split(',').map(str::trim).collect();
    if f.len() != 6 {
        return Err(format!("{ln}: expected 6 fields, found {}", f.len()));
    }
    let step: u32 = f[0].parse().map_err(|_| format!("{ln}: bad step `{}`", f[0]))?;
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
    Ok(CsvRow {
        step,
        op,
        read,
        buf: f[3],
        elem,
    })
}

/// Rows as range events: consecutive elements of one buffer in one op and kind
/// merge into one event. `rows` carry buffer indices into `offsets`.
fn merge_events(rows: &[(CsvRow<'_>, usize)], offsets: &[u64]) -> Vec<Event> {
    let mut events: Vec<Event> = Vec::new();
    for (r, buf) in rows {
        let mode = if r.read {
            crate::ir::Mode::Read
        } else {
            crate::ir::Mode::Write
        };
        let addr = offsets[*buf] + r.elem;
        let op = r.op.map(crate::ir::OpId);
        if let Some(last) = events.last_mut()
            && last.step == r.step
            && last.op == op
            && last.mode == mode
            && last.buf.idx() == *buf
            && last.addr + last.len == addr
        {
            last.len += 1;
            continue;
        }
        events.push(Event {
            step: r.step,
            op,
            buf: crate::ir::BufId(*buf as u32),
            mode,
            addr,
            len: 1,
        });
    }
    events
}

/// Parses the CSV export format into a trace; errors are `LINE: message`.
pub fn import_csv(text: &str) -> Result<TraceFile, String> {
    let mut lines = text.lines().enumerate();
    match lines.next() {
        Some((_, h)) if h.trim() == "step,op,kind,buffer,element,address" => {}
        _ => return Err("1: expected the header `step,op,kind,buffer,element,address`".into()),
    }
    let mut names: indexmap::IndexMap<String, u64> = indexmap::IndexMap::new();
    let mut rows = Vec::new();
    let mut max_op: Option<u32> = None;
    for (i, line) in lines {
        if line.trim().is_empty() {
            continue;
        }
        let r = csv_row(i + 1, line)?;
        let entry = names.entry(r.buf.to_string()).or_insert(0);
        *entry = (*entry).max(r.elem + 1);
        let buf = names.get_index_of(r.buf).unwrap_or(0);
        max_op = max_op.max(r.op);
        rows.push((r, buf));
    }
    let mut offsets = Vec::new();
    let mut total = 0u64;
    for size in names.values() {
        offsets.push(total);
        total += size;
    }
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
    let events = merge_events(&rows, &offsets);
    let steps = events.iter().map(|e| e.step + 1).max().unwrap_or(0);
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
