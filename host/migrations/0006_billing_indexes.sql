-- A paid plan invoice settles its month by invoice id (store/billing.rs
-- period_paid); without this index every payment scanned every month.
CREATE INDEX billing_periods_by_invoice ON billing_periods (invoice_id);
