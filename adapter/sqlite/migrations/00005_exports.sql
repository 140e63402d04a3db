-- Bulk Data export jobs (socialrx.ExportJob, ../../../export.go; queries in
-- adapter/internal/sqlstore/export.go). One row per $export kick-off, written
-- with its River job (bulk_export) in one transaction; the job checkpoints
-- its progress here (cursor, outputs with their byte lengths), so that a
-- resumed job continues where the last checkpoint left it. No PHI: ids,
-- types, dates, counts and file names. Times are unix microseconds, 0 when
-- unset.

-- +goose Up
CREATE TABLE exports (
    id               TEXT    NOT NULL PRIMARY KEY,
    owner            TEXT    NOT NULL DEFAULT '', -- Principal.ClientID of the kick-off
    level            TEXT    NOT NULL,            -- system | patient | group
    group_id         TEXT    NOT NULL DEFAULT '',
    types            TEXT    NOT NULL,            -- comma-separated, in order
    since            INTEGER NOT NULL DEFAULT 0,
    transaction_time INTEGER NOT NULL,
    request          TEXT    NOT NULL,
    facts            INTEGER NOT NULL DEFAULT 0,
    status           TEXT    NOT NULL,            -- accepted | in-progress | completed | failed
    total            INTEGER NOT NULL DEFAULT 0,
    done             INTEGER NOT NULL DEFAULT 0,
    cursor           TEXT    NOT NULL DEFAULT '{}', -- JSON socialrx.ExportCursor
    outputs          TEXT    NOT NULL DEFAULT '[]', -- JSON []socialrx.ExportOutput
    error            TEXT    NOT NULL DEFAULT '',
    created_at       INTEGER NOT NULL,
    updated_at       INTEGER NOT NULL,
    expires_at       INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX exports_expires ON exports (expires_at);

-- +goose Down
DROP TABLE exports;
