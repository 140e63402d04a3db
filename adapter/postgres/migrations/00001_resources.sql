-- Resources, their history and the search index (see adapter/internal/sqlstore).
-- Timestamps are unix microseconds (bigint), as in the SQLite store, so that
-- both share one engine. Text keys use COLLATE "C": byte order, which keyset
-- paging and the prefix ranges of string search rely on, and which lets
-- B-tree indexes serve them.
--
-- body is json, not jsonb: jsonb keeps every member and the scale of
-- decimals (1.50 stays 1.50) but normalizes key order, whitespace and number
-- notation (1e2 becomes 100), and the store promises the document as
-- received (adapter/storetest checks 1e2). json stores the text as sent,
-- validated; cast to jsonb in queries that need its operators. NULL for
-- delete markers.

-- +goose Up
CREATE SEQUENCE resource_seq;

CREATE TABLE resources (
    type         text COLLATE "C" NOT NULL,
    id           text COLLATE "C" NOT NULL,
    version      bigint  NOT NULL,
    last_updated bigint  NOT NULL,
    deleted      boolean NOT NULL DEFAULT false,
    body         json,
    seq          bigint  NOT NULL,
    PRIMARY KEY (type, id)
);

CREATE TABLE resource_versions (
    type         text COLLATE "C" NOT NULL,
    id           text COLLATE "C" NOT NULL,
    version      bigint  NOT NULL,
    last_updated bigint  NOT NULL,
    deleted      boolean NOT NULL DEFAULT false,
    body         json,
    seq          bigint  NOT NULL,
    PRIMARY KEY (type, id, version)
);
CREATE UNIQUE INDEX resource_versions_seq ON resource_versions (seq);
-- History is newest first by (last_updated, seq): seq alone can disagree
-- with lastUpdated between concurrent writers.
CREATE INDEX resource_versions_time ON resource_versions (last_updated, seq);
CREATE INDEX resource_versions_type_time ON resource_versions (type, last_updated, seq);

CREATE TABLE search_index (
    res_type text COLLATE "C" NOT NULL,
    res_id   text COLLATE "C" NOT NULL,
    param    text COLLATE "C" NOT NULL,
    system   text COLLATE "C" NOT NULL DEFAULT '',
    code     text COLLATE "C" NOT NULL DEFAULT '',
    text     text COLLATE "C" NOT NULL DEFAULT '',
    value    text COLLATE "C" NOT NULL DEFAULT '',
    exact    text COLLATE "C" NOT NULL DEFAULT '',
    low      bigint,
    high     bigint,
    number   double precision,
    ref_type text COLLATE "C" NOT NULL DEFAULT '',
    ref_id   text COLLATE "C" NOT NULL DEFAULT ''
);
-- Five indexes, each led by (res_type, param): every index costs a B-tree
-- insert per row on the write path, which dominates ingest; :exact, uri and
-- number searches range over (res_type, param) of one of them. res_id ends
-- each search index so that the IN (SELECT res_id ...)
-- subqueries can be index-only scans.
CREATE INDEX search_index_token  ON search_index (res_type, param, code, system, res_id);
CREATE INDEX search_index_ref    ON search_index (res_type, param, ref_type, ref_id, res_id);
CREATE INDEX search_index_value  ON search_index (res_type, param, value, res_id);
CREATE INDEX search_index_date   ON search_index (res_type, param, low, high, res_id);
CREATE INDEX search_index_res    ON search_index (res_type, res_id);

-- +goose Down
DROP TABLE search_index;
DROP TABLE resource_versions;
DROP TABLE resources;
DROP SEQUENCE resource_seq;
