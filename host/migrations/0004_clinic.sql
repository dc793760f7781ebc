-- The clinic's books: plugin configuration, terminals, clients and patients,
-- saved cards, invoices, payments and idempotency records.
-- Portable SQL (SQLite and PostgreSQL): text ids, BIGINT times in Unix ms,
-- BIGINT money in minor units, BIGINT 0/1 flags, decimals as text.

-- Plugin settings; department_id '' holds the organisation-level value.
-- Secret values are stored here and never returned by the API.
CREATE TABLE plugin_settings (
    organisation_id TEXT NOT NULL,
    plugin_id TEXT NOT NULL,
    department_id TEXT NOT NULL,
    key TEXT NOT NULL,
    value TEXT NOT NULL,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (organisation_id, plugin_id, department_id, key),
    FOREIGN KEY (organisation_id, plugin_id) REFERENCES plugins (organisation_id, id)
);

-- Destinations an admin allows a plugin beyond its manifest (scheme://host:port).
CREATE TABLE plugin_allowed_hosts (
    organisation_id TEXT NOT NULL,
    plugin_id TEXT NOT NULL,
    destination TEXT NOT NULL,
    PRIMARY KEY (organisation_id, plugin_id, destination),
    FOREIGN KEY (organisation_id, plugin_id) REFERENCES plugins (organisation_id, id)
);

CREATE TABLE terminals (
    id TEXT PRIMARY KEY,
    organisation_id TEXT NOT NULL REFERENCES organisations (id),
    department_id TEXT NOT NULL REFERENCES departments (id),
    plugin_id TEXT NOT NULL,
    -- The provider's id of the device (Nets terminal id, Gravity device id).
    provider_terminal_id TEXT NOT NULL,
    name TEXT NOT NULL,
    terminal_type TEXT NOT NULL,
    model TEXT,
    last_reconciled_at BIGINT,
    last_reconciliation TEXT,
    created_at BIGINT NOT NULL,
    UNIQUE (organisation_id, plugin_id, provider_terminal_id)
);

CREATE INDEX terminals_by_department ON terminals (organisation_id, department_id);

CREATE TABLE clients (
    id TEXT PRIMARY KEY,
    organisation_id TEXT NOT NULL REFERENCES organisations (id),
    name TEXT NOT NULL,
    email TEXT,
    phone TEXT,
    created_at BIGINT NOT NULL
);

CREATE INDEX clients_by_organisation ON clients (organisation_id);

CREATE TABLE patients (
    id TEXT PRIMARY KEY,
    organisation_id TEXT NOT NULL REFERENCES organisations (id),
    client_id TEXT NOT NULL REFERENCES clients (id),
    name TEXT NOT NULL,
    species TEXT NOT NULL,
    created_at BIGINT NOT NULL
);

CREATE INDEX patients_by_client ON patients (client_id);

-- Cards saved through a plugin; `token` is the provider's card token.
CREATE TABLE cards (
    id TEXT PRIMARY KEY,
    organisation_id TEXT NOT NULL REFERENCES organisations (id),
    client_id TEXT NOT NULL REFERENCES clients (id),
    department_id TEXT NOT NULL REFERENCES departments (id),
    plugin_id TEXT NOT NULL,
    token TEXT NOT NULL,
    masked_pan TEXT NOT NULL,
    brand TEXT,
    expiry TEXT,
    is_default BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    deleted_at BIGINT
);

CREATE INDEX cards_by_client ON cards (client_id);

-- The last invoice number given out, per organisation.
CREATE TABLE invoice_counters (
    organisation_id TEXT PRIMARY KEY REFERENCES organisations (id),
    last_number BIGINT NOT NULL
);

CREATE TABLE invoices (
    id TEXT PRIMARY KEY,
    organisation_id TEXT NOT NULL REFERENCES organisations (id),
    department_id TEXT NOT NULL REFERENCES departments (id),
    client_id TEXT NOT NULL REFERENCES clients (id),
    patient_id TEXT REFERENCES patients (id),
    kind TEXT NOT NULL CHECK (kind IN ('consultation', 'counter_sale', 'credit_note')),
    number BIGINT,
    status TEXT NOT NULL CHECK (status IN ('draft', 'finalised', 'partially_paid', 'paid')),
    currency TEXT NOT NULL,
    net BIGINT NOT NULL,
    vat BIGINT NOT NULL,
    total BIGINT NOT NULL,
    -- Sum of settled payments less refunds applied to this invoice.
    paid BIGINT NOT NULL,
    -- Sum of the credit notes against this invoice (zero or negative).
    credited BIGINT NOT NULL,
    credits_invoice_id TEXT REFERENCES invoices (id),
    created_at BIGINT NOT NULL,
    finalised_at BIGINT,
    UNIQUE (organisation_id, number)
);

CREATE INDEX invoices_by_organisation ON invoices (organisation_id, created_at);

CREATE TABLE invoice_lines (
    invoice_id TEXT NOT NULL REFERENCES invoices (id),
    position BIGINT NOT NULL,
    description TEXT NOT NULL,
    quantity TEXT NOT NULL,
    unit_price BIGINT NOT NULL,
    vat_rate TEXT NOT NULL,
    discount_percent TEXT NOT NULL,
    net BIGINT NOT NULL,
    vat BIGINT NOT NULL,
    total BIGINT NOT NULL,
    PRIMARY KEY (invoice_id, position)
);

-- Every attempt to move money. The row is written before a plugin is called and
-- its id is the provider-side reference. Refunds are negative amounts.
CREATE TABLE payments (
    id TEXT PRIMARY KEY,
    organisation_id TEXT NOT NULL REFERENCES organisations (id),
    department_id TEXT NOT NULL REFERENCES departments (id),
    client_id TEXT NOT NULL REFERENCES clients (id),
    invoice_id TEXT REFERENCES invoices (id),
    kind TEXT NOT NULL CHECK (kind IN ('payment', 'deposit', 'refund')),
    method TEXT NOT NULL,
    amount BIGINT NOT NULL,
    currency TEXT NOT NULL,
    -- The part of a settled amount that went to (or came from) client credit.
    credit_amount BIGINT NOT NULL,
    allow_excess BIGINT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('processing', 'succeeded', 'failed', 'cancelled', 'unknown', 'needs_review')),
    stage TEXT,
    message TEXT,
    terminal_id TEXT REFERENCES terminals (id),
    card_id TEXT REFERENCES cards (id),
    plugin_id TEXT,
    original_payment_id TEXT REFERENCES payments (id),
    provider_reference TEXT,
    authorization_code TEXT,
    masked_pan TEXT,
    card_brand TEXT,
    card_token TEXT,
    abort_requested BIGINT NOT NULL,
    recovery_attempts BIGINT NOT NULL,
    -- When the recovery job next looks at a running or unknown attempt.
    next_check_at BIGINT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    finished_at BIGINT
);

CREATE INDEX payments_by_invoice ON payments (invoice_id);
CREATE INDEX payments_by_client ON payments (client_id);
CREATE INDEX payments_by_original ON payments (original_payment_id);
CREATE INDEX payments_to_recover ON payments (next_check_at) WHERE status IN ('processing', 'unknown');
-- One running attempt per terminal: a second one is refused (409 terminal busy),
-- and an unknown attempt keeps its terminal until it is resolved.
CREATE UNIQUE INDEX payments_one_running_per_terminal ON payments (terminal_id) WHERE status IN ('processing', 'unknown');

-- Answers to requests that moved money, by Idempotency-Key.
CREATE TABLE idempotency_keys (
    organisation_id TEXT NOT NULL,
    key TEXT NOT NULL,
    request_hash TEXT NOT NULL,
    status_code BIGINT NOT NULL,
    response TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (organisation_id, key)
);

-- The plugins' cache when several hosts share the database.
CREATE TABLE plugin_cache (
    organisation_id TEXT NOT NULL,
    plugin_id TEXT NOT NULL,
    key TEXT NOT NULL,
    value TEXT NOT NULL,
    expires_at BIGINT NOT NULL,
    PRIMARY KEY (organisation_id, plugin_id, key)
);
