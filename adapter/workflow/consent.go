package workflow

import (
	"context"
	"net/url"

	"github.com/socialrx/socialrx"
	"github.com/socialrx/socialrx/mapping"
)

// Consent-gated sharing (Options.RequireConsent; the decisions are the
// root package's consent.go). In the writing transaction:
//
//	referral change bound for the program's platform (referralOut)
//	   └─ no Consent permits it ──> not sent; its pending messages
//	      cancelled; the Task held (holdReferral: on-hold, statusReason
//	      consent-needed or consent-revoked, work list consent-needed)
//	Consent created, updated or deleted (consentWritten)
//	   └─ for each open outgoing referral of its patient (old and new):
//	        held, now permitted      ──> released (releaseReferral): the
//	                                     status it was held from, and the
//	                                     message the hold stopped
//	        sent, no longer permitted ──> held, consent-revoked; its
//	                                     messages not yet sent cancelled
//
// The hold and the release are socialrx's own versions of the Task
// (Origin.Consent), written after the version that caused them.

// hold is a consent hold a referral change needs.
type hold struct {
	code string // socialrx.HoldConsentNeeded or HoldConsentRevoked
	why  string // ConsentPermits' reason
}

// maxConsentScan bounds the Consents of a patient and the referral Tasks
// read for one decision.
const maxConsentScan = 1000

// consentPermits decides whether the patient's Consents, as this
// transaction sees them, permit sharing referral r of prescription p with
// its program.
func (tx *Tx) consentPermits(ctx context.Context, p *socialrx.Prescription, r *socialrx.Referral) (bool, string, error) {
	consents, err := tx.patientConsents(ctx, r.PatientID)
	if err != nil {
		return false, "", err
	}
	ok, why := tx.decide(ctx, consents, p, r)
	return ok, why, nil
}

// decide runs socialrx.ConsentPermits on the facts of r and p.
func (tx *Tx) decide(ctx context.Context, consents []socialrx.Consent, p *socialrx.Prescription, r *socialrx.Referral) (bool, string) {
	return socialrx.ConsentPermits(consents, socialrx.Sharing{
		PatientID:  r.PatientID,
		Recipients: mapping.Recipients(Resolver(ctx, tx), r.Performer, p.Target),
		Needs:      p.Needs,
	}, tx.w.now())
}

// patientConsents reads the current Consents of Patient/patientID (all
// statuses: ConsentPermits picks the ones that count).
func (tx *Tx) patientConsents(ctx context.Context, patientID string) ([]socialrx.Consent, error) {
	var out []socialrx.Consent
	err := tx.searchAll(ctx, "Consent", url.Values{"patient": {"Patient/" + patientID}}, func(res socialrx.Resource) error {
		if c, err := mapping.ConsentFromResource(res.Body); err == nil {
			out = append(out, *c)
		}
		return nil
	})
	return out, err
}

// searchAll calls fn for each match of a search, page by page, up to
// maxConsentScan matches.
func (tx *Tx) searchAll(ctx context.Context, typ string, q url.Values, fn func(socialrx.Resource) error) error {
	q.Set("_count", "100")
	q.Set("_total", "none")
	seen := 0
	for q != nil && seen < maxConsentScan {
		page, err := tx.st.Search(ctx, socialrx.SearchRequest{Type: typ, Params: q})
		if err != nil {
			return err
		}
		for _, m := range page.Matches {
			if err := fn(m); err != nil {
				return err
			}
		}
		seen += len(page.Matches)
		q = page.Next
	}
	return nil
}

// withhold is what referralOut does with a change of r no Consent
// permits: the referral's messages not yet sent are cancelled, and the
// hold it needs is returned (nil for a change that ends it: it is not
// held, and nothing is sent).
func (tx *Tx) withhold(ctx context.Context, prev, r *socialrx.Referral, why string) (*hold, error) {
	code := socialrx.ConsentHoldFor(prev, *r)
	if _, err := tx.st.CancelOutbound(ctx, r.ID, socialrx.DestinationPlatform, socialrx.TruncateReason("not sent: "+why)); err != nil {
		return nil, err
	}
	if code == "" {
		return nil, nil
	}
	return &hold{code: code, why: why}, nil
}

// holdReferral writes the referral Task/id held for consent (code), as
// socialrx's own change: nothing is sent, and the Task is on the
// consent-needed work list; a revoked one's messages not yet sent are
// cancelled.
func (tx *Tx) holdReferral(ctx context.Context, id, code, why string) error {
	cur, err := tx.st.Read(ctx, "Task", id)
	if err != nil {
		return err
	}
	body, err := mapping.HoldTask(cur.Body, code, socialrx.TruncateReason(socialrx.HoldReason(code, why)), tx.w.now())
	if err != nil {
		return err
	}
	saved := tx.origin
	tx.SetOrigin(socialrx.Origin{Actor: socialrx.ActorSystem, Consent: true})
	defer tx.SetOrigin(saved)
	if _, _, err := tx.Update(ctx, "Task", id, body, 0); err != nil {
		return err
	}
	if code == socialrx.HoldConsentRevoked {
		_, err = tx.st.CancelOutbound(ctx, id, socialrx.DestinationPlatform, socialrx.TruncateReason("not sent: "+why))
	}
	return err
}

// releaseReferral writes the held referral Task cur released: back to the
// status it was held from, as the requester's change, so the message the
// hold stopped goes out (add-service-request for a referral never sent,
// notify-update-service-request for one sent before the revocation; the
// messages cancelled meanwhile are not sent again).
func (tx *Tx) releaseReferral(ctx context.Context, cur *socialrx.Resource) error {
	body, ok, err := mapping.ReleaseTask(cur.Body, tx.w.now())
	if err != nil || !ok {
		return err
	}
	saved := tx.origin
	tx.SetOrigin(socialrx.Origin{Actor: socialrx.ActorRequester, Consent: true})
	defer tx.SetOrigin(saved)
	_, _, err = tx.Update(ctx, "Task", cur.ID, body, 0)
	return err
}

// consentPatientBefore returns the patient of Consent/id as stored before
// a write (with consent required; "" otherwise, for another type, or when
// there is none), so a Consent moved to another patient re-checks the old
// one's referrals too.
func (tx *Tx) consentPatientBefore(ctx context.Context, typ, id string) (string, error) {
	if typ != "Consent" || !tx.w.opts.RequireConsent {
		return "", nil
	}
	cur, err := tx.st.Read(ctx, "Consent", id)
	if missing(err) {
		return "", nil
	} else if err != nil {
		return "", err
	}
	return mapping.ConsentPatient(cur.Body), nil
}

// consentWritten re-checks, after a Consent was written (body, nil for a
// delete), the open outgoing referrals of its patient and of the patient
// it was about before (was).
func (tx *Tx) consentWritten(ctx context.Context, typ, was string, body []byte) error {
	if typ != "Consent" || !tx.w.opts.RequireConsent {
		return nil
	}
	now := ""
	if body != nil {
		now = mapping.ConsentPatient(body)
	}
	for i, pid := range []string{now, was} {
		if pid == "" || (i == 1 && pid == now) {
			continue
		}
		if err := tx.reconsider(ctx, pid); err != nil {
			return err
		}
	}
	return nil
}

// reconsider releases the held referrals of Patient/patientID that its
// Consents now permit, and holds (consent-revoked) the sent, open ones
// they no longer permit. Referrals socialrx received, ended ones, and ones
// never sent to a platform (fax, phone, polled, draft) are left as they
// are.
func (tx *Tx) reconsider(ctx context.Context, patientID string) error {
	var tasks []socialrx.Resource
	err := tx.searchAll(ctx, "Task", url.Values{"patient": {"Patient/" + patientID}, "code": {taskCodeFulfill}}, func(res socialrx.Resource) error {
		tasks = append(tasks, res)
		return nil
	})
	if err != nil || len(tasks) == 0 {
		return err
	}
	consents, err := tx.patientConsents(ctx, patientID)
	if err != nil {
		return err
	}
	for i := range tasks {
		res := &tasks[i]
		r, ok, err := tx.st.Referral(ctx, res.ID)
		if err != nil {
			return err
		}
		if !ok || r.Incoming || r.Status.Terminal() || r.DeliveryState == "" {
			continue
		}
		p, ok, err := tx.prescription(ctx, r.PrescriptionID)
		if err != nil {
			return err
		}
		if !ok || (p.Form != socialrx.FormWarmHandoff && p.Form != socialrx.FormNavigator) {
			continue
		}
		held := r.DeliveryState == socialrx.DeliveryHeld
		permitted, why := tx.decide(ctx, consents, p, r)
		switch {
		case held && permitted:
			err = tx.releaseReferral(ctx, res)
		case !held && !permitted:
			err = tx.holdReferral(ctx, res.ID, socialrx.HoldConsentRevoked, why)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// stillHeld returns the hold a referral a platform's report took out of
// its consent hold needs again: consent-revoked while it is open and no
// Consent permits it; nil otherwise.
func (tx *Tx) stillHeld(ctx context.Context, r *socialrx.Referral) (*hold, error) {
	if !tx.w.opts.RequireConsent || r.Status.Terminal() || r.DeliveryState == socialrx.DeliveryHeld {
		return nil, nil
	}
	p, ok, err := tx.prescription(ctx, r.PrescriptionID)
	if err != nil || !ok {
		return nil, err
	}
	permitted, why, err := tx.consentPermits(ctx, p, r)
	if err != nil || permitted {
		return nil, err
	}
	return &hold{code: socialrx.HoldConsentRevoked, why: why}, nil
}

// linkedPermitted reports whether an Appointment or Communication about
// referral r may go to its program: always without consent required, else
// when the patient's Consents permit sharing the referral.
func (tx *Tx) linkedPermitted(ctx context.Context, r *socialrx.Referral) (bool, error) {
	if !tx.w.opts.RequireConsent {
		return true, nil
	}
	p, ok, err := tx.prescription(ctx, r.PrescriptionID)
	if err != nil || !ok {
		return false, err
	}
	ok, _, err = tx.consentPermits(ctx, p, r)
	return ok, err
}
