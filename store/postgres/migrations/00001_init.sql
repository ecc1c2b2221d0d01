-- +goose Up
CREATE TABLE workspaces (
    id          TEXT PRIMARY KEY,
    name        TEXT NOT NULL,
    plan        TEXT NOT NULL,
    revision    BIGINT NOT NULL,
    audit_seq   BIGINT NOT NULL DEFAULT 0,
    audit_hash  TEXT NOT NULL DEFAULT '',
    created_at  BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL
);

CREATE TABLE roles (
    workspace_id TEXT NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    id           TEXT NOT NULL,
    name         TEXT NOT NULL,
    description  TEXT NOT NULL,
    audience     TEXT NOT NULL,
    predefined   BOOLEAN NOT NULL,
    is_default   BOOLEAN NOT NULL,
    revision     BIGINT NOT NULL,
    created_at   BIGINT NOT NULL,
    updated_at   BIGINT NOT NULL,
    PRIMARY KEY (workspace_id, id)
);

CREATE TABLE role_revisions (
    workspace_id TEXT NOT NULL,
    role_id      TEXT NOT NULL,
    revision     BIGINT NOT NULL,
    grants       TEXT NOT NULL,
    author       TEXT NOT NULL,
    reason       TEXT NOT NULL,
    applied      BOOLEAN NOT NULL,
    restored     BIGINT NOT NULL,
    created_at   BIGINT NOT NULL,
    PRIMARY KEY (workspace_id, role_id, revision),
    FOREIGN KEY (workspace_id, role_id) REFERENCES roles(workspace_id, id) ON DELETE CASCADE
);

CREATE TABLE departments (
    workspace_id TEXT NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    id           TEXT NOT NULL,
    name         TEXT NOT NULL,
    parent_id    TEXT NOT NULL,
    PRIMARY KEY (workspace_id, id)
);

CREATE TABLE smart_objects (
    workspace_id TEXT NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    id           TEXT NOT NULL,
    name         TEXT NOT NULL,
    description  TEXT NOT NULL,
    PRIMARY KEY (workspace_id, id)
);

CREATE TABLE members (
    workspace_id TEXT NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    user_id      TEXT NOT NULL,
    name         TEXT NOT NULL,
    email        TEXT NOT NULL,
    kind         TEXT NOT NULL,
    owner        BOOLEAN NOT NULL,
    grants       TEXT NOT NULL,
    epoch        BIGINT NOT NULL,
    created_at   BIGINT NOT NULL,
    updated_at   BIGINT NOT NULL,
    PRIMARY KEY (workspace_id, user_id)
);

CREATE TABLE member_departments (
    workspace_id  TEXT NOT NULL,
    user_id       TEXT NOT NULL,
    department_id TEXT NOT NULL,
    PRIMARY KEY (workspace_id, user_id, department_id),
    FOREIGN KEY (workspace_id, user_id) REFERENCES members(workspace_id, user_id) ON DELETE CASCADE,
    FOREIGN KEY (workspace_id, department_id) REFERENCES departments(workspace_id, id) ON DELETE CASCADE
);
CREATE INDEX member_departments_by_department ON member_departments (workspace_id, department_id, user_id);

CREATE TABLE assignments (
    workspace_id TEXT NOT NULL,
    user_id      TEXT NOT NULL,
    role_id      TEXT NOT NULL,
    revision     BIGINT NOT NULL,
    assigned_at  BIGINT NOT NULL,
    assigned_by  TEXT NOT NULL,
    PRIMARY KEY (workspace_id, user_id, role_id),
    FOREIGN KEY (workspace_id, user_id) REFERENCES members(workspace_id, user_id) ON DELETE CASCADE,
    FOREIGN KEY (workspace_id, role_id, revision) REFERENCES role_revisions(workspace_id, role_id, revision)
);
CREATE INDEX assignments_by_role ON assignments (workspace_id, role_id, user_id);

CREATE TABLE audit (
    workspace_id TEXT NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    seq          BIGINT NOT NULL,
    time         BIGINT NOT NULL,
    revision     BIGINT NOT NULL,
    actor        TEXT NOT NULL,
    action       TEXT NOT NULL,
    target       TEXT NOT NULL,
    before       TEXT NOT NULL,
    after        TEXT NOT NULL,
    reason       TEXT NOT NULL,
    prev_hash    TEXT NOT NULL,
    hash         TEXT NOT NULL,
    PRIMARY KEY (workspace_id, seq)
);
CREATE INDEX audit_by_target ON audit (workspace_id, target, seq);
CREATE INDEX audit_by_actor ON audit (workspace_id, actor, seq);
CREATE INDEX audit_by_time ON audit (workspace_id, time);

CREATE TABLE changes (
    workspace_id TEXT NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    revision     BIGINT NOT NULL,
    time         BIGINT NOT NULL,
    action       TEXT NOT NULL,
    targets      TEXT NOT NULL,
    epochs       TEXT NOT NULL,
    PRIMARY KEY (workspace_id, revision)
);

CREATE TABLE usage (
    workspace_id TEXT NOT NULL,
    role_id      TEXT NOT NULL,
    permission   TEXT NOT NULL,
    count        BIGINT NOT NULL,
    last_used    BIGINT NOT NULL,
    PRIMARY KEY (workspace_id, role_id, permission),
    FOREIGN KEY (workspace_id, role_id) REFERENCES roles(workspace_id, id) ON DELETE CASCADE
);

-- +goose Down
DROP TABLE usage;
DROP TABLE changes;
DROP TABLE audit;
DROP TABLE assignments;
DROP TABLE member_departments;
DROP TABLE members;
DROP TABLE smart_objects;
DROP TABLE departments;
DROP TABLE role_revisions;
DROP TABLE roles;
DROP TABLE workspaces;
