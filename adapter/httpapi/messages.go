package httpapi

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/labstack/echo/v4"

	"github.com/socialrx/socialrx"
	"github.com/socialrx/socialrx/adapter/internal/inbound"
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
// on a 4xx, nothing. The reply is a FHIR response message.
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
		err = s.store.Transact(ctx, func(tx socialrx.Tx) error {
			notes, touched = nil, nil
			tx.SetOrigin(socialrx.Origin{Actor: socialrx.ActorPerformer, EndpointID: epID})
			seen, err := tx.Inbound(ctx, epID, msg.ID, msg.Event)
			if err != nil {
				return err
			}
			if seen {
				notes = append(notes, info("message "+msg.ID+" was already processed (or is socialrx's own): nothing changed"))
				return nil
			}
			a := applier{tx: tx, msg: msg, now: time.Now().UTC(), endpointID: epID}
			if err := a.apply(ctx); err != nil {
				return err
			}
			notes, touched = a.notes, a.touched
			return nil
		})
		if err != nil {
			return err
		}
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

// applier applies one message in a transaction.
type applier struct {
	tx         socialrx.Tx
	endpointID string
	msg        *mapping.InMessage
	now        time.Time
	notes      []fhir.Issue
	touched    []string
}

func (a *applier) apply(ctx context.Context) error {
	switch a.msg.Event {
	case socialrx.EventNotifyAddProcessRequest, socialrx.EventNotifyUpdateProcessRequest:
		return a.taskUpdates(ctx)
	case socialrx.EventNotifyAddAppointment:
		return a.linked(ctx, "Appointment")
	case socialrx.EventCommunicationFromProvider:
		return a.linked(ctx, "Communication")
	case socialrx.EventAddServiceRequest:
		return a.addServiceRequest(ctx)
	case socialrx.EventRevokeServiceRequest:
		return a.revokeServiceRequest(ctx)
	}
	a.notes = append(a.notes, info("event "+string(a.msg.Event)+" is not acted on by socialrx: acknowledged, nothing stored"))
	return nil
}

// unknownReferral is the 422 for a message about no referral socialrx has.
func unknownReferral(path string) error {
	return &socialrx.Error{Code: socialrx.EUNPROCESSABLE, Message: "the message is about no referral socialrx knows",
		Issues: []socialrx.Issue{{Severity: socialrx.SeverityError, Code: "not-found", Path: path, Message: "no referral Task matches this Task's id, identifier or focus"}}}
}

// taskUpdates applies each Task of the message to its local referral.
func (a *applier) taskUpdates(ctx context.Context) error {
	tasks := a.msg.OfType("Task")
	if len(tasks) == 0 {
		return &socialrx.Error{Code: socialrx.EUNPROCESSABLE, Message: "the message carries no Task",
			Issues: []socialrx.Issue{{Severity: socialrx.SeverityError, Code: "required", Path: "Bundle.entry", Message: "a " + string(a.msg.Event) + " message must carry the Task"}}}
	}
	for _, e := range tasks {
		// The platform's Task is checked as a REST write would be: its
		// status, reason and output are copied into the local Task.
		if d, issues := fhir.DecodeAt(e.Resource, "Task", e.Path+".resource"); fhir.HasErrors(issues) || d == nil {
			return decodeError(issues)
		}
		local, err := a.findReferral(ctx, e)
		if err != nil {
			return err
		}
		if local == nil {
			return unknownReferral(e.Path + ".resource")
		}
		a.touched = append(a.touched, local.ID)
		changed, err := inbound.ApplyTask(ctx, a.tx, local, e.Resource, a.now)
		if err != nil {
			return prefixIssues(err, e.Path+".resource")
		}
		if !changed {
			a.notes = append(a.notes, info("Task/"+local.ID+" already has this status: nothing changed"))
		}
	}
	return nil
}

// findReferral finds the local referral Task a message's Task is about
// (inbound.FindReferral), resolving its focus through the message first.
func (a *applier) findReferral(ctx context.Context, e mapping.InEntry) (*socialrx.Resource, error) {
	return inbound.FindReferral(ctx, a.tx, a.endpointID, e.Resource, func(ref string) string {
		if fe, ok := a.msg.Find(ref); ok && fe.Type == "ServiceRequest" && fe.ID != "" {
			if _, err := a.tx.Read(ctx, "ServiceRequest", fe.ID); err == nil {
				return fe.ID
			}
			return inbound.ID(a.endpointID, "ServiceRequest", fe.ID)
		}
		if typ, id, ok := strings.Cut(ref, "/"); ok && typ == "ServiceRequest" {
			if _, err := a.tx.Read(ctx, "ServiceRequest", id); err == nil || !fhir.ValidID(id) {
				return id
			}
			return inbound.ID(a.endpointID, "ServiceRequest", id)
		}
		return ""
	})
}

func (a *applier) searchOne(ctx context.Context, typ string, q url.Values) (*socialrx.Resource, error) {
	return inbound.SearchOne(ctx, a.tx, typ, q)
}

// linked stores the Appointments or Communications of the message, each
// linked to the referral the message is about (MessageHeader.focus, or the
// resource's own basedOn/partOf), under an id derived from the sending
// Endpoint and the resource's identifier (or id), so a later message about
// the same appointment updates it.
func (a *applier) linked(ctx context.Context, typ string) error {
	entries := a.msg.OfType(typ)
	if len(entries) == 0 {
		return &socialrx.Error{Code: socialrx.EUNPROCESSABLE, Message: "the message carries no " + typ,
			Issues: []socialrx.Issue{{Severity: socialrx.SeverityError, Code: "required", Path: "Bundle.entry", Message: "a " + string(a.msg.Event) + " message must carry the " + typ}}}
	}
	ref, err := a.focusReferral(ctx)
	if err != nil {
		return err
	}
	if ref == nil {
		return unknownReferral("Bundle.entry[0].resource.focus")
	}
	referral, _, err := mapping.ReferralFromTask(ref.Body)
	if err != nil || referral == nil {
		return unknownReferral("Bundle.entry[0].resource.focus")
	}
	for _, e := range entries {
		d, issues := fhir.DecodeAt(e.Resource, typ, e.Path+".resource")
		if fhir.HasErrors(issues) || d == nil {
			return decodeError(issues)
		}
		body, err := linkTo(e.Resource, typ, referral.PrescriptionID, ref.ID)
		if err != nil {
			return prefixIssues(err, e.Path+".resource")
		}
		key := e.ID
		if sys, val := mapping.ResourceIdentifier(typ, e.ID, e.Resource); val != "" {
			key = sys + "|" + val
		}
		id := derivedID(strings.ToLower(typ[:4])+"-", ref.ID+"|"+key)
		if _, _, err := a.tx.Update(ctx, typ, id, body, 0); err != nil {
			return prefixIssues(err, e.Path+".resource")
		}
		a.touched = append(a.touched, ref.ID)
	}
	return nil
}

// focusReferral finds the referral Task a message is about from
// MessageHeader.focus (a Task or a ServiceRequest), or from a Task entry.
func (a *applier) focusReferral(ctx context.Context) (*socialrx.Resource, error) {
	for _, f := range a.msg.Focus {
		e, ok := a.msg.Find(f)
		if !ok {
			typ, id, _ := strings.Cut(f, "/")
			stub, _ := json.Marshal(map[string]string{"resourceType": typ, "id": id})
			e = mapping.InEntry{Type: typ, ID: id, Resource: stub}
		}
		switch e.Type {
		case "Task":
			if r, err := a.findReferral(ctx, e); err != nil || r != nil {
				return r, err
			}
		case "ServiceRequest":
			if e.ID != "" && fhir.ValidID(e.ID) {
				if r, err := a.searchOne(ctx, "Task", url.Values{"focus": {"ServiceRequest/" + e.ID}, "code": {"http://hl7.org/fhir/CodeSystem/task-code|fulfill"}}); err != nil || r != nil {
					return r, err
				}
			}
		}
	}
	for _, e := range a.msg.OfType("Task") {
		if r, err := a.findReferral(ctx, e); err != nil || r != nil {
			return r, err
		}
	}
	return nil, nil
}

// linkTo returns body with basedOn ServiceRequest/srID (Appointment) or
// basedOn ServiceRequest/srID and partOf Task/taskID (Communication) set, so
// socialrx links it to the referral whatever references the platform used.
func linkTo(body []byte, typ, srID, taskID string) ([]byte, error) {
	var doc map[string]json.RawMessage
	if err := json.Unmarshal(body, &doc); err != nil {
		return nil, errorf(socialrx.EINVALID, "invalid JSON")
	}
	delete(doc, "id")
	delete(doc, "meta")
	doc["basedOn"], _ = json.Marshal([]map[string]string{{"reference": "ServiceRequest/" + srID}})
	if typ == "Communication" {
		doc["partOf"], _ = json.Marshal([]map[string]string{{"reference": "Task/" + taskID}})
	}
	return marshal(doc)
}

// derivedID is prefix + 40 hex digits of SHA-256(key): a valid FHIR id.
func derivedID(prefix, key string) string { return inbound.DerivedID(prefix, key) }

// prefixIssues puts path in front of the issue paths of err that are
// relative to the resource ("Task.status" → "Bundle.entry[1].resource.status").
func prefixIssues(err error, path string) error {
	var se *socialrx.Error
	if !errors.As(err, &se) {
		return err
	}
	out := &socialrx.Error{Code: se.Code, Message: se.Message}
	for _, is := range se.Issues {
		if _, rest, ok := strings.Cut(is.Path, "."); ok && !strings.HasPrefix(is.Path, "Bundle") {
			is.Path = path + "." + rest
		} else if is.Path == "" || !strings.HasPrefix(is.Path, "Bundle") {
			is.Path = path
		}
		out.Issues = append(out.Issues, is)
	}
	return out
}
