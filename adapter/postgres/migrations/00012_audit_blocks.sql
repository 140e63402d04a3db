-- The buffered audit trail in blocks (issue 13: the audit trail under 10%
-- of read throughput; docs/performance.md "Session 8: blocks"). Each batch
-- the Auditor appends (socialrx.AuditLog) is one row of audit_blocks, its
-- records encoded in Go (adapter/internal/sqlstore/auditblock.go), instead
-- of one audit_events row per event with five B-tree entries. Blocks are
-- indexed, not events: audit_block_keys has one row per distinct agent
-- ("a|Device/x"), entity or patient entity ("e|Type/id"), patient
-- ("p|Patient/id") and id prefix ("i|...") of a block, with the number of
-- the block's events that have it. Keys are written a few thousand events
-- at a time, in one sorted pass (audit_block_mark.keyed: the last block
-- with keys); searches read the blocks after it whole
-- (adapter/internal/sqlstore/auditblocks.go). audit_events keeps the
-- writes' own AuditEvents and the buffered ones appended before this
-- migration; both are searched. Times are unix microseconds.

-- +goose Up
CREATE TABLE audit_blocks (
    block        bigint PRIMARY KEY,
    n            integer NOT NULL,
    min_recorded bigint NOT NULL,
    max_recorded bigint NOT NULL,
    min_id       text COLLATE "C" NOT NULL,
    max_id       text COLLATE "C" NOT NULL,
    data         bytea NOT NULL
);
CREATE INDEX audit_blocks_max_recorded ON audit_blocks (max_recorded, block);
CREATE INDEX audit_blocks_min_recorded ON audit_blocks (min_recorded, block);
-- A group: the blocks first .. last, whose keys were written together.
CREATE TABLE audit_block_groups (
    last  bigint PRIMARY KEY,
    first bigint NOT NULL
);
-- Keys name a group by its last block.
CREATE TABLE audit_block_keys (
    key   text COLLATE "C" NOT NULL,
    block bigint NOT NULL,
    n     integer NOT NULL,
    PRIMARY KEY (key, block)
);
-- One row: blocks up to keyed have their keys; next is the next block's
-- number; pending the events of the blocks after keyed; max_id the
-- greatest id of all blocks.
CREATE TABLE audit_block_mark (
    keyed   bigint NOT NULL,
    next    bigint NOT NULL,
    pending bigint NOT NULL,
    max_id  text COLLATE "C" NOT NULL
);
INSERT INTO audit_block_mark VALUES (0, 1, 0, '');

-- +goose Down
DROP TABLE audit_block_mark;
DROP TABLE audit_block_keys;
DROP TABLE audit_block_groups;
DROP TABLE audit_blocks;
