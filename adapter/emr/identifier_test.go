package emr

import "testing"

func TestIdentifierQuery(t *testing.T) {
	tests := []struct {
		system, value, want string
	}{
		{"http://x.org/ids", "r-1", "identifier=http%3A%2F%2Fx.org%2Fids%7Cr-1"},
		{"", "r-1", "identifier=%7Cr-1"}, // no system: matches identifiers without one
		{"urn:a|b", "v,w", "identifier=urn%3Aa%5C%7Cb%7Cv%5C%2Cw"},
		{"s", `a\b$c`, "identifier=s%7Ca%5C%5Cb%5C%24c"},
		{"s", "a b+c&d=é", "identifier=s%7Ca+b%2Bc%26d%3D%C3%A9"},
	}
	for _, tt := range tests {
		if got := identifierQuery(tt.system, tt.value); got != tt.want {
			t.Errorf("identifierQuery(%q, %q) = %q, want %q", tt.system, tt.value, got, tt.want)
		}
	}
}
