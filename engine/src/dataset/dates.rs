//! Date parsing for date columns: year, month, day and day of week.
//!
//! Accepted forms (an optional time part after `T` or a space is ignored):
//! * `YYYY`, `YYYY-MM`, `YYYY-MM-DD` (also with `/` or `.` separators), as in Spotify release dates,
//!   whose precision varies from row to row;
//! * `DD.MM.YYYY` (European);
//! * `M/D/YYYY` (US order is tried first; when the first number is above 12 it is read as `D/M/YYYY`).

use serde::{Deserialize, Serialize};

/// The parts of a parsed date; month and day are absent for coarser precisions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct DateParts {
    /// Calendar year.
    pub year: i32,
    /// Month 1..=12, when the value has month precision.
    pub month: Option<u8>,
    /// Day of month 1..=31, when the value has day precision.
    pub day: Option<u8>,
    /// Day of week, 0 = Monday .. 6 = Sunday, when the value has day precision.
    pub day_of_week: Option<u8>,
}

/// Parses a date in one of the accepted forms; `None` when it is not a date.
pub fn parse_date(raw: &str) -> Option<DateParts> {
    let s = raw.trim();
    // Drop a time part: "2020-01-02T10:00:00Z" or "2020-01-02 10:00".
    let s = s.split(['T', ' ']).next().unwrap_or(s);
    if s.is_empty() || s.len() > 10 {
        return None;
    }
    let sep = s.chars().find(|c| matches!(c, '-' | '/' | '.'));
    let parts: Vec<&str> = match sep {
        Some(c) => s.split(c).collect(),
        None => vec![s],
    };
    if parts
        .iter()
        .any(|p| p.is_empty() || !p.bytes().all(|b| b.is_ascii_digit()))
    {
        return None;
    }
    let num = |p: &str| p.parse::<u32>().ok();
    match parts.as_slice() {
        [y] if y.len() == 4 => build(num(y)?, None, None),
        [y, m] if y.len() == 4 && m.len() <= 2 => build(num(y)?, Some(num(m)?), None),
        [y, m, d] if y.len() == 4 && m.len() <= 2 && d.len() <= 2 => {
            build(num(y)?, Some(num(m)?), Some(num(d)?))
        }
        [a, b, y] if y.len() == 4 && a.len() <= 2 && b.len() <= 2 => {
            let (a, b, y) = (num(a)?, num(b)?, num(y)?);
            if sep == Some('.') || a > 12 {
                build(y, Some(b), Some(a)) // D.M.YYYY or D/M/YYYY
            } else {
                build(y, Some(a), Some(b)) // M/D/YYYY
            }
        }
        _ => None,
    }
}

fn build(year: u32, month: Option<u32>, day: Option<u32>) -> Option<DateParts> {
    if !(1000..=9999).contains(&year) {
        return None;
    }
    let year = year as i32;
    if let Some(m) = month
        && !(1..=12).contains(&m)
    {
        return None;
    }
    if let (Some(m), Some(d)) = (month, day)
        && (d == 0 || d > days_in_month(year, m))
    {
        return None;
    }
    let day_of_week = match (month, day) {
        (Some(m), Some(d)) => Some(weekday(year, m, d)),
        _ => None,
    };
    Some(DateParts {
        year,
        month: month.map(|m| m as u8),
        day: day.map(|d| d as u8),
        day_of_week,
    })
}

fn is_leap(y: i32) -> bool {
    (y % 4 == 0 && y % 100 != 0) || y % 400 == 0
}

fn days_in_month(y: i32, m: u32) -> u32 {
    match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        _ if is_leap(y) => 29,
        _ => 28,
    }
}

/// Day of week (0 = Monday) by Sakamoto's method.
fn weekday(y: i32, m: u32, d: u32) -> u8 {
    const T: [i32; 12] = [0, 3, 2, 5, 0, 3, 5, 1, 4, 6, 2, 4];
    let y = if m < 3 { y - 1 } else { y };
    let sunday_based = (y + y / 4 - y / 100 + y / 400 + T[(m - 1) as usize] + d as i32) % 7;
    ((sunday_based + 6) % 7) as u8
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_all_spotify_precisions() {
        let y = parse_date("1989").unwrap();
        assert_eq!(
            (y.year, y.month, y.day, y.day_of_week),
            (1989, None, None, None)
        );
        let ym = parse_date("2008-11").unwrap();
        assert_eq!((ym.year, ym.month, ym.day), (2008, Some(11), None));
        // 2023-04-14 was a Friday (checked with `date -d 2023-04-14 +%A`).
        let ymd = parse_date("2023-04-14").unwrap();
        assert_eq!(
            (ymd.year, ymd.month, ymd.day, ymd.day_of_week),
            (2023, Some(4), Some(14), Some(4))
        );
    }

    #[test]
    fn parses_other_formats_and_weekdays() {
        // 2000-02-29 was a Tuesday, 1970-01-01 a Thursday, 2024-12-31 a Tuesday.
        assert_eq!(parse_date("29.02.2000").unwrap().day_of_week, Some(1));
        assert_eq!(parse_date("1/1/1970").unwrap().day_of_week, Some(3));
        let dm = parse_date("31/12/2024").unwrap();
        assert_eq!(
            (dm.month, dm.day, dm.day_of_week),
            (Some(12), Some(31), Some(1))
        );
        assert_eq!(parse_date("2024/12/31 10:00").unwrap().day, Some(31));
        assert_eq!(parse_date("2024-12-31T10:00:00Z").unwrap().month, Some(12));
    }

    #[test]
    fn rejects_non_dates() {
        for s in [
            "",
            "12",
            "2023-13-01",
            "2023-02-29",
            "abc",
            "12.5",
            "2023-1-1x",
            "99999",
            "1-2-3",
        ] {
            assert_eq!(parse_date(s), None, "{s}");
        }
    }
}
