//! `sutro optimize` and `sutro verify`.

use super::*;
use sutro::opt::{self, OptConfig};

pub(super) fn optimize_cmd(a: OptimizeArgs, src: &mut Option<SourceFile>) -> Result<(), Error> {
    let session = open(&a.load, &a.task, src)?;
    let opt_cfg = OptConfig {
        objective: a.objective,
        passes: a.passes.clone(),
        limits: opt::reorder::Limits {
            budget: a.budget,
            beam_width: a.beam_width,
            ..Default::default()
        },
    };
    let res = session.optimize(&opt_cfg, a.steps)?;
    if let Some(path) = &a.output {
        write_atomic(path, res.text.as_bytes())?;
    }
    let summary = if a.json {
        sutro::json::pretty(&sutro::json::Optimize {
            schema: 1,
            report: &res.report,
            improvement: res.report.improvement(),
            verified: true,
            output: a.output.clone(),
        })
    } else {
        opt::tables::tables(session.validated(), &res.validated, &res.report, &a.objective)
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
    let la = load_file(&a.a, &a.program, src)?;
    let lb = load_file(&a.b, &a.program, src)?;
    // Errors render against the program they are about: A's, or B's when they say so.
    let a_source = la.source.clone();
    *src = Some(a_source.clone());
    let session = Session::new(
        la,
        a.task.task,
        &a.program.settings()?,
        &a.program.limits(),
        a.task.seed,
    )?;
    let relation = session.relation(&lb.validated);
    let m = session.verify(&lb.validated, a.steps).inspect_err(|e| {
        *src = Some(if e.is_about_b() { lb.source.clone() } else { a_source });
    })?;
    out(&format!("{relation}\n"));
    match m {
        None => {
            out(&format!(
                "identical: every param and state bit matches after each of {} steps (seed {})\n",
                a.steps, a.task.seed
            ));
            Ok(())
        }
        Some(m) => Err(Error::Opt(opt::OptError::Differs(m.describe()))),
    }
}
