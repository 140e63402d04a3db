package socialrx_test

import (
	"errors"
	"fmt"
	"testing"

	"github.com/socialrx/socialrx"
)

func TestErrorCode(t *testing.T) {
	wrapped := fmt.Errorf("store task: %w", socialrx.Errorf(socialrx.ENOTFOUND, "task %q not found", "t1"))
	tests := []struct {
		err     error
		code    string
		message string
	}{
		{nil, "", ""},
		{errors.New("pq: secret detail"), socialrx.EINTERNAL, "internal error"},
		{wrapped, socialrx.ENOTFOUND, `task "t1" not found`},
	}
	for _, tt := range tests {
		if got := socialrx.ErrorCode(tt.err); got != tt.code {
			t.Errorf("ErrorCode(%v) = %q, want %q", tt.err, got, tt.code)
		}
		if got := socialrx.ErrorMessage(tt.err); got != tt.message {
			t.Errorf("ErrorMessage(%v) = %q, want %q", tt.err, got, tt.message)
		}
	}
}
