//! The elementwise kernels against naive references written here: for every
//! elementwise primitive, a one-op program runs in the interpreter on chosen
//! values (including ±0, negatives, ties and values outside {0, 1}) and each
//! output element is compared with the documented definition. Exact ops
//! (comparisons, bits, select, max/min, abs, neg, square, div, clamp) must match
//! bit for bit; the `libm` ones (exp, log, tanh, sigmoid, softplus, pow) must lie
//! within 2 f32 ulps of the f64 value (libm's f32 functions are accurate to
//! about 1 ulp). Broadcasting: a `[1]` operand on either side, a trailing-shape
//! operand, and a `[1]` buffer as a scalar operand.
#![allow(clippy::unwrap_used, clippy::expect_used)] // Test code: a failed unwrap is a failed test.

mod common;
use common::load_text;
use sutro::interp::Interp;

/// Values that probe the edges: signs, zeros, ties with `B`, non-bits.
const A: [f32; 8] = [-2.5, -1.0, -0.0, 0.0, 0.5, 1.0, 2.0, 3.0];
const B: [f32; 8] = [1.0, -1.0, 0.0, -0.0, 2.0, 1.0, -3.0, 3.0];
const POS: [f32; 8] = [0.125, 0.5, 1.0, 1.5, 2.0, 3.0, 7.0, 10.0];

/// Runs `c = OP` on inputs `a`, `bb`, `k` ([2,4]) and `one` ([1]), `row` ([4]).
fn run(op: &str, a: &[f32], b: &[f32]) -> Vec<f32> {
    let src = format!(
        "dim r = 2\ndim c = 4\ninput a[r, c]\ninput bb[r, c]\ninput k[r, c]\ninput one[1]\ninput row[c]\nout = {op}\n"
    );
    let l = load_text("k.sutro", &src, &[]);
    let v = &l.validated;
    let p = v.program();
    let mut it = Interp::new(v, 0).with_finite_check(false);
    let set = |it: &mut Interp, name: &str, vals: &[f32]| {
        it.buffer_mut(p.buf_id(name).unwrap()).copy_from_slice(vals);
    };
    set(&mut it, "a", a);
    set(&mut it, "bb", b);
    set(&mut it, "k", &[1.0, 0.0, -1.0, 2.0, 0.0, 0.5, -0.0, 1.0]);
    set(&mut it, "one", &[0.75]);
    set(&mut it, "row", &[1.0, -2.0, 0.0, 4.0]);
    it.step(0, None).unwrap();
    it.buffer(p.buf_id("out").unwrap()).to_vec()
}

fn exact(op: &str, a: &[f32], b: &[f32], f: impl Fn(f32, f32) -> f32) {
    let got = run(op, a, b);
    for i in 0..8 {
        let want = f(a[i], b[i]);
        assert_eq!(
            got[i].to_bits(),
            want.to_bits(),
            "{op}[{i}]: got {}, want {want}",
            got[i]
        );
    }
}

fn close(op: &str, a: &[f32], f: impl Fn(f64) -> f64) {
    let got = run(op, a, &B);
    for i in 0..8 {
        let want = f(f64::from(a[i]));
        let ulp = f64::from(f32::EPSILON) * want.abs().max(f64::from(f32::MIN_POSITIVE));
        assert!(
            (f64::from(got[i]) - want).abs() <= 2.0 * ulp,
            "{op}[{i}]: got {}, want {want}",
            got[i]
        );
    }
}

fn b2f(b: bool) -> f32 {
    if b { 1.0 } else { 0.0 }
}

#[test]
fn exact_elementwise_ops_match_their_definitions() {
    exact("add(a, bb)", &A, &B, |x, y| x + y);
    exact("sub(a, bb)", &A, &B, |x, y| x - y);
    exact("mul(a, bb)", &A, &B, |x, y| x * y);
    exact("div(a, bb)", &A, &POS, |x, y| x / y);
    exact("max(a, bb)", &A, &B, |x, y| if x >= y { x } else { y });
    exact("min(a, bb)", &A, &B, |x, y| if x <= y { x } else { y });
    exact("gt(a, bb)", &A, &B, |x, y| b2f(x > y));
    exact("ge(a, bb)", &A, &B, |x, y| b2f(x >= y));
    exact("lt(a, bb)", &A, &B, |x, y| b2f(x < y));
    exact("le(a, bb)", &A, &B, |x, y| b2f(x <= y));
    exact("eq(a, bb)", &A, &B, |x, y| b2f(x == y));
    exact("xor(a, bb)", &A, &B, |x, y| b2f((x != 0.0) != (y != 0.0)));
    exact("and(a, bb)", &A, &B, |x, y| b2f(x != 0.0 && y != 0.0));
    exact("or(a, bb)", &A, &B, |x, y| b2f(x != 0.0 || y != 0.0));
    exact("not(a)", &A, &B, |x, _| b2f(x == 0.0));
    exact("abs(a)", &A, &B, |x, _| x.abs());
    exact("neg(a)", &A, &B, |x, _| -x);
    exact("square(a)", &A, &B, |x, _| x * x);
    exact("sqrt(a)", &POS, &B, |x, _| x.sqrt());
    exact("clamp(a, -1, 0.5)", &A, &B, |x, _| x.clamp(-1.0, 0.5));
    exact("scale(a, 0.5)", &A, &B, |x, _| 0.5 * x);
    exact("tanh_grad(a, bb)", &A, &B, |g, y| g * (1.0 - y * y));
    exact("sigmoid_grad(a, bb)", &A, &B, |g, y| g * y * (1.0 - y));
    exact("clamp_grad(a, bb, -1, 1)", &A, &B, |g, x| {
        if (-1.0..=1.0).contains(&x) { g } else { 0.0 }
    });
    exact("relu_grad(a, bb)", &A, &B, |g, p| if p > 0.0 { g } else { 0.0 });
    // select(k, a, b): a where k > 0 (k = 1, 0, -1, 2, 0, 0.5, -0, 1).
    let k = [1.0f32, 0.0, -1.0, 2.0, 0.0, 0.5, -0.0, 1.0];
    let got = run("select(k, a, bb)", &A, &B);
    for i in 0..8 {
        let want = if k[i] > 0.0 { A[i] } else { B[i] };
        assert_eq!(got[i].to_bits(), want.to_bits(), "select[{i}]");
    }
}

#[test]
fn libm_elementwise_ops_are_within_two_ulps_of_f64() {
    close("exp(a)", &A, f64::exp);
    close("log(a)", &POS, f64::ln);
    close("tanh(a)", &A, f64::tanh);
    close("sigmoid(a)", &A, |x| 1.0 / (1.0 + (-x).exp()));
    close("softplus(a)", &A, |x| (1.0 + x.exp()).ln());
    close("pow(a, 1.5)", &POS, |x| x.powf(1.5));
    close("pow(a, -2)", &POS, |x| x.powf(-2.0));
}

#[test]
fn sigmoid_and_softplus_do_not_overflow() {
    let big = [-200.0f32, -100.0, -50.0, 0.0, 50.0, 88.0, 100.0, 200.0];
    let s = run("sigmoid(a)", &big, &B);
    assert_eq!(s[0], 0.0);
    assert_eq!(s[7], 1.0);
    assert_eq!(s[3], 0.5);
    let sp = run("softplus(a)", &big, &B);
    assert_eq!(sp[7], 200.0, "softplus(x) = x for large x");
    assert!(sp.iter().all(|v| v.is_finite() && *v >= 0.0));
}

#[test]
fn one_element_and_trailing_operands_broadcast() {
    let one = 0.75f32;
    let row = [1.0f32, -2.0, 0.0, 4.0];
    let got = run("mul(a, one)", &A, &B);
    assert!((0..8).all(|i| got[i].to_bits() == (A[i] * one).to_bits()));
    let got = run("sub(one, a)", &A, &B);
    assert!((0..8).all(|i| got[i].to_bits() == (one - A[i]).to_bits()));
    let got = run("max(row, a)", &A, &B);
    for i in 0..8 {
        let (x, y) = (row[i % 4], A[i]);
        assert_eq!(got[i], if x >= y { x } else { y }, "max(row, a)[{i}]");
    }
    let got = run("select(one, row, a)", &A, &B);
    assert!((0..8).all(|i| got[i] == row[i % 4]));
    // A [1] buffer as the scalar of `scale`, `pow` and `clamp`.
    let got = run("scale(a, one)", &A, &B);
    assert!((0..8).all(|i| got[i].to_bits() == (one * A[i]).to_bits()));
    let got = run("clamp(a, -1, one)", &A, &B);
    assert!((0..8).all(|i| got[i] == A[i].clamp(-1.0, one)));
    let got = run("sum_all(a)", &A, &B);
    assert_eq!(got, vec![A.iter().fold(0.0f32, |s, x| s + x)]);
}

fn check_err(op: &str) -> String {
    let src = format!("dim r = 2\ndim c = 4\ninput a[r, c]\ninput bb[r, c]\ninput one[1]\ninput col[r]\nout = {op}\n");
    let f = sutro::span::SourceFile::new("e.sutro", src.as_str());
    let e = sutro::load(&f, &Default::default(), &Default::default()).unwrap_err();
    e.diagnostics()
        .iter()
        .map(|d| {
            let labels: Vec<&str> = d.labels.iter().map(|l| l.1.as_str()).collect();
            format!("{} | {}", d.message, labels.join(" | "))
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn broadcast_and_call_errors_name_the_operand() {
    let m = check_err("mul(a, col)");
    assert!(
        m.contains("the second operand [2] does not broadcast onto [2,4]"),
        "{m}"
    );
    let m = check_err("select(col, a, bb)");
    assert!(m.contains("the first operand [2] does not broadcast"), "{m}");
    let m = check_err("scale(a, col)");
    assert!(
        m.contains("the scalar operand `col` must have one element, it has shape [2]"),
        "{m}"
    );
    let m = check_err("mul(relu(a), bb)");
    assert!(
        m.starts_with("nested calls are not allowed; assign the inner call to a name first"),
        "{m}"
    );
    let m = check_err("scale(a, relu(one))");
    assert!(m.starts_with("nested calls are not allowed"), "{m}");
}
