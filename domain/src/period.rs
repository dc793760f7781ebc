//! Billing periods: calendar months written `YYYY-MM`, which sort as text.

/// A text that is not a month like 2026-03.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("'{0}' is not a month like 2026-03")]
pub struct PeriodError(pub String);

/// A month, such as 2026-03.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Period {
    pub year: i32,
    /// 1 to 12.
    pub month: u32,
}

impl Period {
    pub fn parse(text: &str) -> Result<Self, PeriodError> {
        let bad = || PeriodError(text.to_owned());
        let (y, m) = text.split_once('-').ok_or_else(bad)?;
        let year: i32 = y.parse().map_err(|_| bad())?;
        let month: u32 = m.parse().map_err(|_| bad())?;
        if y.len() != 4 || m.len() != 2 || !(1..=12).contains(&month) || year < 2000 {
            return Err(bad());
        }
        Ok(Self { year, month })
    }

    /// This month in `time_zone` (IANA), or in UTC if it is unknown.
    pub fn current(time_zone: &str) -> Self {
        Self::of(today(time_zone))
    }

    pub fn plus_months(self, months: i64) -> Self {
        let index = i64::from(self.year) * 12 + i64::from(self.month) - 1 + months;
        Self {
            year: (index.div_euclid(12)) as i32,
            month: (index.rem_euclid(12) + 1) as u32,
        }
    }

    /// The month of a date.
    pub fn of(date: jiff::civil::Date) -> Self {
        Self {
            year: i32::from(date.year()),
            month: date.month() as u32,
        }
    }

    /// Months from `self` to `later`.
    pub fn months_until(self, later: Period) -> i64 {
        (i64::from(later.year) * 12 + i64::from(later.month))
            - (i64::from(self.year) * 12 + i64::from(self.month))
    }
}

/// Today's date in `time_zone` (IANA), or in UTC if it is unknown.
pub fn today(time_zone: &str) -> jiff::civil::Date {
    let tz = jiff::tz::TimeZone::get(time_zone).unwrap_or(jiff::tz::TimeZone::UTC);
    jiff::Timestamp::now().to_zoned(tz).date()
}

impl std::fmt::Display for Period {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:04}-{:02}", self.year, self.month)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn months_roll_over_years_and_sort_as_text() {
        let p = Period::parse("2026-11").unwrap();
        assert_eq!(p.plus_months(3).to_string(), "2027-02");
        assert_eq!(p.plus_months(-11).to_string(), "2025-12");
        assert_eq!(p.months_until(Period::parse("2027-11").unwrap()), 12);
        assert!("2026-11" < "2027-02");
        for bad in ["2026-13", "2026-1", "26-01", "2026/01", ""] {
            assert_eq!(
                Period::parse(bad),
                Err(PeriodError(bad.to_owned())),
                "{bad}"
            );
        }
        let d: jiff::civil::Date = "2026-03-31".parse().unwrap();
        assert_eq!(Period::of(d).to_string(), "2026-03");
    }
}
