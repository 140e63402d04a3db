package storetest

import (
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/socialrx/socialrx"
)

// testReadMany: ReadMany returns the current version of each existing
// resource named, once, and leaves out missing, deleted and malformed
// references.
func testReadMany(t *testing.T, open func(t *testing.T) socialrx.Store) {
	s := open(t)
	ctx := t.Context()
	mustCreate(t, s, "Patient", "rm-1", `{"resourceType":"Patient","active":true}`)
	mustUpdate(t, s, "Patient", "rm-1", `{"resourceType":"Patient","active":false}`, 0)
	mustCreate(t, s, "Organization", "rm-2", `{"resourceType":"Organization","name":"x"}`)
	mustCreate(t, s, "Patient", "rm-gone", `{"resourceType":"Patient"}`)
	if err := s.Transact(ctx, func(tx socialrx.Tx) error { _, err := tx.Delete(ctx, "Patient", "rm-gone", 0); return err }); err != nil {
		t.Fatal(err)
	}
	refs := []string{"Patient/rm-1", "Organization/rm-2", "Patient/rm-1", "Patient/rm-gone", "Patient/none", "bad", "Patient/", "Organization/rm-1"}
	for i := 0; i < 150; i++ { // more than one statement's worth
		refs = append(refs, "Patient/filler-"+string(rune('a'+i%26))+string(rune('a'+i/26)))
	}
	got, err := s.ReadMany(ctx, refs)
	if err != nil {
		t.Fatalf("ReadMany: %v", err)
	}
	var names []string
	for _, r := range got {
		names = append(names, r.Type+"/"+r.ID)
		if r.Type == "Patient" && (r.VersionID != 2 || string(r.Body) == "") {
			t.Errorf("Patient/rm-1: version %d, want the current version 2", r.VersionID)
		}
	}
	slices.Sort(names)
	if diff := cmp.Diff([]string{"Organization/rm-2", "Patient/rm-1"}, names); diff != "" {
		t.Errorf("ReadMany (-want +got):\n%s", diff)
	}
	if none, err := s.ReadMany(ctx, nil); err != nil || len(none) != 0 {
		t.Errorf("ReadMany(nil) = %v, %v", none, err)
	}
}
