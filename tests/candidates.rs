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

/// The Sprint-2 board programs of `programs/` that do not train by gradient:
/// each solves n = 20, k = 3 on seeds 0..4 with 100 % test accuracy (random
/// search too, within its epoch limit: it needs C(20, 3) = 1,140 guesses on
/// average, 64 per step). `km` asks batch × n = 20 labels per step and nothing
/// else does.
#[test]
fn km_walsh_and_random_search_solve_n20_k3_on_seeds_0_to_4() {
    for name in ["km", "walsh", "random_search"] {
        let path = format!("programs/{name}.sutro");
        for seed in ["0", "1", "2", "3", "4"] {
            let run = sutro_json(&["run", &path, "--json", "-q", "--seed", seed]);
            assert_eq!(run["solved"], true, "{name} seed {seed}");
            assert_eq!(run["final"]["test_acc"], 1.0, "{name} seed {seed}");
            assert_eq!(run["task"]["n"], 20);
            assert_eq!(run["task"]["k"], 3);
            let steps = run["solved_step"].as_u64().unwrap();
            let queries = run["queries"].as_u64().unwrap();
            if name == "km" {
                // Parity influence is exactly 0 or 1: one input (n flips) suffices.
                assert_eq!((steps, queries), (1, 20), "{name} seed {seed}");
            } else {
                assert_eq!(queries, 0, "{name} seed {seed}");
            }
        }
    }
    // KM follows --set: n = 50, k = 5 is solved by one step of 50 queries.
    let run = sutro_json(&[
        "run",
        "programs/km.sutro",
        "--json",
        "-q",
        "--set",
        "n=50",
        "--set",
        "k=5",
    ]);
    assert_eq!(
        (run["solved_step"].as_u64(), run["queries"].as_u64()),
        (Some(1), Some(50))
    );
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
