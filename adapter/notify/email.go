package notify

import (
	"context"
	"errors"
	"fmt"
	"net/mail"
	"strings"
	"time"

	gomail "github.com/wneessen/go-mail"

	"github.com/socialrx/socialrx"
	"github.com/socialrx/socialrx/adapter/internal/oauthcc"
)

// SMTP TLS modes (EmailConfig.TLS).
const (
	TLSStartTLS = "starttls" // STARTTLS required (the default; port 587)
	TLSImplicit = "tls"      // TLS from the first byte (port 465)
	TLSNone     = "none"     // plaintext: a relay on the same host or network only; no password is sent
)

// EmailConfig configures Email: the SMTP server, its login, the sender.
type EmailConfig struct {
	Host     string `json:"host"`
	Port     int    `json:"port"` // default 587 (465 for TLSImplicit, 25 for TLSNone)
	Username string `json:"username"`
	Password string `json:"password"`
	From     string `json:"from"` // "Riverdale Health <noreply@riverdale.example>"
	TLS      string `json:"tls"`  // starttls (default), tls, none
	// Timeout bounds one send (connect, dialogue, data); default 30s.
	Timeout time.Duration `json:"-"`
}

// Validate reports the first setting that cannot work; it never quotes
// the password.
func (c EmailConfig) Validate() error {
	if c.Host == "" {
		return fmt.Errorf("smtp: host is required")
	}
	if c.Port < 0 || c.Port > 65535 {
		return fmt.Errorf("smtp: port %d is not a TCP port", c.Port)
	}
	if _, err := mail.ParseAddress(c.From); err != nil {
		return fmt.Errorf("smtp: from is not an email address (name <address> or address)")
	}
	switch c.TLS {
	case "", TLSStartTLS, TLSImplicit:
	case TLSNone:
		if c.Username != "" || c.Password != "" {
			return fmt.Errorf("smtp: tls none with a username or password: the password would cross the network in clear")
		}
	default:
		return fmt.Errorf("smtp: tls %q: want starttls, tls or none", c.TLS)
	}
	if (c.Username == "") != (c.Password == "") {
		return fmt.Errorf("smtp: username and password go together")
	}
	return nil
}

// Email sends reminders by email over SMTP (go-mail), one connection per
// message (reminders are few; a pool would hold idle connections most of
// the day).
type Email struct {
	cfg EmailConfig
}

var _ socialrx.Notifier = (*Email)(nil)

// NewEmail returns the email notifier of cfg (which must Validate).
func NewEmail(cfg EmailConfig) (*Email, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.TLS == "" {
		cfg.TLS = TLSStartTLS
	}
	if cfg.Port == 0 {
		cfg.Port = map[string]int{TLSStartTLS: 587, TLSImplicit: 465, TLSNone: 25}[cfg.TLS]
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 30 * time.Second
	}
	return &Email{cfg: cfg}, nil
}

// Send makes one attempt to send r by email. The message has a plain-text
// body and an HTML alternative, Message-ID <r.ID@socialrx> (a retry sends
// the same id), and no tracking of any kind.
func (e *Email) Send(ctx context.Context, r socialrx.Reminder) error {
	msg := gomail.NewMsg(gomail.WithNoDefaultUserAgent())
	if err := msg.From(e.cfg.From); err != nil {
		return &socialrx.SendError{Reason: "socialrx: smtp from address refused"}
	}
	if err := msg.To(r.To); err != nil {
		return &socialrx.SendError{Reason: "socialrx: the patient's email address is not valid"}
	}
	msg.Subject(subject(r))
	msg.SetMessageIDWithValue(r.ID + "@socialrx")
	msg.SetDate()
	msg.SetBodyString(gomail.TypeTextPlain, emailText(r))
	html, err := emailHTML(r)
	if err != nil {
		return &socialrx.SendError{Reason: "socialrx: cannot build the email"}
	}
	msg.AddAlternativeString(gomail.TypeTextHTML, html)

	opts := []gomail.Option{gomail.WithPort(e.cfg.Port), gomail.WithTimeout(e.cfg.Timeout)}
	switch e.cfg.TLS {
	case TLSImplicit:
		opts = append(opts, gomail.WithSSL())
	case TLSNone:
		opts = append(opts, gomail.WithTLSPolicy(gomail.NoTLS))
	default:
		opts = append(opts, gomail.WithTLSPolicy(gomail.TLSMandatory))
	}
	if e.cfg.Username != "" {
		opts = append(opts, gomail.WithSMTPAuth(gomail.SMTPAuthPlain), gomail.WithUsername(e.cfg.Username), gomail.WithPassword(e.cfg.Password))
	}
	c, err := gomail.NewClient(e.cfg.Host, opts...)
	if err != nil {
		return &socialrx.SendError{Reason: "socialrx: smtp client: " + err.Error()}
	}
	ctx, cancel := context.WithTimeout(ctx, e.cfg.Timeout)
	defer cancel()
	return classifySMTP(c.DialAndSendWithContext(ctx, msg))
}

// classifySMTP turns a go-mail error into a *socialrx.SendError: a 4xx SMTP
// reply is retryable, a 5xx permanent (a mailbox that does not exist, a
// refused login), no reply (network, timeout, TLS) retryable. The reason
// names the reply code and enhanced status only: a server's text may
// quote the address.
func classifySMTP(err error) error {
	if err == nil {
		return nil
	}
	var se *gomail.SendError
	if errors.As(err, &se) && se.ErrorCode() != 0 {
		reason := fmt.Sprintf("smtp %d", se.ErrorCode())
		if es := se.EnhancedStatusCode(); es != "" {
			reason += " " + es
		}
		return &socialrx.SendError{Retryable: se.ErrorCode() < 500, Reason: reason}
	}
	if code := replyCode(err); code != 0 {
		return &socialrx.SendError{Retryable: code < 500, Reason: fmt.Sprintf("smtp %d", code)}
	}
	if errors.As(err, &se) && !se.IsTemp() && strings.Contains(err.Error(), "auth") {
		return &socialrx.SendError{Reason: "smtp authentication failed"}
	}
	return oauthcc.NetworkError(err)
}

// replyCode finds an SMTP reply code (net/textproto style "535 ..." or
// go-smtp's "SMTP error 550") in an error that carries one, else 0.
func replyCode(err error) int {
	type coded interface{ ErrorCode() int }
	for e := err; e != nil; e = errors.Unwrap(e) {
		if c, ok := e.(coded); ok && c.ErrorCode() != 0 {
			return c.ErrorCode()
		}
	}
	return 0
}
