//! `sutro diff`: the before/after table of the metrics spec (section 7), with the
//! sprint-1 fusion figures from its table: dW2 16,005 → 3,002 (−13,003, −81.2 %),
//! db2 18,005 → 5,002 (−13,003, −72.2 %).
#![allow(clippy::unwrap_used, clippy::expect_used)] // Test code: a failed unwrap is a failed test.

mod common;
use common::{sutro, sutro_json};
use serde_json::Value;

fn row<'a>(rows: &'a Value, name: &str) -> &'a Value {
    rows.as_array().unwrap().iter().find(|r| r["name"] == name).unwrap()
}

#[test]
fn sprint1_fusion_diff_matches_the_spec_table() {
    let v = sutro_json(&[
        "diff",
        "programs/sprint1_standard.sutro",
        "programs/sprint1_fused.sutro",
        "--json",
    ]);
    let d = &v["metrics"]["ard_write"];
    for (name, before, after, pct) in [("dW2", 16_005.0, 3_002.0, -81.2), ("db2", 18_005.0, 5_002.0, -72.2)] {
        let r = row(&d["buffers"], name);
        assert_eq!(
            (r["before"].as_f64(), r["after"].as_f64()),
            (Some(before), Some(after)),
            "{name}"
        );
        assert_eq!(r["change"].as_f64(), Some(-13_003.0));
        assert!((r["percent"].as_f64().unwrap() - pct).abs() < 0.05, "{name}");
    }
    // Headline totals first; rows sorted by the size of their change.
    assert_eq!(d["totals"][0]["name"], "per_read");
    let changes: Vec<f64> = d["buffers"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|r| r["change"].as_f64())
        .map(f64::abs)
        .collect();
    assert!(changes.windows(2).all(|w| w[0] >= w[1]));
    let text = String::from_utf8(
        sutro(&[
            "diff",
            "programs/sprint1_standard.sutro",
            "programs/sprint1_fused.sutro",
        ])
        .stdout,
    )
    .unwrap();
    assert!(
        text.lines()
            .any(|l| l.starts_with("dW2") && l.contains("16,005 → 3,002") && l.contains("−13,003 (−81.2 %)")),
        "{text}"
    );
}

#[test]
fn traces_and_programs_diff_alike_under_every_metric() {
    let progs = sutro_json(&[
        "diff",
        "programs/sprint1_standard.sutro",
        "programs/sprint1_fused.sutro",
        "--metric",
        "all",
        "--json",
    ]);
    let traces = sutro_json(&[
        "diff",
        "traces/sprint1_standard.trace",
        "traces/sprint1_fused.trace",
        "--metric",
        "all",
        "--json",
    ]);
    assert_eq!(progs["metrics"], traces["metrics"]);
    assert_eq!(progs["metrics"].as_object().unwrap().len(), 7);
    // Identical inputs: every change is zero.
    let same = sutro_json(&[
        "diff",
        "traces/sprint1_fused.trace",
        "programs/sprint1_fused.sutro",
        "--metric",
        "all",
        "--json",
    ]);
    for (m, d) in same["metrics"].as_object().unwrap() {
        for list in ["totals", "buffers", "ops"] {
            for r in d[list].as_array().unwrap() {
                assert!(r["change"].as_f64().is_none_or(|c| c == 0.0), "{m} {list} {r}");
            }
        }
    }
}
