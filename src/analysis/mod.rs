//! Analyzers: consumers of the event stream that score a trace.
//!
//! Every analyzer is a `trace::Tracer`; it reads only the header and the events,
//! never the interpreter, so a live run and a replayed trace score identically.
//! `Metric` is the closed list of metric names of `docs/metrics.md`;
//! `select` turns `--metric` and `--opt` strings into configured analyzers, each
//! of which reports itself as JSON.

pub mod bytedmd;
pub mod dally;
pub mod diff;
pub mod dmd;
pub mod energy;
pub mod engine;
pub mod fenwick;
pub mod field;
pub mod options;
pub mod reuse;
pub mod row;
pub mod stack;
pub mod text;

pub use bytedmd::{ByteDmd, ByteDmdReport};
pub use dally::DallyReport;
pub use dmd::{Dmd, DmdReport};
pub use energy::{Energy, EnergyOptions, EnergyReport};
pub use field::{Field, Row, Values};
pub use options::{
    ArdOptions, ByteDmdOptions, ColdPolicy, DmdOptions, Granularity, OptionError, Price, Pricing, Recency, StackOptions,
};
pub use reuse::{ArdReport, Cold, Reuse, ReuseKind};
pub use row::{AttrRow, Col};
pub use stack::{LruReport, LruStack};

use crate::trace::Tracer;
use serde_json::Value;

/// A metric name of the spec: one variant per name.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Metric {
    /// Clock distance since the buffer's last write.
    ArdWrite,
    /// Clock distance since the buffer's last access.
    ArdAccess,
    /// Inclusive LRU stack distance: histogram and miss-ratio curve.
    LruStack,
    /// Σ √d over the LRU stack distances.
    Dmd,
    /// ByteDMD v2: ⌈√⌉ per byte of depth in a liveness-compacted stack.
    ByteDmdV2,
    /// Cache-tier energy in pJ.
    EnergyPj,
    /// The placement cost model: ⌈√address⌉ per element read (spec §6b).
    Dally,
}

impl Metric {
    /// Every metric, in spec order.
    pub const ALL: [Metric; 7] = [
        Metric::ArdWrite,
        Metric::ArdAccess,
        Metric::LruStack,
        Metric::Dmd,
        Metric::ByteDmdV2,
        Metric::EnergyPj,
        Metric::Dally,
    ];

    /// The stable name.
    pub fn name(self) -> &'static str {
        match self {
            Metric::ArdWrite => "ard_write",
            Metric::ArdAccess => "ard_access",
            Metric::LruStack => "lru_stack",
            Metric::Dmd => "dmd",
            Metric::ByteDmdV2 => "bytedmd_v2",
            Metric::EnergyPj => "energy_pj",
            Metric::Dally => "dally",
        }
    }

    /// Parses a stable name.
    pub fn from_name(s: &str) -> Option<Metric> {
        Metric::ALL.into_iter().find(|m| m.name() == s)
    }

    /// The option keys this metric accepts.
    pub fn keys(self) -> &'static [&'static str] {
        match self {
            Metric::ArdWrite | Metric::ArdAccess => ArdOptions::KEYS,
            Metric::LruStack => StackOptions::KEYS,
            Metric::Dmd => DmdOptions::KEYS,
            Metric::ByteDmdV2 => ByteDmdOptions::KEYS,
            Metric::EnergyPj => options::EnergyArgs::KEYS,
            Metric::Dally => dally::DallyOptions::KEYS,
        }
    }

    /// Parses one `--metric` value: a name, or `all` (`None`).
    pub fn parse_one(name: &str) -> Result<Option<Metric>, OptionError> {
        let name = name.trim();
        if name == "all" {
            return Ok(None);
        }
        Metric::from_name(name).map(Some).ok_or_else(|| unknown_metric(name))
    }

    /// The metrics a list of `parse_one` values selects, in order, `all`
    /// expanded, duplicates dropped.
    pub fn expand(items: &[Option<Metric>]) -> Vec<Metric> {
        let mut out: Vec<Metric> = Vec::new();
        for item in items {
            let add = match item {
                None => &Metric::ALL[..],
                Some(m) => std::slice::from_ref(m),
            };
            for m in add {
                if !out.contains(m) {
                    out.push(*m);
                }
            }
        }
        out
    }

    /// Parses `--metric` values: names, comma lists, or `all`; duplicates dropped.
    pub fn parse_list<S: AsRef<str>>(items: &[S]) -> Result<Vec<Metric>, OptionError> {
        let mut parsed = Vec::new();
        for item in items {
            for name in item.as_ref().split(',').map(str::trim).filter(|s| !s.is_empty()) {
                parsed.push(Metric::parse_one(name)?);
            }
        }
        Ok(Metric::expand(&parsed))
    }
}

fn unknown_metric(name: &str) -> OptionError {
    let names: Vec<&str> = Metric::ALL.iter().map(|m| m.name()).collect();
    OptionError(format!("unknown metric `{name}` (known: {}, all)", names.join(", ")))
}

/// A metric with its validated options.
#[derive(Clone, Debug, PartialEq)]
pub enum MetricOptions {
    /// `ard_write` or `ard_access`.
    Ard(ReuseKind, ArdOptions),
    /// `lru_stack`.
    Stack(StackOptions),
    /// `dmd`.
    Dmd(DmdOptions),
    /// `bytedmd_v2`.
    ByteDmd(ByteDmdOptions),
    /// `energy_pj`.
    Energy(Box<EnergyOptions>),
    /// `dally`.
    Dally(dally::DallyOptions),
}

impl MetricOptions {
    /// Parses one metric's `KEY=VALUE` pairs (keys unqualified); `energy_config`
    /// is the text of a TOML file with an `[energy]` table.
    pub fn parse(m: Metric, pairs: &[(&str, &str)], energy_config: Option<&str>) -> Result<MetricOptions, OptionError> {
        let name = m.name();
        Ok(match m {
            Metric::ArdWrite => MetricOptions::Ard(ReuseKind::Write, ArdOptions::parse(name, true, pairs)?),
            Metric::ArdAccess => MetricOptions::Ard(ReuseKind::Access, ArdOptions::parse(name, false, pairs)?),
            Metric::LruStack => MetricOptions::Stack(StackOptions::parse(name, pairs)?),
            Metric::Dmd => MetricOptions::Dmd(DmdOptions::parse(name, pairs)?),
            Metric::ByteDmdV2 => MetricOptions::ByteDmd(ByteDmdOptions::parse(name, pairs)?),
            Metric::EnergyPj => MetricOptions::Energy(Box::new(EnergyOptions::build(pairs, energy_config)?)),
            Metric::Dally => MetricOptions::Dally(dally::DallyOptions::parse(name, pairs)?),
        })
    }

    /// The metric.
    pub fn metric(&self) -> Metric {
        match self {
            MetricOptions::Ard(ReuseKind::Write, _) => Metric::ArdWrite,
            MetricOptions::Ard(ReuseKind::Access, _) => Metric::ArdAccess,
            MetricOptions::Stack(_) => Metric::LruStack,
            MetricOptions::Dmd(_) => Metric::Dmd,
            MetricOptions::ByteDmd(_) => Metric::ByteDmdV2,
            MetricOptions::Energy(_) => Metric::EnergyPj,
            MetricOptions::Dally(_) => Metric::Dally,
        }
    }

    /// A fresh analyzer that also keeps its event log (clock metrics only).
    pub fn build_logged(&self, events: bool) -> Box<dyn Analyzer> {
        match self {
            MetricOptions::Ard(kind, o) => {
                let cold = if o.cold == ColdPolicy::MinusOne {
                    Cold::MinusOne
                } else {
                    Cold::Skip
                };
                Box::new(Reuse::new(*kind, cold).with_events(events))
            }
            _ => self.build(),
        }
    }

    /// A fresh analyzer with these options.
    pub fn build(&self) -> Box<dyn Analyzer> {
        match self {
            MetricOptions::Ard(kind, o) => {
                let cold = if o.cold == ColdPolicy::MinusOne {
                    Cold::MinusOne
                } else {
                    Cold::Skip
                };
                Box::new(Reuse::new(*kind, cold))
            }
            MetricOptions::Stack(o) => Box::new(LruStack::new(*o)),
            MetricOptions::Dmd(o) => Box::new(Dmd::new(*o)),
            MetricOptions::ByteDmd(o) => Box::new(ByteDmd::new(*o)),
            MetricOptions::Energy(o) => Box::new(Energy::new((**o).clone())),
            MetricOptions::Dally(o) => Box::new(dally::Dally::new(*o)),
        }
    }
}

/// Resolves `--opt` strings for the selected metrics. `KEY=VALUE` applies to every
/// selected metric that has `KEY` (an error if none has it); `METRIC.KEY=VALUE`
/// applies to that metric only (an error if it is not selected).
pub fn resolve<S: AsRef<str>>(
    metrics: &[Metric],
    opts: &[S],
    energy_config: Option<&str>,
) -> Result<Vec<MetricOptions>, OptionError> {
    let mut per: Vec<Vec<(&str, &str)>> = vec![Vec::new(); metrics.len()];
    for o in opts {
        let (m, k, v) = options::split_opt(o.as_ref())?;
        match m {
            Some(mname) => {
                let Some(target) = Metric::from_name(mname) else {
                    return Err(unknown_metric(mname));
                };
                let Some(i) = metrics.iter().position(|x| *x == target) else {
                    return Err(OptionError(format!(
                        "option `{}` names {mname}, which is not selected",
                        o.as_ref()
                    )));
                };
                if let Some(p) = per.get_mut(i) {
                    p.push((k, v));
                }
            }
            None => {
                let mut hit = false;
                for (i, m) in metrics.iter().enumerate() {
                    if m.keys().contains(&k)
                        && let Some(p) = per.get_mut(i)
                    {
                        p.push((k, v));
                        hit = true;
                    }
                }
                if !hit {
                    let mut known: Vec<&str> = metrics.iter().flat_map(|m| m.keys().iter().copied()).collect();
                    known.sort_unstable();
                    known.dedup();
                    let sel: Vec<&str> = metrics.iter().map(|m| m.name()).collect();
                    return Err(OptionError(format!(
                        "unknown option `{k}` for {} (known: {})",
                        sel.join(", "),
                        known.join(", ")
                    )));
                }
            }
        }
    }
    metrics
        .iter()
        .zip(&per)
        .map(|(m, p)| MetricOptions::parse(*m, p, energy_config))
        .collect()
}

/// Builds configured analyzers from `--metric` and `--opt` strings.
pub fn select<S: AsRef<str>, T: AsRef<str>>(
    metrics: &[S],
    opts: &[T],
    energy_config: Option<&str>,
) -> Result<Vec<Box<dyn Analyzer>>, OptionError> {
    let ms = Metric::parse_list(metrics)?;
    Ok(resolve(&ms, opts, energy_config)?
        .iter()
        .map(MetricOptions::build)
        .collect())
}

/// An analyzer: a tracer that names its metric and reports itself as JSON.
pub trait Analyzer: Tracer {
    /// The metric it computes.
    fn metric(&self) -> Metric;
    /// Its report as JSON (the keys of `docs/metrics.md` section 7).
    fn report_json(&self) -> Value;
    /// Upcast, so a list of analyzers can feed a `trace::Tee`.
    fn as_tracer(&mut self) -> &mut dyn Tracer;
    /// The report's typed values.
    fn values(&self) -> Box<dyn Values>;
    /// A headline value (`None` for another metric's field, or a value that is
    /// not finite — the JSON form shows those as null).
    fn value(&self, f: Field) -> Option<f64> {
        self.values().value(f).filter(|x| x.is_finite())
    }
    /// Its report as text for people.
    fn text(&self, program: &str) -> String;
    /// Bounds what the analyzer keeps per event to `bytes` (only `bytedmd_v2`,
    /// which keeps the events for its backward liveness pass, and `--events`
    /// logs keep anything per event; the others stream).
    fn limit_memory(&mut self, _bytes: u64) {}
    /// Whether it keeps something per event (so `limit_memory` matters).
    fn keeps_events(&self) -> bool {
        false
    }
    /// Why the analyzer could not score the trace within that bound, if so.
    fn over_budget(&self) -> Option<String> {
        None
    }
}

fn to_json<T: serde::Serialize>(r: &T) -> Value {
    // Reports hold only strings, numbers, options and vectors: serializing them
    // cannot fail, and Null would only appear if that ever changed.
    serde_json::to_value(r).unwrap_or(Value::Null)
}

impl Analyzer for Reuse {
    fn text(&self, program: &str) -> String {
        text::ard(self.metric().name(), &self.report(), program)
    }
    fn metric(&self) -> Metric {
        match self.kind() {
            ReuseKind::Write => Metric::ArdWrite,
            ReuseKind::Access => Metric::ArdAccess,
        }
    }
    fn report_json(&self) -> Value {
        to_json(&self.report())
    }
    fn as_tracer(&mut self) -> &mut dyn Tracer {
        self
    }
    fn values(&self) -> Box<dyn Values> {
        Box::new(self.report())
    }
    fn limit_memory(&mut self, bytes: u64) {
        self.set_max_log(bytes / reuse::LOG_ROW_BYTES);
    }
    fn keeps_events(&self) -> bool {
        self.keeps_log()
    }
    fn over_budget(&self) -> Option<String> {
        self.log_dropped().map(|rows| {
            format!(
                "--events keeps one row per access; this trace has more than {rows} rows, over the memory budget (--max-memory): replay fewer steps or drop --events"
            )
        })
    }
}

/// The stack-family analyzers report through their own `report()`.
macro_rules! analyzer {
    ($($ty:ty => $metric:expr, $text:path);* $(;)?) => {$(
        impl Analyzer for $ty {
            fn text(&self, program: &str) -> String {
                $text(&self.report(), program)
            }
            fn metric(&self) -> Metric {
                $metric
            }
            fn report_json(&self) -> Value {
                to_json(&self.report())
            }
            fn as_tracer(&mut self) -> &mut dyn Tracer {
                self
            }
            fn values(&self) -> Box<dyn Values> {
                Box::new(self.report())
            }
        }
    )*};
}

analyzer!(
    LruStack => Metric::LruStack, text::lru;
    Dmd => Metric::Dmd, text::dmd;
    Energy => Metric::EnergyPj, text::energy;
);

impl Analyzer for ByteDmd {
    fn text(&self, program: &str) -> String {
        text::bytedmd(&self.report(), program)
    }
    fn metric(&self) -> Metric {
        Metric::ByteDmdV2
    }
    fn report_json(&self) -> Value {
        to_json(&self.report())
    }
    fn as_tracer(&mut self) -> &mut dyn Tracer {
        self
    }
    fn values(&self) -> Box<dyn Values> {
        Box::new(self.report())
    }
    fn limit_memory(&mut self, bytes: u64) {
        self.set_max_events(bytes / bytedmd::BYTES_PER_EVENT);
    }
    fn keeps_events(&self) -> bool {
        true
    }
    fn over_budget(&self) -> Option<String> {
        self.dropped().map(|(kept, bytes)| {
            format!(
                "bytedmd_v2 keeps every event of a trace for its backward liveness pass; this trace has more than {kept} events, over {bytes} bytes of the memory budget (--max-memory): replay fewer steps, raise --max-memory, or score the other metrics"
            )
        })
    }
}
