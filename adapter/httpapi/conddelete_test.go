package httpapi_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/socialrx/socialrx/adapter/httpapi"
)

// TestConditionalDelete: DELETE /fhir/Patient?params deletes the one
// Patient the search matches (R4 conditional delete, "single"); none
// matched is nothing to delete; several are 412 with nothing deleted. The
// same in a transaction's entry, where several fail the whole transaction.
func TestConditionalDelete(t *testing.T) {
	ts := newServer(t, httpapi.Config{})
	patient := func(ident string) string {
		t.Helper()
		r := ts.do(t, http.MethodPost, "/fhir/Patient", `{"resourceType":"Patient","identifier":[{"system":"urn:t","value":"`+ident+`"}],"name":[{"family":"Same"}]}`).want(t, http.StatusCreated)
		return r.json(t)["id"].(string)
	}
	a, b, c := patient("a"), patient("b"), patient("c")

	r := ts.do(t, http.MethodDelete, "/fhir/Patient?identifier=urn:t|a", "").want(t, http.StatusOK)
	if !strings.Contains(string(r.body), "deleted Patient/"+a) {
		t.Errorf("conditional delete of one match: %s", r.body)
	}
	ts.do(t, http.MethodGet, "/fhir/Patient/"+a, "").want(t, http.StatusGone)
	r = ts.do(t, http.MethodDelete, "/fhir/Patient?identifier=urn:t|a", "").want(t, http.StatusOK)
	if !strings.Contains(string(r.body), "nothing to delete") {
		t.Errorf("conditional delete matching nothing: %s", r.body)
	}
	ts.do(t, http.MethodDelete, "/fhir/Patient?identifier=urn:t|zzz", "", "Prefer", "return=minimal").want(t, http.StatusNoContent)

	// A parameter the type does not have is 400 (a conditional search is
	// strict), never a search that matches everything: nothing deleted.
	ts.do(t, http.MethodDelete, "/fhir/Patient?no-such-param=1", "").want(t, http.StatusBadRequest)
	ts.do(t, http.MethodPost, "/fhir", `{"resourceType":"Bundle","type":"transaction","entry":[
		{"request":{"method":"DELETE","url":"Patient?no-such-param=1"}}]}`).want(t, http.StatusBadRequest)
	for _, id := range []string{b, c} {
		ts.do(t, http.MethodGet, "/fhir/Patient/"+id, "").want(t, http.StatusOK)
	}

	// b and c share the family name: 412, both kept.
	ts.do(t, http.MethodDelete, "/fhir/Patient?family=Same", "").want(t, http.StatusPreconditionFailed)
	for _, id := range []string{b, c} {
		ts.do(t, http.MethodGet, "/fhir/Patient/"+id, "").want(t, http.StatusOK)
	}

	// In a transaction: the match is deleted with the other entries; a
	// condition matching two fails the transaction, nothing written.
	ts.do(t, http.MethodPost, "/fhir", `{"resourceType":"Bundle","type":"transaction","entry":[
		{"request":{"method":"DELETE","url":"Patient?identifier=urn:t|b"}},
		{"request":{"method":"DELETE","url":"Patient?identifier=urn:t|nobody"}}]}`).want(t, http.StatusOK)
	ts.do(t, http.MethodGet, "/fhir/Patient/"+b, "").want(t, http.StatusGone)
	d := patient("d")
	ts.do(t, http.MethodPost, "/fhir", `{"resourceType":"Bundle","type":"transaction","entry":[
		{"resource":{"resourceType":"Patient","identifier":[{"system":"urn:t","value":"e"}]},"request":{"method":"POST","url":"Patient"}},
		{"request":{"method":"DELETE","url":"Patient?family=Same"}}]}`).want(t, http.StatusPreconditionFailed)
	for _, id := range []string{c, d} {
		ts.do(t, http.MethodGet, "/fhir/Patient/"+id, "").want(t, http.StatusOK)
	}
	if r := ts.do(t, http.MethodGet, "/fhir/Patient?identifier=urn:t|e", "").want(t, http.StatusOK).json(t); r["total"] != float64(0) {
		t.Errorf("the failed transaction's create was stored: total %v", r["total"])
	}
}
