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
ALTER TABLE roles ADD COLUMN applied_revision BIGINT NOT NULL DEFAULT 0;
UPDATE roles SET applied_revision = revision;
ALTER TABLE assignments ALTER COLUMN revision DROP NOT NULL;
ALTER TABLE assignments ADD CONSTRAINT assignments_role_fkey
    FOREIGN KEY (workspace_id, role_id) REFERENCES roles (workspace_id, id);
UPDATE assignments a SET revision = NULL FROM roles r
    WHERE r.workspace_id = a.workspace_id AND r.id = a.role_id AND a.revision = r.applied_revision;
-- An apply clears the pinned assignments of its role: found without
-- reading the role's followers.
CREATE INDEX assignments_pinned ON assignments (workspace_id, role_id) WHERE revision IS NOT NULL;

-- +goose Down
DROP INDEX assignments_pinned;
UPDATE assignments a SET revision = r.applied_revision FROM roles r
    WHERE r.workspace_id = a.workspace_id AND r.id = a.role_id AND a.revision IS NULL;
ALTER TABLE assignments DROP CONSTRAINT assignments_role_fkey;
ALTER TABLE assignments ALTER COLUMN revision SET NOT NULL;
ALTER TABLE roles DROP COLUMN applied_revision;
