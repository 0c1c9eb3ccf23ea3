//! SVG charts drawn with `plotters` (SVG backend, no fonts): loss and accuracy
//! curves, per-buffer reuse distances, the stack-distance histogram, the
//! miss-ratio curve and the op timeline.
//!
//! Every chart function takes one or more *panels* — `(label, data)` pairs — and
//! returns one self-contained `<svg>` with a `<title>`, a visible title, axis
//! labels with units and a legend wherever a panel has more than one series.
//! With two panels (before/after) they are drawn side by side on shared axis
//! ranges so they compare at a glance. Output is deterministic: the same data
//! gives the same bytes (text widths are estimated, never measured from fonts).

use crate::analysis::AttrRow;
use crate::analysis::reuse::LogRow;
use crate::train::EpochStats;
use plotters::coord::Shift;
use plotters::coord::ranged1d::SegmentValue;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

/// A chart could not be drawn (a plotting backend error, described).
#[derive(Debug, Clone, PartialEq)]
pub struct PlotError(pub String);

impl std::fmt::Display for PlotError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "cannot draw the chart: {}", self.0)
    }
}

impl std::error::Error for PlotError {}

fn pe<E: std::fmt::Display>(e: E) -> PlotError {
    PlotError(e.to_string())
}

type Area<'a> = DrawingArea<SVGBackend<'a>, Shift>;

const FONT: &str = "sans-serif";
const C_BLUE: RGBColor = RGBColor(31, 119, 180);
const C_ORANGE: RGBColor = RGBColor(255, 127, 14);
const C_GREEN: RGBColor = RGBColor(44, 160, 44);
const C_RED: RGBColor = RGBColor(214, 39, 40);
const C_GREY: RGBColor = RGBColor(120, 120, 120);
const C_LIGHT: RGBColor = RGBColor(242, 242, 242);

/// A vertical marker on a capacity axis: a cache level and its size in elements.
#[derive(Clone, Debug, PartialEq)]
pub struct Marker {
    /// Shown next to the line, e.g. `L1 32 KiB`.
    pub label: String,
    /// Position on the axis, in elements.
    pub elements: u64,
}

/// One read or write event on the timeline.
#[derive(Clone, Debug, PartialEq)]
pub struct Mark {
    /// Lane (buffer) index into `Timeline::lanes`.
    pub lane: usize,
    /// Clock at the event's start, in floats.
    pub start: u64,
    /// Elements moved.
    pub len: u64,
    /// A read (else a write).
    pub read: bool,
}

/// Reads and writes of one step on the clock, one lane per buffer.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Timeline {
    /// Buffer names, in order of first access.
    pub lanes: Vec<String>,
    /// The events.
    pub marks: Vec<Mark>,
}

impl Timeline {
    /// Builds the timeline of an `ard_*` event log.
    pub fn from_log(rows: &[LogRow]) -> Timeline {
        let mut t = Timeline::default();
        for r in rows {
            let lane = match t.lanes.iter().position(|l| *l == r.buffer) {
                Some(i) => i,
                None => {
                    t.lanes.push(r.buffer.clone());
                    t.lanes.len() - 1
                }
            };
            t.marks.push(Mark {
                lane,
                start: r.clock,
                len: r.size,
                read: r.kind == "R",
            });
        }
        t
    }

    fn end(&self) -> u64 {
        self.marks.iter().map(|m| m.start + m.len).max().unwrap_or(0)
    }
}

/// Escapes text for XML and HTML.
pub fn escape(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '&' => o.push_str("&amp;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str("&#39;"),
            c => o.push(c),
        }
    }
    o
}

/// Short human numbers for axis ticks: 950, 12k, 1.5M.
pub fn short(v: f64) -> String {
    let a = v.abs();
    let (x, suffix) = if a >= 1e9 {
        (v / 1e9, "G")
    } else if a >= 1e6 {
        (v / 1e6, "M")
    } else if a >= 1e4 {
        (v / 1e3, "k")
    } else {
        (v, "")
    };
    if (x - x.round()).abs() < 1e-9 {
        format!("{}{suffix}", x.round() as i64)
    } else if x.abs() >= 10.0 {
        format!("{x:.0}{suffix}")
    } else {
        format!("{x:.1}{suffix}")
    }
}

/// Inserts `<title>` right after the opening `<svg …>` tag.
fn with_title(svg: &str, title: &str) -> String {
    match svg.find("<svg").and_then(|i| svg[i..].find('>').map(|j| i + j + 1)) {
        Some(k) => format!("{}\n<title>{}</title>{}", &svg[..k], escape(title), &svg[k..]),
        None => svg.to_string(),
    }
}

/// Draws `panels` side by side under one title; `draw(area, i)` fills panel `i`.
fn frame<F>(title: &str, panels: usize, size: (u32, u32), mut draw: F) -> Result<String, PlotError>
where
    F: FnMut(&Area, usize) -> Result<(), PlotError>,
{
    let n = panels.max(1);
    let (w, h) = (size.0 * n as u32, size.1 + 34);
    let mut buf = String::new();
    {
        let root = SVGBackend::with_string(&mut buf, (w, h)).into_drawing_area();
        root.fill(&WHITE).map_err(pe)?;
        let body = root.titled(title, (FONT, 18)).map_err(pe)?;
        for (i, a) in body.split_evenly((1, n)).iter().enumerate() {
            draw(a, i)?;
        }
        root.present().map_err(pe)?;
    }
    Ok(with_title(&buf, title))
}

fn line_legend(c: RGBColor) -> impl Fn((i32, i32)) -> PathElement<(i32, i32)> {
    move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], c.stroke_width(2))
}

fn box_legend(c: RGBColor) -> impl Fn((i32, i32)) -> Rectangle<(i32, i32)> {
    move |(x, y)| Rectangle::new([(x + 4, y - 5), (x + 16, y + 5)], c.mix(0.75).filled())
}

/// Train and test loss (left axis) and accuracy (right axis) per epoch.
pub fn loss_accuracy(title: &str, panels: &[(&str, &[EpochStats])]) -> Result<String, PlotError> {
    let epochs = panels.iter().map(|(_, h)| h.len()).max().unwrap_or(0).max(2) as f64;
    let loss_max = panels
        .iter()
        .flat_map(|(_, h)| h.iter().map(|e| e.train_loss.max(e.test_loss)))
        .filter(|v| v.is_finite())
        .fold(0.0f64, f64::max)
        .max(1e-6)
        * 1.08;
    frame(title, panels.len(), (720, 420), |a, i| {
        let (label, hist) = panels.get(i).copied().unwrap_or(("", &[]));
        let mut c = ChartBuilder::on(a)
            .caption(label, (FONT, 14))
            .margin(12)
            .x_label_area_size(44)
            .y_label_area_size(64)
            .right_y_label_area_size(64)
            .build_cartesian_2d(1f64..epochs, 0f64..loss_max)
            .map_err(pe)?
            .set_secondary_coord(1f64..epochs, 0f64..1.05);
        c.configure_mesh()
            .light_line_style(C_LIGHT)
            .x_labels(epochs.min(12.0) as usize)
            .x_desc("epoch (passes over the training set)")
            .y_desc("mean loss per example")
            .x_label_formatter(&|v| if v.fract() == 0.0 { short(*v) } else { String::new() })
            .draw()
            .map_err(pe)?;
        c.configure_secondary_axes()
            .y_desc("accuracy (fraction correct)")
            .draw()
            .map_err(pe)?;
        let pts = |g: fn(&EpochStats) -> f64| hist.iter().map(move |e| (e.epoch as f64, g(e))).collect::<Vec<_>>();
        c.draw_series(LineSeries::new(pts(|e| e.train_loss), C_BLUE.stroke_width(2)))
            .map_err(pe)?
            .label("train loss")
            .legend(line_legend(C_BLUE));
        c.draw_series(LineSeries::new(pts(|e| e.test_loss), C_ORANGE.stroke_width(2)))
            .map_err(pe)?
            .label("test loss")
            .legend(line_legend(C_ORANGE));
        c.draw_secondary_series(LineSeries::new(pts(|e| e.train_acc), C_GREEN.stroke_width(2)))
            .map_err(pe)?
            .label("train accuracy (right axis)")
            .legend(line_legend(C_GREEN));
        c.draw_secondary_series(LineSeries::new(pts(|e| e.test_acc), C_RED.stroke_width(2)))
            .map_err(pe)?
            .label("test accuracy (right axis)")
            .legend(line_legend(C_RED));
        c.configure_series_labels()
            .position(SeriesLabelPosition::MiddleRight)
            .background_style(WHITE.mix(0.85))
            .border_style(C_GREY)
            .label_font((FONT, 12))
            .draw()
            .map_err(pe)
    })
}

/// Per-buffer reuse distance: a bar of the mean with a min–max whisker, buffers
/// in order of first read (the seed's table, drawn). `metric` names the clock.
pub fn buffer_distances(title: &str, metric: &str, panels: &[(&str, &[AttrRow])]) -> Result<String, PlotError> {
    let all = || panels.iter().flat_map(|(_, rows)| rows.iter());
    let top = all()
        .filter_map(|r| r.max.map(|m| m as f64).or(r.avg))
        .fold(1.0f64, f64::max)
        * 1.15;
    let bottom = all().filter_map(|r| r.min).fold(0i64, i64::min) as f64 * 1.15;
    let widest = panels.iter().map(|(_, r)| r.len()).max().unwrap_or(1);
    let width = (160 + 40 * widest as u32).clamp(520, 900);
    let y_desc = format!("{metric} reuse distance (floats)");
    frame(title, panels.len(), (width, 440), |a, i| {
        let (label, rows) = panels.get(i).copied().unwrap_or(("", &[]));
        let n = rows.len().max(1) as u32;
        let mut c = ChartBuilder::on(a)
            .caption(label, (FONT, 14))
            .margin(12)
            .x_label_area_size(48)
            .y_label_area_size(70)
            .build_cartesian_2d((0u32..n).into_segmented(), bottom..top)
            .map_err(pe)?;
        let name = |v: &SegmentValue<u32>| match v {
            SegmentValue::CenterOf(i) => rows.get(*i as usize).map_or_else(String::new, |r| r.name.clone()),
            _ => String::new(),
        };
        c.configure_mesh()
            .disable_x_mesh()
            .light_line_style(WHITE)
            .x_labels(n as usize)
            .x_label_formatter(&name)
            .y_label_formatter(&|v| short(*v))
            .x_desc("buffer (order of first read)")
            .y_desc(y_desc.as_str())
            .draw()
            .map_err(pe)?;
        c.draw_series(rows.iter().enumerate().filter_map(|(i, r)| {
            r.avg.map(|avg| {
                let mut b = Rectangle::new(
                    [
                        (SegmentValue::Exact(i as u32), 0.0),
                        (SegmentValue::Exact(i as u32 + 1), avg),
                    ],
                    C_BLUE.mix(0.75).filled(),
                );
                b.set_margin(0, 0, 5, 5);
                b
            })
        }))
        .map_err(pe)?
        .label("mean distance per read")
        .legend(box_legend(C_BLUE));
        c.draw_series(rows.iter().enumerate().filter_map(|(i, r)| {
            Some(ErrorBar::new_vertical(
                SegmentValue::CenterOf(i as u32),
                r.min? as f64,
                r.avg?,
                r.max? as f64,
                BLACK.stroke_width(1),
                10,
            ))
        }))
        .map_err(pe)?
        .label("min–max distance")
        .legend(|(x, y)| PathElement::new(vec![(x + 10, y - 6), (x + 10, y + 6)], BLACK.stroke_width(1)));
        let value = TextStyle::from((FONT, 11).into_font()).pos(Pos::new(HPos::Center, VPos::Bottom));
        c.draw_series(rows.iter().enumerate().filter_map(|(i, r)| {
            let avg = r.avg?;
            let at = r.max.map_or(avg, |m| (m as f64).max(avg));
            Some(Text::new(
                format!("{avg:.0}"),
                (SegmentValue::CenterOf(i as u32), at),
                value.clone(),
            ))
        }))
        .map_err(pe)?;
        c.configure_series_labels()
            .position(SeriesLabelPosition::UpperRight)
            .background_style(WHITE.mix(0.85))
            .border_style(C_GREY)
            .label_font((FONT, 12))
            .draw()
            .map_err(pe)
    })
}

/// The smallest power of two ≥ `v` (at least 2).
fn pow2_above(v: u64) -> f64 {
    let mut p = 2u64;
    while p < v && p < 1 << 62 {
        p <<= 1;
    }
    p as f64
}

fn capacity_range(max_data: u64, marks: &[Marker]) -> f64 {
    let m = marks.iter().map(|k| k.elements).max().unwrap_or(0);
    pow2_above(max_data.max(m).saturating_add(1)) * 2.0
}

/// Stack-distance histogram: warm element accesses binned by powers of two on a
/// log-scaled distance axis, with the cache sizes of `marks`.
pub fn stack_histogram(title: &str, panels: &[(&str, &[[u64; 2]])], marks: &[Marker]) -> Result<String, PlotError> {
    let bins = |h: &[[u64; 2]]| -> Vec<(u32, u64)> {
        let mut out: Vec<(u32, u64)> = Vec::new();
        for [d, c] in h {
            let b = 63 - d.max(&1).leading_zeros();
            match out.last_mut() {
                Some(last) if last.0 == b => last.1 += c,
                _ => out.push((b, *c)),
            }
        }
        out
    };
    let binned: Vec<Vec<(u32, u64)>> = panels.iter().map(|(_, h)| bins(h)).collect();
    let max_d = panels
        .iter()
        .flat_map(|(_, h)| h.iter().map(|p| p[0]))
        .max()
        .unwrap_or(1);
    let x_max = capacity_range(max_d, marks);
    let y_max = binned
        .iter()
        .flat_map(|b| b.iter().map(|p| p.1))
        .max()
        .unwrap_or(1)
        .max(1) as f64
        * 1.15;
    frame(title, panels.len(), (720, 420), |a, i| {
        let label = panels.get(i).map_or("", |p| p.0);
        let bins = binned.get(i).map_or(&[][..], Vec::as_slice);
        let mut c = ChartBuilder::on(a)
            .caption(label, (FONT, 14))
            .margin(12)
            .x_label_area_size(44)
            .y_label_area_size(70)
            .build_cartesian_2d((1f64..x_max).log_scale(), 0f64..y_max)
            .map_err(pe)?;
        c.configure_mesh()
            .light_line_style(C_LIGHT)
            .x_desc("LRU stack distance (elements, log scale; bins of powers of 2)")
            .y_desc("warm accesses (elements)")
            .x_label_formatter(&|v| short(*v))
            .y_label_formatter(&|v| short(*v))
            .draw()
            .map_err(pe)?;
        c.draw_series(bins.iter().map(|(b, n)| {
            let lo = (1u64 << b) as f64;
            let mut r = Rectangle::new([(lo, 0.0), (lo * 2.0, *n as f64)], C_BLUE.mix(0.75).filled());
            r.set_margin(0, 0, 1, 1);
            r
        }))
        .map_err(pe)?
        .label("accesses per distance bin")
        .legend(box_legend(C_BLUE));
        marker_lines(&mut c, marks, y_max)?;
        c.configure_series_labels()
            .position(SeriesLabelPosition::UpperLeft)
            .background_style(WHITE.mix(0.85))
            .border_style(C_GREY)
            .label_font((FONT, 12))
            .draw()
            .map_err(pe)
    })
}

type LogChart<'a, 'b> = ChartContext<
    'a,
    SVGBackend<'b>,
    Cartesian2d<plotters::coord::combinators::LogCoord<f64>, plotters::coord::types::RangedCoordf64>,
>;

fn marker_lines(c: &mut LogChart<'_, '_>, marks: &[Marker], y_max: f64) -> Result<(), PlotError> {
    if marks.is_empty() {
        return Ok(());
    }
    c.draw_series(marks.iter().map(|m| {
        PathElement::new(
            vec![(m.elements as f64, 0.0), (m.elements as f64, y_max)],
            C_RED.stroke_width(1),
        )
    }))
    .map_err(pe)?
    .label("cache size of the energy model")
    .legend(line_legend(C_RED));
    let style = TextStyle::from((FONT, 12).into_font())
        .color(&C_RED)
        .pos(Pos::new(HPos::Right, VPos::Top));
    c.draw_series(marks.iter().map(|m| {
        Text::new(
            format!("{} ", m.label),
            (m.elements as f64, y_max * 0.97),
            style.clone(),
        )
    }))
    .map_err(pe)?;
    Ok(())
}

/// Miss-ratio curve of a fully associative LRU cache: the fraction of accesses
/// that miss at each capacity, on a log-scaled capacity axis with `marks`.
pub fn miss_ratio(title: &str, panels: &[(&str, &[(u64, f64)])], marks: &[Marker]) -> Result<String, PlotError> {
    let max_c = panels
        .iter()
        .flat_map(|(_, m)| m.iter().map(|p| p.0))
        .max()
        .unwrap_or(1);
    let x_max = capacity_range(max_c, marks);
    frame(title, panels.len(), (720, 420), |a, i| {
        let (label, mrc) = panels.get(i).copied().unwrap_or(("", &[]));
        let mut c = ChartBuilder::on(a)
            .caption(label, (FONT, 14))
            .margin(12)
            .x_label_area_size(44)
            .y_label_area_size(64)
            .build_cartesian_2d((1f64..x_max).log_scale(), 0f64..1.05)
            .map_err(pe)?;
        c.configure_mesh()
            .light_line_style(C_LIGHT)
            .x_desc("cache capacity (elements, log scale)")
            .y_desc("miss ratio (fraction of accesses)")
            .x_label_formatter(&|v| short(*v))
            .draw()
            .map_err(pe)?;
        // A step function: the ratio at capacity c holds until the next point.
        let mut pts: Vec<(f64, f64)> = Vec::new();
        for (k, (cap, r)) in mrc.iter().enumerate() {
            let x = (*cap).max(1) as f64;
            if k > 0
                && let Some(&(_, prev)) = pts.last()
            {
                pts.push((x, prev));
            }
            pts.push((x, *r));
        }
        if let Some(&(_, last)) = pts.last() {
            pts.push((x_max, last));
        }
        c.draw_series(LineSeries::new(pts, C_BLUE.stroke_width(2)))
            .map_err(pe)?
            .label("miss ratio (LRU, cold misses included)")
            .legend(line_legend(C_BLUE));
        marker_lines(&mut c, marks, 1.05)?;
        c.configure_series_labels()
            .position(SeriesLabelPosition::LowerLeft)
            .background_style(WHITE.mix(0.85))
            .border_style(C_GREY)
            .label_font((FONT, 12))
            .draw()
            .map_err(pe)
    })
}

/// Op timeline: the clock (floats moved) on x, one lane per buffer; writes in
/// the upper half of a lane, reads in the lower half.
pub fn timeline(title: &str, panels: &[(&str, &Timeline)]) -> Result<String, PlotError> {
    let lanes = panels.iter().map(|(_, t)| t.lanes.len()).max().unwrap_or(1).max(1);
    let x_max = panels.iter().map(|(_, t)| t.end()).max().unwrap_or(1).max(1) as f64;
    let height = (120 + 24 * lanes as u32).max(320);
    frame(title, panels.len(), (720, height), |a, i| {
        let (label, t) = match panels.get(i) {
            Some(p) => *p,
            None => return Ok(()),
        };
        let n = t.lanes.len().max(1);
        let mut c = ChartBuilder::on(a)
            .caption(label, (FONT, 14))
            .margin(12)
            .x_label_area_size(44)
            .y_label_area_size(84)
            .build_cartesian_2d(0f64..x_max, -0.5f64..(n as f64 - 0.5))
            .map_err(pe)?;
        let lane_y = |lane: usize| (n - 1 - lane.min(n - 1)) as f64;
        let name = |v: &f64| {
            let r = v.round();
            if (v - r).abs() > 1e-6 || r < 0.0 || r as usize >= n {
                return String::new();
            }
            t.lanes.get(n - 1 - r as usize).cloned().unwrap_or_default()
        };
        c.configure_mesh()
            .disable_x_mesh()
            .light_line_style(WHITE)
            .y_labels(n + 1)
            .y_label_formatter(&name)
            .x_label_formatter(&|v| short(*v))
            .x_desc("clock (floats moved since the step began)")
            .y_desc("buffer")
            .draw()
            .map_err(pe)?;
        let min_w = x_max * 0.002;
        let rect = |m: &Mark, lo: f64, hi: f64, col: RGBColor| {
            let y = lane_y(m.lane);
            let x0 = m.start as f64;
            Rectangle::new([(x0, y + lo), (x0 + (m.len as f64).max(min_w), y + hi)], col.filled())
        };
        c.draw_series(t.marks.iter().filter(|m| !m.read).map(|m| rect(m, 0.04, 0.4, C_ORANGE)))
            .map_err(pe)?
            .label("write")
            .legend(box_legend(C_ORANGE));
        c.draw_series(t.marks.iter().filter(|m| m.read).map(|m| rect(m, -0.4, -0.04, C_BLUE)))
            .map_err(pe)?
            .label("read")
            .legend(box_legend(C_BLUE));
        c.configure_series_labels()
            .position(SeriesLabelPosition::LowerRight)
            .background_style(WHITE.mix(0.85))
            .border_style(C_GREY)
            .label_font((FONT, 12))
            .draw()
            .map_err(pe)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(name: &str, avg: f64, min: i64, max: i64) -> AttrRow {
        AttrRow {
            name: name.into(),
            size: 4,
            reads: 2,
            writes: 1,
            floats_read: 8,
            avg: Some(avg),
            min: Some(min),
            max: Some(max),
            cached: true,
            sum_d: 0,
            sum_sd: 0,
            cols: crate::analysis::row::cols::ARD_BUF,
            ..AttrRow::default()
        }
    }

    #[test]
    fn every_chart_has_a_title_axis_labels_and_escapes_text() {
        let h = vec![EpochStats {
            epoch: 1,
            steps: 10,
            train_loss: 1.0,
            test_loss: 1.2,
            train_acc: 0.5,
            test_acc: 0.4,
        }];
        let rows = vec![row("W<1>", 10.0, 2, 20), row("b", 3.0, -1, 5)];
        let marks = vec![Marker {
            label: "L1".into(),
            elements: 64,
        }];
        let t = Timeline {
            lanes: vec!["x".into(), "y".into()],
            marks: vec![
                Mark {
                    lane: 0,
                    start: 0,
                    len: 4,
                    read: false,
                },
                Mark {
                    lane: 1,
                    start: 4,
                    len: 2,
                    read: true,
                },
            ],
        };
        let charts = [
            (loss_accuracy("loss & accuracy", &[("a", &h)]).unwrap(), "epoch"),
            (
                buffer_distances("d", "ard_write", &[("a", &rows), ("b", &rows)]).unwrap(),
                "floats",
            ),
            (
                stack_histogram("h", &[("a", &[[1, 3], [5, 2]])], &marks).unwrap(),
                "log scale",
            ),
            (
                miss_ratio("m", &[("a", &[(0, 1.0), (3, 0.5)])], &marks).unwrap(),
                "capacity",
            ),
            (timeline("t", &[("a", &t)]).unwrap(), "clock"),
        ];
        for (svg, axis) in &charts {
            assert!(svg.starts_with("<svg"), "{svg}");
            assert_eq!(svg.matches("<title>").count(), 1);
            assert!(svg.contains(axis), "{axis}");
            assert!(svg.trim_end().ends_with("</svg>"));
        }
        assert!(charts[0].0.contains("<title>loss &amp; accuracy</title>"));
        assert!(charts[1].0.contains("W&lt;1&gt;") && !charts[1].0.contains("W<1>"));
        assert!(charts[2].0.contains("L1"));
    }

    #[test]
    fn charts_are_deterministic_and_empty_data_does_not_fail() {
        let a = miss_ratio("m", &[("a", &[(0, 1.0), (3, 0.5)])], &[]).unwrap();
        let b = miss_ratio("m", &[("a", &[(0, 1.0), (3, 0.5)])], &[]).unwrap();
        assert_eq!(a, b);
        assert!(loss_accuracy("l", &[("a", &[])]).is_ok());
        assert!(buffer_distances("d", "ard_write", &[("a", &[])]).is_ok());
        assert!(stack_histogram("h", &[("a", &[])], &[]).is_ok());
        assert!(miss_ratio("m", &[("a", &[])], &[]).is_ok());
        assert!(timeline("t", &[("a", &Timeline::default())]).is_ok());
    }

    #[test]
    fn short_numbers() {
        assert_eq!(short(950.0), "950");
        assert_eq!(short(12000.0), "12k");
        assert_eq!(short(1_500_000.0), "1.5M");
        assert_eq!(short(0.5), "0.5");
    }
}
