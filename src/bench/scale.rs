//! `bench --scale n=…`: how each program's energy-to-solve grows with n.
//!
//! Each program runs at each n (one row per program and n, ranked within its
//! n). The fitted exponent is the least-squares slope of ln(energy-to-solve)
//! against ln(n) over the n at which the program solved at least one seed
//! (medians over solved seeds), so energy ≈ c·n^exponent; fewer than two such
//! n give no exponent. An n at which a program solved no seed is marked there.

use super::render::fig;
use super::{Board, METRICS, Row};
use crate::analysis::Metric;
use std::fmt::Write;

/// The least-squares slope of ln y on ln x; `None` with fewer than two points,
/// a non-positive value, or every x equal.
pub fn fit_exponent(points: &[(f64, f64)]) -> Option<f64> {
    if points.len() < 2 || points.iter().any(|(x, y)| *x <= 0.0 || *y <= 0.0) {
        return None;
    }
    let logs: Vec<(f64, f64)> = points.iter().map(|(x, y)| (x.ln(), y.ln())).collect();
    let k = logs.len() as f64;
    let mx = logs.iter().map(|p| p.0).sum::<f64>() / k;
    let my = logs.iter().map(|p| p.1).sum::<f64>() / k;
    let sxx: f64 = logs.iter().map(|p| (p.0 - mx) * (p.0 - mx)).sum();
    let sxy: f64 = logs.iter().map(|p| (p.0 - mx) * (p.1 - my)).sum();
    (sxx > 0.0).then(|| sxy / sxx)
}

/// Programs in order of first appearance.
fn programs(b: &Board) -> Vec<&str> {
    let mut v: Vec<&str> = Vec::new();
    for r in &b.rows {
        if !v.contains(&r.program.as_str()) {
            v.push(&r.program);
        }
    }
    v
}

fn row<'a>(b: &'a Board, program: &str, n: usize) -> Option<&'a Row> {
    b.rows.iter().find(|r| r.program == program && r.config.n == n)
}

/// (n, median energy-to-solve) at every n where the program solved a seed.
pub fn points(b: &Board, program: &str, m: Metric) -> Vec<(f64, f64)> {
    b.spec
        .scale
        .iter()
        .filter_map(|&n| Some((n as f64, row(b, program, n)?.to_solve(m)?)))
        .collect()
}

/// The fitted exponent of a program under a metric.
pub fn exponent(b: &Board, program: &str, m: Metric) -> Option<f64> {
    fit_exponent(&points(b, program, m))
}

fn exp_cell(e: Option<f64>) -> String {
    e.map_or_else(|| "—".into(), |x| format!("{x:.2}"))
}

/// One cell of the table against n: the figure, the solved count when not all
/// seeds solved, `unsolved` where no seed did, `skipped` where the program
/// does not fit.
fn cell(r: Option<&Row>, v: impl Fn(&Row) -> Option<f64>) -> String {
    let Some(r) = r else { return "skipped".into() };
    let seeds = r.runs.len();
    match v(r) {
        None => format!("**unsolved** (0/{seeds})"),
        Some(x) if r.solved() < seeds => format!("{} ({}/{seeds})", fig(x), r.solved()),
        Some(x) => fig(x),
    }
}

fn header(s: &mut String, b: &Board, first: &str, last: Option<&str>) {
    let _ = write!(s, "| {first} |");
    let mut rule = String::from("|---|");
    for n in &b.spec.scale {
        let _ = write!(s, " n={n} |");
        rule.push_str("---:|");
    }
    if let Some(l) = last {
        let _ = write!(s, " {l} |");
        rule.push_str("---:|");
    }
    let _ = writeln!(s, "\n{rule}");
}

/// The scaling section of the Markdown board.
pub fn section(s: &mut String, b: &Board) {
    let m = Metric::ArdWrite;
    let _ = writeln!(s, "## Scaling with n\n");
    let _ = writeln!(
        s,
        "Each program at n = {}: energy-to-solve under `{}` (median over solved seeds; `(s/N)` when only s of N \
         seeds solved, **unsolved** where none did), and the exponent of a least-squares fit of \
         ln(energy-to-solve) against ln(n) over the n where it solved (energy ≈ c·n^exponent; in brackets, \
         how many n the fit uses: a fit over two n is only their slope).\n",
        b.spec
            .scale
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(", "),
        m.name()
    );
    let progs = programs(b);
    header(
        s,
        b,
        &format!("program ({} to solve)", m.name()),
        Some("exponent (n fitted)"),
    );
    for p in &progs {
        let _ = write!(s, "| `{p}` |");
        for &n in &b.spec.scale {
            let _ = write!(s, " {} |", cell(row(b, p, n), |r| r.to_solve(m)));
        }
        let fitted = points(b, p, m).len();
        let _ = writeln!(s, " {} ({fitted}) |", exp_cell(exponent(b, p, m)));
    }
    let _ = writeln!(s, "\nMedian steps and samples to solve:\n");
    header(s, b, "program (steps / samples)", None);
    for p in &progs {
        let _ = write!(s, "| `{p}` |");
        for &n in &b.spec.scale {
            let r = row(b, p, n);
            let text = match r.and_then(|r| Some((r.median_steps()?, r.median_samples()?))) {
                Some((st, sa)) => format!("{} / {}", fig(st), fig(sa)),
                None => cell(r, |_| None),
            };
            let _ = write!(s, " {text} |");
        }
        s.push('\n');
    }
    let _ = writeln!(s, "\nFitted exponent under every metric:\n");
    let _ = write!(s, "| program |");
    let mut rule = String::from("|---|");
    for m in METRICS {
        let _ = write!(s, " {} |", m.name());
        rule.push_str("---:|");
    }
    let _ = writeln!(s, "\n{rule}");
    for p in &progs {
        let _ = write!(s, "| `{p}` |");
        for m in METRICS {
            let _ = write!(s, " {} |", exp_cell(exponent(b, p, m)));
        }
        s.push('\n');
    }
    s.push('\n');
}

const COLORS: [&str; 10] = [
    "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf",
];

fn esc(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}

/// Decades spanning the values, at least one.
fn decades(vals: &[f64]) -> (i32, i32) {
    let lo = vals.iter().copied().fold(f64::INFINITY, f64::min);
    let hi = vals.iter().copied().fold(0.0f64, f64::max);
    if vals.is_empty() {
        return (0, 1);
    }
    let d0 = lo.log10().floor() as i32;
    (d0, (hi.log10().ceil() as i32).max(d0 + 1))
}

/// The plot area of the log–log chart and its scales.
struct Frame {
    left: f64,
    plot_w: f64,
    top: f64,
    plot_h: f64,
    /// ln n at the left and right edges.
    lx: (f64, f64),
    /// Decades at the bottom and top edges.
    d: (i32, i32),
}

impl Frame {
    fn x(&self, n: f64) -> f64 {
        self.left + self.plot_w * (n.ln() - self.lx.0) / (self.lx.1 - self.lx.0)
    }

    fn y(&self, v: f64) -> f64 {
        self.top + self.plot_h - self.plot_h * (v.log10() - f64::from(self.d.0)) / f64::from(self.d.1 - self.d.0)
    }

    /// Grid lines, the box and the axis titles.
    fn axes(&self, s: &mut String, ns: &[f64], m: Metric) {
        let (left, top, plot_w, plot_h) = (self.left, self.top, self.plot_w, self.plot_h);
        for k in self.d.0..=self.d.1 {
            let yv = self.y(10f64.powi(k));
            let _ = writeln!(
                s,
                "<line x1=\"{left}\" y1=\"{yv:.1}\" x2=\"{:.1}\" y2=\"{yv:.1}\" stroke=\"#ddd\"/><text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\">1e{k}</text>",
                left + plot_w,
                left - 6.0,
                yv + 4.0
            );
        }
        let base = top + plot_h;
        for &n in ns {
            let xv = self.x(n);
            let _ = writeln!(
                s,
                "<line x1=\"{xv:.1}\" y1=\"{top}\" x2=\"{xv:.1}\" y2=\"{base}\" stroke=\"#ddd\"/><text x=\"{xv:.1}\" y=\"{:.1}\" text-anchor=\"middle\">{n}</text>",
                base + 16.0
            );
        }
        let _ = writeln!(
            s,
            "<rect x=\"{left}\" y=\"{top}\" width=\"{plot_w}\" height=\"{plot_h}\" fill=\"none\" stroke=\"black\"/>"
        );
        let _ = writeln!(
            s,
            "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\">n (input bits), log scale</text>",
            left + plot_w / 2.0,
            base + 36.0
        );
        let _ = writeln!(
            s,
            "<text x=\"18\" y=\"{:.1}\" transform=\"rotate(-90 18 {:.1})\" text-anchor=\"middle\">energy-to-solve, {} (log scale)</text>",
            top + plot_h / 2.0,
            top + plot_h / 2.0,
            m.name()
        );
    }

    /// One program's line, points, × marks where it solved no seed, and legend entry.
    fn series(&self, s: &mut String, b: &Board, p: &str, i: usize, m: Metric) {
        let color = COLORS[i % COLORS.len()];
        let dash = if i >= COLORS.len() {
            " stroke-dasharray=\"6 3\""
        } else {
            ""
        };
        let pts = points(b, p, m);
        if pts.len() > 1 {
            let path: Vec<String> = pts
                .iter()
                .map(|(n, v)| format!("{:.1},{:.1}", self.x(*n), self.y(*v)))
                .collect();
            let _ = writeln!(
                s,
                "<polyline points=\"{}\" fill=\"none\" stroke=\"{color}\" stroke-width=\"2\"{dash}/>",
                path.join(" ")
            );
        }
        for (n, v) in &pts {
            let _ = writeln!(
                s,
                "<circle cx=\"{:.1}\" cy=\"{:.1}\" r=\"3.5\" fill=\"{color}\"><title>{} n={n}: {}</title></circle>",
                self.x(*n),
                self.y(*v),
                esc(p),
                fig(*v)
            );
        }
        for &n in &b.spec.scale {
            if row(b, p, n).is_some_and(|r| r.solved() == 0) {
                let (cx, cy) = (self.x(n as f64), self.top + 8.0 + 6.0 * (i % 6) as f64);
                let _ = writeln!(
                    s,
                    "<path d=\"M{:.1},{:.1}L{:.1},{:.1}M{:.1},{:.1}L{:.1},{:.1}\" stroke=\"#d62728\" stroke-width=\"2\"><title>{} unsolved at n={n}</title></path>",
                    cx - 4.0,
                    cy - 4.0,
                    cx + 4.0,
                    cy + 4.0,
                    cx - 4.0,
                    cy + 4.0,
                    cx + 4.0,
                    cy - 4.0,
                    esc(p)
                );
            }
        }
        let ly = self.top + 20.0 * i as f64;
        let lx = self.left + self.plot_w + 20.0;
        let _ = writeln!(
            s,
            "<line x1=\"{lx:.1}\" y1=\"{:.1}\" x2=\"{:.1}\" y2=\"{:.1}\" stroke=\"{color}\" stroke-width=\"2\"{dash}/><text x=\"{:.1}\" y=\"{:.1}\">{} (exponent {})</text>",
            ly + 6.0,
            lx + 24.0,
            ly + 6.0,
            lx + 30.0,
            ly + 10.0,
            esc(p),
            exp_cell(exponent(b, p, m))
        );
    }
}

/// The log–log chart: energy-to-solve under `m` against n, one line per program
/// (with its fitted exponent in the legend), a red × at the top of the plot at
/// each n where the program solved no seed.
pub fn svg(b: &Board, m: Metric) -> String {
    let progs = programs(b);
    let (w, left, plot_w, top, plot_h) = (900.0f64, 80.0f64, 520.0f64, 60.0f64, 420.0f64);
    let h = (top + plot_h + 70.0).max(top + 20.0 * progs.len() as f64 + 40.0);
    let ns: Vec<f64> = b.spec.scale.iter().map(|&n| n as f64).collect();
    let (nlo, nhi) = (ns.first().copied().unwrap_or(1.0), ns.last().copied().unwrap_or(2.0));
    let all: Vec<f64> = progs.iter().flat_map(|p| points(b, p, m)).map(|p| p.1).collect();
    let f = Frame {
        left,
        plot_w,
        top,
        plot_h,
        lx: (nlo.ln(), if nhi > nlo { nhi.ln() } else { nlo.ln() + 1.0 }),
        d: decades(&all),
    };
    let mut s = String::new();
    let title = format!(
        "Energy-to-solve against n: {} (log–log), task {}",
        m.name(),
        b.spec.task
    );
    let _ = writeln!(
        s,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{w}\" height=\"{h}\" viewBox=\"0 0 {w} {h}\" font-family=\"sans-serif\" font-size=\"12\">"
    );
    let _ = writeln!(
        s,
        "<title>{}</title>\n<rect width=\"100%\" height=\"100%\" fill=\"white\"/>",
        esc(&title)
    );
    let _ = writeln!(
        s,
        "<text x=\"{:.1}\" y=\"24\" text-anchor=\"middle\" font-size=\"15\">{}</text>",
        left + plot_w / 2.0,
        esc(&title)
    );
    let _ = writeln!(
        s,
        "<text x=\"{:.1}\" y=\"42\" text-anchor=\"middle\" fill=\"#555\">median over solved seeds; × marks an n where no seed solved</text>",
        left + plot_w / 2.0
    );
    f.axes(&mut s, &ns, m);
    for (i, p) in progs.iter().enumerate() {
        f.series(&mut s, b, p, i, m);
    }
    s.push_str("</svg>\n");
    s
}
