//! Reading a cell as a number, as spreadsheets write them.
//!
//! Besides plain numbers (`1`, `-2.5`, `1e3`, `.5`), a cell may carry the formatting a
//! spreadsheet or a report adds: thousands separators in groups of three (`6,000`,
//! `-1,234,567.25`), one currency sign before or after the number (`$600.00`, `-$5`, `€ 30`,
//! `30 €`) or a percent sign after it (`12.5%`, read as 12.5: the number shown). Anything
//! ambiguous stays text: `1,5` (a decimal comma, or a list), `1.234,5`, `1,23`, `$5%`.
//!
//! Models compute in `f32`, so a number beyond its range (±3.4e38, [`NUMBER_LIMIT`]) is no
//! usable number either: such a cell reads as missing, with the profile's warning.

/// The largest magnitude a cell may hold to be a number (`f32::MAX`).
pub const NUMBER_LIMIT: f64 = f32::MAX as f64;

/// Currency signs accepted before or after a number.
const CURRENCY_SIGNS: [char; 12] = ['$', '€', '£', '¥', '₹', '₩', '₽', '₺', '₪', '₫', '₱', '₦'];

/// Parses a number within ±[`NUMBER_LIMIT`], plain or formatted (see the module docs).
pub fn parse_number(s: &str) -> Option<f64> {
    parse_unlimited(s).filter(|x| x.abs() <= NUMBER_LIMIT)
}

/// One key per number, for sets and maps of numbers (`-0` and `0` share one).
pub fn number_key(x: f64) -> u64 {
    (x + 0.0).to_bits()
}

/// True for a number beyond ±[`NUMBER_LIMIT`] (`1e39`, `-1e400`): written as a number, but
/// not one [`parse_number`] returns.
pub fn is_out_of_range(s: &str) -> bool {
    parse_unlimited(s).is_some_and(|x| x.abs() > NUMBER_LIMIT)
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
    use super::{is_out_of_range, parse_number};

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

    /// Beyond what f32 holds: not a number, but said to be out of range.
    #[test]
    fn numbers_beyond_f32_are_out_of_range() {
        assert_eq!(parse_number("3.4e38"), Some(3.4e38));
        for s in ["1e39", "-1e39", "1e400", "-1e400"] {
            assert_eq!(parse_number(s), None, "{s}");
            assert!(is_out_of_range(s), "{s}");
        }
        for s in ["inf", "-inf", "NaN", "abc", "5"] {
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
