//! `ir optimize --objective dally`: lower a program's placement cost without
//! changing what it computes.
//!
//! The program is renamed into values (`alloc::Ssa`), dead instructions go,
//! and the passes work on values, never on reused addresses, so the only
//! hazards left are data dependences:
//!
//! - `realloc`: reallocation for the fixed order (inputs and outputs included:
//!   their order is fixed, their addresses are free), `alloc::allocate`, with
//!   the lifetime lower bound of `alloc::lower_bound`.
//! - `stage`: staging copies. A value's reads are cut into clusters wherever
//!   two consecutive uses (or the definition and the first read) lie more than
//!   `gap` instructions apart; a cluster of at least `min` reads gets a `copy`
//!   just before it and its reads go to the copy, which the allocator can put
//!   near the core while the original sits far away. A small grid of `gap` and
//!   `min` is tried and the cheapest kept.
//! - `reorder`: list scheduling in dependence order that runs, among the ready
//!   instructions, the one whose operands were used most recently (ties by the
//!   original position), kept only if it lowers the cost after staging.
//!
//! Every result is verified against the input program: symbolically under
//! `--check`, else on random inputs in both cell models.

use super::alloc::{self, Allocation, Ssa, SsaInstr};
use super::check::{CheckSpec, check};
use super::exec::{Cells, run};
use super::{DallyError, Op, Program, total_cost};

/// What to optimize and how hard.
#[derive(Clone, Debug)]
pub struct IrOptConfig {
    /// Prove `C = A·B` of the result instead of testing on random inputs.
    pub check: Option<CheckSpec>,
    /// Passes, in order: `realloc`, `stage`, `reorder`.
    pub passes: Vec<String>,
    /// Seed of the random verification inputs.
    pub seed: u64,
}

/// Known pass names.
pub const PASSES: [&str; 3] = ["realloc", "stage", "reorder"];

/// One pass's effect.
#[derive(Clone, Debug, PartialEq)]
pub struct PassReport {
    /// Pass name.
    pub name: String,
    /// Cost before it.
    pub before: u64,
    /// Cost after it.
    pub after: u64,
    /// Candidate schedules or parameter settings it evaluated.
    pub evaluated: u64,
    /// What it kept (e.g. `gap=64 min=2, 256 copies`).
    pub note: String,
}

/// The result of `optimize`.
#[derive(Clone, Debug)]
pub struct IrOptimized {
    /// The optimized program.
    pub program: Program,
    /// Cost of the input.
    pub before: u64,
    /// Cost of the output.
    pub after: u64,
    /// Lower bound for the output's order (reallocation alone cannot go below it).
    pub bound: u64,
    /// Per pass.
    pub passes: Vec<PassReport>,
    /// Why it stopped.
    pub stop: String,
    /// How the output was verified.
    pub verified: String,
}

impl IrOptimized {
    /// `1 − after / before` (0 for a free program).
    pub fn improvement(&self) -> f64 {
        if self.before == 0 {
            0.0
        } else {
            1.0 - self.after as f64 / self.before as f64
        }
    }
}

/// A schedule of an `Ssa` with its allocation.
#[derive(Clone, Debug)]
struct State {
    ssa: Ssa,
    order: Vec<u32>,
    alloc: Allocation,
}

fn evaluate(ssa: Ssa, order: Vec<u32>) -> State {
    let l = alloc::lifetimes(&ssa, &order);
    let alloc = alloc::allocate(&l);
    State { ssa, order, alloc }
}

/// Inserts staging copies (module doc) for one `gap`/`min` setting.
fn stage(s: &Ssa, order: &[u32], gap: u32, min: usize) -> (Ssa, Vec<u32>, usize) {
    let nv = s.values();
    let mut def_pos = vec![-1i64; nv];
    // (position, instruction, operand slot) of every read, per value.
    let mut uses: Vec<Vec<(u32, u32, u8)>> = vec![Vec::new(); nv];
    for (p, &i) in order.iter().enumerate() {
        def_pos[s.inputs + i as usize] = p as i64;
        for (k, &v) in s.reads(i as usize).iter().enumerate() {
            uses[v as usize].push((p as u32, i, k as u8));
        }
    }
    let mut out = s.clone();
    let mut before_pos: Vec<Vec<u32>> = vec![Vec::new(); order.len()];
    let mut copies = 0;
    for v in 0..nv {
        let u = &uses[v];
        let mut start = 0;
        let mut prev = def_pos[v];
        for k in 0..=u.len() {
            let cut = k == u.len() || i64::from(u[k].0) - prev > i64::from(gap);
            if cut && k > start {
                let first_gap = i64::from(u[start].0)
                    - if start == 0 {
                        def_pos[v]
                    } else {
                        i64::from(u[start - 1].0)
                    };
                if k - start >= min && first_gap > i64::from(gap) {
                    let id = out.values() as u32;
                    out.instrs.push(SsaInstr {
                        op: Op::Copy,
                        imm: 0,
                        src: [v as u32, 0, 0],
                    });
                    for &(_, i, slot) in &u[start..k] {
                        out.instrs[i as usize].src[slot as usize] = id;
                    }
                    before_pos[u[start].0 as usize].push(id - s.inputs as u32);
                    copies += 1;
                }
                start = k;
            }
            if k < u.len() {
                prev = i64::from(u[k].0);
            }
        }
    }
    let mut new_order = Vec::with_capacity(order.len() + copies);
    for (p, &i) in order.iter().enumerate() {
        new_order.extend_from_slice(&before_pos[p]);
        new_order.push(i);
    }
    (out, new_order, copies)
}

fn stage_pass(st: &State, evaluated: &mut u64) -> (State, String) {
    let mut best = st.clone();
    let mut note = "no copy pays".to_string();
    for gap in [1u32, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 4096] {
        for min in [2usize, 3, 4, 6] {
            let (ssa, order, copies) = stage(&st.ssa, &st.order, gap, min);
            if copies == 0 {
                continue;
            }
            *evaluated += 1;
            let cand = evaluate(ssa, order);
            if cand.alloc.cost < best.alloc.cost {
                best = cand;
                note = format!("gap={gap} min={min}, {copies} copies");
            }
        }
    }
    (best, note)
}

/// List scheduling by operand recency (module doc).
fn recency_order(s: &Ssa, order: &[u32]) -> Vec<u32> {
    let m = s.instrs.len();
    let mut pos = vec![0u32; m];
    for (p, &i) in order.iter().enumerate() {
        pos[i as usize] = p as u32;
    }
    let mut users: Vec<Vec<u32>> = vec![Vec::new(); s.values()];
    let mut pending = vec![0u32; m];
    for (i, n) in pending.iter_mut().enumerate() {
        for &v in s.reads(i) {
            if v as usize >= s.inputs {
                users[v as usize].push(i as u32);
                *n += 1;
            }
        }
    }
    let mut last_use = vec![0u64; s.values()];
    let mut ready: std::collections::BTreeSet<(std::cmp::Reverse<u64>, u32, u32)> = Default::default();
    let key = |i: usize, last_use: &[u64]| s.reads(i).iter().map(|&v| last_use[v as usize]).max().unwrap_or(0);
    for (i, n) in pending.iter().enumerate() {
        if *n == 0 {
            ready.insert((std::cmp::Reverse(0), pos[i], i as u32));
        }
    }
    let mut out = Vec::with_capacity(m);
    let mut clock = 1u64;
    while let Some(&first) = ready.iter().next() {
        ready.remove(&first);
        let i = first.2 as usize;
        out.push(i as u32);
        for &v in s.reads(i) {
            last_use[v as usize] = clock;
        }
        let d = s.inputs + i;
        last_use[d] = clock;
        clock += 1;
        // Re-key ready instructions that read what was just touched.
        let touched: Vec<u32> = s.reads(i).iter().copied().chain([d as u32]).collect();
        let stale: Vec<_> = ready
            .iter()
            .filter(|r| s.reads(r.2 as usize).iter().any(|v| touched.contains(v)))
            .copied()
            .collect();
        for r in stale {
            ready.remove(&r);
            ready.insert((std::cmp::Reverse(key(r.2 as usize, &last_use)), r.1, r.2));
        }
        for &u in &users[d] {
            pending[u as usize] -= 1;
            if pending[u as usize] == 0 {
                ready.insert((std::cmp::Reverse(key(u as usize, &last_use)), pos[u as usize], u));
            }
        }
    }
    out
}

/// Verifies `after` computes what `before` does.
fn verify(before: &Program, after: &Program, cfg: &IrOptConfig) -> Result<String, DallyError> {
    if let Some(c) = cfg.check {
        check(after, c)?;
        return Ok(format!("symbolic ({c}): C = A·B for all inputs"));
    }
    let mut state = cfg.seed ^ 0x9e37_79b9_7f4a_7c15;
    let mut next = || {
        // SplitMix64: a fixed, seedable stream.
        state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    };
    let mut compared = 0;
    for trial in 0..32 {
        let cells = if trial % 2 == 0 { Cells::I8 } else { Cells::Exact };
        let inputs: Vec<i64> = (0..before.inputs.len()).map(|_| (next() % 17) as i64 - 8).collect();
        let Ok(want) = run(before, &inputs, cells) else {
            continue;
        };
        let got = run(after, &inputs, cells)?;
        if got != want {
            return Err(DallyError::Check(format!(
                "internal: the optimized program differs from the input on random inputs (trial {trial})"
            )));
        }
        compared += 1;
    }
    Ok(format!("random inputs: {compared} runs agree (8-bit and exact cells)"))
}

/// Runs the passes and verifies the result.
pub fn optimize(p: &Program, cfg: &IrOptConfig) -> Result<IrOptimized, DallyError> {
    if let Some(bad) = cfg.passes.iter().find(|x| !PASSES.contains(&x.as_str())) {
        return Err(DallyError::Usage(format!(
            "unknown pass `{bad}` (known: {})",
            PASSES.join(", ")
        )));
    }
    if let Some(c) = cfg.check {
        check(p, c)?;
    }
    let before = total_cost(p);
    let ssa = Ssa::from_program(p).without_dead_code();
    let order: Vec<u32> = (0..ssa.instrs.len() as u32).collect();
    let mut st = evaluate(ssa, order);
    let mut passes = Vec::new();
    let mut cur = before;
    for name in &cfg.passes {
        let mut evaluated = 1;
        let (next, note) = match name.as_str() {
            "realloc" => (st.clone(), "fixed order, tiers by lifetime".to_string()),
            "stage" => stage_pass(&st, &mut evaluated),
            _ => {
                let order = recency_order(&st.ssa, &st.order);
                let cand = evaluate(st.ssa.clone(), order);
                let (staged, _) = stage_pass(&cand, &mut evaluated);
                if staged.alloc.cost < st.alloc.cost {
                    (staged, "operand-recency list schedule, then staging".to_string())
                } else {
                    (st.clone(), "operand-recency schedule did not pay".to_string())
                }
            }
        };
        // Never keep a pass that makes things worse (the input itself stays a candidate).
        let after = next.alloc.cost.min(cur);
        if next.alloc.cost <= cur {
            st = next;
        }
        passes.push(PassReport {
            name: name.clone(),
            before: cur,
            after,
            evaluated,
            note,
        });
        cur = after;
    }
    let (program, after) = if st.alloc.cost < before {
        (alloc::emit(&st.ssa, &st.order, &st.alloc), st.alloc.cost)
    } else {
        (p.clone(), before)
    };
    // The emitted text must parse, cost what the allocator said, and compute the same.
    let program = super::parse(&program.to_string())
        .map_err(|e| DallyError::Internal(format!("optimized program is invalid: {e}")))?;
    if total_cost(&program) != after {
        return Err(DallyError::Usage(
            "internal: optimized cost disagrees with the scorer".into(),
        ));
    }
    let verified = verify(p, &program, cfg)?;
    let bound = alloc::lower_bound(&alloc::lifetimes(&st.ssa, &st.order));
    Ok(IrOptimized {
        program,
        before,
        after,
        bound,
        passes,
        stop: "passes done (each pass's grid or schedule searched in full)".into(),
        verified,
    })
}
