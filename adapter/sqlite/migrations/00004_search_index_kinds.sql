-- One index per kind of search_index row instead of every row in every index
-- (issue 12, ingest speed; docs/performance.md). Each row entered the table
-- and five B-trees; now the table, its kind's partial index and
-- search_index_res. Every search clause names its kind as a literal
-- (adapter/internal/sqlstore/sqlbuild.go), which is what lets the planner use
-- a partial index. _id and _lastUpdated have no rows any more: searches read
-- resources.id and resources.last_updated.
--
-- Kinds (sqlstore.KindOf): t token, s string, d date, n number and quantity,
-- r reference and uri. Existing rows get theirs from the columns the indexer
-- fills for each type (fhir/search/index.go): only dates have low, only
-- numbers and quantities number, only strings a value, references and uris
-- exact, tokens none of these.

-- +goose Up
ALTER TABLE search_index ADD COLUMN kind TEXT NOT NULL DEFAULT '';
UPDATE search_index SET kind = CASE
    WHEN low IS NOT NULL THEN 'd'
    WHEN number IS NOT NULL THEN 'n'
    WHEN value <> '' THEN 's'
    WHEN exact <> '' THEN 'r'
    ELSE 't' END;
DELETE FROM search_index WHERE param IN ('_id', '_lastUpdated');
DROP INDEX search_index_token;
DROP INDEX search_index_ref;
DROP INDEX search_index_value;
DROP INDEX search_index_date;
CREATE INDEX search_index_token  ON search_index (res_type, param, code, system, res_id) WHERE kind = 't';
CREATE INDEX search_index_ref    ON search_index (res_type, param, ref_type, ref_id, res_id) WHERE kind = 'r';
CREATE INDEX search_index_value  ON search_index (res_type, param, value, res_id) WHERE kind = 's';
CREATE INDEX search_index_date   ON search_index (res_type, param, low, high, res_id) WHERE kind = 'd';
CREATE INDEX search_index_number ON search_index (res_type, param, number, res_id) WHERE kind = 'n';

-- +goose Down
DROP INDEX search_index_token;
DROP INDEX search_index_ref;
DROP INDEX search_index_value;
DROP INDEX search_index_date;
DROP INDEX search_index_number;
ALTER TABLE search_index DROP COLUMN kind;
CREATE INDEX search_index_token  ON search_index (res_type, param, code, system, res_id);
CREATE INDEX search_index_ref    ON search_index (res_type, param, ref_type, ref_id, res_id);
CREATE INDEX search_index_value  ON search_index (res_type, param, value, res_id);
CREATE INDEX search_index_date   ON search_index (res_type, param, low, high, res_id);
-- The _id and _lastUpdated rows the older code searches (lastUpdated at
-- its stored precision, microseconds: low = high).
INSERT INTO search_index (res_type, res_id, param, code)
    SELECT type, id, '_id', id FROM resources WHERE NOT deleted;
INSERT INTO search_index (res_type, res_id, param, low, high)
    SELECT type, id, '_lastUpdated', last_updated, last_updated FROM resources WHERE NOT deleted;
