//! `.sutro` step → v0 IR (`add sub mul copy`), one op at a time, at a
//! placement (declaration placement: each buffer's elements at its layout
//! offset + 1, buffers in declaration order from address 1).
//!
//! Loop orders (documented per op in `docs/dally.md`): every contraction runs
//! output rows, then output columns, then the summed index; the first product
//! initializes the output element (`mul c,a,b`), each later one goes through
//! the one scalar temporary (`mul t,a,b` then `add c,t`); elementwise ops run
//! in element order; `sum` copies the first row and adds the others in row
//! order. The temporary sits right after the placement's last address.
//!
//! The IR's inputs are the elements of every `input`, `target`, `param` and
//! `state` buffer (what exists when the step starts), in layout order; its
//! outputs are every `param` and `state` element (the step's exit reads) and
//! then the `predict` buffer.

use super::{DallyError, Instr, Op, Program};
use crate::ir::{BufId, OpKind, Prim, Role};
use crate::valid::Validated;

/// Emits instructions for one program.
struct Emitter<'a> {
    v: &'a Validated,
    base: Vec<u64>,
    tmp: u64,
    out: Vec<Instr>,
}

impl Emitter<'_> {
    fn at(&self, b: BufId, e: usize) -> u64 {
        self.base[b.idx()] + e as u64
    }

    fn push(&mut self, op: Op, dst: u64, src: &[u64]) {
        self.out.push(Instr::new(op, dst, src));
    }

    /// `c = Σ_q a_q·b_q` over the given operand pairs.
    fn dot(&mut self, c: u64, pairs: impl Iterator<Item = (u64, u64)>) {
        for (q, (a, b)) in pairs.enumerate() {
            if q == 0 {
                self.push(Op::Mul, c, &[a, b]);
            } else {
                self.push(Op::Mul, self.tmp, &[a, b]);
                self.push(Op::Add, c, &[c, self.tmp]);
            }
        }
    }

    /// `c[i,j] = Σ_q a(i,j,q)·b(i,j,q)` for an `rows × cols` output.
    fn contract(
        &mut self,
        c: BufId,
        (rows, cols, k): (usize, usize, usize),
        a: impl Fn(usize, usize, usize) -> u64,
        b: impl Fn(usize, usize, usize) -> u64,
    ) {
        for i in 0..rows {
            for j in 0..cols {
                let dst = self.at(c, i * cols + j);
                self.dot(dst, (0..k).map(|q| (a(i, j, q), b(i, j, q))));
            }
        }
    }

    fn dims2(&self, b: BufId) -> (usize, usize) {
        match self.v.shape(b) {
            [r, c] => (*r, *c),
            [n] => (1, *n),
            s => (1, s.iter().product()),
        }
    }

    /// Emits one call; `false` when the primitive has no v0 form.
    fn call(&mut self, prim: Prim, outs: &[BufId], args: &[BufId]) -> bool {
        let arg = |i: usize| args.get(i).copied().unwrap_or(BufId(0));
        let (x, y) = (arg(0), arg(1));
        let c = outs.first().copied().unwrap_or(BufId(0));
        match prim {
            Prim::Add | Prim::Sub | Prim::Mul | Prim::Copy => self.elementwise(prim, c, x, y),
            Prim::Sum => {
                let (rows, rest) = match self.v.shape(x) {
                    [n] => (*n, 1),
                    [r, rest @ ..] => (*r, rest.iter().product()),
                    [] => (1, 1),
                };
                self.sum_rows(c, x, rows, rest);
            }
            _ => return self.linear(prim, outs, args),
        }
        true
    }

    /// `c = x op y` element by element, `y` broadcast by wrapping its index.
    fn elementwise(&mut self, prim: Prim, c: BufId, x: BufId, y: BufId) {
        let op = match prim {
            Prim::Add => Op::Add,
            Prim::Sub => Op::Sub,
            Prim::Mul => Op::Mul,
            _ => Op::Copy,
        };
        let (ax, bx) = (self.base[x.idx()], self.base[y.idx()]);
        let (n, nb) = (self.v.size(x), self.v.size(y).max(1));
        for e in 0..n {
            let d = self.at(c, e);
            if op == Op::Copy {
                self.push(op, d, &[ax + e as u64]);
            } else {
                self.push(op, d, &[ax + e as u64, bx + (e % nb) as u64]);
            }
        }
    }

    /// The matmul family, affine and outer; `false` for any other primitive.
    fn linear(&mut self, prim: Prim, outs: &[BufId], args: &[BufId]) -> bool {
        let sh = |b: BufId| self.dims2(b);
        let arg = |i: usize| args.get(i).copied().unwrap_or(BufId(0));
        let (x, y) = (arg(0), arg(1));
        let (ax, bx) = (self.base[x.idx()], self.base[y.idx()]);
        let c = outs.first().copied().unwrap_or(BufId(0));
        match prim {
            Prim::MatMul => {
                let ((m, k), (_, n)) = (sh(x), sh(y));
                self.contract(
                    c,
                    (m, n, k),
                    |i, _, q| ax + (i * k + q) as u64,
                    |_, j, q| bx + (q * n + j) as u64,
                );
            }
            Prim::MatMulNt => {
                let ((m, k), (n, _)) = (sh(x), sh(y));
                self.contract(
                    c,
                    (m, n, k),
                    |i, _, q| ax + (i * k + q) as u64,
                    |_, j, q| bx + (j * k + q) as u64,
                );
            }
            Prim::MatMulTn => {
                let ((k, m), (_, n)) = (sh(x), sh(y));
                self.contract(
                    c,
                    (m, n, k),
                    |i, _, q| ax + (q * m + i) as u64,
                    |_, j, q| bx + (q * n + j) as u64,
                );
            }
            Prim::MatVec => {
                let (m, n) = sh(x);
                self.contract(c, (m, 1, n), |i, _, q| ax + (i * n + q) as u64, |_, _, q| bx + q as u64);
            }
            Prim::MatVecT => {
                let (m, n) = sh(x);
                self.contract(c, (1, n, m), |_, j, q| ax + (q * n + j) as u64, |_, _, q| bx + q as u64);
            }
            Prim::Affine => {
                let ((rows, k), (o, _)) = (sh(x), sh(y));
                self.contract(
                    c,
                    (rows, o, k),
                    |r, _, q| ax + (r * k + q) as u64,
                    |_, j, q| bx + (j * k + q) as u64,
                );
                let bias = arg(2);
                for r in 0..rows {
                    for j in 0..o {
                        let d = self.at(c, r * o + j);
                        let s = self.at(bias, j);
                        self.push(Op::Add, d, &[d, s]);
                    }
                }
            }
            Prim::AffineGradX => {
                // dx[r,i] = Σ_q dy[r,q]·W[q,i]; args are (W, dy).
                let ((o, i_n), (rows, _)) = (sh(x), sh(y));
                self.contract(
                    c,
                    (rows, i_n, o),
                    |r, _, q| bx + (r * o + q) as u64,
                    |_, j, q| ax + (q * i_n + j) as u64,
                );
            }
            Prim::AffineGrad => {
                // dW[o,i] = Σ_r dy[r,o]·x[r,i]; db[o] = Σ_r dy[r,o]; args are (dy, x).
                let ((rows, o), (_, i_n)) = (sh(x), sh(y));
                self.contract(
                    c,
                    (o, i_n, rows),
                    |oi, _, r| ax + (r * o + oi) as u64,
                    |_, j, r| bx + (r * i_n + j) as u64,
                );
                if let Some(&db) = outs.get(1) {
                    self.sum_rows(db, x, rows, o);
                }
            }
            Prim::Outer => {
                let ((ra, m), (_, n)) = (sh(x), sh(y));
                self.contract(
                    c,
                    (m, n, ra),
                    |i, _, r| ax + (r * m + i) as u64,
                    |_, j, r| bx + (r * n + j) as u64,
                );
            }
            _ => return false,
        }
        true
    }

    /// `c[e] = Σ_r a[r, e]` for `a[rows, rest]`.
    fn sum_rows(&mut self, c: BufId, a: BufId, rows: usize, rest: usize) {
        for e in 0..rest {
            let d = self.at(c, e);
            for r in 0..rows {
                let s = self.at(a, r * rest + e);
                if r == 0 {
                    self.push(Op::Copy, d, &[s]);
                } else {
                    self.push(Op::Add, d, &[d, s]);
                }
            }
        }
    }
}

/// Declaration placement: buffer `b`'s first element at its layout offset + 1.
pub fn declaration_bases(v: &Validated) -> Vec<u64> {
    v.program().buffer_ids().map(|b| v.offset(b) as u64 + 1).collect()
}

/// Lowers one step of a validated program to v0 IR at declaration placement.
pub fn lower(v: &Validated) -> Result<Program, DallyError> {
    let p = v.program();
    let mut em = Emitter {
        v,
        base: declaration_bases(v),
        tmp: v.total_elements() as u64 + 1,
        out: Vec::new(),
    };
    for &id in &p.order {
        let op = p.op(id);
        let ok = match &op.kind {
            OpKind::Call { prim, outs, args, .. } => em.call(*prim, outs, args),
            _ => false,
        };
        if !ok {
            let what = match &op.kind {
                OpKind::Call { prim, .. } => prim.info().name.to_string(),
                OpKind::Update { .. } => "update".to_string(),
                OpKind::Grad { .. } => "grad".to_string(),
            };
            return Err(DallyError::Parse {
                msg: format!(
                    "op `{}` ({what}) has no v0 form: ir lower writes the matmul family, affine, outer, add, sub, mul, copy and sum",
                    p.op_name(id)
                ),
                span: op.span,
            });
        }
    }
    let elems = |b: BufId| (0..v.size(b)).map(move |e| (b, e));
    let all = || p.buffer_ids();
    let role = |b: BufId| p.buf(b).role;
    let at_start = |b: &BufId| matches!(role(*b), Role::Input | Role::Target | Role::Param | Role::State);
    let inputs = all()
        .filter(at_start)
        .flat_map(elems)
        .map(|(b, e)| em.at(b, e))
        .collect();
    let mut outputs: Vec<u64> = all()
        .filter(|b| role(*b).persists())
        .flat_map(elems)
        .map(|(b, e)| em.at(b, e))
        .collect();
    if let Some((pb, _)) = p.predict
        && !role(pb).persists()
    {
        outputs.extend(elems(pb).map(|(b, e)| em.at(b, e)));
    }
    let prog = Program {
        inputs,
        instrs: em.out,
        outputs,
        ..Program::default()
    };
    // The lowering must itself be a well-formed program: re-check by parsing its text.
    super::parse(&prog.to_string()).map_err(|e| DallyError::Internal(format!("lowered program is invalid: {e}")))
}
