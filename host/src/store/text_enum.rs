//! Enums stored as text. They are declared with `vetpay_domain::text_enum!`
//! (the domain's own enums live there); reading one back is here: a stored
//! text that is none of the spellings is corrupt data, never the caller's
//! mistake, so it is [`StoreError::Corrupt`] (a 500), not `Invalid` (a 422).

use sqlx::Row;
use sqlx::any::AnyRow;
use vetpay_domain::TextEnum;

use super::StoreError;

/// The enum stored as `text` in `table.column` of row `row`.
pub(crate) fn stored<T: TextEnum>(
    table: &'static str,
    column: &'static str,
    row: &str,
    text: &str,
) -> Result<T, StoreError> {
    T::parse(text).map_err(|_| StoreError::Corrupt {
        table,
        column,
        row: row.to_owned(),
        value: text.to_owned(),
    })
}

/// The enum a request names: an unknown text is the caller's to fix (422),
/// naming the type and every spelling.
pub fn parse_input<T: TextEnum>(text: &str) -> Result<T, StoreError> {
    T::parse(text).map_err(|e| {
        super::invalid(
            T::NAME,
            format!(
                "unknown value '{}'; expected one of: {}",
                e.value,
                T::VALUES.join(", ")
            ),
        )
    })
}

/// The enum in `column` of a row of `table` whose key is its `id` column.
pub(crate) fn column<T: TextEnum>(
    row: &AnyRow,
    table: &'static str,
    column: &'static str,
) -> Result<T, StoreError> {
    let text: String = row.try_get(column)?;
    let id: String = row.try_get("id")?;
    stored(table, column, &id, &text)
}

#[cfg(test)]
mod tests {
    use super::*;
    use vetpay_domain::PaymentStatus;

    #[test]
    fn an_unknown_requested_text_is_invalid_input() {
        match parse_input::<PaymentStatus>("done") {
            Err(StoreError::Invalid { field, message }) => {
                assert_eq!(field, "PaymentStatus");
                assert!(
                    message.starts_with(
                        "unknown value 'done'; expected one of: processing, succeeded"
                    ),
                    "{message}"
                );
            }
            other => panic!("expected Invalid, got {other:?}"),
        }
    }

    #[test]
    fn an_unknown_stored_text_is_corrupt_not_invalid() {
        let ok: PaymentStatus = stored("payments", "status", "p1", "succeeded").unwrap();
        assert_eq!(ok, PaymentStatus::Succeeded);
        let err = stored::<PaymentStatus>("payments", "status", "p1", "sucseeded").unwrap_err();
        match err {
            StoreError::Corrupt {
                table,
                column,
                row,
                value,
            } => {
                assert_eq!((table, column), ("payments", "status"));
                assert_eq!((row.as_str(), value.as_str()), ("p1", "sucseeded"));
            }
            other => panic!("expected Corrupt, got {other:?}"),
        }
    }
}
