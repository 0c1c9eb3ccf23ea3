//! One diagnostics test per error class. Each file in `programs/invalid/` marks
//! its offending line with `# error: <message>`; `sutro check` must exit 2 with
//! that message located at that line (`file:LINE:COL`).

#![allow(clippy::unwrap_used, clippy::expect_used)] // Test code: a failed unwrap is a failed test.

mod common;
use common::{root, sutro};

fn expectation(text: &str) -> (usize, String) {
    text.lines()
        .enumerate()
        .find_map(|(i, l)| l.split_once("# error: ").map(|(_, m)| (i + 1, m.trim().to_string())))
        .expect("an `# error:` directive")
}

#[test]
fn every_invalid_program_reports_its_error_at_its_line() {
    let mut files: Vec<_> = std::fs::read_dir(root().join("programs/invalid"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "sutro"))
        .collect();
    files.sort();
    assert!(files.len() >= 10, "the error catalogue shrank");
    for path in files {
        let rel = path.strip_prefix(root()).unwrap().to_string_lossy().into_owned();
        let (line, msg) = expectation(&std::fs::read_to_string(&path).unwrap());
        let out = sutro(&["check", &rel]);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{rel}: {err}");
        assert!(out.stdout.is_empty(), "{rel}: check prints nothing on stdout");
        assert!(
            err.contains(&format!("error: {msg}")),
            "{rel}: expected `{msg}` in\n{err}"
        );
        assert!(
            err.contains(&format!("{rel}:{line}:")),
            "{rel}: expected location line {line} in\n{err}"
        );
    }
}

#[test]
fn valid_programs_check_silently() {
    for p in [
        "programs/sparse_parity.sutro",
        "programs/sprint1_standard.sutro",
        "programs/sprint1_fused.sutro",
    ] {
        let out = sutro(&["check", p]);
        assert_eq!(
            out.status.code(),
            Some(0),
            "{p}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(out.stdout.is_empty() && out.stderr.is_empty());
    }
}

#[test]
fn bad_set_values_name_the_setting() {
    let cases: [(&str, &str); 4] = [
        ("hiddn=10", "bad --set hiddn: unknown name"),
        ("hidden=ten", "bad --set hidden: `ten` is not a positive integer"),
        ("lr=fast", "bad --set lr: `fast` is not a finite number"),
        ("hidden", "bad --set hidden: expected NAME=VALUE"),
    ];
    for (set, msg) in cases {
        let out = sutro(&["check", "programs/sparse_parity.sutro", "--set", set]);
        assert_eq!(out.status.code(), Some(2), "{set}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(msg), "--set {set}: expected `{msg}` in\n{err}");
    }
}

#[test]
fn overflowing_shapes_name_the_first_buffer_before_allocating() {
    let out = sutro(&["run", "programs/sparse_parity.sutro", "--set", "hidden=100000000"]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    // W1 is [hidden, n] = 100,000,000 × 20 elements, the first buffer over 2^28.
    assert!(
        err.contains("buffer `W1` has 2000000000 elements, over the limit of 268435456"),
        "{err}"
    );
}

#[test]
fn missing_files_and_bad_flags_exit_2() {
    let out = sutro(&["check", "programs/no_such_file.sutro"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot read `programs/no_such_file.sutro`"));
    assert_eq!(
        sutro(&["run", "programs/sparse_parity.sutro", "--epochs", "many"])
            .status
            .code(),
        Some(2)
    );
    assert_eq!(sutro(&["frobnicate"]).status.code(), Some(2));
    let out = sutro(&["run", "programs/sparse_parity.sutro", "--task", "chess"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("unknown task `chess`"));
}

#[test]
fn a_divergent_learning_rate_stops_with_exit_1_naming_op_and_step() {
    let out = sutro(&[
        "run",
        "programs/sparse_parity.sutro",
        "--set",
        "lr=1e30",
        "--epochs",
        "3",
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", String::from_utf8_lossy(&out.stderr));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("produced a non-finite value") && err.contains("at training step"),
        "{err}"
    );
    assert!(
        err.contains("sparse_parity.sutro:"),
        "the error points into the program: {err}"
    );
}

/// `sutro … | head -1` ends quietly: no panic message, a success exit.
#[test]
fn a_closed_pipe_ends_output_quietly() {
    let bin = env!("CARGO_BIN_EXE_sutro");
    for cmd in [
        "fmt programs/sparse_parity.sutro",
        "trace export traces/sprint1_standard.trace --format din -o -",
        "ops",
    ] {
        let script =
            format!("set -o pipefail; e=$(mktemp); '{bin}' {cmd} 2>$e | head -1 >/dev/null; echo $?; cat $e; rm $e");
        let out = std::process::Command::new("bash")
            .arg("-c")
            .arg(&script)
            .current_dir(common::root())
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        assert_eq!(text.lines().next(), Some("0"), "{cmd}: {text}");
        assert!(!text.contains("panicked"), "{cmd}: {text}");
    }
}

/// A failed op's readers are not checked against a made-up shape: the one
/// error of `programs/invalid/follow_on.sutro` is the only one reported.
#[test]
fn a_failed_op_gives_no_follow_on_errors() {
    let out = sutro(&["check", "programs/invalid/follow_on.sutro"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(err.lines().filter(|l| l.starts_with("error:")).count(), 1, "{err}");
}
