//! `gather` and `scatter_add`: data-dependent indices into static shapes.
//!
//! - Kernels against naive references: the operands are `iota` buffers, so
//!   every element's value is its own row-major index and the expected outputs
//!   are written here as formulas of the indices.
//! - The trace: the whole indexed buffer, then the whole index buffer, then the
//!   output — the same events whatever the indices hold.
//! - An index outside its axis at run time is a failed run (exit 1) naming the
//!   op, the index buffer, the value, the axis and its extent.

#![allow(clippy::unwrap_used, clippy::expect_used)] // Test code: a failed unwrap is a failed test.

mod common;
use common::{load_text, sutro};
use sutro::interp::Interp;
use sutro::ir::Mode;

const HEAD: &str = "dim n = 4\ninput x[batch, n]\ntarget y[batch]\n";

fn run_one(body: &str) -> (sutro::Loaded, Vec<Vec<f32>>) {
    let l = load_text("idx.sutro", &format!("{HEAD}{body}"), &[]);
    let bufs = {
        let mut it = Interp::new(&l.validated, 0);
        it.step(0, None).unwrap();
        l.validated
            .program()
            .buffer_ids()
            .map(|b| it.buffer(b).to_vec())
            .collect()
    };
    (l, bufs)
}

fn buf(l: &sutro::Loaded, bufs: &[Vec<f32>], name: &str) -> Vec<f32> {
    bufs[l.validated.program().buf_id(name).unwrap().idx()].clone()
}

#[test]
fn gather_picks_entries_along_any_axis_with_an_index_buffer_of_any_shape() {
    // a[2, 4, 3] = iota: a[o, v, t] = (o·4 + v)·3 + t. idx[2, 2] = iota reversed: 3, 2, 1, 0.
    let (l, b) = run_one(
        "state a[2, 4, 3] = iota\nstate io[2, 2] = iota\nstate three[1] = const(3)\nr = scale(io, -1)\nidx = add(r, three)\ng = gather(a, idx, 1)\n",
    );
    let idx = [3.0f32, 2.0, 1.0, 0.0];
    assert_eq!(buf(&l, &b, "idx"), idx);
    let g = buf(&l, &b, "g");
    assert_eq!(
        l.validated.shape(l.validated.program().buf_id("g").unwrap()),
        [2, 2, 2, 3]
    );
    let mut want = Vec::new();
    for o in 0..2 {
        for v in idx {
            for t in 0..3 {
                want.push(((o * 4 + v as usize) * 3 + t) as f32);
            }
        }
    }
    assert_eq!(g, want);
}

#[test]
fn scatter_add_sums_repeated_indices_in_order() {
    // u[2, 3, 2] = iota: u[o, j, t] = (o·3 + j)·2 + t. idx = [2, 0, 2] (a repeat).
    let (l, b) = run_one(
        "state u[2, 3, 2] = iota\nstate e[3, 3] = eye\nstate w[3] = const(1)\nstate pick[3] = zeros\npick[0] = copy(w[0])\nm = matvec(e, w)\nidx0 = scale(m, 2)\nidx = sub(idx0, pick)\ns = scatter_add(u, idx, 1, 4)\n",
    );
    let idx = buf(&l, &b, "idx");
    assert_eq!(idx, [1.0, 2.0, 2.0]);
    let s = buf(&l, &b, "s");
    let mut want = vec![0.0f32; 2 * 4 * 2];
    for o in 0..2 {
        for (j, v) in idx.iter().enumerate() {
            for t in 0..2 {
                want[(o * 4 + *v as usize) * 2 + t] += ((o * 3 + j) * 2 + t) as f32;
            }
        }
    }
    assert_eq!(s, want);
    // Row 1 of each block is u[o, 0]; row 2 is u[o, 1] + u[o, 2]; rows 0 and 3 stay 0.
    assert_eq!(&s[0..8], [0.0, 0.0, 0.0, 1.0, 6.0, 8.0, 0.0, 0.0]);
}

#[test]
fn the_trace_reads_the_whole_buffer_and_the_whole_index_buffer() {
    let text = format!(
        "{HEAD}state a[5, n] = iota\nstate idx[2] = const(3)\npick: g = gather(a, idx, 0)\nc = sum_axis(x, 1)\npredict c\n"
    );
    let l = load_text("trace.sutro", &text, &[]);
    let s = sutro::Session::new(
        l,
        "parity",
        &sutro::valid::Settings::default(),
        &sutro::valid::Limits::default(),
        0,
    )
    .unwrap();
    let mut t = sutro::trace::VecTracer::default();
    s.trace(1, &mut t).unwrap();
    let p = s.validated().program();
    let op = p.op_ids().find(|o| p.op_name(*o) == "pick").unwrap();
    let evs: Vec<(String, Mode, u64)> = t
        .events
        .iter()
        .filter(|e| e.op == Some(op))
        .map(|e| (p.buf(e.buf).name.clone(), e.mode, e.len))
        .collect();
    assert_eq!(
        evs,
        [
            ("a".to_string(), Mode::Read, 20),
            ("idx".to_string(), Mode::Read, 2),
            ("g".to_string(), Mode::Write, 8)
        ]
    );
}

#[test]
fn an_index_outside_its_axis_fails_the_run_with_exit_1() {
    let dir = std::env::temp_dir().join(format!("sutro-index-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    for (init, value) in [("const(7)", "7"), ("const(0.5)", "0.5"), ("const(-1)", "-1")] {
        let path = dir.join("bad.sutro");
        std::fs::write(
            &path,
            format!("{HEAD}state a[3, n] = iota\nstate idx[2] = {init}\ng = gather(a, idx, 0)\nc = sum_axis(x, 1)\npredict c\n"),
        )
        .unwrap();
        let out = sutro(&["run", path.to_str().unwrap()]);
        assert_eq!(out.status.code(), Some(1), "{init}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.contains(&format!(
                "op `g` found index {value} in `idx`, outside axis 0 of extent 3, at training step 1"
            )),
            "{err}"
        );
        assert!(err.contains("bad.sutro:6:1"), "{err}");
    }
    let path = dir.join("scatter.sutro");
    std::fs::write(
        &path,
        format!("{HEAD}state u[2, n] = iota\nstate idx[2] = iota\nstate o[1, n] = zeros\no = scatter_add(u, idx, 0, 1)\nc = sum_axis(x, 1)\npredict c\n"),
    )
    .unwrap();
    let out = sutro(&["run", path.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("op `set_o` found index 1 in `idx`, outside axis 0 of extent 1")
    );
}

#[test]
fn shape_errors_name_the_rule() {
    let dir = std::env::temp_dir().join(format!("sutro-index-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    for (body, msg) in [
        (
            "state a[3, n] = iota\nstate i[2] = zeros\ng = gather(a, i, 2)\n",
            "gather: the axis must be a whole number below 2, got 2",
        ),
        (
            "state a[3, n] = iota\nstate i[2] = zeros\ng = scatter_add(a, i, 0, 5)\n",
            "scatter_add: the index shape [2] must match the axes of [3,4] from axis 0 on",
        ),
        (
            "state a[3, n] = iota\nstate i[3] = zeros\ng = scatter_add(a, i, 0, 0)\n",
            "scatter_add: the extent must be positive",
        ),
    ] {
        let path = dir.join("shape.sutro");
        std::fs::write(&path, format!("{HEAD}{body}")).unwrap();
        let out = sutro(&["check", path.to_str().unwrap()]);
        assert_eq!(out.status.code(), Some(2), "{body}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(msg), "{err}");
        assert!(err.contains("shape.sutro:6:1"), "{err}");
    }
}
