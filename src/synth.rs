//! Program generators for tests and benchmarks: synthetic `.sutro` programs of a
//! chosen size, so the optimizer and front-end benches measure growth with size.

/// Shape of a generated deep MLP.
#[derive(Clone, Copy, Debug)]
pub struct DeepMlp {
    /// Affine layers (about 7 ops each after `grad` lowering).
    pub layers: usize,
    /// Input bits.
    pub n: usize,
    /// Width of every hidden layer.
    pub hidden: usize,
    /// Examples per step.
    pub batch: usize,
}

/// A deep ReLU MLP with hinge loss, `grad` and one `update` per parameter.
pub fn deep_mlp(c: DeepMlp) -> String {
    let l = c.layers.max(1);
    let mut s = format!(
        "dim n = {}\ndim k = 2\ndim hid = {}\ndim batch = {}\nhyper lr = 0.05\nhyper wd = 0.001\n",
        c.n, c.hidden, c.batch
    );
    let mut prev = "n".to_string();
    for i in 1..=l {
        let o = if i == l { "1" } else { "hid" };
        s += &format!("param W{i}[{o}, {prev}] = normal(sqrt(2 / {prev}))\nparam b{i}[{o}] = zeros\n");
        prev = o.to_string();
    }
    s += "input x[batch, n]\ntarget y[batch]\n";
    let mut h = "x".to_string();
    for i in 1..=l {
        s += &format!("a{i} = affine({h}, W{i}, b{i})\n");
        if i < l {
            s += &format!("z{i} = relu(a{i})\n");
            h = format!("z{i}");
        }
    }
    s += &format!("predict a{l}\nloss = hinge(a{l}, y)\ngrad loss wrt ");
    s += &(1..=l).map(|i| format!("W{i}, b{i}")).collect::<Vec<_>>().join(", ");
    s.push('\n');
    for i in 1..=l {
        s += &format!("update W{i} sgd(lr, wd) with dW{i}\nupdate b{i} sgd(lr, wd) with db{i}\n");
    }
    s
}
