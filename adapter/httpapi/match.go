package httpapi

import (
	"context"
	"hash/maphash"
	"net/url"
	"sort"
	"sync"

	"github.com/socialrx/socialrx"
)

// matchOne runs a conditional search (strict, so an unknown parameter can
// never widen the match to everything) and returns the single match, nil
// for none, and EPRECONDITION for several.
//
// Writers that find no match serialize on the condition: without that, two
// concurrent conditional creates both see no match and both create
// (PostgreSQL; READ COMMITTED sees the other's commit once the lock is
// granted). The lock is taken before or after a first search, by what the
// condition did lately (s.matched):
//
//   - a condition that matched a stored resource lately is searched without
//     the lock first (the common case: every encounter Bundle names the
//     practice's Organization and roles by condition), so that Bundles
//     about the same practice do not queue behind each other's whole
//     transaction; only when it finds none does it lock and search again;
//   - any other condition (a new patient's or referral's identifier) is
//     locked first and searched once: one search instead of two for
//     the usual conditional create of something new (docs/performance.md,
//     issue 12).
//
// Either way the answer is that of a search made while holding the lock,
// or of one that found the match: the order is only a guess about which
// costs less. On SQLite LockKey does nothing (its one writer connection
// already serializes writers), so every condition is searched once there.
func (s *Server) matchOne(ctx context.Context, tx socialrx.ResourceTx, typ string, cond url.Values, what string) (*socialrx.Resource, error) {
	key := "match:" + typ + "?" + cond.Encode()
	if s.matched.has(key) {
		m, found, err := searchMatch(ctx, tx, typ, cond, what)
		if err != nil || found {
			return m, err
		}
	}
	if err := tx.LockKey(ctx, key); err != nil {
		return nil, err
	}
	m, found, err := searchMatch(ctx, tx, typ, cond, what)
	if found {
		s.matched.add(key)
	}
	return m, err
}

// matchAnswer is the answer of a conditional search made by matchCreates:
// the one match, none (m nil), or the error (several).
type matchAnswer struct {
	m   *socialrx.Resource
	err error
}

// matchCreates searches the ifNoneExist conditions of a transaction's
// create entries together, where the store can (socialrx.MatchManyTx): the
// same searches and locks as matchOne, in one statement instead of one per
// condition, and the locks of the new conditions sent together before it
// (PostgreSQL: an encounter Bundle's six conditions took nine round trips,
// now two; docs/performance.md, issue 12). The answers go to o.matched;
// an entry left without one (a remembered condition that found nothing,
// an invalid condition) goes through matchOne as before.
func (s *Server) matchCreates(ctx context.Context, tx socialrx.ResourceTx, ops []*op) error {
	mm, ok := tx.(socialrx.MatchManyTx)
	if !ok {
		return nil
	}
	var todo []*op
	for _, o := range ops {
		if o.kind == opCreate && o.cond != nil {
			todo = append(todo, o)
		}
	}
	if len(todo) < 2 {
		return nil
	}
	reqs := make([]socialrx.SearchRequest, len(todo))
	keys := make([]string, len(todo))
	locked := make([]bool, len(todo))
	var toLock []int
	for i, o := range todo {
		keys[i] = "match:" + o.typ + "?" + o.cond.Encode()
		if !s.matched.has(keys[i]) {
			toLock = append(toLock, i)
		}
		reqs[i] = matchRequest(o.typ, o.cond)
	}
	// In the keys' order, not the entries': two Bundles naming the same new
	// conditions in another order then queue one behind the other instead
	// of deadlocking (which PostgreSQL would break after deadlock_timeout,
	// a second, failing one of them for Transact to retry).
	sort.SliceStable(toLock, func(a, b int) bool { return keys[toLock[a]] < keys[toLock[b]] })
	for _, i := range toLock {
		if err := tx.LockKey(ctx, keys[i]); err != nil {
			return atIssuePath(err, todo[i].path+".request.ifNoneExist")
		}
		locked[i] = true
	}
	results, err := mm.MatchMany(ctx, reqs)
	if err != nil {
		return err
	}
	for i, o := range todo {
		if i >= len(results) || results[i] == nil {
			continue
		}
		m, found, err := matchOf(results[i], "ifNoneExist")
		switch {
		case err != nil:
			o.matched = &matchAnswer{err: err}
		case found:
			if locked[i] {
				s.matched.add(keys[i])
			}
			o.matched = &matchAnswer{m: m}
		case locked[i]:
			o.matched = &matchAnswer{} // none, searched under the lock
		}
		// A remembered condition that found nothing: matchOne locks and
		// searches again.
	}
	return nil
}

// matchRequest is the conditional search of cond on typ.
func matchRequest(typ string, cond url.Values) socialrx.SearchRequest {
	p := url.Values{}
	for k, v := range cond {
		p[k] = v
	}
	return socialrx.SearchRequest{Type: typ, Params: p, Strict: true, Match: true}
}

// searchMatch runs the conditional search once; found is true when it
// matched exactly one resource.
func searchMatch(ctx context.Context, tx socialrx.ResourceTx, typ string, cond url.Values, what string) (*socialrx.Resource, bool, error) {
	sr, err := tx.Search(ctx, matchRequest(typ, cond))
	if err != nil {
		return nil, false, err
	}
	return matchOf(sr, what)
}

// matchOf reads a conditional search's result: the one match (found), none,
// or EPRECONDITION for several.
func matchOf(sr *socialrx.SearchResult, what string) (*socialrx.Resource, bool, error) {
	switch {
	case len(sr.Matches) > 1 || sr.Total > 1 || (len(sr.Matches) == 1 && sr.Next != nil):
		return nil, false, errorf(socialrx.EPRECONDITION, "%s matched more than one resource", what)
	case len(sr.Matches) == 1:
		m := sr.Matches[0]
		return &m, true, nil
	}
	return nil, false, nil
}

// matchMemorySize bounds the conditions a server remembers as matched.
const matchMemorySize = 4096

// matchMemory is a bounded set of the conditions that matched a stored
// resource lately, kept as 64-bit hashes with a per-process seed (no
// identifier values in memory for long, and a collision only reorders a
// search and a lock, see matchOne). When full it forgets everything and
// starts again: the conditions still in use come back at their next
// match.
type matchMemory struct {
	seed maphash.Seed
	max  int
	mu   sync.Mutex
	set  map[uint64]struct{}
}

func newMatchMemory(max int) *matchMemory {
	return &matchMemory{seed: maphash.MakeSeed(), max: max, set: make(map[uint64]struct{})}
}

func (m *matchMemory) has(key string) bool {
	h := maphash.String(m.seed, key)
	m.mu.Lock()
	defer m.mu.Unlock()
	_, ok := m.set[h]
	return ok
}

func (m *matchMemory) add(key string) {
	h := maphash.String(m.seed, key)
	m.mu.Lock()
	defer m.mu.Unlock()
	if len(m.set) >= m.max {
		clear(m.set)
	}
	m.set[h] = struct{}{}
}
