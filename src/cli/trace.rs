//! `sutro trace`: record, info, replay, import and export of trace files.

use super::*;
use sutro::analysis::{LruStack, Metric, StackOptions};
use sutro::trace::Tracer;
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
            let info = tracefile::info(&file, limits.max_trace_bytes)?;
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
            let extra: Option<&mut dyn Tracer> = if plot.is_some() { Some(&mut lru) } else { None };
            // One pass over the file feeds every metric.
            tracefile::replay_scored(&file, r, &mut list, extra, limits.memory())?;
            if let Some(path) = &plot {
                let title = format!("{}: miss-ratio curve", header.program);
                let svg = sutro::plot::miss_ratio(
                    &title,
                    &[(&header.program, &lru.report().mrc)],
                    &sutro::report::default_markers(),
                )
                .map_err(plot_error)?;
                write_atomic(path, svg.as_bytes())?;
            }
            print_reports(&list, &header, json);
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
