-- A claim reads back the rows it leased by their lease owner
-- (store/billing.rs claim_billing_batch).
CREATE INDEX billing_periods_by_lease_owner ON billing_periods (lease_owner);
