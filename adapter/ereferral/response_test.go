package ereferral

import (
	"net/http"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/socialrx/socialrx"
	"github.com/socialrx/socialrx/adapter/internal/oauthcc"
)

func TestClassifyResponse(t *testing.T) {
	unreadable := &socialrx.SendError{Retryable: true, StatusCode: 200, Reason: "unreadable response"}
	tests := []struct {
		name string
		body string
		want *socialrx.SendError
	}{
		{name: "empty", body: "", want: nil},
		{name: "whitespace", body: " \n", want: nil},
		{name: "ok", body: respMessage("ok", ""), want: nil},
		{name: "no response element", body: `{"resourceType":"Bundle","type":"message","entry":[{"resource":{"resourceType":"MessageHeader"}}]}`, want: nil},
		{name: "not a message Bundle", body: `{"resourceType":"OperationOutcome","issue":[]}`, want: nil},
		{name: "message Bundle without entries", body: `{"resourceType":"Bundle","type":"message"}`, want: nil},
		{name: "first entry not a MessageHeader", body: `{"resourceType":"Bundle","type":"message","entry":[{"resource":{"resourceType":"Task","response":{"code":"fatal-error"}}}]}`, want: nil},
		{name: "fatal-error", body: respMessage("fatal-error", "no such program"), want: &socialrx.SendError{StatusCode: 200, Reason: "response message fatal-error: no such program"}},
		{name: "transient-error", body: respMessage("transient-error", "busy"), want: &socialrx.SendError{Retryable: true, StatusCode: 200, Reason: "response message transient-error: busy"}},
		{name: "fatal-error without OperationOutcome", body: `{"resourceType":"Bundle","type":"message","entry":[{"resource":{"resourceType":"MessageHeader","response":{"code":"fatal-error"}}}]}`, want: &socialrx.SendError{StatusCode: 200, Reason: "response message fatal-error"}},
		{name: "unknown response code", body: respMessage("maybe", ""), want: &socialrx.SendError{Retryable: true, StatusCode: 200, Reason: "unreadable response: unknown response code"}},
		{name: "garbage", body: "<html>", want: unreadable},
		{name: "JSON but not a resource", body: `[1,2]`, want: unreadable},
		{name: "entry without resource", body: `{"resourceType":"Bundle","type":"message","entry":[{}]}`, want: unreadable},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp := &oauthcc.Response{StatusCode: 200, Header: http.Header{}, Body: []byte(tt.body)}
			if diff := cmp.Diff(tt.want, classifyResponse(resp, now)); diff != "" {
				t.Errorf("classifyResponse (-want +got):\n%s", diff)
			}
		})
	}
}

func FuzzClassifyResponse(f *testing.F) {
	f.Add([]byte(respMessage("fatal-error", "x")))
	f.Add([]byte(`{"resourceType":"Bundle","type":"message","entry":[{"resource":null}]}`))
	f.Add([]byte("<html>"))
	f.Fuzz(func(t *testing.T, body []byte) {
		resp := &oauthcc.Response{StatusCode: 200, Header: http.Header{}, Body: body}
		if e := classifyResponse(resp, now); e != nil && len(e.Reason) > socialrx.MaxReason {
			t.Errorf("reason of %d bytes", len(e.Reason))
		}
	})
}
