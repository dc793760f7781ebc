-- The item catalog (issue 16): what invoices and plans draw their lines from,
-- so that prices and VAT rates are set once instead of typed at the counter.
-- Portable SQL; times are Unix milliseconds, money in minor units.

CREATE TABLE catalog_items (
    id TEXT PRIMARY KEY,
    organisation_id TEXT NOT NULL REFERENCES organisations (id),
    -- The clinic's own code, unique in the organisation ("VAC-RAB").
    code TEXT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('service', 'medicine', 'goods')),
    -- Names by language tag, as a JSON object ({"en": "...", "da": "..."}).
    names TEXT NOT NULL,
    -- Percent, as text.
    vat_rate TEXT NOT NULL,
    -- The code and every name, lower case: what a search looks in.
    search_text TEXT NOT NULL,
    archived_at BIGINT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);

CREATE UNIQUE INDEX catalog_items_by_code ON catalog_items (organisation_id, code);

-- Every price an item has had. The current price of a currency (and of a
-- department that overrides it) is the row without `valid_to`; a change
-- closes it and opens a new one, so the history stays. `department_id` is
-- '' for the organisation's price.
CREATE TABLE catalog_prices (
    item_id TEXT NOT NULL REFERENCES catalog_items (id),
    currency TEXT NOT NULL,
    department_id TEXT NOT NULL,
    unit_price BIGINT NOT NULL,
    valid_from BIGINT NOT NULL,
    valid_to BIGINT
);

CREATE INDEX catalog_prices_by_item ON catalog_prices (item_id, currency, department_id);
CREATE UNIQUE INDEX catalog_prices_one_current ON catalog_prices (item_id, currency, department_id) WHERE valid_to IS NULL;

-- An invoice line made from a catalog item names it (and keeps the price and
-- VAT rate it was made with); a free-text line has none.
ALTER TABLE invoice_lines ADD COLUMN item_id TEXT;
ALTER TABLE invoice_lines ADD COLUMN item_code TEXT;
