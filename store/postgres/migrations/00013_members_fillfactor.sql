-- +goose Up
-- Room in each page of members for a new version of its rows: an applied
-- edit bumps the epochs of thousands of members (A1), and an update that
-- finds room on its row's page is a heap-only tuple, with no new entry in
-- the primary key's index. Pages written from now on keep a fifth free;
-- existing pages gain room as they are rewritten.
ALTER TABLE members SET (fillfactor = 80);

-- +goose Down
ALTER TABLE members RESET (fillfactor);
