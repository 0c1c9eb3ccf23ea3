//! Every flag of the command line, declared once. Commands that load a program
//! flatten the same groups: `ProgramArgs` (`--set` and the size limits),
//! `TaskArgs` (`--task`, `--seed`) and `MetricArgs` (`--metric`, `--opt`,
//! `--energy-config`). Values that name something — a task, a metric, a pass,
//! an objective — are parsed by clap into the library's types, so a bad name is
//! a usage error (exit 2) before anything runs.

use clap::{Args, Subcommand};
use sutro::Error;
use sutro::analysis::Metric;
use sutro::opt::{Objective, Pass};
use sutro::valid::{Limits, Settings};

/// A task name: one of the library's tasks.
pub(super) fn task_name(s: &str) -> Result<&'static str, String> {
    sutro::train::TASKS
        .iter()
        .copied()
        .find(|t| *t == s)
        .ok_or_else(|| format!("unknown task `{s}` (known: {})", sutro::train::TASKS.join(", ")))
}

/// A `--metric` value: a metric name, or `all` (`None`).
pub(super) fn metric_name(s: &str) -> Result<Option<Metric>, String> {
    Metric::parse_one(s).map_err(|e| e.to_string())
}

/// A `--passes` value.
pub(super) fn pass_name(s: &str) -> Result<Pass, String> {
    Pass::from_name(s.trim()).ok_or_else(|| sutro::opt::OptError::UnknownPass(s.to_string()).to_string())
}

/// An `--objective` value.
pub(super) fn objective(s: &str) -> Result<Objective, String> {
    Objective::parse(s).map_err(|e| e.to_string())
}

/// `--seeds A..B` or one seed.
#[derive(Clone, Debug)]
pub(super) struct Seeds(pub Vec<u64>);

fn seeds(s: &str) -> Result<Seeds, String> {
    sutro::bench::parse_seeds(s).map(Seeds)
}

/// Flags of every command that loads a program: `--set` and the size limits.
#[derive(Args, Clone, Debug)]
pub(super) struct ProgramArgs {
    /// Set a dim, hyper or task key: NAME=VALUE (repeatable).
    #[arg(long = "set", value_name = "NAME=VALUE")]
    pub set: Vec<String>,
    /// Largest element count of one buffer.
    #[arg(long, default_value_t = Limits::default().max_buffer_elements)]
    pub max_buffer_elements: u64,
    /// Largest number of ops after lowering.
    #[arg(long, default_value_t = Limits::default().max_ops)]
    pub max_ops: usize,
    /// Memory budget in bytes, with an optional K, M or G suffix: all buffers, the task's data and anything sized from a file (lowered to half of `ulimit -v` when that is smaller).
    #[arg(long, default_value = "1G", value_parser = sutro::valid::memory::parse_bytes)]
    pub max_memory: u64,
}

impl ProgramArgs {
    /// The `--set` values.
    pub fn settings(&self) -> Result<Settings, Error> {
        Settings::parse(&self.set).map_err(|e| Error::Valid(vec![e]))
    }

    /// The size limits (every limit the library has; those without a flag keep
    /// their defaults).
    #[allow(clippy::needless_update)] // Limits grows; a limit without a flag keeps its default.
    pub fn limits(&self) -> Limits {
        Limits {
            max_buffer_elements: self.max_buffer_elements,
            max_ops: self.max_ops,
            max_memory: sutro::valid::memory::effective(self.max_memory),
            ..Limits::default()
        }
    }
}

/// A program file and its `ProgramArgs`.
#[derive(Args, Debug)]
pub(super) struct Load {
    /// The .sutro file.
    pub file: String,
    #[command(flatten)]
    pub program: ProgramArgs,
}

/// The task that feeds the steps and the run seed.
#[derive(Args, Clone, Debug)]
pub(super) struct TaskArgs {
    /// Task that feeds the steps: parity, sum or and.
    #[arg(long, default_value = "parity", value_parser = task_name)]
    pub task: &'static str,
    /// Run seed (data, init and shuffle derive from it).
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
}

/// Metrics and their options.
#[derive(Args, Clone, Debug)]
pub(super) struct MetricArgs {
    /// Metrics, comma separated, or `all`: ard_write, ard_access, lru_stack, dmd, bytedmd_v2, energy_pj (default ard_write; `run`: none).
    #[arg(long, value_delimiter = ',', value_parser = metric_name)]
    pub metric: Vec<Option<Metric>>,
    /// Metric options as KEY=VALUE or METRIC.KEY=VALUE (e.g. cold=skip).
    #[arg(long = "opt", value_name = "KEY=VALUE")]
    pub opts: Vec<String>,
    /// TOML file with an `[energy]` table overriding the energy_pj preset.
    #[arg(long, value_name = "FILE")]
    pub energy_config: Option<String>,
}

impl MetricArgs {
    /// The selected metrics, or `default` when none is given.
    pub fn metrics(&self, default: &[Metric]) -> Vec<Metric> {
        if self.metric.is_empty() {
            default.to_vec()
        } else {
            Metric::expand(&self.metric)
        }
    }
}

#[derive(Args, Debug)]
pub(super) struct ScoreArgs {
    #[command(flatten)]
    pub load: Load,
    #[command(flatten)]
    pub task: TaskArgs,
    #[command(flatten)]
    pub metrics: MetricArgs,
    /// Include the event log (op, clock, buffer, size, distance).
    #[arg(long)]
    pub events: bool,
    /// Print one JSON object instead of text.
    #[arg(long)]
    pub json: bool,
    /// Also write an SVG chart of the ard_write reuse distance per buffer.
    #[arg(long, value_name = "FILE.svg")]
    pub plot: Option<String>,
}

#[derive(Args, Debug)]
pub(super) struct RunArgs {
    #[command(flatten)]
    pub load: Load,
    #[command(flatten)]
    pub task: TaskArgs,
    /// Epoch limit.
    #[arg(long, default_value_t = 200)]
    pub epochs: usize,
    /// Test accuracy that counts as solved.
    #[arg(long, default_value_t = 1.0)]
    pub until: f64,
    /// Shuffle the example order every epoch.
    #[arg(long)]
    pub shuffle: bool,
    /// Evaluate every STEPS training steps (default: once per epoch, after its last step).
    #[arg(long, value_name = "STEPS", value_parser = clap::value_parser!(u64).range(1..))]
    pub eval_every: Option<u64>,
    /// Write the final values of every param and state buffer as JSON (name, role, shape, values, bits).
    #[arg(long, value_name = "FILE.json")]
    pub dump_state: Option<String>,
    /// The same document as --dump-state, for --load-state in a later run.
    #[arg(long, value_name = "FILE")]
    pub save_state: Option<String>,
    /// Start from the params and state of a --save-state file (a grown buffer is zero padded).
    #[arg(long, value_name = "FILE")]
    pub load_state: Option<String>,
    /// Print one JSON object instead of text.
    #[arg(long)]
    pub json: bool,
    /// Write an SVG of train and test loss and accuracy per epoch.
    #[arg(long, value_name = "FILE.svg")]
    pub plot: Option<String>,
    /// No progress bar.
    #[arg(long, short)]
    pub quiet: bool,
    /// Trace and score every training step under `--metric` (none by default).
    #[command(flatten)]
    pub metrics: MetricArgs,
    /// Largest number of training steps (epochs × steps per epoch).
    #[arg(long, default_value_t = 100_000_000)]
    pub max_steps: u64,
}

#[derive(Args, Debug)]
pub(super) struct ReportArgs {
    #[command(flatten)]
    pub load: Load,
    #[command(flatten)]
    pub task: TaskArgs,
    /// Output HTML file (written atomically).
    #[arg(
        short = 'o',
        long = "output",
        value_name = "FILE.html",
        default_value = "report.html"
    )]
    pub output: String,
    /// Also optimize the step (reorder, fuse; objective ard_write) and show before and after side by side.
    #[arg(long)]
    pub optimize: bool,
    /// Compare with another program (e.g. a hand-fused version): FILE before, this one after.
    #[arg(long, value_name = "OTHER.sutro", conflicts_with = "optimize")]
    pub compare: Option<String>,
    /// Epoch limit of the training run.
    #[arg(long, default_value_t = 200)]
    pub epochs: usize,
    /// Also write each chart as DIR/ID.svg (loss, buffers, stack-histogram, miss-ratio, timeline).
    #[arg(long, value_name = "DIR")]
    pub svg_dir: Option<String>,
    /// Print one JSON object describing what was written.
    #[arg(long)]
    pub json: bool,
}

#[derive(Subcommand, Debug)]
pub(super) enum TraceCmd {
    /// Record N instrumented training steps into a trace file.
    #[command(after_help = "Example:\n  sutro trace record programs/sprint1_fused.sutro -o traces/sprint1_fused.trace")]
    Record {
        #[command(flatten)]
        load: Load,
        #[command(flatten)]
        task: TaskArgs,
        /// Output trace file.
        #[arg(short, long)]
        output: String,
        /// Training steps to record.
        #[arg(long, default_value_t = 1)]
        steps: u32,
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
        #[command(flatten)]
        metrics: MetricArgs,
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
    #[command(after_help = "Example:\n  sutro trace import tests/fixtures/tiny.csv -o tiny.trace")]
    Import {
        /// CSV with header `step,op,kind,buffer,element,address`.
        file: String,
        /// Output trace file.
        #[arg(short, long)]
        output: String,
        #[command(flatten)]
        limits: TraceLimits,
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
pub(super) struct DiffArgs {
    /// The first program (`.sutro`) or trace (`.trace`).
    pub a: String,
    /// The second program or trace.
    pub b: String,
    #[command(flatten)]
    pub metrics: MetricArgs,
    #[command(flatten)]
    pub program: ProgramArgs,
    #[command(flatten)]
    pub task: TaskArgs,
    /// Print one JSON object instead of text.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub limits: TraceSize,
}

#[derive(Args, Debug)]
pub(super) struct TraceLimits {
    /// Largest trace file to read, in bytes.
    #[arg(long, default_value_t = 1 << 30)]
    pub max_trace_bytes: u64,
    /// Memory budget in bytes (K, M, G suffixes): what a trace header's buffer and op tables, or a CSV's ids, may size.
    #[arg(long, default_value = "1G", value_parser = sutro::valid::memory::parse_bytes)]
    pub max_memory: u64,
}

/// The trace size limit alone (`diff`, whose memory budget is the program's `--max-memory`).
#[derive(Args, Debug)]
pub(super) struct TraceSize {
    /// Largest trace file to read, in bytes.
    #[arg(long, default_value_t = 1 << 30)]
    pub max_trace_bytes: u64,
}

impl TraceLimits {
    /// The effective memory budget (lowered to the address-space limit).
    pub fn memory(&self) -> u64 {
        sutro::valid::memory::effective(self.max_memory)
    }
}

#[derive(clap::ValueEnum, Clone, Copy, Debug)]
pub(super) enum ExportFormat {
    /// `step,op,kind,buffer,element,address`, one element access per row.
    Csv,
    /// Dinero IV: `LABEL HEXADDR` (0 read, 1 write; byte address = element offset × 4).
    Din,
    /// Chrome/Perfetto trace-event JSON: one slice per op on the clock timeline.
    Perfetto,
}

impl From<ExportFormat> for sutro::tracefile::Format {
    fn from(f: ExportFormat) -> Self {
        match f {
            ExportFormat::Csv => sutro::tracefile::Format::Csv,
            ExportFormat::Din => sutro::tracefile::Format::Din,
            ExportFormat::Perfetto => sutro::tracefile::Format::Perfetto,
        }
    }
}

#[derive(Args, Debug)]
pub(super) struct OptimizeArgs {
    #[command(flatten)]
    pub load: Load,
    #[command(flatten)]
    pub task: TaskArgs,
    /// What to minimize: METRIC[.FIELD] (ard_write, ard_access: per_read, per_float, sum_d, sum_sd; dmd, bytedmd_v2: total; energy_pj: total_pj) or a mix W*M[.F] + W*M[.F].
    #[arg(long, default_value = "ard_write", value_parser = objective)]
    pub objective: Objective,
    /// Passes, comma separated, run in order: reorder, fuse.
    #[arg(long, default_value = "reorder,fuse", value_delimiter = ',', value_parser = pass_name)]
    pub passes: Vec<Pass>,
    /// Branch-and-bound node budget of the reorder search (0: heuristic only).
    #[arg(long, default_value_t = 1_000_000)]
    pub budget: u64,
    /// Beam width of the search beyond the budget.
    #[arg(long, default_value_t = 64)]
    pub beam_width: usize,
    /// Write the optimized program here (atomically) instead of to stdout.
    #[arg(short = 'o', long = "output", value_name = "OUT.sutro")]
    pub output: Option<String>,
    /// Print one JSON object instead of the tables.
    #[arg(long)]
    pub json: bool,
    /// Training steps each verification run compares.
    #[arg(long, default_value_t = 100)]
    pub steps: u64,
}

#[derive(Args, Debug)]
pub(super) struct VerifyArgs {
    /// The reference program.
    pub a: String,
    /// The program to compare with it.
    pub b: String,
    /// Steps to run.
    #[arg(long, default_value_t = 100)]
    pub steps: u64,
    #[command(flatten)]
    pub task: TaskArgs,
    #[command(flatten)]
    pub program: ProgramArgs,
}

/// `--shard I/N`.
fn shard(s: &str) -> Result<(usize, usize), String> {
    sutro::bench::parse_shard(s)
}

/// `--scale n=…` and `--curriculum n=…`.
#[derive(Clone, Debug)]
pub(super) struct NList(pub Vec<usize>);

fn n_list(s: &str) -> Result<NList, String> {
    sutro::bench::parse_n_list(s).map(NList)
}

#[derive(Subcommand, Debug)]
pub(super) enum BenchCmd {
    /// Build the board from the JSON files of `bench --shard I/N` (every shard of one grid, once).
    #[command(
        after_help = "Example:\n  sutro bench programs/gf2.sutro --seeds 0..1 --shard 1/2 > rows-1.json\n  sutro bench programs/gf2.sutro --seeds 0..1 --shard 2/2 > rows-2.json\n  sutro bench merge rows-1.json rows-2.json --md board.md\n\nThe board is byte-identical to the single-machine run of the shards' command, apart from wall times; its header prints that command (with this command's --md/--svg/--json appended)."
    )]
    Merge(MergeArgs),
}

#[derive(Args, Debug)]
pub(super) struct MergeArgs {
    /// The shard files (`bench --shard I/N` output), in any order.
    #[arg(required = true, value_name = "ROWS.json")]
    pub files: Vec<String>,
    #[command(flatten)]
    pub out: BoardOutputs,
}

/// Where a board goes (`bench` and `bench merge`): Markdown, SVG, JSON rows or stdout.
#[derive(Args, Debug)]
pub(super) struct BoardOutputs {
    /// The plain-backprop program the others are compared with.
    #[arg(long, default_value = "sparse_parity")]
    pub baseline: String,
    /// Print a JSON array of rows instead of the Markdown board.
    #[arg(long)]
    pub json: bool,
    /// Write the leaderboard Markdown here (atomically).
    #[arg(long, value_name = "FILE.md")]
    pub md: Option<String>,
    /// Write an SVG chart of energy-to-solve (energy_pj) here (atomically); with --scale, the log–log chart against n.
    #[arg(long, value_name = "FILE.svg")]
    pub svg: Option<String>,
}

#[derive(Args, Debug)]
#[command(args_conflicts_with_subcommands = true)]
pub(super) struct BenchArgs {
    #[command(subcommand)]
    pub cmd: Option<BenchCmd>,
    /// Programs (.sutro files) or directories (their top-level *.sutro files, sorted by name).
    #[arg(default_value = "programs/")]
    pub programs: Vec<String>,
    /// Task every program trains on.
    #[arg(long, default_value = "parity", value_parser = task_name)]
    pub task: &'static str,
    #[command(flatten)]
    pub program: ProgramArgs,
    /// Run seeds: A..B (inclusive) or one seed.
    #[arg(long, default_value = "0..4", value_parser = seeds)]
    pub seeds: Seeds,
    /// Epoch limit of each run.
    #[arg(long, default_value_t = 200)]
    pub epochs: usize,
    /// Add the evaluation passes up to the solving epoch to energy-to-solve.
    #[arg(long)]
    pub count_eval: bool,
    /// Worker threads (default: the available cores).
    #[arg(long)]
    pub jobs: Option<usize>,
    /// Node budget of the reorder-only search shown beside the floor.
    #[arg(long, default_value_t = 20_000)]
    pub reorder_budget: u64,
    #[command(flatten)]
    pub out: BoardOutputs,
    /// Evaluate every STEPS training steps (default: once per epoch, after its last step), as `run` does.
    #[arg(long, value_name = "STEPS", value_parser = clap::value_parser!(u64).range(1..))]
    pub eval_every: Option<u64>,
    /// One table per task setting (n, k, n_test) instead of refusing rows whose settings differ.
    #[arg(long)]
    pub group_by_task: bool,
    /// Train each program through these n in turn (n=10,20), carrying its state; one row each, summed over stages.
    #[arg(long, value_name = "n=A,B,…", value_parser = n_list)]
    pub curriculum: Option<NList>,
    /// Run each program at each n (n=20,30,50,100): energy-to-solve against n, fitted exponents, log–log chart.
    #[arg(long, value_name = "n=A,B,…", value_parser = n_list)]
    pub scale: Option<NList>,
    /// Run only the I-th of N deterministic slices of the program × setting × seed grid and print its JSON (for `bench merge`).
    #[arg(long, value_name = "I/N", value_parser = shard)]
    pub shard: Option<(usize, usize)>,
}
