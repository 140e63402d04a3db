-- match_token: the conditional-write search of the common case, a single
-- token clause with a system and a code (If-None-Exist:
-- identifier=system|value), as a function so that PostgreSQL plans its
-- query once per connection (issue 12, docs/performance.md).
--
-- Every connection plans each statement for its parameters
-- (plan_cache_mode=force_custom_plan, adapter/postgres/postgres.go): the
-- generic plans of search pages, made while the tables were small, walked
-- whole tables. Planning this lookup cost 0.15-0.45 ms a time against
-- 0.03-0.06 ms to run it, and an encounter Bundle runs six of them. Inside
-- the function the plan is generic and cached (plan_cache_mode set for its
-- call only), which is safe for this one query: an equality lookup on the
-- token partial index (search_index_token: res_type, param, code, system,
-- res_id), then each id found by the resources primary key, the only plan
-- worth having at any size. The query is written so that no other plan is
-- possible: the ids come first (DISTINCT: a resource may have two rows of
-- one value), and each resource is read by a LATERAL subquery that OFFSET
-- 0 keeps from being merged into a join the planner could turn around.
-- (As a plain semi-join, the generic plan made on empty tables read every
-- resource of the type and probed the index for each: what the search
-- pages' generic plans did.) enable_seqscan = off for the same reason.
-- TestMatchTokenPlan EXPLAINs the generic plan on an empty and a filled
-- database.
--
-- Result: the current, live resources of type p_type with a token row of
-- parameter p_param, system p_system and code p_code, two at most (a
-- conditional write needs to know one from several), exactly what the
-- engine's general match search returns for p_param=p_system|p_code
-- (adapter/internal/sqlstore/search.go). SQLite runs that lookup as a
-- plain statement (sqlstore.MatchTokenSQL; its 00011 has nothing to create).

-- +goose Up
-- +goose StatementBegin
CREATE FUNCTION match_token(p_type text, p_param text, p_system text, p_code text)
RETURNS TABLE (type text, id text, version bigint, last_updated bigint, body json)
LANGUAGE plpgsql STABLE
SET plan_cache_mode = force_generic_plan
SET enable_seqscan = off
AS $$
BEGIN
    RETURN QUERY
    SELECT r.type, r.id, r.version, r.last_updated, r.body
    FROM (SELECT DISTINCT si.res_id FROM search_index si
          WHERE si.res_type = p_type AND si.param = p_param AND si.kind = 't'
            AND si.code = p_code AND si.system = p_system) m
    CROSS JOIN LATERAL (SELECT x.type, x.id, x.version, x.last_updated, x.body FROM resources x
          WHERE x.type = p_type AND x.id = m.res_id AND NOT x.deleted OFFSET 0) r
    LIMIT 2;
END
$$;
-- +goose StatementEnd

-- +goose Down
DROP FUNCTION match_token(text, text, text, text);
