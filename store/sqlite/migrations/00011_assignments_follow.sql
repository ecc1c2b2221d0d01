-- +goose Up
-- Assignments follow their role's applied revision (R6). An applied edit
-- used to rewrite the revision of every assignment of the role, 10,000
-- rows (and as many foreign-key checks) for a large one; now it moves the
-- role's applied_revision and clears the few assignments pinned to
-- another revision. revision NULL means "the role's applied_revision";
-- a number pins the assignment to that revision (a member assigned after
-- a saved, unapplied edit holds the newest; R6). The row's role is
-- checked by its own foreign key, since a NULL revision is not checked
-- against role_revisions.
ALTER TABLE roles ADD COLUMN applied_revision INTEGER NOT NULL DEFAULT 0;
UPDATE roles SET applied_revision = revision;

CREATE TABLE assignments_next (
    workspace_id TEXT NOT NULL,
    user_id      TEXT NOT NULL,
    role_id      TEXT NOT NULL,
    revision     INTEGER,
    assigned_at  INTEGER NOT NULL,
    assigned_by  TEXT NOT NULL,
    expires_at   INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (workspace_id, user_id, role_id),
    FOREIGN KEY (workspace_id, user_id) REFERENCES members(workspace_id, user_id) ON DELETE CASCADE,
    FOREIGN KEY (workspace_id, role_id) REFERENCES roles(workspace_id, id),
    FOREIGN KEY (workspace_id, role_id, revision) REFERENCES role_revisions(workspace_id, role_id, revision)
);
INSERT INTO assignments_next (workspace_id, user_id, role_id, revision, assigned_at, assigned_by, expires_at)
    SELECT a.workspace_id, a.user_id, a.role_id,
        CASE WHEN a.revision = r.applied_revision THEN NULL ELSE a.revision END,
        a.assigned_at, a.assigned_by, a.expires_at
    FROM assignments a LEFT JOIN roles r ON r.workspace_id = a.workspace_id AND r.id = a.role_id;
DROP TABLE assignments;
ALTER TABLE assignments_next RENAME TO assignments;
CREATE INDEX assignments_by_role ON assignments (workspace_id, role_id, user_id);
-- An apply clears the pinned assignments of its role: found without
-- reading the role's followers.
CREATE INDEX assignments_pinned ON assignments (workspace_id, role_id) WHERE revision IS NOT NULL;

-- +goose Down
CREATE TABLE assignments_prev (
    workspace_id TEXT NOT NULL,
    user_id      TEXT NOT NULL,
    role_id      TEXT NOT NULL,
    revision     INTEGER NOT NULL,
    assigned_at  INTEGER NOT NULL,
    assigned_by  TEXT NOT NULL,
    expires_at   INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (workspace_id, user_id, role_id),
    FOREIGN KEY (workspace_id, user_id) REFERENCES members(workspace_id, user_id) ON DELETE CASCADE,
    FOREIGN KEY (workspace_id, role_id, revision) REFERENCES role_revisions(workspace_id, role_id, revision)
);
INSERT INTO assignments_prev (workspace_id, user_id, role_id, revision, assigned_at, assigned_by, expires_at)
    SELECT a.workspace_id, a.user_id, a.role_id, COALESCE(a.revision, r.applied_revision),
        a.assigned_at, a.assigned_by, a.expires_at
    FROM assignments a JOIN roles r ON r.workspace_id = a.workspace_id AND r.id = a.role_id;
DROP TABLE assignments;
ALTER TABLE assignments_prev RENAME TO assignments;
CREATE INDEX assignments_by_role ON assignments (workspace_id, role_id, user_id);
ALTER TABLE roles DROP COLUMN applied_revision;
