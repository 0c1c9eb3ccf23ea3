//! The fast kernels give the same bits as their reference forms: `dot` and
//! `affine` as first written (one 16-lane dot per element), and the row-at-a-time
//! `outer_rows_ref`. Inputs include ±0, so sign-of-zero handling is covered.

use proptest::prelude::*;
use sutro::interp::kernels as k;

/// `dot` as first written: 16 lane sums from +0, the tail into lanes 0.., tree.
fn dot_ref(a: &[f32], b: &[f32]) -> f32 {
    let n = a.len().min(b.len());
    let (a, b) = (&a[..n], &b[..n]);
    let mut acc = [0.0f32; 16];
    let ca = a.chunks_exact(16);
    let cb = b.chunks_exact(16);
    let (ta, tb) = (ca.remainder(), cb.remainder());
    for (x, y) in ca.zip(cb) {
        for l in 0..16 {
            acc[l] += x[l] * y[l];
        }
    }
    for (l, (x, y)) in ta.iter().zip(tb).enumerate() {
        acc[l] += x * y;
    }
    let mut w = 16;
    while w > 1 {
        w /= 2;
        for l in 0..w {
            acc[l] += acc[l + w];
        }
    }
    acc[0]
}

fn affine_ref(y: &mut [f32], x: &[f32], w: &[f32], b: &[f32], i: usize, o: usize) {
    for (yr, xr) in y.chunks_exact_mut(o).zip(x.chunks_exact(i)) {
        for ((yk, wk), bk) in yr.iter_mut().zip(w.chunks_exact(i)).zip(b) {
            *yk = dot_ref(xr, wk) + bk;
        }
    }
}

fn value() -> impl Strategy<Value = f32> {
    prop_oneof![
        2 => Just(0.0f32),
        2 => Just(-0.0f32),
        1 => Just(1.0f32),
        1 => Just(-1.0f32),
        6 => -4.0f32..4.0,
        1 => -1e30f32..1e30,
    ]
}

fn bits(v: &[f32]) -> Vec<u32> {
    v.iter().map(|x| x.to_bits()).collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn dot_matches_reference(v in prop::collection::vec((value(), value()), 0..80)) {
        let (a, b): (Vec<f32>, Vec<f32>) = v.into_iter().unzip();
        prop_assert_eq!(k::dot(&a, &b).to_bits(), dot_ref(&a, &b).to_bits());
    }

    #[test]
    fn affine_packed_matches_reference(
        (rows, i, o, data) in (1usize..7, 1usize..40, 1usize..40).prop_flat_map(|(r, i, o)| {
            (Just(r), Just(i), Just(o), prop::collection::vec(value(), r * i + o * i + o))
        })
    ) {
        let (x, rest) = data.split_at(rows * i);
        let (w, b) = rest.split_at(o * i);
        let mut want = vec![f32::NAN; rows * o];
        affine_ref(&mut want, x, w, b, i, o);
        let mut plain = vec![f32::NAN; rows * o];
        k::affine(&mut plain, x, w, b, i, o);
        let mut wp = vec![f32::NAN; k::packed_len(i, o)];
        k::pack_panels(&mut wp, w, i, o);
        let mut got = vec![f32::NAN; rows * o];
        k::affine_packed(&mut got, x, &wp, b, i, o);
        prop_assert_eq!(bits(&plain), bits(&want));
        prop_assert_eq!(bits(&got), bits(&want));
    }

    #[test]
    fn outer_rows_matches_reference(
        (rows, m, n, data) in (1usize..6, 1usize..30, 1usize..40).prop_flat_map(|(r, m, n)| {
            (Just(r), Just(m), Just(n), prop::collection::vec(value(), r * (m + n)))
        })
    ) {
        let (a, b) = data.split_at(rows * m);
        let mut want = vec![f32::NAN; m * n];
        k::outer_rows_ref(&mut want, a, b, m, n);
        let mut got = vec![f32::NAN; m * n];
        k::outer_rows(&mut got, a, b, m, n);
        prop_assert_eq!(bits(&got), bits(&want));
    }
}

proptest! {
    #[test]
    fn all_finite_matches_is_finite(
        v in prop::collection::vec(
            prop_oneof![
                8 => -1e38f32..1e38,
                1 => Just(f32::INFINITY),
                1 => Just(f32::NEG_INFINITY),
                1 => Just(f32::NAN),
                1 => Just(f32::MAX),
                1 => Just(f32::MIN_POSITIVE / 2.0),
            ],
            0..70,
        )
    ) {
        prop_assert_eq!(k::all_finite(&v), v.iter().all(|x| x.is_finite()));
    }
}

/// All-zero products of mixed sign: the case where starting lanes at −0 instead
/// of +0 would show if the final `+ 0` were missing.
#[test]
fn affine_packed_signed_zeros() {
    let (rows, i, o) = (3, 21, 17);
    assert_eq!(i % 3, 0, "row j and column j of W line up modulo 3");
    // Every product is −0: x = +0 against negative weights, x = −0 against positive ones.
    let w: Vec<f32> = (0..o * i).map(|j| if j % 3 == 0 { -1.0 } else { 2.0 }).collect();
    let x: Vec<f32> = (0..rows * i)
        .map(|j| if (j % i) % 3 == 0 { 0.0 } else { -0.0 })
        .collect();
    for b in [vec![-0.0f32; o], vec![0.0f32; o]] {
        let mut want = vec![0.0; rows * o];
        affine_ref(&mut want, &x, &w, &b, i, o);
        let mut wp = vec![0.0; k::packed_len(i, o)];
        k::pack_panels(&mut wp, &w, i, o);
        let mut got = vec![0.0; rows * o];
        k::affine_packed(&mut got, &x, &wp, &b, i, o);
        assert_eq!(bits(&got), bits(&want));
        assert!(
            got.iter().all(|v| v.to_bits() == 0),
            "dot never yields -0, so neither does y = dot + b"
        );
    }
}
