package workflow

import (
	"context"
	"encoding/json"
	"slices"
	"strings"

	"github.com/socialrx/socialrx"
	"github.com/socialrx/socialrx/fhir"
	"github.com/socialrx/socialrx/mapping"
)

// socialrx as the receiving side: a program or navigator that works in
// socialrx gets referrals from a platform (add-service-request) and the
// requester may withdraw them (revoke-service-request). The message's
// resources are stored under ids derived from the sending Endpoint and
// their own ids (inboundID), so a resend or an update lands on the same
// resources and two platforms never collide; references between them are
// rewritten to those ids. A resource the message names that socialrx
// already holds under the same type and id (the program's own
// HealthcareService, say) is used as it is, not copied.
//
// The writes are made as the requester, from the platform (Origin with the
// EndpointID): the referral is marked Incoming, and nothing of it is sent
// back to the platform. socialrx then answers as the program: the referral
// Task moves to received, which goes back to the platform as a
// notify-add-process-request, like every later change staff make to it.

// importOrder is the order message resources are stored in, so that what a
// resource references is there first (a ServiceRequest's performer and
// requester, a Task's focus).
var importOrder = []string{"Organization", "Location", "Practitioner", "PractitionerRole", "HealthcareService",
	"Patient", "Condition", "Observation", "QuestionnaireResponse", "Consent", "ServiceRequest", "Task"}

// addServiceRequest stores a referral sent to socialrx.
func (a *applier) addServiceRequest(ctx context.Context) error {
	srEntry, ok := a.focusEntry("ServiceRequest")
	if !ok {
		return &socialrx.Error{Code: socialrx.EUNPROCESSABLE, Message: "add-service-request must focus a ServiceRequest the message carries",
			Issues: []socialrx.Issue{{Severity: socialrx.SeverityError, Code: "required", Path: "Bundle.entry[0].resource.focus", Message: "no ServiceRequest entry is the focus"}}}
	}
	a.tx.SetOrigin(socialrx.Origin{Actor: socialrx.ActorRequester, EndpointID: a.endpointID})
	local, err := a.importEntries(ctx)
	if err != nil {
		return err
	}
	srID := local[srEntry.Path]
	// The referral Task: the message's own, or one socialrx makes.
	taskRes, err := ReferralTaskOf(ctx, a.tx, srID)
	if err != nil {
		return err
	}
	if taskRes == nil {
		sr, err := a.tx.Read(ctx, "ServiceRequest", srID)
		if err != nil {
			return err
		}
		p, err := mapping.PrescriptionFromServiceRequest(sr.Body, Resolver(ctx, a.tx))
		if err != nil {
			return prefixIssues(err, srEntry.Path+".resource")
		}
		p.ID = srID
		id := DerivedID(inboundPrefix, a.endpointID+"|referral|"+srID)
		if taskRes, err = a.tx.Create(ctx, "Task", id, mapping.ReferralTask(*p, id, string(socialrx.ReferralRequested), a.now)); err != nil {
			return err
		}
	}
	// Answer as the program: received.
	a.tx.SetOrigin(socialrx.Origin{Actor: socialrx.ActorPerformer})
	if _, err := a.tx.updateTask(ctx, taskRes, mapping.TaskStatusUpdate(socialrx.ReferralReceived, "")); err != nil {
		return err
	}
	a.touched = append(a.touched, taskRes.ID)
	a.notes = append(a.notes, info("referral received as Task/"+taskRes.ID+" (ServiceRequest/"+srID+")"))
	return nil
}

// revokeServiceRequest cancels a referral socialrx received: the
// ServiceRequest becomes revoked, the referral Task cancelled.
func (a *applier) revokeServiceRequest(ctx context.Context) error {
	a.tx.SetOrigin(socialrx.Origin{Actor: socialrx.ActorRequester, EndpointID: a.endpointID})
	srID := ""
	for _, f := range a.msg.Focus {
		typ, id := f, ""
		if e, ok := a.msg.Find(f); ok {
			typ, id = e.Type, e.ID
		} else if t, i, ok := strings.Cut(f, "/"); ok {
			typ, id = t, i
		}
		if typ == "ServiceRequest" && id != "" {
			srID = a.localID("ServiceRequest", id, ctx)
			break
		}
	}
	var task *socialrx.Resource
	var err error
	if srID != "" {
		task, err = ReferralTaskOf(ctx, a.tx, srID)
		if err != nil {
			return err
		}
	}
	if task == nil {
		return unknownReferral("Bundle.entry[0].resource.focus")
	}
	if sr, err := a.tx.Read(ctx, "ServiceRequest", srID); err == nil {
		if body, ok := withStatus(sr.Body, "revoked"); ok {
			if _, _, err := a.tx.Update(ctx, "ServiceRequest", srID, body, 0); err != nil {
				return err
			}
		}
	}
	if _, err := a.tx.updateTask(ctx, task, mapping.TaskStatusUpdate(socialrx.ReferralCancelled, "revoked by the requester")); err != nil {
		return err
	}
	a.touched = append(a.touched, task.ID)
	return nil
}

// focusEntry returns the message entry of type typ that MessageHeader.focus
// names.
func (a *applier) focusEntry(typ string) (mapping.InEntry, bool) {
	for _, f := range a.msg.Focus {
		if e, ok := a.msg.Find(f); ok && e.Type == typ {
			return e, true
		}
	}
	return mapping.InEntry{}, false
}

// localID is the id socialrx holds a platform's typ/id under: its own when
// socialrx has that resource (the program's records), else inboundID.
func (a *applier) localID(typ, id string, ctx context.Context) string {
	if fhir.ValidID(id) && (typ == "HealthcareService" || typ == "Organization" || typ == "PractitionerRole" || typ == "Location") {
		if _, err := a.tx.Read(ctx, typ, id); err == nil {
			return id
		}
	}
	return InboundID(a.endpointID, typ, id)
}

// importEntries stores the message's resources (importOrder types; others
// are noted and skipped) under local ids, their references rewritten, and
// returns the local id of each entry by its path.
func (a *applier) importEntries(ctx context.Context) (map[string]string, error) {
	local := map[string]string{}
	keep := map[string]bool{} // entries socialrx already holds (program records)
	for _, e := range a.msg.Entries[1:] {
		key := e.ID
		if key == "" {
			key = e.FullURL
		}
		if key == "" {
			return nil, &socialrx.Error{Code: socialrx.EINVALID, Message: "message entry has no id and no fullUrl",
				Issues: []socialrx.Issue{{Severity: socialrx.SeverityError, Code: "required", Path: e.Path + ".fullUrl", Message: "an entry needs a fullUrl or a resource id to be referenced"}}}
		}
		id := a.localID(e.Type, key, ctx)
		local[e.Path] = id
		keep[e.Path] = id == e.ID && e.ID != "" && !strings.HasPrefix(id, "in-")
	}
	rewrite := func(ref string) (string, bool) {
		if e, ok := a.msg.Find(ref); ok {
			if id, ok := local[e.Path]; ok {
				return e.Type + "/" + id, true
			}
		}
		return "", false
	}
	for _, typ := range importOrder {
		for _, e := range a.msg.OfType(typ) {
			if keep[e.Path] {
				continue
			}
			d, issues := fhir.DecodeAt(e.Resource, typ, e.Path+".resource")
			if fhir.HasErrors(issues) || d == nil {
				return nil, ResourceError(issues)
			}
			body, err := fhir.RewriteReferences(e.Resource, rewrite)
			if err != nil {
				return nil, socialrx.Errorf(socialrx.EINVALID, "invalid JSON in %s", e.Path)
			}
			if _, _, err := a.tx.Update(ctx, typ, local[e.Path], withoutID(body), 0); err != nil {
				return nil, prefixIssues(err, e.Path+".resource")
			}
		}
	}
	for _, e := range a.msg.Entries[1:] {
		if !fhir.Supported(e.Type) || !slices.Contains(importOrder, e.Type) {
			a.notes = append(a.notes, info(e.Path+": "+e.Type+" is not stored from messages"))
		}
	}
	return local, nil
}

// withoutID drops the platform's id and meta from a resource (the store
// sets its own); every other member keeps its bytes and place.
func withoutID(body []byte) []byte {
	o, err := fhir.ParseObject(body)
	if err != nil {
		return body
	}
	hadID, hadMeta := o.Del("id"), o.Del("meta")
	if !hadID && !hadMeta {
		return body
	}
	return o.Bytes()
}

// withStatus returns body with status set (other members kept as they
// are); false when it has that status already or is not a JSON object.
func withStatus(body []byte, status string) ([]byte, bool) {
	o, err := fhir.ParseObject(body)
	if err != nil {
		return nil, false
	}
	want, _ := json.Marshal(status) // strings always marshal
	if cur, ok := o.Get("status"); ok {
		var s string
		if json.Unmarshal(cur, &s) == nil && s == status {
			return nil, false
		}
	}
	o.Set("status", want)
	return o.Bytes(), true
}
