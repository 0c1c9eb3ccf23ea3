//! The training benchmark (issue 3, "Benchmark"; figures in docs/performance.md).
//!
//! - `solve/seed{S}`: time to 100 % test accuracy of `programs/sparse_parity.sutro`
//!   at its defaults (the SutroYaro config), in-process: `train::train` including
//!   data generation, init and the per-epoch evaluation; seeds 0..4.
//! - `step/hidden{H}`: one interpreter step (`Interp::step`, untraced) of the same
//!   program with `hidden = H` for H = 100, 1,000, 10,000; throughput is reported
//!   in FLOP/s (the arithmetic of the step's kernels, counted below); steps/s is
//!   1 / time.
//!
//! Run with `cargo bench --bench train`; `cargo bench --bench train -- solve` for
//! the solve times only.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use std::hint::black_box;
use sutro::interp::Interp;
use sutro::span::SourceFile;
use sutro::train::{self, RunOptions};
use sutro::valid::{Limits, Settings, Validated};

const PROGRAM: &str = include_str!("../programs/sparse_parity.sutro");

fn load(settings: &Settings) -> Validated {
    let src = SourceFile::new("sparse_parity.sutro", PROGRAM);
    sutro::load(&src, settings, &Limits::default())
        .expect("program loads")
        .validated
}

/// FLOPs of one step: layer-1 and layer-2 forward, hinge, the backward ops and the
/// four SGD updates (4 per parameter: p - lr·(g + wd·p)).
fn step_flops(b: u64, n: u64, h: u64) -> u64 {
    let fwd = 2 * b * n * h + b * h /* bias */ + b * h /* relu */ + 2 * b * h + b;
    let bwd = 2 * b /* hinge_grad */ + 2 * b * h + b /* dW2, db2 */ + b * h /* dh */ + b * h /* relu_grad */;
    let bwd = bwd + 2 * b * h * n + b * h /* dW1, db1 */;
    let upd = 4 * (h * n + h + h + 1);
    fwd + bwd + upd
}

fn solve(c: &mut Criterion) {
    let v = load(&Settings::default());
    let session = sutro::Session::new(
        sutro::Loaded::from_validated(v),
        "parity",
        &Settings::default(),
        &sutro::valid::Limits::default(),
        0,
    )
    .unwrap();
    let opts = RunOptions::default();
    let mut g = c.benchmark_group("solve");
    g.sample_size(20);
    for seed in 0..5u64 {
        let run = session.with_seed(seed).unwrap();
        let res = run.train(&opts, None, |_| {}).unwrap();
        assert!(res.solved_epoch.is_some(), "seed {seed} does not solve");
        g.bench_with_input(BenchmarkId::new("seed", seed), &run, |bch, run| {
            bch.iter(|| black_box(run.train(&opts, None, |_| {}).unwrap()))
        });
    }
    g.finish();
}

fn step(c: &mut Criterion) {
    let mut g = c.benchmark_group("step");
    for hidden in [100u64, 1_000, 10_000] {
        let s = Settings::default().with("hidden", hidden);
        let v = load(&s);
        let task = train::task("parity").unwrap();
        let cfg = train::config("parity", &v, &s).unwrap();
        let ports = train::ports(&v, &cfg).unwrap();
        let data = task.generate(&cfg, 0);
        let mut it = Interp::new(&v, 1);
        train::feed(&mut it, &ports, (&data.train_x, &data.train_y), cfg.n, cfg.batch, |j| j);
        g.throughput(Throughput::Elements(step_flops(cfg.batch as u64, cfg.n as u64, hidden)));
        let mut k = 0u32;
        g.bench_function(BenchmarkId::new("hidden", hidden), |bch| {
            bch.iter(|| {
                k = k.wrapping_add(1);
                it.step(k, None).unwrap();
            })
        });
    }
    g.finish();
}

criterion_group!(benches, solve, step);
criterion_main!(benches);
