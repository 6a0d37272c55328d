//! Date columns: year (fractional), month and day of week as numbers.

use serde::{Deserialize, Serialize};

use super::median;
use crate::dataset::{DateParts, DayMonthOrder};

/// Encodes a date as `year + (month-1)/12`, `month` and `day of week`; parts missing from a
/// value (coarser precision or no date) are filled with the training median and flagged.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DateEncoder {
    /// Source column name.
    pub column: String,
    /// Training medians of (year, month, day of week).
    pub fill: [f64; 3],
    /// The day/month order of the training column's `A/B/YYYY` dates, which new data is read
    /// in (month-first for models saved before it was kept).
    #[serde(default)]
    pub order: DayMonthOrder,
}

impl DateEncoder {
    /// Fits on the parsed dates of the training rows, read in the column's `order`.
    pub fn fit(column: &str, order: DayMonthOrder, train: &[Option<DateParts>]) -> Self {
        let mut parts: [Vec<f64>; 3] = Default::default();
        for d in train.iter().flatten() {
            let [y, m, w] = Self::raw(d);
            parts[0].extend(y);
            parts[1].extend(m);
            parts[2].extend(w);
        }
        let fill = [
            median(&mut parts[0]),
            median(&mut parts[1]),
            median(&mut parts[2]),
        ];
        Self {
            column: column.to_string(),
            fill,
            order,
        }
    }

    fn raw(d: &DateParts) -> [Option<f64>; 3] {
        let m = d.month.map(f64::from);
        [
            Some(d.year as f64 + m.map_or(0.0, |m| (m - 1.0) / 12.0)),
            m,
            d.day_of_week.map(f64::from),
        ]
    }

    /// Names of the emitted columns.
    pub fn names(&self) -> Vec<String> {
        ["year", "month", "day of week", "precision"]
            .iter()
            .map(|p| format!("{} ({p})", self.column))
            .collect()
    }

    /// Appends the encoded columns of one value to `out`: year, month, day of week, and the
    /// precision (0 missing, 1 year, 2 month, 3 day).
    pub fn encode_into(&self, value: Option<&DateParts>, out: &mut Vec<f32>) {
        let raw = value.map(Self::raw).unwrap_or([None; 3]);
        for (v, f) in raw.iter().zip(self.fill) {
            out.push(v.unwrap_or(f) as f32);
        }
        let precision = match value {
            None => 0.0,
            Some(d) if d.day.is_some() => 3.0,
            Some(d) if d.month.is_some() => 2.0,
            Some(_) => 1.0,
        };
        out.push(precision);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dataset::parse_date;

    #[test]
    fn encodes_mixed_precision_dates() {
        let train: Vec<Option<DateParts>> = ["2020-03-15", "2018", "2019-01"]
            .iter()
            .map(|s| parse_date(s))
            .collect();
        let e = DateEncoder::fit("d", DayMonthOrder::MonthFirst, &train);
        let mut out = Vec::new();
        e.encode_into(train[1].as_ref(), &mut out);
        // year only: month filled with the median of {3, 1} = 2, day of week with the only value.
        assert_eq!(out[0], 2018.0);
        assert_eq!(out[1], 2.0);
        assert_eq!(out[3], 1.0);
        out.clear();
        e.encode_into(train[0].as_ref(), &mut out);
        assert!((out[0] - (2020.0 + 2.0 / 12.0)).abs() < 1e-3);
        assert_eq!(out[1], 3.0);
        assert_eq!(out[2], 6.0, "2020-03-15 was a Sunday");
        assert_eq!(out[3], 3.0);
        out.clear();
        e.encode_into(None, &mut out);
        assert_eq!(out[3], 0.0);
    }
}
