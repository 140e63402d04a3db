package fhir

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestStampMeta(t *testing.T) {
	at := time.Date(2026, 11, 25, 10, 30, 0, 123456789, time.FixedZone("EST", -5*3600))
	tests := []struct {
		name, in, want string
	}{
		{
			name: "no meta",
			in:   `{"resourceType":"Patient","birthDate":"1970-01-01","_birthDate":{"extension":[{"url":"x","valueString":"y"}]},"weight":1.50}`,
			want: `{"resourceType":"Patient","id":"p1","meta":{"versionId":"3","lastUpdated":"2026-11-25T15:30:00.123456Z"},"birthDate":"1970-01-01","_birthDate":{"extension":[{"url":"x","valueString":"y"}]},"weight":1.50}`,
		},
		{
			name: "client meta kept except server fields",
			in:   `{"meta":{"profile":["http://p"],"versionId":"99","lastUpdated":"2000-01-01T00:00:00Z"},"id":"old","resourceType":"Patient","active":true}`,
			want: `{"resourceType":"Patient","id":"p1","meta":{"versionId":"3","lastUpdated":"2026-11-25T15:30:00.123456Z","profile":["http://p"]},"active":true}`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := StampMeta([]byte(tt.in), "p1", 3, at)
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tt.want {
				t.Errorf("StampMeta:\n got %s\nwant %s", got, tt.want)
			}
			var a, b any
			if err := json.Unmarshal(got, &a); err != nil {
				t.Fatalf("output is not JSON: %v", err)
			}
			json.Unmarshal([]byte(tt.want), &b)
			if diff := cmp.Diff(b, a); diff != "" {
				t.Errorf("(-want +got)\n%s", diff)
			}
		})
	}
}

func TestStampMetaRejects(t *testing.T) {
	for _, in := range []string{`[]`, `{"a":1,"a":2}`, `{"meta":[1]}`, `{"a":1} x`, `{`} {
		if _, err := StampMeta([]byte(in), "x", 1, time.Now()); err == nil {
			t.Errorf("StampMeta(%s): no error", in)
		}
	}
}
