//! `sutro trace`: record, info, replay, import and export of trace files.

use super::*;

pub(super) fn trace_error(path: &str, e: codec::TraceError) -> Error {
    Error::Usage(format!("{path}: {e}"))
}

pub(super) fn read_trace(path: &str, limits: &TraceLimits) -> Result<TraceFile, Error> {
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
            let session = open(&l, &tname, seed, src)?;
            let file = session.record(steps)?;
            let bytes = codec::encode(&file).map_err(|e| trace_error(&output, e))?;
            write_atomic(&output, &bytes)
        }
        TraceCmd::Info {
            file,
            json: as_json,
            limits,
        } => {
            let t = read_trace(&file, &limits)?;
            let accesses: u64 = t.events.iter().map(|e| e.len).sum();
            let size = std::fs::metadata(&file).map(|m| m.len()).unwrap_or(0);
            let steps = t.events.iter().map(|e| e.step + 1).max().unwrap_or(0);
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
            let t = read_trace(&file, &limits)?;
            let mut list = analyzers(&metric, &opts, energy_config.as_deref(), events)?;
            let mut lru = analysis::LruStack::new(analysis::StackOptions::default());
            {
                let mut tracers: Vec<&mut dyn sutro::trace::Tracer> = list.iter_mut().map(|a| a.as_tracer()).collect();
                if plot.is_some() {
                    tracers.push(&mut lru);
                }
                sutro::trace::replay(&t.header, &t.events, &mut Tee(tracers));
            }
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
        TraceCmd::Import { file, output } => {
            let text =
                std::fs::read_to_string(&file).map_err(|e| Error::Usage(format!("cannot read `{file}`: {e}")))?;
            let t = sutro::trace::export::import_csv(&text).map_err(|m| Error::Usage(format!("{file}:{m}")))?;
            let bytes = codec::encode(&t).map_err(|e| trace_error(&output, e))?;
            write_atomic(&output, &bytes)
        }
        TraceCmd::Export {
            file,
            format,
            output,
            limits,
        } => {
            let t = read_trace(&file, &limits)?;
            let text = match format {
                ExportFormat::Csv => sutro::trace::export::csv(&t),
                ExportFormat::Din => sutro::trace::export::din(&t),
                ExportFormat::Perfetto => sutro::trace::export::perfetto(&t),
            };
            if output == "-" {
                out(&text);
                Ok(())
            } else {
                write_atomic(&output, text.as_bytes())
            }
        }
    }
}
