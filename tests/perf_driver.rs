//! Invariants the fast kernels and driver must keep: fused updates bit-identical
//! to their unfused twins, deterministic training, and an unchanged access trace.

#![allow(clippy::unwrap_used)] // test helpers outside #[test] fns

use sutro::analysis::{Cold, ReuseKind};
use sutro::span::SourceFile;
use sutro::train::{self, RunOptions};
use sutro::valid::{Limits, Settings, Validated};

const HEADER: &str = "
dim n = 20
dim k = 3
dim hidden = 200
dim batch = 32
dim n_train = 1000
dim n_test = 200
hyper lr = 0.1
hyper wd = 0.01

param W1[hidden, n] = normal(sqrt(2 / n))
param b1[hidden] = zeros
param W2[1, hidden] = normal(sqrt(2 / hidden))
param b2[1] = zeros
input x[batch, n]
target y[batch]

h_pre = affine(x, W1, b1)
h = relu(h_pre)
out = affine(h, W2, b2)
predict out
loss = hinge(out, y)
";

/// The step as `grad` lowers it: gradients materialized, then four updates.
const UNFUSED: &str = "
dout = hinge_grad(out, y)
dW2, db2 = affine_grad(dout, h)
dh = affine_grad_x(W2, dout)
dh_pre = relu_grad(dh, h_pre)
dW1, db1 = affine_grad(dh_pre, x)
update W2 sgd(lr, wd) with dW2
update b2 sgd(lr, wd) with db2
update W1 sgd(lr, wd) with dW1
update b1 sgd(lr, wd) with db1
";

/// The same step with every update fused with its gradient (never materialized).
const FUSED: &str = "
dout = hinge_grad(out, y)
dh = affine_grad_x(W2, dout)
update W2 sgd(lr, wd) with outer(dout, h)
update b2 sgd(lr, wd) with sum(dout)
dh_pre = relu_grad(dh, h_pre)
update W1 sgd(lr, wd) with outer(dh_pre, x)
update b1 sgd(lr, wd) with sum(dh_pre)
";

fn load(name: &str, text: &str, s: &Settings) -> Validated {
    let src = SourceFile::new(name, text);
    match sutro::load(&src, s, &Limits::default()) {
        Ok(l) => l.validated,
        Err(e) => panic!("{name} does not load: {e:?}"),
    }
}

/// The params (declaration order, as bits) after `steps` steps from init seed 7
/// on the parity train set, in cyclic batches.
fn params_after(v: &Validated, s: &Settings, steps: usize) -> Vec<(String, Vec<u32>)> {
    let task = train::task("parity").unwrap();
    let cfg = train::config("parity", v, s).unwrap();
    let ports = train::ports(v, &cfg).unwrap();
    let data = task.generate(&cfg, 3);
    let mut run = train::Run::new(v, ports, (task.as_ref(), &cfg), &data, 7, false);
    for _ in 0..steps {
        run.step(None).unwrap();
    }
    let it = run.interp();
    let p = v.program();
    ["W1", "b1", "W2", "b2"]
        .iter()
        .map(|name| {
            let id = p.buf_id(name).unwrap();
            (name.to_string(), it.buffer(id).iter().map(|x| x.to_bits()).collect())
        })
        .collect()
}

#[test]
fn fused_updates_are_bit_identical_to_unfused_after_100_steps() {
    // 200 hidden units fill whole 16-column panels; 37 leaves a partial one and
    // odd tails in every kernel.
    for hidden in [200u64, 37] {
        let s = Settings::default().with("hidden", hidden);
        let unfused = load("unfused.sutro", &format!("{HEADER}{UNFUSED}"), &s);
        let fused = load("fused.sutro", &format!("{HEADER}{FUSED}"), &s);
        let with_grad = load(
            "sparse_parity.sutro",
            include_str!("../programs/sparse_parity.sutro"),
            &s,
        );
        let a = params_after(&unfused, &s, 100);
        let b = params_after(&fused, &s, 100);
        let c = params_after(&with_grad, &s, 100);
        let init = params_after(&unfused, &s, 0);
        assert_ne!(a, init, "training moved the params");
        assert!(
            a == b,
            "hidden = {hidden}: fused and unfused params differ after 100 steps"
        );
        assert!(
            a == c,
            "hidden = {hidden}: `grad` and its explicit twin differ after 100 steps"
        );
    }
}

#[test]
fn training_is_deterministic() {
    let s = Settings::default();
    let v = load(
        "sparse_parity.sutro",
        include_str!("../programs/sparse_parity.sutro"),
        &s,
    );
    let session = sutro::Session::new(sutro::Loaded::from_validated(v), "parity", &s, &Limits::default(), 0).unwrap();
    // A few epochs keep the debug-mode test quick; every epoch's figures compare.
    let opts = RunOptions {
        epochs: 3,
        ..RunOptions::default()
    };
    for seed in [0u64, 2] {
        let session = session.with_seed(seed).unwrap();
        let a = session.train(&opts, None, |_| {}).unwrap();
        let b = session.train(&opts, None, |_| {}).unwrap();
        assert_eq!(a.history.len(), 3);
        assert_eq!(a, b, "seed {seed}: two runs differ");
        let bits = |r: &train::RunResult| -> Vec<[u64; 4]> {
            r.history
                .iter()
                .map(|e| [e.train_loss, e.test_loss, e.train_acc, e.test_acc].map(f64::to_bits))
                .collect()
        };
        assert_eq!(bits(&a), bits(&b));
    }
}

/// The seed's sprint-1 figures (from the spec, not from this code): the trace of
/// one step must not change with faster kernels.
#[test]
fn sprint1_ard_write_figures_unchanged() {
    let s = Settings::default();
    let v = load(
        "sprint1_standard.sutro",
        include_str!("../programs/sprint1_standard.sutro"),
        &s,
    );
    let session = sutro::Session::new(sutro::Loaded::from_validated(v), "parity", &s, &Limits::default(), 0).unwrap();
    let mut r = sutro::analysis::Reuse::new(ReuseKind::Write, Cold::MinusOne);
    session.trace(1, &mut r).unwrap();
    let r = r.report();
    let avg = |name: &str| r.buffers.iter().find(|b| b.name == name).and_then(|b| b.avg);
    assert_eq!(avg("dW2"), Some(16_005.0));
    assert_eq!(avg("db2"), Some(18_005.0));
    assert_eq!(r.floats_read, 19_013);
}
