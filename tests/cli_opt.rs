//! The optimizer's command-line contracts: output forms and exit codes.

// Helpers outside #[test] fns panic on setup failure, which fails the test.
#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::process::Command;

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

fn tmp(name: &str) -> String {
    let dir = std::env::temp_dir().join(format!("sutro-opt-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir.join(name).to_string_lossy().into_owned()
}

#[test]
fn deps_prints_edges_and_dot() {
    let (code, out, _) = sutro(&["deps", "programs/sprint1_standard.sutro"]);
    assert_eq!(code, 0);
    assert!(out.lines().any(|l| l == "h_grad -> W2_update  WAR W2"), "{out}");
    let (code, dot, _) = sutro(&["deps", "programs/sprint1_standard.sutro", "--dot"]);
    assert_eq!(code, 0);
    assert!(dot.starts_with("digraph") && dot.contains("label=\"RAW dW2\""));
}

#[test]
fn optimize_writes_a_verified_program_and_json() {
    let path = tmp("s1.sutro");
    let (code, out, err) = sutro(&[
        "optimize",
        "programs/sprint1_standard.sutro",
        "--passes",
        "reorder",
        "--json",
        "--steps",
        "20",
        "-o",
        &path,
    ]);
    assert_eq!(code, 0, "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).expect("json");
    for key in [
        "schema",
        "objective",
        "before",
        "after",
        "improvement",
        "stop",
        "passes",
        "verified",
        "output",
    ] {
        assert!(v.get(key).is_some(), "missing {key}");
    }
    assert_eq!(v["stop"], "optimal");
    assert_eq!(v["objective"], "ard_write.per_read");
    assert_eq!(v["verified"], true);
    assert!(v["after"].as_f64().expect("number") <= 8_174.375);
    let text = std::fs::read_to_string(&path).expect("written");
    assert!(text.starts_with("# Optimized by `sutro optimize`"));
    let (code, out, _) = sutro(&["verify", "programs/sprint1_standard.sutro", &path, "--steps", "20"]);
    assert_eq!(code, 0);
    assert!(out.contains("legal reordering") && out.contains("identical"), "{out}");
    // Without -o the program goes to stdout and the tables to stderr.
    let (code, out, err) = sutro(&["optimize", "programs/sprint1_standard.sutro", "--steps", "5"]);
    assert_eq!(code, 0);
    assert!(out.contains("W2_update: update W2"));
    assert!(err.contains("pass") && err.contains("optimal"));
}

#[test]
fn verify_exits_1_on_an_illegal_reordering_and_optimize_2_on_bad_input() {
    let text = std::fs::read_to_string("programs/sprint1_standard.sutro").expect("readable");
    let w2 = "W2_update: update W2 sgd(lr, wd) with dW2\n";
    let moved = text.replace(w2, "").replace("h_grad: dh", &format!("{w2}h_grad: dh"));
    let path = tmp("bad.sutro");
    std::fs::write(&path, moved).expect("written");
    let (code, out, err) = sutro(&["verify", "programs/sprint1_standard.sutro", &path, "--steps", "3"]);
    assert_eq!(code, 1);
    assert!(
        out.contains("illegal reordering") && out.contains("h_grad -> W2_update  WAR W2"),
        "{out}"
    );
    assert!(err.contains("step 1"), "{err}");
    let (code, _, err) = sutro(&[
        "optimize",
        "programs/sprint1_standard.sutro",
        "--objective",
        "lru_stack",
    ]);
    assert_eq!(code, 2);
    assert!(err.contains("has no single total"), "{err}");
    let (code, _, _) = sutro(&[
        "optimize",
        "programs/sprint1_standard.sutro",
        "--passes",
        "reorder,shuffle",
    ]);
    assert_eq!(code, 2);
}

/// The stack metrics optimize with beam search (stop `heuristic`) and still verify.
#[test]
fn stack_metric_objectives_optimize_heuristically_and_verify() {
    for objective in ["dmd", "bytedmd_v2", "energy_pj", "0.5*ard_write.sum_sd+1*dmd"] {
        let (code, out, err) = sutro(&[
            "optimize",
            "programs/sprint1_standard.sutro",
            "--objective",
            objective,
            "--json",
        ]);
        assert_eq!(code, 0, "{objective}: {err}");
        let v: serde_json::Value = serde_json::from_str(&err).expect("json on stderr: the program is on stdout");
        assert!(out.contains("update W1"), "{objective}: the program on stdout");
        assert_eq!(v["stop"], "heuristic", "{objective}");
        assert_eq!(v["verified"], true, "{objective}");
        assert!(
            v["after"].as_f64().expect("after") <= v["before"].as_f64().expect("before"),
            "{objective}"
        );
    }
}
