//! What a feature pipeline reads: the table and the learned matrices computed for it.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

use ndarray::Array2;

use super::FeatureKey;
use crate::dataset::{Column, Dataset, MarkEvidence, OrderEvidence};

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
    /// What each column's cells show about how to read them, read once per table.
    evidence: Arc<ColumnEvidence>,
}

/// The decimal-mark and day/month-order evidence of a table's columns by name: every cell is
/// read for it (several parses each), so once per table rather than in every fold's fit and
/// transform. Cells are not edited after loading, and a shuffled copy of a column shows the
/// same.
#[derive(Debug, Default)]
struct ColumnEvidence {
    marks: Mutex<HashMap<String, MarkEvidence>>,
    orders: Mutex<HashMap<String, OrderEvidence>>,
}

/// `map[name]`, computed by `of` the first time.
fn once<T: Copy>(map: &Mutex<HashMap<String, T>>, name: &str, of: impl FnOnce() -> T) -> T {
    let cached = map
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .get(name)
        .copied();
    cached.unwrap_or_else(|| {
        let value = of();
        map.lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(name.to_string(), value);
        value
    })
}

impl<'a> FeatureInputs<'a> {
    /// Inputs without learned features (see [`super::materialize`] for those).
    pub fn new(dataset: &'a Dataset) -> Self {
        Self {
            dataset,
            learned: BTreeMap::new(),
            evidence: Arc::default(),
        }
    }

    /// The same learned features over another table with the same rows (a shuffled copy).
    pub fn with_dataset<'b>(&self, dataset: &'b Dataset) -> FeatureInputs<'b> {
        FeatureInputs {
            dataset,
            learned: self.learned.clone(),
            evidence: self.evidence.clone(),
        }
    }

    /// What `col`'s cells show about its decimal mark ([`Column::mark_evidence`], cached).
    pub fn mark_evidence(&self, col: &Column) -> MarkEvidence {
        once(&self.evidence.marks, &col.name, || col.mark_evidence())
    }

    /// What `col`'s cells show about its day/month order ([`Column::order_evidence`], cached).
    pub fn order_evidence(&self, col: &Column) -> OrderEvidence {
        once(&self.evidence.orders, &col.name, || col.order_evidence())
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dataset::{ColumnType, DayMonthOrder, DecimalMark};

    /// Each column's evidence is read once per table, and equals reading its cells; a shuffled
    /// copy keeps it.
    #[test]
    fn column_evidence_is_read_once_and_matches_the_cells() {
        let column = |name: &str, kind, cells: &[&str]| Column {
            name: name.into(),
            kind,
            values: cells.iter().map(|c| Some(c.to_string())).collect(),
        };
        let ds = Dataset {
            source: "t.csv".into(),
            base_dir: ".".into(),
            columns: vec![
                column("price", ColumnType::Numeric, &["12,5", "3,25", "7"]),
                column(
                    "day",
                    ColumnType::Date,
                    &["13/08/2000", "02/08/2000", "01/01/2001"],
                ),
            ],
            skipped: vec![],
        };
        let inputs = FeatureInputs::new(&ds);
        let (price, day) = (&ds.columns[0], &ds.columns[1]);
        assert_eq!(inputs.mark_evidence(price), price.mark_evidence());
        assert_eq!(inputs.mark_evidence(price).mark(), DecimalMark::Comma);
        assert_eq!(inputs.order_evidence(day), day.order_evidence());
        assert_eq!(inputs.order_evidence(day).order(), DayMonthOrder::DayFirst);
        assert_eq!(inputs.evidence.marks.lock().unwrap().len(), 1);
        let mut shuffled = ds.clone();
        shuffled.columns[0].values.reverse();
        let copy = inputs.with_dataset(&shuffled);
        assert_eq!(
            copy.mark_evidence(&shuffled.columns[0]).mark(),
            DecimalMark::Comma
        );
        assert_eq!(
            price.rows_as_f64_in(&[2, 0], DecimalMark::Comma),
            [Some(7.0), Some(12.5)]
        );
    }
}
