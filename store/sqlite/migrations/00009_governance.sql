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

-- Access reviews (V1–V3): a campaign's row, its definition (scope,
-- reviewers, default, recurrence, who opened and closed it) as JSON; and
-- its items, one per member × assignment or direct grant, with the
-- decision and what the close did.
CREATE TABLE reviews (
    workspace_id TEXT NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    id           TEXT NOT NULL,
    name         TEXT NOT NULL,
    status       TEXT NOT NULL,
    definition   TEXT NOT NULL,
    deadline     BIGINT NOT NULL,
    created_at   BIGINT NOT NULL,
    closed_at    BIGINT NOT NULL,
    PRIMARY KEY (workspace_id, id)
);

CREATE TABLE review_items (
    workspace_id TEXT NOT NULL,
    review_id    TEXT NOT NULL,
    id           INTEGER NOT NULL,
    user_id      TEXT NOT NULL,
    role_id      TEXT NOT NULL,
    permission   TEXT NOT NULL,
    grants       TEXT NOT NULL,
    last_used    BIGINT NOT NULL,
    decision     TEXT NOT NULL,
    reason       TEXT NOT NULL,
    decided_by   TEXT NOT NULL,
    decided_at   BIGINT NOT NULL,
    outcome      TEXT NOT NULL,
    note         TEXT NOT NULL,
    PRIMARY KEY (workspace_id, review_id, id),
    FOREIGN KEY (workspace_id, review_id) REFERENCES reviews(workspace_id, id) ON DELETE CASCADE
);

-- +goose Down
DROP TABLE review_items;
DROP TABLE reviews;
DROP TABLE sod_rules;
