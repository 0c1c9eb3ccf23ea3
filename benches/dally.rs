//! The placement cost model's scorer: `ir score`'s work on the naive matmul
//! programs lowered from `programs/matmul.sutro` (16×16: 7,936 instructions;
//! 32×32: 64,512). Throughput is reported in instructions per second (the
//! issue's target: ≥ 50 M/s for costing; parsing is measured apart).

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use std::hint::black_box;
use sutro::span::SourceFile;
use sutro::valid::{Limits, Settings};

fn lowered(n: u64) -> (String, sutro::dally::Program) {
    let text = include_str!("../programs/matmul.sutro");
    let s = Settings::default().with("n", n);
    let l = match sutro::load(&SourceFile::new("matmul.sutro", text), &s, &Limits::default()) {
        Ok(l) => l,
        Err(e) => panic!("matmul.sutro does not load: {e:?}"),
    };
    match sutro::dally::lower::lower(&l.validated) {
        Ok(p) => (p.to_string(), p),
        Err(e) => panic!("matmul.sutro does not lower: {e}"),
    }
}

fn benches(c: &mut Criterion) {
    for n in [16, 32] {
        let (text, p) = lowered(n);
        let mut g = c.benchmark_group(format!("dally_matmul{n}"));
        g.throughput(Throughput::Elements(p.instrs.len() as u64));
        g.bench_function("cost", |b| {
            b.iter(|| black_box(sutro::dally::total_cost(black_box(&p))))
        });
        g.bench_function("score", |b| b.iter(|| black_box(sutro::dally::score(black_box(&p)))));
        g.bench_function("parse", |b| b.iter(|| black_box(sutro::dally::parse(black_box(&text)))));
        g.finish();
    }
}

criterion_group!(dally, benches);
criterion_main!(dally);
