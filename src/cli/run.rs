//! `sutro score`, `sutro run` and `sutro demo`: one traced step, a training run,
//! and the two on the built-in program.

use super::*;
use sutro::analysis::{Cold, Metric, Reuse, ReuseKind, text};
use sutro::trace::{Tee, Tracer};
use sutro::train::{RunOptions, RunResult};

/// `sutro score`: the first step, traced into the selected analyzers.
pub(super) fn score_cmd(a: ScoreArgs, src: &mut Option<SourceFile>) -> Result<(), Error> {
    let session = open(&a.load, &a.task, src)?;
    let mut list = analyzers(&a.metrics, &[Metric::ArdWrite], a.events)?;
    let mut ard = Reuse::new(ReuseKind::Write, Cold::MinusOne);
    {
        let mut tracers: Vec<&mut dyn Tracer> = list.iter_mut().map(|x| x.as_tracer()).collect();
        if a.plot.is_some() {
            tracers.push(&mut ard);
        }
        session.trace(1, &mut Tee(tracers))?;
    }
    let h = session.header();
    if let Some(path) = &a.plot {
        let title = format!("{}: reuse distance per buffer (ard_write)", h.program);
        let svg = sutro::plot::buffer_distances(&title, "ard_write", &[(&h.program, &ard.report().buffers)])
            .map_err(plot_error)?;
        write_atomic(path, svg.as_bytes())?;
    }
    print_reports(&list, h, a.json);
    Ok(())
}

fn run_table(res: &RunResult, wall: f64) -> String {
    let mut s = format!(
        "{:>6} {:>8} {:>10} {:>10} {:>9} {:>9}\n",
        "epoch", "steps", "train_loss", "test_loss", "train_acc", "test_acc"
    );
    let n = res.history.len();
    for (i, h) in res.history.iter().enumerate() {
        // Long runs show every tenth epoch and the last one.
        if n <= 20 || i % 10 == 0 || i + 1 == n {
            s.push_str(&format!(
                "{:>6} {:>8} {:>10.4} {:>10.4} {:>9.3} {:>9.3}\n",
                h.epoch, h.steps, h.train_loss, h.test_loss, h.train_acc, h.test_acc
            ));
        }
    }
    match (res.solved_epoch, res.solved_step) {
        (Some(e), Some(st)) => s.push_str(&format!("\nsolved at epoch {e} (step {st}) in {wall:.3} s\n")),
        _ => s.push_str(&format!("\nnot solved in {} epochs ({wall:.3} s)\n", res.epochs_run)),
    }
    s
}

/// `sutro run`: train until solved or the epoch limit, optionally tracing every
/// step into `--metric` analyzers.
pub(super) fn run_cmd(a: RunArgs, src: &mut Option<SourceFile>) -> Result<(), Error> {
    let session = open(&a.load, &a.task, src)?;
    let cfg = session.task_config();
    if !(a.until > 0.0 && a.until <= 1.0) {
        return Err(Error::Usage(format!("--until must be in (0, 1], got {}", a.until)));
    }
    for out in [&a.dump_state, &a.save_state].into_iter().flatten() {
        if [Some(&a.load.file), a.load_state.as_ref()].contains(&Some(out)) {
            return Err(Error::Usage(format!(
                "`{out}` is an input of this run; write the state elsewhere"
            )));
        }
    }
    let start = match &a.load_state {
        Some(path) => Some(read_state(path, session.limits())?),
        None => None,
    };
    let opts = RunOptions {
        epochs: a.epochs,
        until: a.until,
        shuffle: a.shuffle,
        eval_every: a.eval_every,
        start,
        ..RunOptions::default()
    };
    let t0 = std::time::Instant::now();
    let steps_per_epoch = cfg.n_train.div_ceil(cfg.batch.max(1)).max(1) as u64;
    if (a.epochs as u64).saturating_mul(steps_per_epoch) > a.max_steps {
        return Err(Error::Usage(format!(
            "{} epochs of {steps_per_epoch} steps exceed --max-steps {}",
            a.epochs, a.max_steps
        )));
    }
    let mut list = analyzers(&a.metrics, &[], false)?;
    let mut tee = Tee(list.iter_mut().map(|x| x.as_tracer()).collect());
    let tracer: Option<&mut dyn Tracer> = if tee.0.is_empty() { None } else { Some(&mut tee) };
    let mut progress = Progress::new("epochs", a.epochs as u64, a.quiet);
    let res = session.train(&opts, tracer, |e| {
        progress.set(e.epoch as u64, &format!("test acc {:.3}", e.test_acc))
    })?;
    progress.finish();
    drop(tee);
    let wall = t0.elapsed().as_secs_f64();
    let name = &session.validated().program().name;
    if let Some(path) = &a.plot {
        let svg = sutro::plot::loss_accuracy(&format!("{name}: loss and accuracy per epoch"), &[(name, &res.history)])
            .map_err(plot_error)?;
        write_atomic(path, svg.as_bytes())?;
    }
    for path in [&a.dump_state, &a.save_state].into_iter().flatten() {
        write_atomic(path, sutro::json::pretty(&res.state).as_bytes())?;
    }
    if a.json {
        let program = sutro::json::ProgramId::of(session.header());
        let doc = sutro::json::Run::new(program, cfg, a.task.seed, &res, wall, sutro::json::metrics(&list));
        out(&sutro::json::pretty(&doc));
    } else {
        out(&format!(
            "{name} on {} (n={}, k={}, n_train={}, n_test={}, batch={}), seed {}, secret {:?}\n\n",
            cfg.name, cfg.n, cfg.k, cfg.n_train, cfg.n_test, cfg.batch, a.task.seed, res.secret
        ));
        out(&run_table(&res, wall));
        for x in &list {
            out(&format!("\n{}", x.text(name)));
        }
    }
    Ok(())
}

/// Reads a `--load-state` file, its size checked against the memory budget first.
fn read_state(path: &str, limits: &Limits) -> Result<sutro::train::state::State, Error> {
    let bad = |m: String| Error::Usage(format!("cannot load state `{path}`: {m}"));
    let len = std::fs::metadata(path).map_err(|e| bad(e.to_string()))?.len();
    limits
        .check_memory("the state file", len)
        .map_err(|e| bad(e.to_string()))?;
    let text = std::fs::read_to_string(path).map_err(|e| bad(e.to_string()))?;
    sutro::train::state::State::parse(&text).map_err(bad)
}

/// `sutro demo`: train the built-in program, then score one step.
pub(super) fn demo(seed: u64, src: &mut Option<SourceFile>) -> Result<(), Error> {
    let f = SourceFile::new("sparse_parity.sutro", DEFAULT_PROGRAM);
    *src = Some(f.clone());
    let session = Session::open(&f, "parity", &Settings::default(), &Limits::default(), seed)?;
    let cfg = session.task_config();
    let name = &session.validated().program().name;
    out(&format!(
        "sutro demo: training {name} on sparse parity (n={}, k={}, n_train={}, n_test={}, batch={}), seed {seed}\n\n",
        cfg.n, cfg.k, cfg.n_train, cfg.n_test, cfg.batch
    ));
    let t0 = std::time::Instant::now();
    let res = session.train(&RunOptions::default(), None, |_| {})?;
    out(&run_table(&res, t0.elapsed().as_secs_f64()));
    out("\nReuse distances of one training step:\n\n");
    let mut r = Reuse::new(ReuseKind::Write, Cold::MinusOne);
    session.trace(1, &mut r)?;
    out(&text::ard("ard_write", &r.report(), name));
    Ok(())
}
