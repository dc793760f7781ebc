//! Typed ids: text (UUIDs, or `subscription:YYYY-MM` for a billed month) that
//! cannot be mixed up with one another in the domain's APIs. Each is sent and
//! stored as the plain string.

use std::fmt;

use serde::{Deserialize, Serialize};

macro_rules! ids {
    ($($(#[$meta:meta])* $name:ident,)+) => {
        $(
            $(#[$meta])*
            #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
            #[serde(transparent)]
            pub struct $name(pub String);

            impl $name {
                pub fn new(id: impl Into<String>) -> Self {
                    Self(id.into())
                }

                pub fn as_str(&self) -> &str {
                    &self.0
                }
            }

            impl fmt::Display for $name {
                fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                    f.write_str(&self.0)
                }
            }

            impl From<String> for $name {
                fn from(id: String) -> Self {
                    Self(id)
                }
            }

            impl From<&str> for $name {
                fn from(id: &str) -> Self {
                    Self(id.to_owned())
                }
            }

            impl AsRef<str> for $name {
                fn as_ref(&self) -> &str {
                    &self.0
                }
            }

            // An id reads as the text it is, so the store, which speaks
            // text, takes `&id` where it wants `&str`.
            impl std::ops::Deref for $name {
                type Target = str;

                fn deref(&self) -> &str {
                    &self.0
                }
            }

            impl PartialEq<str> for $name {
                fn eq(&self, other: &str) -> bool {
                    self.0 == other
                }
            }

            impl PartialEq<&str> for $name {
                fn eq(&self, other: &&str) -> bool {
                    self.0 == *other
                }
            }

            impl PartialEq<String> for $name {
                fn eq(&self, other: &String) -> bool {
                    &self.0 == other
                }
            }
        )+
    };
}

ids! {
    OrganisationId,
    DepartmentId,
    ClientId,
    PatientId,
    InvoiceId,
    PaymentId,
    PlanId,
    SubscriptionId,
    TerminalId,
    CardId,
    /// A subscription's month in `billing_periods`.
    BillingPeriodId,
}

impl BillingPeriodId {
    /// The id of a subscription's month: `subscription:YYYY-MM`. Being the
    /// same however often a month is billed is what makes billing idempotent.
    pub fn of(subscription: &SubscriptionId, period: crate::Period) -> Self {
        Self(format!("{subscription}:{period}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_billed_month_has_one_id() {
        let p = crate::Period::parse("2026-03").unwrap();
        let id = BillingPeriodId::of(&SubscriptionId::new("s-1"), p);
        assert_eq!(id.as_str(), "s-1:2026-03");
    }

    #[test]
    fn ids_are_plain_strings_on_the_wire() {
        let id = PlanId::new("p-1");
        assert_eq!(id.as_str(), "p-1");
        assert_eq!(id.to_string(), "p-1");
        assert_eq!(PlanId::from("p-1"), id);
        assert_eq!(serde_json::to_string(&id).unwrap(), "\"p-1\"");
        let back: PlanId = serde_json::from_str("\"p-1\"").unwrap();
        assert_eq!(back, id);
    }
}
