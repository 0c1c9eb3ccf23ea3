//! `sutro trace`: record, info, replay, import and export of trace files.

use super::*;
use sutro::analysis::{LruStack, Metric, StackOptions};
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
            open(&l, &task, src)?.record_to(steps, &output)
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
        } => {
            let r = tracefile::open(&file, limits.max_trace_bytes, limits.memory())?;
            let header = r.header.clone();
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
            let t = sutro::trace::codec::TraceFile {
                header,
                ..Default::default()
            };
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
        TraceCmd::Import { file, output, limits } => {
            let t = tracefile::import_csv(&file, limits.memory())?;
            write_atomic(&output, &tracefile::encode(&output, &t)?)
        }
        TraceCmd::Export {
            file,
            format,
            output,
            limits,
        } => {
            let r = tracefile::open(&file, limits.max_trace_bytes, limits.memory())?;
            tracefile::export_to(&file, r, format.into(), &output)
        }
    }
}
