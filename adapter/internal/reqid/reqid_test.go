package reqid

import (
	"strings"
	"testing"
)

func TestFor(t *testing.T) {
	for _, keep := range []string{"abc-123", "a.b_c:d", strings.Repeat("x", 128)} {
		if got := For(keep); got != keep {
			t.Errorf("For(%q) = %q, want it kept", keep, got)
		}
	}
	for _, replace := range []string{"", strings.Repeat("x", 129), "a b", "a\nb", "é", "<script>"} {
		if got := For(replace); got == replace || !Valid(got) || len(got) != 36 {
			t.Errorf("For(%q) = %q, want a new UUID", replace, got)
		}
	}
}
