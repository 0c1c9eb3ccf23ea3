//! Randomness in a step: `noise_uniform`, `noise_normal` and `noise_bernoulli`
//! draw a fresh buffer every training step from a counter-based generator
//! (ChaCha8 seeded with FNV-1a of `sutro/noise/<seed>/<op name>/<step>`, the
//! step counted from 1), so the draws do not depend on the schedule; an
//! evaluation pass draws nothing and gives the distribution's mean.
//!
//! The reference below re-derives the draws from that definition (FNV-1a, the
//! 24-bit unit draw and Box–Muller as docs/language.md states them).

#![allow(clippy::unwrap_used, clippy::expect_used)] // Test code: a failed unwrap is a failed test.

mod common;
use common::{load_text, sutro};
use rand::rngs::ChaCha8Rng;
use rand::{Rng, SeedableRng};
use sutro::interp::{Interp, slice};

fn fnv(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in bytes {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

fn unit(r: &mut ChaCha8Rng) -> f64 {
    (f64::from(r.next_u32() >> 8) + 0.5) / 16_777_216.0
}

/// The reference draws of op `op` at 1-based step `step` of run seed `seed`.
fn reference(seed: u64, op: &str, step: u64, count: usize, f: impl Fn(&mut ChaCha8Rng) -> f32) -> Vec<f32> {
    let mut r = ChaCha8Rng::seed_from_u64(fnv(format!("sutro/noise/{seed}/{op}/{step}").as_bytes()));
    (0..count).map(|_| f(&mut r)).collect()
}

const PROG: &str = "dim n = 4
dim batch = 2
state U[3, n] = zeros
state N[n] = zeros
state B[2, 2] = zeros
input x[batch, n]
target y[batch]
u = noise_uniform(-1, 3, 3, n)
U = copy(u)
nn: g = noise_normal(0.5, n)
N = copy(g)
b = noise_bernoulli(0.25, 2, 2)
B = copy(b)
p = sum_axis(x, 1)
predict p
";

/// `PROG` with its three draws in the opposite order (a legal reordering).
const REORDERED: &str = "dim n = 4
dim batch = 2
state U[3, n] = zeros
state N[n] = zeros
state B[2, 2] = zeros
input x[batch, n]
target y[batch]
b = noise_bernoulli(0.25, 2, 2)
nn: g = noise_normal(0.5, n)
u = noise_uniform(-1, 3, 3, n)
B = copy(b)
N = copy(g)
U = copy(u)
p = sum_axis(x, 1)
predict p
";

fn session(text: &str, seed: u64) -> sutro::Session {
    let l = load_text("noise.sutro", text, &[]);
    sutro::Session::new(
        l,
        "parity",
        &sutro::valid::Settings::default(),
        &sutro::valid::Limits::default(),
        seed,
    )
    .unwrap()
}

fn state(params: &[(String, Vec<f32>)], name: &str) -> Vec<f32> {
    params.iter().find(|(n, _)| n == name).unwrap().1.clone()
}

#[test]
fn draws_follow_the_counter_based_definition_at_every_step() {
    for seed in [0u64, 7] {
        let s = session(PROG, seed);
        for steps in [1u64, 3] {
            let params = s.run_steps(steps).unwrap();
            let uniform = reference(seed, "u", steps, 12, |r| (-1.0 + 4.0 * unit(r)) as f32);
            let normal = reference(seed, "nn", steps, 4, |r| {
                let (u1, u2) = (unit(r), unit(r));
                (0.5 * (libm::sqrt(-2.0 * libm::log(u1)) * libm::cos(2.0 * std::f64::consts::PI * u2))) as f32
            });
            let bern = reference(seed, "b", steps, 4, |r| if unit(r) < 0.25 { 1.0 } else { 0.0 });
            assert_eq!(state(&params, "U"), uniform, "seed {seed} step {steps}");
            assert_eq!(state(&params, "N"), normal, "seed {seed} step {steps}");
            assert_eq!(state(&params, "B"), bern, "seed {seed} step {steps}");
        }
    }
    // Steps and seeds draw different numbers.
    let a = session(PROG, 0);
    assert_ne!(
        state(&a.run_steps(1).unwrap(), "U"),
        state(&a.run_steps(2).unwrap(), "U")
    );
    assert_ne!(
        state(&a.run_steps(1).unwrap(), "U"),
        state(&session(PROG, 1).run_steps(1).unwrap(), "U")
    );
}

#[test]
fn a_reordered_program_draws_the_same_numbers_and_verifies() {
    let a = session(PROG, 3);
    let b = load_text("reordered.sutro", REORDERED, &[]);
    assert_eq!(a.verify(&b.validated, 5).unwrap(), None);
    for name in ["U", "N", "B"] {
        assert_eq!(
            state(&a.run_steps(4).unwrap(), name),
            state(&session(REORDERED, 3).run_steps(4).unwrap(), name)
        );
    }
}

#[test]
fn an_evaluation_pass_draws_nothing_and_gives_the_mean() {
    let text = "dim n = 3\ndim batch = 4\ninput x[batch, n]\ntarget y[batch]\nr = noise_uniform(-1, 2, batch)\nm = noise_bernoulli(0.25, batch)\ng = noise_normal(3, batch)\nt = add(r, m)\np = add(t, g)\npredict p\n";
    let l = load_text("eval.sutro", text, &[]);
    let v = &l.validated;
    let pred = v.program().buf_id("p").unwrap();
    let fwd = slice(v.program(), &[pred]);
    let mut it = Interp::new(v, 0);
    // Means: uniform (−1 + 2)/2 = 0.5, bernoulli 0.25, normal 0.
    it.run_ops(&fwd, 0).unwrap();
    assert_eq!(it.buffer(pred), [0.75; 4]);
    // A training step draws: not the mean.
    it.step(0, None).unwrap();
    assert_ne!(it.buffer(pred), [0.75; 4]);
    // And evaluation again gives the mean, whatever the step.
    it.run_ops(&fwd, 9).unwrap();
    assert_eq!(it.buffer(pred), [0.75; 4]);
}

#[test]
fn a_loop_draws_a_fresh_buffer_per_iteration_and_its_lowered_form_matches() {
    let text = "dim n = 4\nstate R[3, n] = zeros\ninput x[batch, n]\ntarget y[batch]\nfor i in 0..3 {\nr = noise_normal(1, n)\nR[i, :] = copy(r)\n}\np = sum_axis(x, 1)\npredict p\n";
    let params = session(text, 0).run_steps(1).unwrap();
    let r = state(&params, "R");
    for i in 0..3 {
        let want = reference(0, &format!("r_{i}"), 1, 4, |g| {
            let (u1, u2) = (unit(g), unit(g));
            (libm::sqrt(-2.0 * libm::log(u1)) * libm::cos(2.0 * std::f64::consts::PI * u2)) as f32
        });
        assert_eq!(r[i * 4..i * 4 + 4], want[..], "iteration {i}");
    }
    let dir = std::env::temp_dir().join(format!("sutro-noise-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("loop.sutro");
    std::fs::write(&path, text).unwrap();
    let lowered = sutro(&["print", path.to_str().unwrap(), "--lowered"]);
    assert!(lowered.status.success());
    let low = load_text("lowered.sutro", &String::from_utf8(lowered.stdout).unwrap(), &[]);
    assert_eq!(session(text, 0).verify(&low.validated, 3).unwrap(), None);
}

#[test]
fn bad_extents_and_arguments_are_located_errors() {
    let dir = std::env::temp_dir().join(format!("sutro-noise-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    for (text, msg) in [
        (
            "state s[1] = zeros\nr = noise_normal(1, 0)\n",
            "noise_normal: extents must be positive",
        ),
        (
            "state s[1] = zeros\nr = noise_normal(1, s)\n",
            "noise_normal: an extent must be an expression, not a buffer",
        ),
        ("state s[1] = zeros\nr = noise_uniform(0, 1)\n", "expected `,`"),
        (
            "state s[1] = zeros\nr = noise_normal(1, 2.5)\n",
            "an extent must be a whole number",
        ),
    ] {
        let path = dir.join("bad.sutro");
        std::fs::write(&path, text).unwrap();
        let out = sutro(&["check", path.to_str().unwrap()]);
        assert_eq!(out.status.code(), Some(2), "{text}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(msg), "{text}: {err}");
        assert!(err.contains("bad.sutro:2:"), "{text}: {err}");
    }
}
