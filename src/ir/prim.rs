//! The primitive op table: names, arity and documented semantics.
//!
//! Every primitive reads its buffer arguments in argument order (that order is
//! part of its definition, see `effects`) and writes its outputs in order. The
//! shape rule lives in `valid`, the kernel in `interp::kernels` and the gradient
//! rule in `ir::grad`, each one `match` arm per primitive.

use std::fmt;

/// A primitive operation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Prim {
    /// `y = affine(x, W, b)`: x[B,i], W[o,i], b[o] → y[B,o] = x·Wᵀ + b.
    Affine,
    /// `dW, db = affine_grad(dy, x)`: dW[o,i] = dyᵀ·x, db[o] = Σ_rows dy.
    AffineGrad,
    /// `dx = affine_grad_x(W, dy)`: dx[B,i] = dy·W.
    AffineGradX,
    /// `c = matmul(a, b)`: a[m,k], b[k,n] → c[m,n].
    MatMul,
    /// `c = matmul_nt(a, b)`: a[m,k], b[n,k] → c = a·bᵀ [m,n].
    MatMulNt,
    /// `c = matmul_tn(a, b)`: a[k,m], b[k,n] → c = aᵀ·b [m,n].
    MatMulTn,
    /// `y = matvec(W, v)`: W[m,n], v[n] → y[m].
    MatVec,
    /// `y = matvec_t(W, v)`: W[m,n], v[m] → y = Wᵀ·v [n].
    MatVecT,
    /// `c = outer(a, b)`: a[m], b[n] → [m,n]; or a[B,m], b[B,n] → Σ_rows aᵀ⊗b [m,n].
    Outer,
    /// `c = add(a, b)`: elementwise; b may have a's trailing shape (row broadcast).
    Add,
    /// `c = sub(a, b)`: elementwise a − b, broadcast as `add`.
    Sub,
    /// `c = mul(a, b)`: elementwise product, broadcast as `add`.
    Mul,
    /// `c = scale(a, s)`: s·a for a scalar expression s.
    Scale,
    /// `c = sign(a)`: −1, 0 or +1 (sign(±0) = 0).
    Sign,
    /// `c = relu(a)`: max(a, 0).
    Relu,
    /// `dx = relu_grad(dy, pre)`: dy where pre > 0, else 0.
    ReluGrad,
    /// `c = sum(a)`: sums over the first axis; a[d0, rest…] → [rest…] ([1] for a vector).
    Sum,
    /// `c = copy(a)`.
    Copy,
    /// `loss = hinge(pred, y)`: mean over elements of max(0, 1 − y·pred), shape [1].
    Hinge,
    /// `dpred = hinge_grad(pred, y)`: −y/N where y·pred < 1, else 0 (N elements).
    HingeGrad,
    /// `loss = mse(pred, y)`: mean over elements of (pred − y)², shape [1].
    Mse,
    /// `dpred = mse_grad(pred, y)`: 2·(pred − y)/N.
    MseGrad,
}

/// Static facts about a primitive.
#[derive(Clone, Copy, Debug)]
pub struct PrimInfo {
    /// The `.sutro` name.
    pub name: &'static str,
    /// Buffer arguments.
    pub args: usize,
    /// Whether a scalar expression follows the buffer arguments.
    pub scalar: bool,
    /// Outputs.
    pub outs: usize,
    /// One-line semantics, shown by docs and `--help`.
    pub doc: &'static str,
}

impl Prim {
    /// Every primitive, in documentation order.
    pub const ALL: [Prim; 22] = [
        Prim::Affine,
        Prim::AffineGrad,
        Prim::AffineGradX,
        Prim::MatMul,
        Prim::MatMulNt,
        Prim::MatMulTn,
        Prim::MatVec,
        Prim::MatVecT,
        Prim::Outer,
        Prim::Add,
        Prim::Sub,
        Prim::Mul,
        Prim::Scale,
        Prim::Sign,
        Prim::Relu,
        Prim::ReluGrad,
        Prim::Sum,
        Prim::Copy,
        Prim::Hinge,
        Prim::HingeGrad,
        Prim::Mse,
        Prim::MseGrad,
    ];

    /// The static facts.
    pub fn info(self) -> PrimInfo {
        let i = |name, args, scalar, outs, doc| PrimInfo {
            name,
            args,
            scalar,
            outs,
            doc,
        };
        match self {
            Prim::Affine => i("affine", 3, false, 1, "x[B,i], W[o,i], b[o] -> x·Wᵀ + b [B,o]"),
            Prim::AffineGrad => i(
                "affine_grad",
                2,
                false,
                2,
                "dy[B,o], x[B,i] -> dW = dyᵀ·x [o,i], db = Σ_rows dy [o]",
            ),
            Prim::AffineGradX => i("affine_grad_x", 2, false, 1, "W[o,i], dy[B,o] -> dy·W [B,i]"),
            Prim::MatMul => i("matmul", 2, false, 1, "a[m,k], b[k,n] -> a·b [m,n]"),
            Prim::MatMulNt => i("matmul_nt", 2, false, 1, "a[m,k], b[n,k] -> a·bᵀ [m,n]"),
            Prim::MatMulTn => i("matmul_tn", 2, false, 1, "a[k,m], b[k,n] -> aᵀ·b [m,n]"),
            Prim::MatVec => i("matvec", 2, false, 1, "W[m,n], v[n] -> W·v [m]"),
            Prim::MatVecT => i("matvec_t", 2, false, 1, "W[m,n], v[m] -> Wᵀ·v [n]"),
            Prim::Outer => i(
                "outer",
                2,
                false,
                1,
                "a[m], b[n] -> a⊗b [m,n]; a[B,m], b[B,n] -> Σ_rows aᵀ⊗b [m,n]",
            ),
            Prim::Add => i(
                "add",
                2,
                false,
                1,
                "a + b elementwise (b may be a's trailing shape, broadcast over rows)",
            ),
            Prim::Sub => i("sub", 2, false, 1, "a - b elementwise (broadcast as add)"),
            Prim::Mul => i("mul", 2, false, 1, "a * b elementwise (broadcast as add)"),
            Prim::Scale => i("scale", 1, true, 1, "s·a for a scalar expression s"),
            Prim::Sign => i("sign", 1, false, 1, "-1, 0 or +1 elementwise; sign(±0) = 0"),
            Prim::Relu => i("relu", 1, false, 1, "max(a, 0) elementwise"),
            Prim::ReluGrad => i("relu_grad", 2, false, 1, "dy where pre > 0, else 0"),
            Prim::Sum => i(
                "sum",
                1,
                false,
                1,
                "sum over the first axis: a[d0, rest] -> [rest] ([1] for a vector)",
            ),
            Prim::Copy => i("copy", 1, false, 1, "a copy of a"),
            Prim::Hinge => i("hinge", 2, false, 1, "pred, y -> mean max(0, 1 - y·pred) [1]"),
            Prim::HingeGrad => i("hinge_grad", 2, false, 1, "pred, y -> -y/N where y·pred < 1, else 0"),
            Prim::Mse => i("mse", 2, false, 1, "pred, y -> mean (pred - y)² [1]"),
            Prim::MseGrad => i("mse_grad", 2, false, 1, "pred, y -> 2·(pred - y)/N"),
        }
    }

    /// The `.sutro` name.
    pub fn name(self) -> &'static str {
        self.info().name
    }

    /// Looks a primitive up by its `.sutro` name.
    pub fn from_name(name: &str) -> Option<Prim> {
        Prim::ALL.into_iter().find(|p| p.name() == name)
    }

    /// Primitives that may stand as a fused gradient source in `update … with P(args)`.
    pub fn fusible(self) -> bool {
        matches!(
            self,
            Prim::Outer | Prim::Sum | Prim::Sign | Prim::Copy | Prim::Scale | Prim::MatMulTn | Prim::MatMulNt
        )
    }
}

impl fmt::Display for Prim {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Declarations shared by every op's example program.
const EXAMPLE_HEAD: &str = "dim b = 2
dim i = 3
dim o = 4
param W[o, i] = normal(1)
param M[i, o] = normal(1)
param bias[o] = zeros
param v[i] = normal(1)
param u[o] = normal(1)
input x[b, i]
target y[b]
state dy[b, o] = normal(1)
state pre[b, o] = normal(1)
state p[b, 1] = normal(1)
";

impl Prim {
    /// How `grad` differentiates through this op (`dy` is the output's gradient).
    pub fn grad_rule(self) -> &'static str {
        match self {
            Prim::Affine => {
                "dW, db = affine_grad(dy, x) (dW = outer(dy, x) or db = sum(dy) when only one is needed); dx = affine_grad_x(W, dy)"
            }
            Prim::MatMul => "da = matmul_nt(dy, b); db = matmul_tn(a, dy)",
            Prim::MatMulNt => "da = matmul(dy, b); db = matmul_tn(dy, a)",
            Prim::MatMulTn => "da = matmul_nt(b, dy); db = matmul(a, dy)",
            Prim::MatVec => "dW = outer(dy, v); dv = matvec_t(W, dy)",
            Prim::MatVecT => "dW = outer(v, dy); dv = matvec(W, dy)",
            Prim::Outer => {
                "vectors: da = matvec(dy, b), db = matvec_t(dy, a); rows: da = matmul_nt(b, dy), db = matmul(a, dy)"
            }
            Prim::Add => "da = dy; db = dy (db = sum(dy) when b is broadcast over rows)",
            Prim::Sub => "da = dy; db = scale(dy, -1)",
            Prim::Mul => "da = mul(dy, b); db = mul(dy, a)",
            Prim::Scale => "da = scale(dy, s)",
            Prim::Sign => "no gradient (flat almost everywhere)",
            Prim::Relu => "da = relu_grad(dy, a)",
            Prim::Copy => "da = dy",
            Prim::Hinge => "as the loss: dpred = hinge_grad(pred, y)",
            Prim::Mse => "as the loss: dpred = mse_grad(pred, y)",
            Prim::Sum | Prim::AffineGrad | Prim::AffineGradX | Prim::ReluGrad | Prim::HingeGrad | Prim::MseGrad => {
                "none: `grad` stops with an error at this op"
            }
        }
    }

    /// The op's line in its example program.
    pub fn example_line(self) -> &'static str {
        match self {
            Prim::Affine => "out = affine(x, W, bias)",
            Prim::AffineGrad => "dW, db = affine_grad(dy, x)",
            Prim::AffineGradX => "dx = affine_grad_x(W, dy)",
            Prim::MatMul => "c = matmul(x, M)",
            Prim::MatMulNt => "c = matmul_nt(x, W)",
            Prim::MatMulTn => "c = matmul_tn(x, dy)",
            Prim::MatVec => "c = matvec(W, v)",
            Prim::MatVecT => "c = matvec_t(W, u)",
            Prim::Outer => "c = outer(u, v)",
            Prim::Add => "c = add(dy, bias)",
            Prim::Sub => "c = sub(dy, pre)",
            Prim::Mul => "c = mul(dy, pre)",
            Prim::Scale => "c = scale(x, 0.5)",
            Prim::Sign => "c = sign(x)",
            Prim::Relu => "c = relu(x)",
            Prim::ReluGrad => "c = relu_grad(dy, pre)",
            Prim::Sum => "c = sum(x)",
            Prim::Copy => "c = copy(x)",
            Prim::Hinge => "loss = hinge(p, y)",
            Prim::HingeGrad => "dp = hinge_grad(p, y)",
            Prim::Mse => "loss = mse(p, y)",
            Prim::MseGrad => "dp = mse_grad(p, y)",
        }
    }

    /// A complete, valid one-op program using this op.
    pub fn example(self) -> String {
        format!("{EXAMPLE_HEAD}{}\n", self.example_line())
    }
}

/// A complete, valid one-op program with a fused `update`.
pub fn update_example() -> String {
    format!("{EXAMPLE_HEAD}update W sgd(0.1, 0.01) with outer(dy, x)\n")
}
