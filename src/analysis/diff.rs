//! Before/after comparison of two reports of one metric, joined by buffer and op
//! name (metrics spec, section 7): headline totals first, then rows sorted by the
//! size of their change. Reads the analyzers' typed values (`field.rs`).

use super::field::rows;
use super::{Analyzer, Metric, Row};
use serde::Serialize;

/// One compared quantity.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Delta {
    /// Buffer, op or total name.
    pub name: String,
    /// Value in the first report (null when absent there).
    pub before: Option<f64>,
    /// Value in the second report (null when absent there).
    pub after: Option<f64>,
    /// after − before, when both exist.
    pub change: Option<f64>,
    /// change / before × 100, when both exist and before ≠ 0.
    pub percent: Option<f64>,
}

impl Delta {
    fn new(name: &str, before: Option<f64>, after: Option<f64>) -> Delta {
        let change = before.zip(after).map(|(b, a)| a - b);
        let percent = before
            .zip(change)
            .filter(|(b, _)| *b != 0.0)
            .map(|(b, c)| 100.0 * c / b);
        Delta {
            name: name.to_string(),
            before,
            after,
            change,
            percent,
        }
    }
}

/// The comparison of one metric.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct MetricDiff {
    /// The headline totals.
    pub totals: Vec<Delta>,
    /// Which row field the buffer and op rows compare.
    pub row_field: &'static str,
    /// Per buffer, largest change first.
    pub buffers: Vec<Delta>,
    /// Per op, largest change first.
    pub ops: Vec<Delta>,
}

fn join(a: &[(String, Option<f64>)], b: &[(String, Option<f64>)]) -> Vec<Delta> {
    let mut out: Vec<Delta> = a
        .iter()
        .map(|(n, va)| Delta::new(n, *va, b.iter().find(|(m, _)| m == n).and_then(|(_, v)| *v)))
        .collect();
    for (n, vb) in b {
        if !a.iter().any(|(m, _)| m == n) {
            out.push(Delta::new(n, None, *vb));
        }
    }
    // Largest change first; rows present on one side only after them, in order.
    out.sort_by(|x, y| {
        let key = |d: &Delta| d.change.map_or(-1.0, f64::abs);
        key(y).partial_cmp(&key(x)).unwrap_or(std::cmp::Ordering::Equal)
    });
    out
}

/// Compares two analyzers of one metric (`before`'s metric).
pub fn diff(before: &dyn Analyzer, after: &dyn Analyzer) -> MetricDiff {
    let m = before.metric();
    let totals = m
        .totals()
        .iter()
        .map(|f| Delta::new(f.name(), before.value(*f), after.value(*f)))
        .collect();
    let finite = |rows: Vec<Row>| -> Vec<Row> {
        rows.into_iter()
            .map(|(n, v)| (n, v.filter(|x| x.is_finite())))
            .collect()
    };
    let (bb, bo) = rows(m, &*before.values());
    let (ab, ao) = rows(m, &*after.values());
    MetricDiff {
        totals,
        row_field: m.row_fields().0.name(),
        buffers: join(&finite(bb), &finite(ab)),
        ops: join(&finite(bo), &finite(ao)),
    }
}

fn num(v: Option<f64>) -> String {
    match v {
        None => "-".to_string(),
        Some(x) if x.fract() == 0.0 && x.abs() < 1e15 => super::text::thousands(x as i128),
        Some(x) => {
            let s = super::text::thousands(x.trunc() as i128);
            let s = if x < 0.0 && x.trunc() == 0.0 {
                format!("-{s}")
            } else {
                s
            };
            format!("{s}.{:03}", ((x.abs().fract()) * 1000.0).round() as u32 % 1000)
        }
    }
}

fn line(d: &Delta) -> String {
    let change = match (d.change, d.percent) {
        (Some(c), Some(p)) => format!(
            "{}{} ({}{:.1} %)",
            if c > 0.0 { "+" } else { "" },
            num(Some(c)).replace('-', "−"),
            if p > 0.0 {
                "+"
            } else if p < 0.0 {
                "−"
            } else {
                ""
            },
            p.abs()
        ),
        (Some(c), None) => format!("{}{}", if c > 0.0 { "+" } else { "" }, num(Some(c)).replace('-', "−")),
        _ => "-".to_string(),
    };
    format!("{:<20} {:>16} → {:<16} {change}\n", d.name, num(d.before), num(d.after))
}

/// The comparison as text: `dW2  16,005 → 3,002  −13,003 (−81.2 %)`.
pub fn text(m: Metric, d: &MetricDiff, a: &str, b: &str) -> String {
    let mut s = format!("{}: {a} → {b}\n\n", m.name());
    for t in &d.totals {
        s.push_str(&line(t));
    }
    s.push_str(&format!("\nper buffer ({})\n", d.row_field));
    for r in &d.buffers {
        s.push_str(&line(r));
    }
    s.push_str(&format!("\nper op ({})\n", m.row_fields().1.name()));
    for r in &d.ops {
        s.push_str(&line(r));
    }
    s
}
