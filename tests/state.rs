//! Read-out and continuation: `--dump-state`, `--save-state`, `--load-state`
//! and the `secret_n` task key that keeps a curriculum's secret fixed.

#![allow(clippy::unwrap_used, clippy::expect_used)] // Test code: a failed unwrap is a failed test.

mod common;
use common::{sutro, sutro_json};
use serde_json::Value;

fn tmp(name: &str) -> String {
    let d = std::env::temp_dir().join(format!("sutro-state-{}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    d.join(name).to_string_lossy().into_owned()
}

fn run(args: &[&str]) -> Value {
    let mut a = vec!["run", "programs/sparse_parity.sutro", "--json", "-q"];
    a.extend_from_slice(args);
    sutro_json(&a)
}

#[test]
fn the_secret_depends_on_secret_n_only_and_defaults_to_n() {
    let small = run(&["--set", "n=10", "--set", "secret_n=10", "--epochs", "1"]);
    let wide = run(&["--set", "n=20", "--set", "secret_n=10", "--epochs", "1"]);
    assert_eq!(small["task"]["secret"], wide["task"]["secret"]);
    for b in small["task"]["secret"].as_array().unwrap() {
        assert!(b.as_u64().unwrap() < 10);
    }
    // Without secret_n, n=20 draws from all 20 bits: the seed-0 secret is the
    // one every earlier run used.
    let plain = run(&["--set", "n=20", "--epochs", "1"]);
    let explicit = run(&["--set", "n=20", "--set", "secret_n=20", "--epochs", "1"]);
    assert_eq!(plain["task"]["secret"], explicit["task"]["secret"]);
    let out = sutro(&["run", "programs/sparse_parity.sutro", "--set", "secret_n=2"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("secret_n = 2 must lie between k = 3 and n = 20"));
}

#[test]
fn dump_state_writes_every_param_with_shape_and_exact_bits() {
    let path = tmp("dump.json");
    run(&["--set", "n=10", "--epochs", "1", "--dump-state", &path]);
    let st: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    assert_eq!(st["schema"], 1);
    let names: Vec<&str> = st["buffers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["W1", "b1", "W2", "b2"]);
    let w1 = &st["buffers"][0];
    assert_eq!(w1["shape"], serde_json::json!([200, 10]));
    assert_eq!(w1["values"].as_array().unwrap().len(), 2000);
    for (v, b) in w1["values"]
        .as_array()
        .unwrap()
        .iter()
        .zip(w1["bits"].as_array().unwrap())
    {
        assert_eq!(v.as_f64().unwrap() as f32, f32::from_bits(b.as_u64().unwrap() as u32));
    }
}

/// Saving and loading is exact: a run of 2 epochs equals a run of 1 epoch
/// saved, then 1 more epoch from the loaded state, when no shuffling or
/// epoch-dependent choice intervenes (the example order restarts every epoch).
#[test]
fn save_then_load_continues_bit_for_bit() {
    let (one, two, cont) = (tmp("one.json"), tmp("two.json"), tmp("cont.json"));
    run(&["--epochs", "1", "--until", "1.0", "--save-state", &one]);
    run(&["--epochs", "2", "--until", "1.0", "--dump-state", &two]);
    run(&[
        "--epochs",
        "1",
        "--until",
        "1.0",
        "--load-state",
        &one,
        "--dump-state",
        &cont,
    ]);
    let bits = |p: &str| -> Value {
        let v: Value = serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap();
        v["buffers"].clone()
    };
    assert_eq!(bits(&two), bits(&cont));
    assert_ne!(bits(&one), bits(&two));
}

/// A curriculum over n: train at n = 10, widen to n = 20 (W1's new columns are
/// zero, so the widened net computes the same function), and the run at n = 20
/// is solved at its first evaluation. Direct training at n = 20 (seed 0) needs
/// many epochs.
#[test]
fn a_curriculum_over_n_carries_the_learned_weights() {
    let s10 = tmp("s10.json");
    let first = run(&["--set", "n=10", "--set", "secret_n=10", "--save-state", &s10]);
    assert_eq!(first["solved"], true);
    let second = run(&[
        "--set",
        "n=20",
        "--set",
        "secret_n=10",
        "--load-state",
        &s10,
        "--eval-every",
        "1",
    ]);
    assert_eq!(second["solved"], true);
    assert_eq!(second["solved_step"], 1);
    let direct = run(&["--set", "n=20"]);
    assert!(direct["solved_step"].as_u64().unwrap() > 32);
    // The loaded W1 is zero padded: columns 10..20 of every row are 0 at the start.
    let shrink = sutro(&[
        "run",
        "programs/sparse_parity.sutro",
        "--set",
        "n=5",
        "--set",
        "k=3",
        "--load-state",
        &s10,
    ]);
    assert_eq!(shrink.status.code(), Some(2));
    let err = String::from_utf8_lossy(&shrink.stderr);
    assert!(
        err.contains("buffer `W1` was saved as [200, 10] and is [200, 5] now"),
        "{err}"
    );
}

#[test]
fn bad_state_files_are_clear_errors() {
    let bad = tmp("bad.json");
    std::fs::write(&bad, "{\"schema\": 1, \"program\": \"p\", \"buffers\": [{\"name\": \"W1\", \"role\": \"param\", \"shape\": [2, 2], \"values\": [], \"bits\": [1]}]}").unwrap();
    let out = sutro(&["run", "programs/sparse_parity.sutro", "--load-state", &bad]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("holds 4 elements, the file has 1 bits"));
    std::fs::write(&bad, "not json").unwrap();
    let out = sutro(&["run", "programs/sparse_parity.sutro", "--load-state", &bad]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("not a sutro state file"));
    let out = sutro(&[
        "run",
        "programs/sparse_parity.sutro",
        "--load-state",
        &bad,
        "--save-state",
        &bad,
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("is an input of this run"));
    assert_eq!(std::fs::read_to_string(&bad).unwrap(), "not json");
}
