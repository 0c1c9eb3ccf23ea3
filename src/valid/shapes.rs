//! Shape rules: one `match` arm per primitive.

use crate::ir::Prim;

fn s(x: &[usize]) -> String {
    format!("[{}]", x.iter().map(|d| d.to_string()).collect::<Vec<_>>().join(","))
}

fn all(a: &[Vec<usize>]) -> String {
    a.iter().map(|x| s(x)).collect::<Vec<_>>().join(", ")
}

/// Whether `b` broadcasts onto `a`: equal shapes, or `b` is `a`'s trailing shape.
pub fn broadcasts(a: &[usize], b: &[usize]) -> bool {
    a == b || (b.len() < a.len() && a[a.len() - b.len()..] == *b)
}

/// Output shapes of a primitive applied to arguments of the given shapes, or a
/// message naming the expected form and the shapes found.
pub fn infer(prim: Prim, a: &[Vec<usize>]) -> Result<Vec<Vec<usize>>, String> {
    let bad = |form: &str| Err(format!("{} expects {form}, got {}", prim.name(), all(a)));
    let one = |v: Vec<usize>| Ok(vec![v]);
    match prim {
        Prim::Affine => match a {
            [x, w, b] if x.len() == 2 && w.len() == 2 && b.len() == 1 && x[1] == w[1] && b[0] == w[0] => {
                one(vec![x[0], w[0]])
            }
            _ => bad("x[B,i], W[o,i], b[o]"),
        },
        Prim::AffineGrad => match a {
            [dy, x] if dy.len() == 2 && x.len() == 2 && dy[0] == x[0] => Ok(vec![vec![dy[1], x[1]], vec![dy[1]]]),
            _ => bad("dy[B,o], x[B,i]"),
        },
        Prim::AffineGradX => match a {
            [w, dy] if w.len() == 2 && dy.len() == 2 && dy[1] == w[0] => one(vec![dy[0], w[1]]),
            _ => bad("W[o,i], dy[B,o]"),
        },
        Prim::MatMul => match a {
            [x, y] if x.len() == 2 && y.len() == 2 && x[1] == y[0] => one(vec![x[0], y[1]]),
            _ => bad("[m,k] x [k,n]"),
        },
        Prim::MatMulNt => match a {
            [x, y] if x.len() == 2 && y.len() == 2 && x[1] == y[1] => one(vec![x[0], y[0]]),
            _ => bad("[m,k] x [n,k]"),
        },
        Prim::MatMulTn => match a {
            [x, y] if x.len() == 2 && y.len() == 2 && x[0] == y[0] => one(vec![x[1], y[1]]),
            _ => bad("[k,m] x [k,n]"),
        },
        Prim::MatVec => match a {
            [w, v] if w.len() == 2 && v.len() == 1 && w[1] == v[0] => one(vec![w[0]]),
            _ => bad("W[m,n], v[n]"),
        },
        Prim::MatVecT => match a {
            [w, v] if w.len() == 2 && v.len() == 1 && w[0] == v[0] => one(vec![w[1]]),
            _ => bad("W[m,n], v[m]"),
        },
        Prim::Outer => match a {
            [x, y] if x.len() == 1 && y.len() == 1 => one(vec![x[0], y[0]]),
            [x, y] if x.len() == 2 && y.len() == 2 && x[0] == y[0] => one(vec![x[1], y[1]]),
            _ => bad("a[m], b[n] or a[B,m], b[B,n]"),
        },
        Prim::Add | Prim::Sub | Prim::Mul => match a {
            [x, y] if broadcasts(x, y) => one(x.clone()),
            _ => bad("equal shapes, or b of a's trailing shape"),
        },
        Prim::Scale | Prim::Sign | Prim::Relu | Prim::Copy => match a {
            [x] => one(x.clone()),
            _ => bad("one buffer"),
        },
        Prim::ReluGrad => match a {
            [dy, pre] if dy == pre => one(dy.clone()),
            _ => bad("dy and pre of equal shapes"),
        },
        Prim::Sum => match a {
            [x] if x.len() == 1 => one(vec![1]),
            [x] if !x.is_empty() => one(x[1..].to_vec()),
            _ => bad("a buffer"),
        },
        Prim::Hinge | Prim::Mse => match a {
            [p, y] if numel(p) == numel(y) && numel(p) > 0 => one(vec![1]),
            _ => bad("pred and y with equal element counts"),
        },
        Prim::HingeGrad | Prim::MseGrad => match a {
            [p, y] if numel(p) == numel(y) && numel(p) > 0 => one(p.clone()),
            _ => bad("pred and y with equal element counts"),
        },
    }
}

fn numel(x: &[usize]) -> usize {
    x.iter().product()
}
