//! `sutro trace`: record, info, replay, import and export of trace files.

use super::*;
use sutro::analysis::{LruStack, Metric, StackOptions};
use sutro::trace::export::Exporter;
use sutro::trace::stream::TraceWriter;
use sutro::trace::{Tee, Tracer};
use sutro::tracefile;

pub(super) fn trace_cmd(cmd: TraceCmd, src: &mut Option<SourceFile>) -> Result<(), Error> {
    match cmd {
        TraceCmd::Record {
            load: l,
            task,
            output,
            steps,
            max_steps,
        } => {
            if steps == 0 || steps > max_steps {
                return Err(Error::Usage(format!(
                    "--steps must be between 1 and {max_steps} (--max-steps), got {steps}"
                )));
            }
            // Chunks are written as the steps run: memory does not grow with --steps.
            let session = open(&l, &task, src)?;
            let o = sutro::output::Output::create(&output).map_err(|e| Error::Usage(e.to_string()))?;
            let mut w = TraceWriter::new(std::io::BufWriter::new(o), session.record_meta(steps));
            session.trace(u64::from(steps), &mut w)?;
            let o = w
                .finish()
                .map_err(|e| Error::Usage(format!("cannot write `{output}`: {e}")))?;
            finish_output(&output, o)
        }
        TraceCmd::Info { file, json, limits } => {
            let t = tracefile::read(&file, limits.max_trace_bytes)?;
            let info = tracefile::info(&file, &t);
            out(&if json { sutro::json::pretty(&info) } else { info.text() });
            Ok(())
        }
        TraceCmd::Replay {
            file,
            metrics,
            events,
            json,
            plot,
            limits,
            memory,
        } => {
            let r = tracefile::open(&file, limits.max_trace_bytes, memory.budget())?;
            let t = sutro::trace::codec::TraceFile {
                header: r.header.clone(),
                ..Default::default()
            };
            let mut list = analyzers(&metrics, &[Metric::ArdWrite], events)?;
            let mut lru = LruStack::new(StackOptions::default());
            {
                let mut tracers: Vec<&mut dyn Tracer> = list.iter_mut().map(|a| a.as_tracer()).collect();
                if plot.is_some() {
                    tracers.push(&mut lru);
                }
                // One pass over the file feeds every metric.
                tracefile::replay(&file, r, &mut Tee(tracers))?;
            }
            if let Some(path) = &plot {
                let title = format!("{}: miss-ratio curve", t.header.program);
                let svg = sutro::plot::miss_ratio(
                    &title,
                    &[(&t.header.program, &lru.report().mrc)],
                    &sutro::report::default_markers(),
                )
                .map_err(plot_error)?;
                write_atomic(path, svg.as_bytes())?;
            }
            print_reports(&list, &t.header, json);
            Ok(())
        }
        TraceCmd::Import { file, output, memory } => {
            let t = tracefile::import_csv(&file, memory.budget())?;
            write_atomic(&output, &tracefile::encode(&output, &t)?)
        }
        TraceCmd::Export {
            file,
            format,
            output,
            limits,
            memory,
        } => {
            let r = tracefile::open(&file, limits.max_trace_bytes, memory.budget())?;
            let o = sutro::output::Output::create(&output).map_err(|e| Error::Usage(e.to_string()))?;
            let mut x = Exporter::new(std::io::BufWriter::new(o), format.into());
            tracefile::replay(&file, r, &mut x)?;
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
