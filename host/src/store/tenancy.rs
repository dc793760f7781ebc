//! Organisations, departments and API keys. Every read takes the caller's
//! organisation: another organisation's ids are simply not found.

use serde::Serialize;
use sqlx::Row;
use vetpay_money::Currency;

use super::{Store, StoreError, invalid, new_id, now_ms};

/// What an API key may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Plugins, settings, terminals and keys.
    Admin,
    /// Clients, invoices and payments.
    Staff,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Staff => "staff",
        }
    }

    pub fn parse(s: &str) -> Option<Role> {
        match s {
            "admin" => Some(Role::Admin),
            "staff" => Some(Role::Staff),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Organisation {
    pub id: String,
    pub name: String,
}

/// A key as stored: never the key itself, nor its hash.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct ApiKey {
    pub id: String,
    #[serde(skip)]
    pub organisation_id: String,
    pub role: Role,
    pub name: String,
    /// Unix milliseconds, as every time here.
    pub created_at: i64,
    /// The last use, to the minute.
    pub last_used_at: Option<i64>,
    /// After this the key is refused; null if it does not expire.
    pub expires_at: Option<i64>,
    pub revoked_at: Option<i64>,
    /// The last rotation.
    pub rotated_at: Option<i64>,
    /// Until then the secret from before the last rotation still works.
    pub previous_valid_until: Option<i64>,
}

/// A key just made (or rotated): `key` is shown this once.
#[derive(Debug, Clone)]
pub struct NewKey {
    pub key: String,
    pub info: ApiKey,
}

/// A location of an organisation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Department {
    pub id: String,
    pub organisation_id: String,
    pub name: String,
    /// ISO 3166-1 alpha-2: the market its payments belong to.
    pub country: String,
    /// ISO 4217.
    pub currency: String,
    /// IANA time zone, such as "America/New_York".
    pub time_zone: String,
}

/// What creating a department takes.
#[derive(Debug, Clone)]
pub struct NewDepartment {
    pub name: String,
    pub country: String,
    pub currency: String,
    pub time_zone: String,
}

/// The plain SHA-256 keys were stored under before the keyed hash (0008):
/// such a row authenticates once more and is then re-hashed.
pub(super) fn legacy_hash(key: &str) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(key.as_bytes()))
}

pub(super) fn check_name(field: &str, name: &str) -> Result<String, StoreError> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 200 {
        return Err(invalid(field, "give a name of 1 to 200 characters"));
    }
    // PostgreSQL cannot store one; the caller hears why.
    if name.contains('\0') {
        return Err(invalid(
            field,
            "a name cannot hold a NUL character (U+0000)",
        ));
    }
    Ok(name.to_owned())
}

impl NewDepartment {
    fn validate(&self) -> Result<Department, StoreError> {
        let name = check_name("name", &self.name)?;
        let country = self.country.trim();
        let upper = country.len() == 2 && country.bytes().all(|b| b.is_ascii_uppercase());
        if !upper || isocountry::CountryCode::for_alpha2(country).is_err() {
            return Err(invalid(
                "country",
                format!("'{country}' is not an ISO 3166-1 alpha-2 code such as \"US\" or \"DK\""),
            ));
        }
        let currency = Currency::parse(self.currency.trim())
            .map_err(|e| invalid("currency", e.to_string()))?;
        if jiff::tz::TimeZone::get(&self.time_zone).is_err() {
            return Err(invalid(
                "time_zone",
                format!(
                    "'{}' is not an IANA time zone such as \"Europe/Copenhagen\"",
                    self.time_zone
                ),
            ));
        }
        Ok(Department {
            id: new_id(),
            organisation_id: String::new(),
            name,
            country: country.to_owned(),
            currency: currency.code().to_owned(),
            time_zone: self.time_zone.clone(),
        })
    }
}

fn department_of(row: &sqlx::any::AnyRow) -> Result<Department, sqlx::Error> {
    Ok(Department {
        id: row.try_get("id")?,
        organisation_id: row.try_get("organisation_id")?,
        name: row.try_get("name")?,
        country: row.try_get("country")?,
        currency: row.try_get("currency")?,
        time_zone: row.try_get("time_zone")?,
    })
}

impl Store {
    /// Every organisation's id, for jobs that serve them all.
    pub async fn organisation_ids(&self) -> Result<Vec<String>, StoreError> {
        let rows = sqlx::query("SELECT id FROM organisations ORDER BY created_at")
            .fetch_all(self.pool())
            .await?;
        Ok(rows
            .iter()
            .map(|r| r.try_get("id"))
            .collect::<Result<_, _>>()?)
    }

    pub async fn create_department(
        &self,
        organisation_id: &str,
        new: &NewDepartment,
    ) -> Result<Department, StoreError> {
        let mut department = new.validate()?;
        department.organisation_id = organisation_id.to_owned();
        self.execute_write(
            sqlx::query(
            "INSERT INTO departments (id, organisation_id, name, country, currency, time_zone, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(&department.id)
        .bind(&department.organisation_id)
        .bind(&department.name)
        .bind(&department.country)
        .bind(&department.currency)
        .bind(&department.time_zone)
        .bind(now_ms()),
        )
        .await?;
        Ok(department)
    }

    /// The organisation's departments, by name.
    pub async fn departments(&self, organisation_id: &str) -> Result<Vec<Department>, StoreError> {
        let rows = sqlx::query(
            "SELECT id, organisation_id, name, country, currency, time_zone FROM departments \
             WHERE organisation_id = $1 ORDER BY name, id",
        )
        .bind(organisation_id)
        .fetch_all(self.pool())
        .await?;
        Ok(rows.iter().map(department_of).collect::<Result<_, _>>()?)
    }

    /// One department of the organisation; another organisation's is not found.
    pub async fn department(
        &self,
        organisation_id: &str,
        id: &str,
    ) -> Result<Option<Department>, StoreError> {
        let row = sqlx::query(
            "SELECT id, organisation_id, name, country, currency, time_zone FROM departments \
             WHERE organisation_id = $1 AND id = $2",
        )
        .bind(organisation_id)
        .bind(id)
        .fetch_optional(self.pool())
        .await?;
        Ok(row.as_ref().map(department_of).transpose()?)
    }
}
