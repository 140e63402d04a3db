package notify

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/go-resty/resty/v2"

	"github.com/socialrx/socialrx"
	"github.com/socialrx/socialrx/adapter/internal/oauthcc"
)

// SMSConfig configures SMS: the gateway's URL and bearer token.
type SMSConfig struct {
	// URL receives one POST per text message (https; http on loopback
	// only, for a gateway on the same host).
	URL   string `json:"url"`
	Token string `json:"token"` // sent as Authorization: Bearer <token>
	// From is the sender number or name the gateway should use; "" for
	// the gateway's default.
	From string `json:"from,omitempty"`
	// Timeout bounds one call; default 30s.
	Timeout time.Duration `json:"-"`
}

// Validate reports the first setting that cannot work; it never quotes
// the token.
func (c SMSConfig) Validate() error {
	switch {
	case strings.HasPrefix(c.URL, "https://"):
	case strings.HasPrefix(c.URL, "http://127.0.0.1"), strings.HasPrefix(c.URL, "http://localhost"), strings.HasPrefix(c.URL, "http://[::1]"):
	default:
		return fmt.Errorf("sms: url must be https (http only to 127.0.0.1, localhost or [::1])")
	}
	if c.Token == "" {
		return fmt.Errorf("sms: token is required")
	}
	return nil
}

// SMSRequest is the JSON body socialrx POSTs to the gateway, one text
// message per request:
//
//	POST {url}
//	Authorization: Bearer {token}
//	Idempotency-Key: {id}
//	Content-Type: application/json
//
//	{"id": "<reminder id>", "to": "+15551234567", "from": "<from or omitted>",
//	 "text": "<message with the link>"}
//
// Any 2xx is sent. 408, 429 (Retry-After honoured) and 5xx are retried by
// the job queue with the same id and Idempotency-Key; any other status is
// permanent (the reminder is dead-lettered and becomes a staff call). A
// gateway with another shape needs a small proxy or another adapter.
type SMSRequest struct {
	ID   string `json:"id"`
	To   string `json:"to"`
	From string `json:"from,omitempty"`
	Text string `json:"text"`
}

// SMS sends reminders as text messages through an HTTP gateway.
type SMS struct {
	cfg    SMSConfig
	client *resty.Client
	now    func() time.Time
}

var _ socialrx.Notifier = (*SMS)(nil)

// NewSMS returns the SMS notifier of cfg (which must Validate). resty's own
// retry is off: retries are the job queue's.
func NewSMS(cfg SMSConfig) (*SMS, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 30 * time.Second
	}
	c := resty.New().SetTimeout(cfg.Timeout).SetRetryCount(0).
		SetRedirectPolicy(resty.NoRedirectPolicy()).SetHeader("User-Agent", "socialrx")
	return &SMS{cfg: cfg, client: c, now: time.Now}, nil
}

// maxAnswer bounds what is read of the gateway's answer.
const maxAnswer = 64 << 10

// Send makes one attempt to send r as a text message.
func (s *SMS) Send(ctx context.Context, r socialrx.Reminder) error {
	body, err := json.Marshal(SMSRequest{ID: r.ID, To: r.To, From: s.cfg.From, Text: smsText(r)})
	if err != nil {
		return &socialrx.SendError{Reason: "socialrx: cannot build the text message"}
	}
	resp, err := s.client.R().SetContext(ctx).SetDoNotParseResponse(true).
		SetAuthToken(s.cfg.Token).SetHeader("Idempotency-Key", r.ID).
		SetHeader("Content-Type", "application/json").SetBody(body).Post(s.cfg.URL)
	if resp != nil && resp.RawResponse != nil && resp.RawResponse.Body != nil {
		defer resp.RawResponse.Body.Close()
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.RawResponse.Body, maxAnswer))
	}
	if err != nil {
		return oauthcc.NetworkError(err)
	}
	code := resp.StatusCode()
	// The gateway's words may echo the number or the text: only the
	// status is kept.
	if se := socialrx.DefaultRetryPolicy().StatusError(code, "sms gateway: "+strings.ToLower(http.StatusText(code)),
		resp.Header().Get("Retry-After"), s.now()); se != nil {
		return se
	}
	return nil
}
