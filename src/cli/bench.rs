//! `sutro bench`: run the board and write its JSON, Markdown and SVG.

use super::*;

/// The programs a list of paths names: files as given, directories as their
/// top-level `*.sutro` files sorted by name.
pub(super) fn bench_files(paths: &[String]) -> Result<Vec<SourceFile>, Error> {
    let mut files = Vec::new();
    for p in paths {
        let path = std::path::Path::new(p);
        if path.is_dir() {
            let entries =
                std::fs::read_dir(path).map_err(|e| Error::Usage(format!("cannot read directory `{p}`: {e}")))?;
            let mut names: Vec<std::path::PathBuf> = entries
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|f| f.is_file() && f.extension().is_some_and(|x| x == "sutro"))
                .collect();
            names.sort();
            if names.is_empty() {
                return Err(Error::Usage(format!("directory `{p}` has no .sutro file")));
            }
            for f in names {
                files.push(read(&f.to_string_lossy())?);
            }
        } else {
            files.push(read(p)?);
        }
    }
    Ok(files)
}

pub(super) fn bench_cmd(a: BenchArgs, src: &mut Option<SourceFile>) -> Result<(), Error> {
    if a.jobs == Some(0) {
        return Err(Error::Usage("--jobs must be at least 1".into()));
    }
    if a.epochs == 0 {
        return Err(Error::Usage("--epochs must be at least 1".into()));
    }
    let jobs = a
        .jobs
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, std::num::NonZero::get));
    let cfg = sutro::bench::BenchConfig {
        task: a.task.to_string(),
        settings: a.program.settings()?,
        seeds: a.seeds.0.clone(),
        epochs: a.epochs,
        count_eval: a.count_eval,
        jobs,
        reorder_budget: a.reorder_budget,
        limits: a.program.limits(),
    };
    let files = bench_files(&a.programs)?;
    let board = sutro::bench::run(&files, &cfg, src)?;
    // A diverged run does not stop the board; say which program and seed, and where.
    for e in board
        .rows
        .iter()
        .flat_map(|r| r.runs.iter().filter_map(|x| x.error.as_deref()))
    {
        let _ = writeln!(std::io::stderr(), "warning: {e}");
    }
    for k in &board.skipped {
        let _ = writeln!(
            std::io::stderr(),
            "warning: `{}` is not on the board: {}",
            k.program,
            k.reason
        );
    }
    // The command as typed, minus the binary's path, heads the Markdown.
    let command = std::iter::once("sutro".to_string())
        .chain(std::env::args().skip(1))
        .collect::<Vec<_>>()
        .join(" ");
    let md = sutro::bench::render::markdown(&board, &command, &a.baseline, a.reorder_budget);
    if let Some(path) = &a.md {
        write_atomic(path, md.as_bytes())?;
    }
    if let Some(path) = &a.svg {
        let chart = sutro::bench::render::svg(&board, sutro::analysis::Metric::EnergyPj);
        write_atomic(path, chart.as_bytes())?;
    }
    if a.json {
        for k in &board.skipped {
            let _ = writeln!(std::io::stderr(), "skipped {}: {}", k.program, k.reason);
        }
        out(&sutro::json::pretty(&board.rows_doc()));
    } else if a.md.is_none() {
        out(&md);
    } else {
        out(&format!(
            "wrote {} ({} programs, {} skipped)\n",
            a.md.as_deref().unwrap_or_default(),
            board.rows.len(),
            board.skipped.len()
        ));
    }
    Ok(())
}
