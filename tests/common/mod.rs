//! Hand-built traces for analyzer tests: a small header and an event builder.

#![allow(clippy::expect_used, clippy::unwrap_used)] // Helpers outside #[test] fns: a failed expect is a test failure.
#![allow(dead_code)] // Each test binary uses a different subset of the helpers.

use sutro::ir::{BufId, Mode, OpId};
use sutro::trace::{BufInfo, Event, OpInfo, TraceHeader, Tracer, replay};

/// A trace under construction: buffers laid out in declaration order.
#[derive(Clone, Debug, Default)]
pub struct Trace {
    pub header: TraceHeader,
    pub events: Vec<Event>,
    pub step: u32,
    cur_op: Option<OpId>,
}

impl Trace {
    /// Buffers as (name, role, size), laid out in order.
    pub fn new(bufs: &[(&str, &str, u64)]) -> Trace {
        let mut off = 0;
        let buffers = bufs
            .iter()
            .map(|&(name, role, size)| {
                let b = BufInfo {
                    name: name.to_string(),
                    role: role.to_string(),
                    shape: vec![size],
                    offset: off,
                };
                off += size;
                b
            })
            .collect();
        Trace {
            header: TraceHeader {
                program: "test".into(),
                hash: "0".into(),
                buffers,
                ops: Vec::new(),
            },
            ..Trace::default()
        }
    }

    /// Size-1 temporaries with these names.
    pub fn scalars(names: &[&str]) -> Trace {
        let v: Vec<(&str, &str, u64)> = names.iter().map(|n| (*n, "temp", 1)).collect();
        Trace::new(&v)
    }

    pub fn id(&self, name: &str) -> BufId {
        BufId(
            self.header
                .buffers
                .iter()
                .position(|b| b.name == name)
                .expect("known buffer") as u32,
        )
    }

    fn info(&self, name: &str) -> &BufInfo {
        &self.header.buffers[self.id(name).idx()]
    }

    /// Starts a new op; later `r`/`w` calls belong to it.
    pub fn op(&mut self) -> &mut Trace {
        let id = OpId(self.header.ops.len() as u32);
        self.header.ops.push(OpInfo {
            name: format!("op{}", id.0),
            line: id.0 + 1,
        });
        self.cur_op = Some(id);
        self
    }

    fn push(&mut self, name: &str, mode: Mode, lo: u64, len: u64, op: Option<OpId>) {
        let b = self.id(name);
        let off = self.info(name).offset;
        self.events.push(Event {
            step: self.step,
            op,
            buf: b,
            mode,
            addr: off + lo,
            len,
        });
    }

    /// Whole-buffer read in the current op.
    pub fn r(&mut self, name: &str) -> &mut Trace {
        let n = self.info(name).size();
        self.push(name, Mode::Read, 0, n, self.cur_op);
        self
    }

    /// Whole-buffer write in the current op.
    pub fn w(&mut self, name: &str) -> &mut Trace {
        let n = self.info(name).size();
        self.push(name, Mode::Write, 0, n, self.cur_op);
        self
    }

    /// Read of elements `lo .. lo + len` in the current op.
    pub fn r_part(&mut self, name: &str, lo: u64, len: u64) -> &mut Trace {
        self.push(name, Mode::Read, lo, len, self.cur_op);
        self
    }

    /// Write of elements `lo .. lo + len` in the current op.
    pub fn w_part(&mut self, name: &str, lo: u64, len: u64) -> &mut Trace {
        self.push(name, Mode::Write, lo, len, self.cur_op);
        self
    }

    /// A step-start write (op `None`).
    pub fn start(&mut self, name: &str) -> &mut Trace {
        let n = self.info(name).size();
        self.push(name, Mode::Write, 0, n, None);
        self
    }

    /// An op that only reads `name` (one access of the spec's access lists).
    pub fn read_op(&mut self, name: &str) -> &mut Trace {
        self.op().r(name)
    }

    /// An op that only writes `name`.
    pub fn write_op(&mut self, name: &str) -> &mut Trace {
        self.op().w(name)
    }

    pub fn run(&self, t: &mut dyn Tracer) {
        replay(&self.header, &self.events, t);
    }
}
