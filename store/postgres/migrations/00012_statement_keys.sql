-- +goose Up
-- The keys of the four tables an import fills (members, their
-- departments, their assignments, the audit) are checked once per
-- statement instead of once per row. A foreign key runs a trigger per
-- row, a lookup and a row lock each: 35,000 of them for an import of
-- 10,000 members, more than half of its time in the server. Each trigger
-- below checks a statement's rows with one anti-join over its transition
-- table.
--
-- What a foreign key guarantees still holds:
--   - a row inserted or updated into these tables has its parents, or the
--     statement fails with foreign_key_violation (23503), as it did;
--   - deleting a workspace, member or department deletes its rows here,
--     as ON DELETE CASCADE did;
--   - deleting a role or role revision that assignments hold fails, as
--     the foreign keys without an action did;
--   - the parents' keys cannot change (a key never changes; the store
--     updates no key column).
-- Each function plans with sequential scans off: right after a bulk
-- insert the tables have no statistics, and the planner, taking a fresh
-- table for a few pages, would scan it once per checked row (a seed of a
-- million links ran for minutes); an index probe per row is what a foreign
-- key did.
--
-- What a foreign key also did, locking a parent row against a concurrent
-- delete until commit, is the store's own protocol: every commit first
-- moves its workspace's row (compare-and-set on the revision), so the
-- writes of one workspace, and every key here is within one, never run
-- concurrently.
ALTER TABLE members DROP CONSTRAINT members_workspace_id_fkey;
ALTER TABLE member_departments
    DROP CONSTRAINT member_departments_workspace_id_user_id_fkey,
    DROP CONSTRAINT member_departments_workspace_id_department_id_fkey;
ALTER TABLE assignments
    DROP CONSTRAINT assignments_workspace_id_user_id_fkey,
    DROP CONSTRAINT assignments_workspace_id_role_id_revision_fkey,
    DROP CONSTRAINT assignments_role_fkey;
ALTER TABLE audit DROP CONSTRAINT audit_workspace_id_fkey;

-- +goose StatementBegin
CREATE FUNCTION gatehouse_workspace_rows_keys() RETURNS trigger LANGUAGE plpgsql
SET search_path FROM CURRENT SET enable_seqscan = off AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM new_rows n WHERE NOT EXISTS (SELECT 1 FROM workspaces w WHERE w.id = n.workspace_id)) THEN
        RAISE foreign_key_violation USING MESSAGE = format('insert into %s: workspace does not exist', TG_TABLE_NAME);
    END IF;
    RETURN NULL;
END $$;
-- +goose StatementEnd
CREATE TRIGGER members_keys AFTER INSERT ON members REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION gatehouse_workspace_rows_keys();
CREATE TRIGGER audit_keys AFTER INSERT ON audit REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION gatehouse_workspace_rows_keys();

-- +goose StatementBegin
CREATE FUNCTION gatehouse_member_departments_keys() RETURNS trigger LANGUAGE plpgsql
SET search_path FROM CURRENT SET enable_seqscan = off AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM new_rows n WHERE NOT EXISTS (SELECT 1 FROM members m
            WHERE m.workspace_id = n.workspace_id AND m.user_id = n.user_id)) THEN
        RAISE foreign_key_violation USING MESSAGE = 'member_departments: member does not exist';
    END IF;
    IF EXISTS (SELECT 1 FROM new_rows n WHERE NOT EXISTS (SELECT 1 FROM departments d
            WHERE d.workspace_id = n.workspace_id AND d.id = n.department_id)) THEN
        RAISE foreign_key_violation USING MESSAGE = 'member_departments: department does not exist';
    END IF;
    RETURN NULL;
END $$;
-- +goose StatementEnd
CREATE TRIGGER member_departments_keys AFTER INSERT ON member_departments REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION gatehouse_member_departments_keys();
CREATE TRIGGER member_departments_keys_update AFTER UPDATE ON member_departments REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION gatehouse_member_departments_keys();

-- +goose StatementBegin
CREATE FUNCTION gatehouse_assignments_keys() RETURNS trigger LANGUAGE plpgsql
SET search_path FROM CURRENT SET enable_seqscan = off AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM new_rows n WHERE NOT EXISTS (SELECT 1 FROM members m
            WHERE m.workspace_id = n.workspace_id AND m.user_id = n.user_id)) THEN
        RAISE foreign_key_violation USING MESSAGE = 'assignments: member does not exist';
    END IF;
    IF EXISTS (SELECT 1 FROM new_rows n WHERE NOT EXISTS (SELECT 1 FROM roles r
            WHERE r.workspace_id = n.workspace_id AND r.id = n.role_id)) THEN
        RAISE foreign_key_violation USING MESSAGE = 'assignments: role does not exist';
    END IF;
    -- A NULL revision follows the role's applied revision (00011): only a
    -- pinned one names a row of role_revisions.
    IF EXISTS (SELECT 1 FROM new_rows n WHERE n.revision IS NOT NULL AND NOT EXISTS (SELECT 1 FROM role_revisions v
            WHERE v.workspace_id = n.workspace_id AND v.role_id = n.role_id AND v.revision = n.revision)) THEN
        RAISE foreign_key_violation USING MESSAGE = 'assignments: role revision does not exist';
    END IF;
    RETURN NULL;
END $$;
-- +goose StatementEnd
CREATE TRIGGER assignments_keys AFTER INSERT ON assignments REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION gatehouse_assignments_keys();
CREATE TRIGGER assignments_keys_update AFTER UPDATE ON assignments REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION gatehouse_assignments_keys();

-- Deletes: the cascades and restrictions the foreign keys carried.
-- +goose StatementBegin
CREATE FUNCTION gatehouse_workspaces_deleted() RETURNS trigger LANGUAGE plpgsql
SET search_path FROM CURRENT SET enable_seqscan = off AS $$
BEGIN
    DELETE FROM members m USING old_rows o WHERE m.workspace_id = o.id;
    DELETE FROM audit a USING old_rows o WHERE a.workspace_id = o.id;
    RETURN NULL;
END $$;
-- +goose StatementEnd
CREATE TRIGGER workspaces_deleted AFTER DELETE ON workspaces REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION gatehouse_workspaces_deleted();

-- +goose StatementBegin
CREATE FUNCTION gatehouse_members_deleted() RETURNS trigger LANGUAGE plpgsql
SET search_path FROM CURRENT SET enable_seqscan = off AS $$
BEGIN
    DELETE FROM member_departments d USING old_rows o WHERE d.workspace_id = o.workspace_id AND d.user_id = o.user_id;
    DELETE FROM assignments a USING old_rows o WHERE a.workspace_id = o.workspace_id AND a.user_id = o.user_id;
    RETURN NULL;
END $$;
-- +goose StatementEnd
CREATE TRIGGER members_deleted AFTER DELETE ON members REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION gatehouse_members_deleted();

-- +goose StatementBegin
CREATE FUNCTION gatehouse_departments_deleted() RETURNS trigger LANGUAGE plpgsql
SET search_path FROM CURRENT SET enable_seqscan = off AS $$
BEGIN
    DELETE FROM member_departments d USING old_rows o WHERE d.workspace_id = o.workspace_id AND d.department_id = o.id;
    RETURN NULL;
END $$;
-- +goose StatementEnd
CREATE TRIGGER departments_deleted AFTER DELETE ON departments REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION gatehouse_departments_deleted();

-- +goose StatementBegin
CREATE FUNCTION gatehouse_roles_deleted() RETURNS trigger LANGUAGE plpgsql
SET search_path FROM CURRENT SET enable_seqscan = off AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM old_rows o JOIN assignments a ON a.workspace_id = o.workspace_id AND a.role_id = o.id) THEN
        RAISE foreign_key_violation USING MESSAGE = 'delete from roles: assignments hold the role';
    END IF;
    RETURN NULL;
END $$;
-- +goose StatementEnd
CREATE TRIGGER roles_deleted AFTER DELETE ON roles REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION gatehouse_roles_deleted();

-- +goose StatementBegin
CREATE FUNCTION gatehouse_role_revisions_deleted() RETURNS trigger LANGUAGE plpgsql
SET search_path FROM CURRENT SET enable_seqscan = off AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM old_rows o JOIN assignments a
            ON a.workspace_id = o.workspace_id AND a.role_id = o.role_id AND a.revision = o.revision) THEN
        RAISE foreign_key_violation USING MESSAGE = 'delete from role_revisions: assignments hold the revision';
    END IF;
    RETURN NULL;
END $$;
-- +goose StatementEnd
CREATE TRIGGER role_revisions_deleted AFTER DELETE ON role_revisions REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION gatehouse_role_revisions_deleted();

-- The parents' keys never change. UPDATE OF fires only when a statement
-- sets a key column, which none of the store's does: the epoch bumps and
-- upserts of thousands of rows pay nothing for this.
-- +goose StatementBegin
CREATE FUNCTION gatehouse_key_unchanged() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE foreign_key_violation USING MESSAGE = format('update %s: keys do not change', TG_TABLE_NAME);
END $$;
-- +goose StatementEnd
CREATE TRIGGER workspaces_key BEFORE UPDATE OF id ON workspaces FOR EACH ROW
    WHEN (OLD.id IS DISTINCT FROM NEW.id) EXECUTE FUNCTION gatehouse_key_unchanged();
CREATE TRIGGER members_key BEFORE UPDATE OF workspace_id, user_id ON members FOR EACH ROW
    WHEN (OLD.workspace_id IS DISTINCT FROM NEW.workspace_id OR OLD.user_id IS DISTINCT FROM NEW.user_id)
    EXECUTE FUNCTION gatehouse_key_unchanged();
CREATE TRIGGER departments_key BEFORE UPDATE OF workspace_id, id ON departments FOR EACH ROW
    WHEN (OLD.workspace_id IS DISTINCT FROM NEW.workspace_id OR OLD.id IS DISTINCT FROM NEW.id)
    EXECUTE FUNCTION gatehouse_key_unchanged();
CREATE TRIGGER roles_key BEFORE UPDATE OF workspace_id, id ON roles FOR EACH ROW
    WHEN (OLD.workspace_id IS DISTINCT FROM NEW.workspace_id OR OLD.id IS DISTINCT FROM NEW.id)
    EXECUTE FUNCTION gatehouse_key_unchanged();
CREATE TRIGGER role_revisions_key BEFORE UPDATE OF workspace_id, role_id, revision ON role_revisions FOR EACH ROW
    WHEN (OLD.workspace_id IS DISTINCT FROM NEW.workspace_id OR OLD.role_id IS DISTINCT FROM NEW.role_id OR OLD.revision IS DISTINCT FROM NEW.revision)
    EXECUTE FUNCTION gatehouse_key_unchanged();

-- +goose Down
DROP TRIGGER workspaces_key ON workspaces;
DROP TRIGGER members_key ON members;
DROP TRIGGER departments_key ON departments;
DROP TRIGGER roles_key ON roles;
DROP TRIGGER role_revisions_key ON role_revisions;
DROP FUNCTION gatehouse_key_unchanged();
DROP TRIGGER role_revisions_deleted ON role_revisions;
DROP FUNCTION gatehouse_role_revisions_deleted();
DROP TRIGGER roles_deleted ON roles;
DROP FUNCTION gatehouse_roles_deleted();
DROP TRIGGER departments_deleted ON departments;
DROP FUNCTION gatehouse_departments_deleted();
DROP TRIGGER members_deleted ON members;
DROP FUNCTION gatehouse_members_deleted();
DROP TRIGGER workspaces_deleted ON workspaces;
DROP FUNCTION gatehouse_workspaces_deleted();
DROP TRIGGER assignments_keys ON assignments;
DROP TRIGGER assignments_keys_update ON assignments;
DROP FUNCTION gatehouse_assignments_keys();
DROP TRIGGER member_departments_keys ON member_departments;
DROP TRIGGER member_departments_keys_update ON member_departments;
DROP FUNCTION gatehouse_member_departments_keys();
DROP TRIGGER members_keys ON members;
DROP TRIGGER audit_keys ON audit;
DROP FUNCTION gatehouse_workspace_rows_keys();
ALTER TABLE audit ADD CONSTRAINT audit_workspace_id_fkey
    FOREIGN KEY (workspace_id) REFERENCES workspaces(id) ON DELETE CASCADE;
ALTER TABLE assignments
    ADD CONSTRAINT assignments_workspace_id_user_id_fkey
        FOREIGN KEY (workspace_id, user_id) REFERENCES members(workspace_id, user_id) ON DELETE CASCADE,
    ADD CONSTRAINT assignments_workspace_id_role_id_revision_fkey
        FOREIGN KEY (workspace_id, role_id, revision) REFERENCES role_revisions(workspace_id, role_id, revision),
    ADD CONSTRAINT assignments_role_fkey
        FOREIGN KEY (workspace_id, role_id) REFERENCES roles(workspace_id, id);
ALTER TABLE member_departments
    ADD CONSTRAINT member_departments_workspace_id_user_id_fkey
        FOREIGN KEY (workspace_id, user_id) REFERENCES members(workspace_id, user_id) ON DELETE CASCADE,
    ADD CONSTRAINT member_departments_workspace_id_department_id_fkey
        FOREIGN KEY (workspace_id, department_id) REFERENCES departments(workspace_id, id) ON DELETE CASCADE;
ALTER TABLE members ADD CONSTRAINT members_workspace_id_fkey
    FOREIGN KEY (workspace_id) REFERENCES workspaces(id) ON DELETE CASCADE;
