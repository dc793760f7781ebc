-- Console sign-in sessions live in the database, so that a restart keeps
-- everyone signed in and every host of a shared database knows every session
-- (no sticky sessions behind a load balancer). Portable SQL; times are Unix
-- milliseconds.
--
-- `id_hash` is the keyed hash (HMAC under the operator's keyring) of the id
-- the browser holds in its cookie: the database alone yields no usable
-- session. `key_sealed` is the API key the console acts as, sealed by the
-- vault like a plugin secret (bound to its row).
CREATE TABLE console_sessions (
    id_hash TEXT PRIMARY KEY,
    organisation_id TEXT NOT NULL,
    key_id TEXT NOT NULL,
    key_sealed TEXT NOT NULL,
    role TEXT NOT NULL,
    key_name TEXT NOT NULL,
    csrf TEXT NOT NULL,
    -- A message for the next page, as JSON; NULL for none.
    flash TEXT,
    created_at BIGINT NOT NULL,
    last_seen_at BIGINT NOT NULL
);

CREATE INDEX console_sessions_by_last_seen ON console_sessions (last_seen_at);
CREATE INDEX console_sessions_by_key ON console_sessions (key_id);
