//! Helpers shared by the integration tests: run the binary, load programs.
#![allow(clippy::expect_used, clippy::unwrap_used)] // Test helpers: a failure is a test failure.
#![allow(dead_code)] // Each test binary uses a different subset.

use std::path::PathBuf;
use std::process::{Command, Output};

/// The repository root.
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Runs the `sutro` binary with arguments, from the repository root.
pub fn sutro(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_sutro"))
        .args(args)
        .current_dir(root())
        .output()
        .expect("run sutro")
}

/// Runs `sutro` and parses stdout as JSON, asserting exit code 0.
pub fn sutro_json(args: &[&str]) -> serde_json::Value {
    let out = sutro(args);
    assert!(
        out.status.success(),
        "sutro {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("stdout is JSON")
}

/// Loads a program file through the library pipeline with `--set` pairs.
pub fn load(path: &str, sets: &[(&str, &str)]) -> sutro::Loaded {
    let text = std::fs::read_to_string(root().join(path)).expect("read program");
    load_text(path, &text, sets)
}

/// Loads program text through the library pipeline.
pub fn load_text(name: &str, text: &str, sets: &[(&str, &str)]) -> sutro::Loaded {
    let file = sutro::span::SourceFile::new(name, text);
    let mut s = sutro::valid::Settings::default();
    for (k, v) in sets {
        s = s.with(k, v);
    }
    match sutro::load(&file, &s, &sutro::valid::Limits::default()) {
        Ok(l) => l,
        Err(e) => panic!("{}", sutro::diag::render(&e.diagnostics(), Some(&file), false)),
    }
}
