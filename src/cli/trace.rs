//! `sutro trace`: record, info, replay, import and export of trace files.

use super::*;

pub(super) fn trace_error(path: &str, e: codec::TraceError) -> Error {
    Error::Usage(format!("{path}: {e}"))
}

pub(super) fn read_trace(path: &str, limits: &TraceLimits) -> Result<TraceFile, Error> {
    sutro::output::note_input(path);
    let meta = std::fs::metadata(path).map_err(|e| Error::Usage(format!("cannot read `{path}`: {e}")))?;
    if meta.len() > limits.max_trace_bytes {
        return Err(trace_error(
            path,
            codec::TraceError::TooBig {
                size: meta.len(),
                limit: limits.max_trace_bytes,
            },
        ));
    }
    let bytes = std::fs::read(path).map_err(|e| Error::Usage(format!("cannot read `{path}`: {e}")))?;
    codec::decode(&bytes, limits.max_trace_bytes).map_err(|e| trace_error(path, e))
}

/// Opens a trace to stream it: size limit, a first pass over the whole-file
/// checksum, then the header — checked against the memory budget, for the
/// commands that score or expand the events (`info` lists them unchecked).
pub(super) fn open_trace(
    path: &str,
    limits: &TraceLimits,
) -> Result<sutro::trace::stream::TraceReader<std::io::BufReader<std::fs::File>>, Error> {
    sutro::output::note_input(path);
    let open = || std::fs::File::open(path).map_err(|e| Error::Usage(format!("cannot read `{path}`: {e}")));
    let size = open()?.metadata().map_or(0, |m| m.len());
    if size > limits.max_trace_bytes {
        return Err(trace_error(
            path,
            codec::TraceError::TooBig {
                size,
                limit: limits.max_trace_bytes,
            },
        ));
    }
    sutro::trace::stream::verify_file(std::io::BufReader::new(open()?), limits.max_trace_bytes)
        .map_err(|e| trace_error(path, e))?;
    let r =
        sutro::trace::stream::TraceReader::new(std::io::BufReader::new(open()?)).map_err(|e| trace_error(path, e))?;
    let budget = sutro::valid::memory::effective(limits.max_memory);
    r.header
        .check_memory(budget)
        .map_err(|e| Error::Usage(format!("{path}: {e}")))?;
    Ok(r)
}

pub(super) fn trace_cmd(cmd: TraceCmd, src: &mut Option<SourceFile>) -> Result<(), Error> {
    match cmd {
        TraceCmd::Record {
            load: l,
            output,
            steps,
            task: tname,
            seed,
            max_steps,
        } => {
            if steps == 0 || steps > max_steps {
                return Err(Error::Usage(format!(
                    "--steps must be between 1 and {max_steps} (--max-steps), got {steps}"
                )));
            }
            let loaded = load(&l, src)?;
            let s = settings(&l)?;
            let (t, cfg) = sutro::task_for(&tname, &loaded.validated, &s)?;
            let v = &loaded.validated;
            let meta = TraceMeta {
                seed,
                steps,
                task: tname,
                dims: v.dims().iter().map(|(k, d)| (k.clone(), *d)).collect(),
                hypers: v.hypers().iter().map(|(k, h)| (k.clone(), *h)).collect(),
                source_hash: format!("{:016x}", sutro::trace::fnv1a(loaded.source.text.as_bytes())),
            };
            // Chunks are written as the steps run: memory does not grow with --steps.
            let o = sutro::output::Output::create(&output).map_err(|e| Error::Usage(e.to_string()))?;
            let mut w = sutro::trace::stream::TraceWriter::new(std::io::BufWriter::new(o), meta);
            sutro::trace_steps(&loaded, t.as_ref(), &cfg, seed, steps, &mut w)?;
            let o = w.finish().map_err(|e| trace_error(&output, e))?;
            finish_output(&output, o)
        }
        TraceCmd::Info {
            file,
            json: as_json,
            limits,
        } => {
            let t = read_trace(&file, &limits)?;
            let accesses: u64 = t.events.iter().map(|e| e.len).sum();
            let size = std::fs::metadata(&file).map(|m| m.len()).unwrap_or(0);
            let steps = t.events.iter().map(|e| u64::from(e.step) + 1).max().unwrap_or(0);
            if as_json {
                let v = json!({
                    "schema": 1,
                    "program": {"name": t.header.program, "hash": t.header.hash},
                    "format_version": codec::VERSION,
                    "seed": t.meta.seed,
                    "task": t.meta.task,
                    "steps": steps,
                    "events": t.events.len(),
                    "element_accesses": accesses,
                    "bytes": accesses * 4,
                    "file_bytes": size,
                    "dims": t.meta.dims.iter().map(|(k, v)| (k.clone(), json!(v))).collect::<serde_json::Map<_, _>>(),
                    "hypers": t.meta.hypers.iter().map(|(k, v)| (k.clone(), json!(v))).collect::<serde_json::Map<_, _>>(),
                    "buffers": t.header.buffers,
                    "ops": t.header.ops,
                });
                out(&format!("{}\n", serde_json::to_string_pretty(&v).unwrap_or_default()));
            } else {
                let mut s = format!(
                    "trace {file} (format version {})\nprogram {} (hash {}), task {}, seed {}\nsteps {steps}, events {}, element accesses {}, bytes {} (file {size} bytes)\n",
                    codec::VERSION,
                    t.header.program,
                    t.header.hash,
                    t.meta.task,
                    t.meta.seed,
                    t.events.len(),
                    text::thousands(i128::from(accesses)),
                    text::thousands(i128::from(accesses) * 4),
                );
                let kv = |v: Vec<String>| v.join(", ");
                s.push_str(&format!(
                    "dims: {}\n",
                    kv(t.meta.dims.iter().map(|(k, v)| format!("{k}={v}")).collect())
                ));
                s.push_str(&format!(
                    "hypers: {}\n",
                    kv(t.meta.hypers.iter().map(|(k, v)| format!("{k}={v}")).collect())
                ));
                s.push_str(&format!(
                    "\n{:<12} {:<7} {:>10} {:>10}  shape\n",
                    "buffer", "role", "offset", "size"
                ));
                for b in &t.header.buffers {
                    s.push_str(&format!(
                        "{:<12} {:<7} {:>10} {:>10}  {:?}\n",
                        b.name,
                        b.role,
                        b.offset,
                        b.size(),
                        b.shape
                    ));
                }
                s.push_str(&format!("\n{:<4} {:<14} line\n", "op", "name"));
                for (i, o) in t.header.ops.iter().enumerate() {
                    s.push_str(&format!("{i:<4} {:<14} {}\n", o.name, o.line));
                }
                out(&s);
            }
            Ok(())
        }
        TraceCmd::Replay {
            file,
            metric,
            opts,
            energy_config,
            events,
            json: as_json,
            plot,
            limits,
        } => {
            let r = open_trace(&file, &limits)?;
            let header = r.header.clone();
            let mut list = analyzers(&metric, &opts, energy_config.as_deref(), events)?;
            let mut lru = analysis::LruStack::new(analysis::StackOptions::default());
            {
                let mut tracers: Vec<&mut dyn sutro::trace::Tracer> = list.iter_mut().map(|a| a.as_tracer()).collect();
                if plot.is_some() {
                    tracers.push(&mut lru);
                }
                // One pass over the file feeds every metric.
                r.replay(&mut Tee(tracers)).map_err(|e| trace_error(&file, e))?;
            }
            let t = TraceFile {
                header,
                ..TraceFile::default()
            };
            if let Some(path) = &plot {
                let title = format!("{}: miss-ratio curve", t.header.program);
                let svg = sutro::plot::miss_ratio(
                    &title,
                    &[(&t.header.program, &lru.report().mrc)],
                    &sutro::report::default_markers(),
                )
                .map_err(|e| Error::Usage(e.to_string()))?;
                write_atomic(path, svg.as_bytes())?;
            }
            print_reports(&list, &t.header.program, &t.header.hash, as_json);
            Ok(())
        }
        TraceCmd::Import { file, output, limits } => {
            let budget = sutro::valid::memory::effective(limits.max_memory);
            let size = std::fs::metadata(&file).map_or(0, |m| m.len());
            sutro::valid::memory::fits(&format!("the CSV file `{file}`"), size, budget / 2)
                .map_err(|e| Error::Usage(e.to_string()))?;
            let text = read_text(&file)?;
            let t = sutro::trace::export::import_csv(&text, budget).map_err(|m| Error::Usage(format!("{file}:{m}")))?;
            let bytes = codec::encode(&t).map_err(|e| trace_error(&output, e))?;
            write_atomic(&output, &bytes)
        }
        TraceCmd::Export {
            file,
            format,
            output,
            limits,
        } => {
            let r = open_trace(&file, &limits)?;
            let format = match format {
                ExportFormat::Csv => sutro::trace::export::Format::Csv,
                ExportFormat::Din => sutro::trace::export::Format::Din,
                ExportFormat::Perfetto => sutro::trace::export::Format::Perfetto,
            };
            let o = sutro::output::Output::create(&output).map_err(|e| Error::Usage(e.to_string()))?;
            let mut x = sutro::trace::export::Exporter::new(std::io::BufWriter::new(o), format);
            r.replay(&mut x).map_err(|e| trace_error(&file, e))?;
            let o = x
                .finish()
                .map_err(|e| Error::Usage(format!("cannot write `{output}`: {e}")))?;
            finish_output(&output, o)
        }
    }
}

/// Flushes a buffered output and puts it in place.
fn finish_output(path: &str, o: std::io::BufWriter<sutro::output::Output>) -> Result<(), Error> {
    let o = o
        .into_inner()
        .map_err(|e| Error::Usage(format!("cannot write `{path}`: {}", e.error())))?;
    o.finish().map_err(|e| Error::Usage(e.to_string()))
}
