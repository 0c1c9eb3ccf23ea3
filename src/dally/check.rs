//! `--check matmul:N`: a proof that a program computes `C = A·B` for all
//! inputs, by running it on polynomials instead of numbers.
//!
//! Inputs are the variables `A` (row-major) then `B` (row-major), `2N²` in all;
//! every cell holds a polynomial of degree ≤ 2 with integer coefficients (the
//! challenge's requirement), and each output `C[i,j]` must equal
//! `Σ_k A[i,k]·B[k,j]` exactly. Only the v0 ops and `set` have a polynomial
//! meaning; a product of degree > 2 fails the check at that instruction.

use super::{AddrMap, DallyError, Instr, Op, Program};

/// What `--check` asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CheckSpec {
    /// `C = A·B` with `N×N` matrices.
    Matmul(usize),
}

impl CheckSpec {
    /// Parses `matmul:N`.
    pub fn parse(s: &str) -> Result<CheckSpec, DallyError> {
        let n = s
            .strip_prefix("matmul:")
            .and_then(|n| n.parse::<usize>().ok())
            .filter(|n| (1..=1024).contains(n));
        n.map(CheckSpec::Matmul)
            .ok_or_else(|| DallyError::Usage(format!("--check: expected `matmul:N` with 1 ≤ N ≤ 1024, found `{s}`")))
    }
}

impl std::fmt::Display for CheckSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let CheckSpec::Matmul(n) = self;
        write!(f, "matmul:{n}")
    }
}

/// A monomial of degree ≤ 2: `(a, b)` with `a ≤ b` over variables numbered
/// from 1; 0 stands for "no variable" (so `(0, 0)` is the constant term).
type Mono = (u32, u32);

/// A polynomial: sorted, no zero coefficients.
type Poly = Vec<(Mono, i64)>;

/// Largest number of terms held at once over all cells (the memory bound).
const MAX_TERMS: usize = 1 << 25;

fn degree(m: Mono) -> u32 {
    u32::from(m.0 > 0) + u32::from(m.1 > 0)
}

fn overflow(i: &Instr) -> DallyError {
    DallyError::Check(format!(
        "`{}` at address {}: a coefficient overflows 64 bits",
        i.op.name(),
        i.dst
    ))
}

fn combine(mut terms: Vec<(Mono, i64)>, i: &Instr) -> Result<Poly, DallyError> {
    terms.sort_unstable_by_key(|t| t.0);
    let mut out: Poly = Vec::with_capacity(terms.len());
    for (m, c) in terms {
        match out.last_mut() {
            Some(l) if l.0 == m => l.1 = l.1.checked_add(c).ok_or_else(|| overflow(i))?,
            _ => out.push((m, c)),
        }
    }
    out.retain(|t| t.1 != 0);
    Ok(out)
}

fn add(x: &Poly, y: &Poly, sign: i64, i: &Instr) -> Result<Poly, DallyError> {
    let mut t = x.clone();
    for &(m, c) in y {
        t.push((m, c.checked_mul(sign).ok_or_else(|| overflow(i))?));
    }
    combine(t, i)
}

fn mul(x: &Poly, y: &Poly, i: &Instr) -> Result<Poly, DallyError> {
    if x.len().saturating_mul(y.len()) > MAX_TERMS {
        return Err(DallyError::Usage(
            "--check: a product has too many terms to expand".into(),
        ));
    }
    let mut t = Vec::with_capacity(x.len() * y.len());
    for &(m1, c1) in x {
        for &(m2, c2) in y {
            if degree(m1) + degree(m2) > 2 {
                return Err(DallyError::Check(format!(
                    "`{}` at address {} makes a product of degree {} (the check allows 2)",
                    i.op.name(),
                    i.dst,
                    degree(m1) + degree(m2)
                )));
            }
            let vars = [m1.0, m1.1, m2.0, m2.1];
            let mut v: Vec<u32> = vars.into_iter().filter(|v| *v > 0).collect();
            v.sort_unstable();
            let m = match v[..] {
                [] => (0, 0),
                [a] => (0, a),
                [a, b] => (a, b),
                _ => (0, 0),
            };
            t.push((m, c1.checked_mul(c2).ok_or_else(|| overflow(i))?));
        }
    }
    combine(t, i)
}

fn value(i: &Instr, ops: [&Poly; 2]) -> Result<Poly, DallyError> {
    let [x, y] = ops;
    match i.op {
        Op::Set => Ok(if i.imm == 0 { Vec::new() } else { vec![((0, 0), i.imm)] }),
        Op::Copy => Ok(x.clone()),
        Op::Add => add(x, y, 1, i),
        Op::Sub => add(x, y, -1, i),
        Op::Mul => mul(x, y, i),
        _ => Err(DallyError::Usage(format!(
            "--check: `{}` has no polynomial meaning (only add, sub, mul, copy and set)",
            i.op.name()
        ))),
    }
}

/// Proves the program computes the spec for all inputs, or names the first
/// wrong output.
pub fn check(p: &Program, spec: CheckSpec) -> Result<(), DallyError> {
    let CheckSpec::Matmul(n) = spec;
    let nn = n * n;
    if p.inputs.len() != 2 * nn || p.outputs.len() != nn {
        return Err(DallyError::Check(format!(
            "matmul:{n} needs {} inputs and {nn} outputs; the program has {} and {}",
            2 * nn,
            p.inputs.len(),
            p.outputs.len()
        )));
    }
    let mut mem: AddrMap<Poly> = AddrMap::default();
    for (k, &a) in p.inputs.iter().enumerate() {
        mem.insert(a, vec![((0, k as u32 + 1), 1)]);
    }
    let empty = Poly::new();
    let mut held: usize = p.inputs.len();
    for i in &p.instrs {
        let r = i.reads();
        let get = |k: usize| r.get(k).and_then(|a| mem.get(a)).unwrap_or(&empty);
        let v = value(i, [get(0), get(1)])?;
        held = held.saturating_add(v.len());
        if held > MAX_TERMS {
            return Err(DallyError::Usage(
                "--check: the polynomials outgrow the memory budget".into(),
            ));
        }
        if let Some(old) = mem.insert(i.dst, v) {
            held -= old.len().min(held);
        }
    }
    for (k, a) in p.outputs.iter().enumerate() {
        let (i, j) = (k / n, k % n);
        let want: Poly = {
            let mut t: Vec<(Mono, i64)> = (0..n)
                .map(|q| {
                    let av = (i * n + q + 1) as u32;
                    let bv = (nn + q * n + j + 1) as u32;
                    ((av.min(bv), av.max(bv)), 1)
                })
                .collect();
            t.sort_unstable();
            t
        };
        if mem.get(a) != Some(&want) {
            return Err(DallyError::Check(format!(
                "output {} (address {a}, C[{i},{j}]) is not Σ_k A[{i},k]·B[k,{j}]",
                k + 1
            )));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dally::parse;

    #[test]
    fn one_by_one_and_a_wrong_index() {
        let ok = parse("1,2\nmul 3,1,2\n3").unwrap();
        check(&ok, CheckSpec::Matmul(1)).unwrap();
        let id = parse("1,2\ncopy 3,1\n3").unwrap();
        assert!(matches!(check(&id, CheckSpec::Matmul(1)), Err(DallyError::Check(_))));
        // 2×2 with C[0,1] using B[1,0] instead of B[1,1] (addresses 5..8 hold B).
        let t = "1,2,3,4,5,6,7,8\nmul 9,1,5\nmul 20,2,7\nadd 9,20\nmul 10,1,6\nmul 20,2,7\nadd 10,20\n\
                 mul 11,3,5\nmul 20,4,7\nadd 11,20\nmul 12,3,6\nmul 20,4,8\nadd 12,20\n9,10,11,12";
        let e = check(&parse(t).unwrap(), CheckSpec::Matmul(2)).unwrap_err().to_string();
        assert!(e.starts_with("output 2 (address 10, C[0,1])"), "{e}");
        // Cancellation: (a+b)·b − b·b + 0 = a·b is accepted.
        let c = parse("1,2\nadd 3,1,2\nmul 3,3,2\nmul 4,2,2\nsub 3,3,4\n3").unwrap();
        check(&c, CheckSpec::Matmul(1)).unwrap();
        let cube = parse("1,2\nmul 3,1,2\nmul 3,3,1\n3").unwrap();
        assert!(
            check(&cube, CheckSpec::Matmul(1))
                .unwrap_err()
                .to_string()
                .contains("degree 3")
        );
    }
}
