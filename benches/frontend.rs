//! Front-end and trace benchmarks: parse + lower + validate of generated deep
//! MLPs (about 100, 1,000 and 10,000 ops after lowering), and trace record,
//! encode, decode and replay (`ard_write`, `lru_stack`) throughput at three
//! program sizes. Speed is measured here,
//! never asserted; docs/performance.md records the figures.

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use std::hint::black_box;
use sutro::span::SourceFile;
use sutro::trace::codec::{TraceFile, TraceMeta, decode, encode};
use sutro::trace::{Tracer, VecTracer, replay};
use sutro::valid::{Limits, Settings};

fn load(text: &str) -> sutro::Loaded {
    match sutro::load(
        &SourceFile::new("deep.sutro", text),
        &Settings::default(),
        &Limits::default(),
    ) {
        Ok(l) => l,
        Err(e) => panic!("does not load: {e:?}"),
    }
}

fn frontend(c: &mut Criterion) {
    let mut g = c.benchmark_group("parse_validate");
    g.sample_size(10);
    for layers in [14, 140, 1400] {
        let text = sutro::synth::deep_mlp(sutro::synth::DeepMlp {
            layers,
            n: 20,
            hidden: 16,
            batch: 4,
        });
        let ops = load(&text).validated.program().ops.len();
        g.throughput(Throughput::Elements(ops as u64));
        g.bench_with_input(BenchmarkId::new("ops", ops), &text, |b, t| {
            b.iter(|| black_box(load(t)))
        });
    }
    g.finish();
}

fn traces(c: &mut Criterion) {
    let mut g = c.benchmark_group("trace");
    g.sample_size(10);
    for layers in [14, 140, 1400] {
        let l = load(&sutro::synth::deep_mlp(sutro::synth::DeepMlp {
            layers,
            n: 20,
            hidden: 16,
            batch: 4,
        }));
        let session = sutro::Session::new(l, "parity", &Settings::default(), &Default::default(), 0)
            .unwrap_or_else(|e| panic!("{e:?}"));
        let mut rec = VecTracer::default();
        if let Err(e) = session.trace(4, &mut rec) {
            panic!("{e:?}");
        }
        let file = TraceFile {
            header: rec.header.clone(),
            meta: TraceMeta::default(),
            events: rec.events.clone(),
        };
        let bytes = encode(&file).unwrap_or_else(|e| panic!("{e}"));
        let n = rec.events.len() as u64;
        g.throughput(Throughput::Elements(n));
        g.bench_with_input(BenchmarkId::new("record_events", n), &session, |b, session| {
            b.iter(|| {
                let mut t = VecTracer::default();
                let _ = session.trace(4, &mut t);
                black_box(t.events.len())
            })
        });
        g.bench_with_input(BenchmarkId::new("encode_events", n), &file, |b, f| {
            b.iter(|| black_box(encode(f)))
        });
        g.bench_with_input(BenchmarkId::new("decode_events", n), &bytes, |b, x| {
            b.iter(|| black_box(decode(x, u64::MAX)))
        });
        g.bench_with_input(BenchmarkId::new("replay_ard_write_events", n), &file, |b, f| {
            b.iter(|| {
                let mut r =
                    sutro::analysis::Reuse::new(sutro::analysis::ReuseKind::Write, sutro::analysis::Cold::MinusOne);
                replay(&f.header, &f.events, &mut r as &mut dyn Tracer);
                black_box(r.report().sum_d)
            })
        });
        let accesses: u64 = file.events.iter().map(|e| e.len).sum();
        g.throughput(Throughput::Elements(accesses));
        g.bench_with_input(
            BenchmarkId::new("replay_lru_stack_element_accesses", accesses),
            &file,
            |b, f| {
                b.iter(|| {
                    let mut list = sutro::analysis::select(&["lru_stack"], &[] as &[&str], None).unwrap_or_default();
                    let mut tee = sutro::trace::Tee(list.iter_mut().map(|a| a.as_tracer()).collect());
                    replay(&f.header, &f.events, &mut tee);
                    drop(tee);
                    black_box(list.first().map(|a| a.report_json()))
                })
            },
        );
    }
    g.finish();
}

criterion_group!(benches, frontend, traces);
criterion_main!(benches);
