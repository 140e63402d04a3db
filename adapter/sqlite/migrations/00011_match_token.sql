-- match_token: PostgreSQL's 00011 adds a function for the conditional-write
-- search of a single token clause with a system and a code (If-None-Exist:
-- identifier=system|value), so that its plan is made once per connection
-- instead of at every run (issue 12, docs/performance.md). SQLite compiles
-- the same query as a plain statement, once per connection (the writer's
-- statement cache, adapter/sqlite/stmtcache.go; sqlstore.Dialect.MatchToken),
-- and has nothing to create. The version is kept so that both stores share
-- their migration numbers.

-- +goose Up
SELECT 1;

-- +goose Down
SELECT 1;
