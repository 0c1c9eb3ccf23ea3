//! The JSON documents of the command line: every one is a `Serialize` type of
//! the library (its keys in `docs/json.md`), written through these two
//! functions. Keys come out sorted (serde_json's map), the stable order the
//! documents have always had; non-finite numbers become `null`.

use serde::Serialize;
use serde_json::Value;

/// A document as a JSON value (`null` if it could not be represented, which
/// plain data never triggers).
pub fn value<T: Serialize + ?Sized>(doc: &T) -> Value {
    serde_json::to_value(doc).unwrap_or(Value::Null)
}

/// A document pretty-printed, with a final newline.
pub fn pretty<T: Serialize + ?Sized>(doc: &T) -> String {
    format!("{}\n", serde_json::to_string_pretty(&value(doc)).unwrap_or_default())
}

/// A document on one line, without a final newline.
pub fn compact<T: Serialize + ?Sized>(doc: &T) -> String {
    value(doc).to_string()
}

/// Program identity in a JSON document.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ProgramId {
    /// Program name.
    pub name: String,
    /// FNV-1a of the lowered program's text.
    pub hash: String,
}

impl ProgramId {
    /// The identity a trace header carries.
    pub fn of(h: &crate::trace::TraceHeader) -> ProgramId {
        ProgramId {
            name: h.program.clone(),
            hash: h.hash.clone(),
        }
    }
}

/// Each analyzer's report under its metric's name.
pub fn metrics(list: &[Box<dyn crate::analysis::Analyzer>]) -> std::collections::BTreeMap<String, Value> {
    list.iter()
        .map(|a| (a.metric().name().to_string(), a.report_json()))
        .collect()
}

/// `score --json` and `trace replay --json`: every selected metric's report.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Scores {
    /// Always 1.
    pub schema: u32,
    /// The program.
    pub program: ProgramId,
    /// Reports by metric name.
    pub metrics: std::collections::BTreeMap<String, Value>,
}

/// One side of `diff --json`.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct DiffSide {
    /// Program name.
    pub name: String,
    /// The path given.
    pub path: String,
}

/// `diff --json`.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Diff {
    /// Always 1.
    pub schema: u32,
    /// The first program or trace.
    pub a: DiffSide,
    /// The second.
    pub b: DiffSide,
    /// The comparison per metric.
    pub metrics: std::collections::BTreeMap<String, crate::analysis::diff::MetricDiff>,
}

/// `optimize --json`: the pipeline's report with its improvement.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Optimize<'a> {
    /// Always 1.
    pub schema: u32,
    /// What the passes did.
    #[serde(flatten)]
    pub report: &'a crate::opt::OptReport,
    /// (before − after) / before.
    pub improvement: f64,
    /// Always true: an unverified result is an error, not a document.
    pub verified: bool,
    /// The `-o` path, if any.
    pub output: Option<String>,
}

/// A chart of `report --json`.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ChartRef {
    /// Stable id.
    pub id: &'static str,
    /// Title.
    pub title: String,
}

/// `report --json`: what was written.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Report {
    /// Always 1.
    pub schema: u32,
    /// The program.
    pub program: ProgramId,
    /// The HTML file.
    pub output: String,
    /// Whether `--optimize` was given.
    pub optimized: bool,
    /// The `--compare` program, if any.
    pub compared: Option<String>,
    /// The charts on the page.
    pub charts: Vec<ChartRef>,
    /// SVG files written with `--svg-dir`.
    pub svg_files: Vec<String>,
}

/// The final figures of `run --json` (null before any epoch).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Final {
    /// Mean train loss.
    pub train_loss: Option<f64>,
    /// Mean test loss.
    pub test_loss: Option<f64>,
    /// Train accuracy.
    pub train_acc: Option<f64>,
    /// Test accuracy.
    pub test_acc: Option<f64>,
}

/// The task of `run --json`: its config and the drawn secret.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct RunTask<'a> {
    /// The config.
    #[serde(flatten)]
    pub config: &'a crate::train::TaskConfig,
    /// Secret indices.
    pub secret: &'a [usize],
}

/// `run --json`.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Run<'a> {
    /// Always 1.
    pub schema: u32,
    /// The program.
    pub program: ProgramId,
    /// The task.
    pub task: RunTask<'a>,
    /// Run seed.
    pub seed: u64,
    /// Epochs run.
    pub epochs_run: usize,
    /// Steps run.
    pub steps: u64,
    /// Whether the target accuracy was reached.
    pub solved: bool,
    /// Epoch that reached it.
    pub solved_epoch: Option<usize>,
    /// Steps by then.
    pub solved_step: Option<u64>,
    /// Distinct training examples fed by then (over the run if unsolved).
    pub samples: u64,
    /// Labels asked with `query` by then (over the run if unsolved).
    pub queries: u64,
    /// Evaluations run by then.
    pub evaluations: u64,
    /// Last epoch's figures.
    #[serde(rename = "final")]
    pub last: Final,
    /// Every epoch's figures.
    pub history: &'a [crate::train::EpochStats],
    /// Wall time in seconds.
    pub wall_s: f64,
    /// Reports of `--metric`, by metric name.
    pub metrics: std::collections::BTreeMap<String, Value>,
}

impl<'a> Run<'a> {
    /// The document of a finished run.
    pub fn new(
        program: ProgramId,
        config: &'a crate::train::TaskConfig,
        seed: u64,
        res: &'a crate::train::RunResult,
        wall_s: f64,
        metrics: std::collections::BTreeMap<String, Value>,
    ) -> Run<'a> {
        let last = res.history.last();
        let f = |g: fn(&crate::train::EpochStats) -> f64| last.map(g);
        Run {
            schema: 1,
            program,
            task: RunTask {
                config,
                secret: &res.secret,
            },
            seed,
            epochs_run: res.epochs_run,
            steps: res.steps,
            solved: res.solved_epoch.is_some(),
            solved_epoch: res.solved_epoch,
            solved_step: res.solved_step,
            samples: res.samples,
            queries: res.queries,
            evaluations: res.evaluations,
            last: Final {
                train_loss: f(|h| h.train_loss),
                test_loss: f(|h| h.test_loss),
                train_acc: f(|h| h.train_acc),
                test_acc: f(|h| h.test_acc),
            },
            history: &res.history,
            wall_s,
            metrics,
        }
    }
}

/// The `program` object of the `ir` commands: the IR file and its size.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct IrProgram {
    /// The file stem.
    pub name: String,
    /// The path given.
    pub path: String,
    /// Instructions.
    pub instructions: usize,
    /// Input addresses.
    pub inputs: usize,
    /// Output addresses.
    pub outputs: usize,
}

impl IrProgram {
    /// A file's stem (the whole path if it has none): the program's name.
    pub fn stem(path: &str) -> String {
        std::path::Path::new(path)
            .file_stem()
            .map_or_else(|| path.to_string(), |s| s.to_string_lossy().into_owned())
    }

    /// The identity of the IR program read from `path`.
    pub fn of(path: &str, p: &crate::dally::Program) -> IrProgram {
        IrProgram {
            name: IrProgram::stem(path),
            path: path.to_string(),
            instructions: p.instrs.len(),
            inputs: p.inputs.len(),
            outputs: p.outputs.len(),
        }
    }
}

/// `ir score --json`.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct IrScore {
    /// Always 1.
    pub schema: u32,
    /// The program.
    pub program: IrProgram,
    /// Operand reads plus exit reads.
    pub cost: u64,
    /// The exit reads' part.
    pub exit: u64,
    /// Operand-read cost per instruction kind the program uses.
    pub by_kind: std::collections::BTreeMap<&'static str, u64>,
    /// `[distance, reads]`, ascending.
    pub histogram: Vec<(u64, u64)>,
    /// The proved `--check` spec.
    pub check: Option<String>,
}

impl IrScore {
    /// The document of a scored program.
    pub fn new(path: &str, p: &crate::dally::Program, s: &crate::dally::Score, check: Option<String>) -> IrScore {
        IrScore {
            schema: 1,
            program: IrProgram::of(path, p),
            cost: s.cost,
            exit: s.exit,
            by_kind: (crate::dally::KINDS.iter().enumerate())
                .filter(|(k, _)| s.count[*k] > 0)
                .map(|(k, name)| (*name, s.by_kind[k]))
                .collect(),
            histogram: s.histogram.clone(),
            check,
        }
    }
}

/// `ir run --json`.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct IrRun {
    /// Always 1.
    pub schema: u32,
    /// The program.
    pub program: IrProgram,
    /// Output values in output order.
    pub outputs: Vec<i64>,
    /// The program's cost.
    pub cost: u64,
}

/// One pass of `ir optimize --json` (the keys of `optimize`'s passes).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct IrPass {
    /// Pass name.
    pub name: String,
    /// Cost before it.
    pub before: u64,
    /// Cost after it.
    pub after: u64,
    /// Allocations evaluated.
    pub tried: u64,
    /// What it kept.
    pub notes: Vec<String>,
    /// Always null: IR passes run to completion.
    pub stop: Option<String>,
}

/// `ir optimize --json`.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct IrOptimize<'a> {
    /// Always 1.
    pub schema: u32,
    /// The program.
    pub program: IrProgram,
    /// Always `dally`.
    pub objective: &'static str,
    /// Cost before all passes.
    pub before: u64,
    /// Cost after.
    pub after: u64,
    /// `(before − after) / before`.
    pub improvement: f64,
    /// Lower bound for the output's order.
    pub bound: u64,
    /// `after − bound`.
    pub gap: u64,
    /// Why the search stopped.
    pub stop: &'a str,
    /// Per pass, in order.
    pub passes: Vec<IrPass>,
    /// Always true: an unverified result is an error.
    pub verified: bool,
    /// How the output was verified.
    pub verification: &'a str,
    /// The `--check` spec.
    pub check: Option<String>,
    /// The `-o` path.
    pub output: Option<&'a str>,
}

impl<'a> IrOptimize<'a> {
    /// The document of an optimization of the program read from `path`.
    pub fn new(
        path: &str,
        p: &crate::dally::Program,
        r: &'a crate::dally::opt::IrOptimized,
        check: Option<String>,
        output: Option<&'a str>,
    ) -> IrOptimize<'a> {
        IrOptimize {
            schema: 1,
            program: IrProgram::of(path, p),
            objective: "dally",
            before: r.before,
            after: r.after,
            improvement: r.improvement(),
            bound: r.bound,
            gap: r.after.saturating_sub(r.bound),
            stop: &r.stop,
            passes: r
                .passes
                .iter()
                .map(|x| IrPass {
                    name: x.name.clone(),
                    before: x.before,
                    after: x.after,
                    tried: x.evaluated,
                    notes: vec![x.note.clone()],
                    stop: None,
                })
                .collect(),
            verified: true,
            verification: &r.verified,
            check,
            output,
        }
    }
}
