package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	netmail "net/mail"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"github.com/socialrx/socialrx"
	"github.com/socialrx/socialrx/adapter/notify"
	"github.com/socialrx/socialrx/adapter/notify/notifytest"
	"github.com/socialrx/socialrx/adapter/workflow"
	"github.com/socialrx/socialrx/cmd/internal/fake"
)

// DemoCmd runs the whole loop on a temp database, with an in-process
// Ocean-style platform, EMR and mail server, and prints what happens: the
// warm hand-off, then the follow-up (reminder, form, outcome) and the
// program report.
type DemoCmd struct {
	Keep bool `help:"Keep the temp database and print its path."`
}

const (
	demoInbound = "demo-inbound-bearer-0123456789abcdef"
	demoClient  = "socialrx-demo"
	demoSecret  = "demo-secret"
)

// Run starts socialrx on a temp SQLite database with a fake platform and a
// fake EMR, posts an encounter with a warm hand-off, plays the platform's
// side (received, accepted, an appointment, completed) and prints the
// referral's states and the EMR write-backs.
func (c *DemoCmd) Run(ctx context.Context) error {
	dir, err := os.MkdirTemp("", "socialrx-demo-")
	if err != nil {
		return err
	}
	if !c.Keep {
		defer os.RemoveAll(dir)
	}
	platform := NewFakePlatform(demoClient, demoSecret)
	ps := httptest.NewServer(platform)
	defer ps.Close()
	emrFake := NewFakeEMR()
	es := httptest.NewServer(emrFake)
	defer es.Close()
	mail, err := notifytest.ListenSMTP()
	if err != nil {
		return fmt.Errorf("start the demo mail server: %w", err)
	}
	defer mail.Close()
	creds := filepath.Join(dir, "credentials.json")
	if err := writeCredentials(creds, ps.URL, demoClient, demoSecret, demoInbound); err != nil {
		return err
	}
	if err := addDemoMail(creds, mail); err != nil {
		return err
	}
	cfg := DefaultConfig()
	cfg.Listen = "127.0.0.1:0"
	cfg.Database = "sqlite:" + filepath.Join(dir, "socialrx.db")
	cfg.Credentials = creds
	cfg.RetryBase = 200 * time.Millisecond
	m := NewMain(cfg, nil)
	if err := m.Run(ctx); err != nil {
		m.Close()
		return err
	}
	defer m.Close()
	base := m.URL() + "/fhir"
	fmt.Printf("socialrx     %s   (temp database %s)\n", base, dir)
	fmt.Printf("platform     %s/fhir   (Ocean-style, in process)\n", ps.URL)
	fmt.Printf("EMR          %s/fhir   (in process)\n", es.URL)
	fmt.Printf("mail server  smtp://%s:%d   (in process)\n\n", mail.Host, mail.Port)

	step := func(format string, args ...any) { fmt.Printf("• "+format+"\n", args...) }
	call := func(method, url, body string, header ...string) (int, []byte, error) {
		req, err := http.NewRequestWithContext(ctx, method, url, strings.NewReader(body))
		if err != nil {
			return 0, nil, err
		}
		req.Header.Set("Content-Type", "application/fhir+json")
		for i := 0; i+1 < len(header); i += 2 {
			req.Header.Set(header[i], header[i+1])
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return 0, nil, err
		}
		defer resp.Body.Close()
		rb, err := io.ReadAll(resp.Body)
		return resp.StatusCode, rb, err
	}
	for _, ep := range []struct{ id, addr string }{{"ocean-east", ps.URL + "/fhir"}, {"emr-riverdale", es.URL + "/fhir"}} {
		if st, rb, err := call("PUT", base+"/Endpoint/"+ep.id, fake.EndpointBody(ep.id, ep.addr)); err != nil || st/100 != 2 {
			return fmt.Errorf("set up Endpoint/%s: %d %s %v", ep.id, st, rb, err)
		}
	}
	step("set up Endpoint/ocean-east (hl7-fhir-msg, the platform) and Endpoint/emr-riverdale (hl7-fhir-rest, the practice's EMR)")

	// Prescribed three weeks ago: the follow-up (21 days after a warm
	// hand-off) is due now.
	authored := time.Now().UTC().AddDate(0, 0, -22).Truncate(time.Minute)
	st, rb, err := call("POST", base, demoLoopEncounter(authored))
	if err != nil || st != http.StatusOK {
		return fmt.Errorf("post the encounter: %d %s %v", st, rb, err)
	}
	ids := entryIDs(rb)
	patientID, srID, taskID := ids[3], ids[4], ids[5]
	step("EMR posted an encounter of %s: a warm hand-off (ServiceRequest/%s, referral Task/%s) to East Housing Help", authored.Format("2 January"), srID, taskID)

	show := func(what string) error {
		pp, err := m.Store.Projection(ctx, patientID)
		if err != nil || len(pp.Referrals) != 1 {
			return fmt.Errorf("read the referral: %v", err)
		}
		r := pp.Referrals[0]
		line := fmt.Sprintf("referral %-12s delivery %-9s", r.Status, r.DeliveryState)
		if r.BusinessStatus != "" {
			line += "  (" + r.BusinessStatus + ")"
		}
		step("%s\n    %s", what, line)
		return nil
	}
	if err := show("socialrx queued the add-service-request in the same transaction"); err != nil {
		return err
	}
	if err := waitFor(ctx, func() bool { return len(platform.Messages()) >= 1 }); err != nil {
		return fmt.Errorf("the platform never got the referral: %w", err)
	}
	msg := platform.Messages()[0]
	step("platform received message %s: %s, focus %s", msg.ID, msg.Event, msg.Focus)
	if err := waitFor(ctx, func() bool {
		pp, _ := m.Store.Projection(ctx, patientID)
		return pp != nil && len(pp.Referrals) == 1 && pp.Referrals[0].DeliveryState == socialrx.DeliveryDelivered
	}); err != nil {
		return err
	}
	if err := show("the platform acknowledged it"); err != nil {
		return err
	}

	n := 0
	send := func(event, focus string, resources ...string) error {
		n++
		id := fmt.Sprintf("d0000000-0000-4000-8000-%012d", n)
		st, rb, err := call("POST", base+"/$process-messages", PlatformMessage(id, event, focus, resources...), "Authorization", "Bearer "+demoInbound)
		if err != nil || st != http.StatusOK {
			return fmt.Errorf("platform message %s: %d %s %v", event, st, rb, err)
		}
		return nil
	}
	for _, s := range []struct{ status, why string }{{"received", "the program received the referral"}, {"accepted", "the program accepted it"}} {
		if err := send("notify-update-process-request", "Task/"+taskID, PlatformTask(taskID, srID, s.status, "")); err != nil {
			return err
		}
		if err := show("platform → socialrx: notify-update-process-request, " + s.why); err != nil {
			return err
		}
	}
	appt := `{"resourceType":"Appointment","status":"booked","identifier":[{"system":"https://ocean.example/appointment","value":"A-77"}],"start":"2026-12-01T15:00:00Z","end":"2026-12-01T15:30:00Z","participant":[{"actor":{"reference":"Patient/` + patientID + `"},"status":"accepted"}]}`
	if err := send("notify-add-appointment", "ServiceRequest/"+srID, appt); err != nil {
		return err
	}
	step("platform → socialrx: notify-add-appointment (intake on 2026-12-01 15:00)")
	if err := send("notify-update-process-request", "Task/"+taskID, PlatformTask(taskID, srID, "completed", "")); err != nil {
		return err
	}
	if err := show("platform → socialrx: notify-update-process-request, the person completed the program"); err != nil {
		return err
	}
	if err := waitFor(ctx, func() bool { return len(emrFake.Writes()) >= 4 }); err != nil {
		return fmt.Errorf("the write-backs did not all reach the EMR: %w", err)
	}
	step("written back to the EMR:")
	for _, w := range emrFake.Writes() {
		var r struct{ Status string }
		_ = json.Unmarshal(w.Body, &r)
		fmt.Printf("    %-4s %-12s identifier %-52s status %s\n", w.Method, w.Type, w.Identifier, r.Status)
	}
	fmt.Println("\nThe hand-off is closed: delivered once, every status back in the chart.")
	fmt.Println()
	if err := demoFollowUp(ctx, m, mail, emrFake, step, srID); err != nil {
		return err
	}
	// The clinician billed the visit under an OHIP general code.
	charge := `{"resourceType":"ChargeItem","status":"billed",
"code":{"coding":[{"system":"http://socialrx.dev/fhir/CodeSystem/ohip-fee-code","code":"K013"}]},
"subject":{"reference":"Patient/` + patientID + `"},"occurrenceDateTime":"` + authored.Format(time.DateOnly) + `"}`
	if st, rb, err := call("POST", base+"/ChargeItem", charge); err != nil || st != http.StatusCreated {
		return fmt.Errorf("post the ChargeItem: %d %s %v", st, rb, err)
	}
	step("the visit was billed under OHIP K013 (a ChargeItem)")

	// What works: the program report over the month of the prescription.
	from := authored.AddDate(0, 0, -1).Truncate(24 * time.Hour)
	to := time.Now().UTC().AddDate(0, 0, 1).Truncate(24 * time.Hour)
	rep, err := programReport(ctx, m.Store, from, to)
	if err != nil {
		return fmt.Errorf("program report: %w", err)
	}
	if rep.Total.Prescriptions != 1 || rep.Total.Pursued != 1 || len(rep.Billed) != 1 {
		return fmt.Errorf("program report: %d prescriptions, %d pursued, %d fee codes billed; want the demo's 1, 1 and 1",
			rep.Total.Prescriptions, rep.Total.Pursued, len(rep.Billed))
	}
	// Its days are UTC days: the command shown says so (report programs
	// reads dates in America/Toronto unless told).
	step("the program report (socialrx report programs --from %s --to %s --tz UTC):\n", from.Format(time.DateOnly), to.Format(time.DateOnly))
	if err := writeReportTable(os.Stdout, rep); err != nil {
		return err
	}
	fmt.Println("\nThe loop is closed: followed up on the patient's channel, the answer in the chart, the program's rates reported.")
	return nil
}

// demoFollowUp plays the second half of the loop: the follow-up reminder
// email arrives at the demo mail server, the patient opens its link and
// answers the form, and the outcome is written back to the EMR.
func demoFollowUp(ctx context.Context, m *Main, mail *notifytest.SMTPServer, emrFake *FakeEMR, step func(string, ...any), srID string) error {
	got, ok := mail.WaitFor(1, 30*time.Second)
	if !ok {
		return fmt.Errorf("the follow-up reminder email never arrived")
	}
	msg, err := netmail.ReadMessage(strings.NewReader(got.Data))
	if err != nil {
		return fmt.Errorf("read the reminder email: %w", err)
	}
	link := demoLinkRe.FindString(mailPlainText(msg))
	if link == "" {
		return fmt.Errorf("no link in the reminder email")
	}
	step("the follow-up was due: a reminder email to %s, %q, with a link\n    %s", strings.Join(got.To, ", "), msg.Header.Get("Subject"), link)

	resp, err := http.Get(link)
	if err != nil {
		return err
	}
	page, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	tok := demoFormTokenRe.FindSubmatch(page)
	if err != nil || resp.StatusCode != http.StatusOK || tok == nil {
		return fmt.Errorf("open the link: %d %v", resp.StatusCode, err)
	}
	step("the patient opened it: the follow-up form (%d bytes of HTML, no login, nothing of theirs in the URL)", len(page))
	form := url.Values{"_form": {string(tok[1])}, "q.pursued": {"yes"}, "q.satisfaction": {"5"},
		"q.wellbeing": {"better"}, "q.next-step": {"done"}}
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err = noRedirect.PostForm(link, form)
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther {
		return fmt.Errorf("answer the form: %d", resp.StatusCode)
	}
	step("and answered: went to the program, satisfaction 5 of 5, feeling better, needs nothing more")

	fuID := workflow.FollowUpTaskID(srID)
	var fu struct{ Status string }
	if err := waitFor(ctx, func() bool {
		r, err := m.Store.Read(ctx, "Task", fuID)
		return err == nil && json.Unmarshal(r.Body, &fu) == nil && fu.Status == "completed"
	}); err != nil {
		return fmt.Errorf("the follow-up Task was not completed: %w", err)
	}
	obs, err := demoObservations(ctx, m.URL()+"/fhir/Observation?based-on=ServiceRequest/"+srID)
	if err != nil {
		return err
	}
	step("socialrx recorded the outcome: follow-up Task/%s %s, and %d Observations:", fuID, fu.Status, len(obs))
	for _, o := range obs {
		fmt.Printf("    %s\n", o)
	}
	if err := waitFor(ctx, func() bool {
		return countWrites(emrFake, "QuestionnaireResponse") >= 1 && countWrites(emrFake, "Communication") >= 1
	}); err != nil {
		return fmt.Errorf("the outcome did not reach the EMR: %w", err)
	}
	step("written back to the EMR:")
	for _, w := range emrFake.Writes() {
		if w.Type == "QuestionnaireResponse" || w.Type == "Communication" {
			fmt.Printf("    %-4s %-21s identifier %s\n", w.Method, w.Type, w.Identifier)
		}
	}
	return nil
}

// demoObservations lists the Observations a search finds as "code: value".
func demoObservations(ctx context.Context, searchURL string) ([]string, error) {
	req, err := http.NewRequestWithContext(ctx, "GET", searchURL, nil)
	if err != nil {
		return nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var b struct {
		Entry []struct {
			Resource struct {
				Code struct {
					Text   string
					Coding []struct{ Display string }
				}
				ValueCodeableConcept *struct {
					Text   string
					Coding []struct{ Display, Code string }
				}
				ValueInteger  *int
				ValueQuantity *struct{ Value float64 }
				ValueString   *string
			}
		}
	}
	if err := json.NewDecoder(resp.Body).Decode(&b); err != nil || resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("search the outcome's Observations: %d %v", resp.StatusCode, err)
	}
	var out []string
	for _, e := range b.Entry {
		r := e.Resource
		name := r.Code.Text
		if name == "" && len(r.Code.Coding) > 0 {
			name = r.Code.Coding[0].Display
		}
		val := ""
		switch {
		case r.ValueCodeableConcept != nil && len(r.ValueCodeableConcept.Coding) > 0:
			val = r.ValueCodeableConcept.Coding[0].Display
			if val == "" {
				val = r.ValueCodeableConcept.Coding[0].Code
			}
		case r.ValueCodeableConcept != nil:
			val = r.ValueCodeableConcept.Text
		case r.ValueInteger != nil:
			val = fmt.Sprint(*r.ValueInteger)
		case r.ValueQuantity != nil:
			val = fmt.Sprint(r.ValueQuantity.Value)
		case r.ValueString != nil:
			val = *r.ValueString
		}
		out = append(out, name+": "+val)
	}
	return out, nil
}

// mailPlainText returns the decoded text/plain part of an email, "" when
// it has none.
func mailPlainText(msg *netmail.Message) string {
	mt, params, err := mime.ParseMediaType(msg.Header.Get("Content-Type"))
	if err != nil {
		return ""
	}
	if !strings.HasPrefix(mt, "multipart/") {
		b, _ := io.ReadAll(msg.Body)
		return string(b)
	}
	mr := multipart.NewReader(msg.Body, params["boundary"])
	for {
		p, err := mr.NextPart() // decodes quoted-printable
		if err != nil {
			return ""
		}
		if strings.HasPrefix(p.Header.Get("Content-Type"), "text/plain") {
			b, _ := io.ReadAll(p)
			return string(b)
		}
	}
}

func countWrites(e *FakeEMR, typ string) int {
	n := 0
	for _, w := range e.Writes() {
		if w.Type == typ {
			n++
		}
	}
	return n
}

var (
	demoLinkRe      = regexp.MustCompile(`http://127\.0\.0\.1:\d+/p/f/[A-Za-z0-9_.-]+`)
	demoFormTokenRe = regexp.MustCompile(`name="_form" value="([^"]+)"`)
)

// addDemoMail adds the demo mail server to the credentials file as the
// email notifier.
func addDemoMail(path string, mail *notifytest.SMTPServer) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	var f CredentialsFile
	if err := json.Unmarshal(b, &f); err != nil {
		return err
	}
	f.Notifiers = &NotifiersConfig{ClinicName: "Riverdale FHT",
		SMTP: &notify.EmailConfig{Host: mail.Host, Port: mail.Port, From: "Riverdale FHT <noreply@riverdale.example>", TLS: "none"}}
	b, err = json.Marshal(f)
	if err != nil {
		return err
	}
	return os.WriteFile(path, b, 0o600)
}

// demoLoopEncounter is demoEncounter("1") authored at authored, for a
// housing need, with the patient's email as their preferred channel.
func demoLoopEncounter(authored time.Time) string {
	enc := strings.ReplaceAll(demoEncounter("1"), `"authoredOn":"2026-11-23T19:28:00Z"`, `"authoredOn":"`+authored.Format(time.RFC3339)+`"`)
	enc = strings.Replace(enc, `"category":[{"coding":[{"system":"http://snomed.info/sct","code":"410606002","display":"Social service procedure"}]}]`,
		`"category":[{"coding":[{"system":"http://snomed.info/sct","code":"410606002","display":"Social service procedure"}]},`+
			`{"coding":[{"system":"http://hl7.org/fhir/us/sdoh-clinicalcare/CodeSystem/SDOHCC-CodeSystemTemporaryCodes","code":"housing-instability","display":"Housing Instability"}]}]`, 1)
	return strings.Replace(enc, `"name":[{"family":"Test","given":["Pat"]}]`,
		`"name":[{"family":"Test","given":["Pat"]}],"telecom":[{"system":"email","value":"pat.test@example.org","rank":1}]`, 1)
}

// entryIDs returns the id of each entry of a transaction-response Bundle,
// read from its response.location ([base/]Type/id/_history/n), "" where
// there is none.
func entryIDs(body []byte) []string {
	var tx struct {
		Entry []struct{ Response struct{ Location string } }
	}
	_ = json.Unmarshal(body, &tx)
	ids := make([]string, len(tx.Entry))
	for i, e := range tx.Entry {
		p, _, _ := strings.Cut(e.Response.Location, "/_history/")
		if p != "" {
			ids[i] = p[strings.LastIndex(p, "/")+1:]
		}
	}
	return ids
}

// waitFor polls cond until it holds, for up to 30 s.
func waitFor(ctx context.Context, cond func() bool) error {
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			return fmt.Errorf("timed out")
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
	return nil
}

// demoEncounter is fake.Encounter: an EMR encounter with a warm hand-off
// to a housing program on the platform. n makes its identifiers distinct.
func demoEncounter(n string) string { return fake.Encounter(n) }

// PlatformMessage is a message from the platform about referral Task
// taskID (as socialrx sent it, id kept), carrying resources.
func PlatformMessage(id, event, focus string, resources ...string) string {
	entries := `{"fullUrl":"urn:uuid:` + id + `","resource":{"resourceType":"MessageHeader","id":"` + id + `",
"eventCoding":{"system":"https://ehealthontario.ca/fhir/CodeSystem/message-event-code","code":"` + event + `"},
"source":{"endpoint":"https://ocean.example/fhir"},"focus":[{"reference":"` + focus + `"}]}}`
	for i, r := range resources {
		entries += `,{"fullUrl":"urn:uuid:` + id[:len(id)-1] + string(rune('a'+i)) + `","resource":` + r + `}`
	}
	return `{"resourceType":"Bundle","type":"message","timestamp":"2026-11-24T10:00:00Z","entry":[` + entries + `]}`
}

func PlatformTask(taskID, srID, status, reason string) string {
	t := `{"resourceType":"Task","id":"` + taskID + `","status":"` + status + `","intent":"order",
"code":{"coding":[{"system":"http://hl7.org/fhir/CodeSystem/task-code","code":"fulfill"}]},
"focus":{"reference":"ServiceRequest/` + srID + `"},"lastModified":"2026-11-24T10:00:00Z"`
	if reason != "" {
		t += `,"statusReason":{"text":"` + reason + `"}`
	}
	return t + `,"businessStatus":{"text":"` + status + ` at the program"}}`
}
