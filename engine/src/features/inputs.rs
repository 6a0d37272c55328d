//! What a feature pipeline reads: the table and the learned matrices computed for it.

use std::collections::BTreeMap;
use std::sync::Arc;

use ndarray::Array2;

use super::FeatureKey;
use crate::dataset::Dataset;

/// Learned features computed for every row of a dataset; `ok[r]` is false where the input
/// could not be featurized (an unreadable image: its row of features is then zeros).
#[derive(Debug, Clone)]
pub struct FeatureMatrix {
    /// `rows × dim` vectors.
    pub features: Array2<f32>,
    /// Per row: whether the input was featurized.
    pub ok: Vec<bool>,
}

/// Everything a pipeline reads: the dataset and its learned feature matrices by key.
#[derive(Debug, Clone)]
pub struct FeatureInputs<'a> {
    /// The table.
    pub dataset: &'a Dataset,
    /// Learned feature matrices (image backbones, sentence embeddings) by key.
    pub learned: BTreeMap<FeatureKey, Arc<FeatureMatrix>>,
}

impl<'a> FeatureInputs<'a> {
    /// Inputs without learned features (see [`super::materialize`] for those).
    pub fn new(dataset: &'a Dataset) -> Self {
        Self {
            dataset,
            learned: BTreeMap::new(),
        }
    }

    /// The same learned features over another table with the same rows (a shuffled copy).
    pub fn with_dataset<'b>(&self, dataset: &'b Dataset) -> FeatureInputs<'b> {
        FeatureInputs {
            dataset,
            learned: self.learned.clone(),
        }
    }

    /// The matrix of `key`, or an error saying it was not computed.
    pub fn get(&self, key: &FeatureKey) -> anyhow::Result<&Arc<FeatureMatrix>> {
        self.learned
            .get(key)
            .ok_or_else(|| anyhow::anyhow!("{} were not computed", key.describe()))
    }

    /// Whether the matrix of `key` is here.
    pub fn has(&self, key: &FeatureKey) -> bool {
        self.learned.contains_key(key)
    }

    /// Adds (or replaces) the matrix of `key`.
    pub fn insert(&mut self, key: FeatureKey, matrix: Arc<FeatureMatrix>) {
        self.learned.insert(key, matrix);
    }

    /// The rows whose input is there but could not be featurized (an image that broke), each
    /// once, in row order, with the column of the first matrix that failed it. A row with no
    /// input (an empty cell) is not one of them.
    pub fn unfeaturized_rows(&self) -> anyhow::Result<Vec<(usize, String)>> {
        let mut rows: BTreeMap<usize, String> = BTreeMap::new();
        for (key, m) in &self.learned {
            let col = self.dataset.require_column(key.column())?;
            for (r, ok) in m.ok.iter().enumerate() {
                if !ok && col.values[r].is_some() {
                    rows.entry(r).or_insert_with(|| key.column().to_string());
                }
            }
        }
        Ok(rows.into_iter().collect())
    }
}
