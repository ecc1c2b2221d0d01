-- +goose Up
-- Separation of duties (S1–S3): a workspace's rules, each two or more sets
-- of permission keys (kind 'permissions') or of role ids (kind 'roles')
-- that no member may hold together, as a JSON array of arrays; and the
-- members excepted from the rule, as a JSON array of
-- {user_id, reason, expires_at, granted_by, granted_at} (times in
-- microseconds, expires_at 0 for none).
CREATE TABLE sod_rules (
    workspace_id TEXT NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    id           TEXT NOT NULL,
    name         TEXT NOT NULL,
    description  TEXT NOT NULL,
    kind         TEXT NOT NULL,
    sets         TEXT NOT NULL,
    exceptions   TEXT NOT NULL,
    created_at   BIGINT NOT NULL,
    updated_at   BIGINT NOT NULL,
    PRIMARY KEY (workspace_id, id)
);

-- +goose Down
DROP TABLE sod_rules;
