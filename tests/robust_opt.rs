//! `optimize` on the 10,000-op fixture (issue 12, row 7): every pass list ends
//! with a stop reason (`budget`: a deterministic bound hit) and a verified
//! output that re-loads. Heavy, so ignored by default; `.ci/run` runs it in
//! release mode with `--ignored`. Timings and peak memory are in
//! docs/optimizer.md ("Bounds for large programs"), measured, never asserted.
#![allow(clippy::unwrap_used, clippy::expect_used)] // Test code: a failed unwrap is a failed test.

mod common;

use common::sutro;

const FIXTURE: &str = "tests/fixtures/mlp_1428.sutro";

fn scratch(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("sutro-robust-opt-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("scratch dir");
    dir.join(name)
}

/// Runs `optimize FIXTURE ARGS --json -o OUT`; returns the JSON and the output text.
fn optimize(out_name: &str, args: &[&str]) -> (serde_json::Value, String) {
    let out = scratch(out_name);
    let out_s = out.to_str().expect("utf-8 path");
    let mut all = vec!["optimize", FIXTURE, "--json", "-o", out_s];
    all.extend_from_slice(args);
    let o = sutro(&all);
    assert!(
        o.status.success(),
        "optimize {args:?}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    let json: serde_json::Value = serde_json::from_slice(&o.stdout).expect("JSON");
    (json, std::fs::read_to_string(&out).expect("output written"))
}

#[test]
fn the_fixture_has_ten_thousand_ops() {
    let l = common::load(FIXTURE, &[]);
    let n = l.validated.program().order.len();
    assert!((9_000..=10_000).contains(&n), "{n} ops");
}

#[test]
#[ignore = "release-mode heavy: .ci/run runs it with --ignored"]
fn every_pass_list_stops_on_a_bound_with_a_verified_output() {
    for (name, args) in [
        ("reorder.sutro", vec!["--passes", "reorder"]),
        ("reorder0.sutro", vec!["--passes", "reorder", "--budget", "0"]),
        ("fuse.sutro", vec!["--passes", "fuse"]),
        ("default.sutro", vec![]),
    ] {
        let (json, text) = optimize(name, &args);
        assert_eq!(json["stop"], "budget", "{args:?}");
        assert_eq!(json["verified"], true, "{args:?}");
        let passes = json["passes"].as_array().expect("passes");
        assert!(passes.iter().any(|p| p["stop"] == "budget"), "{args:?}");
        assert!(
            json["after"].as_f64().expect("after") <= json["before"].as_f64().expect("before"),
            "{args:?}"
        );
        assert!(text.contains("verified bit-identical"), "{args:?}");
        // The output is a valid program that verifies against the input.
        let out = scratch(name);
        let v = sutro(&["verify", FIXTURE, out.to_str().expect("path"), "--steps", "5"]);
        assert!(v.status.success(), "{args:?}: {}", String::from_utf8_lossy(&v.stderr));
    }
}

#[test]
#[ignore = "release-mode heavy: .ci/run runs it with --ignored"]
fn a_bounded_search_is_deterministic() {
    let args = ["--passes", "reorder", "--budget", "0"];
    let (a, ta) = optimize("det_a.sutro", &args);
    let (b, tb) = optimize("det_b.sutro", &args);
    assert_eq!(a["after"], b["after"]);
    assert_eq!(ta, tb);
}
