//! Loading: source text → parsed program → `--set` check → `grad` lowering →
//! validation. A `Loaded` keeps the text, the program as written and the
//! lowered, validated program.

use crate::error::Error;
use crate::ir::{self, Program};
use crate::span::SourceFile;
use crate::valid::{self, Limits, Settings, Validated, ValidationError};
use crate::{interp, syntax, trace, train};

/// A loaded program: as written, and lowered and validated under the settings.
#[derive(Clone, Debug)]
pub struct Loaded {
    /// The source text.
    pub source: SourceFile,
    /// The program as parsed (with `grad` still in it).
    pub parsed: Program,
    /// The lowered, validated program.
    pub validated: Validated,
}

impl Loaded {
    /// A validated program that has no source file of its own (generated, or
    /// rewritten by a pass): its source is its canonical text.
    pub fn from_validated(validated: Validated) -> Loaded {
        let p = validated.program();
        Loaded {
            source: SourceFile::new(format!("{}.sutro", p.name), p.to_string()),
            parsed: p.clone(),
            validated,
        }
    }
}

/// The program name of a path: its file stem.
pub fn program_name(path: &str) -> String {
    std::path::Path::new(path)
        .file_stem()
        .map_or_else(|| path.to_string(), |s| s.to_string_lossy().into_owned())
}

/// Parses only.
pub fn parse(source: &SourceFile) -> Result<Program, Error> {
    syntax::parse(&program_name(&source.name), &source.text).map_err(Error::Parse)
}

/// Parse, check `--set` names, unroll loops, lower `grad`, validate.
pub fn load(source: &SourceFile, settings: &Settings, limits: &Limits) -> Result<Loaded, Error> {
    let parsed = parse(source)?;
    check_settings(&parsed, settings)?;
    let unrolled = valid::unroll(&parsed, settings, limits).map_err(Error::Valid)?;
    let shapes = valid::infer_shapes(&unrolled, settings, limits).map_err(Error::Valid)?;
    let lowered = ir::grad::lower(&unrolled, &shapes.shapes, &|n| shapes.value(n)).map_err(Error::Grad)?;
    let validated = valid::validate(lowered, settings, limits).map_err(Error::Valid)?;
    Ok(Loaded {
        source: source.clone(),
        parsed,
        validated,
    })
}

/// The first `--set` name that is neither a declared dim or hyper, `batch`, nor
/// a task key.
pub fn unknown_setting<'s>(p: &Program, s: &'s Settings) -> Option<&'s str> {
    s.values
        .keys()
        .find(|name| {
            !(p.dims.contains_key(*name) || p.hypers.contains_key(*name) || train::TASK_KEYS.contains(&name.as_str()))
        })
        .map(String::as_str)
}

/// Every `--set` name must be a declared dim or hyper, `batch`, or a task key.
pub fn check_settings(p: &Program, s: &Settings) -> Result<(), Error> {
    let Some(name) = unknown_setting(p, s) else {
        return Ok(());
    };
    let mut names: Vec<&str> = p
        .dims
        .keys()
        .map(String::as_str)
        .chain(p.hypers.keys().map(String::as_str))
        .collect();
    names.extend(train::TASK_KEYS);
    names.sort_unstable();
    names.dedup();
    Err(Error::Valid(vec![ValidationError::BadSetting {
        name: name.to_string(),
        message: format!("unknown name; known: {}", names.join(", ")),
    }]))
}

/// The trace header of a loaded program, with each op's 1-based source line.
pub fn header(l: &Loaded) -> trace::TraceHeader {
    let mut h = interp::header(&l.validated);
    let p = l.validated.program();
    for (i, op) in h.ops.iter_mut().enumerate() {
        let span = p.ops[i].span;
        op.line = l.source.line_col(span.start as usize).0 as u32;
    }
    h
}
