//! `sutro bench`: every program on every seed of one task, on one leaderboard.
//!
//! A board is built in three phases. (1) Plan the grid (`grid`): each program at
//! each setting becomes a unit (one row): one stage for a plain board, one
//! unit per n with `--scale`, a sequence of stages with `--curriculum`. A unit
//! that does not fit (an unknown `--set` name, `Task::fits`, `train::ports`, no
//! `predict`) is skipped and listed, never fatal, while a program that does not
//! parse or validate is bad input. (2) Run the independent jobs on a rayon pool:
//! one scoring job per unit (one traced step under every metric per stage, the
//! clock floor, the reorder-only optimum, and with `count_eval` one traced
//! evaluation pass) and one training run per unit and seed. Results are
//! collected in job order, so the board never depends on `jobs` or on
//! scheduling; only wall times vary. `--shard I/N` runs every N-th job and
//! writes the results (`shard`); `bench merge` reassembles them. (3) Fold the
//! runs into rows (medians over solved seeds) and rank them, per task setting.
//!
//! Per-step figures come from ONE traced step: a step's access pattern depends on
//! the schedule and the layout only, never on data or weights (the IR has no
//! data-dependent control flow; `tests/bench.rs` checks it), so energy-to-solve is
//! exactly the per-step total times the steps run until the solving evaluation.

mod grid;
pub mod rank;
pub mod render;
pub mod scale;
pub mod shard;

pub use grid::{UnitMeta, parse_n_list, parse_shard};

use crate::analysis::{self, Analyzer, Cold, Metric, ReuseKind};
use crate::error::Error;
use crate::opt::cost::{ClockModel, Field, Objective};
use crate::opt::{StopReason, floor, reorder};
use crate::session::Session;
use crate::span::SourceFile;
use crate::trace::Tee;
use crate::train::TaskConfig;
use crate::valid::{Limits, Settings, Validated};
use serde::{Deserialize, Serialize};
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
    /// Epoch limit of each run (of each stage, with a curriculum).
    pub epochs: usize,
    /// Add the evaluation passes up to the solving evaluation to energy-to-solve.
    pub count_eval: bool,
    /// Worker threads.
    pub jobs: usize,
    /// Node budget of the reorder-only search.
    pub reorder_budget: u64,
    /// Size limits for loading.
    pub limits: Limits,
    /// Evaluate every this many steps (`None`: once per epoch).
    pub eval_every: Option<u64>,
    /// One table per task setting instead of refusing rows whose settings differ.
    pub group_by_task: bool,
    /// `--curriculum n=…`: each row trains through these n in order (empty: none).
    pub curriculum: Vec<usize>,
    /// `--scale n=…`: each program runs at each of these n (empty: none).
    pub scale: Vec<usize>,
}

impl BenchConfig {
    /// What a board records of its configuration (what a shard must share).
    pub fn spec(&self) -> Spec {
        Spec {
            task: self.task.clone(),
            settings: self
                .settings
                .values
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
            seeds: self.seeds.clone(),
            epochs: self.epochs,
            count_eval: self.count_eval,
            eval_every: self.eval_every,
            group_by_task: self.group_by_task,
            curriculum: self.curriculum.clone(),
            scale: self.scale.clone(),
            reorder_budget: self.reorder_budget,
        }
    }
}

/// A board's configuration, as recorded in shard files and printed at its top.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Spec {
    /// Task name.
    pub task: String,
    /// The `--set` values, as given.
    pub settings: Vec<(String, String)>,
    /// Seeds run.
    pub seeds: Vec<u64>,
    /// Epoch limit.
    pub epochs: usize,
    /// Whether evaluation passes count toward energy-to-solve.
    pub count_eval: bool,
    /// `--eval-every`.
    pub eval_every: Option<u64>,
    /// `--group-by-task`.
    pub group_by_task: bool,
    /// `--curriculum` n values.
    pub curriculum: Vec<usize>,
    /// `--scale` n values.
    pub scale: Vec<usize>,
    /// Node budget of the reorder-only search.
    pub reorder_budget: u64,
}

/// The task setting rows must share to be ranked on one board: `n`, `k` and
/// `n_test` (`n_train`, `batch` and hyper-parameters are part of an algorithm).
pub fn task_key(c: &TaskConfig) -> (usize, usize, usize) {
    (c.n, c.k, c.n_test)
}

/// A program/task pair left off the board, and why.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Skipped {
    /// Program name.
    pub program: String,
    /// Why it does not fit.
    pub reason: String,
}

/// One training run (with a curriculum: every stage, summed).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SeedRun {
    /// The run seed.
    pub seed: u64,
    /// Epoch whose evaluation first reached 100 % test accuracy (summed over stages).
    pub solved_epoch: Option<usize>,
    /// Steps run by then (summed over stages).
    pub solved_step: Option<u64>,
    /// Epochs run (summed over stages).
    pub epochs_run: usize,
    /// Distinct training examples fed up to the solving evaluation (or over
    /// the run if unsolved), summed over stages.
    pub samples: u64,
    /// Labels asked with `query` by then, summed over stages.
    pub queries: u64,
    /// Evaluations run by then, summed over stages.
    pub evaluations: u64,
    /// Steps run in each stage before the last (empty without a curriculum).
    pub stage_steps: Vec<u64>,
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

/// Per-metric totals, in `Metric::ALL` order.
pub type Totals = Vec<(Metric, f64)>;

/// One program's row.
#[derive(Clone, Debug, PartialEq)]
pub struct Row {
    /// Program name (file stem).
    pub program: String,
    /// Task name.
    pub task: String,
    /// The resolved task config (of the last stage).
    pub config: TaskConfig,
    /// The first line of the program's header comment (what it is, in its own words).
    pub about: String,
    /// Ops after lowering.
    pub ops: usize,
    /// The n of every stage of a curriculum (empty without one).
    pub curriculum: Vec<usize>,
    /// One entry per seed, in seed order.
    pub runs: Vec<SeedRun>,
    /// Per-step total under each metric (of the last stage).
    pub per_step: Totals,
    /// Per-step totals of each stage before the last (empty without a curriculum).
    pub stage_per_step: Vec<Totals>,
    /// One forward-only evaluation pass under each metric (with `count_eval`).
    pub eval_pass: Option<Totals>,
    /// Forward passes per evaluation: ⌈n_train / batch⌉ + ⌈n_test / batch⌉.
    pub evals_per_epoch: u64,
    /// The floor of `ard_write` and `ard_access` (Σ s·d).
    pub floor: Vec<(Metric, i128)>,
    /// The reorder-only optimum of `ard_write` and `ard_access` (Σ s·d).
    pub reordered: Vec<(Metric, Reordered)>,
}

fn value_of(list: &[(Metric, f64)], m: Metric) -> f64 {
    list.iter().find(|(x, _)| *x == m).map_or(f64::NAN, |(_, v)| *v)
}

impl Row {
    /// Seeds that reached 100 % test accuracy.
    pub fn solved(&self) -> usize {
        self.runs.iter().filter(|r| r.solved_step.is_some()).count()
    }

    /// The per-step total of a metric.
    pub fn per_step(&self, m: Metric) -> f64 {
        value_of(&self.per_step, m)
    }

    /// The median over solved seeds of a per-run figure.
    fn median_solved(&self, f: impl Fn(&SeedRun) -> Option<f64>) -> Option<f64> {
        median(
            self.runs
                .iter()
                .filter(|r| r.solved_step.is_some())
                .filter_map(f)
                .collect(),
        )
    }

    /// Median steps to solve over solved seeds.
    pub fn median_steps(&self) -> Option<f64> {
        self.median_solved(|r| r.solved_step.map(|s| s as f64))
    }

    /// Median epochs to solve over solved seeds.
    pub fn median_epochs(&self) -> Option<f64> {
        self.median_solved(|r| r.solved_epoch.map(|e| e as f64))
    }

    /// Median samples used to solve over solved seeds.
    pub fn median_samples(&self) -> Option<f64> {
        self.median_solved(|r| Some(r.samples as f64))
    }

    /// Median queries asked to solve over solved seeds.
    pub fn median_queries(&self) -> Option<f64> {
        self.median_solved(|r| Some(r.queries as f64))
    }

    /// Median wall time over solved seeds.
    pub fn median_wall_s(&self) -> Option<f64> {
        self.median_solved(|r| Some(r.wall_s))
    }

    /// Energy-to-solve of one run under a metric: per-step total × steps (each
    /// stage's steps at its own per-step total), plus with `count_eval` one
    /// evaluation pass per evaluated batch up to the solving evaluation; `None`
    /// if the run did not solve.
    pub fn run_to_solve(&self, run: &SeedRun, m: Metric) -> Option<f64> {
        let steps = run.solved_step?;
        let earlier: u64 = run.stage_steps.iter().sum();
        let mut v = self.per_step(m) * steps.saturating_sub(earlier) as f64;
        for (totals, s) in self.stage_per_step.iter().zip(&run.stage_steps) {
            v += value_of(totals, m) * *s as f64;
        }
        if let Some(ev) = &self.eval_pass {
            let pass = ev.iter().find(|(x, _)| *x == m).map_or(0.0, |(_, v)| *v);
            v += pass * (run.evaluations * self.evals_per_epoch) as f64;
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
    /// How it was configured.
    pub spec: Spec,
    /// One row per fitting unit (program, or program at one n with `--scale`),
    /// in input order.
    pub rows: Vec<Row>,
    /// Pairs that do not fit, in input order.
    pub skipped: Vec<Skipped>,
}

impl Board {
    /// The rows split by task setting (`task_key`), in order of first
    /// appearance; each part keeps the spec and the rows' input order. A board
    /// whose rows share one setting is one part (itself); skips stay on the whole board.
    pub fn groups(&self) -> Vec<Board> {
        let mut keys: Vec<(usize, usize, usize)> = Vec::new();
        for r in &self.rows {
            let k = task_key(&r.config);
            if !keys.contains(&k) {
                keys.push(k);
            }
        }
        if keys.len() <= 1 {
            return vec![self.clone()];
        }
        keys.iter()
            .map(|k| Board {
                spec: self.spec.clone(),
                rows: self
                    .rows
                    .iter()
                    .filter(|r| task_key(&r.config) == *k)
                    .cloned()
                    .collect(),
                skipped: Vec::new(),
            })
            .collect()
    }
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

/// Fresh analyzers for every metric, with default options.
fn all_analyzers() -> Result<Vec<Box<dyn Analyzer>>, Error> {
    let resolved = analysis::resolve(&METRICS, &[] as &[&str], None)
        .map_err(|e| Error::Internal(format!("default metric options: {e}")))?;
    Ok(resolved.iter().map(analysis::MetricOptions::build).collect())
}

/// Each analyzer's per-step total (`Metric::board_total`).
fn totals(list: &[Box<dyn Analyzer>]) -> Totals {
    list.iter()
        .map(|a| {
            let m = a.metric();
            (m, a.value(m.board_total()).unwrap_or(f64::NAN))
        })
        .collect()
}

/// Per-step totals of one traced training step (the first step of the session's seed).
pub fn per_step(session: &Session) -> Result<Totals, Error> {
    let mut list = all_analyzers()?;
    {
        let mut tee = Tee(list.iter_mut().map(|a| a.as_tracer()).collect());
        session.trace(1, &mut tee)?;
    }
    Ok(totals(&list))
}

/// Totals of one forward-only evaluation pass: the step-start writes of a step,
/// then the ops `predict` depends on (what an evaluation runs per batch).
pub fn eval_pass(session: &Session) -> Result<Totals, Error> {
    let mut list = all_analyzers()?;
    {
        let mut tee = Tee(list.iter_mut().map(|a| a.as_tracer()).collect());
        session.trace_eval_pass(&mut tee)?;
    }
    Ok(totals(&list))
}

/// The reorder-only optimum of a clock metric's Σ s·d (`None` for a program
/// with sliced operands: the clock model prices whole buffers).
pub fn reorder_only(v: &Validated, m: Metric, budget: u64) -> Option<Reordered> {
    if !matches!(m, Metric::ArdWrite | Metric::ArdAccess) || !floor::covers(v) {
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

/// The floor of a clock metric's Σ s·d, with the metric's default cold policy;
/// `None` for a program with sliced operands, which the floor does not model.
pub fn floor_of(v: &Validated, m: Metric) -> Option<i128> {
    if !floor::covers(v) {
        return None;
    }
    match m {
        Metric::ArdWrite => Some(floor::floor(v, ReuseKind::Write, Cold::MinusOne).sum_sd),
        Metric::ArdAccess => Some(floor::floor(v, ReuseKind::Access, Cold::Skip).sum_sd),
        _ => None,
    }
}

/// Runs the whole board on this machine. `files` are the programs in board
/// order. When a program does not parse or validate, `src` is left holding it,
/// so its diagnostics can show it.
pub fn run(files: &[SourceFile], cfg: &BenchConfig, src: &mut Option<SourceFile>) -> Result<Board, Error> {
    let plan = grid::plan(files, cfg, src)?;
    let outs = grid::run_jobs(&plan, cfg, None)?.into_iter().map(|(_, o)| o).collect();
    grid::assemble(cfg.spec(), &plan.metas(), plan.skipped.clone(), outs)
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
    /// Distinct training examples fed by then.
    pub samples: u64,
    /// Labels asked with `query` by then.
    pub queries: u64,
    /// Steps of each curriculum stage before the last.
    pub stage_steps: Vec<u64>,
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
    /// Median samples used by the solving evaluation.
    pub samples: Option<f64>,
    /// Median queries asked by then.
    pub queries: Option<f64>,
    /// The n of each curriculum stage (empty without one).
    pub curriculum: &'a [usize],
    /// Per-step totals by metric.
    pub per_step: BTreeMap<&'static str, Value>,
    /// Median energy-to-solve by metric (null: no solved seed).
    pub to_solve: BTreeMap<&'static str, Value>,
    /// Clock floors.
    pub floor: BTreeMap<&'static str, i64>,
    /// Reorder-only optima.
    pub optimized: BTreeMap<&'static str, OptimizedDoc>,
    /// Ranks by metric, within the row's task setting.
    pub rank: BTreeMap<&'static str, usize>,
    /// The resolved task config.
    pub config: &'a TaskConfig,
    /// Ops after lowering.
    pub ops: usize,
    /// The program's own description.
    pub about: &'a str,
    /// One evaluation pass by metric (with `count_eval`).
    pub eval_pass: Option<BTreeMap<&'static str, Value>>,
    /// Evaluation passes per evaluation.
    pub evals_per_epoch: u64,
    /// Every seed's run.
    pub runs: Vec<RunDoc>,
}

fn row_doc<'a>(r: &'a Row, ranks: &[(Metric, usize)]) -> RowDoc<'a> {
    RowDoc {
        program: &r.program,
        task: &r.task,
        solved: r.solved(),
        seeds: r.runs.len(),
        median_steps: r.median_steps(),
        median_epochs: r.median_epochs(),
        median_wall_s: r.median_wall_s(),
        samples: r.median_samples(),
        queries: r.median_queries(),
        curriculum: &r.curriculum,
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
        rank: ranks.iter().map(|(m, k)| (m.name(), *k)).collect(),
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
                samples: s.samples,
                queries: s.queries,
                stage_steps: s.stage_steps.clone(),
                wall_s: s.wall_s,
                error: s.error.clone(),
            })
            .collect(),
    }
}

impl Board {
    /// The `--json` rows, in input order; ranks are within each row's task setting.
    pub fn rows_doc(&self) -> Vec<RowDoc<'_>> {
        let mut ranks: Vec<Vec<(Metric, usize)>> = vec![Vec::new(); self.rows.len()];
        for g in self.groups() {
            let Some(first) = g.rows.first() else { continue };
            let rs = rank::ranks(&g);
            // A group holds the rows of one setting, in `self`'s order.
            let idx: Vec<usize> = (0..self.rows.len())
                .filter(|&i| task_key(&self.rows[i].config) == task_key(&first.config))
                .collect();
            for (k, &i) in idx.iter().enumerate() {
                ranks[i] = rs.iter().map(|(m, v)| (*m, v.get(k).copied().unwrap_or(0))).collect();
            }
        }
        self.rows.iter().zip(&ranks).map(|(r, rk)| row_doc(r, rk)).collect()
    }
}
