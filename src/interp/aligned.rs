//! Buffers whose first element sits on a 64-byte boundary (a cache line).
//!
//! The kernels stream buffers with 32-byte vector loads. A buffer from the
//! system allocator starts wherever the allocation history left it (16-byte
//! alignment), so the same program ran faster or slower depending on what was
//! allocated before it: a load that straddles two cache lines costs more. Every
//! interpreter buffer and every packed weight panel starts on a line instead,
//! so the speed of a step no longer depends on unrelated allocations. The
//! values, and so the results, are the same either way.

use std::ops::{Deref, DerefMut};

/// Floats per 64-byte line.
const LINE: usize = 16;

/// A fixed-length `f32` buffer starting on a 64-byte boundary: a vector with up
/// to 15 floats of slack in front, and the offset of the first used one.
#[derive(Clone, Debug, Default)]
pub struct Aligned {
    store: Vec<f32>,
    start: usize,
    len: usize,
}

impl Aligned {
    /// `len` zeros.
    pub fn zeros(len: usize) -> Aligned {
        if len == 0 {
            return Aligned::default();
        }
        let store = vec![0.0f32; len + LINE - 1];
        // Reading the address is safe; the slack in front is never used.
        let misalign = (store.as_ptr() as usize / std::mem::size_of::<f32>()) % LINE;
        let start = (LINE - misalign) % LINE;
        Aligned { store, start, len }
    }
}

impl Deref for Aligned {
    type Target = [f32];
    fn deref(&self) -> &[f32] {
        &self.store[self.start..self.start + self.len]
    }
}

impl DerefMut for Aligned {
    fn deref_mut(&mut self) -> &mut [f32] {
        &mut self.store[self.start..self.start + self.len]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn starts_on_a_line_and_has_the_asked_length() {
        for len in [0usize, 1, 15, 16, 17, 1000] {
            let mut a = Aligned::zeros(len);
            assert_eq!(a.len(), len);
            assert!(a.iter().all(|v| *v == 0.0));
            if len > 0 {
                assert_eq!(a.as_ptr() as usize % 64, 0, "len {len}");
                a[len - 1] = 2.0;
                assert_eq!(a.last(), Some(&2.0));
            }
        }
    }
}
