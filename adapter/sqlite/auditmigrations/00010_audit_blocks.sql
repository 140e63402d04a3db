-- The buffered audit trail in blocks (issue 13; the same tables as the
-- PostgreSQL migration 00012_audit_blocks, which says what they hold;
-- adapter/internal/sqlstore/auditblocks.go writes and reads them). Each
-- batch the Auditor appends is one row of audit_blocks; keys index groups
-- of blocks, not events, and are written a few thousand events at a time. The tables
-- audit_events and audit_tail of 00009 are no longer written; the records
-- they hold are still read and searched.

-- +goose Up
CREATE TABLE audit_blocks (
    block        INTEGER PRIMARY KEY,
    n            INTEGER NOT NULL,
    min_recorded INTEGER NOT NULL,
    max_recorded INTEGER NOT NULL,
    min_id       TEXT    NOT NULL,
    max_id       TEXT    NOT NULL,
    data         BLOB    NOT NULL
);
CREATE INDEX audit_blocks_max_recorded ON audit_blocks (max_recorded, block);
CREATE INDEX audit_blocks_min_recorded ON audit_blocks (min_recorded, block);
CREATE TABLE audit_block_groups (
    last  INTEGER PRIMARY KEY,
    first INTEGER NOT NULL
);
CREATE TABLE audit_block_keys (
    key   TEXT    NOT NULL,
    block INTEGER NOT NULL,
    n     INTEGER NOT NULL,
    PRIMARY KEY (key, block)
) WITHOUT ROWID;
CREATE TABLE audit_block_mark (
    keyed   INTEGER NOT NULL,
    next    INTEGER NOT NULL,
    pending INTEGER NOT NULL,
    max_id  TEXT    NOT NULL
);
INSERT INTO audit_block_mark VALUES (0, 1, 0, '');

-- +goose Down
DROP TABLE audit_block_mark;
DROP TABLE audit_block_keys;
DROP TABLE audit_block_groups;
DROP TABLE audit_blocks;
