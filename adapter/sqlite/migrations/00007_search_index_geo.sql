-- The program directory (issue 14): near search on Location.position.
-- Positions are search_index rows of kind 'g' (sqlstore.KindGeo): low =
-- latitude, high = longitude, in microdegrees. A near search is a range
-- scan of this index on a latitude band, longitudes filtered inside the
-- index, then the exact distance (adapter/internal/sqlstore/near.go).
-- Existing Locations and HealthcareServices get their rows for near and
-- the directory's new parameters from a reindex that Migrate runs after
-- this migration (sqlstore.ReindexAfterMigrations).

-- +goose Up
CREATE INDEX search_index_geo ON search_index (res_type, param, low, high, res_id) WHERE kind = 'g';

-- +goose Down
DELETE FROM search_index WHERE kind = 'g';
DROP INDEX search_index_geo;
