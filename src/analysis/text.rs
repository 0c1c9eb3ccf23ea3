//! Text rendering of reports: thousands separators and half-to-even rounding, as
//! the original Python reports print them (metrics spec, section 1).

use super::reuse::ArdReport;
use super::{ByteDmdReport, DmdReport, EnergyReport, LruReport};
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

/// An integer count with separators.
fn int(x: u64) -> String {
    thousands(i128::from(x))
}

/// A u128 total with separators (as its JSON number reads when it fits u64).
fn int128(x: u128) -> String {
    u64::try_from(x).map_or_else(|_| x.to_string(), int)
}

/// A real value to three decimals; a non-finite one reads `null`, as in JSON.
fn num(x: f64) -> String {
    if x.is_finite() {
        format!("{x:.3}")
    } else {
        "null".to_string()
    }
}

/// The first line of a stack-family summary: metric, program, steps and the
/// effective options (`key=value`, as the JSON form lists them).
fn head(name: &str, program: &str, steps: u32, options: &impl serde::Serialize) -> String {
    use serde_json::Value;
    let opts = match serde_json::to_value(options) {
        Ok(Value::Object(m)) => m
            .iter()
            .map(|(k, v)| match v {
                Value::String(x) => format!("{k}={x}"),
                other => format!("{k}={other}"),
            })
            .collect::<Vec<_>>()
            .join(", "),
        _ => String::new(),
    };
    format!(
        "{name}: {program} ({steps} step{}; {opts})\n",
        if steps == 1 { "" } else { "s" }
    )
}

/// The `lru_stack` summary: totals, then the histogram grouped by powers of two
/// (as the spec allows for text).
pub fn lru(r: &LruReport, program: &str) -> String {
    let mut s = head("lru_stack", program, r.steps, &r.options);
    let _ = writeln!(
        s,
        "Accesses: {}  cold: {}  Σd: {}",
        int(r.accesses),
        int(r.cold),
        int128(r.sum_d)
    );
    let mut groups: Vec<(u64, u64)> = Vec::new();
    for [d, c] in &r.histogram {
        let hi = d.max(&1).next_power_of_two();
        match groups.last_mut() {
            Some(g) if g.0 == hi => g.1 += c,
            _ => groups.push((hi, *c)),
        }
    }
    for (hi, c) in groups {
        let _ = writeln!(s, "  d ≤ {:>12}: {:>12}", int(hi), int(c));
    }
    s.push('\n');
    s
}

/// The `dmd` summary.
pub fn dmd(r: &DmdReport, program: &str) -> String {
    let mut s = head("dmd", program, r.steps, &r.options);
    let _ = writeln!(
        s,
        "DMD (Σ √d): {}  accesses: {}  cold: {}\n",
        num(r.total),
        int(r.accesses),
        int(r.cold)
    );
    s
}

/// The `bytedmd_v2` summary.
pub fn bytedmd(r: &ByteDmdReport, program: &str) -> String {
    let mut s = head("bytedmd_v2", program, r.steps, &r.options);
    let _ = writeln!(
        s,
        "ByteDMD v2: {}  reads: {}  cold: {}\n",
        int128(r.total),
        int(r.reads),
        int(r.cold)
    );
    s
}

/// The `energy_pj` summary: totals, the model, and one row per tier.
pub fn energy(r: &EnergyReport, program: &str) -> String {
    let mut s = head("energy_pj", program, r.steps, &r.options);
    let _ = writeln!(
        s,
        "Energy: {} pJ (reads {}, writes {}); preset {}, node {}, {}-byte words",
        num(r.total_pj),
        num(r.reads_pj),
        num(r.writes_pj),
        r.preset,
        r.node,
        int(r.word_bytes)
    );
    let _ = writeln!(
        s,
        "{:<8} {:>12} {:>10} {:>12} {:>12} {:>14}",
        "Tier", "Capacity", "pJ/word", "Accesses", "Words", "pJ"
    );
    for t in &r.tiers {
        let cap = t.capacity_bytes.map_or_else(|| "unbounded".to_string(), int);
        let _ = writeln!(
            s,
            "{:<8} {:>12} {:>10} {:>12} {:>12} {:>14}",
            t.name,
            cap,
            num(t.pj_per_word),
            int(t.accesses),
            int(t.words),
            num(t.pj)
        );
    }
    let _ = writeln!(s, "({})\n", r.note);
    s
}
