//! IR text → `Program`. The format of the challenges: statements separated by
//! newlines or `;`, blank ones ignored; the first lists the input addresses,
//! the last the output addresses, every one between is `op d,operands…`.
//!
//! The parser also checks what the challenges' scorers check before costing:
//! addresses are integers ≥ 1, inputs are distinct, every operand was written
//! (or is an input) before it is read, every output was written. Each error
//! carries the span of its statement, so the CLI prints `file:line:col`.

use super::{DallyError, Instr, Op, Pred, Program};
use crate::span::Span;
use std::collections::{HashMap, HashSet};
use std::hash::{BuildHasherDefault, Hasher};

/// Largest number of statements accepted (the memory bound of a parse).
pub const MAX_STATEMENTS: usize = 10_000_000;

/// A multiplicative hash for integer keys (addresses): fast and deterministic.
#[derive(Default, Clone, Copy)]
pub struct AddrHasher(u64);

impl Hasher for AddrHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 = (self.0.rotate_left(5) ^ u64::from(*b)).wrapping_mul(0x517c_c1b7_2722_0a95);
        }
    }
    fn write_u64(&mut self, v: u64) {
        self.0 = (v ^ (v >> 29)).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    }
}

/// A set of addresses.
pub type AddrSet = HashSet<u64, BuildHasherDefault<AddrHasher>>;
/// A map keyed by address.
pub type AddrMap<V> = HashMap<u64, V, BuildHasherDefault<AddrHasher>>;

fn err(msg: impl Into<String>, span: Span) -> DallyError {
    DallyError::Parse { msg: msg.into(), span }
}

/// Splits text into trimmed, non-empty statements with their byte offsets.
fn statements(text: &str) -> Vec<(usize, &str)> {
    let mut out = Vec::new();
    let mut start = 0;
    for (i, b) in text.bytes().enumerate() {
        if b == b'\n' || b == b';' {
            push_stmt(&mut out, text, start, i);
            start = i + 1;
        }
    }
    push_stmt(&mut out, text, start, text.len());
    out
}

fn push_stmt<'a>(out: &mut Vec<(usize, &'a str)>, text: &'a str, start: usize, end: usize) {
    let s = &text[start..end];
    let t = s.trim_start();
    let off = start + (s.len() - t.len());
    let t = t.trim_end();
    if !t.is_empty() {
        out.push((off, t));
    }
}

fn addr(tok: &str, span: Span) -> Result<u64, DallyError> {
    let t = tok.trim();
    match t.parse::<u64>() {
        Ok(0) => Err(err(
            format!("address 0 is not a memory cell (addresses start at 1) in `{t}`"),
            span,
        )),
        Ok(a) => Ok(a),
        Err(_) if t.starts_with('-') && t[1..].bytes().all(|b| b.is_ascii_digit()) && t.len() > 1 => {
            Err(err(format!("address `{t}` is not a positive integer"), span))
        }
        Err(_) => Err(err(format!("expected an address, found `{t}`"), span)),
    }
}

fn addr_list(s: &str, span: Span) -> Result<Vec<u64>, DallyError> {
    s.split(',')
        .filter(|t| !t.trim().is_empty())
        .map(|t| addr(t, span))
        .collect()
}

/// Splits operands on commas into a fixed array, skipping empty tokens.
fn operands(rest: &str, span: Span) -> Result<([&str; 4], usize), DallyError> {
    let mut toks = [""; 4];
    let mut n = 0;
    for t in rest.split(',') {
        let t = t.trim();
        if t.is_empty() {
            continue;
        }
        if n == 4 {
            return Err(err("too many operands (at most 4)", span));
        }
        toks[n] = t;
        n += 1;
    }
    Ok((toks, n))
}

/// Parses one instruction statement.
fn instr(s: &str, span: Span) -> Result<Instr, DallyError> {
    let (head, rest) = s.split_once(|c: char| c.is_ascii_whitespace()).unwrap_or((s, ""));
    let (toks, n) = operands(rest, span)?;
    let op = match head {
        "set" => Op::Set,
        "copy" => Op::Copy,
        "not" => Op::Not,
        "abs" => Op::Abs,
        "add" => Op::Add,
        "sub" => Op::Sub,
        "mul" => Op::Mul,
        "div" => Op::Div,
        "and" => Op::And,
        "or" => Op::Or,
        "xor" => Op::Xor,
        "select" => Op::Select,
        "cmp" => {
            if n != 4 {
                return Err(err(operand_count("cmp", "4", n), span));
            }
            let p = toks[3];
            let pred = Pred::ALL.iter().find(|x| x.1 == p).map(|x| x.0);
            Op::Cmp(pred.ok_or_else(|| err(format!("unknown cmp predicate `{p}` (eq ne lt le gt ge)"), span))?)
        }
        _ => return Err(err(format!("unknown op `{head}`"), span)),
    };
    let expect = match op {
        Op::Set | Op::Copy | Op::Not | Op::Abs => "2",
        Op::Cmp(_) | Op::Select => "4",
        _ => "2 or 3",
    };
    let n_addr = match (op, n) {
        (Op::Set, 2) => 1,
        (Op::Copy | Op::Not | Op::Abs, 2) => 2,
        (Op::Cmp(_), 4) => 3,
        (Op::Select, 4) => 4,
        (Op::Add | Op::Sub | Op::Mul | Op::Div | Op::And | Op::Or | Op::Xor, 2 | 3) => n,
        _ => return Err(err(operand_count(head, expect, n), span)),
    };
    let mut a = [0u64; 4];
    for k in 0..n_addr {
        a[k] = addr(toks[k], span)?;
    }
    let mut i = Instr::new(op, a[0], &[]);
    i.span = span;
    match op {
        Op::Set => {
            let t = toks[1];
            i.imm = t
                .parse()
                .map_err(|_| err(format!("expected an integer literal, found `{t}`"), span))?;
        }
        // The two-operand form `op d,s` means `op d,d,s` and reads both.
        _ if n_addr == 2 && op.arity() == 2 => i.src[..2].copy_from_slice(&[a[0], a[1]]),
        _ => i.src[..n_addr - 1].copy_from_slice(&a[1..n_addr]),
    }
    Ok(i)
}

fn operand_count(op: &str, expect: &str, got: usize) -> String {
    format!("`{op}` takes {expect} operands, found {got}")
}

/// Parses and checks a program (see the module doc).
pub fn parse(text: &str) -> Result<Program, DallyError> {
    let bound = text.bytes().filter(|b| *b == b'\n' || *b == b';').count();
    if bound > MAX_STATEMENTS {
        return Err(err(format!("over {MAX_STATEMENTS} statements"), Span::default()));
    }
    let st = statements(text);
    let span = |(off, s): (usize, &str)| Span::new(off, off + s.len());
    let (Some(&first), Some(&last)) = (st.first(), st.last()) else {
        return Err(err(
            "empty program: expected an input line and an output line",
            Span::default(),
        ));
    };
    if st.len() < 2 {
        return Err(err("an ir program needs an input line and an output line", span(first)));
    }
    let mut p = Program {
        inputs: addr_list(first.1, span(first)).map_err(|e| list_err(e, "input"))?,
        outputs: addr_list(last.1, span(last)).map_err(|e| list_err(e, "output"))?,
        instrs: Vec::with_capacity(st.len() - 2),
        input_span: span(first),
        output_span: span(last),
    };
    let mut written = AddrSet::with_capacity_and_hasher(p.inputs.len() * 2 + 16, Default::default());
    for &a in &p.inputs {
        if !written.insert(a) {
            return Err(err(format!("input address {a} is listed twice"), p.input_span));
        }
    }
    for &s in &st[1..st.len() - 1] {
        let i = instr(s.1, span(s))?;
        for &r in i.reads() {
            if !written.contains(&r) {
                return Err(err(
                    format!("`{}` reads address {r}, which was never written", s.1),
                    span(s),
                ));
            }
        }
        written.insert(i.dst);
        p.instrs.push(i);
    }
    if let Some(a) = p.outputs.iter().find(|a| !written.contains(a)) {
        return Err(err(format!("output address {a} is never written"), p.output_span));
    }
    Ok(p)
}

fn list_err(e: DallyError, which: &str) -> DallyError {
    match e {
        DallyError::Parse { msg, span } => err(format!("{which} line: {msg}"), span),
        e => e,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forms_and_separators() {
        let p = parse("1,2;add 3,1,2\nadd 3,2 ; cmp 4,3,1,lt\nselect 5,4,1,2\nset 6,-7\n5,6\n").unwrap();
        assert_eq!(p.inputs, [1, 2]);
        assert_eq!(p.outputs, [5, 6]);
        assert_eq!(p.instrs[1].reads(), [3, 2]);
        assert_eq!(p.instrs[2].op, Op::Cmp(Pred::Lt));
        assert_eq!(p.instrs[2].reads(), [3, 1]);
        assert_eq!(p.instrs[3].reads(), [4, 1, 2]);
        assert_eq!(p.instrs[4].imm, -7);
        assert_eq!(parse(&p.to_string()).unwrap().instrs.len(), 5);
    }

    #[test]
    fn errors() {
        let e = |t: &str| parse(t).unwrap_err().to_string();
        assert!(e("1\nfrob 2,1\n2").contains("unknown op `frob`"));
        assert!(e("0\ncopy 2,0\n2").contains("address 0"));
        assert!(e("1\ncopy 2,3\n2").contains("never written"));
        assert!(e("1\ncopy 2,1\n3").contains("output address 3"));
        assert!(e("1\ncmp 2,1,1,maybe\n2").contains("predicate"));
        assert!(e("1\nselect 2,1\n2").contains("takes 4 operands"));
        assert!(e("1,1\n1").contains("twice"));
        assert!(e("1").contains("output line"));
        assert!(e("1\ncopy 2,1,1\n2").contains("takes 2 operands"));
    }
}
