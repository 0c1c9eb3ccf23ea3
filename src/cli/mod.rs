//! Command line: clap definitions, and the thin glue from commands to the library.
//! Every flag is declared in `args` (shared groups flattened into each command);
//! this file holds the command list, the dispatch and the shared helpers; each
//! command's glue lives in a submodule. The CLI reaches the library through its
//! facade only: `Session` for anything that runs steps, `tracefile` for trace
//! files, `explain`, `opt` for the optimizer, `json` for every document.
//!
//! Exit codes: 0 success (a `run` that did not solve still exits 0); 1 a run
//! that ran and failed (NaN/inf in training); 2 any bad input — program text,
//! flag, value or file. Diagnostics go to stderr, results to stdout.

use clap::{Parser, Subcommand};
use std::io::{IsTerminal, Write};
use sutro::analysis::{self, Analyzer};
use sutro::diag::{Diagnostic, render};
use sutro::span::SourceFile;
use sutro::valid::{Limits, Settings};
use sutro::{Error, Loaded, Session};

mod args;
mod bench;
mod diff;
mod ir;
mod optimize;
mod report;
mod run;
mod trace;

use args::*;

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
    Score(ScoreArgs),
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
        after_help = "Examples:\n  sutro bench programs/ --task parity --set n=20 --set k=3 --set n_test=200 --seeds 0..4 --md docs/leaderboard.md\n  sutro bench programs/gf2.sutro programs/sparse_parity.sutro --scale n=20,30 --seeds 0..1 --svg scale.svg\n  sutro bench programs/sparse_parity.sutro --curriculum n=10,20 --seeds 0..1 --eval-every 1\n  sutro bench programs/sprint1_fused.sutro programs/sparse_parity.sutro --group-by-task --seeds 0..1\n  sutro bench programs/gf2.sutro programs/momentum.sutro --seeds 0..1 --shard 1/2 > rows-1.json\n\nShards: run `--shard I/N` for I = 1..N anywhere (a Slurm array, GNU parallel), then `sutro bench merge rows-*.json`."
    )]
    Bench(BenchArgs),
    /// Score, run, lower, optimize and record programs in the placement cost model's IR (docs/dally.md).
    #[command(subcommand)]
    Ir(ir::IrCmd),
}

/// Runs a parsed command line; returns the exit code.
pub fn run(cli: Cli) -> u8 {
    let mut src: Option<SourceFile> = None;
    match dispatch(cli.command, &mut src) {
        Ok(()) => match sutro::output::stdout_error() {
            None => 0,
            Some(m) => {
                report(&[Diagnostic::error(m)], None);
                2
            }
        },
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

/// Writes to stdout; a closed pipe (`| head`) ends the output quietly, any other
/// failure makes the command exit 2 (`run`).
fn out(s: &str) {
    sutro::output::print(s);
}

fn read(path: &str) -> Result<SourceFile, Error> {
    read_text(path).map(|t| SourceFile::new(path, t))
}

/// A text file, noted as an input of the command; invalid UTF-8 is an error
/// with its line, column and byte.
fn read_text(path: &str) -> Result<String, Error> {
    sutro::output::note_input(path);
    std::fs::read(path)
        .map_err(|e| e.to_string())
        .and_then(sutro::span::decode_utf8)
        .map_err(|e| Error::Usage(format!("cannot read `{path}`: {e}")))
}

/// Writes an output file (or stdout for `-`) through `sutro::output`: atomic for
/// regular files, direct for devices and FIFOs, through symlinks, never over an input.
fn write_atomic(path: &str, data: &[u8]) -> Result<(), Error> {
    sutro::output::write(path, data).map_err(|e| Error::Usage(e.to_string()))
}

/// Reads and loads a program file; `src` holds it for diagnostics.
fn load_file(path: &str, p: &ProgramArgs, src: &mut Option<SourceFile>) -> Result<Loaded, Error> {
    let file = read(path)?;
    *src = Some(file.clone());
    sutro::load(&file, &p.settings()?, &p.limits())
}

fn load(l: &Load, src: &mut Option<SourceFile>) -> Result<Loaded, Error> {
    load_file(&l.file, &l.program, src)
}

/// Loads a program and opens a session on a task at a run seed.
fn open(l: &Load, t: &TaskArgs, src: &mut Option<SourceFile>) -> Result<Session, Error> {
    let loaded = load(l, src)?;
    Session::new(loaded, t.task, &l.program.settings()?, &l.program.limits(), t.seed)
}

/// The analyzers `MetricArgs` select (`default` when no `--metric` is given).
fn analyzers(m: &MetricArgs, default: &[analysis::Metric], events: bool) -> Result<Vec<Box<dyn Analyzer>>, Error> {
    let config = match &m.energy_config {
        Some(path) => Some(read(path)?.text),
        None => None,
    };
    let resolved =
        analysis::resolve(&m.metrics(default), &m.opts, config.as_deref()).map_err(|e| Error::Usage(e.to_string()))?;
    Ok(resolved.iter().map(|r| r.build_logged(events)).collect())
}

/// Prints analyzers' reports: one JSON document, or each one's text.
fn print_reports(list: &[Box<dyn Analyzer>], h: &sutro::trace::TraceHeader, as_json: bool) {
    if as_json {
        out(&sutro::json::pretty(&sutro::json::Scores {
            schema: 1,
            program: sutro::json::ProgramId::of(h),
            metrics: sutro::json::metrics(list),
        }));
    } else {
        let text: Vec<String> = list.iter().map(|a| a.text(&h.program)).collect();
        out(&text.join("\n"));
    }
}

/// A chart that could not be drawn is a bug, not bad input.
fn plot_error(e: sutro::plot::PlotError) -> Error {
    Error::Internal(e.to_string())
}

fn dispatch(cmd: Command, src: &mut Option<SourceFile>) -> Result<(), Error> {
    match cmd {
        Command::Check(l) => load(&l, src).map(drop),
        Command::Fmt { file, write } => {
            let f = read(&file)?;
            *src = Some(f.clone());
            let text = sutro::parse(&f)?.to_string();
            if !write {
                out(&text);
            } else if text != f.text {
                let mut o = sutro::output::Output::replace_input(&file).map_err(|e| Error::Usage(e.to_string()))?;
                o.write_all(text.as_bytes())
                    .map_err(|e| Error::Usage(format!("cannot write `{file}`: {e}")))?;
                o.finish().map_err(|e| Error::Usage(e.to_string()))?;
            }
            Ok(())
        }
        Command::Print { load: l, lowered } => {
            let loaded = load(&l, src)?;
            let p = if lowered {
                loaded.validated.program()
            } else {
                &loaded.parsed
            };
            out(&p.to_string());
            Ok(())
        }
        Command::Score(a) => run::score_cmd(a, src),
        Command::Trace(t) => trace::trace_cmd(t, src),
        Command::Explain { op, json } => {
            let e = sutro::explain::explain(&op)?;
            out(&if json { e.json() } else { e.text() });
            Ok(())
        }
        Command::Diff(a) => diff::diff_cmd(a, src),
        Command::Completions { shell } => {
            let mut buf = Vec::new();
            clap_complete::generate(shell, &mut <Cli as clap::CommandFactory>::command(), "sutro", &mut buf);
            out(&String::from_utf8_lossy(&buf));
            Ok(())
        }
        Command::Run(a) => run::run_cmd(a, src),
        Command::Deps { load: l, dot } => {
            let loaded = load(&l, src)?;
            out(&sutro::opt::deps(loaded.validated.program(), dot));
            Ok(())
        }
        Command::Optimize(a) => optimize::optimize_cmd(a, src),
        Command::Verify(a) => optimize::verify_cmd(a, src),
        Command::Report(a) => report::report_cmd(a, src),
        Command::Bench(a) => bench::bench_cmd(a, src),
        Command::Ir(c) => ir::ir_cmd(c, src),
        Command::Demo { seed } => run::demo(seed, src),
        Command::Ops => {
            out(&sutro::explain::ops_table());
            Ok(())
        }
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
