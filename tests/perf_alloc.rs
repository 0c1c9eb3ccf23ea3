//! After warm-up, a training step, feeding a batch and evaluating allocate
//! nothing (issue 3, section 3).
//!
//! `allocation_counter` installs a counting global allocator in this test binary
//! and counts the current thread's allocations (the crate forbids `unsafe`, so
//! the allocator comes from there).

use sutro::interp::slice;
use sutro::span::SourceFile;
use sutro::train;
use sutro::valid::{Limits, Settings};

#[test]
fn step_feed_and_evaluate_do_not_allocate_after_warm_up() {
    for hidden in [200u64, 37] {
        let s = Settings::default().with("hidden", hidden);
        let src = SourceFile::new("sparse_parity.sutro", include_str!("../programs/sparse_parity.sutro"));
        let v = sutro::load(&src, &s, &Limits::default()).unwrap().validated;
        let task = train::task("parity").unwrap();
        let cfg = train::config("parity", &v, &s).unwrap();
        let ports = train::ports(&v, &cfg).unwrap();
        let data = task.generate(&cfg, 0);
        let fwd = slice(v.program(), &[ports.pred.unwrap()]);
        let mut it = train::Run::new(&v, ports, (task.as_ref(), &cfg), &data, 1, true);
        let run = |it: &mut train::Run<'_>, _st: usize| {
            it.step(None).unwrap();
            it.evaluate(&fwd, task.as_ref(), false).unwrap()
        };
        let probe = allocation_counter::measure(|| {
            std::hint::black_box(vec![0u8; 64]);
        });
        assert_eq!(probe.count_total, 1, "the counting allocator is installed");
        run(&mut it, 0);
        let after = allocation_counter::measure(|| {
            for st in 1..40 {
                run(&mut it, st);
            }
        });
        assert_eq!(after.count_total, 0, "hidden = {hidden}: steps after warm-up allocated");
    }
}
