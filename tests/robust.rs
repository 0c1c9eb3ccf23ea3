//! Adversarial inputs (issue 12): every one ends in a clean result — success, or
//! a clear error and exit 2 — never a panic, abort or stack overflow.
#![allow(clippy::unwrap_used, clippy::expect_used)] // Test code: a failed unwrap is a failed test.

mod common;

use common::sutro;
use proptest::prelude::*;
use sutro::syntax::MAX_EXPR_DEPTH;

const PARITY: &str = include_str!("../programs/sparse_parity.sutro");

/// `sparse_parity.sutro` with `hyper wd = EXPR`.
fn with_wd(expr: &str) -> String {
    PARITY.replace("hyper wd = 0.01", &format!("hyper wd = {expr}"))
}

/// An expression `depth` levels deep, of one of four shapes.
fn nested(kind: u8, depth: usize) -> String {
    match kind % 4 {
        0 => format!("{}0.01{}", "(".repeat(depth), ")".repeat(depth)),
        1 => format!("{}0.01{}", "sqrt(".repeat(depth), ")".repeat(depth)),
        2 => format!("{}0.01", "-".repeat(depth)),
        _ => vec!["0.01"; depth].join(" + "),
    }
}

fn parse(text: &str) -> Result<sutro::ir::Program, Vec<sutro::syntax::ParseError>> {
    sutro::syntax::parse("deep", text)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, failure_persistence: None, ..ProptestConfig::default() })]

    /// Any nesting depth parses (and prints and re-parses) within the limit, and
    /// is a located error past it; never a stack overflow.
    #[test]
    fn expression_nesting_is_bounded(kind in 0u8..4, depth in 1usize..20_000) {
        let text = with_wd(&nested(kind, depth));
        match parse(&text) {
            Ok(p) => {
                // Printing and re-parsing walk the same tree.
                let again = parse(&p.to_string());
                prop_assert!(again.is_ok());
                prop_assert!(depth <= MAX_EXPR_DEPTH as usize + 1);
            }
            Err(es) => {
                prop_assert!(depth >= MAX_EXPR_DEPTH as usize - 1, "depth {depth} rejected: {}", es[0].message);
                prop_assert!(es[0].message.contains("nested too deeply"), "{}", es[0].message);
                prop_assert!((es[0].span.start as usize) < text.len());
            }
        }
    }
}

#[test]
fn deep_expressions_everywhere_are_errors_with_a_position() {
    let deep = nested(0, 7_600);
    let texts = [
        with_wd(&deep),
        PARITY.replace("normal(sqrt(2 / n))", &format!("normal({deep})")),
        PARITY.replace("sgd(lr, wd) with dW2", &format!("sgd({deep}, wd) with dW2")),
        with_wd(&nested(3, 87_000)),
        with_wd(&nested(2, 21_000)),
        with_wd(&nested(1, 7_600)),
    ];
    for (i, text) in texts.iter().enumerate() {
        let path = std::env::temp_dir().join(format!("sutro-deep-{}-{i}.sutro", std::process::id()));
        std::fs::write(&path, text).unwrap();
        let out = sutro(&["check", path.to_str().unwrap()]);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "case {i}: {err}");
        assert!(err.contains("nested too deeply"), "case {i}: {err}");
        assert!(
            err.contains(":13:") || err.contains(":15:") || err.contains(":30:"),
            "case {i}: {err}"
        );
        std::fs::remove_file(&path).unwrap();
    }
}

fn parity() -> &'static str {
    "programs/sparse_parity.sutro"
}

/// Runs sutro and returns (exit code, stderr).
fn fails(args: &[&str]) -> (Option<i32>, String) {
    let out = sutro(args);
    (out.status.code(), String::from_utf8_lossy(&out.stderr).into_owned())
}

#[test]
fn huge_task_sizes_are_errors_naming_the_quantity() {
    let max = "18446744073709551615";
    for (cmd, key) in [
        (vec!["run", parity()], "n_test"),
        (vec!["score", parity()], "n_train"),
        (vec!["trace", "record", parity(), "-o", "/dev/null"], "n_train"),
        (vec!["verify", parity(), parity()], "n_train"),
        (vec!["optimize", parity()], "n_train"),
        (vec!["diff", parity(), parity()], "n_train"),
        (vec!["report", parity(), "-o", "/dev/null"], "n_train"),
        (vec!["bench", parity(), "--seeds", "0"], "n_train"),
    ] {
        let set = format!("{key}={max}");
        let mut args = cmd.clone();
        args.extend(["--set", &set]);
        let (code, err) = fails(&args);
        assert_eq!(code, Some(2), "{args:?}: {err}");
        assert!(
            err.contains(&format!("the size of the task data (n × {key}) overflows")),
            "{args:?}: {err}"
        );
    }
}

#[test]
fn allocations_over_the_budget_are_refused_before_they_happen() {
    // 10⁹ examples × 21 floats: 92 GB of task data.
    let (code, err) = fails(&["run", parity(), "--set", "n_train=1000000000"]);
    assert_eq!(code, Some(2), "{err}");
    assert!(
        err.contains("over the memory budget of 1073741824 bytes (--max-memory)"),
        "{err}"
    );
    // A smaller budget, with a suffix, is honoured.
    let (code, err) = fails(&["run", parity(), "--max-memory", "64K", "-q"]);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("over the memory budget of 65536 bytes"), "{err}");
    let (code, err) = fails(&["check", parity(), "--max-memory", "12Q"]);
    assert_eq!(code, Some(2), "{err}");
    // Eight buffers each under --max-buffer-elements, 8 GiB together.
    let mut text = String::from("dim n = 16384\n");
    for i in 0..8 {
        text.push_str(&format!("param W{i}[n, n] = zeros\n"));
    }
    let path = std::env::temp_dir().join(format!("sutro-eight-{}.sutro", std::process::id()));
    std::fs::write(&path, text).unwrap();
    let (code, err) = fails(&["check", path.to_str().unwrap()]);
    std::fs::remove_file(&path).unwrap();
    assert_eq!(code, Some(2), "{err}");
    assert!(
        err.contains("the program's buffers (2147483648 elements) would take 8589934592 bytes"),
        "{err}"
    );
}

#[test]
fn comparisons_over_zero_steps_are_refused() {
    for args in [
        vec!["verify", parity(), parity(), "--steps", "0"],
        vec!["optimize", parity(), "--steps", "0"],
    ] {
        let (code, err) = fails(&args);
        assert_eq!(code, Some(2), "{args:?}: {err}");
        assert!(err.contains("--steps must be at least 1"), "{err}");
    }
}
