-- Typed settings at organisation and department level. An organisation-level
-- value has department_id ''. Values are JSON text, checked against the
-- definitions in host/src/store/settings.rs before they are written.

CREATE TABLE settings (
    organisation_id TEXT NOT NULL REFERENCES organisations (id),
    department_id TEXT NOT NULL,
    key TEXT NOT NULL,
    value TEXT NOT NULL,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (organisation_id, department_id, key)
);
