package workflow

import (
	"context"
	"net/url"
	"strings"
	"time"

	"github.com/socialrx/socialrx"
	"github.com/socialrx/socialrx/mapping"
)

// Reaching the patient (../../notify.go): what a due follow-up causes, in
// one transaction each.
//
//	RemindFollowUp (followup_reminder job, at the follow-up's due time):
//	  follow-up Task open? ── no ──> nothing
//	  ReminderChannel(Patient's telecoms and address, the Task's channel)
//	    email, text ──> outbox message (destination patient) + its
//	                    deliver_message job
//	    phone       ──> call-patient Task (reason follow-up-due)
//	    mail        ──> print-letter Task with the HTML letter
//	  + followup_escalation job at now + EscalateAfter
//	FinishMessage of a patient message:
//	    delivered   ──> Communication (what was sent, when; no content)
//	    failed      ──> call-patient Task (reason reminder-failed)
//	EscalateFollowUp (followup_escalation job):
//	  open and unanswered ──> call-patient Task (reason overdue, urgent)

// ReachOptions configure reaching the patient.
type ReachOptions struct {
	// Auto are the channels a Notifier is configured for (email: an SMTP
	// server; text: an SMS gateway); others fall back (ReminderChannel).
	Auto map[socialrx.ContactChannel]bool
	// LinkKey signs form links (socialrx.SignLink); FormURL is the
	// public URL the tokens are appended to (".../p/f/"). Without them no
	// link can be made: email and text are not used, and the letter has
	// no link.
	LinkKey []byte
	FormURL string
	// LinkTTL is how long a link works (socialrx.DefaultLinkTTL if 0);
	// EscalateAfter how long after the reminder an unanswered follow-up
	// becomes a staff call (socialrx.DefaultEscalateAfter if 0).
	LinkTTL, EscalateAfter time.Duration
	// Clinic is the name the messages are signed with.
	Clinic string
}

func (o ReachOptions) linkTTL() time.Duration {
	if o.LinkTTL > 0 {
		return o.LinkTTL
	}
	return socialrx.DefaultLinkTTL
}

func (o ReachOptions) escalateAfter() time.Duration {
	if o.EscalateAfter > 0 {
		return o.EscalateAfter
	}
	return socialrx.DefaultEscalateAfter
}

// canLink reports whether links can be made.
func (o ReachOptions) canLink() bool { return len(o.LinkKey) >= 32 && o.FormURL != "" }

// The ids of what reaching the patient creates (DerivedID): at most one of
// each per follow-up.
const (
	callTaskPrefix    = "cp-" // call-patient Task: the due reminder by phone, or a failed reminder
	overdueTaskPrefix = "oc-" // call-patient Task of an overdue follow-up
	letterTaskPrefix  = "lt-" // print-letter Task
	reminderCommPref  = "rc-" // Communication of a reminder sent (by message id)
	patientAnswerPref = "pa-" // the QuestionnaireResponse the patient's form posts
)

// PatientAnswerID is the id of the QuestionnaireResponse the patient's
// form creates for follow-up Task taskID: one per follow-up, so the link
// is single-use by construction (a second create is ECONFLICT in the
// same transaction that would store it).
func PatientAnswerID(taskID string) string { return DerivedID(patientAnswerPref, taskID) }

// FormLink returns the link of the form answering follow-up Task taskID,
// issued at issued, and when it expires. ok is false when links are not
// configured.
func (w *Workflow) FormLink(taskID string, issued time.Time) (link string, expires time.Time, ok bool) {
	o := w.opts.Reach
	if !o.canLink() {
		return "", time.Time{}, false
	}
	expires = issued.Add(o.linkTTL()).UTC().Truncate(time.Second)
	tok := socialrx.SignLink(o.LinkKey, socialrx.FormLink{TaskID: taskID, Expires: expires})
	return strings.TrimRight(o.FormURL, "/") + "/" + tok, expires, true
}

// ReminderOutcome says what RemindFollowUp did, for the job's log (no PHI).
type ReminderOutcome struct {
	Channel socialrx.ContactChannel // "" when nothing was due
	Task    string                  // "Task/<id>" of a staff Task created, else ""
	Message string                  // the outbox message id queued, else ""
}

// RemindFollowUp reminds the patient of the follow-up of prescription srID
// (see the diagram above). A follow-up that is gone or no longer open gets
// nothing. Repeats create nothing new (ids are derived; the outbox message
// id is the Task version's).
func (w *Workflow) RemindFollowUp(ctx context.Context, srID string) (ReminderOutcome, error) {
	var out ReminderOutcome
	err := w.Transact(ctx, func(tx *Tx) error {
		out = ReminderOutcome{}
		tx.SetOrigin(socialrx.Origin{Actor: socialrx.ActorSystem})
		fuID := FollowUpTaskID(srID)
		fu, f, ok, err := tx.openFollowUp(ctx, fuID)
		if err != nil || !ok {
			return err
		}
		var pc socialrx.PatientContact
		if pat, err := tx.Read(ctx, "Patient", f.PatientID); err == nil {
			pc = mapping.PatientContactOf(pat.Body)
		} else if !missing(err) {
			return err
		}
		auto := w.opts.Reach.Auto
		if !w.opts.Reach.canLink() {
			auto = nil // a message without its link is no use
		}
		ch, _ := socialrx.ReminderChannel(pc, f.Channel, auto)
		out.Channel = ch
		now := w.now()
		switch ch {
		case socialrx.ContactEmail, socialrx.ContactText:
			m := socialrx.OutboundMessage{
				ID:          MessageID(socialrx.DestinationPatient, "Task", fuID, fu.VersionID, socialrx.EventReminder),
				Destination: socialrx.DestinationPatient, EndpointID: string(ch), Event: socialrx.EventReminder,
				ResourceType: "Task", ResourceID: fuID, Version: fu.VersionID, ReferralID: fuID,
			}
			if err := tx.st.Enqueue(ctx, m); err != nil {
				return err
			}
			out.Message = m.ID
		case socialrx.ContactMail:
			link, expires, _ := w.FormLink(fuID, now)
			id := DerivedID(letterTaskPrefix, srID)
			created, err := tx.staffTask(ctx, id, mapping.StaffTask{Code: mapping.TaskPrintLetter, Reason: mapping.ReasonFollowUpDue,
				FollowUpTaskID: fuID, PatientID: f.PatientID, Owner: f.Owner, Letter: mapping.Letter(w.opts.Reach.Clinic, link, expires, now)}, now)
			if err != nil {
				return err
			}
			if created {
				out.Task = "Task/" + id
			}
		default:
			id := DerivedID(callTaskPrefix, srID)
			created, err := tx.staffTask(ctx, id, mapping.StaffTask{Code: mapping.TaskCallPatient, Reason: mapping.ReasonFollowUpDue,
				FollowUpTaskID: fuID, PatientID: f.PatientID, Owner: f.Owner}, now)
			if err != nil {
				return err
			}
			if created {
				out.Task = "Task/" + id
			}
		}
		return tx.st.ScheduleFollowUpEscalation(ctx, srID, now.Add(w.opts.Reach.escalateAfter()))
	})
	return out, err
}

// openFollowUp reads follow-up Task fuID; ok is false when it is gone, is
// not a follow-up, or is no longer open.
func (tx *Tx) openFollowUp(ctx context.Context, fuID string) (*socialrx.Resource, *socialrx.FollowUp, bool, error) {
	fu, err := tx.Read(ctx, "Task", fuID)
	if missing(err) {
		return nil, nil, false, nil
	} else if err != nil {
		return nil, nil, false, err
	}
	f, isFollowUp, err := mapping.FollowUpFromTask(fu.Body)
	if err != nil || !isFollowUp || !socialrx.FollowUpOpen(f.Status) {
		return nil, nil, false, nil
	}
	// A follow-up Task left open on a revoked or erroneous prescription
	// (written before revoking cancelled it, or changed since by hand)
	// reaches nobody either.
	if ended, err := tx.prescriptionEnded(ctx, f.PrescriptionID); err != nil || ended {
		return nil, nil, false, err
	}
	return fu, f, true, nil
}

// prescriptionEnded reports whether prescription srID is one socialrx
// holds with status revoked or entered-in-error
// (socialrx.RevokedPrescription): its follow-up is no longer wanted.
func (tx *Tx) prescriptionEnded(ctx context.Context, srID string) (bool, error) {
	if srID == "" {
		return false, nil
	}
	p, ok, err := tx.prescription(ctx, srID)
	if err != nil || !ok {
		return false, err
	}
	_, ended := socialrx.RevokedPrescription(p.Status)
	return ended, nil
}

// FollowUpWithdrawn reports whether the follow-up of prescription srID is
// no longer wanted because the prescription was revoked or entered in
// error (the patient's form link shows the "no longer needed" page).
// It reads outside any transaction (a prescription gone is not withdrawn).
func (w *Workflow) FollowUpWithdrawn(ctx context.Context, srID string) (bool, error) {
	if srID == "" {
		return false, nil
	}
	sr, err := w.store.Read(ctx, "ServiceRequest", srID)
	if missing(err) {
		return false, nil
	} else if err != nil {
		return false, err
	}
	_, ended := socialrx.RevokedPrescription(mapping.StatusOf(sr.Body))
	return ended, nil
}

// PrescriptionEnded is FollowUpWithdrawn inside a transaction.
func (tx *Tx) PrescriptionEnded(ctx context.Context, srID string) (bool, error) {
	return tx.prescriptionEnded(ctx, srID)
}

// Ending the follow-up (one transaction with what ends it):
//
//	prescription revoked / entered-in-error (ingest.go, project)
//	  ──> cancelFollowUp: cancelled, with the reason, while open
//	      (socialrx.FollowUpOpen): follow-up Task fu-…, patient Task pt-…,
//	      call-patient Tasks cp-… and oc-…, print-letter Task lt-…
//	follow-up answered (outcome.go, recordOutcome)
//	  ──> closeReachTasks, only while requested or ready (nobody took
//	      them up): cp-…, oc-…, lt-… cancelled (nobody needs reaching);
//	      pt-… completed when the answer says pursued yes or partly,
//	      else cancelled
//
// The reminder and escalation jobs already queued then find no open
// follow-up (openFollowUp) and do nothing; a reminder message already in
// the outbox fails for good without being sent (Reminder).

// reachStaffTaskIDs are the ids of the staff Tasks reaching the patient
// about the follow-up of prescription srID (RemindFollowUp,
// reminderFinished, EscalateFollowUp).
func reachStaffTaskIDs(srID string) []string {
	return []string{DerivedID(callTaskPrefix, srID), DerivedID(overdueTaskPrefix, srID), DerivedID(letterTaskPrefix, srID)}
}

// endTask ends Task id (mapping.EndTask) when it is there and open(its
// status) is true.
func (tx *Tx) endTask(ctx context.Context, id, status, reason string, now time.Time, open func(string) bool) error {
	return tx.editIfPresent(ctx, "Task", id, func(b []byte) ([]byte, bool, error) { return mapping.EndTask(b, status, reason, now, open) })
}

// cancelFollowUp cancels what reaches the patient about prescription
// srID, which is now revoked or entered in error (status), while open:
// see the diagram above. socialrx writes them (ActorSystem).
func (tx *Tx) cancelFollowUp(ctx context.Context, srID, status string) error {
	reason := mapping.RevokedTaskReason
	if status == "entered-in-error" {
		reason = mapping.EnteredInErrorTaskReason
	}
	was := tx.origin
	tx.SetOrigin(socialrx.Origin{Actor: socialrx.ActorSystem})
	defer tx.SetOrigin(was)
	now := tx.w.now()
	ids := append([]string{FollowUpTaskID(srID), PatientTaskID(srID)}, reachStaffTaskIDs(srID)...)
	for _, id := range ids {
		if err := tx.endTask(ctx, id, "cancelled", reason, now, socialrx.FollowUpOpen); err != nil {
			return err
		}
	}
	return nil
}

// closeReachTasks closes, once the follow-up of prescription srID is
// answered (pursued: what the answer says), the Tasks that were to reach
// the patient about it, while nobody took them up: see the diagram above.
func (tx *Tx) closeReachTasks(ctx context.Context, srID string, pursued socialrx.Pursued, now time.Time) error {
	for _, id := range reachStaffTaskIDs(srID) {
		if err := tx.endTask(ctx, id, "cancelled", mapping.AnsweredTaskReason, now, mapping.NotStarted); err != nil {
			return err
		}
	}
	status, reason := "cancelled", mapping.UnsaidPursuedTaskReason
	switch pursued {
	case socialrx.PursuedYes, socialrx.PursuedPartly:
		status, reason = "completed", mapping.PursuedTaskReason
	case socialrx.PursuedNo:
		reason = mapping.NotPursuedTaskReason
	}
	return tx.endTask(ctx, PatientTaskID(srID), status, reason, now, mapping.NotStarted)
}

// reopenReachTasks undoes closeReachTasks for prescription srID, its
// answer withdrawn: the call and letter Tasks and the patient Task the
// answer ended are requested again (mapping.ReopenTask).
func (tx *Tx) reopenReachTasks(ctx context.Context, srID string, now time.Time) error {
	for _, id := range reachStaffTaskIDs(srID) {
		if err := tx.editIfPresent(ctx, "Task", id, func(b []byte) ([]byte, bool, error) {
			return mapping.ReopenTask(b, now, mapping.AnsweredTaskReason)
		}); err != nil {
			return err
		}
	}
	return tx.editIfPresent(ctx, "Task", PatientTaskID(srID), func(b []byte) ([]byte, bool, error) {
		return mapping.ReopenTask(b, now, mapping.PursuedTaskReason, mapping.NotPursuedTaskReason, mapping.UnsaidPursuedTaskReason)
	})
}

// staffTask creates staff Task id from s unless it exists (even deleted):
// created reports whether it did. Its work-list fact is written by
// projectTask.
func (tx *Tx) staffTask(ctx context.Context, id string, s mapping.StaffTask, now time.Time) (created bool, err error) {
	if exists, err := tx.st.Exists(ctx, "Task", id); err != nil || exists {
		return false, err
	}
	if _, err := tx.Create(ctx, "Task", id, mapping.StaffTaskJSON(s, id, now)); err != nil {
		return false, err
	}
	return true, nil
}

// staffWorkList writes the work-list fact of a Task socialrx made for
// reaching the patient (Task?work-list=call-patient, print-letter),
// whoever wrote its current version.
func (tx *Tx) staffWorkList(ctx context.Context, res *socialrx.Resource) error {
	code := mapping.StaffTaskCode(res.Body)
	if code == "" {
		return nil
	}
	return tx.st.PutFacts(ctx, res.Type, res.ID, []socialrx.Fact{{Param: FactWorkList, System: socialrx.CodeSystemBase + "task-code", Code: code}})
}

// reminderFinished records the end of a reminder's delivery, in
// FinishMessage's transaction: delivered, a Communication; failed for
// good, a call-patient Task (reason reminder-failed) so that someone
// still asks.
func (tx *Tx) reminderFinished(ctx context.Context, m *socialrx.OutboundMessage, state string) error {
	tx.SetOrigin(socialrx.Origin{Actor: socialrx.ActorSystem})
	fuID := m.ResourceID
	fu, err := tx.Read(ctx, "Task", fuID)
	if missing(err) {
		return nil
	} else if err != nil {
		return err
	}
	f, isFollowUp, err := mapping.FollowUpFromTask(fu.Body)
	if err != nil || !isFollowUp {
		return nil
	}
	now := tx.w.now()
	switch state {
	case socialrx.DeliveryDelivered:
		id := DerivedID(reminderCommPref, m.ID)
		if exists, err := tx.st.Exists(ctx, "Communication", id); err != nil || exists {
			return err
		}
		_, err := tx.Create(ctx, "Communication", id,
			mapping.ReminderCommunication(id, fuID, f.PatientID, socialrx.ContactChannel(m.EndpointID), m.ID, now))
		return err
	case socialrx.DeliveryFailed:
		if !socialrx.FollowUpOpen(f.Status) {
			return nil
		}
		// Not sent because the prescription was withdrawn (Reminder):
		// nobody is to call either.
		if ended, err := tx.prescriptionEnded(ctx, f.PrescriptionID); err != nil || ended {
			return err
		}
		_, err := tx.staffTask(ctx, DerivedID(callTaskPrefix, f.PrescriptionID), mapping.StaffTask{Code: mapping.TaskCallPatient,
			Reason: mapping.ReasonReminderFailed, FollowUpTaskID: fuID, PatientID: f.PatientID, Owner: f.Owner}, now)
		return err
	}
	return nil
}

// EscalateFollowUp asks staff to call when the follow-up of prescription
// srID is still open and unanswered: no QuestionnaireResponse from the
// patient's form and none based on the prescription (staff may have
// recorded one over FHIR). escalated reports whether it created the call
// Task (reason overdue; once per follow-up).
func (w *Workflow) EscalateFollowUp(ctx context.Context, srID string) (escalated bool, err error) {
	err = w.Transact(ctx, func(tx *Tx) error {
		escalated = false
		tx.SetOrigin(socialrx.Origin{Actor: socialrx.ActorSystem})
		fuID := FollowUpTaskID(srID)
		_, f, ok, err := tx.openFollowUp(ctx, fuID)
		if err != nil || !ok {
			return err
		}
		if answered, err := tx.answered(ctx, fuID, srID); err != nil || answered {
			return err
		}
		escalated, err = tx.staffTask(ctx, DerivedID(overdueTaskPrefix, srID), mapping.StaffTask{Code: mapping.TaskCallPatient,
			Reason: mapping.ReasonOverdue, FollowUpTaskID: fuID, PatientID: f.PatientID, Owner: f.Owner}, w.now())
		return err
	})
	return escalated, err
}

// answered reports whether the follow-up has an answer: the patient's
// form's QuestionnaireResponse, or a completed one based on the
// prescription.
func (tx *Tx) answered(ctx context.Context, fuID, srID string) (bool, error) {
	if exists, err := tx.st.Exists(ctx, "QuestionnaireResponse", PatientAnswerID(fuID)); err != nil || exists {
		return exists, err
	}
	res, err := tx.Search(ctx, socialrx.SearchRequest{Type: "QuestionnaireResponse",
		Params: url.Values{"based-on": {"ServiceRequest/" + srID}, "status": {"completed,amended"}, "_summary": {"count"}}})
	if err != nil {
		return false, err
	}
	return res.Total > 0, nil
}

// Reminder builds the reminder outbox message m carries (destination
// patient), at send time: the patient's current best address on m's
// channel and the form link, which expires LinkTTL after m was queued (the
// same link on every retry). A permanent *socialrx.SendError says why
// none can be built (no address any more, links not configured, the
// follow-up gone).
func (w *Workflow) Reminder(ctx context.Context, m *socialrx.OutboundMessage) (socialrx.Reminder, error) {
	ch := socialrx.ContactChannel(m.EndpointID)
	fu, err := w.store.Read(ctx, "Task", m.ResourceID)
	if missing(err) {
		return socialrx.Reminder{}, &socialrx.SendError{Reason: "socialrx: the follow-up Task is gone"}
	} else if err != nil {
		return socialrx.Reminder{}, err
	}
	f, ok, err := mapping.FollowUpFromTask(fu.Body)
	if err != nil || !ok {
		return socialrx.Reminder{}, &socialrx.SendError{Reason: "socialrx: Task/" + m.ResourceID + " is not a follow-up"}
	}
	// Queued before the follow-up ended (answered, cancelled, its
	// prescription revoked): nothing is sent.
	if !socialrx.FollowUpOpen(f.Status) {
		return socialrx.Reminder{}, &socialrx.SendError{NotNeeded: true, Reason: "socialrx: the follow-up is no longer open (" + f.Status + "): not sent"}
	}
	if ended, err := w.FollowUpWithdrawn(ctx, f.PrescriptionID); err != nil {
		return socialrx.Reminder{}, err
	} else if ended {
		return socialrx.Reminder{}, &socialrx.SendError{NotNeeded: true, Reason: "socialrx: the prescription was revoked or entered in error: not sent"}
	}
	pat, err := w.store.Read(ctx, "Patient", f.PatientID)
	if missing(err) {
		return socialrx.Reminder{}, &socialrx.SendError{Reason: "socialrx: the patient is gone"}
	} else if err != nil {
		return socialrx.Reminder{}, err
	}
	// The address: the best of m's channel, as ReminderChannel picks it.
	got, to := socialrx.ReminderChannel(mapping.PatientContactOf(pat.Body), ch, map[socialrx.ContactChannel]bool{ch: true})
	if got != ch || to == "" {
		return socialrx.Reminder{}, &socialrx.SendError{Reason: "socialrx: the patient has no " + string(ch) + " address any more"}
	}
	link, expires, ok := w.FormLink(m.ResourceID, m.CreatedAt)
	if !ok {
		return socialrx.Reminder{}, &socialrx.SendError{Reason: "socialrx: form links are not configured (--link-key-file, notifiers.form_url)"}
	}
	return socialrx.Reminder{ID: m.ID, Channel: ch, To: to, Clinic: w.opts.Reach.Clinic, Link: link, Expires: expires}, nil
}
