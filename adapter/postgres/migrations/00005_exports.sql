-- Bulk Data export jobs (socialrx.ExportJob, ../../../export.go; queries in
-- adapter/internal/sqlstore/export.go). One row per $export kick-off, written
-- with its River job (bulk_export) in one transaction; the job checkpoints
-- its progress here (cursor, outputs with their byte lengths), so that a
-- resumed job continues where the last checkpoint left it. No PHI: ids,
-- types, dates, counts and file names. Times are unix microseconds, 0 when
-- unset.

-- +goose Up
CREATE TABLE exports (
    id               text COLLATE "C" NOT NULL PRIMARY KEY,
    owner            text COLLATE "C" NOT NULL DEFAULT '', -- Principal.ClientID of the kick-off
    level            text COLLATE "C" NOT NULL,            -- system | patient | group
    group_id         text COLLATE "C" NOT NULL DEFAULT '',
    types            text COLLATE "C" NOT NULL,            -- comma-separated, in order
    since            bigint  NOT NULL DEFAULT 0,
    transaction_time bigint  NOT NULL,
    request          text    NOT NULL,
    facts            boolean NOT NULL DEFAULT false,
    status           text COLLATE "C" NOT NULL,            -- accepted | in-progress | completed | failed
    total            bigint  NOT NULL DEFAULT 0,
    done             bigint  NOT NULL DEFAULT 0,
    cursor           text    NOT NULL DEFAULT '{}', -- JSON socialrx.ExportCursor
    outputs          text    NOT NULL DEFAULT '[]', -- JSON []socialrx.ExportOutput
    error            text    NOT NULL DEFAULT '',
    created_at       bigint  NOT NULL,
    updated_at       bigint  NOT NULL,
    expires_at       bigint  NOT NULL DEFAULT 0
);
CREATE INDEX exports_expires ON exports (expires_at);

-- +goose Down
DROP TABLE exports;
