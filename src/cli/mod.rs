//! Command line: clap definitions, and the thin glue from commands to the library.
//! This file holds every clap type, the dispatch and the shared helpers; each
//! larger command's glue lives in a submodule (`trace`, `optimize`, `bench`,
//! `report`, `diff`).
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
use sutro::trace::Tee;
use sutro::trace::codec::{self, TraceFile};
use sutro::train::{self, RunOptions};
use sutro::valid::{Limits, Settings};
use sutro::{Error, Loaded, Session};

mod bench;
mod diff;
mod ir;
mod optimize;
mod report;
mod trace;

use bench::bench_cmd;
use diff::diff_cmd;
use ir::{IrCmd, ir_cmd};
use optimize::{deps_cmd, optimize_cmd, verify_cmd};
use report::report_cmd;
use trace::{read_trace, trace_cmd};

/// The default program, embedded so `sutro demo` works from any directory.
const DEFAULT_PROGRAM: &str = include_str!("../../programs/sparse_parity.sutro");

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
    /// Score, run, lower, optimize and record programs in the placement cost model's IR (docs/dally.md).
    #[command(subcommand)]
    Ir(IrCmd),
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
    /// Memory budget in bytes (K, M, G suffixes): what the header's buffer and op tables size, and, for programs, their buffers and task data.
    #[arg(long, default_value = "1G", value_parser = sutro::valid::memory::parse_bytes)]
    max_memory: u64,
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
    /// Memory budget in bytes, with an optional K, M or G suffix: all buffers, the task's data and anything sized from a file (lowered to half of `ulimit -v` when that is smaller).
    #[arg(long, default_value = "1G", value_parser = sutro::valid::memory::parse_bytes)]
    max_memory: u64,
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
    /// Write the final values of every param and state buffer as JSON (name, role, shape, values, bits).
    #[arg(long, value_name = "FILE.json")]
    dump_state: Option<String>,
    /// The same document as --dump-state, for --load-state in a later run.
    #[arg(long, value_name = "FILE")]
    save_state: Option<String>,
    /// Start from the params and state of a --save-state file (a grown buffer is zero padded).
    #[arg(long, value_name = "FILE")]
    load_state: Option<String>,
    /// Evaluate every STEPS training steps (default: once per epoch, after its last step).
    #[arg(long, value_name = "STEPS", value_parser = clap::value_parser!(u64).range(1..))]
    eval_every: Option<u64>,
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

/// Reads a `--load-state` file, its size checked against the memory budget first.
fn read_state(path: &str, limits: &Limits) -> Result<train::state::State, Error> {
    let bad = |m: String| Error::Usage(format!("cannot load state `{path}`: {m}"));
    let len = std::fs::metadata(path).map_err(|e| bad(e.to_string()))?.len();
    limits
        .check_memory("the state file", len)
        .map_err(|e| bad(e.to_string()))?;
    let text = std::fs::read_to_string(path).map_err(|e| bad(e.to_string()))?;
    train::state::State::parse(&text).map_err(bad)
}

fn load(l: &Load, src: &mut Option<SourceFile>) -> Result<Loaded, Error> {
    let file = read(&l.file)?;
    *src = Some(file.clone());
    sutro::load(&file, &settings(l)?, &limits(l))
}

/// Loads a program and opens a session on a task at a run seed.
fn open(l: &Load, task: &str, seed: u64, src: &mut Option<SourceFile>) -> Result<Session, Error> {
    let loaded = load(l, src)?;
    Session::new(loaded, task, &settings(l)?, &limits(l), seed)
}

/// The size limits a command was given.
fn limits(l: &Load) -> Limits {
    Limits {
        max_buffer_elements: l.max_buffer_elements,
        max_ops: l.max_ops,
        max_memory: sutro::valid::memory::effective(l.max_memory),
    }
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
            let session = open(&l, &tname, seed, src)?;
            let mut list = analyzers(&metric, &opts, energy_config.as_deref(), events)?;
            let mut ard = analysis::Reuse::new(ReuseKind::Write, Cold::MinusOne);
            {
                let mut tracers: Vec<&mut dyn sutro::trace::Tracer> = list.iter_mut().map(|a| a.as_tracer()).collect();
                if plot.is_some() {
                    tracers.push(&mut ard);
                }
                session.trace(1, &mut Tee(tracers))?;
            }
            let h = session.header();
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
        Command::Ir(c) => ir_cmd(c, src),
        Command::Demo { seed } => {
            let f = SourceFile::new("sparse_parity.sutro", DEFAULT_PROGRAM);
            *src = Some(f.clone());
            let session = Session::open(&f, "parity", &Settings::default(), &Limits::default(), seed)?;
            let cfg = session.task_config();
            out(&format!(
                "sutro demo: training {} on sparse parity (n={}, k={}, n_train={}, n_test={}, batch={}), seed {seed}\n\n",
                session.validated().program().name,
                cfg.n,
                cfg.k,
                cfg.n_train,
                cfg.n_test,
                cfg.batch
            ));
            let t0 = std::time::Instant::now();
            let res = session.train(&RunOptions::default(), None, |_| {})?;
            out(&run_table(&res, t0.elapsed().as_secs_f64()));
            out("\nReuse distances of one training step:\n\n");
            let mut r = analysis::Reuse::new(ReuseKind::Write, Cold::MinusOne);
            session.trace(1, &mut r)?;
            out(&text::ard(
                "ard_write",
                &r.report(),
                &session.validated().program().name,
            ));
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
    let session = open(&a.load, &a.task, a.seed, src)?;
    let loaded = session.loaded();
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
    let mut list = if a.metric.is_empty() {
        Vec::new()
    } else {
        analyzers(&a.metric, &a.opts, None, false)?
    };
    let mut tee = Tee(list.iter_mut().map(|x| x.as_tracer()).collect());
    let tracer: Option<&mut dyn sutro::trace::Tracer> = if tee.0.is_empty() { None } else { Some(&mut tee) };
    let mut progress = Progress::new("epochs", a.epochs as u64, a.quiet);
    let res = session.train(&opts, tracer, |e| {
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
    for path in [&a.dump_state, &a.save_state].into_iter().flatten() {
        let text = serde_json::to_string_pretty(&res.state).unwrap_or_default() + "\n";
        write_atomic(path, text.as_bytes())?;
    }
    if a.json {
        let last = res.history.last();
        let f = |g: fn(&train::EpochStats) -> f64| last.map_or(Value::Null, |h| json!(g(h)));
        let v = json!({
            "schema": 1,
            "program": program_json(loaded),
            "task": {"name": cfg.name, "n": cfg.n, "k": cfg.k, "n_train": cfg.n_train, "n_test": cfg.n_test, "batch": cfg.batch, "secret": res.secret},
            "seed": a.seed,
            "epochs_run": res.epochs_run,
            "steps": res.steps,
            "solved": res.solved_epoch.is_some(),
            "solved_epoch": res.solved_epoch,
            "solved_step": res.solved_step,
            "samples": res.samples,
            "evaluations": res.evaluations,
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

/// `sutro explain`: everything is derived from the op table and the effects table
/// applied to the op's example program, so it cannot drift from the interpreter.
fn explain(name: &str, as_json: bool) -> Result<(), Error> {
    if name == "grad" {
        let text = "grad LOSS wrt P1, P2, …\n\nReverse-mode AD over the ops before it, lowered into explicit ops that define dP1, dP2, …\n(see `sutro print FILE --lowered`). The loss must be one element computed by hinge, mse, logistic or softmax_xent.\nThe rule of each op is shown by `sutro explain OP`.\n";
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
