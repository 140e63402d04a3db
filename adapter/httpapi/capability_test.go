package httpapi_test

import (
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/socialrx/socialrx/adapter/httpapi"
	"github.com/socialrx/socialrx/fhir"
	"github.com/socialrx/socialrx/fhir/search"
)

func TestCapabilityStatement(t *testing.T) {
	ts := newServer(t, httpapi.Config{Version: "1.2.3"})
	m := ts.do(t, "GET", "/fhir/metadata", "").want(t, http.StatusOK).json(t)
	if m["resourceType"] != "CapabilityStatement" || m["fhirVersion"] != "4.0.1" || m["kind"] != "instance" {
		t.Fatalf("not an R4 CapabilityStatement instance: %v", m)
	}
	if v := m["software"].(map[string]any)["version"]; v != "1.2.3" {
		t.Errorf("software.version %v", v)
	}
	if pf, _ := m["patchFormat"].([]any); len(pf) != 1 || pf[0] != "application/json-patch+json" {
		t.Errorf("patchFormat %v, want JSON Patch", m["patchFormat"])
	}
	rest := m["rest"].([]any)[0].(map[string]any)
	if rest["mode"] != "server" {
		t.Errorf("rest.mode %v", rest["mode"])
	}
	var system []string
	for _, i := range rest["interaction"].([]any) {
		system = append(system, i.(map[string]any)["code"].(string))
	}
	if diff := cmp.Diff([]string{"transaction", "batch", "history-system"}, system); diff != "" {
		t.Errorf("system interactions (-want +got):\n%s", diff)
	}

	var types []string
	for _, r := range rest["resource"].([]any) {
		res := r.(map[string]any)
		typ := res["type"].(string)
		types = append(types, typ)
		if typ == "AuditEvent" {
			continue // read and search only: TestAuditSearchAPI
		}
		var codes []string
		for _, i := range res["interaction"].([]any) {
			codes = append(codes, i.(map[string]any)["code"].(string))
		}
		slices.Sort(codes)
		want := []string{"create", "delete", "history-instance", "history-type", "patch", "read", "search-type", "update", "vread"}
		if diff := cmp.Diff(want, codes); diff != "" {
			t.Errorf("%s interactions (-want +got):\n%s", typ, diff)
		}
		if res["versioning"] != "versioned" || res["readHistory"] != true || res["updateCreate"] != true ||
			res["conditionalCreate"] != true || res["conditionalUpdate"] != true || res["conditionalDelete"] != "single" {
			t.Errorf("%s flags: %v", typ, res)
		}
		if typ != "Patient" {
			continue
		}
		params := map[string]string{}
		for _, p := range res["searchParam"].([]any) {
			pm := p.(map[string]any)
			params[pm["name"].(string)] = pm["type"].(string)
		}
		if params["birthdate"] != "date" || params["_id"] != "token" {
			t.Errorf("Patient search params: birthdate %q, _id %q", params["birthdate"], params["_id"])
		}
		if !slices.Contains(anyStrings(res["searchInclude"]), "Patient:general-practitioner") {
			t.Errorf("Patient searchInclude: %v", res["searchInclude"])
		}
		if !slices.Contains(anyStrings(res["searchRevInclude"]), "Observation:subject") {
			t.Errorf("Patient searchRevInclude: %v", res["searchRevInclude"])
		}
	}
	if diff := cmp.Diff(fhir.SupportedTypes(), types); diff != "" {
		t.Errorf("resource types (-want supported +got listed):\n%s", diff)
	}
}

func anyStrings(v any) []string {
	var out []string
	for _, s := range v.([]any) {
		out = append(out, s.(string))
	}
	return out
}

// TestCapabilitySocialrxParams checks that socialrx's own search parameters
// are listed with their definition URL.
func TestCapabilitySocialrxParams(t *testing.T) {
	ts := newServer(t, httpapi.Config{})
	m := ts.do(t, "GET", "/fhir/metadata", "").want(t, http.StatusOK).json(t)
	rest := m["rest"].([]any)[0].(map[string]any)
	for _, r := range rest["resource"].([]any) {
		res := r.(map[string]any)
		if res["type"] != "Task" {
			continue
		}
		want := map[string]string{"due-date": "date", "delivery-state": "token"}
		for _, p := range res["searchParam"].([]any) {
			pm := p.(map[string]any)
			name, _ := pm["name"].(string)
			if typ, ok := want[name]; ok {
				if pm["type"] != typ || pm["definition"] != search.SearchParameterBase+"Task-"+name {
					t.Errorf("Task %s in the CapabilityStatement: %v", name, pm)
				}
				delete(want, name)
			}
		}
		if len(want) > 0 {
			t.Errorf("Task lacks search parameters %v in the CapabilityStatement", want)
		}
		return
	}
	t.Fatal("no Task in the CapabilityStatement")
}

// TestCapabilityDocumentsIngest: the CapabilityStatement tells clients that
// social ServiceRequests are stored as sent, where the derived facts are
// found, and what is refused.
func TestCapabilityDocumentsIngest(t *testing.T) {
	ts := newServer(t, httpapi.Config{})
	m := ts.do(t, "GET", "/fhir/metadata", "").want(t, http.StatusOK).json(t)
	doc, _ := m["rest"].([]any)[0].(map[string]any)["documentation"].(string)
	for _, want := range []string{"stored as sent", "prescription-form", "$prescription", "work-list", "422", "413", "421", "follow-up Task"} {
		if !strings.Contains(doc, want) {
			t.Errorf("rest.documentation does not mention %q", want)
		}
	}
	if strings.Contains(doc, "userSelected") {
		t.Error("rest.documentation still says derived codings are written into the client's resources")
	}
}
