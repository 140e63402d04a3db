package mapping

import (
	"bytes"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/socialrx/socialrx"
)

// localTask is a stored referral Task with an extension, a primitive
// extension on status, an unknown element and a decimal, laid out by hand.
const localTask = `{
  "resourceType": "Task",
  "id": "rt-2",
  "extension": [ { "url": "http://socialrx.dev/fhir/StructureDefinition/delivery-state", "valueCode": "delivered" } ],
  "status": "requested",
  "_status": { "extension": [ { "url": "http://example.org/fhir/StructureDefinition/status-source", "valueString": "emr" } ] },
  "intent": "order",
  "focus": { "reference": "ServiceRequest/sr-2" },
  "authoredOn": "2026-11-24T09:00:00-05:00",
  "owner": { "reference": "Organization/org-cc" },
  "input": [ { "type": { "text": "hours" }, "valueDecimal": 1.50 } ],
  "unknownElement": true
}`

func TestApplyTaskUpdate(t *testing.T) {
	now := time.Date(2026, 11, 25, 10, 0, 0, 0, time.FixedZone("EST", -5*3600))
	tests := []struct {
		name        string
		local       string
		incoming    string
		want        string // "" when unchanged
		wantChanged bool
	}{
		{
			name:  "accepted with a business status and lastModified",
			local: localTask,
			incoming: `{"resourceType":"Task","id":"ocean-77","status":"accepted",
				"businessStatus":{ "text": "Booked" },"lastModified":"2026-11-25T09:30:00-05:00","extension":[{"url":"http://ocean.example/x","valueString":"y"}]}`,
			want: `{
  "resourceType": "Task",
  "id": "rt-2",
  "extension": [ { "url": "http://socialrx.dev/fhir/StructureDefinition/delivery-state", "valueCode": "delivered" } ],
  "status": "accepted",
  "_status": { "extension": [ { "url": "http://example.org/fhir/StructureDefinition/status-source", "valueString": "emr" } ] },
  "businessStatus": {"text":"Booked"},
  "intent": "order",
  "focus": { "reference": "ServiceRequest/sr-2" },
  "authoredOn": "2026-11-24T09:00:00-05:00",
  "lastModified": "2026-11-25T09:30:00-05:00",
  "owner": { "reference": "Organization/org-cc" },
  "input": [ { "type": { "text": "hours" }, "valueDecimal": 1.50 } ],
  "unknownElement": true
}`,
			wantChanged: true,
		},
		{
			name:     "rejected with a reason and output, no lastModified: now",
			local:    `{"resourceType":"Task","id":"t","status":"accepted","businessStatus":{"text":"Booked"},"intent":"order","lastModified":"2026-11-24T09:00:00Z","output":[{"type":{"text":"a"},"valueString":"old"}]}`,
			incoming: `{"resourceType":"Task","status":"rejected","statusReason":{"text":"Program full"},"output":[{"type":{"text":"a"},"valueString":"new"}]}`,
			// the old businessStatus described accepted: it goes
			want:        `{"resourceType":"Task","id":"t","status":"rejected","statusReason":{"text":"Program full"},"intent":"order","lastModified":"2026-11-25T15:00:00Z","output":[{"type":{"text":"a"},"valueString":"new"}]}`,
			wantChanged: true,
		},
		{
			name:        "new status: the stale reason and its primitive extension go, the first member too",
			local:       `{"statusReason":{"text":"wait list"},"resourceType":"Task","status":"on-hold","_statusReason":{"extension":[]},"intent":"order"}`,
			incoming:    `{"resourceType":"Task","status":"in-progress","lastModified":"2026-11-25T15:00:00Z"}`,
			want:        `{"resourceType":"Task","status":"in-progress","intent":"order","lastModified":"2026-11-25T15:00:00Z"}`,
			wantChanged: true,
		},
		{
			name:        "same status, a new business status: the reason stays",
			local:       `{"resourceType":"Task","status":"on-hold","statusReason":{"text":"wait list"},"intent":"order"}`,
			incoming:    `{"resourceType":"Task","status":"on-hold","businessStatus":{"text":"3rd on the list"},"lastModified":"2026-11-25T15:00:00Z"}`,
			want:        `{"resourceType":"Task","status":"on-hold","statusReason":{"text":"wait list"},"businessStatus":{"text":"3rd on the list"},"intent":"order","lastModified":"2026-11-25T15:00:00Z"}`,
			wantChanged: true,
		},
		{
			name:        "same status, new output",
			local:       `{"resourceType":"Task","id":"t","status":"completed","intent":"order"}`,
			incoming:    `{"resourceType":"Task","status":"completed","output":[{"type":{"text":"summary"},"valueString":"done"}]}`,
			want:        `{"resourceType":"Task","id":"t","status":"completed","intent":"order","lastModified":"2026-11-25T15:00:00Z","output":[{"type":{"text":"summary"},"valueString":"done"}]}`,
			wantChanged: true,
		},
		{
			name:     "identical status: unchanged",
			local:    localTask,
			incoming: `{"resourceType":"Task","status":"requested","lastModified":"2026-11-25T09:30:00-05:00","owner":{"reference":"Organization/other"}}`,
		},
		{
			name:     "echo with the same business status and reason: unchanged",
			local:    `{"resourceType":"Task","id":"t","status":"rejected","statusReason":{"text":"Full"},"businessStatus":{"coding":[{"code":"x"}],"text":"Closed"},"intent":"order"}`,
			incoming: `{"status":"rejected","businessStatus":{"text":"Closed","coding":[{"code":"x"}]},"statusReason":{ "text" : "Full" },"resourceType":"Task"}`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			local := []byte(tt.local)
			out, changed, err := ApplyTaskUpdate(local, []byte(tt.incoming), now)
			if err != nil {
				t.Fatal(err)
			}
			if changed != tt.wantChanged {
				t.Errorf("changed = %v, want %v", changed, tt.wantChanged)
			}
			want := tt.want
			if want == "" {
				want = tt.local
				if &out[0] != &local[0] {
					t.Error("unchanged, but out is not local itself")
				}
			}
			if diff := cmp.Diff(want, string(out)); diff != "" {
				t.Errorf("out (-want +got):\n%s", diff)
			}
			// Applying the same update again changes nothing.
			if again, changed, err := ApplyTaskUpdate(out, []byte(tt.incoming), now.Add(time.Hour)); err != nil || changed || !bytes.Equal(again, out) {
				t.Errorf("second ApplyTaskUpdate: changed %v, err %v", changed, err)
			}
		})
	}
}

func TestApplyTaskUpdateErrors(t *testing.T) {
	tests := []struct {
		name      string
		local     string
		incoming  string
		wantCode  string
		wantPaths []string
	}{
		{"missing status", localTask, `{"resourceType":"Task","businessStatus":{"text":"x"}}`, socialrx.EUNPROCESSABLE, []string{"Task.status"}},
		{"null status", localTask, `{"resourceType":"Task","status":null}`, socialrx.EUNPROCESSABLE, []string{"Task.status"}},
		{"unknown status", localTask, `{"resourceType":"Task","status":"booked"}`, socialrx.EUNPROCESSABLE, []string{"Task.status"}},
		{"status not a string", localTask, `{"resourceType":"Task","status":3}`, socialrx.EUNPROCESSABLE, []string{"Task.status"}},
		{"bad lastModified and status", localTask, `{"resourceType":"Task","status":"x","lastModified":"yesterday"}`, socialrx.EUNPROCESSABLE, []string{"Task.status", "Task.lastModified"}},
		{"incoming not a Task", localTask, `{"resourceType":"ServiceRequest","status":"active"}`, socialrx.EINVALID, []string{"Task"}},
		{"incoming not JSON", localTask, `{"resourceType":"Task"`, socialrx.EINVALID, []string{"Task"}},
		{"local not a Task", `[]`, `{"resourceType":"Task","status":"accepted"}`, socialrx.EINVALID, []string{"Task"}},
		{"local with duplicate members", `{"resourceType":"Task","status":"a","status":"b"}`, `{"resourceType":"Task","status":"accepted"}`, socialrx.EINVALID, []string{"Task"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, changed, err := ApplyTaskUpdate([]byte(tt.local), []byte(tt.incoming), testTime)
			if out != nil || changed {
				t.Errorf("out %d bytes, changed %v; want none", len(out), changed)
			}
			checkErr(t, err)
			code, paths := errCodePaths(t, err)
			if diff := cmp.Diff(tt.wantCode, code); diff != "" {
				t.Errorf("code (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.wantPaths, paths); diff != "" {
				t.Errorf("paths (-want +got):\n%s", diff)
			}
		})
	}
}
