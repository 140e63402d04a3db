package notify

import (
	"context"
	"errors"
	"mime"
	"mime/multipart"
	"net/mail"
	"strings"
	"testing"
	"time"

	"github.com/socialrx/socialrx"
	"github.com/socialrx/socialrx/adapter/notify/notifytest"
)

func reminder(ch socialrx.ContactChannel, to string) socialrx.Reminder {
	return socialrx.Reminder{ID: "3f1c2a4e-0000-5000-8000-000000000001", Channel: ch, To: to, Clinic: "Riverdale Health",
		Link: "https://rx.example.org/p/f/eyJ0.c2ln", Expires: time.Date(2026, 3, 15, 12, 0, 0, 0, time.UTC)}
}

// textOf returns the decoded text parts of a raw email.
func textOf(t *testing.T, raw string) (subject string, parts []string) {
	t.Helper()
	m, err := mail.ReadMessage(strings.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	dec := new(mime.WordDecoder)
	subject, _ = dec.DecodeHeader(m.Header.Get("Subject"))
	_, params, err := mime.ParseMediaType(m.Header.Get("Content-Type"))
	if err != nil {
		t.Fatal(err)
	}
	mr := multipart.NewReader(m.Body, params["boundary"])
	for {
		p, err := mr.NextPart() // decodes quoted-printable
		if err != nil {
			break
		}
		var b strings.Builder
		buf := make([]byte, 4096)
		for {
			n, err := p.Read(buf)
			b.Write(buf[:n])
			if err != nil {
				break
			}
		}
		parts = append(parts, b.String())
	}
	return subject, parts
}

func TestEmailArrives(t *testing.T) {
	srv := notifytest.StartSMTP(t)
	e, err := NewEmail(EmailConfig{Host: srv.Host, Port: srv.Port, From: "Riverdale Health <noreply@riverdale.example>", TLS: TLSNone, Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	r := reminder(socialrx.ContactEmail, "pat@example.org")
	if err := e.Send(t.Context(), r); err != nil {
		t.Fatalf("Send: %v", err)
	}
	m := srv.Wait(t, 1, 5*time.Second)
	if len(m.To) != 1 || m.To[0] != "pat@example.org" || m.From != "noreply@riverdale.example" {
		t.Errorf("envelope from %q to %q, want noreply@riverdale.example to pat@example.org", m.From, m.To)
	}
	if !strings.Contains(m.Data, "Message-ID: <"+r.ID+"@socialrx>") {
		t.Errorf("no stable Message-ID in:\n%s", m.Data)
	}
	subject, parts := textOf(t, m.Data)
	if subject != "A quick question from Riverdale Health" {
		t.Errorf("subject %q", subject)
	}
	if len(parts) != 2 {
		t.Fatalf("%d parts, want text and html", len(parts))
	}
	for i, p := range parts {
		if !strings.Contains(p, r.Link) {
			t.Errorf("part %d has no link:\n%s", i, p)
		}
		if !strings.Contains(p, "Saturday 14 March 2026") {
			t.Errorf("part %d does not say the link's last day:\n%s", i, p)
		}
		// No PHI beyond the address: the text is the same for every
		// patient but for the link.
		for _, phi := range []string{"pat@example.org", "Dear ", "food", "program:"} {
			if strings.Contains(p, phi) {
				t.Errorf("part %d carries %q:\n%s", i, phi, p)
			}
		}
	}
}

func TestEmailFailures(t *testing.T) {
	srv := notifytest.StartSMTP(t)
	e, err := NewEmail(EmailConfig{Host: srv.Host, Port: srv.Port, From: "noreply@riverdale.example", TLS: TLSNone, Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		code      int
		retryable bool
	}{{451, true}, {421, true}, {550, false}, {552, false}} {
		srv.FailNext(tc.code)
		err := e.Send(t.Context(), reminder(socialrx.ContactEmail, "pat@example.org"))
		var se *socialrx.SendError
		if !errors.As(err, &se) || se.Retryable != tc.retryable {
			t.Errorf("SMTP %d: got %v, want a SendError retryable=%v", tc.code, err, tc.retryable)
			continue
		}
		if strings.Contains(se.Error(), "pat@example.org") {
			t.Errorf("SMTP %d: the error names the address: %v", tc.code, se)
		}
	}
	// No server at all: retryable, no address in the reason.
	closed, _ := NewEmail(EmailConfig{Host: "127.0.0.1", Port: 1, From: "noreply@riverdale.example", TLS: TLSNone, Timeout: 2 * time.Second})
	err = closed.Send(t.Context(), reminder(socialrx.ContactEmail, "pat@example.org"))
	var se *socialrx.SendError
	if !errors.As(err, &se) || !se.Retryable || strings.Contains(se.Reason, "pat@") {
		t.Errorf("no server: got %v, want a retryable SendError without the address", err)
	}
	if len(srv.Mails()) != 0 {
		t.Errorf("%d mails accepted, want none", len(srv.Mails()))
	}
}

func TestEmailConfigValidate(t *testing.T) {
	for _, c := range []EmailConfig{
		{From: "a@b.example"},
		{Host: "h", From: "not an address"},
		{Host: "h", From: "a@b.example", TLS: "ssl"},
		{Host: "h", From: "a@b.example", TLS: TLSNone, Username: "u", Password: "hunter2-secret"},
		{Host: "h", From: "a@b.example", Username: "u"},
		{Host: "h", From: "a@b.example", Port: 70000},
	} {
		if err := c.Validate(); err == nil {
			t.Errorf("%+v: valid, want an error", c)
		} else if c.Password != "" && strings.Contains(err.Error(), c.Password) {
			t.Errorf("the error quotes the password: %v", err)
		}
	}
	if err := (EmailConfig{Host: "smtp.example.org", From: "Clinic <a@b.example>", Username: "u", Password: "p"}).Validate(); err != nil {
		t.Errorf("a good config: %v", err)
	}
}

func TestSMS(t *testing.T) {
	g := notifytest.StartSMSGateway(t, "gw-token-0123456789")
	s, err := NewSMS(SMSConfig{URL: g.URL, Token: g.Token, From: "Riverdale", Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	r := reminder(socialrx.ContactText, "+15551234567")
	if err := s.Send(t.Context(), r); err != nil {
		t.Fatalf("Send: %v", err)
	}
	got := g.Requests()
	if len(got) != 1 {
		t.Fatalf("%d requests, want 1", len(got))
	}
	m := got[0]
	if m.To != "+15551234567" || m.ID != r.ID || m.IdempotencyKey != r.ID || m.From != "Riverdale" {
		t.Errorf("request %+v: want to the number, id and Idempotency-Key the reminder's", m)
	}
	if !strings.Contains(m.Text, r.Link) || !strings.HasPrefix(m.Text, "Riverdale Health:") || strings.Contains(m.Text, "+1555") {
		t.Errorf("text %q: want the clinic, the link and nothing of the patient", m.Text)
	}

	for _, tc := range []struct {
		code      int
		retryable bool
	}{{503, true}, {429, true}, {500, true}, {408, true}, {400, false}, {401, false}, {404, false}, {422, false}} {
		g.FailNext(tc.code)
		err := s.Send(t.Context(), r)
		var se *socialrx.SendError
		if !errors.As(err, &se) || se.Retryable != tc.retryable || se.StatusCode != tc.code {
			t.Errorf("gateway %d: got %v, want a SendError status %d retryable=%v", tc.code, err, tc.code, tc.retryable)
		}
	}
	bad, _ := NewSMS(SMSConfig{URL: g.URL, Token: "wrong-token", Timeout: 5 * time.Second})
	var se *socialrx.SendError
	if err := bad.Send(t.Context(), r); !errors.As(err, &se) || se.Retryable || se.StatusCode != 401 {
		t.Errorf("wrong token: %v, want a permanent 401", err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if err := s.Send(ctx, r); !errors.As(err, &se) || !se.Retryable {
		t.Errorf("cancelled: %v, want retryable", err)
	}
}

func TestSMSConfigValidate(t *testing.T) {
	for _, c := range []SMSConfig{{URL: "http://gw.example.org", Token: "t"}, {URL: "https://gw.example.org"}, {URL: "ftp://x", Token: "t"}} {
		if err := c.Validate(); err == nil {
			t.Errorf("%+v: valid, want an error", c)
		}
	}
	if err := (SMSConfig{URL: "https://gw.example.org/send", Token: "t"}).Validate(); err != nil {
		t.Error(err)
	}
}
