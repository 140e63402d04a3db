-- Extended statistics on search_index (docs/performance.md, session 10).
-- A search clause is a subquery over search_index keyed by res_type, param
-- and the value's columns; PostgreSQL estimates such a conjunction as if the
-- columns were independent, so a token that thousands of rows share
-- (Task.code follow-up: every prescription's follow-up Task) was estimated
-- at one row. The planner then probed the next clause once per row with an
-- index that does not lead with res_id: the README's follow-up work list
-- (Task?code=...|follow-up&due-date=le...) read every due-date row of Task
-- once per follow-up Task, quadratic in the number of prescriptions (2,001
-- Tasks: 1.5 s; with these statistics 47 ms). MCV lists over the columns a
-- clause fixes let it see the common combinations: tokens, references (a
-- program's thousands of referral Tasks) and the parameter itself.

-- +goose Up
CREATE STATISTICS search_index_token_stats (mcv) ON res_type, param, system, code FROM search_index;
CREATE STATISTICS search_index_ref_stats (mcv) ON res_type, param, ref_type, ref_id FROM search_index;
CREATE STATISTICS search_index_param_stats (mcv, dependencies) ON res_type, param, kind FROM search_index;
-- Built by the next ANALYZE of search_index (autovacuum's, or an
-- operator's after a large import). Not run here: analysing a new, empty
-- table makes the planner take it for one that stays empty.

-- +goose Down
DROP STATISTICS IF EXISTS search_index_param_stats;
DROP STATISTICS IF EXISTS search_index_ref_stats;
DROP STATISTICS IF EXISTS search_index_token_stats;
