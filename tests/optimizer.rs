//! The optimizer's acceptance tests: legality, exact search, fusion, verification.
//!
//! Golden figures come from the metrics spec (sprint-1 fused per-read 8,174.375)
//! or from hand computation written here, never from the optimizer itself.

// Helpers outside #[test] fns panic on setup failure, which fails the test.
#![allow(clippy::expect_used, clippy::unwrap_used)]

use proptest::prelude::*;
use sutro::analysis::{Cold, Reuse, ReuseKind};
use sutro::ir::OpId;
use sutro::opt::cost::{ClockModel, CostFunction, MetricCost, Objective};
use sutro::opt::depgraph::{DepGraph, DepKind, Violation};
use sutro::opt::verify::{Reordering, classify};
use sutro::opt::{OptConfig, Pass, StopReason, reorder};
use sutro::span::SourceFile;
use sutro::valid::{Limits, Settings, Validated};
use sutro::{Loaded, Optimized, Session};

fn load_text(name: &str, text: &str) -> Loaded {
    sutro::load(&SourceFile::new(name, text), &Settings::default(), &Limits::default()).expect("loads")
}

fn load_file(path: &str) -> Loaded {
    let text = std::fs::read_to_string(path).expect("readable");
    load_text(path, &text)
}

/// A parity session on a validated program at a run seed.
fn session(v: &Validated, seed: u64) -> Session {
    Session::new(
        Loaded::from_validated(v.clone()),
        "parity",
        &Settings::default(),
        &Limits::default(),
        seed,
    )
    .expect("fits parity")
}

fn optimize(l: &Loaded, passes: Vec<Pass>) -> Optimized {
    let c = OptConfig {
        passes,
        ..OptConfig::default()
    };
    let s = Session::new(l.clone(), "parity", &Settings::default(), &Limits::default(), 0).expect("fits parity");
    s.optimize(&c, 100).expect("optimizes")
}

fn per_read(v: &Validated) -> f64 {
    let mut r = Reuse::new(ReuseKind::Write, Cold::MinusOne);
    session(v, 0).trace(1, &mut r).expect("scores");
    r.report().per_read
}

fn verify_100(a: &Validated, b: &Validated) {
    let m = session(a, 0).verify(b, 100).expect("runs");
    assert!(m.is_none(), "{}", m.as_ref().map(|m| m.describe()).unwrap_or_default());
}

/// The hand-fused sprint-1 figure of the metrics spec (section 3.4: about 16 %
/// below the standard step's 9,715.9).
const SPRINT1_FUSED: f64 = 8_174.375;

#[test]
fn sprint1_reorder_alone_matches_the_hand_fusion_and_proves_it() {
    let l = load_file("programs/sprint1_standard.sutro");
    // Spec 3.4: the standard step's reads sum to 233,182 over 24 reads (hand sum of the op table).
    assert!((per_read(&l.validated) - 233_182.0 / 24.0).abs() < 1e-9);
    let r = optimize(&l, vec![Pass::Reorder]);
    assert_eq!(r.report.stop, Some(StopReason::Optimal));
    assert!(r.report.after <= SPRINT1_FUSED, "{}", r.report.after);
    assert!((per_read(&r.validated) - r.report.after).abs() < 1e-9);
    assert_eq!(
        classify(l.validated.program(), r.validated.program()),
        Reordering::Legal
    );
    verify_100(&l.validated, &r.validated);

    let f = optimize(&l, vec![Pass::Reorder, Pass::Fuse]);
    assert!(
        f.report.after < r.report.after,
        "{} vs {}",
        f.report.after,
        r.report.after
    );
    assert_eq!(f.report.stop, Some(StopReason::Optimal));
    verify_100(&l.validated, &f.validated);
    // The hand-fused program itself is a legal reordering with the spec's figure.
    let hand = load_file("programs/sprint1_fused.sutro");
    assert!((per_read(&hand.validated) - SPRINT1_FUSED).abs() < 1e-9);
    assert_eq!(
        classify(l.validated.program(), hand.validated.program()),
        Reordering::Legal
    );
}

/// The lowered sparse_parity step with the sprint-1 hand fusion applied: the
/// layer-2 updates right after `dh` has read W2.
const SPARSE_PARITY_HAND: &str = "dim n = 20
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
dout = hinge_grad(out, y)
dW2, db2 = affine_grad(dout, h)
dh = affine_grad_x(W2, dout)
update W2 sgd(lr, wd) with dW2
update b2 sgd(lr, wd) with db2
dh_pre = relu_grad(dh, h_pre)
dW1, db1 = affine_grad(dh_pre, x)
update W1 sgd(lr, wd) with dW1
update b1 sgd(lr, wd) with db1
";

#[test]
fn sparse_parity_reorder_beats_the_hand_pattern_and_fuse_beats_reorder() {
    let l = load_file("programs/sparse_parity.sutro");
    let hand = load_text("sparse_parity_hand.sutro", SPARSE_PARITY_HAND);
    assert_eq!(
        classify(l.validated.program(), hand.validated.program()),
        Reordering::Legal
    );
    let hand_cost = per_read(&hand.validated);
    assert!(hand_cost < per_read(&l.validated));
    let r = optimize(&l, vec![Pass::Reorder]);
    assert_eq!(r.report.stop, Some(StopReason::Optimal));
    assert!(r.report.after <= hand_cost, "{} vs {hand_cost}", r.report.after);
    verify_100(&l.validated, &r.validated);
    let f = optimize(&l, vec![Pass::Reorder, Pass::Fuse]);
    assert!(f.report.after < r.report.after);
    verify_100(&l.validated, &f.validated);
}

#[test]
fn mlp3_is_improved_and_verified() {
    let l = load_file("programs/mlp3.sutro");
    let f = optimize(&l, vec![Pass::Reorder, Pass::Fuse]);
    assert_eq!(f.report.stop, Some(StopReason::Optimal));
    assert!(f.report.after < 0.9 * f.report.before, "{:?}", f.report);
    verify_100(&l.validated, &f.validated);
}

fn op_named(v: &Validated, name: &str) -> OpId {
    let p = v.program();
    p.order
        .iter()
        .copied()
        .find(|o| p.op_name(*o) == name)
        .expect("op exists")
}

#[test]
fn w2_update_before_h_grad_is_rejected_naming_the_war_edge() {
    let l = load_file("programs/sprint1_standard.sutro");
    let v = &l.validated;
    let (h_grad, w2u) = (op_named(v, "h_grad"), op_named(v, "W2_update"));
    let mut order: Vec<OpId> = v.program().order.iter().copied().filter(|o| *o != w2u).collect();
    let at = order.iter().position(|o| *o == h_grad).expect("h_grad scheduled");
    order.insert(at, w2u);
    let g = DepGraph::build(v.program());
    match g.check_order(&order) {
        Err(Violation::Edge(e)) => {
            assert_eq!((e.from, e.to, e.dep.kind), (h_grad, w2u, DepKind::War));
            assert_eq!(v.program().buf(e.dep.buf).name, "W2");
        }
        other => panic!("expected a WAR violation, got {other:?}"),
    }
    // The same move as a program text: `verify` classifies it and the runs differ.
    let text = std::fs::read_to_string("programs/sprint1_standard.sutro").expect("readable");
    let w2_line = "W2_update: update W2 sgd(lr, wd) with dW2\n";
    let moved = text
        .replace(w2_line, "")
        .replace("h_grad: dh", &format!("{w2_line}h_grad: dh"));
    let bad = load_text("bad.sutro", &moved);
    match classify(v.program(), bad.validated.program()) {
        Reordering::Illegal(why) => assert!(why.contains("h_grad -> W2_update  WAR W2"), "{why}"),
        other => panic!("expected illegal, got {other:?}"),
    }
    let m = session(v, 0).verify(&bad.validated, 100).expect("runs");
    let m = m.expect("the illegal order changes the parameters");
    assert_eq!(m.step, 1);
    assert!(m.buffer == "W1" || m.buffer == "b1", "{m:?}");
}

#[test]
fn deps_of_sprint1_include_the_in_place_hazards() {
    let l = load_file("programs/sprint1_standard.sutro");
    let p = l.validated.program();
    let text = DepGraph::build(p).to_text(p);
    for line in [
        "l2_grad -> W2_update  RAW dW2",
        "h_grad -> W2_update  WAR W2",
        "l2_fwd -> W2_update  WAR W2",
        "l1_fwd -> W1_update  WAR W1",
    ] {
        assert!(text.lines().any(|l| l == line), "missing `{line}` in\n{text}");
    }
    // Params and inputs are defined at step start: their first readers have no RAW edge.
    assert!(!text.contains("RAW W1") && !text.contains("RAW x"));
    let dot = DepGraph::build(p).to_dot(p);
    assert!(dot.starts_with("digraph") && dot.contains("[label=\"WAR W2\"]"));
}

/// All topological orders of a graph (small graphs only).
fn all_orders(g: &DepGraph) -> Vec<Vec<OpId>> {
    fn rec(g: &DepGraph, ops: &[OpId], done: &mut Vec<OpId>, out: &mut Vec<Vec<OpId>>) {
        if done.len() == ops.len() {
            out.push(done.clone());
            return;
        }
        for &o in ops {
            if !done.contains(&o) && g.preds(o).iter().all(|p| done.contains(p)) {
                done.push(o);
                rec(g, ops, done, out);
                done.pop();
            }
        }
    }
    let mut out = Vec::new();
    rec(g, g.ops(), &mut Vec::new(), &mut out);
    out
}

#[test]
fn exact_search_equals_brute_force_on_sprint1_for_every_clock_objective() {
    let l = load_file("programs/sprint1_standard.sutro");
    let v = &l.validated;
    let g = DepGraph::build(v.program());
    let orders = all_orders(&g);
    assert!(orders.len() > 50);
    for obj in ["ard_write", "ard_write.sum_sd", "ard_access", "ard_access.per_float"] {
        let objective = Objective::parse(obj).expect("objective");
        let model = ClockModel::new(v, &objective).expect("clock model");
        let mut cost = MetricCost::new(objective);
        let best = orders.iter().map(|o| cost.cost(v, o)).fold(f64::INFINITY, f64::min);
        let found = reorder::search(&model, &g, &reorder::Limits::default());
        assert_eq!(found.stop, StopReason::Optimal);
        assert!((cost.cost(v, &found.order) - best).abs() < 1e-9, "{obj}");
        assert_eq!(g.check_order(&found.order), Ok(()));
        // With no room for a memo table the search prunes less but stays exact.
        let no_memo = reorder::Limits {
            memory: 0,
            ..reorder::Limits::default()
        };
        assert_eq!(no_memo.bounded(&model).memo_cap, 0);
        let bare = reorder::search(&model, &g, &no_memo);
        assert_eq!(bare.stop, StopReason::Optimal);
        assert!((cost.cost(v, &bare.order) - best).abs() < 1e-9, "{obj} without memo");
        assert!(bare.nodes >= found.nodes, "{obj}: the memo only prunes");
    }
}

#[test]
fn work_bounds_cut_the_search_of_a_large_program_and_say_so() {
    let l = load_text(
        "deep.sutro",
        &sutro::synth::deep_mlp(sutro::synth::DeepMlp {
            layers: 40,
            n: 6,
            hidden: 4,
            batch: 2,
        }),
    );
    let v = &l.validated;
    let model = ClockModel::new(v, &Objective::default()).expect("model");
    let n = model.len() as u64;
    // A node walks every op and segment; an absurd request is cut to what the
    // work bound pays for, and the beam to what it pays for over n layers.
    let asked = reorder::Limits {
        budget: u64::MAX,
        beam_width: usize::MAX,
        ..Default::default()
    };
    let b = asked.bounded(&model);
    assert_eq!(b.budget, reorder::SEARCH_WORK / model.node_work());
    assert_eq!(b.beam_width as u64, reorder::BEAM_WORK / (2 * n * model.node_work()));
    assert!(b.cut);
    assert!(model.node_work() > n, "segments count too");
    // The default limits fit such a program uncut.
    assert!(!reorder::Limits::default().bounded(&model).cut);
}

#[test]
fn objectives_parse_with_headline_fields_and_weighted_mixes() {
    for (s, label) in [
        ("dmd", "dmd.total"),
        ("bytedmd_v2", "bytedmd_v2.total"),
        ("energy_pj", "energy_pj.total_pj"),
        ("ard_access.sum_sd", "ard_access.sum_sd"),
        ("0.5*ard_write.sum_sd + 2*dmd", "0.5*ard_write.sum_sd + 2*dmd.total"),
    ] {
        assert_eq!(Objective::parse(s).expect(s).label(), label);
    }
    let e = Objective::parse("lru_stack").expect_err("no single total");
    assert!(e.to_string().contains("has no single total"), "{e}");
    for bad in [
        "ard_write.nope",
        "dmd.per_read",
        "-1*dmd",
        "x*dmd",
        "a+b+c+d+e",
        "energy",
    ] {
        assert!(Objective::parse(bad).is_err(), "{bad}");
    }
    assert_eq!(Objective::parse("ard_write").expect("ok"), Objective::default());
    assert!(Objective::default().is_clock());
    assert!(!Objective::parse("2*ard_write").expect("ok").is_clock());
}

/// A mix is the weighted sum of its terms, each measured on its own.
#[test]
fn a_mix_costs_the_weighted_sum_of_its_terms() {
    let l = load_text(
        "s1.sutro",
        &std::fs::read_to_string(common_root().join("programs/sprint1_standard.sutro")).expect("read"),
    );
    let v = &l.validated;
    let order = v.program().order.clone();
    let one = |s: &str| MetricCost::new(Objective::parse(s).expect(s)).cost(v, &order);
    let mix = one("0.5*ard_write.sum_sd + 2*dmd");
    let want = 0.5 * one("ard_write.sum_sd") + 2.0 * one("dmd");
    assert!((mix - want).abs() <= 1e-9 * want.abs(), "{mix} vs {want}");
    // The spec's sprint-1 figures: Σ s·d of the standard step is per_float × floats read.
    assert!(one("ard_write.sum_sd") > 0.0 && one("dmd") > 0.0);
}

#[test]
fn beam_search_handles_a_deep_program_under_a_small_budget() {
    let l = load_text(
        "deep.sutro",
        &sutro::synth::deep_mlp(sutro::synth::DeepMlp {
            layers: 12,
            n: 6,
            hidden: 4,
            batch: 2,
        }),
    );
    let v = &l.validated;
    let model = ClockModel::new(v, &Objective::default()).expect("model");
    let g = DepGraph::build(v.program());
    let limits = reorder::Limits {
        budget: 200,
        beam_width: 8,
        ..Default::default()
    };
    let found = reorder::search(&model, &g, &limits);
    assert_eq!(found.stop, StopReason::Budget);
    assert!(found.beam_nodes > 0);
    assert_eq!(g.check_order(&found.order), Ok(()));
    let ids: Vec<usize> = v.program().order.iter().map(|o| o.idx()).collect();
    assert!(found.cost < model.total(&ids));
    let zero = reorder::search(
        &model,
        &g,
        &reorder::Limits {
            budget: 0,
            beam_width: 4,
            ..Default::default()
        },
    );
    assert_eq!(zero.stop, StopReason::Heuristic);
}

/// A random small MLP step: depth, widths, batch, loss and update order vary.
fn random_program(layers: usize, widths: &[usize], batch: usize, mse: bool, rotate: usize) -> String {
    let mut s = format!("dim n = 4\ndim k = 2\ndim batch = {batch}\nhyper lr = 0.1\nhyper wd = 0.01\n");
    let mut prev = "n".to_string();
    for i in 1..=layers {
        let o = if i == layers { 1 } else { widths[i - 1] };
        s += &format!("param W{i}[{o}, {prev}] = normal(0.5)\nparam b{i}[{o}] = uniform(-0.1, 0.1)\n");
        prev = o.to_string();
    }
    s += "input x[batch, n]\ntarget y[batch]\n";
    let mut h = "x".to_string();
    for i in 1..=layers {
        s += &format!("a{i} = affine({h}, W{i}, b{i})\n");
        if i < layers {
            s += &format!("z{i} = relu(a{i})\n");
            h = format!("z{i}");
        }
    }
    let loss = if mse { "mse" } else { "hinge" };
    s += &format!("predict a{layers}\nloss = {loss}(a{layers}, y)\ngrad loss wrt ");
    s += &(1..=layers)
        .map(|i| format!("W{i}, b{i}"))
        .collect::<Vec<_>>()
        .join(", ");
    s.push('\n');
    let mut ups: Vec<String> = (1..=layers)
        .flat_map(|i| {
            [
                format!("update W{i} sgd(lr, wd) with dW{i}\n"),
                format!("update b{i} sgd(lr, wd) with db{i}\n"),
            ]
        })
        .collect();
    let r = rotate % ups.len();
    ups.rotate_left(r);
    s + &ups.concat()
}

/// A random topological order: Kahn's algorithm choosing among ready ops by `picks`.
fn random_topo(g: &DepGraph, picks: &[usize]) -> Vec<OpId> {
    let mut done: Vec<OpId> = Vec::new();
    let mut k = 0;
    while done.len() < g.ops().len() {
        let ready: Vec<OpId> = g
            .ops()
            .iter()
            .copied()
            .filter(|o| !done.contains(o) && g.preds(*o).iter().all(|p| done.contains(p)))
            .collect();
        let pick = picks.get(k).copied().unwrap_or(0) % ready.len();
        done.push(ready[pick]);
        k += 1;
    }
    done
}

fn reorder_to(v: &Validated, order: Vec<OpId>) -> Validated {
    let mut p = v.program().clone();
    p.order = order;
    sutro::valid::validate(p, &Settings::default(), &Limits::default()).expect("a legal order validates")
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    #[test]
    fn random_legal_schedules_verify_and_illegal_ones_are_rejected(
        layers in 1usize..=3,
        widths in proptest::collection::vec(1usize..=5, 2),
        batch in 1usize..=3,
        mse in any::<bool>(),
        rotate in 0usize..6,
        picks in proptest::collection::vec(0usize..8, 40),
        edge_pick in 0usize..1000,
    ) {
        let l = load_text("rand.sutro", &random_program(layers, &widths, batch, mse, rotate));
        let v = &l.validated;
        let g = DepGraph::build(v.program());
        let order = random_topo(&g, &picks);
        prop_assert_eq!(g.check_order(&order), Ok(()));
        let w = reorder_to(v, order.clone());
        let m = session(v, 3).verify(&w, 6).expect("runs");
        prop_assert!(m.is_none(), "{:?}", m);
        // The clock model agrees with the analyzer on the random order.
        for obj in ["ard_write", "ard_access.sum_sd"] {
            let objective = Objective::parse(obj).expect("objective");
            let model = ClockModel::new(v, &objective).expect("model");
            let local: Vec<usize> = order.iter().map(|o| v.program().order.iter().position(|x| x == o).unwrap_or(0)).collect();
            let report = sutro::opt::cost::ard_report(v, &order, &objective, false);
            let exact = if objective.field.by_size() { report.sum_sd } else { report.sum_d };
            prop_assert_eq!(model.total(&local), exact);
        }
        // An illegal order: move an edge's target right before its source.
        let edges = g.edges();
        let e = edges[edge_pick % edges.len()];
        let mut bad: Vec<OpId> = order.iter().copied().filter(|o| *o != e.to).collect();
        let at = bad.iter().position(|o| *o == e.from).unwrap_or(0);
        bad.insert(at, e.to);
        prop_assert!(matches!(g.check_order(&bad), Err(Violation::Edge(_))));
    }
}

fn common_root() -> std::path::PathBuf {
    std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}
