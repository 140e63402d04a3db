package sqlite

import (
	"context"
	sqldriver "database/sql/driver"
	"errors"
	"reflect"
	"strings"
	"sync/atomic"

	"modernc.org/sqlite"
)

// The writer's connection keeps its compiled statements (a statement cache
// under database/sql). modernc.org/sqlite compiles the SQL of every
// ExecContext and QueryContext that was not prepared: River's job insert,
// the projection upserts and the conditional searches were compiled again
// for every transaction, the job insert alone 7–11% of the writer's CPU
// (docs/performance.md, issue 12). SQLite re-prepares a cached statement
// by itself when the schema changes (sqlite3_prepare_v2).

// stmtCacheSize is the most statements one connection keeps; the oldest is
// closed when a new one comes.
const stmtCacheSize = 128

// cachingConnector opens modernc.org/sqlite connections with a statement
// cache.
type cachingConnector struct {
	dsn string
	drv *sqlite.Driver
	// compiled counts the statements compiled for the cache (for tests).
	compiled atomic.Int64
}

func (c *cachingConnector) Connect(ctx context.Context) (sqldriver.Conn, error) {
	cn, err := c.drv.Open(c.dsn)
	if err != nil {
		return nil, err
	}
	if _, ok := cn.(innerConn); !ok {
		_ = cn.Close()
		return nil, errors.New("sqlite: the driver's connection lacks a method the statement cache needs")
	}
	return &cachingConn{inner: cn, stmts: map[string]*cachedStmt{}, compiled: &c.compiled}, nil
}

func (c *cachingConnector) Driver() sqldriver.Driver { return c.drv }

// The interfaces of modernc.org/sqlite's connection that database/sql uses.
type innerConn interface {
	sqldriver.Conn
	sqldriver.ConnBeginTx
	sqldriver.ConnPrepareContext
	sqldriver.ExecerContext
	sqldriver.QueryerContext
	sqldriver.Pinger
	sqldriver.SessionResetter
	sqldriver.Validator
}

type cachingConn struct {
	inner    sqldriver.Conn
	stmts    map[string]*cachedStmt
	order    []string // insertion order, for eviction
	compiled *atomic.Int64
}

type cachedStmt struct {
	st   sqldriver.Stmt
	busy bool // rows of it are open: a second use compiles its own
}

var _ innerConn = (*cachingConn)(nil)

func (c *cachingConn) in() innerConn { return c.inner.(innerConn) }

// cacheable reports whether query is one statement of the kinds run again
// and again (not BEGIN, SAVEPOINT names, PRAGMAs or migration scripts).
func cacheable(query string) bool {
	q := strings.TrimSpace(query)
	for {
		switch {
		case strings.HasPrefix(q, "--"): // sqlc's "-- name: ..." (River)
			i := strings.IndexByte(q, '\n')
			if i < 0 {
				return false
			}
			q = strings.TrimSpace(q[i+1:])
			continue
		case strings.HasPrefix(q, "/*"): // sqlstore.KeyLookup's "/* key */"
			i := strings.Index(q, "*/")
			if i < 0 {
				return false
			}
			q = strings.TrimSpace(q[i+2:])
			continue
		}
		break
	}
	if strings.Contains(strings.TrimRight(q, "; \n\t"), ";") {
		return false
	}
	if len(q) < 6 {
		return false
	}
	switch strings.ToUpper(q[:6]) {
	case "SELECT", "INSERT", "UPDATE", "DELETE":
		return true
	}
	return strings.EqualFold(q[:5], "WITH ")
}

// get returns the free cached statement of query, compiling it when it is
// new; nil when query is not cached or its statement is in use.
func (c *cachingConn) get(ctx context.Context, query string) *cachedStmt {
	if cs, ok := c.stmts[query]; ok {
		if cs.busy {
			return nil
		}
		return cs
	}
	if !cacheable(query) {
		return nil
	}
	st, err := c.in().PrepareContext(ctx, query)
	if err != nil {
		return nil // the uncached call reports the error
	}
	c.compiled.Add(1)
	if len(c.order) >= stmtCacheSize {
		old := c.order[0]
		c.order = c.order[1:]
		if cs := c.stmts[old]; cs != nil && !cs.busy {
			_ = cs.st.Close()
		}
		delete(c.stmts, old)
	}
	cs := &cachedStmt{st: st}
	c.stmts[query] = cs
	c.order = append(c.order, query)
	return cs
}

// drop forgets query's statement after an error, so that a statement in an
// unknown state is not used again.
func (c *cachingConn) drop(query string, cs *cachedStmt) {
	if c.stmts[query] == cs {
		delete(c.stmts, query)
		for i, q := range c.order {
			if q == query {
				c.order = append(c.order[:i], c.order[i+1:]...)
				break
			}
		}
	}
	_ = cs.st.Close()
}

func (c *cachingConn) ExecContext(ctx context.Context, query string, args []sqldriver.NamedValue) (sqldriver.Result, error) {
	cs := c.get(ctx, query)
	if cs == nil {
		return c.in().ExecContext(ctx, query, args)
	}
	cs.busy = true
	res, err := cs.st.(sqldriver.StmtExecContext).ExecContext(ctx, args)
	cs.busy = false
	if err != nil {
		c.drop(query, cs)
	}
	return res, err
}

func (c *cachingConn) QueryContext(ctx context.Context, query string, args []sqldriver.NamedValue) (sqldriver.Rows, error) {
	cs := c.get(ctx, query)
	if cs == nil {
		return c.in().QueryContext(ctx, query, args)
	}
	cs.busy = true
	rows, err := cs.st.(sqldriver.StmtQueryContext).QueryContext(ctx, args)
	if err != nil {
		cs.busy = false
		c.drop(query, cs)
		return nil, err
	}
	return &cachedRows{Rows: rows, cs: cs}, nil
}

func (c *cachingConn) Close() error {
	for _, cs := range c.stmts {
		_ = cs.st.Close()
	}
	c.stmts, c.order = nil, nil
	return c.inner.Close()
}

func (c *cachingConn) Prepare(query string) (sqldriver.Stmt, error) { return c.inner.Prepare(query) }
func (c *cachingConn) Begin() (sqldriver.Tx, error) {
	return c.in().BeginTx(context.Background(), sqldriver.TxOptions{})
}
func (c *cachingConn) BeginTx(ctx context.Context, opts sqldriver.TxOptions) (sqldriver.Tx, error) {
	return c.in().BeginTx(ctx, opts)
}
func (c *cachingConn) PrepareContext(ctx context.Context, query string) (sqldriver.Stmt, error) {
	return c.in().PrepareContext(ctx, query)
}
func (c *cachingConn) Ping(ctx context.Context) error         { return c.in().Ping(ctx) }
func (c *cachingConn) ResetSession(ctx context.Context) error { return c.in().ResetSession(ctx) }
func (c *cachingConn) IsValid() bool                          { return c.in().IsValid() }

// cachedRows frees its statement for the next use when closed (the
// driver's rows of a prepared statement reset it instead of finalizing).
type cachedRows struct {
	sqldriver.Rows
	cs *cachedStmt
}

func (r *cachedRows) Close() error {
	err := r.Rows.Close()
	r.cs.busy = false
	return err
}

// The column type methods of the driver's rows (database/sql's
// Rows.ColumnTypes).
func (r *cachedRows) ColumnTypeDatabaseTypeName(i int) string {
	if t, ok := r.Rows.(sqldriver.RowsColumnTypeDatabaseTypeName); ok {
		return t.ColumnTypeDatabaseTypeName(i)
	}
	return ""
}

func (r *cachedRows) ColumnTypeScanType(i int) reflect.Type {
	if t, ok := r.Rows.(sqldriver.RowsColumnTypeScanType); ok {
		return t.ColumnTypeScanType(i)
	}
	return reflect.TypeFor[any]()
}

func (r *cachedRows) ColumnTypeNullable(i int) (nullable, ok bool) {
	if t, ok := r.Rows.(sqldriver.RowsColumnTypeNullable); ok {
		return t.ColumnTypeNullable(i)
	}
	return false, false
}
