//! sutro: author, run, trace and score training steps for energy-efficient learning research.
//!
//! A `.sutro` program is one training step as an op list. The library pipeline is
//! parse → lower `grad` → validate (`load`) → a [`Session`] on a task, which runs
//! steps (with a tracer) → analyze. Each phase has its own error type; [`Error`]
//! gathers them and turns them into diagnostics. Nothing here prints.
//!
//! This file only declares modules and re-exports the facade; every function
//! lives in a module, so the views (`bench`, `report`) depend on modules, not on
//! the crate root.

pub mod analysis;
pub mod bench;
pub mod dally;
pub mod diag;
pub mod error;
pub mod explain;
pub mod interp;
pub mod ir;
pub mod json;
pub mod load;
pub mod opt;
pub mod output;
pub mod plot;
pub mod report;
pub mod session;
pub mod span;
pub mod syntax;
pub mod synth;
pub mod trace;
pub mod tracefile;
pub mod train;
pub mod valid;

pub use error::Error;
pub use load::{Loaded, check_settings, header, load, parse, program_name};
pub use session::{Optimized, Params, Session};
