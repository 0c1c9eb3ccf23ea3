//! `sutro report`: the self-contained HTML page and its charts.

use super::*;

/// `sutro report`: score, train (and optionally optimize) a program, then write
/// one self-contained HTML page, and with `--svg-dir` each chart as a file.
pub(super) fn report_cmd(a: ReportArgs, src: &mut Option<SourceFile>) -> Result<(), Error> {
    use sutro::report;
    let session = open(&a.load, &a.task, a.seed, src)?;
    let loaded = session.loaded();
    let cfg = session.task_config();
    let run = RunOptions {
        epochs: a.epochs,
        ..RunOptions::default()
    };
    let first = if a.optimize || a.compare.is_some() {
        "before"
    } else {
        ""
    };
    let mut snaps = vec![report::snapshot(first, &session, &run)?];
    if a.optimize {
        let opt_cfg = OptConfig {
            objective: Objective::parse("ard_write")?,
            passes: Pass::parse_list("reorder,fuse")?,
            limits: opt::reorder::Limits {
                budget: 1_000_000,
                beam_width: 64,
            },
        };
        let res = session.optimize(&opt_cfg, 100)?;
        let after = sutro::load(
            &SourceFile::new(&loaded.source.name, res.text),
            session.settings(),
            session.limits(),
        )?;
        snaps.push(report::snapshot("after", &session.with_program(after)?, &run)?);
    }
    if let Some(other) = &a.compare {
        let f = read(other)?;
        *src = Some(f.clone());
        let after = sutro::load(&f, session.settings(), session.limits())?;
        snaps.push(report::snapshot("after", &session.with_program(after)?, &run)?);
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
        task: cfg,
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
            "program": program_json(loaded),
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
