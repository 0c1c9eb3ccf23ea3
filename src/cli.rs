//! Command line: clap definitions, and the thin glue from commands to the library.
//!
//! Exit codes: 0 success (a `run` that did not solve still exits 0); 1 a run
//! that ran and failed (NaN/inf in training); 2 any bad input — program text,
//! flag, value or file. Diagnostics go to stderr, results to stdout.

use clap::{Args, Parser, Subcommand};
use serde_json::{Value, json};
use std::io::{IsTerminal, Write};
use sutro::analysis::{self, Cold, ColdPolicy, Metric, MetricOptions, ReuseKind, text};
use sutro::diag::{Diagnostic, render};
use sutro::ir::Prim;
use sutro::span::SourceFile;
use sutro::train::{self, RunOptions};
use sutro::valid::{Limits, Settings};
use sutro::{Error, Loaded};

/// The default program, embedded so `sutro demo` works from any directory.
const DEFAULT_PROGRAM: &str = include_str!("../programs/sparse_parity.sutro");

/// Author, run, trace and score training steps for energy-efficient learning research.
#[derive(Parser, Debug)]
#[command(name = "sutro", version, about, long_about = None)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Parse and validate a program: silent on success, diagnostics and exit 2 otherwise.
    #[command(after_help = "Example:\n  sutro check programs/sparse_parity.sutro --set hidden=64")]
    Check(Load),
    /// Print a program in canonical form (or rewrite it in place with --write).
    #[command(after_help = "Example:\n  sutro fmt programs/sprint1_fused.sutro --write")]
    Fmt {
        /// The .sutro file.
        file: String,
        /// Rewrite the file instead of printing it.
        #[arg(long)]
        write: bool,
    },
    /// Print a program; with --lowered, after `grad` is expanded into explicit ops.
    #[command(after_help = "Example:\n  sutro print programs/sparse_parity.sutro --lowered")]
    Print {
        #[command(flatten)]
        load: Load,
        /// Print the program after `grad` lowering.
        #[arg(long)]
        lowered: bool,
    },
    /// Score one instrumented step (the first step on the task's first example).
    #[command(after_help = "Example:\n  sutro score programs/sprint1_standard.sutro --metric ard_write --events")]
    Score {
        #[command(flatten)]
        load: Load,
        /// Metrics, comma separated, or `all`: ard_write, ard_access, lru_stack, dmd, bytedmd_v2, energy_pj.
        #[arg(long, default_value = "ard_write", value_delimiter = ',')]
        metric: Vec<String>,
        /// TOML file with an `[energy]` table overriding the energy_pj preset.
        #[arg(long, value_name = "FILE")]
        energy_config: Option<String>,
        /// Metric options as KEY=VALUE or METRIC.KEY=VALUE (e.g. cold=skip).
        #[arg(long = "opt", value_name = "KEY=VALUE")]
        opts: Vec<String>,
        /// Include the event log (op, clock, buffer, size, distance).
        #[arg(long)]
        events: bool,
        /// Print one JSON object instead of text.
        #[arg(long)]
        json: bool,
        /// Task whose first example feeds the step.
        #[arg(long, default_value = "parity")]
        task: String,
        /// Run seed (data and init derive from it).
        #[arg(long, default_value_t = 0)]
        seed: u64,
    },
    /// Train a program on a task until it solves it or the epoch limit.
    #[command(
        after_help = "Example:\n  sutro run programs/sparse_parity.sutro --set n=20 --set k=3 --seed 1 --plot loss.svg"
    )]
    Run(RunArgs),
    /// Train the built-in default program, then print the ard_write report of one step.
    Demo {
        /// Run seed.
        #[arg(long, default_value_t = 0)]
        seed: u64,
    },
    /// List the primitive ops with their semantics.
    Ops,
}

#[derive(Args, Debug)]
struct Load {
    /// The .sutro file.
    file: String,
    /// Set a dim, hyper or task key: NAME=VALUE (repeatable).
    #[arg(long = "set", value_name = "NAME=VALUE")]
    set: Vec<String>,
    /// Largest element count of one buffer.
    #[arg(long, default_value_t = 1 << 28)]
    max_buffer_elements: u64,
    /// Largest number of ops after lowering.
    #[arg(long, default_value_t = 100_000)]
    max_ops: usize,
}

#[derive(Args, Debug)]
struct RunArgs {
    #[command(flatten)]
    load: Load,
    /// Task to train on.
    #[arg(long, default_value = "parity")]
    task: String,
    /// Run seed (data, init and shuffle derive from it).
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Epoch limit.
    #[arg(long, default_value_t = 200)]
    epochs: usize,
    /// Test accuracy that counts as solved.
    #[arg(long, default_value_t = 1.0)]
    until: f64,
    /// Shuffle the example order every epoch.
    #[arg(long)]
    shuffle: bool,
    /// Print one JSON object instead of text.
    #[arg(long)]
    json: bool,
    /// Write an SVG of train and test loss per epoch.
    #[arg(long, value_name = "FILE.svg")]
    plot: Option<String>,
}

/// Runs a parsed command line; returns the exit code.
pub fn run(cli: Cli) -> u8 {
    let mut src: Option<SourceFile> = None;
    match dispatch(cli.command, &mut src) {
        Ok(()) => 0,
        Err(e) => {
            report(&e.diagnostics(), src.as_ref());
            e.exit_code()
        }
    }
}

fn report(diags: &[Diagnostic], src: Option<&SourceFile>) {
    let color = std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none();
    let _ = std::io::stderr().write_all(render(diags, src, color).as_bytes());
}

/// Writes to stdout; a closed pipe (`| head`) ends the output quietly.
fn out(s: &str) {
    let mut o = std::io::stdout().lock();
    let _ = o.write_all(s.as_bytes()).and_then(|()| o.flush());
}

fn read(path: &str) -> Result<SourceFile, Error> {
    std::fs::read_to_string(path)
        .map(|t| SourceFile::new(path, t))
        .map_err(|e| Error::Usage(format!("cannot read `{path}`: {e}")))
}

/// Writes a file atomically: a temporary beside it, then a rename.
fn write_atomic(path: &str, data: &[u8]) -> Result<(), Error> {
    let p = std::path::Path::new(path);
    let dir = p
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(std::path::Path::new("."));
    let name = p
        .file_name()
        .map_or_else(|| "out".into(), |n| n.to_string_lossy().into_owned());
    let tmp = dir.join(format!(".{name}.tmp{}", std::process::id()));
    let res = std::fs::write(&tmp, data).and_then(|()| std::fs::rename(&tmp, p));
    if let Err(e) = res {
        let _ = std::fs::remove_file(&tmp);
        return Err(Error::Usage(format!("cannot write `{path}`: {e}")));
    }
    Ok(())
}

fn load(l: &Load, src: &mut Option<SourceFile>) -> Result<Loaded, Error> {
    let file = read(&l.file)?;
    *src = Some(file.clone());
    let settings = Settings::parse(&l.set).map_err(|e| Error::Valid(vec![e]))?;
    let limits = Limits {
        max_buffer_elements: l.max_buffer_elements,
        max_ops: l.max_ops,
    };
    sutro::load(&file, &settings, &limits)
}

fn settings(l: &Load) -> Result<Settings, Error> {
    Settings::parse(&l.set).map_err(|e| Error::Valid(vec![e]))
}

fn task(name: &str) -> Result<Box<dyn train::Task>, Error> {
    train::task(name).ok_or_else(|| Error::Usage(format!("unknown task `{name}` (known: parity)")))
}

fn program_json(l: &Loaded) -> Value {
    let h = sutro::interp::header(&l.validated);
    json!({"name": h.program, "hash": h.hash})
}

fn dispatch(cmd: Command, src: &mut Option<SourceFile>) -> Result<(), Error> {
    match cmd {
        Command::Check(l) => {
            load(&l, src)?;
            Ok(())
        }
        Command::Fmt { file, write } => {
            let f = read(&file)?;
            *src = Some(f.clone());
            let p = sutro::parse(&f)?;
            let text = p.to_string();
            if write {
                if text != f.text {
                    write_atomic(&file, text.as_bytes())?;
                }
            } else {
                out(&text);
            }
            Ok(())
        }
        Command::Print { load: l, lowered } => {
            let loaded = load(&l, src)?;
            let text = if lowered {
                loaded.validated.program().to_string()
            } else {
                loaded.parsed.to_string()
            };
            out(&text);
            Ok(())
        }
        Command::Score {
            load: l,
            metric,
            energy_config,
            opts,
            events,
            json: as_json,
            task: tname,
            seed,
        } => {
            let loaded = load(&l, src)?;
            let s = settings(&l)?;
            let t = task(&tname)?;
            let cfg = train::config(&tname, &loaded.validated, &s).map_err(|e| Error::Valid(vec![e]))?;
            let metrics = Metric::parse_list(&metric).map_err(|e| Error::Usage(e.to_string()))?;
            let config = match &energy_config {
                Some(path) => Some(read(path)?.text),
                None => None,
            };
            let resolved =
                analysis::resolve(&metrics, &opts, config.as_deref()).map_err(|e| Error::Usage(e.to_string()))?;
            let mut reports = serde_json::Map::new();
            let mut texts = String::new();
            let program = &loaded.validated.program().name;
            for mo in &resolved {
                let name = mo.metric().name();
                if let MetricOptions::Ard(kind, o) = mo {
                    // The clock metrics keep their own report, text table and event log.
                    let cold = if o.cold == ColdPolicy::MinusOne {
                        Cold::MinusOne
                    } else {
                        Cold::Skip
                    };
                    let r = sutro::score_ard(&loaded.validated, t.as_ref(), &cfg, seed, *kind, cold, events)?;
                    texts.push_str(&text::ard(name, &r, program));
                    reports.insert(name.to_string(), serde_json::to_value(&r).unwrap_or(Value::Null));
                } else {
                    let mut a = mo.build();
                    sutro::trace_first_step(&loaded.validated, t.as_ref(), &cfg, seed, a.as_tracer())?;
                    let r = a.report_json();
                    texts.push_str(&text::summary(name, &r, program));
                    reports.insert(name.to_string(), r);
                }
            }
            if as_json {
                let v = json!({"schema": 1, "program": program_json(&loaded), "metrics": reports});
                out(&format!("{}\n", serde_json::to_string_pretty(&v).unwrap_or_default()));
            } else {
                out(&texts);
            }
            Ok(())
        }
        Command::Run(a) => run_cmd(a, src),
        Command::Demo { seed } => {
            let f = SourceFile::new("sparse_parity.sutro", DEFAULT_PROGRAM);
            *src = Some(f.clone());
            let loaded = sutro::load(&f, &Settings::default(), &Limits::default())?;
            let t = task("parity")?;
            let cfg =
                train::config("parity", &loaded.validated, &Settings::default()).map_err(|e| Error::Valid(vec![e]))?;
            out(&format!(
                "sutro demo: training {} on sparse parity (n={}, k={}, n_train={}, n_test={}, batch={}), seed {seed}\n\n",
                loaded.validated.program().name,
                cfg.n,
                cfg.k,
                cfg.n_train,
                cfg.n_test,
                cfg.batch
            ));
            let t0 = std::time::Instant::now();
            let res = train::train(
                &loaded.validated,
                t.as_ref(),
                &cfg,
                seed,
                &RunOptions::default(),
                |_| {},
            )?;
            out(&run_table(&res, t0.elapsed().as_secs_f64()));
            out("\nReuse distances of one training step:\n\n");
            let r = sutro::score_ard(
                &loaded.validated,
                t.as_ref(),
                &cfg,
                seed,
                ReuseKind::Write,
                Cold::MinusOne,
                false,
            )?;
            out(&text::ard("ard_write", &r, &loaded.validated.program().name));
            Ok(())
        }
        Command::Ops => {
            let mut s = String::new();
            for p in Prim::ALL {
                let i = p.info();
                s.push_str(&format!("{:<14} {} output(s)  {}\n", i.name, i.outs, i.doc));
            }
            s.push_str("\nupdate P sgd(lr, wd) with G   P ← P − lr·(G + wd·P), in place; G a buffer or a fused op\n");
            s.push_str("grad LOSS wrt P, …             reverse-mode AD into explicit ops defining dP\n");
            out(&s);
            Ok(())
        }
    }
}

fn run_table(res: &train::RunResult, wall: f64) -> String {
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

fn run_cmd(a: RunArgs, src: &mut Option<SourceFile>) -> Result<(), Error> {
    let loaded = load(&a.load, src)?;
    let s = settings(&a.load)?;
    let t = task(&a.task)?;
    let cfg = train::config(&a.task, &loaded.validated, &s).map_err(|e| Error::Valid(vec![e]))?;
    if !(a.until > 0.0 && a.until <= 1.0) {
        return Err(Error::Usage(format!("--until must be in (0, 1], got {}", a.until)));
    }
    let opts = RunOptions {
        epochs: a.epochs,
        until: a.until,
        shuffle: a.shuffle,
    };
    let t0 = std::time::Instant::now();
    let res = train::train(&loaded.validated, t.as_ref(), &cfg, a.seed, &opts, |_| {})?;
    let wall = t0.elapsed().as_secs_f64();
    if let Some(path) = &a.plot {
        write_atomic(path, loss_svg(&loaded.validated.program().name, &res).as_bytes())?;
    }
    if a.json {
        let last = res.history.last();
        let f = |g: fn(&train::EpochStats) -> f64| last.map_or(Value::Null, |h| json!(g(h)));
        let v = json!({
            "schema": 1,
            "program": program_json(&loaded),
            "task": {"name": cfg.name, "n": cfg.n, "k": cfg.k, "n_train": cfg.n_train, "n_test": cfg.n_test, "batch": cfg.batch, "secret": res.secret},
            "seed": a.seed,
            "epochs_run": res.epochs_run,
            "steps": res.steps,
            "solved": res.solved_epoch.is_some(),
            "solved_epoch": res.solved_epoch,
            "solved_step": res.solved_step,
            "final": {"train_loss": f(|h| h.train_loss), "test_loss": f(|h| h.test_loss), "train_acc": f(|h| h.train_acc), "test_acc": f(|h| h.test_acc)},
            "history": res.history,
            "wall_s": wall,
        });
        out(&format!("{}\n", serde_json::to_string_pretty(&v).unwrap_or_default()));
    } else {
        out(&format!(
            "{} on {} (n={}, k={}, n_train={}, n_test={}, batch={}), seed {}, secret {:?}\n\n",
            loaded.validated.program().name,
            cfg.name,
            cfg.n,
            cfg.k,
            cfg.n_train,
            cfg.n_test,
            cfg.batch,
            a.seed,
            res.secret
        ));
        out(&run_table(&res, wall));
    }
    Ok(())
}

/// A small self-contained SVG line chart of train and test loss per epoch.
fn loss_svg(name: &str, res: &train::RunResult) -> String {
    let (w, h, l, r, t, b) = (640.0, 400.0, 60.0, 20.0, 40.0, 50.0);
    let n = res.history.len().max(2) as f64;
    let ymax = res
        .history
        .iter()
        .map(|e| e.train_loss.max(e.test_loss))
        .fold(0.0f64, f64::max)
        .max(1e-9);
    let x = |i: usize| l + (w - l - r) * (i as f64) / (n - 1.0);
    let y = |v: f64| t + (h - t - b) * (1.0 - v / ymax);
    let line = |g: fn(&train::EpochStats) -> f64| {
        res.history
            .iter()
            .enumerate()
            .map(|(i, e)| format!("{:.1},{:.1}", x(i), y(g(e))))
            .collect::<Vec<_>>()
            .join(" ")
    };
    format!(
        concat!(
            "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{w}\" height=\"{h}\" font-family=\"sans-serif\" font-size=\"12\">\n",
            "<title>{name}: loss per epoch</title>\n",
            "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n",
            "<text x=\"{cx}\" y=\"20\" text-anchor=\"middle\" font-size=\"14\">{name}: train and test loss</text>\n",
            "<line x1=\"{l}\" y1=\"{yb}\" x2=\"{xr}\" y2=\"{yb}\" stroke=\"black\"/>\n",
            "<line x1=\"{l}\" y1=\"{t}\" x2=\"{l}\" y2=\"{yb}\" stroke=\"black\"/>\n",
            "<text x=\"{cx}\" y=\"{xl}\" text-anchor=\"middle\">epoch (1 to {ne})</text>\n",
            "<text x=\"15\" y=\"{cy}\" transform=\"rotate(-90 15 {cy})\" text-anchor=\"middle\">mean hinge loss (0 to {ymax:.3})</text>\n",
            "<polyline fill=\"none\" stroke=\"#1f77b4\" stroke-width=\"2\" points=\"{tr}\"/>\n",
            "<polyline fill=\"none\" stroke=\"#ff7f0e\" stroke-width=\"2\" points=\"{te}\"/>\n",
            "<text x=\"{lx}\" y=\"{t}\" fill=\"#1f77b4\">train</text>\n",
            "<text x=\"{lx}\" y=\"{t2}\" fill=\"#ff7f0e\">test</text>\n",
            "</svg>\n"
        ),
        w = w,
        h = h,
        name = name,
        cx = w / 2.0,
        cy = h / 2.0,
        l = l,
        t = t,
        t2 = t + 16.0,
        yb = h - b,
        xr = w - r,
        xl = h - 15.0,
        ne = res.history.len(),
        ymax = ymax,
        tr = line(|e| e.train_loss),
        te = line(|e| e.test_loss),
        lx = w - r - 60.0,
    )
}
