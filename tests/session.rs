//! The run facade: which examples a step sees, and that every path through
//! `Session` agrees on it.
//!
//! The default SutroYaro config has n_train = 1000 and batch = 32, so an epoch is
//! ⌈1000 / 32⌉ = 32 steps and 1000 mod 32 = 8: the last step of an epoch feeds
//! examples 992..999 and wraps to 0..23, and the next epoch restarts at 0.

#![allow(clippy::expect_used, clippy::unwrap_used)] // Test code: a failure is a test failure.

use sutro::Session;
use sutro::span::SourceFile;
use sutro::train::{Examples, RunOptions, TaskConfig};
use sutro::valid::{Limits, Settings};

fn sutroyaro() -> TaskConfig {
    TaskConfig {
        name: "parity".into(),
        n: 20,
        k: 3,
        secret_n: 20,
        n_train: 1000,
        n_test: 200,
        batch: 32,
    }
}

#[test]
fn the_last_partial_batch_wraps_and_every_epoch_restarts_at_zero() {
    let ex = Examples::new(&sutroyaro(), 0, false);
    assert_eq!(ex.steps_per_epoch(), 32);
    // Step 0: examples 0..31.
    assert_eq!(
        (0..32).map(|j| ex.example(0, j)).collect::<Vec<_>>(),
        (0..32).collect::<Vec<_>>()
    );
    // Step 31 (the last of epoch 1): 992..999, then 0..23.
    let last: Vec<usize> = (0..32).map(|j| ex.example(31, j)).collect();
    let expected: Vec<usize> = (992..1000).chain(0..24).collect();
    assert_eq!(last, expected);
    // Step 32 (the first of epoch 2) restarts at 0, not at 24.
    assert_eq!(ex.example(32, 0), 0);
    assert_eq!(ex.example(33, 0), 32);
}

fn sparse_parity() -> Session {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/programs/sparse_parity.sutro");
    let src = SourceFile::new(path, std::fs::read_to_string(path).expect("program"));
    Session::open(&src, "parity", &Settings::default(), &Limits::default(), 1).expect("fits parity")
}

#[test]
fn record_and_train_feed_the_same_examples_across_an_epoch_boundary() {
    let s = sparse_parity();
    assert_eq!(s.task_config(), &sutroyaro());
    // Two whole epochs: 64 steps, the second epoch restarting at example 0.
    let mut rec = sutro::trace::VecTracer::default();
    let traced = s.trace(64, &mut rec).expect("traces");
    assert_eq!(rec.events.iter().map(|e| e.step).max(), Some(63));
    // Training the same two epochs; an accuracy above 1 never stops it early,
    // and evaluation between epochs touches no param.
    let opts = RunOptions {
        epochs: 2,
        until: 2.0,
        ..RunOptions::default()
    };
    let res = s.train(&opts, None, |_| {}).expect("trains");
    assert_eq!(res.steps, 64);
    let trained = res.params;
    let bits = |p: &sutro::Params| -> Vec<(String, Vec<u32>)> {
        p.iter()
            .map(|(n, v)| (n.clone(), v.iter().map(|x| x.to_bits()).collect()))
            .collect()
    };
    assert_eq!(bits(&traced), bits(&trained));
    assert_eq!(bits(&s.run_steps(64).expect("runs")), bits(&trained));
    // And the order matters: 63 or 65 steps give other parameters.
    assert_ne!(bits(&s.run_steps(63).expect("runs")), bits(&trained));
}

#[test]
fn every_metric_field_has_a_typed_value_equal_to_its_json_number() {
    use sutro::analysis::{Field, Metric, select};
    let s = sparse_parity();
    let mut list = select(&["all"], &[] as &[&str], None).expect("defaults");
    {
        let mut tee = sutro::trace::Tee(list.iter_mut().map(|a| a.as_tracer()).collect());
        s.trace(1, &mut tee).expect("traces");
    }
    for a in &list {
        let m = a.metric();
        let json = a.report_json();
        for f in m.totals() {
            let v = a
                .value(*f)
                .unwrap_or_else(|| panic!("{} has no {}", m.name(), f.name()));
            assert_eq!(Some(v), json[f.name()].as_f64(), "{}.{}", m.name(), f.name());
        }
        for f in m.objective_fields().iter().chain([&m.board_total()]) {
            assert!(m.totals().contains(f), "{}.{} is not a total", m.name(), f.name());
        }
        // A field of another metric has no value here.
        let foreign = if m == Metric::EnergyPj {
            Field::PerRead
        } else {
            Field::TotalPj
        };
        assert_eq!(a.value(foreign), None);
    }
}

#[test]
fn unknown_fields_are_errors_when_parsed() {
    use sutro::analysis::Metric;
    use sutro::opt::cost::Objective;
    assert!(Metric::Dmd.field("totl").is_err());
    let e = Objective::parse("dmd.totl").expect_err("unknown field");
    assert!(e.to_string().contains("unknown field `totl` of dmd"), "{e}");
    assert!(Objective::parse("energy_pj.total_pj").is_ok());
}
