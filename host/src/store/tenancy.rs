//! Organisations, departments and API keys. Every read takes the caller's
//! organisation: another organisation's ids are simply not found.

use serde::Serialize;
use sqlx::Row;
use vetpay_money::Currency;

use super::{Store, StoreError, invalid, now_ms};

/// What an API key may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Plugins, settings, terminals and keys.
    Admin,
    /// Clients, invoices and payments.
    Staff,
}

impl Role {
    fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Staff => "staff",
        }
    }

    fn parse(s: &str) -> Option<Role> {
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

/// A key as stored: never the key itself.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ApiKey {
    pub id: String,
    pub organisation_id: String,
    pub role: Role,
    pub label: String,
}

/// A key just made: `key` is shown this once.
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

fn hash_key(key: &str) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(key.as_bytes()))
}

fn new_id() -> String {
    uuid::Uuid::new_v4().to_string()
}

fn check_name(field: &str, name: &str) -> Result<String, StoreError> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 200 {
        return Err(invalid(field, "give a name of 1 to 200 characters"));
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
    /// Creates an organisation and its first admin key.
    pub async fn create_organisation(
        &self,
        name: &str,
    ) -> Result<(Organisation, NewKey), StoreError> {
        let org = Organisation {
            id: new_id(),
            name: check_name("name", name)?,
        };
        let mut tx = self.pool().begin().await?;
        sqlx::query("INSERT INTO organisations (id, name, created_at) VALUES ($1, $2, $3)")
            .bind(&org.id)
            .bind(&org.name)
            .bind(now_ms())
            .execute(&mut *tx)
            .await?;
        let key = insert_key(&mut tx, &org.id, Role::Admin, "first admin key").await?;
        tx.commit().await?;
        Ok((org, key))
    }

    /// Makes another key for `organisation_id`.
    /// Registers a key chosen by the caller (a script driving the demo); it
    /// must be long enough not to be guessed.
    pub async fn create_api_key_with(
        &self,
        organisation_id: &str,
        role: Role,
        label: &str,
        key: &str,
    ) -> Result<NewKey, StoreError> {
        if key.len() < 16 || !key.chars().all(|c| c.is_ascii_graphic()) {
            return Err(invalid(
                "key",
                "an API key is at least 16 visible ASCII characters",
            ));
        }
        let label = check_name("label", label)?;
        let mut tx = self.pool().begin().await?;
        let key = insert_given_key(&mut tx, organisation_id, role, &label, key.to_owned()).await?;
        tx.commit().await?;
        Ok(key)
    }

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

    pub async fn create_api_key(
        &self,
        organisation_id: &str,
        role: Role,
        label: &str,
    ) -> Result<NewKey, StoreError> {
        let label = check_name("label", label)?;
        let mut tx = self.pool().begin().await?;
        let key = insert_key(&mut tx, organisation_id, role, &label).await?;
        tx.commit().await?;
        Ok(key)
    }

    /// The key's organisation and role, unless it is unknown or revoked.
    pub async fn authenticate(&self, key: &str) -> Result<Option<ApiKey>, StoreError> {
        let row = sqlx::query(
            "SELECT id, organisation_id, role, label FROM api_keys WHERE key_hash = $1 AND revoked_at IS NULL",
        )
        .bind(hash_key(key))
        .fetch_optional(self.pool())
        .await?;
        let Some(row) = row else { return Ok(None) };
        let role: String = row.try_get("role")?;
        Ok(Role::parse(&role).map(|role| ApiKey {
            id: row.try_get("id").unwrap_or_default(),
            organisation_id: row.try_get("organisation_id").unwrap_or_default(),
            role,
            label: row.try_get("label").unwrap_or_default(),
        }))
    }

    /// Revokes a key of `organisation_id`; false if it has no such key.
    pub async fn revoke_api_key(
        &self,
        organisation_id: &str,
        key_id: &str,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE api_keys SET revoked_at = $1 WHERE id = $2 AND organisation_id = $3 AND revoked_at IS NULL",
        )
        .bind(now_ms())
        .bind(key_id)
        .bind(organisation_id)
        .execute(self.pool())
        .await?;
        Ok(done.rows_affected() == 1)
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

async fn insert_key(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    organisation_id: &str,
    role: Role,
    label: &str,
) -> Result<NewKey, StoreError> {
    // 256 random bits; the prefix says what it is when it turns up in a config file.
    let key = format!(
        "vpk_{}_{}{}",
        role.as_str(),
        uuid::Uuid::new_v4().simple(),
        uuid::Uuid::new_v4().simple()
    );
    insert_given_key(tx, organisation_id, role, label, key).await
}

async fn insert_given_key(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    organisation_id: &str,
    role: Role,
    label: &str,
    key: String,
) -> Result<NewKey, StoreError> {
    let info = ApiKey {
        id: new_id(),
        organisation_id: organisation_id.to_owned(),
        role,
        label: label.to_owned(),
    };
    sqlx::query(
        "INSERT INTO api_keys (id, organisation_id, role, key_hash, label, created_at) VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(&info.id)
    .bind(organisation_id)
    .bind(role.as_str())
    .bind(hash_key(&key))
    .bind(label)
    .bind(now_ms())
    .execute(&mut **tx)
    .await?;
    Ok(NewKey { key, info })
}
