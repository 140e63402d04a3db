package workflow

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"time"

	"github.com/socialrx/socialrx"
	"github.com/socialrx/socialrx/fhir"
	"github.com/socialrx/socialrx/mapping"
)

// Platform messages in ($process-messages, adapter/httpapi): ApplyMessage
// applies one eReferral message in one workflow transaction, with the
// platform's origin (socialrx.ActorPerformer from its Endpoint): either
// everything it carries is stored, or, on an error, nothing. A redelivery,
// or an echo of a message socialrx sent, changes nothing (OutboxTx.Inbound).
// The platform's Tasks are applied to socialrx's referrals the same way as
// polled ones (ApplyPlatformTask).

// MessageResult is what applying a message did.
type MessageResult struct {
	// Notes are information and warning issues for the response message
	// (a duplicate, an event socialrx ignores, a resource not stored).
	Notes []fhir.Issue
	// Touched are the ids of the referral Tasks the message changed or
	// was about, for the caller to report their flags.
	Touched []string
}

// ApplyMessage applies msg, from the platform endpointID (authenticated by
// the caller), in one transaction. Errors are EINVALID or EUNPROCESSABLE
// with element paths of the message Bundle.
func (w *Workflow) ApplyMessage(ctx context.Context, endpointID string, msg *mapping.InMessage) (*MessageResult, error) {
	var out *MessageResult
	err := w.Transact(ctx, func(tx *Tx) error {
		out = &MessageResult{}
		tx.SetOrigin(socialrx.Origin{Actor: socialrx.ActorPerformer, EndpointID: endpointID})
		seen, err := tx.Inbound(ctx, endpointID, msg.ID, msg.Event)
		if err != nil {
			return err
		}
		if seen {
			out.Notes = append(out.Notes, info("message "+msg.ID+" was already processed (or is socialrx's own): nothing changed"))
			return nil
		}
		a := applier{tx: tx, msg: msg, now: w.now(), endpointID: endpointID}
		if err := a.apply(ctx); err != nil {
			return err
		}
		out.Notes, out.Touched = a.notes, a.touched
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

func info(msg string) fhir.Issue {
	return fhir.Issue{Severity: socialrx.SeverityInformation, Code: "informational", Message: msg}
}

// applier applies one message in a transaction.
type applier struct {
	tx         *Tx
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
			return ResourceError(issues)
		}
		local, err := a.findReferral(ctx, e)
		if err != nil {
			return err
		}
		if local == nil {
			return unknownReferral(e.Path + ".resource")
		}
		a.touched = append(a.touched, local.ID)
		changed, err := a.tx.ApplyPlatformTask(ctx, local, e.Resource)
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
// (Tx.FindReferral), resolving its focus through the message first.
func (a *applier) findReferral(ctx context.Context, e mapping.InEntry) (*socialrx.Resource, error) {
	return a.tx.FindReferral(ctx, a.endpointID, e.Resource, func(ref string) string {
		if fe, ok := a.msg.Find(ref); ok && fe.Type == "ServiceRequest" && fe.ID != "" {
			if _, err := a.tx.Read(ctx, "ServiceRequest", fe.ID); err == nil {
				return fe.ID
			}
			return InboundID(a.endpointID, "ServiceRequest", fe.ID)
		}
		if typ, id, ok := strings.Cut(ref, "/"); ok && typ == "ServiceRequest" { // id checked below: an invalid one is passed on as it is
			if _, err := a.tx.Read(ctx, "ServiceRequest", id); err == nil || !fhir.ValidID(id) {
				return id
			}
			return InboundID(a.endpointID, "ServiceRequest", id)
		}
		return ""
	})
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
			return ResourceError(issues)
		}
		body, err := linkTo(e.Resource, typ, referral.PrescriptionID, ref.ID)
		if err != nil {
			return prefixIssues(err, e.Path+".resource")
		}
		key := e.ID
		if sys, val := mapping.ResourceIdentifier(typ, e.ID, e.Resource); val != "" {
			key = sys + "|" + val
		}
		id := DerivedID(strings.ToLower(typ[:4])+"-", ref.ID+"|"+key)
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
				if r, err := ReferralTaskOf(ctx, a.tx, e.ID); err != nil || r != nil {
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
	o, err := fhir.ParseObject(body)
	if err != nil {
		return nil, socialrx.Errorf(socialrx.EINVALID, "invalid JSON")
	}
	o.Del("id")
	o.Del("meta")
	ref := func(r string) json.RawMessage {
		b, _ := json.Marshal([]map[string]string{{"reference": r}}) // strings always marshal
		return b
	}
	o.Set("basedOn", ref("ServiceRequest/"+srID))
	if typ == "Communication" {
		o.Set("partOf", ref("Task/"+taskID))
	}
	return o.Bytes(), nil
}

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
