-- +goose Up
-- A write's reason (X4), stored once however many audit entries the write
-- made: a 10,000-member import with a 1,000-character reason stores it
-- once, not 10,000 times. Its entries store an empty reason and read this
-- one; entries written before keep theirs inline.
CREATE TABLE audit_reasons (
    workspace_id TEXT NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    revision     INTEGER NOT NULL,
    reason       TEXT NOT NULL,
    PRIMARY KEY (workspace_id, revision)
);

-- +goose Down
DROP TABLE audit_reasons;
