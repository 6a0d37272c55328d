//! Date parsing for date columns: year, month, day and day of week.
//!
//! Accepted forms (an optional time part after `T` or a space is ignored):
//! * `YYYY`, `YYYY-MM`, `YYYY-MM-DD` (also with `/` or `.` separators), as in Spotify release dates,
//!   whose precision varies from row to row;
//! * `DD.MM.YYYY` (European);
//! * `M/D/YY` or `D/M/YY` (slashes only), a two-digit year read as POSIX `%y` does: `69`–`99`
//!   are 1969–1999, `00`–`68` are 2000–2068;
//! * `M/D/YYYY` or `D/M/YYYY` (also with `-`): which of the two is a property of the column
//!   ([`DayMonthOrder::of_cells`]: the order its unambiguous cells show, US order when none
//!   does); a cell that cannot be read in the column's order (`13/08/2000` in a month-first
//!   column) is read the other way, and the profile warns about a column that mixes both.

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

/// Which number comes first in an `A/B/YYYY` date.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DayMonthOrder {
    /// `M/D/YYYY` (US).
    #[default]
    MonthFirst,
    /// `D/M/YYYY` (most of the world).
    DayFirst,
}

/// How many cells of a column can only be read day-first, and how many only month-first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct OrderEvidence {
    /// Cells like `13/08/2000`, with the first index of one.
    pub day_first: (usize, Option<usize>),
    /// Cells like `08/13/2000`, with the first index of one.
    pub month_first: (usize, Option<usize>),
}

impl OrderEvidence {
    /// Counts the `A/B/YYYY` cells (`/` or `-`) that only one order can read.
    pub fn of_cells<'a>(cells: impl IntoIterator<Item = Option<&'a str>>) -> OrderEvidence {
        let mut e = OrderEvidence::default();
        for (i, cell) in cells.into_iter().enumerate() {
            let Some((a, b, _, sep)) = cell.and_then(day_month_year) else {
                continue;
            };
            let count = match (sep, a > 12, b > 12) {
                ('/' | '-', true, false) => &mut e.day_first,
                ('/' | '-', false, true) => &mut e.month_first,
                _ => continue,
            };
            count.0 += 1;
            count.1.get_or_insert(i);
        }
        e
    }

    /// The order most unambiguous cells show, `None` when no cell shows one.
    pub fn decided(&self) -> Option<DayMonthOrder> {
        (self.day_first.0 + self.month_first.0 > 0).then(|| self.order())
    }

    /// The order most unambiguous cells show; month-first on a tie or without evidence.
    pub fn order(&self) -> DayMonthOrder {
        if self.day_first.0 > self.month_first.0 {
            DayMonthOrder::DayFirst
        } else {
            DayMonthOrder::MonthFirst
        }
    }
}

impl DayMonthOrder {
    /// How the order is written in messages.
    pub fn describe(self) -> &'static str {
        match self {
            DayMonthOrder::DayFirst => "day-first",
            DayMonthOrder::MonthFirst => "month-first",
        }
    }

    /// The order of a column's cells (see [`OrderEvidence::order`]).
    pub fn of_cells<'a>(cells: impl IntoIterator<Item = Option<&'a str>>) -> DayMonthOrder {
        OrderEvidence::of_cells(cells).order()
    }
}

/// The two leading numbers, the year and the separator of an `A/B/YYYY` (or `A-B-YYYY`,
/// `A.B.YYYY`, `A/B/YY`) date, time part dropped.
fn day_month_year(raw: &str) -> Option<(u32, u32, u32, char)> {
    let s = date_part(raw);
    let sep = s.chars().find(|c| matches!(c, '-' | '/' | '.'))?;
    match s.split(sep).collect::<Vec<_>>().as_slice() {
        [a, b, y]
            if (1..=2).contains(&a.len())
                && (1..=2).contains(&b.len())
                && [a, b, y]
                    .iter()
                    .all(|p| p.bytes().all(|c| c.is_ascii_digit())) =>
        {
            Some((a.parse().ok()?, b.parse().ok()?, year_of(y, sep)?, sep))
        }
        _ => None,
    }
}

/// The year a date's last part names: four digits as written; two after a slash as POSIX `%y`
/// reads them (`69`–`99` → 1969–1999, `00`–`68` → 2000–2068); `None` otherwise.
fn year_of(part: &str, sep: char) -> Option<u32> {
    let y: u32 = part.parse().ok()?;
    match part.len() {
        4 => Some(y),
        2 if sep == '/' => Some(if y >= 69 { 1900 + y } else { 2000 + y }),
        _ => None,
    }
}

/// The cell without a time part: "2020-01-02T10:00:00Z" or "2020-01-02 10:00".
fn date_part(raw: &str) -> &str {
    let s = raw.trim();
    s.split(['T', ' ']).next().unwrap_or(s)
}

/// Parses a date in one of the accepted forms, `A/B/YYYY` month-first where both orders could
/// read it; `None` when it is not a date.
pub fn parse_date(raw: &str) -> Option<DateParts> {
    parse_date_in(raw, DayMonthOrder::MonthFirst)
}

/// Parses a date in one of the accepted forms, `A/B/YYYY` in `order` where both orders could
/// read it; `None` when it is not a date.
pub fn parse_date_in(raw: &str, order: DayMonthOrder) -> Option<DateParts> {
    let s = date_part(raw);
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
        [a, b, y] if a.len() <= 2 && b.len() <= 2 => {
            let (a, b, y) = (num(a)?, num(b)?, year_of(y, sep?)?);
            let day_first = match order {
                _ if sep == Some('.') => true, // D.M.YYYY
                DayMonthOrder::MonthFirst => a > 12,
                DayMonthOrder::DayFirst => b <= 12,
            };
            if day_first {
                build(y, Some(b), Some(a))
            } else {
                build(y, Some(a), Some(b))
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
    fn two_digit_years_after_slashes_read_as_posix_y() {
        let ymd = |s: &str| parse_date(s).map(|d| (d.year, d.month, d.day));
        assert_eq!(ymd("1/2/21"), Some((2021, Some(1), Some(2))));
        assert_eq!(ymd("12/31/99"), Some((1999, Some(12), Some(31))));
        assert_eq!(ymd("12/31/69"), Some((1969, Some(12), Some(31))));
        assert_eq!(ymd("31/12/68"), Some((2068, Some(12), Some(31))));
        assert_eq!(ymd("02/29/00"), Some((2000, Some(2), Some(29))));
        // Version numbers and codes with dots or dashes stay text.
        for s in ["1.2.21", "1-2-21", "1/2/3", "1/2/021", "2/30/21"] {
            assert_eq!(parse_date(s), None, "{s}");
        }
        let e = OrderEvidence::of_cells([Some("13/08/21"), Some("02/08/21")]);
        assert_eq!(e.decided(), Some(DayMonthOrder::DayFirst));
        assert_eq!(
            parse_date_in("02/08/21", DayMonthOrder::DayFirst).map(|d| d.month),
            Some(Some(8))
        );
    }

    #[test]
    fn a_column_s_unambiguous_cells_decide_its_day_month_order() {
        let cells = [
            "02/08/2000",
            "13/08/2000",
            "25-12-1999",
            "01/02/2001 10:00",
            "2000-08-13",
        ];
        let e = OrderEvidence::of_cells(cells.iter().map(|c| Some(*c)));
        assert_eq!((e.day_first, e.month_first), ((2, Some(1)), (0, None)));
        assert_eq!(e.order(), DayMonthOrder::DayFirst);
        let d = parse_date_in("02/08/2000", DayMonthOrder::DayFirst).unwrap();
        assert_eq!((d.month, d.day), (Some(8), Some(2)));
        // A cell only the other order can read is read that way.
        let d = parse_date_in("08/13/2000", DayMonthOrder::DayFirst).unwrap();
        assert_eq!((d.month, d.day), (Some(8), Some(13)));
        let d = parse_date_in("02/08/2000", DayMonthOrder::MonthFirst).unwrap();
        assert_eq!((d.month, d.day), (Some(2), Some(8)));
        // Dotted dates are always day-first.
        let d = parse_date_in("02.08.2000", DayMonthOrder::MonthFirst).unwrap();
        assert_eq!((d.month, d.day), (Some(8), Some(2)));
        // No evidence, or a tie: month-first.
        let none = ["02/08/2000", "2001-05-06", "12.5.2001"];
        assert_eq!(
            DayMonthOrder::of_cells(none.iter().map(|c| Some(*c))),
            DayMonthOrder::MonthFirst
        );
        let tie = ["13/08/2000", "08/13/2000"];
        assert_eq!(
            DayMonthOrder::of_cells(tie.iter().map(|c| Some(*c))),
            DayMonthOrder::MonthFirst
        );
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
