package workflow

import (
	"bytes"
	"context"
	"encoding/json"
	"net/url"
	"reflect"
	"strings"
	"time"

	"github.com/socialrx/socialrx"
	"github.com/socialrx/socialrx/mapping"
)

// An answered follow-up (docs/architecture.md, "Follow-up outcome"): a
// QuestionnaireResponse to the shipped follow-up Questionnaire, from the
// patient's form or from staff over FHIR (REST or a Bundle entry), is
// checked before it is stored and, when completed or amended, becomes an
// Outcome in the same transaction:
//
//	QuestionnaireResponse (questionnaire = socialrx.FollowUpQuestionnaire)
//	  prepare: mapping.ReadFollowUpResponse (the Questionnaire's rules),
//	           basedOn a social prescription socialrx holds, same Patient
//	           ── broken: 422, nothing stored
//	  store, findings, the follow-up result row (the program report's)
//	  outcome (socialrx.DecideOutcome), socialrx's own writes (ActorSystem):
//	    Observations ob-…        pursued (+ barriers), satisfaction,
//	                             well-being, UCLA-3 total, PROMIS raw scores
//	    follow-up Task fu-…      completed, output = the response
//	    Goal                     the ServiceRequest's pertainsToGoal Goals,
//	                             else socialrx's gl-… for the prescription
//	    ServiceRequest alt-…     try-alternative: a draft proposal replacing
//	                             the prescription, program from the directory
//	    Task fh-…                more-help: a staff Task
//	    Communication fs-…       the chart summary
//	  outbox: the response and the summary written back to the EMR
//	          (WriteBackEMR), in that order
//
// Every id is derived from the outcome's key (outcomeKey) and what it
// stands for, and every write is skipped when its content would not
// change, so a resend, a retry or the same response posted again (the
// same identifier) neither doubles nor rewrites anything.

// Prefixes of the ids an outcome derives (see ids.go).
const (
	outcomeObsPrefix   = "ob-" // an Observation of the outcome, per kind
	goalPrefix         = "gl-" // the Goal socialrx keeps for a prescription
	alternativePrefix  = "alt-"
	helpTaskPrefix     = "fh-"
	summaryPrefix      = "fs-"
	needDomainCategory = socialrx.CodeSystemBase + "need-domain"
)

// GoalID returns the id of the Goal socialrx keeps for the prescription
// held by ServiceRequest/srID (when its ServiceRequest names none).
func GoalID(srID string) string { return DerivedID(goalPrefix, srID) }

// outcomeKey identifies an answered follow-up: the response's identifier
// when it has one (so the same response posted again under another id is
// the same outcome), else the response itself.
func outcomeKey(qrID string, r *mapping.FollowUpResponse) string {
	if r.IdentifierSystem != "" {
		return r.IdentifierSystem + "|" + r.IdentifierValue
	}
	return "QuestionnaireResponse/" + qrID
}

// OutcomeIDs are the ids an outcome with key gives its resources.
type OutcomeIDs struct{ key string }

// Observation returns the id of the outcome's Observation of kind.
func (o OutcomeIDs) Observation(kind string) string {
	return DerivedID(outcomeObsPrefix, o.key+"|"+kind)
}

// Alternative returns the id of the draft alternative ServiceRequest.
func (o OutcomeIDs) Alternative() string { return DerivedID(alternativePrefix, o.key) }

// HelpTask returns the id of the more-help Task.
func (o OutcomeIDs) HelpTask() string { return DerivedID(helpTaskPrefix, o.key) }

// Summary returns the id of the summary Communication.
func (o OutcomeIDs) Summary() string { return DerivedID(summaryPrefix, o.key) }

// OutcomeIDsFor returns the ids of the outcome of the response with id
// qrID (or, when it has one, identifier system|value).
func OutcomeIDsFor(qrID, system, value string) OutcomeIDs {
	return OutcomeIDs{outcomeKey(qrID, &mapping.FollowUpResponse{IdentifierSystem: system, IdentifierValue: value})}
}

// outcomeKinds are the Observation kinds mapping.OutcomeObservations writes.
var outcomeKinds = []string{"pursued", "satisfaction", "wellbeing", "ucla-3-total", "promis-physical", "promis-mental"}

// prepareResponse checks a follow-up response before it is stored: the
// Questionnaire's rules (mapping.ReadFollowUpResponse), and that basedOn
// names a social prescription socialrx holds for the same Patient. Other
// QuestionnaireResponses give nil.
func (tx *Tx) prepareResponse(ctx context.Context, body []byte) (*mapping.FollowUpResponse, error) {
	if !mapping.IsFollowUpResponse(body) {
		return nil, nil
	}
	r, err := mapping.ReadFollowUpResponse(body)
	if err != nil {
		return nil, unprocessable(err)
	}
	p, ok, err := tx.prescription(ctx, r.PrescriptionID)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, &socialrx.Error{Code: socialrx.EUNPROCESSABLE, Message: "invalid follow-up QuestionnaireResponse",
			Issues: []socialrx.Issue{{Severity: socialrx.SeverityError, Code: "not-found", Path: "QuestionnaireResponse.basedOn",
				Message: "ServiceRequest/" + r.PrescriptionID + " is not a social prescription socialrx holds"}}}
	}
	if p.PatientID != r.PatientID {
		return nil, &socialrx.Error{Code: socialrx.EUNPROCESSABLE, Message: "invalid follow-up QuestionnaireResponse",
			Issues: []socialrx.Issue{{Severity: socialrx.SeverityError, Code: "business-rule", Path: "QuestionnaireResponse.subject",
				Message: "the subject is not the patient of ServiceRequest/" + r.PrescriptionID}}}
	}
	return r, nil
}

// recordOutcome writes what the answered follow-up r, stored as res,
// becomes (see the diagram above).
func (tx *Tx) recordOutcome(ctx context.Context, res *socialrx.Resource, r *mapping.FollowUpResponse) error {
	if !r.Answered() {
		return nil
	}
	p, ok, err := tx.prescription(ctx, r.PrescriptionID)
	if err != nil || !ok {
		return err
	}
	sr, err := tx.cachedRead(ctx, "ServiceRequest", p.ID)
	if err != nil {
		return err
	}
	// The outcome's resources are socialrx's bookkeeping: nothing they
	// cause goes to a platform. The caller's origin comes back after.
	was := tx.origin
	tx.SetOrigin(socialrx.Origin{Actor: socialrx.ActorSystem})
	defer tx.SetOrigin(was)

	now := tx.w.now()
	o := socialrx.DecideOutcome(r.Answers)
	ids := OutcomeIDs{outcomeKey(res.ID, r)}
	prior, err := tx.readIfPresent(ctx, "Communication", ids.Summary())
	if err != nil || duplicateResponse(prior, res.ID) {
		return err
	}
	answered := r.Authored
	if answered.IsZero() {
		answered = now
	}
	if err := tx.st.PutFollowUpResult(ctx, res.ID, &socialrx.FollowUpResult{ResponseID: res.ID, PrescriptionID: p.ID, PatientID: p.PatientID,
		Pursued: r.Answers.Pursued, Satisfaction: r.Answers.Satisfaction, Wellbeing: r.Answers.Wellbeing, NextStep: r.Answers.NextStep,
		AnsweredAt: answered}); err != nil {
		return err
	}
	produced := map[string]bool{}
	for _, ob := range mapping.OutcomeObservations(o, r, res.ID, ids.Observation, now) {
		produced[ob.Kind] = true
		if _, err := tx.putIfChanged(ctx, "Observation", ids.Observation(ob.Kind), ob.Body); err != nil {
			return err
		}
	}
	for _, kind := range outcomeKinds { // an amended response that no longer gives one
		if !produced[kind] {
			if err := tx.deleteIfPresent(ctx, "Observation", ids.Observation(kind)); err != nil {
				return err
			}
		}
	}
	fuID := FollowUpTaskID(p.ID)
	if err := tx.completeFollowUp(ctx, fuID, res.ID, now); err != nil {
		return err
	}
	if err := tx.closeReachTasks(ctx, p.ID, r.Answers.Pursued, now); err != nil {
		return err
	}
	facts := mapping.SummaryFacts{}
	if facts.Goal, err = tx.updateGoals(ctx, p, sr.Body, o, now); err != nil {
		return err
	}
	if o.Alternative {
		if facts.Alternative, facts.Program, err = tx.proposeAlternative(ctx, p, sr.Body, ids, res.ID, now); err != nil {
			return err
		}
	}
	if o.MoreHelp {
		id := ids.HelpTask()
		if exists, err := tx.st.Exists(ctx, "Task", id); err != nil {
			return err
		} else if !exists {
			if _, err := tx.Create(ctx, "Task", id, mapping.FollowUpHelpTask(*p, id, ids.key, res.ID, now)); err != nil {
				return err
			}
		} else if err := tx.reviveHelpTask(ctx, id, now); err != nil {
			return err
		}
		facts.HelpTask = "Task/" + id
	}
	sent := r.Authored
	if sent.IsZero() {
		sent = now
	}
	summary, err := tx.putIfChanged(ctx, "Communication", ids.Summary(), mapping.FollowUpSummary(o, r, *p, ids.Summary(), ids.key, res.ID, facts, sent))
	if err != nil {
		return err
	}
	// An outcome recorded again after it was withdrawn (the same
	// identifier answered again) replaces the EMR's withdrawn copies.
	event := socialrx.WriteBackCreate
	if prior != nil && mapping.StatusOf(prior.Body) == "entered-in-error" {
		event = socialrx.WriteBackUpdate
	}
	return tx.writeBackOutcome(ctx, p, fuID, event, res, summary)
}

// duplicateResponse reports whether the outcome whose summary is prior
// (nil: none yet) was recorded for another QuestionnaireResponse than
// qrID (its summary is about that one): the same response delivered again
// under a new id (the same identifier), which is stored and changes
// nothing else. An amendment is a new version of the same response (PUT),
// which is recorded; so is a response whose outcome's summary was
// withdrawn (entered-in-error, outcome_withdraw.go): it is answered again.
func duplicateResponse(prior *socialrx.Resource, qrID string) bool {
	if prior == nil || mapping.StatusOf(prior.Body) == "entered-in-error" {
		return false
	}
	about := summaryAbout(prior.Body)
	return about != "" && about != "QuestionnaireResponse/"+qrID
}

// completeFollowUp completes the follow-up Task fuID with the response
// (mapping.CompleteFollowUpTask); a prescription without one (never
// active) has nothing to complete.
func (tx *Tx) completeFollowUp(ctx context.Context, fuID, qrID string, now time.Time) error {
	return tx.editIfPresent(ctx, "Task", fuID, func(b []byte) ([]byte, bool, error) { return mapping.CompleteFollowUpTask(b, qrID, now) })
}

// updateGoals sets the achievement of the prescription's Goals: those its
// ServiceRequest names (pertainsToGoal, as SDOH CC links a request to its
// goal), else the Goal socialrx keeps for it (GoalID), created on the
// first answered follow-up. It returns the first Goal's reference.
func (tx *Tx) updateGoals(ctx context.Context, p *socialrx.Prescription, sr []byte, o socialrx.Outcome, now time.Time) (string, error) {
	first := ""
	for _, ref := range mapping.GoalsOf(sr) {
		id := ref[len("Goal/"):]
		cur, err := tx.readIfPresent(ctx, "Goal", id)
		if err != nil {
			return "", err
		}
		if cur == nil {
			continue // named but not held here: nothing to update
		}
		if first == "" {
			first = ref
		}
		body, changed, err := mapping.UpdateGoal(cur.Body, o, now)
		if err != nil {
			return "", err
		}
		if changed {
			if _, _, err := tx.Update(ctx, "Goal", id, body, 0); err != nil {
				return "", err
			}
		}
	}
	if first != "" {
		return first, nil
	}
	id := GoalID(p.ID)
	cur, err := tx.readIfPresent(ctx, "Goal", id)
	if err != nil {
		return "", err
	}
	if cur == nil {
		_, err := tx.Create(ctx, "Goal", id, mapping.PrescriptionGoal(*p, id, o, now))
		return "Goal/" + id, err
	}
	body, changed, err := mapping.UpdateGoal(cur.Body, o, now)
	if err == nil && changed {
		_, _, err = tx.Update(ctx, "Goal", id, body, 0)
	}
	return "Goal/" + id, err
}

// proposeAlternative drafts, once per outcome, the prescription that
// replaces p for the same need, with the program the directory suggests
// (suggestProgram). A draft that exists is left as it is: the clinician
// may be editing it; a revoked one is not named ("").
func (tx *Tx) proposeAlternative(ctx context.Context, p *socialrx.Prescription, sr []byte, ids OutcomeIDs, qrID string, now time.Time) (ref string, program bool, err error) {
	id := ids.Alternative()
	if cur, err := tx.readIfPresent(ctx, "ServiceRequest", id); err != nil {
		return "", false, err
	} else if cur != nil {
		if mapping.StatusOf(cur.Body) == "revoked" {
			// Discarded, or revoked when the answer was withdrawn and
			// given again since: no draft awaits anyone (not drafted
			// again).
			return "", false, nil
		}
		return "ServiceRequest/" + id, hasPerformer(cur.Body), nil
	}
	suggested, err := tx.suggestProgram(ctx, p)
	if err != nil {
		return "", false, err
	}
	body, err := mapping.AlternativeServiceRequest(sr, id, p.ID, ids.key, suggested, qrID, now)
	if err != nil {
		return "", false, err
	}
	if _, err := tx.Create(ctx, "ServiceRequest", id, body); err != nil {
		return "", false, err
	}
	return "ServiceRequest/" + id, suggested != "", nil
}

func hasPerformer(body []byte) bool {
	var sr struct {
		Performer []json.RawMessage `json:"performer"`
	}
	return json.Unmarshal(body, &sr) == nil && len(sr.Performer) > 0
}

// suggestProgram asks the directory for another program for p's needs:
// the nearest suitable one (active, not stale, not full) within
// socialrx.AlternativesWithinKm of p's program when that is a
// HealthcareService of the directory (the warning's alternatives, program.go);
// else the first suitable active HealthcareService whose category
// (service-category) is one of p's need domains, other than p's own
// target; "" when there is none.
func (tx *Tx) suggestProgram(ctx context.Context, p *socialrx.Prescription) (string, error) {
	if len(p.Needs) == 0 {
		return "", nil
	}
	// The directory's choice first: a suitable program (active, not stale,
	// not full) for the same need, nearest the prescribed one.
	if typ, id, ok := mapping.RefTypeID(p.Target); ok && typ == "HealthcareService" {
		res, err := tx.cachedRead(ctx, typ, id)
		switch code := socialrx.ErrorCode(err); {
		case code == socialrx.ENOTFOUND || code == socialrx.EGONE:
		case err != nil:
			return "", err
		default:
			if prog, err := mapping.ProgramOf(id, res.Body); err == nil {
				alts, _, err := tx.alternatives(ctx, p, prog)
				if err != nil {
					return "", err
				}
				if len(alts) > 0 {
					return alts[0].ref, nil
				}
			}
		}
	}
	// Otherwise any suitable active program of the need's category.
	var cats []string
	for _, d := range p.Needs {
		cats = append(cats, needDomainCategory+"|"+string(d))
	}
	joined := strings.Join(cats, ",")
	res, err := tx.st.Search(ctx, socialrx.SearchRequest{Type: "HealthcareService",
		Params: url.Values{"service-category": {joined}, "active": {"true"}, "_count": {"10"}}})
	if err != nil {
		return "", err
	}
	now, staleAfter := tx.w.now(), tx.w.opts.programStaleAfter()
	for _, m := range res.Matches {
		if ref := "HealthcareService/" + m.ID; ref != p.Target {
			if alt, err := mapping.ProgramOf(m.ID, m.Body); err == nil && !alt.Status().Suitable(now, staleAfter) {
				continue
			}
			return ref, nil
		}
	}
	return "", nil
}

// writeBackOutcome queues the response and the summary, each when not nil, for
// the prescriber's EMR (socialrx.WriteBackEMR: the requester's
// hl7-fhir-rest Endpoint, else --emr-endpoint) as event, ordered under the
// follow-up Task's id. An outcome's are conditional creates by identifier
// (WriteBackCreate), so the EMR keeps one copy whatever is resent; a
// withdrawal's, conditional updates (WriteBackUpdate), so that copy takes
// the new status.
func (tx *Tx) writeBackOutcome(ctx context.Context, p *socialrx.Prescription, fuID string, event socialrx.MessageEvent, qr, summary *socialrx.Resource) error {
	requesterEMR := ""
	if ep, ok := mapping.EndpointFor(Resolver(ctx, tx), socialrx.ConnectionFHIRREST, p.RequesterID); ok {
		requesterEMR = ep.ID
	}
	epID, ok := socialrx.WriteBackEMR(requesterEMR, tx.w.opts.DefaultEMR)
	if !ok {
		return nil
	}
	for _, res := range []*socialrx.Resource{qr, summary} {
		if res == nil {
			continue
		}
		if err := tx.enqueue(ctx, socialrx.DestinationEMR, epID, event, res, fuID); err != nil {
			return err
		}
	}
	return nil
}

// readIfPresent reads typ/id, nil when it was never stored or is deleted.
func (tx *Tx) readIfPresent(ctx context.Context, typ, id string) (*socialrx.Resource, error) {
	cur, err := tx.st.Read(ctx, typ, id)
	if code := socialrx.ErrorCode(err); code == socialrx.ENOTFOUND || code == socialrx.EGONE {
		return nil, nil
	}
	return cur, err
}

// putIfChanged writes body as typ/id unless the current version has the
// same content (meta aside); it returns the version written, nil when
// nothing was.
func (tx *Tx) putIfChanged(ctx context.Context, typ, id string, body []byte) (*socialrx.Resource, error) {
	cur, err := tx.readIfPresent(ctx, typ, id)
	if err != nil {
		return nil, err
	}
	if cur != nil && sameContent(cur.Body, body) {
		return nil, nil
	}
	res, _, err := tx.Update(ctx, typ, id, body, 0)
	return res, err
}

// editIfPresent rewrites typ/id with edit when it is there and edit
// changes it (as socialrx's next version of it; an edit's refusal of the
// stored body is 422).
func (tx *Tx) editIfPresent(ctx context.Context, typ, id string, edit func(body []byte) ([]byte, bool, error)) error {
	cur, err := tx.readIfPresent(ctx, typ, id)
	if err != nil || cur == nil {
		return err
	}
	body, changed, err := edit(cur.Body)
	if err != nil {
		return unprocessable(err)
	}
	if changed {
		_, _, err = tx.Update(ctx, typ, id, body, 0)
	}
	return err
}

// deleteIfPresent deletes typ/id when it is there.
func (tx *Tx) deleteIfPresent(ctx context.Context, typ, id string) error {
	cur, err := tx.readIfPresent(ctx, typ, id)
	if err != nil || cur == nil {
		return err
	}
	_, err = tx.Delete(ctx, typ, id, 0)
	return err
}

// sameContent reports whether two resource bodies are equal but for meta.
func sameContent(a, b []byte) bool {
	da, db := decodeNoMeta(a), decodeNoMeta(b)
	return da != nil && db != nil && reflect.DeepEqual(da, db)
}

func decodeNoMeta(b []byte) map[string]any {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var m map[string]any
	if dec.Decode(&m) != nil {
		return nil
	}
	delete(m, "meta")
	return m
}
