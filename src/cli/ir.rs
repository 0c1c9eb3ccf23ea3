//! `sutro ir …`: score, run, lower, optimize and record programs in the
//! three-address IR of the placement cost model (`docs/dally.md`).

use super::{Load, load, out, read, write_atomic};
use clap::Subcommand;
use sutro::Error;
use sutro::dally::check::{CheckSpec, check};
use sutro::dally::exec::{self, Cells};
use sutro::dally::opt::{self, IrOptConfig};
use sutro::dally::{self, KINDS, Program, Score};
use sutro::json::{self as docs, IrOptimize, IrProgram, IrRun, IrScore};
use sutro::span::SourceFile;

/// The `ir` subcommands.
#[derive(Subcommand, Debug)]
pub(super) enum IrCmd {
    /// Exact placement cost of an IR program: by instruction kind, exit reads, read-distance histogram.
    #[command(after_help = "Example:\n  sutro ir score tests/fixtures/dally/naive_4x4.ir --check matmul:4 --json")]
    Score {
        /// The .ir file.
        file: String,
        /// Also prove the program computes C = A·B for all inputs: `matmul:N`.
        #[arg(long, value_name = "matmul:N")]
        check: Option<String>,
        /// Print one JSON object instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Execute an IR program on given inputs and print its outputs (comma separated).
    #[command(
        after_help = "Example:\n  sutro ir run tests/fixtures/dally/naive_4x4.ir --inputs 1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,3,5,7,9,4,6,8,10,5,7,9,11,6,8,10,12"
    )]
    Run {
        /// The .ir file.
        file: String,
        /// One integer per input address, comma separated.
        #[arg(long, value_name = "V,V,…", allow_hyphen_values = true)]
        inputs: String,
        /// Cell model: exact 64-bit integers (overflow is an error) or wrapping signed 8-bit.
        #[arg(long, value_enum, default_value = "exact")]
        cells: Cells,
        /// Print one JSON object instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Write one step of a .sutro program as v0 IR at declaration placement.
    #[command(after_help = "Example:\n  sutro ir lower programs/matmul.sutro --set n=16 -o matmul16.ir")]
    Lower {
        #[command(flatten)]
        load: Load,
        /// Output .ir file (written atomically); stdout if absent.
        #[arg(short = 'o', long = "output", value_name = "OUT.ir")]
        output: Option<String>,
    },
    /// Lower an IR program's placement cost: reallocation, staging copies, reordering; verified.
    #[command(
        after_help = "Example:\n  sutro ir optimize tests/fixtures/dally/naive_4x4.ir --objective dally --check matmul:4 -o opt.ir --json"
    )]
    Optimize {
        /// The .ir file.
        file: String,
        /// What to minimize (only `dally`, the placement cost).
        #[arg(long, default_value = "dally")]
        objective: String,
        /// Prove the result computes C = A·B (`matmul:N`) instead of testing it on random inputs.
        #[arg(long, value_name = "matmul:N")]
        check: Option<String>,
        /// Passes, comma separated, run in order: realloc, stage, reorder.
        #[arg(long, default_value = "realloc,stage,reorder")]
        passes: String,
        /// Seed of the random verification inputs.
        #[arg(long, default_value_t = 0)]
        seed: u64,
        /// Write the optimized program here (atomically) instead of to stdout.
        #[arg(short = 'o', long = "output", value_name = "OUT.ir")]
        output: Option<String>,
        /// Print one JSON object instead of the table.
        #[arg(long)]
        json: bool,
    },
    /// Record an IR program's memory accesses as a trace, so every trace metric scores it.
    #[command(
        after_help = "Example:\n  sutro ir record tests/fixtures/dally/naive_4x4.ir -o naive4.trace\n  sutro trace replay naive4.trace --metric dally,lru_stack"
    )]
    Record {
        /// The .ir file.
        file: String,
        /// Output trace file (written atomically).
        #[arg(short = 'o', long = "output", value_name = "T.trace")]
        output: String,
    },
}

/// Reads and parses an IR file, keeping its text for diagnostics.
pub(super) fn load_ir(path: &str, src: &mut Option<SourceFile>) -> Result<Program, Error> {
    let f = read(path)?;
    *src = Some(f.clone());
    Ok(dally::parse(&f.text)?)
}

fn name_of(path: &str) -> String {
    IrProgram::stem(path)
}

fn score_text(path: &str, p: &Program, s: &Score, check: Option<CheckSpec>) -> String {
    let th = sutro::analysis::text::thousands;
    let mut t = format!(
        "{}: {} instructions, {} inputs, {} outputs\n\ncost   {:>14}\n",
        name_of(path),
        p.instrs.len(),
        p.inputs.len(),
        p.outputs.len(),
        th(i128::from(s.cost))
    );
    for (k, name) in KINDS.iter().enumerate() {
        if s.count[k] > 0 {
            t.push_str(&format!(
                "  {name:<6} {:>12}  ({} instructions)\n",
                th(i128::from(s.by_kind[k])),
                th(i128::from(s.count[k]))
            ));
        }
    }
    t.push_str(&format!(
        "  {:<6} {:>12}  ({} reads)\n",
        "exit",
        th(i128::from(s.exit)),
        p.outputs.len()
    ));
    if let Some(c) = check {
        t.push_str(&format!("\ncheck  {c}: proved for all inputs\n"));
    }
    t.push_str("\nread distance   reads\n");
    for (d, c) in &s.histogram {
        t.push_str(&format!("{d:>13} {:>7}\n", th(i128::from(*c))));
    }
    t
}

pub(super) fn ir_cmd(cmd: IrCmd, src: &mut Option<SourceFile>) -> Result<(), Error> {
    match cmd {
        IrCmd::Score {
            file,
            check: spec,
            json: as_json,
        } => {
            let spec = spec.as_deref().map(CheckSpec::parse).transpose()?;
            let p = load_ir(&file, src)?;
            if let Some(c) = spec {
                check(&p, c)?;
            }
            let s = dally::score(&p);
            if as_json {
                out(&docs::pretty(&IrScore::new(&file, &p, &s, spec.map(|c| c.to_string()))));
            } else {
                out(&score_text(&file, &p, &s, spec));
            }
            Ok(())
        }
        IrCmd::Run {
            file,
            inputs,
            cells,
            json: as_json,
        } => {
            let values = exec::parse_values(&inputs)?;
            let p = load_ir(&file, src)?;
            let outs = exec::run(&p, &values, cells)?;
            if as_json {
                out(&docs::pretty(&IrRun {
                    schema: 1,
                    program: IrProgram::of(&file, &p),
                    outputs: outs,
                    cost: dally::total_cost(&p),
                }));
            } else {
                let s: Vec<String> = outs.iter().map(i64::to_string).collect();
                out(&format!("{}\n", s.join(",")));
            }
            Ok(())
        }
        IrCmd::Optimize {
            file,
            objective,
            check: spec,
            passes,
            seed,
            output,
            json: as_json,
        } => optimize_cmd(
            &file,
            (&objective, spec.as_deref(), &passes, seed),
            output.as_deref(),
            as_json,
            src,
        ),
        IrCmd::Record { file, output } => {
            let p = load_ir(&file, src)?;
            let f = src.clone().unwrap_or_else(|| SourceFile::new(&file, ""));
            let t = dally::record::record(&p, &name_of(&file), &f)?;
            write_atomic(&output, &sutro::tracefile::encode(&output, &t)?)
        }
        IrCmd::Lower { load: l, output } => {
            let loaded = load(&l, src)?;
            let text = dally::lower::lower(&loaded.validated)?.to_string();
            match output {
                Some(path) => write_atomic(&path, text.as_bytes()),
                None => {
                    out(&text);
                    Ok(())
                }
            }
        }
    }
}

fn optimize_cmd(
    file: &str,
    (objective, spec, passes, seed): (&str, Option<&str>, &str, u64),
    output: Option<&str>,
    as_json: bool,
    src: &mut Option<SourceFile>,
) -> Result<(), Error> {
    if objective != "dally" {
        return Err(Error::Usage(format!(
            "--objective: ir optimize minimizes `dally` only, found `{objective}`"
        )));
    }
    let cfg = IrOptConfig {
        check: spec.map(CheckSpec::parse).transpose()?,
        passes: passes
            .split(',')
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty())
            .collect(),
        seed,
    };
    let p = load_ir(file, src)?;
    let r = opt::optimize(&p, &cfg)?;
    let text = r.program.to_string();
    if let Some(path) = output {
        write_atomic(path, text.as_bytes())?;
    }
    let improvement = r.improvement();
    if as_json {
        out(&docs::pretty(&IrOptimize::new(
            file,
            &p,
            &r,
            cfg.check.map(|c| c.to_string()),
            output,
        )));
    } else if output.is_some() {
        let th = |v: u64| sutro::analysis::text::thousands(i128::from(v));
        let mut t = format!(
            "{}: dally {} -> {} ({:.1}% lower)\n",
            name_of(file),
            th(r.before),
            th(r.after),
            100.0 * improvement
        );
        for x in &r.passes {
            t.push_str(&format!(
                "  {:<8} {:>12} -> {:>12}  {} tried; {}\n",
                x.name,
                th(x.before),
                th(x.after),
                x.evaluated,
                x.note
            ));
        }
        t.push_str(&format!(
            "lower bound for the final order {} (gap {})\nverified: {}\nstop: {}\n",
            th(r.bound),
            th(r.after.saturating_sub(r.bound)),
            r.verified,
            r.stop
        ));
        out(&t);
    } else {
        out(&text);
    }
    Ok(())
}
