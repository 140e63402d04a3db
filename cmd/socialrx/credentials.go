package main

import (
	"bytes"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/socialrx/socialrx"
)

// CredentialsFile is the credentials file (--credentials, SOCIALRX_CREDENTIALS):
// the secrets of the Endpoints socialrx talks to, keyed by Endpoint id, never
// kept in FHIR resources:
//
//	{"endpoints": {"ocean-east": {"token_url": "https://host/svc/oauth2/token",
//	  "client_id": "...", "client_secret": "...", "inbound_bearer": "..."}}}
//
// token_url, client_id and client_secret get an OAuth2 client-credentials
// token for socialrx's calls to that Endpoint (none: calls carry no
// Authorization); inbound_bearer is the token that platform presents when it
// calls socialrx's $process-messages. The default EMR (--emr-endpoint) is
// keyed "default-emr".
type CredentialsFile struct {
	Endpoints map[string]socialrx.Credentials `json:"endpoints"`
	// Notifiers configure reminders to patients (reach.go).
	Notifiers *NotifiersConfig `json:"notifiers,omitempty"`
}

var _ socialrx.CredentialSource = (*CredentialsFile)(nil)

// LoadCredentials reads and checks a credentials file. The error never
// quotes the file's contents.
func LoadCredentials(path string) (*CredentialsFile, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("credentials file: %w", err)
	}
	var f CredentialsFile
	dec := json.NewDecoder(bytesReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&f); err != nil {
		return nil, fmt.Errorf("credentials file %s: not the expected JSON ({\"endpoints\": {\"<Endpoint id>\": {...}}}): %s", path, jsonErrorWhere(err))
	}
	if err := f.Notifiers.Validate(); err != nil {
		return nil, fmt.Errorf("credentials file %s: %w", path, err)
	}
	seen := map[string]string{}
	for id, c := range f.Endpoints {
		if c.TokenURL != "" && (c.ClientID == "" || c.ClientSecret == "") {
			return nil, fmt.Errorf("credentials file %s: endpoint %q has a token_url but no client_id or client_secret", path, id)
		}
		if c.InboundBearer != "" {
			if len(c.InboundBearer) < 16 {
				return nil, fmt.Errorf("credentials file %s: endpoint %q: inbound_bearer must be at least 16 characters", path, id)
			}
			if other, dup := seen[c.InboundBearer]; dup {
				return nil, fmt.Errorf("credentials file %s: endpoints %q and %q share an inbound_bearer", path, other, id)
			}
			seen[c.InboundBearer] = id
		}
	}
	return &f, nil
}

// Credentials returns the credentials of an Endpoint.
func (f *CredentialsFile) Credentials(endpointID string) (socialrx.Credentials, bool) {
	if f == nil {
		return socialrx.Credentials{}, false
	}
	c, ok := f.Endpoints[endpointID]
	return c, ok
}

// InboundEndpoint returns the Endpoint whose inbound_bearer is token,
// comparing every entry in constant time.
func (f *CredentialsFile) InboundEndpoint(token string) (string, bool) {
	if f == nil || token == "" {
		return "", false
	}
	found := ""
	for id, c := range f.Endpoints {
		if c.InboundBearer != "" && subtle.ConstantTimeCompare([]byte(c.InboundBearer), []byte(token)) == 1 {
			found = id
		}
	}
	return found, found != ""
}

// jsonErrorWhere describes a JSON error by position only (no content).
func jsonErrorWhere(err error) string {
	switch e := err.(type) {
	case *json.SyntaxError:
		return fmt.Sprintf("syntax error at byte %d", e.Offset)
	case *json.UnmarshalTypeError:
		return fmt.Sprintf("wrong type for %s at byte %d", e.Field, e.Offset)
	}
	if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
		return "the JSON ends too early"
	}
	// Unknown members: encoding/json names the member, never a value.
	if msg := err.Error(); strings.HasPrefix(msg, "json: unknown field ") {
		return strings.TrimPrefix(msg, "json: ")
	}
	return "unreadable"
}

func bytesReader(b []byte) *bytes.Reader { return bytes.NewReader(b) }
