package postgres

import (
	"context"

	"github.com/socialrx/socialrx/adapter/internal/sqlstore"
)

// The bulk write (sqlstore.DriverTx LockCurrentMany and PutMany): three
// statements for a whole batch, whatever its size. The batch travels as
// one array per column (unnest), so the texts are fixed and pgx prepares
// each once per connection; index rows go by COPY.
//
// The (type, id) of the arrays are compared as COLLATE "C", the columns'
// collation, so that the primary key serves the joins.
const (
	// lockManySQL reads and locks the current rows, in the order of the
	// keys (the engine sends them in the batch's order). Each key is its
	// own primary key lookup (LATERAL ... LIMIT 1, which the planner
	// cannot turn into a hash join over a sequential scan of resources:
	// what it chose for a plain join, reading every body).
	lockManySQL = sqlstore.KeyLookup + `SELECT r.type, r.id, r.version, r.last_updated, r.deleted
FROM unnest($1::text[], $2::text[]) AS k(type, id)
CROSS JOIN LATERAL (SELECT r.type, r.id, r.version, r.last_updated, r.deleted FROM resources r
  WHERE r.type = k.type COLLATE "C" AND r.id = k.id COLLATE "C" LIMIT 1 FOR UPDATE) r`

	// readManySQL is Engine.ReadMany's query (Dialect.ReadMany), by
	// primary key lookups as lockManySQL: an import's check of what is
	// unchanged read 500 resources with five statements of 100 ORs each,
	// a seventh of its time on PostgreSQL. Both are KeyLookups, since each
	// key's lookup is parameterized by the unnest's columns, not by the
	// statement's values. For ReadMany, which goes through driver.go
	// planned, that makes it a cached prepared statement (parsed once per
	// connection) that rides in the transaction's pipe with the deferred
	// statements (pipe.go) instead of flushing it in a round trip of its
	// own; lockManySQL was prepared already (LockCurrentMany sends it on
	// the pipe itself) and carries the mark so that the two read alike. PostgreSQL still plans a
	// batch of a few keys at every run (a generic plan assumes 10 array
	// elements and looks dearer; hiding the length from the custom plans
	// too made it choose the generic one, but the saving, ~0.27 ms of server
	// time an encounter Bundle, did not show through this machine's noise:
	// docs/performance.md, session 12). TestReadManyGenericPlan checks that
	// a plan kept from small tables still looks keys up by primary key.
	readManySQL = sqlstore.KeyLookup + `SELECT r.type, r.id, r.version, r.last_updated, r.deleted, r.body
FROM unnest($1::text[], $2::text[]) AS k(type, id)
CROSS JOIN LATERAL (SELECT r.type, r.id, r.version, r.last_updated, r.deleted, r.body FROM resources r
  WHERE r.type = k.type COLLATE "C" AND r.id = k.id COLLATE "C" LIMIT 1) r`

	// matchTokensSQL is sqlstore.Dialect.MatchTokens: a lateral lookup per
	// condition over the token index, the same subquery as a search's
	// (sqlbuild.go matchSet) with the values as columns of the unnest.
	matchTokensSQL = `SELECT k.q, m.type, m.id, m.version, m.last_updated, m.body
FROM unnest($1::int4[], $2::text[], $3::text[], $4::text[], $5::text[]) AS k(q, type, param, system, code)
CROSS JOIN LATERAL (SELECT r.type, r.id, r.version, r.last_updated, r.body FROM resources r
  WHERE r.type = k.type COLLATE "C" AND NOT r.deleted AND r.id IN (SELECT si.res_id FROM search_index si
    WHERE si.res_type = k.type COLLATE "C" AND si.param = k.param COLLATE "C" AND si.kind = 't'
      AND si.code = k.code COLLATE "C" AND si.system = k.system COLLATE "C") LIMIT 2) m`

	// putManySQL numbers the batch with the next sequence values in
	// order (seq), inserts the new current rows (ON CONFLICT DO NOTHING:
	// one created concurrently is left out, as in putInsertSQL), updates
	// the others, writes the history row of each current row written and
	// deletes the old index rows of the updated ones. All sub-statements
	// run on one snapshot. It returns the (type, id) written.
	putManySQL = `WITH s AS (
  SELECT seq, row_number() OVER (ORDER BY seq) AS ord
  FROM (SELECT nextval('resource_seq') AS seq FROM generate_series(1, cardinality($1::text[]))) n),
v AS (
  SELECT u.type COLLATE "C" AS type, u.id COLLATE "C" AS id, u.version, u.last_updated, u.body, u.ins, s.seq
  FROM unnest($1::text[], $2::text[], $3::bigint[], $4::bigint[], $5::json[], $6::boolean[])
    WITH ORDINALITY AS u(type, id, version, last_updated, body, ins, ord)
  JOIN s ON s.ord = u.ord),
ins AS (INSERT INTO resources (` + putVersionCols + `)
  SELECT type, id, version, last_updated, false, body, seq FROM v WHERE ins
  ON CONFLICT (type, id) DO NOTHING RETURNING type, id),
upd AS (UPDATE resources r SET version = v.version, last_updated = v.last_updated, deleted = false, body = v.body, seq = v.seq
  FROM v WHERE NOT v.ins AND r.type = v.type AND r.id = v.id RETURNING r.type, r.id),
w AS (SELECT type, id FROM ins UNION ALL SELECT type, id FROM upd),
ver AS (INSERT INTO resource_versions (` + putVersionCols + `)
  SELECT v.type, v.id, v.version, v.last_updated, false, v.body, v.seq FROM v JOIN w ON w.type = v.type AND w.id = v.id),
del AS (DELETE FROM search_index si USING upd WHERE si.res_type = upd.type AND si.res_id = upd.id)
SELECT type, id FROM w`
)

// LockCurrentMany reads and locks the current rows of keys with one query
// (see sqlstore.DriverTx).
func (t tx) LockCurrentMany(ctx context.Context, keys []sqlstore.Key) ([]sqlstore.Current, error) {
	types, ids := make([]string, len(keys)), make([]string, len(keys))
	for i, k := range keys {
		types[i], ids[i] = k.Type, k.ID
	}
	rows, err := t.p.Query(ctx, lockManySQL, types, ids)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []sqlstore.Current
	for rows.Next() {
		var c sqlstore.Current
		if err := rows.Scan(&c.Type, &c.ID, &c.Version, &c.LastUpdated, &c.Deleted); err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// PutMany writes the batch with one statement for the current and history
// rows and one COPY (or INSERT, for a few) for the index rows of those
// written (see sqlstore.DriverTx).
func (t tx) PutMany(ctx context.Context, vs []*sqlstore.Version) ([]bool, error) {
	n := len(vs)
	types, ids := make([]string, n), make([]string, n)
	versions, lastUpdated := make([]int64, n), make([]int64, n)
	bodies, ins := make([][]byte, n), make([]bool, n)
	at := make(map[sqlstore.Key]int, n)
	for i, v := range vs {
		types[i], ids[i], versions[i], lastUpdated[i], bodies[i], ins[i] = v.Type, v.ID, v.Version, v.LastUpdated, v.Body, v.Insert
		at[sqlstore.Key{Type: v.Type, ID: v.ID}] = i
	}
	rows, err := t.p.Query(ctx, putManySQL, types, ids, versions, lastUpdated, bodies, ins)
	if err != nil {
		return nil, err
	}
	written := make([]bool, n)
	for rows.Next() {
		var k sqlstore.Key
		if err := rows.Scan(&k.Type, &k.ID); err != nil {
			rows.Close()
			return nil, err
		}
		if i, ok := at[k]; ok {
			written[i] = true
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	var index []sqlstore.IndexRow
	for i, v := range vs {
		if written[i] {
			index = append(index, v.Index...)
		}
	}
	if len(index) > 0 {
		if err := t.InsertIndex(ctx, index); err != nil {
			return nil, err
		}
	}
	return written, nil
}
