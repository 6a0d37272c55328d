//! The feature pipeline: fitted blocks assembled into one [`Features`] matrix
//! (numbers, dates and image vectors dense; one-hot and TF-IDF sparse).

use anyhow::Context;
use ndarray::Array2;
use serde::{Deserialize, Serialize};
use sprs::{CsMat, TriMat};

use blueprints::Features;
use blueprints::text::{TfidfVectorizer, fit_nonempty};

use super::blocks::{BlockSpec, FittedBlock};
use crate::encode::{CategoricalEncoder, DateEncoder, NumericEncoder};
use crate::features::FeatureInputs;

/// Fitted blocks in order.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Pipeline {
    /// One fitted block per input column.
    pub blocks: Vec<FittedBlock>,
}

fn column_values<'d>(
    inputs: &'d FeatureInputs,
    name: &str,
) -> anyhow::Result<&'d crate::dataset::Column> {
    inputs.dataset.column(name).with_context(|| {
        format!(
            "column '{name}' is missing from {}",
            inputs.dataset.source.display()
        )
    })
}

fn text_of<'d>(
    inputs: &'d FeatureInputs,
    column: &str,
    rows: &[usize],
) -> anyhow::Result<Vec<Option<&'d str>>> {
    let col = column_values(inputs, column)?;
    Ok(rows.iter().map(|&r| col.values[r].as_deref()).collect())
}

impl Pipeline {
    /// Fits every block on `rows` and returns the pipeline with the training features.
    pub fn fit(
        specs: &[BlockSpec],
        inputs: &FeatureInputs,
        rows: &[usize],
    ) -> anyhow::Result<(Pipeline, Features)> {
        let mut blocks = Vec::with_capacity(specs.len());
        for spec in specs {
            let col = column_values(inputs, spec.column())?;
            let pick = |r: &usize| col.values[*r].as_deref();
            let block = match spec {
                BlockSpec::Numeric { column } => {
                    let mark = inputs.mark_evidence(col).mark();
                    let train = col.rows_as_f64_in(rows, mark);
                    FittedBlock::Numeric(NumericEncoder::fit(column, mark, &train))
                }
                BlockSpec::Categorical {
                    column,
                    min_count,
                    max_levels,
                } => {
                    let train: Vec<Option<&str>> = rows.iter().map(pick).collect();
                    FittedBlock::Categorical(CategoricalEncoder::fit(
                        column,
                        &train,
                        *min_count,
                        *max_levels,
                    ))
                }
                BlockSpec::Date { column } => {
                    let order = inputs.order_evidence(col).order();
                    let train = col.rows_as_dates_in(rows, order);
                    FittedBlock::Date(DateEncoder::fit(column, order, &train))
                }
                BlockSpec::Text { column, analyzers } => {
                    let docs = text_of(inputs, column, rows)?;
                    let unfitted = analyzers
                        .iter()
                        .map(|cfg| TfidfVectorizer::new(cfg.clone()))
                        .collect::<Result<Vec<_>, _>>()?;
                    let vectorizers = fit_nonempty(unfitted, &docs)
                        .with_context(|| format!("fitting TF-IDF on column '{column}'"))?;
                    FittedBlock::Text {
                        column: column.clone(),
                        vectorizers,
                    }
                }
                BlockSpec::Image(key) => {
                    inputs.get(&key.clone().into())?;
                    FittedBlock::Image(key.clone())
                }
                BlockSpec::TextEmbedding(key) => {
                    inputs.get(&key.clone().into())?;
                    FittedBlock::TextEmbedding(key.clone())
                }
            };
            blocks.push(block);
        }
        let pipeline = Pipeline { blocks };
        let x = pipeline.transform(inputs, rows)?;
        Ok((pipeline, x))
    }

    /// Names of all output columns: dense columns first, then sparse ones.
    pub fn feature_names(&self, inputs: &FeatureInputs) -> Vec<String> {
        let mut dense = Vec::new();
        let mut sparse = Vec::new();
        for b in &self.blocks {
            match b {
                FittedBlock::Numeric(e) => dense.extend(e.names()),
                FittedBlock::Date(e) => dense.extend(e.names()),
                FittedBlock::Image(_) | FittedBlock::TextEmbedding(_) => {
                    let key = b.learned_key().expect("a learned block has a key");
                    let dim = inputs.get(&key).map_or(0, |m| m.features.ncols());
                    dense
                        .extend((0..dim).map(|i| format!("{}[{}:{i}]", key.column(), key.model())));
                }
                FittedBlock::Categorical(e) => sparse.extend(e.names()),
                FittedBlock::Text {
                    column,
                    vectorizers,
                } => {
                    for v in vectorizers {
                        sparse.extend(v.feature_names().iter().map(|n| format!("{column}:{n}")));
                    }
                }
            }
        }
        dense.extend(sparse);
        dense
    }

    /// For each output column, the index of the block (input column) that produced it, in the
    /// same order as [`feature_names`](Self::feature_names).
    pub fn input_columns(&self) -> Vec<String> {
        self.blocks
            .iter()
            .map(|b| match b {
                FittedBlock::Numeric(e) => e.column.clone(),
                FittedBlock::Date(e) => e.column.clone(),
                FittedBlock::Categorical(e) => e.column.clone(),
                FittedBlock::Text { column, .. } => column.clone(),
                FittedBlock::Image(k) => k.column.clone(),
                FittedBlock::TextEmbedding(k) => k.column.clone(),
            })
            .collect()
    }

    /// Features of `rows` with the fitted blocks, their columns named by
    /// [`feature_names`](Self::feature_names) (what an error about a column cites).
    pub fn transform(&self, inputs: &FeatureInputs, rows: &[usize]) -> anyhow::Result<Features> {
        let n = rows.len();
        let mut dense_parts: Vec<Array2<f32>> = Vec::new();
        let mut sparse_parts: Vec<CsMat<f32>> = Vec::new();
        for block in &self.blocks {
            match block {
                FittedBlock::Numeric(e) => {
                    let col = column_values(inputs, &e.column)?;
                    // A table's own mark when its cells show one (see `Column::decimal_mark_or`).
                    let mark = inputs.mark_evidence(col).decided().unwrap_or(e.mark);
                    let mut buf = Vec::with_capacity(n * 2);
                    for x in col.rows_as_f64_in(rows, mark) {
                        e.encode_into(x, &mut buf);
                    }
                    dense_parts.push(Array2::from_shape_vec((n, e.names().len()), buf)?);
                }
                FittedBlock::Date(e) => {
                    let col = column_values(inputs, &e.column)?;
                    // A table's own order when its cells show one (see `Column::date_order_or`).
                    let order = inputs.order_evidence(col).decided().unwrap_or(e.order);
                    let mut buf = Vec::with_capacity(n * 4);
                    for d in col.rows_as_dates_in(rows, order) {
                        e.encode_into(d.as_ref(), &mut buf);
                    }
                    dense_parts.push(Array2::from_shape_vec((n, e.names().len()), buf)?);
                }
                FittedBlock::Image(_) | FittedBlock::TextEmbedding(_) => {
                    let key = block.learned_key().expect("a learned block has a key");
                    let m = inputs.get(&key)?;
                    dense_parts.push(m.features.select(ndarray::Axis(0), rows));
                }
                FittedBlock::Categorical(e) => {
                    let col = column_values(inputs, &e.column)?;
                    let mut t = TriMat::new((n, e.width()));
                    for (i, &r) in rows.iter().enumerate() {
                        if let Some(c) = e.lookup(col.values[r].as_deref()) {
                            t.add_triplet(i, c, 1.0f32);
                        }
                    }
                    sparse_parts.push(t.to_csr());
                }
                FittedBlock::Text {
                    column,
                    vectorizers,
                } => {
                    let docs = text_of(inputs, column, rows)?;
                    for v in vectorizers {
                        sparse_parts.push(v.transform(&docs)?);
                    }
                }
            }
        }
        // One part is the matrix itself: no copy (a fine-tuned CNN's trunk maps are 0.1–1.6 MB
        // a row).
        let dense = match dense_parts.len() {
            0 => None,
            1 => dense_parts.pop(),
            _ => {
                let views: Vec<_> = dense_parts.iter().map(|a| a.view()).collect();
                Some(ndarray::concatenate(ndarray::Axis(1), &views)?)
            }
        };
        let sparse = if sparse_parts.is_empty() {
            None
        } else {
            Some(blueprints::text::hstack_csr(&sparse_parts)?)
        };
        Ok(Features {
            dense,
            sparse,
            names: self.feature_names(inputs),
        })
    }
}
