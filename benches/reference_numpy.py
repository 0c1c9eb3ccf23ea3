#!/usr/bin/env python3
"""The numpy reference for the sutro training benchmark (see docs/performance.md).

A faithful float32 numpy version of programs/sparse_parity.sutro at its defaults,
the SutroYaro config: a 2-layer MLP on sparse parity (n=20, k=3, hidden=200),
hinge loss averaged over a batch of 32, plain SGD with weight decay
p -= lr * (g + wd * p) (lr=0.1, wd=0.01, biases included), init
W ~ N(0, sqrt(2 / fan_in)), biases 0, cyclic order over n_train=1000 examples
(a last partial batch wraps to the start), evaluation of train and test loss and
accuracy after every epoch, stop at 100 % test accuracy. Like the reference
implementation it skips the backward pass for samples without a margin violation
(y * out >= 1 has zero hinge gradient); the update (and its weight decay) runs every
step.

The data come from numpy's generator, so epochs to solve differ from sutro's for
the same seed; the benchmark compares medians over seeds 0..4.

    python3 benches/reference_numpy.py              # seeds 0..4, in-process times
    python3 benches/reference_numpy.py --seed 3     # one run (for hyperfine)
"""

import argparse
import statistics
import time

import numpy as np

F = np.float32


def make_data(rng, n, k, n_train, n_test):
    secret = np.sort(rng.choice(n, size=k, replace=False))

    def draw(count):
        x = np.where(rng.random((count, n)) < 0.5, F(-1.0), F(1.0)).astype(F)
        return x, np.prod(x[:, secret], axis=1).astype(F)

    return secret, draw(n_train), draw(n_test)


def evaluate(params, x, y):
    w1, b1, w2, b2 = params
    out = (np.maximum(x @ w1.T + b1, F(0.0)) @ w2.T + b2)[:, 0]
    loss = float(np.mean(np.maximum(F(1.0) - y * out, F(0.0))))
    acc = float(np.mean(np.where(out >= 0, F(1.0), F(-1.0)) == y))
    return loss, acc


def train(seed, n=20, k=3, hidden=200, lr=0.1, wd=0.01, batch=32, n_train=1000, n_test=200, max_epochs=200):
    """Returns (solved epoch or None, steps, history). Data generation and init included."""
    rng = np.random.default_rng(seed)
    secret, (xtr, ytr), (xte, yte) = make_data(rng, n, k, n_train, n_test)
    w1 = (rng.standard_normal((hidden, n)) * np.sqrt(2.0 / n)).astype(F)
    b1 = np.zeros(hidden, F)
    w2 = (rng.standard_normal((1, hidden)) * np.sqrt(2.0 / hidden)).astype(F)
    b2 = np.zeros(1, F)
    lr, wd = F(lr), F(wd)
    steps_per_epoch = -(-n_train // batch)
    # Cyclic batches, the last one wrapping to the start (as sutro's driver does).
    batches = [np.arange(s * batch, (s + 1) * batch) % n_train for s in range(steps_per_epoch)]
    history, steps = [], 0
    for epoch in range(1, max_epochs + 1):
        for idx in batches:
            x, y = xtr[idx], ytr[idx]
            h_pre = x @ w1.T + b1
            h = np.maximum(h_pre, F(0.0))
            out = (h @ w2.T + b2)[:, 0]
            viol = y * out < F(1.0)
            if viol.any():
                # d(mean hinge)/d out = -y / batch where the margin is violated; the
                # other samples contribute nothing, so they skip the backward pass.
                dout = (-y[viol] / F(batch)).astype(F)
                hv, xv, pv = h[viol], x[viol], h_pre[viol]
                gw2 = (dout @ hv)[None, :]
                gb2 = np.array([dout.sum()], F)
                dh_pre = np.outer(dout, w2[0]) * (pv > 0)
                gw1 = dh_pre.T @ xv
                gb1 = dh_pre.sum(axis=0)
                w2 -= lr * (gw2 + wd * w2)
                b2 -= lr * (gb2 + wd * b2)
                w1 -= lr * (gw1 + wd * w1)
                b1 -= lr * (gb1 + wd * b1)
            else:
                for p in (w2, b2, w1, b1):
                    p -= lr * (wd * p)
            steps += 1
        params = (w1, b1, w2, b2)
        train_loss, train_acc = evaluate(params, xtr, ytr)
        test_loss, test_acc = evaluate(params, xte, yte)
        history.append((epoch, train_loss, test_loss, train_acc, test_acc))
        if test_acc >= 1.0:
            return epoch, steps, history
    return None, steps, history


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seed", type=int, help="run one seed (default: seeds 0..4)")
    ap.add_argument("--repeat", type=int, default=3, help="timed runs per seed; the median is reported")
    a = ap.parse_args()
    if a.seed is not None:
        t0 = time.perf_counter()
        epoch, steps, _ = train(a.seed)
        print(f"seed {a.seed}: solved_epoch {epoch} steps {steps} in {time.perf_counter() - t0:.4f} s")
        return
    train(0)  # warm-up (imports, BLAS threads)
    per_seed = []
    for seed in range(5):
        times = []
        for _ in range(a.repeat):
            t0 = time.perf_counter()
            epoch, steps, _ = train(seed)
            times.append(time.perf_counter() - t0)
        t = statistics.median(times)
        per_seed.append(t)
        print(f"seed {seed}: solved_epoch {epoch} steps {steps} time {t * 1e3:.1f} ms (median of {a.repeat})")
    print(f"median over seeds 0..4: {statistics.median(per_seed) * 1e3:.1f} ms")


if __name__ == "__main__":
    main()
