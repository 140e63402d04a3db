package socialrx

import (
	"context"
	"net/url"
	"time"
)

// Store is the versioned FHIR resource store, with the domain rows derived
// from its resources (projections) and the outbox of messages and jobs the
// writes cause. Two adapters implement it, adapter/sqlite (the embedded
// default) and adapter/postgres, and both pass the conformance suite in
// adapter/storetest, which is the executable form of the contract written
// here.
//
// The store only stores: a write stores exactly the resource it is given
// (and its search index rows), nothing else. What a write means for the
// domain (a prescription read from a ServiceRequest, the follow-up Task it
// needs, the eReferral message a referral change sends) is decided by the
// workflow (adapter/workflow), which runs inside Transact and records its
// decisions through the ProjectionTx and OutboxTx sides of the same Tx, so
// that a resource, its domain rows and the jobs it causes commit together
// or not at all.
//
// Every resource has a current version and a full history. Versions are
// numbered 1, 2, 3... per resource; meta.versionId and meta.lastUpdated are
// set by the store, never taken from the client. A delete writes a history
// entry marked Deleted and removes the resource from search. Search index
// rows are written in the same database transaction as the resource.
//
// Errors are *Error with these codes:
//   - ENOTFOUND: the resource (or version) never existed
//   - EGONE: the resource's current version is a delete
//   - ECONFLICT: Create with an id that is taken; a concurrent writer won
//   - EPRECONDITION: ifMatch given and the current version differs
//   - EINVALID: a search the store cannot run (with Issues naming the parameter)
//   - EUNAVAILABLE: the database cannot be reached
//
// All methods are safe for concurrent use.
type Store interface {
	Resources
	Projections
	Outbox
	Exports
	Reports

	// Transact runs fn in one database transaction. If fn returns an error,
	// or the commit fails, nothing fn wrote is kept. fn may be called more
	// than once when the database asks for a retry (serialization failure),
	// so it must not have effects outside tx.
	Transact(ctx context.Context, fn func(tx Tx) error) error

	// Ping checks that the database answers.
	Ping(ctx context.Context) error

	// Close releases the database.
	Close() error
}

// Resources reads stored resources outside a transaction: what was last
// committed.
type Resources interface {
	// Read returns the current version of a resource.
	Read(ctx context.Context, typ, id string) (*Resource, error)

	// ReadMany returns the current versions of the resources named by refs
	// ("Type/id"), in no particular order, in as few round trips as the
	// database allows; missing, deleted and malformed references are left
	// out (no error). For callers that follow many references at once.
	ReadMany(ctx context.Context, refs []string) ([]Resource, error)

	// VRead returns one version of a resource. A deleted version returns
	// EGONE; a version that never existed ENOTFOUND.
	VRead(ctx context.Context, typ, id string, version int64) (*Resource, error)

	// History returns versions newest first: of one resource (Type and ID
	// set), of a type (Type set) or of everything (neither set).
	History(ctx context.Context, req HistoryRequest) (*HistoryPage, error)

	// Search runs a FHIR search (see SearchRequest).
	Search(ctx context.Context, req SearchRequest) (*SearchResult, error)
}

// Projections reads the domain rows outside a transaction.
type Projections interface {
	// Projection returns the domain rows derived from the patient's
	// resources (findings, needs, prescriptions, referrals, follow-ups), as
	// of the last commit. A patient with none gets an empty projection, not
	// ENOTFOUND.
	Projection(ctx context.Context, patientID string) (*PatientProjection, error)
}

// Tx is a store transaction, handed to the fn of Store.Transact. Reads see
// the transaction's own writes. A Tx must not be used after fn returns.
type Tx interface {
	ResourceTx
	ProjectionTx
	OutboxTx
	AuditTx
}

// ResourceTx reads and writes resources in a transaction. Its writes store
// the resource and its index rows and do nothing else: no domain rows, no
// messages, no other resource.
type ResourceTx interface {
	Read(ctx context.Context, typ, id string) (*Resource, error)
	Search(ctx context.Context, req SearchRequest) (*SearchResult, error)

	// Create stores version 1 of a new resource with the given id. body is
	// a validated resource JSON of type typ; the store sets id, meta.versionId
	// and meta.lastUpdated in it. ECONFLICT if the id exists (even deleted).
	Create(ctx context.Context, typ, id string, body []byte) (*Resource, error)

	// CreateNew is Create of an id minted for this resource a moment ago
	// (a server-drawn UUIDv7: the id of a POST), which no one else can
	// hold. The store need not learn at once whether the id was free, so
	// it may send the write with the transaction's next statement (on
	// PostgreSQL, no round trip of its own); should the id be taken after
	// all, the transaction fails, instead of the call returning ECONFLICT.
	// Ids a client chose, or derived from another resource's that may have
	// been stored before, go through Create; an id derived from one minted
	// in the same transaction is as new as it (the workflow's follow-up
	// Task of a POSTed ServiceRequest).
	CreateNew(ctx context.Context, typ, id string, body []byte) (*Resource, error)

	// Update stores a new version. If the resource does not exist (or its
	// current version is a delete) it is created, and created is true.
	// ifMatch > 0 requires the current version to be exactly ifMatch, else
	// EPRECONDITION (ENOTFOUND if there is no resource to match). Concurrent
	// updates of one resource are serialized: with the same ifMatch exactly
	// one wins.
	Update(ctx context.Context, typ, id string, body []byte, ifMatch int64) (res *Resource, created bool, err error)

	// UpsertMany stores a new version of each resource of ws, exactly as
	// Update with ifMatch 0 would one after the other, in order (each takes
	// the next value of the global sequence and a lastUpdated after the
	// one before it: history lists them in that order), with the current versions of the whole batch read (and
	// locked) at once and the rows written with a few statements: the bulk
	// path of imports. res[i] and created[i] are what Update would have
	// returned for ws[i]. The same Type/ID twice in ws is EINVALID and
	// writes nothing; so is any body Update would refuse. After any error
	// the transaction must be rolled back (the batch may be written in
	// part).
	UpsertMany(ctx context.Context, ws []Write) (res []*Resource, created []bool, err error)

	// Delete marks the resource deleted (a new version with Deleted set) and
	// returns that version. Deleting a missing or already deleted resource
	// returns (nil, nil): FHIR delete is idempotent. ifMatch as for Update.
	Delete(ctx context.Context, typ, id string, ifMatch int64) (*Resource, error)

	// Exists reports whether typ/id has ever been stored (a deleted
	// resource exists), locking its current row until the transaction ends
	// where the database can, so that "create it once" decisions hold
	// under concurrent writers.
	Exists(ctx context.Context, typ, id string) (bool, error)

	// LockKey holds a lock on key until the transaction ends: another
	// transaction locking the same key waits. Conditional writes lock their
	// condition before searching, so two concurrent conditional creates of
	// one resource cannot both create it.
	LockKey(ctx context.Context, key string) error
}

// Write is one resource of a bulk write (ResourceTx.UpsertMany): a
// validated resource JSON of type Type, stored with id ID.
type Write struct {
	Type, ID string
	Body     []byte
}

// SearchRequest is a FHIR search on one resource type. Params are the search
// parameters exactly as received (query string or _search form body),
// including result parameters (_count, _sort, _include, _revinclude, _total,
// _summary, _elements) and the paging cursor the store itself put in Next.
type SearchRequest struct {
	Type   string
	Params url.Values
	// Strict refuses unknown or unsupported parameters with EINVALID
	// (Prefer: handling=strict); otherwise they are ignored and listed in
	// SearchResult.Ignored.
	Strict bool
	// Match asks for a conditional operation's search: at most two
	// matches, in no particular order, no paging (Next nil), no count
	// (Total -1), no _include. Two tell "one" from "several", which is all
	// a conditional create, update or reference needs; the store may then
	// run a cheaper query.
	Match bool
}

// MatchManyTx is implemented by a transaction that runs several
// conditional searches (SearchRequest.Match) with one statement: on
// PostgreSQL one round trip and one planning instead of one per condition
// (an encounter Bundle names six resources by condition). results[i] is
// what Search(reqs[i]) would answer; it is nil, and nothing was sent for
// it, when reqs[i] is not a Match search or would fail before reaching the
// database (an invalid condition): the caller then runs it alone, with
// Search, for its error. err is the database's failure, which fails the
// whole transaction.
type MatchManyTx interface {
	MatchMany(ctx context.Context, reqs []SearchRequest) (results []*SearchResult, err error)
}

// PrefetchTx is implemented by a transaction that can read resources ahead
// at no cost of their own: Prefetch asks for the current versions of refs
// ("Type/id") to be read with the transaction's next statement (on
// PostgreSQL in the same round trip) and handed to got when its answer
// arrives, before that statement's own; what is missing or deleted is not
// handed, and where the store cannot read ahead nothing is (SQLite: its
// reads cost no round trip). An optimization only: a caller must not rely
// on got being called, nor on when. The workflow's transaction keeps what
// arrives for its own later reads (a Bundle's references to resources it
// does not carry: the program's Endpoint of a warm hand-off).
type PrefetchTx interface {
	Prefetch(refs []string, got func(Resource))
}

// SearchResult is one page of a search.
type SearchResult struct {
	Matches  []Resource // the page, in order
	Included []Resource // resources added by _include / _revinclude
	// Total is the number of matches across all pages, or -1 when it was
	// not counted (_total=none).
	Total int
	// Self holds the parameters the store actually used (ignored ones
	// removed), for Bundle.link self.
	Self url.Values
	// Next holds the parameters of the next page, nil on the last page.
	// Paging is stable: a resource that matches and is not changed while
	// the pages are read appears on exactly one page.
	Next url.Values
	// Ignored lists the parameters that were not understood (lenient mode).
	Ignored []Issue
}

// HistoryRequest asks for a page of history.
type HistoryRequest struct {
	Type  string    // empty: all types
	ID    string    // empty: all resources of Type
	Since time.Time // zero: from the beginning (_since)
	Count int       // page size; 0: the store's default
	// Cursor is the opaque position returned as HistoryPage.Next.
	Cursor string
}

// HistoryPage is one page of history, newest first.
type HistoryPage struct {
	Versions []Resource
	Total    int
	Next     string // cursor of the next page, empty on the last
}
