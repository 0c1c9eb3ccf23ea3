//! One test per fusion rule: the rewrite's text, its validity, and bit-exactness
//! by running original and rewritten programs side by side.

// Helpers outside #[test] fns panic on setup failure, which fails the test.
#![allow(clippy::expect_used, clippy::unwrap_used)]

use sutro::ir::{OpId, Program, grad};
use sutro::opt::fuse::{fold_copy, fold_grad, remove_dead, split_multi, writer};
use sutro::span::SourceFile;
use sutro::valid::{Limits, Settings, Validated, validate};

fn load(path: &str) -> Validated {
    let text = std::fs::read_to_string(path).expect("readable");
    sutro::load(&SourceFile::new(path, text), &Settings::default(), &Limits::default())
        .expect("loads")
        .validated
}

fn finish(p: Program) -> Validated {
    validate(grad::renumber(p), &Settings::default(), &Limits::default()).expect("rewrite validates")
}

fn same_params(a: &Validated, b: &Validated) {
    let loaded = sutro::Loaded::from_validated(a.clone());
    let s = sutro::Session::new(loaded, "parity", &Settings::default(), &Limits::default(), 5).expect("fits parity");
    let m = s.verify(b, 20).expect("runs");
    assert!(m.is_none(), "{}", m.map(|m| m.describe()).unwrap_or_default());
}

fn producer(v: &Validated, buf: &str) -> OpId {
    let p = v.program();
    writer(p, p.buf_id(buf).expect("buffer")).expect("written")
}

#[test]
fn split_affine_grad_is_bit_exact_at_batch_32() {
    let v = load("programs/sparse_parity.sutro");
    let (q, _, _) = split_multi(v.program(), producer(&v, "dW1")).expect("splits");
    let w = finish(q);
    let text = w.program().to_string();
    assert!(text.contains("dW1 = outer(dh_pre, x)\ndb1 = sum(dh_pre)\n"), "{text}");
    same_params(&v, &w);
    // A single-output op is not split.
    assert!(split_multi(v.program(), producer(&v, "dh")).is_none());
}

#[test]
fn fold_grad_moves_outer_into_the_update() {
    let v = load("programs/sprint1_standard.sutro");
    let (q, outer_op, _) = split_multi(v.program(), producer(&v, "dW2")).expect("splits");
    let q = fold_grad(&q, outer_op).expect("folds");
    let w = finish(q);
    let text = w.program().to_string();
    assert!(
        text.contains("W2_update: update W2 sgd(lr, wd) with outer(dout, h)"),
        "{text}"
    );
    assert!(w.program().buf_id("dW2").is_none(), "the gradient buffer disappears");
    same_params(&v, &w);
    // Not fusible: relu_grad's output feeds two ops, and affine_grad has two outputs.
    assert!(fold_grad(v.program(), producer(&v, "dh_pre")).is_none());
    assert!(fold_grad(v.program(), producer(&v, "dW2")).is_none());
}

#[test]
fn fold_copy_uses_the_source_buffer_directly() {
    let v = load("programs/sprint1_standard.sutro");
    let (q, _, sum_op) = split_multi(v.program(), producer(&v, "db2")).expect("splits");
    // batch = 1: dout is [1, 1], so sum(dout) copies its only row.
    let mid = finish(q.clone());
    let q = fold_copy(&mid, &q, sum_op).expect("a one-row sum is a copy");
    let w = finish(q);
    let text = w.program().to_string();
    assert!(text.contains("b2_update: update b2 sgd(lr, wd) with dout"), "{text}");
    same_params(&v, &w);
    // With batch 32, sum(dh_pre) adds rows and is not a copy.
    let sp = load("programs/sparse_parity.sutro");
    let (q, _, sum_op) = split_multi(sp.program(), producer(&sp, "db1")).expect("splits");
    let mid = finish(q.clone());
    assert!(fold_copy(&mid, &q, sum_op).is_none());
}

#[test]
fn remove_dead_drops_the_unread_loss() {
    let v = load("programs/sparse_parity.sutro");
    let before = v.program().order.len();
    let w = finish(remove_dead(v.program()).expect("loss is dead"));
    assert_eq!(w.program().order.len(), before - 1);
    assert!(!w.program().to_string().contains("loss = hinge"));
    same_params(&v, &w);
    assert!(remove_dead(w.program()).is_none(), "nothing else is dead");
}
