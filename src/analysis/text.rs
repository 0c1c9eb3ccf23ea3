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

/// A short text summary of a stack-family report (`lru_stack`, `dmd`,
/// `bytedmd_v2`, `energy_pj`) from its JSON: the effective options, the headline
/// totals and the per-buffer rows. The JSON form carries everything.
pub fn summary(name: &str, r: &serde_json::Value, program: &str) -> String {
    use serde_json::Value;
    let mut s = String::new();
    let opts = match &r["options"] {
        Value::Object(m) => m
            .iter()
            .map(|(k, v)| match v {
                Value::String(x) => format!("{k}={x}"),
                other => format!("{k}={other}"),
            })
            .collect::<Vec<_>>()
            .join(", "),
        _ => String::new(),
    };
    let steps = r["steps"].as_u64().unwrap_or(0);
    let _ = writeln!(
        s,
        "{name}: {program} ({steps} step{}; {opts})",
        if steps == 1 { "" } else { "s" }
    );
    let int = |v: &Value| v.as_u64().map_or_else(|| v.to_string(), |x| thousands(i128::from(x)));
    let num = |v: &Value| v.as_f64().map_or_else(|| v.to_string(), |x| format!("{x:.3}"));
    match name {
        "lru_stack" => {
            let _ = writeln!(
                s,
                "Accesses: {}  cold: {}  Σd: {}",
                int(&r["accesses"]),
                int(&r["cold"]),
                int(&r["sum_d"])
            );
            // Distances grouped by powers of two, as the spec allows for text.
            let mut groups: Vec<(u64, u64)> = Vec::new();
            for pair in r["histogram"].as_array().into_iter().flatten() {
                let (d, c) = (pair[0].as_u64().unwrap_or(0), pair[1].as_u64().unwrap_or(0));
                let hi = d.max(1).next_power_of_two();
                match groups.last_mut() {
                    Some(g) if g.0 == hi => g.1 += c,
                    _ => groups.push((hi, c)),
                }
            }
            for (hi, c) in groups {
                let _ = writeln!(
                    s,
                    "  d ≤ {:>12}: {:>12}",
                    thousands(i128::from(hi)),
                    thousands(i128::from(c))
                );
            }
        }
        "dmd" => {
            let _ = writeln!(
                s,
                "DMD (Σ √d): {}  accesses: {}  cold: {}",
                num(&r["total"]),
                int(&r["accesses"]),
                int(&r["cold"])
            );
        }
        "bytedmd_v2" => {
            let _ = writeln!(
                s,
                "ByteDMD v2: {}  reads: {}  cold: {}",
                int(&r["total"]),
                int(&r["reads"]),
                int(&r["cold"])
            );
        }
        "energy_pj" => {
            let _ = writeln!(
                s,
                "Energy: {} pJ (reads {}, writes {}); preset {}, node {}, {}-byte words",
                num(&r["total_pj"]),
                num(&r["reads_pj"]),
                num(&r["writes_pj"]),
                r["preset"].as_str().unwrap_or("?"),
                r["node"].as_str().unwrap_or("?"),
                int(&r["word_bytes"])
            );
            let _ = writeln!(
                s,
                "{:<8} {:>12} {:>10} {:>12} {:>12} {:>14}",
                "Tier", "Capacity", "pJ/word", "Accesses", "Words", "pJ"
            );
            for t in r["tiers"].as_array().into_iter().flatten() {
                let cap = if t["capacity_bytes"].is_null() {
                    "unbounded".to_string()
                } else {
                    int(&t["capacity_bytes"])
                };
                let _ = writeln!(
                    s,
                    "{:<8} {:>12} {:>10} {:>12} {:>12} {:>14}",
                    t["name"].as_str().unwrap_or("?"),
                    cap,
                    num(&t["pj_per_word"]),
                    int(&t["accesses"]),
                    int(&t["words"]),
                    num(&t["pj"])
                );
            }
            let _ = writeln!(s, "({})", r["note"].as_str().unwrap_or(""));
        }
        _ => {}
    }
    s.push('\n');
    s
}
