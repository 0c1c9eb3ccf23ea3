//! `sutro ir …`: score, run, lower, optimize and record programs in the
//! three-address IR of the placement cost model (`docs/dally.md`).

use super::{out, read};
use clap::Subcommand;
use serde_json::{Value, json};
use sutro::Error;
use sutro::dally::check::{CheckSpec, check};
use sutro::dally::exec::{self, Cells};
use sutro::dally::{self, KINDS, Program, Score};
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
}

/// Reads and parses an IR file, keeping its text for diagnostics.
pub(super) fn load_ir(path: &str, src: &mut Option<SourceFile>) -> Result<Program, Error> {
    let f = read(path)?;
    *src = Some(f.clone());
    Ok(dally::parse(&f.text)?)
}

fn name_of(path: &str) -> String {
    std::path::Path::new(path)
        .file_stem()
        .map_or_else(|| path.to_string(), |s| s.to_string_lossy().into_owned())
}

/// The `program` object of the IR commands' JSON.
pub(super) fn program_json(path: &str, p: &Program) -> Value {
    json!({
        "name": name_of(path),
        "path": path,
        "instructions": p.instrs.len(),
        "inputs": p.inputs.len(),
        "outputs": p.outputs.len(),
    })
}

/// `{"mul": INT, …}` over the kinds the program uses.
pub(super) fn by_kind_json(s: &Score) -> Value {
    let mut m = serde_json::Map::new();
    for (k, name) in KINDS.iter().enumerate() {
        if s.count[k] > 0 {
            m.insert((*name).to_string(), json!(s.by_kind[k]));
        }
    }
    Value::Object(m)
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
                let v = json!({
                    "schema": 1,
                    "program": program_json(&file, &p),
                    "cost": s.cost,
                    "exit": s.exit,
                    "by_kind": by_kind_json(&s),
                    "histogram": s.histogram,
                    "check": spec.map(|c| c.to_string()),
                });
                out(&format!("{}\n", serde_json::to_string_pretty(&v).unwrap_or_default()));
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
                let v = json!({"schema": 1, "program": program_json(&file, &p), "outputs": outs,
                    "cost": dally::total_cost(&p)});
                out(&format!("{}\n", serde_json::to_string_pretty(&v).unwrap_or_default()));
            } else {
                let s: Vec<String> = outs.iter().map(i64::to_string).collect();
                out(&format!("{}\n", s.join(",")));
            }
            Ok(())
        }
    }
}
