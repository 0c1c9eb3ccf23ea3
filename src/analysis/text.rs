//! Text rendering of reports: thousands separators and half-to-even rounding, as
//! the original Python reports print them (metrics spec, section 1).

use super::reuse::ArdReport;
use std::fmt::Write;

/// An integer with thousands separators: `-13003` → `-13,003`.
pub fn thousands(v: i128) -> String {
    let digits = v.unsigned_abs().to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    if v < 0 { format!("-{out}") } else { out }
}

/// A mean rounded half-to-even to an integer, with separators.
pub fn mean(v: f64) -> String {
    thousands(v.round_ties_even() as i128)
}

/// The sutro MemTracker report.
pub fn ard(name: &str, r: &ArdReport, program: &str) -> String {
    let mut s = String::new();
    let o = &r.options;
    let _ = writeln!(
        s,
        "{name}: {program} ({} step{}; granularity={}, price={}, pricing={}, cold={})",
        r.steps,
        if r.steps == 1 { "" } else { "s" },
        o.granularity,
        o.price,
        o.pricing,
        o.cold
    );
    if let Some(ev) = &r.events {
        let _ = writeln!(
            s,
            "
{:<14} {:>10}    {:<10} {:>8} {:>10}",
            "op", "clock", "buffer", "size", "distance"
        );
        for e in ev {
            let d = e.distance.map_or_else(|| "-".to_string(), |d| thousands(i128::from(d)));
            let _ = writeln!(
                s,
                "{:<14} {:>10}  {} {:<10} {:>8} {:>10}",
                e.op,
                thousands(i128::from(e.clock)),
                e.kind,
                e.buffer,
                thousands(i128::from(e.size)),
                if e.kind == "W" { String::new() } else { d }
            );
        }
    }
    let _ = writeln!(
        s,
        "\n{:<12} {:>8} {:>6} {:>10} {:>10} {:>10}  Cache?",
        "Buffer", "Size", "Reads", "Avg", "Min", "Max"
    );
    for b in &r.buffers {
        let opt = |v: Option<i64>| v.map_or_else(|| "-".to_string(), |v| thousands(i128::from(v)));
        let _ = writeln!(
            s,
            "{:<12} {:>8} {:>6} {:>10} {:>10} {:>10}  {}",
            b.name,
            thousands(i128::from(b.size)),
            b.reads,
            b.avg.map_or_else(|| "-".to_string(), mean),
            opt(b.min),
            opt(b.max),
            if b.cached { "✅" } else { "❌" }
        );
    }
    let _ = writeln!(s);
    let _ = writeln!(s, "Average reuse distance (per read):       {}", mean(r.per_read));
    let _ = writeln!(s, "Average reuse distance (per float read): {}", mean(r.per_float));
    let _ = writeln!(
        s,
        "Floats read:                             {}",
        thousands(i128::from(r.floats_read))
    );
    let _ = writeln!(
        s,
        "Floats accessed:                         {}",
        thousands(i128::from(r.floats_accessed))
    );
    let _ = writeln!(
        s,
        "Total working set:                       {}",
        thousands(i128::from(r.working_set))
    );
    s
}
