//! `sutro report`: one self-contained HTML page (inline SVG and CSS, no script,
//! no network) showing where a step's data movement goes.
//!
//! A [`Snapshot`] gathers everything about one program — one instrumented step
//! scored by `ard_write` (with its event log), `lru_stack` and `energy_pj`, and
//! one training run. [`charts`] draws the five charts of one or two snapshots
//! (before/after side by side), and [`html`] lays out the page: headline
//! figures, the source with per-line cost bars, the charts and, for two
//! snapshots, the delta tables. Nothing here reads a clock or the environment,
//! so the same inputs give the same bytes.

use crate::analysis::text::thousands;
use crate::analysis::{
    ArdReport, Cold, Energy, EnergyOptions, EnergyReport, Field, LruReport, LruStack, Metric, Reuse, ReuseKind,
    StackOptions, Values,
};
use crate::error::Error;
use crate::plot::{self, Marker, PlotError, Timeline, escape};
use crate::session::Session;
use crate::trace::{Tee, TraceHeader};
use crate::train::{EpochStats, RunOptions, TaskConfig};

/// Everything the report shows about one program.
#[derive(Clone, Debug)]
pub struct Snapshot {
    /// `before`, `after`, or empty for a single program.
    pub label: String,
    /// Program name.
    pub name: String,
    /// Hash of the lowered program.
    pub hash: String,
    /// The source text as shown.
    pub source: String,
    /// The trace header (op source lines included).
    pub header: TraceHeader,
    /// `ard_write` of the first step, with its event log.
    pub ard: ArdReport,
    /// `lru_stack` of the first step (default options).
    pub lru: LruReport,
    /// `energy_pj` of the first step (default `horowitz45` model).
    pub energy: EnergyReport,
    /// `dally` of the first step (declaration placement).
    pub dally: crate::analysis::dally::DallyReport,
    /// Per-epoch figures of a training run.
    pub history: Vec<EpochStats>,
    /// 1-based epoch that reached the target accuracy, if any.
    pub solved_epoch: Option<usize>,
}

impl Snapshot {
    /// The typed values of the snapshot's report of `m` (`None`: not measured).
    fn values(&self, m: Metric) -> Option<&dyn Values> {
        Some(match m {
            Metric::ArdWrite => &self.ard,
            Metric::LruStack => &self.lru,
            Metric::EnergyPj => &self.energy,
            Metric::Dally => &self.dally,
            _ => return None,
        })
    }

    fn title(&self) -> String {
        if self.label.is_empty() {
            self.name.clone()
        } else {
            format!("{}: {}", self.label, self.name)
        }
    }
}

/// Scores the first step of a session's program and trains it once.
pub fn snapshot(label: &str, session: &Session, run: &RunOptions) -> Result<Snapshot, Error> {
    let mut ard = Reuse::new(ReuseKind::Write, Cold::MinusOne).with_events(true);
    let mut lru = LruStack::new(StackOptions::default());
    let mut energy = Energy::new(
        EnergyOptions::defaults().map_err(|e| Error::Internal(format!("the default energy model: {}", e.0)))?,
    );
    let mut dally = crate::analysis::dally::Dally::new(crate::analysis::dally::DallyOptions { placement: None });
    {
        let mut tee = Tee(vec![&mut ard, &mut lru, &mut energy, &mut dally]);
        session.trace(1, &mut tee)?;
    }
    let res = session.train(run, None, |_| {})?;
    let header = session.header().clone();
    Ok(Snapshot {
        label: label.to_string(),
        name: header.program.clone(),
        hash: header.hash.clone(),
        source: session.loaded().source.text.clone(),
        header,
        ard: ard.report(),
        lru: lru.report(),
        energy: energy.report(),
        dally: dally.report_now(),
        history: res.history,
        solved_epoch: res.solved_epoch,
    })
}

/// One chart of the page.
#[derive(Clone, Debug, PartialEq)]
pub struct Chart {
    /// Stable id, also the file stem under `--svg-dir`.
    pub id: &'static str,
    /// Title.
    pub title: String,
    /// What the chart shows, in a sentence.
    pub caption: &'static str,
    /// The `<svg>` element.
    pub svg: String,
}

/// Human size of a byte count: `256 B`, `32 KiB`, `1 MiB`.
fn bytes(b: u64) -> String {
    if b >= 1 << 20 && b.is_multiple_of(1 << 20) {
        format!("{} MiB", b >> 20)
    } else if b >= 1 << 10 && b.is_multiple_of(1 << 10) {
        format!("{} KiB", b >> 10)
    } else {
        format!("{b} B")
    }
}

/// Cache tiers (names starting with `l`: l1, l2, llc) of an energy model as
/// capacity markers in elements; registers and DRAM are left out.
pub fn cache_markers<'a>(tiers: impl Iterator<Item = (&'a str, Option<u64>)>, bytes_per_element: u64) -> Vec<Marker> {
    tiers
        .filter_map(|(name, cap)| {
            if !name.starts_with('l') {
                return None;
            }
            let cap = cap.filter(|c| *c != u64::MAX && *c > 0)?;
            Some(Marker {
                label: format!("{} {}", name.to_uppercase(), bytes(cap)),
                elements: (cap / bytes_per_element.max(1)).max(1),
            })
        })
        .collect()
}

/// The cache markers of the default energy model (`horowitz45`), 4-byte elements.
pub fn default_markers() -> Vec<Marker> {
    EnergyOptions::defaults()
        .map(|o| cache_markers(o.model.tiers.iter().map(|t| (t.name.as_str(), t.capacity_bytes)), 4))
        .unwrap_or_default()
}

/// The cache markers of a snapshot's energy model, in its stack's elements.
pub fn markers(s: &Snapshot) -> Vec<Marker> {
    cache_markers(
        s.energy.tiers.iter().map(|t| (t.name.as_str(), t.capacity_bytes)),
        s.lru.options.bytes_per_element,
    )
}

/// The five charts, each with one panel per snapshot.
pub fn charts(snaps: &[Snapshot]) -> Result<Vec<Chart>, PlotError> {
    let titles: Vec<String> = snaps.iter().map(Snapshot::title).collect();
    let label = |i: usize| titles.get(i).map_or("", String::as_str);
    let marks = snaps.first().map(markers).unwrap_or_default();
    let hist: Vec<(&str, &[EpochStats])> = snaps
        .iter()
        .enumerate()
        .map(|(i, s)| (label(i), s.history.as_slice()))
        .collect();
    let bufs: Vec<(&str, &[crate::analysis::AttrRow])> = snaps
        .iter()
        .enumerate()
        .map(|(i, s)| (label(i), s.ard.buffers.as_slice()))
        .collect();
    let stack: Vec<(&str, &[[u64; 2]])> = snaps
        .iter()
        .enumerate()
        .map(|(i, s)| (label(i), s.lru.histogram.as_slice()))
        .collect();
    let mrc: Vec<(&str, &[(u64, f64)])> = snaps
        .iter()
        .enumerate()
        .map(|(i, s)| (label(i), s.lru.mrc.as_slice()))
        .collect();
    let lines: Vec<Timeline> = snaps
        .iter()
        .map(|s| Timeline::from_log(s.ard.events.as_deref().unwrap_or(&[])))
        .collect();
    let tl: Vec<(&str, &Timeline)> = lines.iter().enumerate().map(|(i, t)| (label(i), t)).collect();
    let name = match snaps {
        [b, a] if b.name != a.name => format!("{} vs {}", b.name, a.name),
        _ => snaps.first().map_or_else(String::new, |s| s.name.clone()),
    };
    Ok(vec![
        Chart {
            id: "loss",
            title: format!("{name}: loss and accuracy per epoch"),
            caption: "Mean train and test loss (left axis) and accuracy (right axis) at the end of each epoch of one training run.",
            svg: plot::loss_accuracy(&format!("{name}: loss and accuracy per epoch"), &hist)?,
        },
        Chart {
            id: "buffers",
            title: format!("{name}: reuse distance per buffer (ard_write)"),
            caption: "Clock distance from a buffer's last write to each read of it, in floats moved: the bar is the mean over its reads, the whisker spans the smallest and largest. The label is the mean.",
            svg: plot::buffer_distances(
                &format!("{name}: reuse distance per buffer (ard_write)"),
                "ard_write",
                &bufs,
            )?,
        },
        Chart {
            id: "stack-histogram",
            title: format!("{name}: LRU stack-distance histogram"),
            caption: "How many element accesses find their element at each LRU stack depth (distinct elements touched since its last access). Accesses left of a cache line hit in a cache of that size.",
            svg: plot::stack_histogram(&format!("{name}: LRU stack-distance histogram"), &stack, &marks)?,
        },
        Chart {
            id: "miss-ratio",
            title: format!("{name}: miss-ratio curve"),
            caption: "Fraction of element accesses that miss in a fully associative LRU cache of each capacity; vertical lines are the cache sizes of the energy model (horowitz45).",
            svg: plot::miss_ratio(&format!("{name}: miss-ratio curve"), &mrc, &marks)?,
        },
        Chart {
            id: "timeline",
            title: format!("{name}: op timeline of one step"),
            caption: "Every read and write of one training step on the clock (floats moved); one lane per buffer, in order of first access.",
            svg: plot::timeline(&format!("{name}: op timeline of one step"), &tl)?,
        },
    ])
}

/// Context printed in the page header.
#[derive(Clone, Debug)]
pub struct Page<'a> {
    /// The command line that made the page (shown verbatim).
    pub command: &'a str,
    /// The task configuration.
    pub task: &'a TaskConfig,
    /// Run seed.
    pub seed: u64,
}

const CSS: &str = "body{font-family:system-ui,sans-serif;margin:24px auto;max-width:1500px;padding:0 16px;color:#222}
h1{font-size:1.5em}h2{font-size:1.2em;margin-top:1.6em;border-bottom:1px solid #ccc}
table{border-collapse:collapse;margin:8px 0}td,th{padding:2px 8px;text-align:right}th{background:#f0f0f0}
td.l,th.l{text-align:left}.better{color:#1a7f37}.worse{color:#b42318}
.row{display:flex;gap:24px;flex-wrap:wrap;align-items:flex-start}
.src{font-size:13px}.src td{padding:0 6px;vertical-align:top}.src .ln{color:#888}
.src .code{text-align:left;white-space:pre;font-family:ui-monospace,monospace}
.bar{width:140px}.bar span{display:block;height:11px;background:#1f77b4;margin-top:3px}
figure{margin:16px 0}figure svg{max-width:100%;height:auto;border:1px solid #ddd}
figcaption{font-size:0.9em;color:#555;max-width:900px}.meta{color:#555}";

/// A float for tables: thousands separators and no decimals from 1,000 up.
fn float(v: f64) -> String {
    if v.abs() >= 1000.0 {
        thousands(v.round() as i128)
    } else {
        format!("{v:.2}")
    }
}

enum Val {
    Int(i128),
    Float(f64),
    Text(String),
}

impl Val {
    fn show(&self) -> String {
        match self {
            Val::Int(v) => thousands(*v),
            Val::Float(v) => float(*v),
            Val::Text(t) => t.clone(),
        }
    }
    fn num(&self) -> Option<f64> {
        match self {
            Val::Int(v) => Some(*v as f64),
            Val::Float(v) => Some(*v),
            Val::Text(_) => None,
        }
    }
}

/// `after − before` and its percentage, with a class: lower is better.
fn change(b: Option<f64>, a: Option<f64>, int: bool) -> (String, String, &'static str) {
    let (Some(b), Some(a)) = (b, a) else {
        return ("–".into(), String::new(), "");
    };
    let d = a - b;
    let abs = if int { thousands(d.round() as i128) } else { float(d) };
    let abs = if d > 0.0 { format!("+{abs}") } else { abs };
    let pct = if b != 0.0 {
        format!("{:+.1} %", 100.0 * d / b.abs())
    } else {
        String::new()
    };
    let class = if d < 0.0 {
        "better"
    } else if d > 0.0 {
        "worse"
    } else {
        ""
    };
    (abs, pct, class)
}

/// The page's metric headlines: label, metric, field, and whether the value is
/// an integer (shown with thousands separators).
const HEADLINES: [(&str, Metric, Field, bool); 9] = [
    ("ard_write per read (floats)", Metric::ArdWrite, Field::PerRead, false),
    ("ard_write per float (floats)", Metric::ArdWrite, Field::PerFloat, false),
    ("ard_write Σ s·d", Metric::ArdWrite, Field::SumSd, true),
    ("working set (floats)", Metric::ArdWrite, Field::WorkingSet, true),
    (
        "floats accessed per step",
        Metric::ArdWrite,
        Field::FloatsAccessed,
        true,
    ),
    ("lru_stack Σ d (elements)", Metric::LruStack, Field::SumD, true),
    ("lru_stack cold accesses", Metric::LruStack, Field::Cold, true),
    (
        "energy_pj per step (pJ, horowitz45)",
        Metric::EnergyPj,
        Field::TotalPj,
        false,
    ),
    ("dally per step (Σ ⌈√address⌉)", Metric::Dally, Field::Total, true),
];

fn headline(s: &Snapshot) -> Vec<(&'static str, Val)> {
    let last = s.history.last();
    let mut out: Vec<(&'static str, Val)> = HEADLINES
        .iter()
        .map(|&(label, m, f, int)| {
            let v = match s.values(m).and_then(|r| r.value(f)) {
                None => Val::Text("–".into()),
                Some(v) if int => Val::Int(v.round() as i128),
                Some(v) => Val::Float(v),
            };
            (label, v)
        })
        .collect();
    out.push((
        "epochs to 100 % test accuracy",
        match s.solved_epoch {
            Some(e) => Val::Int(e as i128),
            None => Val::Text(format!("not solved in {}", s.history.len())),
        },
    ));
    out.push((
        "final test accuracy",
        last.map_or(Val::Text("–".into()), |h| Val::Float(h.test_acc)),
    ));
    out
}

fn headline_table(snaps: &[Snapshot]) -> String {
    let heads: Vec<Vec<(&str, Val)>> = snaps.iter().map(headline).collect();
    let mut s = String::from("<table><tr><th class=\"l\">figure</th>");
    for sn in snaps {
        s.push_str(&format!("<th>{}</th>", escape(&sn.title())));
    }
    if snaps.len() == 2 {
        s.push_str("<th>change</th><th>%</th>");
    }
    s.push_str("</tr>\n");
    let rows = heads.first().map_or(0, Vec::len);
    for r in 0..rows {
        let name = heads.first().and_then(|h| h.get(r)).map_or("", |x| x.0);
        s.push_str(&format!("<tr><td class=\"l\">{}</td>", escape(name)));
        for h in &heads {
            s.push_str(&format!(
                "<td>{}</td>",
                h.get(r).map_or(String::new(), |x| escape(&x.1.show()))
            ));
        }
        if let [b, a] = heads.as_slice() {
            let (bv, av) = (b.get(r).map(|x| &x.1), a.get(r).map(|x| &x.1));
            let int = matches!(bv, Some(Val::Int(_)));
            let (abs, pct, class) = change(bv.and_then(Val::num), av.and_then(Val::num), int);
            s.push_str(&format!(
                "<td class=\"{class}\">{abs}</td><td class=\"{class}\">{pct}</td>"
            ));
        }
        s.push_str("</tr>\n");
    }
    s.push_str("</table>\n");
    s
}

/// Each source line's share of `ard_write` Σ s·d (ops summed by their line).
fn source_listing(s: &Snapshot) -> String {
    let lines: Vec<&str> = s.source.lines().collect();
    let mut cost = vec![0i128; lines.len() + 1];
    for op in &s.ard.ops {
        if let Some(info) = op.index.and_then(|i| s.header.ops.get(i))
            && let Some(c) = cost.get_mut(info.line as usize)
        {
            *c += op.sum_sd;
        }
    }
    let total = s.ard.sum_sd.max(1) as f64;
    let mut o = format!(
        "<div><h3>{}</h3><table class=\"src\"><tr><th>line</th><th class=\"l\">share of Σ s·d</th><th>Σ s·d</th><th class=\"l\">source</th></tr>\n",
        escape(&s.title())
    );
    for (i, text) in lines.iter().enumerate() {
        let c = cost.get(i + 1).copied().unwrap_or(0);
        let share = (c as f64 / total).clamp(0.0, 1.0) * 100.0;
        let (bar, num) = if c == 0 {
            (String::new(), String::new())
        } else {
            (
                format!("<span style=\"width:{share:.1}%\"></span>"),
                format!("{} ({share:.1} %)", thousands(c)),
            )
        };
        o.push_str(&format!(
            "<tr><td class=\"ln\">{}</td><td class=\"bar l\">{bar}</td><td>{num}</td><td class=\"code\">{}</td></tr>\n",
            i + 1,
            escape(text)
        ));
    }
    o.push_str("</table></div>\n");
    o
}

type Row = (String, Option<f64>, Option<f64>);

/// Rows joined by name (before's order, then after's new names), sorted by the
/// size of the change, largest first (stable).
fn join(before: &[(String, f64)], after: &[(String, f64)]) -> Vec<Row> {
    let mut rows: Vec<Row> = before
        .iter()
        .map(|(n, v)| (n.clone(), Some(*v), after.iter().find(|(m, _)| m == n).map(|x| x.1)))
        .collect();
    for (n, v) in after {
        if !before.iter().any(|(m, _)| m == n) {
            rows.push((n.clone(), None, Some(*v)));
        }
    }
    let size = |r: &Row| (r.2.unwrap_or(0.0) - r.1.unwrap_or(0.0)).abs();
    rows.sort_by(|x, y| size(y).total_cmp(&size(x)));
    rows
}

fn delta_table(what: &str, unit: &str, rows: &[Row], int: bool) -> String {
    let cell = |v: Option<f64>| match v {
        None => "–".to_string(),
        Some(x) if int => thousands(x.round() as i128),
        Some(x) => float(x),
    };
    let mut s = format!(
        "<table><tr><th class=\"l\">{}</th><th>before</th><th>after</th><th>change</th><th>%</th></tr>\n",
        escape(&format!("{what} ({unit})"))
    );
    for (n, b, a) in rows {
        let (abs, pct, class) = change(*b, *a, int);
        s.push_str(&format!(
            "<tr><td class=\"l\">{}</td><td>{}</td><td>{}</td><td class=\"{class}\">{abs}</td><td class=\"{class}\">{pct}</td></tr>\n",
            escape(n),
            cell(*b),
            cell(*a)
        ));
    }
    s.push_str("</table>\n");
    s
}

fn deltas(b: &Snapshot, a: &Snapshot) -> String {
    let avg = |s: &Snapshot| -> Vec<(String, f64)> {
        s.ard
            .buffers
            .iter()
            .filter_map(|r| Some((r.name.clone(), r.avg?)))
            .collect()
    };
    let bsd = |s: &Snapshot| -> Vec<(String, f64)> {
        s.ard
            .buffers
            .iter()
            .map(|r| (r.name.clone(), r.sum_sd as f64))
            .collect()
    };
    let osd =
        |s: &Snapshot| -> Vec<(String, f64)> { s.ard.ops.iter().map(|r| (r.name.clone(), r.sum_sd as f64)).collect() };
    let pj = |s: &Snapshot| -> Vec<(String, f64)> { s.energy.buffers.iter().map(|r| (r.name.clone(), r.pj)).collect() };
    let mut s = String::from("<div class=\"row\"><div>\n");
    s.push_str(&delta_table(
        "buffer: mean ard_write distance",
        "floats",
        &join(&avg(b), &avg(a)),
        false,
    ));
    s.push_str(&delta_table(
        "buffer: ard_write Σ s·d",
        "float·floats",
        &join(&bsd(b), &bsd(a)),
        true,
    ));
    s.push_str("</div><div>\n");
    s.push_str(&delta_table(
        "op: ard_write Σ s·d",
        "float·floats",
        &join(&osd(b), &osd(a)),
        true,
    ));
    s.push_str(&delta_table(
        "buffer: energy",
        "pJ per step",
        &join(&pj(b), &pj(a)),
        false,
    ));
    s.push_str("</div></div>\n");
    s
}

/// The whole page.
pub fn html(snaps: &[Snapshot], charts: &[Chart], page: &Page) -> String {
    let name = snaps.first().map_or("", |s| s.name.as_str());
    let t = page.task;
    let mut s = format!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\"/>\n<title>sutro report: {}</title>\n<style>\n{CSS}\n</style>\n</head>\n<body>\n",
        escape(name)
    );
    s.push_str(&format!("<h1>sutro report: {}</h1>\n", escape(name)));
    s.push_str(&format!(
        "<p class=\"meta\">Task {} (n={}, k={}, n_train={}, n_test={}, batch={}), seed {}. One instrumented training step from the initial parameters on the first example; training until 100 % test accuracy or the epoch limit. Made by <code>{}</code> (sutro {}).</p>\n",
        escape(&t.name),
        t.n,
        t.k,
        t.n_train,
        t.n_test,
        t.batch,
        page.seed,
        escape(page.command),
        env!("CARGO_PKG_VERSION")
    ));
    for sn in snaps {
        s.push_str(&format!(
            "<p class=\"meta\">{}: program hash {}, {} ops, {} buffers.</p>\n",
            escape(&sn.title()),
            escape(&sn.hash),
            sn.header.ops.len(),
            sn.header.buffers.len()
        ));
    }
    s.push_str("<h2>Headline figures</h2>\n");
    s.push_str(&headline_table(snaps));
    s.push_str("<h2>Source, with each line's share of ard_write Σ s·d</h2>\n<p class=\"meta\">An op's cost is the Σ size × reuse distance of its reads; the backward ops a <code>grad</code> line expands into count on that line.</p>\n<div class=\"row\">\n");
    for sn in snaps {
        s.push_str(&source_listing(sn));
    }
    s.push_str("</div>\n");
    s.push_str("<h2>Charts</h2>\n");
    for c in charts {
        s.push_str(&format!(
            "<figure id=\"{}\">\n{}\n<figcaption>{}</figcaption>\n</figure>\n",
            c.id,
            c.svg.trim_end(),
            escape(c.caption)
        ));
    }
    if let [b, a] = snaps {
        s.push_str(
            "<h2>Before and after, joined by name</h2>\n<p class=\"meta\">Largest change first; lower is better.</p>\n",
        );
        s.push_str(&deltas(b, a));
    }
    s.push_str("</body>\n</html>\n");
    s
}
