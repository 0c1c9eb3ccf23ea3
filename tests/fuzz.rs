//! Fuzzing the front end with proptest: random bytes, random token sequences and
//! mutated valid programs go through parse, lowering and validation. The
//! property: no panic, and every error's span lies inside the input.
//!
//! `cargo test` runs a few hundred cases per property; `.ci/run` runs
//! `SUTRO_FUZZ_CASES=100000 cargo test --release --test fuzz`.
#![allow(clippy::unwrap_used, clippy::expect_used)] // Test code: a failed unwrap is a failed test.

use proptest::prelude::*;
use sutro::span::SourceFile;
use sutro::valid::{Limits, Settings};

fn cases() -> u32 {
    std::env::var("SUTRO_FUZZ_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(300)
}

/// Runs the whole front end and checks the error spans.
fn front_end(text: &str) {
    let file = SourceFile::new("fuzz.sutro", text);
    let limits = Limits {
        max_buffer_elements: 1 << 20,
        max_ops: 10_000,
        ..Limits::default()
    };
    let loaded = sutro::load(&file, &Settings::default(), &limits);
    // A program that validates must also run without panicking.
    if let Ok(l) = &loaded
        && l.validated.total_elements() < 1 << 22
    {
        let mut it = sutro::interp::Interp::new(&l.validated, 1);
        let mut t = sutro::trace::VecTracer::default();
        let _ = it.step(0, Some((&mut t, sutro::interp::StartWrites::All)));
    }
    if let Err(e) = loaded {
        for d in e.diagnostics() {
            for (span, _) in &d.labels {
                assert!(
                    span.start <= span.end && span.end as usize <= text.len(),
                    "span {span:?} outside input of {} bytes: {}",
                    text.len(),
                    d.message
                );
            }
            // Rendering must not panic either.
            let _ = sutro::diag::render(&[d], Some(&file), false);
        }
    }
}

const SEEDS: &[&str] = &[
    "dim n = 3\ndim batch = 2\nparam W[2, n] = normal(1)\ninput x[batch, n]\ntarget y[batch]\nh = matvec(x, W[0, :])\nfor t in 1..2 {\nq = matvec(x, W[t, :])\nh = add(h, q)\n}\nloss = mse(h, y)\ngrad loss wrt W\nupdate W sgd(0.1, 0) with dW\npredict h",
    include_str!("programs/row_loop.sutro"),
    include_str!("../programs/sparse_parity.sutro"),
    // The elementwise maths, broadcasting and buffer scalars.
    "dim n = 3\ndim batch = 2\nparam W[n] = normal(1)\nparam s[1] = const(0.5)\ninput x[batch, n]\ntarget y[batch]\nh = mul(x, W)\ne = exp(h)\nq = div(e, s)\nm = max(q, s)\nc = clamp(m, -1, 2)\nt = sigmoid(c)\nk = gt(t, s)\nz = select(k, t, s)\nu = matvec(z, W)\nloss = mse(u, y)\ngrad loss wrt W, s\nupdate W sgd(0.1, 0) with dW\nupdate s sgd(0.1, 0) with scale(ds, 0.5)\npredict u",
    include_str!("../programs/sprint1_standard.sutro"),
    include_str!("../programs/sprint1_fused.sutro"),
    include_str!("programs/flip_query.sutro"),
    "dim n = 4\ndim batch = 2\nstate R[3, n] = zeros\nhyper keep = 0.5\nparam W[n] = normal(1)\ninput x[batch, n]\ntarget y[batch]\nfor i in 0..3 {\nr = noise_normal(1, n)\nR[i, :] = copy(r)\n}\nm = noise_bernoulli(keep, batch, n)\nd = mul(x, m)\nu = noise_uniform(-1, 1, batch)\nh = matvec(d, W)\nq = add(h, u)\nloss = mse(q, y)\ngrad loss wrt W\nupdate W sgd(0.1, 0) with dW\npredict q",
    // `pad`, and `grad` through sliced operands (rows, a block, a 3-d slice).
    "dim n = 4\ndim batch = 2\nparam W[3, n] = normal(1)\nparam b[3] = zeros\nparam T[2, 3, n] = normal(1)\ninput x[batch, n]\ntarget y[batch]\nh = affine(x, W[0:2, :], b[1:3])\np = pad(h, 1, 1, 0)\nr = mul(W[2, :], T[1, 0, :])\nq = matvec(p, b)\nu = add(q, r[0:2])\nloss = mse(u, y)\ngrad loss wrt W, b, T\nupdate W sgd(0.1, 0) with dW\nupdate T sgd(0.1, 0) with dT\npredict q",
    include_str!("programs/tiled_grad.sutro"),
    // Named grads of a sum of losses and of one loss.
    "dim n = 3\ndim batch = 2\nparam W[n] = normal(1)\ninput x[batch, n]\ntarget y[batch]\nu = matvec(x, W)\nl1 = hinge(u, y)\nl2 = mse(u, y)\nh = scale(l2, 0.5)\nL = add(l1, h)\ngrad L wrt W as gW\nsecond: grad l1 wrt W as gW1\nupdate W sgd(0.1, 0) with gW\npredict u",
];

const TOKENS: &[&str] = &[
    "dim",
    "as",
    "hyper",
    "param",
    "state",
    "input",
    "target",
    "predict",
    "grad",
    "wrt",
    "update",
    "sgd",
    "with",
    "zeros",
    "normal",
    "sqrt",
    "x",
    "y",
    "W",
    "b",
    "h",
    "loss",
    "n",
    "batch",
    "affine",
    "relu",
    "hinge",
    "outer",
    "sum",
    "matmul",
    "=",
    ",",
    "(",
    ")",
    "[",
    "]",
    ":",
    "-",
    "*",
    "1",
    "\n",
    "exp",
    "log",
    "div",
    "max",
    "min",
    "pow",
    "select",
    "clamp",
    "xor",
    "not",
    "gt",
    "sigmoid",
    "softplus",
    "sum_all",
    "scale",
    "mul",
    "0.5",
    "state",
    "sum_axis",
    "argmax",
    "reshape",
    "transpose",
    "concat",
    "onehot",
    "expand",
    "eye",
    "iota",
    "bernoulli",
    "for",
    "in",
    "..",
    "{",
    "}",
    "i",
    "^",
    "step",
    "query",
    "noise_uniform",
    "noise_normal",
    "noise_bernoulli",
    "gather",
    "scatter_add",
    "pad",
];

fn mutate(text: &str, ops: &[(u8, usize, usize)]) -> String {
    let mut lines: Vec<String> = text.lines().map(str::to_owned).collect();
    for &(kind, i, j) in ops {
        if lines.is_empty() {
            break;
        }
        let (i, j) = (i % lines.len(), j % lines.len());
        match kind % 6 {
            0 => {
                lines.remove(i);
            }
            1 => {
                let l = lines[i].clone();
                lines.insert(j, l);
            }
            2 => lines.swap(i, j),
            // Change a shape or a number.
            3 => lines[i] = lines[i].replacen("hidden", "n", 1).replacen('1', "7", 1),
            // Rename a buffer in one place only.
            4 => lines[i] = lines[i].replacen("h", "hh", 1).replacen("dW", "dV", 1),
            _ => lines[i] = lines[i].chars().rev().collect(),
        }
    }
    lines.join("\n")
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(), failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
        front_end(&String::from_utf8_lossy(&bytes));
    }

    #[test]
    fn random_token_sequences_never_panic(toks in proptest::collection::vec(0..TOKENS.len(), 0..60)) {
        let text: Vec<&str> = toks.iter().map(|i| TOKENS[*i]).collect();
        front_end(&text.join(" "));
    }

    #[test]
    fn mutated_programs_never_panic(seed in 0..SEEDS.len(), ops in proptest::collection::vec((any::<u8>(), any::<usize>(), any::<usize>()), 1..6)) {
        front_end(&mutate(SEEDS[seed], &ops));
    }
}

/// Inputs that once broke, or that probe edges, kept as regressions.
#[test]
fn regression_corpus() {
    for text in [
        "",
        "\n\n",
        "dim n = 0",
        "dim n = 99999999999999999999999",
        "dim n = 2\nparam W[n, n, n, n, n, n, n, n, n, n, n, n, n, n, n, n, n, n, n, n, n, n, n, n, n, n, n, n, n, n, n, n, n, n, n, n, n, n, n, n, n, n, n, n, n, n, n, n, n, n, n, n, n, n, n, n, n, n, n, n, n, n, n, n, n, n, n] = zeros",
        "hyper lr = 1 / 0\nparam W[1] = normal(lr)",
        "hyper a = -(-(-(1)))\n",
        "x = relu(x)",
        "é = relu(1)",
        "param W[2] = normal(1)\ninput x[2]\ntarget y[1]\nupdate W sgd(1, 1) with outer(W, x)",
        "param W[2] = normal(1)\ngrad W wrt W",
        "dim n = 3\nparam W[n] = zeros\nl: a = relu(W)\nl: b = relu(W)",
        "param W[2] = zeros\na = mul(relu(W), W)",
        "param W[2] = zeros\na = scale(W, relu(W))",
        "param W[2] = zeros\na = scale(W, W)",
        "dim n = 2\ndim h = n * n - 4\nparam W[h] = zeros",
        "dim n = 2\nparam W[n, n / 3] = zeros",
        "dim n = 2\nparam W[n, n] = eye\na = reshape(W, 0)\nb = expand(W, 9, 1)\nc = sum_axis(W, -1)\nd = onehot(W, 1e300)",
        "dim n = 2\nparam W[n, n] = eye\nparam s[1] = zeros\na = sum_axis(W, s)\nb = concat(W, W, 5)\nc = transpose(s)",
        "param W[3] = iota\na = expand(W, 0, 99999999999)\nb = reshape(W, 99999999999, 99999999999)",
        "dim n = 3\nstate A[n, n] = eye\nfor i in 0..n {\nfor j in i..n {\nA[i, j] = xor(A[i, j], A[j, i])\n}\n}",
        "dim n = 3\nstate A[n, n] = eye\nfor i in 0..99999999 {\nA[0, 0] = copy(A[0, 0])\n}",
        "dim n = 3\nstate A[n, n] = eye\nfor i in n..0 {\nr = copy(A[i, :])\n}\n}\n}",
        "dim n = 3\nstate A[n, n] = eye\nr = copy(A[-1:2, 1.5])\ns = copy(A[0:0, :])\nA = copy(A)\nA[0, :] = affine_grad(A, A)",
        "dim n = 3\nstate A[n, n] = eye\nfor i in 0..n {\nfor i in 0..n {\n}\n}\nfor k in 0..A {\n}",
        "param W[2] = zeros\nparam s[1] = zeros\na = clamp(W, s, s)\nupdate W sgd(1, 0) with scale(a, W)",
        "param W[2] = zeros\nparam s[1] = zeros\na = pow(W, s)\nl = mse(a, W)\ngrad l wrt W, s",
        "param W[2] = zeros\na = query(W)\nb = query(a)\nl = mse(b, W)\ngrad l wrt W\npredict b",
        "state Q[3, 0] = zeros\na = query(Q)\nc = query(Q[1, :])",
        "state s[1] = zeros\na = noise_uniform(1, 0, 3)\nb = noise_normal(s, 2, 2)\nc = noise_bernoulli(2, 99999999999, 99999999999)\nd = noise_normal(1)\ne = noise_normal(1, -1)",
        "state a[3, 2] = iota\nstate i[2] = const(9)\ng = gather(a, i, 0)\nh = scatter_add(a, i, 1, 4)\nk = scatter_add(a, a, 0, 3)\nm = gather(a, i, 7)\nq = scatter_add(a, i, 0, 0)",
        "param a[3, 2] = normal(1)\nstate i[3] = iota\nstate c[3, 2] = zeros\ng = gather(a, i, 0)\nh = scatter_add(g, i, 0, 3)\nl = mse(h, c)\ngrad l wrt a\nupdate a sgd(0.1, 0) with da",
        "state s[2] = zeros\ns = noise_bernoulli(0.5, 2)\ns[0] = noise_normal(step, 1)\nt = noise_uniform(s, s, 2)",
        "param W[2] = zeros\nl = sum_all(W)\ngrad l wrt W as\ngrad l wrt W as W\ngrad l wrt W, W as a, a\ngrad l wrt W as a, b\ngrad l wrt as as as",
        "param W[2] = zeros\nl = sum_all(W)\nm = scale(l, l)\ngrad m wrt W as g\ngrad l wrt W as g2",
        "state A[2, 0] = zeros\nstate Q[0, 3] = zeros\na = pad(A, 1, 2, 1)\nb = pad(Q, 0, 1, 1)\nc = pad(A, 0, 0, 0)\nd = pad(A, 9, 1, 1)\ne = pad(A, 0, 99999999999, 1)",
        "param W[3, 2] = normal(1)\nstate c[2] = zeros\nl = mse(W[1, :], c)\nm = mse(W[0:5, :], c)\ngrad l wrt W\nk = pad(W, 0, 1, 1)\nn = mse(k[0, 0:2], c)\ngrad n wrt W as g",
    ] {
        front_end(text);
    }
    // Deep expressions (issue 12, row 1): a located error, not a stack overflow.
    for text in [
        format!("hyper a = {}1{}", "(".repeat(7_600), ")".repeat(7_600)),
        format!("hyper a = {}1{}", "sqrt(".repeat(7_600), ")".repeat(7_600)),
        format!("hyper a = {}1", "-".repeat(21_000)),
        format!("hyper a = {}", vec!["1"; 87_000].join(" + ")),
        format!("param W[1] = normal({}1{})", "(".repeat(7_600), ")".repeat(7_600)),
    ] {
        front_end(&text);
    }
}
