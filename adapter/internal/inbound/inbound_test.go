package inbound_test

import (
	"context"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/socialrx/socialrx"
	"github.com/socialrx/socialrx/adapter/internal/inbound"
	"github.com/socialrx/socialrx/adapter/sqlite"
)

// The referral a platform's Task is about is found by id, by the id
// socialrx gives that platform's Task, by identifier, then by focus; and
// applying the same status twice writes once.
func TestFindAndApply(t *testing.T) {
	ctx := context.Background()
	s, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	if err := s.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	task := func(status string) string {
		return `{"resourceType":"Task","status":"` + status + `","intent":"order","identifier":[{"system":"https://emr/rt","value":"RT-1"}],
"code":{"coding":[{"system":"http://hl7.org/fhir/CodeSystem/task-code","code":"fulfill"}]},
"focus":{"reference":"ServiceRequest/sr1"},"for":{"reference":"Patient/p1"},"authoredOn":"2026-11-20T10:00:00Z",
"requester":{"reference":"Organization/o1"},"owner":{"reference":"Organization/o2"}}`
	}
	localID := inbound.ID("ep", "Task", "their-7")
	err = s.Transact(ctx, func(tx socialrx.Tx) error {
		for id, body := range map[string]string{"mine": task("requested"), localID: task("requested")} {
			if _, err := tx.Create(ctx, "Task", id, []byte(body)); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	// Both stored Tasks share identifier and focus: either is a right
	// answer there.
	either := []string{"mine", localID}
	cases := []struct {
		name, body string
		want       []string
	}{
		{"same id", `{"resourceType":"Task","id":"mine"}`, []string{"mine"}},
		{"the platform's id, stored under ID()", `{"resourceType":"Task","id":"their-7"}`, []string{localID}},
		{"identifier", `{"resourceType":"Task","id":"zzz","identifier":[{"system":"https://emr/rt","value":"RT-1"}]}`, either},
		{"focus", `{"resourceType":"Task","focus":{"reference":"ServiceRequest/sr1"}}`, either},
		{"nothing", `{"resourceType":"Task","id":"nope","focus":{"reference":"ServiceRequest/nope"}}`, []string{""}},
	}
	for _, c := range cases {
		var got string
		err := s.Transact(ctx, func(tx socialrx.Tx) error {
			r, err := inbound.FindReferral(ctx, tx, "ep", []byte(c.body), nil)
			if r != nil {
				got = r.ID
			}
			return err
		})
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if !slices.Contains(c.want, got) {
			t.Errorf("%s: found %q, want one of %q", c.name, got, c.want)
		}
	}
	apply := func() bool {
		var changed bool
		err := s.Transact(ctx, func(tx socialrx.Tx) error {
			tx.SetOrigin(socialrx.Origin{Actor: socialrx.ActorPerformer, EndpointID: "ep"})
			local, err := tx.Read(ctx, "Task", "mine")
			if err != nil {
				return err
			}
			changed, err = inbound.ApplyTask(ctx, tx, local, []byte(`{"resourceType":"Task","status":"accepted"}`), time.Now())
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		return changed
	}
	if !apply() {
		t.Error("first apply: not changed")
	}
	if apply() {
		t.Error("second apply of the same status: changed")
	}
	if r, _ := s.Read(ctx, "Task", "mine"); r == nil || r.VersionID != 2 {
		t.Errorf("Task versions: %+v, want 2", r)
	}
}
