//! `sutro bench`: every program on every seed of one task, on one leaderboard.
//!
//! A board is built in three phases. (1) Load each program with the shared
//! `--set` values and decide whether it fits the task; a pair that does not fit
//! (an unknown `--set` name, `Task::fits`, `train::ports`, no `predict`) is
//! skipped and listed, never fatal, while a program that does not parse or
//! validate is bad input. (2) Run the independent jobs on a rayon pool: one
//! scoring job per program (one traced step under every metric, the clock floor,
//! the reorder-only optimum, and with `count_eval` one traced evaluation pass) and
//! one training run per program and seed. Results are collected in job order, so
//! the board never depends on `jobs` or on scheduling; only wall times vary.
//! (3) Fold the runs into rows (medians over solved seeds) and rank them.
//!
//! Per-step figures come from ONE traced step: a step's access pattern depends on
//! the schedule and the layout only, never on data or weights (the IR has no
//! data-dependent control flow; `tests/bench.rs` checks it), so energy-to-solve is
//! exactly the per-step total times the steps run until the solving evaluation.

pub mod rank;
pub mod render;

use crate::analysis::{self, Analyzer, Cold, Metric, ReuseKind};
use crate::error::Error;
use crate::load::{load, parse, program_name, unknown_setting};
use crate::opt::cost::{ClockModel, Field, Objective};
use crate::opt::{StopReason, floor, reorder};
use crate::session::Session;
use crate::span::SourceFile;
use crate::trace::Tee;
use crate::train::{self, RunOptions, TaskConfig};
use crate::valid::{Limits, Settings, Validated};
use rayon::prelude::*;
use serde::Serialize;
use serde_json::{Value, json};
use std::collections::BTreeMap;

/// What to run.
#[derive(Clone, Debug)]
pub struct BenchConfig {
    /// The task name.
    pub task: String,
    /// `--set` values shared by every program.
    pub settings: Settings,
    /// Run seeds, in order.
    pub seeds: Vec<u64>,
    /// Epoch limit of each run.
    pub epochs: usize,
    /// Add the evaluation passes up to the solving epoch to energy-to-solve.
    pub count_eval: bool,
    /// Worker threads.
    pub jobs: usize,
    /// Node budget of the reorder-only search.
    pub reorder_budget: u64,
    /// Size limits for loading.
    pub limits: Limits,
}

/// The task setting rows must share to be ranked on one board: `n`, `k` and
/// `n_test` (`n_train`, `batch` and hyper-parameters are part of an algorithm).
pub fn task_key(c: &TaskConfig) -> (usize, usize, usize) {
    (c.n, c.k, c.n_test)
}

/// Refuses a board whose programs run at different task settings: ranking a
/// program trained at n = 3 beside one at n = 20 compares different problems.
fn check_one_task(fits: &[Fit]) -> Result<(), Error> {
    let Some(first) = fits.first() else { return Ok(()) };
    let key = task_key(first.session.task_config());
    if fits.iter().all(|f| task_key(f.session.task_config()) == key) {
        return Ok(());
    }
    let list: Vec<String> = fits
        .iter()
        .map(|f| {
            let c = f.session.task_config();
            format!("{} (n={}, k={}, n_test={})", f.name, c.n, c.k, c.n_test)
        })
        .collect();
    Err(Error::Usage(format!(
        "the programs run at different task settings, so one board cannot rank them: {}; \
         set them for every row (e.g. --set n=20 --set k=3 --set n_test=200)",
        list.join(", ")
    )))
}

/// A program/task pair left off the board, and why.
#[derive(Clone, Debug, PartialEq)]
pub struct Skipped {
    /// Program name.
    pub program: String,
    /// Why it does not fit.
    pub reason: String,
}

/// One training run.
#[derive(Clone, Debug, PartialEq)]
pub struct SeedRun {
    /// The run seed.
    pub seed: u64,
    /// Epoch whose evaluation first reached 100 % test accuracy.
    pub solved_epoch: Option<usize>,
    /// Steps run by then.
    pub solved_step: Option<u64>,
    /// Epochs run.
    pub epochs_run: usize,
    /// Wall time of the run in seconds (the only machine-dependent figure).
    pub wall_s: f64,
    /// A run-time fault (NaN or infinity), if the run stopped on one.
    pub error: Option<String>,
}

/// The reorder-only optimum of one clock metric.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Reordered {
    /// Its Σ s·d.
    pub sum_sd: i128,
    /// How the search stopped.
    pub stop: StopReason,
}

/// One program's row.
#[derive(Clone, Debug, PartialEq)]
pub struct Row {
    /// Program name (file stem).
    pub program: String,
    /// Task name.
    pub task: String,
    /// The resolved task config.
    pub config: TaskConfig,
    /// The first line of the program's header comment (what it is, in its own words).
    pub about: String,
    /// Ops after lowering.
    pub ops: usize,
    /// One entry per seed, in seed order.
    pub runs: Vec<SeedRun>,
    /// Per-step total under each metric, in `Metric::ALL` order.
    pub per_step: Vec<(Metric, f64)>,
    /// One forward-only evaluation pass under each metric (with `count_eval`).
    pub eval_pass: Option<Vec<(Metric, f64)>>,
    /// Forward passes per epoch of evaluation: ⌈n_train / batch⌉ + ⌈n_test / batch⌉.
    pub evals_per_epoch: u64,
    /// The floor of `ard_write` and `ard_access` (Σ s·d).
    pub floor: Vec<(Metric, i128)>,
    /// The reorder-only optimum of `ard_write` and `ard_access` (Σ s·d).
    pub reordered: Vec<(Metric, Reordered)>,
}

impl Row {
    /// Seeds that reached 100 % test accuracy.
    pub fn solved(&self) -> usize {
        self.runs.iter().filter(|r| r.solved_step.is_some()).count()
    }

    /// The per-step total of a metric.
    pub fn per_step(&self, m: Metric) -> f64 {
        self.per_step
            .iter()
            .find(|(x, _)| *x == m)
            .map_or(f64::NAN, |(_, v)| *v)
    }

    /// Median steps to solve over solved seeds.
    pub fn median_steps(&self) -> Option<f64> {
        median(
            self.runs
                .iter()
                .filter_map(|r| r.solved_step.map(|s| s as f64))
                .collect(),
        )
    }

    /// Median epochs to solve over solved seeds.
    pub fn median_epochs(&self) -> Option<f64> {
        median(
            self.runs
                .iter()
                .filter_map(|r| r.solved_epoch.map(|e| e as f64))
                .collect(),
        )
    }

    /// Median wall time over solved seeds.
    pub fn median_wall_s(&self) -> Option<f64> {
        median(
            self.runs
                .iter()
                .filter(|r| r.solved_step.is_some())
                .map(|r| r.wall_s)
                .collect(),
        )
    }

    /// Energy-to-solve of one run under a metric: per-step total × steps, plus
    /// with `count_eval` one evaluation pass per evaluated batch up to the solving
    /// epoch; `None` if the run did not solve.
    pub fn run_to_solve(&self, run: &SeedRun, m: Metric) -> Option<f64> {
        let steps = run.solved_step? as f64;
        let mut v = self.per_step(m) * steps;
        if let (Some(ev), Some(epoch)) = (&self.eval_pass, run.solved_epoch) {
            let pass = ev.iter().find(|(x, _)| *x == m).map_or(0.0, |(_, v)| *v);
            v += pass * (epoch as u64 * self.evals_per_epoch) as f64;
        }
        Some(v)
    }

    /// Median energy-to-solve over solved seeds; `None` if none solved.
    pub fn to_solve(&self, m: Metric) -> Option<f64> {
        median(self.runs.iter().filter_map(|r| self.run_to_solve(r, m)).collect())
    }

    /// The floor of a clock metric.
    pub fn floor(&self, m: Metric) -> Option<i128> {
        self.floor.iter().find(|(x, _)| *x == m).map(|(_, v)| *v)
    }

    /// The reorder-only optimum of a clock metric.
    pub fn reordered(&self, m: Metric) -> Option<Reordered> {
        self.reordered.iter().find(|(x, _)| *x == m).map(|(_, v)| *v)
    }
}

/// A finished board.
#[derive(Clone, Debug, PartialEq)]
pub struct Board {
    /// Task name.
    pub task: String,
    /// Seeds run.
    pub seeds: Vec<u64>,
    /// Epoch limit.
    pub epochs: usize,
    /// Whether evaluation passes count toward energy-to-solve.
    pub count_eval: bool,
    /// The `--set` values, as given.
    pub settings: Vec<(String, String)>,
    /// One row per fitting program, in input order.
    pub rows: Vec<Row>,
    /// Pairs that do not fit, in input order.
    pub skipped: Vec<Skipped>,
}

/// The metrics a board scores, in spec order.
pub const METRICS: [Metric; 7] = Metric::ALL;

/// The clock metrics that have a floor.
pub const CLOCK: [Metric; 2] = [Metric::ArdWrite, Metric::ArdAccess];

/// Whether a metric's totals are integers.
pub fn integral(m: Metric) -> bool {
    !matches!(m, Metric::Dmd | Metric::EnergyPj)
}

/// The median of a list (mean of the middle two for an even count); `None` if empty.
pub fn median(mut xs: Vec<f64>) -> Option<f64> {
    if xs.is_empty() {
        return None;
    }
    xs.sort_by(f64::total_cmp);
    let n = xs.len();
    Some(if n % 2 == 1 {
        xs[n / 2]
    } else {
        (xs[n / 2 - 1] + xs[n / 2]) / 2.0
    })
}

/// Parses `--seeds`: `A..B` (inclusive) or a single seed.
pub fn parse_seeds(s: &str) -> Result<Vec<u64>, String> {
    let bad = || format!("--seeds must be A..B (inclusive) or one seed, got `{s}`");
    let (a, b) = match s.split_once("..") {
        Some((a, b)) => (a.trim(), b.trim().trim_start_matches('=')),
        None => (s.trim(), s.trim()),
    };
    let a: u64 = a.parse().map_err(|_| bad())?;
    let b: u64 = b.parse().map_err(|_| bad())?;
    if a > b {
        return Err(format!("--seeds {s}: the first seed is after the last"));
    }
    if b - a >= 10_000 {
        return Err(format!("--seeds {s}: at most 10000 seeds"));
    }
    Ok((a..=b).collect())
}

/// The first `#` comment line of a program, without the `#`.
pub fn about(text: &str) -> String {
    text.lines()
        .map(str::trim)
        .find_map(|l| l.strip_prefix('#'))
        .map_or_else(String::new, |l| l.trim().to_string())
}

/// A program that fits: a session on the task at the first seed.
struct Fit {
    name: String,
    session: Session,
}

/// Loads a program and decides whether it fits the task: `Ok(Err(reason))` is a
/// skip; `Err` is bad input (the program does not parse or validate).
fn fit(file: &SourceFile, cfg: &BenchConfig) -> Result<Result<Fit, String>, Error> {
    let name = program_name(&file.name);
    let parsed = parse(file)?;
    if let Some(key) = unknown_setting(&parsed, &cfg.settings) {
        return Ok(Err(format!("`--set {key}`: the program has no dim or hyper `{key}`")));
    }
    let loaded = load(file, &cfg.settings, &cfg.limits)?;
    let seed = cfg.seeds.first().copied().unwrap_or(0);
    let session = match Session::new(loaded, &cfg.task, &cfg.settings, &cfg.limits, seed) {
        Ok(s) => s,
        Err(Error::Task(why)) => return Ok(Err(why)),
        Err(e) => return Err(e),
    };
    if session.validated().program().predict.is_none() {
        return Ok(Err("the program has no `predict` line".into()));
    }
    Ok(Ok(Fit { name, session }))
}

/// Fresh analyzers for every metric, with default options.
fn all_analyzers() -> Result<Vec<Box<dyn Analyzer>>, Error> {
    let resolved = analysis::resolve(&METRICS, &[] as &[&str], None)
        .map_err(|e| Error::Internal(format!("default metric options: {e}")))?;
    Ok(resolved.iter().map(analysis::MetricOptions::build).collect())
}

/// Each analyzer's per-step total (`Metric::board_total`).
fn totals(list: &[Box<dyn Analyzer>]) -> Vec<(Metric, f64)> {
    list.iter()
        .map(|a| {
            let m = a.metric();
            (m, a.value(m.board_total()).unwrap_or(f64::NAN))
        })
        .collect()
}

/// Per-step totals of one traced training step (the first step of the session's seed).
pub fn per_step(session: &Session) -> Result<Vec<(Metric, f64)>, Error> {
    let mut list = all_analyzers()?;
    {
        let mut tee = Tee(list.iter_mut().map(|a| a.as_tracer()).collect());
        session.trace(1, &mut tee)?;
    }
    Ok(totals(&list))
}

/// Totals of one forward-only evaluation pass: the step-start writes of a step,
/// then the ops `predict` depends on (what an evaluation runs per batch).
pub fn eval_pass(session: &Session) -> Result<Vec<(Metric, f64)>, Error> {
    let mut list = all_analyzers()?;
    {
        let mut tee = Tee(list.iter_mut().map(|a| a.as_tracer()).collect());
        session.trace_eval_pass(&mut tee)?;
    }
    Ok(totals(&list))
}

/// The reorder-only optimum of a clock metric's Σ s·d.
pub fn reorder_only(v: &Validated, m: Metric, budget: u64) -> Option<Reordered> {
    if !matches!(m, Metric::ArdWrite | Metric::ArdAccess) {
        return None;
    }
    let objective = Objective::single(m, Field::SumSd);
    let model = ClockModel::new(v, &objective)?;
    let limits = reorder::Limits {
        budget,
        beam_width: 16,
        ..Default::default()
    };
    let found = reorder::reorder(v, &model, &limits);
    Some(Reordered {
        sum_sd: found.cost,
        stop: found.stop,
    })
}

/// The floor of a clock metric's Σ s·d, with the metric's default cold policy.
pub fn floor_of(v: &Validated, m: Metric) -> Option<i128> {
    match m {
        Metric::ArdWrite => Some(floor::floor(v, ReuseKind::Write, Cold::MinusOne).sum_sd),
        Metric::ArdAccess => Some(floor::floor(v, ReuseKind::Access, Cold::Skip).sum_sd),
        _ => None,
    }
}

/// A fault named for the board: program, seed, and where in its file.
fn diverged(f: &Fit, seed: u64, e: &crate::interp::InterpError) -> String {
    match e.span() {
        Some(span) => format!(
            "`{}` seed {seed}: {}: {e}",
            f.name,
            f.session.loaded().source.locate(span)
        ),
        None => format!("`{}` seed {seed}: {e}", f.name),
    }
}

enum Job {
    Score(usize),
    Run(usize, u64),
}

enum Out {
    Score {
        per_step: Vec<(Metric, f64)>,
        eval: Option<Vec<(Metric, f64)>>,
        floor: Vec<(Metric, i128)>,
        reordered: Vec<(Metric, Reordered)>,
    },
    Run(SeedRun),
}

fn run_job(job: &Job, fits: &[Fit], cfg: &BenchConfig) -> Result<Out, Error> {
    match *job {
        Job::Score(i) => {
            let session = &fits[i].session;
            let v = session.validated();
            let per_step = per_step(session)?;
            let eval = if cfg.count_eval {
                Some(eval_pass(session)?)
            } else {
                None
            };
            let floor = CLOCK.iter().filter_map(|m| floor_of(v, *m).map(|x| (*m, x))).collect();
            let reordered = CLOCK
                .iter()
                .filter_map(|m| reorder_only(v, *m, cfg.reorder_budget).map(|x| (*m, x)))
                .collect();
            Ok(Out::Score {
                per_step,
                eval,
                floor,
                reordered,
            })
        }
        Job::Run(i, seed) => {
            let session = fits[i].session.with_seed(seed)?;
            // The train-set evaluation does not decide `solved`: skip it.
            let opts = RunOptions {
                epochs: cfg.epochs,
                eval_train: false,
                ..RunOptions::default()
            };
            let t0 = std::time::Instant::now();
            let res = session.train(&opts, None, |_| {});
            let wall_s = t0.elapsed().as_secs_f64();
            Ok(Out::Run(match res {
                Ok(r) => SeedRun {
                    seed,
                    solved_epoch: r.solved_epoch,
                    solved_step: r.solved_step,
                    epochs_run: r.epochs_run,
                    wall_s,
                    error: None,
                },
                Err(Error::Interp(e)) => SeedRun {
                    seed,
                    solved_epoch: None,
                    solved_step: None,
                    epochs_run: 0,
                    wall_s,
                    error: Some(diverged(&fits[i], seed, &e)),
                },
                Err(e) => return Err(e),
            }))
        }
    }
}

/// Runs the board. `files` are the programs in board order. When a program does
/// not parse or validate, `src` is left holding it, so its diagnostics can show it.
pub fn run(files: &[SourceFile], cfg: &BenchConfig, src: &mut Option<SourceFile>) -> Result<Board, Error> {
    if cfg.seeds.is_empty() {
        return Err(Error::Usage("--seeds selects no seed".into()));
    }
    if train::task(&cfg.task).is_none() {
        return Err(Error::Usage(format!(
            "unknown task `{}` (known: {})",
            cfg.task,
            train::TASKS.join(", ")
        )));
    }
    let mut fits = Vec::new();
    let mut skipped = Vec::new();
    for f in files {
        *src = Some(f.clone());
        let fitted = fit(f, cfg)?;
        *src = None;
        match fitted {
            Ok(x) => fits.push(x),
            Err(reason) => skipped.push(Skipped {
                program: program_name(&f.name),
                reason,
            }),
        }
    }
    check_one_task(&fits)?;
    let mut jobs = Vec::new();
    for i in 0..fits.len() {
        jobs.push(Job::Score(i));
        for &s in &cfg.seeds {
            jobs.push(Job::Run(i, s));
        }
    }
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(cfg.jobs.max(1))
        .build()
        .map_err(|e| Error::Usage(format!("cannot start {} worker threads: {e}", cfg.jobs)))?;
    // `collect` keeps job order, so the board does not depend on the thread count.
    let outs: Vec<Result<Out, Error>> = pool.install(|| jobs.par_iter().map(|j| run_job(j, &fits, cfg)).collect());
    let mut outs = outs.into_iter();
    let mut rows = Vec::new();
    for f in &fits {
        let Some(first) = outs.next() else { break };
        let mut runs = Vec::new();
        for _ in &cfg.seeds {
            match outs.next() {
                Some(Ok(Out::Run(r))) => runs.push(r),
                Some(Err(e)) => return Err(e),
                _ => return Err(Error::Internal("bench job results out of order".into())),
            }
        }
        let (per_step, eval, floor, reordered) = match first {
            Ok(Out::Score {
                per_step,
                eval,
                floor,
                reordered,
            }) => (per_step, eval, floor, reordered),
            // A program whose traced step faults cannot be scored: it leaves the
            // board with the reason, the others stay.
            Err(Error::Interp(e)) => {
                skipped.push(Skipped {
                    program: f.name.clone(),
                    reason: diverged(f, f.session.seed(), &e),
                });
                continue;
            }
            Err(e) => return Err(e),
            Ok(Out::Run(_)) => return Err(Error::Internal("bench job results out of order".into())),
        };
        let tc = f.session.task_config();
        let b = tc.batch.max(1);
        rows.push(Row {
            program: f.name.clone(),
            task: cfg.task.clone(),
            config: tc.clone(),
            about: about(&f.session.loaded().source.text),
            ops: f.session.validated().program().order.len(),
            runs,
            per_step,
            eval_pass: eval,
            evals_per_epoch: (tc.n_train.div_ceil(b) + tc.n_test.div_ceil(b)) as u64,
            floor,
            reordered,
        });
    }
    Ok(Board {
        task: cfg.task.clone(),
        seeds: cfg.seeds.clone(),
        epochs: cfg.epochs,
        count_eval: cfg.count_eval,
        settings: cfg
            .settings
            .values
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect(),
        rows,
        skipped,
    })
}

/// A metric value as JSON: an integer for integer metrics when exact.
pub fn num(m: Metric, v: f64) -> Value {
    if integral(m) && v.fract() == 0.0 && v.abs() < 9.0e15 {
        json!(v as i64)
    } else {
        json!(v)
    }
}

/// A seed's run in the `--json` rows.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct RunDoc {
    /// The run seed.
    pub seed: u64,
    /// Solving epoch.
    pub solved_epoch: Option<usize>,
    /// Steps by then.
    pub solved_step: Option<u64>,
    /// Epochs run.
    pub epochs_run: usize,
    /// Wall time in seconds.
    pub wall_s: f64,
    /// A run-time fault, if any.
    pub error: Option<String>,
}

/// The reorder-only optimum in the `--json` rows.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct OptimizedDoc {
    /// Its Σ s·d.
    pub sum_sd: i64,
    /// How the search stopped.
    pub stop: &'static str,
}

/// One row of `bench --json` (keys in `docs/json.md`). Metric values are JSON
/// numbers: integers for the integer metrics when exact (`num`).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct RowDoc<'a> {
    /// Program name.
    pub program: &'a str,
    /// Task name.
    pub task: &'a str,
    /// Seeds that solved.
    pub solved: usize,
    /// Seeds run.
    pub seeds: usize,
    /// Median steps to solve.
    pub median_steps: Option<f64>,
    /// Median epochs to solve.
    pub median_epochs: Option<f64>,
    /// Median wall time.
    pub median_wall_s: Option<f64>,
    /// Per-step totals by metric.
    pub per_step: BTreeMap<&'static str, Value>,
    /// Median energy-to-solve by metric (null: no solved seed).
    pub to_solve: BTreeMap<&'static str, Value>,
    /// Clock floors.
    pub floor: BTreeMap<&'static str, i64>,
    /// Reorder-only optima.
    pub optimized: BTreeMap<&'static str, OptimizedDoc>,
    /// Ranks by metric.
    pub rank: BTreeMap<&'static str, usize>,
    /// The resolved task config.
    pub config: &'a TaskConfig,
    /// Ops after lowering.
    pub ops: usize,
    /// The program's own description.
    pub about: &'a str,
    /// One evaluation pass by metric (with `count_eval`).
    pub eval_pass: Option<BTreeMap<&'static str, Value>>,
    /// Evaluation passes per epoch.
    pub evals_per_epoch: u64,
    /// Every seed's run.
    pub runs: Vec<RunDoc>,
}

impl Board {
    /// The `--json` rows.
    pub fn rows_doc(&self) -> Vec<RowDoc<'_>> {
        let ranks = rank::ranks(self);
        self.rows
            .iter()
            .enumerate()
            .map(|(i, r)| RowDoc {
                program: &r.program,
                task: &r.task,
                solved: r.solved(),
                seeds: r.runs.len(),
                median_steps: r.median_steps(),
                median_epochs: r.median_epochs(),
                median_wall_s: r.median_wall_s(),
                per_step: METRICS.iter().map(|m| (m.name(), num(*m, r.per_step(*m)))).collect(),
                to_solve: METRICS
                    .iter()
                    .map(|m| (m.name(), r.to_solve(*m).map_or(Value::Null, |v| num(*m, v))))
                    .collect(),
                floor: r.floor.iter().map(|(m, v)| (m.name(), *v as i64)).collect(),
                optimized: r
                    .reordered
                    .iter()
                    .map(|(m, v)| {
                        let doc = OptimizedDoc {
                            sum_sd: v.sum_sd as i64,
                            stop: v.stop.name(),
                        };
                        (m.name(), doc)
                    })
                    .collect(),
                rank: ranks
                    .iter()
                    .map(|(m, rs)| (m.name(), rs.get(i).copied().unwrap_or(0)))
                    .collect(),
                config: &r.config,
                ops: r.ops,
                about: &r.about,
                eval_pass: r
                    .eval_pass
                    .as_ref()
                    .map(|e| e.iter().map(|(m, v)| (m.name(), num(*m, *v))).collect()),
                evals_per_epoch: r.evals_per_epoch,
                runs: r
                    .runs
                    .iter()
                    .map(|s| RunDoc {
                        seed: s.seed,
                        solved_epoch: s.solved_epoch,
                        solved_step: s.solved_step,
                        epochs_run: s.epochs_run,
                        wall_s: s.wall_s,
                        error: s.error.clone(),
                    })
                    .collect(),
            })
            .collect()
    }
}
