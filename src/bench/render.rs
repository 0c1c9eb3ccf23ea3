//! The leaderboard as Markdown and as a self-contained SVG chart.
//!
//! Both are pure functions of a `Board` (plus the command line and baseline
//! name), so the output is deterministic except for the wall-time cells.

use super::rank::{disagreements, ranks};
use super::{Board, CLOCK, METRICS, Row};
use crate::analysis::Metric;
use crate::opt::fmt_value;
use std::fmt::Write;

/// A figure for people: thousands separators below 10⁷, else 4 significant digits.
pub fn fig(v: f64) -> String {
    if !v.is_finite() {
        return format!("{v}");
    }
    if v.abs() < 1.0e7 {
        return fmt_value(v);
    }
    let e = v.abs().log10().floor() as i32;
    let m = v / 10f64.powi(e);
    format!("{m:.3}e{e}")
}

fn opt_fig(v: Option<f64>) -> String {
    v.map_or_else(|| "—".to_string(), fig)
}

/// What a metric's per-step total is, for column headers.
pub fn unit(m: Metric) -> &'static str {
    match m {
        Metric::ArdWrite | Metric::ArdAccess => "Σ s·d",
        Metric::LruStack => "Σ d",
        Metric::Dmd => "Σ √d",
        Metric::ByteDmdV2 => "total",
        Metric::Dally => "Σ ⌈√a⌉",
        Metric::EnergyPj => "pJ",
    }
}

fn settings_text(b: &Board) -> String {
    if b.spec.settings.is_empty() {
        return "none (each program's defaults)".into();
    }
    b.spec
        .settings
        .iter()
        .map(|(k, v)| format!("`{k}={v}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn seeds_text(b: &Board) -> String {
    match (b.spec.seeds.first(), b.spec.seeds.last()) {
        (Some(a), Some(z)) if a != z => format!("{a}..{z} ({} seeds)", b.spec.seeds.len()),
        (Some(a), _) => format!("{a} (1 seed)"),
        _ => "none".into(),
    }
}

/// Row indices sorted by rank under `m`, ties by input order.
fn by_rank(b: &Board, m: Metric) -> Vec<usize> {
    let rs = ranks(b);
    let r = rs
        .iter()
        .find(|(x, _)| *x == m)
        .map(|(_, v)| v.clone())
        .unwrap_or_default();
    let mut idx: Vec<usize> = (0..b.rows.len()).collect();
    idx.sort_by_key(|&i| (r.get(i).copied().unwrap_or(usize::MAX), i));
    idx
}

fn run_cell(r: &Row, i: usize) -> String {
    match r.runs.get(i) {
        Some(s) => match (s.solved_epoch, s.solved_step, &s.error) {
            (Some(e), Some(st), _) => format!("{e} ({st})"),
            (_, _, Some(_)) => "diverged".into(),
            _ => format!("no ({})", s.epochs_run),
        },
        None => String::new(),
    }
}

/// The leaderboard Markdown. `command` is printed at the top; `baseline` names
/// the plain-backprop program the others are compared with.
/// With rows at several task settings (`--group-by-task`, `--scale`), each
/// setting gets its own board under a `## Task …` heading; `--scale` adds the
/// scaling section.
pub fn markdown(b: &Board, command: &str, baseline: &str, reorder_budget: u64) -> String {
    let mut s = String::new();
    intro_section(&mut s, b, command);
    let groups = b.groups();
    let h = if groups.len() > 1 { "###" } else { "##" };
    for g in &groups {
        if groups.len() > 1 {
            let _ = writeln!(s, "## {}\n", task_title(g));
        }
        settings_section(&mut s, g);
        leaderboard_section(&mut s, g, h);
        baseline_section(&mut s, g, baseline, h);
        per_step_section(&mut s, g, h);
        to_solve_section(&mut s, g, h);
        floor_section(&mut s, g, reorder_budget, h);
        disagreement_section(&mut s, g, h);
        runs_section(&mut s, g, h);
    }
    if !b.spec.scale.is_empty() {
        super::scale::section(&mut s, b);
    }
    skipped_section(&mut s, b);
    s
}

/// `Task n=20, k=3, n_test=200` for a group's heading.
fn task_title(b: &Board) -> String {
    b.rows.first().map_or_else(
        || "Task".into(),
        |r| format!("Task n={}, k={}, n_test={}", r.config.n, r.config.k, r.config.n_test),
    )
}

/// A program's rank under a metric.
fn rank_in(rs: &[(Metric, Vec<usize>)], m: Metric, i: usize) -> usize {
    rs.iter()
        .find(|(x, _)| *x == m)
        .and_then(|(_, v)| v.get(i).copied())
        .unwrap_or(0)
}

/// Each row's effective task settings (the board refuses rows whose `n`, `k`
/// or `n_test` differ; `n_train` and `batch` belong to the algorithm).
fn settings_section(s: &mut String, b: &Board) {
    let stages = b.rows.iter().any(|r| !r.curriculum.is_empty());
    let _ = writeln!(s, "Effective settings of every row:\n");
    let _ = writeln!(
        s,
        "| Program | n | k | n_train | n_test | batch |{}\n|---|---|---|---|---|---|{}",
        if stages {
            " curriculum (n per stage, secret_n) |"
        } else {
            ""
        },
        if stages { "---|" } else { "" }
    );
    for r in &b.rows {
        let c = &r.config;
        let _ = write!(
            s,
            "| {} | {} | {} | {} | {} | {} |",
            r.program, c.n, c.k, c.n_train, c.n_test, c.batch
        );
        if stages {
            let ns: Vec<String> = r.curriculum.iter().map(ToString::to_string).collect();
            let _ = write!(s, " {} (secret_n={}) |", ns.join(" → "), c.secret_n);
        }
        s.push('\n');
    }
    s.push('\n');
}

/// The title, the command and what the figures mean.
fn intro_section(s: &mut String, b: &Board, command: &str) {
    let _ = writeln!(s, "# sutro leaderboard: task `{}`\n", b.spec.task);
    let _ = writeln!(s, "Generated by:\n\n```\n{command}\n```\n");
    let _ = writeln!(
        s,
        "Settings: {}; seeds {}; epoch limit {}; evaluation passes {} energy-to-solve. \
         A run is solved at the first evaluation (evaluations run {}) that reaches 100 % test accuracy. \
         Medians are over solved seeds; samples are the distinct training examples fed by then. \
         Wall times depend on the machine and its load; every other figure is deterministic.\n",
        settings_text(b),
        seeds_text(b),
        b.spec.epochs,
        if b.spec.count_eval {
            "are counted in"
        } else {
            "are not counted in"
        },
        b.spec.eval_every.map_or_else(
            || "once per epoch".to_string(),
            |k| if k == 1 {
                "after every step".to_string()
            } else {
                format!("every {k} steps and after the last")
            }
        ),
    );
    if let (Some(first), Some(last)) = (b.spec.curriculum.first(), b.spec.curriculum.last()) {
        let _ = writeln!(
            s,
            "Curriculum: each row trains at n = {} in turn, each stage until solved or its epoch limit, \
             carrying its params and state into the next (zero padding where a buffer grows, as \
             `--load-state` does); the secret is drawn from the first {first} bits (`secret_n`), so every \
             stage has the same secret. A row is ranked at n = {last}; its epochs, steps, samples and \
             energy are summed over the stages, each stage's steps priced at that stage's per-step total.\n",
            b.spec
                .curriculum
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(" → "),
        );
    }
    let _ = writeln!(
        s,
        "Per-step figures are totals of one traced training step (a step's accesses do not depend \
         on data), with each metric's default options; energy-to-solve is per-step total × steps to \
         solve{}. `energy_pj` is an estimate from the `horowitz45` preset (45 nm), not a specific \
         accelerator's energy.\n",
        if b.spec.count_eval {
            " + one forward-only evaluation pass per evaluated batch (⌈n_train/batch⌉ + ⌈n_test/batch⌉ per evaluation) up to the solving evaluation"
        } else {
            ""
        }
    );
}

/// The ranked leaderboard under `ard_write`.
fn leaderboard_section(s: &mut String, b: &Board, h: &str) {
    let _ = writeln!(s, "{h} Leaderboard (ranked by energy-to-solve under `ard_write`)\n");
    let _ = writeln!(
        s,
        "| rank | program | solved | median epochs | median steps | median samples | median queries | median wall (s) | ard_write per step (Σ s·d) | ard_write to solve | energy_pj to solve (pJ) |"
    );
    let _ = writeln!(s, "|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    let rs = ranks(b);
    let rank_of = |m: Metric, i: usize| rank_in(&rs, m, i);
    for i in by_rank(b, Metric::ArdWrite) {
        let r = &b.rows[i];
        let _ = writeln!(
            s,
            "| {} | `{}` | {}/{} | {} | {} | {} | {} | {} | {} | {} | {} |",
            rank_of(Metric::ArdWrite, i),
            r.program,
            r.solved(),
            r.runs.len(),
            opt_fig(r.median_epochs()),
            opt_fig(r.median_steps()),
            opt_fig(r.median_samples()),
            opt_fig(r.median_queries()),
            r.median_wall_s().map_or_else(|| "—".into(), |w| format!("{w:.3}")),
            fig(r.per_step(Metric::ArdWrite)),
            opt_fig(r.to_solve(Metric::ArdWrite)),
            opt_fig(r.to_solve(Metric::EnergyPj)),
        );
    }
    s.push('\n');
}

/// Per-step cost under each metric.
fn per_step_section(s: &mut String, b: &Board, h: &str) {
    let _ = writeln!(s, "{h} Per-step cost under each metric\n");
    let mut head = String::from("| program | ops |");
    let mut rule = String::from("|---|---:|");
    for m in METRICS {
        let _ = write!(head, " {} ({}) |", m.name(), unit(m));
        rule.push_str("---:|");
    }
    let _ = writeln!(s, "{head}\n{rule}");
    for r in &b.rows {
        let _ = write!(s, "| `{}` | {} |", r.program, r.ops);
        for m in METRICS {
            let _ = write!(s, " {} |", fig(r.per_step(m)));
        }
        s.push('\n');
    }
    s.push('\n');
}

/// Energy-to-solve under each metric, with ranks.
fn to_solve_section(s: &mut String, b: &Board, h: &str) {
    let rs = ranks(b);
    let _ = writeln!(s, "{h} Energy-to-solve under each metric (rank)\n");
    let _ = writeln!(
        s,
        "Unsolved programs rank after solved ones, by per-step cost; `—` marks no solved seed.\n"
    );
    let mut head = String::from("| program |");
    let mut rule = String::from("|---|");
    for m in METRICS {
        let _ = write!(head, " {} |", m.name());
        rule.push_str("---:|");
    }
    let _ = writeln!(s, "{head}\n{rule}");
    for (i, r) in b.rows.iter().enumerate() {
        let _ = write!(s, "| `{}` |", r.program);
        for m in METRICS {
            let _ = write!(s, " {} ({}) |", opt_fig(r.to_solve(m)), rank_in(&rs, m, i));
        }
        s.push('\n');
    }
    s.push('\n');
}

/// One cell per program and seed.
fn runs_section(s: &mut String, b: &Board, h: &str) {
    let _ = writeln!(s, "{h} Runs\n");
    let _ = writeln!(
        s,
        "Each cell is the solving epoch (steps), `no (E)` for a run that did not reach 100 % test accuracy in E epochs, or `diverged`.\n"
    );
    let mut head = String::from("| program |");
    let mut rule = String::from("|---|");
    for seed in &b.spec.seeds {
        let _ = write!(head, " seed {seed} |");
        rule.push_str("---:|");
    }
    let _ = writeln!(s, "{head}\n{rule}");
    for r in &b.rows {
        let _ = write!(s, "| `{}` |", r.program);
        for i in 0..b.spec.seeds.len() {
            let _ = write!(s, " {} |", run_cell(r, i));
        }
        s.push('\n');
    }
    s.push('\n');
    let diverged: Vec<&str> = b
        .rows
        .iter()
        .flat_map(|r| r.runs.iter().filter_map(|x| x.error.as_deref()))
        .collect();
    if !diverged.is_empty() {
        let _ = writeln!(
            s,
            "Diverged runs (program, seed, the op that produced NaN or infinity):\n"
        );
        for e in diverged {
            let _ = writeln!(s, "- {e}");
        }
        s.push('\n');
    }
}

/// Programs left off the board, and why.
fn skipped_section(s: &mut String, b: &Board) {
    let _ = writeln!(s, "## Skipped\n");
    if b.skipped.is_empty() {
        let _ = writeln!(s, "Every program fits the task.");
    } else {
        for k in &b.skipped {
            let _ = writeln!(s, "- `{}`: {}", k.program, k.reason);
        }
    }
}

fn baseline_section(s: &mut String, b: &Board, baseline: &str, h: &str) {
    let _ = writeln!(s, "{h} Against backprop (`{baseline}`)\n");
    let Some(base) = b.rows.iter().find(|r| r.program == baseline) else {
        let _ = writeln!(s, "`{baseline}` is not on this board.\n");
        return;
    };
    let m = Metric::ArdWrite;
    let Some(bv) = base.to_solve(m) else {
        let _ = writeln!(
            s,
            "`{baseline}` solved no seed, so energy-to-solve has no baseline on this board.\n"
        );
        return;
    };
    let mut better = Vec::new();
    let mut worse = Vec::new();
    for r in b.rows.iter().filter(|r| r.program != baseline) {
        match r.to_solve(m) {
            Some(v) => {
                let line = format!(
                    "`{}` {} ({:.2}× backprop; {} per step × {} median steps). {}",
                    r.program,
                    fig(v),
                    v / bv,
                    fig(r.per_step(m)),
                    opt_fig(r.median_steps()),
                    r.about
                );
                if v < bv { better.push(line) } else { worse.push(line) }
            }
            None => worse.push(format!("`{}` solved no seed. {}", r.program, r.about)),
        }
    }
    let _ = writeln!(
        s,
        "Backprop (`{baseline}`) needs {} under `ard_write` to solve ({} per step × {} median steps, {}/{} seeds solved).\n",
        fig(bv),
        fig(base.per_step(m)),
        opt_fig(base.median_steps()),
        base.solved(),
        base.runs.len()
    );
    if better.is_empty() {
        let _ = writeln!(s, "No program beats it on energy-to-solve under `ard_write`.\n");
    } else {
        let _ = writeln!(
            s,
            "Programs that beat it on energy-to-solve under `ard_write`:\n\n{}\n",
            better.iter().map(|l| format!("- {l}")).collect::<Vec<_>>().join("\n")
        );
    }
    if !worse.is_empty() {
        let _ = writeln!(
            s,
            "Programs that do not:\n\n{}\n",
            worse.iter().map(|l| format!("- {l}")).collect::<Vec<_>>().join("\n")
        );
    }
}

fn floor_section(s: &mut String, b: &Board, budget: u64, h: &str) {
    let _ = writeln!(s, "{h} Floor and the reorder-only optimizer\n");
    let _ = writeln!(
        s,
        "The floor is a provable lower bound on Σ s·d over every legal order of the program's own ops \
         (`docs/floor.md`). The reorder-only column is the exact branch-and-bound reorder search on Σ s·d \
         (budget {budget} nodes; `optimal` is proved, `budget` is the best found). Fusion changes the ops, \
         so the floor does not bound a fused program: compare `sprint1_fused` with `sprint1_standard`'s floor.\n"
    );
    let _ = writeln!(
        s,
        "| program | metric | per step | reorder-only (stop) | floor | per step ÷ floor | reorder-only ÷ floor |"
    );
    let _ = writeln!(s, "|---|---|---:|---:|---:|---:|---:|");
    for r in &b.rows {
        for m in CLOCK {
            let ps = r.per_step(m);
            let fl = r.floor(m).map(|x| x as f64);
            let ro = r.reordered(m);
            let ratio = |x: f64| fl.filter(|f| *f > 0.0).map_or("—".into(), |f| format!("{:.3}", x / f));
            let _ = writeln!(
                s,
                "| `{}` | {} | {} | {} | {} | {} | {} |",
                r.program,
                m.name(),
                fig(ps),
                ro.map_or("—".into(), |o| format!(
                    "{} ({})",
                    fig(o.sum_sd as f64),
                    o.stop.name()
                )),
                opt_fig(fl),
                ratio(ps),
                ro.map_or("—".into(), |o| ratio(o.sum_sd as f64)),
            );
        }
    }
    s.push('\n');
}

fn disagreement_section(s: &mut String, b: &Board, h: &str) {
    let _ = writeln!(s, "{h} Metric disagreement\n");
    let _ = writeln!(
        s,
        "Kendall's τ-b between the energy-to-solve rankings of each pair of metrics (1: same order, −1: reversed), \
         then the program pairs whose order flips.\n"
    );
    let ds = disagreements(b);
    let mut head = String::from("| τ |");
    let mut rule = String::from("|---|");
    for m in METRICS {
        let _ = write!(head, " {} |", m.name());
        rule.push_str("---:|");
    }
    let _ = writeln!(s, "{head}\n{rule}");
    for a in METRICS {
        let _ = write!(s, "| {} |", a.name());
        for c in METRICS {
            let cell = if a == c {
                "1".to_string()
            } else {
                ds.iter()
                    .find(|d| (d.a == a && d.b == c) || (d.a == c && d.b == a))
                    .and_then(|d| d.tau)
                    .map_or("—".into(), |t| format!("{t:.3}"))
            };
            let _ = write!(s, " {cell} |");
        }
        s.push('\n');
    }
    s.push('\n');
    let mut any = false;
    for d in &ds {
        if d.flips.is_empty() {
            continue;
        }
        any = true;
        let pairs: Vec<String> = d
            .flips
            .iter()
            .map(|&(i, j)| format!("`{}` < `{}`", b.rows[i].program, b.rows[j].program))
            .collect();
        let _ = writeln!(
            s,
            "- `{}` vs `{}` (τ = {}): under `{}`, {}; `{}` orders each pair the other way.",
            d.a.name(),
            d.b.name(),
            d.tau.map_or("—".into(), |t| format!("{t:.3}")),
            d.a.name(),
            pairs.join(", "),
            d.b.name()
        );
    }
    if !any {
        let _ = writeln!(s, "Every metric orders the programs the same way.");
    }
    s.push('\n');
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}

/// One labelled bar per program of `order` (a hatched marker when unsolved).
fn svg_bars(
    s: &mut String,
    b: &Board,
    m: Metric,
    order: &[usize],
    (w, left, right, top, bar, gap): (f64, f64, f64, f64, f64, f64),
    x: &dyn Fn(f64) -> f64,
) {
    for (k, &i) in order.iter().enumerate() {
        let r = &b.rows[i];
        let y = top + gap / 2.0 + (bar + gap) * k as f64;
        let _ = writeln!(
            s,
            "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\">{} ({}/{})</text>",
            left - 6.0,
            y + bar * 0.7,
            esc(&r.program),
            r.solved(),
            r.runs.len()
        );
        match r.to_solve(m).filter(|v| *v > 0.0) {
            Some(v) => {
                let xv = x(v);
                let _ = writeln!(
                    s,
                    "<rect x=\"{left}\" y=\"{y:.1}\" width=\"{:.1}\" height=\"{bar}\" fill=\"#1f77b4\"><title>{}: {}</title></rect><text x=\"{:.1}\" y=\"{:.1}\" font-size=\"11\">{}</text>",
                    (xv - left).max(1.0),
                    esc(&r.program),
                    fig(v),
                    (xv + 4.0).min(w - right - 60.0),
                    y + bar * 0.7,
                    fig(v)
                );
            }
            None => {
                let _ = writeln!(
                    s,
                    "<rect x=\"{left}\" y=\"{y:.1}\" width=\"60\" height=\"{bar}\" fill=\"url(#hatch)\" stroke=\"#d62728\"/><text x=\"{:.1}\" y=\"{:.1}\" font-size=\"11\">not solved</text>",
                    left + 66.0,
                    y + bar * 0.7
                );
            }
        }
    }
}

/// The board's chart: with `--scale`, the log–log chart of energy-to-solve
/// against n (`scale::svg`); otherwise one bar chart per task setting
/// (`bars`), stacked when there are several.
pub fn svg(b: &Board, m: Metric) -> String {
    if !b.spec.scale.is_empty() {
        return super::scale::svg(b, m);
    }
    let groups = b.groups();
    if groups.len() == 1 {
        return bars(b, m, "");
    }
    let charts: Vec<String> = groups
        .iter()
        .map(|g| bars(g, m, &format!(", {}", task_title(g))))
        .collect();
    let heights: Vec<f64> = groups.iter().map(|g| bars_height(g.rows.len())).collect();
    let total: f64 = heights.iter().sum();
    let mut s = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"760\" height=\"{total}\" viewBox=\"0 0 760 {total}\" font-family=\"sans-serif\" font-size=\"12\">\n"
    );
    let mut y = 0.0;
    for (c, hgt) in charts.iter().zip(&heights) {
        // Each part is a complete chart; nested at its offset.
        let inner = c.replacen("<svg ", &format!("<svg x=\"0\" y=\"{y}\" "), 1);
        s.push_str(&inner);
        y += hgt;
    }
    s.push_str("</svg>\n");
    s
}

fn bars_height(rows: usize) -> f64 {
    60.0 + 30.0 * rows.max(1) as f64 + 90.0
}

/// A horizontal bar chart of median energy-to-solve under `m` per program, on a
/// log scale; programs that solved no seed get a hatched marker instead of a bar.
fn bars(b: &Board, m: Metric, title_tail: &str) -> String {
    let order = by_rank(b, m);
    let (w, left, right, top, bar, gap) = (760.0f64, 190.0f64, 30.0f64, 60.0f64, 22.0f64, 8.0f64);
    let h = top + (bar + gap) * order.len().max(1) as f64 + 90.0;
    let vals: Vec<f64> = order
        .iter()
        .filter_map(|&i| b.rows[i].to_solve(m))
        .filter(|v| *v > 0.0)
        .collect();
    let lo = vals.iter().copied().fold(f64::INFINITY, f64::min);
    let hi = vals.iter().copied().fold(0.0f64, f64::max);
    let (d0, d1) = if vals.is_empty() {
        (0, 1)
    } else {
        (
            lo.log10().floor() as i32,
            (hi.log10().ceil() as i32).max(lo.log10().floor() as i32 + 1),
        )
    };
    let plot_w = w - left - right;
    let x = |v: f64| left + plot_w * (v.log10() - f64::from(d0)) / f64::from(d1 - d0);
    let axis_y = top + (bar + gap) * order.len().max(1) as f64;
    let mut s = String::new();
    let _ = writeln!(
        s,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{w}\" height=\"{h}\" viewBox=\"0 0 {w} {h}\" font-family=\"sans-serif\" font-size=\"12\">"
    );
    let title = format!(
        "Energy-to-solve per program: {} ({}), task {}{title_tail}",
        m.name(),
        unit(m),
        b.spec.task
    );
    let _ = writeln!(s, "<title>{}</title>", esc(&title));
    let _ = writeln!(s, "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>");
    let _ = writeln!(
        s,
        "<defs><pattern id=\"hatch\" width=\"6\" height=\"6\" patternUnits=\"userSpaceOnUse\" patternTransform=\"rotate(45)\"><line x1=\"0\" y1=\"0\" x2=\"0\" y2=\"6\" stroke=\"#d62728\" stroke-width=\"2\"/></pattern></defs>"
    );
    let _ = writeln!(
        s,
        "<text x=\"{}\" y=\"24\" text-anchor=\"middle\" font-size=\"15\">{}</text>",
        w / 2.0,
        esc(&title)
    );
    let _ = writeln!(
        s,
        "<text x=\"{}\" y=\"42\" text-anchor=\"middle\" fill=\"#555\">median over solved seeds of per-step total × steps to 100 % test; log scale</text>",
        w / 2.0
    );
    for k in d0..=d1 {
        let xv = x(10f64.powi(k));
        let _ = writeln!(
            s,
            "<line x1=\"{xv:.1}\" y1=\"{top}\" x2=\"{xv:.1}\" y2=\"{axis_y}\" stroke=\"#ddd\"/><text x=\"{xv:.1}\" y=\"{:.1}\" text-anchor=\"middle\">1e{k}</text>",
            axis_y + 16.0
        );
    }
    let _ = writeln!(
        s,
        "<line x1=\"{left}\" y1=\"{axis_y}\" x2=\"{:.1}\" y2=\"{axis_y}\" stroke=\"black\"/>",
        w - right
    );
    let _ = writeln!(
        s,
        "<line x1=\"{left}\" y1=\"{top}\" x2=\"{left}\" y2=\"{axis_y}\" stroke=\"black\"/>"
    );
    let _ = writeln!(
        s,
        "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\">energy-to-solve, {} ({})</text>",
        left + plot_w / 2.0,
        axis_y + 36.0,
        m.name(),
        unit(m)
    );
    let _ = writeln!(
        s,
        "<text x=\"16\" y=\"{:.1}\" transform=\"rotate(-90 16 {:.1})\" text-anchor=\"middle\">program (best first)</text>",
        (top + axis_y) / 2.0,
        (top + axis_y) / 2.0
    );
    svg_bars(&mut s, b, m, &order, (w, left, right, top, bar, gap), &x);
    let ly = axis_y + 56.0;
    let _ = writeln!(
        s,
        "<rect x=\"{left}\" y=\"{ly}\" width=\"14\" height=\"14\" fill=\"#1f77b4\"/><text x=\"{:.1}\" y=\"{:.1}\">solved: median energy-to-solve</text>",
        left + 20.0,
        ly + 12.0
    );
    let _ = writeln!(
        s,
        "<rect x=\"{:.1}\" y=\"{ly}\" width=\"14\" height=\"14\" fill=\"url(#hatch)\" stroke=\"#d62728\"/><text x=\"{:.1}\" y=\"{:.1}\">no seed solved</text>",
        left + 260.0,
        left + 280.0,
        ly + 12.0
    );
    s.push_str("</svg>\n");
    s
}
