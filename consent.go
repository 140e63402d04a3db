package socialrx

import (
	"fmt"
	"slices"
	"strings"
	"time"
)

// Consent-gated sharing (serve --require-consent). A warm hand-off or
// navigator referral sent to the program's platform shares the patient's
// data with an outside program; with consent required it is sent only
// while a Consent of the patient permits it. The decisions are pure and
// live here; adapter/workflow gathers their facts (the patient's Consents,
// the program and its Organization, the prescription's needs) and acts on
// the answers inside the writing transaction:
//
//	referral change bound for the program's platform
//	   │
//	   ├─ ConsentPermits ── yes ──> sent as before
//	   └─ no ──> ConsentHoldFor:
//	              never sent         → on-hold, consent-needed (held)
//	              sent before        → on-hold, consent-revoked (held),
//	                                   its messages not yet sent cancelled
//	              ended (terminal)   → nothing sent, not held
//
//	a Consent of the patient is written or deleted
//	   ├─ a held referral it now permits   → released: back to the status it
//	   │                                     was held from, and sent
//	   └─ a sent, open referral it no longer permits → held, consent-revoked
//
// A held referral has Status on-hold, DeliveryState DeliveryHeld and the
// hold's code (HoldConsentNeeded, HoldConsentRevoked) in DeliveryError;
// nothing about it goes to the program while it is held (LinkedMessage,
// the workflow's gate).

// The codes of a consent hold (CodeSystemBase+"referral-hold"), on a held
// referral Task's statusReason and in Referral.DeliveryError.
const (
	// HoldConsentNeeded: the referral was never sent; no Consent of the
	// patient permits sharing it with the program.
	HoldConsentNeeded = "consent-needed"
	// HoldConsentRevoked: the referral was sent; the Consent that permitted
	// it was revoked, ended or replaced by one that does not.
	HoldConsentRevoked = "consent-revoked"
)

// DeliveryHeld is the delivery state of a referral held for consent
// (Referral.DeliveryState): nothing is sent to its program until a Consent
// permits it; DeliveryError holds the hold's code.
const DeliveryHeld = "held"

// DeliveryCancelled is the state of an outbox message that was never sent
// and never will be (OutboxTx.CancelOutbound: the Consent that permitted
// sharing it was revoked).
const DeliveryCancelled = "cancelled"

// The code systems and codes ConsentPermits reads.
const (
	// ConsentScopeSystem is the R4 Consent.scope code system; only
	// patient-privacy Consents gate sharing.
	ConsentScopeSystem  = "http://terminology.hl7.org/CodeSystem/consentscope"
	ConsentScopePrivacy = "patient-privacy"
	// ConsentActionSystem is the R4 Consent.provision.action code system;
	// sharing a referral is a disclosure.
	ConsentActionSystem   = "http://terminology.hl7.org/CodeSystem/consentaction"
	ConsentActionDisclose = "disclose"
	// ConsentPurposeSystem is socialrx's purpose code system: a provision
	// purpose ConsentPurposeSocialPrescribing covers every social
	// prescribing referral of the patient; purposes in
	// CodeSystemBase+"need-domain" cover referrals for those needs.
	ConsentPurposeSystem            = CodeSystemBase + "consent-purpose"
	ConsentPurposeSocialPrescribing = "social-prescribing"
)

// Consent is what ConsentPermits reads of an R4 Consent
// (mapping.ConsentFromResource).
type Consent struct {
	ID        string // the Consent id, for reasons
	Status    string // Consent.status: draft, proposed, active, rejected, inactive, entered-in-error
	Privacy   bool   // Consent.scope has consentscope|patient-privacy
	PatientID string // Consent.patient, the id of Patient/<id>
	// Provision is Consent.provision, nil when the Consent has none.
	Provision *ConsentProvision
}

// ConsentProvision is one rule of a Consent (Consent.provision, and its
// nested provisions, each an exception to its parent).
type ConsentProvision struct {
	Type string // permit, deny, or "" (R4 leaves the root rule's type open)
	// Start and End bound provision.period, End excluded; zero when open.
	// The mapping sets End past the last instant of a date given to the
	// day, month or year.
	Start, End time.Time
	Actors     []string // provision.actor.reference, "Type/id"
	Purposes   []Coding // provision.purpose
	Actions    []Coding // provision.action codings
	// Narrowed is true when the rule covers only some of the patient's
	// data: it has securityLabel, class, code, data or dataPeriod.
	Narrowed   bool
	Provisions []ConsentProvision // provision.provision
}

// Sharing is what a referral would share, and with whom: gathered by the
// workflow from the referral and its prescription.
type Sharing struct {
	PatientID string
	// Recipients are the program as references: the referral's performer
	// and the prescription's target (a HealthcareService, Organization or
	// PractitionerRole) and their Organization (providedBy, organization).
	Recipients []string
	Needs      []NeedDomain // the prescription's need domains
}

// ConsentPermits decides whether consents allow sharing s at now. Only
// Consents with status active, scope patient-privacy and patient
// s.PatientID count. Each provision is read with what it inherits from the
// provisions above it: the period (all must contain now), the actors and
// the purposes (its own when it names any, else its parent's), the actions
// and whether it covers only some data. Then:
//
//   - a deny provision that applies wins: its actors are empty or name a
//     recipient, and its purposes are empty or name socialrx's
//     social-prescribing purpose or one of s.Needs; whatever its actions or
//     data (a refusal is honoured broadly);
//   - otherwise a permit provision that names the program or the purpose
//     permits: its actors name a recipient (or are empty while its
//     purposes are not), its purposes are empty or name
//     social-prescribing or every need of s (at least one), its actions are
//     empty or include disclose, and it covers all data (no securityLabel,
//     class, code, data or dataPeriod);
//   - otherwise sharing is not permitted. A provision with no type (allowed
//     on R4's root rule) neither permits nor denies: it only scopes its
//     nested provisions. A permit naming neither an actor nor a purpose
//     does not count: the patient must have agreed to this program or this
//     purpose.
//
// reason says which Consent decided (by id) or why none did, for the
// referral's statusReason and logs: it names ids, references and codes,
// never PHI.
func ConsentPermits(consents []Consent, s Sharing, now time.Time) (ok bool, reason string) {
	permit := -1
	for i, c := range consents {
		if c.Status != "active" || !c.Privacy || c.PatientID != s.PatientID || c.Provision == nil {
			continue
		}
		var denied, permitted bool
		walkProvision(*c.Provision, scope{}, func(p ConsentProvision, sc scope) {
			switch {
			case !sc.during(now):
			case p.Type == "deny" && denies(sc, s):
				denied = true
			case p.Type == "permit" && permits(sc, s):
				permitted = true
			}
		})
		if denied {
			return false, "Consent/" + c.ID + " denies sharing with " + programOf(s)
		}
		if permitted && permit < 0 {
			permit = i
		}
	}
	if permit >= 0 {
		return true, "Consent/" + consents[permit].ID + " permits sharing with " + programOf(s)
	}
	return false, "no active patient-privacy Consent of the patient permits sharing with " + programOf(s)
}

// programOf names the program for reasons: its first reference.
func programOf(s Sharing) string {
	if len(s.Recipients) == 0 {
		return "the program"
	}
	return strings.Join(s.Recipients, ", ")
}

// scope is what a provision inherits from those above it.
type scope struct {
	start, end time.Time // the latest start and earliest end; zero when open
	actors     []string
	purposes   []Coding
	actions    []Coding
	narrowed   bool
}

func (sc scope) during(now time.Time) bool {
	return (sc.start.IsZero() || !now.Before(sc.start)) && (sc.end.IsZero() || now.Before(sc.end))
}

// walkProvision calls fn for p and each nested provision with the scope it
// has there. Depth is bounded (the JSON decoder already bounds nesting).
func walkProvision(p ConsentProvision, parent scope, fn func(ConsentProvision, scope)) {
	var walk func(p ConsentProvision, parent scope, depth int)
	walk = func(p ConsentProvision, parent scope, depth int) {
		if depth > 32 {
			return
		}
		sc := parent
		if !p.Start.IsZero() && (sc.start.IsZero() || p.Start.After(sc.start)) {
			sc.start = p.Start
		}
		if !p.End.IsZero() && (sc.end.IsZero() || p.End.Before(sc.end)) {
			sc.end = p.End
		}
		if len(p.Actors) > 0 {
			sc.actors = p.Actors
		}
		if len(p.Purposes) > 0 {
			sc.purposes = p.Purposes
		}
		if len(p.Actions) > 0 {
			sc.actions = p.Actions
		}
		sc.narrowed = sc.narrowed || p.Narrowed
		fn(p, sc)
		for _, c := range p.Provisions {
			walk(c, sc, depth+1)
		}
	}
	walk(p, parent, 0)
}

// names reports whether actors name one of the recipients.
func names(actors, recipients []string) bool {
	for _, a := range actors {
		if slices.Contains(recipients, a) {
			return true
		}
	}
	return false
}

// purposeOf reports whether purposes hold system|code.
func purposeOf(purposes []Coding, system, code string) bool {
	return slices.ContainsFunc(purposes, func(c Coding) bool { return c.System == system && c.Code == code })
}

// denies reports whether a deny rule with scope sc applies to s.
func denies(sc scope, s Sharing) bool {
	if len(sc.actors) > 0 && !names(sc.actors, s.Recipients) {
		return false
	}
	if len(sc.purposes) == 0 || purposeOf(sc.purposes, ConsentPurposeSystem, ConsentPurposeSocialPrescribing) {
		return true
	}
	for _, n := range s.Needs {
		if purposeOf(sc.purposes, CodeSystemBase+"need-domain", string(n)) {
			return true
		}
	}
	return false
}

// permits reports whether a permit rule with scope sc covers s.
func permits(sc scope, s Sharing) bool {
	if sc.narrowed || (len(sc.actors) == 0 && len(sc.purposes) == 0) {
		return false
	}
	if len(sc.actions) > 0 && !purposeOf(sc.actions, ConsentActionSystem, ConsentActionDisclose) {
		return false
	}
	if len(sc.actors) > 0 && !names(sc.actors, s.Recipients) {
		return false
	}
	if len(sc.purposes) == 0 || purposeOf(sc.purposes, ConsentPurposeSystem, ConsentPurposeSocialPrescribing) {
		return true
	}
	if len(s.Needs) == 0 {
		return false
	}
	for _, n := range s.Needs {
		if !purposeOf(sc.purposes, CodeSystemBase+"need-domain", string(n)) {
			return false
		}
	}
	return true
}

// ConsentHoldFor decides what becomes of next, a referral change bound for
// the program's platform that no Consent permits (prev: the referral
// before, nil when new): HoldConsentNeeded when nothing of it was ever
// sent, HoldConsentRevoked when it was; "" when next ends the referral
// (a terminal status) or is a draft: nothing is sent and it is not held.
func ConsentHoldFor(prev *Referral, next Referral) string {
	switch {
	case next.Status.Terminal() || next.Status == ReferralDraft:
		return ""
	case neverSent(prev):
		return HoldConsentNeeded
	}
	return HoldConsentRevoked
}

// ContinueConsentHold sets next's delivery state from the consent hold its
// Task shows (hold: the code on a held Task, "" when it is not held; read
// by mapping.ConsentHoldOf), after ContinueReferral carried prev's over:
// held with the code; a referral leaving a hold goes back to never sent
// ("", after consent-needed) or delivered (after consent-revoked: what was
// sent before stays sent).
func ContinueConsentHold(next *Referral, hold string) {
	switch {
	case hold != "":
		next.DeliveryState, next.DeliveryError = DeliveryHeld, hold
	case next.DeliveryState == DeliveryHeld:
		if next.DeliveryError == HoldConsentRevoked {
			next.DeliveryState = DeliveryDelivered
		} else {
			next.DeliveryState = ""
		}
		next.DeliveryError = ""
	}
}

// checkConsentMove checks a status change socialrx makes itself for
// consent (Origin.Consent): holding an open referral (to on-hold), or
// releasing a held one to an open status. It returns the EUNPROCESSABLE
// error of anything else.
func checkConsentMove(prev, next *Referral) error {
	var is issues
	switch {
	case next.Status == ReferralOnHold && !prev.Status.Terminal():
	case prev.DeliveryState == DeliveryHeld && !next.Status.Terminal() && next.Status != ReferralDraft && next.Status.Valid():
	default:
		is.add(issueBusinessRule, pathTaskStatus, "a consent hold may not move a referral from %s to %s", prev.Status, next.Status)
	}
	return is.err("illegal referral status change")
}

// leavesConsentHold reports whether next is the requester's write taking
// prev out of a consent hold: allowed to any status but draft (the
// referral goes out again through the consent check, and is held again
// when still not permitted).
func leavesConsentHold(prev, next *Referral, actor Actor, o Origin) bool {
	return prev.DeliveryState == DeliveryHeld && !o.FromPlatform() && actor != ActorPerformer && next.Status != ReferralDraft
}

// HoldDisplay returns the display of a consent hold code, "" for another.
func HoldDisplay(code string) string {
	switch code {
	case HoldConsentNeeded:
		return "Consent needed to share the referral"
	case HoldConsentRevoked:
		return "Consent to share the referral was revoked"
	}
	return ""
}

// HoldReason is the statusReason text of a held referral: the hold and the
// reason ConsentPermits gave (ids and codes, never PHI).
func HoldReason(hold, why string) string {
	switch hold {
	case HoldConsentNeeded:
		return fmt.Sprintf("Held: the patient's consent is needed before this referral is shared (%s). Record a Consent and it is sent.", why)
	case HoldConsentRevoked:
		return fmt.Sprintf("Held: the patient's consent to share this referral was revoked (%s); nothing more is sent to the program.", why)
	}
	return why
}
