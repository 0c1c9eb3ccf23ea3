//! The trace of an IR program, so every trace metric also scores IR programs.
//!
//! The header has one buffer, `mem` (role `cells`), whose element `a − 1` is
//! the cell at address `a`, and one op per instruction (named `LINE:MNEMONIC`)
//! plus a last op `exit`. Events, all in step 0 and one element long: a
//! step-start write per input; per instruction its operand reads in operand
//! order, then its write; then one read per output under `exit`. The file
//! format is version 1 unchanged: events always carried element offsets.

use super::{DallyError, Program};
use crate::ir::{BufId, Mode, OpId};
use crate::span::SourceFile;
use crate::trace::codec::{TraceFile, TraceMeta};
use crate::trace::{BufInfo, Event, OpInfo, TraceHeader, fnv1a};

/// Largest address a recorded program may use (trace metrics size their
/// state by the layout).
pub const MAX_ADDR: u64 = 1 << 28;
/// Most events a recording may hold.
pub const MAX_EVENTS: usize = 1 << 25;

/// Records a program's trace; `src` gives line numbers and the source hash.
pub fn record(p: &Program, name: &str, src: &SourceFile) -> Result<TraceFile, DallyError> {
    let reads: usize = p.instrs.iter().map(|i| i.reads().len() + 1).sum();
    let n_events = p.inputs.len() + reads + p.outputs.len();
    if n_events > MAX_EVENTS {
        return Err(DallyError::Usage(format!(
            "{n_events} events: over the recording limit of {MAX_EVENTS}"
        )));
    }
    let top = p
        .instrs
        .iter()
        .flat_map(|i| i.reads().iter().chain([&i.dst]))
        .chain(&p.inputs)
        .copied()
        .max()
        .unwrap_or(0);
    if top > MAX_ADDR {
        return Err(DallyError::Usage(format!(
            "address {top} is over the recording limit of {MAX_ADDR} cells"
        )));
    }
    let mut ops: Vec<OpInfo> = p
        .instrs
        .iter()
        .map(|i| {
            let (line, _) = src.line_col(i.span.start as usize);
            OpInfo {
                name: format!("{line}:{}", i.op.name()),
                line: line as u32,
            }
        })
        .collect();
    let (out_line, _) = src.line_col(p.output_span.start as usize);
    ops.push(OpInfo {
        name: "exit".into(),
        line: out_line as u32,
    });
    let ev = |op: Option<usize>, a: u64, mode: Mode| Event {
        step: 0,
        op: op.map(|o| OpId(o as u32)),
        buf: BufId(0),
        mode,
        addr: a - 1,
        len: 1,
    };
    let mut events = Vec::with_capacity(n_events);
    events.extend(p.inputs.iter().map(|&a| ev(None, a, Mode::Write)));
    for (k, i) in p.instrs.iter().enumerate() {
        events.extend(i.reads().iter().map(|&a| ev(Some(k), a, Mode::Read)));
        events.push(ev(Some(k), i.dst, Mode::Write));
    }
    let exit = p.instrs.len();
    events.extend(p.outputs.iter().map(|&a| ev(Some(exit), a, Mode::Read)));
    let hash = format!("{:016x}", fnv1a(p.to_string().as_bytes()));
    Ok(TraceFile {
        header: TraceHeader {
            program: name.to_string(),
            hash,
            buffers: vec![BufInfo {
                name: "mem".into(),
                role: "cells".into(),
                shape: vec![top],
                offset: 0,
            }],
            ops,
        },
        meta: TraceMeta {
            seed: 0,
            steps: 1,
            task: "ir".into(),
            dims: Vec::new(),
            hypers: Vec::new(),
            source_hash: format!("{:016x}", fnv1a(src.text.as_bytes())),
        },
        events,
    })
}
