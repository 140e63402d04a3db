package fhir

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/santhosh-tekuri/jsonschema/v6"
)

// TestSchemaInstance: the instance the schema checks, built from the
// package's parse tree, is the one jsonschema.UnmarshalJSON decodes from
// the text, for every example resource in testdata and for the shapes of
// JSON text that differ most (escapes, surrogate pairs, number forms,
// empty and nested containers); what the parse tree refuses still decodes
// as before.
func TestSchemaInstance(t *testing.T) {
	var bodies [][]byte
	for _, dir := range []string{"r4", filepath.Join("sdoh-cc", "json")} {
		files, err := filepath.Glob(filepath.Join("..", "testdata", "fhir-examples", dir, "*.json"))
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range files {
			b, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			bodies = append(bodies, b)
		}
	}
	if len(bodies) < 100 {
		t.Fatalf("%d example files, want the testdata examples", len(bodies))
	}
	for _, s := range []string{
		`{"resourceType":"Patient","name":[{"text":"A \"quoted\" \\ name\nwith\ttabs \u00e9 \ud83d\ude00 /\/"}]}`,
		`{"a":[1,-0,0.5,1.50,1e3,-2E-2,12345678901234567890123],"b":[],"c":{},"d":[[],[{}]],"e":null,"f":true,"g":false}`,
		`  {"x" : "y" }  `,
		`[1,"a",null]`,
		`"text"`,
		`{"dup":1,"dup":2}`,         // refused by the parse tree: encoding/json keeps the last
		"{\"bad\":\"\xff\xfe\"}",    // invalid UTF-8: the same
		`{"resourceType":"Patient"`, // invalid: both fail
	} {
		bodies = append(bodies, []byte(s))
	}
	for _, b := range bodies {
		want, werr := jsonschema.UnmarshalJSON(bytes.NewReader(b))
		got, gerr := schemaInstance(b)
		if (werr != nil) != (gerr != nil) {
			t.Errorf("%.80s: error %v, want %v", b, gerr, werr)
			continue
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("%.80s: instance differs (-UnmarshalJSON +tree):\n%s", b, diff)
		}
	}
}
