-- The audit trail's rows enter one B-tree fewer (issue 13: audit under 10%
-- of read throughput; docs/performance.md). seq was the primary key, but
-- nothing looks a row up by seq: reads go by id (its UNIQUE index), and
-- searches order and page by (recorded, seq), which audit_events_recorded
-- now covers whole (the _cursor condition "recorded = r AND seq > s" is a
-- range of it). seq stays unique: only its sequence fills it. (Number
-- 00010 is a reindex of both stores; SQLite has no 00011 of this kind: its
-- buffered trail is in a file of its own, adapter/sqlite/audit.go.)

-- +goose Up
ALTER TABLE audit_events DROP CONSTRAINT audit_events_pkey;
DROP INDEX audit_events_recorded;
CREATE INDEX audit_events_recorded ON audit_events (recorded, seq);

-- +goose Down
DROP INDEX audit_events_recorded;
CREATE INDEX audit_events_recorded ON audit_events (recorded);
ALTER TABLE audit_events ADD PRIMARY KEY (seq);
