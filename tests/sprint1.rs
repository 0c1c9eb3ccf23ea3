//! The seed's sprint-1 reuse-distance figures, reproduced by executing the two
//! `.sutro` programs. Expected numbers are the public test vectors of the metrics
//! spec (section 3.4), which come from the original Python benchmark
//! (cybertronai/sutro sparse_parity_benchmark.py, commits 3059aad and d4fe8d9).

#![allow(clippy::unwrap_used, clippy::expect_used)] // Test code: a failed unwrap is a failed test.

mod common;
use common::sutro_json;
use serde_json::Value;

fn ard(program: &str) -> Value {
    let v = sutro_json(&["score", program, "--metric", "ard_write", "--json"]);
    assert_eq!(v["schema"], 1);
    assert!(v["program"]["name"].is_string() && v["program"]["hash"].is_string());
    v["metrics"]["ard_write"].clone()
}

fn buffer<'a>(r: &'a Value, name: &str) -> &'a Value {
    r["buffers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|b| b["name"] == name)
        .unwrap_or_else(|| panic!("no row {name}"))
}

#[test]
fn standard_step_matches_the_seed() {
    let r = ard("programs/sprint1_standard.sutro");
    assert_eq!(buffer(&r, "dW2")["avg"].as_f64(), Some(16_005.0));
    assert_eq!(buffer(&r, "dW2")["reads"], 1);
    assert_eq!(buffer(&r, "db2")["avg"].as_f64(), Some(18_005.0));
    assert_eq!(r["floats_read"], 19_013);
    assert_eq!(buffer(&r, "W1")["floats_read"], 6_000);
    assert_eq!(buffer(&r, "W1")["reads"], 2);
    assert_eq!(r["options"]["cold"], "minus_one");
}

#[test]
fn fused_step_matches_the_seed() {
    let r = ard("programs/sprint1_fused.sutro");
    assert_eq!(buffer(&r, "dW2")["avg"].as_f64(), Some(3_002.0));
    assert_eq!(buffer(&r, "db2")["avg"].as_f64(), Some(5_002.0));
    assert_eq!(r["floats_read"], 19_013);
    assert_eq!(buffer(&r, "W1")["floats_read"], 6_000);
}

#[test]
fn fusion_cuts_per_read_distance_by_about_16_percent() {
    let std = ard("programs/sprint1_standard.sutro")["per_read"].as_f64().unwrap();
    let fused = ard("programs/sprint1_fused.sutro")["per_read"].as_f64().unwrap();
    let cut = (std - fused) / std;
    assert!((0.155..=0.165).contains(&cut), "cut {cut}");
}

/// Hand computation of the step-start clock (spec 3.3): W1, b1, W2, b2, x, y are
/// written at clocks 0, 3000, 4000, 5000, 5001, 5004; l1_fwd then reads x at clock
/// 5005 (distance 4) and W1 at 5008 (distance 5008).
#[test]
fn step_start_writes_and_first_reads_follow_the_spec() {
    let v = sutro_json(&[
        "score",
        "programs/sprint1_standard.sutro",
        "--metric",
        "ard_write",
        "--events",
        "--json",
    ]);
    let ev = v["metrics"]["ard_write"]["events"].as_array().unwrap();
    let starts: Vec<(&str, u64)> = ev
        .iter()
        .take(6)
        .map(|e| (e["buffer"].as_str().unwrap(), e["clock"].as_u64().unwrap()))
        .collect();
    assert_eq!(
        starts,
        [
            ("W1", 0),
            ("b1", 3000),
            ("W2", 4000),
            ("b2", 5000),
            ("x", 5001),
            ("y", 5004)
        ]
    );
    assert!(ev.iter().take(6).all(|e| e["kind"] == "W" && e["op"] == "start"));
    assert_eq!(
        (
            ev[6]["op"].as_str(),
            ev[6]["buffer"].as_str(),
            ev[6]["distance"].as_i64()
        ),
        (Some("l1_fwd"), Some("x"), Some(4))
    );
    assert_eq!(
        (ev[7]["buffer"].as_str(), ev[7]["distance"].as_i64()),
        (Some("W1"), Some(5008))
    );
    // Reads per op from the spec's table: 3+1+3+2+2+2+2+3+2+2+2.
    assert_eq!(v["metrics"]["ard_write"]["reads"], 24);
    assert_eq!(v["metrics"]["ard_write"]["writes"], 6 + 12);
}
