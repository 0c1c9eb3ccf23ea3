//! The Sprint-2 candidate programs under `tests/programs/`: each one checks,
//! runs and scores through the CLI; the run JSON says honestly whether it
//! solved (100 % test accuracy) at n = 20, k = 3, seed 0.
#![allow(clippy::unwrap_used, clippy::expect_used)] // Test code: a failed unwrap is a failed test.

mod common;
use common::{sutro, sutro_json};

/// (program, whether it solves parity n=20 k=3 at seed 0)
const CANDIDATES: [(&str, bool); 6] = [
    ("adam", true),
    ("logistic", true),
    ("momentum", true),
    ("grokfast", true),
    ("gf2", true),
    ("row_loop", false),
];

#[test]
fn every_candidate_checks_runs_and_scores() {
    for (name, solves) in CANDIDATES {
        let path = format!("tests/programs/{name}.sutro");
        let check = sutro(&["check", &path]);
        assert!(
            check.status.success(),
            "{name}: {}",
            String::from_utf8_lossy(&check.stderr)
        );
        let run = sutro_json(&["run", &path, "--json"]);
        let solved = !run["solved_epoch"].is_null();
        assert_eq!(solved, solves, "{name}: solved = {solved}");
        let score = sutro_json(&["score", &path, "--metric", "ard_write", "--json"]);
        assert!(
            score["metrics"].is_object() || score["metrics"].is_array(),
            "{name}: {score}"
        );
    }
}
