//! Gradient histograms over bins and the best split they allow.
//!
//! A histogram entry holds `k` gradient channels, the hessian (or weight) and the row count
//! (`stride = k + 2` f64 values). GBDT trees use one channel; forests use one channel per class
//! (gradient = weighted one-hot target, hessian = weight), where the same gain is the Gini decrease.

use rayon::prelude::*;

use super::binning::BinnedData;

/// Below this many (row × feature) updates a histogram is built on one thread.
const PARALLEL_WORK: usize = 1 << 15;

/// Which features a histogram covers and where each one starts.
#[derive(Debug, Clone)]
pub(crate) struct HistLayout {
    /// Feature indices, ascending.
    pub features: Vec<usize>,
    /// Start of each feature's bins (in entries); `offsets[i + 1] - offsets[i]` = its bin count.
    pub offsets: Vec<usize>,
    /// f64 values per entry (`k + 2`).
    pub stride: usize,
}

impl HistLayout {
    /// The layout for `features` of `data` with `k` gradient channels.
    pub fn new(data: &BinnedData, features: Vec<usize>, k: usize) -> Self {
        let mut offsets = Vec::with_capacity(features.len() + 1);
        let mut total = 0;
        offsets.push(0);
        for &f in &features {
            total += data.mappers[f].n_bins();
            offsets.push(total);
        }
        Self {
            features,
            offsets,
            stride: k + 2,
        }
    }

    /// Length in f64 of a full histogram.
    pub fn len(&self) -> usize {
        self.offsets.last().copied().unwrap_or(0) * self.stride
    }

    /// The histogram split into one mutable slice per feature.
    fn split_mut<'h>(&self, hist: &'h mut [f64]) -> Vec<&'h mut [f64]> {
        let mut out = Vec::with_capacity(self.features.len());
        let mut rest = hist;
        for w in self.offsets.windows(2) {
            let (head, tail) = rest.split_at_mut((w[1] - w[0]) * self.stride);
            out.push(head);
            rest = tail;
        }
        out
    }

    /// The histogram split into one slice per feature.
    pub fn split<'h>(&self, hist: &'h [f64]) -> Vec<&'h [f64]> {
        self.offsets
            .windows(2)
            .map(|w| &hist[w[0] * self.stride..w[1] * self.stride])
            .collect()
    }
}

/// Rows of one leaf and what is needed to histogram them.
pub(crate) struct LeafRows<'a> {
    /// The leaf's rows, ascending.
    pub rows: &'a [u32],
    /// Leaf id of every row of the data (`u32::MAX` when not in the tree's sample).
    pub row_leaf: &'a [u32],
    /// This leaf's id.
    pub leaf: u32,
    /// The leaf's totals (`stride` values).
    pub totals: &'a [f64],
}

/// Fills `hist` (zeroed here) for `leaf` over `layout`'s features.
/// `gh` holds `k` gradients then the hessian for every row (`k + 1` per row).
pub(crate) fn build_histogram(
    data: &BinnedData,
    layout: &HistLayout,
    gh: &[f64],
    leaf: &LeafRows,
    hist: &mut [f64],
    parallel: bool,
) {
    let parts = layout.split_mut(hist);
    let work = leaf.rows.len().max(64) * layout.features.len();
    let job = |(slot, &f): (&mut &mut [f64], &usize)| {
        feature_histogram(data, f, layout.stride, gh, leaf, slot)
    };
    if parallel && work >= PARALLEL_WORK {
        let mut parts = parts;
        parts
            .par_iter_mut()
            .zip(layout.features.par_iter())
            .with_min_len(8)
            .for_each(job);
    } else {
        let mut parts = parts;
        parts.iter_mut().zip(layout.features.iter()).for_each(job);
    }
}

fn feature_histogram(
    data: &BinnedData,
    f: usize,
    stride: usize,
    gh: &[f64],
    leaf: &LeafRows,
    out: &mut [f64],
) {
    out.fill(0.0);
    let k1 = stride - 1;
    if f < data.n_dense {
        let col = &data.dense[f * data.n_rows..(f + 1) * data.n_rows];
        if stride == 3 {
            for &r in leaf.rows {
                let r = r as usize;
                let b = col[r] as usize * 3;
                out[b] += gh[2 * r];
                out[b + 1] += gh[2 * r + 1];
                out[b + 2] += 1.0;
            }
        } else {
            for &r in leaf.rows {
                let r = r as usize;
                let b = col[r] as usize * stride;
                let e = &mut out[b..b + stride];
                for (acc, g) in e.iter_mut().zip(&gh[r * k1..(r + 1) * k1]) {
                    *acc += g;
                }
                e[k1] += 1.0;
            }
        }
        return;
    }
    let col = &data.sparse[f - data.n_dense];
    for (&r, &b) in col.rows.iter().zip(&col.bins) {
        let r = r as usize;
        if leaf.row_leaf[r] != leaf.leaf {
            continue;
        }
        let e = &mut out[b as usize * stride..(b as usize + 1) * stride];
        for (acc, g) in e.iter_mut().zip(&gh[r * k1..(r + 1) * k1]) {
            *acc += g;
        }
        e[k1] += 1.0;
    }
    // The zero bin holds everything else in the leaf.
    let z = col.zero_bin as usize;
    let mut zero = leaf.totals.to_vec();
    for (b, e) in out.chunks_exact(stride).enumerate() {
        if b != z {
            for (acc, v) in zero.iter_mut().zip(e) {
                *acc -= v;
            }
        }
    }
    out[z * stride..(z + 1) * stride].copy_from_slice(&zero);
}

/// `parent -= child`, turning the parent's histogram into the sibling's.
pub(crate) fn subtract_histogram(parent: &mut [f64], child: &[f64], parallel: bool) {
    if parallel && parent.len() >= PARALLEL_WORK * 4 {
        parent
            .par_chunks_mut(4096)
            .zip(child.par_chunks(4096))
            .for_each(|(p, c)| {
                p.iter_mut().zip(c).for_each(|(p, c)| *p -= c);
            });
    } else {
        parent.iter_mut().zip(child).for_each(|(p, c)| *p -= c);
    }
}

/// Constraints and regularisation of a split.
#[derive(Debug, Clone)]
pub(crate) struct SplitRules {
    /// Gradient channels.
    pub k: usize,
    /// Fewest rows in a child.
    pub min_child_samples: usize,
    /// Least hessian (weight) in a child.
    pub min_child_weight: f64,
    /// L2 penalty on leaf values.
    pub lambda: f64,
}

impl SplitRules {
    /// Σ_c G_c² / (H + λ): the score of a leaf (higher is better).
    pub fn leaf_score(&self, sums: &[f64]) -> f64 {
        let h = sums[self.k] + self.lambda;
        if h <= 0.0 {
            return 0.0;
        }
        sums[..self.k].iter().map(|g| g * g).sum::<f64>() / h
    }

    /// Gains closer than this count as ties (the first candidate wins), so that round-off,
    /// e.g. from sparse zero bins, does not decide between equally good splits.
    pub fn tie_tolerance(&self, totals: &[f64]) -> f64 {
        1e-10 * totals[self.k].abs().max(1e-12)
    }

    fn admissible(&self, sums: &[f64]) -> bool {
        sums[self.k + 1] >= self.min_child_samples as f64 - 0.5
            && sums[self.k] >= self.min_child_weight
    }
}

/// The best split of one feature.
#[derive(Debug, Clone)]
pub(crate) struct FeatureSplit {
    /// Score gain over not splitting.
    pub gain: f64,
    /// Rows with bin ≤ `bin` go left.
    pub bin: u8,
    /// Left child totals (`stride` values).
    pub left: Vec<f64>,
}

/// Best split of one feature's histogram; with `random_pick = Some(u)` (u uniform in [0, 1))
/// only one threshold drawn between the lowest and highest occupied bins is tried (extra trees).
pub(crate) fn best_feature_split(
    hist: &[f64],
    totals: &[f64],
    rules: &SplitRules,
    random_pick: Option<f64>,
) -> Option<FeatureSplit> {
    let stride = rules.k + 2;
    let n_bins = hist.len() / stride;
    if n_bins < 2 {
        return None;
    }
    let parent = rules.leaf_score(totals);
    let tol = rules.tie_tolerance(totals);
    if rules.k == 1 && random_pick.is_none() {
        return best_scalar_split(hist, totals, rules, parent, tol);
    }
    let mut left = vec![0.0; stride];
    let mut right = vec![0.0; stride];
    let mut best: Option<FeatureSplit> = None;
    let (first, last) = match random_pick {
        Some(u) => {
            let occupied = |b: &usize| hist[b * stride + stride - 1] > 0.0;
            let lo = (0..n_bins).find(occupied)?;
            let hi = (0..n_bins).rev().find(occupied)?;
            if lo >= hi {
                return None;
            }
            let t = lo + ((u * (hi - lo) as f64) as usize).min(hi - lo - 1);
            for b in 0..t {
                add(&mut left, &hist[b * stride..(b + 1) * stride]);
            }
            (t, t)
        }
        None => (0, n_bins - 2),
    };
    for b in first..=last {
        add(&mut left, &hist[b * stride..(b + 1) * stride]);
        if hist[b * stride + stride - 1] == 0.0 && random_pick.is_none() {
            continue; // same split as the previous bin
        }
        if !rules.admissible(&left) {
            continue;
        }
        for ((r, t), l) in right.iter_mut().zip(totals).zip(&left) {
            *r = t - l;
        }
        if !rules.admissible(&right) {
            if right[stride - 1] < rules.min_child_samples as f64 - 0.5 {
                break; // only shrinks from here
            }
            continue;
        }
        let gain = rules.leaf_score(&left) + rules.leaf_score(&right) - parent;
        if best.as_ref().is_none_or(|s| gain > s.gain + tol) {
            best = Some(FeatureSplit {
                gain,
                bin: b as u8,
                left: left.clone(),
            });
        }
    }
    best
}

/// [`best_feature_split`] for one gradient channel without allocations (the GBDT hot loop);
/// same candidates, same order, same tie rule.
fn best_scalar_split(
    hist: &[f64],
    totals: &[f64],
    rules: &SplitRules,
    parent: f64,
    tol: f64,
) -> Option<FeatureSplit> {
    let (gt, ht, nt) = (totals[0], totals[1], totals[2]);
    let min_n = rules.min_child_samples as f64 - 0.5;
    let (lambda, min_h) = (rules.lambda, rules.min_child_weight);
    let score = |g: f64, h: f64| {
        if h + lambda > 0.0 {
            g * g / (h + lambda)
        } else {
            0.0
        }
    };
    let (mut gl, mut hl, mut nl) = (0.0, 0.0, 0.0);
    let mut best: Option<(f64, usize, f64, f64, f64)> = None;
    let n_bins = hist.len() / 3;
    for b in 0..n_bins - 1 {
        let e = &hist[b * 3..b * 3 + 3];
        gl += e[0];
        hl += e[1];
        nl += e[2];
        if e[2] == 0.0 || nl < min_n || hl < min_h {
            continue;
        }
        let (gr, hr, nr) = (gt - gl, ht - hl, nt - nl);
        if nr < min_n {
            break;
        }
        if hr < min_h {
            continue;
        }
        let gain = score(gl, hl) + score(gr, hr) - parent;
        if best.is_none_or(|s| gain > s.0 + tol) {
            best = Some((gain, b, gl, hl, nl));
        }
    }
    best.map(|(gain, b, g, h, n)| FeatureSplit {
        gain,
        bin: b as u8,
        left: vec![g, h, n],
    })
}

fn add(acc: &mut [f64], v: &[f64]) {
    acc.iter_mut().zip(v).for_each(|(a, v)| *a += v);
}
