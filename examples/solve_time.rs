//! Quick in-process timing of the training benchmark without criterion: time to
//! solve `programs/sparse_parity.sutro` (defaults) for seeds 0..4, each run `REPS`
//! times; prints per seed the epochs to solve and the min and median times, then
//! the median over seeds of the per-seed medians (and of the minima).
//!
//!     cargo run --release --example solve_time [REPS] [--set NAME=VALUE]...

use std::time::Instant;
use sutro::span::SourceFile;
use sutro::train::RunOptions;
use sutro::valid::{Limits, Settings};

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n == 0 {
        return f64::NAN;
    }
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

fn main() -> Result<(), String> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let reps = args.first().and_then(|a| a.parse().ok()).unwrap_or(10usize);
    let sets: Vec<String> = args
        .iter()
        .skip_while(|a| *a != "--set")
        .filter(|a| *a != "--set")
        .cloned()
        .collect();
    let settings = Settings::parse(&sets).map_err(|e| e.to_string())?;
    let src = SourceFile::new("sparse_parity.sutro", include_str!("../programs/sparse_parity.sutro"));
    let loaded = sutro::load(&src, &settings, &Limits::default()).map_err(|e| format!("{e:?}"))?;
    let session =
        sutro::Session::new(loaded, "parity", &settings, &Limits::default(), 0).map_err(|e| format!("{e:?}"))?;
    let opts = RunOptions::default();
    let (mut meds, mut mins) = (Vec::new(), Vec::new());
    for seed in 0..5u64 {
        let run = session.with_seed(seed).map_err(|e| format!("{e:?}"))?;
        let mut times = Vec::new();
        let mut epoch = None;
        for _ in 0..reps {
            let t0 = Instant::now();
            let res = run.train(&opts, None, |_| {}).map_err(|e| format!("{e:?}"))?;
            times.push(t0.elapsed().as_secs_f64());
            epoch = res.solved_epoch;
        }
        let min = times.iter().copied().fold(f64::INFINITY, f64::min);
        let med = median(times);
        println!(
            "seed {seed}: solved_epoch {epoch:?}  min {:.2} ms  median {:.2} ms",
            min * 1e3,
            med * 1e3
        );
        meds.push(med);
        mins.push(min);
    }
    println!(
        "median over seeds: {:.2} ms (of per-seed medians), {:.2} ms (of per-seed minima)",
        median(meds) * 1e3,
        median(mins) * 1e3
    );
    Ok(())
}
