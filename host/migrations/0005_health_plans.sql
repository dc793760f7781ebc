-- Health plans: the catalog, subscriptions, their billing periods and runs,
-- and what links invoices and their lines to a subscription.

CREATE TABLE plans (
    id TEXT PRIMARY KEY,
    organisation_id TEXT NOT NULL REFERENCES organisations (id),
    name TEXT NOT NULL,
    description TEXT NOT NULL,
    -- '' for any species.
    species TEXT NOT NULL,
    min_age_months BIGINT,
    max_age_months BIGINT,
    -- Sale window, ISO dates (inclusive); NULL for open.
    sale_from TEXT,
    sale_until TEXT,
    main_department_id TEXT NOT NULL REFERENCES departments (id),
    currency TEXT NOT NULL,
    contract_months BIGINT NOT NULL,
    monthly_price BIGINT NOT NULL,
    upfront_price BIGINT NOT NULL,
    cancellation_fee BIGINT NOT NULL,
    renews BIGINT NOT NULL,
    next_plan_id TEXT REFERENCES plans (id),
    created_at BIGINT NOT NULL
);

CREATE INDEX plans_by_organisation ON plans (organisation_id);

-- Included items: `quantity` per contract at `discount_percent` off (100: free);
-- `unit_price` is the item's normal price, for lines and for settlements.
CREATE TABLE plan_items (
    plan_id TEXT NOT NULL REFERENCES plans (id),
    code TEXT NOT NULL,
    description TEXT NOT NULL,
    quantity TEXT NOT NULL,
    discount_percent TEXT NOT NULL,
    unit_price BIGINT NOT NULL,
    vat_rate TEXT NOT NULL,
    PRIMARY KEY (plan_id, code)
);

CREATE TABLE subscriptions (
    id TEXT PRIMARY KEY,
    organisation_id TEXT NOT NULL REFERENCES organisations (id),
    plan_id TEXT NOT NULL REFERENCES plans (id),
    client_id TEXT NOT NULL REFERENCES clients (id),
    patient_id TEXT NOT NULL REFERENCES patients (id),
    department_id TEXT NOT NULL REFERENCES departments (id),
    payment_option TEXT NOT NULL CHECK (payment_option IN ('monthly_invoice', 'saved_card', 'third_party', 'manual', 'advance')),
    card_id TEXT REFERENCES cards (id),
    status TEXT NOT NULL CHECK (status IN ('applied', 'active', 'suspended', 'lapsed', 'ended')),
    -- First month of the contract and the month after its last, as YYYY-MM.
    start_period TEXT NOT NULL,
    end_period TEXT NOT NULL,
    failed_charges BIGINT NOT NULL,
    renewed_from TEXT REFERENCES subscriptions (id),
    created_at BIGINT NOT NULL,
    activated_at BIGINT,
    closed_at BIGINT,
    close_reason TEXT
);

CREATE INDEX subscriptions_by_organisation ON subscriptions (organisation_id, status);
CREATE INDEX subscriptions_by_patient ON subscriptions (patient_id);

-- One row per subscription and month that is billed: the anchor that makes a
-- billing run idempotent. Its payment is written before the card is charged.
CREATE TABLE billing_periods (
    id TEXT PRIMARY KEY,
    organisation_id TEXT NOT NULL,
    subscription_id TEXT NOT NULL REFERENCES subscriptions (id),
    period TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('pending', 'charging', 'invoiced', 'charged', 'failed', 'paid')),
    invoice_id TEXT REFERENCES invoices (id),
    payment_id TEXT REFERENCES payments (id),
    attempts BIGINT NOT NULL,
    next_attempt_at BIGINT,
    lease_until BIGINT,
    lease_owner TEXT,
    message TEXT,
    updated_at BIGINT NOT NULL,
    UNIQUE (subscription_id, period)
);

CREATE INDEX billing_periods_to_work ON billing_periods (organisation_id, status, lease_until);

CREATE TABLE billing_runs (
    id TEXT PRIMARY KEY,
    organisation_id TEXT NOT NULL REFERENCES organisations (id),
    period TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('running', 'done', 'failed')),
    total BIGINT NOT NULL,
    processed BIGINT NOT NULL,
    invoiced BIGINT NOT NULL,
    charged BIGINT NOT NULL,
    failed BIGINT NOT NULL,
    charged_amount BIGINT NOT NULL,
    message TEXT,
    started_at BIGINT NOT NULL,
    finished_at BIGINT
);

ALTER TABLE invoices ADD COLUMN subscription_id TEXT;
ALTER TABLE invoices ADD COLUMN billing_period TEXT;
-- 'plan_period', 'plan_advance', 'plan_cancellation', or NULL.
ALTER TABLE invoices ADD COLUMN purpose TEXT;
ALTER TABLE invoice_lines ADD COLUMN subscription_id TEXT;
ALTER TABLE invoice_lines ADD COLUMN plan_item_code TEXT;
-- Units of the line covered by the plan (decimal text).
ALTER TABLE invoice_lines ADD COLUMN included_quantity TEXT;
ALTER TABLE patients ADD COLUMN birth_date TEXT;
CREATE INDEX invoices_by_subscription ON invoices (subscription_id);
CREATE INDEX invoice_lines_by_subscription ON invoice_lines (subscription_id, plan_item_code);
