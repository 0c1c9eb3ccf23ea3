//! f32 kernels: tight loops over slices with a fixed summation order.
//!
//! Dot products use 16 independent partial sums (so they vectorize without
//! reassociation) combined in a fixed tree; row accumulations (`axpy`) run over
//! the reduced axis in index order. Fused ops call these same helpers in the same
//! order as the ops they replace, so fusion is bit-exact. No FMA is used: Rust
//! never contracts `a * b + c`.

const LANES: usize = 16;

/// Σ a[i]·b[i] with 16 partial sums and a fixed combine order.
#[inline]
pub fn dot(a: &[f32], b: &[f32]) -> f32 {
    let n = a.len().min(b.len());
    let (a, b) = (&a[..n], &b[..n]);
    let mut acc = [0.0f32; LANES];
    let ca = a.chunks_exact(LANES);
    let cb = b.chunks_exact(LANES);
    let (ta, tb) = (ca.remainder(), cb.remainder());
    for (x, y) in ca.zip(cb) {
        for l in 0..LANES {
            acc[l] += x[l] * y[l];
        }
    }
    for (l, (x, y)) in ta.iter().zip(tb).enumerate() {
        acc[l] += x * y;
    }
    let mut w = LANES;
    while w > 1 {
        w /= 2;
        for l in 0..w {
            acc[l] += acc[l + w];
        }
    }
    acc[0]
}

/// y[j] = s·x[j] (the first term of a row accumulation).
#[inline]
pub fn scal_into(y: &mut [f32], s: f32, x: &[f32]) {
    for (y, x) in y.iter_mut().zip(x) {
        *y = s * x;
    }
}

/// y[j] += s·x[j].
#[inline]
pub fn axpy(y: &mut [f32], s: f32, x: &[f32]) {
    for (y, x) in y.iter_mut().zip(x) {
        *y += s * x;
    }
}

/// y[r,:] = x[r,:]·Wᵀ + b for x[B,i], W[o,i], b[o].
pub fn affine(y: &mut [f32], x: &[f32], w: &[f32], b: &[f32], i: usize, o: usize) {
    for (yr, xr) in y.chunks_exact_mut(o).zip(x.chunks_exact(i)) {
        for ((yk, wk), bk) in yr.iter_mut().zip(w.chunks_exact(i)).zip(b) {
            *yk = dot(xr, wk) + bk;
        }
    }
}

/// c[i,:] = Σ_r a[r,i]·b[r,:] for a[B,m], b[B,n] (outer products summed over rows).
pub fn outer_rows(c: &mut [f32], a: &[f32], b: &[f32], m: usize, n: usize) {
    for (i, ci) in c.chunks_exact_mut(n).enumerate().take(m) {
        outer_row(ci, a, b, i, m, n);
    }
}

/// One row of `outer_rows`: c_i[:] = Σ_r a[r,i]·b[r,:].
#[inline]
pub fn outer_row(ci: &mut [f32], a: &[f32], b: &[f32], i: usize, m: usize, n: usize) {
    let mut rows = a.chunks_exact(m).zip(b.chunks_exact(n));
    if let Some((ar, br)) = rows.next() {
        scal_into(ci, ar[i], br);
    }
    for (ar, br) in rows {
        axpy(ci, ar[i], br);
    }
}

/// c[:] = Σ_r a[r,:] for a[B,n].
pub fn sum_rows(c: &mut [f32], a: &[f32], n: usize) {
    let mut rows = a.chunks_exact(n);
    if let Some(r) = rows.next() {
        c.copy_from_slice(r);
    }
    for r in rows {
        for (c, x) in c.iter_mut().zip(r) {
            *c += x;
        }
    }
}

/// c[i,:] = Σ_p a[i,p]·b[p,:] for a[m,k], b[k,n].
pub fn matmul(c: &mut [f32], a: &[f32], b: &[f32], k: usize, n: usize) {
    for (ci, ai) in c.chunks_exact_mut(n).zip(a.chunks_exact(k)) {
        let mut rows = ai.iter().zip(b.chunks_exact(n));
        if let Some((s, br)) = rows.next() {
            scal_into(ci, *s, br);
        }
        for (s, br) in rows {
            axpy(ci, *s, br);
        }
    }
}

/// c[i,j] = a[i,:]·b[j,:] for a[m,k], b[n,k].
pub fn matmul_nt(c: &mut [f32], a: &[f32], b: &[f32], k: usize, n: usize) {
    for (ci, ai) in c.chunks_exact_mut(n).zip(a.chunks_exact(k)) {
        for (cij, bj) in ci.iter_mut().zip(b.chunks_exact(k)) {
            *cij = dot(ai, bj);
        }
    }
}

/// Elementwise with row broadcast of `b` over `a`.
#[inline]
pub fn zip_bcast(c: &mut [f32], a: &[f32], b: &[f32], f: impl Fn(f32, f32) -> f32) {
    let n = b.len().max(1);
    for (cr, ar) in c.chunks_mut(n).zip(a.chunks(n)) {
        for ((c, x), y) in cr.iter_mut().zip(ar).zip(b) {
            *c = f(*x, *y);
        }
    }
}

/// sign with sign(±0) = 0 (and NaN kept).
#[inline]
pub fn sign(x: f32) -> f32 {
    if x > 0.0 {
        1.0
    } else if x < 0.0 {
        -1.0
    } else if x.is_nan() {
        x
    } else {
        0.0
    }
}

/// p ← p − lr·(g + wd·p).
#[inline]
pub fn sgd(p: &mut [f32], g: &[f32], lr: f32, wd: f32) {
    for (p, g) in p.iter_mut().zip(g) {
        *p -= lr * (g + wd * *p);
    }
}

/// Whether every element is finite (no early exit, so it vectorizes).
#[inline]
pub fn all_finite(x: &[f32]) -> bool {
    x.iter().fold(true, |ok, v| ok & v.is_finite())
}
