package sqlstore

import (
	"context"

	"github.com/socialrx/socialrx/fhir/search"
)

// Querier runs SQL. Placeholders are $1, $2, ... (both modernc sqlite and
// PostgreSQL accept them). Implementations return driver errors untouched;
// the engine passes every error through Driver.Translate.
type Querier interface {
	// Exec runs a statement and returns the number of rows it affected.
	Exec(ctx context.Context, query string, args ...any) (int64, error)
	Query(ctx context.Context, query string, args ...any) (Rows, error)
	QueryRow(ctx context.Context, query string, args ...any) Row
}

// Rows is a result set; Close may be called more than once.
type Rows interface {
	Next() bool
	Scan(dest ...any) error
	Err() error
	Close()
}

// Row is a single-row result; Scan returns ErrNoRows (as translated by the
// driver) when there is none.
type Row interface {
	Scan(dest ...any) error
}

// DriverTx is one read-write database transaction.
type DriverTx interface {
	Querier
	// InsertIndex writes search index rows in the transaction (COPY,
	// batched or multi-row INSERT, as the database does best).
	InsertIndex(ctx context.Context, rows []IndexRow) error
	// Put writes one version of a resource in the transaction, in as few
	// round trips as the database allows (see Version). It returns
	// ok false, having written nothing, when v.Insert finds the (type, id)
	// taken (ON CONFLICT DO NOTHING, which waits for a concurrent insert
	// of the same key) or when an update finds no current row.
	Put(ctx context.Context, v *Version) (ok bool, err error)
	// LockCurrentMany reads the current rows of the resources keys name,
	// locking them until the transaction ends where the database can
	// (PostgreSQL FOR UPDATE), in as few statements as the database
	// allows; keys without a row are left out. The bulk write's first step
	// (Tx.UpsertMany).
	LockCurrentMany(ctx context.Context, keys []Key) ([]Current, error)
	// PutMany writes the versions vs (none of them a delete) in order, each
	// with the next value of the global sequence, with a few statements
	// for the whole batch: current rows (inserted when Insert, else
	// updated), history rows, the old index rows of the updated ones
	// deleted and the new ones inserted. written[i] is false, and nothing
	// of vs[i] was written, when an Insert found the (type, id) taken (a
	// concurrent insert; PostgreSQL). An error may leave part of the batch
	// written: the caller's transaction must then be rolled back.
	PutMany(ctx context.Context, vs []*Version) (written []bool, err error)
	Commit(ctx context.Context) error
	Rollback(ctx context.Context) error
}

// Deferrer is a DriverTx that can hold a statement back and send it with
// the next one (PostgreSQL: one round trip for both, adapter/postgres
// pipe.go). The engine defers only statements whose result it does not
// read and that cannot fail on a unique key (projection upserts and
// deletes, a write's AuditEvents, with ids nobody else has, derived index
// rows, advisory locks, outbox messages inserted ON CONFLICT DO NOTHING;
// the driver itself defers Version.Deferrable writes, which check
// themselves),
// so that a failure reported late, by the statement that carried it, can
// only be one that fails the whole transaction anyway. Every other
// statement of the transaction, and its commit, sends what is deferred
// first, in order: nothing reads past a deferred write. Code that talks to
// the transaction by other means (River) must get a transaction that does
// the same (Jobs: txOf).
type Deferrer interface {
	Defer(sql string, args ...any)
}

// ReadDeferrer is a Deferrer that can also hold a read back: it goes with
// the next statement, and read gets its rows when that statement's answer
// is read (PostgreSQL: in the same round trip). Tx.Prefetch.
type ReadDeferrer interface {
	DeferRead(sql string, read func(Rows) error, args ...any)
}

// Key names a resource.
type Key struct{ Type, ID string }

// Current is the current row of a resource as LockCurrentMany reads it.
type Current struct {
	Type, ID    string
	Version     int64
	LastUpdated int64 // unix microseconds
	Deleted     bool
}

// Driver is what a database adapter gives the engine.
type Driver interface {
	// Reader runs reads outside a transaction (SQLite: the read-only pool,
	// so that reads never queue behind the single writer).
	Reader() Querier
	// Begin starts a read-write transaction.
	Begin(ctx context.Context) (DriverTx, error)
	// Translate converts a driver error into a *socialrx.Error where the
	// error has a meaning for callers (no rows → ENOTFOUND, unique
	// violation → ECONFLICT, connection refused → EUNAVAILABLE) and returns
	// any other error unchanged. It returns nil for nil.
	Translate(err error) error
	// Retryable reports whether a failed transaction should be run again
	// (PostgreSQL serialization failure or deadlock).
	Retryable(err error) bool
	// Dialect holds the SQL that differs between databases.
	Dialect() Dialect
	Ping(ctx context.Context) error
	Close() error
}

// Dialect is the SQL that differs between databases.
type Dialect struct {
	// Name is "sqlite" or "postgres", for messages.
	Name string
	// LockKey is a statement taking a transaction-scoped lock on an int64
	// key ($1), held until the transaction ends: PostgreSQL
	// pg_advisory_xact_lock; "" on SQLite, whose single writer connection
	// already serializes write transactions.
	LockKey string
	// ForUpdate is appended to the SELECT that reads the current version
	// before a write: " FOR UPDATE" on PostgreSQL, "" on SQLite, whose
	// single writer connection already serializes writes.
	ForUpdate string
	// ReadMany, when not empty, is the query of Engine.ReadMany: the
	// current rows (type, id, version, last_updated, deleted, body) of the
	// resources named by two arrays, $1 types and $2 ids (PostgreSQL:
	// unnest; one statement for any number, planned once); empty, ReadMany
	// asks 100 at a time with OR.
	ReadMany string
	// MatchTokens, when not empty, is a query answering the match
	// conditions that are one token system|code each (oneToken) in one
	// plan, over five arrays: $1 the places of the requests (int4), $2
	// their types, $3 the parameters, $4 the systems and $5 the codes. It
	// returns (place, type, id, version, last_updated, body), at most two
	// current resources per condition, each at most once. PostgreSQL plans
	// it in a fraction of the time of a UNION ALL branch per condition
	// (docs/performance.md); empty, every condition is a branch.
	MatchTokens string
	// NextSeq is a statement returning the next global version sequence
	// number as one int64 (documentation of the sequence; writes take it
	// inside DriverTx.Put).
	NextSeq string
	// CurrentSeq is a query returning the last sequence number handed out
	// (0 before the first), as one int64.
	CurrentSeq string
	// NeedDomains is a FROM item, after "prescriptions p CROSS JOIN", that
	// gives one row per element of the JSON array p.needs as j.value:
	// json_each on SQLite, jsonb_array_elements_text on PostgreSQL.
	NeedDomains string
	// Median, when not empty, is an aggregate giving the median of the
	// column days of a group (PostgreSQL: percentile_cont(0.5) WITHIN
	// GROUP (ORDER BY days)); empty, the report takes the middle rows by
	// ROW_NUMBER (SQLite has no ordered-set aggregates).
	Median string
	// ReportSetup, when not empty, is a statement the report runs first,
	// in a transaction of its own (PostgreSQL: SET LOCAL jit = off, see
	// report.go); empty, the report reads outside a transaction.
	ReportSetup string
}

// Version is one write of a resource: the next value of the global
// sequence, the current row (inserted when Insert, else updated), the
// history row, and the search index rows (the old ones deleted when not
// Insert, Index inserted). All of it in the caller's transaction.
type Version struct {
	Type, ID    string
	Version     int64
	LastUpdated int64 // unix microseconds
	Deleted     bool
	Body        []byte // nil for a delete marker
	Insert      bool
	// Deferrable: the caller has no use for Put's answer at once, because
	// it cannot be no (an update or delete marker of a current row the
	// transaction holds locked; an Insert of a freshly minted id:
	// Tx.CreateNew). A driver that defers (Deferrer) may then send the
	// write with the transaction's next statement and answer ok; the
	// write checks itself, and fails the transaction should it find the
	// row missing or the id taken after all.
	Deferrable bool
	Index      []IndexRow
}

// IndexRow is one row of table search_index. Low and High are unix
// microseconds; nil pointers are SQL NULL.
type IndexRow struct {
	ResType, ResID, Param string
	System, Code, Text    string
	Value, Exact          string
	Low, High             *int64
	Number                *float64
	RefType, RefID        string
	// Kind is the row's index kind (KindOf): each kind has its own partial
	// index, so a row enters one index besides search_index_res.
	Kind string
}

// IndexColumns are the columns of search_index in the order of IndexRow.Args.
var IndexColumns = []string{"res_type", "res_id", "param", "system", "code", "text", "value", "exact", "low", "high", "number", "ref_type", "ref_id", "kind"}

// Args returns the row's values in the order of IndexColumns.
func (r *IndexRow) Args() []any {
	return []any{r.ResType, r.ResID, r.Param, r.System, r.Code, r.Text, r.Value, r.Exact, r.Low, r.High, r.Number, r.RefType, r.RefID, r.Kind}
}

// The index kinds of search_index rows: one partial index each (migration
// 00004 of both stores). Every row of a parameter has the kind of the
// parameter's type, and every search clause names its kind literally
// (sqlbuild.go), which is what lets SQLite and PostgreSQL use the partial
// index. Before partial indexes each row entered all five indexes of the
// table; now two (docs/performance.md, issue 12).
const (
	KindToken     = "t" // code, system, text: search_index_token
	KindString    = "s" // value, exact: search_index_value
	KindDate      = "d" // low, high: search_index_date
	KindNumber    = "n" // number (+ code, system of a quantity): search_index_number
	KindReference = "r" // exact, ref_type, ref_id (references and uris): search_index_ref
	// KindGeo rows hold a position (near, Location.position) as low =
	// latitude and high = longitude in microdegrees (1e-6 degree, 11 cm):
	// search_index_geo (migration 00007) is (res_type, param, low, high,
	// res_id), so a near search is a range scan of a latitude band whose
	// longitudes are filtered inside the index.
	KindGeo = "g"
)

// KindOf returns the index kind of a search parameter type.
func KindOf(t search.ParamType) string {
	switch t {
	case search.ParamString:
		return KindString
	case search.ParamDate:
		return KindDate
	case search.ParamNumber, search.ParamQuantity:
		return KindNumber
	case search.ParamReference, search.ParamURI:
		return KindReference
	case search.ParamSpecial:
		return KindGeo
	}
	return KindToken
}

// KeyLookup begins a read that finds rows by a primary or unique key (a
// resource by type and id, a projection row by its id), or the few rows of
// one value of an indexed column (a prescription's referrals): a comment to the
// databases, and to the PostgreSQL driver the sign that the statement's
// plan does not depend on its values, so it may stay a prepared statement
// with a generic plan (no planning per run) while every other read is
// planned for its parameters at every run (adapter/postgres driver.go
// planned).
const KeyLookup = "/* key */ "

// CustomPlan begins a read whose text is fixed but whose best plan depends
// on its values and on the data: the Bundle's token match alone
// (Dialect.MatchTokens, matchMany), sent once per conditional write
// Bundle. A comment to the databases; to the PostgreSQL driver the sign
// that the statement may be kept parsed, so that inside a transaction it
// rides in the pipe with what is deferred, if it is planned at every run
// all the same (adapter/postgres pipe.go queryCustomPlan).
const CustomPlan = "/* custom */ "
