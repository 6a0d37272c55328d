//! Quantile binning of features into at most 256 `u8` bins (LightGBM-style).
//!
//! Each feature gets sorted upper bounds; a value `x` falls in bin `#{bounds < x}`, so
//! "bin ≤ b" is exactly "x ≤ bounds[b]" and a split found on bins turns into a raw threshold.
//! Sparse columns bin only their non-zeros; zero always gets a bin of its own and rows
//! holding zero are never stored, so a mostly-empty TF-IDF column costs memory in proportion
//! to its non-zeros. (A "missing" bin could be added after the last bin; inputs are finite today.)

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;

use crate::features::Features;

/// Most rows used to compute the bin bounds; larger training sets are subsampled (seeded).
const MAX_BINNING_ROWS: usize = 100_000;

/// Bin bounds of one feature.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct BinMapper {
    /// Increasing upper bounds; bin count = `bounds.len() + 1`.
    pub bounds: Vec<f32>,
}

impl BinMapper {
    /// Number of bins.
    pub fn n_bins(&self) -> usize {
        self.bounds.len() + 1
    }

    /// The bin of a value.
    pub fn bin(&self, x: f32) -> u8 {
        self.bounds.partition_point(|&b| b < x) as u8
    }

    /// Raw threshold of the split "bin ≤ `bin`": go left when `x ≤ threshold`.
    pub fn threshold(&self, bin: u8) -> f32 {
        self.bounds
            .get(bin as usize)
            .copied()
            .unwrap_or(f32::INFINITY)
    }

    /// Bounds for a dense column from its (unsorted) training values.
    pub fn from_dense(mut values: Vec<f32>, max_bins: usize) -> Self {
        values.sort_by(f32::total_cmp);
        Self {
            bounds: quantile_bounds(&values, max_bins),
        }
    }

    /// Bounds for a sparse column from its non-zero training values; zero gets its own bin.
    pub fn from_sparse(mut nonzeros: Vec<f32>, max_bins: usize) -> Self {
        nonzeros.retain(|&v| v != 0.0);
        nonzeros.sort_by(f32::total_cmp);
        let split = nonzeros.partition_point(|&v| v < 0.0);
        let (neg, pos) = nonzeros.split_at(split);
        let budget = max_bins.saturating_sub(1).max(2);
        let neg_bins = if neg.is_empty() {
            0
        } else if pos.is_empty() {
            budget
        } else {
            ((budget * neg.len()) / nonzeros.len()).clamp(1, budget - 1)
        };
        let pos_bins = budget - neg_bins;
        let mut bounds = quantile_bounds(neg, neg_bins.max(1));
        if let Some(&last) = neg.last() {
            bounds.push(midpoint(last, 0.0));
        }
        if let Some(&first) = pos.first() {
            bounds.push(midpoint(0.0, first));
        }
        bounds.extend(quantile_bounds(pos, pos_bins.max(1)));
        Self { bounds }
    }
}

/// A value `m` with `a ≤ m < b` (the midpoint when representable), for `a < b`.
fn midpoint(a: f32, b: f32) -> f32 {
    let m = ((a as f64 + b as f64) / 2.0) as f32;
    if m >= a && m < b { m } else { a }
}

/// At most `max_bins - 1` increasing bounds splitting sorted `values` into bins of similar
/// counts; every distinct value is its own bin when there are few enough of them.
fn quantile_bounds(sorted: &[f32], max_bins: usize) -> Vec<f32> {
    let mut distinct: Vec<(f32, usize)> = Vec::new();
    for &v in sorted {
        match distinct.last_mut() {
            Some((last, count)) if *last == v => *count += 1,
            _ => distinct.push((v, 1)),
        }
    }
    if distinct.len() <= 1 || max_bins <= 1 {
        return Vec::new();
    }
    if distinct.len() <= max_bins {
        return distinct
            .windows(2)
            .map(|w| midpoint(w[0].0, w[1].0))
            .collect();
    }
    let mut bounds = Vec::with_capacity(max_bins - 1);
    let mut remaining = sorted.len();
    let mut bins_left = max_bins;
    let mut acc = 0usize;
    for i in 0..distinct.len() - 1 {
        acc += distinct[i].1;
        let target = remaining as f64 / bins_left as f64;
        // Cut when this bin is full, or when the next value alone fills a bin (keeps heavy values apart).
        if acc as f64 >= target || distinct[i + 1].1 as f64 >= target {
            bounds.push(midpoint(distinct[i].0, distinct[i + 1].0));
            remaining -= acc;
            acc = 0;
            bins_left -= 1;
            if bins_left == 1 {
                break;
            }
        }
    }
    bounds
}

/// The non-zeros of one binned sparse column, rows ascending.
#[derive(Debug, Clone, Default)]
pub(crate) struct SparseBinColumn {
    /// Rows holding a non-zero, ascending.
    pub rows: Vec<u32>,
    /// Bin of each of those rows.
    pub bins: Vec<u8>,
    /// Bin of the value zero (every row not in `rows`).
    pub zero_bin: u8,
}

/// Every row of a feature matrix mapped to bins: dense columns column-major, sparse columns sparse.
#[derive(Debug, Clone)]
pub(crate) struct BinnedData {
    /// Number of rows.
    pub n_rows: usize,
    /// Number of dense columns (feature indices below this are dense).
    pub n_dense: usize,
    /// One mapper per feature, dense then sparse.
    pub mappers: Vec<BinMapper>,
    /// Dense bins, column-major: feature `f`, row `r` at `f * n_rows + r`.
    pub dense: Vec<u8>,
    /// Sparse columns.
    pub sparse: Vec<SparseBinColumn>,
}

impl BinnedData {
    /// Bins every row of `x` with bounds computed from the rows in `fit_rows` (ascending).
    pub fn build(x: &Features, fit_rows: &[usize], max_bins: usize, seed: u64) -> Self {
        let n_rows = x.n_rows();
        let sample: Vec<usize> = if fit_rows.len() > MAX_BINNING_ROWS {
            let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0xB1_5EED);
            let mut s: Vec<usize> =
                rand::seq::index::sample(&mut rng, fit_rows.len(), MAX_BINNING_ROWS)
                    .into_iter()
                    .map(|i| fit_rows[i])
                    .collect();
            s.sort_unstable();
            s
        } else {
            fit_rows.to_vec()
        };
        let mut mappers = Vec::with_capacity(x.n_cols());
        let mut dense = Vec::new();
        if let Some(d) = &x.dense {
            let cols: Vec<(BinMapper, Vec<u8>)> = (0..d.ncols())
                .into_par_iter()
                .map(|j| {
                    let col = d.column(j);
                    let mapper =
                        BinMapper::from_dense(sample.iter().map(|&r| col[r]).collect(), max_bins);
                    let bins = col.iter().map(|&v| mapper.bin(v)).collect();
                    (mapper, bins)
                })
                .collect();
            dense.reserve(d.ncols() * n_rows);
            for (m, b) in cols {
                mappers.push(m);
                dense.extend_from_slice(&b);
            }
        }
        let mut sparse = Vec::new();
        if let Some(s) = &x.sparse {
            let mut in_sample = vec![false; n_rows];
            for &r in &sample {
                in_sample[r] = true;
            }
            let csc = s.to_csc();
            let cols: Vec<(BinMapper, SparseBinColumn)> = (0..csc.cols())
                .into_par_iter()
                .map(|j| {
                    let Some(col) = csc.outer_view(j) else {
                        return (BinMapper { bounds: Vec::new() }, SparseBinColumn::default());
                    };
                    let nz: Vec<f32> = col
                        .iter()
                        .filter(|&(r, &v)| in_sample[r] && v != 0.0)
                        .map(|(_, &v)| v)
                        .collect();
                    let mapper = BinMapper::from_sparse(nz, max_bins);
                    let mut column = SparseBinColumn {
                        zero_bin: mapper.bin(0.0),
                        ..Default::default()
                    };
                    for (r, &v) in col.iter() {
                        if v != 0.0 {
                            column.rows.push(r as u32);
                            column.bins.push(mapper.bin(v));
                        }
                    }
                    (mapper, column)
                })
                .collect();
            for (m, c) in cols {
                mappers.push(m);
                sparse.push(c);
            }
        }
        Self {
            n_rows,
            n_dense: x.n_dense(),
            mappers,
            dense,
            sparse,
        }
    }

    /// Number of features.
    pub fn n_features(&self) -> usize {
        self.mappers.len()
    }

    /// Bin of (row, feature) (a binary search for sparse features).
    pub fn bin_at(&self, row: usize, feature: usize) -> u8 {
        if feature < self.n_dense {
            self.dense[feature * self.n_rows + row]
        } else {
            let c = &self.sparse[feature - self.n_dense];
            match c.rows.binary_search(&(row as u32)) {
                Ok(i) => c.bins[i],
                Err(_) => c.zero_bin,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    #[test]
    fn few_distinct_values_get_midpoint_bounds() {
        let m = BinMapper::from_dense(vec![3.0, 1.0, 2.0, 1.0, 3.0], 255);
        assert_eq!(m.bounds, vec![1.5, 2.5]);
        assert_eq!(
            (
                m.bin(1.0),
                m.bin(2.0),
                m.bin(3.0),
                m.bin(100.0),
                m.bin(-5.0)
            ),
            (0, 1, 2, 2, 0)
        );
        assert_eq!(m.threshold(0), 1.5);
    }

    #[test]
    fn many_values_are_cut_into_equal_count_bins() {
        let m = BinMapper::from_dense((0..1000).map(|i| i as f32).collect(), 10);
        assert_eq!(m.n_bins(), 10);
        let mut counts = [0usize; 10];
        for i in 0..1000 {
            counts[m.bin(i as f32) as usize] += 1;
        }
        assert!(counts.iter().all(|&c| c == 100), "{counts:?}");
    }

    #[test]
    fn sparse_zero_has_its_own_bin_and_matches_dense_bounds() {
        let s = BinMapper::from_sparse(vec![0.5, -1.0, 2.0], 255);
        let d = BinMapper::from_dense(vec![0.5, -1.0, 2.0, 0.0, 0.0], 255);
        assert_eq!(s, d);
        assert_eq!(s.bin(0.0), 1);
        assert!(s.bin(-1.0) < s.bin(0.0) && s.bin(0.0) < s.bin(0.5));
    }

    #[test]
    fn binned_sparse_stores_only_nonzeros() {
        let mut t = sprs::TriMat::new((4, 2));
        t.add_triplet(1, 0, 5.0f32);
        t.add_triplet(3, 0, 7.0f32);
        t.add_triplet(2, 1, 0.0f32); // explicit zero: not stored
        let f = Features {
            dense: Some(array![[1.0f32], [2.0], [3.0], [4.0]]),
            sparse: Some(t.to_csr()),
            names: vec![],
        };
        let b = BinnedData::build(&f, &[0, 1, 2, 3], 255, 0);
        assert_eq!(b.n_features(), 3);
        assert_eq!(b.sparse[0].rows, vec![1, 3]);
        assert!(b.sparse[1].rows.is_empty());
        assert_eq!((b.bin_at(0, 1), b.bin_at(1, 1), b.bin_at(3, 1)), (0, 1, 2));
        assert_eq!(b.bin_at(2, 0), 2);
    }
}
