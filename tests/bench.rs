//! `sutro bench`: the JSON contract, skips, determinism across thread counts,
//! data-independence of per-step totals, exact energy-to-solve, Kendall's tau and
//! medians on hand-computed examples, and exit codes on bad input.
//!
//! Every run uses a tiny config (n=6, k=2, hidden=16, batch 8, 64 examples) so
//! the suite stays quick. Golden figures are computed by hand in the comments.

// Helpers outside #[test] fns panic on setup failure, which fails the test.
#![allow(clippy::expect_used, clippy::unwrap_used)]

use serde_json::Value;
use std::process::Command;
use sutro::analysis::Metric;
use sutro::bench::rank::{competition_ranks, kendall_tau_b};
use sutro::bench::{self, median, parse_seeds};
use sutro::interp::{Interp, StartWrites};
use sutro::span::SourceFile;
use sutro::trace::{Tee, Tracer};
use sutro::train::{self, RunOptions};
use sutro::valid::{Limits, Settings};

const TINY: [&str; 12] = [
    "--set",
    "n=6",
    "--set",
    "k=2",
    "--set",
    "hidden=16",
    "--set",
    "batch=8",
    "--set",
    "n_train=64",
    "--set",
    "n_test=32",
];

fn sutro(args: &[&str]) -> (i32, String, String) {
    let o = Command::new(env!("CARGO_BIN_EXE_sutro"))
        .args(args)
        .output()
        .expect("runs");
    (
        o.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

fn bench_json(extra: &[&str]) -> Vec<Value> {
    let mut args = vec!["bench"];
    args.extend_from_slice(extra);
    args.extend_from_slice(&TINY);
    args.push("--json");
    let (code, out, err) = sutro(&args);
    assert_eq!(code, 0, "stderr: {err}");
    match serde_json::from_str(&out).expect("JSON") {
        Value::Array(rows) => rows,
        v => panic!("not an array: {v}"),
    }
}

fn settings() -> Settings {
    Settings::parse(
        &TINY
            .iter()
            .skip(1)
            .step_by(2)
            .map(|s| s.to_string())
            .collect::<Vec<_>>(),
    )
    .expect("settings")
}

fn loaded(path: &str) -> sutro::Loaded {
    let text = std::fs::read_to_string(path).expect("readable");
    sutro::load(&SourceFile::new(path, text), &settings(), &Limits::default()).expect("loads")
}

#[test]
fn json_rows_have_the_contract_keys_with_their_types() {
    let rows = bench_json(&[
        "programs/sparse_parity.sutro",
        "programs/sign_sgd.sutro",
        "--seeds",
        "0..2",
        "--epochs",
        "30",
    ]);
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[0]["program"], "sparse_parity");
    assert_eq!(rows[1]["program"], "sign_sgd");
    for r in &rows {
        assert_eq!(r["task"], "parity");
        assert_eq!(r["seeds"], 3);
        let solved = r["solved"].as_u64().expect("solved is a count");
        assert!(solved <= 3);
        for k in ["median_steps", "median_epochs", "median_wall_s"] {
            assert!(
                if solved == 0 { r[k].is_null() } else { r[k].is_f64() },
                "{k}: {}",
                r[k]
            );
        }
        for m in Metric::ALL {
            let ps = &r["per_step"][m.name()];
            assert!(ps.is_number() && ps.as_f64().expect("number") > 0.0, "{}", m.name());
            let ts = &r["to_solve"][m.name()];
            assert!(ts.is_null() == (solved == 0), "{}", m.name());
        }
        for m in ["ard_write", "ard_access"] {
            let f = r["floor"][m].as_i64().expect("integer floor");
            let ps = r["per_step"][m].as_i64().expect("integer per-step");
            let opt = r["optimized"][m]["sum_sd"].as_i64().expect("integer optimum");
            assert!(
                0 < f && f <= opt && opt <= ps,
                "{m}: floor {f}, reorder {opt}, step {ps}"
            );
        }
        assert!(r["rank"]["ard_write"].as_u64().expect("rank") >= 1);
    }
}

#[test]
fn energy_to_solve_is_per_step_times_median_steps() {
    // One seed: the median is that run, so to_solve = per_step × solved_step exactly.
    let rows = bench_json(&["programs/sparse_parity.sutro", "--seeds", "1", "--epochs", "30"]);
    let r = &rows[0];
    let steps = r["median_steps"].as_f64().expect("solves in 30 epochs");
    for m in Metric::ALL {
        let ps = r["per_step"][m.name()].as_f64().expect("number");
        let ts = r["to_solve"][m.name()].as_f64().expect("number");
        assert!((ts - ps * steps).abs() <= 1e-9 * ts.abs(), "{}", m.name());
    }
    // With --count-eval, each epoch adds ⌈64/8⌉ + ⌈32/8⌉ = 12 forward passes.
    let ev = bench_json(&[
        "programs/sparse_parity.sutro",
        "--seeds",
        "1",
        "--epochs",
        "30",
        "--count-eval",
    ]);
    let e = &ev[0];
    assert_eq!(e["evals_per_epoch"], 12);
    let epochs = e["median_epochs"].as_f64().expect("solved");
    for m in Metric::ALL {
        let base = r["to_solve"][m.name()].as_f64().expect("number");
        let with = e["to_solve"][m.name()].as_f64().expect("number");
        let pass = e["eval_pass"][m.name()].as_f64().expect("number");
        assert!(pass > 0.0 && pass < r["per_step"][m.name()].as_f64().expect("number"));
        assert!(
            (with - base - pass * epochs * 12.0).abs() <= 1e-9 * with,
            "{}",
            m.name()
        );
    }
}

#[test]
fn pairs_that_do_not_fit_are_skipped_and_listed() {
    // `sum` needs an mse program: the hinge programs are skipped, not fatal.
    let mut args = vec![
        "bench",
        "programs/sparse_parity.sutro",
        "programs/sparse_sum.sutro",
        "--task",
        "sum",
    ];
    args.extend_from_slice(&TINY);
    args.extend_from_slice(&["--seeds", "0", "--epochs", "2", "--json"]);
    let (code, out, err) = sutro(&args);
    assert_eq!(code, 0, "{err}");
    let rows: Vec<Value> = serde_json::from_str(&out).expect("JSON");
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0]["program"], "sparse_sum");
    assert!(err.contains("skipped sparse_parity"), "{err}");
    // The Markdown board lists them too; a `--set` name the program lacks is a skip.
    let (code, md, err) = sutro(&[
        "bench",
        "programs/sparse_parity.sutro",
        "programs/mlp3.sutro",
        "--set",
        "h1=4",
        "--set",
        "n_train=16",
        "--set",
        "n_test=8",
        "--set",
        "batch=8",
        "--seeds",
        "0",
        "--epochs",
        "1",
    ]);
    assert_eq!(code, 0, "{err}");
    let skipped = md.split("## Skipped").nth(1).expect("a Skipped section");
    assert!(skipped.contains("`sparse_parity`: `--set h1`"), "{skipped}");
    assert!(md.contains("| `mlp3` |"));
}

fn without_wall(mut rows: Vec<Value>) -> Vec<Value> {
    for r in &mut rows {
        if let Value::Object(o) = r {
            o.remove("median_wall_s");
            if let Some(Value::Array(runs)) = o.get_mut("runs") {
                for run in runs {
                    if let Value::Object(x) = run {
                        x.remove("wall_s");
                    }
                }
            }
        }
    }
    rows
}

#[test]
fn output_is_identical_across_thread_counts() {
    let common = [
        "programs/sparse_parity.sutro",
        "programs/per_layer.sutro",
        "programs/feedback_alignment.sutro",
        "--seeds",
        "0..2",
        "--epochs",
        "12",
    ];
    let one = bench_json(&[&common[..], &["--jobs", "1"]].concat());
    let two = bench_json(&[&common[..], &["--jobs", "2"]].concat());
    assert_eq!(without_wall(one.clone()), without_wall(two));
    assert_eq!(one.len(), 3);
    // The Markdown past the leaderboard table has no wall time at all.
    let md = |jobs: &str| {
        let mut args = vec!["bench"];
        args.extend_from_slice(&common);
        args.extend_from_slice(&TINY);
        args.extend_from_slice(&["--jobs", jobs]);
        let (code, out, err) = sutro(&args);
        assert_eq!(code, 0, "{err}");
        out.split("## Against backprop").nth(1).expect("section").to_string()
    };
    assert_eq!(md("1"), md("2"));
}

#[test]
fn per_step_totals_do_not_depend_on_data_weights_or_step() {
    let l = loaded("programs/per_layer.sutro");
    let v = &l.validated;
    let session = sutro::Session::new(l.clone(), "parity", &settings(), &Limits::default(), 0).expect("fits");
    let (task, cfg) = (session.task(), session.task_config().clone());
    let a = bench::per_step(&session).expect("scores");
    let b = bench::per_step(&session.with_seed(9).expect("fits")).expect("scores");
    assert_eq!(a, b);
    // A step after five trained steps, on other examples, traced on its own.
    let data = task.generate(&cfg, 4);
    let ports = train::ports(v, &cfg).expect("ports");
    let mut it = Interp::new(v, train::seed_for(4, "init"));
    for s in 0..5u32 {
        let base = s as usize * cfg.batch;
        train::feed(&mut it, &ports, (&data.train_x, &data.train_y), cfg.n, cfg.batch, |j| {
            (base + j) % cfg.n_train
        });
        it.step(s, None).expect("steps");
    }
    train::feed(&mut it, &ports, (&data.train_x, &data.train_y), cfg.n, cfg.batch, |j| {
        (40 + j) % cfg.n_train
    });
    let resolved = sutro::analysis::resolve(&Metric::ALL, &[] as &[&str], None).expect("defaults");
    let mut list: Vec<_> = resolved.iter().map(sutro::analysis::MetricOptions::build).collect();
    {
        let mut tee = Tee(list.iter_mut().map(|x| x.as_tracer()).collect());
        tee.begin(session.header());
        it.step(5, Some((&mut tee, StartWrites::All))).expect("traced step");
        tee.end();
    }
    for (an, (m, va)) in list.iter().zip(&a) {
        assert_eq!(an.metric(), *m);
        let vb = an.value(m.board_total()).expect("total");
        assert_eq!(vb, *va, "{}", m.name());
    }
}

#[test]
fn bench_training_matches_train_exactly() {
    for path in ["programs/sparse_parity.sutro", "programs/local_error.sutro"] {
        let session = sutro::Session::new(loaded(path), "parity", &settings(), &Limits::default(), 0).expect("fits");
        let opts = RunOptions {
            epochs: 20,
            ..RunOptions::default()
        };
        let test_only = RunOptions {
            eval_train: false,
            ..opts.clone()
        };
        for seed in [0, 3] {
            let session = session.with_seed(seed).expect("fits");
            let a = session.train(&opts, None, |_| {}).expect("trains");
            let b = session.train(&test_only, None, |_| {}).expect("trains");
            assert_eq!(
                (a.solved_epoch, a.solved_step, a.epochs_run),
                (b.solved_epoch, b.solved_step, b.epochs_run)
            );
            let acc = |r: &train::RunResult| r.history.iter().map(|h| h.test_acc).collect::<Vec<_>>();
            assert_eq!(acc(&a), acc(&b), "{path} seed {seed}");
        }
    }
}

#[test]
fn kendall_tau_b_on_hand_examples() {
    // Same order: every pair concordant.
    assert_eq!(kendall_tau_b(&[1.0, 2.0, 3.0], &[10.0, 20.0, 30.0]), Some(1.0));
    // Reversed: every pair discordant.
    assert_eq!(kendall_tau_b(&[1.0, 2.0, 3.0], &[3.0, 2.0, 1.0]), Some(-1.0));
    // [1,2,3] vs [1,3,2]: pairs (0,1) C, (0,2) C, (1,2) D → (2 − 1)/3.
    let t = kendall_tau_b(&[1.0, 2.0, 3.0], &[1.0, 3.0, 2.0]).expect("tau");
    assert!((t - 1.0 / 3.0).abs() < 1e-12);
    // [1,2,3,4] vs [2,1,4,3]: D on (0,1) and (2,3), C on the other 4 → 2/6.
    let t = kendall_tau_b(&[1.0, 2.0, 3.0, 4.0], &[2.0, 1.0, 4.0, 3.0]).expect("tau");
    assert!((t - 1.0 / 3.0).abs() < 1e-12);
    // A tie in x: x = [1,2,2], y = [1,2,3]; C = 2, D = 0, 3 pairs, 1 tied in x:
    // tau-b = 2 / √((3 − 1)(3 − 0)) = 2/√6.
    let t = kendall_tau_b(&[1.0, 2.0, 2.0], &[1.0, 2.0, 3.0]).expect("tau");
    assert!((t - 2.0 / 6f64.sqrt()).abs() < 1e-12);
    // Every pair tied, or fewer than two items: undefined.
    assert_eq!(kendall_tau_b(&[5.0, 5.0], &[1.0, 2.0]), None);
    assert_eq!(kendall_tau_b(&[1.0], &[1.0]), None);
}

#[test]
fn ranks_medians_and_seed_ranges_on_hand_examples() {
    let xs: [f64; 4] = [10.0, 20.0, 20.0, 30.0];
    assert_eq!(competition_ranks(4, |i, j| xs[i].total_cmp(&xs[j])), vec![1, 2, 2, 4]);
    assert_eq!(median(vec![3.0, 1.0, 2.0]), Some(2.0));
    assert_eq!(median(vec![4.0, 1.0, 3.0, 2.0]), Some(2.5));
    assert_eq!(median(Vec::new()), None);
    assert_eq!(parse_seeds("0..4"), Ok(vec![0, 1, 2, 3, 4]));
    assert_eq!(parse_seeds("7"), Ok(vec![7]));
    assert!(parse_seeds("4..2").is_err());
    assert!(parse_seeds("a..b").is_err());
}

#[test]
fn bad_input_exits_2_with_a_message() {
    for (args, needle) in [
        (
            vec!["bench", "programs/sparse_parity.sutro", "--seeds", "5..1"],
            "first seed is after",
        ),
        (vec!["bench", "programs/sparse_parity.sutro", "--jobs", "0"], "--jobs"),
        (
            vec!["bench", "programs/sparse_parity.sutro", "--task", "xor"],
            "unknown task",
        ),
        (vec!["bench", "no/such/file.sutro"], "cannot read"),
        (
            vec!["bench", "programs/invalid/shape_mismatch.sutro"],
            "shape_mismatch.sutro",
        ),
    ] {
        let (code, out, err) = sutro(&args);
        assert_eq!(code, 2, "{args:?}: {err}");
        assert!(out.is_empty());
        assert!(err.contains(needle), "{args:?}: {err}");
    }
}

#[test]
fn markdown_and_svg_files_are_written() {
    let dir = std::env::temp_dir().join(format!("sutro-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let md = dir.join("board.md");
    let svg = dir.join("board.svg");
    let (md_s, svg_s) = (md.to_string_lossy().into_owned(), svg.to_string_lossy().into_owned());
    let mut args = vec![
        "bench",
        "programs/sparse_parity.sutro",
        "programs/sign_sgd.sutro",
        "--seeds",
        "0",
        "--epochs",
        "30",
        "--md",
        &md_s,
        "--svg",
        &svg_s,
    ];
    args.extend_from_slice(&TINY);
    let (code, out, err) = sutro(&args);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("wrote"));
    let text = std::fs::read_to_string(&md).expect("markdown written");
    assert!(text.starts_with("# sutro leaderboard: task `parity`"));
    assert!(text.contains("```\nsutro bench programs/sparse_parity.sutro"));
    for section in [
        "## Leaderboard",
        "## Against backprop",
        "## Floor and the reorder-only optimizer",
        "## Metric disagreement",
    ] {
        assert!(text.contains(section), "{section}");
    }
    let chart = std::fs::read_to_string(&svg).expect("svg written");
    assert!(chart.starts_with("<svg xmlns=\"http://www.w3.org/2000/svg\""));
    assert!(chart.contains("<title>") && chart.contains("energy-to-solve, energy_pj (pJ)"));
    assert!(chart.contains("solved: median energy-to-solve") && chart.trim_end().ends_with("</svg>"));
    let _ = std::fs::remove_dir_all(&dir);
}

/// One board, one task: programs that run at different `n`, `k` or `n_test`
/// (the sprint-1 programs declare n = 3, n_test = 20; sparse_parity n = 20,
/// n_test = 200) are refused with exit 2 naming each row's setting; with the
/// n and n_test given for every row, the same programs share one board (each
/// keeps its own n_train and batch: they are part of the algorithm), which lists
/// each row's effective settings.
#[test]
fn a_board_refuses_rows_at_different_task_settings() {
    let (code, _, err) = sutro(&[
        "bench",
        "programs/sprint1_fused.sutro",
        "programs/sparse_parity.sutro",
        "--seeds",
        "0..1",
        "--epochs",
        "1",
    ]);
    assert_eq!(code, 2);
    assert!(err.contains("sprint1_fused (n=3, k=3, n_test=20)"), "{err}");
    assert!(err.contains("sparse_parity (n=20, k=3, n_test=200)"), "{err}");
    let (code, out, err) = sutro(&[
        "bench",
        "programs/sprint1_fused.sutro",
        "programs/sparse_parity.sutro",
        "--seeds",
        "0..1",
        "--epochs",
        "1",
        "--set",
        "n=20",
        "--set",
        "n_test=200",
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("| sprint1_fused | 20 | 3 | 20 | 200 | 1 |"), "{out}");
    assert!(out.contains("| sparse_parity | 20 | 3 | 1000 | 200 | 32 |"), "{out}");
}
