//! `sutro diff`: two programs or traces compared under one or more metrics.

use super::*;
use sutro::analysis::Metric;
use sutro::trace::Tee;

/// Scores one side of `sutro diff`: a trace is replayed, a program runs one step.
fn diff_side(
    path: &str,
    a: &DiffArgs,
    src: &mut Option<SourceFile>,
) -> Result<(String, Vec<Box<dyn Analyzer>>), Error> {
    let mut list = analyzers(&a.metrics, &[Metric::ArdWrite], false)?;
    let name = if path.ends_with(".trace") {
        let budget = a.program.limits().max_memory;
        let r = sutro::tracefile::open(path, a.limits.max_trace_bytes, budget)?;
        let program = r.header.program.clone();
        // Two sides are held at once: each gets half of the budget.
        sutro::tracefile::replay_scored(path, r, &mut list, None, budget / 2)?;
        program
    } else {
        let loaded = load_file(path, &a.program, src)?;
        let session = Session::new(
            loaded,
            a.task.task,
            &a.program.settings()?,
            &a.program.limits(),
            a.task.seed,
        )?;
        let mut tee = Tee(list.iter_mut().map(|x| x.as_tracer()).collect());
        session.trace(1, &mut tee)?;
        session.validated().program().name.clone()
    };
    Ok((name, list))
}

pub(super) fn diff_cmd(a: DiffArgs, src: &mut Option<SourceFile>) -> Result<(), Error> {
    let (na, la) = diff_side(&a.a, &a, src)?;
    let (nb, lb) = diff_side(&a.b, &a, src)?;
    let mut metrics = std::collections::BTreeMap::new();
    let mut text = String::new();
    for (x, y) in la.iter().zip(&lb) {
        let m = x.metric();
        let d = analysis::diff::diff(x.as_ref(), y.as_ref());
        text.push_str(&analysis::diff::text(m, &d, &na, &nb));
        text.push('\n');
        metrics.insert(m.name().to_string(), d);
    }
    if a.json {
        let side = |name: String, path: &str| sutro::json::DiffSide {
            name,
            path: path.to_string(),
        };
        out(&sutro::json::pretty(&sutro::json::Diff {
            schema: 1,
            a: side(na, &a.a),
            b: side(nb, &a.b),
            metrics,
        }));
    } else {
        out(&text);
    }
    Ok(())
}
