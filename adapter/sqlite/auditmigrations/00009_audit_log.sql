-- The audit log: the SQLite store's database file of its own for the
-- buffered audit trail (reads, searches, failures: workflow.Auditor's
-- batches), <database>.audit beside the main file (adapter/sqlite/audit.go).
-- audit_events is the main database's (migration 00006_audit), searched
-- together with it (adapter/internal/sqlstore/audit.go). This
-- folder holds the audit file's migrations only, applied when the store
-- opens; the numbers follow the main database's.

-- +goose Up
CREATE TABLE audit_events (
    seq      INTEGER PRIMARY KEY, -- the rowid: rows are never deleted, so it only grows
    id       TEXT    NOT NULL UNIQUE,
    recorded INTEGER NOT NULL,
    agent    TEXT    NOT NULL,            -- Device/<id>
    entity   TEXT    NOT NULL DEFAULT '', -- Type/id
    patient  TEXT    NOT NULL DEFAULT '', -- Patient/id
    subtype  TEXT    NOT NULL DEFAULT '',
    action   TEXT    NOT NULL,
    outcome  TEXT    NOT NULL,
    body     BLOB    NOT NULL
);
CREATE INDEX audit_events_recorded ON audit_events (recorded);
CREATE INDEX audit_events_agent ON audit_events (agent, recorded);
CREATE INDEX audit_events_entity ON audit_events (entity, recorded) WHERE entity <> '';
CREATE INDEX audit_events_patient ON audit_events (patient, recorded) WHERE patient <> '';
-- The newest records, appended batch by batch with one index (id), moved
-- to audit_events a few thousand at a time (adapter/sqlite/audit.go).
-- AUTOINCREMENT: seq keeps growing after the tail is emptied.
CREATE TABLE audit_tail (
    seq      INTEGER PRIMARY KEY AUTOINCREMENT,
    id       TEXT    NOT NULL UNIQUE,
    recorded INTEGER NOT NULL,
    agent    TEXT    NOT NULL,
    entity   TEXT    NOT NULL DEFAULT '',
    patient  TEXT    NOT NULL DEFAULT '',
    subtype  TEXT    NOT NULL DEFAULT '',
    action   TEXT    NOT NULL,
    outcome  TEXT    NOT NULL,
    body     BLOB    NOT NULL
);

-- +goose Down
DROP TABLE audit_tail;
DROP TABLE audit_events;
