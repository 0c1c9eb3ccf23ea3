//! The error of every pipeline: one variant per phase, turned into diagnostics
//! and an exit code by the CLI.

use crate::diag::Diagnostic;
use crate::interp::InterpError;
use crate::trace::codec::TraceError;
use crate::train::TrainError;
use crate::valid::ValidationError;
use crate::{dally, ir, opt, syntax};

/// Any error of the pipeline.
#[derive(Debug)]
pub enum Error {
    /// Syntax or name errors.
    Parse(Vec<syntax::ParseError>),
    /// `grad` lowering failed.
    Grad(ir::grad::GradError),
    /// Validation failed.
    Valid(Vec<ValidationError>),
    /// A run-time fault (exit 1).
    Interp(InterpError),
    /// The program does not fit the task.
    Task(String),
    /// Bad command-line input not tied to a source position.
    Usage(String),
    /// The optimizer or the verifier said no, or was misused.
    Opt(opt::OptError),
    /// An IR (placement cost model) command failed.
    Dally(dally::DallyError),
    /// A trace file that cannot be read or written.
    Trace {
        /// The file.
        path: String,
        /// What is wrong with it.
        error: TraceError,
    },
    /// A broken invariant of sutro itself (a bug, never bad input).
    Internal(String),
}

impl Error {
    /// The diagnostics to show.
    pub fn diagnostics(&self) -> Vec<Diagnostic> {
        match self {
            Error::Parse(es) => es.iter().map(Diagnostic::from).collect(),
            Error::Grad(e) => vec![Diagnostic::from(e)],
            Error::Valid(es) => es.iter().map(Diagnostic::from).collect(),
            Error::Interp(e) => {
                let note = match e {
                    InterpError::NonFinite { .. } => "lower the learning rate or check the inputs",
                    InterpError::BadIndex { .. } => "an index must be a whole number below the axis's extent",
                    InterpError::Counter { .. } => "run fewer steps",
                };
                vec![match e.span() {
                    Some(span) => Diagnostic::error(e.to_string())
                        .with_label(span, "this op")
                        .with_note(note),
                    None => Diagnostic::error(e.to_string()),
                }]
            }
            Error::Task(m) | Error::Usage(m) => vec![Diagnostic::error(m.clone())],
            Error::Opt(opt::OptError::ProgramB { span: Some(span), .. }) => {
                vec![Diagnostic::error(self.to_string_plain()).with_label(*span, "in program B")]
            }
            Error::Opt(e) => vec![Diagnostic::error(e.to_string())],
            Error::Dally(e) => vec![match e.span() {
                Some(s) => Diagnostic::error(e.to_string()).with_label(s, "here"),
                None => Diagnostic::error(e.to_string()),
            }],
            Error::Trace { path, error } => vec![Diagnostic::error(format!("{path}: {error}"))],
            Error::Internal(m) => vec![Diagnostic::error(format!("internal error: {m}"))],
        }
    }

    /// The first diagnostic's message, without source context.
    pub fn to_string_plain(&self) -> String {
        match self {
            Error::Opt(e) => e.to_string(),
            Error::Interp(e) => e.to_string(),
            Error::Task(m) | Error::Usage(m) => m.clone(),
            _ => self
                .diagnostics()
                .first()
                .map_or_else(String::new, |d| d.message.clone()),
        }
    }

    /// Whether the error is about program B of a comparison (its span points into B).
    pub fn is_about_b(&self) -> bool {
        matches!(self, Error::Opt(opt::OptError::ProgramB { .. }))
    }

    /// The process exit code: 1 for a run that failed, 2 for bad input.
    pub fn exit_code(&self) -> u8 {
        match self {
            Error::Interp(InterpError::Counter { .. }) => 2,
            Error::Interp(_) => 1,
            Error::Opt(opt::OptError::Objective(_) | opt::OptError::UnknownPass(_)) => 2,
            Error::Opt(_) | Error::Internal(_) => 1,
            Error::Dally(e) => e.exit_code(),
            _ => 2,
        }
    }
}

impl From<TrainError> for Error {
    fn from(e: TrainError) -> Error {
        match e {
            TrainError::Mismatch(m) => Error::Task(m),
            TrainError::Interp(e) => Error::Interp(e),
        }
    }
}

impl From<dally::DallyError> for Error {
    fn from(e: dally::DallyError) -> Error {
        match e {
            dally::DallyError::Internal(m) => Error::Internal(m),
            e => Error::Dally(e),
        }
    }
}

impl From<InterpError> for Error {
    fn from(e: InterpError) -> Error {
        Error::Interp(e)
    }
}

impl From<opt::OptError> for Error {
    fn from(e: opt::OptError) -> Error {
        match e {
            // A fault keeps its span, so it renders at the op that produced it.
            opt::OptError::Interp(e) => Error::Interp(e),
            e => Error::Opt(e),
        }
    }
}
