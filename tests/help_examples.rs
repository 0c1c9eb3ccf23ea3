//! Every example in every command's `--help` runs: the repository is copied to
//! a temporary directory and each example runs there (a trailing pipe into an
//! outside tool such as `dot` is dropped; `| grep` and `> FILE` are kept by
//! running through `sh`). Long examples (`bench`, `report`, `demo`) run only
//! with `SUTRO_LONG_EXAMPLES=1` (`.ci/run`).
#![allow(clippy::unwrap_used, clippy::expect_used)] // Test code: a failed unwrap is a failed test.

mod common;

use std::path::Path;
use std::process::Command;

fn help(bin: &str, path: &[&str]) -> String {
    let out = Command::new(bin).args(path).arg("--help").output().unwrap();
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Subcommand names listed under `Commands:` in a help text.
fn subcommands(text: &str) -> Vec<String> {
    text.lines()
        .skip_while(|l| !l.starts_with("Commands:"))
        .skip(1)
        .take_while(|l| l.starts_with("  "))
        .filter_map(|l| l.split_whitespace().next().map(str::to_owned))
        .filter(|c| c != "help")
        .collect()
}

/// Every `sutro …` line under an `Example:`/`Examples:` heading.
fn examples(text: &str) -> Vec<String> {
    text.lines()
        .skip_while(|l| !l.starts_with("Example"))
        .map(str::trim)
        .filter(|l| l.starts_with("sutro "))
        .map(str::to_owned)
        .collect()
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let name = e.file_name();
        if name == ".git" || name == "target" {
            continue;
        }
        let (src, dst) = (e.path(), to.join(&name));
        if e.file_type().unwrap().is_dir() {
            copy_dir(&src, &dst);
        } else if e.file_type().unwrap().is_file() {
            std::fs::copy(&src, &dst).unwrap();
        }
    }
}

#[test]
fn every_help_example_runs() {
    let bin = env!("CARGO_BIN_EXE_sutro");
    let long = std::env::var_os("SUTRO_LONG_EXAMPLES").is_some();
    let dir = std::env::temp_dir().join(format!("sutro-help-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    copy_dir(&common::root(), &dir);
    let mut paths: Vec<Vec<String>> = subcommands(&help(bin, &[])).into_iter().map(|c| vec![c]).collect();
    let mut all = Vec::new();
    while let Some(p) = paths.pop() {
        let refs: Vec<&str> = p.iter().map(String::as_str).collect();
        let text = help(bin, &refs);
        for sub in subcommands(&text) {
            let mut q = p.clone();
            q.push(sub);
            paths.push(q);
        }
        all.extend(examples(&text).into_iter().map(|e| (p.join(" "), e)));
    }
    assert!(all.len() >= 18, "only {} examples found", all.len());
    for (cmd, example) in all {
        if !long && ["bench", "report", "demo"].contains(&cmd.as_str()) {
            continue;
        }
        // Drop a trailing pipe into a tool outside sutro (e.g. `| dot -Tsvg > deps.svg`).
        let line = match example.split_once(" | ") {
            Some((head, tail)) if !tail.starts_with("grep") => head.to_string(),
            _ => example.clone(),
        };
        // `completions bash > /etc/…` writes outside the copy: write beside it instead.
        let line = line.replace("/etc/bash_completion.d/sutro", "sutro.bash");
        let script = format!("sutro() {{ \"{bin}\" \"$@\"; }}\n{line}\n");
        let out = Command::new("sh")
            .arg("-c")
            .arg(&script)
            .current_dir(&dir)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "`{example}` (from `sutro {cmd} --help`) failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    std::fs::remove_dir_all(&dir).unwrap();
}
