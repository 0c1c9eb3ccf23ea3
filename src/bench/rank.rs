//! Ranks under each metric, Kendall's tau between rankings, and the program
//! pairs whose order flips between two metrics.
//!
//! A row's key under a metric is (unsolved?, value): solved rows by median
//! energy-to-solve, then unsolved rows by per-step cost. Ranks are competition
//! ranks ("1224"): equal keys share a rank. Tau is Kendall's tau-b, which counts a
//! pair tied in either ranking as neither concordant nor discordant and corrects
//! the denominator for ties.

use super::{Board, METRICS, Row};
use crate::analysis::Metric;
use std::cmp::Ordering;

/// The sort key of a row under a metric.
pub fn key(r: &Row, m: Metric) -> (bool, f64) {
    match r.to_solve(m) {
        Some(v) => (false, v),
        None => (true, r.per_step(m)),
    }
}

fn cmp_key(a: (bool, f64), b: (bool, f64)) -> Ordering {
    a.0.cmp(&b.0).then(a.1.total_cmp(&b.1))
}

/// Competition ranks (1-based) of `n` items under a comparison.
pub fn competition_ranks(n: usize, cmp: impl Fn(usize, usize) -> Ordering) -> Vec<usize> {
    (0..n)
        .map(|i| 1 + (0..n).filter(|&j| cmp(j, i) == Ordering::Less).count())
        .collect()
}

/// Each metric's ranks of the board's rows, in row order.
pub fn ranks(b: &Board) -> Vec<(Metric, Vec<usize>)> {
    METRICS
        .iter()
        .map(|&m| {
            let keys: Vec<(bool, f64)> = b.rows.iter().map(|r| key(r, m)).collect();
            (m, competition_ranks(keys.len(), |i, j| cmp_key(keys[i], keys[j])))
        })
        .collect()
}

/// Kendall's tau-b of two rankings of `n` items given as comparisons; `None`
/// when fewer than two items or when either ranking ties every pair.
pub fn kendall_tau_b_by(
    n: usize,
    x: impl Fn(usize, usize) -> Ordering,
    y: impl Fn(usize, usize) -> Ordering,
) -> Option<f64> {
    let (mut concordant, mut discordant, mut ties_x, mut ties_y, mut pairs) = (0i64, 0i64, 0i64, 0i64, 0i64);
    for i in 0..n {
        for j in i + 1..n {
            pairs += 1;
            let (a, b) = (x(i, j), y(i, j));
            if a == Ordering::Equal {
                ties_x += 1;
            }
            if b == Ordering::Equal {
                ties_y += 1;
            }
            if a != Ordering::Equal && b != Ordering::Equal {
                if a == b {
                    concordant += 1;
                } else {
                    discordant += 1;
                }
            }
        }
    }
    let denom = (((pairs - ties_x) * (pairs - ties_y)) as f64).sqrt();
    if pairs == 0 || denom == 0.0 {
        return None;
    }
    Some((concordant - discordant) as f64 / denom)
}

/// Kendall's tau-b of two score lists (lower is better in both).
pub fn kendall_tau_b(x: &[f64], y: &[f64]) -> Option<f64> {
    let n = x.len().min(y.len());
    kendall_tau_b_by(n, |i, j| x[i].total_cmp(&x[j]), |i, j| y[i].total_cmp(&y[j]))
}

/// Two metrics, their tau and the row pairs `(better under a, better under b)`
/// whose order flips.
#[derive(Clone, Debug, PartialEq)]
pub struct Disagreement {
    /// The first metric.
    pub a: Metric,
    /// The second metric.
    pub b: Metric,
    /// Kendall's tau-b between the two rankings.
    pub tau: Option<f64>,
    /// Row indices `(i, j)`: `i` ranks above `j` under `a`, below it under `b`.
    pub flips: Vec<(usize, usize)>,
}

/// Every pair of metrics, in spec order.
pub fn disagreements(b: &Board) -> Vec<Disagreement> {
    let keys: Vec<Vec<(bool, f64)>> = METRICS
        .iter()
        .map(|&m| b.rows.iter().map(|r| key(r, m)).collect())
        .collect();
    let n = b.rows.len();
    let mut out = Vec::new();
    for (ia, &ma) in METRICS.iter().enumerate() {
        for (ib, &mb) in METRICS.iter().enumerate().skip(ia + 1) {
            let (ka, kb) = (&keys[ia], &keys[ib]);
            let ca = |i: usize, j: usize| cmp_key(ka[i], ka[j]);
            let cb = |i: usize, j: usize| cmp_key(kb[i], kb[j]);
            let mut flips = Vec::new();
            for i in 0..n {
                for j in 0..n {
                    if ca(i, j) == Ordering::Less && cb(i, j) == Ordering::Greater {
                        flips.push((i, j));
                    }
                }
            }
            out.push(Disagreement {
                a: ma,
                b: mb,
                tau: kendall_tau_b_by(n, ca, cb),
                flips,
            });
        }
    }
    out
}
