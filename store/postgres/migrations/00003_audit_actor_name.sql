-- +goose Up
-- The acting member's name when it acted (X5); empty for keys, the
-- deployment admin and entries written before names were recorded.
ALTER TABLE audit ADD COLUMN actor_name TEXT NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE audit DROP COLUMN actor_name;
