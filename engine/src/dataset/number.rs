//! Reading a cell as a number, as spreadsheets write them.
//!
//! Besides plain numbers (`1`, `-2.5`, `1e3`, `.5`), a cell may carry the formatting a
//! spreadsheet or a report adds: thousands separators in groups of three (`6,000`,
//! `-1,234,567.25`), one currency sign before or after the number (`$600.00`, `-$5`, `€ 30`,
//! `30 €`) or a percent sign after it (`12.5%`, read as 12.5: the number shown). Anything
//! ambiguous stays text: `1,5` (a decimal comma, or a list), `1.234,5`, `1,23`, `$5%`.
//!
//! **A column's decimal mark.** Where a column's cells show a decimal comma (`12,5`, `1.234,5`,
//! `0,867`: cells only a decimal comma can read) more often than a decimal point (`12.25`,
//! `1,234.5`), the whole column is read with a decimal comma: `5,816` is then 5.816 and
//! `1.234` is 1234 ([`DecimalMark`], [`MarkEvidence`]). One such cell among thousands written
//! `1,234` is not enough (a typo must not divide a column by a thousand); it is then missing,
//! and the profile says why.
//!
//! Models compute in `f32`, so a number beyond its range (±3.4e38, [`NUMBER_LIMIT`]) is no
//! usable number either: such a cell reads as missing, with the profile's warning.

use serde::{Deserialize, Serialize};

/// The largest magnitude a cell may hold to be a number (`f32::MAX`).
pub const NUMBER_LIMIT: f64 = f32::MAX as f64;

/// Currency signs accepted before or after a number.
const CURRENCY_SIGNS: [char; 12] = ['$', '€', '£', '¥', '₹', '₩', '₽', '₺', '₪', '₫', '₱', '₦'];

/// Parses a number within ±[`NUMBER_LIMIT`], plain or formatted (see the module docs).
pub fn parse_number(s: &str) -> Option<f64> {
    parse_unlimited(s).filter(|x| x.abs() <= NUMBER_LIMIT)
}

/// The character between a column's whole numbers and their fractions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DecimalMark {
    /// `1,234.5`.
    #[default]
    Point,
    /// `1.234,5` (most of continental Europe and South America).
    Comma,
}

impl DecimalMark {
    /// How the mark is written in messages.
    pub fn describe(self) -> &'static str {
        match self {
            DecimalMark::Point => "a decimal point",
            DecimalMark::Comma => "a decimal comma",
        }
    }
}

/// [`parse_number`] in a column written with `mark`.
pub fn parse_number_in(s: &str, mark: DecimalMark) -> Option<f64> {
    match mark {
        DecimalMark::Point => parse_number(s),
        DecimalMark::Comma => parse_number(&swap_marks(s)),
    }
}

/// `1.234,5` ↔ `1,234.5`.
fn swap_marks(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            '.' => ',',
            ',' => '.',
            c => c,
        })
        .collect()
}

/// What a column's cells show about its decimal mark: a count and the first index of each kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct MarkEvidence {
    /// Cells only a decimal comma reads (`12,5`, `1.234,5`).
    pub comma: (usize, Option<usize>),
    /// Cells only a decimal point reads (`12.25`, `1,234.5`).
    pub point: (usize, Option<usize>),
    /// Cells with a comma that both read, as different numbers (`5,816`: 5816 or 5.816).
    pub ambiguous_comma: (usize, Option<usize>),
}

impl MarkEvidence {
    /// Reads the evidence of `cells` (only cells with a comma can show a decimal comma, so a
    /// column without one is read at once).
    pub fn of_cells<'a>(cells: impl IntoIterator<Item = Option<&'a str>>) -> MarkEvidence {
        let mut e = MarkEvidence::default();
        for (i, cell) in cells.into_iter().enumerate() {
            let Some(cell) = cell.filter(|c| c.contains([',', '.'])) else {
                continue;
            };
            let point = parse_unlimited(cell);
            let comma = parse_unlimited(&swap_marks(cell));
            let count = match (point, comma) {
                (None, Some(_)) => &mut e.comma,
                (Some(_), None) => &mut e.point,
                (Some(p), Some(c)) if p != c && cell.contains(',') => &mut e.ambiguous_comma,
                _ => continue,
            };
            count.0 += 1;
            count.1.get_or_insert(i);
        }
        e
    }

    /// The mark the cells decide, `None` when none shows one: a decimal comma when more cells
    /// show it than a decimal point, and either two cells or more show it or no cell is read
    /// as thousands (`5,816`) by a decimal point.
    pub fn decided(&self) -> Option<DecimalMark> {
        let comma =
            self.comma.0 > self.point.0 && (self.comma.0 >= 2 || self.ambiguous_comma.0 == 0);
        if comma {
            Some(DecimalMark::Comma)
        } else if self.point.0 + self.comma.0 > 0 {
            Some(DecimalMark::Point)
        } else {
            None
        }
    }

    /// The decided mark, a decimal point without evidence.
    pub fn mark(&self) -> DecimalMark {
        self.decided().unwrap_or_default()
    }
}

/// One key per number, for sets and maps of numbers (`-0` and `0` share one).
pub fn number_key(x: f64) -> u64 {
    (x + 0.0).to_bits()
}

/// True for a number beyond ±[`NUMBER_LIMIT`] (`1e39`, `-1e400`, `inf`, `-Infinity`): written
/// as a number, but not one [`parse_number`] returns.
pub fn is_out_of_range(s: &str) -> bool {
    let t = s.trim();
    let unsigned = t.strip_prefix(['+', '-']).unwrap_or(t);
    unsigned.eq_ignore_ascii_case("inf")
        || unsigned.eq_ignore_ascii_case("infinity")
        || parse_unlimited(s).is_some_and(|x| x.abs() > NUMBER_LIMIT)
}

/// [`parse_number`] without the range limit (infinite for `1e400`, never for `inf`).
fn parse_unlimited(s: &str) -> Option<f64> {
    let s = s.trim();
    // Rust accepts "inf" and "nan"; those are not data.
    if !s.bytes().any(|b| b.is_ascii_digit()) {
        return None;
    }
    match s.parse::<f64>() {
        Ok(x) => (!x.is_nan()).then_some(x),
        Err(_) => parse_formatted(s),
    }
}

/// A number with thousands separators, a currency sign or a percent sign.
fn parse_formatted(s: &str) -> Option<f64> {
    let (sign, rest) = split_sign(s);
    let (body, currency_first) = if let Some(body) = rest.strip_suffix('%') {
        (body.trim_end(), false)
    } else if let Some(body) = rest.strip_prefix(CURRENCY_SIGNS) {
        (body.trim_start(), true)
    } else if let Some(body) = rest.strip_suffix(CURRENCY_SIGNS) {
        (body.trim_end(), false)
    } else {
        (rest, false)
    };
    // `$-5` as well as `-$5`, never both signs.
    let (sign, body) = match split_sign(body) {
        (inner, body) if currency_first && sign.is_none() && inner.is_some() => (inner, body),
        (None, body) => (sign, body),
        _ => return None,
    };
    let plain = without_thousands_separators(body)?;
    let x: f64 = plain.parse().ok()?;
    Some(if sign == Some('-') { -x } else { x })
}

/// A leading `+` or `-`, and the rest.
fn split_sign(s: &str) -> (Option<char>, &str) {
    match s.chars().next() {
        Some(c @ ('+' | '-')) => (Some(c), &s[1..]),
        _ => (None, s),
    }
}

/// Digits with optional comma separators in groups of three and an optional `.` fraction,
/// returned without the commas; `None` for anything else (no sign, no exponent here).
fn without_thousands_separators(s: &str) -> Option<String> {
    let (int, frac) = match s.split_once('.') {
        Some((int, frac)) => (int, Some(frac)),
        None => (s, None),
    };
    let all_digits = |p: &str| p.bytes().all(|b| b.is_ascii_digit());
    let mut groups = int.split(',');
    let first = groups.next()?;
    let grouped = int.contains(',');
    let first_ok = if grouped {
        // `0,867` and `056,580` are no thousands (a decimal comma, a code).
        (1..=3).contains(&first.len()) && !first.starts_with('0')
    } else {
        !first.is_empty() || frac.is_some_and(|f| !f.is_empty())
    };
    if !first_ok
        || !all_digits(first)
        || !groups.all(|g| g.len() == 3 && all_digits(g))
        || !frac.is_none_or(all_digits)
    {
        return None;
    }
    Some(match frac {
        Some(frac) => format!("{}.{frac}", int.replace(',', "")),
        None => int.replace(',', ""),
    })
}

#[cfg(test)]
mod tests {
    use super::{DecimalMark, MarkEvidence, is_out_of_range, parse_number, parse_number_in};

    #[test]
    fn plain_numbers() {
        for (s, x) in [
            ("1", 1.0),
            ("-2.5", -2.5),
            ("1e3", 1000.0),
            (" .5 ", 0.5),
            ("+5", 5.0),
        ] {
            assert_eq!(parse_number(s), Some(x), "{s}");
        }
        for s in ["inf", "NaN", "-", "", "1e400", "abc", "0x1F"] {
            assert_eq!(parse_number(s), None, "{s}");
        }
    }

    #[test]
    fn a_column_s_cells_decide_its_decimal_mark() {
        let cells = |v: &[&'static str]| v.iter().map(|s| Some(*s)).collect::<Vec<_>>();
        let europe = cells(&["5,816", "5,82", "1.234,5", "12", "0,5"]);
        let e = MarkEvidence::of_cells(europe.iter().copied());
        assert_eq!(e.mark(), DecimalMark::Comma);
        let read: Vec<Option<f64>> = europe
            .iter()
            .map(|c| parse_number_in(c.unwrap(), e.mark()))
            .collect();
        assert_eq!(
            read,
            [Some(5.816), Some(5.82), Some(1234.5), Some(12.0), Some(0.5)]
        );
        // Thousands with one stray decimal comma: still thousands.
        let us = cells(&["1,234", "5,678", "12,5", "900"]);
        assert_eq!(MarkEvidence::of_cells(us).mark(), DecimalMark::Point);
        // Decimal points outnumber decimal commas.
        let mixed = cells(&["1.5", "2.25", "3,5"]);
        let e = MarkEvidence::of_cells(mixed);
        assert_eq!((e.mark(), e.comma.0, e.point.0), (DecimalMark::Point, 1, 2));
        // Whole numbers show nothing.
        assert_eq!(
            MarkEvidence::of_cells(cells(&["1", "2,000"])).decided(),
            None
        );
        assert_eq!(
            parse_number_in("€ 1.234,50", DecimalMark::Comma),
            Some(1234.5)
        );
        assert_eq!(parse_number_in("12,5%", DecimalMark::Comma), Some(12.5));
    }

    /// Beyond what f32 holds: not a number, but said to be out of range.
    #[test]
    fn numbers_beyond_f32_are_out_of_range() {
        assert_eq!(parse_number("3.4e38"), Some(3.4e38));
        for s in [
            "1e39",
            "-1e39",
            "1e400",
            "-1e400",
            "inf",
            "-inf",
            "+Infinity",
            "INF",
        ] {
            assert_eq!(parse_number(s), None, "{s}");
            assert!(is_out_of_range(s), "{s}");
        }
        for s in ["NaN", "abc", "5", "info", "infinite"] {
            assert!(!is_out_of_range(s), "{s}");
        }
    }

    #[test]
    fn numbers_as_spreadsheets_format_them() {
        for (s, x) in [
            ("6,000", 6000.0),
            ("-1,234,567.25", -1_234_567.25),
            ("$600.00", 600.0),
            ("-$5", -5.0),
            ("$-5", -5.0),
            ("€ 30", 30.0),
            ("30 €", 30.0),
            ("£1,200", 1200.0),
            ("12.5%", 12.5),
            ("-3 %", -3.0),
            ("100.%", 100.0),
        ] {
            assert_eq!(parse_number(s), Some(x), "{s}");
        }
    }

    #[test]
    fn ambiguous_formats_stay_text() {
        for s in [
            "1,5", "1.234,5", "1,23", "1,2345", ",123", "1,,000", "$5%", "$$5", "-$-5", "--5",
            "5-", "$", "%", "1e3%", "$1e3", "1 000", "12.5.1%", "5 USD", "(600)", "0,867",
            "056,580", "0,000",
        ] {
            assert_eq!(parse_number(s), None, "{s}");
        }
    }
}
