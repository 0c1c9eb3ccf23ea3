//! f32 kernels: tight loops over slices with a fixed summation order.
//!
//! Dot products use 16 independent partial sums (so they vectorize without
//! reassociation) combined in a fixed tree; row accumulations (`axpy`) run over
//! the reduced axis in index order. Fused ops call these same helpers in the same
//! order as the ops they replace, so fusion is bit-exact. No FMA is used: Rust
//! never contracts `a * b + c`.

const LANES: usize = 16;

/// Σ a[i]·b[i] with 16 partial sums and a fixed combine order: lane l sums the
/// terms i ≡ l (mod 16) in ascending i starting from +0, then the lanes combine as
/// acc[l] += acc[l + w] for w = 8, 4, 2, 1. Every kernel that computes a `dot`
/// (`affine_packed`'s `dot_row`) follows exactly this order.
#[inline]
pub fn dot(a: &[f32], b: &[f32]) -> f32 {
    let n = a.len().min(b.len());
    let (ac, at) = a[..n].as_chunks::<LANES>();
    let (bc, bt) = b[..n].as_chunks::<LANES>();
    let mut acc = [0.0f32; LANES];
    for (x, y) in ac.iter().zip(bc) {
        for ((acc, x), y) in acc.iter_mut().zip(x).zip(y) {
            *acc += x * y;
        }
    }
    if !at.is_empty() {
        // The tail, zero-padded: the padding adds 0·0 = +0 to lanes that never
        // hold −0 (they start at +0, and a sum is −0 only if both terms are), so
        // those lanes keep their bits.
        let (mut x, mut y) = ([0.0f32; LANES], [0.0f32; LANES]);
        x[..at.len()].copy_from_slice(at);
        y[..bt.len()].copy_from_slice(bt);
        for ((acc, x), y) in acc.iter_mut().zip(&x).zip(&y) {
            *acc += x * y;
        }
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

/// y[r,:] = x[r,:]·Wᵀ + b for x[B,i], W[o,i], b[o], one `dot` per element.
///
/// The reference form of `affine`; [`affine_packed`] computes the same bits faster.
pub fn affine(y: &mut [f32], x: &[f32], w: &[f32], b: &[f32], i: usize, o: usize) {
    for (yr, xr) in y.chunks_exact_mut(o).zip(x.chunks_exact(i)) {
        for ((yk, wk), bk) in yr.iter_mut().zip(w.chunks_exact(i)).zip(b) {
            *yk = dot(xr, wk) + bk;
        }
    }
}

/// Output columns per panel of the packed dot kernels (one lane vector per row).
pub const PANEL: usize = 16;

/// Scratch length [`pack_panels`] needs for W[o,i].
pub fn packed_len(i: usize, o: usize) -> usize {
    o.div_ceil(PANEL) * PANEL * i
}

/// Packs W[o,i] into panels of `PANEL` rows of W, transposed: panel p holds
/// W[p·16 + v, j] at `p·16·i + j·16 + v`; rows past `o` are zero.
pub fn pack_panels(wp: &mut [f32], w: &[f32], i: usize, o: usize) {
    if i == 0 {
        return;
    }
    let w = &w[..(o * i).min(w.len())];
    for (p, panel) in wp.chunks_exact_mut(PANEL * i).enumerate() {
        if (p + 1) * PANEL > o {
            panel.fill(0.0);
        }
        for (v, wrow) in w.chunks_exact(i).skip(p * PANEL).take(PANEL).enumerate() {
            for (dst, x) in panel.chunks_exact_mut(PANEL).zip(wrow) {
                dst[v] = *x;
            }
        }
    }
}

/// One lane vector: 16 output columns.
type V = [f32; PANEL];

/// acc[v] += s·w[v].
#[inline(always)]
fn v_axpy(acc: &mut V, s: f32, w: &V) {
    for (a, w) in acc.iter_mut().zip(w) {
        *a += s * w;
    }
}

/// a[v] + b[v].
#[inline(always)]
fn v_add(mut a: V, b: &V) -> V {
    for (a, b) in a.iter_mut().zip(b) {
        *a += b;
    }
    a
}

/// Expands `$body` once per listed constant (a loop LLVM cannot turn into
/// gathers: register tiles must stay in registers).
macro_rules! unroll {
    ($k:ident in [$($n:literal),*] $body:block) => {
        $( { const $k: usize = $n; $body } )*
    };
}

/// s·w[v].
#[inline(always)]
fn v_scale(s: f32, w: &V) -> V {
    let mut out = [0.0f32; PANEL];
    for (o, w) in out.iter_mut().zip(w) {
        *o = s * w;
    }
    out
}

/// One row × 16 columns of `dot` over a packed panel, chunk by chunk, with the
/// 16 lane accumulators (one vector each) in registers: every term goes to lane
/// j mod 16 in ascending j, and the lanes combine in `dot`'s tree order
/// (acc[l] += acc[l + w] for w = 8, 4, 2, 1).
///
/// `dot` starts each lane at +0; here a lane starts at −0, the exact additive
/// identity, so its first add is dropped (for i ≥ 16 that is 16 adds of 56), and
/// one `+ 0` at the end restores `dot`'s bits: with f(x) = x + 0 (−0 ↦ +0, else
/// x), f(x) + y = f(x + y) and f(x) + f(y) = f(x + y), so `dot`'s result is f of
/// this sum taken in the same order.
#[inline(always)]
fn dot_row(xr: &[f32], wrows: &[V]) -> V {
    let mut acc = [[-0.0f32; PANEL]; LANES];
    let (xc, xt) = xr.as_chunks::<LANES>();
    let (wc, wt) = wrows.as_chunks::<LANES>();
    let mut chunks = xc.iter().zip(wc);
    if let Some((xs, ws)) = chunks.next() {
        unroll!(L in [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15] {
            acc[L] = v_scale(xs[L], &ws[L]);
        });
    }
    for (xs, ws) in chunks {
        unroll!(L in [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15] {
            v_axpy(&mut acc[L], xs[L], &ws[L]);
        });
    }
    unroll!(L in [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14] {
        if let (Some(x), Some(w)) = (xt.get(L), wt.get(L)) {
            v_axpy(&mut acc[L], *x, w);
        }
    });
    unroll!(L in [0, 1, 2, 3, 4, 5, 6, 7] {
        acc[L] = v_add(acc[L], &acc[L + 8]);
    });
    unroll!(L in [0, 1, 2, 3] {
        acc[L] = v_add(acc[L], &acc[L + 4]);
    });
    unroll!(L in [0, 1] {
        acc[L] = v_add(acc[L], &acc[L + 2]);
    });
    v_add(v_add(acc[0], &acc[1]), &[0.0; PANEL])
}

/// Stores one row of a panel, adding the bias: y[v] = t[v] + b[v] for the
/// columns that exist (`y` and `b` hold them; the last panel may be partial).
#[inline(always)]
fn store_row(y: &mut [f32], t: &V, b: &[f32]) {
    if let (Some(y), Some(b)) = (y.first_chunk_mut::<PANEL>(), b.first_chunk::<PANEL>()) {
        for ((y, t), b) in y.iter_mut().zip(t).zip(b) {
            *y = t + b;
        }
    } else {
        for ((y, t), b) in y.iter_mut().zip(t).zip(b) {
            *y = t + b;
        }
    }
}

/// `affine` on W packed by [`pack_panels`]: bit-identical to [`affine`] (each
/// element is the same `dot` lanes and tree, then `+ b`), vectorized across 16
/// output columns and blocked over 4 rows.
pub fn affine_packed(y: &mut [f32], x: &[f32], wp: &[f32], b: &[f32], i: usize, o: usize) {
    if i == 0 || o == 0 {
        return affine(y, x, &[], b, i, o);
    }
    let rows = y.len() / o;
    for (p, panel) in wp.chunks_exact(PANEL * i).enumerate() {
        let (wrows, _) = panel.as_chunks::<PANEL>();
        let c0 = p * PANEL;
        for (r, xr) in x.chunks_exact(i).take(rows).enumerate() {
            let t = dot_row(xr, wrows);
            let w = PANEL.min(o - c0);
            if let (Some(yr), Some(br)) = (y.get_mut(r * o + c0..r * o + c0 + w), b.get(c0..c0 + w)) {
                store_row(yr, &t, br);
            }
        }
    }
}

/// c[i,:] = Σ_r a[r,i]·b[r,:] for a[B,m], b[B,n], one row of c at a time.
///
/// The reference form of [`outer_rows`] (same bits): each element is the first
/// row's product (`scal_into`), then the later rows added in row order (`axpy`).
pub fn outer_rows_ref(c: &mut [f32], a: &[f32], b: &[f32], m: usize, n: usize) {
    for (i, ci) in c.chunks_exact_mut(n).enumerate().take(m) {
        outer_row(ci, a, b, i, m, n);
    }
}

/// One row of `outer_rows_ref`: c_i[:] = Σ_r a[r,i]·b[r,:].
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

/// Rows of c per register tile of [`outer_rows`].
const OUTER_I: usize = 8;

/// c[i,:] = Σ_r a[r,i]·b[r,:] for a[B,m], b[B,n] (outer products summed over rows).
///
/// Per element the same operations as [`outer_rows_ref`] — the first row's
/// product, then each later row's product added in row order — computed in
/// register tiles of 8 rows × 16 (then 8, 4, 1) columns of c.
pub fn outer_rows(c: &mut [f32], a: &[f32], b: &[f32], m: usize, n: usize) {
    if m == 0 || n == 0 {
        return;
    }
    let mut i0 = 0;
    while i0 + OUTER_I <= m {
        outer_band(
            c,
            a,
            b,
            m,
            n,
            i0,
            outer_tile8::<16>,
            outer_tile8::<8>,
            outer_tile8::<4>,
            outer_tile8::<1>,
        );
        i0 += OUTER_I;
    }
    while i0 < m {
        outer_band(
            c,
            a,
            b,
            m,
            n,
            i0,
            outer_tile1::<16>,
            outer_tile1::<8>,
            outer_tile1::<4>,
            outer_tile1::<1>,
        );
        i0 += 1;
    }
}

type OuterTile = fn(&mut [f32], &[f32], &[f32], usize, usize, usize, usize);

/// The rows of c one tile high starting at i0, every column: 16-wide tiles, then 8, 4, 1.
#[allow(clippy::too_many_arguments)]
#[inline(always)]
fn outer_band(
    c: &mut [f32],
    a: &[f32],
    b: &[f32],
    m: usize,
    n: usize,
    i0: usize,
    t16: OuterTile,
    t8: OuterTile,
    t4: OuterTile,
    t1: OuterTile,
) {
    let mut j0 = 0;
    for (w, t) in [(16, t16), (8, t8), (4, t4), (1, t1)] {
        while j0 + w <= n {
            t(c, a, b, m, n, i0, j0);
            j0 += w;
        }
    }
}

/// acc[j] = s·x[j].
#[inline(always)]
fn row_scal<const J: usize>(acc: &mut [f32; J], s: f32, x: &[f32; J]) {
    for (a, x) in acc.iter_mut().zip(x) {
        *a = s * x;
    }
}

/// acc[j] += s·x[j].
#[inline(always)]
fn row_axpy<const J: usize>(acc: &mut [f32; J], s: f32, x: &[f32; J]) {
    for (a, x) in acc.iter_mut().zip(x) {
        *a += s * x;
    }
}

/// a[r, i0..i0+I] and b[r, j0..j0+J] of one row pair.
#[inline(always)]
fn tile_operands<'a, const I: usize, const J: usize>(
    ar: &'a [f32],
    br: &'a [f32],
    i0: usize,
    j0: usize,
) -> Option<(&'a [f32; I], &'a [f32; J])> {
    Some((ar.get(i0..)?.first_chunk()?, br.get(j0..)?.first_chunk()?))
}

/// Defines an outer-product tile of `$rows` rows × J columns of c at (i0, j0).
macro_rules! outer_tile {
    ($name:ident, $rows:literal, [$($r:literal),*]) => {
        fn $name<const J: usize>(c: &mut [f32], a: &[f32], b: &[f32], m: usize, n: usize, i0: usize, j0: usize) {
            let mut acc = [[0.0f32; J]; $rows];
            let mut rows = a.chunks_exact(m).zip(b.chunks_exact(n));
            let operands = |(ar, br)| tile_operands::<$rows, J>(ar, br, i0, j0);
            let Some((ai, bj)) = rows.next().and_then(operands) else {
                return;
            };
            unroll!(R in [$($r),*] {
                row_scal(&mut acc[R], ai[R], bj);
            });
            for row in rows {
                let Some((ai, bj)) = operands(row) else {
                    return;
                };
                unroll!(R in [$($r),*] {
                    row_axpy(&mut acc[R], ai[R], bj);
                });
            }
            for (ii, acc) in acc.iter().enumerate() {
                let at = (i0 + ii) * n + j0;
                if let Some(dst) = c.get_mut(at..at + J) {
                    dst.copy_from_slice(acc);
                }
            }
        }
    };
}

outer_tile!(outer_tile8, 8, [0, 1, 2, 3, 4, 5, 6, 7]);
outer_tile!(outer_tile1, 1, [0]);

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

/// Whether every element is finite (no early exit, so it vectorizes): a value
/// is inf or NaN iff its exponent bits are all ones, i.e. `!bits & EXP == 0`.
/// The minimum of that is an integer reduction, which LLVM vectorizes with
/// independent lanes (a float or bool fold would be serial).
#[inline]
pub fn all_finite(x: &[f32]) -> bool {
    const EXP: u32 = 0x7f80_0000;
    x.iter().fold(EXP, |m, v| m.min(!v.to_bits() & EXP)) != 0
}
