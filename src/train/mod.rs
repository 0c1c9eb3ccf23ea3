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
pub mod state;
pub mod sum;

use crate::interp::{Interp, InterpError, Labeler, StartWrites, slice};
use crate::ir::{BufId, OpId, Role};
use crate::trace::{Tracer, fnv1a};
use crate::valid::{Settings, Validated, ValidationError};
use rand::SeedableRng;
use rand::rngs::ChaCha8Rng;
use serde::Serialize;
use thiserror::Error;

/// Names `--set` may give a task.
pub const TASK_KEYS: [&str; 6] = ["n", "k", "n_train", "n_test", "batch", "secret_n"];

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
    /// The secret is drawn from the first `secret_n` bits (default `n`), so it is
    /// the same for every `n ≥ secret_n`: a curriculum over n keeps its secret.
    pub secret_n: usize,
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
pub trait Task: Send + Sync {
    /// Its name on the command line.
    fn name(&self) -> &'static str;
    /// The label of an input from its secret bits (in the secret's ascending
    /// order): the one definition the data and `query` share.
    fn label(&self, secret_bits: &[f32]) -> f32;
    /// Draws the secret and the data from `seed`.
    fn generate(&self, cfg: &TaskConfig, seed: u64) -> Dataset {
        generate_bits(cfg, seed, |bits| self.label(bits))
    }
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
    let secret = parity::draw_secret(&mut rng, cfg.secret_n.min(cfg.n), cfg.k);
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

/// The label oracle `query` asks: the task's label of a row's secret coordinates.
pub struct Oracle<'a> {
    task: &'a dyn Task,
    secret: &'a [usize],
}

impl<'a> Oracle<'a> {
    /// The oracle of `task` with the drawn `secret`.
    pub fn new(task: &'a dyn Task, secret: &'a [usize]) -> Oracle<'a> {
        Oracle { task, secret }
    }
}

impl Labeler for Oracle<'_> {
    fn label(&self, row: &[f32]) -> f32 {
        // At most k secret bits: a small stack buffer keeps a step allocation-free.
        let mut bits = [0.0f32; 64];
        let mut heap = Vec::new();
        let k = self.secret.len();
        let buf: &mut [f32] = if k <= bits.len() {
            &mut bits[..k]
        } else {
            heap.resize(k, 0.0);
            &mut heap
        };
        for (b, &i) in buf.iter_mut().zip(self.secret) {
            *b = row.get(i).copied().unwrap_or(0.0);
        }
        self.task.label(buf)
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
    let n = get("n", 20)?;
    let cfg = TaskConfig {
        name: name.to_string(),
        n,
        k: get("k", 3)?,
        secret_n: get("secret_n", n as u64)?,
        n_train: get("n_train", 1000)?,
        n_test: get("n_test", 200)?,
        batch: get("batch", 1)?,
    };
    for (name, v) in [("n_train", cfg.n_train), ("batch", cfg.batch)] {
        if v == 0 {
            return Err(ValidationError::BadSetting {
                name: name.into(),
                message: "must be at least 1".into(),
            });
        }
    }
    if cfg.k > cfg.n {
        return Err(ValidationError::BadSetting {
            name: "k".into(),
            message: format!("k = {} exceeds n = {}", cfg.k, cfg.n),
        });
    }
    if cfg.secret_n < cfg.k || cfg.secret_n > cfg.n {
        return Err(ValidationError::BadSetting {
            name: "secret_n".into(),
            message: format!(
                "secret_n = {} must lie between k = {} and n = {}",
                cfg.secret_n, cfg.k, cfg.n
            ),
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
    /// Also evaluate the train set at each evaluation (its figures are NaN when
    /// off; `solved` depends on the test set only, so it does not change).
    pub eval_train: bool,
    /// Evaluate every this many steps; `None` once per epoch (after its last
    /// step). The last step of the run is always evaluated.
    pub eval_every: Option<u64>,
    /// Start from these params and state instead of the initial values
    /// (`--load-state`; see `state` for the rules).
    pub start: Option<state::State>,
}

impl Default for RunOptions {
    fn default() -> RunOptions {
        RunOptions {
            epochs: 200,
            until: 1.0,
            shuffle: false,
            eval_train: true,
            eval_every: None,
            start: None,
        }
    }
}

/// The figures of one evaluation (by default one per epoch, after its last step).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct EpochStats {
    /// 1-based epoch the evaluated step belongs to: ⌈steps / steps per epoch⌉.
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
    /// Epoch of the first evaluation that reached `until`.
    pub solved_epoch: Option<usize>,
    /// Steps run by then.
    pub solved_step: Option<u64>,
    /// Distinct training examples fed up to `solved_step` (or over the run if
    /// unsolved): min(steps × batch, n_train), since every epoch's order is a
    /// permutation of the training set started from its first position.
    pub samples: u64,
    /// Labels asked with `query` up to the same point (one per row).
    pub queries: u64,
    /// Evaluations run up to `solved_step` (or over the run if unsolved).
    pub evaluations: u64,
    /// The figures of every evaluation.
    pub history: Vec<EpochStats>,
    /// Final values of every param and state buffer, in declaration order.
    pub params: Vec<(String, Vec<f32>)>,
    /// The same, with roles and shapes, as `--dump-state` writes them.
    pub state: state::State,
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
    check_queries(v, cfg)?;
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

/// Every `query` asks for rows of the task's `n` inputs.
fn check_queries(v: &Validated, cfg: &TaskConfig) -> Result<(), TrainError> {
    let p = v.program();
    for id in p.op_ids() {
        let crate::ir::OpKind::Call {
            prim: crate::ir::Prim::Query,
            args,
            ..
        } = &p.op(id).kind
        else {
            continue;
        };
        let row = args.first().and_then(|a| {
            let sl = v.region(id, crate::ir::Slot::Arg(0)).map(|r| r.shape.as_slice());
            sl.unwrap_or_else(|| v.shape(*a)).last().copied()
        });
        if row != Some(cfg.n) {
            return Err(TrainError::Mismatch(format!(
                "`{}` asks for labels of rows of {} values; the task's inputs have n = {}",
                p.op_name(id),
                row.unwrap_or(0),
                cfg.n
            )));
        }
    }
    Ok(())
}

/// Which examples each step sees: the one definition every run uses.
///
/// An epoch is ⌈n_train / batch⌉ steps. Step `k` of an epoch feeds positions
/// `k·batch + j` (j < batch) of the epoch's order, modulo `n_train`: a last
/// partial batch wraps to the start of the order, and every epoch restarts at
/// position 0. The order is the identity, or with shuffling a fresh Fisher–Yates
/// pass over the previous order at the start of every epoch, drawn from the
/// `shuffle` stream of the run seed.
#[derive(Debug)]
pub struct Examples {
    order: Vec<usize>,
    batch: usize,
    per_epoch: u64,
    shuffle: Option<ChaCha8Rng>,
}

impl Examples {
    /// The order of a task config (`n_train` and `batch` at least 1, as
    /// `config` guarantees) for a run seed.
    pub fn new(cfg: &TaskConfig, seed: u64, shuffle: bool) -> Examples {
        let (n_train, batch) = (cfg.n_train.max(1), cfg.batch.max(1));
        Examples {
            order: (0..n_train).collect(),
            batch,
            per_epoch: n_train.div_ceil(batch) as u64,
            shuffle: shuffle.then(|| rng_for(seed, "shuffle")),
        }
    }

    /// Steps per epoch: ⌈n_train / batch⌉.
    pub fn steps_per_epoch(&self) -> u64 {
        self.per_epoch
    }

    /// Prepares step `step` (0-based; steps are prepared in order): a new epoch
    /// reshuffles when shuffling.
    fn prepare(&mut self, step: u64) {
        if !step.is_multiple_of(self.per_epoch) {
            return;
        }
        if let Some(rng) = self.shuffle.as_mut() {
            use rand::Rng;
            for i in (1..self.order.len()).rev() {
                let j = (rng.next_u32() as usize) % (i + 1);
                self.order.swap(i, j);
            }
        }
    }

    /// Distinct training examples the first `steps` steps feed: min(steps ×
    /// batch, n_train) (each epoch's order is a permutation, fed from its start).
    pub fn distinct(&self, steps: u64) -> u64 {
        steps.saturating_mul(self.batch as u64).min(self.order.len() as u64)
    }

    /// The training example at slot `j` of step `step`.
    pub fn example(&self, step: u64, j: usize) -> usize {
        let base = (step % self.per_epoch) as usize * self.batch;
        self.order[(base + j) % self.order.len()]
    }
}

/// Copies examples `idx(j)`, j < b, into the input and target buffers.
pub fn feed(
    it: &mut Interp<'_>,
    ports: &Ports,
    (xs, ys): (&[f32], &[f32]),
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

/// The `u32` index of step `s` (0-based) as events and analyzers number it:
/// checked, never wrapped, and below `u32::MAX` so a step count `s + 1` fits.
pub fn step_index(s: u64) -> Result<u32, InterpError> {
    u32::try_from(s)
        .ok()
        .filter(|x| *x < u32::MAX)
        .ok_or_else(|| InterpError::Counter {
            what: "the training step".into(),
            value: s,
        })
}

/// A training run in progress: the interpreter from the `init` seed, the data,
/// and the example order. `step` is the only way a training step runs.
pub struct Run<'a> {
    it: Interp<'a>,
    ports: Ports,
    cfg: &'a TaskConfig,
    data: &'a Dataset,
    examples: Examples,
    steps: u64,
}

impl<'a> Run<'a> {
    /// A run of `v` (whose ports fit `cfg`) on `data` of `task` from run seed
    /// `seed`; `query` asks the task's oracle for the data's secret.
    pub fn new(
        v: &'a Validated,
        ports: Ports,
        (task, cfg): (&'a dyn Task, &'a TaskConfig),
        data: &'a Dataset,
        seed: u64,
        shuffle: bool,
    ) -> Run<'a> {
        Run {
            it: Interp::new(v, seed_for(seed, "init"))
                .with_labeler(Box::new(Oracle::new(task, &data.secret)))
                .with_noise_seed(seed),
            ports,
            cfg,
            data,
            examples: Examples::new(cfg, seed, shuffle),
            steps: 0,
        }
    }

    /// Steps run so far.
    pub fn steps(&self) -> u64 {
        self.steps
    }

    /// Steps per epoch.
    pub fn steps_per_epoch(&self) -> u64 {
        self.examples.steps_per_epoch()
    }

    /// Distinct training examples fed so far.
    pub fn samples(&self) -> u64 {
        self.examples.distinct(self.steps)
    }

    /// Labels asked with `query` so far (evaluation passes ask none).
    pub fn queries(&self) -> u64 {
        self.it.queries()
    }

    /// The interpreter (buffers are read through it).
    pub fn interp(&self) -> &Interp<'a> {
        &self.it
    }

    /// Feeds the next step's examples and runs the step; with a tracer, emits its
    /// events (the first step writes params and state at its start, later steps
    /// inputs and targets only).
    pub fn step(&mut self, tracer: Option<&mut dyn Tracer>) -> Result<(), InterpError> {
        let s = self.steps;
        self.examples.prepare(s);
        let ex = &self.examples;
        let (n, b) = (self.cfg.n, self.cfg.batch);
        feed(
            &mut self.it,
            &self.ports,
            (&self.data.train_x, &self.data.train_y),
            n,
            b,
            |j| ex.example(s, j),
        );
        let which = if s == 0 { StartWrites::All } else { StartWrites::Data };
        self.it.step(step_index(s)?, tracer.map(|t| (t, which)))?;
        self.steps += 1;
        Ok(())
    }

    /// The current values of every param and state buffer, in declaration order.
    pub fn params(&self) -> Vec<(String, Vec<f32>)> {
        let p = self.it.validated().program();
        p.buffers
            .values()
            .zip(p.buffer_ids())
            .filter(|(b, _)| b.role.persists())
            .map(|(b, id)| (b.name.clone(), self.it.buffer(id).to_vec()))
            .collect()
    }

    /// Mean loss and accuracy of the forward part `fwd` over the test set, or
    /// the train set with `train`, untraced.
    pub fn evaluate(&mut self, fwd: &[OpId], task: &dyn Task, train: bool) -> Result<(f64, f64), TrainError> {
        let Some(pred) = self.ports.pred else {
            return Err(TrainError::Mismatch("the program has no `predict` line".into()));
        };
        let (xs, ys) = if train {
            (&self.data.train_x, &self.data.train_y)
        } else {
            (&self.data.test_x, &self.data.test_y)
        };
        let (b, count) = (self.cfg.batch, ys.len());
        let (mut loss, mut correct) = (0.0f64, 0usize);
        let mut start = 0;
        while start < count {
            let real = b.min(count - start);
            feed(&mut self.it, &self.ports, (xs, ys), self.cfg.n, b, |j| {
                (start + j) % count
            });
            self.it.run_ops(fwd, self.steps)?;
            let out = self.it.buffer(pred);
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
}

/// Trains until the test accuracy reaches `opts.until` or the epoch limit,
/// evaluating the forward slice (untraced) every `opts.eval_every` steps — by
/// default after the last step of every epoch — and after the run's last step.
/// With a tracer, every training step is traced; the caller brackets the run
/// with `begin` and `end`.
pub fn train(
    run: &mut Run<'_>,
    task: &dyn Task,
    opts: &RunOptions,
    mut tracer: Option<&mut dyn Tracer>,
    mut on_eval: impl FnMut(&EpochStats),
) -> Result<RunResult, TrainError> {
    let Some(pred) = run.ports.pred else {
        return Err(TrainError::Mismatch("the program has no `predict` line".into()));
    };
    let fwd = slice(run.it.validated().program(), &[pred]);
    if let Some(st) = &opts.start {
        st.apply(&mut run.it)
            .map_err(|m| TrainError::Mismatch(format!("--load-state: {m}")))?;
    }
    let per_epoch = run.steps_per_epoch();
    let every = opts.eval_every.unwrap_or(per_epoch).max(1);
    let last = (opts.epochs as u64).saturating_mul(per_epoch);
    let mut res = RunResult {
        secret: run.data.secret.clone(),
        epochs_run: 0,
        steps: 0,
        solved_epoch: None,
        solved_step: None,
        samples: 0,
        queries: 0,
        evaluations: 0,
        history: Vec::new(),
        params: Vec::new(),
        state: state::State::capture(&run.it),
    };
    while run.steps() < last {
        run.step(tracer.as_mut().map(|t| &mut **t as &mut dyn Tracer))?;
        let steps = run.steps();
        res.steps = steps;
        res.epochs_run = steps.div_ceil(per_epoch) as usize;
        res.samples = run.samples();
        res.queries = run.queries();
        if !steps.is_multiple_of(every) && steps != last {
            continue;
        }
        let (train_loss, train_acc) = if opts.eval_train {
            run.evaluate(&fwd, task, true)?
        } else {
            (f64::NAN, f64::NAN)
        };
        let (test_loss, test_acc) = run.evaluate(&fwd, task, false)?;
        let st = EpochStats {
            epoch: res.epochs_run,
            steps,
            train_loss,
            test_loss,
            train_acc,
            test_acc,
        };
        on_eval(&st);
        res.history.push(st);
        res.evaluations += 1;
        if test_acc >= opts.until {
            res.solved_epoch = Some(res.epochs_run);
            res.solved_step = Some(steps);
            break;
        }
    }
    res.params = run.params();
    res.state = state::State::capture(&run.it);
    Ok(res)
}
