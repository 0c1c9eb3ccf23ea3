//! The errors catalogue (`docs/errors.md`) is executable: every example on the
//! page is written to a file and run with its command; the first line of stderr
//! must be the documented message, and the exit code the documented one.
#![allow(clippy::unwrap_used, clippy::expect_used)] // Test code: a failed unwrap is a failed test.

mod common;
use common::{root, sutro};

struct Example {
    title: String,
    args: Vec<String>,
    program: String,
    exit: i32,
    message: String,
}

fn block_after<'a>(lines: &mut impl Iterator<Item = &'a str>, fence: &str) -> String {
    lines.by_ref().find(|l| *l == fence).unwrap();
    lines
        .by_ref()
        .take_while(|l| *l != "```")
        .collect::<Vec<_>>()
        .join("\n")
}

fn examples() -> Vec<Example> {
    let doc = std::fs::read_to_string(root().join("docs/errors.md")).unwrap();
    let mut out = Vec::new();
    for section in doc.split("\n## ").skip(1) {
        let Some(cmd) = section
            .lines()
            .find_map(|l| l.strip_prefix("Command: `sutro ").and_then(|c| c.strip_suffix('`')))
        else {
            continue;
        };
        let mut lines = section.lines();
        let program = block_after(&mut lines, "```sutro");
        let exit = section
            .lines()
            .find_map(|l| l.strip_prefix("Exit: "))
            .unwrap()
            .parse()
            .unwrap();
        let message = block_after(&mut lines, "```text");
        out.push(Example {
            title: section.lines().next().unwrap().to_string(),
            args: cmd.split_whitespace().map(str::to_owned).collect(),
            program,
            exit,
            message,
        });
    }
    out
}

#[test]
fn every_documented_error_is_produced_verbatim() {
    let ex = examples();
    assert!(ex.len() >= 15, "the catalogue lost entries");
    let dir = std::env::temp_dir().join(format!("sutro-errors-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("prog.sutro");
    for e in ex {
        std::fs::write(&file, format!("{}\n", e.program)).unwrap();
        let args: Vec<String> = e
            .args
            .iter()
            .map(|a| {
                if a == "prog.sutro" {
                    file.to_string_lossy().into_owned()
                } else {
                    a.clone()
                }
            })
            .collect();
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let out = sutro(&args);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(err.lines().next().unwrap_or(""), e.message, "{}", e.title);
        assert_eq!(out.status.code(), Some(e.exit), "{}", e.title);
    }
    std::fs::remove_dir_all(&dir).unwrap();
}
