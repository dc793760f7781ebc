-- API keys get a lifecycle: a name, expiry, last use, revocation and rotation.
-- Portable SQL for SQLite and PostgreSQL. Times are Unix milliseconds.
--
-- `key_hash` now holds HMAC-SHA256 of the key under the operator's keyring
-- (vault.rs `hash_api_key`). Rows written before hold plain SHA-256: such a
-- key still authenticates, and is re-hashed under the keyed hash on that use
-- (as is a key hashed under a previous key of the ring).

-- What the admin calls the key ("front desk", "billing script").
ALTER TABLE api_keys RENAME COLUMN label TO name;
-- The last successful use, updated at most once a minute per key.
ALTER TABLE api_keys ADD COLUMN last_used_at BIGINT;
-- After this the key is refused; NULL for a key that does not expire.
ALTER TABLE api_keys ADD COLUMN expires_at BIGINT;
-- The last rotation: the new secret's hash is `key_hash`; the old one's stays
-- in `previous_key_hash`, valid until `previous_valid_until` (the grace period).
ALTER TABLE api_keys ADD COLUMN rotated_at BIGINT;
ALTER TABLE api_keys ADD COLUMN previous_key_hash TEXT;
ALTER TABLE api_keys ADD COLUMN previous_valid_until BIGINT;

CREATE INDEX api_keys_by_previous_hash ON api_keys (previous_key_hash);
