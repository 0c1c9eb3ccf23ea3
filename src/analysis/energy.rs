//! `energy_pj`: a fully associative, inclusive LRU cache hierarchy applied to the
//! `lru_stack` distances (`move`, reads priced), in bytes (metrics spec, section 6).
//!
//! A priced unit at inclusive byte depth `D` is served by the first tier with
//! `D ≤ capacity` (the last tier is unbounded) and costs
//! `⌈bytes / word_bytes⌉ × pJ/word`. Per-tier energy is `words × pJ/word`, one
//! multiplication per tier, so it does not depend on summation order; buffer and
//! op rows are computed the same way and sum to the total up to `f64` rounding.
//! Presets are built in (`horowitz45` default, `dally_word`, `sqrt_continuous`);
//! a TOML `[energy]` table overrides them, and every error names its line.
//! Figures are 45 nm-era estimates, not any specific accelerator's energy.

use super::engine::{Attr, Engine, Sink, Units, buf_name, buf_size, op_ident};
use super::options::{ColdPolicy, Granularity, OptionError, Price, Pricing, Recency, pick};
use super::row::{AttrRow, cols};
use crate::ir::Mode;
use crate::trace::{Event, TraceHeader, Tracer};
use serde::{Deserialize, Serialize};
use std::ops::Range;

/// One cache tier.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Tier {
    /// Tier name (`reg`, `l1`, …).
    pub name: String,
    /// Inclusive capacity in bytes; `None` is unbounded.
    pub capacity_bytes: Option<u64>,
    /// Energy of one word served by this tier (for `sqrt_continuous`: α in pJ/√byte).
    pub pj_per_word: f64,
}

/// The energy model: preset, node, word size and tiers.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct EnergyModel {
    /// Preset the model started from.
    pub preset: String,
    /// Technology node label.
    pub node: String,
    /// Bytes per word.
    pub word_bytes: u64,
    /// Whether cost is `α·√D` per word (`sqrt_continuous`) instead of tiered.
    pub continuous: bool,
    /// Tiers by increasing capacity, the last unbounded.
    pub tiers: Vec<Tier>,
}

fn tier(name: &str, cap: Option<u64>, pj: f64) -> Tier {
    Tier {
        name: name.to_string(),
        capacity_bytes: cap,
        pj_per_word: pj,
    }
}

/// A preset's tiers; `dally_word` has no capacities (`Some(None)` entries are
/// unknown capacities the config must give), marked by `u64::MAX` here.
fn preset(name: &str) -> Option<EnergyModel> {
    const UNKNOWN: Option<u64> = Some(u64::MAX);
    let m = |node: &str, continuous, tiers| EnergyModel {
        preset: name.to_string(),
        node: node.to_string(),
        word_bytes: 4,
        continuous,
        tiers,
    };
    match name {
        "horowitz45" => Some(m(
            "45nm",
            false,
            vec![
                tier("reg", Some(256), 1.0),
                tier("l1", Some(32 * 1024), 10.0),
                tier("l2", Some(1024 * 1024), 50.0),
                tier("dram", None, 640.0),
            ],
        )),
        "dally_word" => Some(m(
            "unspecified",
            false,
            vec![
                tier("l1", UNKNOWN, 5.0),
                tier("llc", UNKNOWN, 50.0),
                tier("dram", None, 640.0),
            ],
        )),
        "sqrt_continuous" => Some(m("45nm", true, vec![tier("sqrt", None, 0.0552)])),
        _ => None,
    }
}

/// Names of the built-in presets.
pub const PRESETS: &[&str] = &["horowitz45", "dally_word", "sqrt_continuous"];

/// Effective `energy_pj` options.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct EnergyOptions {
    /// `element` (default) or `buffer`.
    pub granularity: Granularity,
    /// Always `move`.
    pub recency: Recency,
    /// Always `reads` (writes are charged only through `write_tier`).
    pub price: Price,
    /// `sequential` (default) or `simultaneous`.
    pub pricing: Pricing,
    /// `dram` (default) or `preload`.
    pub cold: ColdPolicy,
    /// Bytes per element (default 4).
    pub bytes_per_element: u64,
    /// Tier charged per written word, or `none`.
    pub write_tier: String,
    /// Preset name.
    pub preset: String,
    /// The model in force.
    #[serde(skip)]
    pub model: EnergyModel,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TomlFile {
    energy: Option<TomlEnergy>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TomlEnergy {
    preset: Option<toml::Spanned<String>>,
    node: Option<String>,
    word_bytes: Option<toml::Spanned<i64>>,
    granularity: Option<toml::Spanned<String>>,
    cold: Option<toml::Spanned<String>>,
    write_tier: Option<toml::Spanned<String>>,
    bytes_per_element: Option<toml::Spanned<i64>>,
    pricing: Option<toml::Spanned<String>>,
    tiers: Option<Vec<toml::Spanned<TomlTier>>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TomlTier {
    name: toml::Spanned<String>,
    capacity_bytes: Option<toml::Spanned<toml::Value>>,
    pj_per_word: Option<toml::Spanned<f64>>,
}

fn line_of(text: &str, span: &Range<usize>) -> usize {
    text.get(..span.start).map_or(1, |t| t.matches('\n').count() + 1)
}

fn at(text: &str, span: &Range<usize>, msg: impl std::fmt::Display) -> OptionError {
    OptionError(format!("energy config line {}: {msg}", line_of(text, span)))
}

const METRIC: &str = "energy_pj";

struct Draft {
    o: EnergyOptions,
    /// Line of each tier in the TOML file, for error messages.
    tier_lines: Vec<Option<usize>>,
    write_tier_line: Option<usize>,
}

impl EnergyOptions {
    /// Builds the options: the preset (from `--opt preset`, else the file, else
    /// `horowitz45`), then the TOML `[energy]` table, then the `--opt` pairs.
    pub fn build(pairs: &[(&str, &str)], config: Option<&str>) -> Result<EnergyOptions, OptionError> {
        let file: Option<TomlEnergy> = match config {
            None => None,
            Some(text) => {
                let f: TomlFile = toml::from_str(text).map_err(|e| match e.span() {
                    Some(s) => at(text, &s, e.message()),
                    None => OptionError(format!("energy config: {}", e.message())),
                })?;
                f.energy
            }
        };
        let text = config.unwrap_or("");
        let opt_preset = pairs.iter().rev().find(|(k, _)| *k == "preset").map(|(_, v)| *v);
        let preset_name = match (opt_preset, file.as_ref().and_then(|f| f.preset.as_ref())) {
            (Some(p), _) => p.to_string(),
            (None, Some(p)) => {
                if preset(p.get_ref()).is_none() {
                    return Err(at(
                        text,
                        &p.span(),
                        format!("unknown preset `{}` (known: {})", p.get_ref(), PRESETS.join(", ")),
                    ));
                }
                p.get_ref().clone()
            }
            (None, None) => "horowitz45".to_string(),
        };
        let Some(model) = preset(&preset_name) else {
            return Err(OptionError(format!(
                "bad value `{preset_name}` for option `preset` of {METRIC} (allowed: {})",
                PRESETS.join(", ")
            )));
        };
        let n_tiers = model.tiers.len();
        let mut d = Draft {
            o: EnergyOptions {
                granularity: Granularity::Element,
                recency: Recency::Move,
                price: Price::Reads,
                pricing: Pricing::Sequential,
                cold: ColdPolicy::Dram,
                bytes_per_element: 4,
                write_tier: "none".to_string(),
                preset: preset_name,
                model,
            },
            tier_lines: vec![None; n_tiers],
            write_tier_line: None,
        };
        if let Some(f) = file {
            apply_toml(&mut d, f, text)?;
        }
        for &(k, v) in pairs {
            apply_pair(&mut d, k, v)?;
        }
        validate(&d)?;
        Ok(d.o)
    }

    /// The defaults (`horowitz45`).
    pub fn defaults() -> Result<EnergyOptions, OptionError> {
        EnergyOptions::build(&[], None)
    }
}

/// One `--opt KEY=VALUE` of `energy_pj` (`preset` is read before the rest).
fn apply_pair(d: &mut Draft, k: &str, v: &str) -> Result<(), OptionError> {
    match k {
        "granularity" => pick(
            METRIC,
            k,
            v,
            &[Granularity::Element, Granularity::Buffer],
            Granularity::from_name,
            Granularity::name,
        )
        .map(|x| d.o.granularity = x),
        "recency" => pick(METRIC, k, v, &[Recency::Move], Recency::from_name, Recency::name).map(|x| d.o.recency = x),
        "price" => pick(METRIC, k, v, &[Price::Reads], Price::from_name, Price::name).map(|x| d.o.price = x),
        "pricing" => pick(METRIC, k, v, Pricing::ALL, Pricing::from_name, Pricing::name).map(|x| d.o.pricing = x),
        "cold" => pick(
            METRIC,
            k,
            v,
            &[ColdPolicy::Dram, ColdPolicy::Preload],
            ColdPolicy::from_name,
            ColdPolicy::name,
        )
        .map(|x| d.o.cold = x),
        "bytes_per_element" => match v.parse::<u64>() {
            Ok(x) if (1..=1 << 20).contains(&x) => {
                d.o.bytes_per_element = x;
                Ok(())
            }
            _ => Err(OptionError(format!(
                "bad value `{v}` for option `bytes_per_element` of {METRIC} (allowed: an integer from 1 to 1048576)"
            ))),
        },
        "write_tier" => {
            d.o.write_tier = v.to_string();
            d.write_tier_line = None;
            Ok(())
        }
        "preset" => Ok(()),
        _ => Err(OptionError(format!(
            "unknown option `{k}` for {METRIC} (known: {})",
            super::options::EnergyArgs::KEYS.join(", ")
        ))),
    }
}

fn apply_toml(d: &mut Draft, f: TomlEnergy, text: &str) -> Result<(), OptionError> {
    if let Some(n) = f.node {
        d.o.model.node = n;
    }
    if let Some(w) = f.word_bytes {
        match u64::try_from(*w.get_ref()) {
            Ok(x) if x >= 1 => d.o.model.word_bytes = x,
            _ => return Err(at(text, &w.span(), "word_bytes must be an integer ≥ 1")),
        }
    }
    if let Some(b) = f.bytes_per_element {
        match u64::try_from(*b.get_ref()) {
            Ok(x) if (1..=1 << 20).contains(&x) => d.o.bytes_per_element = x,
            _ => {
                return Err(at(
                    text,
                    &b.span(),
                    "bytes_per_element must be an integer from 1 to 1048576",
                ));
            }
        }
    }
    if let Some(g) = f.granularity {
        d.o.granularity = pick(
            METRIC,
            "granularity",
            g.get_ref(),
            &[Granularity::Element, Granularity::Buffer],
            Granularity::from_name,
            Granularity::name,
        )
        .map_err(|m| at(text, &g.span(), m.0))?;
    }
    if let Some(c) = f.cold {
        d.o.cold = pick(
            METRIC,
            "cold",
            c.get_ref(),
            &[ColdPolicy::Dram, ColdPolicy::Preload],
            ColdPolicy::from_name,
            ColdPolicy::name,
        )
        .map_err(|m| at(text, &c.span(), m.0))?;
    }
    if let Some(p) = f.pricing {
        d.o.pricing = pick(
            METRIC,
            "pricing",
            p.get_ref(),
            Pricing::ALL,
            Pricing::from_name,
            Pricing::name,
        )
        .map_err(|m| at(text, &p.span(), m.0))?;
    }
    if let Some(w) = f.write_tier {
        d.write_tier_line = Some(line_of(text, &w.span()));
        d.o.write_tier = w.into_inner();
    }
    if let Some(tiers) = f.tiers {
        let old = std::mem::take(&mut d.o.model.tiers);
        d.tier_lines.clear();
        for t in tiers {
            let span = t.span();
            let tier = toml_tier(t.into_inner(), &old, text, &span)?;
            d.o.model.tiers.push(tier);
            d.tier_lines.push(Some(line_of(text, &span)));
        }
    }
    Ok(())
}

/// One `[[energy.tiers]]` entry; a tier named like one of the preset's inherits
/// its capacity and price unless given.
fn toml_tier(t: TomlTier, old: &[Tier], text: &str, span: &Range<usize>) -> Result<Tier, OptionError> {
    let base = old.iter().find(|o| o.name == *t.name.get_ref());
    let capacity = match &t.capacity_bytes {
        None => match base.map(|b| b.capacity_bytes) {
            Some(c) => c,
            None => {
                return Err(at(
                    text,
                    span,
                    format!("tier `{}` needs capacity_bytes", t.name.get_ref()),
                ));
            }
        },
        Some(c) => match c.get_ref() {
            toml::Value::Integer(i) if *i >= 1 => Some(*i as u64),
            toml::Value::String(s) if s == "unbounded" => None,
            _ => {
                return Err(at(
                    text,
                    &c.span(),
                    "capacity_bytes must be a positive integer or \"unbounded\"",
                ));
            }
        },
    };
    let pj = match &t.pj_per_word {
        Some(p) => {
            let v = *p.get_ref();
            if !(v.is_finite() && v >= 0.0) {
                return Err(at(text, &p.span(), "pj_per_word must be finite and ≥ 0"));
            }
            v
        }
        None => match base {
            Some(b) => b.pj_per_word,
            None => {
                return Err(at(text, span, format!("tier `{}` needs pj_per_word", t.name.get_ref())));
            }
        },
    };
    Ok(Tier {
        name: t.name.into_inner(),
        capacity_bytes: capacity,
        pj_per_word: pj,
    })
}

fn validate(d: &Draft) -> Result<(), OptionError> {
    let err = |line: Option<usize>, msg: String| {
        OptionError(match line {
            Some(l) => format!("energy config line {l}: {msg}"),
            None => format!("{METRIC}: {msg}"),
        })
    };
    let tiers = &d.o.model.tiers;
    if tiers.is_empty() {
        return Err(err(None, "the model has no tiers".to_string()));
    }
    let mut prev: Option<u64> = None;
    for (i, t) in tiers.iter().enumerate() {
        let line = d.tier_lines.get(i).copied().flatten();
        let last = i + 1 == tiers.len();
        match t.capacity_bytes {
            Some(u64::MAX) => {
                return Err(err(
                    line,
                    format!(
                        "preset {} gives tier `{}` no capacity: set capacity_bytes in [[energy.tiers]]",
                        d.o.preset, t.name
                    ),
                ));
            }
            Some(c) if last => {
                return Err(err(
                    line,
                    format!("the last tier `{}` must be \"unbounded\", not {c}", t.name),
                ));
            }
            None if !last => {
                return Err(err(
                    line,
                    format!("only the last tier may be unbounded (tier `{}`)", t.name),
                ));
            }
            Some(c) => {
                if prev.is_some_and(|p| c <= p) {
                    return Err(err(
                        line,
                        format!("capacities must strictly increase (tier `{}`)", t.name),
                    ));
                }
                prev = Some(c);
            }
            None => {}
        }
        if !(t.pj_per_word.is_finite() && t.pj_per_word >= 0.0) {
            return Err(err(line, format!("tier `{}`: cost must be finite and ≥ 0", t.name)));
        }
        if tiers.iter().take(i).any(|o| o.name == t.name) {
            return Err(err(line, format!("duplicate tier `{}`", t.name)));
        }
    }
    if d.o.write_tier != "none" {
        if d.o.model.continuous {
            return Err(err(
                d.write_tier_line,
                "write_tier is not supported by sqrt_continuous".to_string(),
            ));
        }
        if !tiers.iter().any(|t| t.name == d.o.write_tier) {
            let names: Vec<&str> = tiers.iter().map(|t| t.name.as_str()).collect();
            return Err(err(
                d.write_tier_line,
                format!(
                    "bad value `{}` for option `write_tier` (allowed: none, {})",
                    d.o.write_tier,
                    names.join(", ")
                ),
            ));
        }
    }
    Ok(())
}

#[derive(Clone, Debug, Default)]
struct EAcc {
    reads: u64,
    writes: u64,
    /// Per tier: units, words.
    units: Vec<u64>,
    words: Vec<u64>,
    /// Continuous model energy, summed in trace order.
    pj_cont: f64,
    read_words: u64,
    write_words: u64,
}

impl EAcc {
    fn add(&mut self, t: usize, units: u64, words: u64) {
        if self.units.len() <= t {
            self.units.resize(t + 1, 0);
            self.words.resize(t + 1, 0);
        }
        if let (Some(u), Some(w)) = (self.units.get_mut(t), self.words.get_mut(t)) {
            *u += units;
            *w += words;
        }
    }

    fn pj(&self, m: &EnergyModel) -> f64 {
        if m.continuous {
            return self.pj_cont;
        }
        m.tiers
            .iter()
            .zip(&self.words)
            .map(|(t, w)| *w as f64 * t.pj_per_word)
            .sum()
    }
}

struct ESink<'a> {
    model: &'a EnergyModel,
    bpe: u64,
    buffer: bool,
    write_tier: Option<usize>,
    cold: &'a mut u64,
    accesses: &'a mut u64,
    total: &'a mut EAcc,
    attr: &'a mut Attr<EAcc>,
}

impl ESink<'_> {
    fn charge(&mut self, ev: &Event, tier: usize, units: u64, words: u64, pj: f64, write: bool) {
        for a in [&mut *self.total, self.attr.buf(ev.buf)] {
            a.add(tier, units, words);
            a.pj_cont += pj;
            if write {
                a.write_words += words
            } else {
                a.read_words += words
            }
        }
        let a = self.attr.op(ev.op);
        a.add(tier, units, words);
        a.pj_cont += pj;
        if write {
            a.write_words += words
        } else {
            a.read_words += words
        }
    }
}

impl Sink for ESink<'_> {
    fn event(&mut self, ev: &Event) {
        self.attr.touch(ev.buf);
        let r = ev.mode == Mode::Read;
        let (rd, wr) = (u64::from(r), u64::from(!r));
        for a in [&mut *self.total, self.attr.buf(ev.buf)] {
            a.reads += rd;
            a.writes += wr;
        }
        let o = self.attr.op(ev.op);
        o.reads += rd;
        o.writes += wr;
        if !r && let Some(t) = self.write_tier {
            let wb = self.model.word_bytes.max(1);
            // Element writes are charged per element, a buffer write as one block;
            // the same unit rule as reads.
            let words = ev.len.saturating_mul(self.bpe).div_ceil(wb);
            let per_elem = self.bpe.div_ceil(wb).saturating_mul(ev.len);
            let (units, words) = if self.buffer { (1, words) } else { (ev.len, per_elem) };
            self.charge(ev, t, units, words, 0.0, true);
        }
    }

    fn price(&mut self, ev: &Event, d: Option<u64>, cold: bool, count: u64, w: u64) {
        *self.accesses += count;
        if cold {
            *self.cold += count;
        }
        let words_each = w.div_ceil(self.model.word_bytes.max(1));
        let last = self.model.tiers.len().saturating_sub(1);
        if self.model.continuous {
            let alpha = self.model.tiers.first().map_or(0.0, |t| t.pj_per_word);
            let dd = d.unwrap_or(0) as f64;
            let mut pj = 0.0;
            for _ in 0..count {
                pj += words_each as f64 * alpha * dd.sqrt();
            }
            self.charge(ev, 0, count, words_each * count, pj, false);
            return;
        }
        let tier = match d {
            Some(dd) if !cold => self
                .model
                .tiers
                .partition_point(|t| t.capacity_bytes.is_some_and(|c| c < dd))
                .min(last),
            _ => last,
        };
        self.charge(ev, tier, count, words_each * count, 0.0, false);
    }
}

/// One tier's line in the report.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct TierRow {
    /// Tier name.
    pub name: String,
    /// Capacity in bytes (`null`: unbounded).
    pub capacity_bytes: Option<u64>,
    /// pJ per word (α per √byte for `sqrt_continuous`).
    pub pj_per_word: f64,
    /// Units served (reads, plus writes when `write_tier` names it).
    pub accesses: u64,
    /// Words served.
    pub words: u64,
    /// Energy.
    pub pj: f64,
}

/// The `energy_pj` report.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct EnergyReport {
    /// Effective options.
    pub options: EnergyOptions,
    /// Preset the model started from.
    pub preset: String,
    /// Technology node label.
    pub node: String,
    /// Bytes per word.
    pub word_bytes: u64,
    /// Always printed with the figures.
    pub note: &'static str,
    /// Steps in the trace.
    pub steps: u32,
    /// Priced read units.
    pub accesses: u64,
    /// Cold read units.
    pub cold: u64,
    /// Σ over tiers.
    pub total_pj: f64,
    /// Energy of reads.
    pub reads_pj: f64,
    /// Energy of writes (`write_tier`).
    pub writes_pj: f64,
    /// Compute energy: `null`, since the trace carries no operation counts.
    pub compute_pj: Option<f64>,
    /// `total_pj / steps`.
    pub per_step_pj: f64,
    /// The tier table with what each served.
    pub tiers: Vec<TierRow>,
    /// Rows in order of first access.
    pub buffers: Vec<AttrRow>,
    /// Rows in op-table order (ops with no events omitted), start row last.
    pub ops: Vec<AttrRow>,
}

/// The `energy_pj` analyzer.
#[derive(Clone, Debug)]
pub struct Energy {
    options: EnergyOptions,
    header: TraceHeader,
    engine: Engine,
    cold: u64,
    accesses: u64,
    total: EAcc,
    attr: Attr<EAcc>,
}

impl Energy {
    /// A fresh analyzer.
    pub fn new(options: EnergyOptions) -> Energy {
        let b = options.bytes_per_element;
        let units = match options.granularity {
            Granularity::Buffer => Units::Buffer { mul: b },
            _ => Units::Element { w: b },
        };
        let engine = Engine::new(Recency::Move, Price::Reads, options.pricing, options.cold, units);
        Energy {
            options,
            header: TraceHeader::default(),
            engine,
            cold: 0,
            accesses: 0,
            total: EAcc::default(),
            attr: Attr::default(),
        }
    }

    fn with_sink(&mut self, f: impl FnOnce(&mut Engine, &mut dyn Sink)) {
        let m = &self.options.model;
        let write_tier = m.tiers.iter().position(|t| t.name == self.options.write_tier);
        let mut sink = ESink {
            model: m,
            bpe: self.options.bytes_per_element,
            buffer: self.options.granularity == Granularity::Buffer,
            write_tier,
            cold: &mut self.cold,
            accesses: &mut self.accesses,
            total: &mut self.total,
            attr: &mut self.attr,
        };
        f(&mut self.engine, &mut sink);
    }

    /// The report so far.
    pub fn report(&self) -> EnergyReport {
        let m = &self.options.model;
        let h = &self.header;
        let steps = self.engine.steps;
        let total_pj = self.total.pj(m);
        let (reads_pj, writes_pj) = if m.continuous {
            (total_pj, 0.0)
        } else {
            let wt = m.tiers.iter().find(|t| t.name == self.options.write_tier);
            let w = wt.map_or(0.0, |t| self.total.write_words as f64 * t.pj_per_word);
            (total_pj - w, w)
        };
        let n_ops = self.attr.ops.len();
        let row = |name: String, index, size, a: &EAcc, cols| AttrRow {
            name,
            index,
            size,
            reads: a.reads,
            writes: a.writes,
            words: a.read_words + a.write_words,
            pj: a.pj(m),
            cols,
            ..AttrRow::default()
        };
        EnergyReport {
            options: self.options.clone(),
            preset: self.options.preset.clone(),
            node: m.node.clone(),
            word_bytes: m.word_bytes,
            note: "estimate from the named preset and node; not a specific accelerator's energy",
            steps,
            accesses: self.accesses,
            cold: self.cold,
            total_pj,
            reads_pj,
            writes_pj,
            compute_pj: None,
            per_step_pj: if steps == 0 { 0.0 } else { total_pj / f64::from(steps) },
            tiers: m
                .tiers
                .iter()
                .enumerate()
                .map(|(i, t)| {
                    let words = self.total.words.get(i).copied().unwrap_or(0);
                    TierRow {
                        name: t.name.clone(),
                        capacity_bytes: t.capacity_bytes,
                        pj_per_word: t.pj_per_word,
                        accesses: self.total.units.get(i).copied().unwrap_or(0),
                        words,
                        pj: if m.continuous {
                            self.total.pj_cont
                        } else {
                            words as f64 * t.pj_per_word
                        },
                    }
                })
                .collect(),
            buffers: self
                .attr
                .order
                .iter()
                .map(|&b| {
                    let a = self.attr.bufs.get(b.idx()).cloned().unwrap_or_default();
                    row(buf_name(h, b), None, buf_size(h, b), &a, cols::ENERGY_BUF)
                })
                .collect(),
            ops: self
                .attr
                .ops
                .iter()
                .enumerate()
                .filter(|(_, a)| a.reads + a.writes > 0)
                .map(|(i, a)| {
                    let (name, index, _) = op_ident(h, i, n_ops);
                    let c = if index.is_some() {
                        cols::ENERGY_OP
                    } else {
                        cols::ENERGY_START
                    };
                    row(name, index, 0, a, c)
                })
                .collect(),
        }
    }
}

impl Tracer for Energy {
    fn begin(&mut self, h: &TraceHeader) {
        self.header = h.clone();
        self.engine.begin(h);
        self.attr.begin(h);
    }

    fn access(&mut self, ev: &Event) {
        self.with_sink(|e, s| e.access(ev, s));
    }

    fn end(&mut self) {
        self.with_sink(|e, s| e.end(s));
    }
}
