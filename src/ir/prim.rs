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
    /// `c = add(a, b)`: elementwise, with broadcasting (see `Family::Elementwise`).
    Add,
    /// `c = sub(a, b)`: elementwise a − b, broadcast as `add`.
    Sub,
    /// `c = mul(a, b)`: elementwise product, broadcast as `add`.
    Mul,
    /// `c = scale(a, s)`: s·a for a scalar s (an expression or a `[1]` buffer).
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
    /// `c = exp(a)`.
    Exp,
    /// `c = log(a)`: natural logarithm.
    Log,
    /// `c = tanh(a)`.
    Tanh,
    /// `c = sigmoid(a)`: 1 / (1 + e^−a).
    Sigmoid,
    /// `c = softplus(a)`: ln(1 + e^a).
    Softplus,
    /// `c = abs(a)`.
    Abs,
    /// `c = sqrt(a)`.
    Sqrt,
    /// `c = square(a)`: a·a.
    Square,
    /// `c = neg(a)`: −a.
    Neg,
    /// `c = div(a, b)`: a / b elementwise.
    Div,
    /// `c = max(a, b)`: the elementwise maximum (a where a ≥ b).
    Max,
    /// `c = min(a, b)`: the elementwise minimum (a where a ≤ b).
    Min,
    /// `c = pow(a, p)`: a^p for a scalar p.
    Pow,
    /// `c = gt(a, b)`: 1 where a > b, else 0.
    Gt,
    /// `c = ge(a, b)`: 1 where a ≥ b, else 0.
    Ge,
    /// `c = lt(a, b)`: 1 where a < b, else 0.
    Lt,
    /// `c = le(a, b)`: 1 where a ≤ b, else 0.
    Le,
    /// `c = eq(a, b)`: 1 where a = b, else 0.
    Eq,
    /// `c = select(cond, a, b)`: a where cond > 0, else b.
    Select,
    /// `c = clamp(a, lo, hi)`: a limited to [lo, hi] (scalars).
    Clamp,
    /// `c = xor(a, b)`: 1 where exactly one of a, b is nonzero, else 0.
    Xor,
    /// `c = and(a, b)`: 1 where both are nonzero, else 0.
    And,
    /// `c = or(a, b)`: 1 where either is nonzero, else 0.
    Or,
    /// `c = not(a)`: 1 where a = 0, else 0.
    Not,
    /// `dx = tanh_grad(dy, y)`: dy·(1 − y·y) for y = tanh(x).
    TanhGrad,
    /// `dx = sigmoid_grad(dy, y)`: (dy·y)·(1 − y) for y = sigmoid(x).
    SigmoidGrad,
    /// `dx = clamp_grad(dy, a, lo, hi)`: dy where lo ≤ a ≤ hi, else 0.
    ClampGrad,
    /// `c = sum_all(a)`: the sum of every element, in index order, shape [1].
    SumAll,
    /// `c = sum_axis(a, k)`: sums over axis k (the axis disappears; [1] if none is left).
    SumAxis,
    /// `c = mean_axis(a, k)`: the sum over axis k divided by its extent.
    MeanAxis,
    /// `c = max_axis(a, k)`: the largest value along axis k.
    MaxAxis,
    /// `c = min_axis(a, k)`: the smallest value along axis k.
    MinAxis,
    /// `c = prod_axis(a, k)`: the product along axis k.
    ProdAxis,
    /// `c = argmax(a, k)`: the first index of the largest value along axis k.
    ArgMax,
    /// `c = argmin(a, k)`: the first index of the smallest value along axis k.
    ArgMin,
    /// `c = expand(a, k, n)`: repeats a n times along a new axis k.
    Expand,
    /// `c = onehot(i, n)`: i[…] → [… , n] with 1 at each index.
    OneHot,
    /// `c = reshape(a, d1, …)`: the same elements in a new shape.
    Reshape,
    /// `c = transpose(a)`: a[m,n] → [n,m].
    Transpose,
    /// `c = concat(a, b, k)`: a then b along axis k.
    Concat,
    /// `c = pad(a, k, before, after)`: a with `before` zeros before and `after` zeros after along axis k.
    Pad,
    /// `loss = logistic(pred, y)`: mean over elements of ln(1 + e^(−y·pred)), shape [1].
    Logistic,
    /// `dpred = logistic_grad(pred, y)`: −y·sigmoid(−y·pred)/N.
    LogisticGrad,
    /// `loss = softmax_xent(logits, t)`: mean over rows of logsumexp(row) − Σ t·row, shape [1].
    SoftmaxXent,
    /// `dlogits = softmax_xent_grad(logits, t)`: (softmax(row) − t)/rows.
    SoftmaxXentGrad,
    /// `y = query(xq)`: the task's true label of every row of xq (membership queries).
    Query,
    /// `r = noise_uniform(lo, hi, d1, …)`: a fresh [d1, …] of uniform draws in [lo, hi).
    NoiseUniform,
    /// `r = noise_normal(std, d1, …)`: a fresh [d1, …] of normal draws, mean 0.
    NoiseNormal,
    /// `r = noise_bernoulli(p, d1, …)`: a fresh [d1, …] of 1 with probability p, else 0.
    NoiseBernoulli,
    /// `c = gather(a, i, k)`: the entries of a at the indices i along axis k.
    Gather,
    /// `c = scatter_add(u, i, k, n)`: zeros of extent n along axis k, with u's entries added at i.
    ScatterAdd,
}

/// How the validator checks a primitive's operands and the driver groups it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Family {
    /// Matrix products (`affine`, `matmul`, `matvec`, `outer` and their gradients).
    Linear,
    /// Elementwise: every operand broadcasts onto the output (equal shape, one
    /// element, or the output's trailing shape).
    Elementwise,
    /// Reductions to fewer elements (`sum`, `sum_all`, the `*_axis` ops, `argmax`, `argmin`).
    Reduce,
    /// Moving elements without arithmetic (`expand`, `onehot`, `reshape`, `transpose`, `concat`, `pad`).
    Layout,
    /// Losses and their gradient seeds.
    Loss,
    /// Values from the task: `query` asks its label oracle.
    Task,
    /// Fresh random buffers, drawn per op and step (`noise_*`).
    Noise,
    /// Data-dependent indices into a static shape (`gather`, `scatter_add`).
    Index,
}

/// Static facts about a primitive.
#[derive(Clone, Copy, Debug)]
pub struct PrimInfo {
    /// The `.sutro` name.
    pub name: &'static str,
    /// Buffer arguments.
    pub args: usize,
    /// Scalar operands after the buffer arguments (an expression or a `[1]` buffer each).
    pub scalars: usize,
    /// Whether more scalar operands may follow (`reshape`'s extents).
    pub more: bool,
    /// Outputs.
    pub outs: usize,
    /// One-line semantics, shown by docs and `--help`.
    pub doc: &'static str,
}

impl Prim {
    /// Every primitive, in documentation order.
    pub const ALL: [Prim; 73] = [
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
        Prim::Exp,
        Prim::Log,
        Prim::Tanh,
        Prim::Sigmoid,
        Prim::Softplus,
        Prim::Abs,
        Prim::Sqrt,
        Prim::Square,
        Prim::Neg,
        Prim::Div,
        Prim::Max,
        Prim::Min,
        Prim::Pow,
        Prim::Gt,
        Prim::Ge,
        Prim::Lt,
        Prim::Le,
        Prim::Eq,
        Prim::Select,
        Prim::Clamp,
        Prim::Xor,
        Prim::And,
        Prim::Or,
        Prim::Not,
        Prim::TanhGrad,
        Prim::SigmoidGrad,
        Prim::ClampGrad,
        Prim::SumAll,
        Prim::SumAxis,
        Prim::MeanAxis,
        Prim::MaxAxis,
        Prim::MinAxis,
        Prim::ProdAxis,
        Prim::ArgMax,
        Prim::ArgMin,
        Prim::Expand,
        Prim::OneHot,
        Prim::Reshape,
        Prim::Transpose,
        Prim::Concat,
        Prim::Pad,
        Prim::Logistic,
        Prim::LogisticGrad,
        Prim::SoftmaxXent,
        Prim::SoftmaxXentGrad,
        Prim::Query,
        Prim::NoiseUniform,
        Prim::NoiseNormal,
        Prim::NoiseBernoulli,
        Prim::Gather,
        Prim::ScatterAdd,
    ];

    /// The static facts.
    ///
    /// Over 100 lines on purpose (clippy::too_many_lines): it is the primitive
    /// table, one line per primitive and nothing else; splitting it would
    /// scatter one table over several functions.
    pub fn info(self) -> PrimInfo {
        let i = |name, args, scalars: bool, outs, doc| PrimInfo {
            name,
            args,
            scalars: usize::from(scalars),
            more: false,
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
                "a + b elementwise (broadcast: an operand of one element or of the other's trailing shape repeats)",
            ),
            Prim::Sub => i("sub", 2, false, 1, "a - b elementwise (broadcast as add)"),
            Prim::Mul => i("mul", 2, false, 1, "a * b elementwise (broadcast as add)"),
            Prim::Scale => i(
                "scale",
                1,
                true,
                1,
                "s·a for a scalar s (an expression or a [1] buffer)",
            ),
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
            Prim::Exp => i("exp", 1, false, 1, "e^a elementwise"),
            Prim::Log => i("log", 1, false, 1, "natural log of a elementwise"),
            Prim::Tanh => i("tanh", 1, false, 1, "tanh(a) elementwise"),
            Prim::Sigmoid => i("sigmoid", 1, false, 1, "1 / (1 + e^-a) elementwise"),
            Prim::Softplus => i("softplus", 1, false, 1, "ln(1 + e^a) elementwise"),
            Prim::Abs => i("abs", 1, false, 1, "|a| elementwise"),
            Prim::Sqrt => i("sqrt", 1, false, 1, "√a elementwise"),
            Prim::Square => i("square", 1, false, 1, "a·a elementwise"),
            Prim::Neg => i("neg", 1, false, 1, "-a elementwise"),
            Prim::Div => i("div", 2, false, 1, "a / b elementwise (broadcast)"),
            Prim::Max => i(
                "max",
                2,
                false,
                1,
                "elementwise maximum: a where a ≥ b, else b (broadcast)",
            ),
            Prim::Min => i(
                "min",
                2,
                false,
                1,
                "elementwise minimum: a where a ≤ b, else b (broadcast)",
            ),
            Prim::Pow => i("pow", 1, true, 1, "a^p elementwise for a scalar p"),
            Prim::Gt => i("gt", 2, false, 1, "1 where a > b, else 0 (broadcast)"),
            Prim::Ge => i("ge", 2, false, 1, "1 where a ≥ b, else 0 (broadcast)"),
            Prim::Lt => i("lt", 2, false, 1, "1 where a < b, else 0 (broadcast)"),
            Prim::Le => i("le", 2, false, 1, "1 where a ≤ b, else 0 (broadcast)"),
            Prim::Eq => i("eq", 2, false, 1, "1 where a = b, else 0 (broadcast)"),
            Prim::Select => i(
                "select",
                3,
                false,
                1,
                "cond, a, b -> a where cond > 0, else b (broadcast)",
            ),
            Prim::Clamp => PrimInfo {
                name: "clamp",
                args: 1,
                scalars: 2,
                more: false,
                outs: 1,
                doc: "a limited to [lo, hi] for scalars lo, hi",
            },
            Prim::Xor => i("xor", 2, false, 1, "1 where exactly one of a, b is nonzero, else 0"),
            Prim::And => i("and", 2, false, 1, "1 where a and b are nonzero, else 0"),
            Prim::Or => i("or", 2, false, 1, "1 where a or b is nonzero, else 0"),
            Prim::Not => i("not", 1, false, 1, "1 where a = 0, else 0"),
            Prim::TanhGrad => i("tanh_grad", 2, false, 1, "dy, y -> dy·(1 - y·y)"),
            Prim::SigmoidGrad => i("sigmoid_grad", 2, false, 1, "dy, y -> (dy·y)·(1 - y)"),
            Prim::ClampGrad => PrimInfo {
                name: "clamp_grad",
                args: 2,
                scalars: 2,
                more: false,
                outs: 1,
                doc: "dy, a, lo, hi -> dy where lo ≤ a ≤ hi, else 0",
            },
            Prim::SumAll => i("sum_all", 1, false, 1, "sum of every element, in index order -> [1]"),
            Prim::SumAxis => i(
                "sum_axis",
                1,
                true,
                1,
                "sum along axis k, which disappears ([1] if none is left)",
            ),
            Prim::MeanAxis => i("mean_axis", 1, true, 1, "sum along axis k divided by its extent"),
            Prim::MaxAxis => i("max_axis", 1, true, 1, "the largest value along axis k"),
            Prim::MinAxis => i("min_axis", 1, true, 1, "the smallest value along axis k"),
            Prim::ProdAxis => i("prod_axis", 1, true, 1, "the product along axis k, in index order"),
            Prim::ArgMax => i(
                "argmax",
                1,
                true,
                1,
                "the first index of the largest value along axis k",
            ),
            Prim::ArgMin => i(
                "argmin",
                1,
                true,
                1,
                "the first index of the smallest value along axis k",
            ),
            Prim::Expand => PrimInfo {
                name: "expand",
                args: 1,
                scalars: 2,
                more: false,
                outs: 1,
                doc: "a repeated n times along a new axis k (a [1] buffer becomes [n])",
            },
            Prim::OneHot => i("onehot", 1, true, 1, "i[…] -> […, n]: 1 at position i, else 0"),
            Prim::Reshape => PrimInfo {
                name: "reshape",
                args: 1,
                scalars: 1,
                more: true,
                outs: 1,
                doc: "the same elements, row-major, in shape [d1, …]",
            },
            Prim::Transpose => i("transpose", 1, false, 1, "a[m,n] -> [n,m]"),
            Prim::Concat => i("concat", 2, true, 1, "a then b along axis k (other extents equal)"),
            Prim::Pad => PrimInfo {
                name: "pad",
                args: 1,
                scalars: 3,
                more: false,
                outs: 1,
                doc: "a with `before` zeros inserted before and `after` zeros after along axis k",
            },
            Prim::Logistic => i("logistic", 2, false, 1, "pred, y (±1) -> mean ln(1 + e^(-y·pred)) [1]"),
            Prim::LogisticGrad => i("logistic_grad", 2, false, 1, "pred, y -> -y·sigmoid(-y·pred)/N"),
            Prim::SoftmaxXent => i(
                "softmax_xent",
                2,
                false,
                1,
                "logits[B,C], t[B,C] -> mean over rows of logsumexp(row) - Σ t·row [1]",
            ),
            Prim::SoftmaxXentGrad => i("softmax_xent_grad", 2, false, 1, "logits, t -> (softmax(row) - t)/B"),
            Prim::Query => i(
                "query",
                1,
                false,
                1,
                "xq[…, n] -> the task's true label of each row […] ([1] for one row); counted in `queries`",
            ),
            Prim::NoiseUniform => noise(
                "noise_uniform",
                3,
                "lo, hi, d1, … -> a fresh [d1, …] uniform in [lo, hi) each step; (lo + hi)/2 in evaluation",
            ),
            Prim::NoiseNormal => noise(
                "noise_normal",
                2,
                "std, d1, … -> a fresh [d1, …] normal(0, std²) each step; 0 in evaluation",
            ),
            Prim::NoiseBernoulli => noise(
                "noise_bernoulli",
                2,
                "p, d1, … -> a fresh [d1, …] of 1 with probability p, else 0, each step; p in evaluation",
            ),
            Prim::Gather => i(
                "gather",
                2,
                true,
                1,
                "a[…, d_k, …], i[I…] -> a's entries at indices i along axis k: […, I…, …]",
            ),
            Prim::ScatterAdd => PrimInfo {
                name: "scatter_add",
                args: 2,
                scalars: 2,
                more: false,
                outs: 1,
                doc: "u[…, I…, …], i[I…] -> zeros […, n, …] with u's entries added at indices i along axis k",
            },
        }
    }

    /// Whether the op draws a fresh random buffer (`noise_*`).
    pub fn is_noise(self) -> bool {
        self.family() == Family::Noise
    }

    /// The `.sutro` name.
    pub fn name(self) -> &'static str {
        self.info().name
    }

    /// Looks a primitive up by its `.sutro` name.
    pub fn from_name(name: &str) -> Option<Prim> {
        Prim::ALL.into_iter().find(|p| p.name() == name)
    }

    /// How the validator checks the operands.
    pub fn family(self) -> Family {
        match self {
            Prim::Affine
            | Prim::AffineGrad
            | Prim::AffineGradX
            | Prim::MatMul
            | Prim::MatMulNt
            | Prim::MatMulTn
            | Prim::MatVec
            | Prim::MatVecT
            | Prim::Outer => Family::Linear,
            Prim::Sum
            | Prim::SumAll
            | Prim::SumAxis
            | Prim::MeanAxis
            | Prim::MaxAxis
            | Prim::MinAxis
            | Prim::ProdAxis
            | Prim::ArgMax
            | Prim::ArgMin => Family::Reduce,
            Prim::Expand | Prim::OneHot | Prim::Reshape | Prim::Transpose | Prim::Concat | Prim::Pad => Family::Layout,
            Prim::Hinge
            | Prim::HingeGrad
            | Prim::Mse
            | Prim::MseGrad
            | Prim::Logistic
            | Prim::LogisticGrad
            | Prim::SoftmaxXent
            | Prim::SoftmaxXentGrad => Family::Loss,
            Prim::Query => Family::Task,
            Prim::NoiseUniform | Prim::NoiseNormal | Prim::NoiseBernoulli => Family::Noise,
            Prim::Gather | Prim::ScatterAdd => Family::Index,
            _ => Family::Elementwise,
        }
    }

    /// Primitives that may stand as a fused gradient source in `update … with P(args)`.
    pub fn fusible(self) -> bool {
        matches!(
            self,
            Prim::Outer | Prim::Sum | Prim::Sign | Prim::Copy | Prim::Scale | Prim::MatMulTn | Prim::MatMulNt
        )
    }
}

/// A `noise_*` primitive: no buffer arguments, `scalars` operands (the
/// distribution's, then the first extent), more extents may follow.
fn noise(name: &'static str, scalars: usize, doc: &'static str) -> PrimInfo {
    PrimInfo {
        name,
        args: 0,
        scalars,
        more: true,
        outs: 1,
        doc,
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
state pos[b, o] = uniform(0.5, 2)
state s[1] = const(0.5)
state idx[b] = iota
";

impl Prim {
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
            Prim::Exp => "c = exp(dy)",
            Prim::Log => "c = log(pos)",
            Prim::Tanh => "c = tanh(dy)",
            Prim::Sigmoid => "c = sigmoid(dy)",
            Prim::Softplus => "c = softplus(dy)",
            Prim::Abs => "c = abs(dy)",
            Prim::Sqrt => "c = sqrt(pos)",
            Prim::Square => "c = square(dy)",
            Prim::Neg => "c = neg(dy)",
            Prim::Div => "c = div(dy, pos)",
            Prim::Max => "c = max(dy, pre)",
            Prim::Min => "c = min(dy, s)",
            Prim::Pow => "c = pow(pos, 1.5)",
            Prim::Gt => "c = gt(dy, pre)",
            Prim::Ge => "c = ge(dy, s)",
            Prim::Lt => "c = lt(dy, pre)",
            Prim::Le => "c = le(dy, pre)",
            Prim::Eq => "c = eq(dy, dy)",
            Prim::Select => "c = select(pre, dy, s)",
            Prim::Clamp => "c = clamp(dy, -0.5, 0.5)",
            Prim::Xor => "c = xor(dy, pre)",
            Prim::And => "c = and(dy, pre)",
            Prim::Or => "c = or(dy, pre)",
            Prim::Not => "c = not(dy)",
            Prim::TanhGrad => "c = tanh_grad(dy, pre)",
            Prim::SigmoidGrad => "c = sigmoid_grad(dy, pre)",
            Prim::ClampGrad => "c = clamp_grad(dy, pre, -1, 1)",
            Prim::SumAll => "c = sum_all(x)",
            Prim::SumAxis => "c = sum_axis(dy, 1)",
            Prim::MeanAxis => "c = mean_axis(dy, 0)",
            Prim::MaxAxis => "c = max_axis(dy, 1)",
            Prim::MinAxis => "c = min_axis(dy, 1)",
            Prim::ProdAxis => "c = prod_axis(dy, 1)",
            Prim::ArgMax => "c = argmax(dy, 1)",
            Prim::ArgMin => "c = argmin(dy, 1)",
            Prim::Expand => "c = expand(u, 0, 2)",
            Prim::OneHot => "c = onehot(idx, 5)",
            Prim::Reshape => "c = reshape(dy, 4, 2)",
            Prim::Transpose => "c = transpose(dy)",
            Prim::Concat => "c = concat(dy, pre, 0)",
            Prim::Pad => "c = pad(dy, 1, 2, 1)",
            Prim::Logistic => "loss = logistic(p, y)",
            Prim::LogisticGrad => "dp = logistic_grad(p, y)",
            Prim::SoftmaxXent => "loss = softmax_xent(dy, pre)",
            Prim::SoftmaxXentGrad => "c = softmax_xent_grad(dy, pre)",
            Prim::Query => "c = query(x)",
            Prim::NoiseUniform => "c = noise_uniform(-1, 1, b, o)",
            Prim::NoiseNormal => "c = noise_normal(0.5, b, o)",
            Prim::NoiseBernoulli => "c = noise_bernoulli(s, o)",
            Prim::Gather => "c = gather(W, idx, 0)",
            Prim::ScatterAdd => "c = scatter_add(dy, idx, 0, o)",
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
