//! Membership queries: `query(xq)` returns the task's true label of each row
//! the program builds, is traced as a read of `xq` then a write of its result,
//! and is counted in `queries` (training steps only).
//!
//! The expected labels are worked out by hand from the task definitions: for
//! parity, flipping bit i of the all-ones input gives −1 exactly when i is a
//! secret bit; for sum, the row's sum over the secret bits.

#![allow(clippy::unwrap_used, clippy::expect_used)] // Test code: a failed unwrap is a failed test.

mod common;
use common::{sutro, sutro_json};
use sutro::interp::Labeler;
use sutro::ir::Mode;
use sutro::train::{self, Oracle};

const FLIP: &str = "tests/programs/flip_query.sutro";

fn tmp(name: &str) -> String {
    let d = std::env::temp_dir().join(format!("sutro-queries-{}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    d.join(name).to_string_lossy().into_owned()
}

#[test]
fn flipping_each_bit_finds_the_parity_secret_and_queries_are_counted_to_the_solve() {
    for seed in ["0", "1", "2"] {
        let dump = tmp(&format!("flip{seed}.json"));
        let v = sutro_json(&[
            "run",
            FLIP,
            "--json",
            "-q",
            "--seed",
            seed,
            "--eval-every",
            "1",
            "--dump-state",
            &dump,
        ]);
        assert_eq!(v["solved"], true);
        assert_eq!(v["solved_step"], 1);
        // One label per row of the [n, n] query, n = 20, in the one step run.
        assert_eq!(v["queries"], 20);
        assert_eq!(v["samples"], 1);
        let secret: Vec<u64> = v["task"]["secret"]
            .as_array()
            .unwrap()
            .iter()
            .map(|b| b.as_u64().unwrap())
            .collect();
        let st: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&dump).unwrap()).unwrap();
        let labels = st["buffers"]
            .as_array()
            .unwrap()
            .iter()
            .find(|b| b["name"] == "labels")
            .unwrap();
        let got: Vec<f64> = labels["values"]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x.as_f64().unwrap())
            .collect();
        let want: Vec<f64> = (0..20).map(|i| if secret.contains(&i) { -1.0 } else { 1.0 }).collect();
        assert_eq!(got, want, "seed {seed}");
    }
    // Evaluated once per epoch (4 steps of batch 1): four steps, 80 labels;
    // the evaluations over 1,200 examples ask none.
    let v = sutro_json(&["run", FLIP, "--json", "-q"]);
    assert_eq!((v["solved_step"].as_u64(), v["queries"].as_u64()), (Some(4), Some(80)));
}

#[test]
fn evaluations_ask_no_labels_and_an_unsolved_run_counts_every_step() {
    // On `and` the flipped labels still mark the secret (flipping a secret bit
    // of the all-ones input turns +1 into −1) but the parity of those bits is
    // not the AND, so the run never solves: 3 epochs of 4 steps, 20 labels each,
    // however often it is evaluated.
    for (every, evals) in [("1", 12), ("4", 3)] {
        let v = sutro_json(&[
            "run",
            FLIP,
            "--task",
            "and",
            "--json",
            "-q",
            "--epochs",
            "3",
            "--eval-every",
            every,
        ]);
        assert_eq!(v["solved"], false);
        assert_eq!(v["evaluations"], evals);
        assert_eq!(v["queries"], 240);
    }
}

#[test]
fn a_program_without_query_reports_zero_queries() {
    let v = sutro_json(&["run", "programs/sparse_parity.sutro", "--json", "-q", "--epochs", "1"]);
    assert_eq!(v["queries"], 0);
}

#[test]
fn the_query_is_traced_as_a_read_of_its_rows_then_a_write_of_the_labels() {
    let s = sutro::Session::open(
        &sutro::span::SourceFile::new(FLIP, std::fs::read_to_string(common::root().join(FLIP)).unwrap()),
        "parity",
        &sutro::valid::Settings::default(),
        &sutro::valid::Limits::default(),
        0,
    )
    .unwrap();
    let mut t = sutro::trace::VecTracer::default();
    s.trace(1, &mut t).unwrap();
    let p = s.validated().program();
    let op = p.op_ids().find(|o| p.op_name(*o) == "asked").unwrap();
    let evs: Vec<(String, Mode, u64)> = t
        .events
        .iter()
        .filter(|e| e.op == Some(op))
        .map(|e| (p.buf(e.buf).name.clone(), e.mode, e.len))
        .collect();
    assert_eq!(
        evs,
        [
            ("xq".to_string(), Mode::Read, 400),
            ("lab".to_string(), Mode::Write, 20)
        ]
    );
}

#[test]
fn every_task_answers_with_its_own_label_of_the_secret_bits() {
    let row = [1.0, -1.0, 1.0, -1.0, -1.0];
    let secret = [1, 3, 4];
    let parity = train::task("parity").unwrap();
    let sum = train::task("sum").unwrap();
    let and = train::task("and").unwrap();
    // Bits 1, 3, 4 of the row are −1, −1, −1.
    assert_eq!(Oracle::new(parity.as_ref(), &secret).label(&row), -1.0);
    assert_eq!(Oracle::new(sum.as_ref(), &secret).label(&row), -3.0);
    assert_eq!(Oracle::new(and.as_ref(), &secret).label(&row), -1.0);
    assert_eq!(Oracle::new(and.as_ref(), &[0, 2]).label(&row), 1.0);
    // The data's labels come from the same definition: query(x) = y on the data.
    let cfg = train::TaskConfig {
        name: "sum".into(),
        n: 8,
        k: 3,
        secret_n: 8,
        n_train: 50,
        n_test: 10,
        batch: 1,
    };
    let d = sum.generate(&cfg, 4);
    let o = Oracle::new(sum.as_ref(), &d.secret);
    for (x, y) in d.train_x.chunks(8).zip(&d.train_y) {
        assert_eq!(o.label(x), *y);
    }
}

#[test]
fn a_prediction_that_reads_the_labels_is_refused() {
    let path = tmp("cheat.sutro");
    std::fs::write(
        &path,
        "dim n = 4\ninput x[batch, n]\ntarget y[batch]\nyq = query(x)\npredict yq\n",
    )
    .unwrap();
    let out = sutro(&["check", &path]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("`predict yq` depends on `query` (op `yq`)"), "{err}");
    assert!(err.contains(":4:1"), "{err}");
}

#[test]
fn a_query_of_rows_that_are_not_n_long_is_refused() {
    let path = tmp("short.sutro");
    std::fs::write(
        &path,
        "dim n = 4\nstate q[2, 3] = const(1)\nstate l[2] = zeros\ninput x[batch, n]\ntarget y[batch]\nl = query(q)\np = sum_axis(x, 1)\npredict p\n",
    )
    .unwrap();
    let out = sutro(&["run", &path]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("`set_l` asks for labels of rows of 3 values; the task's inputs have n = 4"),
        "{err}"
    );
}
