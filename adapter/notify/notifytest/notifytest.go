// Package notifytest has real servers for tests of reminders: an
// in-process SMTP server (github.com/emersion/go-smtp) that keeps what it
// receives, and an SMS gateway (httptest) that keeps the requests it
// answers. Both can be told to fail the next attempts. socialrx demo
// uses the SMTP server as its mail server.
package notifytest

import (
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-smtp"
)

// Mail is one message the SMTP server accepted.
type Mail struct {
	From string
	To   []string
	Data string // the raw message, headers and body
}

// SMTPServer is an SMTP server on 127.0.0.1 for one test, with no TLS and
// no authentication (configure socialrx with tls "none").
type SMTPServer struct {
	Host string
	Port int

	mu    sync.Mutex
	mails []Mail
	fail  []int // SMTP codes to answer the next DATA with, first first
	got   chan struct{}
	close func() error
}

// StartSMTP starts an SMTP server, stopped when t ends.
func StartSMTP(t testing.TB) *SMTPServer {
	t.Helper()
	s, err := ListenSMTP()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// ListenSMTP starts an SMTP server on a free port of 127.0.0.1 outside a
// test (socialrx demo); Close stops it.
func ListenSMTP() (*SMTPServer, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	s := &SMTPServer{Host: "127.0.0.1", Port: ln.Addr().(*net.TCPAddr).Port, got: make(chan struct{}, 100)}
	srv := smtp.NewServer(backend{s})
	srv.Domain = "localhost"
	srv.ReadTimeout, srv.WriteTimeout = 10*time.Second, 10*time.Second
	srv.MaxMessageBytes = 1 << 20
	done := make(chan struct{})
	go func() { defer close(done); _ = srv.Serve(ln) }()
	s.close = func() error { err := srv.Close(); <-done; return err }
	return s, nil
}

// Close stops a server started with ListenSMTP.
func (s *SMTPServer) Close() error { return s.close() }

// FailNext makes the next len(codes) messages fail at DATA with those SMTP
// reply codes (e.g. 451 temporary, 550 permanent).
func (s *SMTPServer) FailNext(codes ...int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.fail = append(s.fail, codes...)
}

// Mails returns the messages accepted so far.
func (s *SMTPServer) Mails() []Mail {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Mail(nil), s.mails...)
}

// Wait waits up to d for the n-th accepted message and returns it.
func (s *SMTPServer) Wait(t testing.TB, n int, d time.Duration) Mail {
	t.Helper()
	m, ok := s.WaitFor(n, d)
	if !ok {
		t.Fatalf("no %d-th email within %s (got %d)", n, d, len(s.Mails()))
	}
	return m
}

// WaitFor waits up to d for the n-th accepted message; false when it has
// not come.
func (s *SMTPServer) WaitFor(n int, d time.Duration) (Mail, bool) {
	deadline := time.After(d)
	for {
		if ms := s.Mails(); len(ms) >= n {
			return ms[n-1], true
		}
		select {
		case <-s.got:
		case <-deadline:
			return Mail{}, false
		}
	}
}

type backend struct{ s *SMTPServer }

func (b backend) NewSession(*smtp.Conn) (smtp.Session, error) { return &session{s: b.s}, nil }

type session struct {
	s    *SMTPServer
	from string
	to   []string
}

func (x *session) Reset()        { x.from, x.to = "", nil }
func (x *session) Logout() error { return nil }
func (x *session) Mail(from string, _ *smtp.MailOptions) error {
	x.from = from
	return nil
}
func (x *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	x.to = append(x.to, to)
	return nil
}

func (x *session) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	x.s.mu.Lock()
	defer x.s.mu.Unlock()
	if len(x.s.fail) > 0 {
		code := x.s.fail[0]
		x.s.fail = x.s.fail[1:]
		return &smtp.SMTPError{Code: code, EnhancedCode: smtp.EnhancedCode{code / 100, 0, 0}, Message: "failing as the test asked"}
	}
	x.s.mails = append(x.s.mails, Mail{From: x.from, To: x.to, Data: string(b)})
	select {
	case x.s.got <- struct{}{}:
	default:
	}
	return nil
}

// SMSGateway is an SMS HTTP gateway for one test (httptest): it checks the
// bearer token, keeps each request and answers 202, or the statuses it was
// told to fail with.
type SMSGateway struct {
	URL   string
	Token string

	mu       sync.Mutex
	requests []SMSRequest
	attempts int
	fail     []int
}

// SMSRequest is what the gateway received (socialrx's notify.SMSRequest,
// with the Idempotency-Key header).
type SMSRequest struct {
	ID             string `json:"id"`
	To             string `json:"to"`
	From           string `json:"from"`
	Text           string `json:"text"`
	IdempotencyKey string `json:"-"`
}

// StartSMSGateway starts a gateway that accepts token, closed when t ends.
func StartSMSGateway(t testing.TB, token string) *SMSGateway {
	g := &SMSGateway{Token: token}
	srv := httptest.NewServer(g)
	t.Cleanup(srv.Close)
	g.URL = srv.URL + "/messages"
	return g
}

// FailNext makes the next len(codes) requests answer those statuses.
func (g *SMSGateway) FailNext(codes ...int) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.fail = append(g.fail, codes...)
}

// Requests returns the messages accepted so far; Attempts counts every
// request, failed ones included.
func (g *SMSGateway) Requests() []SMSRequest {
	g.mu.Lock()
	defer g.mu.Unlock()
	return append([]SMSRequest(nil), g.requests...)
}

// Attempts is how many requests arrived, failed ones included.
func (g *SMSGateway) Attempts() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.attempts
}

func (g *SMSGateway) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.attempts++
	if r.Method != http.MethodPost || r.URL.Path != "/messages" {
		http.Error(w, "not here", http.StatusNotFound)
		return
	}
	if r.Header.Get("Authorization") != "Bearer "+g.Token {
		http.Error(w, "who are you", http.StatusUnauthorized)
		return
	}
	if len(g.fail) > 0 {
		code := g.fail[0]
		g.fail = g.fail[1:]
		http.Error(w, "failing as the test asked", code)
		return
	}
	var m SMSRequest
	if err := json.NewDecoder(io.LimitReader(r.Body, 1<<16)).Decode(&m); err != nil || !strings.HasPrefix(r.Header.Get("Content-Type"), "application/json") {
		http.Error(w, "bad json", http.StatusBadRequest)
		return
	}
	m.IdempotencyKey = r.Header.Get("Idempotency-Key")
	g.requests = append(g.requests, m)
	w.WriteHeader(http.StatusAccepted)
	_, _ = w.Write([]byte(`{"status":"queued"}`))
}
