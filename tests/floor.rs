//! The clock-metric floor: a hand-computed example, and a proptest that the floor
//! never exceeds the cost of any legal order (brute force over every topological
//! order of small random programs).

// Helpers outside #[test] fns panic on setup failure, which fails the test.
#![allow(clippy::expect_used, clippy::unwrap_used)]

use proptest::prelude::*;
use sutro::analysis::{Cold, ReuseKind};
use sutro::ir::OpId;
use sutro::opt::cost::{Objective, ard_report};
use sutro::opt::depgraph::DepGraph;
use sutro::opt::floor::{Floor, floor};
use sutro::span::SourceFile;
use sutro::valid::{Limits, Settings, Validated};

fn load_text(text: &str) -> Validated {
    sutro::load(
        &SourceFile::new("t.sutro", text),
        &Settings::default(),
        &Limits::default(),
    )
    .unwrap_or_else(|e| panic!("loads: {:?}\n{text}", e.diagnostics()))
    .validated
}

/// Every topological order of the hazard graph (small graphs only).
fn all_orders(g: &DepGraph) -> Vec<Vec<OpId>> {
    fn rec(g: &DepGraph, done: &mut Vec<OpId>, out: &mut Vec<Vec<OpId>>) {
        if done.len() == g.ops().len() {
            out.push(done.clone());
            return;
        }
        for &o in g.ops() {
            if !done.contains(&o) && g.preds(o).iter().all(|p| done.contains(p)) {
                done.push(o);
                rec(g, done, out);
                done.pop();
            }
        }
    }
    let mut out = Vec::new();
    rec(g, &mut Vec::new(), &mut out);
    out
}

/// (sum_d, sum_sd) of the first step in `order`.
fn cost(v: &Validated, order: &[OpId], metric: &str) -> (i128, i128) {
    let r = ard_report(v, order, &Objective::parse(metric).expect("objective"), false);
    (r.sum_d, r.sum_sd)
}

const HAND: &str = "param a[2] = zeros\ninput x[1]\nt = relu(a)\nu = relu(x)\nv = add(t, t)\n";

#[test]
fn floor_matches_hand_computation() {
    // Step start writes a (clock 0..2) and x (2..3). Ops: t = relu(a) moves 4
    // floats, u = relu(x) 2, v = add(t, t) 6. The graph has one edge, t -> v.
    // ard_write floors: read a ≥ 3 (its write, then x's), read x ≥ 1, first read
    // of t ≥ 2 (its own write), second read of t ≥ 2 + 2: Σd = 10, Σsd = 2·3 + 1 +
    // 2·2 + 2·4 = 19. ard_access: the second read of t is 2 after the first, so
    // Σd = 3 + 1 + 2 + 2 = 8 and Σsd = 6 + 1 + 4 + 4 = 15.
    let v = load_text(HAND);
    assert_eq!(
        floor(&v, ReuseKind::Write, Cold::MinusOne),
        Floor { sum_d: 10, sum_sd: 19 }
    );
    assert_eq!(floor(&v, ReuseKind::Access, Cold::Skip), Floor { sum_d: 8, sum_sd: 15 });
    // The three legal orders, by hand under ard_write (Σsd): t,u,v 31; u,t,v 23; t,v,u 29.
    let g = DepGraph::build(v.program());
    let orders = all_orders(&g);
    assert_eq!(orders.len(), 3);
    let ids = |xs: [u32; 3]| xs.map(OpId).to_vec();
    assert_eq!(cost(&v, &ids([0, 1, 2]), "ard_write.sum_sd").1, 31);
    assert_eq!(cost(&v, &ids([1, 0, 2]), "ard_write.sum_sd").1, 23);
    assert_eq!(cost(&v, &ids([0, 2, 1]), "ard_write.sum_sd").1, 29);
    // ard_access on u,t,v: x 1, a 5, t 2, t 2 → Σsd 1 + 10 + 4 + 4 = 19.
    assert_eq!(cost(&v, &ids([1, 0, 2]), "ard_access.sum_sd"), (10, 19));
}

/// A random straight-line step over small vectors: elementwise ops, outer
/// products, sums, and at most one in-place update per param (read again later).
fn random_program(sizes: &[usize], choices: &[(u8, usize, usize)]) -> String {
    let mut s = String::from("hyper lr = 0.1\n");
    let mut vals: Vec<(String, Vec<usize>)> = Vec::new();
    for (i, &n) in sizes.iter().enumerate() {
        let name = if i == sizes.len() - 1 {
            "x".to_string()
        } else {
            format!("p{i}")
        };
        if name == "x" {
            s += &format!("input x[{n}]\n");
        } else {
            s += &format!("param {name}[{n}] = normal(0.5)\n");
        }
        vals.push((name, vec![n]));
    }
    let n_params = sizes.len() - 1;
    let mut updated = vec![false; n_params];
    for (k, &(kind, a, b)) in choices.iter().enumerate() {
        let (an, ash) = vals[a % vals.len()].clone();
        let t = format!("t{k}");
        let (line, sh) = match kind % 5 {
            0 => (format!("{t} = relu({an})"), ash),
            1 => {
                let other = (0..vals.len())
                    .map(|i| &vals[(b + i) % vals.len()])
                    .find(|(_, sh)| *sh == ash)
                    .map(|(n, _)| n.clone())
                    .unwrap_or(an.clone());
                (format!("{t} = add({an}, {other})"), ash)
            }
            2 => {
                let (bn, bsh) = vals[b % vals.len()].clone();
                if ash.len() == 1 && bsh.len() == 1 {
                    (format!("{t} = outer({an}, {bn})"), vec![ash[0], bsh[0]])
                } else {
                    (format!("{t} = mul({an}, {an})"), ash)
                }
            }
            3 => {
                let sh = if ash.len() == 2 { vec![ash[1]] } else { vec![1] };
                (format!("{t} = sum({an})"), sh)
            }
            _ => {
                let pi = b % n_params;
                let (pn, psh) = vals[pi].clone();
                if updated[pi] {
                    (format!("{t} = scale({an}, 0.5)"), ash)
                } else {
                    updated[pi] = true;
                    let g = vals
                        .iter()
                        .rev()
                        .find(|(n, sh)| n.starts_with('t') && *sh == psh)
                        .map(|(n, _)| n.clone());
                    match g {
                        Some(g) => {
                            s += &format!("update {pn} sgd(lr, 0.01) with {g}\n");
                            continue;
                        }
                        None => (format!("{t} = scale({pn}, 0.5)"), psh),
                    }
                }
            }
        };
        s += &line;
        s.push('\n');
        vals.push((t, sh));
    }
    s
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn floor_never_exceeds_any_legal_order(
        sizes in proptest::collection::vec(1usize..=3, 3),
        choices in proptest::collection::vec((0u8..5, 0usize..16, 0usize..16), 2..=6),
    ) {
        let text = random_program(&sizes, &choices);
        let v = load_text(&text);
        let g = DepGraph::build(v.program());
        let orders = all_orders(&g);
        prop_assert!(!orders.is_empty());
        for (metric, kind, cold) in [
            ("ard_write.sum_sd", ReuseKind::Write, Cold::MinusOne),
            ("ard_access.sum_sd", ReuseKind::Access, Cold::Skip),
        ] {
            let f = floor(&v, kind, cold);
            for order in &orders {
                let (d, sd) = cost(&v, order, metric);
                prop_assert!(f.sum_d <= d, "{metric} Σd floor {} > {d} for {order:?}\n{text}", f.sum_d);
                prop_assert!(f.sum_sd <= sd, "{metric} Σsd floor {} > {sd} for {order:?}\n{text}", f.sum_sd);
            }
        }
    }
}

#[test]
fn floor_is_below_every_committed_program_in_its_own_order() {
    for entry in std::fs::read_dir("programs").expect("programs/") {
        let path = entry.expect("entry").path();
        if path.extension().and_then(|e| e.to_str()) != Some("sutro") {
            continue;
        }
        let text = std::fs::read_to_string(&path).expect("readable");
        let v = load_text(&text);
        if !sutro::opt::floor::covers(&v) {
            // Sliced operands (range events) are outside the floor's model.
            continue;
        }
        let order = v.program().order.clone();
        let (_, w) = cost(&v, &order, "ard_write.sum_sd");
        let (_, a) = cost(&v, &order, "ard_access.sum_sd");
        let fw = floor(&v, ReuseKind::Write, Cold::MinusOne).sum_sd;
        let fa = floor(&v, ReuseKind::Access, Cold::Skip).sum_sd;
        assert!(0 < fw && fw <= w, "{}: {fw} vs {w}", path.display());
        assert!(0 < fa && fa <= a, "{}: {fa} vs {a}", path.display());
    }
}

/// The floor prices whole buffers, so it claims nothing for a program that reads
/// slices (gf2 reads columns `A[:, c]`: its real cost is below a whole-buffer
/// floor), and covers the whole-buffer programs.
#[test]
fn the_floor_covers_whole_buffer_programs_only() {
    let text = |p: &str| std::fs::read_to_string(p).expect("readable");
    assert!(!sutro::opt::floor::covers(&load_text(&text("programs/gf2.sutro"))));
    assert!(sutro::opt::floor::covers(&load_text(&text(
        "programs/sparse_parity.sutro"
    ))));
    assert!(sutro::opt::floor::covers(&load_text(&text("programs/adam.sutro"))));
}
