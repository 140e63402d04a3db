package httpapi

import (
	"testing"

	"github.com/socialrx/socialrx"
	"github.com/socialrx/socialrx/fhir"
)

// FuzzParseOp checks that parseOp never panics and refuses bad entries
// with a client error (never an internal one).
func FuzzParseOp(f *testing.F) {
	for _, s := range []string{
		`{"resourceType":"Bundle","type":"transaction","entry":[{"fullUrl":"urn:uuid:0b1d7a4e-9c5f-4a7e-8f51-3a2b1c0d9e8f","resource":{"resourceType":"Patient"},"request":{"method":"POST","url":"Patient","ifNoneExist":"identifier=a|b"}}]}`,
		`{"resourceType":"Bundle","type":"batch","entry":[{"request":{"method":"GET","url":"Patient?_id=1&_summary=count"}},{"request":{"method":"GET","url":"Patient/1/_history/2"}}]}`,
		`{"resourceType":"Bundle","type":"transaction","entry":[{"resource":{"resourceType":"Patient","id":"a"},"request":{"method":"PUT","url":"Patient/a","ifMatch":"W/\"1\""}}]}`,
		`{"resourceType":"Bundle","type":"transaction","entry":[{"request":{"method":"DELETE","url":"http://x/fhir/Patient/a"}},{"request":{"method":"PATCH","url":"Patient/a"}}]}`,
		`{"resourceType":"Bundle","type":"transaction","entry":[{"resource":{"resourceType":"Patient"},"request":{"method":"PUT","url":"Patient?identifier=x"}}]}`,
	} {
		f.Add(s)
	}
	s := New(nil, Config{}, nil)
	f.Fuzz(func(t *testing.T, body string) {
		b, issues := fhir.ParseBundle([]byte(body))
		if fhir.HasErrors(issues) || b == nil {
			return
		}
		for i, e := range b.Entries {
			o, err := s.parseOp("http://x/fhir", i, e)
			if err != nil {
				if code := socialrx.ErrorCode(err); code == socialrx.EINTERNAL {
					t.Fatalf("entry %d: internal error %v", i, err)
				}
				if len(socialrx.ErrorIssues(err)) == 0 {
					t.Fatalf("entry %d: error without issues: %v", i, err)
				}
				continue
			}
			if o.kind == 0 || o.typ == "" {
				t.Fatalf("entry %d: op without kind or type: %+v", i, o)
			}
		}
	})
}

func TestAcceptsJSON(t *testing.T) {
	tests := []struct {
		accept string
		want   bool
	}{
		{"", true},
		{"application/fhir+json", true},
		{"application/json;q=0.5, text/html", true},
		{"*/*", true},
		{"application/*", true},
		{"application/fhir+xml", false},
		{"application/fhir+json;q=0", false},
		{"text/html", false},
		{"json", false},
	}
	for _, tt := range tests {
		var vals []string
		if tt.accept != "" {
			vals = []string{tt.accept}
		}
		if got := acceptsJSON(vals); got != tt.want {
			t.Errorf("acceptsJSON(%q) = %v, want %v", tt.accept, got, tt.want)
		}
	}
}

func TestParseVersionTag(t *testing.T) {
	for in, want := range map[string]int64{`W/"3"`: 3, `"12"`: 12, `7`: 7, `W/"0"`: 0, `W/"x"`: 0, ``: 0, `-1`: 0} {
		got, err := parseVersionTag("If-Match", in)
		if want == 0 && err == nil || want != 0 && (err != nil || got != want) {
			t.Errorf("parseVersionTag(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
}

func TestRelativeEntryURL(t *testing.T) {
	tests := []struct{ in, want string }{
		{"Patient/1", "Patient/1"},
		{"http://hl7.org/fhir/us/sdc/Questionnaire/54127-6", "Questionnaire/54127-6"},
		{"https://x.org/base/Patient?identifier=a|b", "Patient?identifier=a|b"},
		{"https://x.org/base/Patient/1/_history/2", "Patient/1/_history/2"},
		{"https://x.org/base/nothing/here", "https://x.org/base/nothing/here"},
	}
	for _, tt := range tests {
		if got := relativeEntryURL(tt.in); got != tt.want {
			t.Errorf("relativeEntryURL(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
