//! `sutro report`: the self-contained HTML page and its charts.

use super::*;
use sutro::opt::OptConfig;
use sutro::report;
use sutro::train::RunOptions;

/// `sutro report`: score, train (and optionally optimize) a program, then write
/// one self-contained HTML page, and with `--svg-dir` each chart as a file.
pub(super) fn report_cmd(a: ReportArgs, src: &mut Option<SourceFile>) -> Result<(), Error> {
    let session = open(&a.load, &a.task, src)?;
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
        let res = session.optimize(&OptConfig::default(), 100)?;
        let source = SourceFile::new(&session.loaded().source.name, res.text);
        let after = sutro::load(&source, session.settings(), session.limits())?;
        snaps.push(report::snapshot("after", &session.with_program(after)?, &run)?);
    }
    if let Some(other) = &a.compare {
        let after = load_file(other, &a.load.program, src)?;
        snaps.push(report::snapshot("after", &session.with_program(after)?, &run)?);
    }
    let charts = report::charts(&snaps).map_err(plot_error)?;
    let mut command = format!("sutro report {}", a.load.file);
    for kv in &a.load.program.set {
        command.push_str(&format!(" --set {kv}"));
    }
    command.push_str(&format!(
        " --task {} --seed {} --epochs {}",
        a.task.task, a.task.seed, a.epochs
    ));
    if a.optimize {
        command.push_str(" --optimize");
    }
    if let Some(other) = &a.compare {
        command.push_str(&format!(" --compare {other}"));
    }
    let page = report::Page {
        command: &command,
        task: session.task_config(),
        seed: a.task.seed,
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
        out(&sutro::json::pretty(&sutro::json::Report {
            schema: 1,
            program: sutro::json::ProgramId::of(session.header()),
            output: a.output,
            optimized: a.optimize,
            compared: a.compare,
            charts: charts
                .iter()
                .map(|c| sutro::json::ChartRef {
                    id: c.id,
                    title: c.title.clone(),
                })
                .collect(),
            svg_files: files,
        }));
    } else {
        out(&format!("wrote {} ({} charts)\n", a.output, charts.len()));
    }
    Ok(())
}
