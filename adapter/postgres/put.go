package postgres

import (
	"context"
	"strings"

	"github.com/socialrx/socialrx/adapter/internal/sqlstore"
)

// A write is one statement, one round trip: data-modifying CTEs take the
// next sequence value, write the current row, the history row and the index
// rows (unnest over one array per column). All sub-statements run on one
// snapshot, so the DELETE of the old index rows cannot see (and remove) the
// rows the same statement inserts. The texts are fixed, so pgx prepares each
// once per connection.
const (
	putVersionCols = `type, id, version, last_updated, deleted, body, seq`
	putIndexInsert = `INSERT INTO search_index (res_type, res_id, param, system, code, text, value, exact, low, high, number, ref_type, ref_id, kind)
  SELECT $1::text, $2::text, u.* FROM unnest($7::text[], $8::text[], $9::text[], $10::text[], $11::text[], $12::text[], $13::bigint[], $14::bigint[], $15::float8[], $16::text[], $17::text[], $18::text[]) AS u`

	// putInsertSQL inserts version 1; with the id taken, cur is empty and
	// nothing else is written.
	putInsertSQL = `WITH s AS (SELECT nextval('resource_seq') AS seq),
cur AS (INSERT INTO resources (` + putVersionCols + `)
  SELECT $1::text, $2::text, $3::bigint, $4::bigint, $5::boolean, $6::json, s.seq FROM s
  ON CONFLICT (type, id) DO NOTHING RETURNING seq),
ver AS (INSERT INTO resource_versions (` + putVersionCols + `)
  SELECT $1::text, $2::text, $3::bigint, $4::bigint, $5::boolean, $6::json, cur.seq FROM cur),
idx AS (` + putIndexInsert + ` WHERE EXISTS (SELECT 1 FROM cur))
SELECT count(*) FROM cur`

	// putUpdateSQL updates the (locked) current row and replaces the index
	// rows.
	putUpdateSQL = `WITH s AS (SELECT nextval('resource_seq') AS seq),
cur AS (UPDATE resources r SET version = $3::bigint, last_updated = $4::bigint, deleted = $5::boolean, body = $6::json, seq = s.seq
  FROM s WHERE r.type = $1::text AND r.id = $2::text RETURNING r.seq),
ver AS (INSERT INTO resource_versions (` + putVersionCols + `)
  SELECT $1::text, $2::text, $3::bigint, $4::bigint, $5::boolean, $6::json, cur.seq FROM cur),
del AS (DELETE FROM search_index WHERE res_type = $1::text AND res_id = $2::text AND EXISTS (SELECT 1 FROM cur)),
idx AS (` + putIndexInsert + ` WHERE EXISTS (SELECT 1 FROM cur))
SELECT count(*) FROM cur`
)

// The deferred forms (Version.Deferrable): the same writes, answering
// nothing; each checks that it wrote its current row
// (socialrx_write_check, migration 00016), so that the transaction fails
// rather than go on without it.
var (
	putInsertDeferredSQL = deferredPut(putInsertSQL, "socialrx: the id of a new resource was taken")
	putUpdateDeferredSQL = deferredPut(putUpdateSQL, "socialrx: the locked current row of a write is gone")
)

// deferredPut replaces the count a put statement returns with the check.
func deferredPut(sql, message string) string {
	const tail = `SELECT count(*) FROM cur`
	if !strings.HasSuffix(sql, tail) {
		panic("postgres: a put statement does not end with its count")
	}
	return strings.TrimSuffix(sql, tail) + `SELECT socialrx_write_check(count(*) = 1, '` + message + `') FROM cur`
}

// Put writes one version with one statement (see sqlstore.DriverTx). A
// Deferrable one waits in the transaction's pipe for the next statement
// (pipe.go) and answers ok: it costs no round trip of its own.
func (t tx) Put(ctx context.Context, v *sqlstore.Version) (bool, error) {
	n := len(v.Index)
	var (
		param, system, code, text = make([]string, n), make([]string, n), make([]string, n), make([]string, n)
		value, exact              = make([]string, n), make([]string, n)
		low, high                 = make([]*int64, n), make([]*int64, n)
		number                    = make([]*float64, n)
		refType, refID, kind      = make([]string, n), make([]string, n), make([]string, n)
	)
	for i := range v.Index {
		r := &v.Index[i]
		param[i], system[i], code[i], text[i] = r.Param, r.System, r.Code, r.Text
		value[i], exact[i] = r.Value, r.Exact
		low[i], high[i], number[i] = r.Low, r.High, r.Number
		refType[i], refID[i], kind[i] = r.RefType, r.RefID, r.Kind
	}
	sql, deferred := putUpdateSQL, putUpdateDeferredSQL
	if v.Insert {
		sql, deferred = putInsertSQL, putInsertDeferredSQL
	}
	var body any
	if !v.Deleted {
		body = v.Body
	}
	if v.Deferrable {
		t.p.Defer(deferred, v.Type, v.ID, v.Version, v.LastUpdated, v.Deleted, body,
			param, system, code, text, value, exact, low, high, number, refType, refID, kind)
		if t.p.pendingBytes += len(v.Body); t.p.pendingBytes >= maxPendingBytes {
			if err := t.p.Flush(ctx); err != nil {
				return false, err
			}
		}
		return true, nil
	}
	var written int64
	err := t.p.QueryRow(ctx, sql, v.Type, v.ID, v.Version, v.LastUpdated, v.Deleted, body,
		param, system, code, text, value, exact, low, high, number, refType, refID, kind).Scan(&written)
	if err != nil {
		return false, err
	}
	return written == 1, nil
}
