//! sutro: author, run, trace and score training steps for energy-efficient learning research.
//!
//! A `.sutro` program is one training step as an op list. The library pipeline is
//! parse → lower `grad` → validate → interpret (with a tracer) → analyze. Each
//! phase has its own error type; `Error` gathers them and turns them into
//! diagnostics. Nothing here prints.

pub mod analysis;
pub mod bench;
pub mod diag;
pub mod interp;
pub mod ir;
pub mod opt;
pub mod output;
pub mod plot;
pub mod report;
pub mod span;
pub mod syntax;
pub mod synth;
pub mod trace;
pub mod train;
pub mod valid;

use analysis::{ArdReport, Cold, Reuse, ReuseKind};
use diag::Diagnostic;
use interp::{Interp, InterpError, StartWrites};
use ir::Program;
use span::SourceFile;
use trace::Tracer;
use train::{TaskConfig, TrainError};
use valid::{Limits, Settings, Validated, ValidationError};

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
}

impl Error {
    /// The diagnostics to show.
    pub fn diagnostics(&self) -> Vec<Diagnostic> {
        match self {
            Error::Parse(es) => es.iter().map(Diagnostic::from).collect(),
            Error::Grad(e) => vec![Diagnostic::from(e)],
            Error::Valid(es) => es.iter().map(Diagnostic::from).collect(),
            Error::Interp(e) => {
                let InterpError::NonFinite { span, .. } = e;
                vec![
                    Diagnostic::error(e.to_string())
                        .with_label(*span, "this op")
                        .with_note("lower the learning rate or check the inputs"),
                ]
            }
            Error::Task(m) | Error::Usage(m) => vec![Diagnostic::error(m.clone())],
            Error::Opt(e) => vec![Diagnostic::error(e.to_string())],
        }
    }

    /// The process exit code: 1 for a run that failed, 2 for bad input.
    pub fn exit_code(&self) -> u8 {
        match self {
            Error::Interp(_) => 1,
            Error::Opt(opt::OptError::Objective(_) | opt::OptError::UnknownPass(_)) => 2,
            Error::Opt(_) => 1,
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

impl From<InterpError> for Error {
    fn from(e: InterpError) -> Error {
        Error::Interp(e)
    }
}

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

/// Parse, check `--set` names, lower `grad`, validate.
pub fn load(source: &SourceFile, settings: &Settings, limits: &Limits) -> Result<Loaded, Error> {
    let parsed = parse(source)?;
    check_settings(&parsed, settings)?;
    let shapes = valid::infer_shapes(&parsed, settings, limits).map_err(Error::Valid)?;
    let lowered = ir::grad::lower(&parsed, &shapes).map_err(Error::Grad)?;
    let validated = valid::validate(lowered, settings, limits).map_err(Error::Valid)?;
    Ok(Loaded {
        source: source.clone(),
        parsed,
        validated,
    })
}

/// Every `--set` name must be a declared dim or hyper, `batch`, or a task key.
pub fn check_settings(p: &Program, s: &Settings) -> Result<(), Error> {
    for name in s.values.keys() {
        let known =
            p.dims.contains_key(name) || p.hypers.contains_key(name) || train::TASK_KEYS.contains(&name.as_str());
        if !known {
            let mut names: Vec<&str> = p
                .dims
                .keys()
                .map(String::as_str)
                .chain(p.hypers.keys().map(String::as_str))
                .collect();
            names.extend(train::TASK_KEYS);
            names.sort_unstable();
            names.dedup();
            return Err(Error::Valid(vec![ValidationError::BadSetting {
                name: name.clone(),
                message: format!("unknown name; known: {}", names.join(", ")),
            }]));
        }
    }
    Ok(())
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

/// The named task, configured for a program (the command line, then the
/// program's dims, then the task's defaults), after checking that it fits.
pub fn task_for(name: &str, v: &Validated, s: &Settings) -> Result<(Box<dyn train::Task>, TaskConfig), Error> {
    let mut t = train::task(name)
        .ok_or_else(|| Error::Usage(format!("unknown task `{name}` (known: {})", train::TASKS.join(", "))))?;
    let cfg = train::config(name, v, s).map_err(|e| Error::Valid(vec![e]))?;
    t.configure(&cfg);
    t.fits(v.program()).map_err(Error::Task)?;
    Ok((t, cfg))
}

/// Runs `steps` instrumented training steps (cyclic order, from the initial
/// parameters) into a tracer: the first step writes params, state, inputs and
/// targets at its start; later steps write inputs and targets only.
pub fn trace_steps(
    l: &Loaded,
    task: &dyn train::Task,
    cfg: &TaskConfig,
    seed: u64,
    steps: u32,
    t: &mut dyn Tracer,
) -> Result<(), Error> {
    run_traced(&l.validated, &header(l), task, cfg, seed, steps, t)
}

/// Runs one instrumented step — the first step from the initial parameters on the
/// task's first example or batch — into a tracer (`sutro score`).
pub fn trace_first_step(
    v: &Validated,
    task: &dyn train::Task,
    cfg: &TaskConfig,
    seed: u64,
    t: &mut dyn Tracer,
) -> Result<(), Error> {
    run_traced(v, &interp::header(v), task, cfg, seed, 1, t)
}

fn run_traced(
    v: &Validated,
    h: &trace::TraceHeader,
    task: &dyn train::Task,
    cfg: &TaskConfig,
    seed: u64,
    steps: u32,
    t: &mut dyn Tracer,
) -> Result<(), Error> {
    let ports = train::ports(v, cfg)?;
    let data = task.generate(cfg, seed);
    let mut it = Interp::new(v, train::seed_for(seed, "init"));
    let n_train = cfg.n_train.max(1);
    t.begin(h);
    for s in 0..steps {
        let base = s as usize * cfg.batch;
        train::feed(&mut it, &ports, &data.train_x, &data.train_y, cfg.n, cfg.batch, |j| {
            (base + j) % n_train
        });
        let which = if s == 0 { StartWrites::All } else { StartWrites::Data };
        it.step(s, Some((&mut *t, which)))?;
    }
    t.end();
    Ok(())
}

/// The `ard_write` (or `ard_access`) report of the first step.
pub fn score_ard(
    v: &Validated,
    task: &dyn train::Task,
    cfg: &TaskConfig,
    seed: u64,
    kind: ReuseKind,
    cold: Cold,
    events: bool,
) -> Result<ArdReport, Error> {
    let mut r = Reuse::new(kind, cold).with_events(events);
    trace_first_step(v, task, cfg, seed, &mut r)?;
    Ok(r.report())
}

impl From<opt::OptError> for Error {
    fn from(e: opt::OptError) -> Error {
        Error::Opt(e)
    }
}

/// The `(x, y)` contents of the first `steps` training steps, in the order
/// `train::train` feeds them without shuffling.
pub fn task_batches(task: &dyn train::Task, cfg: &TaskConfig, seed: u64, steps: u64) -> Vec<(Vec<f32>, Vec<f32>)> {
    let data = task.generate(cfg, seed);
    let (n, b, n_train) = (cfg.n, cfg.batch, cfg.n_train.max(1));
    let per_epoch = n_train.div_ceil(b.max(1)).max(1);
    (0..steps as usize)
        .map(|k| {
            let base = (k % per_epoch) * b;
            let mut x = Vec::with_capacity(b * n);
            let mut y = Vec::with_capacity(b);
            for j in 0..b {
                let i = (base + j) % n_train;
                x.extend_from_slice(data.train_x.get(i * n..(i + 1) * n).unwrap_or(&[]));
                y.push(data.train_y.get(i).copied().unwrap_or(0.0));
            }
            (x, y)
        })
        .collect()
}

/// Checks the steps of a comparison run before its batches are drawn: at least
/// one (a comparison over zero steps proves nothing), and the batches of all
/// steps (`steps × batch × (n + 1)` f32) within the memory budget beside the
/// program's buffers and the task data.
pub fn check_compare_steps(v: &Validated, cfg: &TaskConfig, steps: u64) -> Result<(), Error> {
    use valid::memory::{product, sum};
    if steps == 0 {
        return Err(Error::Usage(
            "--steps must be at least 1: a comparison over zero steps checks nothing".into(),
        ));
    }
    let what = "the batches of every compared step (steps × batch × (n + 1))";
    let per = [steps, cfg.batch as u64, (cfg.n as u64).saturating_add(1), 4];
    let batches = product(what, &per).map_err(|e| Error::Valid(vec![e.into()]))?;
    let data = train::data_bytes(cfg, v).map_err(|e| Error::Valid(vec![e]))?;
    let total = sum(what, &[batches, data, v.buffer_bytes()]).map_err(|e| Error::Valid(vec![e.into()]))?;
    v.limits()
        .check_memory(what, total)
        .map_err(|e| Error::Valid(vec![e.into()]))?;
    Ok(())
}

/// Runs A and B for `steps` steps on the task from the same seed and returns the
/// first param or state element whose bits differ, if any.
pub fn verify_programs(
    a: &Validated,
    b: &Validated,
    task: &dyn train::Task,
    cfg: &TaskConfig,
    seed: u64,
    steps: u64,
) -> Result<Option<opt::verify::Mismatch>, Error> {
    train::ports(a, cfg)?;
    train::ports(b, cfg)?;
    check_compare_steps(b, cfg, steps)?;
    check_compare_steps(a, cfg, steps)?;
    let batches = task_batches(task, cfg, seed, steps);
    Ok(opt::verify::compare_runs(
        a,
        b,
        train::seed_for(seed, "init"),
        &batches,
    )?)
}

/// The result of `optimize`.
#[derive(Clone, Debug)]
pub struct Optimized {
    /// The optimized program, as re-loaded from its text.
    pub validated: Validated,
    /// Its canonical text, with a header comment stating objective and figures.
    pub text: String,
    /// What the passes did.
    pub report: opt::OptReport,
}

/// The optimizer pipeline: runs the passes; after each one re-runs the original
/// and the candidate for `steps` steps and compares every param and state bit
/// for bit; prints the result, re-loads the text and verifies that too. Any
/// failure is an error naming the pass, and no text is returned.
#[allow(clippy::too_many_arguments)] // One argument per independent input of the pipeline.
pub fn optimize(
    loaded: &Loaded,
    settings: &Settings,
    limits: &Limits,
    task: &dyn train::Task,
    cfg: &TaskConfig,
    seed: u64,
    steps: u64,
    opt_cfg: &opt::OptConfig,
) -> Result<Optimized, Error> {
    let original = &loaded.validated;
    train::ports(original, cfg)?;
    check_compare_steps(original, cfg, steps)?;
    let batches = task_batches(task, cfg, seed, steps);
    let init = train::seed_for(seed, "init");
    let mut check = |pass: opt::Pass, cand: &Validated| -> Result<(), opt::OptError> {
        match opt::verify::compare_runs(original, cand, init, &batches)? {
            None => Ok(()),
            Some(m) => Err(opt::OptError::Mismatch {
                pass: pass.name().into(),
                detail: m.describe(),
            }),
        }
    };
    let (cand, report) = opt::run_pipeline(original, settings, limits, opt_cfg, &mut check)?;
    if !(report.before.is_finite() && report.after.is_finite()) {
        return Err(opt::OptError::Objective(format!(
            "`{}` is not a finite number on this program ({} before, {} after); use smaller weights",
            report.objective, report.before, report.after
        ))
        .into());
    }
    let passes: Vec<&str> = opt_cfg.passes.iter().map(|p| p.name()).collect();
    let stop = report
        .stop
        .map_or(String::new(), |s| format!("; reorder stop: {}", s.name()));
    let text = format!(
        "# Optimized by `sutro optimize` (passes: {}; objective: {}).\n# {}: {} before, {} after ({:+.2} %){stop}; verified bit-identical over {steps} steps.\n{}",
        passes.join(","),
        report.objective,
        report.objective,
        opt::fmt_value(report.before),
        opt::fmt_value(report.after),
        -100.0 * report.improvement(),
        cand.program()
    );
    let reloaded = load(&SourceFile::new(&loaded.source.name, text.clone()), settings, limits)?;
    let reloaded_ops: Vec<String> = reloaded
        .validated
        .program()
        .order
        .iter()
        .map(|o| reloaded.validated.program().op_text(*o))
        .collect();
    let cand_ops: Vec<String> = cand
        .program()
        .order
        .iter()
        .map(|o| cand.program().op_text(*o))
        .collect();
    if reloaded_ops != cand_ops {
        return Err(opt::OptError::Invariant {
            pass: "print".into(),
            message: "the printed program does not re-load to the same schedule".into(),
        }
        .into());
    }
    if let Some(m) = opt::verify::compare_runs(original, &reloaded.validated, init, &batches)? {
        return Err(opt::OptError::Mismatch {
            pass: "print".into(),
            detail: m.describe(),
        }
        .into());
    }
    Ok(Optimized {
        validated: reloaded.validated,
        text,
        report,
    })
}
