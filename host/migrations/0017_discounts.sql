-- Discounts (issue 16), defined once: a percentage, or an amount off each unit
-- in a currency, for a catalog item, an item group or every line of an
-- invoice, valid between two dates (the department's local dates, both
-- included). How they combine: domain/src/discount.rs. Portable SQL.

-- An item's group ("vaccines"), which group discounts name.
ALTER TABLE catalog_items ADD COLUMN item_group TEXT;

CREATE TABLE discounts (
    id TEXT PRIMARY KEY,
    organisation_id TEXT NOT NULL REFERENCES organisations (id),
    name TEXT NOT NULL,
    -- Exactly one of: a percentage (as text), or an amount with its currency.
    percent TEXT,
    amount BIGINT,
    currency TEXT,
    target TEXT NOT NULL CHECK (target IN ('item', 'group', 'invoice')),
    item_id TEXT REFERENCES catalog_items (id),
    item_group TEXT,
    -- YYYY-MM-DD, or NULL for no bound.
    valid_from TEXT,
    valid_to TEXT,
    archived_at BIGINT,
    created_at BIGINT NOT NULL
);

CREATE INDEX discounts_by_organisation ON discounts (organisation_id);

-- The discounts a line was made with, as JSON ([{"id", "name"}]); NULL for none.
ALTER TABLE invoice_lines ADD COLUMN discounts TEXT;
