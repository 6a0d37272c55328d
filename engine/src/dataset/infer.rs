//! Column type inference from raw cells.
//!
//! Rules, applied to the non-missing cells in this order:
//! 1. **image**: at least 90% end in an image extension (`.jpg`, `.jpeg`, `.png`, `.webp`, `.bmp`,
//!    `.gif`, `.tif`, `.tiff`); the files themselves are checked when loading.
//! 2. **numeric**: at least 99% are written as numbers, plain or formatted (`6,000`, `$600.00`,
//!    `12.5%`: see [`super::parse_number`]); numbers beyond `f32`'s range (`1e39`) count as
//!    numbers here and are read as missing, with the profile's warning.
//! 3. **date**: at least 99% parse as dates (see [`super::parse_date`]); pure years like `1989`
//!    alone are numbers (rule 2), but mixed with `YYYY-MM-DD` values they make a date column.
//! 4. **mostly numeric**, then **mostly dates**: at least [`MOSTLY_PARSED_SHARE`] (95%) parse
//!    as numbers (or dates): the column is numeric (or a date column) and the few other cells (a
//!    stray `oops`, a `?` marker, a `2021-02-30`) are read as missing; the profile warns about
//!    them (column, count, examples). One typo must not turn an informative number or date
//!    column into an ID-like category that is then dropped.
//! 5. **text**: free text: on average at least 5 words, or at least 2 words with at least 80%
//!    distinct values (titles, captions).
//! 6. otherwise **categorical** (labels, names that repeat).
//!
//! An all-missing column is categorical (and reported constant by the profile).

use std::collections::HashSet;

use super::{
    Column, ColumnType, DecimalMark, MarkEvidence, has_image_extension, is_out_of_range,
    parse_date, parse_number_in,
};

/// Share of non-missing cells that must parse as numbers (dates) for a column to be numeric (a
/// date column), with the others read as missing (rule 4 of the module docs).
pub const MOSTLY_PARSED_SHARE: f64 = 0.95;

fn share(values: &[&str], pred: impl Fn(&str) -> bool) -> f64 {
    values.iter().filter(|v| pred(v)).count() as f64 / values.len() as f64
}

/// True for a cell written as a number with `mark`, within `f32`'s range or not.
fn written_as_number(v: &str, mark: DecimalMark) -> bool {
    parse_number_in(v, mark).is_some() || is_out_of_range(v)
}

/// Mean number of whitespace-separated words per cell.
pub(crate) fn mean_words(values: &[&str]) -> f64 {
    let words: usize = values.iter().map(|v| v.split_whitespace().count()).sum();
    words as f64 / values.len().max(1) as f64
}

/// Infers the kind of a column from its cells (see the module rules).
pub fn infer_type(values: &[Option<String>]) -> ColumnType {
    let present: Vec<&str> = values.iter().flatten().map(String::as_str).collect();
    if present.is_empty() {
        return ColumnType::Categorical;
    }
    if share(&present, has_image_extension) >= 0.9 {
        return ColumnType::Image;
    }
    let mark = MarkEvidence::of_cells(present.iter().map(|v| Some(*v))).mark();
    let number = |v: &str| written_as_number(v, mark);
    if share(&present, number) >= 0.99 {
        return ColumnType::Numeric;
    }
    if share(&present, |v| parse_date(v).is_some()) >= 0.99 {
        return ColumnType::Date;
    }
    if share(&present, number) >= MOSTLY_PARSED_SHARE {
        return ColumnType::Numeric;
    }
    if share(&present, |v| parse_date(v).is_some()) >= MOSTLY_PARSED_SHARE {
        return ColumnType::Date;
    }
    let distinct = present.iter().collect::<HashSet<_>>().len();
    let distinct_ratio = distinct as f64 / present.len() as f64;
    let words = mean_words(&present);
    if words >= 5.0 || (words >= 2.0 && distinct_ratio >= 0.8) {
        ColumnType::Text
    } else {
        ColumnType::Categorical
    }
}

/// True for identifier columns, which carry no generalizable signal:
/// * categorical single-token values that are (almost: ≥ 95%) all distinct, with at least 10 rows;
/// * numeric integers that are all distinct and consecutive (a row index).
pub fn is_id_like(col: &Column) -> bool {
    let present: Vec<&str> = col.values.iter().flatten().map(String::as_str).collect();
    if present.len() < 10 {
        return false;
    }
    match col.kind {
        ColumnType::Categorical => {
            let distinct = present.iter().collect::<HashSet<_>>().len();
            distinct as f64 >= 0.95 * present.len() as f64
                && present.iter().all(|v| v.split_whitespace().count() == 1)
        }
        ColumnType::Numeric => {
            let mark = col.decimal_mark();
            let nums: Option<Vec<i64>> = present
                .iter()
                .map(|v| {
                    parse_number_in(v, mark)
                        .filter(|x| x.fract() == 0.0 && x.abs() < 1e15)
                        .map(|x| x as i64)
                })
                .collect();
            let Some(mut nums) = nums else { return false };
            nums.sort_unstable();
            nums.windows(2).all(|w| w[1] == w[0] + 1)
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cells(v: &[&str]) -> Vec<Option<String>> {
        v.iter()
            .map(|s| (!s.is_empty()).then(|| s.to_string()))
            .collect()
    }

    #[test]
    fn numbers_beyond_f32_still_make_a_numeric_column() {
        // 4 of 20 cells out of range: more than the 5% a column may have of other cells.
        let mut v: Vec<String> = (0..16).map(|i| format!("{i}.5")).collect();
        v.extend(["1e39", "-2e40", "1e400", "3.5e38"].map(String::from));
        let v: Vec<&str> = v.iter().map(String::as_str).collect();
        assert_eq!(infer_type(&cells(&v)), ColumnType::Numeric);
        // Infinities as programs write them too.
        let mut v: Vec<String> = (0..16).map(|i| format!("{i}.5")).collect();
        v.extend(["inf", "-inf", "Infinity", "-Infinity"].map(String::from));
        let v: Vec<&str> = v.iter().map(String::as_str).collect();
        assert_eq!(infer_type(&cells(&v)), ColumnType::Numeric);
    }

    #[test]
    fn infers_each_kind() {
        assert_eq!(
            infer_type(&cells(&["a/x.jpg", "b/y.PNG", ""])),
            ColumnType::Image
        );
        assert_eq!(
            infer_type(&cells(&["a/x.tif", "b/y.TIFF"])),
            ColumnType::Image
        );
        assert_eq!(
            infer_type(&cells(&["1", "2.5", "-3e2", ""])),
            ColumnType::Numeric
        );
        assert_eq!(
            infer_type(&cells(&["1989", "2008-11", "2023-04-14"])),
            ColumnType::Date
        );
        assert_eq!(infer_type(&cells(&["1989", "2001"])), ColumnType::Numeric);
        assert_eq!(
            infer_type(&cells(&[
                "the quick brown fox",
                "a lazy dog sleeps",
                "red sky at night"
            ])),
            ColumnType::Text
        );
        // Two-word names that repeat are categories (like artist names).
        assert_eq!(
            infer_type(&cells(&[
                "Cole Swindell",
                "Cole Swindell",
                "Alan Jackson",
                "Alan Jackson"
            ])),
            ColumnType::Categorical
        );
        assert_eq!(
            infer_type(&cells(&["red", "blue", "red"])),
            ColumnType::Categorical
        );
        assert_eq!(infer_type(&cells(&["", ""])), ColumnType::Categorical);
    }

    #[test]
    fn mostly_numeric_columns_stay_numeric() {
        let mut v: Vec<String> = (0..79).map(|i| format!("{}.5", i * 7 % 13)).collect();
        v.push("oops".into());
        let refs: Vec<&str> = v.iter().map(String::as_str).collect();
        assert_eq!(infer_type(&cells(&refs)), ColumnType::Numeric);
        // Below 95% numbers it is not numeric.
        let mut few: Vec<&str> = vec!["1"; 18];
        few.extend(["x", "y"]);
        assert_ne!(infer_type(&cells(&few)), ColumnType::Numeric);
        // Years mixed with full dates stay a date column.
        let mut dates: Vec<&str> = vec!["1989"; 97];
        dates.extend(["2008-11-02", "2010-01-01", "2011-05-06"]);
        assert_eq!(infer_type(&cells(&dates)), ColumnType::Date);
    }

    /// A date column with a few bad cells (a typo, an impossible day) stays a date column; the
    /// profile warns about those cells (`profile::tests`).
    #[test]
    fn mostly_date_columns_stay_dates() {
        let mut v: Vec<String> = (1..=38)
            .map(|d| format!("2021-03-{:02}", d % 28 + 1))
            .collect();
        v.extend(["garbage".into(), "2021-02-30".into()]);
        let refs: Vec<&str> = v.iter().map(String::as_str).collect();
        assert_eq!(infer_type(&cells(&refs)), ColumnType::Date);
        // Below 95% dates it is not a date column.
        let mut few: Vec<&str> = vec!["2021-03-01"; 18];
        few.extend(["x", "y"]);
        assert_ne!(infer_type(&cells(&few)), ColumnType::Date);
    }

    #[test]
    fn id_like_columns() {
        let ids: Vec<String> = (0..20).map(|i| format!("id{i:03}x")).collect();
        let col = |kind, v: Vec<String>| Column {
            name: "c".into(),
            kind,
            values: v.into_iter().map(Some).collect(),
        };
        assert!(is_id_like(&col(ColumnType::Categorical, ids.clone())));
        let index: Vec<String> = (5..25).rev().map(|i| i.to_string()).collect();
        assert!(is_id_like(&col(ColumnType::Numeric, index)));
        let gaps: Vec<String> = (0..20).map(|i| (i * 2).to_string()).collect();
        assert!(!is_id_like(&col(ColumnType::Numeric, gaps)));
        let repeated: Vec<String> = (0..20).map(|i| format!("g{}", i % 5)).collect();
        assert!(!is_id_like(&col(ColumnType::Categorical, repeated)));
        assert!(!is_id_like(&col(ColumnType::Text, ids)));
    }
}
