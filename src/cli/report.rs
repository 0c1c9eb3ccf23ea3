//! `sutro report`: the self-contained HTML page and its charts.

use super::*;

/// `sutro report`: score, train (and optionally optimize) a program, then write
/// one self-contained HTML page, and with `--svg-dir` each chart as a file.
pub(super) fn report_cmd(a: ReportArgs, src: &mut Option<SourceFile>) -> Result<(), Error> {
    use sutro::report;
    let loaded = load(&a.load, src)?;
    let s = settings(&a.load)?;
    let (t, cfg) = sutro::task_for(&a.task, &loaded.validated, &s)?;
    let run = RunOptions {
        epochs: a.epochs,
        ..RunOptions::default()
    };
    let first = if a.optimize || a.compare.is_some() {
        "before"
    } else {
        ""
    };
    let mut snaps = vec![report::snapshot(first, &loaded, t.as_ref(), &cfg, a.seed, &run)?];
    if a.optimize {
        let opt_cfg = OptConfig {
            objective: Objective::parse("ard_write")?,
            passes: Pass::parse_list("reorder,fuse")?,
            limits: opt::reorder::Limits {
                budget: 1_000_000,
                beam_width: 64,
            },
        };
        let res = sutro::optimize(&loaded, &s, &limits(&a.load), t.as_ref(), &cfg, a.seed, 100, &opt_cfg)?;
        let after = sutro::load(&SourceFile::new(&loaded.source.name, res.text), &s, &limits(&a.load))?;
        snaps.push(report::snapshot("after", &after, t.as_ref(), &cfg, a.seed, &run)?);
    }
    if let Some(other) = &a.compare {
        let f = read(other)?;
        *src = Some(f.clone());
        let after = sutro::load(&f, &s, &limits(&a.load))?;
        let (t2, cfg2) = sutro::task_for(&a.task, &after.validated, &s)?;
        snaps.push(report::snapshot("after", &after, t2.as_ref(), &cfg2, a.seed, &run)?);
    }
    let charts = report::charts(&snaps).map_err(|e| Error::Usage(e.to_string()))?;
    let mut command = format!("sutro report {}", a.load.file);
    for kv in &a.load.set {
        command.push_str(&format!(" --set {kv}"));
    }
    command.push_str(&format!(" --task {} --seed {} --epochs {}", a.task, a.seed, a.epochs));
    if a.optimize {
        command.push_str(" --optimize");
    }
    if let Some(other) = &a.compare {
        command.push_str(&format!(" --compare {other}"));
    }
    let page = report::Page {
        command: &command,
        task: &cfg,
        seed: a.seed,
    };
    write_atomic(&a.output, report::html(&snaps, &charts, &page).as_bytes())?;
    let mut files = Vec::new();
    if let Some(dir) = &a.svg_dir {
        std::fs::create_dir_all(dir).map_err(|e| Error::Usage(format!("cannot create `{dir}`: {e}")))?;
        for c in &charts {
            let path = std::path::Path::new(dir).join(format!("{}.svg", c.id));
            let path = path.to_string_lossy().into_owned();
            write_atomic(&path, c.svg.as_bytes())?;
            files.push(path);
        }
    }
    if a.json {
        let v = json!({
            "schema": 1,
            "program": program_json(&loaded),
            "output": a.output,
            "optimized": a.optimize,
            "compared": a.compare,
            "charts": charts.iter().map(|c| json!({"id": c.id, "title": c.title})).collect::<Vec<_>>(),
            "svg_files": files,
        });
        out(&format!("{}\n", serde_json::to_string_pretty(&v).unwrap_or_default()));
    } else {
        out(&format!("wrote {} ({} charts)\n", a.output, charts.len()));
    }
    Ok(())
}
