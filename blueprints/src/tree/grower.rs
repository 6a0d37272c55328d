//! Leaf-wise (best-first) growth of one tree on binned data.
//!
//! Rows of each leaf are a contiguous, ascending range of one index array. With one feature
//! set for the whole tree (GBDT) every leaf keeps its histogram, and after a split only the
//! smaller child is histogrammed; the larger one is the parent minus the smaller. With a feature
//! sample per node (forests) each new leaf is histogrammed on its own sample and nothing is kept.

use std::cmp::Ordering;
use std::collections::BinaryHeap;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::binning::BinnedData;
use super::histogram::{
    FeatureSplit, HistLayout, LeafRows, SplitRules, best_feature_split, build_histogram,
    subtract_histogram,
};
use super::model::SplitNode;

/// Which features a split may use.
#[derive(Debug, Clone)]
pub(crate) enum FeatureChoice {
    /// The same features for every node (ascending).
    PerTree(Vec<usize>),
    /// A fresh sample of `k` of `pool` (ascending) at every node.
    PerNode { pool: Vec<usize>, k: usize },
}

/// How one tree grows.
#[derive(Debug, Clone)]
pub(crate) struct GrowParams {
    /// Split constraints and regularisation.
    pub rules: SplitRules,
    /// Most leaves.
    pub max_leaves: usize,
    /// Deepest leaf (root = depth 0); `None` = unlimited.
    pub max_depth: Option<usize>,
    /// A split needs a gain above this.
    pub min_split_gain: f64,
    /// One random threshold per feature and node (extremely randomized trees).
    pub extra_trees: bool,
    /// Feature sampling.
    pub features: FeatureChoice,
    /// Seed of the per-node random choices.
    pub seed: u64,
    /// Build histograms with rayon (off when trees are already grown in parallel).
    pub parallel: bool,
}

/// A grown tree: its nodes and each leaf's totals (`k` gradient sums, hessian, count).
#[derive(Debug, Clone)]
pub(crate) struct GrownTree {
    /// Internal nodes in the encoding of [`super::model::Tree`].
    pub nodes: Vec<SplitNode>,
    /// Totals of every leaf.
    pub leaf_totals: Vec<Vec<f64>>,
}

struct Leaf {
    start: usize,
    len: usize,
    depth: usize,
    totals: Vec<f64>,
    hist: Option<Vec<f64>>,
    best: Option<(usize, FeatureSplit)>,
    /// The node whose child this leaf is, and whether it is the left child.
    parent: Option<(usize, bool)>,
}

/// A candidate in the best-first queue: highest gain first, then the lowest leaf id.
struct Candidate {
    gain: f64,
    leaf: usize,
}

impl PartialEq for Candidate {
    fn eq(&self, o: &Self) -> bool {
        self.cmp(o) == Ordering::Equal
    }
}
impl Eq for Candidate {}
impl PartialOrd for Candidate {
    fn partial_cmp(&self, o: &Self) -> Option<Ordering> {
        Some(self.cmp(o))
    }
}
impl Ord for Candidate {
    fn cmp(&self, o: &Self) -> Ordering {
        self.gain
            .total_cmp(&o.gain)
            .then_with(|| o.leaf.cmp(&self.leaf))
    }
}

/// Grows one tree over `rows` (ascending, distinct) with per-row gradients `gh`
/// (`k` gradients then the hessian, `k + 1` values per row of `data`).
pub(crate) fn grow_tree(data: &BinnedData, gh: &[f64], rows: &[u32], p: &GrowParams) -> GrownTree {
    let k = p.rules.k;
    let stride = k + 2;
    let mut rng = ChaCha8Rng::seed_from_u64(p.seed);
    let mut indices = rows.to_vec();
    let mut row_leaf = vec![u32::MAX; data.n_rows];
    for &r in rows {
        row_leaf[r as usize] = 0;
    }
    let mut totals = vec![0.0; stride];
    for &r in rows {
        let r = r as usize;
        for c in 0..=k {
            totals[c] += gh[r * (k + 1) + c];
        }
        totals[k + 1] += 1.0;
    }
    let tree_layout = match &p.features {
        FeatureChoice::PerTree(f) => Some(HistLayout::new(data, f.clone(), k)),
        FeatureChoice::PerNode { .. } => None,
    };
    // Histogram buffers are reused across the trees grown on this thread (no page faults per tree).
    let mut pool: Vec<Vec<f64>> = HIST_POOL.with(|p| std::mem::take(&mut *p.borrow_mut()));
    let mut leaves = vec![Leaf {
        start: 0,
        len: rows.len(),
        depth: 0,
        totals,
        hist: None,
        best: None,
        parent: None,
    }];
    let mut nodes: Vec<SplitNode> = Vec::new();
    let mut queue = BinaryHeap::new();
    let mut part_buf: Vec<u32> = Vec::new();
    let mut bin_scratch = vec![0u8; data.n_rows];

    // Histogram (when splittable) and best split of a new leaf.
    let evaluate = |id: usize,
                    leaves: &mut Vec<Leaf>,
                    indices: &[u32],
                    row_leaf: &[u32],
                    pool: &mut Vec<Vec<f64>>,
                    rng: &mut ChaCha8Rng,
                    sibling_hist: Option<Vec<f64>>,
                    retain: bool| {
        let leaf = &leaves[id];
        let splittable = leaf.len >= 2 * p.rules.min_child_samples.max(1)
            && p.max_depth.is_none_or(|d| leaf.depth < d)
            && leaf.totals[k] >= 2.0 * p.rules.min_child_weight;
        let rows_of = &indices[leaf.start..leaf.start + leaf.len];
        let leaf_rows = LeafRows {
            rows: rows_of,
            row_leaf,
            leaf: id as u32,
            totals: &leaf.totals,
        };
        let (layout_owned, layout): (Option<HistLayout>, &HistLayout);
        match (&tree_layout, &p.features) {
            (Some(l), _) => {
                layout_owned = None;
                layout = l;
            }
            (None, FeatureChoice::PerNode { pool: feats, k: nk }) => {
                let mut chosen: Vec<usize> = if *nk >= feats.len() {
                    feats.clone()
                } else {
                    rand::seq::index::sample(rng, feats.len(), *nk)
                        .into_iter()
                        .map(|i| feats[i])
                        .collect()
                };
                chosen.sort_unstable();
                layout_owned = Some(HistLayout::new(data, chosen, k));
                layout = layout_owned.as_ref().expect("just set");
            }
            (None, FeatureChoice::PerTree(_)) => {
                unreachable!("per-tree layouts are built up front")
            }
        }
        let draws: Vec<f64> = if p.extra_trees {
            (0..layout.features.len())
                .map(|_| rng.random::<f64>())
                .collect()
        } else {
            Vec::new()
        };
        let keep_hist = tree_layout.is_some();
        let hist = match sibling_hist {
            Some(h) => h,
            None if splittable || keep_hist => {
                let mut h = pool.pop().unwrap_or_default();
                h.resize(layout.len(), 0.0);
                build_histogram(data, layout, gh, &leaf_rows, &mut h, p.parallel);
                h
            }
            None => Vec::new(),
        };
        let mut best: Option<(usize, FeatureSplit)> = None;
        if splittable {
            let parts = layout.split(&hist);
            let found: Vec<Option<FeatureSplit>> = parts
                .iter()
                .enumerate()
                .map(|(i, h)| {
                    let draw = if p.extra_trees { Some(draws[i]) } else { None };
                    best_feature_split(h, &leaves[id].totals, &p.rules, draw)
                })
                .collect();
            let tol = p.rules.tie_tolerance(&leaves[id].totals);
            for (i, s) in found.into_iter().enumerate() {
                if let Some(s) = s
                    && s.gain > p.min_split_gain
                    && best.as_ref().is_none_or(|(_, b)| s.gain > b.gain + tol)
                {
                    best = Some((layout.features[i], s));
                }
            }
        }
        drop(layout_owned);
        let leaf = &mut leaves[id];
        leaf.best = best;
        if keep_hist && (retain || leaf.best.is_some()) {
            leaf.hist = Some(hist);
        } else if !hist.is_empty() {
            pool.push(hist);
        }
        leaf.best.as_ref().map(|(_, s)| Candidate {
            gain: s.gain,
            leaf: id,
        })
    };

    if let Some(c) = evaluate(
        0,
        &mut leaves,
        &indices,
        &row_leaf,
        &mut pool,
        &mut rng,
        None,
        false,
    ) {
        queue.push(c);
    }
    while leaves.len() < p.max_leaves {
        let Some(Candidate { leaf: id, .. }) = queue.pop() else {
            break;
        };
        let (feature, split) = leaves[id].best.take().expect("queued leaves have a split");
        let (start, len, depth) = (leaves[id].start, leaves[id].len, leaves[id].depth);
        let n_left = partition(
            data,
            feature,
            split.bin,
            &mut indices[start..start + len],
            &mut part_buf,
            &mut bin_scratch,
        );
        let right_id = leaves.len();
        for &r in &indices[start + n_left..start + len] {
            row_leaf[r as usize] = right_id as u32;
        }
        let node_id = nodes.len();
        nodes.push(SplitNode {
            feature: feature as u32,
            threshold: data.mappers[feature].threshold(split.bin),
            bin: split.bin,
            left: !(id as i32),
            right: !(right_id as i32),
        });
        if let Some((parent, is_left)) = leaves[id].parent {
            if is_left {
                nodes[parent].left = node_id as i32;
            } else {
                nodes[parent].right = node_id as i32;
            }
        }
        let right_totals: Vec<f64> = leaves[id]
            .totals
            .iter()
            .zip(&split.left)
            .map(|(t, l)| t - l)
            .collect();
        let parent_hist = leaves[id].hist.take();
        leaves[id] = Leaf {
            start,
            len: n_left,
            depth: depth + 1,
            totals: split.left,
            hist: None,
            best: None,
            parent: Some((node_id, true)),
        };
        leaves.push(Leaf {
            start: start + n_left,
            len: len - n_left,
            depth: depth + 1,
            totals: right_totals,
            hist: None,
            best: None,
            parent: Some((node_id, false)),
        });
        let (small, large) = if n_left <= len - n_left {
            (id, right_id)
        } else {
            (right_id, id)
        };
        if let Some(c) = evaluate(
            small,
            &mut leaves,
            &indices,
            &row_leaf,
            &mut pool,
            &mut rng,
            None,
            true,
        ) {
            queue.push(c);
        }
        let sibling = match (parent_hist, tree_layout.is_some()) {
            (Some(mut ph), true) => match &leaves[small].hist {
                Some(sh) => {
                    subtract_histogram(&mut ph, sh, p.parallel);
                    Some(ph)
                }
                None => {
                    pool.push(ph);
                    None
                }
            },
            (Some(ph), false) => {
                pool.push(ph);
                None
            }
            (None, _) => None,
        };
        if let Some(c) = evaluate(
            large,
            &mut leaves,
            &indices,
            &row_leaf,
            &mut pool,
            &mut rng,
            sibling,
            false,
        ) {
            queue.push(c);
        }
        if leaves[small].best.is_none()
            && let Some(h) = leaves[small].hist.take()
        {
            pool.push(h);
        }
    }
    let leaf_totals = leaves
        .into_iter()
        .map(|l| {
            if let Some(h) = l.hist {
                pool.push(h);
            }
            l.totals
        })
        .collect();
    pool.truncate(MAX_POOLED);
    HIST_POOL.with(|p| *p.borrow_mut() = pool);
    GrownTree { nodes, leaf_totals }
}

/// Most histogram buffers kept per thread between trees.
const MAX_POOLED: usize = 64;

thread_local! {
    static HIST_POOL: std::cell::RefCell<Vec<Vec<f64>>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// Stable partition of `rows` into (bin ≤ `bin`, bin > `bin`) on `feature`; returns the left count.
fn partition(
    data: &BinnedData,
    feature: usize,
    bin: u8,
    rows: &mut [u32],
    buf: &mut Vec<u32>,
    scratch: &mut [u8],
) -> usize {
    buf.clear();
    let mut n_left = 0;
    let mut place = |rows: &mut [u32], go_left: &dyn Fn(usize) -> bool| {
        for i in 0..rows.len() {
            let r = rows[i];
            if go_left(r as usize) {
                rows[n_left] = r;
                n_left += 1;
            } else {
                buf.push(r);
            }
        }
    };
    if feature < data.n_dense {
        let col = &data.dense[feature * data.n_rows..(feature + 1) * data.n_rows];
        place(rows, &|r| col[r] <= bin);
    } else {
        let col = &data.sparse[feature - data.n_dense];
        for &r in rows.iter() {
            scratch[r as usize] = col.zero_bin;
        }
        for (&r, &b) in col.rows.iter().zip(&col.bins) {
            scratch[r as usize] = b;
        }
        let scratch = &*scratch;
        place(rows, &|r| scratch[r] <= bin);
    }
    rows[n_left..].copy_from_slice(buf);
    n_left
}
