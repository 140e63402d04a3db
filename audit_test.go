package socialrx

import (
	"strings"
	"testing"
)

func TestAuditActionOf(t *testing.T) {
	for _, tc := range []struct {
		subtype string
		want    AuditAction
	}{
		{"create", AuditCreate},
		{"update", AuditUpdate},
		{"delete", AuditDelete},
		{"read", AuditRead},
		{"vread", AuditRead},
		{"search-type", AuditRead},
		{"history-instance", AuditRead},
		{"history-type", AuditRead},
		{"history-system", AuditRead},
		{"operation", AuditExecute},
		{"transaction", AuditExecute},
		{"", AuditExecute},
	} {
		if got := AuditActionOf(tc.subtype); got != tc.want {
			t.Errorf("AuditActionOf(%q) = %q, want %q", tc.subtype, got, tc.want)
		}
	}
}

func TestAuditOutcomeOf(t *testing.T) {
	for _, tc := range []struct {
		status int
		want   AuditOutcome
	}{
		{200, AuditSuccess}, {201, AuditSuccess}, {304, AuditSuccess},
		{400, AuditMinorFailure}, {403, AuditMinorFailure}, {404, AuditMinorFailure}, {412, AuditMinorFailure},
		{500, AuditSeriousFail}, {503, AuditSeriousFail}, {0, AuditSeriousFail},
	} {
		if got := AuditOutcomeOf(tc.status); got != tc.want {
			t.Errorf("AuditOutcomeOf(%d) = %q, want %q", tc.status, got, tc.want)
		}
	}
}

func TestAuditAgentID(t *testing.T) {
	for _, tc := range []struct {
		client, want string
	}{
		{"", AuditSelf},
		{"analytics-app", "analytics-app"},
		{"a.b-C9", "a.b-C9"},
	} {
		if got := AuditAgentID(tc.client); got != tc.want {
			t.Errorf("AuditAgentID(%q) = %q, want %q", tc.client, got, tc.want)
		}
	}
	// Not a FHIR id (a URL, spaces, too long, or the name socialrx
	// itself uses): a stable hash, different per client.
	seen := map[string]string{}
	for _, c := range []string{"https://emr.example.org/client", "my client", strings.Repeat("x", 65), AuditSelf} {
		got := AuditAgentID(c)
		if !strings.HasPrefix(got, "c-") || len(got) != 34 || !validFHIRID(got) {
			t.Errorf("AuditAgentID(%q) = %q, want c- and 32 hex digits", c, got)
		}
		if got != AuditAgentID(c) {
			t.Errorf("AuditAgentID(%q) is not stable", c)
		}
		if other, dup := seen[got]; dup {
			t.Errorf("AuditAgentID(%q) = AuditAgentID(%q)", c, other)
		}
		seen[got] = c
	}
}
