//! Slices: a region of a buffer as the shape an op sees and the contiguous runs
//! of elements it touches (ascending, so a strided slice is a sequence of range
//! events in element order, as the metrics spec's partial accesses require).

use crate::ir::Range;

/// A resolved slice.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Region {
    /// The shape the op sees (index axes dropped; `[1]` if none is left).
    pub shape: Vec<usize>,
    /// Contiguous runs `(first element within the buffer, element count)`, ascending.
    pub runs: Vec<(usize, usize)>,
}

impl Region {
    /// Element count.
    pub fn size(&self) -> usize {
        self.shape.iter().product()
    }
}

/// Resolves `axes` against a buffer of shape `dims`; `eval` gives each bound's
/// value. An error names the axis and the bound.
pub fn region(dims: &[usize], axes: &[Range], eval: &mut dyn FnMut(&crate::ir::Expr) -> f64) -> Result<Region, String> {
    if axes.len() != dims.len() {
        return Err(format!(
            "the buffer has {} axes, the slice gives {}",
            dims.len(),
            axes.len()
        ));
    }
    let mut lo = Vec::with_capacity(dims.len());
    let mut len = Vec::with_capacity(dims.len());
    let mut shape = Vec::new();
    for (k, (r, &d)) in axes.iter().zip(dims).enumerate() {
        let whole = |v: f64, what: &str| -> Result<usize, String> {
            if v.is_finite() && v.fract() == 0.0 && v >= 0.0 && v <= d as f64 {
                Ok(v as usize)
            } else {
                Err(format!("axis {k}: {what} {v} is out of bounds for extent {d}"))
            }
        };
        match r {
            Range::All => {
                lo.push(0);
                len.push(d);
                shape.push(d);
            }
            Range::Index(e) => {
                let i = whole(eval(e), "index")?;
                if i >= d {
                    return Err(format!("axis {k}: index {i} is out of bounds for extent {d}"));
                }
                lo.push(i);
                len.push(1);
            }
            Range::Span(a, b) => {
                let (a, b) = (whole(eval(a), "start")?, whole(eval(b), "end")?);
                if a >= b {
                    return Err(format!("axis {k}: the range {a}:{b} is empty"));
                }
                lo.push(a);
                len.push(b - a);
                shape.push(b - a);
            }
        }
    }
    if shape.is_empty() {
        shape.push(1);
    }
    Ok(Region {
        shape,
        runs: runs(dims, &lo, &len),
    })
}

/// The contiguous runs of the box `lo + [0, len)` in a row-major buffer of shape `dims`.
fn runs(dims: &[usize], lo: &[usize], len: &[usize]) -> Vec<(usize, usize)> {
    let r = dims.len();
    let mut stride = vec![1usize; r];
    for k in (0..r.saturating_sub(1)).rev() {
        stride[k] = stride[k + 1] * dims[k + 1];
    }
    // The last axis that is not whole: everything after it is contiguous.
    let j = (0..r).rev().find(|&k| len[k] != dims[k]).unwrap_or(0);
    let run = if r == 0 { 1 } else { len[j] * stride[j] };
    let mut out: Vec<(usize, usize)> = Vec::new();
    let mut idx = vec![0usize; j];
    loop {
        let start: usize = (0..j).map(|k| (lo[k] + idx[k]) * stride[k]).sum::<usize>()
            + lo.get(j).copied().unwrap_or(0) * stride.get(j).copied().unwrap_or(1);
        match out.last_mut() {
            Some((s, l)) if *s + *l == start => *l += run,
            _ => out.push((start, run)),
        }
        // Next multi-index over the leading axes.
        let mut k = j;
        loop {
            if k == 0 {
                return out;
            }
            k -= 1;
            idx[k] += 1;
            if idx[k] < len[k] {
                break;
            }
            idx[k] = 0;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::runs;

    #[test]
    fn rows_columns_and_blocks_give_ascending_runs() {
        // A[3,4]: row 1 is elements 4..8.
        assert_eq!(runs(&[3, 4], &[1, 0], &[1, 4]), vec![(4, 4)]);
        // Column 2: one element per row.
        assert_eq!(runs(&[3, 4], &[0, 2], &[3, 1]), vec![(2, 1), (6, 1), (10, 1)]);
        // Rows 1..3, all columns: one run of 8.
        assert_eq!(runs(&[3, 4], &[1, 0], &[2, 4]), vec![(4, 8)]);
        // Block rows 0..2, columns 1..3.
        assert_eq!(runs(&[3, 4], &[0, 1], &[2, 2]), vec![(1, 2), (5, 2)]);
        // A vector range.
        assert_eq!(runs(&[10], &[3], &[4]), vec![(3, 4)]);
    }
}
