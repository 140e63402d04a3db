package patientform

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/socialrx/socialrx"
	"github.com/socialrx/socialrx/adapter/sqlite"
	"github.com/socialrx/socialrx/adapter/workflow"
	"github.com/socialrx/socialrx/mapping"
)

var key = []byte("0123456789abcdef0123456789abcdef")

type env struct {
	srv   *httptest.Server
	wf    *workflow.Workflow
	now   time.Time
	token string
	fuID  string
}

// fixture is the test Questionnaire: the follow-up's shape, small.
func fixture(t *testing.T) []byte {
	t.Helper()
	q, err := os.ReadFile("testdata/followup-questionnaire.json")
	if err != nil {
		t.Fatal(err)
	}
	return q
}

// setup stores a patient and a self-directed social prescription (the
// workflow gives it its follow-up Task) and q, when not nil, as the
// follow-up Questionnaire.
func setup(t *testing.T, q []byte) *env {
	t.Helper()
	s, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "x.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	if err := s.Migrate(t.Context()); err != nil {
		t.Fatal(err)
	}
	wf := workflow.New(s, workflow.Options{})
	e := &env{wf: wf, now: time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC), fuID: workflow.FollowUpTaskID("sr-1")}
	err = wf.Transact(t.Context(), func(tx *workflow.Tx) error {
		if _, err := tx.Create(t.Context(), "Patient", "p1", []byte(`{"resourceType":"Patient","id":"p1","name":[{"given":["Zelda"],"family":"Quist"}]}`)); err != nil {
			return err
		}
		if _, err := tx.Create(t.Context(), "ServiceRequest", "sr-1", []byte(`{"resourceType":"ServiceRequest","id":"sr-1","status":"active","intent":"order",
"category":[{"coding":[{"system":"http://snomed.info/sct","code":"410606002","display":"Social service procedure"}]}],
"code":{"coding":[{"system":"http://snomed.info/sct","code":"710925007","display":"Provision of social service"}]},
"subject":{"reference":"Patient/p1"},"authoredOn":"2026-11-20T12:00:00Z"}`)); err != nil {
			return err
		}
		if q != nil {
			_, err := tx.Create(t.Context(), "Questionnaire", "test-follow-up", q)
			return err
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	h := New(Config{Workflow: wf, LinkKey: key, Clinic: "Riverdale Health", Now: func() time.Time { return e.now }})
	e.srv = httptest.NewServer(h)
	t.Cleanup(e.srv.Close)
	e.token = socialrx.SignLink(key, socialrx.FormLink{TaskID: e.fuID, Expires: e.now.Add(socialrx.DefaultLinkTTL)})
	return e
}

func (e *env) get(t *testing.T, path string) (int, http.Header, string) {
	t.Helper()
	resp, err := http.Get(e.srv.URL + path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, string(b)
}

func (e *env) post(t *testing.T, form url.Values) (int, string) {
	t.Helper()
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.PostForm(e.srv.URL+"/p/f/"+e.token, form)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func (e *env) answers(t *testing.T) int {
	t.Helper()
	_, err := e.wf.Store().Read(context.Background(), "QuestionnaireResponse", workflow.PatientAnswerID(e.fuID))
	if socialrx.ErrorCode(err) == socialrx.ENOTFOUND {
		return 0
	} else if err != nil {
		t.Fatal(err)
	}
	return 1
}

func TestFormPage(t *testing.T) {
	e := setup(t, fixture(t))
	code, h, body := e.get(t, "/p/f/"+e.token)
	if code != 200 {
		t.Fatalf("GET: %d\n%s", code, body)
	}
	for _, want := range []string{`<html lang="en">`, `<legend>Were you able to take up the support we suggested? <span class="req">(required)</span></legend>`,
		`<input type="radio" name="q.pursued" id="q-pursued-yes" value="yes"><label for="q-pursued-yes">Yes</label>`,
		`<input type="checkbox" name="q.barriers" id="q-barriers-cost" value="cost">`,
		`<label for="q-satisfaction">`, `min="1" max="5"`, `Answer only if you chose “No” or “Partly” above.`,
		`name="_form" value="` + socialrx.FormToken(key, e.token) + `"`, "From Riverdale Health"} {
		if !strings.Contains(body, want) {
			t.Errorf("the page lacks %s", want)
		}
	}
	for _, phi := range []string{"Zelda", "Quist", "Patient/p1", "sr-1", "<script"} {
		if strings.Contains(body, phi) {
			t.Errorf("the page carries %q", phi)
		}
	}
	// Every id once, and every label tied to an element that exists: the
	// checkbox "Other" (barriers) and the text box barriers-other had one
	// id, which left the text box without its label.
	ids := map[string]int{}
	for _, m := range regexp.MustCompile(` id="([^"]+)"`).FindAllStringSubmatch(body, -1) {
		ids[m[1]]++
	}
	for id, n := range ids {
		if n > 1 {
			t.Errorf("id %q is on %d elements", id, n)
		}
	}
	for _, m := range regexp.MustCompile(` for="([^"]+)"`).FindAllStringSubmatch(body, -1) {
		if ids[m[1]] != 1 {
			t.Errorf("a label is for %q, which is on %d elements", m[1], ids[m[1]])
		}
	}
	for _, want := range []string{`<input type="checkbox" name="q.barriers" id="q-barriers-other-opt" value="other"><label for="q-barriers-other-opt">`,
		`<label for="q-barriers-other">`, `name="q.barriers-other" id="q-barriers-other"`} {
		if !strings.Contains(body, want) {
			t.Errorf("the page lacks %s", want)
		}
	}
	if h.Get("Cache-Control") != "no-store" || h.Get("Referrer-Policy") != "no-referrer" || !strings.Contains(h.Get("Content-Security-Policy"), "default-src 'none'") {
		t.Errorf("headers %v: want no-store, no-referrer and a strict CSP", h)
	}
}

func TestFormRefusesBadLinks(t *testing.T) {
	e := setup(t, fixture(t))
	forged := socialrx.SignLink([]byte("another-key-another-key-another-k"), socialrx.FormLink{TaskID: e.fuID, Expires: e.now.Add(time.Hour)})
	unknown := socialrx.SignLink(key, socialrx.FormLink{TaskID: "fu-nope", Expires: e.now.Add(time.Hour)})
	expired := socialrx.SignLink(key, socialrx.FormLink{TaskID: e.fuID, Expires: e.now})
	for _, tc := range []struct {
		path string
		code int
		says string
	}{
		{"/p/f/garbage", 404, "This link does not work"},
		{"/p/f/" + forged, 404, "This link does not work"},
		{"/p/f/" + unknown, 404, "This link does not work"},
		{"/p/f/" + expired, 410, "This link has expired"},
		{"/p/f/" + strings.Repeat("x", 5000), 404, "This link does not work"},
		{"/p/elsewhere", 404, "This link does not work"},
	} {
		code, _, body := e.get(t, tc.path)
		if code != tc.code || !strings.Contains(body, tc.says) || strings.Contains(body, "<form") || strings.Contains(body, "goroutine") {
			t.Errorf("GET %.40s: %d, want %d and %q, no form, no trace:\n%s", tc.path, code, tc.code, tc.says, body)
		}
	}
}

// TestFormSubmit answers the shipped follow-up Questionnaire, which the
// workflow checks a follow-up response against.
func TestFormSubmit(t *testing.T) {
	e := setup(t, mapping.FollowUpQuestionnaire())
	good := url.Values{"_form": {socialrx.FormToken(key, e.token)}, "q.pursued": {"yes"}, "q.barriers": {"cost"},
		"q.satisfaction": {"5"}, "q.wellbeing": {"same"}, "q.next-step": {"done"}}

	// Without the form token: refused, nothing stored.
	bad := url.Values{}
	for k, v := range good {
		bad[k] = v
	}
	bad.Del("_form")
	if code, _ := e.post(t, bad); code != http.StatusForbidden || e.answers(t) != 0 {
		t.Errorf("POST without the form token: %d, %d answers; want 403, none", code, e.answers(t))
	}
	bad.Set("_form", socialrx.FormToken(key, "another-link"))
	if code, _ := e.post(t, bad); code != http.StatusForbidden {
		t.Errorf("POST with another link's form token: %d, want 403", code)
	}

	// Invalid answers: 422, errors beside the fields, answers kept.
	inv := url.Values{"_form": {socialrx.FormToken(key, e.token)}, "q.pursued": {"maybe"}, "q.satisfaction": {"9"}, "q.wellbeing": {"better"}}
	code, body := e.post(t, inv)
	if code != http.StatusUnprocessableEntity || e.answers(t) != 0 {
		t.Fatalf("invalid POST: %d, %d answers; want 422, none", code, e.answers(t))
	}
	for _, want := range []string{`Please check 3 answers`, `id="q-satisfaction" value="9" min="1" max="5" aria-invalid="true" aria-describedby="q-satisfaction-err"`,
		`<p class="error" id="q-satisfaction-err"><span class="visually-hidden">Error: </span>Please enter a number from 1 to 5.</p>`,
		`Please choose one of the answers shown.`, `id="q-wellbeing-better" value="better" checked`, `id="q-next-step"`} {
		if !strings.Contains(body, want) {
			t.Errorf("the invalid page lacks %s", want)
		}
	}

	// Valid: stored, barriers dropped (enableWhen: only when not pursued).
	if code, _ := e.post(t, good); code != http.StatusSeeOther {
		t.Fatalf("POST: %d, want 303", code)
	}
	res, err := e.wf.Store().Read(t.Context(), "QuestionnaireResponse", workflow.PatientAnswerID(e.fuID))
	if err != nil {
		t.Fatal(err)
	}
	var qr map[string]any
	_ = json.Unmarshal(res.Body, &qr)
	s := string(res.Body)
	if qr["status"] != "completed" || qr["questionnaire"] != socialrx.FollowUpQuestionnaire+"|1.0.0" ||
		!strings.Contains(s, `"subject":{"reference":"Patient/p1"}`) || !strings.Contains(s, `"source":{"reference":"Patient/p1"}`) ||
		!strings.Contains(s, `"basedOn":[{"reference":"ServiceRequest/sr-1"}]`) || qr["authored"] != "2026-12-04T12:00:00Z" {
		t.Errorf("QuestionnaireResponse: %s", s)
	}
	if !strings.Contains(s, `"answer":[{"valueInteger":5}]`) || strings.Contains(s, "ucla") || strings.Contains(s, "promis") {
		t.Errorf("items: want satisfaction 5 and the optional scales left out: %s", s)
	}
	// Used: a second post and a second open get the friendly page.
	if code, body := e.post(t, good); code != http.StatusGone || !strings.Contains(body, "already answered") {
		t.Errorf("second POST: %d, want 410 already answered", code)
	}
	if code, _, body := e.get(t, "/p/f/"+e.token); code != http.StatusGone || !strings.Contains(body, "already answered") {
		t.Errorf("second GET: %d, want 410 already answered", code)
	}
	if code, _, body := e.get(t, "/p/thanks"); code != 200 || !regexp.MustCompile(`<h1 id="message">Thank you</h1>`).MatchString(body) {
		t.Errorf("thanks: %d %s", code, body)
	}
}

func TestFormClosedOrUnavailable(t *testing.T) {
	e := setup(t, nil)
	if code, _, body := e.get(t, "/p/f/"+e.token); code != http.StatusServiceUnavailable || !strings.Contains(body, "not available") {
		t.Errorf("no Questionnaire: %d, want 503", code)
	}
	err := e.wf.Transact(t.Context(), func(tx *workflow.Tx) error {
		f := socialrx.FollowUp{PrescriptionID: "sr-1", PatientID: "p1", Due: e.now, Channel: socialrx.ContactEmail, Status: "completed"}
		_, _, err := tx.Update(t.Context(), "Task", e.fuID, mapping.FollowUpTask(f, e.fuID, e.now), 0)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if code, _, body := e.get(t, "/p/f/"+e.token); code != http.StatusGone || !strings.Contains(body, "Nothing to answer") {
		t.Errorf("completed follow-up: %d, want 410 closed", code)
	}
}

func TestEnableWhenAndOptionalGroups(t *testing.T) {
	q, err := parseQuestionnaire(fixture(t))
	if err != nil {
		t.Fatal(err)
	}
	linkIDs := func(items []qrItem) string {
		var ids []string
		for _, it := range items {
			ids = append(ids, it.LinkID)
		}
		return strings.Join(ids, ",")
	}
	base := answers{"satisfaction": {"3"}, "wellbeing": {"same"}, "next-step": {"done"}}
	with := func(extra answers) answers {
		a := answers{}
		for k, v := range base {
			a[k] = v
		}
		for k, v := range extra {
			a[k] = v
		}
		return a
	}
	for _, tc := range []struct {
		a    answers
		want string
	}{
		{with(answers{"pursued": {"yes"}, "barriers": {"cost"}, "barriers-other": {"bus"}}), "pursued,satisfaction,wellbeing,next-step"},
		{with(answers{"pursued": {"no"}, "barriers": {"cost"}, "barriers-other": {"bus"}}), "pursued,barriers,satisfaction,wellbeing,next-step"},
		{with(answers{"pursued": {"partly"}, "barriers": {"cost", "other"}, "barriers-other": {"bus"}}), "pursued,barriers,barriers-other,satisfaction,wellbeing,next-step"},
	} {
		if errs := check(q, tc.a); len(errs) != 0 {
			t.Errorf("%v: errors %v", tc.a, errs)
		}
		if got := linkIDs(responseItems(q, tc.a)); got != tc.want {
			t.Errorf("%v: items %s, want %s", tc.a, got, tc.want)
		}
	}

	// The shipped Questionnaire's scales are optional groups of required
	// items; their totals are read-only.
	shipped, err := parseQuestionnaire(mapping.FollowUpQuestionnaire())
	if err != nil {
		t.Fatal(err)
	}
	a := answers{"pursued": {"yes"}, "next-step": {"done"}}
	if errs := check(shipped, a); len(errs) != 0 {
		t.Errorf("no scale answered: errors %v, want none", errs)
	}
	a["ucla-3-left-out"] = []string{"often"}
	errs := check(shipped, a)
	if len(errs) != 2 || errs["ucla-3-companionship"] == "" || errs["ucla-3-isolated"] == "" {
		t.Errorf("one UCLA item answered: errors %v, want the other two", errs)
	}
	a["ucla-3-total"] = []string{"9"}
	a["ucla-3-companionship"], a["ucla-3-isolated"] = []string{"often"}, []string{"often"}
	if errs := check(shipped, a); len(errs) != 0 {
		t.Errorf("UCLA answered: errors %v", errs)
	}
	if got := fmt.Sprint(responseItems(shipped, a)); strings.Contains(got, "ucla-3-total") {
		t.Errorf("a read-only total was posted: %s", got)
	}
}

// TestFormAnswersNotSaved: when the answers cannot be stored (here the
// follow-up names a prescription socialrx does not hold, so the workflow
// refuses the response), the person is told they were not saved (500,
// not the "try again later" of a form that could not be shown), with the
// request id as the reference to quote; the log line names the same id
// and the rule, never the patient; nothing is stored.
func TestFormAnswersNotSaved(t *testing.T) {
	e := setup(t, mapping.FollowUpQuestionnaire())
	var logs strings.Builder
	fuID := workflow.FollowUpTaskID("sr-gone")
	err := e.wf.Transact(t.Context(), func(tx *workflow.Tx) error {
		f := socialrx.FollowUp{PrescriptionID: "sr-gone", PatientID: "p1", Due: e.now, Channel: socialrx.ContactEmail, Status: "requested"}
		_, err := tx.Create(t.Context(), "Task", fuID, mapping.FollowUpTask(f, fuID, e.now))
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	h := New(Config{Workflow: e.wf, LinkKey: key, Now: func() time.Time { return e.now },
		Logger: slog.New(slog.NewJSONHandler(&logs, nil))})
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	token := socialrx.SignLink(key, socialrx.FormLink{TaskID: fuID, Expires: e.now.Add(socialrx.DefaultLinkTTL)})
	form := url.Values{"_form": {socialrx.FormToken(key, token)}, "q.pursued": {"yes"},
		"q.satisfaction": {"2"}, "q.wellbeing": {"same"}, "q.next-step": {"try-alternative"}}
	req, _ := http.NewRequest("POST", srv.URL+"/p/f/"+token, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("X-Request-Id", "req-42")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	body := string(b)
	if resp.StatusCode != http.StatusInternalServerError || !strings.Contains(body, "Your answers were not saved") ||
		!strings.Contains(body, "reference: req-42") || resp.Header.Get("X-Request-Id") != "req-42" {
		t.Errorf("POST: %d, X-Request-Id %q\n%s\nwant 500, the not-saved page with reference req-42", resp.StatusCode, resp.Header.Get("X-Request-Id"), body)
	}
	if _, err := e.wf.Store().Read(t.Context(), "QuestionnaireResponse", workflow.PatientAnswerID(fuID)); socialrx.ErrorCode(err) != socialrx.ENOTFOUND {
		t.Errorf("the refused answer was stored (err %v)", err)
	}
	var failed map[string]any
	for _, line := range strings.Split(strings.TrimSpace(logs.String()), "\n") {
		var m map[string]any
		if json.Unmarshal([]byte(line), &m) == nil && m["msg"] == "patient form failed" {
			failed = m
		}
	}
	if failed == nil || failed["request_id"] != "req-42" || failed["first_path"] != "QuestionnaireResponse.basedOn" || failed["route"] != "POST /p/f/{token}" {
		t.Errorf("log line: %v; want request_id req-42, the rule's path and the route without the token\n%s", failed, logs.String())
	}
	for _, phi := range []string{"Zelda", "Quist", token} {
		if strings.Contains(logs.String(), phi) {
			t.Errorf("the log carries %q", phi)
		}
	}
	// A request without a usable id gets one.
	code, hd, _ := e.get(t, "/p/thanks")
	if code != 200 || len(hd.Get("X-Request-Id")) != 36 {
		t.Errorf("GET thanks: %d, X-Request-Id %q; want a generated UUID", code, hd.Get("X-Request-Id"))
	}
}
