package auth

import (
	"strings"
	"testing"

	"github.com/socialrx/socialrx"
)

func TestScopesPermits(t *testing.T) {
	const (
		c = socialrx.InteractionCreate
		r = socialrx.InteractionRead
		u = socialrx.InteractionUpdate
		d = socialrx.InteractionDelete
		s = socialrx.InteractionSearch
	)
	all := []socialrx.Interaction{c, r, u, d, s}
	tests := []struct {
		scope string
		typ   string
		want  string // the interactions permitted on typ, in cruds order
	}{
		{"system/Patient.read", "Patient", "rs"},
		{"system/Patient.read", "Task", ""},
		{"system/Patient.write", "Patient", "cud"},
		{"system/*.read", "Task", "rs"},
		{"system/*.write", "Observation", "cud"},
		{"system/*.*", "Task", "cruds"},
		{"system/Patient.rs", "Patient", "rs"},
		{"system/Task.cruds", "Task", "cruds"},
		{"system/Task.cruds", "Patient", ""},
		{"system/Task.cu", "Task", "cu"},
		{"system/Task.d", "Task", "d"},
		{"user/Task.cruds", "Task", "cruds"},                   // user/ read as system/
		{"system/Patient.r system/Patient.s", "Patient", "rs"}, // union
		{"system/Patient.r system/*.c", "Patient", "cr"},
		{"patient/Patient.read", "Patient", ""},                          // refused: no patient context
		{"system/Observation.rs?category=laboratory", "Observation", ""}, // granular: refused
		{"system/Task.sr", "Task", ""},                                   // v2 order is c r u d s
		{"system/Task.rr", "Task", ""},
		{"system/Task.", "Task", ""},
		{"system/Task.x", "Task", ""},
		{"openid fhirUser launch offline_access", "Task", ""},
		{"system/task.read", "task", ""},
		{"", "Task", ""},
	}
	for _, tt := range tests {
		sc, _ := ParseScopes(tt.scope)
		var got strings.Builder
		for _, i := range all {
			if sc.Permits(i, tt.typ) {
				got.WriteByte(byte(i))
			}
		}
		if got.String() != tt.want {
			t.Errorf("ParseScopes(%q) permits %q on %s; want %q", tt.scope, got.String(), tt.typ, tt.want)
		}
	}
}

func TestParseScopesIgnoredSayWhy(t *testing.T) {
	sc, ignored := ParseScopes("system/Patient.rs patient/Task.read system/Observation.rs?code=x openid")
	if sc.String() != "system/Patient.rs" {
		t.Errorf("accepted = %q, want only system/Patient.rs", sc.String())
	}
	if len(ignored) != 3 {
		t.Fatalf("ignored = %q, want 3 reasons", ignored)
	}
	for i, want := range []string{"patient/ scopes are not supported", "granular scopes", "not a resource scope"} {
		if !strings.Contains(ignored[i], want) {
			t.Errorf("ignored[%d] = %q, want it to say %q", i, ignored[i], want)
		}
	}
}

func TestParseScopesStrict(t *testing.T) {
	if _, err := ParseScopesStrict("system/*.rs system/Task.cu"); err != nil {
		t.Errorf("good scopes: %v", err)
	}
	for _, bad := range []string{"", "openid", "patient/*.read", "system/Task.rs?status=ready", "system/*.rs bogus"} {
		if _, err := ParseScopesStrict(bad); err == nil {
			t.Errorf("ParseScopesStrict(%q) = nil error, want one", bad)
		}
	}
}
