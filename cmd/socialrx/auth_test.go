package main

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/socialrx/socialrx"
	"github.com/socialrx/socialrx/adapter/auth/authtest"
	"github.com/socialrx/socialrx/adapter/pgtest"
)

// Authentication end to end, on both stores: the real Main with a test
// authorisation server (real JWTs, keys made here), a static token file
// made by `socialrx token new`, the operations listener apart, and the
// warm hand-off's platform calling $process-messages with its own bearer.

const authAudience = "https://rx.example.org/fhir"

// authEnv is a running socialrx with authentication on.
type authEnv struct {
	m        *Main
	as       *authtest.Server
	static   string // a static token with system/*.rs
	platform *FakePlatform
	platURL  string
}

func startAuth(t *testing.T, database string) *authEnv {
	t.Helper()
	as := authtest.New(t)
	p := NewFakePlatform(hoClient, hoSecret)
	ps := httptest.NewServer(p)
	t.Cleanup(ps.Close)
	creds := filepath.Join(t.TempDir(), "credentials.json")
	if err := writeCredentials(creds, ps.URL, hoClient, hoSecret, hoInbound); err != nil {
		t.Fatal(err)
	}
	// The clinic's static token, made as the README says.
	tokens := filepath.Join(t.TempDir(), "tokens")
	var out bytes.Buffer
	cmd := TokenNewCmd{Name: "clinic-reports", Scopes: "system/*.rs", File: tokens, out: &out}
	if err := cmd.Run(); err != nil {
		t.Fatal(err)
	}
	static := ""
	for _, f := range strings.Fields(out.String()) {
		if strings.HasPrefix(f, "srx_") && len(f) > 40 {
			static = f
		}
	}
	if data, _ := os.ReadFile(tokens); static == "" || bytes.Contains(data, []byte(static)) {
		t.Fatalf("token new: no token printed, or the file holds it:\n%s\nfile: %s", out.String(), data)
	}
	m := startMainWith(t, database, func(cfg *Config) {
		cfg.Credentials = creds
		cfg.RetryBase = 50 * time.Millisecond
		cfg.JobTimeout = 2 * time.Second
		cfg.HTTPTimeout = 0
		cfg.AuthIssuer = as.Issuer
		cfg.AuthJWKSURL = as.JWKSURL
		cfg.AuthAudience = authAudience
		cfg.AuthTokenEndpoint = as.TokenURL
		cfg.APITokenFile = tokens
		cfg.OpsListen = "127.0.0.1:0"
	})
	return &authEnv{m: m, as: as, static: static, platform: p, platURL: ps.URL}
}

func (env *authEnv) jwt(t *testing.T, client, scope string) string {
	return env.as.Token(t, authAudience, client, scope)
}

// call sends a request with the bearer token (none when "").
func (env *authEnv) call(t *testing.T, method, path, body, token string) (*http.Response, map[string]any) {
	t.Helper()
	var h []string
	if token != "" {
		h = []string{"Authorization", "Bearer " + token}
	}
	var b []byte
	if body != "" {
		b = []byte(body)
	}
	resp, rb := do(t, method, env.m.URL()+path, b, h...)
	var m map[string]any
	if len(rb) > 0 && rb[0] == '{' {
		m = decodeJSON(t, rb)
	}
	return resp, m
}

func TestAuthSQLite(t *testing.T)   { testAuth(t, startAuth(t, sqliteDatabase(t))) }
func TestAuthPostgres(t *testing.T) { testAuth(t, startAuth(t, pgtest.NewDatabase(t))) }

func testAuth(t *testing.T, env *authEnv) {
	emr := env.jwt(t, "emr-riverdale", "system/*.cruds")
	ctx := t.Context()

	t.Run("401 without or with a bad token", func(t *testing.T) {
		expired := env.as.Claims(authAudience, "emr", "system/*.*")
		expired["exp"] = time.Now().Add(-time.Hour).Unix()
		expired["iat"] = time.Now().Add(-2 * time.Hour).Unix()
		for name, tok := range map[string]string{
			"none":           "",
			"forged":         "srx_not-a-token-of-this-server-000000000000000",
			"expired":        env.as.Sign(t, "rsa-1", expired), // a replay after expiry
			"other audience": env.as.Token(t, "https://other.example.org/fhir", "emr", "system/*.*"),
		} {
			resp, oo := env.call(t, "GET", "/fhir/Patient", "", tok)
			if resp.StatusCode != 401 || oo["resourceType"] != "OperationOutcome" {
				t.Errorf("%s: %d %v; want 401 with an OperationOutcome", name, resp.StatusCode, oo)
			}
			ch := resp.Header.Get("WWW-Authenticate")
			if !strings.HasPrefix(ch, `Bearer realm="socialrx"`) || (tok != "") != strings.Contains(ch, `error="invalid_token"`) {
				t.Errorf("%s: WWW-Authenticate %q", name, ch)
			}
		}
		// Open without a token: the CapabilityStatement and SMART discovery.
		if resp, cs := env.call(t, "GET", "/fhir/metadata", "", ""); resp.StatusCode != 200 || !strings.Contains(mustJSON(cs), "SMART-on-FHIR") {
			t.Errorf("metadata: %d, security not SMART", resp.StatusCode)
		}
		if resp, sc := env.call(t, "GET", "/fhir/.well-known/smart-configuration", "", ""); resp.StatusCode != 200 || sc["token_endpoint"] != env.as.TokenURL {
			t.Errorf("smart-configuration: %d %v", resp.StatusCode, sc)
		}
	})

	t.Run("a scope for one type cannot write another", func(t *testing.T) {
		pat := env.jwt(t, "registration", "system/Patient.cruds")
		if resp, _ := env.call(t, "POST", "/fhir/Patient", `{"resourceType":"Patient","active":true}`, pat); resp.StatusCode != 201 {
			t.Fatalf("create Patient with Patient.cruds: %d", resp.StatusCode)
		}
		resp, oo := env.call(t, "POST", "/fhir/Observation", `{"resourceType":"Observation","status":"final","code":{"text":"x"}}`, pat)
		if resp.StatusCode != 403 || !strings.Contains(mustJSON(oo), "forbidden") {
			t.Errorf("create Observation with Patient.cruds: %d %v; want 403", resp.StatusCode, oo)
		}
		// Read-only scopes (v1) cannot write at all.
		ro := env.jwt(t, "reports", "system/*.read")
		if resp, _ := env.call(t, "PUT", "/fhir/Patient/p1", `{"resourceType":"Patient","id":"p1"}`, ro); resp.StatusCode != 403 {
			t.Errorf("update with system/*.read: %d, want 403", resp.StatusCode)
		}
	})

	t.Run("static token", func(t *testing.T) {
		resp, b := env.call(t, "GET", "/fhir/Patient", "", env.static)
		if resp.StatusCode != 200 || b["type"] != "searchset" {
			t.Errorf("search with the static token: %d", resp.StatusCode)
		}
		if resp, _ := env.call(t, "POST", "/fhir/Patient", `{"resourceType":"Patient"}`, env.static); resp.StatusCode != 403 {
			t.Errorf("create with the static token's system/*.rs: %d, want 403", resp.StatusCode)
		}
		if resp, _ := env.call(t, "GET", "/fhir/Patient", "", env.static+"x"); resp.StatusCode != 401 {
			t.Errorf("a wrong static token: %d, want 401", resp.StatusCode)
		}
	})

	t.Run("unknown key ids do not hammer the JWK Set", func(t *testing.T) {
		// A key published after the set was fetched: tokens signed with it
		// may cause one refetch (when the last fetch is 30s old), never
		// one each. The rotation itself is proved in adapter/auth.
		kid := env.as.AddKey(t, "ES384", true)
		before := env.as.Fetches()
		for range 20 {
			env.call(t, "GET", "/fhir/Patient", "", env.as.Sign(t, kid, env.as.Claims(authAudience, "etl", "system/*.rs")))
		}
		if got := env.as.Fetches() - before; got > 1 {
			t.Errorf("20 tokens of a new kid made %d JWK Set fetches, want at most 1", got)
		}
	})

	t.Run("transaction 403 whole, batch 403 per entry", func(t *testing.T) {
		noTask := env.jwt(t, "emr-no-tasks", "system/Organization.cruds system/PractitionerRole.cruds system/HealthcareService.cruds system/Patient.cruds system/ServiceRequest.cruds")
		resp, oo := env.call(t, "POST", "/fhir", demoEncounter("7"), noTask)
		if resp.StatusCode != 403 || !strings.Contains(mustJSON(oo), "Bundle.entry[5]") {
			t.Errorf("encounter without Task scopes: %d %s; want 403 naming entry 5", resp.StatusCode, mustJSON(oo))
		}
		_, b := env.call(t, "GET", "/fhir/Patient?identifier=https://health.gov.on.ca/ohip|900007", "", emr)
		if found, _ := b["entry"].([]any); len(found) != 0 {
			t.Errorf("the refused transaction stored %d Patients", len(found))
		}
		batch := `{"resourceType":"Bundle","type":"batch","entry":[
			{"resource":{"resourceType":"Patient","active":true},"request":{"method":"POST","url":"Patient"}},
			{"resource":{"resourceType":"Task","status":"requested","intent":"order"},"request":{"method":"POST","url":"Task"}}]}`
		resp, b = env.call(t, "POST", "/fhir", batch, noTask)
		es, _ := b["entry"].([]any)
		if resp.StatusCode != 200 || len(es) != 2 {
			t.Fatalf("batch: %d %v", resp.StatusCode, b)
		}
		st := func(i int) any { return es[i].(map[string]any)["response"].(map[string]any)["status"] }
		if st(0) != "201 Created" || st(1) != "403 Forbidden" {
			t.Errorf("batch entries: %v, %v; want 201 Created, 403 Forbidden", st(0), st(1))
		}
	})

	t.Run("_include leaves out what the scopes do not cover", func(t *testing.T) {
		_, p := env.call(t, "POST", "/fhir/Patient", `{"resourceType":"Patient","identifier":[{"system":"urn:x","value":"inc"}]}`, emr)
		obs := `{"resourceType":"Observation","status":"final","code":{"text":"x"},"subject":{"reference":"Patient/` + p["id"].(string) + `"}}`
		if resp, _ := env.call(t, "POST", "/fhir/Observation", obs, emr); resp.StatusCode != 201 {
			t.Fatalf("create Observation: %d", resp.StatusCode)
		}
		q := "/fhir/Observation?subject=Patient/" + p["id"].(string) + "&_include=Observation:subject"
		for scope, patients := range map[string]int{"system/Observation.rs": 0, "system/Observation.rs system/Patient.r": 1} {
			_, b := env.call(t, "GET", q, "", env.jwt(t, "analyst", scope))
			got := strings.Count(mustJSON(b), `"resourceType":"Patient"`)
			if got != patients || !strings.Contains(mustJSON(b), `"resourceType":"Observation"`) {
				t.Errorf("%s: %d Patients included, want %d", scope, got, patients)
			}
		}
	})

	t.Run("$process-messages keeps its inbound bearer", func(t *testing.T) {
		put := func(path, body string) {
			if resp, b := env.call(t, "PUT", "/fhir/"+path, body, emr); resp.StatusCode/100 != 2 {
				t.Fatalf("PUT %s: %d %v", path, resp.StatusCode, b)
			}
		}
		put("Endpoint/ocean-east", `{"resourceType":"Endpoint","id":"ocean-east","status":"active",
"connectionType":{"system":"http://terminology.hl7.org/CodeSystem/endpoint-connection-type","code":"hl7-fhir-msg"},
"payloadType":[{"text":"Ontario eReferral"}],"address":"`+env.platURL+`/fhir"}`)
		resp, body := do(t, "POST", env.m.URL()+"/fhir", []byte(demoEncounter("1")), "Authorization", "Bearer "+emr)
		if resp.StatusCode != 200 {
			t.Fatalf("encounter: %d %s", resp.StatusCode, body)
		}
		ids := entryIDs(body)
		patientID, srID, taskID := ids[3], ids[4], ids[5]
		eventually(t, "the add-service-request", func() bool { return len(env.platform.Messages()) == 1 })
		received := PlatformMessage("11111111-0000-4000-8000-0000000000a6", "notify-add-process-request", "Task/"+taskID, PlatformTask(taskID, srID, "received", ""))
		// An access token is not a platform's bearer.
		if resp, _ := env.call(t, "POST", "/fhir/$process-messages", received, emr); resp.StatusCode != 401 {
			t.Errorf("$process-messages with an access token: %d, want 401", resp.StatusCode)
		}
		if resp, reply := env.call(t, "POST", "/fhir/$process-messages", received, hoInbound); resp.StatusCode != 200 || reply["type"] != "message" {
			t.Fatalf("$process-messages with the platform's bearer: %d %v", resp.StatusCode, reply)
		}
		pp, err := env.m.Store.Projection(ctx, patientID)
		if err != nil || len(pp.Referrals) != 1 || pp.Referrals[0].Status != socialrx.ReferralReceived {
			t.Errorf("referral after the platform's message: %+v, %v; want received", pp.Referrals, err)
		}
	})

	t.Run("derived facts need the scopes of the types they come from", func(t *testing.T) {
		enc, err := os.ReadFile("../../testdata/encounters/01-food-insecurity-self-directed.json")
		if err != nil {
			t.Fatal(err)
		}
		resp, body := do(t, "POST", env.m.URL()+"/fhir", enc, "Authorization", "Bearer "+emr)
		if resp.StatusCode != 200 {
			t.Fatalf("encounter: %d %s", resp.StatusCode, truncate(body))
		}
		ids := entryIDs(body)
		patientID, srID := ids[2], ids[11]
		qr := fuQR(srID, patientID, fuLink("pursued", fuAnswer("follow-up-pursued", "yes")), fuLink("satisfaction", `{"valueInteger":4}`),
			fuLink("wellbeing", fuAnswer("follow-up-wellbeing", "better")), fuLink("next-step", fuAnswer("follow-up-next-step", "keep-going")))
		if resp, b := env.call(t, "POST", "/fhir/QuestionnaireResponse", qr, emr); resp.StatusCode != 201 {
			t.Fatalf("follow-up response: %d %v", resp.StatusCode, b)
		}
		// names lists the parameters of a Parameters resource.
		names := func(params map[string]any) string {
			var out []string
			ps, _ := params["parameter"].([]any)
			for _, p := range ps {
				out = append(out, p.(map[string]any)["name"].(string))
			}
			return strings.Join(out, " ")
		}
		sr := "system/ServiceRequest.rs"
		cases := []struct{ scope, followUp, outcome string }{
			{sr, "", ""},
			{sr + " system/Observation.rs", "", ""}, // the outcome is the response's
			{sr + " system/Task.rs", "followUp", ""},
			{sr + " system/QuestionnaireResponse.rs", "", "outcome"},
			{sr + " system/Task.rs system/QuestionnaireResponse.rs", "followUp", "outcome"},
		}
		check := func(what, got, want, name string) {
			t.Helper()
			if strings.Contains(got, name) != (want != "") {
				t.Errorf("%s: parameters %q; want %s %s", what, got, name, map[bool]string{true: "in", false: "left out"}[want != ""])
			}
		}
		for _, c := range cases {
			resp, params := env.call(t, "GET", "/fhir/ServiceRequest/"+srID+"/$prescription", "", env.jwt(t, "facts-reader", c.scope))
			if resp.StatusCode != 200 {
				t.Fatalf("$prescription with %s: %d %v", c.scope, resp.StatusCode, params)
			}
			got := names(params)
			if !strings.Contains(got, "form") {
				t.Errorf("$prescription with %s: %q, want the ServiceRequest's own facts", c.scope, got)
			}
			check("$prescription with "+c.scope, got, c.followUp, "followUp")
			check("$prescription with "+c.scope, got, c.outcome, "outcome")
		}
		// The export's facts: the same rule, with the kick-off's scopes.
		for _, c := range []struct{ scope, followUp, outcome string }{cases[0], cases[4]} {
			tok := env.jwt(t, "facts-exporter", c.scope)
			resp, _ := do(t, "GET", env.m.URL()+"/fhir/$export?_type=ServiceRequest&prescriptionFacts=true", nil,
				"Authorization", "Bearer "+tok, "Prefer", "respond-async", "Accept", "application/fhir+json")
			if resp.StatusCode != 202 {
				t.Fatalf("kick-off with %s: %d", c.scope, resp.StatusCode)
			}
			man := pollManifestAs(t, resp.Header.Get("Content-Location"), tok)
			var line string
			for _, o := range man.Output {
				if o.Type != "Parameters" {
					continue
				}
				resp, b := do(t, "GET", o.URL, nil, "Authorization", "Bearer "+tok, "Accept", "application/fhir+ndjson")
				if resp.StatusCode != 200 {
					t.Fatalf("download %s: %d", o.URL, resp.StatusCode)
				}
				for _, l := range strings.Split(string(b), "\n") {
					if strings.Contains(l, `"ServiceRequest/`+srID+`"`) {
						line = l
					}
				}
			}
			if line == "" {
				t.Fatalf("export with %s: no facts of ServiceRequest/%s in %+v", c.scope, srID, man.Output)
			}
			got := names(decodeJSON(t, []byte(line)))
			check("export with "+c.scope, got, c.followUp, "followUp")
			check("export with "+c.scope, got, c.outcome, "outcome")
		}
	})

	t.Run("every 403 carries the insufficient_scope challenge", func(t *testing.T) {
		noTask := env.jwt(t, "emr-no-tasks", "system/Patient.cruds system/ServiceRequest.cruds")
		patOnly := env.jwt(t, "patients-only", "system/Patient.rs")
		for _, c := range []struct{ name, method, path, body, token string }{
			{"transaction refused whole", "POST", "/fhir", demoEncounter("8"), noTask},
			{"export of a type not readable", "GET", "/fhir/$export?_type=Patient,Observation", "", patOnly},
			{"export of a Group not readable", "GET", "/fhir/Group/g1/$export", "", patOnly},
			{"export with nothing readable", "GET", "/fhir/Patient/$export", "", env.jwt(t, "orgs-only", "system/Organization.rs")},
		} {
			var b []byte
			if c.body != "" {
				b = []byte(c.body)
			}
			resp, body := do(t, c.method, env.m.URL()+c.path, b, "Authorization", "Bearer "+c.token, "Prefer", "respond-async")
			if ch := resp.Header.Get("WWW-Authenticate"); resp.StatusCode != 403 || !strings.Contains(ch, `error="insufficient_scope"`) {
				t.Errorf("%s: %d, WWW-Authenticate %q; want 403 with error=\"insufficient_scope\" (%s)", c.name, resp.StatusCode, ch, truncate(body))
			}
		}
	})

	t.Run("a JWT client named like a static token is another client", func(t *testing.T) {
		resp, _ := do(t, "GET", env.m.URL()+"/fhir/$export?_type=Patient", nil, "Authorization", "Bearer "+env.static, "Prefer", "respond-async")
		if resp.StatusCode != 202 {
			t.Fatalf("kick-off with the static token: %d", resp.StatusCode)
		}
		status := resp.Header.Get("Content-Location")
		namesake := env.jwt(t, "clinic-reports", "system/*.rs") // the static token's name
		if resp, _ := do(t, "GET", status, nil, "Authorization", "Bearer "+namesake); resp.StatusCode != 404 {
			t.Errorf("the static token's export status to a JWT of client clinic-reports: %d, want 404", resp.StatusCode)
		}
		if resp, _ := do(t, "GET", status, nil, "Authorization", "Bearer "+env.static); resp.StatusCode/100 != 2 {
			t.Errorf("the static token's export status to itself: %d, want 200 or 202", resp.StatusCode)
		}
		if resp, _ := env.call(t, "GET", "/fhir/Patient", "", env.jwt(t, "token.clinic-reports", "system/*.rs")); resp.StatusCode != 401 {
			t.Errorf("a JWT claiming the static token's client id: %d, want 401", resp.StatusCode)
		}
		// Each its own AuditEvent agent: the namesake made one audited
		// request (status polls are not audited), the static token the
		// others.
		env.call(t, "GET", "/fhir/Patient?_id=by-namesake", "", namesake)
		events := func(agent string) int {
			_, b := env.call(t, "GET", "/fhir/AuditEvent?agent=Device/"+agent+"&_count=500", "", emr)
			return len(entriesOf(b))
		}
		eventually(t, "the AuditEvents of both clients", func() bool {
			return events("clinic-reports") >= 1 && events("token.clinic-reports") >= 2
		})
		if n := events("clinic-reports"); n != 1 {
			t.Errorf("AuditEvents of agent Device/clinic-reports: %d, want 1 (the JWT's search; the static token's are token.clinic-reports)", n)
		}
	})

	t.Run("operations on their own listener", func(t *testing.T) {
		for _, path := range []string{"/healthz", "/readyz", "/metrics"} {
			if resp, _ := do(t, "GET", env.m.URL()+path, nil); resp.StatusCode != 404 {
				t.Errorf("public listener %s: %d, want 404", path, resp.StatusCode)
			}
			if resp, _ := do(t, "GET", env.m.OpsURL()+path, nil); resp.StatusCode != 200 {
				t.Errorf("ops listener %s: %d, want 200", path, resp.StatusCode)
			}
		}
		if resp, _ := do(t, "GET", env.m.OpsURL()+"/fhir/metadata", nil); resp.StatusCode != 404 {
			t.Errorf("the ops listener serves the API: %d", resp.StatusCode)
		}
	})
}

// TestTokenNew: `socialrx token new` prints the token once and the line
// for the file, appends it with --file (mode 0600), and refuses a name the
// file already has and scopes that would grant nothing.
func TestTokenNew(t *testing.T) {
	path := filepath.Join(t.TempDir(), "socialrx-data", "tokens") // a directory not there yet
	var out bytes.Buffer
	if err := (&TokenNewCmd{Name: "a", Scopes: "system/*.rs", File: path, out: &out}).Run(); err != nil {
		t.Fatal(err)
	}
	if err := (&TokenNewCmd{Name: "b", Scopes: "system/Task.cruds", File: path, out: &out}).Run(); err != nil {
		t.Fatal(err)
	}
	if err := (&TokenNewCmd{Name: "a", Scopes: "system/*.rs", File: path, out: &out}).Run(); err == nil {
		t.Error("a second token named a was added")
	}
	if err := (&TokenNewCmd{Name: "c", Scopes: "patient/*.read", File: path, out: &out}).Run(); err == nil {
		t.Error("a token with only patient/ scopes was made")
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("token file mode %v, want 0600", fi.Mode().Perm())
	}
	data, _ := os.ReadFile(path)
	if lines := strings.Count(string(data), "\n"); lines != 2 {
		t.Errorf("token file has %d lines, want 2:\n%s", lines, data)
	}
	var noFile bytes.Buffer
	if err := (&TokenNewCmd{Name: "d", Scopes: "system/*.rs", out: &noFile}).Run(); err != nil || !strings.Contains(noFile.String(), "d sha256:") {
		t.Errorf("without --file: %v\n%s", err, noFile.String())
	}
}

// pollManifestAs polls an export's status with token until it completes
// and returns the manifest.
func pollManifestAs(t *testing.T, status, token string) manifest {
	t.Helper()
	var m manifest
	eventually(t, "the export", func() bool {
		resp, body := do(t, "GET", status, nil, "Authorization", "Bearer "+token)
		switch resp.StatusCode {
		case 200:
			if err := json.Unmarshal(body, &m); err != nil {
				t.Fatalf("manifest: %v: %s", err, body)
			}
			return true
		case 202:
			return false
		}
		t.Fatalf("export status: %d %s", resp.StatusCode, body)
		return false
	})
	return m
}

// entriesOf returns the resources of a Bundle.
func entriesOf(b map[string]any) []map[string]any {
	var out []map[string]any
	es, _ := b["entry"].([]any)
	for _, e := range es {
		out = append(out, e.(map[string]any)["resource"].(map[string]any))
	}
	return out
}
