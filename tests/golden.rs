//! Golden outputs: what the tool prints for every program in `programs/` and
//! every invalid program in `programs/invalid/`, committed under `tests/golden/`.
//!
//! A change to a metric, a pass, the printer, the lowering or a message shows up
//! as a diff of these files. After an intended change, regenerate them with
//!
//! ```sh
//! SUTRO_BLESS=1 cargo test --test golden
//! ```
//!
//! and review the diff before committing it. Per program (`tests/golden/NAME/`):
//! `lowered.sutro` (`print --lowered`), `optimized.sutro` and `optimize.json`
//! (`optimize --json -o`, with the output path replaced by `OUT`), `score.json`
//! (`score --metric all --json`) and `trace.digest` (length and FNV-1a 64 of the
//! bytes of `trace record --steps 2`); for the programs of `IR_ONLY`, which are
//! not training steps, `lowered.sutro`, `lowered.ir` and `ir_score.json`. Per invalid program:
//! `tests/golden/invalid/NAME.txt` (exit code and the diagnostics of `check`).
#![allow(clippy::expect_used, clippy::unwrap_used)] // Test code: a failure is a test failure.

mod common;

use std::path::{Path, PathBuf};

use common::{root, sutro};

fn bless() -> bool {
    std::env::var_os("SUTRO_BLESS").is_some_and(|v| v != "0")
}

/// Compares `actual` with the golden file `rel` (under `tests/golden/`), or
/// writes it when blessing. Returns a description of the mismatch, if any.
fn expect(rel: &str, actual: &str) -> Option<String> {
    let path = root().join("tests/golden").join(rel);
    if bless() {
        std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
        std::fs::write(&path, actual).expect("write golden");
        return None;
    }
    let expected = std::fs::read_to_string(&path).unwrap_or_default();
    if expected == actual {
        return None;
    }
    let first = expected
        .lines()
        .zip(actual.lines())
        .position(|(a, b)| a != b)
        .unwrap_or(expected.lines().count().min(actual.lines().count()));
    Some(format!(
        "{rel}: differs from line {} (expected {:?}, got {:?})",
        first + 1,
        expected.lines().nth(first).unwrap_or("<end>"),
        actual.lines().nth(first).unwrap_or("<end>"),
    ))
}

fn fnv1a64(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in bytes {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

fn programs(dir: &str) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(root().join(dir))
        .expect("read dir")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "sutro"))
        .collect();
    v.sort();
    v
}

fn stem(p: &Path) -> String {
    p.file_stem().expect("stem").to_string_lossy().into_owned()
}

fn stdout_ok(args: &[&str]) -> String {
    let out = sutro(args);
    assert!(
        out.status.success(),
        "sutro {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("utf-8 stdout")
}

fn scratch(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("sutro-golden-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&d).expect("scratch dir");
    d
}

/// Programs that are not training steps (no task runs them): their goldens are
/// the lowered text, the v0 IR of `ir lower` and its `ir score --json`.
const IR_ONLY: &[&str] = &["matmul"];

fn golden_ir_program(name: &str, rel: &str) -> Vec<String> {
    let dir = scratch(name);
    let ir = dir.join("p.ir");
    let ir_s = ir.to_string_lossy().into_owned();
    stdout_ok(&["ir", "lower", rel, "-o", &ir_s]);
    let mut bad = Vec::new();
    let mut check = |file: &str, actual: String| {
        if let Some(m) = expect(&format!("{name}/{file}"), &actual) {
            bad.push(m);
        }
    };
    check("lowered.sutro", stdout_ok(&["print", rel, "--lowered"]));
    check("lowered.ir", std::fs::read_to_string(&ir).expect("ir text"));
    let mut v: serde_json::Value =
        serde_json::from_str(&stdout_ok(&["ir", "score", &ir_s, "--json"])).expect("ir score JSON");
    v["program"]["path"] = serde_json::Value::from("OUT");
    check("ir_score.json", serde_json::to_string_pretty(&v).expect("json") + "\n");
    let _ = std::fs::remove_dir_all(&dir);
    bad
}

fn golden_program(path: &Path) -> Vec<String> {
    let name = stem(path);
    let rel = format!("programs/{name}.sutro");
    if IR_ONLY.contains(&name.as_str()) {
        return golden_ir_program(&name, &rel);
    }
    let dir = scratch(&name);
    let mut bad = Vec::new();
    let mut check = |file: &str, actual: String| {
        if let Some(m) = expect(&format!("{name}/{file}"), &actual) {
            bad.push(m);
        }
    };

    check("lowered.sutro", stdout_ok(&["print", &rel, "--lowered"]));

    let out = dir.join("opt.sutro");
    let out_s = out.to_string_lossy().into_owned();
    let json = stdout_ok(&["optimize", &rel, "--json", "-o", &out_s]);
    let mut v: serde_json::Value = serde_json::from_str(&json).expect("optimize JSON");
    v["output"] = serde_json::Value::from("OUT");
    check("optimize.json", serde_json::to_string_pretty(&v).expect("json") + "\n");
    check(
        "optimized.sutro",
        std::fs::read_to_string(&out).expect("optimized text"),
    );

    check("score.json", stdout_ok(&["score", &rel, "--metric", "all", "--json"]));

    let trace = dir.join("t.trace");
    let trace_s = trace.to_string_lossy().into_owned();
    stdout_ok(&["trace", "record", &rel, "--steps", "2", "-o", &trace_s]);
    let bytes = std::fs::read(&trace).expect("trace bytes");
    check(
        "trace.digest",
        format!("bytes {}\nfnv1a64 {:016x}\n", bytes.len(), fnv1a64(&bytes)),
    );
    let _ = std::fs::remove_dir_all(&dir);
    bad
}

#[test]
fn every_program_matches_its_golden_outputs() {
    let mut bad = Vec::new();
    let list = programs("programs");
    assert!(list.len() >= 10, "programs/ holds the zoo");
    for p in &list {
        bad.extend(golden_program(p));
    }
    assert!(
        bad.is_empty(),
        "golden outputs differ (SUTRO_BLESS=1 cargo test --test golden regenerates them; review the diff):\n{}",
        bad.join("\n")
    );
}

#[test]
fn every_invalid_program_matches_its_golden_diagnostics() {
    let mut bad = Vec::new();
    let list = programs("programs/invalid");
    assert!(!list.is_empty());
    for p in &list {
        let name = stem(p);
        let rel = format!("programs/invalid/{name}.sutro");
        let out = sutro(&["check", &rel]);
        let text = format!(
            "exit {}\n{}",
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stderr)
        );
        if let Some(m) = expect(&format!("invalid/{name}.txt"), &text) {
            bad.push(m);
        }
    }
    assert!(
        bad.is_empty(),
        "golden diagnostics differ (SUTRO_BLESS=1 cargo test --test golden regenerates them):\n{}",
        bad.join("\n")
    );
}
