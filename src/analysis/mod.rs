//! Analyzers: consumers of the event stream that score a trace.
//!
//! Every analyzer is a `trace::Tracer`; it reads only the header and the events,
//! never the interpreter, so a live run and a replayed trace score identically.

pub mod reuse;
pub mod text;

pub use reuse::{ArdReport, Cold, Reuse, ReuseKind};
