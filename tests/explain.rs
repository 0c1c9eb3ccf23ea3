//! `sutro explain` agrees with the interpreter: for every op, the effects it prints
//! are exactly the events the interpreter emits when it runs the op's one-op
//! example program. And the language reference documents every op.
#![allow(clippy::unwrap_used, clippy::expect_used)] // Test code: a failed unwrap is a failed test.

mod common;
use common::{load_text, root, sutro_json};
use sutro::interp::{Interp, StartWrites};
use sutro::ir::{Mode, Prim};
use sutro::trace::VecTracer;

#[test]
fn explained_effects_match_emitted_events_for_every_op() {
    let names: Vec<&str> = Prim::ALL.iter().map(|p| p.name()).chain(["update"]).collect();
    for name in names {
        let v = sutro_json(&["explain", name, "--json"]);
        let l = load_text("example.sutro", v["program"].as_str().unwrap(), &[]);
        let mut it = Interp::new(&l.validated, 0);
        let mut t = VecTracer::default();
        it.step(0, Some((&mut t, StartWrites::All))).unwrap();
        let p = l.validated.program();
        let of = |mode: Mode| -> Vec<String> {
            t.events
                .iter()
                .filter(|e| e.op.is_some() && e.mode == mode)
                .map(|e| p.buf(e.buf).name.clone())
                .collect()
        };
        let list = |k: &str| -> Vec<String> {
            v[k].as_array()
                .unwrap()
                .iter()
                .map(|s| s.as_str().unwrap().to_owned())
                .collect()
        };
        assert_eq!(of(Mode::Read), list("reads"), "{name}: reads");
        assert_eq!(of(Mode::Write), list("writes"), "{name}: writes");
        // Reads come before writes in the event stream.
        let kinds: Vec<Mode> = t.events.iter().filter(|e| e.op.is_some()).map(|e| e.mode).collect();
        assert!(
            kinds.windows(2).all(|w| !(w[0] == Mode::Write && w[1] == Mode::Read)),
            "{name}"
        );
        assert!(!v["grad"].as_str().unwrap().is_empty());
    }
}

#[test]
fn the_language_reference_documents_every_op() {
    let doc = std::fs::read_to_string(root().join("docs/language.md")).unwrap();
    for p in Prim::ALL {
        assert!(
            doc.contains(&format!("`{}(", p.name())) || doc.contains(&format!("= {}(", p.name())),
            "docs/language.md lacks `{}`",
            p.name()
        );
    }
}

#[test]
fn unknown_ops_exit_2() {
    let out = common::sutro(&["explain", "convolve"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("unknown op `convolve`"));
}

/// `explain`'s gradient text is what the lowering emits for the example op. The
/// expected texts are the calculus written out by hand on each example's names
/// (`dc` is the gradient of the output `c`): for `c = x·M`, `dx = dc·Mᵀ` and
/// `dM = xᵀ·dc`; `add` passes `dc` to both operands, summing it over the batch
/// rows for the broadcast `bias[o]`; `exp` multiplies by its own output; a
/// comparison carries no gradient; a reduction by max stops `grad`.
#[test]
fn the_gradient_text_is_the_lowering_of_the_example() {
    let grad = |op: &str| {
        sutro_json(&["explain", op, "--json"])["grad"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    assert_eq!(grad("matmul"), "dx = matmul_nt(dc, M); dM = matmul_tn(x, dc)");
    assert_eq!(grad("add"), "ddy = dc; dbias = sum(dc)");
    assert_eq!(grad("exp"), "ddy = mul(dc, c)");
    // As the loss, the loss op's gradient op seeds the backward pass; inside a
    // larger loss the chain rule scales it by the gradient of the outer loss.
    assert_eq!(
        grad("mse"),
        "as the loss: dp = mse_grad(p, y); inside a larger loss: dp_t1 = mse_grad(p, y); dp = scale(dp_t1, dloss)"
    );
    // pad(dy, 1, 2, 1) puts dy[2,4] at columns 2..6 of c[2,7]: its gradient is that part.
    assert_eq!(grad("pad"), "ddy = copy(dc[:, 2:6])");
    assert_eq!(grad("gt"), "no gradient (flat almost everywhere)");
    assert_eq!(grad("max_axis"), "none: `grad` stops with an error at this op");
}
