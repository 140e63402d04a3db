package workflow

import (
	"context"
	"errors"
	"testing"

	"github.com/socialrx/socialrx"
)

// prescTx is a store transaction that counts the prescription reads and
// answers them from rows.
type prescTx struct {
	socialrx.Tx // nil: only the prescription methods are called
	rows        map[string]socialrx.Prescription
	reads       int
	fail        error
}

func (s *prescTx) Prescription(_ context.Context, id string) (*socialrx.Prescription, bool, error) {
	s.reads++
	if s.fail != nil {
		return nil, false, s.fail
	}
	p, ok := s.rows[id]
	if !ok {
		return nil, false, nil
	}
	return &p, true, nil
}

func (s *prescTx) PutPrescription(_ context.Context, p *socialrx.Prescription) error {
	s.rows[p.ID] = *p
	return nil
}

func (s *prescTx) DropProjections(_ context.Context, typ, id string) error {
	if typ == "ServiceRequest" {
		delete(s.rows, id)
	}
	return nil
}

// TestPrescriptionCache: the workflow reads a prescription once per
// transaction, a missing one too; every caller gets its own copy; a write
// or drop of prescription rows makes the next read go to the store; an
// error is not kept.
func TestPrescriptionCache(t *testing.T) {
	ctx := t.Context()
	st := &prescTx{rows: map[string]socialrx.Prescription{
		"sr1": {ID: "sr1", Channel: socialrx.Channel("fax"), Needs: []socialrx.NeedDomain{"food"}, NeedRefs: []string{"Condition/c1"}},
	}}
	tx := &Tx{st: st, presc: map[string]cachedPrescription{}}
	step := func(name string, id string, wantOK bool, wantReads int) *socialrx.Prescription {
		t.Helper()
		p, ok, err := tx.prescription(ctx, id)
		if err != nil || ok != wantOK {
			t.Fatalf("%s: ok %v, %v; want ok %v", name, ok, err, wantOK)
		}
		if st.reads != wantReads {
			t.Errorf("%s: %d store reads, want %d", name, st.reads, wantReads)
		}
		return p
	}
	first := step("first read", "sr1", true, 1)
	first.Channel, first.Needs[0], first.NeedRefs[0] = "phone", "housing", "Condition/x"
	again := step("second read", "sr1", true, 1)
	if again.Channel != "fax" || again.Needs[0] != "food" || again.NeedRefs[0] != "Condition/c1" {
		t.Errorf("second read %+v: a caller's change of its copy leaked into the cache", again)
	}
	step("missing", "sr2", false, 2)
	step("missing again", "sr2", false, 2)
	if err := tx.putPrescription(ctx, &socialrx.Prescription{ID: "sr2", Channel: "phone"}); err != nil {
		t.Fatal(err)
	}
	if p := step("after a put", "sr2", true, 3); p.Channel != "phone" {
		t.Errorf("after a put: channel %q, want the written phone", p.Channel)
	}
	step("after a put, sr1 read again", "sr1", true, 4)
	if err := tx.dropProjections(ctx, "ServiceRequest", "sr1"); err != nil {
		t.Fatal(err)
	}
	step("after a drop", "sr1", false, 5)
	st.fail = errors.New("database gone")
	delete(tx.presc, "sr2")
	if _, _, err := tx.prescription(ctx, "sr2"); err == nil {
		t.Fatal("a failing read: no error")
	}
	st.fail = nil
	step("after an error", "sr2", true, 7)
}

// readTx is a store transaction that counts reads and answers a search
// with one match.
type readTx struct {
	socialrx.Tx // nil: only Read and Search are called
	match       socialrx.Resource
	reads       int
}

func (s *readTx) Read(_ context.Context, typ, id string) (*socialrx.Resource, error) {
	s.reads++
	r := s.match
	return &r, nil
}

func (s *readTx) Search(_ context.Context, _ socialrx.SearchRequest) (*socialrx.SearchResult, error) {
	return &socialrx.SearchResult{Matches: []socialrx.Resource{s.match}, Total: -1}, nil
}

// TestMatchesCached: what a conditional operation's search found is not
// read again by the workflow; what a page search found is.
func TestMatchesCached(t *testing.T) {
	ctx := t.Context()
	hs := socialrx.Resource{Type: "HealthcareService", ID: "h1", VersionID: 2, Body: []byte(`{"resourceType":"HealthcareService","id":"h1"}`)}
	for _, tt := range []struct {
		match     bool
		wantReads int
	}{{true, 0}, {false, 1}} {
		st := &readTx{match: hs}
		tx := &Tx{st: st, read: map[string]*socialrx.Resource{}}
		if _, err := tx.Search(ctx, socialrx.SearchRequest{Type: "HealthcareService", Match: tt.match}); err != nil {
			t.Fatal(err)
		}
		r, err := tx.cachedRead(ctx, "HealthcareService", "h1")
		if err != nil || r.ID != "h1" || r.VersionID != 2 || string(r.Body) != string(hs.Body) {
			t.Fatalf("match %v: read %+v, %v; want HealthcareService/h1 version 2", tt.match, r, err)
		}
		if st.reads != tt.wantReads {
			t.Errorf("match %v: %d store reads, want %d", tt.match, st.reads, tt.wantReads)
		}
	}
}
