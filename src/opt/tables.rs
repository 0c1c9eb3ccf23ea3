//! The text tables `sutro optimize` prints: where the clock metric's distance
//! went per buffer and per op, before and after, and what each pass did.

use super::cost::{Objective, ard_report};
use super::{OptReport, fmt_value};
use crate::analysis::{ArdReport, text};
use crate::valid::Validated;

/// Before/after rows joined by name: (name, before, after), before's order first.
fn join_rows(before: &[(String, i128)], after: &[(String, i128)]) -> Vec<(String, Option<i128>, Option<i128>)> {
    let mut rows: Vec<(String, Option<i128>, Option<i128>)> = before
        .iter()
        .map(|(n, v)| (n.clone(), Some(*v), after.iter().find(|(m, _)| m == n).map(|(_, w)| *w)))
        .collect();
    for (n, w) in after {
        if !before.iter().any(|(m, _)| m == n) {
            rows.push((n.clone(), None, Some(*w)));
        }
    }
    rows
}

fn delta_table(title: &str, rows: &[(String, Option<i128>, Option<i128>)]) -> String {
    let cell = |v: Option<i128>| v.map_or_else(|| "-".to_string(), text::thousands);
    let mut s = format!("{title:<20} {:>14} {:>14} {:>14}\n", "before", "after", "change");
    for (n, b, a) in rows {
        let change = text::thousands(a.unwrap_or(0) - b.unwrap_or(0));
        s.push_str(&format!("{n:<20} {:>14} {:>14} {:>14}\n", cell(*b), cell(*a), change));
    }
    s
}

/// The before/after tables of `sutro optimize`: the clock metric's Σ d (or Σ s·d)
/// per buffer, per op and in total, then one row per pass and the summary line.
pub fn tables(before: &Validated, after: &Validated, rep: &OptReport, objective: &Objective) -> String {
    let rb = ard_report(before, &before.program().order, objective, true);
    let ra = ard_report(after, &after.program().order, objective, true);
    let weighted = objective.field.by_size();
    let pick = |sum_d: i128, sum_sd: i128| if weighted { sum_sd } else { sum_d };
    let bufs = |r: &ArdReport| -> Vec<(String, i128)> {
        r.buffers
            .iter()
            .map(|b| (b.name.clone(), pick(b.sum_d, b.sum_sd)))
            .collect()
    };
    let ops = |r: &ArdReport| -> Vec<(String, i128)> {
        r.ops
            .iter()
            .map(|o| (o.name.clone(), pick(o.sum_d, o.sum_sd)))
            .collect()
    };
    let what = if weighted { "Σ s·d" } else { "Σ d" };
    // The attribution tables are the clock metric's; other objectives show ard_write's for reference.
    let table_metric = if objective.is_clock() {
        rep.objective.clone()
    } else {
        "ard_write (for reference)".to_string()
    };
    let mut s = format!(
        "{table_metric} of `{}`, {what} per buffer and per op\n\n",
        before.program().name
    );
    s.push_str(&delta_table("buffer", &join_rows(&bufs(&rb), &bufs(&ra))));
    s.push('\n');
    s.push_str(&delta_table("op", &join_rows(&ops(&rb), &ops(&ra))));
    s.push('\n');
    s.push_str(&delta_table(
        "total",
        &[(
            what.to_string(),
            Some(pick(rb.sum_d, rb.sum_sd)),
            Some(pick(ra.sum_d, ra.sum_sd)),
        )],
    ));
    s.push_str(&format!(
        "\n{:<10} {:>8} {:>7} {:>14} {:>14}  notes\n",
        "pass", "changes", "stop", "before", "after"
    ));
    for p in &rep.passes {
        s.push_str(&format!(
            "{:<10} {:>8} {:>7} {:>14} {:>14}  {}\n",
            p.name.name(),
            p.changes,
            p.stop.map_or("-", |x| x.name()),
            fmt_value(p.before),
            fmt_value(p.after),
            p.notes.join("; ")
        ));
    }
    s.push_str(&format!(
        "\n{}: {} -> {} ({:.2} % better), stop {}, verified bit-identical\n",
        rep.objective,
        fmt_value(rep.before),
        fmt_value(rep.after),
        100.0 * rep.improvement(),
        rep.stop.map_or("-", |x| x.name())
    ));
    s
}
