//! Helpers shared by the integration tests: run the binary, load programs, and
//! build small traces by hand for analyzer tests.
#![allow(clippy::expect_used, clippy::unwrap_used)] // Test helpers: a failure is a test failure.
#![allow(dead_code)] // Each test binary uses a different subset.

use std::path::PathBuf;
use std::process::{Command, Output};

/// The repository root.
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Runs the `sutro` binary with arguments, from the repository root.
pub fn sutro(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_sutro"))
        .args(args)
        .current_dir(root())
        .output()
        .expect("run sutro")
}

/// Runs `sutro` and parses stdout as JSON, asserting exit code 0.
pub fn sutro_json(args: &[&str]) -> serde_json::Value {
    let out = sutro(args);
    assert!(
        out.status.success(),
        "sutro {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("stdout is JSON")
}

/// Loads a program file through the library pipeline with `--set` pairs.
pub fn load(path: &str, sets: &[(&str, &str)]) -> sutro::Loaded {
    let text = std::fs::read_to_string(root().join(path)).expect("read program");
    load_text(path, &text, sets)
}

/// Loads program text through the library pipeline.
pub fn load_text(name: &str, text: &str, sets: &[(&str, &str)]) -> sutro::Loaded {
    let file = sutro::span::SourceFile::new(name, text);
    let mut s = sutro::valid::Settings::default();
    for (k, v) in sets {
        s = s.with(k, v);
    }
    match sutro::load(&file, &s, &sutro::valid::Limits::default()) {
        Ok(l) => l,
        Err(e) => panic!("{}", sutro::diag::render(&e.diagnostics(), Some(&file), false)),
    }
}

// Hand-built traces: a small header and an event builder.
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
