package emr

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/socialrx/socialrx"
	"github.com/socialrx/socialrx/adapter/internal/oauthcc/oauthcctest"
)

const (
	taskSystem = "https://socialrx.example/fhir/sid/referral"
	taskBody   = `{"resourceType":"Task","identifier":[{"system":"https://socialrx.example/fhir/sid/referral","value":"r-1"}],"status":"in-progress"}`
)

// seen is what the EMR saw of one request.
type seen struct {
	Method, Path, RawQuery, Identifier, IfNoneExist, ContentType, Authorization, Body string
}

type emrServer struct {
	*httptest.Server
	mu   sync.Mutex
	reqs []seen
}

func newEMR(t *testing.T, answer func(w http.ResponseWriter, r *http.Request, n int)) *emrServer {
	s := &emrServer{}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		s.mu.Lock()
		s.reqs = append(s.reqs, seen{
			Method: r.Method, Path: r.URL.Path, RawQuery: r.URL.RawQuery, Identifier: r.URL.Query().Get("identifier"),
			IfNoneExist: r.Header.Get("If-None-Exist"), ContentType: r.Header.Get("Content-Type"),
			Authorization: r.Header.Get("Authorization"), Body: string(body),
		})
		n := len(s.reqs)
		s.mu.Unlock()
		answer(w, r, n)
	}))
	t.Cleanup(s.Close)
	return s
}

func (s *emrServer) seen() []seen {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]seen(nil), s.reqs...)
}

func status(code int, body string, header ...string) func(http.ResponseWriter, *http.Request, int) {
	return func(w http.ResponseWriter, r *http.Request, _ int) {
		for i := 0; i+1 < len(header); i += 2 {
			w.Header().Set(header[i], header[i+1])
		}
		w.WriteHeader(code)
		io.WriteString(w, body)
	}
}

const multipleMatches = `{"resourceType":"OperationOutcome","issue":[{"severity":"error","code":"processing","diagnostics":"Failed to UPDATE resource with match URL because this search matched 2 resources"}]}`

func TestUpdateByIdentifier(t *testing.T) {
	tests := []struct {
		name          string
		system, value string
		answer        func(http.ResponseWriter, *http.Request, int)
		want          *socialrx.SendError
		wantReason    string
		wantRawQuery  string
		wantIdent     string // the identifier parameter, decoded
		wantRequests  int
	}{
		{
			name: "200 updated", system: taskSystem, value: "r-1", answer: status(200, taskBody),
			wantRawQuery: "identifier=https%3A%2F%2Fsocialrx.example%2Ffhir%2Fsid%2Freferral%7Cr-1",
			wantIdent:    taskSystem + "|r-1", wantRequests: 1,
		},
		{
			name: "201 created", system: taskSystem, value: "r-1", answer: status(201, ""),
			wantRawQuery: "identifier=https%3A%2F%2Fsocialrx.example%2Ffhir%2Fsid%2Freferral%7Cr-1",
			wantIdent:    taskSystem + "|r-1", wantRequests: 1,
		},
		{
			name: "value escaped for URL and FHIR search", system: "urn:oid:1.2.3", value: "a b&c=d,e|f$g\\h+i%", answer: status(200, ""),
			wantRawQuery: "identifier=urn%3Aoid%3A1.2.3%7Ca+b%26c%3Dd%5C%2Ce%5C%7Cf%5C%24g%5C%5Ch%2Bi%25",
			wantIdent:    `urn:oid:1.2.3|a b&c=d\,e\|f\$g\\h+i%`, wantRequests: 1,
		},
		{
			name: "412 matched several", system: taskSystem, value: "r-1", answer: status(412, multipleMatches),
			want:         &socialrx.SendError{StatusCode: 412},
			wantReason:   "precondition failed: Failed to UPDATE resource with match URL because this search matched 2 resources",
			wantRawQuery: "identifier=https%3A%2F%2Fsocialrx.example%2Ffhir%2Fsid%2Freferral%7Cr-1",
			wantIdent:    taskSystem + "|r-1", wantRequests: 1,
		},
		{
			name: "503 retryable", system: taskSystem, value: "r-1", answer: status(503, "", "Retry-After", "12"),
			want:         &socialrx.SendError{Retryable: true, StatusCode: 503, RetryAfter: 12 * time.Second},
			wantReason:   "service unavailable",
			wantRawQuery: "identifier=https%3A%2F%2Fsocialrx.example%2Ffhir%2Fsid%2Freferral%7Cr-1",
			wantIdent:    taskSystem + "|r-1", wantRequests: 1,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ts := oauthcctest.NewTokenServer(t)
			s := newEMR(t, tt.answer)
			c := New(oauthcctest.Credentials{socialrx.EMRDefaultEndpointID: ts.Credentials()}, Options{Timeout: 5 * time.Second})
			ep := socialrx.Endpoint{ID: socialrx.EMRDefaultEndpointID, ConnectionType: socialrx.ConnectionFHIRREST, Address: s.URL + "/fhir/r4/"}

			err := c.UpdateByIdentifier(context.Background(), ep, "Task", tt.system, tt.value, []byte(taskBody))

			checkOutcome(t, err, tt.want, tt.wantReason)
			want := []seen{{
				Method: "PUT", Path: "/fhir/r4/Task", RawQuery: tt.wantRawQuery, Identifier: tt.wantIdent,
				ContentType: "application/fhir+json", Authorization: "Bearer tok-1", Body: taskBody,
			}}
			if diff := cmp.Diff(want, s.seen()); diff != "" {
				t.Errorf("requests the EMR saw (-want +got):\n%s", diff)
			}
		})
	}
}

func TestCreateIfNoneExist(t *testing.T) {
	const apptBody = `{"resourceType":"Appointment","identifier":[{"system":"urn:oid:1.2.3","value":"a-7"}],"status":"booked"}`
	tests := []struct {
		name       string
		answer     func(http.ResponseWriter, *http.Request, int)
		want       *socialrx.SendError
		wantReason string
		wantTokens []string
	}{
		{name: "201 created", answer: status(201, apptBody, "Location", "/fhir/Appointment/9/_history/1"), wantTokens: []string{"Bearer tok-1"}},
		{name: "200 already there", answer: status(200, ""), wantTokens: []string{"Bearer tok-1"}},
		{
			name: "401 then 201: token refreshed",
			answer: func(w http.ResponseWriter, r *http.Request, n int) {
				if n == 1 {
					w.WriteHeader(http.StatusUnauthorized)
					return
				}
				w.WriteHeader(http.StatusCreated)
			},
			wantTokens: []string{"Bearer tok-1", "Bearer tok-2"},
		},
		{
			name: "422 with OperationOutcome", answer: status(422, `{"resourceType":"OperationOutcome","issue":[{"details":{"text":"Appointment.participant required"}}]}`),
			want: &socialrx.SendError{StatusCode: 422}, wantReason: "unprocessable entity: Appointment.participant required",
			wantTokens: []string{"Bearer tok-1"},
		},
		{
			name: "503 retryable", answer: status(503, ""),
			want: &socialrx.SendError{Retryable: true, StatusCode: 503}, wantReason: "service unavailable",
			wantTokens: []string{"Bearer tok-1"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ts := oauthcctest.NewTokenServer(t)
			s := newEMR(t, tt.answer)
			c := New(oauthcctest.Credentials{"emr": ts.Credentials()}, Options{Timeout: 5 * time.Second})
			ep := socialrx.Endpoint{ID: "emr", Address: s.URL + "/fhir"}

			err := c.CreateIfNoneExist(context.Background(), ep, "Appointment", "urn:oid:1.2.3", "a-7", []byte(apptBody))

			checkOutcome(t, err, tt.want, tt.wantReason)
			var want []seen
			for _, tok := range tt.wantTokens {
				want = append(want, seen{
					Method: "POST", Path: "/fhir/Appointment", IfNoneExist: "identifier=urn%3Aoid%3A1.2.3%7Ca-7",
					ContentType: "application/fhir+json", Authorization: tok, Body: apptBody,
				})
			}
			if diff := cmp.Diff(want, s.seen()); diff != "" {
				t.Errorf("requests the EMR saw (-want +got):\n%s", diff)
			}
		})
	}
}

func TestWriteChecksTarget(t *testing.T) {
	s := newEMR(t, status(200, ""))
	c := New(oauthcctest.Credentials{}, Options{})
	ep := socialrx.Endpoint{ID: "emr", Address: s.URL}
	tests := []struct {
		typ, value, reason string
	}{
		{"Task?_id=1", "r-1", "invalid resource type"},
		{"../Patient", "r-1", "invalid resource type"},
		{"", "r-1", "invalid resource type"},
		{"Task", "", "empty identifier value"},
	}
	for _, tt := range tests {
		for name, call := range map[string]func() error{
			"UpdateByIdentifier": func() error { return c.UpdateByIdentifier(context.Background(), ep, tt.typ, taskSystem, tt.value, nil) },
			"CreateIfNoneExist":  func() error { return c.CreateIfNoneExist(context.Background(), ep, tt.typ, taskSystem, tt.value, nil) },
		} {
			err := call()
			want := &socialrx.SendError{Reason: tt.reason}
			if diff := cmp.Diff(error(want), err); diff != "" {
				t.Errorf("%s(%q, %q) (-want +got):\n%s", name, tt.typ, tt.value, diff)
			}
		}
	}
	if n := len(s.seen()); n != 0 {
		t.Errorf("EMR got %d requests, want none", n)
	}
}

// TestWriteBoundsResponse: a 2xx answer of 10 MiB is success without
// reading it all.
func TestWriteBoundsResponse(t *testing.T) {
	chunk := bytes.Repeat([]byte(" "), 64<<10)
	s := newEMR(t, func(w http.ResponseWriter, r *http.Request, _ int) {
		w.WriteHeader(http.StatusCreated)
		for range 10 << 20 / len(chunk) {
			if _, err := w.Write(chunk); err != nil {
				return
			}
		}
	})
	c := New(oauthcctest.Credentials{}, Options{MaxResponseBytes: 1 << 20})
	err := c.CreateIfNoneExist(context.Background(), socialrx.Endpoint{ID: "emr", Address: s.URL}, "Communication", taskSystem, "c-1", []byte(`{}`))
	if err != nil {
		t.Errorf("error %v, want success", err)
	}
}

// checkOutcome checks that err is nil when want is, and otherwise a
// *socialrx.SendError equal to want but for Reason, which contains reason.
func checkOutcome(t *testing.T, err error, want *socialrx.SendError, reason string) {
	t.Helper()
	if want == nil {
		if err != nil {
			t.Fatalf("error %v, want success", err)
		}
		return
	}
	se, ok := err.(*socialrx.SendError)
	if !ok {
		t.Fatalf("error %v (%T), want a *socialrx.SendError", err, err)
	}
	if diff := cmp.Diff(want, se, cmpopts.IgnoreFields(socialrx.SendError{}, "Reason")); diff != "" {
		t.Errorf("SendError (-want +got):\n%s", diff)
	}
	if !strings.Contains(se.Reason, reason) {
		t.Errorf("Reason %q, want it to contain %q", se.Reason, reason)
	}
	if strings.Contains(se.Error(), "tok-") || strings.Contains(se.Error(), "s3cret") {
		t.Errorf("error %q carries a token or a secret", se.Error())
	}
}
