-- Removing a terminal (DELETE /v1/terminals/{id}) keeps its row, marked with
-- when it was removed: its payments still name it. Registering the same device
-- again for the same plugin brings the row back.
ALTER TABLE terminals ADD COLUMN removed_at BIGINT;
