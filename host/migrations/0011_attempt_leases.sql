-- Plugin attempts are leased by the host that runs them (issue 12): while an
-- attempt is processing, `next_check_at` is its lease, renewed by that host while
-- the call is alive, and `lease_owner` names the host. `sent_at` is when the
-- attempt's first HTTP request left the host; NULL means nothing was sent, so an
-- orphan without it is failed at once on recovery.
ALTER TABLE payments ADD COLUMN lease_owner TEXT;
ALTER TABLE payments ADD COLUMN sent_at BIGINT;
