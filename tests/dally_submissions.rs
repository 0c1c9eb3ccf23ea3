//! `ir score` against the challenges' own scorers on every `.ir` submission of
//! `cybertronai/sutro-problems` (commit a778d4d, 28 files). The files cannot be
//! committed here: the test runs only when `SUTRO_DALLY_SUBMISSIONS` names a
//! checkout of that repository. The expected costs were printed by the
//! challenges' Python scorers (`matmul.py`'s `_score_n`, `sparse_parity.py`'s
//! `_compile_ir`) at that commit.
#![allow(clippy::unwrap_used, clippy::expect_used)] // Test code: a failed unwrap is a failed test.

use sutro::dally::check::{CheckSpec, check};
use sutro::dally::{parse, score};

const MATMUL: &[(&str, usize, u64)] = &[
    ("aliased_16x16.ir", 16, 69_697),
    ("baseline_16x16.ir", 16, 340_704),
    ("baseline_4x4.ir", 4, 1_316),
    ("colmajor_fused_16x16.ir", 16, 68_452),
    ("dead_input_outputs_packed_16x16.ir", 16, 70_053),
    ("hierarchical_16x16.ir", 16, 80_217),
    ("outer_product_4x4.ir", 4, 800),
    ("output_repacked_tail_16x16.ir", 16, 68_390),
    (
        "output_repacked_tail_deferred_value_colored_live_b_16x16.ir",
        16,
        67_834,
    ),
    (
        "output_repacked_tail_deferred_value_colored_live_b_tiny_a_endpoint_16x16.ir",
        16,
        67_821,
    ),
    ("recursive_16x16.ir", 16, 237_456),
    ("redirect_16x16.ir", 16, 72_642),
    ("sa_cache_16x16.ir", 16, 73_602),
    ("sc_outputs_16x16.ir", 16, 71_724),
    ("tiled_16x16.ir", 16, 133_783),
    ("tiled_16x16_opt1.ir", 16, 110_743),
    ("weighted_lifetime_copyelim_66707.ir", 16, 66_707),
    ("weighted_lifetime_copyelim_66707.raw.ir", 16, 72_830),
];

const PARITY: &[(&str, u64)] = &[
    ("baseline_medium.ir", 816_251),
    ("baseline_small.ir", 6_918),
    ("ge_medium.ir", 473_046),
    ("ge_medium_packed.ir", 16_084),
    ("ge_small.ir", 22_238),
    ("half_packed_approx50.ir", 8_723),
    ("predpack_medium.ir", 15_960),
    ("predpack_tuned_medium.ir", 15_691),
    ("small_pack_best.ir", 1_932),
    ("small_pack_column_gf2.ir", 2_077),
];

#[test]
fn agrees_with_the_challenge_scorers() {
    let Some(root) = std::env::var_os("SUTRO_DALLY_SUBMISSIONS") else {
        eprintln!("SUTRO_DALLY_SUBMISSIONS unset: skipping the submissions of sutro-problems");
        return;
    };
    let root = std::path::PathBuf::from(root);
    let mut seen = 0;
    for (name, n, want) in MATMUL {
        let path = root.join("matmul/submissions").join(name);
        let Ok(text) = std::fs::read_to_string(&path) else {
            continue;
        };
        let p = parse(&text).unwrap();
        assert_eq!(score(&p).cost, *want, "{name}");
        check(&p, CheckSpec::Matmul(*n)).unwrap();
        seen += 1;
    }
    for (name, want) in PARITY {
        let path = root.join("sparse-parity/submissions").join(name);
        let Ok(text) = std::fs::read_to_string(&path) else {
            continue;
        };
        assert_eq!(score(&parse(&text).unwrap()).cost, *want, "{name}");
        seen += 1;
    }
    assert!(seen > 0, "no submission found under {}", root.display());
}
