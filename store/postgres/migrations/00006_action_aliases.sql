-- +goose Up
-- A workspace's own action names for standard clients (Z2): an alias
-- stands for one permission key.
CREATE TABLE action_aliases (
    workspace_id TEXT NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    alias        TEXT NOT NULL,
    permission   TEXT NOT NULL,
    PRIMARY KEY (workspace_id, alias)
);

-- +goose Down
DROP TABLE action_aliases;
