//! Shape rules: one function per op family, one `match` arm per primitive within it.

use crate::ir::Prim;
use crate::ir::prim::Family;

fn s(x: &[usize]) -> String {
    format!("[{}]", x.iter().map(|d| d.to_string()).collect::<Vec<_>>().join(","))
}

fn all(a: &[Vec<usize>]) -> String {
    a.iter().map(|x| s(x)).collect::<Vec<_>>().join(", ")
}

fn numel(x: &[usize]) -> usize {
    x.iter().product()
}

/// Whether `b` broadcasts onto `a`: equal shapes, one element, or `a`'s trailing shape.
pub fn broadcasts(a: &[usize], b: &[usize]) -> bool {
    a == b || numel(b) == 1 || (b.len() < a.len() && a[a.len() - b.len()..] == *b)
}

/// The operand names used in messages, by position.
const OPERAND: [&str; 4] = ["first", "second", "third", "fourth"];

/// Output shapes of a primitive applied to arguments of the given shapes, or a
/// message naming the expected form and the shapes found. `consts` are the
/// scalar operands' values where they are expressions (`None` for a buffer).
pub fn infer(prim: Prim, a: &[Vec<usize>], consts: &[Option<f64>]) -> Result<Vec<Vec<usize>>, String> {
    match prim.family() {
        Family::Linear => linear(prim, a),
        Family::Elementwise => elementwise(prim, a).map(|v| vec![v]),
        Family::Reduce => reduce(prim, a, consts),
        Family::Layout => layout(prim, a, consts).map(|v| vec![v]),
        Family::Loss => loss(prim, a),
        Family::Task => task(prim, a),
        Family::Noise => noise(prim, a, consts).map(|v| vec![v]),
        Family::Index => index(prim, a, consts).map(|v| vec![v]),
    }
}

/// `gather(a, i, k)`: axis k of a replaced by i's shape. `scatter_add(u, i, k, n)`:
/// the axes k… of u that i's shape covers replaced by one axis of extent n.
fn index(prim: Prim, a: &[Vec<usize>], consts: &[Option<f64>]) -> Result<Vec<usize>, String> {
    let [x, i] = a else {
        return bad(prim, "a buffer and an index buffer", a);
    };
    if numel(x) == 0 || numel(i) == 0 {
        return bad(prim, "non-empty operands", a);
    }
    match prim {
        Prim::Gather => {
            let k = int_operand(prim, consts, 0, "the axis", x.len())?;
            Ok([&x[..k], i.as_slice(), &x[k + 1..]].concat())
        }
        _ => {
            let k = int_operand(prim, consts, 0, "the axis", x.len())?;
            let n = int_operand(prim, consts, 1, "the extent", usize::MAX)?;
            if n == 0 {
                return Err("scatter_add: the extent must be positive".into());
            }
            if x.get(k..k + i.len()) != Some(i.as_slice()) {
                return Err(format!(
                    "scatter_add: the index shape {} must match the axes of {} from axis {k} on",
                    s(i),
                    s(x)
                ));
            }
            Ok([&x[..k], &[n], &x[k + i.len()..]].concat())
        }
    }
}

/// `noise_*(params…, d1, …)`: the shape is the extents after the distribution's
/// parameters (two for `noise_uniform`, one otherwise), each a positive whole number.
fn noise(prim: Prim, a: &[Vec<usize>], consts: &[Option<f64>]) -> Result<Vec<usize>, String> {
    if !a.is_empty() {
        return bad(prim, "no buffer arguments", a);
    }
    let first = prim.info().scalars - 1;
    let mut v = Vec::new();
    for i in first..consts.len() {
        let d = int_operand(prim, consts, i, "an extent", usize::MAX)?;
        if d == 0 {
            return Err(format!("{}: extents must be positive", prim.name()));
        }
        v.push(d);
    }
    Ok(v)
}

/// `query(xq)`: one label per row of the last axis; `[1]` for a single row.
fn task(prim: Prim, a: &[Vec<usize>]) -> Result<Vec<Vec<usize>>, String> {
    match a {
        [x] if x.len() == 1 && x[0] > 0 => Ok(vec![vec![1]]),
        [x] if x.len() > 1 && numel(x) > 0 => Ok(vec![x[..x.len() - 1].to_vec()]),
        _ => bad(prim, "rows xq[…, n]", a),
    }
}

/// The `i`-th scalar operand as a whole number below `limit`, or a message.
fn int_operand(prim: Prim, consts: &[Option<f64>], i: usize, what: &str, limit: usize) -> Result<usize, String> {
    match consts.get(i).copied().flatten() {
        Some(v) if v >= 0.0 && v.fract() == 0.0 && v < limit as f64 => Ok(v as usize),
        Some(v) if limit == usize::MAX => Err(format!("{}: {what} must be a whole number ≥ 0, got {v}", prim.name())),
        Some(v) => Err(format!(
            "{}: {what} must be a whole number below {limit}, got {v}",
            prim.name()
        )),
        None => Err(format!("{}: {what} must be an expression, not a buffer", prim.name())),
    }
}

/// `pad`'s counts are below 2^24: whole numbers there are exact in f32.
const PAD_LIMIT: usize = 1 << 24;

/// A shape with axis `k` removed; `[1]` when nothing is left.
fn drop_axis(x: &[usize], k: usize) -> Vec<usize> {
    let mut v: Vec<usize> = x.iter().enumerate().filter(|(i, _)| *i != k).map(|(_, d)| *d).collect();
    if v.is_empty() {
        v.push(1);
    }
    v
}

fn layout(prim: Prim, a: &[Vec<usize>], consts: &[Option<f64>]) -> Result<Vec<usize>, String> {
    match (prim, a) {
        (Prim::Expand, [x]) => {
            let k = int_operand(prim, consts, 0, "the axis", x.len() + 1)?;
            let n = int_operand(prim, consts, 1, "the count", usize::MAX)?;
            if n == 0 {
                return Err("expand: the count must be positive".into());
            }
            if x.as_slice() == [1] {
                return Ok(vec![n]);
            }
            let mut v = x.clone();
            v.insert(k, n);
            Ok(v)
        }
        (Prim::OneHot, [x]) => {
            let n = int_operand(prim, consts, 0, "the class count", usize::MAX)?;
            if n == 0 {
                return Err("onehot: the class count must be positive".into());
            }
            let mut v = x.clone();
            v.push(n);
            Ok(v)
        }
        (Prim::Reshape, [x]) => {
            let mut v = Vec::new();
            for i in 0..consts.len() {
                let d = int_operand(prim, consts, i, "an extent", usize::MAX)?;
                if d == 0 {
                    return Err("reshape: extents must be positive".into());
                }
                v.push(d);
            }
            let n = v.iter().try_fold(1usize, |acc, d| acc.checked_mul(*d));
            if n != Some(numel(x)) {
                return Err(format!(
                    "reshape: {} has {} elements, the new shape {} has a different count",
                    s(x),
                    numel(x),
                    s(&v)
                ));
            }
            Ok(v)
        }
        (Prim::Transpose, [x]) if x.len() == 2 => Ok(vec![x[1], x[0]]),
        (Prim::Concat, [x, y]) => {
            let k = int_operand(prim, consts, 0, "the axis", x.len())?;
            if x.len() != y.len() || x.iter().zip(y).enumerate().any(|(i, (p, q))| i != k && p != q) {
                return bad(prim, "a and b with equal extents except along the axis", a);
            }
            let mut v = x.clone();
            v[k] += y[k];
            Ok(v)
        }
        (Prim::Pad, [x]) => {
            let k = int_operand(prim, consts, 0, "the axis", x.len())?;
            // Below 2^24, so the counts are exact as the f32 scalars the kernel reads.
            let before = int_operand(prim, consts, 1, "the count before", PAD_LIMIT)?;
            let after = int_operand(prim, consts, 2, "the count after", PAD_LIMIT)?;
            let mut v = x.clone();
            v[k] = (v[k].checked_add(before + after)).ok_or("pad: the padded extent overflows")?;
            Ok(v)
        }
        (Prim::Transpose, _) => bad(prim, "a[m,n]", a),
        _ => bad(prim, "one buffer", a),
    }
}

fn bad<T>(prim: Prim, form: &str, a: &[Vec<usize>]) -> Result<T, String> {
    Err(format!("{} expects {form}, got {}", prim.name(), all(a)))
}

fn linear(prim: Prim, a: &[Vec<usize>]) -> Result<Vec<Vec<usize>>, String> {
    let one = |v: Vec<usize>| Ok(vec![v]);
    match prim {
        Prim::Affine => match a {
            [x, w, b] if x.len() == 2 && w.len() == 2 && b.len() == 1 && x[1] == w[1] && b[0] == w[0] => {
                one(vec![x[0], w[0]])
            }
            _ => bad(prim, "x[B,i], W[o,i], b[o]", a),
        },
        Prim::AffineGrad => match a {
            [dy, x] if dy.len() == 2 && x.len() == 2 && dy[0] == x[0] => Ok(vec![vec![dy[1], x[1]], vec![dy[1]]]),
            _ => bad(prim, "dy[B,o], x[B,i]", a),
        },
        Prim::AffineGradX => match a {
            [w, dy] if w.len() == 2 && dy.len() == 2 && dy[1] == w[0] => one(vec![dy[0], w[1]]),
            _ => bad(prim, "W[o,i], dy[B,o]", a),
        },
        Prim::MatMul => match a {
            [x, y] if x.len() == 2 && y.len() == 2 && x[1] == y[0] => one(vec![x[0], y[1]]),
            _ => bad(prim, "[m,k] x [k,n]", a),
        },
        Prim::MatMulNt => match a {
            [x, y] if x.len() == 2 && y.len() == 2 && x[1] == y[1] => one(vec![x[0], y[0]]),
            _ => bad(prim, "[m,k] x [n,k]", a),
        },
        Prim::MatMulTn => match a {
            [x, y] if x.len() == 2 && y.len() == 2 && x[0] == y[0] => one(vec![x[1], y[1]]),
            _ => bad(prim, "[k,m] x [k,n]", a),
        },
        Prim::MatVec => match a {
            [w, v] if w.len() == 2 && v.len() == 1 && w[1] == v[0] => one(vec![w[0]]),
            _ => bad(prim, "W[m,n], v[n]", a),
        },
        Prim::MatVecT => match a {
            [w, v] if w.len() == 2 && v.len() == 1 && w[0] == v[0] => one(vec![w[1]]),
            _ => bad(prim, "W[m,n], v[m]", a),
        },
        Prim::Outer => match a {
            [x, y] if x.len() == 1 && y.len() == 1 => one(vec![x[0], y[0]]),
            [x, y] if x.len() == 2 && y.len() == 2 && x[0] == y[0] => one(vec![x[1], y[1]]),
            _ => bad(prim, "a[m], b[n] or a[B,m], b[B,n]", a),
        },
        _ => bad(prim, "a linear op's operands", a),
    }
}

/// The broadcast rule of every elementwise op: the output has the shape of the
/// largest operand (of the most axes among equally large ones, then the first);
/// every other operand has that shape, one element, or its trailing shape. A
/// mismatch names the operand that fails.
pub fn elementwise(prim: Prim, a: &[Vec<usize>]) -> Result<Vec<usize>, String> {
    let Some(out) = a.iter().fold(None::<&Vec<usize>>, |m, x| match m {
        Some(m) if (numel(m), m.len()) >= (numel(x), x.len()) => Some(m),
        _ => Some(x),
    }) else {
        return bad(prim, "operands", a);
    };
    if numel(out) == 0 {
        return bad(prim, "non-empty operands", a);
    }
    for (i, x) in a.iter().enumerate() {
        if !broadcasts(out, x) {
            return Err(format!(
                "{}: the {} operand {} does not broadcast onto {} (an operand broadcasts when it has one element or the output's trailing shape)",
                prim.name(),
                OPERAND.get(i).copied().unwrap_or("last"),
                s(x),
                s(out)
            ));
        }
    }
    Ok(out.clone())
}

fn reduce(prim: Prim, a: &[Vec<usize>], consts: &[Option<f64>]) -> Result<Vec<Vec<usize>>, String> {
    match (prim, a) {
        (Prim::Sum, [x]) if x.len() == 1 => Ok(vec![vec![1]]),
        (Prim::Sum, [x]) if !x.is_empty() => Ok(vec![x[1..].to_vec()]),
        (Prim::SumAll, [x]) if !x.is_empty() => Ok(vec![vec![1]]),
        (Prim::Sum | Prim::SumAll, _) => bad(prim, "a buffer", a),
        (_, [x]) if !x.is_empty() => {
            let k = int_operand(prim, consts, 0, "the axis", x.len())?;
            Ok(vec![drop_axis(x, k)])
        }
        _ => bad(prim, "a buffer and an axis", a),
    }
}

fn loss(prim: Prim, a: &[Vec<usize>]) -> Result<Vec<Vec<usize>>, String> {
    match (prim, a) {
        (Prim::SoftmaxXent, [p, t]) if p == t && !p.is_empty() && numel(p) > 0 => Ok(vec![vec![1]]),
        (Prim::SoftmaxXentGrad, [p, t]) if p == t && !p.is_empty() && numel(p) > 0 => Ok(vec![p.clone()]),
        (Prim::SoftmaxXent | Prim::SoftmaxXentGrad, _) => bad(prim, "logits and targets of equal shapes", a),
        (Prim::Logistic, [p, y]) if numel(p) == numel(y) && numel(p) > 0 => Ok(vec![vec![1]]),
        (Prim::LogisticGrad, [p, y]) if numel(p) == numel(y) && numel(p) > 0 => Ok(vec![p.clone()]),
        (Prim::Hinge | Prim::Mse, [p, y]) if numel(p) == numel(y) && numel(p) > 0 => Ok(vec![vec![1]]),
        (Prim::HingeGrad | Prim::MseGrad, [p, y]) if numel(p) == numel(y) && numel(p) > 0 => Ok(vec![p.clone()]),
        _ => bad(prim, "pred and y with equal element counts", a),
    }
}
