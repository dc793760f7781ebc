//! Tenancy in the store, on embedded SQLite and on PostgreSQL (see `support`).

mod support;

use support::stores;
use vetpay::store::{NewDepartment, Role, StoreError};

fn dk() -> NewDepartment {
    NewDepartment {
        name: "Aarhus Dyreklinik".into(),
        country: "DK".into(),
        currency: "DKK".into(),
        time_zone: "Europe/Copenhagen".into(),
    }
}

#[tokio::test]
async fn an_organisation_starts_with_one_admin_key() {
    for store in stores().await {
        let (org, key) = store.create_organisation("Happy Paws").await.unwrap();
        assert!(key.key.starts_with("vpk_admin_"));
        let found = store
            .authenticate(&key.key)
            .await
            .unwrap()
            .expect("the key works");
        assert_eq!(
            (found.organisation_id.as_str(), found.role),
            (org.id.as_str(), Role::Admin)
        );
        assert!(
            store
                .authenticate("vpk_admin_forged")
                .await
                .unwrap()
                .is_none()
        );

        let staff = store
            .create_api_key(&org.id, Role::Staff, "front desk")
            .await
            .unwrap();
        assert_eq!(
            store.authenticate(&staff.key).await.unwrap().unwrap().role,
            Role::Staff
        );
        assert!(store.revoke_api_key(&org.id, &staff.info.id).await.unwrap());
        assert!(
            store.authenticate(&staff.key).await.unwrap().is_none(),
            "revoked"
        );
    }
}

#[tokio::test]
async fn departments_belong_to_one_organisation() {
    for store in stores().await {
        let (a, _) = store.create_organisation("Clinic A").await.unwrap();
        let (b, _) = store.create_organisation("Clinic B").await.unwrap();
        let dep = store.create_department(&a.id, &dk()).await.unwrap();
        assert_eq!(store.departments(&a.id).await.unwrap(), vec![dep.clone()]);
        assert!(store.departments(&b.id).await.unwrap().is_empty());
        assert_eq!(
            store.department(&a.id, &dep.id).await.unwrap(),
            Some(dep.clone())
        );
        assert_eq!(
            store.department(&b.id, &dep.id).await.unwrap(),
            None,
            "another organisation's id is not found"
        );
        // Another organisation cannot revoke A's keys either.
        let key = store
            .create_api_key(&a.id, Role::Staff, "desk")
            .await
            .unwrap();
        assert!(!store.revoke_api_key(&b.id, &key.info.id).await.unwrap());
    }
}

#[tokio::test]
async fn bad_department_input_is_refused_with_what_to_fix() {
    for store in stores().await {
        let (org, _) = store.create_organisation("Clinic").await.unwrap();
        for (edit, field) in [
            (
                NewDepartment {
                    country: "Denmark".into(),
                    ..dk()
                },
                "country",
            ),
            (
                NewDepartment {
                    country: "XX".into(),
                    ..dk()
                },
                "country",
            ),
            (
                NewDepartment {
                    currency: "dkk".into(),
                    ..dk()
                },
                "currency",
            ),
            (
                NewDepartment {
                    time_zone: "Mars/Olympus".into(),
                    ..dk()
                },
                "time_zone",
            ),
            (
                NewDepartment {
                    name: "  ".into(),
                    ..dk()
                },
                "name",
            ),
        ] {
            match store.create_department(&org.id, &edit).await {
                Err(StoreError::Invalid { field: f, message }) => {
                    assert_eq!(f, field, "{message}");
                    assert!(!message.is_empty());
                }
                other => panic!("{field}: expected a refusal, got {other:?}"),
            }
        }
        assert!(
            store.departments(&org.id).await.unwrap().is_empty(),
            "nothing was written"
        );
    }
}
