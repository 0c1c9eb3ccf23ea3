//! Trace files: record and replay agree with live scoring, damaged files never
//! yield a number, and the exports have the documented shapes.
#![allow(clippy::unwrap_used, clippy::expect_used)] // Test code: a failed unwrap is a failed test.

mod common;
use common::{root, sutro, sutro_json};
use serde_json::Value;
use sutro::trace::codec;

fn tmp(name: &str) -> String {
    let dir = std::env::temp_dir().join(format!("sutro-traces-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(name).to_string_lossy().into_owned()
}

#[test]
fn replay_equals_live_score_for_every_program() {
    for p in [
        "programs/sprint1_standard.sutro",
        "programs/sprint1_fused.sutro",
        "programs/sparse_parity.sutro",
    ] {
        let f = tmp(&format!("{}.trace", sutro::program_name(p)));
        let rec = sutro(&["trace", "record", p, "-o", &f]);
        assert!(rec.status.success(), "{}", String::from_utf8_lossy(&rec.stderr));
        let live = sutro_json(&["score", p, "--metric", "ard_write,ard_access", "--events", "--json"]);
        let replayed = sutro_json(&[
            "trace",
            "replay",
            &f,
            "--metric",
            "ard_write,ard_access",
            "--events",
            "--json",
        ]);
        assert_eq!(live, replayed, "{p}");
    }
}

#[test]
fn committed_golden_traces_reproduce_the_seed() {
    let r = |f: &str| sutro_json(&["trace", "replay", f, "--json"])["metrics"]["ard_write"].clone();
    let row = |r: &Value, n: &str| {
        r["buffers"]
            .as_array()
            .unwrap()
            .iter()
            .find(|b| b["name"] == n)
            .unwrap()["avg"]
            .as_f64()
    };
    let std = r("traces/sprint1_standard.trace");
    let fused = r("traces/sprint1_fused.trace");
    assert_eq!((row(&std, "dW2"), row(&std, "db2")), (Some(16_005.0), Some(18_005.0)));
    assert_eq!((row(&fused, "dW2"), row(&fused, "db2")), (Some(3_002.0), Some(5_002.0)));
    assert_eq!(std["floats_read"], 19_013);
}

#[test]
fn multi_step_traces_write_params_once() {
    let f = tmp("sp4.trace");
    assert!(
        sutro(&[
            "trace",
            "record",
            "programs/sprint1_fused.sutro",
            "--steps",
            "4",
            "-o",
            &f
        ])
        .status
        .success()
    );
    let t = codec::decode(&std::fs::read(&f).unwrap(), u64::MAX).unwrap();
    let starts = |step: u32| t.events.iter().filter(|e| e.step == step && e.op.is_none()).count();
    // Step 1 writes W1, b1, W2, b2, x, y; later steps only x and y (metrics spec, "Steps").
    assert_eq!((starts(0), starts(1), starts(2), starts(3)), (6, 2, 2, 2));
    let info = sutro_json(&["trace", "info", &f, "--json"]);
    assert_eq!(info["steps"], 4);
    assert_eq!(info["events"].as_u64().unwrap() as usize, t.events.len());
    // 34,022 floats per step (the sprint-1 clock) minus the 5,001 param floats after step 1.
    assert_eq!(info["element_accesses"], 34_022 + 3 * (34_022 - 5_001));
    assert_eq!(info["bytes"], 4 * (34_022 + 3 * (34_022 - 5_001)));
}

#[test]
fn every_truncation_and_bit_flip_is_an_error() {
    let bytes = std::fs::read(root().join("traces/sprint1_fused.trace")).unwrap();
    assert!(codec::decode(&bytes, u64::MAX).is_ok());
    for len in 0..bytes.len() {
        assert!(
            codec::decode(&bytes[..len], u64::MAX).is_err(),
            "truncated to {len} bytes"
        );
    }
    for i in 0..bytes.len() {
        for bit in 0..8 {
            let mut b = bytes.clone();
            b[i] ^= 1 << bit;
            assert!(codec::decode(&b, u64::MAX).is_err(), "flip of bit {bit} in byte {i}");
        }
    }
    assert!(matches!(
        codec::decode(&bytes, 100),
        Err(codec::TraceError::TooBig { .. })
    ));
}

#[test]
fn damaged_files_exit_2_with_a_message_and_no_figures() {
    let bytes = std::fs::read(root().join("traces/sprint1_fused.trace")).unwrap();
    let cases: [(&str, Vec<u8>, &str); 4] = [
        ("trunc.trace", bytes[..bytes.len() / 2].to_vec(), "checksum mismatch"),
        (
            "flip.trace",
            {
                let mut b = bytes.clone();
                b[40] ^= 4;
                b
            },
            "checksum mismatch",
        ),
        (
            "version.trace",
            {
                let mut b = bytes.clone();
                b[8] = 9;
                b
            },
            "unsupported trace format version 9",
        ),
        ("text.trace", b"step,op,kind\n".to_vec(), "not a sutro trace file"),
    ];
    for (name, data, msg) in cases {
        let f = tmp(name);
        std::fs::write(&f, data).unwrap();
        for cmd in [
            vec!["trace", "replay", &f],
            vec!["trace", "info", &f],
            vec!["trace", "export", &f, "--format", "csv", "-o", "-"],
        ] {
            let out = sutro(&cmd);
            assert_eq!(out.status.code(), Some(2), "{cmd:?}");
            assert!(out.stdout.is_empty(), "{cmd:?} printed figures");
            assert!(
                String::from_utf8_lossy(&out.stderr).contains(msg),
                "{cmd:?}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
    }
}

#[test]
fn a_failed_record_leaves_no_file() {
    let f = tmp("diverged.trace");
    let out = sutro(&[
        "trace",
        "record",
        "programs/sparse_parity.sutro",
        "--set",
        "lr=1e30",
        "--steps",
        "50",
        "-o",
        &f,
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(!std::path::Path::new(&f).exists());
    let out = sutro(&[
        "trace",
        "record",
        "programs/sparse_parity.sutro",
        "-o",
        "/nonexistent-dir/x.trace",
    ]);
    assert_eq!(out.status.code(), Some(2));
}

/// Hand computation under ard_write: W a at clock 0, W b at 1, R b at 2 (d = 1),
/// R a at 3 (d = 3): per_read = 2, floats_accessed = 4.
#[test]
fn imported_csv_scores_like_a_hand_computation() {
    let f = tmp("tiny.trace");
    assert!(
        sutro(&["trace", "import", "tests/fixtures/tiny.csv", "-o", &f])
            .status
            .success()
    );
    let r = sutro_json(&["trace", "replay", &f, "--json"])["metrics"]["ard_write"].clone();
    assert_eq!(r["per_read"].as_f64(), Some(2.0));
    assert_eq!(r["floats_accessed"], 4);
    assert_eq!(r["buffers"][0]["name"], "b");
    let csv = sutro(&["trace", "export", &f, "--format", "csv", "-o", "-"]);
    assert_eq!(
        String::from_utf8(csv.stdout).unwrap(),
        std::fs::read_to_string(root().join("tests/fixtures/tiny.csv")).unwrap()
    );
    let bad = tmp("bad.csv");
    std::fs::write(&bad, "step,op,kind,buffer,element,address\n0,0,X,a,0,0\n").unwrap();
    let out = sutro(&["trace", "import", &bad, "-o", &tmp("bad.trace")]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains(":2: kind must be R or W"));
}

#[test]
fn exports_have_the_documented_shapes() {
    let f = "traces/sprint1_standard.trace";
    let din = String::from_utf8(sutro(&["trace", "export", f, "--format", "din", "-o", "-"]).stdout).unwrap();
    // One line per element access: the sprint-1 clock ends at 34,022 floats.
    assert_eq!(din.lines().count(), 34_022);
    assert!(din.lines().all(|l| {
        let (label, addr) = l.split_once(' ').unwrap();
        (label == "0" || label == "1") && u64::from_str_radix(addr, 16).is_ok_and(|a| a % 4 == 0)
    }));
    let csv = String::from_utf8(sutro(&["trace", "export", f, "--format", "csv", "-o", "-"]).stdout).unwrap();
    assert_eq!(csv.lines().next(), Some("step,op,kind,buffer,element,address"));
    assert_eq!(csv.lines().count(), 1 + 34_022);
    let out = tmp("p.json");
    assert!(
        sutro(&["trace", "export", f, "--format", "perfetto", "-o", &out])
            .status
            .success()
    );
    let v: Value = serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
    let ev = v["traceEvents"].as_array().unwrap();
    assert_eq!(ev.len(), 12, "a step-start slice and one per op");
    for e in ev {
        assert_eq!(e["ph"], "X");
        assert!(
            e["name"].is_string() && e["ts"].is_u64() && e["dur"].is_u64() && e["pid"].is_u64() && e["tid"].is_u64()
        );
    }
    assert_eq!(ev[1]["name"], "l1_fwd");
    // l1_fwd reads x, W1, b1 (4,003 floats) and writes h_pre (1,000): bytes × 4.
    assert_eq!(ev[1]["args"]["bytes_read"], 4 * 4_003);
    assert_eq!(ev[1]["args"]["bytes_written"], 4 * 1_000);
}

/// Same program and seed: byte-identical trace files, run after run.
#[test]
fn recorded_traces_are_byte_identical_across_runs() {
    let (a, b) = (tmp("det_a.trace"), tmp("det_b.trace"));
    for f in [&a, &b] {
        let out = sutro(&[
            "trace",
            "record",
            "programs/sparse_parity.sutro",
            "--steps",
            "3",
            "--seed",
            "5",
            "-o",
            f,
        ]);
        assert!(out.status.success());
    }
    assert_eq!(std::fs::read(&a).unwrap(), std::fs::read(&b).unwrap());
}
