//! Typed settings of an organisation and of its departments. Each setting is
//! defined here once, with its scope, type, default and labels in English and
//! Danish; a value is checked against its definition before it is written.

use serde::Serialize;
use serde_json::Value;
use sqlx::Row;

use super::{Store, StoreError, invalid, now_ms};

/// Where a setting is set.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Scope {
    Organisation,
    Department,
}

/// The type of a setting's value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    Boolean,
    /// A whole number within `min..=max`.
    Integer {
        min: i64,
        max: i64,
    },
    /// Text of 1 to `max` characters.
    Text {
        max: usize,
    },
}

/// One setting vetpay knows.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Definition {
    pub key: &'static str,
    pub scope: Scope,
    pub kind: Kind,
    pub default: Value,
    pub label_en: &'static str,
    pub label_da: &'static str,
}

/// Every setting, in the order an admin sees them.
pub fn definitions() -> Vec<Definition> {
    vec![
        Definition {
            key: "health-plans-enabled",
            scope: Scope::Organisation,
            kind: Kind::Boolean,
            default: Value::Bool(false),
            label_en: "Health plan add-on",
            label_da: "Sundhedsplan-tilvalg",
        },
        Definition {
            key: "health-plan-term",
            scope: Scope::Organisation,
            kind: Kind::Text { max: 40 },
            default: Value::from("Health plan"),
            label_en: "What the organisation calls a health plan",
            label_da: "Hvad organisationen kalder en sundhedsplan",
        },
        Definition {
            key: "health-plan-failures-before-suspension",
            scope: Scope::Organisation,
            kind: Kind::Integer { min: 1, max: 12 },
            default: Value::from(3),
            label_en: "Failed health-plan charges before the plan is suspended",
            label_da: "Mislykkede sundhedsplan-træk før planen suspenderes",
        },
        Definition {
            key: "health-plan-retry-hours",
            scope: Scope::Organisation,
            kind: Kind::Integer { min: 0, max: 720 },
            default: Value::from(72),
            label_en: "Hours before a failed health-plan charge is tried again",
            label_da: "Timer før et mislykket sundhedsplan-træk prøves igen",
        },
        Definition {
            key: "invoice-due-days",
            scope: Scope::Organisation,
            kind: Kind::Integer { min: 0, max: 365 },
            default: Value::from(14),
            label_en: "Days until an invoice is due",
            label_da: "Dage til en faktura forfalder",
        },
        Definition {
            key: "gravity-recurring-payments",
            scope: Scope::Department,
            kind: Kind::Boolean,
            default: Value::Bool(false),
            label_en: "Allow gravity payment for recurring payment",
            label_da: "Tillad Gravity-betaling til tilbagevendende betaling",
        },
        Definition {
            key: CATALOG_PRICE_OVERRIDE,
            scope: Scope::Department,
            kind: Kind::Boolean,
            default: Value::Bool(false),
            label_en: "Staff may change the price of a catalog item on an invoice",
            label_da: "Personalet må ændre prisen på en katalogvare på en faktura",
        },
    ]
}

/// A setting with its current value.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct SettingValue {
    #[serde(flatten)]
    pub definition: Definition,
    pub value: Value,
}

impl Definition {
    fn check(&self, value: &Value) -> Result<(), StoreError> {
        let ok = match self.kind {
            Kind::Boolean => value.is_boolean(),
            Kind::Integer { min, max } => value.as_i64().is_some_and(|v| (min..=max).contains(&v)),
            Kind::Text { max } => value
                .as_str()
                .is_some_and(|t| !t.trim().is_empty() && t.chars().count() <= max),
        };
        if ok {
            return Ok(());
        }
        let expected = match self.kind {
            Kind::Boolean => "true or false".to_owned(),
            Kind::Integer { min, max } => format!("a whole number from {min} to {max}"),
            Kind::Text { max } => format!("text of 1 to {max} characters"),
        };
        Err(invalid(
            self.key,
            format!("expects {expected}, got {value}"),
        ))
    }
}

/// The department setting that lets an invoice line of a catalog item carry
/// another price than the catalog's.
pub const CATALOG_PRICE_OVERRIDE: &str = "catalog-price-override";

/// The department setting that allows recurring charges on saved Gravity cards
/// (and showing them on the client's billing view).
pub const GRAVITY_RECURRING: &str = "gravity-recurring-payments";

fn level(department_id: Option<&str>) -> (Scope, &str) {
    match department_id {
        Some(d) => (Scope::Department, d),
        None => (Scope::Organisation, ""),
    }
}

impl Store {
    /// One setting's value (or its default) at one level; null for a key
    /// vetpay does not define there.
    pub async fn setting(
        &self,
        organisation_id: &str,
        department_id: Option<&str>,
        key: &str,
    ) -> Result<Value, StoreError> {
        Ok(self
            .settings(organisation_id, department_id)
            .await?
            .into_iter()
            .find(|s| s.definition.key == key)
            .map_or(Value::Null, |s| s.value))
    }

    /// Whether a department allows recurring charges on saved Gravity cards.
    pub async fn gravity_recurring_allowed(
        &self,
        organisation_id: &str,
        department_id: &str,
    ) -> Result<bool, StoreError> {
        Ok(self
            .setting(organisation_id, Some(department_id), GRAVITY_RECURRING)
            .await?
            == Value::Bool(true))
    }

    /// The settings of the organisation (`department_id` None) or of one of its
    /// departments, each with its value or default.
    pub async fn settings(
        &self,
        organisation_id: &str,
        department_id: Option<&str>,
    ) -> Result<Vec<SettingValue>, StoreError> {
        let (scope, department) = level(department_id);
        let rows = sqlx::query(
            "SELECT key, value FROM settings WHERE organisation_id = $1 AND department_id = $2",
        )
        .bind(organisation_id)
        .bind(department)
        .fetch_all(self.pool())
        .await?;
        let mut stored = std::collections::HashMap::new();
        for row in rows {
            let key: String = row.try_get("key")?;
            let text: String = row.try_get("value")?;
            if let Ok(value) = serde_json::from_str::<Value>(&text) {
                stored.insert(key, value);
            }
        }
        Ok(definitions()
            .into_iter()
            .filter(|d| d.scope == scope)
            .map(|d| SettingValue {
                value: stored.remove(d.key).unwrap_or_else(|| d.default.clone()),
                definition: d,
            })
            .collect())
    }

    /// Sets several settings at once: all are checked first, and none is
    /// written unless every one is valid.
    pub async fn set_settings(
        &self,
        organisation_id: &str,
        department_id: Option<&str>,
        values: &serde_json::Map<String, Value>,
    ) -> Result<Vec<SettingValue>, StoreError> {
        let (scope, department) = level(department_id);
        let defs = definitions();
        for (key, value) in values {
            let Some(def) = defs.iter().find(|d| d.key == key) else {
                let known: Vec<&str> = defs
                    .iter()
                    .filter(|d| d.scope == scope)
                    .map(|d| d.key)
                    .collect();
                return Err(invalid(
                    key,
                    format!("no such setting; known here: {}", known.join(", ")),
                ));
            };
            if def.scope != scope {
                let where_ = match def.scope {
                    Scope::Organisation => "for the organisation (/v1/settings)",
                    Scope::Department => "per department (/v1/departments/{id}/settings)",
                };
                return Err(invalid(key, format!("is set {where_}")));
            }
            def.check(value)?;
        }
        let mut tx = self.write().await?;
        for (key, value) in values {
            sqlx::query(
                "INSERT INTO settings (organisation_id, department_id, key, value, updated_at) VALUES ($1, $2, $3, $4, $5) \
                 ON CONFLICT (organisation_id, department_id, key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
            )
            .bind(organisation_id)
            .bind(department)
            .bind(key)
            .bind(value.to_string())
            .bind(now_ms())
            .execute(&mut *tx.tx)
            .await?;
        }
        tx.commit().await?;
        self.settings(organisation_id, department_id).await
    }
}
