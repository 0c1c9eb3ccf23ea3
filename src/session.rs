//! The run facade: one loaded program on one task with one run seed.
//!
//! A `Session` is the only place that runs training steps. Tracing N steps
//! (`score`, `trace record`, `diff`, bench and report scoring), training (`run`,
//! bench, report), verifying two programs step by step (`verify`) and the
//! optimizer's bit-exact checks all go through it, so every one of them feeds
//! the examples `train::Examples` defines — the order `run` trains in. The trace
//! header (which prints the whole program for its hash) is built once, here.

use crate::error::Error;
use crate::interp;
use crate::load::{Loaded, header, load};
use crate::opt::verify::{Mismatch, Pairs};
use crate::opt::{self, OptConfig, OptError, Pass};
use crate::span::SourceFile;
use crate::trace::codec::{TraceFile, TraceMeta};
use crate::trace::{TraceHeader, Tracer, VecTracer, fnv1a};
use crate::train::{self, Dataset, EpochStats, Ports, Run, RunOptions, RunResult, Task, TaskConfig};
use crate::valid::{Limits, Settings, Validated};

/// Final values of every param and state buffer, in declaration order.
pub type Params = Vec<(String, Vec<f32>)>;

/// A program ready to run on a task: loaded, with its task configured and
/// checked (ports and `Task::fits`), the settings it was loaded under, the run
/// seed and its trace header.
pub struct Session {
    loaded: Loaded,
    settings: Settings,
    limits: Limits,
    task: Box<dyn Task>,
    cfg: TaskConfig,
    ports: Ports,
    seed: u64,
    header: TraceHeader,
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session")
            .field("program", &self.header.program)
            .field("task", &self.cfg)
            .field("seed", &self.seed)
            .finish_non_exhaustive()
    }
}

/// The result of `Session::optimize`.
#[derive(Clone, Debug)]
pub struct Optimized {
    /// The optimized program, as re-loaded from its text.
    pub validated: Validated,
    /// Its canonical text, with a header comment stating objective and figures.
    pub text: String,
    /// What the passes did.
    pub report: opt::OptReport,
}

impl Session {
    /// Configures `task` for a loaded program (the command line, then the
    /// program's dims, then the task's defaults) and checks that it fits.
    pub fn new(loaded: Loaded, task: &str, settings: &Settings, limits: &Limits, seed: u64) -> Result<Session, Error> {
        let mut t = train::task(task)
            .ok_or_else(|| Error::Usage(format!("unknown task `{task}` (known: {})", train::TASKS.join(", "))))?;
        let v = &loaded.validated;
        let cfg = train::config(task, v, settings).map_err(|e| Error::Valid(vec![e]))?;
        t.configure(&cfg);
        t.fits(v.program()).map_err(Error::Task)?;
        let ports = train::ports(v, &cfg)?;
        let header = header(&loaded);
        Ok(Session {
            loaded,
            settings: settings.clone(),
            limits: *limits,
            task: t,
            cfg,
            ports,
            seed,
            header,
        })
    }

    /// Loads `source` under the settings and opens a session on it.
    pub fn open(
        source: &SourceFile,
        task: &str,
        settings: &Settings,
        limits: &Limits,
        seed: u64,
    ) -> Result<Session, Error> {
        Session::new(load(source, settings, limits)?, task, settings, limits, seed)
    }

    /// Another program on the same task, settings and seed (its own task config).
    pub fn with_program(&self, loaded: Loaded) -> Result<Session, Error> {
        Session::new(loaded, self.task.name(), &self.settings, &self.limits, self.seed)
    }

    /// The same program, task and settings with another run seed.
    pub fn with_seed(&self, seed: u64) -> Result<Session, Error> {
        Session::new(
            self.loaded.clone(),
            self.task.name(),
            &self.settings,
            &self.limits,
            seed,
        )
    }

    /// The loaded program.
    pub fn loaded(&self) -> &Loaded {
        &self.loaded
    }

    /// The lowered, validated program.
    pub fn validated(&self) -> &Validated {
        &self.loaded.validated
    }

    /// The resolved task config.
    pub fn task_config(&self) -> &TaskConfig {
        &self.cfg
    }

    /// The task.
    pub fn task(&self) -> &dyn Task {
        self.task.as_ref()
    }

    /// The run seed.
    pub fn seed(&self) -> u64 {
        self.seed
    }

    /// The settings the program was loaded under.
    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    /// The size limits the program was loaded under.
    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// The trace header (op source lines included), built once.
    pub fn header(&self) -> &TraceHeader {
        &self.header
    }

    /// The task's data for the run seed.
    pub fn data(&self) -> Dataset {
        self.task.generate(&self.cfg, self.seed)
    }

    fn run<'a>(&'a self, v: &'a Validated, ports: Ports, data: &'a Dataset, shuffle: bool) -> Run<'a> {
        Run::new(v, ports, (self.task(), &self.cfg), data, self.seed, shuffle)
    }

    /// Runs `steps` training steps from the initial parameters, in training
    /// order, tracing each into `t` between `begin` (this header) and `end`;
    /// returns the final params and state.
    pub fn trace(&self, steps: u64, t: &mut dyn Tracer) -> Result<Params, Error> {
        let data = self.data();
        let mut run = self.run(self.validated(), self.ports, &data, false);
        t.begin(&self.header);
        for _ in 0..steps {
            run.step(Some(&mut *t))?;
        }
        t.end();
        Ok(run.params())
    }

    /// Traces one forward-only evaluation pass without running it: the
    /// step-start writes of a first step, then the ops `predict` depends on
    /// (what an evaluation runs per batch).
    pub fn trace_eval_pass(&self, t: &mut dyn Tracer) -> Result<(), Error> {
        let v = self.validated();
        let Some(pred) = self.ports.pred else {
            return Err(Error::Task("the program has no `predict` line".into()));
        };
        let fwd = interp::slice(v.program(), &[pred]);
        t.begin(&self.header);
        interp::trace_order(v, &fwd, t);
        t.end();
        Ok(())
    }

    /// Runs `steps` untraced training steps; returns the final params and state.
    pub fn run_steps(&self, steps: u64) -> Result<Params, Error> {
        let data = self.data();
        let mut run = self.run(self.validated(), self.ports, &data, false);
        for _ in 0..steps {
            run.step(None)?;
        }
        Ok(run.params())
    }

    /// Trains until the test accuracy reaches `opts.until` or the epoch limit;
    /// with a tracer, every training step is traced (evaluation is not).
    pub fn train(
        &self,
        opts: &RunOptions,
        mut tracer: Option<&mut dyn Tracer>,
        on_epoch: impl FnMut(&EpochStats),
    ) -> Result<RunResult, Error> {
        let data = self.data();
        let mut run = self.run(self.validated(), self.ports, &data, opts.shuffle);
        if let Some(t) = tracer.as_mut() {
            t.begin(&self.header);
        }
        let traced = tracer.as_mut().map(|t| &mut **t as &mut dyn Tracer);
        let res = train::train(&mut run, self.task(), opts, traced, on_epoch)?;
        if let Some(t) = tracer {
            t.end();
        }
        Ok(res)
    }

    /// The run facts a trace file of `steps` steps records.
    fn trace_meta(&self, steps: u32) -> TraceMeta {
        let v = self.validated();
        TraceMeta {
            seed: self.seed,
            steps,
            task: self.cfg.name.clone(),
            dims: v.dims().iter().map(|(k, d)| (k.clone(), *d)).collect(),
            hypers: v.hypers().iter().map(|(k, h)| (k.clone(), *h)).collect(),
            source_hash: format!("{:016x}", fnv1a(self.loaded.source.text.as_bytes())),
        }
    }

    /// Records `steps` training steps as a trace file in memory (header, run
    /// facts, events).
    pub fn record(&self, steps: u32) -> Result<TraceFile, Error> {
        let mut rec = VecTracer::default();
        self.trace(u64::from(steps), &mut rec)?;
        Ok(TraceFile {
            header: rec.header,
            meta: self.trace_meta(steps),
            events: rec.events,
        })
    }

    /// Records `steps` training steps into the trace file `output`, writing
    /// chunks as the steps run: memory does not grow with the step count. A
    /// failure leaves no file.
    pub fn record_to(&self, steps: u32, output: &str) -> Result<(), Error> {
        let o = crate::output::Output::create(output).map_err(|e| Error::Usage(e.to_string()))?;
        let mut w = crate::trace::stream::TraceWriter::new(std::io::BufWriter::new(o), self.trace_meta(steps));
        self.trace(u64::from(steps), &mut w)?;
        let o = w.finish().map_err(|error| Error::Trace {
            path: output.to_string(),
            error,
        })?;
        crate::tracefile::finish(output, o)
    }

    /// Runs this program and `other` for `steps` steps from the same initial
    /// parameters on the same examples and returns the first param or state
    /// element whose bits differ (checked at the start and after every step).
    pub fn verify(&self, other: &Validated, steps: u64) -> Result<Option<Mismatch>, Error> {
        check_compare_steps(steps)?;
        let other_ports = train::ports(other, &self.cfg).map_err(|e| match Error::from(e) {
            Error::Task(m) => Error::Task(format!("program B: {m}")),
            e => e,
        })?;
        Ok(self.compare(other, other_ports, steps)?)
    }

    /// How `other` relates to this program: the same schedule, a legal or an
    /// illegal reordering, or different ops (a sentence).
    pub fn relation(&self, other: &Validated) -> String {
        crate::opt::verify::classify(self.validated().program(), other.program()).describe()
    }

    fn compare(&self, other: &Validated, other_ports: Ports, steps: u64) -> Result<Option<Mismatch>, OptError> {
        let pairs = Pairs::new(self.validated(), other)?;
        let data = self.data();
        let mut a = self.run(self.validated(), self.ports, &data, false);
        let mut b = self.run(other, other_ports, &data, false);
        if let Some(m) = pairs.first_difference(a.interp(), b.interp(), 0) {
            return Ok(Some(m));
        }
        for k in 1..=steps {
            a.step(None)?;
            b.step(None).map_err(OptError::in_b)?;
            if let Some(m) = pairs.first_difference(a.interp(), b.interp(), k) {
                return Ok(Some(m));
            }
        }
        Ok(None)
    }

    /// The optimizer pipeline: runs the passes; after each one re-runs the
    /// original and the candidate for `steps` steps and compares every param and
    /// state bit for bit; prints the result, re-loads the text and verifies that
    /// too. Any failure is an error naming the pass, and no text is returned.
    pub fn optimize(&self, opt_cfg: &OptConfig, steps: u64) -> Result<Optimized, Error> {
        check_compare_steps(steps)?;
        let mut check = |pass: Pass, cand: &Validated| -> Result<(), OptError> {
            let ports = train::ports(cand, &self.cfg).map_err(|e| OptError::NotComparable(e.to_string()))?;
            match self.compare(cand, ports, steps)? {
                None => Ok(()),
                Some(m) => Err(OptError::Mismatch {
                    pass: pass.name().into(),
                    detail: m.describe(),
                }),
            }
        };
        let original = self.validated();
        let (cand, report) = opt::run_pipeline(original, &self.settings, &self.limits, opt_cfg, &mut check)?;
        if !(report.before.is_finite() && report.after.is_finite()) {
            return Err(OptError::Objective(format!(
                "`{}` is not a finite number on this program ({} before, {} after); use smaller weights",
                report.objective, report.before, report.after
            ))
            .into());
        }
        let text = optimized_text(&cand, &report, opt_cfg, steps);
        let source = SourceFile::new(&self.loaded.source.name, text.clone());
        let reloaded = load(&source, &self.settings, &self.limits)?;
        let schedule =
            |v: &Validated| -> Vec<String> { v.program().order.iter().map(|o| v.program().op_text(*o)).collect() };
        if schedule(&reloaded.validated) != schedule(&cand) {
            return Err(OptError::Invariant {
                pass: "print".into(),
                message: "the printed program does not re-load to the same schedule".into(),
            }
            .into());
        }
        let ports = train::ports(&reloaded.validated, &self.cfg)?;
        if let Some(m) = self.compare(&reloaded.validated, ports, steps)? {
            return Err(OptError::Mismatch {
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
}

/// A comparison run needs at least one step: over zero steps it proves nothing.
/// (Examples are fed as the runs go, so the step count adds no memory.)
fn check_compare_steps(steps: u64) -> Result<(), Error> {
    if steps == 0 {
        return Err(Error::Usage(
            "--steps must be at least 1: a comparison over zero steps checks nothing".into(),
        ));
    }
    Ok(())
}

/// The optimized program's text: a header comment stating passes, objective and
/// figures, then the canonical program.
fn optimized_text(cand: &Validated, report: &opt::OptReport, opt_cfg: &OptConfig, steps: u64) -> String {
    let passes: Vec<&str> = opt_cfg.passes.iter().map(|p| p.name()).collect();
    let stop = report
        .stop
        .map_or(String::new(), |s| format!("; reorder stop: {}", s.name()));
    format!(
        "# Optimized by `sutro optimize` (passes: {}; objective: {}).\n# {}: {} before, {} after ({:+.2} %){stop}; verified bit-identical over {steps} steps.\n{}",
        passes.join(","),
        report.objective,
        report.objective,
        opt::fmt_value(report.before),
        opt::fmt_value(report.after),
        -100.0 * report.improvement(),
        cand.program()
    )
}
