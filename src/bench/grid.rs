//! The grid of a board: units (one row each: a program at one setting, a
//! program at one n of `--scale`, or a program through the stages of
//! `--curriculum`), the jobs that fill them (one scoring job per unit, one run
//! per unit and seed, in that order), the slices `--shard I/N` takes, and the
//! assembly of job results into rows.

use super::{
    BenchConfig, Board, CLOCK, Reordered, Row, SeedRun, Skipped, Spec, Totals, about, eval_pass, floor_of, per_step,
    reorder_only, task_key,
};
use crate::analysis::Metric;
use crate::error::Error;
use crate::load::{load, parse, program_name, unknown_setting};
use crate::session::Session;
use crate::span::SourceFile;
use crate::train::{self, RunOptions, TaskConfig, state::State};
use crate::valid::Settings;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

/// What a row knows of its unit before any job runs (every shard computes it).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct UnitMeta {
    /// Program name (file stem).
    pub program: String,
    /// The resolved task config of the last stage.
    pub config: TaskConfig,
    /// The program's header line.
    pub about: String,
    /// Ops after lowering (last stage).
    pub ops: usize,
    /// Forward passes per evaluation (last stage).
    pub evals_per_epoch: u64,
    /// The n of every stage of a curriculum (empty without one).
    pub curriculum: Vec<usize>,
}

/// One row to fill: sessions at the first seed, one per stage.
pub(super) struct Unit {
    name: String,
    stages: Vec<Session>,
}

/// The units of a board and the pairs left off it.
pub(super) struct Plan {
    units: Vec<Unit>,
    /// Pairs that do not fit, in input order.
    pub skipped: Vec<Skipped>,
    seeds: Vec<u64>,
}

/// One job of the grid.
#[derive(Clone, Copy, Debug)]
enum Job {
    Score(usize),
    Run(usize, u64),
}

/// What a scoring job finds.
#[derive(Clone, Debug, PartialEq)]
pub struct ScoreOut {
    /// Per-step totals of the last stage.
    pub per_step: Totals,
    /// Per-step totals of each earlier stage.
    pub stage_per_step: Vec<Totals>,
    /// One evaluation pass (with `count_eval`).
    pub eval: Option<Totals>,
    /// Clock floors.
    pub floor: Vec<(Metric, i128)>,
    /// Reorder-only optima.
    pub reordered: Vec<(Metric, Reordered)>,
}

/// A job's result.
#[derive(Clone, Debug, PartialEq)]
pub enum Out {
    /// A unit's scores.
    Score(ScoreOut),
    /// One seed's run.
    Run(SeedRun),
    /// A unit whose scoring step faulted: why it leaves the board.
    Skip(String),
}

/// Parses `n=A,B,…` (the value of `--scale` and `--curriculum`).
pub fn parse_n_list(s: &str) -> Result<Vec<usize>, String> {
    let bad = || format!("expected n=A,B,… with whole numbers of at least 1, got `{s}`");
    let list = s.trim().strip_prefix("n=").ok_or_else(bad)?;
    let ns: Vec<usize> = list
        .split(',')
        .map(|x| x.trim().parse::<usize>().ok().filter(|n| *n > 0))
        .collect::<Option<_>>()
        .ok_or_else(bad)?;
    if ns.is_empty() || ns.len() > 64 {
        return Err(format!("`{s}`: between 1 and 64 values of n"));
    }
    if ns.windows(2).any(|w| w[0] >= w[1]) {
        return Err(format!("`{s}`: the values of n must increase"));
    }
    Ok(ns)
}

/// Parses `--shard I/N`: the I-th (1-based) of N slices.
pub fn parse_shard(s: &str) -> Result<(usize, usize), String> {
    let bad = || format!("--shard must be I/N with 1 ≤ I ≤ N (e.g. 2/8), got `{s}`");
    let (i, n) = s.split_once('/').ok_or_else(bad)?;
    let i: usize = i.trim().parse().map_err(|_| bad())?;
    let n: usize = n.trim().parse().map_err(|_| bad())?;
    if i == 0 || i > n || n > 100_000 {
        return Err(bad());
    }
    Ok((i, n))
}

/// Flag combinations a board cannot honour.
fn check_config(cfg: &BenchConfig) -> Result<(), Error> {
    let usage = |m: &str| Err(Error::Usage(m.into()));
    if cfg.seeds.is_empty() {
        return usage("--seeds selects no seed");
    }
    if train::task(&cfg.task).is_none() {
        return Err(Error::Usage(format!(
            "unknown task `{}` (known: {})",
            cfg.task,
            train::TASKS.join(", ")
        )));
    }
    if !cfg.scale.is_empty() && !cfg.curriculum.is_empty() {
        return usage("--scale and --curriculum do not combine: run them as two boards");
    }
    if (!cfg.scale.is_empty() || !cfg.curriculum.is_empty()) && cfg.settings.values.contains_key("n") {
        return usage("--set n=… conflicts with --scale/--curriculum, which set n themselves");
    }
    if !cfg.curriculum.is_empty() && cfg.count_eval {
        return usage("--count-eval does not combine with --curriculum (each stage evaluates its own n)");
    }
    if cfg.eval_every == Some(0) {
        return usage("--eval-every must be at least 1");
    }
    Ok(())
}

/// The settings of each stage of each unit one program contributes.
fn unit_settings(cfg: &BenchConfig) -> Vec<Vec<Settings>> {
    let base = &cfg.settings;
    if !cfg.scale.is_empty() {
        return cfg.scale.iter().map(|n| vec![base.clone().with("n", n)]).collect();
    }
    if let Some(first) = cfg.curriculum.first() {
        // The secret lies in the first stage's bits, so every stage shares it.
        let secret = base
            .values
            .get("secret_n")
            .cloned()
            .unwrap_or_else(|| first.to_string());
        let stages = cfg
            .curriculum
            .iter()
            .map(|n| base.clone().with("n", n).with("secret_n", &secret))
            .collect();
        return vec![stages];
    }
    vec![vec![base.clone()]]
}

/// Loads a program at one stage's settings and decides whether it fits the
/// task: `Ok(Err(reason))` is a skip; `Err` is bad input.
fn fit(file: &SourceFile, settings: &Settings, cfg: &BenchConfig) -> Result<Result<Session, String>, Error> {
    let parsed = parse(file)?;
    if let Some(key) = unknown_setting(&parsed, settings) {
        return Ok(Err(format!("`--set {key}`: the program has no dim or hyper `{key}`")));
    }
    let loaded = load(file, settings, &cfg.limits)?;
    let seed = cfg.seeds.first().copied().unwrap_or(0);
    let session = match Session::new(loaded, &cfg.task, settings, &cfg.limits, seed) {
        Ok(s) => s,
        Err(Error::Task(why)) => return Ok(Err(why)),
        Err(e) => return Err(e),
    };
    if session.validated().program().predict.is_none() {
        return Ok(Err("the program has no `predict` line".into()));
    }
    Ok(Ok(session))
}

/// Refuses a board whose rows run at different task settings: ranking a
/// program trained at n = 3 beside one at n = 20 compares different problems.
fn check_one_task(units: &[Unit]) -> Result<(), Error> {
    let configs: Vec<(&str, &TaskConfig)> = units
        .iter()
        .map(|u| (u.name.as_str(), u.last().task_config()))
        .collect();
    let Some((_, first)) = configs.first() else {
        return Ok(());
    };
    let key = task_key(first);
    if configs.iter().all(|(_, c)| task_key(c) == key) {
        return Ok(());
    }
    let list: Vec<String> = configs
        .iter()
        .map(|(name, c)| format!("{name} (n={}, k={}, n_test={})", c.n, c.k, c.n_test))
        .collect();
    Err(Error::Usage(format!(
        "the programs run at different task settings, so one board cannot rank them: {}; \
         set them for every row (e.g. --set n=20 --set k=3 --set n_test=200), \
         or ask for one table per setting with --group-by-task",
        list.join(", ")
    )))
}

impl Unit {
    fn last(&self) -> &Session {
        // A unit has at least one stage (`plan` builds none without).
        &self.stages[self.stages.len() - 1]
    }

    fn meta(&self) -> UnitMeta {
        let s = self.last();
        let tc = s.task_config();
        let b = tc.batch.max(1);
        UnitMeta {
            program: self.name.clone(),
            config: tc.clone(),
            about: about(&s.loaded().source.text),
            ops: s.validated().program().order.len(),
            evals_per_epoch: (tc.n_train.div_ceil(b) + tc.n_test.div_ceil(b)) as u64,
            curriculum: if self.stages.len() > 1 {
                self.stages.iter().map(|s| s.task_config().n).collect()
            } else {
                Vec::new()
            },
        }
    }
}

/// Loads every program at every unit's settings. When a program does not parse
/// or validate, `src` is left holding it, so its diagnostics can show it.
pub(super) fn plan(files: &[SourceFile], cfg: &BenchConfig, src: &mut Option<SourceFile>) -> Result<Plan, Error> {
    check_config(cfg)?;
    let per_program = unit_settings(cfg);
    let mut units = Vec::new();
    let mut skipped = Vec::new();
    for f in files {
        let name = program_name(&f.name);
        for stages in &per_program {
            *src = Some(f.clone());
            let mut sessions = Vec::new();
            let mut why = None;
            for st in stages {
                match fit(f, st, cfg)? {
                    Ok(s) => sessions.push(s),
                    Err(reason) => {
                        why = Some(reason);
                        break;
                    }
                }
            }
            *src = None;
            match why {
                None if !sessions.is_empty() => units.push(Unit {
                    name: name.clone(),
                    stages: sessions,
                }),
                _ => {
                    let at = if cfg.scale.is_empty() {
                        String::new()
                    } else {
                        format!(" (n={})", stages[0].values.get("n").map_or("?", String::as_str))
                    };
                    skipped.push(Skipped {
                        program: format!("{name}{at}"),
                        reason: why.unwrap_or_else(|| "no stage".into()),
                    });
                }
            }
        }
    }
    if !cfg.group_by_task && cfg.scale.is_empty() {
        check_one_task(&units)?;
    }
    Ok(Plan {
        units,
        skipped,
        seeds: cfg.seeds.clone(),
    })
}

impl Plan {
    /// Each unit's row facts, in unit order.
    pub(super) fn metas(&self) -> Vec<UnitMeta> {
        self.units.iter().map(Unit::meta).collect()
    }

    /// Every job of the grid, in order: per unit, its scoring job, then one
    /// run per seed. Job `j` belongs to shard `j mod N + 1` of N.
    fn jobs(&self) -> Vec<Job> {
        let mut jobs = Vec::new();
        for u in 0..self.units.len() {
            jobs.push(Job::Score(u));
            jobs.extend(self.seeds.iter().map(|&s| Job::Run(u, s)));
        }
        jobs
    }

    /// How many jobs the grid has.
    pub(super) fn job_count(&self) -> usize {
        self.units.len() * (1 + self.seeds.len())
    }
}

fn score_job(unit: &Unit, cfg: &BenchConfig) -> Result<ScoreOut, Error> {
    let last = unit.last();
    let v = last.validated();
    let mut stage_per_step = Vec::new();
    for s in &unit.stages[..unit.stages.len() - 1] {
        stage_per_step.push(per_step(s)?);
    }
    Ok(ScoreOut {
        per_step: per_step(last)?,
        stage_per_step,
        eval: if cfg.count_eval { Some(eval_pass(last)?) } else { None },
        floor: CLOCK.iter().filter_map(|m| floor_of(v, *m).map(|x| (*m, x))).collect(),
        reordered: CLOCK
            .iter()
            .filter_map(|m| reorder_only(v, *m, cfg.reorder_budget).map(|x| (*m, x)))
            .collect(),
    })
}

/// One seed through every stage: each stage trains until solved or its epoch
/// limit and hands its params and state to the next (`--load-state`'s rule);
/// the run is solved when the last stage is.
fn run_job(unit: &Unit, seed: u64, cfg: &BenchConfig) -> Result<SeedRun, Error> {
    let t0 = std::time::Instant::now();
    let mut run = SeedRun {
        seed,
        solved_epoch: None,
        solved_step: None,
        epochs_run: 0,
        samples: 0,
        queries: 0,
        evaluations: 0,
        stage_steps: Vec::new(),
        wall_s: 0.0,
        error: None,
    };
    let mut start: Option<State> = None;
    let (mut steps, mut epochs) = (0u64, 0usize);
    for (i, stage) in unit.stages.iter().enumerate() {
        let session = stage.with_seed(seed)?;
        // The train-set evaluation does not decide `solved`: skip it.
        let opts = RunOptions {
            epochs: cfg.epochs,
            eval_train: false,
            eval_every: cfg.eval_every,
            start: start.take(),
            ..RunOptions::default()
        };
        let r = match session.train(&opts, None, |_| {}) {
            Ok(r) => r,
            Err(Error::Interp(e)) => {
                run.error = Some(diverged(&unit.name, &session, seed, &e));
                break;
            }
            Err(e) => return Err(e),
        };
        run.samples += r.samples;
        run.queries += r.queries;
        run.evaluations += r.evaluations;
        if i + 1 < unit.stages.len() {
            run.stage_steps.push(r.steps);
            steps += r.steps;
            epochs += r.epochs_run;
            start = Some(r.state);
        } else {
            run.solved_step = r.solved_step.map(|s| s + steps);
            run.solved_epoch = r.solved_epoch.map(|e| e + epochs);
            run.epochs_run = epochs + r.epochs_run;
        }
    }
    run.wall_s = t0.elapsed().as_secs_f64();
    Ok(run)
}

/// A fault named for the board: program, seed, and where in its file.
fn diverged(name: &str, session: &Session, seed: u64, e: &crate::interp::InterpError) -> String {
    match e.span() {
        Some(span) => format!("`{name}` seed {seed}: {}: {e}", session.loaded().source.locate(span)),
        None => format!("`{name}` seed {seed}: {e}"),
    }
}

/// Runs the jobs of the grid (with a shard `(i, n)`, only the jobs `j` with
/// `j mod n = i − 1`) on `cfg.jobs` threads; results come back in job order,
/// with their job indices, whatever the thread count.
pub(super) fn run_jobs(
    plan: &Plan,
    cfg: &BenchConfig,
    shard: Option<(usize, usize)>,
) -> Result<Vec<(usize, Out)>, Error> {
    let jobs: Vec<(usize, Job)> = plan
        .jobs()
        .into_iter()
        .enumerate()
        .filter(|(j, _)| shard.is_none_or(|(i, n)| j % n == i - 1))
        .collect();
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(cfg.jobs.max(1))
        .build()
        .map_err(|e| Error::Usage(format!("cannot start {} worker threads: {e}", cfg.jobs)))?;
    // `collect` keeps job order, so the board does not depend on the thread count.
    let outs: Vec<Result<(usize, Out), Error>> = pool.install(|| {
        jobs.par_iter()
            .map(|&(j, job)| {
                let out = match job {
                    Job::Score(u) => match score_job(&plan.units[u], cfg) {
                        Ok(s) => Out::Score(s),
                        // A program whose traced step faults cannot be scored: it
                        // leaves the board with the reason, the others stay.
                        Err(Error::Interp(e)) => {
                            let unit = &plan.units[u];
                            Out::Skip(diverged(&unit.name, unit.last(), unit.last().seed(), &e))
                        }
                        Err(e) => return Err(e),
                    },
                    Job::Run(u, seed) => Out::Run(run_job(&plan.units[u], seed, cfg)?),
                };
                Ok((j, out))
            })
            .collect()
    });
    outs.into_iter().collect()
}

fn out_of_order() -> Error {
    Error::Internal("bench job results out of order".into())
}

/// Builds the board from every job's result, in job order.
pub(super) fn assemble(spec: Spec, metas: &[UnitMeta], skipped: Vec<Skipped>, outs: Vec<Out>) -> Result<Board, Error> {
    let mut outs = outs.into_iter();
    let mut rows = Vec::new();
    let mut skipped = skipped;
    for m in metas {
        let first = outs.next();
        let mut runs = Vec::new();
        for _ in &spec.seeds {
            match outs.next() {
                Some(Out::Run(r)) => runs.push(r),
                _ => return Err(out_of_order()),
            }
        }
        let score = match first {
            Some(Out::Score(score)) => score,
            Some(Out::Skip(reason)) => {
                skipped.push(Skipped {
                    program: m.program.clone(),
                    reason,
                });
                continue;
            }
            _ => return Err(out_of_order()),
        };
        rows.push(Row {
            program: m.program.clone(),
            task: spec.task.clone(),
            config: m.config.clone(),
            about: m.about.clone(),
            ops: m.ops,
            curriculum: m.curriculum.clone(),
            runs,
            per_step: score.per_step,
            stage_per_step: score.stage_per_step,
            eval_pass: score.eval,
            evals_per_epoch: m.evals_per_epoch,
            floor: score.floor,
            reordered: score.reordered,
        });
    }
    if outs.next().is_some() {
        return Err(out_of_order());
    }
    Ok(Board { spec, rows, skipped })
}
