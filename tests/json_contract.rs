//! The JSON contract of `docs/json.md`: every command that takes `--json` is
//! run here, its output parses as one JSON object with `"schema": 1`, and it
//! carries every key its section of the document lists. The list of commands
//! with `--json` is read from `--help`, so a new one fails until it is covered.

#![allow(clippy::unwrap_used, clippy::expect_used)] // Test code: a failed unwrap is a failed test.

use serde_json::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn sutro(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_sutro"))
        .args(args)
        .current_dir(root())
        .output()
        .unwrap()
}

fn text(args: &[&str]) -> String {
    String::from_utf8(sutro(args).stdout).unwrap()
}

/// The commands listed by `help` (with `trace` expanded into `trace SUB`).
fn commands() -> Vec<String> {
    let list = |args: &[&str]| -> Vec<String> {
        let t = text(args);
        t.split("Commands:")
            .nth(1)
            .unwrap_or("")
            .split("Options:")
            .next()
            .unwrap_or("")
            .lines()
            .filter_map(|l| l.split_whitespace().next().map(str::to_string))
            .filter(|c| c != "help")
            .collect()
    };
    let mut out = Vec::new();
    for c in list(&["help"]) {
        if c == "trace" || c == "ir" {
            out.extend(list(&[&c, "help"]).into_iter().map(|s| format!("{c} {s}")));
        } else {
            out.push(c);
        }
    }
    out
}

/// Documented keys per command: the backticked names in the first column of the
/// tables of each `## \`sutro CMD … --json\`` section (before any `###`).
fn documented() -> BTreeMap<String, Vec<String>> {
    let doc = std::fs::read_to_string(root().join("docs/json.md")).unwrap();
    let mut out: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut current: Option<String> = None;
    for line in doc.lines() {
        if let Some(h) = line.strip_prefix("## `sutro ") {
            let words: Vec<&str> = h.split_whitespace().collect();
            let cmd = if matches!(words.first(), Some(&"trace" | &"ir")) {
                format!("{} {}", words[0], words.get(1).unwrap_or(&""))
            } else {
                words.first().unwrap_or(&"").to_string()
            };
            out.entry(cmd.clone()).or_default();
            current = Some(cmd);
        } else if line.starts_with("### ") || line.starts_with("## ") {
            current = None;
        } else if let (Some(cmd), Some(row)) = (&current, line.strip_prefix("| `")) {
            let first = row.split(" |").next().unwrap_or("");
            let keys = first
                .split('`')
                .enumerate()
                .filter(|(i, _)| i % 2 == 0)
                .map(|(_, k)| k.trim());
            out.get_mut(cmd).unwrap().extend(
                keys.filter(|k| !k.is_empty() && !k.starts_with(','))
                    .map(str::to_string),
            );
        }
    }
    out
}

fn temp(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("sutro-json-{}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    d.join(name)
}

/// An IR program for the `ir` commands, and inputs for it (A = 1..16, B = 1..16).
const IR: &str = "tests/fixtures/dally/naive_4x4.ir";
const IR_INPUTS: &str = "1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16";

/// Runs one command's `--json` form; returns the JSON text it printed.
fn run_json(cmd: &str) -> String {
    let trace = "traces/sprint1_fused.trace";
    let out_sutro = temp("opt.sutro");
    let out_html = temp("report.html");
    let out_ir = temp("opt.ir");
    let args: Vec<&str> = match cmd {
        "score" => vec!["score", "programs/sprint1_standard.sutro", "--metric", "all", "--json"],
        "run" => vec!["run", "programs/sprint1_fused.sutro", "--json"],
        "explain" => vec!["explain", "affine", "--json"],
        "optimize" => vec![
            "optimize",
            "programs/sprint1_standard.sutro",
            "-o",
            out_sutro.to_str().unwrap(),
            "--json",
        ],
        "report" => vec![
            "report",
            "programs/sprint1_fused.sutro",
            "-o",
            out_html.to_str().unwrap(),
            "--json",
        ],
        "trace info" => vec!["trace", "info", trace, "--json"],
        "bench" => vec!["bench", "programs/sprint1_fused.sutro", "--seeds", "0..1", "--json"],
        "diff" => vec![
            "diff",
            "programs/sprint1_standard.sutro",
            trace,
            "--metric",
            "all",
            "--json",
        ],
        "trace replay" => vec!["trace", "replay", trace, "--metric", "all", "--json"],
        "ir score" => vec!["ir", "score", IR, "--check", "matmul:4", "--json"],
        "ir run" => vec!["ir", "run", IR, "--inputs", IR_INPUTS, "--json"],
        "ir optimize" => vec![
            "ir",
            "optimize",
            IR,
            "--check",
            "matmul:4",
            "-o",
            out_ir.to_str().unwrap(),
            "--json",
        ],
        other => panic!("`sutro {other}` has --json but no case in tests/json_contract.rs"),
    };
    let out = sutro(&args);
    assert!(out.status.success(), "{cmd}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn every_json_command_is_documented_and_carries_its_keys() {
    let with_json: Vec<String> = commands()
        .into_iter()
        .filter(|c| {
            let mut args: Vec<&str> = c.split(' ').collect();
            args.push("--help");
            text(&args).contains("--json")
        })
        .collect();
    for must in [
        "score",
        "run",
        "trace info",
        "trace replay",
        "optimize",
        "explain",
        "report",
    ] {
        assert!(with_json.iter().any(|c| c == must), "`sutro {must}` lost --json");
    }
    let docs = documented();
    let info = &docs["trace info"];
    assert!(
        info.contains(&"element_accesses".into()) && info.contains(&"bytes".into()),
        "{info:?}"
    );
    for cmd in &with_json {
        let keys = docs
            .get(cmd)
            .unwrap_or_else(|| panic!("docs/json.md has no section for `sutro {cmd} --json`"));
        if cmd == "bench" {
            // The contract: an array of row objects, no envelope.
            let text = run_json(cmd);
            let v: Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("bench: not JSON ({e}): {text}"));
            let rows = v.as_array().unwrap_or_else(|| panic!("bench: not an array: {text}"));
            assert!(!rows.is_empty());
            for row in rows {
                for k in keys {
                    assert!(
                        row.get(k).is_some(),
                        "bench: documented key `{k}` missing from a row: {row}"
                    );
                }
            }
            continue;
        }
        assert!(
            keys.contains(&"schema".to_string()),
            "{cmd}: the section lists `schema`"
        );
        let text = run_json(cmd);
        let v: Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{cmd}: not JSON ({e}): {text}"));
        assert_eq!(v["schema"], 1, "{cmd}");
        for k in keys {
            assert!(v.get(k).is_some(), "{cmd}: documented key `{k}` missing from {text}");
        }
        assert!(!text.contains('\u{1b}'), "{cmd}: escape codes in JSON");
    }
}

/// The nested contracts: the `ard_write` report's keys, `program`, and the
/// rows of `run`'s history and `optimize`'s passes.
#[test]
fn nested_keys_match_the_document() {
    let score: Value = serde_json::from_str(&run_json("score")).unwrap();
    let ard = &score["metrics"]["ard_write"];
    for k in [
        "options",
        "steps",
        "reads",
        "writes",
        "cold",
        "floats_read",
        "floats_accessed",
        "working_set",
        "per_read",
        "per_float",
        "per_read_exact",
        "per_float_exact",
        "sum_d",
        "sum_sd",
        "buffers",
        "ops",
    ] {
        assert!(ard.get(k).is_some(), "ard_write.{k}");
    }
    for k in [
        "name",
        "size",
        "reads",
        "writes",
        "floats_read",
        "avg",
        "min",
        "max",
        "cached",
        "sum_d",
        "sum_sd",
    ] {
        assert!(ard["buffers"][0].get(k).is_some(), "buffers[].{k}");
    }
    for m in ["ard_write", "ard_access", "lru_stack", "dmd", "bytedmd_v2", "energy_pj"] {
        assert!(score["metrics"].get(m).is_some(), "metrics.{m}");
    }
    for cmd in ["score", "run", "trace info", "trace replay", "report"] {
        let v: Value = serde_json::from_str(&run_json(cmd)).unwrap();
        assert!(
            v["program"]["name"].is_string() && v["program"]["hash"].is_string(),
            "{cmd}: program"
        );
    }
    let run: Value = serde_json::from_str(&run_json("run")).unwrap();
    for k in ["epoch", "steps", "train_loss", "test_loss", "train_acc", "test_acc"] {
        assert!(run["history"][0].get(k).is_some(), "history[].{k}");
    }
    let opt: Value = serde_json::from_str(&run_json("optimize")).unwrap();
    for k in ["name", "changes", "tried", "before", "after", "stop", "notes"] {
        assert!(opt["passes"][0].get(k).is_some(), "passes[].{k}");
    }
    let rep: Value = serde_json::from_str(&run_json("report")).unwrap();
    assert_eq!(rep["charts"].as_array().unwrap().len(), 5);
}
