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

/// The command as typed, minus the binary's path (it heads the Markdown).
fn typed_command() -> Vec<String> {
    std::iter::once("sutro".to_string())
        .chain(std::env::args().skip(1))
        .collect()
}

/// A shard's single-machine command: the typed one without `--shard I/N` and
/// `--jobs N` (which do not change a result, and may differ between shards).
fn without_shard(args: &[String]) -> String {
    let mut out = Vec::new();
    let mut skip = false;
    for a in args {
        if skip {
            skip = false;
        } else if a == "--shard" || a == "--jobs" {
            skip = true;
        } else if !a.starts_with("--shard=") && !a.starts_with("--jobs=") {
            out.push(a.clone());
        }
    }
    out.join(" ")
}

fn write_board(board: &sutro::bench::Board, command: &str, o: &BoardOutputs) -> Result<(), Error> {
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
    let md = sutro::bench::render::markdown(board, command, &o.baseline, board.spec.reorder_budget);
    if let Some(path) = &o.md {
        write_atomic(path, md.as_bytes())?;
    }
    if let Some(path) = &o.svg {
        let metric = if board.spec.scale.is_empty() {
            sutro::analysis::Metric::EnergyPj
        } else {
            sutro::analysis::Metric::ArdWrite
        };
        let chart = sutro::bench::render::svg(board, metric);
        write_atomic(path, chart.as_bytes())?;
    }
    if o.json {
        for k in &board.skipped {
            let _ = writeln!(std::io::stderr(), "skipped {}: {}", k.program, k.reason);
        }
        out(&sutro::json::pretty(&board.rows_doc()));
    } else if o.md.is_none() {
        out(&md);
    } else {
        out(&format!(
            "wrote {} ({} rows, {} skipped)\n",
            o.md.as_deref().unwrap_or_default(),
            board.rows.len(),
            board.skipped.len()
        ));
    }
    Ok(())
}

/// `bench merge`: the shards' board, headed by their single-machine command
/// with this command's output flags appended (as a single-machine run typed
/// them), so the Markdown is the same bytes.
fn merge_cmd(m: MergeArgs) -> Result<(), Error> {
    let mut docs = Vec::new();
    for path in &m.files {
        let meta = std::fs::metadata(path).map_err(|e| Error::Usage(format!("cannot read `{path}`: {e}")))?;
        if meta.len() > sutro::valid::Limits::default().max_memory {
            return Err(Error::Usage(format!("`{path}` is larger than the memory budget")));
        }
        let text = std::fs::read_to_string(path).map_err(|e| Error::Usage(format!("cannot read `{path}`: {e}")))?;
        docs.push((path.clone(), sutro::bench::shard::parse_shard_doc(path, &text)?));
    }
    let (board, command) = sutro::bench::shard::merge(&docs)?;
    let typed = typed_command();
    let after: Vec<String> = typed
        .iter()
        .skip_while(|a| a.as_str() != "merge")
        .skip(1)
        .filter(|a| !m.files.contains(a))
        .cloned()
        .collect();
    let command = std::iter::once(command).chain(after).collect::<Vec<_>>().join(" ");
    write_board(&board, &command, &m.out)
}

pub(super) fn bench_cmd(a: BenchArgs, src: &mut Option<SourceFile>) -> Result<(), Error> {
    if let Some(BenchCmd::Merge(m)) = a.cmd {
        return merge_cmd(m);
    }
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
        eval_every: a.eval_every,
        group_by_task: a.group_by_task,
        curriculum: a.curriculum.map(|c| c.0).unwrap_or_default(),
        scale: a.scale.map(|c| c.0).unwrap_or_default(),
    };
    let files = bench_files(&a.programs)?;
    let typed = typed_command();
    if let Some(shard) = a.shard {
        if a.out.md.is_some() || a.out.svg.is_some() {
            return Err(Error::Usage(
                "--shard prints its JSON results; --md and --svg belong to `bench merge`".into(),
            ));
        }
        let doc = sutro::bench::shard::run_shard(&files, &cfg, src, shard, &without_shard(&typed))?;
        out(&sutro::json::pretty(&doc));
        return Ok(());
    }
    let board = sutro::bench::run(&files, &cfg, src)?;
    write_board(&board, &typed.join(" "), &a.out)
}
