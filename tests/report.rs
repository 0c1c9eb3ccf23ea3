//! `sutro report` and the `--plot` flags: one self-contained, well-formed HTML
//! page with the five charts; SVG files from `score`, `trace replay` and `run`.

#![allow(clippy::unwrap_used, clippy::expect_used)] // Test code: a failed unwrap is a failed test.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn sutro_in(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_sutro"))
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap()
}

/// A fresh temporary directory, removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new(tag: &str) -> TempDir {
        let d = std::env::temp_dir().join(format!("sutro-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        TempDir(d)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn root_file(path: &str) -> String {
    std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join(path)).unwrap()
}

fn program(name: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("programs")
        .join(name)
        .to_string_lossy()
        .into_owned()
}

/// Every `src=`, `href=` and `url(` value, with its text after the opener.
fn references(html: &str) -> Vec<String> {
    let mut found = Vec::new();
    let lower = html.to_ascii_lowercase();
    for opener in ["src=", "href=", "url("] {
        let mut from = 0;
        while let Some(i) = lower[from..].find(opener) {
            let at = from + i + opener.len();
            let rest: String = lower[at..]
                .trim_start_matches(['"', '\'', ' '])
                .chars()
                .take_while(|c| !matches!(c, '"' | '\'' | ')' | ' ' | '>'))
                .collect();
            found.push(format!("{opener}{rest}"));
            from = at;
        }
    }
    found
}

/// A URL scheme: letters, digits, `+`, `-`, `.` before a `:` (`data:` included).
fn has_scheme(value: &str) -> bool {
    let v = value.split_once(['=', '(']).map_or(value, |x| x.1);
    match v.split_once(':') {
        Some((scheme, _)) => {
            !scheme.is_empty()
                && scheme.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
                && scheme.chars().all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c))
        }
        None => v.starts_with("//"),
    }
}

/// Tokenizes with a WHATWG tokenizer (no error tokens allowed) and checks that
/// every non-void element is closed in order, so the page is well-formed.
fn check_html(html: &str) {
    use html5gum::{Token, Tokenizer};
    const VOID: [&str; 6] = ["meta", "br", "hr", "img", "input", "link"];
    let mut stack: Vec<String> = Vec::new();
    let mut doctype = false;
    for tok in Tokenizer::new(html) {
        match tok.unwrap() {
            Token::Doctype(_) => doctype = true,
            Token::StartTag(t) => {
                let name = String::from_utf8_lossy(&t.name).into_owned();
                assert!(
                    !["script", "iframe", "img", "link", "object"].contains(&name.as_str()),
                    "<{name}> in the page"
                );
                if !t.self_closing && !VOID.contains(&name.as_str()) {
                    stack.push(name);
                }
            }
            Token::EndTag(t) => {
                let name = String::from_utf8_lossy(&t.name).into_owned();
                assert_eq!(stack.pop().as_deref(), Some(name.as_str()), "mis-nested </{name}>");
            }
            Token::Error(e) => panic!("HTML tokenizer error: {e:?}"),
            Token::String(_) | Token::Comment(_) => {}
        }
    }
    assert!(doctype, "<!DOCTYPE html>");
    assert!(stack.is_empty(), "unclosed elements: {stack:?}");
}

/// The inline `<svg>` of the figure with this id.
fn figure<'a>(html: &'a str, id: &str) -> &'a str {
    let start = html
        .find(&format!("<figure id=\"{id}\">"))
        .unwrap_or_else(|| panic!("figure {id}"));
    let rest = &html[start..];
    let end = rest.find("</figure>").unwrap();
    let fig = &rest[..end];
    let s = fig.find("<svg").unwrap_or_else(|| panic!("inline svg in {id}"));
    &fig[s..]
}

#[test]
fn report_with_optimize_is_one_self_contained_html_file_with_five_charts() {
    let dir = TempDir::new("report");
    let out = sutro_in(
        &dir.0,
        &[
            "report",
            &program("sprint1_standard.sutro"),
            "--optimize",
            "-o",
            "report.html",
        ],
    );
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let files: Vec<_> = std::fs::read_dir(&dir.0)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(files, vec![std::ffi::OsString::from("report.html")], "exactly one file");
    let html = std::fs::read_to_string(dir.0.join("report.html")).unwrap();

    for r in references(&html) {
        assert!(!has_scheme(&r), "external reference {r}");
    }
    assert!(!html.contains("<script"), "no script");
    check_html(&html);

    let charts = [
        ("loss", &["epoch", "loss", "accuracy"][..]),
        ("buffers", &["buffer", "reuse distance (floats)"][..]),
        ("stack-histogram", &["stack distance (elements", "accesses"][..]),
        (
            "miss-ratio",
            &["capacity (elements, log scale)", "miss ratio", "L1 32 KiB", "L2 1 MiB"][..],
        ),
        ("timeline", &["clock (floats", "buffer", "read", "write"][..]),
    ];
    for (id, labels) in charts {
        let svg = figure(&html, id);
        assert!(svg.contains("<title>"), "{id}: <title>");
        for l in labels {
            assert!(svg.contains(l), "{id}: axis label or legend `{l}`");
        }
        assert!(
            svg.contains("before: sprint1_standard") && svg.contains("after: sprint1_standard"),
            "{id}: side by side"
        );
    }
    assert!(html.contains("Before and after"), "delta tables");
    assert!(html.contains("dW2"), "per-buffer rows");
    assert!(
        html.contains("W2_update: update W2 sgd(lr, wd) with dW2"),
        "the source listing"
    );
}

#[test]
fn report_is_byte_identical_for_the_same_command() {
    let dir = TempDir::new("report-det");
    let p = program("sprint1_fused.sutro");
    for name in ["a.html", "b.html"] {
        let out = sutro_in(&dir.0, &["report", &p, "--seed", "2", "-o", name, "--json"]);
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(v["charts"].as_array().unwrap().len(), 5);
    }
    let a = std::fs::read(dir.0.join("a.html")).unwrap();
    let b = std::fs::read(dir.0.join("b.html")).unwrap();
    assert!(a == b, "same command and seed, same bytes");
}

#[test]
fn report_compare_puts_two_programs_side_by_side() {
    let dir = TempDir::new("report-cmp");
    let out = sutro_in(
        &dir.0,
        &[
            "report",
            &program("sprint1_standard.sutro"),
            "--compare",
            &program("sprint1_fused.sutro"),
        ],
    );
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let html = std::fs::read_to_string(dir.0.join("report.html")).unwrap();
    let svg = figure(&html, "buffers");
    assert!(svg.contains("<title>sprint1_standard vs sprint1_fused: reuse distance per buffer (ard_write)</title>"));
    assert!(svg.contains("after: sprint1_fused") && svg.contains("16005") && svg.contains("3002"));
    let readme_picture = root_file("docs/img/sprint1_buffers.svg");
    let end = svg.find("</svg>").unwrap() + "</svg>".len();
    assert!(
        format!("{}\n", &svg[..end]) == readme_picture,
        "the README picture is stale: regenerate it with the command in README.md"
    );
    let both = sutro_in(
        &dir.0,
        &[
            "report",
            &program("sprint1_standard.sutro"),
            "--optimize",
            "--compare",
            &program("sprint1_fused.sutro"),
        ],
    );
    assert_eq!(both.status.code(), Some(2), "--optimize and --compare conflict");
}

#[test]
fn report_svg_dir_writes_each_chart() {
    let dir = TempDir::new("report-svg");
    let out = sutro_in(
        &dir.0,
        &[
            "report",
            &program("sprint1_fused.sutro"),
            "--svg-dir",
            "charts",
            "-o",
            "r.html",
        ],
    );
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    for id in ["loss", "buffers", "stack-histogram", "miss-ratio", "timeline"] {
        let svg = std::fs::read_to_string(dir.0.join("charts").join(format!("{id}.svg"))).unwrap();
        assert!(svg.starts_with("<svg") && svg.contains("<title>"), "{id}");
    }
}

#[test]
fn report_bad_input_exits_2() {
    let dir = TempDir::new("report-bad");
    let missing = sutro_in(&dir.0, &["report", "no_such.sutro"]);
    assert_eq!(missing.status.code(), Some(2));
    let bad = sutro_in(&dir.0, &["report", &program("invalid/shape_mismatch.sutro")]);
    assert_eq!(bad.status.code(), Some(2));
    let unwritable = sutro_in(
        &dir.0,
        &["report", &program("sprint1_fused.sutro"), "-o", "no/such/dir/r.html"],
    );
    assert_eq!(unwritable.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&unwritable.stderr).contains("cannot write"));
}

#[test]
fn score_and_replay_plot_write_their_charts() {
    let dir = TempDir::new("plots");
    let out = sutro_in(&dir.0, &["score", &program("sprint1_fused.sutro"), "--plot", "b.svg"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let svg = std::fs::read_to_string(dir.0.join("b.svg")).unwrap();
    assert!(svg.contains("<title>sprint1_fused: reuse distance per buffer (ard_write)</title>"));
    assert!(
        svg.contains("dW2") && svg.contains("3002"),
        "dW2's mean distance is labelled"
    );

    let trace = Path::new(env!("CARGO_MANIFEST_DIR")).join("traces/sprint1_fused.trace");
    let out = sutro_in(
        &dir.0,
        &["trace", "replay", trace.to_str().unwrap(), "--plot", "mrc.svg"],
    );
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let svg = std::fs::read_to_string(dir.0.join("mrc.svg")).unwrap();
    assert!(svg.contains("<title>") && svg.contains("miss ratio") && svg.contains("L1 32 KiB"));
}

#[test]
fn reference_scan_finds_schemes() {
    assert!(has_scheme("href=https://x"));
    assert!(has_scheme("src=data:image/png"));
    assert!(has_scheme("url(//cdn"));
    assert!(!has_scheme("href=#loss"));
    assert!(!has_scheme("src=local.png"));
    assert_eq!(references("<a href=\"http://a\">"), vec!["href=http://a"]);
}

#[test]
#[should_panic(expected = "mis-nested")]
fn the_html_check_rejects_mis_nesting() {
    check_html("<!DOCTYPE html><html><body><p><b></p></b></body></html>");
}

#[test]
#[should_panic(expected = "unclosed")]
fn the_html_check_rejects_unclosed_elements() {
    check_html("<!DOCTYPE html><html><body><div>");
}
