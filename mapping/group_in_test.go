package mapping

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/socialrx/socialrx"
)

func TestGroupMembersAt(t *testing.T) {
	at := time.Date(2026, 3, 15, 12, 0, 0, 0, time.UTC)
	member := func(entity, extra string) string {
		return `{"entity":{"reference":"` + entity + `"}` + extra + `}`
	}
	group := func(members ...string) []byte {
		b := `{"resourceType":"Group","type":"person","actual":true,"member":[`
		for i, m := range members {
			if i > 0 {
				b += ","
			}
			b += m
		}
		return []byte(b + `]}`)
	}
	for _, tt := range []struct {
		name     string
		body     []byte
		patients []string
		others   []string
	}{
		{"no members", []byte(`{"resourceType":"Group","type":"person","actual":true}`), nil, nil},
		{"patients in order, once", group(member("Patient/b", ""), member("Patient/a", ""), member("Patient/b/_history/2", "")), []string{"b", "a"}, nil},
		{"absolute reference", group(member("https://ehr.example/fhir/Patient/p1", "")), []string{"p1"}, nil},
		{"inactive left out", group(member("Patient/p1", `,"inactive":true`), member("Patient/p2", `,"inactive":false`)), []string{"p2"}, nil},
		{"period covering", group(member("Patient/p1", `,"period":{"start":"2026-01-01","end":"2026-03"}`)), []string{"p1"}, nil},
		{"period ended", group(member("Patient/p1", `,"period":{"end":"2026-03-15T11:59:59Z"}`)), nil, nil},
		{"period ends at the day's end", group(member("Patient/p1", `,"period":{"end":"2026-03-15"}`)), []string{"p1"}, nil},
		{"period not started", group(member("Patient/p1", `,"period":{"start":"2026-03-15T12:00:01Z"}`)), nil, nil},
		{"period started at", group(member("Patient/p1", `,"period":{"start":"2026-03-15T12:00:00Z"}`)), []string{"p1"}, nil},
		{"unreadable bound left out", group(member("Patient/p1", `,"period":{"start":"soon"}`)), nil, nil},
		{"other types and forms", group(member("Practitioner/d1", ""), member("Patient/p1", ""), `{"entity":{"identifier":{"value":"x"}}}`, member("#c", ""), member("Device/x", `,"inactive":true`)),
			[]string{"p1"}, []string{"Group.member[0].entity", "Group.member[2].entity", "Group.member[3].entity"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, err := GroupMembersAt(tt.body, at)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.patients, got.Patients, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("Patients (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.others, got.Others, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("Others (-want +got):\n%s", diff)
			}
		})
	}
	for _, bad := range []string{`{"resourceType":"Patient"}`, `not json`, `{"resourceType":"Group","member":{}}`} {
		if _, err := GroupMembersAt([]byte(bad), at); socialrx.ErrorCode(err) != socialrx.EINVALID {
			t.Errorf("GroupMembersAt(%s): %v, want EINVALID", bad, err)
		}
	}
}

// TestGroupMembersAtExample: the official R4 example Group-102 (four
// patients, one inactive, periods with a start only).
func TestGroupMembersAtExample(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("..", "testdata", "fhir-examples-extra", "r4", "Group-102.json"))
	if err != nil {
		t.Fatal(err)
	}
	got, err := GroupMembersAt(b, time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"pat1", "pat3", "pat4"}, got.Patients); diff != "" || len(got.Others) != 0 {
		t.Errorf("Group-102 members (-want +got):\n%s, others %v", diff, got.Others)
	}
	// Before pat3 and pat4 joined (2015-08-06).
	got, _ = GroupMembersAt(b, time.Date(2015, 8, 5, 0, 0, 0, 0, time.UTC))
	if diff := cmp.Diff([]string{"pat1"}, got.Patients); diff != "" {
		t.Errorf("Group-102 members on 2015-08-05 (-want +got):\n%s", diff)
	}
}
