//! Adversarial inputs (issue 12): every one ends in a clean result — success, or
//! a clear error and exit 2 — never a panic, abort or stack overflow.
#![allow(clippy::unwrap_used, clippy::expect_used)] // Test code: a failed unwrap is a failed test.

mod common;

use common::sutro;
use proptest::prelude::*;
use std::process::Command;
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

/// A trace with valid checksums whose header declares a buffer of shape
/// [2⁴⁰, 3]: writes of its first, a middle and its last element.
fn crafted_header_trace() -> Vec<u8> {
    use sutro::trace::codec::{TraceFile, TraceMeta, encode};
    use sutro::trace::{BufInfo, Event, OpInfo, TraceHeader};
    let header = TraceHeader {
        program: "crafted".into(),
        hash: "0000000000000000".into(),
        buffers: vec![BufInfo {
            name: "A".into(),
            role: "temp".into(),
            shape: vec![1 << 40, 3],
            offset: 0,
        }],
        ops: vec![OpInfo {
            name: "op0".into(),
            line: 1,
        }],
    };
    let event = |addr| Event {
        step: 0,
        op: Some(sutro::ir::OpId(0)),
        buf: sutro::ir::BufId(0),
        mode: sutro::ir::Mode::Write,
        addr,
        len: 1,
    };
    let events = vec![event(0), event(1 << 40), event((3 << 40) - 1)];
    let meta = TraceMeta {
        steps: 1,
        task: "crafted".into(),
        ..TraceMeta::default()
    };
    encode(&TraceFile { header, meta, events }).unwrap()
}

const CRAFTED: &str = "tests/fixtures/crafted_header.trace";

#[test]
fn crafted_header_fixture_is_current() {
    let path = common::root().join(CRAFTED);
    if std::env::var_os("SUTRO_BLESS").is_some() {
        std::fs::write(&path, crafted_header_trace()).unwrap();
    }
    assert_eq!(
        std::fs::read(&path).unwrap(),
        crafted_header_trace(),
        "regenerate with SUTRO_BLESS=1"
    );
}

#[test]
fn a_header_too_large_to_score_is_refused_before_allocation() {
    // Inspecting the header allocates nothing per element: it stays allowed.
    let out = sutro(&["trace", "info", CRAFTED]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    for args in [
        vec!["trace", "replay", CRAFTED, "--metric", "bytedmd_v2"],
        vec!["trace", "replay", CRAFTED, "--metric", "all"],
        vec!["diff", CRAFTED, CRAFTED, "--metric", "all"],
        vec!["trace", "export", CRAFTED, "--format", "csv", "-o", "-"],
    ] {
        let (code, err) = fails(&args);
        assert_eq!(code, Some(2), "{args:?}: {err}");
        assert!(
            err.contains("scoring the trace's layout (3298534883328 elements, 1 ops) would take"),
            "{args:?}: {err}"
        );
    }
}

fn import(csv: &str) -> (Option<i32>, String) {
    let dir = std::env::temp_dir();
    let name = format!(
        "sutro-import-{}-{:016x}",
        std::process::id(),
        sutro::trace::fnv1a(csv.as_bytes())
    );
    let (src, dst) = (dir.join(format!("{name}.csv")), dir.join(format!("{name}.trace")));
    std::fs::write(&src, csv).unwrap();
    let r = fails(&["trace", "import", src.to_str().unwrap(), "-o", dst.to_str().unwrap()]);
    let _ = std::fs::remove_file(&src);
    let _ = std::fs::remove_file(&dst);
    r
}

const CSV_HEADER: &str = "step,op,kind,buffer,element,address\n";

#[test]
fn csv_values_that_size_allocations_are_checked() {
    for (row, message) in [
        ("0,4294967294,W,A,0,0", "2: the op table up to op 4294967294 would take"),
        ("0,100000000,W,A,0,0", "2: the op table up to op 100000000 would take"),
        (
            "4294967295,0,W,A,0,0",
            "2: step 4294967295 is too large (at most 4294967294)",
        ),
        ("0,0,W,A,1099511627775,0", "2: element 1099511627775 of `A` would take"),
    ] {
        let (code, err) = import(&format!("{CSV_HEADER}{row}\n"));
        assert_eq!(code, Some(2), "{row}: {err}");
        assert!(err.contains(message), "{row}: {err}");
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, failure_persistence: None, ..ProptestConfig::default() })]

    /// Any numbers in a CSV row import within the budget or are a clean error
    /// with the row's line; the library never panics or allocates past it.
    #[test]
    fn csv_numbers_never_panic(step in any::<u32>(), op in -2i64..=i64::from(u32::MAX) + 1, elem in any::<u64>()) {
        let text = format!("{CSV_HEADER}0,-1,W,B,0,0\n{step},{op},R,A,{elem},0\n");
        match sutro::trace::export::import_csv(&text, 1 << 26) {
            Ok(t) => {
                prop_assert!(t.meta.steps == step + 1 || step == 0);
                prop_assert!(t.header.layout_elements().unwrap() * sutro::trace::BYTES_PER_ELEMENT <= 1 << 26);
                prop_assert!(sutro::trace::codec::check(&t.header, &t.events).is_ok());
            }
            Err(m) => prop_assert!(m.starts_with("3: ") || m.starts_with("4: "), "{m}"),
        }
    }

    /// Any buffer shape and offset in a header is checked against the budget
    /// without overflow.
    #[test]
    fn header_values_never_overflow(shape in proptest::collection::vec(any::<u64>(), 0..4), offset in any::<u64>(), ops in 0usize..1000) {
        let h = sutro::trace::TraceHeader {
            buffers: vec![sutro::trace::BufInfo { name: "A".into(), role: "temp".into(), shape: shape.clone(), offset }],
            ops: vec![sutro::trace::OpInfo { name: "o".into(), line: 0 }; ops],
            ..sutro::trace::TraceHeader::default()
        };
        if let Ok(bytes) = h.check_memory(1 << 30) {
            let elems: u128 = shape.iter().map(|d| u128::from(*d)).product::<u128>() + u128::from(offset);
            prop_assert!(elems * 32 <= u128::from(bytes));
            prop_assert!(bytes <= 1 << 30);
        }
    }
}

/// Writes `bytes` to a temporary file and runs sutro on it (`{}` in `args`).
fn on_file(name: &str, bytes: &[u8], args: &[&str]) -> (Option<i32>, String, String) {
    let path = std::env::temp_dir().join(format!("sutro-{}-{name}", std::process::id()));
    std::fs::write(&path, bytes).unwrap();
    let p = path.to_str().unwrap();
    let args: Vec<&str> = args.iter().map(|a| if *a == "{}" { p } else { a }).collect();
    let out = sutro(&args);
    std::fs::remove_file(&path).unwrap();
    let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
    (out.status.code(), text(&out.stdout), text(&out.stderr))
}

#[test]
fn a_task_size_declared_as_a_hyper_is_an_error() {
    let text = PARITY.replace("dim batch = 32", "hyper batch = 32");
    let (code, _, err) = on_file("hyper-batch.sutro", text.as_bytes(), &["check", "{}"]);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("`batch` must be a `dim`"), "{err}");
    assert!(err.contains(":9:15"), "{err}");
}

#[test]
fn a_lone_carriage_return_ends_a_line() {
    let text = PARITY.replace('\n', "\r");
    let (code, _, err) = on_file("cr.sutro", text.as_bytes(), &["check", "{}"]);
    assert_eq!(code, Some(0), "{err}");
    // Check and run agree: the program trains.
    let (code, out, err) = on_file("cr.sutro", text.as_bytes(), &["run", "{}", "-q", "--epochs", "2"]);
    assert_eq!(code, Some(0), "{err}");
    assert!(out.contains("epoch"), "{out}");
    // Errors point at the right line, counted the lexer's way.
    let bad = "dim n = 3\rdim k = 2\r\nh = relu(Q)\r";
    let (code, _, err) = on_file("cr-bad.sutro", bad.as_bytes(), &["check", "{}"]);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains(":3:10"), "{err}");
}

#[test]
fn unclear_errors_are_now_located_and_named() {
    // Invalid UTF-8: line, column and byte.
    let (code, _, err) = on_file("utf8.sutro", b"dim n = 3\n# caf\xe9\n", &["check", "{}"]);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("invalid UTF-8 at line 2, column 6 (byte 15)"), "{err}");
    let (code, _, err) = on_file(
        "utf8.csv",
        b"step,op,kind,buffer,element,address\n0,0,W,\xff,0,0\n",
        &["trace", "import", "{}", "-o", "/dev/null"],
    );
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("invalid UTF-8 at line 2, column 7"), "{err}");
    // An unlabeled double update says what it is.
    let text = PARITY.replace(
        "update b1 sgd(lr, wd) with db1",
        "update b1 sgd(lr, wd) with db1\nupdate W1 sgd(lr, wd) with dW1",
    );
    let (code, _, err) = on_file("double.sutro", text.as_bytes(), &["check", "{}"]);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("`W1` is updated twice in one step"), "{err}");
    // A dim too large for an exact integer says so.
    let text = PARITY.replace("dim hidden = 200", "dim hidden = 9223372036854775808");
    let (code, _, err) = on_file("bigdim.sutro", text.as_bytes(), &["check", "{}"]);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("dim `hidden` is too large"), "{err}");
    // A 10 MB bad line is not echoed.
    let text = format!("dim n = 3\nh = relu({})\n", "x".repeat(10_000_000));
    let (code, _, err) = on_file("long.sutro", text.as_bytes(), &["check", "{}"]);
    assert_eq!(code, Some(2));
    assert!(err.len() < 5_000, "{} bytes of diagnostics", err.len());
    // An objective that overflows is an error, not `inf -> inf`.
    let (code, err) = fails(&[
        "optimize",
        parity(),
        "--objective",
        "1e308*dmd + 1e308*ard_write",
        "--steps",
        "1",
    ]);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("is not a finite number on this program"), "{err}");
}

/// `sparse_parity.sutro` with `z = log(b1)` after `h`: `b1` starts at zero, so
/// the op produces -inf in the first step (line 24).
fn with_log_of_zero() -> String {
    PARITY.replace("h = relu(h_pre)\n", "h = relu(h_pre)\nz = log(b1)\n")
}

#[test]
fn verify_errors_about_program_b_name_b_and_a_line() {
    let d = scratch("verify-b");
    let b = d.join("b.sutro");
    let b_s = b.to_str().unwrap();
    // B's params differ in size: B and the declaration's line are named.
    std::fs::write(&b, PARITY.replace("dim hidden = 200", "dim hidden = 7")).unwrap();
    let (code, err) = fails(&["verify", parity(), b_s, "--steps", "1"]);
    assert_eq!(code, Some(1), "{err}");
    assert!(
        err.contains("program B: `W1` has 140 elements, in program A 4000"),
        "{err}"
    );
    assert!(err.contains("b.sutro:15:7"), "{err}");
    // B's run faults where A's does not: B, its file, line and op.
    std::fs::write(&b, with_log_of_zero()).unwrap();
    let (code, err) = fails(&["verify", parity(), b_s, "--steps", "3"]);
    assert_eq!(code, Some(1), "{err}");
    assert!(
        err.contains("program B: op `z` produced a non-finite value in `z` at training step 1"),
        "{err}"
    );
    assert!(err.contains("b.sutro:24:1"), "{err}");
    // A fault of A is located in A.
    let (code, err) = fails(&["verify", b_s, parity(), "--steps", "3"]);
    assert_eq!(code, Some(1), "{err}");
    assert!(err.contains("op `z` produced a non-finite value"), "{err}");
    assert!(!err.contains("program B"), "{err}");
    assert!(err.contains("b.sutro:24:1"), "{err}");
}

#[test]
fn optimize_names_the_op_that_went_non_finite() {
    let (code, _, err) = on_file(
        "nan-opt.sutro",
        with_log_of_zero().as_bytes(),
        &["optimize", "{}", "--steps", "2", "-o", "/dev/null"],
    );
    assert_eq!(code, Some(1), "{err}");
    assert!(
        err.contains("op `z` produced a non-finite value in `z` at training step 1"),
        "{err}"
    );
    assert!(err.contains("nan-opt.sutro:24:1"), "{err}");
}

#[test]
fn a_diverging_program_on_the_board_is_named_with_its_seed() {
    let d = scratch("bench-nan");
    std::fs::write(d.join("good.sutro"), PARITY).unwrap();
    std::fs::write(d.join("bad.sutro"), with_log_of_zero()).unwrap();
    let dir = d.to_str().unwrap();
    let out = sutro(&[
        "bench",
        dir,
        "--seeds",
        "3",
        "--epochs",
        "1",
        "--baseline",
        "good",
        "--jobs",
        "1",
    ]);
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    // The board still comes out, with the good program's run.
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(stdout.contains("| `good` |"), "{stdout}");
    // Its traced step faults, so it cannot be scored: it is skipped, named with
    // the seed and the op's file:line.
    let named = format!(
        "`bad` seed 3: {}:24:1: op `z` produced a non-finite value",
        d.join("bad.sutro").display()
    );
    assert!(stderr.contains(&named), "{stderr}");
    assert!(stdout.contains(&format!("- `bad`: {named}")), "{stdout}");
    // A program that trains into NaN later keeps its row; the run is named.
    std::fs::write(d.join("bad.sutro"), PARITY.replace("hyper lr = 0.1", "hyper lr = 1e30")).unwrap();
    let out = sutro(&[
        "bench",
        dir,
        "--seeds",
        "3",
        "--epochs",
        "1",
        "--baseline",
        "good",
        "--jobs",
        "1",
    ]);
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    let named = format!(
        "`bad` seed 3: {}:24:1: op `out` produced a non-finite value in `out` at training step 2",
        d.join("bad.sutro").display()
    );
    assert!(stderr.contains(&named), "{stderr}");
    assert!(stdout.contains(&format!("- {named}")), "{stdout}");
    assert!(stdout.contains("| `bad` | diverged |"), "{stdout}");
}

/// A fresh temporary directory for one test.
fn scratch(name: &str) -> std::path::PathBuf {
    let d = std::env::temp_dir().join(format!("sutro-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

#[test]
fn an_output_that_is_an_input_is_refused() {
    let d = scratch("in-out");
    let a = d.join("a.sutro");
    std::fs::write(&a, PARITY).unwrap();
    let a = a.to_str().unwrap();
    let t = d.join("t.trace");
    let t = t.to_str().unwrap();
    assert_eq!(fails(&["trace", "record", a, "-o", t]).0, Some(0));
    for args in [
        vec!["report", a, "-o", a],
        vec!["trace", "record", a, "-o", a],
        vec!["run", a, "-q", "--epochs", "1", "--plot", a],
        vec!["bench", a, "--seeds", "0", "--epochs", "1", "--md", a],
        vec!["trace", "export", t, "--format", "csv", "-o", t],
        vec!["optimize", a, "--steps", "1", "-o", a],
    ] {
        let (code, err) = fails(&args);
        assert_eq!(code, Some(2), "{args:?}: {err}");
        assert!(err.contains("it is also an input of this command"), "{args:?}: {err}");
    }
    assert_eq!(std::fs::read_to_string(a).unwrap(), PARITY);
    // `fmt --write` rewrites its input: that is its job.
    std::fs::write(a, PARITY.replace("dim n = 20", "dim   n =  20")).unwrap();
    assert_eq!(fails(&["fmt", a, "--write"]).0, Some(0));
    assert_eq!(std::fs::read_to_string(a).unwrap(), PARITY);
    std::fs::remove_dir_all(&d).unwrap();
}

#[cfg(unix)]
#[test]
fn links_fifos_and_devices_are_written_not_replaced() {
    let d = scratch("special");
    // A symlink is written through; it stays a link.
    let real = d.join("real.svg");
    let link = d.join("link.svg");
    std::os::unix::fs::symlink("real.svg", &link).unwrap();
    let (code, err) = fails(&["score", parity(), "--plot", link.to_str().unwrap()]);
    assert_eq!(code, Some(0), "{err}");
    assert!(std::fs::symlink_metadata(&link).unwrap().file_type().is_symlink());
    assert!(std::fs::read_to_string(&real).unwrap().starts_with("<svg"));
    // A FIFO gets the bytes; it stays a FIFO.
    let fifo = d.join("fifo");
    let made = Command::new("mkfifo").arg(&fifo).status().is_ok_and(|s| s.success());
    if made {
        let reader = {
            let fifo = fifo.clone();
            std::thread::spawn(move || std::fs::read(fifo).unwrap())
        };
        let (code, err) = fails(&[
            "trace",
            "export",
            "traces/sprint1_fused.trace",
            "--format",
            "din",
            "-o",
            fifo.to_str().unwrap(),
        ]);
        assert_eq!(code, Some(0), "{err}");
        let got = reader.join().unwrap();
        let want = sutro(&[
            "trace",
            "export",
            "traces/sprint1_fused.trace",
            "--format",
            "din",
            "-o",
            "-",
        ])
        .stdout;
        assert_eq!(got, want);
        use std::os::unix::fs::FileTypeExt;
        assert!(std::fs::symlink_metadata(&fifo).unwrap().file_type().is_fifo());
    }
    // A device is written directly: /dev/full fails with exit 2 and stays a device.
    if std::path::Path::new("/dev/full").exists() {
        let (code, err) = fails(&[
            "trace",
            "export",
            "traces/sprint1_fused.trace",
            "--format",
            "csv",
            "-o",
            "/dev/full",
        ]);
        assert_eq!(code, Some(2), "{err}");
        assert!(err.contains("cannot write `/dev/full`"), "{err}");
        use std::os::unix::fs::FileTypeExt;
        assert!(std::fs::metadata("/dev/full").unwrap().file_type().is_char_device());
    }
    // A 250-byte name fits: the temporary's name is cut, not the target's.
    let long = d.join(format!("{}.svg", "b".repeat(246)));
    let (code, err) = fails(&["score", parity(), "--plot", long.to_str().unwrap()]);
    assert_eq!(code, Some(0), "{err}");
    assert!(long.exists());
    assert_eq!(
        std::fs::read_dir(&d)
            .unwrap()
            .filter(|e| e.as_ref().unwrap().file_name().to_string_lossy().contains(".tmp"))
            .count(),
        0
    );
    std::fs::remove_dir_all(&d).unwrap();
}

#[cfg(unix)]
#[test]
fn a_failed_write_to_stdout_is_exit_2() {
    if !std::path::Path::new("/dev/full").exists() {
        return;
    }
    for args in [
        vec!["ops"],
        vec!["print", parity()],
        vec!["explain", "affine"],
        vec!["score", parity()],
        vec!["optimize", parity(), "--steps", "1", "--passes", "fuse"],
        vec![
            "trace",
            "export",
            "traces/sprint1_fused.trace",
            "--format",
            "csv",
            "-o",
            "-",
        ],
    ] {
        let full = std::fs::OpenOptions::new().write(true).open("/dev/full").unwrap();
        let out = Command::new(env!("CARGO_BIN_EXE_sutro"))
            .args(&args)
            .current_dir(common::root())
            .stdout(full)
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert!(err.contains("No space left on device"), "{args:?}: {err}");
    }
}

#[test]
fn exports_stream_every_element_access() {
    let t = sutro::trace::codec::decode(
        &std::fs::read(common::root().join("traces/sprint1_fused.trace")).unwrap(),
        u64::MAX,
    )
    .unwrap();
    let accesses: u64 = t.events.iter().map(|e| e.len).sum();
    let csv = sutro(&[
        "trace",
        "export",
        "traces/sprint1_fused.trace",
        "--format",
        "csv",
        "-o",
        "-",
    ]);
    assert!(csv.status.success());
    // One row per element access, plus the header.
    assert_eq!(csv.stdout.iter().filter(|b| **b == b'\n').count() as u64, accesses + 1);
    let din = sutro(&[
        "trace",
        "export",
        "traces/sprint1_fused.trace",
        "--format",
        "din",
        "-o",
        "-",
    ]);
    assert_eq!(din.stdout.iter().filter(|b| **b == b'\n').count() as u64, accesses);
    let pf = sutro(&[
        "trace",
        "export",
        "traces/sprint1_fused.trace",
        "--format",
        "perfetto",
        "-o",
        "-",
    ]);
    let v: serde_json::Value = serde_json::from_slice(&pf.stdout).unwrap();
    let slices = v["traceEvents"].as_array().unwrap();
    // The slices tile the clock: each starts where the previous one ended.
    let mut clock = 0;
    for s in slices {
        assert_eq!(s["ts"].as_u64().unwrap(), clock);
        clock += s["dur"].as_u64().unwrap();
    }
    assert_eq!(clock, accesses);
}

#[cfg(unix)]
#[test]
fn an_interrupted_record_leaves_no_temporary() {
    let d = scratch("sigint");
    let out = d.join("long.trace");
    let mut child = Command::new(env!("CARGO_BIN_EXE_sutro"))
        .args([
            "trace",
            "record",
            parity(),
            "--steps",
            "1000000",
            "-o",
            out.to_str().unwrap(),
        ])
        .current_dir(common::root())
        .spawn()
        .unwrap();
    // Wait until the temporary exists (recording has started), then interrupt.
    let mut started = false;
    for _ in 0..200 {
        std::thread::sleep(std::time::Duration::from_millis(25));
        if std::fs::read_dir(&d).unwrap().count() > 0 {
            started = true;
            break;
        }
    }
    let pid = child.id().to_string();
    let killed = Command::new("kill").args(["-INT", &pid]).status().unwrap();
    assert!(killed.success());
    let status = child.wait().unwrap();
    assert!(started, "recording never started");
    assert_eq!(status.code(), Some(130));
    let left: Vec<_> = std::fs::read_dir(&d).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert!(left.is_empty(), "left behind: {left:?}");
    std::fs::remove_dir_all(&d).unwrap();
}

/// `sparse_parity.sutro` (small) with a chain of forward ops after `out`, and
/// `predict` naming one of them that no other op reads.
fn with_predict_chain(hidden: u32, chain: &[u8], which: usize) -> String {
    let mut extra = String::new();
    let mut prev = "out".to_string();
    let mut names = vec![prev.clone()];
    for (i, k) in chain.iter().enumerate() {
        let name = format!("p{i}");
        let op = match k % 3 {
            0 => format!("{name} = scale({prev}, 2)"),
            1 => format!("{name} = relu({prev})"),
            _ => format!("{name} = copy({prev})"),
        };
        extra.push_str(&op);
        extra.push('\n');
        names.push(name.clone());
        prev = name;
    }
    let target = &names[which % names.len()];
    PARITY
        .replace("dim hidden = 200", &format!("dim hidden = {hidden}"))
        .replace("predict out\n", &format!("{extra}predict {target}\n"))
}

fn optimize_and_reload(text: &str) -> Result<(), String> {
    let file = sutro::span::SourceFile::new("p.sutro", text);
    let (s, lim) = (sutro::valid::Settings::default(), sutro::valid::Limits::default());
    let l = sutro::load(&file, &s, &lim).map_err(|e| format!("{e:?}"))?;
    let session = sutro::Session::new(l, "parity", &s, &lim, 0).map_err(|e| format!("{e:?}"))?;
    let o = session
        .optimize(&sutro::opt::OptConfig::default(), 2)
        .map_err(|e| format!("{:?}", e.diagnostics()))?;
    // The printed program re-validates on its own.
    let again = sutro::span::SourceFile::new("o.sutro", o.text);
    sutro::load(&again, &s, &lim).map(|_| ()).map_err(|e| format!("{e:?}"))
}

#[test]
fn optimize_keeps_a_predict_that_no_op_reads() {
    let text = PARITY.replace("predict out\n", "pred = scale(out, 2)\npredict pred\n");
    optimize_and_reload(&text).unwrap();
    let (code, out, err) = on_file("pred.sutro", text.as_bytes(), &["optimize", "{}", "--steps", "2"]);
    assert_eq!(code, Some(0), "{err}");
    let pos = |s: &str| out.find(s).unwrap();
    assert!(pos("pred = scale(out, 2)") < pos("predict pred"), "{out}");
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 8, failure_persistence: None, ..ProptestConfig::default() })]

    /// Legal programs (random forward chains after the output, `predict` on any
    /// link) round-trip through optimize and re-validate.
    #[test]
    fn random_legal_programs_round_trip_through_optimize(hidden in 2u32..12, chain in proptest::collection::vec(any::<u8>(), 0..4), which in any::<usize>()) {
        let text = with_predict_chain(hidden, &chain, which);
        prop_assert!(optimize_and_reload(&text).is_ok(), "{}", optimize_and_reload(&text).unwrap_err());
    }
}

#[test]
fn step_counters_are_checked_never_wrapped() {
    use sutro::train::step_index;
    assert_eq!(step_index(0).unwrap(), 0);
    // The last index whose step count (index + 1) still fits in u32.
    assert_eq!(step_index(4_294_967_294).unwrap(), 4_294_967_294);
    for s in [4_294_967_295, 4_294_967_296, u64::MAX] {
        let e = step_index(s).unwrap_err().to_string();
        assert!(
            e.starts_with(&format!("the training step {s} does not fit in 32 bits")),
            "{e}"
        );
    }
}

#[test]
fn bytedmd_replay_is_bounded_by_the_memory_budget() {
    let d = scratch("replay-bound");
    let t = d.join("t.trace");
    let t = t.to_str().unwrap();
    assert_eq!(
        fails(&["trace", "record", parity(), "--steps", "1500", "-o", t]).0,
        Some(0)
    );
    // `trace info` streams: it counts the events without holding them.
    let out = sutro(&["trace", "info", t, "--json"]);
    let info: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(info["steps"], 1500);
    let events = info["events"].as_u64().unwrap();
    // Half of 4 MiB for the one analyzer that keeps events, at its bytes per event.
    let kept = (1u64 << 21) / sutro::analysis::bytedmd::BYTES_PER_EVENT;
    assert!(events > kept, "{events} events fit in {kept}");
    for metric in ["bytedmd_v2", "all"] {
        let (code, err) = fails(&["trace", "replay", t, "--metric", metric, "--max-memory", "4M"]);
        assert_eq!(code, Some(2), "{err}");
        assert!(
            err.contains(&format!("bytedmd_v2 keeps every event of a trace for its backward liveness pass; this trace has more than {kept} events")),
            "{err}"
        );
    }
    // The streaming metrics need no such room.
    let (code, err) = fails(&["trace", "replay", t, "--metric", "ard_write", "--max-memory", "4M"]);
    assert_eq!(code, Some(0), "{err}");
}
