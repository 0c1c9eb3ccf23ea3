//! Before/after comparison of two reports of one metric, joined by buffer and op
//! name (metrics spec, section 7): headline totals first, then rows sorted by the
//! size of their change. Works on the JSON form of any analyzer's report.

use super::Metric;
use serde::Serialize;
use serde_json::Value;

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

/// The totals compared for a metric, headline first.
pub fn total_keys(m: Metric) -> &'static [&'static str] {
    match m {
        Metric::ArdWrite | Metric::ArdAccess => &[
            "per_read",
            "per_float",
            "sum_d",
            "sum_sd",
            "floats_read",
            "floats_accessed",
        ],
        Metric::LruStack => &["sum_d", "accesses", "cold"],
        Metric::Dmd => &["total", "accesses", "cold"],
        Metric::ByteDmdV2 => &["total", "reads"],
        Metric::Dally => &["total", "exit", "reads"],
        Metric::EnergyPj => &["total_pj", "reads_pj", "writes_pj"],
    }
}

/// The row fields compared for a metric: (buffer rows, op rows).
pub fn row_keys(m: Metric) -> (&'static str, &'static str) {
    match m {
        Metric::ArdWrite | Metric::ArdAccess => ("avg", "sum_d"),
        Metric::LruStack => ("sum_d", "sum_d"),
        Metric::Dmd => ("total", "total"),
        Metric::ByteDmdV2 | Metric::Dally => ("cost", "cost"),
        Metric::EnergyPj => ("pj", "pj"),
    }
}

fn rows(report: &Value, list: &str, key: &str) -> Vec<(String, Option<f64>)> {
    report[list]
        .as_array()
        .map(|rows| {
            rows.iter()
                .map(|r| (r["name"].as_str().unwrap_or("").to_string(), r[key].as_f64()))
                .collect()
        })
        .unwrap_or_default()
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

/// Compares two reports of metric `m`.
pub fn diff(m: Metric, before: &Value, after: &Value) -> MetricDiff {
    let totals = total_keys(m)
        .iter()
        .map(|k| Delta::new(k, before[*k].as_f64(), after[*k].as_f64()))
        .collect();
    let (bk, ok) = row_keys(m);
    MetricDiff {
        totals,
        row_field: bk,
        buffers: join(&rows(before, "buffers", bk), &rows(after, "buffers", bk)),
        ops: join(&rows(before, "ops", ok), &rows(after, "ops", ok)),
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
    s.push_str(&format!("\nper op ({})\n", row_keys(m).1));
    for r in &d.ops {
        s.push_str(&line(r));
    }
    s
}
