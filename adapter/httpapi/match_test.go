package httpapi

import (
	"context"
	"fmt"
	"net/url"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/socialrx/socialrx"
)

// callTx is a ResourceTx that records the searches and locks of
// matchOne and answers each search with the next of its results.
type callTx struct {
	socialrx.ResourceTx // nil: matchOne calls Search and LockKey only
	calls               []string
	results             [][]socialrx.Resource
}

func (tx *callTx) Search(_ context.Context, req socialrx.SearchRequest) (*socialrx.SearchResult, error) {
	if !req.Match || !req.Strict {
		return nil, fmt.Errorf("search %+v: want a strict match search", req)
	}
	tx.calls = append(tx.calls, "search")
	var m []socialrx.Resource
	if len(tx.results) > 0 {
		m, tx.results = tx.results[0], tx.results[1:]
	}
	return &socialrx.SearchResult{Matches: m, Total: -1}, nil
}

func (tx *callTx) LockKey(_ context.Context, key string) error {
	tx.calls = append(tx.calls, "lock "+key)
	return nil
}

// TestMatchOneLockOrder: a condition that has not matched lately is locked
// and searched once; one that matched is searched without the lock, and
// locked and searched again only when it finds nothing now. The answer is
// the search's either way.
func TestMatchOneLockOrder(t *testing.T) {
	s := &Server{matched: newMatchMemory(16)}
	org := socialrx.Resource{Type: "Organization", ID: "o1"}
	orgCond := url.Values{"identifier": {"https://x.example/org|a"}}
	patCond := url.Values{"identifier": {"https://x.example/p|1"}}
	const orgLock = "lock match:Organization?identifier=https%3A%2F%2Fx.example%2Forg%7Ca"
	steps := []struct {
		name    string
		typ     string
		cond    url.Values
		results [][]socialrx.Resource
		want    []string
		wantID  string // "" for no match
		wantErr string
	}{
		{"new identifier: lock, one search", "Patient", patCond, nil,
			[]string{"lock match:Patient?identifier=https%3A%2F%2Fx.example%2Fp%7C1", "search"}, "", ""},
		{"new identifier again (never matched): lock, one search", "Patient", patCond, nil,
			[]string{"lock match:Patient?identifier=https%3A%2F%2Fx.example%2Fp%7C1", "search"}, "", ""},
		{"first match of a condition: lock, one search", "Organization", orgCond, [][]socialrx.Resource{{org}},
			[]string{orgLock, "search"}, "o1", ""},
		{"matched before: one search, no lock", "Organization", orgCond, [][]socialrx.Resource{{org}},
			[]string{"search"}, "o1", ""},
		{"matched before, gone now: search, lock, search", "Organization", orgCond, nil,
			[]string{"search", orgLock, "search"}, "", ""},
		{"matched before, two now: 412 from the first search", "Organization", orgCond, [][]socialrx.Resource{{org, org}},
			[]string{"search"}, "", socialrx.EPRECONDITION},
		{"matched before, created again under the lock", "Organization", orgCond, [][]socialrx.Resource{nil, {org}},
			[]string{"search", orgLock, "search"}, "o1", ""},
	}
	for _, st := range steps {
		tx := &callTx{results: st.results}
		m, err := s.matchOne(t.Context(), tx, st.typ, st.cond, "If-None-Exist")
		if socialrx.ErrorCode(err) != st.wantErr || (st.wantErr == "" && err != nil) {
			t.Fatalf("%s: error %v, want code %q", st.name, err, st.wantErr)
		}
		if d := cmp.Diff(st.want, tx.calls); d != "" {
			t.Errorf("%s: calls (-want +got):\n%s", st.name, d)
		}
		got := ""
		if m != nil {
			got = m.ID
		}
		if got != st.wantID {
			t.Errorf("%s: matched %q, want %q", st.name, got, st.wantID)
		}
	}
}

// TestMatchMemoryBounded: the memory forgets everything when full, so it
// never holds more than its size.
func TestMatchMemoryBounded(t *testing.T) {
	m := newMatchMemory(3)
	for i := range 3 {
		m.add(fmt.Sprint("k", i))
	}
	for i := range 3 {
		if !m.has(fmt.Sprint("k", i)) {
			t.Errorf("k%d forgotten before the memory was full", i)
		}
	}
	if m.has("k3") {
		t.Error("k3 remembered before it was added")
	}
	m.add("k3")
	if !m.has("k3") || m.has("k0") || len(m.set) != 1 {
		t.Errorf("after adding past the size: k3 %v, k0 %v, %d kept; want k3 only", m.has("k3"), m.has("k0"), len(m.set))
	}
	if strings.Contains(fmt.Sprint(m.set), "k3") {
		t.Error("the memory holds the key text, want only hashes")
	}
}

// manyTx is a callTx that also answers MatchMany (every request left to
// matchOne: nil results), recording it.
type manyTx struct{ *callTx }

func (tx manyTx) MatchMany(_ context.Context, reqs []socialrx.SearchRequest) ([]*socialrx.SearchResult, error) {
	tx.calls = append(tx.calls, fmt.Sprintf("match many %d", len(reqs)))
	return make([]*socialrx.SearchResult, len(reqs)), nil
}

// TestMatchCreatesLockOrder: a transaction's new conditions are locked in
// the order of their keys, whatever the order of their entries, so that
// two Bundles naming the same new resources in another order queue one
// behind the other instead of deadlocking (PostgreSQL breaks a deadlock
// only after deadlock_timeout, failing one transaction to be retried).
func TestMatchCreatesLockOrder(t *testing.T) {
	cond := func(v string) url.Values { return url.Values{"identifier": {"urn:x|" + v}} }
	const lockA, lockB = "lock match:Patient?identifier=urn%3Ax%7Ca", "lock match:Patient?identifier=urn%3Ax%7Cb"
	for _, order := range [][]string{{"a", "b"}, {"b", "a"}} {
		s := &Server{matched: newMatchMemory(16)}
		tx := manyTx{&callTx{}}
		var ops []*op
		for _, v := range order {
			ops = append(ops, &op{kind: opCreate, typ: "Patient", cond: cond(v)})
		}
		if err := s.matchCreates(t.Context(), tx, ops); err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff([]string{lockA, lockB, "match many 2"}, tx.calls); diff != "" {
			t.Errorf("entries in the order %v: calls (-want +got):\n%s", order, diff)
		}
	}
}
