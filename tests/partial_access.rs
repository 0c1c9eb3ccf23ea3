//! Partial accesses (`../shared/docs/metrics.md` §1): a partial read, a partial
//! write and a row loop, traced by the interpreter from real programs and priced
//! by `lru_stack` (element granularity, move, price all) and `ard_write`.
//! Every expected number is a hand computation written beside it.
#![allow(clippy::unwrap_used, clippy::expect_used)] // Test code: a failed unwrap is a failed test.

mod common;
use common::load_text;
use sutro::analysis::{Cold, LruStack, Reuse, ReuseKind, StackOptions};
use sutro::interp::{Interp, StartWrites};
use sutro::trace::{VecTracer, replay};

/// The first step's trace of a program (no inputs are fed: data does not matter).
fn trace(src: &str) -> VecTracer {
    let l = load_text("p.sutro", src, &[]);
    let mut it = Interp::new(&l.validated, 0);
    let mut t = VecTracer {
        header: sutro::interp::header(&l.validated),
        ..VecTracer::default()
    };
    it.step(0, Some((&mut t, StartWrites::All))).unwrap();
    t
}

fn lru(t: &VecTracer) -> Vec<Option<u64>> {
    let o = StackOptions::parse(
        "lru_stack",
        &[("recency", "move"), ("price", "all"), ("granularity", "element")],
    )
    .unwrap();
    let mut a = LruStack::new(o).with_log(true);
    replay(&t.header, &t.events, &mut a);
    a.distances().to_vec()
}

#[test]
fn a_partial_read_touches_only_its_elements() {
    // A[2,2] (addresses 0..4), r[2] (4..6).
    let t = trace("state A[2, 2] = iota\nr = copy(A[1, :])\n");
    let ev: Vec<(u64, u64)> = t.events.iter().map(|e| (e.addr, e.len)).collect();
    assert_eq!(ev, vec![(0, 4), (2, 2), (4, 2)]);
    // Stack after the start write: A3 A2 A1 A0 (top first). R A2: depth 2, then
    // A2 A3 A1 A0; R A3: depth 2. The writes are cold.
    assert_eq!(lru(&t), vec![None, None, None, None, Some(2), Some(2), None, None]);
    // ard_write: clock 0..4 start write (anchor 0); the read of 2 starts at 4: d = 4.
    let mut a = Reuse::new(ReuseKind::Write, Cold::MinusOne);
    replay(&t.header, &t.events, &mut a);
    let r = a.report();
    assert_eq!((r.sum_d, r.sum_sd, r.floats_read, r.floats_accessed), (4, 8, 2, 8));
}

#[test]
fn a_partial_write_moves_only_its_elements() {
    // A[2,2] (0..4), r[2] (4..6). r = copy(A[1, :]); A[0, :] = copy(r); s = copy(A).
    let t = trace("state A[2, 2] = iota\nr = copy(A[1, :])\nA[0, :] = copy(r)\ns = copy(A)\n");
    let ops: Vec<(u64, u64)> = t.events.iter().skip(1).map(|e| (e.addr, e.len)).collect();
    assert_eq!(ops, vec![(2, 2), (4, 2), (4, 2), (0, 2), (0, 4), (6, 4)]);
    // After the first op the stack is r1 r0 A3 A2 A1 A0. R r0, R r1: 2, 2.
    // W A0: depth 6 (moves: A0 r1 r0 A3 A2 A1); W A1: depth 6 (A1 A0 r1 r0 A3 A2).
    // R A0: 2, R A1: 2, R A2: 6, R A3: 6 — A2 and A3 were not moved by the write.
    // Then s is written cold.
    let want = [
        vec![None; 4],
        vec![Some(2), Some(2), None, None],
        vec![Some(2), Some(2), Some(6), Some(6)],
        vec![Some(2), Some(2), Some(6), Some(6)],
        vec![None; 4],
    ]
    .concat();
    assert_eq!(lru(&t), want);
}

#[test]
fn a_row_loop_reads_and_writes_row_by_row() {
    // A[2,2] (0..4), B[2,2] (4..8); unrolled: r_0 (8..10), r_1 (10..12).
    let t = trace(
        "state A[2, 2] = iota\nstate B[2, 2] = zeros\nfor i in 0..2 {\n    r = copy(A[i, :])\n    B[i, :] = copy(r)\n}\n",
    );
    let ops: Vec<(u64, u64)> = t.events.iter().skip(2).map(|e| (e.addr, e.len)).collect();
    assert_eq!(
        ops,
        vec![(0, 2), (8, 2), (8, 2), (4, 2), (2, 2), (10, 2), (10, 2), (6, 2)]
    );
    // Start: B3 B2 B1 B0 A3 A2 A1 A0 (top first). R A0: 8 (the bottom), then
    // A0 B3 B2 B1 B0 A3 A2 A1; R A1: 8; r_0 cold.
    // R r00, r01: 2, 2; W B0: 8; W B1: 8 (stack B1 B0 r01 r00 A1 A0 B3 B2 A3 A2).
    // R A2: 10; R A3: 10; r_1 cold. R r10, r11: 2, 2; W B2: 12; W B3: 12.
    let want = [
        vec![None; 8],
        vec![Some(8), Some(8), None, None],
        vec![Some(2), Some(2), Some(8), Some(8)],
        vec![Some(10), Some(10), None, None],
        vec![Some(2), Some(2), Some(12), Some(12)],
    ]
    .concat();
    assert_eq!(lru(&t), want);
    // ard_write (sizes 2): A written at 0, B at 4; R A[0,:] at 8: d 8; W r_0 at 10;
    // R r_0 at 12: d 2; W B row at 14; R A[1,:] at 16: d 16; W r_1 at 18; R r_1
    // at 20: d 2; W B row at 22; clock ends at 24.
    let mut a = Reuse::new(ReuseKind::Write, Cold::MinusOne);
    replay(&t.header, &t.events, &mut a);
    let r = a.report();
    assert_eq!((r.sum_d, r.sum_sd, r.floats_read, r.floats_accessed), (28, 56, 8, 24));
}
