-- Resources, their history and the search index (see adapter/internal/sqlstore).
-- Timestamps are unix microseconds; deleted is 0/1.

-- +goose Up
CREATE TABLE resources (
    type         TEXT    NOT NULL,
    id           TEXT    NOT NULL,
    version      INTEGER NOT NULL,
    last_updated INTEGER NOT NULL,
    deleted      INTEGER NOT NULL DEFAULT 0,
    body         BLOB,
    seq          INTEGER NOT NULL,
    PRIMARY KEY (type, id)
);

CREATE TABLE resource_versions (
    type         TEXT    NOT NULL,
    id           TEXT    NOT NULL,
    version      INTEGER NOT NULL,
    last_updated INTEGER NOT NULL,
    deleted      INTEGER NOT NULL DEFAULT 0,
    body         BLOB,
    seq          INTEGER NOT NULL,
    PRIMARY KEY (type, id, version)
);
CREATE UNIQUE INDEX resource_versions_seq ON resource_versions (seq);
-- History is newest first by (last_updated, seq): seq alone can disagree
-- with lastUpdated between concurrent writers.
CREATE INDEX resource_versions_time ON resource_versions (last_updated, seq);
CREATE INDEX resource_versions_type_time ON resource_versions (type, last_updated, seq);

-- One row holding the last global version sequence number.
CREATE TABLE version_seq (
    id    INTEGER PRIMARY KEY CHECK (id = 1),
    value INTEGER NOT NULL
);
INSERT INTO version_seq (id, value) VALUES (1, 0);

CREATE TABLE search_index (
    res_type TEXT NOT NULL,
    res_id   TEXT NOT NULL,
    param    TEXT NOT NULL,
    system   TEXT NOT NULL DEFAULT '',
    code     TEXT NOT NULL DEFAULT '',
    text     TEXT NOT NULL DEFAULT '',
    value    TEXT NOT NULL DEFAULT '',
    exact    TEXT NOT NULL DEFAULT '',
    low      INTEGER,
    high     INTEGER,
    number   REAL,
    ref_type TEXT NOT NULL DEFAULT '',
    ref_id   TEXT NOT NULL DEFAULT ''
);
-- Five indexes, each led by (res_type, param): every index costs a B-tree
-- insert per row on the write path, which dominates ingest; :exact, uri and
-- number searches range over (res_type, param) of one of them. res_id ends
-- each search index so that the IN (SELECT res_id ...) subqueries
-- are answered from the index alone.
CREATE INDEX search_index_token  ON search_index (res_type, param, code, system, res_id);
CREATE INDEX search_index_ref    ON search_index (res_type, param, ref_type, ref_id, res_id);
CREATE INDEX search_index_value  ON search_index (res_type, param, value, res_id);
CREATE INDEX search_index_date   ON search_index (res_type, param, low, high, res_id);
CREATE INDEX search_index_res    ON search_index (res_type, res_id);

-- +goose Down
DROP TABLE search_index;
DROP TABLE version_seq;
DROP TABLE resource_versions;
DROP TABLE resources;
