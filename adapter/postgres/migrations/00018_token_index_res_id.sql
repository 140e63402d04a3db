-- The token index orders res_id before system (docs/performance.md, session
-- 15). A search clause with a code and no system (need-domain=food,
-- status=active) is often checked per candidate resource, as the inner
-- side of a nested loop ("is this HealthcareService one with code food?").
-- With system between code and res_id the probe could not use res_id and
-- read every row of the code: 125 probes of ~10,000 food rows each made a
-- near search of 50k programs take 150-300 ms when the planner chose that
-- loop (it did in two runs of five). With res_id next, each probe is one
-- index entry. A clause with system|code still ranges over
-- (res_type, param, code) and checks system in the index (index-only).

-- +goose Up
DROP INDEX search_index_token;
CREATE INDEX search_index_token ON search_index (res_type, param, code, res_id, system) WHERE kind = 't';

-- +goose Down
DROP INDEX search_index_token;
CREATE INDEX search_index_token ON search_index (res_type, param, code, system, res_id) WHERE kind = 't';
