//! `sutro deps`, `sutro optimize` and `sutro verify`: the optimizer's commands and tables.

use super::*;

pub(super) fn deps_cmd(l: &Load, dot: bool, src: &mut Option<SourceFile>) -> Result<(), Error> {
    let loaded = load(l, src)?;
    let p = loaded.validated.program();
    let g = DepGraph::build(p);
    out(&if dot { g.to_dot(p) } else { g.to_text(p) });
    Ok(())
}

/// Before/after rows joined by name: (name, before, after), before's order first.
pub(super) fn join_rows(
    before: &[(String, i128)],
    after: &[(String, i128)],
) -> Vec<(String, Option<i128>, Option<i128>)> {
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

pub(super) fn delta_table(title: &str, rows: &[(String, Option<i128>, Option<i128>)]) -> String {
    let cell = |v: Option<i128>| v.map_or_else(|| "-".to_string(), text::thousands);
    let mut s = format!("{title:<20} {:>14} {:>14} {:>14}\n", "before", "after", "change");
    for (n, b, a) in rows {
        let change = text::thousands(a.unwrap_or(0) - b.unwrap_or(0));
        s.push_str(&format!("{n:<20} {:>14} {:>14} {:>14}\n", cell(*b), cell(*a), change));
    }
    s
}

pub(super) fn optimize_tables(before: &Loaded, after: &sutro::Optimized, objective: &Objective) -> String {
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

pub(super) fn optimize_cmd(a: OptimizeArgs, src: &mut Option<SourceFile>) -> Result<(), Error> {
    let objective = Objective::parse(&a.objective)?;
    let passes = Pass::parse_list(&a.passes)?;
    let session = open(&a.load, &a.task, a.seed, src)?;
    let opt_cfg = OptConfig {
        objective,
        passes,
        limits: opt::reorder::Limits {
            budget: a.budget,
            beam_width: a.beam_width,
        },
    };
    let res = session.optimize(&opt_cfg, a.steps)?;
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
        optimize_tables(session.loaded(), &res, &objective)
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

pub(super) fn verify_cmd(a: VerifyArgs, src: &mut Option<SourceFile>) -> Result<(), Error> {
    let s = Settings::parse(&a.set).map_err(|e| Error::Valid(vec![e]))?;
    let lim = Limits::default();
    let fa = read(&a.a)?;
    *src = Some(fa.clone());
    let la = sutro::load(&fa, &s, &lim)?;
    let fb = read(&a.b)?;
    *src = Some(fb.clone());
    let lb = sutro::load(&fb, &s, &lim)?;
    *src = None;
    let session = Session::new(la, &a.task, &s, &lim, a.seed)?;
    let relation = match classify(session.validated().program(), lb.validated.program()) {
        Reordering::Same => "B has the same ops in the same order as A".to_string(),
        Reordering::Legal => {
            "B is a legal reordering of A (its order is a topological order of A's hazard graph)".into()
        }
        Reordering::Illegal(why) => format!("B is an illegal reordering of A: {why}"),
        Reordering::NotReordering(why) => format!("B is not a reordering of A: {why}"),
    };
    let m = session.verify(&lb.validated, a.steps)?;
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
