//! `sutro bench` beyond one board of one setting: `--shard I/N` with `bench
//! merge` (byte-identical to one machine apart from wall times), `--scale`
//! (the fitted exponent on hand-computed cases), `--group-by-task`,
//! `--curriculum` (checked against the same stages run by hand with `run
//! --save-state/--load-state`), `--eval-every` and `samples`.
//!
//! Runs use tiny settings (n ≤ 8, hidden 16, 64 training examples) so the suite
//! stays quick.

// Helpers outside #[test] fns panic on setup failure, which fails the test.
#![allow(clippy::expect_used, clippy::unwrap_used)]

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;
use sutro::bench::scale::fit_exponent;

const TINY: [&str; 10] = [
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

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn program(name: &str) -> String {
    root().join("programs").join(name).to_string_lossy().into_owned()
}

fn sutro_in<S: AsRef<std::ffi::OsStr>>(dir: &Path, args: &[S]) -> (i32, String, String) {
    let o = Command::new(env!("CARGO_BIN_EXE_sutro"))
        .args(args)
        .current_dir(dir)
        .output()
        .expect("runs");
    (
        o.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

fn ok_in<S: AsRef<std::ffi::OsStr> + std::fmt::Debug>(dir: &Path, args: &[S]) -> String {
    let (code, out, err) = sutro_in(dir, args);
    assert_eq!(code, 0, "sutro {args:?}: {err}");
    out
}

fn scratch(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("sutro-bench-grid-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).expect("scratch dir");
    d
}

/// The Markdown with the cells of the `median wall (s)` column blanked (the
/// only machine-dependent figure).
fn mask_wall(md: &str) -> String {
    let mut col = None;
    md.lines()
        .map(|l| {
            let cells: Vec<&str> = l.split(" | ").collect();
            if let Some(i) = cells.iter().position(|c| *c == "median wall (s)") {
                col = Some(i);
                return l.to_string();
            }
            match col {
                Some(i) if l.starts_with("| ") && !l.starts_with("|---") && cells.len() > i => {
                    let mut c = cells.clone();
                    c[i] = "W";
                    c.join(" | ")
                }
                _ => {
                    if !l.starts_with('|') {
                        col = None;
                    }
                    l.to_string()
                }
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn without_wall(v: &mut Value) {
    if let Value::Array(rows) = v {
        for r in rows {
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
    }
}

/// Three shards, run with different thread counts and merged in any order,
/// give the single-machine board byte for byte (wall times aside), its JSON
/// rows and its chart; the merged board prints the single-machine command.
#[test]
fn shards_merge_into_the_single_machine_board() {
    let (one, many) = (scratch("one"), scratch("many"));
    let (sp, mo, gf) = (
        program("sparse_parity.sutro"),
        program("momentum.sutro"),
        program("gf2.sutro"),
    );
    let mut base: Vec<&str> = vec![
        "bench", &sp, &mo, &gf, "--seeds", "0..2", "--epochs", "40", "--set", "n=6",
    ];
    base.extend_from_slice(&["--set", "k=2", "--set", "n_test=32"]);
    let with = |extra: &[&str]| -> Vec<String> { base.iter().chain(extra).map(|s| s.to_string()).collect() };
    ok_in(&one, &with(&["--md", "board.md", "--svg", "board.svg"]));
    let mut single_json: Value = serde_json::from_str(&ok_in(&one, &with(&["--json"]))).expect("rows");
    for (i, jobs) in [("1/3", "1"), ("2/3", "2"), ("3/3", "1")] {
        let out = ok_in(&many, &with(&["--shard", i, "--jobs", jobs]));
        let name = format!("rows-{}.json", &i[..1]);
        std::fs::write(many.join(name), out).expect("write shard");
    }
    let merge = |extra: &[&str]| {
        ok_in(
            &many,
            &[
                &["bench", "merge", "rows-3.json", "rows-1.json", "rows-2.json"][..],
                extra,
            ]
            .concat(),
        )
    };
    merge(&["--md", "board.md", "--svg", "board.svg"]);
    let read = |d: &Path, f: &str| std::fs::read_to_string(d.join(f)).expect("output");
    let (a, b) = (read(&one, "board.md"), read(&many, "board.md"));
    assert_eq!(mask_wall(&a), mask_wall(&b));
    assert!(
        a.contains("| W |") || mask_wall(&a).contains(" | W | "),
        "the wall column was masked"
    );
    assert!(b.contains(&format!("sutro bench {sp} {mo} {gf} --seeds 0..2")), "{b}");
    assert_eq!(read(&one, "board.svg"), read(&many, "board.svg"));
    let mut merged_json: Value = serde_json::from_str(&merge(&["--json"])).expect("rows");
    without_wall(&mut single_json);
    without_wall(&mut merged_json);
    assert_eq!(single_json, merged_json);
    assert_eq!(merged_json.as_array().map(Vec::len), Some(3));
}

/// Merge refuses an incomplete or repeated set of shards, shards of another
/// board, and a file that is not a shard, with exit 2 naming the cause.
#[test]
fn merge_refuses_incomplete_or_mixed_shards() {
    let d = scratch("bad");
    let sp = program("sparse_parity.sutro");
    let base = ["bench", &sp, "--seeds", "0..1", "--epochs", "2", "--set", "n=6"];
    for i in ["1/2", "2/2"] {
        let out = ok_in(&d, &[&base[..], &TINY[..], &["--shard", i]].concat());
        std::fs::write(d.join(format!("s{}.json", &i[..1])), out).expect("write");
    }
    let other = [
        &base[..4],
        &["--epochs", "3", "--set", "n=6"],
        &TINY[..],
        &["--shard", "2/2"],
    ]
    .concat();
    let other = ok_in(&d, &other);
    std::fs::write(d.join("other.json"), other).expect("write");
    std::fs::write(d.join("junk.json"), "[1, 2]").expect("write");
    for (files, says) in [
        (vec!["s1.json"], "missing shard(s) 2/2"),
        (vec!["s1.json", "s1.json", "s2.json"], "given twice"),
        (vec!["s1.json", "other.json"], "shards of different boards"),
        (vec!["s1.json", "junk.json"], "not a bench shard file"),
    ] {
        let (code, _, err) = sutro_in(&d, &[&["bench", "merge"][..], &files[..]].concat());
        assert_eq!(code, 2, "{files:?}: {err}");
        assert!(err.contains(says), "{files:?}: {err}");
    }
    let (code, _, err) = sutro_in(&d, &[&base[..], &["--shard", "3/2"]].concat());
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("--shard must be I/N"), "{err}");
}

/// Least squares of ln y on ln x, by hand: for (1, 1), (2, 4), (4, 8) the logs
/// are x = (0, L, 2L), y = (0, 2L, 3L) with L = ln 2; x̄ = L, ȳ = 5L/3, so
/// Σ(x − x̄)(y − ȳ) = (−L)(−5L/3) + 0 + L(4L/3) = 3L² and Σ(x − x̄)² = 2L²:
/// slope 3/2. Exact powers give their exponent; one point or a non-positive
/// value gives none.
#[test]
fn the_fitted_exponent_is_the_log_log_least_squares_slope() {
    let e = fit_exponent(&[(1.0, 1.0), (2.0, 4.0), (4.0, 8.0)]).expect("three points");
    assert!((e - 1.5).abs() < 1e-12, "{e}");
    let sq = fit_exponent(&[(20.0, 7.0 * 400.0), (30.0, 7.0 * 900.0), (50.0, 7.0 * 2500.0)]).expect("fit");
    assert!((sq - 2.0).abs() < 1e-12, "{sq}");
    assert_eq!(fit_exponent(&[(20.0, 5.0)]), None);
    assert_eq!(fit_exponent(&[(20.0, 5.0), (30.0, 0.0)]), None);
    assert_eq!(fit_exponent(&[(20.0, 5.0), (20.0, 6.0)]), None);
}

/// `--scale`: one row per program and n (ranked within its n), and the scaling
/// section's exponent is the two-point slope ln(E₂/E₁) / ln(n₂/n₁) of the rows'
/// own energy-to-solve; a program that solves no seed at an n is marked there.
#[test]
fn scale_runs_every_n_and_fits_the_exponent() {
    let d = scratch("scale");
    let gf = program("gf2.sutro");
    let sp = root()
        .join("tests/programs/row_loop.sutro")
        .to_string_lossy()
        .into_owned();
    let args = [
        "bench",
        &gf,
        &sp,
        "--scale",
        "n=6,8",
        "--seeds",
        "0..1",
        "--epochs",
        "1",
        "--set",
        "k=2",
        "--set",
        "n_test=32",
    ];
    let rows: Value = serde_json::from_str(&ok_in(&d, &[&args[..], &["--json"]].concat())).expect("rows");
    let rows = rows.as_array().expect("array");
    assert_eq!(rows.len(), 4);
    let e = |i: usize| rows[i]["to_solve"]["ard_write"].as_f64().expect("gf2 solves");
    assert_eq!(
        (rows[0]["config"]["n"].as_u64(), rows[1]["config"]["n"].as_u64()),
        (Some(6), Some(8))
    );
    assert_eq!(rows[0]["rank"]["ard_write"], 1);
    assert_eq!(rows[1]["rank"]["ard_write"], 1);
    let slope = (e(1) / e(0)).ln() / (8f64 / 6.0).ln();
    let md = ok_in(&d, &args);
    let section = md.split("## Scaling with n").nth(1).expect("scaling section");
    let line = section.lines().find(|l| l.starts_with("| `gf2` |")).expect("gf2 row");
    assert!(line.ends_with(&format!(" {slope:.2} (2) |")), "{line} vs {slope}");
    // A Hebbian-style rule that does not learn parity: marked, and no exponent.
    let sgd = section.lines().find(|l| l.starts_with("| `row_loop` |")).expect("row");
    assert!(sgd.contains("**unsolved** (0/2)") && sgd.ends_with(" — (0) |"), "{sgd}");
    assert!(md.contains("## Task n=6, k=2, n_test=32") && md.contains("## Task n=8, k=2, n_test=32"));
    ok_in(&d, &[&args[..], &["--svg", "scale.svg"]].concat());
    let svg = std::fs::read_to_string(d.join("scale.svg")).expect("svg");
    assert!(
        svg.contains("log–log") && svg.contains("row_loop unsolved at n=6"),
        "{svg}"
    );
}

/// `--group-by-task` ranks rows of different settings in their own tables
/// (without it the same board is refused).
#[test]
fn group_by_task_gives_one_table_per_setting() {
    let d = scratch("group");
    let (fu, sp) = (program("sprint1_fused.sutro"), program("sparse_parity.sutro"));
    let args = ["bench", &fu, &sp, "--seeds", "0..1", "--epochs", "2"];
    let (code, _, err) = sutro_in(&d, &args);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("--group-by-task"), "{err}");
    let grouped = [&args[..], &["--group-by-task"]].concat();
    let md = ok_in(&d, &grouped);
    assert!(md.contains("## Task n=3, k=3, n_test=20"), "{md}");
    assert!(md.contains("## Task n=20, k=3, n_test=200"), "{md}");
    assert_eq!(md.matches("### Leaderboard").count(), 2);
    let rows: Value = serde_json::from_str(&ok_in(&d, &[&grouped[..], &["--json"]].concat())).expect("rows");
    for r in rows.as_array().expect("array") {
        assert_eq!(r["rank"]["ard_write"], 1, "each row is alone in its setting: {r}");
    }
    ok_in(&d, &[&grouped[..], &["--svg", "g.svg", "--md", "g.md"]].concat());
    let svg = std::fs::read_to_string(d.join("g.svg")).expect("svg");
    assert_eq!(svg.matches("<svg ").count(), 3, "one outer chart holding two");
}

/// A curriculum row is the stages run by hand: `run` at n = 6 with
/// secret_n = 6 saving its state, then at n = 8 loading it. Its steps and
/// samples are the sums; `stage_steps` holds the first stage's steps.
#[test]
fn a_curriculum_row_sums_its_stages_run_by_hand() {
    let d = scratch("curriculum");
    let sp = program("sparse_parity.sutro");
    let tiny: Vec<&str> = TINY.to_vec();
    let bench = [
        &[
            "bench",
            &sp,
            "--curriculum",
            "n=6,8",
            "--seeds",
            "3",
            "--epochs",
            "60",
            "--json",
        ][..],
        &tiny[..],
    ]
    .concat();
    let rows: Value = serde_json::from_str(&ok_in(&d, &bench)).expect("rows");
    let run = &rows[0]["runs"][0];
    let first = [
        &[
            "run",
            &sp,
            "--seed",
            "3",
            "--epochs",
            "60",
            "--set",
            "n=6",
            "--set",
            "secret_n=6",
        ][..],
        &tiny[..],
        &["--save-state", "s6.json", "--json"][..],
    ]
    .concat();
    let a: Value = serde_json::from_str(&ok_in(&d, &first)).expect("run");
    let second = [
        &[
            "run",
            &sp,
            "--seed",
            "3",
            "--epochs",
            "60",
            "--set",
            "n=8",
            "--set",
            "secret_n=6",
        ][..],
        &tiny[..],
        &["--load-state", "s6.json", "--json"][..],
    ]
    .concat();
    let b: Value = serde_json::from_str(&ok_in(&d, &second)).expect("run");
    let (s1, s2) = (
        a["steps"].as_u64().expect("steps"),
        b["solved_step"].as_u64().expect("solves"),
    );
    assert_eq!(run["stage_steps"], serde_json::json!([s1]));
    assert_eq!(run["solved_step"].as_u64(), Some(s1 + s2));
    let samples = a["samples"].as_u64().expect("samples") + b["samples"].as_u64().expect("samples");
    assert_eq!(run["samples"].as_u64(), Some(samples));
    assert_eq!(rows[0]["curriculum"], serde_json::json!([6, 8]));
    assert_eq!(rows[0]["config"]["n"], 8);
    // Energy: each stage's steps at its own per-step total.
    let per6: Value = serde_json::from_str(&ok_in(
        &d,
        &[
            &["bench", &sp, "--seeds", "3", "--epochs", "1", "--set", "n=6", "--json"][..],
            &tiny[..],
        ]
        .concat(),
    ))
    .expect("rows");
    let p6 = per6[0]["per_step"]["ard_write"].as_f64().expect("per step");
    let p8 = rows[0]["per_step"]["ard_write"].as_f64().expect("per step");
    let want = p6 * s1 as f64 + p8 * s2 as f64;
    assert_eq!(rows[0]["to_solve"]["ard_write"].as_f64(), Some(want));
}

/// `--eval-every 1` charges a one-step algorithm one step: gf2 solves at step
/// 1 having read its n + 5 samples, and a gradient program's solving step is
/// `run --eval-every 1`'s.
#[test]
fn eval_every_and_samples_match_run() {
    let d = scratch("every");
    let (gf, sp) = (program("gf2.sutro"), program("sparse_parity.sutro"));
    let rows: Value = serde_json::from_str(&ok_in(
        &d,
        &[
            "bench",
            &gf,
            "--seeds",
            "0..2",
            "--eval-every",
            "1",
            "--set",
            "n=12",
            "--json",
        ],
    ))
    .expect("rows");
    assert_eq!(rows[0]["median_steps"], 1.0);
    assert_eq!(rows[0]["samples"], 17.0);
    assert_eq!(rows[0]["queries"], 0.0);
    let tiny: Vec<&str> = TINY.to_vec();
    let bench = [
        &[
            "bench",
            &sp,
            "--seeds",
            "1",
            "--eval-every",
            "1",
            "--set",
            "n=6",
            "--json",
        ][..],
        &tiny[..],
    ]
    .concat();
    let rows: Value = serde_json::from_str(&ok_in(&d, &bench)).expect("rows");
    let run = [
        &["run", &sp, "--seed", "1", "--eval-every", "1", "--set", "n=6", "--json"][..],
        &tiny[..],
    ]
    .concat();
    let r: Value = serde_json::from_str(&ok_in(&d, &run)).expect("run");
    assert_eq!(rows[0]["runs"][0]["solved_step"], r["solved_step"]);
    assert_eq!(rows[0]["runs"][0]["samples"], r["samples"]);
}

/// The README's bench example gives one board: every row shares one task
/// setting (run here with one seed and one epoch, as JSON, from the repository
/// root).
#[test]
fn the_readme_bench_example_is_one_task_setting() {
    let readme = std::fs::read_to_string(root().join("README.md")).expect("README");
    let line = readme
        .lines()
        .find(|l| l.starts_with("sutro bench "))
        .expect("a bench example");
    let cmd = line.split('#').next().expect("command").trim();
    let mut args: Vec<&str> = Vec::new();
    let mut words = cmd.split_whitespace().skip(1);
    while let Some(w) = words.next() {
        match w {
            "--seeds" | "--epochs" | "--md" | "--svg" => {
                words.next();
            }
            _ => args.push(w),
        }
    }
    args.extend_from_slice(&["--seeds", "0", "--epochs", "1", "--json"]);
    let rows: Value = serde_json::from_str(&ok_in(&root(), &args)).expect("rows");
    let rows = rows.as_array().expect("array");
    assert!(rows.len() >= 5, "{} rows", rows.len());
    let key = |r: &Value| {
        (
            r["config"]["n"].clone(),
            r["config"]["k"].clone(),
            r["config"]["n_test"].clone(),
        )
    };
    assert!(rows.iter().all(|r| key(r) == key(&rows[0])), "{rows:?}");
}
