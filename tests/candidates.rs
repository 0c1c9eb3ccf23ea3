//! The Sprint-2 candidate programs under `tests/programs/` (and the local rules
//! in `programs/`): each one checks, runs and scores through the CLI; the run
//! JSON says honestly whether it solved (100 % test accuracy) at n = 20, k = 3,
//! seed 0. The curriculum over n (`--save-state`/`--load-state` with
//! `secret_n`) is tested in tests/state.rs.
#![allow(clippy::unwrap_used, clippy::expect_used)] // Test code: a failed unwrap is a failed test.

mod common;
use common::{load, sutro, sutro_json};

/// (program, whether it solves parity n=20 k=3 at seed 0)
const CANDIDATES: [(&str, bool); 9] = [
    ("tests/programs/adam", true),
    ("tests/programs/logistic", true),
    ("tests/programs/momentum", true),
    ("tests/programs/grokfast", true),
    ("tests/programs/gf2", true),
    ("tests/programs/row_loop", false),
    ("tests/programs/tiled", true),
    ("programs/forward_forward", true),
    ("programs/hebbian", false),
];

#[test]
fn every_candidate_checks_runs_and_scores() {
    for (name, solves) in CANDIDATES {
        let path = format!("{name}.sutro");
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

/// The tiled hidden layer computes every element with the same dot product in
/// the same order as the untiled `sparse_parity.sutro`, and its hand-written
/// update is `sgd`'s arithmetic, so the two train bit-identically.
#[test]
fn the_tiled_layer_trains_bit_identically_to_the_untiled_one() {
    let session = |path: &str| {
        sutro::Session::new(load(path, &[]), "parity", &Default::default(), &Default::default(), 0).unwrap()
    };
    let tiled = session("tests/programs/tiled.sutro").run_steps(100).unwrap();
    let plain = session("programs/sparse_parity.sutro").run_steps(100).unwrap();
    assert_eq!(tiled.len(), 4);
    for ((na, va), (nb, vb)) in tiled.iter().zip(&plain) {
        assert_eq!(na, nb);
        assert!(
            va.iter().zip(vb).all(|(x, y)| x.to_bits() == y.to_bits()),
            "{na} differs after 100 steps"
        );
    }
}
