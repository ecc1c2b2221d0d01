-- +goose Up
-- The routes a gateway asks about (forward authorization): method and
-- path pattern → the permission they need, in order.
CREATE TABLE gateway_routes (
    workspace_id     TEXT NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    position         INTEGER NOT NULL,
    method           TEXT NOT NULL,
    path             TEXT NOT NULL,
    permission       TEXT NOT NULL,
    owner_param      TEXT NOT NULL,
    department_param TEXT NOT NULL,
    PRIMARY KEY (workspace_id, position)
);

-- +goose Down
DROP TABLE gateway_routes;
