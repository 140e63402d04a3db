package socialrx

import (
	"strings"
	"testing"
	"time"
)

func TestReminderChannel(t *testing.T) {
	both := map[ContactChannel]bool{ContactEmail: true, ContactText: true}
	email := ContactPoint{System: "email", Value: "a@example.org"}
	email2 := ContactPoint{System: "email", Value: "b@example.org", Rank: 1}
	mobile := ContactPoint{System: "phone", Value: "+15550001", Use: "mobile"}
	sms := ContactPoint{System: "sms", Value: "+15550002"}
	home := ContactPoint{System: "phone", Value: "+15550003", Use: "home"}
	old := ContactPoint{System: "email", Value: "old@example.org", Use: "old", Rank: 1}
	rank := func(c ContactPoint, r int) ContactPoint { c.Rank = r; return c }
	for _, tc := range []struct {
		name   string
		pc     PatientContact
		pref   ContactChannel
		auto   map[ContactChannel]bool
		wantCh ContactChannel
		wantTo string
	}{
		{"nothing on file: phone", PatientContact{}, "", both, ContactPhone, ""},
		{"address only: mail", PatientContact{HasAddress: true}, "", both, ContactMail, ""},
		{"pref email with email", PatientContact{Telecom: []ContactPoint{home, email}}, ContactEmail, both, ContactEmail, "a@example.org"},
		{"pref email, best-ranked email", PatientContact{Telecom: []ContactPoint{email, email2}}, ContactEmail, both, ContactEmail, "b@example.org"},
		{"pref email, no email: best telecom", PatientContact{Telecom: []ContactPoint{rank(home, 2), rank(mobile, 1)}}, ContactEmail, both, ContactText, "+15550001"},
		{"pref text with sms", PatientContact{Telecom: []ContactPoint{email, sms}}, ContactText, both, ContactText, "+15550002"},
		{"pref text with a mobile phone", PatientContact{Telecom: []ContactPoint{mobile}}, ContactText, both, ContactText, "+15550001"},
		{"pref text, home phone only: phone", PatientContact{Telecom: []ContactPoint{home}}, ContactText, both, ContactPhone, ""},
		{"pref phone always", PatientContact{Telecom: []ContactPoint{email}}, ContactPhone, both, ContactPhone, ""},
		{"pref mail without address: telecom", PatientContact{Telecom: []ContactPoint{email}}, ContactMail, both, ContactEmail, "a@example.org"},
		{"pref mail with address", PatientContact{Telecom: []ContactPoint{email}, HasAddress: true}, ContactMail, both, ContactMail, ""},
		{"rank decides", PatientContact{Telecom: []ContactPoint{rank(email, 3), rank(sms, 1), rank(home, 2)}}, "", both, ContactText, "+15550002"},
		{"ranked before unranked", PatientContact{Telecom: []ContactPoint{email, rank(home, 5)}}, "", both, ContactPhone, ""},
		{"unranked: first given", PatientContact{Telecom: []ContactPoint{sms, email}}, "", both, ContactText, "+15550002"},
		{"old ignored", PatientContact{Telecom: []ContactPoint{old, home}}, ContactEmail, both, ContactPhone, ""},
		{"empty value ignored", PatientContact{Telecom: []ContactPoint{{System: "email"}}, HasAddress: true}, "", both, ContactMail, ""},
		{"fax ignored", PatientContact{Telecom: []ContactPoint{{System: "fax", Value: "1", Rank: 1}}}, "", both, ContactPhone, ""},
		{"no SMTP: email skipped", PatientContact{Telecom: []ContactPoint{rank(email, 1), rank(sms, 2)}}, ContactEmail, map[ContactChannel]bool{ContactText: true}, ContactText, "+15550002"},
		{"nothing automatic: phone", PatientContact{Telecom: []ContactPoint{email, sms}}, ContactEmail, nil, ContactPhone, ""},
		{"nothing automatic, address: mail", PatientContact{Telecom: []ContactPoint{email}, HasAddress: true}, "", nil, ContactMail, ""},
		{"unknown pref", PatientContact{Telecom: []ContactPoint{email}}, "pigeon", both, ContactEmail, "a@example.org"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ch, to := ReminderChannel(tc.pc, tc.pref, tc.auto)
			if ch != tc.wantCh || to != tc.wantTo {
				t.Errorf("ReminderChannel = (%q, %q), want (%q, %q)", ch, to, tc.wantCh, tc.wantTo)
			}
		})
	}
}

func TestFollowUpOpen(t *testing.T) {
	for s, want := range map[string]bool{"requested": true, "ready": true, "in-progress": true, "on-hold": true,
		"completed": false, "cancelled": false, "failed": false, "rejected": false, "entered-in-error": false} {
		if got := FollowUpOpen(s); got != want {
			t.Errorf("FollowUpOpen(%q) = %v, want %v", s, got, want)
		}
	}
}

func TestLinkRoundTrip(t *testing.T) {
	key := []byte(strings.Repeat("k", 32))
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	l := FormLink{TaskID: "fu-0123456789abcdef0123456789abcdef01234567", Expires: now.Add(DefaultLinkTTL)}
	tok := SignLink(key, l)
	if tok != SignLink(key, l) {
		t.Error("SignLink is not deterministic: a retried reminder would carry another link")
	}
	if strings.ContainsAny(tok, "/+=?&#% ") {
		t.Errorf("token %q is not URL-safe", tok)
	}
	got, p := VerifyLink(key, tok, now)
	if p != "" || got.TaskID != l.TaskID || !got.Expires.Equal(l.Expires) {
		t.Errorf("VerifyLink = %+v, %q; want %+v", got, p, l)
	}
	if _, p := VerifyLink(key, tok, l.Expires); p != LinkExpired {
		t.Errorf("at expiry: problem %q, want expired", p)
	}
	if _, p := VerifyLink([]byte(strings.Repeat("x", 32)), tok, now); p != LinkForged {
		t.Errorf("other key: problem %q, want forged", p)
	}
	// An edited payload (another Task, a later expiry) keeps the old signature.
	p64, sig, _ := strings.Cut(tok, ".")
	other := SignLink(key, FormLink{TaskID: "fu-other", Expires: l.Expires})
	op64, _, _ := strings.Cut(other, ".")
	if _, p := VerifyLink(key, op64+"."+sig, now); p != LinkForged {
		t.Errorf("payload swapped: problem %q, want forged", p)
	}
	// Any one character changed is refused: base64url's unused low bits of
	// a last character included (decoded strictly), so a link has one
	// spelling.
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	for i := range tok {
		if tok[i] == '.' {
			continue
		}
		for _, c := range []byte(alphabet) {
			if c == tok[i] {
				continue
			}
			changed := tok[:i] + string(c) + tok[i+1:]
			if _, p := VerifyLink(key, changed, now); p == "" {
				t.Fatalf("the token with character %d changed to %q is accepted: %q", i, c, changed)
			}
		}
	}
	for _, bad := range []string{"", ".", "abc", p64, p64 + ".", "!!." + sig, p64 + ".!!", p64 + "." + sig[:10],
		b64("2|1|fu") + "." + sig, b64("1|x|fu") + "." + sig, b64("1|1|a/b") + "." + sig, b64("1|1") + "." + sig,
		strings.Repeat("a", 300) + "." + sig} {
		if _, p := VerifyLink(key, bad, now); p != LinkMalformed {
			t.Errorf("VerifyLink(%q): problem %q, want malformed", bad, p)
		}
	}
}

func TestFormToken(t *testing.T) {
	key := []byte(strings.Repeat("k", 32))
	a, b := FormToken(key, "link-a"), FormToken(key, "link-b")
	if a == b {
		t.Error("form tokens of two links are equal")
	}
	if !FormTokenValid(key, "link-a", a) || FormTokenValid(key, "link-b", a) || FormTokenValid(key, "link-a", "") {
		t.Error("FormTokenValid accepts a token of another link or none, or refuses its own")
	}
}

func FuzzVerifyLink(f *testing.F) {
	key := []byte(strings.Repeat("k", 32))
	f.Add(SignLink(key, FormLink{TaskID: "fu-1", Expires: time.Unix(2e9, 0)}))
	f.Add("a.b")
	f.Fuzz(func(t *testing.T, tok string) {
		l, p := VerifyLink(key, tok, time.Unix(1e9, 0))
		if p == "" && SignLink(key, l) != tok {
			t.Errorf("accepted %q, which is not the token of %+v", tok, l)
		}
	})
}
