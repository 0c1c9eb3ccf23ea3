//! `sutro fmt` round-trips every program, and `print --lowered` output is itself
//! a valid program that trains bit-identically to its source.

#![allow(clippy::unwrap_used, clippy::expect_used)] // Test code: a failed unwrap is a failed test.

mod common;
use common::{load, load_text, root, sutro};

/// The programs of `programs/` and `tests/programs/` (loops, slices, `grad` through slices).
fn programs() -> Vec<String> {
    let mut v: Vec<String> = ["programs", "tests/programs"]
        .iter()
        .flat_map(|d| std::fs::read_dir(root().join(d)).unwrap())
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "sutro"))
        .map(|p| p.strip_prefix(root()).unwrap().to_string_lossy().into_owned())
        .collect();
    v.sort();
    assert!(v.len() >= 3);
    v
}

#[test]
fn fmt_is_stable_and_programs_are_canonical() {
    for p in programs() {
        let once = sutro(&["fmt", &p]);
        assert!(once.status.success());
        let text = String::from_utf8(once.stdout).unwrap();
        let reparsed = sutro::syntax::parse("x", &text).unwrap_or_else(|e| panic!("{p}: {e:?}"));
        assert_eq!(reparsed.to_string(), text, "{p}: print ∘ parse ∘ print is not stable");
        let file = std::fs::read_to_string(root().join(&p)).unwrap();
        assert_eq!(text, file, "{p} is not in canonical form (run `sutro fmt --write {p}`)");
    }
}

#[test]
fn fmt_canonicalises_spacing_and_keeps_comments() {
    let messy = "# head\n\n\n dim   n=3   # three bits\nhyper lr = 2*(0.5)\ninput x[ batch,n ]\ntarget y[batch]\nparam W[1,n]=normal( sqrt(2/n) )\nparam b[1] = zeros\n\n\nout=affine( x,W,b ) # fwd\npredict out\n";
    let p = sutro::syntax::parse("m", messy).unwrap();
    let want = "# head\n\ndim n = 3  # three bits\nhyper lr = 2 * 0.5\ninput x[batch, n]\ntarget y[batch]\nparam W[1, n] = normal(sqrt(2 / n))\nparam b[1] = zeros\n\nout = affine(x, W, b)  # fwd\npredict out\n";
    assert_eq!(p.to_string(), want);
}

#[test]
fn fmt_write_rewrites_in_place() {
    let dir = std::env::temp_dir().join(format!("sutro-fmt-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let f = dir.join("p.sutro");
    std::fs::write(&f, "dim n=3\n").unwrap();
    let out = sutro(&["fmt", f.to_str().unwrap(), "--write"]);
    assert!(out.status.success() && out.stdout.is_empty());
    assert_eq!(std::fs::read_to_string(&f).unwrap(), "dim n = 3\n");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn lowered_programs_run_bit_identically_to_their_source() {
    // matmul.sutro is not a training step (no task feeds two inputs): it exists for `ir lower`.
    for p in programs().into_iter().filter(|p| !p.ends_with("matmul.sutro")) {
        let src = load(&p, &[]);
        let lowered_text = String::from_utf8(sutro(&["print", &p, "--lowered"]).stdout).unwrap();
        assert!(!lowered_text.contains("grad "), "{p}: `grad` left after lowering");
        let lowered = load_text("lowered.sutro", &lowered_text, &[]);
        assert_eq!(
            lowered.validated.program().to_string(),
            lowered_text,
            "{p}: lowered text is not canonical"
        );
        let session = |l: &sutro::Loaded| {
            sutro::Session::new(l.clone(), "parity", &Default::default(), &Default::default(), 7).unwrap()
        };
        let a = session(&src).run_steps(100).unwrap();
        let b = session(&lowered).run_steps(100).unwrap();
        assert_eq!(a.len(), b.len());
        for ((na, va), (nb, vb)) in a.iter().zip(&b) {
            assert_eq!(na, nb);
            let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
            assert_eq!(bits(va), bits(vb), "{p}: param {na} differs after 100 steps");
        }
    }
}
