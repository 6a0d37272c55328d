//! Numeric columns: median imputation plus a missing-value indicator.

use serde::{Deserialize, Serialize};

use super::median;
use crate::dataset::DecimalMark;

/// Encodes one numeric column as its value (missing → training median) and, when the training
/// rows had missing values, a 0/1 "was missing" column.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct NumericEncoder {
    /// Source column name.
    pub column: String,
    /// Training median used for missing values.
    pub fill: f64,
    /// Whether a missing indicator column is emitted.
    pub indicator: bool,
    /// The decimal mark of the training column (read with it when new data shows none).
    #[serde(default)]
    pub mark: DecimalMark,
}

impl NumericEncoder {
    /// Fits on the parsed values of the training rows, read with `mark`.
    pub fn fit(column: &str, mark: DecimalMark, train: &[Option<f64>]) -> Self {
        let mut present: Vec<f64> = train.iter().flatten().copied().collect();
        let indicator = present.len() < train.len();
        Self {
            column: column.to_string(),
            fill: median(&mut present),
            indicator,
            mark,
        }
    }

    /// Names of the emitted columns.
    pub fn names(&self) -> Vec<String> {
        let mut n = vec![self.column.clone()];
        if self.indicator {
            n.push(format!("{} (missing)", self.column));
        }
        n
    }

    /// Appends the encoded columns of one value to `out`.
    pub fn encode_into(&self, value: Option<f64>, out: &mut Vec<f32>) {
        out.push(value.unwrap_or(self.fill) as f32);
        if self.indicator {
            out.push(if value.is_none() { 1.0 } else { 0.0 });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fills_with_training_median_and_flags_missing() {
        let e = NumericEncoder::fit(
            "x",
            DecimalMark::Point,
            &[Some(1.0), None, Some(5.0), Some(3.0)],
        );
        assert_eq!(e.fill, 3.0);
        assert_eq!(e.names(), vec!["x", "x (missing)"]);
        let mut out = Vec::new();
        e.encode_into(None, &mut out);
        e.encode_into(Some(7.0), &mut out);
        assert_eq!(out, vec![3.0, 1.0, 7.0, 0.0]);
    }

    #[test]
    fn no_indicator_when_training_complete() {
        let e = NumericEncoder::fit("x", DecimalMark::Point, &[Some(1.0), Some(2.0)]);
        let mut out = Vec::new();
        e.encode_into(None, &mut out);
        assert_eq!(out, vec![1.5]);
    }
}
