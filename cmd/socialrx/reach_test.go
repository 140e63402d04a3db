package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/mail"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/socialrx/socialrx"
	"github.com/socialrx/socialrx/adapter/notify/notifytest"
	"github.com/socialrx/socialrx/adapter/workflow"
)

// Reaching the patient end to end, on both stores: an encounter whose
// follow-up is already due, the reminder email at a real SMTP server, the
// link opened in headless Chromium, the form answered, the
// QuestionnaireResponse stored, and the link refused the second time. A
// text message through an httptest gateway that answers 503 then 400:
// retried, dead-lettered, and a staff call Task instead. An unanswered
// follow-up escalates to an urgent call Task.

const smsToken = "gw-token-0123456789abcdef"

type reachEnv struct {
	m    *Main
	smtp *notifytest.SMTPServer
	sms  *notifytest.SMSGateway
}

func startReach(t *testing.T, database string, tweak func(*Config)) *reachEnv {
	t.Helper()
	env := &reachEnv{smtp: notifytest.StartSMTP(t), sms: notifytest.StartSMSGateway(t, smsToken)}
	creds := filepath.Join(t.TempDir(), "credentials.json")
	b, _ := json.Marshal(map[string]any{"endpoints": map[string]any{}, "notifiers": map[string]any{
		"smtp":        map[string]any{"host": env.smtp.Host, "port": env.smtp.Port, "from": "Riverdale Health <noreply@riverdale.example>", "tls": "none"},
		"sms":         map[string]any{"url": env.sms.URL, "token": smsToken},
		"clinic_name": "Riverdale Health",
	}})
	if err := os.WriteFile(creds, b, 0o600); err != nil {
		t.Fatal(err)
	}
	env.m = startMainWith(t, database, func(cfg *Config) {
		cfg.Credentials = creds
		cfg.RetryBase = 50 * time.Millisecond
		cfg.JobTimeout = 4 * time.Second
		cfg.HTTPTimeout = time.Second
		if tweak != nil {
			tweak(cfg)
		}
	})
	// The form renders the follow-up Questionnaire serve seeds.
	return env
}

// encounterWithTelecom is encounter 07 (a self-directed prescription
// authored 2026-11-20, follow-up due 2026-12-04: already due) with the
// Patient's telecom replaced.
func encounterWithTelecom(t *testing.T, telecom []map[string]any) []byte {
	t.Helper()
	var b map[string]any
	if err := json.Unmarshal(readEncounter(t, resendFirst), &b); err != nil {
		t.Fatal(err)
	}
	for _, e := range asSlice(b["entry"]) {
		if r := asMap(asMap(e)["resource"]); r["resourceType"] == "Patient" {
			r["telecom"] = telecom
			if len(telecom) == 0 {
				delete(r, "telecom")
			}
		}
	}
	out, _ := json.Marshal(b)
	return out
}

// mailText returns the decoded text/plain part of a raw email.
func mailText(t *testing.T, raw string) string {
	t.Helper()
	m, err := mail.ReadMessage(strings.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	_, params, _ := mime.ParseMediaType(m.Header.Get("Content-Type"))
	mr := multipart.NewReader(m.Body, params["boundary"])
	for {
		p, err := mr.NextPart()
		if err != nil {
			t.Fatalf("no text/plain part in:\n%s", raw)
		}
		if strings.HasPrefix(p.Header.Get("Content-Type"), "text/plain") {
			b, _ := io.ReadAll(p)
			return string(b)
		}
	}
}

var linkRe = regexp.MustCompile(`http://127\.0\.0\.1:\d+/p/f/[A-Za-z0-9_.-]+`)

func TestReachingThePatient(t *testing.T) {
	for _, be := range encounterBackends {
		t.Run(be.name, func(t *testing.T) {
			env := startReach(t, be.database(t), nil)
			m := env.m
			post := postEncounter(t, m, encounterWithTelecom(t, []map[string]any{{"system": "email", "value": "pat@example.org", "rank": 1}}))
			if post.status != http.StatusOK {
				t.Fatalf("POST encounter: %d %s", post.status, truncate(post.body))
			}
			srID := post.idOf(t, "ServiceRequest")
			fuID := workflow.FollowUpTaskID(srID)

			// The reminder email arrives: the link, the clinic, no PHI.
			raw := env.smtp.Wait(t, 1, 30*time.Second)
			text := mailText(t, raw.Data)
			link := linkRe.FindString(text)
			if link == "" {
				t.Fatalf("no link in the email:\n%s", text)
			}
			if raw.To[0] != "pat@example.org" || !strings.Contains(text, "Riverdale Health") {
				t.Errorf("email to %v: want pat@example.org, signed by the clinic:\n%s", raw.To, text)
			}
			// Past the headers (To names the address), nothing of the patient.
			_, mailBody, _ := strings.Cut(raw.Data, "\r\n\r\n")
			for _, phi := range []string{"Amara", "Okafor", "pat@example.org", "food", "Food", srID, fuID} {
				if strings.Contains(mailBody, phi) || strings.Contains(text, phi) {
					t.Errorf("the email carries %q", phi)
				}
			}
			// What was sent is recorded, without content.
			eventually(t, "the reminder's Communication", func() bool {
				return len(searchMatches(t, m, "Communication", url.Values{"based-on": {"Task/" + fuID}})) == 1
			})
			comm := searchMatches(t, m, "Communication", url.Values{"based-on": {"Task/" + fuID}})[0]
			if comm["payload"] != nil || comm["status"] != "completed" {
				t.Errorf("Communication %v: want completed with no payload", comm)
			}

			// Answer in a real browser (or over HTTP when none is installed).
			answerForm(t, link)

			qrs := searchMatches(t, m, "QuestionnaireResponse", url.Values{"based-on": {"ServiceRequest/" + srID}})
			if len(qrs) != 1 {
				t.Fatalf("%d QuestionnaireResponses based on the prescription, want 1", len(qrs))
			}
			qr := qrs[0]
			if qr["id"] != workflow.PatientAnswerID(fuID) || qr["status"] != "completed" ||
				qr["questionnaire"] != socialrx.FollowUpQuestionnaire+"|1.0.0" {
				t.Errorf("QuestionnaireResponse %v: want id PatientAnswerID, completed, the canonical|1.0.0", qr)
			}
			if dig(qr, "subject", "reference") != dig(qr, "source", "reference") || !strings.HasPrefix(fmt.Sprint(dig(qr, "subject", "reference")), "Patient/") {
				t.Errorf("subject %v and source %v: want the Patient", qr["subject"], qr["source"])
			}
			answers := map[string]any{}
			for _, it := range asSlice(qr["item"]) {
				a := asSlice(asMap(it)["answer"])
				answers[asMap(it)["linkId"].(string)] = a
			}
			if got := fmt.Sprint(answers["satisfaction"]); got != "[map[valueInteger:4]]" {
				t.Errorf("satisfaction answer %s, want 4", got)
			}
			if got := fmt.Sprint(answers["barriers"]); !strings.Contains(got, "transport") || !strings.Contains(got, "cost") {
				t.Errorf("barriers answer %s, want cost and transport", got)
			}

			// The link is used: a friendly page, no form, no data.
			resp, body := do(t, "GET", link, nil)
			if resp.StatusCode != http.StatusGone || !bytes.Contains(body, []byte("already answered")) || bytes.Contains(body, []byte("<form")) {
				t.Errorf("second open: %d\n%s", resp.StatusCode, body)
			}
			// A forged link: 404, the same page as a broken one.
			forged := link[:len(link)-4] + "AAAA"
			resp, body = do(t, "GET", forged, nil)
			if resp.StatusCode != http.StatusNotFound || !bytes.Contains(body, []byte("This link does not work")) {
				t.Errorf("forged link: %d\n%s", resp.StatusCode, body)
			}
			// No escalation: it was answered (the job runs after a week).
		})
	}
}

// answerForm fills the form at link: pursued partly, barriers cost and
// transport, satisfaction 4, wellbeing better, next step keep going. In
// headless Chromium, with a screenshot kept in the test's artifact
// directory (go test -artifacts), when a browser is installed.
func answerForm(t *testing.T, link string) {
	t.Helper()
	chrome := "/usr/bin/chromium"
	if _, err := exec.LookPath(chrome); err != nil {
		if os.Getenv("SOCIALRX_REQUIRE_BROWSER") != "" {
			t.Fatalf("SOCIALRX_REQUIRE_BROWSER is set and %s is not installed (apt-get install chromium)", chrome)
		}
		t.Logf("no browser (%s not installed): answering the form over plain HTTP instead", chrome)
		answerOverHTTP(t, link)
		return
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(chrome), chromedp.NoSandbox,
		chromedp.Flag("disable-dev-shm-usage", true), chromedp.WindowSize(412, 915)) // a phone's viewport
	actx, cancel := chromedp.NewExecAllocator(context.Background(), opts...)
	defer cancel()
	var copts []chromedp.ContextOption
	if os.Getenv("SOCIALRX_TEST_CDP") != "" {
		copts = append(copts, chromedp.WithDebugf(t.Logf))
	}
	ctx, cancel := chromedp.NewContext(actx, copts...)
	defer cancel()
	ctx, cancel = context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	step := func(what string, actions ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(ctx, actions...); err != nil {
			t.Fatalf("chromium, %s: %v", what, err)
		}
	}
	value := func(what string, a chromedp.Action[string]) string {
		t.Helper()
		v, err := chromedp.Run(ctx, a)
		if err != nil {
			t.Fatalf("chromium, %s: %v", what, err)
		}
		return v
	}
	shot := func() []byte {
		t.Helper()
		b, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
		if err != nil {
			t.Fatalf("chromium, screenshot: %v", err)
		}
		return b
	}
	step("open the link", chromedp.Navigate(link), chromedp.WaitVisible(chromedp.CSS(`form`)))
	title := value("title", chromedp.Title())
	// Submitting with nothing chosen: errors beside the fields.
	step("submit empty", chromedp.Click(chromedp.CSS(`button[type=submit]`)), chromedp.WaitVisible(chromedp.CSS(`#summary`)))
	if n := value("errors", chromedp.Text(chromedp.CSS(`#summary-title`))); !strings.Contains(n, "2 answers") {
		t.Errorf("error summary %q, want 2 answers to check (pursued, next step)", n)
	}
	invalid := shot()
	step("fill",
		chromedp.Click(chromedp.CSS(`label[for=q-pursued-partly]`)),
		chromedp.Click(chromedp.CSS(`label[for=q-barriers-cost]`)),
		chromedp.Click(chromedp.CSS(`label[for=q-barriers-transport]`)),
		chromedp.SendKeys(chromedp.CSS(`#q-satisfaction`), "4"),
		chromedp.Click(chromedp.CSS(`#q-wellbeing-better`)),
		chromedp.Focus(chromedp.CSS(`#q-next-step-keep-going`)),
		chromedp.KeyEvent(" "), // keyboard: space selects the focused radio
	)
	before := shot()
	step("submit", chromedp.Click(chromedp.CSS(`button[type=submit]`)), chromedp.WaitVisible(chromedp.CSS(`h1#message`)))
	heading := value("heading", chromedp.Text(chromedp.CSS(`h1#message`)))
	after := shot()
	dir := t.ArtifactDir()
	_ = os.WriteFile(filepath.Join(dir, "form-errors.png"), invalid, 0o644)
	_ = os.WriteFile(filepath.Join(dir, "form-filled.png"), before, 0o644)
	_ = os.WriteFile(filepath.Join(dir, "thanks.png"), after, 0o644)
	t.Logf("screenshots in %s", dir)
	if title != "Social prescription follow-up" || heading != "Thank you" {
		t.Errorf("page title %q, heading after submit %q; want the Questionnaire's title, then Thank you", title, heading)
	}
}

var formTokenRe = regexp.MustCompile(`name="_form" value="([^"]+)"`)

// answerOverHTTP posts the same answers without a browser.
func answerOverHTTP(t *testing.T, link string) {
	t.Helper()
	resp, body := do(t, "GET", link, nil)
	if resp.StatusCode != 200 {
		t.Fatalf("GET form: %d", resp.StatusCode)
	}
	tok := formTokenRe.FindSubmatch(body)
	if tok == nil {
		t.Fatalf("no form token in:\n%s", body)
	}
	form := url.Values{"_form": {string(tok[1])}, "q.pursued": {"partly"}, "q.barriers": {"cost", "transport"},
		"q.satisfaction": {"4"}, "q.wellbeing": {"better"}, "q.next-step": {"keep-going"}}
	postForm(t, link, form)
}

// postForm posts the patient form's answers to link and wants the 303 to
// the thanks page (not followed).
func postForm(t *testing.T, link string, form url.Values) {
	t.Helper()
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	r, err := noRedirect.PostForm(link, form)
	if err != nil {
		t.Fatal(err)
	}
	r.Body.Close()
	if r.StatusCode != http.StatusSeeOther {
		t.Fatalf("POST form: %d, want 303 to the thanks page", r.StatusCode)
	}
}

func TestReminderTextRetriedThenStaffCall(t *testing.T) {
	for _, be := range encounterBackends {
		t.Run(be.name, func(t *testing.T) {
			env := startReach(t, be.database(t), func(c *Config) { c.FollowUpEscalateAfter = 2 * time.Second })
			env.sms.FailNext(503, 503, 400) // two retries, then a permanent refusal
			m := env.m
			post := postEncounter(t, m, encounterWithTelecom(t, []map[string]any{{"system": "phone", "use": "mobile", "value": "+14165550187", "rank": 1}}))
			if post.status != http.StatusOK {
				t.Fatalf("POST encounter: %d %s", post.status, truncate(post.body))
			}
			srID := post.idOf(t, "ServiceRequest")
			fuID := workflow.FollowUpTaskID(srID)
			// Task has no reason-code search parameter in R4: the reason is
			// read from each Task on the call-patient work list.
			calls := func(reason string) []map[string]any {
				var out []map[string]any
				for _, task := range searchMatches(t, m, "Task", url.Values{"work-list": {"call-patient"}, "focus": {"Task/" + fuID}}) {
					if strings.Contains(fmt.Sprint(task["reasonCode"]), "code:"+reason+" ") {
						out = append(out, task)
					}
				}
				return out
			}
			eventually(t, "the call Task of the dead-lettered text", func() bool { return len(calls("reminder-failed")) == 1 })
			if n := env.sms.Attempts(); n != 3 {
				t.Errorf("%d gateway attempts, want 3 (503, 503, 400)", n)
			}
			if n := len(env.sms.Requests()); n != 0 {
				t.Errorf("%d texts accepted, want none", n)
			}
			failed, err := m.Store.OutboundMessages(t.Context(), socialrx.DeliveryFailed, 10)
			if err != nil || len(failed) != 1 || failed[0].Destination != socialrx.DestinationPatient || failed[0].Attempts != 3 {
				t.Errorf("dead letters %+v (%v): want the one reminder, 3 attempts", failed, err)
			}
			// Nobody answers: after --follow-up-escalate-after, an urgent call.
			eventually(t, "the overdue call Task", func() bool { return len(calls("overdue")) == 1 })
			if p := calls("overdue")[0]["priority"]; p != "urgent" {
				t.Errorf("overdue call Task priority %v, want urgent", p)
			}
		})
	}
}

func TestReminderStaffTasks(t *testing.T) {
	for _, be := range encounterBackends {
		t.Run(be.name, func(t *testing.T) {
			for _, tc := range []struct {
				name, list string
				telecom    []map[string]any
			}{
				{"home phone: a call", "call-patient", []map[string]any{{"system": "phone", "use": "home", "value": "416-555-0100"}}},
				{"no telecom, an address: a letter", "print-letter", []map[string]any{}},
			} {
				t.Run(tc.name, func(t *testing.T) {
					env := startReach(t, be.database(t), nil)
					post := postEncounter(t, env.m, encounterWithTelecom(t, tc.telecom))
					if post.status != http.StatusOK {
						t.Fatalf("POST encounter: %d %s", post.status, truncate(post.body))
					}
					fuID := workflow.FollowUpTaskID(post.idOf(t, "ServiceRequest"))
					q := url.Values{"work-list": {tc.list}, "focus": {"Task/" + fuID}, "status": {"requested"}}
					eventually(t, "the "+tc.list+" Task", func() bool { return len(searchMatches(t, env.m, "Task", q)) == 1 })
					task := searchMatches(t, env.m, "Task", q)[0]
					if !strings.Contains(fmt.Sprint(task["reasonCode"]), "follow-up-due") {
						t.Errorf("reasonCode %v, want follow-up-due", task["reasonCode"])
					}
					if tc.list == "print-letter" {
						data, _ := dig(asSlice(task["input"])[0], "valueAttachment", "data").(string)
						letter, err := base64Std(data)
						if err != nil || !linkRe.MatchString(letter) || strings.Contains(letter, "Amara") || !strings.Contains(letter, "Riverdale Health") {
							t.Errorf("letter (%v): want the link and the clinic, not the name:\n%s", err, letter)
						}
					}
					if n := len(env.smtp.Mails()) + env.sms.Attempts(); n != 0 {
						t.Errorf("%d emails or texts sent, want none", n)
					}
				})
			}
		})
	}
}

func base64Std(s string) (string, error) {
	b, err := base64.StdEncoding.DecodeString(s)
	return string(b), err
}
