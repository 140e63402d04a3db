package sqlstore

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/socialrx/socialrx"
	"github.com/socialrx/socialrx/fhir"
	"github.com/socialrx/socialrx/fhir/search"
)

// current is the current row of a resource as a writer sees it.
type current struct {
	version     int64
	lastUpdated time.Time
	deleted     bool
}

// lockCurrent reads the current row of a resource, locking it (PostgreSQL
// FOR UPDATE) until the transaction ends. ok is false when there is none.
func (tx *Tx) lockCurrent(ctx context.Context, typ, id string) (cur current, ok bool, err error) {
	var lu int64
	err = tx.q.QueryRow(ctx,
		KeyLookup+`SELECT version, last_updated, deleted FROM resources WHERE type = $1 AND id = $2`+tx.e.d.ForUpdate,
		typ, id).Scan(&cur.version, &lu, &cur.deleted)
	if err != nil {
		err = tx.e.translate(err)
		if socialrx.ErrorCode(err) == socialrx.ENOTFOUND {
			return cur, false, nil
		}
		return cur, false, err
	}
	cur.lastUpdated = fromMicros(lu)
	return cur, true, nil
}

// Exists reports whether typ/id was ever stored, locking its current row
// (see socialrx.ResourceTx).
func (tx *Tx) Exists(ctx context.Context, typ, id string) (bool, error) {
	if tx.done {
		return false, errTxDone
	}
	_, ok, err := tx.lockCurrent(ctx, typ, id)
	if err != nil {
		return false, fmt.Errorf("exists %s/%s: %w", typ, id, err)
	}
	return ok, nil
}

// stampTime is now truncated to microseconds, and after prev (by 1µs at
// least) so that lastUpdated grows with each version even if the clock
// went backwards.
func (e *Engine) stampTime(prev time.Time) time.Time {
	now := e.opts.Now().UTC().Truncate(time.Microsecond)
	if !prev.IsZero() && !now.After(prev) {
		now = prev.Add(time.Microsecond)
	}
	return now
}

// Create stores version 1 of a new resource (see socialrx.Tx). ECONFLICT if
// the id is taken, even by a deleted resource, also under a race: the row is
// inserted with ON CONFLICT DO NOTHING, which waits for a concurrent insert of
// the same key and leaves the transaction usable.
func (tx *Tx) Create(ctx context.Context, typ, id string, body []byte) (*socialrx.Resource, error) {
	return tx.create(ctx, typ, id, body, false)
}

// CreateNew is Create of a freshly minted id (see socialrx.ResourceTx):
// the write is Deferrable, and the id is remembered as minted (Tx.minted).
func (tx *Tx) CreateNew(ctx context.Context, typ, id string, body []byte) (*socialrx.Resource, error) {
	return tx.create(ctx, typ, id, body, true)
}

// create stores version 1 of typ/id: Create, or CreateNew when minted.
func (tx *Tx) create(ctx context.Context, typ, id string, body []byte, minted bool) (*socialrx.Resource, error) {
	if tx.done {
		return nil, errTxDone
	}
	res, err := tx.put(ctx, typ, id, body, 1, tx.e.stampTime(time.Time{}), true, minted)
	if err != nil {
		return nil, fmt.Errorf("create %s/%s: %w", typ, id, err)
	}
	if minted {
		if tx.minted == nil {
			tx.minted = map[string]struct{}{}
		}
		tx.minted[typ+"/"+id] = struct{}{}
	}
	return res, nil
}

// Update stores a new version (see socialrx.Tx). The current row is read
// with a lock first, so that concurrent updates of one resource serialize:
// with the same ifMatch, the second writer sees the first one's version and
// gets EPRECONDITION. ifMatch > 0 on a missing or deleted resource is
// ENOTFOUND: there is no live version to match.
func (tx *Tx) Update(ctx context.Context, typ, id string, body []byte, ifMatch int64) (*socialrx.Resource, bool, error) {
	if tx.done {
		return nil, false, errTxDone
	}
	for attempt := 0; ; attempt++ {
		cur, ok, err := tx.lockCurrent(ctx, typ, id)
		if err != nil {
			return nil, false, fmt.Errorf("update %s/%s: %w", typ, id, err)
		}
		if ifMatch > 0 {
			if !ok || cur.deleted {
				return nil, false, socialrx.Errorf(socialrx.ENOTFOUND, "update %s/%s: no current version to match", typ, id)
			}
			if cur.version != ifMatch {
				return nil, false, socialrx.Errorf(socialrx.EPRECONDITION, "update %s/%s: version is %d, not %d", typ, id, cur.version, ifMatch)
			}
		}
		if !ok {
			res, err := tx.put(ctx, typ, id, body, 1, tx.e.stampTime(time.Time{}), true, false)
			if socialrx.ErrorCode(err) == socialrx.ECONFLICT && attempt < 3 {
				continue // created concurrently: read it again (now locked)
			}
			if err != nil {
				return nil, false, fmt.Errorf("update %s/%s: %w", typ, id, err)
			}
			return res, true, nil
		}
		res, err := tx.put(ctx, typ, id, body, cur.version+1, tx.e.stampTime(cur.lastUpdated), false, true)
		if err != nil {
			return nil, false, fmt.Errorf("update %s/%s: %w", typ, id, err)
		}
		return res, cur.deleted, nil
	}
}

// Delete writes a delete marker version (see socialrx.Tx). A missing or
// already deleted resource returns (nil, nil), or ENOTFOUND when ifMatch > 0.
func (tx *Tx) Delete(ctx context.Context, typ, id string, ifMatch int64) (*socialrx.Resource, error) {
	if tx.done {
		return nil, errTxDone
	}
	cur, ok, err := tx.lockCurrent(ctx, typ, id)
	if err != nil {
		return nil, fmt.Errorf("delete %s/%s: %w", typ, id, err)
	}
	if !ok || cur.deleted {
		if ifMatch > 0 {
			return nil, socialrx.Errorf(socialrx.ENOTFOUND, "delete %s/%s: no current version to match", typ, id)
		}
		return nil, nil
	}
	if ifMatch > 0 && cur.version != ifMatch {
		return nil, socialrx.Errorf(socialrx.EPRECONDITION, "delete %s/%s: version is %d, not %d", typ, id, cur.version, ifMatch)
	}
	res := &socialrx.Resource{Type: typ, ID: id, VersionID: cur.version + 1, LastUpdated: tx.e.stampTime(cur.lastUpdated), Deleted: true}
	// The current row is locked: the marker is Deferrable.
	ok, err = tx.q.Put(ctx, &Version{Type: typ, ID: id, Version: res.VersionID, LastUpdated: toMicros(res.LastUpdated), Deleted: true, Deferrable: true})
	if err != nil {
		return nil, fmt.Errorf("delete %s/%s: %w", typ, id, tx.e.translate(err))
	}
	if !ok {
		return nil, socialrx.Errorf(socialrx.EINTERNAL, "delete %s/%s: the locked current row is gone", typ, id)
	}
	return res, nil
}

// put writes version of a resource: the current row (inserted when insert,
// else updated), the history row and the index rows, with one DriverTx.Put.
// The body is stamped first and indexed once, from the stamped bytes (meta
// is indexed: _profile, _tag, _security; _id and _lastUpdated are columns
// of the current row, not index rows: IndexRows). deferrable is Version.Deferrable: an
// update (its row locked by the caller) or an insert of a minted id.
func (tx *Tx) put(ctx context.Context, typ, id string, body []byte, version int64, lastUpdated time.Time, insert, deferrable bool) (*socialrx.Resource, error) {
	stamped, err := fhir.StampMeta(body, id, version, lastUpdated)
	if err != nil {
		return nil, socialrx.Errorf(socialrx.EINVALID, "body is not a JSON object")
	}
	entries, err := tx.e.opts.Index(typ, stamped)
	if err != nil {
		return nil, socialrx.Errorf(socialrx.EINVALID, "body cannot be indexed")
	}
	v := &Version{Type: typ, ID: id, Version: version, LastUpdated: toMicros(lastUpdated), Body: stamped, Insert: insert, Deferrable: deferrable}
	n := entries.Len()
	if n <= rowChunk {
		v.Index = appendPackedRows(nil, typ, id, entries)
	}
	ok, err := tx.q.Put(ctx, v)
	if err != nil {
		return nil, tx.e.translate(err)
	}
	if !ok {
		if insert {
			return nil, socialrx.Errorf(socialrx.ECONFLICT, "id is taken")
		}
		return nil, socialrx.Errorf(socialrx.EINTERNAL, "the locked current row is gone")
	}
	if n > rowChunk {
		// Put wrote the version and removed the old rows; the new ones
		// follow in chunks, so that only one chunk of entries and rows is
		// held unpacked (a resource of 260,000 identifiers held 54 MB of
		// entries and 60 MB of rows at once: docs/performance.md, "Memory
		// per request").
		buf := make([]search.IndexEntry, 0, rowChunk)
		rows := make([]IndexRow, 0, rowChunk)
		for from := 0; from < n; from += rowChunk {
			buf = entries.Unpack(buf[:0], from, min(from+rowChunk, n))
			rows = appendIndexRows(rows[:0], typ, id, buf)
			if err := tx.q.InsertIndex(ctx, rows); err != nil {
				return nil, tx.e.translate(err)
			}
		}
	}
	if insert {
		tx.markCreated(typ, id)
	}
	return &socialrx.Resource{Type: typ, ID: id, VersionID: version, LastUpdated: lastUpdated, Body: stamped}, nil
}

// rowChunk is the most index rows put passes to DriverTx.Put with the
// version; a resource with more writes them after it, this many at a time.
const rowChunk = 4096

// IndexRows converts index entries of one resource into rows.
func IndexRows(typ, id string, entries []search.IndexEntry) []IndexRow {
	if len(entries) == 0 {
		return nil
	}
	return appendIndexRows(make([]IndexRow, 0, len(entries)), typ, id, entries)
}

// appendPackedRows appends the rows of packed entries to rows, unpacking
// them a few at a time.
func appendPackedRows(rows []IndexRow, typ, id string, entries *search.Entries) []IndexRow {
	n := entries.Len()
	if n == 0 {
		return rows
	}
	rows = slices.Grow(rows, n)
	var buf [64]search.IndexEntry
	for from := 0; from < n; from += len(buf) {
		rows = appendIndexRows(rows, typ, id, entries.Unpack(buf[:0], from, min(from+len(buf), n)))
	}
	return rows
}

// appendIndexRows appends the rows of entries to rows.
func appendIndexRows(rows []IndexRow, typ, id string, entries []search.IndexEntry) []IndexRow {
	for _, en := range entries {
		if metaParam(en.Param) {
			continue
		}
		r := IndexRow{ResType: typ, ResID: id, Param: en.Param, System: en.System, Code: en.Code, Text: en.Text,
			Value: en.Value, Exact: en.Exact, RefType: en.RefType, RefID: en.RefID, Kind: KindOf(en.Type)}
		switch en.Type {
		case search.ParamDate:
			lo, hi := toMicros(en.Low), toMicros(en.High)
			r.Low, r.High = &lo, &hi
		case search.ParamNumber, search.ParamQuantity:
			n := en.Number
			r.Number = &n
		case search.ParamSpecial:
			lat, lon := microdegrees(en.Lat), microdegrees(en.Lon)
			r.Low, r.High = &lat, &lon
		}
		rows = append(rows, r)
	}
	return rows
}

// metaParam reports whether param is read from the resources row itself
// (_id: resources.id, _lastUpdated: resources.last_updated) and so has no
// index rows: every search of it is a condition on that row (sqlbuild.go).
func metaParam(param string) bool { return param == "_id" || param == "_lastUpdated" }
