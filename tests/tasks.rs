//! The tasks: labels follow their definitions, programs that do not fit are
//! refused, and each task can be solved.
#![allow(clippy::unwrap_used, clippy::expect_used)] // Test code: a failed unwrap is a failed test.

mod common;
use common::{sutro, sutro_json};
use sutro::train::{self, TaskConfig};

fn cfg(name: &str) -> TaskConfig {
    TaskConfig {
        name: name.into(),
        n: 12,
        k: 3,
        secret_n: 12,
        n_train: 300,
        n_test: 100,
        batch: 1,
    }
}

#[test]
fn labels_follow_each_task_definition() {
    for name in ["parity", "sum", "and"] {
        let t = train::task(name).unwrap();
        let d = t.generate(&cfg(name), 5);
        assert_eq!(d.secret.len(), 3);
        assert!(d.secret.windows(2).all(|w| w[0] < w[1]) && d.secret.iter().all(|i| *i < 12));
        for (x, y) in d
            .train_x
            .chunks(12)
            .zip(&d.train_y)
            .chain(d.test_x.chunks(12).zip(&d.test_y))
        {
            assert!(x.iter().all(|v| *v == 1.0 || *v == -1.0));
            let bits: Vec<f32> = d.secret.iter().map(|&i| x[i]).collect();
            let want = match name {
                "parity" => bits[0] * bits[1] * bits[2],
                "sum" => bits[0] + bits[1] + bits[2],
                _ => {
                    if bits.iter().all(|b| *b == 1.0) {
                        1.0
                    } else {
                        -1.0
                    }
                }
            };
            assert_eq!(*y, want, "{name}");
        }
    }
}

#[test]
fn sum_predictions_round_to_the_nearest_attainable_value() {
    use train::sum::round_to_attainable as r;
    // k = 3: attainable values −3, −1, 1, 3.
    assert_eq!(
        [r(2.1, 3), r(1.9, 3), r(0.2, 3), r(-0.2, 3), r(-7.0, 3), r(9.0, 3)],
        [3.0, 1.0, 1.0, -1.0, -3.0, 3.0]
    );
    // k = 2: attainable values −2, 0, 2.
    assert_eq!([r(0.9, 2), r(1.1, 2), r(-0.4, 2)], [0.0, 2.0, 0.0]);
}

#[test]
fn each_task_is_solved_by_a_fitting_program() {
    let sum = sutro_json(&["run", "programs/sparse_sum.sutro", "--task", "sum", "--json"]);
    assert_eq!(sum["solved"], true);
    assert_eq!(sum["task"]["name"], "sum");
    let and = sutro_json(&["run", "programs/sparse_parity.sutro", "--task", "and", "--json"]);
    assert_eq!(and["solved"], true);
}

#[test]
fn a_program_that_does_not_fit_the_task_is_refused() {
    let out = sutro(&["run", "programs/sparse_parity.sutro", "--task", "sum"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("the sum task is a regression"));
}
