//! Sparse AND: y = +1 iff all k secret bits of x ∈ {±1}^n are +1, else −1.

use super::parity::{draw_bits, draw_secret};
use super::{Dataset, Task, TaskConfig, rng_for};

/// The sparse-AND task.
#[derive(Clone, Copy, Debug, Default)]
pub struct And;

impl Task for And {
    fn name(&self) -> &'static str {
        "and"
    }

    fn generate(&self, cfg: &TaskConfig, seed: u64) -> Dataset {
        let mut rng = rng_for(seed, "data");
        let secret = draw_secret(&mut rng, cfg.n, cfg.k);
        let label = |x: &[f32]| if secret.iter().all(|&i| x[i] > 0.0) { 1.0 } else { -1.0 };
        let (train_x, train_y) = draw_bits(&mut rng, cfg.n_train, cfg.n, label);
        let (test_x, test_y) = draw_bits(&mut rng, cfg.n_test, cfg.n, label);
        Dataset {
            secret,
            train_x,
            train_y,
            test_x,
            test_y,
        }
    }

    fn loss(&self, pred: f32, y: f32) -> f64 {
        f64::from((1.0 - y * pred).max(0.0))
    }

    fn correct(&self, pred: f32, y: f32) -> bool {
        (if pred >= 0.0 { 1.0 } else { -1.0 }) == y
    }
}
