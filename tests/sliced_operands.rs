//! Reading an operand through a slice is the same as reading a buffer that
//! holds the slice's values, and writing a result into a slice of a state
//! buffer stores exactly the values a plain output gets — for every op.
//!
//! Each op's example program (`Prim::example`, the one `sutro explain` runs)
//! is run once as written; then every buffer argument `a` is moved into row 1
//! of a state buffer `a_big` with one more leading axis (first copied there in
//! place, then read as `a_big[1, :, …]`), and for a single-output op the result
//! is written into row 0 of a state buffer `c_big`. After one step the outputs
//! must hold the same bits.
#![allow(clippy::unwrap_used, clippy::expect_used)] // Test code: a failed unwrap is a failed test.

use sutro::interp::Interp;
use sutro::ir::Prim;
use sutro::span::SourceFile;
use sutro::valid::{Limits, Settings};

fn load(text: &str) -> sutro::Loaded {
    let src = SourceFile::new("sliced.sutro", text);
    match sutro::load(&src, &Settings::default(), &Limits::default()) {
        Ok(l) => l,
        Err(e) => panic!("{text}\n{e:?}"),
    }
}

/// Runs one step with x and y fed fixed values; the named buffers' bits.
fn run(l: &sutro::Loaded, names: &[String]) -> Vec<Vec<u32>> {
    let v = &l.validated;
    let p = v.program();
    let mut it = Interp::new(v, 7);
    for (name, scale) in [("x", 0.37f32), ("y", -1.0)] {
        let b = p.buf_id(name).unwrap();
        for (j, e) in it.buffer_mut(b).iter_mut().enumerate() {
            *e = if name == "y" {
                [1.0, -1.0][j % 2]
            } else {
                scale * (j as f32 - 2.5)
            };
        }
    }
    it.step(0, None).unwrap();
    names
        .iter()
        .map(|n| it.buffer(p.buf_id(n).unwrap()).iter().map(|f| f.to_bits()).collect())
        .collect()
}

/// `NAME[1, :, …]` for a buffer of rank `rank` moved into a bigger one.
fn row(name: &str, i: usize, rank: usize) -> String {
    let mut s = format!("{name}[{i}");
    for _ in 0..rank {
        s.push_str(", :");
    }
    s.push(']');
    s
}

fn shape_text(shape: &[usize]) -> String {
    let v: Vec<String> = shape.iter().map(ToString::to_string).collect();
    v.join(", ")
}

#[test]
fn every_op_reads_and_writes_slices_as_it_does_whole_buffers() {
    let mut checked = 0;
    for prim in Prim::ALL {
        // Queries need a task's oracle; draws read no buffer.
        if matches!(
            prim,
            Prim::Query | Prim::NoiseUniform | Prim::NoiseNormal | Prim::NoiseBernoulli
        ) {
            continue;
        }
        let example = prim.example();
        let plain = load(&example);
        let line = prim.example_line();
        let (lhs, call) = line.split_once(" = ").unwrap();
        let outs: Vec<String> = lhs.split(", ").map(str::to_string).collect();
        let (name, rest) = call.split_once('(').unwrap();
        let operands: Vec<&str> = rest.trim_end_matches(')').split(", ").collect();
        let want = run(&plain, &outs);

        let p = plain.validated.program();
        let mut head = example.strip_suffix(&format!("{line}\n")).unwrap().to_string();
        let mut body = String::new();
        let mut args = Vec::new();
        for op in &operands {
            match p.buf_id(op) {
                // Only buffer arguments: a scalar operand stays as written.
                Some(b) if args.len() < prim.info().args => {
                    let shape = plain.validated.shape(b);
                    let big = format!("{op}_big");
                    // An operand passed twice (`eq(dy, dy)`) is moved once.
                    if !head.contains(&format!("state {big}[")) {
                        head.push_str(&format!("state {big}[2, {}] = zeros\n", shape_text(shape)));
                        body.push_str(&format!("{} = copy({op})\n", row(&big, 1, shape.len())));
                    }
                    args.push(row(&big, 1, shape.len()));
                }
                _ => args.push((*op).to_string()),
            }
        }
        let reads = format!("{} = {name}({})\n", outs.join(", "), args.join(", "));
        let sliced = load(&format!("{head}{body}{reads}"));
        assert_eq!(
            run(&sliced, &outs),
            want,
            "{prim}: sliced operands\n{head}{body}{reads}"
        );
        checked += 1;

        if let [out] = outs.as_slice() {
            let b = p.buf_id(out).unwrap();
            let shape = plain.validated.shape(b);
            let text = format!(
                "{head}state c_big[2, {}] = zeros\n{body}{} = {name}({})\n{out} = copy({})\n",
                shape_text(shape),
                row("c_big", 0, shape.len()),
                args.join(", "),
                row("c_big", 0, shape.len()),
            );
            let written = load(&text);
            assert_eq!(run(&written, &outs), want, "{prim}: sliced output\n{text}");
        }
    }
    assert!(checked >= 60, "only {checked} ops checked");
}
