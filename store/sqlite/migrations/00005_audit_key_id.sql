-- +goose Up
-- The audit key whose HMAC an entry's hash is (X4); '' for entries
-- written before keys, whose hash is a plain SHA-256.
ALTER TABLE audit ADD COLUMN key_id TEXT NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE audit DROP COLUMN key_id;
