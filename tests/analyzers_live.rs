//! Every analyzer on the sprint-1 reference step: a live run and a replay of the
//! recorded events give identical reports, and attribution rows sum to totals.

#![allow(clippy::expect_used, clippy::unwrap_used)] // Helpers outside #[test] fns: a failed expect is a test failure.

use sutro::analysis::select;
use sutro::span::SourceFile;
use sutro::trace::{Tee, Tracer, VecTracer, replay};
use sutro::valid::{Limits, Settings};

fn live_and_replayed(opts: &[&str]) -> (Vec<serde_json::Value>, Vec<serde_json::Value>) {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/programs/sprint1_standard.sutro");
    let src = SourceFile::new(path, std::fs::read_to_string(path).expect("program"));
    let loaded = sutro::load(&src, &Settings::default(), &Limits::default()).expect("valid program");
    let session = sutro::Session::new(loaded, "parity", &Settings::default(), &Limits::default(), 0).expect("fits");
    let mut live = select(&["all"], opts, None).expect("options");
    let mut rec = VecTracer::default();
    {
        let mut sinks: Vec<&mut dyn Tracer> = live.iter_mut().map(|a| a.as_tracer()).collect();
        sinks.push(&mut rec);
        let mut tee = Tee(sinks);
        session.trace(1, &mut tee).expect("runs");
    }
    let mut again = select(&["all"], opts, None).expect("options");
    for a in &mut again {
        replay(&rec.header, &rec.events, a.as_tracer());
    }
    (
        live.iter().map(|a| a.report_json()).collect(),
        again.iter().map(|a| a.report_json()).collect(),
    )
}

#[test]
fn live_equals_replay_and_rows_sum() {
    for opts in [
        &[][..],
        &[
            "lru_stack.granularity=buffer",
            "dmd.pricing=simultaneous",
            "energy_pj.cold=preload",
        ][..],
    ] {
        let (live, replayed) = live_and_replayed(opts);
        assert_eq!(live, replayed);
        let lru = &live[2];
        let sum = |rows: &serde_json::Value, key: &str| -> u64 {
            rows.as_array().unwrap().iter().map(|r| r[key].as_u64().unwrap()).sum()
        };
        assert_eq!(sum(&lru["buffers"], "accesses"), lru["accesses"].as_u64().unwrap());
        assert_eq!(sum(&lru["ops"], "sum_d"), lru["sum_d"].as_u64().unwrap());
        let b = &live[4];
        assert_eq!(sum(&b["buffers"], "cost"), b["total"].as_u64().unwrap());
        assert_eq!(sum(&b["ops"], "cost"), b["total"].as_u64().unwrap());
        let e = &live[5];
        let tiers: f64 = e["tiers"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["pj"].as_f64().unwrap())
            .sum();
        assert_eq!(tiers, e["total_pj"].as_f64().unwrap());
    }
    let (live, _) = live_and_replayed(&[]);
    // 19,013 floats read (spec 3.4) are every read unit of the element stack.
    assert_eq!(live[4]["reads"], 19_013);
    assert_eq!(live[5]["accesses"], 19_013);
}
