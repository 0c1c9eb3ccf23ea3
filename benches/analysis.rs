//! Element accesses per second of the stack analyzers (issue 4, section 5).
//!
//! The main trace is the target: `programs/sparse_parity.sutro` with
//! n=100, hidden=4000, four steps (about 10⁷ element accesses), replayed from
//! memory into each analyzer. A second, synthetic trace of single-element
//! accesses in a scattered order (10⁶ accesses) measures the general,
//! per-element Fenwick path that whole-buffer accesses avoid.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use std::hint::black_box;
use sutro::analysis::{Metric, MetricOptions, resolve};
use sutro::interp::{Interp, StartWrites};
use sutro::ir::{BufId, Mode, OpId};
use sutro::span::SourceFile;
use sutro::trace::{BufInfo, Event, OpInfo, TraceHeader, VecTracer, replay};
use sutro::valid::{Limits, Settings};

fn parity_trace(steps: u32) -> Option<(TraceHeader, Vec<Event>)> {
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/programs/sparse_parity.sutro")).ok()?;
    let src = SourceFile::new("sparse_parity.sutro", text);
    let set = Settings::parse(&["n=100".to_string(), "hidden=4000".to_string()]).ok()?;
    let loaded = sutro::load(&src, &set, &Limits::default()).ok()?;
    let mut it = Interp::new(&loaded.validated, 0);
    let mut t = VecTracer {
        header: it.header().clone(),
        ..VecTracer::default()
    };
    for s in 0..steps {
        let which = if s == 0 { StartWrites::All } else { StartWrites::Data };
        it.step(s, Some((&mut t, which))).ok()?;
    }
    Some((t.header, t.events))
}

/// One buffer of `n` elements read one element at a time with a stride, so no
/// access is part of an intact block.
fn scattered(n: u64, accesses: u64) -> (TraceHeader, Vec<Event>) {
    let header = TraceHeader {
        program: "scattered".into(),
        hash: "0".into(),
        buffers: vec![BufInfo {
            name: "a".into(),
            role: "temp".into(),
            shape: vec![n],
            offset: 0,
        }],
        ops: vec![OpInfo {
            name: "op".into(),
            line: 1,
        }],
    };
    let events = (0..accesses)
        .map(|i| Event {
            step: 0,
            op: Some(OpId(0)),
            buf: BufId(0),
            mode: Mode::Read,
            addr: (i * 7919) % n,
            len: 1,
        })
        .collect();
    (header, events)
}

fn run(c: &mut Criterion, group: &str, h: &TraceHeader, events: &[Event], configs: &[(&str, Metric, &[&str])]) {
    let elements: u64 = events.iter().map(|e| e.len).sum();
    let mut g = c.benchmark_group(group);
    g.sample_size(10);
    g.throughput(Throughput::Elements(elements));
    for (label, metric, opts) in configs {
        let Ok(mut o) = resolve(&[*metric], opts, None) else {
            continue;
        };
        let Some(o): Option<MetricOptions> = o.pop() else {
            continue;
        };
        g.bench_function(*label, |b| {
            b.iter(|| {
                let mut a = o.build();
                replay(h, events, a.as_tracer());
                black_box(a.report_json())
            })
        });
    }
    g.finish();
}

fn benches(c: &mut Criterion) {
    let configs: &[(&str, Metric, &[&str])] = &[
        ("lru_stack_default", Metric::LruStack, &[]),
        ("lru_stack_observe", Metric::LruStack, &["recency=observe"]),
        ("lru_stack_simultaneous", Metric::LruStack, &["pricing=simultaneous"]),
        ("lru_stack_byte", Metric::LruStack, &["granularity=byte"]),
        ("lru_stack_buffer", Metric::LruStack, &["granularity=buffer"]),
        ("dmd_default", Metric::Dmd, &[]),
        ("bytedmd_v2_default", Metric::ByteDmdV2, &[]),
        ("energy_pj_default", Metric::EnergyPj, &[]),
    ];
    if let Some((h, events)) = parity_trace(4) {
        run(c, "parity_n100_h4000_4steps", &h, &events, configs);
    }
    let (h, events) = scattered(1 << 16, 1_000_000);
    run(
        c,
        "scattered_1e6",
        &h,
        &events,
        &[
            ("lru_stack_default", Metric::LruStack, &[]),
            ("dmd_default", Metric::Dmd, &[]),
            ("bytedmd_v2_default", Metric::ByteDmdV2, &[]),
        ],
    );
}

criterion_group!(analysis, benches);
criterion_main!(analysis);
