package jobs

import (
	"context"
	"sync"
	"time"

	"github.com/socialrx/socialrx"
	"github.com/socialrx/socialrx/fhir"
	"github.com/socialrx/socialrx/mapping"
)

// prefetchTypes are the resource types a message or write-back follows
// references to (mapping.MessageResources, mapping.WriteBackBody).
var prefetchTypes = map[string]bool{"ServiceRequest": true, "Patient": true, "PractitionerRole": true, "Practitioner": true,
	"Organization": true, "HealthcareService": true, "QuestionnaireResponse": true, "Location": true, "Task": true}

// prefetchDepth is how many levels of references one load follows:
// Task → ServiceRequest, Patient, requester, owner → their Organizations.
const prefetchDepth = 2

// prefetcher is a mapping.Resolver over the store that reads in breadth
// (workflow.Resolver reads one reference at a time, inside a transaction):
// loading a resource also loads, in one Store.ReadMany per level, what it
// references (prefetchTypes, prefetchDepth levels), so building a message
// takes about three round trips instead of one per resource.
type prefetcher struct {
	ctx   context.Context
	store socialrx.Store
	cache map[string][]byte // nil: looked up, not there
}

func newPrefetcher(ctx context.Context, st socialrx.Store) *prefetcher {
	return &prefetcher{ctx: ctx, store: st, cache: map[string][]byte{}}
}

// seed puts a body already read (the Task version being sent) in the cache
// and prefetches what it references.
func (p *prefetcher) seed(ref string, body []byte) {
	p.cache[ref] = body
	p.expand([][]byte{body}, prefetchDepth)
}

// resolve is the mapping.Resolver.
func (p *prefetcher) resolve(ref string) ([]byte, bool) {
	if b, ok := p.cache[ref]; ok {
		return b, b != nil
	}
	p.load([]string{ref}, prefetchDepth)
	b := p.cache[ref]
	return b, b != nil
}

func (p *prefetcher) resolver() mapping.Resolver { return p.resolve }

// load reads refs not yet cached, then what they reference, depth levels.
func (p *prefetcher) load(refs []string, depth int) {
	var want []string
	for _, r := range refs {
		if _, ok := p.cache[r]; !ok {
			p.cache[r] = nil
			want = append(want, r)
		}
	}
	if len(want) == 0 {
		return
	}
	rs, err := p.store.ReadMany(p.ctx, want)
	if err != nil {
		for _, r := range want {
			delete(p.cache, r) // not known missing: a later resolve tries again
		}
		return
	}
	bodies := make([][]byte, 0, len(rs))
	for _, r := range rs {
		p.cache[r.Type+"/"+r.ID] = r.Body
		bodies = append(bodies, r.Body)
	}
	p.expand(bodies, depth)
}

// expand loads, depth-1 more levels, the references of bodies.
func (p *prefetcher) expand(bodies [][]byte, depth int) {
	if depth <= 0 {
		return
	}
	var next []string
	for _, b := range bodies {
		sites, err := fhir.References(b)
		if err != nil {
			continue
		}
		for _, s := range sites {
			if typ, _, ok := fhir.SplitRef(s.Reference); ok && prefetchTypes[typ] {
				if _, cached := p.cache[s.Reference]; !cached {
					next = append(next, s.Reference)
				}
			}
		}
	}
	p.load(next, depth-1)
}

// endpointCache keeps Endpoints read for a short while: every message to
// a platform reads its Endpoint, which changes rarely. A change is seen
// within endpointTTL.
type endpointCache struct {
	mu   sync.Mutex
	now  func() time.Time
	byID map[string]cachedEndpoint
}

const endpointTTL = 10 * time.Second

type cachedEndpoint struct {
	body []byte
	at   time.Time
}

func (c *endpointCache) read(ctx context.Context, st socialrx.Store, id string) ([]byte, error) {
	c.mu.Lock()
	e, ok := c.byID[id]
	c.mu.Unlock()
	if ok && c.now().Sub(e.at) < endpointTTL {
		return e.body, nil
	}
	res, err := st.Read(ctx, "Endpoint", id)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	if c.byID == nil {
		c.byID = map[string]cachedEndpoint{}
	}
	c.byID[id] = cachedEndpoint{body: res.Body, at: c.now()}
	c.mu.Unlock()
	return res.Body, nil
}
