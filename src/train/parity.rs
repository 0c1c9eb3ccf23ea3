//! Sparse parity: y = product of k secret bits of x ∈ {±1}^n.

use super::Task;
use rand::Rng;

/// The sparse-parity task.
#[derive(Clone, Copy, Debug, Default)]
pub struct Parity;

/// Draws `k` distinct indices of `0..n` (partial Fisher–Yates), sorted ascending.
pub fn draw_secret(rng: &mut rand::rngs::ChaCha8Rng, n: usize, k: usize) -> Vec<usize> {
    let mut idx: Vec<usize> = (0..n).collect();
    for i in 0..k.min(n) {
        let j = i + (rng.next_u32() as usize) % (n - i);
        idx.swap(i, j);
    }
    let mut s = idx[..k.min(n)].to_vec();
    s.sort_unstable();
    s
}

/// Fills `count` examples of n random ±1 bits and their labels from `label`.
pub fn draw_bits(
    rng: &mut rand::rngs::ChaCha8Rng,
    count: usize,
    n: usize,
    mut label: impl FnMut(&[f32]) -> f32,
) -> (Vec<f32>, Vec<f32>) {
    let mut xs = Vec::with_capacity(count * n);
    let mut ys = Vec::with_capacity(count);
    for _ in 0..count {
        let start = xs.len();
        for _ in 0..n {
            xs.push(if rng.next_u32() >> 31 == 1 { 1.0 } else { -1.0 });
        }
        ys.push(label(&xs[start..]));
    }
    (xs, ys)
}

impl Task for Parity {
    fn name(&self) -> &'static str {
        "parity"
    }

    fn label(&self, bits: &[f32]) -> f32 {
        bits.iter().product::<f32>()
    }

    fn loss(&self, pred: f32, y: f32) -> f64 {
        f64::from((1.0 - y * pred).max(0.0))
    }

    fn correct(&self, pred: f32, y: f32) -> bool {
        (if pred >= 0.0 { 1.0 } else { -1.0 }) == y
    }
}
