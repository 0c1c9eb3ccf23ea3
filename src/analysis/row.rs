//! The one attribution row type: a buffer's or an op's share of a metric.
//!
//! Every metric attributes its totals to buffers and ops with an `AttrRow`;
//! which columns a row carries (and so which JSON keys it has, docs/json.md) is
//! its `cols` list, one constant per metric and row kind below. A column not in
//! the list is not printed and its field keeps its default.

use serde::ser::{Serialize, SerializeMap, Serializer};

/// A column of an attribution row; `name` is its JSON key.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Col {
    /// Element count from the header (buffer rows).
    Size,
    /// Position in the op table (op rows; `null` for the step-start row).
    Index,
    /// 1-based source line (op rows; `null` or 0 when unknown).
    Line,
    /// Read events or priced read units.
    Reads,
    /// Write events.
    Writes,
    /// Priced-or-cold units.
    Accesses,
    /// Cold units.
    Cold,
    /// Floats read (clock metrics).
    FloatsRead,
    /// Words charged (`energy_pj`).
    Words,
    /// Mean distance over kept reads (clock metrics).
    Avg,
    /// Smallest kept distance (clock metrics).
    Min,
    /// Largest kept distance (clock metrics).
    Max,
    /// `avg < working_set` (clock metrics).
    Cached,
    /// Σ d.
    SumD,
    /// Σ s·d (clock metrics).
    SumSd,
    /// Σ √d in trace order (`dmd`).
    Total,
    /// The exact integer sum under `ceil=true` (`dmd`).
    TotalInt,
    /// The row's share of an integer total (`bytedmd_v2`, `dally`).
    Cost,
    /// Energy (`energy_pj`).
    Pj,
}

impl Col {
    /// The JSON key.
    pub fn name(self) -> &'static str {
        match self {
            Col::Size => "size",
            Col::Index => "index",
            Col::Line => "line",
            Col::Reads => "reads",
            Col::Writes => "writes",
            Col::Accesses => "accesses",
            Col::Cold => "cold",
            Col::FloatsRead => "floats_read",
            Col::Words => "words",
            Col::Avg => "avg",
            Col::Min => "min",
            Col::Max => "max",
            Col::Cached => "cached",
            Col::SumD => "sum_d",
            Col::SumSd => "sum_sd",
            Col::Total => "total",
            Col::TotalInt => "total_int",
            Col::Cost => "cost",
            Col::Pj => "pj",
        }
    }
}

/// The columns of each metric's rows.
pub mod cols {
    use super::Col::{self, *};

    /// `ard_write` / `ard_access` buffer rows.
    pub const ARD_BUF: &[Col] = &[Size, Reads, Writes, FloatsRead, Avg, Min, Max, Cached, SumD, SumSd];
    /// `ard_write` / `ard_access` op rows.
    pub const ARD_OP: &[Col] = &[Index, Line, Reads, FloatsRead, SumD, SumSd];
    /// `lru_stack` buffer rows.
    pub const LRU_BUF: &[Col] = &[Size, Reads, Writes, Accesses, Cold, SumD];
    /// `lru_stack` op rows.
    pub const LRU_OP: &[Col] = &[Index, Line, Accesses, Cold, SumD];
    /// `dmd` buffer rows.
    pub const DMD_BUF: &[Col] = &[Size, Reads, Writes, Accesses, Cold, Total, TotalInt];
    /// `dmd` op rows.
    pub const DMD_OP: &[Col] = &[Index, Line, Accesses, Cold, Total, TotalInt];
    /// `bytedmd_v2` buffer rows.
    pub const BYTEDMD_BUF: &[Col] = &[Size, Reads, Cold, Cost];
    /// `bytedmd_v2` op rows.
    pub const BYTEDMD_OP: &[Col] = &[Index, Line, Reads, Cold, Cost];
    /// `energy_pj` buffer rows.
    pub const ENERGY_BUF: &[Col] = &[Size, Reads, Writes, Words, Pj];
    /// `energy_pj` op rows.
    pub const ENERGY_OP: &[Col] = &[Index, Reads, Writes, Words, Pj];
    /// `energy_pj`'s step-start row (no index key).
    pub const ENERGY_START: &[Col] = &[Reads, Writes, Words, Pj];
    /// `dally` buffer rows.
    pub const DALLY_BUF: &[Col] = &[Cost];
}

/// One attribution row of any metric: a buffer or op name and its columns.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct AttrRow {
    /// Buffer or op name (`(start)` for step-start writes).
    pub name: String,
    /// Element count.
    pub size: u64,
    /// Op position.
    pub index: Option<usize>,
    /// Source line.
    pub line: Option<u32>,
    /// Reads.
    pub reads: u64,
    /// Writes.
    pub writes: u64,
    /// Priced-or-cold units.
    pub accesses: u64,
    /// Cold units.
    pub cold: u64,
    /// Floats read.
    pub floats_read: u64,
    /// Words charged.
    pub words: u64,
    /// Mean kept distance.
    pub avg: Option<f64>,
    /// Smallest kept distance.
    pub min: Option<i64>,
    /// Largest kept distance.
    pub max: Option<i64>,
    /// Whether the mean distance is below the working set.
    pub cached: bool,
    /// Σ d.
    pub sum_d: i128,
    /// Σ s·d.
    pub sum_sd: i128,
    /// Σ √d.
    pub total: f64,
    /// Exact integer total.
    pub total_int: Option<u128>,
    /// Integer cost.
    pub cost: u128,
    /// Energy.
    pub pj: f64,
    /// The columns this row carries (a constant of `cols`).
    pub cols: &'static [Col],
}

impl AttrRow {
    /// A column's value as a number (`None` for an empty or non-numeric cell,
    /// or a column the row does not carry).
    pub fn get(&self, c: Col) -> Option<f64> {
        if !self.cols.contains(&c) {
            return None;
        }
        match c {
            Col::Size => Some(self.size as f64),
            Col::Index => self.index.map(|i| i as f64),
            Col::Line => self.line.map(f64::from),
            Col::Reads => Some(self.reads as f64),
            Col::Writes => Some(self.writes as f64),
            Col::Accesses => Some(self.accesses as f64),
            Col::Cold => Some(self.cold as f64),
            Col::FloatsRead => Some(self.floats_read as f64),
            Col::Words => Some(self.words as f64),
            Col::Avg => self.avg,
            Col::Min => self.min.map(|v| v as f64),
            Col::Max => self.max.map(|v| v as f64),
            Col::Cached => None,
            Col::SumD => Some(self.sum_d as f64),
            Col::SumSd => Some(self.sum_sd as f64),
            Col::Total => Some(self.total),
            Col::TotalInt => self.total_int.map(|v| v as f64),
            Col::Cost => Some(self.cost as f64),
            Col::Pj => Some(self.pj),
        }
    }
}

impl Serialize for AttrRow {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(self.cols.len() + 1))?;
        m.serialize_entry("name", &self.name)?;
        for &c in self.cols {
            let k = c.name();
            match c {
                Col::Size => m.serialize_entry(k, &self.size)?,
                Col::Index => m.serialize_entry(k, &self.index)?,
                Col::Line => m.serialize_entry(k, &self.line)?,
                Col::Reads => m.serialize_entry(k, &self.reads)?,
                Col::Writes => m.serialize_entry(k, &self.writes)?,
                Col::Accesses => m.serialize_entry(k, &self.accesses)?,
                Col::Cold => m.serialize_entry(k, &self.cold)?,
                Col::FloatsRead => m.serialize_entry(k, &self.floats_read)?,
                Col::Words => m.serialize_entry(k, &self.words)?,
                Col::Avg => m.serialize_entry(k, &self.avg)?,
                Col::Min => m.serialize_entry(k, &self.min)?,
                Col::Max => m.serialize_entry(k, &self.max)?,
                Col::Cached => m.serialize_entry(k, &self.cached)?,
                Col::SumD => m.serialize_entry(k, &self.sum_d)?,
                Col::SumSd => m.serialize_entry(k, &self.sum_sd)?,
                Col::Total => m.serialize_entry(k, &self.total)?,
                Col::TotalInt => m.serialize_entry(k, &self.total_int)?,
                Col::Cost => m.serialize_entry(k, &self.cost)?,
                Col::Pj => m.serialize_entry(k, &self.pj)?,
            }
        }
        m.end()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_row_prints_exactly_its_columns() {
        let r = AttrRow {
            name: "W".into(),
            index: None,
            cost: 7,
            cols: &[Col::Index, Col::Cost],
            ..AttrRow::default()
        };
        assert_eq!(
            serde_json::to_string(&r).ok().as_deref(),
            Some(r#"{"name":"W","index":null,"cost":7}"#)
        );
        assert_eq!(r.get(Col::Cost), Some(7.0));
        assert_eq!(r.get(Col::Reads), None, "a column the row does not carry");
    }
}
