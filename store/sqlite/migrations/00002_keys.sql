-- +goose Up
-- Workspace API keys (X2): the secret's SHA-256 only, never the secret.
CREATE TABLE api_keys (
    workspace_id TEXT NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    id           TEXT NOT NULL PRIMARY KEY,
    scope        TEXT NOT NULL,
    name         TEXT NOT NULL,
    hash         TEXT NOT NULL,
    created_at   INTEGER NOT NULL,
    created_by   TEXT NOT NULL
);
CREATE INDEX api_keys_by_workspace ON api_keys (workspace_id);

-- Deployment secrets, such as the session signing key (A2).
CREATE TABLE secrets (
    name       TEXT NOT NULL PRIMARY KEY,
    value      BLOB NOT NULL,
    created_at INTEGER NOT NULL
);

-- +goose Down
DROP TABLE secrets;
DROP TABLE api_keys;
