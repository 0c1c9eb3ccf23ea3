//! The public test vectors of `docs/metrics.md` (sections 4.3, 4.4, 5 and 6), each
//! built by hand as an event stream. Expected numbers come from the spec or from
//! hand computations written next to them, never from the code under test.

#![allow(clippy::expect_used, clippy::unwrap_used)] // Helpers outside #[test] fns: a failed expect is a test failure.

mod common;

use common::Trace;
use sutro::analysis::dmd::{ceil_sqrt, u_sum};
use sutro::analysis::{
    ByteDmd, ByteDmdOptions, Dmd, DmdOptions, Energy, EnergyOptions, Granularity, LruStack, Metric, StackOptions,
    select,
};

fn stack_opts(pairs: &[(&str, &str)]) -> StackOptions {
    StackOptions::parse("lru_stack", pairs).expect("valid options")
}

fn lru(t: &Trace, pairs: &[(&str, &str)]) -> LruStack {
    let mut a = LruStack::new(stack_opts(pairs)).with_log(true);
    t.run(&mut a);
    a
}

fn dmd_total(t: &Trace, pairs: &[(&str, &str)]) -> f64 {
    let mut a = Dmd::new(DmdOptions::parse("dmd", pairs).expect("valid options"));
    t.run(&mut a);
    a.report().total
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() < 1e-9
}

/// `a b b c a`, every access a read in its own op.
fn l1() -> Trace {
    let mut t = Trace::scalars(&["a", "b", "c"]);
    for x in ["a", "b", "b", "c", "a"] {
        t.read_op(x);
    }
    t
}

#[test]
fn l1_move_all() {
    let a = lru(&l1(), &[("recency", "move"), ("price", "all")]);
    assert_eq!(a.distances(), &[None, None, Some(1), None, Some(3)]);
    let r = a.report();
    assert_eq!((r.accesses, r.cold), (5, 3));
    assert_eq!(r.histogram, vec![[1, 1], [3, 1]]);
}

#[test]
fn l2_mrc() {
    let r = lru(&l1(), &[("recency", "move"), ("price", "all")]).report();
    // MR(C) = (cold + #{d > C}) / N with N = 5, cold = 3, d = {1, 3}.
    assert_eq!(r.mrc, vec![(0, 1.0), (1, 4.0 / 5.0), (3, 3.0 / 5.0)]);
    let mr = |c: u64| {
        r.mrc
            .iter()
            .rev()
            .find(|(cap, _)| *cap <= c)
            .map(|p| p.1)
            .expect("capacity 0 is present")
    };
    assert_eq!(mr(1), 4.0 / 5.0);
    assert_eq!(mr(2), 4.0 / 5.0);
    assert_eq!(mr(3), 3.0 / 5.0);
}

/// `abbbca`: W a, W b, R b, R b, W c, R a.
fn l3() -> Trace {
    let mut t = Trace::scalars(&["a", "b", "c"]);
    t.write_op("a")
        .write_op("b")
        .read_op("b")
        .read_op("b")
        .write_op("c")
        .read_op("a");
    t
}

#[test]
fn l3_observe_reads() {
    let o = [("recency", "observe"), ("price", "reads")];
    assert_eq!(lru(&l3(), &o).distances(), &[Some(1), Some(1), Some(3)]);
    // dmd = 1 + 1 + √3 = 2 + √3.
    assert!(close(dmd_total(&l3(), &o), 2.0 + 3f64.sqrt()));
    assert!(close(dmd_total(&l3(), &o), 3.732050808));
}

#[test]
fn l4_move_reads() {
    let o = [("recency", "move"), ("price", "reads")];
    assert_eq!(lru(&l3(), &o).distances(), &[Some(1), Some(1), Some(3)]);
    assert!(close(dmd_total(&l3(), &o), 2.0 + 3f64.sqrt()));
}

/// `(a+b)+a`: W a, W b; c = a + b; d = c + a.
fn l5() -> Trace {
    let mut t = Trace::scalars(&["a", "b", "c", "d"]);
    t.write_op("a").write_op("b");
    t.op().r("a").r("b").w("c");
    t.op().r("c").r("a").w("d");
    t
}

#[test]
fn l5_observe_reads() {
    let o = [("recency", "observe"), ("price", "reads")];
    assert_eq!(lru(&l5(), &o).distances(), &[Some(2), Some(1), Some(1), Some(3)]);
    assert!(close(dmd_total(&l5(), &o), 2f64.sqrt() + 2.0 + 3f64.sqrt()));
    assert!((dmd_total(&l5(), &o) - 5.146264370).abs() < 1e-8);
}

#[test]
fn l6_move_reads_sequential() {
    let o = [("recency", "move"), ("price", "reads"), ("pricing", "sequential")];
    assert_eq!(lru(&l5(), &o).distances(), &[Some(2), Some(2), Some(1), Some(3)]);
    assert!(close(dmd_total(&l5(), &o), 2.0 * 2f64.sqrt() + 1.0 + 3f64.sqrt()));
    assert!((dmd_total(&l5(), &o) - 5.560477932).abs() < 1e-8);
}

#[test]
fn l7_move_reads_simultaneous() {
    let o = [("recency", "move"), ("price", "reads"), ("pricing", "simultaneous")];
    assert_eq!(lru(&l5(), &o).distances(), &[Some(2), Some(1), Some(1), Some(3)]);
    assert!((dmd_total(&l5(), &o) - 5.146264370).abs() < 1e-8);
}

#[test]
fn l8_observe_footprint_plus_1() {
    let mut t = Trace::scalars(&["a", "b"]);
    t.write_op("a").read_op("b");
    let a = lru(&t, &[("recency", "observe"), ("cold", "footprint_plus_1")]);
    assert_eq!(a.distances(), &[Some(2)]);
    assert_eq!(a.report().cold, 1);
}

#[test]
fn l9_observe_reads() {
    let mut t = Trace::scalars(&["a", "b", "c"]);
    t.write_op("a").write_op("b").read_op("a").write_op("c").read_op("a");
    let a = lru(&t, &[("recency", "observe"), ("price", "reads")]);
    assert_eq!(a.distances(), &[Some(2), Some(3)]);
}

/// Naive i, j, k matrix multiply: each iteration reads L[i][k] then R[k][j].
fn matmul(n: u64) -> Trace {
    let mut t = Trace::new(&[("L", "input", n * n), ("R", "input", n * n)]);
    for i in 0..n {
        for j in 0..n {
            for k in 0..n {
                t.op().r_part("L", i * n + k, 1).r_part("R", k * n + j, 1);
            }
        }
    }
    t
}

#[test]
fn naive_matmul_pattern_n2_to_n8() {
    for n in 2..=8u64 {
        let a = lru(
            &matmul(n),
            &[("recency", "move"), ("price", "all"), ("granularity", "element")],
        );
        let d = a.distances();
        assert_eq!(d.len() as u64, 2 * n * n * n);
        let mut seen_l = vec![false; (n * n) as usize];
        let mut seen_r = vec![false; (n * n) as usize];
        let mut idx = 0;
        for i in 0..n {
            for j in 0..n {
                for k in 0..n {
                    let (dl, dr) = (d[idx], d[idx + 1]);
                    idx += 2;
                    let li = (i * n + k) as usize;
                    if seen_l[li] {
                        assert_eq!(dl, Some(2 * n), "n={n} L[{i}][{k}] at j={j}");
                    } else {
                        assert_eq!(dl, None);
                        seen_l[li] = true;
                    }
                    let ri = (k * n + j) as usize;
                    if seen_r[ri] {
                        let want = if j == 0 {
                            n * n + n + (k + 1)
                        } else if j == n - 1 {
                            n * n + 2 * n - (k + 1)
                        } else {
                            n * n + 2 * n
                        };
                        assert_eq!(dr, Some(want), "n={n} R[{k}][{j}] at i={i}");
                    } else {
                        assert_eq!(dr, None);
                        seen_r[ri] = true;
                    }
                }
            }
        }
    }
}

fn bytedmd(t: &Trace, pairs: &[(&str, &str)]) -> u128 {
    let mut a = ByteDmd::new(ByteDmdOptions::parse("bytedmd_v2", pairs).expect("valid options"));
    t.run(&mut a);
    a.report().total
}

/// `my_add(a, b, c)`: t = a + b; r = t + c.
fn my_add() -> Trace {
    let mut t = Trace::new(&[
        ("a", "input", 1),
        ("b", "input", 1),
        ("c", "input", 1),
        ("t", "temp", 1),
        ("r", "temp", 1),
    ]);
    t.start("a").start("b").start("c");
    t.op().r("a").r("b").w("t");
    t.op().r("t").r("c").w("r");
    t
}

#[test]
fn bytedmd_my_add() {
    // Depths [1, 2, 1, 2]: ⌈√1⌉ + ⌈√2⌉ + ⌈√1⌉ + ⌈√2⌉ = 1 + 2 + 1 + 2.
    assert_eq!(bytedmd(&my_add(), &[]), 6);
    // b = 2: depth 1 costs U(2) = 3, depth 2 costs U(4) − U(2) = 4; 3 + 4 + 3 + 4.
    assert_eq!(bytedmd(&my_add(), &[("bytes_per_element", "2")]), 14);
    // Buffer granularity with size-1 buffers is the same program.
    assert_eq!(bytedmd(&my_add(), &[("granularity", "buffer")]), 6);
}

#[test]
fn bytedmd_dot_via_sum() {
    let mut t = Trace::new(&[
        ("a", "input", 2),
        ("b", "input", 2),
        ("p0", "temp", 1),
        ("s0", "temp", 1),
        ("p1", "temp", 1),
        ("r", "temp", 1),
    ]);
    t.start("a").start("b");
    t.op().r_part("a", 0, 1).r_part("b", 0, 1).w("p0");
    t.op().r("p0").w("s0");
    t.op().r_part("a", 1, 1).r_part("b", 1, 1).w("p1");
    t.op().r("s0").r("p1").w("r");
    // Depths [2, 4, 1, 2, 3, 2, 1] → 2 + 2 + 1 + 2 + 2 + 2 + 1.
    assert_eq!(bytedmd(&t, &[]), 12);
}

#[test]
fn bytedmd_three_term() {
    let mut t = Trace::new(&[
        ("a", "input", 2),
        ("b", "input", 2),
        ("p0", "temp", 1),
        ("p1", "temp", 1),
        ("r", "temp", 1),
    ]);
    t.start("a").start("b");
    t.op().r_part("a", 0, 1).r_part("b", 0, 1).w("p0");
    t.op().r_part("a", 1, 1).r_part("b", 1, 1).w("p1");
    t.op().r("p0").r("p1").w("r");
    // Depths [2, 4, 2, 3, 2, 1] → 2 + 2 + 2 + 2 + 2 + 1.
    assert_eq!(bytedmd(&t, &[]), 11);
}

#[test]
fn bytedmd_a_plus_a() {
    let mut t = Trace::new(&[("a", "input", 1), ("r", "temp", 1)]);
    t.start("a");
    t.op().r("a").r("a").w("r");
    assert_eq!(bytedmd(&t, &[]), 2);
}

#[test]
fn ceil_sqrt_table() {
    let table: [(u64, u64); 8] = [
        (1, 1),
        (2, 2),
        (4, 2),
        (5, 3),
        (9, 3),
        (10, 4),
        (1_000_000, 1000),
        ((1 << 32) - 1, 65536),
    ];
    for (i, want) in table {
        assert_eq!(ceil_sqrt(i), want, "⌈√{i}⌉");
    }
}

#[test]
fn u_closed_form_equals_running_sum() {
    let mut running: u128 = 0;
    assert_eq!(u_sum(0), 0);
    for n in 1..=10_000u64 {
        // ⌈√n⌉ by a float-free search: the least r with r² ≥ n.
        let mut r = 0u64;
        while r * r < n {
            r += 1;
        }
        running += u128::from(r);
        assert_eq!(u_sum(n), running, "U({n})");
    }
}

fn energy(t: &Trace, pairs: &[(&str, &str)], config: Option<&str>) -> sutro::analysis::EnergyReport {
    let mut a = Energy::new(EnergyOptions::build(pairs, config).expect("valid energy options"));
    t.run(&mut a);
    a.report()
}

/// Writes X, then a filler of `filler` elements, then reads X: with one byte per
/// element, X's inclusive byte depth is `filler + 1`.
fn depth_probe(filler: u64) -> Trace {
    let mut t = Trace::new(&[("x", "temp", 1), ("fill", "temp", filler)]);
    t.write_op("x").write_op("fill").read_op("x");
    t
}

#[test]
fn energy_tier_boundaries() {
    // horowitz45 capacities: reg 256 B, l1 32 KiB, l2 1 MiB, then dram.
    let cases: [(u64, usize, f64); 6] = [
        (256, 0, 1.0),
        (257, 1, 10.0),
        (32 * 1024, 1, 10.0),
        (32 * 1024 + 1, 2, 50.0),
        (1024 * 1024, 2, 50.0),
        (1024 * 1024 + 1, 3, 640.0),
    ];
    for (d, tier, pj) in cases {
        let r = energy(&depth_probe(d - 1), &[("bytes_per_element", "1")], None);
        assert_eq!(r.accesses, 1);
        let served: Vec<u64> = r.tiers.iter().map(|t| t.accesses).collect();
        let mut want = vec![0u64; 4];
        want[tier] = 1;
        assert_eq!(served, want, "D = {d}");
        // One byte is ⌈1/4⌉ = 1 word.
        assert_eq!(r.total_pj, pj, "D = {d}");
    }
}

#[test]
fn energy_element_depth_is_bytes() {
    // Four-byte elements: X under 63 elements has D = 64 · 4 = 256 bytes (reg);
    // under 64 elements, D = 260 (l1).
    let r = energy(&depth_probe(63), &[], None);
    assert_eq!(r.tiers[0].accesses, 1);
    let r = energy(&depth_probe(64), &[], None);
    assert_eq!(r.tiers[1].accesses, 1);
    assert_eq!(r.total_pj, 10.0);
}

#[test]
fn energy_cold_goes_to_dram_and_preload_starts_on_stack() {
    let mut t = Trace::new(&[("x", "input", 1)]);
    t.start("x").read_op("x");
    // dram: the start write is an unpriced write, so x is warm at depth 4 bytes.
    let r = energy(&t, &[], None);
    assert_eq!((r.cold, r.tiers[0].accesses), (0, 1));
    // A read of a never-written buffer is cold: served by dram.
    let mut t = Trace::new(&[("x", "temp", 1)]);
    t.read_op("x");
    let r = energy(&t, &[], None);
    assert_eq!((r.cold, r.tiers[3].accesses, r.total_pj), (1, 1, 640.0));
}

#[test]
fn energy_write_tier_charges_writes() {
    let r = energy(
        &depth_probe(1),
        &[("write_tier", "l1"), ("bytes_per_element", "1")],
        None,
    );
    // Two written elements of one byte each (x, fill): 2 words at 10 pJ; the read
    // of x at D = 2 is in reg (1 pJ).
    assert_eq!(r.writes_pj, 20.0);
    assert_eq!(r.reads_pj, 1.0);
    assert_eq!(r.total_pj, 21.0);
}

#[test]
fn energy_toml_override() {
    let cfg = "[energy]\npreset = \"horowitz45\"\nnode = \"7nm-guess\"\n\n[[energy.tiers]]\nname = \"near\"\ncapacity_bytes = 2\npj_per_word = 3.0\n\n[[energy.tiers]]\nname = \"far\"\ncapacity_bytes = \"unbounded\"\npj_per_word = 100.0\n";
    let r = energy(&depth_probe(1), &[("bytes_per_element", "1")], Some(cfg));
    assert_eq!(r.node, "7nm-guess");
    assert_eq!(r.tiers.len(), 2);
    // D = 2 ≤ 2: near.
    assert_eq!(r.total_pj, 3.0);
    let r = energy(&depth_probe(2), &[("bytes_per_element", "1")], Some(cfg));
    assert_eq!(r.total_pj, 100.0);
}

#[test]
fn energy_dally_word_needs_capacities() {
    let e = EnergyOptions::build(&[("preset", "dally_word")], None).expect_err("no capacities");
    assert!(e.0.contains("capacity"), "{e}");
    let cfg = "[energy]\npreset = \"dally_word\"\n[[energy.tiers]]\nname = \"l1\"\ncapacity_bytes = 65536\n[[energy.tiers]]\nname = \"llc\"\ncapacity_bytes = 8388608\n[[energy.tiers]]\nname = \"dram\"\n";
    let o = EnergyOptions::build(&[], Some(cfg)).expect("capacities given");
    let pj: Vec<f64> = o.model.tiers.iter().map(|t| t.pj_per_word).collect();
    assert_eq!(pj, vec![5.0, 50.0, 640.0]);
}

#[test]
fn energy_toml_errors_name_the_line() {
    let cases: [(&str, &str); 7] = [
        // Capacities must strictly increase: the second tier, line 5.
        (
            "[energy]\n[[energy.tiers]]\nname = \"a\"\ncapacity_bytes = 64\npj_per_word = 1.0\n[[energy.tiers]]\nname = \"b\"\ncapacity_bytes = 64\npj_per_word = 1.0\n[[energy.tiers]]\nname = \"c\"\ncapacity_bytes = \"unbounded\"\npj_per_word = 2.0\n",
            "line 6",
        ),
        // The last tier must be unbounded.
        (
            "[energy]\n[[energy.tiers]]\nname = \"a\"\ncapacity_bytes = 64\npj_per_word = 1.0\n",
            "line 2",
        ),
        // Negative cost.
        (
            "[energy]\n[[energy.tiers]]\nname = \"a\"\ncapacity_bytes = \"unbounded\"\npj_per_word = -1.0\n",
            "line 5",
        ),
        // Unknown field.
        ("[energy]\nwordbytes = 4\n", "line 2"),
        // Syntax error.
        ("[energy]\npreset = \n", "line 2"),
        // Unknown preset.
        ("\n[energy]\npreset = \"nope\"\n", "line 3"),
        // Bad capacity.
        (
            "[energy]\n[[energy.tiers]]\nname = \"a\"\ncapacity_bytes = \"big\"\npj_per_word = 1.0\n",
            "line 4",
        ),
    ];
    for (cfg, line) in cases {
        let e = EnergyOptions::build(&[], Some(cfg)).expect_err(cfg);
        assert!(e.0.contains(line), "{cfg:?}: {e}");
        assert!(e.0.starts_with("energy config"), "{e}");
    }
}

#[test]
fn options_reject_unknown_keys_and_values() {
    let e = select(&["lru_stack"], &["colour=red"], None)
        .err()
        .expect("unknown key");
    assert_eq!(
        e.0,
        "unknown option `colour` for lru_stack (known: bytes_per_element, cold, granularity, price, pricing, recency)"
    );
    let e = select(&["lru_stack"], &["cold=minus_one"], None)
        .err()
        .expect("disallowed value");
    assert_eq!(
        e.0,
        "bad value `minus_one` for option `cold` of lru_stack (allowed: skip, footprint_plus_1, preload)"
    );
    let e = select(&["bytedmd_v2"], &["granularity=byte"], None)
        .err()
        .expect("disallowed value");
    assert!(e.0.contains("allowed: element, buffer"), "{e}");
    let e = select(&["ard_write"], &["dmd.ceil=true"], None)
        .err()
        .expect("not selected");
    assert!(e.0.contains("not selected"), "{e}");
    let e = select(&["nope"], &[] as &[&str], None).err().expect("unknown metric");
    assert!(e.0.starts_with("unknown metric `nope`"), "{e}");
    let e = select(&["dmd"], &["ceil=maybe"], None).err().expect("bad bool");
    assert!(e.0.contains("allowed: false, true"), "{e}");
}

#[test]
fn options_apply_per_metric_and_reports_carry_them() {
    let opts = [
        "lru_stack.pricing=simultaneous",
        "dmd.ceil=true",
        "lru_stack.recency=observe",
        "energy_pj.pricing=simultaneous",
        "ard_write.cold=skip",
    ];
    let mut ans = select(&["all"], &opts, None).expect("valid");
    assert_eq!(ans.iter().map(|a| a.metric()).collect::<Vec<_>>(), Metric::ALL.to_vec());
    let t = l5();
    for a in &mut ans {
        t.run(a.as_tracer());
    }
    let json: Vec<serde_json::Value> = ans.iter().map(|a| a.report_json()).collect();
    assert_eq!(json[2]["options"]["recency"], "observe");
    assert_eq!(json[2]["options"]["price"], "reads");
    assert_eq!(json[2]["options"]["pricing"], "simultaneous");
    assert_eq!(json[3]["options"]["ceil"], true);
    assert_eq!(json[3]["options"]["recency"], "move");
    assert_eq!(json[4]["options"]["pricing"], "simultaneous");
    assert_eq!(json[0]["options"]["cold"], "skip");
    assert_eq!(json[5]["options"]["pricing"], "simultaneous");
    assert_eq!(json[5]["options"]["preset"], "horowitz45");
    // An unqualified key reaches every selected metric that has it, so a value
    // one of them does not allow is an error.
    let e = select(&["bytedmd_v2"], &["cold=skip"], None)
        .err()
        .expect("bytedmd is preload only");
    assert!(e.0.contains("allowed: preload"), "{e}");
    let e = select(&["ard_write"], &["pricing=simultaneous"], None)
        .err()
        .expect("ard is sequential only");
    assert!(e.0.contains("allowed: sequential"), "{e}");
    for (j, keys) in json.iter().zip(Metric::ALL.map(|m| m.keys())) {
        for k in keys {
            assert!(!j["options"][*k].is_null(), "{k} missing in {j}");
        }
    }
}

#[test]
fn dmd_granularities_and_ceil() {
    // One buffer of 3 elements: W then R under move/all, element granularity:
    // the read of each element has d = 3 (spec 4.2's block re-read), so
    // dmd = 3·√3 with the write cold (skip).
    let mut t = Trace::new(&[("v", "temp", 3)]);
    t.write_op("v").read_op("v");
    assert!(close(dmd_total(&t, &[]), 3.0 * 3f64.sqrt()));
    // Buffer granularity: one access of 3 elements at d = 3 adds 3·√3.
    assert!(close(dmd_total(&t, &[("granularity", "buffer")]), 3.0 * 3f64.sqrt()));
    // Byte granularity, 2 bytes per element: each element at byte depth 6 adds √5 + √6.
    let b = dmd_total(&t, &[("granularity", "byte"), ("bytes_per_element", "2")]);
    assert!(close(b, 3.0 * (5f64.sqrt() + 6f64.sqrt())));
    // ceil: ⌈√3⌉ = 2 per element.
    let mut a = Dmd::new(DmdOptions::parse("dmd", &[("ceil", "true")]).expect("valid"));
    t.run(&mut a);
    assert_eq!(a.report().total_int, Some(6));
    // footprint_plus_1: the cold write is priced too: element i of the write at
    // total + 1 = i + 1, so √1 + √2 + √3, then the read 3·√3.
    let f = dmd_total(&t, &[("cold", "footprint_plus_1")]);
    assert!(close(f, 1.0 + 2f64.sqrt() + 3f64.sqrt() + 3.0 * 3f64.sqrt()));
}

#[test]
fn preload_replaces_start_writes() {
    // Inputs x (2 elements), y (1): preload puts x on top, last element nearest.
    let mut t = Trace::new(&[("x", "input", 2), ("y", "target", 1), ("o", "temp", 1)]);
    t.start("x").start("y");
    t.op().r("y").r("x").w("o");
    let a = lru(&t, &[("cold", "preload"), ("price", "reads")]);
    // Stack top→bottom: x1, x0, y. Read y: 3. Then x (intact block under y): each 3.
    assert_eq!(a.distances(), &[Some(3), Some(3), Some(3)]);
    let r = a.report();
    assert_eq!((r.writes, r.cold), (1, 0));
    // Rows sum to the totals.
    assert_eq!(r.buffers.iter().map(|b| b.sum_d).sum::<i128>(), r.sum_d as i128);
    assert_eq!(r.ops.iter().map(|o| o.accesses).sum::<u64>(), r.accesses);
    assert_eq!(
        StackOptions::parse("lru_stack", &[("granularity", "buffer")]).map(|o| o.granularity),
        Ok(Granularity::Buffer)
    );
}
