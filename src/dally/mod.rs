//! The placement cost model (the simplified Bill Dally model) and its
//! three-address IR, as defined by `cybertronai/simplified-dally-model` and the
//! challenges of `cybertronai/sutro-problems` (`matmul/matmul.py`,
//! `sparse-parity/sparse_parity.py`); metric spec: `docs/dally.md`.
//!
//! Memory is a half-plane of cells at linear addresses `a ≥ 1`; reading cell
//! `a` costs `⌈√a⌉ = isqrt(a − 1) + 1`. Writes, arithmetic and `set` are free;
//! inputs are placed free; every output address pays one read at exit.
//!
//! Phases, one module each: `parse` (text → `Program`, line-numbered errors),
//! `exec` (the integer kernels: exact or signed 8-bit cells), `check` (the
//! symbolic `C = A·B` proof), `alloc` (values, lifetimes, address allocation
//! and its lower bound), `opt` (the optimizer passes), `lower` (`.sutro` → IR)
//! and `record` (the trace of an IR program).

pub mod alloc;
pub mod check;
pub mod exec;
pub mod lower;
pub mod opt;
pub mod parse;
pub mod record;

use crate::span::Span;
use std::fmt;

pub use parse::{AddrMap, AddrSet, parse};

/// `⌈√a⌉` for an address `a ≥ 1` (0 for `a = 0`, which the parser rejects).
#[inline]
pub fn cost(a: u64) -> u64 {
    if a == 0 {
        return 0;
    }
    let x = a - 1;
    // A float square root is within one of the integer root below 2⁵²; fix it up.
    let mut s = (x as f64).sqrt() as u64;
    if s > u64::from(u32::MAX) {
        return x.isqrt() + 1;
    }
    while s * s > x {
        s -= 1;
    }
    while (s + 1) * (s + 1) <= x {
        s += 1;
    }
    s + 1
}

/// Addresses below this are priced from a table.
const TABLE: usize = 1 << 16;

/// `cost` through a table for small addresses: the scorer's hot path.
#[inline]
pub fn table_cost(a: u64) -> u64 {
    static T: std::sync::OnceLock<Vec<u16>> = std::sync::OnceLock::new();
    let t = T.get_or_init(|| (0..TABLE as u64).map(|a| cost(a) as u16).collect());
    match t.get(a as usize) {
        Some(c) if a < TABLE as u64 => u64::from(*c),
        _ => cost(a),
    }
}

/// `F(n) = Σ_{a=1}^{n} ⌈√a⌉` in closed form (`q = isqrt(n)`):
/// `q(q+1)(4q−1)/6 + (n − q²)(q+1)`; saturates past `u64`.
pub fn prefix_cost(n: u64) -> u64 {
    let q = u128::from(n.isqrt());
    let n = u128::from(n);
    let v = q * (q + 1) * (4 * q).saturating_sub(1) / 6 + (n - q * q) * (q + 1);
    u64::try_from(v).unwrap_or(u64::MAX)
}

/// Comparison predicates of `cmp d,a,b,PRED`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Pred {
    /// `==`
    Eq,
    /// `!=`
    Ne,
    /// `<`
    Lt,
    /// `<=`
    Le,
    /// `>`
    Gt,
    /// `>=`
    Ge,
}

impl Pred {
    /// Every predicate with its spelling.
    pub const ALL: [(Pred, &'static str); 6] = [
        (Pred::Eq, "eq"),
        (Pred::Ne, "ne"),
        (Pred::Lt, "lt"),
        (Pred::Le, "le"),
        (Pred::Gt, "gt"),
        (Pred::Ge, "ge"),
    ];

    /// The spelling.
    pub fn name(self) -> &'static str {
        Pred::ALL.iter().find(|p| p.0 == self).map_or("eq", |p| p.1)
    }

    /// Applies the predicate.
    pub fn holds(self, a: i64, b: i64) -> bool {
        match self {
            Pred::Eq => a == b,
            Pred::Ne => a != b,
            Pred::Lt => a < b,
            Pred::Le => a <= b,
            Pred::Gt => a > b,
            Pred::Ge => a >= b,
        }
    }
}

/// An instruction kind (v0: add sub mul copy; v1: and or xor not; v2: set;
/// v3: div cmp select abs).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Op {
    /// `set d,K` (free).
    Set,
    /// `copy d,s`.
    Copy,
    /// `not d,s` (bitwise).
    Not,
    /// `abs d,s`.
    Abs,
    /// `add d,a,b`.
    Add,
    /// `sub d,a,b`.
    Sub,
    /// `mul d,a,b`.
    Mul,
    /// `div d,a,b` (floor division).
    Div,
    /// `and d,a,b`.
    And,
    /// `or d,a,b`.
    Or,
    /// `xor d,a,b`.
    Xor,
    /// `cmp d,a,b,PRED` (1 or 0).
    Cmp(Pred),
    /// `select d,c,x,y` (`c ≠ 0 ? x : y`; all three read).
    Select,
}

/// Instruction kinds in report order, with their names.
pub const KINDS: [&str; 13] = [
    "set", "copy", "not", "abs", "add", "sub", "mul", "div", "and", "or", "xor", "cmp", "select",
];

impl Op {
    /// Operands read.
    pub fn arity(self) -> usize {
        match self {
            Op::Set => 0,
            Op::Copy | Op::Not | Op::Abs => 1,
            Op::Select => 3,
            _ => 2,
        }
    }

    /// Index into `KINDS`.
    pub fn kind_index(self) -> usize {
        match self {
            Op::Set => 0,
            Op::Copy => 1,
            Op::Not => 2,
            Op::Abs => 3,
            Op::Add => 4,
            Op::Sub => 5,
            Op::Mul => 6,
            Op::Div => 7,
            Op::And => 8,
            Op::Or => 9,
            Op::Xor => 10,
            Op::Cmp(_) => 11,
            Op::Select => 12,
        }
    }

    /// The mnemonic.
    pub fn name(self) -> &'static str {
        KINDS[self.kind_index()]
    }

    /// Whether the op is in instruction set v0 (`add sub mul copy`).
    pub fn is_v0(self) -> bool {
        matches!(self, Op::Add | Op::Sub | Op::Mul | Op::Copy)
    }
}

/// One instruction: `dst ← op(src[..arity])`, or `dst ← imm` for `set`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Instr {
    /// The kind.
    pub op: Op,
    /// Destination address.
    pub dst: u64,
    /// Source addresses; only the first `op.arity()` are meaningful.
    pub src: [u64; 3],
    /// The literal of `set`.
    pub imm: i64,
    /// Where it was written (default for generated instructions).
    pub span: Span,
}

impl Instr {
    /// The addresses read, in operand order.
    #[inline]
    pub fn reads(&self) -> &[u64] {
        &self.src[..self.op.arity()]
    }

    /// A generated instruction.
    pub fn new(op: Op, dst: u64, reads: &[u64]) -> Instr {
        let mut src = [0; 3];
        src[..reads.len()].copy_from_slice(reads);
        Instr {
            op,
            dst,
            src,
            imm: 0,
            span: Span::default(),
        }
    }
}

/// A straight-line IR program.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Program {
    /// Input addresses, in input order.
    pub inputs: Vec<u64>,
    /// The instructions.
    pub instrs: Vec<Instr>,
    /// Output addresses, in output order.
    pub outputs: Vec<u64>,
    /// Span of the input line.
    pub input_span: Span,
    /// Span of the output line.
    pub output_span: Span,
}

impl fmt::Display for Program {
    /// The challenges' text form: inputs, one instruction per line, outputs.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_list(f, &self.inputs)?;
        for i in &self.instrs {
            write!(f, "{} {}", i.op.name(), i.dst)?;
            if i.op == Op::Set {
                write!(f, ",{}", i.imm)?;
            }
            // The accumulator form `op d,s` stands for `op d,d,s`.
            let short = i.op.arity() == 2 && !matches!(i.op, Op::Cmp(_)) && i.src[0] == i.dst;
            for s in &i.reads()[usize::from(short)..] {
                write!(f, ",{s}")?;
            }
            if let Op::Cmp(p) = i.op {
                write!(f, ",{}", p.name())?;
            }
            writeln!(f)?;
        }
        write_list(f, &self.outputs)
    }
}

fn write_list(f: &mut fmt::Formatter<'_>, v: &[u64]) -> fmt::Result {
    for (k, a) in v.iter().enumerate() {
        if k > 0 {
            f.write_str(",")?;
        }
        write!(f, "{a}")?;
    }
    writeln!(f)
}

/// Why an IR command failed.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum DallyError {
    /// Malformed or invalid program text (exit 2).
    #[error("{msg}")]
    Parse {
        /// What is wrong.
        msg: String,
        /// Where.
        span: Span,
    },
    /// The program ran and failed: overflow, division by zero (exit 1).
    #[error("{msg}")]
    Run {
        /// What happened.
        msg: String,
        /// The instruction.
        span: Span,
    },
    /// The program does not compute what `--check` asks (exit 1).
    #[error("{0}")]
    Check(String),
    /// A bad flag, value or unsupported request (exit 2).
    #[error("{0}")]
    Usage(String),
    /// A bug: a program this module made is invalid (exit 1).
    #[error("internal: {0}")]
    Internal(String),
}

impl DallyError {
    /// 1 for a run or check that failed, 2 for bad input.
    pub fn exit_code(&self) -> u8 {
        match self {
            DallyError::Run { .. } | DallyError::Check(_) | DallyError::Internal(_) => 1,
            _ => 2,
        }
    }

    /// The source span, if the error has one.
    pub fn span(&self) -> Option<Span> {
        match self {
            DallyError::Parse { span, .. } | DallyError::Run { span, .. } if *span != Span::default() => Some(*span),
            _ => None,
        }
    }
}

/// The cost of a program and where it comes from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Score {
    /// Total: operand reads plus exit reads.
    pub cost: u64,
    /// Exit reads alone.
    pub exit: u64,
    /// Operand-read cost per instruction kind (`KINDS` order).
    pub by_kind: [u64; KINDS.len()],
    /// Instructions per kind.
    pub count: [u64; KINDS.len()],
    /// `(distance, reads)` for every distance read at least once, ascending;
    /// exit reads included.
    pub histogram: Vec<(u64, u64)>,
}

/// Histogram of read distances: dense below a bound, sorted spill above.
struct Hist {
    dense: Vec<u64>,
    spill: Vec<u64>,
}

impl Hist {
    const DENSE: u64 = 1 << 16;
    fn new() -> Hist {
        Hist {
            dense: Vec::new(),
            spill: Vec::new(),
        }
    }
    #[inline]
    fn add(&mut self, d: u64) {
        if d < Hist::DENSE {
            let i = d as usize;
            if i >= self.dense.len() {
                self.dense.resize(i + 1, 0);
            }
            self.dense[i] += 1;
        } else {
            self.spill.push(d);
        }
    }
    fn finish(mut self) -> Vec<(u64, u64)> {
        let mut out: Vec<(u64, u64)> = (self.dense.iter().enumerate())
            .filter(|(_, c)| **c > 0)
            .map(|(d, c)| (d as u64, *c))
            .collect();
        self.spill.sort_unstable();
        for d in self.spill {
            match out.last_mut() {
                Some(l) if l.0 == d => l.1 += 1,
                _ => out.push((d, 1)),
            }
        }
        out
    }
}

/// The exact cost of a parsed program (the parser has checked every read).
pub fn score(p: &Program) -> Score {
    let mut by_kind = [0u64; KINDS.len()];
    let mut count = [0u64; KINDS.len()];
    let mut hist = Hist::new();
    for i in &p.instrs {
        let k = i.op.kind_index();
        count[k] += 1;
        let mut c = 0;
        for &a in i.reads() {
            let d = table_cost(a);
            hist.add(d);
            c += d;
        }
        by_kind[k] += c;
    }
    let mut exit = 0;
    for &a in &p.outputs {
        let d = table_cost(a);
        hist.add(d);
        exit += d;
    }
    Score {
        cost: by_kind.iter().sum::<u64>() + exit,
        exit,
        by_kind,
        count,
        histogram: hist.finish(),
    }
}

/// The cost alone, without the breakdown: the scorer's fast path.
pub fn total_cost(p: &Program) -> u64 {
    let reads: u64 = p
        .instrs
        .iter()
        .map(|i| i.reads().iter().map(|&a| cost(a)).sum::<u64>())
        .sum();
    reads + p.outputs.iter().map(|&a| cost(a)).sum::<u64>()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn distance_vectors_of_the_spec() {
        // metrics.md §6b: ⌈√a⌉ for a = 1, 2, 4, 5, 9, 10, 10⁶, 2³²−1.
        let v: Vec<u64> = [1, 2, 4, 5, 9, 10, 1_000_000, (1u64 << 32) - 1]
            .iter()
            .map(|&a| cost(a))
            .collect();
        assert_eq!(v, [1, 2, 2, 3, 3, 4, 1000, 65536]);
        assert_eq!(cost(u64::MAX), 1 << 32);
        for a in [0, 1, 2, 3, 4, 5, 65_535, 65_536, 65_537, 1 << 40] {
            assert_eq!(table_cost(a), if a == 0 { 0 } else { (a - 1).isqrt() + 1 });
        }
    }

    #[test]
    fn prefix_sum_vectors_of_the_spec() {
        assert_eq!(prefix_cost(100), 715);
        assert_eq!(prefix_cost(1_000_000), 667_166_500);
        assert_eq!(prefix_cost(0), 0);
        // By hand: 1 + 2 + 2 + 2 + 3 = 10.
        assert_eq!(prefix_cost(5), 10);
    }
}
