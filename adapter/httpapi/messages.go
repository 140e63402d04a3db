package httpapi

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/labstack/echo/v4"

	"github.com/socialrx/socialrx"
	"github.com/socialrx/socialrx/fhir"
	"github.com/socialrx/socialrx/mapping"
)

// InboundAuth finds the platform Endpoint whose inbound bearer token is
// token (the credentials file's inbound_bearer); ok is false for an
// unknown token. It must compare in constant time.
type InboundAuth func(token string) (endpointID string, ok bool)

// $process-messages (http://hl7.org/fhir/R4/messageheader-operation-process-message.html):
// eReferral messages from platforms, authenticated per Endpoint. The whole
// message is applied in one store transaction with the platform's origin
// (socialrx.ActorPerformer): either everything it carries is stored, or,
// on a 4xx, nothing (workflow.ApplyMessage). The reply is a FHIR response
// message.
//
//	401  no or unknown bearer token
//	400  not a message Bundle, MessageHeader not first, ... (ParseMessage)
//	422  an event socialrx does not know; a Task update for no known referral
//	200  applied; or a duplicate / echo / event socialrx ignores (the
//	     platform must not retry it), with an information issue; an illegal
//	     status change is kept, flagged on the referral, and warned about

func (s *Server) handleProcessMessages(c echo.Context) error {
	r := c.Request()
	epID, ok := s.inboundEndpoint(r)
	if !ok {
		c.Response().Header().Set("WWW-Authenticate", `Bearer realm="socialrx", error="invalid_token"`)
		return errorf(socialrx.EUNAUTHORIZED, "a valid bearer token of a platform Endpoint is required")
	}
	if err := requireJSON(r); err != nil {
		return err
	}
	body, err := s.readBody(c)
	if err != nil {
		return err
	}
	if len(body) == 0 {
		return errorf(socialrx.EINVALID, "request body is empty")
	}
	msg, err := mapping.ParseMessage(body)
	if err != nil {
		return err
	}
	ctx := r.Context()
	var notes []fhir.Issue
	var touched []string // referral Task ids changed, to report flags
	if msg.ResponseTo != "" {
		// A response to a message socialrx sent: the delivery job already
		// read the synchronous answer; nothing to apply.
		notes = append(notes, info("response message acknowledged"))
	} else {
		res, err := s.wf.ApplyMessage(ctx, epID, msg)
		if err != nil {
			return err
		}
		notes, touched = res.Notes, res.Touched
	}
	for _, id := range touched {
		if flag := s.referralFlag(ctx, id); flag != "" {
			notes = append(notes, fhir.Issue{Severity: socialrx.SeverityWarning, Code: "business-rule", Path: "Task/" + id, Message: flag + "; kept and flagged for review"})
		}
	}
	s.log.Info("message processed", "endpoint", epID, "message", msg.ID, "event", string(msg.Event), "request_id", c.Response().Header().Get(echo.HeaderXRequestID))
	resp := mapping.ResponseMessage(mapping.Response{
		ID: uuid.NewString(), RequestID: msg.ID, Code: "ok", Event: msg.Event,
		Source: s.baseURL(r), Destination: msg.SourceEndpoint, Timestamp: time.Now().UTC(),
		Outcome: fhir.OperationOutcome(notes),
	})
	return s.writeFHIR(c, http.StatusOK, resp)
}

func info(msg string) fhir.Issue {
	return fhir.Issue{Severity: socialrx.SeverityInformation, Code: "informational", Message: msg}
}

// inboundEndpoint authenticates the request's bearer token.
func (s *Server) inboundEndpoint(r *http.Request) (string, bool) {
	if s.cfg.InboundAuth == nil {
		return "", false
	}
	h := r.Header.Get("Authorization")
	scheme, tok, ok := strings.Cut(h, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") || strings.TrimSpace(tok) == "" {
		return "", false
	}
	return s.cfg.InboundAuth(strings.TrimSpace(tok))
}

// referralFlag reads the flag of referral Task/id after a message.
func (s *Server) referralFlag(ctx context.Context, id string) string {
	res, err := s.store.Read(ctx, "Task", id)
	if err != nil {
		return ""
	}
	var t struct {
		For struct {
			Reference string `json:"reference"`
		} `json:"for"`
	}
	if json.Unmarshal(res.Body, &t) != nil {
		return ""
	}
	pp, err := s.store.Projection(ctx, strings.TrimPrefix(t.For.Reference, "Patient/"))
	if err != nil {
		return ""
	}
	for _, r := range pp.Referrals {
		if r.ID == id {
			return r.Flag
		}
	}
	return ""
}
