//! `sutro diff`: two programs or traces compared under one or more metrics.

use super::*;

/// Scores one side of `sutro diff`: a trace is replayed, a program runs one step.
pub(super) fn diff_side(
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
            max_memory: a.limits.max_memory,
        };
        let session = open(&l, &a.task, a.seed, src)?;
        let mut tee = Tee(list.iter_mut().map(|x| x.as_tracer()).collect());
        session.trace(1, &mut tee)?;
        session.validated().program().name.clone()
    };
    Ok((name, list))
}

pub(super) fn diff_cmd(a: DiffArgs, src: &mut Option<SourceFile>) -> Result<(), Error> {
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
