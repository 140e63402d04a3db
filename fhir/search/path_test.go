package search

import (
	"encoding/json"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/socialrx/socialrx/fhir"
)

// treeOf parses s into the tree the evaluator reads.
func treeOf(t testing.TB, s string) fhir.Node {
	t.Helper()
	tr, err := fhir.ParseTree([]byte(s))
	if err != nil {
		t.Fatal(err)
	}
	return tr.Root()
}

// nodeValue is n as encoding/json decodes it with UseNumber, for
// comparing.
func nodeValue(n fhir.Node) any {
	switch n.Kind() {
	case fhir.JSONObject:
		m := map[string]any{}
		for k, v := range n.Members() {
			m[k] = nodeValue(v)
		}
		return m
	case fhir.JSONArray:
		a := []any{}
		for x := range n.Items() {
			a = append(a, nodeValue(x))
		}
		return a
	case fhir.JSONString:
		s, _ := n.Str()
		return s
	case fhir.JSONNumber:
		s, _ := n.Number()
		return json.Number(s)
	case fhir.JSONBool:
		b, _ := n.Bool()
		return b
	}
	return nil
}

// decodedNode is what a test expects of a selected node: its value as
// nodeValue gives it, and its type.
type decodedNode struct {
	v   any
	typ string
}

func TestPathEval(t *testing.T) {
	obs := `{
		"resourceType": "Observation", "id": "o1",
		"meta": {"lastUpdated": "2024-01-02T03:04:05Z", "tag": [{"system": "s", "code": "t"}]},
		"status": "final",
		"effectivePeriod": {"start": "2020"},
		"valueQuantity": {"value": 1.5, "unit": "kg"},
		"subject": {"reference": "Patient/p1"},
		"performer": [{"reference": "Practitioner/d1"}, {"reference": "Patient/p1"}, {"display": "x"}],
		"component": [{"valueString": "a"}, {"valueCodeableConcept": {"text": "b"}}],
		"extension": [{"url": "http://x/e1", "valueCode": "c1"}, {"url": "http://x/e2", "valueCode": "c2"}]
	}`
	pat := `{
		"resourceType": "Patient",
		"telecom": [{"system": "phone", "value": "1"}, {"system": "email", "value": "e"}, {"system": "phone", "value": "2"}],
		"deceasedBoolean": false
	}`
	tests := []struct {
		typ, doc, expr string
		want           []decodedNode
	}{
		{"Observation", obs, "Observation.status", []decodedNode{{v: "final"}}},
		{"Observation", obs, "Resource.id", []decodedNode{{v: "o1"}}},
		{"Observation", obs, "Resource.meta.lastUpdated", []decodedNode{{v: "2024-01-02T03:04:05Z"}}},
		{"Observation", obs, "Observation.missing.deeper", nil},
		{"Observation", obs, "Observation.effective", []decodedNode{{v: map[string]any{"start": "2020"}, typ: "Period"}}},
		{"Observation", obs, "(Observation.effective as dateTime)", nil},
		{"Observation", obs, "Observation.effective.ofType(Period).start", []decodedNode{{v: "2020"}}},
		{"Observation", obs, "(Observation.value as Quantity)", []decodedNode{{v: map[string]any{"value": json.Number("1.5"), "unit": "kg"}, typ: "Quantity"}}},
		{"Observation", obs, "Observation.value.as(Quantity).unit", []decodedNode{{v: "kg"}}},
		{"Observation", obs, "Observation.component.value.ofType(string)", []decodedNode{{v: "a", typ: "string"}}},
		{"Observation", obs, "(Observation.component.value.ofType(CodeableConcept)).text", []decodedNode{{v: "b"}}},
		{"Observation", obs, "Observation.subject | Observation.status", []decodedNode{{v: map[string]any{"reference": "Patient/p1"}}, {v: "final"}}},
		{"Observation", obs, "Observation.performer.where(resolve() is Patient)", []decodedNode{{v: map[string]any{"reference": "Patient/p1"}}}},
		{"Observation", obs, "Observation.performer.where(resolve() is Practitioner).reference", []decodedNode{{v: "Practitioner/d1"}}},
		{"Observation", obs, "Observation.extension('http://x/e2').value.ofType(code)", []decodedNode{{v: "c2", typ: "code"}}},
		{"Patient", pat, "Patient.telecom.where(system='phone').value", []decodedNode{{v: "1"}, {v: "2"}}},
		{"Patient", pat, "Patient.deceased", []decodedNode{{v: false, typ: "boolean"}}},
	}
	for _, tt := range tests {
		e, err := compilePath(tt.typ, tt.expr, r4ChoiceElements)
		if err != nil {
			t.Errorf("compilePath(%q): %v", tt.expr, err)
			continue
		}
		var got []decodedNode
		var ev pathEvaluator
		for ci := range e.chains {
			ev.each(&e.chains[ci], treeOf(t, tt.doc), func(n pathNode) {
				got = append(got, decodedNode{nodeValue(n.v), n.typ})
			})
		}
		if diff := cmp.Diff(tt.want, got, cmp.AllowUnexported(decodedNode{})); diff != "" {
			t.Errorf("eval(%q) mismatch (-want +got):\n%s", tt.expr, diff)
		}
	}
}

func TestPathCompileErrors(t *testing.T) {
	for _, expr := range []string{
		"Patient.deceased.exists() and Patient.deceased != false",
		"Observation.subject",          // wrong root for Patient
		"Patient.name.first()",         // unsupported function
		"Patient.name.where(given)",    // unsupported filter
		"Patient.name.where(x = 1)",    // non-string literal
		"Patient.deceased.ofType(Age)", // not a type of deceased[x]
		"(Patient.name",
		"Patient.",
		"Patient.name |",
		"Patient.extension('unterminated)",
		"ofType(string)",
	} {
		if _, err := compilePath("Patient", expr, r4ChoiceElements); err == nil {
			t.Errorf("compilePath(%q): no error", expr)
		}
	}
}

// TestPathCompilesAllServed compiles every generated expression of every
// type; only the ones listed in TestDroppedParams may fail.
func TestPathCompilesAllServed(t *testing.T) {
	n := 0
	for typ, params := range r4SearchParams {
		for _, p := range params {
			if _, err := compilePath(typ, p.Expression, r4ChoiceElements); err == nil {
				n++
			}
		}
	}
	total := 0
	for _, params := range r4SearchParams {
		total += len(params)
	}
	if total-n != 1 {
		t.Errorf("%d of %d expressions fail to compile, want 1 (Patient.deceased)", total-n, total)
	}
}
