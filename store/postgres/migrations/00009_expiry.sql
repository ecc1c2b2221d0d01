-- +goose Up
-- Expiring access (T1): when an assignment stops being honoured, in Unix
-- microseconds (0: never), and, per direct grant, the same as a JSON
-- object {permission: microseconds} (only the grants that expire).
ALTER TABLE assignments ADD COLUMN expires_at BIGINT NOT NULL DEFAULT 0;
ALTER TABLE members ADD COLUMN grant_expiry TEXT NOT NULL DEFAULT '{}';

-- +goose Down
ALTER TABLE members DROP COLUMN grant_expiry;
ALTER TABLE assignments DROP COLUMN expires_at;
