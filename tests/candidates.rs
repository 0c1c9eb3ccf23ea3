//! The Sprint-2 candidate programs (and the local rules): each one checks,
//! runs and scores through the CLI, and the run JSON says honestly whether it
//! solved (100 % test accuracy) at n = 20, k = 3. The ones that solve are
//! checked on seeds 0..4; GF(2) elimination must also read at most n + 5
//! samples. The curriculum over n (`--save-state`/`--load-state` with
//! `secret_n`) is tested in tests/state.rs and tests/bench_grid.rs.
#![allow(clippy::unwrap_used, clippy::expect_used)] // Test code: a failed unwrap is a failed test.

mod common;
use common::{load, sutro, sutro_json};

/// (path, whether it solves parity n=20 k=3 on seeds 0..4)
const CANDIDATES: [(&str, bool); 10] = [
    ("programs/adam.sutro", true),
    ("programs/logistic.sutro", true),
    ("programs/momentum.sutro", true),
    ("programs/grokfast.sutro", true),
    ("programs/gf2.sutro", true),
    ("tests/programs/row_loop.sutro", false),
    ("tests/programs/tiled.sutro", true),
    ("tests/programs/tiled_grad.sutro", true),
    ("programs/forward_forward.sutro", true),
    ("programs/hebbian.sutro", false),
];

#[test]
fn every_candidate_checks_runs_and_scores() {
    for (path, solves) in CANDIDATES {
        let check = sutro(&["check", path]);
        assert!(
            check.status.success(),
            "{path}: {}",
            String::from_utf8_lossy(&check.stderr)
        );
        let seeds: &[&str] = if solves { &["0", "1", "2", "3", "4"] } else { &["0"] };
        for seed in seeds {
            let run = sutro_json(&["run", path, "--seed", seed, "--set", "n=20", "--set", "k=3", "--json"]);
            let solved = !run["solved_epoch"].is_null();
            assert_eq!(solved, solves, "{path} seed {seed}: solved = {solved}");
            if solved {
                assert_eq!(run["final"]["test_acc"], 1.0, "{path} seed {seed}: {run}");
            }
        }
        let score = sutro_json(&["score", path, "--metric", "ard_write", "--json"]);
        assert!(
            score["metrics"].is_object() || score["metrics"].is_array(),
            "{path}: {score}"
        );
    }
}

/// GF(2) elimination needs n + 1 independent equations; the program reads
/// n + 5 (its batch and its whole training set) and solves in one step.
#[test]
fn gf2_reads_at_most_n_plus_5_samples() {
    for n in [20u64, 30] {
        for seed in ["0", "1", "2", "3", "4"] {
            let set_n = format!("n={n}");
            let run = sutro_json(&["run", "programs/gf2.sutro", "--set", &set_n, "--seed", seed, "--json"]);
            assert_eq!(run["solved_step"], 1, "n={n} seed {seed}: {run}");
            let samples = run["samples"].as_u64().expect("samples");
            assert!(samples <= n + 5, "n={n} seed {seed}: {samples} samples");
        }
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

/// `walsh_k.sutro` is the Walsh–Hadamard solver with the degree a dim: one
/// step of 32 samples finds the secret at k = 2, 3 (seeds 0..4) and 4 (seed 0:
/// its n^4 table is 160,000 correlations), and at n = 12, k = 5.
#[test]
fn walsh_k_solves_every_degree_in_one_step() {
    let cases: [(&str, &str, &[&str]); 4] = [
        ("n=20", "k=2", &["0", "1", "2", "3", "4"]),
        ("n=20", "k=3", &["0", "1", "2", "3", "4"]),
        ("n=20", "k=4", &["0"]),
        ("n=12", "k=5", &["1"]),
    ];
    for (n, k, seeds) in cases {
        for seed in seeds {
            let run = sutro_json(&[
                "run",
                "programs/walsh_k.sutro",
                "--json",
                "-q",
                "--set",
                n,
                "--set",
                k,
                "--seed",
                seed,
            ]);
            assert_eq!(run["solved_step"], 1, "{n} {k} seed {seed}: {run}");
            assert_eq!(run["final"]["test_acc"], 1.0, "{n} {k} seed {seed}");
            assert_eq!(run["samples"], 32, "{n} {k} seed {seed}");
        }
    }
}

/// Asserts that `path` and `programs/sparse_parity.sutro` hold bit-identical
/// params after 100 steps from `seed`.
fn trains_like_sparse_parity(path: &str, seed: u64) {
    let session = |path: &str| {
        sutro::Session::new(
            load(path, &[]),
            "parity",
            &Default::default(),
            &Default::default(),
            seed,
        )
        .unwrap()
    };
    let tiled = session(path).run_steps(100).unwrap();
    let plain = session("programs/sparse_parity.sutro").run_steps(100).unwrap();
    assert_eq!(tiled.len(), 4);
    for ((na, va), (nb, vb)) in tiled.iter().zip(&plain) {
        assert_eq!(na, nb);
        assert!(
            va.iter().zip(vb).all(|(x, y)| x.to_bits() == y.to_bits()),
            "{path} seed {seed}: {na} differs after 100 steps"
        );
    }
}

/// The tiled hidden layer computes every element with the same dot product in
/// the same order as the untiled `sparse_parity.sutro`, and its hand-written
/// update is `sgd`'s arithmetic, so the two train bit-identically.
#[test]
fn the_tiled_layer_trains_bit_identically_to_the_untiled_one() {
    trains_like_sparse_parity("tests/programs/tiled.sutro", 0);
}

/// `grad` differentiates through the tiles' slices: each tile's gradient is
/// padded with zeros to W1's (b1's) shape and the four are summed with `add`.
/// Every nonzero element is the untiled program's value plus exact zeros, so
/// the params train bit-identically. (Only the sign of a zero gradient element
/// can differ: −0 + 0 = +0. It cannot change a param that is not exactly 0,
/// since p − lr·(g + wd·p) adds g to the nonzero wd·p.)
#[test]
fn the_tiled_grad_layer_trains_bit_identically_to_the_untiled_one() {
    for seed in 0..5 {
        trains_like_sparse_parity("tests/programs/tiled_grad.sutro", seed);
    }
}

/// The same tiles in a counted loop: `h_pre` is loop-carried (each trip joins
/// the next tile with `concat`), and `grad` differentiates through its versions.
#[test]
fn the_tiled_loop_trains_bit_identically_to_the_untiled_one() {
    for seed in 0..5 {
        trains_like_sparse_parity("tests/programs/tiled_loop.sutro", seed);
    }
}
