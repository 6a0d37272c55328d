//! Tabular encoders: numbers, categories and dates become feature columns.
//!
//! Every encoder is fitted on the training rows of a fold only and then applied to any rows,
//! so that nothing about validation or holdout rows leaks into the features.

mod categorical;
mod date;
mod numeric;

pub use categorical::CategoricalEncoder;
pub use date::DateEncoder;
pub use numeric::NumericEncoder;

/// The median of `values` (0 when empty). `values` is reordered.
pub(crate) fn median(values: &mut [f64]) -> f64 {
    if values.is_empty() {
        return 0.0;
    }
    values.sort_by(|a, b| a.total_cmp(b));
    let n = values.len();
    if n % 2 == 1 {
        values[n / 2]
    } else {
        0.5 * (values[n / 2 - 1] + values[n / 2])
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn median_odd_even_empty() {
        assert_eq!(super::median(&mut [3.0, 1.0, 2.0]), 2.0);
        assert_eq!(super::median(&mut [4.0, 1.0, 2.0, 3.0]), 2.5);
        assert_eq!(super::median(&mut []), 0.0);
    }
}
