-- +goose Up
-- The answers to POSTs that carried an Idempotency-Key, so that a retried
-- creation returns the first answer instead of a second object. scope is
-- the caller (workspace, API key, acting member); key_hash is the SHA-256
-- of the Idempotency-Key; fingerprint is the SHA-256 of the request, so a
-- reused key with another request is refused. answer is the response,
-- sealed with a key derived from the caller's bearer token (a created API
-- key's secret is in it: the database alone cannot read it), NULL while
-- the first request runs. Rows live until expires_at (Unix µs).
CREATE TABLE idempotency_keys (
    scope       TEXT NOT NULL,
    key_hash    TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    answer      TEXT,
    expires_at  BIGINT NOT NULL,
    PRIMARY KEY (scope, key_hash)
);
CREATE INDEX idempotency_keys_expiry ON idempotency_keys (expires_at);

-- +goose Down
DROP TABLE idempotency_keys;
