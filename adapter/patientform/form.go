// Package patientform serves the patient's follow-up form: the page a
// reminder's signed link opens (GET /p/f/{token}), the answers it posts
// (POST /p/f/{token}), and a thank-you page (GET /p/thanks). It is outside
// /fhir and outside SMART authorisation: the link is the authorisation
// (socialrx.VerifyLink: HMAC-signed, expiring, naming the follow-up Task
// only), and single use by construction: the answer is stored as
// QuestionnaireResponse workflow.PatientAnswerID(task), which can be
// created once.
//
// The pages are server-rendered html/template, work without JavaScript,
// and show no PHI: not the patient's name, not the program or the need
// (someone else may hold the phone), only the clinic's name and the
// questions. A bad, forged, expired or used link gets a friendly page with
// a 4xx status and nothing else. Every page is sent with no-store, no
// referrer and a strict Content-Security-Policy (no script at all).
//
// Every request has an id (the client's X-Request-Id when it is a short
// token of safe characters, else a new UUID), echoed in X-Request-Id and
// named in the log lines. Answers that could not be stored are never lost
// silently: the page says they were not saved (5xx), asks the person to
// call the clinic and shows the id as a reference, and the log line
// "patient form failed" carries the same id and the error (paths and
// ids, never PHI).
package patientform

import (
	"context"
	"embed"
	"encoding/json"
	"html/template"
	"log/slog"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/socialrx/socialrx"
	"github.com/socialrx/socialrx/adapter/internal/reqid"
	"github.com/socialrx/socialrx/adapter/workflow"
	"github.com/socialrx/socialrx/fhir"
	"github.com/socialrx/socialrx/mapping"
)

//go:embed templates
var files embed.FS

var pages = template.Must(template.ParseFS(files, "templates/pages.html"))

// Config configures the form.
type Config struct {
	// Workflow stores the answer (Transact + Tx.Create) and reads the
	// follow-up Task and the Questionnaire through its store; required.
	Workflow *workflow.Workflow
	// LinkKey verifies links (the key the reminders were signed with).
	LinkKey []byte
	// Clinic is shown as who asks ("From Riverdale Health"); may be "".
	Clinic string
	Now    func() time.Time
	Logger *slog.Logger
}

// MaxBody bounds a posted form.
const MaxBody = 64 << 10

// Handler serves the form's routes.
type Handler struct {
	cfg Config
	mux *http.ServeMux
}

// New returns the form's handler; mount it at /p/ (it routes the full
// paths).
func New(cfg Config) *Handler {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	h := &Handler{cfg: cfg, mux: http.NewServeMux()}
	h.mux.HandleFunc("GET /p/f/{token}", h.show)
	h.mux.HandleFunc("POST /p/f/{token}", h.submit)
	h.mux.HandleFunc("GET /p/thanks", h.thanks)
	h.mux.HandleFunc("GET /p/form.css", h.css)
	h.mux.HandleFunc("/p/", func(w http.ResponseWriter, r *http.Request) {
		h.message(w, r, http.StatusNotFound, "badlink")
	})
	return h
}

// ServeHTTP sets the headers every page has and routes. The access log
// names the route, never the token (it is a credential).
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	hd := w.Header()
	hd.Set("Cache-Control", "no-store")
	hd.Set("Referrer-Policy", "no-referrer")
	hd.Set("X-Content-Type-Options", "nosniff")
	hd.Set("X-Frame-Options", "DENY")
	hd.Set("Content-Security-Policy", "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
	id := reqid.For(r.Header.Get(HeaderRequestID))
	hd.Set(HeaderRequestID, id)
	r = r.WithContext(context.WithValue(r.Context(), requestIDKey{}, id))
	rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
	start := time.Now()
	h.mux.ServeHTTP(rec, r)
	h.cfg.Logger.Info("patient form", "route", routeOf(r), "status", rec.status, "took", time.Since(start).String(), "request_id", id)
}

// HeaderRequestID is the request id header, as the FHIR API's.
const HeaderRequestID = reqid.Header

type requestIDKey struct{}

// requestIDOf returns the id ServeHTTP gave r.
func requestIDOf(r *http.Request) string {
	id, _ := r.Context().Value(requestIDKey{}).(string)
	return id
}

// routeOf names r's route, never the token (it is a credential).
func routeOf(r *http.Request) string {
	if strings.HasPrefix(r.URL.Path, "/p/f/") {
		return r.Method + " /p/f/{token}"
	}
	return r.Method + " " + r.URL.Path
}

type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (s *statusRecorder) WriteHeader(code int) {
	s.status = code
	s.ResponseWriter.WriteHeader(code)
}

// The friendly pages.
var messages = map[string]struct {
	title string
	lines []string
}{
	"badlink": {"This link does not work", []string{
		"The address may be incomplete: try opening it again from the message we sent, or copy all of it into your browser.",
		"If it still does not work, please call the clinic and we will ask you the questions on the phone."}},
	"expired": {"This link has expired", []string{
		"Links to our questions work for a limited time, and this one has run out.",
		"Please call the clinic if you would still like to tell us how it went. Thank you."}},
	"answered": {"You have already answered", []string{
		"Thank you: we have your answers. Each link can be used once.",
		"If you want to add something, please call the clinic."}},
	"notneeded": {"No answer needed", []string{
		"The clinic no longer needs an answer to these questions, so there is nothing to fill in. Thank you.",
		"If you have questions about your care, please call the clinic."}},
	"closed": {"Nothing to answer", []string{
		"The clinic has already closed this follow-up, so there is nothing more to fill in. Thank you.",
		"If you want to tell us something, please call the clinic."}},
	"stale": {"Please open the link again", []string{
		"This page was open too long or did not come from our link. Please open the link from our message again and send your answers."}},
	"unavailable": {"The questions are not available right now", []string{
		"Sorry, something is not working on our side. Please try again later, or call the clinic."}},
	"notsaved": {"Your answers were not saved", []string{
		"Sorry, something went wrong on our side and we could not keep your answers.",
		"Please try sending them again later, or call the clinic and we will ask you the questions on the phone."}},
	"thanks": {"Thank you", []string{
		"We have your answers. Your care team will see them.",
		"You can close this page."}},
}

// message writes a friendly page with status; a 5xx page gives the
// request id as the reference to quote.
func (h *Handler) message(w http.ResponseWriter, r *http.Request, status int, key string) {
	m := messages[key]
	lines := m.lines
	if id := requestIDOf(r); status >= 500 && id != "" {
		lines = append(lines[:len(lines):len(lines)], "If you call, please give this reference: "+id+".")
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_ = pages.ExecuteTemplate(w, "message", map[string]any{"Title": m.title, "Lines": lines})
}

func (h *Handler) thanks(w http.ResponseWriter, r *http.Request) {
	h.message(w, r, http.StatusOK, "thanks")
}

func (h *Handler) css(w http.ResponseWriter, _ *http.Request) {
	b, _ := files.ReadFile("templates/form.css")
	w.Header().Set("Content-Type", "text/css; charset=utf-8")
	_, _ = w.Write(b)
}

// followUp is what a good link opens.
type followUp struct {
	taskID, srID, patientID string
	q                       *questionnaire
}

// open checks the link and what it names; ok false means a page was
// written.
func (h *Handler) open(w http.ResponseWriter, r *http.Request) (*followUp, bool) {
	token := r.PathValue("token")
	l, problem := socialrx.VerifyLink(h.cfg.LinkKey, token, h.cfg.Now())
	switch problem {
	case socialrx.LinkMalformed, socialrx.LinkForged:
		h.cfg.Logger.Info("patient form: link refused", "problem", string(problem))
		h.message(w, r, http.StatusNotFound, "badlink")
		return nil, false
	case socialrx.LinkExpired:
		h.message(w, r, http.StatusGone, "expired")
		return nil, false
	}
	ctx := r.Context()
	st := h.cfg.Workflow.Store()
	fu, err := st.Read(ctx, "Task", l.TaskID)
	if err != nil {
		if c := socialrx.ErrorCode(err); c == socialrx.ENOTFOUND || c == socialrx.EGONE {
			h.message(w, r, http.StatusNotFound, "badlink")
		} else {
			h.fail(w, r, "unavailable", err)
		}
		return nil, false
	}
	f, isFollowUp, err := mapping.FollowUpFromTask(fu.Body)
	if err != nil || !isFollowUp {
		h.message(w, r, http.StatusNotFound, "badlink")
		return nil, false
	}
	if used, err := answerExists(ctx, st, l.TaskID); err != nil {
		h.fail(w, r, "unavailable", err)
		return nil, false
	} else if used {
		h.message(w, r, http.StatusGone, "answered")
		return nil, false
	}
	// A follow-up cancelled (its prescription revoked or entered in
	// error), or still open on such a prescription, is no longer needed.
	withdrawn, err := h.cfg.Workflow.FollowUpWithdrawn(ctx, f.PrescriptionID)
	if err != nil {
		h.fail(w, r, "unavailable", err)
		return nil, false
	}
	if withdrawn || f.Status == "cancelled" {
		h.message(w, r, http.StatusGone, "notneeded")
		return nil, false
	}
	if !socialrx.FollowUpOpen(f.Status) {
		h.message(w, r, http.StatusGone, "closed")
		return nil, false
	}
	q, err := h.questionnaire(ctx)
	if err != nil {
		h.cfg.Logger.Warn("patient form: no follow-up Questionnaire", "canonical", socialrx.FollowUpQuestionnaire, "error", socialrx.ErrorMessage(err))
		h.message(w, r, http.StatusServiceUnavailable, "unavailable")
		return nil, false
	}
	return &followUp{taskID: l.TaskID, srID: f.PrescriptionID, patientID: f.PatientID, q: q}, true
}

// answerExists reports whether the form's answer to taskID was stored
// (a deleted one counts: the link was used).
func answerExists(ctx context.Context, st socialrx.Resources, taskID string) (bool, error) {
	_, err := st.Read(ctx, "QuestionnaireResponse", workflow.PatientAnswerID(taskID))
	switch socialrx.ErrorCode(err) {
	case "":
		return true, nil
	case socialrx.EGONE:
		return true, nil
	case socialrx.ENOTFOUND:
		return false, nil
	}
	return false, err
}

// questionnaire reads the follow-up Questionnaire: the most recently
// stored active one with the canonical URL socialrx.FollowUpQuestionnaire.
func (h *Handler) questionnaire(ctx context.Context) (*questionnaire, error) {
	res, err := h.cfg.Workflow.Store().Search(ctx, socialrx.SearchRequest{Type: "Questionnaire",
		Params: url.Values{"url": {socialrx.FollowUpQuestionnaire}, "status": {"active"}, "_count": {"20"}}})
	if err != nil {
		return nil, err
	}
	var best *socialrx.Resource
	for i := range res.Matches {
		if m := &res.Matches[i]; best == nil || m.LastUpdated.After(best.LastUpdated) {
			best = m
		}
	}
	if best == nil {
		return nil, socialrx.Errorf(socialrx.ENOTFOUND, "no active Questionnaire %s", socialrx.FollowUpQuestionnaire)
	}
	return parseQuestionnaire(best.Body)
}

// fail logs err (its message and first issue: paths and ids, never PHI)
// with the request id and writes page key with status 500: "unavailable"
// when the form could not be shown, "notsaved" when answers could not be
// stored.
func (h *Handler) fail(w http.ResponseWriter, r *http.Request, key string, err error) {
	attrs := []any{"route", routeOf(r), "request_id", requestIDOf(r), "code", socialrx.ErrorCode(err), "error", socialrx.ErrorMessage(err)}
	if is := socialrx.ErrorIssues(err); len(is) > 0 { // which rule: a path and a message, no values
		attrs = append(attrs, "issues", len(is), "first_path", is[0].Path, "first_issue", is[0].Message)
	}
	h.cfg.Logger.Error("patient form failed", attrs...)
	h.message(w, r, http.StatusInternalServerError, key)
}

func (h *Handler) show(w http.ResponseWriter, r *http.Request) {
	fu, ok := h.open(w, r)
	if !ok {
		return
	}
	h.render(w, r, fu, answers{}, nil, http.StatusOK)
}

func (h *Handler) submit(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, MaxBody)
	if err := r.ParseForm(); err != nil {
		h.message(w, r, http.StatusBadRequest, "stale")
		return
	}
	fu, ok := h.open(w, r)
	if !ok {
		return
	}
	if !socialrx.FormTokenValid(h.cfg.LinkKey, r.PathValue("token"), r.PostForm.Get("_form")) {
		h.cfg.Logger.Info("patient form: post without its form token")
		h.message(w, r, http.StatusForbidden, "stale")
		return
	}
	a := answers{}
	for k, v := range r.PostForm {
		if id, ok := strings.CutPrefix(k, "q."); ok {
			a[id] = v
		}
	}
	if errs := check(fu.q, a); len(errs) > 0 {
		h.render(w, r, fu, a, errs, http.StatusUnprocessableEntity)
		return
	}
	body := h.response(fu, a)
	if _, issues := fhir.Decode(body, "QuestionnaireResponse"); len(issues) > 0 {
		h.fail(w, r, "notsaved", socialrx.Errorf(socialrx.EINTERNAL, "the form's QuestionnaireResponse is not valid R4: %s", issues[0].Path))
		return
	}
	used, notNeeded := false, false
	err := h.cfg.Workflow.Transact(r.Context(), func(tx *workflow.Tx) error {
		used, notNeeded = false, false
		// The follow-up may have closed since the page was read, or its
		// prescription been revoked.
		cur, err := tx.Read(r.Context(), "Task", fu.taskID)
		if err != nil {
			return err
		}
		f, ok, _ := mapping.FollowUpFromTask(cur.Body)
		if ok && f.Status == "cancelled" {
			notNeeded = true
			return nil
		}
		if !ok || !socialrx.FollowUpOpen(f.Status) {
			used = true
			return nil
		}
		if ended, err := tx.PrescriptionEnded(r.Context(), f.PrescriptionID); err != nil || ended {
			notNeeded = ended
			return err
		}
		_, err = tx.Create(r.Context(), "QuestionnaireResponse", workflow.PatientAnswerID(fu.taskID), body)
		if socialrx.ErrorCode(err) == socialrx.ECONFLICT {
			used = true // answered in the meantime (a double click, a second tab)
			return nil
		}
		return err
	})
	if err != nil {
		h.fail(w, r, "notsaved", err)
		return
	}
	if notNeeded {
		h.message(w, r, http.StatusGone, "notneeded")
		return
	}
	if used {
		h.message(w, r, http.StatusGone, "answered")
		return
	}
	h.cfg.Logger.Info("patient form answered", "task", "Task/"+fu.taskID)
	http.Redirect(w, r, "/p/thanks", http.StatusSeeOther)
}

// response is the QuestionnaireResponse of valid answers a (the contract
// with the follow-up outcome mapping): status completed, questionnaire
// url|version, subject and source the Patient, basedOn the prescription,
// authored now.
func (h *Handler) response(fu *followUp, a answers) []byte {
	qr := map[string]any{
		"resourceType":  "QuestionnaireResponse",
		"questionnaire": fu.q.Canonical(),
		"status":        "completed",
		"subject":       map[string]string{"reference": "Patient/" + fu.patientID},
		"authored":      h.cfg.Now().UTC().Format(time.RFC3339),
		"source":        map[string]string{"reference": "Patient/" + fu.patientID},
		"item":          responseItems(fu.q, a),
	}
	if fu.srID != "" {
		qr["basedOn"] = []map[string]string{{"reference": "ServiceRequest/" + fu.srID}}
	}
	b, _ := json.Marshal(qr)
	return b
}

// The view of the form.
type itemView struct {
	Type, Text, ID, Name, Hint, Error, Value string
	Required, Fieldset                       bool
	InputType                                string // radio or checkbox, in a fieldset
	Options                                  []optionView
	HasMin, HasMax                           bool
	Min, Max                                 int
	Items                                    []itemView
}

type optionView struct {
	ID, Value, Label string
	Checked          bool
}

type errorView struct{ ID, Text, Message string }

var notIDChar = regexp.MustCompile(`[^A-Za-z0-9_-]`)

func fieldID(linkID string) string { return "q-" + notIDChar.ReplaceAllString(linkID, "_") }

// uniqueOptionIDs renames the options whose id is taken: an option id is
// its item's and its code's ("q-barriers-other", the checkbox "Other"),
// which may be another item's id (the text box "q-barriers-other") or one
// the page makes from an item's (-h, -hint, -err). Two elements with one
// id leave a label tied to the wrong input. Item ids are kept (the error
// summary links to them); a renamed option gets "-opt" (then "-opt2", ...).
func uniqueOptionIDs(items []itemView) {
	taken := map[string]bool{}
	var reserve func([]itemView)
	reserve = func(items []itemView) {
		for i := range items {
			for _, suffix := range []string{"", "-h", "-hint", "-err"} {
				taken[items[i].ID+suffix] = true
			}
			reserve(items[i].Items)
		}
	}
	reserve(items)
	var rename func([]itemView)
	rename = func(items []itemView) {
		for i := range items {
			for j := range items[i].Options {
				o := &items[i].Options[j]
				id := o.ID
				for n := 1; taken[id]; n++ {
					id = o.ID + "-opt"
					if n > 1 {
						id += strconv.Itoa(n)
					}
				}
				o.ID = id
				taken[id] = true
			}
			rename(items[i].Items)
		}
	}
	rename(items)
}

func (h *Handler) render(w http.ResponseWriter, r *http.Request, fu *followUp, a answers, errs map[string]string, status int) {
	byID := map[string]*item{}
	index(fu.q.Items, byID)
	var errList []errorView
	var view func(items []item) []itemView
	view = func(items []item) []itemView {
		var out []itemView
		for i := range items {
			it := &items[i]
			if it.ReadOnly {
				continue // calculated by socialrx, not asked
			}
			v := itemView{Type: it.Type, Text: it.Text, ID: fieldID(it.LinkID), Name: "q." + it.LinkID,
				Required: it.Required, Hint: hint(it, byID), Error: errs[it.LinkID], Value: a.first(it.LinkID)}
			if v.Error != "" {
				errList = append(errList, errorView{ID: v.ID, Text: it.Text, Message: v.Error})
			}
			switch it.Type {
			case "group":
				v.Items = view(it.Items)
				if !it.Required {
					v.Hint = "Optional: answer all of these questions, or leave them all empty."
				}
			case "choice", "open-choice":
				v.Fieldset, v.InputType = true, "radio"
				if it.Repeats {
					v.InputType = "checkbox"
				}
				for j, o := range it.Options {
					if o.ValueCoding == nil {
						continue
					}
					label := o.ValueCoding.Display
					if label == "" {
						label = o.ValueCoding.Code
					}
					ov := optionView{ID: v.ID + "-" + notIDChar.ReplaceAllString(o.ValueCoding.Code, "_"), Value: o.ValueCoding.Code, Label: label}
					if ov.ID == v.ID+"-" {
						ov.ID += string(rune('a' + j%26))
					}
					for _, got := range a[it.LinkID] {
						ov.Checked = ov.Checked || got == o.ValueCoding.Code
					}
					v.Options = append(v.Options, ov)
				}
			case "boolean":
				v.Fieldset, v.InputType = true, "radio"
				for _, o := range []struct{ val, label string }{{"true", "Yes"}, {"false", "No"}} {
					v.Options = append(v.Options, optionView{ID: v.ID + "-" + o.val, Value: o.val, Label: o.label, Checked: v.Value == o.val})
				}
			case "integer":
				v.Min, v.HasMin = it.bound(extMinValue)
				v.Max, v.HasMax = it.bound(extMaxValue)
			}
			out = append(out, v)
		}
		return out
	}
	items := view(fu.q.Items)
	uniqueOptionIDs(items)
	title := fu.q.Title
	if title == "" {
		title = "How did it go?"
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	token := r.PathValue("token")
	if err := pages.ExecuteTemplate(w, "form", map[string]any{
		"Title": title, "Clinic": h.cfg.Clinic, "Items": items, "Errors": errList,
		"Action": "/p/f/" + token, "FormToken": socialrx.FormToken(h.cfg.LinkKey, token),
	}); err != nil {
		h.cfg.Logger.Error("patient form: render", "error", err.Error())
	}
}
