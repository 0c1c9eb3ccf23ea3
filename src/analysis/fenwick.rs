//! The recency stack under the stack-family metrics: a key→slot map and a
//! Fenwick tree of recency timestamps with range updates (metrics spec, §4.2).
//!
//! Every recency update takes a fresh, increasing slot; an address's inclusive
//! depth is the total weight at or after its slot. The tree supports range
//! updates (two Fenwick arrays), so a block of consecutive slots is added or
//! removed in O(log cap). That is what makes whole-buffer accesses cheap: after a
//! buffer is accessed whole, its elements hold consecutive slots in ascending
//! order (a *block*). Re-reading an intact block under `move`/`sequential` gives
//! every element the same depth (weight above the block plus the block's own
//! weight), so one query prices it and two range updates move it; the only
//! per-element work left is a linear scan of the key→slot map. Anything else
//! (partial ranges, fragmented blocks) takes the general path, one query and one
//! update per element, each O(log cap). Slots are renumbered when they run out
//! (compaction, amortized O(1)).
//!
//! Invariant: a key's slot is 0 iff the key is not on the stack; the tree holds,
//! at each live slot, that key's weight, and 0 at dead slots.

use std::collections::HashMap;

/// Keys below this many are kept in a dense vector; others in a hash map (only
/// for hand-built traces with far-flung addresses; never iterated for output).
pub(crate) const DENSE_SLACK: u64 = 1 << 20;

/// A map from stack keys to small values: dense near zero, sparse beyond.
#[derive(Clone, Debug, Default)]
pub(crate) struct KeyMap<T> {
    dense: Vec<T>,
    limit: u64,
    sparse: HashMap<u64, T>,
}

impl<T: Copy + Default + PartialEq> KeyMap<T> {
    /// A map whose keys below `limit` are dense.
    pub(crate) fn new(limit: u64) -> KeyMap<T> {
        KeyMap {
            dense: Vec::new(),
            limit: limit.min(1 << 32),
            sparse: HashMap::new(),
        }
    }

    #[inline]
    pub(crate) fn get(&self, k: u64) -> T {
        if k < self.limit {
            self.dense.get(k as usize).copied().unwrap_or_default()
        } else {
            self.sparse.get(&k).copied().unwrap_or_default()
        }
    }

    #[inline]
    pub(crate) fn set(&mut self, k: u64, v: T) {
        if k < self.limit {
            let i = k as usize;
            if i >= self.dense.len() {
                let want = (i + 1).max(self.dense.len() * 2).min(self.limit as usize);
                self.dense.resize(want.max(i + 1), T::default());
            }
            if let Some(x) = self.dense.get_mut(i) {
                *x = v;
            }
        } else if v == T::default() {
            self.sparse.remove(&k);
        } else {
            self.sparse.insert(k, v);
        }
    }

    /// The dense slice for keys `k0 .. k0 + n`, if they all lie in the dense part.
    #[inline]
    fn slice(&self, k0: u64, n: u64) -> Option<&[T]> {
        let end = k0.checked_add(n)?;
        if end <= self.dense.len() as u64 {
            self.dense.get(k0 as usize..end as usize)
        } else {
            None
        }
    }

    /// Makes keys `k0 .. k0 + n` dense-resident if they are below the limit, and
    /// returns their slice.
    #[inline]
    fn slice_mut(&mut self, k0: u64, n: u64) -> Option<&mut [T]> {
        let end = k0.checked_add(n)?;
        if end > self.limit {
            return None;
        }
        if end as usize > self.dense.len() {
            let want = (end as usize).max(self.dense.len() * 2).min(self.limit as usize);
            self.dense.resize(want.max(end as usize), T::default());
        }
        self.dense.get_mut(k0 as usize..end as usize)
    }

    /// Length of the dense part (a bound on the work of a full scan).
    fn dense_len(&self) -> usize {
        self.dense.len()
    }

    /// Calls `f` on every non-default entry; `f` may change the value.
    fn for_each_mut(&mut self, mut f: impl FnMut(u64, &mut T)) {
        let zero = T::default();
        for (k, v) in self.dense.iter_mut().enumerate() {
            if *v != zero {
                f(k as u64, v);
            }
        }
        for (k, v) in self.sparse.iter_mut() {
            f(*k, v);
        }
    }
}

/// A Fenwick tree with range add and prefix sum, over wrapping `u64` (the true
/// sums always fit, so modular arithmetic gives them exactly).
#[derive(Clone, Debug, Default)]
struct RangeBit {
    b1: Vec<u64>,
    b2: Vec<u64>,
}

#[inline]
fn bit_add(v: &mut [u64], mut i: usize, x: u64) {
    while let Some(c) = v.get_mut(i) {
        *c = c.wrapping_add(x);
        i += i & i.wrapping_neg();
    }
}

#[inline]
fn bit_sum(v: &[u64], mut i: usize) -> u64 {
    let mut s = 0u64;
    i = i.min(v.len().saturating_sub(1));
    while i > 0 {
        s = s.wrapping_add(v.get(i).copied().unwrap_or(0));
        i &= i - 1;
    }
    s
}

impl RangeBit {
    fn with_cap(cap: usize) -> RangeBit {
        RangeBit {
            b1: vec![0; cap + 2],
            b2: vec![0; cap + 2],
        }
    }

    /// Adds `x` (wrapping, so negative values work) to every slot in `l ..= r`.
    #[inline]
    fn range_add(&mut self, l: usize, r: usize, x: u64) {
        let (lu, ru) = (l as u64, r as u64);
        bit_add(&mut self.b1, l, x);
        bit_add(&mut self.b1, r + 1, x.wrapping_neg());
        bit_add(&mut self.b2, l, x.wrapping_mul(lu.wrapping_sub(1)));
        bit_add(&mut self.b2, r + 1, x.wrapping_mul(ru).wrapping_neg());
    }

    /// Σ of slots `1 ..= i`.
    #[inline]
    fn prefix(&self, i: usize) -> u64 {
        bit_sum(&self.b1, i)
            .wrapping_mul(i as u64)
            .wrapping_sub(bit_sum(&self.b2, i))
    }

    /// Rebuilds for slots `1 ..= cap`, reusing the allocations: `fill` writes
    /// the point values (index = slot) into a zeroed array, nonzero only in
    /// `1 ..= live`. Work is O(live + log² cap) plus one memset of the arrays.
    fn rebuild(&mut self, cap: usize, live: usize, fill: impl FnOnce(&mut [u64])) {
        let len = cap + 2;
        let mut a = std::mem::take(&mut self.b1);
        a.clear();
        a.resize(len, 0);
        fill(&mut a);
        // Differences in place (descending, so a[i - 1] is still a point value);
        // past `live + 1` they are all zero.
        let hi = (live + 2).min(len);
        for i in (1..hi).rev() {
            let prev = a.get(i - 1).copied().unwrap_or(0);
            if let Some(x) = a.get_mut(i) {
                *x = x.wrapping_sub(prev);
            }
        }
        let mut b = std::mem::take(&mut self.b2);
        b.clear();
        b.resize(len, 0);
        for i in 1..hi {
            let d = a.get(i).copied().unwrap_or(0);
            if let Some(x) = b.get_mut(i) {
                *x = d.wrapping_mul(i as u64 - 1);
            }
        }
        self.b1 = bit_build_prefix(a, hi);
        self.b2 = bit_build_prefix(b, hi);
    }
}

/// The linear Fenwick build of `t`, whose entries at or past `hi` are zero: the
/// dense part is built in place, then only the O(log n) chains leaving it.
fn bit_build_prefix(mut t: Vec<u64>, hi: usize) -> Vec<u64> {
    let n = t.len();
    let mut tail = std::collections::BTreeSet::new();
    for i in 1..hi.min(n) {
        let j = i + (i & i.wrapping_neg());
        if j < n {
            let x = t.get(i).copied().unwrap_or(0);
            if let Some(c) = t.get_mut(j) {
                *c = c.wrapping_add(x);
            }
            if j >= hi {
                tail.insert(j);
            }
        }
    }
    while let Some(j) = tail.pop_first() {
        let k = j + (j & j.wrapping_neg());
        if k < n {
            let x = t.get(j).copied().unwrap_or(0);
            if let Some(c) = t.get_mut(k) {
                *c = c.wrapping_add(x);
            }
            tail.insert(k);
        }
    }
    t
}

/// The Fenwick LRU stack: keys with weights, ordered by last touch.
#[derive(Clone, Debug)]
pub(crate) struct Stack {
    bit: RangeBit,
    cap: usize,
    next: usize,
    total: u64,
    slot: KeyMap<u32>,
    /// Per-key weights, when they vary (buffer granularity); else `uniform`.
    weight: Option<KeyMap<u64>>,
    uniform: u64,
    /// Scratch for compaction, kept to avoid reallocating.
    rank: Vec<u32>,
}

impl Stack {
    /// An empty stack. `key_limit` bounds the dense key range; `per_key_weights`
    /// is needed when weights differ between keys.
    pub(crate) fn new(key_limit: u64, per_key_weights: bool, uniform: u64) -> Stack {
        let cap = 1024;
        Stack {
            bit: RangeBit::with_cap(cap),
            cap,
            next: 1,
            total: 0,
            slot: KeyMap::new(key_limit),
            weight: per_key_weights.then(|| KeyMap::new(key_limit)),
            uniform,
            rank: Vec::new(),
        }
    }

    /// Total weight on the stack.
    #[inline]
    pub(crate) fn total(&self) -> u64 {
        self.total
    }

    /// The next slot to be handed out (slots at or above it are this phase's).
    #[inline]
    pub(crate) fn next_slot(&self) -> usize {
        self.next
    }

    #[inline]
    pub(crate) fn slot_of(&self, k: u64) -> usize {
        self.slot.get(k) as usize
    }

    /// The stored weight of a key on the stack.
    #[inline]
    pub(crate) fn weight_of(&self, k: u64) -> u64 {
        self.weight.as_ref().map_or(self.uniform, |w| w.get(k))
    }

    /// Inclusive depth of the key at slot `s`: the weight at or after it.
    #[inline]
    pub(crate) fn depth_slot(&self, s: usize) -> u64 {
        self.total.wrapping_sub(self.bit.prefix(s - 1))
    }

    /// Inclusive depth of a key, or `None` if it is not on the stack.
    #[inline]
    pub(crate) fn depth(&self, k: u64) -> Option<u64> {
        let s = self.slot_of(k);
        (s != 0).then(|| self.depth_slot(s))
    }

    /// The first slot if keys `k0 .. k0 + n` hold consecutive slots in ascending
    /// order with one uniform weight (an intact block), else `None`.
    #[inline]
    pub(crate) fn block(&self, k0: u64, n: u64) -> Option<usize> {
        let s0 = self.slot.get(k0);
        if s0 == 0 {
            return None;
        }
        if n == 1 {
            return Some(s0 as usize);
        }
        if self.weight.is_some() {
            return None;
        }
        let ok = match self.slot.slice(k0, n) {
            Some(sl) => sl.iter().zip(s0..).all(|(&s, want)| s == want),
            None => (0..n).all(|i| u64::from(self.slot.get(k0 + i)) == u64::from(s0) + i),
        };
        ok.then_some(s0 as usize)
    }

    /// Whether none of keys `k0 .. k0 + n` is on the stack.
    #[inline]
    pub(crate) fn absent(&self, k0: u64, n: u64) -> bool {
        match self.slot.slice(k0, n) {
            Some(sl) => sl.iter().all(|&s| s == 0),
            None => (0..n).all(|i| self.slot.get(k0.wrapping_add(i)) == 0),
        }
    }

    /// Makes room for `n` more slots, compacting if needed.
    pub(crate) fn ensure_room(&mut self, n: u64) {
        if (self.next as u64).saturating_add(n) > self.cap as u64 + 1 {
            self.compact(n);
        }
    }

    /// Renumbers live slots 1..M in order and rebuilds the tree in O(M + keys),
    /// reusing every allocation.
    fn compact(&mut self, extra: u64) {
        let mut rank = std::mem::take(&mut self.rank);
        rank.clear();
        rank.resize(self.next + 1, 0);
        self.slot.for_each_mut(|_, s| {
            if let Some(r) = rank.get_mut(*s as usize) {
                *r = 1;
            }
        });
        let mut m = 0u32;
        for r in rank.iter_mut() {
            m += *r;
            *r = m;
        }
        let live = m as usize;
        // Four times the live slots: a compaction costs O(cap), and leaves room
        // for 3·M pushes before the next one. At least the dense key range, so
        // compaction stays amortized O(1) when most keys are dead (bytedmd_v2).
        let want = (4 * (live as u64 + extra)).max(self.slot.dense_len() as u64).max(1024);
        let cap = usize::try_from(want.min(u64::from(u32::MAX) - 2)).unwrap_or(u32::MAX as usize - 2);
        let weight = &self.weight;
        let uniform = self.uniform;
        let slot = &mut self.slot;
        self.bit.rebuild(cap, live, |points| {
            slot.for_each_mut(|k, s| {
                let ns = rank.get(*s as usize).copied().unwrap_or(0);
                *s = ns;
                if let Some(p) = points.get_mut(ns as usize) {
                    *p = weight.as_ref().map_or(uniform, |w| w.get(k));
                }
            });
        });
        self.rank = rank;
        self.cap = cap;
        self.next = live + 1;
    }

    /// Pushes keys `k0 .. k0 + n` (absent) on top, ascending (last on top), each of weight `w`.
    pub(crate) fn push_block(&mut self, k0: u64, n: u64, w: u64) {
        if n == 0 {
            return;
        }
        self.ensure_room(n);
        let s = self.next;
        let Ok(nu) = usize::try_from(n) else { return };
        if s + nu > self.cap + 1 {
            // Only reachable past u32 slots: refuse rather than corrupt.
            return;
        }
        self.bit.range_add(s, s + nu - 1, w);
        self.total = self.total.wrapping_add(n.wrapping_mul(w));
        match self.slot.slice_mut(k0, n) {
            Some(sl) => {
                for (x, v) in sl.iter_mut().zip(s as u32..) {
                    *x = v;
                }
            }
            None => {
                for i in 0..n {
                    self.slot.set(k0 + i, (s as u64 + i) as u32);
                }
            }
        }
        if let Some(wm) = self.weight.as_mut() {
            for i in 0..n {
                wm.set(k0 + i, w);
            }
        }
        self.next += nu;
    }

    /// Removes the intact block of keys `k0 .. k0 + n` starting at slot `s0`.
    pub(crate) fn remove_block(&mut self, s0: usize, k0: u64, n: u64) {
        let w = if n == 1 { self.weight_of(k0) } else { self.uniform };
        let Ok(nu) = usize::try_from(n) else { return };
        self.bit.range_add(s0, s0 + nu - 1, w.wrapping_neg());
        self.total = self.total.wrapping_sub(n.wrapping_mul(w));
        match self.slot.slice_mut(k0, n) {
            Some(sl) => sl.fill(0),
            None => {
                for i in 0..n {
                    self.slot.set(k0 + i, 0);
                }
            }
        }
        if let Some(wm) = self.weight.as_mut() {
            for i in 0..n {
                wm.set(k0 + i, 0);
            }
        }
    }

    /// Removes one key if present.
    pub(crate) fn remove(&mut self, k: u64) {
        let s = self.slot_of(k);
        if s != 0 {
            self.remove_block(s, k, 1);
        }
    }

    /// Moves (or pushes) one key to the top with weight `w`.
    pub(crate) fn touch(&mut self, k: u64, w: u64) {
        self.remove(k);
        self.push_block(k, 1, w);
    }

    /// Moves keys `k0 .. k0 + n` to the top in ascending order, each weight `w`.
    pub(crate) fn touch_range(&mut self, k0: u64, n: u64, w: u64) {
        if n == 0 {
            return;
        }
        if let Some(s0) = self.block(k0, n) {
            self.remove_block(s0, k0, n);
            self.push_block(k0, n, w);
        } else if self.absent(k0, n) {
            self.push_block(k0, n, w);
        } else {
            for i in 0..n {
                self.touch(k0 + i, w);
            }
        }
    }

    /// The uniform weight (element keys).
    pub(crate) fn uniform(&self) -> u64 {
        self.uniform
    }

    /// Moves keys `k0 .. k0 + n` to the top, skipping those already moved in this
    /// phase (slot at or above `mark`, the first slot of the phase). The caller
    /// reserved room with `ensure_room`, so no compaction renumbers slots.
    pub(crate) fn bump_range(&mut self, k0: u64, n: u64, w: u64, mark: usize) {
        if n == 0 {
            return;
        }
        match self.block(k0, n) {
            Some(s0) if s0 >= mark => {}
            Some(s0) if s0 + (n as usize) <= mark => {
                self.remove_block(s0, k0, n);
                self.push_block(k0, n, w);
            }
            _ if self.absent(k0, n) => self.push_block(k0, n, w),
            _ => {
                for i in 0..n {
                    let s = self.slot_of(k0 + i);
                    if s == 0 || s < mark {
                        self.touch(k0 + i, w);
                    }
                }
            }
        }
    }

    /// Removes keys `k0 .. k0 + n` (those present).
    pub(crate) fn remove_range(&mut self, k0: u64, n: u64) {
        if n == 0 {
            return;
        }
        if let Some(s0) = self.block(k0, n) {
            self.remove_block(s0, k0, n);
        } else {
            for i in 0..n {
                self.remove(k0 + i);
            }
        }
    }
}
