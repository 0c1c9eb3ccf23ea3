//! Sparse AND: y = +1 iff all k secret bits of x ∈ {±1}^n are +1, else −1.

use super::Task;

/// The sparse-AND task.
#[derive(Clone, Copy, Debug, Default)]
pub struct And;

impl Task for And {
    fn name(&self) -> &'static str {
        "and"
    }

    fn label(&self, bits: &[f32]) -> f32 {
        if bits.iter().all(|b| *b > 0.0) { 1.0 } else { -1.0 }
    }

    fn loss(&self, pred: f32, y: f32) -> f64 {
        f64::from((1.0 - y * pred).max(0.0))
    }

    fn correct(&self, pred: f32, y: f32) -> bool {
        (if pred >= 0.0 { 1.0 } else { -1.0 }) == y
    }
}
