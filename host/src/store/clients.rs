//! Clients (the animals' owners), their patients, and their saved cards.

use serde::Serialize;
use sqlx::Row;
use sqlx::any::AnyRow;

use super::{Store, StoreError, flag, invalid, new_id, now_ms};

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Client {
    pub id: String,
    pub name: String,
    pub email: Option<String>,
    pub phone: Option<String>,
}

#[derive(Debug, Clone)]
pub struct NewClient {
    pub name: String,
    pub email: Option<String>,
    pub phone: Option<String>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Patient {
    pub id: String,
    pub client_id: String,
    pub name: String,
    pub species: String,
    /// ISO date, for plans with age limits.
    pub birth_date: Option<String>,
    /// The organisation's health-plan tag (its own term) while the patient has an active plan.
    pub health_plan: Option<String>,
}

#[derive(Debug, Clone)]
pub struct NewPatient {
    pub name: String,
    pub species: String,
    pub birth_date: Option<String>,
}

/// A card saved through a plugin. The provider's token stays in the database.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Card {
    pub id: String,
    pub client_id: String,
    pub department_id: String,
    pub plugin_id: String,
    pub masked_pan: String,
    pub brand: Option<String>,
    pub expiry: Option<String>,
    pub is_default: bool,
    #[serde(skip)]
    pub token: String,
}

#[derive(Debug, Clone)]
pub struct NewCard {
    pub department_id: String,
    pub plugin_id: String,
    pub token: String,
    pub masked_pan: String,
    pub brand: Option<String>,
    pub expiry: Option<String>,
}

fn required(field: &str, value: &str, hint: &str) -> Result<(), StoreError> {
    if value.trim().is_empty() {
        Err(invalid(field, hint))
    } else {
        Ok(())
    }
}

fn card(row: &AnyRow) -> Result<Card, StoreError> {
    Ok(Card {
        id: row.try_get("id")?,
        client_id: row.try_get("client_id")?,
        department_id: row.try_get("department_id")?,
        plugin_id: row.try_get("plugin_id")?,
        masked_pan: row.try_get("masked_pan")?,
        brand: row.try_get("brand")?,
        expiry: row.try_get("expiry")?,
        is_default: row.try_get::<i64, _>("is_default")? == 1,
        token: row.try_get("token")?,
    })
}

impl Store {
    pub async fn create_client(
        &self,
        organisation_id: &str,
        new: NewClient,
    ) -> Result<Client, StoreError> {
        required("name", &new.name, "give the client's name")?;
        if let Some(email) = &new.email
            && !email.contains('@')
        {
            return Err(invalid(
                "email",
                format!("'{email}' is not an e-mail address"),
            ));
        }
        let id = new_id();
        let mut tx = self.write().await?;
        sqlx::query(
            "INSERT INTO clients (id, organisation_id, name, email, phone, created_at) VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(&id)
        .bind(organisation_id)
        .bind(new.name.trim())
        .bind(&new.email)
        .bind(&new.phone)
        .bind(now_ms())
        .execute(&mut *tx.tx)
        .await?;
        tx.commit().await?;
        Ok(Client {
            id,
            name: new.name.trim().to_owned(),
            email: new.email,
            phone: new.phone,
        })
    }

    pub async fn client(
        &self,
        organisation_id: &str,
        id: &str,
    ) -> Result<Option<Client>, StoreError> {
        let row = sqlx::query(
            "SELECT id, name, email, phone FROM clients WHERE organisation_id = $1 AND id = $2",
        )
        .bind(organisation_id)
        .bind(id)
        .fetch_optional(self.pool())
        .await?;
        row.map(|r| {
            Ok(Client {
                id: r.try_get("id")?,
                name: r.try_get("name")?,
                email: r.try_get("email")?,
                phone: r.try_get("phone")?,
            })
        })
        .transpose()
    }

    pub async fn clients(&self, organisation_id: &str) -> Result<Vec<Client>, StoreError> {
        let rows = sqlx::query(
            "SELECT id, name, email, phone FROM clients WHERE organisation_id = $1 ORDER BY name, id",
        )
        .bind(organisation_id)
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|r| {
                Ok(Client {
                    id: r.try_get("id")?,
                    name: r.try_get("name")?,
                    email: r.try_get("email")?,
                    phone: r.try_get("phone")?,
                })
            })
            .collect()
    }

    pub async fn create_patient(
        &self,
        organisation_id: &str,
        client_id: &str,
        new: NewPatient,
    ) -> Result<Patient, StoreError> {
        required("name", &new.name, "give the patient's name")?;
        required(
            "species",
            &new.species,
            "give the patient's species, such as dog or cat",
        )?;
        if let Some(b) = &new.birth_date
            && b.parse::<jiff::civil::Date>().is_err()
        {
            return Err(invalid(
                "birth_date",
                format!("'{b}' is not a date like 2024-05-17"),
            ));
        }
        let id = new_id();
        let mut tx = self.write().await?;
        sqlx::query(
            "INSERT INTO patients (id, organisation_id, client_id, name, species, birth_date, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(&id)
        .bind(organisation_id)
        .bind(client_id)
        .bind(new.name.trim())
        .bind(new.species.trim().to_lowercase())
        .bind(&new.birth_date)
        .bind(now_ms())
        .execute(&mut *tx.tx)
        .await?;
        tx.commit().await?;
        Ok(Patient {
            id,
            client_id: client_id.to_owned(),
            name: new.name.trim().to_owned(),
            species: new.species.trim().to_lowercase(),
            birth_date: new.birth_date,
            health_plan: None,
        })
    }

    pub async fn patients(
        &self,
        organisation_id: &str,
        client_id: &str,
    ) -> Result<Vec<Patient>, StoreError> {
        let rows = sqlx::query(
            "SELECT p.id AS id, p.client_id AS client_id, p.name AS name, p.species AS species, p.birth_date AS birth_date, \
             (SELECT COUNT(*) FROM subscriptions s WHERE s.patient_id = p.id AND s.status = 'active') AS plans \
             FROM patients p WHERE p.organisation_id = $1 AND p.client_id = $2 ORDER BY p.name, p.id",
        )
        .bind(organisation_id)
        .bind(client_id)
        .fetch_all(self.pool())
        .await?;
        let mut term: Option<String> = None;
        let mut out = Vec::with_capacity(rows.len());
        for r in &rows {
            let member = r.try_get::<i64, _>("plans")? > 0;
            if member && term.is_none() {
                term = Some(self.health_plan_term(organisation_id).await?);
            }
            out.push(Patient {
                id: r.try_get("id")?,
                client_id: r.try_get("client_id")?,
                name: r.try_get("name")?,
                species: r.try_get("species")?,
                birth_date: r.try_get("birth_date")?,
                health_plan: if member { term.clone() } else { None },
            });
        }
        Ok(out)
    }

    /// What the organisation calls a health plan (its tag on members).
    pub async fn health_plan_term(&self, organisation_id: &str) -> Result<String, StoreError> {
        Ok(self
            .setting(organisation_id, None, "health-plan-term")
            .await?
            .as_str()
            .map_or_else(|| "Health plan".into(), str::to_owned))
    }

    /// Saves a card; the client's first card becomes the default.
    pub async fn add_card(
        &self,
        organisation_id: &str,
        client_id: &str,
        new: NewCard,
    ) -> Result<Card, StoreError> {
        let id = new_id();
        let mut tx = self.write().await?;
        let existing = sqlx::query(
            "SELECT COUNT(*) AS n FROM cards WHERE organisation_id = $1 AND client_id = $2 AND deleted_at IS NULL",
        )
        .bind(organisation_id)
        .bind(client_id)
        .fetch_one(&mut *tx.tx)
        .await?
        .try_get::<i64, _>("n")?;
        sqlx::query(
            "INSERT INTO cards (id, organisation_id, client_id, department_id, plugin_id, token, masked_pan, brand, expiry, is_default, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
        )
        .bind(&id)
        .bind(organisation_id)
        .bind(client_id)
        .bind(&new.department_id)
        .bind(&new.plugin_id)
        .bind(&new.token)
        .bind(&new.masked_pan)
        .bind(&new.brand)
        .bind(&new.expiry)
        .bind(flag(existing == 0))
        .bind(now_ms())
        .execute(&mut *tx.tx)
        .await?;
        tx.commit().await?;
        self.card(organisation_id, client_id, &id)
            .await?
            .ok_or_else(|| invalid("card", "vanished after saving"))
    }

    /// The client's cards that are not deleted, the default first.
    pub async fn cards(
        &self,
        organisation_id: &str,
        client_id: &str,
    ) -> Result<Vec<Card>, StoreError> {
        let rows = sqlx::query(
            "SELECT * FROM cards WHERE organisation_id = $1 AND client_id = $2 AND deleted_at IS NULL ORDER BY is_default DESC, created_at",
        )
        .bind(organisation_id)
        .bind(client_id)
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(card).collect()
    }

    pub async fn card(
        &self,
        organisation_id: &str,
        client_id: &str,
        id: &str,
    ) -> Result<Option<Card>, StoreError> {
        let row = sqlx::query(
            "SELECT * FROM cards WHERE organisation_id = $1 AND client_id = $2 AND id = $3 AND deleted_at IS NULL",
        )
        .bind(organisation_id)
        .bind(client_id)
        .bind(id)
        .fetch_optional(self.pool())
        .await?;
        row.as_ref().map(card).transpose()
    }

    /// Makes `id` the client's one default card; false if there is no such card.
    pub async fn set_default_card(
        &self,
        organisation_id: &str,
        client_id: &str,
        id: &str,
    ) -> Result<bool, StoreError> {
        let mut tx = self.write().await?;
        let found = sqlx::query(
            "UPDATE cards SET is_default = 1 WHERE organisation_id = $1 AND client_id = $2 AND id = $3 AND deleted_at IS NULL",
        )
        .bind(organisation_id)
        .bind(client_id)
        .bind(id)
        .execute(&mut *tx.tx)
        .await?
        .rows_affected()
            == 1;
        if found {
            sqlx::query(
                "UPDATE cards SET is_default = 0 WHERE organisation_id = $1 AND client_id = $2 AND id <> $3",
            )
            .bind(organisation_id)
            .bind(client_id)
            .bind(id)
            .execute(&mut *tx.tx)
            .await?;
            tx.commit().await?;
        }
        Ok(found)
    }

    /// Deletes a card; if it was the default, the newest remaining card takes over.
    pub async fn delete_card(
        &self,
        organisation_id: &str,
        client_id: &str,
        id: &str,
    ) -> Result<bool, StoreError> {
        let mut tx = self.write().await?;
        let found = sqlx::query(
            "UPDATE cards SET deleted_at = $1, is_default = 0 WHERE organisation_id = $2 AND client_id = $3 AND id = $4 AND deleted_at IS NULL",
        )
        .bind(now_ms())
        .bind(organisation_id)
        .bind(client_id)
        .bind(id)
        .execute(&mut *tx.tx)
        .await?
        .rows_affected()
            == 1;
        if found {
            // A plan paid by this card cannot go on: it lapses.
            sqlx::query(
                "UPDATE subscriptions SET status = 'lapsed', closed_at = $1, close_reason = 'its card was deleted' \
                 WHERE card_id = $2 AND status IN ('applied', 'active', 'suspended')",
            )
            .bind(now_ms())
            .bind(id)
            .execute(&mut *tx.tx)
            .await?;
            let has_default = sqlx::query(
                "SELECT COUNT(*) AS n FROM cards WHERE organisation_id = $1 AND client_id = $2 AND deleted_at IS NULL AND is_default = 1",
            )
            .bind(organisation_id)
            .bind(client_id)
            .fetch_one(&mut *tx.tx)
            .await?
            .try_get::<i64, _>("n")?;
            if has_default == 0 {
                let newest = sqlx::query(
                    "SELECT id FROM cards WHERE organisation_id = $1 AND client_id = $2 AND deleted_at IS NULL ORDER BY created_at DESC LIMIT 1",
                )
                .bind(organisation_id)
                .bind(client_id)
                .fetch_optional(&mut *tx.tx)
                .await?;
                if let Some(row) = newest {
                    let next: String = row.try_get("id")?;
                    sqlx::query("UPDATE cards SET is_default = 1 WHERE id = $1")
                        .bind(next)
                        .execute(&mut *tx.tx)
                        .await?;
                }
            }
            tx.commit().await?;
        }
        Ok(found)
    }
}
