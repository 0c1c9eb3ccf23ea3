//! Reverse-mode AD is right.
//!
//! 1. Finite differences: for every differentiable primitive, a tiny program
//!    computes `loss = mse(op(...), c)` (or a hinge loss), `grad` lowers it, and
//!    each parameter's gradient is compared with central differences of the loss
//!    computed by an independent f64 reference evaluator written below (naive
//!    loops, not the interpreter's kernels). Tolerance: the f32 gradient must be
//!    within 1e-3·max(1, |fd|) of the f64 central difference (step 1e-6), which is
//!    far above f32 round-off on these tiny sizes (~1e-6 relative) and far below
//!    any wrong rule (an error of a whole term).
//!    Operands may be slices (the reference evaluator cuts them out itself) and
//!    every lowering is printed, re-parsed and run: each buffer gets the same bits.
//! 2. A `grad` program and its hand-written explicit twin train bit-identically.

#![allow(clippy::unwrap_used, clippy::expect_used)] // Test code: a failed unwrap is a failed test.

mod common;
use common::{load, load_text};
use sutro::interp::Interp;
use sutro::ir::{BufId, OpKind, Prim, Range, Role, Scalar, Slot};
use sutro::valid::Validated;

/// Naive f64 semantics of each forward primitive, from its documented definition.
fn eval_prim(prim: Prim, a: &[(Vec<f64>, Vec<usize>)], sc: &[f64]) -> Vec<Vec<f64>> {
    let (x, xs) = (&a[0].0, &a[0].1);
    let y = a.get(1).map(|v| &v.0);
    let ys = a.get(1).map(|v| &v.1);
    // Broadcasting: the output has the largest operand's length; operand k's
    // element for output i is k[i mod len(k)].
    let n = a.iter().map(|v| v.0.len()).max().unwrap();
    let at = |k: usize, i: usize| a[k].0[i % a[k].0.len()];
    let bc = |f: fn(f64, f64) -> f64| (0..n).map(|i| f(at(0, i), at(1, i))).collect::<Vec<_>>();
    let un = |f: &dyn Fn(f64) -> f64| vec![x.iter().map(|v| f(*v)).collect::<Vec<_>>()];
    match prim {
        Prim::Affine => {
            let (w, b) = (&a[1].0, &a[2].0);
            let (bn, i, o) = (xs[0], xs[1], a[1].1[0]);
            vec![
                (0..bn * o)
                    .map(|t| (0..i).map(|j| x[(t / o) * i + j] * w[(t % o) * i + j]).sum::<f64>() + b[t % o])
                    .collect(),
            ]
        }
        Prim::MatMul => {
            let (m, k, n, y) = (xs[0], xs[1], ys.unwrap()[1], y.unwrap());
            vec![
                (0..m * n)
                    .map(|t| (0..k).map(|p| x[(t / n) * k + p] * y[p * n + t % n]).sum())
                    .collect(),
            ]
        }
        Prim::MatMulNt => {
            let (m, k, n, y) = (xs[0], xs[1], ys.unwrap()[0], y.unwrap());
            vec![
                (0..m * n)
                    .map(|t| (0..k).map(|p| x[(t / n) * k + p] * y[(t % n) * k + p]).sum())
                    .collect(),
            ]
        }
        Prim::MatMulTn => {
            let (k, m, n, y) = (xs[0], xs[1], ys.unwrap()[1], y.unwrap());
            vec![
                (0..m * n)
                    .map(|t| (0..k).map(|p| x[p * m + t / n] * y[p * n + t % n]).sum())
                    .collect(),
            ]
        }
        Prim::MatVec => {
            let (m, n, v) = (xs[0], xs[1], y.unwrap());
            vec![(0..m).map(|i| (0..n).map(|j| x[i * n + j] * v[j]).sum()).collect()]
        }
        Prim::MatVecT => {
            let (m, n, v) = (xs[0], xs[1], y.unwrap());
            vec![(0..n).map(|j| (0..m).map(|i| x[i * n + j] * v[i]).sum()).collect()]
        }
        Prim::Outer => {
            let y = y.unwrap();
            let (rows, m, n) = if xs.len() == 1 {
                (1, xs[0], ys.unwrap()[0])
            } else {
                (xs[0], xs[1], ys.unwrap()[1])
            };
            vec![
                (0..m * n)
                    .map(|t| (0..rows).map(|r| x[r * m + t / n] * y[r * n + t % n]).sum())
                    .collect(),
            ]
        }
        Prim::Add => vec![bc(|p, q| p + q)],
        Prim::Sub => vec![bc(|p, q| p - q)],
        Prim::Mul => vec![bc(|p, q| p * q)],
        Prim::Scale => un(&|v| sc[0] * v),
        Prim::Div => vec![bc(|p, q| p / q)],
        Prim::Max => vec![bc(|p, q| if p >= q { p } else { q })],
        Prim::Min => vec![bc(|p, q| if p <= q { p } else { q })],
        Prim::Select => vec![
            (0..n)
                .map(|i| if at(0, i) > 0.0 { at(1, i) } else { at(2, i) })
                .collect(),
        ],
        Prim::Exp => un(&f64::exp),
        Prim::Log => un(&f64::ln),
        Prim::Tanh => un(&f64::tanh),
        Prim::Sigmoid => un(&|v| 1.0 / (1.0 + (-v).exp())),
        Prim::Softplus => un(&|v| (1.0 + v.exp()).ln()),
        Prim::Abs => un(&f64::abs),
        Prim::Sqrt => un(&f64::sqrt),
        Prim::Square => un(&|v| v * v),
        Prim::Neg => un(&|v| -v),
        Prim::Pow => un(&|v| v.powf(sc[0])),
        Prim::Clamp => un(&|v| v.max(sc[0]).min(sc[1])),
        Prim::SumAxis | Prim::MeanAxis => {
            // x as [outer, n, inner] around axis k.
            let k = sc[0] as usize;
            let (outer, len): (usize, usize) = (xs[..k].iter().product(), xs[k]);
            let inner: usize = xs[k + 1..].iter().product();
            let div = if prim == Prim::MeanAxis { len as f64 } else { 1.0 };
            vec![
                (0..outer * inner)
                    .map(|t| {
                        (0..len)
                            .map(|j| x[((t / inner) * len + j) * inner + t % inner])
                            .sum::<f64>()
                            / div
                    })
                    .collect(),
            ]
        }
        Prim::Expand => {
            let (k, len) = (sc[0] as usize, sc[1] as usize);
            let (outer, inner): (usize, usize) = if xs.as_slice() == [1] {
                (1, 1)
            } else {
                (xs[..k].iter().product(), xs[k..].iter().product())
            };
            vec![
                (0..outer * len * inner)
                    .map(|t| x[(t / (len * inner)) * inner + t % inner])
                    .collect(),
            ]
        }
        Prim::Reshape => vec![x.clone()],
        // pad(a, k, before, after): a's block of each leading index between zeros.
        Prim::Pad => {
            let (k, before, after) = (sc[0] as usize, sc[1] as usize, sc[2] as usize);
            let outer: usize = xs[..k].iter().product();
            let inner: usize = xs[k + 1..].iter().product();
            let block = xs[k] * inner;
            let mut out = Vec::new();
            for o in 0..outer {
                out.extend(std::iter::repeat_n(0.0, before * inner));
                out.extend_from_slice(&x[o * block..(o + 1) * block]);
                out.extend(std::iter::repeat_n(0.0, after * inner));
            }
            vec![out]
        }
        // gather(a, i, k): out[pre, j, post] = a[pre, i[j], post].
        Prim::Gather => {
            let (idx, k) = (y.unwrap(), sc[0] as usize);
            let (outer, d): (usize, usize) = (xs[..k].iter().product(), xs[k]);
            let inner: usize = xs[k + 1..].iter().product();
            let mut out = Vec::new();
            for o in 0..outer {
                for j in idx {
                    for t in 0..inner {
                        out.push(x[(o * d + *j as usize) * inner + t]);
                    }
                }
            }
            vec![out]
        }
        // scatter_add(u, i, k, n): out[pre, i[j], post] += u[pre, j, post].
        Prim::ScatterAdd => {
            let (idx, k, n) = (y.unwrap(), sc[0] as usize, sc[1] as usize);
            let ir = ys.unwrap().len();
            let outer: usize = xs[..k].iter().product();
            let inner: usize = xs[k + ir..].iter().product();
            let m = idx.len();
            let mut out = vec![0.0; outer * n * inner];
            for o in 0..outer {
                for (j, v) in idx.iter().enumerate() {
                    for t in 0..inner {
                        out[(o * n + *v as usize) * inner + t] += x[(o * m + j) * inner + t];
                    }
                }
            }
            vec![out]
        }
        Prim::Logistic => {
            let y = y.unwrap();
            vec![vec![
                x.iter().zip(y).map(|(p, t)| (1.0 + (-t * p).exp()).ln()).sum::<f64>() / x.len() as f64,
            ]]
        }
        Prim::SoftmaxXent => {
            let (t, cols) = (y.unwrap(), *xs.last().unwrap());
            let rows = x.len() / cols;
            let per_row = |r: usize| {
                let row = &x[r * cols..(r + 1) * cols];
                let lse = row.iter().map(|v| v.exp()).sum::<f64>().ln();
                lse - row
                    .iter()
                    .zip(&t[r * cols..(r + 1) * cols])
                    .map(|(v, w)| v * w)
                    .sum::<f64>()
            };
            vec![vec![(0..rows).map(per_row).sum::<f64>() / rows as f64]]
        }
        Prim::Transpose => {
            let (m, n) = (xs[0], xs[1]);
            vec![(0..m * n).map(|t| x[(t % m) * n + t / m]).collect()]
        }
        Prim::Relu => vec![x.iter().map(|v| v.max(0.0)).collect()],
        Prim::Copy => vec![x.clone()],
        Prim::Sign => vec![
            x.iter()
                .map(|v| {
                    if *v > 0.0 {
                        1.0
                    } else if *v < 0.0 {
                        -1.0
                    } else {
                        0.0
                    }
                })
                .collect(),
        ],
        Prim::Sum => {
            let n = if xs.len() == 1 {
                x.len()
            } else {
                xs[1..].iter().product()
            };
            let out = if xs.len() == 1 { 1 } else { n };
            vec![
                (0..out)
                    .map(|j| x.iter().skip(j).step_by(if xs.len() == 1 { 1 } else { n }).sum())
                    .collect(),
            ]
        }
        Prim::SumAll => vec![vec![x.iter().sum()]],
        Prim::Concat => {
            // a then b along axis k: per leading index, a's block then b's.
            let (y, ys, k) = (y.unwrap(), ys.unwrap(), sc[0] as usize);
            let outer: usize = xs[..k].iter().product();
            let (ia, ib): (usize, usize) = (xs[k..].iter().product(), ys[k..].iter().product());
            let mut out = Vec::new();
            for o in 0..outer {
                out.extend_from_slice(&x[o * ia..(o + 1) * ia]);
                out.extend_from_slice(&y[o * ib..(o + 1) * ib]);
            }
            vec![out]
        }
        Prim::Mse => {
            let y = y.unwrap();
            vec![vec![
                x.iter().zip(y).map(|(p, t)| (p - t) * (p - t)).sum::<f64>() / x.len() as f64,
            ]]
        }
        Prim::Hinge => {
            let y = y.unwrap();
            vec![vec![
                x.iter().zip(y).map(|(p, t)| (1.0 - t * p).max(0.0)).sum::<f64>() / x.len() as f64,
            ]]
        }
        other => panic!("no f64 reference for {other}"),
    }
}

/// The elements of `x` (shape `dims`) a slice selects, in row-major order, and
/// the slice's shape: every multi-index of `x` is kept when each axis's index
/// lies in its range (`:` all, `E` that one, dropped from the shape; `LO:HI`).
fn slice64(v: &Validated, x: &[f64], dims: &[usize], axes: &[Range]) -> (Vec<f64>, Vec<usize>) {
    let bounds: Vec<(usize, usize, bool)> = axes
        .iter()
        .zip(dims)
        .map(|(r, d)| match r {
            Range::All => (0, *d, true),
            Range::Index(e) => (v.eval(e) as usize, v.eval(e) as usize + 1, false),
            Range::Span(a, b) => (v.eval(a) as usize, v.eval(b) as usize, true),
        })
        .collect();
    let mut out = Vec::new();
    for (e, val) in x.iter().enumerate() {
        let mut rest = e;
        let mut inside = true;
        for k in (0..dims.len()).rev() {
            let i = rest % dims[k];
            rest /= dims[k];
            inside &= bounds[k].0 <= i && i < bounds[k].1;
        }
        if inside {
            out.push(*val);
        }
    }
    let mut shape: Vec<usize> = bounds.iter().filter(|b| b.2).map(|b| b.1 - b.0).collect();
    if shape.is_empty() {
        shape.push(1);
    }
    (out, shape)
}

/// Runs the forward ops (up to the loss op; the lowered backward ops follow it) in f64.
fn loss64(v: &Validated, vals: &[Vec<f64>], loss: BufId) -> f64 {
    let p = v.program();
    let mut vals = vals.to_vec();
    for &id in &p.order {
        let OpKind::Call {
            prim,
            outs,
            args,
            scalars,
            slices,
        } = &p.op(id).kind
        else {
            continue;
        };
        let a: Vec<(Vec<f64>, Vec<usize>)> = args
            .iter()
            .enumerate()
            .map(|(i, b)| {
                let (x, dims) = (&vals[b.idx()], v.shape(*b));
                match slices.iter().find(|s| s.slot == Slot::Arg(i)) {
                    Some(s) => slice64(v, x, dims, &s.axes),
                    None => (x.clone(), dims.to_vec()),
                }
            })
            .collect();
        let sc: Vec<f64> = scalars
            .iter()
            .map(|s| match s {
                Scalar::Expr(e) => v.eval(e),
                Scalar::Buf(b) => vals[b.idx()][0],
            })
            .collect();
        for (o, val) in outs.iter().zip(eval_prim(*prim, &a, &sc)) {
            vals[o.idx()] = val;
        }
        if outs.contains(&loss) {
            break;
        }
    }
    vals[loss.idx()][0]
}

/// Checks every gradient of `wrt` in a program whose loss buffer is `loss`.
fn check(src: &str, wrt: &[&str]) {
    let named: Vec<(&str, String)> = wrt.iter().map(|w| (*w, format!("d{w}"))).collect();
    check_named(src, "loss", &named);
}

/// Checks the gradient buffer `g` of each `(param, g)` against central
/// differences of the loss buffer `loss_name`.
/// One step of a loaded program with the test's fixed, varied inputs (the
/// interpreter initialised params and state from seed 11).
fn one_step(v: &Validated) -> Interp<'_> {
    let p = v.program();
    let mut it = Interp::new(v, 11);
    for (i, b) in p.buffers.values().enumerate() {
        if matches!(b.role, Role::Input | Role::Target) {
            let buf = it.buffer_mut(BufId(i as u32));
            for (j, x) in buf.iter_mut().enumerate() {
                *x = if j % 2 == 0 { 1.0 } else { -1.0 } * (0.5 + 0.25 * (j % 3) as f32);
            }
        }
    }
    it.step(0, None).unwrap();
    it
}

fn check_named(src: &str, loss_name: &str, wrt: &[(&str, String)]) {
    let l = load_text("fd.sutro", src, &[]);
    let v = &l.validated;
    let p = v.program();
    let it = one_step(v);
    // The lowered text is a program: canonical, and its step gives every buffer the same bits.
    let text = p.to_string();
    let again = load_text("fd_lowered.sutro", &text, &[]);
    assert_eq!(
        again.validated.program().to_string(),
        text,
        "lowered text is not canonical"
    );
    let it2 = one_step(&again.validated);
    for (i, b) in p.buffers.values().enumerate() {
        let b2 = again.validated.program().buf_id(&b.name).unwrap();
        let bits = |x: &[f32]| x.iter().map(|v| v.to_bits()).collect::<Vec<_>>();
        assert_eq!(
            bits(it.buffer(BufId(i as u32))),
            bits(it2.buffer(b2)),
            "`{}` differs in the re-parsed lowering\n{text}",
            b.name
        );
    }
    let vals: Vec<Vec<f64>> = (0..p.buffers.len())
        .map(|i| it.buffer(BufId(i as u32)).iter().map(|x| f64::from(*x)).collect())
        .collect();
    let loss = p.buf_id(loss_name).unwrap();
    let f32_loss = f64::from(it.buffer(loss)[0]);
    let ref_loss = loss64(v, &vals, loss);
    assert!(
        (f32_loss - ref_loss).abs() <= 1e-4 * ref_loss.abs().max(1.0),
        "forward loss {f32_loss} vs f64 {ref_loss}"
    );
    let eps = 1e-6;
    for (name, gname) in wrt {
        let pid = p.buf_id(name).unwrap();
        let g = it.buffer(p.buf_id(gname).unwrap()).to_vec();
        assert_eq!(g.len(), vals[pid.idx()].len(), "{gname} has the shape of {name}");
        for e in 0..g.len() {
            let mut plus = vals.clone();
            plus[pid.idx()][e] += eps;
            let mut minus = vals.clone();
            minus[pid.idx()][e] -= eps;
            let fd = (loss64(v, &plus, loss) - loss64(v, &minus, loss)) / (2.0 * eps);
            let got = f64::from(g[e]);
            assert!(
                (got - fd).abs() <= 1e-3 * fd.abs().max(1.0),
                "{gname}[{e}] = {got}, finite difference {fd}\n{src}"
            );
        }
    }
}

const HEAD: &str = "dim b = 2\ndim i = 3\ndim o = 4\n";

fn prog(decls: &str, body: &str, wrt: &str) -> String {
    format!("{HEAD}{decls}\n{body}\ngrad loss wrt {wrt}\n")
}

#[test]
fn affine_gradients_match_finite_differences() {
    let d =
        "param W[o, i] = normal(1)\nparam bias[o] = normal(1)\nparam x[b, i] = normal(1)\nstate c[b, o] = normal(1)";
    check(
        &prog(d, "t = affine(x, W, bias)\nloss = mse(t, c)", "W, bias, x"),
        &["W", "bias", "x"],
    );
    check(&prog(d, "t = affine(x, W, bias)\nloss = mse(t, c)", "W"), &["W"]);
    check(&prog(d, "t = affine(x, W, bias)\nloss = mse(t, c)", "bias"), &["bias"]);
}

#[test]
fn matmul_family_gradients_match_finite_differences() {
    let cases = [
        (
            "param a[b, i] = normal(1)\nparam m[i, o] = normal(1)\nstate c[b, o] = normal(1)",
            "t = matmul(a, m)",
        ),
        (
            "param a[b, i] = normal(1)\nparam m[o, i] = normal(1)\nstate c[b, o] = normal(1)",
            "t = matmul_nt(a, m)",
        ),
        (
            "param a[i, b] = normal(1)\nparam m[i, o] = normal(1)\nstate c[b, o] = normal(1)",
            "t = matmul_tn(a, m)",
        ),
    ];
    for (d, op) in cases {
        check(&prog(d, &format!("{op}\nloss = mse(t, c)"), "a, m"), &["a", "m"]);
    }
}

#[test]
fn matvec_and_outer_gradients_match_finite_differences() {
    let d = "param m[o, i] = normal(1)\nparam v[i] = normal(1)\nparam u[o] = normal(1)\nstate c[o] = normal(1)\nstate ci[i] = normal(1)\nstate cm[o, i] = normal(1)";
    check(&prog(d, "t = matvec(m, v)\nloss = mse(t, c)", "m, v"), &["m", "v"]);
    check(&prog(d, "t = matvec_t(m, u)\nloss = mse(t, ci)", "m, u"), &["m", "u"]);
    check(&prog(d, "t = outer(u, v)\nloss = mse(t, cm)", "u, v"), &["u", "v"]);
    let d2 = "param p[b, o] = normal(1)\nparam q[b, i] = normal(1)\nstate cm[o, i] = normal(1)";
    check(&prog(d2, "t = outer(p, q)\nloss = mse(t, cm)", "p, q"), &["p", "q"]);
}

#[test]
fn elementwise_gradients_match_finite_differences() {
    let d = "param p[b, o] = normal(1)\nparam q[b, o] = normal(1)\nparam r[o] = normal(1)\nstate c[b, o] = normal(1)";
    for op in [
        "add(p, q)",
        "sub(p, q)",
        "mul(p, q)",
        "scale(p, 0.5 * 3)",
        "relu(p)",
        "copy(p)",
    ] {
        let wrt = if op.contains('q') { "p, q" } else { "p" };
        let names: Vec<&str> = wrt.split(", ").collect();
        check(&prog(d, &format!("t = {op}\nloss = mse(t, c)"), wrt), &names);
    }
    // Row broadcast: the bias-like operand's gradient sums over rows.
    check(&prog(d, "t = add(p, r)\nloss = mse(t, c)", "p, r"), &["p", "r"]);
    check(&prog(d, "t = mul(p, r)\nloss = mse(t, c)", "p"), &["p"]);
}

#[test]
fn elementwise_maths_gradients_match_finite_differences() {
    let d = "param p[b, o] = normal(1)\nparam q[b, o] = uniform(0.5, 2)\nparam r[o] = uniform(0.5, 2)\nparam s1[1] = uniform(0.5, 2)\nstate k[b, o] = normal(1)\nstate c[b, o] = normal(1)";
    let unary = [
        "exp(p)",
        "log(q)",
        "tanh(p)",
        "sigmoid(p)",
        "softplus(p)",
        "abs(p)",
        "sqrt(q)",
        "square(p)",
        "neg(p)",
        "pow(q, 1.5)",
        "clamp(p, -0.5, 0.5)",
    ];
    for op in unary {
        let w = if op.contains("(q") { "q" } else { "p" };
        check(&prog(d, &format!("t = {op}\nloss = mse(t, c)"), w), &[w]);
    }
    for op in ["div(p, q)", "max(p, q)", "min(p, q)", "select(k, p, q)"] {
        check(&prog(d, &format!("t = {op}\nloss = mse(t, c)"), "p, q"), &["p", "q"]);
    }
    // Broadcast operands: a [1] buffer either side, a trailing-shape one, a buffer scalar.
    for (op, wrt) in [
        ("mul(p, s1)", "p, s1"),
        ("sub(s1, p)", "p, s1"),
        ("add(s1, p)", "p, s1"),
        ("div(p, r)", "p, r"),
        ("div(s1, q)", "q, s1"),
        ("max(p, s1)", "p, s1"),
        ("min(r, p)", "p, r"),
        ("select(k, s1, p)", "p, s1"),
        ("scale(p, s1)", "p, s1"),
    ] {
        let names: Vec<&str> = wrt.split(", ").collect();
        check(&prog(d, &format!("t = {op}\nloss = mse(t, c)"), wrt), &names);
    }
    // A chain through several new ops, with a param used twice.
    check(
        &prog(
            d,
            "t1 = tanh(p)\nt2 = mul(t1, q)\nt3 = sigmoid(t2)\nt4 = add(t3, p)\nloss = mse(t4, c)",
            "p, q",
        ),
        &["p", "q"],
    );
}

#[test]
fn reduction_and_layout_gradients_match_finite_differences() {
    let d = "param p[b, o] = normal(1)\nparam v[o] = normal(1)\nstate c[o, b] = normal(1)\nstate cb[b] = normal(1)\nstate co[o] = normal(1)\nstate c3[b, 2, o] = normal(1)\nstate c1[1] = normal(1)";
    for (body, wrt) in [
        ("t = transpose(p)\nloss = mse(t, c)", "p"),
        ("t = reshape(p, o, b)\nloss = mse(t, c)", "p"),
        ("t = sum_axis(p, 1)\nloss = mse(t, cb)", "p"),
        ("t = sum_axis(p, 0)\nloss = mse(t, co)", "p"),
        ("t = mean_axis(p, 1)\nloss = mse(t, cb)", "p"),
        ("t = expand(p, 1, 2)\nloss = mse(t, c3)", "p"),
        ("t = expand(v, 0, 3)\nu = sum_axis(t, 0)\nloss = mse(u, co)", "v"),
        ("t = mean_axis(v, 0)\nloss = mse(t, c1)", "v"),
        ("t = sum(p)\nloss = mse(t, co)", "p"),
        ("t = sum(v)\nloss = mse(t, c1)", "v"),
        ("t = sum_all(p)\nloss = mse(t, c1)", "p"),
        ("t = sum_all(v)\nloss = mse(t, c1)", "v"),
        ("t = square(p)\nloss = sum_all(t)", "p"),
    ] {
        check(&prog(d, body, wrt), &[wrt]);
    }
    // concat along either axis: each operand's gradient is a slice of dy.
    let d2 = "param p[b, o] = normal(1)\nparam q[b, i] = normal(1)\nparam r[i, o] = normal(1)\nstate c1[b, 7] = normal(1)\nstate c0[5, o] = normal(1)";
    check(&prog(d2, "t = concat(p, q, 1)\nloss = mse(t, c1)", "p, q"), &["p", "q"]);
    check(&prog(d2, "t = concat(p, r, 0)\nloss = mse(t, c0)", "p, r"), &["p", "r"]);
    check(&prog(d2, "t = concat(q, p, 1)\nloss = mse(t, c1)", "p"), &["p"]);
}

#[test]
fn logistic_and_softmax_xent_gradients_match_finite_differences() {
    let d = "param W[o, i] = normal(1)\nparam bias[o] = normal(1)\ninput x[b, i]\ntarget y[b, o]";
    check(
        &prog(d, "t = affine(x, W, bias)\nloss = logistic(t, y)", "W, bias"),
        &["W", "bias"],
    );
    // Soft targets (the test inputs are ±0.5…1): the rule holds for any t.
    check(
        &prog(d, "t = affine(x, W, bias)\nloss = softmax_xent(t, y)", "W, bias"),
        &["W", "bias"],
    );
}

#[test]
fn comparisons_and_bits_pass_no_gradient() {
    for op in [
        "gt(p, c)",
        "ge(p, c)",
        "lt(p, c)",
        "le(p, c)",
        "eq(p, c)",
        "xor(p, c)",
        "and(p, c)",
        "or(p, c)",
        "not(p)",
    ] {
        let src = prog(
            "param p[b, o] = normal(1)\nstate c[b, o] = normal(1)",
            &format!("t = {op}\nloss = mse(t, c)"),
            "p",
        );
        let f = sutro::span::SourceFile::new("s.sutro", src.as_str());
        let e = sutro::load(&f, &Default::default(), &Default::default()).unwrap_err();
        assert_eq!(e.diagnostics()[0].message, "the loss does not depend on `p`", "{op}");
    }
}

#[test]
fn hinge_and_shared_uses_match_finite_differences() {
    // A 2-layer net with hinge loss, and a param used twice (summed contributions).
    let d = "param W[o, i] = normal(1)\nparam bias[o] = normal(0.1)\nparam V[1, o] = normal(1)\nparam z[1] = zeros\ninput x[b, i]\ntarget y[b]";
    check(
        &prog(
            d,
            "h = affine(x, W, bias)\na = relu(h)\nt = affine(a, V, z)\nloss = hinge(t, y)",
            "W, bias, V, z",
        ),
        &["W", "bias", "V", "z"],
    );
    let d2 = "param p[b, o] = normal(1)\nstate c[b, o] = normal(1)";
    check(&prog(d2, "t = mul(p, p)\nu = add(t, p)\nloss = mse(u, c)", "p"), &["p"]);
}

#[test]
fn sign_passes_no_gradient_and_that_is_an_error_when_nothing_else_does() {
    let src = prog(
        "param p[b, o] = normal(1)\nstate c[b, o] = normal(1)",
        "t = sign(p)\nloss = mse(t, c)",
        "p",
    );
    let f = sutro::span::SourceFile::new("s.sutro", src.as_str());
    let e = sutro::load(&f, &Default::default(), &Default::default()).unwrap_err();
    let msg = e.diagnostics()[0].message.clone();
    assert_eq!(msg, "the loss does not depend on `p`");
}

#[test]
fn grad_program_and_its_explicit_twin_train_bit_identically() {
    let a = load("programs/sparse_parity.sutro", &[]);
    let b = load("tests/fixtures/sparse_parity_explicit.sutro", &[]);
    let session = |l: &sutro::Loaded| {
        sutro::Session::new(l.clone(), "parity", &Default::default(), &Default::default(), 3).unwrap()
    };
    let pa = session(&a).run_steps(100).unwrap();
    let pb = session(&b).run_steps(100).unwrap();
    assert_eq!(pa.len(), 4);
    for ((na, va), (nb, vb)) in pa.iter().zip(&pb) {
        assert_eq!(na, nb);
        assert!(
            va.iter().zip(vb).all(|(x, y)| x.to_bits() == y.to_bits()),
            "{na} differs after 100 steps"
        );
    }
    // And the lowering prints exactly the hand-written backward ops.
    let lowered = a.validated.program().to_string();
    let twin = std::fs::read_to_string(common::root().join("tests/fixtures/sparse_parity_explicit.sutro")).unwrap();
    let twin_ops: Vec<&str> = twin
        .lines()
        .skip_while(|l| !l.starts_with("dout"))
        .take_while(|l| !l.is_empty())
        .collect();
    assert_eq!(twin_ops.len(), 5);
    for op in twin_ops {
        assert!(lowered.contains(op), "lowering lacks `{op}`:\n{lowered}");
    }
}

#[test]
fn gather_and_scatter_add_gradients_match_finite_differences() {
    // Indices with a repeat (`rep` = [1, 1]) and a permutation-like one (`io` = 0, 1, 2).
    let d = "param p[b, o] = normal(1)\nparam q[b, 3] = normal(1)\nparam r[2, o] = normal(1)\nstate io[3] = iota\nstate rep[2] = const(1)\nstate c3[b, 3] = normal(1)\nstate c2[b, 2] = normal(1)\nstate cr[2, o] = normal(1)\nstate co[b, o] = normal(1)\nstate cs[3, o] = normal(1)";
    for (body, wrt) in [
        ("t = gather(p, io, 1)\nloss = mse(t, c3)", "p"),
        ("t = gather(p, rep, 1)\nloss = mse(t, c2)", "p"),
        ("t = gather(r, rep, 0)\nloss = mse(t, cr)", "r"),
        ("t = scatter_add(q, io, 1, o)\nloss = mse(t, co)", "q"),
        ("t = scatter_add(r, rep, 0, 3)\nloss = mse(t, cs)", "r"),
        (
            "t = gather(p, rep, 1)\nu = scatter_add(t, rep, 1, o)\nloss = mse(u, co)",
            "p",
        ),
    ] {
        check(&prog(d, body, wrt), &[wrt]);
    }
}

/// The net of `hinge_and_shared_uses_match_finite_differences`, with two losses of it.
const NET: &str = "param W[o, i] = normal(1)\nparam bias[o] = normal(0.1)\nparam V[1, o] = normal(1)\nparam z[1] = zeros\ninput x[b, i]\ntarget y[b]\nh = affine(x, W, bias)\na = relu(h)\nt = affine(a, V, z)\nl1 = hinge(t, y)\nl2 = mse(t, y)\nl3 = logistic(t, y)";

#[test]
fn a_loss_computed_from_losses_matches_finite_differences() {
    // Sums, weighted sums, products and a softplus of losses: the seed is
    // dL = 1 and each loss op's gradient is scaled by the incoming gradient.
    for body in [
        "loss = add(l1, l2)",
        "loss = scale(l2, 0.5)",
        "s = scale(l2, 0.25)\nu = sub(l1, s)\nloss = add(u, l3)",
        "loss = mul(l1, l2)",
        "u = add(l2, l3)\nloss = softplus(u)",
    ] {
        let src = format!("{HEAD}{NET}\n{body}\ngrad loss wrt W, bias, V, z\n");
        check(&src, &["W", "bias", "V", "z"]);
    }
    // softmax_xent inside a weighted loss (soft targets, as above).
    let d = "param W[o, i] = normal(1)\nparam bias[o] = normal(1)\ninput x[b, i]\ntarget y[b, o]";
    check(
        &prog(
            d,
            "t = affine(x, W, bias)\nl = softmax_xent(t, y)\nloss = scale(l, 0.5)",
            "W, bias",
        ),
        &["W", "bias"],
    );
}

#[test]
fn a_loss_without_a_loss_op_matches_finite_differences() {
    // A Forward-Forward layer's objective: goodness = Σ h², loss =
    // mean(softplus(θ − goodness)), written from elementwise ops and reductions.
    let d = "param W[o, i] = normal(1)\nparam bias[o] = normal(0.1)\ninput x[b, i]";
    let body = "h = affine(x, W, bias)\na = relu(h)\nq = square(a)\ng = sum_axis(q, 1)\nu = scale(g, -1)\n";
    let src = format!("{HEAD}{d}\n{body}sp = softplus(u)\nloss = mean_axis(sp, 0)\ngrad loss wrt W, bias\n");
    check(&src, &["W", "bias"]);
}

#[test]
fn several_named_grads_in_one_step_each_match_their_loss() {
    let src = format!(
        "{HEAD}{NET}\nloss = add(l1, l2)\ngrad l1 wrt W, bias as gW1, gb1\nfirst: grad l2 wrt W, V as gW2, gV2\ngrad loss wrt W, bias, V, z\n"
    );
    let s = |v: &str| v.to_string();
    check_named(&src, "l1", &[("W", s("gW1")), ("bias", s("gb1"))]);
    check_named(&src, "l2", &[("W", s("gW2")), ("V", s("gV2"))]);
    check(&src, &["W", "bias", "V", "z"]);
    // Each named grad's intermediates carry its label, or else its loss's name.
    let l = load_text("fd.sutro", &src, &[]);
    let lowered = l.validated.program().to_string();
    for line in [
        "l1_dt = hinge_grad(t, y)",
        "first_dt = mse_grad(t, y)",
        "dloss = pow(loss, 0)",
    ] {
        assert!(lowered.contains(line), "lowering lacks `{line}`:\n{lowered}");
    }
    // The source form prints back as written.
    let parsed = sutro::syntax::parse("fd.sutro", &src).unwrap();
    assert!(parsed.to_string().contains("first: grad l2 wrt W, V as gW2, gV2"));
}

#[test]
fn named_grad_errors_are_clear() {
    let cases = [
        ("grad l1 wrt W, bias as gW", "`grad` names 1 gradient(s) for 2 param(s)"),
        ("grad l1 wrt W, bias as g, g", "duplicate name `g`"),
        ("grad l1 wrt W as h", "duplicate name `h`"),
        (
            "grad l1 wrt W\ngrad l2 wrt W",
            "`grad` defines `dW`, which is already defined",
        ),
        // Two grads of one loss need labels (op names are unique), which keep their names apart.
        (
            "grad l1 wrt W as g1\ngrad l1 wrt bias as g2",
            "duplicate op name `grad_l1`",
        ),
        (
            "l1_dt = copy(t)\ngrad l1 wrt W as g1",
            "`grad` needs the name `l1_dt`, which is already defined",
        ),
    ];
    for (line, msg) in cases {
        let src = format!("{HEAD}{NET}\n{line}\n");
        let f = sutro::span::SourceFile::new("s.sutro", src.as_str());
        let e = sutro::load(&f, &Default::default(), &Default::default()).unwrap_err();
        assert_eq!(e.diagnostics()[0].message, msg, "{line}");
    }
}

#[test]
fn pad_gradients_match_finite_differences() {
    let d = "param p[b, o] = normal(1)\nparam v[i] = normal(1)\nstate c1[b, 7] = normal(1)\nstate c0[3, o] = normal(1)\nstate cv[5] = normal(1)";
    for (body, wrt) in [
        ("t = pad(p, 1, 2, 1)\nloss = mse(t, c1)", "p"),
        ("t = pad(p, 0, 0, 1)\nloss = mse(t, c0)", "p"),
        ("t = pad(v, 0, 1, 1)\nloss = mse(t, cv)", "v"),
        // Counts written with dims: the lowering evaluates them.
        ("t = pad(p, 1, b, i - 2)\nloss = mse(t, c1)", "p"),
    ] {
        check(&prog(d, body, wrt), &[wrt]);
    }
}

/// Ops whose operands are slices: the gradient with respect to the slice is
/// padded with zeros to the whole buffer's shape and the contributions summed.
#[test]
fn sliced_reads_gradients_match_finite_differences() {
    let d = "param A[3, o] = normal(1)\nparam W[5, i] = normal(1)\nparam V[i, 5] = normal(1)\nparam bias[o] = normal(1)\nparam x[b, i] = normal(1)\nparam T[2, 3, 4] = normal(1)\ninput xi[b, i]\nstate co[o] = normal(1)\nstate c2[b, 2] = normal(1)\nstate cb[2] = normal(1)\nstate c1[1, 2] = normal(1)\nstate ct[2, 3, 4] = normal(1)";
    for (body, wrt) in [
        // Rows by a single index (the axis comes back by `reshape`), one row
        // read twice and twice by one op.
        (
            "r0 = scale(A[0, :], 2)\nr2 = mul(A[2, :], A[0, :])\nt = add(r0, r2)\nloss = mse(t, co)",
            "A",
        ),
        // A block of rows of W and of bias; the backward op reads the same block.
        ("t = affine(x, W[1:3, :], bias[0:2])\nloss = mse(t, c2)", "W, bias, x"),
        // A column range.
        ("t = matmul(x, V[:, 3:5])\nloss = mse(t, c2)", "V, x"),
        // 3-d slices: an index and two ranges, and a whole-axis slice.
        (
            "u = tanh(T[1, 0:2, 1:4])\ns = sum_axis(u, 1)\nw = mul(T[:, 2, 0:2], T[0:2, 1, 2:4])\nz = sum_axis(w, 0)\nt = add(s, z)\nloss = mse(t, cb)",
            "T",
        ),
        ("t = copy(T[:, :, :])\nloss = mse(t, ct)", "T"),
        // A row that broadcasts over the rows of x's product: summed, then padded.
        (
            "h = matmul_nt(x, W[0:4, :])\nt = add(h, A[1, :])\nu = sum_axis(t, 0)\nloss = mse(u, co)",
            "A, W, x",
        ),
        // A sliced input read by the backward op, and a sliced loss operand.
        (
            "t = affine(xi[0:1, :], W[0:4, :], bias)\nu = copy(t[:, 1:3])\nloss = mse(u, c1)",
            "W, bias",
        ),
        ("t = affine(x, W[1:5, :], bias)\nloss = mse(t[0:1, 1:3], c1)", "W, x"),
        // Rows read in a loop, summed in a loop-carried temporary.
        (
            "h = scale(A[0, :], 1)\nfor r in 1..3 {\ne = exp(A[r, :])\nh = add(h, e)\n}\nloss = mse(h, co)",
            "A",
        ),
    ] {
        let names: Vec<&str> = wrt.split(", ").collect();
        check(&prog(d, body, wrt), &names);
    }
    // A named grad prefixes the slices' gradients too.
    let src = format!(
        "{HEAD}{d}\nt = affine(x, W[1:3, :], bias[0:2])\nloss = mse(t, c2)\ng: grad loss wrt W, bias as gW, gb\n"
    );
    let s = |v: &str| v.to_string();
    check_named(&src, "loss", &[("W", s("gW")), ("bias", s("gb"))]);
    let lowered = load_text("named.sutro", &src, &[]).validated.program().to_string();
    assert!(lowered.contains("gW = pad(g_dW_at_t, 0, 1, 2)"), "{lowered}");
    // A name the lowering needs for a slice's gradient that the program took is a clash.
    let src = format!(
        "{HEAD}{d}\ndW_at_t = copy(x)\nt = affine(x, W[1:3, :], bias[0:2])\nloss = mse(t, c2)\ngrad loss wrt W\n"
    );
    let f = sutro::span::SourceFile::new("s.sutro", src.as_str());
    let e = sutro::load(&f, &Default::default(), &Default::default()).unwrap_err();
    assert_eq!(
        e.diagnostics()[0].message,
        "`grad` needs the name `dW_at_t`, which is already defined"
    );
}

/// Loops unroll before `grad`: a row `A[t, :]` read in a loop is an ordinary
/// sliced operand. A loop's temporaries do not outlive it, so its rows reach a
/// loss only through an in-place write, and `grad` refuses those by name.
#[test]
fn a_sliced_read_in_a_loop_reaches_the_loss_only_through_an_in_place_write() {
    let src = format!(
        "{HEAD}param A[3, o] = normal(1)\nstate S[3, o] = zeros\nstate c[3, o] = normal(1)\nfor t in 0..3 {{\n    r = scale(A[t, :], 2)\n    S[t, :] = tanh(r)\n}}\nloss = mse(S, c)\ngrad loss wrt A\n"
    );
    let f = sutro::span::SourceFile::new("s.sutro", src.as_str());
    let e = sutro::load(&f, &Default::default(), &Default::default()).unwrap_err();
    let d = &e.diagnostics()[0];
    assert_eq!(d.message, "`grad` cannot differentiate through `tanh` (op `set_S_2`)");
    // The op's label says why: `tanh` has a rule, the write in place has none.
    let (span, why) = &d.labels[1];
    assert_eq!(
        why,
        "writes a param or state buffer in place, which `grad` does not differentiate"
    );
    assert_eq!(
        f.line_col(span.start as usize).0,
        9,
        "the last iteration's `S[t, :] = tanh(r)`"
    );
}
