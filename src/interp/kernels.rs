//! f32 kernels: tight loops over slices with a fixed summation order.
//!
//! Dot products use 16 independent partial sums (so they vectorize without
//! reassociation) combined in a fixed tree; row accumulations (`axpy`) run over
//! the reduced axis in index order. Fused ops call these same helpers in the same
//! order as the ops they replace, so fusion is bit-exact. No FMA is used: Rust
//! never contracts `a * b + c`.

use crate::ir::Prim;

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

/// Operand `x` at output element `i` under broadcasting: `x[i mod len]` (an
/// operand has the output's length, one element, or the output's trailing shape,
/// so this is its element in row-major order).
#[inline(always)]
fn at(x: &[f32], i: usize) -> f32 {
    match x.len() {
        0 => 0.0,
        n => x[i % n],
    }
}

/// c = f(a) elementwise (`a` has c's length).
#[inline]
pub fn map1(c: &mut [f32], a: &[f32], f: impl Fn(f32) -> f32) {
    for (c, x) in c.iter_mut().zip(a) {
        *c = f(*x);
    }
}

/// c = f(a, b) elementwise with broadcasting; each element is computed the same
/// way whatever the loop shape, so the fast paths give the general path's bits.
#[inline]
pub fn map2(c: &mut [f32], a: &[f32], b: &[f32], f: impl Fn(f32, f32) -> f32) {
    let n = c.len();
    if a.len() == n && b.len() == n {
        for ((c, x), y) in c.iter_mut().zip(a).zip(b) {
            *c = f(*x, *y);
        }
    } else if a.len() == n && b.len() == 1 {
        let y = b[0];
        map1(c, a, |x| f(x, y));
    } else if a.len() == n && !b.is_empty() {
        zip_bcast(c, a, b, f);
    } else {
        for (i, c) in c.iter_mut().enumerate() {
            *c = f(at(a, i), at(b, i));
        }
    }
}

/// c = f(a, b, d) elementwise with broadcasting.
#[inline]
pub fn map3(c: &mut [f32], a: &[f32], b: &[f32], d: &[f32], f: impl Fn(f32, f32, f32) -> f32) {
    let n = c.len();
    if a.len() == n && b.len() == n && d.len() == n {
        for (((c, x), y), z) in c.iter_mut().zip(a).zip(b).zip(d) {
            *c = f(*x, *y, *z);
        }
    } else {
        for (i, c) in c.iter_mut().enumerate() {
            *c = f(at(a, i), at(b, i), at(d, i));
        }
    }
}

/// 1.0 for true, 0.0 for false.
#[inline(always)]
fn bit(b: bool) -> f32 {
    if b { 1.0 } else { 0.0 }
}

/// The logistic function, in the form that cannot overflow: 1/(1 + e^−x) for
/// x ≥ 0, e^x/(1 + e^x) below (`libm`, so every machine gives the same bits).
#[inline]
pub fn sigmoid(x: f32) -> f32 {
    if x >= 0.0 {
        1.0 / (1.0 + libm::expf(-x))
    } else {
        let e = libm::expf(x);
        e / (1.0 + e)
    }
}

/// ln(1 + e^x) as max(x, 0) + ln(1 + e^−|x|), which cannot overflow.
#[inline]
pub fn softplus(x: f32) -> f32 {
    let m = if x > 0.0 { x } else { 0.0 };
    m + libm::log1pf(libm::expf(-x.abs()))
}

/// The elementwise primitives: `ops` are the buffer operands in order, `sc` the
/// scalar operands. Transcendental functions come from `libm`.
pub fn elementwise(prim: Prim, c: &mut [f32], ops: [&[f32]; 3], sc: [f32; 2]) {
    let [a, b, d] = ops;
    let [s0, s1] = sc;
    match prim {
        Prim::Add => map2(c, a, b, |x, y| x + y),
        Prim::Sub => map2(c, a, b, |x, y| x - y),
        Prim::Mul => map2(c, a, b, |x, y| x * y),
        Prim::Div => map2(c, a, b, |x, y| x / y),
        Prim::Max => map2(c, a, b, |x, y| if x >= y { x } else { y }),
        Prim::Min => map2(c, a, b, |x, y| if x <= y { x } else { y }),
        Prim::Gt => map2(c, a, b, |x, y| bit(x > y)),
        Prim::Ge => map2(c, a, b, |x, y| bit(x >= y)),
        Prim::Lt => map2(c, a, b, |x, y| bit(x < y)),
        Prim::Le => map2(c, a, b, |x, y| bit(x <= y)),
        Prim::Eq => map2(c, a, b, |x, y| bit(x == y)),
        Prim::Xor => map2(c, a, b, |x, y| bit((x != 0.0) != (y != 0.0))),
        Prim::And => map2(c, a, b, |x, y| bit(x != 0.0 && y != 0.0)),
        Prim::Or => map2(c, a, b, |x, y| bit(x != 0.0 || y != 0.0)),
        Prim::ReluGrad => map2(c, a, b, |g, p| if p > 0.0 { g } else { 0.0 }),
        Prim::TanhGrad => map2(c, a, b, |g, y| g * (1.0 - y * y)),
        Prim::SigmoidGrad => map2(c, a, b, |g, y| g * y * (1.0 - y)),
        Prim::ClampGrad => map2(c, a, b, |g, x| if s0 <= x && x <= s1 { g } else { 0.0 }),
        Prim::Select => map3(c, a, b, d, |k, x, y| if k > 0.0 { x } else { y }),
        Prim::Scale => map1(c, a, |x| s0 * x),
        Prim::Pow => map1(c, a, |x| libm::powf(x, s0)),
        Prim::Clamp => map1(c, a, |x| {
            if x < s0 {
                s0
            } else if x > s1 {
                s1
            } else {
                x
            }
        }),
        Prim::Sign => map1(c, a, sign),
        Prim::Relu => map1(c, a, |x| if x > 0.0 { x } else { 0.0 }),
        Prim::Copy => c.copy_from_slice(a),
        Prim::Exp => map1(c, a, libm::expf),
        Prim::Log => map1(c, a, libm::logf),
        Prim::Tanh => map1(c, a, libm::tanhf),
        Prim::Sigmoid => map1(c, a, sigmoid),
        Prim::Softplus => map1(c, a, softplus),
        Prim::Abs => map1(c, a, f32::abs),
        Prim::Sqrt => map1(c, a, libm::sqrtf),
        Prim::Square => map1(c, a, |x| x * x),
        Prim::Neg => map1(c, a, |x| -x),
        Prim::Not => map1(c, a, |x| bit(x == 0.0)),
        // Other families never reach here.
        _ => {}
    }
}

/// Softmax cross-entropy over rows of `cols` logits `a` with targets `b`:
/// per row, m = max, lse = m + ln Σ e^(x − m), loss = lse − Σ t·x (in index
/// order); the mean over rows. With `grad`, c = (e^(x − m)/Σ − t)/rows instead.
pub fn softmax_xent(c: &mut [f32], a: &[f32], b: &[f32], cols: usize, grad: bool) {
    if cols == 0 {
        return;
    }
    let rows = a.len() / cols;
    let mut total = 0.0f32;
    for (r, (x, t)) in a.chunks_exact(cols).zip(b.chunks_exact(cols)).enumerate() {
        let m = x.iter().copied().fold(f32::NEG_INFINITY, f32::max);
        let z = x.iter().fold(0.0f32, |s, v| s + libm::expf(v - m));
        if grad {
            for ((o, v), t) in c[r * cols..(r + 1) * cols].iter_mut().zip(x).zip(t) {
                *o = (libm::expf(v - m) / z - t) / rows as f32;
            }
        } else {
            let dot = x.iter().zip(t).fold(0.0f32, |s, (v, t)| s + v * t);
            total += m + libm::logf(z) - dot;
        }
    }
    if !grad {
        c[0] = total / rows.max(1) as f32;
    }
}

/// A reduction's geometry: a[outer, n, inner] reduces over the middle axis.
#[derive(Clone, Copy, Debug)]
pub struct Axis {
    /// Product of the extents before the axis.
    pub outer: usize,
    /// The axis's extent.
    pub n: usize,
    /// Product of the extents after it.
    pub inner: usize,
}

impl Axis {
    /// The geometry of axis `k` of `shape`.
    pub fn of(shape: &[usize], k: usize) -> Axis {
        let k = k.min(shape.len().saturating_sub(1));
        Axis {
            outer: shape[..k].iter().product(),
            n: shape.get(k).copied().unwrap_or(1),
            inner: shape.get(k + 1..).map_or(1, |s| s.iter().product()),
        }
    }
}

/// Reduces along an axis: c[o, i] = fold over j in index order of a[o, j, i],
/// starting from j = 0's element. `mean_axis` divides the sum by n; `argmax`
/// and `argmin` give the first index of the extreme value (a later value
/// replaces it only when strictly greater, or smaller).
pub fn reduce_axis(prim: Prim, c: &mut [f32], a: &[f32], ax: Axis) {
    let Axis { outer, n, inner } = ax;
    if n == 0 || inner == 0 {
        return;
    }
    for o in 0..outer {
        for i in 0..inner {
            let at = |j: usize| a.get((o * n + j) * inner + i).copied().unwrap_or(0.0);
            let mut acc = at(0);
            let mut arg = 0usize;
            for j in 1..n {
                let x = at(j);
                match prim {
                    Prim::SumAxis | Prim::MeanAxis => acc += x,
                    Prim::ProdAxis => acc *= x,
                    Prim::MaxAxis | Prim::ArgMax if x > acc => (acc, arg) = (x, j),
                    Prim::MinAxis | Prim::ArgMin if x < acc => (acc, arg) = (x, j),
                    _ => {}
                }
            }
            let out = match prim {
                Prim::MeanAxis => acc / n as f32,
                Prim::ArgMax | Prim::ArgMin => arg as f32,
                _ => acc,
            };
            if let Some(slot) = c.get_mut(o * inner + i) {
                *slot = out;
            }
        }
    }
}

/// c[o, j, i] = a[o, i] for j < n: a repeated along a new axis.
pub fn expand(c: &mut [f32], a: &[f32], outer: usize, n: usize, inner: usize) {
    if inner == 0 {
        return;
    }
    for (o, block) in c.chunks_exact_mut(n * inner).enumerate().take(outer) {
        let src = &a[o * inner..(o + 1) * inner];
        for row in block.chunks_exact_mut(inner) {
            row.copy_from_slice(src);
        }
    }
}

/// c[e, v] = 1 where v equals a[e] (a whole number below n), else 0.
pub fn onehot(c: &mut [f32], a: &[f32], n: usize) {
    if n == 0 {
        return;
    }
    for (row, x) in c.chunks_exact_mut(n).zip(a) {
        row.fill(0.0);
        if *x >= 0.0 && x.fract() == 0.0 && (*x as usize) < n {
            row[*x as usize] = 1.0;
        }
    }
}

/// `query`: c[r] = label(row r of a), rows of `n` values, in row order.
pub fn query(c: &mut [f32], a: &[f32], n: usize, label: impl Fn(&[f32]) -> f32) {
    for (y, row) in c.iter_mut().zip(a.chunks_exact(n.max(1))) {
        *y = label(row);
    }
}

/// An index outside its axis, found by `gather` or `scatter_add` before writing.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct IndexFault {
    /// The offending value.
    pub value: f32,
    /// The axis's extent.
    pub extent: usize,
}

/// Checks that every index is a whole number in `0..extent`.
fn check_indices(idx: &[f32], extent: usize) -> Result<(), IndexFault> {
    match idx
        .iter()
        .find(|v| !(**v >= 0.0 && v.fract() == 0.0 && (**v as usize) < extent))
    {
        Some(v) => Err(IndexFault { value: *v, extent }),
        None => Ok(()),
    }
}

/// `gather`: a as [outer, d, inner], m = idx.len() → c[o, j, ·] = a[o, idx[j], ·].
pub fn gather(
    c: &mut [f32],
    a: &[f32],
    idx: &[f32],
    (outer, d, inner): (usize, usize, usize),
) -> Result<(), IndexFault> {
    check_indices(idx, d)?;
    let m = idx.len();
    for o in 0..outer {
        for (j, v) in idx.iter().enumerate() {
            let src = (o * d + *v as usize) * inner;
            let dst = (o * m + j) * inner;
            c[dst..dst + inner].copy_from_slice(&a[src..src + inner]);
        }
    }
    Ok(())
}

/// `scatter_add`: u as [outer, m, inner] → c = zeros [outer, n, inner], then
/// c[o, idx[j], ·] += u[o, j, ·] for j ascending (a fixed summation order).
pub fn scatter_add(
    c: &mut [f32],
    u: &[f32],
    idx: &[f32],
    (outer, n, inner): (usize, usize, usize),
    m: usize,
) -> Result<(), IndexFault> {
    check_indices(idx, n)?;
    c.fill(0.0);
    for o in 0..outer {
        for (j, v) in idx.iter().enumerate().take(m) {
            let dst = (o * n + *v as usize) * inner;
            let src = (o * m + j) * inner;
            for (x, y) in c[dst..dst + inner].iter_mut().zip(&u[src..src + inner]) {
                *x += *y;
            }
        }
    }
    Ok(())
}

/// c[j, i] = a[i, j] for a[m, n].
pub fn transpose(c: &mut [f32], a: &[f32], m: usize, n: usize) {
    for i in 0..m {
        for j in 0..n {
            c[j * m + i] = a[i * n + j];
        }
    }
}

/// Per outer index: a's block of `na` elements, then b's block of `nb`.
pub fn concat(c: &mut [f32], a: &[f32], b: &[f32], outer: usize, na: usize, nb: usize) {
    for o in 0..outer {
        let base = o * (na + nb);
        c[base..base + na].copy_from_slice(&a[o * na..(o + 1) * na]);
        c[base + na..base + na + nb].copy_from_slice(&b[o * nb..(o + 1) * nb]);
    }
}

/// `pad`: per outer index, a's block copied into c's block at element offset
/// `at`, zeros before and after it (c's blocks are c.len() / outer long).
pub fn pad(c: &mut [f32], a: &[f32], outer: usize, at: usize) {
    let (na, nc) = (a.len() / outer.max(1), c.len() / outer.max(1));
    if na == 0 || nc < na {
        c.fill(0.0);
        return;
    }
    let at = at.min(nc - na);
    for (dst, src) in c.chunks_exact_mut(nc).zip(a.chunks_exact(na)) {
        dst[..at].fill(0.0);
        dst[at..at + na].copy_from_slice(src);
        dst[at + na..].fill(0.0);
    }
}

/// The losses and their gradient seeds over pred `a` and targets `b`.
pub fn loss(prim: Prim, c: &mut [f32], a: &[f32], b: &[f32]) {
    let n = a.len() as f32;
    match prim {
        Prim::Hinge => {
            c[0] = a.iter().zip(b).fold(0.0f32, |s, (p, y)| s + (1.0 - y * p).max(0.0)) / n;
        }
        Prim::HingeGrad => map2(c, a, b, |p, y| if y * p < 1.0 { -y / n } else { 0.0 }),
        Prim::Mse => {
            c[0] = a.iter().zip(b).fold(0.0f32, |s, (p, y)| s + (p - y) * (p - y)) / n;
        }
        Prim::MseGrad => map2(c, a, b, |p, y| 2.0 * (p - y) / n),
        Prim::Logistic => {
            c[0] = a.iter().zip(b).fold(0.0f32, |s, (p, y)| s + softplus(-y * p)) / n;
        }
        Prim::LogisticGrad => map2(c, a, b, |p, y| -y * sigmoid(-y * p) / n),
        _ => {}
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
