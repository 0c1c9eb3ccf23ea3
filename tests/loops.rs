//! Counted loops and slices: unrolling, range events, in-place writes.
//!
//! - Reading `A[i, :]` traces exactly A's row-i elements: the exported CSV's
//!   addresses are the row's (offset of A + i·n … + n − 1), computed here by hand.
//! - A loop program and its `print --lowered` text (the unrolled, straight-line
//!   form) train bit-identically, and the lowered text is canonical.
//! - `optimize` works on a loop program and verifies.
//! - Errors name the axis and bound of a bad slice, an unclosed loop, a loop
//!   temporary used after its loop, and `--max-ops` applies after unrolling.
#![allow(clippy::unwrap_used, clippy::expect_used)] // Test code: a failed unwrap is a failed test.

mod common;
use common::{load, load_text, sutro};

const ROW_LOOP: &str = "tests/programs/row_loop.sutro";

#[test]
fn a_row_slice_reads_exactly_its_elements() {
    // A[3,4] (offset 0) then B[3,4] (offset 12); row 1 of A is addresses 4..8,
    // row 2 of B (written) is 12 + 8 .. 12 + 12.
    let src = "dim n = 20\ndim m = 3\ndim k = 4\nstate A[m, k] = iota\nstate B[m, k] = zeros\ninput x[batch, n]\ntarget y[batch]\nread_row: r = scale(A[1, :], 2)\nB[2, :] = copy(r)\nc = sum_axis(x, 1)\npredict c\n";
    let dir = std::env::temp_dir().join(format!("sutro-loops-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let prog = dir.join("row.sutro");
    std::fs::write(&prog, src).unwrap();
    let (tr, csv) = (dir.join("row.trace"), dir.join("row.csv"));
    let rec = sutro(&["trace", "record", prog.to_str().unwrap(), "-o", tr.to_str().unwrap()]);
    assert!(rec.status.success(), "{}", String::from_utf8_lossy(&rec.stderr));
    let exp = sutro(&[
        "trace",
        "export",
        tr.to_str().unwrap(),
        "--format",
        "csv",
        "-o",
        csv.to_str().unwrap(),
    ]);
    assert!(exp.status.success(), "{}", String::from_utf8_lossy(&exp.stderr));
    let text = std::fs::read_to_string(&csv).unwrap();
    let rows: Vec<Vec<&str>> = text.lines().skip(1).map(|l| l.split(',').collect()).collect();
    // op 0 = read_row: reads A's row 1, writes r.
    let reads: Vec<u64> = rows
        .iter()
        .filter(|r| r[1] == "0" && r[2] == "R")
        .map(|r| r[5].parse().unwrap())
        .collect();
    assert_eq!(reads, vec![4, 5, 6, 7]);
    let writes_b: Vec<u64> = rows
        .iter()
        .filter(|r| r[1] == "1" && r[2] == "W")
        .map(|r| r[5].parse().unwrap())
        .collect();
    assert_eq!(writes_b, vec![20, 21, 22, 23]);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_loop_program_and_its_lowered_text_train_bit_identically() {
    let src = load(ROW_LOOP, &[]);
    let out = sutro(&["print", ROW_LOOP, "--lowered"]);
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(!text.contains("for "), "the lowered form has no loops:\n{text}");
    assert!(text.contains("part_3: p_3 = matvec(x, W[3, :])"), "{text}");
    assert!(text.contains("set_acc_2: acc[2, :] = add(acc[2, :], v_2)"), "{text}");
    let lowered = load_text("lowered.sutro", &text, &[]);
    assert_eq!(
        lowered.validated.program().to_string(),
        text,
        "lowered text is canonical"
    );
    let session = |l: &sutro::Loaded| {
        sutro::Session::new(l.clone(), "parity", &Default::default(), &Default::default(), 3).unwrap()
    };
    let a = session(&src).run_steps(50).unwrap();
    let b = session(&lowered).run_steps(50).unwrap();
    assert_eq!(a.len(), 2);
    for ((na, va), (nb, vb)) in a.iter().zip(&b) {
        assert_eq!(na, nb);
        assert!(
            va.iter().zip(vb).all(|(x, y)| x.to_bits() == y.to_bits()),
            "{na} differs"
        );
    }
    // The rows really were updated in place, each by its own rule.
    let acc = &a[1].1;
    assert!(acc.chunks(20).all(|row| row.iter().any(|v| *v != 0.0)));
}

#[test]
fn fmt_keeps_loops_and_slices() {
    let text = std::fs::read_to_string(common::root().join(ROW_LOOP)).unwrap();
    let p = sutro::syntax::parse("row_loop", &text).unwrap();
    assert_eq!(p.to_string(), text);
    let messy = "dim n = 2\nstate A[n, n] = zeros\nfor i in 0 .. n {\nA[i,:]=copy(A[i , 0:n])\n  }\n";
    let want = "dim n = 2\nstate A[n, n] = zeros\nfor i in 0..n {\n    A[i, :] = copy(A[i, 0:n])\n}\n";
    assert_eq!(sutro::syntax::parse("m", messy).unwrap().to_string(), want);
}

#[test]
fn optimize_works_on_a_loop_program_and_verifies() {
    let dir = std::env::temp_dir().join(format!("sutro-loopopt-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let o = dir.join("o.sutro");
    let out = sutro(&["optimize", ROW_LOOP, "-o", o.to_str().unwrap()]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(stdout.contains("verified bit-identical"), "{stdout}");
    std::fs::remove_dir_all(&dir).unwrap();
}

fn err(src: &str, sets: &[(&str, &str)]) -> String {
    let f = sutro::span::SourceFile::new("e.sutro", src);
    let mut s = sutro::valid::Settings::default();
    for (k, v) in sets {
        s = s.with(k, v);
    }
    let limits = sutro::valid::Limits {
        max_ops: 10,
        ..Default::default()
    };
    let e = sutro::load(&f, &s, &limits).unwrap_err();
    e.diagnostics()[0].message.clone()
}

#[test]
fn loop_and_slice_errors_name_their_cause() {
    let h = "dim n = 3\nstate A[n, 4] = zeros\n";
    assert_eq!(
        err(&format!("{h}r = copy(A[3, :])"), &[]),
        "slice of `A` in `r`: axis 0: index 3 is out of bounds for extent 3"
    );
    assert_eq!(
        err(&format!("{h}r = copy(A[:, 2:5])"), &[]),
        "slice of `A` in `r`: axis 1: end 5 is out of bounds for extent 4"
    );
    assert_eq!(
        err(&format!("{h}r = copy(A[1])"), &[]),
        "slice of `A` in `r`: the buffer has 2 axes, the slice gives 1"
    );
    assert_eq!(
        err(&format!("{h}for i in 0..n {{\nr = copy(A)"), &[]),
        "the loop over `i` is not closed"
    );
    assert_eq!(
        err(&format!("{h}for i in 0..n {{\nr = copy(A[i, :])\n}}\ns = copy(r)"), &[]),
        "`r` is defined inside a loop and cannot be used after it"
    );
    assert_eq!(
        err(&format!("{h}for i in 0..n {{\nparam W[2] = zeros\n}}"), &[]),
        "`param` is not allowed inside a loop"
    );
    // --max-ops counts the unrolled ops: 3 iterations fit in 10, 20 do not.
    let looped = format!(
        "{h}for i in 0..n {{\nA[i, :] = copy(A[i, :])\n}}\nfor j in 0..n {{\nfor k in 0..4 {{\nA[j, k] = copy(A[j, k])\n}}\n}}"
    );
    assert_eq!(
        err(&looped, &[]),
        "the program has more than 10 ops after unrolling loops (--max-ops)"
    );
    let small = format!("{h}for i in 0..n {{\nA[i, :] = copy(A[i, :])\n}}");
    assert_eq!(
        err(&format!("{small}\nx = copy(A[9, 0])"), &[("n", "2")]),
        "slice of `A` in `x`: axis 0: index 9 is out of bounds for extent 2"
    );
}

#[test]
fn a_grad_after_a_loop_keeps_its_gradient_buffers() {
    // Unrolling renumbers buffers before `grad` is lowered; the `dW` that
    // `update` names must still be the gradient, dW = xᵀ·dh of W's shape [4].
    let src = "dim n = 4\ndim batch = 2\nstate R[3, n] = zeros\nstate Z[n] = zeros\nparam W[n] = normal(1)\ninput x[batch, n]\ntarget y[batch]\nfor i in 0..3 {\nr = copy(Z)\nR[i, :] = copy(r)\n}\nh = matvec(x, W)\nloss = mse(h, y)\ngrad loss wrt W\nupdate W sgd(0.1, 0) with dW\npredict h\n";
    let l = load_text("loop_grad.sutro", src, &[]);
    let p = l.validated.program();
    let dw = p.buf_id("dW").unwrap();
    assert_eq!(l.validated.shape(dw), [4]);
    let text = p.to_string();
    assert!(text.contains("dW = matvec_t(x, dh)"), "{text}");
}

/// A two-output op with a sliced operand writes both outputs: `affine_grad` of
/// a block of rows of x gives what it gives on a copy of that block.
#[test]
fn a_two_output_op_reads_a_slice() {
    let src = "dim n = 3\ninput x[batch, n]\ntarget y[batch]\nstate d[2, 4] = normal(1)\ndW, db = affine_grad(d, x[1:3, :])\nxs = copy(x[1:3, :])\neW, eb = affine_grad(d, xs)\nc = sum_axis(x, 1)\npredict c\n";
    let l = load_text("two.sutro", src, &[("batch", "4")]);
    let v = &l.validated;
    let p = v.program();
    let mut it = sutro::interp::Interp::new(v, 3);
    let x: Vec<f32> = (0..12).map(|e| (e as f32 - 5.5) * 0.25).collect();
    it.buffer_mut(p.buf_id("x").unwrap()).copy_from_slice(&x);
    it.step(0, None).unwrap();
    let get = |n: &str| it.buffer(p.buf_id(n).unwrap()).to_vec();
    assert_eq!(get("dW"), get("eW"));
    assert_eq!(get("db"), get("eb"));
    assert_eq!(get("db").len(), 4);
    assert!(get("db").iter().any(|v| *v != 0.0));
}

/// A temporary defined outside every loop and assigned again inside one is
/// loop-carried: each assignment is a new version (`acc_0`, `acc_1_2`, …) and
/// every later read, in the loop or after it, sees the latest. Checked against
/// sums worked by hand: acc = 1 + Σ_{i<3} Σ_{j<2} A[i, j] with A = iota (row-major
/// 0..6, so the sum is 15) and a zero-trip loop leaving the first version.
#[test]
fn a_loop_carried_temporary_sees_its_latest_version() {
    let src = "dim n = 2\nstate A[3, n] = iota\nstate one[1] = const(1)\ninput x[batch, n]\ntarget y[batch]\nacc = copy(one)\nfor i in 0..3 {\nfor j in 0..n {\nacc = add(acc, A[i, j])\n}\n}\nkeep = copy(one)\nfor i in 5..5 {\nkeep = add(keep, one)\n}\nboth = add(acc, keep)\nc = sum_axis(x, 1)\npredict c\n";
    let l = load_text("carried.sutro", src, &[]);
    let v = &l.validated;
    let p = v.program();
    let mut it = sutro::interp::Interp::new(v, 0);
    it.step(0, None).unwrap();
    let get = |n: &str| it.buffer(p.buf_id(n).unwrap()).to_vec();
    assert_eq!(get("acc_2_1"), vec![16.0]);
    assert_eq!(get("acc_0_0"), vec![1.0]);
    assert_eq!(get("keep"), vec![1.0]);
    assert_eq!(get("both"), vec![17.0]);
    let text = p.to_string();
    assert!(text.contains("acc_1_0 = add(acc_0_1, A[1, 0])"), "{text}");
    assert!(text.contains("both = add(acc_2_1, keep)"), "{text}");
}

#[test]
fn only_temporaries_from_outside_every_loop_are_carried() {
    let h = "dim n = 3\nstate A[n, 4] = zeros\n";
    // Assigned twice outside a loop: still a duplicate.
    assert_eq!(err(&format!("{h}r = copy(A)\nr = copy(A)"), &[]), "duplicate name `r`");
    // A loop's own temporary is assigned once per trip.
    assert_eq!(
        err(&format!("{h}for i in 0..n {{\nr = copy(A)\nr = copy(A)\n}}"), &[]),
        "duplicate name `r`"
    );
    // Twice in one trip: the versions would share a name.
    assert_eq!(
        err(
            &format!("{h}r = copy(A)\nfor i in 0..n {{\nr = copy(r)\nr = copy(r)\n}}"),
            &[]
        ),
        "unrolling needs the name `r_0`, which is already defined"
    );
    // A carried temporary is not a buffer to write through a slice.
    assert_eq!(
        err(
            &format!("{h}r = copy(A)\nfor i in 0..n {{\nr[i, :] = copy(A[i, :])\n}}"),
            &[]
        ),
        "only a param or state buffer can be written through a slice, and `r` is not one"
    );
}
