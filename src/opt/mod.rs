//! The optimizer: legal, verified reordering and fusion that lowers an objective.
//!
//! Passes are plain functions picked by `Pass`; `run_pipeline` runs them in the
//! given order. After every pass the verifier re-validates the program and, for
//! `reorder`, checks the new schedule against the hazard graph of the program the
//! pass started from; a broken invariant stops the pipeline with an error naming
//! the pass. Then the caller's `check` runs (the library's pipeline re-runs the
//! original and the candidate on the task and compares every param bit for bit;
//! that needs `train`, which sits beside `opt`, hence the callback).
//! See `docs/optimizer.md` for the legality argument, the bounds and the rules.

pub mod cost;
pub mod depgraph;
pub mod floor;
pub mod fuse;
pub mod reorder;
pub mod tables;
pub mod verify;

use crate::interp::InterpError;
use crate::valid::{self, Settings, Validated};
pub use cost::Objective;
use cost::{ClockModel, CostFunction, MetricCost};
use serde::Serialize;
use thiserror::Error;

/// An optimizer error.
#[derive(Clone, Debug, PartialEq, Error)]
pub enum OptError {
    /// The objective cannot be parsed or is not available.
    #[error("bad --objective: {0}")]
    Objective(String),
    /// An unknown pass name.
    #[error("unknown pass `{0}` (known: reorder, fuse)")]
    UnknownPass(String),
    /// A pass broke an invariant (a bug in the pass; nothing is written).
    #[error("pass `{pass}` broke an invariant: {message}")]
    Invariant { pass: String, message: String },
    /// A pass changed a parameter's bits.
    #[error("pass `{pass}` changed the result: {detail}")]
    Mismatch { pass: String, detail: String },
    /// `sutro verify` found a difference.
    #[error("the programs differ after {0}")]
    Differs(String),
    /// Two programs cannot be compared by running them.
    #[error("cannot compare the programs: {0}")]
    NotComparable(String),
    /// A verification run failed.
    #[error(transparent)]
    Interp(#[from] InterpError),
    /// Something about program B of a comparison (`verify A B`): B's run
    /// faulted, or B cannot be paired with A. The span, when there is one,
    /// points into B's text.
    #[error("program B: {message}")]
    ProgramB {
        /// What is wrong.
        message: String,
        /// Where in B.
        span: Option<crate::span::Span>,
    },
}

impl OptError {
    /// A fault of program B's run.
    pub fn in_b(e: InterpError) -> OptError {
        OptError::ProgramB {
            message: e.to_string(),
            span: e.span(),
        }
    }
}

/// An optimization pass.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Pass {
    /// Search the legal schedules.
    Reorder,
    /// Bit-exact rewrites (gradient folding, splitting, dead code).
    Fuse,
}

impl Pass {
    /// The name used by `--passes`.
    pub fn name(self) -> &'static str {
        match self {
            Pass::Reorder => "reorder",
            Pass::Fuse => "fuse",
        }
    }

    /// Every pass.
    pub const ALL: [Pass; 2] = [Pass::Reorder, Pass::Fuse];

    /// The pass of a `--passes` name.
    pub fn from_name(s: &str) -> Option<Pass> {
        Pass::ALL.into_iter().find(|p| p.name() == s)
    }

    /// Parses a comma-separated `--passes` list.
    pub fn parse_list(s: &str) -> Result<Vec<Pass>, OptError> {
        s.split(',')
            .map(str::trim)
            .filter(|x| !x.is_empty())
            .map(|x| Pass::from_name(x).ok_or_else(|| OptError::UnknownPass(x.to_string())))
            .collect()
    }
}

/// How the reorder search stopped.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum StopReason {
    /// The search finished: the schedule is proved optimal.
    Optimal,
    /// The node budget ran out; the best schedule found is returned.
    Budget,
    /// A heuristic search only; no proof.
    Heuristic,
    /// The pass ran to its end (`fuse`: no rewrite left that does not worsen the objective).
    Complete,
}

impl StopReason {
    /// `optimal`, `budget`, `heuristic` or `complete`.
    pub fn name(self) -> &'static str {
        match self {
            StopReason::Optimal => "optimal",
            StopReason::Budget => "budget",
            StopReason::Heuristic => "heuristic",
            StopReason::Complete => "complete",
        }
    }
}

/// Pipeline settings.
#[derive(Clone, Debug)]
pub struct OptConfig {
    /// What to minimize.
    pub objective: Objective,
    /// Passes, in order.
    pub passes: Vec<Pass>,
    /// Search limits of `reorder`.
    pub limits: reorder::Limits,
}

impl Default for OptConfig {
    fn default() -> OptConfig {
        OptConfig {
            objective: Objective::default(),
            passes: vec![Pass::Reorder, Pass::Fuse],
            limits: reorder::Limits::default(),
        }
    }
}

/// What one pass did.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct PassReport {
    /// The pass.
    pub name: Pass,
    /// Changes kept: ops moved (reorder) or rewrites kept (fuse).
    pub changes: usize,
    /// Moves tried: search nodes (reorder) or rewrites tried (fuse).
    pub tried: u64,
    /// The objective before the pass.
    pub before: f64,
    /// The objective after the pass.
    pub after: f64,
    /// How the pass stopped: reorder's search (`optimal`, `budget`,
    /// `heuristic`), fuse `complete` or `budget`.
    pub stop: Option<StopReason>,
    /// One line per change.
    pub notes: Vec<String>,
}

/// What the pipeline did.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct OptReport {
    /// `metric.field`.
    pub objective: String,
    /// The objective on the input.
    pub before: f64,
    /// The objective on the output.
    pub after: f64,
    /// How the pipeline stopped: `budget` when any pass stopped on a bound, else
    /// how the last reorder search stopped, else `complete` (fuse only); `None`
    /// without passes.
    pub stop: Option<StopReason>,
    /// Per pass, in order.
    pub passes: Vec<PassReport>,
}

impl OptReport {
    /// (before − after) / before, or 0 when before is 0.
    pub fn improvement(&self) -> f64 {
        if self.before == 0.0 {
            0.0
        } else {
            (self.before - self.after) / self.before
        }
    }
}

fn invariant(pass: Pass, message: impl Into<String>) -> OptError {
    OptError::Invariant {
        pass: pass.name().into(),
        message: message.into(),
    }
}

/// Runs one reorder pass: the new program and its report.
pub fn run_reorder(
    v: &Validated,
    settings: &Settings,
    limits: &valid::Limits,
    objective: &Objective,
    search: &reorder::Limits,
) -> Result<(Validated, reorder::Found), OptError> {
    let search = reorder::Limits {
        memory: limits.max_memory,
        ..*search
    };
    let found = match ClockModel::new(v, objective) {
        Some(model) => reorder::reorder(v, &model, &search),
        None => {
            // No exact model (stack metrics, mixes): beam search over legal orders,
            // keeping the input order unless the beam found a cheaper one.
            let g = depgraph::DepGraph::build(v.program());
            let mut cost = MetricCost::new(*objective);
            let width = search.beam_width.min(8);
            let (cand, used) = reorder::beam_generic(v, &g, &mut cost, width);
            let order = if cost.cost(v, &cand) < cost.cost(v, &v.program().order) {
                cand
            } else {
                v.program().order.clone()
            };
            reorder::Found {
                order,
                cost: 0,
                stop: if used < width {
                    StopReason::Budget
                } else {
                    StopReason::Heuristic
                },
                nodes: 0,
                beam_nodes: (g.ops().len() * used) as u64,
            }
        }
    };
    let mut p = v.program().clone();
    p.order = found.order.clone();
    let next = valid::validate(p, settings, limits).map_err(|e| {
        invariant(
            Pass::Reorder,
            format!(
                "the new schedule does not validate: {}",
                e.iter().map(ToString::to_string).collect::<Vec<_>>().join("; ")
            ),
        )
    })?;
    Ok((next, found))
}

/// Runs the passes; after each one re-validates, checks the schedule against the
/// hazard graph (reorder), checks the objective did not get worse, and calls
/// `check(pass, candidate)` (the bit-exact comparison with the original).
pub fn run_pipeline(
    v: &Validated,
    settings: &Settings,
    limits: &valid::Limits,
    cfg: &OptConfig,
    check: &mut dyn FnMut(Pass, &Validated) -> Result<(), OptError>,
) -> Result<(Validated, OptReport), OptError> {
    let mut cost = MetricCost::new(cfg.objective);
    let mut cur = v.clone();
    let before = cost.cost(&cur, &cur.program().order);
    let mut report = OptReport {
        objective: cfg.objective.label(),
        before,
        after: before,
        stop: None,
        passes: Vec::new(),
    };
    for &pass in &cfg.passes {
        let cost_in = cost.cost(&cur, &cur.program().order);
        let (next, pr) = match pass {
            Pass::Reorder => {
                let (next, found) = run_reorder(&cur, settings, limits, &cfg.objective, &cfg.limits)?;
                verify::check_reorder(cur.program(), next.program()).map_err(|m| invariant(pass, m))?;
                let moved = cur
                    .program()
                    .order
                    .iter()
                    .zip(&next.program().order)
                    .filter(|(a, b)| a != b)
                    .count();
                let pr = PassReport {
                    name: pass,
                    changes: moved,
                    tried: found.nodes + found.beam_nodes,
                    before: cost_in,
                    after: 0.0,
                    stop: Some(found.stop),
                    notes: vec![format!(
                        "{} search nodes, {} beam states, stop {}",
                        found.nodes,
                        found.beam_nodes,
                        found.stop.name()
                    )],
                };
                (next, pr)
            }
            Pass::Fuse => {
                let f = fuse::fuse(&cur, settings, limits, &cfg.objective)?;
                let same_params = |p: &crate::ir::Program| {
                    p.buffers
                        .values()
                        .filter(|b| b.role.persists())
                        .map(|b| b.name.clone())
                        .collect::<Vec<_>>()
                };
                if same_params(cur.program()) != same_params(f.validated.program()) {
                    return Err(invariant(pass, "the params or state changed"));
                }
                let pr = PassReport {
                    name: pass,
                    changes: f.kept.len(),
                    tried: f.tried as u64,
                    before: cost_in,
                    after: 0.0,
                    stop: Some(f.stop),
                    notes: f.kept,
                };
                (f.validated, pr)
            }
        };
        let cost_out = cost.cost(&next, &next.program().order);
        if cost_out > cost_in {
            return Err(invariant(
                pass,
                format!("the objective got worse ({cost_in} -> {cost_out})"),
            ));
        }
        check(pass, &next)?;
        report.passes.push(PassReport { after: cost_out, ..pr });
        cur = next;
    }
    report.after = cost.cost(&cur, &cur.program().order);
    report.stop = pipeline_stop(&report.passes);
    Ok((cur, report))
}

/// The pipeline's stop reason: `budget` if a pass hit a bound, else the last
/// reorder's stop, else `complete` when fuse ran, else `None`.
fn pipeline_stop(passes: &[PassReport]) -> Option<StopReason> {
    if passes.iter().any(|p| p.stop == Some(StopReason::Budget)) {
        return Some(StopReason::Budget);
    }
    passes
        .iter()
        .rev()
        .find(|p| p.name == Pass::Reorder)
        .or_else(|| passes.last())
        .and_then(|p| p.stop)
}

/// The hazard graph of a program as text, one edge per line, or as Graphviz DOT.
pub fn deps(p: &crate::ir::Program, dot: bool) -> String {
    let g = depgraph::DepGraph::build(p);
    if dot { g.to_dot(p) } else { g.to_text(p) }
}

/// An objective value for people: thousands separators and up to three decimals
/// (`8174.375` → `8,174.375`, `9715.9090…` → `9,715.909`).
pub fn fmt_value(v: f64) -> String {
    if !v.is_finite() {
        return format!("{v}");
    }
    let milli = (v.abs() * 1000.0).round() as i128;
    let (int, frac) = (milli / 1000, milli % 1000);
    let mut s = crate::analysis::text::thousands(int);
    if frac != 0 {
        let f = format!("{frac:03}");
        s.push('.');
        s.push_str(f.trim_end_matches('0'));
    }
    if v < 0.0 && milli != 0 { format!("-{s}") } else { s }
}
