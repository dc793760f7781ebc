-- Payment plugins an organisation installed, and the markets it enabled them for.
-- The .wasm is kept so that every host of a shared database can load it.

CREATE TABLE plugins (
    organisation_id TEXT NOT NULL REFERENCES organisations (id),
    id TEXT NOT NULL,
    version TEXT NOT NULL,
    sha256 TEXT NOT NULL,
    manifest TEXT NOT NULL,
    -- Base64: one portable column type for SQLite and PostgreSQL.
    wasm TEXT NOT NULL,
    installed_at BIGINT NOT NULL,
    PRIMARY KEY (organisation_id, id)
);

CREATE TABLE plugin_markets (
    organisation_id TEXT NOT NULL,
    plugin_id TEXT NOT NULL,
    country TEXT NOT NULL,
    enabled_at BIGINT NOT NULL,
    PRIMARY KEY (organisation_id, plugin_id, country),
    FOREIGN KEY (organisation_id, plugin_id) REFERENCES plugins (organisation_id, id)
);
