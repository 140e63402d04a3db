package sqlite

import (
	"context"
	"strconv"
	"strings"
	"sync"

	"github.com/socialrx/socialrx"
	"github.com/socialrx/socialrx/adapter/internal/sqlstore"
)

// The bulk write (sqlstore.DriverTx LockCurrentMany and PutMany): the
// rows of a whole batch go in multi-row statements of up to bulkChunk rows,
// each chunk a power of two so that a few statement texts (kept compiled
// by the statement cache, stmtcache.go) serve every batch size.
//
// The INSERTs are INSERT OR FAIL. A multi-row INSERT that may abort (the
// default, OR ABORT) makes SQLite keep a statement journal, a copy of
// every existing page the statement touches, to undo the rows it already
// inserted; with OR FAIL a refused row stops the statement and leaves the
// earlier rows. That costs nothing here: the batch was checked against the
// current rows it read first (and SQLite's single writer connection lets
// no other transaction write in between), and any error fails the whole
// PutMany, whose caller rolls its transaction back (the reasoning of the
// audit trail's INSERT OR FAIL, sqlstore/audit.go).

// bulkChunk is the most rows one statement of the bulk write holds (the
// search_index ones hold 14 parameters a row: 896).
const bulkChunk = 64

// chunk returns how many of n rows the next statement takes: the largest
// power of two not above n or bulkChunk.
func chunk(n int) int {
	c := 1
	for c*2 <= n && c*2 <= bulkChunk {
		c *= 2
	}
	return c
}

// bulkSQL keeps the statement texts by table and rows.
var bulkSQL sync.Map // string → string

// rowsSQL is prefix followed by n rows of cols "?" placeholders.
func rowsSQL(name, prefix string, cols, n int) string {
	key := name + strconv.Itoa(n)
	if s, ok := bulkSQL.Load(key); ok {
		return s.(string)
	}
	row := "(" + strings.TrimSuffix(strings.Repeat("?, ", cols), ", ") + ")"
	s := prefix + strings.TrimSuffix(strings.Repeat(row+", ", n), ", ")
	bulkSQL.Store(key, s)
	return s
}

const (
	// lockPrefix, with the rows and lockSuffix: "(type, id) IN (VALUES
	// ...)" was planned as a scan of resources; a CROSS JOIN from the
	// VALUES (SQLite keeps the order of a CROSS JOIN) is one primary key
	// lookup per key.
	lockPrefix  = "SELECT r.type, r.id, r.version, r.last_updated, r.deleted FROM (VALUES "
	lockSuffix  = ") AS k CROSS JOIN resources r ON r.type = k.column1 AND r.id = k.column2"
	curPrefix   = "INSERT OR FAIL INTO resources (type, id, version, last_updated, deleted, body, seq) VALUES "
	verPrefix   = "INSERT OR FAIL INTO resource_versions (type, id, version, last_updated, deleted, body, seq) VALUES "
	seqManySQL  = "UPDATE version_seq SET value = value + ?1 WHERE id = 1 RETURNING value"
	versionCols = 7
)

// LockCurrentMany reads the current rows of keys (see sqlstore.DriverTx);
// the single writer connection is the lock.
func (t tx) LockCurrentMany(ctx context.Context, keys []sqlstore.Key) ([]sqlstore.Current, error) {
	ctx, err := memberCtx(ctx)
	if err != nil {
		return nil, err
	}
	var out []sqlstore.Current
	args := make([]any, 0, 2*chunk(len(keys)))
	for len(keys) > 0 {
		n := chunk(len(keys))
		args = args[:0]
		for _, k := range keys[:n] {
			args = append(args, k.Type, k.ID)
		}
		rows, err := t.tx.QueryContext(ctx, rowsSQL("lock", lockPrefix, 2, n)+lockSuffix, args...)
		if err != nil {
			return nil, err
		}
		for rows.Next() {
			var c sqlstore.Current
			if err := rows.Scan(&c.Type, &c.ID, &c.Version, &c.LastUpdated, &c.Deleted); err != nil {
				_ = rows.Close()
				return nil, err
			}
			out = append(out, c)
		}
		if err := rows.Close(); err != nil {
			return nil, err
		}
		if err := rows.Err(); err != nil {
			return nil, err
		}
		keys = keys[n:]
	}
	return out, nil
}

// PutMany writes the batch (see sqlstore.DriverTx): the sequence numbers
// with one UPDATE, new current rows, history rows and index rows with
// multi-row INSERT OR FAIL, the updated current rows and their old index
// rows with the statements of Put. Every write is done (written all
// true): nobody else writes between LockCurrentMany and it.
func (t tx) PutMany(ctx context.Context, vs []*sqlstore.Version) ([]bool, error) {
	ctx, err := memberCtx(ctx)
	if err != nil {
		return nil, err
	}
	var last int64
	if err := t.tx.QueryRowContext(ctx, seqManySQL, len(vs)).Scan(&last); err != nil {
		return nil, err
	}
	first := last - int64(len(vs)) + 1
	versionArgs := func(args []any, i int) []any {
		v := vs[i]
		var body any
		if !v.Deleted {
			body = v.Body
		}
		return append(args, v.Type, v.ID, v.Version, v.LastUpdated, v.Deleted, body, first+int64(i))
	}
	var inserts, updates []int
	for i, v := range vs {
		if v.Insert {
			inserts = append(inserts, i)
		} else {
			updates = append(updates, i)
		}
	}
	// Current rows: the new ones in chunks, the others one UPDATE each.
	if err := t.insertRows(ctx, "cur", curPrefix, versionCols, len(inserts), func(args []any, j int) []any {
		return versionArgs(args, inserts[j])
	}); err != nil {
		return nil, err
	}
	for _, i := range updates {
		res, err := t.exec(ctx, sUpdCur, versionArgs(nil, i)...)
		if err != nil {
			return nil, err
		}
		if n, err := res.RowsAffected(); err != nil || n != 1 {
			if err == nil {
				err = socialrx.Errorf(socialrx.EINTERNAL, "the current row read before the write is gone")
			}
			return nil, err
		}
		if _, err := t.exec(ctx, sDelIdx, vs[i].Type, vs[i].ID); err != nil {
			return nil, err
		}
	}
	if err := t.insertRows(ctx, "ver", verPrefix, versionCols, len(vs), versionArgs); err != nil {
		return nil, err
	}
	var index []*sqlstore.IndexRow
	for _, v := range vs {
		for j := range v.Index {
			index = append(index, &v.Index[j])
		}
	}
	if err := t.insertIndexShaped(ctx, index); err != nil {
		return nil, err
	}
	written := make([]bool, len(vs))
	for i := range written {
		written[i] = true
	}
	return written, nil
}

// insertRows inserts n rows of cols columns (rowArgs appends row j's
// values) with multi-row statements of prefix.
func (t tx) insertRows(ctx context.Context, name, prefix string, cols, n int, rowArgs func(args []any, j int) []any) error {
	args := make([]any, 0, chunk(n)*cols)
	for done := 0; done < n; {
		c := chunk(n - done)
		args = args[:0]
		for j := done; j < done+c; j++ {
			args = rowArgs(args, j)
		}
		if _, err := t.tx.ExecContext(ctx, rowsSQL(name, prefix, cols, c), args...); err != nil {
			return err
		}
		done += c
	}
	return nil
}

// insertIndexShaped inserts index rows by shape: the columns a row fills
// (indexShape). A row holds 5 to 8 of search_index's 14 columns (a token
// row its type, id, parameter, kind, system, code and perhaps text); the
// others keep their column default (” or NULL), which is what the full
// row would bind for them. So each shape's rows go in multi-row INSERTs
// of that shape's columns only: about half the values bound (binding was
// a fifth of the bulk write's CPU), the same rows stored. Shapes are
// taken in the order they first appear, rows in their order within one.
func (t tx) insertIndexShaped(ctx context.Context, rows []*sqlstore.IndexRow) error {
	var shapes []uint16
	byShape := map[uint16][]*sqlstore.IndexRow{}
	for _, r := range rows {
		sh := indexShape(r)
		if _, ok := byShape[sh]; !ok {
			shapes = append(shapes, sh)
		}
		byShape[sh] = append(byShape[sh], r)
	}
	for _, sh := range shapes {
		group := byShape[sh]
		var cols []string
		for j, c := range sqlstore.IndexColumns {
			if sh&(1<<j) != 0 {
				cols = append(cols, c)
			}
		}
		name := "idx" + strconv.Itoa(int(sh)) + ":"
		prefix := "INSERT OR FAIL INTO search_index (" + strings.Join(cols, ", ") + ") VALUES "
		if err := t.insertRows(ctx, name, prefix, len(cols), len(group), func(args []any, j int) []any {
			r := group[j]
			all := [...]any{r.ResType, r.ResID, r.Param, r.System, r.Code, r.Text, r.Value, r.Exact, r.Low, r.High, r.Number, r.RefType, r.RefID, r.Kind}
			for k, v := range all {
				if sh&(1<<k) != 0 {
					args = append(args, v)
				}
			}
			return args
		}); err != nil {
			return err
		}
	}
	return nil
}

// indexShape is the set of columns row r fills, bit j for
// sqlstore.IndexColumns[j]: res_type, res_id, param and kind always, the
// others when not empty (text) or not nil (low, high, number).
func indexShape(r *sqlstore.IndexRow) uint16 {
	sh := uint16(1<<0 | 1<<1 | 1<<2 | 1<<13)
	for j, v := range [...]string{r.System, r.Code, r.Text, r.Value, r.Exact} {
		if v != "" {
			sh |= 1 << (3 + j)
		}
	}
	for j, v := range [...]bool{r.Low != nil, r.High != nil, r.Number != nil, r.RefType != "", r.RefID != ""} {
		if v {
			sh |= 1 << (8 + j)
		}
	}
	return sh
}
