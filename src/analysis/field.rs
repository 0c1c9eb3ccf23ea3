//! The one table of metric values: every headline number a report carries is a
//! `Field`, and each report type says what its fields are worth (`Values`).
//!
//! Optimizer objectives (`--objective METRIC.FIELD`), the board's per-step totals,
//! `diff`'s totals and the report page's headlines all name values by `Field`
//! and read them through `Values::value`; none looks a key up in the JSON form.
//! A field name is checked against its metric when it is parsed (`Metric::field`).

use super::{
    ArdReport, AttrRow, ByteDmdReport, Col, DallyReport, DmdReport, EnergyReport, LruReport, Metric, OptionError,
};

/// A headline value of a metric report; `name` is its JSON key (docs/metrics.md §7).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Field {
    /// Σ d / reads (clock metrics).
    PerRead,
    /// Σ s·d / floats read (clock metrics).
    PerFloat,
    /// Σ d (clock metrics, `lru_stack`).
    SumD,
    /// Σ s·d (clock metrics).
    SumSd,
    /// Floats read (clock metrics).
    FloatsRead,
    /// Floats read or written (clock metrics).
    FloatsAccessed,
    /// Priced-or-cold units (`lru_stack`, `dmd`).
    Accesses,
    /// Cold units (`lru_stack`, `dmd`).
    Cold,
    /// The total of `dmd` or `bytedmd_v2`.
    Total,
    /// Reads (`bytedmd_v2`).
    Reads,
    /// Total energy (`energy_pj`).
    TotalPj,
    /// Energy of reads (`energy_pj`).
    ReadsPj,
    /// Energy of writes (`energy_pj`).
    WritesPj,
    /// The exit reads' part of the total (`dally`).
    Exit,
    /// Σ over every buffer ever written of its last write size (clock metrics;
    /// a property of the program, so no total and no objective).
    WorkingSet,
}

impl Field {
    /// The JSON key.
    pub fn name(self) -> &'static str {
        match self {
            Field::PerRead => "per_read",
            Field::PerFloat => "per_float",
            Field::SumD => "sum_d",
            Field::SumSd => "sum_sd",
            Field::FloatsRead => "floats_read",
            Field::FloatsAccessed => "floats_accessed",
            Field::Accesses => "accesses",
            Field::Cold => "cold",
            Field::Total => "total",
            Field::Reads => "reads",
            Field::TotalPj => "total_pj",
            Field::ReadsPj => "reads_pj",
            Field::WritesPj => "writes_pj",
            Field::Exit => "exit",
            Field::WorkingSet => "working_set",
        }
    }

    /// Whether each read is weighted by its size (clock metrics).
    pub fn by_size(self) -> bool {
        matches!(self, Field::PerFloat | Field::SumSd)
    }
}

impl Metric {
    /// The headline totals of the metric's report, the headline first (what
    /// `diff` compares).
    pub fn totals(self) -> &'static [Field] {
        use Field::*;
        match self {
            Metric::ArdWrite | Metric::ArdAccess => &[PerRead, PerFloat, SumD, SumSd, FloatsRead, FloatsAccessed],
            Metric::LruStack => &[SumD, Accesses, Cold],
            Metric::Dmd => &[Total, Accesses, Cold],
            Metric::ByteDmdV2 => &[Total, Reads],
            Metric::Dally => &[Total, Exit, Reads],
            Metric::EnergyPj => &[TotalPj, ReadsPj, WritesPj],
        }
    }

    /// The fields that depend on the schedule: what an objective may minimize.
    pub fn objective_fields(self) -> &'static [Field] {
        use Field::*;
        match self {
            Metric::ArdWrite | Metric::ArdAccess => &[PerRead, PerFloat, SumD, SumSd],
            Metric::Dmd | Metric::ByteDmdV2 | Metric::Dally => &[Total],
            Metric::EnergyPj => &[TotalPj],
            Metric::LruStack => &[],
        }
    }

    /// The field an objective uses when none is given.
    pub fn headline(self) -> Field {
        match self {
            Metric::ArdWrite | Metric::ArdAccess => Field::PerRead,
            Metric::Dmd | Metric::ByteDmdV2 | Metric::LruStack | Metric::Dally => Field::Total,
            Metric::EnergyPj => Field::TotalPj,
        }
    }

    /// The per-step total a board sums over the steps to solve.
    pub fn board_total(self) -> Field {
        match self {
            Metric::ArdWrite | Metric::ArdAccess => Field::SumSd,
            Metric::LruStack => Field::SumD,
            Metric::Dmd | Metric::ByteDmdV2 | Metric::Dally => Field::Total,
            Metric::EnergyPj => Field::TotalPj,
        }
    }

    /// One of the metric's headline totals by name; an error names the known ones.
    pub fn field(self, name: &str) -> Result<Field, OptionError> {
        self.totals().iter().copied().find(|f| f.name() == name).ok_or_else(|| {
            let known: Vec<&str> = self.totals().iter().map(|f| f.name()).collect();
            OptionError(format!(
                "unknown field `{name}` of {} (known: {})",
                self.name(),
                known.join(", ")
            ))
        })
    }

    /// The attribution row columns `diff` compares: (buffer rows, op rows).
    pub fn row_fields(self) -> (Col, Col) {
        match self {
            Metric::ArdWrite | Metric::ArdAccess => (Col::Avg, Col::SumD),
            Metric::LruStack => (Col::SumD, Col::SumD),
            Metric::Dmd => (Col::Total, Col::Total),
            Metric::ByteDmdV2 | Metric::Dally => (Col::Cost, Col::Cost),
            Metric::EnergyPj => (Col::Pj, Col::Pj),
        }
    }
}

/// One attribution row reduced to a name and its value of the metric's row column.
pub type Row = (String, Option<f64>);

/// The typed values of a report.
pub trait Values {
    /// The value of a headline field; `None` for a field of another metric.
    fn value(&self, f: Field) -> Option<f64>;
    /// The attribution rows: (per buffer, per op).
    fn attribution(&self) -> (&[AttrRow], &[AttrRow]);
}

/// Per-buffer and per-op rows of `m`'s row columns (`Metric::row_fields`).
pub fn rows(m: Metric, v: &dyn Values) -> (Vec<Row>, Vec<Row>) {
    let (cb, co) = m.row_fields();
    let (b, o) = v.attribution();
    let pick = |rows: &[AttrRow], c: Col| rows.iter().map(|r| (r.name.clone(), r.get(c))).collect();
    (pick(b, cb), pick(o, co))
}

impl Values for ArdReport {
    fn value(&self, f: Field) -> Option<f64> {
        Some(match f {
            Field::PerRead => self.per_read,
            Field::PerFloat => self.per_float,
            Field::SumD => self.sum_d as f64,
            Field::SumSd => self.sum_sd as f64,
            Field::FloatsRead => self.floats_read as f64,
            Field::FloatsAccessed => self.floats_accessed as f64,
            Field::WorkingSet => self.working_set as f64,
            _ => return None,
        })
    }
    fn attribution(&self) -> (&[AttrRow], &[AttrRow]) {
        (&self.buffers, &self.ops)
    }
}

impl Values for LruReport {
    fn value(&self, f: Field) -> Option<f64> {
        Some(match f {
            Field::SumD => self.sum_d as f64,
            Field::Accesses => self.accesses as f64,
            Field::Cold => self.cold as f64,
            _ => return None,
        })
    }
    fn attribution(&self) -> (&[AttrRow], &[AttrRow]) {
        (&self.buffers, &self.ops)
    }
}

impl Values for DmdReport {
    fn value(&self, f: Field) -> Option<f64> {
        Some(match f {
            Field::Total => self.total,
            Field::Accesses => self.accesses as f64,
            Field::Cold => self.cold as f64,
            _ => return None,
        })
    }
    fn attribution(&self) -> (&[AttrRow], &[AttrRow]) {
        (&self.buffers, &self.ops)
    }
}

impl Values for ByteDmdReport {
    fn value(&self, f: Field) -> Option<f64> {
        Some(match f {
            Field::Total => self.total as f64,
            Field::Reads => self.reads as f64,
            Field::Cold => self.cold as f64,
            _ => return None,
        })
    }
    fn attribution(&self) -> (&[AttrRow], &[AttrRow]) {
        (&self.buffers, &self.ops)
    }
}

impl Values for EnergyReport {
    fn value(&self, f: Field) -> Option<f64> {
        Some(match f {
            Field::TotalPj => self.total_pj,
            Field::ReadsPj => self.reads_pj,
            Field::WritesPj => self.writes_pj,
            _ => return None,
        })
    }
    fn attribution(&self) -> (&[AttrRow], &[AttrRow]) {
        (&self.buffers, &self.ops)
    }
}

impl Values for DallyReport {
    fn value(&self, f: Field) -> Option<f64> {
        Some(match f {
            Field::Total => self.total as f64,
            Field::Exit => self.exit as f64,
            Field::Reads => self.reads as f64,
            _ => return None,
        })
    }
    fn attribution(&self) -> (&[AttrRow], &[AttrRow]) {
        (&self.buffers, &[])
    }
}
