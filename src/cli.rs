//! Command line: clap definitions, and the thin glue from commands to the library.
//!
//! Exit codes: 0 success (a `run` that did not solve still exits 0); 1 a run
//! that ran and failed (NaN/inf in training); 2 any bad input — program text,
//! flag, value or file. Diagnostics go to stderr, results to stdout.

use clap::{Args, Parser, Subcommand};
use serde_json::{Value, json};
use std::io::{IsTerminal, Write};
use sutro::analysis::{self, Analyzer, Cold, ReuseKind, text};
use sutro::diag::{Diagnostic, render};
use sutro::ir::Prim;
use sutro::opt::cost::Objective;
use sutro::opt::depgraph::DepGraph;
use sutro::opt::verify::{Reordering, classify};
use sutro::opt::{self, OptConfig, Pass, StopReason};
use sutro::span::SourceFile;
use sutro::trace::codec::{self, TraceFile, TraceMeta};
use sutro::trace::{Tee, TraceHeader, VecTracer};
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
        /// Also write an SVG chart of the ard_write reuse distance per buffer.
        #[arg(long, value_name = "FILE.svg")]
        plot: Option<String>,
    },
    /// Train a program on a task until it solves it or the epoch limit.
    #[command(
        after_help = "Example:\n  sutro run programs/sparse_parity.sutro --set n=20 --set k=3 --seed 1 --plot loss.svg"
    )]
    Run(RunArgs),
    /// Train the built-in default program, then print the ard_write report of one step.
    #[command(after_help = "Example:\n  sutro demo --seed 3")]
    Demo {
        /// Run seed.
        #[arg(long, default_value_t = 0)]
        seed: u64,
    },
    /// List the primitive ops with their semantics.
    #[command(after_help = "Example:\n  sutro ops | grep matmul")]
    Ops,
    /// Explain one op: semantics, read/write effects in order, and its gradient rule.
    #[command(after_help = "Example:\n  sutro explain affine\n  sutro explain update --json")]
    Explain {
        /// An op name (see `sutro ops`), `update` or `grad`.
        op: String,
        /// Print one JSON object instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Compare two programs (or two traces) under one or more metrics, per buffer and per op.
    #[command(
        after_help = "Example:\n  sutro diff programs/sprint1_standard.sutro programs/sprint1_fused.sutro --metric ard_write"
    )]
    Diff(DiffArgs),
    /// Print a shell completion script.
    #[command(after_help = "Example:\n  sutro completions bash > /etc/bash_completion.d/sutro")]
    Completions {
        /// The shell.
        shell: clap_complete::Shell,
    },
    /// Record, inspect, replay, import and export trace files.
    #[command(subcommand)]
    Trace(TraceCmd),
    /// Print the hazard graph (RAW, WAR, WAW edges) of the lowered step.
    #[command(after_help = "Example:\n  sutro deps programs/sprint1_standard.sutro --dot | dot -Tsvg > deps.svg")]
    Deps {
        #[command(flatten)]
        load: Load,
        /// Print Graphviz DOT instead of one edge per line.
        #[arg(long)]
        dot: bool,
    },
    /// Reorder and fuse a step to lower an objective; the output is verified bit-identical.
    #[command(
        after_help = "Example:\n  sutro optimize programs/sprint1_standard.sutro --objective ard_write --passes reorder,fuse -o opt.sutro"
    )]
    Optimize(OptimizeArgs),
    /// Run two programs on the same task and seed and compare every param bit for bit.
    #[command(after_help = "Example:\n  sutro verify programs/sprint1_standard.sutro programs/sprint1_fused.sutro")]
    Verify(VerifyArgs),
    /// Write one self-contained HTML report: source with cost bars, loss curves, reuse distances, stack histogram, miss-ratio curve, op timeline.
    #[command(
        after_help = "Examples:\n  sutro report programs/sprint1_standard.sutro --optimize -o report.html\n  sutro report programs/sprint1_standard.sutro --compare programs/sprint1_fused.sutro --svg-dir charts\n\nThe page has no script and no external reference; open it in any browser."
    )]
    Report(ReportArgs),
    /// Train every program on every seed and rank them by data movement to solve the task.
    #[command(
        after_help = "Example:\n  sutro bench programs/ --task parity --set n=20 --set k=3 --set n_train=1000 --set n_test=200 --seeds 0..4 --md docs/leaderboard.md"
    )]
    Bench(BenchArgs),
}

#[derive(Args, Debug)]
struct ReportArgs {
    #[command(flatten)]
    load: Load,
    /// Output HTML file (written atomically).
    #[arg(
        short = 'o',
        long = "output",
        value_name = "FILE.html",
        default_value = "report.html"
    )]
    output: String,
    /// Also optimize the step (reorder, fuse; objective ard_write) and show before and after side by side.
    #[arg(long)]
    optimize: bool,
    /// Compare with another program (e.g. a hand-fused version): FILE before, this one after.
    #[arg(long, value_name = "OTHER.sutro", conflicts_with = "optimize")]
    compare: Option<String>,
    /// Task to score and train on.
    #[arg(long, default_value = "parity")]
    task: String,
    /// Run seed (data and init derive from it).
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Epoch limit of the training run.
    #[arg(long, default_value_t = 200)]
    epochs: usize,
    /// Also write each chart as DIR/ID.svg (loss, buffers, stack-histogram, miss-ratio, timeline).
    #[arg(long, value_name = "DIR")]
    svg_dir: Option<String>,
    /// Print one JSON object describing what was written.
    #[arg(long)]
    json: bool,
}

#[derive(Subcommand, Debug)]
enum TraceCmd {
    /// Record N instrumented training steps into a trace file.
    #[command(after_help = "Example:\n  sutro trace record programs/sprint1_fused.sutro -o traces/sprint1_fused.trace")]
    Record {
        #[command(flatten)]
        load: Load,
        /// Output trace file.
        #[arg(short, long)]
        output: String,
        /// Training steps to record.
        #[arg(long, default_value_t = 1)]
        steps: u32,
        /// Task that feeds the steps.
        #[arg(long, default_value = "parity")]
        task: String,
        /// Run seed.
        #[arg(long, default_value_t = 0)]
        seed: u64,
        /// Largest number of steps.
        #[arg(long, default_value_t = 1_000_000)]
        max_steps: u32,
    },
    /// Print a trace's header and counts.
    #[command(after_help = "Example:\n  sutro trace info traces/sprint1_fused.trace")]
    Info {
        /// The trace file.
        file: String,
        /// Print one JSON object instead of text.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        limits: TraceLimits,
    },
    /// Score a recorded trace: the same analyzers and output as `sutro score`.
    #[command(after_help = "Example:\n  sutro trace replay traces/sprint1_fused.trace --metric ard_write --json")]
    Replay {
        /// The trace file.
        file: String,
        /// Metrics, comma separated, or `all`: ard_write, ard_access, lru_stack, dmd, bytedmd_v2, energy_pj.
        #[arg(long, default_value = "ard_write", value_delimiter = ',')]
        metric: Vec<String>,
        /// Metric options as KEY=VALUE or METRIC.KEY=VALUE.
        #[arg(long = "opt", value_name = "KEY=VALUE")]
        opts: Vec<String>,
        /// TOML file overriding the energy model (`[energy]` table).
        #[arg(long, value_name = "FILE")]
        energy_config: Option<String>,
        /// Include the event log.
        #[arg(long)]
        events: bool,
        /// Print one JSON object instead of text.
        #[arg(long)]
        json: bool,
        /// Also write an SVG of the LRU miss-ratio curve (default stack options).
        #[arg(long, value_name = "FILE.svg")]
        plot: Option<String>,
        #[command(flatten)]
        limits: TraceLimits,
    },
    /// Build a trace from the element-level CSV export format.
    #[command(after_help = "Example:\n  sutro trace import tests/fixtures/l1.csv -o l1.trace")]
    Import {
        /// CSV with header `step,op,kind,buffer,element,address`.
        file: String,
        /// Output trace file.
        #[arg(short, long)]
        output: String,
    },
    /// Export a trace as element-level CSV, Dinero IV `din`, or Perfetto JSON.
    #[command(after_help = "Example:\n  sutro trace export traces/sprint1_fused.trace --format perfetto -o fused.json")]
    Export {
        /// The trace file.
        file: String,
        /// Output format.
        #[arg(long, value_enum)]
        format: ExportFormat,
        /// Output file (`-` for stdout).
        #[arg(short, long)]
        output: String,
        #[command(flatten)]
        limits: TraceLimits,
    },
}

#[derive(Args, Debug)]
struct DiffArgs {
    /// The first program (`.sutro`) or trace (`.trace`).
    a: String,
    /// The second program or trace.
    b: String,
    /// Metrics, comma separated, or `all`.
    #[arg(long, default_value = "ard_write", value_delimiter = ',')]
    metric: Vec<String>,
    /// Metric options as KEY=VALUE or METRIC.KEY=VALUE.
    #[arg(long = "opt", value_name = "KEY=VALUE")]
    opts: Vec<String>,
    /// TOML file overriding the energy model.
    #[arg(long, value_name = "FILE")]
    energy_config: Option<String>,
    /// Set a dim, hyper or task key in both programs: NAME=VALUE (repeatable).
    #[arg(long = "set", value_name = "NAME=VALUE")]
    set: Vec<String>,
    /// Task whose first example feeds the step.
    #[arg(long, default_value = "parity")]
    task: String,
    /// Run seed.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Print one JSON object instead of text.
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    limits: TraceLimits,
}

#[derive(Args, Debug)]
struct TraceLimits {
    /// Largest trace file to read, in bytes.
    #[arg(long, default_value_t = 1 << 30)]
    max_trace_bytes: u64,
}

#[derive(clap::ValueEnum, Clone, Copy, Debug)]
enum ExportFormat {
    /// `step,op,kind,buffer,element,address`, one element access per row.
    Csv,
    /// Dinero IV: `LABEL HEXADDR` (0 read, 1 write; byte address = element offset × 4).
    Din,
    /// Chrome/Perfetto trace-event JSON: one slice per op on the clock timeline.
    Perfetto,
}

#[derive(Args, Debug)]
struct OptimizeArgs {
    #[command(flatten)]
    load: Load,
    /// What to minimize: METRIC[.FIELD] (ard_write, ard_access: per_read, per_float, sum_d, sum_sd; dmd, bytedmd_v2: total; energy_pj: total_pj) or a mix W*M[.F] + W*M[.F].
    #[arg(long, default_value = "ard_write")]
    objective: String,
    /// Passes, comma separated, run in order: reorder, fuse.
    #[arg(long, default_value = "reorder,fuse")]
    passes: String,
    /// Branch-and-bound node budget of the reorder search (0: heuristic only).
    #[arg(long, default_value_t = 1_000_000)]
    budget: u64,
    /// Beam width of the search beyond the budget.
    #[arg(long, default_value_t = 64)]
    beam_width: usize,
    /// Write the optimized program here (atomically) instead of to stdout.
    #[arg(short = 'o', long = "output", value_name = "OUT.sutro")]
    output: Option<String>,
    /// Print one JSON object instead of the tables.
    #[arg(long)]
    json: bool,
    /// Training steps each verification run compares.
    #[arg(long, default_value_t = 100)]
    steps: u64,
    /// Task the verification runs train on.
    #[arg(long, default_value = "parity")]
    task: String,
    /// Run seed of the verification runs.
    #[arg(long, default_value_t = 0)]
    seed: u64,
}

#[derive(Args, Debug)]
struct VerifyArgs {
    /// The reference program.
    a: String,
    /// The program to compare with it.
    b: String,
    /// Steps to run.
    #[arg(long, default_value_t = 100)]
    steps: u64,
    /// Run seed (data and init derive from it).
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Task to run on.
    #[arg(long, default_value = "parity")]
    task: String,
    /// Set a dim, hyper or task key in both programs: NAME=VALUE (repeatable).
    #[arg(long = "set", value_name = "NAME=VALUE")]
    set: Vec<String>,
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
    /// Write an SVG of train and test loss and accuracy per epoch.
    #[arg(long, value_name = "FILE.svg")]
    plot: Option<String>,
    /// No progress bar.
    #[arg(long, short)]
    quiet: bool,
    /// Trace and score every training step under these metrics (comma separated, or `all`).
    #[arg(long, value_delimiter = ',')]
    metric: Vec<String>,
    /// Metric options as KEY=VALUE or METRIC.KEY=VALUE.
    #[arg(long = "opt", value_name = "KEY=VALUE")]
    opts: Vec<String>,
    /// Largest number of training steps (epochs × steps per epoch).
    #[arg(long, default_value_t = 100_000_000)]
    max_steps: u64,
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
            plot,
        } => {
            let loaded = load(&l, src)?;
            let s = settings(&l)?;
            let (t, cfg) = sutro::task_for(&tname, &loaded.validated, &s)?;
            let mut list = analyzers(&metric, &opts, energy_config.as_deref(), events)?;
            let mut ard = analysis::Reuse::new(ReuseKind::Write, Cold::MinusOne);
            {
                let mut tracers: Vec<&mut dyn sutro::trace::Tracer> = list.iter_mut().map(|a| a.as_tracer()).collect();
                if plot.is_some() {
                    tracers.push(&mut ard);
                }
                sutro::trace_steps(&loaded, t.as_ref(), &cfg, seed, 1, &mut Tee(tracers))?;
            }
            let h = sutro::header(&loaded);
            if let Some(path) = &plot {
                let title = format!("{}: reuse distance per buffer (ard_write)", h.program);
                let svg = sutro::plot::buffer_distances(&title, "ard_write", &[(&h.program, &ard.report().buffers)])
                    .map_err(|e| Error::Usage(e.to_string()))?;
                write_atomic(path, svg.as_bytes())?;
            }
            print_reports(&list, &h.program, &h.hash, as_json);
            Ok(())
        }
        Command::Trace(t) => trace_cmd(t, src),
        Command::Explain { op, json: as_json } => explain(&op, as_json),
        Command::Diff(a) => diff_cmd(a, src),
        Command::Completions { shell } => {
            let mut buf = Vec::new();
            clap_complete::generate(shell, &mut <Cli as clap::CommandFactory>::command(), "sutro", &mut buf);
            out(&String::from_utf8_lossy(&buf));
            Ok(())
        }
        Command::Run(a) => run_cmd(a, src),
        Command::Deps { load: l, dot } => deps_cmd(&l, dot, src),
        Command::Optimize(a) => optimize_cmd(a, src),
        Command::Verify(a) => verify_cmd(a, src),
        Command::Report(a) => report_cmd(a, src),
        Command::Bench(a) => bench_cmd(a, src),
        Command::Demo { seed } => {
            let f = SourceFile::new("sparse_parity.sutro", DEFAULT_PROGRAM);
            *src = Some(f.clone());
            let loaded = sutro::load(&f, &Settings::default(), &Limits::default())?;
            let (t, cfg) = sutro::task_for("parity", &loaded.validated, &Settings::default())?;
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
    let (t, cfg) = sutro::task_for(&a.task, &loaded.validated, &s)?;
    if !(a.until > 0.0 && a.until <= 1.0) {
        return Err(Error::Usage(format!("--until must be in (0, 1], got {}", a.until)));
    }
    let opts = RunOptions {
        epochs: a.epochs,
        until: a.until,
        shuffle: a.shuffle,
    };
    let t0 = std::time::Instant::now();
    let steps_per_epoch = cfg.n_train.div_ceil(cfg.batch.max(1)).max(1) as u64;
    if (a.epochs as u64).saturating_mul(steps_per_epoch) > a.max_steps {
        return Err(Error::Usage(format!(
            "{} epochs of {steps_per_epoch} steps exceed --max-steps {}",
            a.epochs, a.max_steps
        )));
    }
    let mut list = if a.metric.is_empty() {
        Vec::new()
    } else {
        analyzers(&a.metric, &a.opts, None, false)?
    };
    let header = sutro::header(&loaded);
    let mut tee = Tee(list.iter_mut().map(|x| x.as_tracer()).collect());
    let tracer: Option<(&mut dyn sutro::trace::Tracer, &TraceHeader)> = if tee.0.is_empty() {
        None
    } else {
        Some((&mut tee, &header))
    };
    let mut progress = Progress::new("epochs", a.epochs as u64, a.quiet);
    let res = train::train_traced(&loaded.validated, t.as_ref(), &cfg, a.seed, &opts, tracer, |e| {
        progress.set(e.epoch as u64, &format!("test acc {:.3}", e.test_acc))
    })?;
    progress.finish();
    drop(tee);
    let metrics: serde_json::Map<String, Value> = list
        .iter()
        .map(|x| (x.metric().name().to_string(), x.report_json()))
        .collect();
    let wall = t0.elapsed().as_secs_f64();
    if let Some(path) = &a.plot {
        let name = &loaded.validated.program().name;
        let svg = sutro::plot::loss_accuracy(&format!("{name}: loss and accuracy per epoch"), &[(name, &res.history)])
            .map_err(|e| Error::Usage(e.to_string()))?;
        write_atomic(path, svg.as_bytes())?;
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
        let mut v = v;
        v["metrics"] = Value::Object(metrics);
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
        for x in &list {
            out(&format!("\n{}", x.text(&loaded.validated.program().name)));
        }
    }
    Ok(())
}

/// The analyzers selected by `--metric` and `--opt` (and `--energy-config FILE`).
fn analyzers(
    metric: &[String],
    opts: &[String],
    energy_config: Option<&str>,
    events: bool,
) -> Result<Vec<Box<dyn Analyzer>>, Error> {
    let config = match energy_config {
        Some(path) => Some(read(path)?.text),
        None => None,
    };
    let metrics = analysis::Metric::parse_list(metric).map_err(|e| Error::Usage(e.to_string()))?;
    let resolved = analysis::resolve(&metrics, opts, config.as_deref()).map_err(|e| Error::Usage(e.to_string()))?;
    Ok(resolved.iter().map(|m| m.build_logged(events)).collect())
}

fn print_reports(list: &[Box<dyn Analyzer>], program: &str, hash: &str, as_json: bool) {
    if as_json {
        let metrics: serde_json::Map<String, Value> = list
            .iter()
            .map(|a| (a.metric().name().to_string(), a.report_json()))
            .collect();
        let v = json!({"schema": 1, "program": {"name": program, "hash": hash}, "metrics": metrics});
        out(&format!("{}\n", serde_json::to_string_pretty(&v).unwrap_or_default()));
    } else {
        let text: Vec<String> = list.iter().map(|a| a.text(program)).collect();
        out(&text.join("\n"));
    }
}

fn trace_error(path: &str, e: codec::TraceError) -> Error {
    Error::Usage(format!("{path}: {e}"))
}

fn read_trace(path: &str, limits: &TraceLimits) -> Result<TraceFile, Error> {
    let meta = std::fs::metadata(path).map_err(|e| Error::Usage(format!("cannot read `{path}`: {e}")))?;
    if meta.len() > limits.max_trace_bytes {
        return Err(trace_error(
            path,
            codec::TraceError::TooBig {
                size: meta.len(),
                limit: limits.max_trace_bytes,
            },
        ));
    }
    let bytes = std::fs::read(path).map_err(|e| Error::Usage(format!("cannot read `{path}`: {e}")))?;
    codec::decode(&bytes, limits.max_trace_bytes).map_err(|e| trace_error(path, e))
}

fn trace_cmd(cmd: TraceCmd, src: &mut Option<SourceFile>) -> Result<(), Error> {
    match cmd {
        TraceCmd::Record {
            load: l,
            output,
            steps,
            task: tname,
            seed,
            max_steps,
        } => {
            if steps == 0 || steps > max_steps {
                return Err(Error::Usage(format!(
                    "--steps must be between 1 and {max_steps} (--max-steps), got {steps}"
                )));
            }
            let loaded = load(&l, src)?;
            let s = settings(&l)?;
            let (t, cfg) = sutro::task_for(&tname, &loaded.validated, &s)?;
            let mut rec = VecTracer::default();
            sutro::trace_steps(&loaded, t.as_ref(), &cfg, seed, steps, &mut rec)?;
            let v = &loaded.validated;
            let meta = TraceMeta {
                seed,
                steps,
                task: tname,
                dims: v.dims().iter().map(|(k, d)| (k.clone(), *d)).collect(),
                hypers: v.hypers().iter().map(|(k, h)| (k.clone(), *h)).collect(),
                source_hash: format!("{:016x}", sutro::trace::fnv1a(loaded.source.text.as_bytes())),
            };
            let file = TraceFile {
                header: rec.header,
                meta,
                events: rec.events,
            };
            let bytes = codec::encode(&file).map_err(|e| trace_error(&output, e))?;
            write_atomic(&output, &bytes)
        }
        TraceCmd::Info {
            file,
            json: as_json,
            limits,
        } => {
            let t = read_trace(&file, &limits)?;
            let accesses: u64 = t.events.iter().map(|e| e.len).sum();
            let size = std::fs::metadata(&file).map(|m| m.len()).unwrap_or(0);
            let steps = t.events.iter().map(|e| e.step + 1).max().unwrap_or(0);
            if as_json {
                let v = json!({
                    "schema": 1,
                    "program": {"name": t.header.program, "hash": t.header.hash},
                    "format_version": codec::VERSION,
                    "seed": t.meta.seed,
                    "task": t.meta.task,
                    "steps": steps,
                    "events": t.events.len(),
                    "element_accesses": accesses,
                    "bytes": accesses * 4,
                    "file_bytes": size,
                    "dims": t.meta.dims.iter().map(|(k, v)| (k.clone(), json!(v))).collect::<serde_json::Map<_, _>>(),
                    "hypers": t.meta.hypers.iter().map(|(k, v)| (k.clone(), json!(v))).collect::<serde_json::Map<_, _>>(),
                    "buffers": t.header.buffers,
                    "ops": t.header.ops,
                });
                out(&format!("{}\n", serde_json::to_string_pretty(&v).unwrap_or_default()));
            } else {
                let mut s = format!(
                    "trace {file} (format version {})\nprogram {} (hash {}), task {}, seed {}\nsteps {steps}, events {}, element accesses {}, bytes {} (file {size} bytes)\n",
                    codec::VERSION,
                    t.header.program,
                    t.header.hash,
                    t.meta.task,
                    t.meta.seed,
                    t.events.len(),
                    text::thousands(i128::from(accesses)),
                    text::thousands(i128::from(accesses) * 4),
                );
                let kv = |v: Vec<String>| v.join(", ");
                s.push_str(&format!(
                    "dims: {}\n",
                    kv(t.meta.dims.iter().map(|(k, v)| format!("{k}={v}")).collect())
                ));
                s.push_str(&format!(
                    "hypers: {}\n",
                    kv(t.meta.hypers.iter().map(|(k, v)| format!("{k}={v}")).collect())
                ));
                s.push_str(&format!(
                    "\n{:<12} {:<7} {:>10} {:>10}  shape\n",
                    "buffer", "role", "offset", "size"
                ));
                for b in &t.header.buffers {
                    s.push_str(&format!(
                        "{:<12} {:<7} {:>10} {:>10}  {:?}\n",
                        b.name,
                        b.role,
                        b.offset,
                        b.size(),
                        b.shape
                    ));
                }
                s.push_str(&format!("\n{:<4} {:<14} line\n", "op", "name"));
                for (i, o) in t.header.ops.iter().enumerate() {
                    s.push_str(&format!("{i:<4} {:<14} {}\n", o.name, o.line));
                }
                out(&s);
            }
            Ok(())
        }
        TraceCmd::Replay {
            file,
            metric,
            opts,
            energy_config,
            events,
            json: as_json,
            plot,
            limits,
        } => {
            let t = read_trace(&file, &limits)?;
            let mut list = analyzers(&metric, &opts, energy_config.as_deref(), events)?;
            let mut lru = analysis::LruStack::new(analysis::StackOptions::default());
            {
                let mut tracers: Vec<&mut dyn sutro::trace::Tracer> = list.iter_mut().map(|a| a.as_tracer()).collect();
                if plot.is_some() {
                    tracers.push(&mut lru);
                }
                sutro::trace::replay(&t.header, &t.events, &mut Tee(tracers));
            }
            if let Some(path) = &plot {
                let title = format!("{}: miss-ratio curve", t.header.program);
                let svg = sutro::plot::miss_ratio(
                    &title,
                    &[(&t.header.program, &lru.report().mrc)],
                    &sutro::report::default_markers(),
                )
                .map_err(|e| Error::Usage(e.to_string()))?;
                write_atomic(path, svg.as_bytes())?;
            }
            print_reports(&list, &t.header.program, &t.header.hash, as_json);
            Ok(())
        }
        TraceCmd::Import { file, output } => {
            let text =
                std::fs::read_to_string(&file).map_err(|e| Error::Usage(format!("cannot read `{file}`: {e}")))?;
            let t = sutro::trace::export::import_csv(&text).map_err(|m| Error::Usage(format!("{file}:{m}")))?;
            let bytes = codec::encode(&t).map_err(|e| trace_error(&output, e))?;
            write_atomic(&output, &bytes)
        }
        TraceCmd::Export {
            file,
            format,
            output,
            limits,
        } => {
            let t = read_trace(&file, &limits)?;
            let text = match format {
                ExportFormat::Csv => sutro::trace::export::csv(&t),
                ExportFormat::Din => sutro::trace::export::din(&t),
                ExportFormat::Perfetto => sutro::trace::export::perfetto(&t),
            };
            if output == "-" {
                out(&text);
                Ok(())
            } else {
                write_atomic(&output, text.as_bytes())
            }
        }
    }
}

/// `sutro explain`: everything is derived from the op table and the effects table
/// applied to the op's example program, so it cannot drift from the interpreter.
fn explain(name: &str, as_json: bool) -> Result<(), Error> {
    if name == "grad" {
        let text = "grad LOSS wrt P1, P2, …\n\nReverse-mode AD over the ops before it, lowered into explicit ops that define dP1, dP2, …\n(see `sutro print FILE --lowered`). The loss must be one element computed by hinge or mse.\nThe rule of each op is shown by `sutro explain OP`.\n";
        if as_json {
            out(&format!("{}\n", json!({"schema": 1, "op": "grad", "doc": text})));
        } else {
            out(text);
        }
        return Ok(());
    }
    let (example, doc, rule) = match Prim::from_name(name) {
        Some(p) => (p.example(), p.info().doc.to_string(), p.grad_rule().to_string()),
        None if name == "update" => (
            sutro::ir::prim::update_example(),
            "P ← P − lr·(G + wd·P), in place; G is a buffer or a fused op (outer, sum, sign, copy, scale, matmul_nt, matmul_tn) computed inside the update and never stored".to_string(),
            "none: updates are not differentiated".to_string(),
        ),
        None => {
            let known: Vec<&str> = Prim::ALL.iter().map(|p| p.name()).collect();
            return Err(Error::Usage(format!("unknown op `{name}` (known: {}, update, grad)", known.join(", "))));
        }
    };
    let prog = sutro::syntax::parse("example", &example).map_err(Error::Parse)?;
    let Some(op) = prog.ops.last() else {
        return Err(Error::Usage("the example has no op".into()));
    };
    let line = example.lines().last().unwrap_or_default().to_string();
    let mut reads = Vec::new();
    let mut writes = Vec::new();
    for a in sutro::ir::effects(&op.kind) {
        let n = prog.buf(a.buf).name.clone();
        if a.mode == sutro::ir::Mode::Read {
            reads.push(n)
        } else {
            writes.push(n)
        }
    }
    if as_json {
        let v = json!({"schema": 1, "op": name, "doc": doc, "example": line, "program": example, "reads": reads, "writes": writes, "grad": rule});
        out(&format!("{}\n", serde_json::to_string_pretty(&v).unwrap_or_default()));
    } else {
        out(&format!(
            "{name}: {doc}\n\nexample:  {line}\nreads:    {}  (in this order)\nwrites:   {}\ngrad:     {rule}\n",
            reads.join(", "),
            writes.join(", ")
        ));
    }
    Ok(())
}

fn limits(l: &Load) -> Limits {
    Limits {
        max_buffer_elements: l.max_buffer_elements,
        max_ops: l.max_ops,
    }
}

fn deps_cmd(l: &Load, dot: bool, src: &mut Option<SourceFile>) -> Result<(), Error> {
    let loaded = load(l, src)?;
    let p = loaded.validated.program();
    let g = DepGraph::build(p);
    out(&if dot { g.to_dot(p) } else { g.to_text(p) });
    Ok(())
}

/// Before/after rows joined by name: (name, before, after), before's order first.
fn join_rows(before: &[(String, i128)], after: &[(String, i128)]) -> Vec<(String, Option<i128>, Option<i128>)> {
    let mut rows: Vec<(String, Option<i128>, Option<i128>)> = before
        .iter()
        .map(|(n, v)| (n.clone(), Some(*v), after.iter().find(|(m, _)| m == n).map(|(_, w)| *w)))
        .collect();
    for (n, w) in after {
        if !before.iter().any(|(m, _)| m == n) {
            rows.push((n.clone(), None, Some(*w)));
        }
    }
    rows
}

fn delta_table(title: &str, rows: &[(String, Option<i128>, Option<i128>)]) -> String {
    let cell = |v: Option<i128>| v.map_or_else(|| "-".to_string(), text::thousands);
    let mut s = format!("{title:<20} {:>14} {:>14} {:>14}\n", "before", "after", "change");
    for (n, b, a) in rows {
        let change = text::thousands(a.unwrap_or(0) - b.unwrap_or(0));
        s.push_str(&format!("{n:<20} {:>14} {:>14} {:>14}\n", cell(*b), cell(*a), change));
    }
    s
}

fn optimize_tables(before: &Loaded, after: &sutro::Optimized, objective: &Objective) -> String {
    let rb = opt::cost::ard_report(&before.validated, &before.validated.program().order, objective, true);
    let ra = opt::cost::ard_report(&after.validated, &after.validated.program().order, objective, true);
    let weighted = objective.field.by_size();
    let pick = |sum_d: i128, sum_sd: i128| if weighted { sum_sd } else { sum_d };
    let bufs = |r: &sutro::analysis::ArdReport| -> Vec<(String, i128)> {
        r.buffers
            .iter()
            .map(|b| (b.name.clone(), pick(b.sum_d, b.sum_sd)))
            .collect()
    };
    let ops = |r: &sutro::analysis::ArdReport| -> Vec<(String, i128)> {
        r.ops
            .iter()
            .map(|o| (o.name.clone(), pick(o.sum_d, o.sum_sd)))
            .collect()
    };
    let what = if weighted { "Σ s·d" } else { "Σ d" };
    let rep = &after.report;
    // The attribution tables are the clock metric's; other objectives show ard_write's for reference.
    let table_metric = if objective.is_clock() {
        rep.objective.clone()
    } else {
        "ard_write (for reference)".to_string()
    };
    let mut s = format!(
        "{table_metric} of `{}`, {what} per buffer and per op\n\n",
        before.validated.program().name
    );
    s.push_str(&delta_table("buffer", &join_rows(&bufs(&rb), &bufs(&ra))));
    s.push('\n');
    s.push_str(&delta_table("op", &join_rows(&ops(&rb), &ops(&ra))));
    s.push('\n');
    s.push_str(&delta_table(
        "total",
        &[(
            what.to_string(),
            Some(pick(rb.sum_d, rb.sum_sd)),
            Some(pick(ra.sum_d, ra.sum_sd)),
        )],
    ));
    s.push_str(&format!(
        "\n{:<10} {:>8} {:>7} {:>14} {:>14}  notes\n",
        "pass", "changes", "stop", "before", "after"
    ));
    for p in &rep.passes {
        s.push_str(&format!(
            "{:<10} {:>8} {:>7} {:>14} {:>14}  {}\n",
            p.name.name(),
            p.changes,
            p.stop.map_or("-", |x| x.name()),
            opt::fmt_value(p.before),
            opt::fmt_value(p.after),
            p.notes.join("; ")
        ));
    }
    s.push_str(&format!(
        "\n{}: {} -> {} ({:.2} % better), stop {}, verified bit-identical\n",
        rep.objective,
        opt::fmt_value(rep.before),
        opt::fmt_value(rep.after),
        100.0 * rep.improvement(),
        rep.stop.map_or("-", |x| x.name())
    ));
    s
}

fn optimize_cmd(a: OptimizeArgs, src: &mut Option<SourceFile>) -> Result<(), Error> {
    let objective = Objective::parse(&a.objective)?;
    let passes = Pass::parse_list(&a.passes)?;
    let loaded = load(&a.load, src)?;
    let s = settings(&a.load)?;
    let (t, cfg) = sutro::task_for(&a.task, &loaded.validated, &s)?;
    let opt_cfg = OptConfig {
        objective,
        passes,
        limits: opt::reorder::Limits {
            budget: a.budget,
            beam_width: a.beam_width,
        },
    };
    let res = sutro::optimize(
        &loaded,
        &s,
        &limits(&a.load),
        t.as_ref(),
        &cfg,
        a.seed,
        a.steps,
        &opt_cfg,
    )?;
    if let Some(path) = &a.output {
        write_atomic(path, res.text.as_bytes())?;
    }
    let summary = if a.json {
        let rep = &res.report;
        let v = json!({
            "schema": 1,
            "objective": rep.objective,
            "before": rep.before,
            "after": rep.after,
            "improvement": rep.improvement(),
            "stop": rep.stop.map(StopReason::name),
            "passes": rep.passes.iter().map(|p| json!({
                "name": p.name.name(),
                "changes": p.changes,
                "tried": p.tried,
                "before": p.before,
                "after": p.after,
                "stop": p.stop.map(StopReason::name),
                "notes": p.notes,
            })).collect::<Vec<_>>(),
            "verified": true,
            "output": a.output,
        });
        format!("{}\n", serde_json::to_string_pretty(&v).unwrap_or_default())
    } else {
        optimize_tables(&loaded, &res, &objective)
    };
    // Without -o the program owns stdout, so the tables (or JSON) go to stderr.
    if a.output.is_some() {
        out(&summary);
    } else {
        out(&res.text);
        let _ = std::io::stderr().write_all(summary.as_bytes());
    }
    Ok(())
}

fn verify_cmd(a: VerifyArgs, src: &mut Option<SourceFile>) -> Result<(), Error> {
    let s = Settings::parse(&a.set).map_err(|e| Error::Valid(vec![e]))?;
    let lim = Limits::default();
    let fa = read(&a.a)?;
    *src = Some(fa.clone());
    let la = sutro::load(&fa, &s, &lim)?;
    let fb = read(&a.b)?;
    *src = Some(fb.clone());
    let lb = sutro::load(&fb, &s, &lim)?;
    *src = None;
    let (t, cfg) = sutro::task_for(&a.task, &la.validated, &s)?;
    let relation = match classify(la.validated.program(), lb.validated.program()) {
        Reordering::Same => "B has the same ops in the same order as A".to_string(),
        Reordering::Legal => {
            "B is a legal reordering of A (its order is a topological order of A's hazard graph)".into()
        }
        Reordering::Illegal(why) => format!("B is an illegal reordering of A: {why}"),
        Reordering::NotReordering(why) => format!("B is not a reordering of A: {why}"),
    };
    let m = sutro::verify_programs(&la.validated, &lb.validated, t.as_ref(), &cfg, a.seed, a.steps)?;
    out(&format!("{relation}\n"));
    match m {
        None => {
            out(&format!(
                "identical: every param and state bit matches after each of {} steps (seed {})\n",
                a.steps, a.seed
            ));
            Ok(())
        }
        Some(m) => Err(Error::Opt(opt::OptError::Differs(m.describe()))),
    }
}

/// A progress bar on stderr that appears only after a second of work, only when
/// stderr is a terminal, and never with `--quiet`; stdout is never touched.
struct Progress {
    bar: Option<indicatif::ProgressBar>,
    start: std::time::Instant,
    what: &'static str,
    total: u64,
    enabled: bool,
}

impl Progress {
    fn new(what: &'static str, total: u64, quiet: bool) -> Progress {
        let enabled = !quiet && std::io::stderr().is_terminal();
        Progress {
            bar: None,
            start: std::time::Instant::now(),
            what,
            total,
            enabled,
        }
    }

    fn set(&mut self, pos: u64, msg: &str) {
        if !self.enabled || self.start.elapsed().as_secs_f64() < 1.0 {
            return;
        }
        let (what, total) = (self.what, self.total);
        let bar = self.bar.get_or_insert_with(|| {
            let b = indicatif::ProgressBar::with_draw_target(Some(total), indicatif::ProgressDrawTarget::stderr());
            if let Ok(style) =
                indicatif::ProgressStyle::with_template(&format!("{{bar:30}} {{pos}}/{{len}} {what} {{msg}}"))
            {
                b.set_style(style);
            }
            b
        });
        bar.set_position(pos);
        bar.set_message(msg.to_string());
    }

    fn finish(self) {
        if let Some(b) = self.bar {
            b.finish_and_clear();
        }
    }
}

/// Scores one side of `sutro diff`: a trace is replayed, a program runs one step.
fn diff_side(
    path: &str,
    a: &DiffArgs,
    src: &mut Option<SourceFile>,
) -> Result<(String, Vec<Box<dyn Analyzer>>), Error> {
    let mut list = analyzers(&a.metric, &a.opts, a.energy_config.as_deref(), false)?;
    let name = if path.ends_with(".trace") {
        let t = read_trace(path, &a.limits)?;
        let mut tee = Tee(list.iter_mut().map(|x| x.as_tracer()).collect());
        sutro::trace::replay(&t.header, &t.events, &mut tee);
        t.header.program
    } else {
        let l = Load {
            file: path.to_string(),
            set: a.set.clone(),
            max_buffer_elements: 1 << 28,
            max_ops: 100_000,
        };
        let loaded = load(&l, src)?;
        let s = settings(&l)?;
        let (t, cfg) = sutro::task_for(&a.task, &loaded.validated, &s)?;
        let mut tee = Tee(list.iter_mut().map(|x| x.as_tracer()).collect());
        sutro::trace_steps(&loaded, t.as_ref(), &cfg, a.seed, 1, &mut tee)?;
        loaded.validated.program().name.clone()
    };
    Ok((name, list))
}

fn diff_cmd(a: DiffArgs, src: &mut Option<SourceFile>) -> Result<(), Error> {
    let (na, la) = diff_side(&a.a, &a, src)?;
    let (nb, lb) = diff_side(&a.b, &a, src)?;
    let mut metrics = serde_json::Map::new();
    let mut text = String::new();
    for (x, y) in la.iter().zip(&lb) {
        let m = x.metric();
        let d = analysis::diff::diff(m, &x.report_json(), &y.report_json());
        text.push_str(&analysis::diff::text(m, &d, &na, &nb));
        text.push('\n');
        metrics.insert(m.name().to_string(), serde_json::to_value(&d).unwrap_or(Value::Null));
    }
    if a.json {
        let v =
            json!({"schema": 1, "a": {"name": na, "path": a.a}, "b": {"name": nb, "path": a.b}, "metrics": metrics});
        out(&format!("{}\n", serde_json::to_string_pretty(&v).unwrap_or_default()));
    } else {
        out(&text);
    }
    Ok(())
}

/// `sutro report`: score, train (and optionally optimize) a program, then write
/// one self-contained HTML page, and with `--svg-dir` each chart as a file.
fn report_cmd(a: ReportArgs, src: &mut Option<SourceFile>) -> Result<(), Error> {
    use sutro::report;
    let loaded = load(&a.load, src)?;
    let s = settings(&a.load)?;
    let (t, cfg) = sutro::task_for(&a.task, &loaded.validated, &s)?;
    let run = RunOptions {
        epochs: a.epochs,
        ..RunOptions::default()
    };
    let first = if a.optimize || a.compare.is_some() {
        "before"
    } else {
        ""
    };
    let mut snaps = vec![report::snapshot(first, &loaded, t.as_ref(), &cfg, a.seed, &run)?];
    if a.optimize {
        let opt_cfg = OptConfig {
            objective: Objective::parse("ard_write")?,
            passes: Pass::parse_list("reorder,fuse")?,
            limits: opt::reorder::Limits {
                budget: 1_000_000,
                beam_width: 64,
            },
        };
        let res = sutro::optimize(&loaded, &s, &limits(&a.load), t.as_ref(), &cfg, a.seed, 100, &opt_cfg)?;
        let after = sutro::load(&SourceFile::new(&loaded.source.name, res.text), &s, &limits(&a.load))?;
        snaps.push(report::snapshot("after", &after, t.as_ref(), &cfg, a.seed, &run)?);
    }
    if let Some(other) = &a.compare {
        let f = read(other)?;
        *src = Some(f.clone());
        let after = sutro::load(&f, &s, &limits(&a.load))?;
        let (t2, cfg2) = sutro::task_for(&a.task, &after.validated, &s)?;
        snaps.push(report::snapshot("after", &after, t2.as_ref(), &cfg2, a.seed, &run)?);
    }
    let charts = report::charts(&snaps).map_err(|e| Error::Usage(e.to_string()))?;
    let mut command = format!("sutro report {}", a.load.file);
    for kv in &a.load.set {
        command.push_str(&format!(" --set {kv}"));
    }
    command.push_str(&format!(" --task {} --seed {} --epochs {}", a.task, a.seed, a.epochs));
    if a.optimize {
        command.push_str(" --optimize");
    }
    if let Some(other) = &a.compare {
        command.push_str(&format!(" --compare {other}"));
    }
    let page = report::Page {
        command: &command,
        task: &cfg,
        seed: a.seed,
    };
    write_atomic(&a.output, report::html(&snaps, &charts, &page).as_bytes())?;
    let mut files = Vec::new();
    if let Some(dir) = &a.svg_dir {
        std::fs::create_dir_all(dir).map_err(|e| Error::Usage(format!("cannot create `{dir}`: {e}")))?;
        for c in &charts {
            let path = std::path::Path::new(dir).join(format!("{}.svg", c.id));
            let path = path.to_string_lossy().into_owned();
            write_atomic(&path, c.svg.as_bytes())?;
            files.push(path);
        }
    }
    if a.json {
        let v = json!({
            "schema": 1,
            "program": program_json(&loaded),
            "output": a.output,
            "optimized": a.optimize,
            "compared": a.compare,
            "charts": charts.iter().map(|c| json!({"id": c.id, "title": c.title})).collect::<Vec<_>>(),
            "svg_files": files,
        });
        out(&format!("{}\n", serde_json::to_string_pretty(&v).unwrap_or_default()));
    } else {
        out(&format!("wrote {} ({} charts)\n", a.output, charts.len()));
    }
    Ok(())
}

#[derive(Args, Debug)]
struct BenchArgs {
    /// Programs (.sutro files) or directories (their top-level *.sutro files, sorted by name).
    #[arg(default_value = "programs/")]
    programs: Vec<String>,
    /// Task every program trains on.
    #[arg(long, default_value = "parity")]
    task: String,
    /// Set a dim, hyper or task key in every program: NAME=VALUE (repeatable).
    #[arg(long = "set", value_name = "NAME=VALUE")]
    set: Vec<String>,
    /// Run seeds: A..B (inclusive) or one seed.
    #[arg(long, default_value = "0..4")]
    seeds: String,
    /// Epoch limit of each run.
    #[arg(long, default_value_t = 200)]
    epochs: usize,
    /// Add the evaluation passes up to the solving epoch to energy-to-solve.
    #[arg(long)]
    count_eval: bool,
    /// Worker threads (default: the available cores).
    #[arg(long)]
    jobs: Option<usize>,
    /// Node budget of the reorder-only search shown beside the floor.
    #[arg(long, default_value_t = 20_000)]
    reorder_budget: u64,
    /// The plain-backprop program the others are compared with.
    #[arg(long, default_value = "sparse_parity")]
    baseline: String,
    /// Print a JSON array of rows instead of the Markdown board.
    #[arg(long)]
    json: bool,
    /// Write the leaderboard Markdown here (atomically).
    #[arg(long, value_name = "FILE.md")]
    md: Option<String>,
    /// Write an SVG chart of energy-to-solve (energy_pj) here (atomically).
    #[arg(long, value_name = "FILE.svg")]
    svg: Option<String>,
}

/// The programs a list of paths names: files as given, directories as their
/// top-level `*.sutro` files sorted by name.
fn bench_files(paths: &[String]) -> Result<Vec<SourceFile>, Error> {
    let mut files = Vec::new();
    for p in paths {
        let path = std::path::Path::new(p);
        if path.is_dir() {
            let entries =
                std::fs::read_dir(path).map_err(|e| Error::Usage(format!("cannot read directory `{p}`: {e}")))?;
            let mut names: Vec<std::path::PathBuf> = entries
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|f| f.is_file() && f.extension().is_some_and(|x| x == "sutro"))
                .collect();
            names.sort();
            if names.is_empty() {
                return Err(Error::Usage(format!("directory `{p}` has no .sutro file")));
            }
            for f in names {
                files.push(read(&f.to_string_lossy())?);
            }
        } else {
            files.push(read(p)?);
        }
    }
    Ok(files)
}

fn bench_cmd(a: BenchArgs, src: &mut Option<SourceFile>) -> Result<(), Error> {
    let seeds = sutro::bench::parse_seeds(&a.seeds).map_err(Error::Usage)?;
    if a.jobs == Some(0) {
        return Err(Error::Usage("--jobs must be at least 1".into()));
    }
    if a.epochs == 0 {
        return Err(Error::Usage("--epochs must be at least 1".into()));
    }
    let jobs = a
        .jobs
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, std::num::NonZero::get));
    let cfg = sutro::bench::BenchConfig {
        task: a.task.clone(),
        settings: Settings::parse(&a.set).map_err(|e| Error::Valid(vec![e]))?,
        seeds,
        epochs: a.epochs,
        count_eval: a.count_eval,
        jobs,
        reorder_budget: a.reorder_budget,
        limits: Limits::default(),
    };
    let files = bench_files(&a.programs)?;
    let board = sutro::bench::run(&files, &cfg, src)?;
    // The command as typed, minus the binary's path, heads the Markdown.
    let command = std::iter::once("sutro".to_string())
        .chain(std::env::args().skip(1))
        .collect::<Vec<_>>()
        .join(" ");
    let md = sutro::bench::render::markdown(&board, &command, &a.baseline, a.reorder_budget);
    if let Some(path) = &a.md {
        write_atomic(path, md.as_bytes())?;
    }
    if let Some(path) = &a.svg {
        let chart = sutro::bench::render::svg(&board, analysis::Metric::EnergyPj);
        write_atomic(path, chart.as_bytes())?;
    }
    if a.json {
        for k in &board.skipped {
            let _ = writeln!(std::io::stderr(), "skipped {}: {}", k.program, k.reason);
        }
        out(&format!(
            "{}\n",
            serde_json::to_string_pretty(&board.to_json()).unwrap_or_default()
        ));
    } else if a.md.is_none() {
        out(&md);
    } else {
        out(&format!(
            "wrote {} ({} programs, {} skipped)\n",
            a.md.as_deref().unwrap_or_default(),
            board.rows.len(),
            board.skipped.len()
        ));
    }
    Ok(())
}
