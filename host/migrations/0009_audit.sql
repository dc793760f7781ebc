-- The audit trail: who changed what, append-only (no route updates or deletes
-- a row). Portable SQL for SQLite and PostgreSQL; times are Unix milliseconds.

CREATE TABLE audit_events (
    id TEXT PRIMARY KEY,
    organisation_id TEXT NOT NULL REFERENCES organisations (id),
    at BIGINT NOT NULL,
    -- The API key that made the change; NULL for the operator's command line.
    actor_key_id TEXT,
    -- The key's name at the time (the key may be renamed or gone later).
    actor_key_name TEXT NOT NULL,
    -- Such as "api_key.revoke", "plugin.settings.set" (store/audit.rs AuditAction).
    action TEXT NOT NULL,
    target_type TEXT NOT NULL,
    target_id TEXT NOT NULL,
    -- JSON object: what changed; never a secret value.
    details TEXT NOT NULL
);

CREATE INDEX audit_events_by_time ON audit_events (organisation_id, at, id);
CREATE INDEX audit_events_by_target ON audit_events (organisation_id, target_id);
CREATE INDEX audit_events_by_actor ON audit_events (organisation_id, actor_key_id);
