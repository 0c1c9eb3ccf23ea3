//! The training driver: tasks, data, the epoch loop and evaluation.
//!
//! Seeds: every purpose draws from its own ChaCha8 stream, seeded with
//! `fnv1a("sutro/<purpose>/<seed>")` for purpose `data` (secret, then the train
//! set, then the test set), `init` (params and state, declaration order) and
//! `shuffle` (one permutation per epoch with `--shuffle`). One step consumes
//! `batch` examples in a cyclic order; a last partial batch wraps to the start.
//! After each epoch the forward part (the ops `predict` depends on) runs
//! untraced over the train and test sets.

pub mod and;
pub mod parity;
pub mod sum;

use crate::interp::{Interp, InterpError, slice};
use crate::ir::{BufId, Role};
use crate::trace::fnv1a;
use crate::valid::{Settings, Validated, ValidationError};
use rand::SeedableRng;
use rand::rngs::ChaCha8Rng;
use serde::Serialize;
use thiserror::Error;

/// Names `--set` may give a task.
pub const TASK_KEYS: [&str; 5] = ["n", "k", "n_train", "n_test", "batch"];

/// The generator for one purpose (`data`, `init`, `shuffle`) of a run seed.
pub fn rng_for(seed: u64, purpose: &str) -> ChaCha8Rng {
    ChaCha8Rng::seed_from_u64(seed_for(seed, purpose))
}

/// The derived seed of one purpose.
pub fn seed_for(seed: u64, purpose: &str) -> u64 {
    fnv1a(format!("sutro/{purpose}/{seed}").as_bytes())
}

/// Task dimensions.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct TaskConfig {
    /// Task name.
    pub name: String,
    /// Input bits.
    pub n: usize,
    /// Secret bits.
    pub k: usize,
    /// Training examples.
    pub n_train: usize,
    /// Test examples.
    pub n_test: usize,
    /// Examples per step.
    pub batch: usize,
}

/// Generated data: rows of `n` values, one label per row.
#[derive(Clone, Debug, Default)]
pub struct Dataset {
    /// Secret indices, ascending.
    pub secret: Vec<usize>,
    /// Train inputs.
    pub train_x: Vec<f32>,
    /// Train labels.
    pub train_y: Vec<f32>,
    /// Test inputs.
    pub test_x: Vec<f32>,
    /// Test labels.
    pub test_y: Vec<f32>,
}

/// A learning task.
pub trait Task {
    /// Its name on the command line.
    fn name(&self) -> &'static str;
    /// Draws the secret and the data from `seed`.
    fn generate(&self, cfg: &TaskConfig, seed: u64) -> Dataset;
    /// Per-example evaluation loss.
    fn loss(&self, pred: f32, y: f32) -> f64;
    /// Whether a prediction counts as correct.
    fn correct(&self, pred: f32, y: f32) -> bool;
    /// Takes the resolved config before data is drawn (e.g. `k` for rounding).
    fn configure(&mut self, _cfg: &TaskConfig) {}
    /// Whether a program suits the task; `Err` says why not.
    fn fits(&self, _p: &crate::ir::Program) -> Result<(), String> {
        Ok(())
    }
}

/// Every task name, for help and errors.
pub const TASKS: [&str; 3] = ["parity", "sum", "and"];

/// Draws a secret of `k` of `n` bits, then the train and test sets, labelling each
/// example with `label(secret bits of x)`: the data stream every ±1-bit task shares.
pub fn generate_bits(cfg: &TaskConfig, seed: u64, label: impl Fn(&[f32]) -> f32) -> Dataset {
    let mut rng = rng_for(seed, "data");
    let secret = parity::draw_secret(&mut rng, cfg.n, cfg.k);
    let mut bits = Vec::with_capacity(secret.len());
    let mut of = |x: &[f32]| {
        bits.clear();
        bits.extend(secret.iter().map(|&i| x[i]));
        label(&bits)
    };
    let (train_x, train_y) = parity::draw_bits(&mut rng, cfg.n_train, cfg.n, &mut of);
    let (test_x, test_y) = parity::draw_bits(&mut rng, cfg.n_test, cfg.n, &mut of);
    Dataset {
        secret,
        train_x,
        train_y,
        test_x,
        test_y,
    }
}

/// Looks a task up by name.
pub fn task(name: &str) -> Option<Box<dyn Task>> {
    match name {
        "parity" => Some(Box::new(parity::Parity)),
        "sum" => Some(Box::new(sum::Sum::default())),
        "and" => Some(Box::new(and::And)),
        _ => None,
    }
}

/// A training failure.
#[derive(Clone, Debug, PartialEq, Error)]
pub enum TrainError {
    /// The program does not fit the task.
    #[error("{0}")]
    Mismatch(String),
    /// A run-time fault.
    #[error(transparent)]
    Interp(#[from] InterpError),
}

/// Resolves the task config: the command line, then the program's dims, then defaults.
pub fn config(name: &str, v: &Validated, s: &Settings) -> Result<TaskConfig, ValidationError> {
    let get = |key: &str, default: u64| -> Result<usize, ValidationError> {
        let v = s.int(key)?.or_else(|| v.dims().get(key).copied()).unwrap_or(default);
        Ok(v as usize)
    };
    let cfg = TaskConfig {
        name: name.to_string(),
        n: get("n", 20)?,
        k: get("k", 3)?,
        n_train: get("n_train", 1000)?,
        n_test: get("n_test", 200)?,
        batch: get("batch", 1)?,
    };
    if cfg.k > cfg.n {
        return Err(ValidationError::BadSetting {
            name: "k".into(),
            message: format!("k = {} exceeds n = {}", cfg.k, cfg.n),
        });
    }
    data_bytes(&cfg, v)?;
    Ok(cfg)
}

/// Bytes a run holds: the program's buffers, the generated data (`n` inputs and
/// one label per example, f32) and the example order (one index per training
/// example), checked against the memory budget before anything is drawn.
pub fn data_bytes(cfg: &TaskConfig, v: &Validated) -> Result<u64, ValidationError> {
    use crate::valid::memory::{product, sum};
    let (n, n_train, n_test) = (cfg.n as u64, cfg.n_train as u64, cfg.n_test as u64);
    let train = product("the task data (n × n_train)", &[n.saturating_add(1), n_train, 4])?;
    let test = product("the task data (n × n_test)", &[n.saturating_add(1), n_test, 4])?;
    let order = product("the example order (n_train)", &[n_train, 8])?;
    let what = "the program's buffers and the task data";
    let total = sum(what, &[v.buffer_bytes(), train, test, order])?;
    Ok(v.limits().check_memory(what, total)?)
}

/// Options of a training run.
#[derive(Clone, Debug)]
pub struct RunOptions {
    /// Epoch limit.
    pub epochs: usize,
    /// Stop when test accuracy reaches this.
    pub until: f64,
    /// Shuffle the order every epoch.
    pub shuffle: bool,
    /// Also evaluate the train set after each epoch (its figures are NaN when off;
    /// `solved` depends on the test set only, so it does not change).
    pub eval_train: bool,
}

impl Default for RunOptions {
    fn default() -> RunOptions {
        RunOptions {
            epochs: 200,
            until: 1.0,
            shuffle: false,
            eval_train: true,
        }
    }
}

/// End-of-epoch figures.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct EpochStats {
    /// 1-based epoch.
    pub epoch: usize,
    /// Steps run so far.
    pub steps: u64,
    /// Mean train loss.
    pub train_loss: f64,
    /// Mean test loss.
    pub test_loss: f64,
    /// Train accuracy.
    pub train_acc: f64,
    /// Test accuracy.
    pub test_acc: f64,
}

/// The result of a training run.
#[derive(Clone, Debug, PartialEq)]
pub struct RunResult {
    /// Secret indices.
    pub secret: Vec<usize>,
    /// Epochs run.
    pub epochs_run: usize,
    /// Steps run.
    pub steps: u64,
    /// First epoch whose evaluation reached `until`.
    pub solved_epoch: Option<usize>,
    /// Steps run by then.
    pub solved_step: Option<u64>,
    /// Per-epoch figures.
    pub history: Vec<EpochStats>,
}

/// Buffers the driver feeds and reads.
#[derive(Clone, Copy, Debug)]
pub struct Ports {
    /// The input buffer (x).
    pub x: BufId,
    /// The target buffer (y).
    pub y: BufId,
    /// The prediction.
    pub pred: Option<BufId>,
}

/// Finds the input, target and prediction and checks them against the task.
pub fn ports(v: &Validated, cfg: &TaskConfig) -> Result<Ports, TrainError> {
    let p = v.program();
    let one = |role: Role| -> Result<BufId, TrainError> {
        let ids: Vec<BufId> = p.with_role(role).collect();
        match ids.as_slice() {
            [b] => Ok(*b),
            _ => Err(TrainError::Mismatch(format!(
                "the task needs exactly one `{}` buffer, the program has {}",
                role.keyword(),
                ids.len()
            ))),
        }
    };
    let (x, y) = (one(Role::Input)?, one(Role::Target)?);
    let b = cfg.batch;
    if v.size(x) != b * cfg.n {
        return Err(TrainError::Mismatch(format!(
            "input `{}` has {} elements; the task feeds batch × n = {b} × {} = {}",
            p.buf(x).name,
            v.size(x),
            cfg.n,
            b * cfg.n
        )));
    }
    if v.size(y) != b {
        return Err(TrainError::Mismatch(format!(
            "target `{}` has {} elements; the task feeds one per example ({b})",
            p.buf(y).name,
            v.size(y)
        )));
    }
    let pred = p.predict.map(|(b, _)| b);
    if let Some(pb) = pred
        && v.size(pb) != b
    {
        return Err(TrainError::Mismatch(format!(
            "`predict {}` has {} elements; one per example ({b}) is needed",
            p.buf(pb).name,
            v.size(pb)
        )));
    }
    Ok(Ports { x, y, pred })
}

/// Copies examples `idx` into the input and target buffers.
pub fn feed(
    it: &mut Interp<'_>,
    ports: &Ports,
    xs: &[f32],
    ys: &[f32],
    n: usize,
    b: usize,
    idx: impl Fn(usize) -> usize,
) {
    let xb = it.buffer_mut(ports.x);
    for j in 0..b {
        let i = idx(j);
        xb[j * n..(j + 1) * n].copy_from_slice(&xs[i * n..(i + 1) * n]);
    }
    let yb = it.buffer_mut(ports.y);
    for (j, y) in yb.iter_mut().enumerate().take(b) {
        *y = ys[idx(j)];
    }
}

/// Mean loss and accuracy of the forward part over a data set.
pub fn evaluate(
    it: &mut Interp<'_>,
    ports: &Ports,
    fwd: &[crate::ir::OpId],
    task: &dyn Task,
    (xs, ys): (&[f32], &[f32]),
    cfg: &TaskConfig,
    step: u64,
) -> Result<(f64, f64), TrainError> {
    let Some(pred) = ports.pred else {
        return Err(TrainError::Mismatch("the program has no `predict` line".into()));
    };
    let (b, count) = (cfg.batch, ys.len());
    let (mut loss, mut correct) = (0.0f64, 0usize);
    let mut start = 0;
    while start < count {
        let real = b.min(count - start);
        feed(it, ports, xs, ys, cfg.n, b, |j| (start + j) % count);
        it.run_ops(fwd, step)?;
        let out = it.buffer(pred);
        for j in 0..real {
            let y = ys[start + j];
            loss += task.loss(out[j], y);
            correct += usize::from(task.correct(out[j], y));
        }
        start += b;
    }
    let c = count.max(1) as f64;
    Ok((loss / c, correct as f64 / c))
}

/// Trains from the `init` seed on data drawn from the `data` seed.
pub fn train(
    v: &Validated,
    task: &dyn Task,
    cfg: &TaskConfig,
    seed: u64,
    opts: &RunOptions,
    on_epoch: impl FnMut(&EpochStats),
) -> Result<RunResult, TrainError> {
    train_traced(v, task, cfg, seed, opts, None, on_epoch)
}

/// `train`, with every training step traced into `tracer` (evaluation stays
/// untraced): `begin` with the header, step-start writes of params and state on
/// the first step only, then `end` after the last step.
pub fn train_traced(
    v: &Validated,
    task: &dyn Task,
    cfg: &TaskConfig,
    seed: u64,
    opts: &RunOptions,
    mut tracer: Option<(&mut dyn crate::trace::Tracer, &crate::trace::TraceHeader)>,
    mut on_epoch: impl FnMut(&EpochStats),
) -> Result<RunResult, TrainError> {
    if let Some((t, h)) = tracer.as_mut() {
        t.begin(h);
    }
    let ports = ports(v, cfg)?;
    let Some(pred) = ports.pred else {
        return Err(TrainError::Mismatch("the program has no `predict` line".into()));
    };
    let data = task.generate(cfg, seed);
    let mut it = Interp::new(v, seed_for(seed, "init"));
    let fwd = slice(v.program(), &[pred]);
    let mut order: Vec<usize> = (0..cfg.n_train).collect();
    let mut shuffle_rng = rng_for(seed, "shuffle");
    let steps_per_epoch = cfg.n_train.div_ceil(cfg.batch).max(1);
    let mut res = RunResult {
        secret: data.secret.clone(),
        epochs_run: 0,
        steps: 0,
        solved_epoch: None,
        solved_step: None,
        history: Vec::new(),
    };
    for epoch in 1..=opts.epochs {
        if opts.shuffle {
            use rand::Rng;
            for i in (1..order.len()).rev() {
                let j = (shuffle_rng.next_u32() as usize) % (i + 1);
                order.swap(i, j);
            }
        }
        for s in 0..steps_per_epoch {
            let base = s * cfg.batch;
            feed(&mut it, &ports, &data.train_x, &data.train_y, cfg.n, cfg.batch, |j| {
                order[(base + j) % cfg.n_train.max(1)]
            });
            let step = res.steps as u32;
            let traced = tracer.as_mut().map(|(t, _)| {
                let which = if step == 0 {
                    crate::interp::StartWrites::All
                } else {
                    crate::interp::StartWrites::Data
                };
                (&mut **t as &mut dyn crate::trace::Tracer, which)
            });
            it.step(step, traced)?;
            res.steps += 1;
        }
        let (train_loss, train_acc) = if opts.eval_train {
            evaluate(
                &mut it,
                &ports,
                &fwd,
                task,
                (&data.train_x, &data.train_y),
                cfg,
                res.steps,
            )?
        } else {
            (f64::NAN, f64::NAN)
        };
        let (test_loss, test_acc) = evaluate(
            &mut it,
            &ports,
            &fwd,
            task,
            (&data.test_x, &data.test_y),
            cfg,
            res.steps,
        )?;
        let st = EpochStats {
            epoch,
            steps: res.steps,
            train_loss,
            test_loss,
            train_acc,
            test_acc,
        };
        on_epoch(&st);
        res.history.push(st);
        res.epochs_run = epoch;
        if test_acc >= opts.until {
            res.solved_epoch = Some(epoch);
            res.solved_step = Some(res.steps);
            break;
        }
    }
    if let Some((t, _)) = tracer.as_mut() {
        t.end();
    }
    Ok(res)
}

/// Runs `steps` training steps (cyclic order, no evaluation) from the run seed and
/// calls `each` after every step; returns the final values of every param and state
/// buffer, in declaration order.
pub fn run_steps(
    v: &Validated,
    task: &dyn Task,
    cfg: &TaskConfig,
    seed: u64,
    steps: u64,
    mut each: impl FnMut(u64, &Interp<'_>),
) -> Result<Vec<(String, Vec<f32>)>, TrainError> {
    let ports = ports(v, cfg)?;
    let data = task.generate(cfg, seed);
    let mut it = Interp::new(v, seed_for(seed, "init"));
    let n_train = cfg.n_train.max(1);
    for s in 0..steps {
        let base = (s as usize) * cfg.batch;
        feed(&mut it, &ports, &data.train_x, &data.train_y, cfg.n, cfg.batch, |j| {
            (base + j) % n_train
        });
        it.step(s as u32, None)?;
        each(s, &it);
    }
    let p = v.program();
    Ok(p.buffers
        .values()
        .enumerate()
        .filter(|(_, b)| b.role.persists())
        .map(|(i, b)| (b.name.clone(), it.buffer(BufId(i as u32)).to_vec()))
        .collect())
}
