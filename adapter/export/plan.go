// Package export is socialrx's Bulk Data export (FHIR Bulk Data Access
// 2.0, $export) and the `socialrx export` command's engine: it writes the
// resources an export selects as NDJSON, one file per type, read from the
// store in id order in bounded batches (socialrx.Exports.StreamResources),
// so memory does not grow with the data.
//
// Like adapter/workflow it is an application layer, not an adapter of a
// technology: adapter/jobs runs it as a durable River job (Runner: time
// slices with checkpoints in the store, so a restarted process resumes
// where the last checkpoint left off) and cmd/socialrx calls Write for the
// command line. It imports the root, fhir, fhir/search and mapping, and no
// other adapter.
package export

import (
	"context"
	"slices"
	"time"

	"github.com/socialrx/socialrx"
	"github.com/socialrx/socialrx/fhir"
	"github.com/socialrx/socialrx/fhir/search"
	"github.com/socialrx/socialrx/mapping"
)

// compartmentParams are the reference search parameters that put a
// resource in a patient's compartment, when the type has one of them with
// Patient among its targets: the resource is *about* the patient
// (Observation.subject, Task.for as Task's patient, Consent.patient,
// Appointment's patient participant, Provenance.patient, ...). References
// *by* the patient or to the patient as an actor (performer, author,
// requester, recipient, sender) do not count. The R4 CompartmentDefinition
// "patient" lists more parameters; this narrower rule exports a
// patient's record without other patients' resources that merely mention
// them.
var compartmentParams = []string{"patient", "subject", "beneficiary"}

// CompartmentParams returns the parameters of typ that place its resources
// in a patient's compartment (see compartmentParams), nil when typ has
// none (it is not exported at Patient or Group level), and nil for Patient
// itself (a Patient is in its own compartment by id).
func CompartmentParams(typ string) []string {
	var out []string
	for _, p := range search.SearchParams(typ) {
		if p.Type == search.ParamReference && slices.Contains(compartmentParams, p.Name) && slices.Contains(p.Targets, "Patient") {
			out = append(out, p.Name)
		}
	}
	return out
}

// InCompartment reports whether resources of typ can be in a patient's
// compartment: Patient, and the types with a compartment parameter.
func InCompartment(typ string) bool {
	return typ == "Patient" || CompartmentParams(typ) != nil
}

// Types returns the resource types an export of level may write, sorted:
// every held type at system level, the compartment types at patient and
// group level.
func Types(level string) []string {
	// The audit trail is never exported (README, "Audit").
	all := slices.DeleteFunc(fhir.SupportedTypes(), func(t string) bool { return t == "AuditEvent" })
	if level == socialrx.ExportSystem {
		return all
	}
	return slices.DeleteFunc(all, func(t string) bool { return !InCompartment(t) })
}

// Request returns the stream of typ in job: its _since, its
// transactionTime as the upper bound, and at patient or group level the
// compartment of every patient (members nil) or of the group's members.
func Request(job *socialrx.ExportJob, typ string, members []string) socialrx.StreamRequest {
	req := socialrx.StreamRequest{Type: typ, Since: job.Since, Until: job.TransactionTime}
	switch job.Level {
	case socialrx.ExportSystem:
		return req
	case socialrx.ExportGroup:
		if members == nil {
			members = []string{}
		}
		if typ == "Patient" {
			req.IDs = members
			return req
		}
		req.RefIDs = members
	}
	if typ != "Patient" {
		req.RefParams, req.RefType = CompartmentParams(typ), "Patient"
		if req.RefParams == nil {
			req.RefParams = []string{} // selects nothing
		}
	}
	return req
}

// GroupMembers returns the ids of the Patient members of Group/groupID as
// the Group stood at instant at (an export's transactionTime): the version
// current then, so an export's slices all see one membership however the
// Group changes while it runs. Members are read by mapping.GroupMembersAt
// (inactive members and those whose period does not cover at are left
// out; members that are not Patients too: the kick-off refuses a Group
// with such members). ENOTFOUND when the Group did not exist at at, EGONE
// when it was deleted then; EINVALID when it has more than
// socialrx.MaxStreamIDs patient members.
func GroupMembers(ctx context.Context, store socialrx.Resources, groupID string, at time.Time) ([]string, error) {
	g, err := groupAt(ctx, store, groupID, at)
	if err != nil {
		return nil, err
	}
	m, err := mapping.GroupMembersAt(g.Body, at)
	if err != nil {
		return nil, socialrx.Errorf(socialrx.EINTERNAL, "Group/%s: unreadable", groupID)
	}
	if len(m.Patients) > socialrx.MaxStreamIDs {
		return nil, socialrx.Errorf(socialrx.EINVALID, "Group/%s has %d patient members; an export takes at most %d", groupID, len(m.Patients), socialrx.MaxStreamIDs)
	}
	return m.Patients, nil
}

// groupAt returns the version of Group/id current at instant at: the
// current one when it is not newer, else the newest older one in the
// history.
func groupAt(ctx context.Context, store socialrx.Resources, id string, at time.Time) (*socialrx.Resource, error) {
	g, err := store.Read(ctx, "Group", id)
	if err == nil && !g.LastUpdated.After(at) {
		return g, nil
	}
	if err != nil && socialrx.ErrorCode(err) != socialrx.EGONE {
		return nil, err
	}
	req := socialrx.HistoryRequest{Type: "Group", ID: id, Count: 100}
	for {
		page, err := store.History(ctx, req)
		if err != nil {
			return nil, err
		}
		for i := range page.Versions { // newest first
			v := &page.Versions[i]
			if v.LastUpdated.After(at) {
				continue
			}
			if v.Deleted {
				return nil, socialrx.Errorf(socialrx.EGONE, "Group/%s was deleted", id)
			}
			return v, nil
		}
		if page.Next == "" {
			return nil, socialrx.Errorf(socialrx.ENOTFOUND, "Group/%s not found", id)
		}
		req.Cursor = page.Next
	}
}
