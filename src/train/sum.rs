//! Sparse sum: y = the sum of the k secret bits of x ∈ {±1}^n, a value in
//! {−k, −k+2, …, k}, learned by regression (mse). A prediction counts as correct
//! when rounding it to the nearest attainable value gives y exactly.

use super::{Task, TaskConfig};
use crate::ir::{OpKind, Prim, Program};

/// The sparse-sum task.
#[derive(Clone, Copy, Debug, Default)]
pub struct Sum {
    /// Secret bits (the attainable values depend on it); set by `generate`.
    pub k: usize,
}

/// The attainable value nearest to `pred`: k − 2j for the j in 0..=k that fits best.
pub fn round_to_attainable(pred: f32, k: usize) -> f32 {
    let k = k as f32;
    let j = ((k - pred) / 2.0).round().clamp(0.0, k);
    k - 2.0 * j
}

impl Task for Sum {
    fn name(&self) -> &'static str {
        "sum"
    }

    fn label(&self, bits: &[f32]) -> f32 {
        bits.iter().sum::<f32>()
    }

    fn loss(&self, pred: f32, y: f32) -> f64 {
        f64::from((pred - y) * (pred - y))
    }

    fn correct(&self, pred: f32, y: f32) -> bool {
        round_to_attainable(pred, self.k) == y
    }

    fn configure(&mut self, cfg: &TaskConfig) {
        self.k = cfg.k;
    }

    fn fits(&self, p: &Program) -> Result<(), String> {
        let uses_mse = p.ops.iter().any(|o| match &o.kind {
            OpKind::Call { prim, .. } => matches!(prim, Prim::Mse | Prim::MseGrad),
            _ => false,
        });
        if uses_mse {
            Ok(())
        } else {
            Err("the sum task is a regression: the program must use `mse` or `mse_grad`".into())
        }
    }
}
