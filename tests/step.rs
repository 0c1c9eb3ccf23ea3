//! The built-in scalar `step` (1-based, re-evaluated every training step) and
//! the power operator `^` in scalar expressions. Expected values are hand sums.
#![allow(clippy::unwrap_used, clippy::expect_used)] // Test code: a failed unwrap is a failed test.

mod common;
use common::load_text;
use sutro::interp::Interp;

fn after(src: &str, steps: u32, name: &str) -> Vec<f32> {
    let l = load_text("s.sutro", src, &[]);
    let mut it = Interp::new(&l.validated, 0);
    for s in 0..steps {
        it.step(s, None).unwrap();
    }
    it.buffer(l.validated.program().buf_id(name).unwrap()).to_vec()
}

#[test]
fn step_counts_from_one_in_op_scalars_and_update_rules() {
    // acc += step: 1 + 2 + 3 = 6.
    let src = "state one[1] = const(1)\nstate acc[1] = zeros\nc = scale(one, step)\nacc = add(acc, c)\n";
    assert_eq!(after(src, 3, "acc"), vec![6.0]);
    // W -= 0.5^step · 1: 1 − 0.5 − 0.25 − 0.125 = 0.125 (exact in f32).
    let src = "state g[2] = const(1)\nparam W[2] = const(1)\nupdate W sgd(0.5 ^ step, 0) with g\n";
    assert_eq!(after(src, 3, "W"), vec![0.125, 0.125]);
    // Adam's bias correction 1 − β^step at step 2 with β = 0.5: 0.75.
    let src = "hyper beta = 0.5\nstate one[1] = const(1)\nc = scale(one, 1 - beta ^ step)\n";
    assert_eq!(after(src, 2, "c"), vec![0.75]);
}

#[test]
fn power_is_right_associative_and_binds_tighter_than_minus() {
    let src = "hyper a = 2 ^ 3 ^ 2\nhyper b = (2 ^ 3) ^ 2\nhyper c = -2 ^ 2\nhyper d = 2 ^ -1\n";
    let l = load_text("p.sutro", src, &[]);
    let h = l.validated.hypers();
    assert_eq!((h["a"], h["b"], h["c"], h["d"]), (512.0, 64.0, -4.0, 0.5));
    // The canonical text keeps the meaning.
    let text = l.parsed.to_string();
    assert_eq!(
        text,
        "hyper a = 2 ^ 3 ^ 2\nhyper b = (2 ^ 3) ^ 2\nhyper c = -2 ^ 2\nhyper d = 2 ^ -1\n"
    );
}

#[test]
fn step_is_not_a_hyper_a_bound_or_a_name() {
    let err = |src: &str| {
        let f = sutro::span::SourceFile::new("e.sutro", src);
        let e = sutro::load(&f, &Default::default(), &Default::default()).unwrap_err();
        e.diagnostics()[0].message.clone()
    };
    assert_eq!(err("hyper h = step"), "unknown name `step`");
    assert_eq!(
        err("dim n = 2\nstate step[n] = zeros"),
        "`step` is a keyword and cannot be a name"
    );
    assert_eq!(
        err("dim n = 2\nstate A[n] = zeros\nfor i in 0..step {\n}"),
        "a loop bound may use dims and loop indices, not `step`"
    );
}
