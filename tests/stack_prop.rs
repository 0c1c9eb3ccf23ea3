//! Property tests of the stack analyzers against naive references: a
//! move-to-front list (O(N·S)) for `lru_stack` and `dmd` under every option
//! combination, a direct LRU cache simulation for the miss-ratio curve, and the
//! `ard_write ≥ ard_access ≥ lru_stack(buffer, move)` chain.
//!
//! Each oracle case checks one random trace under all 84 option combinations.
//! Case counts default to 256 traces (long traces: 16) to keep `cargo test`
//! quick; `SUTRO_PROPTEST_CASES=1024` (or more) raises them.

#![allow(clippy::expect_used, clippy::unwrap_used)] // Helpers outside #[test] fns: a failed expect is a test failure.

mod common;

use common::Trace;
use proptest::prelude::*;
use sutro::analysis::{Cold, Dmd, DmdOptions, LruStack, Reuse, ReuseKind, StackOptions};
use sutro::ir::Mode;
use sutro::trace::{Event, TraceHeader};

fn cases(default: u32) -> u32 {
    std::env::var("SUTRO_PROPTEST_CASES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(default)
}

/// One op: reads then writes, each (buffer, optional sub-range seed).
#[derive(Clone, Debug)]
struct OpSpec {
    reads: Vec<(usize, Option<(u64, u64)>)>,
    writes: Vec<(usize, Option<(u64, u64)>)>,
}

#[derive(Clone, Debug)]
struct Spec {
    bufs: Vec<(u8, u64)>,
    steps: Vec<Vec<OpSpec>>,
}

const ROLES: [&str; 5] = ["param", "input", "target", "temp", "state"];

fn spec(max_size: u64, max_ops: usize, partial: bool) -> impl Strategy<Value = Spec> {
    let access = move |nb: usize| {
        (0..nb, proptest::option::weighted(0.3, (0..64u64, 0..64u64)))
            .prop_map(move |(b, part)| (b, part.filter(|_| partial)))
    };
    (1usize..6)
        .prop_flat_map(move |nb| {
            let bufs = proptest::collection::vec((0u8..5, 1..=max_size), nb);
            let op = (
                proptest::collection::vec(access(nb), 0..4),
                proptest::collection::vec(access(nb), 0..3),
            )
                .prop_map(|(reads, writes)| OpSpec { reads, writes });
            let steps = proptest::collection::vec(proptest::collection::vec(op, 0..max_ops), 1..4);
            (bufs, steps)
        })
        .prop_map(|(bufs, steps)| Spec { bufs, steps })
}

fn build(s: &Spec) -> Trace {
    let names: Vec<String> = (0..s.bufs.len()).map(|i| format!("b{i}")).collect();
    let decl: Vec<(&str, &str, u64)> = s
        .bufs
        .iter()
        .zip(&names)
        .map(|(&(r, size), n)| (n.as_str(), ROLES[r as usize], size))
        .collect();
    let mut t = Trace::new(&decl);
    for (step, ops) in s.steps.iter().enumerate() {
        t.step = step as u32;
        // Step-start writes as the spec's "Steps" rule orders them.
        for (i, &(r, _)) in s.bufs.iter().enumerate() {
            if step == 0 && matches!(ROLES[r as usize], "param" | "state") {
                t.start(&names[i]);
            }
        }
        for (i, &(r, _)) in s.bufs.iter().enumerate() {
            if matches!(ROLES[r as usize], "input" | "target") {
                t.start(&names[i]);
            }
        }
        for op in ops {
            t.op();
            for (mode, list) in [(Mode::Read, &op.reads), (Mode::Write, &op.writes)] {
                for &(b, part) in list {
                    let size = s.bufs[b].1;
                    let (lo, len) = match part {
                        None => (0, size),
                        Some((a, l)) => {
                            let lo = a % size;
                            (lo, 1 + l % (size - lo))
                        }
                    };
                    match mode {
                        Mode::Read => t.r_part(&names[b], lo, len),
                        Mode::Write => t.w_part(&names[b], lo, len),
                    };
                }
            }
        }
    }
    t
}

/// The naive move-to-front reference of spec 4.2: index 0 is the top.
struct Naive {
    stack: Vec<(u64, u64)>,
}

impl Naive {
    fn depth(&self, k: u64) -> Option<u64> {
        let mut d = 0;
        for &(key, w) in &self.stack {
            d += w;
            if key == k {
                return Some(d);
            }
        }
        None
    }
    fn total(&self) -> u64 {
        self.stack.iter().map(|e| e.1).sum()
    }
    fn touch(&mut self, k: u64, w: u64) {
        self.stack.retain(|e| e.0 != k);
        self.stack.insert(0, (k, w));
    }
}

fn units(o: &StackOptions, ev: &Event) -> Vec<(u64, u64)> {
    match o.granularity.name() {
        "buffer" if ev.len > 0 => vec![(u64::from(ev.buf.0), ev.len)],
        "buffer" => vec![],
        "byte" => (0..ev.len).map(|i| (ev.addr + i, o.bytes_per_element)).collect(),
        _ => (0..ev.len).map(|i| (ev.addr + i, 1)).collect(),
    }
}

/// Priced units in order: (event index, distance or None, cold).
fn naive(o: &StackOptions, h: &TraceHeader, events: &[Event]) -> Vec<(usize, Option<u64>, bool)> {
    let _ = h;
    let mv = o.recency.name() == "move";
    let all = o.price.name() == "all";
    let simul = o.pricing.name() == "simultaneous" && mv;
    let cold = o.cold.name();
    let mut s = Naive { stack: Vec::new() };
    let mut out = Vec::new();
    let cold_d = |s: &Naive, w: u64| (cold == "footprint_plus_1").then(|| s.total() + w);
    let mut i = 0;
    while i < events.len() {
        let ev = &events[i];
        if cold == "preload" && ev.op.is_none() && ev.mode == Mode::Write {
            let mut j = i;
            while j < events.len() && events[j].op.is_none() && events[j].mode == Mode::Write {
                j += 1;
            }
            for e in events[i..j].iter().rev() {
                for (k, w) in units(o, e) {
                    s.touch(k, w);
                }
            }
            i = j;
            continue;
        }
        if simul && ev.mode == Mode::Read && ev.op.is_some() {
            let mut j = i;
            while j < events.len() && events[j].mode == Mode::Read && (events[j].step, events[j].op) == (ev.step, ev.op)
            {
                j += 1;
            }
            let mut moves: Vec<(u64, u64)> = Vec::new();
            for (x, e) in events.iter().enumerate().take(j).skip(i) {
                for (k, w) in units(o, e) {
                    match s.depth(k) {
                        Some(d) => out.push((x, Some(d), false)),
                        None => out.push((x, cold_d(&s, w), true)),
                    }
                    if !moves.iter().any(|m| m.0 == k) {
                        moves.push((k, w));
                    }
                }
            }
            for (k, w) in moves {
                s.touch(k, w);
            }
            i = j;
            continue;
        }
        for (k, w) in units(o, ev) {
            let priced = ev.mode == Mode::Read || all;
            if priced {
                match s.depth(k) {
                    Some(d) => out.push((i, Some(d), false)),
                    None => out.push((i, cold_d(&s, w), true)),
                }
            }
            if ev.mode == Mode::Write || mv {
                s.touch(k, w);
            }
        }
        i += 1;
    }
    out
}

fn all_options() -> Vec<StackOptions> {
    let mut v = Vec::new();
    for g in ["element", "byte", "buffer"] {
        for r in ["move", "observe"] {
            for p in ["all", "reads"] {
                for pr in ["sequential", "simultaneous"] {
                    for c in ["skip", "footprint_plus_1", "preload"] {
                        for b in if g == "byte" { &["1", "4"][..] } else { &["4"][..] } {
                            let pairs = [
                                ("granularity", g),
                                ("recency", r),
                                ("price", p),
                                ("pricing", pr),
                                ("cold", c),
                                ("bytes_per_element", b),
                            ];
                            v.push(StackOptions::parse("lru_stack", &pairs).expect("valid"));
                        }
                    }
                }
            }
        }
    }
    v
}

fn dmd_term(o: &StackOptions, ev: &Event, d: u64, w: u64) -> f64 {
    match o.granularity.name() {
        "buffer" => ev.len as f64 * (d as f64).sqrt(),
        "byte" => {
            let mut t = 0.0;
            for p in d + 1 - w..=d {
                t += (p as f64).sqrt();
            }
            t
        }
        _ => (d as f64).sqrt(),
    }
}

fn check_against_oracle(t: &Trace) -> Result<(), TestCaseError> {
    for o in all_options() {
        let want = naive(&o, &t.header, &t.events);
        let mut a = LruStack::new(o).with_log(true);
        t.run(&mut a);
        let got: Vec<Option<u64>> = want.iter().map(|x| x.1).collect();
        prop_assert_eq!(a.distances(), &got[..], "options {:?}", o);
        let r = a.report();
        prop_assert_eq!(r.accesses, want.len() as u64);
        prop_assert_eq!(r.cold, want.iter().filter(|x| x.2).count() as u64);
        let sum: u128 = want.iter().filter_map(|x| x.1).map(u128::from).sum();
        prop_assert_eq!(r.sum_d, sum);
        prop_assert_eq!(r.buffers.iter().map(|b| b.sum_d).sum::<i128>(), r.sum_d as i128);
        prop_assert_eq!(r.ops.iter().map(|b| b.accesses).sum::<u64>(), r.accesses);
        prop_assert_eq!(r.buffers.iter().map(|b| b.cold).sum::<u64>(), r.cold);

        let mut d = Dmd::new(DmdOptions { stack: o, ceil: false });
        t.run(&mut d);
        let mut total = 0.0;
        for &(x, dist, _) in &want {
            if let Some(dist) = dist {
                let ev = &t.events[x];
                let w = units(&o, ev).first().map_or(0, |u| u.1);
                total += dmd_term(&o, ev, dist, w);
            }
        }
        prop_assert_eq!(d.report().total, total, "dmd under {:?}", o);
    }
    Ok(())
}

/// Direct simulation of a fully associative LRU cache holding `cap` elements.
fn lru_cache_misses(keys: &[u64], cap: u64) -> u64 {
    let mut cache: Vec<u64> = Vec::new();
    let mut misses = 0;
    for &k in keys {
        if let Some(p) = cache.iter().position(|&c| c == k) {
            cache.remove(p);
        } else {
            misses += 1;
            if cache.len() as u64 >= cap {
                cache.pop();
            }
        }
        if cap > 0 {
            cache.insert(0, k);
        }
    }
    misses
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(cases(256)))]

    #[test]
    fn fast_stack_equals_naive_move_to_front(s in spec(4, 6, true)) {
        check_against_oracle(&build(&s))?;
    }

    #[test]
    fn mrc_matches_lru_cache_simulation(s in spec(4, 6, true)) {
        let t = build(&s);
        let o = StackOptions::default();
        let mut a = LruStack::new(o);
        t.run(&mut a);
        let r = a.report();
        let keys: Vec<u64> = t.events.iter().flat_map(|e| e.addr..e.addr + e.len).collect();
        let n = keys.len() as u64;
        prop_assert_eq!(r.accesses, n);
        let max = r.mrc.last().map_or(0, |p| p.0) + 2;
        for cap in 0..=max {
            let mr = r.mrc.iter().rev().find(|p| p.0 <= cap).map_or(0.0, |p| p.1);
            let want = if n == 0 { 0.0 } else { lru_cache_misses(&keys, cap) as f64 / n as f64 };
            prop_assert_eq!(mr, want, "capacity {}", cap);
        }
    }

    #[test]
    fn ard_write_ge_ard_access_ge_lru_buffer(s in spec(6, 8, false)) {
        let t = build(&s);
        let mut w = Reuse::new(ReuseKind::Write, Cold::Skip).with_events(true);
        let mut acc = Reuse::new(ReuseKind::Access, Cold::Skip).with_events(true);
        let o = StackOptions::parse("lru_stack", &[("granularity", "buffer"), ("recency", "move"), ("price", "reads")])
            .expect("valid");
        let mut l = LruStack::new(o).with_log(true);
        t.run(&mut w);
        t.run(&mut acc);
        t.run(&mut l);
        let reads = |r: &Reuse| -> Vec<Option<i64>> {
            r.report().events.expect("log").iter().filter(|e| e.kind == "R").map(|e| e.distance).collect()
        };
        let (dw, da) = (reads(&w), reads(&acc));
        let dl = l.distances();
        prop_assert_eq!(dw.len(), dl.len());
        for i in 0..dl.len() {
            // ard_access is cold exactly when the LRU stack is (never accessed).
            prop_assert_eq!(da[i].is_none(), dl[i].is_none());
            if let (Some(a), Some(b)) = (dw[i], da[i]) {
                prop_assert!(a >= b, "ard_write {} < ard_access {}", a, b);
            }
            if let (Some(a), Some(b)) = (da[i], dl[i]) {
                prop_assert!(a as u64 >= b, "ard_access {} < lru_stack {}", a, b);
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(cases(256) / 16))]

    /// Longer traces with bigger buffers push the stack past its first capacity,
    /// exercising compaction.
    #[test]
    fn long_traces_with_compaction(s in spec(48, 24, true)) {
        check_against_oracle(&build(&s))?;
    }
}
