package socialrx

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"strconv"
	"strings"
	"time"
)

// Reaching the patient (issue 14): when a follow-up falls due, socialrx
// reminds the patient on the channel they prefer (ReminderChannel) and
// sends a signed, expiring link (SignLink) to a small form that answers the
// follow-up Questionnaire. Email and text messages go out through the
// Notifier port, from the outbox, retried and dead-lettered like any
// delivery (retry.go); a phone call or a letter is work for the practice's
// staff, a Task on their work list. An open follow-up nobody answered
// EscalateAfter the reminder becomes a staff call Task.
//
//	follow-up due ──> ReminderChannel(patient's contacts, Task's channel)
//	   email, text ──> outbox ──> Notifier ──> delivered: Communication recorded
//	                               └─ dead-lettered ──> call-patient Task
//	   phone ──> call-patient Task    mail ──> print-letter Task (HTML letter)
//	   + escalation at due + EscalateAfter: still open and unanswered
//	     ──> call-patient Task (overdue)

// Reminder is one reminder to a patient, what a Notifier sends. It carries
// no PHI beyond what the message needs: the one address it goes to, and
// the link. The message names the clinic, never the patient, the program
// prescribed or the need (a food bank or a shelter says too much on a lock
// screen or a shared inbox).
type Reminder struct {
	// ID identifies the reminder for its whole life (the outbox message
	// id): a retry sends the same ID (email Message-ID, the SMS gateway's
	// idempotency key), so a receiver can drop a duplicate.
	ID      string
	Channel ContactChannel // ContactEmail or ContactText
	To      string         // the email address or phone number
	// Clinic is who the message is from, as the patient knows it (the
	// notifiers' clinic_name setting); "" for a neutral wording.
	Clinic  string
	Link    string    // the signed form link (SignLink below a public URL)
	Expires time.Time // when the link stops working
}

// Notifier sends reminders on one channel. Send makes one attempt and
// returns nil, or a *SendError classified by the retry policy (retry.go):
// retryable (network, timeout, 408, 429, 5xx, a temporary SMTP reply) or
// permanent (other 4xx, a permanent SMTP reply). Retries are the job
// queue's. Errors name no address or content (they may be logged).
type Notifier interface {
	Send(ctx context.Context, r Reminder) error
}

// DestinationPatient is the outbox destination of reminders to patients
// (OutboundMessage.Destination); their EndpointID is the ContactChannel,
// their resource the follow-up Task, their ReferralID the follow-up Task id
// (which orders a follow-up's reminders, as for a referral's messages).
const DestinationPatient = "patient"

// EventReminder is the OutboundMessage.Event of a reminder.
const EventReminder MessageEvent = "follow-up-reminder"

// DefaultLinkTTL is how long a form link works: 14 days, as long as the
// shortest follow-up interval, so a patient who opens the reminder late
// can still answer.
const DefaultLinkTTL = 14 * 24 * time.Hour

// DefaultEscalateAfter is how long after the reminder an unanswered
// follow-up waits before staff are asked to call: 7 days.
const DefaultEscalateAfter = 7 * 24 * time.Hour

// ContactPoint is one Patient.telecom entry (FHIR ContactPoint): system
// (phone, sms, email, ...), value, use (home, work, mobile, old, ...) and
// rank (1 is the most preferred; 0 means unranked).
type ContactPoint struct {
	System, Value, Use string
	Rank               int
}

// PatientContact is what ReminderChannel knows of a patient: the telecoms
// and whether a postal address is on file.
type PatientContact struct {
	Telecom    []ContactPoint
	HasAddress bool
}

// ReminderChannel decides how a patient is reminded of a follow-up, and
// the address the message goes to (to is "" for phone and mail: staff use
// the chart). Rules, in order:
//
//  1. pref, the channel the clinic recorded (the follow-up Task's
//     contact-channel input, which socialrx fills from the Patient when it
//     creates the Task and staff change when the patient asks), when it can
//     be used: email needs an email telecom, text an sms telecom or a phone
//     with use mobile, mail a postal address, phone is always possible;
//  2. otherwise the patient's best-ranked telecom (rank 1 first, unranked
//     last, ties in the order given): email → email, sms or mobile phone →
//     text, other phone → phone;
//  3. otherwise mail when an address is on file, else phone.
//
// Telecoms with use old or no value are ignored. A channel socialrx cannot
// send automatically (auto[channel] false: no SMTP server or SMS gateway
// configured) is skipped as if the patient had no such telecom; phone and
// mail are staff Tasks and always possible. Patient.communication is the
// patient's language, not a channel: it is not read here.
func ReminderChannel(pc PatientContact, pref ContactChannel, auto map[ContactChannel]bool) (channel ContactChannel, to string) {
	addr := func(c ContactChannel) (string, bool) {
		best, bestRank := "", 0
		for _, t := range pc.Telecom {
			if t.Value == "" || t.Use == "old" || channelOf(t) != c {
				continue
			}
			if r := rankOf(t); best == "" || r < bestRank {
				best, bestRank = t.Value, r
			}
		}
		return best, best != ""
	}
	usable := func(c ContactChannel) (string, bool) {
		switch c {
		case ContactEmail, ContactText:
			if !auto[c] {
				return "", false
			}
			return addr(c)
		case ContactPhone:
			return "", true
		case ContactMail:
			return "", pc.HasAddress
		}
		return "", false
	}
	if to, ok := usable(pref); ok {
		return pref, to
	}
	best, bestRank := ContactChannel(""), 0
	for _, t := range pc.Telecom {
		c := channelOf(t)
		if t.Value == "" || t.Use == "old" || c == "" {
			continue
		}
		if _, ok := usable(c); ok && (best == "" || rankOf(t) < bestRank) {
			best, bestRank = c, rankOf(t)
		}
	}
	if best != "" {
		to, _ := usable(best)
		return best, to
	}
	if pc.HasAddress {
		return ContactMail, ""
	}
	return ContactPhone, ""
}

// channelOf is the reminder channel a telecom reaches: email, text (sms,
// or a mobile phone) or phone; "" for fax, pager, url and other.
func channelOf(t ContactPoint) ContactChannel {
	switch t.System {
	case "email":
		return ContactEmail
	case "sms":
		return ContactText
	case "phone":
		if t.Use == "mobile" {
			return ContactText
		}
		return ContactPhone
	}
	return ""
}

// rankOf orders telecoms: rank 1 first, unranked (0 or less) last.
func rankOf(t ContactPoint) int {
	if t.Rank <= 0 {
		return int(^uint(0) >> 1)
	}
	return t.Rank
}

// FollowUpOpen reports whether a follow-up Task with status is still
// waiting for its answer: not completed, cancelled, failed, rejected or
// entered-in-error.
func FollowUpOpen(status string) bool {
	switch status {
	case "completed", "cancelled", "failed", "rejected", "entered-in-error":
		return false
	}
	return true
}

// FormLink is what a signed form link carries: the follow-up Task it
// answers and when it stops working. Nothing about the patient.
type FormLink struct {
	TaskID  string
	Expires time.Time
}

// LinkProblem is why a form link is refused ("" when it is good).
type LinkProblem string

// The problems of a form link. Each gets a friendly page, never data.
const (
	LinkMalformed LinkProblem = "malformed" // not a token socialrx makes
	LinkForged    LinkProblem = "forged"    // signature does not match
	LinkExpired   LinkProblem = "expired"   // past FormLink.Expires
)

// linkVersion prefixes the signed payload, so a later format can be told
// apart.
const linkVersion = "1"

// maxLinkLen bounds a token before any decoding: a FHIR id is at most 64
// characters, so a real token is well under 200.
const maxLinkLen = 256

// SignLink returns the opaque token of l: base64url(payload) "."
// base64url(HMAC-SHA256(key, payload)), payload "1|<expiry unix>|<task
// id>". The same l and key give the same token, so a retried reminder
// carries the same link. key must be secret and at least 32 bytes.
func SignLink(key []byte, l FormLink) string {
	payload := linkVersion + "|" + strconv.FormatInt(l.Expires.Unix(), 10) + "|" + l.TaskID
	return b64(payload) + "." + b64(string(mac(key, "link|"+payload)))
}

// VerifyLink reads token against key at now: the FormLink, or the problem
// (malformed before forged before expired: an expired link is reported
// only when its signature is good).
func VerifyLink(key []byte, token string, now time.Time) (FormLink, LinkProblem) {
	if len(token) > maxLinkLen {
		return FormLink{}, LinkMalformed
	}
	p64, s64, ok := strings.Cut(token, ".")
	if !ok {
		return FormLink{}, LinkMalformed
	}
	payload, err1 := base64.RawURLEncoding.Strict().DecodeString(p64)
	sig, err2 := base64.RawURLEncoding.Strict().DecodeString(s64)
	if err1 != nil || err2 != nil || len(sig) != sha256.Size {
		return FormLink{}, LinkMalformed
	}
	parts := strings.SplitN(string(payload), "|", 3)
	if len(parts) != 3 || parts[0] != linkVersion || !validID(parts[2]) {
		return FormLink{}, LinkMalformed
	}
	exp, err := strconv.ParseInt(parts[1], 10, 64)
	if err != nil {
		return FormLink{}, LinkMalformed
	}
	if !hmac.Equal(sig, mac(key, "link|"+string(payload))) {
		return FormLink{}, LinkForged
	}
	l := FormLink{TaskID: parts[2], Expires: time.Unix(exp, 0).UTC()}
	if !now.Before(l.Expires) {
		return l, LinkExpired
	}
	return l, ""
}

// FormToken is the anti-forgery token of the form opened by link token:
// an HMAC bound to the link, so a page elsewhere cannot post an answer
// without knowing the link itself. No cookie or session is needed.
func FormToken(key []byte, token string) string {
	return b64(string(mac(key, "form|"+token))[:16])
}

// FormTokenValid reports whether got is FormToken(key, token), comparing
// in constant time.
func FormTokenValid(key []byte, token, got string) bool {
	return hmac.Equal([]byte(got), []byte(FormToken(key, token)))
}

func mac(key []byte, msg string) []byte {
	h := hmac.New(sha256.New, key)
	h.Write([]byte(msg))
	return h.Sum(nil)
}

func b64(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }

// validID reports whether s is a FHIR id: 1 to 64 of A-Z a-z 0-9 - .
func validID(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for _, c := range s {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '.') {
			return false
		}
	}
	return true
}

// KindFollowUpEscalation is the job kind of EscalationArgs.
const KindFollowUpEscalation = "followup_escalation"

// EscalationArgs are the arguments of the job that checks, EscalateAfter
// the reminder, whether a follow-up is still unanswered: the
// ServiceRequest id only (no PHI in the job table).
type EscalationArgs struct {
	PrescriptionID string `json:"prescription_id"`
}

// Kind is KindFollowUpEscalation.
func (EscalationArgs) Kind() string { return KindFollowUpEscalation }
