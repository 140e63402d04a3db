package main

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"

	"github.com/socialrx/socialrx"
	"github.com/socialrx/socialrx/adapter/notify"
	"github.com/socialrx/socialrx/adapter/patientform"
	"github.com/socialrx/socialrx/adapter/workflow"
)

// NotifiersConfig is the "notifiers" section of the credentials file:
// how reminders reach patients (README "Reaching the patient").
//
//	"notifiers": {
//	  "smtp": {"host": "smtp.example.org", "port": 587, "username": "...",
//	           "password": "...", "from": "Riverdale Health <noreply@riverdale.example>",
//	           "tls": "starttls"},
//	  "sms": {"url": "https://sms.example.org/messages", "token": "...", "from": "Riverdale"},
//	  "form_url": "https://rx.riverdale.example/p/f/",
//	  "clinic_name": "Riverdale Health"}
//
// Without smtp no reminder goes by email, without sms none by text (the
// next channel is used, down to a staff call). form_url is the public
// address of the patient form the links point to; by default --base-url
// without /fhir, then /p/f/ (or this server's own address, which only a
// patient on the same machine could open).
type NotifiersConfig struct {
	SMTP       *notify.EmailConfig `json:"smtp,omitempty"`
	SMS        *notify.SMSConfig   `json:"sms,omitempty"`
	FormURL    string              `json:"form_url,omitempty"`
	ClinicName string              `json:"clinic_name,omitempty"`
}

// Validate checks the section; errors never quote a secret.
func (n *NotifiersConfig) Validate() error {
	if n == nil {
		return nil
	}
	if n.SMTP != nil {
		if err := n.SMTP.Validate(); err != nil {
			return err
		}
	}
	if n.SMS != nil {
		if err := n.SMS.Validate(); err != nil {
			return err
		}
	}
	if n.FormURL != "" && !strings.HasPrefix(n.FormURL, "https://") && !strings.HasPrefix(n.FormURL, "http://") {
		return fmt.Errorf("notifiers: form_url must be an absolute http(s) URL")
	}
	return nil
}

// reach is what reaching the patient needs, built once by Main.Run.
type reach struct {
	opts      workflow.ReachOptions
	notifiers map[socialrx.ContactChannel]socialrx.Notifier
}

// newReach loads the link key (making it on first start) and the
// notifiers of creds.
func newReach(cfg Config, creds *CredentialsFile, selfURL string, log *slog.Logger) (*reach, error) {
	key, err := loadLinkKey(cfg.LinkKey())
	if err != nil {
		return nil, err
	}
	var n NotifiersConfig
	if creds != nil && creds.Notifiers != nil {
		n = *creds.Notifiers
	}
	r := &reach{notifiers: map[socialrx.ContactChannel]socialrx.Notifier{}}
	r.opts = workflow.ReachOptions{Auto: map[socialrx.ContactChannel]bool{}, LinkKey: key, LinkTTL: cfg.LinkTTL,
		EscalateAfter: cfg.FollowUpEscalateAfter, Clinic: n.ClinicName, FormURL: n.FormURL}
	if r.opts.FormURL == "" {
		if cfg.BaseURL != "" {
			r.opts.FormURL = strings.TrimSuffix(strings.TrimRight(cfg.BaseURL, "/"), "/fhir") + "/p/f/"
		} else {
			r.opts.FormURL = selfURL + "/p/f/"
			log.Warn("reminder links point to this server's own address: set --base-url or notifiers.form_url in the credentials file to the address patients can reach")
		}
	}
	if n.SMTP != nil {
		c := *n.SMTP
		c.Timeout = cfg.HTTPTimeout
		e, err := notify.NewEmail(c)
		if err != nil {
			return nil, err
		}
		r.notifiers[socialrx.ContactEmail], r.opts.Auto[socialrx.ContactEmail] = e, true
	}
	if n.SMS != nil {
		c := *n.SMS
		c.Timeout = cfg.HTTPTimeout
		s, err := notify.NewSMS(c)
		if err != nil {
			return nil, err
		}
		r.notifiers[socialrx.ContactText], r.opts.Auto[socialrx.ContactText] = s, true
	}
	return r, nil
}

// formHandler is the patient form (adapter/patientform) over wf.
func (r *reach) formHandler(wf *workflow.Workflow, log *slog.Logger) http.Handler {
	return patientform.New(patientform.Config{Workflow: wf, LinkKey: r.opts.LinkKey, Clinic: r.opts.Clinic, Logger: log})
}

// withForm serves the patient form's routes (/p/...) beside api. It routes
// by prefix, path as sent: an http.ServeMux would answer a path it cleans
// (/fhir//Patient, /fhir/./x) with a redirect and an HTML body, where the
// API answers every error with an OperationOutcome.
func withForm(api, form http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, "/p/") {
			form.ServeHTTP(w, r)
			return
		}
		api.ServeHTTP(w, r)
	})
}

// linkKeyBytes is the size of a new link key.
const linkKeyBytes = 32

// loadLinkKey reads the link signing key (hex) from path, or makes one
// (32 random bytes, mode 0600) when the file does not exist. Two processes
// starting at once agree: the file is created exclusively, and the loser
// reads the winner's.
func loadLinkKey(path string) ([]byte, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
			return nil, fmt.Errorf("link key file: %w", err)
		}
		key := make([]byte, linkKeyBytes)
		_, _ = rand.Read(key)
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if errors.Is(err, fs.ErrExist) {
			return loadLinkKey(path)
		} else if err != nil {
			return nil, fmt.Errorf("link key file: %w", err)
		}
		_, werr := f.WriteString(hex.EncodeToString(key) + "\n")
		if cerr := f.Close(); werr == nil {
			werr = cerr
		}
		if werr != nil {
			return nil, fmt.Errorf("link key file: %w", werr)
		}
		return key, nil
	} else if err != nil {
		return nil, fmt.Errorf("link key file: %w", err)
	}
	key, err := hex.DecodeString(strings.TrimSpace(string(b)))
	if err != nil || len(key) < linkKeyBytes {
		return nil, fmt.Errorf("link key file %s: want at least %d bytes as hex (delete it to make a new one; links already sent stop working)", path, linkKeyBytes)
	}
	return key, nil
}
