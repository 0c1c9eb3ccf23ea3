//! Axis reductions, layout ops, init rules and dims as expressions, against
//! naive references written here from the documented definitions.
#![allow(clippy::unwrap_used, clippy::expect_used)] // Test code: a failed unwrap is a failed test.

mod common;
use common::load_text;
use sutro::interp::Interp;

/// A[2,3,4] with distinct values, some ties along each axis.
fn a_vals() -> Vec<f32> {
    (0..24).map(|i| ((i * 7) % 11) as f32 - 5.0).collect()
}

/// Runs the program (with `input A[2,3,4]` set to `a_vals`) and returns the named buffers.
fn run(body: &str, names: &[&str]) -> Vec<(Vec<usize>, Vec<f32>)> {
    let src = format!("dim p = 2\ndim q = 3\ndim r = 4\ninput A[p, q, r]\n{body}\n");
    let l = load_text("s.sutro", &src, &[]);
    let v = &l.validated;
    let prog = v.program();
    let mut it = Interp::new(v, 5);
    it.buffer_mut(prog.buf_id("A").unwrap()).copy_from_slice(&a_vals());
    it.step(0, None).unwrap();
    names
        .iter()
        .map(|n| {
            let b = prog.buf_id(n).unwrap();
            (v.shape(b).to_vec(), it.buffer(b).to_vec())
        })
        .collect()
}

/// Naive reduction of A[2,3,4] over `axis` with `f` over the values in index order.
fn reduce_ref(axis: usize, f: impl Fn(&[f32]) -> f32) -> (Vec<usize>, Vec<f32>) {
    let a = a_vals();
    let dims = [2usize, 3, 4];
    let out_dims: Vec<usize> = (0..3).filter(|d| *d != axis).map(|d| dims[d]).collect();
    let mut out = Vec::new();
    for x in 0..out_dims[0] {
        for y in 0..out_dims[1] {
            let vals: Vec<f32> = (0..dims[axis])
                .map(|j| {
                    let idx = match axis {
                        0 => [j, x, y],
                        1 => [x, j, y],
                        _ => [x, y, j],
                    };
                    a[(idx[0] * 3 + idx[1]) * 4 + idx[2]]
                })
                .collect();
            out.push(f(&vals));
        }
    }
    (out_dims, out)
}

/// A reduction of one axis's values.
type Fold = dyn Fn(&[f32]) -> f32;

fn first_extreme(v: &[f32], better: impl Fn(f32, f32) -> bool) -> f32 {
    let mut k = 0;
    for j in 1..v.len() {
        if better(v[j], v[k]) {
            k = j;
        }
    }
    k as f32
}

#[test]
fn axis_reductions_match_naive_loops() {
    for axis in 0..3 {
        let body = format!(
            "s = sum_axis(A, {axis})\nm = mean_axis(A, {axis})\nmx = max_axis(A, {axis})\nmn = min_axis(A, {axis})\npr = prod_axis(A, {axis})\nam = argmax(A, {axis})\nan = argmin(A, {axis})"
        );
        let got = run(&body, &["s", "m", "mx", "mn", "pr", "am", "an"]);
        let refs: [Box<Fold>; 7] = [
            Box::new(|v| v.iter().skip(1).fold(v[0], |s, x| s + x)),
            Box::new(|v| v.iter().skip(1).fold(v[0], |s, x| s + x) / v.len() as f32),
            Box::new(|v| v.iter().copied().fold(f32::MIN, f32::max)),
            Box::new(|v| v.iter().copied().fold(f32::MAX, f32::min)),
            Box::new(|v| v.iter().skip(1).fold(v[0], |s, x| s * x)),
            Box::new(|v| first_extreme(v, |x, y| x > y)),
            Box::new(|v| first_extreme(v, |x, y| x < y)),
        ];
        for (k, f) in refs.iter().enumerate() {
            let want = reduce_ref(axis, f);
            assert_eq!(got[k].0, want.0, "axis {axis} op {k} shape");
            assert_eq!(got[k].1, want.1, "axis {axis} op {k} values");
        }
    }
    // A vector reduces to [1].
    let got = run("v = sum_axis(A, 0)\nw = sum_axis(v, 0)\nx = sum_axis(w, 0)", &["x"]);
    assert_eq!(got[0].0, vec![1]);
    assert_eq!(got[0].1, vec![a_vals().iter().sum::<f32>()]);
}

#[test]
fn layout_ops_move_elements_as_documented() {
    let a = a_vals();
    let got = run(
        "m = sum_axis(A, 0)\nt = transpose(m)\nrs = reshape(A, 6, 4)\ne = expand(m, 1, 2)\nc = concat(A, A, 1)\nk = argmax(m, 1)\no = onehot(k, 5)",
        &["m", "t", "rs", "e", "c", "k", "o"],
    );
    let m = &got[0].1; // [3,4]
    assert_eq!(got[1].0, vec![4, 3]);
    for i in 0..3 {
        for j in 0..4 {
            assert_eq!(got[1].1[j * 3 + i], m[i * 4 + j]);
        }
    }
    assert_eq!(got[2].0, vec![6, 4]);
    assert_eq!(got[2].1, a);
    assert_eq!(got[3].0, vec![3, 2, 4]);
    for i in 0..3 {
        for j in 0..2 {
            for k in 0..4 {
                assert_eq!(got[3].1[(i * 2 + j) * 4 + k], m[i * 4 + k]);
            }
        }
    }
    assert_eq!(got[4].0, vec![2, 6, 4]);
    for x in 0..2 {
        for y in 0..6 {
            for z in 0..4 {
                assert_eq!(got[4].1[(x * 6 + y) * 4 + z], a[(x * 3 + y % 3) * 4 + z]);
            }
        }
    }
    let k = &got[5].1;
    assert_eq!(got[6].0, vec![3, 5]);
    for (i, ki) in k.iter().enumerate() {
        for c in 0..5 {
            assert_eq!(got[6].1[i * 5 + c], if c as f32 == *ki { 1.0 } else { 0.0 });
        }
    }
}

#[test]
fn init_rules_eye_iota_bernoulli() {
    let src = "dim n = 3\nstate I[n, 4] = eye\nstate T[2, n] = iota\nstate B[1000] = bernoulli(0.25)\nstate Z[10] = bernoulli(0)\nstate O[10] = bernoulli(1)\n";
    let l = load_text("i.sutro", src, &[]);
    let p = l.validated.program();
    let it = Interp::new(&l.validated, 9);
    let get = |n: &str| it.buffer(p.buf_id(n).unwrap()).to_vec();
    let eye: Vec<f32> = (0..12).map(|e| if e / 4 == e % 4 { 1.0 } else { 0.0 }).collect();
    assert_eq!(get("I"), eye);
    assert_eq!(get("T"), vec![0.0, 1.0, 2.0, 3.0, 4.0, 5.0]);
    let b = get("B");
    assert!(b.iter().all(|x| *x == 0.0 || *x == 1.0));
    let ones = b.iter().filter(|x| **x == 1.0).count();
    // Binomial(1000, 0.25): mean 250, sd ≈ 13.7; 6 sd either side.
    assert!((168..=332).contains(&ones), "{ones} ones");
    assert!(get("Z").iter().all(|x| *x == 0.0));
    assert!(get("O").iter().all(|x| *x == 1.0));
}

#[test]
fn dims_are_expressions_of_dims_and_follow_settings() {
    let src = "dim n = 4\ndim h = 2 * n\nstate T[n * n, h - 1] = zeros\n";
    let l = load_text("d.sutro", src, &[]);
    let t = l.validated.program().buf_id("T").unwrap();
    assert_eq!(l.validated.shape(t), &[16, 7]);
    assert_eq!(l.validated.dims()["h"], 8);
    let l = load_text("d.sutro", src, &[("n", "5")]);
    assert_eq!(l.validated.shape(t), &[25, 9]);
    // fmt round-trips the expressions.
    assert_eq!(l.parsed.to_string(), src);
}

fn err(src: &str) -> String {
    let f = sutro::span::SourceFile::new("e.sutro", src);
    let e = sutro::load(&f, &Default::default(), &Default::default()).unwrap_err();
    e.diagnostics()[0].message.clone()
}

#[test]
fn bad_axes_extents_and_dims_are_errors() {
    let h = "dim n = 3\nstate A[n, 4] = zeros\n";
    assert_eq!(
        err(&format!("{h}s = sum_axis(A, 2)")),
        "shape mismatch in `s`: sum_axis: the axis must be a whole number below 2, got 2"
    );
    assert_eq!(
        err(&format!("{h}s = reshape(A, 5, 2)")),
        "shape mismatch in `s`: reshape: [3,4] has 12 elements, the new shape [5,2] has a different count"
    );
    assert!(err(&format!("{h}s = concat(A, A, 0)\nt = concat(s, A, 1)")).contains("concat expects"));
    assert_eq!(err("dim n = 3\ndim h = n - 3"), "dim `h` is not a positive integer (0)");
    assert_eq!(err("hyper lr = 2\ndim h = lr"), "unknown dim `lr`");
}

/// `pad(a, k, before, after)` against a naive reference: out[…, j, …] is
/// a[…, j − before, …] for before ≤ j < before + d, else 0 (bit for bit).
#[test]
fn pad_matches_a_naive_reference() {
    let a = a_vals();
    let dims = [2usize, 3, 4];
    for k in 0..3 {
        for (before, after) in [(0, 0), (2, 1), (0, 3), (1, 0)] {
            let got = run(&format!("c = pad(A, {k}, {before}, {after})"), &["c"]);
            let mut od = dims;
            od[k] += before + after;
            assert_eq!(got[0].0, od.to_vec(), "axis {k}");
            let mut want = Vec::new();
            for x in 0..od[0] {
                for y in 0..od[1] {
                    for z in 0..od[2] {
                        let mut idx = [x, y, z];
                        let inside = idx[k] >= before && idx[k] < before + dims[k];
                        want.push(if inside {
                            idx[k] -= before;
                            a[(idx[0] * 3 + idx[1]) * 4 + idx[2]]
                        } else {
                            0.0
                        });
                    }
                }
            }
            let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
            assert_eq!(bits(&got[0].1), bits(&want), "pad(A, {k}, {before}, {after})");
        }
    }
    // A sliced operand: A[1, :, 1:3] is [3,2]; padded along axis 1 by 1 and 2.
    let got = run("s = pad(A[1, :, 1:3], 1, 1, 2)", &["s"]);
    assert_eq!(got[0].0, vec![3, 5]);
    for y in 0..3 {
        for z in 0..5 {
            let want = if (1..3).contains(&z) { a[(3 + y) * 4 + z] } else { 0.0 };
            assert_eq!(got[0].1[y * 5 + z], want);
        }
    }
}

/// A bad axis or count of `pad` is an error at the op's line:col, exit 2.
#[test]
fn bad_pad_operands_are_located_errors() {
    let h = "dim n = 3\nstate A[n, 4] = zeros\nstate s[1] = zeros\n";
    for (op, msg) in [
        ("pad(A, 2, 1, 1)", "pad: the axis must be a whole number below 2, got 2"),
        (
            "pad(A, 0, 1.5, 0)",
            "pad: the count before must be a whole number below 16777216, got 1.5",
        ),
        (
            "pad(A, 1, 0, -1)",
            "pad: the count after must be a whole number below 16777216, got -1",
        ),
        (
            "pad(A, 1, 0, 2 ^ 24)",
            "pad: the count after must be a whole number below 16777216, got 16777216",
        ),
        ("pad(A, s, 0, 1)", "pad: the axis must be an expression, not a buffer"),
    ] {
        assert_eq!(err(&format!("{h}c = {op}")), format!("shape mismatch in `c`: {msg}"));
        let dir = std::env::temp_dir().join(format!("sutro-pad-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let f = dir.join("bad.sutro");
        std::fs::write(&f, format!("{h}c = {op}\n")).unwrap();
        let out = common::sutro(&["check", f.to_str().unwrap()]);
        assert_eq!(out.status.code(), Some(2), "{op}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains("bad.sutro:4:1"), "{op}: {stderr}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
