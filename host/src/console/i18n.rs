//! Words, money and dates in the reader's language. The words live in Fluent
//! files (`locales/<lang>/console.ftl`) embedded at build time; money is
//! grouped by `num-format`'s locale data and placed by the currency's pattern
//! from the same Fluent files; dates are shown in the department's time zone.

use std::borrow::Cow;
use std::collections::HashMap;

use fluent_bundle::FluentValue;
use fluent_templates::{LanguageIdentifier, Loader};
use num_format::ToFormattedString;

fluent_templates::static_loader! {
    static LOCALES = {
        locales: "./src/console/locales",
        fallback_language: "en",
        // No Unicode isolation marks around arguments: the texts go into HTML
        // and into tests that read them.
        customise: |bundle| bundle.set_use_isolating(false),
    };
}

// The loader embeds the files through a macro cargo cannot see into; naming
// them here rebuilds the crate when a translation changes.
const _: &str = include_str!("locales/en/console.ftl");
const _: &str = include_str!("locales/da/console.ftl");

/// A language the console speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    En,
    Da,
}

impl Lang {
    pub const ALL: [Lang; 2] = [Lang::En, Lang::Da];

    pub fn code(self) -> &'static str {
        match self {
            Lang::En => "en",
            Lang::Da => "da",
        }
    }

    pub fn parse(code: &str) -> Option<Lang> {
        match code.trim().to_ascii_lowercase().as_str() {
            "en" => Some(Lang::En),
            "da" => Some(Lang::Da),
            _ => None,
        }
    }

    fn id(self) -> LanguageIdentifier {
        self.code().parse().expect("a valid language tag")
    }

    /// The best of ours for an `Accept-Language` header (English when none fits).
    pub fn negotiate(accept_language: &str) -> Lang {
        let requested = fluent_langneg::accepted_languages::parse(accept_language);
        let available: Vec<LanguageIdentifier> = Lang::ALL.iter().map(|l| l.id()).collect();
        let default = Lang::En.id();
        let chosen = fluent_langneg::negotiate_languages(
            &requested,
            &available,
            Some(&default),
            fluent_langneg::NegotiationStrategy::Lookup,
        );
        chosen
            .first()
            .and_then(|l| Lang::parse(l.language.as_str()))
            .unwrap_or(Lang::En)
    }

    /// The text of `key`, with `args`.
    pub fn text(self, key: &str, args: &[(&str, FluentValue<'static>)]) -> String {
        let args: HashMap<Cow<'static, str>, FluentValue<'static>> = args
            .iter()
            .map(|(k, v)| (Cow::Owned((*k).to_owned()), v.clone()))
            .collect();
        LOCALES
            .try_lookup_with_args(&self.id(), key, &args)
            // A missing key shows itself rather than an empty label.
            .unwrap_or_else(|| key.to_owned())
    }

    pub fn t(self, key: &str) -> String {
        self.text(key, &[])
    }

    fn number_locale(self) -> num_format::Locale {
        match self {
            Lang::En => num_format::Locale::en,
            Lang::Da => num_format::Locale::da,
        }
    }

    /// `minor` units of `currency` as the reader writes money:
    /// `1.234,50 kr.` in Danish, `$1,234.50` in English.
    pub fn money(self, minor: i64, currency: &str) -> String {
        let amount = self.amount(minor, currency);
        let (sign, digits) = match amount.strip_prefix('-') {
            Some(rest) => ("-", rest.to_owned()),
            None => ("", amount),
        };
        let args = [
            ("sign", FluentValue::from(sign)),
            ("amount", FluentValue::from(digits)),
            ("code", FluentValue::from(currency.to_owned())),
        ];
        let key = format!("money-{}", currency.to_ascii_lowercase());
        let text = self.text(&key, &args);
        if text == key {
            self.text("money-other", &args)
        } else {
            text
        }
    }

    /// The amount alone, grouped and with the locale's decimal mark
    /// (`1.234,50`); what a form field is prefilled with has no grouping.
    pub fn amount(self, minor: i64, currency: &str) -> String {
        let locale = self.number_locale();
        let (whole, fraction) = split_minor(minor, currency);
        let grouped = whole.unsigned_abs().to_formatted_string(&locale);
        let sign = if minor < 0 { "-" } else { "" };
        match fraction {
            Some(f) => format!("{sign}{grouped}{}{f}", locale.decimal()),
            None => format!("{sign}{grouped}"),
        }
    }

    /// The amount as a form field shows it: no grouping, the locale's mark.
    pub fn amount_input(self, minor: i64, currency: &str) -> String {
        let (whole, fraction) = split_minor(minor, currency);
        let sign = if minor < 0 && whole == 0 { "-" } else { "" };
        match fraction {
            Some(f) => format!("{sign}{whole}{}{f}", self.number_locale().decimal()),
            None => format!("{sign}{whole}"),
        }
    }

    /// What the reader typed into an amount field, as minor units of
    /// `currency`; `None` when it is not an amount.
    pub fn parse_amount(self, text: &str, currency: &str) -> Option<i64> {
        let locale = self.number_locale();
        let cleaned: String = text
            .trim()
            .replace('\u{2212}', "-")
            .replace(locale.separator(), "")
            .replace(locale.decimal(), ".")
            .chars()
            .filter(|c| !c.is_whitespace())
            .collect();
        let currency = vetpay_money::Currency::parse(currency).ok()?;
        vetpay_money::Money::from_decimal_str(&cleaned, currency)
            .ok()
            .map(|m| m.minor_units)
    }

    /// A moment (Unix ms) in `time_zone`, as the reader writes dates.
    pub fn date_time(self, unix_ms: i64, time_zone: &str) -> String {
        let Ok(ts) = jiff::Timestamp::from_millisecond(unix_ms) else {
            return String::new();
        };
        let tz = jiff::tz::TimeZone::get(time_zone).unwrap_or(jiff::tz::TimeZone::UTC);
        let zoned = ts.to_zoned(tz);
        zoned.strftime(&self.t("format-date-time")).to_string()
    }
}

/// The whole and fraction digits of `minor` units, by the currency's exponent.
fn split_minor(minor: i64, currency: &str) -> (i64, Option<String>) {
    let exponent = vetpay_money::Currency::parse(currency)
        .map(|c| c.exponent())
        .unwrap_or(2);
    if exponent == 0 {
        return (minor, None);
    }
    let scale = 10i64.pow(exponent);
    let whole = minor / scale;
    let fraction = (minor % scale).unsigned_abs();
    (
        whole,
        Some(format!("{fraction:0width$}", width = exponent as usize)),
    )
}

#[cfg(test)]
mod tests {
    use super::Lang;

    #[test]
    fn money_is_written_per_locale_and_currency() {
        assert_eq!(Lang::Da.money(123_450, "DKK"), "1.234,50 kr.");
        assert_eq!(Lang::En.money(123_450, "USD"), "$1,234.50");
        assert_eq!(Lang::En.money(-123_450, "USD"), "-$1,234.50");
        assert_eq!(Lang::Da.money(-5, "DKK"), "-0,05 kr.");
        assert_eq!(Lang::En.money(123_450, "DKK"), "DKK 1,234.50");
    }

    #[test]
    fn amounts_typed_in_the_locale_parse() {
        assert_eq!(Lang::Da.parse_amount("1.234,50", "DKK"), Some(123_450));
        assert_eq!(Lang::Da.parse_amount("-12,5", "DKK"), Some(-1250));
        assert_eq!(Lang::En.parse_amount("1,234.50", "USD"), Some(123_450));
        assert_eq!(Lang::En.parse_amount("abc", "USD"), None);
        assert_eq!(Lang::Da.amount_input(123_450, "DKK"), "1234,50");
        assert_eq!(Lang::Da.amount_input(-50, "DKK"), "-0,50");
    }

    #[test]
    fn accept_language_picks_danish_or_falls_back_to_english() {
        assert_eq!(Lang::negotiate("da-DK,da;q=0.9,en;q=0.8"), Lang::Da);
        assert_eq!(Lang::negotiate("de-DE,en;q=0.5"), Lang::En);
        assert_eq!(Lang::negotiate(""), Lang::En);
    }

    #[test]
    fn dates_are_shown_in_the_department_time_zone() {
        // 2026-01-15 12:00 UTC
        let ms = 1_768_478_400_000;
        assert_eq!(
            Lang::Da.date_time(ms, "Europe/Copenhagen"),
            "15.01.2026 13:00"
        );
        assert_eq!(
            Lang::En.date_time(ms, "America/New_York"),
            "Jan 15, 2026, 7:00 AM"
        );
    }

    #[test]
    fn both_languages_have_every_key() {
        let keys = |text: &str| -> Vec<String> {
            text.lines()
                .filter_map(|l| l.split_once(" =").map(|(k, _)| k.trim().to_owned()))
                .filter(|k| !k.is_empty() && !k.starts_with('#') && !k.starts_with('.'))
                .collect()
        };
        let en = keys(include_str!("locales/en/console.ftl"));
        let da = keys(include_str!("locales/da/console.ftl"));
        let missing: Vec<_> = en.iter().filter(|k| !da.contains(k)).collect();
        assert!(missing.is_empty(), "missing in Danish: {missing:?}");
        let extra: Vec<_> = da.iter().filter(|k| !en.contains(k)).collect();
        assert!(extra.is_empty(), "missing in English: {extra:?}");
    }
}
