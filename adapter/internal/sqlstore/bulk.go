package sqlstore

import (
	"context"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/socialrx/socialrx"
	"github.com/socialrx/socialrx/fhir"
)

// UpsertMany is the bulk write (see socialrx.ResourceTx): Update with
// ifMatch 0 for each write, in order, with three steps for the whole
// batch instead of two statements (or more) per resource:
//
//	LockCurrentMany  the current rows of the batch, one query (locked)
//	stamp and index  each body, in Go, on all cores: version, meta (the
//	                 lastUpdated of the batch strictly increasing in its
//	                 order), index rows
//	PutMany          current, history and index rows, a few statements
//	                 per writeChunk writes, while the next are stamped
//
// A write whose insert lost to a concurrent create (PutMany's written
// false: PostgreSQL) is done again after the batch with Update, which
// reads the new row and writes the next version, as Update itself does
// when its insert conflicts.
func (tx *Tx) UpsertMany(ctx context.Context, ws []socialrx.Write) ([]*socialrx.Resource, []bool, error) {
	if tx.done {
		return nil, nil, errTxDone
	}
	if len(ws) == 0 {
		return nil, nil, nil
	}
	keys := make([]Key, len(ws))
	at := make(map[Key]int, len(ws))
	for i, w := range ws {
		k := Key{w.Type, w.ID}
		if _, dup := at[k]; dup {
			return nil, nil, socialrx.Errorf(socialrx.EINVALID, "upsert many: %s/%s is written twice in one batch", w.Type, w.ID)
		}
		at[k] = i
		keys[i] = k
	}
	curs, err := tx.q.LockCurrentMany(ctx, keys)
	if err != nil {
		return nil, nil, fmt.Errorf("upsert many: %w", tx.e.translate(err))
	}
	cur := make([]*Current, len(ws))
	for i := range curs {
		if j, ok := at[Key{curs[i].Type, curs[i].ID}]; ok {
			cur[j] = &curs[i]
		}
	}
	res := make([]*socialrx.Resource, len(ws))
	created := make([]bool, len(ws))
	vs := make([]*Version, len(ws))
	stamps := make([]time.Time, len(ws))
	for i := range ws {
		prev := time.Time{}
		if c := cur[i]; c != nil {
			prev = fromMicros(c.LastUpdated)
		}
		// Strictly increasing in the batch, as one Update after another:
		// lastUpdated orders the batch as the sequence does (a batch
		// stamped within one microsecond ends a few µs ahead).
		stamps[i] = tx.e.stampTime(prev)
		if i > 0 && !stamps[i].After(stamps[i-1]) {
			stamps[i] = stamps[i-1].Add(time.Microsecond)
		}
	}
	// Stamping and indexing are CPU work on the bodies alone: workers on
	// all cores stamp the batch in chunks, in order, while this goroutine
	// writes the chunks already stamped (the database's work, in process
	// on SQLite, on the server on PostgreSQL, overlaps the stamping of
	// what follows).
	nChunks := (len(ws) + stampChunk - 1) / stampChunk
	ready := make([]chan struct{}, nChunks)
	for c := range ready {
		ready[c] = make(chan struct{})
	}
	errs := make([]error, len(ws))
	var (
		wg   sync.WaitGroup
		next atomic.Int64
		stop atomic.Bool
	)
	defer func() {
		stop.Store(true)
		wg.Wait()
	}()
	for range min(runtime.GOMAXPROCS(0), nChunks) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for !stop.Load() {
				c := int(next.Add(1)) - 1
				if c >= nChunks {
					return
				}
				for i := c * stampChunk; i < min((c+1)*stampChunk, len(ws)); i++ {
					w := ws[i]
					version, insert := int64(1), true
					if cr := cur[i]; cr != nil {
						version, insert = cr.Version+1, false
					}
					vs[i], res[i], errs[i] = tx.e.version(w.Type, w.ID, w.Body, version, stamps[i], insert)
					created[i] = cur[i] == nil || cur[i].Deleted
				}
				close(ready[c])
			}
		}()
	}
	written := make([]bool, 0, len(ws))
	for lo := 0; lo < len(ws); lo += writeChunk {
		hi := min(lo+writeChunk, len(ws))
		for c := lo / stampChunk; c < (hi+stampChunk-1)/stampChunk; c++ {
			<-ready[c]
		}
		for i := lo; i < hi; i++ {
			if errs[i] != nil {
				return nil, nil, fmt.Errorf("upsert many: %s/%s: %w", ws[i].Type, ws[i].ID, errs[i])
			}
		}
		ok, err := tx.q.PutMany(ctx, vs[lo:hi])
		if err != nil {
			return nil, nil, fmt.Errorf("upsert many: %w", tx.e.translate(err))
		}
		written = append(written, ok...)
	}
	for i, ok := range written {
		if ok {
			continue
		}
		if !vs[i].Insert {
			return nil, nil, socialrx.Errorf(socialrx.EINTERNAL, "upsert many: %s/%s: the locked current row is gone", ws[i].Type, ws[i].ID)
		}
		// Created concurrently since LockCurrentMany: a new version of
		// that one.
		r, c, err := tx.Update(ctx, ws[i].Type, ws[i].ID, ws[i].Body, 0)
		if err != nil {
			return nil, nil, fmt.Errorf("upsert many: %w", err)
		}
		res[i], created[i] = r, c
	}
	return res, created, nil
}

// The bulk write stamps stampChunk writes at a time and writes writeChunk
// (a multiple of stampChunk) with one DriverTx.PutMany.
const (
	stampChunk = 16
	writeChunk = 128
)

// version stamps body as version of typ/id and indexes it: the Version to
// write and the Resource it stores (as Tx.put does for one write).
func (e *Engine) version(typ, id string, body []byte, version int64, lastUpdated time.Time, insert bool) (*Version, *socialrx.Resource, error) {
	stamped, err := fhir.StampMeta(body, id, version, lastUpdated)
	if err != nil {
		return nil, nil, socialrx.Errorf(socialrx.EINVALID, "body is not a JSON object")
	}
	entries, err := e.opts.Index(typ, stamped)
	if err != nil {
		return nil, nil, socialrx.Errorf(socialrx.EINVALID, "body cannot be indexed")
	}
	v := &Version{Type: typ, ID: id, Version: version, LastUpdated: toMicros(lastUpdated), Body: stamped, Insert: insert}
	v.Index = appendPackedRows(nil, typ, id, entries)
	return v, &socialrx.Resource{Type: typ, ID: id, VersionID: version, LastUpdated: lastUpdated, Body: stamped}, nil
}
