//! Optimizer benchmarks: exact reorder search on the sprint-1 step (11 ops) and
//! on the lowered sparse_parity step, and the budgeted search plus beam on a
//! generated ~200-op deep MLP. Speed is measured here, never asserted.

use criterion::{Criterion, criterion_group, criterion_main};
use std::hint::black_box;
use sutro::opt::cost::{ClockModel, Objective};
use sutro::opt::depgraph::DepGraph;
use sutro::opt::reorder::{Limits, search};
use sutro::span::SourceFile;
use sutro::valid::{self, Settings, Validated};

fn load(name: &str, text: &str) -> Validated {
    match sutro::load(
        &SourceFile::new(name, text),
        &Settings::default(),
        &valid::Limits::default(),
    ) {
        Ok(l) => l.validated,
        Err(e) => panic!("{name} does not load: {e:?}"),
    }
}

fn bench_search(c: &mut Criterion, name: &str, v: &Validated, limits: Limits) {
    let model = ClockModel::new(v, &Objective::default()).unwrap_or_else(|| panic!("no model"));
    let g = DepGraph::build(v.program());
    let found = search(&model, &g, &limits);
    eprintln!(
        "{name}: {} ops, stop {}, {} nodes, {} beam states",
        v.program().order.len(),
        found.stop.name(),
        found.nodes,
        found.beam_nodes
    );
    c.bench_function(name, |b| b.iter(|| black_box(search(&model, &g, black_box(&limits)))));
}

fn benches(c: &mut Criterion) {
    let s1 = load(
        "sprint1_standard.sutro",
        include_str!("../programs/sprint1_standard.sutro"),
    );
    bench_search(c, "exact reorder sprint1_standard", &s1, Limits::default());
    let sp = load("sparse_parity.sutro", include_str!("../programs/sparse_parity.sutro"));
    bench_search(c, "exact reorder sparse_parity", &sp, Limits::default());
    let m3 = load("mlp3.sutro", include_str!("../programs/mlp3.sutro"));
    bench_search(c, "exact reorder mlp3", &m3, Limits::default());
    let deep = load(
        "deep.sutro",
        &sutro::synth::deep_mlp(sutro::synth::DeepMlp {
            layers: 28,
            n: 20,
            hidden: 8,
            batch: 4,
        }),
    );
    let limits = Limits {
        budget: 100_000,
        beam_width: 64,
        ..Default::default()
    };
    let mut group = c.benchmark_group("beam");
    group.sample_size(10);
    group.bench_function("budget 100k + beam 64, deep MLP (195 ops)", |b| {
        let model = ClockModel::new(&deep, &Objective::default()).unwrap_or_else(|| panic!("no model"));
        let g = DepGraph::build(deep.program());
        b.iter(|| black_box(search(&model, &g, black_box(&limits))))
    });
    group.finish();
}

criterion_group!(opt, benches);
criterion_main!(opt);
