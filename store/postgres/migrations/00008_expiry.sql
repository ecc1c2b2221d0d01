-- +goose Up
-- Expiring access (T1) and department roles (M9).
-- Expiring access (T1): when an assignment stops being honoured, in Unix
-- microseconds (0: never), and, per direct grant, the same as a JSON
-- object {permission: microseconds} (only the grants that expire).
ALTER TABLE assignments ADD COLUMN expires_at BIGINT NOT NULL DEFAULT 0;
ALTER TABLE members ADD COLUMN grant_expiry TEXT NOT NULL DEFAULT '{}';

-- Department roles (M9): every member of a department (and, with
-- include_subdepartments, of its sub-departments) holds its roles.
ALTER TABLE departments ADD COLUMN include_subdepartments BOOLEAN NOT NULL DEFAULT FALSE;
CREATE TABLE department_roles (
    workspace_id  TEXT NOT NULL,
    department_id TEXT NOT NULL,
    role_id       TEXT NOT NULL,
    revision      BIGINT NOT NULL,
    assigned_at   BIGINT NOT NULL,
    assigned_by   TEXT NOT NULL,
    expires_at    BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (workspace_id, department_id, role_id),
    FOREIGN KEY (workspace_id, department_id) REFERENCES departments(workspace_id, id) ON DELETE CASCADE,
    FOREIGN KEY (workspace_id, role_id, revision) REFERENCES role_revisions(workspace_id, role_id, revision)
);
CREATE INDEX department_roles_by_role ON department_roles (workspace_id, role_id, department_id);

-- +goose Down
DROP TABLE department_roles;
ALTER TABLE departments DROP COLUMN include_subdepartments;
ALTER TABLE members DROP COLUMN grant_expiry;
ALTER TABLE assignments DROP COLUMN expires_at;
