//! The integer kernels: run a program on concrete inputs.
//!
//! Two cell models. `Exact`: 64-bit signed integers, overflow is an error (the
//! matmul challenge computes with exact integers). `I8`: signed 8-bit cells with
//! two's-complement wrap on every write, floor division, an error on division
//! by zero, signed compares, `set` literals in −128..=255 stored as their byte
//! (the sparse-parity challenge and `cybertronai/dally-eval`).

use super::{AddrMap, DallyError, Instr, Op, Program};

/// The value model of the cells.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Cells {
    /// 64-bit integers; overflow is an error.
    Exact,
    /// Signed 8-bit, wrapping.
    I8,
}

fn wrap8(v: i64) -> i64 {
    i64::from(v as u8 as i8)
}

fn run_err(i: &Instr, what: &str) -> DallyError {
    DallyError::Run {
        msg: format!("`{}` at address {}: {what}", i.op.name(), i.dst),
        span: i.span,
    }
}

/// Floor division (Python's `//`), `None` on a zero divisor or overflow.
fn floor_div(a: i64, b: i64) -> Option<i64> {
    let q = a.checked_div(b)?;
    let r = a.checked_rem(b)?;
    Some(if r != 0 && ((r < 0) != (b < 0)) { q - 1 } else { q })
}

/// One instruction's result from its operand values.
fn eval(i: &Instr, v: [i64; 3], cells: Cells) -> Result<i64, DallyError> {
    let [a, b, c] = v;
    let exact = |r: Option<i64>| r.ok_or_else(|| run_err(i, "64-bit overflow"));
    let r = match (i.op, cells) {
        (Op::Set, Cells::Exact) => i.imm,
        (Op::Set, Cells::I8) => {
            if !(-128..=255).contains(&i.imm) {
                return Err(DallyError::Parse {
                    msg: format!("`set` literal {} is outside -128..=255 for 8-bit cells", i.imm),
                    span: i.span,
                });
            }
            wrap8(i.imm)
        }
        (Op::Copy, _) => a,
        (Op::Not, _) => !a,
        (Op::And, _) => a & b,
        (Op::Or, _) => a | b,
        (Op::Xor, _) => a ^ b,
        (Op::Cmp(p), _) => i64::from(p.holds(a, b)),
        (Op::Select, _) => {
            if a != 0 {
                b
            } else {
                c
            }
        }
        (Op::Div, _) if b == 0 => return Err(run_err(i, "division by zero")),
        (Op::Div, Cells::Exact) => exact(floor_div(a, b))?,
        (Op::Div, Cells::I8) => floor_div(a, b).unwrap_or(i64::MIN),
        (Op::Abs, Cells::Exact) => exact(a.checked_abs())?,
        (Op::Add, Cells::Exact) => exact(a.checked_add(b))?,
        (Op::Sub, Cells::Exact) => exact(a.checked_sub(b))?,
        (Op::Mul, Cells::Exact) => exact(a.checked_mul(b))?,
        (Op::Abs, Cells::I8) => a.abs(),
        (Op::Add, Cells::I8) => a + b,
        (Op::Sub, Cells::I8) => a - b,
        (Op::Mul, Cells::I8) => a * b,
    };
    Ok(if cells == Cells::I8 { wrap8(r) } else { r })
}

/// Runs a parsed program on inputs (one value per input address) and returns
/// the output values. Inputs are stored as given (wrapped to a byte under `I8`).
pub fn run(p: &Program, inputs: &[i64], cells: Cells) -> Result<Vec<i64>, DallyError> {
    if inputs.len() != p.inputs.len() {
        return Err(DallyError::Usage(format!(
            "the program declares {} inputs; {} given",
            p.inputs.len(),
            inputs.len()
        )));
    }
    let mut mem = AddrMap::with_capacity_and_hasher(p.inputs.len() * 2 + 16, Default::default());
    for (&a, &v) in p.inputs.iter().zip(inputs) {
        mem.insert(a, if cells == Cells::I8 { wrap8(v) } else { v });
    }
    for i in &p.instrs {
        let mut v = [0i64; 3];
        for (k, a) in i.reads().iter().enumerate() {
            // The parser has checked every read follows a write.
            v[k] = mem.get(a).copied().unwrap_or(0);
        }
        let r = eval(i, v, cells)?;
        mem.insert(i.dst, r);
    }
    Ok(p.outputs.iter().map(|a| mem.get(a).copied().unwrap_or(0)).collect())
}

/// Parses `V,V,…` (integers).
pub fn parse_values(s: &str) -> Result<Vec<i64>, DallyError> {
    s.split(',')
        .filter(|t| !t.trim().is_empty())
        .map(|t| {
            t.trim()
                .parse()
                .map_err(|_| DallyError::Usage(format!("--inputs: `{}` is not an integer", t.trim())))
        })
        .collect()
}

/// The matmul challenge's test data for `n`: A then B row-major as inputs
/// (`A[i][j] = i·n + j + 1`, `B[i][j] = i + 2j + 3`), and C = A·B row-major.
pub fn matmul_instance(n: usize) -> (Vec<i64>, Vec<i64>) {
    let n64 = n as i64;
    let a = |i: i64, j: i64| i * n64 + j + 1;
    let b = |i: i64, j: i64| i + 2 * j + 3;
    let idx = || (0..n64).flat_map(move |i| (0..n64).map(move |j| (i, j)));
    let mut inputs: Vec<i64> = idx().map(|(i, j)| a(i, j)).collect();
    inputs.extend(idx().map(|(i, j)| b(i, j)));
    let c = idx().map(|(i, j)| (0..n64).map(|k| a(i, k) * b(k, j)).sum()).collect();
    (inputs, c)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dally::parse;

    fn run8(t: &str) -> Vec<i64> {
        let p = parse(t).unwrap();
        run(&p, &vec![0; p.inputs.len()], Cells::I8).unwrap()
    }

    // Vectors of dally-eval's simulator tests (bytes there, signed values here).
    #[test]
    fn i8_semantics() {
        // 200 + 100 wraps to 44; 200 − 100 = 100.
        assert_eq!(run8("5\nset 1,200\nset 2,100\nadd 3,1,2\nsub 4,1,2\n3,4"), [44, 100]);
        // Floor division: −7 // 2 = −4, 7 // −2 = −4.
        assert_eq!(
            run8("9\nset 1,-7\nset 2,2\ndiv 3,1,2\nset 4,7\nset 5,-2\ndiv 6,4,5\n3,6"),
            [-4, -4]
        );
        // −1 < 1; select on a zero condition takes the third operand.
        assert_eq!(
            run8("9\nset 1,255\nset 2,1\ncmp 3,1,2,lt\nset 4,7\nset 7,0\nselect 5,3,4,2\nselect 6,7,4,2\n3,5,6"),
            [1, 7, 1]
        );
        // !0 = −1; abs(−128) wraps to −128.
        assert_eq!(run8("9\nset 1,0\nnot 2,1\nset 3,128\nabs 4,3\n2,4"), [-1, -128]);
        let p = parse("9\nset 1,0\nset 2,5\ndiv 3,2,1\n3").unwrap();
        assert!(matches!(run(&p, &[0], Cells::I8), Err(DallyError::Run { .. })));
    }

    #[test]
    fn exact_overflow_is_an_error() {
        let p = parse("1\nmul 2,1,1\nmul 2,2,2\n2").unwrap();
        assert_eq!(run(&p, &[3], Cells::Exact).unwrap(), [81]);
        assert!(matches!(run(&p, &[1 << 20], Cells::Exact), Err(DallyError::Run { .. })));
    }

    #[test]
    fn matmul_instance_by_hand() {
        // n = 2: A = [[1,2],[3,4]], B = [[3,5],[4,6]]; C = [[11,17],[25,39]].
        let (i, c) = matmul_instance(2);
        assert_eq!(i, [1, 2, 3, 4, 3, 5, 4, 6]);
        assert_eq!(c, [11, 17, 25, 39]);
    }
}
