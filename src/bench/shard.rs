//! Boards beyond one machine: `bench --shard I/N` runs the jobs `j` of the grid
//! with `j mod N = I − 1` and writes them as a shard document; `bench merge`
//! checks that a set of shards is one complete grid and assembles the board,
//! which is then byte-identical to a single-machine run apart from wall times
//! (job results are exact: floats round-trip through JSON, and assembly is the
//! same code). A sweep fans out on any batch scheduler with no distributed
//! layer of its own (`docs/sprint2.md` has the recipe).

use super::grid::{self, Out, ScoreOut};
use super::{BenchConfig, Board, Reordered, SeedRun, Skipped, Spec, Totals, UnitMeta};
use crate::analysis::Metric;
use crate::error::Error;
use crate::opt::StopReason;
use crate::span::SourceFile;
use serde::{Deserialize, Serialize};

/// The `kind` of a shard document.
pub const KIND: &str = "sutro-bench-shard";

/// One shard's results (keys in `docs/json.md`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ShardDoc {
    /// 1.
    pub schema: u32,
    /// `sutro-bench-shard`.
    pub kind: String,
    /// `[I, N]`: this is the I-th of N shards (1-based).
    pub shard: (usize, usize),
    /// Jobs in the whole grid.
    pub jobs: usize,
    /// The single-machine command (the shard's, without `--shard I/N`).
    pub command: String,
    /// The board's configuration.
    pub spec: Spec,
    /// Every unit's row facts, in grid order.
    pub units: Vec<UnitMeta>,
    /// Pairs left off the board.
    pub skipped: Vec<Skipped>,
    /// This shard's job results, in job order.
    pub results: Vec<ResultDoc>,
}

/// A metric total (null for NaN).
type TotalsDoc = Vec<(String, Option<f64>)>;

/// One job's result: a unit's scores or one seed's run.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ResultDoc {
    /// The job's index in the grid.
    pub job: usize,
    /// A scoring job's result.
    pub score: Option<ScoreDoc>,
    /// A run job's result.
    pub run: Option<SeedRun>,
    /// A scoring job that faulted: why the unit leaves the board.
    #[serde(default)]
    pub skip: Option<String>,
}

/// A scoring job's result.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ScoreDoc {
    /// Per-step totals of the last stage.
    pub per_step: TotalsDoc,
    /// Per-step totals of earlier stages.
    pub stage_per_step: Vec<TotalsDoc>,
    /// One evaluation pass (with `--count-eval`).
    pub eval: Option<TotalsDoc>,
    /// Clock floors.
    pub floor: Vec<(String, i64)>,
    /// Reorder-only optima: metric, Σ s·d, stop.
    pub reordered: Vec<(String, i64, String)>,
}

fn totals_doc(t: &Totals) -> TotalsDoc {
    t.iter()
        .map(|(m, v)| (m.name().to_string(), (!v.is_nan()).then_some(*v)))
        .collect()
}

fn metric(name: &str) -> Result<Metric, String> {
    Metric::from_name(name).ok_or_else(|| format!("unknown metric `{name}`"))
}

fn totals(d: &TotalsDoc) -> Result<Totals, String> {
    d.iter().map(|(m, v)| Ok((metric(m)?, v.unwrap_or(f64::NAN)))).collect()
}

fn wide(v: i128) -> Result<i64, Error> {
    i64::try_from(v).map_err(|_| Error::Internal(format!("a floor of {v} does not fit a shard file")))
}

fn score_doc(s: &ScoreOut) -> Result<ScoreDoc, Error> {
    Ok(ScoreDoc {
        per_step: totals_doc(&s.per_step),
        stage_per_step: s.stage_per_step.iter().map(totals_doc).collect(),
        eval: s.eval.as_ref().map(totals_doc),
        floor: s
            .floor
            .iter()
            .map(|(m, v)| Ok((m.name().to_string(), wide(*v)?)))
            .collect::<Result<_, Error>>()?,
        reordered: s
            .reordered
            .iter()
            .map(|(m, r)| Ok((m.name().to_string(), wide(r.sum_sd)?, r.stop.name().to_string())))
            .collect::<Result<_, Error>>()?,
    })
}

fn stop(name: &str) -> Result<StopReason, String> {
    [
        StopReason::Optimal,
        StopReason::Budget,
        StopReason::Heuristic,
        StopReason::Complete,
    ]
    .into_iter()
    .find(|s| s.name() == name)
    .ok_or_else(|| format!("unknown search stop `{name}`"))
}

fn score_out(d: &ScoreDoc) -> Result<ScoreOut, String> {
    Ok(ScoreOut {
        per_step: totals(&d.per_step)?,
        stage_per_step: d.stage_per_step.iter().map(totals).collect::<Result<_, _>>()?,
        eval: d.eval.as_ref().map(totals).transpose()?,
        floor: d
            .floor
            .iter()
            .map(|(m, v)| Ok((metric(m)?, i128::from(*v))))
            .collect::<Result<_, String>>()?,
        reordered: d
            .reordered
            .iter()
            .map(|(m, v, s)| {
                let r = Reordered {
                    sum_sd: i128::from(*v),
                    stop: stop(s)?,
                };
                Ok((metric(m)?, r))
            })
            .collect::<Result<_, String>>()?,
    })
}

/// Runs one shard of the board. `command` is the single-machine command it is
/// part of (recorded so the merged board prints it).
pub fn run_shard(
    files: &[SourceFile],
    cfg: &BenchConfig,
    src: &mut Option<SourceFile>,
    shard: (usize, usize),
    command: &str,
) -> Result<ShardDoc, Error> {
    let plan = grid::plan(files, cfg, src)?;
    let outs = grid::run_jobs(&plan, cfg, Some(shard))?;
    let results = outs
        .iter()
        .map(|(j, out)| {
            Ok(match out {
                Out::Score(s) => ResultDoc {
                    job: *j,
                    score: Some(score_doc(s)?),
                    run: None,
                    skip: None,
                },
                Out::Run(r) => ResultDoc {
                    job: *j,
                    score: None,
                    run: Some(r.clone()),
                    skip: None,
                },
                Out::Skip(why) => ResultDoc {
                    job: *j,
                    score: None,
                    run: None,
                    skip: Some(why.clone()),
                },
            })
        })
        .collect::<Result<_, Error>>()?;
    Ok(ShardDoc {
        schema: 1,
        kind: KIND.into(),
        shard,
        jobs: plan.job_count(),
        command: command.into(),
        spec: cfg.spec(),
        units: plan.metas(),
        skipped: plan.skipped.clone(),
        results,
    })
}

/// Reads a shard document; `path` names it in errors.
pub fn parse_shard_doc(path: &str, text: &str) -> Result<ShardDoc, Error> {
    let doc: ShardDoc = serde_json::from_str(text).map_err(|e| {
        Error::Usage(format!(
            "`{path}` is not a bench shard file (written by `sutro bench --shard I/N`): {e}"
        ))
    })?;
    if doc.kind != KIND || doc.schema != 1 {
        return Err(Error::Usage(format!(
            "`{path}` is not a schema-1 bench shard file (kind `{}`, schema {})",
            doc.kind, doc.schema
        )));
    }
    Ok(doc)
}

/// Checks that the shards are one complete grid (the same board, every shard
/// of N exactly once, every job exactly once) and assembles the board; returns
/// it with the single-machine command the shards recorded.
pub fn merge(docs: &[(String, ShardDoc)]) -> Result<(Board, String), Error> {
    let Some((first_path, first)) = docs.first() else {
        return Err(Error::Usage("bench merge needs at least one shard file".into()));
    };
    let n = first.shard.1;
    let mut seen: Vec<Option<&str>> = vec![None; n];
    for (path, d) in docs {
        let same = d.shard.1 == n
            && d.jobs == first.jobs
            && d.command == first.command
            && d.spec == first.spec
            && d.units == first.units
            && d.skipped == first.skipped;
        if !same {
            return Err(Error::Usage(format!(
                "`{path}` and `{first_path}` are shards of different boards (command, settings, programs or shard count differ)"
            )));
        }
        let i = d.shard.0;
        if i == 0 || i > n {
            return Err(Error::Usage(format!("`{path}`: shard {i}/{n} is out of range")));
        }
        if let Some(other) = seen[i - 1] {
            return Err(Error::Usage(format!(
                "shard {i}/{n} is given twice: `{other}` and `{path}`"
            )));
        }
        seen[i - 1] = Some(path);
    }
    let missing: Vec<String> = (1..=n)
        .filter(|i| seen[i - 1].is_none())
        .map(|i| format!("{i}/{n}"))
        .collect();
    if !missing.is_empty() {
        return Err(Error::Usage(format!("missing shard(s) {}", missing.join(", "))));
    }
    let mut slots: Vec<Option<Out>> = vec![None; first.jobs];
    for (path, d) in docs {
        for r in &d.results {
            let bad = |why: String| Error::Usage(format!("`{path}`: job {}: {why}", r.job));
            if r.job >= first.jobs || r.job % n != d.shard.0 - 1 || slots[r.job].is_some() {
                return Err(bad(format!("does not belong to shard {}/{n} or repeats", d.shard.0)));
            }
            slots[r.job] = Some(match (&r.score, &r.run, &r.skip) {
                (Some(s), None, None) => Out::Score(score_out(s).map_err(bad)?),
                (None, Some(run), None) => Out::Run(run.clone()),
                (None, None, Some(why)) => Out::Skip(why.clone()),
                _ => return Err(bad("needs exactly one of `score`, `run` and `skip`".into())),
            });
        }
    }
    let outs: Vec<Out> = slots
        .into_iter()
        .enumerate()
        .map(|(j, o)| o.ok_or_else(|| Error::Usage(format!("job {j} is in no shard file"))))
        .collect::<Result<_, _>>()?;
    let board = grid::assemble(first.spec.clone(), &first.units, first.skipped.clone(), outs)?;
    Ok((board, first.command.clone()))
}
