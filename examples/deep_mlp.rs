//! Prints a generated deep MLP program (`sutro::synth::deep_mlp`).
//!
//! `cargo run --release --example deep_mlp -- LAYERS N HIDDEN BATCH > FILE.sutro`
//! (defaults 1428 20 4 4: about 10,000 ops after `grad` lowering, the fixture
//! `tests/fixtures/mlp_1428.sutro`).

fn main() {
    let args: Vec<usize> = std::env::args().skip(1).filter_map(|a| a.parse().ok()).collect();
    let get = |i: usize, d: usize| args.get(i).copied().unwrap_or(d);
    print!(
        "{}",
        sutro::synth::deep_mlp(sutro::synth::DeepMlp {
            layers: get(0, 1428),
            n: get(1, 20),
            hidden: get(2, 4),
            batch: get(3, 4),
        })
    );
}
