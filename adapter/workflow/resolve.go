package workflow

import (
	"context"
	"net/url"

	"github.com/socialrx/socialrx"
	"github.com/socialrx/socialrx/fhir"
	"github.com/socialrx/socialrx/mapping"
)

// Reader reads the current version of a resource: a store, a store
// transaction or a workflow Tx.
type Reader interface {
	Read(ctx context.Context, typ, id string) (*socialrx.Resource, error)
}

// Resolver is the mapping.Resolver over r: it reads "Type/id" references;
// what is missing, deleted, malformed or unreadable is not resolved. Over a
// workflow Tx it reads through the transaction's read cache.
func Resolver(ctx context.Context, r Reader) mapping.Resolver {
	return func(ref string) ([]byte, bool) {
		typ, id, ok := fhir.SplitRef(ref)
		if !ok {
			return nil, false
		}
		read := r.Read
		if tx, ok := r.(*Tx); ok {
			read = tx.cachedRead
		}
		res, err := read(ctx, typ, id)
		if err != nil {
			return nil, false
		}
		return res.Body, true
	}
}

// Searcher runs a search: a store, a store transaction or a workflow Tx.
type Searcher interface {
	Search(ctx context.Context, req socialrx.SearchRequest) (*socialrx.SearchResult, error)
}

// taskCodeFulfill is the code of SDOH CC referral Tasks.
const taskCodeFulfill = "http://hl7.org/fhir/CodeSystem/task-code|fulfill"

// ReferralTaskOf returns the referral Task (code fulfill) whose focus is
// ServiceRequest/srID, as s sees it; nil when there is none.
func ReferralTaskOf(ctx context.Context, s Searcher, srID string) (*socialrx.Resource, error) {
	return searchOne(ctx, s, "Task", url.Values{"focus": {"ServiceRequest/" + srID}, "code": {taskCodeFulfill}})
}

// searchOne returns the first match of a search, nil when none.
func searchOne(ctx context.Context, s Searcher, typ string, q url.Values) (*socialrx.Resource, error) {
	q.Set("_count", "1")
	q.Set("_total", "none")
	res, err := s.Search(ctx, socialrx.SearchRequest{Type: typ, Params: q})
	if err != nil {
		return nil, err
	}
	if len(res.Matches) == 0 {
		return nil, nil
	}
	r := res.Matches[0]
	return &r, nil
}

// missing reports whether err says the resource is not there.
func missing(err error) bool {
	c := socialrx.ErrorCode(err)
	return c == socialrx.ENOTFOUND || c == socialrx.EGONE
}
